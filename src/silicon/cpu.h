/* SPDX-License-Identifier: MIT */
/*
 * cpu.h: the processor's internals, shared by the files of src/silicon
 * (and by the VMX engineer's vmcs/vmentry/vmexit/ept code).  Owners outside
 * src/silicon use silicon.h only.
 *
 * Execution model (see cpu.c): instructions are decoded once into blocks of
 * &struct insn (decode.c) cached per guest-physical address (icache.c);
 * a block runs by calling each insn's handler (optable.c dispatch, chosen
 * at decode time).  During a handler cpu->s.rip is the address of the
 * instruction's first byte; the run loop adds insn->len afterwards, so a
 * branch sets rip = target - len (set_rip()).  Faults longjmp back to
 * cpu_run(), which delivers them (except.c).
 */
#ifndef USERKVM_SILICON_CPU_H
#define USERKVM_SILICON_CPU_H

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "silicon/fiber.h"
#include "silicon/silicon.h"

struct cpu;
struct insn;
typedef void (*insn_fn)(struct cpu *c, const struct insn *i);

/* Operand sizes: log2 of the byte count */
enum { SZ8, SZ16, SZ32, SZ64 };

#define REG_NONE 16

/* struct insn flags */
#define IF_MEM		BIT(0)	/* r/m is memory */
#define IF_LOCK		BIT(1)
#define IF_REP		BIT(2)	/* F3 */
#define IF_REPNE	BIT(3)	/* F2 */
#define IF_RIPREL	BIT(4)
#define IF_REX		BIT(5)
#define IF_REXW		BIT(6)
#define IF_OSZ_PFX	BIT(7)	/* 66 seen */
#define IF_TERM		BIT(8)	/* ends its block */
#define IF_FDEAD	BIT(9)	/* its flag results are overwritten before any use */
#define IF_LOOP		BIT(10)	/* first of a fused pair whose Jcc targets its block's start (64-bit) */
/*
 * May exit in place (IN, OUT, HLT, CPUID: cpu_exit_prepare_park()): not
 * the last of its block's dispatch, it ends a segment of the block's pass
 * (struct block), where the run parks the exit and then goes on.
 */
#define IF_SEG		BIT(11)

/**
 * struct insn - one decoded instruction
 *
 * Registers are numbered 0-15; an 8-bit register operand is also given as
 * a byte offset into cpu->s.gpr (regb, rmb) so AH-BH need no test at run
 * time.  Immediates are sign-extended to 64 bits.
 */
struct insn {
	insn_fn fn;
	s32 disp;
	u8 len;
	u8 osz;		/* SZ* operand size */
	u8 asz;		/* SZ16/SZ32/SZ64 address size */
	u8 seg;		/* effective segment for memory operands */
	u8 reg;		/* ModRM.reg (with REX.R) or the register of +r opcodes */
	u8 rm;		/* ModRM.rm register (with REX.B) when !IF_MEM */
	u8 base;	/* REG_NONE if none */
	u8 index;	/* REG_NONE if none */
	u8 scale;
	u8 op;		/* opcode byte */
	u8 map;		/* 0: one-byte, 1: 0F, 2: 0F38, 3: 0F3A */
	u8 regb;	/* byte offset of the 8-bit register named by reg */
	union {
		u8 rmb;		/* byte offset of the 8-bit register named by rm */
		/*
		 * IF_SEG, a segment's end (block_set_disp()): the instructions
		 * from it to the next segment's end (it has no register r/m
		 * operand: no opcode or a memory one)
		 */
		u8 seg_next;
	};
	u8 modrm;
	u16 flags;	/* IF_* */
	u16 imm2;	/* second immediate: ENTER level, far selector; for the
			 * per-form memory handlers, a soft-TLB slot (ops.h ea_host()) */
	u16 off;	/* offset from the start of its block */
	u64 imm;
};

/* Access kinds of the soft TLB */
enum { ACC_R, ACC_W, ACC_X, ACC_NKIND };
/* Extra bits passed to the slow path */
#define ACC_IMPLICIT	BIT(4)	/* supervisor access to system tables */
#define ACC_NOFAULT	BIT(5)	/* probe only */

#define TLB_BITS 8
#define TLB_SIZE (1u << TLB_BITS)

/**
 * struct tlb_entry - soft TLB slot: linear page -> host pointer
 * @tag: linear page address (bits 63:12), or 1 (never matches) when empty
 * @addend: host address = linear + addend
 * @gpa: guest-physical page (for the decoded cache)
 */
struct tlb_entry {
	u64 tag;
	uintptr_t addend;
	u64 gpa;
	u64 pad;	/* 32 bytes: a slot's offset is a shift */
};

/**
 * struct phys_xlate - where a guest-physical page lives
 * @host: host pointer of the page, NULL for MMIO (no RAM)
 * @writable: RAM writes allowed (else they go to MMIO)
 */
struct phys_xlate {
	u8 *host;
	bool writable;
};

/*
 * The physical-translation step.  Root operation maps guest-physical
 * through cpu_map_phys()'s table; VMX non-root installs an EPT walker here
 * (ept.c) which may raise an EPT-violation VM exit (longjmp).
 */
typedef void (*cpu_phys_fn)(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out);

enum { XLATE_NONE, XLATE_WALK, XLATE_FINAL };

struct phys_range {
	u64 gpa, size;
	u8 *host;
	u32 flags;
};
#define CPU_MAX_PHYS 32

/* Lazy flag operations (flags.c) */
enum lf_op {
	LF_NONE,	/* rflags holds the arithmetic flags */
	LF_ADD,		/* ADD/ADC: res = s1 + s2 (+ CF) */
	LF_SUB,		/* SUB/SBB/CMP/NEG: res = s1 - s2 (- CF) */
	LF_LOGIC,	/* AND/OR/XOR/TEST: CF = OF = 0 */
	LF_INC,		/* INC: ADD with s2 = 1, CF from lf_cf */
	LF_DEC,		/* DEC: SUB with s2 = 1, CF from lf_cf */
	LF_ADC,		/* ADC: like LF_ADD (kept apart so CMP-style Jcc shortcuts stay exact) */
	LF_SBB,		/* SBB: like LF_SUB */
	LF_SHL,		/* SHL/SAL: s1 = operand, s2 = masked count (non-zero) */
	LF_SHR,		/* SHR */
	LF_SAR,		/* SAR */
};

#define FLAGS_ARITH (CPU_FLAG_CF | CPU_FLAG_PF | CPU_FLAG_AF | CPU_FLAG_ZF | \
		     CPU_FLAG_SF | CPU_FLAG_OF)

