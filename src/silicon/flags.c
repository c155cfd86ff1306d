// SPDX-License-Identifier: MIT
/*
 * flags.c: lazy RFLAGS.
 *
 * ALU instructions record (operation, size, result, operands) instead of
 * computing six flags; the flags are computed only when something reads
 * them (Jcc, SETcc, PUSHF, ADC...).  CF and OF of ADD/ADC and SUB/SBB come
 * from the operands' and result's top bits, so ADC/SBB need no extra
 * state: carry out = (a & b) | ((a | b) & ~r), borrow out =
 * (~a & b) | (~(a ^ b) & r), taken at the sign bit.
 */
/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
#include "silicon/cpu.h"

u8 parity8(u64 v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

/*
 * The flags of ADD, SUB, INC, DEC and the logic operations are the host
 * CPU's own for the same operation at the same size (SDM vol. 1 3.4.3:
 * these are defined identically on every x86-64), so the host computes
 * them: one instruction and PUSHF instead of a dozen tests.  INC and DEC
 * keep only their result: the operand is one less (more).  CF of INC/DEC
 * is lf_cf; AF after a logic operation, undefined in the SDM, is 0 here as
 * in lf_compute_generic().
 */
#define HOST_FLAGS_OP(insn, a, b, sfx) ({					\
	u64 f_, a_ = (a);							\
	__asm__(insn " %" sfx "2, %" sfx "1\n\tpushfq\n\tpopq %0"		\
		: "=r"(f_), "+r"(a_) : "r"((u64)(b)) : "cc");			\
	f_; })
/*
 * One label per operation and size, reached through a table indexed by
 * both (lf_op in bits 5:2, lf_sz in 1:0): every index is in the table, so
 * no bounds test; operations without a host form go to lf_compute_generic().
 */
#define HOST_FLAGS_ROW(name) &&name##_0, &&name##_1, &&name##_2, &&name##_3
#define GENERIC_ROW &&generic, &&generic, &&generic, &&generic

static __attribute__((noinline)) u64 lf_compute_generic(struct cpu *c);

/* The body of lf_compute(), which leaves by RET(flags) (one copy per function: its labels) */
#define LF_COMPUTE_BODY(c, RET)								\
	const u64 no_cf = FLAGS_ARITH & ~(u64)CPU_FLAG_CF;				\
	static const void *const rows[16 * 4] = {					\
		[LF_NONE * 4] = GENERIC_ROW,						\
		[LF_ADD * 4] = HOST_FLAGS_ROW(add),					\
		[LF_SUB * 4] = HOST_FLAGS_ROW(sub),					\
		[LF_LOGIC * 4] = HOST_FLAGS_ROW(logic),					\
		[LF_INC * 4] = HOST_FLAGS_ROW(inc),					\
		[LF_DEC * 4] = HOST_FLAGS_ROW(dec),					\
		[LF_ADC * 4 ... 16 * 4 - 1] = &&generic,				\
	};										\
	BUILD_BUG_ON(LF_DEC >= LF_ADC || LF_SAR >= 16);					\
											\
	goto *rows[(c->lf_op & 15u) << 2 | (c->lf_sz & 3u)];				\
	HOST_FLAGS_LABELS_R(RET, add, "add", c->lf_s1, c->lf_s2, FLAGS_ARITH, 0)	\
	HOST_FLAGS_LABELS_R(RET, sub, "sub", c->lf_s1, c->lf_s2, FLAGS_ARITH, 0)	\
	HOST_FLAGS_LABELS_R(RET, logic, "test", c->lf_res, c->lf_res,			\
			    CPU_FLAG_ZF | CPU_FLAG_SF | CPU_FLAG_PF, 0)			\
	HOST_FLAGS_LABELS_R(RET, inc, "add", c->lf_res - 1, 1, no_cf, c->lf_cf ? CPU_FLAG_CF : 0) \
	HOST_FLAGS_LABELS_R(RET, dec, "sub", c->lf_res + 1, 1, no_cf, c->lf_cf ? CPU_FLAG_CF : 0) \
generic:											\
	RET(lf_compute_generic(c));

#define LF_RETURN(f) return (f)
#define HOST_FLAGS_LABELS_R(RET, name, insn, a, b, mask, extra)				\
	name##_0: RET((HOST_FLAGS_OP(insn "b", a, b, "b") & (mask)) | (extra));		\
	name##_1: RET((HOST_FLAGS_OP(insn "w", a, b, "w") & (mask)) | (extra));		\
	name##_2: RET((HOST_FLAGS_OP(insn "l", a, b, "k") & (mask)) | (extra));		\
	name##_3: RET((HOST_FLAGS_OP(insn "q", a, b, "q") & (mask)) | (extra));

