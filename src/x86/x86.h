/* SPDX-License-Identifier: MIT */
/*
 * arch/x86/kvm: the architecture half of struct kvm and struct kvm_vcpu and
 * the kvm_arch_* hooks that virt/kvm (src/kvm/kvm_main.c) calls.
 */
#ifndef USERKVM_X86_H
#define USERKVM_X86_H

#include <pthread.h>
#include <pthread.h>
#include <userkvm/kvm_compat.h>
#include "util/types.h"
#include "x86/msr-index.h"
#include "x86/mmu/mmu.h"
#include "x86/mmio_assist.h"

#ifndef X86_EFLAGS_IF
#define X86_EFLAGS_IF	(1ull << 9)
#define X86_EFLAGS_TF	(1ull << 8)
#define X86_EFLAGS_VM	(1ull << 17)
#define DR6_BS		(1ull << 14)
#endif

struct kvm;
struct kvm_vcpu;

/*
 * The processor's TSC is the host's (RDTSC); a guest's runs at its own
 * frequency through TSC scaling, as on VMX: TSC_MULTIPLIER is a fixed-point
 * ratio with 48 fractional bits (kvm_caps.tsc_scaling_ratio_frac_bits).
 */
#define KVM_DEFAULT_TSC_KHZ	kvm_host_tsc_khz()
#define KVM_TSC_SCALING_FRAC_BITS	48
#define KVM_DEFAULT_TSC_SCALING_RATIO	(1ull << KVM_TSC_SCALING_FRAC_BITS)
u32 kvm_host_tsc_khz(void);
#define KVM_MAX_CPUID_ENTRIES	256
#define KVM_MIN_ALLOC_MMU_PAGES	64	/* KVM_SET_NR_MMU_PAGES' floor */

struct kvm_arch {
	u64 tss_addr;
	bool tss_addr_set;
	u64 ept_identity_map_addr;
	bool ept_identity_map_set;
	u32 default_tsc_khz;		/* KVM_SET_TSC_KHZ on the VM fd */
	u32 max_vcpu_ids;
	u32 bsp_vcpu_id;		/* KVM_SET_BOOT_CPU_ID */

	struct kvm_tdp_mmu tdp_mmu;	/* the EPT tables of the VM (mmu/tdp_mmu.c) */
	/*
	 * KVM_SET_NR_MMU_PAGES: the shadow-page budget.  The TDP MMU does not
	 * count against it (as in KVM); there is no shadow MMU yet.
	 */
	u64 n_requested_mmu_pages;
	u64 n_max_mmu_pages;

	/* The in-kernel irqchip (irq.c): NULL until KVM_CREATE_IRQCHIP / _PIT2. */
	struct kvm_pic *vpic;
	struct kvm_ioapic *vioapic;
	struct kvm_pit *vpit;
	struct kvm_irq_routing_table *irq_routing;	/* under irq_lock */
	pthread_mutex_t irq_lock;
	unsigned long irq_states[KVM_IOAPIC_NUM_PINS];	/* per I/O APIC pin: sources asserting it */
	unsigned long pic_irq_states[16];		/* per PIC pin */

	/* TSC synchronization between vCPUs (kvm_synchronize_tsc) */
	pthread_mutex_t tsc_write_lock;
	bool user_set_tsc;
	u64 last_tsc_nsec;
	u64 last_tsc_write;
	u32 last_tsc_khz;
	u64 cur_tsc_offset;

	/* MSR accesses userspace handles (run loop, x86.c) */
	bool guest_cannot_read_msr_platform_info;	/* KVM_CAP_MSR_PLATFORM_INFO off */
	u64 user_space_msr_mask;		/* KVM_CAP_X86_USER_SPACE_MSR: KVM_MSR_EXIT_REASON_* */
	struct kvm_x86_msr_filter *msr_filter;	/* KVM_X86_SET_MSR_FILTER; srcu, NULL = allow all */
};

