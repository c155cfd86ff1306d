// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/emulate.c: the instruction emulator, on the processor's
 * emulation assist (see kvm_emulate.h).  The instruction semantics are the
 * processor's; this file adapts its callbacks to struct x86_emulate_ops
 * and keeps what KVM's emulator keeps: the read cache of a re-executed
 * instruction, the REP INS read-ahead, the REP restart policy.
 */
#include <string.h>

#include "x86/kvm_emulate.h"

static void emul_to_x86_exception(const struct x86_exception *x, struct vmx_emul_exception *e)
{
	e->vector = x->vector;
	e->error_code_valid = x->error_code_valid;
	e->error_code = x->error_code;
	e->address = x->address;
}

static int em_fetch(void *opaque, u64 la, void *val, unsigned int bytes,
		    struct vmx_emul_exception *e)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	int rc = ctxt->ops->fetch(ctxt, la, val, bytes, &ctxt->exception);

	if (unlikely(rc != X86EMUL_CONTINUE))
		emul_to_x86_exception(&ctxt->exception, e);
	return rc;
}

static int em_read_std(void *opaque, u64 la, void *val, unsigned int bytes,
		       struct vmx_emul_exception *e, bool system)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	int rc = ctxt->ops->read_std(ctxt, la, val, bytes, &ctxt->exception, system);

	emul_to_x86_exception(&ctxt->exception, e);
	return rc;
}

static int em_write_std(void *opaque, u64 la, const void *val, unsigned int bytes,
			struct vmx_emul_exception *e, bool system)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	u8 buf[16];
	int rc;

	if (bytes > sizeof(buf))
		return X86EMUL_UNHANDLEABLE;
	memcpy(buf, val, bytes);
	rc = ctxt->ops->write_std(ctxt, la, buf, bytes, &ctxt->exception, system);
	emul_to_x86_exception(&ctxt->exception, e);
	return rc;
}

/*
 * read_emulated(): the instruction's reads go through the read cache: on a
 * re-execution after userspace completed an MMIO read, the reads done
 * before are answered from it, in order, and the completed one is found
 * at its end (complete_emulated_mmio() wrote it there).
 */
static int em_read_emulated(void *opaque, u64 la, void *val, unsigned int bytes,
			    struct vmx_emul_exception *e)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	struct read_cache *mc = &ctxt->mem_read;
	int rc;

	if (mc->pos < mc->end)
		goto read_cached;
	if (bytes > sizeof(mc->data) - mc->end)
		return X86EMUL_UNHANDLEABLE;
	rc = ctxt->ops->read_emulated(ctxt, la, mc->data + mc->end, bytes, &ctxt->exception);
	if (rc != X86EMUL_CONTINUE) {
		emul_to_x86_exception(&ctxt->exception, e);
		return rc;
	}
	mc->end += bytes;
read_cached:
	if (bytes > mc->end - mc->pos)
		return X86EMUL_UNHANDLEABLE;
	memcpy(val, mc->data + mc->pos, bytes);
	mc->pos += bytes;
	return X86EMUL_CONTINUE;
}

static int em_write_emulated(void *opaque, u64 la, const void *val, unsigned int bytes,
			     struct vmx_emul_exception *e)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	int rc;

	if (ctxt->str_batch) {
		if (!ctxt->str_len)
			ctxt->str_addr = la;
		if (la != ctxt->str_addr + ctxt->str_len ||
		    bytes > sizeof(ctxt->str_data) - ctxt->str_len)
			return X86EMUL_UNHANDLEABLE;
		memcpy(ctxt->str_data + ctxt->str_len, val, bytes);
		ctxt->str_len += bytes;
		return X86EMUL_CONTINUE;
	}
	rc = ctxt->ops->write_emulated(ctxt, la, val, bytes, &ctxt->exception);
	if (unlikely(rc != X86EMUL_CONTINUE))
		emul_to_x86_exception(&ctxt->exception, e);
	return rc;
}

/* (from the decode: x86_decode_insn() may execute before it sets ctxt->ad_bytes) */
static unsigned long address_mask(const struct x86_emulate_ctxt *ctxt, unsigned long reg)
{
	unsigned int ad = ctxt->insn.ad_bytes;

	return ad == 8 ? reg : reg & ((1ul << (ad * 8)) - 1);
}

/*
 * IN, and each iteration of INS: REP INS reads ahead as many elements as
 * fit in io_read, the rest of the count and the page allow (KVM's
 * pio_in_emulated(): note the page room is counted in bytes, not elements,
 * as KVM does), so userspace sees one KVM_EXIT_IO with count > 1.
 */
