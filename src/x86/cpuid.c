// SPDX-License-Identifier: MIT
/*
 * arch/x86/kvm/cpuid.c: supported CPUID (KVM_GET_SUPPORTED_CPUID) and the
 * guest's CPUID (KVM_SET_CPUID2/KVM_GET_CPUID2).
 *
 * KVM builds its supported CPUID by running CPUID on the host processor
 * and filtering every leaf (__do_cpuid_func): features KVM does not
 * virtualize are cleared, features KVM emulates are set, topology and
 * power leaves are zeroed.  userkvm does the same, with the processor it
 * runs guests on (src/silicon) as the host: its CPUID instruction is read
 * through vmx/vmx_ops.h (cpuid_count(), as KVM executes CPUID), so what
 * is reported is what the processor implements.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm_host.h"
#include "x86/cpuid.h"
#include "x86/lapic.h"
#include "x86/vmx/vmx_ops.h"
#include "x86/x86.h"

/*
 * What KVM virtualizes of the processor's features (kvm_set_cpu_caps()'s
 * masks), limited to what userkvm's KVM side handles; a bit is reported
 * only if the processor has it too.
 */
#define F1_ECX	(BIT(13) /* CX16 */ | BIT(17) /* PCID */ | BIT(22) /* MOVBE */ | \
		 BIT(23) /* POPCNT */ | BIT(26) /* XSAVE */)
#define F1_EDX	(BIT(0) /* FPU */ | BIT(2) /* DE */ | BIT(3) /* PSE */ | BIT(4) /* TSC */ | \
		 BIT(5) /* MSR */ | BIT(6) /* PAE */ | BIT(8) /* CX8 */ | BIT(9) /* APIC */ | \
		 BIT(11) /* SEP */ | BIT(13) /* PGE */ | BIT(15) /* CMOV */ | BIT(16) /* PAT */ | \
		 BIT(17) /* PSE36 */ | BIT(19) /* CLFLUSH */ | BIT(23) /* MMX */ | \
		 BIT(24) /* FXSR */ | BIT(25) /* SSE */ | BIT(26) /* SSE2 */)
#define F7_EBX	(BIT(0) /* FSGSBASE */ | BIT(3) /* BMI1 */ | BIT(6) /* FDP_EXCPTN_ONLY */ | \
		 BIT(7) /* SMEP */ | BIT(10) /* INVPCID */ | BIT(13) /* ZERO_FCS_FDS */ | \
		 BIT(20) /* SMAP */)
#define F7_ECX	(BIT(16) /* LA57 */ | BIT(22) /* RDPID */)
#define FD1_EAX	(BIT(0) /* XSAVEOPT */ | BIT(1) /* XSAVEC */)
#define FE1_ECX	(BIT(0) /* LAHF/SAHF */ | BIT(5) /* ABM: LZCNT */)
#define FE1_EDX	(BIT(11) /* SYSCALL */ | BIT(20) /* NX */ | BIT(27) /* RDTSCP */ | BIT(29) /* LM */)

/* The processor's CPUID instruction (the host's, to KVM). */
static void processor_cpuid_count(u32 fn, u32 idx, struct kvm_cpuid_entry2 *e)
{
	cpuid_count(fn, idx, &e->eax, &e->ebx, &e->ecx, &e->edx);
}

/*
 * kvm_cpu_caps: what KVM virtualizes, per CPUID word, before masking with
 * the processor.  KVM's kvm_set_cpu_caps() lists every feature it knows;
 * this is the subset userkvm implements.  EMULATED words are set whatever
 * the processor says (KVM's EMULATED_F: the local APIC model provides
 * x2APIC and the TSC-deadline timer, KVM provides the hypervisor bit,
 * IA32_TSC_ADJUST and IA32_ARCH_CAPABILITIES).
 */
struct kvm_cpu_cap_word {
	u32 function, index;
	u8 reg;
	u32 known;		/* KVM handles these if the processor has them */
	u32 emulated;		/* KVM provides these regardless */
};

