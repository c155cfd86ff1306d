/* SPDX-License-Identifier: MIT */
/*
 * arch/x86/kvm/kvm_emulate.h: the instruction emulator's context, its ops
 * (implemented by x86.c) and its results.
 *
 * Unlike KVM's emulate.c, this one has no opcode tables: x86_decode_insn()
 * and x86_emulate_insn() hand the instruction to the processor's emulation
 * assist (vmx_op_emulate(), silicon/emulate.h), which executes it with the
 * processor's own semantics and calls back here for every memory, port and
 * translation step.  What KVM's emulate.c adds on top of the instruction
 * semantics lives here as in KVM: the MMIO read cache that lets an
 * instruction be re-executed once userspace has supplied the data
 * (mem_read), the port-input read-ahead of REP INS (io_read) and the
 * restart policy of REP string instructions.
 */
#ifndef USERKVM_X86_KVM_EMULATE_H
#define USERKVM_X86_KVM_EMULATE_H

#include "util/types.h"
#include "x86/mmu/paging.h"	/* struct x86_exception */
#include "x86/vmx/vmx_ops.h"	/* the processor's emulation assist */
#include "x86/mmio_assist.h"

struct x86_emulate_ctxt;

/* Results of the ops and of the emulator's steps (KVM's values). */
#define X86EMUL_CONTINUE	0
#define X86EMUL_UNHANDLEABLE	1
#define X86EMUL_PROPAGATE_FAULT	2	/* propagate a generated fault to the guest */
#define X86EMUL_RETRY_INSTR	3	/* retry the instruction for some reason */
#define X86EMUL_CMPXCHG_FAILED	4
#define X86EMUL_IO_NEEDED	5	/* IO is needed to complete emulation */
#define X86EMUL_INTERCEPTED	6

/* x86_decode_insn() / x86_emulate_insn() results */
#define EMULATION_FAILED	-1
#define EMULATION_OK		0
#define EMULATION_RESTART	1
#define EMULATION_INTERCEPTED	2

/* emulation_type of x86_emulate_instruction() (a subset of KVM's EMULTYPE_*) */
#define EMULTYPE_NO_DECODE	(1 << 0)
#define EMULTYPE_PF		(1 << 6)

/*
 * struct x86_emulate_ops - what the emulator needs of the vCPU; addresses
 * are guest-linear (x86.c translates them with kvm_walk_gva()).
 */
struct x86_emulate_ops {
	int (*read_std)(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
			unsigned int bytes, struct x86_exception *fault, bool system);
	int (*write_std)(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
			 unsigned int bytes, struct x86_exception *fault, bool system);
	int (*fetch)(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
		     unsigned int bytes, struct x86_exception *fault);
	int (*read_emulated)(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
			     unsigned int bytes, struct x86_exception *fault);
	int (*write_emulated)(struct x86_emulate_ctxt *ctxt, unsigned long addr,
			      const void *val, unsigned int bytes, struct x86_exception *fault);
	/* Return: 1 with the data, 0 when userspace must do the I/O (the exit is set up). */
	int (*pio_in_emulated)(struct x86_emulate_ctxt *ctxt, int size, unsigned short port,
			       void *val, unsigned int count);
	int (*pio_out_emulated)(struct x86_emulate_ctxt *ctxt, int size, unsigned short port,
				const void *val, unsigned int count);
	/*
	 * The guest's x87/SSE registers, for the instructions that use them
	 * (KVM's emulator_get_fpu()); the emulator may change them.
	 */
	void *(*get_fpu)(struct x86_emulate_ctxt *ctxt);
	/*
	 * Fill in the registers ctxt->state leaves absent (init_emulate_ctxt()
	 * passes only CS and SS in 64-bit mode; VMX_EMUL_ABSENT_SEGS), for an
	 * instruction that reads more: KVM's emulator reads segments through
	 * ops->get_segment(), lazily, as this does.
	 */
	void (*get_segments)(struct x86_emulate_ctxt *ctxt);
};

struct read_cache {
	u8 data[1024];
	unsigned long pos;
	unsigned long end;
};

enum x86emul_mode {
	X86EMUL_MODE_REAL,	/* real mode */
	X86EMUL_MODE_VM86,	/* virtual 8086 mode */
	X86EMUL_MODE_PROT16,	/* 16-bit protected mode */
	X86EMUL_MODE_PROT32,	/* 32-bit protected mode */
	X86EMUL_MODE_PROT64,	/* 64-bit (long) mode */
};

/* An MMIO access that userspace completes, up to 8 bytes per exit (KVM's). */
struct kvm_mmio_fragment {
	u64 gpa;
	void *data;
	unsigned int len;
};
#define KVM_MAX_MMIO_FRAGMENTS	2

