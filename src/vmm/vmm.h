/* SPDX-License-Identifier: MIT */
/*
 * The VMM (userkvm run): one device model over the KVM API, whichever
 * accelerator is behind it: userkvm (--accel soft) or the host's /dev/kvm
 * (--accel kvm).  It includes nothing of src/kvm, src/x86 or src/silicon.
 */
#ifndef USERKVM_VMM_H
#define USERKVM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <userkvm/kvm_compat.h>

/* Exit statuses of `userkvm run`: the debug-exit port gives odd ones. */
#define VMM_EXIT_CLEAN		0	/* guest halted with interrupts off */
#define VMM_EXIT_SHUTDOWN	2	/* triple fault */
#define VMM_EXIT_GUEST_ERROR	4	/* failed entry, internal error */
#define VMM_EXIT_SETUP		126	/* bad options, missing files: die() */

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_perror(const char *what) __attribute__((noreturn));

struct accel {
	const char *name;
	int (*open)(void);
	long (*ioctl)(int fd, unsigned long req, unsigned long arg);
};
const struct accel *accel__find(const char *name);

struct vmm {
	const struct accel *accel;
	int sys_fd, vm_fd;
	size_t mmap_size;		/* of a vCPU's kvm_run area */
	uint8_t *ram;			/* guest-physical 0 .. ram_size */
	uint64_t ram_size;
	int nr_vcpus;
	struct vcpu *vcpus;
	volatile int exit_status;	/* set once by whoever stops the guest */
	volatile bool stopping;
	bool stat;
};

struct vcpu {
	struct vmm *vmm;
	int id, fd;
	struct kvm_run *run;
};

#define VMM_MAX_VCPUS	16

/* kvm.c */
void vmm__init(struct vmm *vmm, const char *accel, uint64_t ram_size);
/* The in-kernel PICs, I/O APIC, local APICs and PIT; the PICs as a BIOS leaves them. */
void vmm__irqchip_init(struct vmm *vmm);
long vmm__ioctl(struct vmm *vmm, int fd, unsigned long req, unsigned long arg);
void *vmm__gpa_to_hva(struct vmm *vmm, uint64_t gpa, uint64_t len);
void vmm__stop(struct vmm *vmm, int status);

/* kvm-cpu.c */
void kvm_cpu__init(struct vmm *vmm, struct vcpu *vcpu, int id);
int kvm_cpu__start(struct vcpu *vcpu);

/* stat.c: --stat */
int kvm_cpu__stat_open(struct vcpu *vcpu);
void kvm_cpu__stat_report(struct vcpu *vcpu, int fd);

/* iotrap.c: port I/O and MMIO handlers (offsets are relative to base). */
typedef void (*iotrap_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write);
int vmm__register_pio(uint16_t base, uint16_t len, iotrap_fn fn, void *opaque);
int vmm__register_mmio(uint64_t base, uint64_t len, iotrap_fn fn, void *opaque);
/* Return: true if a handler claimed the access; unclaimed reads are all ones. */
bool vmm__emulate_io(uint16_t port, uint8_t *data, uint32_t len, bool is_write);
bool vmm__emulate_mmio(uint64_t gpa, uint8_t *data, uint32_t len, bool is_write);

/* hw/ */
void serial8250__init(struct vmm *vmm);
void serial8250__flush(void);
void debug_exit__init(struct vmm *vmm);

/* boot.c */
struct boot_options {
	const char *kernel, *flat, *initrd, *append;
};
void boot__load(struct vmm *vmm, struct vcpu *bsp, const struct boot_options *opt);

#endif
