// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/vmx/vmx.c: KVM's VMX backend on the processor (src/silicon),
 * reached only through vmx_ops.h.  One logical processor per vCPU (a pCPU
 * the vCPU never migrates from); the thread running a vCPU ioctl binds it
 * (vmx_vcpu_load()).  The VMCS is set up once (init_vmcs()); guest state
 * moves between vcpu->arch and the VMCS lazily (see struct vcpu_vmx).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm_host.h"
#include "kvm/trace.h"
#include "x86/cpuid.h"
#include "x86/kvm_x86_ops.h"
#include "x86/vmx/capabilities.h"
#include "x86/vmx/vmx.h"
#include "x86/x86.h"
#include "x86/x86_pio.h"

static struct vmcs_config vmcs_config;

/*
 * The host tick is kvm_main.c's (a thread that kicks vCPUs in guest mode
 * about once per millisecond): the VMX preemption timer is armed only for
 * a guest timer deadline (KVM's hv timer), and is off otherwise, so an
 * entry reads no clock when no timer is due.
 */

static inline struct vcpu_vmx *to_vmx(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.vmx;
}

/* Binding to none also ends what kvm_arch_vcpu_put() kept (kvm_thread_vcpu_loaded). */
static void vmx_unbind(void);

/* What KVM needs of the processor, and what it uses when offered (setup_vmcs_config()). */
#define KVM_REQUIRED_VMX_PIN_BASED	(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING)
#define KVM_OPTIONAL_VMX_PIN_BASED	(PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER)
#define KVM_REQUIRED_VMX_CPU_BASED	(CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING | \
					 CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MOV_DR_EXITING | \
					 CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING | \
					 CPU_BASED_RDPMC_EXITING | CPU_BASED_USE_TSC_OFFSETTING | \
					 CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING | \
					 CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define KVM_OPTIONAL_VMX_CPU_BASED	0
#define KVM_REQUIRED_VMX_SECONDARY	(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST)
#define KVM_OPTIONAL_VMX_SECONDARY	(SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_ENABLE_RDTSCP | \
					 SECONDARY_EXEC_ENABLE_INVPCID | SECONDARY_EXEC_TSC_SCALING)
#define KVM_REQUIRED_VMX_VM_EXIT	(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER | \
					 VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_DEBUG_CONTROLS)
#define KVM_OPTIONAL_VMX_VM_EXIT	(VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT)
/* The debug controls: GUEST_DR7 and DEBUGCTL are the guest's (KVM requires them too). */
#define KVM_REQUIRED_VMX_VM_ENTRY	(VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_DEBUG_CONTROLS)
#define KVM_OPTIONAL_VMX_VM_ENTRY	(VM_ENTRY_LOAD_IA32_PAT)

int vmx_hardware_setup(void)
{
	struct vmx_cpu *lp = vmx_cpu_create();
	int r;

	if (!lp)
		return -ENOMEM;
	/* The capability MSRs are the same on every logical processor. */
	vmx_cpu_bind(lp);
	r = setup_vmcs_config(&vmcs_config, KVM_REQUIRED_VMX_PIN_BASED, KVM_OPTIONAL_VMX_PIN_BASED,
			      KVM_REQUIRED_VMX_CPU_BASED, KVM_OPTIONAL_VMX_CPU_BASED,
			      KVM_REQUIRED_VMX_SECONDARY, KVM_OPTIONAL_VMX_SECONDARY,
			      KVM_REQUIRED_VMX_VM_EXIT, KVM_OPTIONAL_VMX_VM_EXIT,
			      KVM_REQUIRED_VMX_VM_ENTRY, KVM_OPTIONAL_VMX_VM_ENTRY);
	vmx_unbind();
	vmx_cpu_destroy(lp);
	return r;
}

static void *alloc_vmcs_page(void)
{
	u32 *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

	if (p) {
		memset(p, 0, PAGE_SIZE);
		p[0] = vmcs_config.basic_revision_id;
	}
	return p;
}

/* Host state: the root-mode processor state a VM exit loads (vmx_set_constant_host_state()). */
static void vmx_set_constant_host_state(void)
{
	vmcs_writel(HOST_CR0, 0x80050033ul);
	vmcs_writel(HOST_CR3, 0x1000);
	vmcs_writel(HOST_CR4, 0x20a0 | BIT(5));
	vmcs_write16(HOST_CS_SELECTOR, 0x10);
	vmcs_write16(HOST_SS_SELECTOR, 0x18);
	vmcs_write16(HOST_DS_SELECTOR, 0);
	vmcs_write16(HOST_ES_SELECTOR, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, 0x40);
	vmcs_writel(HOST_TR_BASE, 0xfffffe0000003000ul);
	vmcs_writel(HOST_GDTR_BASE, 0xfffffe0000001000ul);
	vmcs_writel(HOST_IDTR_BASE, 0xfffffe0000000000ul);
	vmcs_writel(HOST_RIP, 0xffffffff81000000ul);
	vmcs_writel(HOST_RSP, 0xffffc90000004000ul);
	vmcs_write64(HOST_IA32_PAT, 0x0007040600070406ull);
	vmcs_write64(HOST_IA32_EFER, 0xd01);
}

/* init_vmcs(): controls and constant fields, once per vCPU. */
static void init_vmcs(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	const struct vmcs_config *c = &vmcs_config;

	/* The preemption timer is on only for a deadline (vmx_vcpu_run()). */
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, c->pin_based_exec_ctrl & ~PIN_BASED_VMX_PREEMPTION_TIMER);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, c->cpu_based_exec_ctrl);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, c->cpu_based_2nd_exec_ctrl);
	vmcs_write32(VM_EXIT_CONTROLS, c->vmexit_ctrl);
	vmcs_write32(VM_ENTRY_CONTROLS, c->vmentry_ctrl & ~VM_ENTRY_IA32E_MODE);
	vmcs_write64(EPT_POINTER, kvm_tdp_mmu_eptp(&vcpu->kvm->arch.tdp_mmu));
	if (cpu_has_vmx_vpid(c))
		vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vcpu_idx + 1);
	vmcs_write64(MSR_BITMAP, (u64)(uintptr_t)vmx->msr_bitmap);
	vmcs_write32(EXCEPTION_BITMAP, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ull);
	/*
	 * Every CR0/CR4 bit is host-owned: the guest reads the shadows, and
	 * each write exits to KVM, which checks it as KVM's kvm_set_cr0/4 do.
	 */
	vmcs_writel(CR0_GUEST_HOST_MASK, ~0ul);
	vmcs_writel(CR4_GUEST_HOST_MASK, ~0ul);
	vmx_set_constant_host_state();
}

int vmx_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = calloc(1, sizeof(*vmx));

	if (!vmx)
		return -ENOMEM;
	vcpu->arch.vmx = vmx;
	vmx->lp = vmx_cpu_create();
	vmx->vmxon_region = alloc_vmcs_page();
	vmx->vmcs = alloc_vmcs_page();
	vmx->msr_bitmap = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!vmx->lp || !vmx->vmxon_region || !vmx->vmcs || !vmx->msr_bitmap)
		goto fail;
	memset(vmx->msr_bitmap, 0xff, PAGE_SIZE);

	vmx_cpu_bind(vmx->lp);
	cr4_set_bits(BIT(13));	/* CR4.VMXE */
	if (cpu_vmxon(vmx->vmxon_region) != VMX_SUCCEED ||
	    vmcs_clear(vmx->vmcs) != VMX_SUCCEED || vmcs_load(vmx->vmcs) != VMX_SUCCEED) {
		vmx_unbind();
		goto fail;
	}
	init_vmcs(vcpu);
	vmx_unbind();
	vmx->state_dirty = true;
	vmx->rsp_cached = true;		/* vcpu->arch is the truth until the first exit */
	vmx->preemption_timer = ~0u;
	return 0;
fail:
	if (vmx->lp)
		vmx_cpu_destroy(vmx->lp);
	free(vmx->vmxon_region);
	free(vmx->vmcs);
	free(vmx->msr_bitmap);
	free(vmx);
	vcpu->arch.vmx = NULL;
	return -EIO;
}

void vmx_vcpu_free(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx)
		return;
	vmx_cpu_bind(vmx->lp);
	vmcs_clear(vmx->vmcs);
	cpu_vmxoff();
	vmx_unbind();
	vmx_cpu_destroy(vmx->lp);
	free(vmx->vmxon_region);
	free(vmx->vmcs);
	free(vmx->msr_bitmap);
	free(vmx);
	vcpu->arch.vmx = NULL;
}

/*
 * vmx_vcpu_load(): the thread runs on the vCPU's processor from now on.
 * It stays there after the ioctl (kvm_arch_vcpu_put() in x86.c, as KVM
 * leaves a VMCS loaded on the pCPU) until vmx_sched_out(), which every
 * entry into KVM other than a vCPU ioctl calls first
 * (kvm_sched_out_thread()): code outside vCPU ioctls on this thread
 * (rdtsc(), cpuid_count(), rdmsrl() of system and VM ioctls) must not find
 * a processor that another thread may run or free meanwhile.
 */
void vmx_vcpu_load(struct kvm_vcpu *vcpu)
{
	vmx_cpu_bind(to_vmx(vcpu)->lp);
}

static void vmx_unbind(void)
{
	kvm_thread_vcpu_loaded = 0;
	vmx_cpu_bind(NULL);
}

