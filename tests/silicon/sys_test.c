// SPDX-License-Identifier: MIT
/*
 * sys_test.c: system behaviour checked instruction by instruction: page
 * walks (A/D bits, U/S, W/WP, NX, SMEP, SMAP, reserved bits, INVLPG and
 * the TLB), MSRs, CPUID, control registers, TSC, privilege rules (IOPL,
 * CPL3 system instructions), REP string restart after a page fault, and
 * 32-bit protected-mode segment checks (limits, types, expand-down, SS,
 * null selectors, LAR/LSL/VERR/VERW, far CALL/RET, RETF to CPL3,
 * SYSENTER/SYSEXIT).
 *
 * Code runs from CODE; exceptions land in the sil stubs ("push $v; hlt").
 */
#include <string.h>

#include "../test.h"
#include "sil.h"

#define CODE	0x100000
#define TEST_LIN 0x8000000000ull	/* PML4 slot 1: 4 KiB pages built here */
#define T_PDPT	0x20000
#define T_PD	0x21000
#define T_PT	0x22000
#define PG_P 1ull
#define PG_W 2ull
#define PG_U 4ull
#define PG_A 0x20ull
#define PG_D 0x40ull
#define PG_NX (1ull << 63)


static void put64(struct sil *s, u64 gpa, u64 v)
{
	memcpy(s->ram + gpa, &v, 8);
}

/* 64-bit setup with a 4 KiB-page region at TEST_LIN (pages 0..511 of it) */
static void setup64(struct sil *s)
{
	sil_init(s, 8 << 20);
	sil_long_mode(s);
	put64(s, SIL_PML4 + 8, T_PDPT | PG_P | PG_W | PG_U);
	put64(s, T_PDPT, T_PD | PG_P | PG_W | PG_U);
	put64(s, T_PD, T_PT | PG_P | PG_W | PG_U);
	put64(s, SIL_TSS + 4, SIL_STACK);	/* RSP0 for exceptions from CPL3 */
}

static void map(struct sil *s, int page, u64 gpa, u64 flags)
{
	put64(s, T_PT + page * 8, gpa | flags);
}

/* Run the code bytes at CODE (CPL0, or CPL3 with user segments) to a HLT. */
static enum cpu_exit run(struct sil *s, const u8 *code, size_t n, bool user)
{
	return sil_run(s, CODE, code, n, user);
}

/* Did the last run end in the stub of @vec (with error code @err)? */
static bool took(struct sil *s, int vec, s64 err)
{
	struct cpu_state *st = cpu_state(s->c);
	u64 sp = st->gpr[4];

	if (st->rip != (u64)(SIL_STUBS + vec * 16 + 3) || sil_get64(s, sp) != (u64)vec)
		return false;
	return err < 0 || sil_get64(s, sp + 8) == (u64)err;
}

/* mov (%rdi), %rax; hlt */
static const u8 c_load[] = { 0x48, 0x8b, 0x07, 0xf4 };
/* movq $0x5a, (%rdi); hlt */
static const u8 c_store[] = { 0x48, 0xc7, 0x07, 0x5a, 0, 0, 0, 0xf4 };
/* call *%rdi; hlt */
static const u8 c_call[] = { 0xff, 0xd7, 0xf4 };

static void paging_ad_bits(void)
{
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	map(&s, 0, 0x300000, PG_P | PG_W);
	put64(&s, 0x300000, 0x1122334455667788ull);
	st->gpr[7] = TEST_LIN;
	CHECK_EQ(run(&s, c_load, sizeof(c_load), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0], 0x1122334455667788ull);
	CHECK(sil_get64(&s, T_PT) & PG_A, "PTE.A not set by a read");
	CHECK(!(sil_get64(&s, T_PT) & PG_D), "PTE.D set by a read");
	CHECK(sil_get64(&s, T_PD) & PG_A, "PDE.A not set");
	CHECK(sil_get64(&s, T_PDPT) & PG_A, "PDPTE.A not set");
	CHECK(sil_get64(&s, SIL_PML4 + 8) & PG_A, "PML4E.A not set");
	CHECK_EQ(run(&s, c_store, sizeof(c_store), false), CPU_EXIT_HLT);
	CHECK(sil_get64(&s, T_PT) & PG_D, "PTE.D not set by a write");
	CHECK_EQ(sil_get64(&s, 0x300000), 0x5a);
	sil_fini(&s);
}

