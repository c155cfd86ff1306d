// SPDX-License-Identifier: MIT
/*
 * fpu_test.c: the x87/SSE state in guest mode: reset values, the #UD/#NM
 * rules of CR0.EM/TS/MP and CR4.OSFXSR/OSXSAVE, #GP for misalignment and
 * reserved MXCSR/XSAVE-header bits, #XM versus #UD (CR4.OSXMMEXCPT),
 * XSETBV/XGETBV, and FXSAVE/XSAVE/XSAVEC/FNSTENV images compared byte for
 * byte with the host CPU's for the same register contents.
 *
 * Guest code runs at CODE in 64-bit mode, CPL0; exceptions land in the sil
 * stubs ("push $v; hlt").
 */
#include <string.h>
#include <sys/mman.h>

#include "../test.h"
#include "sil.h"

#define CODE	0x100000
#define BUF	0x200000	/* 64-byte aligned scratch for images */
#define BUF2	0x201000


static void setup(struct sil *s)
{
	u64 rsp0 = SIL_STACK;

	sil_init(s, 4 << 20);
	sil_long_mode(s);
	memcpy(s->ram + SIL_TSS + 4, &rsp0, 8);	/* RSP0 for exceptions from CPL3 */
}

/* Run the code bytes at CODE (CPL0, or CPL3 with user segments) to a HLT. */
static enum cpu_exit run(struct sil *s, const u8 *code, size_t n, bool user)
{
	return sil_run(s, CODE, code, n, user);
}

/* The vector the last run stopped in (its stub), -1 if it ran to its own HLT */
static int vector(struct sil *s)
{
	struct cpu_state *st = cpu_state(s->c);

	if (st->rip >= SIL_STUBS && st->rip < SIL_STUBS + 256 * 16 && st->gpr[4] < s->ram_size - 8)
		return (int)sil_get64(s, st->gpr[4]);
	return -1;
}

/* Error code of the exception just taken (for vectors that push one) */
static u64 errcode(struct sil *s)
{
	return sil_get64(s, cpu_state(s->c)->gpr[4] + 8);
}

static int run_vec(struct sil *s, const u8 *code, size_t n)
{
	if (run(s, code, n, false) != CPU_EXIT_HLT)
		return -2;
	return vector(s);
}

static void set_cr(struct sil *s, u64 cr0_set, u64 cr0_clr, u64 cr4_set, u64 cr4_clr)
{
	struct cpu_state *st = cpu_state(s->c);
	st->cr0 = (st->cr0 | cr0_set) & ~cr0_clr;
	st->cr4 = (st->cr4 | cr4_set) & ~cr4_clr;
	cpu_state_changed(s->c);
}

#define HLT 0xf4
static const u8 c_pxor[] = { 0x66, 0x0f, 0xef, 0xc0, HLT };		/* pxor %xmm0,%xmm0 */
static const u8 c_addps[] = { 0x0f, 0x58, 0xc1, HLT };			/* addps %xmm1,%xmm0 */
static const u8 c_paddb_mmx[] = { 0x0f, 0xfc, 0xc1, HLT };		/* paddb %mm1,%mm0 */
static const u8 c_fxsave[] = { 0x48, 0x0f, 0xae, 0x07, HLT };		/* fxsave64 (%rdi) */
static const u8 c_fxsave32[] = { 0x0f, 0xae, 0x07, HLT };		/* fxsave (%rdi) */
static const u8 c_fxrstor[] = { 0x48, 0x0f, 0xae, 0x0e, HLT };		/* fxrstor64 (%rsi) */
static const u8 c_xsave[] = { 0x48, 0x0f, 0xae, 0x27, HLT };		/* xsave64 (%rdi) */
static const u8 c_xsaveopt[] = { 0x48, 0x0f, 0xae, 0x37, HLT };	/* xsaveopt64 (%rdi) */
static const u8 c_xsavec[] = { 0x48, 0x0f, 0xc7, 0x27, HLT };		/* xsavec64 (%rdi) */
static const u8 c_xrstor[] = { 0x48, 0x0f, 0xae, 0x2e, HLT };		/* xrstor64 (%rsi) */
static const u8 c_fninit[] = { 0xdb, 0xe3, HLT };
static const u8 c_fwait[] = { 0x9b, HLT };
static const u8 c_emms[] = { 0x0f, 0x77, HLT };
static const u8 c_ldmxcsr[] = { 0x0f, 0xae, 0x16, HLT };		/* ldmxcsr (%rsi) */
static const u8 c_stmxcsr[] = { 0x0f, 0xae, 0x1f, HLT };		/* stmxcsr (%rdi) */
static const u8 c_xsetbv[] = { 0x0f, 0x01, 0xd1, HLT };
static const u8 c_xgetbv[] = { 0x0f, 0x01, 0xd0, HLT };
static const u8 c_movaps_ld[] = { 0x0f, 0x28, 0x0e, HLT };		/* movaps (%rsi),%xmm1 */
static const u8 c_movups_ld[] = { 0x0f, 0x10, 0x0e, HLT };		/* movups (%rsi),%xmm1 */
static const u8 c_movdqa_st[] = { 0x66, 0x0f, 0x7f, 0x0f, HLT };	/* movdqa %xmm1,(%rdi) */
static const u8 c_paddd_m[] = { 0x66, 0x0f, 0xfe, 0x0e, HLT };		/* paddd (%rsi),%xmm1 */
static const u8 c_divss[] = { 0xf3, 0x0f, 0x5e, 0xc1, HLT };		/* divss %xmm1,%xmm0 */
static const u8 c_fnstenv[] = { 0xd9, 0x37, HLT };			/* fnstenv (%rdi) */
static const u8 c_fldenv[] = { 0xd9, 0x26, HLT };			/* fldenv (%rsi) */
static const u8 c_x87_ctl[] = {
	0xdb, 0xe3,		/* fninit */
	0xd9, 0x3f,		/* fnstcw (%rdi) */
	0xdf, 0xe0,		/* fnstsw %ax */
	0xd9, 0x2e,		/* fldcw (%rsi) */
	0xd9, 0x7f, 0x02,	/* fnstcw 2(%rdi) */
	HLT,
};
static const u8 c_fld1[] = { 0xd9, 0xe8, HLT };			/* fld1 (x87 arithmetic) */

