// SPDX-License-Identifier: MIT
/*
 * ops_alu.c: integer arithmetic and logic (SDM vol. 2).
 *
 * The eight classic ALU operations come in one handler per (operation,
 * operand size) for register forms so the hot loops dispatch straight to
 * specialised code; flags are lazy (flags.c).  LOCKed forms use host
 * atomics on the guest page (compare-and-swap loops), so they are atomic
 * against other vCPU threads.
 */
#include <pthread.h>

/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
#include "silicon/ops.h"

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
/* Not under the emulation assist: its accesses may longjmp out (emulate.c). */
void cpu_bus_lock(void) { if (!cpu_emulating) pthread_mutex_lock(&bus_lock); }
void cpu_bus_unlock(void) { if (!cpu_emulating) pthread_mutex_unlock(&bus_lock); }

enum { K_ADD, K_OR, K_ADC, K_SBB, K_AND, K_SUB, K_XOR, K_CMP };

static __always_inline u64 alu_op(struct cpu *c, int k, int sz, u64 a, u64 b)
{
	u64 m = sz_mask(sz), r;

	switch (k) {
	case K_ADD:
		r = (a + b) & m;
		lf_set(c, LF_ADD, sz, r, a, b);
		return r;
	case K_OR:
		r = a | b;
		lf_set_logic(c, sz, r);
		return r;
	case K_ADC:
		r = (a + b + get_cf(c)) & m;
		lf_set(c, LF_ADC, sz, r, a, b);
		return r;
	case K_SBB:
		r = (a - b - get_cf(c)) & m;
		lf_set(c, LF_SBB, sz, r, a, b);
		return r;
	case K_AND:
		r = a & b;
		lf_set_logic(c, sz, r);
		return r;
	case K_SUB:
	case K_CMP:
		r = (a - b) & m;
		lf_set(c, LF_SUB, sz, r, a, b);
		return r;
	default:
		r = a ^ b;
		lf_set_logic(c, sz, r);
		return r;
	}
}

/* Compare-and-swap on guest memory for LOCK; falls back to the bus lock. */
static __always_inline bool host_cas(void *p, int sz, u64 *old, u64 new)
{
	switch (sz) {
	case SZ8: { u8 o = (u8)*old; bool ok = __atomic_compare_exchange_n((u8 *)p, &o, (u8)new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return ok; }
	case SZ16: { u16 o = (u16)*old; bool ok = __atomic_compare_exchange_n((u16 *)p, &o, (u16)new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return ok; }
	case SZ32: { u32 o = (u32)*old; bool ok = __atomic_compare_exchange_n((u32 *)p, &o, (u32)new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return ok; }
	default: return __atomic_compare_exchange_n((u64 *)p, old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

/*
 * A locked read-modify-write: @fn computes the new value from the old; it
 * may run more than once (CAS retry), so it must not have side effects
 * other than the lazy flags, which the last run leaves.
 */
#define LOCKED_RMW(c, i, sz, m, old, NEWEXPR)				\
	do {								\
		if (m.p && ((uintptr_t)m.p & ((1u << (sz)) - 1)) == 0) { \
			u64 __new;					\
			for (;;) {					\
				__new = (NEWEXPR);			\
				if (host_cas(m.p, sz, &old, __new))	\
					break;				\
			}						\
		} else {						\
			cpu_bus_lock();					\
			old = m.p ? ld(m.p, 1 << (sz)) : mem_read_slow(c, m.lin, 1 << (sz), ACC_W); \
			u64 __new = (NEWEXPR);				\
			rmw_end(c, sz, &m, __new);			\
			cpu_bus_unlock();				\
		}							\
	} while (0)

/* The value alone, for results whose flags are dead (alu_flagless()); no ADC/SBB. */
static __always_inline u64 alu_val(int k, int sz, u64 a, u64 b)
{
	u64 m = sz_mask(sz);

	switch (k) {
	case K_ADD: return (a + b) & m;
	case K_OR: return a | b;
	case K_AND: return a & b;
	case K_SUB: case K_CMP: return (a - b) & m;
	default: return a ^ b;
	}
}

/* ALU op with the memory operand at @lin (read-only for CMP, else read-modify-write). */
static __always_inline void alu_mem_at(struct cpu *c, const struct insn *i, int k, int sz, u64 b,
				       u64 lin)
{
	struct rmw m;
	u64 a;

	if (k == K_CMP) {
		a = lin_read(c, lin, 1 << sz);
		alu_op(c, k, sz, a, b);
		return;
	}
	a = rmw_begin_at(c, lin, sz, &m);
	if (unlikely(i->flags & IF_LOCK)) {
		u8 save_op = c->lf_op;
		u64 s1 = c->lf_s1, s2 = c->lf_s2, res = c->lf_res;
		u8 lsz = c->lf_sz;
		LOCKED_RMW(c, i, sz, m, a, ({
			/* restore the flags ADC/SBB read on every retry */
			c->lf_op = save_op; c->lf_s1 = s1; c->lf_s2 = s2; c->lf_res = res; c->lf_sz = lsz;
			alu_op(c, k, sz, a, b); }));
		return;
	}
	rmw_end(c, sz, &m, alu_op(c, k, sz, a, b));
}

static __always_inline void alu_mem(struct cpu *c, const struct insn *i, int k, int sz, u64 b)
{
	alu_mem_at(c, i, k, sz, b, ea_lin(c, i, 1 << sz, k == K_CMP ? ACC_R : ACC_W));
}

#define ALU_REG(K, SZ)							\
static void alu_rm_r_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 b = reg_read(c, i_reg(i, SZ), SZ);				\
	if (!(i->flags & IF_MEM)) {					\
		int r = i_rm(i, SZ);					\
		u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), b);	\
		if (K != K_CMP)						\
			reg_write(c, r, SZ, v);				\
	} else {							\
		alu_mem(c, i, K, SZ, b);				\
	}								\
}									\
static void alu_r_rm_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 b = rm_read(c, i, SZ);					\
	int r = i_reg(i, SZ);						\
	u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), b);		\
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_rm_imm_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 b = i->imm & sz_mask(SZ);					\
	if (!(i->flags & IF_MEM)) {					\
		int r = i_rm(i, SZ);					\
		u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), b);	\
		if (K != K_CMP)						\
			reg_write(c, r, SZ, v);				\
	} else {							\
		alu_mem(c, i, K, SZ, b);				\
	}								\
}									\
static void alu_a_imm_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 v = alu_op(c, K, SZ, reg_read(c, 0, SZ), i->imm & sz_mask(SZ)); \
	if (K != K_CMP)							\
		reg_write(c, 0, SZ, v);					\
}

