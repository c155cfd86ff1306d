// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "vmx_util.h"

static void *allocs[1024];
static unsigned nallocs;

void *test_pages(unsigned n)
{
	void *p = aligned_alloc(4096, 4096ul * n);

	if (!p)
		abort();
	memset(p, 0, 4096ul * n);
	if (nallocs == ARRAY_SIZE(allocs))
		abort();	/* a test allocating without bound */
	allocs[nallocs++] = p;
	return p;
}

void test_ept_identity(u64 *tables, u8 *mem, unsigned npages)
{
	u64 *pml4 = tables, *pdpt = tables + 512, *pd = tables + 1024, *pte = tables + 1536;

	memset(tables, 0, 4 * 4096);
	pml4[0] = hva(pdpt) | 7;
	pdpt[0] = hva(pd) | 7;
	pd[0] = hva(pte) | 7;
	for (unsigned n = 0; n < npages && n < 512; n++)
		pte[n] = hva(mem + n * 4096ul) | 7 | (6ull << VMX_EPT_MT_SHIFT);	/* WB */
}

void test_pages_free_all(void)
{
	while (nallocs)
		free(allocs[--nallocs]);
}

void *vmx_region(const struct vmcs_config *conf)
{
	u32 *p = test_pages(1);

	p[0] = conf->basic_revision_id;
	return p;
}

int test_setup_vmcs_config(struct vmcs_config *c)
{
	return setup_vmcs_config(c, TEST_MIN_PIN, TEST_OPT_PIN, TEST_MIN_PROC, TEST_OPT_PROC,
				 TEST_MIN_PROC2, TEST_OPT_PROC2, TEST_MIN_EXIT, TEST_OPT_EXIT,
				 TEST_MIN_ENTRY, TEST_OPT_ENTRY);
}

int env_setup(struct vmx_env *e)
{
	memset(e, 0, sizeof(*e));
	e->lp = vmx_cpu_create();
	if (!e->lp)
		return -1;
	vmx_cpu_bind(e->lp);
	if (test_setup_vmcs_config(&e->conf))
		return -1;
	e->vmxon = vmx_region(&e->conf);
	e->vmcs = vmx_region(&e->conf);
	cr4_set_bits(BIT(13));	/* X86_CR4_VMXE */
	if (cpu_vmxon(e->vmxon) != VMX_SUCCEED)
		return -1;
	if (vmcs_clear(e->vmcs) != VMX_SUCCEED || vmcs_load(e->vmcs) != VMX_SUCCEED)
		return -1;
	return 0;
}

void env_teardown(struct vmx_env *e)
{
	cpu_vmxoff();
	vmx_cpu_destroy(e->lp);
	test_pages_free_all();
}

static void guest_seg(u32 sel_field, u16 sel, u32 ar)
{
	u32 i = (sel_field - GUEST_ES_SELECTOR) / 2;

	__vmcs_writel(GUEST_ES_SELECTOR + 2 * i, sel);
	__vmcs_writel(GUEST_ES_BASE + 2 * i, 0);
	__vmcs_writel(GUEST_ES_LIMIT + 2 * i, 0xffffffff);
	__vmcs_writel(GUEST_ES_AR_BYTES + 2 * i, ar);
}

