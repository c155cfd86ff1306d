// SPDX-License-Identifier: MIT
/*
 * sse.c: SSE/SSE2 data movement, logic and packed-integer instructions,
 * and their MMX forms (SDM vol. 1 chapters 9-11, vol. 2 per instruction).
 *
 * The handler of each (opcode, mandatory prefix) is chosen at decode time
 * (sse_select(), called by optab_select() for 0F opcodes the integer
 * table lacks), so nothing here costs the integer instructions anything.
 * Every handler starts with sse_check() (XMM forms: #UD for CR0.EM or
 * !CR4.OSFXSR, #NM for CR0.TS) or mmx_check() (MMX forms: #UD for CR0.EM,
 * #NM for CR0.TS, #MF for a pending x87 exception).  128-bit memory
 * operands must be 16-byte aligned (#GP(0)) except for MOVUPS/MOVUPD/
 * MOVDQU/MASKMOVDQU; MMX and scalar operands need no alignment.
 *
 * The lane operations take the operand width in bytes (8 for MMX, 16 for
 * XMM), so one function serves both register files.
 */
#include "silicon/fpu.h"

typedef void (*vec_fn)(xmm_t *d, const xmm_t *s, int n, u8 imm);

/* ---- MMX registers: the mantissas of R0-R7 (SDM vol. 1 9.5) ---- */

void mmx_check(struct cpu *c)
{
	if (c->s.cr0 & CPU_CR0_EM)
		cpu_ud(c);
	if (c->s.cr0 & CPU_CR0_TS)
		cpu_fault_noerr(c, EXC_NM);
	if ((fpu_get16(c, FX_FSW) & FSW_ES) && (c->s.cr0 & CPU_CR0_NE))
		cpu_fault_noerr(c, EXC_MF);
	fpu_mark_inuse(c, XFEATURE_X87);
}

/*
 * Every MMX instruction but EMMS sets TOP to 0 and tags every register
 * valid (9.5.1).  The state keeps ST(i), so with TOP != 0 the slots are
 * rotated to make ST(i) = R_i.
 */
void mmx_enter(struct cpu *c)
{
	u8 *f = fpu_bytes(c);
	u16 fsw = fpu_get16(c, FX_FSW);
	int top = (fsw >> FSW_TOP_SHIFT) & 7;

	if (top) {
		u8 tmp[128];
		/* ST(i) = R_(top+i): R_j moves to slot j */
		for (int j = 0; j < 8; j++)
			memcpy(tmp + 16 * j, f + FX_ST + 16 * ((j - top) & 7), 16);
		memcpy(f + FX_ST, tmp, 128);
		fpu_put16(c, FX_FSW, fsw & ~(7u << FSW_TOP_SHIFT));
	}
	f[FX_FTW] = 0xff;
}

void mmx_get(struct cpu *c, int n, xmm_t *x)
{
	memcpy(x, fpu_bytes(c) + FX_ST + 16 * (n & 7), 8);
	x->q[1] = 0;
}

void mmx_set(struct cpu *c, int n, const xmm_t *x)
{
	u8 *r = fpu_bytes(c) + FX_ST + 16 * (n & 7);

	memcpy(r, x, 8);
	r[8] = r[9] = 0xff;	/* exponent and sign all ones (9.5.2) */
}

/*
 * The MMX source, mm or m64 (m32 for the PUNPCKL forms, @msz), then
 * mmx_enter(): a faulting memory operand leaves the x87 state alone, and
 * registers are read after TOP is 0.
 */
static void mmx_src(struct cpu *c, const struct insn *i, xmm_t *x, int msz)
{
	if (!(i->flags & IF_MEM)) {
		mmx_enter(c);
		mmx_get(c, i->rm, x);
		return;
	}
	x->q[0] = x->q[1] = 0;
	vec_read(c, vec_ea(c, i, msz, ACC_R, 1), x, msz);
	mmx_enter(c);
}

/* ---- generic forms ---- */

