/* SPDX-License-Identifier: MIT */
/*
 * The MMU's interface to the rest of KVM (arch/x86/kvm/mmu.h,
 * mmu/mmu_internal.h): the page-fault descriptor, the RET_PF_* results,
 * memslot hooks.  Only TDP (EPT) for now; shadow paging for tdp=off is a
 * later milestone.
 */
#ifndef USERKVM_MMU_H
#define USERKVM_MMU_H

#include <pthread.h>
#include "util/types.h"

struct kvm;
struct kvm_vcpu;
struct kvm_memory_slot;

/* Results of a page fault, as mmu_internal.h's RET_PF_*. */
enum {
	RET_PF_CONTINUE = 0,
	RET_PF_RETRY,		/* re-enter the guest: the fault is fixed or was spurious */
	RET_PF_EMULATE,		/* MMIO or a write to a read-only slot: emulate */
	RET_PF_FIXED,		/* a new SPTE was installed */
	RET_PF_SPURIOUS,	/* the SPTE was already there */
};

/* EPT violation qualification bits KVM turns into error codes (SDM 28.2.1 Table 28-7). */
#define PFERR_PRESENT_MASK	BIT(0)
#define PFERR_WRITE_MASK	BIT(1)
#define PFERR_USER_MASK		BIT(2)
#define PFERR_RSVD_MASK		BIT(3)
#define PFERR_FETCH_MASK	BIT(4)

/*
 * KVM's struct kvm_mmu_memory_cache: objects a page fault may need,
 * allocated (zeroed) before mmu_lock is taken, so that nothing is
 * allocated, and nothing can fail for want of memory, under the lock.
 */
#define KVM_MMU_MEMORY_CACHE_CAPACITY	8
struct kvm_mmu_memory_cache {
	int nobjs;
	void *objects[KVM_MMU_MEMORY_CACHE_CAPACITY];
};

/* A TDP table page and its link in the MMU's list of them (KVM's struct kvm_mmu_page). */
struct kvm_mmu_page {
	u64 *spt;
	struct kvm_mmu_page *next;
};

/* A vCPU's caches (KVM's mmu_page_header_cache and mmu_shadow_page_cache). */
struct kvm_mmu_caches {
	struct kvm_mmu_memory_cache page_header_cache;
	struct kvm_mmu_memory_cache shadow_page_cache;
};

/*
 * kvm_mmu_topup_memory_caches() - fill @mc with what one fault can use up
 * (a table for each level below the root).  Return: 0 or -ENOMEM.
 */
int kvm_mmu_topup_memory_caches(struct kvm_mmu_caches *mc);
void kvm_mmu_free_memory_caches(struct kvm_mmu_caches *mc);

struct kvm_page_fault {
	u64 addr;		/* the faulting GPA */
	u32 error_code;		/* PFERR_* */
	bool write, exec, present, rsvd;
	u64 gfn;
	struct kvm_memory_slot *slot;
	u64 hva;
	int max_level;		/* largest mapping the slot allows here */
	int goal_level;		/* what was mapped */
	bool map_writable;
	unsigned long mmu_seq;	/* mmu->invalidate_seq when the fault began */
	u64 mmio_gen;		/* MMIO (no slot): the memslot generation it was found in */
	/* the faulting vCPU's caches; NULL: kvm_tdp_page_fault() fills its own */
	struct kvm_mmu_caches *caches;
};

/*
 * The TDP MMU of one VM: a 4-level EPT hierarchy shared by all vCPUs.
 * mmu_lock serializes changes; the processor's walker reads entries with
 * atomic loads, so every change is a single 64-bit atomic store and tables
 * are freed only when the VM is destroyed.
 */
struct kvm_tdp_mmu {
	pthread_mutex_t mmu_lock;
	u64 *root;
	int root_level;
	struct kvm_mmu_page *pages;	/* every table allocated, for teardown */
	size_t nr_pages;
	u64 nr_leaf_maps;	/* statistics: leaf SPTEs installed */
	/*
	 * KVM's mmu_invalidate_in_progress and mmu_invalidate_seq, under
	 * mmu_lock: a fault that began before an unmap of host memory ended
	 * installs nothing (mmu_invalidate_retry()) and is taken again.
	 */
	long invalidate_in_progress;
	unsigned long invalidate_seq;
};

int kvm_tdp_mmu_init(struct kvm_tdp_mmu *mmu);
void kvm_tdp_mmu_uninit(struct kvm_tdp_mmu *mmu);
/* The EPT pointer for the VMCS: root table's address, WB, 4-level walk. */
u64 kvm_tdp_mmu_eptp(const struct kvm_tdp_mmu *mmu);

/*
 * Install the leaf for @fault (or an MMIO SPTE when fault->slot is NULL);
 * new tables come from @fault->caches (topped up by the caller).
 */
int kvm_tdp_mmu_map(struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault);
/* Return: true if an SPTE changed (the caller flushes TLBs: INVEPT). */
bool kvm_tdp_mmu_zap_leafs(struct kvm_tdp_mmu *mmu, u64 start_gfn, u64 end_gfn);
bool kvm_tdp_mmu_wrprot_range(struct kvm_tdp_mmu *mmu, u64 start_gfn, u64 end_gfn);
/* The leaf SPTE mapping @gfn, 0 if none; @level receives its level. */
u64 kvm_tdp_mmu_lookup(struct kvm_tdp_mmu *mmu, u64 gfn, int *level);

/*
 * kvm_tdp_page_fault() - resolve an EPT violation or misconfiguration at
 * @fault->addr for @kvm: find the memslot, pick the mapping level, install
 * the SPTE.  Caller holds kvm->srcu.
 *
 * Return: RET_PF_FIXED/RET_PF_SPURIOUS (re-enter), RET_PF_EMULATE (MMIO or
 * read-only slot: run the instruction emulator), or -EFAULT when the
 * slot's host memory is not there.
 */
int kvm_tdp_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault);

/*
 * handle_mmio_page_fault() - an EPT misconfiguration at @fault->addr: if
 * an MMIO SPTE of the current memslot generation is there, the access is
 * MMIO and no memslot needs looking up (KVM's handle_mmio_page_fault()).
 * Lockless: SPTEs are read atomically and tables live as long as the VM.
 * Caller holds kvm->srcu.
 *
 * Return: RET_PF_EMULATE (MMIO; @fault->gfn and ->mmio_gen set, ->slot
 * NULL), or RET_PF_CONTINUE: no such SPTE (zapped meanwhile, or of an older
 * generation): kvm_tdp_page_fault() decides.
 */
int handle_mmio_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault);

/*
 * Memslot changes (kvm_arch_commit_memory_region's MMU part): zap what a
 * deleted or moved slot mapped, zap MMIO SPTEs a new slot now covers,
 * write-protect a slot whose dirty logging was switched on, zap it (to
 * rebuild huge pages) when switched off.  Return: true if TLBs need a flush.
 */
bool kvm_mmu_slot_changed(struct kvm_tdp_mmu *mmu, const struct kvm_memory_slot *old,
			  const struct kvm_memory_slot *new);
/* After KVM_GET_DIRTY_LOG harvested @mask at @gfn_offset: write-protect those pages again. */
bool kvm_arch_mmu_enable_log_dirty_pt_masked(struct kvm_tdp_mmu *mmu,
					     const struct kvm_memory_slot *slot,
					     u64 gfn_offset, unsigned long mask);

#endif
