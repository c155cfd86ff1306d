// SPDX-License-Identifier: MIT
/*
 * ops_mov.c: data movement, the stack, segment register loads.
 */
/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
#include "silicon/ops.h"

/* A non-canonical stack address is #SS(0), not #GP(0) (SDM 6.15, #SS). */
static __always_inline void stack_canonical(struct cpu *c, u64 sp)
{
	if (c->code64 && unlikely((u64)((s64)(sp << 16) >> 16) != sp))
		cpu_fault(c, EXC_SS, 0);
}

void cpu_push(struct cpu *c, int sz, u64 v)
{
	int size = 1 << sz, ssz = stack_sz(c);
	u64 sp = (c->s.gpr[4] - size) & sz_mask(ssz);

	stack_canonical(c, sp);
	mem_write(c, CPU_SEG_SS, sp, size, v);
	reg_write(c, 4, ssz, sp);
}

u64 cpu_pop(struct cpu *c, int sz)
{
	int size = 1 << sz, ssz = stack_sz(c);
	u64 sp = c->s.gpr[4] & sz_mask(ssz);
	u64 v;

	stack_canonical(c, sp);
	v = mem_read(c, CPU_SEG_SS, sp, size);

	reg_write(c, 4, ssz, sp + size);
	return v;
}

OP(op_mov_rm_r)
{
	int sz = i->osz;
	rm_write(c, i, sz, rg_read(c, i, sz));
}

OP(op_mov_r_rm)
{
	int sz = i->osz;
	rg_write(c, i, sz, rm_read(c, i, sz));
}

/* MOV forms split at decode time by operand kind and size */
#define MOV_SZ(SZ)							\
static void mov_rr_##SZ(struct cpu *c, const struct insn *i)		\
{	/* 88/89 with a register destination */			\
	reg_write(c, i_rm(i, SZ), SZ, reg_read(c, i_reg(i, SZ), SZ));	\
}									\
static void mov_rr2_##SZ(struct cpu *c, const struct insn *i)		\
{	/* 8A/8B with a register source */				\
	reg_write(c, i_reg(i, SZ), SZ, reg_read(c, i_rm(i, SZ), SZ));	\
}									\
static void mov_st_##SZ(struct cpu *c, const struct insn *i)		\
{	/* 88/89 to memory */						\
	lin_write(c, ea_lin(c, i, 1 << SZ, ACC_W), 1 << SZ, reg_read(c, i_reg(i, SZ), SZ)); \
}									\
static void mov_ld_##SZ(struct cpu *c, const struct insn *i)		\
{	/* 8A/8B from memory */						\
	reg_write(c, i_reg(i, SZ), SZ, lin_read(c, ea_lin(c, i, 1 << SZ, ACC_R), 1 << SZ)); \
}									\
static void mov_sti_##SZ(struct cpu *c, const struct insn *i)		\
{	/* C6/C7 /0 to memory */					\
	lin_write(c, ea_lin(c, i, 1 << SZ, ACC_W), 1 << SZ, i->imm);	\
}
MOV_SZ(SZ8) MOV_SZ(SZ16) MOV_SZ(SZ32) MOV_SZ(SZ64)
#define MOV_ROW(F) { F##_SZ8, F##_SZ16, F##_SZ32, F##_SZ64 }
const insn_fn mov_tab[5][4] = {
	MOV_ROW(mov_rr), MOV_ROW(mov_rr2), MOV_ROW(mov_st), MOV_ROW(mov_ld), MOV_ROW(mov_sti),
};

/* 0F B6/B7/BE/BF from memory, by source size and signedness */
#define MOVX(SSZ, SX)							\
static void movx_ld_##SSZ##_##SX(struct cpu *c, const struct insn *i)	\
{									\
	u64 v = lin_read(c, ea_lin(c, i, 1 << SSZ, ACC_R), 1 << SSZ);	\
	rg_write(c, i, i->osz, SX ? sext(v, SSZ) : v);			\
}									\
static void movx_rr_##SSZ##_##SX(struct cpu *c, const struct insn *i)	\
{									\
	u64 v = reg_read(c, i_rm(i, SSZ), SSZ);				\
	rg_write(c, i, i->osz, SX ? sext(v, SSZ) : v);			\
}
MOVX(SZ8, 0) MOVX(SZ16, 0) MOVX(SZ8, 1) MOVX(SZ16, 1)
/* [memory?][sign][source word?] */
const insn_fn movx_tab[2][2][2] = {
	{ { movx_rr_SZ8_0, movx_rr_SZ16_0 }, { movx_rr_SZ8_1, movx_rr_SZ16_1 } },
	{ { movx_ld_SZ8_0, movx_ld_SZ16_0 }, { movx_ld_SZ8_1, movx_ld_SZ16_1 } },
};

