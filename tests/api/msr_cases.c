// SPDX-License-Identifier: MIT
/*
 * API conformance: MSRs.  The system fd's MSR lists and feature MSRs,
 * KVM_GET_MSRS/KVM_SET_MSRS on vCPUs (values at RESET, round trips,
 * validation, "stops at the first failing MSR").  This host's KVM runs on
 * an AMD processor with the PVM backend: MSRs that only Intel/VMX KVM has
 * (IA32_FEATURE_CONTROL) or whose values are the host's (microcode, TSC)
 * are marked as known differences.
 */
#include <stdio.h>

#include "x86util.h"

struct msrs1 {
	struct kvm_msrs h;
	struct kvm_msr_entry e[4];
};

/* One MSR: returns the ioctl's result (1 = read/written). */
static long get_msr(struct tctx *t, int fd, unsigned int index, unsigned long long *data)
{
	struct msrs1 m;
	long r;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e[0].index = index;
	r = t->be->ioctl(fd, KVM_GET_MSRS, (unsigned long)&m);
	*data = m.e[0].data;
	return r;
}

static long set_msr(struct tctx *t, int fd, unsigned int index, unsigned long long data)
{
	struct msrs1 m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e[0].index = index;
	m.e[0].data = data;
	return t->be->ioctl(fd, KVM_SET_MSRS, (unsigned long)&m);
}

static struct {
	struct kvm_msr_list l;
	unsigned int idx[512];
} list;

static int in_list(unsigned int msr)
{
	for (unsigned int i = 0; i < list.l.nmsrs; i++)
		if (list.idx[i] == msr)
			return 1;
	return 0;
}

KVM_CASE(msr_index_list)
{
	/* MSRs both KVMs list: the SYSCALL/SYSENTER MSRs, TSC, PAT, ... */
	static const unsigned int common[] = {
		0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
		0xc0000102, 0x10, 0x277, 0x3b, 0x6e0, 0x10a, 0x345, 0x1a0, 0x34, 0xce,
		0x140, 0x1fc, 0x8b, 0xc0010015,
	};
	int sys = t_open_sys(t);
	long r;

	list.l.nmsrs = 0;
	r = IOC(t, sys, KVM_GET_MSR_INDEX_LIST, &list);
	CHECK_ERR(t, r, E2BIG);
	/* on E2BIG the count is still written back */
	t_differs(t, "MSR list length: KVM also lists PMU, MCE, kvmclock, Hyper-V, AMD MSRs");
	t_printf(t, "nmsrs = %u", list.l.nmsrs);
	CHECK(list.l.nmsrs > 0, "count not written back");
	r = IOC(t, sys, KVM_GET_MSR_INDEX_LIST, &list);
	CHECK_OK(t, r);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		t_printf(t, "listed %#x: %d", common[i], in_list(common[i]));
		CHECK(in_list(common[i]), "%#x not listed", common[i]);
	}
	/* Intel-only (FEAT_CTL) or PVM-unlisted (TSC_AUX): userkvm lists them */
	CHECK_SOFT(t, in_list(0x3a) && in_list(0xc0000103), "FEAT_CTL/TSC_AUX");
	CHECK_SOFT(t, list.l.nmsrs == 23, "nmsrs %u", list.l.nmsrs);
	r = IOC(t, sys, KVM_GET_MSR_INDEX_LIST, T_BAD_PTR_NULL);
	CHECK_ERR(t, r, EFAULT);
	close(sys);
}

