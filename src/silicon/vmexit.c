// SPDX-License-Identifier: MIT
/*
 * VM exits (SDM Vol. 3 ch. 28): record the exit information, save the guest
 * state, load the host state.  In this processor the host is the caller of
 * vmx_op_enter(): once the host state is loaded, returning from
 * vmx_op_enter() is the processor continuing at HOST_RIP.
 *
 *   vmx_exit_now()      from inside an instruction or event: STEP 0, note
 *                       the exit information and leave the run loop
 *   vmx_complete_exit() after the run loop: STEP 1 exit information,
 *                       STEP 2 guest state, STEP 3 MSR-store list,
 *                       STEP 4 host state, STEP 5 MSR-load list
 */
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "silicon/cpu.h"
#include "silicon/ept.h"
#include "silicon/intercept_vmx.h"
#include "silicon/vmx_cpu.h"

#define G(f) vmcs_get(vmcs, f)

#ifdef USERKVM_DEBUG
/*
 * The fields save_guest_full() saves from the core, as the snapshot of the
 * last full save has them, differ from the core's: a writer that did not
 * call cpu_nv_written().  Debug builds check every exit that skips the save.
 */
static bool nv_saved_differ(const struct vmx_cpu *v, const struct cpu_state *s)
{
	struct cpu_state t;	/* the snapshot's bytes at their offsets */
	bool d = false;

	memcpy(&t.VMX_NV_SNAP_FIRST, v->nv_snap, VMX_NV_SNAP_SIZE);
	for (int i = 0; i < CPU_NR_SEGS; i++)
		d |= t.seg[i].sel != s->seg[i].sel || t.seg[i].base != s->seg[i].base ||
		     t.seg[i].limit != s->seg[i].limit || t.seg[i].ar != s->seg[i].ar;
	d |= t.gdtr.base != s->gdtr.base || t.gdtr.limit != s->gdtr.limit ||
	     t.idtr.base != s->idtr.base || t.idtr.limit != s->idtr.limit;
	d |= t.cr0 != s->cr0 || t.cr3 != s->cr3 || t.cr4 != s->cr4 || t.dr[7] != s->dr[7] ||
	     t.efer != s->efer || t.sysenter_cs != s->sysenter_cs ||
	     t.sysenter_esp != s->sysenter_esp || t.sysenter_eip != s->sysenter_eip;
	return d || v->nv_snap_pat != s->pat || v->nv_snap_debugctl != s->debugctl;
}
#endif

u64 vmx_host_tsc(void)
{
	return __rdtsc();
}

/* STEP 0: the exit is decided; the guest RIP is the processor's RIP. */
void vmx_exit_pending(struct vmx_cpu *v, const struct vmx_exit_info *x)
{
	v->exit = *x;
	v->exit_direct = false;
}

__attribute__((noreturn)) void vmx_exit_now(struct vmx_cpu *v, const struct vmx_exit_info *x)
{
	vmx_exit_pending(v, x);
	cpu_exit_now(v->cpu, CPU_EXIT_VMEXIT);
}

/*
 * Save a guest-state field whose checks the next VM entry skips while
 * guest_checked (vmx_cpu.h): a different value makes it check them again.
 */
static __always_inline void save_checked(struct vmx_cpu *v, void *vmcs, u32 enc, u64 val)
{
	u64 old = vmcs_get(vmcs, enc);

	vmcs_set(vmcs, enc, val);
	if (vmcs_get(vmcs, enc) != old)
		v->guest_checked = false;
}

/*
 * The guest-state fields other than RIP, RSP, RFLAGS and the non-register
 * state, after a snapshot compare that failed (or could not be made):
 * each saved, the checks redone where one changed, a new snapshot taken.
 */