struct kvm_x86_msr_filter {
	bool default_allow;
	int count;
	struct msr_bitmap_range {
		u32 flags, nmsrs, base;
		unsigned long *bitmap;
	} ranges[KVM_MSR_FILTER_MAX_RANGES];
};

/* Register numbers in vcpu->arch.regs[], the kernel's (and the SDM's) order. */
enum kvm_reg {
	VCPU_REGS_RAX = 0,
	VCPU_REGS_RCX = 1,
	VCPU_REGS_RDX = 2,
	VCPU_REGS_RBX = 3,
	VCPU_REGS_RSP = 4,
	VCPU_REGS_RBP = 5,
	VCPU_REGS_RSI = 6,
	VCPU_REGS_RDI = 7,
	VCPU_REGS_R8 = 8,
	VCPU_REGS_R9 = 9,
	VCPU_REGS_R10 = 10,
	VCPU_REGS_R11 = 11,
	VCPU_REGS_R12 = 12,
	VCPU_REGS_R13 = 13,
	VCPU_REGS_R14 = 14,
	VCPU_REGS_R15 = 15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS
};

/*
 * Register groups cached lazily from the VMCS (KVM's VCPU_EXREG_*):
 * VCPU_EXREG_EMULATOR is what the instruction emulator reads and may write
 * back (CS/SS access rights, CR0/2/3/4, EFER, PDPTRs, interruptibility;
 * XCR0 is vcpu->arch's at all times, DR6 comes with the whole state;
 * the segments themselves are VCPU_EXREG_SEGMENTS, and
 * vcpu->arch.seg[] holds stale copies until that is read), without the
 * rest of the state a full
 * cache_guest_state() moves (MSRs, DR0-3/DR7, SYSENTER, PAT);
 * VCPU_EXREG_FPU the x87/SSE registers (guest_fpu), which only the
 * instructions that use them need (KVM's emulator_get_fpu()).
 */
enum kvm_reg_ex {
	VCPU_EXREG_EMULATOR,
	VCPU_EXREG_FPU,
	/*
	 * The segment registers, GDTR and IDTR, of which VCPU_EXREG_EMULATOR
	 * has only the access rights of CS and SS (mode, CPL): outside 64-bit
	 * mode the emulator takes them at once, in 64-bit mode only for an
	 * instruction that reads them (KVM's segment cache).
	 */
	VCPU_EXREG_SEGMENTS,
};

/* Segment registers, in the order of the VMCS guest-state area. */
enum {
	VCPU_SREG_ES,
	VCPU_SREG_CS,
	VCPU_SREG_SS,
	VCPU_SREG_DS,
	VCPU_SREG_FS,
	VCPU_SREG_GS,
	VCPU_SREG_TR,
	VCPU_SREG_LDTR,
	NR_VCPU_SREGS
};

/*
 * A segment register with its hidden part, as the VMCS holds it: selector,
 * base, limit and the access-rights word (SDM 24.4.1, table 24-2: type,
 * S, DPL, P in bits 0-7, AVL/L/D/G in 12-15, "unusable" in bit 16).
 */
struct kvm_seg_state {
	u64 base;
	u32 limit;
	u32 ar;
	u16 selector;
};

#define VMX_AR_UNUSABLE_MASK	BIT(16)
#ifndef VMX_AR_TYPE_MASK
#define VMX_AR_TYPE_MASK	0x0fu
#endif
#define VMX_AR_TYPE_BUSY_64_TSS	11

struct desc_ptr {
	u16 size;
	u64 address;
};

/* Guest interruptibility state (SDM 24.4.2, table 24-3). */
#define GUEST_INTR_STATE_STI	BIT(0)
#define GUEST_INTR_STATE_MOV_SS	BIT(1)
#define GUEST_INTR_STATE_NMI	BIT(3)

/*
 * The x87/SSE/AVX register file in the XSAVE standard (non-compacted)
 * layout, SDM vol. 1 13.4: the 512-byte legacy (FXSAVE) region, the
 * 64-byte header and the AVX component (upper halves of YMM0-15) at
 * offset 576.  The header's xfeatures says which components hold state;
 * a clear bit means "in its initial configuration" (SDM 13.6).
 */