static const struct kvm_cpu_cap_word kvm_cap_words[] = {
	/* x2APIC and TSC-deadline come from KVM's local APIC, MTRR from its MSRs */
	{ 1, 0, CPUID_ECX, F1_ECX, BIT(21) | BIT(24) | BIT(31) },
	{ 1, 0, CPUID_EDX, F1_EDX, BIT(12) /* MTRR */ },
	{ 7, 0, CPUID_EBX, F7_EBX, BIT(1) /* TSC_ADJUST */ },
	{ 7, 0, CPUID_ECX, F7_ECX, 0 },
	{ 7, 0, CPUID_EDX, 0, BIT(29) /* ARCH_CAPABILITIES */ },
	{ 0xd, 1, CPUID_EAX, FD1_EAX, 0 },
	{ 0x80000001, 0, CPUID_ECX, FE1_ECX, 0 },
	{ 0x80000001, 0, CPUID_EDX, FE1_EDX, 0 },
	{ 0x80000007, 0, CPUID_EDX, 0, 0 },
	{ 0x80000008, 0, CPUID_EBX, 0, 0 },
};

static u32 *cpuid_reg(struct kvm_cpuid_entry2 *e, unsigned int reg)
{
	switch (reg) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

/* cpuid_entry_override(): the word becomes KVM's view of it. */
static void cpuid_entry_override(struct kvm_cpuid_entry2 *e, unsigned int reg)
{
	for (size_t i = 0; i < ARRAY_SIZE(kvm_cap_words); i++) {
		const struct kvm_cpu_cap_word *w = &kvm_cap_words[i];

		if (w->function == e->function && w->index == e->index && w->reg == reg) {
			u32 *r = cpuid_reg(e, reg);

			*r = (*r & w->known) | w->emulated;
			return;
		}
	}
	*cpuid_reg(e, reg) = 0;
}

/* The processor's XSAVE components (CPUID.0xD.0:EDX:EAX) that KVM supports */
u64 kvm_supported_xcr0(void)
{
	struct kvm_cpuid_entry2 e;

	processor_cpuid_count(0xd, 0, &e);
	return ((u64)e.edx << 32 | e.eax) & (XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM);
}

int kvm_host_maxphyaddr(void)
{
	struct kvm_cpuid_entry2 e;

	processor_cpuid_count(0x80000008, 0, &e);
	return e.eax & 0xff;
}

u32 kvm_mxcsr_feature_mask(void)
{
	return 0xffff;		/* all MXCSR bits incl. DAZ; no MM (misaligned SSE) */
}

/* Leaves whose index (ECX) selects a sub-leaf: cpuid_function_is_indexed(). */
static bool cpuid_function_is_indexed(u32 function)
{
	switch (function) {
	case 4:
	case 7:
	case 0xb:
	case 0xd:
	case 0xf:
	case 0x10:
	case 0x12:
	case 0x14:
	case 0x17:
	case 0x18:
	case 0x1d:
	case 0x1e:
	case 0x1f:
	case 0x24:
	case 0x8000001d:
		return true;
	}
	return false;
}

/* xstate_required_size(): the standard-format size for @xstate_bv. */
static u32 xstate_required_size(u64 xstate_bv)
{
	u32 size = 512 + 64;

	if (xstate_bv & XFEATURE_MASK_YMM)
		size = MAX(size, XSAVE_YMM_OFFSET + XSAVE_YMM_SIZE);
	return size;
}

struct kvm_cpuid_array {
	struct kvm_cpuid_entry2 *entries;
	int maxnent;
	int nent;
};

static struct kvm_cpuid_entry2 *do_host_cpuid(struct kvm_cpuid_array *array, u32 function,
					      u32 index)
{
	struct kvm_cpuid_entry2 *entry;

	if (array->nent >= array->maxnent)
		return NULL;
	entry = &array->entries[array->nent++];
	memset(entry, 0, sizeof(*entry));
	entry->function = function;
	entry->index = index;
	/* Hypervisor leaves are always synthesized by __do_cpuid_func(). */
	if ((function & 0xc0000000) == 0x40000000)
		return entry;
	processor_cpuid_count(function, index, entry);
	if (cpuid_function_is_indexed(function))
		entry->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return entry;
}

#define KVM_CPUID_SIGNATURE	0x40000000
#define KVM_CPUID_FEATURES	0x40000001

/* One leaf of the supported CPUID, with KVM's per-leaf adjustments. */
static int __do_cpuid_func(struct kvm_cpuid_array *array, u32 function)
{
	struct kvm_cpuid_entry2 *entry = do_host_cpuid(array, function, 0);
	int max_idx;

	if (!entry)
		return -E2BIG;

	switch (function) {
	case 0:
		entry->eax = MIN(entry->eax, 0x24u);
		break;
	case 1:
		cpuid_entry_override(entry, CPUID_EDX);
		cpuid_entry_override(entry, CPUID_ECX);
		break;
	case 2:
		break;
	case 4:
		/* Sub-leaves until the one whose cache type is 0 (included). */
		for (int i = 1; entry->eax & 0x1f; i++) {
			entry = do_host_cpuid(array, function, i);
			if (!entry)
				return -E2BIG;
		}
		break;
	case 6:
		entry->eax = 0x4;	/* ARAT */
		entry->ebx = entry->ecx = entry->edx = 0;
		break;
	case 7:
		max_idx = entry->eax = MIN(entry->eax, 2u);
		cpuid_entry_override(entry, CPUID_EBX);
		cpuid_entry_override(entry, CPUID_ECX);
		cpuid_entry_override(entry, CPUID_EDX);
		for (int i = 1; i <= max_idx; i++) {
			entry = do_host_cpuid(array, function, i);
			if (!entry)
				return -E2BIG;
			entry->eax = entry->ebx = entry->ecx = entry->edx = 0;
		}
		break;
	case 0xa:
		/* No PMU is virtualized. */
		entry->eax = entry->ebx = entry->ecx = entry->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		/* No topology: a valid one is indicated by sub-leaf 1. */
		entry->eax = entry->ebx = entry->ecx = 0;
		break;
	case 0xd: {
		u64 permitted_xcr0 = kvm_supported_xcr0();

		entry->eax &= permitted_xcr0;
		entry->ebx = xstate_required_size(permitted_xcr0);
		entry->ecx = entry->ebx;
		entry->edx &= permitted_xcr0 >> 32;
		if (!permitted_xcr0)
			break;
		entry = do_host_cpuid(array, function, 1);
		if (!entry)
			return -E2BIG;
		cpuid_entry_override(entry, CPUID_EAX);	/* XSAVEOPT, XSAVEC, ... */
		/* with XSAVEC: the compacted size for XCR0 (no supervisor state) */
		entry->ebx = entry->eax & BIT(1) ? xstate_required_size(permitted_xcr0) : 0;
		entry->ecx = entry->edx = 0;
		for (int i = 2; i < 64; i++) {
			if (!(permitted_xcr0 & BIT_ULL(i)))
				continue;
			entry = do_host_cpuid(array, function, i);
			if (!entry)
				return -E2BIG;
			entry->edx = 0;
		}
		break;
	}
	case KVM_CPUID_SIGNATURE:
		entry->eax = KVM_CPUID_FEATURES;
		memcpy(&entry->ebx, "KVMK", 4);
		memcpy(&entry->ecx, "VMKV", 4);
		memcpy(&entry->edx, "M\0\0\0", 4);
		break;
	case KVM_CPUID_FEATURES:
		/*
		 * Only the paravirtual features userkvm implements: no port
		 * 0x80 delays are needed.  kvmclock, async PF, PV EOI and the
		 * rest come with the MSRs behind them.
		 */
		entry->eax = BIT(KVM_FEATURE_NOP_IO_DELAY_BIT);
		entry->ebx = entry->ecx = entry->edx = 0;
		break;
	case 0x80000000:
		entry->eax = MIN(entry->eax, 0x80000022u);
		break;
	case 0x80000001:
		entry->ebx &= ~0x0fff0000u;
		cpuid_entry_override(entry, CPUID_EDX);
		cpuid_entry_override(entry, CPUID_ECX);
		break;
	case 0x80000005:
		break;
	case 0x80000006:
		entry->edx &= ~0x00030000u;
		break;
	case 0x80000007:
		cpuid_entry_override(entry, CPUID_EDX);
		entry->eax = entry->ebx = entry->ecx = 0;
		break;
	case 0x80000008: {
		/*
		 * PhysAddrSize is the guest's MAXPHYADDR, GuestPhysAddrSize the
		 * largest GPA the (4-level) EPT can map.
		 */
		unsigned int virt_as = MAX((entry->eax >> 8) & 0xff, 48u);
		unsigned int phys_as = entry->eax & 0xff;
		unsigned int g_phys_as = MIN(phys_as, 48u);

		entry->eax = phys_as | (virt_as << 8) | (g_phys_as << 16);
		entry->ecx &= ~(0xffff0000u | 0x00000f00u);
		entry->edx = 0;
		cpuid_entry_override(entry, CPUID_EBX);
		break;
	}
	default:
		/* 3 (serial number), 5 (MONITOR), brand string, ...: hidden */
		entry->eax = entry->ebx = entry->ecx = entry->edx = 0;
		break;
	}
	return 0;
}

/*
 * cpuid_func_emulated(): what KVM emulates in software whatever the
 * processor: MOVBE (in the instruction emulator, on #UD) and RDPID.
 * userkvm's processor executes both natively, so they are always there.
 */
static int cpuid_func_emulated(struct kvm_cpuid_entry2 *entry, u32 func)
{
	memset(entry, 0, sizeof(*entry));
	entry->function = func;
	switch (func) {
	case 0:
		entry->eax = 7;
		return 1;
	case 1:
		entry->ecx = BIT(22);	/* MOVBE */
		return 1;
	case 7:
		entry->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (kvm_cpu_cap_has(X86_FEATURE_RDTSCP))
			entry->ecx = BIT(22);	/* RDPID */
		return 1;
	default:
		return 0;
	}
}

static int do_cpuid_func(struct kvm_cpuid_array *array, u32 func, unsigned int type)
{
	if (type == KVM_GET_EMULATED_CPUID) {
		if (array->nent >= array->maxnent)
			return -E2BIG;
		array->nent += cpuid_func_emulated(&array->entries[array->nent], func);
		return 0;
	}
	return __do_cpuid_func(array, func);
}

static int get_cpuid_func(struct kvm_cpuid_array *array, u32 func, unsigned int type)
{
	u32 limit;
	int r;

	r = do_cpuid_func(array, func, type);
	if (r)
		return r;
	limit = array->nent ? array->entries[array->nent - 1].eax : 0;
	for (func = func + 1; func <= limit; ++func) {
		r = do_cpuid_func(array, func, type);
		if (r)
			break;
	}
	return r;
}

/*
 * KVM checks that KVM_GET_EMULATED_CPUID callers pass clean padding (it
 * did not for KVM_GET_SUPPORTED_CPUID, and cannot start now).
 */
static bool sanity_check_entries(struct kvm_cpuid_entry2 *entries, u32 num_entries,
				 unsigned int type)
{
	if (type != KVM_GET_EMULATED_CPUID)
		return false;
	for (u32 i = 0; i < num_entries; i++) {
		u32 pad[3];

		if (copy_from_user(pad, entries[i].padding, sizeof(pad)))
			return true;
		if (pad[0] || pad[1] || pad[2])
			return true;
	}
	return false;
}

/*
 * kvm_dev_ioctl_get_cpuid() - KVM_GET_SUPPORTED_CPUID
 *
 * Return: 0 with cpuid->nent set to the number of entries, or -E2BIG if
 * @cpuid->nent is too small (nent is then left as it was, as in KVM:
 * callers retry with a larger array).  Centaur leaves are absent (the
 * processor is not a Centaur one).
 */
int kvm_dev_ioctl_get_cpuid(struct kvm_cpuid2 *cpuid, struct kvm_cpuid_entry2 *entries,
			    unsigned int type)
{
	static const u32 funcs[] = { 0, 0x80000000, KVM_CPUID_SIGNATURE };
	struct kvm_cpuid_array array = { .nent = 0 };
	int r = 0;

	if (cpuid->nent < 1)
		return -E2BIG;
	if (cpuid->nent > KVM_MAX_CPUID_ENTRIES)
		cpuid->nent = KVM_MAX_CPUID_ENTRIES;
	if (sanity_check_entries(entries, cpuid->nent, type))
		return -EINVAL;
	array.entries = calloc(cpuid->nent, sizeof(struct kvm_cpuid_entry2));
	if (!array.entries)
		return -ENOMEM;
	array.maxnent = cpuid->nent;
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++) {
		r = get_cpuid_func(&array, funcs[i], type);
		if (r)
			goto out_free;
	}
	cpuid->nent = array.nent;
	if (copy_to_user(entries, array.entries, array.nent * sizeof(struct kvm_cpuid_entry2)))
		r = -EFAULT;
out_free:
	free(array.entries);
	return r;
}

