/* SPDX-License-Identifier: MIT */
/*
 * The KVM-API side of the benchmark runners: a VM set up for the benchmark
 * guest's host_entry command loop (bench/guest/driver.S) and the loop that
 * gives it commands, through two function pointers (open, ioctl) so the same
 * code drives the host's /dev/kvm and userkvm.  Used by bench/kvm_bench.c
 * and by tests/bench/guest_test.c.
 */
#ifndef BENCH_KVM_RUNNER_H
#define BENCH_KVM_RUNNER_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <userkvm.h>

#include "guest_mem.h"

struct backend {
	const char *name;
	int (*open)(int flags);
	long (*ioctl)(int fd, unsigned long req, unsigned long arg);
};

static inline int soft_open(int flags) { return userkvm_open(flags); }
static inline long soft_ioctl(int fd, unsigned long req, unsigned long arg) { return userkvm_ioctl(fd, req, arg); }
static inline int kvm_open(int flags) { return open("/dev/kvm", flags); }
static inline long kvm_ioctl(int fd, unsigned long req, unsigned long arg) { return ioctl(fd, req, arg); }

static const struct backend backends[] = {
	{ "soft", soft_open, soft_ioctl },
	{ "kvm", kvm_open, kvm_ioctl },
};

struct vm {
	const struct backend *be;
	int sys, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	char setup_err[512];	/* every setup step that failed */
	char optional_err[128];	/* an optional step (CPUID) that failed */
	char run_err[256];	/* why the guest could not run */
};

/* Exits seen while a command ran. */
struct counts {
	uint64_t dev_out, dev_in, mmio, hlt;
};

static inline const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case ENOTTY: return "ENOTTY";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case ENXIO: return "ENXIO";
	case EIO: return "EIO";
	case EEXIST: return "EEXIST";
	case E2BIG: return "E2BIG";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static inline void note_setup_failure(struct vm *v, const char *what, int e)
{
	size_t len = strlen(v->setup_err);

	snprintf(v->setup_err + len, sizeof(v->setup_err) - len, "%s%s: %s", len ? ", " : "", what,
		 errname(e));
}

#define SETUP(v, call, what)						\
	({								\
		long __r;						\
		errno = 0;						\
		__r = (call);						\
		if (__r < 0)						\
			note_setup_failure(v, what, errno);		\
		__r;							\
	})

static inline void set_long_mode_sregs(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 11, .present = 1,
		.dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3, .present = 1,
		.dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = BENCH_TSS, .limit = 0x67, .selector = 0x18, .type = 11, .present = 1,
	};
	struct kvm_segment ldt = { .type = 2, .unusable = 1 };

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = tr;
	s->ldt = ldt;
	s->gdt.base = BENCH_GDT;
	s->gdt.limit = 5 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = 0x80050033;	/* PG, AM, WP, NE, ET, MP, PE */
	s->cr3 = BENCH_PT_BASE;
	s->cr4 = 0x20;		/* PAE */
	s->efer = 0x500;	/* LMA, LME */
}

