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
struct kvm_memory_slot;

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

#define KVM_WALK_MAX_LEVELS 5

/*
 * struct kvm_walk_cache - the last successful walk of one vCPU's user of
 * kvm_walk_gva_cached(): its inputs and every table entry it read, with
 * the value the entry had once the walk was done (A/D bits set).  The walk
 * is a function of these alone (and of the memslots, which the generation
 * pins), so a walk with the same inputs whose entries all still hold those
 * values would give the same address and write nothing: it is answered
 * from here, exactly.  Valid only while the memslot generation is the same.
 */
struct kvm_walk_cache {
	bool valid, set_ad;
	int n;
	u32 access;
	u64 gen;
	u64 gva_page, gpa_page;
	struct kvm_walk_mode mode;
	/* the memslot and host address of the page at gpa_page, if RAM */
	struct kvm_memory_slot *page_slot;
	uintptr_t page_hva;
	struct kvm_walk_pte {
		struct kvm_memory_slot *slot;
		uintptr_t hva;
		u64 val;
		u8 size;
	} pte[KVM_WALK_MAX_LEVELS];
	/* the entries' size (all alike) and the distinct slots they are in */
	u8 pte_size;
	int nslots;
	struct kvm_memory_slot *slots[KVM_WALK_MAX_LEVELS];
};

/*
 * kvm_walk_gva_cached() - kvm_walk_gva(), answered from @cache when the
 * walk would read the same entries with the same values (see above).
 * Caller holds kvm->srcu.
 */
u64 kvm_walk_gva_cached(struct kvm *kvm, struct kvm_walk_cache *cache,
			const struct kvm_walk_mode *mode, u64 gva, u32 access, bool set_ad,
			struct x86_exception *fault);

/*
 * kvm_walk_cache_host() - the host address of guest-physical @gpa if it is
 * in the page @cache's walk gave and that page is RAM whose host mapping
 * is checked (as kvm_hva_access_begin()'s fast case), else NULL: a read
 * of it then needs no memslot lookup.  Caller holds kvm->srcu.
 */
void *kvm_walk_cache_host(struct kvm *kvm, const struct kvm_walk_cache *cache, u64 gpa);

#endif
