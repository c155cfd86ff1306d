/* SPDX-License-Identifier: MIT */
/*
 * emulate.h: the processor's instruction-emulation assist, for a VMM's
 * instruction emulator (KVM's x86_emulate_insn(), src/x86/emulate.c).
 * KVM includes this only through src/x86/vmx/vmx_ops.h.
 *
 * The VMM hands the processor a guest's architectural state (&struct
 * vmx_emul_state, the registers KVM keeps in vcpu->arch) and a table of
 * callbacks shaped like KVM's struct x86_emulate_ops; vmx_op_emulate()
 * executes ONE instruction of that guest (one iteration of a REP string
 * instruction, or the run of REP INS iterations the VMM has data for) with
 * the execution core's own semantics (ops_*.c: there is
 * no second copy of x86 semantics).  Segmentation, operand sizes, flags
 * and exceptions are the core's; everything that leaves the core goes to
 * the callbacks:
 *  - instruction fetch: ops->fetch (linear address);
 *  - the instruction's data accesses: ops->read_emulated/write_emulated
 *    (linear addresses: the VMM translates them with its own walker of the
 *    guest page tables and decides RAM or MMIO);
 *  - implicit supervisor accesses (descriptor tables, IDT, TSS): ops->
 *    read_std/write_std with @system set;
 *  - port I/O: ops->pio_in/pio_out.
 *
 * A callback returns VMX_EMUL_CONTINUE, VMX_EMUL_PROPAGATE_FAULT (with the
 * exception filled: #PF with error code and address, #GP) or
 * VMX_EMUL_IO_NEEDED (the data is not there yet: an MMIO read or IN that
 * userspace must complete).  The latter two leave the instruction at once:
 * the state passed in is untouched (no register, flag or RIP change), so
 * the VMM can re-execute the instruction later with the data cached
 * (KVM's mmio_read_completed / read cache).  Writes already passed to
 * write_emulated/pio_out by an instruction that is then left this way are
 * issued again when it is re-executed; every instruction of this
 * processor reads all it needs from the bus before it writes, except
 * read-after-write forms on the stack (ENTER, far CALL), which are not
 * MMIO-relevant.
 *
 * The core runs here as in root operation with the guest's state: VMX
 * controls do not apply.  Instructions whose effect is outside the state
 * below (CPUID, MSRs, TSC, VMX, SWAPGS, RDRAND...) or that change anything
 * but GPRs, RIP, RFLAGS, ES/SS/DS/FS/GS, the interrupt shadow and the
 * x87/SSE state (CS, LDTR/TR, descriptor tables, control registers,
 * HLT...) are refused with
 * VMX_EMUL_UNHANDLEABLE, again with no effect on the state.
 *
 * FIXME: LOCKed read-modify-writes are done as a read and a write (no
 * cmpxchg callback); TF single-step traps are the VMM's (KVM raises them).
 */
#ifndef SILICON_EMULATE_H
#define SILICON_EMULATE_H

#include "util/types.h"

/* Returns of the callbacks and of vmx_op_emulate() (the values of KVM's X86EMUL_*). */
enum vmx_emul_rc {
	VMX_EMUL_CONTINUE = 0,
	VMX_EMUL_UNHANDLEABLE = 1,
	VMX_EMUL_PROPAGATE_FAULT = 2,
	VMX_EMUL_IO_NEEDED = 5,
	/*
	 * pio_in only: the data is there and it is the last the VMM has
	 * ready: a REP INS ends its run of iterations after this one.
	 */
	VMX_EMUL_CONTINUE_LAST = 64,
	/*
	 * vmx_op_emulate() only: the instruction needs state that @st says
	 * is absent (&vmx_emul_state.absent); nothing was done: the VMM
	 * fills it in and calls again.
	 */
	VMX_EMUL_NEED_STATE = 65,
	/*
	 * vmx_op_emulate() with VMX_EMUL_STRING_DECODE_ONLY: the instruction
	 * is a string instruction, fetched and decoded (@insn filled) but not
	 * executed; the state is untouched.
	 */
	VMX_EMUL_DECODED = 66,
};

/** struct vmx_emul_exception - an exception the instruction raises */
struct vmx_emul_exception {
	u8 vector;
	bool error_code_valid;
	u32 error_code;
	u64 address;		/* #PF: the faulting linear address (CR2) */
};

