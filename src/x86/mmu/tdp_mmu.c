// SPDX-License-Identifier: MIT
/*
 * The TDP MMU (arch/x86/kvm/mmu/tdp_mmu.c): EPT tables built on demand from
 * memslots, one hierarchy per VM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/mmu/mmu.h"
#include "x86/mmu/spte.h"
#include "x86/mmu/tdp_iter.h"

int kvm_mmu_topup_memory_caches(struct kvm_mmu_caches *mc)
{
	const int min = PT64_ROOT_4LEVEL - 1;

	while (mc->shadow_page_cache.nobjs < min) {
		void *pt = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

		if (!pt)
			return -ENOMEM;
		memset(pt, 0, PAGE_SIZE);
		mc->shadow_page_cache.objects[mc->shadow_page_cache.nobjs++] = pt;
	}
	while (mc->page_header_cache.nobjs < min) {
		void *sp = calloc(1, sizeof(struct kvm_mmu_page));

		if (!sp)
			return -ENOMEM;
		mc->page_header_cache.objects[mc->page_header_cache.nobjs++] = sp;
	}
	return 0;
}

void kvm_mmu_free_memory_caches(struct kvm_mmu_caches *mc)
{
	while (mc->shadow_page_cache.nobjs)
		free(mc->shadow_page_cache.objects[--mc->shadow_page_cache.nobjs]);
	while (mc->page_header_cache.nobjs)
		free(mc->page_header_cache.objects[--mc->page_header_cache.nobjs]);
}

/* A zeroed table from @mc, linked into the MMU's list.  Caller holds mmu_lock. */
static u64 *tdp_mmu_alloc_table(struct kvm_tdp_mmu *mmu, struct kvm_mmu_caches *mc)
{
	struct kvm_mmu_page *sp;

	if (!mc || !mc->shadow_page_cache.nobjs || !mc->page_header_cache.nobjs)
		return NULL;	/* not topped up: the fault fails with -ENOMEM */
	sp = mc->page_header_cache.objects[--mc->page_header_cache.nobjs];
	sp->spt = mc->shadow_page_cache.objects[--mc->shadow_page_cache.nobjs];
	sp->next = mmu->pages;
	mmu->pages = sp;
	mmu->nr_pages++;
	return sp->spt;
}

int kvm_tdp_mmu_init(struct kvm_tdp_mmu *mmu)
{
	struct kvm_mmu_caches mc = { 0 };
	int r;

	memset(mmu, 0, sizeof(*mmu));
	pthread_mutex_init(&mmu->mmu_lock, NULL);
	mmu->root_level = PT64_ROOT_4LEVEL;
	r = kvm_mmu_topup_memory_caches(&mc);
	if (!r)
		mmu->root = tdp_mmu_alloc_table(mmu, &mc);
	kvm_mmu_free_memory_caches(&mc);
	return mmu->root ? 0 : -ENOMEM;
}

void kvm_tdp_mmu_uninit(struct kvm_tdp_mmu *mmu)
{
	while (mmu->pages) {
		struct kvm_mmu_page *sp = mmu->pages;

		mmu->pages = sp->next;
		free(sp->spt);
		free(sp);
	}
	pthread_mutex_destroy(&mmu->mmu_lock);
	memset(mmu, 0, sizeof(*mmu));
}

/* EPTP (SDM 25.6.11): memory type WB (6), page-walk length - 1 in bits 5:3. */
u64 kvm_tdp_mmu_eptp(const struct kvm_tdp_mmu *mmu)
{
	return ((u64)(uintptr_t)mmu->root & SPTE_BASE_ADDR_MASK) | 6 |
	       ((u64)(mmu->root_level - 1) << 3);
}

static void tdp_mmu_set_spte(u64 *sptep, u64 spte)
{
	__atomic_store_n(sptep, spte, __ATOMIC_RELEASE);
}

