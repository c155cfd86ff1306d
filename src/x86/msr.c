// SPDX-License-Identifier: MIT
/*
 * The MSR file: KVM_GET_MSRS/KVM_SET_MSRS on vCPUs, the MSR lists and the
 * feature MSRs of the system fd.
 *
 * KVM splits this between x86.c (kvm_get_msr_common/kvm_set_msr_common,
 * msr_io, the MSR lists) and the vendor module (vmx_get_msr/vmx_set_msr for
 * MSRs that live in the VMCS or are switched on VM entry).  The same split
 * is kept here, with the vendor half as static vmx_* functions; they move
 * to src/x86/vmx/vmx.c when the VMCS holds the guest state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm_host.h"
#include "x86/cpuid.h"
#include "x86/lapic.h"
#include "x86/x86.h"

#define MAX_IO_MSRS 256

struct msr_data {
	bool host_initiated;
	u32 index;
	u64 data;
};

enum kvm_msr_access { MSR_TYPE_R = 1, MSR_TYPE_W = 2 };

/*
 * The MSR lists (KVM_GET_MSR_INDEX_LIST): MSRs with guest state that a VMM
 * saves and restores.  msrs_to_save are the processor's MSRs KVM passes
 * on, emulated_msrs those KVM implements itself.  Only MSRs userkvm
 * implements are listed; KVM additionally lists PMU, MCE, SMM, Hyper-V,
 * kvmclock and vendor-specific MSRs, which come with those features.
 */
static const u32 msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_IA32_FEAT_CTL, MSR_TSC_AUX,
};

static const u32 emulated_msrs[] = {
	MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE, MSR_IA32_ARCH_CAPABILITIES,
	MSR_IA32_PERF_CAPABILITIES, MSR_IA32_MISC_ENABLE, MSR_SMI_COUNT,
	MSR_PLATFORM_INFO, MSR_MISC_FEATURES_ENABLES, MSR_IA32_POWER_CTL,
	MSR_IA32_UCODE_REV, MSR_K7_HWCR,
};

/* MSRs that enumerate features, i.e. are effectively CPUID leaves. */
static const u32 msr_based_features[] = {
	MSR_IA32_UCODE_REV, MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_PERF_CAPABILITIES,
	MSR_PLATFORM_INFO,
};

/* The processor's microcode revision (what RDMSR 0x8b returns on it). */
#define PROCESSOR_UCODE_REV	0x100000000ull

static bool kvm_is_advertised_msr(u32 msr)
{
	for (size_t i = 0; i < ARRAY_SIZE(msrs_to_save); i++)
		if (msrs_to_save[i] == msr)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(emulated_msrs); i++)
		if (emulated_msrs[i] == msr)
			return true;
	return false;
}

typedef int (*msr_access_t)(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated);

/*
 * kvm_do_msr_access() - one MSR access with KVM's failure rules: a failed
 * read yields 0, and userspace may read, and write 0 to, any MSR KVM
 * advertises even where the vCPU model lacks the feature.  (KVM's
 * ignore_msrs module parameter is off, its default.)
 */
static int kvm_do_msr_access(struct kvm_vcpu *vcpu, u32 msr, u64 *data, bool host_initiated,
			     enum kvm_msr_access rw, msr_access_t msr_access_fn)
{
	int ret = msr_access_fn(vcpu, msr, data, host_initiated);

	if (ret && rw == MSR_TYPE_R)
		*data = 0;
	if (ret != KVM_MSR_RET_UNSUPPORTED)
		return ret;
	if (host_initiated && !*data && kvm_is_advertised_msr(msr))
		return 0;
	return ret;
}

/*
 * IA32_ARCH_CAPABILITIES as KVM reports it: the processor has none of the
 * speculative-execution bugs the bits describe, so every *_NO bit KVM
 * computes from the (absent) host bugs is set.  TAA_NO is not, as there
 * is no TSX.
 */
static u64 kvm_get_arch_capabilities(void)
{
	return ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_VMENTRY_L1DFLUSH | ARCH_CAP_SSB_NO |
	       ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_GDS_NO |
	       ARCH_CAP_RFDS_NO | ARCH_CAP_ITS_NO;
}

