// SPDX-License-Identifier: MIT
/*
 * irq_bench: interrupt latencies of one guest (guests/irqbench, two vCPUs)
 * under a VMM, in ns: the local APIC timer armed (one-shot, 1 bus cycle)
 * until its handler runs, and an IPI round trip vCPU 0 -> vCPU 1 (halted)
 * -> vCPU 0.  The guest measures in its TSC and prints the median and the
 * minimum of 1024 of each; this program converts cycles to ns with the
 * host TSC's rate (every accelerator here gives the guest the host TSC's
 * rate: userkvm's processor and KVM add an offset, QEMU TCG reads the
 * host's TSC) and prints "R<TAB>irq<TAB>ACCEL<TAB>NAME<TAB>NS<TAB>NOTE"
 * lines for bench/run.sh.
 *
 *   irq_bench --accel soft|kvm --userkvm BUILD/userkvm --guest ELF
 *   irq_bench --accel tcg --qemu qemu-system-x86_64 --guest ELF
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Host TSC cycles per ns, over 100 ms. */
static double tsc_per_ns(void)
{
	double t0 = now_s(), t1;
	unsigned long long c0 = __rdtsc(), c1;

	do {
		t1 = now_s();
	} while (t1 - t0 < 0.1);
	c1 = __rdtsc();
	return (c1 - c0) / ((t1 - t0) * 1e9);
}

static void usage(void)
{
	fprintf(stderr, "usage: irq_bench --accel soft|kvm --userkvm FILE --guest ELF\n"
			"       irq_bench --accel tcg --qemu FILE --guest ELF\n");
	exit(2);
}

static void skip(const char *accel, const char *why)
{
	printf("R\tirq\t%s\ttimer\t-\t%s\nR\tirq\t%s\tipi\t-\t%s\n", accel, why, accel, why);
}

int main(int argc, char **argv)
{
	const char *accel = NULL, *userkvm = NULL, *qemu = NULL, *guest = NULL;
	char cmd[4096], line[256];
	int got = 0;
	double rate;
	FILE *f;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--accel"))
			accel = argv[i + 1];
		else if (!strcmp(argv[i], "--userkvm"))
			userkvm = argv[i + 1];
		else if (!strcmp(argv[i], "--qemu"))
			qemu = argv[i + 1];
		else if (!strcmp(argv[i], "--guest"))
			guest = argv[i + 1];
		else
			usage();
	}
	if (!accel || !guest || (!userkvm && !qemu))
		usage();
	rate = tsc_per_ns();
	if (qemu)
		snprintf(cmd, sizeof(cmd),
			 "timeout 120 %s -accel tcg -smp 2 -m 64 -kernel %s -display none "
			 "-serial stdio -monitor none -no-reboot "
			 "-device isa-debug-exit,iobase=0xf4,iosize=1 2>/dev/null", qemu, guest);
	else
		snprintf(cmd, sizeof(cmd), "timeout 120 %s run --accel %s --smp 2 --kernel %s 2>&1",
			 userkvm, accel, guest);
	f = popen(cmd, "r");
	if (!f) {
		skip(accel, "cannot start the VMM");
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[16];
		unsigned long long med, min;

		if (sscanf(line, "irq %15s %llu %llu", name, &med, &min) == 3) {
			printf("R\tirq\t%s\t%s\t%.0f\tmedian of 1024\n", accel, name, med / rate);
			printf("# irq %s %s: median %.0f ns, min %.0f ns (%llu / %llu guest TSC cycles)\n",
			       accel, name, med / rate, min / rate, med, min);
			got++;
		} else if (!strncmp(line, "irq ", 4)) {
			char what[16] = "?";

			sscanf(line, "irq %15s", what);
			printf("R\tirq\t%s\t%s\t-\tno second vCPU\n", accel, what);
			got++;
		} else {
			printf("# irq %s: %s", accel, line);
		}
	}
	pclose(f);
	if (got < 2)
		skip(accel, "the guest did not report");
	printf("# irq: host TSC %.3f GHz (guest TSC cycles -> ns)\n", rate);
	return 0;
}
