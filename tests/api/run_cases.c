// SPDX-License-Identifier: MIT
/*
 * API conformance: KVM_RUN.  Each case builds a small guest (run_guests.S)
 * in memory, runs it and writes every exit and the registers after it to
 * the transcript, on the host's KVM and on userkvm.  This host's KVM is the
 * PVM backend: where it differs from VMX KVM (paging outside long mode,
 * int3 in 64-bit code, ...) the line is marked with t_differs() and the
 * VMX behaviour is checked on userkvm with CHECK_SOFT.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "runutil.h"

/* Real mode: OUT of 1, 2 and 4 bytes, OUT to DX, IN of every size completed into EAX, HLT. */
KVM_CASE(run_real_mode_io)
{
	struct tguest g;
	struct kvm_run *run;
	int last;

	if (tg_start(t, &g, g_rm_io, TG_REAL) < 0)
		return;
	run = g.run;
	last = tg_run_io(t, &g, 20);
	CHECK_EQ(last, KVM_EXIT_HLT);
	tg_dump_regs(t, &g);
	t_printf(t, "store: %#x", *(unsigned short *)(g.mem + 0x100));
	CHECK_EQ(*(unsigned short *)(g.mem + 0x100), 0x1234);
	/* HLT without an irqchip: the exit is after the instruction, once per HLT */
	CHECK_EQ(run->exit_reason, KVM_EXIT_HLT);
	tg_destroy(&g);
}

KVM_CASE(run_pm16)
{
	struct tguest g;

	if (tg_start(t, &g, g_pm16, TG_PM16) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	tg_dump_regs(t, &g);
	t_printf(t, "store at 2: %#x", *(unsigned short *)(g.mem + 2));
	tg_destroy(&g);
}

KVM_CASE(run_pm32)
{
	struct tguest g;
	struct kvm_sregs s;

	if (tg_start(t, &g, g_pm32, TG_PM32) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	tg_dump_regs(t, &g);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	t_sregs(t, &s);
	tg_destroy(&g);
}

KVM_CASE(run_long_mode)
{
	struct tguest g;
	struct kvm_sregs s;

	if (tg_start(t, &g, g_lm, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	tg_dump_regs(t, &g);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	t_sregs(t, &s);
	tg_destroy(&g);
}

/*
 * 32-bit and PAE paging: a store through an alias mapping is read back at
 * the identity address.  This host's PVM KVM runs paging only in long mode
 * (the guest gets KVM_EXIT_SHUTDOWN); VMX KVM runs it.
 */
static void paging_case(struct tctx *t, enum tg_mode mode, unsigned long alias)
{
	struct tguest g;
	struct kvm_regs r;
	long rr;

	if (tg_start(t, &g, g_pm32_alias, mode) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	r.rdi = alias;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
	for (int i = 0; i < 3; i++) {
		t_differs(t, "PVM KVM: paging outside long mode ends in KVM_EXIT_SHUTDOWN");
		rr = t->be->ioctl(g.vcpu, KVM_RUN, 0);
		t_differs(t, "PVM KVM: paging outside long mode ends in KVM_EXIT_SHUTDOWN");
		tg_exit(t, g.run);
		if (rr < 0 || g.run->exit_reason != KVM_EXIT_IO)
			break;
		CHECK_SOFT(t, g.run->io.port == 0x10 &&
			   *(unsigned *)((char *)g.run + g.run->io.data_offset) == 0xcafef00d,
			   "port %#x", g.run->io.port);
	}
	CHECK_SOFT(t, g.run->exit_reason == KVM_EXIT_HLT, "exit %u", g.run->exit_reason);
	CHECK_SOFT(t, *(unsigned *)(g.mem + DATA) == 0xcafef00d, "store through the alias lost");
	tg_destroy(&g);
}

KVM_CASE(run_paging32) { paging_case(t, TG_PAGING32, 0x400000); }
KVM_CASE(run_paging_pae) { paging_case(t, TG_PAE, 0x200000); }

/* Long mode: IN of 1/2/4 bytes into RAX = 0x1122334455667788 (AL/AX merge, EAX zero-extends). */
KVM_CASE(run_io_in_completion)
{
	struct tguest g;
	struct kvm_regs r;

	if (tg_start(t, &g, g_lm_in, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 10), KVM_EXIT_HLT);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	CHECK_EQ(r.rbx, 0x1122334455667700ull | 0x31);
	CHECK_EQ(r.rcx, 0x1122334455660000ull | 0x4332);
	CHECK_EQ(r.rdx & 0xffff, 0x1234);
	tg_destroy(&g);
}

/* An IN exit whose data userspace does not complete before changing RIP still completes. */
KVM_CASE(run_io_in_then_set_regs)
{
	struct tguest g;
	struct kvm_regs r;

	if (tg_start(t, &g, g_lm_in, TG_LONG) < 0)
		return;
	tg_run(t, &g);	/* in $0x20, %al */
	((unsigned char *)g.run + g.run->io.data_offset)[0] = 0x99;
	/* KVM_GET_REGS completes nothing; RIP is already past the IN */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	tg_run(t, &g);	/* completes AL = 0x99, then in $0x21, %ax */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	CHECK_EQ(r.rbx & 0xff, 0x99);
	tg_destroy(&g);
}

/*
 * RSP is the guest's across exits: KVM_GET_REGS after an OUT sees the PUSH,
 * a KVM_SET_REGS of RSP is the stack the guest then uses (its POP reads
 * what the host wrote there), also across an in-kernel CPUID exit, and an
 * exit after which nobody read RSP keeps the guest's own value.
 */
KVM_CASE(run_rsp_across_exits)
{
	const unsigned long sp = STACK - 0x100;
	struct tguest g;
	struct kvm_regs r;
	uint32_t v;

	if (tg_start(t, &g, g_lm_rsp, TG_LONG) < 0)
		return;
	tg_run(t, &g);	/* out %al, $0x10 after push $0x1234 */
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_IO);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK_EQ(r.rsp, STACK - 8);
	CHECK_EQ(*(uint64_t *)(g.mem + STACK - 8), 0x1234);
	*(uint64_t *)(g.mem + sp) = 0x5678;
	r.rsp = sp;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
	tg_run(t, &g);	/* cpuid, then out %eax, $0x11 with EAX = RSP */
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(g.run->io.port, 0x11);
	memcpy(&v, (uint8_t *)g.run + g.run->io.data_offset, 4);
	CHECK_EQ(v, (uint32_t)sp);
	tg_run(t, &g);	/* pop %rbx, out %eax, $0x12 */
	CHECK_EQ(g.run->io.port, 0x12);
	memcpy(&v, (uint8_t *)g.run + g.run->io.data_offset, 4);
	CHECK_EQ(v, (uint32_t)(sp + 8));
	tg_run(t, &g);	/* cpuid, push %rbx, out %eax, $0x13 */
	CHECK_EQ(g.run->io.port, 0x13);
	memcpy(&v, (uint8_t *)g.run + g.run->io.data_offset, 4);
	CHECK_EQ(v, (uint32_t)sp);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK_EQ(r.rsp, sp);
	CHECK_EQ(r.rbx, 0x5678);
	CHECK_EQ(*(uint64_t *)(g.mem + sp), 0x5678);
	tg_run(t, &g);
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_HLT);
	tg_destroy(&g);
}

/* #UD with an empty IDT: #GP, #DF, triple fault: KVM_EXIT_SHUTDOWN. */
KVM_CASE(run_triple_fault)
{
	struct tguest g;
	struct kvm_sregs s;

	if (tg_start(t, &g, g_pm32_ud, TG_PM32) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	s.idt.base = 0;
	s.idt.limit = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
	CHECK_OK(t, tg_run(t, &g));
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_SHUTDOWN);
	tg_destroy(&g);
}

/*
 * Invalid guest state that KVM_SET_SREGS accepts (a TR that is an
 * available TSS, SDM 26.3.1.2): VM entry fails, KVM_EXIT_FAIL_ENTRY with
 * the exit reason (bit 31 | 33).
 */
KVM_CASE(run_fail_entry_bad_tr)
{
	struct tguest g;
	struct kvm_sregs s;
	long r;

	if (tg_start(t, &g, g_pm32, TG_PM32) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	s.tr.type = 9;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
	t_differs(t, "PVM KVM has no VM-entry checks of guest segments");
	r = t->be->ioctl(g.vcpu, KVM_RUN, 0);
	t_differs(t, "PVM KVM has no VM-entry checks of guest segments");
	tg_exit(t, g.run);
	CHECK_SOFT(t, r == 0 && g.run->exit_reason == KVM_EXIT_FAIL_ENTRY &&
		   g.run->fail_entry.hardware_entry_failure_reason == 0x80000021,
		   "r %ld exit %u reason %#llx", r, g.run->exit_reason,
		   (unsigned long long)g.run->fail_entry.hardware_entry_failure_reason);
	tg_destroy(&g);
}

/* immediate_exit: KVM_RUN returns -EINTR with KVM_EXIT_INTR and runs nothing. */
KVM_CASE(run_immediate_exit)
{
	struct tguest g;
	struct kvm_regs r;
	long rr;

	if (tg_start(t, &g, g_pm32, TG_PM32) < 0)
		return;
	g.run->immediate_exit = 1;
	rr = IOC(t, g.vcpu, KVM_RUN, 0);
	CHECK_ERR(t, rr, EINTR);
	/* exit_reason is not written (it still says what the last exit was) */
	tg_exit(t, g.run);
	CHECK_EQ(g.run->exit_reason, 0);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK_EQ(r.rip, CODE);
	g.run->immediate_exit = 0;
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	tg_destroy(&g);
}

/* KVM_RUN with immediate_exit after an IN exit completes the IN (RAX, RIP) and returns -EINTR. */
KVM_CASE(run_immediate_exit_completes_io)
{
	struct tguest g;
	struct kvm_regs r;

	if (tg_start(t, &g, g_lm_in, TG_LONG) < 0)
		return;
	tg_run(t, &g);	/* in $0x20, %al */
	((unsigned char *)g.run + g.run->io.data_offset)[0] = 0x5a;
	g.run->immediate_exit = 1;
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINTR);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	CHECK_EQ(r.rax & 0xff, 0x5a);
	CHECK_EQ(r.rip, CODE + 12);
	/* again: nothing is pending, nothing runs */
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINTR);
	g.run->immediate_exit = 0;
	tg_run(t, &g);	/* in $0x21, %ax */
	/*
	 * Userspace moves RIP: the pending IN is dropped, RAX is not written
	 * (complete_fast_pio_in()'s linear RIP check).  PVM KVM runs CPL0 code
	 * in its instruction emulator, which completes the IN anyway.
	 */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	r.rip = CODE;
	r.rax = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
	t_differs(t, "PVM KVM completes an emulated IN after KVM_SET_REGS moved RIP");
	IOC(t, g.vcpu, KVM_RUN, 0);	/* movabs, in $0x20, %al again */
	t_differs(t, "PVM KVM completes an emulated IN after KVM_SET_REGS moved RIP");
	tg_exit(t, g.run);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_differs(t, "PVM KVM completes an emulated IN after KVM_SET_REGS moved RIP");
	t_printf(t, "rax=%#llx rip=%#llx", (unsigned long long)r.rax, (unsigned long long)r.rip);
	CHECK_SOFT(t, r.rax == 0x1122334455667788ull && r.rip == CODE + 10, "rax %#llx rip %#llx",
		   (unsigned long long)r.rax, (unsigned long long)r.rip);
	tg_destroy(&g);
}

/* CPUID in the guest answers what KVM_SET_CPUID2 set, with KVM's runtime bits and ranges. */
static const unsigned cpuid_queries[][2] = {
	{ 0, 0 }, { 1, 0 }, { 7, 0 }, { 0xb, 0 }, { 0xb, 1 }, { 0xb, 5 }, { 0xd, 0 }, { 0xd, 3 },
	{ 0x20, 0 }, { 0x40000000, 0 }, { 0x40000001, 0 }, { 0x40000005, 0 },
	{ 0x80000000, 0 }, { 0x80000001, 0 }, { 0x80000005, 0 }, { 0x80000009, 0 },
	{ 0xc0000000, 0 },
};

static void cpuid_case(struct tctx *t, int amd)
{
	static const struct kvm_cpuid_entry2 ents[] = {
		{ .function = 0, .eax = 0xd, .ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e },
		{ .function = 1, .eax = 0x306a9, .ebx = 0x10800, .ecx = (1u << 27) | 1, .edx = 1 },
		{ .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 1 },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 1, .ebx = 1, .ecx = 0x100, .edx = 0 },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 4, .ebx = 2, .ecx = 0x201, .edx = 0 },
		{ .function = 0xd, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 1, .ebx = 0x1234, .ecx = 0x240 },
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56,
		  .edx = 0x4d },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000001, .ecx = 1, .edx = 0x20100800 },
		{ .function = 0x80000008, .eax = 0x3027 },
	};
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[16]; } cp;
	unsigned n = sizeof(cpuid_queries) / sizeof(cpuid_queries[0]);
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	memset(&cp, 0, sizeof(cp));
	cp.c.nent = sizeof(ents) / sizeof(ents[0]);
	memcpy(cp.e, ents, sizeof(ents));
	if (amd) {	/* "AuthenticAMD": out-of-range leaves read as 0 */
		cp.e[0].ebx = 0x68747541;
		cp.e[0].edx = 0x69746e65;
		cp.e[0].ecx = 0x444d4163;
	}
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_CPUID2, &cp));
	tg_load(&g, g_lm_cpuid);
	memcpy(g.mem + DATA, cpuid_queries, sizeof(cpuid_queries));
	memset(g.mem + DATA + 8 * n, 0xff, 8);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	for (unsigned i = 0; i < n; i++) {
		unsigned *o = (unsigned *)(g.mem + DATA + 0x1000 + 16 * i);

		unsigned fn = cpuid_queries[i][0];
		int redirected = !amd && (fn == 0x20 || fn == 0x40000005 || fn == 0x80000009 ||
					  fn == 0xc0000000);

		if (fn == 1 || fn == 7 || (fn == 0xd && cpuid_queries[i][1] == 0) || redirected)
			t_differs(t, "PVM KVM: CPUID leaves 1, 7 and 0xd.0 are the host's");
		t_printf(t, "cpuid %#x.%u: %08x %08x %08x %08x", cpuid_queries[i][0],
			 cpuid_queries[i][1], o[0], o[1], o[2], o[3]);
	}
	tg_destroy(&g);
}