static void fpu_reset_values(void)
{
	struct sil s;
	struct cpu_state *st;
	u16 fcw, fsw, cw2;
	u32 mx;

	test_begin("fpu reset values (FCW 0x40, MXCSR 0x1f80, FNINIT 0x37f)");
	setup(&s);
	st = cpu_state(s.c);
	memcpy(&fcw, st->fpu.fxsave, 2);
	memcpy(&mx, st->fpu.fxsave + 24, 4);
	CHECK_EQ(fcw, 0x40);
	CHECK_EQ(mx, 0x1f80);
	CHECK_EQ(st->fpu.fxsave[4], 0);		/* all registers empty */
	CHECK_EQ(st->xcr0, 1);
	st->gpr[7] = BUF;
	CHECK_EQ(run_vec(&s, c_stmxcsr, sizeof(c_stmxcsr)), -1);
	CHECK_EQ(sil_get64(&s, BUF) & 0xffffffff, 0x1f80);
	/* FNINIT; FNSTCW; FNSTSW AX; FLDCW 0x0c7f (round toward zero, double); FNSTCW */
	s.ram[BUF2] = 0x7f;
	s.ram[BUF2 + 1] = 0x0c;
	st->gpr[0] = 0xdead;
	st->gpr[6] = BUF2;
	CHECK_EQ(run_vec(&s, c_x87_ctl, sizeof(c_x87_ctl)), -1);
	memcpy(&cw2, s.ram + BUF, 2);
	CHECK_EQ(cw2, 0x37f);
	memcpy(&cw2, s.ram + BUF + 2, 2);
	CHECK_EQ(cw2, 0xc7f);
	memcpy(&fsw, st->fpu.fxsave + 2, 2);
	CHECK_EQ(st->gpr[0] & 0xffff, 0);
	CHECK_EQ(fsw, 0);
	/* INIT keeps XMM and MXCSR (SDM 10.1); RESET clears them */
	st->fpu.fxsave[160] = 0x5a;
	cpu_reset(s.c, true);
	CHECK_EQ(cpu_state(s.c)->fpu.fxsave[160], 0x5a);
	cpu_reset(s.c, false);
	CHECK_EQ(cpu_state(s.c)->fpu.fxsave[160], 0);
	sil_fini(&s);
	test_end();
}

static void sse_ud_nm_rules(void)
{
	struct sil s;

	test_begin("sse #UD/#NM rules (CR0.EM/TS/MP, CR4.OSFXSR/OSXSAVE)");
	setup(&s);
	cpu_state(s.c)->gpr[7] = BUF;
	cpu_state(s.c)->gpr[6] = BUF;
	CHECK_EQ(run_vec(&s, c_pxor, sizeof(c_pxor)), -1);
	CHECK_EQ(run_vec(&s, c_addps, sizeof(c_addps)), -1);
	set_cr(&s, 0, 0, 0, CPU_CR4_OSFXSR);
	CHECK_EQ(run_vec(&s, c_pxor, sizeof(c_pxor)), 6);
	CHECK_EQ(run_vec(&s, c_addps, sizeof(c_addps)), 6);
	CHECK_EQ(run_vec(&s, c_stmxcsr, sizeof(c_stmxcsr)), 6);
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), -1);	/* FXSAVE needs no OSFXSR */
	CHECK_EQ(run_vec(&s, c_paddb_mmx, sizeof(c_paddb_mmx)), -1);	/* nor does MMX */
	set_cr(&s, CPU_CR0_TS, 0, CPU_CR4_OSFXSR, 0);
	CHECK_EQ(run_vec(&s, c_pxor, sizeof(c_pxor)), 7);
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), 7);
	CHECK_EQ(run_vec(&s, c_fninit, sizeof(c_fninit)), 7);
	CHECK_EQ(run_vec(&s, c_paddb_mmx, sizeof(c_paddb_mmx)), 7);
	CHECK_EQ(run_vec(&s, c_fwait, sizeof(c_fwait)), -1);		/* TS without MP */
	set_cr(&s, CPU_CR0_MP, 0, 0, 0);
	CHECK_EQ(run_vec(&s, c_fwait, sizeof(c_fwait)), 7);		/* TS and MP */
	set_cr(&s, CPU_CR0_EM, 0, 0, 0);				/* EM and TS: #UD first */
	CHECK_EQ(run_vec(&s, c_pxor, sizeof(c_pxor)), 6);
	CHECK_EQ(run_vec(&s, c_emms, sizeof(c_emms)), 6);
	set_cr(&s, 0, CPU_CR0_TS, 0, 0);				/* EM alone */
	CHECK_EQ(run_vec(&s, c_pxor, sizeof(c_pxor)), 6);
	CHECK_EQ(run_vec(&s, c_paddb_mmx, sizeof(c_paddb_mmx)), 6);
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), 7);	/* FXSAVE: #NM for EM */
	CHECK_EQ(run_vec(&s, c_fninit, sizeof(c_fninit)), 7);	/* x87: #NM for EM */
	CHECK_EQ(run_vec(&s, c_fwait, sizeof(c_fwait)), -1);
	set_cr(&s, 0, CPU_CR0_EM | CPU_CR0_MP, 0, 0);
	/* XSAVE family and XGETBV: #UD without CR4.OSXSAVE, #NM for TS */
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), 6);
	CHECK_EQ(run_vec(&s, c_xgetbv, sizeof(c_xgetbv)), 6);
	CHECK_EQ(run_vec(&s, c_xsetbv, sizeof(c_xsetbv)), 6);
	set_cr(&s, CPU_CR0_TS, 0, CPU_CR4_OSXSAVE, 0);
	cpu_state(s.c)->gpr[0] = 3;
	cpu_state(s.c)->gpr[2] = 0;
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), 7);
	CHECK_EQ(run_vec(&s, c_xsavec, sizeof(c_xsavec)), 7);
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 7);
	set_cr(&s, 0, CPU_CR0_TS, 0, 0);
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), -1);
	/* x87 arithmetic runs (CR0.TS clear) */
	CHECK_EQ(run_vec(&s, c_fld1, sizeof(c_fld1)), -1);
	sil_fini(&s);
	test_end();
}

