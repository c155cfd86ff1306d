// SPDX-License-Identifier: MIT
/*
 * The IA32_VMX_* capability MSRs as KVM reads them (capabilities.h,
 * setup_vmcs_config()), and that they are the rules VM entry enforces.
 */
#include "../test.h"
#include "vmx_util.h"

static void basic_msr(void)
{
	u64 basic;

	CHECK_EQ(rdmsrl_vmx_cap(MSR_IA32_VMX_BASIC, &basic), 0);
	CHECK_EQ(basic & BIT(31), 0);				/* revision id bit 31 is 0 */
	CHECK_EQ((basic >> 32) & 0x1fff, 4096);			/* VMCS size */
	CHECK_EQ(basic & VMX_BASIC_32BIT_PHYS_ADDR_ONLY, 0);
	CHECK_EQ((basic >> VMX_BASIC_MEM_TYPE_SHIFT) & 0xf, VMX_BASIC_MEM_TYPE_WB);
	CHECK(basic & VMX_BASIC_TRUE_CTLS, "true controls");
	CHECK_EQ(rdmsrl_vmx_cap(MSR_IA32_VMX_VMFUNC, &basic), -1);	/* no VM functions */
	CHECK_EQ(rdmsrl_vmx_cap(0x10, &basic), -1);
}

static void control_msrs_consistent(void)
{
	static const u32 msrs[] = {
		MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_EXIT_CTLS,
		MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_PROCBASED_CTLS2,
		MSR_IA32_VMX_TRUE_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		MSR_IA32_VMX_TRUE_EXIT_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(msrs); i++) {
		u64 v;

		CHECK_EQ(rdmsrl_vmx_cap(msrs[i], &v), 0);
		/* A must-be-1 bit is also allowed to be 1. */
		CHECK((u32)v & ~(u32)(v >> 32) ? 0 : 1, "msr %#x: %#llx", msrs[i], (unsigned long long)v);
	}
	/* The TRUE MSRs relax exactly the documented default-1 bits (SDM A.3.2). */
	{
		u64 p, tp;

		rdmsrl_vmx_cap(MSR_IA32_VMX_PROCBASED_CTLS, &p);
		rdmsrl_vmx_cap(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &tp);
		CHECK_EQ((u32)p & ~(u32)tp, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
		CHECK_EQ((u32)p, CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR);
	}
}

static void kvm_config(void)
{
	struct vmcs_config c;

	CHECK_EQ(test_setup_vmcs_config(&c), 0);
	CHECK(cpu_has_vmx_ept(&c), "EPT");
	CHECK(cpu_has_vmx_unrestricted_guest(&c), "unrestricted guest");
	CHECK(cpu_has_vmx_vpid(&c), "VPID");
	CHECK(cpu_has_vmx_preemption_timer(&c), "preemption timer");
	CHECK(cpu_has_virtual_nmis(&c), "virtual NMIs");
	CHECK(cpu_has_load_ia32_efer(&c), "load EFER");
	CHECK(cpu_has_vmx_ept_execute_only(&c), "EPT execute-only");
	CHECK(cpu_has_vmx_ept_ad_bits(&c), "EPT A/D");
	CHECK(cpu_has_vmx_ept_2m_page(&c) && cpu_has_vmx_ept_1g_page(&c), "EPT large pages");
	CHECK(cpu_has_vmx_invept_context(&c) && cpu_has_vmx_invept_global(&c), "INVEPT");
	CHECK(cpu_has_vmx_invvpid_single(&c) && cpu_has_vmx_invvpid_global(&c), "INVVPID");
	CHECK(cpu_has_vmx_msr_bitmap(&c), "MSR bitmaps");
	/* Not implemented, so not advertised: KVM's optional asks are dropped. */
	CHECK(c.cpu_based_exec_ctrl & CPU_BASED_TPR_SHADOW, "TPR shadow");
	CHECK_EQ(c.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0);
	CHECK(c.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_PML, "PML");
	CHECK_EQ(c.basic_revision_id, VMX_VMCS_REVISION_ID);
	CHECK_EQ(vmx_misc_preemption_timer_rate(&c), 5);
	/* A required control the processor lacks makes setup fail, as in KVM. */
	CHECK_EQ(setup_vmcs_config(&c, 0, 0, CPU_BASED_MONITOR_TRAP_FLAG, 0, 0, 0, 0, 0, 0, 0), -EIO);
	CHECK_EQ(setup_vmcs_config(&c, 0, 0, 0, 0, SECONDARY_EXEC_ENABLE_EPT, 0, 0, 0, 0, 0), -EIO);
}

static void host_cpuid(void)
{
	u32 a, b, c, d;

	/* Without a bound processor too: KVM_GET_SUPPORTED_CPUID runs on no vCPU. */
	vmx_cpu_bind(NULL);
	cpuid_count(0, 0, &a, &b, &c, &d);
	CHECK(a >= 1, "max leaf %u", a);
	CHECK_EQ(b, 0x756e6547);			/* "Genu" */
	cpuid_count(1, 0, &a, &b, &c, &d);
	CHECK(c & BIT(5), "CPUID.1:ECX.VMX");
}

static void fixed_crs(void)
{
	u64 f0, f1;

	rdmsrl_vmx_cap(MSR_IA32_VMX_CR0_FIXED0, &f0);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR0_FIXED1, &f1);
	CHECK_EQ(f0, 0x80000021);
	CHECK_EQ(f0 & ~f1, 0);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR4_FIXED0, &f0);
	rdmsrl_vmx_cap(MSR_IA32_VMX_CR4_FIXED1, &f1);
	CHECK_EQ(f0, BIT(13));
	CHECK_EQ(f0 & ~f1, 0);
}

int main(void)
{
	RUN_TEST(basic_msr);
	RUN_TEST(control_msrs_consistent);
	RUN_TEST(kvm_config);
	RUN_TEST(fixed_crs);
	RUN_TEST(host_cpuid);
	return 0;
}
