// SPDX-License-Identifier: MIT
/*
 * cpu.c: the logical processor: creation, reset (SDM 10.1), modes and the
 * cpu_run() budget loop.
 *
 * The loop runs decoded blocks (icache.c).  Between blocks, and only
 * there, it looks at cpu->req (kicks, INTR, NMI, I/O stop requests,
 * write-TLB shootdowns), injected events, the interrupt shadow, HLT and
 * the budget.  Faults raised inside a handler longjmp back here with RIP
 * still at the faulting instruction and are delivered (except.c).
 */
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "silicon/cpu.h"
#include "silicon/intercept.h"

#define RESET_EDX 0x000806f8u	/* family 6, model 0x8f, stepping 8 */

struct cpu_state *cpu_state(struct cpu *c)
{
	return &c->s;
}

u64 cpu_instructions(struct cpu *c)
{
	return c->icount;
}

/*
 * Derive the mode, CPL and effective segment bases from CR0, EFER, CS, SS
 * and RFLAGS.  Anything that depends on them in decoded blocks or links
 * is invalidated by bumping link_epoch.
 */
void cpu_update_mode(struct cpu *c)
{
	u32 mode = 0;
	u8 cpl;

	cpu_nv_written(c);

	if (c->s.cr0 & CPU_CR0_PE) {
		mode |= MODE_PE;
		if (c->s.rflags & CPU_FLAG_VM)
			mode |= MODE_VM86;
	}
	if (c->s.efer & CPU_EFER_LMA)
		mode |= MODE_LMA;
	if ((mode & MODE_LMA) && (c->s.seg[CPU_SEG_CS].ar & CPU_AR_L))
		mode |= MODE_CS64;
	else if ((mode & MODE_PE) && !(mode & MODE_VM86) &&
		 (c->s.seg[CPU_SEG_CS].ar & CPU_AR_DB))
		mode |= MODE_CS32;
	if ((mode & MODE_PE) && !(mode & MODE_VM86) && (c->s.seg[CPU_SEG_SS].ar & CPU_AR_DB))
		mode |= MODE_SS32;
	if (!(mode & MODE_PE))
		cpl = 0;
	else if (mode & MODE_VM86)
		cpl = 3;
	else
		cpl = (c->s.seg[CPU_SEG_SS].ar & CPU_AR_DPL_MASK) >> CPU_AR_DPL_SHIFT;
	/* links skip the fetch checks: they depend on mode, CPL, CS base and limit */
	if (mode != c->mode || cpl != c->cpl || c->s.seg[CPU_SEG_CS].base != c->cs_base_seen ||
	    c->s.seg[CPU_SEG_CS].limit != c->cs_limit_seen)
		c->link_epoch++;
	c->cs_base_seen = c->s.seg[CPU_SEG_CS].base;
	c->cs_limit_seen = c->s.seg[CPU_SEG_CS].limit;
	c->mode = mode;
	c->cpl = cpl;
	c->tlb_user = cpl == 3;
	c->tlb_cur = c->tlb[c->tlb_user];
	c->code64 = (mode & MODE_CS64) != 0;
	c->flat_r = c->flat_w = 0;
	for (int s = 0; s < 6; s++) {
		const struct cpu_seg *g = &c->s.seg[s];
		u32 ar = g->ar;
		c->seg_base[s] = (c->code64 && s < CPU_SEG_FS) ? 0 : g->base;
		if (!(mode & MODE_PE) || (mode & MODE_VM86) || (ar & CPU_AR_UNUSABLE) ||
		    !(ar & CPU_AR_S) || g->base != 0 || g->limit != 0xffffffffu)
			continue;
		if (ar & 8) {			/* code: readable if bit 1 */
			if (ar & 2)
				c->flat_r |= 1u << s;
		} else if (!(ar & 4)) {		/* expand-up data */
			c->flat_r |= 1u << s;
			if (ar & 2)
				c->flat_w |= 1u << s;
		}
	}
	if (c->ac_check || (c->s.rflags & CPU_FLAG_AC))
		cpu_ac_changed(c);	/* CPL may have changed */
}

void cpu_state_changed(struct cpu *c)
{
	c->lf_op = LF_NONE;
	c->s.rflags = (c->s.rflags & 0x3f7fd5) | 2;
	cpu_update_mode(c);
	cpu_dr7_changed(c);
	/* the TLB depends on CR0, CR3, CR4, EFER (and CPL, a separate set) */
	if (c->s.cr0 != c->seen_cr0 || c->s.cr3 != c->seen_cr3 || c->s.cr4 != c->seen_cr4 ||
	    c->s.efer != c->seen_efer) {
		tlb_flush_all(c);
		c->pdpte_cr3 = ~0ull;	/* as if CR3 were written: PDPTEs from memory */
		c->seen_cr0 = c->s.cr0;
		c->seen_cr3 = c->s.cr3;
		c->seen_cr4 = c->s.cr4;
		c->seen_efer = c->s.efer;
	}
	if (c->s.event_info & CPU_EVENT_VALID)
		__atomic_or_fetch(&c->req, REQ_EVENT, __ATOMIC_SEQ_CST);
	cpu_req(c, REQ_SLOW);
}

static void seg_reset(struct cpu_seg *s, u16 sel, u64 base, u32 ar)
{
	s->sel = sel;
	s->base = base;
	s->limit = 0xffff;
	s->ar = ar;
}