struct fxregs_state {
	u16 cwd;
	u16 swd;
	u16 twd;		/* abridged tag word in bits 7:0 */
	u16 fop;
	u64 rip;
	u64 rdp;
	u32 mxcsr;
	u32 mxcsr_mask;
	u32 st_space[32];	/* 8 registers, 16 bytes each */
	u32 xmm_space[64];	/* 16 registers, 16 bytes each */
	u32 padding[12];
	u32 sw_reserved[12];
};

struct xstate_header {
	u64 xfeatures;
	u64 xcomp_bv;
	u64 reserved[6];
};

#define XSAVE_YMM_OFFSET	576
#define XSAVE_YMM_SIZE		256
#define KVM_XSTATE_SIZE		(XSAVE_YMM_OFFSET + XSAVE_YMM_SIZE)

struct xregs_state {
	struct fxregs_state i387;
	struct xstate_header header;
	u8 ymmh[XSAVE_YMM_SIZE];
} __attribute__((aligned(64)));

/* An exception or interrupt queued for the next VM entry (KVM's names). */
struct kvm_queued_exception {
	bool pending;
	bool injected;
	bool has_error_code;
	bool has_payload;
	u8 vector;
	u32 error_code;
	u64 payload;
};

struct kvm_queued_interrupt {
	bool injected;
	bool soft;
	u8 nr;
};

/*
 * Per-vCPU architectural state.  Until the VMX backend (src/x86/vmx) keeps
 * guest state in the VMCS, the state ioctls read and write it here; the
 * fields are the ones KVM keeps in struct kvm_vcpu_arch plus the VMCS
 * guest-state area (segments, descriptor tables, interruptibility).
 */
