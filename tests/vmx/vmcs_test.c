// SPDX-License-Identifier: MIT
/*
 * VMX instructions on the VMCS through vmx_ops.h: VMXON/VMCLEAR/VMPTRLD/
 * VMPTRST, VMREAD/VMWRITE widths and their VMfail semantics (SDM ch. 31).
 */
#include "../test.h"
#include "vmx_util.h"

static struct vmx_env env;

static u32 insn_error(void)
{
	return vmcs_read32(VM_INSTRUCTION_ERROR);
}

static void vmwrite_widths(void)
{
	/* Each width keeps its own bits and drops the rest (SDM 31 VMWRITE). */
	vmcs_write16(GUEST_ES_SELECTOR, 0xabcd);
	CHECK_EQ(vmcs_read16(GUEST_ES_SELECTOR), 0xabcd);
	CHECK_EQ(__vmcs_writel(GUEST_CS_SELECTOR, 0x123456789ull), VMX_SUCCEED);
	CHECK_EQ(__vmcs_readl(GUEST_CS_SELECTOR), 0x6789);
	CHECK_EQ(__vmcs_writel(GUEST_ES_LIMIT, 0xfedcba9876543210ull), VMX_SUCCEED);
	CHECK_EQ(__vmcs_readl(GUEST_ES_LIMIT), 0x76543210);
	vmcs_write64(TSC_OFFSET, 0x1122334455667788ull);
	CHECK_EQ(vmcs_read64(TSC_OFFSET), 0x1122334455667788ull);
	/* The high encoding of a 64-bit field is bits 63:32. */
	CHECK_EQ(vmcs_read32(VMCS_HIGH(TSC_OFFSET)), 0x11223344);
	vmcs_write32(VMCS_HIGH(TSC_OFFSET), 0xaabbccdd);
	CHECK_EQ(vmcs_read64(TSC_OFFSET), 0xaabbccdd55667788ull);
	vmcs_writel(GUEST_RIP, 0xffffffff81000123ul);
	CHECK_EQ(vmcs_readl(GUEST_RIP), 0xffffffff81000123ul);
	/* Fields are distinct: writing one leaves its neighbours alone. */
	CHECK_EQ(vmcs_read16(GUEST_ES_SELECTOR), 0xabcd);
}

static void vmwrite_every_field(void)
{
	/* Every field the processor enumerates keeps a value of its own width. */
	u64 v;
	u32 enc;

	for (u32 pass = 0; pass < 2; pass++) {
		for (enc = 0; enc < 0x8000; enc += 2) {
			u64 val = 0x0123456789abcdefull ^ ((u64)enc * 0x9e3779b97f4a7c15ull);
			enum vmx_status st = vmcs_read_checked(enc, &v);

			if (st != VMX_SUCCEED)
				continue;
			if (VMCS_FIELD_TYPE(enc) == VMCS_FIELD_TYPE_EXITINFO)
				continue;
			if (pass == 0) {
				CHECK_EQ(__vmcs_writel(enc, val), VMX_SUCCEED);
			} else {
				u64 mask = VMCS_FIELD_WIDTH(enc) == 0 ? 0xffff :
					   VMCS_FIELD_WIDTH(enc) == 2 ? 0xffffffff : ~0ull;

				CHECK(__vmcs_readl(enc) == (val & mask), "field %#x", enc);
			}
		}
	}
}