void cpu_reset(struct cpu *c, bool init)
{
	struct cpu_state *s = &c->s;

	cpu_nv_written(c);
	memset(s->gpr, 0, sizeof(s->gpr));
	s->gpr[2] = RESET_EDX;
	s->rip = 0xfff0;
	s->rflags = 2;
	c->lf_op = LF_NONE;
	seg_reset(&s->seg[CPU_SEG_CS], 0xf000, 0xffff0000, 0x9b);
	for (int k = 0; k < 6; k++)
		if (k != CPU_SEG_CS)
			seg_reset(&s->seg[k], 0, 0, 0x93);
	seg_reset(&s->seg[CPU_SEG_LDTR], 0, 0, 0x82);
	seg_reset(&s->seg[CPU_SEG_TR], 0, 0, 0x8b);
	s->gdtr.base = s->idtr.base = 0;
	s->gdtr.limit = s->idtr.limit = 0xffff;
	/* INIT keeps CD/NW (SDM table 10-1) */
	s->cr0 = init ? (s->cr0 & (CPU_CR0_CD | CPU_CR0_NW)) | CPU_CR0_ET : 0x60000010;
	s->cr2 = s->cr3 = s->cr4 = s->cr8 = 0;
	s->xcr0 = 1;
	memset(s->dr, 0, sizeof(s->dr));
	s->dr[6] = 0xffff0ff0;
	s->dr[7] = 0x400;
	s->efer = 0;
	s->sysenter_cs = s->sysenter_esp = s->sysenter_eip = 0;
	s->star = s->lstar = s->cstar = s->fmask = s->kernel_gs_base = 0;
	s->activity = CPU_ACTIVE;
	s->interruptibility = 0;
	s->pending_dbg = 0;
	s->event_info = 0;
	s->nmi_pending = 0;
	if (!init) {
		s->tsc_aux = 0;
		s->tsc_offset = -cpu_tsc_epoch();	/* every core's TSC is the machine's */
		s->tsc_multiplier = 0;
		s->pat = 0x0007040600070406ull;
		s->apic_base = 0xfee00900;	/* BSP, xAPIC enabled */
		s->misc_enable = 1;		/* fast strings */
		s->debugctl = 0;
		s->mtrr_def_type = 0;
		memset(&s->fpu, 0, sizeof(s->fpu));
		/* x87 FCW = 0x40 at power-up, MXCSR = 0x1f80 (SDM table 10-1) */
		s->fpu.fxsave[0] = 0x40;
		s->fpu.fxsave[24] = 0x80;
		s->fpu.fxsave[25] = 0x1f;
		c->nmsr = 0;
	}
	__atomic_and_fetch(&c->req, REQ_INTR, __ATOMIC_SEQ_CST);
	cpu_req(c, REQ_SLOW);
	c->fault_vec = -1;
	c->delivering = -1;
	c->pdpte_cr3 = ~0ull;
	c->mode = ~0u;
	cpu_update_mode(c);
	tlb_flush_all(c);
}

const void *const *cpu_run_steps;
const void *cpu_run_seg_start;
const void *const *cpu_run_seg_steps;

static struct block *run_block(struct cpu *c, struct block *b, const struct insn *start,
			       const struct insn *end);

struct cpu *cpu_create(void)
{
	struct cpu *c = aligned_alloc(64, ALIGN_UP(sizeof(*c), 64));

	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	if (!__atomic_load_n(&cpu_run_steps, __ATOMIC_RELAXED))
		run_block(NULL, NULL, NULL, NULL);
	c->phys_xlate = phys_root_xlate;
	if (icache_init(c)) {
		free(c);
		return NULL;
	}
	cpu_reset(c, false);
	return c;
}

void cpu_destroy(struct cpu *c)
{
	if (!c)
		return;
	icache_free(c);
	free(c);
}

int cpu_map_phys(struct cpu *c, u64 gpa, u64 size, void *host, u32 flags)
{
	if ((gpa | size) & (PAGE_SIZE - 1))
		return -1;
	if (size == 0) {
		for (int k = 0; k < c->nphys; k++) {
			if (c->phys[k].gpa == gpa) {
				c->phys[k] = c->phys[--c->nphys];
				tlb_flush_all(c);
				icache_flush(c);
				return 0;
			}
		}
		return -1;
	}
	if (c->nphys == CPU_MAX_PHYS || gpa + size < gpa)
		return -1;
	for (int k = 0; k < c->nphys; k++)
		if (gpa < c->phys[k].gpa + c->phys[k].size && c->phys[k].gpa < gpa + size)
			return -1;
	c->phys[c->nphys++] = (struct phys_range){ gpa, size, host, flags };
	tlb_flush_all(c);
	return 0;
}

void cpu_set_io_ops(struct cpu *c, const struct cpu_io_ops *ops, void *opaque)
{
	c->io = ops;
	c->io_opaque = opaque;
}

void cpu_sipi(struct cpu *c, u8 vector)
{
	if (c->s.activity != CPU_WAIT_SIPI)
		return;
	cpu_nv_written(c);
	c->s.seg[CPU_SEG_CS].sel = (u16)(vector << 8);
	c->s.seg[CPU_SEG_CS].base = (u64)vector << 12;
	c->s.rip = 0;
	c->s.activity = CPU_ACTIVE;
	cpu_state_changed(c);
}

void cpu_set_intr(struct cpu *c, bool level)
{
	if (level)
		__atomic_or_fetch(&c->req, REQ_INTR, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&c->req, ~REQ_INTR, __ATOMIC_SEQ_CST);
}

void cpu_raise_intr(struct cpu *c)
{
	cpu_set_intr(c, true);
}

void cpu_raise_nmi(struct cpu *c)
{
	__atomic_or_fetch(&c->req, REQ_NMI, __ATOMIC_SEQ_CST);
}

void cpu_kick(struct cpu *c)
{
	__atomic_or_fetch(&c->req, REQ_KICK, __ATOMIC_SEQ_CST);
}

void cpu_inject_event(struct cpu *c, u32 info, u32 error)
{
	c->s.event_info = info | CPU_EVENT_VALID;
	c->s.event_error = error;
	__atomic_or_fetch(&c->req, REQ_EVENT, __ATOMIC_SEQ_CST);
}

/*
 * The machine's TSC is the host's: the same on every core (the TSCs of a
 * package are synchronized), counting since the host itself powered up, so
 * that an offset userspace computes from its own RDTSC (KVM_VCPU_TSC_OFFSET,
 * migration) means what it means on KVM.
 */
u64 cpu_tsc_epoch(void)
{
	return 0;
}

