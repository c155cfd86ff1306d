// SPDX-License-Identifier: MIT
/* Guest page-table walks for KVM_TRANSLATE and the emulator. */
#include "kvm/kvm_host.h"
#include "x86/mmu/mmu.h"
#include "x86/mmu/paging.h"
#include "x86/mmu/walk_cache.h"
#include "x86/msr-index.h"
#include "x86/vmx/vmx_ops.h"


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

/*
 * The memslot of the table the walk is in: page tables are usually all in
 * one slot, so each level looks the slot up only if it left the last one.
 */
struct walk_tables {
	struct kvm_memory_slot *slot;
	struct kvm_walk_cache *rec;	/* if set: the entries read go there */
};

/* The host address of the table entry at @gpa, 0 if no memslot has it. */
static __always_inline hva_t walk_hva(struct kvm *kvm, struct walk_tables *wt, u64 gpa)
{
	struct kvm_memory_slot *slot = wt->slot;
	u64 gfn = gpa >> PAGE_SHIFT;

	if (unlikely(!slot || gfn - slot->base_gfn >= slot->npages)) {
		wt->slot = slot = gfn_to_memslot(kvm, gfn);
		if (!slot)
			return 0;
	}
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT) + (gpa & (PAGE_SIZE - 1));
}

static __always_inline void pte_load(hva_t hva, void *pte, unsigned int size)
{
	if (size == 8)
		*(u64 *)pte = __atomic_load_n((u64 *)(uintptr_t)hva, __ATOMIC_ACQUIRE);
	else
		*(u32 *)pte = __atomic_load_n((u32 *)(uintptr_t)hva, __ATOMIC_ACQUIRE);
}

/*
 * Read the guest table entry at @gpa.  The host memory behind a slot may
 * have been unmapped in part (the slot then lost hva_checked): the read is
 * then made under kvm_hva_access_begin/end, so that an munmap() cannot take
 * the page away between the check and the load (the MMU notifier clears
 * hva_checked, waits for kvm->srcu, which the walk's caller holds, and then
 * for the read lock).  Return: false when no memslot or no host page
 * backs it.
 */
static __always_inline bool guest_pte_read(struct kvm *kvm, struct walk_tables *wt, u64 gpa,
					   void *pte, unsigned int size)
{
	hva_t hva = walk_hva(kvm, wt, gpa);
	bool locked;

	if (!hva)
		return false;
	if (likely(__atomic_load_n(&wt->slot->hva_checked, __ATOMIC_SEQ_CST))) {
		pte_load(hva, pte, size);
	} else {
		if (!kvm_hva_access_begin(kvm, wt->slot, hva, &locked))
			return false;
		pte_load(hva, pte, size);
		kvm_hva_access_end(kvm, locked);
	}
	if (wt->rec && wt->rec->n < KVM_WALK_MAX_LEVELS) {
		struct kvm_walk_pte *r = &wt->rec->pte[wt->rec->n++];

		r->slot = wt->slot;
		r->hva = hva;
		r->val = size == 8 ? *(u64 *)pte : *(u32 *)pte;
		r->size = (u8)size;
	}
	return true;
}

/*
 * Set accessed/dirty @bits in the guest table entry at @gpa, as the
 * processor's locked update would, and log the page dirty (KVM's
 * update_accessed_dirty_bits()); an entry in a read-only slot is left
 * alone (KVM skips it: the write would fault).  The processor's decoded
 * instructions from that page, if any, are dropped.
 */
