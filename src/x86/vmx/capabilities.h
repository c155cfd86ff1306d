/* SPDX-License-Identifier: MIT */
/*
 * struct vmcs_config: what the processor's VMX offers, read from the
 * IA32_VMX_* capability MSRs (the idea of Linux's setup_vmcs_config() and
 * capabilities.h), and the cpu_has_vmx_*() predicates KVM decides with.
 */
#ifndef USERKVM_X86_VMX_CAPABILITIES_H
#define USERKVM_X86_VMX_CAPABILITIES_H

#include <errno.h>

#include "x86/vmx/vmx_ops.h"

struct vmcs_config {
	u32 basic_revision_id;
	u32 size;
	u64 basic;
	u32 pin_based_exec_ctrl;
	u32 cpu_based_exec_ctrl;
	u32 cpu_based_2nd_exec_ctrl;
	u32 vmexit_ctrl;
	u32 vmentry_ctrl;
	u64 misc;
	u64 ept_vpid_cap;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/*
 * adjust_vmx_controls() - fold @min (required) and @opt (wanted if
 * available) into a control value the capability MSR @msr allows.
 * Return: 0, or -EIO if a required control is not available.
 */
static inline int adjust_vmx_controls(u32 min, u32 opt, u32 msr, u32 *result)
{
	u64 cap;
	u32 ctl = min | opt;

	if (rdmsrl_vmx_cap(msr, &cap))
		return -EIO;
	ctl &= (u32)(cap >> 32);	/* bit == 0 in high word ==> must be zero */
	ctl |= (u32)cap;		/* bit == 1 in low word  ==> must be one  */
	if (min & ~ctl)
		return -EIO;
	*result = ctl;
	return 0;
}

/**
 * setup_vmcs_config() - build @conf from the capability MSRs
 * @min_*: controls KVM cannot run without; @opt_*: controls it uses if present
 *
 * Uses the TRUE_* MSRs when IA32_VMX_BASIC[55] says they exist (then the
 * default-1 controls that may be 0 can be cleared, SDM A.2).
 *
 * Return: 0, or -EIO if a required control is missing or VMX is disabled.
 */
static inline int setup_vmcs_config(struct vmcs_config *conf,
				    u32 min_pin, u32 opt_pin, u32 min_proc, u32 opt_proc,
				    u32 min_proc2, u32 opt_proc2, u32 min_exit, u32 opt_exit,
				    u32 min_entry, u32 opt_entry)
{
	u64 feat;
	bool true_ctls;
	int r;

	*conf = (struct vmcs_config){0};
	if (rdmsrl_vmx_cap(MSR_IA32_FEATURE_CONTROL, &feat) ||
	    !(feat & FEAT_CTL_LOCKED) || !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -EIO;
	if (rdmsrl_vmx_cap(MSR_IA32_VMX_BASIC, &conf->basic))
		return -EIO;
	true_ctls = conf->basic & VMX_BASIC_TRUE_CTLS;
	r = adjust_vmx_controls(min_pin, opt_pin, true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				MSR_IA32_VMX_PINBASED_CTLS, &conf->pin_based_exec_ctrl);
	if (!r)
		r = adjust_vmx_controls(min_proc, opt_proc, true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					MSR_IA32_VMX_PROCBASED_CTLS, &conf->cpu_based_exec_ctrl);
	if (!r && (conf->cpu_based_exec_ctrl & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		r = adjust_vmx_controls(min_proc2, opt_proc2, MSR_IA32_VMX_PROCBASED_CTLS2,
					&conf->cpu_based_2nd_exec_ctrl);
	else if (!r && min_proc2)
		r = -EIO;
	if (!r)
		r = adjust_vmx_controls(min_exit, opt_exit, true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
					MSR_IA32_VMX_EXIT_CTLS, &conf->vmexit_ctrl);
	if (!r)
		r = adjust_vmx_controls(min_entry, opt_entry, true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					MSR_IA32_VMX_ENTRY_CTLS, &conf->vmentry_ctrl);
	if (r)
		return r;
	conf->basic_revision_id = (u32)conf->basic & 0x7fffffffu;
	conf->size = (conf->basic >> VMX_BASIC_VMCS_SIZE_SHIFT) & 0x1fff;
	rdmsrl_vmx_cap(MSR_IA32_VMX_MISC, &conf->misc);
	if (conf->cpu_based_2nd_exec_ctrl & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID))
		rdmsrl_vmx_cap(MSR_IA32_VMX_EPT_VPID_CAP, &conf->ept_vpid_cap);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR0_FIXED0, &conf->cr0_fixed0);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR0_FIXED1, &conf->cr0_fixed1);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR4_FIXED0, &conf->cr4_fixed0);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR4_FIXED1, &conf->cr4_fixed1);
	return 0;
}

static inline bool cpu_has_vmx_ept(const struct vmcs_config *c)
{
	return c->cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_EPT;
}

static inline bool cpu_has_vmx_unrestricted_guest(const struct vmcs_config *c)
{
	return c->cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_UNRESTRICTED_GUEST;
}

static inline bool cpu_has_vmx_vpid(const struct vmcs_config *c)
{
	return c->cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_VPID;
}

static inline bool cpu_has_vmx_preemption_timer(const struct vmcs_config *c)
{
	return c->pin_based_exec_ctrl & PIN_BASED_VMX_PREEMPTION_TIMER;
}

static inline bool cpu_has_virtual_nmis(const struct vmcs_config *c)
{
	return c->pin_based_exec_ctrl & PIN_BASED_VIRTUAL_NMIS;
}

static inline bool cpu_has_vmx_msr_bitmap(const struct vmcs_config *c)
{
	return c->cpu_based_exec_ctrl & CPU_BASED_USE_MSR_BITMAPS;
}

static inline bool cpu_has_load_ia32_efer(const struct vmcs_config *c)
{
	return (c->vmentry_ctrl & VM_ENTRY_LOAD_IA32_EFER) && (c->vmexit_ctrl & VM_EXIT_LOAD_IA32_EFER);
}

static inline bool cpu_has_vmx_ept_execute_only(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_EXECUTE_ONLY_BIT;
}

static inline bool cpu_has_vmx_ept_ad_bits(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_AD_BIT;
}

static inline bool cpu_has_vmx_ept_2m_page(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_2MB_PAGE_BIT;
}

static inline bool cpu_has_vmx_ept_1g_page(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_1GB_PAGE_BIT;
}

static inline bool cpu_has_vmx_invept_context(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_EXTENT_CONTEXT_BIT;
}

static inline bool cpu_has_vmx_invept_global(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_EPT_EXTENT_GLOBAL_BIT;
}

static inline bool cpu_has_vmx_invvpid_single(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
}

static inline bool cpu_has_vmx_invvpid_global(const struct vmcs_config *c)
{
	return c->ept_vpid_cap & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT;
}

static inline u64 vmx_misc_preemption_timer_rate(const struct vmcs_config *c)
{
	return c->misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK;
}

#endif
