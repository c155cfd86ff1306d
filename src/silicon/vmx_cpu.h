/* SPDX-License-Identifier: MIT */
/*
 * The VMX part of a logical processor: whether it is in VMX operation, the
 * VMXON and current-VMCS pointers, the controls cached at VM entry, and the
 * internal interface between vmx_insn.c, vmentry.c, vmexit.c, ept.c and
 * intercept.c.  Silicon-private; KVM sees it through src/x86/vmx/vmx_ops.h.
 *
 * "Physical addresses" given to VMX instructions (VMXON region, VMCS, EPTP,
 * bitmaps, MSR lists) are host addresses of this process: the memory KVM
 * allocated for them, exactly as real KVM hands the CPU physical addresses of
 * its own pages.
 */
#ifndef SILICON_VMX_CPU_H
#define SILICON_VMX_CPU_H

#include "silicon/vmcs.h"

struct cpu;

#define VMX_INVALID_PTR (~0ull)

/**
 * struct vmx_ctls - VM-execution, exit and entry controls cached at VM entry
 *
 * Like Bochs' VMCS_CACHE: the processor reads the controls once per entry
 * (SDM 27.2 checks them there) and decides every intercept from this copy.
 * Secondary controls are 0 when the primary "activate secondary controls"
 * is 0 (SDM 25.6.2).
 */
struct vmx_ctls {
	u32 pin, proc, proc2, exit, entry;
	u32 exception_bitmap, pfec_mask, pfec_match;
	u32 cr3_target_count;
	u64 cr3_target[4];
	u64 cr0_mask, cr0_shadow, cr4_mask, cr4_shadow;
	u64 io_bitmap_a, io_bitmap_b, msr_bitmap;
	u64 eptp;
	u64 tsc_offset;
	u16 vpid;
};

/**
 * struct vmx_cpu - VMX state of one logical processor
 * @cpu: the logical processor (execution core) this belongs to; NULL in
 *	unit tests that exercise VMX instructions without a core
 * @vmxon: in VMX operation (after VMXON, before VMXOFF)
 * @guest_mode: in VMX non-root operation (between VM entry and VM exit)
 * @vmxon_ptr: the VMXON pointer
 * @vmcs_ptr: the current-VMCS pointer, VMX_INVALID_PTR when none
 * @root_cr0, @root_cr4: CR0/CR4 of VMX root operation, checked by VMXON
 *	and replaced with the host-state CR0/CR4 at every VM exit
 * @feature_control: IA32_FEATURE_CONTROL (locked, VMX outside SMX enabled)
 * @ctls: controls of the VMCS the processor is running, cached at entry
 */
struct vmx_cpu {
	struct cpu *cpu;
	bool vmxon;
	bool guest_mode;
	u64 vmxon_ptr;
	u64 vmcs_ptr;
	u64 root_cr0, root_cr4;
	u64 feature_control;
	struct vmx_ctls ctls;
};

static inline void *vmx_ptr(u64 pa)
{
	return (void *)(uintptr_t)pa;
}

static inline void *vmx_vmcs(const struct vmx_cpu *v)
{
	return v->vmcs_ptr == VMX_INVALID_PTR ? NULL : vmx_ptr(v->vmcs_ptr);
}

/* A "physical address" VMX accepts for a 4 KiB structure (SDM 31.3). */
static inline bool vmx_page_addr_valid(u64 pa)
{
	return pa && !(pa & 0xfff) && !(pa & VMX_PA_RSVD_MASK);
}

static inline bool vmx_is_canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;
}

/* vmx_caps.c */
void vmx_cpu_init(struct vmx_cpu *v, struct cpu *cpu);
int vmx_cap_msr_read(u32 msr, u64 *val);
u64 vmx_cr0_fixed0(void);
u64 vmx_cr0_fixed1(void);
u64 vmx_cr4_fixed0(void);
u64 vmx_cr4_fixed1(void);
/* A control value is allowed by a capability MSR's allowed-0/allowed-1 halves. */
static inline bool vmx_ctl_allowed(u32 val, u64 cap)
{
	u32 must1 = (u32)cap, may1 = (u32)(cap >> 32);

	return (val & must1) == must1 && !(val & ~may1);
}

/* vmx_insn.c: VMX instructions executed in VMX root operation. */
enum vmx_status vmx_vmfail(struct vmx_cpu *v, u32 error);
enum vmx_status vmx_vmxon(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmxoff(struct vmx_cpu *v);
enum vmx_status vmx_vmclear(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmptrld(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmptrst(struct vmx_cpu *v, u64 *pa);
enum vmx_status vmx_vmread(struct vmx_cpu *v, u32 enc, u64 *val);
enum vmx_status vmx_vmwrite(struct vmx_cpu *v, u32 enc, u64 val);
enum vmx_status vmx_invept(struct vmx_cpu *v, u64 type, u64 eptp);
enum vmx_status vmx_invvpid(struct vmx_cpu *v, u64 type, u16 vpid, u64 gla);

/* ept.c */
bool vmx_eptp_valid(u64 eptp);

/* vmentry.c */
/**
 * vmx_entry_check() - the checks of VMLAUNCH/VMRESUME before guest state is
 * loaded (SDM 27.1-27.3), in the SDM's order
 * @launch: true for VMLAUNCH, false for VMRESUME
 * @qual: for an invalid-guest-state failure, the exit qualification
 *
 * Return: VMX_SUCCEED with *@exit_reason = 0 if entry may proceed;
 * VMX_FAIL_INVALID / VMX_FAIL_VALID (error in VM_INSTRUCTION_ERROR) /
 * VMX_FAULT_UD for instruction failures; or VMX_SUCCEED with *@exit_reason =
 * EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY and *@qual set
 * for a guest-state check failure (a failed VM entry, SDM 27.8).
 */
enum vmx_status vmx_entry_check(struct vmx_cpu *v, bool launch, u32 *exit_reason, u64 *qual);
int vmx_check_controls(struct vmx_cpu *v, const void *vmcs);
int vmx_check_host_state(struct vmx_cpu *v, const void *vmcs);
int vmx_check_guest_state(struct vmx_cpu *v, const void *vmcs, u64 *qual);
void vmx_cache_controls(struct vmx_ctls *c, const void *vmcs);

/* vmexit.c */
void vmx_load_host_state(struct vmx_cpu *v, const void *vmcs);
void vmx_entry_failed(struct vmx_cpu *v, u32 exit_reason, u64 qual);

#endif