static __attribute__((noinline)) void save_guest_full(struct vmx_cpu *v, void *vmcs)
{
	struct cpu *c = v->cpu;
	struct cpu_state *s = &c->s;
	const struct vmx_ctls *ctl = &v->ctls;
	bool pae_ept = (ctl->proc2 & SECONDARY_EXEC_ENABLE_EPT) && (s->cr0 & BIT(31)) &&
		       (s->cr4 & BIT(5)) && !(s->efer & BIT(10));
	u32 entry;

	/* (28.3.1) control registers, debug registers, MSRs */
	save_checked(v, vmcs, GUEST_CR0, s->cr0);
	save_checked(v, vmcs, GUEST_CR3, s->cr3);
	save_checked(v, vmcs, GUEST_CR4, s->cr4);
	if (ctl->exit & VM_EXIT_SAVE_DEBUG_CONTROLS) {
		save_checked(v, vmcs, GUEST_DR7, s->dr[7]);
		save_checked(v, vmcs, GUEST_IA32_DEBUGCTL, s->debugctl);
	}
	save_checked(v, vmcs, GUEST_SYSENTER_CS, s->sysenter_cs);
	save_checked(v, vmcs, GUEST_SYSENTER_ESP, s->sysenter_esp);
	save_checked(v, vmcs, GUEST_SYSENTER_EIP, s->sysenter_eip);
	if (ctl->exit & VM_EXIT_SAVE_IA32_PAT)
		save_checked(v, vmcs, GUEST_IA32_PAT, s->pat);
	if (ctl->exit & VM_EXIT_SAVE_IA32_EFER)
		save_checked(v, vmcs, GUEST_IA32_EFER, s->efer);
	/* The "IA-32e mode guest" entry control receives EFER.LMA (28.2). */
	entry = vmcs_get32(vmcs, VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE;
	if (s->efer & BIT(10))
		entry |= VM_ENTRY_IA32E_MODE;
	if (entry != vmcs_get32(vmcs, VM_ENTRY_CONTROLS)) {
		vmcs_set(vmcs, VM_ENTRY_CONTROLS, entry);
		v->ctl_host_checked = false;
		v->guest_checked = false;
		v->ctls_valid = false;
	}

	/*
	 * (28.3.2) segment and descriptor-table registers.  In virtual-8086
	 * mode ES..GS are saved with access rights F3H, the form VM entry
	 * requires for them (27.3.1.2), whatever the core keeps.
	 */
	if (!v->seg_snap_valid || v->seg_snap_v86 != !!(s->rflags & BIT(17)) ||
	    memcmp(v->seg_snap, s->seg, sizeof(s->seg))) {
		bool v86 = s->rflags & BIT(17);
		u64 diff = 0;

		memcpy(v->seg_snap, s->seg, sizeof(s->seg));
		v->seg_snap_v86 = v86;
		v->seg_snap_valid = true;
		for (int i = 0; i < CPU_NR_SEGS; i++) {
			const struct cpu_seg *g = &s->seg[i];
			u64 *sel = vmcs_seg_slot(vmcs, GUEST_ES_SELECTOR, i);
			u64 *base = vmcs_seg_slot(vmcs, GUEST_ES_BASE, i);
			u64 *limit = vmcs_seg_slot(vmcs, GUEST_ES_LIMIT, i);
			u64 *ar = vmcs_seg_slot(vmcs, GUEST_ES_AR_BYTES, i);
			u64 new_ar = v86 && i <= CPU_SEG_GS ? 0xf3 : g->ar;

			diff |= (*sel ^ g->sel) | (*base ^ g->base) | (*limit ^ g->limit) |
				(*ar ^ new_ar);
			*sel = g->sel;
			*base = g->base;
			*limit = g->limit;
			*ar = new_ar;
		}
		if (diff)
			v->guest_checked = false;
	}
	save_checked(v, vmcs, GUEST_GDTR_BASE, s->gdtr.base);
	save_checked(v, vmcs, GUEST_GDTR_LIMIT, s->gdtr.limit);
	save_checked(v, vmcs, GUEST_IDTR_BASE, s->idtr.base);
	save_checked(v, vmcs, GUEST_IDTR_LIMIT, s->idtr.limit);

	/*
	 * PAE paging with EPT: the PDPTEs are saved (28.3.4): the processor's
	 * PDPTE registers, or, if the core has not loaded them for this CR3
	 * yet, the PDPT at CR3 read through EPT.
	 */
	if (pae_ept) {
		struct ept_result r;

		if (c->pdpte_cr3 == s->cr3)
			for (int i = 0; i < 4; i++)
				save_checked(v, vmcs, GUEST_PDPTR0 + 2 * i, s->pdpte[i]);
		else if (!ept_translate(ctl->eptp, s->cr3 & 0xffffffe0ull, EPT_ACC_READ, &r))
			for (int i = 0; i < 4; i++) {
				u64 e;

				memcpy(&e, (u8 *)r.host + 8 * i, 8);
				save_checked(v, vmcs, GUEST_PDPTR0 + 2 * i, e);
			}
	}
	memcpy(v->nv_snap, &s->VMX_NV_SNAP_FIRST, VMX_NV_SNAP_SIZE);
	v->nv_snap_pat = s->pat;
	v->nv_snap_debugctl = s->debugctl;
	/*
	 * The next exit saves none of these fields unless a writer runs
	 * (cpu_nv_written()); not in virtual-8086 mode (the access rights
	 * saved are not the core's) nor with PAE paging under EPT (the PDPTEs
	 * may come from memory).
	 */
	c->nv_written = pae_ept || (s->rflags & BIT(17));
	v->nv_snap_valid = !c->nv_written;
}

/*
 * A writer of the fields save_guest_full() saves ran since the last full
 * save, or a VM entry loaded them.  A writer may have left them all as
 * they were (SYSCALL and SYSRET back, a segment reloaded with its value):
 * while the VMCS holds what the last full save wrote (nv_snap_valid), the
 * snapshot it took says so, and then nothing needs saving.
 */
static __attribute__((noinline)) void save_guest_written(struct vmx_cpu *v, struct cpu *c,
							 void *vmcs)
{
	struct cpu_state *s = &c->s;

	if (v->nv_snap_valid && !(s->rflags & BIT(17)) && s->pat == v->nv_snap_pat &&
	    s->debugctl == v->nv_snap_debugctl &&
	    !memcmp(v->nv_snap, &s->VMX_NV_SNAP_FIRST, VMX_NV_SNAP_SIZE)) {
		c->nv_written = false;
		return;
	}
	/*
	 * RFLAGS.VM, on which the guest-state checks depend (vmcs.h:
	 * vmcs_write_dirty()), changes only with the mode, which sets
	 * nv_written: an exit that skips the full save saves it as the VMCS
	 * has it.
	 */
	if ((vmcs_get(vmcs, GUEST_RFLAGS) ^ s->rflags) & BIT(17))
		v->guest_checked = false;
	save_guest_full(v, vmcs);
}

/*
 * @insn: an instruction exit outside MOV-SS blocking (cpu_exit_prepare_cont() said so)
 * @flags_later: the caller saves RFLAGS last (cpu_exit_flags())
 */
static __always_inline void save_guest_state(struct vmx_cpu *v, struct cpu *c, void *vmcs,
					     bool insn, bool flags_later)
{
	struct cpu_state *s = &c->s;
	const struct vmx_ctls *ctl = &v->ctls;

	/* (28.3.3) KVM's registers, RSP too, as KVM's array has a slot. */
	BUILD_BUG_ON(sizeof(s->gpr) != 16 * sizeof(u64));
	vmx_copy_gprs(v->regs, s->gpr);
	/*
	 * Nothing but the fields below changed since the last full save, and
	 * the VMCS holds what it wrote: no writer of the others has run since
	 * and no VM entry loaded them (nv_written, vmx_cpu.h).  That save was
	 * not in virtual-8086 mode nor with PAE paging under EPT, and both
	 * depend on fields a writer changes (RFLAGS.VM only with the mode:
	 * IRET, event delivery, VM entry).
	 */
	/* with @flags_later the caller has tested nv_written (vmx_exit_insn_cont()) */
	if (flags_later || likely(!c->nv_written)) {
#ifdef USERKVM_DEBUG
		if (c->nv_written)
			abort();
		if (nv_saved_differ(v, s) || (s->rflags & BIT(17)) ||
		    ((vmcs_get(vmcs, GUEST_RFLAGS) ^ s->rflags) & BIT(17)))
			abort();	/* a writer of the state without cpu_nv_written() */
#endif
	} else {
		save_guest_written(v, c, vmcs);
	}

	/* (28.3.3) RIP, RSP, RFLAGS, and KVM's registers */
	vmcs_set(vmcs, GUEST_RIP, s->rip);
	vmcs_set(vmcs, GUEST_RSP, s->gpr[4]);
	if (!flags_later)
		vmcs_set(vmcs, GUEST_RFLAGS, s->rflags);

	/*
	 * (28.3.4) non-register state.  The pending debug exceptions field is
	 * saved as 0 except for TPR-below-threshold exits and exits while
	 * MOV SS blocks debug exceptions (INIT, #MC, SMI and MTF exits do not
	 * happen here); VM entry delivered the ones it loaded.
	 */
	if (insn || (v->exit.reason != EXIT_REASON_TPR_BELOW_THRESHOLD &&
		     !(s->interruptibility & CPU_INTR_MOVSS_BLOCKING)))
		s->pending_dbg = 0;
	vmcs_set(vmcs, GUEST_PENDING_DBG_EXCEPTIONS, insn ? 0 : s->pending_dbg);
	/* An exit taken in place has none (cpu_exit_cont_ok()). */
	vmcs_set(vmcs, GUEST_INTERRUPTIBILITY_INFO, insn ? 0 : s->interruptibility & 0xf);
	/* An instruction exit: the guest is active, the timer not counting (vmx_exit_suspend_begin()). */
	vmcs_set(vmcs, GUEST_ACTIVITY_STATE, insn ? CPU_ACTIVE : s->activity);
	if (!insn && (ctl->exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)) {
		u64 now = vmx_host_tsc();

		vmcs_set(vmcs, VMX_PREEMPTION_TIMER_VALUE, now >= v->timer_deadline ? 0 :
			 (v->timer_deadline - now) >> VMX_TIMER_RATE);
	}
}

/* STEP 3 (28.4): VM-exit MSR-store list. */
static void store_msr_list(struct cpu *c, u64 addr, u32 count)
{
	u8 *e = vmx_ptr(addr);

	for (u32 n = 0; n < count; n++, e += 16) {
		u32 idx;
		u64 val = 0;

		memcpy(&idx, e, 4);
		/* FIXME: an MSR that cannot be read is a VMX abort (28.4). */
		cpu_rdmsr(c, idx, &val);
		memcpy(e + 8, &val, 8);
	}
}

static void load_msr_list(struct cpu *c, u64 addr, u32 count)
{
	const u8 *e = vmx_ptr(addr);

	for (u32 n = 0; n < count; n++, e += 16) {
		u32 idx;
		u64 val;

		memcpy(&idx, e, 4);
		memcpy(&val, e + 8, 8);
		/* FIXME: a failing load is a VMX abort (28.6). */
		cpu_wrmsr(c, idx, val);
	}
}

static struct cpu_seg host_seg(u16 sel, u64 base, u32 ar)
{
	/* SDM 28.5.2: a null selector makes the segment unusable. */
	return (struct cpu_seg){ .sel = sel, .base = base, .limit = 0xffffffff,
				 .ar = sel ? ar : (ar | CPU_AR_UNUSABLE) };
}

/* The host-state registers of (28.5.1-28.5.3), written into the core. */
static void load_host_registers(struct vmx_cpu *v, const void *vmcs)
{
	struct cpu *c = v->cpu;
	const struct vmx_ctls *ctl = &v->ctls;
	struct cpu_state *s = &c->s;

	cpu_nv_written(c);
	/* (28.5.1) control registers, debug registers, MSRs */
	s->cr0 = G(HOST_CR0);
	s->cr3 = G(HOST_CR3);
	s->cr4 = G(HOST_CR4);
	s->dr[7] = 0x400;
	s->debugctl = 0;
	s->sysenter_cs = vmcs_get32(vmcs, HOST_IA32_SYSENTER_CS);
	s->sysenter_esp = G(HOST_IA32_SYSENTER_ESP);
	s->sysenter_eip = G(HOST_IA32_SYSENTER_EIP);
	if (ctl->exit & VM_EXIT_LOAD_IA32_PAT)
		s->pat = G(HOST_IA32_PAT);
	if (ctl->exit & VM_EXIT_LOAD_IA32_EFER)
		s->efer = G(HOST_IA32_EFER);
	else
		s->efer |= BIT(8) | BIT(10);	/* host address-space size = 1 */
	/* (28.5.2) segments: flat, from the selector fields */
	s->seg[CPU_SEG_CS] = host_seg(vmcs_get(vmcs, HOST_CS_SELECTOR), 0, 0xa09b);
	s->seg[CPU_SEG_CS].ar &= ~CPU_AR_UNUSABLE;
	s->seg[CPU_SEG_SS] = host_seg(vmcs_get(vmcs, HOST_SS_SELECTOR), 0, 0xc093);
	s->seg[CPU_SEG_DS] = host_seg(vmcs_get(vmcs, HOST_DS_SELECTOR), 0, 0xc093);
	s->seg[CPU_SEG_ES] = host_seg(vmcs_get(vmcs, HOST_ES_SELECTOR), 0, 0xc093);
	s->seg[CPU_SEG_FS] = host_seg(vmcs_get(vmcs, HOST_FS_SELECTOR), G(HOST_FS_BASE), 0xc093);
	s->seg[CPU_SEG_GS] = host_seg(vmcs_get(vmcs, HOST_GS_SELECTOR), G(HOST_GS_BASE), 0xc093);
	s->seg[CPU_SEG_TR] = (struct cpu_seg){ .sel = vmcs_get(vmcs, HOST_TR_SELECTOR),
					       .base = G(HOST_TR_BASE), .limit = 0x67, .ar = 0x8b };
	s->seg[CPU_SEG_LDTR] = (struct cpu_seg){ .ar = CPU_AR_UNUSABLE };
	s->gdtr = (struct cpu_dtable){ G(HOST_GDTR_BASE), 0xffff };
	s->idtr = (struct cpu_dtable){ G(HOST_IDTR_BASE), 0xffff };
	/* (28.5.3) RIP, RSP, RFLAGS: the host continues at HOST_RIP */
	s->rip = G(HOST_RIP);
	s->gpr[4] = G(HOST_RSP);
	s->rflags = 0x2;
	c->lf_op = LF_NONE;
	s->interruptibility = 0;
	s->activity = CPU_ACTIVE;
	/*
	 * Note, no cpu_state_changed(): the core never executes in root
	 * operation (the host is the caller), and the guest's TLB entries stay
	 * for the next entry into the same context (vmx_enter_tlb_context()).
	 */
}

/**
 * vmx_materialize_host_state() - write the host state the last VM exit
 * loaded into the core's registers, if it is still pending (vmx_cpu.h);
 * the core then no longer holds the guest state.
 */
void vmx_materialize_host_state(struct vmx_cpu *v)
{
	void *vmcs = vmx_vmcs(v);

	vmx_root_crs(v);
	vmx_root_view(v);
	v->guest_loaded = false;
	v->resume_ready = false;
	if (!v->host_regs_pending)
		return;
	v->host_regs_pending = false;
	if (v->cpu && vmcs)
		load_host_registers(v, vmcs);
}

/*
 * STEP 4 (28.5): load host state: the root-operation registers KVM's VMX
 * instructions see until the next VM entry.  The core's own registers get
 * it when root operation looks at one (vmx_materialize_host_state()).
 */
/* The core's root view: TSC, guest-physical translation, no non-root operation. */
static __always_inline void leave_nonroot(struct vmx_cpu *v, struct cpu *c)
{
	c->vmx_nonroot = false;
	c->phys_xlate = (cpu_phys_fn)v->root_phys_xlate;
	c->s.tsc_offset = v->root_tsc_offset;
	c->s.tsc_multiplier = 0;
}

void vmx_leave_kept_nonroot(struct vmx_cpu *v)
{
	v->nonroot_kept = false;
	v->resume_ready &= ~VMX_RESUME_CONT;	/* it counts on the kept view */
	if (v->cpu)
		leave_nonroot(v, v->cpu);
}

void vmx_root_crs_load(struct vmx_cpu *v)
{
	const void *vmcs = vmx_vmcs(v);

	v->root_cr_lazy = false;
	if (!vmcs)
		return;
	v->root_cr0 = G(HOST_CR0);
	v->root_cr3 = G(HOST_CR3);
	v->root_cr4 = G(HOST_CR4);
}

/* @keep: an exit taken in place, the core keeps its non-root view (vmx_cpu.h: nonroot_kept). */
/* @c: v->cpu (read by the caller, before stores the compiler cannot tell from it) */
static __always_inline void load_host_state(struct vmx_cpu *v, struct cpu *c, const void *vmcs,
					    bool keep)
{
	struct cpu_state *s;

	if (keep) {
		v->root_cr_lazy = true;
	} else {
		v->root_cr0 = G(HOST_CR0);
		v->root_cr3 = G(HOST_CR3);
		v->root_cr4 = G(HOST_CR4);
		v->root_cr_lazy = false;
	}
	v->guest_mode = false;
	/* An exit taken in place leaves a run of the core in non-root operation. */
	if (!keep && !c)
		return;
	s = &c->s;
	if (keep || c->vmx_nonroot) {
		/* Leave non-root operation (not yet entered if entry failed early). */
		/* only VM entry sets it, on this thread: no locked write when it is clear */
		if (__atomic_load_n(&c->req, __ATOMIC_RELAXED) & VMX_REQ_BOUNDARY)
			__atomic_and_fetch(&c->req, ~VMX_REQ_BOUNDARY, __ATOMIC_SEQ_CST);
		if (keep)
			v->nonroot_kept = true;
		else
			leave_nonroot(v, c);
	}
	s->event_info = 0;
	v->host_regs_pending = true;
}

void vmx_load_host_state(struct vmx_cpu *v, const void *vmcs)
{
	load_host_state(v, v->cpu, vmcs, false);
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
	v->guest_loaded = false;	/* the guest state was not (all) loaded */
	v->resume_ready = false;
}

static __attribute__((noinline)) void write_exit_info(void *vmcs, const struct vmx_exit_info *x)
{
	vmcs_set(vmcs, VM_EXIT_REASON, x->reason);
	vmcs_set(vmcs, EXIT_QUALIFICATION, x->qual);
	if (x->gla_valid)
		vmcs_set(vmcs, GUEST_LINEAR_ADDRESS, x->gla);
	if (x->gpa_valid)
		vmcs_set(vmcs, GUEST_PHYSICAL_ADDRESS, x->gpa);
	vmcs_set(vmcs, VM_EXIT_INTR_INFO, x->intr_info);
	vmcs_set(vmcs, VM_EXIT_INTR_ERROR_CODE, x->intr_error);
	vmcs_set(vmcs, VM_EXIT_INSTRUCTION_LEN, x->insn_len);
	vmcs_set(vmcs, VMX_INSTRUCTION_INFO, x->insn_info);
}

/*
 * IDT-vectoring information (28.2.4): the exit happened while an event
 * was being delivered (an EPT violation on the IDT or stack, an
 * intercepted exception during delivery), or before an injected event was
 * delivered at all; KVM injects it again.  Return: the field's value.
 */
static __attribute__((noinline)) u32 idt_vectoring(struct vmx_cpu *v, void *vmcs)
{
	struct cpu *c = v->cpu;
	const struct vmx_exit_info *x = &v->exit;
	u32 idt_info = 0;

	if (c->s.event_info & CPU_EVENT_VALID) {
		idt_info = c->s.event_info | INTR_INFO_VALID_MASK;
		vmcs_set(vmcs, IDT_VECTORING_ERROR_CODE, c->s.event_error);
		if (v->injected)
			vmcs_set(vmcs, VM_EXIT_INSTRUCTION_LEN, v->injected_len);
		c->s.event_info = 0;
		__atomic_and_fetch(&c->req, ~REQ_EVENT, __ATOMIC_SEQ_CST);
	} else if (c->delivering >= 0 && x->reason != EXIT_REASON_TRIPLE_FAULT) {
		if (v->injected && c->icount == v->entry_icount) {
			u32 type = v->injected & INTR_INFO_INTR_TYPE_MASK;

			idt_info = v->injected;
			vmcs_set(vmcs, IDT_VECTORING_ERROR_CODE, v->injected_err);
			/* Software events: the length KVM injects them again with (28.2.4). */
			if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
			    type == INTR_TYPE_PRIV_SW_EXCEPTION)
				vmcs_set(vmcs, VM_EXIT_INSTRUCTION_LEN, v->injected_len);
		} else if (c->delivering < 32) {
			idt_info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | (u32)c->delivering |
				   (c->fault_has_err ? INTR_INFO_DELIVER_CODE_MASK : 0);
			vmcs_set(vmcs, IDT_VECTORING_ERROR_CODE, c->fault_err);
		}
	}
	return idt_info;
}

