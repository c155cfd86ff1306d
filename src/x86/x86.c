// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/x86.c: the kvm_arch_* side of VM and vCPU ioctls, vCPU
 * RESET and the vCPU state ioctls (registers, segments, control and debug
 * registers, FPU/XSAVE, XCRs, events, MP state).
 *
 * The checks, their order and the errno values are KVM's (arch/x86/kvm/
 * x86.c of Linux 6.x, with the VMX vendor hooks of vmx/vmx.c where KVM
 * calls them: vmx_set_cr0, vmx_set_efer, vmx_get/set_segment, ...).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <sys/mman.h>

#include "kvm/kvm_host.h"
#include "kvm/trace.h"
#include "x86/cpuid.h"
#include "x86/i8254.h"
#include "x86/ioapic.h"
#include "x86/irq.h"
#include "x86/kvm_emulate.h"
#include "x86/kvm_x86_ops.h"
#include "x86/lapic.h"
#include "x86/mmu/walk_cache.h"
#include "x86/x86.h"
#include "x86/x86_pio.h"

/*
 * The processor's MAXPHYADDR (CPUID.0x80000008, see cpuid.c).  Guest-
 * physical addresses at or above it cannot be mapped by EPT, so memslots
 * there are refused.
 */
u64 kvm_mmu_max_gfn(void)
{
	return (1ull << (kvm_host_maxphyaddr() - PAGE_SHIFT)) - 1;
}

int kvm_arch_init_vm(struct kvm *kvm, unsigned long type)
{
	int r;

	if (type != KVM_X86_DEFAULT_VM)
		return -EINVAL;
	kvm->arch.default_tsc_khz = KVM_DEFAULT_TSC_KHZ;
	pthread_mutex_init(&kvm->arch.tsc_write_lock, NULL);
	pthread_mutex_init(&kvm->arch.irq_lock, NULL);
	r = kvm_x86_vendor_init();
	if (r)
		return r;
	return kvm_tdp_mmu_init(&kvm->arch.tdp_mmu);
}

void kvm_arch_destroy_vm(struct kvm *kvm)
{
	kvm_free_msr_filter(kvm->arch.msr_filter);
	kvm_irqchip_destroy(kvm);
	kvm_tdp_mmu_uninit(&kvm->arch.tdp_mmu);
	pthread_mutex_destroy(&kvm->arch.irq_lock);
	pthread_mutex_destroy(&kvm->arch.tsc_write_lock);
}

int kvm_arch_vcpu_precreate(struct kvm *kvm, unsigned int id)
{
	if (!kvm->arch.max_vcpu_ids)
		kvm->arch.max_vcpu_ids = KVM_MAX_VCPU_IDS;
	if (id >= kvm->arch.max_vcpu_ids)
		return -EINVAL;
	return 0;
}

int kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_IMMEDIATE_EXIT:	/* KVM_RUN honours kvm_run->immediate_exit */
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_EXT_EMUL_CPUID:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_TSC_CONTROL:
	case KVM_CAP_VM_TSC_CONTROL:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
	case KVM_CAP_SREGS2:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_MEMORY_FAULT_INFO:		/* KVM_EXIT_MEMORY_FAULT with EFAULT */
	case KVM_CAP_VCPU_ATTRIBUTES:		/* KVM_VCPU_TSC_CTRL */
	case KVM_CAP_MSR_PLATFORM_INFO:
		return 1;
	/*
	 * The in-kernel irqchip (irq.c): PICs, I/O APIC (the RTE polarity
	 * bit is not applied to KVM_IRQ_LINE levels), LAPIC timers with
	 * TSC-deadline, the PIT, routing, MSIs and irqfds, delivered into
	 * running guests (ioeventfds: kvm_main.c).  Not (yet):
	 * KVM_REINJECT_CONTROL, the split irqchip.
	 */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_IOAPIC_POLARITY_IGNORED:
		return 1;
	case KVM_CAP_IRQ_ROUTING:
		return KVM_MAX_IRQ_ROUTES;
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_X86_VALID_FIELDS;
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_X86_MSR_FILTER:
	case KVM_CAP_X86_USER_SPACE_MSR:
		return 1;
	case KVM_CAP_SET_GUEST_DEBUG2:
		return KVM_GUESTDBG_VALID_MASK;
	case KVM_CAP_XSAVE2:
		/* the UABI buffer is never smaller than struct kvm_xsave */
		return sizeof(struct kvm_xsave);
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return KVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVM_MAX_VCPU_IDS;
	default:
		return 0;
	}
}

int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	int r;

	if (cap->flags)
		return -EINVAL;
	switch (cap->cap) {
	case KVM_CAP_MSR_PLATFORM_INFO:
		/* guest_can_read_msr_platform_info, kept inverted so 0 is KVM's default */
		WRITE_ONCE(kvm->arch.guest_cannot_read_msr_platform_info, !cap->args[0]);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		if (cap->args[0] & ~(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
				     KVM_MSR_EXIT_REASON_FILTER))
			return -EINVAL;
		__atomic_store_n(&kvm->arch.user_space_msr_mask, cap->args[0], __ATOMIC_RELAXED);
		return 0;
	case KVM_CAP_MAX_VCPU_ID:
		if (cap->args[0] > KVM_MAX_VCPU_IDS)
			return -EINVAL;
		/*
		 * kvm->lock: kvm_arch_vcpu_precreate() fixes the limit under
		 * it when the first vCPU is created.
		 */
		pthread_mutex_lock(&kvm->lock);
		r = -EINVAL;
		if (kvm->arch.bsp_vcpu_id > cap->args[0])
			;	/* the BSP (KVM_SET_BOOT_CPU_ID) would be excluded */
		else if (kvm->arch.max_vcpu_ids == cap->args[0])
			r = 0;
		else if (!kvm->arch.max_vcpu_ids) {
			kvm->arch.max_vcpu_ids = cap->args[0];
			r = 0;
		}
		pthread_mutex_unlock(&kvm->lock);
		return r;
	default:
		return -EINVAL;
	}
}

long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;

	switch (ioctl) {
	case KVM_GET_SUPPORTED_CPUID:
	case KVM_GET_EMULATED_CPUID: {
		struct kvm_cpuid2 *cpuid_arg = argp;
		struct kvm_cpuid2 cpuid;
		int r;

		if (copy_from_user(&cpuid, cpuid_arg, sizeof(cpuid)))
			return -EFAULT;
		r = kvm_dev_ioctl_get_cpuid(&cpuid, cpuid_arg->entries, ioctl);
		if (r)
			return r;
		if (copy_to_user(cpuid_arg, &cpuid, sizeof(cpuid)))
			return -EFAULT;
		return 0;
	}
	case KVM_GET_MSR_INDEX_LIST:
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
	case KVM_GET_MSRS:
		return kvm_msr_dev_ioctl(ioctl, argp);
	case KVM_X86_GET_MCE_CAP_SUPPORTED: {
		/*
		 * kvm_caps.supported_mce_cap: the processor has no machine-check
		 * architecture to virtualize (no MCG_CAP bits, no banks; hence
		 * KVM_CAP_MCE is 0 and KVM_X86_SETUP_MCE is not offered).
		 */
		u64 mce_cap = 0;

		return copy_to_user(argp, &mce_cap, sizeof(mce_cap)) ? -EFAULT : 0;
	}
	}
	return -EINVAL;
}

/* Largest TSC frequency a guest may ask for: 0xffffffff kHz is KVM's cap too. */
#define KVM_MAX_GUEST_TSC_KHZ 0xffffffffu

long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	long r = -ENOTTY;

	switch (ioctl) {
	case KVM_X86_SET_MSR_FILTER: {
		struct kvm_msr_filter filter;

		r = copy_from_user(&filter, argp, sizeof(filter));
		if (!r)
			r = kvm_vm_ioctl_set_msr_filter(kvm, &filter);
		return r;
	}
	case KVM_SET_TSS_ADDR:
		/*
		 * The TSS is only for real-mode emulation without unrestricted
		 * guest; our processor has unrestricted guest, so like VMX KVM
		 * we check the range and do nothing else.
		 */
		if (arg > (unsigned int)(-3 * (int)PAGE_SIZE))
			return -EINVAL;
		kvm->arch.tss_addr = arg;
		kvm->arch.tss_addr_set = true;
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 ident_addr;

		pthread_mutex_lock(&kvm->lock);
		r = -EINVAL;
		if (kvm->created_vcpus)
			goto set_identity_unlock;
		r = copy_from_user(&ident_addr, argp, sizeof(ident_addr));
		if (r)
			goto set_identity_unlock;
		kvm->arch.ept_identity_map_addr = ident_addr;
		kvm->arch.ept_identity_map_set = true;
set_identity_unlock:
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	case KVM_SET_TSC_KHZ: {
		u32 user_tsc_khz = (u32)arg;

		r = -EINVAL;
		if (user_tsc_khz >= KVM_MAX_GUEST_TSC_KHZ)
			return r;
		if (user_tsc_khz == 0)
			user_tsc_khz = KVM_DEFAULT_TSC_KHZ;
		pthread_mutex_lock(&kvm->lock);
		if (!kvm->created_vcpus) {
			WRITE_ONCE(kvm->arch.default_tsc_khz, user_tsc_khz);
			r = 0;
		}
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	case KVM_GET_TSC_KHZ:
		return READ_ONCE(kvm->arch.default_tsc_khz);
	case KVM_SET_NR_MMU_PAGES:
		if (arg < KVM_MIN_ALLOC_MMU_PAGES)
			return -EINVAL;
		pthread_mutex_lock(&kvm->slots_lock);
		kvm->arch.n_max_mmu_pages = arg;	/* kvm_mmu_change_mmu_pages() */
		kvm->arch.n_requested_mmu_pages = arg;
		pthread_mutex_unlock(&kvm->slots_lock);
		return 0;
	case KVM_SET_BOOT_CPU_ID:
		r = 0;
		pthread_mutex_lock(&kvm->lock);
		if (kvm->created_vcpus)
			r = -EBUSY;
		else if (arg > KVM_MAX_VCPU_IDS ||
			 (kvm->arch.max_vcpu_ids && arg > kvm->arch.max_vcpu_ids))
			r = -EINVAL;
		else
			kvm->arch.bsp_vcpu_id = arg;
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	return kvm_arch_irqchip_vm_ioctl(kvm, ioctl, arg);
}

/* ------------------------------------------------------------------ */
/* Time: the guest TSC                                                 */
/* ------------------------------------------------------------------ */

static u64 host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ns of time at @khz, in TSC cycles */
static u64 ns_to_cycles(u64 ns, u32 khz)
{
	return (ns / 1000000) * khz + (ns % 1000000) * khz / 1000000;
}

/*
 * The host TSC's frequency (the kernel's tsc_khz), measured once against
 * CLOCK_MONOTONIC_RAW over 5 ms; it is the default guest frequency, and
 * what turns guest TSC deadlines into time.  Each end of the window is a
 * TSC and clock pair read together: of 8 tries, the one whose TSC reads
 * around the clock read are closest, so a preemption between the two reads
 * (100 us is 2% of the window) does not skew the rate.
 */
static u32 host_tsc_khz;
static pthread_once_t host_tsc_once = PTHREAD_ONCE_INIT;

static void host_tsc_ns_pair(u64 *tsc, u64 *ns)
{
	u64 best = ~0ull;

	for (int i = 0; i < 8; i++) {
		u64 a = rdtsc(), n = host_ns(), b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = n;
		}
	}
}

static void host_tsc_calibrate(void)
{
	u64 ns0, t0, ns1, t1;

	host_tsc_ns_pair(&t0, &ns0);
	do {
		ns1 = host_ns();
	} while (ns1 - ns0 < 5000000);
	host_tsc_ns_pair(&t1, &ns1);
	host_tsc_khz = (u32)((t1 - t0) * 1000000ull / (ns1 - ns0));
	if (!host_tsc_khz)
		host_tsc_khz = 1;
}

u32 kvm_host_tsc_khz(void)
{
	pthread_once(&host_tsc_once, host_tsc_calibrate);
	return host_tsc_khz;
}

/* kvm_scale_tsc(): the guest TSC for host TSC @tsc at @ratio */
static u64 kvm_scale_tsc(u64 tsc, u64 ratio)
{
	if (ratio == KVM_DEFAULT_TSC_SCALING_RATIO)
		return tsc;
	return (u64)(((unsigned __int128)tsc * ratio) >> KVM_TSC_SCALING_FRAC_BITS);
}

/* set_tsc_khz(): the ratio that makes the host's TSC tick at @khz for the guest */
void kvm_set_tsc_khz(struct kvm_vcpu *vcpu, u32 khz)
{
	u32 host = kvm_host_tsc_khz();

	vcpu->arch.tsc_khz = khz;
	vcpu->arch.l1_tsc_scaling_ratio = khz == host ? KVM_DEFAULT_TSC_SCALING_RATIO :
		(u64)(((unsigned __int128)khz << KVM_TSC_SCALING_FRAC_BITS) / host);
}

u64 kvm_read_l1_tsc(struct kvm_vcpu *vcpu)
{
	return kvm_scale_tsc(rdtsc(), vcpu->arch.l1_tsc_scaling_ratio) + vcpu->arch.l1_tsc_offset;
}

/*
 * kvm_synchronize_tsc() - a host write of the guest TSC (@user_value), or
 * vCPU creation (NULL).  As in KVM, writes meant to keep vCPUs in sync
 * are recognized and given the same offset: a creation, a write of 0, or
 * (after the VMM wrote a TSC once) a value within one second of what the
 * last write would read now.  The processor's TSC is stable, so matched
 * vCPUs simply share the offset.
 */
void kvm_synchronize_tsc(struct kvm_vcpu *vcpu, const u64 *user_value)
{
	struct kvm_arch *ka = &vcpu->kvm->arch;
	u64 data = user_value ? *user_value : 0;
	u32 khz = vcpu->arch.tsc_khz;
	bool synchronizing = false;
	u64 ns, offset, elapsed;

	pthread_mutex_lock(&ka->tsc_write_lock);
	ns = host_ns();
	offset = data - kvm_scale_tsc(rdtsc(), vcpu->arch.l1_tsc_scaling_ratio);
	elapsed = ns - ka->last_tsc_nsec;
	if (data == 0) {
		synchronizing = true;
	} else if (ka->user_set_tsc) {
		u64 tsc_exp = ka->last_tsc_write + ns_to_cycles(elapsed, khz);
		u64 tsc_hz = khz * 1000ull;

		synchronizing = data < tsc_exp + tsc_hz && data + tsc_hz > tsc_exp;
	}
	if (user_value)
		ka->user_set_tsc = true;
	if (synchronizing && khz == ka->last_tsc_khz)
		offset = ka->cur_tsc_offset;	/* matched: same generation */
	else
		ka->cur_tsc_offset = offset;	/* a new generation */
	ka->last_tsc_nsec = ns;
	ka->last_tsc_write = data;
	ka->last_tsc_khz = khz;
	vcpu->arch.l1_tsc_offset = offset;
	pthread_mutex_unlock(&ka->tsc_write_lock);
}

/*
 * The vCPU's KVM_VCPU_TSC_CTRL attributes (kvm_arch_tsc_{has,get,set}_attr):
 * KVM_VCPU_TSC_OFFSET is the offset of the guest's TSC from the host's
 * (scaled) one, as the VMM computes it from its own RDTSC.  Setting it
 * joins the current generation when it equals that generation's offset.
 */
static int kvm_vcpu_ioctl_device_attr(struct kvm_vcpu *vcpu, unsigned int ioctl,
				      struct kvm_device_attr *attr)
{
	u64 *uaddr = (u64 *)(unsigned long)attr->addr;
	struct kvm_arch *ka = &vcpu->kvm->arch;
	u64 offset;

	if (attr->group != KVM_VCPU_TSC_CTRL || attr->attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	switch (ioctl) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		return copy_to_user(uaddr, &vcpu->arch.l1_tsc_offset, sizeof(offset)) ? -EFAULT : 0;
	default:
		if (copy_from_user(&offset, uaddr, sizeof(offset)))
			return -EFAULT;
		pthread_mutex_lock(&ka->tsc_write_lock);
		/* __kvm_synchronize_tsc(): this write is the last one now */
		ka->last_tsc_nsec = host_ns();
		ka->last_tsc_write = kvm_scale_tsc(rdtsc(), vcpu->arch.l1_tsc_scaling_ratio) + offset;
		ka->last_tsc_khz = vcpu->arch.tsc_khz;
		ka->cur_tsc_offset = offset;
		vcpu->arch.l1_tsc_offset = offset;
		pthread_mutex_unlock(&ka->tsc_write_lock);
		return 0;
	}
}

/* The processor implements 5-level paging: 57-bit linear addresses. */
u8 max_host_virt_addr_bits(void)
{
	return kvm_cpu_cap_has(X86_FEATURE_LA57) ? 57 : 48;
}

/* ------------------------------------------------------------------ */
/* Control registers, EFER, XCR0, APIC base                           */
/* ------------------------------------------------------------------ */

static bool is_long_mode(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.efer & EFER_LMA;
}

static bool is_pae_paging(struct kvm_vcpu *vcpu)
{
	return (vcpu->arch.cr0 & X86_CR0_PG) && (vcpu->arch.cr4 & X86_CR4_PAE) &&
	       !is_long_mode(vcpu);
}

bool kvm_valid_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	if (efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
		return false;
	if ((efer & (EFER_LME | EFER_LMA)) && !guest_cpu_cap_has(vcpu, X86_FEATURE_LM))
		return false;
	if ((efer & EFER_NX) && !guest_cpu_cap_has(vcpu, X86_FEATURE_NX))
		return false;
	return true;
}

static bool kvm_is_valid_cr0(struct kvm_vcpu *vcpu, u64 cr0)
{
	if (cr0 & 0xffffffff00000000ull)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	/* vmx_is_valid_cr0(): no further rule outside VMX operation */
	return true;
}

static bool kvm_is_valid_cr4(struct kvm_vcpu *vcpu, u64 cr4)
{
	/* vmx_is_valid_cr4() adds "no VMXE in SMM"; there is no SMM */
	return !(cr4 & vcpu->arch.cr4_guest_rsvd_bits);
}

static bool kvm_vcpu_is_legal_cr3(struct kvm_vcpu *vcpu, u64 cr3)
{
	return !(cr3 & vcpu->arch.reserved_gpa_bits);
}

int __kvm_set_xcr(struct kvm_vcpu *vcpu, u32 index, u64 xcr)
{
	u64 xcr0 = xcr;
	u64 valid_bits;

	if (index != XCR_XFEATURE_ENABLED_MASK)
		return 1;
	if (!(xcr0 & XFEATURE_MASK_FP))
		return 1;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return 1;
	/*
	 * Only what the guest's CPUID.0xD enumerates (and the processor can
	 * save); bit 0 always, even without XSAVE (see kvm_vcpu_reset()).
	 */
	valid_bits = vcpu->arch.guest_supported_xcr0 | XFEATURE_MASK_FP;
	if (xcr0 & ~valid_bits)
		return 1;
	vcpu->arch.xcr0 = xcr0;
	return 0;
}

/* __kvm_apic_set_base(): the MSR, and the in-kernel local APIC's mode and base. */
static void __kvm_apic_set_base(struct kvm_vcpu *vcpu, u64 value)
{
	vcpu->arch.apic_base = value;
	if (vcpu->arch.apic)
		kvm_lapic_set_base(vcpu->arch.apic, value, true);	/* already validated */
}

enum lapic_mode {
	LAPIC_MODE_DISABLED = 0,
	LAPIC_MODE_INVALID = MSR_IA32_APICBASE_X2APIC,
	LAPIC_MODE_XAPIC = MSR_IA32_APICBASE_ENABLE,
	LAPIC_MODE_X2APIC = MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_X2APIC,
};

static enum lapic_mode kvm_apic_mode(u64 apic_base)
{
	return apic_base & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_X2APIC);
}

/*
 * kvm_apic_set_base() - IA32_APIC_BASE writes.
 *
 * Return: 1 for reserved bits (address bits above MAXPHYADDR, bits 0-7 and
 * 9, x2APIC without the CPUID bit) or EXTD without EN; guest writes also
 * may not go x2APIC -> xAPIC or disabled -> x2APIC (SDM 10.12.5).
 */
int kvm_apic_set_base(struct kvm_vcpu *vcpu, u64 value, bool host_initiated)
{
	enum lapic_mode old_mode = kvm_apic_mode(vcpu->arch.apic_base);
	enum lapic_mode new_mode = kvm_apic_mode(value);
	u64 reserved_bits;

	if (vcpu->arch.apic_base == value)
		return 0;
	reserved_bits = vcpu->arch.reserved_gpa_bits | 0x2ff |
			(guest_cpu_cap_has(vcpu, X86_FEATURE_X2APIC) ? 0 : MSR_IA32_APICBASE_X2APIC);
	if ((value & reserved_bits) || new_mode == LAPIC_MODE_INVALID)
		return 1;
	if (!host_initiated) {
		if (old_mode == LAPIC_MODE_X2APIC && new_mode == LAPIC_MODE_XAPIC)
			return 1;
		if (old_mode == LAPIC_MODE_DISABLED && new_mode == LAPIC_MODE_X2APIC)
			return 1;
	}
	__kvm_apic_set_base(vcpu, value);
	return 0;
}

/*
 * vmx_set_cr0(): with unrestricted guest the value is the guest's.  When
 * EFER.LME is set, turning paging on enters IA-32e mode (EFER.LMA, and TR
 * must be a busy 64-bit TSS), turning it off leaves it.
 */
static void vmx_set_cr0(struct kvm_vcpu *vcpu, u64 cr0)
{
	bool old_cr0_pg = vcpu->arch.cr0 & X86_CR0_PG;

	vcpu->arch.cr0 = cr0;
	if (vcpu->arch.efer & EFER_LME) {
		if (!old_cr0_pg && (cr0 & X86_CR0_PG)) {
			struct kvm_seg_state *tr = &vcpu->arch.seg[VCPU_SREG_TR];

			if ((tr->ar & VMX_AR_TYPE_MASK) != VMX_AR_TYPE_BUSY_64_TSS)
				tr->ar = (tr->ar & ~VMX_AR_TYPE_MASK) | VMX_AR_TYPE_BUSY_64_TSS;
			vcpu->arch.efer |= EFER_LMA;
		} else if (old_cr0_pg && !(cr0 & X86_CR0_PG)) {
			vcpu->arch.efer &= ~EFER_LMA;
		}
	}
}

/* load_pdptrs(): the four PAE PDPTEs at CR3.  Return: 1 if all are valid. */
static int load_pdptrs(struct kvm_vcpu *vcpu, u64 cr3)
{
	u64 rsvd = vcpu->arch.reserved_gpa_bits | 0x1e0 /* bits 5-8 */ | 0x6 /* bits 1-2 */;
	u64 gpa = cr3 & ~0x1full & ~vcpu->arch.reserved_gpa_bits;
	struct kvm_memory_slot *slot;
	u64 pdpte[4];
	bool locked;
	hva_t hva;
	int idx;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	slot = gfn_to_memslot(vcpu->kvm, gpa >> PAGE_SHIFT);
	hva = gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT);
	if (hva != KVM_HVA_ERR_BAD && !kvm_hva_access_begin(vcpu->kvm, slot, hva, &locked))
		hva = KVM_HVA_ERR_BAD;
	if (hva != KVM_HVA_ERR_BAD) {
		memcpy(pdpte, (void *)(hva + (gpa & (PAGE_SIZE - 1))), sizeof(pdpte));
		kvm_hva_access_end(vcpu->kvm, locked);
	}
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (hva == KVM_HVA_ERR_BAD)
		return 0;
	for (int i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & rsvd))
			return 0;
	memcpy(vcpu->arch.pdptrs, pdpte, sizeof(pdpte));
	return 1;
}

/* ------------------------------------------------------------------ */
/* Segments (vmx_get_segment / vmx_set_segment)                        */
/* ------------------------------------------------------------------ */

static void kvm_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var, int seg)
{
	const struct kvm_seg_state *s = &vcpu->arch.seg[seg];
	u32 ar = s->ar;

	memset(var, 0, sizeof(*var));
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->unusable = (ar >> 16) & 1;
	var->type = ar & 15;
	var->s = (ar >> 4) & 1;
	var->dpl = (ar >> 5) & 3;
	/*
	 * A usable segment is present in VMX; reporting "present" as
	 * !unusable repairs userspace that does not preserve unusable.
	 */
	var->present = !var->unusable;
	var->avl = (ar >> 12) & 1;
	var->l = (ar >> 13) & 1;
	var->db = (ar >> 14) & 1;
	var->g = (ar >> 15) & 1;
}

static u32 vmx_segment_access_rights(const struct kvm_segment *var)
{
	u32 ar;

	ar = var->type & 15;
	ar |= (var->s & 1) << 4;
	ar |= (var->dpl & 3) << 5;
	ar |= (var->present & 1) << 7;
	ar |= (var->avl & 1) << 12;
	ar |= (var->l & 1) << 13;
	ar |= (var->db & 1) << 14;
	ar |= (var->g & 1) << 15;
	ar |= (u32)(var->unusable || !var->present) << 16;
	return ar;
}

static void kvm_set_segment(struct kvm_vcpu *vcpu, const struct kvm_segment *in, int seg)
{
	struct kvm_seg_state *s = &vcpu->arch.seg[seg];
	struct kvm_segment var = *in;

	s->base = var.base;
	s->limit = var.limit;
	s->selector = var.selector;
	/*
	 * The processor sets a segment's accessed bit when it loads it (SDM
	 * 3.4.5.1) and VM entry with unrestricted guest requires it; KVM
	 * sets it for every segment but LDTR, fixing up old userspace.
	 */
	if (seg != VCPU_SREG_LDTR)
		var.type |= 1;
	s->ar = vmx_segment_access_rights(&var);
}