struct kvm_vcpu_arch {
	u64 regs[NR_VCPU_REGS];
	u64 load_id;		/* kvm_thread_vcpu_loaded's name for it (kvm_arch_vcpu_load()) */
	/*
	 * While the guest state is in the VMCS (after a VM exit), the groups
	 * of registers read into this struct (VCPU_EXREG_* bits) and those
	 * changed here that the next VM entry writes back (KVM's regs_avail,
	 * regs_dirty; kvm_register_is_available(), kvm_register_mark_dirty()).
	 */
	u32 regs_avail;
	u32 regs_dirty;
	u64 rflags;
	struct kvm_seg_state seg[NR_VCPU_SREGS];
	struct desc_ptr gdt, idt;
	u64 cr0, cr2, cr3, cr4, cr8;
	u64 efer;
	u64 apic_base;
	struct kvm_lapic *apic;		/* the in-kernel local APIC, or NULL */
	struct vcpu_vmx *vmx;		/* the VMX backend's part (vmx/vmx.h) */
	/* The run loop (x86.c) */
	int (*complete_userspace_io)(struct kvm_vcpu *vcpu);
	u64 cui_linear_rip;		/* where the instruction awaiting completion is */
	/*
	 * cui_linear_rip holds it (kvm_cui_save_linear_rip()); until then
	 * nothing changed RIP or CS since the exit, so it is where RIP is.
	 */
	bool cui_linear_rip_saved;
	/*
	 * The last KVM_RUN left the vCPU as its last VM entry saw it, and no
	 * vCPU ioctl came since: no in-kernel LAPIC, no event to inject (none
	 * was pending at that entry; every event an exit queues clears it:
	 * kvm_queue_exception(), vmx_complete_interrupts()),
	 * the vCPU runnable, RIP where the exit left it (no cui_linear_rip
	 * saved).  The next KVM_RUN then completes the
	 * exit and enters without those checks (kvm_vcpu_resume_plain()).
	 * Written only by the vCPU's thread under vcpu->mutex; cleared by
	 * each KVM_RUN and each vCPU ioctl (kvm_arch_vcpu_ioctl()).
	 */
	bool resume_plain;
	/*
	 * The next VM entry finds nothing changed since the last VM exit but
	 * RIP (set by kvm_vcpu_resume_plain() only, for the entry it makes,
	 * cleared by that entry): the vendor's vcpu_run may leave out its
	 * checks of the rest (dirty state, RFLAGS, single-stepping, timer).
	 */
	bool entry_rip_only;
	/*
	 * Nonzero: the pending completion is complete_fast_pio_out() or
	 * complete_fast_pio_in() and its skip of the instruction is RIP = this
	 * and nothing else, as the vendor found at the exit (no RFLAGS.TF, no
	 * single-stepping, no STI/MOV-SS blocking to end, no wrap to check;
	 * kvm_fast_pio_fastpath()'s @next_rip).  0: the completion does the
	 * full skip.  Set with the completion (kvm_fast_pio_user()), cleared
	 * when it runs (kvm_complete_userspace_io()); read only while
	 * resume_plain vouches that RIP and RFLAGS are where the exit left
	 * them.
	 */
	u64 cui_next_rip;
	/*
	 * The IN awaiting complete_fast_pio_in(): the bits of RAX it keeps
	 * (~0xff, ~0xffff; 0 for a 32-bit IN, which zero-extends), from the
	 * exit's size as KVM keeps vcpu->arch.pio.size (what userspace writes
	 * into kvm_run->io meanwhile does not count).  ~0 for any other
	 * completion.
	 */
	u64 pio_in_keep;
	/*
	 * The processor's decode assist for the EPT misconfiguration being
	 * handled (mmio_assist.h: a MOV store or load; .bytes 0: nothing
	 * reported).  Set by handle_ept_misconfig() for its
	 * kvm_mmu_page_fault() only, which clears it on every return; read by
	 * the emulator (x86_emulate_instruction(): no fetch, no decode, as
	 * with SVM's decode-assist bytes).
	 */
	struct kvm_mmio_assist emul_assist;
	u32 guest_debug;		/* KVM_SET_GUEST_DEBUG's KVM_GUESTDBG_* */
	u64 eff_db[4], guest_debug_dr7;	/* KVM_GUESTDBG_USE_HW_BP: userspace's DR0-3, DR7 */
	int mode;			/* OUTSIDE_GUEST_MODE / IN_GUEST_MODE, atomic */
	int last_vmentry_cpu;		/* -1 until the first VM entry (kvm_vcpu_has_run()) */
	pthread_mutex_t halt_lock;	/* with halt_cond: a halted vCPU sleeps here */
	pthread_cond_t halt_cond;
	u64 pdptrs[4];			/* PAE PDPTEs, as loaded by load_pdptrs() */
	u32 interruptibility;		/* GUEST_INTR_STATE_* */

	u64 db[4];
	u64 dr6, dr7;

	u64 xcr0;
	struct xregs_state guest_fpu;

	struct kvm_queued_exception exception;
	struct kvm_queued_interrupt interrupt;
	bool nmi_injected;
	unsigned int nmi_pending;	/* after process_nmi() */
	unsigned int nmi_queued;	/* KVM_SET_VCPU_EVENTS, not yet processed */
	u32 mp_state;
	bool signal_pending;		/* kvm_vcpu_interrupt(): KVM_RUN returns -EINTR, atomic */
	u64 halt_poll_ns;		/* the halt-polling window now (kvm_vcpu_halt()) */
	/* host TSC ticks to the next timer deadline at VM entry (preemption timer), ~0 = none */
	u64 timer_tsc_left;
	/*
	 * The vcpu_enter_guest() in progress polls in-kernel timers (LAPIC,
	 * PIT) between fastpath re-entries: the vendor may not re-enter by
	 * itself (vmx_fastpath_reenter()).
	 */
	bool entry_polls_timers;