KVM_CASE(run_cpuid_intel) { cpuid_case(t, 0); }
KVM_CASE(run_cpuid_amd) { cpuid_case(t, 1); }

static void t_msrs(struct tctx *t, int vcpu, const unsigned *idx, int n)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e[8]; } b;

	memset(&b, 0, sizeof(b));
	b.m.nmsrs = n;
	for (int i = 0; i < n; i++)
		b.e[i].index = idx[i];
	CHECK_EQ(IOC(t, vcpu, KVM_GET_MSRS, &b), n);
	for (int i = 0; i < n; i++)
		t_printf(t, "msr %#x = %#llx", b.e[i].index, (unsigned long long)b.e[i].data);
}

/* RDMSR/WRMSR from the guest; unknown MSRs and bad values #GP through the guest's IDT. */
KVM_CASE(run_msr)
{
	static const unsigned idx[] = { 0x174, 0xc0000082, 0xc0000102, 0x277 };
	struct tguest g;

	if (tg_start(t, &g, g_lm_msr, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 30), KVM_EXIT_HLT);
	t_msrs(t, g.vcpu, idx, 4);
	tg_dump_regs(t, &g);
	tg_destroy(&g);
}

/* A reserved PAT memory type (2): #GP (kvm_pat_valid()); PVM KVM takes the value. */
KVM_CASE(run_msr_pat_reserved)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e[1]; } b = {
		.m.nmsrs = 1, .e[0].index = 0x277 };
	struct tguest g;

	if (tg_start(t, &g, g_lm_pat, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io_d(t, &g, 5, "PVM KVM: WRMSR of a reserved PAT type does not #GP"),
		 KVM_EXIT_HLT);
	CHECK_EQ(IOC(t, g.vcpu, KVM_GET_MSRS, &b), 1);
	t_differs(t, "PVM KVM: WRMSR of a reserved PAT type does not #GP");
	t_printf(t, "msr %#x = %#llx", b.e[0].index, (unsigned long long)b.e[0].data);
	CHECK_SOFT(t, b.e[0].data == 0x0007040600070406ull, "PAT %#llx",
		   (unsigned long long)b.e[0].data);
	tg_destroy(&g);
}

