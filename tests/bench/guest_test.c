// SPDX-License-Identifier: MIT
/*
 * The benchmark guest (bench/guest/) under the KVM API, on the host's
 * /dev/kvm and on userkvm: every workload and exit loop, with small counts,
 * must give bench/bench.h's result and exactly the exits its loop makes
 * (bench/kvm_runner.h's checks).  This checks the image and the runner that
 * `make bench` uses; on userkvm it is a whole-guest test of KVM_RUN: long
 * mode set up by KVM_SET_SREGS, PIO in and out, CPUID, HLT, MMIO.
 */
#include <limits.h>

#include "../test.h"
#include "../../bench/kvm_runner.h"

#define ARRAY_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

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

/*
 * Run @runs on backend @be in one VM as test case @name.  On userkvm,
 * KVM_RUN failing with ENOSYS (not implemented) or an MMIO access ending in
 * an emulation internal error (no instruction emulator yet) is a skip.
 */
static void run_guest(const struct backend *be, const char *name, const int *ids, int nr)
{
	static const uint64_t n_of[WL_NR] = {
		[WL_ALU] = 1000, [WL_CRC32] = 2, [WL_SIEVE] = 2, [WL_EX_EMPTY] = 20, [WL_EX_OUT] = 20,
		[WL_EX_IN] = 20, [WL_EX_MMIO] = 20, [WL_EX_CPUID] = 20, [WL_EX_HLT] = 20,
	};
	static const uint64_t size_of[WL_NR] = { [WL_CRC32] = BENCH_CRC_SIZE, [WL_SIEVE] = 4096 };
	struct vm v = { .be = be, .sys = -1, .vm = -1, .vcpu = -1 };
	struct measurement m;
	int setup = vm_setup(&v, image);
	int soft = !strcmp(be->name, "soft");

	if (setup == -2) {
		test_begin(name);
		CHECK(0, "%s", v.run_err);
		test_end();
		return;
	}
	for (int i = 0; i < nr; i++) {
		int id = ids[i];
		uint64_t result = 0;
		struct counts c;
		double sec;

		if (v.vcpu < 0 || !v.run || run_command(&v, id, n_of[id], size_of[id], &sec, &result, &c)) {
			if (soft && strstr(v.run_err, "ENOSYS")) {
				test_skip(name, "userkvm's KVM_RUN is not implemented yet (ENOSYS)");
			} else if (soft && id == WL_EX_MMIO && strstr(v.run_err, "(emulation)")) {
				test_skip(name, "userkvm has no instruction emulator for MMIO yet "
					  "(KVM_EXIT_INTERNAL_ERROR, emulation)");
			} else {
				if (i == 0)
					test_begin(name);
				CHECK(0, "%s: %s", bench_names[id], v.run_err[0] ? v.run_err : v.setup_err);
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
		CHECK(run_ok(id, n_of[id], size_of[id], result, &c, &m), "%s n=%llu size=%llu: %s",
		      bench_names[id], (unsigned long long)n_of[id], (unsigned long long)size_of[id], m.note);
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
	static const int all_but_mmio[] = { WL_ALU, WL_CRC32, WL_SIEVE, WL_EX_EMPTY, WL_EX_OUT, WL_EX_IN,
					    WL_EX_CPUID, WL_EX_HLT, WL_ALU };
	static const int mmio[] = { WL_EX_MMIO, WL_EX_OUT };
	static const char *const names[2][2] = {
		{ "bench_guest_kvm", "bench_guest_kvm_mmio" }, { "bench_guest_soft", "bench_guest_soft_mmio" },
	};

	if (build_image()) {
		for (int b = 0; b < 2; b++)
			for (int k = 0; k < 2; k++)
				test_skip(names[b][k], "cannot build the guest image (bench/guest/build.sh)");
		return 0;
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		test_skip(names[0][0], "no /dev/kvm");
		test_skip(names[0][1], "no /dev/kvm");
	} else {
		run_guest(&backends[1], names[0][0], all_but_mmio, ARRAY_N(all_but_mmio));
		run_guest(&backends[1], names[0][1], mmio, ARRAY_N(mmio));
	}
	run_guest(&backends[0], names[1][0], all_but_mmio, ARRAY_N(all_but_mmio));
	run_guest(&backends[0], names[1][1], mmio, ARRAY_N(mmio));
	return test_cases_failed ? 1 : 0;
}