/* Requests seen at block boundaries (cpu->req) */
#define REQ_KICK	BIT(0)
#define REQ_NMI		BIT(1)
#define REQ_INTR	BIT(2)	/* INTR line level */
#define REQ_WTLB	BIT(3)	/* drop write TLB entries: a page became code */
#define REQ_STOP	BIT(4)	/* an I/O callback asked to stop */
#define REQ_EVENT	BIT(5)	/* s.event_info holds an event to deliver */
#define REQ_SLOW	BIT(6)	/* look at activity, shadow, NMI state */
/* a code page was written (code_wgen moved): links made before are not followed again */
#define REQ_CODE	BIT(7)

static inline void cpu_req(struct cpu *c, u32 bits);

/* Mode bits (cpu->mode), part of the decoded-block key */
#define MODE_PE		BIT(0)
#define MODE_VM86	BIT(1)
#define MODE_LMA	BIT(2)
#define MODE_CS64	BIT(3)	/* CS.L in IA-32e mode: 64-bit code */
#define MODE_CS32	BIT(4)	/* CS.D: 32-bit default operand/address size */
#define MODE_SS32	BIT(5)	/* SS.B */

struct block;

struct cpu {
	struct cpu_state s;

	/* Lazy arithmetic flags */
	u64 lf_res, lf_s1, lf_s2;
	u8 lf_op, lf_sz, lf_cf;

	/* Derived mode */
	u8 cpl;
	u8 tlb_user;		/* index of the soft TLB set: CPL 3 */
	struct tlb_entry (*tlb_cur)[TLB_SIZE];	/* tlb[tlb_user] */
	u32 mode;
	bool code64;		/* 64-bit mode */
	u64 seg_base[6];	/* bases in effect (0 for ES-SS in 64-bit mode) */
	/* segments with base 0 and a 4 GiB expand-up limit, readable / writable */
	u8 flat_r, flat_w;
	/* DR7 breakpoints enabled: instruction (R/W = 00), data (01, 11); hits so far */
	u8 dbg_exec, dbg_data, dbg_hit;
	/* alignment checking on (CR0.AM, RFLAGS.AC, CPL3): user data bypasses the TLB */
	bool ac_check;

	/* Physical memory */
	struct phys_range phys[CPU_MAX_PHYS];
	int nphys;
	cpu_phys_fn phys_xlate;
	/*
	 * For VMX exits (intercept.c): the linear address translate() is
	 * working on and whether phys_xlate() is reading paging structures
	 * for it (XLATE_WALK) or accessing it (XLATE_FINAL); and CR2 before a
	 * #PF set it, since a #PF that causes a VM exit leaves CR2 alone.
	 * xlate_mmio: the MMIO TLB slot an EPT misconfiguration of the final
	 * access may fill (tlb_note_ept_misconfig()), NULL if not cacheable.
	 */
	u64 xlate_lin;
	u8 xlate_ctx;
	struct tlb_entry *xlate_mmio;
	u64 cr2_before_pf;
	/* Likewise for #DB: DR6 before it, and the bits this #DB reports. */
	u64 dr6_before_db;
	u32 db_bits;
	const struct cpu_io_ops *io;
	void *io_opaque;

	/* Soft TLB, [user][kind] */
	struct tlb_entry tlb[2][ACC_NKIND][TLB_SIZE];
	/* Linear page -> guest-physical page for MMIO pages (no host pointer), [user][R/W] */
	struct tlb_entry mmio_tlb[2][2][16];

	/* Decoded blocks (icache.c) */
	struct block **blk_hash;
	u8 *arena;
	size_t arena_used, arena_size;
	u64 link_epoch;		/* bumped when linear->physical or mode changes */
	u64 icache_gen;		/* bumped when the arena is recycled */
	/*
	 * RIP -> block for transitions the two links miss (returns, indirect
	 * jumps), under the same conditions as a link (QEMU's tb_jmp_cache).
	 */
	struct jmp_cache {
		u64 rip, epoch;
		u32 wgen;
		struct block *b;
	} jc[1024];
	u64 cs_base_seen;
	u32 cs_limit_seen;
	/* s.pdpte[] was loaded for this CR3 (~0: reload at the next PAE walk) */
	u64 pdpte_cr3;
	/* what cpu_state_changed() last saw, to flush the TLB only when needed */
	u64 seen_cr0, seen_cr3, seen_cr4, seen_efer;
	bool tlb_has_large;	/* a large page was cached: INVLPG flushes all */

	/* Run loop */
	union {
		struct {
			u32 req;	/* REQ_*, atomic */
			/*
			 * An exit taken in place at the end of a block
			 * (cpu_exit_prepare_park()): the block loop switches to
			 * the host on @fiber, the processor's stack (fiber.h;
			 * vmx_run.c allocates it), when the handler returns.
			 */
			bool park;
		};
		/* req and park in one word: a block's end tests both at once (cpu.c) */
		u64 req_park;
	};
	u64 icount;
	u64 budget_end;
	/*
	 * budget_end is checked at block ends only (cpu_run_slice()): a block
	 * is never cut short, so slices do not split blocks or break chaining
	 * and the loop fast path; the overshoot is less than one block.
	 */
	bool budget_soft;
	/*
	 * The conditions of an exit taken in place that change only with the
	 * run, in one byte its writers keep (cpu_exit_park_ok() tests it
	 * once): CPU_CONT_RUN_BUDGET, the run's budget is ~0 and soft (run());
	 * CPU_CONT_RUN_CORE, the run is on the processor's stack, so with a
	 * fiber (vmx_run.c: on_core); CPU_CONT_RUN_DBG, a DR7 breakpoint is
	 * enabled (cpu_dr7_changed()).  An exit may be taken in place only
	 * with the byte CPU_CONT_RUN_OK.
	 */
	u8 cont_run;
	/*
	 * Where faults and exits leave a handler for (cpu_jump()): run()'s
	 * __builtin_setjmp() buffer (frame, label, stack: a few instructions
	 * each way, against glibc's setjmp and longjmp, whose longjmp also
	 * runs the thread's cleanup handlers), with the code in jmp_code; jb
	 * is glibc's, for the emulation assist's setjmp (emulate.c), which a
	 * core with emul set jumps to instead.
	 */
	void *run_jb[5];
	int jmp_code;
	jmp_buf jb;
	int fault_vec;		/* exception being raised, -1 none */
	u32 fault_err;
	bool fault_has_err;
	int delivering;		/* vector whose delivery is in progress, -1 none */
	int exit_reason;	/* set with longjmp code 2 */
	const struct block *cur_block;
	const struct insn *run_end;	/* the run loop stops before this insn */
	u64 blk_base;		/* RIP of cur_block's first insn in this run */
	/* The instruction whose handler takes the exit (cpu_exit_now()), or NULL: unknown */
	const struct insn *exit_insn;
	/*
	 * Where the last run left a block by an exit from one of its
	 * instructions (index resume_k, block at resume_base), and the link
	 * conditions then; cpu.c resume() goes on there.  NULL: nowhere.
	 */
	struct block *resume_b;
	u32 resume_k, resume_wgen;
	u64 resume_base, resume_gen, resume_epoch;
	/*
	 * An exit taken in place (cpu_exit_prepare_cont()): the block and the
	 * index of the instruction that exited, the RIP after it, and the
	 * conditions under which its run may go on from the handler.
	 */
	const struct insn *cont_insn;
	u32 cont_wgen;
	u64 cont_rip_next, cont_epoch;