KVM_CASE(msr_feature_list)
{
	int sys = t_open_sys(t);
	struct msrs1 m;
	unsigned long long v;
	long r;

	list.l.nmsrs = 1;
	r = IOC(t, sys, KVM_GET_MSR_FEATURE_INDEX_LIST, &list);
	CHECK_ERR(t, r, E2BIG);
	t_printf(t, "nmsrs = %u", list.l.nmsrs);
	r = IOC(t, sys, KVM_GET_MSR_FEATURE_INDEX_LIST, &list);
	CHECK_OK(t, r);
	for (unsigned int i = 0; i < list.l.nmsrs; i++)
		t_printf(t, "feature msr %#x", list.idx[i]);
	CHECK_EQ(list.l.nmsrs, 4);	/* UCODE_REV ARCH_CAPABILITIES PERF_CAPABILITIES PLATFORM_INFO */

	/* KVM_GET_MSRS on the system fd reads them */
	r = get_msr(t, sys, 0xce, &v);
	t_printf(t, "sys PLATFORM_INFO = %ld value %#llx", r, v);
	CHECK_EQ(v, 0x80000000);	/* CPUID faulting */
	r = get_msr(t, sys, 0x345, &v);
	t_printf(t, "sys PERF_CAPABILITIES = %ld", r);
	r = get_msr(t, sys, 0x10a, &v);
	t_printf(t, "sys ARCH_CAPABILITIES = %ld", r);
	t_differs(t, "IA32_ARCH_CAPABILITIES: from the host's bugs; userkvm's processor has none");
	t_printf(t, "sys ARCH_CAPABILITIES value %#llx", v);
	CHECK_SOFT(t, v == 0x400000000c000079ull, "arch caps %#llx", v);
	r = get_msr(t, sys, 0x8b, &v);
	t_printf(t, "sys UCODE_REV = %ld", r);
	t_differs(t, "microcode revision: the host processor's");
	t_printf(t, "sys UCODE_REV value %#llx", v);
	/* an advertised non-feature MSR reads as 0; others fail */
	r = get_msr(t, sys, 0xc0000081, &v);
	t_printf(t, "sys STAR = %ld value %#llx", r, v);
	r = get_msr(t, sys, 0xc0000080, &v);
	t_printf(t, "sys EFER = %ld", r);
	r = get_msr(t, sys, 0x12345678, &v);
	t_printf(t, "sys 0x12345678 = %ld", r);
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 256;
	r = IOC(t, sys, KVM_GET_MSRS, &m);
	CHECK_ERR(t, r, E2BIG);
	r = IOC(t, sys, KVM_GET_MSRS, T_BAD_PTR_NULL);
	CHECK_ERR(t, r, EFAULT);
	r = IOC(t, sys, KVM_SET_MSRS, &m);	/* no writes on the system fd */
	CHECK_ERR(t, r, EINVAL);
	close(sys);
}

/* Values after KVM_CREATE_VCPU, MSR by MSR. */
KVM_CASE(msr_reset_values)
{
	static const struct { unsigned int index; const char *differs; } msrs[] = {
		{ 0x174 }, { 0x175 }, { 0x176 }, { 0xc0000081 }, { 0xc0000082 }, { 0xc0000083 },
		{ 0xc0000084 }, { 0xc0000102 }, { 0xc0000100 }, { 0xc0000101 }, { 0xc0000080 },
		{ 0x1b }, { 0x277 }, { 0x3b }, { 0x6e0 }, { 0x10a }, { 0x345 }, { 0xce }, { 0x140 },
		{ 0x1fc }, { 0x34 }, { 0xc0010015 }, { 0x17 }, { 0x1db },
		{ 0x1a0, "IA32_MISC_ENABLE: VMX KVM resets it to 0x1800 (no BTS/PEBS), PVM to 1" },
		{ 0x8b, "microcode revision: VMX KVM 0x100000000, PVM on AMD 0" },
		{ 0x3a, "IA32_FEATURE_CONTROL: Intel only, absent on this AMD host" },
		{ 0xc0000103, "TSC_AUX: unlisted and unreadable on this PVM host" },
		{ 0x12345678 },
	};
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	unsigned long long v, tsc;
	long r;

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		r = get_msr(t, vcpu, msrs[i].index, &v);
		if (msrs[i].differs)
			t_differs(t, msrs[i].differs);
		t_printf(t, "msr %#x: %ld %#llx", msrs[i].index, r, v);
	}
	CHECK_SOFT(t, get_msr(t, vcpu, 0x1a0, &v) == 1 && v == 0x1800, "MISC_ENABLE %#llx", v);
	CHECK_SOFT(t, get_msr(t, vcpu, 0x3a, &v) == 1 && v == 0, "FEAT_CTL");
	CHECK_EQ(get_msr(t, vcpu, 0x277, &v), 1);
	CHECK_EQ(v, 0x0007040600070406ull);
	/* the TSC counts from 0 at vCPU creation on VMX KVM */
	r = get_msr(t, vcpu, 0x10, &tsc);
	CHECK_EQ(r, 1);
	t_differs(t, "TSC at creation: time-based");
	t_printf(t, "tsc %#llx", tsc);
	CHECK_SOFT(t, tsc < 2000000000000ull, "TSC %#llx", tsc);
	t_close3(vcpu, vm, sys);
}