static void paging_protection(void)
{
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	map(&s, 0, 0x300000, PG_P);			/* supervisor, read-only */
	map(&s, 1, 0x301000, PG_P | PG_U);		/* user, read-only */
	map(&s, 2, 0x302000, PG_P | PG_W | PG_U | PG_NX);	/* user data, NX */
	map(&s, 3, 0x303000, PG_P | PG_W | (1ull << 51));	/* reserved bit */
	put64(&s, 0x302000, 0xc3);			/* ret */

	/* supervisor write to a read-only page: WP=1 faults, WP=0 does not */
	st->gpr[7] = TEST_LIN;
	CHECK_EQ(run(&s, c_store, sizeof(c_store), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 3), "WP: no #PF(3)");
	CHECK_EQ(st->cr2, TEST_LIN);
	st->cr0 &= ~(u64)CPU_CR0_WP;
	CHECK_EQ(run(&s, c_store, sizeof(c_store), false), CPU_EXIT_HLT);
	CHECK(!took(&s, 14, -1), "WP=0 write faulted");
	CHECK_EQ(sil_get64(&s, 0x300000), 0x5a);
	st->cr0 |= CPU_CR0_WP;

	/* CPL3: supervisor page -> #PF(5); read-only user page write -> #PF(7) */
	CHECK_EQ(run(&s, c_load, sizeof(c_load), true), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 5), "user read of a supervisor page: no #PF(5)");
	st->gpr[7] = TEST_LIN + 0x1000;
	CHECK_EQ(run(&s, c_load, sizeof(c_load), true), CPU_EXIT_HLT);
	CHECK(!took(&s, 14, -1), "user read of a user page faulted");
	CHECK_EQ(run(&s, c_store, sizeof(c_store), true), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 7), "user write to a read-only page: no #PF(7)");
	CHECK_EQ(st->cr2, TEST_LIN + 0x1000);

	/* NX: fetch faults with I/D set */
	st->gpr[7] = TEST_LIN + 0x2000;
	CHECK_EQ(run(&s, c_call, sizeof(c_call), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 0x11), "NX fetch: no #PF(0x11)");
	CHECK_EQ(st->cr2, TEST_LIN + 0x2000);

	/* SMEP: supervisor fetch from a user page (NX off for it).  The
	 * identity map (code, stubs, stack) becomes supervisor-only first. */
	put64(&s, SIL_PDPT, 0x83);
	map(&s, 2, 0x302000, PG_P | PG_W | PG_U);
	st->cr4 |= CPU_CR4_SMEP;
	CHECK_EQ(run(&s, c_call, sizeof(c_call), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 0x11), "SMEP: no #PF(0x11)");
	st->cr4 &= ~(u64)CPU_CR4_SMEP;
	CHECK_EQ(run(&s, c_call, sizeof(c_call), false), CPU_EXIT_HLT);
	CHECK(!took(&s, 14, -1), "fetch from a user page without SMEP faulted");

	/* SMAP: supervisor read of a user page faults unless AC=1 (STAC) */
	st->cr4 |= CPU_CR4_SMAP;
	st->gpr[7] = TEST_LIN + 0x1000;
	CHECK_EQ(run(&s, c_load, sizeof(c_load), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 1), "SMAP: no #PF(1)");
	{
		static const u8 stac_load[] = { 0x0f, 0x01, 0xcb, 0x48, 0x8b, 0x07, 0xf4 };
		CHECK_EQ(run(&s, stac_load, sizeof(stac_load), false), CPU_EXIT_HLT);
		CHECK(!took(&s, 14, -1), "SMAP with AC=1 faulted");
	}
	st->cr4 &= ~(u64)CPU_CR4_SMAP;
	st->rflags &= ~(u64)CPU_FLAG_AC;

	/* reserved bit: #PF with P and RSVD */
	st->gpr[7] = TEST_LIN + 0x3000;
	CHECK_EQ(run(&s, c_load, sizeof(c_load), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 9), "reserved bit: no #PF(9)");

	/* not present, write: #PF(2) */
	st->gpr[7] = TEST_LIN + 0x9000;
	CHECK_EQ(run(&s, c_store, sizeof(c_store), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 2), "not present write: no #PF(2)");
	CHECK_EQ(st->cr2, TEST_LIN + 0x9000);
	sil_fini(&s);
}