	/*
	 * Set by every writer of the state a VM exit saves from the core
	 * other than RIP, RSP, RFLAGS and the non-register state: segment and
	 * descriptor-table registers, CR0, CR3, CR4, DR7, EFER and the MSRs
	 * (cpu_nv_written()); cleared by the exit's full save of those fields
	 * (vmexit.c), so an exit that finds it clear saves none of them.
	 */
	bool nv_written;

	/* VMX: non-root operation (the VMX engineer's state hangs off vmx) */
	bool vmx_nonroot;
	bool vmx_root;
	void *vmx;
	struct fiber *fiber;	/* for park, above */

	/* MSR file for MSRs without architectural effect (msr.c) */
	u32 msr_idx[32];
	u64 msr_val[32];
	int nmsr;

	struct cpu *next_cpu;	/* registry of all cpus (code-page shootdown) */
	struct block *tmp_block;	/* an uncached one-instruction block */

	/*
	 * The VMM may have written guest memory through its own mapping
	 * (cpu_code_sync(), at each KVM_RUN from user space): vmm_gen counts
	 * those signals, and a block whose vgen differs compares its bytes
	 * with its copy before it runs.  Each signal bumps link_epoch too
	 * (to vmm_epoch), so that every link, jump-cache entry, resume() and
	 * exit taken in place fails its usual test; one made at an epoch in
	 * [vmm_base, vmm_epoch] lost nothing else (no TLB, mode or CS change
	 * since: only signals bumped the epoch) while link_epoch is still
	 * vmm_epoch, and is revalidated out of line by comparing the bytes of
	 * the blocks it reaches (icache.c icache_verify()).
	 */
	u32 vmm_gen;
	u64 vmm_epoch, vmm_base;

	/* The instruction-emulation assist (emulate.c): its accesses, when set */
	struct emul *emul;
};

static inline void cpu_req(struct cpu *c, u32 bits)
{
	__atomic_or_fetch(&c->req, bits, __ATOMIC_SEQ_CST);
}

/* A segment, descriptor-table, control or debug register or an MSR changed (nv_written). */
static __always_inline void cpu_nv_written(struct cpu *c)
{
	c->nv_written = true;
}

/*
 * ThreadSanitizer keeps a shadow call stack that only glibc's longjmp
 * unwinds: under it the run loop uses glibc's setjmp/longjmp too.
 */
#if defined(__SANITIZE_THREAD__)
#define CPU_JB_GLIBC 1
#endif
/*
 * Leave the handler running now for the run loop's setjmp (run() in
 * cpu.c) with @code: 1 fault, 2 exit (exit_reason), 3 restart the loop;
 * an emulating core (emulate.c) goes to its own setjmp with the same codes.
 */
__attribute__((noreturn)) void cpu_jump(struct cpu *c, int code);

/* ---- registers ---- */

static __always_inline u64 sz_mask(int sz)
{
	return sz == SZ64 ? ~0ull : (1ull << (8 << sz)) - 1;
}

static __always_inline u64 sext(u64 v, int sz)
{
	switch (sz) {
	case SZ8: return (u64)(s64)(s8)v;
	case SZ16: return (u64)(s64)(s16)v;
	case SZ32: return (u64)(s64)(s32)v;
	default: return v;
	}
}

static __always_inline u64 reg_read(struct cpu *c, int r, int sz)
{
	switch (sz) {
	case SZ8: return ((u8 *)c->s.gpr)[r];	/* r is a byte offset */
	case SZ16: return (u16)c->s.gpr[r];
	case SZ32: return (u32)c->s.gpr[r];
	default: return c->s.gpr[r];
	}
}

static __always_inline void reg_write(struct cpu *c, int r, int sz, u64 v)
{
	switch (sz) {
	case SZ8: ((u8 *)c->s.gpr)[r] = (u8)v; break;
	case SZ16: memcpy(&c->s.gpr[r], &(u16){ (u16)v }, 2); break;
	case SZ32: c->s.gpr[r] = (u32)v; break;
	default: c->s.gpr[r] = v; break;
	}
}

/* The reg operand: byte offset for 8-bit, register number otherwise */
static __always_inline int i_reg(const struct insn *i, int sz)
{
	return sz == SZ8 ? i->regb : i->reg;
}
static __always_inline int i_rm(const struct insn *i, int sz)
{
	return sz == SZ8 ? i->rmb : i->rm;
}

/* Branch: the run loop adds len after the handler. */
static __always_inline void set_rip(struct cpu *c, const struct insn *i, u64 target)
{
	c->s.rip = target - i->len;
}
static __always_inline u64 next_rip(struct cpu *c, const struct insn *i)
{
	return c->s.rip + i->len;
}

/* ---- faults (except.c) ---- */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11,
	EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
	EXC_MC = 18, EXC_XM = 19, EXC_VE = 20, EXC_CP = 21,
};
__attribute__((noreturn)) void cpu_fault(struct cpu *c, int vec, u32 err);
__attribute__((noreturn)) void cpu_fault_noerr(struct cpu *c, int vec);
#define cpu_ud(c) cpu_fault_noerr(c, EXC_UD)
#define cpu_gp0(c) cpu_fault(c, EXC_GP, 0)
/* Leave the run loop at the current boundary with an exit reason */
__attribute__((noreturn)) void cpu_exit_now(struct cpu *c, int reason);
/*
 * A VM exit taken without leaving the handler (vmx_run.c: the processor's
 * run stays suspended on its own stack while the host runs):
 * cpu_exit_prepare_cont() does what the run's exit does at once (RFLAGS)
 * if the handler runs from a cached block under the soft budget of a VM
 * entry, not stepping, not in an interrupt shadow (false, nothing done,
 * otherwise).  Then either cpu_cont_valid() says the run may go on from
 * the handler (no request pending, the block's code and links unchanged)
 * and cpu_cont_resume() puts the count as resume() would have it, the
 * exiting instruction not retired; or cpu_cont_drop() does the rest of
 * the exit's bookkeeping (count_partial_exit(): the instructions before
 * it, where a new run resumes) and the suspended run is dropped.
 */