/* Register-only forms, chosen at decode time: no operand-kind test at run time. */
#define ALU_RR(K, SZ)							\
static void alu_rr_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), reg_read(c, i_reg(i, SZ), SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_rr2_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_reg(i, SZ);						\
	u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), reg_read(c, i_rm(i, SZ), SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_ri_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = alu_op(c, K, SZ, reg_read(c, r, SZ), i->imm & sz_mask(SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}

#define ALU_SIZES(K) ALU_REG(K, SZ8) ALU_REG(K, SZ16) ALU_REG(K, SZ32) ALU_REG(K, SZ64) \
	ALU_RR(K, SZ8) ALU_RR(K, SZ16) ALU_RR(K, SZ32) ALU_RR(K, SZ64)
ALU_SIZES(K_ADD) ALU_SIZES(K_OR) ALU_SIZES(K_ADC) ALU_SIZES(K_SBB)
ALU_SIZES(K_AND) ALU_SIZES(K_SUB) ALU_SIZES(K_XOR) ALU_SIZES(K_CMP)

#define ALU_ROW(F, K) { F##_##K##_SZ8, F##_##K##_SZ16, F##_##K##_SZ32, F##_##K##_SZ64 }
#define ALU_TAB(F) { ALU_ROW(F, K_ADD), ALU_ROW(F, K_OR), ALU_ROW(F, K_ADC), ALU_ROW(F, K_SBB), \
		     ALU_ROW(F, K_AND), ALU_ROW(F, K_SUB), ALU_ROW(F, K_XOR), ALU_ROW(F, K_CMP) }
const insn_fn alu_tab_rm_r[8][4] = ALU_TAB(alu_rm_r);
const insn_fn alu_tab_r_rm[8][4] = ALU_TAB(alu_r_rm);
const insn_fn alu_tab_rm_imm[8][4] = ALU_TAB(alu_rm_imm);
const insn_fn alu_tab_a_imm[8][4] = ALU_TAB(alu_a_imm);
const insn_fn alu_tab_rr[8][4] = ALU_TAB(alu_rr);
const insn_fn alu_tab_rr2[8][4] = ALU_TAB(alu_rr2);
const insn_fn alu_tab_ri[8][4] = ALU_TAB(alu_ri);

/*
 * Memory forms per addressing form (ops.h, EAF_*; chosen by ea_select()):
 * the same semantics as alu_rm_r/alu_r_rm/alu_rm_imm with the linear
 * address computed without the generic operand tests.
 */
#define ALU_EA(K, SZ, F)						\
static void alu_rm_r_##K##_##SZ##_##F(struct cpu *c, const struct insn *i) \
{									\
	u64 lin = ea_form(c, i, F), v;					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, K == K_CMP ? ACC_R : ACC_W); \
	if (unlikely(!h || (K != K_CMP && (i->flags & IF_LOCK))))	\
		{ alu_rm_r_##K##_##SZ(c, i); return; }		\
	v = alu_op(c, K, SZ, ld((void *)h, 1 << SZ), reg_read(c, i_reg(i, SZ), SZ)); \
	if (K != K_CMP)							\
		st((void *)h, 1 << SZ, v);				\
}									\
static void alu_r_rm_##K##_##SZ##_##F(struct cpu *c, const struct insn *i) \
{									\
	u64 lin = ea_form(c, i, F), v;					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, ACC_R);			\
	int r = i_reg(i, SZ);						\
	if (unlikely(!h))						\
		{ alu_r_rm_##K##_##SZ(c, i); return; }		\
	v = alu_op(c, K, SZ, reg_read(c, r, SZ), ld((void *)h, 1 << SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_rm_imm_##K##_##SZ##_##F(struct cpu *c, const struct insn *i) \
{									\
	u64 lin = ea_form(c, i, F), v;					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, K == K_CMP ? ACC_R : ACC_W); \
	if (unlikely(!h || (K != K_CMP && (i->flags & IF_LOCK))))	\
		{ alu_rm_imm_##K##_##SZ(c, i); return; }		\
	v = alu_op(c, K, SZ, ld((void *)h, 1 << SZ), i->imm & sz_mask(SZ)); \
	if (K != K_CMP)							\
		st((void *)h, 1 << SZ, v);				\
}
#define ALU_EA_SZ(K, F) ALU_EA(K, SZ8, F) ALU_EA(K, SZ16, F) ALU_EA(K, SZ32, F) ALU_EA(K, SZ64, F)
#define ALU_EA_K(F) ALU_EA_SZ(K_ADD, F) ALU_EA_SZ(K_OR, F) ALU_EA_SZ(K_ADC, F) \
	ALU_EA_SZ(K_SBB, F) ALU_EA_SZ(K_AND, F) ALU_EA_SZ(K_SUB, F) ALU_EA_SZ(K_XOR, F) \
	ALU_EA_SZ(K_CMP, F)
ALU_EA_K(EAF_B) ALU_EA_K(EAF_BI) ALU_EA_K(EAF_RIP)

#define ALU_EA_ROW(P, K, F) { P##_##K##_SZ8_##F, P##_##K##_SZ16_##F, P##_##K##_SZ32_##F, \
			      P##_##K##_SZ64_##F }
#define ALU_EA_TAB(P, F) { ALU_EA_ROW(P, K_ADD, F), ALU_EA_ROW(P, K_OR, F), ALU_EA_ROW(P, K_ADC, F), \
	ALU_EA_ROW(P, K_SBB, F), ALU_EA_ROW(P, K_AND, F), ALU_EA_ROW(P, K_SUB, F), \
	ALU_EA_ROW(P, K_XOR, F), ALU_EA_ROW(P, K_CMP, F) }
#define ALU_EA_TABS(P) { [EAF_B] = ALU_EA_TAB(P, EAF_B), [EAF_BI] = ALU_EA_TAB(P, EAF_BI), \
			 [EAF_RIP] = ALU_EA_TAB(P, EAF_RIP) }
const insn_fn alu_ea_tab_rm_r[EAF_NR][8][4] = ALU_EA_TABS(alu_rm_r);
const insn_fn alu_ea_tab_r_rm[EAF_NR][8][4] = ALU_EA_TABS(alu_r_rm);
const insn_fn alu_ea_tab_rm_imm[EAF_NR][8][4] = ALU_EA_TABS(alu_rm_imm);

/*
 * Register forms whose flag results are dead (IF_FDEAD, icache.c): the
 * value only; the lazy flags keep describing an earlier instruction, whose
 * flags are just as dead.  CMP becomes a no-op.  ADC/SBB keep their flags.
 */
#define ALU_NF(K, SZ)							\
static void alu_rr_nf_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = alu_val(K, SZ, reg_read(c, r, SZ), reg_read(c, i_reg(i, SZ), SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_rr2_nf_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_reg(i, SZ);						\
	u64 v = alu_val(K, SZ, reg_read(c, r, SZ), reg_read(c, i_rm(i, SZ), SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_ri_nf_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = alu_val(K, SZ, reg_read(c, r, SZ), i->imm & sz_mask(SZ)); \
	if (K != K_CMP)							\
		reg_write(c, r, SZ, v);					\
}									\
static void alu_a_imm_nf_##K##_##SZ(struct cpu *c, const struct insn *i) \
{									\
	u64 v = alu_val(K, SZ, reg_read(c, 0, SZ), i->imm & sz_mask(SZ)); \
	if (K != K_CMP)							\
		reg_write(c, 0, SZ, v);					\
}
#define ALU_NF_SZ(K) ALU_NF(K, SZ8) ALU_NF(K, SZ16) ALU_NF(K, SZ32) ALU_NF(K, SZ64)
ALU_NF_SZ(K_ADD) ALU_NF_SZ(K_OR) ALU_NF_SZ(K_AND) ALU_NF_SZ(K_SUB) ALU_NF_SZ(K_XOR) ALU_NF_SZ(K_CMP)
#define ALU_NF_ROW(F, K) { F##_nf_##K##_SZ8, F##_nf_##K##_SZ16, F##_nf_##K##_SZ32, F##_nf_##K##_SZ64 }
#define ALU_NF_TAB(F) { [K_ADD] = ALU_NF_ROW(F, K_ADD), [K_OR] = ALU_NF_ROW(F, K_OR), \
	[K_AND] = ALU_NF_ROW(F, K_AND), [K_SUB] = ALU_NF_ROW(F, K_SUB), \
	[K_XOR] = ALU_NF_ROW(F, K_XOR), [K_CMP] = ALU_NF_ROW(F, K_CMP) }
/* [form: rr, rr2, ri, a_imm][K][SZ]; NULL for ADC/SBB */
static const insn_fn alu_nf_tab[4][8][4] = {
	ALU_NF_TAB(alu_rr), ALU_NF_TAB(alu_rr2), ALU_NF_TAB(alu_ri), ALU_NF_TAB(alu_a_imm),
};
static const insn_fn (*const alu_full_tab[4])[4] = {
	alu_tab_rr, alu_tab_rr2, alu_tab_ri, alu_tab_a_imm,
};

OP(op_test_rm_r)
{
	int sz = i->osz;
	u64 r = rm_read(c, i, sz) & rg_read(c, i, sz);
	lf_set_logic(c, sz, r);
}

OP(op_test_a_imm)
{
	int sz = i->osz;
	lf_set_logic(c, sz, reg_read(c, 0, sz) & i->imm & sz_mask(sz));
}

OP(op_test_rm_imm)
{
	int sz = i->osz;
	lf_set_logic(c, sz, rm_read(c, i, sz) & i->imm & sz_mask(sz));
}

/* INC/DEC: like ADD/SUB 1 but CF is kept. */
static __always_inline u64 incdec(struct cpu *c, int sz, u64 a, bool dec)
{
	u64 r = (dec ? a - 1 : a + 1) & sz_mask(sz);
	c->lf_cf = get_cf(c);
	/* INC/DEC flags need only the result (flags.c) */
	c->lf_op = dec ? LF_DEC : LF_INC;
	c->lf_sz = sz;
	c->lf_res = r;
	return r;
}

/*
 * INC/DEC whose CF comes from a logic op earlier in its block (icache.c,
 * incdec_after_logic()): CF is 0 (SDM: AND/OR/XOR/TEST clear it), so it
 * needs no computing from the lazy flags.
 */
#define INCDEC_CF0(SZ)							\
static void op_inc_reg_cf0_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = (reg_read(c, r, SZ) + 1) & sz_mask(SZ);			\
	c->lf_cf = 0;							\
	c->lf_op = LF_INC;						\
	c->lf_sz = SZ;							\
	c->lf_res = v;							\
	reg_write(c, r, SZ, v);						\
}									\
static void op_dec_reg_cf0_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	u64 v = (reg_read(c, r, SZ) - 1) & sz_mask(SZ);			\
	c->lf_cf = 0;							\
	c->lf_op = LF_DEC;						\
	c->lf_sz = SZ;							\
	c->lf_res = v;							\
	reg_write(c, r, SZ, v);						\
}
INCDEC_CF0(SZ8) INCDEC_CF0(SZ16) INCDEC_CF0(SZ32) INCDEC_CF0(SZ64)
static const insn_fn incdec_cf0_tab[2][4] = {
	{ op_inc_reg_cf0_SZ8, op_inc_reg_cf0_SZ16, op_inc_reg_cf0_SZ32, op_inc_reg_cf0_SZ64 },
	{ op_dec_reg_cf0_SZ8, op_dec_reg_cf0_SZ16, op_dec_reg_cf0_SZ32, op_dec_reg_cf0_SZ64 },
};

OP(op_inc_r)
{
	int sz = i->osz;
	reg_write(c, i->reg, sz, incdec(c, sz, reg_read(c, i->reg, sz), false));
}

OP(op_dec_r)
{
	int sz = i->osz;
	reg_write(c, i->reg, sz, incdec(c, sz, reg_read(c, i->reg, sz), true));
}

/* FE/FF /0 /1 with a register operand, per size */
#define INCDEC_REG(SZ)							\
static void op_inc_reg_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	reg_write(c, r, SZ, incdec(c, SZ, reg_read(c, r, SZ), false));	\
}									\
static void op_dec_reg_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	reg_write(c, r, SZ, incdec(c, SZ, reg_read(c, r, SZ), true));	\
}
INCDEC_REG(SZ8) INCDEC_REG(SZ16) INCDEC_REG(SZ32) INCDEC_REG(SZ64)
const insn_fn incdec_reg_tab[2][4] = {
	{ op_inc_reg_SZ8, op_inc_reg_SZ16, op_inc_reg_SZ32, op_inc_reg_SZ64 },
	{ op_dec_reg_SZ8, op_dec_reg_SZ16, op_dec_reg_SZ32, op_dec_reg_SZ64 },
};

