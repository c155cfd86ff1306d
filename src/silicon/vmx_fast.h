/* SPDX-License-Identifier: MIT */
/*
 * Processor calls for a cheap VM exit round trip (vmx_fast.c), offered to
 * VMX software next to vmx_api.h; KVM includes this only through
 * src/x86/vmx/vmx_ops.h.
 */
#ifndef SILICON_VMX_FAST_H
#define SILICON_VMX_FAST_H

#include "silicon/vmx.h"

/**
 * vmx_op_vmread_n() - VMREAD of @n fields, in order, on vmx_this_cpu()
 * @fields: the field encodings
 * @vals:   receives each field's value
 *
 * Exactly @n VMREADs: the checks of VMREAD are made once (they do not
 * depend on the field), then each field is read as VMREAD reads it.
 * Return: VMX_SUCCEED; or the status of the first VMREAD that fails
 * (VMX_FAULT_UD, VMX_FAIL_INVALID, or VMX_FAIL_VALID with
 * VM_INSTRUCTION_ERROR set), the fields before it read, those after not.
 */
enum vmx_status vmx_op_vmread_n(const u32 *fields, u64 *vals, unsigned int n);

#endif