void cpu_cont_drop(struct cpu *c);
/* icache.c; hidden: one RIP-relative load, no GOT entry, in the shared libraries too */
extern u32 code_wgen __attribute__((visibility("hidden")));

static __always_inline bool cpu_cont_valid(const struct cpu *c)
{
	/* icache_flush(), which frees the block, bumps link_epoch with icache_gen */
	return !__atomic_load_n(&c->req, __ATOMIC_RELAXED) && c->cont_epoch == c->link_epoch &&
	       c->cont_wgen == __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
}

static __always_inline void cpu_cont_resume(struct cpu *c)
{
	/* the block's pass adds all its instructions, the exiting one included */
	c->icount--;
}
/*
 * Deliver an event through the IVT/IDT (except.c).  @type is
 * CPU_EVENT_*; @next_rip is the return address for software interrupts
 * and traps.  Called from the run loop, or from INT n handlers (which then
 * longjmp to restart at the handler).
 */
void cpu_deliver(struct cpu *c, int vec, int type, bool has_err, u32 err, u64 ret_rip);
__attribute__((noreturn)) void cpu_soft_int(struct cpu *c, const struct insn *i, int vec, int type);

/* ---- flags (flags.c) ---- */
u64 lf_compute(struct cpu *c);
/*
 * The last step of an exit taken in place (vmexit.c): RFLAGS computed
 * into the core (as cpu_exit_cont_note() does) and into *@slot (the
 * VMCS's GUEST_RFLAGS).  Return: true.
 */
bool cpu_exit_flags(struct cpu *c, u64 *slot);

static __always_inline u64 cpu_get_flags(struct cpu *c)
{
	if (c->lf_op == LF_NONE)
		return c->s.rflags;
	return (c->s.rflags & ~(u64)FLAGS_ARITH) | lf_compute(c);
}

/* Set arithmetic flags eagerly (the others are left alone) */
static __always_inline void cpu_set_arith(struct cpu *c, u64 f)
{
	c->s.rflags = (c->s.rflags & ~(u64)FLAGS_ARITH) | (f & FLAGS_ARITH);
	c->lf_op = LF_NONE;
}

static __always_inline void lf_set(struct cpu *c, int op, int sz, u64 res, u64 s1, u64 s2)
{
	c->lf_op = op;
	c->lf_sz = sz;
	c->lf_res = res;
	c->lf_s1 = s1;
	c->lf_s2 = s2;
}

/* LOGIC results need no operands (CF = OF = 0) */
static __always_inline void lf_set_logic(struct cpu *c, int sz, u64 res)
{
	c->lf_op = LF_LOGIC;
	c->lf_sz = sz;
	c->lf_res = res;
}

static __always_inline bool get_cf(struct cpu *c)
{
	int top = (8 << c->lf_sz) - 1;
	u8 op = c->lf_op;

	/*
	 * An if-chain, most frequent first, each branch loading only what it
	 * needs (an early load of lf_s2 after a LOGIC op's store is a stall).
	 */
	if (op == LF_LOGIC)
		return false;
	if (op == LF_INC || op == LF_DEC)
		return c->lf_cf;
	if (op == LF_SUB || op == LF_SBB) {
		u64 a = c->lf_s1, b = c->lf_s2, r = c->lf_res;
		return (((~a & b) | (~(a ^ b) & r)) >> top) & 1;
	}
	if (op == LF_ADD || op == LF_ADC) {
		u64 a = c->lf_s1, b = c->lf_s2, r = c->lf_res;
		return (((a & b) | ((a | b) & ~r)) >> top) & 1;
	}
	if (op == LF_NONE)
		return c->s.rflags & CPU_FLAG_CF;
	{
		/* shifts: s1 = operand, s2 = count (flags.c) */
		u64 a = c->lf_s1, b = c->lf_s2;
		if (op == LF_SHL)
			return b <= (u64)top + 1 ? (a >> (top + 1 - b)) & 1 : 0;
		if (op == LF_SHR)
			return b <= (u64)top + 1 ? (a >> (b - 1)) & 1 : 0;
		return ((s64)sext(a, c->lf_sz) >> (b - 1 < 63 ? b - 1 : 63)) & 1;	/* LF_SAR */
	}
}

bool cpu_cond_slow(struct cpu *c, int cc);

/*
 * Condition codes (SDM vol. 1 B.1) straight from a CMP/SUB or any ZF;
 * -1 when the flags must be computed (cpu_cond_slow()).
 */
static __always_inline int cpu_cond_fast(struct cpu *c, int cc)
{
	if (likely(c->lf_op == LF_SUB)) {
		u64 m = sz_mask(c->lf_sz), a = c->lf_s1 & m, b = c->lf_s2 & m;
		bool r;
		switch (cc >> 1) {
		case 1: r = a < b; break;
		case 2: r = a == b; break;
		case 3: r = a <= b; break;
		case 6: r = (s64)sext(a, c->lf_sz) < (s64)sext(b, c->lf_sz); break;
		case 7: r = (s64)sext(a, c->lf_sz) <= (s64)sext(b, c->lf_sz); break;
		default: return -1;
		}
		return r ^ (cc & 1);
	}
	if ((cc >> 1) == 2 && c->lf_op != LF_NONE)
		return ((c->lf_res & sz_mask(c->lf_sz)) == 0) ^ (cc & 1);
	return -1;
}

static __always_inline bool cpu_cond(struct cpu *c, int cc)
{
	int t = cpu_cond_fast(c, cc);
	return t >= 0 ? t : cpu_cond_slow(c, cc);
}

/* Whole RFLAGS write, respecting reserved bits; call cpu_flags_changed after */
void cpu_write_rflags(struct cpu *c, u64 v);
u8 parity8(u64 v);

/* CR0.AM, RFLAGS.AC or CPL changed: recompute ac_check (seg.c). */
void cpu_ac_changed(struct cpu *c);

/* Debug registers (ops_sys.c): recompute dbg_exec/dbg_data from DR7. */
void cpu_dr7_changed(struct cpu *c);
/* A data access of @size at @lin: record data-breakpoint hits (slow path only). */
void cpu_dbg_data_check(struct cpu *c, u64 lin, int size, bool write);
/* Instruction breakpoint at the current instruction? Return the DR6 bits. */
u32 cpu_dbg_exec_check(struct cpu *c);

/* ---- memory (tlb.c, paging.c) ---- */
void tlb_flush_all(struct cpu *c);
void tlb_flush_page(struct cpu *c, u64 lin);
void tlb_fill(struct cpu *c, u64 lin, int kind, struct tlb_entry *e, bool user);
u64 mem_read_slow(struct cpu *c, u64 lin, int size, int kind);
void mem_write_slow(struct cpu *c, u64 lin, int size, u64 val, int kind);
void *mem_ptr_slow(struct cpu *c, u64 lin, int size, int kind);
void phys_root_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out);
/* phys_xlate() of the final access found EPT entry @entry at @level misconfigured */
void tlb_note_ept_misconfig(struct cpu *c, u64 gpa, u64 *entry, int level);
u64 phys_read(struct cpu *c, u64 gpa, int size);
void phys_write(struct cpu *c, u64 gpa, int size, u64 val);
/*
 * Walk the guest page tables.  Return: 0 and *gpa, or the #PF error code
 * with bit 31 set if the walk fails (not raised).  @set_ad updates A/D.
 */
