// SPDX-License-Identifier: MIT
/*
 * native_bench: the host CPU's own speed on the benchmark workloads, as a
 * reference for the other columns.  It maps the guest image at its link
 * address (BENCH_IMAGE_BASE), so the bytes it executes are exactly the
 * guest's, and calls the MIPS workloads through the image's tables
 * (BENCH_INIT_TAB_PTR, BENCH_RUN_TAB_PTR) as user-mode functions; timing,
 * n growth, best-of-BENCH_REPEATS and the result checks are as in kvm_bench.
 * The exit loops need CPL0 and are not run.
 *
 *   native_bench --image IMAGE [--min-time SEC]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"

typedef void (*init_fn)(uint64_t size, uint8_t *mem);
typedef uint64_t (*run_fn)(uint64_t n, uint8_t *mem, uint64_t size);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fail_all(const char *why)
{
	printf("# native: %s\n", why);
	for (int id = 0; id < WL_NR_MIPS; id++)
		printf("R\tmips\tnative\t%s\t-\tfailed (%s)\n", bench_names[id], why);
}

int main(int argc, char **argv)
{
	const char *image = NULL;
	double min_time = 0.1;
	size_t map_size = 0x40000;
	uint8_t *base, *mem;
	char why[256];
	FILE *f;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = argv[++i];
		else if (!strcmp(argv[i], "--min-time") && i + 1 < argc)
			min_time = atof(argv[++i]);
		else
			image = NULL, i = argc;
	}
	if (!image) {
		fprintf(stderr, "usage: native_bench --image FILE [--min-time SEC]\n");
		return 2;
	}
	base = mmap((void *)BENCH_IMAGE_BASE, map_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (base != (void *)BENCH_IMAGE_BASE) {
		snprintf(why, sizeof(why), "cannot map the image at %#x: %s", BENCH_IMAGE_BASE,
			 base == MAP_FAILED ? strerror(errno) : "address taken");
		fail_all(why);
		return 0;
	}
	f = fopen(image, "rb");
	len = f ? fread(base, 1, map_size, f) : 0;
	if (f)
		fclose(f);
	if (len < 0x58 || *(uint32_t *)base != 0x1badb002) {
		fail_all("not the benchmark image");
		return 0;
	}
	if (mprotect(base, map_size, PROT_READ | PROT_EXEC)) {
		fail_all("mprotect failed");
		return 0;
	}
	mem = calloc(1, BENCH_SCRATCH_SIZE);
	if (!mem) {
		fail_all("out of memory");
		return 0;
	}

	const uint64_t *init_tab = (const uint64_t *)(uintptr_t)*(uint64_t *)BENCH_INIT_TAB_PTR;
	const uint64_t *run_tab = (const uint64_t *)(uintptr_t)*(uint64_t *)BENCH_RUN_TAB_PTR;

	for (int id = 0; id < WL_NR_MIPS; id++) {
		init_fn init = (init_fn)(uintptr_t)init_tab[id];
		run_fn run = (run_fn)(uintptr_t)run_tab[id];
		uint64_t n = 1, size = bench_size(id), result = 0, want;
		double sec = 0, best = 0, t0;
		int ok, wrong = 0;

		for (int rep = 0; rep < BENCH_REPEATS;) {
			init(size, mem);
			t0 = now();
			result = run(n, mem, size);
			sec = now() - t0;
			want = bench_expected(id, n, size, &ok);
			if (ok && result != want) {
				wrong = 1;
				break;
			}
			if (rep == 0 && sec < min_time && n < (1ull << 40)) {
				double f = sec > 0 ? 1.5 * min_time / sec : 64;

				f = f < 2 ? 2 : f > 64 ? 64 : f;
				n = (uint64_t)(n * f);
				continue;
			}
			if (rep == 0 || sec < best)
				best = sec;
			rep++;
		}
		if (wrong) {
			printf("R\tmips\tnative\t%s\t-\tWRONG result %#" PRIx64 ", expected %#" PRIx64 "\n",
			       bench_names[id], result, want);
			continue;
		}
		printf("# native %s: n=%" PRIu64 " %" PRIu64 " instructions in %.6f s, result %#" PRIx64 " ok\n",
		       bench_names[id], n, bench_insns(id, n, size), best, result);
		printf("R\tmips\tnative\t%s\t%.1f\t\n", bench_names[id], bench_insns(id, n, size) / best / 1e6);
	}
	return 0;
}
