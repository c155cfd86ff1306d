/* SPDX-License-Identifier: MIT */
/*
 * The VMX part of a logical processor: whether it is in VMX operation, the
 * VMXON and current-VMCS pointers, the controls cached at VM entry, and the
 * internal interface between vmx_insn.c, vmentry.c, vmexit.c, ept.c and
 * intercept.c.  Silicon-private; KVM sees it through src/x86/vmx/vmx_ops.h.
 *
 * "Physical addresses" given to VMX instructions (VMXON region, VMCS, EPTP,
 * bitmaps, MSR lists) are host addresses of this process: the memory KVM
 * allocated for them, exactly as real KVM hands the CPU physical addresses of
 * its own pages.
 */
#ifndef SILICON_VMX_CPU_H
#define SILICON_VMX_CPU_H

#include <stddef.h>

#include "silicon/fiber.h"
#include "silicon/silicon.h"
#include "silicon/vmcs.h"
#include "silicon/vmx_api.h"

struct cpu;

#define VMX_INVALID_PTR (~0ull)

/* The vector a host "IPI" (vmx_cpu_kick()) presents with "acknowledge interrupt on exit". */
#define VMX_HOST_KICK_VECTOR 0xfd

/*
 * A request bit of the core's cpu->req that VMX sets while interrupt- or
 * NMI-window exiting is on: any set bit makes the run loop evaluate the
 * instruction boundary (and so vmx_intercept_windows()) before every block.
 * The core ignores bits it does not know.
 */
#define VMX_REQ_BOUNDARY BIT(31)

/**
 * struct vmx_ctls - VM-execution, exit and entry controls cached at VM entry
 *
 * Like Bochs' VMCS_CACHE: the processor reads the controls once per entry
 * (SDM 27.2 checks them there) and decides every intercept from this copy.
 * Secondary controls are 0 when the primary "activate secondary controls"
 * is 0 (SDM 25.6.2).
 */
struct vmx_ctls {
	u32 pin, proc, proc2, exit, entry;
	u32 exception_bitmap, pfec_mask, pfec_match;
	u32 cr3_target_count;
	u64 cr3_target[4];
	u64 cr0_mask, cr0_shadow, cr4_mask, cr4_shadow;
	u64 io_bitmap_a, io_bitmap_b, msr_bitmap;
	u64 eptp;
	u64 tsc_offset, tsc_multiplier;
	u64 vapic;		/* virtual-APIC page (TPR shadow) */
	u32 tpr_threshold;
	u16 vpid;
	/* Derived from the fields above by vmx_cache_controls(), for VM entry. */
	u8 tsc_mode;		/* VMX_TSC_ROOT, VMX_TSC_OFFSET, VMX_TSC_SCALED */
	bool ept;		/* SECONDARY_EXEC_ENABLE_EPT */
	bool vpid_tagged;	/* "enable VPID" with a nonzero VPID: entries do not flush */
	bool msr_lists;		/* an MSR-store/-load count of the exit or entry is nonzero */
	/*
	 * An exit taken in place may be gone on from without the entry's
	 * checks (VMX_RESUME_CONT): a VPID-tagged context (no flush at entry),
	 * no preemption timer, no TPR shadow (VTPR is memory, checked at
	 * every entry), no interrupt- or NMI-window exiting.
	 */
	bool cont_ok;
};

/* The guest's TSC at VM entry (SDM 26.3): the root's, offset, or scaled and offset. */
enum { VMX_TSC_ROOT, VMX_TSC_OFFSET, VMX_TSC_SCALED };

/**
 * struct vmx_cpu - VMX state of one logical processor
 * @cpu: the execution core of this logical processor (vmx_cpu_create())
 * @vmxon: in VMX operation (after VMXON, before VMXOFF)
 * @guest_mode: in VMX non-root operation (between VM entry and VM exit)
 * @vmxon_ptr: the VMXON pointer
 * @vmcs_ptr: the current-VMCS pointer, VMX_INVALID_PTR when none
 * @root_cr0, @root_cr4: CR0/CR4 of VMX root operation, checked by VMXON
 *	and replaced with the host-state CR0/CR4 at every VM exit
 * @feature_control: IA32_FEATURE_CONTROL (locked, VMX outside SMX enabled)
 * @ctls: controls of the VMCS the processor is running, cached at entry
 */
