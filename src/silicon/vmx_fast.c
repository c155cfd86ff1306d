// SPDX-License-Identifier: MIT
/*
 * VMREAD of several fields in one call (vmx_fast.h: vmx_op_vmread_n()).
 *
 * Architecturally this is exactly @n VMREAD instructions in a row: the same
 * checks (SDM Vol. 3C 31.3 "VMREAD"), the same values, the same failure for
 * the first field that fails, and the fields after a failure not read.
 * What it saves is the per-instruction work that does not depend on the
 * field: finding the calling thread's processor and checking that it is in
 * VMX operation with a current VMCS, done once instead of @n times.  KVM
 * reads the same handful of exit fields after every VM exit, so this is
 * the processor-side half of a cheap exit.
 */
#include <string.h>

#include "silicon/vmx_api.h"
#include "silicon/vmx_fast.h"
#include "silicon/vmx_cpu.h"

enum vmx_status vmx_op_vmread_n(const u32 *fields, u64 *vals, unsigned int n)
{
	struct vmx_cpu *v = vmx_this_cpu();
	const u8 *vmcs;

	if (!v || !v->vmxon)
		return VMX_FAULT_UD;
	vmcs = vmx_vmcs(v);
	if (!vmcs)
		return VMX_FAIL_INVALID;
	for (unsigned int i = 0; i < n; i++) {
		u32 enc = fields[i];
		int off = vmcs_field_offset(enc);
		u64 slot;

		if (off < 0)
			return vmx_vmread(v, enc, &vals[i]);	/* its VMfailValid */
		/* As vmx_vmread(): slots hold values masked to the field's width. */
		memcpy(&slot, vmcs + off, 8);
		vals[i] = VMCS_FIELD_HIGH(enc) ? slot >> 32 : slot;
	}
	return VMX_SUCCEED;
}