/*
 * INC/DEC whose CF comes from an ADD or a SUB/CMP of size PSZ earlier in its
 * block (icache.c, incdec_after()): when the lazy flags still describe that
 * operation (tested: an exit or a fault in between leaves them computed),
 * CF is the carry or borrow of its operands, one compare; else the
 * unspecialized handler runs (a tail call: the fast path needs no frame).
 */
static __always_inline bool lf_is(const struct cpu *c, int op, int sz)
{
	u16 v;

	_Static_assert(offsetof(struct cpu, lf_sz) == offsetof(struct cpu, lf_op) + 1,
		       "lf_op and lf_sz are read as one 16-bit word");
	memcpy(&v, &c->lf_op, 2);
	return v == (u16)(op | sz << 8);
}

/* get_cf() when lf_is(c, pop, psz) */
static __always_inline bool cf_of(const struct cpu *c, int pop, int psz)
{
	u64 m = sz_mask(psz);

	if (pop == LF_ADD)	/* res = (s1 + s2) mod 2^n: carry iff res < s1 */
		return (c->lf_res & m) < (c->lf_s1 & m);
	return (c->lf_s1 & m) < (c->lf_s2 & m);	/* LF_SUB: borrow */
}

/* The INC/DEC of a register after an op @pop of size @psz; false: not the case, nothing done */
static __always_inline bool incdec_after_op(struct cpu *c, const struct insn *i, int sz,
					    bool dec, int pop, int psz, u64 *res)
{
	int r = i_rm(i, sz);
	u64 v;

	if (unlikely(!lf_is(c, pop, psz)))
		return false;
	v = (dec ? reg_read(c, r, sz) - 1 : reg_read(c, r, sz) + 1) & sz_mask(sz);
	c->lf_cf = cf_of(c, pop, psz);
	c->lf_op = dec ? LF_DEC : LF_INC;
	c->lf_sz = sz;
	c->lf_res = v;
	reg_write(c, r, sz, v);
	*res = v;
	return true;
}

#define INCDEC_AFTER(SZ, P, POP, PSZ)					\
static void op_inc_reg_##P##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 v;								\
	if (!incdec_after_op(c, i, SZ, false, POP, PSZ, &v))		\
		op_inc_reg_##SZ(c, i);					\
}									\
static void op_dec_reg_##P##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	u64 v;								\
	if (!incdec_after_op(c, i, SZ, true, POP, PSZ, &v))		\
		op_dec_reg_##SZ(c, i);					\
}
#define INCDEC_AFTER_P(SZ) INCDEC_AFTER(SZ, add64, LF_ADD, SZ64) INCDEC_AFTER(SZ, add32, LF_ADD, SZ32) \
	INCDEC_AFTER(SZ, sub64, LF_SUB, SZ64) INCDEC_AFTER(SZ, sub32, LF_SUB, SZ32)
INCDEC_AFTER_P(SZ64) INCDEC_AFTER_P(SZ32)
/* [inc/dec][SZ32/SZ64][add64, add32, sub64, sub32] */
static const insn_fn incdec_after_tab[2][2][4] = {
	{ { op_inc_reg_add64_SZ32, op_inc_reg_add32_SZ32, op_inc_reg_sub64_SZ32, op_inc_reg_sub32_SZ32 },
	  { op_inc_reg_add64_SZ64, op_inc_reg_add32_SZ64, op_inc_reg_sub64_SZ64, op_inc_reg_sub32_SZ64 } },
	{ { op_dec_reg_add64_SZ32, op_dec_reg_add32_SZ32, op_dec_reg_sub64_SZ32, op_dec_reg_sub32_SZ32 },
	  { op_dec_reg_add64_SZ64, op_dec_reg_add32_SZ64, op_dec_reg_sub64_SZ64, op_dec_reg_sub32_SZ64 } },
};


/* FE/FF /0 /1 */
OP(op_grp4_5_incdec)
{
	int sz = i->osz;
	bool dec = (i->modrm >> 3) & 1;
	struct rmw m;
	u64 a;

	if (!(i->flags & IF_MEM)) {
		int r = i_rm(i, sz);
		reg_write(c, r, sz, incdec(c, sz, reg_read(c, r, sz), dec));
		return;
	}
	a = rmw_begin(c, i, sz, &m);
	if (i->flags & IF_LOCK) {
		u8 cf = get_cf(c);
		LOCKED_RMW(c, i, sz, m, a, (dec ? a - 1 : a + 1) & sz_mask(sz));
		lf_set(c, dec ? LF_DEC : LF_INC, sz, (dec ? a - 1 : a + 1) & sz_mask(sz), a, 1);
		c->lf_cf = cf;
		return;
	}
	rmw_end(c, sz, &m, incdec(c, sz, a, dec));
}

OP(op_not)
{
	int sz = i->osz;
	struct rmw m;
	u64 a;

	if (!(i->flags & IF_MEM)) {
		int r = i_rm(i, sz);
		reg_write(c, r, sz, ~reg_read(c, r, sz));
		return;
	}
	a = rmw_begin(c, i, sz, &m);
	if (i->flags & IF_LOCK) {
		LOCKED_RMW(c, i, sz, m, a, ~a & sz_mask(sz));
		return;
	}
	rmw_end(c, sz, &m, ~a);
}

static __always_inline u64 neg_op(struct cpu *c, int sz, u64 a)
{
	u64 r = (0 - a) & sz_mask(sz);
	lf_set(c, LF_SUB, sz, r, 0, a);
	return r;
}

OP(op_neg)
{
	int sz = i->osz;
	struct rmw m;
	u64 a;

	if (!(i->flags & IF_MEM)) {
		int r = i_rm(i, sz);
		reg_write(c, r, sz, neg_op(c, sz, reg_read(c, r, sz)));
		return;
	}
	a = rmw_begin(c, i, sz, &m);
	if (i->flags & IF_LOCK) {
		LOCKED_RMW(c, i, sz, m, a, neg_op(c, sz, a));
		return;
	}
	rmw_end(c, sz, &m, neg_op(c, sz, a));
}

/* Flags from a result for the instructions that define only SF/ZF/PF. */
static u64 szp(u64 r, int sz)
{
	u64 f = 0;
	if ((r & sz_mask(sz)) == 0)
		f |= CPU_FLAG_ZF;
	if ((r >> ((8 << sz) - 1)) & 1)
		f |= CPU_FLAG_SF;
	if (parity8(r))
		f |= CPU_FLAG_PF;
	return f;
}

/* F6/F7 /4: MUL; CF = OF = high half non-zero (SF ZF AF PF undefined) */
OP(op_mul)
{
	int sz = i->osz;
	u64 b = rm_read(c, i, sz), a = reg_read(c, 0, sz), lo, hi;

	if (sz == SZ64) {
		unsigned __int128 p = (unsigned __int128)a * b;
		lo = (u64)p;
		hi = (u64)(p >> 64);
	} else {
		u64 p = a * b;
		lo = p & sz_mask(sz);
		hi = p >> (8 << sz);
	}
	if (sz == SZ8)
		reg_write(c, 0, SZ16, (hi << 8) | lo);
	else {
		reg_write(c, 0, sz, lo);
		reg_write(c, 2, sz, hi);
	}
	cpu_set_arith(c, (hi ? CPU_FLAG_CF | CPU_FLAG_OF : 0) | szp(lo, sz));
}

/* F6/F7 /5: one-operand IMUL; CF = OF = result does not fit the low half */
OP(op_imul1)
{
	int sz = i->osz;
	s64 b = (s64)sext(rm_read(c, i, sz), sz), a = (s64)sext(reg_read(c, 0, sz), sz);
	u64 lo, hi;
	bool ov;

	if (sz == SZ64) {
		__int128 p = (__int128)a * b;
		lo = (u64)p;
		hi = (u64)((unsigned __int128)p >> 64);
		ov = p != (__int128)(s64)lo;
	} else {
		s64 p = a * b;
		lo = (u64)p & sz_mask(sz);
		hi = ((u64)p >> (8 << sz)) & sz_mask(sz);
		ov = p != (s64)sext(lo, sz);
	}
	if (sz == SZ8)
		reg_write(c, 0, SZ16, (hi << 8) | lo);
	else {
		reg_write(c, 0, sz, lo);
		reg_write(c, 2, sz, hi);
	}
	cpu_set_arith(c, (ov ? CPU_FLAG_CF | CPU_FLAG_OF : 0) | szp(lo, sz));
}

