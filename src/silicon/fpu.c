// SPDX-License-Identifier: MIT
/*
 * fpu.c: the x87/SSE state: reset values, the x87 control instructions,
 * FXSAVE/FXRSTOR, XSAVE/XSAVEOPT/XSAVEC/XRSTOR, LDMXCSR/STMXCSR and XCR0
 * (XSETBV), with the checks of the SDM (vol. 1 chapters 8, 10, 13; vol. 2
 * for each instruction).
 *
 * The x87 here: the state (eight 80-bit registers, FCW/FSW/FTW,
 * FOP/FIP/FDP), FNINIT/FNCLEX/FNSTCW/FLDCW/FNSTSW (m16 and AX)/FNSTENV/
 * FLDENV/FNSAVE/FRSTOR/FNOP/FWAIT with #NM/#MF; arithmetic and data
 * transfer run on the host's x87 (x87.c).  FCS/FDS are not kept
 * (CPUID.7.EBX[13], "FPU CS and DS deprecated"): they are stored as 0.
 */
#include "silicon/fpu.h"

/* ---- memory operands ---- */

static int chunk(int left)
{
	return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

void vec_read(struct cpu *c, u64 lin, void *buf, int n)
{
	u8 *b = buf;
	void *p = mem_fast(c, lin, n, ACC_R);

	if (likely(p)) {
		memcpy(buf, p, n);
		return;
	}
	if (unlikely(c->emul)) {
		/* the emulation assist: one access per (16-byte) operand */
		for (int k = 0; k < n; k += 16)
			emul_read_buf(c, lin + k, b + k, n - k < 16 ? n - k : 16);
		return;
	}
	for (int k = 0; k < n;) {
		int m = chunk(n - k);
		u64 v = lin_read(c, lin + k, m);
		memcpy(b + k, &v, m);
		k += m;
	}
}

void vec_probe_write(struct cpu *c, u64 lin, int n)
{
	if (mem_fast(c, lin, n, ACC_W))
		return;
	for (u64 a = lin;;) {
		(void)mem_ptr_slow(c, a, 1, ACC_W);
		if ((a | 0xfff) >= lin + (u64)n - 1)
			break;
		a = (a | 0xfff) + 1;
	}
}

void vec_write(struct cpu *c, u64 lin, const void *buf, int n)
{
	const u8 *b = buf;
	void *p = mem_fast(c, lin, n, ACC_W);

	if (likely(p)) {
		memcpy(p, buf, n);
		return;
	}
	if (unlikely(c->emul)) {
		for (int k = 0; k < n; k += 16)
			emul_write_buf(c, lin + k, b + k, n - k < 16 ? n - k : 16);
		return;
	}
	/* Every page is checked for a write before the first byte is stored. */
	vec_probe_write(c, lin, n);
	for (int k = 0; k < n;) {
		int m = chunk(n - k);
		u64 v = 0;
		memcpy(&v, b + k, m);
		lin_write(c, lin + k, m, v);
		k += m;
	}
}

/* ---- SIMD floating-point exceptions (SDM vol. 1 11.5) ---- */

void sse_fp_exceptions(struct cpu *c, u32 flags)
{
	u32 mx = fpu_mxcsr(c);
	u32 unmasked = flags & ~(mx >> 7) & MXCSR_FLAGS;

	/*
	 * With an unmasked pre-computation exception (invalid, denormal,
	 * divide by zero) no post-computation one is reported (11.5.1).
	 */
	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	fpu_set_mxcsr(c, mx | (flags & MXCSR_FLAGS));
	if (unmasked) {
		if (c->s.cr4 & CPU_CR4_OSXMMEXCPT)
			cpu_fault_noerr(c, EXC_XM);
		cpu_ud(c);
	}
}

/* ---- state ---- */

static void x87_init(struct cpu *c)
{
	u8 *f = fpu_bytes(c);

	/* FNINIT (SDM vol. 1 8.1.x, table 8-?): FCW 037F, FSW 0, all empty, pointers 0 */
	fpu_put16(c, FX_FCW, 0x37f);
	fpu_put16(c, FX_FSW, 0);
	f[FX_FTW] = 0;
	f[FX_FTW + 1] = 0;
	fpu_put16(c, FX_FOP, 0);
	memset(f + FX_FIP, 0, 16);
}

void fpu_reset(struct cpu *c, bool init)
{
	if (init)
		return;		/* INIT leaves the x87 and SSE state alone (SDM 10.1) */
	memset(&c->s.fpu, 0, sizeof(c->s.fpu));
	/* power-up: FCW 0040H, FTW all empty, MXCSR 1F80H (SDM table 10-1) */
	fpu_put16(c, FX_FCW, 0x40);
	fpu_set_mxcsr(c, MXCSR_DEFAULT);
}

/*
 * XINUSE (SDM 13.6): bit i may be 0 only if component i is in its initial
 * configuration.  The tracked bits (fpu_mark_inuse()), plus what the
 * contents say: x87 not initial unless FCW 037F, FSW 0, every register
 * empty, zero pointers and zero registers; SSE unless the XMM registers
 * are zero (MXCSR is saved whatever XINUSE says).
 */
u64 fpu_xinuse(struct cpu *c)
{
	static const u8 zero[256];
	const u8 *f = fpu_bytes(c);
	u64 in = c->s.fpu.xsave_hdr[0] & XCR0_SUPPORTED;

	if (fpu_get16(c, FX_FCW) != 0x37f || fpu_get16(c, FX_FSW) || f[FX_FTW] ||
	    fpu_get16(c, FX_FOP) || memcmp(f + FX_FIP, zero, 16) ||
	    memcmp(f + FX_ST, zero, 128))
		in |= XFEATURE_X87;
	if (memcmp(f + FX_XMM, zero, 256))
		in |= XFEATURE_SSE;
	return in;
}

/* ---- XCR0 ---- */

int fpu_xcr_check(u32 index, u64 val)
{
	/* SDM XSETBV: only XCR0; bit 0 set; AVX needs SSE; unsupported bits #GP */
	if (index != 0)
		return -1;
	if (!(val & XFEATURE_X87))
		return -1;
	if ((val & XFEATURE_AVX) && !(val & XFEATURE_SSE))
		return -1;
	if (val & ~(u64)XCR0_SUPPORTED)
		return -1;
	return 0;
}

/* 0F 01 D1 after the #UD/CPL/VM-exit checks of ops_sys.c */
void fpu_xsetbv(struct cpu *c, const struct insn *i)
{
	u64 v = (u32)c->s.gpr[0] | ((u64)(u32)c->s.gpr[2] << 32);

	(void)i;
	if (fpu_xcr_check((u32)c->s.gpr[1], v))
		cpu_gp0(c);
	c->s.xcr0 = v;
}

/* ---- the legacy region ---- */

/*
 * Store the x87 part (bytes 0-23 and 32-159) of an FXSAVE image: the 64-bit
 * format with REX.W, else the 32-bit one (FIP/FDP 32 bits + FCS/FDS, 0).
 */
static void put_x87(struct cpu *c, u8 *img, bool rexw)
{
	const u8 *f = fpu_bytes(c);

	memcpy(img, f, 24);
	img[FX_FTW + 1] = 0;
	if (!rexw) {
		memset(img + FX_FIP + 4, 0, 4);
		memset(img + FX_FDP + 4, 0, 4);
	}
	memcpy(img + FX_ST, f + FX_ST, 128);
}

static void get_x87(struct cpu *c, const u8 *img, bool rexw)
{
	u8 *f = fpu_bytes(c);

	memcpy(f, img, 24);
	f[FX_FTW + 1] = 0;
	fpu_put16(c, FX_FOP, fpu_get16(c, FX_FOP) & 0x7ff);
	if (!rexw) {
		memset(f + FX_FIP + 4, 0, 4);
		memset(f + FX_FDP + 4, 0, 4);
	}
	memcpy(f + FX_ST, img + FX_ST, 128);
	/* the 80-bit registers: bytes 10-15 of each slot are reserved */
	for (int k = 0; k < 8; k++)
		memset(f + FX_ST + 16 * k + 10, 0, 6);
	fpu_fix_es(c);
}

/* XMM0-7, or XMM0-15 in 64-bit mode (SDM FXSAVE: the rest is reserved) */
static int nr_xmm(struct cpu *c)
{
	return c->code64 ? 16 : 8;
}

static void put_mxcsr(struct cpu *c, u8 *img)
{
	u32 m = MXCSR_VALID;
	memcpy(img + FX_MXCSR, fpu_bytes(c) + FX_MXCSR, 4);
	memcpy(img + FX_MXCSR_MASK, &m, 4);
}

static u32 img_mxcsr(const u8 *img)
{
	u32 v;
	memcpy(&v, img + FX_MXCSR, 4);
	return v;
}

static void fxsave(struct cpu *c, const struct insn *i)
{
	u8 img[416];
	int n = FX_XMM + 16 * nr_xmm(c);
	u64 lin = vec_ea(c, i, n, ACC_W, 16);

	put_x87(c, img, i->flags & IF_REXW);
	put_mxcsr(c, img);
	memcpy(img + FX_XMM, fpu_bytes(c) + FX_XMM, n - FX_XMM);
	vec_write(c, lin, img, n);
}

static void fxrstor(struct cpu *c, const struct insn *i)
{
	u8 img[416];
	int n = FX_XMM + 16 * nr_xmm(c);
	u64 lin = vec_ea(c, i, 512, ACC_R, 16);

	vec_read(c, lin, img, n);
	if (img_mxcsr(img) & ~MXCSR_VALID)
		cpu_gp0(c);
	get_x87(c, img, i->flags & IF_REXW);
	fpu_set_mxcsr(c, img_mxcsr(img));
	memcpy(fpu_bytes(c) + FX_XMM, img + FX_XMM, n - FX_XMM);
	fpu_mark_inuse(c, XFEATURE_X87 | XFEATURE_SSE);
}

/* ---- XSAVE (SDM vol. 1 13.7-13.10) ---- */

static void xsave_check(struct cpu *c)
{
	if (!(c->s.cr4 & CPU_CR4_OSXSAVE))
		cpu_ud(c);
	if (c->s.cr0 & CPU_CR0_TS)
		cpu_fault_noerr(c, EXC_NM);
}

static u64 xsave_rfbm(struct cpu *c)
{
	return c->s.xcr0 & ((u32)c->s.gpr[0] | ((u64)(u32)c->s.gpr[2] << 32));
}

/* XSAVE, XSAVEOPT (@compact false) and XSAVEC (true) */
static void xsave(struct cpu *c, const struct insn *i, bool compact)
{
	u8 img[XSAVE_SIZE];
	u64 rfbm, bv, lin, xinuse;

	xsave_check(c);
	lin = vec_ea(c, i, XSAVE_SIZE, ACC_W, 64);
	rfbm = xsave_rfbm(c);
	xinuse = fpu_xinuse(c);
	/* what is not written keeps its bytes: start from memory */
	vec_read(c, lin, img, XSAVE_SIZE);
	/*
	 * The init optimization (XSAVEC; XSAVEOPT may use it but need not):
	 * a component in its initial configuration is not written.
	 */
	if ((rfbm & XFEATURE_X87) && (!compact || (xinuse & XFEATURE_X87)))
		put_x87(c, img, i->flags & IF_REXW);
	if (rfbm & (XFEATURE_SSE | XFEATURE_AVX))
		put_mxcsr(c, img);
	if ((rfbm & XFEATURE_SSE) && (!compact || (xinuse & XFEATURE_SSE)))
		memcpy(img + FX_XMM, fpu_bytes(c) + FX_XMM, 16 * nr_xmm(c));
	memcpy(&bv, img + XSAVE_HDR, 8);
	if (compact) {
		u64 comp = rfbm | BIT_ULL(63);
		bv = xinuse & rfbm;
		memcpy(img + XSAVE_HDR + 8, &comp, 8);
	} else {
		bv = (bv & ~rfbm) | (xinuse & rfbm);
	}
	memcpy(img + XSAVE_HDR, &bv, 8);
	vec_write(c, lin, img, XSAVE_SIZE);
}

static void xrstor(struct cpu *c, const struct insn *i)
{
	static const u8 zero[64];
	u8 img[XSAVE_SIZE];
	u64 rfbm, bv, comp, lin;
	bool compact;
	u32 mxcsr = MXCSR_DEFAULT;
	bool load_mxcsr = false;

	xsave_check(c);
	lin = vec_ea(c, i, XSAVE_SIZE, ACC_R, 64);
	rfbm = xsave_rfbm(c);
	vec_read(c, lin, img, XSAVE_SIZE);
	memcpy(&bv, img + XSAVE_HDR, 8);
	memcpy(&comp, img + XSAVE_HDR + 8, 8);
	compact = comp >> 63;
	/* Every #GP before any state changes (SDM XRSTOR, "Protected Mode Exceptions") */
	if (compact) {
		if ((comp & ~BIT_ULL(63)) & ~c->s.xcr0)
			cpu_gp0(c);
		if (bv & ~comp)
			cpu_gp0(c);
		if (memcmp(img + XSAVE_HDR + 16, zero, 48))
			cpu_gp0(c);
	} else {
		if (bv & ~c->s.xcr0)
			cpu_gp0(c);
		if (memcmp(img + XSAVE_HDR + 8, zero, 16))
			cpu_gp0(c);
	}
	if (rfbm & (XFEATURE_SSE | XFEATURE_AVX)) {
		/* the standard form always loads MXCSR; the compacted one only with the state */
		if (!compact || (bv & (XFEATURE_SSE | XFEATURE_AVX))) {
			mxcsr = img_mxcsr(img);
			if (mxcsr & ~MXCSR_VALID)
				cpu_gp0(c);
		}
		load_mxcsr = true;
	}
	/* XINUSE[i] = XSTATE_BV[i] for the components restored */
	c->s.fpu.xsave_hdr[0] = (u8)((c->s.fpu.xsave_hdr[0] & ~rfbm) | (bv & rfbm));
	if (rfbm & XFEATURE_X87) {
		if (bv & XFEATURE_X87) {
			get_x87(c, img, i->flags & IF_REXW);
		} else {
			x87_init(c);
			memset(fpu_bytes(c) + FX_ST, 0, 128);
		}
	}
	if (rfbm & XFEATURE_SSE) {
		if (bv & XFEATURE_SSE)
			memcpy(fpu_bytes(c) + FX_XMM, img + FX_XMM, 16 * nr_xmm(c));
		else
			memset(fpu_bytes(c) + FX_XMM, 0, 16 * nr_xmm(c));
	}
	if (load_mxcsr)
		fpu_set_mxcsr(c, mxcsr);
}

/* 0F C7 /4 (memory, no prefix): XSAVEC */
void fpu_xsavec(struct cpu *c, const struct insn *i)
{
	xsave(c, i, true);
}

/* 0F AE /0-/6 with a memory operand */
void fpu_grp15_mem(struct cpu *c, const struct insn *i, int r)
{
	if (i->flags & (IF_REP | IF_REPNE))
		cpu_ud(c);	/* F3/F2 forms (PTWRITE ...) are not offered */
	if ((i->flags & IF_OSZ_PFX) && r != 6)
		cpu_ud(c);
	switch (r) {
	case 0:		/* FXSAVE */
	case 1:		/* FXRSTOR */
		if (c->s.cr0 & (CPU_CR0_TS | CPU_CR0_EM))
			cpu_fault_noerr(c, EXC_NM);
		if (r == 0)
			fxsave(c, i);
		else
			fxrstor(c, i);
		return;
	case 2: {	/* LDMXCSR */
		u32 v;
		sse_check(c);
		v = (u32)mem_read(c, i->seg, insn_ea(c, i), 4);
		if (v & ~MXCSR_VALID)
			cpu_gp0(c);
		fpu_set_mxcsr(c, v);
		return;
	}
	case 3:		/* STMXCSR */
		sse_check(c);
		mem_write(c, i->seg, insn_ea(c, i), 4, fpu_mxcsr(c));
		return;
	case 4:		/* XSAVE */
		xsave(c, i, false);
		return;
	case 5:		/* XRSTOR */
		xrstor(c, i);
		return;
	case 6:		/* XSAVEOPT (66: CLWB, a byte access for faults) */
		if (i->flags & IF_OSZ_PFX) {
			(void)mem_read(c, i->seg, insn_ea(c, i), 1);
			return;
		}
		xsave(c, i, false);
		return;
	}
	cpu_ud(c);
}

/* ---- x87 control (SDM vol. 1 8.1, vol. 2 FINIT ... FSTENV) ---- */

/* The full tag of physical register @j from its contents (SDM 8.1.7) */
static u16 x87_tag(struct cpu *c, int j)
{
	const u8 *f = fpu_bytes(c);
	int top = (fpu_get16(c, FX_FSW) >> FSW_TOP_SHIFT) & 7;
	const u8 *r = f + FX_ST + 16 * ((j - top) & 7);
	u64 mant;
	u16 se;

	if (!(f[FX_FTW] & (1u << j)))
		return 3;		/* empty */
	memcpy(&mant, r, 8);
	memcpy(&se, r + 8, 2);
	if ((se & 0x7fff) == 0)
		return mant ? 2 : 1;	/* denormal: special; zero */
	if ((se & 0x7fff) == 0x7fff || !(mant >> 63))
		return 2;		/* NaN, infinity, unsupported */
	return 0;
}

static u16 x87_full_tags(struct cpu *c)
{
	u16 t = 0;
	for (int j = 0; j < 8; j++)
		t |= (u16)(x87_tag(c, j) << (2 * j));
	return t;
}

/*
 * FNSTENV/FNSAVE environment (SDM vol. 1 figures 8-9 to 8-12): 28 bytes
 * with a 32-bit operand size, 14 with 16; the real-mode layouts put
 * FIP/FDP bits 19:16 next to FOP.
 */
static int env_put(struct cpu *c, const struct insn *i, u8 *e)
{
	bool o32 = i->osz != SZ16;
	bool real = !(c->mode & MODE_PE) || (c->mode & MODE_VM86);
	u16 fcw = fpu_get16(c, FX_FCW), fsw = fpu_get16(c, FX_FSW), fop = fpu_get16(c, FX_FOP);
	u16 tags = x87_full_tags(c);
	u64 fip, fdp;
	u32 w[7] = { 0 };

	memcpy(&fip, fpu_bytes(c) + FX_FIP, 8);
	memcpy(&fdp, fpu_bytes(c) + FX_FDP, 8);
	if (o32) {
		w[0] = 0xffff0000u | fcw;
		w[1] = 0xffff0000u | fsw;
		w[2] = 0xffff0000u | tags;
		if (real) {
			w[3] = 0xffff0000u | (u16)fip;
			w[4] = (u32)(((fip >> 16) & 0xffff) << 12) | fop;
			w[5] = 0xffff0000u | (u16)fdp;
			w[6] = (u32)(((fdp >> 16) & 0xffff) << 12);
		} else {
			w[3] = (u32)fip;
			w[4] = (u32)fop << 16;	/* FCS 0 (deprecated) */
			w[5] = (u32)fdp;
			w[6] = 0xffff0000u;	/* FDS 0 */
		}
		memcpy(e, w, 28);
		return 28;
	} else {
		u16 h[7] = { fcw, fsw, tags, (u16)fip, 0, (u16)fdp, 0 };
		if (real) {
			h[4] = (u16)((((fip >> 16) & 0xf) << 12) | fop);
			h[6] = (u16)(((fdp >> 16) & 0xf) << 12);
		}
		memcpy(e, h, 14);
		return 14;
	}
}

static void env_get(struct cpu *c, const struct insn *i, const u8 *e)
{
	bool o32 = i->osz != SZ16;
	bool real = !(c->mode & MODE_PE) || (c->mode & MODE_VM86);
	u16 fcw, fsw, tags, fop;
	u64 fip, fdp;
	u8 ab = 0;

	if (o32) {
		u32 w[7];
		memcpy(w, e, 28);
		fcw = (u16)w[0], fsw = (u16)w[1], tags = (u16)w[2];
		if (real) {
			fip = (u16)w[3] | ((u64)(w[4] >> 12) << 16);
			fop = w[4] & 0x7ff;
			fdp = (u16)w[5] | ((u64)(w[6] >> 12) << 16);
		} else {
			fip = w[3];
			fop = (w[4] >> 16) & 0x7ff;
			fdp = w[5];
		}
	} else {
		u16 h[7];
		memcpy(h, e, 14);
		fcw = h[0], fsw = h[1], tags = h[2];
		fip = h[3];
		fdp = h[5];
		fop = 0;
		if (real) {
			fip |= (u64)(h[4] >> 12) << 16;
			fop = h[4] & 0x7ff;
			fdp |= (u64)(h[6] >> 12) << 16;
		}
	}
	for (int j = 0; j < 8; j++)
		if (((tags >> (2 * j)) & 3) != 3)
			ab |= (u8)(1u << j);
	fpu_put16(c, FX_FCW, fcw);
	fpu_put16(c, FX_FSW, fsw);
	fpu_bytes(c)[FX_FTW] = ab;
	fpu_put16(c, FX_FOP, fop);
	memcpy(fpu_bytes(c) + FX_FIP, &fip, 8);
	memcpy(fpu_bytes(c) + FX_FDP, &fdp, 8);
	fpu_fix_es(c);
}

/* ES: an unmasked exception is pending; a waiting instruction takes #MF (CR0.NE) */
static void x87_wait(struct cpu *c)
{
	if ((fpu_get16(c, FX_FSW) & FSW_ES) && (c->s.cr0 & CPU_CR0_NE))
		cpu_fault_noerr(c, EXC_MF);
}

/* 9B: WAIT/FWAIT */
OP(op_fwait)
{
	(void)i;
	if ((c->s.cr0 & (CPU_CR0_TS | CPU_CR0_MP)) == (CPU_CR0_TS | CPU_CR0_MP))
		cpu_fault_noerr(c, EXC_NM);
	x87_wait(c);
}

/* D8-DF */
OP(op_x87)
{
	int r = (i->modrm >> 3) & 7;
	bool mem = i->flags & IF_MEM;
	u8 env[108];

	if (c->s.cr0 & (CPU_CR0_EM | CPU_CR0_TS))
		cpu_fault_noerr(c, EXC_NM);
	fpu_mark_inuse(c, XFEATURE_X87);
	if (i->op == 0xdb && i->modrm == 0xe3) {	/* FNINIT */
		x87_init(c);
		return;
	}
	if (i->op == 0xdb && i->modrm == 0xe2) {	/* FNCLEX */
		fpu_put16(c, FX_FSW, fpu_get16(c, FX_FSW) & 0x7f00);
		return;
	}
	if (i->op == 0xdf && i->modrm == 0xe0) {	/* FNSTSW AX */
		reg_write(c, 0, SZ16, fpu_get16(c, FX_FSW));
		return;
	}
	if (mem && i->op == 0xd9 && r == 7) {		/* FNSTCW m16 */
		mem_write(c, i->seg, insn_ea(c, i), 2, fpu_get16(c, FX_FCW));
		return;
	}
	if (mem && i->op == 0xdd && r == 7) {		/* FNSTSW m16 */
		mem_write(c, i->seg, insn_ea(c, i), 2, fpu_get16(c, FX_FSW));
		return;
	}
	if (mem && (i->op == 0xd9 || i->op == 0xdd) && r == 6) {	/* FNSTENV, FNSAVE */
		int n = env_put(c, i, env);
		u64 lin;
		if (i->op == 0xdd) {
			/* ST(0)-ST(7), 80 bits each */
			for (int k = 0; k < 8; k++)
				memcpy(env + n + 10 * k, fpu_bytes(c) + FX_ST + 16 * k, 10);
		}
		lin = seg_lin(c, i->seg, insn_ea(c, i), n + (i->op == 0xdd ? 80 : 0), ACC_W);
		vec_write(c, lin, env, n + (i->op == 0xdd ? 80 : 0));
		if (i->op == 0xdd) {
			x87_init(c);
		} else {
			/* FNSTENV then masks every x87 exception */
			fpu_put16(c, FX_FCW, fpu_get16(c, FX_FCW) | 0x3f);
			fpu_fix_es(c);
		}
		return;
	}
	x87_wait(c);
	if (mem && i->op == 0xd9 && r == 5) {		/* FLDCW m16 */
		u16 v = (u16)mem_read(c, i->seg, insn_ea(c, i), 2);
		fpu_put16(c, FX_FCW, (v & 0x1f3f) | 0x40);
		fpu_fix_es(c);
		return;
	}
	if (mem && (i->op == 0xd9 || i->op == 0xdd) && r == 4) {	/* FLDENV, FRSTOR */
		int n = i->osz != SZ16 ? 28 : 14;
		int total = n + (i->op == 0xdd ? 80 : 0);
		u64 lin = seg_lin(c, i->seg, insn_ea(c, i), total, ACC_R);
		vec_read(c, lin, env, total);
		env_get(c, i, env);
		if (i->op == 0xdd) {
			for (int k = 0; k < 8; k++) {
				memcpy(fpu_bytes(c) + FX_ST + 16 * k, env + n + 10 * k, 10);
				memset(fpu_bytes(c) + FX_ST + 16 * k + 10, 0, 6);
			}
		}
		return;
	}
	if (!mem && i->op == 0xd9 && i->modrm == 0xd0)	/* FNOP */
		return;
	/* DB E0/E1/E4: 8087/287 FENI, FDISI, FSETPM, no-ops since the 387 */
	if (!mem && i->op == 0xdb && (i->modrm == 0xe0 || i->modrm == 0xe1 || i->modrm == 0xe4))
		return;
	x87_host_exec(c, i);	/* arithmetic, loads and stores (x87.c) */
}

/* ---- the owner's view: an XSAVE image (vmx_op_fpu_save/restore, emulate.c) ---- */

/*
 * fpu_save_image() - XSAVE of x87|SSE, standard format, into @buf
 * (sizeof(struct cpu_fpu) bytes): XSTATE_BV = XINUSE, the rest of the
 * header and the extended area zero, as KVM's XSAVE of the guest FPU.
 */
void fpu_save_image(struct cpu *c, void *buf)
{
	u8 *b = buf;
	u64 bv = fpu_xinuse(c);
	u32 mask = MXCSR_VALID;

	memset(b, 0, sizeof(struct cpu_fpu));
	memcpy(b, fpu_bytes(c), FX_XMM + 256);
	b[FX_FTW + 1] = 0;
	memcpy(b + FX_MXCSR_MASK, &mask, 4);
	memcpy(b + XSAVE_HDR, &bv, 8);
}

/*
 * fpu_load_image() - XRSTOR (RFBM = x87|SSE) of the standard-format image
 * @buf: a component whose XSTATE_BV bit is clear gets its initial
 * configuration, XINUSE becomes XSTATE_BV.  Reserved bits are dropped
 * rather than faulted on (the owner, not the guest, wrote the image).
 */
void fpu_load_image(struct cpu *c, const void *buf)
{
	const u8 *b = buf;
	u64 bv;
	u32 mx;

	memcpy(&bv, b + XSAVE_HDR, 8);
	memset(&c->s.fpu, 0, sizeof(c->s.fpu));
	if (bv & XFEATURE_X87)
		get_x87(c, b, true);
	else
		x87_init(c);
	if (bv & XFEATURE_SSE)
		memcpy(fpu_bytes(c) + FX_XMM, b + FX_XMM, 256);
	/*
	 * MXCSR as KVM's XRSTORS of its (compacted) guest fpstate leaves it:
	 * the image's value if SSE (or AVX) state is in it, else 1F80H
	 * (SDM 13.8.2).
	 */
	memcpy(&mx, b + FX_MXCSR, 4);
	fpu_set_mxcsr(c, bv & (XFEATURE_SSE | XFEATURE_AVX) ? mx & MXCSR_VALID : MXCSR_DEFAULT);
	c->s.fpu.xsave_hdr[0] = (u8)(bv & XCR0_SUPPORTED);
}
