// SPDX-License-Identifier: MIT
/*
 * emulate.c: the instruction-emulation assist (see emulate.h).
 *
 * The instruction runs on a scratch logical processor of the calling
 * thread, loaded with a copy of the guest state: the instruction's
 * handler is the one cpu_run() would call (cpu_decode(), ops_*.c).  The
 * scratch core's soft TLB stays empty, so every memory access of the
 * handler reaches the slow paths of tlb.c, which hand it to emul_read() /
 * emul_write() here (cpu->emul is set), and from there to the VMM's
 * callbacks with the linear address.  A callback that cannot complete
 * (a fault, data from userspace) leaves the handler by longjmp, like a
 * fault of the core; the copy is then dropped, so the guest state the VMM
 * passed in is untouched.  When the handler returns, the copy's GPRs, RIP,
 * RFLAGS, interrupt shadow and FPU registers are the instruction's result,
 * provided nothing else of the state changed (else: unhandleable).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "silicon/emulate.h"
#include "silicon/fpu.h"
#include "silicon/ops.h"

/* emul_load() and the state check treat the FPU, the last member, apart */
BUILD_BUG_ON(offsetof(struct cpu_state, fpu) + sizeof(struct cpu_fpu) != sizeof(struct cpu_state));
/* struct vmx_emul_seg is struct cpu_seg: emul_load() copies the array */
BUILD_BUG_ON(sizeof(struct vmx_emul_seg) != sizeof(struct cpu_seg) ||
	     sizeof(((struct vmx_emul_state *)0)->seg) != sizeof(((struct cpu_state *)0)->seg));
BUILD_BUG_ON(offsetof(struct vmx_emul_seg, base) != offsetof(struct cpu_seg, base) ||
	     offsetof(struct vmx_emul_seg, limit) != offsetof(struct cpu_seg, limit) ||
	     offsetof(struct vmx_emul_seg, ar) != offsetof(struct cpu_seg, ar) ||
	     offsetof(struct vmx_emul_seg, selector) != offsetof(struct cpu_seg, sel));
/* emul_load() sets every field before DR0 (GPRs .. XCR0, in this order, nothing between) */
BUILD_BUG_ON(offsetof(struct cpu_state, gpr) != 0 ||
	     offsetof(struct cpu_state, dr) != 16 * 8 + 2 * 8 + sizeof(struct cpu_seg) * CPU_NR_SEGS +
						2 * sizeof(struct cpu_dtable) + 6 * 8);
/* the decode kept in struct vmx_emul_insn */
BUILD_BUG_ON(sizeof(struct insn) > sizeof(((struct vmx_emul_insn *)0)->decoded_insn));

/* longjmp codes on the scratch core's jb (1-3 are the core's: fault, exit, soft int) */
#define EMUL_JMP_CALLBACK 4

struct emul {
	const struct vmx_emul_ops *ops;
	void *opaque;
	struct vmx_emul_exception *exc;
	int rc;			/* why a callback left the instruction */
	/*
	 * The last read of a read-modify-write operand: the core may read it
	 * again under its bus lock (LOCK, CMPXCHG), which is the same bus read
	 * (one MMIO exit, not two).
	 */
	bool rmw_valid;
	int rmw_size;
	u64 rmw_lin, rmw_val;
	u32 max_iter;		/* REP INS iterations allowed in this call */
};

/*
 * The decodes of this thread's recent emulated instructions, direct mapped
 * by linear address and validated by their bytes and the mode (Blink's
 * LoadInstruction2()): the decode is a function of the bytes it consumed
 * and of the mode alone (cpu_decode(), optab_select(), ea_select()), so a
 * device driver's MMIO instruction that exits again and again is decoded
 * once.  An entry holds the decode as the assist executes it (LOCK
 * dropped, emulate.h), with what &struct vmx_emul_insn reports of it and
 * its class.
 */
#define EMUL_DCACHE_SIZE 64

struct emul_dcache_entry {
	u32 mode;
	u8 len;			/* 0: empty */
	u8 bytes[15];
	/* the bytes zero-padded to 16, and the mask of the first @len (emul_dcache_hit15()) */
	u64 pat[2], mask[2];
	u8 cls;			/* EMUL_CLS_* */
	/* what &struct vmx_emul_insn reports from map to mem, in its layout (emul_report_decode()) */
	u8 report[8];
	struct insn insn;
};


/*
 * What the assist keeps per thread, in one allocation reached through one
 * initial-exec TLS pointer (in libuserkvm.so, each general-dynamic
 * __thread variable costs a __tls_get_addr() call per access): the
 * scratch core, the state of its derived mode and registers
 * (@mode_valid, @clean: see emul_same_mode(), emul_regs_suffice()), the callbacks' context and the decode
 * cache.  Freed with the thread (emul_key).
 */
struct emul_thread {
	struct cpu core;	/* first: emul_thread_of() */
	bool mode_valid, clean;
	struct emul e;
	struct emul_dcache_entry dcache[EMUL_DCACHE_SIZE];
};

static __always_inline struct emul_thread *emul_thread_of(const struct cpu *c)
{
	return (struct emul_thread *)c;
}

/*
 * Emulation does not take the bus lock: its accesses are callbacks that may
 * longjmp.  Initial-exec here as emul_self (set twice per emulation).
 */
__thread bool cpu_emulating __attribute__((tls_model("initial-exec")));

static pthread_key_t emul_key;
static pthread_once_t emul_once = PTHREAD_ONCE_INIT;
static __thread struct emul_thread *emul_self __attribute__((tls_model("initial-exec")));

static void emul_core_free(void *p)
{
	free(p);
}

static void emul_key_init(void)
{
	(void)pthread_key_create(&emul_key, emul_core_free);
}

/* No RAM behind the scratch core: it reaches memory only through the callbacks. */
static void emul_phys_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out)
{
	out->host = NULL;
	out->writable = false;
}

static int emul_pio(void *opaque, struct cpu *c, u16 port, int size, bool write, u32 *val);

static const struct cpu_io_ops emul_io_ops = {
	.pio = emul_pio,
};

static struct cpu *emul_get_core(void)
{
	struct emul_thread *t = emul_self;
	struct cpu *c;

