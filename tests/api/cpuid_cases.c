// SPDX-License-Identifier: MIT
/*
 * API conformance: KVM_GET_SUPPORTED_CPUID and the guest CPUID
 * (KVM_SET_CPUID, KVM_SET_CPUID2, KVM_GET_CPUID2) with what KVM derives
 * from it.  The supported CPUID's contents are the host processor's on
 * KVM (an AMD EPYC here) and userkvm's processor's on userkvm, so the
 * cases compare its structure and KVM's rules; userkvm's values are
 * checked with CHECK_SOFT.
 */
#include <stdio.h>

#include "x86util.h"

struct cpuid_buf {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[300];
};

static struct kvm_cpuid_entry2 *find(struct cpuid_buf *b, unsigned int fn, unsigned int idx)
{
	for (unsigned int i = 0; i < b->c.nent; i++)
		if (b->e[i].function == fn && b->e[i].index == idx)
			return &b->e[i];
	return NULL;
}

static int indexed(unsigned int fn)
{
	switch (fn) {
	case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14:
	case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f: case 0x24: case 0x8000001d:
		return 1;
	}
	return 0;
}

KVM_CASE(cpuid_supported_e2big)
{
	int sys = t_open_sys(t);
	static struct cpuid_buf b;
	long r;

	b.c.nent = 0;
	r = IOC(t, sys, KVM_GET_SUPPORTED_CPUID, &b);
	CHECK_ERR(t, r, E2BIG);
	t_printf(t, "nent after E2BIG = %u", b.c.nent);	/* left as it was */
	CHECK_EQ(b.c.nent, 0);
	b.c.nent = 3;
	r = IOC(t, sys, KVM_GET_SUPPORTED_CPUID, &b);
	CHECK_ERR(t, r, E2BIG);
	t_printf(t, "nent after E2BIG = %u", b.c.nent);
	CHECK_EQ(b.c.nent, 3);
	/* more than KVM_MAX_CPUID_ENTRIES is clamped, not an error */
	b.c.nent = 300;
	r = IOC(t, sys, KVM_GET_SUPPORTED_CPUID, &b);
	CHECK_OK(t, r);
	t_differs(t, "supported CPUID leaves: the host processor's vs userkvm's processor");
	t_printf(t, "nent = %u", b.c.nent);
	CHECK(b.c.nent > 10 && b.c.nent <= 256, "nent %u", b.c.nent);
	r = IOC(t, sys, KVM_GET_SUPPORTED_CPUID, T_BAD_PTR_NULL);
	CHECK_ERR(t, r, EFAULT);
	close(sys);
}

/* KVM_GET_EMULATED_CPUID: what KVM emulates (MOVBE, RDPID), same rules. */
KVM_CASE(cpuid_emulated)
{
	int sys = t_open_sys(t);
	static struct cpuid_buf b;
	long r;

	memset(&b, 0, sizeof(b));
	b.c.nent = 0;
	r = IOC(t, sys, KVM_GET_EMULATED_CPUID, &b);
	CHECK_ERR(t, r, E2BIG);
	b.c.nent = 256;
	b.e[3].padding[1] = 1;	/* padding must be clean, for this ioctl only */
	r = IOC(t, sys, KVM_GET_EMULATED_CPUID, &b);
	CHECK_ERR(t, r, EINVAL);
	memset(&b, 0, sizeof(b));
	b.c.nent = 256;
	CHECK_OK(t, IOC(t, sys, KVM_GET_EMULATED_CPUID, &b));
	t_printf(t, "nent=%u", b.c.nent);
	for (unsigned int i = 0; i < b.c.nent; i++) {
		/* RDPID needs RDTSCP, which this PVM host hides (no TSC_AUX) */
		if (b.e[i].function == 7)
			t_differs(t, "RDPID: PVM hides RDTSCP/RDPID (no TSC_AUX)");
		t_printf(t, "%#x.%u flags=%u: %#x %#x %#x %#x", b.e[i].function, b.e[i].index,
			 b.e[i].flags, b.e[i].eax, b.e[i].ebx, b.e[i].ecx, b.e[i].edx);
	}
	CHECK_EQ(b.c.nent, 3);
	CHECK_SOFT(t, b.e[2].ecx == 1u << 22, "RDPID");
	b.c.nent = 2;
	r = IOC(t, sys, KVM_GET_EMULATED_CPUID, &b);
	CHECK_ERR(t, r, E2BIG);
	close(sys);
}

