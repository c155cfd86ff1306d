// SPDX-License-Identifier: MIT
/*
 * x87.c: x87 arithmetic and data transfer (D8-DF other than the control
 * instructions of fpu.c), executed by the host's x87 unit.
 *
 * As sse_fp.c does for SSE, the guest's x87 state is loaded into the host
 * FPU (FXRSTOR of the guest's FXSAVE image), the same instruction runs,
 * and the state is saved back (FXSAVE) and the host's restored.  One
 * stub per encoding: 512 register forms (ModRM C0-FF of each escape byte)
 * and 64 memory forms whose operand is [RSI], a host buffer the guest's
 * operand is copied into or out of.  Results, rounding and precision
 * control, tags, condition codes and exception flags are therefore those
 * of an x86 FPU.  An unmasked exception is left pending (FSW.ES) as on
 * hardware and taken as #MF by the next waiting x87 instruction.
 *
 * Only documented encodings run on the host; the reserved ones (D9 D1,
 * DD C8, the FSTP/FCOM aliases, ...) raise #UD.  FIP is the RIP of the
 * last non-control instruction; FDP and FOP are updated only with an
 * unmasked exception (CPUID.7.EBX[6] FDP_EXCPTN_ONLY, and FOP as on
 * processors without FOP compatibility mode).
 */
#include "silicon/fpu.h"

#if !defined(__x86_64__)
#error "x87.c uses the host's x87 unit"
#endif

/*
 * u64 stub(void *img, void *mem, u64 rflags, void *host): RFLAGS (the
 * guest's arithmetic flags, for FCMOVcc) in, RFLAGS out (FCOMI sets
 * ZF/PF/CF); the host's own x87/SSE state is saved to @host first and
 * restored last, so the VMM process around us keeps its FCW and MXCSR.
 */
typedef u64 (*x87_stub_fn)(void *img, void *mem, u64 rflags, void *host);
extern const u8 x87_stubs[] __attribute__((visibility("hidden")));
#define X87_STUB_SIZE 32
#define X87_MEM_STUBS 512

__asm__(
	"	.pushsection .text.x87_stubs, \"ax\", @progbits\n"
	"	.globl x87_stubs\n"
	"	.hidden x87_stubs\n"
	"	.balign 32\n"
	"x87_stubs:\n"
	"	.irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	"	.set x87_m, 0xc0\n"
	"	.rept 64\n"
	"	.balign 32\n"
	"	push %rdx\n"
	"	popfq\n"
	"	fxsave64 (%rcx)\n"
	"	fxrstor64 (%rdi)\n"
	"	.byte \\op, x87_m\n"
	"	fxsave64 (%rdi)\n"
	"	fxrstor64 (%rcx)\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	ret\n"
	"	.set x87_m, x87_m + 1\n"
	"	.endr\n"
	"	.endr\n"
	"	.irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	"	.irp r, 0, 1, 2, 3, 4, 5, 6, 7\n"
	"	.balign 32\n"
	"	push %rdx\n"
	"	popfq\n"
	"	fxsave64 (%rcx)\n"
	"	fxrstor64 (%rdi)\n"
	"	.byte \\op, (\\r << 3) | 6\n"	/* mod 00, rm 110: [rsi] */
	"	fxsave64 (%rdi)\n"
	"	fxrstor64 (%rcx)\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	ret\n"
	"	.endr\n"
	"	.endr\n"
	"	.popsection\n");

/*
 * Memory operand size of escape @op, ModRM.reg @r (SDM vol. 2 table A-7
 * ff.); 0 = not run here (control instructions in fpu.c, or reserved).
 */
static int mem_size(u8 op, int r, bool *store)
{
	static const u8 size[8][8] = {
		[0] = { 4, 4, 4, 4, 4, 4, 4, 4 },	/* D8: m32fp arithmetic */
		[1] = { 4, 0, 4, 4, 0, 0, 0, 0 },	/* D9: FLD FST FSTP m32fp */
		[2] = { 4, 4, 4, 4, 4, 4, 4, 4 },	/* DA: m32int arithmetic */
		[3] = { 4, 4, 4, 4, 0, 10, 0, 10 },	/* DB: FILD FISTTP FIST FISTP m32, FLD/FSTP m80 */
		[4] = { 8, 8, 8, 8, 8, 8, 8, 8 },	/* DC: m64fp arithmetic */
		[5] = { 8, 8, 8, 8, 0, 0, 0, 0 },	/* DD: FLD FISTTP FST FSTP m64 */
		[6] = { 2, 2, 2, 2, 2, 2, 2, 2 },	/* DE: m16int arithmetic */
		[7] = { 2, 2, 2, 2, 10, 8, 10, 8 },	/* DF: FILD FISTTP FIST FISTP m16, FBLD FILD FBSTP FISTP */
	};
	static const u8 stores[8] = {
		[1] = BIT(2) | BIT(3), [3] = BIT(1) | BIT(2) | BIT(3) | BIT(7),
		[5] = BIT(1) | BIT(2) | BIT(3), [7] = BIT(1) | BIT(2) | BIT(3) | BIT(6) | BIT(7),
	};
	int e = op - 0xd8;

	*store = (stores[e] >> r) & 1;
	return size[e][r];
}

