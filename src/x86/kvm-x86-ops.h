/* SPDX-License-Identifier: MIT */
/*
 * The vendor seam (arch/x86/include/asm/kvm-x86-ops.h): one line per
 * operation the VMX backend (and later TDX, SVM) provides.  KVM_X86_OP is
 * mandatory, KVM_X86_OP_OPTIONAL may be NULL.  Expanded into struct
 * kvm_x86_ops (kvm_x86_ops.h) and checked in kvm_ops_update() (x86.c).
 */
#ifndef KVM_X86_OP_OPTIONAL
#define KVM_X86_OP_OPTIONAL KVM_X86_OP
#endif
KVM_X86_OP(hardware_setup)
KVM_X86_OP(vcpu_create)
KVM_X86_OP(vcpu_free)
KVM_X86_OP(vcpu_load)
KVM_X86_OP(sched_out)
KVM_X86_OP(cache_guest_state)
KVM_X86_OP(cache_reg)
KVM_X86_OP(write_dirty_regs)
KVM_X86_OP(get_segment_base)
KVM_X86_OP(vcpu_run)
KVM_X86_OP(handle_exit)
KVM_X86_OP(skip_emulated_instruction)
KVM_X86_OP(interrupt_allowed)
KVM_X86_OP(nmi_allowed)
KVM_X86_OP(inject_irq)
KVM_X86_OP(inject_nmi)
KVM_X86_OP(inject_exception)
KVM_X86_OP(enable_irq_window)
KVM_X86_OP(enable_nmi_window)
KVM_X86_OP(flush_tlb_all)
KVM_X86_OP(vcpu_kick)
KVM_X86_OP(update_exception_bitmap)
KVM_X86_OP_OPTIONAL(get_exit_info)
#undef KVM_X86_OP
#undef KVM_X86_OP_OPTIONAL
