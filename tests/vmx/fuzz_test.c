// SPDX-License-Identifier: MIT
/*
 * Robustness: VM entries with many random guest-state and control values
 * (a fixed seed, so runs are repeatable).  The pointers KVM owns (EPTP,
 * bitmaps, MSR lists, virtual-APIC and PML pages) stay valid, as they do
 * with a correct KVM, and EPT stays on (without it CR3 and every page-table
 * entry would be KVM-owned host addresses too); everything else is fair
 * game.  Every entry must end
 * in one of the outcomes the SDM allows: VMfailValid with error 7 or 8, a
 * failed entry (exit reason 33 or 34 with bit 31), or a VM exit; never a
 * crash, a hang or an access outside the guest's memory (ASan).
 */
#include "../test.h"
#include "vmx_util.h"

#ifndef FUZZ_ITERS
#define FUZZ_ITERS 3000
#endif

static struct vmx_env env;
#ifndef FUZZ_SEED
#define FUZZ_SEED 0x9e3779b97f4a7c15ull
#endif
static u64 rng = FUZZ_SEED;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mostly plausible values, sometimes anything. */
static u64 pick(u64 good)
{
	switch (rnd() % 8) {
	case 0: return rnd();
	case 1: return good ^ (1ull << (rnd() % 64));
	case 2: return good ^ (1ull << (rnd() % 16));
	case 3: return 0;
	default: return good;
	}
}

static const u32 fuzzed[] = {
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_IA32_EFER, GUEST_RFLAGS, GUEST_RIP, GUEST_RSP,
	GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES, GUEST_CS_LIMIT, GUEST_CS_BASE,
	GUEST_SS_SELECTOR, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES,
	GUEST_FS_BASE, GUEST_GS_BASE, GUEST_TR_AR_BYTES, GUEST_TR_LIMIT, GUEST_LDTR_AR_BYTES,
	GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_PENDING_DBG_EXCEPTIONS,
	GUEST_DR7, GUEST_IA32_DEBUGCTL, GUEST_IA32_PAT, GUEST_SYSENTER_ESP,
	GUEST_PDPTR0, GUEST_PDPTR1,
	PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL,
	VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS, EXCEPTION_BITMAP, PAGE_FAULT_ERROR_CODE_MASK,
	VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN,
	CR0_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_GUEST_HOST_MASK, CR3_TARGET_COUNT,
	VIRTUAL_PROCESSOR_ID, VMX_PREEMPTION_TIMER_VALUE, TPR_THRESHOLD, GUEST_PML_INDEX,
	HOST_CR0, HOST_CR4, HOST_CS_SELECTOR, HOST_TR_SELECTOR, HOST_RIP, HOST_IA32_EFER,
};

