// SPDX-License-Identifier: MIT
/*
 * diff_test.c: differential tests of the integer instruction set against
 * the host CPU.
 *
 * Each case is one instruction with random operands (plus edge values),
 * random registers and random memory.  It runs natively (user mode, from a
 * code page at a fixed address, registers loaded by native.S) and on
 * silicon (64-bit mode, CPL0, the same code and data at the same
 * addresses), and every GPR, the flags the SDM defines for that
 * instruction and the data buffer are compared.  A fault must be the same
 * on both sides (#DE -> SIGFPE, #UD -> SIGILL, #GP/#PF -> SIGSEGV).
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "../test.h"
#include "sil.h"

#define CODE 0x10000000ull
#define DATA 0x10010000ull
#define DATA_SIZE 0x4000
#define STACK_TOP (DATA + 0x3000)
#define RET_SLOT (CODE + 0x800)

struct diff_regs {
	u64 gpr[16];
	u64 rflags;
	u64 rip;
};
extern struct diff_regs native_out;
void native_exec(struct diff_regs *in);
void native_exec32(struct diff_regs *in);
void native_return_taken(void);
extern u8 native_taken;
#define RET_SLOT2 (CODE + 0x808)

/* Cases run in compatibility mode (32-bit code) instead of 64-bit mode. */
static bool mode32;
void native_return(void);

static u8 *ncode, *ndata;		/* native pages at CODE, DATA */
static u8 *scode, *sdata;		/* silicon's copies */
static struct sil S;
static sigjmp_buf fault_env;
static volatile int fault_sig;
static struct diff_regs fault_regs;
static u64 rng = 0x9e3779b97f4a7c15ull;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const u64 edges[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
	~0ull, ~1ull, 0x0f0f0f0f0f0f0f0full,
};

static u64 rnd_val(void)
{
	switch (rnd() % 6) {
	case 0: return edges[rnd() % ARRAY_SIZE(edges)];
	case 1: return rnd() & 0xff;
	case 2: return (u64)(s64)(s8)rnd();
	case 3: return rnd() & 0xffffffff;
	default: return rnd();
	}
}

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	static const int map[16] = {
		REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
		REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	};

	for (int k = 0; k < 16; k++)
		fault_regs.gpr[k] = (u64)uc->uc_mcontext.gregs[map[k]];
	fault_regs.rip = (u64)uc->uc_mcontext.gregs[REG_RIP];
	fault_regs.rflags = (u64)uc->uc_mcontext.gregs[REG_EFL];
	fault_sig = sig;
	siglongjmp(fault_env, 1);
}

enum form {
	F_RM_R,		/* op r/m, reg (or reg, r/m: same encoding) */
	F_RM,		/* group op r/m (digit) */
	F_RM_I8,	/* group op r/m, imm8 */
	F_RM_IZ,	/* group op r/m, imm16/32 */
	F_RM_R_I8,	/* op reg, r/m, imm8 (IMUL, SHLD) */
	F_RM_R_IZ,	/* IMUL reg, r/m, imm */
	F_A_I8,		/* op AL, imm8 */
	F_A_IZ,		/* op rAX, imm */
	F_NONE,		/* no operands */
	F_OPREG,	/* opcode + register */
	F_OPREG_IV,	/* MOV reg, imm16/32/64 */
	F_STR,		/* string op */
	F_PUSHPOP,	/* push/pop reg */
	F_I8,		/* opcode imm8 (AAM, AAD) */
	F_BRANCH,	/* Jcc/LOOP/JCXZ to next + 8 */
	F_STACKOP,	/* ENTER, LEAVE, PUSHF/POPF, XLAT with pointers into the data */
};

enum kind { K_PLAIN, K_SHIFT, K_SHXD, K_DIV, K_BSF, K_BT, K_BTI, K_MEMONLY, K_CX16, K_CL16, K_ONLY32 };

struct spec {
	const char *name;
	u8 pfx;		/* mandatory prefix (66/F2/F3) or 0 */
	u8 map;		/* 0, 1 = 0F, 2 = 0F38 */
	u8 op;		/* opcode of the 16/32/64-bit form */
	s16 op_b;	/* opcode of the 8-bit form, -1 if none */
	s8 digit;	/* ModRM.reg for groups, -1 if none */
	u8 form;
	u8 sizes;	/* bit n: operand size 8 << n allowed */
	u8 kind;
	u32 undef;	/* flags left undefined by the SDM */
	bool lock;	/* LOCK allowed with a memory destination */
	bool uses_cl;
};

#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define OF 0x800
#define DF 0x400
#define ALLF (CF | PF | AF | ZF | SF | OF)
#define S_ALL 0xf
#define S_WDQ 0xe
#define S_DQ 0xc