/* The supported CPUID, computed once; kvm_cpu_cap_has() reads it. */
static struct kvm_cpuid_entry2 supported[64];
static int nr_supported;
static pthread_once_t supported_once = PTHREAD_ONCE_INIT;

static void supported_init(void)
{
	struct kvm_cpuid_array array = { supported, ARRAY_SIZE(supported), 0 };

	get_cpuid_func(&array, 0, KVM_GET_SUPPORTED_CPUID);
	get_cpuid_func(&array, 0x80000000, KVM_GET_SUPPORTED_CPUID);
	nr_supported = array.nent;
}

static bool entries_have(struct kvm_cpuid_entry2 *e, int nent, u64 f)
{
	for (int i = 0; i < nent; i++) {
		if (e[i].function != X86_FEATURE_FN(f))
			continue;
		if ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e[i].index != X86_FEATURE_IDX(f))
			continue;
		return *cpuid_reg(&e[i], X86_FEATURE_REG(f)) & BIT(X86_FEATURE_BIT(f));
	}
	return false;
}

bool kvm_cpu_cap_has(u64 feature)
{
	pthread_once(&supported_once, supported_init);
	return entries_have(supported, nr_supported, feature);
}

bool guest_cpu_cap_has(struct kvm_vcpu *vcpu, u64 feature)
{
	return kvm_cpu_cap_has(feature) &&
	       entries_have(vcpu->arch.cpuid_entries, vcpu->arch.cpuid_nent, feature);
}

