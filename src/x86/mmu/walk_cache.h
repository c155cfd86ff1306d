/* SPDX-License-Identifier: MIT */
/*
 * The walk cache's hit test (struct kvm_walk_cache, paging.h), inline for
 * kvm_walk_gva_cached() and for the instruction fetch of the emulator
 * (x86.c: kvm_fetch_guest_virt()), which calls it on every emulated
 * instruction.  Caller holds kvm->srcu.
 */
#ifndef USERKVM_MMU_WALK_CACHE_H
#define USERKVM_MMU_WALK_CACHE_H

#include <string.h>

#include "kvm/kvm_host.h"
#include "x86/mmu/paging.h"
#include "x86/msr-index.h"

/* The walk reads the PDPTE registers only in PAE paging outside IA-32e mode. */
static __always_inline bool walk_reads_pdptrs(const struct kvm_walk_mode *m)
{
	return (m->cr0 & X86_CR0_PG) && (m->cr4 & X86_CR4_PAE) && !(m->efer & EFER_LMA);
}

/* The inputs of a walk are the same (the PDPTEs only where the walk reads them). */
static __always_inline bool walk_mode_equal(const struct kvm_walk_mode *a, const struct kvm_walk_mode *b)
{
	return a->cr0 == b->cr0 && a->cr3 == b->cr3 && a->cr4 == b->cr4 && a->efer == b->efer &&
	       a->maxphyaddr == b->maxphyaddr && a->smap_check == b->smap_check &&
	       (!walk_reads_pdptrs(a) || !memcmp(a->pdptrs, b->pdptrs, sizeof(a->pdptrs)));
}

/*
 * Every entry the cached walk read still holds the value it left there,
 * and the host pages of its tables are still the slots' (guest_pte_read()'s
 * fast case: checked once per slot, as the tables are usually all in one).
 */
static __always_inline bool walk_cache_entries_same(const struct kvm_walk_cache *c)
{
	for (int i = 0; i < c->nslots; i++)
		if (!__atomic_load_n(&c->slots[i]->hva_checked, __ATOMIC_SEQ_CST))
			return false;
	if (c->pte_size == 8) {
		for (int i = 0; i < c->n; i++)
			if (__atomic_load_n((u64 *)c->pte[i].hva, __ATOMIC_ACQUIRE) != c->pte[i].val)
				return false;
	} else {
		for (int i = 0; i < c->n; i++)
			if (__atomic_load_n((u32 *)c->pte[i].hva, __ATOMIC_ACQUIRE) != c->pte[i].val)
				return false;
	}
	return true;
}

/* The cached walk answers a walk of @gva with these inputs (see struct kvm_walk_cache). */
static __always_inline bool walk_cache_hit(struct kvm *kvm, const struct kvm_walk_cache *c,
			   const struct kvm_walk_mode *mode, u64 gva, u32 access, bool set_ad)
{
	/*
	 * Note, the slots the entries point to cannot have been freed: the
	 * generation is the same, and the caller holds kvm->srcu.
	 */
	return c->valid && c->gva_page == (gva & ~0xfffull) && c->access == access &&
	       c->set_ad == set_ad && c->gen == kvm_memslots(kvm)->generation &&
	       walk_mode_equal(&c->mode, mode) && walk_cache_entries_same(c);
}

/* The host address of @gva in the cached walk's page, if its slot's host mapping is checked. */
static __always_inline void *walk_cache_page_host(const struct kvm_walk_cache *c, u64 gva)
{
	/* the page's slot, unless the tables' one checked just now */
	if ((c->nslots != 1 || c->slots[0] != c->page_slot) &&
	    !__atomic_load_n(&c->page_slot->hva_checked, __ATOMIC_SEQ_CST))
		return NULL;
	return (void *)(c->page_hva + (gva & 0xfff));
}

/*
 * kvm_walk_cache_lookup_host() - the host address of guest-linear @gva if
 * @c answers its walk (as kvm_walk_gva_cached() would, writing nothing)
 * and the page is RAM with a checked host mapping (as
 * kvm_walk_cache_host()); else NULL, and nothing was done: walk with
 * kvm_walk_gva_cached().  An instruction fetch's one look-up.
 */
static __always_inline void *kvm_walk_cache_lookup_host(struct kvm *kvm,
							const struct kvm_walk_cache *c,
							const struct kvm_walk_mode *mode,
							u64 gva, u32 access, bool set_ad)
{
	if (!(mode->cr0 & X86_CR0_PG) || !c->page_hva ||
	    !walk_cache_hit(kvm, c, mode, gva, access, set_ad))
		return NULL;
	return walk_cache_page_host(c, gva);
}

/*
 * kvm_walk_cache_lookup_fetch() - kvm_walk_cache_lookup_host() for an
 * instruction fetch (set_ad) in the paging mode these registers make,
 * compared in place instead of built into a struct kvm_walk_mode first:
 * the mode x86.c's kvm_emul_walk_mode() builds for a fetch has
 * smap_check false, and its PDPTEs are compared only where the cached
 * walk reads them (its CR0/CR4/EFER, equal to these, say PAE paging
 * outside IA-32e mode), where that mode holds @pdptrs.  The same answer,
 * NULL or the host address.
 */
static __always_inline const void *kvm_walk_cache_lookup_fetch(struct kvm *kvm,
							       const struct kvm_walk_cache *c,
							       u64 cr0, u64 cr3, u64 cr4, u64 efer,
							       u8 maxphyaddr, const u64 *pdptrs,
							       u64 gva, u32 access)
{
	const struct kvm_walk_mode *m = &c->mode;

	if (!(cr0 & X86_CR0_PG) || !c->page_hva || !c->valid || c->gva_page != (gva & ~0xfffull) ||
	    c->access != access || !c->set_ad || c->gen != kvm_memslots(kvm)->generation)
		return NULL;
	if (m->cr0 != cr0 || m->cr3 != cr3 || m->cr4 != cr4 || m->efer != efer ||
	    m->maxphyaddr != maxphyaddr || m->smap_check ||
	    (walk_reads_pdptrs(m) && memcmp(m->pdptrs, pdptrs, sizeof(m->pdptrs))) ||
	    !walk_cache_entries_same(c))
		return NULL;
	return walk_cache_page_host(c, gva);
}

#endif
