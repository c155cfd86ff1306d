/* SPDX-License-Identifier: MIT */
/*
 * What the processor offers VMX software: VMX instructions as calls on the
 * logical processor the calling thread runs on, and reads of the IA32_VMX_*
 * capability MSRs.  KVM includes this only through src/x86/vmx/vmx_ops.h.
 *
 * The model: each thread runs on at most one logical processor at a time
 * (vmx_cpu_bind(), like a vCPU thread on a pCPU); VMXON, VMPTRLD, VMREAD,
 * VMLAUNCH... act on that processor.  A VM exit is vmx_cpu_enter()
 * returning to its caller with the guest's registers saved, the exit
 * information in the current VMCS and the host state loaded.
 */
#ifndef SILICON_VMX_API_H
#define SILICON_VMX_API_H

#include <string.h>

#include "silicon/vmcs.h"
#include "silicon/vmx.h"

struct vmx_cpu;

/**
 * vmx_cpu_create() - power up a logical processor with VMX
 *
 * Return: the processor (not bound to any thread), or NULL if out of memory.
 */
struct vmx_cpu *vmx_cpu_create(void);
void vmx_cpu_destroy(struct vmx_cpu *lp);

/**
 * vmx_cpu_kick() - interrupt @lp from any thread, like an IPI to a pCPU:
 * a guest running on it takes an EXTERNAL_INTERRUPT exit at its next
 * instruction boundary (with "external-interrupt exiting").
 */
void vmx_cpu_kick(struct vmx_cpu *lp);

/**
 * vmx_cpu_nmi() - a host NMI on @lp (any thread): with "NMI exiting" a
 * guest takes an EXCEPTION_NMI exit (interruption type NMI, vector 2).
 */
void vmx_cpu_nmi(struct vmx_cpu *lp);

/** vmx_cpu_bind() - run the calling thread on @lp (NULL: on none) */
void vmx_cpu_bind(struct vmx_cpu *lp);
/** vmx_this_cpu() - the logical processor the calling thread runs on */
struct vmx_cpu *vmx_this_cpu(void);

/*
 * VMX instructions on vmx_this_cpu().  Return: VMX_SUCCEED, VMX_FAIL_INVALID,
 * VMX_FAIL_VALID (error number in VM_INSTRUCTION_ERROR), or VMX_FAULT_UD /
 * VMX_FAULT_GP when the instruction would raise that exception (also when
 * the thread is bound to no processor).
 */
enum vmx_status vmx_op_vmxon(u64 pa);
enum vmx_status vmx_op_vmxoff(void);
enum vmx_status vmx_op_vmclear(u64 pa);
enum vmx_status vmx_op_vmptrld(u64 pa);
enum vmx_status vmx_op_vmptrst(u64 *pa);
enum vmx_status vmx_op_vmread_slow(u32 field, u64 *val);
enum vmx_status vmx_op_vmwrite_slow(u32 field, u64 val);
enum vmx_status vmx_op_invept(u64 type, u64 eptp);
enum vmx_status vmx_op_invvpid(u64 type, u16 vpid, u64 gla);

/*
 * VMREAD and VMWRITE are instructions, executed where KVM's code stands: the
 * processor keeps a view of its current VMCS for the calling thread
 * (vmx_this_port; its VMCS pointer also in vmx_this_vmcs, one load), with
 * which the common case is a load or a
 * store at an offset that folds to a constant for a constant encoding.
 * @vmcs is the current VMCS while the thread is bound to a processor in
 * VMX operation that has one (NULL otherwise: the instructions' slow path
 * gives the outcome, VMfail or a fault); @dirty collects what VMWRITEs
 * changed (VMCS_DIRTY_*, vmcs.h) for the next VM entry.  Software other
 * than these two inlines never touches either.
 */
struct vmx_vmcs_port {
	void *vmcs;
	u32 dirty;
	/*
	 * vmx_op_code_sync() since the last VM entry; taken by the entry
	 * (vmx_run.c vmx_op_enter(), vmentry.c vmx_code_sync_take()).
	 */
	u32 code_sync;
};

extern __thread struct vmx_vmcs_port *vmx_this_port __attribute__((tls_model("initial-exec")));
/*
 * vmx_this_port->vmcs, or NULL while the thread is bound to no processor:
 * a VMREAD's one load (kept equal by vmx_cpu_bind() and every change of
 * the current VMCS, which happens on the bound thread: VMXON, VMXOFF,
 * VMCLEAR, VMPTRLD).
 */
extern __thread void *vmx_this_vmcs __attribute__((tls_model("initial-exec")));