/*
 * kvm_find_cpuid_entry_index() - the guest's entry for @function/@index.
 * An entry without KVM_CPUID_FLAG_SIGNIFCANT_INDEX matches any index.
 */
struct kvm_cpuid_entry2 *kvm_find_cpuid_entry_index(struct kvm_vcpu *vcpu, u32 function,
						    u32 index)
{
	for (int i = 0; i < vcpu->arch.cpuid_nent; i++) {
		struct kvm_cpuid_entry2 *e = &vcpu->arch.cpuid_entries[i];

		if (e->function != function)
			continue;
		if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index)
			return e;
	}
	return NULL;
}

struct kvm_cpuid_entry2 *kvm_find_cpuid_entry(struct kvm_vcpu *vcpu, u32 function)
{
	for (int i = 0; i < vcpu->arch.cpuid_nent; i++)
		if (vcpu->arch.cpuid_entries[i].function == function)
			return &vcpu->arch.cpuid_entries[i];
	return NULL;
}

static void cpuid_entry_change(struct kvm_cpuid_entry2 *e, u64 f, bool set)
{
	u32 *r = cpuid_reg(e, X86_FEATURE_REG(f));

	if (set)
		*r |= BIT(X86_FEATURE_BIT(f));
	else
		*r &= ~BIT(X86_FEATURE_BIT(f));
}