u64 cpu_rdtsc(struct cpu *c)
{
	u64 t;

	/*
	 * The guest's earlier loads are done before the TSC is read (the host
	 * CPU could read it first): a guest that loads another vCPU's TSC
	 * value, then reads its own, never sees its own behind.
	 */
	_mm_lfence();
	t = __rdtsc();

	if (unlikely(c->s.tsc_multiplier))
		t = (u64)(((unsigned __int128)(t + c->s.tsc_root_offset) * c->s.tsc_multiplier) >> 48);
	return t + c->s.tsc_offset;
}

#if defined(__SANITIZE_ADDRESS__)
void __asan_handle_no_return(void);
#endif

/* See cpu.h.  Out of line: GCC does not inline a __builtin_longjmp(). */
__attribute__((noreturn)) void cpu_jump(struct cpu *c, int code)
{
#ifdef CPU_JB_GLIBC
	longjmp(c->jb, code);
#else
	if (c->emul)
		longjmp(c->jb, code);
	c->jmp_code = code;
#if defined(__SANITIZE_ADDRESS__)
	__asan_handle_no_return();	/* the frames skipped keep no poisoned redzones */
#endif
	__builtin_longjmp(c->run_jb, 1);
#endif
}

__attribute__((noreturn)) void cpu_exit_now(struct cpu *c, int reason)
{
	c->exit_reason = reason;
	cpu_jump(c, 2);
}

static enum cpu_exit finish(struct cpu *c, enum cpu_exit e)
{
	c->s.rflags = cpu_get_flags(c);
	c->lf_op = LF_NONE;
	c->cur_block = NULL;
	return e;
}

static void clear_req(struct cpu *c, u32 bits)
{
	__atomic_and_fetch(&c->req, ~bits, __ATOMIC_SEQ_CST);
}

static void wtlb_flush(struct cpu *c)
{
	for (int u = 0; u < 2; u++)
		for (unsigned k = 0; k < TLB_SIZE; k++)
			c->tlb[u][ACC_W][k].tag = 1;
}

/*
 * Events at an instruction boundary (SDM 6.9 priorities, simplified:
 * injected event, NMI, maskable interrupt).  Return: an exit reason, or -1
 * to go on executing.
 */
static int boundary(struct cpu *c, bool *shadow)
{
	u32 req = __atomic_load_n(&c->req, __ATOMIC_SEQ_CST);

	*shadow = false;
	if (req & REQ_SLOW)
		clear_req(c, REQ_SLOW);
	if (c->s.nmi_pending || c->s.activity != CPU_ACTIVE || (c->s.rflags & CPU_FLAG_TF) ||
	    c->dbg_exec || c->dbg_data)
		cpu_req(c, REQ_SLOW);	/* still something to look at next time */
	if (req & REQ_WTLB) {
		clear_req(c, REQ_WTLB);
		wtlb_flush(c);
	}
	if (req & REQ_CODE) {
		clear_req(c, REQ_CODE);
		c->link_epoch++;
	}
	if (req & REQ_STOP) {
		clear_req(c, REQ_STOP);
		return CPU_EXIT_IO;
	}
	if (req & REQ_KICK) {
		clear_req(c, REQ_KICK);
		return CPU_EXIT_KICK;
	}
	if (c->s.activity == CPU_SHUTDOWN)
		return CPU_EXIT_SHUTDOWN;
	if (c->s.activity == CPU_WAIT_SIPI)
		return CPU_EXIT_WAIT_SIPI;
	if (req & REQ_NMI) {
		clear_req(c, REQ_NMI);
		c->s.nmi_pending = 1;
	}
	if (c->s.event_info & CPU_EVENT_VALID) {
		u32 info = c->s.event_info;
		int type = (info >> CPU_EVENT_TYPE_SHIFT) & 7;
		u64 ret = c->s.rip;
		clear_req(c, REQ_EVENT);
		c->s.event_info = 0;
		if (type == CPU_EVENT_SWINT || type == CPU_EVENT_SWEXC || type == CPU_EVENT_PRIV_SWEXC)
			ret += c->s.event_insn_len;
		c->s.activity = CPU_ACTIVE;
		cpu_deliver(c, info & 0xff, type, info & CPU_EVENT_HAS_ERROR, c->s.event_error, ret);
		return -1;
	}
	if (c->s.interruptibility & (CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING)) {
		*shadow = true;
		return -1;
	}
	if (c->vmx_nonroot && vmx_intercept_windows(c))
		return CPU_EXIT_VMEXIT;
	if (c->s.nmi_pending && !(c->s.interruptibility & CPU_INTR_NMI_BLOCKING)) {
		if (c->vmx_nonroot && vmx_intercept_nmi(c))
			return CPU_EXIT_VMEXIT;
		c->s.nmi_pending = 0;
		c->s.activity = CPU_ACTIVE;
		cpu_deliver(c, EXC_NMI, CPU_EVENT_NMI, false, 0, c->s.rip);
		c->s.interruptibility |= CPU_INTR_NMI_BLOCKING;
		return -1;
	}
	if ((req & REQ_INTR) && (c->s.rflags & CPU_FLAG_IF)) {
		int vec;
		if (c->vmx_nonroot && vmx_intercept_extint(c))
			return CPU_EXIT_VMEXIT;
		if (!c->io || !c->io->intr_ack)
			return CPU_EXIT_IRQ;
		vec = c->io->intr_ack(c->io_opaque, c);
		if (vec >= 0) {
			c->s.activity = CPU_ACTIVE;
			cpu_deliver(c, vec & 0xff, CPU_EVENT_EXTINT, false, 0, c->s.rip);
			return -1;
		}
	}
	if (c->s.activity == CPU_HLT)
		return CPU_EXIT_HLT;
	return -1;
}

/* The index of the current block's instruction at RIP, or -1. */
static int partial_index(const struct cpu *c)
{
	const struct block *b = c->cur_block;
	u64 rip = c->blk_base;

	for (int k = 0; k < b->n; k++) {
		if (rip == c->s.rip)
			return k;
		rip += b->insn[k].len;
	}
	return -1;
}

