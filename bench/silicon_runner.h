/* SPDX-License-Identifier: MIT */
/*
 * The processor-alone side of the benchmark runners: a struct cpu (from
 * src/silicon/silicon.h, no KVM) set up in long mode at CPL0 for the
 * benchmark guest's host_entry command loop, its port I/O and MMIO
 * callbacks, and the loop that gives it commands.  Used by
 * bench/silicon_bench.c and by tests/bench/guest_test.c.
 */
#ifndef BENCH_SILICON_RUNNER_H
#define BENCH_SILICON_RUNNER_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "guest_mem.h"
#include "silicon/silicon.h"

struct bench_vm {
	struct cpu *cpu;
	uint8_t *mem;
	/* the command being run */
	uint32_t words[4];
	int given;
	int started, ended, done;
	double t0, t1;
	uint64_t icount_start, icount_end;	/* cpu_instructions() after the two OUTs */
	int stopped_start, stopped_end;
	uint32_t lo;
	uint64_t result;
	uint64_t dev_out, dev_in, mmio, hlt;
	char err[256];
};

static inline int bench_pio(void *opaque, struct cpu *cpu, u16 port, int size, bool write, u32 *val)
{
	struct bench_vm *v = opaque;

	switch (port) {
	case BENCH_PORT_DEV:
		if (write) {
			v->dev_out++;
		} else {
			*val = size == 4 ? 0xffffffff : size == 2 ? 0xffff : 0xff;
			v->dev_in++;
		}
		return 0;
	case BENCH_PORT_CMD:
		if (!write && size == 4 && v->given < 4) {
			*val = v->words[v->given++];
			return 0;
		}
		break;
	case BENCH_PORT_START:
		if (write && v->given == 4) {
			v->started = 1;
			v->t0 = now();
			return 1;	/* stop, to read the instruction counter */
		}
		break;
	case BENCH_PORT_END:
		if (write && size == 4 && v->started) {
			v->t1 = now();
			v->ended = 1;
			v->lo = *val;
			return 1;
		}
		break;
	case BENCH_PORT_RESULT_HI:
		if (write && size == 4 && v->ended) {
			v->result = v->lo | (uint64_t)*val << 32;
			v->done = 1;
			return 1;	/* stop: the command is complete */
		}
		break;
	}
	snprintf(v->err, sizeof(v->err), "unexpected %s port %#x size %d", write ? "OUT" : "IN", port, size);
	return 1;
}

static inline int bench_mmio(void *opaque, struct cpu *cpu, u64 gpa, int size, bool write, u64 *val)
{
	struct bench_vm *v = opaque;

	if (write && gpa == BENCH_MMIO_GPA) {
		v->mmio++;
		return 0;
	}
	snprintf(v->err, sizeof(v->err), "unexpected MMIO %s at %#llx", write ? "write" : "read",
		 (unsigned long long)gpa);
	return 1;
}

static const struct cpu_io_ops bench_io_ops = { .pio = bench_pio, .mmio = bench_mmio };

static inline int vm_setup(struct bench_vm *v, const char *image)
{
	struct cpu_seg code = { .base = 0, .limit = 0xffffffff, .sel = 0x08,
				.ar = 0xb | CPU_AR_S | CPU_AR_P | CPU_AR_L | CPU_AR_G };
	struct cpu_seg data = { .base = 0, .limit = 0xffffffff, .sel = 0x10,
				.ar = 0x3 | CPU_AR_S | CPU_AR_P | CPU_AR_DB | CPU_AR_G };
	struct cpu_seg tr = { .base = BENCH_TSS, .limit = 0x67, .sel = 0x18, .ar = 0xb | CPU_AR_P };
	struct cpu_seg ldt = { .ar = CPU_AR_UNUSABLE };
	struct cpu_state *s;

	v->mem = mmap(NULL, BENCH_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED) {
		snprintf(v->err, sizeof(v->err), "cannot map guest memory");
		return -1;
	}
	if (load_image(v->mem, image, v->err, sizeof(v->err)))
		return -1;
	write_gdt(v->mem);
	write_page_tables(v->mem);

	v->cpu = cpu_create();
	if (!v->cpu) {
		snprintf(v->err, sizeof(v->err), "cpu_create failed");
		return -1;
	}
	if (cpu_map_phys(v->cpu, 0, BENCH_MEM_SIZE, v->mem, 0)) {
		snprintf(v->err, sizeof(v->err), "cpu_map_phys failed");
		return -1;
	}
	cpu_set_io_ops(v->cpu, &bench_io_ops, v);
	s = cpu_state(v->cpu);
	s->seg[CPU_SEG_CS] = code;
	s->seg[CPU_SEG_DS] = s->seg[CPU_SEG_ES] = s->seg[CPU_SEG_SS] = data;
	s->seg[CPU_SEG_FS] = s->seg[CPU_SEG_GS] = data;
	s->seg[CPU_SEG_TR] = tr;
	s->seg[CPU_SEG_LDTR] = ldt;
	s->gdtr.base = BENCH_GDT;
	s->gdtr.limit = 5 * 8 - 1;
	s->idtr.base = 0;
	s->idtr.limit = 0;
	s->cr0 = CPU_CR0_PG | CPU_CR0_AM | CPU_CR0_WP | CPU_CR0_NE | CPU_CR0_ET | CPU_CR0_MP | CPU_CR0_PE;
	s->cr3 = BENCH_PT_BASE;
	s->cr4 = CPU_CR4_PAE;
	s->efer = CPU_EFER_LME | CPU_EFER_LMA;
	s->rip = BENCH_HOST_ENTRY;
	s->gpr[4] = BENCH_STACK_TOP;
	s->rflags = 2;
	cpu_state_changed(v->cpu);
	return 0;
}

