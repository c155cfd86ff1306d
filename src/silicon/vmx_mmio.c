// SPDX-License-Identifier: MIT
/*
 * vmx_mmio.c: MMIO in VMX non-root operation.
 *
 * The EPT-misconfiguration exit of an access whose translation the MMIO
 * TLB holds (tlb.c): the same exit information vmx_ept_xlate() gives for
 * a misconfiguration found by the walk (SDM 28.2.1: the exit
 * qualification is undefined, here 0; the guest-physical address field is
 * the address accessed; no guest-linear address).
 */
#include "silicon/vmx_mmio.h"
#include "silicon/vmx_cpu.h"

void vmx_ept_misconfig_exit(struct cpu *c, u64 gpa)
{
	struct vmx_exit_info x = {
		.reason = EXIT_REASON_EPT_MISCONFIG, .gpa = gpa, .gpa_valid = true,
	};

	c->xlate_ctx = XLATE_NONE;
	vmx_exit_now(c->vmx, &x);
}
