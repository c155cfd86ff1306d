// SPDX-License-Identifier: MIT
/*
 * VM entry (SDM Vol. 3 ch. 27 "VM Entries"): the checks VMLAUNCH/VMRESUME
 * make, in the SDM's order, and the cache of controls the processor uses
 * while the guest runs.
 *
 *   STEP 1 (27.1)   basic checks: VMX operation, current VMCS, MOV-SS
 *                   blocking, launch state             -> #UD / VMfail
 *   STEP 2 (27.2.1) VMX controls                        -> VMfailValid(7)
 *   STEP 3 (27.2.2) host-state area                     -> VMfailValid(8)
 *   STEP 4 (27.3.1) guest-state area                    -> VM exit 33|1<<31
 *   STEP 5 (27.3.2) load guest state, (27.4) MSR-load list -> exit 34|1<<31
 *   STEP 6 (27.6)   event injection; then the guest runs (vmx_run.c)
 */
#include <string.h>

#include "silicon/cpu.h"
#include "silicon/ept.h"
#include "silicon/vmx_cpu.h"

#define G(f) vmcs_get(vmcs, f)

static u64 cap(u32 msr)
{
	u64 v = 0;

	vmx_cap_msr_read(msr, &v);
	return v;
}

static bool pa_aligned_ok(u64 pa, u64 align)
{
	return !(pa & (align - 1)) && !(pa & VMX_PA_RSVD_MASK);
}

/* Every byte of a PAT value is a valid memory type (0, 1, 4, 5, 6, 7). */
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = pat >> (8 * i);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

#define EFER_SCE BIT_ULL(0)
#define EFER_LME BIT_ULL(8)
#define EFER_LMA BIT_ULL(10)
#define EFER_NXE BIT_ULL(11)
#define EFER_VALID (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

#define CR0_PE BIT_ULL(0)
#define CR0_PG BIT_ULL(31)
#define CR4_PAE BIT_ULL(5)
#define CR4_PCIDE BIT_ULL(17)
#define RFLAGS_IF BIT_ULL(9)
#define RFLAGS_TF BIT_ULL(8)
#define RFLAGS_VM BIT_ULL(17)
#define RFLAGS_FIXED1 BIT_ULL(1)
#define RFLAGS_RSVD (~0x3f7fd7ull)	/* 63:22, 15, 5, 3 must be 0 */