/* The memory forms above per addressing form (ops.h, EAF_*; ea_select()) */
#define MOV_EA(SZ, F)							\
static void mov_st_##SZ##_##F(struct cpu *c, const struct insn *i)	\
{									\
	u64 lin = ea_form(c, i, F);					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, ACC_W);			\
	if (unlikely(!h))						\
		{ mov_st_##SZ(c, i); return; }			\
	st((void *)h, 1 << SZ, reg_read(c, i_reg(i, SZ), SZ));		\
}									\
static void mov_ld_##SZ##_##F(struct cpu *c, const struct insn *i)	\
{									\
	u64 lin = ea_form(c, i, F);					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, ACC_R);			\
	if (unlikely(!h))						\
		{ mov_ld_##SZ(c, i); return; }			\
	reg_write(c, i_reg(i, SZ), SZ, ld((void *)h, 1 << SZ));	\
}									\
static void mov_sti_##SZ##_##F(struct cpu *c, const struct insn *i)	\
{									\
	u64 lin = ea_form(c, i, F);					\
	uintptr_t h = ea_host(c, i, lin, 1 << SZ, ACC_W);			\
	if (unlikely(!h))						\
		{ mov_sti_##SZ(c, i); return; }			\
	st((void *)h, 1 << SZ, i->imm);					\
}
#define MOVX_EA(SSZ, SX, DSZ, F)					\
static void movx_ld_##SSZ##_##SX##_##DSZ##_##F(struct cpu *c, const struct insn *i) \
{									\
	u64 lin = ea_form(c, i, F), v;					\
	uintptr_t h = ea_host(c, i, lin, 1 << SSZ, ACC_R);			\
	if (unlikely(!h))						\
		{ movx_ld_##SSZ##_##SX(c, i); return; }		\
	v = ld((void *)h, 1 << SSZ);					\
	reg_write(c, i_reg(i, DSZ), DSZ, SX ? sext(v, SSZ) : v);	\
}
#define LEA_EA(DSZ, F)							\
static void lea_##DSZ##_##F(struct cpu *c, const struct insn *i)	\
{									\
	reg_write(c, i->reg, DSZ, ea_form(c, i, F));			\
}
#define MOVX_EA_D(SSZ, SX, F) MOVX_EA(SSZ, SX, SZ8, F) MOVX_EA(SSZ, SX, SZ16, F) \
	MOVX_EA(SSZ, SX, SZ32, F) MOVX_EA(SSZ, SX, SZ64, F)
#define MOV_EA_F(F) MOV_EA(SZ8, F) MOV_EA(SZ16, F) MOV_EA(SZ32, F) MOV_EA(SZ64, F) \
	MOVX_EA_D(SZ8, 0, F) MOVX_EA_D(SZ16, 0, F) MOVX_EA_D(SZ8, 1, F) MOVX_EA_D(SZ16, 1, F) \
	LEA_EA(SZ32, F) LEA_EA(SZ64, F)
MOV_EA_F(EAF_B) MOV_EA_F(EAF_BI) MOV_EA_F(EAF_RIP)
#define MOV_EA_ROW(P, F) { P##_SZ8_##F, P##_SZ16_##F, P##_SZ32_##F, P##_SZ64_##F }
#define MOV_EA_TAB(F) { MOV_EA_ROW(mov_st, F), MOV_EA_ROW(mov_ld, F), MOV_EA_ROW(mov_sti, F) }
/* [form][store, load, store immediate][size] */
const insn_fn mov_ea_tab[EAF_NR][3][4] = {
	[EAF_B] = MOV_EA_TAB(EAF_B), [EAF_BI] = MOV_EA_TAB(EAF_BI), [EAF_RIP] = MOV_EA_TAB(EAF_RIP),
};
#define MOVX_EA_ROW(SSZ, SX, F) { movx_ld_##SSZ##_##SX##_SZ8_##F, movx_ld_##SSZ##_##SX##_SZ16_##F, \
				  movx_ld_##SSZ##_##SX##_SZ32_##F, movx_ld_##SSZ##_##SX##_SZ64_##F }
#define MOVX_EA_TAB(F) { { MOVX_EA_ROW(SZ8, 0, F), MOVX_EA_ROW(SZ16, 0, F) }, \
			 { MOVX_EA_ROW(SZ8, 1, F), MOVX_EA_ROW(SZ16, 1, F) } }
/* [form][sign][source word?][operand size]; like movx_tab's memory half */
const insn_fn movx_ea_tab[EAF_NR][2][2][4] = {
	[EAF_B] = MOVX_EA_TAB(EAF_B), [EAF_BI] = MOVX_EA_TAB(EAF_BI), [EAF_RIP] = MOVX_EA_TAB(EAF_RIP),
};
/* [form][32-bit, 64-bit operand] */
const insn_fn lea_ea_tab[EAF_NR][2] = {
	[EAF_B] = { lea_SZ32_EAF_B, lea_SZ64_EAF_B },
	[EAF_BI] = { lea_SZ32_EAF_BI, lea_SZ64_EAF_BI },
	[EAF_RIP] = { lea_SZ32_EAF_RIP, lea_SZ64_EAF_RIP },
};

/* Register MOVZX/MOVSX per operand size too: [sign][source word?][operand size] */
#define MOVX_RR(SSZ, SX, DSZ)						\
static void movx_rr_##SSZ##_##SX##_##DSZ(struct cpu *c, const struct insn *i) \
{									\
	u64 v = reg_read(c, i_rm(i, SSZ), SSZ);				\
	reg_write(c, i_reg(i, DSZ), DSZ, SX ? sext(v, SSZ) : v);	\
}
#define MOVX_RR_D(SSZ, SX) MOVX_RR(SSZ, SX, SZ8) MOVX_RR(SSZ, SX, SZ16) MOVX_RR(SSZ, SX, SZ32) \
	MOVX_RR(SSZ, SX, SZ64)
MOVX_RR_D(SZ8, 0) MOVX_RR_D(SZ16, 0) MOVX_RR_D(SZ8, 1) MOVX_RR_D(SZ16, 1)
#define MOVX_RR_ROW(SSZ, SX) { movx_rr_##SSZ##_##SX##_SZ8, movx_rr_##SSZ##_##SX##_SZ16, \
			       movx_rr_##SSZ##_##SX##_SZ32, movx_rr_##SSZ##_##SX##_SZ64 }
const insn_fn movx_rr_tab[2][2][4] = {
	{ MOVX_RR_ROW(SZ8, 0), MOVX_RR_ROW(SZ16, 0) }, { MOVX_RR_ROW(SZ8, 1), MOVX_RR_ROW(SZ16, 1) },
};

/* B0+r / B8+r */
OP(op_mov_r_imm)
{
	int sz = i->osz;
	reg_write(c, sz == SZ8 ? i->regb : i->reg, sz, i->imm);
}

/* B0-BF per operand size, chosen at decode time (optable.c) */
#define MOV_RI(SZ)							\
static void op_mov_r_imm_##SZ(struct cpu *c, const struct insn *i)	\
{									\
	reg_write(c, i_reg(i, SZ), SZ, i->imm);				\
}
MOV_RI(SZ8) MOV_RI(SZ16) MOV_RI(SZ32) MOV_RI(SZ64)
const insn_fn mov_ri_tab[4] = { op_mov_r_imm_SZ8, op_mov_r_imm_SZ16, op_mov_r_imm_SZ32,
				op_mov_r_imm_SZ64 };

/* C6/C7 /0 */
OP(op_mov_rm_imm)
{
	if ((i->modrm >> 3) & 7)
		cpu_ud(c);
	rm_write(c, i, i->osz, i->imm);
}

/* A0-A3: MOV between the accumulator and seg:moffs */
OP(op_mov_moffs)
{
	int sz = i->osz, size = 1 << sz;
	u64 off = i->imm;

	if (i->op & 2)
		mem_write(c, i->seg, off, size, reg_read(c, 0, sz));
	else
		reg_write(c, 0, sz, mem_read(c, i->seg, off, size));
}

OP(op_lea)
{
	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	rg_write(c, i, i->osz, insn_ea(c, i));
}

/* 0F B6/B7 */
OP(op_movzx)
{
	rg_write(c, i, i->osz, rm_read(c, i, (i->op & 1) ? SZ16 : SZ8));
}

/* 0F BE/BF */
OP(op_movsx)
{
	int ssz = (i->op & 1) ? SZ16 : SZ8;
	rg_write(c, i, i->osz, sext(rm_read(c, i, ssz), ssz));
}

/* 63 in 64-bit mode */
OP(op_movsxd)
{
	if (i->osz == SZ64)
		rg_write(c, i, SZ64, sext(rm_read(c, i, SZ32), SZ32));
	else
		rg_write(c, i, i->osz, rm_read(c, i, i->osz));
}

/* 0F 38 F0/F1: MOVBE (memory operand only) */
OP(op_movbe)
{
	int sz = i->osz;
	u64 v;

	if (!(i->flags & IF_MEM) || sz == SZ8)
		cpu_ud(c);
	if (i->op == 0xf0) {
		v = rm_read(c, i, sz);
		v = sz == SZ64 ? __builtin_bswap64(v) : sz == SZ32 ? __builtin_bswap32((u32)v) :
		    __builtin_bswap16((u16)v);
		rg_write(c, i, sz, v);
	} else {
		v = rg_read(c, i, sz);
		v = sz == SZ64 ? __builtin_bswap64(v) : sz == SZ32 ? __builtin_bswap32((u32)v) :
		    __builtin_bswap16((u16)v);
		rm_write(c, i, sz, v);
	}
}

/* 50+r */
OP(op_push_r)
{
	cpu_push(c, i->osz, reg_read(c, i->reg, i->osz));
}

/* 58+r */
OP(op_pop_r)
{
	u64 v = cpu_pop(c, i->osz);
	reg_write(c, i->reg, i->osz, v);
}

/* 68 / 6A */
OP(op_push_imm)
{
	cpu_push(c, i->osz, i->imm);
}

/* 8F /0: the address is computed after RSP is incremented (SDM POP) */
OP(op_pop_rm)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	u64 sp = c->s.gpr[4] & sz_mask(ssz), v, old = c->s.gpr[4];

	if ((i->modrm >> 3) & 7)
		cpu_ud(c);
	v = mem_read(c, CPU_SEG_SS, sp, size);
	if (!(i->flags & IF_MEM)) {
		reg_write(c, 4, ssz, sp + size);
		reg_write(c, i->rm, sz, v);
		return;
	}
	reg_write(c, 4, ssz, sp + size);
	{
		u64 lin;
		/* restore RSP if the store faults */
		void *p;
		lin = ea_lin(c, i, size, ACC_W);
		p = mem_fast(c, lin, size, ACC_W);
		if (!p) {
			u64 save = c->s.gpr[4];
			c->s.gpr[4] = old;
			p = mem_ptr_slow(c, lin, size, ACC_W);
			c->s.gpr[4] = save;
		}
		if (p)
			st(p, size, v);
		else
			mem_write_slow(c, lin, size, v, ACC_W);
	}
}