static void imul2(struct cpu *c, const struct insn *i, s64 a, s64 b)
{
	int sz = i->osz;
	u64 lo;
	bool ov;

	if (sz == SZ64) {
		__int128 p = (__int128)a * b;
		lo = (u64)p;
		ov = p != (__int128)(s64)lo;
	} else {
		s64 p = a * b;
		lo = (u64)p & sz_mask(sz);
		ov = p != (s64)sext(lo, sz);
	}
	rg_write(c, i, sz, lo);
	cpu_set_arith(c, (ov ? CPU_FLAG_CF | CPU_FLAG_OF : 0) | szp(lo, sz));
}

OP(op_imul_r_rm)
{
	int sz = i->osz;
	imul2(c, i, (s64)sext(rg_read(c, i, sz), sz), (s64)sext(rm_read(c, i, sz), sz));
}

OP(op_imul_r_rm_imm)
{
	int sz = i->osz;
	imul2(c, i, (s64)sext(rm_read(c, i, sz), sz), (s64)sext(i->imm, sz));
}

/* F6/F7 /6: DIV; #DE on a zero divisor or a quotient too big.  Flags undefined (kept). */
OP(op_div)
{
	int sz = i->osz;
	u64 d = rm_read(c, i, sz);

	if (d == 0)
		cpu_fault_noerr(c, EXC_DE);
	if (sz == SZ64) {
		unsigned __int128 n = ((unsigned __int128)c->s.gpr[2] << 64) | c->s.gpr[0];
		unsigned __int128 q = n / d;
		if (q >> 64)
			cpu_fault_noerr(c, EXC_DE);
		c->s.gpr[0] = (u64)q;
		c->s.gpr[2] = (u64)(n % d);
	} else if (sz == SZ8) {
		u64 n = reg_read(c, 0, SZ16), q = n / d;
		if (q > 0xff)
			cpu_fault_noerr(c, EXC_DE);
		reg_write(c, 0, SZ16, ((n % d) << 8) | q);
	} else {
		int bits = 8 << sz;
		u64 n = (reg_read(c, 2, sz) << bits) | reg_read(c, 0, sz), q = n / d;
		if (q >> bits)
			cpu_fault_noerr(c, EXC_DE);
		reg_write(c, 0, sz, q);
		reg_write(c, 2, sz, n % d);
	}
}

/* F6/F7 /7: IDIV */
OP(op_idiv)
{
	int sz = i->osz;
	s64 d = (s64)sext(rm_read(c, i, sz), sz);

	if (d == 0)
		cpu_fault_noerr(c, EXC_DE);
	if (sz == SZ64) {
		__int128 n = (__int128)(((unsigned __int128)c->s.gpr[2] << 64) | c->s.gpr[0]);
		__int128 q, r;
		if (n == (__int128)((unsigned __int128)1 << 127) && d == -1)
			cpu_fault_noerr(c, EXC_DE);
		q = n / d;
		r = n % d;
		if (q != (__int128)(s64)q)
			cpu_fault_noerr(c, EXC_DE);
		c->s.gpr[0] = (u64)q;
		c->s.gpr[2] = (u64)r;
	} else if (sz == SZ8) {
		s64 n = (s16)reg_read(c, 0, SZ16), q = n / d, r = n % d;
		if (q != (s8)q)
			cpu_fault_noerr(c, EXC_DE);
		reg_write(c, 0, SZ16, (((u64)r & 0xff) << 8) | ((u64)q & 0xff));
	} else {
		int bits = 8 << sz;
		s64 n = (s64)((reg_read(c, 2, sz) << bits) | reg_read(c, 0, sz));
		s64 q, r;
		if (sz == SZ16)
			n = (s32)n;
		if (sz == SZ32 && n == INT64_MIN && d == -1)
			cpu_fault_noerr(c, EXC_DE);
		q = n / d;
		r = n % d;
		if (q != (s64)sext((u64)q, sz))
			cpu_fault_noerr(c, EXC_DE);
		reg_write(c, 0, sz, (u64)q);
		reg_write(c, 2, sz, (u64)r);
	}
}

/*
 * Group 2 shifts and rotates (C0/C1/D0-D3).  The count is masked to 5 bits
 * (6 with REX.W); a masked count of 0 changes no flags.  OF is defined for
 * a count of 1 only; we compute it the SDM's way for every count.
 */
static __always_inline u64 shift_op(struct cpu *c, const struct insn *i, int k, int sz, u64 a,
				    unsigned cnt,
		    bool *write)
{
	int bits = 8 << sz;
	u64 m = sz_mask(sz), sb = 1ull << (bits - 1), r = a, f;
	bool cf, of, dead = i->flags & IF_FDEAD;

	cnt &= sz == SZ64 ? 63 : 31;
	*write = cnt != 0;
	if (!cnt)
		return a;
	switch (k) {
	case 4: case 6:	/* SHL/SAL */
		r = (a << cnt) & m;
		lf_set(c, LF_SHL, sz, r, a, cnt);
		return r;
	case 5:		/* SHR */
		r = a >> cnt;
		lf_set(c, LF_SHR, sz, r, a, cnt);
		return r;
	case 7: {	/* SAR */
		s64 sa = (s64)sext(a, sz);
		r = (u64)(sa >> cnt) & m;
		lf_set(c, LF_SAR, sz, r, a, cnt);
		return r;
	}
	case 0: {	/* ROL */
		unsigned n = cnt % bits;
		r = n ? ((a << n) | (a >> (bits - n))) & m : a;
		if (dead)
			return r;
		cf = r & 1;
		of = !!(r & sb) ^ cf;
		break;
	}
	case 1: {	/* ROR */
		unsigned n = cnt % bits;
		r = n ? ((a >> n) | (a << (bits - n))) & m : a;
		if (dead)
			return r;
		cf = !!(r & sb);
		of = !!(r & sb) ^ !!(r & (sb >> 1));
		break;
	}
	case 2: {	/* RCL: rotate through CF, size+1 bits */
		unsigned n = cnt % (bits + 1);
		cf = get_cf(c);
		for (unsigned k2 = 0; k2 < n; k2++) {
			bool out = !!(r & sb);
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		of = !!(r & sb) ^ cf;
		break;
	}
	default: {	/* RCR */
		unsigned n = cnt % (bits + 1);
		cf = get_cf(c);
		of = !!(a & sb) ^ cf;
		for (unsigned k2 = 0; k2 < n; k2++) {
			bool out = r & 1;
			r = (r >> 1) | (cf ? sb : 0);
			cf = out;
		}
		break;
	}
	}
	/* rotates change only CF and OF */
	f = cpu_get_flags(c);
	c->s.rflags = (f & ~(u64)(CPU_FLAG_CF | CPU_FLAG_OF)) | (cf ? CPU_FLAG_CF : 0) |
		      (of ? CPU_FLAG_OF : 0);
	c->lf_op = LF_NONE;
	return r;
}

OP(op_shift)
{
	int sz = i->osz, k = (i->modrm >> 3) & 7;
	unsigned cnt;
	bool w;
	u64 a, r;

	if (i->op == 0xd0 || i->op == 0xd1)
		cnt = 1;
	else if (i->op == 0xd2 || i->op == 0xd3)
		cnt = (u8)c->s.gpr[1];
	else
		cnt = (u8)i->imm;
	if (!(i->flags & IF_MEM)) {
		int rr = i_rm(i, sz);
		r = shift_op(c, i, k, sz, reg_read(c, rr, sz), cnt, &w);
		if (w || sz == SZ32)
			reg_write(c, rr, sz, r);
		return;
	}
	{
		struct rmw m;
		a = rmw_begin(c, i, sz, &m);
		r = shift_op(c, i, k, sz, a, cnt, &w);
		rmw_end(c, sz, &m, r);
	}
}

/* Register operand, constant count (C0/C1, and D0/D1 with imm = 1), per kind and size */
#define SHIFT_RI(K, SZ)							\
static void op_shift_ri_##K##_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int rr = i_rm(i, SZ);						\
	bool w;								\
	u64 r = shift_op(c, i, K, SZ, reg_read(c, rr, SZ), (u8)i->imm, &w); \
	if (w || SZ == SZ32)						\
		reg_write(c, rr, SZ, r);				\
}
#define SHIFT_RI_SIZES(K) SHIFT_RI(K, SZ8) SHIFT_RI(K, SZ16) SHIFT_RI(K, SZ32) SHIFT_RI(K, SZ64)
SHIFT_RI_SIZES(0) SHIFT_RI_SIZES(1) SHIFT_RI_SIZES(2) SHIFT_RI_SIZES(3)
SHIFT_RI_SIZES(4) SHIFT_RI_SIZES(5) SHIFT_RI_SIZES(6) SHIFT_RI_SIZES(7)
#define SHIFT_ROW(K) { op_shift_ri_##K##_SZ8, op_shift_ri_##K##_SZ16, op_shift_ri_##K##_SZ32, \
		       op_shift_ri_##K##_SZ64 }
const insn_fn shift_ri_tab[8][4] = {
	SHIFT_ROW(0), SHIFT_ROW(1), SHIFT_ROW(2), SHIFT_ROW(3),
	SHIFT_ROW(4), SHIFT_ROW(5), SHIFT_ROW(6), SHIFT_ROW(7),
};