/**
 * struct vmx_exit_info - a VM exit being taken (SDM 28.2 exit information)
 * @reason: basic exit reason (bit 31 never set here: entry failures are
 *	recorded directly by vmx_entry_failed())
 * @qual: exit qualification
 * @gla, @gla_valid: guest-linear address field
 * @gpa, @gpa_valid: guest-physical address field (EPT exits)
 * @intr_info, @intr_error: VM-exit interruption information and error code
 * @insn_len, @insn_info: instruction length and VM-exit instruction info
 */
struct vmx_exit_info {
	u32 reason;
	u64 qual;
	u64 gla;
	u64 gpa;
	bool gla_valid, gpa_valid;
	u32 intr_info, intr_error;
	u32 insn_len, insn_info;
};

#define VMX_NV_SNAP_FIRST seg
#define VMX_NV_SNAP_SIZE \
	(offsetof(struct cpu_state, sysenter_eip) + 8 - offsetof(struct cpu_state, VMX_NV_SNAP_FIRST))

struct vmx_cpu {
	struct cpu *cpu;
	bool vmxon;
	u64 vmxon_ptr;
	u64 vmcs_ptr;
	u64 root_cr0, root_cr3, root_cr4;
	/*
	 * An exit taken in place left the root CRs in the current VMCS's
	 * host-state area only (HOST_CR0/3/4): vmx_root_crs() copies them
	 * before any use, and before the VMCS or its host fields change
	 * (vmx_materialize_host_state(), a host-state VMWRITE).
	 */
	bool root_cr_lazy;
	u64 feature_control;
	struct vmx_ctls ctls;

