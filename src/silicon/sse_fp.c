// SPDX-License-Identifier: MIT
/*
 * sse_fp.c: SSE/SSE2 floating point: ADD/SUB/MUL/DIV/MIN/MAX/SQRT (PS, PD,
 * SS, SD), RCP/RSQRT, CMPcc, (U)COMISS/SD and the conversions between
 * integers, singles and doubles (CVT*, CVTT*).
 *
 * The arithmetic is the host's: the guest's operands are loaded into host
 * XMM registers and the same instruction runs with the guest's MXCSR
 * (rounding, DAZ, FTZ) and every exception masked; the flags it raises are
 * then merged into the guest's MXCSR, and an unmasked one becomes #XM (or
 * #UD without CR4.OSXMMEXCPT) with the destination left alone (SDM vol. 1
 * 11.5).  So results, NaN propagation, denormals and rounding are exactly
 * those of an x86 processor.  This file therefore builds on x86-64 hosts
 * only, like the rest of the tests' oracle.
 *
 * With underflow unmasked, hardware reports a tiny result even if it is
 * exact, the masked host run only if it is also inexact: fp_op() checks
 * the result lanes for that (tiny_result()).  RCPPS/RSQRTPS give the
 * host's approximations (implementation specific, SDM: relative error at
 * most 1.5 * 2^-12).
 */
#include "silicon/fpu.h"

#if !defined(__x86_64__)
#error "sse_fp.c uses the host's SSE2 arithmetic"
#endif

typedef u32 (*host_fn)(xmm_t *d, const xmm_t *s, u32 mx);

/* The MXCSR the host runs with: the guest's controls, every exception masked, no flags */
static __always_inline u32 host_mxcsr(struct cpu *c)
{
	return (fpu_mxcsr(c) & ~MXCSR_FLAGS) | MXCSR_MASKS;
}

#define HOST_PRE  "stmxcsr %[sv]\n\tldmxcsr %[mx]\n\t"
#define HOST_POST "\n\tstmxcsr %[out]\n\tldmxcsr %[sv]"

typedef double v2df __attribute__((vector_size(16)));

#define HOST2(name, insn)							\
	static u32 h_##name(xmm_t *d, const xmm_t *s, u32 mx)			\
	{									\
		v2df a, b;							\
		u32 save = 0, out = 0;						\
		memcpy(&a, d, 16);						\
		memcpy(&b, s, 16);						\
		asm volatile(HOST_PRE insn " %[b], %[a]" HOST_POST		\
			     : [a] "+x"(a), [sv] "+m"(save), [out] "=m"(out)	\
			     : [b] "x"(b), [mx] "m"(mx));			\
		memcpy(d, &a, 16);						\
		return out & MXCSR_FLAGS;					\
	}