void vmcs_setup_guest(struct vmx_env *e, u64 eptp, bool long_mode, u64 rip)
{
	const struct vmcs_config *c = &e->conf;
	u32 entry = c->vmentry_ctrl & ~VM_ENTRY_IA32E_MODE;
	u32 proc = c->cpu_based_exec_ctrl & ~CPU_BASED_TPR_SHADOW;
	u32 proc2 = c->cpu_based_2nd_exec_ctrl &
		    ~(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_ENABLE_PML);
	/* KVM turns PML on only while dirty logging (vmx_update_cpu_dirty_logging()). */

	if (long_mode)
		entry |= VM_ENTRY_IA32E_MODE;
	/* Controls, as vmx.c:init_vmcs() */
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, c->pin_based_exec_ctrl & ~PIN_BASED_VMX_PREEMPTION_TIMER);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc & ~CPU_BASED_USE_MSR_BITMAPS);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2);
	vmcs_write32(VM_EXIT_CONTROLS, c->vmexit_ctrl);
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
	vmcs_write64(EPT_POINTER, eptp);
	vmcs_write16(VIRTUAL_PROCESSOR_ID, 1);
	vmcs_write32(EXCEPTION_BITMAP, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ull);

	/* Host state: a 64-bit host (vmx_set_constant_host_state()) */
	vmcs_writel(HOST_CR0, 0x80050033ul);
	vmcs_writel(HOST_CR3, 0x1000);
	vmcs_writel(HOST_CR4, 0x20a0 | BIT(5));
	vmcs_write16(HOST_CS_SELECTOR, 0x10);
	vmcs_write16(HOST_SS_SELECTOR, 0x18);
	vmcs_write16(HOST_DS_SELECTOR, 0);
	vmcs_write16(HOST_ES_SELECTOR, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, 0x40);
	vmcs_writel(HOST_TR_BASE, 0xfffffe0000003000ul);
	vmcs_writel(HOST_GDTR_BASE, 0xfffffe0000001000ul);
	vmcs_writel(HOST_IDTR_BASE, 0xfffffe0000000000ul);
	vmcs_writel(HOST_RIP, 0xffffffff81000000ul);
	vmcs_writel(HOST_RSP, 0xffffc90000004000ul);
	vmcs_write64(HOST_IA32_PAT, 0x0007040600070406ull);
	vmcs_write64(HOST_IA32_EFER, 0xd01);

	/* Guest state */
	if (long_mode) {
		vmcs_writel(GUEST_CR0, 0x80050033ul);
		vmcs_writel(GUEST_CR4, 0x2020);	/* PAE, VMXE */
		vmcs_write64(GUEST_IA32_EFER, 0x500);	/* LME, LMA */
		guest_seg(GUEST_CS_SELECTOR, 0x8, 0xa09b);	/* L, P, S, code */
	} else {
		vmcs_writel(GUEST_CR0, 0x00000031ul);	/* PE, ET, NE */
		vmcs_writel(GUEST_CR4, 0x2000);
		vmcs_write64(GUEST_IA32_EFER, 0);
		guest_seg(GUEST_CS_SELECTOR, 0x8, 0xc09b);	/* 32-bit code */
	}
	vmcs_writel(GUEST_CR3, 0);
	guest_seg(GUEST_SS_SELECTOR, 0x10, 0xc093);
	guest_seg(GUEST_DS_SELECTOR, 0x10, 0xc093);
	guest_seg(GUEST_ES_SELECTOR, 0x10, 0xc093);
	guest_seg(GUEST_FS_SELECTOR, 0x10, 0xc093);
	guest_seg(GUEST_GS_SELECTOR, 0x10, 0xc093);
	vmcs_write16(GUEST_LDTR_SELECTOR, 0);
	vmcs_writel(GUEST_LDTR_BASE, 0);
	vmcs_write32(GUEST_LDTR_LIMIT, 0xffff);
	vmcs_write32(GUEST_LDTR_AR_BYTES, 0x10082);	/* unusable */
	vmcs_write16(GUEST_TR_SELECTOR, 0x18);
	vmcs_writel(GUEST_TR_BASE, 0);
	vmcs_write32(GUEST_TR_LIMIT, 0x67);
	vmcs_write32(GUEST_TR_AR_BYTES, 0x8b);	/* busy TSS */
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_DR7, 0x400);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write64(GUEST_IA32_PAT, 0x0007040600070406ull);
	vmcs_writel(GUEST_RSP, 0x8000);
	vmcs_writel(GUEST_RIP, rip);
	vmcs_writel(GUEST_RFLAGS, 0x2);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writel(GUEST_SYSENTER_ESP, 0);
	vmcs_writel(GUEST_SYSENTER_EIP, 0);
	vmcs_writel(CR0_GUEST_HOST_MASK, 0);
	vmcs_writel(CR4_GUEST_HOST_MASK, 0);
	vmcs_writel(CR0_READ_SHADOW, 0);
	vmcs_writel(CR4_READ_SHADOW, 0);
}