	/* While the guest runs (vmx_run.c) */
	struct vmx_exit_info exit;
	/*
	 * The exit's information fields are in the VMCS already
	 * (vmx_exit_insn_direct()): of @exit only the reason is set, and
	 * vmx_complete_exit() skips STEP 1's copy.
	 */
	bool exit_direct;
	u64 *regs;			/* KVM's RAX..R15 array */
	void *root_phys_xlate;		/* the core's root-mode translation */
	u64 root_tsc_offset;
	bool timer_armed;		/* VMX-preemption timer counting */
	bool timer_zero;		/* ... and it started at 0 */
	u64 timer_deadline;		/* in guest-visible TSC ticks (root TSC) */
	u64 entry_tsc;			/* the TSC when it started (the entry's one read) */
	u32 injected, injected_err;	/* the event VM entry injected, 0 = none */
	u32 injected_len;		/* its instruction length (software events) */
	bool injecting;			/* its delivery has not started yet */
	u64 entry_icount;		/* instructions retired when the guest started */
	/*
	 * What the core's TLB entries were filled under: VPID, EPTP and the
	 * paging controls.  With a nonzero VPID, translations survive a VM
	 * exit and the next entry into the same context (SDM 29.4.3); INVEPT,
	 * INVVPID, MOV CR3 in the guest and any context change flush them.
	 */
	struct vmx_tlb_ctx {
		u64 eptp, cr3, cr0, cr4, efer;
		u16 vpid;
	} tlb_ctx;
	bool tlb_ctx_valid;
	/*
	 * The current VMCS's control and host-state fields passed the checks
	 * of STEPs 2-3 and no VMWRITE has changed them since (VMPTRLD and
	 * VMCLEAR reset it): the next entry need not repeat those checks,
	 * whose outcome depends on nothing else.  The event-injection fields
	 * (VM_ENTRY_INTR_INFO_FIELD, its error code and instruction length)
	 * are not covered: KVM writes them around most entries, so their
	 * checks (vmx_check_entry_event()) run at every entry.  A VMWRITE
	 * notes what it invalidates in port.dirty (VMCS_DIRTY_*, vmcs.h),
	 * which the next entry folds into this flag and the two below
	 * (vmx_fold_dirty()) before looking at them.
	 */
	bool ctl_host_checked;
	/*
	 * Likewise for the guest-state checks of STEP 4 except those on the
	 * fields that change at nearly every exit (RIP, RFLAGS,
	 * interruptibility, activity, pending debug exceptions: the checks of
	 * vmx_check_guest_volatile(), made at every entry).  Reset by a
	 * VMWRITE to any other guest-state or control field, and by a VM exit
	 * that saves a different value into one (vmexit.c).
	 */
	bool guest_checked;
	/*
	 * The core's registers still hold the guest state of the last VM exit
	 * (guest_loaded) and the host state that exit loaded is not in them
	 * yet (host_regs_pending): the core never executes in root operation,
	 * so the host registers are written into it only when root operation
	 * looks at one (vmx_materialize_host_state(): RDMSR/WRMSR of an MSR
	 * the VMCS switches, DR7, VMPTRLD, VMCLEAR, VMXOFF, a host-state
	 * VMWRITE), and the next VM entry loads only the guest fields that
	 * change at every exit (vmx_check_guest_volatile()'s) while
	 * guest_loaded.  Reset wherever guest_checked is, and by
	 * materializing the host state.
	 */
	bool guest_loaded;
	bool host_regs_pending;
	/*
	 * An exit taken in place (vmx_exit_suspend()) left the core's
	 * non-root view in it - the guest's TSC offset and multiplier, EPT
	 * translation, vmx_nonroot - as the VMRESUME that goes on needs it:
	 * nothing in root operation uses them but RDTSC, RDMSR/WRMSR on the
	 * processor and the state changes that materialize the host state,
	 * which put the root view back first (vmx_root_view()); a VM entry
	 * with this set and the controls unchanged (resume_ready) need not
	 * enter it again.
	 */
	bool nonroot_kept;
	/*
	 * @guest_mode (above), and @suspended (the run left on the processor's
	 * stack, below): next to the flags before them and resume_ready, as
	 * an exit and an entry taken in place write them all, adjacent.
	 */
	bool guest_mode;
	bool suspended;
	/*
	 * The last VM exit left everything vmx_resume_fast() needs besides
	 * the fields KVM writes around every entry: guest_loaded,
	 * ctl_host_checked, guest_checked and ctls_valid all set, the VMCS
	 * launched, no MSR-load list.  Any VMWRITE since shows in port.dirty
	 * (checked with it) or clears it (the slow VMWRITE); VMCLEAR, VMPTRLD,
	 * materializing the host state and every VM entry clear it.
	 * VMX_RESUME_READY is that; VMX_RESUME_CONT, set with it by an exit
	 * taken in place (vmx_exit_suspend_begin()), says more: the guest
	 * fields the exit saved passed every check a VM entry makes on them
	 * (interruptibility, activity and pending debug exceptions 0, RFLAGS
	 * valid without TF or VM, the RIP after the instruction valid for the
	 * mode), nothing in the core asks for the boundary to be evaluated,
	 * the core keeps the non-root view (nonroot_kept) and the controls
	 * allow it (ctls.cont_ok).  A VMRESUME that finds it set, no VMWRITE
	 * since but to GUEST_RIP (port.dirty 0: VMCS_DIRTY_ENTRY covers the
	 * other fields an entry loads) and GUEST_RIP the RIP after the
	 * exiting instruction goes on with no check (vmentry.c:
	 * vmx_resume_cont()).  Whatever clears the flag clears both bits, and
	 * so does putting the root view back (vmx_leave_kept_nonroot()).
	 */
	u8 resume_ready;
	/*
	 * The guest segment registers as the current VMCS holds them (written
	 * at each full guest-state load and each save), with RFLAGS.VM: a VM
	 * exit whose segments compare equal saves none of them.
	 */
	struct cpu_seg seg_snap[CPU_NR_SEGS];
	bool seg_snap_v86;
	bool seg_snap_valid;
	/*
	 * The core's registers from which a VM exit saves the guest-state
	 * fields other than RIP, RSP, RFLAGS and the non-register state
	 * (segments through SYSENTER_EIP in struct cpu_state, PAT, DEBUGCTL),
	 * as the last full save saw them.  While the VMCS holds what that save
	 * wrote (no full load since, which any VMWRITE to one of those fields
	 * or to a control forces, and which sets cpu->nv_written) an exit
	 * after which no writer of them has run (cpu->nv_written clear, cpu.h)
	 * saves none of them; debug builds compare them with the snapshot to
	 * check that.  Not with RFLAGS.VM (the saved access rights are not the
	 * core's) nor PAE paging with EPT (the PDPTEs may come from memory):
	 * the save leaves nv_written set then.  An exit after a writer that
	 * changed none of them (equal to the snapshot) saves none either,
	 * while the VMCS holds what the save wrote (nv_snap_valid: set by the
	 * full save, cleared by a full load).
	 */
	u8 nv_snap[VMX_NV_SNAP_SIZE];
	u64 nv_snap_pat, nv_snap_debugctl;
	bool nv_snap_valid;
	/*
	 * @ctls holds the current VMCS's controls: no control field has
	 * changed since they were read (VMWRITE of a control, VMPTRLD, VMCLEAR
	 * and an exit that changes "IA-32e mode guest" reset it).
	 */
	bool ctls_valid;
	/* VMREAD/VMWRITE's view of the current VMCS (vmx_api.h), with the VMCS_DIRTY_* bits */
	struct vmx_vmcs_port port;
	/*
	 * The processor's own stack (vmx_run.c): VMLAUNCH/VMRESUME run the
	 * guest on it, so that an instruction exit can return to the host
	 * with the run suspended in the instruction's handler or parked at
	 * its segment's or block's end (@suspended),
	 * and the next VMRESUME that continues right after that instruction,
	 * on the same thread, goes on in the handler instead of unwinding and
	 * re-entering the run.  @fib: the stack and the switch (fiber.h);
	 * @on_core: the run is on this stack (so an exit may suspend it).
	 */
	struct fiber fib;
	bool on_core;
	/* vmx_thread_id() of the thread that runs the core (vmx_op_enter_slow()) */
	unsigned long cont_thread;
	/*
	 * Exits in a row that could not be taken in place (an EPT exit, an
	 * event...): past a few, entries run on the caller's stack, which
	 * saves the two switches, and every 64th tries the processor's again.
	 */
	u32 cont_miss, cont_probe;
	/* What the host asked of the core (vmx_run.c core_main()) and what came back. */
	u64 *enter_regs;
	bool enter_launched, enter_done;
	u32 enter_result;
};