/* MOV to CR0/CR3/CR4 and CLTS from the guest, the legal ones and each #GP. */
KVM_CASE(run_cr)
{
	struct tguest g;
	struct kvm_sregs s;

	if (tg_start(t, &g, g_lm_cr, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 30), KVM_EXIT_HLT);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	t_printf(t, "cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx", (unsigned long long)s.cr0,
		 (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer);
	tg_destroy(&g);
}

/*
 * Run with every line a known difference (@why); count the guest's reports
 * of exception @vec (port 0xe0).
 */
static int run_count_vec(struct tctx *t, struct tguest *g, int max, const char *why, unsigned vec)
{
	int gp = 0;

	for (int i = 0; i < max; i++) {
		t_differs(t, why);
		if (IOC(t, g->vcpu, KVM_RUN, 0) < 0)
			break;
		t_differs(t, why);
		tg_exit(t, g->run);
		if (g->run->exit_reason != KVM_EXIT_IO)
			break;
		if (g->run->io.port == 0xe0 &&
		    *(unsigned *)((char *)g->run + g->run->io.data_offset) == vec)
			gp++;
	}
	return gp;
}

static int run_count_gp(struct tctx *t, struct tguest *g, int max, const char *why)
{
	return run_count_vec(t, g, max, why, 13);
}

/* MOV to CR0 with a bit of CR0[63:32]: #GP (kvm_set_cr0()); PVM KVM takes it. */
KVM_CASE(run_cr0_high_bits)
{
	struct tguest g;

	if (tg_start(t, &g, g_lm_cr_hi, TG_LONG) < 0)
		return;
	CHECK_SOFT(t, run_count_gp(t, &g, 5, "PVM KVM: MOV to CR0[63:32] does not #GP") == 1,
		   "no #GP");
	CHECK_SOFT(t, g.run->exit_reason == KVM_EXIT_HLT, "exit %u", g.run->exit_reason);
	tg_destroy(&g);
}

/* Set the supported CPUID (what KVM_GET_SUPPORTED_CPUID gives) as the guest's. */
static void t_supported_cpuid(struct tctx *t, struct tguest *g)
{
	static struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } cp;

	memset(&cp, 0, sizeof(cp));
	cp.c.nent = 100;
	if (t->be->ioctl(g->sys, KVM_GET_SUPPORTED_CPUID, (unsigned long)&cp) < 0)
		CHECK(0, "KVM_GET_SUPPORTED_CPUID: %s", t_errname(errno));
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_CPUID2, &cp));
}

/* XSETBV: XCR0 = 3, then #GP for XCR0 = 2 and for XCR1; KVM_GET_XCRS after. */
KVM_CASE(run_xsetbv)
{
	struct tguest g;
	struct kvm_xcrs x;

	if (tg_create(t, &g) < 0)
		return;
	t_supported_cpuid(t, &g);
	tg_load(&g, g_lm_xsetbv);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	CHECK_EQ(tg_run_io(t, &g, 30), KVM_EXIT_HLT);
	memset(&x, 0, sizeof(x));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_XCRS, &x));
	t_printf(t, "xcrs: n=%u xcr%u=%#llx", x.nr_xcrs, x.xcrs[0].xcr,
		 (unsigned long long)x.xcrs[0].value);
	tg_destroy(&g);
}

/* XSETBV of XCR1: #GP (__kvm_set_xcr()); PVM KVM fails to emulate it (internal error). */
KVM_CASE(run_xsetbv_xcr1)
{
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	t_supported_cpuid(t, &g);
	tg_load(&g, g_lm_xsetbv1);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	CHECK_SOFT(t, run_count_gp(t, &g, 5, "PVM KVM: XSETBV of XCR1 is an emulation failure") == 1,
		   "no #GP");
	CHECK_SOFT(t, g.run->exit_reason == KVM_EXIT_HLT, "exit %u", g.run->exit_reason);
	tg_destroy(&g);
}

/*
 * VMCALL with an unknown number: RAX = -KVM_ENOSYS (-1000).  On this
 * host's PVM KVM a VMCALL from the guest kernel never returns (KVM_RUN
 * hangs), so the case runs on userkvm only.
 */
KVM_CASE(run_vmcall)
{
	struct tguest g;
	struct kvm_regs r;

	if (!t->be->soft) {
		t_differs(t, "PVM KVM: VMCALL at CPL0 hangs KVM_RUN; not run there");
		t_printf(t, "not run");
		return;
	}
	t->differs_all = 1;
	if (tg_start(t, &g, g_lm_vmcall, TG_LONG) < 0)
		return;
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	CHECK_EQ(r.rbx, (unsigned long long)-1000);
	CHECK_EQ(r.rip, CODE + 16);
	tg_destroy(&g);
}

/*
 * MONITOR/MWAIT exit (MONITOR/MWAIT exiting) and are NOPs: VMX KVM's
 * KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is on by default
 * (kvm_emulate_monitor_mwait()), so both OUTs after them run.  PVM KVM
 * fails to emulate MONITOR (internal error).
 */
KVM_CASE(run_monitor_mwait)
{
	struct tguest g;
	int exc, outs = 0;

	if (tg_start(t, &g, g_lm_mwait, TG_LONG) < 0)
		return;
	exc = 0;
	for (int i = 0; i < 8; i++) {
		t_differs(t, "PVM KVM: MONITOR is an emulation failure");
		if (IOC(t, g.vcpu, KVM_RUN, 0) < 0)
			break;
		t_differs(t, "PVM KVM: MONITOR is an emulation failure");
		tg_exit(t, g.run);
		if (g.run->exit_reason != KVM_EXIT_IO)
			break;
		if (g.run->io.port == 0xe0)
			exc++;
		if (g.run->io.port == 0x10)
			outs++;
	}
	CHECK_SOFT(t, exc == 0 && outs == 2 && g.run->exit_reason == KVM_EXIT_HLT,
		   "%d exceptions, %d OUTs, exit %u", exc, outs, g.run->exit_reason);
	tg_destroy(&g);
}

/* The VMX instructions: #UD (no nested VMX); PVM KVM fails to emulate them. */
KVM_CASE(run_vmx_insns_ud)
{
	struct tguest g;
	int ud;

	if (tg_start(t, &g, g_lm_ud, TG_LONG) < 0)
		return;
	ud = run_count_vec(t, &g, 40, "PVM KVM: VMX instructions are emulation failures", 6);
	CHECK_SOFT(t, ud == 6 && g.run->exit_reason == KVM_EXIT_HLT, "%d #UD, exit %u", ud,
		   g.run->exit_reason);
	tg_destroy(&g);
}

static void t_irqstate(struct tctx *t, struct tguest *g)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	/*
	 * Where in the spin loop the window exit lands is not deterministic:
	 * PVM emulates one more instruction, and on userkvm a host-tick exit
	 * may come first (the window is then reported at that boundary, as
	 * KVM's vcpu_run() does).  So: in the loop, past STI and its shadow.
	 * Without a tick in between, userkvm reports the SDM's first open
	 * boundary, the loop's first instruction (CODE + 0x11); the processor
	 * tests (tests/vmx/exits_test.c interrupt_window) pin that exactly.
	 */
	t_printf(t, "if_flag=%u ready_for_interrupt_injection=%u rip in loop %d", g->run->if_flag,
		 g->run->ready_for_interrupt_injection,
		 r.rip >= CODE + 0x11 && r.rip <= CODE + 0x14);
}

/*
 * No irqchip: request_interrupt_window gives KVM_EXIT_IRQ_WINDOW_OPEN once
 * IF = 1 and the STI shadow is over; KVM_INTERRUPT then goes through the
 * guest's IDT.
 */
