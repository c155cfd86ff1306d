// SPDX-License-Identifier: MIT
/*
 * tcg_bench: boots the benchmark guest under QEMU TCG and reports guest MIPS
 * per workload and nanoseconds per exit-like instruction, in kvm_bench's
 * output format.
 *
 *   tcg_bench --image IMAGE [--qemu qemu-system-x86_64] [--timeout SEC]
 *
 * QEMU boots the image as a multiboot kernel (-kernel); the guest's own
 * driver (tcg_main in bench/guest/driver.S) times each workload with RDTSC,
 * so boot time is excluded, and prints "BENCH id=.. n=.. size=.. cycles=..
 * result=.." lines on COM1, which QEMU writes to a file.
 *
 * Cycles to seconds: without -icount, QEMU TCG's guest TSC is the host's
 * TSC (cpu_get_host_ticks() plus an offset), so it ticks at the host's TSC
 * rate.  That rate is measured here against CLOCK_MONOTONIC before and after
 * QEMU runs (they must agree within 1%).  Two checks that the guest's TSC
 * really runs at that rate: the guest measures its TSC against the PIT
 * (driven by QEMU's virtual clock, which is host time without -icount) and
 * must find the host's rate within 5% (the shortest of 5 rounds of 50 ms;
 * rounds in which QEMU was preempted come out long), and its whole measuring window
 * (BENCH-BEGIN .. BENCH-END) must fit in QEMU's wall-clock run time.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The host TSC's rate in Hz, measured over @sec seconds of CLOCK_MONOTONIC. */