/* FF /6 */
OP(op_push_rm)
{
	cpu_push(c, i->osz, rm_read(c, i, i->osz));
}

/* 60: PUSHA/PUSHAD */
OP(op_pusha)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	u64 sp = c->s.gpr[4] & sz_mask(ssz);

	for (int r = 0; r < 8; r++)
		mem_write(c, CPU_SEG_SS, (sp - (r + 1) * size) & sz_mask(ssz), size,
			  reg_read(c, r, sz));
	reg_write(c, 4, ssz, sp - 8 * size);
}

/* 61: POPA/POPAD (the stored SP is skipped) */
OP(op_popa)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	u64 sp = c->s.gpr[4] & sz_mask(ssz), v[8];

	for (int r = 0; r < 8; r++)
		v[7 - r] = mem_read(c, CPU_SEG_SS, (sp + r * size) & sz_mask(ssz), size);
	for (int r = 0; r < 8; r++)
		if (r != 4)
			reg_write(c, r, sz, v[r]);
	reg_write(c, 4, ssz, sp + 8 * size);
}

/* C8: ENTER imm16, imm8 */
OP(op_enter)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	unsigned level = i->imm2 & 31;
	u64 m = sz_mask(ssz);
	u64 sp = c->s.gpr[4] & m, bp = c->s.gpr[5], frame;

	sp = (sp - size) & m;
	mem_write(c, CPU_SEG_SS, sp, size, reg_read(c, 5, sz));
	frame = sp;
	if (level) {
		for (unsigned k = 1; k < level; k++) {
			bp = (bp - size) & sz_mask(ssz);
			u64 v = mem_read(c, CPU_SEG_SS, bp & m, size);
			sp = (sp - size) & m;
			mem_write(c, CPU_SEG_SS, sp, size, v);
		}
		sp = (sp - size) & m;
		mem_write(c, CPU_SEG_SS, sp, size, frame);
	}
	sp = (sp - (u16)i->imm) & m;
	/* a final probe of the new stack top like hardware (SDM ENTER) */
	(void)seg_lin(c, CPU_SEG_SS, sp, 1, ACC_W);
	reg_write(c, 5, sz, frame);
	reg_write(c, 4, ssz, sp);
}