/* op xmm, xmm/m128 (@mmx: op mm, mm/m64) */
static __always_inline void binop(struct cpu *c, const struct insn *i, vec_fn fn, bool mmx,
				  int mmx_msz)
{
	xmm_t d, s;

	if (mmx) {
		mmx_check(c);
		mmx_src(c, i, &s, mmx_msz);
		mmx_get(c, i->reg, &d);
		fn(&d, &s, 8, (u8)i->imm);
		mmx_set(c, i->reg, &d);
	} else {
		sse_check(c);
		sse_src(c, i, &s, true);
		xmm_get(c, i->reg, &d);
		fn(&d, &s, 16, (u8)i->imm);
		xmm_set(c, i->reg, &d);
	}
}

#define VEC(name) static void f_##name(xmm_t *d, const xmm_t *s, int n, u8 imm)
/* XMM form only; the lane function's body follows */
#define X_ONLY(name) \
	VEC(name); static OP(x_##name) { binop(c, i, f_##name, false, 0); } VEC(name)
/* XMM and MMX forms */
#define XM(name) VEC(name); \
	static OP(x_##name) { binop(c, i, f_##name, false, 0); } \
	static OP(m_##name) { binop(c, i, f_##name, true, 8); } VEC(name)
/* likewise, the MMX form reads m32 */
#define XM_LO(name) VEC(name); \
	static OP(x_##name) { binop(c, i, f_##name, false, 0); } \
	static OP(m_##name) { binop(c, i, f_##name, true, 4); } VEC(name)

#define FOR(T, f, expr)							\
	do {								\
		(void)imm;						\
		for (int k = 0; k < n / (int)sizeof(T); k++) {		\
			T a = d->f[k], b = s->f[k];			\
			(void)a; (void)b;				\
			d->f[k] = (T)(expr);				\
		}							\
	} while (0)

static s8 sat8(int v) { return (s8)(v > 127 ? 127 : v < -128 ? -128 : v); }
static u8 satu8(int v) { return (u8)(v > 255 ? 255 : v < 0 ? 0 : v); }
static s16 sat16(int v) { return (s16)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static u16 satu16(int v) { return (u16)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

XM(paddb) { FOR(u8, b, a + b); }
XM(paddw) { FOR(u16, w, a + b); }
XM(paddd) { FOR(u32, d, a + b); }
XM(paddq) { FOR(u64, q, a + b); }
XM(psubb) { FOR(u8, b, a - b); }
XM(psubw) { FOR(u16, w, a - b); }
XM(psubd) { FOR(u32, d, a - b); }
XM(psubq) { FOR(u64, q, a - b); }
XM(paddsb) { FOR(s8, sb, sat8(a + b)); }
XM(paddsw) { FOR(s16, sw, sat16(a + b)); }
XM(paddusb) { FOR(u8, b, satu8(a + b)); }
XM(paddusw) { FOR(u16, w, satu16(a + b)); }
XM(psubsb) { FOR(s8, sb, sat8(a - b)); }
XM(psubsw) { FOR(s16, sw, sat16(a - b)); }
XM(psubusb) { FOR(u8, b, satu8(a - b)); }
XM(psubusw) { FOR(u16, w, satu16(a - b)); }
XM(pcmpeqb) { FOR(u8, b, a == b ? 0xff : 0); }
XM(pcmpeqw) { FOR(u16, w, a == b ? 0xffff : 0); }
XM(pcmpeqd) { FOR(u32, d, a == b ? ~0u : 0); }
XM(pcmpgtb) { FOR(s8, sb, a > b ? -1 : 0); }
XM(pcmpgtw) { FOR(s16, sw, a > b ? -1 : 0); }
XM(pcmpgtd) { FOR(s32, sd, a > b ? -1 : 0); }
XM(pmullw) { FOR(u16, w, (u32)a * b); }
XM(pmulhw) { FOR(s16, sw, ((s32)a * b) >> 16); }
XM(pmulhuw) { FOR(u16, w, ((u32)a * b) >> 16); }
XM(pminub) { FOR(u8, b, a < b ? a : b); }
XM(pmaxub) { FOR(u8, b, a > b ? a : b); }
XM(pminsw) { FOR(s16, sw, a < b ? a : b); }
XM(pmaxsw) { FOR(s16, sw, a > b ? a : b); }
XM(pavgb) { FOR(u8, b, ((u32)a + b + 1) >> 1); }
XM(pavgw) { FOR(u16, w, ((u32)a + b + 1) >> 1); }
XM(pand) { FOR(u64, q, a & b); }
XM(pandn) { FOR(u64, q, ~a & b); }
XM(por) { FOR(u64, q, a | b); }
XM(pxor) { FOR(u64, q, a ^ b); }

XM(pmuludq)
{
	(void)imm;
	for (int k = 0; k < n / 8; k++)
		d->q[k] = (u64)d->d[2 * k] * s->d[2 * k];
}

XM(pmaddwd)
{
	(void)imm;
	for (int k = 0; k < n / 4; k++)
		d->d[k] = (u32)((s32)d->sw[2 * k] * s->sw[2 * k] +
				(u32)((s32)d->sw[2 * k + 1] * s->sw[2 * k + 1]));
}

XM(psadbw)
{
	(void)imm;
	for (int g = 0; g < n / 8; g++) {
		u32 sum = 0;
		for (int k = 0; k < 8; k++) {
			int a = d->b[8 * g + k], b = s->b[8 * g + k];
			sum += (u32)(a > b ? a - b : b - a);
		}
		d->q[g] = sum;
	}
}

/* Unpack (interleave) the low or high halves, lanes of @sz bytes */
static void unpack(xmm_t *d, const xmm_t *s, int n, int sz, bool high)
{
	xmm_t r;
	int lanes = n / sz / 2, base = high ? lanes : 0;

	for (int k = 0; k < lanes; k++) {
		memcpy(r.b + 2 * k * sz, d->b + (base + k) * sz, sz);
		memcpy(r.b + (2 * k + 1) * sz, s->b + (base + k) * sz, sz);
	}
	memcpy(d, &r, n);
}

XM_LO(punpcklbw) { (void)imm; unpack(d, s, n, 1, false); }
XM_LO(punpcklwd) { (void)imm; unpack(d, s, n, 2, false); }
XM_LO(punpckldq) { (void)imm; unpack(d, s, n, 4, false); }
X_ONLY(punpcklqdq) { (void)imm; unpack(d, s, n, 8, false); }
XM(punpckhbw) { (void)imm; unpack(d, s, n, 1, true); }
XM(punpckhwd) { (void)imm; unpack(d, s, n, 2, true); }
XM(punpckhdq) { (void)imm; unpack(d, s, n, 4, true); }
X_ONLY(punpckhqdq) { (void)imm; unpack(d, s, n, 8, true); }

XM(packsswb)
{
	xmm_t r;
	int h = n / 2;
	(void)imm;
	for (int k = 0; k < h; k++) {
		r.sb[k] = sat8(d->sw[k]);
		r.sb[h + k] = sat8(s->sw[k]);
	}
	memcpy(d, &r, n);
}

XM(packuswb)
{
	xmm_t r;
	int h = n / 2;
	(void)imm;
	for (int k = 0; k < h; k++) {
		r.b[k] = satu8(d->sw[k]);
		r.b[h + k] = satu8(s->sw[k]);
	}
	memcpy(d, &r, n);
}

XM(packssdw)
{
	xmm_t r;
	int h = n / 4;
	(void)imm;
	for (int k = 0; k < h; k++) {
		r.sw[k] = sat16(d->sd[k]);
		r.sw[h + k] = sat16(s->sd[k]);
	}
	memcpy(d, &r, n);
}

/* Shifts by the count in the source (all 64 bits of it count) */
static u64 shcount(const xmm_t *s) { return s->q[0]; }
XM(psllw) { u64 k_ = shcount(s); FOR(u16, w, k_ > 15 ? 0 : (u32)a << k_); }
XM(pslld) { u64 k_ = shcount(s); FOR(u32, d, k_ > 31 ? 0 : a << k_); }
XM(psllq) { u64 k_ = shcount(s); FOR(u64, q, k_ > 63 ? 0 : a << k_); }
XM(psrlw) { u64 k_ = shcount(s); FOR(u16, w, k_ > 15 ? 0 : a >> k_); }
XM(psrld) { u64 k_ = shcount(s); FOR(u32, d, k_ > 31 ? 0 : a >> k_); }
XM(psrlq) { u64 k_ = shcount(s); FOR(u64, q, k_ > 63 ? 0 : a >> k_); }
XM(psraw) { u64 k_ = shcount(s); FOR(s16, sw, a >> (k_ > 15 ? 15 : k_)); }
XM(psrad) { u64 k_ = shcount(s); FOR(s32, sd, a >> (k_ > 31 ? 31 : k_)); }

/* 0F 71-73: shift by imm8 (register operand only) */
static OP(op_shift_imm)
{
	static const vec_fn tab[3][8] = {
		[0] = { [2] = f_psrlw, [4] = f_psraw, [6] = f_psllw },
		[1] = { [2] = f_psrld, [4] = f_psrad, [6] = f_pslld },
		[2] = { [2] = f_psrlq, [6] = f_psllq },
	};
	int r = (i->modrm >> 3) & 7;
	bool mmx = !(i->flags & IF_OSZ_PFX);
	xmm_t d, cnt = { .q = { (u8)i->imm, 0 } };
	vec_fn fn = tab[i->op - 0x71][r];

	if (i->flags & IF_MEM)
		cpu_ud(c);
	if (i->op == 0x73 && (r == 3 || r == 7) && !mmx) {
		/* PSRLDQ / PSLLDQ: bytes */
		unsigned k = (u8)i->imm;
		xmm_t z = { 0 };
		sse_check(c);
		xmm_get(c, i->rm, &d);
		if (k < 16) {
			if (r == 3)
				memcpy(z.b, d.b + k, 16 - k);
			else
				memcpy(z.b + k, d.b, 16 - k);
		}
		xmm_set(c, i->rm, &z);
		return;
	}
	if (!fn)
		cpu_ud(c);
	if (mmx) {
		mmx_check(c);
		mmx_enter(c);
		mmx_get(c, i->rm, &d);
		fn(&d, &cnt, 8, 0);
		mmx_set(c, i->rm, &d);
	} else {
		sse_check(c);
		xmm_get(c, i->rm, &d);
		fn(&d, &cnt, 16, 0);
		xmm_set(c, i->rm, &d);
	}
}

/* ---- shuffles ---- */

X_ONLY(pshufd)
{
	xmm_t r;
	(void)n;
	for (int k = 0; k < 4; k++)
		r.d[k] = s->d[(imm >> (2 * k)) & 3];
	*d = r;
}

X_ONLY(pshuflw)
{
	xmm_t r = *s;
	(void)n;
	for (int k = 0; k < 4; k++)
		r.w[k] = s->w[(imm >> (2 * k)) & 3];
	*d = r;
}

X_ONLY(pshufhw)
{
	xmm_t r = *s;
	(void)n;
	for (int k = 0; k < 4; k++)
		r.w[4 + k] = s->w[4 + ((imm >> (2 * k)) & 3)];
	*d = r;
}

/* 0F 70: PSHUFW mm, mm/m64, imm8 */
VEC(pshufw)
{
	xmm_t r = { 0 };
	(void)n;
	for (int k = 0; k < 4; k++)
		r.w[k] = s->w[(imm >> (2 * k)) & 3];
	*d = r;
}
static OP(m_pshufw) { binop(c, i, f_pshufw, true, 8); }

X_ONLY(shufps)
{
	xmm_t r;
	(void)n;
	r.d[0] = d->d[imm & 3];
	r.d[1] = d->d[(imm >> 2) & 3];
	r.d[2] = s->d[(imm >> 4) & 3];
	r.d[3] = s->d[(imm >> 6) & 3];
	*d = r;
}

X_ONLY(shufpd)
{
	xmm_t r;
	(void)n;
	r.q[0] = d->q[imm & 1];
	r.q[1] = s->q[(imm >> 1) & 1];
	*d = r;
}

/* ---- moves ---- */

/* 0F 10/28, 66 0F 10/28, F3 0F 6F, 66 0F 6F: xmm <- xmm/m128 */
static __always_inline void mov_load(struct cpu *c, const struct insn *i, bool align)
{
	xmm_t s;
	sse_check(c);
	sse_src(c, i, &s, align);
	xmm_set(c, i->reg, &s);
}

/* xmm/m128 <- xmm */
static __always_inline void mov_store(struct cpu *c, const struct insn *i, bool align)
{
	xmm_t s;
	sse_check(c);
	xmm_get(c, i->reg, &s);
	if (i->flags & IF_MEM)
		vec_write(c, vec_ea(c, i, 16, ACC_W, align ? 16 : 1), &s, 16);
	else
		xmm_set(c, i->rm, &s);
}

static OP(op_movu_load) { mov_load(c, i, false); }
static OP(op_mova_load) { mov_load(c, i, true); }
static OP(op_movu_store) { mov_store(c, i, false); }
static OP(op_mova_store) { mov_store(c, i, true); }

/* memory-only aligned stores: MOVNTPS/PD, MOVNTDQ */
static OP(op_movnt_store)
{
	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	mov_store(c, i, true);
}

/* F3 0F 10 / F2 0F 10: MOVSS/MOVSD xmm, xmm/m32|m64 */
static __always_inline void movs_load(struct cpu *c, const struct insn *i, int sz)
{
	xmm_t d;
	sse_check(c);
	if (i->flags & IF_MEM) {
		memset(&d, 0, 16);
		vec_read(c, vec_ea(c, i, sz, ACC_R, 1), &d, sz);
	} else {
		xmm_t s;
		xmm_get(c, i->reg, &d);
		xmm_get(c, i->rm, &s);
		memcpy(&d, &s, sz);
	}
	xmm_set(c, i->reg, &d);
}

/* F3 0F 11 / F2 0F 11: MOVSS/MOVSD xmm/m32|m64, xmm */
static __always_inline void movs_store(struct cpu *c, const struct insn *i, int sz)
{
	xmm_t s;
	sse_check(c);
	xmm_get(c, i->reg, &s);
	if (i->flags & IF_MEM) {
		vec_write(c, vec_ea(c, i, sz, ACC_W, 1), &s, sz);
	} else {
		xmm_t d;
		xmm_get(c, i->rm, &d);
		memcpy(&d, &s, sz);
		xmm_set(c, i->rm, &d);
	}
}

static OP(op_movss_load) { movs_load(c, i, 4); }
static OP(op_movsd_load) { movs_load(c, i, 8); }
static OP(op_movss_store) { movs_store(c, i, 4); }
static OP(op_movsd_store) { movs_store(c, i, 8); }

/*
 * 0F 12/16 and 66 0F 12/16: MOVLPS/MOVHPS/MOVLPD/MOVHPD xmm, m64; the
 * register forms without 66 are MOVHLPS/MOVLHPS.
 */
static OP(op_movlh_load)
{
	bool high = i->op == 0x16;
	xmm_t d;

	sse_check(c);
	xmm_get(c, i->reg, &d);
	if (i->flags & IF_MEM) {
		u64 v;
		vec_read(c, vec_ea(c, i, 8, ACC_R, 1), &v, 8);
		d.q[high] = v;
	} else {
		xmm_t s;
		if (i->flags & IF_OSZ_PFX)
			cpu_ud(c);
		xmm_get(c, i->rm, &s);
		d.q[high] = s.q[!high];	/* MOVLHPS: low -> high; MOVHLPS: high -> low */
	}
	xmm_set(c, i->reg, &d);
}

/* 0F 13/17 (66 too): MOVLPS/MOVHPS/MOVLPD/MOVHPD m64, xmm */
static OP(op_movlh_store)
{
	xmm_t s;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	sse_check(c);
	xmm_get(c, i->reg, &s);
	vec_write(c, vec_ea(c, i, 8, ACC_W, 1), &s.q[i->op == 0x17], 8);
}

/* 66 0F 6E: MOVD/MOVQ xmm, r/m32|64; 0F 6E: the MMX form */
static OP(op_movd_load)
{
	int sz = (i->flags & IF_REXW) ? SZ64 : SZ32;
	xmm_t d = { 0 };

	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		d.q[0] = rm_read(c, i, sz);
		xmm_set(c, i->reg, &d);
	} else {
		mmx_check(c);
		d.q[0] = rm_read(c, i, sz);
		mmx_enter(c);
		mmx_set(c, i->reg, &d);
	}
}

/* 66 0F 7E: MOVD/MOVQ r/m32|64, xmm; 0F 7E: the MMX form */
static OP(op_movd_store)
{
	int sz = (i->flags & IF_REXW) ? SZ64 : SZ32;
	xmm_t s;

	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		xmm_get(c, i->reg, &s);
	} else {
		mmx_check(c);
		mmx_enter(c);
		mmx_get(c, i->reg, &s);
	}
	if (!(i->flags & IF_MEM))
		reg_write(c, i->rm, SZ64, sz == SZ64 ? s.q[0] : s.d[0]);
	else
		rm_write(c, i, sz, s.q[0]);
}

/* F3 0F 7E: MOVQ xmm, xmm/m64 (upper half zeroed) */
static OP(op_movq_load)
{
	xmm_t d = { 0 };

	sse_check(c);
	if (i->flags & IF_MEM) {
		vec_read(c, vec_ea(c, i, 8, ACC_R, 1), &d, 8);
	} else {
		xmm_t s;
		xmm_get(c, i->rm, &s);
		d.q[0] = s.q[0];
	}
	xmm_set(c, i->reg, &d);
}

/* 66 0F D6: MOVQ xmm/m64, xmm */
static OP(op_movq_store)
{
	xmm_t s;

	sse_check(c);
	xmm_get(c, i->reg, &s);
	if (i->flags & IF_MEM) {
		vec_write(c, vec_ea(c, i, 8, ACC_W, 1), &s, 8);
	} else {
		s.q[1] = 0;
		xmm_set(c, i->rm, &s);
	}
}

/* F3 0F D6: MOVQ2DQ xmm, mm; F2 0F D6: MOVDQ2Q mm, xmm (register operands) */
static OP(op_movq2dq)
{
	xmm_t v;

	if (i->flags & IF_MEM)
		cpu_ud(c);
	sse_check(c);
	mmx_check(c);
	mmx_enter(c);
	if (i->flags & IF_REP) {
		mmx_get(c, i->rm, &v);
		xmm_set(c, i->reg, &v);
	} else {
		xmm_get(c, i->rm, &v);
		mmx_set(c, i->reg, &v);
	}
}

/* 0F 6F / 0F 7F: MOVQ mm, mm/m64 and MOVQ mm/m64, mm; 0F E7: MOVNTQ */
static OP(op_movq_mmx_load)
{
	xmm_t s;
	mmx_check(c);
	mmx_src(c, i, &s, 8);
	mmx_set(c, i->reg, &s);
}

static OP(op_movq_mmx_store)
{
	xmm_t s;

	if (i->op == 0xe7 && !(i->flags & IF_MEM))
		cpu_ud(c);
	mmx_check(c);
	mmx_enter(c);
	mmx_get(c, i->reg, &s);
	if (i->flags & IF_MEM)
		vec_write(c, vec_ea(c, i, 8, ACC_W, 1), &s, 8);
	else
		mmx_set(c, i->rm, &s);
}

/* 0F 77: EMMS: every x87 register empty */
static OP(op_emms)
{
	(void)i;
	mmx_check(c);
	fpu_bytes(c)[FX_FTW] = 0;
}

/* 0F C3: MOVNTI m32/m64, r32/r64 (no SSE state involved) */
static OP(op_movnti)
{
	int sz = (i->flags & IF_REXW) ? SZ64 : SZ32;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	rm_write(c, i, sz, reg_read(c, i->reg, sz));
}

/*
 * 66 0F F7: MASKMOVDQU xmm, xmm (0F F7: MASKMOVQ mm, mm): the bytes of reg
 * whose mask byte (rm) has bit 7 set, to DS:rDI
 */
static OP(op_maskmovdqu)
{
	xmm_t s, m;
	u64 addr = c->s.gpr[7] & (i->asz == SZ64 ? ~0ull : sz_mask(i->asz));
	int n = 16;

	if (i->flags & IF_MEM)
		cpu_ud(c);
	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		xmm_get(c, i->reg, &s);
		xmm_get(c, i->rm, &m);
	} else {
		mmx_check(c);
		mmx_enter(c);
		mmx_get(c, i->reg, &s);
		mmx_get(c, i->rm, &m);
		n = 8;
	}
	for (int k = 0; k < n; k++)
		if (m.b[k] & 0x80)
			mem_write(c, i->seg, (addr + k) & (i->asz == SZ64 ? ~0ull : sz_mask(i->asz)),
				  1, s.b[k]);
}

/* ---- to and from general registers ---- */

/* 66 0F D7 / 0F D7: PMOVMSKB r32, xmm|mm */
static OP(op_pmovmskb)
{
	xmm_t s;
	u32 m = 0;
	int n = 16;

	if (i->flags & IF_MEM)
		cpu_ud(c);
	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		xmm_get(c, i->rm, &s);
	} else {
		mmx_check(c);
		mmx_enter(c);
		mmx_get(c, i->rm, &s);
		n = 8;
	}
	for (int k = 0; k < n; k++)
		m |= (u32)(s.b[k] >> 7) << k;
	reg_write(c, i->reg, SZ64, m);
}

/* 0F 50 / 66 0F 50: MOVMSKPS / MOVMSKPD r32, xmm */
static OP(op_movmsk)
{
	xmm_t s;
	u32 m = 0;

	if (i->flags & IF_MEM)
		cpu_ud(c);
	sse_check(c);
	xmm_get(c, i->rm, &s);
	if (i->flags & IF_OSZ_PFX)
		m = (u32)(s.q[0] >> 63) | (u32)(s.q[1] >> 63) << 1;
	else
		for (int k = 0; k < 4; k++)
			m |= (s.d[k] >> 31) << k;
	reg_write(c, i->reg, SZ64, m);
}

/* 66 0F C5 / 0F C5: PEXTRW r32, xmm|mm, imm8 */
static OP(op_pextrw)
{
	xmm_t s;

	if (i->flags & IF_MEM)
		cpu_ud(c);
	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		xmm_get(c, i->rm, &s);
		reg_write(c, i->reg, SZ64, s.w[(u8)i->imm & 7]);
	} else {
		mmx_check(c);
		mmx_enter(c);
		mmx_get(c, i->rm, &s);
		reg_write(c, i->reg, SZ64, s.w[(u8)i->imm & 3]);
	}
}

/* 66 0F C4 / 0F C4: PINSRW xmm|mm, r32/m16, imm8 */
static OP(op_pinsrw)
{
	xmm_t d;
	u16 v;

	if (i->flags & IF_OSZ_PFX) {
		sse_check(c);
		v = (u16)rm_read(c, i, SZ16);
		xmm_get(c, i->reg, &d);
		d.w[(u8)i->imm & 7] = v;
		xmm_set(c, i->reg, &d);
	} else {
		mmx_check(c);
		v = (u16)rm_read(c, i, SZ16);
		mmx_enter(c);
		mmx_get(c, i->reg, &d);
		d.w[(u8)i->imm & 3] = v;
		mmx_set(c, i->reg, &d);
	}
}

/* ---- the table: [opcode][none, 66, F3, F2] ---- */

#define XMP(op, name) [op] = { m_##name, x_##name }
#define X66(op, name) [op] = { [1] = x_##name }
static const insn_fn sse_tab[256][4] = {
	[0x10] = { op_movu_load, op_movu_load, op_movss_load, op_movsd_load },
	[0x11] = { op_movu_store, op_movu_store, op_movss_store, op_movsd_store },
	[0x12] = { op_movlh_load, op_movlh_load },
	[0x13] = { op_movlh_store, op_movlh_store },
	[0x14] = { x_punpckldq, x_punpcklqdq },		/* UNPCKLPS, UNPCKLPD */
	[0x15] = { x_punpckhdq, x_punpckhqdq },		/* UNPCKHPS, UNPCKHPD */
	[0x16] = { op_movlh_load, op_movlh_load },
	[0x17] = { op_movlh_store, op_movlh_store },
	[0x28] = { op_mova_load, op_mova_load },
	[0x29] = { op_mova_store, op_mova_store },
	[0x2b] = { op_movnt_store, op_movnt_store },
	[0x50] = { op_movmsk, op_movmsk },
	[0x54] = { x_pand, x_pand },			/* ANDPS, ANDPD */
	[0x55] = { x_pandn, x_pandn },			/* ANDNPS, ANDNPD */
	[0x56] = { x_por, x_por },			/* ORPS, ORPD */
	[0x57] = { x_pxor, x_pxor },			/* XORPS, XORPD */
	XMP(0x60, punpcklbw), XMP(0x61, punpcklwd), XMP(0x62, punpckldq),
	XMP(0x63, packsswb), XMP(0x64, pcmpgtb), XMP(0x65, pcmpgtw), XMP(0x66, pcmpgtd),
	XMP(0x67, packuswb), XMP(0x68, punpckhbw), XMP(0x69, punpckhwd),
	XMP(0x6a, punpckhdq), XMP(0x6b, packssdw), X66(0x6c, punpcklqdq),
	X66(0x6d, punpckhqdq),
	[0x6e] = { op_movd_load, op_movd_load },
	[0x6f] = { op_movq_mmx_load, op_mova_load, op_movu_load },
	[0x70] = { m_pshufw, x_pshufd, x_pshufhw, x_pshuflw },
	[0x71] = { op_shift_imm, op_shift_imm },
	[0x72] = { op_shift_imm, op_shift_imm },
	[0x73] = { op_shift_imm, op_shift_imm },
	XMP(0x74, pcmpeqb), XMP(0x75, pcmpeqw), XMP(0x76, pcmpeqd),
	[0x77] = { op_emms },
	[0x7e] = { op_movd_store, op_movd_store, op_movq_load },
	[0x7f] = { op_movq_mmx_store, op_mova_store, op_movu_store },
	[0xc3] = { op_movnti },
	[0xc4] = { op_pinsrw, op_pinsrw },
	[0xc5] = { op_pextrw, op_pextrw },
	[0xc6] = { x_shufps, x_shufpd },
	XMP(0xd1, psrlw), XMP(0xd2, psrld), XMP(0xd3, psrlq), XMP(0xd4, paddq),
	XMP(0xd5, pmullw),
	[0xd6] = { [1] = op_movq_store, [2] = op_movq2dq, [3] = op_movq2dq },
	[0xd7] = { op_pmovmskb, op_pmovmskb },
	XMP(0xd8, psubusb), XMP(0xd9, psubusw), XMP(0xda, pminub), XMP(0xdb, pand),
	XMP(0xdc, paddusb), XMP(0xdd, paddusw), XMP(0xde, pmaxub), XMP(0xdf, pandn),
	XMP(0xe0, pavgb), XMP(0xe1, psraw), XMP(0xe2, psrad), XMP(0xe3, pavgw),
	XMP(0xe4, pmulhuw), XMP(0xe5, pmulhw),
	[0xe7] = { op_movq_mmx_store, op_movnt_store },	/* MOVNTQ, MOVNTDQ */
	XMP(0xe8, psubsb), XMP(0xe9, psubsw), XMP(0xea, pminsw), XMP(0xeb, por),
	XMP(0xec, paddsb), XMP(0xed, paddsw), XMP(0xee, pmaxsw), XMP(0xef, pxor),
	XMP(0xf1, psllw), XMP(0xf2, pslld), XMP(0xf3, psllq), XMP(0xf4, pmuludq),
	XMP(0xf5, pmaddwd), XMP(0xf6, psadbw),
	[0xf7] = { op_maskmovdqu, op_maskmovdqu },	/* MASKMOVQ, MASKMOVDQU */
	XMP(0xf8, psubb), XMP(0xf9, psubw), XMP(0xfa, psubd), XMP(0xfb, psubq),
	XMP(0xfc, paddb), XMP(0xfd, paddw), XMP(0xfe, paddd),
};

insn_fn sse_select(struct cpu *c, struct insn *i)
{
	int pfx = sse_pfx(i);
	insn_fn fn;

	(void)c;
	if (i->flags & IF_LOCK)
		return op_ud;
	fn = sse_tab[i->op][pfx];
	if (!fn)
		fn = sse_fp_select(i, pfx);
	return fn ? fn : op_ud;
}
