/* SPDX-License-Identifier: MIT */
/*
 * <linux/kvm.h> as Debian 12 ships it (linux-libc-dev 6.1) predates some of
 * the ABI that current KVM programs use.  This header adds those pieces,
 * written from the documented ABI (Documentation/virt/kvm/api.rst), only
 * where the system header lacks them.
 */
#ifndef USERKVM_KVM_COMPAT_H
#define USERKVM_KVM_COMPAT_H

#include <linux/kvm.h>

#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 \
	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
/*
 * KVM_EXIT_MEMORY_FAULT (Linux 6.8): KVM_RUN failed with EFAULT on guest
 * memory it could not map; kvm_run's exit union says where.
 */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
struct kvm_memory_fault_exit {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};
#define kvm_run_memory_fault(run) ((struct kvm_memory_fault_exit *)(void *)(run)->padding)
#endif

#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM 0
#define KVM_X86_SW_PROTECTED_VM 1
#endif

#endif