/* C9: LEAVE */
OP(op_leave)
{
	int sz = i->osz, ssz = stack_sz(c), size = 1 << sz;
	u64 sp = c->s.gpr[5] & sz_mask(ssz);
	u64 v = mem_read(c, CPU_SEG_SS, sp, size);

	reg_write(c, 4, ssz, sp + size);
	reg_write(c, 5, sz, v);
}

static int seg_of_op(const struct insn *i)
{
	if (i->map == 1)
		return i->op < 0xa8 ? CPU_SEG_FS : CPU_SEG_GS;
	return (i->op >> 3) & 3;
}

/* 06/0E/16/1E, 0F A0/A8 */
OP(op_push_seg)
{
	cpu_push(c, i->osz, c->s.seg[seg_of_op(i)].sel);
}

/* 07/17/1F, 0F A1/A9 */
OP(op_pop_seg)
{
	int seg = seg_of_op(i), ssz = stack_sz(c), size = 1 << i->osz;
	u64 sp = c->s.gpr[4] & sz_mask(ssz);
	u16 sel = (u16)mem_read(c, CPU_SEG_SS, sp, size);

	cpu_load_seg(c, seg, sel);
	reg_write(c, 4, ssz, sp + size);
	if (seg == CPU_SEG_SS) {
		c->s.interruptibility |= CPU_INTR_MOVSS_BLOCKING;
		cpu_req(c, REQ_SLOW);
	}
}

