// SPDX-License-Identifier: MIT
/*
 * exit_insns: host instructions per exit on userkvm, the figure that does
 * not move with the machine's load.  Run under callgrind by bench/run.sh:
 *
 *   valgrind --tool=callgrind --instr-atstart=no exit_insns --image IMAGE --workload NAME --n N
 *
 * It sets the benchmark VM up as kvm_bench --accel soft does, runs the exit
 * loop NAME (out in mmio cpuid hlt loop; mmio_read, a loop of its own) 1000
 * times to warm up (decoded blocks, EPT, soft TLB), then N times with callgrind's instrumentation on
 * (its client requests are no-ops outside valgrind).  run.sh takes two N and
 * divides the difference of the totals by the difference of the N, which
 * cancels the command loop's fixed cost, and subtracts the empty loop.
 */
#include "kvm_runner.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#else
#define CALLGRIND_START_INSTRUMENTATION do { } while (0)
#define CALLGRIND_STOP_INSTRUMENTATION do { } while (0)
#define HAVE_CALLGRIND 0
#endif

static void usage(void)
{
	fprintf(stderr, "usage: exit_insns --image FILE --workload out|in|mmio|cpuid|hlt|loop|mmio_read --n N\n");
	exit(2);
}

/*
 * Workloads of exit_insns alone (not in the guest image's tables, so that
 * the make bench runners are unchanged): a loop of its own at
 * OWN_CODE_GPA, entered with KVM_SET_REGS (RDI = n, R8 = the MMIO
 * address), ending in an OUT to OWN_DONE_PORT.  The loop is the image's
 * (add %rax, %r10; dec %rdi; jnz) around the exit instruction, so the
 * empty loop's cost subtracts as for the others.
 *
 * mmio_read: movl (%r8), %eax, a load from MMIO that KVM completes with
 * the data userspace gives (0 here).
 */
#define OWN_CODE_GPA	0x700000
#define OWN_DONE_PORT	0x81

static const struct own_workload {
	const char *name;
	uint8_t code[16];
	int len;
} own_workloads[] = {
	{ "mmio_read", { 0x41, 0x8b, 0x00,		/* 1: movl (%r8), %eax */
			 0x49, 0x01, 0xc2,		/* add %rax, %r10 */
			 0x48, 0xff, 0xcf,		/* dec %rdi */
			 0x75, 0xf5,			/* jnz 1b */
			 0xe6, OWN_DONE_PORT,		/* out %al, $OWN_DONE_PORT */
			 0xeb, 0xfe }, 15 },		/* jmp . */
};

/*
 * Run own workload @w for @n iterations.  Return: 0, or -1 with v->run_err
 * set.  Out of line, so that run_command() compiles as it would without it.
 */
static __attribute__((noinline)) int run_own(struct vm *v, const struct own_workload *w, uint64_t n)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;

	memcpy(v->mem + OWN_CODE_GPA, w->code, (size_t)w->len);
	if (v->be->ioctl(v->vcpu, KVM_GET_REGS, (unsigned long)&regs) < 0) {
		snprintf(v->run_err, sizeof(v->run_err), "KVM_GET_REGS: errno %d", errno);
		return -1;
	}
	regs.rip = OWN_CODE_GPA;
	regs.rdi = n;
	regs.r8 = BENCH_MMIO_GPA;
	regs.r10 = 0;
	if (v->be->ioctl(v->vcpu, KVM_SET_REGS, (unsigned long)&regs) < 0) {
		snprintf(v->run_err, sizeof(v->run_err), "KVM_SET_REGS: errno %d", errno);
		return -1;
	}
	for (uint64_t reads = 0;;) {
		if (v->be->ioctl(v->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(v->run_err, sizeof(v->run_err), "KVM_RUN: errno %d", errno);
			return -1;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write &&
		    run->mmio.phys_addr == BENCH_MMIO_GPA) {
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
			reads++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == OWN_DONE_PORT) {
			if (reads == n)
				return 0;
			snprintf(v->run_err, sizeof(v->run_err), "%s: %" PRIu64 " MMIO reads, expected %" PRIu64,
				 w->name, reads, n);
			return -1;
		}
		snprintf(v->run_err, sizeof(v->run_err), "%s: unexpected exit reason %u", w->name,
			 run->exit_reason);
		return -1;
	}
}