static int kvm_get_feature_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated)
{
	switch (index) {
	case MSR_IA32_ARCH_CAPABILITIES:
		*data = kvm_get_arch_capabilities();
		break;
	case MSR_IA32_PERF_CAPABILITIES:
		*data = 0;	/* no PMU is virtualized */
		break;
	case MSR_PLATFORM_INFO:
		*data = MSR_PLATFORM_INFO_CPUID_FAULT;
		break;
	case MSR_IA32_UCODE_REV:
		*data = PROCESSOR_UCODE_REV;
		break;
	default:
		/* vmx_get_feature_msr(): the VMX MSRs, only with nested VMX */
		return KVM_MSR_RET_UNSUPPORTED;
	}
	return 0;
}

static int do_get_feature_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	return kvm_do_msr_access(vcpu, index, data, true, MSR_TYPE_R, kvm_get_feature_msr);
}

/* kvm_pat_valid(): each entry is 0, 1, 4, 5, 6 or 7 (SDM 11.12.2). */
static bool kvm_pat_valid(u64 data)
{
	if (data & 0xF8F8F8F8F8F8F8F8ull)
		return false;
	return (data | ((data & 0x0202020202020202ull) << 1)) == data;
}

/* EFER bits KVM lets through: kvm_enable_efer_bits() for what the processor has. */
#define EFER_RESERVED_BITS (~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))

static int set_efer(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	u64 efer = msr_info->data;

	if (efer & EFER_RESERVED_BITS)
		return 1;
	if (!msr_info->host_initiated) {
		if (!kvm_valid_efer(vcpu, efer))
			return 1;
		if ((vcpu->arch.cr0 & X86_CR0_PG) &&
		    (vcpu->arch.efer & EFER_LME) != (efer & EFER_LME))
			return 1;
	}
	/* LMA is the processor's to set (on CR0.PG with LME), never WRMSR's */
	efer &= ~EFER_LMA;
	efer |= vcpu->arch.efer & EFER_LMA;
	vcpu->arch.efer = efer;
	return 0;
}

/*
 * The guest's MTRRs (KVM's mtrr.c): with EPT they only have to be stored,
 * as KVM ignores guest memory types.  8 variable ranges, the fixed ranges
 * and the default type (SDM 11.11).
 */
#define KVM_NR_VAR_MTRR 8

static u64 *find_mtrr(struct kvm_vcpu *vcpu, u32 msr)
{
	struct kvm_mtrr *m = &vcpu->arch.mtrr_state;

	if (msr >= MTRRphysBase_MSR(0) && msr <= MTRRphysMask_MSR(KVM_NR_VAR_MTRR - 1))
		return &m->var[msr - MTRRphysBase_MSR(0)];
	if (msr == MSR_MTRRfix64K_00000)
		return &m->fixed_64k;
	if (msr == MSR_MTRRfix16K_80000 || msr == MSR_MTRRfix16K_A0000)
		return &m->fixed_16k[msr - MSR_MTRRfix16K_80000];
	if (msr >= MSR_MTRRfix4K_C0000 && msr <= MSR_MTRRfix4K_F8000)
		return &m->fixed_4k[msr - MSR_MTRRfix4K_C0000];
	if (msr == MSR_MTRRdefType)
		return &m->deftype;
	return NULL;
}

/* UC, WC, WT, WP, WB: 0, 1, 4, 5, 6 */
static bool valid_mtrr_type(unsigned int t)
{
	return t < 8 && ((1u << t) & 0x73);
}

static bool kvm_mtrr_valid(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	u64 mask;

	if (msr == MSR_MTRRdefType) {
		if (data & ~0xcffull)
			return false;
		return valid_mtrr_type(data & 0xff);
	}
	if (msr >= MSR_MTRRfix64K_00000 && msr <= MSR_MTRRfix4K_F8000) {
		for (int i = 0; i < 8; i++)
			if (!valid_mtrr_type((data >> (i * 8)) & 0xff))
				return false;
		return true;
	}
	/* variable ranges: no address bits at or above MAXPHYADDR */
	mask = vcpu->arch.reserved_gpa_bits;
	if (!(msr & 1)) {
		if (!valid_mtrr_type(data & 0xff))
			return false;
		mask |= 0xf00;
	} else {
		mask |= 0x7ff;
	}
	return !(data & mask);
}

static int kvm_mtrr_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	u64 *mtrr = find_mtrr(vcpu, msr);

	if (!mtrr || !kvm_mtrr_valid(vcpu, msr, data))
		return 1;
	*mtrr = data;
	return 0;
}