/* seg_setup() of vmx_vcpu_reset(): real-mode segments at RESET. */
static void seg_setup(struct kvm_vcpu *vcpu, int seg)
{
	struct kvm_seg_state *s = &vcpu->arch.seg[seg];

	s->selector = 0;
	s->base = 0;
	s->limit = 0xffff;
	s->ar = 0x93 | (seg == VCPU_SREG_CS ? 0x08 : 0);
}

/* ------------------------------------------------------------------ */
/* RESET                                                               */
/* ------------------------------------------------------------------ */

static bool kvm_vcpu_is_reset_bsp(struct kvm_vcpu *vcpu)
{
	return vcpu->kvm->arch.bsp_vcpu_id == (u32)vcpu->vcpu_id;
}

/* vmx_vcpu_reset(): the VMCS guest-state area at RESET/INIT (SDM 9.1.1). */
static void vmx_vcpu_reset(struct kvm_vcpu *vcpu, bool init_event)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	if (!init_event) {
		/* __vmx_vcpu_reset() */
		a->microcode_version = 0x100000000ull;
		a->msr_ia32_feature_control_valid_bits = FEAT_CTL_LOCKED;
	}
	seg_setup(vcpu, VCPU_SREG_CS);
	a->seg[VCPU_SREG_CS].selector = 0xf000;
	a->seg[VCPU_SREG_CS].base = 0xffff0000;
	seg_setup(vcpu, VCPU_SREG_DS);
	seg_setup(vcpu, VCPU_SREG_ES);
	seg_setup(vcpu, VCPU_SREG_FS);
	seg_setup(vcpu, VCPU_SREG_GS);
	seg_setup(vcpu, VCPU_SREG_SS);
	a->seg[VCPU_SREG_TR] = (struct kvm_seg_state){ .limit = 0xffff, .ar = 0x008b };
	a->seg[VCPU_SREG_LDTR] = (struct kvm_seg_state){ .limit = 0xffff, .ar = 0x0082 };
	a->gdt = (struct desc_ptr){ .size = 0xffff };
	a->idt = (struct desc_ptr){ .size = 0xffff };
	a->interruptibility = 0;
	a->cr8 = 0;
}

/*
 * kvm_vcpu_reset() - RESET (@init_event false) or INIT.  The values are the
 * SDM's (9.1.1, table 9-1) as KVM sets them: RIP 0xfff0 in a CS based at
 * 0xffff0000, EDX the CPUID.1 signature (0x600 while there is no CPUID),
 * CR0 0x60000010, DR6 0xffff0ff0, DR7 0x400, XCR0 1, PAT 0x0007040600070406.
 */
void kvm_vcpu_reset(struct kvm_vcpu *vcpu, bool init_event)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	struct kvm_cpuid_entry2 *cpuid_0x1;
	u64 old_cr0 = a->cr0;

	/* kvm_lapic_reset(): IA32_APIC_BASE even without an in-kernel APIC */
	if (!init_event) {
		u64 msr_val = 0xfee00000ull | MSR_IA32_APICBASE_ENABLE;

		if (kvm_vcpu_is_reset_bsp(vcpu))
			msr_val |= MSR_IA32_APICBASE_BSP;
		__kvm_apic_set_base(vcpu, msr_val);
	}
	if (a->apic)
		kvm_lapic_reset(a->apic, init_event, kvm_vcpu_is_reset_bsp(vcpu));

	a->smi_count = 0;
	a->nmi_queued = 0;
	a->nmi_pending = 0;
	a->nmi_injected = false;
	memset(&a->interrupt, 0, sizeof(a->interrupt));
	memset(&a->exception, 0, sizeof(a->exception));

	memset(a->db, 0, sizeof(a->db));
	a->dr6 = DR6_ACTIVE_LOW;
	a->dr7 = DR7_FIXED_1;
	a->cr2 = 0;

	if (!init_event) {
		kvm_msr_vcpu_reset(vcpu);
		__kvm_set_xcr(vcpu, 0, XFEATURE_MASK_FP);
	}

	/* All GPRs except RDX are zeroed on RESET/INIT. */
	memset(a->regs, 0, sizeof(a->regs));
	cpuid_0x1 = kvm_find_cpuid_entry(vcpu, 1);
	a->regs[VCPU_REGS_RDX] = cpuid_0x1 ? cpuid_0x1->eax : 0x600;

	vmx_vcpu_reset(vcpu, init_event);

	a->rflags = X86_EFLAGS_FIXED;
	a->regs[VCPU_REGS_RIP] = 0xfff0;
	a->cr3 = 0;
	/* CR0.CD/NW are set on RESET, preserved on INIT. */
	a->cr0 = X86_CR0_ET | (init_event ? old_cr0 & (X86_CR0_NW | X86_CR0_CD) :
					     X86_CR0_NW | X86_CR0_CD);
	a->cr4 = 0;
	a->efer = 0;
}

/*
 * kvm_arch_vcpu_load()/kvm_arch_vcpu_put(): a vCPU ioctl runs on the
 * vCPU's processor.  The thread stays on it after the ioctl, as a VMCS
 * stays loaded on a pCPU after KVM's vcpu_put(), so that the next ioctl
 * of the same vCPU on the same thread (KVM_RUN after KVM_RUN) binds
 * nothing: kvm_thread_vcpu_loaded names that vCPU by its load_id (never
 * reused: a vCPU freed meanwhile and another made at its address do not
 * match), and is 0 while an ioctl uses the processor, so that only a
 * thread between ioctls is scheduled out (kvm_sched_out_thread(), whose
 * callers are every other entry into KVM).
 */
__thread u64 kvm_thread_vcpu_loaded __attribute__((tls_model("initial-exec")));
static u64 kvm_vcpu_load_ids;

/*
 * Leave ENTERING_GUEST_MODE (kvm_host.h) before anything that may wait for
 * a lock or for another thread: kvm_flush_remote_tlbs() waits for a vCPU
 * in that mode whose mutex is held.  A plain store: the waiter sees it a
 * little later, and only waits meanwhile.
 */
static __always_inline void vcpu_mode_outside(struct kvm_vcpu *vcpu)
{
	if (unlikely(vcpu->arch.mode != OUTSIDE_GUEST_MODE))
		__atomic_store_n(&vcpu->arch.mode, OUTSIDE_GUEST_MODE, __ATOMIC_RELEASE);
}

static __always_inline void kvm_arch_vcpu_load(struct kvm_vcpu *vcpu)
{
	u64 loaded = kvm_thread_vcpu_loaded;

	kvm_thread_vcpu_loaded = 0;
	if (unlikely(loaded != vcpu->arch.load_id)) {
		vcpu_mode_outside(vcpu);
		kvm_x86_call(vcpu_load)(vcpu);
	}
}

/* The vCPU's file is released (kvm_main.c): its mutex stays held, it enters no more. */
void kvm_arch_vcpu_release(struct kvm_vcpu *vcpu)
{
	vcpu_mode_outside(vcpu);
}

static __always_inline void kvm_arch_vcpu_put(struct kvm_vcpu *vcpu)
{
	kvm_thread_vcpu_loaded = vcpu->arch.load_id;
}

void kvm_arch_sched_out(void)
{
	kvm_x86_call(sched_out)();
}

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	int r;

	/*
	 * Without an in-kernel irqchip every vCPU starts runnable; with one,
	 * application processors wait for INIT-SIPI (kvm_arch_vcpu_create()).
	 */
	pthread_mutex_init(&a->halt_lock, NULL);
	pthread_cond_init(&a->halt_cond, NULL);
	a->last_vmentry_cpu = -1;
	a->timer_tsc_left = ~0ull;	/* no deadline, until an in-kernel timer's entry (__vcpu_enter_guest()) */
	a->pio_in_keep = ~0ull;	/* no IN awaiting completion */
	a->entry_polls_timers = false;
	vcpu->arch.load_id = __atomic_add_fetch(&kvm_vcpu_load_ids, 1, __ATOMIC_RELAXED);
	r = kvm_x86_call(vcpu_create)(vcpu);
	if (r)
		return r;
	r = kvm_irqchip_vcpu_create(vcpu, kvm_vcpu_is_reset_bsp(vcpu));
	if (r)
		return r;
	a->mp_state = !a->apic || kvm_vcpu_is_reset_bsp(vcpu) ? KVM_MP_STATE_RUNNABLE :
								KVM_MP_STATE_UNINITIALIZED;
	kvm_msr_vcpu_create(vcpu);
	/*
	 * The guest FPU state is zero-allocated; fpstate_init_user() gives
	 * FCW and MXCSR their power-up values.  Nothing is in use yet:
	 * XSTATE_BV is 0 (every component in its initial configuration).
	 */
	memset(&a->guest_fpu, 0, sizeof(a->guest_fpu));
	a->guest_fpu.i387.cwd = 0x37f;
	a->guest_fpu.i387.mxcsr = 0x1f80;

	kvm_vcpu_after_set_cpuid(vcpu);
	kvm_set_tsc_khz(vcpu, vcpu->kvm->arch.default_tsc_khz);
	kvm_vcpu_reset(vcpu, false);
	/*
	 * kvm_arch_vcpu_postcreate(): the first vCPU's TSC starts at 0, later
	 * ones join its generation (same TSC).
	 */
	kvm_synchronize_tsc(vcpu, NULL);
	return 0;
}

void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_x86_call(vcpu_free)(vcpu);
	pthread_cond_destroy(&vcpu->arch.halt_cond);
	pthread_mutex_destroy(&vcpu->arch.halt_lock);
	kvm_irqchip_vcpu_destroy(vcpu);
	free(vcpu->arch.emulate_ctxt);
	vcpu->arch.emulate_ctxt = NULL;
	kvm_mmu_free_memory_caches(&vcpu->arch.mmu_caches);
	free(vcpu->arch.cpuid_entries);
	vcpu->arch.cpuid_entries = NULL;
	vcpu->arch.cpuid_last = NULL;
}

/* ------------------------------------------------------------------ */
/* KVM_GET/SET_REGS, KVM_GET/SET_SREGS(2)                              */
/* ------------------------------------------------------------------ */

static void kvm_arch_vcpu_ioctl_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	const u64 *r = vcpu->arch.regs;

	regs->rax = r[VCPU_REGS_RAX];
	regs->rbx = r[VCPU_REGS_RBX];
	regs->rcx = r[VCPU_REGS_RCX];
	regs->rdx = r[VCPU_REGS_RDX];
	regs->rsi = r[VCPU_REGS_RSI];
	regs->rdi = r[VCPU_REGS_RDI];
	regs->rsp = r[VCPU_REGS_RSP];
	regs->rbp = r[VCPU_REGS_RBP];
	regs->r8 = r[VCPU_REGS_R8];
	regs->r9 = r[VCPU_REGS_R9];
	regs->r10 = r[VCPU_REGS_R10];
	regs->r11 = r[VCPU_REGS_R11];
	regs->r12 = r[VCPU_REGS_R12];
	regs->r13 = r[VCPU_REGS_R13];
	regs->r14 = r[VCPU_REGS_R14];
	regs->r15 = r[VCPU_REGS_R15];
	regs->rip = r[VCPU_REGS_RIP];
	regs->rflags = vcpu->arch.rflags;
}

static void kvm_arch_vcpu_ioctl_set_regs(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	u64 *r = vcpu->arch.regs;

	r[VCPU_REGS_RAX] = regs->rax;
	r[VCPU_REGS_RBX] = regs->rbx;
	r[VCPU_REGS_RCX] = regs->rcx;
	r[VCPU_REGS_RDX] = regs->rdx;
	r[VCPU_REGS_RSI] = regs->rsi;
	r[VCPU_REGS_RDI] = regs->rdi;
	r[VCPU_REGS_RSP] = regs->rsp;
	r[VCPU_REGS_RBP] = regs->rbp;
	r[VCPU_REGS_R8] = regs->r8;
	r[VCPU_REGS_R9] = regs->r9;
	r[VCPU_REGS_R10] = regs->r10;
	r[VCPU_REGS_R11] = regs->r11;
	r[VCPU_REGS_R12] = regs->r12;
	r[VCPU_REGS_R13] = regs->r13;
	r[VCPU_REGS_R14] = regs->r14;
	r[VCPU_REGS_R15] = regs->r15;
	r[VCPU_REGS_RIP] = regs->rip;
	/* bit 1 of RFLAGS is always 1 (SDM 3.4.3) */
	vcpu->arch.rflags = regs->rflags | X86_EFLAGS_FIXED;
	/* a pending (not yet delivered) exception belongs to the old RIP */
	vcpu->arch.exception.pending = false;
}

static void __get_sregs_common(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	kvm_get_segment(vcpu, &sregs->cs, VCPU_SREG_CS);
	kvm_get_segment(vcpu, &sregs->ds, VCPU_SREG_DS);
	kvm_get_segment(vcpu, &sregs->es, VCPU_SREG_ES);
	kvm_get_segment(vcpu, &sregs->fs, VCPU_SREG_FS);
	kvm_get_segment(vcpu, &sregs->gs, VCPU_SREG_GS);
	kvm_get_segment(vcpu, &sregs->ss, VCPU_SREG_SS);
	kvm_get_segment(vcpu, &sregs->tr, VCPU_SREG_TR);
	kvm_get_segment(vcpu, &sregs->ldt, VCPU_SREG_LDTR);
	sregs->idt.limit = a->idt.size;
	sregs->idt.base = a->idt.address;
	sregs->gdt.limit = a->gdt.size;
	sregs->gdt.base = a->gdt.address;
	sregs->cr2 = a->cr2;
	sregs->cr3 = a->cr3;
	sregs->cr0 = a->cr0;
	sregs->cr4 = a->cr4;
	sregs->cr8 = a->cr8;
	sregs->efer = a->efer;
	sregs->apic_base = a->apic_base;
}

static void __get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	__get_sregs_common(vcpu, sregs);
	if (vcpu->arch.interrupt.injected && !vcpu->arch.interrupt.soft)
		sregs->interrupt_bitmap[vcpu->arch.interrupt.nr / 64] |=
			1ull << (vcpu->arch.interrupt.nr % 64);
}

static void __get_sregs2(struct kvm_vcpu *vcpu, struct kvm_sregs2 *sregs2)
{
	__get_sregs_common(vcpu, (struct kvm_sregs *)sregs2);
	if (is_pae_paging(vcpu)) {
		for (int i = 0; i < 4; i++)
			sregs2->pdptrs[i] = vcpu->arch.pdptrs[i];
		sregs2->flags |= KVM_SREGS2_FLAGS_PDPTRS_VALID;
	}
}

/*
 * kvm_is_valid_sregs(): with EFER.LME and CR0.PG the processor is in IA-32e
 * mode, so CR4.PAE and EFER.LMA must be set and CR3 must be a legal GPA;
 * otherwise EFER.LMA and CS.L must be clear.  CR0 and CR4 must be valid.
 */
static bool kvm_is_valid_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if ((sregs->efer & EFER_LME) && (sregs->cr0 & X86_CR0_PG)) {
		if (!(sregs->cr4 & X86_CR4_PAE) || !(sregs->efer & EFER_LMA))
			return false;
		if (!kvm_vcpu_is_legal_cr3(vcpu, sregs->cr3))
			return false;
	} else {
		if ((sregs->efer & EFER_LMA) || sregs->cs.l)
			return false;
	}
	return kvm_is_valid_cr4(vcpu, sregs->cr4) && kvm_is_valid_cr0(vcpu, sregs->cr0);
}

static int __set_sregs_common(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs, bool update_pdptrs)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	if (!kvm_is_valid_sregs(vcpu, sregs))
		return -EINVAL;
	if (kvm_apic_set_base(vcpu, sregs->apic_base, true))
		return -EINVAL;

	a->idt.size = sregs->idt.limit;
	a->idt.address = sregs->idt.base;
	a->gdt.size = sregs->gdt.limit;
	a->gdt.address = sregs->gdt.base;
	a->cr2 = sregs->cr2;
	a->cr3 = sregs->cr3;
	/* kvm_set_cr8(): a CR8 with reserved bits is dropped, not an error */
	if (!(sregs->cr8 & ~0xfull))
		a->cr8 = sregs->cr8;
	/* vmx_set_efer(): taken as is, after kvm_is_valid_sregs() */
	a->efer = sregs->efer;
	vmx_set_cr0(vcpu, sregs->cr0);
	/* kvm_post_set_cr4(): OSXSAVE and OSPKE in the guest's CPUID follow CR4 */
	if ((a->cr4 ^ sregs->cr4) & (X86_CR4_OSXSAVE | X86_CR4_PKE)) {
		a->cr4 = sregs->cr4;
		kvm_update_cpuid_runtime(vcpu);
	}
	a->cr4 = sregs->cr4;
	if (update_pdptrs && is_pae_paging(vcpu))
		load_pdptrs(vcpu, a->cr3);

	kvm_set_segment(vcpu, &sregs->cs, VCPU_SREG_CS);
	kvm_set_segment(vcpu, &sregs->ds, VCPU_SREG_DS);
	kvm_set_segment(vcpu, &sregs->es, VCPU_SREG_ES);
	kvm_set_segment(vcpu, &sregs->fs, VCPU_SREG_FS);
	kvm_set_segment(vcpu, &sregs->gs, VCPU_SREG_GS);
	kvm_set_segment(vcpu, &sregs->ss, VCPU_SREG_SS);
	kvm_set_segment(vcpu, &sregs->tr, VCPU_SREG_TR);
	kvm_set_segment(vcpu, &sregs->ldt, VCPU_SREG_LDTR);
	return 0;
}

static int __set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	int r = __set_sregs_common(vcpu, sregs, true);

	if (r)
		return r;
	/* the lowest vector in interrupt_bitmap is queued as injected */
	for (int i = 0; i < KVM_NR_INTERRUPTS; i++) {
		if (sregs->interrupt_bitmap[i / 64] & (1ull << (i % 64))) {
			vcpu->arch.interrupt.injected = true;
			vcpu->arch.interrupt.soft = false;
			vcpu->arch.interrupt.nr = i;
			break;
		}
	}
	return 0;
}

static int __set_sregs2(struct kvm_vcpu *vcpu, struct kvm_sregs2 *sregs2)
{
	bool valid_pdptrs = sregs2->flags & KVM_SREGS2_FLAGS_PDPTRS_VALID;
	bool pae = (sregs2->cr0 & X86_CR0_PG) && (sregs2->cr4 & X86_CR4_PAE) &&
		   !(sregs2->efer & EFER_LMA);
	int r;

	if (sregs2->flags & ~KVM_SREGS2_FLAGS_PDPTRS_VALID)
		return -EINVAL;
	if (valid_pdptrs && !pae)
		return -EINVAL;
	r = __set_sregs_common(vcpu, (struct kvm_sregs *)sregs2, !valid_pdptrs);
	if (r)
		return r;
	if (valid_pdptrs)
		for (int i = 0; i < 4; i++)
			vcpu->arch.pdptrs[i] = sregs2->pdptrs[i];
	return 0;
}

/* ------------------------------------------------------------------ */
/* FPU and XSAVE                                                       */
/* ------------------------------------------------------------------ */

static void kvm_arch_vcpu_ioctl_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	const struct fxregs_state *fx = &vcpu->arch.guest_fpu.i387;

	memcpy(fpu->fpr, fx->st_space, 128);
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fx->xmm_space));
	/* Note, like KVM, MXCSR is not reported (use KVM_GET_XSAVE). */
}

static void kvm_arch_vcpu_ioctl_set_fpu(struct kvm_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = &vcpu->arch.guest_fpu.i387;

	memcpy(fx->st_space, fpu->fpr, 128);
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fx->xmm_space));
}

/* The UABI area's software-reserved bytes name the state it can hold. */
#define XSAVE_SW_RESERVED_OFFSET 464

/*
 * kvm_vcpu_ioctl_x86_get_xsave2() - the standard-format XSAVE image of the
 * guest FPU (the kernel's copy_xstate_to_uabi_buf()).  A component whose
 * XSTATE_BV bit is clear is reported in its initial configuration.
 */
static void kvm_vcpu_ioctl_x86_get_xsave2(struct kvm_vcpu *vcpu, u8 *buf, size_t size)
{
	const struct xregs_state *x = &vcpu->arch.guest_fpu;
	u64 xfeatures = x->header.xfeatures &
			(vcpu->arch.guest_supported_xcr0 | XFEATURE_MASK_FPSSE) &
			kvm_supported_xcr0();
	struct fxregs_state fx = { .cwd = 0x37f, .mxcsr = 0x1f80,
				   .mxcsr_mask = kvm_mxcsr_feature_mask() };
	struct xstate_header hdr = { .xfeatures = xfeatures };

	memset(buf, 0, size);
	if (xfeatures & XFEATURE_MASK_FP) {
		memcpy(&fx, &x->i387, offsetof(struct fxregs_state, mxcsr));
		memcpy(fx.st_space, x->i387.st_space, sizeof(fx.st_space));
	}
	if (xfeatures & (XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)) {
		fx.mxcsr = x->i387.mxcsr;
		fx.mxcsr_mask = x->i387.mxcsr_mask;
	}
	if (xfeatures & XFEATURE_MASK_SSE)
		memcpy(fx.xmm_space, x->i387.xmm_space, sizeof(fx.xmm_space));
	memset(fx.padding, 0, sizeof(fx.padding));
	memset(fx.sw_reserved, 0, sizeof(fx.sw_reserved));
	memcpy(buf, &fx, sizeof(fx));
	{
		u64 user_xfeatures = kvm_supported_xcr0();

		memcpy(buf + XSAVE_SW_RESERVED_OFFSET, &user_xfeatures, sizeof(user_xfeatures));
	}
	memcpy(buf + 512, &hdr, sizeof(hdr));
	if (xfeatures & XFEATURE_MASK_YMM)
		memcpy(buf + XSAVE_YMM_OFFSET, x->ymmh, XSAVE_YMM_SIZE);
}

/*
 * kvm_vcpu_ioctl_x86_set_xsave() - load a standard-format XSAVE image
 * (fpu_copy_uabi_to_guest_fpstate()).
 *
 * Return: -EINVAL for components the processor cannot hold, a compacted
 * image, non-zero header reserved bytes or reserved MXCSR bits.
 */
static int kvm_vcpu_ioctl_x86_set_xsave(struct kvm_vcpu *vcpu, const u8 *buf)
{
	struct xregs_state *x = &vcpu->arch.guest_fpu;
	struct xstate_header hdr;

	memcpy(&hdr, buf + 512, sizeof(hdr));
	if (hdr.xfeatures & ~kvm_supported_xcr0())
		return -EINVAL;
	if (hdr.xcomp_bv)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(hdr.reserved); i++)
		if (hdr.reserved[i])
			return -EINVAL;
	if (hdr.xfeatures & (XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)) {
		u32 mxcsr[2];

		memcpy(mxcsr, buf + offsetof(struct fxregs_state, mxcsr), sizeof(mxcsr));
		if (mxcsr[0] & ~kvm_mxcsr_feature_mask())
			return -EINVAL;
		/* SSE and YMM need MXCSR even when FP is not in use */
		if (!(hdr.xfeatures & XFEATURE_MASK_FP)) {
			x->i387.mxcsr = mxcsr[0];
			x->i387.mxcsr_mask = mxcsr[1];
		}
	}
	/* the x87 component is bytes 0-159 of the legacy region, SSE 160-415 */
	if (hdr.xfeatures & XFEATURE_MASK_FP)
		memcpy(&x->i387, buf, 160);
	if (hdr.xfeatures & XFEATURE_MASK_SSE)
		memcpy(x->i387.xmm_space, buf + 160, sizeof(x->i387.xmm_space));
	if (hdr.xfeatures & XFEATURE_MASK_YMM)
		memcpy(x->ymmh, buf + XSAVE_YMM_OFFSET, XSAVE_YMM_SIZE);
	x->header.xfeatures = hdr.xfeatures;
	return 0;
}

static void kvm_vcpu_ioctl_x86_get_xcrs(struct kvm_vcpu *vcpu, struct kvm_xcrs *guest_xcrs)
{
	memset(guest_xcrs, 0, sizeof(*guest_xcrs));
	guest_xcrs->nr_xcrs = 1;
	guest_xcrs->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	guest_xcrs->xcrs[0].value = vcpu->arch.xcr0;
}

/* Only XCR0 exists; entries for other XCRs are ignored. */
static int kvm_vcpu_ioctl_x86_set_xcrs(struct kvm_vcpu *vcpu, struct kvm_xcrs *guest_xcrs)
{
	int r = 0;

	if (guest_xcrs->nr_xcrs > KVM_MAX_XCRS || guest_xcrs->flags)
		return -EINVAL;
	for (u32 i = 0; i < guest_xcrs->nr_xcrs; i++) {
		if (guest_xcrs->xcrs[i].xcr == XCR_XFEATURE_ENABLED_MASK) {
			r = __kvm_set_xcr(vcpu, XCR_XFEATURE_ENABLED_MASK, guest_xcrs->xcrs[i].value);
			break;
		}
	}
	return r ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* Debug registers, events, MP state                                   */
/* ------------------------------------------------------------------ */

static void kvm_vcpu_ioctl_x86_get_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->arch.db, sizeof(d->db));
	d->dr6 = vcpu->arch.dr6;
	d->dr7 = vcpu->arch.dr7;
}

/* DR6 and DR7 are 32-bit registers: bits 63:32 must be 0 (SDM 17.2). */
static int kvm_vcpu_ioctl_x86_set_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	if (d->flags)
		return -EINVAL;
	if (d->dr6 >> 32)
		return -EINVAL;
	if (d->dr7 >> 32)
		return -EINVAL;
	memcpy(vcpu->arch.db, d->db, sizeof(d->db));
	vcpu->arch.dr6 = d->dr6;
	vcpu->arch.dr7 = d->dr7;
	return 0;
}

static bool vmx_get_nmi_mask(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.interruptibility & GUEST_INTR_STATE_NMI;
}