/*
 * main() for an own workload (--workload NAME of own_workloads[]): the
 * same setup, warm-up and measured run.  Out of line and apart from
 * main(), so that run_command() compiles as it would without it.
 */
static __attribute__((noinline)) int own_main(int argc, char **argv)
{
	struct vm v = { .be = &backends[0], .sys = -1, .vm = -1, .vcpu = -1 };
	const struct own_workload *own = NULL;
	const char *image = NULL;
	uint64_t n = 0;
	int r;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--image"))
			image = argv[i + 1];
		else if (!strcmp(argv[i], "--n"))
			n = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--workload"))
			for (size_t w = 0; w < sizeof(own_workloads) / sizeof(own_workloads[0]); w++)
				if (!strcmp(argv[i + 1], own_workloads[w].name))
					own = &own_workloads[w];
	}
	if (!image || !n || !own)
		usage();
	if (!HAVE_CALLGRIND) {
		fprintf(stderr, "exit_insns: built without <valgrind/callgrind.h>\n");
		return 3;
	}
	if (vm_setup(&v, image)) {
		fprintf(stderr, "exit_insns: setup: %s %s\n", v.setup_err, v.run_err);
		return 1;
	}
	if (run_own(&v, own, 1000)) {
		fprintf(stderr, "exit_insns: %s\n", v.run_err);
		return 1;
	}
	CALLGRIND_START_INSTRUMENTATION;
	r = run_own(&v, own, n);
	CALLGRIND_STOP_INSTRUMENTATION;
	if (r) {
		fprintf(stderr, "exit_insns: %s\n", v.run_err);
		return 1;
	}
	vm_destroy(&v);
	return 0;
}

/* Is the --workload of @argv one of own_workloads[]? */
static int is_own_workload(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--workload"))
			for (size_t w = 0; w < sizeof(own_workloads) / sizeof(own_workloads[0]); w++)
				if (!strcmp(argv[i + 1], own_workloads[w].name))
					return 1;
	return 0;
}


int main(int argc, char **argv)
{
	struct vm v = { .be = &backends[0], .sys = -1, .vm = -1, .vcpu = -1 };
	const char *image = NULL;
	uint64_t n = 0, result;
	struct counts c;
	double sec;
	int id = -1;

	if (is_own_workload(argc, argv))
		return own_main(argc, argv);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--image"))
			image = argv[i + 1];
		else if (!strcmp(argv[i], "--n"))
			n = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--workload"))
			for (int w = WL_EX_EMPTY; w < WL_NR; w++)
				if (!strcmp(argv[i + 1], w == WL_EX_EMPTY ? "loop" : bench_names[w]))
					id = w;
	}
	if (!image || !n || id < 0)
		usage();
	if (!HAVE_CALLGRIND) {
		fprintf(stderr, "exit_insns: built without <valgrind/callgrind.h>\n");
		return 3;
	}
	if (vm_setup(&v, image)) {
		fprintf(stderr, "exit_insns: setup: %s %s\n", v.setup_err, v.run_err);
		return 1;
	}
	if (run_command(&v, id, 1000, 0, &sec, &result, &c)) {
		fprintf(stderr, "exit_insns: %s\n", v.run_err);
		return 1;
	}
	CALLGRIND_START_INSTRUMENTATION;
	int r = run_command(&v, id, n, 0, &sec, &result, &c);
	CALLGRIND_STOP_INSTRUMENTATION;
	if (r) {
		fprintf(stderr, "exit_insns: %s\n", v.run_err);
		return 1;
	}
	vm_destroy(&v);
	return 0;
}