/* Count the instructions of the current block retired before a fault. */
void cpu_count_partial(struct cpu *c)
{
	int k;

	if (!c->cur_block)
		return;
	k = partial_index(c);
	if (k >= 0)
		c->icount += k;
	c->cur_block = NULL;
}

/* The same for an exit, noting where the run may resume (resume()). */
static void count_partial_exit(struct cpu *c)
{
	struct block *b = (struct block *)c->cur_block;
	int k;

	if (!b) {
		c->exit_insn = NULL;
		return;
	}
	/* the instruction that exited, if it said which (insn_exit() in intercept.c) */
	if (c->exit_insn >= b->insn && c->exit_insn < b->insn + b->n &&
	    c->blk_base + c->exit_insn->off == c->s.rip)
		k = (int)(c->exit_insn - b->insn);
	else
		k = partial_index(c);
	c->exit_insn = NULL;
	if (k >= 0) {
		c->icount += k;
		if (b->cached) {
			c->resume_b = b;
			c->resume_k = (u32)k;
			c->resume_base = c->blk_base;
			c->resume_gen = c->icache_gen;
			c->resume_epoch = c->link_epoch;
			c->resume_wgen = __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
		}
	}
	c->cur_block = NULL;
}

void cpu_cont_drop(struct cpu *c)
{
	struct block *b = (struct block *)c->cur_block;
	u32 k = (u32)(c->cont_insn - b->insn);

	/* count_partial_exit()'s bookkeeping, for the instruction at k */
	c->icount += k;
	c->resume_b = b;
	c->resume_k = k;
	c->resume_base = c->blk_base;
	/* a recycled arena since the exit bumped link_epoch too (icache_flush()) */
	c->resume_gen = c->icache_gen;
	c->resume_epoch = c->cont_epoch;
	c->resume_wgen = c->cont_wgen;
	c->cur_block = NULL;
}

/*
 * Run @i with exact flags although the dead-flag pass (icache.c) found
 * them dead: the run stops inside the block (budget, single step,
 * interrupt shadow) before the instruction that would overwrite them, so
 * they are visible.  Rare: a copy with the full handler.
 */
static void cpu_exec_exact(struct cpu *c, const struct insn *i)
{
	struct insn t;

	if (likely(!(i->flags & IF_FDEAD))) {
		i->fn(c, i);
		return;
	}
	t = *i;
	t.flags &= ~IF_FDEAD;
	t.fn = alu_flagful(i->fn);
	t.fn(c, &t);
}

/*
 * The instruction count below which @b may run (again) whole: with a hard
 * budget the whole block must fit; an uncached block runs once.
 */
/*
 * The same for any cached block: under a hard budget one of the longest
 * (BLOCK_MAX_INSNS) must fit, so that a block's end in run_block() tests
 * one count for whichever block comes next; near the budget's end the run
 * goes back to run_loop(), which runs each block exactly as far as it may.
 */
static __always_inline u64 chain_stop(const struct cpu *c)
{
	if (c->budget_soft)
		return c->budget_end;
	return c->budget_end >= BLOCK_MAX_INSNS ? c->budget_end - BLOCK_MAX_INSNS + 1 : 0;
}

static __always_inline u64 block_stop(const struct cpu *c, const struct block *b)
{
	if (!b->cached)
		return 0;
	if (c->budget_soft)
		return c->budget_end;
	return c->budget_end >= b->n ? c->budget_end - b->n + 1 : 0;
}

/* Links made from @b still hold: no TLB, mode or CS change, no code page written since. */
static __always_inline bool links_hold(const struct cpu *c, const struct block *b)
{
	return b->link_epoch == c->link_epoch &&
	       b->link_wgen == __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
}

/*
 * The same at a block's end in run_block(), which has seen c->req clear:
 * a code page written since the links were made bumped link_epoch
 * (REQ_CODE, boundary()) before the run came back into the chain, or is
 * pending in c->req now (code_page_written() asks every cpu).
 */
static __always_inline bool links_hold_chained(const struct cpu *c, const struct block *b)
{
	return b->link_epoch == c->link_epoch;
}

/*
 * Switch to the host for the exit cpu_exit_prepare_park() left due, from the
 * frame of the block loop; back here when a VMRESUME goes on after the
 * exiting instruction (vmentry.c vmx_resume_cont()).  The block's pass has
 * counted all its instructions and advanced RIP past the last: the count
 * while parked is the one at the exit (the block's start, as
 * cpu_cont_drop() wants it), and on return as after cpu_cont_resume().
 */
static __always_inline void cpu_park(struct cpu *c, u64 icount, u32 n)
{
	/* the exiting instruction is the last of the n (@n: c->cur_block's) */
	c->park = false;
	c->icount = icount - n;
	fiber_to_host(c->fiber);
	c->icount += n - 1u;
}

/*
 * Run block @b from @start (its first instruction, or where resume()
 * goes on) to @end (where its dispatch stops, before a fused pair's
 * second half), then again while it branches back to its own start, or
 * on into a block it is linked to, while nothing is pending.  Kept apart
 * from run_loop() so that its few live values stay in registers across
 * the handler calls.  Return: the last block run (for chaining), or NULL
 * when the run stopped at a segment's end.
 *
 * RIP is set from the block start before each handler (no dependency chain
 * through memory); after the last one it advances by that insn's length,
 * which also completes a branch's set_rip().  The handlers are called from
 * an unrolled sequence entered at the number of instructions to run
 * (computed goto; no loop test per instruction, one call site per
 * position); a write to the block's own code makes the next insn
 * op_smc_stop() (icache.c), which leaves the block there.  An exit at
 * the block's end is parked here (cpu_park()), in this frame.
 *
 * A block whose pass has segments (struct block: an instruction that may
 * exit in place before its last) runs each but the last from a second
 * copy of the sequence, counted back from the segment's end (@end while
 * it runs; the block's dend for the last), which falls into the
 * segment's end: there an exit in place is parked as at a
 * block's end (the core is in this frame, with no handler's to return
 * through: fiber.h), and a pending request stops the run after the
 * instruction as a block's end would (a HLT's, an I/O's REQ_STOP, a
 * kick); else the pass goes on into the next segment, without the block's
 * end, its links or its count.  The pass's count (c->icount, the block's
 * start until its end adds n) needs no change but for the exit parked,
 * which the host completed (cpu_cont_resume()).
 */
