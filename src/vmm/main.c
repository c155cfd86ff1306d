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

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "userkvm: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* --accel: the same VMM drives userkvm (soft) or the host's /dev/kvm. */
struct accel {
	const char *name;
	int (*open)(void);
	long (*ioctl)(int fd, unsigned long req, unsigned long arg);
};

static int soft_open(void) { return userkvm_open(O_RDWR | O_CLOEXEC); }
static long soft_ioctl(int fd, unsigned long req, unsigned long arg) { return userkvm_ioctl(fd, req, arg); }
static int kvm_open(void) { return open("/dev/kvm", O_RDWR | O_CLOEXEC); }
static long kvm_ioctl(int fd, unsigned long req, unsigned long arg) { return ioctl(fd, req, arg); }

static const struct accel accels[] = {
	{ "soft", soft_open, soft_ioctl },
	{ "kvm", kvm_open, kvm_ioctl },
};

static const struct accel *find_accel(const char *name)
{
	for (size_t i = 0; i < sizeof(accels) / sizeof(accels[0]); i++)
		if (!strcmp(accels[i].name, name))
			return &accels[i];
	die("unknown accelerator '%s' (use soft or kvm)", name);
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
	const struct accel *a = find_accel("soft");
	int fd, vm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--accel") && i + 1 < argc)
			a = find_accel(argv[++i]);
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

static int cmd_run(int argc, char **argv)
{
	die("run: KVM_RUN is not implemented yet (the processor and run loop are "
	    "issues 3 and 4); try 'userkvm info'");
}

static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "info", cmd_info, "[--accel soft|kvm]   print API version and capabilities" },
	{ "run", cmd_run, "[--accel soft|kvm] ... run a guest (not yet implemented)" },
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