/* Segment registers of &struct vmx_emul_state: ES..GS in encoding order. */
enum {
	VMX_EMUL_ES, VMX_EMUL_CS, VMX_EMUL_SS, VMX_EMUL_DS, VMX_EMUL_FS, VMX_EMUL_GS,
	VMX_EMUL_LDTR, VMX_EMUL_TR, VMX_EMUL_NR_SEGS
};

/** struct vmx_emul_seg - a segment register, access rights in VMCS format */
struct vmx_emul_seg {
	u64 base;
	u32 limit;
	u32 ar;
	u16 selector;
};

/**
 * struct vmx_emul_state - the guest state an instruction executes on
 * @regs: RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15
 * @gprs: if set, the 16 GPRs are there instead of in @regs: the VMM's own
 *	array (KVM's vcpu->arch.regs), read, and written only when the
 *	instruction retires, as @regs would be
 * @interruptibility: STI / MOV SS blocking, VMCS format (bits 0, 1)
 * @fpu: the x87/SSE/AVX registers, VMX_FPU_STATE_SIZE bytes in the XSAVE
 *	layout (vmx_api.h), read and, when the instruction changes them,
 *	written back; NULL for a guest whose FPU state is all initial
 *	(instructions that would change it are then refused); only read
 *	for instructions that use that state, and not if ops->get_fpu is set
 * @absent: VMX_EMUL_ABSENT_* of what the VMM did not fill in (0: all there)
 * @written: out, when an instruction retired: VMX_EMUL_WROTE_* of the
 *	state it changed besides GPRs, RIP, RFLAGS and the shadow (0: none),
 *	so that the VMM need not compare the rest to write it back
 */
struct vmx_emul_state {
	u64 regs[16];
	u64 *gprs;
	u64 rip, rflags;
	struct vmx_emul_seg seg[VMX_EMUL_NR_SEGS];
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	u64 cr0, cr2, cr3, cr4, cr8, efer, xcr0;
	u32 interruptibility;
	void *fpu;
	u32 absent;
	u32 written;
};

/* &vmx_emul_state.written: ES, SS, DS, FS or GS was loaded with another value */
#define VMX_EMUL_WROTE_SEGS	BIT(0)

/*
 * Of the segment registers only the access rights of CS and SS (mode,
 * CPL) are filled in, not the rest of them, ES, DS, FS, GS, LDTR, TR,
 * GDTR and IDTR, nor CR2, CR3, CR8 and XCR0: allowed in 64-bit mode
 * (EFER.LMA and CS.L), where an ordinary data instruction (MOV, ALU,
 * string and stack forms, and the like) whose memory operand is not FS-
 * or GS-relative reads none of them (SDM 3.4.2.1: the bases of CS/DS/ES/SS
 * are 0, no limit checks; RIP is the linear address of the code; its
 * translation is the VMM's, and it touches no x87/SSE state, no CR8, no
 * CR2); any other instruction, or any other
 * mode, gets VMX_EMUL_NEED_STATE.  The VMM reads the registers lazily, as
 * KVM's segment cache does.
 */
#define VMX_EMUL_ABSENT_SEGS	BIT(0)

/*
 * struct vmx_emul_ops - the VMM's side, as KVM's struct x86_emulate_ops.
 * @opaque is vmx_op_emulate()'s.  Accesses are at most 8 bytes, except
 * fetch (up to 15) and the x87/SSE forms (up to 16 per call).  A page
 * crossing is the callee's to split.
 */
struct vmx_emul_ops {
	int (*fetch)(void *opaque, u64 la, void *val, unsigned int bytes,
		     struct vmx_emul_exception *e);
	int (*read_std)(void *opaque, u64 la, void *val, unsigned int bytes,
			struct vmx_emul_exception *e, bool system);
	int (*write_std)(void *opaque, u64 la, const void *val, unsigned int bytes,
			 struct vmx_emul_exception *e, bool system);
	int (*read_emulated)(void *opaque, u64 la, void *val, unsigned int bytes,
			     struct vmx_emul_exception *e);
	int (*write_emulated)(void *opaque, u64 la, const void *val, unsigned int bytes,
			      struct vmx_emul_exception *e);
	/* IN / OUT of one element of @size bytes (INS/OUTS: one per iteration). */
	int (*pio_in)(void *opaque, int size, u16 port, void *val);
	int (*pio_out)(void *opaque, int size, u16 port, const void *val);
	/*
	 * Optional: the x87/SSE image (as &vmx_emul_state.fpu), asked for
	 * only by an instruction that uses that state (KVM's
	 * emulator_get_fpu()), which may then write it; NULL: all initial.
	 * Without this op, &vmx_emul_state.fpu is used.
	 */
	void *(*get_fpu)(void *opaque);
};

