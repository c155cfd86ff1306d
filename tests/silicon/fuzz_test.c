// SPDX-License-Identifier: MIT
/*
 * fuzz_test.c: random bytes as code, in every mode and at CPL0 and CPL3.
 * Whatever the guest does (including overwriting its own page tables,
 * GDT and IDT), the processor must stay inside its memory, never crash
 * or hang the host, and always return from cpu_run() within the budget.
 * ASan (make test MODE=asan) checks the "inside its memory" part.
 */
#include <string.h>

#include "../test.h"
#include "sil.h"

#define CODE 0x100000
#define CODE_SIZE 0x10000
#define SYS_END 0x80000		/* GDT, IDT, stubs, page tables: read-only */
#define STACK 0x90000

static u64 rng = 0x1234567890abcdefull;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum { F_LONG, F_COMPAT, F_USER, F_REAL };

static void prepare(struct sil *s, int mode)
{
	struct cpu_state *st = cpu_state(s->c);

	memset(s->ram, 0, CODE + CODE_SIZE);	/* the rest keeps earlier garbage */
	if (mode == F_REAL) {
		cpu_reset(s->c, false);
		st->seg[CPU_SEG_CS].sel = 0x1000;
		st->seg[CPU_SEG_CS].base = CODE;
		st->rip = 0;
	} else {
		sil_long_mode(s);
		/* every vector on IST1: random code clobbers RSP all the time */
		for (int v = 0; v < 256; v++)
			s->ram[SIL_IDT + v * 16 + 4] = 1;
		memcpy(s->ram + SIL_TSS + 0x24, &(u64){ STACK }, 8);
		st->rip = CODE;
		if (mode == F_COMPAT)
			st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xc09b, 0x18 };
		if (mode == F_USER) {
			st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xa0fb, 0x2b };
			st->seg[CPU_SEG_SS] = (struct cpu_seg){ 0, 0xffffffff, 0xc0f3, 0x23 };
		}
	}
	for (int k = 0; k < CODE_SIZE; k += 8) {
		u64 v = rnd();
		/* mostly plausible code: favour one-byte and 0F opcodes, ModRM */
		memcpy(s->ram + CODE + k, &v, 8);
	}
	for (int k = 0; k < 16; k++)
		st->gpr[k] = (rnd() & 1) ? rnd() : (rnd() & 0x3fffff);
	st->gpr[1] &= 0x3ff;	/* keep REP counts (each chunk counts once) small */
	st->gpr[4] = mode == F_REAL ? 0x8000 : (mode == F_USER ? 0x300000 : STACK);
	if (mode == F_USER)
		memcpy(s->ram + SIL_TSS + 4, &(u64){ STACK }, 8);
	st->rflags = 2 | (rnd() & 0xcd5);
	cpu_code_written(s->ram, CODE + CODE_SIZE);
	cpu_state_changed(s->c);
}

static void fuzz(int mode, int programs)
{
	struct sil s;
	int exits[16] = { 0 };
	u64 insns = 0;

	sil_init(&s, 8 << 20);
	/*
	 * The system structures live in a read-only range so that random
	 * stores do not end every program in a triple fault (writes there go
	 * to the MMIO callback and are dropped).
	 */
	cpu_map_phys(s.c, 0, 0, NULL, 0);
	if (mode != F_REAL) {
		cpu_map_phys(s.c, 0, SYS_END, s.ram, CPU_PHYS_READONLY);
		cpu_map_phys(s.c, SYS_END, s.ram_size - SYS_END, s.ram + SYS_END, 0);
	} else {
		cpu_map_phys(s.c, 0, s.ram_size, s.ram, 0);
	}
	for (int p = 0; p < programs; p++) {
		prepare(&s, mode);
		for (int r = 0; r < 40; r++) {
			u64 before = cpu_instructions(s.c);
			enum cpu_exit e = cpu_run(s.c, 500);
			u64 ran = cpu_instructions(s.c) - before;
			CHECK(ran <= 500, "ran %llu instructions with a budget of 500",
			      (unsigned long long)ran);
			insns += ran;
			if ((unsigned)e < 16)
				exits[e]++;
			if (e == CPU_EXIT_SHUTDOWN || e == CPU_EXIT_WAIT_SIPI)
				break;
			if (e == CPU_EXIT_HLT) {
				/* mostly an exception stub: go on somewhere else */
				struct cpu_state *st = cpu_state(s.c);
				st->activity = CPU_ACTIVE;
				st->rip = (mode == F_REAL ? 0 : CODE) + rnd() % CODE_SIZE;
				st->gpr[4] = mode == F_REAL ? 0x8000 :
					     (st->seg[CPU_SEG_CS].ar & 0x60) ? 0x300000 : STACK;
				cpu_state_changed(s.c);
			}
			if (e == CPU_EXIT_IRQ)
				cpu_set_intr(s.c, false);
		}
		if (test_failed_now)
			break;
	}
	CHECK(insns > 0, "nothing ran");
	printf("     %llu instructions; exits: budget %d hlt %d shutdown %d io %d\n",
	       (unsigned long long)insns, exits[CPU_EXIT_BUDGET], exits[CPU_EXIT_HLT],
	       exits[CPU_EXIT_SHUTDOWN], exits[CPU_EXIT_IO]);
	sil_fini(&s);
}

static void fuzz_long(void) { fuzz(F_LONG, 100); }
static void fuzz_compat(void) { fuzz(F_COMPAT, 100); }
static void fuzz_user(void) { fuzz(F_USER, 100); }
static void fuzz_real(void) { fuzz(F_REAL, 40); }

int main(void)
{
	RUN_TEST(fuzz_long);
	RUN_TEST(fuzz_compat);
	RUN_TEST(fuzz_user);
	RUN_TEST(fuzz_real);
	return test_cases_failed ? 1 : 0;
}