/*
 * kvm_update_cpuid_runtime() - the bits of guest CPUID that follow vCPU
 * state: OSXSAVE and OSPKE mirror CR4, APIC mirrors IA32_APIC_BASE.EN, and
 * the XSAVE area size in 0xD.0:EBX follows XCR0.
 */
void kvm_update_cpuid_runtime(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *best;

	best = kvm_find_cpuid_entry(vcpu, 1);
	if (best) {
		cpuid_entry_change(best, X86_FEATURE_OSXSAVE, vcpu->arch.cr4 & X86_CR4_OSXSAVE);
		cpuid_entry_change(best, X86_FEATURE_APIC,
				   vcpu->arch.apic_base & MSR_IA32_APICBASE_ENABLE);
	}
	best = kvm_find_cpuid_entry_index(vcpu, 7, 0);
	if (best)
		cpuid_entry_change(best, X86_FEATURE_OSPKE, vcpu->arch.cr4 & X86_CR4_PKE);
	best = kvm_find_cpuid_entry_index(vcpu, 0xd, 0);
	if (best)
		best->ebx = xstate_required_size(vcpu->arch.xcr0);
}

/* __cr4_reserved_bits(): CR4 bits that need a CPUID feature to be set. */
static u64 cr4_reserved_bits(bool (*has)(struct kvm_vcpu *, u64), struct kvm_vcpu *vcpu)
{
	u64 r = ~(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		  X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
		  X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_FSGSBASE |
		  X86_CR4_OSXMMEXCPT | X86_CR4_LA57 | X86_CR4_VMXE | X86_CR4_SMAP |
		  X86_CR4_PKE | X86_CR4_UMIP | X86_CR4_LAM_SUP | X86_CR4_CET);

	if (!has(vcpu, X86_FEATURE_XSAVE))
		r |= X86_CR4_OSXSAVE;
	if (!has(vcpu, X86_FEATURE_SMEP))
		r |= X86_CR4_SMEP;
	if (!has(vcpu, X86_FEATURE_SMAP))
		r |= X86_CR4_SMAP;
	if (!has(vcpu, X86_FEATURE_FSGSBASE))
		r |= X86_CR4_FSGSBASE;
	if (!has(vcpu, X86_FEATURE_PKU))
		r |= X86_CR4_PKE;
	if (!has(vcpu, X86_FEATURE_LA57))
		r |= X86_CR4_LA57;
	if (!has(vcpu, X86_FEATURE_UMIP))
		r |= X86_CR4_UMIP;
	if (!has(vcpu, X86_FEATURE_VMX))
		r |= X86_CR4_VMXE;
	if (!has(vcpu, X86_FEATURE_PCID))
		r |= X86_CR4_PCIDE;
	if (!has(vcpu, X86_FEATURE_LAM))
		r |= X86_CR4_LAM_SUP;
	if (!has(vcpu, X86_FEATURE_SHSTK) && !has(vcpu, X86_FEATURE_IBT))
		r |= X86_CR4_CET;
	return r;
}

