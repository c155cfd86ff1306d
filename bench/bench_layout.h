/* SPDX-License-Identifier: MIT */
/*
 * The guest image's contract with its runners: addresses, ports and
 * workload numbers.  Only #defines, so the guest's assembly (bench/guest/ *.S files)
 * and the host runners (bench/ *.c files) include the same file.
 */
#ifndef BENCH_LAYOUT_H
#define BENCH_LAYOUT_H

/* Guest-physical memory map (identity mapped, 2 MiB pages, first 4 GiB). */
#define BENCH_GDT		0x1000		/* null, code64 (0x08), data (0x10), TSS (0x18) */
#define BENCH_PT_BASE		0x10000		/* PML4, PDPT, then 4 PDs: 6 pages */
#define BENCH_IMAGE_BASE	0x100000	/* the flat image is loaded (and linked) here */
#define BENCH_HOST_ENTRY	(BENCH_IMAGE_BASE + 0x40)	/* 64-bit entry for KVM-API runners */
#define BENCH_INIT_TAB_PTR	(BENCH_IMAGE_BASE + 0x48)	/* u64: address of the init table */
#define BENCH_RUN_TAB_PTR	(BENCH_IMAGE_BASE + 0x50)	/* u64: address of the run table */
#define BENCH_STACK_TOP		0x380000
#define BENCH_SCRATCH		0x400000	/* workload memory: CRC table + buffer, sieve */
#define BENCH_SCRATCH_SIZE	0x200000
#define BENCH_MEM_SIZE		0x800000	/* guest RAM the KVM-API runners give (8 MiB) */
#define BENCH_MMIO_GPA		0xc0000000	/* no RAM, no device: an MMIO exit on KVM */

/* Ports. */
#define BENCH_PORT_CMD		0x500	/* IN (32-bit): next word of a command from the host */
#define BENCH_PORT_START	0x501	/* OUT: timed part begins */
#define BENCH_PORT_END		0x502	/* OUT (32-bit): timed part ended, eax = result[31:0] */
#define BENCH_PORT_RESULT_HI	0x503	/* OUT (32-bit): result[63:32] */
#define BENCH_PORT_DEV		0x80	/* exit benchmarks' OUT/IN target (QEMU: ioport80) */
#define BENCH_PORT_SERIAL	0x3f8	/* COM1, for the self-driven (QEMU) driver */
#define BENCH_PORT_DEBUG_EXIT	0xf4	/* QEMU isa-debug-exit */

/* Workloads (index into the image's init/run tables). */
#define WL_ALU		0
#define WL_CRC32	1
#define WL_SIEVE	2
#define WL_NR_MIPS	3	/* the first WL_NR_MIPS are the MIPS workloads */
#define WL_EX_EMPTY	3	/* exit loops: same loop, exit instruction replaced by NOP */
#define WL_EX_OUT	4
#define WL_EX_IN	5
#define WL_EX_MMIO	6
#define WL_EX_CPUID	7
#define WL_EX_HLT	8
#define WL_NR		9
#define WL_CMD_STOP	0xffffffff

/* Fixed sizes (bytes) of the data-driven workloads. */
#define BENCH_CRC_SIZE		4096
#define BENCH_SIEVE_SIZE	65536

/*
 * The self-driven driver doubles n from 1 until one run takes at least this
 * many TSC cycles (about 0.1 s at 2.6 GHz).
 */
#define BENCH_TCG_MIN_CYCLES	0x10000000

/* Every runner reports the fastest of this many runs at the final n. */
#define BENCH_REPEATS		3

#endif /* BENCH_LAYOUT_H */