/* STEPs 3-5 of an exit with an MSR-store or -load list (or one for the next entry). */
static __attribute__((noinline)) void complete_exit_msr_lists(struct vmx_cpu *v, void *vmcs)
{
	struct cpu *c = v->cpu;

	/* STEP 3 (28.4): MSR-store list. */
	if (vmcs_get32(vmcs, VM_EXIT_MSR_STORE_COUNT))
		store_msr_list(c, G(VM_EXIT_MSR_STORE_ADDR), vmcs_get32(vmcs, VM_EXIT_MSR_STORE_COUNT));
	/* STEP 4 (28.5): load host state. */
	load_host_state(v, c, vmcs, false);
	/*
	 * The core holds exactly the guest state just saved; an MSR-load list
	 * (at this exit or the next entry) writes the core's MSRs, so with one
	 * the host state goes into the core now, as without the deferral.
	 */
	v->guest_loaded = true;
	if (vmcs_get32(vmcs, VM_EXIT_MSR_LOAD_COUNT) || vmcs_get32(vmcs, VM_ENTRY_MSR_LOAD_COUNT)) {
		vmx_materialize_host_state(v);
		/* STEP 5 (28.6): MSR-load list. */
		load_msr_list(c, G(VM_EXIT_MSR_LOAD_ADDR), vmcs_get32(vmcs, VM_EXIT_MSR_LOAD_COUNT));
		return;
	}
	v->resume_ready = v->ctl_host_checked & v->guest_checked & v->ctls_valid;
}