#define STEP(k)								\
	do {								\
		const struct insn *i_ = end - (k);			\
		c->s.rip = base + i_->off;				\
		i_->fn(c, i_);						\
	} while (0)
/* the same in the segments' copy, where @end is the segment's end */
#define SSTEP(k) STEP(k)
static __attribute__((noinline)) struct block *run_block(struct cpu *c, struct block *b,
							 const struct insn *start,
							 const struct insn *end)
{
	static const void *const steps[BLOCK_MAX_INSNS + 1] = {
		NULL, &&L1, &&L2, &&L3, &&L4, &&L5, &&L6, &&L7, &&L8, &&L9, &&L10, &&L11, &&L12, &&L13,
		&&L14, &&L15, &&L16, &&L17, &&L18, &&L19, &&L20, &&L21, &&L22, &&L23, &&L24, &&L25,
		&&L26, &&L27, &&L28, &&L29, &&L30, &&L31, &&L32, &&L33, &&L34, &&L35, &&L36, &&L37,
		&&L38, &&L39, &&L40, &&L41, &&L42, &&L43, &&L44, &&L45, &&L46, &&L47, &&L48,
	};
	static const void *const ssteps[BLOCK_MAX_INSNS + 1] = {
		NULL, &&S1, &&S2, &&S3, &&S4, &&S5, &&S6, &&S7, &&S8, &&S9, &&S10, &&S11, &&S12, &&S13,
		&&S14, &&S15, &&S16, &&S17, &&S18, &&S19, &&S20, &&S21, &&S22, &&S23, &&S24, &&S25,
		&&S26, &&S27, &&S28, &&S29, &&S30, &&S31, &&S32, &&S33, &&S34, &&S35, &&S36, &&S37,
		&&S38, &&S39, &&S40, &&S41, &&S42, &&S43, &&S44, &&S45, &&S46, &&S47, &&S48,
	};
	u64 stop, base, rip, icount;
	const struct insn *p;
	struct block *nb;
	u32 k;

	_Static_assert(BLOCK_MAX_INSNS == 48, "run_block() unrolls 48 steps");
	if (unlikely(!c)) {	/* cpu_create(): the entry points for block_set_disp() */
		__atomic_store_n(&cpu_run_seg_start, &&seg_start, __ATOMIC_RELAXED);
		__atomic_store_n(&cpu_run_seg_steps, ssteps, __ATOMIC_RELAXED);
		__atomic_store_n(&cpu_run_steps, steps, __ATOMIC_RELAXED);
		return NULL;
	}
	/* an uncached block runs once; else the pass from @start fits (run_loop(), resume()) */
	stop = b->cached ? chain_stop(c) : 0;
	base = c->s.rip - start->off;
	/*
	 * A pass from @start retires the block's instructions from there: the
	 * count is taken back by those before it, so that every pass adds n
	 * and a partial count (cpu_count_partial(): the index of the
	 * instruction from the block's start) stays exact.
	 */
	c->icount -= (u64)(start - b->insn);
	c->blk_base = base;
	if (likely(start == b->insn && end == b->dend))
		goto *b->full;
	/* from the middle (resume()): to the end of the segment @start is in */
	if (unlikely(b->nseg0 < b->ndisp) && end == b->dend) {
		for (p = start; p + 1 < end; p++) {
			if (p->flags & IF_SEG) {
				end = p + 1;
				c->run_end = end;
				goto *ssteps[end - start];
			}
		}
	}
	goto *steps[end - start];
	for (;;) {
		c->blk_base = base;
		goto *b->full;
	seg_start:
		/* a pass in segments (the block's entry, b->full): the first */
		end = b->send0;
		__atomic_store_n(&c->run_end, end, __ATOMIC_RELAXED);
		goto *b->sfull;
	S48: SSTEP(48);
	S47: SSTEP(47);
	S46: SSTEP(46);
	S45: SSTEP(45);
	S44: SSTEP(44);
	S43: SSTEP(43);
	S42: SSTEP(42);
	S41: SSTEP(41);
	S40: SSTEP(40);
	S39: SSTEP(39);
	S38: SSTEP(38);
	S37: SSTEP(37);
	S36: SSTEP(36);
	S35: SSTEP(35);
	S34: SSTEP(34);
	S33: SSTEP(33);
	S32: SSTEP(32);
	S31: SSTEP(31);
	S30: SSTEP(30);
	S29: SSTEP(29);
	S28: SSTEP(28);
	S27: SSTEP(27);
	S26: SSTEP(26);
	S25: SSTEP(25);
	S24: SSTEP(24);
	S23: SSTEP(23);
	S22: SSTEP(22);
	S21: SSTEP(21);
	S20: SSTEP(20);
	S19: SSTEP(19);
	S18: SSTEP(18);
	S17: SSTEP(17);
	S16: SSTEP(16);
	S15: SSTEP(15);
	S14: SSTEP(14);
	S13: SSTEP(13);
	S12: SSTEP(12);
	S11: SSTEP(11);
	S10: SSTEP(10);
	S9: SSTEP(9);
	S8: SSTEP(8);
	S7: SSTEP(7);
	S6: SSTEP(6);
	S5: SSTEP(5);
	S4: SSTEP(4);
	S3: SSTEP(3);
	S2: SSTEP(2);
	S1: SSTEP(1);
		/* a segment's end */
		if (unlikely(__atomic_load_n(&c->req_park, __ATOMIC_RELAXED))) {
			if (c->park) {
				/*
				 * The count is the pass's: as at the exit
				 * (cpu_cont_drop()).  Back here, the VMRESUME saw
				 * no request (cpu_cont_valid()).
				 */
				c->park = false;
				fiber_to_host(c->fiber);
				cpu_cont_resume(c);
			} else if (__atomic_load_n(&c->req, __ATOMIC_RELAXED)) {
				/* stop after it, as at a block's end */
				c->s.rip += end[-1].len;
				c->icount += (u64)(end - b->insn);
				c->cur_block = NULL;
				return NULL;
			}
		}
		k = (u32)end[-1].seg_next;
		end += k;
		__atomic_store_n(&c->run_end, end, __ATOMIC_RELAXED);
		if (end != b->dend)
			goto *ssteps[k];
		goto *steps[k];
	L48: STEP(48);
	L47: STEP(47);
	L46: STEP(46);
	L45: STEP(45);
	L44: STEP(44);
	L43: STEP(43);
	L42: STEP(42);
	L41: STEP(41);
	L40: STEP(40);
	L39: STEP(39);
	L38: STEP(38);
	L37: STEP(37);
	L36: STEP(36);
	L35: STEP(35);
	L34: STEP(34);
	L33: STEP(33);
	L32: STEP(32);
	L31: STEP(31);
	L30: STEP(30);
	L29: STEP(29);
	L28: STEP(28);
	L27: STEP(27);
	L26: STEP(26);
	L25: STEP(25);
	L24: STEP(24);
	L23: STEP(23);
	L22: STEP(22);
	L21: STEP(21);
	L20: STEP(20);
	L19: STEP(19);
	L18: STEP(18);
	L17: STEP(17);
	L16: STEP(16);
	L15: STEP(15);
	L14: STEP(14);
	L13: STEP(13);
	L12: STEP(12);
	L11: STEP(11);
	L10: STEP(10);
	L9: STEP(9);
	L8: STEP(8);
	L7: STEP(7);
	L6: STEP(6);
	L5: STEP(5);
	L4: STEP(4);
	L3: STEP(3);
	L2: STEP(2);
	L1: STEP(1);
		rip = c->s.rip + end[-1].len;
		c->s.rip = rip;
		icount = c->icount + b->n;
		c->icount = icount;
		/*
		 * On while nothing is pending (c->req) and nothing that a link
		 * depends on changed: into this block again when it branches
		 * back to its own start, else into a block it is linked to
		 * (run_loop() made the link).  An exit at the block's end
		 * (c->park, in the same word as req) is parked here first,
		 * then the run goes on as after the block.
		 */
		if (unlikely(__atomic_load_n(&c->req_park, __ATOMIC_RELAXED))) {
			if (!c->park)
				return b;
			cpu_park(c, icount, b->n);
			icount = c->icount;
			if (__atomic_load_n(&c->req, __ATOMIC_RELAXED))
				return b;
		}
		/*
		 * Links that no longer hold after a VMM signal alone still let
		 * the block go on at its own start if its bytes were compared
		 * since (self_epoch): the branch below.
		 */
		if (unlikely(!links_hold_chained(c, b)) &&
		    (rip != b->rip || b->self_epoch != c->link_epoch))
			return b;
		if (likely(rip == b->rip)) {
			if (unlikely(icount >= stop))
				return b;
			/* = c->s.rip, without waiting for the store that just made it */
			base = rip;
			continue;
		}
		/* the run goes on at the (parked) exit's next instruction: RIP as the pass left it */
		base = rip;
		if (rip == b->link_rip[0])
			nb = b->link[0];
		else if (rip == b->link_rip[1])
			nb = b->link[1];
		else
			return b;
		/* @stop: the next block's whole run fits (chain_stop(); it is cached) */
		if (icount >= stop)
			return b;
		b = nb;
		end = b->dend;
		c->cur_block = b;
		/* (a plain store: GCC would pair the two through a vector register) */
		__atomic_store_n(&c->run_end, end, __ATOMIC_RELAXED);
	}
}
#undef SSTEP
#undef STEP

