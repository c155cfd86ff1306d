// SPDX-License-Identifier: MIT
/*
 * exit_insns: host instructions per exit on userkvm, the figure that does
 * not move with the machine's load.  Run under callgrind by bench/run.sh:
 *
 *   valgrind --tool=callgrind --instr-atstart=no exit_insns --image IMAGE --workload NAME --n N
 *
 * It sets the benchmark VM up as kvm_bench --accel soft does, runs the exit
 * loop NAME (out in mmio cpuid hlt loop) 1000 times to warm up (decoded
 * blocks, EPT, soft TLB), then N times with callgrind's instrumentation on
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
	fprintf(stderr, "usage: exit_insns --image FILE --workload out|in|mmio|cpuid|hlt|loop --n N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vm v = { .be = &backends[0], .sys = -1, .vm = -1, .vcpu = -1 };
	const char *image = NULL;
	uint64_t n = 0, result;
	struct counts c;
	double sec;
	int id = -1;

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
