/* SPDX-License-Identifier: MIT */
/*
 * SPTEs: the entries of the EPT tables KVM builds for the processor
 * (arch/x86/kvm/mmu/spte.h).  The format is the SDM's EPT format (Vol. 3C
 * 29.3.2), with one difference of our model: where silicon holds a host
 * physical address, ours holds a host *virtual* address of this process,
 * so bits 51:12 of an entry are the host page (hva >> 12).
 */
#ifndef USERKVM_MMU_SPTE_H
#define USERKVM_MMU_SPTE_H

#include "util/types.h"

#define PT64_ROOT_4LEVEL	4
#define PT64_ENT_PER_PAGE	512
#define PG_LEVEL_4K		1
#define PG_LEVEL_2M		2
#define PG_LEVEL_1G		3

#define VMX_EPT_READABLE_MASK		0x1ull
#define VMX_EPT_WRITABLE_MASK		0x2ull
#define VMX_EPT_EXECUTABLE_MASK		0x4ull
#define VMX_EPT_RWX_MASK		0x7ull
#define VMX_EPT_MT_SHIFT		3
#define VMX_EPT_MT_WB			(6ull << VMX_EPT_MT_SHIFT)
#define VMX_EPT_IPAT_BIT		(1ull << 6)
#define PT_PAGE_SIZE_MASK		(1ull << 7)
#define VMX_EPT_ACCESS_BIT		(1ull << 8)
#define VMX_EPT_DIRTY_BIT		(1ull << 9)
/*
 * Software bits (ignored by the processor): SPTE_MMU_PRESENT marks every
 * SPTE KVM installed (an execute-only SPTE has R=0, so RWX cannot tell);
 * SPTE_HOST_WRITABLE: the memslot allows writes, W is clear only to log
 * dirty pages (fast write-protection recovery, KVM's "mmu-writable").
 */
#define SPTE_MMU_PRESENT_MASK		(1ull << 11)
#define SPTE_HOST_WRITABLE		(1ull << 57)
#define SPTE_MMU_WRITABLE		(1ull << 58)

#define SPTE_BASE_ADDR_MASK		0x000ffffffffff000ull

/*
 * MMIO SPTEs: GPAs that no memslot covers get an entry that is a
 * deliberate EPT misconfiguration (writable but not readable, SDM 29.3.3.1),
 * so the next access exits with EPT_MISCONFIG and KVM emulates it as MMIO
 * instead of taking an EPT violation and walking the memslots again.
 */
#define VMX_EPT_MISCONFIG_WX_VALUE	(VMX_EPT_WRITABLE_MASK | VMX_EPT_EXECUTABLE_MASK)
#define SPTE_MMIO_VALUE			(VMX_EPT_MISCONFIG_WX_VALUE | SPTE_MMU_PRESENT_MASK)
#define SPTE_MMIO_MASK			(VMX_EPT_RWX_MASK | SPTE_MMU_PRESENT_MASK)
/*
 * An MMIO SPTE records the memslot generation it was made in (KVM's
 * MMIO_SPTE_GEN_MASK), here in the address field, bits 51:12, which an
 * MMIO SPTE does not use: the fact "no memslot here" holds only while the
 * memslots are those of that generation (handle_mmio_page_fault()).  The
 * processor sees a W+X entry without R, misconfigured whatever the rest.
 * FIXME: 40 bits of generation; KVM zaps all MMIO SPTEs when its (19-bit)
 * generation wraps, here a wrap would take 2^40 memslot updates.
 */
#define SPTE_MMIO_GEN_SHIFT		12
#define SPTE_MMIO_GEN_MASK		((1ull << 40) - 1)

static inline bool is_shadow_present_pte(u64 spte)
{
	return spte & SPTE_MMU_PRESENT_MASK;
}

static inline bool is_mmio_spte(u64 spte)
{
	return (spte & SPTE_MMIO_MASK) == SPTE_MMIO_VALUE;
}

static inline u64 get_mmio_spte_generation(u64 spte)
{
	return (spte >> SPTE_MMIO_GEN_SHIFT) & SPTE_MMIO_GEN_MASK;
}

static inline bool is_large_pte(u64 spte)
{
	return spte & PT_PAGE_SIZE_MASK;
}

static inline bool is_last_spte(u64 spte, int level)
{
	return level == PG_LEVEL_4K || is_large_pte(spte);
}

static inline bool is_writable_pte(u64 spte)
{
	return spte & VMX_EPT_WRITABLE_MASK;
}

static inline u64 spte_to_hva(u64 spte)
{
	return spte & SPTE_BASE_ADDR_MASK;
}

static inline u64 *spte_to_child_pt(u64 spte)
{
	return (u64 *)(uintptr_t)spte_to_hva(spte);
}

/* Bits of a GPA that index the table at @level (1 = PT, 4 = PML4). */
static inline int spte_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (PT64_ENT_PER_PAGE - 1);
}

static inline u64 kvm_pages_per_hpage(int level)
{
	return 1ull << (9 * (level - 1));
}

u64 make_spte(u64 hva, int level, bool writable, bool host_writable);
u64 make_nonleaf_spte(u64 *child_pt);
/* An MMIO SPTE made while the memslots were of generation @gen. */
u64 make_mmio_spte(u64 gen);

#endif
