// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/mmu/mmu.c: the page-fault path in front of the TDP MMU and
 * the MMU's part of memslot changes.
 */
#include <errno.h>

#include "kvm/kvm_host.h"
#include "x86/mmu/mmu.h"
#include "x86/mmu/spte.h"

/*
 * The largest level at which @gfn can be mapped from @slot: the huge page
 * must lie wholly inside the slot and the slot's guest and host addresses
 * must agree modulo the huge page size (kvm_mmu_max_mapping_level()).  A
 * dirty-logged slot is mapped with 4K pages only, so that each page's first
 * write is seen.
 */
static int kvm_mmu_max_mapping_level(const struct kvm_memory_slot *slot, u64 gfn)
{
	int level;

	if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
		return PG_LEVEL_4K;
	for (level = PG_LEVEL_1G; level > PG_LEVEL_4K; level--) {
		u64 pages = kvm_pages_per_hpage(level);
		u64 base = gfn & ~(pages - 1);

		if (((slot->userspace_addr >> PAGE_SHIFT) ^ slot->base_gfn) & (pages - 1))
			continue;
		if (base >= slot->base_gfn && base + pages <= slot->base_gfn + slot->npages)
			break;
	}
	return level;
}

int handle_mmio_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault)
{
	u64 gen = kvm_memslots(kvm)->generation, spte;

	fault->gfn = fault->addr >> PAGE_SHIFT;
	/* beyond what the 4-level table maps (the processor exits so for none): the slow path */
	if (fault->addr >> 48)
		return RET_PF_CONTINUE;
	spte = kvm_tdp_mmu_lookup(mmu, fault->gfn, NULL);
	if (!is_mmio_spte(spte) || get_mmio_spte_generation(spte) != (gen & SPTE_MMIO_GEN_MASK))
		return RET_PF_CONTINUE;
	fault->slot = NULL;
	fault->mmio_gen = gen;
	return RET_PF_EMULATE;
}

static int __kvm_tdp_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu,
				struct kvm_page_fault *fault);

int kvm_tdp_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault)
{
	struct kvm_mmu_caches local = { 0 };
	int r;

	/*
	 * The tables this fault may need, before mmu_lock (KVM's
	 * mmu_topup_memory_caches() in kvm_mmu_do_page_fault()); a caller
	 * without a vCPU gets caches for this fault alone.
	 */
	if (!fault->caches)
		fault->caches = &local;
	r = kvm_mmu_topup_memory_caches(fault->caches);
	if (!r)
		r = __kvm_tdp_page_fault(kvm, mmu, fault);
	if (fault->caches == &local) {
		kvm_mmu_free_memory_caches(&local);
		fault->caches = NULL;
	}
	return r;
}

static int __kvm_tdp_page_fault(struct kvm *kvm, struct kvm_tdp_mmu *mmu,
				struct kvm_page_fault *fault)
{
	struct kvm_memslots *slots;
	struct kvm_memory_slot *slot;
	int r;

	fault->gfn = fault->addr >> PAGE_SHIFT;
	if (fault->gfn > kvm_mmu_max_gfn())
		return -EFAULT;
	/*
	 * The generation and the lookup from the same memslots: an MMIO SPTE
	 * made from a lookup that a new slot has overtaken carries the old
	 * generation, and the next fault sees it stale.
	 */
	slots = kvm_memslots(kvm);
	slot = __gfn_to_memslot(slots, fault->gfn);
	fault->slot = slot;

	if (!slot) {
		/* No memslot: cache the fact as an MMIO SPTE, then emulate. */
		fault->mmio_gen = slots->generation;
		fault->goal_level = PG_LEVEL_4K;
		fault->map_writable = false;
		kvm_tdp_mmu_map(mmu, fault);
		return RET_PF_EMULATE;
	}
	fault->hva = gfn_to_hva_memslot(slot, fault->gfn);
	/* before the host memory is looked at (mmu_invalidate_retry()'s order) */
	fault->mmu_seq = __atomic_load_n(&mmu->invalidate_seq, __ATOMIC_SEQ_CST);
	fault->max_level = kvm_mmu_max_mapping_level(slot, fault->gfn);
	/*
	 * Part of the slot's host memory was unmapped since it was made: map
	 * page by page, each checked (hva_to_pfn() finding no VMA: EFAULT).
	 */
	if (!__atomic_load_n(&slot->hva_checked, __ATOMIC_SEQ_CST)) {
		fault->max_level = PG_LEVEL_4K;
		if (!kvm_hva_range_mapped(fault->hva, PAGE_SIZE))
			return -EFAULT;
	}
	fault->goal_level = fault->max_level;
	fault->map_writable = !(slot->flags & KVM_MEM_READONLY);
	/*
	 * As KVM's make_spte(): a page mapped writable in a dirty-logged slot
	 * is dirty from now on; the log write-protects it again when harvested.
	 */
	if (fault->map_writable)
		mark_page_dirty_in_slot(kvm, slot, fault->gfn);
	r = kvm_tdp_mmu_map(mmu, fault);
	if (r < 0)
		return r;
	/*
	 * A write to a read-only slot (ROM): reads are mapped, the write is
	 * emulated and reaches userspace as KVM_EXIT_MMIO, memory unchanged.
	 */
	if (fault->write && !fault->map_writable)
		return RET_PF_EMULATE;
	return r;
}

bool kvm_mmu_slot_changed(struct kvm_tdp_mmu *mmu, const struct kvm_memory_slot *old,
			  const struct kvm_memory_slot *new)
{
	bool flush = false;

	if (old && (!new || old->base_gfn != new->base_gfn))	/* delete or move */
		flush |= kvm_tdp_mmu_zap_leafs(mmu, old->base_gfn, old->base_gfn + old->npages);
	if (new && (!old || old->base_gfn != new->base_gfn))	/* create or move: MMIO SPTEs */
		flush |= kvm_tdp_mmu_zap_leafs(mmu, new->base_gfn, new->base_gfn + new->npages);
	if (old && new && old->base_gfn == new->base_gfn) {	/* flags only */
		bool was = old->flags & KVM_MEM_LOG_DIRTY_PAGES;
		bool is = new->flags & KVM_MEM_LOG_DIRTY_PAGES;

		if (!was && is)
			flush |= kvm_tdp_mmu_wrprot_range(mmu, new->base_gfn,
							  new->base_gfn + new->npages);
		else if (was && !is)	/* let huge pages come back */
			flush |= kvm_tdp_mmu_zap_leafs(mmu, new->base_gfn,
						       new->base_gfn + new->npages);
	}
	return flush;
}

bool kvm_arch_mmu_enable_log_dirty_pt_masked(struct kvm_tdp_mmu *mmu,
					     const struct kvm_memory_slot *slot,
					     u64 gfn_offset, unsigned long mask)
{
	bool flush = false;

	while (mask) {
		int bit = __builtin_ctzl(mask);
		u64 gfn = slot->base_gfn + gfn_offset + bit;

		flush |= kvm_tdp_mmu_wrprot_range(mmu, gfn, gfn + 1);
		mask &= mask - 1;
	}
	return flush;
}