/* The same with dead flags (IF_FDEAD): the value only; RCL/RCR read CF and keep theirs. */
static __always_inline u64 shift_val(int k, int sz, u64 a, unsigned cnt)
{
	int bits = 8 << sz;
	u64 m = sz_mask(sz);
	unsigned n = cnt % bits;

	switch (k) {
	case 0: return n ? ((a << n) | (a >> (bits - n))) & m : a;
	case 1: return n ? ((a >> n) | (a << (bits - n))) & m : a;
	case 5: return a >> cnt;
	case 7: return (u64)((s64)sext(a, sz) >> cnt) & m;
	default: return (a << cnt) & m;
	}
}
#define SHIFT_RI_NF(K, SZ)						\
static void op_shift_ri_nf_##K##_##SZ(struct cpu *c, const struct insn *i) \
{									\
	int rr = i_rm(i, SZ);						\
	unsigned cnt = (u8)i->imm & (SZ == SZ64 ? 63 : 31);		\
	if (cnt || SZ == SZ32)						\
		reg_write(c, rr, SZ, shift_val(K, SZ, reg_read(c, rr, SZ), cnt)); \
}
#define SHIFT_RI_NF_SIZES(K) SHIFT_RI_NF(K, SZ8) SHIFT_RI_NF(K, SZ16) SHIFT_RI_NF(K, SZ32) \
	SHIFT_RI_NF(K, SZ64)
SHIFT_RI_NF_SIZES(0) SHIFT_RI_NF_SIZES(1) SHIFT_RI_NF_SIZES(4) SHIFT_RI_NF_SIZES(5)
SHIFT_RI_NF_SIZES(6) SHIFT_RI_NF_SIZES(7)
#define SHIFT_NF_ROW(K) { op_shift_ri_nf_##K##_SZ8, op_shift_ri_nf_##K##_SZ16, \
			  op_shift_ri_nf_##K##_SZ32, op_shift_ri_nf_##K##_SZ64 }
static const insn_fn shift_nf_tab[8][4] = {
	[0] = SHIFT_NF_ROW(0), [1] = SHIFT_NF_ROW(1), [4] = SHIFT_NF_ROW(4),
	[5] = SHIFT_NF_ROW(5), [6] = SHIFT_NF_ROW(6), [7] = SHIFT_NF_ROW(7),
};

/* SHLD/SHRD (0F A4/A5/AC/AD): count mod 32 (64 with REX.W) */
static void shxd(struct cpu *c, const struct insn *i, bool left)
{
	int sz = i->osz, bits = 8 << sz;
	unsigned cnt = ((i->op & 1) ? (u8)c->s.gpr[1] : (u8)i->imm) & (sz == SZ64 ? 63 : 31);
	u64 src = rg_read(c, i, sz), a, r, m = sz_mask(sz), sb = 1ull << (bits - 1);
	struct rmw mm = { 0 };
	bool cf, of;

	if (i->flags & IF_MEM)
		a = rmw_begin(c, i, sz, &mm);
	else
		a = reg_read(c, i->rm, sz);
	if (cnt == 0) {
		r = a;
		goto out;
	}
	if (sz == SZ16 && cnt > 16) {
		/* undefined by the SDM: shift the 32-bit a:src (src:a) pattern */
		u64 x = left ? (a << 16) | src : (src << 16) | a;
		r = left ? ((x << cnt) >> 16) & m : (x >> cnt) & m;
		cf = left ? (x >> (32 - cnt)) & 1 : (x >> (cnt - 1)) & 1;
	} else if (left) {
		r = ((a << cnt) | (src >> (bits - cnt))) & m;
		cf = (a >> (bits - cnt)) & 1;
	} else {
		r = ((a >> cnt) | (src << (bits - cnt))) & m;
		cf = (a >> (cnt - 1)) & 1;
	}
	of = !!((r ^ a) & sb);
	cpu_set_arith(c, (cf ? CPU_FLAG_CF : 0) | (of ? CPU_FLAG_OF : 0) | szp(r, sz));
out:
	if (i->flags & IF_MEM)
		rmw_end(c, sz, &mm, r);
	else if (cnt || sz == SZ32)
		reg_write(c, i->rm, sz, r);
}

OP(op_shld) { shxd(c, i, true); }
OP(op_shrd) { shxd(c, i, false); }

/*
 * BT/BTS/BTR/BTC.  With a register bit offset and a memory operand the
 * offset is signed and selects any bit relative to the address (SDM BT).
 * CF = the bit; ZF is kept; OF SF AF PF are undefined (kept).
 */
static void bt_common(struct cpu *c, const struct insn *i, int k, s64 off, bool imm)
{
	int sz = i->osz, bits = 8 << sz;
	u64 a, r, bit;
	bool cf;

	if (!(i->flags & IF_MEM)) {
		bit = (u64)off & (bits - 1);
		a = reg_read(c, i->rm, sz);
		cf = (a >> bit) & 1;
		r = k == 1 ? a | (1ull << bit) : k == 2 ? a & ~(1ull << bit) : a ^ (1ull << bit);
		if (k)
			reg_write(c, i->rm, sz, r);
	} else {
		u64 ea = insn_ea(c, i);
		int size = 1 << sz;
		if (imm) {
			bit = (u64)off & (bits - 1);
		} else {
			ea += (u64)((off >> (3 + sz)) * size);
			if (i->asz != SZ64)
				ea &= sz_mask(i->asz);
			bit = (u64)off & (bits - 1);
		}
		if (k == 0) {
			a = lin_read(c, seg_lin(c, i->seg, ea, size, ACC_R), size);
			cf = (a >> bit) & 1;
		} else {
			u64 lin = seg_lin(c, i->seg, ea, size, ACC_W);
			struct rmw m = { mem_fast(c, lin, size, ACC_W), lin };
			if (!m.p)
				m.p = mem_ptr_slow(c, lin, size, ACC_W);
			a = m.p ? ld(m.p, size) : mem_read_slow(c, lin, size, ACC_W);
			if (i->flags & IF_LOCK) {
				LOCKED_RMW(c, i, sz, m, a, k == 1 ? a | (1ull << bit) :
					   k == 2 ? a & ~(1ull << bit) : a ^ (1ull << bit));
			} else {
				r = k == 1 ? a | (1ull << bit) : k == 2 ? a & ~(1ull << bit) : a ^ (1ull << bit);
				rmw_end(c, sz, &m, r);
			}
			cf = (a >> bit) & 1;
		}
	}
	{
		u64 f = cpu_get_flags(c);
		c->s.rflags = (f & ~(u64)CPU_FLAG_CF) | (cf ? CPU_FLAG_CF : 0);
		c->lf_op = LF_NONE;
	}
}

/* 0F A3/AB/B3/BB */
OP(op_bt)
{
	int k = i->op == 0xa3 ? 0 : i->op == 0xab ? 1 : i->op == 0xb3 ? 2 : 3;
	bt_common(c, i, k, (s64)sext(rg_read(c, i, i->osz), i->osz), false);
}

/* 0F BA /4-/7 */
OP(op_bt_imm)
{
	int r = (i->modrm >> 3) & 7;
	if (r < 4)
		cpu_ud(c);
	bt_common(c, i, r - 4, (s64)(u8)i->imm, true);
}

/* BSF / TZCNT (F3) */
OP(op_bsf)
{
	int sz = i->osz;
	u64 s = rm_read(c, i, sz);
	u64 f = cpu_get_flags(c) & ~(u64)FLAGS_ARITH;

	if (i->flags & IF_REP) {	/* TZCNT: CF = src zero, ZF = result zero */
		u64 r = s ? (u64)__builtin_ctzll(s) : (u64)(8 << sz);
		rg_write(c, i, sz, r);
		f |= (s ? 0 : CPU_FLAG_CF) | (r ? 0 : CPU_FLAG_ZF);
	} else if (!s) {
		f |= CPU_FLAG_ZF;	/* destination unchanged */
		if (sz == SZ32)
			rg_write(c, i, sz, rg_read(c, i, sz));
	} else {
		rg_write(c, i, sz, (u64)__builtin_ctzll(s));
	}
	c->s.rflags = f;
	c->lf_op = LF_NONE;
}

/* BSR / LZCNT (F3) */
OP(op_bsr)
{
	int sz = i->osz, bits = 8 << sz;
	u64 s = rm_read(c, i, sz);
	u64 f = cpu_get_flags(c) & ~(u64)FLAGS_ARITH;

	if (i->flags & IF_REP) {
		u64 r = s ? (u64)(__builtin_clzll(s) - (64 - bits)) : (u64)bits;
		rg_write(c, i, sz, r);
		f |= (s ? 0 : CPU_FLAG_CF) | (r ? 0 : CPU_FLAG_ZF);
	} else if (!s) {
		f |= CPU_FLAG_ZF;
		if (sz == SZ32)
			rg_write(c, i, sz, rg_read(c, i, sz));
	} else {
		rg_write(c, i, sz, (u64)(63 - __builtin_clzll(s)));
	}
	c->s.rflags = f;
	c->lf_op = LF_NONE;
}