/* Documented register forms (ModRM C0-FF) other than fpu.c's */
static bool reg_form_ok(u8 op, u8 m)
{
	switch (op) {
	case 0xd8:
		return true;
	case 0xd9:
		return m < 0xd0 || (m >= 0xe0 && m != 0xe2 && m != 0xe3 && m != 0xe6 && m != 0xe7 &&
				    m != 0xef);
	case 0xda:
		return m < 0xe0 || m == 0xe9;
	case 0xdb:
		return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
	case 0xdc:
		return m < 0xd0 || m >= 0xe0;
	case 0xdd:
		return m < 0xc8 || (m >= 0xd0 && m < 0xf0);
	case 0xde:
		return m < 0xd0 || m == 0xd9 || m >= 0xe0;
	default:	/* DF */
		return m >= 0xe8 && m < 0xf8;
	}
}

/* Run one x87 instruction on the host FPU; the caller did #NM and #MF. */
void x87_host_exec(struct cpu *c, const struct insn *i)
{
	u8 img[512] __attribute__((aligned(16)));
	u8 host[512] __attribute__((aligned(16)));
	u8 buf[16] __attribute__((aligned(16))) = { 0 };
	u8 *f = fpu_bytes(c);
	bool mem = i->flags & IF_MEM, store = false;
	int r = (i->modrm >> 3) & 7, size = 0, idx;
	u16 fsw_before, fsw_after, fop, pending;
	u64 lin = 0, ea = 0, fl, fip;
	u32 host_mx;

	if (mem) {
		size = mem_size(i->op, r, &store);
		if (!size)
			cpu_ud(c);
		idx = X87_MEM_STUBS + (i->op - 0xd8) * 8 + r;
		ea = insn_ea(c, i);
		lin = seg_lin(c, i->seg, ea, size, store ? ACC_W : ACC_R);
		if (store)
			vec_probe_write(c, lin, size);
		else
			vec_read(c, lin, buf, size);
	} else {
		if (!reg_form_ok(i->op, i->modrm))
			cpu_ud(c);
		idx = (i->op - 0xd8) * 64 + (i->modrm - 0xc0);
	}
	memcpy(img, f, 512);
	/* the host keeps its MXCSR; a pending exception is not the host's to take */
	asm volatile("stmxcsr %0" : "=m"(host_mx));
	memcpy(img + FX_MXCSR, &host_mx, 4);
	/*
	 * A pending exception here means CR0.NE = 0 with IGNNE# asserted (the
	 * caller raised #MF otherwise): the instruction runs as if none were
	 * pending.  The host would trap on it, so the unmasked flags are taken
	 * out for the run and put back after.
	 */
	fsw_before = fpu_get16(c, FX_FSW);
	pending = fsw_before & ~fpu_get16(c, FX_FCW) & FSW_FLAGS;
	{
		u16 fsw = (u16)(fsw_before & ~(pending | FSW_ES | FSW_B));
		memcpy(img + FX_FSW, &fsw, 2);
	}
	fl = ((x87_stub_fn)(uintptr_t)(x87_stubs + idx * X87_STUB_SIZE))(
		img, buf, 0x202 | (cpu_get_flags(c) & FLAGS_ARITH), host);
	/* back: everything but MXCSR and the pointers */
	fop = fpu_get16(c, FX_FOP);
	memcpy(&fip, f + FX_FIP, 8);
	memcpy(f, img, FX_MXCSR);
	memcpy(f + FX_ST, img + FX_ST, 128);
	fsw_after = fpu_get16(c, FX_FSW);
	if (pending) {
		fpu_put16(c, FX_FSW, fsw_after | pending);
		fpu_fix_es(c);
	}
	if ((fsw_after & FSW_ES) && !(fsw_before & FSW_ES)) {
		/* an unmasked exception: this instruction's opcode and operand */
		fop = (u16)(((i->op & 7) << 8) | i->modrm);
		if (mem)
			memcpy(f + FX_FDP, &ea, 8);
	}
	fip = c->s.rip;
	fpu_put16(c, FX_FOP, fop);
	memcpy(f + FX_FIP, &fip, 8);
	f[FX_FTW + 1] = 0;
	if (store)
		vec_write(c, lin, buf, size);
	/* FCOMI/FUCOMI(P): ZF, PF, CF; OF = SF = AF = 0 */
	if (!mem && ((i->op == 0xdb || i->op == 0xdf) && i->modrm >= 0xe8 && i->modrm < 0xf8))
		cpu_set_arith(c, fl & (CPU_FLAG_ZF | CPU_FLAG_PF | CPU_FLAG_CF));
}