static void random_entries(void)
{
	u8 *mem = test_pages(64);			/* 256 KiB of guest memory */
	u64 *pml4 = test_pages(1), *pdpt = test_pages(1), *pd = test_pages(1), *pt = test_pages(1);
	u8 *bitmaps = test_pages(4), *vapic = test_pages(1), *pml = test_pages(1);
	u64 eptp = (u64)(uintptr_t)pml4 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | VMX_EPTP_AD_ENABLE_BIT;
	unsigned outcomes[5] = { 0 };

	pml4[0] = (u64)(uintptr_t)pdpt | 7;
	pdpt[0] = (u64)(uintptr_t)pd | 7;
	pd[0] = (u64)(uintptr_t)pt | 7;
	for (int n = 0; n < 64; n++)
		pt[n] = (u64)(uintptr_t)(mem + n * 4096) | 7 | 6 << 3;
	for (int iter = 0; iter < FUZZ_ITERS; iter++) {
		u32 r;

		/* Random bytes as code and data: whatever the guest does, it stays inside. */
		for (int k = 0; k < 64 * 4096; k += 8)
			*(u64 *)(mem + k) = rnd();
		/* EPT leaves with random permissions, memory types and ignored bits. */
		for (int n = 0; n < 64; n++) {
			u64 bits = rnd() % 4 ? 7 | 6 << 3 : rnd() & (0x7f | 0x7ffull << 52 | 0xf00);

			pt[n] = (u64)(uintptr_t)(mem + n * 4096) | bits;
		}
		CHECK_EQ(__invept(VMX_EPT_EXTENT_GLOBAL, 0, 0), VMX_SUCCEED);
		CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
		CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
		vmcs_setup_guest(&env, eptp, rnd() & 1, rnd() % (64 * 4096));
		vmcs_write64(IO_BITMAP_A, (u64)(uintptr_t)bitmaps);
		vmcs_write64(IO_BITMAP_B, (u64)(uintptr_t)bitmaps + 4096);
		vmcs_write64(MSR_BITMAP, (u64)(uintptr_t)bitmaps + 8192);
		vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, (u64)(uintptr_t)vapic);
		vmcs_write64(PML_ADDRESS, (u64)(uintptr_t)pml);
		/* Half the entries keep KVM's controls and host state: more guests run. */
		{
			bool guest_only = rnd() & 1;

			for (unsigned k = 0; k < ARRAY_SIZE(fuzzed); k++) {
				if (guest_only && VMCS_FIELD_TYPE(fuzzed[k]) != VMCS_FIELD_TYPE_GUEST)
					continue;
				if (rnd() % 4 == 0)
					__vmcs_writel(fuzzed[k], pick(__vmcs_readl(fuzzed[k])));
			}
		}
		vmcs_write32(SECONDARY_VM_EXEC_CONTROL,
			     vmcs_read32(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_ENABLE_EPT);
		if (!(vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
			continue;	/* without secondary controls EPT is off */
		/* Bound the guest's run: the preemption timer (when the controls allow it). */
		vmcs_write32(PIN_BASED_VM_EXEC_CONTROL,
			     vmcs_read32(PIN_BASED_VM_EXEC_CONTROL) | PIN_BASED_VMX_PREEMPTION_TIMER);
		if (vmcs_read32(VMX_PREEMPTION_TIMER_VALUE) > 20000)
			vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 20000);
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
			     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_HLT_EXITING);
		memset(env.regs, 0, sizeof(env.regs));
		r = vmx_vcpu_enter(env.regs, false);
		if (r == VMX_ENTER_VMFAIL_VALID) {
			u32 e = vmcs_read32(VM_INSTRUCTION_ERROR);

			CHECK(e == VMXERR_ENTRY_INVALID_CONTROL_FIELD ||
			      e == VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, "iter %d: error %u", iter, e);
			outcomes[e == VMXERR_ENTRY_INVALID_CONTROL_FIELD ? 0 : 1]++;
		} else if (r & VMX_EXIT_REASONS_FAILED_VMENTRY) {
			CHECK((r & 0xffff) == EXIT_REASON_INVALID_STATE ||
			      (r & 0xffff) == EXIT_REASON_MSR_LOAD_FAIL, "iter %d: %#x", iter, r);
			outcomes[2]++;
		} else {
			CHECK(r < 80, "iter %d: exit %#x", iter, r);
			CHECK_EQ(vmcs_read32(VM_EXIT_REASON), r);
			outcomes[3]++;
			/*
			 * The guest state a VM exit saves passes the entry checks:
			 * VMRESUME of it as is must not fail them (except after a
			 * triple fault: shutdown is not an activity state to enter).
			 */
			if (r != EXIT_REASON_TRIPLE_FAULT) {
				u32 r2;

				vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 0);
				r2 = vmx_vcpu_enter(env.regs, true);
				CHECK(r2 != VMX_ENTER_VMFAIL_VALID && !(r2 & VMX_EXIT_REASONS_FAILED_VMENTRY),
				      "iter %d: exit %u, resume fails: %#x (error %u, qual %lu)", iter, r, r2,
				      vmcs_read32(VM_INSTRUCTION_ERROR), vmcs_readl(EXIT_QUALIFICATION));
				outcomes[4]++;
#ifdef FUZZ_VERBOSE
				if (r2 & VMX_EXIT_REASONS_FAILED_VMENTRY) {
					static const u32 f[] = { GUEST_CR0, GUEST_CR4, GUEST_IA32_EFER, VM_ENTRY_CONTROLS,
						GUEST_RFLAGS, GUEST_RIP, GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES, GUEST_CS_LIMIT,
						GUEST_CS_BASE, GUEST_SS_SELECTOR, GUEST_SS_AR_BYTES, GUEST_SS_LIMIT,
						GUEST_DS_SELECTOR, GUEST_DS_AR_BYTES, GUEST_DS_LIMIT, GUEST_ES_SELECTOR,
						GUEST_ES_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_TR_AR_BYTES,
						GUEST_TR_LIMIT, GUEST_LDTR_AR_BYTES, GUEST_LDTR_SELECTOR,
						GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
						GUEST_PENDING_DBG_EXCEPTIONS, GUEST_IA32_DEBUGCTL, GUEST_DR7,
						VM_ENTRY_INTR_INFO_FIELD, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
						GUEST_FS_BASE, GUEST_GS_BASE, GUEST_TR_BASE, GUEST_SYSENTER_ESP };
					for (unsigned q = 0; q < ARRAY_SIZE(f); q++)
						printf("  %#x = %#llx\n", f[q], (unsigned long long)__vmcs_readl(f[q]));
				}
#endif
			}
		}
		if (test_failed_now)
			break;
	}
#ifdef FUZZ_VERBOSE
	printf("outcomes: control %u host %u guest %u ran %u resumed %u\n", outcomes[0], outcomes[1],
	       outcomes[2], outcomes[3], outcomes[4]);
#endif
	/* The mix reaches every stage: control, host and guest checks, and guests that ran. */
	CHECK(outcomes[0] && outcomes[1] && outcomes[2] && outcomes[3],
	      "outcomes %u %u %u %u", outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	RUN_TEST(random_entries);
	env_teardown(&env);
	return 0;
}