static __always_inline void complete_exit(struct vmx_cpu *v, bool keep)
{
	void *vmcs = v->port.vmcs;	/* the current VMCS: in VMX operation with one */
	struct cpu *c = v->cpu;
	u32 idt_info = 0;

	/*
	 * An exit taken in place is an instruction's (its information written
	 * by vmx_exit_insn_direct()), which runs only after every event before
	 * it was delivered (boundary(), cpu_deliver()).
	 */
#ifdef USERKVM_DEBUG
	if (keep && ((c->s.event_info & CPU_EVENT_VALID) || c->delivering >= 0 || !v->exit_direct))
		abort();
#endif
	/* STEP 1 (28.2): exit information, unless the exit wrote it (vmx_exit_insn_direct()). */
	if (!keep && !v->exit_direct)
		write_exit_info(vmcs, &v->exit);
	v->exit_direct = false;
	if (unlikely(!keep && ((c->s.event_info & CPU_EVENT_VALID) || c->delivering >= 0)))
		idt_info = idt_vectoring(v, vmcs);
	c->delivering = -1;
	c->xlate_ctx = XLATE_NONE;
	v->injected = 0;
	vmcs_set(vmcs, IDT_VECTORING_INFO_FIELD, idt_info);
	/* VM exits clear the valid bit of the VM-entry interruption info (25.8.3). */
	vmcs_set(vmcs, VM_ENTRY_INTR_INFO_FIELD,
		 vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD) & ~INTR_INFO_VALID_MASK);

	/* STEP 2 (28.3): save guest state. */
	save_guest_state(v, c, vmcs, keep, false);
	/* The counts are controls: as the entry cached them (no VMWRITE in non-root operation). */
	if (unlikely(v->ctls.msr_lists)) {
		complete_exit_msr_lists(v, vmcs);
		return;
	}
	/* STEP 4 (28.5): load host state; the core holds exactly the guest state just saved. */
	load_host_state(v, c, vmcs, keep);
	v->guest_loaded = true;
	/* For the next VMRESUME (vmx_cpu.h: resume_ready). */
	v->resume_ready = v->ctl_host_checked & v->guest_checked & v->ctls_valid;
}