static void sse_gp_rules(void)
{
	struct sil s;
	struct cpu_state *st;

	test_begin("sse #GP rules (alignment, MXCSR and XSAVE-header reserved bits)");
	setup(&s);
	st = cpu_state(s.c);
	set_cr(&s, 0, 0, CPU_CR4_OSXSAVE, 0);
	st->xcr0 = 3;
	memset(s.ram + BUF, 0x11, 64);
	st->gpr[6] = BUF + 8;
	CHECK_EQ(run_vec(&s, c_movaps_ld, sizeof(c_movaps_ld)), 13);
	CHECK_EQ(errcode(&s), 0);
	CHECK_EQ(run_vec(&s, c_paddd_m, sizeof(c_paddd_m)), 13);
	CHECK_EQ(run_vec(&s, c_movups_ld, sizeof(c_movups_ld)), -1);
	st->gpr[7] = BUF + 4;
	CHECK_EQ(run_vec(&s, c_movdqa_st, sizeof(c_movdqa_st)), 13);
	CHECK_EQ(sil_get64(&s, BUF), 0x1111111111111111ull);	/* nothing stored */
	st->gpr[6] = BUF;
	CHECK_EQ(run_vec(&s, c_movaps_ld, sizeof(c_movaps_ld)), -1);
	/* FXSAVE/FXRSTOR: 16-byte alignment; XSAVE*: 64 */
	st->gpr[7] = BUF + 8;
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), 13);
	st->gpr[7] = BUF + 16;
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), -1);
	st->gpr[0] = 3;
	st->gpr[2] = 0;
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), 13);
	CHECK_EQ(run_vec(&s, c_xsavec, sizeof(c_xsavec)), 13);
	st->gpr[7] = BUF;
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), -1);
	/* LDMXCSR: reserved bits #GP(0) */
	memcpy(s.ram + BUF2, &(u32){ 0x11f80 }, 4);
	st->gpr[6] = BUF2;
	CHECK_EQ(run_vec(&s, c_ldmxcsr, sizeof(c_ldmxcsr)), 13);
	memcpy(s.ram + BUF2, &(u32){ 0x9fc0 }, 4);	/* FTZ, DAZ, RZ: valid */
	CHECK_EQ(run_vec(&s, c_ldmxcsr, sizeof(c_ldmxcsr)), -1);
	st->gpr[7] = BUF2 + 64;
	CHECK_EQ(run_vec(&s, c_stmxcsr, sizeof(c_stmxcsr)), -1);
	CHECK_EQ(sil_get64(&s, BUF2 + 64) & 0xffffffff, 0x9fc0);
	/* FXRSTOR with a reserved MXCSR bit */
	st->gpr[7] = BUF;
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), -1);
	s.ram[BUF + 26] = 1;	/* MXCSR bit 16 */
	st->gpr[6] = BUF;
	CHECK_EQ(run_vec(&s, c_fxrstor, sizeof(c_fxrstor)), 13);
	s.ram[BUF + 26] = 0;
	CHECK_EQ(run_vec(&s, c_fxrstor, sizeof(c_fxrstor)), -1);
	/* XRSTOR: XSTATE_BV outside XCR0, XCOMP_BV in the standard form, bv outside comp */
	memset(s.ram + BUF, 0, 1024);
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), -1);
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
	s.ram[BUF + 512] = 4;		/* XSTATE_BV = AVX, not in XCR0 */
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 13);
	s.ram[BUF + 512] = 3;
	s.ram[BUF + 520] = 1;		/* XCOMP_BV without bit 63 */
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 13);
	s.ram[BUF + 520] = 0;
	s.ram[BUF + 530] = 1;		/* bytes 23:16 of the header */
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 13);
	s.ram[BUF + 530] = 0;
	s.ram[BUF + 520] = 1;		/* compacted: XCOMP_BV = x87, XSTATE_BV = x87|SSE */
	s.ram[BUF + 527] = 0x80;
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 13);
	s.ram[BUF + 520] = 3;
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
	s.ram[BUF + 27] = 0x80;		/* MXCSR bit 31 */
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), 13);
	sil_fini(&s);
	test_end();
}

static void xsetbv_rules(void)
{
	static const struct { u32 ecx; u64 val; bool ok; } cases[] = {
		{ 0, 1, true }, { 0, 3, true }, { 1, 1, false }, { 0, 0, false }, { 0, 2, false },
		{ 0, 5, false }, { 0, 7, false }, { 0, 0x100000003ull, false }, { 0, 0x83, false },
	};
	struct sil s;
	struct cpu_state *st;

	test_begin("xsetbv/xgetbv rules (XCR0 x87 set, AVX needs SSE, mask 0x3, CPL0)");
	setup(&s);
	st = cpu_state(s.c);
	set_cr(&s, 0, 0, CPU_CR4_OSXSAVE, 0);
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		st->xcr0 = 1;
		st->gpr[1] = cases[k].ecx;
		st->gpr[0] = (u32)cases[k].val;
		st->gpr[2] = cases[k].val >> 32;
		CHECK(run_vec(&s, c_xsetbv, sizeof(c_xsetbv)) == (cases[k].ok ? -1 : 13),
		      "XSETBV ecx %u val %#llx", cases[k].ecx, (unsigned long long)cases[k].val);
		CHECK_EQ(st->xcr0, cases[k].ok ? cases[k].val : 1);
	}
	st->xcr0 = 3;
	st->gpr[1] = 0;
	st->gpr[0] = st->gpr[2] = ~0ull;
	CHECK_EQ(run_vec(&s, c_xgetbv, sizeof(c_xgetbv)), -1);
	CHECK_EQ(st->gpr[0], 3);
	CHECK_EQ(st->gpr[2], 0);
	st->gpr[1] = 1;		/* XGETBV ECX=1 needs CPUID.(D,1).EAX[2] */
	CHECK_EQ(run_vec(&s, c_xgetbv, sizeof(c_xgetbv)), 13);
	/* XSETBV at CPL3: #GP(0) at the XSETBV; XGETBV works there (UD2 ends the run) */
	st->gpr[1] = 0;
	st->gpr[0] = 1;
	st->gpr[2] = 0;
	CHECK_EQ(run(&s, c_xsetbv, sizeof(c_xsetbv), true), CPU_EXIT_HLT);
	CHECK_EQ(vector(&s), 13);
	CHECK_EQ(sil_get64(&s, st->gpr[4] + 16), CODE);
	CHECK_EQ(st->xcr0, 3);
	{
		static const u8 c_xgetbv_ud2[] = { 0x0f, 0x01, 0xd0, 0x0f, 0x0b };
		CHECK_EQ(run(&s, c_xgetbv_ud2, sizeof(c_xgetbv_ud2), true), CPU_EXIT_HLT);
		CHECK_EQ(vector(&s), 6);
		CHECK_EQ(sil_get64(&s, st->gpr[4] + 8), CODE + 3);
		CHECK_EQ(st->gpr[0], 3);
	}
	sil_fini(&s);
	test_end();
}

