/* SPDX-License-Identifier: MIT */
/*
 * fpu.h: the x87/SSE register file and the helpers shared by fpu.c (x87
 * control, FXSAVE/XSAVE, MXCSR, XCR0), sse.c (SSE/SSE2 integer and data
 * movement) and sse_fp.c (SSE/SSE2 floating point).
 *
 * The registers live in cpu->s.fpu in the XSAVE layout (SDM vol. 1 10.5.1
 * and 13.4): the 512-byte legacy region in its 64-bit FXSAVE format, then
 * the XSAVE header.  So FXSAVE/XSAVE are copies and a VMM saving the
 * guest's FPU (KVM's XSAVE around VM entry) sees exactly the image.  The
 * header's XSTATE_BV slot holds XINUSE (fpu_mark_inuse()).
 */
#ifndef USERKVM_SILICON_FPU_H
#define USERKVM_SILICON_FPU_H

#include "silicon/ops.h"

/* Offsets in the legacy region (SDM vol. 1 table 10-2, 64-bit format) */
#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4	/* abridged: bit i = 1 if R_i is not empty */
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define FX_MXCSR	24
#define FX_MXCSR_MASK	28
#define FX_ST		32	/* ST(i) (as the stack, not R_i) at 32 + 16 * i */
#define FX_XMM		160

/* MXCSR (SDM vol. 1 10.2.3) */
#define MXCSR_IE	BIT(0)
#define MXCSR_DE	BIT(1)
#define MXCSR_ZE	BIT(2)
#define MXCSR_OE	BIT(3)
#define MXCSR_UE	BIT(4)
#define MXCSR_PE	BIT(5)
#define MXCSR_DAZ	BIT(6)
#define MXCSR_FLAGS	0x3fu
#define MXCSR_MASKS	0x1f80u
#define MXCSR_DEFAULT	0x1f80u
/* Every defined bit, incl. DAZ (SDM 11.6.6: MXCSR_MASK reports it) */
#define MXCSR_VALID	0xffffu

/* x87 status word */
#define FSW_ES		BIT(7)
#define FSW_B		BIT(15)
#define FSW_FLAGS	0x3fu	/* IE DE ZE OE UE PE; FCW has the masks at the same bits */
#define FSW_TOP_SHIFT	11

/* XSAVE state components this processor has: x87 and SSE (XCR0 mask) */
#define XFEATURE_X87	BIT(0)
#define XFEATURE_SSE	BIT(1)
#define XFEATURE_AVX	BIT(2)
#define XCR0_SUPPORTED	(XFEATURE_X87 | XFEATURE_SSE)
#define XSAVE_HDR	512
#define XSAVE_SIZE	576	/* legacy region + header: all the x87|SSE state */

/**
 * union xmm - one 128-bit register, by lanes (little-endian, lane 0 lowest)
 */
typedef union xmm {
	u8 b[16];
	s8 sb[16];
	u16 w[8];
	s16 sw[8];
	u32 d[4];
	s32 sd[4];
	u64 q[2];
	s64 sq[2];
	float f[4];
	double fd[2];
} xmm_t;

static __always_inline u8 *fpu_bytes(struct cpu *c)
{
	return c->s.fpu.fxsave;
}

static __always_inline void xmm_get(struct cpu *c, int n, xmm_t *x)
{
	memcpy(x, fpu_bytes(c) + FX_XMM + 16 * n, 16);
}

static __always_inline void xmm_set(struct cpu *c, int n, const xmm_t *x)
{
	memcpy(fpu_bytes(c) + FX_XMM + 16 * n, x, 16);
}

static __always_inline u32 fpu_mxcsr(struct cpu *c)
{
	u32 v;
	memcpy(&v, fpu_bytes(c) + FX_MXCSR, 4);
	return v;
}

static __always_inline void fpu_set_mxcsr(struct cpu *c, u32 v)
{
	memcpy(fpu_bytes(c) + FX_MXCSR, &v, 4);
}

static __always_inline u16 fpu_get16(struct cpu *c, int off)
{
	u16 v;
	memcpy(&v, fpu_bytes(c) + off, 2);
	return v;
}

static __always_inline void fpu_put16(struct cpu *c, int off, u16 v)
{
	memcpy(fpu_bytes(c) + off, &v, 2);
}

/*
 * XINUSE (SDM 13.6), as the hardware tracks it: a component's bit is set
 * by any instruction that uses it and cleared only when XRSTOR puts it in
 * its initial configuration (or at RESET).  Kept in the XSTATE_BV slot of
 * the state's XSAVE header; fpu_xinuse() adds the components whose
 * contents are not initial (the owner may write the registers directly).
 */
static __always_inline void fpu_mark_inuse(struct cpu *c, u8 bits)
{
	c->s.fpu.xsave_hdr[0] |= bits;
}

/*
 * The checks every legacy-SSE instruction makes first (SDM vol. 2 table
 * 2-18 / vol. 3 13.x): #UD if CR0.EM = 1 or CR4.OSFXSR = 0, then #NM if
 * CR0.TS = 1.
 */