static double tsc_hz(double sec)
{
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	do {
		t1 = now();
	} while (t1 - t0 < sec);
	c1 = __rdtsc();
	return (c1 - c0) / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct row {
	int seen;
	uint64_t n, size, cycles, result;
};

static void fail_all(const char *why)
{
	printf("# tcg: %s\n", why);
	for (int id = 0; id < WL_NR; id++)
		printf("R\t%s\ttcg\t%s\t-\tfailed (%s)\n", id < WL_NR_MIPS ? "mips" : "exit",
		       id == WL_EX_EMPTY ? "loop" : bench_names[id], why);
}

int main(int argc, char **argv)
{
	const char *image = NULL, *qemu = "qemu-system-x86_64";
	char log_path[] = "/tmp/tcg_bench.XXXXXX", serial_arg[64], why[512];
	int timeout = 120, status, fd;
	struct row rows[WL_NR] = { 0 };
	uint64_t tsc_begin = 0, tsc_end = 0, pit_latch = 0, pit_cycles = 0;
	double pit_hz[16];
	int pit_rounds = 0;
	double hz0, hz1, hz, t0, wall;
	char line[512];
	FILE *f;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = argv[++i];
		else if (!strcmp(argv[i], "--qemu") && i + 1 < argc)
			qemu = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else
			image = NULL, i = argc;
	}
	if (!image) {
		fprintf(stderr, "usage: tcg_bench --image FILE [--qemu PATH] [--timeout SEC]\n");
		return 2;
	}
	fd = mkstemp(log_path);
	if (fd < 0) {
		perror("tcg_bench: mkstemp");
		return 1;
	}
	close(fd);
	snprintf(serial_arg, sizeof(serial_arg), "file:%s", log_path);

	hz0 = tsc_hz(0.2);
	t0 = now();
	pid = fork();
	if (pid == 0) {
		char *args[] = {
			(char *)qemu, "-accel", "tcg", "-nodefaults", "-display", "none", "-no-reboot",
			"-m", "64", "-serial", serial_arg,
			"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
			"-kernel", (char *)image, NULL,
		};

		alarm(timeout);	/* SIGALRM survives exec and ends QEMU */
		execvp(qemu, args);
		fprintf(stderr, "tcg_bench: %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		fail_all("could not run QEMU");
		return 0;
	}
	wall = now() - t0;
	hz1 = tsc_hz(0.2);
	hz = (hz0 + hz1) / 2;
	printf("# tcg: QEMU ran %.2f s; host TSC %.1f MHz (%.1f before, %.1f after)\n", wall, hz / 1e6,
	       hz0 / 1e6, hz1 / 1e6);
	if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "QEMU killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		fail_all(why);
		unlink(log_path);
		return 0;
	}
	/* isa-debug-exit: the guest's OUT of 0 makes QEMU exit with (0 << 1) | 1. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
		snprintf(why, sizeof(why), "QEMU exited with status %d, not the guest's debug exit",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		fail_all(why);
		unlink(log_path);
		return 0;
	}

	f = fopen(log_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "BENCH");
		uint64_t id, n, size, cycles, result;

		if (!p)
			continue;
		if (sscanf(p, "BENCH-BEGIN tsc=%" SCNx64, &tsc_begin) == 1)
			continue;
		if (sscanf(p, "BENCH-END tsc=%" SCNx64, &tsc_end) == 1)
			continue;
		if (sscanf(p, "BENCH-PIT latch=%" SCNx64 " cycles=%" SCNx64, &pit_latch, &pit_cycles) == 2) {
			if (pit_latch && pit_rounds < (int)(sizeof(pit_hz) / sizeof(pit_hz[0])))
				pit_hz[pit_rounds++] = pit_cycles * 1193182.0 / pit_latch;
			continue;
		}
		if (sscanf(p, "BENCH id=%" SCNx64 " n=%" SCNx64 " size=%" SCNx64 " cycles=%" SCNx64
			   " result=%" SCNx64, &id, &n, &size, &cycles, &result) == 5 && id < WL_NR)
			rows[id] = (struct row){ 1, n, size, cycles, result };
	}
	if (f)
		fclose(f);
	unlink(log_path);
	if (!tsc_begin || !tsc_end) {
		fail_all("the guest did not print BENCH-BEGIN/BENCH-END");
		return 0;
	}
	if (hz1 > hz0 * 1.01 || hz1 < hz0 * 0.99) {
		snprintf(why, sizeof(why), "the host TSC rate changed: %.1f then %.1f MHz", hz0 / 1e6, hz1 / 1e6);
		fail_all(why);
		return 0;
	}
	if (!pit_rounds) {
		fail_all("the guest did not print BENCH-PIT");
		return 0;
	} else {
		double guest_hz;

		qsort(pit_hz, pit_rounds, sizeof(pit_hz[0]), cmp_double);
		guest_hz = pit_hz[0];
		printf("# tcg: guest TSC against the PIT: %.1f MHz (shortest of %d rounds, %.1f to %.1f; "
		       "host TSC %.1f MHz)\n", guest_hz / 1e6, pit_rounds, pit_hz[0] / 1e6,
		       pit_hz[pit_rounds - 1] / 1e6, hz / 1e6);
		if (guest_hz > hz * 1.05 || guest_hz < hz * 0.95) {
			snprintf(why, sizeof(why), "the guest's TSC runs at %.1f MHz by the PIT, the host's at "
				 "%.1f MHz", guest_hz / 1e6, hz / 1e6);
			fail_all(why);
			return 0;
		}
	}
	{
		double window = (tsc_end - tsc_begin) / hz;

		printf("# tcg: guest TSC window %.2f s within QEMU's %.2f s run\n", window, wall);
		if (window > wall) {
			snprintf(why, sizeof(why), "guest TSC window %.2f s exceeds QEMU's run time %.2f s: "
				 "the guest TSC is not at the host's rate", window, wall);
			fail_all(why);
			return 0;
		}
	}

	for (int id = 0; id < WL_NR_MIPS; id++) {
		struct row *r = &rows[id];
		uint64_t want;
		int ok;

		if (!r->seen) {
			printf("R\tmips\ttcg\t%s\t-\tfailed (no result from the guest)\n", bench_names[id]);
			continue;
		}
		want = bench_expected(id, r->n, r->size, &ok);
		printf("# tcg %s: n=%" PRIu64 " %" PRIu64 " instructions in %.6f s, result %#" PRIx64 " %s\n",
		       bench_names[id], r->n, bench_insns(id, r->n, r->size), r->cycles / hz, r->result,
		       ok && r->result != want ? "WRONG" : "ok");
		if (ok && r->result != want)
			printf("R\tmips\ttcg\t%s\t-\tWRONG result %#" PRIx64 ", expected %#" PRIx64 "\n",
			       bench_names[id], r->result, want);
		else
			printf("R\tmips\ttcg\t%s\t%.1f\t\n", bench_names[id],
			       bench_insns(id, r->n, r->size) / (r->cycles / hz) / 1e6);
	}

	{
		struct row *e = &rows[WL_EX_EMPTY];
		double empty = e->seen ? e->cycles / hz / e->n * 1e9 : 0;

		if (e->seen)
			printf("R\texit\ttcg\tloop\t%.1f\tns per iteration of the empty loop (subtracted)\n", empty);
		else
			printf("R\texit\ttcg\tloop\t-\tfailed (no result from the guest)\n");
		for (int id = WL_EX_EMPTY + 1; id < WL_NR; id++) {
			struct row *r = &rows[id];
			uint64_t want;
			int ok;

			if (id == WL_EX_HLT) {
				printf("R\texit\ttcg\thlt\t-\tn/a (HLT sleeps)\n");
				continue;
			}
			if (!r->seen || !e->seen) {
				printf("R\texit\ttcg\t%s\t-\tfailed (no result from the guest)\n", bench_names[id]);
				continue;
			}
			want = bench_expected(id, r->n, r->size, &ok);
			printf("# tcg %s: n=%" PRIu64 " %.1f ns per iteration, %.1f ns net, result %#" PRIx64
			       " %s\n", bench_names[id], r->n, r->cycles / hz / r->n * 1e9,
			       r->cycles / hz / r->n * 1e9 - empty, r->result,
			       !ok ? "(not checked)" : r->result != want ? "WRONG" : "ok");
			if (ok && r->result != want)
				printf("R\texit\ttcg\t%s\t-\tWRONG result %#" PRIx64 ", expected %#" PRIx64 "\n",
				       bench_names[id], r->result, want);
			else
				printf("R\texit\ttcg\t%s\t%.1f\t\n", bench_names[id],
				       r->cycles / hz / r->n * 1e9 - empty);
		}
	}
	return 0;
}