/* Put over the insn after one that wrote its own block's code (icache.c): stop before it. */
void op_smc_stop(struct cpu *c, const struct insn *i)
{
	cpu_jump(c, 3);
}

/*
 * The instruction an exit left the run at (cpu_exit_now() from a handler,
 * run()), or the one after it, which is where the owner resumes after
 * skipping the instruction (VMRESUME after KVM advanced RIP by the exit's
 * instruction length): with nothing pending at this boundary and the
 * block still valid under the conditions of a link (arena generation,
 * link epoch: mode, CS, TLB; code_wgen: no code page written anywhere),
 * the rest of its block runs at once, without a lookup; its dead-flag
 * marks hold for any tail, since the instruction that exited reads every
 * flag (insn_flags()).  Return: that block (for chaining: also when the
 * instruction was its last, so that the block after it is reached by a
 * link), or NULL.
 */
static struct block *resume(struct cpu *c)
{
	struct block *b = c->resume_b;
	const struct insn *at, *end;
	u64 base = c->resume_base;

	c->resume_b = NULL;
	if (__atomic_load_n(&c->req, __ATOMIC_RELAXED) || !c->budget_soft ||
	    c->icount >= c->budget_end || c->resume_gen != c->icache_gen ||
	    c->resume_wgen != __atomic_load_n(&code_wgen, __ATOMIC_RELAXED))
		return NULL;
	/* only a VMM signal since (cpu_code_sync()): on if the block's bytes are the same */
	if (unlikely(c->resume_epoch != c->link_epoch) &&
	    (!icache_epoch_soft(c, c->resume_epoch) || !icache_verify(c, b)))
		return NULL;
	at = &b->insn[c->resume_k];
	/* a fused pair runs from its first half (run_loop()) */
	end = b->insn + b->ndisp;
	if (c->s.rip == base + at->off + at->len)
		at++;
	else if (c->s.rip != base + at->off)
		return NULL;
	/*
	 * It ended the block (a branch, or an exit in place that was its last): on into the
	 * block linked to it there, as run_block() goes on (else run_loop()
	 * finds the block and links it).
	 */
	if (at == b->insn + b->n) {
		struct block *nb = NULL;

		if ((b->link_epoch != c->link_epoch || b->link_wgen != c->resume_wgen) &&
		    !icache_links_recheck(c, b))
			return b;
		if (b->link_rip[0] == c->s.rip)
			nb = b->link[0];
		else if (b->link_rip[1] == c->s.rip)
			nb = b->link[1];
		if (!nb || c->icount >= block_stop(c, nb))
			return b;
		end = nb->dend;
		c->cur_block = nb;
		c->run_end = end;
		return run_block(c, nb, nb->insn, end);
	}
	if (at >= end)
		return NULL;
	c->cur_block = b;
	c->run_end = end;
	return run_block(c, b, at, end);
}

