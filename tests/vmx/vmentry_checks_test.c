// SPDX-License-Identifier: MIT
/*
 * VM-entry checks (SDM 27.2-27.3) through vmx_ops.h: start from a VMCS that
 * KVM would build, break one field at a time, and check how VMLAUNCH fails:
 * VMfailValid with error 7 (controls) or 8 (host state), or a VM exit with
 * reason 33 | bit 31 and the SDM's qualification (guest state).
 */
#include "../test.h"
#include "vmx_util.h"

static struct vmx_env env;
static u64 *ept_pml4;

struct mutation {
	const char *name;
	u32 field;
	u64 value;		/* written as is */
	u64 or_mask;		/* or: OR-ed into the current value (if value == KEEP) */
	u64 and_mask;		/*     then AND-ed with this (0 = no AND) */
	u32 expect;		/* VMX_ENTER_VMFAIL_VALID or the exit reason */
	u32 error;		/* VM_INSTRUCTION_ERROR, or the exit qualification */
	bool lm;		/* start from a 64-bit guest (else 32-bit protected) */
};

#define KEEP 0xdeadbeefcafef00dull
#define FAILVAL VMX_ENTER_VMFAIL_VALID
#define BADGUEST (EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY)

static const struct mutation mutations[] = {
	/* STEP 2: controls -> VMfailValid(7) */
	{ "pin-reserved-bit", PIN_BASED_VM_EXEC_CONTROL, KEEP, BIT(1) << 0 | BIT(8), 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "pin-default1-cleared", PIN_BASED_VM_EXEC_CONTROL, KEEP, 0, ~BIT(1),
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "tpr-shadow-without-vapic-page", CPU_BASED_VM_EXEC_CONTROL, KEEP, CPU_BASED_TPR_SHADOW, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "proc-mtf-unsupported", CPU_BASED_VM_EXEC_CONTROL, KEEP, CPU_BASED_MONITOR_TRAP_FLAG, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "proc2-apic-access-unsupported", SECONDARY_VM_EXEC_CONTROL, KEEP,
	  SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "cr3-target-count-5", CR3_TARGET_COUNT, 5, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "io-bitmap-unaligned", CPU_BASED_VM_EXEC_CONTROL, KEEP, CPU_BASED_USE_IO_BITMAPS, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },	/* bitmaps are 0 */
	{ "msr-bitmap-null", CPU_BASED_VM_EXEC_CONTROL, KEEP, CPU_BASED_USE_MSR_BITMAPS, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "virtual-nmis-without-nmi-exiting", PIN_BASED_VM_EXEC_CONTROL, KEEP, PIN_BASED_VIRTUAL_NMIS,
	  ~(u64)PIN_BASED_NMI_EXITING, FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "vpid-zero", VIRTUAL_PROCESSOR_ID, 0, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "eptp-memtype-2", EPT_POINTER, KEEP, 0, ~7ull,	/* then | 2 below */
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "eptp-5-level", EPT_POINTER, KEEP, 0x20, ~0x38ull,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "eptp-reserved-bit-7", EPT_POINTER, KEEP, BIT(7), 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "pml-without-address", SECONDARY_VM_EXEC_CONTROL, KEEP, SECONDARY_EXEC_ENABLE_PML, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "unrestricted-without-ept", SECONDARY_VM_EXEC_CONTROL, KEEP, 0,
	  ~(u64)SECONDARY_EXEC_ENABLE_EPT, FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "save-preemption-timer-without-timer", VM_EXIT_CONTROLS, KEEP,
	  VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0, FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "exit-msr-store-unaligned", VM_EXIT_MSR_STORE_COUNT, 1, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },	/* address set below */
	{ "entry-smm", VM_ENTRY_CONTROLS, KEEP, VM_ENTRY_SMM, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-reserved-type", VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_RESERVED | 32, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-nmi-vector-3", VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 3, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-exception-vector-32", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 32, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-gp-without-error-code", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 13, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-ud-with-error-code", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | INTR_INFO_DELIVER_CODE_MASK | INTR_TYPE_HARD_EXCEPTION | 6, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-error-code-bit-16", VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-soft-int-length-0", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x80, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },
	{ "inject-reserved-bits", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | BIT(20) | INTR_TYPE_EXT_INTR | 0x20, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_CONTROL_FIELD, true },

	/* STEP 3: host state -> VMfailValid(8) */
	{ "host-cr0-pg-clear", HOST_CR0, KEEP, 0, ~(u64)BIT(31),
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-cr4-vmxe-clear", HOST_CR4, KEEP, 0, ~(u64)BIT(13),
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-cr3-beyond-maxphyaddr", HOST_CR3, 1ull << 50, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-cs-zero", HOST_CS_SELECTOR, 0, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-tr-zero", HOST_TR_SELECTOR, 0, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-ds-rpl", HOST_DS_SELECTOR, 3, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-fs-base-noncanonical", HOST_FS_BASE, 0x0000800000000000ull, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-rip-noncanonical", HOST_RIP, 0x8000000000000000ull, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-32bit-address-space", VM_EXIT_CONTROLS, KEEP, 0, ~(u64)VM_EXIT_HOST_ADDR_SPACE_SIZE,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-pat-type-2", HOST_IA32_PAT, 0x0007040600070402ull, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },
	{ "host-efer-lma-clear", HOST_IA32_EFER, 0x101, 0, 0,
	  FAILVAL, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, true },

	/* STEP 4: guest state -> exit 33 | 1<<31 */
	{ "guest-cr0-ne-clear", GUEST_CR0, KEEP, 0, ~(u64)BIT(5), BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cr0-pg-without-pe", GUEST_CR0, 0x80000030, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, false },
	{ "guest-cr4-vmxe-clear", GUEST_CR4, KEEP, 0, ~(u64)BIT(13), BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-ia32e-without-pae", GUEST_CR4, KEEP, 0, ~(u64)BIT(5), BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-pcide-outside-ia32e", GUEST_CR4, KEEP, BIT(17), 0, BADGUEST, ENTRY_FAIL_DEFAULT, false },
	{ "guest-efer-lma-mismatch", GUEST_IA32_EFER, 0x100, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-efer-reserved", GUEST_IA32_EFER, KEEP, BIT(2), 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-dr7-high", GUEST_DR7, 0x100000400ull, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-pat-invalid", GUEST_IA32_PAT, 0x0707070707070708ull, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cs-data-type", GUEST_CS_AR_BYTES, 0xa091, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cs-not-present", GUEST_CS_AR_BYTES, 0xa01b, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cs-l-and-d", GUEST_CS_AR_BYTES, 0xe09b, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cs-g-limit", GUEST_CS_LIMIT, 0xfffff000, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-ss-code-type", GUEST_SS_AR_BYTES, 0xc09b, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-ds-not-accessed", GUEST_DS_AR_BYTES, 0xc092, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-ar-reserved-bits", GUEST_ES_AR_BYTES, 0xc193, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-tr-16bit-in-ia32e", GUEST_TR_AR_BYTES, 0x83, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-tr-unusable", GUEST_TR_AR_BYTES, 0x1008b, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-tr-ti", GUEST_TR_SELECTOR, 0x1c, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-ldtr-usable-bad-type", GUEST_LDTR_AR_BYTES, 0x83, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-fs-base-noncanonical", GUEST_FS_BASE, 0x0000800000000000ull, 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-cs-base-high", GUEST_CS_BASE, 0x100000000ull, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, false },
	{ "guest-gdtr-limit-high", GUEST_GDTR_LIMIT, 0x10000, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-idtr-base-noncanonical", GUEST_IDTR_BASE, 0x0000800000000000ull, 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-rip-high-in-32bit", GUEST_RIP, 0x100001000ull, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, false },
	{ "guest-rip-noncanonical", GUEST_RIP, 0x0000800000000000ull, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-rflags-bit1-clear", GUEST_RFLAGS, 0, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-rflags-reserved-bit3", GUEST_RFLAGS, 0xa, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-rflags-vm-in-ia32e", GUEST_RFLAGS, 0x20002, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-activity-shutdown", GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_SHUTDOWN, 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-interruptibility-reserved", GUEST_INTERRUPTIBILITY_INFO, BIT(5), 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-sti-blocking-with-if-clear", GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI, 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-sti-and-movss", GUEST_INTERRUPTIBILITY_INFO,
	  GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-pending-dbg-reserved", GUEST_PENDING_DBG_EXCEPTIONS, BIT(4), 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-sysenter-esp-noncanonical", GUEST_SYSENTER_ESP, 0x0000800000000000ull, 0, 0,
	  BADGUEST, ENTRY_FAIL_DEFAULT, true },
	{ "guest-link-pointer-bad", VMCS_LINK_POINTER, 0x1000, 0, 0, BADGUEST, ENTRY_FAIL_VMCS_LINK_PTR, true },
	{ "guest-ext-intr-with-if-clear", VM_ENTRY_INTR_INFO_FIELD,
	  INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x30, 0, 0, BADGUEST, ENTRY_FAIL_DEFAULT, true },
};

static void apply(const struct mutation *m)
{
	u64 v = m->value;

	if (v == KEEP) {
		v = __vmcs_readl(m->field) | m->or_mask;
		if (m->and_mask)
			v &= m->and_mask;
	}
	if (!strcmp(m->name, "inject-error-code-bit-16"))
		__vmcs_writel(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
					INTR_INFO_DELIVER_CODE_MASK | 13);
	if (!strcmp(m->name, "eptp-memtype-2"))
		v |= 2;
	if (!strcmp(m->name, "exit-msr-store-unaligned"))
		__vmcs_writel(VM_EXIT_MSR_STORE_ADDR, (u64)(uintptr_t)test_pages(1) + 8);
	CHECK_EQ(__vmcs_writel(m->field, v), VMX_SUCCEED);
}

static void fresh_vmcs(bool lm)
{
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	memset((u8 *)env.vmcs + 4, 0, 4092);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	vmcs_setup_guest(&env, (u64)(uintptr_t)ept_pml4 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4, lm, 0x1000);
}

/*
 * Passing every check: the guest runs (here into an empty EPT, so it exits
 * with an EPT violation at its first fetch).
 */
static bool entry_passes_checks(u32 r)
{
	return r != VMX_ENTER_VMFAIL_VALID && r != VMX_ENTER_VMFAIL_INVALID &&
	       r != VMX_ENTER_FAULT && !(r & VMX_EXIT_REASONS_FAILED_VMENTRY);
}

static void baseline_passes(void)
{
	for (int lm = 0; lm < 2; lm++) {
		u32 r;

		fresh_vmcs(lm);
		r = vmx_vcpu_enter(env.regs, false);
		CHECK(entry_passes_checks(r), "lm=%d: %#x error %u", lm, r, vmcs_read32(VM_INSTRUCTION_ERROR));
	}
}

static void one_mutation(const struct mutation *m)
{
	u32 r;

	test_begin(m->name);
	fresh_vmcs(m->lm);
	vmcs_write32(VM_EXIT_REASON, 0);	/* read-only: stays as the processor left it */
	apply(m);
	r = vmx_vcpu_enter(env.regs, false);
	CHECK_EQ(r, m->expect);
	if (m->expect == FAILVAL) {
		CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), m->error);
	} else {
		CHECK_EQ(vmcs_read32(VM_EXIT_REASON), m->expect);
		CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), m->error);
		/* A failed VM entry leaves the VMCS clear: VMRESUME is refused. */
		CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
		CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	}
	test_end();
}