static void simd_fp_exceptions(void)
{
	struct sil s;
	struct cpu_state *st;
	u32 mx;
	float one = 1.0f, zero = 0.0f, r;

	test_begin("simd fp exceptions (#XM with OSXMMEXCPT, #UD without, flags sticky)");
	setup(&s);
	st = cpu_state(s.c);
	memcpy(st->fpu.fxsave + 160, &one, 4);		/* xmm0 = 1 */
	memcpy(st->fpu.fxsave + 176, &zero, 4);		/* xmm1 = 0 */
	/* masked: 1/0 = +inf, ZE set */
	CHECK_EQ(run_vec(&s, c_divss, sizeof(c_divss)), -1);
	memcpy(&mx, st->fpu.fxsave + 24, 4);
	CHECK_EQ(mx, 0x1f80 | 4);
	memcpy(&r, st->fpu.fxsave + 160, 4);
	CHECK(r > 1e38f, "1/0 gave %g", (double)r);
	/* ZM unmasked, OSXMMEXCPT = 1: #XM, xmm0 unchanged, ZE set */
	memcpy(st->fpu.fxsave + 160, &one, 4);
	mx = 0x1f80 & ~0x200u;
	memcpy(st->fpu.fxsave + 24, &mx, 4);
	set_cr(&s, 0, 0, CPU_CR4_OSXMMEXCPT, 0);
	CHECK_EQ(run_vec(&s, c_divss, sizeof(c_divss)), 19);
	memcpy(&r, st->fpu.fxsave + 160, 4);
	CHECK(r == 1.0f, "destination written: %g", (double)r);
	memcpy(&mx, st->fpu.fxsave + 24, 4);
	CHECK_EQ(mx, (0x1f80 & ~0x200u) | 4);
	/* without OSXMMEXCPT: #UD */
	set_cr(&s, 0, 0, 0, CPU_CR4_OSXMMEXCPT);
	CHECK_EQ(run_vec(&s, c_divss, sizeof(c_divss)), 6);
	sil_fini(&s);
	test_end();
}

/* ---- images against the host ---- */

static u8 host_img[1024] __attribute__((aligned(64)));
static u8 host_xmm[256] __attribute__((aligned(16)));

/* Load XMM0-15 from host_xmm, MXCSR, an x87 stack of three values with FCW, then @save */
#define HOST_STATE(save)							\
	do {									\
		asm volatile(							\
			".irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"	\
			"movdqu 16*\\k(%[x]), %%xmm\\k\n\t"			\
			".endr\n\t"						\
			"ldmxcsr %[mx]\n\t"					\
			"fninit\n\t"						\
			"fldcw %[cw]\n\t"					\
			"fld1\n\tfldpi\n\tfldz\n\t"				\
			save "\n\t"						\
			"fninit\n\t"						\
			"ldmxcsr %[dflt]"					\
			: : [x] "r"(host_xmm), [mx] "m"(mxcsr), [cw] "m"(fcw),	\
			  [img] "r"(host_img), "a"(3), "d"(0), [dflt] "m"(dflt)	\
			: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", \
			  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",	\
			  "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)"); \
	} while (0)

static bool host_has(int leaf, int sub, int reg, int bit)
{
	u32 r[4];
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
	return (r[reg] >> bit) & 1;
}

/* Compare the guest's image at @gpa with host_img over [from, to), except FIP..FDP and MXCSR_MASK */
static int cmp_img(struct sil *s, u64 gpa, int from, int to)
{
	int bad = 0;
	for (int k = from; k < to; k++) {
		if ((k >= 8 && k < 24) || (k >= 28 && k < 32) || (k >= 6 && k < 8))
			continue;	/* FOP/FIP/FDP: the AMD host saves them only with ES; MXCSR_MASK */
		if (s->ram[gpa + k] != host_img[k] && bad++ < 4)
			printf("     byte %d: silicon %02x host %02x\n", k, s->ram[gpa + k], host_img[k]);
	}
	return bad;
}