/* The TLB keeps a translation until INVLPG (or a CR3 write). */
static void tlb_and_invlpg(void)
{
	/* mov (%rdi),%rax; mov %rax,%rbx; mov (%rdi),%rax; hlt -- with a PTE
	 * change in between done by the guest: movq %rsi, (%rdx) */
	static const u8 code[] = {
		0x48, 0x8b, 0x07,		/* mov (%rdi), %rax */
		0x48, 0x89, 0xc3,		/* mov %rax, %rbx */
		0x48, 0x89, 0x32,		/* mov %rsi, (%rdx): rewrite the PTE */
		0x48, 0x8b, 0x0f,		/* mov (%rdi), %rcx: still the old page */
		0x0f, 0x01, 0x3f,		/* invlpg (%rdi) */
		0x48, 0x8b, 0x2f,		/* mov (%rdi), %rbp: the new page */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	map(&s, 0, 0x300000, PG_P | PG_W);
	put64(&s, 0x300000, 111);
	put64(&s, 0x301000, 222);
	st->gpr[7] = TEST_LIN;
	st->gpr[6] = 0x301000 | PG_P | PG_W;
	st->gpr[2] = T_PT;
	CHECK_EQ(run(&s, code, sizeof(code), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3], 111);
	CHECK_EQ(st->gpr[1], 111);
	CHECK_EQ(st->gpr[5], 222);
	sil_fini(&s);
}

/* A linear page backed by no RAM goes to the MMIO callback every time,
 * until it is remapped to RAM (and INVLPG'd). */
static void mmio_pages(void)
{
	static const u8 code[] = {
		0x8b, 0x07,			/* mov (%rdi), %eax */
		0x89, 0x77, 0x04,		/* mov %esi, 4(%rdi) */
		0x8b, 0x1f,			/* mov (%rdi), %ebx */
		0xf4,
	};
	static const u8 invlpg[] = { 0x0f, 0x01, 0x3f, 0xf4 };	/* invlpg (%rdi) */
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	map(&s, 5, 0x40000000, PG_P | PG_W);	/* no RAM there */
	st->gpr[7] = TEST_LIN + 0x5000 + 0x10;
	st->gpr[6] = 0x77;
	CHECK_EQ(run(&s, code, sizeof(code), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0], 0xab000010);
	CHECK_EQ(st->gpr[3], 0xab000010);
	CHECK_EQ(s.mmio_count, 3);
	CHECK_EQ(s.nout, 1);
	CHECK_EQ(s.out[0], 0x77);
	/* remap to RAM */
	map(&s, 5, 0x305000, PG_P | PG_W);
	put64(&s, 0x305010, 0x1234);
	CHECK_EQ(run(&s, invlpg, sizeof(invlpg), false), CPU_EXIT_HLT);
	CHECK_EQ(run(&s, code, sizeof(code), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0], 0x1234);
	CHECK_EQ(s.mmio_count, 3);
	CHECK_EQ(sil_get64(&s, 0x305010), 0x7700001234ull);
	sil_fini(&s);
}

/* Long REP STOSQ / overlapping REP MOVSB across pages (the host fast path) */
static void rep_string_long(void)
{
	static const u8 stos[] = { 0xf3, 0x48, 0xab, 0xf4 };	/* rep stosq */
	static const u8 movs[] = { 0xf3, 0xa4, 0xf4 };		/* rep movsb */
	static u8 want[20000];
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	st->gpr[0] = 0x0123456789abcdefull;
	st->gpr[7] = 0x200008;
	st->gpr[1] = 5000;
	st->rflags = 2;
	CHECK_EQ(run(&s, stos, sizeof(stos), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[1], 0);
	CHECK_EQ(st->gpr[7], 0x200008 + 5000 * 8);
	for (int k = 0; k < 5000; k++)
		if (sil_get64(&s, 0x200008 + k * 8) != 0x0123456789abcdefull) {
			CHECK(0, "qword %d", k);
			break;
		}
	CHECK_EQ(sil_get64(&s, 0x200000), 0);
	CHECK_EQ(sil_get64(&s, 0x200008 + 5000 * 8), 0);
	/* overlapping forward copy: each byte copies the one just written */
	for (int k = 0; k < 20000; k++)
		s.ram[0x300000 + k] = (u8)(k * 13 + 1);
	memcpy(want, s.ram + 0x300000, sizeof(want));
	for (int k = 0; k < 15000; k++)
		want[k + 3] = want[k];
	st->gpr[6] = 0x300000;
	st->gpr[7] = 0x300003;
	st->gpr[1] = 15000;
	CHECK_EQ(run(&s, movs, sizeof(movs), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[1], 0);
	CHECK(memcmp(want, s.ram + 0x300000, sizeof(want)) == 0, "overlapping MOVSB");
	sil_fini(&s);
}

/* REP MOVSB that faults half way: registers show the progress; resume. */
static void rep_movs_restart(void)
{
	static const u8 code[] = { 0xf3, 0xa4, 0xf4 };	/* rep movsb; hlt */
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	map(&s, 0, 0x300000, PG_P | PG_W);
	/* page 1 (destination's second page) missing */
	for (int k = 0; k < 8192; k++)
		s.ram[0x200000 + k] = (u8)(k * 7);
	st->gpr[6] = 0x200000;		/* source: identity-mapped */
	st->gpr[7] = TEST_LIN + 0x800;	/* 0x800 bytes fit, then page 1 */
	st->gpr[1] = 0x1000;
	CHECK_EQ(run(&s, code, sizeof(code), false), CPU_EXIT_HLT);
	CHECK(took(&s, 14, 2), "no #PF(2)");
	CHECK_EQ(st->cr2, TEST_LIN + 0x1000);
	CHECK_EQ(st->gpr[1], 0x800);
	CHECK_EQ(st->gpr[6], 0x200800);
	CHECK_EQ(st->gpr[7], TEST_LIN + 0x1000);
	CHECK_EQ(sil_get64(&s, st->gpr[4] + 16), CODE);	/* faulting RIP = the MOVS */
	/* map the page and resume at the MOVS with the registers as left */
	map(&s, 1, 0x301000, PG_P | PG_W);
	{
		u64 rcx = st->gpr[1], rsi = st->gpr[6], rdi = st->gpr[7];
		st->rip = CODE;
		st->gpr[4] = SIL_STACK;
		st->gpr[1] = rcx;
		st->gpr[6] = rsi;
		st->gpr[7] = rdi;
		st->activity = CPU_ACTIVE;
		cpu_state_changed(s.c);
		CHECK_EQ(cpu_run(s.c, 100000), CPU_EXIT_HLT);
	}
	CHECK_EQ(st->gpr[1], 0);
	CHECK(memcmp(s.ram + 0x300800, s.ram + 0x200000, 0x800) == 0, "first part wrong");
	CHECK(memcmp(s.ram + 0x301000, s.ram + 0x200800, 0x800) == 0, "second part wrong");
	sil_fini(&s);
}

static void msrs_cpuid_tsc(void)
{
	struct sil s;
	struct cpu_state *st;
	u64 v;
	/* rdmsr; hlt */
	static const u8 rdmsr[] = { 0x0f, 0x32, 0xf4 };
	static const u8 wrmsr[] = { 0x0f, 0x30, 0xf4 };
	static const u8 cpuid[] = { 0x0f, 0xa2, 0xf4 };
	/* rdtsc; mov %rax,%r8; mov %rdx,%r9; rdtscp; rdpid %r10; hlt */
	static const u8 tsc[] = { 0x0f, 0x31, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1,
				  0x0f, 0x01, 0xf9, 0xf3, 0x41, 0x0f, 0xc7, 0xfa, 0xf4 };

	setup64(&s);
	st = cpu_state(s.c);
	st->gpr[1] = 0xdeadbeef;	/* no such MSR */
	CHECK_EQ(run(&s, rdmsr, sizeof(rdmsr), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "unknown MSR: no #GP(0)");
	st->gpr[1] = 0xc0000082;	/* LSTAR non-canonical */
	st->gpr[0] = 0;
	st->gpr[2] = 0x80000000;
	CHECK_EQ(run(&s, wrmsr, sizeof(wrmsr), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "non-canonical LSTAR: no #GP(0)");
	st->gpr[2] = 0xffff8000;
	st->gpr[0] = 0x1234;
	CHECK_EQ(run(&s, wrmsr, sizeof(wrmsr), false), CPU_EXIT_HLT);
	CHECK(!took(&s, 13, -1), "canonical LSTAR faulted");
	CHECK_EQ(st->lstar, 0xffff800000001234ull);
	st->gpr[1] = 0xc0000080;	/* EFER reserved bit */
	st->gpr[0] = (u32)st->efer | 0x2;
	st->gpr[2] = 0;
	CHECK_EQ(run(&s, wrmsr, sizeof(wrmsr), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "EFER reserved bit: no #GP(0)");
	CHECK_EQ(cpu_rdmsr(s.c, 0xc0000080, &v), 0);
	CHECK_EQ(v, st->efer);
	st->gpr[1] = 0xc0000103;	/* TSC_AUX */
	st->gpr[0] = 77;
	st->gpr[2] = 0;
	CHECK_EQ(run(&s, wrmsr, sizeof(wrmsr), false), CPU_EXIT_HLT);
	/* RDMSR at CPL3: #GP(0) */
	st->gpr[1] = 0x10;
	CHECK_EQ(run(&s, rdmsr, sizeof(rdmsr), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "RDMSR at CPL3: no #GP(0)");
	CHECK_EQ(run(&s, tsc, sizeof(tsc), false), CPU_EXIT_HLT);
	{
		u64 t1 = (st->gpr[9] << 32) | (u32)st->gpr[8];
		u64 t2 = (st->gpr[2] << 32) | (u32)st->gpr[0];
		CHECK(t2 >= t1, "TSC went backwards");
		CHECK_EQ(st->gpr[1], 77);
		CHECK_EQ(st->gpr[10], 77);
	}
	st->gpr[0] = 0;
	CHECK_EQ(run(&s, cpuid, sizeof(cpuid), false), CPU_EXIT_HLT);
	CHECK(st->gpr[3] == 0x756e6547 && st->gpr[2] == 0x49656e69 && st->gpr[1] == 0x6c65746e,
	      "vendor string");
	st->gpr[0] = 0x80000001;
	CHECK_EQ(run(&s, cpuid, sizeof(cpuid), false), CPU_EXIT_HLT);
	CHECK(st->gpr[2] & BIT(29), "CPUID: no LM");
	CHECK(st->gpr[2] & BIT(20), "CPUID: no NX");
	sil_fini(&s);
}

static void control_registers(void)
{
	struct sil s;
	struct cpu_state *st;
	/* mov %rax, %cr4; hlt */
	static const u8 to_cr4[] = { 0x0f, 0x22, 0xe0, 0xf4 };
	static const u8 to_cr0[] = { 0x0f, 0x22, 0xc0, 0xf4 };
	static const u8 to_cr8[] = { 0x44, 0x0f, 0x22, 0xc0, 0xf4 };
	static const u8 cr5[] = { 0x0f, 0x20, 0xe8, 0xf4 };	/* mov %cr5, %rax */

	setup64(&s);
	st = cpu_state(s.c);
	st->gpr[0] = st->cr4 | BIT(15);		/* reserved */
	CHECK_EQ(run(&s, to_cr4, sizeof(to_cr4), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "CR4 reserved bit: no #GP(0)");
	st->gpr[0] = st->cr4 & ~(u64)CPU_CR4_PAE;	/* PAE off in long mode */
	CHECK_EQ(run(&s, to_cr4, sizeof(to_cr4), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "clearing PAE in long mode: no #GP(0)");
	st->gpr[0] = st->cr0 & ~(u64)CPU_CR0_PE;	/* PG without PE */
	CHECK_EQ(run(&s, to_cr0, sizeof(to_cr0), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "PG without PE: no #GP(0)");
	st->gpr[0] = 0x10;				/* CR8 bits 63:4 reserved */
	CHECK_EQ(run(&s, to_cr8, sizeof(to_cr8), false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "CR8 reserved: no #GP(0)");
	st->gpr[0] = 9;
	CHECK_EQ(run(&s, to_cr8, sizeof(to_cr8), false), CPU_EXIT_HLT);
	CHECK_EQ(st->cr8, 9);
	{
		/* a push with a non-canonical RSP: #SS(0), delivered on IST1 */
		static const u8 push[] = { 0x48, 0x89, 0xc4, 0x50, 0xf4 };	/* mov %rax,%rsp; push %rax */
		s.ram[SIL_IDT + 12 * 16 + 4] = 1;	/* the #SS gate's IST field */
		put64(&s, SIL_TSS + 0x24, SIL_STACK);
		st->gpr[0] = 0x8000000000000008ull;
		CHECK_EQ(run(&s, push, sizeof(push), false), CPU_EXIT_HLT);
		CHECK(took(&s, 12, 0), "non-canonical push: no #SS(0)");
	}
	CHECK_EQ(run(&s, cr5, sizeof(cr5), false), CPU_EXIT_HLT);
	CHECK(took(&s, 6, -1), "MOV from CR5: no #UD");
	CHECK_EQ(run(&s, to_cr0, sizeof(to_cr0), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "MOV to CR0 at CPL3: no #GP(0)");
	sil_fini(&s);
}

/* CPL3 with IOPL 0: CLI, HLT, OUT fault; POPF leaves IF and IOPL alone. */
static void privilege_rules(void)
{
	struct sil s;
	struct cpu_state *st;
	static const u8 cli[] = { 0xfa, 0xf4 };
	static const u8 hlt[] = { 0xf4 };
	static const u8 out[] = { 0xe6, 0x80, 0xf4 };
	/* push $0x3202; popf; pushf; pop %rbx; hlt -- hlt faults at CPL3: fine,
	 * the #GP stub stops the run with RBX read */
	static const u8 popf[] = { 0x68, 0x02, 0x32, 0, 0, 0x9d, 0x9c, 0x5b, 0xf4 };

	setup64(&s);
	st = cpu_state(s.c);
	st->rflags = 2;
	CHECK_EQ(run(&s, cli, sizeof(cli), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "CLI at CPL3 IOPL0: no #GP");
	CHECK_EQ(run(&s, hlt, sizeof(hlt), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "HLT at CPL3: no #GP");
	put64(&s, SIL_TSS + 0x66, 0x68);	/* I/O bitmap base past the limit */
	CHECK_EQ(run(&s, out, sizeof(out), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "OUT at CPL3 without bitmap: no #GP");
	CHECK_EQ(run(&s, popf, sizeof(popf), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "HLT at CPL3: no #GP");
	CHECK_EQ(st->gpr[3] & (CPU_FLAG_IF | CPU_FLAG_IOPL), 0);
	/* with IOPL 3, CLI works at CPL3 */
	st->rflags = 2 | CPU_FLAG_IOPL | CPU_FLAG_IF;
	CHECK_EQ(run(&s, cli, sizeof(cli), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "the HLT after CLI");
	CHECK_EQ(sil_get64(&s, st->gpr[4] + 32) & CPU_FLAG_IF, 0);	/* RFLAGS in the frame */
	sil_fini(&s);
}

/* MONITOR/MWAIT: CPL0 only; MWAIT may wake at once; reserved ECX bits #GP */
static void monitor_mwait(void)
{
	/* monitor; mwait; mov $1, %ebx; hlt */
	static const u8 code[] = { 0x0f, 0x01, 0xc8, 0x0f, 0x01, 0xc9, 0xbb, 1, 0, 0, 0, 0xf4 };
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	st->gpr[0] = 0x200000;
	st->gpr[1] = 0;
	st->gpr[2] = 0;
	CHECK_EQ(run(&s, code, sizeof(code), false), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3], 1);
	CHECK_EQ(st->rip, CODE + sizeof(code));
	st->gpr[1] = 2;			/* MWAIT ECX bit 1: reserved */
	CHECK_EQ(run(&s, code + 3, sizeof(code) - 3, false), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "MWAIT with reserved ECX: no #GP(0)");
	st->gpr[1] = 0;
	CHECK_EQ(run(&s, code, sizeof(code), true), CPU_EXIT_HLT);
	CHECK(took(&s, 6, -1), "MONITOR at CPL3: no #UD");
	sil_fini(&s);
}

/* #AC: CPL3 misaligned data access with CR0.AM and RFLAGS.AC */
static void alignment_check(void)
{
	static const u8 load[] = { 0x8b, 0x07, 0xf4 };		/* mov (%rdi), %eax */
	struct sil s;
	struct cpu_state *st;

	setup64(&s);
	st = cpu_state(s.c);
	st->cr0 |= CPU_CR0_AM;
	st->rflags = 2 | CPU_FLAG_AC;
	st->gpr[7] = 0x200001;
	CHECK_EQ(run(&s, load, sizeof(load), true), CPU_EXIT_HLT);
	CHECK(took(&s, 17, 0), "misaligned CPL3 load: no #AC(0)");
	st->rflags = 2 | CPU_FLAG_AC;
	st->gpr[7] = 0x200004;
	CHECK_EQ(run(&s, load, sizeof(load), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "aligned: should reach the HLT (#GP at CPL3)");
	st->rflags = 2;				/* AC clear: no check */
	st->gpr[7] = 0x200001;
	CHECK_EQ(run(&s, load, sizeof(load), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "AC clear: should reach the HLT");
	st->rflags = 2 | CPU_FLAG_AC;		/* CPL0: no check */
	CHECK_EQ(run(&s, load, sizeof(load), false), CPU_EXIT_HLT);
	CHECK_EQ(st->rip, CODE + 3);
	sil_fini(&s);
}

/* ---- 32-bit protected mode ---- */

#define IDT32 0x2800

/* Flat 32-bit protected mode, CPL0, no paging; IDT gates to 32-bit stubs. */
static void setup32(struct sil *s)
{
	struct cpu_state *st;

	sil_init(s, 8 << 20);
	sil_long_mode(s);	/* for the GDT contents */
	st = cpu_state(s->c);
	/* extra GDT entries: 0x40 data limit 0xfff (byte granular), read-only;
	 * 0x48 expand-down data limit 0xfff; 0x50 code execute-only;
	 * 0x58 not present; 0x60 code32 DPL3; 0x68 data DPL3 */
	put64(s, SIL_GDT + 0x40, 0x0040910000000fffull);
	put64(s, SIL_GDT + 0x48, 0x0040970000000fffull);
	put64(s, SIL_GDT + 0x50, 0x00cf99000000ffffull);
	put64(s, SIL_GDT + 0x58, 0x00cf13000000ffffull);
	put64(s, SIL_GDT + 0x60, 0x00cffb000000ffffull);
	put64(s, SIL_GDT + 0x68, 0x00cff3000000ffffull);
	for (int v = 0; v < 32; v++) {
		u64 off = SIL_STUBS + v * 16;
		put64(s, IDT32 + v * 8, (off & 0xffff) | (0x18ull << 16) | (0x8eull << 40) |
					((off >> 16) << 48));
	}
	st->cr0 = CPU_CR0_PE | CPU_CR0_ET;
	st->cr4 = 0;
	st->efer = 0;
	st->gdtr.limit = 0x7f;
	st->idtr.base = IDT32;
	st->idtr.limit = 32 * 8 - 1;
	st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xc09b, 0x18 };
	st->seg[CPU_SEG_TR] = (struct cpu_seg){ SIL_TSS, 0x67, 0x8b, 0x30 };
	cpu_state_changed(s->c);
}

static enum cpu_exit run32(struct sil *s, const u8 *code, size_t n)
{
	struct cpu_state *st = cpu_state(s->c);

	sil_put(s, CODE, code, n);
	st->rip = CODE;
	st->activity = CPU_ACTIVE;
	st->gpr[4] = SIL_STACK;
	for (int k = 0; k < 6; k++)
		if (k != CPU_SEG_CS)
			st->seg[k] = (struct cpu_seg){ 0, 0xffffffff, 0xc093, 0x10 };
	st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xc09b, 0x18 };
	cpu_state_changed(s->c);
	return cpu_run(s->c, 100000);
}

static bool took32(struct sil *s, int vec, s64 err)
{
	struct cpu_state *st = cpu_state(s->c);
	u32 v, e;

	memcpy(&v, s->ram + st->gpr[4], 4);
	memcpy(&e, s->ram + st->gpr[4] + 4, 4);
	if (st->rip != (u64)(SIL_STUBS + vec * 16 + 3) || v != (u32)vec)
		return false;
	return err < 0 || e == (u32)err;
}

static void segment_checks(void)
{
	struct sil s;
	struct cpu_state *st;
	/* mov $sel, %ax; mov %ax, %ds; mov OFF(%ebx), %eax; hlt */
	u8 load[] = { 0x66, 0xb8, 0x40, 0x00, 0x8e, 0xd8, 0x8b, 0x03, 0xf4 };
	u8 store[] = { 0x66, 0xb8, 0x40, 0x00, 0x8e, 0xd8, 0x89, 0x03, 0xf4 };
	/* mov $sel, %ax; mov %ax, %ss; hlt */
	u8 lss[] = { 0x66, 0xb8, 0x40, 0x00, 0x8e, 0xd0, 0xf4 };

	setup32(&s);
	st = cpu_state(s.c);
	/* within the limit: fine */
	st->gpr[3] = 0xffc;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(!took32(&s, 13, -1), "load within the limit faulted");
	/* crossing the byte-granular limit 0xfff: #GP(0) */
	st->gpr[3] = 0xffd;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0), "limit: no #GP(0)");
	/* write to a read-only data segment: #GP(0) */
	st->gpr[3] = 0x10;
	CHECK_EQ(run32(&s, store, sizeof(store)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0), "read-only: no #GP(0)");
	/* expand-down (limit 0xfff, B=1): offsets up to the limit fault, above are fine */
	load[2] = 0x48;
	st->gpr[3] = 0x10;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0), "expand-down below the limit: no #GP(0)");
	st->gpr[3] = 0x1000;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(!took32(&s, 13, -1), "expand-down above the limit faulted");
	/* execute-only code in DS: loading it is #GP(sel) */
	load[2] = 0x50;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0x50), "execute-only code into DS: no #GP(0x50)");
	/* not present: #NP(sel) */
	load[2] = 0x58;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 11, 0x58), "not present: no #NP(0x58)");
	/* DPL3 data into SS at CPL0: #GP(sel) */
	lss[2] = 0x68;
	CHECK_EQ(run32(&s, lss, sizeof(lss)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0x68), "SS with DPL3 at CPL0: no #GP(0x68)");
	/* read-only data into SS: #GP(sel) */
	lss[2] = 0x40;
	CHECK_EQ(run32(&s, lss, sizeof(lss)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0x40), "read-only SS: no #GP(0x40)");
	/* a null DS is loadable; using it is #GP(0) */
	load[2] = 0x00;
	st->gpr[3] = 0x10;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0), "null DS access: no #GP(0)");
	/* beyond the GDT limit: #GP(sel) */
	load[2] = 0x88;
	CHECK_EQ(run32(&s, load, sizeof(load)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0x88), "selector beyond GDT limit: no #GP(0x88)");
	sil_fini(&s);
}

/*
 * PAE: the PDPTEs are loaded by MOV CR3; INVLPG does not reload them, a
 * CR3 write does; a reserved bit in a present PDPTE makes MOV CR3 #GP.
 */
static void pae_pdptes(void)
{
	static const u8 code[] = {
		0xa1, 0x00, 0x00, 0x30, 0x00,			/* mov 0x300000, %eax */
		0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0x01, 0x20, 0x02, 0x00, /* movl $0x22001, 0x20000 */
		0x0f, 0x01, 0x3d, 0x00, 0x00, 0x30, 0x00,	/* invlpg 0x300000 */
		0x8b, 0x1d, 0x00, 0x00, 0x30, 0x00,		/* mov 0x300000, %ebx */
		0x0f, 0x20, 0xd9,				/* mov %cr3, %ecx */
		0x0f, 0x22, 0xd9,				/* mov %ecx, %cr3 */
		0x8b, 0x15, 0x00, 0x00, 0x30, 0x00,		/* mov 0x300000, %edx */
		0xb9, 0x00, 0x08, 0x02, 0x00,			/* mov $0x20800, %ecx */
		0x0f, 0x22, 0xd9,				/* mov %ecx, %cr3: #GP */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	setup32(&s);
	st = cpu_state(s.c);
	put64(&s, 0x20000, 0x21000 | 1);
	put64(&s, 0x20800, 0x21000 | 1 | 0x20);		/* bit 5: reserved in a PDPTE */
	for (int k = 0; k < 4; k++) {
		put64(&s, 0x21000 + k * 8, ((u64)k << 21) | 0x83);
		put64(&s, 0x22000 + k * 8, ((u64)k << 21) | 0x83);
	}
	put64(&s, 0x22008, 0x400000 | 0x83);		/* PD B: 2-4 MiB -> 4-6 MiB */
	put64(&s, 0x300000, 111);
	put64(&s, 0x500000, 222);
	st->cr3 = 0x20000;
	st->cr4 = CPU_CR4_PAE;
	st->cr0 |= CPU_CR0_PG;
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0], 111);
	CHECK_EQ(st->gpr[3], 111);	/* INVLPG kept the loaded PDPTE */
	CHECK_EQ(st->gpr[2], 222);	/* MOV CR3 reloaded it */
	CHECK(took32(&s, 13, 0), "reserved PDPTE bit: no #GP(0) on MOV CR3");
	CHECK_EQ(st->cr3, 0x20000);
	sil_fini(&s);
}

static void lar_lsl_verr(void)
{
	struct sil s;
	struct cpu_state *st;
	/* LAR, LSL, VERR on the selector in ECX, each result's ZF into BL, BH, CL */
	static const u8 code[] = {
		0x0f, 0x02, 0xc1,	/* lar %ecx, %eax */
		0x0f, 0x94, 0xc3,	/* setz %bl */
		0x0f, 0x03, 0xd1,	/* lsl %ecx, %edx */
		0x0f, 0x94, 0xc7,	/* setz %bh */
		0x0f, 0x00, 0xe1,	/* verr %cx */
		0x0f, 0x94, 0xc1,	/* setz %cl */
		0xf4,
	};
	static const u8 code2[] = {
		0x0f, 0x00, 0xe9,	/* verw %cx */
		0x0f, 0x94, 0xc3,	/* setz %bl */
		0xf4,
	};

	setup32(&s);
	st = cpu_state(s.c);
	st->gpr[1] = 0x40;	/* read-only data, limit 0xfff */
	st->gpr[0] = st->gpr[2] = 0;
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3] & 0xffff, 0x0101);
	CHECK_EQ(st->gpr[0], 0x00409100);	/* access rights, accessed clear */
	CHECK_EQ(st->gpr[2], 0xfff);
	CHECK_EQ(st->gpr[1] & 0xff, 1);	/* readable */
	st->gpr[1] = 0x40;
	CHECK_EQ(run32(&s, code2, sizeof(code2)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3] & 0xff, 0);	/* not writable */
	st->gpr[1] = 0x10;
	CHECK_EQ(run32(&s, code2, sizeof(code2)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3] & 0xff, 1);	/* writable */
	st->gpr[1] = 0x50;	/* execute-only code: VERR fails */
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[1] & 0xff, 0);
	st->gpr[1] = 0x98;	/* beyond the GDT limit: LAR fails, ZF = 0 */
	st->gpr[0] = 0x1234;
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3] & 0xffff, 0);
	CHECK_EQ(st->gpr[0], 0x1234);
	sil_fini(&s);
}