static __always_inline void sse_check(struct cpu *c)
{
	if (unlikely((c->s.cr0 & (CPU_CR0_EM | CPU_CR0_TS)) || !(c->s.cr4 & CPU_CR4_OSFXSR))) {
		if ((c->s.cr0 & CPU_CR0_EM) || !(c->s.cr4 & CPU_CR4_OSFXSR))
			cpu_ud(c);
		cpu_fault_noerr(c, EXC_NM);
	}
	fpu_mark_inuse(c, XFEATURE_SSE);
}

/*
 * Memory operands of up to 16 bytes (and the big FXSAVE/XSAVE images),
 * with the write access of every byte checked before anything is stored,
 * so a fault leaves memory as it was.
 */
void vec_read(struct cpu *c, u64 lin, void *buf, int n);
void vec_write(struct cpu *c, u64 lin, const void *buf, int n);
/* Fault now if any byte of [lin, lin+n) is not writable. */
void vec_probe_write(struct cpu *c, u64 lin, int n);

/* Linear address of the memory operand; #GP(0) if @align (a power of 2) is not met. */
static __always_inline u64 vec_ea(struct cpu *c, const struct insn *i, int size, int kind,
				  int align)
{
	u64 lin = ea_lin(c, i, size, kind);
	if (align > 1 && unlikely(lin & (u64)(align - 1)))
		cpu_gp0(c);
	return lin;
}

/* The 128-bit source operand (xmm or m128, which must be 16-byte aligned if @align) */
static __always_inline void sse_src(struct cpu *c, const struct insn *i, xmm_t *x, bool align)
{
	if (!(i->flags & IF_MEM))
		xmm_get(c, i->rm, x);
	else
		vec_read(c, vec_ea(c, i, 16, ACC_R, align ? 16 : 1), x, 16);
}

/*
 * A SIMD floating-point exception (SDM 11.5.1): @flags are the MXCSR
 * flags the operation raised.  Sets them; if one is unmasked, raises #XM
 * (CR4.OSXMMEXCPT = 1) or #UD and returns only if none is.
 */
void sse_fp_exceptions(struct cpu *c, u32 flags);

/*
 * ES and B summarize the unmasked exception flags (SDM 8.1.3.7): set
 * whenever FSW or FCW is loaded, so a flag unmasked by FLDCW (or an image
 * with flags and masks that disagree) is pending for the next waiting
 * instruction, as on hardware.
 */
static __always_inline void fpu_fix_es(struct cpu *c)
{
	u16 fsw = fpu_get16(c, FX_FSW), fcw = fpu_get16(c, FX_FCW);

	fsw &= (u16)~(FSW_ES | FSW_B);
	if (fsw & ~fcw & FSW_FLAGS)
		fsw |= FSW_ES | FSW_B;
	fpu_put16(c, FX_FSW, fsw);
}

/* x87/SSE state handling (fpu.c) */
void fpu_reset(struct cpu *c, bool init);
u64 fpu_xinuse(struct cpu *c);
/* XSETBV's checks (SDM XSETBV): 0 if @val may be loaded into XCR@index. */
int fpu_xcr_check(u32 index, u64 val);
void fpu_xsetbv(struct cpu *c, const struct insn *i);
void fpu_grp15_mem(struct cpu *c, const struct insn *i, int r);
void fpu_xsavec(struct cpu *c, const struct insn *i);
/* x87 arithmetic and data transfer on the host's FPU (x87.c) */
void x87_host_exec(struct cpu *c, const struct insn *i);
/* The state as an XSAVE image (XSTATE_BV = XINUSE) and back (XRSTOR rules) */
void fpu_save_image(struct cpu *c, void *buf);
void fpu_load_image(struct cpu *c, const void *buf);

/*
 * MMX registers (sse.c): the checks of an MMX form (#UD for CR0.EM, #NM for
 * CR0.TS, #MF for a pending x87 exception), the x87-to-MMX transition
 * (TOP = 0, every tag valid), and MM@n as the low half of an xmm_t.
 */
void mmx_check(struct cpu *c);
void mmx_enter(struct cpu *c);
void mmx_get(struct cpu *c, int n, xmm_t *x);
void mmx_set(struct cpu *c, int n, const xmm_t *x);

/* The SSE opcode table (sse.c): the handler of map-1 opcode @i, or op_ud */
insn_fn sse_select(struct cpu *c, struct insn *i);
/* Floating-point handlers in sse_fp.c, by opcode and mandatory prefix */
insn_fn sse_fp_select(const struct insn *i, int pfx);

/* Mandatory-prefix index: 0 none, 1 66, 2 F3, 3 F2 (F2/F3 win over 66) */
static __always_inline int sse_pfx(const struct insn *i)
{
	if (i->flags & IF_REP)
		return 2;
	if (i->flags & IF_REPNE)
		return 3;
	return (i->flags & IF_OSZ_PFX) ? 1 : 0;
}

#endif