void vmx_sched_out(void)
{
	vmx_unbind();
}

/* ---- guest state: vcpu->arch <-> VMCS ---- */

/* The VMCS fields of each segment register (kvm_vmx_segment_fields[] in KVM). */
static const struct kvm_vmx_segment_field {
	u32 selector, base, limit, ar_bytes;
} kvm_vmx_segment_fields[NR_VCPU_SREGS] = {
#define VMX_SEGMENT_FIELD(seg)						\
	[VCPU_SREG_##seg] = { GUEST_##seg##_SELECTOR, GUEST_##seg##_BASE,	\
			      GUEST_##seg##_LIMIT, GUEST_##seg##_AR_BYTES }
	VMX_SEGMENT_FIELD(ES), VMX_SEGMENT_FIELD(CS), VMX_SEGMENT_FIELD(SS),
	VMX_SEGMENT_FIELD(DS), VMX_SEGMENT_FIELD(FS), VMX_SEGMENT_FIELD(GS),
	VMX_SEGMENT_FIELD(TR), VMX_SEGMENT_FIELD(LDTR),
#undef VMX_SEGMENT_FIELD
};

/* MSRs the VMCS does not switch: KVM's "user return" MSRs, kept loaded in the processor. */
static const u32 unswitched_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
};

static u64 *unswitched_msr_slot(struct kvm_vcpu *vcpu, u32 msr)
{
	switch (msr) {
	case MSR_STAR: return &vcpu->arch.star;
	case MSR_LSTAR: return &vcpu->arch.lstar;
	case MSR_CSTAR: return &vcpu->arch.cstar;
	case MSR_SYSCALL_MASK: return &vcpu->arch.syscall_mask;
	case MSR_KERNEL_GS_BASE: return &vcpu->arch.kernel_gs_base;
	default: return &vcpu->arch.tsc_aux;
	}
}

/*
 * The fixed bits of CR0/CR4 in VMX operation (SDM A.7, A.8): with
 * unrestricted guest, PE and PG may be 0; NE and CR4.VMXE must be 1.  The
 * guest sees its own value through the read shadow.
 */
static u64 vmx_guest_cr0(u64 cr0)
{
	u64 fixed0 = vmcs_config.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);

	return (cr0 | fixed0) & vmcs_config.cr0_fixed1;
}

static u64 vmx_guest_cr4(u64 cr4)
{
	return (cr4 | vmcs_config.cr4_fixed0) & vmcs_config.cr4_fixed1;
}

/* VMWRITE of GUEST_INTERRUPTIBILITY_INFO, keeping vmx->guest_intr the VMCS's value. */
static void vmx_set_interruptibility(struct vcpu_vmx *vmx, u32 intr)
{
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
	vmx->guest_intr = intr;
}

/* Write all of vcpu->arch into the VMCS and the processor (before VM entry). */
static void vmx_push_state(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	u32 entry = vmcs_config.vmentry_ctrl & ~VM_ENTRY_IA32E_MODE;

	for (int i = 0; i < NR_VCPU_SREGS; i++) {
		const struct kvm_seg_state *s = &a->seg[i];

		__vmcs_writel(kvm_vmx_segment_fields[i].selector, s->selector);
		__vmcs_writel(kvm_vmx_segment_fields[i].base, s->base);
		__vmcs_writel(kvm_vmx_segment_fields[i].limit, s->limit);
		__vmcs_writel(kvm_vmx_segment_fields[i].ar_bytes, s->ar);
	}
	vmcs_writel(GUEST_GDTR_BASE, a->gdt.address);
	vmcs_write32(GUEST_GDTR_LIMIT, a->gdt.size);
	vmcs_writel(GUEST_IDTR_BASE, a->idt.address);
	vmcs_write32(GUEST_IDTR_LIMIT, a->idt.size);
	vmcs_writel(GUEST_CR0, vmx_guest_cr0(a->cr0));
	vmcs_writel(CR0_READ_SHADOW, a->cr0);
	vmcs_writel(GUEST_CR3, a->cr3);
	vmcs_writel(GUEST_CR4, vmx_guest_cr4(a->cr4));
	vmcs_writel(CR4_READ_SHADOW, a->cr4);
	vmcs_write64(GUEST_IA32_EFER, a->efer);
	if (a->efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
	vmcs_write64(GUEST_IA32_PAT, a->pat);
	vmcs_writel(GUEST_DR7, a->guest_debug & KVM_GUESTDBG_USE_HW_BP ? a->guest_debug_dr7 : a->dr7);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(GUEST_SYSENTER_CS, a->sysenter_cs);
	vmcs_writel(GUEST_SYSENTER_ESP, a->sysenter_esp);
	vmcs_writel(GUEST_SYSENTER_EIP, a->sysenter_eip);
	vmx_set_interruptibility(to_vmx(vcpu), a->interruptibility);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	for (int i = 0; i < 4; i++)
		__vmcs_writel(GUEST_PDPTR0 + 2 * i, a->pdptrs[i]);
	/* guest TSC = (TSC * TSC_MULTIPLIER >> 48) + TSC_OFFSET, as kvm_read_l1_tsc() */
	vmcs_write64(TSC_OFFSET, a->l1_tsc_offset);
	vmcs_write64(TSC_MULTIPLIER, a->l1_tsc_scaling_ratio);

	/* Unswitched: CR2, DR0-3/DR6, XCR0, the syscall MSRs, the FPU. */
	native_write_cr2(a->cr2);
	for (int i = 0; i < 4; i++)
		set_debugreg(a->guest_debug & KVM_GUESTDBG_USE_HW_BP ? a->eff_db[i] : a->db[i], i);
	set_debugreg(a->dr6, 6);
	xsetbv(0, a->xcr0);
	for (size_t i = 0; i < ARRAY_SIZE(unswitched_msrs); i++)
		wrmsrl_safe(unswitched_msrs[i], *unswitched_msr_slot(vcpu, unswitched_msrs[i]));
	cpu_fpu_restore(&a->guest_fpu);
}

/*
 * GUEST_RSP into vcpu->arch.regs, on first use after a VM exit (KVM's
 * kvm_rsp_read()): few exits need it, and every path that reads or writes
 * vcpu->arch.regs[] as a whole comes through cache_guest_state() or
 * cache_reg(VCPU_EXREG_EMULATOR), which call this.
 */
static void vmx_cache_rsp(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->rsp_cached) {
		vmx->vmcs_rsp = vcpu->arch.regs[VCPU_REGS_RSP] = vmcs_readl(GUEST_RSP);
		vmx->rsp_cached = true;
	}
}

/* One segment register from the VMCS (vmx_read_guest_seg_*() in KVM). */
static void vmx_read_guest_seg(struct kvm_vcpu_arch *a, int i)
{
	struct kvm_seg_state *s = &a->seg[i];

	s->selector = __vmcs_readl(kvm_vmx_segment_fields[i].selector);
	s->base = __vmcs_readl(kvm_vmx_segment_fields[i].base);
	s->limit = __vmcs_readl(kvm_vmx_segment_fields[i].limit);
	s->ar = __vmcs_readl(kvm_vmx_segment_fields[i].ar_bytes);
}

/*
 * The guest's segment registers, GDTR and IDTR from the VMCS (for the
 * emulator: VCPU_EXREG_SEGMENTS).
 */
static void vmx_read_segments(struct kvm_vcpu_arch *a)
{
	for (int i = 0; i < NR_VCPU_SREGS; i++)
		vmx_read_guest_seg(a, i);
	a->gdt.address = vmcs_readl(GUEST_GDTR_BASE);
	a->gdt.size = vmcs_read32(GUEST_GDTR_LIMIT);
	a->idt.address = vmcs_readl(GUEST_IDTR_BASE);
	a->idt.size = vmcs_read32(GUEST_IDTR_LIMIT);
}

/* Read the guest state back into vcpu->arch (after VM exits, for the ioctls). */
static void vmx_pull_state(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	vmx_cache_rsp(vcpu);
	vmx_read_segments(a);
	/* host-owned bits come from the shadow, guest-owned ones from the guest value */
	a->cr0 = (vmcs_readl(CR0_READ_SHADOW) & vmcs_readl(CR0_GUEST_HOST_MASK)) |
		 (vmcs_readl(GUEST_CR0) & ~vmcs_readl(CR0_GUEST_HOST_MASK));
	a->cr3 = vmcs_readl(GUEST_CR3);
	a->cr4 = (vmcs_readl(CR4_READ_SHADOW) & vmcs_readl(CR4_GUEST_HOST_MASK)) |
		 (vmcs_readl(GUEST_CR4) & ~vmcs_readl(CR4_GUEST_HOST_MASK));
	a->efer = vmcs_read64(GUEST_IA32_EFER);
	a->pat = vmcs_read64(GUEST_IA32_PAT);
	if (!(a->guest_debug & KVM_GUESTDBG_USE_HW_BP))	/* else DR7 is userspace's */
		a->dr7 = vmcs_readl(GUEST_DR7);
	a->sysenter_cs = vmcs_read32(GUEST_SYSENTER_CS);
	a->sysenter_esp = vmcs_readl(GUEST_SYSENTER_ESP);
	a->sysenter_eip = vmcs_readl(GUEST_SYSENTER_EIP);
	a->interruptibility = to_vmx(vcpu)->guest_intr;
	for (int i = 0; i < 4; i++)
		a->pdptrs[i] = __vmcs_readl(GUEST_PDPTR0 + 2 * i);

	a->cr2 = native_read_cr2();
	if (!(a->guest_debug & KVM_GUESTDBG_USE_HW_BP))
		for (int i = 0; i < 4; i++)
			a->db[i] = get_debugreg(i);
	a->dr6 = get_debugreg(6);
	a->xcr0 = xgetbv(0);
	for (size_t i = 0; i < ARRAY_SIZE(unswitched_msrs); i++)
		rdmsrl_safe(unswitched_msrs[i], unswitched_msr_slot(vcpu, unswitched_msrs[i]));
	cpu_fpu_save(&a->guest_fpu);
}