/*
 * process_nmi(): at most one NMI can be pending, two while NMIs are not
 * blocked (one is injected at once, the other waits for the NMI window).
 */
static void process_nmi(struct kvm_vcpu *vcpu)
{
	unsigned int limit = (vmx_get_nmi_mask(vcpu) || vcpu->arch.nmi_injected) ? 1 : 2;

	/* nmi_queued is KVM's atomic_t: NMI IPIs add to it from other threads. */
	vcpu->arch.nmi_pending += __atomic_exchange_n(&vcpu->arch.nmi_queued, 0, __ATOMIC_ACQ_REL);
	vcpu->arch.nmi_pending = MIN(vcpu->arch.nmi_pending, limit);
}

static bool kvm_exception_is_soft(unsigned int nr)
{
	return nr == 3 /* #BP */ || nr == 4 /* #OF */;
}

static void kvm_vcpu_ioctl_x86_get_vcpu_events(struct kvm_vcpu *vcpu,
					       struct kvm_vcpu_events *events)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	u32 intr = vcpu->arch.interruptibility;

	process_nmi(vcpu);
	memset(events, 0, sizeof(*events));
	/*
	 * Soft exceptions are not reported: the API has no instruction
	 * length, and re-executing the instruction raises them again.
	 * Without KVM_CAP_EXCEPTION_PAYLOAD, pending and injected are one.
	 */
	if (!kvm_exception_is_soft(ex->vector)) {
		events->exception.injected = ex->injected | ex->pending;
		events->exception.pending = ex->pending;
	}
	events->exception.nr = ex->vector;
	events->exception.has_error_code = ex->has_error_code;
	events->exception.error_code = ex->error_code;
	events->exception_has_payload = ex->has_payload;
	events->exception_payload = ex->payload;

	events->interrupt.injected = vcpu->arch.interrupt.injected && !vcpu->arch.interrupt.soft;
	events->interrupt.nr = vcpu->arch.interrupt.nr;
	events->interrupt.shadow = ((intr & GUEST_INTR_STATE_STI) ? KVM_X86_SHADOW_INT_STI : 0) |
				   ((intr & GUEST_INTR_STATE_MOV_SS) ? KVM_X86_SHADOW_INT_MOV_SS : 0);

	events->nmi.injected = vcpu->arch.nmi_injected;
	events->nmi.pending = vcpu->arch.nmi_pending;
	events->nmi.masked = vmx_get_nmi_mask(vcpu);
	/* sipi_vector is never valid when reporting; no SMM, no local APIC */
	events->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
			KVM_VCPUEVENT_VALID_SMM;
}

/*
 * kvm_vcpu_ioctl_x86_set_vcpu_events() - the checks and their order are
 * KVM's; note that, as in KVM, a failing SMM or triple-fault check comes
 * after the exception, interrupt and NMI state were already taken.
 */
static int kvm_vcpu_ioctl_x86_set_vcpu_events(struct kvm_vcpu *vcpu,
					      struct kvm_vcpu_events *events)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	if (events->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			      KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |
			      KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;

	/* KVM_CAP_EXCEPTION_PAYLOAD cannot be enabled (yet) */
	if (events->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
		return -EINVAL;
	events->exception.pending = 0;
	events->exception_has_payload = 0;

	if ((events->exception.injected || events->exception.pending) &&
	    (events->exception.nr > 31 || events->exception.nr == 2 /* NMI */))
		return -EINVAL;

	process_nmi(vcpu);

	a->exception.injected = events->exception.injected;
	a->exception.pending = events->exception.pending;
	a->exception.vector = events->exception.nr;
	a->exception.has_error_code = events->exception.has_error_code;
	a->exception.error_code = events->exception.error_code;
	a->exception.has_payload = events->exception_has_payload;
	a->exception.payload = events->exception_payload;

	a->interrupt.injected = events->interrupt.injected;
	a->interrupt.nr = events->interrupt.nr;
	a->interrupt.soft = events->interrupt.soft;
	if (events->flags & KVM_VCPUEVENT_VALID_SHADOW) {
		/* vmx_set_interrupt_shadow(): MOV SS wins over STI */
		a->interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
		if (events->interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)
			a->interruptibility |= GUEST_INTR_STATE_MOV_SS;
		else if (events->interrupt.shadow & KVM_X86_SHADOW_INT_STI)
			a->interruptibility |= GUEST_INTR_STATE_STI;
	}

	a->nmi_injected = events->nmi.injected;
	if (events->flags & KVM_VCPUEVENT_VALID_NMI_PENDING) {
		a->nmi_pending = 0;
		__atomic_store_n(&a->nmi_queued, events->nmi.pending, __ATOMIC_RELEASE);
	}
	if (events->nmi.masked)
		a->interruptibility |= GUEST_INTR_STATE_NMI;
	else
		a->interruptibility &= ~GUEST_INTR_STATE_NMI;

	/* KVM_VCPUEVENT_VALID_SIPI_VECTOR needs a local APIC: ignored */

	if (events->flags & KVM_VCPUEVENT_VALID_SMM) {
		/* no SMM (KVM built without CONFIG_KVM_SMM) */
		if (events->smi.smm || events->smi.pending || events->smi.smm_inside_nmi)
			return -EINVAL;
	}
	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT cannot be enabled (yet) */
	if (events->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		return -EINVAL;
	return 0;
}

/*
 * kvm_apic_accept_events(): a latched INIT resets the vCPU (an AP then waits
 * for SIPI), a SIPI starts a waiting AP at vector << 12 in real mode.
 */
static void __kvm_apic_accept_events(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu->arch.apic;
	unsigned long pe;
	/* Other vCPUs' ICR writes set the bits: take them atomically. */
	pe = __atomic_fetch_and(&apic->pending_events, ~(1ul << KVM_APIC_INIT), __ATOMIC_ACQ_REL);
	if (pe & (1ul << KVM_APIC_INIT)) {
		kvm_x86_call(cache_guest_state)(vcpu);
		/* Note, a SIPI latched with the INIT is taken below, as in KVM. */
		kvm_vcpu_reset(vcpu, true);
		vcpu->arch.mp_state = kvm_vcpu_is_reset_bsp(vcpu) ? KVM_MP_STATE_RUNNABLE :
								    KVM_MP_STATE_INIT_RECEIVED;
	}
	pe = __atomic_fetch_and(&apic->pending_events, ~(1ul << KVM_APIC_SIPI), __ATOMIC_ACQ_REL);
	if (pe & (1ul << KVM_APIC_SIPI)) {
		if (vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED) {
			struct kvm_seg_state *cs = &vcpu->arch.seg[VCPU_SREG_CS];
			u32 vector = __atomic_load_n(&apic->sipi_vector, __ATOMIC_ACQUIRE);

			/* kvm_vcpu_deliver_sipi_vector() */
			kvm_x86_call(cache_guest_state)(vcpu);
			cs->selector = vector << 8;
			cs->base = (u64)vector << 12;
			vcpu->arch.regs[VCPU_REGS_RIP] = 0;
			vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
		}
	}
}

/* INIT/SIPI from other vCPUs' ICR writes (a load when there are none). */
static __always_inline void kvm_apic_accept_events(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu->arch.apic;

	if (apic && __atomic_load_n(&apic->pending_events, __ATOMIC_ACQUIRE))
		__kvm_apic_accept_events(vcpu);
}

static int kvm_arch_vcpu_ioctl_set_mpstate(struct kvm_vcpu *vcpu, struct kvm_mp_state *mp_state)
{
	switch (mp_state->mp_state) {
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_AP_RESET_HOLD:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_SIPI_RECEIVED:
		/* these need an in-kernel local APIC */
		if (!vcpu->arch.apic)
			return -EINVAL;
		break;
	case KVM_MP_STATE_RUNNABLE:
		break;
	default:
		return -EINVAL;
	}
	/* A SIPI is delivered when the state is next read or the vCPU runs. */
	if (mp_state->mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
		vcpu->arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		vcpu->arch.apic->pending_events |= 1ul << KVM_APIC_SIPI;
	} else {
		vcpu->arch.mp_state = mp_state->mp_state;
	}
	return 0;
}

/*
 * KVM_INTERRUPT without an in-kernel irqchip: the VMM's interrupt
 * controller hands the vector over, and it is injected at the next VM
 * entry (kvm_queue_interrupt).
 */
static int kvm_vcpu_ioctl_interrupt(struct kvm_vcpu *vcpu, struct kvm_interrupt *irq)
{
	if (irq->irq >= KVM_NR_INTERRUPTS)
		return -EINVAL;
	vcpu->arch.interrupt.injected = true;
	vcpu->arch.interrupt.soft = false;
	vcpu->arch.interrupt.nr = irq->irq;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The vCPU ioctls                                                     */
/* ------------------------------------------------------------------ */

/*
 * Note, KVM_GET/SET_REGS, _SREGS, _FPU, _MP_STATE and KVM_SET_SIGNAL_MASK
 * are dispatched by virt/kvm/kvm_main.c:kvm_vcpu_ioctl() in KVM, which then
 * calls the kvm_arch_vcpu_ioctl_*() hooks.  Here the user copies are done
 * the same way (kernel buffers zeroed, -EFAULT on bad pointers), but in
 * this file, so that src/kvm/kvm_main.c stays architecture-neutral.
 */
static void kvm_arch_vcpu_ioctl_translate(struct kvm_vcpu *vcpu, struct kvm_translation *tr);

long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_sregs2 sregs2;
		struct kvm_fpu fpu;
		struct kvm_xsave xsave;
		struct kvm_xcrs xcrs;
		struct kvm_debugregs dbgregs;
		struct kvm_vcpu_events events;
		struct kvm_mp_state mp_state;
		struct kvm_cpuid2 cpuid2;
		struct kvm_cpuid cpuid;
		struct kvm_signal_mask sigmask;
		struct kvm_guest_debug dbg;
	} *u;
	long r = -EINVAL;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* The state is read and written in vcpu->arch: bring it out of the VMCS. */
	kvm_arch_vcpu_load(vcpu);
	vcpu_mode_outside(vcpu);
	vcpu->arch.resume_plain = false;	/* any ioctl may change what it vouches for */
	kvm_cui_save_linear_rip(vcpu);
	kvm_x86_call(cache_guest_state)(vcpu);

	switch (ioctl) {
	case KVM_GET_REGS:
		kvm_arch_vcpu_ioctl_get_regs(vcpu, &u->regs);
		r = copy_to_user(argp, &u->regs, sizeof(u->regs));
		break;
	case KVM_SET_REGS:
		r = copy_from_user(&u->regs, argp, sizeof(u->regs));
		if (!r)
			kvm_arch_vcpu_ioctl_set_regs(vcpu, &u->regs);
		break;
	case KVM_GET_SREGS:
		__get_sregs(vcpu, &u->sregs);
		r = copy_to_user(argp, &u->sregs, sizeof(u->sregs));
		break;
	case KVM_SET_SREGS:
		r = copy_from_user(&u->sregs, argp, sizeof(u->sregs));
		if (!r)
			r = __set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_SREGS2:
		__get_sregs2(vcpu, &u->sregs2);
		r = copy_to_user(argp, &u->sregs2, sizeof(u->sregs2));
		break;
	case KVM_SET_SREGS2:
		r = copy_from_user(&u->sregs2, argp, sizeof(u->sregs2));
		if (!r)
			r = __set_sregs2(vcpu, &u->sregs2);
		break;
	case KVM_GET_FPU:
		kvm_arch_vcpu_ioctl_get_fpu(vcpu, &u->fpu);
		r = copy_to_user(argp, &u->fpu, sizeof(u->fpu));
		break;
	case KVM_SET_FPU:
		r = copy_from_user(&u->fpu, argp, sizeof(u->fpu));
		if (!r)
			kvm_arch_vcpu_ioctl_set_fpu(vcpu, &u->fpu);
		break;
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
		/* the UABI size (KVM_CAP_XSAVE2) is sizeof(struct kvm_xsave) */
		kvm_vcpu_ioctl_x86_get_xsave2(vcpu, (u8 *)u->xsave.region, sizeof(u->xsave));
		r = copy_to_user(argp, &u->xsave, sizeof(u->xsave));
		break;
	case KVM_SET_XSAVE:
		r = copy_from_user(&u->xsave, argp, sizeof(u->xsave));
		if (!r)
			r = kvm_vcpu_ioctl_x86_set_xsave(vcpu, (u8 *)u->xsave.region);
		break;
	case KVM_GET_XCRS:
		kvm_vcpu_ioctl_x86_get_xcrs(vcpu, &u->xcrs);
		r = copy_to_user(argp, &u->xcrs, sizeof(u->xcrs));
		break;
	case KVM_SET_XCRS:
		r = copy_from_user(&u->xcrs, argp, sizeof(u->xcrs));
		if (!r)
			r = kvm_vcpu_ioctl_x86_set_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_GET_DEBUGREGS:
		kvm_vcpu_ioctl_x86_get_debugregs(vcpu, &u->dbgregs);
		r = copy_to_user(argp, &u->dbgregs, sizeof(u->dbgregs));
		break;
	case KVM_SET_DEBUGREGS:
		r = copy_from_user(&u->dbgregs, argp, sizeof(u->dbgregs));
		if (!r)
			r = kvm_vcpu_ioctl_x86_set_debugregs(vcpu, &u->dbgregs);
		break;
	case KVM_GET_VCPU_EVENTS:
		kvm_vcpu_ioctl_x86_get_vcpu_events(vcpu, &u->events);
		r = copy_to_user(argp, &u->events, sizeof(u->events));
		break;
	case KVM_SET_VCPU_EVENTS:
		r = copy_from_user(&u->events, argp, sizeof(u->events));
		if (!r)
			r = kvm_vcpu_ioctl_x86_set_vcpu_events(vcpu, &u->events);
		break;
	case KVM_GET_MP_STATE:
		kvm_apic_accept_events(vcpu);
		u->mp_state.mp_state = vcpu->arch.mp_state;
		r = copy_to_user(argp, &u->mp_state, sizeof(u->mp_state));
		break;
	case KVM_SET_MP_STATE:
		r = copy_from_user(&u->mp_state, argp, sizeof(u->mp_state));
		if (!r)
			r = kvm_arch_vcpu_ioctl_set_mpstate(vcpu, &u->mp_state);
		break;
	case KVM_SET_CPUID: {
		struct kvm_cpuid *cpuid_arg = argp;

		r = copy_from_user(&u->cpuid, cpuid_arg, sizeof(u->cpuid));
		if (!r)
			r = kvm_vcpu_ioctl_set_cpuid(vcpu, &u->cpuid, cpuid_arg->entries);
		break;
	}
	case KVM_SET_CPUID2: {
		struct kvm_cpuid2 *cpuid_arg = argp;

		r = copy_from_user(&u->cpuid2, cpuid_arg, sizeof(u->cpuid2));
		if (!r)
			r = kvm_vcpu_ioctl_set_cpuid2(vcpu, &u->cpuid2, cpuid_arg->entries);
		break;
	}
	case KVM_GET_CPUID2: {
		struct kvm_cpuid2 *cpuid_arg = argp;

		r = copy_from_user(&u->cpuid2, cpuid_arg, sizeof(u->cpuid2));
		if (r)
			break;
		r = kvm_vcpu_ioctl_get_cpuid2(vcpu, &u->cpuid2, cpuid_arg->entries);
		if (r)
			break;
		r = copy_to_user(cpuid_arg, &u->cpuid2, sizeof(u->cpuid2));
		break;
	}
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		r = kvm_vcpu_ioctl_msrs(vcpu, ioctl, argp);
		break;
	case KVM_SET_SIGNAL_MASK: {
		struct kvm_signal_mask *sigmask_arg = argp;
		u64 sigset;

		if (!argp) {
			vcpu->arch.sigset_active = false;
			r = 0;
			break;
		}
		r = copy_from_user(&u->sigmask, argp, sizeof(u->sigmask));
		if (r)
			break;
		/* the kernel's sigset_t: 64 signals */
		r = -EINVAL;
		if (u->sigmask.len != sizeof(sigset))
			break;
		r = copy_from_user(&sigset, sigmask_arg->sigset, sizeof(sigset));
		if (r)
			break;
		vcpu->arch.sigset = sigset;
		vcpu->arch.sigset_active = true;
		break;
	}
	case KVM_SET_TSC_KHZ: {
		u32 user_tsc_khz = (u32)arg;

		r = -EINVAL;
		if (user_tsc_khz >= KVM_MAX_GUEST_TSC_KHZ)
			break;
		if (user_tsc_khz == 0)
			user_tsc_khz = KVM_DEFAULT_TSC_KHZ;
		kvm_set_tsc_khz(vcpu, user_tsc_khz);
		r = 0;
		break;
	}
	case KVM_GET_TSC_KHZ:
		r = vcpu->arch.tsc_khz;
		break;
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR: {
		struct kvm_device_attr attr;

		r = copy_from_user(&attr, argp, sizeof(attr));
		if (!r)
			r = kvm_vcpu_ioctl_device_attr(vcpu, ioctl, &attr);
		break;
	}
	case KVM_INTERRUPT: {
		struct kvm_interrupt irq;

		r = copy_from_user(&irq, argp, sizeof(irq));
		if (!r)
			r = kvm_vcpu_ioctl_interrupt(vcpu, &irq);
		break;
	}
	case KVM_SET_GUEST_DEBUG:
		r = copy_from_user(&u->dbg, argp, sizeof(u->dbg));
		if (!r)
			r = kvm_arch_vcpu_ioctl_set_guest_debug(vcpu, &u->dbg);
		break;
	case KVM_NMI:
		kvm_inject_nmi(vcpu);
		r = 0;
		break;
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		r = kvm_arch_irqchip_vcpu_ioctl(vcpu, ioctl, arg);
		break;
	case KVM_TRANSLATE: {
		struct kvm_translation tr;

		r = copy_from_user(&tr, argp, sizeof(tr));
		if (r)
			break;
		kvm_arch_vcpu_ioctl_translate(vcpu, &tr);
		r = copy_to_user(argp, &tr, sizeof(tr));
		break;
	}
	default:
		r = -EINVAL;
	}
	free(u);
	kvm_arch_vcpu_put(vcpu);
	return r;
}



/* ------------------------------------------------------------------ */
/* The run loop: KVM_RUN, vcpu_run, vcpu_enter_guest                   */
/* ------------------------------------------------------------------ */

struct kvm_x86_ops kvm_x86_ops;
static pthread_once_t vendor_once = PTHREAD_ONCE_INIT;
static int vendor_init_result;

/*
 * kvm_ops_update(): take the vendor's table and check that every mandatory
 * op is there (KVM WARNs and refuses to load otherwise).
 */
static void kvm_ops_update(void)
{
	kvm_x86_ops = vt_x86_ops;
#define KVM_X86_OP(func) if (!kvm_x86_ops.func) { vendor_init_result = -EIO; return; }
#define KVM_X86_OP_OPTIONAL(func)
#include "x86/kvm-x86-ops.h"
	vendor_init_result = kvm_x86_call(hardware_setup)();
}

int kvm_x86_vendor_init(void)
{
	pthread_once(&vendor_once, kvm_ops_update);
	return vendor_init_result;
}

void kvm_inject_nmi(struct kvm_vcpu *vcpu)
{
	__atomic_fetch_add(&vcpu->arch.nmi_queued, 1, __ATOMIC_ACQ_REL);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	kvm_vcpu_kick(vcpu);
}

/*
 * A vCPU ENTERING_GUEST_MODE may enter the guest without a full barrier
 * after its store of IN_GUEST_MODE (see vcpu_enter_guest_run()), so it is
 * kicked as one in the guest: a kick while it is in userspace is one
 * EXTERNAL_INTERRUPT exit at its next entry (the kick stays pending in the
 * processor, as an interrupt does in the local APIC while the host runs).
 */
void kvm_vcpu_kick(struct kvm_vcpu *vcpu)
{
	if (__atomic_load_n(&vcpu->arch.mode, __ATOMIC_SEQ_CST) != OUTSIDE_GUEST_MODE)
		kvm_x86_call(vcpu_kick)(vcpu);
	pthread_mutex_lock(&vcpu->arch.halt_lock);
	pthread_cond_broadcast(&vcpu->arch.halt_cond);
	pthread_mutex_unlock(&vcpu->arch.halt_lock);
}

/*
 * Whether @vcpu may be in the guest, or entering it past its last look at
 * the requests, now that a request has been made (a full barrier).  In
 * KVM, IN_GUEST_MODE: the entry stores it with a full barrier before that
 * look.  ENTERING_GUEST_MODE counts too while the vCPU's mutex is held:
 * such an entry stores IN_GUEST_MODE with no barrier (vcpu_enter_guest_run()),
 * but the KVM_RUN took the mutex (a locked instruction) after storing
 * ENTERING_GUEST_MODE, so a free mutex seen here means its look at the
 * requests comes after the request, and a held one that the vCPU may be
 * past it.  A KVM_RUN by the owner of the mutex's bias (kvm/mutex.h) takes
 * no locked instruction at all: its flag says whether it runs, seen after
 * kvm_heavy_barrier() (kvm_flush_remote_tlbs()).  A KVM_RUN or ioctl that
 * may block stores OUTSIDE_GUEST_MODE first (vcpu_mode_outside()), or
 * ENTERING_BLOCKABLE_MODE (kvm_host.h), so that a waiter here never waits
 * for a vCPU that waits for it.
 */
static bool kvm_vcpu_may_enter(struct kvm_vcpu *vcpu)
{
	int mode = __atomic_load_n(&vcpu->arch.mode, __ATOMIC_SEQ_CST);

	return mode == IN_GUEST_MODE ||
	       (mode == ENTERING_GUEST_MODE && kvm_mutex_may_run(vcpu->mutex));
}

/*
 * kvm_flush_remote_tlbs(): every vCPU flushes before it enters the guest
 * again, and one in the guest now is kicked out first; return only when
 * none can still use an old translation (KVM_REQUEST_WAIT).
 */
void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	int n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);
	bool heavy = false;

	for (int i = 0; i < n; i++) {
		kvm_make_request(KVM_REQ_TLB_FLUSH, kvm->vcpus[i]);
		heavy |= kvm_mutex_biased_ever_elsewhere(kvm->vcpus[i]->mutex);
	}
	/*
	 * A vCPU biased to another thread enters with plain stores and loads:
	 * it sees the request, or we see it entering (kvm_vcpu_may_enter()).
	 * One biased later took a locked instruction after our request.  Ever
	 * biased, not biased now: a bias revoked meanwhile may still be in
	 * its section, entering from ENTERING_BLOCKABLE_MODE, not waited for.
	 */
	if (heavy)
		kvm_heavy_barrier();
	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		/*
		 * Until it left the guest or took the request: a vCPU that
		 * re-enters at once has flushed first (vcpu_enter_guest()), so
		 * waiting for OUTSIDE_GUEST_MODE alone could spin for long.
		 */
		while (kvm_vcpu_may_enter(vcpu) &&
		       (__atomic_load_n(&vcpu->requests, __ATOMIC_SEQ_CST) & (1ull << KVM_REQ_TLB_FLUSH))) {
			kvm_x86_call(vcpu_kick)(vcpu);
			sched_yield();
		}
	}
}

/* The host tick's arch side (kvm_main.c): kick each vCPU in guest mode. */
int kvm_arch_host_tick(struct kvm *kvm)
{
	int n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE), kicked = 0;

	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		if (__atomic_load_n(&vcpu->arch.mode, __ATOMIC_ACQUIRE) == IN_GUEST_MODE) {
			kvm_x86_call(vcpu_kick)(vcpu);
			kicked++;
		}
	}
	return kicked;
}

/* The MMU notifier's arch side (kvm_main.c): drop, flush, hold off faults. */
void kvm_arch_mmu_unmap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end)
{
	if (kvm_tdp_mmu_zap_leafs(&kvm->arch.tdp_mmu, start, end))
		kvm_flush_remote_tlbs(kvm);
}

void kvm_arch_mmu_invalidate_begin(struct kvm *kvm)
{
	struct kvm_tdp_mmu *mmu = &kvm->arch.tdp_mmu;

	pthread_mutex_lock(&mmu->mmu_lock);
	__atomic_fetch_add(&mmu->invalidate_in_progress, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&mmu->mmu_lock);
}

void kvm_arch_mmu_invalidate_end(struct kvm *kvm)
{
	struct kvm_tdp_mmu *mmu = &kvm->arch.tdp_mmu;

	pthread_mutex_lock(&mmu->mmu_lock);
	__atomic_fetch_add(&mmu->invalidate_seq, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&mmu->invalidate_in_progress, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&mmu->mmu_lock);
}

void kvm_arch_commit_memory_region(struct kvm *kvm, const struct kvm_memory_slot *old,
				   const struct kvm_memory_slot *new)
{
	if (kvm_mmu_slot_changed(&kvm->arch.tdp_mmu, old, new))
		kvm_flush_remote_tlbs(kvm);
}

void kvm_queue_exception(struct kvm_vcpu *vcpu, u8 vector, bool has_error, u32 error_code)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;

	/* FIXME: contributory/benign folding into #DF (kvm_multiple_exception()). */
	ex->pending = true;
	ex->vector = vector;
	ex->has_error_code = has_error;
	ex->error_code = error_code;
	/*
	 * As kvm_multiple_exception(): the event must be injected before the
	 * guest runs again, which a fastpath re-entry (kvm_vcpu_exit_request())
	 * would skip without the request.  The next KVM_RUN injects it before
	 * it enters, as KVM's: not a plain resume (an entry left at once,
	 * then the injection, would be an exit more than KVM's).
	 */
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	vcpu->arch.resume_plain = false;
}

/*
 * kvm_vcpu_do_singlestep(): an instruction KVM emulated retired with TF
 * set, so no processor trap follows it: under KVM_GUESTDBG_SINGLESTEP
 * userspace gets the KVM_EXIT_DEBUG, else the guest its #DB (DR6.BS).
 */
