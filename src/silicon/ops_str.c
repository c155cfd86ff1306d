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
/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
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
 * A REP string instruction with a 32-bit address size that starts with
 * ECX = 0 does no iteration, yet Intel processors still write the 32-bit
 * registers it would use: RCX becomes 0 (all 64 bits), MOVS zero-extends
 * RSI and RDI from 32 bits, STOS RDI; LODS, CMPS, SCAS, INS and OUTS only
 * RCX.  Seen on an Intel Xeon host (tests/silicon/diff_test.c, 67h
 * cases with a nonzero upper half); Linux KVM's instruction emulator does
 * the same for Intel guests (emulate.c, string_registers_quirk()).  AMD
 * processors leave the three registers unchanged; we report GenuineIntel
 * (msr.c CPUID), so we do as Intel does.  rep_count() calls this for the
 * KVM emulator path (c->emul) as well, before emul_rep_count().
 */
static __attribute__((noinline, cold)) void rep_zero_quirk(struct cpu *c, const struct insn *i)
{
	c->s.gpr[1] = 0;
	if (i->map != 0)
		return;
	switch (i->op) {
	case 0xa4: case 0xa5:	/* MOVS */
		c->s.gpr[6] = (u32)c->s.gpr[6];
		/* fall through */
	case 0xaa: case 0xab:	/* STOS */
		c->s.gpr[7] = (u32)c->s.gpr[7];
		break;
	}
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
	if (unlikely(n == 0) && i->asz == SZ32)
		rep_zero_quirk(c, i);
	if (unlikely(c->emul))
		return emul_rep_count(c, i, n);	/* emulate.c: one iteration per call */
	return n < REP_CHUNK ? n : REP_CHUNK;
}

/* After a chunk: stay on the instruction if RCX is not yet zero. */
static __always_inline void rep_done(struct cpu *c, const struct insn *i, bool stop)
{
	if ((i->flags & (IF_REP | IF_REPNE)) && !stop && areg(c, i, 1) != 0)
		set_rip(c, i, c->s.rip);
}

/*
 * Forward REP MOVS/STOS fast path: as many whole elements as fit in the
 * current source and destination pages go straight between host pointers
 * when both pages are in the soft TLB (RAM, access already granted, not
 * code: such write slots do not exist).  Everything else - page-straddling
 * elements, MMIO, faults, DF=1 - takes the element loop.  Return: the
 * elements done.
 */
static u64 rep_fast(struct cpu *c, const struct insn *i, int sz, u64 n, bool movs, u64 val)
{
	int size = 1 << sz;
	u64 done = 0, am = amask(i);

	while (done < n) {
		u64 di = areg(c, i, 7), si = areg(c, i, 6), k = n - done, dlin, slin = 0;
		u8 *dp, *sp = NULL;

		dlin = seg_lin(c, CPU_SEG_ES, di, size, ACC_W);
		dp = mem_fast(c, dlin, size, ACC_W);
		if (!dp)
			break;
		k = MIN(k, (4096 - (dlin & 0xfff)) / size);
		k = MIN(k, ((am - di) >> sz) + 1);	/* no wrap of rDI */
		if (movs) {
			slin = seg_lin(c, i->seg, si, size, ACC_R);
			sp = mem_fast(c, slin, size, ACC_R);
			if (!sp)
				break;
			k = MIN(k, (4096 - (slin & 0xfff)) / size);
			k = MIN(k, ((am - si) >> sz) + 1);
		}
		/* outside 64-bit mode only flat segments (no limit inside the run) */
		if (!c->code64 && (!((c->flat_w >> CPU_SEG_ES) & 1) ||
				   (movs && !((c->flat_r >> i->seg) & 1))))
			break;
		if (k == 0)
			break;
		if (movs) {
			if (dp >= sp + k * size || sp >= dp + k * size)
				memcpy(dp, sp, k * size);
			else
				for (u64 e = 0; e < k * size; e++)	/* overlap: forward, byte by byte */
					dp[e] = sp[e];
			areg_set(c, i, 6, si + k * size);
		} else if (size == 1) {
			memset(dp, (u8)val, k);
		} else {
			for (u64 e = 0; e < k; e++)
				st(dp + e * size, size, val);
		}
		areg_set(c, i, 7, di + k * size);
		areg_set(c, i, 1, areg(c, i, 1) - k);
		done += k;
	}
	return done;
}

OP(op_movs)
{
	int sz = i->osz, size = 1 << sz;
	s64 d = delta(c, sz);
	bool rep = i->flags & (IF_REP | IF_REPNE);
	u64 n = rep_count(c, i);

	if (rep && n > 1 && d > 0)
		n -= rep_fast(c, i, sz, n, true, 0);
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

	if (rep && n > 1 && d > 0)
		n -= rep_fast(c, i, sz, n, false, v);
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
