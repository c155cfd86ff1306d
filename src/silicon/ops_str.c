// SPDX-License-Identifier: MIT
/*
 * ops_str.c: string instructions with REP/REPE/REPNE (SDM vol. 1 7.3.9).
 *
 * A REP instruction runs a bounded chunk of iterations per dispatch and
 * then, if the count is not exhausted, leaves RIP on itself: the run loop
 * then looks at interrupts, kicks and the budget between chunks, as the
 * hardware recognises events between iterations.  Registers are updated
 * every iteration, so a fault leaves a restartable state.
 */
#include "silicon/ops.h"

#define REP_CHUNK 4096

static __always_inline u64 amask(const struct insn *i)
{
	return i->asz == SZ64 ? ~0ull : sz_mask(i->asz);
}

static __always_inline u64 areg(struct cpu *c, const struct insn *i, int r)
{
	return c->s.gpr[r] & amask(i);
}

static __always_inline void areg_set(struct cpu *c, const struct insn *i, int r, u64 v)
{
	reg_write(c, r, i->asz, v);
}

static __always_inline s64 delta(struct cpu *c, int sz)
{
	return (c->s.rflags & CPU_FLAG_DF) ? -(s64)(1 << sz) : (1 << sz);
}

/*
 * Iterations to run now: 1 without REP, else up to REP_CHUNK of RCX.
 * Returns 0 when a REP has nothing left to do.
 */
static __always_inline u64 rep_count(struct cpu *c, const struct insn *i)
{
	u64 n;
	if (!(i->flags & (IF_REP | IF_REPNE)))
		return 1;
	n = areg(c, i, 1);
	if (unlikely(c->emul))
		return n ? 1 : 0;	/* emulate.c: one iteration per call */
	return n < REP_CHUNK ? n : REP_CHUNK;
}

/* After a chunk: stay on the instruction if RCX is not yet zero. */
static __always_inline void rep_done(struct cpu *c, const struct insn *i, bool stop)
{
	if ((i->flags & (IF_REP | IF_REPNE)) && !stop && areg(c, i, 1) != 0)
		set_rip(c, i, c->s.rip);
}

OP(op_movs)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE);
	u64 n = rep_count(c, i);

	for (u64 k = 0; k < n; k++) {
		u64 si = areg(c, i, 6), di = areg(c, i, 7);
		u64 v = mem_read(c, i->seg, si, size);
		mem_write(c, CPU_SEG_ES, di, size, v);
		areg_set(c, i, 6, si + d);
		areg_set(c, i, 7, di + d);
		if (rep)
			areg_set(c, i, 1, areg(c, i, 1) - 1);
	}
	rep_done(c, i, false);
}

OP(op_stos)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE);
	u64 n = rep_count(c, i), v = reg_read(c, 0, sz);

	for (u64 k = 0; k < n; k++) {
		u64 di = areg(c, i, 7);
		mem_write(c, CPU_SEG_ES, di, size, v);
		areg_set(c, i, 7, di + d);
		if (rep)
			areg_set(c, i, 1, areg(c, i, 1) - 1);
	}
	rep_done(c, i, false);
}

OP(op_lods)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE);
	u64 n = rep_count(c, i);

	for (u64 k = 0; k < n; k++) {
		u64 si = areg(c, i, 6);
		reg_write(c, 0, sz, mem_read(c, i->seg, si, size));
		areg_set(c, i, 6, si + d);
		if (rep)
			areg_set(c, i, 1, areg(c, i, 1) - 1);
	}
	rep_done(c, i, false);
}

/* CMPS compares [rSI] - [rDI]; REPE/REPNE stop on ZF */
OP(op_cmps)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE), stop = false;
	u64 n = rep_count(c, i);

	for (u64 k = 0; k < n && !stop; k++) {
		u64 si = areg(c, i, 6), di = areg(c, i, 7);
		u64 a = mem_read(c, i->seg, si, size);
		u64 b = mem_read(c, CPU_SEG_ES, di, size);
		u64 r = (a - b) & sz_mask(sz);
		lf_set(c, LF_SUB, sz, r, a, b);
		areg_set(c, i, 6, si + d);
		areg_set(c, i, 7, di + d);
		if (rep) {
			areg_set(c, i, 1, areg(c, i, 1) - 1);
			stop = (i->flags & IF_REP) ? r != 0 : r == 0;
		}
	}
	rep_done(c, i, stop);
}

OP(op_scas)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE), stop = false;
	u64 n = rep_count(c, i), a = reg_read(c, 0, sz);

	for (u64 k = 0; k < n && !stop; k++) {
		u64 di = areg(c, i, 7);
		u64 b = mem_read(c, CPU_SEG_ES, di, size);
		u64 r = (a - b) & sz_mask(sz);
		lf_set(c, LF_SUB, sz, r, a, b);
		areg_set(c, i, 7, di + d);
		if (rep) {
			areg_set(c, i, 1, areg(c, i, 1) - 1);
			stop = (i->flags & IF_REP) ? r != 0 : r == 0;
		}
	}
	rep_done(c, i, stop);
}

/* 6C/6D: INS; the destination is probed before the port is read. */
OP(op_ins)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE), stop = false;
	u64 n = rep_count(c, i);
	u16 port = (u16)c->s.gpr[2];

	if (!cpu_io_allowed(c, port, size))
		cpu_gp0(c);
	if (c->vmx_nonroot && n && vmx_intercept_io(c, i, port, size, true, true))
		return;
	for (u64 k = 0; k < n && !stop; k++) {
		u64 di = areg(c, i, 7), lin;
		u32 v = 0;
		lin = seg_lin(c, CPU_SEG_ES, di, size, ACC_W);
		if (!mem_fast(c, lin, size, ACC_W))
			(void)mem_ptr_slow(c, lin, size, ACC_W);
		stop = cpu_io_in(c, port, size, &v);
		lin_write(c, lin, size, v);
		areg_set(c, i, 7, di + d);
		if (rep)
			areg_set(c, i, 1, areg(c, i, 1) - 1);
	}
	rep_done(c, i, false);	/* a stop request leaves RIP on an unfinished REP */
}

/* 6E/6F: OUTS */
OP(op_outs)
{
	int sz = i->osz == SZ64 ? SZ32 : i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE), stop = false;
	u64 n = rep_count(c, i);
	u16 port = (u16)c->s.gpr[2];

	if (!cpu_io_allowed(c, port, size))
		cpu_gp0(c);
	if (c->vmx_nonroot && n && vmx_intercept_io(c, i, port, size, false, true))
		return;
	for (u64 k = 0; k < n && !stop; k++) {
		u64 si = areg(c, i, 6);
		u32 v = (u32)mem_read(c, i->seg, si, size);
		stop = cpu_io_out(c, port, size, v);
		areg_set(c, i, 6, si + d);
		if (rep)
			areg_set(c, i, 1, areg(c, i, 1) - 1);
	}
	rep_done(c, i, false);
}
