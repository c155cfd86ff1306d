/* SPDX-License-Identifier: MIT */
/*
 * sil.h: helpers shared by the silicon tests: a cpu with RAM at physical
 * 0, put straight into 64-bit mode at CPL0 (flat GDT, identity-mapped
 * first 4 GiB with 1 GiB pages, an IDT whose vector-v stub is
 * "push $v; hlt"), and a port-I/O log.
 */
#ifndef SIL_TEST_H
#define SIL_TEST_H

#include "silicon/silicon.h"

#define SIL_GDT    0x1000
#define SIL_IDT    0x2000
#define SIL_STUBS  0x3000	/* 16 bytes per vector */
#define SIL_PML4   0x5000
#define SIL_PDPT   0x6000
#define SIL_TSS    0x7000
#define SIL_STACK  0x80000

struct sil {
	struct cpu *c;
	u8 *ram;
	u64 ram_size;
	/* port I/O log */
	u32 out[256];
	u16 out_port[256];
	int nout;
	int stop_port;		/* a write there stops cpu_run (CPU_EXIT_IO) */
	int mmio_count;
};

int sil_init(struct sil *s, u64 ram_size);
void sil_fini(struct sil *s);
/* Enter 64-bit mode at CPL0 with the flat tables above. */
void sil_long_mode(struct sil *s);
static inline void sil_put(struct sil *s, u64 gpa, const void *p, u64 n)
{
	extern void *memcpy(void *, const void *, unsigned long);
	memcpy(s->ram + gpa, p, n);
	cpu_code_written(s->ram + gpa, n);
}

static inline u64 sil_get64(struct sil *s, u64 gpa)
{
	u64 v;

	__builtin_memcpy(&v, s->ram + gpa, 8);
	return v;
}
/*
 * Put @code (ending in HLT) at @gpa and run it there to an exit, at CPL0
 * on SIL_STACK or, with @user, at CPL3 on a user stack (flat 64-bit
 * segments of the sil GDT).
 */
enum cpu_exit sil_run(struct sil *s, u64 gpa, const u8 *code, u64 n, bool user);

#endif