static bool guest_vendor_is_amd(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0);

	if (!e)
		return false;
	/* "AuthenticAMD" or "HygonGenuine" */
	return (e->ebx == 0x68747541 && e->ecx == 0x444d4163 && e->edx == 0x69746e65) ||
	       (e->ebx == 0x6f677948 && e->ecx == 0x656e6975 && e->edx == 0x6e65476e);
}

/* cpuid_query_maxphyaddr(): 36 unless 0x80000008 says otherwise. */
static int cpuid_query_maxphyaddr(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *best = kvm_find_cpuid_entry(vcpu, 0x80000000);

	if (!best || best->eax < 0x80000008)
		return 36;
	best = kvm_find_cpuid_entry(vcpu, 0x80000008);
	if (best)
		return best->eax & 0xff;
	return 36;
}

static bool kvm_cap_any(struct kvm_vcpu *vcpu, u64 f)
{
	return kvm_cpu_cap_has(f);
}

/* kvm_vcpu_after_set_cpuid(): what KVM derives from the guest's CPUID. */
void kvm_vcpu_after_set_cpuid(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *best;
	int maxphyaddr;

	kvm_update_cpuid_runtime(vcpu);

	/*
	 * The LAPIC timer modes the guest may select: TSC-deadline only with
	 * its CPUID bit, and none but one-shot without a CPUID leaf 1 at all
	 * (KVM leaves the mask at 0 then: LVTT's mode bits read as 0).
	 */
	best = kvm_find_cpuid_entry(vcpu, 1);
	if (best && vcpu->arch.apic)
		vcpu->arch.apic->lapic_timer.timer_mode_mask =
			(best->ecx & BIT(X86_FEATURE_BIT(X86_FEATURE_TSC_DEADLINE_TIMER))) ?
			APIC_LVT_TIMER_MASK : APIC_LVT_TIMER_PERIODIC;

	best = kvm_find_cpuid_entry_index(vcpu, 0xd, 0);
	vcpu->arch.guest_supported_xcr0 =
		best ? (best->eax | ((u64)best->edx << 32)) & kvm_supported_xcr0() : 0;
	vcpu->arch.is_amd_compatible = guest_vendor_is_amd(vcpu);
	maxphyaddr = cpuid_query_maxphyaddr(vcpu);
	vcpu->arch.maxphyaddr = maxphyaddr;
	/* rsvd_bits(maxphyaddr, 63); a MAXPHYADDR of 64 or more reserves nothing */
	vcpu->arch.reserved_gpa_bits = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;
	/*
	 * Before the first KVM_SET_CPUID2 only the host's capabilities limit
	 * CR4 (KVM's cr4_guest_rsvd_bits starts out 0): the set_sregs selftest
	 * sets every supported bit on a vCPU without a CPUID model.
	 */
	vcpu->arch.cr4_guest_rsvd_bits = cr4_reserved_bits(kvm_cap_any, vcpu);
	if (vcpu->arch.cpuid_nent)
		vcpu->arch.cr4_guest_rsvd_bits |= cr4_reserved_bits(guest_cpu_cap_has, vcpu);
}