static int kvm_vcpu_do_singlestep(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP) {
		run->debug.arch.dr6 = DR6_BS | DR6_ACTIVE_LOW;
		run->debug.arch.pc = kvm_get_linear_rip(vcpu);
		run->debug.arch.exception = 1;
		run->exit_reason = KVM_EXIT_DEBUG;
		return 0;
	}
	kvm_x86_call(cache_guest_state)(vcpu);
	vcpu->arch.dr6 |= DR6_BS;
	kvm_queue_exception(vcpu, 1, false, 0);
	return 1;
}

static __attribute__((noinline)) int kvm_skip_emulated_instruction_step(struct kvm_vcpu *vcpu)
{
	if (unlikely(!kvm_x86_call(skip_emulated_instruction)(vcpu)))
		return 0;
	return kvm_vcpu_do_singlestep(vcpu);
}

static __always_inline int __kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu)
{
	/* Neither TF (before the skip) nor userspace stepping: a tail call. */
	if (likely(!(vcpu->arch.rflags & X86_EFLAGS_TF) &&
		   !(vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP)))
		return kvm_x86_call(skip_emulated_instruction)(vcpu);
	return kvm_skip_emulated_instruction_step(vcpu);
}

int kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu)
{
	return __kvm_skip_emulated_instruction(vcpu);
}

/*
 * kvm_arch_vcpu_ioctl_set_guest_debug(): KVM_GUESTDBG_ENABLE with
 * USE_SW_BP intercepts #BP (int3 exits with KVM_EXIT_DEBUG); INJECT_BP
 * queues a #BP for the guest (reinjecting one userspace saw), INJECT_DB a
 * #DB (no payload: DR6 stays as it is).  SINGLESTEP sets RFLAGS.TF in the
 * guest (hidden from KVM_GET_REGS) and intercepts #DB; USE_HW_BP runs the
 * guest with userspace's DR0-3/DR7 and intercepts #DB.  Return: 0, -EBUSY
 * if an exception is already pending, -EINVAL for unknown flags.
 */
int kvm_arch_vcpu_ioctl_set_guest_debug(struct kvm_vcpu *vcpu, struct kvm_guest_debug *dbg)
{
	if (dbg->control & ~KVM_GUESTDBG_VALID_MASK)
		return -EINVAL;
	/* One exception at a time; with both, the #DB (KVM's order). */
	if (dbg->control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (vcpu->arch.exception.pending || vcpu->arch.exception.injected)
			return -EBUSY;
		if (dbg->control & KVM_GUESTDBG_INJECT_DB)
			kvm_queue_exception(vcpu, DB_VECTOR, false, 0);
		else
			kvm_queue_exception(vcpu, 3 /* BP_VECTOR */, false, 0);
	}
	vcpu->arch.guest_debug = dbg->control;
	if (!(vcpu->arch.guest_debug & KVM_GUESTDBG_ENABLE))
		vcpu->arch.guest_debug = 0;
	/* Hardware breakpoints: userspace's DR0-3/DR7 are the processor's while the guest runs. */
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP) {
		for (int i = 0; i < 4; i++)
			vcpu->arch.eff_db[i] = dbg->arch.debugreg[i];
		vcpu->arch.guest_debug_dr7 = dbg->arch.debugreg[7];
	}
	kvm_x86_call(update_exception_bitmap)(vcpu);
	return 0;
}

int kvm_handle_unexpected_exit(struct kvm_vcpu *vcpu, u32 exit_reason)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = exit_reason;
	run->internal.data[1] = vcpu->arch.last_vmentry_cpu;
	return 0;
}

/*
 * get_out_of_range_cpuid_entry(): a leaf the guest's CPUID does not have.
 * Within its class's range (basic, hypervisor 0x4000xx00, extended,
 * Centaur 0xc0000000) it reads as 0; past it, Intel processors answer
 * with the last basic leaf (the index asked for still counts), AMD ones
 * with 0.  Return: the entry to use, with *@fn the leaf it is, or NULL.
 */
static struct kvm_cpuid_entry2 *get_out_of_range_cpuid_entry(struct kvm_vcpu *vcpu, u32 *fn,
							     u32 index)
{
	struct kvm_cpuid_entry2 *basic = kvm_find_cpuid_entry(vcpu, 0), *class;
	u32 function = *fn;

	if (!basic || vcpu->arch.is_amd_compatible)
		return NULL;
	if (function >= 0x40000000 && function <= 0x4fffffff)
		class = kvm_find_cpuid_entry(vcpu, function & 0xffffff00);
	else if (function >= 0xc0000000)
		class = kvm_find_cpuid_entry(vcpu, 0xc0000000);
	else
		class = kvm_find_cpuid_entry(vcpu, function & 0x80000000);
	if (class && function <= class->eax)
		return NULL;
	*fn = basic->eax;
	return kvm_find_cpuid_entry_index(vcpu, basic->eax, index);
}

/*
 * The entry for @function/@index, remembered from the last CPUID exit: a
 * guest asks for the same leaf over and over (a loop of CPUID, or CPUID(1)
 * of every serializing sequence).  The entries are changed in place
 * (kvm_update_cpuid_runtime()), so the pointer stays right until the table
 * is replaced (kvm_set_cpuid() forgets it then).
 */
static struct kvm_cpuid_entry2 *kvm_cpuid_lookup(struct kvm_vcpu *vcpu, u32 function, u32 index)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	struct kvm_cpuid_entry2 *e = a->cpuid_last;

	if (likely(e && a->cpuid_last_function == function && a->cpuid_last_index == index))
		return e;
	e = kvm_find_cpuid_entry_index(vcpu, function, index);
	if (e) {
		a->cpuid_last = e;
		a->cpuid_last_function = function;
		a->cpuid_last_index = index;
	}
	return e;
}

/* kvm_cpuid(): the guest's CPUID as KVM_SET_CPUID2 set it (KVM's kvm_cpuid()). */
static void kvm_cpuid(struct kvm_vcpu *vcpu, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx)
{
	u32 function = *eax, index = *ecx;
	struct kvm_cpuid_entry2 *e = kvm_cpuid_lookup(vcpu, function, index);

	if (!e)
		e = get_out_of_range_cpuid_entry(vcpu, &function, index);
	if (e) {
		*eax = e->eax;
		*ebx = e->ebx;
		*ecx = e->ecx;
		*edx = e->edx;
	} else {
		*eax = *ebx = *ecx = *edx = 0;
		/*
		 * Leaves 0xb and 0x1f: an undefined subleaf still echoes the
		 * index in ECX[7:0] and gives the x2APIC ID in EDX, if subleaf
		 * 1 exists.
		 */
		if (function == 0xb || function == 0x1f) {
			e = kvm_find_cpuid_entry_index(vcpu, function, 1);
			if (e) {
				*ecx = index & 0xff;
				*edx = e->edx;
			}
		}
	}
}

__attribute__((noinline)) int kvm_emulate_cpuid_slow(struct kvm_vcpu *vcpu)
{
	u64 *r = vcpu->arch.regs;
	u32 eax = r[VCPU_REGS_RAX], ebx, ecx = r[VCPU_REGS_RCX], edx;

	kvm_cpuid(vcpu, &eax, &ebx, &ecx, &edx);
	trace_kvm_cpuid((u32)r[VCPU_REGS_RAX], (u32)r[VCPU_REGS_RCX], eax, ebx, ecx, edx);
	r[VCPU_REGS_RAX] = eax;
	r[VCPU_REGS_RBX] = ebx;
	r[VCPU_REGS_RCX] = ecx;
	r[VCPU_REGS_RDX] = edx;
	return kvm_skip_emulated_instruction(vcpu);
}

/* The common case (kvm_cpuid_last()) is four GPRs and the skip, no frame. */
int kvm_emulate_cpuid(struct kvm_vcpu *vcpu)
{
	if (unlikely(!kvm_cpuid_last(vcpu)))
		return kvm_emulate_cpuid_slow(vcpu);
	return __kvm_skip_emulated_instruction(vcpu);
}

/*
 * handle_fastpath_cpuid(): CPUID reads the guest's CPUID table and writes
 * four GPRs, nothing that vcpu_enter_guest() must look at before the next
 * entry, so it retires and the guest is re-entered at once (KVM's
 * fastpath, as for the WRMSRs of handle_fastpath_set_msr_irqoff()), unless
 * its retirement raises a #DB or a KVM_EXIT_DEBUG (RFLAGS.TF,
 * KVM_GUESTDBG_SINGLESTEP): those take the slow path.
 */
enum exit_fastpath_completion handle_fastpath_cpuid(struct kvm_vcpu *vcpu)
{
	if ((vcpu->arch.rflags & X86_EFLAGS_TF) || (vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP))
		return EXIT_FASTPATH_NONE;
	/* Neither TF nor stepping (above): kvm_skip_emulated_instruction() is the vendor's skip. */
	if (likely(kvm_cpuid_last(vcpu)))
		kvm_x86_call(skip_emulated_instruction)(vcpu);
	else
		kvm_emulate_cpuid_slow(vcpu);
	vcpu->stat->fastpath_exits++;
	return EXIT_FASTPATH_REENTER_GUEST;
}

int kvm_emulate_halt(struct kvm_vcpu *vcpu)
{
	int ret = kvm_skip_emulated_instruction(vcpu);

	/* Without an in-kernel irqchip only userspace can wake the vCPU. */
	if (!vcpu->arch.apic) {
		vcpu->run->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	vcpu->arch.mp_state = KVM_MP_STATE_HALTED;
	return ret;
}

/*
 * The CPL as VMX KVM derives it (vmx_get_cpl()): 0 in real mode, 3 in
 * virtual-8086 mode, else SS.DPL.  Caller has the state in vcpu->arch.
 */
static int kvm_get_cpl(struct kvm_vcpu *vcpu)
{
	if (!(vcpu->arch.cr0 & X86_CR0_PE))
		return 0;
	if (vcpu->arch.rflags & X86_EFLAGS_VM)
		return 3;
	return (vcpu->arch.seg[VCPU_SREG_SS].ar >> 5) & 3;
}

/* 64-bit mode: IA-32e mode with a 64-bit code segment (CS.L). */
static bool is_64_bit_mode(struct kvm_vcpu *vcpu)
{
	return is_long_mode(vcpu) && (vcpu->arch.seg[VCPU_SREG_CS].ar & (1u << 13));
}

#define KVM_ENOSYS 1000
#define KVM_EPERM 1

int kvm_emulate_hypercall(struct kvm_vcpu *vcpu)
{
	kvm_x86_call(cache_guest_state)(vcpu);
	/* No hypercall is offered: -KVM_ENOSYS, or -KVM_EPERM from user mode. */
	if (kvm_get_cpl(vcpu) != 0)
		vcpu->arch.regs[VCPU_REGS_RAX] = (u64)-KVM_EPERM;
	else
		vcpu->arch.regs[VCPU_REGS_RAX] = (u64)-KVM_ENOSYS;
	return kvm_skip_emulated_instruction(vcpu);
}

/* ---- MSR filters and MSR exits to userspace (KVM_CAP_X86_USER_SPACE_MSR) ---- */

void kvm_free_msr_filter(struct kvm_x86_msr_filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->count; i++)
		free(f->ranges[i].bitmap);
	free(f);
}

static int kvm_add_msr_filter(struct kvm_x86_msr_filter *f, struct kvm_msr_filter_range *r)
{
	size_t size;
	unsigned long *bitmap;

	if (!r->nmsrs)
		return 0;
	if (r->flags & ~(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE) || !r->flags)
		return -EINVAL;
	size = (r->nmsrs + 63) / 64 * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = malloc(size);
	if (!bitmap)
		return -ENOMEM;
	if (copy_from_user(bitmap, r->bitmap, size)) {
		free(bitmap);
		return -EFAULT;
	}
	f->ranges[f->count++] = (struct msr_bitmap_range){
		.flags = r->flags, .nmsrs = r->nmsrs, .base = r->base, .bitmap = bitmap,
	};
	return 0;
}

/*
 * KVM_X86_SET_MSR_FILTER: the new filter replaces the old one for every
 * vCPU; readers hold kvm->srcu, so the old one is freed after a grace
 * period.  Return: 0, -EINVAL (bad flags, an empty deny-all filter, a bad
 * range), -EFAULT, -ENOMEM.
 */
int kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, struct kvm_msr_filter *filter)
{
	struct kvm_x86_msr_filter *new, *old;
	bool empty = true;
	int r;

	if (filter->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(filter->ranges); i++)
		empty &= !filter->ranges[i].nmsrs;
	if (empty && (filter->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -EINVAL;
	new = calloc(1, sizeof(*new));
	if (!new)
		return -ENOMEM;
	new->default_allow = !(filter->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (size_t i = 0; i < ARRAY_SIZE(filter->ranges); i++) {
		r = kvm_add_msr_filter(new, &filter->ranges[i]);
		if (r) {
			kvm_free_msr_filter(new);
			return r;
		}
	}
	pthread_mutex_lock(&kvm->lock);
	old = __atomic_exchange_n(&kvm->arch.msr_filter, new, __ATOMIC_ACQ_REL);
	kvm_synchronize_srcu(kvm);
	kvm_free_msr_filter(old);
	pthread_mutex_unlock(&kvm->lock);
	return 0;
}

/* kvm_msr_allowed(): what the filter says of a guest access (@type: KVM_MSR_FILTER_READ/WRITE). */
static bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_x86_msr_filter *f;
	bool allowed = true;
	int idx;

	/* x2APIC MSRs are not filtered. */
	if (index >= 0x800 && index <= 0x8ff)
		return true;
	idx = srcu_read_lock(&kvm->srcu);
	f = __atomic_load_n(&kvm->arch.msr_filter, __ATOMIC_ACQUIRE);
	if (f) {
		allowed = f->default_allow;
		for (int i = 0; i < f->count; i++) {
			const struct msr_bitmap_range *r = &f->ranges[i];

			if (index >= r->base && index - r->base < r->nmsrs && (r->flags & type)) {
				u32 bit = index - r->base;

				allowed = r->bitmap[bit / 64] >> (bit % 64) & 1;
				break;
			}
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return allowed;
}

static u64 kvm_msr_reason(int r)
{
	switch (r) {
	case KVM_MSR_RET_UNSUPPORTED:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case KVM_MSR_RET_FILTERED:
		return KVM_MSR_EXIT_REASON_FILTER;
	default:
		return KVM_MSR_EXIT_REASON_INVAL;
	}
}

/* The access failed (@r): hand it to userspace if it asked for this reason. */
static bool kvm_msr_user_space(struct kvm_vcpu *vcpu, u32 index, u32 exit_reason, u64 data,
			       int (*completion)(struct kvm_vcpu *vcpu), int r)
{
	u64 reason = kvm_msr_reason(r);
	struct kvm_run *run = vcpu->run;

	if (!(vcpu->kvm->arch.user_space_msr_mask & reason))
		return false;
	run->exit_reason = exit_reason;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->arch.complete_userspace_io = completion;
	return true;
}

/* The instruction retires, or #GP(0) if the access failed (kvm_complete_insn_gp()). */
static int kvm_complete_insn_gp(struct kvm_vcpu *vcpu, int err)
{
	if (err) {
		kvm_queue_exception(vcpu, 13, true, 0);
		return 1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

static int complete_fast_rdmsr(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!run->msr.error) {
		vcpu->arch.regs[VCPU_REGS_RAX] = (u32)run->msr.data;
		vcpu->arch.regs[VCPU_REGS_RDX] = run->msr.data >> 32;
	}
	return kvm_complete_insn_gp(vcpu, run->msr.error);
}

static int complete_fast_wrmsr(struct kvm_vcpu *vcpu)
{
	return kvm_complete_insn_gp(vcpu, vcpu->run->msr.error);
}

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu)
{
	u32 ecx = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 data = 0;
	int r;

	kvm_x86_call(cache_guest_state)(vcpu);
	r = kvm_msr_allowed(vcpu, ecx, KVM_MSR_FILTER_READ) ? kvm_get_msr(vcpu, ecx, &data)
							     : KVM_MSR_RET_FILTERED;
	if (r) {
		trace_kvm_msr(0, ecx, 0, 1);
		if (kvm_msr_user_space(vcpu, ecx, KVM_EXIT_X86_RDMSR, 0, complete_fast_rdmsr, r))
			return 0;
		return kvm_complete_insn_gp(vcpu, r);
	}
	trace_kvm_msr(0, ecx, data, 0);
	vcpu->arch.regs[VCPU_REGS_RAX] = (u32)data;
	vcpu->arch.regs[VCPU_REGS_RDX] = data >> 32;
	return kvm_skip_emulated_instruction(vcpu);
}

int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu)
{
	u32 ecx = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 data = (u32)vcpu->arch.regs[VCPU_REGS_RAX] | (vcpu->arch.regs[VCPU_REGS_RDX] << 32);
	int r;

	kvm_x86_call(cache_guest_state)(vcpu);
	r = kvm_msr_allowed(vcpu, ecx, KVM_MSR_FILTER_WRITE) ? kvm_set_msr(vcpu, ecx, data)
							      : KVM_MSR_RET_FILTERED;
	if (r) {
		trace_kvm_msr(1, ecx, data, 1);
		if (kvm_msr_user_space(vcpu, ecx, KVM_EXIT_X86_WRMSR, data, complete_fast_wrmsr, r))
			return 0;
		return kvm_complete_insn_gp(vcpu, r);
	}
	trace_kvm_msr(1, ecx, data, 0);
	return kvm_skip_emulated_instruction(vcpu);
}

/*
 * The fastpath of WRMSR (handle_fastpath_set_msr_irqoff()): the two MSRs a
 * guest writes at high rates, handled right after the VM exit, before
 * interrupts are enabled again in KVM, with nothing of the slow path's
 * state caching; the guest is re-entered without going back through
 * vcpu_enter_guest()'s request and event processing (unless
 * kvm_vcpu_exit_request() says something waits).  Results are those of
 * kvm_emulate_wrmsr(): the same LAPIC functions, the same filter and trace.
 */

/* x2APIC ICR: only the common IPI, fixed and physical to one vCPU, as KVM. */
static int handle_fastpath_set_x2apic_icr_irqoff(struct kvm_vcpu *vcpu, u64 data)
{
	if (!vcpu->arch.apic || !apic_x2apic_mode(vcpu->arch.apic))
		return 1;
	if ((data & APIC_SHORT_MASK) == APIC_DEST_NOSHORT && !(data & APIC_DEST_LOGICAL) &&
	    (data & APIC_MODE_MASK) == APIC_DM_FIXED && (u32)(data >> 32) != X2APIC_BROADCAST)
		return kvm_x2apic_msr_write(vcpu->arch.apic, APIC_BASE_MSR + (APIC_ICR >> 4), data);
	return 1;
}

/* IA32_TSC_DEADLINE with the in-kernel LAPIC (kvm_set_lapic_tscdeadline_msr()). */
static int handle_fastpath_set_tscdeadline(struct kvm_vcpu *vcpu, u64 data)
{
	if (!vcpu->arch.apic)
		return 1;
	kvm_set_lapic_tscdeadline_msr(vcpu->arch.apic, data);
	return 0;
}

enum exit_fastpath_completion handle_fastpath_set_msr_irqoff(struct kvm_vcpu *vcpu)
{
	u32 msr = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 data = (u32)vcpu->arch.regs[VCPU_REGS_RAX] | (vcpu->arch.regs[VCPU_REGS_RDX] << 32);
	bool handled;

	/* A filtered MSR takes the slow path, which applies the filter. */
	if (!kvm_msr_allowed(vcpu, msr, KVM_MSR_FILTER_WRITE))
		return EXIT_FASTPATH_NONE;
	switch (msr) {
	case APIC_BASE_MSR + (APIC_ICR >> 4):
		handled = !handle_fastpath_set_x2apic_icr_irqoff(vcpu, data);
		break;
	case MSR_IA32_TSC_DEADLINE:
		handled = !handle_fastpath_set_tscdeadline(vcpu, data);
		break;
	default:
		handled = false;
		break;
	}
	if (!handled)
		return EXIT_FASTPATH_NONE;
	trace_kvm_msr(1, msr, data, 0);
	vcpu->stat->fastpath_exits++;
	if (!kvm_skip_emulated_instruction(vcpu))
		return EXIT_FASTPATH_EXIT_USERSPACE;	/* KVM_GUESTDBG_SINGLESTEP */
	return EXIT_FASTPATH_REENTER_GUEST;
}

int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu)
{
	u32 index = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 v = (u32)vcpu->arch.regs[VCPU_REGS_RAX] | (vcpu->arch.regs[VCPU_REGS_RDX] << 32);

	kvm_x86_call(cache_guest_state)(vcpu);
	/* CPL > 0 or a bad value: #GP (kvm_emulate_xsetbv()). */
	if (kvm_get_cpl(vcpu) != 0 || __kvm_set_xcr(vcpu, index, v)) {
		kvm_queue_exception(vcpu, 13, true, 0);
		return 1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

/* ---- control and debug registers (handle_cr(), handle_dr()) ---- */

static int kvm_set_cr0(struct kvm_vcpu *vcpu, u64 cr0)
{
	u64 old = vcpu->arch.cr0;

	cr0 |= X86_CR0_ET;
	if (!kvm_is_valid_cr0(vcpu, cr0))
		return 1;
	if ((cr0 & X86_CR0_PG) && !(old & X86_CR0_PG) && (vcpu->arch.efer & EFER_LME)) {
		if (!(vcpu->arch.cr4 & X86_CR4_PAE))
			return 1;
		if (vcpu->arch.seg[VCPU_SREG_CS].ar & (1u << 13))	/* CS.L */
			return 1;
	}
	if (!(cr0 & X86_CR0_PG) && is_64_bit_mode(vcpu))
		return 1;
	if (!(cr0 & X86_CR0_PG) && (vcpu->arch.cr4 & X86_CR4_PCIDE))
		return 1;
	if (!(vcpu->arch.efer & EFER_LME) && (cr0 & X86_CR0_PG) &&
	    (vcpu->arch.cr4 & X86_CR4_PAE) && ((cr0 ^ old) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW)) &&
	    !load_pdptrs(vcpu, vcpu->arch.cr3))
		return 1;
	vmx_set_cr0(vcpu, cr0);
	if ((cr0 ^ old) & X86_CR0_PG)
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	return 0;
}

static int kvm_set_cr4(struct kvm_vcpu *vcpu, u64 cr4)
{
	u64 old = vcpu->arch.cr4;

	if (!kvm_is_valid_cr4(vcpu, cr4))
		return 1;
	if (is_long_mode(vcpu)) {
		if (!(cr4 & X86_CR4_PAE) || ((cr4 ^ old) & X86_CR4_LA57))
			return 1;
	} else if ((cr4 & X86_CR4_PAE) && (vcpu->arch.cr0 & X86_CR0_PG) &&
		   ((cr4 ^ old) & (X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE | X86_CR4_SMEP)) &&
		   !load_pdptrs(vcpu, vcpu->arch.cr3)) {
		return 1;
	}
	if ((cr4 & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    (!is_long_mode(vcpu) || (vcpu->arch.cr3 & 0xfff)))
		return 1;
	vcpu->arch.cr4 = cr4;
	if ((cr4 ^ old) & (X86_CR4_OSXSAVE | X86_CR4_PKE))
		kvm_update_cpuid_runtime(vcpu);
	kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	return 0;
}

static int kvm_set_cr3(struct kvm_vcpu *vcpu, u64 cr3)
{
	/* With PCIDE, bit 63 only says "do not flush" and is not kept. */
	if (vcpu->arch.cr4 & X86_CR4_PCIDE)
		cr3 &= ~(1ull << 63);
	if (is_long_mode(vcpu) && !kvm_vcpu_is_legal_cr3(vcpu, cr3))
		return 1;
	if (is_pae_paging(vcpu) && !load_pdptrs(vcpu, cr3))
		return 1;
	vcpu->arch.cr3 = cr3;
	kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	return 0;
}

static int kvm_set_cr8(struct kvm_vcpu *vcpu, u64 cr8)
{
	if (cr8 & ~0xfull)
		return 1;
	if (vcpu->arch.apic)
		kvm_lapic_reg_write(vcpu->arch.apic, APIC_TASKPRI, (u32)cr8 << 4);
	vcpu->arch.cr8 = cr8;
	return 0;
}

static u64 kvm_get_cr8(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.apic)
		return kvm_lapic_get_reg(vcpu->arch.apic, APIC_TASKPRI) >> 4;
	return vcpu->arch.cr8;
}

int kvm_handle_cr_access(struct kvm_vcpu *vcpu, u64 q)
{
	int cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15, err = 0;
	u64 *regs = vcpu->arch.regs, val;

	kvm_x86_call(cache_guest_state)(vcpu);
	switch (type) {
	case 0:		/* MOV to CR */
		val = regs[reg];
		if (!is_64_bit_mode(vcpu))
			val = (u32)val;
		switch (cr) {
		case 0: err = kvm_set_cr0(vcpu, val); break;
		case 3: err = kvm_set_cr3(vcpu, val); break;
		case 4: err = kvm_set_cr4(vcpu, val); break;
		case 8: err = kvm_set_cr8(vcpu, val); break;
		default: return kvm_handle_unexpected_exit(vcpu, 28 /* EXIT_REASON_CR_ACCESS */);
		}
		break;
	case 1:		/* MOV from CR */
		if (cr == 3)
			regs[reg] = vcpu->arch.cr3;
		else if (cr == 8)
			regs[reg] = kvm_get_cr8(vcpu);
		else
			return kvm_handle_unexpected_exit(vcpu, 28 /* EXIT_REASON_CR_ACCESS */);
		break;
	case 2:		/* CLTS */
		vmx_set_cr0(vcpu, vcpu->arch.cr0 & ~X86_CR0_TS);
		break;
	case 3:		/* LMSW: PE can be set but not cleared, and only MP/EM/TS besides */
		val = (q >> 16) & 0xffff;
		err = kvm_set_cr0(vcpu, (vcpu->arch.cr0 & ~0xeull) | (val & 0xf) |
					(vcpu->arch.cr0 & X86_CR0_PE));
		break;
	}
	if (err) {
		kvm_queue_exception(vcpu, 13, true, 0);
		return 1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

int kvm_handle_dr_access(struct kvm_vcpu *vcpu, u64 q)
{
	int dr = q & 7, from = !!(q & 16), reg = (q >> 8) & 15;
	u64 *regs = vcpu->arch.regs;

	kvm_x86_call(cache_guest_state)(vcpu);
	if (kvm_get_cpl(vcpu) != 0) {
		kvm_queue_exception(vcpu, 13, true, 0);
		return 1;
	}
	if (dr == 4 || dr == 5) {
		if (vcpu->arch.cr4 & X86_CR4_DE) {
			kvm_queue_exception(vcpu, 6, false, 0);
			return 1;
		}
		dr += 2;
	}
	if (from) {
		regs[reg] = dr < 4 ? vcpu->arch.db[dr] : dr == 6 ? vcpu->arch.dr6 : vcpu->arch.dr7;
	} else {
		u64 val = regs[reg];

		if (dr >= 6 && (val >> 32)) {
			kvm_queue_exception(vcpu, 13, true, 0);
			return 1;
		}
		if (dr < 4)
			vcpu->arch.db[dr] = val;
		else if (dr == 6)
			vcpu->arch.dr6 = (val & 0x0001e00full) | DR6_ACTIVE_LOW;
		else
			vcpu->arch.dr7 = (val & 0xffff2bffull) | DR7_FIXED_1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

/* ---- port I/O ---- */

/* The in-kernel devices on the PIO bus (kvm_io_bus): PICs, ELCR, PIT, speaker port. */
static bool __kernel_pio(struct kvm_vcpu *vcpu, u16 port, int size, bool write, u8 *data)
{
	struct kvm *kvm = vcpu->kvm;

	if (kvm->arch.vpic && kvm_pic_pio(kvm->arch.vpic, port, size, write, data) == 0)
		return true;
	if (kvm->arch.vpit && kvm_pit_pio(kvm->arch.vpit, port, size, write, data) == 0)
		return true;
	return write && kvm_ioeventfd_write(kvm, true, port, size, data);
}

static __always_inline bool kernel_pio(struct kvm_vcpu *vcpu, u16 port, int size, bool write,
				       u8 *data)
{
	if (likely(!kernel_pio_possible(vcpu->kvm, write)))
		return false;
	return __kernel_pio(vcpu, port, size, write, data);
}

static __always_inline void pio_set_rax(struct kvm_vcpu *vcpu, int size, const u8 *data)
{
	u64 *rax = &vcpu->arch.regs[VCPU_REGS_RAX];
	u32 v = 0;

	pio_copy((u8 *)&v, data, size);
	switch (size) {
	case 1: *rax = (*rax & ~0xffull) | v; break;
	case 2: *rax = (*rax & ~0xffffull) | v; break;
	default: *rax = v; break;	/* 32-bit results zero-extend */
	}
}

/* The linear address of RIP (kvm_get_linear_rip()): what completions compare. */
u64 kvm_get_linear_rip(struct kvm_vcpu *vcpu)
{
	return kvm_x86_call(get_segment_base)(vcpu, VCPU_SREG_CS) + vcpu->arch.regs[VCPU_REGS_RIP];
}

static bool kvm_is_linear_rip(struct kvm_vcpu *vcpu, u64 linear_rip)
{
	return kvm_get_linear_rip(vcpu) == linear_rip;
}

/*
 * KVM records the linear RIP of an instruction that waits for userspace
 * (cui_linear_rip) when it exits, to drop the completion if userspace
 * moved RIP meanwhile.  Only a vCPU ioctl can move it (KVM_SET_REGS,
 * KVM_SET_SREGS, sync_regs at KVM_RUN), and each calls this first: the
 * linear RIP is saved then, from the state the exit left, so an exit whose
 * completion no ioctl preceded reads no segment base at all.
 */
void kvm_cui_save_linear_rip(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.complete_userspace_io && !vcpu->arch.cui_linear_rip_saved) {
		vcpu->arch.cui_linear_rip = kvm_get_linear_rip(vcpu);
		vcpu->arch.cui_linear_rip_saved = true;
	}
}

/* Where the instruction awaiting completion still is (see above). */
static bool kvm_cui_rip_unchanged(struct kvm_vcpu *vcpu)
{
	return !vcpu->arch.cui_linear_rip_saved || kvm_is_linear_rip(vcpu, vcpu->arch.cui_linear_rip);
}

/*
 * The completions of a PIO exit, at the next KVM_RUN: only then does the
 * instruction retire (RIP moves on, an IN writes RAX).  If userspace moved
 * RIP meanwhile (KVM_SET_REGS), the instruction is dropped (KVM's
 * cui_linear_rip check).
 */
/*
 * An IN's result into RAX at its completion: from the PIO page (KVM's
 * vcpu->arch.pio_data), by the size the exit recorded (pio_in_keep), as
 * KVM's complete_fast_pio_in() reads neither kvm_run->io.size nor
 * io.data_offset, which userspace may have changed.
 */
static __attribute__((noinline, cold)) void complete_fast_pio_in_traced(struct kvm_vcpu *vcpu, u32 data,
									u64 keep)
{
	trace_kvm_pio(0, vcpu->run->io.port, !keep ? 4 : keep == ~0xffull ? 1 : 2, 1,
		      data & (u32)~keep);
}

static __always_inline void complete_fast_pio_in_rax(struct kvm_vcpu *vcpu)
{
	u64 keep = vcpu->arch.pio_in_keep, *rax = &vcpu->arch.regs[VCPU_REGS_RAX];
	u32 data;

	/*
	 * Note, four bytes whatever the IN's size: one load, no switch.  A
	 * load of the IN's own size (for the store-forwarding of userspace's
	 * one-byte store) once measured 13 ns slower on an AMD host, but one
	 * binary's IN exit later moved by 20 ns between runs minutes apart
	 * there (48-68 ns), so that says nothing either way.
	 */
	memcpy(&data, (u8 *)vcpu->run + KVM_PIO_PAGE_OFFSET * PAGE_SIZE, 4);
	*rax = (*rax & keep) | ((u64)data & ~keep);
	vcpu->arch.pio_in_keep = ~0ull;
	if (unlikely(kvm_trace_on(TRACE_KVM_PIO)))
		complete_fast_pio_in_traced(vcpu, data, keep);
}

static __always_inline int __complete_fast_pio_in(struct kvm_vcpu *vcpu)
{
	if (unlikely(!kvm_cui_rip_unchanged(vcpu))) {
		vcpu->arch.pio_in_keep = ~0ull;
		return 1;
	}
	complete_fast_pio_in_rax(vcpu);
	return __kvm_skip_emulated_instruction(vcpu);
}

static __attribute__((noinline)) int complete_fast_pio_out_saved(struct kvm_vcpu *vcpu)
{
	if (!kvm_is_linear_rip(vcpu, vcpu->arch.cui_linear_rip))
		return 1;
	return kvm_skip_emulated_instruction(vcpu);
}

static __always_inline int __complete_fast_pio_out(struct kvm_vcpu *vcpu)
{
	/* An ioctl saved the linear RIP meanwhile (kvm_cui_rip_unchanged()): compare it, out of line. */
	if (unlikely(vcpu->arch.cui_linear_rip_saved))
		return complete_fast_pio_out_saved(vcpu);
	return __kvm_skip_emulated_instruction(vcpu);
}

/*
 * The completions kvm_fast_pio_user() (x86_pio.h) records: functions with
 * an address of their own, which kvm_complete_userspace_io() compares to
 * run their bodies inline.
 */
int complete_fast_pio_in(struct kvm_vcpu *vcpu)
{
	return __complete_fast_pio_in(vcpu);
}

int complete_fast_pio_out(struct kvm_vcpu *vcpu)
{
	return __complete_fast_pio_out(vcpu);
}

static int complete_fast_pio_out_port_0x7e(struct kvm_vcpu *vcpu)
{
	return 1;
}

/*
 * kvm_fast_pio(): IN/OUT (not string).  An OUT has its data in the PIO
 * page; an IN gets it from there when KVM_RUN is called again.  Either way
 * RIP stays on the instruction until then (complete_userspace_io), except
 * for OUT to port 0x7e (KVM_X86_QUIRK_OUT_7E_INC_RIP, on by default).
 */
/* The rare ends of kvm_fast_pio_user() (x86_pio.h), out of line (tail calls) to keep it frameless. */
__attribute__((noinline, cold)) int kvm_fast_pio_out_traced(u16 port, int size, u32 data)
{
	trace_kvm_pio(1, port, size, 1, data);
	return 0;
}

__attribute__((noinline, cold)) int kvm_fast_pio_out_7e(struct kvm_vcpu *vcpu, int size, u32 data)
{
	trace_kvm_pio(1, 0x7e, size, 1, data);
	kvm_skip_emulated_instruction(vcpu);
	vcpu->arch.complete_userspace_io = complete_fast_pio_out_port_0x7e;
	vcpu->arch.cui_next_rip = 0;
	return 0;
}

/* An in-kernel device (PIC, PIT, ioeventfd) may claim the port: out of line. */
static __attribute__((noinline)) int kvm_fast_pio_kernel(struct kvm_vcpu *vcpu, int size, u16 port,
							 int in)
{
	u8 data[4] = { 0 };

	if (!in)
		pio_copy(data, &vcpu->arch.regs[VCPU_REGS_RAX], size);
	if (__kernel_pio(vcpu, port, size, !in, data)) {
		if (in)
			pio_set_rax(vcpu, size, data);
		trace_kvm_pio(!in, port, size, 1, *(u32 *)data);
		return kvm_skip_emulated_instruction(vcpu);
	}
	return kvm_fast_pio_user(vcpu, size, port, in, *(u32 *)data, 0);
}

int kvm_fast_pio(struct kvm_vcpu *vcpu, int size, u16 port, int in)
{
	u64 rax = vcpu->arch.regs[VCPU_REGS_RAX];

	if (unlikely(kernel_pio_possible(vcpu->kvm, !in)))
		return kvm_fast_pio_kernel(vcpu, size, port, in);
	return kvm_fast_pio_user(vcpu, size, port, in,
				 size == 1 ? (u8)rax : size == 2 ? (u16)rax : (u32)rax, 0);
}


/* ---- the instruction emulator's vCPU side (KVM's emulator_* ops, x86_emulate_instruction) ---- */

#define UD_VECTOR 6
#define APIC_DEFAULT_PHYS_BASE 0xfee00000ull
#define X86_EFLAGS_AC_BIT (1ull << 18)
#define DB_VECTOR 1

static struct kvm_vcpu *emul_to_vcpu(struct x86_emulate_ctxt *ctxt)
{
	return ctxt->vcpu;
}

/* The paging state of a walk for an access of kind @access. */
static __always_inline void kvm_emul_walk_mode(struct kvm_vcpu *vcpu, u32 access,
					       struct kvm_walk_mode *mode)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	mode->cr0 = a->cr0;
	mode->cr3 = a->cr3;
	mode->cr4 = a->cr4;
	mode->efer = a->efer;
	mode->maxphyaddr = (u8)a->maxphyaddr;
	mode->smap_check = !(access & PFERR_FETCH_MASK) && !(a->rflags & X86_EFLAGS_AC_BIT);
	/* the PDPTE registers: read by PAE paging outside IA-32e mode only */
	if ((a->cr0 & X86_CR0_PG) && (a->cr4 & X86_CR4_PAE) && !(a->efer & EFER_LMA))
		memcpy(mode->pdptrs, a->pdptrs, sizeof(mode->pdptrs));
	else
		memset(mode->pdptrs, 0, sizeof(mode->pdptrs));
}

/* kvm_mmu_gva_to_gpa_*(): the guest's page tables, walked by KVM's walker. */
static u64 kvm_emul_gva_to_gpa(struct kvm_vcpu *vcpu, u64 gva, u32 access,
			       struct x86_exception *exception)
{
	struct kvm_walk_mode mode;

	kvm_emul_walk_mode(vcpu, access, &mode);
	/*
	 * The instruction fetch of an MMIO exit walks the same entries each
	 * time (the exit gives the data's GPA, not RIP's): its walk is
	 * answered from the cache when they are unchanged (exact, see
	 * kvm_walk_gva_cached()).
	 */
	if (access & PFERR_FETCH_MASK)
		return kvm_walk_gva_cached(vcpu->kvm, &vcpu->arch.emulate_ctxt->fetch_walk, &mode, gva,
					   access, true, exception);
	return kvm_walk_gva(vcpu->kvm, &mode, gva, access, true, exception);
}

/*
 * KVM_TRANSLATE (kvm_arch_vcpu_ioctl_translate()): a supervisor walk of
 * the guest's page tables as they are now.  As KVM, "writeable" is always
 * 1 and "usermode" 0: only the address and its validity are computed.
 */
static void kvm_arch_vcpu_ioctl_translate(struct kvm_vcpu *vcpu, struct kvm_translation *tr)
{
	struct x86_exception e;
	u64 gpa;
	int idx = srcu_read_lock(&vcpu->kvm->srcu);

	gpa = kvm_emul_gva_to_gpa(vcpu, tr->linear_address, 0, &e);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	tr->physical_address = gpa;
	tr->valid = gpa != INVALID_GPA;
	tr->writeable = 1;
	tr->usermode = 0;
}

/*
 * kvm_vcpu_read_guest() / kvm_vcpu_write_guest(): guest-physical memory
 * through the memslots.  Return: 0, or -EFAULT where no slot (or, for a
 * write, a read-only one) backs it.  Written RAM drops the processor's
 * decoded instructions of it.
 */
static int kvm_vcpu_rw_guest(struct kvm_vcpu *vcpu, u64 gpa, void *data, unsigned int len,
			     bool write)
{
	u8 *d = data;

	while (len) {
		unsigned int n = MIN(len, PAGE_SIZE - (unsigned int)(gpa & (PAGE_SIZE - 1)));
		struct kvm_memory_slot *slot = gfn_to_memslot(vcpu->kvm, gpa >> PAGE_SHIFT);
		bool locked;
		u8 *hva;

		if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
			return -EFAULT;
		hva = (u8 *)(uintptr_t)gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT) +
		      (gpa & (PAGE_SIZE - 1));
		if (!kvm_hva_access_begin(vcpu->kvm, slot, (hva_t)(uintptr_t)hva, &locked))
			return -EFAULT;
		if (write) {
			memcpy(hva, d, n);
			mark_page_dirty_in_slot(vcpu->kvm, slot, gpa >> PAGE_SHIFT);
			vmx_op_code_written(hva, n);
		} else {
			memcpy(d, hva, n);
		}
		kvm_hva_access_end(vcpu->kvm, locked);
		d += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

static int kvm_emul_virt_helper(struct kvm_vcpu *vcpu, u64 addr, void *val, unsigned int bytes,
				u32 access, struct x86_exception *exception, bool write)
{
	u8 *data = val;

	while (bytes) {
		unsigned int offset = addr & (PAGE_SIZE - 1);
		unsigned int towrite = MIN(bytes, (unsigned int)PAGE_SIZE - offset);
		u64 gpa = kvm_emul_gva_to_gpa(vcpu, addr, access, exception);

		if (gpa == INVALID_GPA)
			return X86EMUL_PROPAGATE_FAULT;
		if (kvm_vcpu_rw_guest(vcpu, gpa, data, towrite, write) < 0)
			return X86EMUL_IO_NEEDED;
		bytes -= towrite;
		data += towrite;
		addr += towrite;
	}
	return X86EMUL_CONTINUE;
}

static u32 emulator_std_access(struct kvm_vcpu *vcpu, bool system)
{
	return !system && kvm_get_cpl(vcpu) == 3 ? PFERR_USER_MASK : 0;
}

static int emulator_read_std(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
			     unsigned int bytes, struct x86_exception *exception, bool system)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	return kvm_emul_virt_helper(vcpu, addr, val, bytes, emulator_std_access(vcpu, system),
				    exception, false);
}

static int emulator_write_std(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
			      unsigned int bytes, struct x86_exception *exception, bool system)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	return kvm_emul_virt_helper(vcpu, addr, val, bytes,
				    emulator_std_access(vcpu, system) | PFERR_WRITE_MASK,
				    exception, true);
}

/* kvm_fetch_guest_virt(): code comes from RAM only (fetching from MMIO fails). */
static int kvm_fetch_guest_virt(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
				unsigned int bytes, struct x86_exception *exception)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);
	u32 access = PFERR_FETCH_MASK | emulator_std_access(vcpu, false);

	/* within a page: the fetch walk cache has the page's host address */
	if ((addr & (PAGE_SIZE - 1)) + bytes <= PAGE_SIZE) {
		const void *host;
		u64 gpa;

		/* the walk and the page as last time: one look-up */
		host = kvm_walk_cache_lookup_fetch(vcpu->kvm, &ctxt->fetch_walk, vcpu->arch.cr0,
						   vcpu->arch.cr3, vcpu->arch.cr4, vcpu->arch.efer,
						   (u8)vcpu->arch.maxphyaddr, vcpu->arch.pdptrs, addr,
						   access);
		if (likely(host)) {
			if (likely(bytes == 15))
				memcpy(val, host, 15);
			else
				memcpy(val, host, bytes);
			return X86EMUL_CONTINUE;
		}
		gpa = kvm_emul_gva_to_gpa(vcpu, addr, access, exception);
		if (gpa == INVALID_GPA)
			return X86EMUL_PROPAGATE_FAULT;
		host = kvm_walk_cache_host(vcpu->kvm, &ctxt->fetch_walk, gpa);
		if (host) {
			memcpy(val, host, bytes);
			return X86EMUL_CONTINUE;
		}
		return kvm_vcpu_rw_guest(vcpu, gpa, val, bytes, false) < 0 ? X86EMUL_IO_NEEDED
									   : X86EMUL_CONTINUE;
	}
	return kvm_emul_virt_helper(vcpu, addr, val, bytes, access, exception, false);
}

/* vcpu_cache_mmio_info(): remember the MMIO page a fault found (TDP: by gfn only). */
static void vcpu_cache_mmio_info(struct kvm_vcpu *vcpu, u64 gfn, u64 gen)
{
	vcpu->arch.mmio_gfn = gfn;
	vcpu->arch.mmio_gen = gen;
	vcpu->arch.mmio_cached = true;
}

/* vcpu_match_mmio_gpa(): @gpa is in that page and no memslot changed since. */
static __always_inline bool vcpu_match_mmio_gpa(struct kvm_vcpu *vcpu, u64 gpa)
{
	return vcpu->arch.mmio_cached && vcpu->arch.mmio_gfn == gpa >> PAGE_SHIFT &&
	       vcpu->arch.mmio_gen == kvm_memslots(vcpu->kvm)->generation;
}

/*
 * vcpu_is_mmio_gpa(): the default APIC page is always MMIO ("for APIC
 * access vmexit"), and so is the page the last MMIO fault found.
 */
static __always_inline int vcpu_is_mmio_gpa(struct kvm_vcpu *vcpu, u64 gpa)
{
	return (gpa & ~(u64)(PAGE_SIZE - 1)) == APIC_DEFAULT_PHYS_BASE || vcpu_match_mmio_gpa(vcpu, gpa);
}

static int vcpu_mmio_gva_to_gpa(struct kvm_vcpu *vcpu, unsigned long gva, u64 *gpa,
				struct x86_exception *exception, bool write)
{
	u32 access = emulator_std_access(vcpu, false) | (write ? PFERR_WRITE_MASK : 0);

	*gpa = kvm_emul_gva_to_gpa(vcpu, gva, access, exception);
	if (*gpa == INVALID_GPA)
		return -1;
	return vcpu_is_mmio_gpa(vcpu, *gpa);
}

/*
 * vcpu_mmio_read/write(): the in-kernel devices on the MMIO bus (the local
 * APIC's page, the I/O APIC), in pieces of up to 8 bytes.  Return: the
 * bytes they handled.
 */
static int __vcpu_mmio_rw(struct kvm_vcpu *vcpu, u64 addr, int len, u8 *v, bool write)
{
	struct kvm_ioapic *ioapic = vcpu->kvm->arch.vioapic;
	struct kvm_lapic *apic = vcpu->arch.apic;
	int handled = 0;

	while (len) {
		int n = MIN(len, 8);

		if (!(apic && !kvm_lapic_mmio(apic, addr, n, write, v)) &&
		    !(ioapic && !kvm_ioapic_mmio(ioapic, addr, n, write, v)) &&
		    !(write && kvm_ioeventfd_write(vcpu->kvm, false, addr, n, v)))
			break;
		handled += n;
		addr += n;
		len -= n;
		v += n;
	}
	return handled;
}

/* An empty bus (no in-kernel APIC or I/O APIC, no ioeventfd ever registered): no call. */
static __always_inline int vcpu_mmio_rw(struct kvm_vcpu *vcpu, u64 addr, int len, u8 *v, bool write)
{
	if (!vcpu->arch.apic && !vcpu->kvm->arch.vioapic &&
	    !(write && __atomic_load_n(&vcpu->kvm->ioeventfds, __ATOMIC_ACQUIRE)))
		return 0;
	return __vcpu_mmio_rw(vcpu, addr, len, v, write);
}

/* memcpy() of the usual MMIO sizes without a call */
static __always_inline void mmio_copy(void *dst, const void *src, unsigned int n)
{
	switch (n) {
	case 1: memcpy(dst, src, 1); break;
	case 2: memcpy(dst, src, 2); break;
	case 4: memcpy(dst, src, 4); break;
	case 8: memcpy(dst, src, 8); break;
	default: memcpy(dst, src, n); break;
	}
}

/*
 * emulator_can_use_gpa(): whether the instruction's one memory access is
 * the one that exited, so that the exit's guest-physical address can stand
 * for a walk of the guest's page tables (the processor walked them for this
 * access, with its rights, before EPT said MMIO).  KVM refuses REP string
 * instructions; here only MOV, MOVZX and MOVSX with a memory operand (the
 * usual MMIO accesses) qualify, so that no second access of the same
 * instruction (MOVS, PUSH/POP m, CALL m) can take the address by a chance
 * match of page offsets.
 */
static __always_inline bool emulator_can_use_gpa(struct x86_emulate_ctxt *ctxt)
{
	const struct vmx_emul_insn *i = &ctxt->insn;

	if (i->string || i->rep || !i->mem)
		return false;
	if (i->map == 0)
		return (i->opcode >= 0x88 && i->opcode <= 0x8b) || i->opcode == 0xc6 ||
		       i->opcode == 0xc7 || (i->opcode >= 0xa0 && i->opcode <= 0xa3);
	if (i->map == 1)
		return i->opcode == 0xb6 || i->opcode == 0xb7 || i->opcode == 0xbe ||
		       i->opcode == 0xbf;
	return false;
}

/*
 * kvm_mmio lines where KVM writes them (write_mmio(), read_mmio(),
 * read_exit_mmio(), read_prepare()): a write as it is made, a read when
 * its data is there, an unsatisfied read when it goes to userspace.
 */
static __attribute__((noinline, cold)) void trace_mmio_access(int type, unsigned int bytes, u64 gpa,
							     const void *val)
{
	u64 v = 0;

	if (type != KVM_TRACE_MMIO_READ_UNSATISFIED)
		memcpy(&v, val, MIN(8u, bytes));
	trace_kvm_mmio(type, bytes, gpa, v);
}

/* emulator_read_write_onepage(): RAM, an in-kernel device, or a fragment for userspace. */
static __always_inline int emulator_read_write_onepage(unsigned long addr, u8 *val,
						       unsigned int bytes,
						       struct x86_exception *exception,
						       struct kvm_vcpu *vcpu, bool write)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_mmio_fragment *frag;
	int handled, ret;
	u64 gpa;

	/*
	 * If the exit was an EPT misconfiguration the GPA is known: no walk
	 * (KVM's gpa_available), when the page offsets agree.
	 */
	if (ctxt->gpa_available && !((addr ^ ctxt->gpa_val) & (PAGE_SIZE - 1)) &&
	    emulator_can_use_gpa(ctxt)) {
		gpa = ctxt->gpa_val;
		ret = vcpu_is_mmio_gpa(vcpu, gpa);
	} else {
		ret = vcpu_mmio_gva_to_gpa(vcpu, addr, &gpa, exception, write);
		if (ret < 0)
			return X86EMUL_PROPAGATE_FAULT;
	}
	if (!ret && !kvm_vcpu_rw_guest(vcpu, gpa, val, bytes, write))
		return X86EMUL_CONTINUE;
	if (kvm_trace_on(TRACE_KVM_MMIO) && write)
		trace_mmio_access(KVM_TRACE_MMIO_WRITE, bytes, gpa, val);
	handled = vcpu_mmio_rw(vcpu, gpa, (int)bytes, val, write);
	if (kvm_trace_on(TRACE_KVM_MMIO) && !write)
		trace_mmio_access((unsigned int)handled == bytes ? KVM_TRACE_MMIO_READ :
				  KVM_TRACE_MMIO_READ_UNSATISFIED, bytes, gpa, val);
	if ((unsigned int)handled == bytes)
		return X86EMUL_CONTINUE;
	if (unlikely(ctxt->mmio_nr_fragments >= KVM_MAX_MMIO_FRAGMENTS))
		return X86EMUL_UNHANDLEABLE;
	frag = &ctxt->mmio_fragments[ctxt->mmio_nr_fragments++];
	frag->gpa = gpa + handled;
	frag->data = val + handled;
	frag->len = bytes - handled;
	return X86EMUL_CONTINUE;
}

/*
 * emulator_read_write(): one access of the instruction, split at a page
 * boundary; what no memslot or in-kernel device takes becomes
 * KVM_EXIT_MMIO, 8 bytes per exit.  A read then needs userspace
 * (X86EMUL_IO_NEEDED: the instruction is re-executed with the data,
 * mmio_read_completed); a write is complete for the instruction and
 * reaches userspace after it.
 */
static __always_inline int emulator_read_write(struct x86_emulate_ctxt *ctxt, unsigned long addr,
					       void *val, unsigned int bytes,
					       struct x86_exception *exception, bool write)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);
	struct kvm_run *run = vcpu->run;
	struct kvm_mmio_fragment *frag;
	u8 *data = val;
	int rc;

	if (!write && ctxt->mmio_read_completed) {	/* read_prepare() */
		if (kvm_trace_on(TRACE_KVM_MMIO))
			trace_mmio_access(KVM_TRACE_MMIO_READ, bytes, ctxt->mmio_fragments[0].gpa, val);
		ctxt->mmio_read_completed = 0;
		return X86EMUL_CONTINUE;
	}
	if (write) {
		if (unlikely(bytes > sizeof(ctxt->mmio_write_data)))
			return X86EMUL_UNHANDLEABLE;
		mmio_copy(ctxt->mmio_write_data, val, bytes);
		data = ctxt->mmio_write_data;
	}
	ctxt->mmio_nr_fragments = 0;
	if (unlikely(((addr + bytes - 1) ^ addr) & ~(unsigned long)(PAGE_SIZE - 1))) {	/* crossing a page */
		unsigned int now = (unsigned int)(-addr & (PAGE_SIZE - 1));

		rc = emulator_read_write_onepage(addr, data, now, exception, vcpu, write);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		addr += now;
		if (ctxt->mode != X86EMUL_MODE_PROT64)
			addr = (u32)addr;
		data += now;
		bytes -= now;
	}
	rc = emulator_read_write_onepage(addr, data, bytes, exception, vcpu, write);
	if (rc != X86EMUL_CONTINUE || !ctxt->mmio_nr_fragments)
		return rc;
	frag = &ctxt->mmio_fragments[0];
	ctxt->mmio_needed = 1;
	ctxt->mmio_cur_fragment = 0;
	ctxt->mmio_is_write = write;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = frag->gpa;
	run->mmio.len = MIN(8u, frag->len);
	run->mmio.is_write = write;
	if (write) {
		mmio_copy(run->mmio.data, frag->data, run->mmio.len);
		return X86EMUL_CONTINUE;
	}
	return X86EMUL_IO_NEEDED;
}