static void fxsave_xsave_images(void)
{
	struct sil s;
	struct cpu_state *st;
	u32 mxcsr = 0x3f80 | 0x21, dflt = 0x1f80;	/* round down, PE|IE set */
	u16 fcw = 0x27f;
	u32 mask;
	u64 bv, comp;

	test_begin("fxsave/xsave/xsavec images equal the host's for the same registers");
	for (int k = 0; k < 256; k++)
		host_xmm[k] = (u8)(k * 37 + 11);
	setup(&s);
	st = cpu_state(s.c);
	set_cr(&s, 0, 0, CPU_CR4_OSXSAVE, 0);
	st->xcr0 = 3;

	/* FXSAVE64 on the host, FXRSTOR64 + FXSAVE64 on silicon */
	memset(host_img, 0xcc, sizeof(host_img));
	HOST_STATE("fxsave64 (%[img])");
	memcpy(s.ram + BUF, host_img, 512);
	memset(s.ram + BUF2, 0xcc, 1024);
	st->gpr[6] = BUF;
	st->gpr[7] = BUF2;
	CHECK_EQ(run_vec(&s, c_fxrstor, sizeof(c_fxrstor)), -1);
	CHECK(!memcmp(st->fpu.fxsave + 160, host_xmm, 256), "XMM0-15 not loaded");
	CHECK_EQ(run_vec(&s, c_fxsave, sizeof(c_fxsave)), -1);
	CHECK_EQ(cmp_img(&s, BUF2, 0, 512), 0);
	memcpy(&mask, s.ram + BUF2 + 28, 4);
	CHECK_EQ(mask, 0xffff);		/* MXCSR_MASK: DAZ supported (the host has MM too) */
	CHECK_EQ(s.ram[BUF2 + 500], 0xcc);	/* bytes 464-511 are software's */

	/* The same registers written directly, then the legacy FXSAVE */
	cpu_reset(s.c, false);
	sil_long_mode(&s);
	memcpy(st->fpu.fxsave, host_img, 24);
	memcpy(st->fpu.fxsave + 32, host_img + 32, 128);
	memcpy(st->fpu.fxsave + 160, host_xmm, 256);
	memcpy(st->fpu.fxsave + 24, &mxcsr, 4);
	memset(host_img, 0xcc, sizeof(host_img));
	HOST_STATE("fxsave (%[img])");
	memset(s.ram + BUF2, 0xcc, 1024);
	st->gpr[7] = BUF2;
	CHECK_EQ(run_vec(&s, c_fxsave32, sizeof(c_fxsave32)), -1);
	CHECK_EQ(cmp_img(&s, BUF2, 0, 416), 0);

	/* XSAVE (RFBM = x87|SSE): legacy region and XSTATE_BV */
	set_cr(&s, 0, 0, CPU_CR4_OSXSAVE, 0);
	st->xcr0 = 3;
	memset(host_img, 0, sizeof(host_img));
	HOST_STATE("xsave64 (%[img])");
	memset(s.ram + BUF2, 0, 1024);
	st->gpr[0] = 3;
	st->gpr[2] = 0;
	CHECK_EQ(run_vec(&s, c_xsave, sizeof(c_xsave)), -1);
	CHECK_EQ(cmp_img(&s, BUF2, 0, 576), 0);
	memcpy(&bv, s.ram + BUF2 + 512, 8);
	CHECK_EQ(bv, 3);
	/* XSAVEOPT writes the same */
	memset(s.ram + BUF2, 0, 1024);
	CHECK_EQ(run_vec(&s, c_xsaveopt, sizeof(c_xsaveopt)), -1);
	CHECK_EQ(cmp_img(&s, BUF2, 0, 576), 0);
	/* XRSTOR of the host's image gives the same registers */
	memcpy(s.ram + BUF, host_img, 576);
	memset(st->fpu.fxsave + 160, 0, 256);
	st->gpr[6] = BUF;
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
	CHECK(!memcmp(st->fpu.fxsave + 160, host_xmm, 256), "XRSTOR: XMM differ");
	CHECK(!memcmp(st->fpu.fxsave + 32, host_img + 32, 128), "XRSTOR: ST differ");
	/* XRSTOR with XSTATE_BV = 0 initializes both (MXCSR loaded: standard form) */
	memset(s.ram + BUF + 512, 0, 8);
	CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
	CHECK_EQ(st->fpu.fxsave[160 + 17], 0);
	CHECK_EQ(st->fpu.fxsave[0] | (st->fpu.fxsave[1] << 8), 0x37f);
	memcpy(&mask, st->fpu.fxsave + 24, 4);
	CHECK_EQ(mask, mxcsr);

	/* XSAVEC, when the host has it */
	if (host_has(0xd, 1, 0, 1)) {
		memcpy(s.ram + BUF, host_img, 576);
		memcpy(s.ram + BUF + 512, &(u64){ 3 }, 8);
		CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
		memset(host_img, 0, sizeof(host_img));
		HOST_STATE("xsavec64 (%[img])");
		memset(s.ram + BUF2, 0, 1024);
		st->gpr[0] = 3;
		CHECK_EQ(run_vec(&s, c_xsavec, sizeof(c_xsavec)), -1);
		CHECK_EQ(cmp_img(&s, BUF2, 0, 576), 0);
		memcpy(&comp, s.ram + BUF2 + 520, 8);
		CHECK_EQ(comp, 0x8000000000000003ull);
		/* and XRSTOR takes the compacted image */
		memset(st->fpu.fxsave + 160, 0, 256);
		memcpy(s.ram + BUF, host_img, 576);
		CHECK_EQ(run_vec(&s, c_xrstor, sizeof(c_xrstor)), -1);
		CHECK(!memcmp(st->fpu.fxsave + 160, host_xmm, 256), "XRSTOR compacted: XMM differ");
	}

	/* FNSTENV: control, status and full tag words as the host's; FLDENV back */
	HOST_STATE("fxsave64 (%[img])");
	memcpy(s.ram + BUF, host_img, 512);
	st->gpr[6] = BUF;
	CHECK_EQ(run_vec(&s, c_fxrstor, sizeof(c_fxrstor)), -1);
	memset(host_img, 0, sizeof(host_img));
	HOST_STATE("fnstenv (%[img])");
	memset(s.ram + BUF2, 0, 64);
	st->gpr[7] = BUF2;
	CHECK_EQ(run_vec(&s, c_fnstenv, sizeof(c_fnstenv)), -1);
	CHECK(!memcmp(s.ram + BUF2, host_img, 12), "FNSTENV words: %08llx %08llx vs %08llx %08llx",
	      (unsigned long long)sil_get64(&s, BUF2), (unsigned long long)sil_get64(&s, BUF2 + 8),
	      *(unsigned long long *)host_img, *(unsigned long long *)(host_img + 8));
	CHECK_EQ(st->fpu.fxsave[0] & 0x3f, 0x3f);	/* exceptions masked after FNSTENV */
	st->gpr[6] = BUF2;
	CHECK_EQ(run_vec(&s, c_fldenv, sizeof(c_fldenv)), -1);
	CHECK_EQ(st->fpu.fxsave[0] | (st->fpu.fxsave[1] << 8), fcw);
	CHECK_EQ(st->fpu.fxsave[4], 0xe0);	/* R5-R7 in use */
	sil_fini(&s);
	test_end();
}