/* Set up the VM; a failed step is recorded and the others are still tried. */
static inline int vm_setup(struct vm *v, const char *image)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	long mmap_size;

	v->sys = v->be->open(O_RDWR | O_CLOEXEC);
	if (v->sys < 0) {
		note_setup_failure(v, "open", errno);
		return -1;
	}
	v->vm = SETUP(v, v->be->ioctl(v->sys, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
	if (v->vm < 0)
		return -1;
	v->mem = mmap(NULL, BENCH_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (v->mem == MAP_FAILED) {
		note_setup_failure(v, "mmap guest memory", errno);
		return -1;
	}
	if (load_image(v->mem, image, v->run_err, sizeof(v->run_err)))
		return -2;
	write_gdt(v->mem);
	write_page_tables(v->mem);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = BENCH_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)v->mem,
	};
	SETUP(v, v->be->ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&region),
	      "KVM_SET_USER_MEMORY_REGION");
	v->vcpu = SETUP(v, v->be->ioctl(v->vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
	if (v->vcpu < 0)
		return -1;
	mmap_size = SETUP(v, v->be->ioctl(v->sys, KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
	if (mmap_size < (long)sizeof(struct kvm_run))
		return -1;
	v->run_size = mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED) {
		note_setup_failure(v, "mmap kvm_run", errno);
		v->run = NULL;
		return -1;
	}

	/*
	 * The guest's CPUID: what the host supports.  Optional: the guest
	 * needs no CPUID bit (KVM_SET_SREGS enters long mode without
	 * checking CPUID.LM), so a failure is only noted.
	 */
	{
		int nent = 256;
		struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));

		if (cpuid) {
			cpuid->nent = nent;
			errno = 0;
			if (v->be->ioctl(v->sys, KVM_GET_SUPPORTED_CPUID, (unsigned long)cpuid) < 0)
				snprintf(v->optional_err, sizeof(v->optional_err), "KVM_GET_SUPPORTED_CPUID: %s",
					 errname(errno));
			else if (v->be->ioctl(v->vcpu, KVM_SET_CPUID2, (unsigned long)cpuid) < 0)
				snprintf(v->optional_err, sizeof(v->optional_err), "KVM_SET_CPUID2: %s",
					 errname(errno));
			free(cpuid);
		}
	}

	memset(&sregs, 0, sizeof(sregs));
	SETUP(v, v->be->ioctl(v->vcpu, KVM_GET_SREGS, (unsigned long)&sregs), "KVM_GET_SREGS");
	set_long_mode_sregs(&sregs);
	SETUP(v, v->be->ioctl(v->vcpu, KVM_SET_SREGS, (unsigned long)&sregs), "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = BENCH_HOST_ENTRY;
	regs.rsp = BENCH_STACK_TOP;
	regs.rflags = 2;
	SETUP(v, v->be->ioctl(v->vcpu, KVM_SET_REGS, (unsigned long)&regs), "KVM_SET_REGS");
	return v->setup_err[0] ? -1 : 0;
}

static inline void vm_destroy(struct vm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, BENCH_MEM_SIZE);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->sys >= 0)
		close(v->sys);
}

static inline const char *exit_name(uint32_t r)
{
	static char buf[32];

	switch (r) {
	case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	}
	snprintf(buf, sizeof(buf), "exit reason %u", r);
	return buf;
}

/*
 * Give the guest one command (four words through BENCH_PORT_CMD) and run it
 * to its BENCH_PORT_RESULT_HI OUT.  Return: 0 with *sec, *result and *c set,
 * or -1 with v->run_err set.
 */