static void vmread_unsupported(void)
{
	u64 v = 0x55;

	/* POSTED_INTR_NV (0x0002): no posted interrupts on this processor. */
	CHECK_EQ(vmcs_read_checked(0x0002, &v), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	CHECK_EQ(v, 0x55);
	/* Reserved bit 12 of the encoding. */
	CHECK_EQ(vmcs_read_checked(GUEST_RIP | 0x1000, &v), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	/* A "high" access to a field that is not 64-bit. */
	CHECK_EQ(vmcs_read_checked(GUEST_ES_LIMIT | 1, &v), VMX_FAIL_VALID);
	CHECK_EQ(vmcs_read_checked(GUEST_RIP | 1, &v), VMX_FAIL_VALID);
	CHECK_EQ(__vmcs_writel(0x0002, 1), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	/* Bits 63:32 of the encoding operand (VMREAD uses all 64... we take 32). */
	CHECK_EQ(vmcs_read_checked(0x80000000u | GUEST_RIP, &v), VMX_FAIL_VALID);
}

/*
 * VMREAD succeeds exactly for the encodings of the fields the processor
 * implements (VMCS_FIELDS()) and the high halves of its 64-bit ones:
 * every 17-bit encoding, through the processor's encoding -> slot lookup.
 */
static void vmread_encodings_exact(void)
{
	static const u32 fields[] = {
#define VMCS_ENC(name, enc) enc,
		VMCS_FIELDS(VMCS_ENC)
#undef VMCS_ENC
	};
	unsigned bad = 0;

	for (u32 enc = 0; enc < 0x20000; enc++) {
		bool want = false;
		u64 v;

		for (unsigned i = 0; i < ARRAY_SIZE(fields) && !want; i++)
			want = enc == fields[i] ||
			       (enc == (fields[i] | 1) && VMCS_FIELD_WIDTH(fields[i]) == VMCS_FIELD_WIDTH_64);
		if ((vmcs_read_checked(enc, &v) == VMX_SUCCEED) != want && bad++ < 4)
			CHECK(false, "encoding %#x: VMREAD %s", enc, want ? "failed" : "succeeded");
	}
	CHECK_EQ(bad, 0);
}

/*
 * vmx_op_vmread_val() (vmx_api.h): VMREAD's value, 0 whenever VMREAD
 * does not succeed, for every 17-bit encoding (high halves included), with
 * no current VMCS, and on a thread bound to no processor.
 */
static void vmread_val_matches_vmread(void)
{
	unsigned bad = 0, nonzero = 0;

	vmcs_write64(TSC_OFFSET, 0x1122334455667788ull);
	vmcs_writel(GUEST_RIP, 0xffffffff81000123ul);
	vmcs_write16(GUEST_ES_SELECTOR, 0xabcd);
	for (u32 enc = 0; enc < 0x20000; enc++) {
		u64 v = 0, want = vmcs_read_checked(enc, &v) == VMX_SUCCEED ? v : 0;

		nonzero += want != 0;
		if (vmx_op_vmread_val(enc) != want && bad++ < 4)
			CHECK(false, "encoding %#x: %#llx, VMREAD %#llx", enc,
			      (unsigned long long)vmx_op_vmread_val(enc), (unsigned long long)want);
	}
	CHECK_EQ(bad, 0);
	CHECK(nonzero >= 4, "only %u fields read nonzero", nonzero);
	CHECK_EQ(vmx_op_vmread_val(TSC_OFFSET), 0x1122334455667788ull);
	CHECK_EQ(vmx_op_vmread_val(VMCS_HIGH(TSC_OFFSET)), 0x11223344);
	CHECK_EQ(vmx_op_vmread_val(GUEST_RIP), 0xffffffff81000123ull);
	CHECK_EQ(vmx_op_vmread_val(GUEST_ES_SELECTOR), 0xabcd);
	/* An unsupported field: VMfailValid, read as 0. */
	CHECK_EQ(vmx_op_vmread_val(0x0002), 0);
	CHECK_EQ(insn_error(), VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	/* No current VMCS: VMfailInvalid, read as 0. */
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmx_op_vmread_val(GUEST_RIP), 0);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmx_op_vmread_val(GUEST_RIP), 0xffffffff81000123ull);
	/* Bound to no processor: VMREAD would #UD; read as 0. */
	vmx_cpu_bind(NULL);
	CHECK_EQ(vmx_op_vmread_val(GUEST_RIP), 0);
	vmx_cpu_bind(env.lp);
	CHECK_EQ(vmx_op_vmread_val(GUEST_RIP), 0xffffffff81000123ull);
}

static void vmwrite_read_only(void)
{
	static const u32 ro[] = {
		VM_INSTRUCTION_ERROR, VM_EXIT_REASON, VM_EXIT_INTR_INFO, EXIT_QUALIFICATION,
		GUEST_PHYSICAL_ADDRESS, GUEST_LINEAR_ADDRESS, VM_EXIT_INSTRUCTION_LEN,
		VMX_INSTRUCTION_INFO, IDT_VECTORING_INFO_FIELD,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(ro); i++) {
		CHECK_EQ(__vmcs_writel(ro[i], 1), VMX_FAIL_VALID);
		CHECK(insn_error() == VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT, "field %#x", ro[i]);
	}
	/* The error of the last failure stays until the next one. */
	CHECK_EQ(__vmcs_writel(GUEST_RSP, 1), VMX_SUCCEED);
	CHECK_EQ(insn_error(), VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
}

static void no_current_vmcs(void)
{
	u64 v;

	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	/* VMCLEAR of the current VMCS leaves no current VMCS. */
	CHECK_EQ(vmcs_store(), ~0ull);
	CHECK_EQ(vmcs_read_checked(GUEST_RIP, &v), VMX_FAIL_INVALID);
	CHECK_EQ(__vmcs_writel(GUEST_RIP, 0), VMX_FAIL_INVALID);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), VMX_ENTER_VMFAIL_INVALID);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_store(), (u64)(uintptr_t)env.vmcs);
}