/*
 * VCPU_EXREG_EMULATOR (x86.h): what the instruction emulator reads, pulled
 * while the state stays in the VMCS; a copy of what was read tells the
 * write-back (vmx_write_emulator_regs()) which fields the emulator changed.
 */
static void vmx_read_emulator_regs(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct kvm_vcpu_arch *a = &vcpu->arch;

	vmx_cache_rsp(vcpu);
	/*
	 * The access rights of CS and SS (mode, CPL: kvm_get_cpl(),
	 * is_64_bit_mode()); the rest of the segment registers and the
	 * descriptor tables are VCPU_EXREG_SEGMENTS, read if asked for.
	 * Until then vcpu->arch.seg[] holds stale copies of them, which the
	 * write-back leaves alone (vmx_write_emulator_regs()): no copy here.
	 */
	if (!kvm_register_is_available(a, VCPU_EXREG_SEGMENTS)) {
		a->seg[VCPU_SREG_CS].ar = vmcs_read32(GUEST_CS_AR_BYTES);
		a->seg[VCPU_SREG_SS].ar = vmcs_read32(GUEST_SS_AR_BYTES);
	}
	/* Every CR0/CR4 bit is host-owned (init_vmcs()): the shadows are the guest's values. */
	a->cr0 = vmcs_readl(CR0_READ_SHADOW);
	a->cr3 = vmcs_readl(GUEST_CR3);
	a->cr4 = vmcs_readl(CR4_READ_SHADOW);
	a->efer = vmcs_read64(GUEST_IA32_EFER);
	a->interruptibility = vmx->guest_intr;
	/* The PDPTE registers are used (and saved by VM exits) only by PAE paging. */
	if ((a->cr0 & X86_CR0_PG) && (a->cr4 & X86_CR4_PAE) && !(a->efer & EFER_LMA))
		for (int i = 0; i < 4; i++)
			a->pdptrs[i] = __vmcs_readl(GUEST_PDPTR0 + 2 * i);
	a->cr2 = native_read_cr2();
	/*
	 * Not read here: DR6, which only the trap after an emulated
	 * instruction with RFLAGS.TF uses, and that pulls the whole state
	 * first (__x86_emulate_instruction()); XCR0, which vcpu->arch holds
	 * as in KVM (only vmx_push_state() loads it into the processor, and
	 * XSETBV always exits; the emulator refuses an instruction that
	 * changes it, emul_state_escaped()).
	 */
#ifdef USERKVM_DEBUG
	if (a->xcr0 != xgetbv(0))
		abort();
#endif
	vmx->emul_interruptibility = a->interruptibility;
	vmx->emul_cr2 = a->cr2;
	vmx->emul_dr6 = a->dr6;
}

/* The fields of VCPU_EXREG_EMULATOR the emulator wrote back (emulator_writeback()). */
static void vmx_write_emulator_regs(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct kvm_vcpu_arch *a = &vcpu->arch;

	/*
	 * The segment registers changed only if the emulator had them
	 * (VCPU_EXREG_SEGMENTS, whose read filled emul_seg[]): an instruction
	 * that loads one needs them first (VMX_EMUL_NEED_STATE), and nothing
	 * else writes vcpu->arch.seg[] while the state is in the VMCS (an
	 * ioctl or exit handler pulls it first: vmx_cache_guest_state()).
	 * Without them, vcpu->arch.seg[] but CS/SS.ar are stale: none goes back.
	 * Usually nothing changed: one compare of the arrays first.  Note,
	 * padding that differs (a->seg[] set field by field) only costs the
	 * loop below, which compares the fields.
	 */
	int first = !kvm_register_is_available(a, VCPU_EXREG_SEGMENTS) ||
		    !memcmp(a->seg, vmx->emul_seg, sizeof(a->seg)) ? NR_VCPU_SREGS : 0;

	for (int i = first; i < NR_VCPU_SREGS; i++) {
		const struct kvm_seg_state *s = &a->seg[i], *o = &vmx->emul_seg[i];

		/* Field by field: the structure has padding. */
		if (s->selector == o->selector && s->base == o->base && s->limit == o->limit &&
		    s->ar == o->ar)
			continue;
		vmx->seg_base_cached &= ~(1u << i);
		__vmcs_writel(kvm_vmx_segment_fields[i].selector, s->selector);
		__vmcs_writel(kvm_vmx_segment_fields[i].base, s->base);
		__vmcs_writel(kvm_vmx_segment_fields[i].limit, s->limit);
		__vmcs_writel(kvm_vmx_segment_fields[i].ar_bytes, s->ar);
	}
	if (a->interruptibility != vmx->emul_interruptibility)
		vmx_set_interruptibility(vmx, a->interruptibility);
	if (a->cr2 != vmx->emul_cr2)
		native_write_cr2(a->cr2);
	if (a->dr6 != vmx->emul_dr6)
		set_debugreg(a->dr6, 6);
}

/*
 * vmx_cache_reg() - KVM's cache_reg: read one register group into
 * vcpu->arch while the guest state stays in the VMCS.
 */
void vmx_cache_reg(struct kvm_vcpu *vcpu, int reg)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	if (!to_vmx(vcpu)->state_in_hw || kvm_register_is_available(a, reg))
		return;
	if (reg == VCPU_EXREG_EMULATOR) {
		vmx_read_emulator_regs(vcpu);
	} else if (reg == VCPU_EXREG_SEGMENTS) {
		struct vcpu_vmx *vmx = to_vmx(vcpu);

		/*
		 * Note, nothing has written them since the exit (the emulator
		 * changes only ES..GS of an instruction that got them first):
		 * the copy for the write-back is what the VMCS holds.
		 */
		vmx_read_segments(a);
		memcpy(vmx->emul_seg, a->seg, sizeof(vmx->emul_seg));
	} else if (reg == VCPU_EXREG_FPU)
		cpu_fpu_save(&a->guest_fpu);
	a->regs_avail |= 1u << reg;
}

/* Write back the dirty register groups (after emulation, before VM entry, or a full cache). */
void vmx_write_dirty_regs(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	if (!to_vmx(vcpu)->state_in_hw) {
		a->regs_dirty = 0;	/* vcpu->arch is the truth: the next entry writes it all */
		return;
	}
	if (a->regs_dirty & (1u << VCPU_EXREG_EMULATOR))
		vmx_write_emulator_regs(vcpu);
	if (a->regs_dirty & (1u << VCPU_EXREG_FPU))
		cpu_fpu_restore(&a->guest_fpu);
	a->regs_dirty = 0;
}

/*
 * vmx_cache_guest_state() - make vcpu->arch the truth (an ioctl or a slow
 * exit handler is about to read or change it); the next VM entry writes it
 * back whole.
 */
void vmx_cache_guest_state(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->state_in_hw)
		return;
	/* What the emulator changed goes to the VMCS first: the pull reads it back. */
	vmx_write_dirty_regs(vcpu);
	vmx_pull_state(vcpu);
	vmx->state_in_hw = false;
	vmx->state_dirty = true;
	vcpu->arch.regs_avail = 0;
}

/* EXIT_QUALIFICATION of the last exit, read once (KVM's vmx_get_exit_qual()). */
static __always_inline u64 vmx_get_exit_qual(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->exit_qual_cached) {
		vmx->exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
		vmx->exit_qual_cached = true;
	}
	return vmx->exit_qualification;
}

u64 vmx_get_segment_base(struct kvm_vcpu *vcpu, int seg)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->state_in_hw)
		return vcpu->arch.seg[seg].base;
	if (!(vmx->seg_base_cached & (1u << seg))) {
		/* CS, for kvm_get_linear_rip(), with a constant encoding. */
		vmx->seg_base[seg] = seg == VCPU_SREG_CS ? vmcs_readl(GUEST_CS_BASE) :
					 __vmcs_readl(kvm_vmx_segment_fields[seg].base);
		vmx->seg_base_cached |= 1u << seg;
	}
	return vmx->seg_base[seg];
}

/* ---- events ---- */

bool vmx_interrupt_allowed(struct kvm_vcpu *vcpu)
{
	u32 intr = to_vmx(vcpu)->state_in_hw ? to_vmx(vcpu)->guest_intr : vcpu->arch.interruptibility;

	return (vcpu->arch.rflags & X86_EFLAGS_IF) &&
	       !(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

bool vmx_nmi_allowed(struct kvm_vcpu *vcpu)
{
	u32 intr = to_vmx(vcpu)->state_in_hw ? to_vmx(vcpu)->guest_intr : vcpu->arch.interruptibility;

	return !(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI));
}

void vmx_inject_irq(struct kvm_vcpu *vcpu, int vector)
{
	u32 type = INTR_TYPE_EXT_INTR;

	/* An INT n whose delivery was cut short goes again as a software interrupt. */
	if (vcpu->arch.interrupt.soft) {
		type = INTR_TYPE_SOFT_INTR;
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, to_vmx(vcpu)->event_exit_inst_len);
		vcpu->arch.interrupt.soft = false;
	}
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, (u32)vector | type | INTR_INFO_VALID_MASK);
}