static int kvm_mtrr_get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *pdata)
{
	u64 *mtrr;

	if (msr == MSR_MTRRcap) {
		/* SMRR 0, WC 1, FIX 1, VCNT 8 */
		*pdata = 0x500 | KVM_NR_VAR_MTRR;
		return 0;
	}
	mtrr = find_mtrr(vcpu, msr);
	if (!mtrr)
		return 1;
	*pdata = *mtrr;
	return 0;
}

static bool msr_is_mtrr(u32 msr)
{
	return (msr >= MTRRphysBase_MSR(0) && msr <= MSR_MTRRfix4K_F8000) ||
	       msr == MSR_MTRRdefType;
}

static int kvm_set_msr_common(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	u32 msr = msr_info->index;
	u64 data = msr_info->data;

	if (msr_is_mtrr(msr))
		return kvm_mtrr_set_msr(vcpu, msr, data);
	switch (msr) {
	case 0x00000079:	/* MSR_IA32_UCODE_WRITE */
	case 0xc0010117:	/* MSR_VM_HSAVE_PA */
	case 0xc001001f:	/* MSR_AMD64_NB_CFG */
	case 0xc0010020:	/* MSR_AMD64_PATCH_LOADER */
	case 0xc001102a:	/* MSR_AMD64_BU_CFG2 */
	case 0xc0011022:	/* MSR_AMD64_DC_CFG */
	case 0xc0011023:	/* MSR_AMD64_TW_CFG */
	case 0xc001102c:	/* MSR_F15H_EX_CFG */
	case 0xc001001b:	/* MSR_K7_CLK_CTL */
	case 0x0000011e:	/* MSR_IA32_BBL_CR_CTL3 */
		break;		/* writes are dropped */
	case MSR_IA32_UCODE_REV:
		if (msr_info->host_initiated)
			vcpu->arch.microcode_version = data;
		break;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!msr_info->host_initiated ||
		    !guest_cpu_cap_has(vcpu, X86_FEATURE_ARCH_CAPABILITIES))
			return KVM_MSR_RET_UNSUPPORTED;
		vcpu->arch.arch_capabilities = data;
		break;
	case MSR_IA32_PERF_CAPABILITIES:
		if (!msr_info->host_initiated || !guest_cpu_cap_has(vcpu, X86_FEATURE_PDCM))
			return KVM_MSR_RET_UNSUPPORTED;
		if (data)	/* ~kvm_caps.supported_perf_cap: nothing is supported */
			return 1;
		vcpu->arch.perf_capabilities = data;
		break;
	case MSR_EFER:
		return set_efer(vcpu, msr_info);
	case MSR_K7_HWCR:
		data &= ~(u64)0x40;	/* ignore flush filter disable */
		data &= ~(u64)0x100;	/* ignore ignne emulation enable */
		data &= ~(u64)0x8;	/* ignore TLB cache disable */
		/* McStatusWrEn and TscFreqSel may be set */
		if (data & ~(BIT_ULL(18) | BIT_ULL(24)))
			return 1;
		vcpu->arch.msr_hwcr = data;
		break;
	case 0xc0010058:	/* MSR_FAM10H_MMIO_CONF_BASE */
		if (data != 0)
			return 1;
		break;
	case MSR_IA32_CR_PAT:
		if (!kvm_pat_valid(data))
			return 1;
		vcpu->arch.pat = data;
		break;
	case MSR_IA32_APICBASE:
		return kvm_apic_set_base(vcpu, data, msr_info->host_initiated);
	case MSR_IA32_TSC_DEADLINE:
		/* kvm_set_lapic_tscdeadline_msr(): a no-op without a local APIC */
		if (vcpu->arch.apic)
			kvm_set_lapic_tscdeadline_msr(vcpu->arch.apic, data);
		break;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		/* x2APIC registers: #GP unless the in-kernel APIC is in x2APIC mode */
		if (!vcpu->arch.apic)
			return 1;
		return kvm_x2apic_msr_write(vcpu->arch.apic, msr_info->index, data);
	case MSR_IA32_TSC_ADJUST:
		if (guest_cpu_cap_has(vcpu, X86_FEATURE_TSC_ADJUST)) {
			if (!msr_info->host_initiated)
				vcpu->arch.l1_tsc_offset += data - vcpu->arch.ia32_tsc_adjust_msr;
			vcpu->arch.ia32_tsc_adjust_msr = data;
		}
		break;
	case MSR_IA32_MISC_ENABLE:
		/*
		 * Guest writes may not change the PMU read-only bits; host writes
		 * may set anything (KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT is on).
		 */
		if (!msr_info->host_initiated &&
		    ((vcpu->arch.ia32_misc_enable_msr ^ data) &
		     (MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)))
			return 1;
		vcpu->arch.ia32_misc_enable_msr = data;
		break;
	case MSR_IA32_POWER_CTL:
		vcpu->arch.msr_ia32_power_ctl = data;
		break;
	case MSR_IA32_TSC:
		if (msr_info->host_initiated) {
			kvm_synchronize_tsc(vcpu, &data);
		} else {
			u64 adj = data - kvm_read_l1_tsc(vcpu);

			vcpu->arch.l1_tsc_offset += adj;
			vcpu->arch.ia32_tsc_adjust_msr += adj;
		}
		break;
	case MSR_SMI_COUNT:
		if (!msr_info->host_initiated)
			return 1;
		vcpu->arch.smi_count = data;
		break;
	case MSR_PLATFORM_INFO:
		if (!msr_info->host_initiated)
			return 1;
		vcpu->arch.msr_platform_info = data;
		break;
	case MSR_MISC_FEATURES_ENABLES:
		if ((data & ~MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) ||
		    ((data & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) &&
		     !(vcpu->arch.msr_platform_info & MSR_PLATFORM_INFO_CPUID_FAULT)))
			return 1;
		vcpu->arch.msr_misc_features_enables = data;
		break;
	default:
		return KVM_MSR_RET_UNSUPPORTED;
	}
	return 0;
}