/*
 * The block loop.  Kept out of cpu_run() so that setjmp() there does not
 * force every variable of the hot loop into memory.
 */
static __attribute__((noinline)) enum cpu_exit run_loop(struct cpu *c)
{
	struct block *b = NULL;	/* the block just run, for chaining */

	if (c->resume_b)
		b = resume(c);
	for (;;) {
		struct block *nb = NULL;
		const struct insn *i, *end;
		bool shadow = false, step = false;
		u64 left;
		u32 n, disp;

		/* Not run_block()'s: not expected (cpu_exit_prepare_park()), but never skipped. */
		if (unlikely(c->park))
			cpu_park(c, c->icount, c->cur_block->n);

		if (unlikely(__atomic_load_n(&c->req, __ATOMIC_RELAXED))) {
			int e;
			c->cur_block = NULL;
			e = boundary(c, &shadow);
			if (e >= 0)
				return finish(c, (enum cpu_exit)e);
			/* TF at the start of an instruction: #DB trap after it (SDM 18.3.1.4);
			 * armed breakpoints: one instruction at a time too */
			step = (c->s.rflags & CPU_FLAG_TF) || c->dbg_exec || c->dbg_data;
		}
		left = c->budget_end - c->icount;
		if (unlikely(c->icount >= c->budget_end))
			return finish(c, CPU_EXIT_BUDGET);
		/*
		 * Chaining: a block remembers the two blocks that followed it;
		 * valid while the link epoch (TLB, mode, CS base) is unchanged
		 * and the target's code page generation still matches.
		 */
		/*
		 * No code page was written anywhere since the link was made
		 * (code_wgen), so the target's own generation needs no check.
		 */
		if (b && (links_hold(c, b) || (unlikely(c->link_epoch == c->vmm_epoch) &&
					       icache_links_recheck(c, b)))) {
			u64 rip = c->s.rip;
			if (b->link_rip[0] == rip)
				nb = b->link[0];
			else if (b->link_rip[1] == rip)
				nb = b->link[1];
		}
		if (!nb) {
			u64 gen = c->icache_gen;
			u32 wgen = __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
			struct jmp_cache *j = &c->jc[(c->s.rip ^ (c->s.rip >> 10)) & 1023];
			if (j->rip == c->s.rip && j->epoch == c->link_epoch && j->wgen == wgen &&
			    j->b && c->icache_gen == gen) {
				nb = j->b;
			} else {
				nb = icache_lookup(c);
				if (nb->cached && gen == c->icache_gen) {
					j->rip = c->s.rip;
					j->epoch = c->link_epoch;
					j->wgen = wgen;
					j->b = nb;
				}
			}
			if (b && b->cached && nb->cached && gen == c->icache_gen) {
				if (b->link_epoch != c->link_epoch || b->link_wgen != wgen) {
					block_unlink(b);
					b->link_epoch = c->link_epoch;
					b->link_wgen = wgen;
				}
				int k = b->link[0] ? 1 : 0;
				b->link[k] = nb;
				b->link_rip[k] = nb->rip;
			}
		}
		b = nb;
		n = b->n;
		if (unlikely(shadow || step))
			n = 1;
		else if (unlikely(left < n) && !c->budget_soft)
			n = (u32)left;
		c->cur_block = b;
		c->blk_base = c->s.rip;
		disp = n;
		if (unlikely(b->fused) && !(shadow || step)) {
			if (n == b->n) {
				disp--;	/* the pair's handler runs the last insn too */
			} else if (n == b->n - 1u) {
				/* cut between the pair: stop before it, or run its first half alone */
				if (n > 1) {
					n--;
					disp--;
				} else {
					b->pair_first(c, &b->insn[0]);
					c->s.rip += b->insn[0].len;
					c->icount++;
					continue;
				}
			}
		}
		end = b->insn + disp;
		c->run_end = end;
		if (shadow || step) {
			u32 blocked = c->s.interruptibility &
				      (CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
			bool tf = c->s.rflags & CPU_FLAG_TF, rf = c->s.rflags & CPU_FLAG_RF;
			if (unlikely(c->dbg_exec)) {
				u32 hit = cpu_dbg_exec_check(c);
				if (hit) {
					/*
					 * An instruction breakpoint is a fault.  Unlike other
					 * faults its RFLAGS image keeps RF clear (SDM 18.3.1.1:
					 * the #DB handler sets it, as Linux's does; a VM exit
					 * saves RF likewise, 28.3.3), so the breakpoint hits
					 * again unless the handler resumes with RF.
					 */
					c->dr6_before_db = c->s.dr[6];
					c->db_bits = hit;
					c->s.dr[6] = (c->s.dr[6] & ~0xfull) | hit;
					c->cur_block = NULL;
					cpu_deliver(c, EXC_DB, CPU_EVENT_HWEXC, false, 0, c->s.rip);
					continue;
				}
			}
			c->dbg_hit = 0;
			if (b->fused && b->n == 2)
				b->pair_first(c, &b->insn[0]);
			else
				cpu_exec_exact(c, &b->insn[0]);
			c->s.rip += b->insn[0].len;
			c->s.interruptibility &= ~blocked;
			c->icount++;
			if (rf)
				c->s.rflags &= ~(u64)CPU_FLAG_RF;
			if (tf || c->dbg_hit) {
				/* a fault or INT n would have left already (and cleared TF) */
				c->cur_block = NULL;
				c->dr6_before_db = c->s.dr[6];
				c->db_bits = c->dbg_hit | (tf ? BIT(14) : 0);
				c->s.dr[6] = (c->s.dr[6] & ~0xfull) | c->dbg_hit | (tf ? BIT(14) : 0);
				c->dbg_hit = 0;
				cpu_deliver(c, EXC_DB, CPU_EVENT_HWEXC, false, 0, c->s.rip);
			}
			continue;
		}
		/*
		 * RIP is set from the block start before each handler (no
		 * dependency chain through memory); after the last one it
		 * advances by that insn's length, which also completes a
		 * branch's set_rip().  A handler may pull run_end in (self-
		 * modifying code) to stop after itself.
		 */
		if (unlikely(n != b->n)) {
			/*
			 * cut by the budget: flags exact where the run stops; a
			 * segment's end stops it when a request is pending, as in
			 * run_block()
			 */
			u64 base = c->s.rip;
			for (i = b->insn; i < c->run_end; i++) {
				c->s.rip = base + i->off;
				cpu_exec_exact(c, i);
				if (unlikely(i->flags & IF_SEG) &&
				    __atomic_load_n(&c->req, __ATOMIC_RELAXED) && i + 1 < c->run_end) {
					i++;
					break;
				}
			}
			c->s.rip += i[-1].len;
			c->icount += c->run_end != end || i != end ? (u64)(i - b->insn) : n;
			continue;
		}
		b = run_block(c, b, b->insn, end);
	}
}

/*
 * After a jump back to run() (cpu_jump() code @r): apart from run() so
 * that the core pointer is in a register here, not reloaded from the
 * frame __builtin_setjmp() spilled everything to.  A run_loop() called
 * from here jumps back to the same run() frame, which is still live.
 */
static __attribute__((noinline)) enum cpu_exit run_jumped(struct cpu *c, int r)
{
	c->resume_b = NULL;	/* where it left is noted again for an exit only */
	if (r == 2) {
		count_partial_exit(c);
		return finish(c, (enum cpu_exit)c->exit_reason);
	}
	if (r == 3)	/* restart the loop (op_smc_stop(), INT n): count what retired, once */
		cpu_count_partial(c);
	if (r == 1) {
		int vec = c->fault_vec;
		cpu_count_partial(c);
		c->fault_vec = -1;
		cpu_deliver(c, vec, CPU_EVENT_HWEXC, c->fault_has_err, c->fault_err, c->s.rip);
	}
	return run_loop(c);
}

static enum cpu_exit run(struct cpu *c, u64 budget_end, bool soft)
{
	int r;

	c->budget_end = budget_end;
	c->budget_soft = soft;
	cpu_cont_run_set(c, CPU_CONT_RUN_BUDGET, budget_end == ~0ull && soft);
#ifdef CPU_JB_GLIBC
	r = setjmp(c->jb);
#else
	r = __builtin_setjmp(c->run_jb) ? c->jmp_code : 0;
#endif
	if (r)
		return run_jumped(c, r);
	return run_loop(c);
}

enum cpu_exit cpu_run(struct cpu *c, u64 budget)
{
	return run(c, budget ? c->icount + budget : ~0ull, false);
}

enum cpu_exit cpu_run_slice(struct cpu *c, u64 budget)
{
	return run(c, budget ? c->icount + budget : ~0ull, true);
}

enum cpu_exit cpu_run_boundary(struct cpu *c)
{
	return run(c, c->icount, false);
}

/* Port I/O through the owner's callback; unclaimed reads give all ones. */
int cpu_io_in(struct cpu *c, u16 port, int size, u32 *val)
{
	int r = 0;

	*val = size == 4 ? ~0u : (1u << (8 * size)) - 1;
	if (c->io && c->io->pio)
		r = c->io->pio(c->io_opaque, c, port, size, false, val);
	if (size < 4)
		*val &= (1u << (8 * size)) - 1;
	if (r)
		__atomic_or_fetch(&c->req, REQ_STOP, __ATOMIC_SEQ_CST);
	return r;
}

int cpu_io_out(struct cpu *c, u16 port, int size, u32 val)
{
	int r = 0;

	if (c->io && c->io->pio)
		r = c->io->pio(c->io_opaque, c, port, size, true, &val);
	if (r)
		__atomic_or_fetch(&c->req, REQ_STOP, __ATOMIC_SEQ_CST);
	return r;
}

/* The TSS I/O bitmap must clear every bit of the access (cpu.h cpu_io_allowed()). */
bool cpu_io_bitmap_allowed(struct cpu *c, u16 port, int size)
{
	const struct cpu_seg *tr = &c->s.seg[CPU_SEG_TR];
	u64 base;
	u16 off;
	u32 bits;

	/* a 32/64-bit TSS is needed for a bitmap */
	if ((tr->ar & CPU_AR_UNUSABLE) || ((tr->ar & 0xf) != 0xb && (tr->ar & 0xf) != 0x9))
		return false;
	if (tr->limit < 0x67)
		return false;
	base = tr->base;
	if (unlikely(c->emul))	/* the TSS through the VMM's callbacks (emulate.c) */
		return emul_io_bitmap(c, base, tr->limit, port, size);
	{
		u64 gpa;
		bool w;
		u64 e = paging_walk(c, base + 0x66, ACC_R, false, true, &gpa, &w);
		if (e & BIT_ULL(31))
			return false;
		off = (u16)phys_read(c, gpa, 2);
	}
	if ((u32)off + port / 8 + 1 > tr->limit)
		return false;
	{
		u64 gpa;
		bool w;
		u64 e = paging_walk(c, base + off + port / 8, ACC_R, false, true, &gpa, &w);
		if (e & BIT_ULL(31))
			return false;
		bits = (u32)phys_read(c, gpa, 2);
	}
	return ((bits >> (port & 7)) & ((1u << size) - 1)) == 0;
}