static void mmx_aliasing(void)
{
	struct sil s;
	struct cpu_state *st;
	u16 fsw;

	test_begin("mmx registers alias x87 R0-R7; TOP=0, tags valid, EMMS empties");
	setup(&s);
	st = cpu_state(s.c);
	/* TOP = 5 with a value in ST(0) = R5 */
	fsw = 5 << 11;
	memcpy(st->fpu.fxsave + 2, &fsw, 2);
	st->fpu.fxsave[32] = 0x77;	/* ST(0) */
	st->fpu.fxsave[32 + 16 * 3] = 0x10;	/* ST(3) = R0 */
	st->fpu.fxsave[32 + 16 * 4] = 0x22;	/* ST(4) = R1 */
	CHECK_EQ(run_vec(&s, c_paddb_mmx, sizeof(c_paddb_mmx)), -1);	/* mm0 += mm1 */
	memcpy(&fsw, st->fpu.fxsave + 2, 2);
	CHECK_EQ((fsw >> 11) & 7, 0);
	CHECK_EQ(st->fpu.fxsave[4], 0xff);
	CHECK_EQ(st->fpu.fxsave[32], 0x32);			/* ST(0) = R0 = mm0 */
	CHECK_EQ(st->fpu.fxsave[32 + 8] | st->fpu.fxsave[32 + 9] << 8, 0xffff);
	CHECK_EQ(st->fpu.fxsave[32 + 16 * 5], 0x77);		/* R5 kept */
	CHECK_EQ(run_vec(&s, c_emms, sizeof(c_emms)), -1);
	CHECK_EQ(st->fpu.fxsave[4], 0);
	sil_fini(&s);
	test_end();
}

/*
 * An x87 program (data here): loads of every size, arithmetic, stack
 * operations, transcendental and BCD instructions, stores of every size.
 * [rsi] holds the inputs and receives the outputs; it ends before the
 * harness's "fxsave64 (%rdi)".
 */
__asm__(".pushsection .rodata\n"
	"x87_prog:\n"
	"	fninit\n"
	"	fldcw (%rsi)\n"
	"	fldl 8(%rsi)\n"
	"	flds 16(%rsi)\n"
	"	fildl 20(%rsi)\n"
	"	fildll 24(%rsi)\n"
	"	faddp\n"
	"	fmul %st(2), %st\n"
	"	fdivr %st(1), %st\n"
	"	fxch %st(2)\n"
	"	fsqrt\n"
	"	fchs\n"
	"	fld %st(1)\n"
	"	fabs\n"
	"	fldpi\n"
	"	fmulp\n"
	"	frndint\n"
	"	fld1\n"
	"	fscale\n"
	"	fstpt 64(%rsi)\n"
	"	fsubrl 8(%rsi)\n"
	"	fimuls 32(%rsi)\n"
	"	fcom %st(1)\n"
	"	fnstsw 74(%rsi)\n"
	"	fucomp %st(2)\n"
	"	fld %st(0)\n"
	"	fsin\n"
	"	fpatan\n"
	"	fistl 76(%rsi)\n"
	"	fstl 80(%rsi)\n"
	"	fbstp 88(%rsi)\n"
	"	fistpll 98(%rsi)\n"
	"	fisttps 106(%rsi)\n"
	"	fsts 112(%rsi)\n"
	"	fstps 116(%rsi)\n"
	"	fisttpl 120(%rsi)\n"
	"	fldl2e\n"
	"	fxam\n"
	"	fnstsw 108(%rsi)\n"
	"x87_prog_end:\n"
	".popsection\n");
extern const u8 x87_prog[], x87_prog_end[];

static void x87_arith_vs_host(void)
{
	static const u16 cws[] = { 0x37f, 0x27f, 0x07f, 0xf7f, 0x77f, 0xb7f, 0x17f };	/* all masked */
	u8 *page;
	size_t n = (size_t)(x87_prog_end - x87_prog);
	struct sil s;
	struct cpu_state *st;
	int bad = 0;
	u64 rng = 12345;

	test_begin("x87 arithmetic and loads/stores equal the host's (FXSAVE image and stores)");
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		CHECK(0, "no executable page");
		test_end();
		return;
	}
	memcpy(page, x87_prog, n);
	memcpy(page + n, (const u8[]){ 0x48, 0x0f, 0xae, 0x07, 0xdb, 0xe3, 0xc3 }, 7);
	setup(&s);
	st = cpu_state(s.c);
	{
		u8 code[512];
		memcpy(code, x87_prog, n);
		memcpy(code + n, c_fxsave, sizeof(c_fxsave));
		sil_put(&s, CODE, code, n + sizeof(c_fxsave));
	}
	for (int k = 0; k < 200 && bad < 3; k++) {
		u8 in[128] __attribute__((aligned(16))), hbuf[128], *sbuf = s.ram + BUF2;
		u8 himg[512] __attribute__((aligned(16)));
		double a;
		float b;
		s32 ci;
		s64 di;
		s16 ei;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		a = (double)(s64)(rng >> 20) / (double)(1 + (rng & 0xffff));
		b = (float)((s32)(rng >> 33)) / 7.0f;
		ci = (s32)(rng >> 7);
		di = (s64)(rng * 31);
		ei = (s16)(rng >> 48);
		if (k % 10 == 0)
			a = 0.0;
		if (k % 17 == 3)
			b = -b * 1e30f;
		memset(in, 0, sizeof(in));
		memcpy(in, &cws[k % ARRAY_SIZE(cws)], 2);
		memcpy(in + 8, &a, 8);
		memcpy(in + 16, &b, 4);
		memcpy(in + 20, &ci, 4);
		memcpy(in + 24, &di, 8);
		memcpy(in + 32, &ei, 2);
		/* the host */
		memcpy(hbuf, in, sizeof(in));
		memset(himg, 0, sizeof(himg));
		((void (*)(void *, void *))page)(himg, hbuf);
		/* silicon */
		memcpy(sbuf, in, sizeof(in));
		memset(s.ram + BUF, 0, 512);
		st->gpr[7] = BUF;
		st->gpr[6] = BUF2;
		if (run_vec(&s, (const u8 *)"", 0) != -1) {
			CHECK(0, "case %d: silicon took exception %d", k, vector(&s));
			bad++;
			continue;
		}
		for (int j = 0; j < 160; j++) {
			if (j >= 6 && j < 32)
				continue;	/* FOP/FIP/FDP (the AMD host saves them only with ES), MXCSR */
			if (j >= 32) {
				/* an empty register keeps stale contents: only valid ones count */
				int top = (himg[3] >> 3) & 7, phys = (top + (j - 32) / 16) & 7;
				if (!((himg[4] >> phys) & 1) || (j - 32) % 16 >= 10)
					continue;
			}
			if (s.ram[BUF + j] != himg[j]) {
				CHECK(0, "case %d (cw %#x): image byte %d silicon %02x host %02x", k,
				      cws[k % ARRAY_SIZE(cws)], j, s.ram[BUF + j], himg[j]);
				bad++;
				break;
			}
		}
		if (memcmp(sbuf, hbuf, 124)) {
			for (int j = 0; j < 124; j++)
				if (sbuf[j] != hbuf[j]) {
					CHECK(0, "case %d: stored byte %d silicon %02x host %02x", k, j,
					      sbuf[j], hbuf[j]);
					break;
				}
			bad++;
		}
	}
	munmap(page, 4096);
	sil_fini(&s);
	test_end();
}