/* the core's RFLAGS and *slot: the arithmetic flags @f with the others */
#define LF_EXIT_STORE(f)								\
	do {										\
		u64 r_ = (c->s.rflags & ~(u64)FLAGS_ARITH) | (f);			\
											\
		c->s.rflags = r_;							\
		c->lf_op = LF_NONE;							\
		*slot = r_;								\
		return true;								\
	} while (0)

bool cpu_exit_flags(struct cpu *c, u64 *slot)
{
	if (c->lf_op == LF_NONE) {
		*slot = c->s.rflags;
		return true;
	}
	{
		LF_COMPUTE_BODY(c, LF_EXIT_STORE)
	}
}

u64 lf_compute(struct cpu *c)
{
	LF_COMPUTE_BODY(c, LF_RETURN)
}

static u64 lf_compute_generic(struct cpu *c)
{
	u64 r = c->lf_res, a = c->lf_s1, b = c->lf_s2, f = 0;
	int sz = c->lf_sz & 3;
	/* Sign bit and mask of each operand size, by table: no shifts by a variable count. */
	static const u64 sign_bit[4] = { 0x80, 0x8000, 0x80000000, 0x8000000000000000 };
	static const u64 size_mask[4] = { 0xff, 0xffff, 0xffffffff, ~0ull };
	u64 sb = sign_bit[sz];
	u64 m = size_mask[sz];

	switch (c->lf_op) {
	case LF_ADD:
	case LF_ADC:
		if (((a & b) | ((a | b) & ~r)) & sb)
			f |= CPU_FLAG_CF;
		if ((a ^ r) & (b ^ r) & sb)
			f |= CPU_FLAG_OF;
		f |= (a ^ b ^ r) & CPU_FLAG_AF;
		break;
	case LF_SUB:
	case LF_SBB:
		if (((~a & b) | (~(a ^ b) & r)) & sb)
			f |= CPU_FLAG_CF;
		if ((a ^ b) & (a ^ r) & sb)
			f |= CPU_FLAG_OF;
		f |= (a ^ b ^ r) & CPU_FLAG_AF;
		break;
	case LF_LOGIC:
		break;
	case LF_SHL: {
		unsigned n = (unsigned)b, bits = 8u << sz;
		bool cf = n <= bits ? (a >> (bits - n)) & 1 : 0;
		f |= cf ? CPU_FLAG_CF : 0;
		if (!!(r & sb) ^ cf)
			f |= CPU_FLAG_OF;
		break;
	}
	case LF_SHR: {
		unsigned n = (unsigned)b, bits = 8u << sz;
		if (n <= bits && ((a >> (n - 1)) & 1))
			f |= CPU_FLAG_CF;
		if (a & sb)
			f |= CPU_FLAG_OF;
		break;
	}
	case LF_SAR: {
		unsigned n = (unsigned)b;
		s64 sa = (s64)sext(a, sz);
		if ((sa >> (n - 1 < 63 ? n - 1 : 63)) & 1)
			f |= CPU_FLAG_CF;
		break;
	}
	case LF_INC:
		f |= c->lf_cf ? CPU_FLAG_CF : 0;
		if ((r & m) == sb)
			f |= CPU_FLAG_OF;
		if ((r & 0xf) == 0)
			f |= CPU_FLAG_AF;
		break;
	case LF_DEC:
		f |= c->lf_cf ? CPU_FLAG_CF : 0;
		if ((r & m) == sb - 1)
			f |= CPU_FLAG_OF;
		if ((r & 0xf) == 0xf)
			f |= CPU_FLAG_AF;
		break;
	default:
		return c->s.rflags & FLAGS_ARITH;
	}
	if ((r & m) == 0)
		f |= CPU_FLAG_ZF;
	if (r & sb)
		f |= CPU_FLAG_SF;
	if (parity8(r))
		f |= CPU_FLAG_PF;
	return f;
}

/* Condition codes, SDM vol. 1 appendix B */
bool cpu_cond_slow(struct cpu *c, int cc)
{
	u64 f;
	bool r;

	/* Fast path: ZF of any lazy result needs no flag word. */
	if ((cc >> 1) == 2 && c->lf_op != LF_NONE)
		return ((c->lf_res & sz_mask(c->lf_sz)) == 0) ^ (cc & 1);
	f = cpu_get_flags(c);
	switch (cc >> 1) {
	case 0: r = f & CPU_FLAG_OF; break;
	case 1: r = f & CPU_FLAG_CF; break;
	case 2: r = f & CPU_FLAG_ZF; break;
	case 3: r = f & (CPU_FLAG_CF | CPU_FLAG_ZF); break;
	case 4: r = f & CPU_FLAG_SF; break;
	case 5: r = f & CPU_FLAG_PF; break;
	case 6: r = !!(f & CPU_FLAG_SF) != !!(f & CPU_FLAG_OF); break;
	default: r = (f & CPU_FLAG_ZF) || (!!(f & CPU_FLAG_SF) != !!(f & CPU_FLAG_OF)); break;
	}
	return r ^ (cc & 1);
}
