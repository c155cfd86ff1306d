/* SPDX-License-Identifier: MIT */
/*
 * arch/x86/kvm: the architecture half of struct kvm and struct kvm_vcpu and
 * the kvm_arch_* hooks that virt/kvm (src/kvm/kvm_main.c) calls.
 */
#ifndef USERKVM_X86_H
#define USERKVM_X86_H

#include <userkvm/kvm_compat.h>
#include "util/types.h"

struct kvm;
struct kvm_vcpu;

#define KVM_DEFAULT_TSC_KHZ	2000000u	/* 2 GHz: the processor's TSC */
#define KVM_MAX_CPUID_ENTRIES	256

struct kvm_arch {
	u64 tss_addr;
	bool tss_addr_set;
	u64 ept_identity_map_addr;
	bool ept_identity_map_set;
	u32 default_tsc_khz;		/* KVM_SET_TSC_KHZ on the VM fd */
	u32 max_vcpu_ids;
};

/*
 * Per-vCPU architectural state.  Until the VMX backend (src/x86/vmx) keeps
 * guest state in the VMCS, the state ioctls read and write it here.
 */
struct kvm_vcpu_arch {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	u32 tsc_khz;
	u64 tsc_offset;
	int nr_cpuid;
	struct kvm_cpuid_entry2 cpuid[KVM_MAX_CPUID_ENTRIES];
	struct kvm_fpu fpu;
	u64 xcr0;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
};

int kvm_arch_init_vm(struct kvm *kvm, unsigned long type);
void kvm_arch_destroy_vm(struct kvm *kvm);
int kvm_arch_vcpu_precreate(struct kvm *kvm, unsigned int id);
int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu);
void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu);
long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg);
long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg);
int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu);
int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext);
int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
/* Largest guest frame number the MMU can map (MAXPHYADDR of the processor). */
u64 kvm_mmu_max_gfn(void);

#endif