/* Far CALL/RET at CPL0, then RETF to CPL3 (stack switch), SYSENTER back. */
static void far_transfers_32(void)
{
	struct sil s;
	struct cpu_state *st;
	static const u8 code[] = {
		0x9a, 0x20, 0x00, 0x10, 0x00, 0x18, 0x00,	/* lcall $0x18, $0x100020 */
		0xbb, 0x01, 0x00, 0x00, 0x00,			/* mov $1, %ebx */
		/* retf to CPL3: push ss, esp, cs, eip */
		0x6a, 0x6b,					/* push $0x6b (SS, RPL3) */
		0x68, 0x00, 0x00, 0x30, 0x00,			/* push $0x300000 */
		0x6a, 0x63,					/* push $0x63 (CS, RPL3) */
		0x68, 0x40, 0x00, 0x10, 0x00,			/* push $0x100040 */
		0xcb,						/* lret */
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
		/* 0x100020: far procedure */
		0xb9, 0x07, 0x00, 0x00, 0x00,			/* mov $7, %ecx */
		0xcb,						/* lret */
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
		0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
		/* 0x100040: CPL3 code */
		0x8c, 0xce,					/* mov %cs, %esi */
		0x8c, 0xd7,					/* mov %ss, %edi */
		0x0f, 0x34,					/* sysenter */
	};

	setup32(&s);
	st = cpu_state(s.c);
	st->sysenter_cs = 0x18;		/* sil's 32-bit code segment */
	st->sysenter_eip = SIL_STUBS + 0x1f * 16;	/* land in stub 0x1f */
	st->sysenter_esp = SIL_STACK;
	CHECK_EQ(sizeof(code), 0x46);
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[1], 7);
	CHECK_EQ(st->gpr[3], 1);
	CHECK_EQ(st->gpr[6] & 0xffff, 0x63);
	CHECK_EQ(st->gpr[7] & 0xffff, 0x6b);
	/* SYSENTER: CS = SYSENTER_CS, SS = +8, CPL0, at the stub */
	CHECK_EQ(st->seg[CPU_SEG_CS].sel, 0x18);
	CHECK_EQ(st->seg[CPU_SEG_SS].sel, 0x20);
	CHECK_EQ(st->rip, SIL_STUBS + 0x1f * 16 + 3);
	sil_fini(&s);
}

