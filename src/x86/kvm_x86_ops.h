/* SPDX-License-Identifier: MIT */
/*
 * struct kvm_x86_ops, the vendor backend's operations (Linux keeps it in
 * arch/x86/include/asm/kvm_host.h), and kvm_x86_call().
 */
#ifndef USERKVM_X86_KVM_X86_OPS_H
#define USERKVM_X86_KVM_X86_OPS_H

#include "util/types.h"

struct kvm;
struct kvm_vcpu;

/* What the fastpath decided after a VM exit (vmx_exit_handlers_fastpath()). */
enum exit_fastpath_completion {
	EXIT_FASTPATH_NONE,
	EXIT_FASTPATH_REENTER_GUEST,
	EXIT_FASTPATH_EXIT_HANDLED,
	EXIT_FASTPATH_EXIT_USERSPACE,
};

struct kvm_x86_ops {
	const char *name;
	int (*hardware_setup)(void);
	int (*vcpu_create)(struct kvm_vcpu *vcpu);
	void (*vcpu_free)(struct kvm_vcpu *vcpu);
	/* The thread runs on the vCPU's processor (kvm_arch_vcpu_load()). */
	void (*vcpu_load)(struct kvm_vcpu *vcpu);
	/* The thread leaves the processor kvm_arch_vcpu_put() left it on (kvm_arch_sched_out()). */
	void (*sched_out)(void);
	/* Bring vcpu->arch up to date with the VMCS and unswitched registers. */
	void (*cache_guest_state)(struct kvm_vcpu *vcpu);
	/* Read one register group (VCPU_EXREG_*) into vcpu->arch (KVM's cache_reg). */
	void (*cache_reg)(struct kvm_vcpu *vcpu, int reg);
	/* Write the dirty register groups back to the VMCS now (KVM does it at VM entry). */
	void (*write_dirty_regs)(struct kvm_vcpu *vcpu);
	/* The base of segment @seg (VCPU_SREG_*) without caching all state. */
	u64 (*get_segment_base)(struct kvm_vcpu *vcpu, int seg);
	enum exit_fastpath_completion (*vcpu_run)(struct kvm_vcpu *vcpu);
	int (*handle_exit)(struct kvm_vcpu *vcpu, enum exit_fastpath_completion fastpath);
	int (*skip_emulated_instruction)(struct kvm_vcpu *vcpu);
	bool (*interrupt_allowed)(struct kvm_vcpu *vcpu);
	bool (*nmi_allowed)(struct kvm_vcpu *vcpu);
	void (*inject_irq)(struct kvm_vcpu *vcpu, int vector);
	void (*inject_nmi)(struct kvm_vcpu *vcpu);
	void (*inject_exception)(struct kvm_vcpu *vcpu);
	void (*enable_irq_window)(struct kvm_vcpu *vcpu);
	void (*enable_nmi_window)(struct kvm_vcpu *vcpu);
	void (*flush_tlb_all)(struct kvm_vcpu *vcpu);
	void (*vcpu_kick)(struct kvm_vcpu *vcpu);
	/* Intercept the exceptions guest debugging needs (KVM_SET_GUEST_DEBUG). */
	void (*update_exception_bitmap)(struct kvm_vcpu *vcpu);
	void (*get_exit_info)(struct kvm_vcpu *vcpu, u32 *reason, u64 *info1, u64 *info2);
};

extern struct kvm_x86_ops kvm_x86_ops;
extern struct kvm_x86_ops vt_x86_ops;	/* vmx/main.c */

/*
 * The VMX backend's operations by name, vmx_<op> (vmx/vmx.c builds
 * vt_x86_ops from the same list, so the two cannot differ).
 */
#define KVM_X86_OP(func) extern __typeof__(*((struct kvm_x86_ops *)0)->func) vmx_##func;
#include "x86/kvm-x86-ops.h"

/*
 * kvm_x86_call(): KVM's are static calls, direct calls that
 * kvm_ops_update() patches to the backend's functions.  Built with the VMX
 * backend alone, userkvm writes that direct call down at build time: a
 * call to vmx_<op>, no load of a pointer, no indirect branch.  The table
 * stays the seam: kvm_ops_update() fills and checks it, optional ops are
 * tested in it (kvm_x86_ops.get_exit_info), and a second backend (SVM,
 * or TDX's vt_* wrappers) makes this the table's pointer again, or vt_##func.
 */
#define kvm_x86_call(func) vmx_##func

int kvm_x86_vendor_init(void);

#endif
