// SPDX-License-Identifier: MIT
/*
 * The benchmark guest (bench/guest/) on the processor alone (a struct cpu,
 * no KVM), as bench/silicon_bench.c runs it: every workload and exit loop,
 * with small counts, must give bench/bench.h's result and exactly the port
 * I/O, MMIO and HLT events its loop makes, and the processor must retire
 * exactly the instructions bench_insns() says (plus the 5 others between
 * the guest's START and END OUTs).  A whole-guest test of long mode, paging,
 * port I/O, MMIO and the instruction counter.
 */
#include <limits.h>

#include "../test.h"
#include "../../bench/silicon_runner.h"

static char image[PATH_MAX];

static int build_image(void)
{
	const char *build = getenv("USERKVM_TEST_BUILD");
	char cmd[PATH_MAX + 64];

	snprintf(image, sizeof(image), "%s/bench/guest-test-silicon", build ? build : "build");
	snprintf(cmd, sizeof(cmd), "bench/guest/build.sh '%s'", image);
	if (system(cmd))
		return -1;
	strncat(image, "/image.bin", sizeof(image) - strlen(image) - 1);
	return 0;
}

int main(void)
{
	static const struct { int id; uint64_t n, size; } runs[] = {
		{ WL_ALU, 1000, 0 }, { WL_ALU, 1, 0 }, { WL_CRC32, 2, BENCH_CRC_SIZE }, { WL_CRC32, 1, 9 },
		{ WL_SIEVE, 2, 4096 }, { WL_SIEVE, 1, BENCH_SIEVE_SIZE }, { WL_EX_EMPTY, 20, 0 },
		{ WL_EX_OUT, 20, 0 }, { WL_EX_IN, 20, 0 }, { WL_EX_MMIO, 20, 0 }, { WL_EX_CPUID, 20, 0 },
		{ WL_EX_HLT, 20, 0 },
	};
	struct bench_vm v = { 0 };
	char note[256];

	if (build_image()) {
		test_skip("bench_guest_silicon", "cannot build the guest image (bench/guest/build.sh)");
		return 0;
	}
	test_begin("bench_guest_silicon");
	if (vm_setup(&v, image)) {
		CHECK(0, "setup: %s", v.err);
		test_end();
		vm_destroy(&v);
		return 1;
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int id = runs[i].id;
		uint64_t n = runs[i].n, size = runs[i].size, result = 0;
		double sec;

		if (run_command(&v, id, n, size, &sec, &result)) {
			CHECK(0, "%s n=%llu: %s", bench_names[id], (unsigned long long)n, v.err);
			break;
		}
		CHECK(run_ok(&v, id, n, size, result, note, sizeof(note)), "%s n=%llu size=%llu: %s",
		      bench_names[id], (unsigned long long)n, (unsigned long long)size, note);
		if (id < WL_NR_MIPS)
			CHECK(v.icount_end - v.icount_start == bench_insns(id, n, size) + 5,
			      "%s n=%llu size=%llu: the cpu retired %llu instructions, expected %llu + 5",
			      bench_names[id], (unsigned long long)n, (unsigned long long)size,
			      (unsigned long long)(v.icount_end - v.icount_start),
			      (unsigned long long)bench_insns(id, n, size));
	}
	if (!v.err[0]) {
		uint64_t result;
		double sec;

		CHECK(!run_command(&v, WL_CMD_STOP, 0, 0, &sec, &result), "stop: %s", v.err);
	}
	test_end();
	vm_destroy(&v);
	return test_cases_failed ? 1 : 0;
}