/* A field's value from its slot: slots hold values masked to the field's width (vmcs_set()). */
static __always_inline u64 vmx_vmcs_slot_read(const void *vmcs, int off, u32 field)
{
	u64 slot;

	memcpy(&slot, (const u8 *)vmcs + off, 8);
	return VMCS_FIELD_HIGH(field) ? slot >> 32 : slot;
}

static __always_inline enum vmx_status vmx_op_vmread(u32 field, u64 *val)
{
	const void *vmcs = vmx_this_vmcs;
	int off = vmcs_field_offset(field);

	if (__builtin_expect(vmcs && off > 0, 1)) {
		*val = vmx_vmcs_slot_read(vmcs, off, field);
		return VMX_SUCCEED;
	}
	return vmx_op_vmread_slow(field, val);
}

/*
 * VMREAD as a value, for callers that treat a failed VMREAD as reading 0
 * (KVM's vmcs_readl() family): the same outcome as vmx_op_vmread() but for
 * the status, which is lost.  The value comes back in a register, so the
 * common case is one TLS load, a test and the slot's load, with nothing
 * on the stack; the uncommon one (no current VMCS, a field this processor
 * does not implement, a VMfail or fault) is vmx_op_vmread_val_slow(),
 * which returns 0 for any failure.
 */
u64 vmx_op_vmread_val_slow(u32 field);

static __always_inline u64 vmx_op_vmread_val(u32 field)
{
	const void *vmcs = vmx_this_vmcs;
	int off = vmcs_field_offset(field);

	if (__builtin_expect(vmcs && off > 0, 1))
		return vmx_vmcs_slot_read(vmcs, off, field);
	return vmx_op_vmread_val_slow(field);
}

static __always_inline enum vmx_status vmx_op_vmwrite(u32 field, u64 val)
{
	void *vmcs = vmx_this_vmcs;
	int off = vmcs_field_offset(field);

	/* Control and guest fields; host, read-only and high halves go the slow way. */
	if (__builtin_expect(vmcs && off > 0 && !VMCS_FIELD_HIGH(field) &&
			     (VMCS_FIELD_TYPE(field) == VMCS_FIELD_TYPE_CONTROL ||
			      VMCS_FIELD_TYPE(field) == VMCS_FIELD_TYPE_GUEST), 1)) {
		u8 *slot = (u8 *)vmcs + off;
		u64 old, new = val & vmcs_width_mask(field);

		memcpy(&old, slot, 8);
		memcpy(slot, &new, 8);
		/* vmx_this_port is set whenever vmx_this_vmcs is */
		if (new != old)
			vmx_this_port->dirty |= vmcs_write_dirty(field, old, new);
		return VMX_SUCCEED;
	}
	return vmx_op_vmwrite_slow(field, val);
}

/* Control registers of VMX root operation (CR4.VMXE before VMXON; host state). */
u64 vmx_op_read_cr0(void);
u64 vmx_op_read_cr3(void);
u64 vmx_op_read_cr4(void);
void vmx_op_write_cr4(u64 val);

/**
 * vmx_op_rdmsr() - RDMSR of IA32_FEATURE_CONTROL and the IA32_VMX_* MSRs
 * Return: 0, or -1 where RDMSR raises #GP.
 */
int vmx_op_rdmsr(u32 msr, u64 *val);

/*
 * The processor's registers that the VMCS does not switch (SDM 28.5: VM
 * exits leave them as the guest left them), read and written in root
 * operation on vmx_this_cpu(), as KVM does with native instructions around
 * VMLAUNCH: CR2, DR0-DR3/DR6, XCR0, MSRs (KERNEL_GS_BASE, STAR, LSTAR...),
 * the x87/SSE state (XSAVE layout), and the TSC.
 */
u64 vmx_op_read_cr2(void);
void vmx_op_write_cr2(u64 val);
u64 vmx_op_get_debugreg(int n);
void vmx_op_set_debugreg(int n, u64 val);
u64 vmx_op_xgetbv(u32 index);
int vmx_op_xsetbv(u32 index, u64 val);
/* RDMSR/WRMSR on the processor. Return: 0, or -1 where they would #GP. */
int vmx_op_rdmsr_cpu(u32 msr, u64 *val);
int vmx_op_wrmsr_cpu(u32 msr, u64 val);
/* XSAVE/XRSTOR of the processor's x87/SSE state to/from @buf (832 bytes). */
#define VMX_FPU_STATE_SIZE 832
void vmx_op_fpu_save(void *buf);
void vmx_op_fpu_restore(const void *buf);
/*
 * CPUID as host software on this processor sees it (KVM's cpuid_count()):
 * the processor's CPUID plus CPUID.1:ECX.VMX, since VMX is offered to the
 * host.  Works on a thread bound to no processor too.
 */
void vmx_op_cpuid(u32 leaf, u32 subleaf, u32 out[4]);
/*
 * RDTSC in root operation: the machine's TSC (the same on every processor,
 * also on a thread bound to none), which guests see scaled and offset.
 */