static void x87_exceptions(void)
{
	struct sil s;
	struct cpu_state *st;
	/* fldcw (%rsi); fld1; fldz; fdivp (1/0, ZE unmasked: pending); fnstsw %ax; fwait */
	static const u8 c_divz[] = { 0xd9, 0x2e, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xdf, 0xe0,
				     0x9b, HLT };
	/* fld1; fldz; fcomi %st(1); hlt */
	static const u8 c_fcomi[] = { 0xd9, 0xe8, 0xd9, 0xee, 0xdb, 0xf1, HLT };
	static const u8 c_reserved[] = { 0xd9, 0xd1, HLT };	/* D9 D1: reserved */
	static const u8 c_fstp_m[] = { 0xd9, 0xe8, 0xdd, 0x1f, HLT };	/* fld1; fstpl (%rdi) */
	u16 cw = 0x37b;		/* ZM clear */
	u16 fsw;

	test_begin("x87 pending exceptions (#MF at the next waiting instruction, CR0.NE), FCOMI, #UD");
	setup(&s);
	st = cpu_state(s.c);
	memcpy(s.ram + BUF2, &cw, 2);
	st->gpr[6] = BUF2;
	CHECK_EQ(run_vec(&s, c_divz, sizeof(c_divz)), 16);
	CHECK_EQ(sil_get64(&s, st->gpr[4] + 8), CODE + 10);	/* at the FWAIT */
	CHECK_EQ(st->gpr[0] & 0x84, 0x84);	/* ES and ZE in the FNSTSW result */
	memcpy(&fsw, st->fpu.fxsave + 2, 2);
	CHECK(fsw & 0x80, "ES not pending");
	/* the FOP of the faulting instruction (DE F9) */
	CHECK_EQ(st->fpu.fxsave[6] | (st->fpu.fxsave[7] << 8), 0x6f9);
	/* FNINIT clears it; FCOMI 0 vs 1: CF */
	st->rflags = 2 | CPU_FLAG_ZF | CPU_FLAG_OF;
	CHECK_EQ(run_vec(&s, c_fninit, sizeof(c_fninit)), -1);
	CHECK_EQ(run_vec(&s, c_fcomi, sizeof(c_fcomi)), -1);
	CHECK_EQ(st->rflags & (CPU_FLAG_ZF | CPU_FLAG_PF | CPU_FLAG_CF | CPU_FLAG_OF), CPU_FLAG_CF);
	CHECK_EQ(run_vec(&s, c_reserved, sizeof(c_reserved)), 6);
	{
		/* the host's own x87 control word and MXCSR survive guest x87 work */
		u16 hcw = 0x27f, hcw_after = 0;
		u32 hmx = 0x3f80, hmx_after = 0, dflt = 0x1f80;
		asm volatile("fldcw %0\n\tldmxcsr %1" : : "m"(hcw), "m"(hmx));
		CHECK_EQ(run_vec(&s, c_fcomi, sizeof(c_fcomi)), -1);
		asm volatile("fnstcw %0\n\tstmxcsr %1" : "=m"(hcw_after), "=m"(hmx_after));
		asm volatile("fninit\n\tldmxcsr %0" : : "m"(dflt));
		CHECK_EQ(hcw_after, 0x27f);
		CHECK_EQ(hmx_after, 0x3f80);
	}
	{
		static const u8 c_feni[] = { 0xdb, 0xe0, 0xdb, 0xe1, 0xdb, 0xe4, HLT };	/* no-ops */
		CHECK_EQ(run_vec(&s, c_feni, sizeof(c_feni)), -1);
	}
	/* FSTP m64 */
	CHECK_EQ(run_vec(&s, c_fninit, sizeof(c_fninit)), -1);
	st->gpr[7] = BUF;
	CHECK_EQ(run_vec(&s, c_fstp_m, sizeof(c_fstp_m)), -1);
	{
		double one;
		memcpy(&one, s.ram + BUF, 8);
		CHECK(one == 1.0, "FSTP m64 stored %g", one);
	}
	sil_fini(&s);
	test_end();
}

/*
 * Random x87 states (FRSTOR of random bytes: any flags, masks, tags, TOP)
 * and random x87 instructions, with CR0.NE either way: every run ends in
 * the guest (HLT, or an exception stub), never in a host trap.
 */