/*
 * The same mutation made after a VM entry that passed every check and the
 * VM exit that followed: the processor skips checks whose fields have not
 * changed since (vmx_cpu.h: ctl_host_checked, guest_checked), and VMRESUME
 * must still fail exactly as VMLAUNCH of the fresh VMCS did.
 */
static void mutation_after_entry(const struct mutation *m)
{
	char name[96];
	u32 r;

	snprintf(name, sizeof(name), "%s-after-entry", m->name);
	test_begin(name);
	fresh_vmcs(m->lm);
	r = vmx_vcpu_enter(env.regs, false);
	CHECK(entry_passes_checks(r), "baseline: %#x", r);
	r = vmx_vcpu_enter(env.regs, true);
	CHECK(entry_passes_checks(r), "baseline resumed: %#x", r);
	apply(m);
	r = vmx_vcpu_enter(env.regs, true);
	CHECK_EQ(r, m->expect);
	if (m->expect == FAILVAL) {
		CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), m->error);
	} else {
		CHECK_EQ(vmcs_read32(VM_EXIT_REASON), m->expect);
		CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), m->error);
	}
	test_end();
}

/*
 * RFLAGS is checked at every entry, but its VM bit decides which segment
 * checks apply: setting it on a VMCS whose segments passed as protected-mode
 * segments must have them checked again (they are not in virtual-8086 form).
 */
