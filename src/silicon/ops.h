/* SPDX-License-Identifier: MIT */
/*
 * ops.h: operand helpers shared by the instruction handlers (ops_*.c) and
 * the handler prototypes the dispatch tables (optable.c) point at.
 */
#ifndef USERKVM_SILICON_OPS_H
#define USERKVM_SILICON_OPS_H

#include "silicon/cpu.h"
#include "silicon/intercept.h"

#define OP(name) void name(struct cpu *c, const struct insn *i)

static __always_inline u64 ea_lin(struct cpu *c, const struct insn *i, int size, int kind)
{
	return seg_lin(c, i->seg, insn_ea(c, i), size, kind);
}

/*
 * Addressing forms chosen at decode time (optable.c:ea_select()).  In
 * 64-bit mode with a 64-bit address size and a segment whose base is 0
 * (ES-DS, SDM 3.4.4), the linear address is base + disp, base + index *
 * scale + disp, or RIP-relative; the hot memory handlers have a version per
 * form with no operand-kind tests at run time.  Anything else (FS/GS,
 * 32-bit modes, 67h, no base) keeps the generic insn_ea() + seg_lin().
 */
enum { EAF_B, EAF_BI, EAF_RIP, EAF_NR };

static __always_inline u64 ea_form(struct cpu *c, const struct insn *i, int f)
{
	u64 d = (u64)(s64)i->disp;

	if (f == EAF_B)
		return c->s.gpr[i->base] + d;
	if (f == EAF_BI)
		return c->s.gpr[i->base] + (c->s.gpr[i->index] << i->scale) + d;
	return next_rip(c, i) + d;
}

