// SPDX-License-Identifier: MIT
/*
 * VMLAUNCH/VMRESUME as one call: check (vmentry.c), enter, run the guest
 * until a VM exit, return the exit reason (vmexit.c has recorded it).
 */
#include <stdlib.h>

#include "silicon/vmx_api.h"
#include "silicon/vmx_cpu.h"

struct vmx_cpu *vmx_cpu_create(void)
{
	struct vmx_cpu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	vmx_cpu_init(v, NULL);
	return v;
}

void vmx_cpu_destroy(struct vmx_cpu *v)
{
	if (!v)
		return;
	if (vmx_this_cpu() == v)
		vmx_cpu_bind(NULL);
	free(v);
}

u32 vmx_op_enter(u64 *regs, bool launched)
{
	struct vmx_cpu *v = vmx_this_cpu();
	u32 reason;
	u64 qual;

	if (!v)
		return VMX_ENTER_FAULT;
	switch (vmx_entry_check(v, !launched, &reason, &qual)) {
	case VMX_SUCCEED:
		break;
	case VMX_FAIL_VALID:
		return VMX_ENTER_VMFAIL_VALID;
	case VMX_FAIL_INVALID:
		return VMX_ENTER_VMFAIL_INVALID;
	default:
		return VMX_ENTER_FAULT;
	}
	if (reason) {
		vmx_entry_failed(v, reason, qual);
		return reason;
	}
	/* FIXME: loading guest state and running it needs the execution core. */
	(void)regs;
	return VMX_ENTER_NO_CORE;
}