/* The secondary controls in effect: 0 unless activated (SDM 25.6.2). */
static u32 proc2_of(const void *vmcs)
{
	if (!(vmcs_get32(vmcs, CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		return 0;
	return vmcs_get32(vmcs, SECONDARY_VM_EXEC_CONTROL);
}

static bool msr_list_ok(u64 addr, u32 count)
{
	/* SDM 27.2.1.2/3: 16-byte aligned, and the last byte within the width. */
	if (!count)
		return true;
	if (count > 512)	/* IA32_VMX_MISC[27:25] = 0: 512 entries at most */
		return false;
	return pa_aligned_ok(addr, 16) && !((addr + count * 16ull - 1) & VMX_PA_RSVD_MASK);
}

/*
 * TPR shadow without APIC-access virtualization or virtual-interrupt
 * delivery (not offered): threshold bits 31:4 are 0 and bits 3:0 do not
 * exceed VTPR[7:4] (27.2.1.1).  VTPR is memory KVM may change without a
 * VMWRITE, so this part is checked at every entry.
 */
static int check_tpr_threshold(const void *vmcs)
{
	u32 thr = vmcs_get32(vmcs, TPR_THRESHOLD);
	const u8 *vapic = vmx_ptr(G(VIRTUAL_APIC_PAGE_ADDR));

	return ((thr & ~0xfu) || thr > (u32)(vapic[0x80] >> 4)) ? -1 : 0;
}

/**
 * vmx_check_entry_event() - SDM 27.2.1.3, the checks on the event-injection
 * fields (VM-entry interruption information, error code, instruction
 * length).  Part of STEP 2, made at every VM entry (see vmx_cpu.h).
 *
 * Return: 0, or -1 (VM entry fails with VMXERR_ENTRY_INVALID_CONTROL_FIELD).
 */
int vmx_check_entry_event(const void *vmcs)
{
	u32 info = vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;
	u32 vector = info & INTR_INFO_VECTOR_MASK;
	bool pe, ug, want_ec;

	if (!(info & INTR_INFO_VALID_MASK))
		return 0;
	pe = G(GUEST_CR0) & CR0_PE;
	ug = proc2_of(vmcs) & SECONDARY_EXEC_UNRESTRICTED_GUEST;

	/* Type 1 is reserved; 7 (other event) needs monitor trap flag. */
	if (type == INTR_TYPE_RESERVED || type == INTR_TYPE_OTHER_EVENT)
		return -1;
	if (type == INTR_TYPE_NMI_INTR && vector != 2)
		return -1;
	if (type == INTR_TYPE_HARD_EXCEPTION && vector > 31)
		return -1;
	want_ec = (!ug || pe) && type == INTR_TYPE_HARD_EXCEPTION &&
		  (vector == 8 || (vector >= 10 && vector <= 14) || vector == 17);
	if (!!(info & INTR_INFO_DELIVER_CODE_MASK) != want_ec)
		return -1;
	if (info & INTR_INFO_RESVD_BITS_MASK & ~INTR_INFO_VALID_MASK)
		return -1;
	if ((info & INTR_INFO_DELIVER_CODE_MASK) &&
	    (vmcs_get32(vmcs, VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff0000u))	/* bits 31:16 */
		return -1;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SOFT_EXCEPTION) {
		u32 len = vmcs_get32(vmcs, VM_ENTRY_INSTRUCTION_LEN);

		if (len < 1 || len > 15)
			return -1;
	}
	return 0;
}

/**
 * vmx_check_controls() - SDM 27.2.1, checks on VMX controls
 *
 * Return: 0, or -1 (VM entry fails with VMXERR_ENTRY_INVALID_CONTROL_FIELD).
 */
int vmx_check_controls(struct vmx_cpu *v, const void *vmcs)
{
	u32 pin = vmcs_get32(vmcs, PIN_BASED_VM_EXEC_CONTROL);
	u32 proc = vmcs_get32(vmcs, CPU_BASED_VM_EXEC_CONTROL);
	u32 proc2 = proc2_of(vmcs);
	u32 exit = vmcs_get32(vmcs, VM_EXIT_CONTROLS);
	u32 entry = vmcs_get32(vmcs, VM_ENTRY_CONTROLS);

	/* STEP 2.1 (27.2.1.1): VM-execution control fields. */
	if (!vmx_ctl_allowed(pin, cap(MSR_IA32_VMX_TRUE_PINBASED_CTLS)))
		return -1;
	if (!vmx_ctl_allowed(proc, cap(MSR_IA32_VMX_TRUE_PROCBASED_CTLS)))
		return -1;
	if ((proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    !vmx_ctl_allowed(proc2, cap(MSR_IA32_VMX_PROCBASED_CTLS2)))
		return -1;
	if (vmcs_get32(vmcs, CR3_TARGET_COUNT) > 4)
		return -1;
	if ((proc & CPU_BASED_USE_IO_BITMAPS) &&
	    (!pa_aligned_ok(G(IO_BITMAP_A), 4096) || !pa_aligned_ok(G(IO_BITMAP_B), 4096) ||
	     !G(IO_BITMAP_A) || !G(IO_BITMAP_B)))
		return -1;
	if (proc & CPU_BASED_TPR_SHADOW) {
		u64 vapic = G(VIRTUAL_APIC_PAGE_ADDR);

		if (!pa_aligned_ok(vapic, 4096) || !vapic || check_tpr_threshold(vmcs))
			return -1;
	}
	if ((proc & CPU_BASED_USE_MSR_BITMAPS) &&
	    (!pa_aligned_ok(G(MSR_BITMAP), 4096) || !G(MSR_BITMAP)))
		return -1;
	if (!(pin & PIN_BASED_NMI_EXITING) && (pin & PIN_BASED_VIRTUAL_NMIS))
		return -1;
	if (!(pin & PIN_BASED_VIRTUAL_NMIS) && (proc & CPU_BASED_NMI_WINDOW_EXITING))
		return -1;
	if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) && !vmcs_get(vmcs, VIRTUAL_PROCESSOR_ID))
		return -1;
	if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) && !vmx_eptp_valid(G(EPT_POINTER)))
		return -1;
	if ((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && !(proc2 & SECONDARY_EXEC_ENABLE_EPT))
		return -1;
	if ((proc2 & SECONDARY_EXEC_ENABLE_PML) &&
	    (!(proc2 & SECONDARY_EXEC_ENABLE_EPT) || !pa_aligned_ok(G(PML_ADDRESS), 4096) ||
	     !G(PML_ADDRESS)))
		return -1;

	/* STEP 2.2 (27.2.1.2): VM-exit control fields. */
	if (!vmx_ctl_allowed(exit, cap(MSR_IA32_VMX_TRUE_EXIT_CTLS)))
		return -1;
	if (!(pin & PIN_BASED_VMX_PREEMPTION_TIMER) && (exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
		return -1;
	if (!msr_list_ok(G(VM_EXIT_MSR_STORE_ADDR), vmcs_get32(vmcs, VM_EXIT_MSR_STORE_COUNT)) ||
	    !msr_list_ok(G(VM_EXIT_MSR_LOAD_ADDR), vmcs_get32(vmcs, VM_EXIT_MSR_LOAD_COUNT)))
		return -1;

	/* STEP 2.3 (27.2.1.3): VM-entry control fields. */
	if (!vmx_ctl_allowed(entry, cap(MSR_IA32_VMX_TRUE_ENTRY_CTLS)))
		return -1;
	if (vmx_check_entry_event(vmcs))
		return -1;
	if (!msr_list_ok(G(VM_ENTRY_MSR_LOAD_ADDR), vmcs_get32(vmcs, VM_ENTRY_MSR_LOAD_COUNT)))
		return -1;
	return 0;
}

static bool cr_fixed_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

/**
 * vmx_check_host_state() - SDM 27.2.2-27.2.4, checks on host-state fields
 *
 * The processor runs in IA-32e mode in VMX root operation (it is a 64-bit
 * host), so "host address-space size" must be 1.
 *
 * Return: 0, or -1 (VM entry fails with VMXERR_ENTRY_INVALID_HOST_STATE_FIELD).
 */
int vmx_check_host_state(struct vmx_cpu *v, const void *vmcs)
{
	u32 exit = vmcs_get32(vmcs, VM_EXIT_CONTROLS);
	bool host64 = exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	static const u32 sels[] = {
		HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
		HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR,
	};
	static const u32 bases[] = {
		HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_TR_BASE,
	};

	/* STEP 3.1 (27.2.2): host control registers and MSRs. */
	if (!cr_fixed_ok(G(HOST_CR0), vmx_cr0_fixed0(), vmx_cr0_fixed1()) ||
	    !cr_fixed_ok(G(HOST_CR4), vmx_cr4_fixed0(), vmx_cr4_fixed1()))
		return -1;
	if (G(HOST_CR3) & VMX_PA_RSVD_MASK)
		return -1;
	if (!vmx_is_canonical(G(HOST_IA32_SYSENTER_ESP)) ||
	    !vmx_is_canonical(G(HOST_IA32_SYSENTER_EIP)))
		return -1;
	if ((exit & VM_EXIT_LOAD_IA32_PAT) && !pat_valid(G(HOST_IA32_PAT)))
		return -1;
	if (exit & VM_EXIT_LOAD_IA32_EFER) {
		u64 efer = G(HOST_IA32_EFER);

		if ((efer & ~EFER_VALID) || !!(efer & EFER_LMA) != host64 ||
		    !!(efer & EFER_LME) != host64)
			return -1;
	}

	/* STEP 3.2 (27.2.3): host segment and descriptor-table registers. */
	for (unsigned i = 0; i < ARRAY_SIZE(sels); i++)
		if (G(sels[i]) & 7)		/* RPL and TI must be 0 */
			return -1;
	if (!G(HOST_CS_SELECTOR) || !G(HOST_TR_SELECTOR))
		return -1;
	if (!host64 && !G(HOST_SS_SELECTOR))
		return -1;
	for (unsigned i = 0; i < ARRAY_SIZE(bases); i++)
		if (!vmx_is_canonical(G(bases[i])))
			return -1;

	/* STEP 3.3 (27.2.4): address-space size (the host is in IA-32e mode). */
	if (!host64)
		return -1;
	if (!(G(HOST_CR4) & CR4_PAE) || !vmx_is_canonical(G(HOST_RIP)))
		return -1;
	return 0;
}

/* Limit and G-bit consistency (SDM 27.3.1.2). */
static bool seg_limit_ok(u32 limit, u32 ar)
{
	if ((limit & 0xfff) != 0xfff && (ar & VMX_AR_G_MASK))
		return false;
	if ((limit & 0xfff00000u) && !(ar & VMX_AR_G_MASK))
		return false;
	return true;
}

struct gseg {
	u16 sel;
	u64 base;
	u32 limit, ar;
};

static struct gseg gseg(const void *vmcs, int i)
{
	/* ES, CS, SS, DS, FS, GS, LDTR, TR: encodings are 2 apart. */
	return (struct gseg){
		.sel = (u16)*vmcs_seg_slot((void *)vmcs, GUEST_ES_SELECTOR, i),
		.base = *vmcs_seg_slot((void *)vmcs, GUEST_ES_BASE, i),
		.limit = (u32)*vmcs_seg_slot((void *)vmcs, GUEST_ES_LIMIT, i),
		.ar = (u32)*vmcs_seg_slot((void *)vmcs, GUEST_ES_AR_BYTES, i),
	};
}

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

static int check_guest_segments(const void *vmcs, bool ug, bool ia32e, u64 rflags, u64 cr0)
{
	struct gseg s[8];
	bool v86 = rflags & RFLAGS_VM;

	for (int i = 0; i < 8; i++)
		s[i] = gseg(vmcs, i);

	/* Selectors. */
	if (s[S_TR].sel & 4)
		return -1;
	if (!(s[S_LDTR].ar & VMX_AR_UNUSABLE_MASK) && (s[S_LDTR].sel & 4))
		return -1;
	if (!v86 && !ug && (s[S_SS].sel & 3) != (s[S_CS].sel & 3))
		return -1;

	if (v86) {
		for (int i = S_ES; i <= S_GS; i++)
			if (s[i].base != (u64)s[i].sel << 4 || s[i].limit != 0xffff || s[i].ar != 0xf3)
				return -1;
	} else {
		u32 cs_type = s[S_CS].ar & VMX_AR_TYPE_MASK;
		u32 cs_dpl = (s[S_CS].ar >> VMX_AR_DPL_SHIFT) & 3;
		u32 ss_dpl = (s[S_SS].ar >> VMX_AR_DPL_SHIFT) & 3;

		/* CS: accessed code, or accessed read/write data for unrestricted guests. */
		if (!(cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 ||
		      (ug && cs_type == 3)))
			return -1;
		if (!(s[S_CS].ar & VMX_AR_S_MASK) || !(s[S_CS].ar & VMX_AR_P_MASK))
			return -1;
		if (s[S_CS].ar & VMX_AR_UNUSABLE_MASK)
			return -1;
		if (cs_type == 3 && cs_dpl != 0)
			return -1;
		if ((cs_type == 9 || cs_type == 11) && cs_dpl != ss_dpl)
			return -1;
		if ((cs_type == 13 || cs_type == 15) && cs_dpl > ss_dpl)
			return -1;
		if ((s[S_CS].ar & VMX_AR_RESERVD_MASK) || !seg_limit_ok(s[S_CS].limit, s[S_CS].ar))
			return -1;
		if (ia32e && (s[S_CS].ar & VMX_AR_L_MASK) && (s[S_CS].ar & VMX_AR_DB_MASK))
			return -1;

		/* SS. */
		if (!(s[S_SS].ar & VMX_AR_UNUSABLE_MASK)) {
			u32 t = s[S_SS].ar & VMX_AR_TYPE_MASK;

			if ((t != 3 && t != 7) || !(s[S_SS].ar & VMX_AR_S_MASK) ||
			    !(s[S_SS].ar & VMX_AR_P_MASK) || (s[S_SS].ar & VMX_AR_RESERVD_MASK) ||
			    !seg_limit_ok(s[S_SS].limit, s[S_SS].ar))
				return -1;
		}
		if (!ug && ss_dpl != (s[S_SS].sel & 3u))
			return -1;
		if ((cs_type == 3 || !(cr0 & CR0_PE)) && ss_dpl != 0)
			return -1;

		/* DS, ES, FS, GS. */
		for (int i = S_ES; i <= S_GS; i++) {
			u32 t = s[i].ar & VMX_AR_TYPE_MASK, dpl = (s[i].ar >> VMX_AR_DPL_SHIFT) & 3;

			if (i == S_CS || i == S_SS || (s[i].ar & VMX_AR_UNUSABLE_MASK))
				continue;
			if (!(t & 1) || ((t & 8) && !(t & 2)))	/* accessed; code must be readable */
				return -1;
			if (!(s[i].ar & VMX_AR_S_MASK) || !(s[i].ar & VMX_AR_P_MASK) ||
			    (s[i].ar & VMX_AR_RESERVD_MASK) || !seg_limit_ok(s[i].limit, s[i].ar))
				return -1;
			if (!ug && t <= 11 && dpl < (s[i].sel & 3u))
				return -1;
		}
	}

	/* TR. */
	{
		u32 t = s[S_TR].ar & VMX_AR_TYPE_MASK;

		if (ia32e ? t != 11 : (t != 3 && t != 11))
			return -1;
		if ((s[S_TR].ar & VMX_AR_S_MASK) || !(s[S_TR].ar & VMX_AR_P_MASK) ||
		    (s[S_TR].ar & VMX_AR_RESERVD_MASK) || (s[S_TR].ar & VMX_AR_UNUSABLE_MASK) ||
		    !seg_limit_ok(s[S_TR].limit, s[S_TR].ar))
			return -1;
	}
	/* LDTR. */
	if (!(s[S_LDTR].ar & VMX_AR_UNUSABLE_MASK)) {
		if ((s[S_LDTR].ar & VMX_AR_TYPE_MASK) != 2 || (s[S_LDTR].ar & VMX_AR_S_MASK) ||
		    !(s[S_LDTR].ar & VMX_AR_P_MASK) || (s[S_LDTR].ar & VMX_AR_RESERVD_MASK) ||
		    !seg_limit_ok(s[S_LDTR].limit, s[S_LDTR].ar))
			return -1;
	}

	/* Bases. */
	if (!vmx_is_canonical(s[S_TR].base) || !vmx_is_canonical(s[S_FS].base) ||
	    !vmx_is_canonical(s[S_GS].base))
		return -1;
	if (!(s[S_LDTR].ar & VMX_AR_UNUSABLE_MASK) && !vmx_is_canonical(s[S_LDTR].base))
		return -1;
	if (s[S_CS].base >> 32)
		return -1;
	for (int i = S_ES; i <= S_DS; i++)
		if (i != S_CS && !(s[i].ar & VMX_AR_UNUSABLE_MASK) && (s[i].base >> 32))
			return -1;
	return 0;
}

/* The PDPTE fields of PAE paging with EPT (SDM 27.3.1.6). */
static bool pdptes_ok(const void *vmcs)
{
	for (int i = 0; i < 4; i++) {
		u64 e = vmcs_get(vmcs, GUEST_PDPTR0 + 2 * i);

		if ((e & 1) && (e & (0x1e6ull | VMX_PA_RSVD_MASK)))	/* bits 8:5, 2:1 */
			return false;
	}
	return true;
}

/*
 * STEP 4.4 (27.3.1.4) RIP and RFLAGS, and 4.5 (27.3.1.5) non-register state
 * but the VMCS link pointer: the checks on the fields that change at
 * nearly every VM exit, and on the event-injection fields, made at every
 * entry (vmx_cpu.h).  The other fields they read are checked by
 * vmx_check_guest_state() or vmx_check_controls().
 */
int vmx_check_guest_volatile(const void *vmcs, u64 *qual)
{
	u32 pin = vmcs_get32(vmcs, PIN_BASED_VM_EXEC_CONTROL);
	bool ia32e = vmcs_get32(vmcs, VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;
	u64 cr0 = G(GUEST_CR0), rflags = G(GUEST_RFLAGS);
	u32 info = vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;
	bool inject = info & INTR_INFO_VALID_MASK;
	u32 intr = vmcs_get32(vmcs, GUEST_INTERRUPTIBILITY_INFO);
	u32 activity = vmcs_get32(vmcs, GUEST_ACTIVITY_STATE);

	*qual = ENTRY_FAIL_DEFAULT;

	/* STEP 4.4 (27.3.1.4): RIP and RFLAGS. */
	if (!ia32e || !(vmcs_get32(vmcs, GUEST_CS_AR_BYTES) & VMX_AR_L_MASK)) {
		if (G(GUEST_RIP) >> 32)
			return -1;
	} else if (!vmx_is_canonical(G(GUEST_RIP))) {
		return -1;
	}
	if ((rflags & RFLAGS_RSVD) || !(rflags & RFLAGS_FIXED1))
		return -1;
	if ((ia32e || !(cr0 & CR0_PE)) && (rflags & RFLAGS_VM))
		return -1;
	/*
	 * The common entry: no event to inject, active, no blocking, no
	 * pending debug exceptions.  Every check below needs one of them.
	 */
	if (!inject && !intr && activity == GUEST_ACTIVITY_ACTIVE &&
	    !G(GUEST_PENDING_DBG_EXCEPTIONS))
		return 0;
	if (inject && type == INTR_TYPE_EXT_INTR && !(rflags & RFLAGS_IF))
		return -1;

	/* STEP 4.5 (27.3.1.5): non-register state. */
	if (activity > GUEST_ACTIVITY_HLT)	/* IA32_VMX_MISC: only HLT besides active */
		return -1;
	if (activity == GUEST_ACTIVITY_HLT &&
	    ((vmcs_get32(vmcs, GUEST_SS_AR_BYTES) >> VMX_AR_DPL_SHIFT) & 3) != 0)
		return -1;
	if ((intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	    activity != GUEST_ACTIVITY_ACTIVE)
		return -1;
	if (inject && activity == GUEST_ACTIVITY_HLT) {
		u32 vec = info & INTR_INFO_VECTOR_MASK;

		if (!(type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI_INTR ||
		      (type == INTR_TYPE_HARD_EXCEPTION && (vec == 1 || vec == 18))))
			return -1;
	}
	if (intr & ~0xfu)	/* bits 31:4; bit 4 (enclave interruption) needs SGX */
		return -1;
	if ((intr & GUEST_INTR_STATE_STI) && (intr & GUEST_INTR_STATE_MOV_SS))
		return -1;
	if (!(rflags & RFLAGS_IF) && (intr & GUEST_INTR_STATE_STI))
		return -1;
	if (inject && type == INTR_TYPE_EXT_INTR &&
	    (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)))
		return -1;
	if (inject && type == INTR_TYPE_NMI_INTR && (intr & GUEST_INTR_STATE_MOV_SS))
		return -1;
	if (intr & GUEST_INTR_STATE_SMI)	/* not in SMM */
		return -1;
	if (inject && type == INTR_TYPE_NMI_INTR && (pin & PIN_BASED_VIRTUAL_NMIS) &&
	    (intr & GUEST_INTR_STATE_NMI))
		return -1;
	if (inject && type == INTR_TYPE_NMI_INTR && (intr & GUEST_INTR_STATE_STI)) {
		*qual = ENTRY_FAIL_NMI;
		return -1;
	}
	{
		u64 pdbg = G(GUEST_PENDING_DBG_EXCEPTIONS);
		bool bs = pdbg & BIT_ULL(14);
		bool btf = G(GUEST_IA32_DEBUGCTL) & BIT_ULL(1);

		if (pdbg & ~0x1500full)		/* B3-B0, enabled bp (12), BS (14), RTM (16) */
			return -1;
		if ((intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) ||
		    activity == GUEST_ACTIVITY_HLT) {
			if ((rflags & RFLAGS_TF) && !btf && !bs)
				return -1;
			if ((!(rflags & RFLAGS_TF) || btf) && bs)
				return -1;
		}
	}
	return 0;
}

/**
 * vmx_check_guest_state() - SDM 27.3.1, checks on the guest-state area
 * @qual: exit qualification of the failed VM entry (ENTRY_FAIL_*)
 *
 * All of them, in the SDM's order (vmx_check_guest_volatile() in its
 * place).
 *
 * Return: 0, or -1 (VM entry fails: exit reason 33 with bit 31 set).
 */
int vmx_check_guest_state(struct vmx_cpu *v, const void *vmcs, u64 *qual)
{
	u32 proc2 = proc2_of(vmcs);
	u32 entry = vmcs_get32(vmcs, VM_ENTRY_CONTROLS);
	bool ug = proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
	bool ia32e = entry & VM_ENTRY_IA32E_MODE;
	u64 cr0 = G(GUEST_CR0), cr4 = G(GUEST_CR4), rflags = G(GUEST_RFLAGS);
	u64 fixed0 = vmx_cr0_fixed0();
	u64 link = G(VMCS_LINK_POINTER);

	*qual = ENTRY_FAIL_DEFAULT;

	/* STEP 4.1 (27.3.1.1): control registers, debug registers, MSRs. */
	if (ug)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if (!cr_fixed_ok(cr0, fixed0, vmx_cr0_fixed1()) || ((cr0 & CR0_PG) && !(cr0 & CR0_PE)))
		return -1;
	if (!cr_fixed_ok(cr4, vmx_cr4_fixed0(), vmx_cr4_fixed1()))
		return -1;
	if ((entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
	    ((G(GUEST_IA32_DEBUGCTL) & ~0xffc3ull) || (G(GUEST_DR7) >> 32)))
		return -1;
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return -1;
	if (!ia32e && (cr4 & CR4_PCIDE))
		return -1;
	if (G(GUEST_CR3) & VMX_PA_RSVD_MASK)
		return -1;
	if (!vmx_is_canonical(G(GUEST_SYSENTER_ESP)) || !vmx_is_canonical(G(GUEST_SYSENTER_EIP)))
		return -1;
	if ((entry & VM_ENTRY_LOAD_IA32_PAT) && !pat_valid(G(GUEST_IA32_PAT)))
		return -1;
	if (entry & VM_ENTRY_LOAD_IA32_EFER) {
		u64 efer = G(GUEST_IA32_EFER);

		if ((efer & ~EFER_VALID) || !!(efer & EFER_LMA) != ia32e)
			return -1;
		if ((cr0 & CR0_PG) && !!(efer & EFER_LME) != ia32e)
			return -1;
	}

	/*
	 * STEP 4.2 (27.3.1.2): segment registers.  Note, with RFLAGS.VM the
	 * segments must be in virtual-8086 form: RFLAGS is checked at every
	 * entry, so an RFLAGS.VM write resets guest_checked (vmexit.c,
	 * vmx_insn.c) to have these checked again.
	 */
	if (check_guest_segments(vmcs, ug, ia32e, rflags, cr0))
		return -1;

	/* STEP 4.3 (27.3.1.3): descriptor-table registers. */
	if (!vmx_is_canonical(G(GUEST_GDTR_BASE)) || !vmx_is_canonical(G(GUEST_IDTR_BASE)) ||
	    (vmcs_get32(vmcs, GUEST_GDTR_LIMIT) >> 16) || (vmcs_get32(vmcs, GUEST_IDTR_LIMIT) >> 16))
		return -1;

	/* STEPs 4.4, 4.5 but the link pointer. */
	if (vmx_check_guest_volatile(vmcs, qual))
		return -1;
	if (link != VMX_INVALID_PTR) {
		/*
		 * Note, stricter than the SDM: it would read the revision
		 * identifier at the link pointer and accept an ordinary VMCS.
		 * Without VMCS shadowing nothing uses that VMCS, and reading
		 * host memory through an unchecked pointer is what this
		 * processor must never do, so any value but ~0 fails.
		 */
		*qual = ENTRY_FAIL_VMCS_LINK_PTR;
		return -1;
	}

	/* STEP 4.6 (27.3.1.6): PDPTEs of PAE paging, from the VMCS with EPT. */
	if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !ia32e && (proc2 & SECONDARY_EXEC_ENABLE_EPT) &&
	    !pdptes_ok(vmcs)) {
		*qual = ENTRY_FAIL_PDPTE;
		return -1;
	}
	(void)v;
	return 0;
}

void vmx_cache_controls(struct vmx_ctls *c, const void *vmcs)
{
	c->pin = vmcs_get32(vmcs, PIN_BASED_VM_EXEC_CONTROL);
	c->proc = vmcs_get32(vmcs, CPU_BASED_VM_EXEC_CONTROL);
	c->proc2 = proc2_of(vmcs);
	c->exit = vmcs_get32(vmcs, VM_EXIT_CONTROLS);
	c->entry = vmcs_get32(vmcs, VM_ENTRY_CONTROLS);
	c->exception_bitmap = vmcs_get32(vmcs, EXCEPTION_BITMAP);
	c->pfec_mask = vmcs_get32(vmcs, PAGE_FAULT_ERROR_CODE_MASK);
	c->pfec_match = vmcs_get32(vmcs, PAGE_FAULT_ERROR_CODE_MATCH);
	c->cr3_target_count = vmcs_get32(vmcs, CR3_TARGET_COUNT);
	for (int i = 0; i < 4; i++)
		c->cr3_target[i] = vmcs_get(vmcs, CR3_TARGET_VALUE0 + 2 * i);
	c->cr0_mask = G(CR0_GUEST_HOST_MASK);
	c->cr0_shadow = G(CR0_READ_SHADOW);
	c->cr4_mask = G(CR4_GUEST_HOST_MASK);
	c->cr4_shadow = G(CR4_READ_SHADOW);
	c->io_bitmap_a = G(IO_BITMAP_A);
	c->io_bitmap_b = G(IO_BITMAP_B);
	c->msr_bitmap = G(MSR_BITMAP);
	c->eptp = G(EPT_POINTER);
	c->tsc_offset = G(TSC_OFFSET);
	c->tsc_multiplier = G(TSC_MULTIPLIER);
	c->vapic = G(VIRTUAL_APIC_PAGE_ADDR);
	c->tpr_threshold = vmcs_get32(vmcs, TPR_THRESHOLD);
	c->vpid = vmcs_get(vmcs, VIRTUAL_PROCESSOR_ID);
	c->tsc_mode = !(c->proc & CPU_BASED_USE_TSC_OFFSETTING) ? VMX_TSC_ROOT :
		      (c->proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
				      (c->proc2 & SECONDARY_EXEC_TSC_SCALING) ?
		      VMX_TSC_SCALED : VMX_TSC_OFFSET;
	c->ept = c->proc2 & SECONDARY_EXEC_ENABLE_EPT;
	c->vpid_tagged = (c->proc2 & SECONDARY_EXEC_ENABLE_VPID) && c->vpid;
	c->cont_ok = c->vpid_tagged && !(c->pin & PIN_BASED_VMX_PREEMPTION_TIMER) &&
		     !(c->proc & (CPU_BASED_TPR_SHADOW | CPU_BASED_INTR_WINDOW_EXITING |
				  CPU_BASED_NMI_WINDOW_EXITING));
	c->msr_lists = vmcs_get32(vmcs, VM_EXIT_MSR_STORE_COUNT) |
		       vmcs_get32(vmcs, VM_EXIT_MSR_LOAD_COUNT) |
		       vmcs_get32(vmcs, VM_ENTRY_MSR_LOAD_COUNT);
}

/**
 * vmx_entry_check() - STEPs 1-4 of VMLAUNCH/VMRESUME; see vmx_cpu.h
 */
enum vmx_status vmx_entry_check(struct vmx_cpu *v, bool launch, u32 *exit_reason, u64 *qual)
{
	void *vmcs;
	struct vmcs_hdr *hdr;

	*exit_reason = 0;
	*qual = 0;
	/* STEP 1 (27.1): basic VM-entry checks. */
	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmcs = vmx_vmcs(v);
	if (!vmcs)
		return VMX_FAIL_INVALID;
	hdr = vmcs;
	if (launch && hdr->launch_state != VMCS_STATE_CLEAR)
		return vmx_vmfail(v, VMXERR_VMLAUNCH_NONCLEAR_VMCS);
	if (!launch && hdr->launch_state != VMCS_STATE_LAUNCHED)
		return vmx_vmfail(v, VMXERR_VMRESUME_NONLAUNCHED_VMCS);

	if (!v->ctl_host_checked) {
		/* STEP 2 (27.2.1): VMX controls. */
		if (vmx_check_controls(v, vmcs))
			return vmx_vmfail(v, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
		/* STEP 3 (27.2.2-4): host state. */
		if (vmx_check_host_state(v, vmcs))
			return vmx_vmfail(v, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
		v->ctl_host_checked = true;
	} else if (((vmcs_get32(vmcs, CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_TPR_SHADOW) &&
		    check_tpr_threshold(vmcs)) || vmx_check_entry_event(vmcs)) {
		/* The checks the cached outcome does not cover (vmx_cpu.h). */
		return vmx_vmfail(v, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	}
	/* STEP 4 (27.3.1): guest state; failure is a VM exit (27.8). */
	if (v->guest_checked ? vmx_check_guest_volatile(vmcs, qual) :
			       vmx_check_guest_state(v, vmcs, qual)) {
		*exit_reason = EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY;
		return VMX_SUCCEED;
	}
	v->guest_checked = true;
	return VMX_SUCCEED;
}

/* ---- STEP 5, 6: loading guest state and injecting an event ---- */

void vmx_ept_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out);
void vmx_host_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out);

/*
 * Activity state, interruptibility and RFLAGS came from the VMCS: the run
 * loop evaluates the first instruction boundary (boundary() in cpu.c)
 * when one of them, or the core's NMI and breakpoint state, needs it (the
 * conditions under which it keeps REQ_SLOW set itself, and the shadows).
 */
static void vmx_enter_boundary(struct cpu *c)
{
	const struct cpu_state *s = &c->s;

	if (s->activity != CPU_ACTIVE ||
	    (s->interruptibility & (CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING)) ||
	    (s->rflags & CPU_FLAG_TF) || s->nmi_pending || c->dbg_exec || c->dbg_data)
		cpu_req(c, REQ_SLOW);
}

/*
 * The core's state was written behind its back: recompute the mode, and
 * flush its TLB unless the guest comes back to the VPID-tagged context its
 * entries were filled in (SDM 29.4.3.3: with VPID 0 - "enable VPID" off -
 * every VM entry and exit flushes).
 */
static void vmx_enter_tlb_context(struct vmx_cpu *v, bool fresh)
{
	struct cpu *c = v->cpu;
	const struct vmx_ctls *ctl = &v->ctls;
	struct vmx_tlb_ctx ctx = {
		.vpid = (ctl->proc2 & SECONDARY_EXEC_ENABLE_VPID) ? ctl->vpid : 0,
		.eptp = (ctl->proc2 & SECONDARY_EXEC_ENABLE_EPT) ? ctl->eptp : 0,
		.cr3 = c->s.cr3,
		.cr0 = c->s.cr0 & (CPU_CR0_PG | CPU_CR0_WP | CPU_CR0_PE),
		.cr4 = c->s.cr4 & (CPU_CR4_PSE | CPU_CR4_PAE | CPU_CR4_PGE | CPU_CR4_PCIDE |
				   CPU_CR4_SMEP | CPU_CR4_SMAP | CPU_CR4_LA57 | CPU_CR4_PKE),
		.efer = c->s.efer & (CPU_EFER_LMA | CPU_EFER_NXE),
	};

	c->lf_op = LF_NONE;
	c->s.rflags = (c->s.rflags & 0x3f7fd7) | 2;
	/*
	 * Not fresh: modes, breakpoints and the TLB context are those the
	 * core had at the exit (nothing they depend on has changed); without
	 * a VPID the entry still flushes.
	 */
	if (!fresh) {
		if (!ctx.vpid)
			tlb_flush_all(c);
		vmx_enter_boundary(c);
		return;
	}
	cpu_update_mode(c);
	cpu_dr7_changed(c);	/* breakpoints armed from the guest's DR7 */
	/* Field by field: the structure's padding is not initialized. */
	if (!ctx.vpid || !v->tlb_ctx_valid || ctx.vpid != v->tlb_ctx.vpid ||
	    ctx.eptp != v->tlb_ctx.eptp || ctx.cr3 != v->tlb_ctx.cr3 || ctx.cr0 != v->tlb_ctx.cr0 ||
	    ctx.cr4 != v->tlb_ctx.cr4 || ctx.efer != v->tlb_ctx.efer)
		tlb_flush_all(c);
	v->tlb_ctx = ctx;
	v->tlb_ctx_valid = true;
	vmx_enter_boundary(c);
}

/*
 * Enter VMX non-root operation: the guest's view of the TSC (SDM 26.3:
 * RDTSC adds the TSC offset and, with TSC scaling too, first multiplies by
 * the TSC multiplier), and EPT translating guest-physical addresses.
 */
static __always_inline void vmx_enter_nonroot(struct vmx_cpu *v)
{
	struct cpu *c = v->cpu;
	struct cpu_state *s = &c->s;
	const struct vmx_ctls *ctl = &v->ctls;

	v->root_tsc_offset = s->tsc_offset;
	if (ctl->tsc_mode == VMX_TSC_SCALED) {
		s->tsc_root_offset = s->tsc_offset;
		s->tsc_multiplier = ctl->tsc_multiplier;
		s->tsc_offset = ctl->tsc_offset;
	} else if (ctl->tsc_mode == VMX_TSC_OFFSET) {
		s->tsc_offset += ctl->tsc_offset;
	}
	v->root_phys_xlate = (void *)c->phys_xlate;
	c->phys_xlate = ctl->ept ? vmx_ept_xlate : vmx_host_xlate;
	c->vmx_nonroot = true;
	v->guest_mode = true;
}

/* Interrupt- and NMI-window exiting: every boundary is looked at (vmx_cpu.h). */
static void vmx_enter_windows(struct vmx_cpu *v)
{
	if (v->ctls.proc & (CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING))
		__atomic_or_fetch(&v->cpu->req, VMX_REQ_BOUNDARY, __ATOMIC_SEQ_CST);
}

/* The VMX-preemption timer starts counting (SDM 26.5.1). */
static void vmx_enter_timer(struct vmx_cpu *v, const void *vmcs)
{
	v->timer_armed = v->ctls.pin & PIN_BASED_VMX_PREEMPTION_TIMER;
	if (v->timer_armed) {
		u32 val = vmcs_get32(vmcs, VMX_PREEMPTION_TIMER_VALUE);

		v->timer_zero = !val;
		v->entry_tsc = vmx_host_tsc();
		v->timer_deadline = v->entry_tsc + ((u64)val << VMX_TIMER_RATE);
	} else {
		v->timer_zero = false;
	}
}

/* MSRs a VM-entry MSR-load list may not name (SDM 27.4). */
static bool msr_load_refused(u32 msr)
{
	return msr == 0xc0000100u || msr == 0xc0000101u ||	/* FS_BASE, GS_BASE */
	       (msr >> 8) == 0x8 ||				/* x2APIC */
	       msr == 0x9b || msr == 0x9e;			/* SMM_MONITOR_CTL, SMBASE */
}

/*
 * STEP 5.2 (27.4): the VM-entry MSR-load list.  Return: 0, or the 1-based
 * index of the entry that failed.
 */
static u32 load_msr_list(struct cpu *c, u64 addr, u32 count)
{
	const u8 *e = vmx_ptr(addr);

	for (u32 n = 0; n < count; n++, e += 16) {
		u32 idx, rsvd;
		u64 val;

		memcpy(&idx, e, 4);
		memcpy(&rsvd, e + 4, 4);
		memcpy(&val, e + 8, 8);
		if (rsvd || msr_load_refused(idx) || cpu_wrmsr(c, idx, val))
			return n + 1;
	}
	return 0;
}

/**
 * vmx_load_guest() - SDM 27.3.2 (load guest state), 27.4 (MSR-load list),
 * 27.6 (event injection) into the execution core
 * @qual: the exit qualification if entry fails here
 *
 * Return: 0 (the guest may run), or the exit reason of a failed VM entry
 * (EXIT_REASON_MSR_LOAD_FAIL | VMX_EXIT_REASONS_FAILED_VMENTRY).
 */
u32 vmx_load_guest(struct vmx_cpu *v, void *vmcs, u64 *qual)
{
	struct cpu *c = v->cpu;
	struct cpu_state *s = &c->s;
	const struct vmx_ctls *ctl = &v->ctls;
	bool ia32e = ctl->entry & VM_ENTRY_IA32E_MODE;
	bool fresh;
	u32 info, bad;

	/*
	 * The core still holds the guest state the last VM exit saved, and
	 * no field of it has changed since (vmx_cpu.h: guest_loaded): only the
	 * fields that change at every exit are loaded.
	 */
	fresh = !v->guest_loaded;
	v->host_regs_pending = false;
	v->guest_loaded = false;
	if (fresh) {
		/* STEP 5.1 (27.3.2.1): control registers, debug registers, MSRs. */
		s->cr0 = G(GUEST_CR0);
		s->cr3 = G(GUEST_CR3);
		s->cr4 = G(GUEST_CR4);
		if (ctl->entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) {
			s->dr[7] = G(GUEST_DR7);
			s->debugctl = G(GUEST_IA32_DEBUGCTL);
		}
		s->sysenter_cs = vmcs_get32(vmcs, GUEST_SYSENTER_CS);
		s->sysenter_esp = G(GUEST_SYSENTER_ESP);
		s->sysenter_eip = G(GUEST_SYSENTER_EIP);
		if (ctl->entry & VM_ENTRY_LOAD_IA32_PAT)
			s->pat = G(GUEST_IA32_PAT);
		if (ctl->entry & VM_ENTRY_LOAD_IA32_EFER) {
			s->efer = G(GUEST_IA32_EFER);
		} else {
			/* LMA = "IA-32e mode guest"; LME too if CR0.PG (27.3.2.1). */
			s->efer = (s->efer & ~EFER_LMA) | (ia32e ? EFER_LMA : 0);
			if (s->cr0 & CR0_PG)
				s->efer = (s->efer & ~EFER_LME) | (ia32e ? EFER_LME : 0);
		}

		/* (27.3.2.2) segment and descriptor-table registers. */
		for (int i = 0; i < CPU_NR_SEGS; i++) {
			struct gseg g = gseg(vmcs, i);

			s->seg[i] = (struct cpu_seg){ .base = g.base, .limit = g.limit, .ar = g.ar,
						      .sel = g.sel };
		}
		s->gdtr = (struct cpu_dtable){ G(GUEST_GDTR_BASE), vmcs_get32(vmcs, GUEST_GDTR_LIMIT) };
		s->idtr = (struct cpu_dtable){ G(GUEST_IDTR_BASE), vmcs_get32(vmcs, GUEST_IDTR_LIMIT) };
		/*
		 * What the VMCS holds (vmexit.c compares with it).  Note, in
		 * virtual-8086 form the VMCS has F3H where the core may keep
		 * other access rights: no snapshot then.
		 */
		memcpy(v->seg_snap, s->seg, sizeof(s->seg));
		v->seg_snap_v86 = G(GUEST_RFLAGS) & BIT(17);
		v->seg_snap_valid = !v->seg_snap_v86;
		c->nv_written = true;	/* the next exit saves them all (vmexit.c) */
		v->nv_snap_valid = false;
	}

	/* (27.3.2.3) RIP, RSP, RFLAGS, and the registers KVM keeps (Linux's __vmx_vcpu_run). */
	vmx_copy_gprs(s->gpr, v->regs);
	s->gpr[4] = G(GUEST_RSP);	/* KVM's array has a slot for it; the VMCS has RSP */
	s->rip = G(GUEST_RIP);
	s->rflags = G(GUEST_RFLAGS);
	c->lf_op = LF_NONE;
	s->pending_dbg = G(GUEST_PENDING_DBG_EXCEPTIONS);

	/*
	 * PAE paging with EPT: the PDPTEs come from the VMCS (27.3.2.4), not
	 * from memory; without EPT the core loads them from CR3 lazily.
	 */
	if (!fresh) {
		/* the PDPTE registers are as the exit saved them */
	} else if ((ctl->proc2 & SECONDARY_EXEC_ENABLE_EPT) && (s->cr0 & CR0_PG) &&
		   (s->cr4 & CR4_PAE) && !ia32e) {
		for (int i = 0; i < 4; i++)
			s->pdpte[i] = G(GUEST_PDPTR0 + 2 * i);
		c->pdpte_cr3 = s->cr3;
	} else {
		c->pdpte_cr3 = ~0ull;
	}

	/* (27.3.2.4) non-register state. */
	s->interruptibility = vmcs_get32(vmcs, GUEST_INTERRUPTIBILITY_INFO);
	s->activity = vmcs_get32(vmcs, GUEST_ACTIVITY_STATE);
	s->event_info = 0;

	vmx_enter_nonroot(v);
	vmx_enter_tlb_context(v, fresh);
	vmx_enter_windows(v);

	/* STEP 5.2 (27.4): MSR-load list, after the guest state is in place. */
	bad = load_msr_list(c, G(VM_ENTRY_MSR_LOAD_ADDR), vmcs_get32(vmcs, VM_ENTRY_MSR_LOAD_COUNT));
	if (bad) {
		*qual = bad;
		return EXIT_REASON_MSR_LOAD_FAIL | VMX_EXIT_REASONS_FAILED_VMENTRY;
	}

	vmx_enter_timer(v, vmcs);

	/* STEP 6 (27.6): event injection, delivered before the first guest instruction. */
	info = vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD);
	v->injected = 0;
	v->injecting = false;
	v->entry_icount = c->icount;
	if (info & INTR_INFO_VALID_MASK) {
		u32 type = info & INTR_INFO_INTR_TYPE_MASK;

		v->injected = info & ~INTR_INFO_UNBLOCK_NMI;
		v->injected_len = vmcs_get32(vmcs, VM_ENTRY_INSTRUCTION_LEN);
		/* An injected exception must not meet the exception bitmap (27.6.1). */
		v->injecting = type == INTR_TYPE_HARD_EXCEPTION || type == INTR_TYPE_SOFT_EXCEPTION ||
			       type == INTR_TYPE_PRIV_SW_EXCEPTION;
		v->injected_err = vmcs_get32(vmcs, VM_ENTRY_EXCEPTION_ERROR_CODE);
		s->event_insn_len = vmcs_get32(vmcs, VM_ENTRY_INSTRUCTION_LEN);
		cpu_inject_event(c, info & (INTR_INFO_VECTOR_MASK | INTR_INFO_INTR_TYPE_MASK |
					    INTR_INFO_DELIVER_CODE_MASK),
				 vmcs_get32(vmcs, VM_ENTRY_EXCEPTION_ERROR_CODE));
		if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			s->interruptibility |= GUEST_INTR_STATE_NMI;	/* (virtual-)NMI blocking */
	} else if ((s->pending_dbg & 0x400f) && !(s->interruptibility & GUEST_INTR_STATE_MOV_SS)) {
		/*
		 * (27.7.3) Pending debug exceptions (B3-B0, BS) without an
		 * injected event are delivered as a #DB trap before the first
		 * guest instruction, DR6 receiving the bits; the exception
		 * bitmap applies to it like to any #DB.  With MOV-SS blocking
		 * they wait (and are saved again at the exit).
		 */
		c->dr6_before_db = s->dr[6];
		c->db_bits = (u32)(s->pending_dbg & 0x400f);
		s->dr[6] = (s->dr[6] & ~0x400full) | (s->pending_dbg & 0x400f);
		s->pending_dbg = 0;
		cpu_inject_event(c, (u32)CPU_EVENT_HWEXC << CPU_EVENT_TYPE_SHIFT | 1, 0);
	}
	return 0;
}

/**
 * vmx_resume_fast() - VMRESUME in its common form, STEPs 1-6 in one pass:
 * the core still holds the guest state of the last VM exit (guest_loaded)
 * and the cached outcomes of the control, host-state and guest-state
 * checks hold (no VMWRITE changed a field they read), no event is
 * injected, the guest is active with no blocking and no pending debug
 * exceptions, and there is no MSR-load list.  Of the checks only those on
 * RIP and RFLAGS (STEP 4.4) and the TPR threshold remain, and of the
 * loads the fields that change at every exit.
 *
 * Return: true if the guest is ready to run; false if the entry is not of
 * that form (nothing was changed: vmx_entry_check() and vmx_load_guest()
 * then do it all, failures included).
 */
static __always_inline bool resume_fast(struct vmx_cpu *v, u64 *regs, bool cont)
{
	void *vmcs = v->port.vmcs;
	struct cpu *c = v->cpu;
	struct cpu_state *s = &c->s;
	const struct vmx_ctls *ctl = &v->ctls;
	u64 rip, rflags;
	bool ia32e;

	/*
	 * resume_ready: what the exit left holds, and no VMWRITE since
	 * (vmx_cpu.h) but to the fields checked below (VMCS_DIRTY_ENTRY).
	 */
	if (!v->resume_ready || (v->port.dirty & ~VMCS_DIRTY_ENTRY))
		return false;
	/* The controls are cached (ctls_valid): "IA-32e mode guest" as the exit saved it. */
	ia32e = ctl->entry & VM_ENTRY_IA32E_MODE;
	if ((vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK) |
	    vmcs_get32(vmcs, GUEST_INTERRUPTIBILITY_INFO) | vmcs_get32(vmcs, GUEST_ACTIVITY_STATE) |
	    G(GUEST_PENDING_DBG_EXCEPTIONS))
		return false;
	/* STEP 2 (27.2.1.1): VTPR is memory, checked at every entry. */
	if ((ctl->proc & CPU_BASED_TPR_SHADOW) && check_tpr_threshold(vmcs))
		return false;
	/* STEP 4.4 (27.3.1.4), as vmx_check_guest_volatile(). */
	rip = G(GUEST_RIP);
	rflags = G(GUEST_RFLAGS);
	/*
	 * "IA-32e mode guest" and CS.L: the core's 64-bit mode, as the core
	 * holds the state the exit saved (guest_loaded), and the exit set the
	 * control from its EFER.LMA.
	 */
	if (c->code64 ? !vmx_is_canonical(rip) : rip >> 32)
		return false;
	if ((rflags & RFLAGS_RSVD) || !(rflags & RFLAGS_FIXED1) ||
	    ((rflags & RFLAGS_VM) && (ia32e || !(G(GUEST_CR0) & CR0_PE))))
		return false;
	/*
	 * Going on in the exit's handler (vmx_run.c): the guest continues
	 * right after the instruction that exited, in a run that counts no
	 * preemption timer, in a TLB context that needs no flush.
	 */
	if (cont && (rip != c->cont_rip_next || !ctl->vpid_tagged ||
		     (ctl->pin & PIN_BASED_VMX_PREEMPTION_TIMER)))
		return false;

	/* STEP 5 (27.3.2.3-4): what changes at every exit; the rest is in the core. */
	v->resume_ready = 0;
	v->port.dirty = 0;
	v->regs = regs;
	v->host_regs_pending = false;
	v->guest_loaded = false;
	vmx_copy_gprs(s->gpr, regs);
	s->gpr[4] = G(GUEST_RSP);
	/* Going on in the handler: RIP is the exiting instruction's, its block adds the length. */
	s->rip = cont ? s->rip : rip;
	s->rflags = (rflags & 0x3f7fd7) | 2;
	c->lf_op = LF_NONE;
	s->pending_dbg = 0;
	s->interruptibility = 0;
	s->activity = CPU_ACTIVE;
	s->event_info = 0;
	/* The exit kept the non-root view, for the controls that still hold (resume_ready). */
	if (v->nonroot_kept) {
		v->nonroot_kept = false;
		v->guest_mode = true;
	} else {
		vmx_enter_nonroot(v);
	}
	/* Without a VPID every entry flushes (vmx_enter_tlb_context()); going on needs one. */
	if (!cont && !ctl->vpid_tagged)
		tlb_flush_all(c);
	/* vmx_enter_boundary() for an active guest without blocking (set above). */
	if ((rflags & CPU_FLAG_TF) || s->nmi_pending || c->dbg_exec || c->dbg_data)
		cpu_req(c, REQ_SLOW);
	vmx_enter_windows(v);
	if (cont) {
		/* no preemption timer (checked above) */
		v->timer_armed = false;
		v->timer_zero = false;
	} else {
		vmx_enter_timer(v, vmcs);
	}
	/* STEP 6: nothing to inject. */
	v->injected = 0;
	v->injecting = false;
	v->entry_icount = c->icount;
	return true;
}

bool vmx_resume_fast(struct vmx_cpu *v, u64 *regs, bool cont)
{
	return cont ? resume_fast(v, regs, true) : resume_fast(v, regs, false);
}

/*
 * VMRESUME going on in the suspended handler (vmx_run.c: vmx_op_enter()),
 * here so that the entry is made without a call: the entry, then the
 * switch to the processor's stack.  A resume_fast() that fails changes
 * nothing, so vmx_op_enter_slow() then does the whole entry.  The entry
 * may leave a request for the core (a window, TF, an NMI): the run then
 * starts over at the next instruction, whose boundary sees it
 * (vmx_cont_restart()).
 */
static __always_inline u32 resume_cont_go(struct vmx_cpu *v)
{
	struct fiber *f;

	/* a VMM signal alone since the exit (vmx_op_code_sync()): the block's bytes decide */
	if (unlikely(!cpu_cont_valid(v->cpu)) && !cpu_cont_revalidate(v->cpu))
		return vmx_cont_restart(v);
	f = fiber_to_core_back(&v->fib);
	return container_of(f, struct vmx_cpu, fib)->enter_result;
}

/*
 * The signal of vmx_op_code_sync() (the VMM may have written guest
 * memory), at a VM entry: every block compares its bytes before it runs
 * again (cpu.h cpu_code_sync()).
 */
static __always_inline void code_sync_take(struct vmx_cpu *v)
{
	if (unlikely(v->port.code_sync)) {
		v->port.code_sync = 0;
		if (v->cpu)
			cpu_code_sync(v->cpu);
	}
}

void vmx_code_sync_take(struct vmx_cpu *v)
{
	code_sync_take(v);
}

/* Suspended, on this thread, but not the common case below: resume_fast() decides. */
u32 vmx_resume_cont_other(struct vmx_cpu *v, u64 *regs)
{
	code_sync_take(v);
	if (!resume_fast(v, regs, true))
		return vmx_op_enter_slow(v, regs, true);
	v->suspended = false;
	return resume_cont_go(v);
}

/*
 * vmx_op_enter() saw VMX_RESUME_CONT (vmx_cpu.h) with the run suspended
 * on this thread and no VMWRITE since but to GUEST_RIP: the exit made the
 * checks on the fields it saved.  Left: RIP going on after the exiting
 * instruction; of the loads only the registers KVM keeps and RSP (the
 * rest of resume_fast()'s stores would write what the core holds: the
 * exit left RFLAGS computed, no event, no blocking, no timer, nothing
 * injected).
 */
u32 vmx_resume_cont(struct vmx_cpu *v, u64 *regs)
{
	struct cpu *c = v->cpu;
	void *vmcs = v->port.vmcs;
	struct cpu_state *s = &c->s;

	if (unlikely(G(GUEST_RIP) != c->cont_rip_next))
		return vmx_resume_cont_other(v, regs);
	vmx_copy_gprs(s->gpr, regs);
	s->gpr[4] = G(GUEST_RSP);
	v->regs = regs;
	v->injecting = false;
	/* The flags, adjacent (vmx_cpu.h); the non-root view was kept. */
	v->guest_loaded = false;
	v->host_regs_pending = false;
	v->nonroot_kept = false;
	v->guest_mode = true;
	v->suspended = false;
	v->resume_ready = 0;
	return resume_cont_go(v);
}

/*
 * vmx_resume_cont() after a KVM_RUN from user space: the signal of
 * vmx_op_code_sync() taken with the parked block's bytes compared at
 * once (cpu.h cpu_code_sync_cont()).
 */
u32 vmx_resume_cont_sync(struct vmx_cpu *v, u64 *regs)
{
	v->port.code_sync = 0;
	cpu_code_sync_cont(v->cpu);
	return vmx_resume_cont(v, regs);
}