	if (t)
		return &t->core;
	pthread_once(&emul_once, emul_key_init);
	t = aligned_alloc(64, ALIGN_UP(sizeof(*t), 64));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	c = &t->core;
	c->phys_xlate = emul_phys_xlate;
	c->io = &emul_io_ops;
	tlb_flush_all(c);	/* and it is never filled: translate() is not reached */
	emul_self = t;
	(void)pthread_setspecific(emul_key, t);
	return c;
}

static __attribute__((noreturn)) void emul_leave(struct cpu *c, int rc)
{
	struct emul *e = c->emul;

	e->rc = rc;
	longjmp(c->jb, EMUL_JMP_CALLBACK);
}

static void emul_check_rc(struct cpu *c, int rc)
{
	if (likely(rc == VMX_EMUL_CONTINUE))
		return;
	if (rc != VMX_EMUL_PROPAGATE_FAULT && rc != VMX_EMUL_IO_NEEDED)
		rc = VMX_EMUL_UNHANDLEABLE;
	emul_leave(c, rc);
}

/* The linear address as the core's translate() sees it: 32 bits outside IA-32e mode. */
static u64 emul_lin(struct cpu *c, u64 lin)
{
	if (!(c->s.efer & CPU_EFER_LMA))
		return lin & 0xffffffffull;
	{
		int bits = (c->s.cr4 & CPU_CR4_LA57) ? 57 : 48;

		if ((u64)((s64)(lin << (64 - bits)) >> (64 - bits)) != lin)
			cpu_gp0(c);
	}
	return lin;
}

u64 emul_read(struct cpu *c, u64 lin, int size, int kind)
{
	struct emul *e = c->emul;
	u8 buf[8] = { 0 };
	int k = kind & 3, rc;

	if (unlikely(size > 8))
		emul_leave(c, VMX_EMUL_UNHANDLEABLE);
	lin = emul_lin(c, lin);
	if (k == ACC_W && e->rmw_valid && e->rmw_lin == lin && e->rmw_size == size)
		return e->rmw_val;
	if (kind & ACC_IMPLICIT)
		rc = e->ops->read_std(e->opaque, lin, buf, (unsigned)size, e->exc, true);
	else if (k == ACC_X)
		rc = e->ops->fetch(e->opaque, lin, buf, (unsigned)size, e->exc);
	else
		rc = e->ops->read_emulated(e->opaque, lin, buf, (unsigned)size, e->exc);
	emul_check_rc(c, rc);
	if (k == ACC_W) {
		e->rmw_valid = true;
		e->rmw_lin = lin;
		e->rmw_size = size;
		e->rmw_val = ld(buf, size);
	}
	return ld(buf, size);
}

void emul_write(struct cpu *c, u64 lin, int size, u64 val, int kind)
{
	struct emul *e = c->emul;
	u8 buf[8];
	int rc;

	if (unlikely(size > 8))
		emul_leave(c, VMX_EMUL_UNHANDLEABLE);
	lin = emul_lin(c, lin);
	st(buf, size, val);
	e->rmw_valid = false;
	if (kind & ACC_IMPLICIT)
		rc = e->ops->write_std(e->opaque, lin, buf, (unsigned)size, e->exc, true);
	else
		rc = e->ops->write_emulated(e->opaque, lin, buf, (unsigned)size, e->exc);
	emul_check_rc(c, rc);
}

/*
 * The x87/SSE forms' accesses of up to 16 bytes (fpu.c's vec_read() and
 * vec_write()): one callback for the whole operand, as KVM's emulator
 * makes one access of an SSE operand (and splits it into MMIO fragments).
 */
void emul_read_buf(struct cpu *c, u64 lin, void *buf, int size)
{
	struct emul *e = c->emul;

	if (unlikely(size > 16))
		emul_leave(c, VMX_EMUL_UNHANDLEABLE);
	lin = emul_lin(c, lin);
	emul_check_rc(c, e->ops->read_emulated(e->opaque, lin, buf, (unsigned)size, e->exc));
}

void emul_write_buf(struct cpu *c, u64 lin, const void *buf, int size)
{
	struct emul *e = c->emul;

	if (unlikely(size > 16))
		emul_leave(c, VMX_EMUL_UNHANDLEABLE);
	lin = emul_lin(c, lin);
	e->rmw_valid = false;
	emul_check_rc(c, e->ops->write_emulated(e->opaque, lin, buf, (unsigned)size, e->exc));
}

/*
 * The I/O permission bitmap of the TSS (SDM 19.5.2) for cpu_io_allowed():
 * read as supervisor accesses through read_std.  Like the core, a TSS that
 * cannot be read denies the access (#GP).
 */
bool emul_io_bitmap(struct cpu *c, u64 tss_base, u32 tss_limit, u16 port, int size)
{
	struct emul *e = c->emul;
	struct vmx_emul_exception x;
	u16 off, bits;

	if (e->ops->read_std(e->opaque, emul_lin(c, tss_base + 0x66), &off, 2, &x, true))
		return false;
	if ((u32)off + port / 8 + 1 > tss_limit)
		return false;
	if (e->ops->read_std(e->opaque, emul_lin(c, tss_base + off + port / 8), &bits, 2, &x, true))
		return false;
	return ((bits >> (port & 7)) & ((1u << size) - 1)) == 0;
}

static int emul_pio(void *opaque, struct cpu *c, u16 port, int size, bool write, u32 *val)
{
	struct emul *e = c->emul;
	u8 buf[4] = { 0 };
	int rc;

	if (write) {
		memcpy(buf, val, 4);
		rc = e->ops->pio_out(e->opaque, size, port, buf);
	} else {
		rc = e->ops->pio_in(e->opaque, size, port, buf);
		memcpy(val, buf, 4);
		if (rc == VMX_EMUL_CONTINUE_LAST)
			return 1;	/* op_ins stops after this iteration */
	}
	emul_check_rc(c, rc);
	return 0;
}

/* Iterations of a REP string instruction for this call (ops_str.c). */
u64 emul_rep_count(struct cpu *c, const struct insn *i, u64 n)
{
	struct emul *e = c->emul;

	if (i->map == 0 && (i->op == 0x6c || i->op == 0x6d) && e->max_iter > 1)
		return MIN(n, (u64)e->max_iter);
	return n ? 1 : 0;
}

