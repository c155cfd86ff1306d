// SPDX-License-Identifier: MIT
/*
 * The VM as the VMM sees it: the accelerator, guest RAM and its memslots.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <userkvm.h>
#include "vmm/vmm.h"

static int soft_open(void) { return userkvm_open(O_RDWR | O_CLOEXEC); }
static long soft_ioctl(int fd, unsigned long req, unsigned long arg) { return userkvm_ioctl(fd, req, arg); }
static int host_kvm_open(void) { return open("/dev/kvm", O_RDWR | O_CLOEXEC); }
static long host_kvm_ioctl(int fd, unsigned long req, unsigned long arg) { return ioctl(fd, req, arg); }

static const struct accel accels[] = {
	{ "soft", soft_open, soft_ioctl },
	{ "kvm", host_kvm_open, host_kvm_ioctl },
};

const struct accel *accel__find(const char *name)
{
	for (size_t i = 0; i < sizeof(accels) / sizeof(accels[0]); i++)
		if (!strcmp(accels[i].name, name))
			return &accels[i];
	die("unknown accelerator '%s' (use soft or kvm)", name);
}

long vmm__ioctl(struct vmm *vmm, int fd, unsigned long req, unsigned long arg)
{
	return vmm->accel->ioctl(fd, req, arg);
}

/*
 * Guest-physical layout: RAM from 0, up to 3 GiB below the 32-bit MMIO hole
 * (3 GiB .. 4 GiB, where the LAPIC/IOAPIC and devices live), the rest from
 * 4 GiB.  One host mapping backs all of it.
 */
#define MMIO_HOLE_START 0xc0000000ull
#define FOUR_GIB        0x100000000ull

static void vmm__set_slot(struct vmm *vmm, int slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region mem = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (vmm__ioctl(vmm, vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, (unsigned long)&mem) < 0)
		die_perror("KVM_SET_USER_MEMORY_REGION");
}

void vmm__init(struct vmm *vmm, const char *accel, uint64_t ram_size)
{
	long r;

	vmm->accel = accel__find(accel);
	vmm->sys_fd = vmm->accel->open();
	if (vmm->sys_fd < 0)
		die("cannot open the %s accelerator: %s", vmm->accel->name, strerror(errno));
	r = vmm__ioctl(vmm, vmm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		die("KVM API version %ld, want %d", r, KVM_API_VERSION);
	vmm->vm_fd = (int)vmm__ioctl(vmm, vmm->sys_fd, KVM_CREATE_VM, 0);
	if (vmm->vm_fd < 0)
		die_perror("KVM_CREATE_VM");
	r = vmm__ioctl(vmm, vmm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (long)sizeof(struct kvm_run))
		die_perror("KVM_GET_VCPU_MMAP_SIZE");
	vmm->mmap_size = r;

	vmm->ram_size = ram_size;
	vmm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vmm->ram == MAP_FAILED)
		die_perror("mmap guest RAM");
	if (ram_size <= MMIO_HOLE_START) {
		vmm__set_slot(vmm, 0, 0, ram_size, vmm->ram);
	} else {
		vmm__set_slot(vmm, 0, 0, MMIO_HOLE_START, vmm->ram);
		vmm__set_slot(vmm, 1, FOUR_GIB, ram_size - MMIO_HOLE_START,
			      vmm->ram + MMIO_HOLE_START);
	}
}

/* Return: the host address of [gpa, gpa + len) in RAM, or NULL. */
void *vmm__gpa_to_hva(struct vmm *vmm, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= (vmm->ram_size < MMIO_HOLE_START ? vmm->ram_size : MMIO_HOLE_START))
		off = gpa;
	else if (gpa >= FOUR_GIB && vmm->ram_size > MMIO_HOLE_START &&
		 gpa + len - FOUR_GIB <= vmm->ram_size - MMIO_HOLE_START)
		off = gpa - FOUR_GIB + MMIO_HOLE_START;
	else
		return NULL;
	return vmm->ram + off;
}

void vmm__stop(struct vmm *vmm, int status)
{
	if (!__atomic_exchange_n(&vmm->stopping, true, __ATOMIC_ACQ_REL))
		vmm->exit_status = status;
}

/*
 * With more than one vCPU the guest needs interrupts between them: the
 * in-kernel irqchip (KVM_CREATE_IRQCHIP before any vCPU, so that each gets
 * a local APIC and the APs wait for INIT-SIPI) and the PIT on IRQ 0.  The
 * PICs are left as SeaBIOS leaves them (pic_setup()): initialized in 8086
 * mode with the master's vectors at 0x08 and the slave's at 0x70, every
 * line masked but the cascade (IRQ 2).
 */
void vmm__irqchip_init(struct vmm *vmm)
{
	struct kvm_pit_config pit = { 0 };
	static const struct { uint8_t base, imr; } bios_pic[2] = { { 0x08, 0xfb }, { 0x70, 0xff } };

	if (vmm__ioctl(vmm, vmm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die_perror("KVM_CREATE_IRQCHIP");
	if (vmm__ioctl(vmm, vmm->vm_fd, KVM_CREATE_PIT2, (unsigned long)&pit) < 0)
		die_perror("KVM_CREATE_PIT2");
	for (int chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_PIC_SLAVE; chip++) {
		struct kvm_irqchip c = { .chip_id = chip };

		if (vmm__ioctl(vmm, vmm->vm_fd, KVM_GET_IRQCHIP, (unsigned long)&c) < 0)
			die_perror("KVM_GET_IRQCHIP");
		c.chip.pic.irq_base = bios_pic[chip].base;
		c.chip.pic.imr = bios_pic[chip].imr;
		c.chip.pic.init_state = 0;
		c.chip.pic.init4 = 1;
		if (vmm__ioctl(vmm, vmm->vm_fd, KVM_SET_IRQCHIP, (unsigned long)&c) < 0)
			die_perror("KVM_SET_IRQCHIP");
	}
}