/*
 * CPL3 -> CPL0 through a 32-bit DPL3 interrupt gate: the stack comes from
 * the TSS (SS0:ESP0) and the frame holds SS, ESP, EFLAGS, CS, EIP; IRET
 * goes back to CPL3.  Then virtual-8086 mode entered by IRET, and INT from
 * there: the frame adds GS, FS, DS, ES and the data segments become null.
 */
static void interrupts_32_privilege(void)
{
	struct sil s;
	struct cpu_state *st;
	static const u8 code[] = {
		0x6a, 0x6b,					/* push $0x6b */
		0x68, 0x00, 0x00, 0x30, 0x00,			/* push $0x300000 */
		0x6a, 0x63,					/* push $0x63 */
		0x68, 0x40, 0x00, 0x10, 0x00,			/* push $0x100040 */
		0xcb,						/* lret */
	};
	static const u8 user[] = {
		0xcd, 0x21,					/* int $0x21 */
		0x8c, 0xce,					/* mov %cs, %esi */
		0xf4,						/* hlt: #GP at CPL3 */
	};
	/* vector 0x21 handler: note ESP, the frame's EIP and CS; IRET */
	static const u8 h21[] = {
		0x89, 0xe5,					/* mov %esp, %ebp */
		0x8b, 0x3c, 0x24,				/* mov (%esp), %edi */
		0x8b, 0x4c, 0x24, 0x04,				/* mov 4(%esp), %ecx */
		0xcf,						/* iret */
	};
	u32 f[5];

	setup32(&s);
	st = cpu_state(s.c);
	put64(&s, IDT32 + 0x21 * 8, ((SIL_STUBS + 0x21 * 16) & 0xffff) | (0x18ull << 16) |
				    (0xeeull << 40) | ((u64)((SIL_STUBS + 0x21 * 16) >> 16) << 48));
	st->idtr.limit = 0x22 * 8 - 1;
	sil_put(&s, SIL_STUBS + 0x21 * 16, h21, sizeof(h21));
	{
		u32 esp0 = SIL_STACK, ss0 = 0x10;
		memcpy(s.ram + SIL_TSS + 4, &esp0, 4);
		memcpy(s.ram + SIL_TSS + 8, &ss0, 4);
	}
	sil_put(&s, CODE + 0x40, user, sizeof(user));
	st->rflags = 2 | CPU_FLAG_IF;
	CHECK_EQ(run32(&s, code, sizeof(code)), CPU_EXIT_HLT);
	/* the handler saw the inner stack: EBP = ESP0 - 20 */
	CHECK_EQ(st->gpr[5], SIL_STACK - 20);
	memcpy(f, s.ram + SIL_STACK - 20, sizeof(f));	/* (rewritten by the #GP below) */
	CHECK_EQ(st->gpr[7], CODE + 0x42);	/* EIP after INT */
	CHECK_EQ(st->gpr[1], 0x63);
	CHECK(f[2] & CPU_FLAG_IF, "EFLAGS in the frame");
	CHECK_EQ(f[3], 0x300000);
	CHECK_EQ(f[4], 0x6b);
	/* IRET returned to CPL3; its HLT then took #GP(0) */
	CHECK_EQ(st->gpr[6] & 0xffff, 0x63);
	CHECK(took32(&s, 13, 0), "HLT at CPL3: no #GP(0)");

	/* virtual-8086 mode: IRET with VM set, then INT 0x21 (IOPL 3) */
	{
		static const u8 to_vm86[] = {
			0x6a, 0x00,			/* push $0 (GS) */
			0x6a, 0x00,			/* push $0 (FS) */
			0x68, 0x00, 0x20, 0, 0,		/* push $0x2000 (DS) */
			0x68, 0x00, 0x30, 0, 0,		/* push $0x3000 (ES) */
			0x68, 0x00, 0x40, 0, 0,		/* push $0x4000 (SS) */
			0x68, 0x00, 0x10, 0, 0,		/* push $0x1000 (ESP) */
			0x68, 0x02, 0x32, 0x02, 0,	/* push $0x23202 (VM, IOPL3, IF) */
			0x68, 0x00, 0x10, 0, 0,		/* push $0x1000 (CS) */
			0x6a, 0x00,			/* push $0 (EIP) */
			0xcf,				/* iret */
		};
		/* at 0x1000:0000 = linear 0x10000, 16-bit code */
		static const u8 v86[] = {
			0xb8, 0x34, 0x12,		/* mov $0x1234, %ax */
			0xcd, 0x21,			/* int $0x21 */
		};
		static const u8 h21b[] = { 0x6a, 0x21, 0xf4 };	/* push $0x21; hlt */
		u32 fr[10];

		sil_put(&s, 0x10000, v86, sizeof(v86));
		sil_put(&s, SIL_STUBS + 0x21 * 16, h21b, sizeof(h21b));
		CHECK_EQ(run32(&s, to_vm86, sizeof(to_vm86)), CPU_EXIT_HLT);
		CHECK_EQ(st->gpr[0] & 0xffff, 0x1234);
		CHECK_EQ(st->seg[CPU_SEG_CS].sel, 0x18);
		CHECK(!(st->rflags & CPU_FLAG_VM), "still in VM86 mode");
		CHECK(st->seg[CPU_SEG_DS].ar & CPU_AR_UNUSABLE, "DS not null after VM86 -> CPL0");
		memcpy(fr, s.ram + st->gpr[4], sizeof(fr));
		CHECK_EQ(fr[0], 0x21);		/* the stub's push */
		CHECK_EQ(fr[1], 5);		/* EIP after INT */
		CHECK_EQ(fr[2], 0x1000);	/* CS */
		CHECK(fr[3] & CPU_FLAG_VM, "EFLAGS.VM in the frame");
		CHECK_EQ(fr[4], 0x1000);	/* ESP */
		CHECK_EQ(fr[5], 0x4000);	/* SS */
		CHECK_EQ(fr[6], 0x3000);	/* ES */
		CHECK_EQ(fr[7], 0x2000);	/* DS */
		CHECK_EQ(fr[8], 0);		/* FS */
		CHECK_EQ(fr[9], 0);		/* GS */
	}
	sil_fini(&s);
}