KVM_CASE(run_irq_window)
{
	struct tguest g;
	struct kvm_interrupt irq = { .irq = 0x20 };

	if (tg_start(t, &g, g_lm_irq, TG_LONG) < 0)
		return;
	tg_run(t, &g);		/* cli; out */
	t_printf(t, "if_flag=%u ready_for_interrupt_injection=%u", g.run->if_flag,
		 g.run->ready_for_interrupt_injection);
	CHECK_EQ(g.run->ready_for_interrupt_injection, 0);
	g.run->request_interrupt_window = 1;
	tg_run(t, &g);
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_IRQ_WINDOW_OPEN);
	t_irqstate(t, &g);
	CHECK_EQ(g.run->ready_for_interrupt_injection, 1);
	g.run->request_interrupt_window = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_INTERRUPT, &irq));
	/* a second one before the first is delivered replaces it */
	irq.irq = 0x21;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_INTERRUPT, &irq));
	tg_run(t, &g);
	CHECK_EQ(g.run->io.port, 0xe0);
	CHECK_EQ(*(unsigned *)((char *)g.run + g.run->io.data_offset), 0x21);
	CHECK_EQ(tg_run_io(t, &g, 6), KVM_EXIT_HLT);
	tg_destroy(&g);
}

/* KVM_NMI: the guest's vector 2 handler runs although IF = 0. */
KVM_CASE(run_nmi)
{
	struct tguest g;

	if (tg_start(t, &g, g_lm_irq, TG_LONG) < 0)
		return;
	tg_run(t, &g);		/* cli; out */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_NMI, 0));
	CHECK_EQ(tg_run_io(t, &g, 6), KVM_EXIT_HLT);
	tg_destroy(&g);
}

/* ---- memslots at run time ---- */

static void *t_slot(struct tctx *t, struct tguest *g, int slot, unsigned long gpa, size_t size,
		    unsigned flags)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region mr = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long)p,
	};

	CHECK(p != MAP_FAILED, "mmap");
	CHECK_OK(t, IOC(t, g->vm, KVM_SET_USER_MEMORY_REGION, &mr));
	return p;
}

static void t_dirty_pages(struct tguest *g, const long *pages)
{
	int i = 0;

	for (; pages[i] >= 0; i++)
		memcpy(g->mem + DATA + 8 * i, &pages[i], 8);
	memset(g->mem + DATA + 8 * i, 0xff, 8);
}

static unsigned long long t_get_dirty(struct tctx *t, struct tguest *g, int slot)
{
	unsigned long long bm[2] = { 0, 0 };
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bm };

	CHECK_OK(t, IOC(t, g->vm, KVM_GET_DIRTY_LOG, &log));
	t_printf(t, "dirty bitmap slot %d: %#llx %#llx", slot, bm[0], bm[1]);
	return bm[0];
}

static void dirty_setup(struct tctx *t, struct tguest *g, void **slot_mem)
{
	struct kvm_regs r;

	tg_load(g, g_lm_dirty);
	tg_set_mode(t, g, g->vcpu, TG_LONG);
	*slot_mem = t_slot(t, g, 1, 0x200000, 16 * 4096, KVM_MEM_LOG_DIRTY_PAGES);
	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	r.rdi = 0x200000;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_REGS, &r));
}

/* Guest writes and KVM_GET_DIRTY_LOG, exact to the page; each log read resets it. */
KVM_CASE(run_dirty_log)
{
	static const long p1[] = { 0, 3, 7, 15, -1 }, p2[] = { 3, -1 }, p3[] = { -1 };
	struct tguest g;
	void *sm;

	if (tg_create(t, &g) < 0)
		return;
	dirty_setup(t, &g, &sm);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0);
	t_dirty_pages(&g, p1);
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8089);
	CHECK_EQ(((unsigned char *)sm)[7 * 4096], 0x5a);
	t_dirty_pages(&g, p2);
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8);
	t_dirty_pages(&g, p3);
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0);
	/* slot 0 has no dirty log */
	{
		unsigned long long bm[64];
		struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bm };

		CHECK_ERR(t, IOC(t, g.vm, KVM_GET_DIRTY_LOG, &log), ENOENT);
	}
	munmap(sm, 16 * 4096);
	tg_destroy(&g);
}

/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET does not reset, KVM_CLEAR_DIRTY_LOG re-arms pages. */
KVM_CASE(run_dirty_log_manual_protect)
{
	static const long p1[] = { 0, 3, 7, 15, -1 }, p2[] = { 0, 7, -1 }, p3[] = { -1 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
				      .args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE };
	unsigned long long clr = 0x9;	/* pages 0 and 3 */
	struct kvm_clear_dirty_log cl = { .slot = 1, .first_page = 0, .num_pages = 64,
					  .dirty_bitmap = &clr };
	struct tguest g;
	void *sm;

	if (tg_create(t, &g) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vm, KVM_ENABLE_CAP, &cap));
	dirty_setup(t, &g, &sm);
	t_dirty_pages(&g, p1);
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8089);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8089);	/* not reset by reading */
	/* num_pages must be a multiple of 64 unless it ends the slot */
	CHECK_ERR(t, IOC(t, g.vm, KVM_CLEAR_DIRTY_LOG, &cl), EINVAL);
	cl.num_pages = 16;
	CHECK_OK(t, IOC(t, g.vm, KVM_CLEAR_DIRTY_LOG, &cl));
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8080);
	t_dirty_pages(&g, p2);	/* 0 was cleared: dirty again; 7 still dirty */
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0x8081);
	clr = ~0ull;
	CHECK_OK(t, IOC(t, g.vm, KVM_CLEAR_DIRTY_LOG, &cl));
	t_dirty_pages(&g, p3);
	tg_run(t, &g);
	CHECK_EQ(t_get_dirty(t, &g, 1), 0);
	munmap(sm, 16 * 4096);
	tg_destroy(&g);
}

static void t_set_rip_rdi(struct tctx *t, struct tguest *g, unsigned long rdi)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	r.rip = CODE;
	r.rdi = rdi;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_REGS, &r));
}

/* Read the quadword at @gpa through the guest (two OUTs), as the transcript shows it. */
static unsigned long long t_guest_read(struct tctx *t, struct tguest *g, unsigned long gpa)
{
	unsigned long long v = 0;

	t_set_rip_rdi(t, g, gpa);
	for (int i = 0; i < 2; i++) {
		if (tg_run(t, g) < 0 || g->run->exit_reason != KVM_EXIT_IO)
			return ~0ull;
		v |= (unsigned long long)*(unsigned *)((char *)g->run + g->run->io.data_offset)
		     << (32 * i);
	}
	return v;
}

/* Moving a slot, deleting it and creating it again with other memory, between runs. */
KVM_CASE(run_slot_move_delete)
{
	struct kvm_userspace_memory_region mr;
	struct tguest g;
	unsigned long long *a, *b;

	if (tg_start(t, &g, g_lm_read, TG_LONG) < 0)
		return;
	a = t_slot(t, &g, 2, 0x300000, 4096, 0);
	a[0] = 0x1111111122222222ull;
	a[1] = 0x3333333344444444ull;
	CHECK_EQ(t_guest_read(t, &g, 0x300000), 0x1111111122222222ull);
	/* move: the same memory at 0x3ff000 */
	mr = (struct kvm_userspace_memory_region){ .slot = 2, .guest_phys_addr = 0x3ff000,
		.memory_size = 4096, .userspace_addr = (unsigned long)a };
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	CHECK_EQ(t_guest_read(t, &g, 0x3ff008), 0x3333333344444444ull);
	/* delete, and create it again at the old address with other memory */
	mr.memory_size = 0;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	b = t_slot(t, &g, 2, 0x300000, 4096, 0);
	b[0] = 0x5555555566666666ull;
	CHECK_EQ(t_guest_read(t, &g, 0x300000), 0x5555555566666666ull);
	/* the host writes memory the guest already mapped: the guest sees it */
	b[0] = 0x7777777788888888ull;
	CHECK_EQ(t_guest_read(t, &g, 0x300000), 0x7777777788888888ull);
	munmap(a, 4096);
	munmap(b, 4096);
	tg_destroy(&g);
}

/*
 * A slot deleted by another thread while the vCPU reads it in a loop that
 * exits to userspace at every read (two OUTs): once the delete returned,
 * no translation of the old memory may be left in any vCPU (KVM waits for
 * each vCPU in the guest to flush, kvm_flush_remote_tlbs()).  The deleting
 * thread then writes a poison value into the old memory: a read that
 * still went through an old translation would report it.  The loop ends
 * at the first read of the GPA without a slot (KVM_EXIT_MMIO).
 */