KVM_CASE(msr_roundtrip)
{
	static const struct { unsigned int index; unsigned long long value, expect; } msrs[] = {
		{ 0xc0000081, 0x0023001000000000ull, 0x0023001000000000ull },	/* STAR */
		{ 0xc0000082, 0xffffffff81000000ull, 0xffffffff81000000ull },	/* LSTAR */
		{ 0xc0000083, 0x00007fffffff0000ull, 0x00007fffffff0000ull },	/* CSTAR */
		{ 0xc0000084, 0x47700, 0x47700 },				/* SFMASK */
		{ 0xc0000102, 0xffff888000000000ull, 0xffff888000000000ull },	/* KERNEL_GS_BASE */
		{ 0xc0000100, 0x7f0000001000ull, 0x7f0000001000ull },		/* FS_BASE */
		{ 0xc0000101, 0xffffffffff600000ull, 0xffffffffff600000ull },	/* GS_BASE */
		{ 0x174, 0x10, 0x10 },						/* SYSENTER_CS */
		{ 0x175, 0xffffc90000000000ull, 0xffffc90000000000ull },	/* SYSENTER_ESP */
		{ 0x176, 0xffffffff81800000ull, 0xffffffff81800000ull },	/* SYSENTER_EIP */
		{ 0x277, 0x0007040600070406ull ^ 0x0100000000000000ull,
			 0x0007040600070406ull ^ 0x0100000000000000ull },	/* PAT: UC- -> WC */
		{ 0xc0000080, 0xd01, 0x901 },			/* EFER: LMA is not written */
		{ 0x1b, 0xfee00800, 0xfee00800 },		/* APIC base: not BSP */
		{ 0x1fc, 0x12345, 0x12345 },			/* POWER_CTL */
		{ 0x34, 7, 7 },					/* SMI_COUNT (host writes) */
		{ 0x140, 1, 1 },				/* CPUID faulting */
		{ 0xc0010015, 1u << 24, 1u << 24 },		/* HWCR.TscFreqSel */
		{ 0x6e0, 0x1234, 0 },				/* TSC deadline: no local APIC */
		{ 0x10a, 0, 0 },				/* advertised: 0 may be written */
	};
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	unsigned long long v;
	long r;

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		r = set_msr(t, vcpu, msrs[i].index, msrs[i].value);
		t_printf(t, "set %#x = %ld", msrs[i].index, r);
		CHECK_EQ(r, 1);
		r = get_msr(t, vcpu, msrs[i].index, &v);
		t_printf(t, "get %#x = %ld %#llx", msrs[i].index, r, v);
		CHECK(r == 1 && v == msrs[i].expect, "%#x: %ld %#llx", msrs[i].index, r, v);
	}
	/* the TSC: set, then it counts on from there */
	CHECK_EQ(set_msr(t, vcpu, 0x10, 1000000000000ull), 1);
	CHECK_EQ(get_msr(t, vcpu, 0x10, &v), 1);
	/* this host's PVM KVM runs guests on the host TSC: writes are ignored */
	t_differs(t, "TSC writes: PVM guests see the host TSC, VMX KVM offsets it");
	t_printf(t, "tsc after set in [1e12, 1e12 + 1e11): %d",
		 v >= 1000000000000ull && v < 1100000000000ull);
	CHECK_SOFT(t, v >= 1000000000000ull && v < 1100000000000ull, "tsc %#llx", v);
	/* FS/GS base through MSRs are the segment bases of KVM_GET_SREGS */
	{
		struct kvm_sregs s;

		CHECK_OK(t, IOC(t, vcpu, KVM_GET_SREGS, &s));
		t_printf(t, "sregs fs.base=%#llx gs.base=%#llx", (unsigned long long)s.fs.base,
			 (unsigned long long)s.gs.base);
	}
	/* SYSENTER_CS is a 32-bit field in the VMCS */
	r = set_msr(t, vcpu, 0x174, 0x100000010ull);
	get_msr(t, vcpu, 0x174, &v);
	t_differs(t, "SYSENTER_CS: VMX keeps 32 bits (VMCS field), PVM 64");
	t_printf(t, "SYSENTER_CS 0x100000010 -> %ld %#llx", r, v);
	CHECK_SOFT(t, v == 0x10, "sysenter_cs %#llx", v);
	/* TSC_AUX */
	r = set_msr(t, vcpu, 0xc0000103, 5);
	get_msr(t, vcpu, 0xc0000103, &v);
	t_differs(t, "TSC_AUX: unsupported by this PVM host");
	t_printf(t, "TSC_AUX 5 -> %ld %#llx", r, v);
	CHECK_SOFT(t, r == 1 && v == 5, "tsc_aux");
	t_close3(vcpu, vm, sys);
}

