// SPDX-License-Identifier: MIT
/*
 * The EPT walker (SDM 29.3) as a unit: tables built the way KVM's TDP MMU
 * builds them, in host memory; translations, violations with their
 * qualification bits, misconfigurations, A/D flags, large pages.  Also
 * INVEPT/INVVPID operand checks through vmx_ops.h.
 */
#include "../test.h"
#include "silicon/ept.h"
#include "vmx_util.h"

static u64 *pml4;
static u8 *ram;		/* 16 KiB of "guest memory" */

static u64 eptp(bool ad)
{
	return test_eptp_of(pml4, ad);
}

#define MT_WB (6ull << 3)

/* Map 4 KiB at @gpa to @host with @perm, making the tables as needed. */
static u64 *map4k(u64 gpa, void *host, u64 perm)
{
	u64 *t = pml4;

	for (int level = 4; level > 1; level--) {
		u64 *e = &t[(gpa >> (12 + 9 * (level - 1))) & 511];

		if (!(*e & 7))
			*e = hva(test_pages(1)) | 7;
		t = (u64 *)(uintptr_t)(*e & 0xfffffffff000ull);
	}
	t[(gpa >> 12) & 511] = hva(host) | perm | MT_WB;
	return &t[(gpa >> 12) & 511];
}

static void setup(void)
{
	test_pages_free_all();
	pml4 = test_pages(1);
	ram = test_pages(4);
}

static void translate_rwx(void)
{
	struct ept_result r;

	setup();
	map4k(0x5000, ram, 7);
	CHECK_EQ(ept_translate(eptp(false), 0x5123, EPT_ACC_READ, &r), 0);
	CHECK(r.host == ram + 0x123, "host %p", r.host);
	CHECK_EQ(r.page_size, 4096);
	CHECK_EQ(r.rwx, 7);
	CHECK_EQ(ept_translate(eptp(false), 0x5fff, EPT_ACC_WRITE, &r), 0);
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_FETCH, &r), 0);
}