static void x87_random_states(void)
{
	struct sil s;
	struct cpu_state *st;
	u64 rng = 0xfeedfacecafebeefull;
	int ran = 0, mf = 0;

	test_begin("x87 random states and instructions never trap the host (#MF/IGNNE)");
	setup(&s);
	st = cpu_state(s.c);
	for (int k = 0; k < 3000; k++) {
		u8 code[8] = { 0xdd, 0x26 };	/* frstor (%rsi) */
		int n = 2;

		for (int j = 0; j < 108; j += 8) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			memcpy(s.ram + BUF2 + j, &rng, 8);
		}
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		code[n++] = (u8)(0xd8 + (rng & 7));
		code[n++] = (u8)(rng >> 8);
		if ((code[n - 1] & 0xc0) != 0xc0)
			code[n - 1] = (u8)((code[n - 1] & 0x38) | 0x06);	/* [rsi] */
		code[n++] = 0x9b;	/* fwait: takes what the instruction left pending */
		code[n++] = HLT;
		st->gpr[6] = BUF2;
		if (rng & BIT_ULL(20))
			st->cr0 |= CPU_CR0_NE;
		else
			st->cr0 &= ~(u64)CPU_CR0_NE;
		cpu_state_changed(s.c);
		if (run(&s, code, n, false) == CPU_EXIT_HLT)
			ran++;
		if (vector(&s) == 16)
			mf++;
	}
	CHECK_EQ(ran, 3000);
	CHECK(mf > 0, "no #MF in %d runs", ran);
	sil_fini(&s);
	test_end();
}

static u64 xrnd(u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/*
 * Random SSE/MMX/x87 encodings (any prefixes, ModRM, SIB, displacement,
 * immediate) with random registers, MXCSR, x87 state and CR0/CR4 bits:
 * each run ends in the guest (its HLT or an exception stub), the host
 * never faults or traps.
 */
#define NR_RANDOM 5000
static void sse_x87_random_encodings(void)
{
	static const u8 pfx[] = { 0, 0x66, 0xf3, 0xf2 };
	struct sil s;
	struct cpu_state *st;
	u64 rng = 0x0123456789abcdefull;
	int ran = 0, n_ud = 0;

#define RND() xrnd(&rng)
	test_begin("random SSE/MMX/x87 encodings end in the guest (no host fault or trap)");
	setup(&s);
	st = cpu_state(s.c);
	for (int k = 0; k < NR_RANDOM; k++) {
		enum cpu_exit e;
		u8 code[24];
		int n = 0;
		u64 r = RND();
		u32 mx = (u32)(RND() & 0xffff) | 0x1f80;
		u16 fcw = (u16)RND(), fsw = (u16)RND();

		if (r & 1)
			code[n++] = pfx[(r >> 1) & 3];
		if ((r >> 3) & 1)
			code[n++] = (u8)(0x40 | ((r >> 4) & 15));
		if ((r >> 8) % 4 == 0) {
			code[n++] = (u8)(0xd8 + ((r >> 10) & 7));	/* x87 */
		} else {
			code[n++] = 0x0f;
			code[n++] = (u8)(r >> 16);
			if (code[n - 1] == 0x0f || code[n - 1] == 0x38 || code[n - 1] == 0x3a ||
			    code[n - 1] == 0x05 || code[n - 1] == 0x07 || code[n - 1] == 0x34 ||
			    code[n - 1] == 0x35 || code[n - 1] == 0x01 || code[n - 1] == 0x00 ||
			    (code[n - 1] >= 0x80 && code[n - 1] <= 0x8f))
				code[n - 1] = 0x58;	/* keep to the SSE/MMX maps: no system or branch */
		}
		for (int j = 0; j < 7; j++)
			code[n++] = (u8)RND();
		code[n++] = HLT;
		for (int g = 0; g < 16; g++)
			st->gpr[g] = g == 4 ? SIL_STACK : (RND() & 1 ? BUF + (RND() & 0xfff) : RND());
		for (int b = 0; b < 256; b += 8)
			((u64 *)(void *)(st->fpu.fxsave + 160))[b / 8] = RND();
		memcpy(st->fpu.fxsave + 24, &mx, 4);
		memcpy(st->fpu.fxsave, &fcw, 2);
		memcpy(st->fpu.fxsave + 2, &fsw, 2);
		st->fpu.fxsave[4] = (u8)RND();
		st->cr0 = (st->cr0 & ~(u64)(CPU_CR0_EM | CPU_CR0_TS | CPU_CR0_MP | CPU_CR0_NE)) |
			  (RND() % 8 == 0 ? CPU_CR0_EM : 0) | (RND() % 8 == 0 ? CPU_CR0_TS : 0) |
			  (RND() & 1 ? CPU_CR0_MP : 0) | (RND() % 4 ? CPU_CR0_NE : 0);
		st->cr4 = (st->cr4 & ~(u64)(CPU_CR4_OSFXSR | CPU_CR4_OSXMMEXCPT | CPU_CR4_OSXSAVE)) |
			  (RND() % 8 ? CPU_CR4_OSFXSR : 0) | (RND() & 1 ? CPU_CR4_OSXMMEXCPT : 0) |
			  (RND() & 1 ? CPU_CR4_OSXSAVE : 0);
		st->rflags = 2 | (RND() & 0x8d5);
		e = run(&s, code, n, false);
		if (e == CPU_EXIT_HLT)
			ran++;
		if (e == CPU_EXIT_HLT && vector(&s) == 6)
			n_ud++;
		/*
		 * A random store may hit the tables or the stubs (the run may
		 * then end in a shutdown, which is fine): rebuild them now and
		 * then and after any other ending.
		 */
		if (e != CPU_EXIT_HLT || k % 64 == 63) {
			sil_long_mode(&s);
			memcpy(s.ram + SIL_TSS + 4, &(u64){ SIL_STACK }, 8);
		}
	}
#undef RND
	CHECK(ran > NR_RANDOM * 95 / 100, "%d of %d runs ended in HLT", ran, NR_RANDOM);
	CHECK(n_ud > 0 && n_ud < ran, "#UD in %d of %d", n_ud, ran);
	sil_fini(&s);
	test_end();
}

int main(void)
{
	fpu_reset_values();
	sse_ud_nm_rules();
	sse_gp_rules();
	xsetbv_rules();
	simd_fp_exceptions();
	fxsave_xsave_images();
	mmx_aliasing();
	x87_arith_vs_host();
	x87_exceptions();
	x87_random_states();
	sse_x87_random_encodings();
	return test_cases_failed ? 1 : 0;
}
