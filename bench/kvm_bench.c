// SPDX-License-Identifier: MIT
/*
 * kvm_bench: runs the benchmark guest (bench/guest/, see driver.S) through the
 * KVM API and reports guest MIPS per workload and nanoseconds per exit.
 *
 *   kvm_bench --accel kvm  --image IMAGE   the host's /dev/kvm
 *   kvm_bench --accel soft --image IMAGE   userkvm (userkvm_open/userkvm_ioctl)
 *
 * Both go through the same two function pointers (open, ioctl), so the code
 * that sets up the VM (memslot, GDT, 4-level identity map, long mode through
 * KVM_SET_SREGS) and runs it is the same for both.
 *
 * Timing: the guest does an OUT to BENCH_PORT_START before the workload and
 * an OUT to BENCH_PORT_END after it; the time between KVM_RUN returning with
 * the first and with the second is the run's time, so VM setup and the
 * guest's untimed preparation are excluded.  n starts at 1 and grows until a
 * run lasts --min-time seconds; the fastest of BENCH_REPEATS runs at that n
 * is reported.  MIPS = the exact
 * instruction count of the run (bench_insns()) / its time.  Each result is
 * checked against bench/bench.h's C reference; an exit loop is also checked
 * by counting the exits it caused.
 *
 * Output: lines "R<TAB>mips|exit<TAB>ACCEL<TAB>NAME<TAB>VALUE<TAB>NOTE" for
 * bench/run.sh, where VALUE is a number or "-", and "# ..." detail lines.
 */
#include "kvm_runner.h"

static int is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: kvm_bench --accel kvm|soft --image FILE [--min-time SEC]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct backend *be = NULL;
	const char *image = NULL;
	double min_time = 0.1, max_time = 5.0;
	struct measurement m[WL_NR];
	struct vm v = { .sys = -1, .vm = -1, .vcpu = -1 };
	const char *why = NULL;
	char whybuf[sizeof(v.setup_err)];
	int pvm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--accel") && i + 1 < argc) {
			i++;
			for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++)
				if (!strcmp(argv[i], backends[b].name))
					be = &backends[b];
			if (!be)
				usage();
		} else if (!strcmp(argv[i], "--image") && i + 1 < argc) {
			image = argv[++i];
		} else if (!strcmp(argv[i], "--min-time") && i + 1 < argc) {
			min_time = atof(argv[++i]);
		} else {
			usage();
		}
	}
	if (!be || !image)
		usage();
	v.be = be;
	pvm = !strcmp(be->name, "kvm") && is_pvm();

	int r = vm_setup(&v, image);

	if (r == -2) {
		fprintf(stderr, "kvm_bench: %s\n", v.run_err);
		return 1;
	}
	if (v.optional_err[0])
		printf("# %s: optional setup step failed: %s (the guest CPUID is the default)\n", be->name,
		       v.optional_err);
	if (r == 0 || !strcmp(be->name, "soft")) {
		/*
		 * Even when a setup step failed (userkvm while it is being
		 * built), try KVM_RUN so the report says how far it gets; no
		 * figure is reported unless every step worked.
		 */
		for (int id = 0; id < WL_NR; id++) {
			if (v.vcpu < 0 || !v.run) {
				why = v.setup_err;
				break;
			}
			if (measure(&v, id, min_time, max_time, &m[id])) {
				why = v.run_err;
				break;
			}
			if (r) {
				snprintf(whybuf, sizeof(whybuf), "%s", v.setup_err);
				why = whybuf;
				break;
			}
			printf("# %s %s: n=%" PRIu64 " time=%.6f s %s\n", be->name, bench_names[id], m[id].n,
			       m[id].sec, m[id].note);
			fflush(stdout);
		}
	} else {
		why = v.setup_err;
	}

	if (why) {
		if (v.setup_err[0])
			printf("# %s: setup: %s\n", be->name, v.setup_err);
		printf("# %s: %s\n", be->name, why);
		for (int id = 0; id < WL_NR; id++)
			printf("R\t%s\t%s\t%s\t-\t%s (%s)\n", id < WL_NR_MIPS ? "mips" : "exit", be->name,
			       id == WL_EX_EMPTY ? "loop" : bench_names[id],
			       strcmp(be->name, "soft") ? "failed" : "not yet", why);
		vm_destroy(&v);
		return 0;
	}

	{
		double dummy_sec;
		uint64_t dummy_res;
		struct counts c;

		run_command(&v, WL_CMD_STOP, 0, 0, &dummy_sec, &dummy_res, &c);
	}
	if (pvm)
		printf("# kvm: this /dev/kvm is KVM's PVM backend: guest CPL0 code is emulated, not run "
		       "natively, so its CPL0 MIPS are far below hardware speed\n");

	for (int id = 0; id < WL_NR_MIPS; id++) {
		double mips = bench_insns(id, m[id].n, bench_size(id)) / m[id].sec / 1e6;

		printf("# %s %s: %" PRIu64 " instructions in %.6f s\n", be->name, bench_names[id],
		       bench_insns(id, m[id].n, bench_size(id)), m[id].sec);
		if (m[id].valid)
			printf("R\tmips\t%s\t%s\t%.1f\t%s\n", be->name, bench_names[id], mips,
			       pvm ? "PVM: CPL0 emulated" : "");
		else
			printf("R\tmips\t%s\t%s\t-\t%s\n", be->name, bench_names[id], m[id].note);
	}
	{
		double empty = m[WL_EX_EMPTY].sec / m[WL_EX_EMPTY].n * 1e9;

		printf("R\texit\t%s\tloop\t%.1f\tns per iteration of the empty loop (subtracted)\n", be->name,
		       empty);
		for (int id = WL_EX_EMPTY + 1; id < WL_NR; id++) {
			double raw = m[id].sec / m[id].n * 1e9;

			printf("# %s %s: %.1f ns per iteration, %.1f ns net\n", be->name, bench_names[id], raw,
			       raw - empty);
			if (m[id].valid && m[WL_EX_EMPTY].valid)
				printf("R\texit\t%s\t%s\t%.1f\t\n", be->name, bench_names[id], raw - empty);
			else
				printf("R\texit\t%s\t%s\t-\t%s\n", be->name, bench_names[id],
				       m[id].valid ? m[WL_EX_EMPTY].note : m[id].note);
		}
	}
	vm_destroy(&v);
	return 0;
}
