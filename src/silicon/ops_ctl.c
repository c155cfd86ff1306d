// SPDX-License-Identifier: MIT
/*
 * ops_ctl.c: control transfer.  Near branches here; far transfers, IRET
 * and the gates live in seg.c and except.c.
 */
/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
#include "silicon/ops.h"

#define canonical canonical48

OP(op_jcc)
{
	if (cpu_cond(c, i->op & 15))
		jump_near(c, i, next_rip(c, i) + i->imm);
}

static __attribute__((noinline)) void jcc_slow(struct cpu *c, const struct insn *i, int cc)
{
	if (cpu_cond_slow(c, cc))
		jump_near(c, i, next_rip(c, i) + i->imm);
}

/*
 * One handler per condition so the condition folds at compile time; the
 * flag computation is a tail call so the fast path needs no frame.
 */
#define JCC(cc)								\
static void op_jcc_##cc(struct cpu *c, const struct insn *i)		\
{									\
	int t = cpu_cond_fast(c, cc);					\
	if (unlikely(t < 0)) {						\
		jcc_slow(c, i, cc);					\
		return;							\
	}								\
	if (t)								\
		jump_near(c, i, next_rip(c, i) + i->imm);		\
}
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)
const insn_fn jcc_tab[16] = {
	op_jcc_0, op_jcc_1, op_jcc_2, op_jcc_3, op_jcc_4, op_jcc_5, op_jcc_6, op_jcc_7,
	op_jcc_8, op_jcc_9, op_jcc_10, op_jcc_11, op_jcc_12, op_jcc_13, op_jcc_14, op_jcc_15,
};

OP(op_jmp_rel)
{
	jump_near(c, i, next_rip(c, i) + i->imm);
}

OP(op_call_rel)
{
	u64 ret = next_rip(c, i), target = ret + i->imm;

	if (!c->code64) {
		target &= sz_mask(i->osz);
		if (target > c->s.seg[CPU_SEG_CS].limit)
			cpu_gp0(c);
	} else if (!canonical(target)) {
		cpu_gp0(c);
	}
	cpu_push(c, i->osz, ret);
	set_rip(c, i, target);
}

/* C3 / C2 iw */
OP(op_ret)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	u64 sp = c->s.gpr[4] & sz_mask(ssz);
	u64 target = mem_read(c, CPU_SEG_SS, sp, size);

	jump_near(c, i, target);
	reg_write(c, 4, ssz, sp + size + (i->op == 0xc2 ? (u16)i->imm : 0));
}

/* FF /4 */
OP(op_jmp_rm)
{
	jump_near(c, i, rm_read(c, i, i->osz));
}

/* FF /2 */
OP(op_call_rm)
{
	u64 target = rm_read(c, i, i->osz), ret = next_rip(c, i);

	if (!c->code64) {
		target &= sz_mask(i->osz);
		if (target > c->s.seg[CPU_SEG_CS].limit)
			cpu_gp0(c);
	} else if (!canonical(target)) {
		cpu_gp0(c);
	}
	cpu_push(c, i->osz, ret);
	set_rip(c, i, target);
}

/* E0-E2: LOOPNE, LOOPE, LOOP (count register by address size) */
OP(op_loop)
{
	int asz = i->asz;
	u64 n = (c->s.gpr[1] - 1) & (asz == SZ64 ? ~0ull : sz_mask(asz));
	bool take;

	reg_write(c, 1, asz, n);
	take = n != 0;
	if (i->op == 0xe0)
		take = take && !cpu_cond(c, 4);
	else if (i->op == 0xe1)
		take = take && cpu_cond(c, 4);
	if (take)
		jump_near(c, i, next_rip(c, i) + i->imm);
}

/* E3: JCXZ/JECXZ/JRCXZ */
OP(op_jcxz)
{
	u64 n = c->s.gpr[1] & (i->asz == SZ64 ? ~0ull : sz_mask(i->asz));
	if (n == 0)
		jump_near(c, i, next_rip(c, i) + i->imm);
}

/* EA: JMP ptr16:16/32 */
OP(op_jmp_far)
{
	cpu_far_jmp(c, i, i->imm2, i->imm, false, i->osz);
}

/* 9A: CALL ptr16:16/32 */
OP(op_call_far)
{
	cpu_far_jmp(c, i, i->imm2, i->imm, true, i->osz);
}

/* FF /5 and /3: the m16:16/32/64 operand */
static void far_mem(struct cpu *c, const struct insn *i, bool call)
{
	int sz = i->osz, size = 1 << sz;
	u64 ea, off;
	u16 sel;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	ea = insn_ea(c, i);
	off = mem_read(c, i->seg, ea, size);
	sel = (u16)mem_read(c, i->seg, (ea + size) & (i->asz == SZ64 ? ~0ull : sz_mask(i->asz)), 2);
	cpu_far_jmp(c, i, sel, off, call, sz);
}

OP(op_jmp_far_m) { far_mem(c, i, false); }
OP(op_call_far_m) { far_mem(c, i, true); }

/* CB / CA iw */
OP(op_retf)
{
	cpu_far_ret(c, i, i->osz, i->op == 0xca ? (u16)i->imm : 0);
}

OP(op_iret)
{
	cpu_iret(c, i);
}

/* CD ib */
OP(op_int)
{
	/* VM86 with IOPL < 3 and no VME: #GP(0) (SDM INT n) */
	if ((c->s.rflags & CPU_FLAG_VM) && ((c->s.rflags >> 12) & 3) < 3)
		cpu_gp0(c);
	cpu_soft_int(c, i, (u8)i->imm, CPU_EVENT_SWINT);
}

OP(op_int3)
{
	cpu_soft_int(c, i, EXC_BP, CPU_EVENT_SWEXC);
}

OP(op_into)
{
	if (cpu_get_flags(c) & CPU_FLAG_OF)
		cpu_soft_int(c, i, EXC_OF, CPU_EVENT_SWEXC);
}

OP(op_int1)
{
	cpu_soft_int(c, i, EXC_DB, CPU_EVENT_PRIV_SWEXC);
}

/* 62: BOUND r, m16&16 / m32&32 -> #BR if out of range */
OP(op_bound)
{
	int sz = i->osz, size = 1 << sz;
	u64 ea;
	s64 idx, lo, hi;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	ea = insn_ea(c, i);
	idx = (s64)sext(rg_read(c, i, sz), sz);
	lo = (s64)sext(mem_read(c, i->seg, ea, size), sz);
	hi = (s64)sext(mem_read(c, i->seg, (ea + size) & sz_mask(i->asz), size), sz);
	if (idx < lo || idx > hi)
		cpu_fault_noerr(c, EXC_BR);
}