/* KVM's rules for the supported CPUID, which hold whatever the processor. */
KVM_CASE(cpuid_supported_structure)
{
	int sys = t_open_sys(t);
	static struct cpuid_buf b;
	struct kvm_cpuid_entry2 *e;
	unsigned int max_basic, max_ext, flags_ok = 1, order_ok = 1, pad_ok = 1;

	b.c.nent = 256;
	CHECK_OK(t, IOC(t, sys, KVM_GET_SUPPORTED_CPUID, &b));
	CHECK(b.c.nent > 0, "no entries");
	/* basic leaves first, then extended, then the hypervisor ones */
	t_printf(t, "first=%#x", b.e[0].function);
	CHECK_EQ(b.e[0].function, 0);
	max_basic = b.e[0].eax;
	e = find(&b, 0x80000000, 0);
	CHECK(e != NULL, "no 0x80000000");
	max_ext = e ? e->eax : 0;
	for (unsigned int f = 0; f <= max_basic; f++)
		CHECK(find(&b, f, 0) != NULL, "basic leaf %#x missing", f);
	for (unsigned int f = 0x80000000; f <= max_ext; f++)
		CHECK(find(&b, f, 0) != NULL, "extended leaf %#x missing", f);
	for (unsigned int i = 0; i < b.c.nent; i++) {
		unsigned int fn = b.e[i].function;

		/* KVM_CPUID_FLAG_SIGNIFCANT_INDEX exactly for the indexed leaves */
		if (b.e[i].flags != (indexed(fn) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0)) {
			flags_ok = 0;
			CHECK(0, "leaf %#x.%u flags %#x", fn, b.e[i].index, b.e[i].flags);
		}
		if (!indexed(fn) && b.e[i].index)
			flags_ok = 0;
		if (b.e[i].padding[0] | b.e[i].padding[1] | b.e[i].padding[2])
			pad_ok = 0;
		if (i && fn < b.e[i - 1].function &&
		    !(fn >= 0x80000000 && b.e[i - 1].function < 0x80000000) &&
		    !(fn >= 0x40000000 && fn < 0x50000000))
			order_ok = 0;
	}
	t_printf(t, "flags per leaf as KVM sets them: %u", flags_ok);
	t_printf(t, "padding zero: %u", pad_ok);
	t_printf(t, "ascending within each range: %u", order_ok);
	CHECK(order_ok, "order");
	/* KVM's hypervisor leaves */
	e = find(&b, 0x40000000, 0);
	CHECK(e != NULL, "no 0x40000000");
	if (e) {
		char sig[13] = { 0 };

		memcpy(sig, &e->ebx, 4);
		memcpy(sig + 4, &e->ecx, 4);
		memcpy(sig + 8, &e->edx, 4);
		t_printf(t, "0x40000000: eax=%#x signature=\"%s\" flags=%u", e->eax, sig, e->flags);
		CHECK(!strcmp(sig, "KVMKVMKVM"), "signature %s", sig);
		CHECK_EQ(e->eax, 0x40000001);
	}
	e = find(&b, 0x40000001, 0);
	CHECK(e != NULL, "no 0x40000001");
	if (e) {
		t_printf(t, "0x40000001: ebx=%#x ecx=%#x edx=%#x", e->ebx, e->ecx, e->edx);
		t_differs(t, "KVM PV features: KVM's full set vs the ones userkvm implements");
		t_printf(t, "0x40000001: eax=%#x", e->eax);
		CHECK_SOFT(t, e->eax == 2, "PV features %#x (NOP_IO_DELAY only)", e->eax);
	}
	/* things KVM hides on every processor */
	e = find(&b, 1, 0);
	if (e) {
		t_printf(t, "1: OSXSAVE=%u HYPERVISOR=%u x2APIC=%u TSC-deadline=%u",
			 (e->ecx >> 27) & 1, e->ecx >> 31, (e->ecx >> 21) & 1, (e->ecx >> 24) & 1);
		CHECK(!(e->ecx & (1u << 27)), "OSXSAVE is runtime only");
		CHECK(e->ecx >> 31, "HYPERVISOR");
		CHECK(!(e->ecx & (1u << 5)), "VMX (nested) reported");
	}
	e = find(&b, 6, 0);
	if (e)
		t_printf(t, "6: eax=%#x ebx=%#x ecx=%#x edx=%#x", e->eax, e->ebx, e->ecx, e->edx);
	e = find(&b, 0xb, 0);
	if (e)	/* no topology */
		t_printf(t, "0xb.0: eax=%#x ebx=%#x ecx=%#x", e->eax, e->ebx, e->ecx);
	for (unsigned int f = 0x80000002; f <= 0x80000004 && f <= max_ext; f++) {
		e = find(&b, f, 0);
		if (e)	/* the brand string is the VMM's business */
			t_printf(t, "%#x: %#x %#x %#x %#x", f, e->eax, e->ebx, e->ecx, e->edx);
	}
	close(sys);
}

