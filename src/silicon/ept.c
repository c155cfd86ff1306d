// SPDX-License-Identifier: MIT
/*
 * The EPT page walk (SDM Vol. 3 29.3.2-29.3.3): 4 levels, R/W/X with
 * execute-only, 2 MiB and 1 GiB leaves, accessed/dirty flags (29.3.5),
 * misconfiguration detection (29.3.3.1) and violations (29.3.3.2).
 */
#include "silicon/ept.h"
#include "silicon/vmx_cpu.h"

#define EPT_ADDR_MASK   (0x000ffffffffff000ull & ~VMX_PA_RSVD_MASK)

bool vmx_eptp_valid(u64 eptp)
{
	u64 mt = eptp & VMX_EPTP_MT_MASK;

	if (mt != VMX_EPTP_MT_UC && mt != VMX_EPTP_MT_WB)
		return false;
	if ((eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4)
		return false;
	/* Bit 6 (A/D enable) is allowed: IA32_VMX_EPT_VPID_CAP[21] is 1. */
	if (eptp & 0xf80ull)			/* bits 11:7 reserved */
		return false;
	if (eptp & VMX_PA_RSVD_MASK)
		return false;
	return (eptp & EPT_ADDR_MASK) != 0;
}

static bool ept_leaf(u64 e, int level)
{
	return level == 1 || ((level == 2 || level == 3) && (e & VMX_EPT_PAGE_SIZE));
}

bool ept_entry_misconfigured(u64 e, int level)
{
	/* Writable without readable (includes KVM's W+X MMIO entries). */
	if ((e & (VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK)) == VMX_EPT_WRITABLE_MASK)
		return true;
	/* Execute-only (bits 2:0 = 100b) is allowed: IA32_VMX_EPT_VPID_CAP[0] = 1. */
	if (e & VMX_PA_RSVD_MASK & ~0xfff0000000000000ull)	/* bits 51:MAXPHYADDR */
		return true;
	switch (level) {
	case 4:
		if (e & 0xf8ull)			/* bits 7:3 */
			return true;
		return false;
	case 3:
	case 2:
		if (!(e & VMX_EPT_PAGE_SIZE))
			return (e & 0x78ull) != 0;	/* bits 6:3 of a non-leaf */
		if (e & (level == 3 ? 0x3ffff000ull : 0x1ff000ull))
			return true;			/* bits 29:12 / 20:12 */
		break;
	}
	switch ((e >> VMX_EPT_MT_SHIFT) & 7) {
	case 2: case 3: case 7:				/* reserved memory types */
		return true;
	}
	return false;
}

u32 ept_translate(u64 eptp, u64 gpa, u32 access, struct ept_result *r)
{
	return ept_translate_ex(eptp, gpa, access, r, true);
}

u32 ept_translate_ex(u64 eptp, u64 gpa, u32 access, struct ept_result *r, bool set_dirty)
{
	u64 *entries[4];
	u64 table = eptp & EPT_ADDR_MASK;
	u32 rwx = VMX_EPT_RWX_MASK;
	bool ad = eptp & VMX_EPTP_AD_ENABLE_BIT;
	int level, n = 0;
	u64 e = 0, size;

	r->host = NULL;
	r->leaf = NULL;
	r->level = 0;
	r->dirty_needed = false;
	r->page_size = 0;
	r->rwx = 0;
	r->qual = 0;
	if (gpa >> VMX_MAXPHYADDR) {
		/* Beyond the guest-physical address width nothing is mapped. */
		rwx = 0;
		goto violation;
	}
	for (level = 4; level >= 1; level--) {
		u64 *p = (u64 *)(uintptr_t)table + ((gpa >> (12 + 9 * (level - 1))) & 511);

		e = __atomic_load_n(p, __ATOMIC_ACQUIRE);
		entries[n++] = p;
		rwx &= (u32)(e & VMX_EPT_RWX_MASK);
		if (!(e & VMX_EPT_RWX_MASK))
			goto violation;			/* not present */
		if (ept_entry_misconfigured(e, level)) {
			r->leaf = p;
			r->level = level;
			r->exit_reason = EXIT_REASON_EPT_MISCONFIG;
			return r->exit_reason;
		}
		if (ept_leaf(e, level))
			break;
		table = e & EPT_ADDR_MASK;
	}
	/*
	 * Misconfiguration is checked on the whole path before permissions
	 * (SDM 29.3.3: misconfigurations take priority over violations).
	 */
	if (((access & EPT_ACC_READ) && !(rwx & VMX_EPT_READABLE_MASK)) ||
	    ((access & EPT_ACC_WRITE) && !(rwx & VMX_EPT_WRITABLE_MASK)) ||
	    ((access & EPT_ACC_FETCH) && !(rwx & VMX_EPT_EXECUTABLE_MASK)))
		goto violation;

	size = 1ull << (12 + 9 * (level - 1));
	if (ad) {
		for (int i = 0; i < n; i++)
			if (!(*entries[i] & VMX_EPT_ACCESS_BIT))
				__atomic_fetch_or(entries[i], VMX_EPT_ACCESS_BIT, __ATOMIC_RELAXED);
		if ((access & EPT_ACC_WRITE) && !(e & VMX_EPT_DIRTY_BIT)) {
			r->dirty_needed = true;
			if (set_dirty)
				__atomic_fetch_or(entries[n - 1], VMX_EPT_DIRTY_BIT, __ATOMIC_RELAXED);
		}
	}
	r->leaf = entries[n - 1];
	r->level = level;
	r->host = (void *)(uintptr_t)((e & EPT_ADDR_MASK & ~(size - 1)) | (gpa & (size - 1)));
	r->page_size = size;
	r->rwx = rwx;
	r->exit_reason = 0;
	return 0;

violation:
	r->exit_reason = EXIT_REASON_EPT_VIOLATION;
	r->qual = (access & 7) | ((u64)rwx << 3);
	return r->exit_reason;
}