static int emulator_read_emulated(struct x86_emulate_ctxt *ctxt, unsigned long addr, void *val,
				  unsigned int bytes, struct x86_exception *exception)
{
	return emulator_read_write(ctxt, addr, val, bytes, exception, false);
}

/* Nothing on the MMIO bus could take an access (vcpu_mmio_rw() would make no call). */
static __always_inline bool mmio_bus_empty(struct kvm_vcpu *vcpu)
{
	return !vcpu->arch.apic && !vcpu->kvm->arch.vioapic &&
	       !__atomic_load_n(&vcpu->kvm->ioeventfds, __ATOMIC_ACQUIRE);
}

/*
 * The usual MMIO write: at most 8 bytes within a page, at the address
 * that exited (the exit's GPA stands for the walk: emulator_can_use_gpa()),
 * in a page vcpu_is_mmio_gpa() knows, with nothing on the MMIO bus that
 * could take it (vcpu_mmio_rw() would make no call).  Then what
 * emulator_read_write() would do comes to one fragment for userspace,
 * the whole write: set up here without its steps.
 */
static __always_inline bool emulator_write_is_user_mmio(struct x86_emulate_ctxt *ctxt,
							struct kvm_vcpu *vcpu, unsigned long addr,
							unsigned int bytes)
{
	return bytes <= 8 && !(((addr + bytes - 1) ^ addr) & ~(unsigned long)(PAGE_SIZE - 1)) &&
	       ctxt->gpa_available && !((addr ^ ctxt->gpa_val) & (PAGE_SIZE - 1)) &&
	       mmio_bus_empty(vcpu) && emulator_can_use_gpa(ctxt) && vcpu_is_mmio_gpa(vcpu, ctxt->gpa_val);
}

/* The whole access as userspace's one fragment (its data in mmio_write_data), KVM_EXIT_MMIO set up. */
static __always_inline void user_mmio_one_fragment(struct x86_emulate_ctxt *ctxt, struct kvm_run *run,
						   u64 gpa, unsigned int bytes, bool write)
{
	struct kvm_mmio_fragment *frag = &ctxt->mmio_fragments[0];

	frag->gpa = gpa;
	frag->data = ctxt->mmio_write_data;
	frag->len = bytes;
	ctxt->mmio_nr_fragments = 1;
	ctxt->mmio_needed = 1;
	ctxt->mmio_cur_fragment = 0;
	ctxt->mmio_is_write = write;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = bytes;
	run->mmio.is_write = write;
}

/*
 * What emulator_read_write() comes to for a write emulator_write_is_user_mmio()
 * accepts: one fragment for userspace, the whole write, KVM_EXIT_MMIO set up.
 */
static __always_inline void emulator_write_user_mmio(struct x86_emulate_ctxt *ctxt, struct kvm_run *run,
						     u64 gpa, const void *val, unsigned int bytes)
{
	if (kvm_trace_on(TRACE_KVM_MMIO))
		trace_mmio_access(KVM_TRACE_MMIO_WRITE, bytes, gpa, val);
	mmio_copy(ctxt->mmio_write_data, val, bytes);
	user_mmio_one_fragment(ctxt, run, gpa, bytes, true);
	mmio_copy(run->mmio.data, val, bytes);
}

/* emulator_write_emulated() but the usual case, out of line (a tail call, no frame for it) */
static __attribute__((noinline)) int emulator_write_emulated_slow(struct x86_emulate_ctxt *ctxt,
								  unsigned long addr, const void *val,
								  unsigned int bytes,
								  struct x86_exception *exception)
{
	return emulator_read_write(ctxt, addr, (void *)val, bytes, exception, true);
}

static int emulator_write_emulated(struct x86_emulate_ctxt *ctxt, unsigned long addr,
				   const void *val, unsigned int bytes,
				   struct x86_exception *exception)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	if (likely(emulator_write_is_user_mmio(ctxt, vcpu, addr, bytes))) {
		emulator_write_user_mmio(ctxt, vcpu->run, ctxt->gpa_val, val, bytes);
		return X86EMUL_CONTINUE;
	}
	return emulator_write_emulated_slow(ctxt, addr, val, bytes, exception);
}

static int complete_emulated_mmio(struct kvm_vcpu *vcpu);

/**
 * kvm_mmio_write_assisted() - x86_emulate_instruction() for a MOV store
 * to MMIO that the processor's decode assist reported with the EPT
 * misconfiguration (vcpu->arch.emul_assist): @bytes (1, 2, 4 or 8, within
 * a page) of @data (its low bytes) at @gpa, which kvm_mmu_page_fault()
 * found to be MMIO
 *
 * What emulating that instruction would do, without fetching or decoding
 * it (as KVM's emulator takes SVM's decode-assist bytes instead of
 * fetching, and as kvm_sev_es_mmio_write() completes a write whose data
 * an SEV-ES guest gave): the write goes to userspace, all of it in the
 * KVM_EXIT_MMIO (nothing on the MMIO bus could take it: mmio_bus_empty()),
 * RIP moves past the instruction and an interrupt shadow it ran in is
 * over (kvm_skip_emulated_instruction(), with the length the exit gives),
 * no single-step trap (the emulator raises none when the instruction
 * exits to userspace).  Taken only where that is all the emulator would
 * do: no RFLAGS.TF and no guest debugging (whose paths the emulator has),
 * no in-kernel device on the MMIO bus, an emulator context to hold the
 * fragment for complete_emulated_mmio(), and kvm_emulate_insn not traced
 * (its line shows the instruction's bytes: the emulator fetches them).
 * Caller holds kvm->srcu, and @gpa is in the vCPU's MMIO page
 * (vcpu_match_mmio_gpa()).
 *
 * Return: 0 with KVM_EXIT_MMIO set up; 1 if not taken (nothing done:
 * emulate the instruction).
 */
static __always_inline int kvm_mmio_write_assisted(struct kvm_vcpu *vcpu, u64 gpa,
						   unsigned int bytes, u64 data)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_run *run = vcpu->run;

	if (unlikely(!ctxt) || (vcpu->arch.rflags & X86_EFLAGS_TF) || vcpu->arch.guest_debug ||
	    !mmio_bus_empty(vcpu) || kvm_trace_on(TRACE_KVM_EMULATE_INSN))
		return 1;
	/*
	 * emulator_write_user_mmio() but the fragment: a write's only
	 * fragment, once userspace has it, leaves nothing to complete
	 * (complete_emulated_mmio() clears mmio_needed and returns 1), so
	 * none is kept; mmio_needed 0 makes the completion return at once.
	 */
	if (kvm_trace_on(TRACE_KVM_MMIO))
		trace_mmio_access(KVM_TRACE_MMIO_WRITE, bytes, gpa, &data);
	ctxt->mmio_needed = 0;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = bytes;
	run->mmio.is_write = true;
	mmio_copy(run->mmio.data, &data, bytes);
	vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	/* kvm_skip_emulated_instruction() without its single-step (no TF, no guest debug) */
	kvm_x86_call(skip_emulated_instruction)(vcpu);
	return 0;
}

/**
 * kvm_mmio_read_assisted() - x86_emulate_instruction() for a load from
 * MMIO into a general register (MOV, MOVZX, MOVSX) that the processor's
 * decode assist reported with the EPT misconfiguration: @a says its
 * size, destination register, the register's size and extension, @gpa
 * the address, which
 * kvm_mmu_page_fault() found to be MMIO
 *
 * What emulating the instruction would do, without fetching or decoding
 * it: the read goes to userspace as its one fragment (nothing on the MMIO
 * bus could take it), and the instruction waits for the data
 * (complete_emulated_mmio(), which then writes the register and moves RIP
 * past the instruction: kvm_complete_mmio_load()).  Taken where
 * kvm_mmio_write_assisted() is, and not for RSP (which the VMCS holds
 * until something reads it: the emulator's way).  Caller holds kvm->srcu,
 * and @gpa is in the vCPU's MMIO page.
 *
 * Return: 0 with KVM_EXIT_MMIO set up; 1 if not taken (nothing done:
 * emulate the instruction).
 */
static __attribute__((noinline)) int kvm_mmio_read_assisted(struct kvm_vcpu *vcpu, u64 gpa,
							     const struct kvm_mmio_assist *a)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	unsigned int bytes = a->bytes;

	if (unlikely(!ctxt) || (vcpu->arch.rflags & X86_EFLAGS_TF) || vcpu->arch.guest_debug ||
	    !mmio_bus_empty(vcpu) || kvm_trace_on(TRACE_KVM_EMULATE_INSN) ||
	    a->reg == VCPU_REGS_RSP || bytes > 8)
		return 1;
	if (kvm_trace_on(TRACE_KVM_MMIO))
		trace_mmio_access(KVM_TRACE_MMIO_READ_UNSATISFIED, bytes, gpa, NULL);
	user_mmio_one_fragment(ctxt, vcpu->run, gpa, bytes, false);
	ctxt->mmio_load_assist = *a;
	ctxt->eip = vcpu->arch.regs[VCPU_REGS_RIP];	/* where the load retires (kvm_complete_mmio_load()) */
	vcpu->arch.cui_linear_rip_saved = false;
	vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	return 0;
}

/*
 * emulator_pio_in_out(): @count elements, to the in-kernel devices or, if
 * the first is not theirs, to userspace as one KVM_EXIT_IO with @count.
 * Return: 1 when done here, 0 when userspace must do it.
 */
static int emulator_pio_in_out(struct kvm_vcpu *vcpu, int size, unsigned short port, void *data,
			       unsigned int count, bool in)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_run *run = vcpu->run;
	u8 *pio_data = (u8 *)run + KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	u8 *d = data;

	for (unsigned int i = 0; i < count; i++) {
		if (!kernel_pio(vcpu, port, size, !in, d)) {
			if (i == 0)
				goto userspace_io;
			/* the device went away meanwhile: drop writes, read zeros */
			if (in)
				memset(d, 0, (size_t)size * (count - i));
			break;
		}
		d += size;
	}
	return 1;

userspace_io:
	ctxt->pio.port = port;
	ctxt->pio.in = in;
	ctxt->pio.count = count;
	ctxt->pio.size = size;
	if (in)
		memset(pio_data, 0, (size_t)size * count);
	else
		memcpy(pio_data, data, (size_t)size * count);
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	run->io.count = count;
	run->io.port = port;
	return 0;
}

static int emulator_pio_in_emulated(struct x86_emulate_ctxt *ctxt, int size, unsigned short port,
				    void *val, unsigned int count)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	if (ctxt->pio.count) {
		/* complete_emulator_pio_in(): the data userspace supplied */
		u8 *pio_data = (u8 *)vcpu->run + KVM_PIO_PAGE_OFFSET * PAGE_SIZE;

		memcpy(val, pio_data, (size_t)ctxt->pio.size * ctxt->pio.count);
		ctxt->pio.count = 0;
		return 1;
	}
	return emulator_pio_in_out(vcpu, size, port, val, count, true);
}

static int emulator_pio_out_emulated(struct x86_emulate_ctxt *ctxt, int size, unsigned short port,
				     const void *val, unsigned int count)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	if (!emulator_pio_in_out(vcpu, size, port, (void *)val, count, false))
		return 1;
	ctxt->pio.count = 0;
	return 1;
}

/*
 * emulator_get_fpu(): the guest's FPU registers come from the processor
 * only for an instruction that uses them, and go back after it.
 */
static void *emulator_get_fpu(struct x86_emulate_ctxt *ctxt)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);

	kvm_x86_call(cache_reg)(vcpu, VCPU_EXREG_FPU);
	kvm_register_mark_dirty(&vcpu->arch, VCPU_EXREG_FPU);
	return &vcpu->arch.guest_fpu;
}

static void emulator_get_segments(struct x86_emulate_ctxt *ctxt);

static const struct x86_emulate_ops emulate_ops = {
	.read_std = emulator_read_std,
	.write_std = emulator_write_std,
	.fetch = kvm_fetch_guest_virt,
	.read_emulated = emulator_read_emulated,
	.write_emulated = emulator_write_emulated,
	.pio_in_emulated = emulator_pio_in_emulated,
	.pio_out_emulated = emulator_pio_out_emulated,
	.get_fpu = emulator_get_fpu,
	.get_segments = emulator_get_segments,
};

/* struct vmx_emul_seg is struct kvm_seg_state: the segment registers are copied as arrays */
BUILD_BUG_ON(sizeof(struct vmx_emul_seg) != sizeof(struct kvm_seg_state));
BUILD_BUG_ON(offsetof(struct vmx_emul_seg, base) != offsetof(struct kvm_seg_state, base) ||
	     offsetof(struct vmx_emul_seg, limit) != offsetof(struct kvm_seg_state, limit) ||
	     offsetof(struct vmx_emul_seg, ar) != offsetof(struct kvm_seg_state, ar) ||
	     offsetof(struct vmx_emul_seg, selector) != offsetof(struct kvm_seg_state, selector));
BUILD_BUG_ON((int)VMX_EMUL_ES != (int)VCPU_SREG_ES || (int)VMX_EMUL_CS != (int)VCPU_SREG_CS ||
	     (int)VMX_EMUL_SS != (int)VCPU_SREG_SS || (int)VMX_EMUL_DS != (int)VCPU_SREG_DS ||
	     (int)VMX_EMUL_FS != (int)VCPU_SREG_FS || (int)VMX_EMUL_GS != (int)VCPU_SREG_GS);

/*
 * emulator_get_segments(): the segment registers but CS and SS, GDTR and
 * IDTR into the emulator's state (VCPU_EXREG_SEGMENTS, read now), and
 * the rest of what VMX_EMUL_ABSENT_SEGS leaves out: CR2, CR3, CR8, XCR0.
 */
static void emulator_get_segments(struct x86_emulate_ctxt *ctxt)
{
	struct kvm_vcpu *vcpu = emul_to_vcpu(ctxt);
	struct vmx_emul_state *st = &ctxt->state;
	struct kvm_vcpu_arch *a = &vcpu->arch;

	kvm_x86_call(cache_reg)(vcpu, VCPU_EXREG_SEGMENTS);
	/* ES..GS in the same order and layout, LDTR and TR swapped */
	memcpy(&st->seg[VMX_EMUL_ES], &a->seg[VCPU_SREG_ES], 6 * sizeof(st->seg[0]));
	memcpy(&st->seg[VMX_EMUL_LDTR], &a->seg[VCPU_SREG_LDTR], sizeof(st->seg[0]));
	memcpy(&st->seg[VMX_EMUL_TR], &a->seg[VCPU_SREG_TR], sizeof(st->seg[0]));
	st->gdtr_base = a->gdt.address;
	st->gdtr_limit = a->gdt.size;
	st->idtr_base = a->idt.address;
	st->idtr_limit = a->idt.size;
	st->cr2 = a->cr2;
	st->cr3 = a->cr3;
	st->cr8 = kvm_get_cr8(vcpu);
	st->xcr0 = a->xcr0;
	st->absent &= ~VMX_EMUL_ABSENT_SEGS;
}

/* init_emulate_ctxt(): the emulator's registers from vcpu->arch. */
static void init_emulate_ctxt(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct vmx_emul_state *st = &ctxt->state;
	struct kvm_vcpu_arch *a = &vcpu->arch;

	/*
	 * What the emulator reads comes from the VMCS into vcpu->arch
	 * (VCPU_EXREG_EMULATOR); emulator_writeback() marks it dirty for the
	 * next VM entry when the instruction changed it (segments, shadow).
	 * The rest of the state stays where it is.
	 */
	kvm_x86_call(cache_reg)(vcpu, VCPU_EXREG_EMULATOR);
	/* the GPRs in place: the assist writes them when the instruction retires */
	st->gprs = a->regs;
	st->rip = a->regs[VCPU_REGS_RIP];
	st->rflags = a->rflags;
	/*
	 * In 64-bit mode the segment registers but the access rights of CS
	 * and SS come only for an instruction that reads them
	 * (VMX_EMUL_NEED_STATE): not for a MOV to MMIO.  An instruction
	 * that ran without them loaded no segment register (it would have
	 * needed them), so emulator_writeback() copies none back.
	 */
	st->absent = 0;
	st->written = 0;
	if ((a->efer & EFER_LMA) && (a->seg[VCPU_SREG_CS].ar & BIT(13)) &&
	    !kvm_register_is_available(a, VCPU_EXREG_SEGMENTS)) {
		/* the rest of st->seg[] is left as it is: unread, and never written back */
		st->absent = VMX_EMUL_ABSENT_SEGS;
		st->seg[VMX_EMUL_CS].ar = a->seg[VCPU_SREG_CS].ar;
		st->seg[VMX_EMUL_SS].ar = a->seg[VCPU_SREG_SS].ar;
	} else {
		emulator_get_segments(ctxt);
	}
	/* CR2, CR3, CR8 and XCR0 with the segments (VMX_EMUL_ABSENT_SEGS) */
	st->cr0 = a->cr0;
	st->cr4 = a->cr4;
	st->efer = a->efer;
	st->interruptibility = a->interruptibility;
	st->fpu = NULL;		/* emulator_get_fpu() when an instruction uses it */
	ctxt->eflags = st->rflags;
	ctxt->eip = st->rip;
	if (!(a->cr0 & X86_CR0_PE))
		ctxt->mode = X86EMUL_MODE_REAL;
	else if (a->rflags & X86_EFLAGS_VM)
		ctxt->mode = X86EMUL_MODE_VM86;
	else if ((a->efer & EFER_LMA) && (a->seg[VCPU_SREG_CS].ar & BIT(13)))
		ctxt->mode = X86EMUL_MODE_PROT64;
	else if (a->seg[VCPU_SREG_CS].ar & BIT(14))
		ctxt->mode = X86EMUL_MODE_PROT32;
	else
		ctxt->mode = X86EMUL_MODE_PROT16;
}

/* writeback: the retired instruction's registers into vcpu->arch. */
static __always_inline void emulator_writeback(struct kvm_vcpu *vcpu,
					       struct x86_emulate_ctxt *ctxt)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;
	const u32 shadow = GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS;
	u64 old_rflags = a->rflags;
	u32 intr = (a->interruptibility & ~shadow) | (ctxt->state.interruptibility & shadow);

	/*
	 * The GPRs are in place already (state.gprs).  They, RIP and RFLAGS
	 * need no dirty mark: the GPRs are the array VM entry loads, and
	 * vmx_vcpu_run() writes RIP, RSP and RFLAGS back
	 * when they differ from the VMCS.  The rest of VCPU_EXREG_EMULATOR is
	 * marked only when it changed (the assist says which segments).
	 */
	a->regs[VCPU_REGS_RIP] = ctxt->state.rip;
	a->rflags = ctxt->state.rflags;
	if (unlikely(ctxt->state.written & VMX_EMUL_WROTE_SEGS)) {
		/* data segment registers an instruction loaded (MOV Sreg, POP Sreg, LxS) */
		memcpy(&a->seg[VCPU_SREG_ES], &ctxt->state.seg[VMX_EMUL_ES], sizeof(a->seg[0]));
		memcpy(&a->seg[VCPU_SREG_SS], &ctxt->state.seg[VMX_EMUL_SS], 4 * sizeof(a->seg[0]));
		kvm_register_mark_dirty(a, VCPU_EXREG_EMULATOR);
	}
	if (intr != a->interruptibility) {
		a->interruptibility = intr;
		kvm_register_mark_dirty(a, VCPU_EXREG_EMULATOR);
	}
	/* STI: interrupts are looked at again once the shadow is over */
	if ((a->rflags & ~old_rflags) & X86_EFLAGS_IF)
		kvm_make_request(KVM_REQ_EVENT, vcpu);
}

static void inject_emulated_exception(struct kvm_vcpu *vcpu)
{
	struct x86_exception *ex = &vcpu->arch.emulate_ctxt->exception;

	if (ex->vector == PF_VECTOR) {
		vcpu->arch.cr2 = ex->address;	/* kvm_inject_emulated_page_fault() */
		kvm_register_mark_dirty(&vcpu->arch, VCPU_EXREG_EMULATOR);
	}
	kvm_queue_exception(vcpu, ex->vector, ex->error_code_valid, ex->error_code);
}

/*
 * prepare_emulation_failure_exit(): KVM_EXIT_INTERNAL_ERROR, suberror
 * EMULATION, with the instruction bytes fetched and the exit information
 * (flags, insn_size + insn_bytes, then 5 words of exit info).
 */
static void prepare_emulation_failure_exit(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_run *run = vcpu->run;
	u64 info[5] = { 0 };
	u32 reason = 0;
	u8 info_start = 1, insn_size = ctxt->insn.fetched;

	if (kvm_x86_ops.get_exit_info)
		kvm_x86_call(get_exit_info)(vcpu, &reason, &info[1], &info[2]);
	info[0] = reason;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	if (insn_size) {
		info_start += 2;
		run->emulation_failure.flags |= KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = insn_size;
		memset(run->emulation_failure.insn_bytes, 0x90, sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, ctxt->insn.bytes, insn_size);
	}
	memcpy(&run->internal.data[info_start], info, sizeof(info));
	run->emulation_failure.ndata = info_start + ARRAY_SIZE(info);
}

/*
 * handle_emulation_failure(): an instruction the emulator cannot do is #UD
 * for the guest; at CPL0 userspace hears of it first (KVM's rule).
 */
static int handle_emulation_failure(struct kvm_vcpu *vcpu, int emulation_type)
{
	kvm_queue_exception(vcpu, UD_VECTOR, false, 0);
	if (kvm_get_cpl(vcpu) == 0) {
		prepare_emulation_failure_exit(vcpu);
		return 0;
	}
	return 1;
}

static int complete_emulated_io(struct kvm_vcpu *vcpu)
{
	return kvm_emulate_instruction(vcpu, EMULTYPE_NO_DECODE);
}

static __attribute__((noinline)) int complete_emulated_mmio_slow(struct kvm_vcpu *vcpu);

/* complete_emulated_mmio(): the next fragment, or re-execution with the data. */
static int complete_emulated_mmio(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;

	if (!ctxt->mmio_needed)
		return 1;
	/* the usual one: the last (only) fragment of a write, done (no frame for the rest) */
	if (likely(ctxt->mmio_is_write &&
		   ctxt->mmio_fragments[ctxt->mmio_cur_fragment].len <= 8 &&
		   ctxt->mmio_cur_fragment + 1 >= ctxt->mmio_nr_fragments)) {
		ctxt->mmio_cur_fragment++;
		ctxt->mmio_needed = 0;
		return 1;
	}
	return complete_emulated_mmio_slow(vcpu);
}

/*
 * The load kvm_mmio_read_assisted() sent to userspace retires with the
 * data: its register written as the instruction writes it (8 and 16 bits
 * keep the rest, 32 bits clear bits 63:32; MOVZX/MOVSX extend), RIP past
 * it (kvm_skip_emulated_instruction(): the interrupt shadow ends, TF
 * traps).  Where the exit left it: if userspace moved RIP meanwhile, the
 * load still retires at its own RIP, as KVM's emulator writes back the
 * RIP of the instruction it completes (ctxt->eip) over userspace's.
 */