static void rflags_vm_after_entry(void)
{
	u32 r;

	fresh_vmcs(false);
	r = vmx_vcpu_enter(env.regs, false);
	CHECK(entry_passes_checks(r), "baseline: %#x", r);
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | BIT(17));
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), BADGUEST);
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) & ~BIT(17));
	r = vmx_vcpu_enter(env.regs, true);
	CHECK(entry_passes_checks(r), "RFLAGS.VM cleared again: %#x", r);
}

static void unrestricted_real_mode(void)
{
	/* CR0.PE = PG = 0 is allowed only for unrestricted guests (SDM 27.3.1.1). */
	u32 r;

	fresh_vmcs(false);
	vmcs_writel(GUEST_CR0, 0x30);
	vmcs_write32(GUEST_CS_AR_BYTES, 0x9b);
	vmcs_write32(GUEST_CS_LIMIT, 0xffff);
	vmcs_write16(GUEST_CS_SELECTOR, 0xf000);
	vmcs_writel(GUEST_CS_BASE, 0xf0000);
	vmcs_write16(GUEST_SS_SELECTOR, 0);
	vmcs_write32(GUEST_SS_AR_BYTES, 0x93);
	vmcs_write32(GUEST_SS_LIMIT, 0xffff);
	vmcs_writel(GUEST_RIP, 0xfff0);
	r = vmx_vcpu_enter(env.regs, false);
	CHECK(entry_passes_checks(r), "real mode refused: %#x", r);
	fresh_vmcs(false);
	vmcs_writel(GUEST_CR0, 0x30);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL,
		     vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_EXEC_UNRESTRICTED_GUEST);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), BADGUEST);
}