static int kvm_get_msr_common(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	if (msr_is_mtrr(msr_info->index) || msr_info->index == MSR_MTRRcap)
		return kvm_mtrr_get_msr(vcpu, msr_info->index, (u64 *)&msr_info->data);
	switch (msr_info->index) {
	case MSR_IA32_PLATFORM_ID:
	case 0x0000002a:	/* MSR_IA32_EBL_CR_POWERON */
	case 0x000001db:	/* MSR_IA32_LASTBRANCHFROMIP */
	case 0x000001dc:	/* MSR_IA32_LASTBRANCHTOIP */
	case 0x000001dd:	/* MSR_IA32_LASTINTFROMIP */
	case 0x000001de:	/* MSR_IA32_LASTINTTOIP */
	case 0xc0010010:	/* MSR_AMD64_SYSCFG */
	case 0xc0010112:	/* MSR_K8_TSEG_ADDR */
	case 0xc0010113:	/* MSR_K8_TSEG_MASK */
	case 0xc0010117:	/* MSR_VM_HSAVE_PA */
	case 0xc0010055:	/* MSR_K8_INT_PENDING_MSG */
	case 0xc001001f:	/* MSR_AMD64_NB_CFG */
	case 0xc0010058:	/* MSR_FAM10H_MMIO_CONF_BASE */
	case 0xc001102a:	/* MSR_AMD64_BU_CFG2 */
	case 0x00000199:	/* MSR_IA32_PERF_CTL */
	case 0xc0011022:	/* MSR_AMD64_DC_CFG */
	case 0xc0011023:	/* MSR_AMD64_TW_CFG */
	case 0xc001102c:	/* MSR_F15H_EX_CFG */
	case 0x00000606:	/* MSR_RAPL_POWER_UNIT */
	case 0x00000639:	/* MSR_PP0_ENERGY_STATUS */
	case 0x00000641:	/* MSR_PP1_ENERGY_STATUS */
	case 0x00000611:	/* MSR_PKG_ENERGY_STATUS */
	case 0x00000619:	/* MSR_DRAM_ENERGY_STATUS */
		msr_info->data = 0;
		break;
	case MSR_IA32_UCODE_REV:
		msr_info->data = vcpu->arch.microcode_version;
		break;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!guest_cpu_cap_has(vcpu, X86_FEATURE_ARCH_CAPABILITIES))
			return KVM_MSR_RET_UNSUPPORTED;
		msr_info->data = vcpu->arch.arch_capabilities;
		break;
	case MSR_IA32_PERF_CAPABILITIES:
		if (!guest_cpu_cap_has(vcpu, X86_FEATURE_PDCM))
			return KVM_MSR_RET_UNSUPPORTED;
		msr_info->data = vcpu->arch.perf_capabilities;
		break;
	case MSR_IA32_POWER_CTL:
		msr_info->data = vcpu->arch.msr_ia32_power_ctl;
		break;
	case MSR_IA32_TSC:
		msr_info->data = kvm_read_l1_tsc(vcpu);
		break;
	case MSR_IA32_CR_PAT:
		msr_info->data = vcpu->arch.pat;
		break;
	case 0x000000cd:	/* FSB frequency */
		msr_info->data = 3;
		break;
	case 0x0000002c:	/* MSR_EBC_FREQUENCY_ID */
		msr_info->data = 1 << 24;
		break;
	case MSR_IA32_APICBASE:
		msr_info->data = vcpu->arch.apic_base;
		break;
	case MSR_IA32_TSC_DEADLINE:
		msr_info->data = vcpu->arch.apic ? kvm_get_lapic_tscdeadline_msr(vcpu->arch.apic) : 0;
		break;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		if (!vcpu->arch.apic)
			return 1;
		return kvm_x2apic_msr_read(vcpu->arch.apic, msr_info->index, &msr_info->data);
	case MSR_IA32_TSC_ADJUST:
		msr_info->data = vcpu->arch.ia32_tsc_adjust_msr;
		break;
	case MSR_IA32_MISC_ENABLE:
		msr_info->data = vcpu->arch.ia32_misc_enable_msr;
		break;
	case MSR_SMI_COUNT:
		msr_info->data = vcpu->arch.smi_count;
		break;
	case 0x00000198:	/* MSR_IA32_PERF_STATUS: TSC increment, CPU multiplier */
		msr_info->data = 1000ull | (4ull << 40);
		break;
	case MSR_EFER:
		msr_info->data = vcpu->arch.efer;
		break;
	case 0xc001001b:	/* MSR_K7_CLK_CTL */
		msr_info->data = 0x20000000;
		break;
	case 0x0000011e:	/* MSR_IA32_BBL_CR_CTL3 */
		msr_info->data = 0xbe702111;
		break;
	case MSR_PLATFORM_INFO:
		/* KVM_CAP_MSR_PLATFORM_INFO turns the guest's reads off (#GP) */
		if (!msr_info->host_initiated &&
		    READ_ONCE(vcpu->kvm->arch.guest_cannot_read_msr_platform_info))
			return 1;
		msr_info->data = vcpu->arch.msr_platform_info;
		break;
	case MSR_MISC_FEATURES_ENABLES:
		msr_info->data = vcpu->arch.msr_misc_features_enables;
		break;
	case MSR_K7_HWCR:
		msr_info->data = vcpu->arch.msr_hwcr;
		break;
	default:
		return KVM_MSR_RET_UNSUPPORTED;
	}
	return 0;
}