struct slot_del {
	const struct backend *be;
	int vm, go;
	unsigned long long *mem;
	int r;
};

static void *slot_del_fn(void *p)
{
	struct slot_del *d = p;
	struct kvm_userspace_memory_region mr = { .slot = 2, .guest_phys_addr = 0x300000,
		.memory_size = 0, .userspace_addr = (unsigned long)d->mem };

	while (!__atomic_load_n(&d->go, __ATOMIC_ACQUIRE))
		sched_yield();
	d->r = (int)d->be->ioctl(d->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&mr);
	__atomic_store_n(&d->mem[0], 0xdeadbeefdeadbeefull, __ATOMIC_RELEASE);
	return NULL;
}

KVM_CASE(run_slot_delete_while_running)
{
	struct slot_del d;
	struct tguest g;
	pthread_t th;
	long reads = 0, poisoned = 0, runs = 0;
	int mmio = 0;

	if (tg_start(t, &g, g_lm_read, TG_LONG) < 0)
		return;
	d = (struct slot_del){ .be = t->be, .vm = g.vm };
	d.mem = t_slot(t, &g, 2, 0x300000, 4096, 0);
	d.mem[0] = 0x1111111122222222ull;
	t_set_rip_rdi(t, &g, 0x300000);
	CHECK(pthread_create(&th, NULL, slot_del_fn, &d) == 0, "pthread_create");
	while (runs < 4000000) {
		if (t->be->ioctl(g.vcpu, KVM_RUN, 0) < 0)
			break;
		runs++;
		if (g.run->exit_reason == KVM_EXIT_MMIO) {
			mmio = g.run->mmio.phys_addr == 0x300000 && !g.run->mmio.is_write;
			break;
		}
		if (g.run->exit_reason != KVM_EXIT_IO)
			break;
		if (*(unsigned *)((char *)g.run + g.run->io.data_offset) == 0xdeadbeef)
			poisoned++;
		if (++reads == 200)	/* the loop runs: now delete it */
			__atomic_store_n(&d.go, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&d.go, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK_EQ(d.r, 0);
	CHECK(mmio, "the loop ended with exit %u after %ld runs, not the MMIO read of the gap",
	      g.run->exit_reason, runs);
	CHECK_EQ(poisoned, 0);
	t_printf(t, "slot deleted while running: %s, %ld poisoned reads", mmio ? "then an MMIO read" : "no MMIO read",
		 poisoned);
	munmap(d.mem, 4096);
	tg_destroy(&g);
}

/*
 * The same with a guest that reads the slot many times per exit
 * (g_lm_read_spin): the delete must wait until the vCPU in the guest
 * dropped its translation (the kick, and KVM_REQ_TLB_FLUSH taken), or the
 * guest reads the poison written right after the delete returned (port
 * 0x11).  Rounds of: a slot at 0x300000, a first report, the delete by
 * another thread, runs until the read of the gap (KVM_EXIT_MMIO).
 */
KVM_CASE(run_slot_delete_while_spinning)
{
	const unsigned long long poison = 0xdeadbeefdeadbeefull;
	long poisoned = 0, rounds = 0, other = 0;
	struct tguest g;

	if (tg_start(t, &g, g_lm_read_spin, TG_LONG) < 0)
		return;
	for (int round = 0; round < 20; round++) {
		struct slot_del d = { .be = t->be, .vm = g.vm };
		struct kvm_regs r;
		pthread_t th;
		long runs = 0;

		d.mem = t_slot(t, &g, 2, 0x300000, 4096, 0);
		d.mem[0] = 0x1111111122222222ull;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		r.rip = CODE;
		r.rdi = 0x300000;
		r.rsi = poison;
		r.r8 = 20000;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
		CHECK(pthread_create(&th, NULL, slot_del_fn, &d) == 0, "pthread_create");
		while (runs < 100000 && t->be->ioctl(g.vcpu, KVM_RUN, 0) == 0) {
			if (runs++ == 0)	/* the loop runs: now delete it */
				__atomic_store_n(&d.go, 1, __ATOMIC_RELEASE);
			if (g.run->exit_reason == KVM_EXIT_MMIO)
				break;
			if (g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x11)
				poisoned++;
			else if (g.run->exit_reason != KVM_EXIT_IO || g.run->io.port != 0x10)
				other++;
		}
		__atomic_store_n(&d.go, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		CHECK_EQ(d.r, 0);
		if (g.run->exit_reason == KVM_EXIT_MMIO && g.run->mmio.phys_addr == 0x300000)
			rounds++;
		munmap(d.mem, 4096);
	}
	CHECK(rounds == 20, "%ld of 20 rounds ended in the MMIO read of the gap", rounds);
	CHECK(poisoned == 0, "%ld reads of the deleted slot's memory after the delete", poisoned);
	CHECK_EQ(other, 0);
	t_printf(t, "slot deleted while spinning: %ld rounds, %ld poisoned reads", rounds, poisoned);
	tg_destroy(&g);
}

/* A read of a GPA with no slot: KVM_EXIT_MMIO. */
KVM_CASE(run_mmio_read_no_slot)
{
	struct tguest g;

	if (tg_start(t, &g, g_lm_read, TG_LONG) < 0)
		return;
	t_set_rip_rdi(t, &g, 0x500000);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
	tg_exit(t, g.run);
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_MMIO);
	CHECK_EQ(g.run->mmio.phys_addr, 0x500000);
	CHECK_EQ(g.run->mmio.len, 8);
	CHECK_EQ(g.run->mmio.is_write, 0);
	tg_destroy(&g);
}

/*
 * A slot whose host memory was munmap()ed: KVM_RUN fails with EFAULT when
 * the guest touches it (VMX KVM: the EPT violation finds no page).  PVM KVM
 * runs CPL0 code in its emulator, whose failed read becomes KVM_EXIT_MMIO
 * (or EFAULT, depending on what it had cached).  The hole is one page
 * between two mapped ones, so that no later mmap() (a malloc() in the
 * ioctls) can reuse it before KVM_RUN.
 *
 * FIXME: the memory is unmapped before KVM_SET_USER_MEMORY_REGION here.
 * Unmapped after it, userkvm does not notice (KVM has MMU notifiers; a
 * library sees no munmap(), and checking each fault would be a system
 * call inside KVM_RUN that seccomp-confined VMMs do not allow), and a
 * guest access then faults the process.
 */
KVM_CASE(run_slot_unmapped_efault)
{
	struct kvm_userspace_memory_region mr;
	struct tguest g;
	char *p;
	long r;

	if (tg_start(t, &g, g_lm_read, TG_LONG) < 0)
		return;
	p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap");
	munmap(p + 4096, 4096);
	mr = (struct kvm_userspace_memory_region){ .slot = 3, .guest_phys_addr = 0x400000,
		.memory_size = 4096, .userspace_addr = (unsigned long)(p + 4096) };
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	t_set_rip_rdi(t, &g, 0x400000);
	t_differs(t, "PVM KVM: its emulator's failed read may give KVM_EXIT_MMIO");
	r = IOC(t, g.vcpu, KVM_RUN, 0);
	CHECK_SOFT(t, r == -1 && t->err == EFAULT, "r %ld errno %s", r, t_errname(t->err));
	munmap(p, 4096);
	munmap(p + 2 * 4096, 4096);
	tg_destroy(&g);
}

/* ---- several vCPUs ---- */

#include <pthread.h>
#include <signal.h>

#define XADD_VCPUS 4
#define XADD_LOOPS 20000

struct vcpu_thread {
	struct tctx *t;
	int fd;
	struct kvm_run *run;
	long r;
	int err;
	unsigned exit_reason, port, value;
};

static void *xadd_thread(void *arg)
{
	struct vcpu_thread *v = arg;

	v->r = v->t->be->ioctl(v->fd, KVM_RUN, 0);
	v->err = errno;
	v->exit_reason = v->run->exit_reason;
	v->port = v->run->io.port;
	v->value = *(unsigned *)((char *)v->run + v->run->io.data_offset);
	return NULL;
}

/* 4 vCPUs on 4 threads, LOCK XADD on one counter in shared memory: the total is exact. */
KVM_CASE(run_smp_lock_xadd)
{
	struct vcpu_thread v[XADD_VCPUS];
	pthread_t th[XADD_VCPUS];
	struct tguest g;
	unsigned max = 0;

	if (tg_create(t, &g) < 0)
		return;
	tg_load(&g, g_lm_xadd);
	for (int i = 0; i < XADD_VCPUS; i++) {
		struct kvm_regs r;

		v[i] = (struct vcpu_thread){ .t = t };
		if (i == 0) {
			v[i].fd = g.vcpu;
			v[i].run = g.run;
		} else {
			v[i].fd = tg_add_vcpu(t, &g, i, &v[i].run);
		}
		tg_set_mode(t, &g, v[i].fd, TG_LONG);
		CHECK_OK(t, IOC(t, v[i].fd, KVM_GET_REGS, &r));
		r.rsi = XADD_LOOPS;
		CHECK_OK(t, IOC(t, v[i].fd, KVM_SET_REGS, &r));
	}
	for (int i = 0; i < XADD_VCPUS; i++)
		pthread_create(&th[i], NULL, xadd_thread, &v[i]);
	for (int i = 0; i < XADD_VCPUS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < XADD_VCPUS; i++) {
		t_printf(t, "vcpu %d: KVM_RUN = %ld exit %s port %#x", i, v[i].r,
			 tg_exit_name(v[i].exit_reason), v[i].port);
		CHECK(v[i].r == 0 && v[i].exit_reason == KVM_EXIT_IO, "vcpu %d", i);
		if (v[i].value > max)
			max = v[i].value;
	}
	t_printf(t, "counter = %u, last value seen = %u", *(unsigned *)(g.mem + DATA), max);
	CHECK_EQ(*(unsigned *)(g.mem + DATA), XADD_VCPUS * XADD_LOOPS);
	CHECK_EQ(max, XADD_VCPUS * XADD_LOOPS - 1);
	for (int i = 1; i < XADD_VCPUS; i++) {
		munmap(v[i].run, g.run_size);
		close(v[i].fd);
	}
	tg_destroy(&g);
}

/* ---- kicks: another thread (or a signal handler) sets immediate_exit and signals ---- */

static struct kvm_run *volatile kick_run;
static void kick_handler_nop(int sig) { (void)sig; }
static void kick_handler_set(int sig)
{
	(void)sig;
	kick_run->immediate_exit = 1;
}

static void kick_once(struct tctx *t, struct tguest *g, void (*handler)(int), int set_first)
{
	struct sigaction sa = { .sa_handler = handler }, old;
	struct vcpu_thread v = { .t = t, .fd = g->vcpu, .run = g->run };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_t th;

	sigaction(SIGUSR1, &sa, &old);
	kick_run = g->run;
	g->run->immediate_exit = 0;
	*(volatile uint64_t *)(g->mem + DATA) = 0;
	pthread_create(&th, NULL, xadd_thread, &v);
	/*
	 * Kick only once the guest runs (it counts in DATA): a kick before
	 * KVM_RUN would end it at entry, with exit_reason untouched, as KVM
	 * does, which is not what this case is about.
	 */
	for (int i = 0; i < 1000 && !*(volatile uint64_t *)(g->mem + DATA); i++)
		nanosleep(&ts, NULL);
	CHECK(*(volatile uint64_t *)(g->mem + DATA), "the guest never ran");
	if (set_first)
		g->run->immediate_exit = 1;
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	sigaction(SIGUSR1, &old, NULL);
	t_printf(t, "KVM_RUN = %ld %s exit %s", v.r, v.r < 0 ? t_errname(v.err) : "",
		 tg_exit_name(v.exit_reason));
	CHECK(v.r == -1 && v.err == EINTR && v.exit_reason == KVM_EXIT_INTR, "r %ld exit %u", v.r,
	      v.exit_reason);
	g->run->immediate_exit = 0;
}

/* A vCPU spinning in the guest returns -EINTR with KVM_EXIT_INTR after the kick. */
KVM_CASE(run_kick_immediate_exit_signal)
{
	struct tguest g;

	if (tg_start(t, &g, g_lm_spin, TG_LONG) < 0)
		return;
	kick_once(t, &g, kick_handler_nop, 1);	/* the kicker sets immediate_exit */
	kick_once(t, &g, kick_handler_set, 0);	/* the handler does (QEMU's way) */
	tg_destroy(&g);
}

/*
 * A guest that exits for CPUID over and over (handled in "kernel": on
 * userkvm vmx_vcpu_run() re-enters it itself, vmx_fastpath_reenter()) and
 * a signal whose handler sets immediate_exit (QEMU's way): KVM_RUN ends
 * with -EINTR and KVM_EXIT_INTR, and the guest does not go on: real KVM
 * runs the handler once the thread has left the guest; userkvm, which the
 * signal interrupts in the guest, must see immediate_exit at the next
 * CPUID exit, so at most one more loop.  A re-entry that missed it would
 * go on until the next host tick (about 1 ms: thousands of loops).
 */
static volatile uint64_t *kick_counter;
static volatile uint64_t kick_counter_seen;
static void kick_handler_snap(int sig)
{
	(void)sig;
	kick_run->immediate_exit = 1;
	kick_counter_seen = *kick_counter;
}

KVM_CASE(run_kick_cpuid_loop)
{
	struct sigaction sa = { .sa_handler = kick_handler_snap }, old;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct tguest g;

	if (tg_start(t, &g, g_lm_cpuid_spin, TG_LONG) < 0)
		return;
	kick_run = g.run;
	kick_counter = (volatile uint64_t *)(g.mem + DATA);
	*kick_counter = 0;
	sigaction(SIGUSR1, &sa, &old);
	/* Several rounds: a signal may also land where no re-entry follows. */
	for (int round = 0; round < 5; round++) {
		struct vcpu_thread v = { .t = t, .fd = g.vcpu, .run = g.run };
		uint64_t before = *kick_counter, after;
		pthread_t th;

		g.run->immediate_exit = 0;
		pthread_create(&th, NULL, xadd_thread, &v);
		for (int i = 0; i < 1000 && *kick_counter < before + 1000; i++)
			nanosleep(&ts, NULL);
		CHECK(*kick_counter >= before + 1000, "the guest did not run: %llu loops",
		      (unsigned long long)(*kick_counter - before));
		pthread_kill(th, SIGUSR1);
		pthread_join(th, NULL);
		after = *kick_counter;
		t_printf(t, "KVM_RUN = %ld %s exit %s", v.r, v.r < 0 ? t_errname(v.err) : "",
			 tg_exit_name(v.exit_reason));
		t_printf(t, "~loops after the handler: %llu",
			 (unsigned long long)(after - kick_counter_seen));
		CHECK(v.r == -1 && v.err == EINTR && v.exit_reason == KVM_EXIT_INTR, "r %ld exit %u",
		      v.r, v.exit_reason);
		CHECK(after - kick_counter_seen <= 1, "round %d: %llu loops after immediate_exit",
		      round, (unsigned long long)(after - kick_counter_seen));
	}
	sigaction(SIGUSR1, &old, NULL);
	g.run->immediate_exit = 0;
	tg_destroy(&g);
}

/*
 * KVM_SET_SIGNAL_MASK as QEMU uses it: the vCPU thread blocks SIGUSR1, the
 * vCPU's mask does not, so a SIGUSR1 sent while the guest spins is taken
 * during KVM_RUN (its handler sets immediate_exit): -EINTR, KVM_EXIT_INTR.
 * After the run the thread's own mask (SIGUSR1 blocked) is back.  A
 * watchdog sets immediate_exit after 2 s, so that a mask not in force ends
 * the case with a failure instead of a hang (on userkvm).
 */
static volatile int sigmask_handled;
static void sigmask_handler(int sig)
{
	(void)sig;
	sigmask_handled = 1;
	kick_run->immediate_exit = 1;
}

struct sigmask_thread {
	struct vcpu_thread v;
	int blocked_after;
};

static void *sigmask_run_thread(void *arg)
{
	struct sigmask_thread *s = arg;
	sigset_t set, now;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	xadd_thread(&s->v);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	s->blocked_after = sigismember(&now, SIGUSR1);
	/* The SIGUSR1 still pending if it was never taken: take it here. */
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return NULL;
}

KVM_CASE(run_signal_mask_in_force)
{
	struct sigaction sa = { .sa_handler = sigmask_handler }, old;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct {
		struct kvm_signal_mask m;
		unsigned char set[8];
	} sm;
	struct sigmask_thread s;
	struct tguest g;
	pthread_t th;
	int i;

	if (tg_start(t, &g, g_lm_spin, TG_LONG) < 0)
		return;
	memset(&sm, 0, sizeof(sm));
	sm.m.len = 8;		/* nothing blocked while the vCPU runs */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SIGNAL_MASK, &sm));
	memset(&s, 0, sizeof(s));
	s.v.t = t;
	s.v.fd = g.vcpu;
	s.v.run = g.run;
	kick_run = g.run;
	sigmask_handled = 0;
	g.run->immediate_exit = 0;
	*(volatile uint64_t *)(g.mem + DATA) = 0;
	sigaction(SIGUSR1, &sa, &old);
	pthread_create(&th, NULL, sigmask_run_thread, &s);
	for (i = 0; i < 1000 && !*(volatile uint64_t *)(g.mem + DATA); i++)
		nanosleep(&ts, NULL);
	CHECK(*(volatile uint64_t *)(g.mem + DATA), "the guest never ran");
	pthread_kill(th, SIGUSR1);
	for (i = 0; i < 200 && !sigmask_handled; i++)
		nanosleep(&ts, NULL);
	if (!sigmask_handled)
		g.run->immediate_exit = 1;	/* the watchdog */
	pthread_join(th, NULL);
	sigaction(SIGUSR1, &old, NULL);
	t_printf(t, "KVM_RUN = %ld %s exit %s, handler ran during the run: %d, blocked after: %d",
		 s.v.r, s.v.r < 0 ? t_errname(s.v.err) : "", tg_exit_name(s.v.exit_reason),
		 i < 200, s.blocked_after);
	CHECK(i < 200, "SIGUSR1 was not taken during KVM_RUN");
	CHECK(s.v.r == -1 && s.v.err == EINTR && s.v.exit_reason == KVM_EXIT_INTR, "r %ld exit %u",
	      s.v.r, s.v.exit_reason);
	CHECK(s.blocked_after, "the thread's signal mask was not restored after KVM_RUN");
	g.run->immediate_exit = 0;
	tg_destroy(&g);
}