static inline int run_command(struct bench_vm *v, uint32_t id, uint64_t n, uint64_t size, double *sec,
		       uint64_t *result)
{
	v->words[0] = id;
	v->words[1] = (uint32_t)n;
	v->words[2] = (uint32_t)(n >> 32);
	v->words[3] = (uint32_t)size;
	v->given = v->started = v->ended = v->done = 0;
	v->stopped_start = v->stopped_end = 0;
	v->dev_out = v->dev_in = v->mmio = v->hlt = 0;
	for (;;) {
		enum cpu_exit e = cpu_run(v->cpu, 0);

		if (v->err[0])
			return -1;
		switch (e) {
		case CPU_EXIT_IO:
			if (v->started && !v->stopped_start) {
				v->stopped_start = 1;
				v->icount_start = cpu_instructions(v->cpu);
			}
			if (v->ended && !v->stopped_end) {
				v->stopped_end = 1;
				v->icount_end = cpu_instructions(v->cpu);
			}
			if (v->done) {
				*sec = v->t1 - v->t0;
				*result = v->result;
				return 0;
			}
			continue;
		case CPU_EXIT_HLT:
			if (id == WL_CMD_STOP)
				return 0;
			v->hlt++;
			cpu_state(v->cpu)->activity = CPU_ACTIVE;
			cpu_state_changed(v->cpu);
			continue;
		case CPU_EXIT_BUDGET:
		case CPU_EXIT_KICK:
			continue;
		default:
			snprintf(v->err, sizeof(v->err), "cpu_run returned %d at rip %#llx", (int)e,
				 (unsigned long long)cpu_state(v->cpu)->rip);
			return -1;
		}
	}
}

static inline int run_ok(struct bench_vm *v, int id, uint64_t n, uint64_t size, uint64_t result, char *note,
		  size_t len)
{
	uint64_t want_out = id == WL_EX_OUT ? n : 0, want_in = id == WL_EX_IN ? n : 0;
	uint64_t want_mmio = id == WL_EX_MMIO ? n : 0, want_hlt = id == WL_EX_HLT ? n : 0;
	int ok;
	uint64_t want = bench_expected(id, n, size, &ok);

	if (ok && result != want) {
		snprintf(note, len, "WRONG result %#" PRIx64 ", expected %#" PRIx64, result, want);
		return 0;
	}
	if (v->dev_out != want_out || v->dev_in != want_in || v->mmio != want_mmio || v->hlt != want_hlt) {
		snprintf(note, len, "WRONG exits: %" PRIu64 " OUT, %" PRIu64 " IN, %" PRIu64 " MMIO, %" PRIu64
			 " HLT for n=%" PRIu64, v->dev_out, v->dev_in, v->mmio, v->hlt, n);
		return 0;
	}
	snprintf(note, len, "result %#" PRIx64 " %s", result, ok ? "ok" : "(not checked)");
	return 1;
}

static inline void vm_destroy(struct bench_vm *v)
{
	if (v->cpu)
		cpu_destroy(v->cpu);
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, BENCH_MEM_SIZE);
}

#endif /* BENCH_SILICON_RUNNER_H */