/* A port access that userspace completes (vcpu->arch.pio in KVM). */
struct kvm_pio_request {
	unsigned long linear_rip;
	unsigned long count;
	int in;
	int port;
	int size;
};

/**
 * struct x86_emulate_ctxt - one vCPU's emulator
 * @state: the register file the instruction runs on: loaded from
 *	vcpu->arch, written back when the instruction (or a REP iteration)
 *	retires (KVM's _regs[], eip, eflags); the GPRs are vcpu->arch.regs
 *	itself (state.gprs), which the assist writes only at retirement
 * @insn: the instruction's bytes and decode (x86_decode_insn())
 * @eip: RIP of the instruction; @_eip: RIP after it
 * @mem_read: the data of the instruction's reads, in order, kept across a
 *	re-execution (EMULTYPE_NO_DECODE) so that an MMIO read completed by
 *	userspace is not repeated
 * @io_read: REP INS read-ahead
 */
struct x86_emulate_ctxt {
	void *vcpu;
	const struct x86_emulate_ops *ops;
	enum x86emul_mode mode;
	unsigned long eflags;
	unsigned long eip;
	unsigned long _eip;
	bool have_exception;
	struct x86_exception exception;
	bool gpa_available;
	u64 gpa_val;

	struct vmx_emul_state state;
	struct vmx_emul_insn insn;
	u8 rep_prefix;
	u8 op_bytes, ad_bytes;
	u8 b;			/* opcode */
	/*
	 * x86_decode_insn() executed the instruction as well (the assist's
	 * result, for x86_emulate_insn() to report), or found it needs the
	 * segment registers (VMX_EMUL_NEED_STATE) before it runs.
	 */
	bool executed, need_state;
	int exec_rc;
	struct vmx_emul_exception exec_exc;

	struct read_cache io_read;
	struct read_cache mem_read;
	/* the last instruction fetch's walk of the guest page tables */
	struct kvm_walk_cache fetch_walk;
	/*
	 * REP INS with DF=0 writes what the read-ahead gave in one access of
	 * count * size bytes (KVM's OP_MEM_STR): the iterations' stores are
	 * gathered here and written when the run of iterations is over.
	 */
	bool str_batch;
	unsigned long str_addr;
	unsigned int str_len;
	u8 str_data[1024];

	/*
	 * The MMIO and PIO requests in flight (KVM keeps them in struct
	 * kvm_vcpu and vcpu->arch): set by the ops, turned into KVM_EXIT_MMIO /
	 * KVM_EXIT_IO, completed by complete_emulated_mmio/pio().
	 */
	int mmio_needed;
	int mmio_read_completed;
	int mmio_is_write;
	int mmio_cur_fragment;
	int mmio_nr_fragments;
	/*
	 * The MMIO read in flight is a load the vendor's decode assist
	 * reported (.bytes 0 if not): complete_emulated_mmio() writes its
	 * register, without the emulator (x86.c: kvm_mmio_read_assisted()).
	 */
	struct kvm_mmio_assist mmio_load_assist;
	struct kvm_mmio_fragment mmio_fragments[KVM_MAX_MMIO_FRAGMENTS];
	u8 mmio_write_data[1024];	/* a write's bytes, for its fragments */
	struct kvm_pio_request pio;
};

/* The GPRs the instruction runs on: the vCPU's own (state.gprs) or state.regs. */
static inline u64 *emul_gprs(struct x86_emulate_ctxt *ctxt)
{
	return ctxt->state.gprs ? ctxt->state.gprs : ctxt->state.regs;
}

int x86_decode_insn(struct x86_emulate_ctxt *ctxt, void *insn, int insn_len, int emulation_type);
int __x86_emulate_insn(struct x86_emulate_ctxt *ctxt);

/*
 * x86_emulate_insn() - execute the decoded instruction (emulate.c:
 * __x86_emulate_insn()); the usual case inline: x86_decode_insn()
 * executed it already and it retired.
 */
static inline int x86_emulate_insn(struct x86_emulate_ctxt *ctxt)
{
	if (ctxt->executed && ctxt->exec_rc == VMX_EMUL_CONTINUE) {
		ctxt->executed = false;
		ctxt->str_len = 0;
		ctxt->eip = ctxt->state.rip;
		ctxt->eflags = ctxt->state.rflags;
		return EMULATION_OK;
	}
	return __x86_emulate_insn(ctxt);
}
/* Reset the per-instruction caches (KVM's init_decode_cache()). */
void init_decode_cache(struct x86_emulate_ctxt *ctxt);

#endif
