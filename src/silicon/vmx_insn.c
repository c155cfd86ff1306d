// SPDX-License-Identifier: MIT
/*
 * VMX instructions as operations of a logical processor in VMX root
 * operation (SDM Vol. 3 ch. 31, "VMX Instruction Reference").  Each function
 * follows the instruction's pseudocode; the caller is KVM, through
 * src/x86/vmx/vmx_ops.h, running at CPL 0 in 64-bit mode, so the CPL, mode
 * and operand-form checks of the pseudocode always pass and are omitted.
 * VMLAUNCH/VMRESUME live in vmentry.c.  The same instructions executed by
 * a guest cause VM exits (intercept.c).
 */
#include <string.h>

#include "silicon/cpu.h"
#include "silicon/vmx_cpu.h"

static enum vmx_status vmx_succeed(void)
{
	return VMX_SUCCEED;
}

/**
 * vmx_vmfail() - VMfail(ErrorNumber) of the SDM's conventions (31.2)
 *
 * With a current VMCS this is VMfailValid: the error number goes to the
 * VM-instruction error field.  Without one it is VMfailInvalid.
 */
enum vmx_status vmx_vmfail(struct vmx_cpu *v, u32 error)
{
	void *vmcs = vmx_vmcs(v);

	if (!vmcs)
		return VMX_FAIL_INVALID;
	vmcs_set(vmcs, VM_INSTRUCTION_ERROR, error);
	return VMX_FAIL_VALID;
}

static bool vmx_revision_ok(u64 pa)
{
	u32 rev;

	memcpy(&rev, vmx_ptr(pa), sizeof(rev));
	/* Bit 31 set means a shadow VMCS, which this processor does not support. */
	return rev == VMX_VMCS_REVISION_ID;
}