/* struct vmx_cpu's resume_ready */
#define VMX_RESUME_READY	1u
#define VMX_RESUME_CONT		2u
/*
 * suspended and resume_ready, adjacent, read as one 16-bit word: the run
 * suspended and both bits (vmx_run.c vmx_op_enter())
 */
#define VMX_CONT_WORD		(1u | (VMX_RESUME_READY | VMX_RESUME_CONT) << 8)

#define VMX_CSTACK_SIZE (512u << 10)
#define VMX_CSTACK_GUARD 4096u

/*
 * The calling thread, as an address of its own TLS (unique among live
 * threads, like pthread_self(), without a call): the handler's frames
 * suspended on the processor's stack may hold TLS addresses of the thread
 * that ran them, so only that thread may go on in them.
 */
static __always_inline unsigned long vmx_thread_id(void)
{
	return (unsigned long)&vmx_this_port;
}

/*
 * KVM's register array to or from the core (RAX..R15, 128 bytes; VM entry
 * and exit copy it as Linux's __vmx_vcpu_run() does): four 32-byte moves
 * each way where the host has AVX (vmx_cpu_create() notes it), instead of
 * memcpy()'s eight 16-byte ones, and VZEROUPPER after them so that the
 * host's SSE code pays no transition.
 */
extern bool vmx_host_avx __attribute__((visibility("hidden")));
static __always_inline void vmx_copy_gprs(u64 *dst, const u64 *src)
{
#if !defined(__SANITIZE_ADDRESS__)
	if (__builtin_expect(vmx_host_avx, 1)) {
		__asm__("vmovdqu (%2), %%ymm0\n\t"
			"vmovdqu 32(%2), %%ymm1\n\t"
			"vmovdqu 64(%2), %%ymm2\n\t"
			"vmovdqu 96(%2), %%ymm3\n\t"
			"vmovdqu %%ymm0, (%1)\n\t"
			"vmovdqu %%ymm1, 32(%1)\n\t"
			"vmovdqu %%ymm2, 64(%1)\n\t"
			"vmovdqu %%ymm3, 96(%1)\n\t"
			"vzeroupper"
			: "=m"(*(u64 (*)[16])dst)
			: "r"(dst), "r"(src), "m"(*(const u64 (*)[16])src)
			: "xmm0", "xmm1", "xmm2", "xmm3");
		return;
	}
#endif
	memcpy(dst, src, 16 * sizeof(u64));
}

static __always_inline void vmx_switch_to_core(struct vmx_cpu *v)
{
	fiber_to_core(&v->fib);
}

static __always_inline void vmx_switch_to_host(struct vmx_cpu *v)
{
	fiber_to_host(&v->fib);
}

/*
 * What VMWRITEs since the last VM entry invalidated (VMCS_DIRTY_*), folded
 * into the cached outcomes before the entry looks at them.
 */