KVM_CASE(msr_invalid)
{
	static const struct { unsigned int index; unsigned long long value; } bad[] = {
		{ 0xc0000082, 0x8000000000000000ull },	/* LSTAR non-canonical */
		{ 0xc0000100, 0x0100000000000000ull },	/* FS_BASE non-canonical */
		{ 0xc0000080, 1ull << 63 },		/* EFER reserved bit */
		{ 0xc0000080, 1ull << 12 },		/* EFER.SVME: no SVM for guests */
		{ 0x1b, 0xfee00901 },			/* APIC base reserved bit 0 */
		{ 0x1b, 0xfee00500 },			/* x2APIC without EN */
		{ 0x34, 0 },				/* SMI_COUNT: fine; below: */
		{ 0xc0010015, 1 },			/* HWCR bit 0 */
		{ 0x10a, 1 },				/* ARCH_CAPABILITIES without CPUID */
		{ 0x12345678, 0 },			/* unknown MSR */
		{ 0x17, 0 },				/* read-only: PLATFORM_ID */
	};
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	struct msrs1 m;
	unsigned long long v;
	long r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = set_msr(t, vcpu, bad[i].index, bad[i].value);
		t_printf(t, "set %#x=%#llx = %ld", bad[i].index, bad[i].value, r);
	}
	/*
	 * Reserved values this host's PVM KVM lets through (it handles PAT and
	 * MISC_FEATURES_ENABLES itself); VMX KVM refuses them.
	 */
	{
		static const struct { unsigned int index; unsigned long long value; } pvm[] = {
			{ 0x277, 0x0007040600070402ull },	/* PAT type 2 is reserved */
			{ 0x277, 0x0007040600070408ull },	/* PAT bits 3-7 of an entry */
			{ 0x140, 2 },				/* MISC_FEATURES reserved */
		};

		for (size_t i = 0; i < sizeof(pvm) / sizeof(pvm[0]); i++) {
			r = set_msr(t, vcpu, pvm[i].index, pvm[i].value);
			t_differs(t, "PAT/MISC_FEATURES_ENABLES reserved values: PVM takes them");
			t_printf(t, "set %#x=%#llx = %ld", pvm[i].index, pvm[i].value, r);
			CHECK_SOFT(t, r == 0, "reserved value accepted");
		}
		set_msr(t, vcpu, 0x277, 0x0007040600070406ull);
		set_msr(t, vcpu, 0x140, 0);
	}
	/* ARCH_CAPABILITIES without the CPUID bit reads as 0 (advertised MSR) */
	r = get_msr(t, vcpu, 0x10a, &v);
	t_printf(t, "get ARCH_CAPABILITIES without CPUID = %ld %#llx", r, v);

	/* KVM_SET_MSRS stops at the first failing MSR and returns the count */
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 3;
	m.e[0] = (struct kvm_msr_entry){ .index = 0xc0000081, .data = 0x10 };
	m.e[1] = (struct kvm_msr_entry){ .index = 0x12345678, .data = 2 };
	m.e[2] = (struct kvm_msr_entry){ .index = 0xc0000084, .data = 0x200 };
	r = IOC(t, vcpu, KVM_SET_MSRS, &m);
	CHECK_EQ(r, 1);
	get_msr(t, vcpu, 0xc0000084, &v);
	t_printf(t, "SFMASK after the failed batch: %#llx", v);
	CHECK_EQ(v, 0);
	/* ... and so does KVM_GET_MSRS; the failed entry reads as 0 */
	m.e[0] = (struct kvm_msr_entry){ .index = 0xc0000081, .data = 0xaa };
	m.e[1] = (struct kvm_msr_entry){ .index = 0x12345678, .data = 0xbb };
	m.e[2] = (struct kvm_msr_entry){ .index = 0xc0000084, .data = 0xcc };
	r = IOC(t, vcpu, KVM_GET_MSRS, &m);
	CHECK_EQ(r, 1);
	t_printf(t, "entries: %#llx %#llx %#llx", (unsigned long long)m.e[0].data,
		 (unsigned long long)m.e[1].data, (unsigned long long)m.e[2].data);
	CHECK_EQ(m.e[1].data, 0);
	CHECK_EQ(m.e[2].data, 0xcc);

	/* MAX_IO_MSRS (256) and more: E2BIG; 0: nothing to do */
	m.h.nmsrs = 256;
	r = IOC(t, vcpu, KVM_GET_MSRS, &m);
	CHECK_ERR(t, r, E2BIG);
	r = IOC(t, vcpu, KVM_SET_MSRS, &m);
	CHECK_ERR(t, r, E2BIG);
	m.h.nmsrs = 0;
	r = IOC(t, vcpu, KVM_GET_MSRS, &m);
	CHECK_EQ(r, 0);
	/* the entries are read from the user too */
	{
		static struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e[255];
		} big;

		memset(&big, 0, sizeof(big));
		big.h.nmsrs = 255;
		for (int i = 0; i < 255; i++)
			big.e[i].index = 0xc0000081;
		r = IOC(t, vcpu, KVM_GET_MSRS, &big);
		CHECK_EQ(r, 255);
	}

	/* IA32_FEATURE_CONTROL: LOCKED only (no VMX for the guest, no LMCE) */
	r = set_msr(t, vcpu, 0x3a, 4);
	t_differs(t, "IA32_FEATURE_CONTROL: Intel only, absent on this AMD host");
	t_printf(t, "FEAT_CTL 4 = %ld", r);
	CHECK_SOFT(t, r == 0, "VMXON outside SMX accepted");
	r = set_msr(t, vcpu, 0x3a, 1);
	t_differs(t, "IA32_FEATURE_CONTROL: Intel only, absent on this AMD host");
	t_printf(t, "FEAT_CTL 1 = %ld", r);
	CHECK_SOFT(t, r == 1, "LOCKED refused");
	/* TSC_AUX bits 63:32 are reserved for an Intel guest */
	r = set_msr(t, vcpu, 0xc0000103, 1ull << 32);
	t_differs(t, "TSC_AUX: unsupported by this PVM host");
	t_printf(t, "TSC_AUX bit 32 = %ld", r);
	CHECK_SOFT(t, r == 0, "TSC_AUX high bits");
	/* canonical MSRs: 57-bit addresses are canonical with LA57 */
	r = set_msr(t, vcpu, 0xc0000082, 0x0000800000000000ull);
	t_differs(t, "MSR canonical checks: the host CPU has no LA57, userkvm's processor has");
	t_printf(t, "LSTAR 0x800000000000 = %ld", r);
	CHECK_SOFT(t, r == 1, "57-bit canonical LSTAR refused");
	t_close3(vcpu, vm, sys);
}

