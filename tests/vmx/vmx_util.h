/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the VMX tests: they set up the processor the way KVM does,
 * through src/x86/vmx/vmx_ops.h and capabilities.h only.
 */
#ifndef TESTS_VMX_UTIL_H
#define TESTS_VMX_UTIL_H

#include "x86/vmx/capabilities.h"
#include "x86/vmx/vmx_ops.h"

struct vmx_env {
	struct vmx_cpu *lp;
	void *vmxon;
	void *vmcs;
	struct vmcs_config conf;
	u64 regs[16];
};

/* An EPT entry holds a host virtual address (where silicon would hold a host physical one). */
static inline u64 hva(const void *p)
{
	return (u64)(uintptr_t)p;
}

/* An EPTP for the 4-level tables at @pml4, write-back, with A/D bits if @ad. */
static inline u64 test_eptp_of(const u64 *pml4, bool ad)
{
	return hva(pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | (ad ? VMX_EPTP_AD_ENABLE_BIT : 0);
}

/*
 * @tables (4 pages: PML4, PDPT, PD, PT, from test_pages(4)) rebuilt as an
 * EPT mapping GPA n * 4 KiB -> @mem + n * 4 KiB, read/write/execute,
 * write-back, for n < @npages (at most 512); the rest not present.  The
 * EPTP is test_eptp_of(@tables, ad); the PT (for a case to change) is
 * @tables + 3 * 512.
 */
void test_ept_identity(u64 *tables, u8 *mem, unsigned npages);

/* A zeroed, 4 KiB-aligned page of @n pages, freed by env_teardown(). */
void *test_pages(unsigned n);
void test_pages_free_all(void);

/* A VMCS / VMXON region: a page with the revision identifier first. */
void *vmx_region(const struct vmcs_config *conf);

/* Power up a processor, bind it, VMXON, VMCLEAR + VMPTRLD a VMCS. Return: 0 or -1. */
int env_setup(struct vmx_env *e);
void env_teardown(struct vmx_env *e);

/*
 * Fill the current VMCS as KVM would for a guest at @rip: controls from
 * setup_vmcs_config() (EPT + unrestricted guest, with @eptp), a 64-bit host,
 * and a guest in 64-bit mode (@long_mode) or flat 32-bit protected mode
 * without paging.
 */
void vmcs_setup_guest(struct vmx_env *e, u64 eptp, bool long_mode, u64 rip);

/* KVM's control choices (a subset of Linux's setup_vmcs_config min/opt). */
#define TEST_MIN_PIN  (PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING)
#define TEST_OPT_PIN  (PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER)
#define TEST_MIN_PROC (CPU_BASED_HLT_EXITING | CPU_BASED_CR8_LOAD_EXITING | \
		       CPU_BASED_CR8_STORE_EXITING | CPU_BASED_UNCOND_IO_EXITING | \
		       CPU_BASED_MOV_DR_EXITING | CPU_BASED_USE_TSC_OFFSETTING | \
		       CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING | \
		       CPU_BASED_INVLPG_EXITING | CPU_BASED_RDPMC_EXITING)
#define TEST_OPT_PROC (CPU_BASED_TPR_SHADOW | CPU_BASED_USE_MSR_BITMAPS | \
		       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define TEST_MIN_PROC2 0
#define TEST_OPT_PROC2 (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST | \
			SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_WBINVD_EXITING | \
			SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | \
			SECONDARY_EXEC_ENABLE_PML)
#define TEST_MIN_EXIT (VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_ACK_INTR_ON_EXIT | \
		       VM_EXIT_HOST_ADDR_SPACE_SIZE)
#define TEST_OPT_EXIT (VM_EXIT_LOAD_IA32_PAT | VM_EXIT_LOAD_IA32_EFER | \
		       VM_EXIT_SAVE_IA32_PAT | VM_EXIT_SAVE_IA32_EFER)
#define TEST_MIN_ENTRY VM_ENTRY_LOAD_DEBUG_CONTROLS
#define TEST_OPT_ENTRY (VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER)

int test_setup_vmcs_config(struct vmcs_config *c);

#endif