void vmx_inject_nmi(struct kvm_vcpu *vcpu)
{
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 2 | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK);
}

void vmx_inject_exception(struct kvm_vcpu *vcpu)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	u32 info = ex->vector | INTR_INFO_VALID_MASK;

	if (ex->has_error_code) {
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, ex->error_code);
		info |= INTR_INFO_DELIVER_CODE_MASK;
	}
	if (ex->vector == 3 || ex->vector == 4) {	/* #BP, #OF: software exceptions */
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, to_vmx(vcpu)->event_exit_inst_len);
		info |= INTR_TYPE_SOFT_EXCEPTION;
	} else {
		info |= INTR_TYPE_HARD_EXCEPTION;
	}
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
}

void vmx_enable_irq_window(struct kvm_vcpu *vcpu)
{
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
}

void vmx_enable_nmi_window(struct kvm_vcpu *vcpu)
{
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
}

void vmx_flush_tlb_all(struct kvm_vcpu *vcpu)
{
	__invept(VMX_EPT_EXTENT_GLOBAL, 0, 0);
	if (cpu_has_vmx_vpid(&vmcs_config))
		__invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
}

void vmx_vcpu_kick(struct kvm_vcpu *vcpu)
{
	vmx_cpu_kick(to_vmx(vcpu)->lp);
}

/*
 * vmx_skip_emulated_instruction(): retire the instruction that exited (its
 * length is in the VMCS until the next VM entry, also when userspace
 * completes it at the next KVM_RUN): STI/MOV SS blocking ends with it.
 */
/* vmx_update_exception_bitmap(): #BP exits while userspace debugs with software breakpoints. */
void vmx_update_exception_bitmap(struct kvm_vcpu *vcpu)
{
	u32 eb = 0;

	if ((vcpu->arch.guest_debug & (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP)) ==
	    (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP))
		eb |= BIT(3);
	if (vcpu->arch.guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))
		eb |= BIT(1);
	vmcs_write32(EXCEPTION_BITMAP, eb);
}

/*
 * vmx_skip_emulated_instruction() when RIP may wrap (the addition carried
 * out of bit 31 into bit 32), STI/MOV SS blocking is to end, or the state
 * is in vcpu->arch: out of line, so that the common case needs no frame.
 */
static __attribute__((noinline, cold)) int vmx_skip_emulated_instruction_slow(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 orig_rip = vcpu->arch.regs[VCPU_REGS_RIP];
	u64 rip = orig_rip + vmx->exit_instr_len;

	/*
	 * Outside 64-bit mode RIP wraps at 32 bits.  As in KVM, the mode is
	 * looked at (a VMREAD of CS) only when the addition carried out of
	 * bit 31 into bit 32: any other result is the same in every mode.
	 */
	if (((rip ^ orig_rip) >> 31) == 3) {
		u32 cs_ar = vmx->state_in_hw ? vmcs_read32(GUEST_CS_AR_BYTES) :
					       vcpu->arch.seg[VCPU_SREG_CS].ar;

		if (!(vcpu->arch.efer & EFER_LMA) || !(cs_ar & (1u << 13)))
			rip = (u32)rip;
	}
	vcpu->arch.regs[VCPU_REGS_RIP] = rip;
	/* STI/MOV SS blocking ends with the instruction: a VMWRITE only if it was set. */
	if (vmx->state_in_hw) {
		u32 intr = vmx->guest_intr;

		if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
			vmx_set_interruptibility(vmx, intr & ~(GUEST_INTR_STATE_STI |
							       GUEST_INTR_STATE_MOV_SS));
	} else {
		vcpu->arch.interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	}
	return 1;
}

/*
 * Inline in the CPUID fastpath (vmx_handle_fastpath_cpuid()), a call for
 * kvm_x86_ops.  @in_hw: the caller knows the state is in the VMCS (right
 * after a VM exit), so no test of state_in_hw.
 */
static __always_inline int __vmx_skip_emulated_instruction(struct kvm_vcpu *vcpu, bool in_hw)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 orig_rip = vcpu->arch.regs[VCPU_REGS_RIP];
	u64 rip = orig_rip + vmx->exit_instr_len;

	/*
	 * Note, the low 32 bits wrapping is the slow path's case of a carry
	 * into bit 32 (vmx_skip_emulated_instruction_slow()) and more (a
	 * 64-bit RIP crossing any 4 GiB boundary, which the slow path then
	 * leaves alone): one compare where the exact test takes three.
	 */
	if (unlikely((u32)rip < (u32)orig_rip || (!in_hw && !vmx->state_in_hw) ||
		     (vmx->guest_intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))))
		return vmx_skip_emulated_instruction_slow(vcpu);
	vcpu->arch.regs[VCPU_REGS_RIP] = rip;
	return 1;
}

int vmx_skip_emulated_instruction(struct kvm_vcpu *vcpu)
{
	return __vmx_skip_emulated_instruction(vcpu, false);
}

/*
 * vmx_complete_interrupts(): an event whose delivery caused the exit (IDT
 * vectoring information) is queued again, to be injected on the next entry.
 */
static __attribute__((noinline)) void __vmx_complete_interrupts(struct kvm_vcpu *vcpu, u32 info);

/* @info: the IDT-vectoring information just read (no reload of vmx after the stores). */
static __always_inline void vmx_complete_interrupts(struct kvm_vcpu *vcpu, u32 info)
{
	if (unlikely(info & INTR_INFO_VALID_MASK))
		__vmx_complete_interrupts(vcpu, info);
}

static void __vmx_complete_interrupts(struct kvm_vcpu *vcpu, u32 info)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 type;

	/*
	 * As KVM: the event must be injected at the next entry, which an exit
	 * to userspace (MMIO during the delivery, say) leaves to a KVM_RUN
	 * that then does not resume plainly (resume_plain, kvm_queue_exception()).
	 */
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	vcpu->arch.resume_plain = false;

	type = info & INTR_INFO_INTR_TYPE_MASK;
	if (type == INTR_TYPE_SOFT_EXCEPTION || type == INTR_TYPE_SOFT_INTR) {
		/*
		 * SDM 28.2.4: the exit saves the INT3/INTO/INT n length for the
		 * re-injection.  FIXME: the processor stores 0 when the event was
		 * one VM entry injected; that one had VM_ENTRY_INSTRUCTION_LEN.
		 */
		vmx->event_exit_inst_len = vmx->exit_instr_len;
		if (!vmx->event_exit_inst_len)
			vmx->event_exit_inst_len = vmcs_read32(VM_ENTRY_INSTRUCTION_LEN);
	}
	switch (type) {
	case INTR_TYPE_NMI_INTR:
		vcpu->arch.nmi_injected = true;
		/*
		 * The delivery set "blocking by NMI" in the saved state; it did
		 * not finish, and entry would refuse to inject into blocking
		 * (SDM 27.7.1.2, KVM's vmx_set_nmi_mask(vcpu, false) here).
		 */
		vmx_set_interruptibility(vmx, vmx->guest_intr & ~GUEST_INTR_STATE_NMI);
		break;
	case INTR_TYPE_SOFT_EXCEPTION:
	case INTR_TYPE_HARD_EXCEPTION:
		vcpu->arch.exception.injected = true;
		vcpu->arch.exception.vector = info & INTR_INFO_VECTOR_MASK;
		vcpu->arch.exception.has_error_code = info & INTR_INFO_DELIVER_CODE_MASK;
		if (vcpu->arch.exception.has_error_code)
			vcpu->arch.exception.error_code = vmcs_read32(IDT_VECTORING_ERROR_CODE);
		break;
	case INTR_TYPE_SOFT_INTR:
	case INTR_TYPE_EXT_INTR:
		vcpu->arch.interrupt.injected = true;
		vcpu->arch.interrupt.soft = type == INTR_TYPE_SOFT_INTR;
		vcpu->arch.interrupt.nr = info & INTR_INFO_VECTOR_MASK;
		break;
	}
}

/* ---- the run ---- */


/*
 * The preemption timer is a guest timer deadline (above): the exit is for
 * the timer checks before the next entry (and vcpu_run(), which looks at
 * immediate_exit); no exit handler has anything to do
 * (handle_fastpath_preemption_timer() with KVM's force_immediate_exit).
 */
static enum exit_fastpath_completion handle_fastpath_preemption_timer(struct kvm_vcpu *vcpu)
{
	return EXIT_FASTPATH_EXIT_HANDLED;
}

/*
 * IN/OUT to a port no in-kernel device claims: the exit to userspace
 * filled here (kvm_fast_pio_fastpath()), without handle_exit()'s dispatch,
 * as KVM's fastpath does for the exits it completes
 * (EXIT_FASTPATH_EXIT_USERSPACE).  Note, the statistics are those of the
 * slow path's handle_io(): this is no fastpath exit of KVM's.  INS/OUTS
 * and a port an in-kernel device may claim go to handle_io().
 */
/*
 * The completion's skip at the next KVM_RUN is decided here, where the
 * exit's fields are at hand: RIP + the length if
 * __vmx_skip_emulated_instruction() would do just that and
 * __kvm_skip_emulated_instruction() no single-step trap (the vCPU's
 * RFLAGS.TF, which KVM_GUESTDBG_SINGLESTEP also sets in the VMCS), else 0
 * (the full skip then).  Note, a next RIP of 0 takes the full skip too.
 */
