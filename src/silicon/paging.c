// SPDX-License-Identifier: MIT
/*
 * paging.c: the hardware page walker (SDM vol. 3 chapter 4): 32-bit paging
 * with PSE/PSE-36, PAE, 4-level and 5-level, with NX, WP, U/S, SMEP, SMAP,
 * reserved-bit checks, A/D updates and the #PF error code.
 *
 * Page-table reads are guest-physical accesses through c->phys_xlate, so
 * under EPT they are translated (and may exit) like any other access.
 *
 * PAE PDPTEs are loaded (and checked) when CR3 is written, as the SDM says
 * (4.4.1), and the walk uses the loaded copies.  FIXME: protection keys
 * are not implemented (CR4.PKE is refused).
 */
#include "silicon/cpu.h"

#define MAXPHYADDR 48
#define PTE_P	BIT_ULL(0)
#define PTE_W	BIT_ULL(1)
#define PTE_U	BIT_ULL(2)
#define PTE_A	BIT_ULL(5)
#define PTE_D	BIT_ULL(6)
#define PTE_PS	BIT_ULL(7)
#define PTE_NX	BIT_ULL(63)
#define ADDR_MASK (((1ull << MAXPHYADDR) - 1) & ~0xfffull)
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << MAXPHYADDR) - 1))

#define PFERR_P		BIT(0)
#define PFERR_W		BIT(1)
#define PFERR_U		BIT(2)
#define PFERR_RSVD	BIT(3)
#define PFERR_I		BIT(4)

static void set_bits(struct cpu *c, u64 gpa, int esize, u64 bits)
{
	u8 *p = phys_host_ptr(c, gpa, ACC_W);

	if (!p)
		return;
	if (esize == 8)
		__atomic_or_fetch((u64 *)p, bits, __ATOMIC_SEQ_CST);
	else
		__atomic_or_fetch((u32 *)p, (u32)bits, __ATOMIC_SEQ_CST);
	code_page_written(c, (uintptr_t)p & ~(uintptr_t)0xfff);
}

bool paging_load_pdptes(struct cpu *c)
{
	u64 base = c->s.cr3 & 0xffffffe0u, v[4];

	for (int k = 0; k < 4; k++) {
		v[k] = phys_read(c, base + 8 * k, 8);
		if ((v[k] & PTE_P) && (v[k] & (RSVD_HIGH | 0x1e6 | PTE_NX)))
			return false;
	}
	memcpy(c->s.pdpte, v, sizeof(v));
	c->pdpte_cr3 = c->s.cr3;
	return true;
}