/* 8C: MOV r/m, Sreg (a register destination gets the zero-extended selector) */
OP(op_mov_rm_seg)
{
	int s = (i->modrm >> 3) & 7;

	if (s > 5)
		cpu_ud(c);
	if (i->flags & IF_MEM)
		rm_write(c, i, SZ16, c->s.seg[s].sel);
	else
		reg_write(c, i->rm, i->osz == SZ16 ? SZ16 : i->osz, c->s.seg[s].sel);
}

/* 8E: MOV Sreg, r/m (MOV CS is #UD; MOV SS blocks interrupts for one insn) */
OP(op_mov_seg_rm)
{
	int s = (i->modrm >> 3) & 7;
	u16 sel;

	if (s > 5 || s == CPU_SEG_CS)
		cpu_ud(c);
	sel = (u16)rm_read(c, i, SZ16);
	cpu_load_seg(c, s, sel);
	if (s == CPU_SEG_SS) {
		c->s.interruptibility |= CPU_INTR_MOVSS_BLOCKING;
		cpu_req(c, REQ_SLOW);
	}
}

/* C4/C5, 0F B2/B4/B5: LES LDS LSS LFS LGS */
OP(op_lxs)
{
	int sz = i->osz, seg;
	u64 ea, off;
	u16 sel;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	if (i->map == 0)
		seg = i->op == 0xc4 ? CPU_SEG_ES : CPU_SEG_DS;
	else
		seg = i->op == 0xb2 ? CPU_SEG_SS : i->op == 0xb4 ? CPU_SEG_FS : CPU_SEG_GS;
	ea = insn_ea(c, i);
	off = mem_read(c, i->seg, ea, 1 << sz);
	sel = (u16)mem_read(c, i->seg, (ea + (1u << sz)) & (i->asz == SZ64 ? ~0ull : sz_mask(i->asz)), 2);
	cpu_load_seg(c, seg, sel);
	rg_write(c, i, sz, off);
	if (seg == CPU_SEG_SS) {
		c->s.interruptibility |= CPU_INTR_MOVSS_BLOCKING;
		cpu_req(c, REQ_SLOW);
	}
}

/* D7: XLAT */
OP(op_xlat)
{
	u64 off = (c->s.gpr[3] + (u8)c->s.gpr[0]);
	if (i->asz != SZ64)
		off &= sz_mask(i->asz);
	reg_write(c, 0, SZ8, mem_read(c, i->seg, off, 1));
}