static int em_pio_in(void *opaque, int size, u16 port, void *val)
{
	struct x86_emulate_ctxt *ctxt = opaque;
	struct read_cache *rc = &ctxt->io_read;

	if (rc->pos == rc->end) {	/* refill pio read ahead */
		unsigned long rdi = emul_gprs(ctxt)[7];
		unsigned int in_page, n, count;

		count = ctxt->insn.rep && ctxt->insn.string ?
			address_mask(ctxt, emul_gprs(ctxt)[1]) : 1;
		in_page = (ctxt->state.rflags & (1u << 10)) ? (rdi & 0xfff) :
			  4096 - (rdi & 0xfff);
		n = in_page;
		if (n > sizeof(rc->data) / size)
			n = sizeof(rc->data) / size;
		if (n > count)
			n = count;
		if (n == 0)
			n = 1;
		rc->pos = rc->end = 0;
		if (!ctxt->ops->pio_in_emulated(ctxt, size, port, rc->data, n))
			return X86EMUL_IO_NEEDED;
		rc->end = n * size;
	}
	memcpy(val, rc->data + rc->pos, size);
	rc->pos += size;
	/* the read-ahead is used up: the REP INS batch ends with this element */
	if (ctxt->str_batch && rc->pos >= rc->end)
		return VMX_EMUL_CONTINUE_LAST;
	return X86EMUL_CONTINUE;
}

static int em_pio_out(void *opaque, int size, u16 port, const void *val)
{
	struct x86_emulate_ctxt *ctxt = opaque;

	ctxt->ops->pio_out_emulated(ctxt, size, port, val, 1);
	return X86EMUL_CONTINUE;
}

static void *em_get_fpu(void *opaque)
{
	struct x86_emulate_ctxt *ctxt = opaque;

	return ctxt->ops->get_fpu ? ctxt->ops->get_fpu(ctxt) : ctxt->state.fpu;
}

static const struct vmx_emul_ops assist_ops = {
	.fetch = em_fetch,
	.read_std = em_read_std,
	.write_std = em_write_std,
	.read_emulated = em_read_emulated,
	.write_emulated = em_write_emulated,
	.pio_in = em_pio_in,
	.pio_out = em_pio_out,
	.get_fpu = em_get_fpu,
};

void init_decode_cache(struct x86_emulate_ctxt *ctxt)
{
	ctxt->have_exception = false;
	ctxt->mem_read.pos = ctxt->mem_read.end = 0;
	ctxt->io_read.pos = ctxt->io_read.end = 0;
}

static int assist_result(struct x86_emulate_ctxt *ctxt, int rc, const struct vmx_emul_exception *e)
{
	switch (rc) {
	case VMX_EMUL_CONTINUE:
		return EMULATION_OK;
	case VMX_EMUL_PROPAGATE_FAULT:
		ctxt->have_exception = true;
		ctxt->exception.vector = e->vector;
		ctxt->exception.error_code_valid = e->error_code_valid;
		ctxt->exception.error_code = e->error_code;
		ctxt->exception.address = e->address;
		return EMULATION_OK;
	case VMX_EMUL_IO_NEEDED:
		return EMULATION_OK;	/* x86_emulate_instruction() sees the request */
	default:
		return EMULATION_FAILED;
	}
}

/**
 * x86_decode_insn() - fetch and decode the instruction at ctxt->state's RIP
 * @insn, @insn_len: its bytes if the caller has them
 *
 * The assist executes the instruction in the same call, unless it is a
 * string instruction, whose REP handling x86_emulate_insn() sets up from
 * the decode (VMX_EMUL_STRING_DECODE_ONLY): one fetch, one decode, one
 * entry into the processor.  The caller must have set up everything the
 * execution's callbacks read (gpa_available) before calling this; the
 * result is kept in ctxt->exec_* for x86_emulate_insn() to report.
 *
 * Return: EMULATION_OK, or EMULATION_FAILED (a fetch fault is then in
 * ctxt->exception with have_exception set).
 */
int x86_decode_insn(struct x86_emulate_ctxt *ctxt, void *insn, int insn_len, int emulation_type)
{
	int rc;

	init_decode_cache(ctxt);
	/* a new instruction: nothing of an earlier one's MMIO read is pending */
	ctxt->mmio_read_completed = 0;
	ctxt->executed = false;
	ctxt->need_state = false;
	/*
	 * A new instruction: what the assist reads of &struct vmx_emul_insn
	 * (the rest is its output, written by the decode).
	 */
	ctxt->insn.len = 0;
	ctxt->insn.fetched = 0;
	ctxt->insn.decoded = false;
	ctxt->insn.max_iter = 0;
	if (insn && insn_len > 0 && insn_len <= 15) {
		memcpy(ctxt->insn.bytes, insn, insn_len);
		ctxt->insn.len = (u8)insn_len;
	}
	ctxt->eip = ctxt->state.rip;
	rc = vmx_op_emulate(&assist_ops, ctxt, &ctxt->state, &ctxt->insn, VMX_EMUL_STRING_DECODE_ONLY,
			    &ctxt->exec_exc);
	if (!ctxt->insn.decoded) {
		/* the fetch or the decode failed (a fault, or code not in RAM) */
		assist_result(ctxt, rc, &ctxt->exec_exc);
		return EMULATION_FAILED;
	}
	ctxt->_eip = ctxt->eip + ctxt->insn.len;
	ctxt->rep_prefix = ctxt->insn.string ? ctxt->insn.rep : 0;
	ctxt->op_bytes = ctxt->insn.op_bytes;
	ctxt->ad_bytes = ctxt->insn.ad_bytes;
	ctxt->b = ctxt->insn.opcode;
	if (rc == VMX_EMUL_NEED_STATE)
		ctxt->need_state = true;	/* decoded; executed with the segments */
	else if (rc != VMX_EMUL_DECODED) {
		ctxt->executed = true;
		ctxt->exec_rc = rc;
	}
	return EMULATION_OK;
}

