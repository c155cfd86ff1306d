// SPDX-License-Identifier: MIT
/* Guest page-table walks for KVM_TRANSLATE and the emulator. */
#include "kvm/kvm_host.h"
#include "x86/mmu/mmu.h"
#include "x86/mmu/paging.h"
#include "x86/msr-index.h"


#define PT_PRESENT_MASK		(1ull << 0)
#define PT_WRITABLE_MASK	(1ull << 1)
#define PT_USER_MASK		(1ull << 2)
#define PT_ACCESSED_MASK	(1ull << 5)
#define PT_DIRTY_MASK		(1ull << 6)
#define PT_PAGE_SIZE_MASK	(1ull << 7)
#define PT64_NX_MASK		(1ull << 63)
#define PT_BASE_ADDR_MASK	0x000ffffffffff000ull

struct walk_acc {
	bool user, write, nx;
};

/* A guest table entry as a host pointer, or NULL when no memslot backs it. */
static void *guest_pte_ptr(struct kvm *kvm, u64 gpa, size_t size)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gpa >> PAGE_SHIFT);
	hva_t hva = gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT);

	if (hva == KVM_HVA_ERR_BAD)
		return NULL;
	/*
	 * Host memory unmapped in part since the slot was made: the table's
	 * page must still be there (a munmap racing this one walk is not
	 * excluded, unlike kvm_hva_access_begin()'s users).
	 */
	if (!__atomic_load_n(&slot->hva_checked, __ATOMIC_SEQ_CST) &&
	    !kvm_hva_range_mapped(hva, PAGE_SIZE))
		return NULL;
	return (void *)(uintptr_t)(hva + (gpa & (PAGE_SIZE - 1)));
}

/*
 * SDM 4.6: user accesses need U/S everywhere, and R/W everywhere to write;
 * supervisor writes need R/W everywhere when CR0.WP is set; fetches fail on
 * XD; SMEP forbids supervisor fetches from user pages, SMAP supervisor data
 * accesses to them (unless EFLAGS.AC allows it: mode->smap_check).
 */
static bool permission_fault(const struct kvm_walk_mode *mode, const struct walk_acc *acc,
			     u32 access)
{
	bool user = access & PFERR_USER_MASK;
	bool write = access & PFERR_WRITE_MASK;
	bool fetch = access & PFERR_FETCH_MASK;

	if (user) {
		if (!acc->user || (write && !acc->write))
			return true;
	} else {
		if (write && !acc->write && (mode->cr0 & X86_CR0_WP))
			return true;
		if (fetch && acc->user && (mode->cr4 & X86_CR4_SMEP))
			return true;
		if (!fetch && acc->user && (mode->cr4 & X86_CR4_SMAP) && mode->smap_check)
			return true;
	}
	return fetch && acc->nx;
}

static u64 walk_fault(const struct kvm_walk_mode *mode, u64 gva, u32 access, u32 bits,
		      struct x86_exception *fault)
{
	u32 ec = bits | (access & (PFERR_WRITE_MASK | PFERR_USER_MASK));

	/* I/D is reported only where execute-disable or SMEP exist (SDM 4.7). */
	if ((access & PFERR_FETCH_MASK) &&
	    (((mode->cr4 & X86_CR4_PAE) && (mode->efer & EFER_NX)) || (mode->cr4 & X86_CR4_SMEP)))
		ec |= PFERR_FETCH_MASK;
	if (fault) {
		fault->vector = PF_VECTOR;
		fault->error_code_valid = true;
		fault->error_code = ec;
		fault->address = gva;
	}
	return INVALID_GPA;
}

#define PTTYPE 64
#include "x86/mmu/paging_tmpl.h"
#undef PTTYPE
#define PTTYPE 32
#include "x86/mmu/paging_tmpl.h"
#undef PTTYPE

static bool is_canonical(u64 va, int bits)
{
	return (u64)((s64)(va << (64 - bits)) >> (64 - bits)) == va;
}

u64 kvm_walk_gva(struct kvm *kvm, const struct kvm_walk_mode *mode, u64 gva, u32 access,
		 bool set_ad, struct x86_exception *fault)
{
	struct walk_acc acc = { true, true, false };

	if (!(mode->cr0 & X86_CR0_PG))
		return mode->efer & EFER_LMA ? gva : (u32)gva;

	if (mode->efer & EFER_LMA) {
		int levels = mode->cr4 & X86_CR4_LA57 ? 5 : 4;

		if (!is_canonical(gva, levels == 5 ? 57 : 48)) {
			if (fault)
				*fault = (struct x86_exception){ GP_VECTOR, true, 0, 0 };
			return INVALID_GPA;
		}
		return paging64_walk_addr_generic(kvm, mode, gva, access, set_ad,
						  mode->cr3 & PT_BASE_ADDR_MASK, levels, &acc, fault);
	}
	gva = (u32)gva;
	if (mode->cr4 & X86_CR4_PAE) {
		u64 pdpte = mode->pdptrs[(gva >> 30) & 3];

		/* PDPTE reserved bits were checked when CR3 was loaded. */
		if (!(pdpte & PT_PRESENT_MASK))
			return walk_fault(mode, gva, access, 0, fault);
		return paging64_walk_addr_generic(kvm, mode, gva, access, set_ad,
						  pdpte & PT_BASE_ADDR_MASK, 2, &acc, fault);
	}
	return paging32_walk_addr_generic(kvm, mode, gva, access, set_ad,
					  mode->cr3 & 0xfffff000ull, 2, &acc, fault);
}