/*
 * Instructions whose result comes from processor state the VMM does not
 * pass (CPUID configuration, MSRs, TSC, VMX, the random generator) or that
 * would VM-exit in non-root operation: the VMM emulates those itself.
 */
static bool emul_refused(const struct insn *i)
{
	u8 modrm = i->modrm, reg = (modrm >> 3) & 7;

	if (i->map != 1)
		return false;
	switch (i->op) {
	case 0x05: case 0x07:		/* SYSCALL, SYSRET */
	case 0x30: case 0x31: case 0x32: case 0x33:	/* WRMSR RDTSC RDMSR RDPMC */
	case 0x34: case 0x35: case 0x37:	/* SYSENTER SYSEXIT GETSEC */
	case 0x78: case 0x79:		/* VMREAD VMWRITE */
	case 0xa2:			/* CPUID */
		return true;
	case 0x01:			/* VMCALL.. VMXOFF, MONITOR/MWAIT, XGETBV/XSETBV, SWAPGS, RDTSCP */
		return modrm >= 0xc0 && (modrm <= 0xc9 || modrm == 0xd0 || modrm == 0xd1 ||
					 modrm == 0xd4 || modrm == 0xf8 || modrm == 0xf9);
	case 0xc7:			/* VMPTRLD/VMCLEAR/VMXON/VMPTRST, RDRAND/RDSEED/RDPID */
		return reg >= 6 || (reg == 3 && (i->flags & IF_MEM));
	}
	return false;
}

/*
 * Whether @i, in 64-bit mode, reads nothing of the state
 * VMX_EMUL_ABSENT_SEGS leaves out: a data instruction whose handler
 * reaches memory only through seg_lin() (the bases of ES..DS are 0 in
 * 64-bit mode) and the stack, with a memory operand that is not FS/GS
 * relative.  A list of such opcodes, not of the others: anything not
 * listed (segment loads and stores, far transfers, INT/IRET, I/O, whose
 * permission check may read the TSS, descriptor-table instructions, SSE)
 * gets the full state.
 */
static bool emul_needs_no_segs(const struct cpu *c, const struct insn *i)
{
	u8 op = i->op, reg = (i->modrm >> 3) & 7;

	if (!c->code64 || i->seg == CPU_SEG_FS || i->seg == CPU_SEG_GS)
		return false;
	if (i->map == 0) {
		if (op < 0x40)		/* ALU r/m forms (06/07/0E.. are #UD in 64-bit mode) */
			return (op & 7) < 6;
		if (op >= 0x50 && op <= 0x5f)	/* PUSH/POP reg */
			return true;
		if (op >= 0x80 && op <= 0x8b)	/* group 1, TEST, XCHG, MOV */
			return true;
		if (op >= 0xa0 && op <= 0xaf)	/* moffs MOV, MOVS, CMPS, TEST, STOS, LODS, SCAS */
			return true;
		if (op >= 0xb0 && op <= 0xbf)	/* MOV imm */
			return true;
		if (op == 0xff)		/* INC, DEC, CALL/JMP near, PUSH: not the far forms */
			return reg != 3 && reg != 5 && reg != 7;
		switch (op) {
		case 0x63: case 0x68: case 0x69: case 0x6a: case 0x6b:	/* MOVSXD, PUSH, IMUL */
		case 0x8d: case 0x8f: case 0x90: case 0x98: case 0x99:	/* LEA, POP r/m, NOP, CBW, CWD */
		case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:	/* shifts */
		case 0xc6: case 0xc7: case 0xf6: case 0xf7: case 0xfe:	/* MOV, group 3, INC/DEC */
		case 0xf5: case 0xf8: case 0xf9: case 0xfc: case 0xfd:	/* CMC, CLC, STC, CLD, STD */
			return true;
		}
		return false;
	}
	if (i->map == 1) {
		if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f) ||	/* CMOVcc, SETcc */
		    (op >= 0xc8 && op <= 0xcf))	/* BSWAP */
			return true;
		switch (op) {
		case 0x1f: case 0xa3: case 0xa4: case 0xa5: case 0xab: case 0xac: case 0xad:
		case 0xaf: case 0xb0: case 0xb1: case 0xb3: case 0xb6: case 0xb7: case 0xba:
		case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: case 0xc0: case 0xc1:
		case 0xc3:	/* NOP, BT*, SHLD/SHRD, IMUL, CMPXCHG, MOVZX/MOVSX, BSF/BSR, XADD, MOVNTI */
			return true;
		}
	}
	return false;
}

/*
 * &emul_thread.mode_valid: the scratch core's derived mode (cpu_update_mode(): mode, CPL, segment
 * bases, flat segments, alignment checking) matches its state: true after
 * cpu_update_mode() and after an instruction that retired, never ran or
 * left for a callback (the core keeps the two consistent), false after a
 * fault, whose delivery may have stopped halfway.
 */

/*
 * Whether @st has the inputs of cpu_update_mode() the core has now: CR0,
 * CR4, EFER, RFLAGS.VM/AC and the segment registers (all of them, more
 * than it reads), so the derived mode need not be computed again.
 */
static bool emul_same_mode(const struct cpu *c, const struct vmx_emul_state *st)
{
	const struct cpu_state *s = &c->s;

	if (!emul_thread_of(c)->mode_valid || s->cr0 != st->cr0 || s->cr4 != st->cr4 ||
	    s->efer != st->efer || ((s->rflags ^ st->rflags) & (CPU_FLAG_VM | CPU_FLAG_AC)))
		return false;
	/* the same layout (see emul_load()): padding that differs only costs a recomputation */
	return !memcmp(s->seg, st->seg, sizeof(s->seg));
}

/*
 * &emul_thread.clean: whether the core holds nothing of an earlier instruction but what the
 * 64-bit data instructions (EMUL_CLS_NO_SEGS) change: its state is what the
 * last emul_load() loaded, except for GPRs, RIP, RFLAGS and the interrupt
 * shadow (loaded anew for every instruction), because every instruction
 * executed since was one of those.  Cleared before any other instruction
 * runs; a fault changes nothing else either (raise_exc() only longjmps).
 */