static __always_inline enum exit_fastpath_completion handle_fastpath_io(struct kvm_vcpu *vcpu, u64 q,
								       u64 rflags, u32 guest_debug)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 rip = vmx->vmcs_rip, next = rip + vmx->exit_instr_len;

	/*
	 * One test of three words: TF is bit 8 of RFLAGS, STI and MOV-SS
	 * blocking bits 0-1 of the interruptibility, single-stepping bit 1 of
	 * guest_debug (whose KVM_GUESTDBG_ENABLE, bit 0, then also takes the
	 * full skip: slower, not wrong).
	 */
	BUILD_BUG_ON((GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | KVM_GUESTDBG_SINGLESTEP) != 3 ||
		     X86_EFLAGS_TF != 0x100);
	if (unlikely((((rflags & X86_EFLAGS_TF) | vmx->guest_intr | guest_debug) & 0x103) ||
		     (u32)next < (u32)rip))
		next = 0;
	if (unlikely(q & 16) || kvm_fast_pio_fastpath(vcpu, (q & 7) + 1, q >> 16, !!(q & 8), next))
		return EXIT_FASTPATH_NONE;
	return EXIT_FASTPATH_EXIT_USERSPACE;
}

/*
 * handle_fastpath_cpuid() with its common case inline: the leaf the last
 * CPUID asked for (kvm_cpuid_last()) and this file's skip called directly,
 * as KVM's RETPOLINE builds call hot handlers directly.  With RFLAGS.TF or
 * KVM_GUESTDBG_SINGLESTEP, the retirement raises #DB or KVM_EXIT_DEBUG: the
 * slow path (EXIT_FASTPATH_NONE) as in handle_fastpath_cpuid(); any other
 * leaf goes to handle_fastpath_cpuid() itself.
 */
static __always_inline enum exit_fastpath_completion
vmx_handle_fastpath_cpuid(struct kvm_vcpu *vcpu, u64 rflags, u32 guest_debug, u32 trace)
{
	if ((rflags & X86_EFLAGS_TF) || (guest_debug & KVM_GUESTDBG_SINGLESTEP))
		return EXIT_FASTPATH_NONE;
	if (unlikely((trace & (1u << TRACE_KVM_CPUID)) || !__kvm_cpuid_last(vcpu)))
		return handle_fastpath_cpuid(vcpu);
	__vmx_skip_emulated_instruction(vcpu, true);
	vcpu->stat->fastpath_exits++;
	return EXIT_FASTPATH_REENTER_GUEST;
}

/*
 * vmx_exit_handlers_fastpath(): exits handled before anything else runs
 * (in KVM, with interrupts still off).  Not after an exit that interrupted
 * an event's delivery: that event must be injected again by
 * vcpu_enter_guest(), which a re-entry from here would skip.
 */
static __always_inline enum exit_fastpath_completion
vmx_exit_handlers_fastpath(struct kvm_vcpu *vcpu, u32 exit_reason, u32 idt_vectoring_info,
			   u64 qual, u64 rflags, u32 guest_debug, u32 *trace)
{
	if (unlikely(idt_vectoring_info & INTR_INFO_VALID_MASK))
		return EXIT_FASTPATH_NONE;
	/*
	 * CPUID first: the one a guest loops on (one compare, no jump table).
	 * kvm_trace_mask read once, for the kvm_cpuid trace and the re-entry
	 * (vmx_fastpath_reenter()): as if a tracer had come a little later.
	 */
	if ((u16)exit_reason == EXIT_REASON_CPUID) {
		*trace = READ_ONCE(kvm_trace_mask);
		return vmx_handle_fastpath_cpuid(vcpu, rflags, guest_debug, *trace);
	}
	/* Then IN/OUT, the other exit a guest loops on, also before the switch. */
	if ((u16)exit_reason == EXIT_REASON_IO_INSTRUCTION)
		return handle_fastpath_io(vcpu, qual, rflags, guest_debug);
	switch ((u16)exit_reason) {
	case EXIT_REASON_MSR_WRITE:
		return handle_fastpath_set_msr_irqoff(vcpu);
	case EXIT_REASON_PREEMPTION_TIMER:
		return handle_fastpath_preemption_timer(vcpu);
	default:
		return EXIT_FASTPATH_NONE;
	}
}

/*
 * What every VM exit needs, read right after it: the registers KVM's exit
 * path reads (RIP, RFLAGS; RSP on first use, vmx_cache_rsp()), the
 * IDT-vectoring information, the instruction length (every exit that
 * retires an instruction) and the interruptibility state (retirement,
 * interrupt windows), and the qualification (see below).  The segment
 * bases (vmx_get_segment_base()) are read when a handler asks, as in KVM.
 * RIP and RFLAGS go to vcpu->arch at once.  Return: the IDT-vectoring
 * information; RFLAGS in *@rflagsp and the qualification in *@qualp (for
 * the fastpath, without a reload after the stores).
 */
static __always_inline u32 vmx_read_exit_fields(struct kvm_vcpu *vcpu, struct vcpu_vmx *vmx,
					     u32 guest_debug, u64 *rflagsp, u64 *qualp)
{
	/* Into locals first: the stores to vmx cannot then make the VMREADs reload anything. */
	u64 rip = vmcs_readl(GUEST_RIP), rflags = vmcs_readl(GUEST_RFLAGS);
	u32 idt = vmcs_read32(IDT_VECTORING_INFO_FIELD), len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	/*
	 * Note, KVM reads the qualification on first use; here it is read with
	 * the rest: the exits that go to userspace (I/O, EPT) all need it, and
	 * one more VMREAD among five costs less than the test of every use.
	 */
	u64 qual = vmcs_readl(EXIT_QUALIFICATION);

	vmx->vmcs_rip = rip;
	vmx->vmcs_rflags = rflags;
	vmx->idt_vectoring_info = idt;
	vmx->exit_instr_len = len;
	vmx->guest_intr = intr;
	vmx->exit_qualification = qual;
	vcpu->arch.regs[VCPU_REGS_RIP] = rip;
	vcpu->arch.rflags = rflags;
	/*
	 * kvm_get_rflags() hides the TF of KVM_GUESTDBG_SINGLESTEP.  Note, a
	 * second store in a branch: GCC makes the masking a cmov otherwise,
	 * which every exit pays.
	 */
	*rflagsp = rflags;
	*qualp = qual;
	if (unlikely(guest_debug & KVM_GUESTDBG_SINGLESTEP)) {
		__asm__("" : "+r"(rflags));
		vcpu->arch.rflags = rflags & ~X86_EFLAGS_TF;
	}
	return idt;
}

/*
 * After a fastpath exit that asks to re-enter (handle_fastpath_cpuid()),
 * whether vmx_vcpu_run() may re-enter itself, as KVM's vmx_vcpu_run() did
 * with its reenter_guest label (Linux 5.8-5.14), instead of returning to
 * vcpu_enter_guest()'s loop: only when that loop would do nothing but
 * re-enter, i.e. no tracing (kvm_entry/kvm_exit per entry), no in-kernel
 * timers to poll and rearm (LAPIC, PIT: kvm_vcpu_exit_request() and the
 * preemption timer; the loop decided that once, entry_polls_timers), and
 * no request or immediate_exit
 * (kvm_vcpu_exit_request()).  The exit is counted as that loop counts it.
 */
static __always_inline bool __vmx_fastpath_reenter(struct kvm_vcpu *vcpu, u32 trace)
{
	if (trace || vcpu->arch.entry_polls_timers ||
	    __atomic_load_n(&vcpu->requests, __ATOMIC_SEQ_CST) || READ_ONCE(vcpu->run->immediate_exit))
		return false;
	vcpu->stat->exits++;
	return true;
}

static __always_inline bool vmx_fastpath_reenter(struct kvm_vcpu *vcpu)
{
	return __vmx_fastpath_reenter(vcpu, READ_ONCE(kvm_trace_mask));
}

/*
 * A CPUID exit taken and retired in place, the guest re-entered, before
 * anything of the generic exit path runs: the exit's fields are read into
 * locals, and only those a CPUID's retirement needs (no store into vmx or
 * vcpu->arch but the four GPRs and the statistics).  Only when it is the
 * common case of vmx_handle_fastpath_cpuid() and __vmx_fastpath_reenter():
 * a bare CPUID exit (no failed entry, no event whose delivery it
 * interrupted), RFLAGS.TF clear, no STI/MOV-SS blocking to end, RIP not
 * wrapping at 4 GiB, the leaf the last CPUID asked for, tracing off, no
 * request and no immediate_exit.  Else (false) nothing has been changed:
 * the generic path reads the exit fields again and handles the exit.  The
 * caller checked what cannot change while vmx_vcpu_run() runs: the vCPU
 * is not being single-stepped (guest_debug) and has no in-kernel timer to
 * poll (entry_polls_timers).  Note, the skipped stores (RIP, RFLAGS, the
 * cached exit fields) are those of vmx_read_exit_fields(), which the
 * generic path does when the loop ends; the CPUID's GUEST_RIP write is the
 * one of the re-entry after handle_fastpath_cpuid().
 */
