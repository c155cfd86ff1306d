// SPDX-License-Identifier: MIT
/*
 * sil.c: test support, see sil.h.
 */
#include <stdlib.h>
#include <string.h>

#include "sil.h"

static int sil_pio(void *opaque, struct cpu *cpu, u16 port, int size, bool write, u32 *val)
{
	struct sil *s = opaque;

	if (!write) {
		*val = 0xffffffffu;
		return 0;
	}
	if (s->nout < 256) {
		s->out[s->nout] = *val;
		s->out_port[s->nout] = port;
		s->nout++;
	}
	return port == s->stop_port;
}

/* MMIO: reads give 0xab000000 | the low 16 address bits; writes are logged
 * with port 0xffff. */
static int sil_mmio(void *opaque, struct cpu *cpu, u64 gpa, int size, bool write, u64 *val)
{
	struct sil *s = opaque;

	s->mmio_count++;
	if (!write) {
		*val = 0xab000000u | (gpa & 0xffff);
		return 0;
	}
	if (s->nout < 256) {
		s->out[s->nout] = (u32)*val;
		s->out_port[s->nout] = 0xffff;
		s->nout++;
	}
	return 0;
}

static const struct cpu_io_ops sil_ops = { .pio = sil_pio, .mmio = sil_mmio };

int sil_init(struct sil *s, u64 ram_size)
{
	memset(s, 0, sizeof(*s));
	s->ram = aligned_alloc(4096, ram_size);
	if (!s->ram)
		return -1;
	memset(s->ram, 0, ram_size);
	s->ram_size = ram_size;
	s->c = cpu_create();
	if (!s->c)
		return -1;
	s->stop_port = -1;
	cpu_map_phys(s->c, 0, ram_size, s->ram, 0);
	cpu_set_io_ops(s->c, &sil_ops, s);
	return 0;
}

void sil_fini(struct sil *s)
{
	cpu_destroy(s->c);
	free(s->ram);
}

static void put64(struct sil *s, u64 gpa, u64 v)
{
	memcpy(s->ram + gpa, &v, 8);
}

void sil_long_mode(struct sil *s)
{
	struct cpu_state *st = cpu_state(s->c);

	/* GDT: null, 64-bit code 0x08, data 0x10, 32-bit code 0x18, user code 0x2b (64) , user data 0x23 */
	put64(s, SIL_GDT + 0x00, 0);
	put64(s, SIL_GDT + 0x08, 0x00af9b000000ffffull);
	put64(s, SIL_GDT + 0x10, 0x00cf93000000ffffull);
	put64(s, SIL_GDT + 0x18, 0x00cf9b000000ffffull);
	put64(s, SIL_GDT + 0x20, 0x00cff3000000ffffull);
	put64(s, SIL_GDT + 0x28, 0x00affb000000ffffull);
	/* TSS at 0x30 (16 bytes), base SIL_TSS, limit 0x67 */
	put64(s, SIL_GDT + 0x30, 0x0000890000000067ull | ((u64)SIL_TSS << 16));
	put64(s, SIL_GDT + 0x38, 0);
	/* IDT: 64-bit interrupt gates to the stubs */
	for (int v = 0; v < 256; v++) {
		u64 off = SIL_STUBS + v * 16;
		u64 lo = (off & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((off >> 16) << 48);
		u8 stub[4] = { 0x6a, (u8)v, 0xf4, 0xf4 };	/* push $v; hlt */
		put64(s, SIL_IDT + v * 16, lo);
		put64(s, SIL_IDT + v * 16 + 8, 0);
		memcpy(s->ram + SIL_STUBS + v * 16, stub, sizeof(stub));
	}
	/* identity map 4 GiB with 1 GiB pages (user, writable) */
	put64(s, SIL_PML4, SIL_PDPT | 7);
	for (int k = 0; k < 4; k++)
		put64(s, SIL_PDPT + k * 8, ((u64)k << 30) | 0x87);
	cpu_code_written(s->ram, s->ram_size);

	st->cr0 = CPU_CR0_PE | CPU_CR0_PG | CPU_CR0_ET | CPU_CR0_NE | CPU_CR0_WP;
	st->cr4 = CPU_CR4_PAE | CPU_CR4_OSFXSR | CPU_CR4_FSGSBASE;
	st->cr3 = SIL_PML4;
	st->efer = CPU_EFER_LME | CPU_EFER_LMA | CPU_EFER_SCE | CPU_EFER_NXE;
	st->gdtr.base = SIL_GDT;
	st->gdtr.limit = 0x3f;
	st->idtr.base = SIL_IDT;
	st->idtr.limit = 0xfff;
	st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xa09b, 0x08 };
	for (int k = 0; k < 6; k++)
		if (k != CPU_SEG_CS)
			st->seg[k] = (struct cpu_seg){ 0, 0xffffffff, 0xc093, 0x10 };
	st->seg[CPU_SEG_TR] = (struct cpu_seg){ SIL_TSS, 0x67, 0x8b, 0x30 };
	st->seg[CPU_SEG_LDTR] = (struct cpu_seg){ 0, 0, CPU_AR_UNUSABLE, 0 };
	st->rflags = 2;
	st->gpr[4] = SIL_STACK;
	cpu_state_changed(s->c);
}

enum cpu_exit sil_run(struct sil *s, u64 gpa, const u8 *code, u64 n, bool user)
{
	struct cpu_state *st = cpu_state(s->c);

	sil_put(s, gpa, code, n);
	st->rip = gpa;
	st->activity = CPU_ACTIVE;
	st->gpr[4] = user ? 0x300000 : SIL_STACK;
	if (user) {
		st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xa0fb, 0x2b };
		st->seg[CPU_SEG_SS] = (struct cpu_seg){ 0, 0xffffffff, 0xc0f3, 0x23 };
	} else {
		st->seg[CPU_SEG_CS] = (struct cpu_seg){ 0, 0xffffffff, 0xa09b, 0x08 };
		st->seg[CPU_SEG_SS] = (struct cpu_seg){ 0, 0xffffffff, 0xc093, 0x10 };
	}
	cpu_state_changed(s->c);
	return cpu_run(s->c, 100000);
}