static u64 gate_desc(u64 off, u16 sel, int type, int dpl, int params)
{
	return (off & 0xffff) | ((u64)sel << 16) | ((u64)params << 32) | ((u64)type << 40) |
	       ((u64)dpl << 45) | (1ull << 47) | (((off >> 16) & 0xffff) << 48);
}

/* CALL through a 32-bit call gate from CPL3 with 2 parameters; RET 8 back. */
static void call_gate_32(void)
{
	struct sil s;
	struct cpu_state *st;
	static const u8 to_user[] = {
		0x6a, 0x6b, 0x68, 0x00, 0x00, 0x30, 0x00,	/* push $0x6b; push $0x300000 */
		0x6a, 0x63, 0x68, 0x40, 0x00, 0x10, 0x00,	/* push $0x63; push $0x100040 */
		0xcb,						/* lret */
	};
	static const u8 user[] = {
		0x68, 0x11, 0x11, 0x11, 0x11,			/* push $0x11111111 */
		0x68, 0x22, 0x22, 0x22, 0x22,			/* push $0x22222222 */
		0x9a, 0, 0, 0, 0, 0x7b, 0,			/* lcall $0x7b, $0 */
		0x89, 0xe7,					/* mov %esp, %edi */
		0xf4,
	};
	static const u8 handler[] = {
		0x8b, 0x04, 0x24, 0x8b, 0x5c, 0x24, 0x04, 0x8b, 0x4c, 0x24, 0x08,
		0x8b, 0x54, 0x24, 0x0c, 0x8b, 0x74, 0x24, 0x10, 0x8b, 0x6c, 0x24, 0x14,
		0xca, 0x08, 0x00,				/* lret $8 */
	};
	u32 esp0 = SIL_STACK, ss0 = 0x10;

	setup32(&s);
	st = cpu_state(s.c);
	put64(&s, SIL_GDT + 0x78, gate_desc(CODE + 0x80, 0x18, 0xc, 3, 2));
	memcpy(s.ram + SIL_TSS + 4, &esp0, 4);
	memcpy(s.ram + SIL_TSS + 8, &ss0, 4);
	sil_put(&s, CODE + 0x40, user, sizeof(user));
	sil_put(&s, CODE + 0x80, handler, sizeof(handler));
	CHECK_EQ(run32(&s, to_user, sizeof(to_user)), CPU_EXIT_HLT);
	CHECK(took32(&s, 13, 0), "the final HLT at CPL3");
	CHECK_EQ(st->gpr[0], CODE + 0x51);	/* return EIP */
	CHECK_EQ(st->gpr[3], 0x63);		/* caller CS */
	CHECK_EQ(st->gpr[1], 0x22222222);	/* parameters copied in order */
	CHECK_EQ(st->gpr[2], 0x11111111);
	CHECK_EQ(st->gpr[6], 0x300000 - 8);	/* caller ESP */
	CHECK_EQ(st->gpr[5], 0x6b);		/* caller SS */
	CHECK_EQ(st->gpr[7], 0x300000);		/* RET 8 released the parameters */
	sil_fini(&s);
}