#define PVM_ARCH_CAP "ARCH_CAPABILITIES in guest CPUID: PVM substitutes the host's leaf 7"

/* What the guest CPUID changes: ARCH_CAPABILITIES becomes readable. */
KVM_CASE(msr_arch_capabilities_cpuid)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[2];
	} cpuid;
	unsigned long long v, feat;
	long r;

	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.c.nent = 2;
	cpuid.e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 7 };
	cpuid.e[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 1u << 29 };
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &cpuid));
	r = get_msr(t, vcpu, 0x10a, &v);
	t_printf(t, "ARCH_CAPABILITIES = %ld", r);
	CHECK_EQ(r, 1);
	get_msr(t, sys, 0x10a, &feat);
	/*
	 * The vCPU's value at creation is the feature MSR's
	 * (KVM_X86_QUIRK_STUFF_FEATURE_MSRS), and the VMM may write any value.
	 * This host's PVM KVM replaces the guest's CPUID.7 EDX with its
	 * host's, which has no ARCH_CAPABILITIES: the MSR reads as 0.
	 */
	t_differs(t, PVM_ARCH_CAP);
	t_printf(t, "equals the feature MSR: %d", v == feat);
	CHECK_SOFT(t, v == feat, "%#llx != %#llx", v, feat);
	r = set_msr(t, vcpu, 0x10a, 1);
	t_differs(t, PVM_ARCH_CAP);
	t_printf(t, "set ARCH_CAPABILITIES 1 = %ld", r);
	get_msr(t, vcpu, 0x10a, &v);
	t_differs(t, PVM_ARCH_CAP);
	t_printf(t, "ARCH_CAPABILITIES = %#llx", v);
	CHECK_SOFT(t, v == 1, "%#llx", v);
	t_close3(vcpu, vm, sys);
}