	/* MSRs (msr.c) */
	u32 sysenter_cs;
	u64 sysenter_esp, sysenter_eip;
	u64 star, lstar, cstar, syscall_mask, kernel_gs_base;
	u64 pat;
	u64 tsc_aux;
	u64 ia32_misc_enable_msr;
	u64 msr_ia32_feature_control;
	u64 msr_ia32_feature_control_valid_bits;
	u64 ia32_tsc_adjust_msr;
	u64 microcode_version;
	u64 arch_capabilities;
	u64 perf_capabilities;
	u64 msr_platform_info;
	u64 msr_misc_features_enables;
	u64 msr_ia32_power_ctl;
	u64 msr_hwcr;
	u64 smi_count;
	struct kvm_mtrr {
		u64 var[2 * 8];		/* PhysBase/PhysMask pairs, KVM_NR_VAR_MTRR */
		u64 fixed_64k;
		u64 fixed_16k[2];
		u64 fixed_4k[8];
		u64 deftype;
	} mtrr_state;

	/* TSC: guest TSC = host TSC * l1_tsc_scaling_ratio >> 48, plus l1_tsc_offset */
	u32 tsc_khz;
	u64 l1_tsc_scaling_ratio;
	u64 l1_tsc_offset;

	/* Guest CPUID (cpuid.c) and what KVM derives from it */
	int cpuid_nent;
	struct kvm_cpuid_entry2 *cpuid_entries;
	/*
	 * The entry the last CPUID exit found (kvm_cpuid()), for that
	 * function/index: NULL whenever cpuid_entries is replaced or freed.
	 */
	struct kvm_cpuid_entry2 *cpuid_last;
	u32 cpuid_last_function, cpuid_last_index;
	u64 guest_supported_xcr0;
	u64 cr4_guest_rsvd_bits;
	u64 reserved_gpa_bits;
	int maxphyaddr;
	bool is_amd_compatible;

	/* KVM_SET_SIGNAL_MASK: applied around KVM_RUN by the run loop */
	bool sigset_active;
	u64 sigset;

	/* The instruction emulator (emulate.c), made at its first use */
	struct x86_emulate_ctxt *emulate_ctxt;

	/*
	 * The last MMIO page a fault found (KVM's mmio_gfn/mmio_gen; TDP has
	 * no mmio_gva): while the memslots are of generation mmio_gen, the
	 * emulator takes gfn mmio_gfn for MMIO without looking for a slot.
	 */
	bool mmio_cached;
	u64 mmio_gfn;
	u64 mmio_gen;
	/* TDP tables for this vCPU's faults, allocated outside mmu_lock */
	struct kvm_mmu_caches mmu_caches;
};

static inline bool kvm_register_is_available(struct kvm_vcpu_arch *a, enum kvm_reg_ex reg)
{
	return a->regs_avail & (1u << reg);
}

static inline void kvm_register_mark_dirty(struct kvm_vcpu_arch *a, enum kvm_reg_ex reg)
{
	a->regs_dirty |= 1u << reg;
}

int kvm_arch_init_vm(struct kvm *kvm, unsigned long type);
void kvm_arch_destroy_vm(struct kvm *kvm);
int kvm_arch_vcpu_precreate(struct kvm *kvm, unsigned int id);
int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu);
void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu);
long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg);
long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg);
int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu);
int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext);
int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
/* Largest guest frame number the MMU can map (MAXPHYADDR of the processor). */
u64 kvm_mmu_max_gfn(void);

/* x86.c, shared with cpuid.c and msr.c */
void kvm_vcpu_reset(struct kvm_vcpu *vcpu, bool init_event);
int kvm_apic_set_base(struct kvm_vcpu *vcpu, u64 value, bool host_initiated);
int __kvm_set_xcr(struct kvm_vcpu *vcpu, u32 index, u64 xcr);
bool kvm_valid_efer(struct kvm_vcpu *vcpu, u64 efer);
u64 kvm_read_l1_tsc(struct kvm_vcpu *vcpu);
void kvm_set_tsc_khz(struct kvm_vcpu *vcpu, u32 khz);
void kvm_synchronize_tsc(struct kvm_vcpu *vcpu, const u64 *user_value);
u8 max_host_virt_addr_bits(void);