/* F3 0F B8: POPCNT; ZF = source zero, other flags cleared */
OP(op_popcnt)
{
	int sz = i->osz;
	u64 s = rm_read(c, i, sz);

	if (!(i->flags & IF_REP))
		cpu_ud(c);
	rg_write(c, i, sz, (u64)__builtin_popcountll(s));
	cpu_set_arith(c, s ? 0 : CPU_FLAG_ZF);
}

/* BCD adjust (invalid in 64-bit mode; decode.c refuses them there) */
OP(op_daa)
{
	u64 f = cpu_get_flags(c);
	u8 al = (u8)c->s.gpr[0], old_al = al;
	bool cf = f & CPU_FLAG_CF, af = false;

	if ((al & 0xf) > 9 || (f & CPU_FLAG_AF)) {
		al += 6;
		af = true;
	}
	if (old_al > 0x99 || cf) {
		al += 0x60;
		cf = true;
	} else {
		cf = false;
	}
	reg_write(c, 0, SZ8, al);
	cpu_set_arith(c, (cf ? CPU_FLAG_CF : 0) | (af ? CPU_FLAG_AF : 0) | szp(al, SZ8));
}

OP(op_das)
{
	u64 f = cpu_get_flags(c);
	u8 al = (u8)c->s.gpr[0], old_al = al;
	bool cf = false, af = false, old_cf = f & CPU_FLAG_CF;

	if ((al & 0xf) > 9 || (f & CPU_FLAG_AF)) {
		cf = old_cf || al < 6;
		al -= 6;
		af = true;
	}
	if (old_al > 0x99 || old_cf) {
		al -= 0x60;
		cf = true;
	}
	reg_write(c, 0, SZ8, al);
	cpu_set_arith(c, (cf ? CPU_FLAG_CF : 0) | (af ? CPU_FLAG_AF : 0) | szp(al, SZ8));
}

/* AAA/AAS: AF = CF = adjust; OF SF ZF PF undefined (we give them from AL) */
static void aaa_aas(struct cpu *c, bool sub)
{
	u64 f = cpu_get_flags(c);
	u16 ax = (u16)c->s.gpr[0];
	bool adj = ((ax & 0xf) > 9) || (f & CPU_FLAG_AF);

	if (adj) {
		if (sub) {
			ax = (u16)(ax - 6);
			ax = (u16)((((unsigned)(ax >> 8) - 1u) << 8) | (ax & 0xffu));
		} else {
			ax = (u16)(ax + 0x106);
		}
	}
	ax &= 0xff0f;
	reg_write(c, 0, SZ16, ax);
	cpu_set_arith(c, (adj ? CPU_FLAG_AF | CPU_FLAG_CF : 0) | szp(ax, SZ8));
}

OP(op_aaa) { aaa_aas(c, false); }
OP(op_aas) { aaa_aas(c, true); }

OP(op_aam)
{
	u8 base = (u8)i->imm, al = (u8)c->s.gpr[0];

	if (!base)
		cpu_fault_noerr(c, EXC_DE);
	reg_write(c, 0, SZ16, ((u16)(al / base) << 8) | (al % base));
	cpu_set_arith(c, szp(al % base, SZ8));
}

OP(op_aad)
{
	u8 base = (u8)i->imm;
	u16 ax = (u16)c->s.gpr[0];
	u8 al = (u8)((ax & 0xff) + (ax >> 8) * base);

	reg_write(c, 0, SZ16, al);
	cpu_set_arith(c, szp(al, SZ8));
}

/* 98: CBW/CWDE/CDQE */
OP(op_cbw)
{
	int sz = i->osz;
	reg_write(c, 0, sz, sext(reg_read(c, 0, sz - 1), sz - 1));
}

/* 99: CWD/CDQ/CQO */
OP(op_cwd)
{
	int sz = i->osz;
	u64 a = reg_read(c, 0, sz);
	reg_write(c, 2, sz, (a >> ((8 << sz) - 1)) & 1 ? ~0ull : 0);
}

OP(op_setcc)
{
	rm_write(c, i, SZ8, cpu_cond(c, i->op & 15));
}

/* CMOVcc: the source is read (and may fault) whatever the condition; a
 * 32-bit destination is zero-extended even when no move happens. */
OP(op_cmovcc)
{
	int sz = i->osz;
	u64 s = rm_read(c, i, sz);

	if (cpu_cond(c, i->op & 15))
		rg_write(c, i, sz, s);
	else if (sz == SZ32)
		rg_write(c, i, sz, rg_read(c, i, sz));
}

/* 0F C0/C1: XADD */
OP(op_xadd)
{
	int sz = i->osz;
	u64 b = rg_read(c, i, sz), a, r;

	if (!(i->flags & IF_MEM)) {
		int rr = i_rm(i, sz);
		a = reg_read(c, rr, sz);
		r = alu_op(c, K_ADD, sz, a, b);
		rg_write(c, i, sz, a);
		reg_write(c, rr, sz, r);
		return;
	}
	{
		struct rmw m;
		a = rmw_begin(c, i, sz, &m);
		if (i->flags & IF_LOCK)
			LOCKED_RMW(c, i, sz, m, a, alu_op(c, K_ADD, sz, a, b));
		else
			rmw_end(c, sz, &m, alu_op(c, K_ADD, sz, a, b));
		rg_write(c, i, sz, a);
	}
}

/* 0F B0/B1: CMPXCHG; flags as CMP accumulator, destination */
OP(op_cmpxchg)
{
	int sz = i->osz;
	u64 acc = reg_read(c, 0, sz), src = rg_read(c, i, sz), d;

	if (!(i->flags & IF_MEM)) {
		int rr = i_rm(i, sz);
		d = reg_read(c, rr, sz);
		alu_op(c, K_CMP, sz, acc, d);
		if (acc == d)
			reg_write(c, rr, sz, src);
		else
			reg_write(c, 0, sz, d);
		return;
	}
	{
		struct rmw m;
		d = rmw_begin(c, i, sz, &m);
		if (m.p && ((uintptr_t)m.p & ((1u << sz) - 1)) == 0) {
			u64 old = acc;
			/* a locked compare-exchange whether or not LOCK is given */
			if (!host_cas(m.p, sz, &old, src))
				d = old;
			else
				d = acc;
		} else {
			cpu_bus_lock();
			d = m.p ? ld(m.p, 1 << sz) : mem_read_slow(c, m.lin, 1 << sz, ACC_W);
			rmw_end(c, sz, &m, d == acc ? src : d);
			cpu_bus_unlock();
		}
		alu_op(c, K_CMP, sz, acc, d);
		if (d != acc)
			reg_write(c, 0, sz, d);
	}
}