static inline void vmx_fold_dirty(struct vmx_cpu *v)
{
	u32 d = v->port.dirty;

	if (!d)
		return;
	v->port.dirty = 0;
	if (d & VMCS_DIRTY_CTLS)
		v->ctls_valid = false;
	if (d & VMCS_DIRTY_CTL_HOST)
		v->ctl_host_checked = false;
	if (d & VMCS_DIRTY_GUEST)
		v->guest_checked = v->guest_loaded = false;
}

static inline void *vmx_ptr(u64 pa)
{
	return (void *)(uintptr_t)pa;
}

static inline void *vmx_vmcs(const struct vmx_cpu *v)
{
	return v->vmcs_ptr == VMX_INVALID_PTR ? NULL : vmx_ptr(v->vmcs_ptr);
}

/* The current VMCS is reachable by the inline VMREAD/VMWRITE exactly while it is usable. */
void vmx_port_update(struct vmx_cpu *v);

/* A "physical address" VMX accepts for a 4 KiB structure (SDM 31.3). */
static inline bool vmx_page_addr_valid(u64 pa)
{
	return pa && !(pa & 0xfff) && !(pa & VMX_PA_RSVD_MASK);
}

static inline bool vmx_is_canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;
}

/* vmx_caps.c */
void vmx_cpu_init(struct vmx_cpu *v, struct cpu *cpu);
int vmx_cap_msr_read(u32 msr, u64 *val);
u64 vmx_cr0_fixed0(void);
u64 vmx_cr0_fixed1(void);
u64 vmx_cr4_fixed0(void);
u64 vmx_cr4_fixed1(void);
/* A control value is allowed by a capability MSR's allowed-0/allowed-1 halves. */
static inline bool vmx_ctl_allowed(u32 val, u64 cap)
{
	u32 must1 = (u32)cap, may1 = (u32)(cap >> 32);

	return (val & must1) == must1 && !(val & ~may1);
}