/* IA32_FEATURE_CONTROL: only LOCKED is valid without nested VMX or LMCE. */
static bool is_vmx_feature_control_msr_valid(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	if (!msr->host_initiated && (vcpu->arch.msr_ia32_feature_control & FEAT_CTL_LOCKED))
		return false;
	return !(msr->data & ~vcpu->arch.msr_ia32_feature_control_valid_bits);
}

/* vmx_get_msr(): MSRs held in the VMCS or switched on VM entry/exit. */
static int vmx_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	switch (msr_info->index) {
	case MSR_FS_BASE:
		msr_info->data = a->seg[VCPU_SREG_FS].base;
		break;
	case MSR_GS_BASE:
		msr_info->data = a->seg[VCPU_SREG_GS].base;
		break;
	case MSR_KERNEL_GS_BASE:
		msr_info->data = a->kernel_gs_base;
		break;
	case MSR_IA32_SYSENTER_CS:
		msr_info->data = a->sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_EIP:
		msr_info->data = a->sysenter_eip;
		break;
	case MSR_IA32_SYSENTER_ESP:
		msr_info->data = a->sysenter_esp;
		break;
	case MSR_IA32_FEAT_CTL:
		msr_info->data = a->msr_ia32_feature_control;
		break;
	case MSR_TSC_AUX:
		if (!msr_info->host_initiated && !guest_cpu_cap_has(vcpu, X86_FEATURE_RDTSCP) &&
		    !guest_cpu_cap_has(vcpu, X86_FEATURE_RDPID))
			return 1;
		msr_info->data = a->tsc_aux;
		break;
	case MSR_STAR:
		msr_info->data = a->star;
		break;
	case MSR_LSTAR:
		msr_info->data = a->lstar;
		break;
	case MSR_CSTAR:
		msr_info->data = a->cstar;
		break;
	case MSR_SYSCALL_MASK:
		msr_info->data = a->syscall_mask;
		break;
	default:
		return kvm_get_msr_common(vcpu, msr_info);
	}
	return 0;
}