void vmx_complete_exit(struct vmx_cpu *v)
{
	complete_exit(v, false);
}

/*
 * An exit taken in place (intercept_vmx.h: vmx_exit_in_place()): complete
 * it with the core's non-root view kept and mark the run suspended on the
 * processor's stack; the caller then switches to the host's, in the
 * handler (vmx_exit_suspend()) or in the block loop (cpu.c cpu_park()).
 * The switch returns when a VMRESUME goes on (vmentry.c:
 * vmx_resume_cont()).  @next: the RIP after the instruction
 * (c->cont_rip_next, which cpu_exit_cont_note() set).  One body for
 * vmx_exit_suspend_begin() and the parks of vmx_exit_park() and
 * vmx_exit_insn_cont().
 */
/* @direct: exit_direct is set (vmx_exit_insn_direct()); false: STEP 1 done by the caller without it */
/*
 * @flags_later: RFLAGS is the caller's last step (cpu_exit_flags(): the
 * core's arithmetic flags are not computed yet), which no MSR list
 * (ctls.msr_lists) allows: the host state it loads has its own RFLAGS.
 */
static __always_inline void suspend_begin(struct vmx_cpu *v, struct cpu *c, void *vmcs, u64 next,
					  bool direct, bool flags_later)
{
	struct cpu_state *s = &c->s;
	u8 ready;
	bool ok;

	/*
	 * An exit taken in place is an instruction's (its information written
	 * by vmx_exit_insn_direct()), which runs only after every event before
	 * it was delivered (boundary(), cpu_deliver()), in an active guest,
	 * in a run that counts no preemption timer (cpu_exit_cont_ok(): the
	 * run of a VM entry without one), so without "save VMX-preemption
	 * timer value" (which needs the timer: vmx_check_controls()).
	 */
#ifdef USERKVM_DEBUG
	if ((s->event_info & CPU_EVENT_VALID) || c->delivering >= 0 || v->exit_direct != direct ||
	    s->activity != CPU_ACTIVE || v->timer_armed ||
	    (v->ctls.exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) || next != c->cont_rip_next)
		abort();
#endif
	/* STEP 1 (28.2): exit information, written; no event was being delivered. */
	if (direct)
		v->exit_direct = false;
	c->xlate_ctx = XLATE_NONE;
	v->injected = 0;
	vmcs_set(vmcs, IDT_VECTORING_INFO_FIELD, 0);
	/* VM exits clear the valid bit of the VM-entry interruption info (25.8.3). */
	vmcs_set(vmcs, VM_ENTRY_INTR_INFO_FIELD,
		 vmcs_get32(vmcs, VM_ENTRY_INTR_INFO_FIELD) & ~INTR_INFO_VALID_MASK);
	/* STEP 2 (28.3): save guest state. */
	save_guest_state(v, c, vmcs, true, flags_later);
	v->regs = NULL;
	v->enter_result = v->exit.reason;	/* (a store the compiler forwards) */
	v->cont_miss = 0;
#ifdef USERKVM_DEBUG
	if (flags_later && v->ctls.msr_lists)
		abort();
#endif
	if (!flags_later && unlikely(v->ctls.msr_lists)) {
		complete_exit_msr_lists(v, vmcs);
		v->suspended = true;
		return;
	}
	/*
	 * STEP 4 (28.5): load host state, lazily (vmx_cpu.h: host_regs_pending,
	 * root_cr_lazy), the core keeping its non-root view (nonroot_kept).
	 * Only VM entry sets VMX_REQ_BOUNDARY, on this thread, and only with
	 * interrupt- or NMI-window exiting, which ctls.cont_ok excludes (every
	 * exit clears it): no load of the request word then either.
	 */
#ifdef USERKVM_DEBUG
	if (v->ctls.cont_ok && (__atomic_load_n(&c->req, __ATOMIC_RELAXED) & VMX_REQ_BOUNDARY))
		abort();
#endif
	if (!v->ctls.cont_ok && (__atomic_load_n(&c->req, __ATOMIC_RELAXED) & VMX_REQ_BOUNDARY))
		__atomic_and_fetch(&c->req, ~VMX_REQ_BOUNDARY, __ATOMIC_SEQ_CST);
	s->event_info = 0;
	v->root_cr_lazy = true;
	/*
	 * VMX_RESUME_CONT (vmx_cpu.h): the checks a VMRESUME would make on the
	 * fields just saved, made now, when the core has them at hand.  The
	 * exit saved pending debug exceptions as 0 (an instruction exit), the
	 * activity state active, the interruptibility 0, RFLAGS with bit 1
	 * set, no reserved bit, neither TF (the entry would ask for the
	 * boundary) nor VM (the checks on virtual-8086 mode), and no NMI is
	 * pending (cpu_exit_cont_ok() said so for an exit taken in place); the
	 * RIP after the instruction must be canonical in 64-bit mode, within
	 * 32 bits otherwise (27.3.1.4).
	 */
#ifdef USERKVM_DEBUG
	if (s->interruptibility || s->nmi_pending || ((s->rflags & CPU_CONT_RFLAGS_CHECKED) ^ 2))
		abort();
#endif
	ok = v->ctls.cont_ok && (c->code64 ? vmx_is_canonical(next) : !(next >> 32));
	ready = v->ctl_host_checked & v->guest_checked & v->ctls_valid;
	/* The flags, adjacent (vmx_cpu.h): the core holds exactly the guest state just saved. */
	v->guest_loaded = true;
	v->host_regs_pending = true;
	v->nonroot_kept = true;
	v->guest_mode = false;
	v->suspended = true;
	v->resume_ready = ready | (ok ? ready << 1 : 0);
}