static void vmptrld_errors(void)
{
	u32 *bad = test_pages(1);
	void *other = vmx_region(&env.conf);

	bad[0] = env.conf.basic_revision_id ^ 1;
	CHECK_EQ(vmcs_load(bad), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	bad[0] = env.conf.basic_revision_id | 0x80000000u;	/* shadow VMCS */
	CHECK_EQ(vmcs_load(bad), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	CHECK_EQ(vmcs_load((u8 *)other + 8), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMPTRLD_INVALID_ADDRESS);
	CHECK_EQ(vmcs_load(env.vmxon), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMPTRLD_VMXON_POINTER);
	CHECK_EQ(vmcs_clear((u8 *)other + 16), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMCLEAR_INVALID_ADDRESS);
	CHECK_EQ(vmcs_clear(env.vmxon), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMCLEAR_VMXON_POINTER);
	/* The failures left the current VMCS in place. */
	CHECK_EQ(vmcs_store(), (u64)(uintptr_t)env.vmcs);
	/* Switching VMCSs: fields belong to the VMCS, not the processor. */
	vmcs_writel(GUEST_RIP, 0x1111);
	CHECK_EQ(vmcs_clear(other), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(other), VMX_SUCCEED);
	vmcs_writel(GUEST_RIP, 0x2222);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_readl(GUEST_RIP), 0x1111);
	CHECK_EQ(vmcs_load(other), VMX_SUCCEED);
	CHECK_EQ(vmcs_readl(GUEST_RIP), 0x2222);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
}

static void vmxon_rules(void)
{
	struct vmx_cpu *lp = vmx_cpu_create();
	void *region = vmx_region(&env.conf);
	u32 *bad = test_pages(1);

	vmx_cpu_bind(lp);
	/* CR4.VMXE = 0: #UD. */
	CHECK_EQ(cpu_vmxon(region), VMX_FAULT_UD);
	/* Not in VMX operation: VMX instructions #UD. */
	CHECK_EQ(vmcs_load(env.vmcs), VMX_FAULT_UD);
	cr4_set_bits(BIT(13));
	bad[0] = 0x12345;
	CHECK_EQ(cpu_vmxon(bad), VMX_FAIL_INVALID);
	CHECK_EQ(cpu_vmxon((u8 *)region + 64), VMX_FAIL_INVALID);
	CHECK_EQ(cpu_vmxon(region), VMX_SUCCEED);
	/* CR4.VMXE cannot be cleared in VMX operation. */
	cr4_clear_bits(BIT(13));
	CHECK(__read_cr4() & BIT(13), "VMXE cleared in VMX operation");
	/* VMXON in VMX root operation: VMfailInvalid without a current VMCS... */
	CHECK_EQ(cpu_vmxon(region), VMX_FAIL_INVALID);
	/* ...VMfailValid(15) with one. */
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(cpu_vmxon(region), VMX_FAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
	CHECK_EQ(cpu_vmxoff(), VMX_SUCCEED);
	CHECK_EQ(cpu_vmxoff(), VMX_FAULT_UD);
	vmx_cpu_destroy(lp);
	CHECK(vmx_this_cpu() == NULL, "destroyed processor still bound");
	/* A thread on no processor: every VMX instruction is refused. */
	CHECK_EQ(vmcs_load(env.vmcs), VMX_FAULT_UD);
	vmx_cpu_bind(env.lp);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
}

static void launch_state(void)
{
	/* VMRESUME of a clear VMCS: VMfailValid(5), before any other check. */
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(insn_error(), VMXERR_VMRESUME_NONLAUNCHED_VMCS);
}

static void vmcs_enum_msr(void)
{
	u64 vmcs_enum, v;
	u32 max = 0;

	/* IA32_VMX_VMCS_ENUM[9:1] is the highest index of any field. */
	CHECK_EQ(rdmsrl_vmx_cap(MSR_IA32_VMX_VMCS_ENUM, &vmcs_enum), 0);
	for (u32 enc = 0; enc < 0x8000; enc++)
		if (vmcs_read_checked(enc, &v) == VMX_SUCCEED && VMCS_FIELD_INDEX(enc) > max)
			max = VMCS_FIELD_INDEX(enc);
	CHECK_EQ((vmcs_enum >> 1) & 0x1ff, max);
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	RUN_TEST(vmwrite_widths);
	RUN_TEST(vmwrite_every_field);
	RUN_TEST(vmread_unsupported);
	RUN_TEST(vmread_encodings_exact);
	RUN_TEST(vmread_val_matches_vmread);
	RUN_TEST(vmwrite_read_only);
	RUN_TEST(no_current_vmcs);
	RUN_TEST(vmptrld_errors);
	RUN_TEST(vmxon_rules);
	RUN_TEST(launch_state);
	RUN_TEST(vmcs_enum_msr);
	env_teardown(&env);
	return 0;
}