#define HOST4(op) HOST2(op##ps, #op "ps") HOST2(op##pd, #op "pd") \
		  HOST2(op##ss, #op "ss") HOST2(op##sd, #op "sd")
HOST4(add) HOST4(sub) HOST4(mul) HOST4(div) HOST4(min) HOST4(max) HOST4(sqrt)
HOST2(rsqrtps, "rsqrtps") HOST2(rsqrtss, "rsqrtss")
HOST2(rcpps, "rcpps") HOST2(rcpss, "rcpss")
HOST2(cvtps2pd, "cvtps2pd") HOST2(cvtpd2ps, "cvtpd2ps")
HOST2(cvtss2sd, "cvtss2sd") HOST2(cvtsd2ss, "cvtsd2ss")
HOST2(cvtdq2ps, "cvtdq2ps") HOST2(cvtps2dq, "cvtps2dq") HOST2(cvttps2dq, "cvttps2dq")
HOST2(cvttpd2dq, "cvttpd2dq") HOST2(cvtdq2pd, "cvtdq2pd") HOST2(cvtpd2dq, "cvtpd2dq")

/* CMPccPS/PD/SS/SD: legacy SSE uses imm8[2:0] */
#define HOSTCMP(name)								\
	HOST2(name##_0, #name " $0,") HOST2(name##_1, #name " $1,")		\
	HOST2(name##_2, #name " $2,") HOST2(name##_3, #name " $3,")		\
	HOST2(name##_4, #name " $4,") HOST2(name##_5, #name " $5,")		\
	HOST2(name##_6, #name " $6,") HOST2(name##_7, #name " $7,")		\
	static const host_fn name##_tab[8] = {					\
		h_##name##_0, h_##name##_1, h_##name##_2, h_##name##_3,		\
		h_##name##_4, h_##name##_5, h_##name##_6, h_##name##_7,		\
	};
HOSTCMP(cmpps) HOSTCMP(cmppd) HOSTCMP(cmpss) HOSTCMP(cmpsd)

/*
 * Underflow with UM unmasked (SDM 11.5.2.5): signaled for a tiny result
 * even when it is exact, which the masked host run does not report.  @uf
 * names the result lanes to look at: UF_F32/UF_F64 | lane count; a
 * denormal there is a tiny result (tininess is detected after rounding).
 */
#define UF_F32 0x00
#define UF_F64 0x10
static bool tiny_result(const xmm_t *d, u8 uf)
{
	for (int k = 0; k < (uf & 0xf); k++) {
		if (uf & UF_F64) {
			u64 v = d->q[k];
			if (!((v >> 52) & 0x7ff) && (v << 12))
				return true;
		} else {
			u32 v = d->d[k];
			if (!((v >> 23) & 0xff) && (v << 9))
				return true;
		}
	}
	return false;
}

/* op xmm, xmm/m (@msz bytes of memory; 16 must be aligned) */
static __always_inline void fp_op(struct cpu *c, const struct insn *i, host_fn fn, int msz, u8 uf)
{
	xmm_t d, s;
	u32 fl;

	sse_check(c);
	if (i->flags & IF_MEM) {
		memset(&s, 0, sizeof(s));
		vec_read(c, vec_ea(c, i, msz, ACC_R, msz == 16 ? 16 : 1), &s, msz);
	} else {
		xmm_get(c, i->rm, &s);
	}
	xmm_get(c, i->reg, &d);
	fl = fn(&d, &s, host_mxcsr(c));
	if (uf && !(fpu_mxcsr(c) & BIT(11)) && !(fl & MXCSR_UE) && tiny_result(&d, uf))
		fl |= MXCSR_UE;
	if (fl)
		sse_fp_exceptions(c, fl);
	xmm_set(c, i->reg, &d);
}

#define FP(name, msz, uf) static OP(op_##name) { fp_op(c, i, h_##name, msz, uf); }
/* the arithmetic can underflow; MIN/MAX/SQRT cannot */
#define FP4U(op) FP(op##ps, 16, UF_F32 | 4) FP(op##pd, 16, UF_F64 | 2) \
		 FP(op##ss, 4, UF_F32 | 1) FP(op##sd, 8, UF_F64 | 1)
#define FP4(op) FP(op##ps, 16, 0) FP(op##pd, 16, 0) FP(op##ss, 4, 0) FP(op##sd, 8, 0)
FP4U(add) FP4U(sub) FP4U(mul) FP4U(div) FP4(min) FP4(max) FP4(sqrt)
FP(rsqrtps, 16, 0) FP(rsqrtss, 4, 0) FP(rcpps, 16, 0) FP(rcpss, 4, 0)
FP(cvtps2pd, 8, 0) FP(cvtpd2ps, 16, UF_F32 | 2) FP(cvtss2sd, 4, 0) FP(cvtsd2ss, 8, UF_F32 | 1)
FP(cvtdq2ps, 16, 0) FP(cvtps2dq, 16, 0) FP(cvttps2dq, 16, 0)
FP(cvttpd2dq, 16, 0) FP(cvtdq2pd, 8, 0) FP(cvtpd2dq, 16, 0)

#define FPCMP(name, msz) \
	static OP(op_##name) { fp_op(c, i, name##_tab[(u8)i->imm & 7], msz, 0); }
FPCMP(cmpps, 16) FPCMP(cmppd, 16) FPCMP(cmpss, 4) FPCMP(cmpsd, 8)

/* ---- COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF; OF = SF = AF = 0 ---- */

#define HOSTCOMI(name)								\
	static u32 h_##name(const xmm_t *d, const xmm_t *s, u32 mx, u64 *fl)	\
	{									\
		v2df a, b;							\
		u32 save = 0, out = 0;						\
		bool zf, pf, cf;						\
		memcpy(&a, d, 16);						\
		memcpy(&b, s, 16);						\
		asm volatile(HOST_PRE #name " %[b], %[a]" HOST_POST		\
			     : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf),		\
			       [sv] "+m"(save), [out] "=m"(out)			\
			     : [a] "x"(a), [b] "x"(b), [mx] "m"(mx));		\
		*fl = (zf ? CPU_FLAG_ZF : 0) | (pf ? CPU_FLAG_PF : 0) |		\
		      (cf ? CPU_FLAG_CF : 0);					\
		return out & MXCSR_FLAGS;					\
	}
HOSTCOMI(comiss) HOSTCOMI(ucomiss) HOSTCOMI(comisd) HOSTCOMI(ucomisd)

#define COMI(name, msz)								\
	static OP(op_##name)							\
	{									\
		xmm_t d, s;							\
		u64 fl;								\
		u32 ex;								\
		sse_check(c);							\
		if (i->flags & IF_MEM) {					\
			memset(&s, 0, sizeof(s));				\
			vec_read(c, vec_ea(c, i, msz, ACC_R, 1), &s, msz);	\
		} else {							\
			xmm_get(c, i->rm, &s);					\
		}								\
		xmm_get(c, i->reg, &d);						\
		ex = h_##name(&d, &s, host_mxcsr(c), &fl);			\
		if (ex)								\
			sse_fp_exceptions(c, ex);				\
		cpu_set_arith(c, fl);						\
	}
COMI(comiss, 4) COMI(ucomiss, 4) COMI(comisd, 8) COMI(ucomisd, 8)

/* ---- CVTSI2SS/SD xmm, r/m32|64 ---- */

#define HOSTSI2(name, insn, T)							\
	static u32 h_##name(xmm_t *d, T v, u32 mx)				\
	{									\
		v2df a;								\
		u32 save = 0, out = 0;						\
		memcpy(&a, d, 16);						\
		asm volatile(HOST_PRE insn " %[v], %[a]" HOST_POST		\
			     : [a] "+x"(a), [sv] "+m"(save), [out] "=m"(out)	\
			     : [v] "r"(v), [mx] "m"(mx));			\
		memcpy(d, &a, 16);						\
		return out & MXCSR_FLAGS;					\
	}
HOSTSI2(cvtsi2ssl, "cvtsi2ssl", s32) HOSTSI2(cvtsi2ssq, "cvtsi2ssq", s64)
HOSTSI2(cvtsi2sdl, "cvtsi2sdl", s32) HOSTSI2(cvtsi2sdq, "cvtsi2sdq", s64)

static __always_inline void cvtsi2(struct cpu *c, const struct insn *i, bool sd)
{
	bool q = i->flags & IF_REXW;
	u64 v;
	xmm_t d;
	u32 fl;

	sse_check(c);
	v = rm_read(c, i, q ? SZ64 : SZ32);
	xmm_get(c, i->reg, &d);
	if (sd)
		fl = q ? h_cvtsi2sdq(&d, (s64)v, host_mxcsr(c)) : h_cvtsi2sdl(&d, (s32)v, host_mxcsr(c));
	else
		fl = q ? h_cvtsi2ssq(&d, (s64)v, host_mxcsr(c)) : h_cvtsi2ssl(&d, (s32)v, host_mxcsr(c));
	if (fl)
		sse_fp_exceptions(c, fl);
	xmm_set(c, i->reg, &d);
}

static OP(op_cvtsi2ss) { cvtsi2(c, i, false); }
static OP(op_cvtsi2sd) { cvtsi2(c, i, true); }

/* ---- CVT(T)SS2SI / CVT(T)SD2SI r32|64, xmm/m32|64 ---- */

#define HOST2SI(name, insn, T)							\
	static u32 h_##name(const xmm_t *s, T *r, u32 mx)			\
	{									\
		v2df b;								\
		u32 save = 0, out = 0;						\
		T v;								\
		memcpy(&b, s, 16);						\
		asm volatile(HOST_PRE insn " %[b], %[v]" HOST_POST		\
			     : [v] "=r"(v), [sv] "+m"(save), [out] "=m"(out)	\
			     : [b] "x"(b), [mx] "m"(mx));			\
		*r = v;								\
		return out & MXCSR_FLAGS;					\
	}
HOST2SI(cvtss2si32, "cvtss2si", u32) HOST2SI(cvtss2si64, "cvtss2si", u64)
HOST2SI(cvttss2si32, "cvttss2si", u32) HOST2SI(cvttss2si64, "cvttss2si", u64)
HOST2SI(cvtsd2si32, "cvtsd2si", u32) HOST2SI(cvtsd2si64, "cvtsd2si", u64)
HOST2SI(cvttsd2si32, "cvttsd2si", u32) HOST2SI(cvttsd2si64, "cvttsd2si", u64)

#define CVT2SI(name, msz)							\
	static OP(op_##name)							\
	{									\
		bool q = i->flags & IF_REXW;					\
		xmm_t s;							\
		u32 r32 = 0, ex;						\
		u64 r64 = 0;							\
		sse_check(c);							\
		if (i->flags & IF_MEM) {					\
			memset(&s, 0, sizeof(s));				\
			vec_read(c, vec_ea(c, i, msz, ACC_R, 1), &s, msz);	\
		} else {							\
			xmm_get(c, i->rm, &s);					\
		}								\
		if (q)								\
			ex = h_##name##64(&s, &r64, host_mxcsr(c));		\
		else								\
			ex = h_##name##32(&s, &r32, host_mxcsr(c));		\
		if (ex)								\
			sse_fp_exceptions(c, ex);				\
		reg_write(c, i->reg, SZ64, q ? r64 : r32);			\
	}
CVT2SI(cvtss2si, 4) CVT2SI(cvttss2si, 4) CVT2SI(cvtsd2si, 8) CVT2SI(cvttsd2si, 8)

/*
 * ---- the MMX conversions (SDM CVTPI2PS ... CVTTPD2PI) ----
 * Computed by the packed XMM forms on the low lanes (the others zero, so
 * they raise nothing): CVTPI2PS keeps the destination's upper half.
 */
enum { PI2PS, PI2PD, PS2PI, TPS2PI, PD2PI, TPD2PI };

static void cvt_mmx(struct cpu *c, const struct insn *i, int kind)
{
	static const host_fn fns[] = { h_cvtdq2ps, h_cvtdq2pd, h_cvtps2dq, h_cvttps2dq,
				       h_cvtpd2dq, h_cvttpd2dq };
	bool to_xmm = kind <= PI2PD;
	bool mm_src = to_xmm && !(i->flags & IF_MEM);
	int msz = kind >= PD2PI ? 16 : 8;
	xmm_t src = { 0 }, r = { 0 }, d;
	u32 fl;

	sse_check(c);
	if (mm_src || !to_xmm)
		mmx_check(c);	/* #MF for a pending x87 exception */
	if (i->flags & IF_MEM)
		vec_read(c, vec_ea(c, i, msz, ACC_R, msz == 16 ? 16 : 1), &src, msz);
	if (mm_src || !to_xmm)
		mmx_enter(c);
	if (!(i->flags & IF_MEM)) {
		if (mm_src)
			mmx_get(c, i->rm, &src);
		else
			xmm_get(c, i->rm, &src);
	}
	if (msz == 8)
		src.q[1] = 0;
	fl = fns[kind](&r, &src, host_mxcsr(c));
	if (fl)
		sse_fp_exceptions(c, fl);
	if (kind == PI2PS) {
		xmm_get(c, i->reg, &d);
		d.q[0] = r.q[0];
		xmm_set(c, i->reg, &d);
	} else if (kind == PI2PD) {
		xmm_set(c, i->reg, &r);
	} else {
		mmx_set(c, i->reg, &r);
	}
}

static OP(op_cvtpi2ps) { cvt_mmx(c, i, PI2PS); }
static OP(op_cvtpi2pd) { cvt_mmx(c, i, PI2PD); }
static OP(op_cvtps2pi) { cvt_mmx(c, i, PS2PI); }
static OP(op_cvttps2pi) { cvt_mmx(c, i, TPS2PI); }
static OP(op_cvtpd2pi) { cvt_mmx(c, i, PD2PI); }
static OP(op_cvttpd2pi) { cvt_mmx(c, i, TPD2PI); }

/* [opcode - 0x50 or special][none, 66, F3, F2] */
#define ROW4(op) { op_##op##ps, op_##op##pd, op_##op##ss, op_##op##sd }
static const insn_fn fp_tab5x[16][4] = {
	[0x1] = ROW4(sqrt),
	[0x2] = { op_rsqrtps, NULL, op_rsqrtss },
	[0x3] = { op_rcpps, NULL, op_rcpss },
	[0x8] = ROW4(add),
	[0x9] = ROW4(mul),
	[0xa] = { op_cvtps2pd, op_cvtpd2ps, op_cvtss2sd, op_cvtsd2ss },
	[0xb] = { op_cvtdq2ps, op_cvtps2dq, op_cvttps2dq },
	[0xc] = ROW4(sub),
	[0xd] = ROW4(min),
	[0xe] = ROW4(div),
	[0xf] = ROW4(max),
};

insn_fn sse_fp_select(const struct insn *i, int pfx)
{
	u8 b = i->op;

	if (b >= 0x50 && b <= 0x5f)
		return fp_tab5x[b - 0x50][pfx];
	switch (b) {
	case 0xc2: {
		static const insn_fn t[4] = { op_cmpps, op_cmppd, op_cmpss, op_cmpsd };
		return t[pfx];
	}
	case 0xe6: {
		static const insn_fn t[4] = { NULL, op_cvttpd2dq, op_cvtdq2pd, op_cvtpd2dq };
		return t[pfx];
	}
	case 0x2a: {
		static const insn_fn t[4] = { op_cvtpi2ps, op_cvtpi2pd, op_cvtsi2ss, op_cvtsi2sd };
		return t[pfx];
	}
	case 0x2c: {
		static const insn_fn t[4] = { op_cvttps2pi, op_cvttpd2pi, op_cvttss2si, op_cvttsd2si };
		return t[pfx];
	}
	case 0x2d: {
		static const insn_fn t[4] = { op_cvtps2pi, op_cvtpd2pi, op_cvtss2si, op_cvtsd2si };
		return t[pfx];
	}
	case 0x2e:
		return pfx == 0 ? op_ucomiss : pfx == 1 ? op_ucomisd : NULL;
	case 0x2f:
		return pfx == 0 ? op_comiss : pfx == 1 ? op_comisd : NULL;
	}
	return NULL;
}