void vmx_exit_suspend_begin(struct vmx_cpu *v)
{
	suspend_begin(v, v->cpu, v->port.vmcs, v->cpu->cont_rip_next, true, false);
}

/*
 * cpu_exit_prepare_park() and vmx_exit_suspend_begin() in one frame: the
 * conditions tested once, the RIP after the instruction computed once.
 */
/* @flags_later: as suspend_begin()'s; the caller then ends with cpu_exit_flags() */
static __always_inline bool exit_park(struct cpu *c, struct vmx_cpu *v, const struct insn *i,
				      bool direct, bool flags_later)
{
	const struct block *b = c->cur_block;
	u64 next = c->s.rip + i->len;

#ifdef USERKVM_DEBUG
	if (!(c->cont_run & CPU_CONT_RUN_CORE) != !v->on_core)
		abort();	/* a writer of on_core that did not keep cont_run */
#endif
	if (unlikely(!b) || unlikely(!cpu_exit_park_ok(c, b, i, next)))
		return false;
	if (flags_later)
		cpu_exit_cont_note_noflags(c, i);
	else
		cpu_exit_cont_note(c, i);
	c->park = true;
	suspend_begin(v, c, v->port.vmcs, next, direct, flags_later);
	return true;
}

bool vmx_exit_park(struct cpu *c, struct vmx_cpu *v, const struct insn *i)
{
	return exit_park(c, v, i, true, false);
}

