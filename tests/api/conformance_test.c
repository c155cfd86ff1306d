// SPDX-License-Identifier: MIT
/*
 * API conformance: system-fd ioctls and descriptor behaviour.  Every case
 * runs on the host's /dev/kvm and on userkvm; transcripts must match.
 * Other case files in this directory add VM, memslot and vCPU cases.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "kvmtest.h"

KVM_CASE(sys_api_version)
{
	int sys = t_open_sys(t);
	long r;

	r = IOC(t, sys, KVM_GET_API_VERSION, 0);
	CHECK_EQ(r, 12);
	r = IOC(t, sys, KVM_GET_API_VERSION, 1);	/* arg must be 0 */
	CHECK_ERR(t, r, EINVAL);
	close(sys);
}

KVM_CASE(sys_vcpu_mmap_size)
{
	int sys = t_open_sys(t);
	long r;

	r = IOC(t, sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	/* kvm_run, the PIO data page and the coalesced MMIO ring */
	CHECK_EQ(r, 3 * 4096);
	r = IOC(t, sys, KVM_GET_VCPU_MMAP_SIZE, 1);
	CHECK_ERR(t, r, EINVAL);
	close(sys);
}

KVM_CASE(sys_unknown_ioctl)
{
	int sys = t_open_sys(t);
	long r;

	/* /dev/kvm answers unknown requests with EINVAL, even foreign types */
	r = IOC(t, sys, _IO(KVMIO, 0x7f), 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, sys, _IO('T', 0x01), 0);
	CHECK_ERR(t, r, EINVAL);
	/* VM-only requests on the system fd */
	r = IOC(t, sys, KVM_CREATE_VCPU, 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, sys, KVM_SET_TSS_ADDR, 0xfffbd000);
	CHECK_ERR(t, r, EINVAL);
	close(sys);
}

KVM_CASE(sys_create_vm_types)
{
	int sys = t_open_sys(t), vm;
	long r;

	vm = (int)IOC(t, sys, KVM_CREATE_VM, 0);
	CHECK_OK(t, vm);
	r = IOC(t, sys, KVM_CREATE_VM, 1);	/* KVM_X86_SW_PROTECTED_VM: unsupported */
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, sys, KVM_CREATE_VM, 99);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, sys, KVM_CREATE_VM, -1l);
	CHECK_ERR(t, r, EINVAL);
	/* the VM fd is close-on-exec, as anon_inode_getfd(O_CLOEXEC) makes it */
	t_printf(t, "vm cloexec %d", (fcntl(vm, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK(fcntl(vm, F_GETFD) & FD_CLOEXEC, "VM fd not O_CLOEXEC");
	close(vm);
	close(sys);
}

/*
 * Capabilities userkvm implements must be reported with KVM's values; this
 * host's KVM reports more (it has KVM_RUN, irqchips, ...), so the case
 * compares only the ones both sides implement and dumps the rest as known
 * differences.
 */
static const struct { long cap; const char *name; } shared_caps[] = {
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS, "DESTROY_MEMORY_REGION_WORKS" },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, "JOIN_MEMORY_REGIONS_WORKS" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_MAX_VCPUS, "MAX_VCPUS" },
	{ KVM_CAP_MAX_VCPU_ID, "MAX_VCPU_ID" },
	{ KVM_CAP_READONLY_MEM, "READONLY_MEM" },
	{ KVM_CAP_GET_TSC_KHZ, "GET_TSC_KHZ" },
	{ KVM_CAP_CHECK_EXTENSION_VM, "CHECK_EXTENSION_VM" },
	{ KVM_CAP_ENABLE_CAP_VM, "ENABLE_CAP_VM" },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, "MANUAL_DIRTY_LOG_PROTECT2" },
	{ KVM_CAP_USER_MEMORY2, "USER_MEMORY2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	{ KVM_CAP_INTERNAL_ERROR_DATA, "INTERNAL_ERROR_DATA" },
	{ KVM_CAP_SYNC_REGS, "SYNC_REGS" },
	{ KVM_CAP_IRQCHIP, "IRQCHIP" },
	{ KVM_CAP_IRQ_INJECT_STATUS, "IRQ_INJECT_STATUS" },
	{ KVM_CAP_PIT, "PIT" },
	{ KVM_CAP_PIT2, "PIT2" },
	{ KVM_CAP_PIT_STATE2, "PIT_STATE2" },
	{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING" },
	{ KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI" },
	{ KVM_CAP_IRQFD, "IRQFD" },
	{ KVM_CAP_IRQFD_RESAMPLE, "IRQFD_RESAMPLE" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
	{ KVM_CAP_IOEVENTFD_ANY_LENGTH, "IOEVENTFD_ANY_LENGTH" },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "TSC_DEADLINE_TIMER" },
	{ KVM_CAP_IOAPIC_POLARITY_IGNORED, "IOAPIC_POLARITY_IGNORED" },
	{ KVM_CAP_MP_STATE, "MP_STATE" },
	{ KVM_CAP_USER_NMI, "USER_NMI" },
	{ KVM_CAP_SET_BOOT_CPU_ID, "SET_BOOT_CPU_ID" },
};

KVM_CASE(sys_check_extension)
{
	int sys = t_open_sys(t), vm = t_create_vm(t, sys);
	long r;

	for (size_t i = 0; i < sizeof(shared_caps) / sizeof(shared_caps[0]); i++) {
		r = t->be->ioctl(sys, KVM_CHECK_EXTENSION, shared_caps[i].cap);
		t_printf(t, "sys cap %s = %ld", shared_caps[i].name, r);
		CHECK(r > 0, "%s not reported", shared_caps[i].name);
		r = t->be->ioctl(vm, KVM_CHECK_EXTENSION, shared_caps[i].cap);
		t_printf(t, "vm cap %s = %ld", shared_caps[i].name, r);
	}
	/* NR_VCPUS is the host's online CPU count on KVM; ours is a software CPU */
	r = t->be->ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	t_differs(t, "KVM_CAP_NR_VCPUS: KVM reports online host CPUs, userkvm KVM_MAX_VCPUS");
	t_printf(t, "sys cap NR_VCPUS = %ld", r);
	CHECK(r >= 1, "NR_VCPUS %ld", r);
	/* Unknown capabilities are 0, not an error. */
	r = IOC(t, sys, KVM_CHECK_EXTENSION, 100000);
	CHECK_EQ(r, 0);
	r = IOC(t, sys, KVM_CHECK_EXTENSION, -1l);
	CHECK_EQ(r, 0);
	/* No SMM address space (this host's KVM has none either) */
	r = IOC(t, sys, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE);
	CHECK_EQ(r, 0);
	close(vm);
	close(sys);
}

/* userkvm reports nothing it does not implement. */
KVM_CASE(sys_check_extension_honest)
{
	int sys = t_open_sys(t);

	if (t->be->soft) {
		/* the split irqchip, the MMU notifier contract, ... come later */
		CHECK_EQ(t->be->ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP), 0);
		CHECK_EQ(t->be->ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_MMU), 0);
		CHECK_EQ(t->be->ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), 0);
		CHECK_EQ(t->be->ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING), 0);
	}
	close(sys);
}

