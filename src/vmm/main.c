// SPDX-License-Identifier: MIT
/*
 * userkvm: the VMM command line.  A command table as in kvmtool's
 * kvm-cmd.c; die() lives only here (library code never exits).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <userkvm.h>
#include <userkvm/kvm_compat.h>

#include "vmm/vmm.h"

/* die(): fatal setup errors of the VMM.  Only this program exits; the library never does. */
void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "userkvm: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	serial8250__flush();
	exit(VMM_EXIT_SETUP);
}

void die_perror(const char *what)
{
	die("%s: %s", what, strerror(errno));
}

static const struct { int cap; const char *name; } caps[] = {
#define CAP(x) { KVM_CAP_##x, #x }
	CAP(USER_MEMORY), CAP(USER_MEMORY2), CAP(SET_TSS_ADDR), CAP(EXT_CPUID),
	CAP(NR_VCPUS), CAP(MAX_VCPUS), CAP(MAX_VCPU_ID), CAP(NR_MEMSLOTS),
	CAP(MP_STATE), CAP(DESTROY_MEMORY_REGION_WORKS), CAP(JOIN_MEMORY_REGIONS_WORKS),
	CAP(SET_IDENTITY_MAP_ADDR), CAP(VCPU_EVENTS), CAP(DEBUGREGS), CAP(XSAVE),
	CAP(XCRS), CAP(GET_TSC_KHZ), CAP(TSC_CONTROL), CAP(VM_TSC_CONTROL),
	CAP(READONLY_MEM), CAP(CHECK_EXTENSION_VM), CAP(ENABLE_CAP_VM),
	CAP(MANUAL_DIRTY_LOG_PROTECT2), CAP(GET_MSR_FEATURES), CAP(SREGS2),
	CAP(IMMEDIATE_EXIT), CAP(IRQCHIP), CAP(X86_USER_SPACE_MSR),
#undef CAP
};

static int cmd_info(int argc, char **argv)
{
	const struct accel *a = accel__find("soft");
	int fd, vm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--accel") && i + 1 < argc)
			a = accel__find(argv[++i]);
		else
			die("info: unknown option '%s'", argv[i]);
	}
	fd = a->open();
	if (fd < 0)
		die("cannot open the %s accelerator: %s", a->name, strerror(errno));
	printf("accelerator:       %s\n", a->name);
	printf("KVM API version:   %ld\n", a->ioctl(fd, KVM_GET_API_VERSION, 0));
	printf("vCPU mmap size:    %ld\n", a->ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0));
	vm = (int)a->ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	printf("VM TSC kHz:        %ld\n", a->ioctl(vm, KVM_GET_TSC_KHZ, 0));
	printf("capabilities:\n");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("  %-28s %ld\n", caps[i].name, a->ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap));
	close(vm);
	close(fd);
	return 0;
}

int cmd_run(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "info", cmd_info, "[--accel soft|kvm]   print API version and capabilities" },
	{ "run", cmd_run, "[--accel soft|kvm] [--mem SIZE] (--kernel FILE [--initrd FILE] [--append CMDLINE] | --flat FILE)" },
	{ "help", cmd_help, "                     this text" },
};

static int cmd_help(int argc, char **argv)
{
	printf("usage: userkvm COMMAND [OPTIONS]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-5s %s\n", commands[i].name, commands[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_help(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "userkvm: unknown command '%s'\n", argv[1]);
	cmd_help(argc, argv);
	return 2;
}
