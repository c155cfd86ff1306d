/* SPDX-License-Identifier: MIT */
/* The VMX backend's per-vCPU state (arch/x86/kvm/vmx/vmx.h). */
#ifndef USERKVM_X86_VMX_VMX_H
#define USERKVM_X86_VMX_VMX_H

#include "util/types.h"
#include "x86/x86.h"

struct vmx_cpu;
struct kvm_vcpu;

struct vcpu_vmx {
	struct vmx_cpu *lp;	/* the logical processor this vCPU runs on */
	void *vmxon_region;
	void *vmcs;
	u64 *msr_bitmap;	/* 4 KiB: every bit set, every MSR access exits */
	bool launched;
	/*
	 * Where the truth is: after a VM exit the VMCS and the processor's
	 * unswitched registers hold the guest state (state_in_hw); an ioctl
	 * pulls it into vcpu->arch (vmx_cache_guest_state()), and then the
	 * next entry writes it all back (state_dirty).
	 */
	bool state_in_hw;
	bool state_dirty;
	/*
	 * Note, kept next to the three above: a VM exit sets them all at once
	 * (vmx_vcpu_run(), which GCC turns into one store).
	 */
	bool rsp_cached;	/* see vmcs_rsp below */
	bool exit_qual_cached;	/* see exit_qualification below */
	bool fail;		/* VM entry failed before the guest ran */
	/*
	 * What GUEST_RIP/RSP/RFLAGS hold (read at the last exit, or written):
	 * vmx_vcpu_run() writes a register back only when vcpu->arch's copy
	 * differs, as KVM writes back only the registers in regs_dirty.
	 */
	u64 vmcs_rip, vmcs_rsp, vmcs_rflags;
	/* rsp_cached: vcpu->arch.regs[VCPU_REGS_RSP] holds GUEST_RSP (else read it: vmx_cache_rsp()) */
	/*
	 * KVM's segment_cache, for the bases: read from the VMCS once per exit
	 * (a bit per segment in @seg_base_cached, cleared at each exit and
	 * when KVM writes segments into the VMCS).
	 */
	u32 seg_base_cached;
	u64 seg_base[NR_VCPU_SREGS];
	/* VCPU_EXREG_EMULATOR as read (vmx_read_emulator_regs()), to see what changed */
	struct kvm_seg_state emul_seg[NR_VCPU_SREGS];
	u32 emul_interruptibility;
	u64 emul_cr2, emul_dr6;
	u32 exit_reason;
	/*
	 * The length is read with RIP and RFLAGS right after each VM exit
	 * (vmx_read_exit_fields()), the qualification on first use
	 * (vmx_get_exit_qual()); both valid until the next entry.
	 */
	u64 exit_qualification;	/* valid if exit_qual_cached */
	u32 exit_instr_len;
	u32 idt_vectoring_info;
	/*
	 * GUEST_INTERRUPTIBILITY_INFO as the VMCS holds it while state_in_hw:
	 * read at each exit, kept up to date by every VMWRITE of it
	 * (vmx_set_interruptibility()), so STI/MOV-SS checks need no VMREAD.
	 */
	u32 guest_intr;
	/* What VMX_PREEMPTION_TIMER_VALUE holds (exits do not save it): ~0 unknown. */
	u32 preemption_timer;
	u32 event_exit_inst_len;	/* INT3/INTO/INT n length, for re-injection */
	u32 vm_instruction_error;
};

#endif