u64 vmx_op_rdtsc(void);

/*
 * The decode assist of this processor's EPT-misconfiguration exits: the
 * store of a MOV to memory (88/89, C6/C7 /0: that store is all the
 * instruction does) within a page is reported, for a VMM that can
 * complete the write without decoding the instruction (as SEV-ES and TDX
 * guests hand KVM an MMIO write's data themselves: kvm_sev_es_mmio_write(),
 * tdx_emulate_mmio()).  Not an Intel VMX feature: the SDM leaves the exit
 * qualification and the VMX-instruction information of an EPT
 * misconfiguration undefined, and this processor puts the store there.
 * The VMX-instruction information is VMX_EPT_MISCONFIG_STORE with the
 * store's size in bytes (1, 2, 4, 8) in bits 3:0, and the exit
 * qualification has its data in the low size bytes (the bits above are
 * undefined); for any other EPT misconfiguration the information is 0.
 * The instruction did not complete (GUEST_RIP is its own), and
 * VM_EXIT_INSTRUCTION_LEN is its length.
 */
#define VMX_EPT_MISCONFIG_STORE			BIT(31)
#define VMX_EPT_MISCONFIG_STORE_SIZE(info)	((info) & 0xfu)
/*
 * The same assist for a load into a general register that is all the
 * instruction does (MOV 8A/8B, MOVZX 0F B6/B7, MOVSX 0F BE/BF, from memory):
 * VMX_EPT_MISCONFIG_LOAD with the access's size in bytes in bits 3:0, the
 * destination register in bits 7:4 (8-bit: with VMX_EPT_MISCONFIG_LOAD_HIGH,
 * AH-BH for 4-7), the destination's size in bytes as log2 in bits 10:9, and
 * VMX_EPT_MISCONFIG_LOAD_SX if it is sign-extended (MOVSX; else zero-
 * extended).  The exit qualification is 0.  To complete the instruction the
 * VMM writes the register as the instruction would (a 32-bit destination
 * clears bits 63:32, 8- and 16-bit ones keep the rest) and moves RIP past it.
 */
#define VMX_EPT_MISCONFIG_LOAD			BIT(30)
#define VMX_EPT_MISCONFIG_LOAD_HIGH		BIT(8)
#define VMX_EPT_MISCONFIG_LOAD_SX		BIT(11)
#define VMX_EPT_MISCONFIG_LOAD_REG(info)	(((info) >> 4) & 0xfu)
#define VMX_EPT_MISCONFIG_LOAD_DSIZE(info)	(1u << (((info) >> 9) & 3))

/*
 * vmx_op_code_sync() - software on this processor may have written guest
 * memory through its own mapping since the last call (a VMM between two
 * KVM_RUNs: a loader, a debugger's breakpoint, a test reusing a VM).  Not
 * an Intel VMX feature: on silicon the instruction cache is coherent and
 * VM entry is serialising, so the next entry runs the bytes as they are;
 * this processor decodes guest code into a cache that sees only its own
 * writes (and vmx_op_code_written()'s), and after this call compares the
 * decoded code it reaches with memory before running it again.  Cheap:
 * the comparison is made lazily, once per decoded block.  Writes it need
 * not be told of: the guest's own, and those vmx_op_code_written() reports.
 * A store to the bound processor's port: the next VM entry takes it.
 */
static __always_inline void vmx_op_code_sync(void)
{
	struct vmx_vmcs_port *p = vmx_this_port;

	if (p)
		p->code_sync = 1;
}
/*
 * Values vmx_op_enter() returns instead of an exit reason.  Bit 16 of a
 * real exit reason is always 0 (SDM 25.9.1), so none of these is one.
 */
#define VMX_ENTER_VMFAIL_INVALID 0xffff0000u	/* VMfailInvalid */
#define VMX_ENTER_VMFAIL_VALID   0xfffe0000u	/* VMfailValid: see VM_INSTRUCTION_ERROR */
#define VMX_ENTER_FAULT          0xfffd0000u	/* VMLAUNCH/VMRESUME raised #UD */

/**
 * vmx_op_enter() - VMLAUNCH (@launched false) or VMRESUME (@launched true)
 * @regs: the guest's RAX..R15 (index 4, RSP, is unused: RSP is in the VMCS);
 *	loaded into the processor at entry and stored back at VM exit, like
 *	the register save area of Linux's __vmx_vcpu_run()
 *
 * Return: the full exit reason (VM_EXIT_REASON: bit 31 set for a failed VM
 * entry), or one of the VMX_ENTER_* values above if VM entry did not start.
 */
u32 vmx_op_enter(u64 *regs, bool launched);

#endif