static void guest_pte_set_bits(struct kvm *kvm, struct walk_tables *wt, u64 gpa, u64 bits,
			       unsigned int size)
{
	hva_t hva = walk_hva(kvm, wt, gpa);
	bool locked;

	if (!hva || (wt->slot->flags & KVM_MEM_READONLY))
		return;
	if (!kvm_hva_access_begin(kvm, wt->slot, hva, &locked))
		return;
	if (size == 8)
		__atomic_fetch_or((u64 *)(uintptr_t)hva, bits, __ATOMIC_ACQ_REL);
	else
		__atomic_fetch_or((u32 *)(uintptr_t)hva, (u32)bits, __ATOMIC_ACQ_REL);
	mark_page_dirty_in_slot(kvm, wt->slot, gpa >> PAGE_SHIFT);
	vmx_op_code_written((const void *)(uintptr_t)hva, size);
	kvm_hva_access_end(kvm, locked);
	/* the entry as the walk leaves it: the last one read */
	if (wt->rec && wt->rec->n && wt->rec->pte[wt->rec->n - 1].hva == hva)
		wt->rec->pte[wt->rec->n - 1].val |= bits;
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

static u64 walk_gva(struct kvm *kvm, const struct kvm_walk_mode *mode, u64 gva, u32 access,
		    bool set_ad, struct x86_exception *fault, struct kvm_walk_cache *rec)
{
	struct walk_acc acc = { true, true, false };
	struct walk_tables wt = { NULL, rec };

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
						  mode->cr3 & PT_BASE_ADDR_MASK, levels, &acc, &wt, fault);
	}
	gva = (u32)gva;
	if (mode->cr4 & X86_CR4_PAE) {
		u64 pdpte = mode->pdptrs[(gva >> 30) & 3];

		/* PDPTE reserved bits were checked when CR3 was loaded. */
		if (!(pdpte & PT_PRESENT_MASK))
			return walk_fault(mode, gva, access, 0, fault);
		return paging64_walk_addr_generic(kvm, mode, gva, access, set_ad,
						  pdpte & PT_BASE_ADDR_MASK, 2, &acc, &wt, fault);
	}
	return paging32_walk_addr_generic(kvm, mode, gva, access, set_ad,
					  mode->cr3 & 0xfffff000ull, 2, &acc, &wt, fault);
}

u64 kvm_walk_gva(struct kvm *kvm, const struct kvm_walk_mode *mode, u64 gva, u32 access,
		 bool set_ad, struct x86_exception *fault)
{
	return walk_gva(kvm, mode, gva, access, set_ad, fault, NULL);
}

/* The distinct slots of the recorded entries (and their size: one per walk). */
static void walk_cache_note_slots(struct kvm_walk_cache *c)
{
	c->nslots = 0;
	c->pte_size = c->n ? c->pte[0].size : 8;
	for (int i = 0; i < c->n; i++) {
		int k = 0;

		while (k < c->nslots && c->slots[k] != c->pte[i].slot)
			k++;
		if (k == c->nslots)
			c->slots[c->nslots++] = c->pte[i].slot;
		/* 4-byte entries are 32-bit paging's, 8-byte ones the others': never both */
		if (c->pte[i].size != c->pte_size)
			c->valid = false;
	}
}

u64 kvm_walk_gva_cached(struct kvm *kvm, struct kvm_walk_cache *c,
			const struct kvm_walk_mode *mode, u64 gva, u32 access, bool set_ad,
			struct x86_exception *fault)
{
	u64 gen = kvm_memslots(kvm)->generation, gpa;

	if (!(mode->cr0 & X86_CR0_PG))
		return kvm_walk_gva(kvm, mode, gva, access, set_ad, fault);
	if (walk_cache_hit(kvm, c, mode, gva, access, set_ad))
		return c->gpa_page | (gva & 0xfff);
	c->valid = false;
	c->n = 0;
	gpa = walk_gva(kvm, mode, gva, access, set_ad, fault, c);
	if (gpa == INVALID_GPA)
		return gpa;
	c->page_slot = gfn_to_memslot(kvm, gpa >> PAGE_SHIFT);
	c->page_hva = c->page_slot ? gfn_to_hva_memslot(c->page_slot, gpa >> PAGE_SHIFT) : 0;
	c->valid = true;
	walk_cache_note_slots(c);
	c->set_ad = set_ad;
	c->access = access;
	c->gen = gen;
	c->gva_page = gva & ~0xfffull;
	c->gpa_page = gpa & ~0xfffull;
	c->mode = *mode;
	return gpa;
}

void *kvm_walk_cache_host(struct kvm *kvm, const struct kvm_walk_cache *c, u64 gpa)
{
	if (!c->valid || !c->page_hva || (gpa & ~0xfffull) != c->gpa_page ||
	    c->gen != kvm_memslots(kvm)->generation ||
	    !__atomic_load_n(&c->page_slot->hva_checked, __ATOMIC_SEQ_CST))
		return NULL;
	return (void *)(c->page_hva + (gpa & 0xfff));
}