/**
 * __x86_emulate_insn() - execute the decoded instruction (one REP iteration)
 *
 * Return: EMULATION_OK (done, or stopped for I/O: see the MMIO/PIO
 * requests, or an exception in ctxt->exception), EMULATION_RESTART (a REP
 * iteration retired and the next should run now) or EMULATION_FAILED.
 */
int __x86_emulate_insn(struct x86_emulate_ctxt *ctxt)
{
	struct vmx_emul_exception e;
	struct vmx_emul_state saved;
	u64 saved_gprs[16];
	unsigned long rip = ctxt->state.rip;
	int rc, r;

	if (ctxt->executed) {
		/* x86_decode_insn() executed it (not a string instruction: no REP set-up) */
		ctxt->executed = false;
		ctxt->str_len = 0;
		rc = ctxt->exec_rc;
		if (likely(rc == VMX_EMUL_CONTINUE)) {
			ctxt->eip = ctxt->state.rip;
			ctxt->eflags = ctxt->state.rflags;
			return EMULATION_OK;
		}
		return assist_result(ctxt, rc, &ctxt->exec_exc);
	}
	ctxt->mem_read.pos = 0;
	ctxt->have_exception = false;
	/*
	 * REP INS, DF=0: the elements read ahead are stored as one write
	 * (OP_MEM_STR); a fault of that write leaves the registers as they
	 * were before the batch.
	 */
	ctxt->str_batch = ctxt->rep_prefix && ctxt->insn.map == 0 &&
			  (ctxt->b == 0x6c || ctxt->b == 0x6d) && !(ctxt->state.rflags & (1u << 10));
	ctxt->str_len = 0;
	ctxt->insn.max_iter = ctxt->str_batch ? sizeof(ctxt->io_read.data) : 0;
	if (ctxt->need_state && (ctxt->state.absent & VMX_EMUL_ABSENT_SEGS) && ctxt->ops->get_segments)
		ctxt->ops->get_segments(ctxt);	/* the decode said it reads them */
	ctxt->need_state = false;
	if (ctxt->str_batch) {
		saved = ctxt->state;
		memcpy(saved_gprs, emul_gprs(ctxt), sizeof(saved_gprs));
	}
	rc = vmx_op_emulate(&assist_ops, ctxt, &ctxt->state, &ctxt->insn, 0, &e);
	if (rc == VMX_EMUL_NEED_STATE && ctxt->ops->get_segments) {
		/* nothing ran: with the segment registers read, again */
		ctxt->ops->get_segments(ctxt);
		if (ctxt->str_batch)
			saved = ctxt->state;
		rc = vmx_op_emulate(&assist_ops, ctxt, &ctxt->state, &ctxt->insn, 0, &e);
	}
	ctxt->str_batch = false;
	if (rc == VMX_EMUL_CONTINUE && ctxt->str_len) {
		rc = ctxt->ops->write_emulated(ctxt, ctxt->str_addr, ctxt->str_data, ctxt->str_len,
					       &ctxt->exception);
		if (rc != X86EMUL_CONTINUE) {
			ctxt->state = saved;
			memcpy(emul_gprs(ctxt), saved_gprs, sizeof(saved_gprs));
			emul_to_x86_exception(&ctxt->exception, &e);
		}
	}
	r = assist_result(ctxt, rc, &e);
	if (rc != VMX_EMUL_CONTINUE)
		return r;
	ctxt->eip = ctxt->state.rip;
	ctxt->eflags = ctxt->state.rflags;
	if (ctxt->rep_prefix && ctxt->state.rip == rip) {
		struct read_cache *rcache = &ctxt->io_read;

		/*
		 * Re-enter guest when pio read ahead buffer is empty or, if it
		 * is not used, after each 1024 iteration (KVM's policy).
		 */
		if ((rcache->end != 0 || (address_mask(ctxt, emul_gprs(ctxt)[1]) & 0x3ff)) &&
		    (rcache->end == 0 || rcache->end != rcache->pos)) {
			ctxt->mem_read.end = 0;
			return EMULATION_RESTART;
		}
	}
	return EMULATION_OK;
}