static void violation_not_present(void)
{
	struct ept_result r;

	setup();
	map4k(0x5000, ram, 7);
	/* Next page: PTE not present.  Qualification: the access, no permissions. */
	CHECK_EQ(ept_translate(eptp(false), 0x6000, EPT_ACC_WRITE, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_WRITE);
	CHECK(r.host == NULL, "host pointer on a violation");
	/* Far away: PML4E not present. */
	CHECK_EQ(ept_translate(eptp(false), 0x8000000000ull, EPT_ACC_READ, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_READ);
	/* Beyond 48 bits of guest-physical address. */
	CHECK_EQ(ept_translate(eptp(false), 1ull << 48 | 0x5000, EPT_ACC_READ, &r),
		 EXIT_REASON_EPT_VIOLATION);
}

static void violation_permissions(void)
{
	struct ept_result r;

	setup();
	map4k(0x5000, ram, VMX_EPT_READABLE_MASK);		/* read-only */
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_WRITE, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_READABLE);
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_FETCH, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_INSTR | EPT_VIOLATION_READABLE);
	map4k(0x6000, ram + 4096, 3);				/* RW, not executable */
	CHECK_EQ(ept_translate(eptp(false), 0x6000, EPT_ACC_FETCH, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_INSTR | EPT_VIOLATION_READABLE | EPT_VIOLATION_WRITABLE);
	/* Permissions are the AND of all levels: clear W in the PDE. */
	map4k(0x200000, ram + 8192, 7);
	{
		u64 *pdpt = (u64 *)(uintptr_t)(pml4[0] & 0xfffffffff000ull);
		u64 *pd = (u64 *)(uintptr_t)(pdpt[0] & 0xfffffffff000ull);

		pd[1] &= ~VMX_EPT_WRITABLE_MASK;
	}
	CHECK_EQ(ept_translate(eptp(false), 0x200000, EPT_ACC_WRITE, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_READABLE | EPT_VIOLATION_EXECUTABLE);
	CHECK_EQ(ept_translate(eptp(false), 0x200000, EPT_ACC_READ, &r), 0);
}

static void execute_only(void)
{
	struct ept_result r;

	setup();
	map4k(0x5000, ram, VMX_EPT_EXECUTABLE_MASK);
	CHECK_EQ(ept_translate(eptp(false), 0x5010, EPT_ACC_FETCH, &r), 0);
	CHECK(r.host == ram + 0x10, "host %p", r.host);
	CHECK_EQ(ept_translate(eptp(false), 0x5010, EPT_ACC_READ, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(r.qual, EPT_VIOLATION_ACC_READ | EPT_VIOLATION_EXECUTABLE);
}

static void misconfigurations(void)
{
	struct ept_result r;
	u64 *pte;

	setup();
	pte = map4k(0x5000, ram, 7);
	/* KVM's MMIO SPTE: W+X without R. */
	*pte = (*pte & ~7ull) | VMX_EPT_WRITABLE_MASK | VMX_EPT_EXECUTABLE_MASK;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
	/* Write-only. */
	*pte = (*pte & ~7ull) | VMX_EPT_WRITABLE_MASK;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_FETCH, &r), EXIT_REASON_EPT_MISCONFIG);
	/* Reserved memory types 2, 3, 7 in a leaf. */
	for (u64 mt = 0; mt < 8; mt++) {
		u32 want = (mt == 2 || mt == 3 || mt == 7) ? EXIT_REASON_EPT_MISCONFIG : 0;

		*pte = hva(ram) | 7 | mt << 3;
		CHECK(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r) == want, "memtype %llu",
		      (unsigned long long)mt);
	}
	/* Address bits beyond MAXPHYADDR. */
	*pte = hva(ram) | 7 | MT_WB | 1ull << 50;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
	/* Bits 52-62 are ignored (KVM keeps its MMIO generation there). */
	*pte = hva(ram) | 7 | MT_WB | 0x7ffull << 52;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), 0);
	/* PML4E bit 7 and bits 6:3 of a non-leaf PDE are reserved. */
	pml4[0] |= VMX_EPT_PAGE_SIZE;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
	pml4[0] &= ~VMX_EPT_PAGE_SIZE;
	{
		u64 *pdpt = (u64 *)(uintptr_t)(pml4[0] & 0xfffffffff000ull);
		u64 *pd = (u64 *)(uintptr_t)(pdpt[0] & 0xfffffffff000ull);

		pd[0] |= 1ull << 4;
		CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
		pd[0] &= ~(1ull << 4);
	}
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), 0);
	/* A not-present entry is never a misconfiguration, whatever its other bits. */
	*pte = 0xfff0000000000ff8ull;
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_READ, &r), EXIT_REASON_EPT_VIOLATION);
}