/* kvm_check_cpuid(): KVM's canonical checks assume 48- or 57-bit addresses. */
static int kvm_check_cpuid(struct kvm_cpuid_entry2 *e, int nent)
{
	for (int i = 0; i < nent; i++) {
		if (e[i].function == 0x80000008) {
			int vaddr_bits = (e[i].eax & 0xff00) >> 8;

			if (vaddr_bits != 48 && vaddr_bits != 57 && vaddr_bits != 0)
				return -EINVAL;
			break;
		}
	}
	return 0;
}

/*
 * kvm_cpuid_check_equal(): once the vCPU has run, KVM_SET_CPUID2 may only
 * repeat what it has (the bits that follow vCPU state brought up to date
 * first, as __kvm_update_cpuid_runtime() does): changing the model of a
 * running vCPU is refused.
 */
static int kvm_cpuid_check_equal(struct kvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e2, int nent)
{
	struct kvm_cpuid_entry2 *orig = vcpu->arch.cpuid_entries;
	int orig_nent = vcpu->arch.cpuid_nent;

	if (nent != orig_nent)
		return -EINVAL;
	vcpu->arch.cpuid_entries = e2;
	vcpu->arch.cpuid_nent = nent;
	kvm_update_cpuid_runtime(vcpu);
	vcpu->arch.cpuid_entries = orig;
	vcpu->arch.cpuid_nent = orig_nent;
	for (int i = 0; i < nent; i++)
		if (e2[i].function != orig[i].function || e2[i].index != orig[i].index ||
		    e2[i].flags != orig[i].flags || e2[i].eax != orig[i].eax ||
		    e2[i].ebx != orig[i].ebx || e2[i].ecx != orig[i].ecx || e2[i].edx != orig[i].edx)
			return -EINVAL;
	return 0;
}

