/* SPDX-License-Identifier: MIT */
/*
 * KVM's walker of guest page tables (arch/x86/kvm/mmu/paging_tmpl.h,
 * instantiated per PTTYPE): what KVM_TRANSLATE and the instruction emulator
 * use to turn a guest-linear address into a guest-physical one.  It reads
 * and updates (A/D bits) guest page tables through the memslots, as the
 * processor's walker would.
 */
#ifndef USERKVM_MMU_PAGING_H
#define USERKVM_MMU_PAGING_H

#include "util/types.h"

struct kvm;

#define INVALID_GPA (~0ull)

/* The paging state a walk depends on. */
struct kvm_walk_mode {
	u64 cr0, cr3, cr4, efer;
	u64 pdptrs[4];		/* PAE: the PDPTEs loaded with CR3 */
	u8 maxphyaddr;		/* the guest's, from CPUID 0x80000008 */
	bool smap_check;	/* supervisor data access with EFLAGS.AC = 0 */
};

struct x86_exception {
	u8 vector;		/* PF_VECTOR or GP_VECTOR (non-canonical) */
	bool error_code_valid;
	u32 error_code;
	u64 address;		/* CR2 for #PF */
};

#define PF_VECTOR 14
#define GP_VECTOR 13

/*
 * kvm_walk_gva() - translate @gva for an access of kind @access (PFERR_WRITE,
 * PFERR_USER, PFERR_FETCH bits, as in a #PF error code) under @mode.
 * @set_ad: update accessed/dirty bits in the guest's tables.
 *
 * Return: the GPA, or INVALID_GPA with @fault filled (the #PF error code
 * and CR2 the processor would give, or #GP for a non-canonical address).
 * Caller holds kvm->srcu.
 */
u64 kvm_walk_gva(struct kvm *kvm, const struct kvm_walk_mode *mode, u64 gva, u32 access,
		 bool set_ad, struct x86_exception *fault);

#endif