static void pdpte_check(void)
{
	/* PAE paging with EPT: PDPTEs come from the VMCS and are checked (qual 2). */
	fresh_vmcs(false);
	vmcs_writel(GUEST_CR0, 0x80000031ul);
	vmcs_writel(GUEST_CR4, 0x2020);
	vmcs_write64(GUEST_PDPTR0, 0x5001);
	vmcs_write64(GUEST_PDPTR1, 0x6001 | BIT(5));	/* reserved bit */
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), BADGUEST);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), ENTRY_FAIL_PDPTE);
	vmcs_write64(GUEST_PDPTR1, 0x6000 | BIT(5));	/* not present: ignored */
	CHECK(entry_passes_checks(vmx_vcpu_enter(env.regs, false)), "PDPTE not present refused");
}

static void nmi_injection_sti_blocking(void)
{
	fresh_vmcs(true);
	vmcs_writel(GUEST_RFLAGS, 0x202);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), BADGUEST);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), ENTRY_FAIL_NMI);
}

static void inject_error_code_bit_15(void)
{
	/* Bit 15 (#PF SGX) is a valid error-code bit; only 31:16 are checked. */
	fresh_vmcs(true);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
					       INTR_INFO_DELIVER_CODE_MASK | 14);
	vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x8000);
	CHECK(entry_passes_checks(vmx_vcpu_enter(env.regs, false)), "error code bit 15 refused");
}

static void controls_order(void)
{
	/* Controls are checked before host state, host before guest. */
	fresh_vmcs(true);
	vmcs_write32(CR3_TARGET_COUNT, 9);
	vmcs_write16(HOST_CS_SELECTOR, 0);
	vmcs_writel(GUEST_RFLAGS, 0);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), FAILVAL);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	vmcs_write32(CR3_TARGET_COUNT, 4);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), FAILVAL);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
	vmcs_write16(HOST_CS_SELECTOR, 0x10);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), BADGUEST);
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	ept_pml4 = test_pages(1);
	RUN_TEST(baseline_passes);
	for (unsigned i = 0; i < ARRAY_SIZE(mutations); i++)
		one_mutation(&mutations[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(mutations); i++)
		mutation_after_entry(&mutations[i]);
	RUN_TEST(rflags_vm_after_entry);
	RUN_TEST(unrestricted_real_mode);
	RUN_TEST(pdpte_check);
	RUN_TEST(nmi_injection_sti_blocking);
	RUN_TEST(inject_error_code_bit_15);
	RUN_TEST(controls_order);
	env_teardown(&env);
	return 0;
}