static __always_inline bool vmx_cpuid_retire_in_place(struct kvm_vcpu *vcpu, struct vcpu_vmx *vmx,
						    u32 reason)
{
	u64 rip, next, rflags;
	u32 idt, len, intr;

	if (reason != EXIT_REASON_CPUID)
		return false;
	idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	rflags = vmcs_readl(GUEST_RFLAGS);
	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	rip = vmcs_readl(GUEST_RIP);
	len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	next = rip + len;
	if (unlikely((idt & INTR_INFO_VALID_MASK) | (rflags & X86_EFLAGS_TF) |
		     (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) |
		     READ_ONCE(kvm_trace_mask) | ((u32)next < (u32)rip)))
		return false;
	if (unlikely(__atomic_load_n(&vcpu->requests, __ATOMIC_SEQ_CST) |
		     READ_ONCE(vcpu->run->immediate_exit)))
		return false;
	if (unlikely(!__kvm_cpuid_last(vcpu)))
		return false;
	vmcs_writel(GUEST_RIP, next);
	/* As after a VM entry that fails (no exit fields read): RIP as the VMCS holds it. */
	vmx->vmcs_rip = next;
	vcpu->arch.regs[VCPU_REGS_RIP] = next;
	BUILD_BUG_ON(EXIT_REASON_CPUID >= KVM_STAT_EXIT_REASONS);
	vcpu->stat->exit_reason[EXIT_REASON_CPUID]++;
	vcpu->stat->fastpath_exits++;
	vcpu->stat->exits++;
	return true;
}

/* Two adjacent bytes of struct vcpu_vmx in one load (nonzero if either is). */
static __always_inline u16 vmx_load_u16(const bool *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

enum exit_fastpath_completion vmx_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct kvm_vcpu_arch *a = &vcpu->arch;
	enum exit_fastpath_completion fastpath;
	u64 rflags, qual;
	u32 reason, idt, dbg, trace = 0;	/* set by the CPUID fastpath, its only reader */

	/*
	 * After a PIO exit completed by RIP alone (kvm_vcpu_resume_plain()):
	 * nothing else to write back or look at, see below, unless the state
	 * was pulled from the VMCS meanwhile (store_regs() of KVM_CAP_SYNC_REGS
	 * after the run: state_dirty) or RSP read (rsp_cached).
	 */
	if (likely(a->entry_rip_only)) {
		a->entry_rip_only = false;
		if (likely(!vmx_load_u16(&vmx->state_dirty))) {
#ifdef USERKVM_DEBUG
			if (a->regs_dirty || !vmx->state_in_hw ||
			    (a->guest_debug & KVM_GUESTDBG_SINGLESTEP) || a->rflags != vmx->vmcs_rflags ||
			    a->timer_tsc_left != ~0ull || vmx->preemption_timer != ~0u)
				abort();
#endif
			vmcs_writel(GUEST_RIP, a->regs[VCPU_REGS_RIP]);
			vmx->vmcs_rip = a->regs[VCPU_REGS_RIP];
			goto enter;
		}
	}
reenter_guest:
	/*
	 * state_dirty and rsp_cached, adjacent: both clear after a VM exit
	 * that nothing pulled state or RSP from, tested in one load.
	 */
	BUILD_BUG_ON(offsetof(struct vcpu_vmx, rsp_cached) != offsetof(struct vcpu_vmx, state_dirty) + 1);
	if (unlikely(vmx_load_u16(&vmx->state_dirty))) {
		if (vmx->state_dirty) {
			vmx_push_state(vcpu);
			vmx->state_dirty = false;
			a->regs_dirty = 0;
		}
		if (vmx->rsp_cached && a->regs[VCPU_REGS_RSP] != vmx->vmcs_rsp) {
			vmcs_writel(GUEST_RSP, a->regs[VCPU_REGS_RSP]);
			vmx->vmcs_rsp = a->regs[VCPU_REGS_RSP];
		}
	}
	if (unlikely(a->regs_dirty))
		vmx_write_dirty_regs(vcpu);
	if (a->regs[VCPU_REGS_RIP] != vmx->vmcs_rip) {
		vmcs_writel(GUEST_RIP, a->regs[VCPU_REGS_RIP]);
		vmx->vmcs_rip = a->regs[VCPU_REGS_RIP];
	}
	/*
	 * FIXME: a step that ended right after STI leaves STI blocking with TF
	 * set, which VM entry refuses without a pending single-step (SDM
	 * 27.3.1.5); until that is modelled, userspace stepping drops the STI
	 * shadow (an interrupt could come one instruction early; with
	 * KVM_GUESTDBG_BLOCKIRQ none comes).
	 */
	rflags = a->rflags;
	if (unlikely(a->guest_debug & KVM_GUESTDBG_SINGLESTEP)) {
		if (vmx->guest_intr & GUEST_INTR_STATE_STI)
			vmx_set_interruptibility(vmx, vmx->guest_intr & ~GUEST_INTR_STATE_STI);
		/* The processor traps after each instruction (__kvm_set_rflags()). */
		rflags |= X86_EFLAGS_TF;
	}
	if (rflags != vmx->vmcs_rflags) {
		vmcs_writel(GUEST_RFLAGS, rflags);
		vmx->vmcs_rflags = rflags;
	}

	/*
	 * The vCPU's next timer deadline, if one is within a second (the hv
	 * timer; kvm_timer_host_tsc_left() says ~0 otherwise): the preemption
	 * timer on with its value, else off (~0u).  VM exits do not save the
	 * timer (no "save VMX-preemption timer value"), so the field keeps
	 * what was written and each entry counts down from it again: VMWRITEs
	 * only on a change.
	 */
	/* No deadline, timer off: the common case in one compare each. */
	if (unlikely(a->timer_tsc_left != ~0ull || vmx->preemption_timer != ~0u) &&
	    cpu_has_vmx_preemption_timer(&vmcs_config)) {
		u64 left = a->timer_tsc_left;
		u32 timer = likely(left == ~0ull) ? ~0u :
			    (u32)MIN(left >> (vmcs_config.misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK),
				     0xfffffffeull);

		if (unlikely(timer != vmx->preemption_timer)) {
			if ((timer == ~0u) != (vmx->preemption_timer == ~0u))
				vmcs_write32(PIN_BASED_VM_EXEC_CONTROL,
					     vmcs_config.pin_based_exec_ctrl &
					     (timer == ~0u ? ~PIN_BASED_VMX_PREEMPTION_TIMER : ~0u));
			if (timer != ~0u)
				vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, timer);
			vmx->preemption_timer = timer;
		}
	}
enter:
	reason = vmx_vcpu_enter(a->regs, vmx->launched);
cpuid_in_place:

	a->regs_avail = 0;	/* the VMCS holds the guest state again */
	vmx->seg_base_cached = 0;
	/* The VMX_ENTER_* values are above every exit reason (bits 30 and 16 are 0 in those). */
	BUILD_BUG_ON(VMX_ENTER_FAULT > VMX_ENTER_VMFAIL_VALID ||
		     VMX_ENTER_FAULT > VMX_ENTER_VMFAIL_INVALID);
	if (unlikely(reason >= VMX_ENTER_FAULT)) {
		vmx->state_in_hw = true;
		vmx->rsp_cached = false;
		vmx->fail = true;
		vmx->exit_qual_cached = false;	/* no exit: VMREAD it if asked (it reads the old one) */
		vmx->vm_instruction_error = reason == VMX_ENTER_VMFAIL_VALID ?
					    vmcs_read32(VM_INSTRUCTION_ERROR) : 0;
		vmx->exit_reason = reason;
		return EXIT_FASTPATH_NONE;
	}
	/*
	 * The flags of a VM exit, adjacent in struct vcpu_vmx (one store):
	 * launched, the state in the VMCS, nothing to write back (state_dirty
	 * was cleared before the entry), RSP to be read on first use, the
	 * qualification read below, the entry did not fail.
	 */
	vmx->launched = true;
	vmx->state_in_hw = true;
	vmx->state_dirty = false;
	vmx->rsp_cached = false;
	vmx->exit_qual_cached = true;
	vmx->fail = false;
	vmx->exit_reason = reason;
	/* KVM_SET_GUEST_DEBUG cannot come during KVM_RUN (the vCPU's mutex): read once. */
	dbg = a->guest_debug;
	idt = vmx_read_exit_fields(vcpu, vmx, dbg, &rflags, &qual);
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		/* A VM exit cleared the valid bit (SDM 25.8.3); a failed entry may not have. */
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
		return EXIT_FASTPATH_NONE;
	}
	vmx_complete_interrupts(vcpu, idt);
	fastpath = vmx_exit_handlers_fastpath(vcpu, reason, idt, qual, rflags, dbg, &trace);
	/*
	 * Counted after the fastpath: a store through vcpu->stat before it
	 * would make the compiler load the exit fields just stored again.
	 */
	if ((u16)reason < KVM_STAT_EXIT_REASONS)
		vcpu->stat->exit_reason[(u16)reason]++;
	if (fastpath == EXIT_FASTPATH_REENTER_GUEST) {
		/*
		 * A CPUID (handle_fastpath_cpuid()) changed four GPRs and RIP,
		 * nothing else the checks above look at: with no in-kernel
		 * timer (vmx_fastpath_reenter()) the preemption timer stays
		 * off, RFLAGS is what the VMCS holds (TF and stepping take the
		 * slow path), RSP was not read, no register group is dirty.
		 */
		if ((u16)reason == EXIT_REASON_CPUID) {
			if (__vmx_fastpath_reenter(vcpu, trace)) {
				u64 rip = a->regs[VCPU_REGS_RIP];

				vmcs_writel(GUEST_RIP, rip);
				vmx->vmcs_rip = rip;
				/*
				 * The next CPUIDs retire in place while they
				 * are the common case (see there), with
				 * single-stepping and timers as they are now.
				 */
				do {
					reason = vmx_vcpu_enter(a->regs, true);
				} while (vmx_cpuid_retire_in_place(vcpu, vmx, reason));
				goto cpuid_in_place;
			}
		} else if (vmx_fastpath_reenter(vcpu)) {
			goto reenter_guest;
		}
	}
	return fastpath;
}