/* vmx_insn.c: VMX instructions executed in VMX root operation. */
enum vmx_status vmx_vmfail(struct vmx_cpu *v, u32 error);
enum vmx_status vmx_vmxon(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmxoff(struct vmx_cpu *v);
enum vmx_status vmx_vmclear(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmptrld(struct vmx_cpu *v, u64 pa);
enum vmx_status vmx_vmptrst(struct vmx_cpu *v, u64 *pa);
enum vmx_status vmx_vmread(struct vmx_cpu *v, u32 enc, u64 *val);
enum vmx_status vmx_vmwrite(struct vmx_cpu *v, u32 enc, u64 val);
enum vmx_status vmx_invept(struct vmx_cpu *v, u64 type, u64 eptp);
enum vmx_status vmx_invvpid(struct vmx_cpu *v, u64 type, u16 vpid, u64 gla);

/* ept.c */
bool vmx_eptp_valid(u64 eptp);

/* vmentry.c */
/**
 * vmx_entry_check() - the checks of VMLAUNCH/VMRESUME before guest state is
 * loaded (SDM 27.1-27.3), in the SDM's order
 * @launch: true for VMLAUNCH, false for VMRESUME
 * @qual: for an invalid-guest-state failure, the exit qualification
 *
 * Return: VMX_SUCCEED with *@exit_reason = 0 if entry may proceed;
 * VMX_FAIL_INVALID / VMX_FAIL_VALID (error in VM_INSTRUCTION_ERROR) /
 * VMX_FAULT_UD for instruction failures; or VMX_SUCCEED with *@exit_reason =
 * EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY and *@qual set
 * for a guest-state check failure (a failed VM entry, SDM 27.8).
 */
enum vmx_status vmx_entry_check(struct vmx_cpu *v, bool launch, u32 *exit_reason, u64 *qual);
int vmx_check_controls(struct vmx_cpu *v, const void *vmcs);
int vmx_check_host_state(struct vmx_cpu *v, const void *vmcs);
int vmx_check_guest_state(struct vmx_cpu *v, const void *vmcs, u64 *qual);
int vmx_check_entry_event(const void *vmcs);
int vmx_check_guest_volatile(const void *vmcs, u64 *qual);
void vmx_cache_controls(struct vmx_ctls *c, const void *vmcs);

/* The VMX-preemption timer ticks once every 2^VMX_TIMER_RATE TSC ticks. */
#define VMX_TIMER_RATE 5
u64 vmx_host_tsc(void);

/* vmexit.c */
void vmx_load_host_state(struct vmx_cpu *v, const void *vmcs);
void vmx_materialize_host_state(struct vmx_cpu *v);
void vmx_leave_kept_nonroot(struct vmx_cpu *v);

void vmx_root_crs_load(struct vmx_cpu *v);
static __always_inline void vmx_root_crs(struct vmx_cpu *v)
{
	if (__builtin_expect(v->root_cr_lazy, 0))
		vmx_root_crs_load(v);
}

/* Root operation looks at the core's TSC or MSRs: the root view first (nonroot_kept). */
static __always_inline void vmx_root_view(struct vmx_cpu *v)
{
	if (__builtin_expect(v->nonroot_kept, 0))
		vmx_leave_kept_nonroot(v);
}
/* MSRs the VMCS switches (loaded at entry from the guest-state area, at exit from the host's). */
static inline bool vmx_msr_switched(u32 msr)
{
	return msr == 0x174 || msr == 0x175 || msr == 0x176 ||	/* SYSENTER_CS/ESP/EIP */
	       msr == 0x1d9 || msr == 0x277 ||			/* DEBUGCTL, PAT */
	       msr == 0xc0000080u || msr == 0xc0000100u || msr == 0xc0000101u;	/* EFER, FS/GS_BASE */
}
void vmx_entry_failed(struct vmx_cpu *v, u32 exit_reason, u64 qual);
/**
 * vmx_exit_now() - take a VM exit from inside guest execution
 *
 * Records @x as the exit's information and leaves the core's run loop
 * (cpu_exit_now(CPU_EXIT_VMEXIT)); vmx_complete_exit() then saves the
 * guest state and loads the host state.  The guest RIP is the processor's
 * current RIP: the instruction that exits, or the next to execute for
 * events at instruction boundaries.
 */
__attribute__((noreturn)) void vmx_exit_now(struct vmx_cpu *v, const struct vmx_exit_info *x);
/* Record an exit to be completed at the current boundary (no longjmp). */
void vmx_exit_pending(struct vmx_cpu *v, const struct vmx_exit_info *x);
void vmx_complete_exit(struct vmx_cpu *v);
/* The same for an exit taken in place (the core keeps its non-root view: nonroot_kept). */
void vmx_exit_suspend_begin(struct vmx_cpu *v);
static __always_inline void vmx_exit_suspend(struct vmx_cpu *v)
{
	vmx_exit_suspend_begin(v);
	vmx_switch_to_host(v);
}

/*
 * STEP 1 (28.2) for an instruction exit with no interruption information,
 * guest-linear or guest-physical address, written at once into the
 * current VMCS (its exit-information fields are read-only to software,
 * which sees them only after the exit completes): the same values the
 * generic vmx_exit_pending() + vmx_complete_exit() copy would store.
 */
static __always_inline void vmx_exit_insn_direct(struct vmx_cpu *v, u32 reason, u64 qual,
						 u32 len, u32 info)
{
	void *vmcs = v->port.vmcs;	/* the current VMCS: in VMX operation with one */

	v->exit.reason = reason;
	v->exit_direct = true;
	vmcs_set(vmcs, VM_EXIT_REASON, reason);
	vmcs_set(vmcs, EXIT_QUALIFICATION, qual);
	vmcs_set(vmcs, VM_EXIT_INTR_INFO, 0);
	vmcs_set(vmcs, VM_EXIT_INTR_ERROR_CODE, 0);
	vmcs_set(vmcs, VM_EXIT_INSTRUCTION_LEN, len);
	vmcs_set(vmcs, VMX_INSTRUCTION_INFO, info);
}

/* vmentry.c: STEP 5, 6 */
u32 vmx_load_guest(struct vmx_cpu *v, void *vmcs, u64 *qual);
bool vmx_resume_fast(struct vmx_cpu *v, u64 *regs, bool cont);
/*
 * vmx_op_enter()'s ways (vmx_run.c, vmentry.c): VMRESUME going on in the
 * suspended handler; an entry that goes on at the next instruction
 * instead; any other entry.
 */
u32 vmx_resume_cont(struct vmx_cpu *v, u64 *regs);
u32 vmx_resume_cont_other(struct vmx_cpu *v, u64 *regs);
/* the same two after vmx_op_code_sync() (vmx_api.h); its signal taken by any other entry */
u32 vmx_resume_cont_sync(struct vmx_cpu *v, u64 *regs);
void vmx_code_sync_take(struct vmx_cpu *v);
u32 vmx_cont_restart(struct vmx_cpu *v);
u32 vmx_op_enter_slow(struct vmx_cpu *v, u64 *regs, bool launched);

#endif