/* Caller holds mmu_lock. */
static int __kvm_tdp_mmu_map(struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault)
{
	u64 *pt = mmu->root, new_spte;
	int level = mmu->root_level;
	u64 *sptep;

	if (fault->slot && (__atomic_load_n(&mmu->invalidate_in_progress, __ATOMIC_RELAXED) ||
			    fault->mmu_seq != __atomic_load_n(&mmu->invalidate_seq, __ATOMIC_RELAXED)))
		return RET_PF_RETRY;	/* mmu_invalidate_retry(): host memory changed meanwhile */
	for (;; level--) {
		u64 spte;

		sptep = pt + spte_index(fault->gfn << PAGE_SHIFT, level);
		spte = __atomic_load_n(sptep, __ATOMIC_ACQUIRE);
		if (level == fault->goal_level)
			break;
		if (is_shadow_present_pte(spte) && !is_mmio_spte(spte) &&
		    !is_last_spte(spte, level)) {
			pt = spte_to_child_pt(spte);
			continue;
		}
		/*
		 * Nothing here, an MMIO SPTE, or a huge leaf that must become
		 * smaller (e.g. dirty logging was enabled): a new table.  A
		 * replaced huge leaf is simply dropped; the pages around the
		 * fault are mapped again on their own faults.
		 */
		{
			u64 *child = tdp_mmu_alloc_table(mmu, fault->caches);

			if (!child)
				return -ENOMEM;
			tdp_mmu_set_spte(sptep, make_nonleaf_spte(child));
			pt = child;
		}
	}

	if (!fault->slot) {
		new_spte = make_mmio_spte(fault->mmio_gen);
	} else {
		u64 hva = fault->hva & ~((kvm_pages_per_hpage(level) << PAGE_SHIFT) - 1);

		new_spte = make_spte(hva, level, fault->map_writable, fault->map_writable);
	}
	if (__atomic_load_n(sptep, __ATOMIC_ACQUIRE) == new_spte)
		return RET_PF_SPURIOUS;
	tdp_mmu_set_spte(sptep, new_spte);
	mmu->nr_leaf_maps++;
	return RET_PF_FIXED;
}

int kvm_tdp_mmu_map(struct kvm_tdp_mmu *mmu, struct kvm_page_fault *fault)
{
	int r;

	if (fault->goal_level < PG_LEVEL_4K || fault->goal_level > PG_LEVEL_1G)
		return -EINVAL;
	pthread_mutex_lock(&mmu->mmu_lock);
	r = __kvm_tdp_mmu_map(mmu, fault);
	pthread_mutex_unlock(&mmu->mmu_lock);
	return r;
}

/*
 * Zap leaves (and MMIO SPTEs) covering [start, end).  A huge leaf that only
 * partly overlaps the range is zapped whole: its other pages fault back in.
 * Tables stay allocated (the processor may be walking them) until teardown.
 */
bool kvm_tdp_mmu_zap_leafs(struct kvm_tdp_mmu *mmu, u64 start, u64 end)
{
	struct tdp_iter iter;
	bool flush = false;

	pthread_mutex_lock(&mmu->mmu_lock);
	for_each_tdp_pte(iter, mmu->root, mmu->root_level, start, end) {
		if (!is_shadow_present_pte(iter.old_spte))
			continue;
		if (!is_mmio_spte(iter.old_spte) && !is_last_spte(iter.old_spte, iter.level))
			continue;
		if (iter.gfn + kvm_pages_per_hpage(iter.level) <= start)
			continue;
		tdp_mmu_set_spte(iter.sptep, 0);
		flush = true;
	}
	pthread_mutex_unlock(&mmu->mmu_lock);
	return flush;
}

bool kvm_tdp_mmu_wrprot_range(struct kvm_tdp_mmu *mmu, u64 start, u64 end)
{
	struct tdp_iter iter;
	bool flush = false;

	pthread_mutex_lock(&mmu->mmu_lock);
	for_each_tdp_pte(iter, mmu->root, mmu->root_level, start, end) {
		if (!is_shadow_present_pte(iter.old_spte) || is_mmio_spte(iter.old_spte) ||
		    !is_last_spte(iter.old_spte, iter.level))
			continue;
		if (iter.gfn + kvm_pages_per_hpage(iter.level) <= start)
			continue;
		if (!is_writable_pte(iter.old_spte))
			continue;
		tdp_mmu_set_spte(iter.sptep, iter.old_spte & ~(VMX_EPT_WRITABLE_MASK | VMX_EPT_DIRTY_BIT));
		flush = true;
	}
	pthread_mutex_unlock(&mmu->mmu_lock);
	return flush;
}

u64 kvm_tdp_mmu_lookup(struct kvm_tdp_mmu *mmu, u64 gfn, int *level)
{
	u64 *pt = mmu->root;

	for (int l = mmu->root_level; l >= PG_LEVEL_4K; l--) {
		u64 spte = __atomic_load_n(pt + spte_index(gfn << PAGE_SHIFT, l), __ATOMIC_ACQUIRE);

		if (!is_shadow_present_pte(spte))
			return 0;
		if (is_mmio_spte(spte) || is_last_spte(spte, l)) {
			if (level)
				*level = l;
			return spte;
		}
		pt = spte_to_child_pt(spte);
	}
	return 0;
}