/* MTRRs: stored by KVM (EPT ignores guest memory types), validated. */
KVM_CASE(msr_mtrr)
{
	static const unsigned int regs[] = {
		0xfe, 0x2ff, 0x200, 0x201, 0x20e, 0x20f, 0x250, 0x258, 0x259, 0x268, 0x26f,
		0x210, 0x24f,
	};
	static const struct { unsigned int index; unsigned long long value; } good[] = {
		{ 0x2ff, 0xc06 },			/* enabled, fixed enabled, WB */
		{ 0x250, 0x0606060606060606ull },
		{ 0x258, 0x0000000001010404ull },
		{ 0x26f, 0x0505050505050505ull },
		{ 0x200, 0x80000000ull | 0 },		/* UC at 2 GiB */
		{ 0x201, 0xf80000800ull },		/* 2 GiB, valid */
		{ 0x20e, 0xfee00000ull | 6 },
	};
	static const struct { unsigned int index; unsigned long long value; } bad[] = {
		{ 0x2ff, 0x2 },				/* type 2 reserved */
		{ 0x2ff, 0x1006 },			/* bit 12 */
		{ 0x250, 0x0706060606060606ull },	/* type 7 */
		{ 0x200, 3 },				/* type 3 */
		{ 0x200, 0x106 },			/* bit 8 */
		{ 0x201, 0x1 },				/* mask bits 0-10 */
		{ 0x200, (1ull << 36) | 6 },		/* above MAXPHYADDR (36) */
		{ 0x210, 0 },				/* no 9th range */
		{ 0xfe, 0x508 },			/* MTRRcap is read-only */
	};
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	unsigned long long v;
	long r;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		r = get_msr(t, vcpu, regs[i], &v);
		t_printf(t, "get %#x = %ld %#llx", regs[i], r, v);
	}
	CHECK_EQ(get_msr(t, vcpu, 0xfe, &v), 1);
	CHECK_EQ(v, 0x508);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r = set_msr(t, vcpu, good[i].index, good[i].value);
		get_msr(t, vcpu, good[i].index, &v);
		t_printf(t, "set %#x=%#llx = %ld, reads %#llx", good[i].index, good[i].value, r, v);
		CHECK(r == 1 && v == good[i].value, "%#x", good[i].index);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = set_msr(t, vcpu, bad[i].index, bad[i].value);
		t_printf(t, "set %#x=%#llx = %ld", bad[i].index, bad[i].value, r);
		CHECK_EQ(r, 0);
	}
	t_close3(vcpu, vm, sys);
}

static long long tsc_delta(struct tctx *t, int a, int b)
{
	unsigned long long ta, tb;

	CHECK_EQ(get_msr(t, a, 0x10, &ta), 1);
	CHECK_EQ(get_msr(t, b, 0x10, &tb), 1);
	return (long long)(tb - ta);
}

/* vCPUs share one TSC: at creation, and when the VMM writes it to each. */
KVM_CASE(msr_tsc_sync)
{
	int sys = t_open_sys(t), vm = t_create_vm(t, sys), v0, v1;
	long long d;

	v0 = (int)IOC(t, vm, KVM_CREATE_VCPU, 0);
	usleep(20000);
	v1 = (int)IOC(t, vm, KVM_CREATE_VCPU, 1);
	/*
	 * Read v0, then v1: v1 is ahead by the time between the two reads only;
	 * out of sync it would be behind by the 20 ms between the creations.
	 */
	d = tsc_delta(t, v0, v1);
	t_printf(t, "in sync after creation: %d", d >= 0 && d < 1000000000);
	CHECK(d >= 0 && d < 1000000000, "delta %lld", d);
	/* the same value written to both, 20 ms apart, is one TSC */
	CHECK_EQ(set_msr(t, v0, 0x10, 5000000000ull), 1);
	usleep(20000);
	CHECK_EQ(set_msr(t, v1, 0x10, 5000000000ull), 1);
	d = tsc_delta(t, v0, v1);
	t_printf(t, "in sync after writes: %d", d >= 0 && d < 1000000000);
	CHECK(d >= 0 && d < 1000000000, "delta %lld", d);
	close(v0);
	close(v1);
	close(vm);
	close(sys);
}
