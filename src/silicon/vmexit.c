// SPDX-License-Identifier: MIT
/*
 * VM exits (SDM Vol. 3 ch. 28): record the exit information, save the guest
 * state, load the host state.  In this processor the host is the caller of
 * vmx_op_enter(): "loading host state" puts the host-state area into the
 * processor's root-operation registers and returning from vmx_op_enter()
 * resumes the host at HOST_RIP, as the SDM's RIP load would.
 */
#include "silicon/vmx_cpu.h"

/*
 * STEP 3 (28.5): load host state.  The processor's root-operation control
 * registers become the host-state fields; the rest of the host state (the
 * segment registers, RSP, RIP) is the C caller's own.
 */
void vmx_load_host_state(struct vmx_cpu *v, const void *vmcs)
{
	v->root_cr0 = vmcs_get(vmcs, HOST_CR0);
	v->root_cr4 = vmcs_get(vmcs, HOST_CR4);
	v->guest_mode = false;
}

/**
 * vmx_entry_failed() - a VM entry that fails after the host-state checks
 * (SDM 27.8): only the exit reason and qualification are recorded, the
 * guest state is not saved, the host state is loaded as on a VM exit.
 */
void vmx_entry_failed(struct vmx_cpu *v, u32 exit_reason, u64 qual)
{
	void *vmcs = vmx_vmcs(v);

	vmcs_set(vmcs, VM_EXIT_REASON, exit_reason);
	vmcs_set(vmcs, EXIT_QUALIFICATION, qual);
	vmx_load_host_state(v, vmcs);
}