enum vmx_status vmx_vmxon(struct vmx_cpu *v, u64 pa)
{
	vmx_root_crs(v);
	if (!(v->root_cr4 & BIT(13)))		/* CR4.VMXE */
		return VMX_FAULT_UD;
	if (v->vmxon)
		return vmx_vmfail(v, VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
	if ((v->root_cr0 & vmx_cr0_fixed0()) != vmx_cr0_fixed0() ||
	    (v->root_cr0 & ~vmx_cr0_fixed1()) ||
	    (v->root_cr4 & vmx_cr4_fixed0()) != vmx_cr4_fixed0() ||
	    (v->root_cr4 & ~vmx_cr4_fixed1()) ||
	    !(v->feature_control & FEAT_CTL_LOCKED) ||
	    !(v->feature_control & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return VMX_FAULT_GP;
	if (!vmx_page_addr_valid(pa) || !vmx_revision_ok(pa))
		return VMX_FAIL_INVALID;
	v->vmxon = true;
	v->vmxon_ptr = pa;
	v->vmcs_ptr = VMX_INVALID_PTR;
	vmx_port_update(v);
	return vmx_succeed();
}

enum vmx_status vmx_vmxoff(struct vmx_cpu *v)
{
	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmx_materialize_host_state(v);
	v->vmxon = false;
	v->vmxon_ptr = VMX_INVALID_PTR;
	/* SDM: the current-VMCS pointer is not defined after VMXOFF; forget it. */
	v->vmcs_ptr = VMX_INVALID_PTR;
	vmx_port_update(v);
	return vmx_succeed();
}

enum vmx_status vmx_vmclear(struct vmx_cpu *v, u64 pa)
{
	struct vmcs_hdr *hdr;

	if (!v->vmxon)
		return VMX_FAULT_UD;
	if (!vmx_page_addr_valid(pa))
		return vmx_vmfail(v, VMXERR_VMCLEAR_INVALID_ADDRESS);
	if (pa == v->vmxon_ptr)
		return vmx_vmfail(v, VMXERR_VMCLEAR_VMXON_POINTER);
	/*
	 * Our VMCS data always lives in the region, so "ensure the data is in
	 * memory" has nothing to write back; only the launch state changes.
	 */
	vmx_materialize_host_state(v);
	hdr = vmx_ptr(pa);
	hdr->launch_state = VMCS_STATE_CLEAR;
	if (pa == v->vmcs_ptr)
		v->vmcs_ptr = VMX_INVALID_PTR;
	vmx_port_update(v);
	v->resume_ready = false;
	v->cont_miss = 0;	/* a new VMCS: entries try the processor's stack (vmx_run.c) */
	v->ctl_host_checked = false;
	v->guest_checked = false;
	v->ctls_valid = false;
	return vmx_succeed();
}

enum vmx_status vmx_vmptrld(struct vmx_cpu *v, u64 pa)
{
	if (!v->vmxon)
		return VMX_FAULT_UD;
	if (!vmx_page_addr_valid(pa))
		return vmx_vmfail(v, VMXERR_VMPTRLD_INVALID_ADDRESS);
	if (pa == v->vmxon_ptr)
		return vmx_vmfail(v, VMXERR_VMPTRLD_VMXON_POINTER);
	if (!vmx_revision_ok(pa))
		return vmx_vmfail(v, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	vmx_materialize_host_state(v);
	v->vmcs_ptr = pa;
	vmx_port_update(v);
	v->resume_ready = false;
	v->cont_miss = 0;	/* a new VMCS: entries try the processor's stack (vmx_run.c) */
	v->ctl_host_checked = false;
	v->guest_checked = false;
	v->ctls_valid = false;
	return vmx_succeed();
}

enum vmx_status vmx_vmptrst(struct vmx_cpu *v, u64 *pa)
{
	if (!v->vmxon)
		return VMX_FAULT_UD;
	*pa = v->vmcs_ptr;
	return vmx_succeed();
}

enum vmx_status vmx_vmread(struct vmx_cpu *v, u32 enc, u64 *val)
{
	void *vmcs;
	int off;
	u64 slot;

	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmcs = vmx_vmcs(v);
	if (!vmcs)
		return VMX_FAIL_INVALID;
	off = vmcs_field_offset(enc);
	if (off < 0)
		return vmx_vmfail(v, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	/*
	 * One lookup: slots hold their values masked to the field's width
	 * (vmcs_set()), so only a high encoding needs a shift.
	 */
	memcpy(&slot, (const u8 *)vmcs + off, 8);
	*val = VMCS_FIELD_HIGH(enc) ? slot >> 32 : slot;
	return vmx_succeed();
}

enum vmx_status vmx_vmwrite(struct vmx_cpu *v, u32 enc, u64 val)
{
	void *vmcs;
	u64 old, new;
	int off;

	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmcs = vmx_vmcs(v);
	if (!vmcs)
		return VMX_FAIL_INVALID;
	off = vmcs_field_offset(enc);
	if (off < 0)
		return vmx_vmfail(v, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	/* IA32_VMX_MISC[29] ("VMWRITE to any field") is 0 on this processor. */
	if (VMCS_FIELD_TYPE(enc) == VMCS_FIELD_TYPE_EXITINFO)
		return vmx_vmfail(v, VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
	v->resume_ready = false;	/* the next entry takes the full way (vmx_cpu.h) */
	/* The last exit's host state goes into the core before its fields change. */
	if (VMCS_FIELD_TYPE(enc) == VMCS_FIELD_TYPE_HOST) {
		vmx_root_crs(v);
		if (v->host_regs_pending)
			vmx_materialize_host_state(v);
	}
	/* vmcs_set() with one lookup: the slot holds the value masked to the width. */
	memcpy(&old, (u8 *)vmcs + off, 8);
	if (VMCS_FIELD_HIGH(enc))
		new = (old & 0xffffffffull) | ((u64)(u32)val << 32);
	else
		new = val & vmcs_width_mask(enc);
	memcpy((u8 *)vmcs + off, &new, 8);
	/* What the next VM entry must check again (vmcs.h, vmx_cpu.h). */
	if (new != old)
		v->port.dirty |= vmcs_write_dirty(enc, old, new);
	return vmx_succeed();
}

/*
 * INVEPT/INVVPID: the core's soft TLB maps guest-linear pages straight to
 * host pointers (combined guest-paging + EPT translations) and its decoded
 * blocks are keyed by guest-physical address, so both go.  Note, they are
 * not tagged with an EPTP or VPID, so every type flushes everything: more
 * than the SDM requires, never less.
 */
static void vmx_invalidate(struct vmx_cpu *v)
{
	if (v->cpu) {
		tlb_flush_all(v->cpu);
		icache_flush(v->cpu);
	}
}

enum vmx_status vmx_invept(struct vmx_cpu *v, u64 type, u64 eptp)
{
	u64 cap;

	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmx_cap_msr_read(MSR_IA32_VMX_EPT_VPID_CAP, &cap);
	if (type > 3 || !(cap & BIT_ULL(type + 24)))
		return vmx_vmfail(v, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	if (type == VMX_EPT_EXTENT_CONTEXT && !vmx_eptp_valid(eptp))
		return vmx_vmfail(v, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	vmx_invalidate(v);
	return vmx_succeed();
}

enum vmx_status vmx_invvpid(struct vmx_cpu *v, u64 type, u16 vpid, u64 gla)
{
	u64 cap;

	if (!v->vmxon)
		return VMX_FAULT_UD;
	vmx_cap_msr_read(MSR_IA32_VMX_EPT_VPID_CAP, &cap);
	if (type > 3 || !(cap & BIT_ULL(type + 40)))
		return vmx_vmfail(v, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	switch (type) {
	case VMX_VPID_EXTENT_INDIVIDUAL_ADDR:
		if (!vpid || !vmx_is_canonical(gla))
			return vmx_vmfail(v, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
		break;
	case VMX_VPID_EXTENT_SINGLE_CONTEXT:
	case VMX_VPID_EXTENT_SINGLE_NON_GLOBAL:
		if (!vpid)
			return vmx_vmfail(v, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
		break;
	}
	vmx_invalidate(v);
	return vmx_succeed();
}

/* ---- the calling thread's logical processor (vmx_api.h) ---- */

#include <stdlib.h>

#include "silicon/vmx_api.h"

/*
 * initial-exec: the library is linked into the program or LD_PRELOADed,
 * never dlopen()ed late, so the variable sits in the static TLS block and
 * every VMREAD/VMWRITE reaches it with one load instead of a call to
 * __tls_get_addr().
 */
__thread struct vmx_vmcs_port *vmx_this_port __attribute__((tls_model("initial-exec")));
__thread void *vmx_this_vmcs __attribute__((tls_model("initial-exec")));

void vmx_cpu_bind(struct vmx_cpu *lp)
{
	if (lp) {
		vmx_this_port = &lp->port;
		vmx_this_vmcs = lp->port.vmcs;
	} else {
		vmx_this_port = NULL;
		vmx_this_vmcs = NULL;
	}
}

void vmx_port_update(struct vmx_cpu *v)
{
	v->port.vmcs = v->vmxon && v->vmcs_ptr != VMX_INVALID_PTR ? vmx_ptr(v->vmcs_ptr) : NULL;
	if (vmx_this_port == &v->port)
		vmx_this_vmcs = v->port.vmcs;
}

/* The bound processor: the one whose port the thread has (vmx_cpu_bind()). */
struct vmx_cpu *vmx_this_cpu(void)
{
	struct vmx_vmcs_port *p = vmx_this_port;

	return p ? (struct vmx_cpu *)((char *)p - offsetof(struct vmx_cpu, port)) : NULL;
}

#define ON_THIS_CPU(call)				\
	do {						\
		struct vmx_cpu *v = vmx_this_cpu();	\
		if (!v)					\
			return VMX_FAULT_UD;		\
		return call;				\
	} while (0)

enum vmx_status vmx_op_vmxon(u64 pa) { ON_THIS_CPU(vmx_vmxon(v, pa)); }
enum vmx_status vmx_op_vmxoff(void) { ON_THIS_CPU(vmx_vmxoff(v)); }
enum vmx_status vmx_op_vmclear(u64 pa) { ON_THIS_CPU(vmx_vmclear(v, pa)); }
enum vmx_status vmx_op_vmptrld(u64 pa) { ON_THIS_CPU(vmx_vmptrld(v, pa)); }
enum vmx_status vmx_op_vmptrst(u64 *pa) { ON_THIS_CPU(vmx_vmptrst(v, pa)); }
enum vmx_status vmx_op_vmread_slow(u32 field, u64 *val) { ON_THIS_CPU(vmx_vmread(v, field, val)); }
u64 vmx_op_vmread_val_slow(u32 field)
{
	u64 val = 0;

	return vmx_op_vmread_slow(field, &val) == VMX_SUCCEED ? val : 0;
}

enum vmx_status vmx_op_vmwrite_slow(u32 field, u64 val) { ON_THIS_CPU(vmx_vmwrite(v, field, val)); }
enum vmx_status vmx_op_invept(u64 type, u64 eptp) { ON_THIS_CPU(vmx_invept(v, type, eptp)); }
enum vmx_status vmx_op_invvpid(u64 type, u16 vpid, u64 gla)
{
	ON_THIS_CPU(vmx_invvpid(v, type, vpid, gla));
}

u64 vmx_op_read_cr0(void)
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (!v)
		return 0;
	vmx_root_crs(v);
	return v->root_cr0;
}

/* The host's page tables are its own; this is the value root operation reports. */
u64 vmx_op_read_cr3(void)
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (!v)
		return 0;
	vmx_root_crs(v);
	return v->root_cr3;
}

u64 vmx_op_read_cr4(void)
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (!v)
		return 0;
	vmx_root_crs(v);
	return v->root_cr4;
}

void vmx_op_write_cr4(u64 val)
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (v)
		vmx_root_crs(v);
	/* MOV to CR4 in root: VMXE may not be cleared in VMX operation (#GP). */
	if (v && !(v->vmxon && !(val & BIT(13))) && !(val & ~vmx_cr4_fixed1()))
		v->root_cr4 = val;
}

int vmx_op_rdmsr(u32 msr, u64 *val)
{
	return vmx_cap_msr_read(msr, val);
}