/* kvm_set_cpuid(): install @e2 (ownership passes on success). */
static int kvm_set_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e2, int nent)
{
	int r;

	if (vcpu->arch.last_vmentry_cpu != -1) {	/* kvm_vcpu_has_run() */
		r = kvm_cpuid_check_equal(vcpu, e2, nent);
		if (r)
			return r;
		free(e2);
		return 0;
	}
	r = kvm_check_cpuid(e2, nent);
	if (r)
		return r;
	free(vcpu->arch.cpuid_entries);
	vcpu->arch.cpuid_entries = e2;
	vcpu->arch.cpuid_nent = nent;
	vcpu->arch.cpuid_last = NULL;
	kvm_vcpu_after_set_cpuid(vcpu);
	return 0;
}

int kvm_vcpu_ioctl_set_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid *cpuid,
			     struct kvm_cpuid_entry *entries)
{
	struct kvm_cpuid_entry *e = NULL;
	struct kvm_cpuid_entry2 *e2 = NULL;
	int r;

	if (cpuid->nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (cpuid->nent) {
		e = malloc(cpuid->nent * sizeof(*e));
		e2 = calloc(cpuid->nent, sizeof(*e2));
		r = -ENOMEM;
		if (!e || !e2)
			goto out;
		r = copy_from_user(e, entries, cpuid->nent * sizeof(*e));
		if (r)
			goto out;
	}
	for (u32 i = 0; i < cpuid->nent; i++) {
		e2[i].function = e[i].function;
		e2[i].eax = e[i].eax;
		e2[i].ebx = e[i].ebx;
		e2[i].ecx = e[i].ecx;
		e2[i].edx = e[i].edx;
	}
	r = kvm_set_cpuid(vcpu, e2, cpuid->nent);
	if (!r)
		e2 = NULL;
out:
	free(e2);
	free(e);
	return r;
}

int kvm_vcpu_ioctl_set_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid,
			      struct kvm_cpuid_entry2 *entries)
{
	struct kvm_cpuid_entry2 *e2 = NULL;
	int r;

	if (cpuid->nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (cpuid->nent) {
		e2 = malloc(cpuid->nent * sizeof(*e2));
		if (!e2)
			return -ENOMEM;
		r = copy_from_user(e2, entries, cpuid->nent * sizeof(*e2));
		if (r) {
			free(e2);
			return r;
		}
	}
	r = kvm_set_cpuid(vcpu, e2, cpuid->nent);
	if (r)
		free(e2);
	return r;
}

/* KVM_GET_CPUID2: -E2BIG (nent untouched) if the caller's array is too small. */
int kvm_vcpu_ioctl_get_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *cpuid,
			      struct kvm_cpuid_entry2 *entries)
{
	if (cpuid->nent < (u32)vcpu->arch.cpuid_nent)
		return -E2BIG;
	kvm_update_cpuid_runtime(vcpu);
	if (vcpu->arch.cpuid_nent &&
	    copy_to_user(entries, vcpu->arch.cpuid_entries,
			 vcpu->arch.cpuid_nent * sizeof(struct kvm_cpuid_entry2)))
		return -EFAULT;
	cpuid->nent = vcpu->arch.cpuid_nent;
	return 0;
}