/* ---- KVM_CAP_SYNC_REGS ---- */

/* Registers through kvm_run->s.regs: valid after the run, dirty before it (as sync_regs_test). */
KVM_CASE(run_sync_regs)
{
	struct tguest g;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_run *run;
	long cap;

	if (tg_create(t, &g) < 0)
		return;
	run = g.run;
	cap = IOC(t, g.sys, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	CHECK_EQ(cap, KVM_SYNC_X86_VALID_FIELDS);
	tg_load(&g, g_lm_sync);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	run->kvm_valid_regs = 0x80000000;
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINVAL);
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = 0x80000000 | KVM_SYNC_X86_REGS;
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINVAL);
	run->kvm_dirty_regs = 0;

	run->kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
	tg_run(t, &g);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK(!memcmp(&r, &run->s.regs.regs, sizeof(r)), "s.regs.regs != KVM_GET_REGS");
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
	CHECK(!memcmp(&s, &run->s.regs.sregs, sizeof(s)), "s.regs.sregs != KVM_GET_SREGS");
	t_differs(t, "PVM KVM: RIP is past an emulated OUT at its exit");
	t_printf(t, "s.regs: rip=%#llx", (unsigned long long)run->s.regs.regs.rip);
	CHECK_SOFT(t, run->s.regs.regs.rip == CODE + 3, "rip %#llx",
		   (unsigned long long)run->s.regs.regs.rip);
	t_printf(t, "s.regs: rbx=%#llx cr0=%#llx efer=%#llx", (unsigned long long)run->s.regs.regs.rbx,
		 (unsigned long long)run->s.regs.sregs.cr0, (unsigned long long)run->s.regs.sregs.efer);

	/* dirty: the run starts from s.regs; the flags are consumed */
	run->s.regs.regs.rbx = 0x1000;
	run->s.regs.regs.rcx = 5;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	tg_run(t, &g);
	t_printf(t, "after dirty regs: rbx=%#llx dirty=%#llx", (unsigned long long)run->s.regs.regs.rbx,
		 (unsigned long long)run->kvm_dirty_regs);
	CHECK_EQ(run->s.regs.regs.rbx, 0x1005);
	CHECK_EQ(run->kvm_dirty_regs, 0);

	/* neither valid nor dirty: s.regs is left alone, the guest state too */
	run->kvm_valid_regs = 0;
	run->s.regs.regs.rbx = 0xaaaa;
	tg_run(t, &g);
	CHECK_EQ(run->s.regs.regs.rbx, 0xaaaa);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_printf(t, "rbx=%#llx", (unsigned long long)r.rbx);
	CHECK_EQ(r.rbx, 0x100a);

	/* an invalid dirty SREGS (CR0.PG without PE) fails KVM_RUN with EINVAL */
	run->kvm_valid_regs = KVM_SYNC_X86_SREGS;
	tg_run(t, &g);
	run->s.regs.sregs.cr0 = 0x80000000;
	run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINVAL);
	tg_destroy(&g);
}