/**
 * struct vmx_emul_insn - the instruction, as decoded
 * @bytes, @len: in: the instruction's bytes if already fetched (@len > 0,
 *	KVM's EMULTYPE_NO_DECODE re-execution), else @len = 0 and they are
 *	fetched at CS:RIP; out: the bytes and the length
 * @fetched: the bytes fetched (to the page end, up to 15: KVM's fetch cache)
 * @map, @opcode: opcode map (0: one byte, 1: 0F, 2: 0F38, 3: 0F3A), opcode
 * @modrm: the ModRM byte, if any
 * @rep: 0, 0xf3 (REP/REPE) or 0xf2 (REPNE)
 * @op_bytes, @ad_bytes: operand and address size in bytes
 * @string: MOVS, CMPS, STOS, LODS, SCAS, INS or OUTS
 * @mem: has a memory operand (ModRM or moffs)
 * @max_iter: in: the iterations of a REP INS this call may run (0: one,
 *	as for every other REP instruction); the run also ends at a pio_in
 *	that returns VMX_EMUL_CONTINUE_LAST (KVM's read-ahead batch)
 * @decoded, @decoded_mode, @decoded_cls, @decoded_insn: the processor's own decode of
 *	@bytes (private to it), kept so that executing an instruction
 *	decoded before does not decode it again; ignored if the mode changed
 *
 * For a new instruction the VMM clears the structure, or at least what the
 * assist reads of it: @len, @fetched, @decoded and @max_iter.
 */
struct vmx_emul_insn {
	u8 bytes[15];
	u8 len;
	u8 fetched;
	u8 map, opcode, modrm;
	u8 rep;
	u8 op_bytes, ad_bytes;
	bool string, mem;
	u32 max_iter;
	bool decoded;
	u8 decoded_cls;
	u32 decoded_mode;
	u64 decoded_insn[6];
};

/* vmx_op_emulate() flags */
#define VMX_EMUL_DECODE_ONLY	BIT(0)	/* fetch and decode, do not execute */
/*
 * Fetch, decode and execute, except a string instruction, which is only
 * decoded (VMX_EMUL_DECODED): for a VMM that sets its REP handling up from
 * the decode (KVM's REP INS read-ahead) and decodes and executes any other
 * instruction in one call.
 */
#define VMX_EMUL_STRING_DECODE_ONLY	BIT(1)

/**
 * vmx_op_emulate() - execute one instruction of a guest (see above)
 * @ops, @opaque: the VMM's callbacks
 * @st: the state; updated only when the instruction retires (GPRs, RIP,
 *	RFLAGS, ES/SS/DS/FS/GS, interruptibility, *fpu) (or a REP
 *	iteration completes: RIP then stays on the instruction while its
 *	count is not exhausted)
 * @insn: the instruction bytes in/out (see &struct vmx_emul_insn)
 * @e: the exception, for VMX_EMUL_PROPAGATE_FAULT
 *
 * Return: VMX_EMUL_CONTINUE (executed, @st updated), VMX_EMUL_PROPAGATE_FAULT
 * (*@e: a fault of the instruction or of a callback; @st untouched),
 * VMX_EMUL_IO_NEEDED (a callback needs userspace; @st untouched),
 * VMX_EMUL_UNHANDLEABLE (not an instruction this assist executes),
 * VMX_EMUL_NEED_STATE or VMX_EMUL_DECODED (@insn decoded, nothing
 * executed; see above).  Callable from any thread, bound to a logical processor or not.
 */
int vmx_op_emulate(const struct vmx_emul_ops *ops, void *opaque, struct vmx_emul_state *st,
		   struct vmx_emul_insn *insn, unsigned int flags, struct vmx_emul_exception *e);

/*
 * vmx_op_code_written() - host memory of guest RAM at @host was written by
 * the VMM (an emulated store): drop decoded instructions from it, as the
 * processor snoops its own stores.
 */
void vmx_op_code_written(const void *host, u64 len);

#endif