/*
 * Whether loading GPRs, RIP, RFLAGS and the shadow suffices for @st (the
 * rest of the core's state may be an earlier call's): the core is clean,
 * in 64-bit mode, and @st has the inputs of the derived mode the core has.
 * Those are all that a 64-bit data instruction reads besides the registers
 * (SDM 3.4.2.1: the bases of CS/DS/ES/SS are 0, no limits; FS- and
 * GS-relative operands are not of that class): CR0 (PE, AM), CR4 (LA57),
 * EFER.LMA, RFLAGS.VM/AC and the access rights of CS (L) and SS (DPL: the
 * CPL).  Any other instruction gets the full emul_load() before it runs.
 */
static __always_inline bool emul_regs_suffice(const struct cpu *c, const struct vmx_emul_state *st)
{
	const struct cpu_state *s = &c->s;

	const struct emul_thread *t = emul_thread_of(c);

	return t->clean && t->mode_valid && c->code64 && s->cr0 == st->cr0 &&
	       s->cr4 == st->cr4 && s->efer == st->efer &&
	       !((s->rflags ^ st->rflags) & (CPU_FLAG_VM | CPU_FLAG_AC)) &&
	       s->seg[CPU_SEG_CS].ar == st->seg[VMX_EMUL_CS].ar &&
	       s->seg[CPU_SEG_SS].ar == st->seg[VMX_EMUL_SS].ar;
}

