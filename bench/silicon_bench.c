// SPDX-License-Identifier: MIT
/*
 * silicon_bench: runs the benchmark guest (bench/guest/, driver.S's
 * host_entry command loop) on the processor alone, a struct cpu from
 * src/silicon/silicon.h with no KVM in between, and reports guest MIPS and
 * the cost of the processor's own I/O paths, in kvm_bench's output format.
 *
 *   silicon_bench --image IMAGE [--min-time SEC]
 *
 * The cpu starts in long mode at CPL0 with the same GDT and identity map
 * kvm_bench gives KVM.  Port I/O and MMIO are cpu_io_ops callbacks: the
 * callback for BENCH_PORT_START / BENCH_PORT_END takes the time, so a run's
 * time is the time between the guest's two OUTs, as with kvm_bench; both
 * OUTs also stop cpu_run() so that cpu_instructions() can be compared with
 * the run's known instruction count.  The
 * "exit" figures are those callbacks (OUT, IN, MMIO write), CPUID executed
 * by the core, and HLT = cpu_run() returning CPU_EXIT_HLT and being entered
 * again: the floor under userkvm's exits.
 */
#include "silicon_runner.h"

static const char *const silicon_exit_names[] = { "alu", "crc32", "sieve", "loop", "out", "in", "mmio",
						  "cpuid", "hlt" };

/*
 * Run workload @id with n = 1, then larger, until a run lasts @min_time; run
 * that n BENCH_REPEATS - 1 more times and keep the fastest.  Return: 0 with
 * *valid saying whether every result checked out, or -1 if the cpu stopped.
 */
static int measure(struct bench_vm *v, int id, double min_time, double max_time, uint64_t *n_out,
		   double *sec_out, int *valid, char *note, size_t len)
{
	uint64_t n = 1, size = bench_size(id), result = 0;
	double sec = 0;

	*valid = 0;
	for (;;) {
		if (run_command(v, id, n, size, &sec, &result))
			return -1;
		if (!run_ok(v, id, n, size, result, note, len))
			break;
		if (sec >= min_time || n >= (1ull << 40) || sec >= max_time) {
			double best = sec;
			int i;

			for (i = 1; i < BENCH_REPEATS; i++) {
				if (run_command(v, id, n, size, &sec, &result))
					return -1;
				if (!run_ok(v, id, n, size, result, note, len))
					break;
				if (sec < best)
					best = sec;
			}
			*valid = i == BENCH_REPEATS;
			sec = best;
			break;
		}
		double f = sec > 0 ? 1.5 * min_time / sec : 64;

		f = f < 2 ? 2 : f > 64 ? 64 : f;
		n = (uint64_t)(n * f);
	}
	*n_out = n;
	*sec_out = sec;
	return 0;
}

int main(int argc, char **argv)
{
	const char *image = NULL;
	double min_time = 0.1, max_time = 5.0, secs[WL_NR] = { 0 }, empty_sec[WL_NR] = { 0 };
	uint64_t ns[WL_NR] = { 0 }, retired[WL_NR] = { 0 }, empty_n[WL_NR] = { 0 };
	int valid[WL_NR] = { 0 }, empty_valid[WL_NR] = { 0 };
	char notes[WL_NR][256], empty_note[256];
	struct bench_vm v = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = argv[++i];
		else if (!strcmp(argv[i], "--min-time") && i + 1 < argc)
			min_time = atof(argv[++i]);
		else
			image = NULL, i = argc;
	}
	if (!image) {
		fprintf(stderr, "usage: silicon_bench --image FILE [--min-time SEC]\n");
		return 2;
	}
	if (vm_setup(&v, image))
		goto failed;
	for (int id = 0; id < WL_NR; id++) {
		if (measure(&v, id, min_time, max_time, &ns[id], &secs[id], &valid[id], notes[id],
			    sizeof(notes[id])))
			goto failed;
		retired[id] = v.icount_end - v.icount_start;
		printf("# silicon %s: n=%" PRIu64 " time=%.6f s %s\n", bench_names[id], ns[id], secs[id],
		       notes[id]);
		/* The empty loop again right after each exit loop, as kvm_bench does. */
		if (id > WL_EX_EMPTY &&
		    measure(&v, WL_EX_EMPTY, min_time, max_time, &empty_n[id], &empty_sec[id], &empty_valid[id],
			    empty_note, sizeof(empty_note)))
			goto failed;
		fflush(stdout);
	}
	{
		double d, dummy_sec;
		uint64_t dummy;

		run_command(&v, WL_CMD_STOP, 0, 0, &dummy_sec, &dummy);
		for (int id = 0; id < WL_NR_MIPS; id++) {
			uint64_t insns = bench_insns(id, ns[id], bench_size(id));

			/*
			 * The processor's own count of the START..END window: the
			 * counted instructions, 4 moves and the END OUT.
			 */
			printf("# silicon %s: %" PRIu64 " instructions in %.6f s; the cpu retired %" PRIu64
			       " between the OUTs, %s\n", bench_names[id], insns, secs[id], retired[id],
			       retired[id] == insns + 5 ? "as expected (+5)" : "MISMATCH: expected instructions + 5");
			if (valid[id])
				printf("R\tmips\tsilicon\t%s\t%.1f\t\n", bench_names[id], insns / secs[id] / 1e6);
			else
				printf("R\tmips\tsilicon\t%s\t-\t%s\n", bench_names[id], notes[id]);
		}
		d = secs[WL_EX_EMPTY] / ns[WL_EX_EMPTY] * 1e9;
		if (valid[WL_EX_EMPTY])
			printf("R\texit\tsilicon\tloop\t%.1f\tns per iteration of the empty loop (subtracted)\n", d);
		else
			printf("R\texit\tsilicon\tloop\t-\t%s\n", notes[WL_EX_EMPTY]);
		for (int id = WL_EX_EMPTY + 1; id < WL_NR; id++) {
			double raw = secs[id] / ns[id] * 1e9;
			double e = empty_valid[id] ? empty_sec[id] / empty_n[id] * 1e9 : d;

			printf("# silicon %s: %.1f ns per iteration, %.1f ns net\n", bench_names[id], raw, raw - e);
			if (valid[id] && (valid[WL_EX_EMPTY] || empty_valid[id]))
				printf("R\texit\tsilicon\t%s\t%.1f\t\n", bench_names[id], raw - e);
			else
				printf("R\texit\tsilicon\t%s\t-\t%s\n", bench_names[id],
				       valid[id] ? notes[WL_EX_EMPTY] : notes[id]);
		}
	}
	vm_destroy(&v);
	return 0;
failed:
	printf("# silicon: %s\n", v.err);
	for (int id = 0; id < WL_NR; id++)
		printf("R\t%s\tsilicon\t%s\t-\tfailed (%s)\n", id < WL_NR_MIPS ? "mips" : "exit",
		       silicon_exit_names[id], v.err);
	vm_destroy(&v);
	return 0;
}