static void large_pages(void)
{
	struct ept_result r;
	u8 *big = aligned_alloc(2u << 20, 2u << 20);
	u64 *pdpt, *pd;

	setup();
	pdpt = test_pages(1);
	pd = test_pages(1);
	pml4[0] = hva(pdpt) | 7;
	pdpt[0] = hva(pd) | 7;
	pd[3] = hva(big) | 7 | MT_WB | VMX_EPT_PAGE_SIZE;	/* GPA 6 MiB..8 MiB */
	CHECK_EQ(ept_translate(eptp(false), 0x600000 + 0x12345, EPT_ACC_WRITE, &r), 0);
	CHECK(r.host == big + 0x12345, "2M host %p", r.host);
	CHECK_EQ(r.page_size, 2u << 20);
	/* Bits 20:12 of a 2 MiB leaf are reserved. */
	pd[3] |= 1ull << 12;
	CHECK_EQ(ept_translate(eptp(false), 0x600000, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
	/* 1 GiB leaf: the host address's bits 29:0 come from the GPA. */
	pdpt[1] = 0x40000000ull | 7 | MT_WB | VMX_EPT_PAGE_SIZE;
	CHECK_EQ(ept_translate(eptp(false), 0x40000000ull + 0x1234567, EPT_ACC_READ, &r), 0);
	CHECK_EQ(hva(r.host), 0x40000000ull + 0x1234567);
	CHECK_EQ(r.page_size, 1u << 30);
	pdpt[1] |= 1ull << 20;
	CHECK_EQ(ept_translate(eptp(false), 0x40000000ull, EPT_ACC_READ, &r), EXIT_REASON_EPT_MISCONFIG);
	free(big);
}

static void accessed_dirty(void)
{
	struct ept_result r;
	u64 *pte;

	setup();
	pte = map4k(0x5000, ram, 7);
	/* Disabled in the EPTP: no flags written. */
	CHECK_EQ(ept_translate(eptp(false), 0x5000, EPT_ACC_WRITE, &r), 0);
	CHECK_EQ(*pte & (VMX_EPT_ACCESS_BIT | VMX_EPT_DIRTY_BIT), 0);
	CHECK_EQ(pml4[0] & VMX_EPT_ACCESS_BIT, 0);
	/* Enabled: a read sets A on every level, not D. */
	CHECK_EQ(ept_translate(eptp(true), 0x5000, EPT_ACC_READ, &r), 0);
	CHECK(*pte & VMX_EPT_ACCESS_BIT, "leaf A");
	CHECK(pml4[0] & VMX_EPT_ACCESS_BIT, "PML4E A");
	CHECK_EQ(*pte & VMX_EPT_DIRTY_BIT, 0);
	/* A write sets D on the leaf. */
	CHECK_EQ(ept_translate(eptp(true), 0x5000, EPT_ACC_WRITE, &r), 0);
	CHECK(*pte & VMX_EPT_DIRTY_BIT, "leaf D");
	CHECK_EQ(pml4[0] & VMX_EPT_DIRTY_BIT, 0);
	/* A violating write sets no flag. */
	*pte = hva(ram) | VMX_EPT_READABLE_MASK | MT_WB;
	CHECK_EQ(ept_translate(eptp(true), 0x5000, EPT_ACC_WRITE, &r), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(*pte & (VMX_EPT_ACCESS_BIT | VMX_EPT_DIRTY_BIT), 0);
}

static void invept_invvpid(void)
{
	struct vmx_env env;

	CHECK_EQ(env_setup(&env), 0);
	pml4 = test_pages(1);
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, eptp(true), 0), VMX_SUCCEED);
	CHECK_EQ(__invept(VMX_EPT_EXTENT_GLOBAL, 0, 0), VMX_SUCCEED);
	/* Type 0 and 3 are not supported; a single-context EPTP must be valid. */
	CHECK_EQ(__invept(0, eptp(false), 0), VMX_FAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	CHECK_EQ(__invept(3, eptp(false), 0), VMX_FAIL_VALID);
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, hva(pml4) | 1 | VMX_EPTP_PWL_4, 0), VMX_FAIL_VALID);
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, hva(pml4) | VMX_EPTP_MT_WB, 0), VMX_FAIL_VALID);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, 1, 0x1000), VMX_SUCCEED);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, 0, 0x1000), VMX_FAIL_VALID);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, 1, 0x0000800000000000ull), VMX_FAIL_VALID);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 0, 0), VMX_FAIL_VALID);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 5, 0), VMX_SUCCEED);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0), VMX_SUCCEED);
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_NON_GLOBAL, 5, 0), VMX_SUCCEED);
	CHECK_EQ(__invvpid(4, 5, 0), VMX_FAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	env_teardown(&env);
	/* Outside VMX operation both #UD. */
	CHECK_EQ(__invept(VMX_EPT_EXTENT_GLOBAL, 0, 0), VMX_FAULT_UD);
}

int main(void)
{
	RUN_TEST(translate_rwx);
	RUN_TEST(violation_not_present);
	RUN_TEST(violation_permissions);
	RUN_TEST(execute_only);
	RUN_TEST(misconfigurations);
	RUN_TEST(large_pages);
	RUN_TEST(accessed_dirty);
	RUN_TEST(invept_invvpid);
	test_pages_free_all();
	return 0;
}