static int kvm_complete_mmio_load(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_mmio_assist a = ctxt->mmio_load_assist;
	unsigned int bytes = a.bytes;
	u64 v = 0, *reg = &vcpu->arch.regs[a.reg];

	ctxt->mmio_load_assist.bytes = 0;
	ctxt->mmio_cur_fragment = 1;
	ctxt->mmio_needed = 0;
	vcpu->arch.regs[VCPU_REGS_RIP] = ctxt->eip;
	memcpy(&v, vcpu->run->mmio.data, bytes);
	if (kvm_trace_on(TRACE_KVM_MMIO))
		trace_mmio_access(KVM_TRACE_MMIO_READ, bytes, ctxt->mmio_fragments[0].gpa, &v);
	if (a.sx && bytes < 8)
		v = (u64)((s64)(v << (64 - 8 * bytes)) >> (64 - 8 * bytes));
	switch (a.dsize) {
	case 1:
		if (a.high)
			*reg = (*reg & ~0xff00ull) | (v & 0xff) << 8;
		else
			*reg = (*reg & ~0xffull) | (v & 0xff);
		break;
	case 2:
		*reg = (*reg & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		*reg = (u32)v;
		break;
	default:
		*reg = v;
		break;
	}
	return kvm_skip_emulated_instruction(vcpu);
}

static int complete_emulated_mmio_slow(struct kvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	struct kvm_run *run = vcpu->run;
	struct kvm_mmio_fragment *frag;
	unsigned int len;

	if (ctxt->mmio_load_assist.bytes)
		return kvm_complete_mmio_load(vcpu);

	/* Complete previous fragment */
	frag = &ctxt->mmio_fragments[ctxt->mmio_cur_fragment];
	len = MIN(8u, frag->len);
	if (!ctxt->mmio_is_write)
		memcpy(frag->data, run->mmio.data, len);
	if (frag->len <= 8) {
		frag++;
		ctxt->mmio_cur_fragment++;
	} else {
		frag->data = (u8 *)frag->data + len;
		frag->gpa += len;
		frag->len -= len;
	}
	if (ctxt->mmio_cur_fragment >= ctxt->mmio_nr_fragments) {
		ctxt->mmio_needed = 0;
		if (ctxt->mmio_is_write)
			return 1;
		ctxt->mmio_read_completed = 1;
		return complete_emulated_io(vcpu);
	}
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = frag->gpa;
	if (ctxt->mmio_is_write)
		memcpy(run->mmio.data, frag->data, MIN(8u, frag->len));
	run->mmio.len = MIN(8u, frag->len);
	run->mmio.is_write = ctxt->mmio_is_write;
	vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	return 0;
}

static int complete_emulated_pio(struct kvm_vcpu *vcpu)
{
	return complete_emulated_io(vcpu);
}

/* kvm_emulate_insn (KVM's trace_kvm_emulate_insn_start/_failed): RIP and the bytes fetched. */
static __attribute__((noinline, cold)) void trace_emulate_insn(struct x86_emulate_ctxt *ctxt, bool failed)
{
	unsigned int n = MIN((unsigned int)(ctxt->insn.len ? ctxt->insn.len : ctxt->insn.fetched), 15u);
	char hex[3 * 15 + 1] = "";

	for (unsigned int i = 0; i < n; i++) {
		hex[3 * i] = ' ';
		hex[3 * i + 1] = "0123456789abcdef"[ctxt->insn.bytes[i] >> 4];
		hex[3 * i + 2] = "0123456789abcdef"[ctxt->insn.bytes[i] & 15];
		hex[3 * i + 3] = 0;
	}
	trace_kvm_emulate_insn(ctxt->eip, n, hex, failed);
}

/**
 * x86_emulate_instruction() - emulate the instruction at the guest's RIP
 * @cr2_or_gpa: the faulting GPA of an MMU fault (EMULTYPE_PF)
 * @emulation_type: EMULTYPE_*; EMULTYPE_NO_DECODE re-executes the decoded
 *	instruction after userspace completed its I/O
 *
 * Return: 1 to re-enter the guest, 0 with vcpu->run filled for userspace,
 * or -errno.
 */
/* __x86_emulate_instruction() but the decode assist's store: fetch, decode, execute. */
static __attribute__((noinline)) int __x86_emulate_instruction_slow(struct kvm_vcpu *vcpu, u64 cr2_or_gpa,
								    int emulation_type, void *insn,
								    int insn_len)
{
	struct x86_emulate_ctxt *ctxt = vcpu->arch.emulate_ctxt;
	bool writeback = true, tf;
	int r;

	if (unlikely(!ctxt)) {
		ctxt = calloc(1, sizeof(*ctxt));
		if (!ctxt)
			return -ENOMEM;
		ctxt->vcpu = vcpu;
		ctxt->ops = &emulate_ops;
		vcpu->arch.emulate_ctxt = ctxt;
	}
	init_emulate_ctxt(vcpu);
	ctxt->mmio_load_assist.bytes = 0;	/* no longer in flight, if it was (nothing completed it) */
	/*
	 * Before the decode: x86_decode_insn() executes the instruction too
	 * (but a string instruction), and its accesses read these.
	 */
	tf = ctxt->state.rflags & X86_EFLAGS_TF;	/* ctxt->tf */
	ctxt->gpa_available = emulation_type & EMULTYPE_PF;
	ctxt->gpa_val = cr2_or_gpa;
	if (!(emulation_type & EMULTYPE_NO_DECODE)) {
		r = x86_decode_insn(ctxt, insn, insn_len, emulation_type);
		if (kvm_trace_on(TRACE_KVM_EMULATE_INSN))
			trace_emulate_insn(ctxt, r != EMULATION_OK);
		if (r != EMULATION_OK) {
			if (ctxt->have_exception) {
				inject_emulated_exception(vcpu);
				r = 1;
			} else {
				r = handle_emulation_failure(vcpu, emulation_type);
			}
			goto out;
		}
	}
	for (;;) {
		r = x86_emulate_insn(ctxt);
		if (r != EMULATION_RESTART || ctxt->have_exception || ctxt->pio.count ||
		    ctxt->mmio_needed)
			break;
		emulator_writeback(vcpu, ctxt);
		tf = ctxt->state.rflags & X86_EFLAGS_TF;
		ctxt->gpa_available = emulation_type & EMULTYPE_PF;
	}
	if (r == EMULATION_FAILED) {
		r = handle_emulation_failure(vcpu, emulation_type);
		goto out;
	}
	if (ctxt->have_exception) {
		ctxt->mmio_needed = 0;
		r = 1;
		inject_emulated_exception(vcpu);
		writeback = false;	/* a fault leaves the registers as they were */
	} else if (ctxt->pio.count) {
		if (!ctxt->pio.in) {
			ctxt->pio.count = 0;
		} else {
			writeback = false;
			vcpu->arch.complete_userspace_io = complete_emulated_pio;
		}
		r = 0;
	} else if (ctxt->mmio_needed) {
		if (!ctxt->mmio_is_write)
			writeback = false;
		r = 0;
		vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	} else {
		r = 1;
	}
	if (writeback) {
		emulator_writeback(vcpu, ctxt);
		/*
		 * kvm_vcpu_do_singlestep(): the trap the processor would raise
		 * after the instruction.  Note, as in KVM, not when the
		 * instruction exits to userspace (r == 0).
		 */
		if (r == 1 && tf && !ctxt->have_exception) {
			/* DR6 is not part of VCPU_EXREG_EMULATOR: the whole state, as kvm_vcpu_do_singlestep() */
			kvm_x86_call(cache_guest_state)(vcpu);
			vcpu->arch.dr6 = ((vcpu->arch.dr6 & ~0xfull) | DR6_ACTIVE_LOW | DR6_BS) & ~BIT_ULL(12);
			kvm_register_mark_dirty(&vcpu->arch, VCPU_EXREG_EMULATOR);
			kvm_queue_exception(vcpu, DB_VECTOR, false, 0);
		}
	}
out:
	/*
	 * Note, written back now rather than at the next VM entry as in KVM:
	 * code that runs before it (interrupt_allowed(), the segment bases of
	 * kvm_get_linear_rip()) reads these fields from the VMCS.  Nothing
	 * dirty (an instruction that changed only GPRs, RIP and RFLAGS):
	 * nothing to write.
	 */
	if (vcpu->arch.regs_dirty)
		kvm_x86_call(write_dirty_regs)(vcpu);
	return r;
}

/*
 * x86_emulate_instruction() with kvm->srcu held.  In line, so that
 * kvm_mmu_page_fault() takes the decode assist's store without a frame of
 * its own (and without testing the MMIO page twice).
 */
static __always_inline int __x86_emulate_instruction(struct kvm_vcpu *vcpu, u64 cr2_or_gpa,
						     int emulation_type, void *insn, int insn_len)
{
	const struct kvm_mmio_assist *a = &vcpu->arch.emul_assist;

	/*
	 * The processor's decode assist reported a MOV store or load: no
	 * fetch, no decode.  Set only around kvm_mmu_page_fault(), which comes here
	 * with it only for an MMIO fault on the vCPU's MMIO page
	 * (vcpu_match_mmio_gpa(), or vcpu_cache_mmio_info() just now).
	 */
	if (a->bytes && (emulation_type & (EMULTYPE_PF | EMULTYPE_NO_DECODE)) == EMULTYPE_PF) {
		if (likely(!a->load)) {
			if (!kvm_mmio_write_assisted(vcpu, cr2_or_gpa, a->bytes, a->data))
				return 0;
		} else if (!kvm_mmio_read_assisted(vcpu, cr2_or_gpa, a)) {
			return 0;	/* a load (handle_ept_misconfig() gives its information) */
		}
	}
	return __x86_emulate_instruction_slow(vcpu, cr2_or_gpa, emulation_type, insn, insn_len);
}

int x86_emulate_instruction(struct kvm_vcpu *vcpu, u64 cr2_or_gpa, int emulation_type,
			    void *insn, int insn_len)
{
	int idx = kvm_vcpu_srcu_read_lock(vcpu);
	int r = __x86_emulate_instruction(vcpu, cr2_or_gpa, emulation_type, insn, insn_len);

	kvm_vcpu_srcu_read_unlock(vcpu, idx);
	return r;
}

int kvm_emulate_instruction(struct kvm_vcpu *vcpu, int emulation_type)
{
	return x86_emulate_instruction(vcpu, 0, emulation_type, NULL, 0);
}

/* String I/O (INS/OUTS) goes through the emulator, as KVM's handle_io(). */
int kvm_emulate_string_io(struct kvm_vcpu *vcpu, int size, u16 port, int in, int rep,
			  u32 insn_info, u64 linear)
{
	return kvm_emulate_instruction(vcpu, 0);
}

/* ---- the MMU's page faults ---- */

static __attribute__((noinline)) int kvm_mmu_page_fault_slow(struct kvm_vcpu *vcpu, u64 gpa, u32 error_code);

int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, u64 gpa, u32 error_code)
{
	int idx, r;

	/*
	 * An EPT misconfiguration on the page of the vCPU's last MMIO fault,
	 * in this memslot generation: MMIO without looking the SPTE up (KVM's
	 * mmio_info_in_cache()), straight to the emulator.
	 */
	if (likely(error_code & PFERR_RSVD_MASK)) {
		trace_kvm_page_fault(vcpu->vcpu_id, vcpu->arch.regs[VCPU_REGS_RIP], gpa, error_code);
		idx = kvm_vcpu_srcu_read_lock(vcpu);
		if (likely(vcpu_match_mmio_gpa(vcpu, gpa))) {
			r = __x86_emulate_instruction(vcpu, gpa, EMULTYPE_PF, NULL, 0);
			kvm_vcpu_srcu_read_unlock(vcpu, idx);
			vcpu->arch.emul_assist.bytes = 0;	/* consumed (handle_ept_misconfig()) */
			return r;
		}
		kvm_vcpu_srcu_read_unlock(vcpu, idx);
	}
	r = kvm_mmu_page_fault_slow(vcpu, gpa, error_code);
	vcpu->arch.emul_assist.bytes = 0;
	return r;
}

static int kvm_mmu_page_fault_slow(struct kvm_vcpu *vcpu, u64 gpa, u32 error_code)
{
	struct kvm_page_fault fault = {
		.addr = gpa,
		.error_code = error_code,
		.write = error_code & PFERR_WRITE_MASK,
		.exec = error_code & PFERR_FETCH_MASK,
		.present = error_code & PFERR_PRESENT_MASK,
		.rsvd = error_code & PFERR_RSVD_MASK,
		.caches = &vcpu->arch.mmu_caches,
	};
	struct kvm *kvm = vcpu->kvm;
	int idx, r;

	if (!fault.rsvd)
		trace_kvm_page_fault(vcpu->vcpu_id, vcpu->arch.regs[VCPU_REGS_RIP], gpa, error_code);
	idx = srcu_read_lock(&kvm->srcu);
	r = RET_PF_CONTINUE;
	/*
	 * An EPT misconfiguration: an MMIO SPTE says MMIO without a slot
	 * lookup (the page of the vCPU's last MMIO fault, kvm_mmu_page_fault()
	 * took already, unless the memslots changed since it looked).
	 */
	if (fault.rsvd && vcpu_match_mmio_gpa(vcpu, gpa)) {
		fault.gfn = gpa >> PAGE_SHIFT;
		fault.mmio_gen = vcpu->arch.mmio_gen;
		r = RET_PF_EMULATE;
	} else if (fault.rsvd) {
		r = handle_mmio_page_fault(kvm, &kvm->arch.tdp_mmu, &fault);
	}
	if (r == RET_PF_CONTINUE)
		r = kvm_tdp_page_fault(kvm, &kvm->arch.tdp_mmu, &fault);
	if (r == RET_PF_EMULATE && !fault.slot)
		vcpu_cache_mmio_info(vcpu, fault.gfn, fault.mmio_gen);
	srcu_read_unlock(&kvm->srcu, idx);
	if (r == -EFAULT && fault.slot) {
		/*
		 * The slot's host memory is gone: KVM_RUN fails with EFAULT and
		 * says where (kvm_mmu_prepare_memory_fault_exit()).
		 */
		struct kvm_memory_fault_exit *mf = kvm_run_memory_fault(vcpu->run);

		vcpu->run->exit_reason = KVM_EXIT_MEMORY_FAULT;
		mf->flags = 0;
		mf->gpa = fault.gfn << PAGE_SHIFT;
		mf->size = PAGE_SIZE;
	}
	if (r < 0)
		return r;
	if (r == RET_PF_EMULATE) {
		/* the decode assist's store only for MMIO without a slot (__x86_emulate_instruction()) */
		if (fault.slot)
			vcpu->arch.emul_assist.bytes = 0;
		return x86_emulate_instruction(vcpu, gpa, EMULTYPE_PF, NULL, 0);
	}
	return 1;
}

/* ---- events ---- */

int kvm_interrupt_window_open(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!vcpu->arch.apic && run->request_interrupt_window &&
	    kvm_x86_call(interrupt_allowed)(vcpu)) {
		run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
		return 0;
	}
	return 1;
}

static bool kvm_cpu_has_extint(struct kvm_vcpu *vcpu)
{
	struct kvm_pic *pic = vcpu->kvm->arch.vpic;

	return pic && vcpu->arch.apic && kvm_apic_accept_pic_intr(vcpu->arch.apic) &&
	       kvm_pic_output(pic);
}

static bool kvm_cpu_has_injectable_intr(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.apic)
		return false;
	return kvm_cpu_has_extint(vcpu) || kvm_apic_has_interrupt(vcpu->arch.apic) >= 0;
}

/* The INTA cycle: the PIC (ExtINT) first, as kvm_cpu_get_interrupt(). */
static int kvm_cpu_get_interrupt(struct kvm_vcpu *vcpu)
{
	int vec;

	if (kvm_cpu_has_extint(vcpu))
		return kvm_pic_read_irq(vcpu->kvm->arch.vpic);
	vec = kvm_apic_has_interrupt(vcpu->arch.apic);
	if (vec >= 0)
		kvm_apic_ack_interrupt(vcpu->arch.apic, vec);
	return vec;
}

static void kvm_check_and_inject_events(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	/* Re-inject what a VM exit interrupted (vmx_complete_interrupts()). */
	if (a->exception.injected) {
		kvm_x86_call(inject_exception)(vcpu);
		a->exception.injected = false;
		return;
	}
	if (a->nmi_injected) {
		kvm_x86_call(inject_nmi)(vcpu);
		a->nmi_injected = false;
		return;
	}
	if (a->exception.pending) {
		a->exception.pending = false;
		kvm_x86_call(inject_exception)(vcpu);
		return;
	}
	if (a->interrupt.injected) {
		/* KVM_INTERRUPT, or an interrupted delivery: inject when possible */
		if (kvm_x86_call(interrupt_allowed)(vcpu) || a->apic) {
			kvm_x86_call(inject_irq)(vcpu, a->interrupt.nr);
			a->interrupt.injected = false;
		} else {
			kvm_x86_call(enable_irq_window)(vcpu);
		}
		return;
	}
	process_nmi(vcpu);
	if (a->nmi_pending) {
		if (kvm_x86_call(nmi_allowed)(vcpu)) {
			a->nmi_pending--;
			vcpu->stat->nmi_injections++;
			kvm_x86_call(inject_nmi)(vcpu);
			/* the second one waits for the IRET (NMI window) */
			if (a->nmi_pending)
				kvm_x86_call(enable_nmi_window)(vcpu);
			return;
		}
		kvm_x86_call(enable_nmi_window)(vcpu);
	}
	/* KVM_GUESTDBG_BLOCKIRQ: no interrupt is taken while userspace steps the guest. */
	if (kvm_cpu_has_injectable_intr(vcpu) && !(a->guest_debug & KVM_GUESTDBG_BLOCKIRQ)) {
		if (kvm_x86_call(interrupt_allowed)(vcpu)) {
			int vec = kvm_cpu_get_interrupt(vcpu);

			if (vec >= 0) {
				trace_kvm_inj_virq(vec);
				vcpu->stat->irq_injections++;
				kvm_x86_call(inject_irq)(vcpu, vec);
			}
			/*
			 * Another one waiting (a lower priority, or the PIC's):
			 * an interrupt-window exit as soon as the guest can
			 * take it, as KVM does after an injection.
			 */
			if (kvm_cpu_has_injectable_intr(vcpu))
				kvm_x86_call(enable_irq_window)(vcpu);
		} else {
			kvm_x86_call(enable_irq_window)(vcpu);
		}
	}
	if (!a->apic && vcpu->run->request_interrupt_window)
		kvm_x86_call(enable_irq_window)(vcpu);
}

/*
 * Whether kvm_check_and_inject_events() may have anything to do: an event
 * to re-inject or inject, an NMI queued by another thread, or userspace
 * waiting for an interrupt window (an in-kernel LAPIC, whose interrupts it
 * asks for, the caller tests first).  KVM gates inject_pending_event() on
 * KVM_REQ_EVENT; here every source is looked at directly, a few loads on a
 * VM exit that left nothing pending.
 */
static __always_inline u64 __kvm_timer_host_tsc_left(struct kvm_vcpu *vcpu);

static __always_inline bool kvm_vcpu_events_pending(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	/* One test of the OR of them all (no compare per field). */
	return (a->exception.injected | a->exception.pending | a->nmi_injected |
		a->interrupt.injected | a->nmi_pending |
		__atomic_load_n(&a->nmi_queued, __ATOMIC_ACQUIRE) |
		run->request_interrupt_window) != 0;
}

static void kvm_inject_pending_timer_irqs(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.apic)
		kvm_lapic_timer_check(vcpu->arch.apic);
	if (vcpu->kvm->arch.vpit && vcpu->vcpu_idx == 0)
		kvm_pit_timer_check(vcpu->kvm->arch.vpit);
}

/*
 * kvm_vcpu_exit_request(): after a fastpath exit, whether the guest may be
 * re-entered at once or vcpu_enter_guest() must run again first: a request
 * (another thread's TLB flush, an interrupt the LAPIC accepted: its kick
 * makes one), userspace wanting the vCPU back (immediate_exit, set by a
 * signal handler: KVM's pending-signal check), or a timer now due (here
 * timers are polled before entries, KVM's hrtimers would have fired and
 * made a request).
 */
static bool kvm_vcpu_exit_request(struct kvm_vcpu *vcpu, bool irqchip)
{
	if (irqchip)
		kvm_inject_pending_timer_irqs(vcpu);
	return __atomic_load_n(&vcpu->requests, __ATOMIC_SEQ_CST) ||
	       READ_ONCE(vcpu->run->immediate_exit);
}

/*
 * vcpu_enter_guest(): requests, events, then the vendor's run in a loop as
 * long as the fastpath says to re-enter, then the exit handler.
 * Return: > 0 to go on, 0 to exit to userspace, < 0 for an error.
 */
/* @run: vcpu->run, which never changes (passed down: no reload after the calls before). */
static __always_inline int vcpu_enter_guest_run(struct kvm_vcpu *vcpu, bool irqchip, bool plain,
						bool resumed);

/* The kvm_exit trace point, out of line: no registers of its own in the run loop. */
static __attribute__((noinline, cold)) void kvm_trace_exit_info(struct kvm_vcpu *vcpu)
{
	u32 reason;
	u64 info1, info2;

	kvm_x86_call(get_exit_info)(vcpu, &reason, &info1, &info2);
	trace_kvm_exit(vcpu->vcpu_id, reason, vcpu->arch.regs[VCPU_REGS_RIP], info1, info2);
}

static __always_inline int __vcpu_enter_guest(struct kvm_vcpu *vcpu, bool irqchip, struct kvm_run *run)
{
	bool plain = false;
	u64 req;

	/*
	 * Timers first: an expiry raises KVM_REQ_EVENT on this very vCPU, which
	 * the check below then consumes (else the entry would take it for a
	 * late interrupt from another thread and leave the guest at once).
	 */
	if (irqchip)
		kvm_inject_pending_timer_irqs(vcpu);
	req = __atomic_load_n(&vcpu->requests, __ATOMIC_ACQUIRE);
	if (unlikely(req)) {
		if ((req & (1ull << KVM_REQ_TLB_FLUSH)) && kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu))
			kvm_x86_call(flush_tlb_all)(vcpu);
		if (req & (1ull << KVM_REQ_EVENT))
			kvm_check_request(KVM_REQ_EVENT, vcpu);
	}
	/* An INIT (another vCPU's ICR) resets the vCPU; an AP then waits for SIPI. */
	if (irqchip) {
		kvm_apic_accept_events(vcpu);
		if (vcpu->arch.mp_state != KVM_MP_STATE_RUNNABLE)
			return 1;
	}
	/* Note, !irqchip: no LAPIC, whose presence alone calls for the injection. */
	if ((irqchip && vcpu->arch.apic) || kvm_vcpu_events_pending(vcpu, run))
		kvm_check_and_inject_events(vcpu);
	else if (!irqchip)
		plain = true;
	/*
	 * Note, !irqchip: they stay as kvm_arch_vcpu_create() set them (no
	 * deadline, no polling); only this function writes them, and a vCPU
	 * without a LAPIC never gets one (vcpu_enter_guest()).
	 */
	if (irqchip) {
		vcpu->arch.timer_tsc_left = __kvm_timer_host_tsc_left(vcpu);
		vcpu->arch.entry_polls_timers = true;
	} else {
#ifdef USERKVM_DEBUG
		if (vcpu->arch.timer_tsc_left != ~0ull || vcpu->arch.entry_polls_timers)
			abort();
#endif
	}
	return vcpu_enter_guest_run(vcpu, irqchip, plain, false);
}

/*
 * The entry itself and the exit, the second half of vcpu_enter_guest().
 * @plain: no LAPIC and no event pending at this entry (see resume_plain).
 * @resumed: the entry of kvm_vcpu_resume_plain(), which an entry preceded.
 */
static __always_inline int vcpu_enter_guest_run(struct kvm_vcpu *vcpu, bool irqchip, bool plain,
						bool resumed)
{
	enum exit_fastpath_completion fastpath;
	u64 req;

	/*
	 * What the next KVM_RUN may rely on if this entry ends in a fastpath
	 * exit to userspace; any other exit clears it (below).
	 */
	if (!irqchip)
		vcpu->arch.resume_plain = plain;
	/*
	 * KVM's smp_store_mb(): the store before the look at the requests, so
	 * that a kicker sees the vCPU in the guest or the vCPU sees its
	 * request.  From ENTERING_GUEST_MODE (a plain resume, whose KVM_RUN's
	 * mutex lock was the barrier after that store) no barrier: a locked
	 * instruction costs 4-5 ns on some hosts, a tenth of an exit to
	 * userspace.
	 */
	if (likely(vcpu->arch.mode == ENTERING_GUEST_MODE) ||
	    (vcpu->arch.mode == ENTERING_BLOCKABLE_MODE && kvm_mutex_bias_mine(vcpu->mutex)))
		__atomic_store_n(&vcpu->arch.mode, IN_GUEST_MODE, KVM_BIAS_ENTER_ORDER);
	else
		__atomic_store_n(&vcpu->arch.mode, IN_GUEST_MODE, __ATOMIC_SEQ_CST);
	req = __atomic_load_n(&vcpu->requests, __ATOMIC_SEQ_CST);
	if (unlikely(req)) {
		/*
		 * An interrupt raised after the events were looked at, by a
		 * thread that still saw the vCPU outside guest mode and so did
		 * not kick it: leave the guest at once (KVM's
		 * req_immediate_exit self-IPI); the request stays for the next
		 * entry.
		 */
		if (req & (1ull << KVM_REQ_EVENT))
			kvm_x86_call(vcpu_kick)(vcpu);
		/* A TLB flush asked for meanwhile must happen before entry. */
		if (kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu))
			kvm_x86_call(flush_tlb_all)(vcpu);
	}
	for (;;) {
		trace_kvm_entry(vcpu->vcpu_id, vcpu->arch.regs[VCPU_REGS_RIP]);
		fastpath = kvm_x86_call(vcpu_run)(vcpu);
		/*
		 * The host "CPU" is the vCPU's thread.  Note, @resumed
		 * (kvm_vcpu_resume_plain()): an entry already stored it, since
		 * only an entry sets resume_plain.
		 */
		if (!resumed)
			vcpu->arch.last_vmentry_cpu = 0;
		if (kvm_trace_on(TRACE_KVM_EXIT) && kvm_x86_ops.get_exit_info)
			kvm_trace_exit_info(vcpu);
		if (likely(fastpath != EXIT_FASTPATH_REENTER_GUEST))
			break;
		if (unlikely(kvm_vcpu_exit_request(vcpu, irqchip))) {
			fastpath = EXIT_FASTPATH_EXIT_HANDLED;
			break;
		}
		/*
		 * The fastpath may have armed a timer (IA32_TSC_DEADLINE): the
		 * preemption timer follows, as KVM's fastpath restarts the hv
		 * timer, so the deadline does not wait for the host tick.
		 */
		if (irqchip)
			vcpu->arch.timer_tsc_left = __kvm_timer_host_tsc_left(vcpu);
		/* Note, VM exits that go down the slow path are counted below. */
		vcpu->stat->exits++;
	}
	/*
	 * A release store (KVM: WRITE_ONCE + smp_wmb()): kickers and
	 * kvm_flush_remote_tlbs() only need to see it eventually, after
	 * everything the guest run did; no later load needs ordering after it.
	 */
	__atomic_store_n(&vcpu->arch.mode, OUTSIDE_GUEST_MODE, __ATOMIC_RELEASE);
	vcpu->stat->exits++;
	/* As KVM: the fastpath filled kvm_run (a PIO exit, KVM_GUESTDBG_SINGLESTEP). */
	if (fastpath == EXIT_FASTPATH_EXIT_USERSPACE)
		return 0;
	/*
	 * Note, an exit handler changes nothing resume_plain vouches for but
	 * by an event, which clears it (kvm_queue_exception(),
	 * vmx_complete_interrupts()); the next entry stores it again, and a
	 * KVM_RUN that fails clears it (vcpu_run()).
	 */
	return kvm_x86_call(handle_exit)(vcpu, fastpath);
}