/* 0F C7 /1: CMPXCHG8B / CMPXCHG16B (REX.W, 16-byte aligned) */
OP(op_cmpxchg8b)
{
	bool w16 = i->flags & IF_REXW;
	int size = w16 ? 16 : 8;
	u64 ea, lin, lo, hi;
	u8 *p;
	bool eq;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	ea = insn_ea(c, i);
	lin = seg_lin(c, i->seg, ea, size, ACC_W);
	if (w16 && (lin & 15))
		cpu_gp0(c);
	p = mem_ptr_slow(c, lin, size, ACC_W);
	if (w16) {
		unsigned __int128 exp = ((unsigned __int128)c->s.gpr[2] << 64) | c->s.gpr[0];
		unsigned __int128 nw = ((unsigned __int128)c->s.gpr[1] << 64) | c->s.gpr[3];
		unsigned __int128 old;
		if (p) {
			cpu_bus_lock();
			memcpy(&old, p, 16);
			eq = old == exp;
			if (eq)
				memcpy(p, &nw, 16);
			cpu_bus_unlock();
		} else {
			old = ((unsigned __int128)mem_read_slow(c, lin + 8, 8, ACC_W) << 64) |
			      mem_read_slow(c, lin, 8, ACC_W);
			eq = old == exp;
			if (eq) {
				mem_write_slow(c, lin, 8, (u64)nw, ACC_W);
				mem_write_slow(c, lin + 8, 8, (u64)(nw >> 64), ACC_W);
			}
		}
		lo = (u64)old;
		hi = (u64)(old >> 64);
		if (!eq) {
			c->s.gpr[0] = lo;
			c->s.gpr[2] = hi;
		}
	} else {
		u64 exp = (c->s.gpr[2] << 32) | (u32)c->s.gpr[0];
		u64 nw = (c->s.gpr[1] << 32) | (u32)c->s.gpr[3];
		u64 old = exp;
		if (p && !((uintptr_t)p & 7)) {
			eq = __atomic_compare_exchange_n((u64 *)p, &old, nw, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else {
			cpu_bus_lock();
			old = p ? ld(p, 8) : mem_read_slow(c, lin, 8, ACC_W);
			eq = old == exp;
			if (p) {
				if (eq)
					st(p, 8, nw);
			} else {
				/* the destination is written either way (SDM CMPXCHG8B): seen on MMIO */
				mem_write_slow(c, lin, 8, eq ? nw : old, ACC_W);
			}
			cpu_bus_unlock();
		}
		if (!eq) {
			reg_write(c, 0, SZ32, (u32)old);
			reg_write(c, 2, SZ32, old >> 32);
		}
	}
	{
		u64 f = cpu_get_flags(c);
		c->s.rflags = (f & ~(u64)CPU_FLAG_ZF) | (eq ? CPU_FLAG_ZF : 0);
		c->lf_op = LF_NONE;
	}
}

/* 0F C8+r: BSWAP (16-bit operand size is undefined: gives 0 like hardware) */
OP(op_bswap)
{
	int r = i->reg;
	if (i->osz == SZ64)
		c->s.gpr[r] = __builtin_bswap64(c->s.gpr[r]);
	else if (i->osz == SZ32)
		c->s.gpr[r] = __builtin_bswap32((u32)c->s.gpr[r]);
	else
		reg_write(c, r, SZ16, 0);
}

/* 86/87: XCHG r/m, r (locked with a memory operand) */
OP(op_xchg_rm_r)
{
	int sz = i->osz;
	u64 b = rg_read(c, i, sz), a;

	if (!(i->flags & IF_MEM)) {
		int rr = i_rm(i, sz);
		a = reg_read(c, rr, sz);
		reg_write(c, rr, sz, b);
		rg_write(c, i, sz, a);
		return;
	}
	{
		struct rmw m;
		a = rmw_begin(c, i, sz, &m);
		LOCKED_RMW(c, i, sz, m, a, b);
		rg_write(c, i, sz, a);
	}
}

/* 90+r: XCHG rAX, r (90 without REX.B is NOP; F3 90 is PAUSE) */
OP(op_xchg_a_r)
{
	int sz = i->osz;
	u64 a = reg_read(c, 0, sz), b = reg_read(c, i->reg, sz);
	reg_write(c, 0, sz, b);
	reg_write(c, i->reg, sz, a);
}

static void flag_op(struct cpu *c, u64 clear, u64 set, u64 toggle)
{
	u64 f = cpu_get_flags(c);
	c->s.rflags = ((f & ~clear) | set) ^ toggle;
	c->lf_op = LF_NONE;
}

OP(op_cmc) { flag_op(c, 0, 0, CPU_FLAG_CF); }
OP(op_clc) { flag_op(c, CPU_FLAG_CF, 0, 0); }
OP(op_stc) { flag_op(c, 0, CPU_FLAG_CF, 0); }
OP(op_cld) { flag_op(c, CPU_FLAG_DF, 0, 0); }
OP(op_std) { flag_op(c, 0, CPU_FLAG_DF, 0); }

OP(op_sahf)
{
	u64 ah = (c->s.gpr[0] >> 8) & (CPU_FLAG_SF | CPU_FLAG_ZF | CPU_FLAG_AF | CPU_FLAG_PF | CPU_FLAG_CF);
	flag_op(c, CPU_FLAG_SF | CPU_FLAG_ZF | CPU_FLAG_AF | CPU_FLAG_PF | CPU_FLAG_CF, ah, 0);
}

OP(op_lahf)
{
	u64 f = cpu_get_flags(c);
	reg_write(c, 1, SZ8, (f & 0xd5) | 2);	/* byte offset 1 = AH */
}

OP(op_salc)
{
	cpu_ud(c);
}

/* F2 0F 38 F0/F1: CRC32 (Castagnoli, reflected) */
OP(op_crc32)
{
	int ssz = i->op == 0xf0 ? SZ8 : i->osz;
	u64 s = rm_read(c, i, ssz);
	u32 crc = (u32)c->s.gpr[i->reg];

	for (int k = 0; k < (8 << ssz); k++) {
		u32 bit = (crc ^ (u32)(s >> k)) & 1;
		crc = (crc >> 1) ^ (bit ? 0x82f63b78u : 0);
	}
	c->s.gpr[i->reg] = crc;
}

/* 66 0F 38 F6: ADCX (CF only); F3 0F 38 F6: ADOX (OF only) */
OP(op_adcx)
{
	int sz = i->flags & IF_REXW ? SZ64 : SZ32;
	bool ox = i->flags & IF_REP;
	u64 f = cpu_get_flags(c), flag = ox ? CPU_FLAG_OF : CPU_FLAG_CF;
	u64 a = reg_read(c, i->reg, sz), b = rm_read(c, i, sz), cin = !!(f & flag);
	u64 r = (a + b + cin) & sz_mask(sz);
	bool cout = (((a & b) | ((a | b) & ~r)) >> ((8 << sz) - 1)) & 1;

	reg_write(c, i->reg, sz, r);
	c->s.rflags = (f & ~flag) | (cout ? flag : 0);
	c->lf_op = LF_NONE;
}

/*
 * Compare-and-branch pairs (FUSE_JCC in ops.h) with FIRST a CMP with memory
 * (each addressing form) or TEST; the register forms have one handler per
 * condition (FUSE_CC below).
 */
FUSE_JCC(alu_r_rm_K_CMP_SZ64) FUSE_JCC(alu_r_rm_K_CMP_SZ32)
FUSE_JCC(alu_rm_r_K_CMP_SZ64) FUSE_JCC(alu_rm_r_K_CMP_SZ32)
FUSE_JCC(alu_rm_imm_K_CMP_SZ64) FUSE_JCC(alu_rm_imm_K_CMP_SZ32) FUSE_JCC(alu_rm_imm_K_CMP_SZ8)
FUSE_JCC(op_test_rm_r)
#define FUSE_EA(F) FUSE_JCC(alu_rm_imm_K_CMP_SZ8_##F) FUSE_JCC(alu_rm_imm_K_CMP_SZ32_##F) \
	FUSE_JCC(alu_rm_imm_K_CMP_SZ64_##F) FUSE_JCC(alu_r_rm_K_CMP_SZ32_##F)	\
	FUSE_JCC(alu_r_rm_K_CMP_SZ64_##F) FUSE_JCC(alu_rm_r_K_CMP_SZ32_##F)	\
	FUSE_JCC(alu_rm_r_K_CMP_SZ64_##F)
FUSE_EA(EAF_B) FUSE_EA(EAF_BI) FUSE_EA(EAF_RIP)

/*
 * Register compares and INC/DEC with each condition: FIRST and the branch
 * compiled together (flatten), so the condition is read straight from the
 * operands FIRST just stored and no second handler is called.
 */
static __always_inline void fuse_branch(struct cpu *c, const struct insn *i, bool taken)
{
	const struct insn *j = i + 1;

	if (taken) {
		if (likely(i->flags & IF_LOOP)) {
			/* back to the block base; the run loop adds FIRST's length */
			c->s.rip = c->blk_base - i->len;
			return;
		}
		c->s.rip += i->len;
		jump_near(c, j, next_rip(c, j) + j->imm);
		c->s.rip += (u64)j->len - i->len;
		return;
	}
	c->s.rip += j->len;
}

#define FUSE_CC(F, CC)							\
static __attribute__((flatten)) void fuse_##F##_##CC(struct cpu *c, const struct insn *i) \
{									\
	F(c, i);							\
	fuse_branch(c, i, cpu_cond(c, CC));				\
}
#define FUSE_CCS(F) FUSE_CC(F, 0) FUSE_CC(F, 1) FUSE_CC(F, 2) FUSE_CC(F, 3) FUSE_CC(F, 4) \
	FUSE_CC(F, 5) FUSE_CC(F, 6) FUSE_CC(F, 7) FUSE_CC(F, 8) FUSE_CC(F, 9) FUSE_CC(F, 10) \
	FUSE_CC(F, 11) FUSE_CC(F, 12) FUSE_CC(F, 13) FUSE_CC(F, 14) FUSE_CC(F, 15)	\
static const insn_fn fuse_cc_##F[16] = {					\
	fuse_##F##_0, fuse_##F##_1, fuse_##F##_2, fuse_##F##_3, fuse_##F##_4, fuse_##F##_5, \
	fuse_##F##_6, fuse_##F##_7, fuse_##F##_8, fuse_##F##_9, fuse_##F##_10, fuse_##F##_11, \
	fuse_##F##_12, fuse_##F##_13, fuse_##F##_14, fuse_##F##_15,		\
};
FUSE_CCS(alu_rr_K_CMP_SZ64) FUSE_CCS(alu_rr_K_CMP_SZ32)
FUSE_CCS(alu_ri_K_CMP_SZ64) FUSE_CCS(alu_ri_K_CMP_SZ32)
FUSE_CCS(alu_rr_K_SUB_SZ64) FUSE_CCS(alu_rr_K_SUB_SZ32)
FUSE_CCS(alu_ri_K_SUB_SZ64) FUSE_CCS(alu_ri_K_SUB_SZ32)
FUSE_CCS(op_dec_reg_SZ64) FUSE_CCS(op_dec_reg_SZ32)
FUSE_CCS(op_inc_reg_SZ64) FUSE_CCS(op_inc_reg_SZ32)
FUSE_CCS(alu_rr2_K_CMP_SZ64) FUSE_CCS(alu_rr2_K_CMP_SZ32)
FUSE_CCS(op_dec_reg_cf0_SZ64) FUSE_CCS(op_dec_reg_cf0_SZ32)
FUSE_CCS(op_inc_reg_cf0_SZ64) FUSE_CCS(op_inc_reg_cf0_SZ32)

/*
 * The INC/DEC variants of INCDEC_AFTER with JZ/JNZ (the loop counter's
 * branch); with another condition the pair is the unspecialized one's.
 */
#define FUSE_AFTER_CC(D, DEC, SZ, P, POP, PSZ, CC)			\
static void fuse_op_##D##_reg_##P##_##SZ##_##CC(struct cpu *c, const struct insn *i) \
{									\
	u64 v;								\
	if (!incdec_after_op(c, i, SZ, DEC, POP, PSZ, &v)) {		\
		fuse_op_##D##_reg_##SZ##_##CC(c, i);			\
		return;							\
	}								\
	fuse_branch(c, i, (v == 0) ^ ((CC) & 1));	/* JZ: 4, JNZ: 5 */	\
}
#define FUSE_AFTER(SZ, P, POP, PSZ) FUSE_AFTER_CC(inc, false, SZ, P, POP, PSZ, 4)	\
	FUSE_AFTER_CC(inc, false, SZ, P, POP, PSZ, 5) FUSE_AFTER_CC(dec, true, SZ, P, POP, PSZ, 4) \
	FUSE_AFTER_CC(dec, true, SZ, P, POP, PSZ, 5)
#define FUSE_AFTER_P(SZ) FUSE_AFTER(SZ, add64, LF_ADD, SZ64) FUSE_AFTER(SZ, add32, LF_ADD, SZ32) \
	FUSE_AFTER(SZ, sub64, LF_SUB, SZ64) FUSE_AFTER(SZ, sub32, LF_SUB, SZ32)
FUSE_AFTER_P(SZ64) FUSE_AFTER_P(SZ32)

static insn_fn fuse_after(insn_fn first, int cc)
{
	static const struct {
		insn_fn first, z, nz;
		const insn_fn *base;
	} tab[] = {
#define A(D, SZ, P) { op_##D##_reg_##P##_##SZ, fuse_op_##D##_reg_##P##_##SZ##_4,	\
		      fuse_op_##D##_reg_##P##_##SZ##_5, fuse_cc_op_##D##_reg_##SZ }
#define A_P(D, SZ) A(D, SZ, add64), A(D, SZ, add32), A(D, SZ, sub64), A(D, SZ, sub32)
		A_P(inc, SZ64), A_P(inc, SZ32), A_P(dec, SZ64), A_P(dec, SZ32),
#undef A_P
#undef A
	};

	for (unsigned k = 0; k < ARRAY_SIZE(tab); k++)
		if (tab[k].first == first)
			return cc == 4 ? tab[k].z : cc == 5 ? tab[k].nz : tab[k].base[cc & 15];
	return NULL;
}

insn_fn fuse_jcc(insn_fn first, int cc)
{
	insn_fn f = fuse_after(first, cc);

	if (f)
		return f;
	static const struct {
		insn_fn first, fused;
		const insn_fn *per_cc;
	} tab[] = {
#define P(F) { F, fuse_##F, NULL }
#define PC(F) { F, NULL, fuse_cc_##F }
		PC(alu_rr_K_CMP_SZ64), PC(alu_rr_K_CMP_SZ32), PC(alu_ri_K_CMP_SZ64), PC(alu_ri_K_CMP_SZ32),
		PC(alu_rr_K_SUB_SZ64), PC(alu_rr_K_SUB_SZ32), PC(alu_ri_K_SUB_SZ64), PC(alu_ri_K_SUB_SZ32),
		PC(op_dec_reg_SZ64), PC(op_dec_reg_SZ32), PC(op_inc_reg_SZ64), PC(op_inc_reg_SZ32),
		PC(alu_rr2_K_CMP_SZ64), PC(alu_rr2_K_CMP_SZ32),
		PC(op_dec_reg_cf0_SZ64), PC(op_dec_reg_cf0_SZ32),
		PC(op_inc_reg_cf0_SZ64), PC(op_inc_reg_cf0_SZ32),
		P(alu_r_rm_K_CMP_SZ64), P(alu_r_rm_K_CMP_SZ32),
		P(alu_rm_r_K_CMP_SZ64), P(alu_rm_r_K_CMP_SZ32),
		P(alu_rm_imm_K_CMP_SZ64), P(alu_rm_imm_K_CMP_SZ32), P(alu_rm_imm_K_CMP_SZ8),
		P(op_test_rm_r),
#define P_EA(F) P(alu_rm_imm_K_CMP_SZ8_##F), P(alu_rm_imm_K_CMP_SZ32_##F),		\
		P(alu_rm_imm_K_CMP_SZ64_##F), P(alu_r_rm_K_CMP_SZ32_##F),		\
		P(alu_r_rm_K_CMP_SZ64_##F), P(alu_rm_r_K_CMP_SZ32_##F), P(alu_rm_r_K_CMP_SZ64_##F)
		P_EA(EAF_B), P_EA(EAF_BI), P_EA(EAF_RIP),
#undef P_EA
#undef PC
#undef P
	};

	for (unsigned k = 0; k < ARRAY_SIZE(tab); k++)
		if (tab[k].first == first)
			return tab[k].per_cc ? tab[k].per_cc[cc & 15] : tab[k].fused;
	return NULL;
}

/*
 * INC/DEC of a register with dead flags: the value only.  DEC keeps CF, and
 * leaving the lazy flags alone keeps the CF they describe.
 */
#define INCDEC_NF(SZ)							\
static void op_inc_reg_nf_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	reg_write(c, r, SZ, reg_read(c, r, SZ) + 1);			\
}									\
static void op_dec_reg_nf_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	int r = i_rm(i, SZ);						\
	reg_write(c, r, SZ, reg_read(c, r, SZ) - 1);			\
}
INCDEC_NF(SZ8) INCDEC_NF(SZ16) INCDEC_NF(SZ32) INCDEC_NF(SZ64)
static const insn_fn incdec_nf_tab[2][4] = {
	{ op_inc_reg_nf_SZ8, op_inc_reg_nf_SZ16, op_inc_reg_nf_SZ32, op_inc_reg_nf_SZ64 },
	{ op_dec_reg_nf_SZ8, op_dec_reg_nf_SZ16, op_dec_reg_nf_SZ32, op_dec_reg_nf_SZ64 },
};

insn_fn alu_flagless(insn_fn fn)
{
	for (int sz = 0; sz < 4; sz++) {
		for (int f = 0; f < 4; f++)
			for (int k = 0; k < 8; k++)
				if (alu_full_tab[f][k][sz] == fn)
					return alu_nf_tab[f][k][sz];
		for (int d = 0; d < 2; d++)
			if (incdec_reg_tab[d][sz] == fn)
				return incdec_nf_tab[d][sz];
		for (int k = 0; k < 8; k++)
			if (shift_ri_tab[k][sz] == fn)
				return shift_nf_tab[k][sz];
	}
	return NULL;
}

insn_fn alu_flagful(insn_fn fn)
{
	for (int sz = 0; sz < 4; sz++) {
		for (int f = 0; f < 4; f++)
			for (int k = 0; k < 8; k++)
				if (alu_nf_tab[f][k][sz] == fn)
					return alu_full_tab[f][k][sz];
		for (int d = 0; d < 2; d++)
			if (incdec_nf_tab[d][sz] == fn)
				return incdec_reg_tab[d][sz];
		for (int k = 0; k < 8; k++)
			if (shift_nf_tab[k][sz] == fn)
				return shift_ri_tab[k][sz];
	}
	return fn;
}

/* The register INC/DEC @fn with CF known to be 0 (see INCDEC_CF0), or NULL. */
insn_fn incdec_after_logic(insn_fn fn)
{
	for (int d = 0; d < 2; d++)
		for (int sz = 0; sz < 4; sz++)
			if (incdec_reg_tab[d][sz] == fn)
				return incdec_cf0_tab[d][sz];
	return NULL;
}

/*
 * The register INC/DEC @fn specialized for a CF from @prev (see
 * INCDEC_AFTER), or NULL: @prev an ADD, SUB or CMP of 64 or 32 bits with a
 * register or immediate operand.
 */
insn_fn incdec_after(insn_fn fn, insn_fn prev)
{
	static const int ks[] = { K_ADD, K_SUB, K_CMP };
	int d, p = -1;

	for (unsigned k = 0; k < ARRAY_SIZE(ks) && p < 0; k++)
		for (int sz = SZ32; sz <= SZ64 && p < 0; sz++)
			for (int f = 0; f < 4; f++)
				if (alu_full_tab[f][ks[k]][sz] == prev)
					p = (ks[k] == K_ADD ? 0 : 2) + (sz == SZ32);
	if (p < 0)
		return NULL;
	for (d = 0; d < 2; d++)
		for (int sz = SZ32; sz <= SZ64; sz++)
			if (incdec_reg_tab[d][sz] == fn)
				return incdec_after_tab[d][sz - SZ32][p];
	return NULL;
}

/* Does @fn (a register form) leave CF = 0 (AND/OR/XOR/TEST)? */
bool alu_clears_cf(insn_fn fn)
{
	static const int logic[] = { K_OR, K_AND, K_XOR };

	if (fn == op_test_rm_r || fn == op_test_a_imm || fn == op_test_rm_imm)
		return true;
	for (int sz = 0; sz < 4; sz++)
		for (unsigned k = 0; k < ARRAY_SIZE(logic); k++)
			for (int f = 0; f < 4; f++)
				if (alu_full_tab[f][logic[k]][sz] == fn || alu_nf_tab[f][logic[k]][sz] == fn)
					return true;
	return false;
}