static const struct spec specs[] = {
#define ALU(n, k, logic)							\
	{ n " rm,r", 0, 0, (k) * 8 + 1, (k) * 8, -1, F_RM_R, S_ALL, K_PLAIN, logic ? AF : 0, (k) != 7 }, \
	{ n " r,rm", 0, 0, (k) * 8 + 3, (k) * 8 + 2, -1, F_RM_R, S_ALL, K_PLAIN, logic ? AF : 0, false }, \
	{ n " rm,iz", 0, 0, 0x81, 0x80, k, F_RM_IZ, S_ALL, K_PLAIN, logic ? AF : 0, (k) != 7 }, \
	{ n " rm,i8", 0, 0, 0x83, -1, k, F_RM_I8, S_WDQ, K_PLAIN, logic ? AF : 0, (k) != 7 }, \
	{ n " a,imm", 0, 0, (k) * 8 + 5, (k) * 8 + 4, -1, F_A_IZ, S_ALL, K_PLAIN, logic ? AF : 0, false }
	ALU("add", 0, 0), ALU("or", 1, 1), ALU("adc", 2, 0), ALU("sbb", 3, 0),
	ALU("and", 4, 1), ALU("sub", 5, 0), ALU("xor", 6, 1), ALU("cmp", 7, 0),
	{ "test rm,r", 0, 0, 0x85, 0x84, -1, F_RM_R, S_ALL, K_PLAIN, AF },
	{ "test rm,iz", 0, 0, 0xf7, 0xf6, 0, F_RM_IZ, S_ALL, K_PLAIN, AF },
	{ "test a,imm", 0, 0, 0xa9, 0xa8, -1, F_A_IZ, S_ALL, K_PLAIN, AF },
	{ "inc", 0, 0, 0xff, 0xfe, 0, F_RM, S_ALL, K_PLAIN, 0, true },
	{ "dec", 0, 0, 0xff, 0xfe, 1, F_RM, S_ALL, K_PLAIN, 0, true },
	{ "not", 0, 0, 0xf7, 0xf6, 2, F_RM, S_ALL, K_PLAIN, 0, true },
	{ "neg", 0, 0, 0xf7, 0xf6, 3, F_RM, S_ALL, K_PLAIN, 0, true },
	{ "mul", 0, 0, 0xf7, 0xf6, 4, F_RM, S_ALL, K_PLAIN, SF | ZF | AF | PF },
	{ "imul1", 0, 0, 0xf7, 0xf6, 5, F_RM, S_ALL, K_PLAIN, SF | ZF | AF | PF },
	{ "div", 0, 0, 0xf7, 0xf6, 6, F_RM, S_ALL, K_DIV, ALLF },
	{ "idiv", 0, 0, 0xf7, 0xf6, 7, F_RM, S_ALL, K_DIV, ALLF },
	{ "imul r,rm", 0, 1, 0xaf, -1, -1, F_RM_R, S_WDQ, K_PLAIN, SF | ZF | AF | PF },
	{ "imul r,rm,iz", 0, 0, 0x69, -1, -1, F_RM_R_IZ, S_WDQ, K_PLAIN, SF | ZF | AF | PF },
	{ "imul r,rm,i8", 0, 0, 0x6b, -1, -1, F_RM_R_I8, S_WDQ, K_PLAIN, SF | ZF | AF | PF },
#define SH(n, d)								\
	{ n " i8", 0, 0, 0xc1, 0xc0, d, F_RM_I8, S_ALL, K_SHIFT, 0 },		\
	{ n " 1", 0, 0, 0xd1, 0xd0, d, F_RM, S_ALL, K_SHIFT, 0 },		\
	{ n " cl", 0, 0, 0xd3, 0xd2, d, F_RM, S_ALL, K_SHIFT, 0, false, true }
	SH("rol", 0), SH("ror", 1), SH("rcl", 2), SH("rcr", 3),
	SH("shl", 4), SH("shr", 5), SH("sal", 6), SH("sar", 7),
	{ "shld i8", 0, 1, 0xa4, -1, -1, F_RM_R_I8, S_WDQ, K_SHXD, 0 },
	{ "shld cl", 0, 1, 0xa5, -1, -1, F_RM_R, S_WDQ, K_SHXD, 0, false, true },
	{ "shrd i8", 0, 1, 0xac, -1, -1, F_RM_R_I8, S_WDQ, K_SHXD, 0 },
	{ "shrd cl", 0, 1, 0xad, -1, -1, F_RM_R, S_WDQ, K_SHXD, 0, false, true },
	{ "bt", 0, 1, 0xa3, -1, -1, F_RM_R, S_WDQ, K_BT, OF | SF | AF | PF },
	{ "bts", 0, 1, 0xab, -1, -1, F_RM_R, S_WDQ, K_BT, OF | SF | AF | PF, true },
	{ "btr", 0, 1, 0xb3, -1, -1, F_RM_R, S_WDQ, K_BT, OF | SF | AF | PF, true },
	{ "btc", 0, 1, 0xbb, -1, -1, F_RM_R, S_WDQ, K_BT, OF | SF | AF | PF, true },
	{ "bt i8", 0, 1, 0xba, -1, 4, F_RM_I8, S_WDQ, K_BTI, OF | SF | AF | PF },
	{ "bts i8", 0, 1, 0xba, -1, 5, F_RM_I8, S_WDQ, K_BTI, OF | SF | AF | PF, true },
	{ "btr i8", 0, 1, 0xba, -1, 6, F_RM_I8, S_WDQ, K_BTI, OF | SF | AF | PF, true },
	{ "btc i8", 0, 1, 0xba, -1, 7, F_RM_I8, S_WDQ, K_BTI, OF | SF | AF | PF, true },
	{ "bsf", 0, 1, 0xbc, -1, -1, F_RM_R, S_WDQ, K_BSF, CF | OF | SF | AF | PF },
	{ "bsr", 0, 1, 0xbd, -1, -1, F_RM_R, S_WDQ, K_BSF, CF | OF | SF | AF | PF },
	{ "tzcnt", 0xf3, 1, 0xbc, -1, -1, F_RM_R, S_WDQ, K_PLAIN, OF | SF | AF | PF },
	{ "lzcnt", 0xf3, 1, 0xbd, -1, -1, F_RM_R, S_WDQ, K_PLAIN, OF | SF | AF | PF },
	{ "popcnt", 0xf3, 1, 0xb8, -1, -1, F_RM_R, S_WDQ, K_PLAIN, 0 },
	{ "cbw", 0, 0, 0x98, -1, -1, F_NONE, S_WDQ, K_PLAIN, 0 },
	{ "cwd", 0, 0, 0x99, -1, -1, F_NONE, S_WDQ, K_PLAIN, 0 },
	{ "clc", 0, 0, 0xf8, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "stc", 0, 0, 0xf9, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "cmc", 0, 0, 0xf5, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "cld", 0, 0, 0xfc, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "std", 0, 0, 0xfd, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "sahf", 0, 0, 0x9e, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "lahf", 0, 0, 0x9f, -1, -1, F_NONE, 4, K_PLAIN, 0 },
	{ "xchg rm,r", 0, 0, 0x87, 0x86, -1, F_RM_R, S_ALL, K_PLAIN, 0 },
	{ "xchg a,r", 0, 0, 0x90, -1, -1, F_OPREG, S_WDQ, K_PLAIN, 0 },
	{ "xadd", 0, 1, 0xc1, 0xc0, -1, F_RM_R, S_ALL, K_PLAIN, 0, true },
	{ "cmpxchg", 0, 1, 0xb1, 0xb0, -1, F_RM_R, S_ALL, K_PLAIN, 0, true },
	{ "cmpxchg8b", 0, 1, 0xc7, -1, 1, F_RM, 4, K_MEMONLY, 0, true },
	{ "cmpxchg16b", 0, 1, 0xc7, -1, 1, F_RM, 8, K_CX16, 0, true },
	{ "bswap", 0, 1, 0xc8, -1, -1, F_OPREG, S_DQ, K_PLAIN, 0 },
	{ "movbe load", 0, 2, 0xf0, -1, -1, F_RM_R, S_WDQ, K_MEMONLY, 0 },
	{ "movbe store", 0, 2, 0xf1, -1, -1, F_RM_R, S_WDQ, K_MEMONLY, 0 },
	{ "crc32", 0xf2, 2, 0xf1, 0xf0, -1, F_RM_R, S_ALL, K_PLAIN, 0 },
	{ "adcx", 0x66, 2, 0xf6, -1, -1, F_RM_R, S_DQ, K_PLAIN, 0 },
	{ "adox", 0xf3, 2, 0xf6, -1, -1, F_RM_R, S_DQ, K_PLAIN, 0 },
	{ "mov rm,r", 0, 0, 0x89, 0x88, -1, F_RM_R, S_ALL, K_PLAIN, 0 },
	{ "mov r,rm", 0, 0, 0x8b, 0x8a, -1, F_RM_R, S_ALL, K_PLAIN, 0 },
	{ "mov rm,iz", 0, 0, 0xc7, 0xc6, 0, F_RM_IZ, S_ALL, K_PLAIN, 0 },
	{ "mov r,imm", 0, 0, 0xb8, 0xb0, -1, F_OPREG_IV, S_ALL, K_PLAIN, 0 },
	{ "movzx b", 0, 1, 0xb6, -1, -1, F_RM_R, S_WDQ, K_PLAIN, 0 },
	{ "movzx w", 0, 1, 0xb7, -1, -1, F_RM_R, S_DQ, K_PLAIN, 0 },
	{ "movsx b", 0, 1, 0xbe, -1, -1, F_RM_R, S_WDQ, K_PLAIN, 0 },
	{ "movsx w", 0, 1, 0xbf, -1, -1, F_RM_R, S_DQ, K_PLAIN, 0 },
	{ "movsxd", 0, 0, 0x63, -1, -1, F_RM_R, 8, K_PLAIN, 0 },
	{ "lea", 0, 0, 0x8d, -1, -1, F_RM_R, S_WDQ, K_MEMONLY, 0 },
	{ "setcc", 0, 1, 0x90, 0x90, -1, F_RM_R, 1, K_PLAIN, 0 },
	{ "cmovcc", 0, 1, 0x40, -1, -1, F_RM_R, S_WDQ, K_PLAIN, 0 },
	{ "nop rm", 0, 1, 0x1f, -1, 0, F_RM, S_WDQ, K_PLAIN, 0 },
	{ "push/pop", 0, 0, 0x50, -1, -1, F_PUSHPOP, 0xa, K_PLAIN, 0 },
	{ "movs", 0, 0, 0xa5, 0xa4, -1, F_STR, S_ALL, K_PLAIN, 0 },
	{ "stos", 0, 0, 0xab, 0xaa, -1, F_STR, S_ALL, K_PLAIN, 0 },
	{ "lods", 0, 0, 0xad, 0xac, -1, F_STR, S_ALL, K_PLAIN, 0 },
	{ "cmps", 0, 0, 0xa7, 0xa6, -1, F_STR, S_ALL, K_PLAIN, 0 },
	{ "scas", 0, 0, 0xaf, 0xae, -1, F_STR, S_ALL, K_PLAIN, 0 },
	{ "enter", 0, 0, 0xc8, -1, -1, F_STACKOP, 0xa, K_PLAIN, 0 },
	{ "leave", 0, 0, 0xc9, -1, -1, F_STACKOP, 0xa, K_PLAIN, 0 },
	{ "pushf", 0, 0, 0x9c, -1, -1, F_STACKOP, 0xa, K_PLAIN, 0 },
	{ "popf", 0, 0, 0x9d, -1, -1, F_STACKOP, 0xa, K_PLAIN, 0 },
	{ "xlat", 0, 0, 0xd7, -1, -1, F_STACKOP, 8, K_PLAIN, 0 },
	{ "jcc rel8", 0, 0, 0x70, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	{ "jcc rel32", 0, 1, 0x80, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	{ "loopne", 0, 0, 0xe0, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	{ "loope", 0, 0, 0xe1, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	{ "loop", 0, 0, 0xe2, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	{ "jrcxz", 0, 0, 0xe3, -1, -1, F_BRANCH, 4, K_PLAIN, 0 },
	/* legacy-mode only (run in compatibility mode) */
	{ "daa", 0, 0, 0x27, -1, -1, F_NONE, 4, K_ONLY32, OF },
	{ "das", 0, 0, 0x2f, -1, -1, F_NONE, 4, K_ONLY32, OF },
	{ "aaa", 0, 0, 0x37, -1, -1, F_NONE, 4, K_ONLY32, OF | SF | ZF | PF },
	{ "aas", 0, 0, 0x3f, -1, -1, F_NONE, 4, K_ONLY32, OF | SF | ZF | PF },
	{ "aam", 0, 0, 0xd4, -1, -1, F_I8, 4, K_ONLY32, OF | AF | CF },
	{ "aad", 0, 0, 0xd5, -1, -1, F_I8, 4, K_ONLY32, OF | AF | CF },
	{ "inc r", 0, 0, 0x40, -1, -1, F_OPREG, S_WDQ & ~8, K_ONLY32, 0 },
	{ "dec r", 0, 0, 0x48, -1, -1, F_OPREG, S_WDQ & ~8, K_ONLY32, 0 },
	{ "pusha", 0, 0, 0x60, -1, -1, F_NONE, 6, K_ONLY32, 0 },
	{ "popa", 0, 0, 0x61, -1, -1, F_NONE, 6, K_ONLY32, 0 },
};

static bool host_intel;		/* the host is GenuineIntel (CPUID leaf 0) */
static bool force_strq;		/* gen(): F_STR as REP, 67h, ECX = 0 */

struct tcase {
	u8 code[32];
	int len;
	int target;		/* branch cases: offset of the taken target */
	u64 bsf_src;		/* BSF/BSR from memory: its address (0: none) */
	int bsf_reg, bsf_size;
	struct diff_regs in;
	u32 fmask;		/* flags to compare */
	u16 skip_regs;		/* GPRs not to compare */
	int strq_op;		/* REP string, 67h, ECX = 0 at the start: its opcode (else 0) */
	/* SSE cases: XMM0-15 and MXCSR in, a memory operand's contents */
	bool sse;
	bool mmx;		/* MM0-7 compared too */
	u8 mm[64];
	u8 xmm[256];
	u32 mxcsr;
	u64 memaddr;
	int memlen;
	u8 memval[16];
};

extern u8 native_xmm_in[256], native_xmm_out[256];
extern u32 native_mxcsr_in, native_mxcsr_out;
extern u8 native_mm_in[64], native_mm_out[64];

static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }

/* A register for an operand: never RSP (the stack stays valid). */
static int pick_reg(bool byte, bool *need_rex, int avoid1, int avoid2)
{
	for (;;) {
		int r = (int)(rnd() % (mode32 ? 8 : 16));
		if (r == 4 || r == avoid1 || r == avoid2)
			continue;
		if (byte && r >= 8)
			*need_rex = true;
		return r;
	}
}

/*
 * Build one case.  Return false if the combination is not generated
 * (e.g. a size the spec lacks).
 */
static bool gen(const struct spec *sp, int sz, struct tcase *t)
{
	u8 *p = t->code;
	int opsz_bytes = 1 << sz;
	bool byte = sz == 0, rex_w = sz == 3, need_rex = false, mem;
	bool lock = false, asz67 = false;
	int reg = -1, rm = -1, base = -1, index = -1, scale = 0, mod = 3;
	s32 disp = 0;
	bool sib = false, riprel = false, disp32_abs = false;
	u64 target = 0;
	u8 rex = 0;
	u32 undef = sp->undef;
	int imm_bytes = 0;
	u64 imm = 0;
	u8 opcode;
	int cond = (int)(rnd() % 16);

	memset(t, 0, sizeof(*t));
	for (int k = 0; k < 16; k++)
		t->in.gpr[k] = rnd_val();
	t->in.gpr[4] = STACK_TOP - (rnd() % 32) * 8;
	t->in.rflags = 2 | (rnd() & ALLF);
	t->in.rip = CODE;

	if (byte && sp->op_b < 0)
		return false;
	if (mode32 && sz == 3 && sp->form != F_STACKOP)
		return false;
	if (sp->form == F_STACKOP) {
		/* 64-bit code: sizes 16/64; 32-bit code: 16/32 */
		int osz16 = sz == 1;
		if (!mode32 && sz == 2)
			return false;
		if (mode32 && sz == 3)
			sz = 2;
		t->in.gpr[5] = DATA + 0x2000 + (rnd() % 64) * 8;
		t->in.gpr[3] = DATA + 0x100 + rnd() % 0x100;
		if (osz16)
			*p++ = 0x66;
		switch (sp->op) {
		case 0xc8:
			*p++ = 0xc8;
			*p++ = (u8)(rnd() % 64);
			*p++ = 0;
			*p++ = (u8)(rnd() % 6);
			break;
		case 0x9d: {
			/* push %rax; popf: no TF, AC, IF games (CPL3 natively) */
			u64 v = rnd() & ~(u64)(0x100 | 0x40000 | 0x200 | 0x3000 | 0x4000);
			t->in.gpr[0] = v;
			if (osz16)
				p--;	/* the 66h goes on both instructions */
			if (osz16)
				*p++ = 0x66;
			*p++ = 0x50;
			if (osz16)
				*p++ = 0x66;
			*p++ = 0x9d;
			break;
		}
		case 0x9c:
			*p++ = 0x9c;
			if (osz16)
				*p++ = 0x66;
			*p++ = 0x5a;	/* pop %rdx */
			break;
		default:
			*p++ = sp->op;
		}
		t->len = (int)(p - t->code);
		t->fmask = ALLF | DF;
		if (sp->op == 0x9c)
			t->skip_regs |= 1u << 2;	/* IF and reserved bits differ (CPL3) */
		return true;
	}
	if (sp->form == F_BRANCH) {
		static const u64 counts[] = { 0, 1, 2, 3, 0x100000000ull, 0x100000001ull, ~0ull };
		int cc = (int)(rnd() % 16);
		if (sp->op >= 0xe0 && (rnd() & 1))
			*p++ = 0x67;	/* ECX (CX in 32-bit code) as the counter */
		if (sp->map == 1) {
			*p++ = 0x0f;
			*p++ = (u8)(sp->op + cc);
			put32(p, 8);
			p += 4;
		} else {
			*p++ = (u8)(sp->op + (sp->op == 0x70 ? cc : 0));
			*p++ = 8;
		}
		t->in.gpr[1] = counts[rnd() % ARRAY_SIZE(counts)];
		t->len = (int)(p - t->code);
		t->target = t->len + 8;
		t->fmask = ALLF | DF;
		return true;
	}
	if (sp->form == F_I8) {
		*p++ = sp->op;
		*p++ = rnd() % 8 == 0 ? 0 : (rnd() % 3 == 0 ? 10 : (u8)rnd());
		t->len = (int)(p - t->code);
		t->fmask = (ALLF | DF) & ~undef;
		return true;
	}
	opcode = byte ? (u8)sp->op_b : sp->op;
	if (sp->form == F_STR) {
		bool rep = force_strq || (rnd() & 1);
		int opb = opcode;
		if (sz == 1)
			*p++ = 0x66;
		if (rep)
			*p++ = (opb == 0xa6 || opb == 0xa7 || opb == 0xae || opb == 0xaf) && (rnd() & 1) ? 0xf2 : 0xf3;
		if (rex_w)
			*p++ = 0x48;
		*p++ = opcode;
		t->in.gpr[6] = DATA + 0x800 + rnd() % 0x400;
		t->in.gpr[7] = DATA + 0x1800 + rnd() % 0x400;
		t->in.gpr[1] = rnd() % 24;
		if (!mode32 && (force_strq || rnd() % 4 == 0)) {
			/* 67h: ESI, EDI, ECX (upper halves are ignored) */
			memmove(t->code + 1, t->code, (size_t)(p - t->code));
			t->code[0] = 0x67;
			p++;
			t->in.gpr[6] |= rnd() << 32;
			t->in.gpr[7] |= rnd() << 32;
			t->in.gpr[1] |= rnd() << 32;
			if (force_strq)	/* ECX = 0, nonzero upper halves */
				t->in.gpr[1] = (rnd() | 1) << 32;
			if (rep && (u32)t->in.gpr[1] == 0)
				t->strq_op = opb;
			if (force_strq) {
				t->in.gpr[6] |= 1ull << 32;
				t->in.gpr[7] |= 1ull << 32;
			}
		}
		if (rnd() & 1)
			t->in.rflags |= DF;
		/* make equal runs likely for CMPS/SCAS */
		t->len = (int)(p - t->code);
		t->fmask = ALLF | DF;
		return true;
	}
	if (sp->form == F_NONE) {
		if (sz == 1)
			*p++ = 0x66;
		if (rex_w)
			*p++ = 0x48;
		*p++ = opcode;
		t->len = (int)(p - t->code);
		t->fmask = (ALLF | DF) & ~undef;
		if (opcode == 0xfd || opcode == 0xfc)
			t->fmask |= DF;
		return true;
	}
	if (sp->form == F_PUSHPOP) {
		/* push r; pop r2 (or push imm; pop r) */
		int r1 = pick_reg(false, &need_rex, -1, -1), r2 = pick_reg(false, &need_rex, -1, -1);
		if (sz == 1)
			*p++ = 0x66;
		if (r1 >= 8)
			*p++ = 0x41;
		*p++ = 0x50 + (r1 & 7);
		if (sz == 1)
			*p++ = 0x66;
		if (r2 >= 8)
			*p++ = 0x41;
		*p++ = 0x58 + (r2 & 7);
		t->len = (int)(p - t->code);
		t->fmask = ALLF;
		return true;
	}
	if (sp->form == F_OPREG || sp->form == F_OPREG_IV) {
		int r = pick_reg(byte, &need_rex, -1, -1);
		if (sp->op == 0x90 && r == 0)
			r = 1;
		if (sz == 1)
			*p++ = 0x66;
		if (!mode32 && (rex_w || r >= 8 || (byte && (rnd() & 1))))
			*p++ = (u8)(0x40 | (rex_w ? 8 : 0) | (r >= 8 ? 1 : 0));
		if (sp->map == 1)
			*p++ = 0x0f;
		*p++ = (u8)(opcode + (r & 7));
		if (sp->form == F_OPREG_IV) {
			int n = sz == 3 ? 8 : opsz_bytes;
			u64 v = rnd_val();
			memcpy(p, &v, n);
			p += n;
		}
		t->len = (int)(p - t->code);
		t->fmask = ALLF;
		return true;
	}

	/* ModRM forms */
	mem = (sp->kind == K_MEMONLY || sp->kind == K_CX16) ? true : (rnd() % 3) != 0;
	if (sp->form == F_RM_R || sp->form == F_RM_R_I8 || sp->form == F_RM_R_IZ)
		reg = pick_reg(byte, &need_rex, -1, -1);
	else
		reg = sp->digit;
	if (sp->map == 1 && sp->op == 0x1f)
		reg = 0;
	if (!mem) {
		rm = pick_reg(byte, &need_rex, -1, -1);
		if (sp->uses_cl && rm == 1)
			rm = 3;
		if (reg >= 0 && sp->uses_cl && reg == 1 && sp->form == F_RM_R)
			reg = 2;
	} else {
		u64 off = 0x100 + rnd() % 0x1e00;
		u64 addr;
		if (sp->kind == K_CX16)
			off &= ~15ull;
		addr = DATA + off;
		target = addr;
		switch (rnd() % 4) {
		case 3:
			if (!mode32)
				goto riprel_case;
			/* [disp32] without SIB: absolute in 32-bit code */
			mod = 0; rm = 5; disp = (s32)addr; disp32_abs = true;
			break;
		case 0:	/* [disp32] */
			mod = 0; rm = 4; sib = true; base = 5; index = 4; disp = (s32)addr;
			disp32_abs = true;
			break;
		case 1:	/* [base + disp8] */
			do
				base = pick_reg(false, &need_rex, reg, 1);
			while (base == 0 || base == 2 || (base & 7) == 4);
			disp = (s8)rnd();
			mod = 1;
			rm = base;
			t->in.gpr[base] = addr - disp;
			if (!mode32 && rnd() % 4 == 0) {
				asz67 = true;
				t->in.gpr[base] = (rnd() << 32) | (u32)(addr - disp);
			}
			break;
		case 2:	/* [base + index*scale + disp32] */
			do
				base = pick_reg(false, &need_rex, reg, 1);
			while (base == 0 || base == 2);
			do
				index = pick_reg(false, &need_rex, reg, base);
			while (index == 0 || index == 1 || index == 2);
			scale = (int)(rnd() % 4);
			disp = (s32)(rnd() % 0x100) - 0x80;
			mod = 2;
			rm = 4;
			sib = true;
			t->in.gpr[index] = rnd() % 32;
			t->in.gpr[base] = addr - disp - (t->in.gpr[index] << scale);
			break;
		default:	/* RIP-relative */
riprel_case:
			mod = 0; rm = 5; riprel = true;
			break;
		}
	}
	if (sp->kind == K_BT && mem)
		t->in.gpr[reg] = (u64)((s64)(rnd() % 512) - 128);
	if (sp->uses_cl) {
		t->in.gpr[1] = rnd() % 3 == 0 ? rnd() % 70 : rnd() & 0xff;
		if (sp->kind == K_SHXD && sz == 1)
			t->in.gpr[1] = rnd() % 17;
	}
	if (sp->kind == K_DIV && rnd() % 3) {
		/* mostly valid divisions: a small high half */
		t->in.gpr[2] = rnd() % 3 == 0 ? ~0ull : rnd() % 4;
		if (byte)
			t->in.gpr[0] = (t->in.gpr[0] & ~0xff00ull) | ((rnd() % 4) << 8);
	}
	/* prefixes */
	if (sp->form == F_RM_I8 || sp->form == F_RM_R_I8) {
		imm_bytes = 1;
		imm = rnd() & 0xff;
		if ((sp->kind == K_SHXD) && sz == 1)
			imm = rnd() % 17;
	} else if (sp->form == F_RM_IZ || sp->form == F_RM_R_IZ || sp->form == F_A_IZ) {
		imm_bytes = byte ? 1 : sz == 1 ? 2 : 4;
		imm = rnd_val();
	}
	if (sp->form == F_A_IZ) {
		/* accumulator form: no ModRM */
		if (sz == 1)
			*p++ = 0x66;
		if (rex_w)
			*p++ = 0x48;
		*p++ = opcode;
		memcpy(p, &imm, imm_bytes);
		p += imm_bytes;
		t->len = (int)(p - t->code);
		t->fmask = ALLF & ~undef;
		return true;
	}
	if (sp->lock && mem && rnd() % 4 == 0)
		lock = true;
	if (lock)
		*p++ = 0xf0;
	if (sz == 1 && sp->pfx != 0x66)
		*p++ = 0x66;
	if (sp->pfx)
		*p++ = sp->pfx;
	if (asz67)
		*p++ = 0x67;
	if (reg >= 8)
		rex |= 4;
	if (mod == 3 && rm >= 8)
		rex |= 1;
	if (mod != 3 && !riprel && !disp32_abs) {
		if (base >= 8)
			rex |= 1;
		if (index >= 8)
			rex |= 2;
	}
	if (rex_w)
		rex |= 8;
	if (mode32)
		;	/* no REX in 32-bit code */
	else if (rex || need_rex || (byte && (rnd() & 1)))
		*p++ = 0x40 | rex;
	else if (byte) {
		/* no REX: registers 4-7 are AH, CH, DH, BH */
	}
	if (sp->map >= 1)
		*p++ = 0x0f;
	if (sp->map == 2)
		*p++ = 0x38;
	*p++ = (u8)(opcode + ((sp->op == 0x40 || sp->op == 0x90) && sp->map == 1 ? cond : 0));
	*p++ = (u8)((mod << 6) | ((reg & 7) << 3) | (rm & 7));
	if (sib)
		*p++ = (u8)((scale << 6) | ((index & 7) << 3) | (base & 7));
	if (mod == 1)
		*p++ = (u8)disp;
	else if (mod == 2 || disp32_abs)
		put32(p, (u32)disp), p += 4;
	else if (riprel) {
		u8 *dp = p;
		p += 4;
		memcpy(p, &imm, imm_bytes);
		p += imm_bytes;
		put32(dp, (u32)(s32)(target - (CODE + (p - t->code))));
		goto done;
	}
	memcpy(p, &imm, imm_bytes);
	p += imm_bytes;
done:
	t->len = (int)(p - t->code);
	if (lock && !mem)
		return false;

	/* flags the SDM leaves undefined for this instance */
	if (sp->kind == K_SHIFT || sp->kind == K_SHXD) {
		unsigned cnt = sp->uses_cl ? (u8)t->in.gpr[1] : (sp->op == 0xd1 ? 1 : (u8)imm);
		unsigned bits = 8u << sz, masked = cnt & (sz == 3 ? 63 : 31);
		int d = sp->digit;
		if (masked) {
			if (masked != 1)
				undef |= OF;
			if (sp->kind == K_SHXD || d >= 4)
				undef |= AF;
			if (d >= 4 && masked >= bits)
				undef |= CF;
		}
	}
	if (sp->kind == K_BSF) {
		u64 src;
		if (mem)
			src = 0;	/* decided after the data is filled: see run_case */
		else
			src = t->in.gpr[rm] & ((sz == 3) ? ~0ull : ((1ull << (8 << sz)) - 1));
		if (!mem && src == 0)
			t->skip_regs |= 1u << reg;
		if (mem) {
			/* the destination is unchanged/undefined only for a zero source */
			t->bsf_src = target;
			t->bsf_reg = reg;
			t->bsf_size = opsz_bytes;
		}
	}
	t->fmask = (ALLF | DF) & ~undef;
	return true;
}

static void fill_data(u64 seed)
{
	u64 save = rng;
	rng = seed | 1;
	for (int k = 0; k < DATA_SIZE; k += 8) {
		u64 v = rnd_val();
		memcpy(ndata + k, &v, 8);
	}
	memcpy(sdata, ndata, DATA_SIZE);
	rng = save;
}

static const char *vec_of(int sig)
{
	return sig == SIGFPE ? "#DE" : sig == SIGILL ? "#UD" : sig == SIGSEGV ? "#GP/#PF" : "?";
}

static int sig_to_vec(int sig)
{
	return sig == SIGFPE ? 0 : sig == SIGILL ? 6 : sig == SIGSEGV ? 13 : -1;
}

/* Run one case on both sides; return 0 if they agree. */
static int run_case(const char *name, struct tcase *t, int n)
{
	struct cpu_state *st = cpu_state(S.c);
	struct diff_regs nat;
	enum cpu_exit e;
	int nsig, fails = 0;
	static const char *rn[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				      "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

	fill_data(rnd());
	if (t->memlen) {
		memcpy(ndata + (t->memaddr - DATA), t->memval, t->memlen);
		memcpy(sdata + (t->memaddr - DATA), t->memval, t->memlen);
	}
	memcpy(native_xmm_in, t->xmm, 256);
	native_mxcsr_in = t->sse ? t->mxcsr : 0x1f80;
	memcpy(st->fpu.fxsave + 160, t->xmm, 256);
	memcpy(st->fpu.fxsave + 24, &native_mxcsr_in, 4);
	/* MM0-7: the mantissas of R0-R7 with TOP = 0, every register valid */
	memcpy(native_mm_in, t->mm, 64);
	memset(st->fpu.fxsave, 0, 24);
	st->fpu.fxsave[0] = 0x7f;
	st->fpu.fxsave[1] = 0x03;
	st->fpu.fxsave[4] = 0xff;
	for (int k = 0; k < 8; k++) {
		memcpy(st->fpu.fxsave + 32 + 16 * k, t->mm + 8 * k, 8);
		memset(st->fpu.fxsave + 32 + 16 * k + 8, 0xff, 2);
	}
	if (t->bsf_src) {
		u64 v = 0;
		memcpy(&v, ndata + (t->bsf_src - DATA), t->bsf_size);
		if (v == 0)
			t->skip_regs |= 1u << t->bsf_reg;
	}
	memcpy(ncode, t->code, t->len);
	if (mode32) {
		/* ljmp $0x33, $CODE+0x700, where a 64-bit "jmp *RET_SLOT" waits */
		ncode[t->len] = 0xea;
		put32(ncode + t->len + 1, (u32)(CODE + 0x700));
		ncode[t->len + 5] = 0x33;
		ncode[t->len + 6] = 0;
	} else {
		ncode[t->len] = 0xff;	/* jmp *RET_SLOT */
		ncode[t->len + 1] = 0x24;
		ncode[t->len + 2] = 0x25;
		put32(ncode + t->len + 3, (u32)RET_SLOT);
	}
	memcpy(scode, t->code, t->len);
	scode[t->len] = 0xf4;	/* hlt */
	if (t->target) {
		/* the taken path: its own way back natively, a HLT on silicon */
		u8 *q = ncode + t->target;
		if (mode32) {
			q[0] = 0xea;
			put32(q + 1, (u32)(CODE + 0x710));
			q[5] = 0x33;
			q[6] = 0;
		} else {
			q[0] = 0xff;
			q[1] = 0x24;
			q[2] = 0x25;
			put32(q + 3, (u32)RET_SLOT2);
		}
		scode[t->target] = 0xf4;
	}
	native_taken = 0;
	cpu_code_written(scode, 64);

	fault_sig = 0;
	if (sigsetjmp(fault_env, 1) == 0) {
		if (mode32)
			native_exec32(&t->in);
		else
			native_exec(&t->in);
		nat = native_out;
		nsig = 0;
	} else {
		nat = fault_regs;
		nsig = fault_sig;
	}

	memcpy(st->gpr, t->in.gpr, sizeof(st->gpr));
	st->rflags = t->in.rflags | CPU_FLAG_IF;	/* as in user mode natively */
	st->rip = CODE;
	/* 64-bit or 32-bit (compatibility mode) code at CPL0 */
	st->seg[CPU_SEG_CS] = mode32 ? (struct cpu_seg){ 0, 0xffffffff, 0xc09b, 0x18 }
				     : (struct cpu_seg){ 0, 0xffffffff, 0xa09b, 0x08 };
	st->activity = CPU_ACTIVE;
	cpu_state_changed(S.c);
	e = cpu_run(S.c, 10000);
	if (e != CPU_EXIT_HLT) {
		printf("     %s #%d: silicon exit %d at %#llx\n", name, n, e, (unsigned long long)st->rip);
		return 1;
	}
	if (nsig) {
		/* silicon must have taken the same exception at the same place */
		u64 sp = st->gpr[4], vec = 0, frip = 0;
		u8 *stack = sdata + (sp - DATA);
		int want = sig_to_vec(nsig);
		if (t->sse && nsig == SIGFPE)
			want = 19;	/* #XM */
		if (sp >= DATA && sp + 32 <= DATA + DATA_SIZE) {
			memcpy(&vec, stack, 8);
			memcpy(&frip, stack + ((want == 13 || want == 14) ? 16 : 8), 8);
		}
		if ((int)vec != want && !(want == 13 && vec == 14)) {
			printf("     %s #%d: native %s at %#llx, silicon vector %llu (rip %#llx) code", name, n,
			       vec_of(nsig), (unsigned long long)nat.rip, (unsigned long long)vec,
			       (unsigned long long)st->rip);
			for (int k = 0; k < t->len; k++)
				printf(" %02x", t->code[k]);
			printf("\n");
			return 1;
		}
		if (frip != CODE) {
			printf("     %s #%d: fault rip %#llx\n", name, n, (unsigned long long)frip);
			fails++;
		}
		for (int k = 0; k < (mode32 ? 8 : 16); k++) {
			if (k == 4 || (t->skip_regs & (1u << k)))
				continue;
			if ((nat.gpr[k] ^ st->gpr[k]) & (mode32 ? 0xffffffffull : ~0ull)) {
				printf("     %s #%d: after fault %s native %#llx silicon %#llx\n", name, n,
				       rn[k], (unsigned long long)nat.gpr[k], (unsigned long long)st->gpr[k]);
				fails++;
			}
		}
		return fails;
	}
	if (t->target) {
		bool staken = st->rip == CODE + t->target + 1;
		if (!staken && st->rip != CODE + t->len + 1) {
			printf("     %s #%d: silicon stopped at %#llx\n", name, n,
			       (unsigned long long)st->rip);
			return 1;
		}
		if (staken != !!native_taken) {
			printf("     %s #%d: native %s, silicon %s\n", name, n,
			       native_taken ? "taken" : "not taken", staken ? "taken" : "not taken");
			fails++;
		}
	} else if (st->rip != CODE + t->len + 1) {
		u64 vec = 0;
		memcpy(&vec, sdata + (st->gpr[4] - DATA) % DATA_SIZE, 8);
		printf("     %s #%d: silicon stopped at %#llx (exception %llu?), native ran\n", name, n,
		       (unsigned long long)st->rip, (unsigned long long)vec);
		return 1;
	}
	if (t->strq_op && !host_intel) {
		/*
		 * A REP string instruction with 67h and ECX = 0: Intel hosts
		 * set RCX = 0, MOVS zero-extends RSI and RDI from 32 bits, STOS
		 * RDI (silicon reports GenuineIntel and does this, as KVM's
		 * string_registers_quirk()); AMD hosts leave them unchanged.
		 * On a non-Intel host compare those against the Intel rule.
		 */
		nat.gpr[1] = 0;
		if (t->strq_op == 0xa4 || t->strq_op == 0xa5)
			nat.gpr[6] = (u32)t->in.gpr[6];
		if (t->strq_op == 0xa4 || t->strq_op == 0xa5 || t->strq_op == 0xaa || t->strq_op == 0xab)
			nat.gpr[7] = (u32)t->in.gpr[7];
	}
	for (int k = 0; k < (mode32 ? 8 : 16); k++) {
		if (t->skip_regs & (1u << k))
			continue;
		if ((nat.gpr[k] ^ st->gpr[k]) & (mode32 ? 0xffffffffull : ~0ull)) {
			printf("     %s #%d: %s native %#llx silicon %#llx\n", name, n, rn[k],
			       (unsigned long long)nat.gpr[k], (unsigned long long)st->gpr[k]);
			fails++;
		}
	}
	if ((nat.rflags ^ st->rflags) & t->fmask) {
		printf("     %s #%d: flags native %#llx silicon %#llx (mask %#x)\n", name, n,
		       (unsigned long long)nat.rflags, (unsigned long long)st->rflags, t->fmask);
		fails++;
	}
	if (t->sse) {
		u32 smx;
		memcpy(&smx, st->fpu.fxsave + 24, 4);
		for (int k = 0; k < 16; k++) {
			if (!memcmp(native_xmm_out + 16 * k, st->fpu.fxsave + 160 + 16 * k, 16))
				continue;
			printf("     %s #%d: xmm%d native", name, n, k);
			for (int b = 15; b >= 0; b--)
				printf("%s%02x", b % 4 == 3 ? " " : "", native_xmm_out[16 * k + b]);
			printf(" silicon");
			for (int b = 15; b >= 0; b--)
				printf("%s%02x", b % 4 == 3 ? " " : "", st->fpu.fxsave[160 + 16 * k + b]);
			printf("\n");
			fails++;
		}
		for (int k = 0; t->mmx && k < 8; k++) {
			if (!memcmp(native_mm_out + 8 * k, st->fpu.fxsave + 32 + 16 * k, 8))
				continue;
			printf("     %s #%d: mm%d native %016llx silicon %016llx\n", name, n, k,
			       *(unsigned long long *)(native_mm_out + 8 * k),
			       *(unsigned long long *)(st->fpu.fxsave + 32 + 16 * k));
			fails++;
		}
		if (smx != native_mxcsr_out) {
			printf("     %s #%d: mxcsr native %#x silicon %#x (in %#x)\n", name, n,
			       native_mxcsr_out, smx, t->mxcsr);
			fails++;
		}
	}
	if (memcmp(ndata, sdata, DATA_SIZE)) {
		for (int k = 0; k < DATA_SIZE; k++)
			if (ndata[k] != sdata[k]) {
				printf("     %s #%d: memory at %#llx native %02x silicon %02x\n", name, n,
				       (unsigned long long)(DATA + k), ndata[k], sdata[k]);
				break;
			}
		fails++;
	}
	if (fails) {
		printf("     code:");
		for (int k = 0; k < t->len; k++)
			printf(" %02x", t->code[k]);
		printf("\n     in:");
		for (int k = 0; k < 16; k++)
			printf(" %s=%#llx", rn[k], (unsigned long long)t->in.gpr[k]);
		printf(" fl=%#llx\n", (unsigned long long)t->in.rflags);
		if (t->sse) {
			printf("     mxcsr=%#x xmm:", t->mxcsr);
			for (int k = 0; k < 16; k++) {
				u64 q[2];
				memcpy(q, t->xmm + 16 * k, 16);
				printf(" %d=%016llx%016llx", k, (unsigned long long)q[1],
				       (unsigned long long)q[0]);
			}
			printf("\n");
			if (t->memlen) {
				printf("     mem at %#llx:", (unsigned long long)t->memaddr);
				for (int k = t->memlen - 1; k >= 0; k--)
					printf("%02x", t->memval[k]);
				printf("\n");
			}
		}
	}
	return fails;
}

/* ---- SSE/SSE2 cases: XMM registers and MXCSR compared too ---- */

enum { RK_X, RK_G };			/* operand kinds: xmm or general register */
enum { M_ANY, M_MEM, M_REG };		/* r/m: memory or register, memory only, register only */
enum { V_INT, V_PS, V_PD, V_SI };	/* what to put in the lanes */

struct sse_spec {
	const char *name;
	u8 pfx;		/* 0, 0x66, 0xf3, 0xf2 */
	u8 op;		/* 0F xx */
	s8 digit;	/* ModRM.reg of the shift groups, -1 if none */
	u8 regk, rmk;	/* RK_* of ModRM.reg and ModRM.rm */
	u8 mem;		/* M_* */
	u8 msz;		/* memory operand size */
	bool align;	/* a 16-byte memory operand must be aligned */
	bool imm;	/* imm8 follows */
	u8 val;		/* V_* */
	bool flags;	/* sets ZF/PF/CF (COMIS*) */
	bool mmx;	/* an MMX form: MM0-7 compared (ModRM registers & 7) */
};

#define SX(n, p, o, v) { n, p, o, -1, RK_X, RK_X, M_ANY, 16, true, false, v, false }
#define SS(n, p, o, sz, v) { n, p, o, -1, RK_X, RK_X, M_ANY, sz, false, false, v, false }
static const struct sse_spec sse_specs[] = {
	/* data movement */
	SS("movups", 0, 0x10, 16, V_INT), SS("movupd", 0x66, 0x10, 16, V_INT),
	SS("movss", 0xf3, 0x10, 4, V_INT), SS("movsd", 0xf2, 0x10, 8, V_INT),
	SS("movups st", 0, 0x11, 16, V_INT), SS("movss st", 0xf3, 0x11, 4, V_INT),
	SS("movsd st", 0xf2, 0x11, 8, V_INT),
	SS("movlps/movhlps", 0, 0x12, 8, V_INT), SS("movhps/movlhps", 0, 0x16, 8, V_INT),
	{ "movlpd", 0x66, 0x12, -1, RK_X, RK_X, M_MEM, 8, false, false, V_INT, false },
	{ "movhpd", 0x66, 0x16, -1, RK_X, RK_X, M_MEM, 8, false, false, V_INT, false },
	{ "movlps st", 0, 0x13, -1, RK_X, RK_X, M_MEM, 8, false, false, V_INT, false },
	{ "movhps st", 0, 0x17, -1, RK_X, RK_X, M_MEM, 8, false, false, V_INT, false },
	SX("movaps", 0, 0x28, V_INT), SX("movapd", 0x66, 0x28, V_INT),
	SX("movaps st", 0, 0x29, V_INT),
	{ "movntps", 0, 0x2b, -1, RK_X, RK_X, M_MEM, 16, true, false, V_INT, false },
	{ "movntdq", 0x66, 0xe7, -1, RK_X, RK_X, M_MEM, 16, true, false, V_INT, false },
	SX("movdqa", 0x66, 0x6f, V_INT), SS("movdqu", 0xf3, 0x6f, 16, V_INT),
	SX("movdqa st", 0x66, 0x7f, V_INT), SS("movdqu st", 0xf3, 0x7f, 16, V_INT),
	{ "movd/q x,rm", 0x66, 0x6e, -1, RK_X, RK_G, M_ANY, 8, false, false, V_INT, false },
	{ "movd/q rm,x", 0x66, 0x7e, -1, RK_X, RK_G, M_ANY, 8, false, false, V_INT, false },
	SS("movq x,xm", 0xf3, 0x7e, 8, V_INT), SS("movq xm,x", 0x66, 0xd6, 8, V_INT),
	{ "movnti", 0, 0xc3, -1, RK_G, RK_G, M_MEM, 8, false, false, V_INT, false },
	{ "pmovmskb", 0x66, 0xd7, -1, RK_G, RK_X, M_REG, 16, false, false, V_INT, false },
	{ "movmskps", 0, 0x50, -1, RK_G, RK_X, M_REG, 16, false, false, V_INT, false },
	{ "movmskpd", 0x66, 0x50, -1, RK_G, RK_X, M_REG, 16, false, false, V_INT, false },
	{ "pextrw", 0x66, 0xc5, -1, RK_G, RK_X, M_REG, 16, false, true, V_INT, false },
	{ "pinsrw", 0x66, 0xc4, -1, RK_X, RK_G, M_ANY, 2, false, true, V_INT, false },
	/* logic */
	SX("pand", 0x66, 0xdb, V_INT), SX("pandn", 0x66, 0xdf, V_INT), SX("por", 0x66, 0xeb, V_INT),
	SX("pxor", 0x66, 0xef, V_INT), SX("andps", 0, 0x54, V_PS), SX("andnpd", 0x66, 0x55, V_PD),
	SX("orps", 0, 0x56, V_PS), SX("xorps", 0, 0x57, V_PS), SX("xorpd", 0x66, 0x57, V_PD),
	/* packed integer */
	SX("paddb", 0x66, 0xfc, V_INT), SX("paddw", 0x66, 0xfd, V_INT), SX("paddd", 0x66, 0xfe, V_INT),
	SX("paddq", 0x66, 0xd4, V_INT), SX("psubb", 0x66, 0xf8, V_INT), SX("psubw", 0x66, 0xf9, V_INT),
	SX("psubd", 0x66, 0xfa, V_INT), SX("psubq", 0x66, 0xfb, V_INT),
	SX("paddsb", 0x66, 0xec, V_INT), SX("paddsw", 0x66, 0xed, V_INT),
	SX("paddusb", 0x66, 0xdc, V_INT), SX("paddusw", 0x66, 0xdd, V_INT),
	SX("psubsb", 0x66, 0xe8, V_INT), SX("psubsw", 0x66, 0xe9, V_INT),
	SX("psubusb", 0x66, 0xd8, V_INT), SX("psubusw", 0x66, 0xd9, V_INT),
	SX("pcmpeqb", 0x66, 0x74, V_INT), SX("pcmpeqw", 0x66, 0x75, V_INT),
	SX("pcmpeqd", 0x66, 0x76, V_INT), SX("pcmpgtb", 0x66, 0x64, V_INT),
	SX("pcmpgtw", 0x66, 0x65, V_INT), SX("pcmpgtd", 0x66, 0x66, V_INT),
	SX("pmullw", 0x66, 0xd5, V_INT), SX("pmulhw", 0x66, 0xe5, V_INT),
	SX("pmulhuw", 0x66, 0xe4, V_INT), SX("pmuludq", 0x66, 0xf4, V_INT),
	SX("pmaddwd", 0x66, 0xf5, V_INT), SX("psadbw", 0x66, 0xf6, V_INT),
	SX("pminub", 0x66, 0xda, V_INT), SX("pmaxub", 0x66, 0xde, V_INT),
	SX("pminsw", 0x66, 0xea, V_INT), SX("pmaxsw", 0x66, 0xee, V_INT),
	SX("pavgb", 0x66, 0xe0, V_INT), SX("pavgw", 0x66, 0xe3, V_INT),
	SX("psllw", 0x66, 0xf1, V_INT), SX("pslld", 0x66, 0xf2, V_INT), SX("psllq", 0x66, 0xf3, V_INT),
	SX("psrlw", 0x66, 0xd1, V_INT), SX("psrld", 0x66, 0xd2, V_INT), SX("psrlq", 0x66, 0xd3, V_INT),
	SX("psraw", 0x66, 0xe1, V_INT), SX("psrad", 0x66, 0xe2, V_INT),
#define SHI(n, o, d) { n, 0x66, o, d, RK_X, RK_X, M_REG, 16, false, true, V_INT, false }
	SHI("psrlw i", 0x71, 2), SHI("psraw i", 0x71, 4), SHI("psllw i", 0x71, 6),
	SHI("psrld i", 0x72, 2), SHI("psrad i", 0x72, 4), SHI("pslld i", 0x72, 6),
	SHI("psrlq i", 0x73, 2), SHI("psrldq", 0x73, 3), SHI("psllq i", 0x73, 6),
	SHI("pslldq", 0x73, 7),
	SX("punpcklbw", 0x66, 0x60, V_INT), SX("punpcklwd", 0x66, 0x61, V_INT),
	SX("punpckldq", 0x66, 0x62, V_INT), SX("punpcklqdq", 0x66, 0x6c, V_INT),
	SX("punpckhbw", 0x66, 0x68, V_INT), SX("punpckhwd", 0x66, 0x69, V_INT),
	SX("punpckhdq", 0x66, 0x6a, V_INT), SX("punpckhqdq", 0x66, 0x6d, V_INT),
	SX("packsswb", 0x66, 0x63, V_INT), SX("packssdw", 0x66, 0x6b, V_INT),
	SX("packuswb", 0x66, 0x67, V_INT),
	SX("unpcklps", 0, 0x14, V_PS), SX("unpckhpd", 0x66, 0x15, V_PD),
#define SXI(n, p, o, v) { n, p, o, -1, RK_X, RK_X, M_ANY, 16, true, true, v, false }
	SXI("pshufd", 0x66, 0x70, V_INT), { "pshuflw", 0xf2, 0x70, -1, RK_X, RK_X, M_ANY, 16, true, true, V_INT, false },
	{ "pshufhw", 0xf3, 0x70, -1, RK_X, RK_X, M_ANY, 16, true, true, V_INT, false },
	SXI("shufps", 0, 0xc6, V_PS), SXI("shufpd", 0x66, 0xc6, V_PD),
	/* floating point */
#define FP4(n, o)								\
	SX(n "ps", 0, o, V_PS), SX(n "pd", 0x66, o, V_PD),			\
	SS(n "ss", 0xf3, o, 4, V_PS), SS(n "sd", 0xf2, o, 8, V_PD)
	FP4("add", 0x58), FP4("sub", 0x5c), FP4("mul", 0x59), FP4("div", 0x5e),
	FP4("min", 0x5d), FP4("max", 0x5f), FP4("sqrt", 0x51),
	SXI("cmpps", 0, 0xc2, V_PS), SXI("cmppd", 0x66, 0xc2, V_PD),
	{ "cmpss", 0xf3, 0xc2, -1, RK_X, RK_X, M_ANY, 4, false, true, V_PS, false },
	{ "cmpsd", 0xf2, 0xc2, -1, RK_X, RK_X, M_ANY, 8, false, true, V_PD, false },
	{ "comiss", 0, 0x2f, -1, RK_X, RK_X, M_ANY, 4, false, false, V_PS, true },
	{ "ucomiss", 0, 0x2e, -1, RK_X, RK_X, M_ANY, 4, false, false, V_PS, true },
	{ "comisd", 0x66, 0x2f, -1, RK_X, RK_X, M_ANY, 8, false, false, V_PD, true },
	{ "ucomisd", 0x66, 0x2e, -1, RK_X, RK_X, M_ANY, 8, false, false, V_PD, true },
	SS("cvtps2pd", 0, 0x5a, 8, V_PS), SX("cvtpd2ps", 0x66, 0x5a, V_PD),
	SS("cvtss2sd", 0xf3, 0x5a, 4, V_PS), SS("cvtsd2ss", 0xf2, 0x5a, 8, V_PD),
	SX("cvtdq2ps", 0, 0x5b, V_INT), SX("cvtps2dq", 0x66, 0x5b, V_PS),
	SX("cvttps2dq", 0xf3, 0x5b, V_PS), SX("cvttpd2dq", 0x66, 0xe6, V_PD),
	SS("cvtdq2pd", 0xf3, 0xe6, 8, V_INT), SX("cvtpd2dq", 0xf2, 0xe6, V_PD),
	{ "cvtsi2ss", 0xf3, 0x2a, -1, RK_X, RK_G, M_ANY, 8, false, false, V_PS, false },
	{ "cvtsi2sd", 0xf2, 0x2a, -1, RK_X, RK_G, M_ANY, 8, false, false, V_PD, false },
	{ "cvtss2si", 0xf3, 0x2d, -1, RK_G, RK_X, M_ANY, 4, false, false, V_PS, false },
	{ "cvttss2si", 0xf3, 0x2c, -1, RK_G, RK_X, M_ANY, 4, false, false, V_PS, false },
	{ "cvtsd2si", 0xf2, 0x2d, -1, RK_G, RK_X, M_ANY, 8, false, false, V_PD, false },
	{ "cvttsd2si", 0xf2, 0x2c, -1, RK_G, RK_X, M_ANY, 8, false, false, V_PD, false },
	/* MMX forms */
#define MX(n, o) { "mmx " n, 0, o, -1, RK_X, RK_X, M_ANY, 8, false, false, V_INT, false, true }
#define MXL(n, o) { "mmx " n, 0, o, -1, RK_X, RK_X, M_ANY, 4, false, false, V_INT, false, true }
	MX("paddb", 0xfc), MX("paddw", 0xfd), MX("paddd", 0xfe), MX("paddq", 0xd4),
	MX("psubb", 0xf8), MX("psubw", 0xf9), MX("psubd", 0xfa), MX("psubq", 0xfb),
	MX("paddsb", 0xec), MX("paddsw", 0xed), MX("paddusb", 0xdc), MX("paddusw", 0xdd),
	MX("psubsb", 0xe8), MX("psubsw", 0xe9), MX("psubusb", 0xd8), MX("psubusw", 0xd9),
	MX("pcmpeqb", 0x74), MX("pcmpeqw", 0x75), MX("pcmpeqd", 0x76),
	MX("pcmpgtb", 0x64), MX("pcmpgtw", 0x65), MX("pcmpgtd", 0x66),
	MX("pmullw", 0xd5), MX("pmulhw", 0xe5), MX("pmulhuw", 0xe4), MX("pmuludq", 0xf4),
	MX("pmaddwd", 0xf5), MX("psadbw", 0xf6), MX("pminub", 0xda), MX("pmaxub", 0xde),
	MX("pminsw", 0xea), MX("pmaxsw", 0xee), MX("pavgb", 0xe0), MX("pavgw", 0xe3),
	MX("pand", 0xdb), MX("pandn", 0xdf), MX("por", 0xeb), MX("pxor", 0xef),
	MX("psllw", 0xf1), MX("pslld", 0xf2), MX("psllq", 0xf3), MX("psrlw", 0xd1),
	MX("psrld", 0xd2), MX("psrlq", 0xd3), MX("psraw", 0xe1), MX("psrad", 0xe2),
	MXL("punpcklbw", 0x60), MXL("punpcklwd", 0x61), MXL("punpckldq", 0x62),
	MX("punpckhbw", 0x68), MX("punpckhwd", 0x69), MX("punpckhdq", 0x6a),
	MX("packsswb", 0x63), MX("packssdw", 0x6b), MX("packuswb", 0x67),
	MX("movq load", 0x6f), MX("movq store", 0x7f),
#define MXS(n, o, d) { "mmx " n, 0, o, d, RK_X, RK_X, M_REG, 8, false, true, V_INT, false, true }
	MXS("psrlw i", 0x71, 2), MXS("psraw i", 0x71, 4), MXS("psllw i", 0x71, 6),
	MXS("psrld i", 0x72, 2), MXS("psrad i", 0x72, 4), MXS("pslld i", 0x72, 6),
	MXS("psrlq i", 0x73, 2), MXS("psllq i", 0x73, 6),
	{ "mmx pshufw", 0, 0x70, -1, RK_X, RK_X, M_ANY, 8, false, true, V_INT, false, true },
	{ "mmx movd mm,rm", 0, 0x6e, -1, RK_X, RK_G, M_ANY, 8, false, false, V_INT, false, true },
	{ "mmx movd rm,mm", 0, 0x7e, -1, RK_X, RK_G, M_ANY, 8, false, false, V_INT, false, true },
	{ "mmx pmovmskb", 0, 0xd7, -1, RK_G, RK_X, M_REG, 8, false, false, V_INT, false, true },
	{ "mmx pextrw", 0, 0xc5, -1, RK_G, RK_X, M_REG, 8, false, true, V_INT, false, true },
	{ "mmx pinsrw", 0, 0xc4, -1, RK_X, RK_G, M_ANY, 2, false, true, V_INT, false, true },
	{ "mmx movntq", 0, 0xe7, -1, RK_X, RK_X, M_MEM, 8, false, false, V_INT, false, true },
	{ "mmx maskmovq", 0, 0xf7, -1, RK_X, RK_X, M_REG, 8, false, false, V_INT, false, true },
	{ "maskmovdqu", 0x66, 0xf7, -1, RK_X, RK_X, M_REG, 16, false, false, V_INT, false, false },
	/* between MMX and XMM */
	{ "cvtpi2ps", 0, 0x2a, -1, RK_X, RK_X, M_ANY, 8, false, false, V_INT, false, true },
	{ "cvtpi2pd", 0x66, 0x2a, -1, RK_X, RK_X, M_ANY, 8, false, false, V_INT, false, true },
	{ "cvtps2pi", 0, 0x2d, -1, RK_X, RK_X, M_ANY, 8, false, false, V_PS, false, true },
	{ "cvttps2pi", 0, 0x2c, -1, RK_X, RK_X, M_ANY, 8, false, false, V_PS, false, true },
	{ "cvtpd2pi", 0x66, 0x2d, -1, RK_X, RK_X, M_ANY, 16, true, false, V_PD, false, true },
	{ "cvttpd2pi", 0x66, 0x2c, -1, RK_X, RK_X, M_ANY, 16, true, false, V_PD, false, true },
	{ "movq2dq", 0xf3, 0xd6, -1, RK_X, RK_X, M_REG, 8, false, false, V_INT, false, true },
	{ "movdq2q", 0xf2, 0xd6, -1, RK_X, RK_X, M_REG, 8, false, false, V_INT, false, true },
};

static const u32 f32_special[] = {
	0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
	0xffc00000, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000,
	0x7f7fffff, 0x4f000000, 0xcf000000, 0x5f000000, 0x3effffff, 0x3f000000,
	0x3fc00000, 0x40200000, 0x00400000,
};
static const u64 f64_special[] = {
	0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
	0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
	0xfff8000000000000ull, 0x7ff0000000000001ull, 0x7ff4000000000000ull, 1,
	0x800fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
	0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull,
	0x3fe0000000000000ull, 0x3ff8000000000000ull, 0x36a0000000000000ull,
	0x47efffffe0000000ull, 0x3fdfffffffffffffull,
};

static u32 rnd_f32(void)
{
	switch (rnd() % 4) {
	case 0: return f32_special[rnd() % ARRAY_SIZE(f32_special)];
	case 1: return (u32)rnd();
	default: {
		/* a moderate normal number, sometimes an integer */
		float f = (float)((s64)(rnd() % 2000000) - 1000000) / (float)(1 + rnd() % 1000);
		u32 v;
		if (rnd() % 4 == 0)
			f = (float)(int)f;
		memcpy(&v, &f, 4);
		return v;
	}
	}
}

static u64 rnd_f64(void)
{
	switch (rnd() % 4) {
	case 0: return f64_special[rnd() % ARRAY_SIZE(f64_special)];
	case 1: return rnd();
	default: {
		double f = (double)((s64)(rnd() % 2000000000) - 1000000000) / (double)(1 + rnd() % 100000);
		u64 v;
		if (rnd() % 4 == 0)
			f = (double)(s64)f;
		memcpy(&v, &f, 8);
		return v;
	}
	}
}

static void rnd_lanes(u8 *p, int n, int val)
{
	for (int k = 0; k < n;) {
		if (val == V_PS && n - k >= 4) {
			u32 v = rnd_f32();
			memcpy(p + k, &v, 4);
			k += 4;
		} else if (val == V_PD && n - k >= 8) {
			u64 v = rnd_f64();
			memcpy(p + k, &v, 8);
			k += 8;
		} else {
			u64 v = rnd_val();
			int m = n - k < 8 ? n - k : 8;
			memcpy(p + k, &v, m);
			k += m;
		}
	}
}

/* An MXCSR: any rounding, sometimes FTZ/DAZ, mostly masked, random sticky flags */
static u32 rnd_mxcsr(void)
{
	u32 m = 0x1f80 | ((u32)(rnd() % 4) << 13);
	if (rnd() % 4 == 0)
		m |= 0x8000;	/* FTZ */
	if (rnd() % 4 == 0)
		m |= 0x40;	/* DAZ */
	if (rnd() % 8 == 0)
		m &= ~((u32)(rnd() & 0x3f) << 7);	/* some exceptions unmasked */
	if (rnd() % 2)
		m |= (u32)rnd() & 0x3f;
	return m;
}

static bool gen_sse(const struct sse_spec *sp, struct tcase *t)
{
	u8 *p = t->code;
	bool mem = sp->mem == M_MEM || (sp->mem == M_ANY && rnd() % 3 == 0);
	int reg, rm = 0, base = 0, index = 0, scale = 0, mod = 3;
	bool sib = false, riprel = false, abs32 = false, rexw;
	int nreg = mode32 ? 8 : 16;	/* compatibility mode: no REX */
	u8 rex = 0;
	s32 disp = 0;
	u64 addr = 0;

	memset(t, 0, sizeof(*t));
	t->sse = true;
	for (int k = 0; k < 16; k++)
		t->in.gpr[k] = mode32 ? (u32)rnd_val() : rnd_val();
	t->in.gpr[4] = STACK_TOP - (rnd() % 32) * 8;
	t->in.rflags = 2 | (rnd() & ALLF);
	t->in.rip = CODE;
	for (int k = 0; k < 16; k++)
		rnd_lanes(t->xmm + 16 * k, 16, sp->val);
	t->mxcsr = rnd_mxcsr();
	t->mmx = sp->mmx;
	rnd_lanes(t->mm, 64, V_INT);
	if (sp->op == 0xf7)	/* MASKMOV*: stores to DS:rDI */
		t->in.gpr[7] = DATA + 0x100 + rnd() % 0x1e00;
	/* REX.W matters for MOVD/MOVQ and the integer conversions; elsewhere it is ignored */
	rexw = !mode32 && rnd() % 2;

	if (sp->digit >= 0)
		reg = sp->digit;
	else if (sp->regk == RK_G)
		do
			reg = (int)(rnd() % nreg);
		while (reg == 4);
	else
		reg = (int)(rnd() % nreg);
	if (!mem) {
		rm = (int)(rnd() % nreg);
		if (sp->rmk == RK_G && rm == 4)
			rm = 5;
		if (sp->rmk == RK_G && sp->val != V_INT) {
			/* an integer to convert: small or big */
			t->in.gpr[rm] = rnd() % 2 ? (u64)(s64)(s32)rnd_val() : rnd_val();
		}
	} else {
		int align = sp->msz == 16 && sp->align ? 16 : 1;
		u64 off = 0x100 + rnd() % 0x1e00;
		if (align > 1 && rnd() % 12 != 0)
			off &= ~15ull;	/* mostly aligned; misaligned ones must #GP */
		else if (rnd() % 3 == 0)
			off = 0xff8 + rnd() % 8 + (rnd() % 2) * 0x1000;	/* across a page */
		addr = DATA + off;
		t->memaddr = addr;
		t->memlen = sp->msz;
		rnd_lanes(t->memval, sp->msz, sp->rmk == RK_G ? V_INT : sp->val);
		switch (rnd() % 3) {
		case 0:	/* [base + disp8] */
			do
				base = (int)(rnd() % nreg);
			while (base == 4 || base == 12 || base == reg);
			disp = (s8)rnd();
			mod = 1;
			rm = base;
			t->in.gpr[base] = addr - disp;
			break;
		case 1:	/* [base + index*scale + disp32] */
			do
				base = (int)(rnd() % nreg);
			while (base == 4 || base == reg);
			do
				index = (int)(rnd() % nreg);
			while (index == 4 || index == base || index == reg);
			scale = (int)(rnd() % 4);
			disp = (s32)(rnd() % 0x100) - 0x80;
			mod = 2;
			rm = 4;
			sib = true;
			t->in.gpr[index] = rnd() % 32;
			t->in.gpr[base] = addr - disp - (t->in.gpr[index] << scale);
			break;
		default:
			mod = 0;
			rm = 5;
			if (mode32) {
				abs32 = true;	/* [disp32] */
				disp = (s32)addr;
			} else {
				riprel = true;
			}
		}
	}
	if (sp->pfx)
		*p++ = sp->pfx;
	if (reg >= 8)
		rex |= 4;
	if (!mem && rm >= 8)
		rex |= 1;
	if (mem && !riprel) {
		if (base >= 8)
			rex |= 1;
		if (sib && index >= 8)
			rex |= 2;
	}
	if (rexw)
		rex |= 8;
	if (!mode32 && (rex || rnd() % 4 == 0))
		*p++ = 0x40 | rex;
	*p++ = 0x0f;
	*p++ = sp->op;
	*p++ = (u8)((mod << 6) | ((reg & 7) << 3) | (rm & 7));
	if (sib)
		*p++ = (u8)((scale << 6) | ((index & 7) << 3) | (base & 7));
	if (mod == 1)
		*p++ = (u8)disp;
	else if (mod == 2 || abs32)
		put32(p, (u32)disp), p += 4;
	if (riprel) {
		u8 *dp = p;
		p += 4 + (sp->imm ? 1 : 0);
		put32(dp, (u32)(s32)(addr - (CODE + (p - t->code))));
		p -= sp->imm ? 1 : 0;
	}
	if (sp->imm)
		*p++ = (u8)(sp->digit >= 0 && rnd() % 2 ? rnd() % 20 : rnd());
	t->len = (int)(p - t->code);
	t->fmask = sp->flags ? ALLF : ALLF | DF;
	return true;
}

#define SSE_CASES 120

static void diff_sse_one(const struct sse_spec *sp)
{
	char name[64];
	int bad = 0;

	snprintf(name, sizeof(name), "diff%s sse %s", mode32 ? "32" : "", sp->name);
	test_begin(name);
	for (int n = 0; n < SSE_CASES; n++) {
		struct tcase t;
		gen_sse(sp, &t);
		if (run_case(name, &t, n) && ++bad >= 3)
			break;
	}
	CHECK(bad == 0, "%d cases differ", bad);
	test_end();
}

#define CASES_PER_SIZE 150

static void diff_one(const struct spec *sp)
{
	char name[64];
	int bad = 0, ran = 0;

	snprintf(name, sizeof(name), "diff%s %s", mode32 ? "32" : "", sp->name);
	test_begin(name);
	for (int sz = 0; sz < 4; sz++) {
		if (!(sp->sizes & (1u << sz)))
			continue;
		for (int n = 0; n < CASES_PER_SIZE; n++) {
			struct tcase t;
			if (!gen(sp, sz, &t))
				continue;
			ran++;
			if (run_case(name, &t, n) && ++bad >= 3)
				goto out;
		}
	}
	/* directed: REP, 67h, ECX = 0 with nonzero upper halves (every size) */
	for (int sz = 0; sp->form == F_STR && !mode32 && sz < 4; sz++) {
		struct tcase t;
		if (!(sp->sizes & (1u << sz)))
			continue;
		force_strq = true;
		bool ok = gen(sp, sz, &t);
		force_strq = false;
		if (!ok)
			continue;
		ran++;
		if (run_case(name, &t, 1000 + sz) && ++bad >= 3)
			goto out;
	}
out:
	CHECK(bad == 0, "%d of %d cases differ", bad, ran);
	CHECK(ran > 0, "no cases generated");
	test_end();
}

static int setup(void)
{
	struct sigaction sa;
	stack_t ss;
	u64 ret = (u64)(uintptr_t)native_return;

	ncode = mmap((void *)CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ndata = mmap((void *)DATA, DATA_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (ncode != (void *)CODE || ndata != (void *)DATA)
		return -1;
	memcpy(ncode + 0x800, &ret, 8);
	ret = (u64)(uintptr_t)native_return_taken;
	memcpy(ncode + 0x808, &ret, 8);
	ncode[0x710] = 0xff;	/* the taken path back from compatibility mode */
	ncode[0x711] = 0x24;
	ncode[0x712] = 0x25;
	put32(ncode + 0x713, (u32)RET_SLOT2);
	/* the way back from compatibility mode: jmp *RET_SLOT in 64-bit code */
	ncode[0x700] = 0xff;
	ncode[0x701] = 0x24;
	ncode[0x702] = 0x25;
	put32(ncode + 0x703, (u32)RET_SLOT);
	scode = aligned_alloc(4096, 4096);
	sdata = aligned_alloc(4096, DATA_SIZE);
	if (!scode || !sdata || sil_init(&S, 1 << 20))
		return -1;
	memset(scode, 0, 4096);
	cpu_map_phys(S.c, CODE, 4096, scode, 0);
	cpu_map_phys(S.c, DATA, DATA_SIZE, sdata, 0);
	sil_long_mode(&S);
	cpu_state(S.c)->cr4 |= CPU_CR4_OSXMMEXCPT;
	cpu_state_changed(S.c);

	static u8 altstack[65536] __attribute__((aligned(16)));
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	if (!ss.ss_sp || sigaltstack(&ss, NULL))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	return 0;
}

int main(void)
{
	unsigned int a, b, cx, d;

	host_intel = __get_cpuid(0, &a, &b, &cx, &d) && b == 0x756e6547 && d == 0x49656e69 &&
		     cx == 0x6c65746e;	/* "GenuineIntel" */
	printf("diff: REP string 67h ECX=0 cases: %s\n", host_intel ? "compared against the (Intel) host" :
	       "RCX/RSI/RDI compared against the Intel rule, not the non-Intel host");
	if (setup()) {
		test_skip("diff", "cannot map the fixed test pages");
		return 0;
	}
	for (size_t k = 0; k < ARRAY_SIZE(specs); k++)
		if (specs[k].kind != K_ONLY32)
			diff_one(&specs[k]);
	for (size_t k = 0; k < ARRAY_SIZE(sse_specs); k++)
		diff_sse_one(&sse_specs[k]);
	/* the same forms (and the legacy-only ones) as 32-bit code */
	mode32 = true;
	for (size_t k = 0; k < ARRAY_SIZE(sse_specs); k++)
		diff_sse_one(&sse_specs[k]);
	for (size_t k = 0; k < ARRAY_SIZE(specs); k++)
		if (((specs[k].sizes & 7) || specs[k].form == F_STACKOP) && specs[k].kind != K_CX16)
			diff_one(&specs[k]);
	sil_fini(&S);
	free(scode);
	free(sdata);
	return test_cases_failed ? 1 : 0;
}