/* With an in-kernel LAPIC or PIT: the timer and INIT/SIPI checks, out of line. */
static __attribute__((noinline)) int vcpu_enter_guest_irqchip(struct kvm_vcpu *vcpu)
{
	return __vcpu_enter_guest(vcpu, true, vcpu->run);
}

/*
 * In-kernel timers and INIT/SIPI exist only with an in-kernel LAPIC or
 * PIT: without them (a VMM with its own devices) none of their checks is
 * compiled into the path it takes.  The LAPIC is made with the vCPU.
 * Note, one test: a PIT needs the in-kernel irqchip (KVM_CREATE_PIT2 says
 * -ENOENT otherwise), which KVM_CREATE_IRQCHIP makes only before the
 * first vCPU (-EINVAL after), and every vCPU of such a VM has its LAPIC
 * (kvm_irqchip_vcpu_create()): a PIT implies this vCPU's LAPIC (debug
 * builds check).
 */
static __always_inline int vcpu_enter_guest(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
#ifdef USERKVM_DEBUG
	if (vcpu->kvm->arch.vpit && !vcpu->arch.apic)
		abort();
#endif
	if (vcpu->arch.apic)
		return vcpu_enter_guest_irqchip(vcpu);
	return __vcpu_enter_guest(vcpu, false, run);
}

/*
 * kvm_vcpu_has_events(): what makes a vCPU that is not running runnable.
 * An AP waiting for INIT/SIPI wakes only for those; a halted vCPU also for
 * an NMI or an interrupt it can take now (with IF = 0 an interrupt does
 * not end HLT, SDM Vol. 2A HLT), as KVM's kvm_vcpu_has_events().
 */
static bool kvm_vcpu_has_events(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu->arch.apic;

	if (apic && __atomic_load_n(&apic->pending_events, __ATOMIC_ACQUIRE))
		return true;
	if (vcpu->arch.mp_state == KVM_MP_STATE_UNINITIALIZED ||
	    vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return false;
	if (__atomic_load_n(&vcpu->arch.nmi_queued, __ATOMIC_ACQUIRE) || vcpu->arch.nmi_pending)
		return true;
	return kvm_cpu_has_injectable_intr(vcpu) && kvm_x86_call(interrupt_allowed)(vcpu);
}

/* The earliest timer deadline of @vcpu on the irqchip clock, 0 if none. */
static __always_inline u64 kvm_vcpu_next_deadline(struct kvm_vcpu *vcpu)
{
	struct kvm_pit *pit = vcpu->kvm->arch.vpit;
	u64 deadline = vcpu->arch.apic ? kvm_lapic_next_deadline(vcpu->arch.apic) : 0;

	if (pit && vcpu->vcpu_idx == 0) {
		u64 p = __atomic_load_n(&pit->next_ns, __ATOMIC_ACQUIRE);

		if (p && (!deadline || p < deadline))
			deadline = p;
	}
	return deadline;
}

static u64 irqchip_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * kvm_timer_host_tsc_left() - host TSC ticks until the vCPU's next timer
 * deadline (its LAPIC timer; the PIT on vCPU 0), ~0 if none.  In KVM an
 * hrtimer interrupt takes the vCPU out of the guest then, or the VMX
 * preemption timer does (the "hv timer", vmx_set_hv_timer()); here the
 * preemption timer always does, so a timer interrupt reaches a vCPU that
 * is running guest code without any other exit.
 */
static u64 kvm_timer_tsc_until(u64 deadline)
{
	u64 now = irqchip_clock_ns();

	if (deadline <= now)
		return 0;
	deadline -= now;
	if (deadline > 1000000000ull)
		return ~0ull;
	/* the host TSC's kHz are its ticks per millisecond */
	return deadline * kvm_host_tsc_khz() / 1000000ull;
}

/* Nothing armed (the usual case) costs the loads of kvm_vcpu_next_deadline(). */
static __always_inline u64 __kvm_timer_host_tsc_left(struct kvm_vcpu *vcpu)
{
	u64 deadline = kvm_vcpu_next_deadline(vcpu);

	return deadline ? kvm_timer_tsc_until(deadline) : ~0ull;
}

u64 kvm_timer_host_tsc_left(struct kvm_vcpu *vcpu)
{
	return __kvm_timer_host_tsc_left(vcpu);
}

/*
 * What a pending signal is to KVM_RUN in KVM (the loop ends with -EINTR):
 * kvm_run->immediate_exit, or kvm_vcpu_interrupt() from another thread.
 * The latter is consumed here, as the signal is by its delivery.
 */
static bool kvm_vcpu_signal_pending(struct kvm_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->run->immediate_exit))
		return true;
	return __atomic_load_n(&vcpu->arch.signal_pending, __ATOMIC_ACQUIRE) &&
	       __atomic_exchange_n(&vcpu->arch.signal_pending, false, __ATOMIC_ACQ_REL);
}

void kvm_vcpu_interrupt(struct kvm_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->arch.signal_pending, true, __ATOMIC_RELEASE);
	kvm_vcpu_kick(vcpu);
}

/*
 * kvm_vcpu_block(): sleep until kvm_vcpu_has_events() (another thread's
 * kvm_vcpu_kick() signals halt_cond), a timer of this vCPU expires (the
 * wait ends at the next deadline: no busy waiting), or userspace wants the
 * thread back.  KVM's wait ends on a pending signal; a library sees no
 * signals, so userkvm's ends when kvm_run->immediate_exit is set (the VMM's
 * signal handler or kicker sets it), looked at every 10 ms at least.
 * Return: 0 when there is an event, -EINTR for immediate_exit.
 */
static int kvm_vcpu_block(struct kvm_vcpu *vcpu)
{
	for (;;) {
		struct timespec ts;
		u64 deadline, now;

		kvm_inject_pending_timer_irqs(vcpu);
		if (kvm_vcpu_has_events(vcpu))
			return 0;
		if (kvm_vcpu_signal_pending(vcpu))
			return -EINTR;
		deadline = kvm_vcpu_next_deadline(vcpu);
		now = irqchip_clock_ns();
		if (!deadline || deadline > now + 10000000ull)
			deadline = now + 10000000ull;
		ts.tv_sec = deadline / 1000000000ull;
		ts.tv_nsec = deadline % 1000000000ull;
		pthread_mutex_lock(&vcpu->arch.halt_lock);
		if (!kvm_vcpu_has_events(vcpu))
			pthread_cond_timedwait(&vcpu->arch.halt_cond, &vcpu->arch.halt_lock, &ts);
		pthread_mutex_unlock(&vcpu->arch.halt_lock);
	}
}

/*
 * Halt polling (virt/kvm/kvm_main.c:kvm_vcpu_halt()): a halted vCPU first
 * spins for up to halt_poll_ns looking for an event, since a wakeup from a
 * sleep costs a thread switch each way (an IPI answered at once, a short
 * timer).  The window adapts as KVM's: it grows (from 10 us, doubling)
 * after a halt that ended within the maximum, and drops to 0 after a
 * longer one.  The maximum is smaller than KVM's 200 us: host CPUs here are
 * shared by every vCPU thread.
 */
#define KVM_HALT_POLL_NS_MAX	50000ull
#define KVM_HALT_POLL_NS_START	10000ull

static bool kvm_vcpu_poll(struct kvm_vcpu *vcpu, u64 start, u64 poll_ns)
{
	u64 now = start;

	while (now - start < poll_ns) {
		kvm_inject_pending_timer_irqs(vcpu);
		if (kvm_vcpu_has_events(vcpu))
			return true;
		if (READ_ONCE(vcpu->run->immediate_exit) ||
		    __atomic_load_n(&vcpu->arch.signal_pending, __ATOMIC_ACQUIRE))
			return false;
		for (int i = 0; i < 16; i++)
			__builtin_ia32_pause();
		now = irqchip_clock_ns();
	}
	return false;
}

static int kvm_vcpu_halt(struct kvm_vcpu *vcpu)
{
	u64 start = irqchip_clock_ns(), poll = vcpu->arch.halt_poll_ns, block_ns;
	int r = 0;

	if (!poll || !kvm_vcpu_poll(vcpu, start, poll)) {
		r = kvm_vcpu_block(vcpu);
		vcpu->stat->halt_wakeup++;
	} else {
		vcpu->stat->halt_successful_poll++;
	}
	block_ns = irqchip_clock_ns() - start;
	if (block_ns <= poll)
		;
	else if (block_ns > KVM_HALT_POLL_NS_MAX)
		vcpu->arch.halt_poll_ns = 0;
	else
		vcpu->arch.halt_poll_ns = poll ? MIN(poll * 2, KVM_HALT_POLL_NS_MAX) :
					  KVM_HALT_POLL_NS_START;
	return r;
}

/*
 * vcpu_block(): a vCPU that is not runnable (HLT, or an AP after INIT)
 * blocks; then INIT/SIPI are accepted and a halted vCPU runs again.
 */
static int vcpu_block(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.mp_state == KVM_MP_STATE_HALTED ? kvm_vcpu_halt(vcpu) :
							 kvm_vcpu_block(vcpu)) {
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		vcpu->stat->signal_exits++;
		return -EINTR;
	}
	kvm_apic_accept_events(vcpu);
	switch (vcpu->arch.mp_state) {
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_AP_RESET_HOLD:
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
		break;
	default:
		break;
	}
	return 1;
}

static __always_inline int vcpu_run(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	int r;

	for (;;) {
		if (vcpu->arch.mp_state == KVM_MP_STATE_RUNNABLE)
			r = vcpu_enter_guest(vcpu, run);
		else
			r = vcpu_block(vcpu);
		if (r <= 0)
			break;
		if (kvm_vcpu_signal_pending(vcpu)) {
			vcpu->run->exit_reason = KVM_EXIT_INTR;
			vcpu->stat->signal_exits++;
			r = -EINTR;
			break;
		}
	}
	/* Only an exit to userspace leaves the vCPU plain (resume_plain). */
	if (unlikely(r < 0))
		vcpu->arch.resume_plain = false;
	return r;
}

/*
 * vcpu_run() for kvm_vcpu_resume_plain(): after an entry that did not end
 * in an exit to userspace (@entered: the signal check first), or instead
 * of its entry.
 */
static __attribute__((noinline)) int vcpu_run_more(struct kvm_vcpu *vcpu, bool entered)
{
	if (entered && kvm_vcpu_signal_pending(vcpu)) {
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		vcpu->stat->signal_exits++;
		vcpu->arch.resume_plain = false;
		return -EINTR;
	}
	return vcpu_run(vcpu, vcpu->run);
}

/* post_kvm_run_save(): what userspace reads after every KVM_RUN. */
static __always_inline void post_kvm_run_save(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	run->if_flag = !!(vcpu->arch.rflags & X86_EFLAGS_IF);
	run->cr8 = kvm_get_cr8(vcpu);
	run->apic_base = vcpu->arch.apic_base;
	/*
	 * Note, the vendor hook is asked last: RFLAGS.IF is a condition of it
	 * (an interrupt window needs IF = 1), so IF = 0 answers without a call.
	 */
	run->ready_for_interrupt_injection = !vcpu->arch.apic && !vcpu->arch.interrupt.injected &&
		(vcpu->arch.rflags & X86_EFLAGS_IF) && kvm_x86_call(interrupt_allowed)(vcpu);
}


/*
 * KVM_SET_SIGNAL_MASK: the mask is the thread's while KVM_RUN runs
 * (kvm_sigset_activate()), e.g. QEMU unblocks its SIG_IPI only there.
 */
static void kvm_sigset_activate(struct kvm_vcpu *vcpu, sigset_t *old)
{
	sigset_t set;

	if (!vcpu->arch.sigset_active)
		return;
	sigemptyset(&set);
	for (int sig = 1; sig <= 64 && sig < NSIG; sig++)
		if (vcpu->arch.sigset & (1ull << (sig - 1)))
			sigaddset(&set, sig);
	pthread_sigmask(SIG_SETMASK, &set, old);
}

static void kvm_sigset_deactivate(struct kvm_vcpu *vcpu, const sigset_t *old)
{
	if (vcpu->arch.sigset_active)
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

/*
 * KVM_CAP_SYNC_REGS: registers in kvm_run->s.regs instead of ioctls.
 * sync_regs() takes the ones userspace marked dirty before the run (from a
 * copy: userspace may change the page meanwhile); store_regs() writes the
 * valid ones after it.
 */
static int sync_regs(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sync_regs s;

	memcpy(&s, &run->s.regs, sizeof(s));
	kvm_x86_call(cache_guest_state)(vcpu);
	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		kvm_arch_vcpu_ioctl_set_regs(vcpu, &s.regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		if (__set_sregs(vcpu, &s.sregs))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) {
		if (kvm_vcpu_ioctl_x86_set_vcpu_events(vcpu, &s.events))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

/* KVM_RUN's KVM_CAP_SYNC_REGS checks and kvm_dirty_regs (0, or KVM_RUN's error). */
static __attribute__((noinline)) int kvm_run_sync_regs_in(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	if (unlikely((run->kvm_valid_regs | run->kvm_dirty_regs) & ~KVM_SYNC_X86_VALID_FIELDS))
		return -EINVAL;
	if (run->kvm_dirty_regs) {
		kvm_cui_save_linear_rip(vcpu);
		return sync_regs(vcpu);
	}
	return 0;
}

static void store_regs(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	BUILD_BUG_ON(sizeof(struct kvm_sync_regs) > SYNC_REGS_SIZE_BYTES);
	kvm_x86_call(cache_guest_state)(vcpu);
	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		kvm_arch_vcpu_ioctl_get_regs(vcpu, &run->s.regs.regs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		__get_sregs(vcpu, &run->s.regs.sregs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_EVENTS)
		kvm_vcpu_ioctl_x86_get_vcpu_events(vcpu, &run->s.regs.events);
}

/* An AP that never got INIT (see __kvm_arch_vcpu_ioctl_run()), out of line. */
static __attribute__((noinline)) int kvm_vcpu_run_uninitialized(struct kvm_vcpu *vcpu)
{
	int r = -EAGAIN;

	if (READ_ONCE(vcpu->run->immediate_exit))
		return -EINTR;
	if (kvm_vcpu_block(vcpu)) {
		r = -EINTR;
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		vcpu->stat->signal_exits++;
	}
	kvm_apic_accept_events(vcpu);
	return r;
}

/*
 * The completion of the last exit (KVM's vcpu->arch.complete_userspace_io
 * call in kvm_arch_vcpu_ioctl_run()), taken: the common ones called
 * directly (inline), as KVM's RETPOLINE builds do.
 */
static __always_inline int kvm_complete_userspace_io(struct kvm_vcpu *vcpu, int (*cui)(struct kvm_vcpu *))
{
	vcpu->arch.complete_userspace_io = NULL;
	vcpu->arch.cui_next_rip = 0;
	if (likely(cui == complete_fast_pio_out))
		return __complete_fast_pio_out(vcpu);
	if (cui == complete_fast_pio_in)
		return __complete_fast_pio_in(vcpu);
	return cui(vcpu);
}

/*
 * KVM_RUN after a run that left the vCPU plain (resume_plain): no LAPIC,
 * runnable, no event to inject, no RIP saved by an ioctl, no sync_regs,
 * no immediate_exit, no interrupt window asked for, CR8 as it was.  What __kvm_arch_vcpu_ioctl_run() and vcpu_run() do then: the
 * completion of the exit and one entry (events and mp_state need no
 * look), then the loop as usual if the guest did not exit to userspace.
 */
static __always_inline int kvm_vcpu_resume_plain(struct kvm_vcpu *vcpu)
{
	u64 next_rip = vcpu->arch.cui_next_rip;
	int r = 1;

#ifdef USERKVM_DEBUG
	int (*dcui)(struct kvm_vcpu *) = vcpu->arch.complete_userspace_io;

	if (vcpu->arch.apic || vcpu->arch.mp_state != KVM_MP_STATE_RUNNABLE ||
	    ((dcui == complete_fast_pio_out || dcui == complete_fast_pio_in) &&
	     vcpu->arch.cui_linear_rip_saved) || kvm_vcpu_events_pending(vcpu, vcpu->run) ||
	    (next_rip && dcui != complete_fast_pio_out && dcui != complete_fast_pio_in))
		abort();
#endif
	/*
	 * A PIO completion whose skip the exit found to be RIP = cui_next_rip
	 * only: nothing but RIP (and an IN's RAX) changes before the entry,
	 * which the vendor then need not check for anything else.  Note, one
	 * test: cui_next_rip is nonzero only with complete_fast_pio_out() or
	 * complete_fast_pio_in() pending (set with them by kvm_fast_pio_user(),
	 * cleared by every completion), so the completion need not be looked
	 * at first.
	 */
	if (likely(next_rip)) {
		/* ~0: an OUT (complete_fast_pio_out()); else complete_fast_pio_in()'s RAX */
		if (vcpu->arch.pio_in_keep != ~0ull)
			complete_fast_pio_in_rax(vcpu);
		vcpu->arch.regs[VCPU_REGS_RIP] = next_rip;
		vcpu->arch.complete_userspace_io = NULL;
		vcpu->arch.cui_next_rip = 0;
		vcpu->arch.entry_rip_only = true;
	} else if (vcpu->arch.complete_userspace_io) {
		/*
		 * Note, no cui_linear_rip was saved since the PIO exit (which
		 * clears the flag; only the PIO completions read it): RIP is
		 * where the exit left it.  An MMIO completion may emulate and
		 * fault: kvm_flush_remote_tlbs() must not wait for it.
		 */
		if (likely(vcpu->arch.mode == ENTERING_GUEST_MODE))
			__atomic_store_n(&vcpu->arch.mode, ENTERING_BLOCKABLE_MODE, __ATOMIC_RELAXED);
		r = kvm_complete_userspace_io(vcpu, vcpu->arch.complete_userspace_io);
		if (r <= 0)
			return r;
	}
	/* else nothing to complete (after an exit the kernel completed: HLT, ...) */
	/*
	 * Note, no look at requests before the entry: one made by another
	 * thread or by the completion (a #DB queued for RFLAGS.TF:
	 * kvm_queue_exception()) is seen after the vCPU enters guest mode
	 * (vcpu_enter_guest_run()), where a KVM_REQ_EVENT makes the entry
	 * leave at once, before any guest instruction, and the next one
	 * (vcpu_run(), through the full vcpu_enter_guest()) injects it.
	 */
	r = vcpu_enter_guest_run(vcpu, false, true, true);
	if (likely(!r))
		return 0;
	if (r < 0) {
		vcpu->arch.resume_plain = false;	/* as vcpu_run() */
		return r;
	}
	return vcpu_run_more(vcpu, true);
}

/*
 * kvm_arch_vcpu_ioctl_run(), in KVM's order: an AP waiting for SIPI, the
 * sync_regs validity check, the CR8 of a userspace LAPIC, the completion
 * of the last exit (PIO, ...), and only then immediate_exit (so that
 * KVM_RUN with immediate_exit set completes a pending exit and returns
 * -EINTR without entering the guest; exit_reason is left alone).
 */
/*
 * The part of __kvm_arch_vcpu_ioctl_run() after a run that did not leave
 * the vCPU plain (or with kvm_run fields set), out of line: the common
 * KVM_RUN (kvm_vcpu_resume_plain()) keeps fewer registers across the run.
 */
static __attribute__((noinline)) int kvm_arch_vcpu_ioctl_run_full(struct kvm_vcpu *vcpu,
								  struct kvm_run *run)
{
	int r;

	vcpu_mode_outside(vcpu);
	/*
	 * An application processor that never got INIT blocks until an INIT or
	 * SIPI arrives, takes it and returns -EAGAIN (userspace runs it again:
	 * then it waits in vcpu_run() for the SIPI), as KVM does.
	 */
	if (unlikely(vcpu->arch.mp_state == KVM_MP_STATE_UNINITIALIZED))
		return kvm_vcpu_run_uninitialized(vcpu);
	/* Neither set (no KVM_CAP_SYNC_REGS use): one test, the rest out of line. */
	if (unlikely(run->kvm_valid_regs | run->kvm_dirty_regs)) {
		r = kvm_run_sync_regs_in(vcpu, run);
		if (r)
			return r;
	}
	/* Without an in-kernel LAPIC, userspace owns the TPR: kvm_run->cr8 is it. */
	if (!vcpu->arch.apic && unlikely(run->cr8 != vcpu->arch.cr8)) {
		if (kvm_set_cr8(vcpu, run->cr8))
			return -EINVAL;
	}
	if (vcpu->arch.complete_userspace_io) {
		r = kvm_complete_userspace_io(vcpu, vcpu->arch.complete_userspace_io);
		if (r <= 0)
			return r;
	}
	/*
	 * After the completion of an MMIO/PIO exit, as KVM: immediate_exit is
	 * how userspace makes the guest state consistent (the instruction
	 * done) without running the guest.  Note, KVM leaves exit_reason as
	 * it was here.
	 */
	if (READ_ONCE(run->immediate_exit))
		return -EINTR;
	return vcpu_run(vcpu, run);
}

/* request_interrupt_window and immediate_exit, adjacent bytes of kvm_run: nonzero if either is. */
static __always_inline u16 kvm_run_window_or_exit(const struct kvm_run *run)
{
	u16 v;

	BUILD_BUG_ON(offsetof(struct kvm_run, immediate_exit) !=
		     offsetof(struct kvm_run, request_interrupt_window) + 1);
	memcpy(&v, &run->request_interrupt_window, sizeof(v));
	return v;
}

static __always_inline int __kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	bool plain;
	int r;

	kvm_arch_vcpu_load(vcpu);
	/* userspace may have written guest code since the last run: the entry sees it */
	vmx_guest_code_sync();
	run->flags = 0;
	plain = vcpu->arch.resume_plain;
	vcpu->arch.resume_plain = false;
	/*
	 * Nothing changed since the last KVM_RUN but what userspace may write
	 * into kvm_run (none of it set: sync_regs, immediate_exit, an
	 * interrupt window, a new CR8) and other threads' requests (which
	 * kvm_vcpu_resume_plain() looks at): the checks of
	 * kvm_arch_vcpu_ioctl_run_full() that only an ioctl or an event could
	 * make fail are left out.
	 */
	if (likely(plain) &&
	    likely(!(run->kvm_valid_regs | run->kvm_dirty_regs | kvm_run_window_or_exit(run) |
		     (run->cr8 ^ vcpu->arch.cr8))))
		r = kvm_vcpu_resume_plain(vcpu);
	else
		r = kvm_arch_vcpu_ioctl_run_full(vcpu, run);
	if (run->kvm_valid_regs)
		store_regs(vcpu);
	post_kvm_run_save(vcpu, run);	/* vcpu->run does not change: no reload after the calls */
	/*
	 * The next KVM_RUN may resume plainly (resume_plain): then it enters
	 * from ENTERING_GUEST_MODE, stored here, before the unlock that
	 * orders it for kvm_flush_remote_tlbs() and kickers (kvm_host.h).
	 */
	if (vcpu->arch.resume_plain)
		__atomic_store_n(&vcpu->arch.mode, ENTERING_GUEST_MODE, __ATOMIC_RELAXED);
	kvm_arch_vcpu_put(vcpu);
	return r;
}

/*
 * KVM_RUN with the signal mask of KVM_SET_SIGNAL_MASK in force (QEMU's
 * vCPU threads): out of line, so that the common KVM_RUN has no sigset_t
 * to keep and no test of it after the run.  Note, KVM sets the mask after
 * vcpu_load() and restores it before vcpu_put(); the two are independent.
 */
static __attribute__((noinline)) int kvm_arch_vcpu_ioctl_run_sigset(struct kvm_vcpu *vcpu)
{
	sigset_t oldset;
	int r;

	kvm_sigset_activate(vcpu, &oldset);
	r = __kvm_arch_vcpu_ioctl_run(vcpu);
	kvm_sigset_deactivate(vcpu, &oldset);
	return r;
}

int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)
{
	if (unlikely(vcpu->arch.sigset_active))
		return kvm_arch_vcpu_ioctl_run_sigset(vcpu);
	return __kvm_arch_vcpu_ioctl_run(vcpu);
}