void vmx_get_exit_info(struct kvm_vcpu *vcpu, u32 *reason, u64 *info1, u64 *info2)
{
	*reason = to_vmx(vcpu)->exit_reason;
	*info1 = vmx_get_exit_qual(vcpu);
	*info2 = vmcs_read32(VM_EXIT_INTR_INFO);
}

/* ---- exit handlers: 1 = resume the guest, 0 = kvm_run filled for userspace ---- */

static int handle_exception_nmi(struct kvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(VM_EXIT_INTR_INFO);
	struct kvm_run *run = vcpu->run;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return 1;	/* a host NMI: nothing to do here */
	/*
	 * Only #BP is intercepted, and only for KVM_GUESTDBG_USE_SW_BP: the
	 * exit is at the int3 (RIP points at it, the length is in the VMCS
	 * for a reinjection with KVM_GUESTDBG_INJECT_BP).
	 */
	if ((info & INTR_INFO_VECTOR_MASK) == 1 &&
	    (vcpu->arch.guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))) {
		run->exit_reason = KVM_EXIT_DEBUG;
		run->debug.arch.dr6 = vmx_get_exit_qual(vcpu) | DR6_ACTIVE_LOW;
		run->debug.arch.dr7 = vmcs_readl(GUEST_DR7);
		run->debug.arch.pc = kvm_get_linear_rip(vcpu);
		run->debug.arch.exception = 1;
		return 0;
	}
	if ((info & INTR_INFO_VECTOR_MASK) == 3) {
		to_vmx(vcpu)->event_exit_inst_len = to_vmx(vcpu)->exit_instr_len;
		run->exit_reason = KVM_EXIT_DEBUG;
		run->debug.arch.pc = kvm_get_linear_rip(vcpu);
		run->debug.arch.exception = 3;
		return 0;
	}
	return kvm_handle_unexpected_exit(vcpu, EXIT_REASON_EXCEPTION_NMI);
}

static int handle_external_interrupt(struct kvm_vcpu *vcpu)
{
	return 1;	/* a kick: vcpu_run() looks at requests and immediate_exit */
}

static int handle_preemption_timer(struct kvm_vcpu *vcpu)
{
	return 1;	/* a timer deadline: vcpu_enter_guest() injects it */
}

static int handle_triple_fault(struct kvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int handle_interrupt_window(struct kvm_vcpu *vcpu)
{
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
	return kvm_interrupt_window_open(vcpu);
}

static int handle_nmi_window(struct kvm_vcpu *vcpu)
{
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
	return 1;
}

static int handle_cpuid(struct kvm_vcpu *vcpu) { return kvm_emulate_cpuid(vcpu); }
static int handle_halt(struct kvm_vcpu *vcpu) { return kvm_emulate_halt(vcpu); }

static int handle_nop(struct kvm_vcpu *vcpu)
{
	/* INVD, WBINVD, PAUSE: no caches or spinning to model; just retire it. */
	return kvm_skip_emulated_instruction(vcpu);
}

static int handle_vmcall(struct kvm_vcpu *vcpu) { return kvm_emulate_hypercall(vcpu); }

/* Nested VMX is off: every VMX instruction is #UD in the guest (handle_vmx_instruction()). */
static int handle_vmx_instruction(struct kvm_vcpu *vcpu)
{
	kvm_queue_exception(vcpu, 6 /* UD_VECTOR */, false, 0);
	return 1;
}

static int handle_rdpmc(struct kvm_vcpu *vcpu)
{
	/* No PMU: RDPMC #GPs (kvm_emulate_rdpmc() with no counters). */
	kvm_queue_exception(vcpu, 13, true, 0);
	return 1;
}

/*
 * MONITOR/MWAIT are NOPs (kvm_emulate_monitor_mwait()): KVM's quirk
 * KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is on unless userspace disables it,
 * which userkvm does not offer (KVM_CAP_DISABLE_QUIRKS2 is not reported).
 */
static int handle_monitor_mwait(struct kvm_vcpu *vcpu)
{
	return kvm_skip_emulated_instruction(vcpu);
}

static int handle_cr(struct kvm_vcpu *vcpu)
{
	u64 q = vmx_get_exit_qual(vcpu);

	return kvm_handle_cr_access(vcpu, q);
}

static int handle_dr(struct kvm_vcpu *vcpu)
{
	u64 dr7 = vmcs_readl(GUEST_DR7);

	/*
	 * DR7.GD: the MOV DR exit comes before the general-detect #DB it would
	 * raise, so KVM raises it: to userspace if it debugs with hardware
	 * breakpoints (its DR7 is the one in force), else to the guest.
	 */
	if (dr7 & BIT(13)) {
		if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP) {
			vcpu->run->debug.arch.dr6 = BIT(13) | DR6_ACTIVE_LOW;	/* BD */
			vcpu->run->debug.arch.dr7 = dr7;
			vcpu->run->debug.arch.pc = kvm_get_linear_rip(vcpu);
			vcpu->run->debug.arch.exception = 1;
			vcpu->run->exit_reason = KVM_EXIT_DEBUG;
			return 0;
		}
		kvm_x86_call(cache_guest_state)(vcpu);
		vcpu->arch.dr6 |= BIT(13);
		vcpu->arch.dr7 &= ~BIT(13);	/* the processor clears GD as it raises the #DB */
		kvm_queue_exception(vcpu, 1, false, 0);
		return 1;
	}
	return kvm_handle_dr_access(vcpu, vmx_get_exit_qual(vcpu));
}

/* INS/OUTS (out of line: the common IN/OUT is a tail call of handle_io()). */
static __attribute__((noinline)) int handle_string_io(struct kvm_vcpu *vcpu, u64 q)
{
	return kvm_emulate_string_io(vcpu, (q & 7) + 1, q >> 16, !!(q & 8), !!(q & 32),
				     vmcs_read32(VMX_INSTRUCTION_INFO),
				     vmcs_readl(GUEST_LINEAR_ADDRESS));
}

static __always_inline int handle_io(struct kvm_vcpu *vcpu)
{
	/* A VM exit (not a failed entry) read it (vmx_read_exit_fields()): no test, no VMREAD. */
	u64 q = to_vmx(vcpu)->exit_qualification;

	if (unlikely(q & 16))
		return handle_string_io(vcpu, q);
	return kvm_fast_pio(vcpu, (q & 7) + 1, q >> 16, !!(q & 8));
}

static int handle_rdmsr(struct kvm_vcpu *vcpu) { return kvm_emulate_rdmsr(vcpu); }
static int handle_wrmsr(struct kvm_vcpu *vcpu) { return kvm_emulate_wrmsr(vcpu); }
static int handle_xsetbv(struct kvm_vcpu *vcpu) { return kvm_emulate_xsetbv(vcpu); }

static int handle_ept_violation(struct kvm_vcpu *vcpu)
{
	u64 q = vmx_get_exit_qual(vcpu);
	u32 error_code = 0;

	/* SDM Table 28-7: bit 0 read, 1 write, 2 fetch; bits 3-5: what the entry allowed */
	if (q & 2)
		error_code |= PFERR_WRITE_MASK;
	if (q & 4)
		error_code |= PFERR_FETCH_MASK;
	if (q & 0x38)
		error_code |= PFERR_PRESENT_MASK;
	/*
	 * An exit in an IRET that unblocked NMIs: the IRET runs again, so NMIs
	 * are blocked again until it completes (vmx_recover_nmi_blocking()).
	 */
	if ((q & BIT(12)) && !(to_vmx(vcpu)->idt_vectoring_info & INTR_INFO_VALID_MASK) &&
	    (vmcs_config.pin_based_exec_ctrl & PIN_BASED_VIRTUAL_NMIS))
		vmx_set_interruptibility(to_vmx(vcpu), to_vmx(vcpu)->guest_intr | GUEST_INTR_STATE_NMI);
	return kvm_mmu_page_fault(vcpu, vmcs_read64(GUEST_PHYSICAL_ADDRESS), error_code);
}

/*
 * handle_ept_misconfig() of an access made by an event's delivery, or with
 * an ioeventfd registered: out of line, so that the usual MMIO exit has no
 * frame here.  Return: 0 or 1 as an exit handler's, or 2 if neither
 * applies (go on as handle_ept_misconfig()).
 */
