// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/x86.c: the kvm_arch_* side of VM and vCPU ioctls.
 */
#include <errno.h>
#include <string.h>

#include "kvm/kvm_host.h"
#include "x86/x86.h"

/*
 * The processor's MAXPHYADDR.  Guest-physical addresses at or above it
 * cannot be mapped by EPT, so memslots there are refused.
 */
#define KVM_HOST_MAXPHYADDR 48

u64 kvm_mmu_max_gfn(void)
{
	return (1ull << (KVM_HOST_MAXPHYADDR - PAGE_SHIFT)) - 1;
}

int kvm_arch_init_vm(struct kvm *kvm, unsigned long type)
{
	if (type != KVM_X86_DEFAULT_VM)
		return -EINVAL;
	kvm->arch.default_tsc_khz = KVM_DEFAULT_TSC_KHZ;
	return 0;
}

void kvm_arch_destroy_vm(struct kvm *kvm)
{
}

int kvm_arch_vcpu_precreate(struct kvm *kvm, unsigned int id)
{
	if (!kvm->arch.max_vcpu_ids)
		kvm->arch.max_vcpu_ids = KVM_MAX_VCPU_IDS;
	if (id >= kvm->arch.max_vcpu_ids)
		return -EINVAL;
	return 0;
}

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	vcpu->arch.tsc_khz = vcpu->kvm->arch.default_tsc_khz;
	return 0;
}

void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu)
{
}

int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_TSC_CONTROL:
	case KVM_CAP_VM_TSC_CONTROL:
		return 1;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return KVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVM_MAX_VCPU_IDS;
	default:
		return 0;
	}
}

int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	int r;

	if (cap->flags)
		return -EINVAL;
	switch (cap->cap) {
	case KVM_CAP_MAX_VCPU_ID:
		if (cap->args[0] > KVM_MAX_VCPU_IDS)
			return -EINVAL;
		/*
		 * kvm->lock: kvm_arch_vcpu_precreate() fixes the limit under
		 * it when the first vCPU is created.
		 */
		pthread_mutex_lock(&kvm->lock);
		r = -EINVAL;
		if (kvm->arch.max_vcpu_ids == cap->args[0])
			r = 0;
		else if (!kvm->arch.max_vcpu_ids && !kvm->created_vcpus) {
			kvm->arch.max_vcpu_ids = cap->args[0];
			r = 0;
		}
		pthread_mutex_unlock(&kvm->lock);
		return r;
	default:
		return -EINVAL;
	}
}

long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	return -EINVAL;
}

/* Largest TSC frequency a guest may ask for: 0xffffffff kHz is KVM's cap too. */
#define KVM_MAX_GUEST_TSC_KHZ 0xffffffffu

long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	long r = -ENOTTY;

	switch (ioctl) {
	case KVM_SET_TSS_ADDR:
		/*
		 * The TSS is only for real-mode emulation without unrestricted
		 * guest; our processor has unrestricted guest, so like VMX KVM
		 * we check the range and do nothing else.
		 */
		if (arg > (unsigned int)(-3 * (int)PAGE_SIZE))
			return -EINVAL;
		kvm->arch.tss_addr = arg;
		kvm->arch.tss_addr_set = true;
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 ident_addr;

		pthread_mutex_lock(&kvm->lock);
		r = -EINVAL;
		if (kvm->created_vcpus)
			goto set_identity_unlock;
		r = copy_from_user(&ident_addr, argp, sizeof(ident_addr));
		if (r)
			goto set_identity_unlock;
		kvm->arch.ept_identity_map_addr = ident_addr;
		kvm->arch.ept_identity_map_set = true;
set_identity_unlock:
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	case KVM_SET_TSC_KHZ: {
		u32 user_tsc_khz = (u32)arg;

		r = -EINVAL;
		if (user_tsc_khz >= KVM_MAX_GUEST_TSC_KHZ)
			return r;
		if (user_tsc_khz == 0)
			user_tsc_khz = KVM_DEFAULT_TSC_KHZ;
		pthread_mutex_lock(&kvm->lock);
		if (!kvm->created_vcpus) {
			WRITE_ONCE(kvm->arch.default_tsc_khz, user_tsc_khz);
			r = 0;
		}
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	case KVM_GET_TSC_KHZ:
		return READ_ONCE(kvm->arch.default_tsc_khz);
	}
	return r;
}

long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	long r = -EINVAL;

	switch (ioctl) {
	case KVM_SET_TSC_KHZ: {
		u32 user_tsc_khz = (u32)arg;

		if (user_tsc_khz >= KVM_MAX_GUEST_TSC_KHZ)
			break;
		if (user_tsc_khz == 0)
			user_tsc_khz = KVM_DEFAULT_TSC_KHZ;
		vcpu->arch.tsc_khz = user_tsc_khz;
		r = 0;
		break;
	}
	case KVM_GET_TSC_KHZ:
		r = vcpu->arch.tsc_khz;
		break;
	}
	return r;
}

/*
 * KVM_RUN needs the processor (src/silicon) and the run loop; until they
 * land it fails with ENOSYS rather than pretend.
 */
int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)
{
	return -ENOSYS;
}