u64 paging_walk(struct cpu *c, u64 lin, int kind, bool user, bool set_ad, u64 *gpa,
		bool *user_page)
{
	const struct cpu_state *s = &c->s;
	int k = kind & 3;
	bool nofault = kind & ACC_NOFAULT, implicit = kind & ACC_IMPLICIT;
	bool nxe = s->efer & CPU_EFER_NXE;
	u32 err = (k == ACC_W ? PFERR_W : 0) | (user ? PFERR_U : 0) |
		  (k == ACC_X && (nxe || (s->cr4 & CPU_CR4_SMEP)) ? PFERR_I : 0);
	u64 table, pte = 0, pte_gpa[5] = { 0 }, page_mask;
	int levels, esize, level, n = 0;
	bool us = true, rw = true, nx = false, lm = s->efer & CPU_EFER_LMA;

	if (!(s->cr0 & CPU_CR0_PG)) {
		*gpa = lm ? lin : lin & 0xffffffffull;
		*user_page = true;
		return 0;
	}
	if (lm) {
		levels = (s->cr4 & CPU_CR4_LA57) ? 5 : 4;
		esize = 8;
		table = s->cr3 & ADDR_MASK;
	} else if (s->cr4 & CPU_CR4_PAE) {
		levels = 3;
		esize = 8;
		table = s->cr3 & 0xffffffe0u;
		lin &= 0xffffffffull;
	} else {
		levels = 2;
		esize = 4;
		table = s->cr3 & 0xfffff000u;
		lin &= 0xffffffffull;
	}
	for (level = levels; level >= 1; level--) {
		int shift = esize == 8 ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
		unsigned idx = esize == 8 ? (lin >> shift) & 511 : (lin >> shift) & 1023;
		u64 rsvd = 0;
		bool pdpte = !lm && esize == 8 && level == 3;

		if (pdpte) {
			idx = (lin >> 30) & 3;
			/*
			 * Loaded by MOV CR3; CR3 changed behind the core's back
			 * (the owner, VM entry) means a load from memory now.
			 */
			if (unlikely(c->pdpte_cr3 != s->cr3)) {
				for (int k = 0; k < 4; k++)
					c->s.pdpte[k] = phys_read(c, table + 8 * k, 8);
				c->pdpte_cr3 = s->cr3;
			}
			pte = c->s.pdpte[idx];
		}
		pte_gpa[n] = table + idx * esize;
		if (!pdpte)
			pte = phys_read(c, pte_gpa[n], esize);
		n++;
		if (!(pte & PTE_P))
			return BIT_ULL(31) | err;
		if (esize == 8) {
			rsvd = RSVD_HIGH;
			if (!nxe)
				rsvd |= PTE_NX;
			if (pdpte)
				rsvd |= 0x1e6 | PTE_NX;	/* bits 2:1, 8:5, 63 */
			else if (level >= 4 || (level == 3 && !lm))
				rsvd |= PTE_PS;
			else if ((pte & PTE_PS) && level == 3)
				rsvd |= 0x3fffe000ull;	/* 1 GiB page: bits 29:13 */
			else if ((pte & PTE_PS) && level == 2)
				rsvd |= 0x1fe000ull;	/* 2 MiB page: bits 20:13 */
		} else if (level == 2 && (pte & PTE_PS) && (s->cr4 & CPU_CR4_PSE)) {
			rsvd = BIT_ULL(21);		/* PSE-36 with 40 address bits */
		}
		if (pte & rsvd)
			return BIT_ULL(31) | err | PFERR_P | PFERR_RSVD;
		if (!pdpte) {
			us = us && (pte & PTE_U);
			rw = rw && (pte & PTE_W);
			if (nxe && (pte & PTE_NX))
				nx = true;
		}
		if (level == 1)
			break;
		if ((pte & PTE_PS) && !pdpte &&
		    (esize == 8 ? level <= 3 : (level == 2 && (s->cr4 & CPU_CR4_PSE))))
			break;
		table = esize == 8 ? pte & ADDR_MASK : pte & 0xfffff000u;
	}
	/* Access rights (SDM 4.6) */
	if (!nofault) {
		bool smap = s->cr4 & CPU_CR4_SMAP, smep = s->cr4 & CPU_CR4_SMEP;
		bool ok = true;
		if (user) {
			if (!us || (k == ACC_W && !rw))
				ok = false;
		} else {
			if (k == ACC_W && !rw && (s->cr0 & CPU_CR0_WP))
				ok = false;
			if (k == ACC_X && us && smep)
				ok = false;
			if (k != ACC_X && us && smap &&
			    (implicit || !(c->s.rflags & CPU_FLAG_AC) || c->cpl == 3))
				ok = false;
		}
		if (k == ACC_X && nx)
			ok = false;
		if (!ok)
			return BIT_ULL(31) | err | PFERR_P;
	}
	if (esize == 4) {
		if (level == 2) {	/* 4 MiB page */
			page_mask = 0x3fffff;
			*gpa = (pte & 0xffc00000u) | (((pte >> 13) & 0xff) << 32) | (lin & page_mask);
		} else {
			page_mask = 0xfff;
			*gpa = (pte & 0xfffff000u) | (lin & page_mask);
		}
	} else {
		page_mask = (1ull << (12 + 9 * (level - 1))) - 1;
		*gpa = (pte & ADDR_MASK & ~page_mask) | (lin & page_mask);
	}
	if (page_mask != 0xfff)
		c->tlb_has_large = true;
	*user_page = us;
	if (set_ad) {
		for (int j = 0; j < n; j++) {
			bool last = j == n - 1;
			u64 e = phys_read(c, pte_gpa[j], esize);
			u64 want = PTE_A | (last && k == ACC_W ? PTE_D : 0);
			if (!lm && esize == 8 && j == 0)
				continue;	/* PAE PDPTEs have no A bit */
			if ((e & want) != want)
				set_bits(c, pte_gpa[j], esize, want);
		}
	}
	return 0;
}
