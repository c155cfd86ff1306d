// SPDX-License-Identifier: MIT
/*
 * The vCPU loop: KVM_RUN, then a switch on the exit reason into the same
 * device model whichever accelerator runs the guest (kvmtool's
 * kvm_cpu__start(), TinyEMU's kvm_exec()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/vmm.h"

/*
 * The guest's CPUID: what the accelerator supports (KVM_GET_SUPPORTED_CPUID),
 * with this vCPU's initial APIC ID in leaf 1 (EBX[31:24]) and the x2APIC ID
 * of the topology leaves (0xb, 0x1f: EDX), as kvmtool and QEMU give it.
 * Without a CPUID the guest has no long mode (EFER.LME would #GP) and no
 * LAPIC timer modes beyond one-shot.
 */
static void kvm_cpu__setup_cpuid(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	unsigned int nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	if (!c)
		die("out of memory");
	c->nent = nent;
	if (vmm__ioctl(vmm, vmm->sys_fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c) < 0)
		die_perror("KVM_GET_SUPPORTED_CPUID");
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)vcpu->id << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->id;
	}
	if (vmm__ioctl(vmm, vcpu->fd, KVM_SET_CPUID2, (unsigned long)c) < 0)
		die_perror("KVM_SET_CPUID2");
	free(c);
}

void kvm_cpu__init(struct vmm *vmm, struct vcpu *vcpu, int id)
{
	vcpu->vmm = vmm;
	vcpu->id = id;
	vcpu->fd = (int)vmm__ioctl(vmm, vmm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		die_perror("KVM_CREATE_VCPU");
	vcpu->run = mmap(NULL, vmm->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		die_perror("mmap vCPU");
	kvm_cpu__setup_cpuid(vcpu);
}

static void kvm_cpu__handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* String I/O comes as count elements of size bytes each. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		vmm__emulate_io(run->io.port, data, run->io.size,
				run->io.direction == KVM_EXIT_IO_OUT);
}

static void kvm_cpu__show_registers(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (vmm__ioctl(vcpu->vmm, vcpu->fd, KVM_GET_REGS, (unsigned long)&regs) < 0)
		return;
	fprintf(stderr, "  rip %#llx rsp %#llx rflags %#llx rax %#llx\n",
		regs.rip, regs.rsp, regs.rflags, regs.rax);
}

/* Return: the exit status of `userkvm run`. */
int kvm_cpu__start(struct vcpu *vcpu)
{
	struct vmm *vmm = vcpu->vmm;
	struct kvm_run *run = vcpu->run;

	while (!vmm->stopping) {
		if (vmm__ioctl(vmm, vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "userkvm: KVM_RUN: %s\n", strerror(errno));
			vmm__stop(vmm, VMM_EXIT_GUEST_ERROR);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			kvm_cpu__handle_io(vcpu);
			break;
		case KVM_EXIT_MMIO:
			vmm__emulate_mmio(run->mmio.phys_addr, run->mmio.data, run->mmio.len,
					  run->mmio.is_write);
			break;
		case KVM_EXIT_HLT:
			/*
			 * No in-kernel irqchip and no device that interrupts:
			 * a halted vCPU would sleep forever.  Treat it as the
			 * guest powering off.
			 */
			vmm__stop(vmm, VMM_EXIT_CLEAN);
			break;
		case KVM_EXIT_SHUTDOWN:
			fprintf(stderr, "userkvm: guest shutdown (triple fault)\n");
			kvm_cpu__show_registers(vcpu);
			vmm__stop(vmm, VMM_EXIT_SHUTDOWN);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "userkvm: VM entry failed, reason %#llx\n",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			vmm__stop(vmm, VMM_EXIT_GUEST_ERROR);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "userkvm: KVM internal error, suberror %u\n",
				run->internal.suberror);
			kvm_cpu__show_registers(vcpu);
			vmm__stop(vmm, VMM_EXIT_GUEST_ERROR);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			fprintf(stderr, "userkvm: unexpected exit reason %u\n", run->exit_reason);
			kvm_cpu__show_registers(vcpu);
			vmm__stop(vmm, VMM_EXIT_GUEST_ERROR);
			break;
		}
	}
	return vmm->exit_status;
}
