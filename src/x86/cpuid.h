/* SPDX-License-Identifier: MIT */
/*
 * arch/x86/kvm/cpuid.h: supported and guest CPUID.
 *
 * A feature is named by where CPUID reports it: function, index, register
 * and bit, packed into a u64 so that tables and tests can pass it around.
 */
#ifndef USERKVM_X86_CPUID_H
#define USERKVM_X86_CPUID_H

#include <userkvm/kvm_compat.h>
#include "util/types.h"
#include "kvm/kvm_host.h"
#include "kvm/trace.h"


enum cpuid_regs { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

#define X86_FEATURE(fn, idx, reg, bit) \
	((u64)(fn) | ((u64)(idx) << 32) | ((u64)(reg) << 40) | ((u64)(bit) << 42))
#define X86_FEATURE_FN(f)	((u32)(f))
#define X86_FEATURE_IDX(f)	((u32)((f) >> 32) & 0xff)
#define X86_FEATURE_REG(f)	((unsigned int)((f) >> 40) & 3)
#define X86_FEATURE_BIT(f)	((unsigned int)((f) >> 42) & 31)

/* CPUID.1:ECX */
#define X86_FEATURE_PDCM		X86_FEATURE(1, 0, CPUID_ECX, 15)
#define X86_FEATURE_PCID		X86_FEATURE(1, 0, CPUID_ECX, 17)
#define X86_FEATURE_X2APIC		X86_FEATURE(1, 0, CPUID_ECX, 21)
#define X86_FEATURE_TSC_DEADLINE_TIMER	X86_FEATURE(1, 0, CPUID_ECX, 24)
#define X86_FEATURE_XSAVE		X86_FEATURE(1, 0, CPUID_ECX, 26)
#define X86_FEATURE_OSXSAVE		X86_FEATURE(1, 0, CPUID_ECX, 27)
#define X86_FEATURE_VMX			X86_FEATURE(1, 0, CPUID_ECX, 5)
/* CPUID.1:EDX */
#define X86_FEATURE_APIC		X86_FEATURE(1, 0, CPUID_EDX, 9)
/* CPUID.7.0 */
#define X86_FEATURE_FSGSBASE		X86_FEATURE(7, 0, CPUID_EBX, 0)
#define X86_FEATURE_TSC_ADJUST		X86_FEATURE(7, 0, CPUID_EBX, 1)
#define X86_FEATURE_SMEP		X86_FEATURE(7, 0, CPUID_EBX, 7)
#define X86_FEATURE_SMAP		X86_FEATURE(7, 0, CPUID_EBX, 20)
#define X86_FEATURE_UMIP		X86_FEATURE(7, 0, CPUID_ECX, 2)
#define X86_FEATURE_PKU			X86_FEATURE(7, 0, CPUID_ECX, 3)
#define X86_FEATURE_OSPKE		X86_FEATURE(7, 0, CPUID_ECX, 4)
#define X86_FEATURE_SHSTK		X86_FEATURE(7, 0, CPUID_ECX, 7)
#define X86_FEATURE_LA57		X86_FEATURE(7, 0, CPUID_ECX, 16)
#define X86_FEATURE_RDPID		X86_FEATURE(7, 0, CPUID_ECX, 22)
#define X86_FEATURE_IBT			X86_FEATURE(7, 0, CPUID_EDX, 20)
#define X86_FEATURE_ARCH_CAPABILITIES	X86_FEATURE(7, 0, CPUID_EDX, 29)
#define X86_FEATURE_LAM			X86_FEATURE(7, 1, CPUID_EAX, 26)
/* CPUID.0x80000001 */
#define X86_FEATURE_NX			X86_FEATURE(0x80000001, 0, CPUID_EDX, 20)
#define X86_FEATURE_RDTSCP		X86_FEATURE(0x80000001, 0, CPUID_EDX, 27)
#define X86_FEATURE_LM			X86_FEATURE(0x80000001, 0, CPUID_EDX, 29)

/* What KVM_GET_SUPPORTED_CPUID reports (kvm_cpu_caps in KVM). */
bool kvm_cpu_cap_has(u64 feature);
/* KVM's guest_cpu_cap_has(): supported by KVM and set in the guest's CPUID. */
bool guest_cpu_cap_has(struct kvm_vcpu *vcpu, u64 feature);

/* XCR0 bits the processor can save (kvm_caps.supported_xcr0). */
u64 kvm_supported_xcr0(void);
/* The processor's MAXPHYADDR (boot_cpu_data.x86_phys_bits in KVM). */
int kvm_host_maxphyaddr(void);
/* The processor's MXCSR_MASK: MXCSR bits software may set. */
u32 kvm_mxcsr_feature_mask(void);

struct kvm_cpuid_entry2 *kvm_find_cpuid_entry_index(struct kvm_vcpu *vcpu,
						    u32 function, u32 index);
struct kvm_cpuid_entry2 *kvm_find_cpuid_entry(struct kvm_vcpu *vcpu, u32 function);

int kvm_dev_ioctl_get_cpuid(struct kvm_cpuid2 *cpuid, struct kvm_cpuid_entry2 *entries,
			    unsigned int type);
int kvm_vcpu_ioctl_set_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid *cpuid,
			     struct kvm_cpuid_entry *entries);
int kvm_vcpu_ioctl_set_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid,
			      struct kvm_cpuid_entry2 *entries);
int kvm_vcpu_ioctl_get_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid,
			      struct kvm_cpuid_entry2 *entries);
void kvm_vcpu_after_set_cpuid(struct kvm_vcpu *vcpu);
void kvm_update_cpuid_runtime(struct kvm_vcpu *vcpu);

/* KVM_CPUID_FEATURES bits userkvm implements (0x40000001.EAX). */
#define KVM_FEATURE_NOP_IO_DELAY_BIT	1

/*
 * The leaf the last CPUID asked for: the four GPRs.  Return: false
 * (nothing done) for any other case (kvm_emulate_cpuid_slow() then does
 * the lookup).  Inline here for the vendor's CPUID fastpath (vmx.c) as
 * well as kvm_emulate_cpuid().
 */
static __always_inline bool __kvm_cpuid_last(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	struct kvm_cpuid_entry2 *e = a->cpuid_last;
	u64 *r = a->regs;
	u64 eax, ebx, ecx, edx;

	if (unlikely(!e || a->cpuid_last_function != (u32)r[VCPU_REGS_RAX] ||
		     a->cpuid_last_index != (u32)r[VCPU_REGS_RCX]))
		return false;
	/* Note, four loads and four stores: GCC's SSE shuffle of them takes more instructions. */
	eax = e->eax;
	ebx = e->ebx;
	ecx = e->ecx;
	edx = e->edx;
	__asm__("" : "+r"(eax), "+r"(ebx), "+r"(ecx), "+r"(edx));
	r[VCPU_REGS_RAX] = eax;
	r[VCPU_REGS_RBX] = ebx;
	r[VCPU_REGS_RCX] = ecx;
	r[VCPU_REGS_RDX] = edx;
	return true;
}

/*
 * The same, tracing off (else kvm_emulate_cpuid_slow() does the trace);
 * a caller that read kvm_trace_mask itself uses the one above.
 */
static __always_inline bool kvm_cpuid_last(struct kvm_vcpu *vcpu)
{
	return !kvm_trace_on(TRACE_KVM_CPUID) && __kvm_cpuid_last(vcpu);
}
int kvm_emulate_cpuid_slow(struct kvm_vcpu *vcpu);

#endif