static inline bool is_noncanonical_address_bits(u64 la, u8 vaddr_bits)
{
	return (u64)((s64)(la << (64 - vaddr_bits)) >> (64 - vaddr_bits)) != la;
}

/* The run loop and the exit handling shared by vendors (x86.c) */
int kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu);
int kvm_emulate_cpuid(struct kvm_vcpu *vcpu);
int kvm_emulate_halt(struct kvm_vcpu *vcpu);
int kvm_emulate_hypercall(struct kvm_vcpu *vcpu);
int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu);
int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu);
/* The MSR-write fastpath (x86.c); the enum is kvm_x86_ops.h's. */
enum exit_fastpath_completion handle_fastpath_set_msr_irqoff(struct kvm_vcpu *vcpu);
enum exit_fastpath_completion handle_fastpath_cpuid(struct kvm_vcpu *vcpu);
int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu);
int kvm_fast_pio(struct kvm_vcpu *vcpu, int size, u16 port, int in);
int kvm_emulate_string_io(struct kvm_vcpu *vcpu, int size, u16 port, int in, int rep,
			  u32 insn_info, u64 linear);
int kvm_emulate_instruction(struct kvm_vcpu *vcpu, int emulation_type);
int x86_emulate_instruction(struct kvm_vcpu *vcpu, u64 cr2_or_gpa, int emulation_type,
			    void *insn, int insn_len);
int kvm_handle_cr_access(struct kvm_vcpu *vcpu, u64 qualification);
int kvm_handle_dr_access(struct kvm_vcpu *vcpu, u64 qualification);
int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, u64 gpa, u32 error_code);
int kvm_interrupt_window_open(struct kvm_vcpu *vcpu);
int kvm_handle_unexpected_exit(struct kvm_vcpu *vcpu, u32 exit_reason);
/* KVM_GUESTDBG_* userkvm implements (KVM_CAP_SET_GUEST_DEBUG2) */
#define KVM_GUESTDBG_VALID_MASK	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				 KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
				 KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
				 KVM_GUESTDBG_BLOCKIRQ)
int kvm_arch_vcpu_ioctl_set_guest_debug(struct kvm_vcpu *vcpu, struct kvm_guest_debug *dbg);
int kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, struct kvm_msr_filter *filter);
void kvm_free_msr_filter(struct kvm_x86_msr_filter *f);
#define KVM_MSR_RET_FILTERED	3
u64 kvm_get_linear_rip(struct kvm_vcpu *vcpu);
void kvm_cui_save_linear_rip(struct kvm_vcpu *vcpu);
void kvm_queue_exception(struct kvm_vcpu *vcpu, u8 vector, bool has_error, u32 error_code);
void kvm_vcpu_kick(struct kvm_vcpu *vcpu);
/* KVM_NMI, an NMI IPI or LINT: queued for process_nmi() (any thread). */
void kvm_inject_nmi(struct kvm_vcpu *vcpu);
u64 kvm_timer_host_tsc_left(struct kvm_vcpu *vcpu);
/*
 * A signal for the vCPU's thread, as KVM sees one: its KVM_RUN returns
 * -EINTR (KVM_EXIT_INTR) soon (the shim's pthread_cancel() uses it).
 */
void kvm_vcpu_interrupt(struct kvm_vcpu *vcpu);
void kvm_flush_remote_tlbs(struct kvm *kvm);
void kvm_arch_commit_memory_region(struct kvm *kvm, const struct kvm_memory_slot *old,
				   const struct kvm_memory_slot *new);

/* msr.c */
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data);
int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data);
#define KVM_MSR_RET_UNSUPPORTED	2
long kvm_msr_dev_ioctl(unsigned int ioctl, void *argp);
int kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, unsigned int ioctl, void *argp);
void kvm_msr_vcpu_reset(struct kvm_vcpu *vcpu);
void kvm_msr_vcpu_create(struct kvm_vcpu *vcpu);

#endif