static __always_inline bool canonical48(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

/* Near branch target checks: canonical in 64-bit mode, else CS limit. */
static __always_inline void jump_near(struct cpu *c, const struct insn *i, u64 target)
{
	if (c->code64) {
		if (unlikely(!canonical48(target)))
			cpu_gp0(c);
	} else {
		target &= sz_mask(i->osz);
		if (unlikely(target > c->s.seg[CPU_SEG_CS].limit))
			cpu_gp0(c);
	}
	set_rip(c, i, target);
}

/*
 * For the per-form handlers: the host address of a soft-TLB hit for @size
 * bytes at @lin, or 0 on a miss, in which case the handler tail-calls the
 * generic one (same semantics, slow path included), so the fast path needs
 * no stack frame.
 *
 * The slot is first taken from i->imm2, the slot index of the
 * instruction's last access: its tag and addend load while the address is
 * still being computed, so the access waits for the address only.  A hit
 * there is an ordinary hit (same tag, page and set); the index just
 * predicts which slot to look at.
 */
static __always_inline uintptr_t ea_host(struct cpu *c, const struct insn *i, u64 lin, int size,
					 int kind)
{
	const struct tlb_entry *e = &c->tlb_cur[kind][i->imm2 & (TLB_SIZE - 1)];

	if (likely(e->tag == (lin & ~(u64)0xfff) && (lin & 0xfff) <= 4096u - size))
		return (uintptr_t)(lin + e->addend);
	e = tlb_slot(c, lin, kind);
	if (!tlb_hit(e, lin, size))
		return 0;
	((struct insn *)i)->imm2 = (u16)((lin >> PAGE_SHIFT) & (TLB_SIZE - 1));
	return (uintptr_t)(lin + e->addend);
}

/* r/m operand of size sz */
static __always_inline u64 rm_read(struct cpu *c, const struct insn *i, int sz)
{
	if (!(i->flags & IF_MEM))
		return reg_read(c, i_rm(i, sz), sz);
	return lin_read(c, ea_lin(c, i, 1 << sz, ACC_R), 1 << sz);
}

static __always_inline void rm_write(struct cpu *c, const struct insn *i, int sz, u64 v)
{
	if (!(i->flags & IF_MEM))
		reg_write(c, i_rm(i, sz), sz, v);
	else
		lin_write(c, ea_lin(c, i, 1 << sz, ACC_W), 1 << sz, v);
}

static __always_inline u64 rg_read(struct cpu *c, const struct insn *i, int sz)
{
	return reg_read(c, i_reg(i, sz), sz);
}

static __always_inline void rg_write(struct cpu *c, const struct insn *i, int sz, u64 v)
{
	reg_write(c, i_reg(i, sz), sz, v);
}

/* A read-modify-write memory operand: write access checked up front. */
struct rmw {
	void *p;	/* host pointer, NULL for the slow path */
	u64 lin;
};

static __always_inline u64 rmw_begin_at(struct cpu *c, u64 lin, int sz, struct rmw *m)
{
	int size = 1 << sz;
	void *p = mem_fast(c, lin, size, ACC_W);

	if (unlikely(!p))
		p = mem_ptr_slow(c, lin, size, ACC_W);
	m->p = p;
	m->lin = lin;
	if (likely(p != NULL))
		return ld(p, size);
	return mem_read_slow(c, lin, size, ACC_W);
}

static __always_inline u64 rmw_begin(struct cpu *c, const struct insn *i, int sz, struct rmw *m)
{
	return rmw_begin_at(c, ea_lin(c, i, 1 << sz, ACC_W), sz, m);
}

static __always_inline void rmw_end(struct cpu *c, int sz, struct rmw *m, u64 v)
{
	if (likely(m->p != NULL))
		st(m->p, 1 << sz, v);
	else
		mem_write_slow(c, m->lin, 1 << sz, v, ACC_W);
}

/* Serialises LOCKed accesses that cannot use host atomics (split, MMIO). */
void cpu_bus_lock(void);
void cpu_bus_unlock(void);

/* Every handler the tables name (ops_*.c) */
OP(op_ud);
OP(op_nop);
/* ALU */
OP(op_alu_rm_r); OP(op_alu_r_rm); OP(op_alu_a_imm); OP(op_alu_rm_imm);
OP(op_test_rm_r); OP(op_test_a_imm); OP(op_test_rm_imm);
OP(op_inc_r); OP(op_dec_r); OP(op_grp4_5_incdec);
OP(op_not); OP(op_neg); OP(op_mul); OP(op_imul1); OP(op_div); OP(op_idiv);
OP(op_imul_r_rm); OP(op_imul_r_rm_imm);
OP(op_shift); OP(op_shld); OP(op_shrd);
OP(op_bt); OP(op_bt_imm); OP(op_bsf); OP(op_bsr); OP(op_popcnt);
OP(op_daa); OP(op_das); OP(op_aaa); OP(op_aas); OP(op_aam); OP(op_aad);
OP(op_cbw); OP(op_cwd);
OP(op_setcc); OP(op_cmovcc);
OP(op_xadd); OP(op_cmpxchg); OP(op_cmpxchg8b); OP(op_bswap);
OP(op_xchg_rm_r); OP(op_xchg_a_r);
OP(op_cmc); OP(op_clc); OP(op_stc); OP(op_cld); OP(op_std);
OP(op_sahf); OP(op_lahf); OP(op_salc);
OP(op_crc32); OP(op_adcx);
/* MOV and stack */
OP(op_mov_rm_r); OP(op_mov_r_rm); OP(op_mov_r_imm); OP(op_mov_rm_imm);
OP(op_mov_moffs); OP(op_lea); OP(op_movzx); OP(op_movsx); OP(op_movsxd);
OP(op_movbe);
OP(op_push_r); OP(op_pop_r); OP(op_push_imm); OP(op_pop_rm); OP(op_push_rm);
OP(op_pusha); OP(op_popa); OP(op_enter); OP(op_leave);
OP(op_push_seg); OP(op_pop_seg); OP(op_mov_rm_seg); OP(op_mov_seg_rm);
OP(op_lxs); OP(op_xlat);
/* strings */
OP(op_movs); OP(op_cmps); OP(op_stos); OP(op_lods); OP(op_scas);
OP(op_ins); OP(op_outs);
/* control */
OP(op_jcc); OP(op_jmp_rel); OP(op_call_rel); OP(op_ret); OP(op_jmp_rm);
OP(op_call_rm); OP(op_loop); OP(op_jcxz); OP(op_jmp_far); OP(op_call_far);
OP(op_jmp_far_m); OP(op_call_far_m); OP(op_retf); OP(op_iret);
OP(op_int); OP(op_int3); OP(op_into); OP(op_int1); OP(op_bound);
/* system */
OP(op_hlt); OP(op_cli); OP(op_sti); OP(op_pushf); OP(op_popf);
OP(op_in); OP(op_out);
OP(op_grp6); OP(op_grp7); OP(op_lar); OP(op_lsl); OP(op_clts);
OP(op_mov_r_cr); OP(op_mov_cr_r); OP(op_mov_r_dr); OP(op_mov_dr_r);
OP(op_cpuid); OP(op_rdmsr); OP(op_wrmsr); OP(op_rdtsc); OP(op_rdpmc);
OP(op_syscall); OP(op_sysret); OP(op_sysenter); OP(op_sysexit);
OP(op_invd); OP(op_wbinvd); OP(op_grp15); OP(op_grp9); OP(op_arpl);
OP(op_pause); OP(op_fwait); OP(op_x87); OP(op_invpcid); OP(op_rsm);
OP(op_vmread); OP(op_vmwrite); OP(op_invept); OP(op_invvpid);
/*
 * A compare-and-branch pair run from one handler (icache.c, fuse_jcc()):
 * FIRST runs, then the Jcc after it from a call site of its own, where its
 * target is predictable.  RIP is at the Jcc while it runs (its faults and
 * the count of retired instructions are right); the run loop adds FIRST's
 * length after the last handler, so that is taken back here.
 */
#define FUSE_JCC(F)							\
static void fuse_##F(struct cpu *c, const struct insn *i)		\
{									\
	const struct insn *j = i + 1;					\
	F(c, i);							\
	c->s.rip += i->len;						\
	j->fn(c, j);							\
	c->s.rip += (u64)j->len - i->len;				\
}

extern const insn_fn jcc_tab[16];
extern const insn_fn incdec_reg_tab[2][4];
extern const insn_fn shift_ri_tab[8][4];
extern const insn_fn mov_tab[5][4];
extern const insn_fn mov_ri_tab[4];
extern const insn_fn movx_tab[2][2][2];
extern const insn_fn alu_tab_rm_r[8][4], alu_tab_r_rm[8][4], alu_tab_rm_imm[8][4],
	alu_tab_a_imm[8][4], alu_tab_rr[8][4], alu_tab_rr2[8][4], alu_tab_ri[8][4];
/* Per addressing form (EAF_*): ALU with memory, MOV load/store/store-imm, MOVZX/MOVSX, LEA */
extern const insn_fn alu_ea_tab_rm_r[EAF_NR][8][4], alu_ea_tab_r_rm[EAF_NR][8][4],
	alu_ea_tab_rm_imm[EAF_NR][8][4];
extern const insn_fn mov_ea_tab[EAF_NR][3][4];
extern const insn_fn movx_ea_tab[EAF_NR][2][2][4];
extern const insn_fn lea_ea_tab[EAF_NR][2];
extern const insn_fn movx_rr_tab[2][2][4];

#endif