/* ---- KVM_SET_GUEST_DEBUG ---- */

#define CHECK_EQ_SOFT(a, b) CHECK_SOFT(t, (a) == (b), "%#llx != %#llx", \
				       (unsigned long long)(a), (unsigned long long)(b))

/*
 * KVM_GUESTDBG_USE_SW_BP: int3 exits with KVM_EXIT_DEBUG (exception 3, pc
 * at the int3); userspace steps over it.  Then KVM_GUESTDBG_INJECT_BP
 * hands a #BP to the guest, whose IDT (zeroes at 0) ends in a triple fault.
 */
KVM_CASE(run_guest_debug_sw_bp)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP };
	struct tguest g;
	struct kvm_regs r;

	if (tg_start(t, &g, g_pm32_int3, TG_PM32) < 0)
		return;
	CHECK_EQ(t->be->ioctl(g.sys, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG), 1);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	/* PVM KVM: int3 in the guest kernel is an emulation failure; the rest is userkvm's */
	t->differs_all = 1;
	tg_run(t, &g);
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_DEBUG);
	CHECK_EQ_SOFT(g.run->debug.arch.exception, 3);
	CHECK_EQ_SOFT(g.run->debug.arch.pc, CODE + 5);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	r.rip++;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
	CHECK_EQ_SOFT(tg_run_io(t, &g, 4), KVM_EXIT_HLT);

	/* again from the start; this time the #BP goes to the guest */
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	tg_run(t, &g);
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_DEBUG);
	dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_INJECT_BP;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	/* one exception at a time */
	CHECK_SOFT(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg) == -1 && t->err == EBUSY, "not EBUSY");
	tg_run(t, &g);
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_SHUTDOWN);
	/* disabled: int3 no longer exits */
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	tg_destroy(&g);
}

/* ---- MSR exits to userspace and MSR filters ---- */

/*
 * KVM_CAP_X86_USER_SPACE_MSR + KVM_X86_SET_MSR_FILTER: an unknown MSR and
 * a filtered one exit to userspace (KVM_EXIT_X86_RDMSR/WRMSR with the
 * reason); userspace answers with data or an error (#GP in the guest).
 */