static int vmx_set_msr(struct kvm_vcpu *vcpu, struct msr_data *msr_info)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	u64 data = msr_info->data;

	switch (msr_info->index) {
	case MSR_FS_BASE:
		a->seg[VCPU_SREG_FS].base = data;
		break;
	case MSR_GS_BASE:
		a->seg[VCPU_SREG_GS].base = data;
		break;
	case MSR_KERNEL_GS_BASE:
		a->kernel_gs_base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		a->sysenter_cs = (u32)data;	/* a 32-bit VMCS field */
		break;
	case MSR_IA32_SYSENTER_EIP:
		a->sysenter_eip = data;
		break;
	case MSR_IA32_SYSENTER_ESP:
		a->sysenter_esp = data;
		break;
	case MSR_IA32_FEAT_CTL:
		if (!is_vmx_feature_control_msr_valid(vcpu, msr_info))
			return 1;
		a->msr_ia32_feature_control = data;
		break;
	case MSR_TSC_AUX:
		a->tsc_aux = data;
		break;
	case MSR_STAR:
		a->star = data;
		break;
	case MSR_LSTAR:
		a->lstar = data;
		break;
	case MSR_CSTAR:
		a->cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		a->syscall_mask = data;
		break;
	default:
		return kvm_set_msr_common(vcpu, msr_info);
	}
	return 0;
}

/*
 * __kvm_set_msr() - write an MSR; the checks every vendor shares come
 * first.  Canonical checks use the processor's linear-address width (57
 * bits with LA57), whatever CR4.LA57 says, as hardware does for MSRs.
 */
static int __kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host_initiated)
{
	struct msr_data msr;

	switch (index) {
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_CSTAR:
	case MSR_LSTAR:
		if (is_noncanonical_address_bits(data, max_host_virt_addr_bits()))
			return 1;
		break;
	case MSR_IA32_SYSENTER_EIP:
	case MSR_IA32_SYSENTER_ESP:
		/* made canonical, so that VM entry cannot fail on them */
		data = (u64)((s64)(data << (64 - max_host_virt_addr_bits())) >>
			     (64 - max_host_virt_addr_bits()));
		break;
	case MSR_TSC_AUX:
		if (!host_initiated && !guest_cpu_cap_has(vcpu, X86_FEATURE_RDTSCP) &&
		    !guest_cpu_cap_has(vcpu, X86_FEATURE_RDPID))
			return 1;
		/* bits 63:32 are reserved on Intel, ignored on AMD */
		if (!vcpu->arch.is_amd_compatible && (data >> 32) != 0)
			return 1;
		data = (u32)data;
		break;
	}
	msr.data = data;
	msr.index = index;
	msr.host_initiated = host_initiated;
	return vmx_set_msr(vcpu, &msr);
}

static int _kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated)
{
	return __kvm_set_msr(vcpu, index, *data, host_initiated);
}

static int __kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated)
{
	struct msr_data msr = { .index = index, .host_initiated = host_initiated };
	int ret;

	ret = vmx_get_msr(vcpu, &msr);
	if (!ret)
		*data = msr.data;
	return ret;
}

/* msr_io()'s callbacks: KVM_GET_MSRS/KVM_SET_MSRS are host-initiated. */
static int do_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	return kvm_do_msr_access(vcpu, index, data, true, MSR_TYPE_R, __kvm_get_msr);
}

static int do_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	/*
	 * Note, KVM refuses to change feature MSRs once the vCPU has run;
	 * KVM_RUN does not exist yet, so every vCPU is still being set up.
	 */
	return kvm_do_msr_access(vcpu, index, data, true, MSR_TYPE_W, _kvm_set_msr);
}

/*
 * msr_io() - read or write a bunch of MSRs from the user's struct kvm_msrs.
 *
 * Return: the number of MSRs processed (it stops at the first that fails),
 * -E2BIG for MAX_IO_MSRS or more, -EFAULT for bad pointers.
 */