u64 paging_walk(struct cpu *c, u64 lin, int kind, bool user, bool set_ad, u64 *gpa,
		bool *user_page);
u8 *phys_host_ptr(struct cpu *c, u64 gpa, int kind);
/*
 * Load the PAE PDPTEs from the table at CR3 (SDM 4.4.1).  Return: false if
 * a present entry has reserved bits set (MOV CR3/CR0/CR4 then #GP).
 */
bool paging_load_pdptes(struct cpu *c);

static __always_inline struct tlb_entry *tlb_slot(struct cpu *c, u64 lin, int kind)
{
	return &c->tlb_cur[kind][(lin >> PAGE_SHIFT) & (TLB_SIZE - 1)];
}

/*
 * Does slot @e (the one of @lin's page) hit for @size bytes at @lin?  An
 * access that runs into the next page compares that page's address, which
 * cannot be the tag of this slot (another index), so one compare covers both.
 */
static __always_inline bool tlb_hit(const struct tlb_entry *e, u64 lin, int size)
{
	return e->tag == ((lin + (u64)size - 1) & ~(u64)0xfff);
}

/* Host pointer for an access of @size bytes, or NULL (slow path needed). */
static __always_inline void *mem_fast(struct cpu *c, u64 lin, int size, int kind)
{
	struct tlb_entry *e = tlb_slot(c, lin, kind);
	if (likely(tlb_hit(e, lin, size)))
		return (void *)(uintptr_t)(lin + e->addend);
	return NULL;
}

static __always_inline u64 ld(const void *p, int size)
{
	switch (size) {
	case 1: return *(const u8 *)p;
	case 2: { u16 v; memcpy(&v, p, 2); return v; }
	case 4: { u32 v; memcpy(&v, p, 4); return v; }
	default: { u64 v; memcpy(&v, p, 8); return v; }
	}
}

