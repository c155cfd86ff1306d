// SPDX-License-Identifier: MIT
/*
 * The benchmark guest (bench/guest/) under the KVM API, on the host's
 * /dev/kvm and on userkvm: every workload and exit loop, with small counts,
 * must give bench/bench.h's result and exactly the exits its loop makes
 * (bench/kvm_runner.h's checks).  This checks the image and the runner that
 * `make bench` uses; on userkvm it is a whole-guest test of KVM_RUN (skipped
 * while KVM_RUN fails with ENOSYS).
 */
#include <limits.h>

#include "../test.h"
#include "../../bench/kvm_runner.h"

static char image[PATH_MAX];

static int build_image(void)
{
	const char *build = getenv("USERKVM_TEST_BUILD");
	char cmd[PATH_MAX + 64];

	snprintf(image, sizeof(image), "%s/bench/guest-test", build ? build : "build");
	snprintf(cmd, sizeof(cmd), "bench/guest/build.sh '%s'", image);
	if (system(cmd))
		return -1;
	strncat(image, "/image.bin", sizeof(image) - strlen(image) - 1);
	return 0;
}

static void run_guest(const struct backend *be, const char *name)
{
	static const struct { int id; uint64_t n, size; } runs[] = {
		{ WL_ALU, 1000, 0 }, { WL_CRC32, 2, BENCH_CRC_SIZE }, { WL_CRC32, 1, 9 },
		{ WL_SIEVE, 2, 4096 }, { WL_EX_EMPTY, 20, 0 }, { WL_EX_OUT, 20, 0 },
		{ WL_EX_IN, 20, 0 }, { WL_EX_MMIO, 20, 0 }, { WL_EX_CPUID, 20, 0 },
		{ WL_EX_HLT, 20, 0 }, { WL_ALU, 1, 0 },
	};
	struct vm v = { .be = be, .sys = -1, .vm = -1, .vcpu = -1 };
	struct measurement m;
	int setup = vm_setup(&v, image);

	if (setup == -2) {
		test_begin(name);
		CHECK(0, "%s", v.run_err);
		test_end();
		return;
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		uint64_t result = 0;
		struct counts c;
		double sec;

		if (v.vcpu < 0 || !v.run || run_command(&v, runs[i].id, runs[i].n, runs[i].size, &sec, &result, &c)) {
			if (!strcmp(be->name, "soft") && strstr(v.run_err, "ENOSYS")) {
				test_skip(name, "userkvm's KVM_RUN is not implemented yet (ENOSYS)");
			} else {
				test_begin(name);
				CHECK(0, "%s", v.run_err[0] ? v.run_err : v.setup_err);
				test_end();
			}
			vm_destroy(&v);
			return;
		}
		if (i == 0) {
			test_begin(name);
			CHECK(!setup, "the guest ran although setup failed: %s", v.setup_err);
		}
		memset(&m, 0, sizeof(m));
		CHECK(run_ok(runs[i].id, runs[i].n, runs[i].size, result, &c, &m), "%s n=%llu size=%llu: %s",
		      bench_names[runs[i].id], (unsigned long long)runs[i].n, (unsigned long long)runs[i].size,
		      m.note);
	}
	{
		uint64_t result;
		struct counts c;
		double sec;

		CHECK(!run_command(&v, WL_CMD_STOP, 0, 0, &sec, &result, &c), "stop: %s", v.run_err);
	}
	test_end();
	vm_destroy(&v);
}

int main(void)
{
	if (build_image()) {
		test_skip("bench_guest_kvm", "cannot build the guest image (bench/guest/build.sh)");
		test_skip("bench_guest_soft", "cannot build the guest image (bench/guest/build.sh)");
		return 0;
	}
	if (access("/dev/kvm", R_OK | W_OK))
		test_skip("bench_guest_kvm", "no /dev/kvm");
	else
		run_guest(&backends[1], "bench_guest_kvm");
	run_guest(&backends[0], "bench_guest_soft");
	return test_cases_failed ? 1 : 0;
}
