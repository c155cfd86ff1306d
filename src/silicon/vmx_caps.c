// SPDX-License-Identifier: MIT
/*
 * The IA32_VMX_* capability MSRs (SDM Appendix A): what this processor's VMX
 * implements, and nothing more.  Every allowed-1 bit below is a feature
 * vmentry.c/vmexit.c/intercept.c/ept.c implement; the checks at VM entry
 * use the same values, so a control this file does not offer fails entry
 * with VMXERR_ENTRY_INVALID_CONTROL_FIELD.
 */
#include "silicon/vmx_cpu.h"

/* Must-be-one ("default1") bits of each control, per the TRUE_* MSRs. */
#define PIN_MUST1   PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR
#define PROC_MUST1  (CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR & \
		     ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING))
#define EXIT_MUST1  (VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_EXIT_SAVE_DEBUG_CONTROLS)
#define ENTRY_MUST1 (VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_ENTRY_LOAD_DEBUG_CONTROLS)

#define PIN_MAY1 (PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR | PIN_BASED_EXT_INTR_MASK | \
		  PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS | \
		  PIN_BASED_VMX_PREEMPTION_TIMER)

#define PROC_MAY1 (CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR | \
		   CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_USE_TSC_OFFSETTING | \
		   CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING | \
		   CPU_BASED_MWAIT_EXITING | CPU_BASED_RDPMC_EXITING | \
		   CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING | \
		   CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR8_LOAD_EXITING | \
		   CPU_BASED_CR8_STORE_EXITING | CPU_BASED_TPR_SHADOW | \
		   CPU_BASED_NMI_WINDOW_EXITING | \
		   CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING | \
		   CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS | \
		   CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING | \
		   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)

#define PROC2_MAY1 (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_RDTSCP | \
		    SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_WBINVD_EXITING | \
		    SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_ENABLE_INVPCID | \
		    SECONDARY_EXEC_ENABLE_PML | SECONDARY_EXEC_DESC | SECONDARY_EXEC_TSC_SCALING)

#define EXIT_MAY1 (VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR | VM_EXIT_HOST_ADDR_SPACE_SIZE | \
		   VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_PAT | \
		   VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER | \
		   VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)

#define ENTRY_MAY1 (VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR | VM_ENTRY_IA32E_MODE | \
		    VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER)

/* The VMX-preemption timer counts down by 1 every 2^5 TSC ticks. */
#define VMX_PREEMPTION_TIMER_RATE VMX_TIMER_RATE

#define CTL(must1, may1) ((u64)(may1) << 32 | (u32)(must1))

u64 vmx_cr0_fixed0(void)
{
	return 0x80000021ull;	/* PG, NE, PE (PG/PE relaxed for unrestricted guests) */
}

u64 vmx_cr0_fixed1(void)
{
	return 0xffffffffull;
}

u64 vmx_cr4_fixed0(void)
{
	return BIT(13);		/* VMXE */
}

u64 vmx_cr4_fixed1(void)
{
	/* VME..OSXMMEXCPT, UMIP, VMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP */
	return 0x7ffull | BIT(11) | BIT(13) | BIT(16) | BIT(17) | BIT(18) | BIT(20) | BIT(21);
}

/**
 * vmx_cap_msr_read() - RDMSR of IA32_FEATURE_CONTROL or an IA32_VMX_* MSR
 *
 * Return: 0 with *@val, or -1 (RDMSR raises #GP) for an MSR this processor
 * does not have (IA32_VMX_VMFUNC: no VM functions).
 */
int vmx_cap_msr_read(u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_IA32_FEATURE_CONTROL:
		*val = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		return 0;
	case MSR_IA32_VMX_BASIC:
		*val = VMX_VMCS_REVISION_ID |
		       (u64)VMX_VMCS_SIZE << VMX_BASIC_VMCS_SIZE_SHIFT |
		       VMX_BASIC_MEM_TYPE_WB << VMX_BASIC_MEM_TYPE_SHIFT |
		       VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS;
		return 0;
	case MSR_IA32_VMX_PINBASED_CTLS:
		*val = CTL(PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, PIN_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
		*val = CTL(PIN_MUST1, PIN_MAY1);
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS:
		*val = CTL(CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR, PROC_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
		*val = CTL(PROC_MUST1, PROC_MAY1);
		return 0;
	case MSR_IA32_VMX_PROCBASED_CTLS2:
		*val = CTL(0, PROC2_MAY1);
		return 0;
	case MSR_IA32_VMX_EXIT_CTLS:
		*val = CTL(VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR, EXIT_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
		*val = CTL(EXIT_MUST1, EXIT_MAY1);
		return 0;
	case MSR_IA32_VMX_ENTRY_CTLS:
		*val = CTL(VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR, ENTRY_MAY1);
		return 0;
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
		*val = CTL(ENTRY_MUST1, ENTRY_MAY1);
		return 0;
	case MSR_IA32_VMX_MISC:
		*val = VMX_PREEMPTION_TIMER_RATE | VMX_MISC_SAVE_EFER_LMA |
		       VMX_MISC_ACTIVITY_HLT | 4ull << VMX_MISC_CR3_TARGET_SHIFT;
		return 0;
	case MSR_IA32_VMX_CR0_FIXED0:
		*val = vmx_cr0_fixed0();
		return 0;
	case MSR_IA32_VMX_CR0_FIXED1:
		*val = vmx_cr0_fixed1();
		return 0;
	case MSR_IA32_VMX_CR4_FIXED0:
		*val = vmx_cr4_fixed0();
		return 0;
	case MSR_IA32_VMX_CR4_FIXED1:
		*val = vmx_cr4_fixed1();
		return 0;
	case MSR_IA32_VMX_VMCS_ENUM:
		*val = VMCS_ENUM_MAX_INDEX << 1;
		return 0;
	case MSR_IA32_VMX_EPT_VPID_CAP:
		*val = VMX_EPT_EXECUTE_ONLY_BIT | VMX_EPT_PAGE_WALK_4_BIT |
		       VMX_EPTP_UC_BIT | VMX_EPTP_WB_BIT |
		       VMX_EPT_2MB_PAGE_BIT | VMX_EPT_1GB_PAGE_BIT |
		       VMX_EPT_INVEPT_BIT | VMX_EPT_AD_BIT |
		       VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT |
		       VMX_VPID_INVVPID_BIT | VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT |
		       VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT | VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT |
		       VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT;
		return 0;
	default:
		return -1;
	}
}

void vmx_cpu_init(struct vmx_cpu *v, struct cpu *cpu)
{
	*v = (struct vmx_cpu){
		.cpu = cpu,
		.vmxon_ptr = VMX_INVALID_PTR,
		.vmcs_ptr = VMX_INVALID_PTR,
		/* VMX root operation of a 64-bit host: PG, WP, NE, ET, MP, PE */
		.root_cr0 = 0x80050033ull,
		.root_cr3 = 0x1000,
		.root_cr4 = BIT(5) | BIT(7) | BIT(9) | BIT(10),	/* PAE PGE OSFXSR OSXMMEXCPT */
		.feature_control = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX,
	};
}
