/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as the KVM-API runners and silicon_bench give it to the
 * benchmark guest: the image at BENCH_IMAGE_BASE, a 64-bit GDT and a 4-level
 * identity map of the first 4 GiB (2 MiB pages), the same map the image's
 * multiboot path builds for itself under QEMU.
 */
#ifndef BENCH_GUEST_MEM_H
#define BENCH_GUEST_MEM_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void write_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + BENCH_PT_BASE);
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;

	memset(pml4, 0, 6 * 4096);
	pml4[0] = (BENCH_PT_BASE + 0x1000) | 3;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (BENCH_PT_BASE + 0x2000 + i * 0x1000) | 3;
	for (uint64_t i = 0; i < 2048; i++)
		pd[i] = (i << 21) | 0x83;	/* present, writable, 2 MiB */
}

/* GDT: null, 64-bit code (0x08), data (0x10), a 64-bit TSS (0x18) at 0x3000. */
#define BENCH_TSS 0x3000
static inline void write_gdt(uint8_t *mem)
{
	uint64_t *gdt = (uint64_t *)(mem + BENCH_GDT);

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	gdt[3] = 0x67 | ((uint64_t)BENCH_TSS << 16) | (0x8bull << 40);	/* busy TSS */
	gdt[4] = 0;
}

/**
 * load_image() - copy the benchmark image file to @mem + BENCH_IMAGE_BASE
 * Return: 0, or -1 with a message in @err.
 */
static inline int load_image(uint8_t *mem, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f) {
		snprintf(err, errlen, "cannot open %.200s", path);
		return -1;
	}
	len = fread(mem + BENCH_IMAGE_BASE, 1, BENCH_STACK_TOP - 0x10000 - BENCH_IMAGE_BASE, f);
	fclose(f);
	if (len < 0x48 || *(uint32_t *)(mem + BENCH_IMAGE_BASE) != 0x1badb002 ||
	    mem[BENCH_HOST_ENTRY] != 0xe9) {
		snprintf(err, errlen, "%.200s is not the benchmark image", path);
		return -1;
	}
	return 0;
}

#endif /* BENCH_GUEST_MEM_H */