static int msr_io(struct kvm_vcpu *vcpu, struct kvm_msrs *user_msrs,
		  int (*do_msr)(struct kvm_vcpu *vcpu, u32 index, u64 *data), int writeback)
{
	struct kvm_msr_entry *entries;
	struct kvm_msrs msrs;
	size_t size;
	int r, i;

	r = copy_from_user(&msrs, user_msrs, sizeof(msrs));
	if (r)
		return r;
	if (msrs.nmsrs >= MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(struct kvm_msr_entry) * msrs.nmsrs;
	entries = malloc(size ? size : 1);
	if (!entries)
		return -ENOMEM;
	if (size) {
		r = copy_from_user(entries, user_msrs->entries, size);
		if (r)
			goto out;
	}
	for (i = 0; i < (int)msrs.nmsrs; i++)
		if (do_msr(vcpu, entries[i].index, (u64 *)&entries[i].data))
			break;
	r = i;
	if (writeback && size && copy_to_user(user_msrs->entries, entries, size))
		r = -EFAULT;
out:
	free(entries);
	return r;
}

int kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, unsigned int ioctl, void *argp)
{
	if (ioctl == KVM_GET_MSRS)
		return msr_io(vcpu, argp, do_get_msr, 1);
	return msr_io(vcpu, argp, do_set_msr, 0);
}

/* KVM_GET_MSR_INDEX_LIST & co: nmsrs is updated even when it is too small. */
static long kvm_get_msr_list(struct kvm_msr_list *user_msr_list, const u32 *a, size_t na,
			     const u32 *b, size_t nb)
{
	struct kvm_msr_list msr_list;
	u32 n;

	if (copy_from_user(&msr_list, user_msr_list, sizeof(msr_list)))
		return -EFAULT;
	n = msr_list.nmsrs;
	msr_list.nmsrs = na + nb;
	if (copy_to_user(user_msr_list, &msr_list, sizeof(msr_list)))
		return -EFAULT;
	if (n < msr_list.nmsrs)
		return -E2BIG;
	if (copy_to_user(user_msr_list->indices, a, na * sizeof(u32)))
		return -EFAULT;
	if (nb && copy_to_user(user_msr_list->indices + na, b, nb * sizeof(u32)))
		return -EFAULT;
	return 0;
}

long kvm_msr_dev_ioctl(unsigned int ioctl, void *argp)
{
	switch (ioctl) {
	case KVM_GET_MSR_INDEX_LIST:
		return kvm_get_msr_list(argp, msrs_to_save, ARRAY_SIZE(msrs_to_save),
					emulated_msrs, ARRAY_SIZE(emulated_msrs));
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return kvm_get_msr_list(argp, msr_based_features, ARRAY_SIZE(msr_based_features),
					NULL, 0);
	case KVM_GET_MSRS:
		return msr_io(NULL, argp, do_get_feature_msr, 1);
	}
	return -EINVAL;
}

/*
 * MSR state at vCPU creation: what kvm_arch_vcpu_create() (feature MSRs,
 * KVM_X86_QUIRK_STUFF_FEATURE_MSRS being on) and __vmx_vcpu_reset() set.
 */
void kvm_msr_vcpu_create(struct kvm_vcpu *vcpu)
{
	vcpu->arch.arch_capabilities = kvm_get_arch_capabilities();
	vcpu->arch.msr_platform_info = MSR_PLATFORM_INFO_CPUID_FAULT;
	vcpu->arch.perf_capabilities = 0;
	vcpu->arch.microcode_version = 0x100000000ull;
	vcpu->arch.msr_ia32_feature_control_valid_bits = FEAT_CTL_LOCKED;
}

/* The MSRs kvm_vcpu_reset() resets on RESET. */
void kvm_msr_vcpu_reset(struct kvm_vcpu *vcpu)
{
	vcpu->arch.pat = MSR_IA32_CR_PAT_DEFAULT;
	vcpu->arch.msr_misc_features_enables = 0;
	vcpu->arch.ia32_misc_enable_msr = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
					  MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	vcpu->arch.smi_count = 0;
}

/* Guest RDMSR/WRMSR (the exit handlers): Return 0, or nonzero for #GP. */
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	return __kvm_get_msr(vcpu, index, data, false);
}

int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	return __kvm_set_msr(vcpu, index, data, false);
}