/* vmx_exit_insn_cont() when the exit is not parked: suspended in the handler, or unwound. */
static __attribute__((noinline)) bool exit_insn_not_parked(struct cpu *c, struct vmx_cpu *v,
							  const struct insn *i)
{
	v->exit_direct = true;
	c->exit_insn = i;
	/* on_core: the run is on the processor's stack (vmx_run.c), not the caller's */
	if (!v->on_core || !cpu_exit_prepare_cont(c))
		cpu_exit_now(c, CPU_EXIT_VMEXIT);
	vmx_exit_suspend_cont(c, v);
	return true;
}

/*
 * vmx_exit_insn_cont() with an MSR list or a writer's save due
 * (nv_written): RFLAGS first, as in vmx_exit_park(), then parked or not.
 */
static __attribute__((noinline)) bool exit_insn_slow(struct cpu *c, struct vmx_cpu *v,
						     const struct insn *i)
{
	if (exit_park(c, v, i, false, false))
		return true;
	return exit_insn_not_parked(c, v, i);
}

/*
 * An instruction exit after which the host may complete the instruction
 * (KVM skips it), with no interruption information, linear or physical
 * address, nor instruction information (CPUID, HLT, IN/OUT): STEP 1 at
 * once (vmx_exit_insn_direct()), then, in the common case, parked at the
 * block's end with the rest of the exit made here (exit_park()); else as
 * intercept_vmx.h vmx_exit_in_place() takes it.  Return: true, the
 * instruction is done (the host does it).
 */
