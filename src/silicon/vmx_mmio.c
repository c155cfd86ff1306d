// SPDX-License-Identifier: MIT
/*
 * vmx_mmio.c: MMIO in VMX non-root operation.
 *
 * The EPT-misconfiguration exit of an access whose translation the MMIO
 * TLB holds (tlb.c): the same exit information vmx_ept_xlate() gives for
 * a misconfiguration found by the walk (SDM 28.2.1: the exit
 * qualification is undefined, here 0; the guest-physical address field is
 * the address accessed; no guest-linear address).
 *
 * The VM-exit instruction length is that of the instruction whose access
 * met the entry, as Intel processors save it for EPT misconfigurations
 * (the SDM leaves the field undefined there; KVM's fast MMIO path,
 * handle_ept_misconfig() -> kvm_skip_emulated_instruction(), relies on
 * it on bare metal).
 */
#include "silicon/vmx_mmio.h"
#include "silicon/vmx_cpu.h"

u32 vmx_cur_insn_len(const struct cpu *c)
{
	const struct block *b = c->cur_block;

	if (!b)
		return 0;
	for (int k = 0; k < b->n; k++)
		if (c->blk_base + b->insn[k].off == c->s.rip)
			return b->insn[k].len;
	return 0;
}

void vmx_ept_misconfig_exit(struct cpu *c, u64 gpa)
{
	struct vmx_exit_info x = {
		.reason = EXIT_REASON_EPT_MISCONFIG, .gpa = gpa, .gpa_valid = true,
		.insn_len = vmx_cur_insn_len(c),
	};

	c->xlate_ctx = XLATE_NONE;
	vmx_exit_now(c->vmx, &x);
}