static inline int run_command(struct vm *v, uint32_t id, uint64_t n, uint64_t size, double *sec,
		       uint64_t *result, struct counts *c)
{
	uint32_t words[4] = { id, (uint32_t)n, (uint32_t)(n >> 32), (uint32_t)size };
	struct kvm_run *run = v->run;
	double t0 = 0, t1 = 0;
	int given = 0, started = 0;
	uint32_t lo = 0;

	memset(c, 0, sizeof(*c));
	for (;;) {
		if (v->be->ioctl(v->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(v->run_err, sizeof(v->run_err), "KVM_RUN: %s", errname(errno));
			return -1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			int in = run->io.direction == KVM_EXIT_IO_IN;

			if (run->io.port == BENCH_PORT_DEV) {
				if (in) {
					size_t n = (size_t)run->io.size * run->io.count;

					/* all ones; a plain store for the usual single byte */
					if (n == 1)
						*data = 0xff;
					else
						memset(data, 0xff, n);
					c->dev_in++;
				} else {
					c->dev_out++;
				}
				continue;
			}
			if (run->io.size != 4 || run->io.count != 1)
				goto bad_io;
			if (run->io.port == BENCH_PORT_CMD && in) {
				if (given == 4) {
					snprintf(v->run_err, sizeof(v->run_err),
						 "guest asked for a command word out of turn");
					return -1;
				}
				memcpy(data, &words[given++], 4);
				continue;
			}
			break;
		}
		case KVM_EXIT_MMIO:
			if (run->mmio.phys_addr == BENCH_MMIO_GPA && run->mmio.is_write) {
				c->mmio++;
				continue;
			}
			snprintf(v->run_err, sizeof(v->run_err), "unexpected MMIO %s at %#llx",
				 run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr);
			return -1;
		case KVM_EXIT_HLT:
			if (id == WL_CMD_STOP) {
				*sec = 0;
				*result = 0;
				return 0;
			}
			c->hlt++;
			continue;
		case KVM_EXIT_INTERNAL_ERROR: {
			static const char *const sub[] = { "?", "emulation", "simultaneous exceptions",
							   "event delivery", "unexpected exit reason" };
			uint32_t e = run->internal.suberror;

			snprintf(v->run_err, sizeof(v->run_err), "KVM_EXIT_INTERNAL_ERROR (%s)",
				 e < sizeof(sub) / sizeof(sub[0]) ? sub[e] : "?");
			return -1;
		}
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(v->run_err, sizeof(v->run_err), "KVM_EXIT_FAIL_ENTRY reason %#llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return -1;
		default:
			snprintf(v->run_err, sizeof(v->run_err), "%s", exit_name(run->exit_reason));
			return -1;
		}
		/* A 32-bit OUT to one of the reporting ports. */
		if (run->io.direction != KVM_EXIT_IO_OUT)
			goto bad_io;
		if (run->io.port == BENCH_PORT_START && given == 4) {
			started = 1;
			t0 = now();
			continue;
		}
		if (run->io.port == BENCH_PORT_END && started) {
			t1 = now();
			memcpy(&lo, (uint8_t *)run + run->io.data_offset, 4);
			continue;
		}
		if (run->io.port == BENCH_PORT_RESULT_HI && t1 > 0) {
			uint32_t hi;

			memcpy(&hi, (uint8_t *)run + run->io.data_offset, 4);
			*result = lo | (uint64_t)hi << 32;
			*sec = t1 - t0;
			return 0;
		}
bad_io:
		snprintf(v->run_err, sizeof(v->run_err), "unexpected %s port %#x size %u count %u",
			 run->io.direction == KVM_EXIT_IO_IN ? "IN" : "OUT", run->io.port, run->io.size,
			 run->io.count);
		return -1;
	}
}

/* Is @c what workload @id must cause for @n iterations? */
static inline int exits_ok(int id, uint64_t n, const struct counts *c, char *why, size_t len)
{
	struct counts want = { 0 };

	switch (id) {
	case WL_EX_OUT: want.dev_out = n; break;
	case WL_EX_IN: want.dev_in = n; break;
	case WL_EX_MMIO: want.mmio = n; break;
	case WL_EX_HLT: want.hlt = n; break;
	}
	if (!memcmp(&want, c, sizeof(want)))
		return 1;
	snprintf(why, len, "exits seen: %" PRIu64 " OUT, %" PRIu64 " IN, %" PRIu64 " MMIO, %" PRIu64
		 " HLT; expected %" PRIu64 " of the loop's kind", c->dev_out, c->dev_in, c->mmio, c->hlt, n);
	return 0;
}

struct measurement {
	int valid;		/* ran and the result checked out */
	uint64_t n;
	double sec;
	char note[256];
};

/* Check one run's result and exits; on failure say why in m->note. */
static inline int run_ok(int id, uint64_t n, uint64_t size, uint64_t result, const struct counts *c,
		  struct measurement *m)
{
	int ok;
	uint64_t want = bench_expected(id, n, size, &ok);

	if (ok && result != want) {
		snprintf(m->note, sizeof(m->note), "WRONG result %#" PRIx64 ", expected %#" PRIx64, result, want);
		return 0;
	}
	if (!exits_ok(id, n, c, m->note, sizeof(m->note)))
		return 0;
	snprintf(m->note, sizeof(m->note), "result %#" PRIx64 " %s", result, ok ? "ok" : "(not checked)");
	return 1;
}

/*
 * Run workload @id with n = 1, then larger, until a run lasts @min_time; run
 * that n BENCH_REPEATS - 1 more times and keep the fastest run.
 * Return: 0 (m->valid says whether every result checked out), or -1 if the
 * guest could not run.
 */
static inline int measure(struct vm *v, int id, double min_time, double max_time, struct measurement *m)
{
	uint64_t n = 1, size = bench_size(id), result = 0;
	double sec = 0;
	struct counts c;

	memset(m, 0, sizeof(*m));
	for (;;) {
		if (run_command(v, id, n, size, &sec, &result, &c))
			return -1;
		if (!run_ok(id, n, size, result, &c, m))
			goto done;
		if (sec >= min_time || n >= (1ull << 40) || sec >= max_time)
			break;
		/* Aim at 1.5 * min_time, growing at least 2x and at most 64x per step. */
		{
			double f = sec > 0 ? 1.5 * min_time / sec : 64;

			f = f < 2 ? 2 : f > 64 ? 64 : f;
			n = (uint64_t)(n * f);
		}
	}
	m->sec = sec;
	for (int i = 1; i < BENCH_REPEATS; i++) {
		if (run_command(v, id, n, size, &sec, &result, &c))
			return -1;
		if (!run_ok(id, n, size, result, &c, m))
			goto done;
		if (sec < m->sec)
			m->sec = sec;
	}
	m->valid = 1;
done:
	m->n = n;
	if (!m->valid)
		m->sec = sec;
	return 0;
}

#endif /* BENCH_KVM_RUNNER_H */
