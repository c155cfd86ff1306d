// SPDX-License-Identifier: MIT
/* SPTE construction (arch/x86/kvm/mmu/spte.c). */
#include "x86/mmu/spte.h"

/*
 * A leaf: read and execute always (guest paging decides what the guest may
 * do), write unless the slot is read-only or the page is write-protected
 * for dirty logging, write-back memory type with IPAT clear.  Accessed and
 * dirty are set up front: KVM does not use EPT A/D for aging here.
 */
u64 make_spte(u64 hva, int level, bool writable, bool host_writable)
{
	u64 spte = SPTE_MMU_PRESENT_MASK | VMX_EPT_READABLE_MASK | VMX_EPT_EXECUTABLE_MASK |
		   VMX_EPT_MT_WB | VMX_EPT_ACCESS_BIT | (hva & SPTE_BASE_ADDR_MASK);

	if (level > PG_LEVEL_4K)
		spte |= PT_PAGE_SIZE_MASK;
	if (host_writable)
		spte |= SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE;
	if (writable)
		spte |= VMX_EPT_WRITABLE_MASK | VMX_EPT_DIRTY_BIT;
	return spte;
}

/* Non-leaf entries grant everything; the leaf decides. */
u64 make_nonleaf_spte(u64 *child_pt)
{
	return SPTE_MMU_PRESENT_MASK | VMX_EPT_RWX_MASK | VMX_EPT_ACCESS_BIT |
	       ((u64)(uintptr_t)child_pt & SPTE_BASE_ADDR_MASK);
}

u64 make_mmio_spte(u64 gen)
{
	return SPTE_MMIO_VALUE | (gen & SPTE_MMIO_GEN_MASK) << SPTE_MMIO_GEN_SHIFT;
}