static __always_inline void st(void *p, int size, u64 v)
{
	switch (size) {
	case 1: *(u8 *)p = (u8)v; break;
	case 2: { u16 x = (u16)v; memcpy(p, &x, 2); break; }
	case 4: { u32 x = (u32)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static __always_inline u64 lin_read(struct cpu *c, u64 lin, int size)
{
	struct tlb_entry *e = tlb_slot(c, lin, ACC_R);
	if (likely(tlb_hit(e, lin, size)))
		return ld((void *)(uintptr_t)(lin + e->addend), size);
	return mem_read_slow(c, lin, size, ACC_R);
}

static __always_inline void lin_write(struct cpu *c, u64 lin, int size, u64 v)
{
	struct tlb_entry *e = tlb_slot(c, lin, ACC_W);
	if (likely(tlb_hit(e, lin, size)))
		st((void *)(uintptr_t)(lin + e->addend), size, v);
	else
		mem_write_slow(c, lin, size, v, ACC_W);
}

/* ---- segmentation (seg.c via cpu.c) ---- */
u64 seg_check_slow(struct cpu *c, int seg, u64 off, int size, int kind);

/*
 * Linear address of @off in segment @seg for an access of @size bytes,
 * with the limit and type checks of protected mode (SDM 5.3).
 */
static __always_inline u64 seg_lin(struct cpu *c, int seg, u64 off, int size, int kind)
{
	if (likely(c->code64))
		return c->seg_base[seg] + off;
	/* flat 32-bit segments: only the 4 GiB limit to check (off < 2^32 here) */
	if (likely(((kind == ACC_W ? c->flat_w : c->flat_r) >> seg) & 1) &&
	    likely(off <= 0x100000000ull - size))
		return off;
	return seg_check_slow(c, seg, off, size, kind);
}

static __always_inline u64 mem_read(struct cpu *c, int seg, u64 off, int size)
{
	return lin_read(c, seg_lin(c, seg, off, size, ACC_R), size);
}

static __always_inline void mem_write(struct cpu *c, int seg, u64 off, int size, u64 v)
{
	lin_write(c, seg_lin(c, seg, off, size, ACC_W), size, v);
}

/* Effective address (offset within the segment) of a memory operand */
static __always_inline u64 insn_ea(struct cpu *c, const struct insn *i)
{
	u64 ea = (u64)(s64)i->disp;
	if (i->base != REG_NONE)
		ea += c->s.gpr[i->base];
	if (i->index != REG_NONE)
		ea += c->s.gpr[i->index] << i->scale;
	if (i->flags & IF_RIPREL)
		ea += next_rip(c, i);
	if (i->asz == SZ64)
		return ea;
	return ea & sz_mask(i->asz);
}

/* Stack */
void cpu_push(struct cpu *c, int sz, u64 v);
u64 cpu_pop(struct cpu *c, int sz);
static __always_inline int stack_sz(struct cpu *c)
{
	return c->code64 ? SZ64 : (c->mode & MODE_SS32) ? SZ32 : SZ16;
}

/* ---- modes, segments, system (cpu.c, seg.c, ops_sys.c) ---- */
void cpu_update_mode(struct cpu *c);
void cpu_count_partial(struct cpu *c);
/*
 * cpu_run() with a budget checked at block ends only: at least @budget
 * instructions (unless something else stops it first), fewer than one
 * block more.  For time slices, which need no exact count.
 */
enum cpu_exit cpu_run_slice(struct cpu *c, u64 budget);
/*
 * Evaluate the instruction boundary the core is at (deliver a pending
 * event: injection, NMI, interrupt) and stop before the next instruction:
 * CPU_EXIT_BUDGET, or whatever stopped it at that boundary.
 */
enum cpu_exit cpu_run_boundary(struct cpu *c);
u64 cpu_flags_mask(struct cpu *c, bool iret);
void cpu_cpuid(struct cpu *c, u32 leaf, u32 sub, u32 out[4]);
void cpu_load_seg_real(struct cpu *c, int seg, u16 sel);
/* Load a segment register with the protected-mode checks; faults */
void cpu_load_seg(struct cpu *c, int seg, u16 sel);
/* Read an 8-byte descriptor of @sel from the GDT/LDT; faults #GP(sel) */
u64 cpu_read_desc(struct cpu *c, u16 sel, int vec, u64 *lin_out);
void cpu_desc_to_seg(u64 d, u64 d_hi, u16 sel, struct cpu_seg *s);
void cpu_set_cs(struct cpu *c, u16 sel, u64 desc, int cpl);
bool cpu_write_cr(struct cpu *c, int cr, u64 v);
int cpu_io_in(struct cpu *c, u16 port, int size, u32 *val);
int cpu_io_out(struct cpu *c, u16 port, int size, u32 val);
bool cpu_io_bitmap_allowed(struct cpu *c, u16 port, int size);

/*
 * I/O permission (SDM 19.5): allowed if CPL <= IOPL (not VM86), else the
 * TSS I/O bitmap must clear every bit of the access.
 */
static __always_inline bool cpu_io_allowed(struct cpu *c, u16 port, int size)
{
	if (!(c->mode & MODE_PE) ||
	    (!(c->mode & MODE_VM86) && c->cpl <= ((c->s.rflags >> 12) & 3)))
		return true;
	return cpu_io_bitmap_allowed(c, port, size);
}
u64 cpu_rdtsc(struct cpu *c);
u64 cpu_tsc_epoch(void);
void cpu_far_jmp(struct cpu *c, const struct insn *i, u16 sel, u64 off, bool call, int osz);
void cpu_far_ret(struct cpu *c, const struct insn *i, int osz, u16 pop_extra);
void cpu_iret(struct cpu *c, const struct insn *i);

/* ---- decoder / icache / optable ---- */
#define BLOCK_MAX_INSNS 48
/* Non-canonical, and past no block's end (each lies in the canonical low or high half) */
#define LINK_NONE 0x8000000000000000ull
struct block {
	u64 gpa;		/* physical address of the first byte */
	u64 rip;		/* RIP it was decoded at (for links) */
	u32 mode;
	u32 slot, gen;		/* code-page generation check */
	u16 n;
	u16 ndisp;		/* handlers a whole pass dispatches: n, n - 1 if fused */
	u16 bytes;		/* length of the code it covers */
	bool cached;
	/*
	 * The block ends in a compare-and-branch pair run by one handler in
	 * insn[n - 2] (fuse_jcc()); pair_first is that slot's own handler,
	 * for a run that stops between the two.
	 */
	bool fused;
	insn_fn pair_first;
	/*
	 * Segments: an IF_SEG instruction before the last dispatched one ends
	 * a segment of the pass (its seg_next counts the next one), where
	 * run_block() looks at the park and the requests as at a block's end
	 * and goes on into the next segment: an exit in place there is parked
	 * without ending the block (cpu_park()).  @nseg0: the first segment's
	 * length, ndisp when the block has one segment; @send0, @sfull: its
	 * end and its entry in run_block().
	 */
	u16 nseg0;
	const struct insn *send0;
	const void *sfull;
	/*
	 * where a whole pass's dispatch ends (insn + ndisp), and where it
	 * starts in run_block() (its first segment's entry if it has several)
	 */
	const struct insn *dend;
	const void *full;
	struct block *hnext;
	/*
	 * The blocks that followed this one, and their RIPs (LINK_NONE for
	 * none, a RIP no block ends at): a block's end compares the RIP it
	 * reached with link_rip[] alone.
	 */
	u64 link_rip[2];
	struct block *link[2];
	u64 link_epoch;
	u32 link_wgen;		/* code_wgen when the links were made */
	/*
	 * A cached block's code as decoded (@code, @bytes long, in the arena
	 * after insn[]) and where it was read (@host); @vgen: the cpu's
	 * vmm_gen when the two were last found equal (struct cpu).
	 */
	u32 vgen;
	const u8 *host;
	const u8 *code;
	/*
	 * link_epoch at which the block was last verified to branch back to
	 * itself safely (cpu_cont_revalidate()): run_block()'s block end
	 * looks at it only when its links do not hold.
	 */
	u64 self_epoch;
	struct insn insn[];
};

/*
 * run_block()'s entry points by the number of instructions to dispatch
 * (cpu.c), and the entry of a pass in segments
 */
extern const void *const *cpu_run_steps __attribute__((visibility("hidden")));
extern const void *cpu_run_seg_start __attribute__((visibility("hidden")));
extern const void *const *cpu_run_seg_steps __attribute__((visibility("hidden")));

/* Set @b's dispatch end, segments and entry from ndisp and the IF_SEG marks. */
static inline void block_set_disp(struct block *b)
{
	u32 seg0 = b->ndisp, prev = ~0u;

	for (u32 k = 0; k + 1 < b->ndisp; k++) {
		if (!(b->insn[k].flags & IF_SEG))
			continue;
		if (prev == ~0u)
			seg0 = k + 1;
		else
			b->insn[prev].seg_next = (u8)(k - prev);
		prev = k;
	}
	if (prev != ~0u)
		b->insn[prev].seg_next = (u8)(b->ndisp - 1 - prev);
	b->nseg0 = (u16)seg0;
	b->send0 = b->insn + seg0;
	b->sfull = __atomic_load_n(&cpu_run_seg_steps, __ATOMIC_RELAXED)[seg0];
	b->dend = b->insn + b->ndisp;
	b->full = seg0 < b->ndisp ? __atomic_load_n(&cpu_run_seg_start, __ATOMIC_RELAXED) :
				    __atomic_load_n(&cpu_run_steps, __ATOMIC_RELAXED)[b->ndisp];
}

/* Forget the blocks @b was linked to. */
static __always_inline void block_unlink(struct block *b)
{
	b->link[0] = b->link[1] = NULL;
	b->link_rip[0] = b->link_rip[1] = LINK_NONE;
}

/*
 * Decode one instruction from @bytes (@avail bytes readable).  Never
 * faults: an invalid opcode decodes to op_ud, which raises #UD when run.
 * Return: the length; 0 if more than @avail bytes are needed (page end);
 * -1 if longer than 15 bytes (#GP(0)).
 */
int cpu_decode(struct cpu *c, const u8 *bytes, int avail, struct insn *i);
bool insn_ends_block(const struct insn *i);
/* The handler that runs @first and the Jcc (condition @cc) after it (ops_alu.c); NULL if none. */
insn_fn fuse_jcc(insn_fn first, int cc);
extern const insn_fn jcc_tab[16];
extern const insn_fn optab[2][256];
insn_fn optab_select(struct cpu *c, struct insn *i, u8 modrm);
/* The version of @fn for the addressing form of @i's memory operand, or @fn (optable.c). */
insn_fn ea_select(struct cpu *c, const struct insn *i, insn_fn fn);
/*
 * Dead flags (icache.c marks IF_FDEAD): the version of @fn that leaves the
 * lazy flags alone, or NULL; and back (fn itself if it is not such a version).
 */
insn_fn alu_flagless(insn_fn fn);
insn_fn alu_flagful(insn_fn fn);
/* Register INC/DEC whose CF comes from a logic op (CF = 0), or NULL; is @fn such a logic op? */
insn_fn incdec_after_logic(insn_fn fn);
bool alu_clears_cf(insn_fn fn);
/* Register INC/DEC whose CF comes from ADD/SUB/CMP @prev (32/64-bit), or NULL. */
insn_fn incdec_after(insn_fn fn, insn_fn prev);

/* Leaves the block before this insn (a write to the block's own code, icache.c) */
void op_smc_stop(struct cpu *c, const struct insn *i);
struct block *icache_lookup(struct cpu *c);
/*
 * Cut cached block @b's pass after its instruction @i, a memory store (not
 * in a pass of @b): @i ends a segment (struct block), where the next
 * passes park an exit in place at @i as at a block's end (vmx_mmio.c).
 */
bool icache_seg_after(struct cpu *c, struct block *b, const struct insn *i);
static __always_inline bool icache_cut_after(struct cpu *c, struct block *b, const struct insn *i)
{
	/* the exits after the first: a segment's end already */
	if (likely(i->flags & IF_SEG))
		return false;
	return icache_seg_after(c, b, i);
}
void icache_flush(struct cpu *c);
int icache_init(struct cpu *c);
void icache_free(struct cpu *c);
/*
 * Writes by the VMM through its own mapping of guest memory (icache.c):
 * cpu_code_sync() is the signal (the VMM may have written since the last
 * one); the rest revalidate, out of line, what it made fail.
 * icache_verify(): @b's bytes are still those it was decoded from (else
 * its page is treated as written: code_page_written()).
 * icache_links_recheck(): @b's links, made before signals only, hold
 * again (their targets verified).  cpu_cont_revalidate(): the exit taken
 * in place may go on after all (cpu_cont_valid() failed).
 */
static __always_inline void cpu_code_sync(struct cpu *c)
{
	u64 old = c->link_epoch;

	/* a TLB, mode or CS change since the last signal: the soft epochs start here */
	if (old != c->vmm_epoch)
		c->vmm_base = old;
	c->link_epoch = c->vmm_epoch = old + 1;
	c->vmm_gen++;
}
/*
 * @n (>= 1) bytes at @a and @b equal: two overlapping loads up to 16 bytes,
 * then 8 at a time; no call (the icache's VMM-write check, emulate.c's
 * decoded-instruction cache).
 */
static __always_inline bool cpu_bytes_equal(const u8 *a, const u8 *b, u32 n)
{
	u64 x0, y0, x1, y1;

	if (likely(n >= 8)) {
		for (; n > 16; a += 8, b += 8, n -= 8) {
			memcpy(&x0, a, 8);
			memcpy(&y0, b, 8);
			if (x0 != y0)
				return false;
		}
		memcpy(&x0, a, 8);
		memcpy(&y0, b, 8);
		memcpy(&x1, a + n - 8, 8);
		memcpy(&y1, b + n - 8, 8);
		return !((x0 ^ y0) | (x1 ^ y1));
	}
	if (n >= 4) {
		u32 p0, q0, p1, q1;
		memcpy(&p0, a, 4);
		memcpy(&q0, b, 4);
		memcpy(&p1, a + n - 4, 4);
		memcpy(&q1, b + n - 4, 4);
		return !((p0 ^ q0) | (p1 ^ q1));
	}
	return a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1];
}

/*
 * cpu_code_sync() taken by a VMRESUME that goes on with the exit taken in
 * place (vmentry.c vmx_resume_cont_sync()): the parked block's bytes are
 * compared now, at the entry, so that it goes on at once (as
 * cpu_cont_revalidate() would let it, without its call and checks) and
 * branches back to its own start without a lookup (self_epoch).  A
 * difference, a block of other than 8-16 bytes (compared there, out of
 * line), or a run that could not go on anyway, is left to
 * resume_cont_go()'s cpu_cont_valid() and cpu_cont_revalidate().
 */
static __always_inline void cpu_code_sync_cont(struct cpu *c)
{
	struct block *b = (struct block *)c->cur_block;
	u32 n = b->bytes;
	bool same = false;

	/* 8-16 bytes: cpu_bytes_equal()'s two overlapping loads, no loop */
	if (likely(n - 8u <= 8u) && likely(cpu_cont_valid(c)))
		same = cpu_bytes_equal(b->host, b->code, n);
	cpu_code_sync(c);
	if (likely(same)) {
		b->vgen = c->vmm_gen;
		b->self_epoch = c->link_epoch;
		c->cont_epoch = c->link_epoch;
	}
}
bool icache_verify(struct cpu *c, struct block *b);
bool icache_links_recheck(struct cpu *c, struct block *b);
bool cpu_cont_revalidate(struct cpu *c);
/* A link, resume or exit in place noted at @epoch lost nothing but to signals since. */
static __always_inline bool icache_epoch_soft(const struct cpu *c, u64 epoch)
{
	return c->link_epoch == c->vmm_epoch && epoch >= c->vmm_base;
}

/* Code-page tracking shared by every cpu (icache.c) */
#define CODE_SLOTS_BITS 16
extern u32 code_gen[1u << CODE_SLOTS_BITS] __attribute__((visibility("hidden")));
extern u8 code_mark[1u << CODE_SLOTS_BITS] __attribute__((visibility("hidden")));
/* Bumped with any code_gen[] slot: links made before it are not trusted. */
extern u32 code_wgen __attribute__((visibility("hidden")));

/*
 * Whether an exit from @b's run may be taken in place: budget_end ~0 and
 * soft: the run of a VM entry without a timer (cpu_run_slice(c, 0)); a
 * hook of non-root operation, so not the emulation assist's core
 * (c->emul); not stepping, no breakpoints; and in the state in which the
 * VMRESUME that goes on has nothing to check or deliver first (vmx_cpu.h:
 * VMX_RESUME_CONT): no blocking at all (an interrupt shadow, NMI
 * blocking), no NMI pending, RFLAGS with bit 1 set, no reserved bit, not
 * virtual-8086 mode.  The rare rest unwinds.
 */
#define CPU_CONT_RFLAGS_CHECKED (CPU_FLAG_TF | BIT_ULL(17) | ~0x3f7fd7ull | 2)
/* struct cpu cont_run */
#define CPU_CONT_RUN_BUDGET	0x01
#define CPU_CONT_RUN_CORE	0x02
#define CPU_CONT_RUN_DBG	0x04
#define CPU_CONT_RUN_OK		(CPU_CONT_RUN_BUDGET | CPU_CONT_RUN_CORE)
static __always_inline void cpu_cont_run_set(struct cpu *c, u8 bit, bool on)
{
	c->cont_run = (u8)((c->cont_run & ~bit) | (on ? bit : 0));
}
static __always_inline bool cpu_exit_cont_ok(const struct cpu *c, const struct block *b)
{
	u16 dbg;	/* dbg_exec and dbg_data, adjacent */

	BUILD_BUG_ON(offsetof(struct cpu, dbg_data) != offsetof(struct cpu, dbg_exec) + 1);
	memcpy(&dbg, &c->dbg_exec, 2);
	return b->cached && !(~c->budget_end | (u64)!c->budget_soft) &&
	       !(((c->s.rflags & CPU_CONT_RFLAGS_CHECKED) ^ 2) | dbg | c->s.interruptibility |
		 c->s.nmi_pending);
}

/*
 * What the run goes on from after an exit taken in place at @i, but for
 * RFLAGS (cpu_exit_cont_note()).
 */
static __always_inline void cpu_exit_cont_note_noflags(struct cpu *c, const struct insn *i)
{
	c->exit_insn = NULL;
	c->cont_insn = i;
	c->cont_rip_next = c->s.rip + i->len;
	c->cont_epoch = c->link_epoch;
	c->cont_wgen = __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
}

/* What the run goes on from after an exit taken in place at @i. */
static __always_inline void cpu_exit_cont_note(struct cpu *c, const struct insn *i)
{
	cpu_exit_cont_note_noflags(c, i);
	/* As finish() does at an exit; the instruction count waits (cpu_cont_drop()). */
	c->s.rflags = cpu_get_flags(c);
	c->lf_op = LF_NONE;
}

static __always_inline bool cpu_exit_prepare_cont(struct cpu *c)
{
	const struct block *b = c->cur_block;
	const struct insn *i = c->exit_insn;

	if (!b || !cpu_exit_cont_ok(c, b) ||
	    (uintptr_t)i - (uintptr_t)b->insn >= b->n * sizeof(*i) ||
	    c->blk_base + i->off != c->s.rip)
		return false;
	cpu_exit_cont_note(c, i);
	return true;
}

/*
 * cpu_exit_prepare_cont() for an exit the block loop parks: when @i is the
 * last instruction of its block, or ends a segment of it (IF_SEG), and the
 * run dispatched it as such (run_end; the dispatch set RIP from the
 * block's base), and the block does not go back to its own start after
 * it, the handler need not suspend the run itself: it completes the exit
 * and returns, and the block loop parks the run at the block's or the
 * segment's end (cpu.c run_block()), where the core has no frame above
 * the loop's to return through after the switch (fiber.h).  Decode makes
 * each instruction that exits in place (IN, OUT, CPUID, HLT) end a
 * segment, so that exits there are parked.  Return: true if so (the park
 * is due); false, nothing done, otherwise.
 */
static __always_inline bool cpu_exit_park_ok(const struct cpu *c, const struct block *b,
					     const struct insn *i, u64 next)
{
#ifdef USERKVM_DEBUG
	u16 d;

	memcpy(&d, &c->dbg_exec, 2);
	/* a writer of the run's conditions that did not keep cont_run */
	if (!(c->cont_run & CPU_CONT_RUN_BUDGET) != !(c->budget_end == ~0ull && c->budget_soft) ||
	    !(c->cont_run & CPU_CONT_RUN_DBG) != !d ||
	    ((c->cont_run & CPU_CONT_RUN_CORE) && !c->fiber))
		abort();
#endif
	/*
	 * cpu_exit_cont_ok() and the park's own conditions, each a compare
	 * with memory and a branch that goes the same way at every exit
	 * (fewer instructions than folding them into one word), but for those
	 * that change only with the run: the budget, the processor's stack
	 * (with a fiber) and the breakpoints, in one byte (cont_run).  An
	 * instruction that exits in place ends a segment (IF_SEG: decode
	 * makes it so) more often than its block.
	 */
	if (unlikely(i + 1 != c->run_end) ||
	    unlikely(!(i->flags & IF_SEG) && c->run_end != b->insn + b->n))
		return false;
	if (unlikely(c->cont_run != CPU_CONT_RUN_OK) || unlikely(next == b->rip) ||
	    unlikely(!b->cached))
		return false;
	if (unlikely((c->s.rflags & CPU_CONT_RFLAGS_CHECKED) != 2))
		return false;
	return likely(!c->s.interruptibility) && likely(!c->s.nmi_pending);
}

static __always_inline bool cpu_exit_prepare_park(struct cpu *c, const struct insn *i)
{
	const struct block *b = c->cur_block;

	if (!b || !cpu_exit_park_ok(c, b, i, c->s.rip + i->len))
		return false;
	cpu_exit_cont_note(c, i);
	c->park = true;
	return true;
}
static __always_inline u32 code_slot(uintptr_t host)
{
	return (u32)(((host >> PAGE_SHIFT) * 0x9E3779B97F4A7C15ull) >> (64 - CODE_SLOTS_BITS));
}
void code_page_written(struct cpu *c, uintptr_t host);
void code_page_mark(struct cpu *c, uintptr_t host);

/*
 * ---- the instruction-emulation assist (emulate.c) ----
 * With cpu->emul set, the memory slow paths hand every access to the
 * VMM's callbacks (the TLB of such a cpu is never filled), REP string
 * instructions run one iteration (a REP INS as many as the VMM has read
 * ahead), and the bus lock is not taken (the
 * callbacks may leave the instruction).
 */
u64 emul_read(struct cpu *c, u64 lin, int size, int kind);
void emul_write(struct cpu *c, u64 lin, int size, u64 val, int kind);
/* Data accesses of up to 16 bytes in one callback (x87/SSE operands) */
void emul_read_buf(struct cpu *c, u64 lin, void *buf, int size);
void emul_write_buf(struct cpu *c, u64 lin, const void *buf, int size);
bool emul_io_bitmap(struct cpu *c, u64 tss_base, u32 tss_limit, u16 port, int size);
u64 emul_rep_count(struct cpu *c, const struct insn *i, u64 n);
extern __thread bool cpu_emulating;

/* ---- MSRs (msr.c) ---- */
int msr_read(struct cpu *c, u32 idx, u64 *v);
int msr_write(struct cpu *c, u32 idx, u64 v);

/* ---- instruction groups (ops_*.c) referenced by the table ---- */
void op_ud(struct cpu *c, const struct insn *i);

#define MSR_IA32_TSC		0x10
#define MSR_IA32_APIC_BASE	0x1b
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_TSC_ADJUST	0x3b
#define MSR_IA32_SPEC_CTRL	0x48
#define MSR_IA32_BIOS_SIGN_ID	0x8b
#define MSR_IA32_MTRRCAP	0xfe
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_DEBUGCTL	0x1d9
#define MSR_IA32_PAT		0x277
#define MSR_IA32_MTRR_DEF_TYPE	0x2ff
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_FMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#endif