/* What every instruction loads: GPRs, RIP, RFLAGS, the shadow. */
static __always_inline void emul_load_regs(struct cpu *c, const struct vmx_emul_state *st)
{
	struct cpu_state *s = &c->s;

	memcpy(s->gpr, st->gprs ? st->gprs : st->regs, sizeof(s->gpr));
	s->rip = st->rip;
	s->rflags = (st->rflags & 0x3f7fd5) | 2;
	s->interruptibility = st->interruptibility & (CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
}

static void emul_load(struct cpu *c, const struct vmx_emul_state *st)
{
	struct cpu_state *s = &c->s;
	bool same_mode = emul_same_mode(c, st);

	/* everything before DR0 is set below; from there to the FPU it is zero */
	memset(s->dr, 0, offsetof(struct cpu_state, fpu) - offsetof(struct cpu_state, dr));
	emul_load_regs(c, st);
	/* VMX_EMUL_* and CPU_SEG_* are both ES..GS, LDTR, TR, in the same layout */
	memcpy(s->seg, st->seg, sizeof(s->seg));
	s->gdtr.base = st->gdtr_base;
	s->gdtr.limit = st->gdtr_limit;
	s->idtr.base = st->idtr_base;
	s->idtr.limit = st->idtr_limit;
	s->cr0 = st->cr0;
	s->cr2 = st->cr2;
	s->cr3 = st->cr3;
	s->cr4 = st->cr4;
	s->cr8 = st->cr8;
	s->efer = st->efer;
	s->xcr0 = st->xcr0;
	s->dr[6] = 0xffff0ff0;
	s->dr[7] = 0x400;
	if (!same_mode) {
		c->mode = ~0u;
		cpu_update_mode(c);
		emul_thread_of(c)->mode_valid = true;
	}
	emul_thread_of(c)->clean = true;
}

/* What every instruction starts from, loaded state or not. */
static __always_inline void emul_reset(struct cpu *c)
{
	c->lf_op = LF_NONE;
	c->fault_vec = -1;
	c->delivering = -1;
	c->cur_block = NULL;
	c->req = 0;
}

/*
 * Instructions that read or write the x87/SSE state, or check CR0.TS/EM
 * for it: the x87 escapes and FWAIT, the 0F opcodes without a table entry
 * (the SSE forms: sse_select()), 0F AE (FXSAVE, LDMXCSR, XSAVE...) and the
 * 0F38/0F3A maps.  Only for those is the FPU image loaded and stored: the
 * others cannot see or change it.
 */
static bool emul_uses_fpu(const struct insn *i)
{
	if (i->map == 0)
		return i->op == 0x9b || (i->op >= 0xd8 && i->op <= 0xdf);
	if (i->map == 1)
		return !optab[1][i->op] || i->op == 0xae;
	return true;
}

/*
 * Anything but GPRs, RIP, RFLAGS, the data segment registers (MOV Sreg,
 * POP Sreg, LDS...), the shadow and the FPU changed?
 */
static bool emul_state_escaped(const struct cpu_state *s, const struct vmx_emul_state *st)
{
	/* what emul_load() set: from @st, DR6/DR7 at their reset values, the rest zero */
	static const u64 dr_init[8] = { [6] = 0xffff0ff0, [7] = 0x400 };

	if (memcmp(&s->seg[CPU_SEG_CS], &st->seg[VMX_EMUL_CS], sizeof(s->seg[0])) ||
	    memcmp(&s->seg[CPU_SEG_LDTR], &st->seg[VMX_EMUL_LDTR], 2 * sizeof(s->seg[0])) ||
	    memcmp(s->dr, dr_init, sizeof(s->dr)))
		return true;
	return s->gdtr.base != st->gdtr_base || s->gdtr.limit != st->gdtr_limit ||
	       s->idtr.base != st->idtr_base || s->idtr.limit != st->idtr_limit ||
	       s->cr0 != st->cr0 || s->cr2 != st->cr2 || s->cr3 != st->cr3 || s->cr4 != st->cr4 ||
	       s->cr8 != st->cr8 || s->efer != st->efer || s->xcr0 != st->xcr0 ||
	       s->activity || s->event_info || s->nmi_pending || s->star || s->lstar ||
	       s->kernel_gs_base || s->tsc_offset || s->tsc_multiplier || s->tsc_root_offset ||
	       s->apic_base;
}

static void emul_exception(struct cpu *c, struct vmx_emul_exception *e)
{
	e->vector = (u8)c->fault_vec;
	e->error_code_valid = c->fault_has_err;
	e->error_code = c->fault_has_err ? c->fault_err : 0;
	e->address = 0;
}

/*
 * What the assist decides about an instruction once it is decoded, kept
 * with the decode (it is a function of the bytes and the mode alone).
 */
#define EMUL_CLS_REFUSED	BIT(0)	/* emul_refused() */
#define EMUL_CLS_NO_SEGS	BIT(1)	/* emul_needs_no_segs(): a 64-bit data instruction */
#define EMUL_CLS_FPU		BIT(2)	/* emul_uses_fpu() */
/* ... and a MOV to memory (emul_mov_store_cls()): of a register, or the immediate */
#define EMUL_CLS_STORE		BIT(3)
#define EMUL_CLS_STORE_IMM	BIT(4)
#define EMUL_CLS_STORE_SZ(cls)	(((cls) >> 5) & 3)	/* its SZ* */

/*
 * The class bits of a MOV to memory, 0 for anything else: @i's handler is
 * one of ops_mov.c's (88/89 mov_st_*, C6/C7 /0 mov_sti_*, generic or per
 * addressing form), whose one effect is lin_write() of a register or the
 * immediate at ea_lin() (the per-form versions fall back to the generic
 * one when the TLB misses, as it always does on the scratch core).
 */
static u8 emul_mov_store_cls(const struct insn *i)
{
	for (int sz = SZ8; sz <= SZ64; sz++) {
		u8 cls = (u8)(EMUL_CLS_STORE | sz << 5);

		if (i->fn == mov_tab[2][sz])
			return cls;
		if (i->fn == mov_tab[4][sz])
			return cls | EMUL_CLS_STORE_IMM;
		for (int f = 0; f < EAF_NR; f++) {
			if (i->fn == mov_ea_tab[f][0][sz])
				return cls;
			if (i->fn == mov_ea_tab[f][2][sz])
				return cls | EMUL_CLS_STORE_IMM;
		}
	}
	return 0;
}

static u8 emul_classify(const struct cpu *c, const struct insn *i)
{
	bool no_segs = emul_needs_no_segs(c, i);

	return (emul_refused(i) ? EMUL_CLS_REFUSED : 0) | (no_segs ? EMUL_CLS_NO_SEGS : 0) |
	       (emul_uses_fpu(i) ? EMUL_CLS_FPU : 0) | (no_segs ? emul_mov_store_cls(i) : 0);
}

/*
 * A MOV to memory of class @cls, as its handler does it (mov_st_SZ(),
 * mov_sti_SZ() in ops_mov.c: lin_write(), which on the scratch core is
 * always mem_write_slow()'s emul_write()), without the call layers.
 */
static __always_inline void emul_mov_store(struct cpu *c, const struct insn *i, u8 cls)
{
	int sz = EMUL_CLS_STORE_SZ(cls), size = 1 << sz;
	u64 val = (cls & EMUL_CLS_STORE_IMM) ? (u64)i->imm : reg_read(c, i_reg(i, sz), sz);

	emul_write(c, ea_lin(c, i, size, ACC_W), size, val, ACC_W);
}


/* emul_report_decode() copies map..mem at once; emul_dcache_hit15() reads bytes[] and len */
BUILD_BUG_ON(offsetof(struct vmx_emul_insn, opcode) != offsetof(struct vmx_emul_insn, map) + 1 ||
	     offsetof(struct vmx_emul_insn, modrm) != offsetof(struct vmx_emul_insn, map) + 2 ||
	     offsetof(struct vmx_emul_insn, rep) != offsetof(struct vmx_emul_insn, map) + 3 ||
	     offsetof(struct vmx_emul_insn, op_bytes) != offsetof(struct vmx_emul_insn, map) + 4 ||
	     offsetof(struct vmx_emul_insn, ad_bytes) != offsetof(struct vmx_emul_insn, map) + 5 ||
	     offsetof(struct vmx_emul_insn, string) != offsetof(struct vmx_emul_insn, map) + 6 ||
	     offsetof(struct vmx_emul_insn, mem) != offsetof(struct vmx_emul_insn, map) + 7 ||
	     sizeof(bool) != 1 || offsetof(struct vmx_emul_insn, bytes) != 0 ||
	     sizeof(((struct vmx_emul_insn *)0)->bytes) != 15);
#define EMUL_REP_OFF	3	/* report[]: rep, string */
#define EMUL_STRING_OFF	6


static __always_inline struct emul_dcache_entry *emul_dcache_slot(const struct cpu *c, u64 lin)
{
	return &emul_thread_of(c)->dcache[(lin ^ (lin >> 7)) & (EMUL_DCACHE_SIZE - 1)];
}

/* The cached decode of @bytes at @lin in the current mode, or NULL. */
static __always_inline const struct emul_dcache_entry *emul_dcache_hit(const struct cpu *c, u64 lin,
								      const u8 *bytes, int avail)
{
	const struct emul_dcache_entry *d = emul_dcache_slot(c, lin);

	if (d->len && d->len <= avail && d->mode == c->mode && cpu_bytes_equal(d->bytes, bytes, d->len))
		return d;
	return NULL;
}

/*
 * emul_dcache_hit() of the 15 bytes fetched at @lin into @in->bytes (so
 * any entry's length fits): the bytes compared under the entry's mask,
 * 16 bytes of @in at once (the 16th, @in->len, masked off).
 */
static __always_inline const struct emul_dcache_entry *emul_dcache_hit15(const struct cpu *c, u64 lin,
									const struct vmx_emul_insn *in)
{
	const struct emul_dcache_entry *d = emul_dcache_slot(c, lin);
	u64 b[2];

	memcpy(b, in, sizeof(b));
	if (d->len && d->mode == c->mode &&
	    !(((b[0] ^ d->pat[0]) & d->mask[0]) | ((b[1] ^ d->pat[1]) & d->mask[1])))
		return d;
	return NULL;
}

/* The decode of @bytes at @lin in the current mode: from the cache, or made and cached. */
static __always_inline const struct emul_dcache_entry *emul_decode(struct cpu *c, u64 lin,
								  const u8 *bytes, int avail)
{
	struct emul_dcache_entry *d = emul_dcache_slot(c, lin);
	struct insn *i = &d->insn;
	int len;

	if (emul_dcache_hit(c, lin, bytes, avail))
		return d;
	d->len = 0;
	len = cpu_decode(c, bytes, avail, i);
	if (len <= 0)
		return NULL;
	/* LOCK goes as a plain read and write here (emulate.h) */
	i->flags &= (u16)~IF_LOCK;
	d->mode = c->mode;
	d->len = (u8)len;
	memcpy(d->bytes, bytes, (size_t)len);
	{
		u8 pat[16] = { 0 }, mask[16] = { 0 };

		memcpy(pat, bytes, (size_t)len);
		memset(mask, 0xff, (size_t)len);
		memcpy(d->pat, pat, sizeof(pat));
		memcpy(d->mask, mask, sizeof(mask));
	}
	d->cls = emul_classify(c, i);
	d->report[0] = i->map;
	d->report[1] = i->op;
	d->report[2] = i->modrm;
	d->report[EMUL_REP_OFF] = (i->flags & IF_REP) ? 0xf3 : (i->flags & IF_REPNE) ? 0xf2 : 0;
	d->report[4] = (u8)(1 << i->osz);
	d->report[5] = (u8)(1 << i->asz);
	d->report[EMUL_STRING_OFF] = i->map == 0 && ((i->op >= 0xa4 && i->op <= 0xa7) ||
						     (i->op >= 0xaa && i->op <= 0xaf) ||
						     (i->op >= 0x6c && i->op <= 0x6f));
	d->report[7] = d->report[EMUL_STRING_OFF] || (i->flags & IF_MEM) ||
		       (i->map == 0 && i->op >= 0xa0 && i->op <= 0xa3);
	return d;
}

/* What &struct vmx_emul_insn reports of the decode @d, made in @mode. */
static __always_inline void emul_report_decode(struct vmx_emul_insn *in,
					       const struct emul_dcache_entry *d, u32 mode)
{
	in->len = d->len;
	memcpy((u8 *)in + offsetof(struct vmx_emul_insn, map), d->report, sizeof(d->report));	/* map, opcode, modrm, rep, op/ad_bytes, string, mem */
	memcpy(in->decoded_insn, &d->insn, sizeof(d->insn));
	in->decoded_mode = mode;
	in->decoded_cls = d->cls;
	in->decoded = true;
}

/*
 * Fetch CS:RIP and decode; return the decode to execute (in the decode
 * cache, or in @i) and set *@cls to its EMUL_CLS_*.  Faults longjmp (the
 * caller's setjmp).  @prefetched: emul_fast() fetched the 15 bytes at
 * RIP (all there is to fetch: the page goes on after them) and found @pre
 * in the decode cache, or NULL.
 */
static const struct insn *emul_fetch_decode(struct cpu *c, struct vmx_emul_insn *in,
					    struct insn *i, u8 *cls, bool prefetched,
					    const struct emul_dcache_entry *pre)
{
	const struct emul_dcache_entry *d;
	u64 rip = c->s.rip, lin, limit_left = 15;
	unsigned avail;

	if (c->code64) {
		lin = emul_lin(c, rip);
	} else {
		u32 lim = c->s.seg[CPU_SEG_CS].limit;

		if (rip > lim)
			cpu_gp0(c);
		limit_left = MIN((u64)lim - rip + 1, 15);
		lin = (c->s.seg[CPU_SEG_CS].base + rip) & 0xffffffffull;
	}
	if (prefetched) {
		d = pre ? pre : emul_decode(c, lin, in->bytes, in->fetched);
	} else if (!in->len) {
		struct emul *e = c->emul;

		/* as KVM's __do_insn_fetch_bytes(): to the page end first */
		avail = (unsigned)MIN(limit_left, 4096 - (lin & 0xfff));
		emul_check_rc(c, e->ops->fetch(e->opaque, lin, in->bytes, avail, e->exc));
		in->fetched = (u8)avail;
		d = emul_decode(c, lin, in->bytes, (int)avail);
		if (!d && avail < limit_left) {
			unsigned more = (unsigned)limit_left - avail;
			u64 next = emul_lin(c, c->code64 ? lin + avail : (lin + avail) & 0xffffffffull);

			emul_check_rc(c, e->ops->fetch(e->opaque, next, in->bytes + avail, more, e->exc));
			avail += more;
			in->fetched = (u8)avail;
			d = emul_decode(c, lin, in->bytes, (int)avail);
		}
	} else if (in->decoded && in->decoded_mode == c->mode && in->len <= limit_left) {
		memcpy(i, in->decoded_insn, sizeof(*i));	/* decoded by an earlier call */
		*cls = in->decoded_cls;
		return i;
	} else {
		avail = MIN(in->len, (unsigned)limit_left);
		if (!in->fetched)
			in->fetched = in->len;
		d = emul_decode(c, lin, in->bytes, (int)avail);
	}
	if (!d)
		cpu_gp0(c);	/* longer than 15 bytes, or past the CS limit */
	emul_report_decode(in, d, c->mode);
	*cls = d->cls;
	/*
	 * Note, the entry stays as it is while the instruction runs: only
	 * emul_decode() writes the cache, and no callback re-enters the assist.
	 */
	return &d->insn;
}

/* emul_fast(): the general path does the instruction */
#define EMUL_FAST_NONE	(-1000)

/* What emul_check_rc() makes of a callback's result other than VMX_EMUL_CONTINUE. */
static __always_inline int emul_callback_rc(int rc)
{
	return rc == VMX_EMUL_PROPAGATE_FAULT || rc == VMX_EMUL_IO_NEEDED ? rc : VMX_EMUL_UNHANDLEABLE;
}

/* @lin is canonical for the core's paging (emul_lin() in IA-32e mode). */
static __always_inline bool emul_canonical(const struct cpu *c, u64 lin)
{
	int bits = (c->s.cr4 & CPU_CR4_LA57) ? 57 : 48;

	return (u64)((s64)(lin << (64 - bits)) >> (64 - bits)) == lin;
}

/*
 * The usual MMIO exit's instruction, a MOV to memory (EMUL_CLS_STORE) in
 * 64-bit mode, after emul_load_regs() on a clean core
 * (emul_regs_suffice()), without the general path's setjmp: RIP is
 * canonical and the 15 bytes after it are in its page (so the fetch to
 * the page end fetches them, and nothing more could be fetched), the
 * decode is in the cache and the store's address is canonical; of what
 * can fail then, the two callbacks, the result is checked instead of
 * leaving by longjmp (emul_check_rc()).  The steps are the general
 * path's (emul_fetch_decode(), emul_mov_store(), the retirement of a
 * store), in its order.  Return: the result; or EMUL_FAST_NONE when the
 * general path must do the instruction, with *@fetched set if the bytes
 * were fetched (and *@pre their decode from the cache, or NULL).
 */
static __always_inline int emul_fast(struct cpu *c, const struct vmx_emul_ops *ops, void *opaque,
				     struct vmx_emul_state *st, struct vmx_emul_insn *in,
				     struct vmx_emul_exception *exc,
				     const struct emul_dcache_entry **pre, bool *fetched)
{
	const struct emul_dcache_entry *d;
	const struct insn *i;
	u64 lin = c->s.rip, wlin, val;
	u8 buf[8];
	int rc, sz, size;

	if (!emul_canonical(c, lin) || (lin & 0xfff) > 4096 - 15)
		return EMUL_FAST_NONE;
	rc = ops->fetch(opaque, lin, in->bytes, 15, exc);
	if (rc != VMX_EMUL_CONTINUE)
		return emul_callback_rc(rc);
	in->fetched = 15;
	*fetched = true;
	*pre = d = emul_dcache_hit15(c, lin, in);
	if (!d || !(d->cls & EMUL_CLS_STORE))
		return EMUL_FAST_NONE;
	i = &d->insn;
	sz = EMUL_CLS_STORE_SZ(d->cls);
	size = 1 << sz;
	wlin = ea_lin(c, i, size, ACC_W);
	if (!emul_canonical(c, wlin))
		return EMUL_FAST_NONE;	/* #GP(0): raised by the general path */
	emul_report_decode(in, d, c->mode);
	val = (d->cls & EMUL_CLS_STORE_IMM) ? (u64)i->imm : reg_read(c, i_reg(i, sz), sz);
	memcpy(buf, &val, sizeof(buf));	/* st(): the first @size bytes, little-endian */
	rc = ops->write_emulated(opaque, wlin, buf, (unsigned)size, exc);
	if (rc != VMX_EMUL_CONTINUE)
		return emul_callback_rc(rc);
	/* retired: it changed no register but RIP; a shadow it started in is over */
	c->s.rip += i->len;
	c->s.interruptibility = 0;
	st->rip = c->s.rip;
	st->rflags = c->s.rflags;	/* as loaded */
	st->interruptibility &= ~(u32)(CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
	st->written = 0;
	return VMX_EMUL_CONTINUE;
}

/* vmx_op_emulate()'s steps before the general path, for vmx_op_emulate_slow() */
#define EMUL_PRE_LOADED		BIT(0)	/* emul_regs_suffice(): the registers are loaded */
#define EMUL_PRE_FETCHED	BIT(1)	/* emul_fast() fetched the bytes (and looked up @pre) */

/*
 * The general path: everything vmx_op_emulate() did not finish in
 * emul_fast().  @pre_flags says what it did already (EMUL_PRE_*); 0: nothing,
 * not even the core's look-up or the clearing of @exc.  Its own function,
 * so that the setjmp's frame (every argument and volatile on the stack) is
 * not built for the usual MOV store.
 */
static __attribute__((noinline)) int
vmx_op_emulate_slow(const struct vmx_emul_ops *ops, void *opaque, struct vmx_emul_state *st,
		    struct vmx_emul_insn *in, unsigned int flags, struct vmx_emul_exception *exc,
		    unsigned int pre_flags, const struct emul_dcache_entry *pre)
{
	struct cpu *core = emul_get_core();
	struct emul *e;
	struct cpu *volatile c;
	struct insn insn;
	const struct insn *ip;
	volatile u32 shadow;
	/* the instruction is a 64-bit data instruction: it changes GPRs, RIP, RFLAGS only */
	volatile bool data_only;
	volatile bool fpu;
	void *volatile fpu_img;
	bool full = false, fetched = pre_flags & EMUL_PRE_FETCHED;
	u8 cls;
	int r;

	if (!core)
		return VMX_EMUL_UNHANDLEABLE;
	/* the callbacks' context: per thread, as the scratch core (it must survive the longjmp) */
	e = &emul_thread_of(core)->e;
	if (!pre_flags)
		memset(exc, 0, sizeof(*exc));
	/*
	 * Fetch and decode read only RIP and what the derived mode is made of
	 * (cpu_decode(), CS for the fetch): a call that only decodes does not
	 * load the rest when the core's mode is @st's already; nor does one
	 * whose instruction turns out to be a 64-bit data instruction, when
	 * the core's state is clean (emul_regs_suffice()).
	 */
	if (pre_flags & EMUL_PRE_LOADED) {
		/* vmx_op_emulate() loaded the registers and reset the core */
	} else if (emul_regs_suffice(core, st)) {
		emul_load_regs(core, st);
		emul_reset(core);
	} else if ((flags & VMX_EMUL_DECODE_ONLY) && emul_same_mode(core, st)) {
		core->s.rip = st->rip;
		emul_reset(core);
	} else {
		emul_load(core, st);
		full = true;
		emul_reset(core);
	}
	/* what the setjmp below must find as it left it */
	c = core;
	data_only = false;
	fpu = false;
	fpu_img = NULL;
	e->ops = ops;
	e->opaque = opaque;
	e->exc = exc;
	e->rc = 0;
	e->rmw_valid = false;
	e->max_iter = in->max_iter;
	c->emul = e;
	cpu_emulating = true;
	shadow = c->s.interruptibility;
	r = setjmp(c->jb);
	if (r) {
		int rc;

		cpu_emulating = false;
		c->emul = NULL;
		switch (r) {
		case 1:		/* a fault of the core (or of decoding) */
			emul_thread_of(c)->mode_valid = false;
			emul_exception(c, exc);
			return VMX_EMUL_PROPAGATE_FAULT;
		case 3:		/* INT n delivered through the IDT: the instruction is complete */
			break;
		case EMUL_JMP_CALLBACK:
			/*
			 * Note, the derived mode stays valid: only cpu_update_mode()
			 * and cpu_ac_changed() write it, and a handler that changed
			 * one of their inputs before the callback left it also
			 * changed the state the next emul_same_mode() compares.
			 */
			rc = e->rc;
			return rc;
		default:	/* shutdown (a fault while delivering #DF) */
			emul_thread_of(c)->mode_valid = false;
			return VMX_EMUL_UNHANDLEABLE;
		}
		goto retired;
	}
	ip = emul_fetch_decode(c, in, &insn, &cls, fetched, pre);
	if ((flags & VMX_EMUL_DECODE_ONLY) || ((flags & VMX_EMUL_STRING_DECODE_ONLY) && in->string)) {
		cpu_emulating = false;
		c->emul = NULL;
		return (flags & VMX_EMUL_DECODE_ONLY) ? VMX_EMUL_CONTINUE : VMX_EMUL_DECODED;
	}
	if (cls & EMUL_CLS_REFUSED) {
		cpu_emulating = false;
		c->emul = NULL;
		return VMX_EMUL_UNHANDLEABLE;
	}
	if ((st->absent & VMX_EMUL_ABSENT_SEGS) && !(cls & EMUL_CLS_NO_SEGS)) {
		cpu_emulating = false;
		c->emul = NULL;
		return VMX_EMUL_NEED_STATE;	/* nothing ran: the core is still st's */
	}
	if (cls & EMUL_CLS_STORE) {
		/* a MOV to memory (EMUL_CLS_NO_SEGS): it changes no register but RIP */
		emul_mov_store(c, ip, cls);
		cpu_emulating = false;
		c->emul = NULL;
		c->s.rip += ip->len;
		c->s.interruptibility &= ~shadow;
		st->rip = c->s.rip;
		st->rflags = c->s.rflags;	/* as loaded: lf_op is LF_NONE */
		st->interruptibility &= ~(u32)(CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
		st->written = 0;
		return VMX_EMUL_CONTINUE;
	}
	if (cls & EMUL_CLS_NO_SEGS) {
		data_only = true;
	} else {
		/*
		 * Note, the mode the instruction was decoded in stays: the
		 * registers loaded had the derived mode's inputs of @st.
		 */
		if (!full)
			emul_load(c, st);
		emul_thread_of(c)->clean = false;
		if (cls & EMUL_CLS_FPU) {
			fpu_img = ops->get_fpu ? ops->get_fpu(opaque) : st->fpu;
			fpu = true;
			if (fpu_img)
				fpu_load_image(c, fpu_img);	/* an XSAVE image (vmx_op_fpu_restore()) */
			else
				memset(&c->s.fpu, 0, sizeof(c->s.fpu));
		}
	}
	ip->fn(c, ip);
	c->s.rip += ip->len;
	cpu_emulating = false;
	c->emul = NULL;
retired:
	c->s.rflags = cpu_get_flags(c);
	c->lf_op = LF_NONE;
	/* the instruction retired: a shadow it started in is over (it may have set a new one) */
	c->s.interruptibility &= ~shadow;
	if (data_only) {
		/* nothing but these can have changed (EMUL_CLS_NO_SEGS) */
		memcpy(st->gprs ? st->gprs : st->regs, c->s.gpr, sizeof(st->regs));
		st->rip = c->s.rip;
		st->rflags = c->s.rflags;
		st->interruptibility &= ~(u32)(CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
		st->written = 0;
		return VMX_EMUL_CONTINUE;
	}
	if (emul_state_escaped(&c->s, st))
		return VMX_EMUL_UNHANDLEABLE;
	if (fpu && !fpu_img) {
		static const struct cpu_fpu zero_fpu;

		if (memcmp(&zero_fpu, &c->s.fpu, sizeof(c->s.fpu)))
			return VMX_EMUL_UNHANDLEABLE;
	}
	memcpy(st->gprs ? st->gprs : st->regs, c->s.gpr, sizeof(st->regs));
	st->rip = c->s.rip;
	st->rflags = c->s.rflags;
	/* ES and SS..GS (CS did not change: emul_state_escaped()) */
	st->written = 0;
	if (memcmp(&st->seg[VMX_EMUL_ES], &c->s.seg[CPU_SEG_ES], sizeof(st->seg[0])) ||
	    memcmp(&st->seg[VMX_EMUL_SS], &c->s.seg[CPU_SEG_SS], 4 * sizeof(st->seg[0]))) {
		memcpy(&st->seg[VMX_EMUL_ES], &c->s.seg[CPU_SEG_ES], sizeof(st->seg[0]));
		memcpy(&st->seg[VMX_EMUL_SS], &c->s.seg[CPU_SEG_SS], 4 * sizeof(st->seg[0]));
		st->written = VMX_EMUL_WROTE_SEGS;
	}
	st->interruptibility = (st->interruptibility & ~(u32)(CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING)) |
			       (c->s.interruptibility & (CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING));
	if (fpu && fpu_img) {
		struct cpu_fpu img;

		fpu_save_image(c, &img);
		if (memcmp(fpu_img, &img, sizeof(img)))
			memcpy(fpu_img, &img, sizeof(img));
	}
	return VMX_EMUL_CONTINUE;
}

/*
 * The usual case without the general path's frame: a clean core whose
 * registers suffice (emul_regs_suffice()) and a MOV store emul_fast() does.
 * Anything else goes on in vmx_op_emulate_slow() from where this stopped.
 */
int vmx_op_emulate(const struct vmx_emul_ops *ops, void *opaque, struct vmx_emul_state *st,
		   struct vmx_emul_insn *in, unsigned int flags, struct vmx_emul_exception *exc)
{
	struct emul_thread *t = emul_self;
	struct cpu *core = t ? &t->core : NULL;
	const struct emul_dcache_entry *pre = NULL;
	bool fetched = false;
	int r;

	if (unlikely(!core) || !emul_regs_suffice(core, st))
		return vmx_op_emulate_slow(ops, opaque, st, in, flags, exc, 0, NULL);
	memset(exc, 0, sizeof(*exc));
	emul_load_regs(core, st);
	emul_reset(core);
	if ((flags & VMX_EMUL_DECODE_ONLY) || in->len)
		return vmx_op_emulate_slow(ops, opaque, st, in, flags, exc, EMUL_PRE_LOADED, NULL);
	r = emul_fast(core, ops, opaque, st, in, exc, &pre, &fetched);
	if (r != EMUL_FAST_NONE)
		return r;
	return vmx_op_emulate_slow(ops, opaque, st, in, flags, exc,
				   EMUL_PRE_LOADED | (fetched ? EMUL_PRE_FETCHED : 0), pre);
}

void vmx_op_code_written(const void *host, u64 len)
{
	cpu_code_written(host, len);
}