static __attribute__((noinline)) int handle_ept_misconfig_unusual(struct kvm_vcpu *vcpu, u64 gpa)
{
	u32 vectoring = to_vmx(vcpu)->idt_vectoring_info;

	/*
	 * The MMIO access was made by an event's delivery (IDT, stack), not by
	 * an instruction: KVM does not emulate event delivery, and emulating
	 * the instruction at RIP would raise the event again, forever
	 * (vmx_handle_exit()'s KVM_INTERNAL_ERROR_DELIVERY_EV).
	 */
	if (vectoring & INTR_INFO_VALID_MASK) {
		struct kvm_run *run = vcpu->run;

		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
		run->internal.data[0] = vectoring;
		run->internal.data[1] = to_vmx(vcpu)->exit_reason;
		run->internal.data[2] = vmx_get_exit_qual(vcpu);
		run->internal.data[3] = gpa;
		run->internal.data[4] = 0;	/* last_vmentry_cpu */
		run->internal.ndata = 5;
		return 0;
	}
	/*
	 * KVM's fast MMIO path: a zero-length ioeventfd at this address
	 * (KVM_FAST_MMIO_BUS, which matches the address alone) is signalled
	 * and the instruction skipped, without decoding it: whatever it is,
	 * read or write, the access is the doorbell (KVM's semantics).  As on
	 * bare metal, the length comes from VM_EXIT_INSTRUCTION_LEN, which the
	 * processor saves for EPT misconfigurations; if it gave none, the
	 * emulator reaches the same ioeventfd for a write.
	 */
	if (to_vmx(vcpu)->exit_instr_len) {
		u8 none = 0;

		if (kvm_ioeventfd_write(vcpu->kvm, false, gpa, 0, &none))
			return kvm_skip_emulated_instruction(vcpu);
	}
	return 2;
}

/*
 * The processor's VMX_EPT_MISCONFIG_LOAD information (vmx_api.h) in the
 * emulator's words (kvm_emulate.h: struct kvm_mmio_assist).
 */
static void vmx_mmio_load_assist(struct kvm_mmio_assist *a, u32 info)
{
	a->bytes = info & 0xf;
	a->load = true;
	a->reg = VMX_EPT_MISCONFIG_LOAD_REG(info);
	a->dsize = VMX_EPT_MISCONFIG_LOAD_DSIZE(info);
	a->high = info & VMX_EPT_MISCONFIG_LOAD_HIGH;
	a->sx = info & VMX_EPT_MISCONFIG_LOAD_SX;
}

static int handle_ept_misconfig(struct kvm_vcpu *vcpu)
{
	u64 gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	u32 info;

	/* Event delivery, or an ioeventfd ever registered: handle_ept_misconfig_unusual() */
	if (unlikely((to_vmx(vcpu)->idt_vectoring_info & INTR_INFO_VALID_MASK) ||
		     __atomic_load_n(&vcpu->kvm->ioeventfds, __ATOMIC_ACQUIRE))) {
		int r = handle_ept_misconfig_unusual(vcpu, gpa);

		if (r != 2)
			return r;
	}
	/*
	 * KVM's MMIO SPTEs are misconfigured on purpose: an MMIO access, for
	 * kvm_mmu_page_fault() and the emulator.  The processor's decode
	 * assist may report it as a MOV store and its data
	 * (VMX_EPT_MISCONFIG_STORE: the SDM leaves these fields undefined for
	 * this exit): the emulator then needs neither fetch nor decode.
	 * kvm_mmu_page_fault() consumes vcpu->arch.emul_assist (it is 0 again
	 * when it returns), so that this is a tail call.
	 */
	info = vmcs_read32(VMX_INSTRUCTION_INFO);
	if (info & VMX_EPT_MISCONFIG_STORE) {
		vcpu->arch.emul_assist.bytes = VMX_EPT_MISCONFIG_STORE_SIZE(info);
		vcpu->arch.emul_assist.load = false;
		vcpu->arch.emul_assist.data = vmx_get_exit_qual(vcpu);
	} else if (info & VMX_EPT_MISCONFIG_LOAD) {
		vmx_mmio_load_assist(&vcpu->arch.emul_assist, info);
	}
	return kvm_mmu_page_fault(vcpu, gpa, PFERR_RSVD_MASK);
}

static int handle_invalid_guest_state(struct kvm_vcpu *vcpu)
{
	return kvm_handle_unexpected_exit(vcpu, EXIT_REASON_INVALID_STATE);
}

/*
 * The exit handlers (kvm_vmx_exit_handlers[]).  Contract: return 1 to
 * resume the guest; otherwise fill vcpu->run for userspace and return 0
 * (or a negative errno for KVM_RUN).
 */
static int (*const kvm_vmx_exit_handlers[])(struct kvm_vcpu *vcpu) = {
	[EXIT_REASON_EXCEPTION_NMI]		= handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT]		= handle_triple_fault,
	[EXIT_REASON_NMI_WINDOW]		= handle_nmi_window,
	[EXIT_REASON_IO_INSTRUCTION]		= handle_io,
	[EXIT_REASON_CR_ACCESS]			= handle_cr,
	[EXIT_REASON_DR_ACCESS]			= handle_dr,
	[EXIT_REASON_CPUID]			= handle_cpuid,
	[EXIT_REASON_MSR_READ]			= handle_rdmsr,
	[EXIT_REASON_MSR_WRITE]			= handle_wrmsr,
	[EXIT_REASON_INTERRUPT_WINDOW]		= handle_interrupt_window,
	[EXIT_REASON_HLT]			= handle_halt,
	[EXIT_REASON_INVD]			= handle_nop,
	[EXIT_REASON_RDPMC]			= handle_rdpmc,
	[EXIT_REASON_VMCALL]			= handle_vmcall,
	[EXIT_REASON_VMCLEAR]			= handle_vmx_instruction,
	[EXIT_REASON_VMLAUNCH]			= handle_vmx_instruction,
	[EXIT_REASON_VMPTRLD]			= handle_vmx_instruction,
	[EXIT_REASON_VMPTRST]			= handle_vmx_instruction,
	[EXIT_REASON_VMREAD]			= handle_vmx_instruction,
	[EXIT_REASON_VMRESUME]			= handle_vmx_instruction,
	[EXIT_REASON_VMWRITE]			= handle_vmx_instruction,
	[EXIT_REASON_VMOFF]			= handle_vmx_instruction,
	[EXIT_REASON_VMON]			= handle_vmx_instruction,
	[EXIT_REASON_WBINVD]			= handle_nop,
	[EXIT_REASON_XSETBV]			= handle_xsetbv,
	[EXIT_REASON_INVALID_STATE]		= handle_invalid_guest_state,
	[EXIT_REASON_MWAIT_INSTRUCTION]		= handle_monitor_mwait,
	[EXIT_REASON_MONITOR_INSTRUCTION]	= handle_monitor_mwait,
	[EXIT_REASON_PAUSE_INSTRUCTION]		= handle_nop,
	[EXIT_REASON_EPT_VIOLATION]		= handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]		= handle_ept_misconfig,
	[EXIT_REASON_PREEMPTION_TIMER]		= handle_preemption_timer,
	[EXIT_REASON_INVEPT]			= handle_vmx_instruction,
	[EXIT_REASON_INVVPID]			= handle_vmx_instruction,
};

int vmx_handle_exit(struct kvm_vcpu *vcpu, enum exit_fastpath_completion fastpath)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 exit_reason = vmx->exit_reason;
	u16 basic = (u16)exit_reason;

	/*
	 * The common case in one compare: a basic exit reason below the
	 * table's end excludes a failed VM entry (bit 31), VMLAUNCH/VMRESUME
	 * failures (vmx->fail: VMX_ENTER_* values) and any other high bit;
	 * then the hot handlers are called directly (KVM's RETPOLINE build),
	 * the others through the table.  Else, in the order below.
	 */
	BUILD_BUG_ON(VMX_ENTER_FAULT < ARRAY_SIZE(kvm_vmx_exit_handlers));
	if (likely(exit_reason < ARRAY_SIZE(kvm_vmx_exit_handlers) && fastpath == EXIT_FASTPATH_NONE)) {
		if (exit_reason == EXIT_REASON_IO_INSTRUCTION)
			return handle_io(vcpu);
		if (exit_reason == EXIT_REASON_EPT_MISCONFIG)
			return handle_ept_misconfig(vcpu);
		if (exit_reason == EXIT_REASON_HLT)
			return kvm_emulate_halt(vcpu);
		if (exit_reason == EXIT_REASON_CPUID)
			return kvm_emulate_cpuid(vcpu);
		if (kvm_vmx_exit_handlers[exit_reason])
			return kvm_vmx_exit_handlers[exit_reason](vcpu);
	}
	if (vmx->fail) {
		/* VMLAUNCH/VMRESUME did not even start: KVM's "VM-instruction error". */
		vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason = vmx->vm_instruction_error;
		vcpu->run->fail_entry.cpu = 0;
		return 0;
	}
	if (exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason = exit_reason;
		vcpu->run->fail_entry.cpu = 0;
		return 0;
	}
	if (fastpath == EXIT_FASTPATH_EXIT_HANDLED)
		return 1;
	if (fastpath == EXIT_FASTPATH_EXIT_USERSPACE)
		return 0;	/* the fastpath filled vcpu->run */
	if (basic >= ARRAY_SIZE(kvm_vmx_exit_handlers) || !kvm_vmx_exit_handlers[basic])
		return kvm_handle_unexpected_exit(vcpu, exit_reason);
	return kvm_vmx_exit_handlers[basic](vcpu);
}

/*
 * The VMX backend's operations, from the seam's list: op @func is
 * vmx_<func> (Linux's vt_op(); kvm_x86_call() calls the same names).
 */
struct kvm_x86_ops vt_x86_ops = {
	.name = "vmx",
#define KVM_X86_OP(func) .func = vmx_##func,
#include "x86/kvm-x86-ops.h"
};
