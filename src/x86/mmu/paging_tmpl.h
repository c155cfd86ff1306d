/* SPDX-License-Identifier: MIT */
/*
 * The guest page-table walker, compiled once per entry width (as KVM's
 * paging_tmpl.h): PTTYPE 32 is 32-bit paging (2 levels, 4-byte entries,
 * PSE 4 MiB pages with PSE-36), PTTYPE 64 is PAE (3 levels from the cached
 * PDPTEs) and 4-/5-level paging (8-byte entries, NX).  SDM Vol. 3A 4.3-4.6.
 */
#if PTTYPE == 64
#define pt_element_t u64
#define FNAME(name) paging64_##name
#define PT_INDEX(addr, level) (((addr) >> (12 + 9 * ((level) - 1))) & 511)
#define PT_LEVEL_BITS 9
#elif PTTYPE == 32
#define pt_element_t u32
#define FNAME(name) paging32_##name
#define PT_INDEX(addr, level) (((addr) >> (12 + 10 * ((level) - 1))) & 1023)
#define PT_LEVEL_BITS 10
#else
#error "PTTYPE must be 32 or 64"
#endif

/*
 * Walk from @table_gpa (the root table, or for PAE the page directory a
 * PDPTE gave) down @levels levels.  @acc accumulates the U/S, R/W and NX
 * rights of every level (SDM 4.6: the combined rights are the AND of U/S
 * and R/W and the OR of XD over all levels).
 */
static u64 FNAME(walk_addr_generic)(struct kvm *kvm, const struct kvm_walk_mode *mode,
				    u64 gva, u32 access, bool set_ad, u64 table_gpa,
				    int levels, struct walk_acc *acc, struct walk_tables *wt,
				    struct x86_exception *fault)
{
	u64 rsvd_high = mode->maxphyaddr < 52 ? ~((1ull << mode->maxphyaddr) - 1) & ((1ull << 52) - 1) : 0;
	bool nxe __attribute__((unused)) = PTTYPE == 64 && (mode->efer & EFER_NX);
	/* reserved in every 8-byte entry: above MAXPHYADDR, and XD without EFER.NXE */
	u64 rsvd_common __attribute__((unused)) = rsvd_high | (nxe ? 0 : PT64_NX_MASK);
	/* the AND of U/S and R/W and the OR of XD of the levels walked, as bits */
	u64 rights = PT_USER_MASK | PT_WRITABLE_MASK, xd __attribute__((unused)) = 0;

	for (int level = levels; level >= 1; level--) {
		u64 pte_gpa = (table_gpa & ~0xfffull) + PT_INDEX(gva, level) * sizeof(pt_element_t);
		pt_element_t pte;
		u64 rsvd = 0;
		bool leaf;

		/* table outside memory: the processor reads all ones */
		if (!guest_pte_read(kvm, wt, pte_gpa, &pte, sizeof(pte)))
			goto rsvd_fault;
		if (!(pte & PT_PRESENT_MASK))
			return walk_fault(mode, gva, access, 0, fault);

		leaf = level == 1 || ((pte & PT_PAGE_SIZE_MASK) &&
				      (PTTYPE == 64 ? level <= 3 : (mode->cr4 & X86_CR4_PSE)));
#if PTTYPE == 64
		rsvd = rsvd_common;
		if (level >= 4)
			rsvd |= PT_PAGE_SIZE_MASK;	/* no PS in PML4E/PML5E */
		else if (leaf && level == 3)
			rsvd |= 0x3fffe000ull;		/* 1 GiB: bits 29:13 */
		else if (leaf && level == 2)
			rsvd |= 0x1fe000ull;		/* 2 MiB: bits 20:13 */
		rsvd &= (u64)pte;
#else
		if (leaf && level == 2) {
			/* PSE-36: bits 20:13 are address bits 39:32; bit 21 reserved */
			u64 hi = ((u64)(pte >> 13) & 0xff) << 32;

			rsvd = (pte & (1u << 21)) | (hi & rsvd_high ? 1 : 0);
		}
#endif
		if (rsvd)
			goto rsvd_fault;

		rights &= (u64)pte;
#if PTTYPE == 64
		xd |= (u64)pte;
#endif
		if (set_ad && !(pte & PT_ACCESSED_MASK))
			guest_pte_set_bits(kvm, wt, pte_gpa, PT_ACCESSED_MASK, sizeof(pte));

		if (leaf) {
			u64 size_mask, base;

			if (level == 1) {
				size_mask = 0xfff;
				base = (u64)pte & PT_BASE_ADDR_MASK & ~0xfffull;
			} else {
#if PTTYPE == 64
				size_mask = (1ull << (12 + 9 * (level - 1))) - 1;
				base = (u64)pte & PT_BASE_ADDR_MASK & ~size_mask;
#else
				size_mask = (1ull << 22) - 1;
				base = ((u64)pte & 0xffc00000u) | (((u64)(pte >> 13) & 0xff) << 32);
#endif
			}
			acc->user = rights & PT_USER_MASK;
			acc->write = rights & PT_WRITABLE_MASK;
#if PTTYPE == 64
			acc->nx = nxe && (xd & PT64_NX_MASK);
#endif
			if (permission_fault(mode, acc, access))
				return walk_fault(mode, gva, access, PFERR_PRESENT_MASK, fault);
			if (set_ad && (access & PFERR_WRITE_MASK) && !(pte & PT_DIRTY_MASK))
				guest_pte_set_bits(kvm, wt, pte_gpa, PT_DIRTY_MASK, sizeof(pte));
			return base | (gva & size_mask);
		}
		table_gpa = (u64)pte & PT_BASE_ADDR_MASK;
	}
	return INVALID_GPA;	/* not reached */

rsvd_fault:
	return walk_fault(mode, gva, access, PFERR_PRESENT_MASK | PFERR_RSVD_MASK, fault);
}

#undef pt_element_t
#undef FNAME
#undef PT_INDEX
#undef PT_LEVEL_BITS