/* CALL through a 64-bit call gate from CPL3; LRETQ back to CPL3. */
static void call_gate_64(void)
{
	struct sil s;
	struct cpu_state *st;
	static const u8 user[] = {
		0x48, 0xff, 0x18,				/* lcall *(%rax) (m16:64) */
		0x48, 0x89, 0xe7,				/* mov %rsp, %rdi */
		0x8c, 0xd6,					/* mov %ss, %esi */
		0xf4,
	};
	static const u8 handler[] = {
		0x48, 0x8b, 0x04, 0x24,				/* mov (%rsp), %rax */
		0x48, 0x8b, 0x5c, 0x24, 0x08,			/* mov 8(%rsp), %rbx */
		0x48, 0x8b, 0x4c, 0x24, 0x10,			/* mov 16(%rsp), %rcx */
		0x48, 0x8b, 0x54, 0x24, 0x18,			/* mov 24(%rsp), %rdx */
		0x49, 0x89, 0xe0,				/* mov %rsp, %r8 */
		0x8c, 0xd5,					/* mov %ss, %ebp */
		0x48, 0xcb,					/* lretq */
	};
	u8 farptr[10] = { 0 };

	setup64(&s);
	st = cpu_state(s.c);
	put64(&s, SIL_GDT + 0x40, gate_desc(CODE + 0x80, 0x08, 0xc, 3, 0));
	put64(&s, SIL_GDT + 0x48, 0);
	st->gdtr.limit = 0x4f;
	farptr[8] = 0x43;	/* selector 0x40 | RPL3 */
	memcpy(s.ram + 0x200000, farptr, sizeof(farptr));
	st->gpr[0] = 0x200000;
	sil_put(&s, CODE + 0x80, handler, sizeof(handler));
	CHECK_EQ(run(&s, user, sizeof(user), true), CPU_EXIT_HLT);
	CHECK(took(&s, 13, 0), "the final HLT at CPL3");
	CHECK_EQ(st->gpr[0], CODE + 3);		/* return RIP */
	CHECK_EQ(st->gpr[3], 0x2b);		/* caller CS */
	CHECK_EQ(st->gpr[1], 0x300000);		/* caller RSP */
	CHECK_EQ(st->gpr[2], 0x23);		/* caller SS */
	CHECK_EQ(st->gpr[8], SIL_STACK - 32);	/* RSP0 minus the frame */
	CHECK_EQ(st->gpr[5], 0);		/* a null SS at CPL0 */
	CHECK_EQ(st->gpr[7], 0x300000);
	CHECK_EQ(st->gpr[6], 0x23);
	sil_fini(&s);
}

int main(void)
{
	RUN_TEST(paging_ad_bits);
	RUN_TEST(paging_protection);
	RUN_TEST(tlb_and_invlpg);
	RUN_TEST(mmio_pages);
	RUN_TEST(rep_movs_restart);
	RUN_TEST(rep_string_long);
	RUN_TEST(msrs_cpuid_tsc);
	RUN_TEST(control_registers);
	RUN_TEST(privilege_rules);
	RUN_TEST(alignment_check);
	RUN_TEST(monitor_mwait);
	RUN_TEST(segment_checks);
	RUN_TEST(pae_pdptes);
	RUN_TEST(lar_lsl_verr);
	RUN_TEST(far_transfers_32);
	RUN_TEST(interrupts_32_privilege);
	RUN_TEST(call_gate_32);
	RUN_TEST(call_gate_64);
	return test_cases_failed ? 1 : 0;
}