/* The processor userkvm models (issue 3): checked on userkvm only. */
KVM_CASE(cpuid_supported_userkvm_processor)
{
	int sys = t_open_sys(t);
	static struct cpuid_buf b;
	struct kvm_cpuid_entry2 *e;

	b.c.nent = 256;
	CHECK_OK(t, IOC(t, sys, KVM_GET_SUPPORTED_CPUID, &b));
	if (!t->be->soft) {
		close(sys);
		return;
	}
	e = find(&b, 0, 0);
	CHECK_SOFT(t, e && !memcmp(&e->ebx, "Genu", 4) && !memcmp(&e->edx, "ineI", 4) &&
		   !memcmp(&e->ecx, "ntel", 4), "vendor");
	e = find(&b, 1, 0);
	CHECK_SOFT(t, e && e->eax == 0x806f8, "signature");	/* the processor's (msr.c) */
	/* ECX: CX16 PCID x2APIC MOVBE POPCNT TSC-deadline XSAVE HYPERVISOR */
	CHECK_SOFT(t, e && e->ecx == 0x85e22000, "1.ecx %#x", e ? e->ecx : 0);
	/* EDX: FPU DE PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 */
	CHECK_SOFT(t, e && e->edx == 0x078bbb7d, "1.edx %#x", e ? e->edx : 0);
	e = find(&b, 7, 0);
	/*
	 * FSGSBASE TSC_ADJUST FDP_EXCPTN_ONLY SMEP INVPCID ZERO_FCS_FDS SMAP
	 * (no BMI1: the processor lacks it); LA57 RDPID; ARCH_CAPABILITIES
	 */
	CHECK_SOFT(t, e && e->ebx == 0x001024c3 && e->ecx == 0x00410000 && e->edx == 0x20000000,
		   "7.0 %#x %#x %#x", e ? e->ebx : 0, e ? e->ecx : 0, e ? e->edx : 0);
	e = find(&b, 0xd, 0);
	CHECK_SOFT(t, e && e->eax == 3 && e->ebx == 576 && e->ecx == 576 && e->edx == 0, "0xd.0");
	e = find(&b, 0xd, 1);
	/* XSAVEOPT XSAVEC; the compacted size of x87|SSE */
	CHECK_SOFT(t, e && e->eax == 3 && e->ebx == 576, "0xd.1 %#x %#x", e ? e->eax : 0,
		   e ? e->ebx : 0);
	e = find(&b, 0x80000001, 0);
	/* ECX: LAHF ABM(LZCNT); EDX: SYSCALL NX RDTSCP LM */
	CHECK_SOFT(t, e && e->ecx == 0x21 && e->edx == 0x28100800, "0x80000001 %#x %#x",
		   e ? e->ecx : 0, e ? e->edx : 0);
	e = find(&b, 0x80000008, 0);
	/* MAXPHYADDR 48, 57-bit linear addresses, GPAs up to 48 bits */
	CHECK_SOFT(t, e && e->eax == 0x303930, "0x80000008 %#x", e ? e->eax : 0);
	CHECK_SOFT(t, b.c.nent == 26, "nent %u", b.c.nent);
	close(sys);
}

/* A guest CPUID built by hand (an Intel-like model both hosts accept). */
static void guest_cpuid(struct cpuid_buf *b, unsigned int maxphy)
{
	memset(b, 0, sizeof(*b));
	b->c.nent = 7;
	b->e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd,
		.ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 };
	/* XSAVE OSXSAVE x2APIC; FPU APIC PAE ... */
	b->e[1] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x50654,
		.ecx = (1u << 26) | (1u << 27) | (1u << 21), .edx = 0x0709a379 };
	b->e[2] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = (1u << 7) | (1u << 20) | 1 };
	b->e[3] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 3, .ebx = 0x1234, .ecx = 576 };
	b->e[4] = (struct kvm_cpuid_entry2){ .function = 0x80000000, .eax = 0x80000008 };
	b->e[5] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
		.edx = (1u << 29) | (1u << 20) | (1u << 11) };
	b->e[6] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
		.eax = maxphy | (48u << 8) };
}