bool vmx_exit_insn_cont(struct cpu *c, const struct insn *i, u32 reason, u64 qual)
{
	struct vmx_cpu *v = c->vmx;
	void *vmcs = v->port.vmcs;	/* the current VMCS: in VMX operation with one */

	/* vmx_exit_insn_direct() but for exit_direct, which only an exit not parked needs */
	v->exit.reason = reason;
	vmcs_set(vmcs, VM_EXIT_REASON, reason);
	vmcs_set(vmcs, EXIT_QUALIFICATION, qual);
	vmcs_set(vmcs, VM_EXIT_INTR_INFO, 0);
	vmcs_set(vmcs, VM_EXIT_INTR_ERROR_CODE, 0);
	vmcs_set(vmcs, VM_EXIT_INSTRUCTION_LEN, i->len);
	vmcs_set(vmcs, VMX_INSTRUCTION_INFO, 0);
	/*
	 * cpu_exit_park_ok(): on the processor's stack (v->on_core) with the
	 * rest (c->cont_run).  RFLAGS last, in a tail call: nothing before it
	 * reads the arithmetic flags, and no call is left in this frame (the
	 * MSR lists and a save of the fields a writer changed, nv_written,
	 * are out of line).
	 */
	if (unlikely(v->ctls.msr_lists | c->nv_written))
		return exit_insn_slow(c, v, i);
	if (likely(exit_park(c, v, i, false, true)))
		return cpu_exit_flags(c, (u64 *)((u8 *)vmcs + vmcs_field_offset(GUEST_RFLAGS)));
	return exit_insn_not_parked(c, v, i);
}
