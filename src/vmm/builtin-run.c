// SPDX-License-Identifier: MIT
/*
 * userkvm run: options, devices, the boot CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm.h"

static const char run_usage[] =
	"usage: userkvm run [--accel soft|kvm] [--mem SIZE] [--smp N] [--stat]\n"
	"                   (--kernel FILE [--initrd FILE[,FILE...]] [--append CMDLINE] | --flat FILE)\n"
	"  --accel   soft: userkvm (default); kvm: the host's /dev/kvm\n"
	"  --mem     guest RAM, e.g. 128M (default), 1G; a plain number is MiB\n"
	"  --kernel  a multiboot v1 kernel (ELF32 or with multiboot address fields)\n"
	"  --initrd  files passed as multiboot modules\n"
	"  --append  the multiboot command line\n"
	"  --flat    a raw binary, loaded and entered at 1 MiB in 32-bit protected mode\n"
	"  --smp     vCPUs (1-16); with more than one: the in-kernel irqchip and PIT, the\n"
	"            PICs programmed as a BIOS leaves them, the APs waiting for INIT-SIPI\n"
	"  --stat    print the VM-exit statistics at the end, like perf kvm stat\n"
	"Exit status: (V << 1) | 1 after the guest writes V to port 0xf4; 0 when it halts\n"
	"with interrupts off; 2 on a triple fault; 4 on a failed entry or internal error.\n";

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		die("--mem: bad size '%s'", s);
	switch (*end) {
	case 0: case 'M': case 'm': v <<= 20; break;
	case 'G': case 'g': v <<= 30; break;
	case 'K': case 'k': v <<= 10; break;
	default: die("--mem: bad size '%s'", s);
	}
	if (*end && end[1])
		die("--mem: bad size '%s'", s);
	if (v < (2u << 20) || (v & 0xfff))
		die("--mem: at least 2M, in whole pages");
	return v;
}

/*
 * An AP's vCPU loop.  It returns when the AP itself stopped the guest (the
 * debug-exit port, a triple fault): the BSP may be halted for good then,
 * so the run ends here.
 */
static void *ap_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	int status = kvm_cpu__start(vcpu);

	serial8250__flush();
	_exit(status);
}

int cmd_run(int argc, char **argv)
{
	struct boot_options opt = { 0 };
	const char *accel = "soft";
	uint64_t mem = 128ull << 20;
	struct vmm vmm = { 0 };
	/* static: AP threads may still use theirs while the process exits */
	static struct vcpu vcpus[VMM_MAX_VCPUS];
	struct vcpu *bsp;
	int smp = 1, status, stat_fd = -1;
	bool stat = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(run_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--stat")) {
			stat = true;
			continue;
		}
		if (!v)
			die("run: option '%s' needs a value (or is unknown)\n%s", a, run_usage);
		if (!strcmp(a, "--accel"))
			accel = v;
		else if (!strcmp(a, "--mem"))
			mem = parse_size(v);
		else if (!strcmp(a, "--smp"))
			smp = atoi(v);
		else if (!strcmp(a, "--kernel"))
			opt.kernel = v;
		else if (!strcmp(a, "--initrd"))
			opt.initrd = v;
		else if (!strcmp(a, "--append"))
			opt.append = v;
		else if (!strcmp(a, "--flat"))
			opt.flat = v;
		else
			die("run: unknown option '%s'\n%s", a, run_usage);
		i++;
	}
	if (!opt.kernel == !opt.flat)
		die("run: give exactly one of --kernel and --flat\n%s", run_usage);
	if (opt.flat && (opt.initrd || opt.append))
		die("run: --initrd and --append need --kernel");
	if (smp < 1 || smp > VMM_MAX_VCPUS)
		die("run: --smp %d: give 1 to %d vCPUs", smp, VMM_MAX_VCPUS);

	vmm__init(&vmm, accel, mem);
	serial8250__init(&vmm);
	debug_exit__init(&vmm);
	if (smp > 1)
		vmm__irqchip_init(&vmm);
	for (int i = 0; i < smp; i++)
		kvm_cpu__init(&vmm, &vcpus[i], i);
	bsp = &vcpus[0];
	vmm.nr_vcpus = smp;
	vmm.vcpus = vcpus;
	boot__load(&vmm, bsp, &opt);
	if (stat)
		stat_fd = kvm_cpu__stat_open(bsp);

	/*
	 * Every AP runs KVM_RUN on its own thread from the start: KVM keeps
	 * it waiting until the guest's BSP sends INIT and SIPI (its KVM_RUN
	 * returns EAGAIN once, after the INIT; kvm_cpu__start() runs it again).
	 */
	for (int i = 1; i < smp; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, ap_thread, &vcpus[i]))
			die("run: cannot start the thread of vCPU %d", i);
		pthread_detach(th);
	}
	status = kvm_cpu__start(bsp);
	serial8250__flush();
	if (stat)
		kvm_cpu__stat_report(bsp, stat_fd);
	return status;
}