/*
 * This host's PVM KVM replaces the guest's feature words (leaves 1, 7
 * and 0xD.0) with what its host processor can run natively; VMX KVM keeps
 * the VMM's values except for the bits it owns (kvm_update_cpuid_runtime).
 */
#define PVM_CPUID "guest CPUID feature words: PVM substitutes the host's, VMX keeps the VMM's"

static void dump_entries(struct tctx *t, struct cpuid_buf *b)
{
	for (unsigned int i = 0; i < b->c.nent; i++) {
		unsigned int fn = b->e[i].function;

		if (fn == 1 || fn == 7 || fn == 0xd)
			t_differs(t, PVM_CPUID);
		t_printf(t, "%#x.%u flags=%u: %#x %#x %#x %#x", b->e[i].function, b->e[i].index,
			 b->e[i].flags, b->e[i].eax, b->e[i].ebx, b->e[i].ecx, b->e[i].edx);
	}
}

KVM_CASE(cpuid_guest_roundtrip)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct cpuid_buf b, g;
	long r;

	/* no CPUID yet: zero entries */
	memset(&g, 0, sizeof(g));
	g.c.nent = 0;
	r = IOC(t, vcpu, KVM_GET_CPUID2, &g);
	CHECK_OK(t, r);
	t_printf(t, "nent=%u", g.c.nent);

	guest_cpuid(&b, 39);
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &b));
	/* too small: E2BIG, nent left alone */
	memset(&g, 0, sizeof(g));
	g.c.nent = 6;
	r = IOC(t, vcpu, KVM_GET_CPUID2, &g);
	CHECK_ERR(t, r, E2BIG);
	t_printf(t, "nent after E2BIG=%u", g.c.nent);
	g.c.nent = 300;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	t_printf(t, "nent=%u", g.c.nent);
	/*
	 * KVM owns some bits: OSXSAVE follows CR4 (0), APIC follows
	 * IA32_APIC_BASE.EN, 0xD.0:EBX is the XSAVE size for XCR0.
	 */
	dump_entries(t, &g);
	CHECK_EQ(g.e[1].ecx & (1u << 27), 0);
	CHECK_EQ(g.e[1].edx & (1u << 9), 1u << 9);
	CHECK_EQ(g.e[3].ebx, 576);
	CHECK_SOFT(t, !memcmp(&g.e[2], &b.e[2], sizeof(g.e[2])), "leaf 7 changed");
	CHECK_SOFT(t, g.e[1].ecx == ((1u << 26) | (1u << 21)), "leaf 1 ecx %#x", g.e[1].ecx);
	t_close3(vcpu, vm, sys);
}

KVM_CASE(cpuid_guest_runtime_bits)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct cpuid_buf b, g;
	struct kvm_sregs s;

	guest_cpuid(&b, 39);
	b.e[1].edx &= ~(1u << 9);	/* APIC bit clear while the APIC is enabled */
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &b));
	/* CR4.OSXSAVE (XSAVE is enumerated now) and the APIC disabled */
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_SREGS, &s));
	s.cr4 = 1u << 18;
	s.apic_base = 0;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	g.c.nent = 300;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	t_differs(t, PVM_CPUID);
	t_printf(t, "1: ecx=%#x edx=%#x", g.e[1].ecx, g.e[1].edx);
	CHECK_SOFT(t, g.e[1].ecx == ((1u << 26) | (1u << 27) | (1u << 21)), "ecx %#x", g.e[1].ecx);
	CHECK_EQ(g.e[1].ecx & (1u << 27), 1u << 27);
	CHECK_EQ(g.e[1].edx & (1u << 9), 0);
	/* CR4.OSXSAVE cleared alone (the cr4_cpuid_sync selftest): OSXSAVE follows */
	s.cr4 = 0;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	g.c.nent = 300;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	CHECK_EQ(g.e[1].ecx & (1u << 27), 0);
	t_close3(vcpu, vm, sys);
}

