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
	fprintf(stderr, "usage: kvm_bench --accel kvm|soft --image FILE [--min-time SEC] [--only NAME]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct backend *be = NULL;
	const char *image = NULL;
	double min_time = 0.1, max_time = 5.0;
	struct measurement m[WL_NR] = { 0 }, pair[WL_NR] = { 0 };
	struct vm v = { .sys = -1, .vm = -1, .vcpu = -1 };
	char setup_err[sizeof(v.setup_err)] = "";
	int pvm, soft, need_vm = 1, setup_failed = 0, only = -1;

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
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			/* One workload (and the empty loop for an exit): for profiling. */
			i++;
			for (int id = 0; id < WL_NR; id++)
				if (!strcmp(argv[i], bench_names[id]))
					only = id;
			if (only < 0)
				usage();
		} else {
			usage();
		}
	}
	if (!be || !image)
		usage();
	pvm = !strcmp(be->name, "kvm") && is_pvm();
	soft = !strcmp(be->name, "soft");

	/*
	 * One VM runs the workloads in turn.  A workload that stops the guest
	 * (an exit the runner does not expect, an internal error) is marked
	 * failed, or "not yet" on userkvm, and the next one gets a new VM.
	 * On userkvm a failed setup step does not stop the attempt, so the
	 * report says how far it gets; no figure is reported unless every
	 * setup step worked.
	 */
	for (int id = 0; id < WL_NR; id++) {
		if (only >= 0 && id != only && !(id == WL_EX_EMPTY && only > WL_EX_EMPTY)) {
			snprintf(m[id].note, sizeof(m[id].note), "not run (--only)");
			continue;
		}
		if (need_vm) {
			int r;

			vm_destroy(&v);
			v = (struct vm){ .be = be, .sys = -1, .vm = -1, .vcpu = -1 };
			r = vm_setup(&v, image);
			if (r == -2) {
				fprintf(stderr, "kvm_bench: %s\n", v.run_err);
				return 1;
			}
			if (id == 0 && v.optional_err[0])
				printf("# %s: optional setup step failed: %s (the guest CPUID is the default)\n",
				       be->name, v.optional_err);
			if (r && v.setup_err[0] && strcmp(setup_err, v.setup_err)) {
				snprintf(setup_err, sizeof(setup_err), "%s", v.setup_err);
				printf("# %s: setup: %s\n", be->name, v.setup_err);
			}
			need_vm = 0;
			setup_failed = r != 0;
		}
		if (v.vcpu < 0 || !v.run || (setup_failed && !soft)) {
			snprintf(m[id].note, sizeof(m[id].note), "%s (%s)", soft ? "not yet" : "failed", v.setup_err);
			need_vm = 1;
			continue;
		}
		if (measure(&v, id, min_time, max_time, &m[id])) {
			snprintf(m[id].note, sizeof(m[id].note), "%s (%.200s)", soft ? "not yet" : "failed", v.run_err);
			printf("# %s %s: %s\n", be->name, bench_names[id], v.run_err);
			m[id].valid = 0;
			need_vm = 1;
			continue;
		}
		if (setup_failed) {
			snprintf(m[id].note, sizeof(m[id].note), "not yet (%.200s)", v.setup_err);
			m[id].valid = 0;
			continue;
		}
		printf("# %s %s: n=%" PRIu64 " time=%.6f s %s\n", be->name, bench_names[id], m[id].n, m[id].sec,
		       m[id].note);
		/*
		 * The empty loop again, right after each exit loop: the machine's
		 * load drifts, and an exit's net cost is a small difference of two
		 * large figures on PVM.
		 */
		if (id > WL_EX_EMPTY) {
			if (measure(&v, WL_EX_EMPTY, min_time, max_time, &pair[id])) {
				pair[id].valid = 0;
				need_vm = 1;
			} else if (pair[id].valid) {
				printf("# %s %s: empty loop measured again: n=%" PRIu64 " time=%.6f s\n",
				       be->name, bench_names[id], pair[id].n, pair[id].sec);
			}
		}
		fflush(stdout);
	}
	if (!need_vm) {
		double dummy_sec;
		uint64_t dummy_res;
		struct counts c;

		run_command(&v, WL_CMD_STOP, 0, 0, &dummy_sec, &dummy_res, &c);
	}
	vm_destroy(&v);
	if (pvm)
		printf("# kvm: this /dev/kvm is KVM's PVM backend: guest CPL0 code is emulated, not run "
		       "natively, so its CPL0 MIPS are far below hardware speed\n");

	for (int id = 0; id < WL_NR_MIPS; id++) {
		uint64_t insns = bench_insns(id, m[id].n, bench_size(id));

		if (!m[id].valid) {
			printf("R\tmips\t%s\t%s\t-\t%s\n", be->name, bench_names[id], m[id].note);
			continue;
		}
		printf("# %s %s: %" PRIu64 " instructions in %.6f s\n", be->name, bench_names[id], insns,
		       m[id].sec);
		printf("R\tmips\t%s\t%s\t%.1f\t%s\n", be->name, bench_names[id], insns / m[id].sec / 1e6,
		       pvm ? "PVM: CPL0 emulated" : "");
	}

	double empty0 = m[WL_EX_EMPTY].valid ? m[WL_EX_EMPTY].sec / m[WL_EX_EMPTY].n * 1e9 : 0;

	if (m[WL_EX_EMPTY].valid)
		printf("R\texit\t%s\tloop\t%.1f\tns per iteration of the empty loop (subtracted)\n", be->name,
		       empty0);
	else
		printf("R\texit\t%s\tloop\t-\t%s\n", be->name, m[WL_EX_EMPTY].note);
	for (int id = WL_EX_EMPTY + 1; id < WL_NR; id++) {
		double raw = m[id].valid ? m[id].sec / m[id].n * 1e9 : 0;
		double empty = pair[id].valid ? pair[id].sec / pair[id].n * 1e9 : empty0;

		if (m[id].valid && (m[WL_EX_EMPTY].valid || pair[id].valid)) {
			printf("# %s %s: %.1f ns per iteration, %.1f ns net\n", be->name, bench_names[id], raw,
			       raw - empty);
			printf("R\texit\t%s\t%s\t%.1f\t\n", be->name, bench_names[id], raw - empty);
		} else {
			printf("R\texit\t%s\t%s\t-\t%s\n", be->name, bench_names[id],
			       m[id].valid ? m[WL_EX_EMPTY].note : m[id].note);
		}
	}
	return 0;
}
