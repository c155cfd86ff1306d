// SPDX-License-Identifier: MIT
/*
 * guest_test.c: whole guests on silicon, from RESET, checked through what
 * they report on port 0xe9 (see guest_modes.S for the steps).
 */
#include <string.h>

#include "../test.h"
#include "sil.h"

extern const u8 guest_modes_start[], guest_modes_end[];
extern const u8 guest_tf_start[], guest_tf_end[];
extern const u8 guest_real_start[], guest_real_end[];

#define MB (1ull << 20)

static u8 rom[4096] __attribute__((aligned(4096)));

/* RAM at 0, the guest at 0x10000, a ROM page whose reset vector jumps there. */
static int boot(struct sil *s, const u8 *start, const u8 *end)
{
	if (sil_init(s, 32 * MB))
		return -1;
	memset(rom, 0xf4, sizeof(rom));
	rom[0xff0] = 0xea;	/* jmp 0x1000:0000 */
	rom[0xff1] = 0x00;
	rom[0xff2] = 0x00;
	rom[0xff3] = 0x00;
	rom[0xff4] = 0x10;
	cpu_code_written(rom, sizeof(rom));
	if (cpu_map_phys(s->c, 0xfffff000, 4096, rom, CPU_PHYS_READONLY))
		return -1;
	sil_put(s, 0x10000, start, (u64)(end - start));
	s->stop_port = 0xf4;
	cpu_reset(s->c, false);
	return 0;
}

static const u32 modes_expected[] = {
	/* real mode */
	0x1001, 42, 0xe000, 0x1002,
	/* 32-bit protected mode: #GP(0x50), #UD */
	0x2001, 0xe00d, 0xee000050, 0xe006, 0xee000000, 0x2002,
	/* 32-bit paging: #PF not present, #PF write to read-only */
	0x2003, 0xe00e, 0xee000000, 0x800010, 0xe00e, 0xee000003, 0xc00020, 0x5a5a,
	/* PAE + NX: fetch from an NX page */
	0x2004, 0xe00e, 0xee000011, 0x800000, 0x2005,
	/* long mode: #UD, #DE, #GP(0), #BP on IST1, #DF */
	0x3001, 0xe006, 0xee000000, 0xe000, 0xee000000, 0xe00d, 0xee000000,
	0xe003, 0xee000000, 0x6f, 0xe008, 0xee000000, 0x3002,
	/* CPL3: SYSCALL (RCX, R11.IF), INT 0x80 from CPL3, #GP(0) on OUT, #PF 5 */
	0x7000, 0x200, 0x8003, 0xe00d, 0xee000000, 0xe00e, 0xee000005, 0xa00000, 0,
	0x3003,
	/* compatibility mode, paging off: EFER = LME|SCE|NXE; 5-level paging */
	0x901, 0x5001, 0xe00e, 0xee000000, 0, 0x10000, 0x5002,
};

static void guest_modes(void)
{
	struct sil s;
	enum cpu_exit e;
	int n;

	if (boot(&s, guest_modes_start, guest_modes_end)) {
		CHECK(0, "setup failed");
		return;
	}
	e = cpu_run(s.c, 10000000);
	CHECK_EQ(e, CPU_EXIT_IO);
	n = s.nout - 1;	/* the last OUT is the one to port 0xf4 */
	CHECK_EQ(s.out_port[s.nout - 1], 0xf4);
	for (int k = 0; k < n && k < (int)ARRAY_SIZE(modes_expected); k++) {
		if (s.out[k] != modes_expected[k]) {
			CHECK(0, "step %d: got %#x, want %#x (rip %#llx)", k, s.out[k],
			      modes_expected[k], (unsigned long long)cpu_state(s.c)->rip);
			break;
		}
	}
	CHECK_EQ(n, ARRAY_SIZE(modes_expected));
	if (test_failed_now) {
		printf("     log:");
		for (int k = 0; k < s.nout; k++)
			printf(" %#x", s.out[k]);
		printf("\n     rip %#llx cs %#x\n", (unsigned long long)cpu_state(s.c)->rip,
		       cpu_state(s.c)->seg[CPU_SEG_CS].sel);
	}
	sil_fini(&s);
}

/* Real mode with an IDT limit of 0: #GP -> #DF -> shutdown. */
static void guest_triple_fault(void)
{
	struct sil s;
	enum cpu_exit e;

	if (boot(&s, guest_tf_start, guest_tf_end)) {
		CHECK(0, "setup failed");
		return;
	}
	e = cpu_run(s.c, 100000);
	CHECK_EQ(e, CPU_EXIT_SHUTDOWN);
	CHECK_EQ(cpu_state(s.c)->activity, CPU_SHUTDOWN);
	CHECK_EQ(s.nout, 1);
	CHECK_EQ(s.out[0], 0x7f01);
	/* a shut-down cpu stays down */
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_SHUTDOWN);
	sil_fini(&s);
}

/* Real-mode instructions and unreal mode (guest_real.S) */
static void guest_real(void)
{
	static const u32 want[] = {
		0x1111, 0x68ac, 0xfff0, 0x4443, 0x3000, 0x0042, 0x33, 6, 0xffff, 0xcafe,
	};
	struct sil s;

	if (boot(&s, guest_real_start, guest_real_end)) {
		CHECK(0, "setup failed");
		return;
	}
	CHECK_EQ(cpu_run(s.c, 100000), CPU_EXIT_IO);
	CHECK_EQ(s.nout, ARRAY_SIZE(want) + 1);
	for (int k = 0; k < s.nout - 1 && k < (int)ARRAY_SIZE(want); k++)
		if ((s.out[k] & 0xffff) != (want[k] & 0xffff) ||
		    (want[k] > 0xffff && s.out[k] != want[k]))
			CHECK(0, "step %d: got %#x, want %#x", k, s.out[k], want[k]);
	CHECK_EQ(s.ram[0x200000] | (s.ram[0x200001] << 8), 0xcafe);	/* unreal-mode store */
	sil_fini(&s);
}

/* INIT puts an AP in wait-for-SIPI; the SIPI starts it at vector:0000. */
static void init_sipi(void)
{
	static const u8 ap[] = {
		0x8c, 0xc8,			/* mov %cs, %ax */
		0xe6, 0xe9,			/* out %al, $0xe9 */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	sil_init(&s, 1 << 20);
	st = cpu_state(s.c);
	sil_put(&s, 0x9a000, ap, sizeof(ap));
	cpu_reset(s.c, true);
	CHECK_EQ(st->rip, 0xfff0);
	CHECK_EQ(st->seg[CPU_SEG_CS].base, 0xffff0000);
	st->activity = CPU_WAIT_SIPI;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_WAIT_SIPI);
	cpu_sipi(s.c, 0x9a);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(s.nout, 1);
	CHECK_EQ(s.out[0] & 0xff, 0x00);	/* AL = low byte of CS 0x9a00 */
	CHECK_EQ(st->seg[CPU_SEG_CS].sel, 0x9a00);
	CHECK_EQ(st->rip, 5);
	sil_fini(&s);
}

int main(void)
{
	RUN_TEST(guest_modes);
	RUN_TEST(guest_triple_fault);
	RUN_TEST(init_sipi);
	RUN_TEST(guest_real);
	return test_cases_failed ? 1 : 0;
}