KVM_CASE(cpuid_guest_invalid)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct cpuid_buf b, g;
	long r;

	guest_cpuid(&b, 39);
	b.c.nent = 257;
	r = IOC(t, vcpu, KVM_SET_CPUID2, &b);
	CHECK_ERR(t, r, E2BIG);
	b.c.nent = 257;
	r = IOC(t, vcpu, KVM_SET_CPUID, &b);	/* same limit for the v1 call */
	CHECK_ERR(t, r, E2BIG);
	/* linear-address width must be 48 or 57 (or 0) */
	guest_cpuid(&b, 39);
	b.e[6].eax = 39 | (40u << 8);
	r = IOC(t, vcpu, KVM_SET_CPUID2, &b);
	CHECK_ERR(t, r, EINVAL);
	b.e[6].eax = 39 | (57u << 8);
	r = IOC(t, vcpu, KVM_SET_CPUID2, &b);
	CHECK_OK(t, r);
	b.e[6].eax = 39;
	r = IOC(t, vcpu, KVM_SET_CPUID2, &b);
	CHECK_OK(t, r);
	/* nothing set by a refused call */
	b.e[6].eax = 39 | (40u << 8);
	b.e[0].eax = 0x7;
	r = IOC(t, vcpu, KVM_SET_CPUID2, &b);
	CHECK_ERR(t, r, EINVAL);
	g.c.nent = 300;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	t_printf(t, "0: eax=%#x nent=%u", g.e[0].eax, g.c.nent);
	CHECK_EQ(g.e[0].eax, 0xd);
	/* zero entries is a valid CPUID */
	b.c.nent = 0;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &b));
	g.c.nent = 0;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	t_printf(t, "nent=%u", g.c.nent);
	t_close3(vcpu, vm, sys);
}

/* The v1 call: entries get index 0 and no flags. */
KVM_CASE(cpuid_guest_v1)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct {
		struct kvm_cpuid c;
		struct kvm_cpuid_entry e[2];
	} v1;
	static struct cpuid_buf g;

	memset(&v1, 0, sizeof(v1));
	v1.c.nent = 2;
	v1.e[0] = (struct kvm_cpuid_entry){ .function = 0, .eax = 7, .ebx = 1, .ecx = 2, .edx = 3 };
	v1.e[1] = (struct kvm_cpuid_entry){ .function = 7, .ebx = 1u << 7, .padding = 9 };
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID, &v1));
	g.c.nent = 300;
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_CPUID2, &g));
	dump_entries(t, &g);
	CHECK_EQ(g.e[1].flags, 0);
	CHECK_SOFT(t, g.e[1].ebx == 1u << 7 && g.e[1].index == 0, "leaf 7 %#x", g.e[1].ebx);
	t_close3(vcpu, vm, sys);
}

/* What the guest CPUID enables: MAXPHYADDR, x2APIC, CR4 features. */
KVM_CASE(cpuid_guest_effects)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct cpuid_buf b;
	struct kvm_sregs reset, s;
	long r;

	CHECK_OK(t, IOC(t, vcpu, KVM_GET_SREGS, &reset));
	guest_cpuid(&b, 39);
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &b));

	/* x2APIC mode is allowed once CPUID has x2APIC */
	s = reset;
	s.apic_base = 0xfee00d00;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	/* MAXPHYADDR 39: bit 38 of the APIC base is fine, bit 39 is not */
	s.apic_base = 0x40fee00d00ull;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	s.apic_base = 0x80fee00d00ull;
	r = IOC(t, vcpu, KVM_SET_SREGS, &s);
	CHECK_ERR(t, r, EINVAL);
	s.apic_base = 0xfee00900;

	/* long mode: CR3 bits at or above MAXPHYADDR are illegal */
	s.cs = t_flat_seg(8, 0xb, 1);
	s.tr.type = 11;
	s.cr0 = 0x80000011;
	s.cr4 = 0x20;
	s.efer = 0x500;
	s.cr3 = 1ull << 38;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	s.cr3 = 1ull << 39;
	r = IOC(t, vcpu, KVM_SET_SREGS, &s);
	CHECK_ERR(t, r, EINVAL);

	/* CR4 features enumerated by this CPUID, supported by both processors */
	s.cr3 = 0x1000;
	s.cr4 = 0x20 | (1u << 18) | (1u << 20) | (1u << 21) | (1u << 16);
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	/* ... and PCIDE, which this CPUID does not have */
	s.cr4 |= 1u << 17;
	r = IOC(t, vcpu, KVM_SET_SREGS, &s);
	CHECK_ERR(t, r, EINVAL);
	t_close3(vcpu, vm, sys);
}

/* RDX at RESET is CPUID.1:EAX only if CPUID existed then: it does not. */
KVM_CASE(cpuid_rdx_at_reset)
{
	int sys, vm, vcpu = t_vcpu(t, &sys, &vm);
	static struct cpuid_buf b;
	struct kvm_regs r;

	guest_cpuid(&b, 39);
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &b));
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_REGS, &r));
	t_printf(t, "rdx=%#llx", (unsigned long long)r.rdx);
	CHECK_EQ(r.rdx, 0x600);
	t_close3(vcpu, vm, sys);
}