/* Descriptors are real: fstat, dup, close behave as with KVM. */
KVM_CASE(fd_dup_and_close)
{
	int sys = t_open_sys(t), vm, vm2, vcpu;
	struct stat st;
	long r;

	CHECK(fstat(sys, &st) == 0, "fstat: %s", strerror(errno));
	vm = t_create_vm(t, sys);
	vm2 = dup(vm);
	CHECK(vm2 >= 0, "dup: %s", strerror(errno));
	close(vm);
	/* the VM lives on through its dup */
	vcpu = (int)IOC(t, vm2, KVM_CREATE_VCPU, 0);
	CHECK_OK(t, vcpu);
	close(vm2);
	/* ... and through its vCPU */
	r = t->be->ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	/* the TSC frequency is the host's on KVM, the processor's on userkvm */
	CHECK(r > 0, "TSC kHz %ld", r);
	close(vcpu);
	/* a closed descriptor */
	r = IOC(t, vcpu, KVM_GET_TSC_KHZ, 0);
	CHECK_ERR(t, r, EBADF);
	r = IOC(t, -1, KVM_GET_API_VERSION, 0);
	CHECK_ERR(t, r, EBADF);
	close(sys);
}

/* An ioctl on a descriptor that is not KVM's goes to the system. */
KVM_CASE(fd_foreign)
{
	int fd = open("/dev/null", O_RDONLY);
	long r;

	r = IOC(t, fd, KVM_GET_API_VERSION, 0);
	CHECK_ERR(t, r, ENOTTY);
	close(fd);
}

/* The request is 32 bits: QEMU passes sign-extended values. */
KVM_CASE(sys_request_sign_extended)
{
	int sys = t_open_sys(t);
	long r;

	r = IOC(t, sys, 0xffffffff00000000ul | KVM_GET_API_VERSION, 0);
	CHECK_EQ(r, 12);
	close(sys);
}