KVM_CASE(run_user_space_msr_filter)
{
	static unsigned long long deny_lstar = 0;	/* bit 0 clear: 0xc0000082 denied */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER };
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE, .nmsrs = 1, .base = 0xc0000082,
			       .bitmap = (unsigned char *)&deny_lstar },
	};
	struct tguest g;
	long r;

	if (tg_create(t, &g) < 0)
		return;
	r = IOC(t, g.sys, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR);
	CHECK(r > 0, "cap %ld", r);
	CHECK(IOC(t, g.sys, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0, "no MSR filter");
	cap.args[0] |= 1ull << 5;
	CHECK_ERR(t, IOC(t, g.vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] &= ~(1ull << 5);
	CHECK_OK(t, IOC(t, g.vm, KVM_ENABLE_CAP, &cap));
	/* bad filters */
	f.flags = 2;
	CHECK_ERR(t, IOC(t, g.vm, KVM_X86_SET_MSR_FILTER, &f), EINVAL);
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0].flags = 0;
	CHECK_ERR(t, IOC(t, g.vm, KVM_X86_SET_MSR_FILTER, &f), EINVAL);
	f.ranges[0].flags = KVM_MSR_FILTER_WRITE;
	{
		struct kvm_msr_filter empty_deny = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };

		CHECK_ERR(t, IOC(t, g.vm, KVM_X86_SET_MSR_FILTER, &empty_deny), EINVAL);
	}
	CHECK_OK(t, IOC(t, g.vm, KVM_X86_SET_MSR_FILTER, &f));

	tg_load(&g, g_lm_msr);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	for (int i = 0; i < 30; i++) {
		if (IOC(t, g.vcpu, KVM_RUN, 0) < 0)
			break;
		tg_exit(t, g.run);
		if (g.run->exit_reason == KVM_EXIT_X86_RDMSR || g.run->exit_reason == KVM_EXIT_X86_WRMSR) {
			t_printf(t, "msr exit: index=%#x reason=%#x data=%#llx error=%u", g.run->msr.index,
				 g.run->msr.reason, (unsigned long long)g.run->msr.data, g.run->msr.error);
			/*
			 * Reads answer 0x1234; the write of the unknown MSR and
			 * the non-canonical LSTAR fail (#GP); the first LSTAR
			 * write "succeeds" without reaching KVM.
			 */
			if (g.run->exit_reason == KVM_EXIT_X86_RDMSR)
				g.run->msr.data = 0x1234;
			else if (g.run->msr.index == 0x12345678 ||
				 g.run->msr.data == 0x0100000000000000ull)
				g.run->msr.error = 1;
			continue;
		}
		if (g.run->exit_reason != KVM_EXIT_IO)
			break;
	}
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_HLT);
	{
		static const unsigned idx[] = { 0xc0000082 };

		t_msrs(t, g.vcpu, idx, 1);	/* the filtered write never reached it */
	}
	tg_destroy(&g);
}

/*
 * KVM_GUESTDBG_SINGLESTEP: a KVM_EXIT_DEBUG (#DB, DR6.BS) after every
 * instruction, including a taken jump; an OUT exits as usual and its
 * completion (an instruction KVM retires) reports the step; RFLAGS.TF is
 * not visible in KVM_GET_REGS.
 */
KVM_CASE(run_guest_debug_singlestep)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	static const unsigned long long pcs[] = { 0x1005, 0x1008, 0x100b, 0x100c };
	struct tguest g;
	struct kvm_regs r;

	if (tg_start(t, &g, g_pm32_step, TG_PM32) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	for (int i = 0; i < 4; i++) {
		CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
		t_printf(t, "exit %s exception=%u pc=%#llx dr6=%#llx", tg_exit_name(g.run->exit_reason),
			 g.run->debug.arch.exception, (unsigned long long)g.run->debug.arch.pc,
			 (unsigned long long)g.run->debug.arch.dr6);
		t_differs(t, "PVM KVM reports DR7 as 0, VMX KVM the guest's (0x400)");
		t_printf(t, "dr7=%#llx", (unsigned long long)g.run->debug.arch.dr7);
		CHECK_SOFT(t, g.run->debug.arch.dr7 == 0x400, "dr7 %#llx",
			   (unsigned long long)g.run->debug.arch.dr7);
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_DEBUG);
		CHECK_EQ(g.run->debug.arch.exception, 1);
		CHECK_EQ(g.run->debug.arch.pc, pcs[i]);
		CHECK_EQ(g.run->debug.arch.dr6, 0xffff4ff0);
	}
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
	CHECK_EQ(r.rflags & 0x100, 0);
	CHECK_EQ(r.rax, 4);
	tg_run(t, &g);		/* out: an IO exit */
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_IO);
	/*
	 * PVM KVM retired the (emulated) OUT before its exit and steps on
	 * through the HLT; VMX KVM reports the step when the OUT completes.
	 */
	t->differs_all = 1;
	tg_run(t, &g);		/* its completion is the step */
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_DEBUG);
	CHECK_EQ_SOFT(g.run->debug.arch.pc, 0x100e);
	tg_run(t, &g);		/* hlt: the HLT exit wins over the step */
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_HLT);
	t->differs_all = 0;
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	tg_destroy(&g);
}

/* KVM_GUESTDBG_USE_HW_BP: an instruction breakpoint in DR0 exits before the instruction (DR6.B0). */
KVM_CASE(run_guest_debug_hw_bp)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };
	struct tguest g;

	if (tg_start(t, &g, g_pm32_step, TG_PM32) < 0)
		return;
	dbg.arch.debugreg[0] = 0x100b;	/* inc %eax */
	dbg.arch.debugreg[7] = 0x400 | 2;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	t->differs_all = 1;	/* PVM KVM: (not compared; see the report) */
	tg_run(t, &g);
	CHECK_EQ_SOFT(g.run->exit_reason, KVM_EXIT_DEBUG);
	CHECK_EQ_SOFT(g.run->debug.arch.exception, 1);
	CHECK_EQ_SOFT(g.run->debug.arch.pc, 0x100b);
	CHECK_EQ_SOFT(g.run->debug.arch.dr6, 0xffff0ff1);
	CHECK_EQ_SOFT(g.run->debug.arch.dr7, 0x402);
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	CHECK_EQ_SOFT(tg_run_io(t, &g, 4), KVM_EXIT_HLT);
	tg_destroy(&g);
}

/*
 * KVM_SET_CPUID2 after the vCPU has run (kvm_cpuid_check_equal()): the same
 * entries are accepted, a changed feature, a changed count or MAXPHYADDR are
 * EINVAL, and the model stays what it was.  Before the first KVM_RUN any
 * change is fine.  (The KVM selftest cpuid_test checks the same.)
 */
KVM_CASE(run_cpuid_frozen_after_run)
{
	static struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } cp, now;
	struct kvm_cpuid_entry2 *leaf7 = NULL, *ext8 = NULL;
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	t_supported_cpuid(t, &g);
	memset(&cp, 0, sizeof(cp));
	cp.c.nent = 100;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_CPUID2, &cp));
	for (unsigned i = 0; i < cp.c.nent; i++) {
		if (cp.e[i].function == 7 && cp.e[i].index == 0)
			leaf7 = &cp.e[i];
		if (cp.e[i].function == 0x80000008)
			ext8 = &cp.e[i];
	}
	CHECK(leaf7 && ext8, "no CPUID leaf 7 or 0x80000008");
	if (!leaf7 || !ext8)
		goto out;
	leaf7->ebx ^= 1;		/* before KVM_RUN: any model goes */
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_CPUID2, &cp));
	leaf7->ebx ^= 1;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_CPUID2, &cp));
	tg_load(&g, g_pm32);
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run_io(t, &g, 5), KVM_EXIT_HLT);
	memset(&cp, 0, sizeof(cp));
	cp.c.nent = 100;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_CPUID2, &cp));	/* with the runtime bits */
	CHECK_OK(t, t_ioctl(t, "SET_CPUID2 unchanged", g.vcpu, KVM_SET_CPUID2, (unsigned long)&cp));
	leaf7->ebx ^= 1;
	CHECK_ERR(t, t_ioctl(t, "SET_CPUID2 leaf 7 EBX changed", g.vcpu, KVM_SET_CPUID2,
			     (unsigned long)&cp), EINVAL);
	leaf7->ebx ^= 1;
	ext8->eax -= 1;
	CHECK_ERR(t, t_ioctl(t, "SET_CPUID2 MAXPHYADDR changed", g.vcpu, KVM_SET_CPUID2,
			     (unsigned long)&cp), EINVAL);
	ext8->eax += 1;
	cp.c.nent--;
	CHECK_ERR(t, t_ioctl(t, "SET_CPUID2 one entry less", g.vcpu, KVM_SET_CPUID2,
			     (unsigned long)&cp), EINVAL);
	cp.c.nent++;
	memset(&now, 0, sizeof(now));
	now.c.nent = 100;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_CPUID2, &now));
	CHECK(now.c.nent == cp.c.nent && !memcmp(now.e, cp.e, cp.c.nent * sizeof(cp.e[0])),
	      "the refused models changed the guest's CPUID");
out:
	tg_destroy(&g);
}
