// SPDX-License-Identifier: MIT
/*
 * MOV stores and loads to MMIO around the processor's decode assist
 * (mmio7_guests.S).  On userkvm the processor reports the store of a MOV
 * (VMX_EPT_MISCONFIG_STORE: size and data) or the load of a MOV, MOVZX or
 * MOVSX into a register (VMX_EPT_MISCONFIG_LOAD) whose access exited,
 * handle_ept_misconfig() hands it to kvm_mmu_page_fault(), which consumes
 * it, and x86_emulate_instruction() takes it without fetch or decode
 * (kvm_mmio_write_assisted(), kvm_mmio_read_assisted()): the access
 * reported must be the one of the instruction the guest has at RIP now,
 * with its operand size and data, never stand for a later access, and a
 * load must leave its register as the instruction would.
 */
#include <sys/mman.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_rewrite);
GUEST_DECL(g_mmio_forms);
GUEST_DECL(g_mmio_store_then_slot);
GUEST_DECL(g_mmio_store_then_read);
GUEST_DECL(g_mmio_load_forms);
GUEST_DECL(g_mmio_load_moved);
GUEST_DECL(g_mmio_load_ioapic);
extern const unsigned char g_mmio_load_moved_alt[];

#define MMIO_GPA 0xd0000000ull

/* The VM, the guest [@start, @end) at CODE, vCPU 0 in long mode, MMIO_GPA mapped. */
static int mmio_guest(struct tctx *t, struct tguest *g, const unsigned char *start,
		      const unsigned char *end)
{
	if (tg_create(t, g) < 0)
		return -1;
	tg_load_at(g, CODE, start, end);
	tg_set_mode(t, g, g->vcpu, TG_LONG);
	map_d0000000(g);
	return 0;
}

/* KVM_RUN: an MMIO access of @len bytes at @gpa; a write of @want if @write. */
static void expect_mmio(struct tctx *t, struct tguest *g, u64 gpa, u32 len, bool write, u64 want)
{
	u64 v = 0;

	if (tg_run(t, g) < 0)
		return;
	memcpy(&v, g->run->mmio.data, len);
	CHECK(g->run->exit_reason == KVM_EXIT_MMIO && g->run->mmio.is_write == write &&
	      g->run->mmio.phys_addr == gpa && g->run->mmio.len == len && (!write || v == want),
	      "exit %s, want the %u-byte %s at %#llx (got %s of %u bytes at %#llx, %#llx)",
	      tg_exit_name(g->run->exit_reason), len, write ? "write" : "read",
	      (unsigned long long)gpa, g->run->mmio.is_write ? "write" : "read", g->run->mmio.len,
	      (unsigned long long)g->run->mmio.phys_addr, (unsigned long long)v);
}

/* KVM_RUN: OUT of @want to @port. */
static void expect_out(struct tctx *t, struct tguest *g, u16 port, u32 want)
{
	if (tg_run(t, g) < 0)
		return;
	CHECK(g->run->exit_reason == KVM_EXIT_IO && g->run->io.port == port &&
	      g->run->io.direction == KVM_EXIT_IO_OUT,
	      "exit %s, want OUT to %#x", tg_exit_name(g->run->exit_reason), port);
	CHECK_EQ(ig_out_value(g->run), want);
}

/*
 * A MOV store to an MMIO page exits three times (on userkvm the third
 * with the assist: the first installs the MMIO entry, the second finds
 * it), then the page becomes RAM: the store goes there.  The MMIO load after it must be KVM_EXIT_MMIO, a
 * read of its own address: fails if the store the assist reported for
 * the exit that found RAM were left for the next emulation (which would
 * take the load for that store, a write).
 */
KVM_CASE(mmio_store_then_slot_then_read)
{
	struct tguest g;
	unsigned char *page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region m = {
		.slot = 5, .guest_phys_addr = MMIO_GPA, .memory_size = 0x1000,
		.userspace_addr = (unsigned long)page,
	};
	u32 v;

	CHECK(page != MAP_FAILED, "mmap");
	if (page == MAP_FAILED)
		return;
	if (mmio_guest(t, &g, g_mmio_store_then_slot, g_mmio_store_then_slot_end) < 0)
		goto unmap;
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x11);
	expect_out(t, &g, 0x10, 0x11);
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x12);
	expect_out(t, &g, 0x10, 0x12);
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x13);
	expect_out(t, &g, 0x10, 0x13);
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &m));
	expect_out(t, &g, 0x10, 0x14);
	memcpy(&v, page, 4);
	CHECK_EQ(v, 0x14);
	expect_mmio(t, &g, MMIO_GPA + 0x1000, 4, false, 0);
	memcpy(g.run->mmio.data, "\x78\x56\x34\x12", 4);
	expect_out(t, &g, 0x11, 0x12345678);
	expect_out(t, &g, 0x12, 0x14);
	tg_destroy(&g);
unmap:
	munmap(page, 0x1000);
}

/*
 * The third MOV store to an MMIO page with guest debugging enabled (on
 * userkvm the processor reports it, but KVM emulates it in full: guest
 * debugging has paths the emulator takes), then, debugging off again, a
 * load from the same page.  The load must be KVM_EXIT_MMIO, a read of its
 * own address: fails if the store the processor reported for the
 * emulated exit were left for the next one (which would take the load
 * for that store, a write).
 */
KVM_CASE(mmio_store_debug_then_read)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE };
	struct tguest g;

	if (mmio_guest(t, &g, g_mmio_store_then_read, g_mmio_store_then_read_end) < 0)
		return;
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x11);
	expect_out(t, &g, 0x10, 0x11);
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x12);
	expect_out(t, &g, 0x10, 0x12);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x13);
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	expect_out(t, &g, 0x10, 0x13);
	expect_mmio(t, &g, MMIO_GPA + 4, 4, false, 0);
	memcpy(g.run->mmio.data, "\x78\x56\x34\x12", 4);
	expect_out(t, &g, 0x11, 0x12345678);
	tg_destroy(&g);
}

/*
 * Loads from MMIO of every form (g_mmio_load_forms; on userkvm all but the
 * first two and the last reach KVM with the processor's decode assist, and
 * complete_emulated_mmio() writes the register): each exit is a read of
 * the load's size, and after the data 0x8182838485868788 (its low bytes)
 * the destination holds what the instruction makes of it: 8 and 16 bits
 * keep the rest of the register (AH-BH: bits 15:8), 32 bits clear bits
 * 63:32, MOVZX/MOVSX extend to the destination's size; before the data
 * the register is as it was.  One load (movq) runs with guest debugging
 * enabled (KVM emulates it then).  Fails if a register got another
 * value, or another register was written, or the destination changed
 * before the data came (userkvm takes the exit in place: the load's
 * handler goes on after it).
 */
KVM_CASE(mmio_load_forms)
{
	static const struct { unsigned int len, reg; u64 want; } step[] = {
		{ 4, 0, 0x85868788 }, { 4, 0, 0x85868788 },
		{ 1, 1, 0x1111111111111188ull },	/* movb -> %cl */
		{ 1, 2, 0x1111111111118811ull },	/* movb -> %dh */
		{ 2, 6, 0x1111111111118788ull },	/* movw -> %si */
		{ 8, 9, 0x8182838485868788ull },	/* movq -> %r9 */
		{ 1, 10, 0x88 },			/* movzbl -> %r10d */
		{ 1, 11, 0xffffffffffffff88ull },	/* movsbq -> %r11 */
		{ 2, 12, 0xffff8788 },			/* movswl -> %r12d */
		{ 1, 13, 0x111111111111ff88ull },	/* movsbw -> %r13w */
		{ 2, 14, 0x8788 },			/* movzwq -> %r14 */
		{ 1, 7, 0x1111111111111188ull },	/* movb -> %dil */
		{ 4, 4, 0x85868788 },			/* movl -> %esp */
	};
	static const u64 data = 0x8182838485868788ull;
	u64 before[16] = { 0 };
	struct tguest g;

	if (mmio_guest(t, &g, g_mmio_load_forms, g_mmio_load_forms_end) < 0)
		return;
	for (size_t k = 0; k < sizeof(step) / sizeof(step[0]); k++) {
		struct kvm_guest_debug dbg = { .control = k == 5 ? KVM_GUESTDBG_ENABLE : 0 };
		struct kvm_regs r;
		u64 now[16];

		/* the movq with guest debugging on: on userkvm, KVM emulates it in full */
		if (k == 5 || k == 6)
			CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
		expect_mmio(t, &g, MMIO_GPA, step[k].len, false, 0);
		/* before the data: the load has not retired, its register is as it was */
		if (k > 0 && IOC(t, g.vcpu, KVM_GET_REGS, &r) >= 0) {
			static const int kvm_regs_index[16] = { 0, 2, 3, 1, 6, 7, 4, 5,
								8, 9, 10, 11, 12, 13, 14, 15 };

			memcpy(now, &r, sizeof(now));
			CHECK(now[kvm_regs_index[step[k].reg]] == before[step[k].reg],
			      "step %zu: register %u is %#llx before the data, want %#llx", k, step[k].reg,
			      (unsigned long long)now[kvm_regs_index[step[k].reg]],
			      (unsigned long long)before[step[k].reg]);
		}
		memcpy(g.run->mmio.data, &data, 8);
		expect_out(t, &g, 0x10, 0x88);
		if (IOC(t, g.vcpu, KVM_GET_REGS, &r) < 0)
			break;
		memcpy(now, &r, sizeof(now));	/* rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8-r15 */
		{
			static const int kvm_regs_index[16] = { 0, 2, 3, 1, 6, 7, 4, 5,
								8, 9, 10, 11, 12, 13, 14, 15 };
			u64 got[16];

			for (int n = 0; n < 16; n++)
				got[n] = now[kvm_regs_index[n]];
			CHECK(got[step[k].reg] == step[k].want, "step %zu: register %u is %#llx, want %#llx",
			      k, step[k].reg, (unsigned long long)got[step[k].reg],
			      (unsigned long long)step[k].want);
			if (k > 0)
				for (int n = 0; n < 16; n++)
					CHECK(n == (int)step[k].reg || got[n] == before[n],
					      "step %zu: register %d changed (%#llx -> %#llx)", k, n,
					      (unsigned long long)before[n], (unsigned long long)got[n]);
			memcpy(before, got, sizeof(got));
		}
	}
	tg_destroy(&g);
}

/* Run g_mmio_load_moved to its third load's exit (on userkvm, reported). */
static int load_moved_start(struct tctx *t, struct tguest *g)
{
	static const u32 data[2] = { 0x1234, 0x5678 };

	if (mmio_guest(t, g, g_mmio_load_moved, g_mmio_load_moved_end) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		expect_mmio(t, g, MMIO_GPA, 4, false, 0);
		memcpy(g->run->mmio.data, &data[k], 4);
		expect_out(t, g, 0x10, data[k]);
	}
	expect_mmio(t, g, MMIO_GPA, 4, false, 0);
	memcpy(g->run->mmio.data, "\x21\x43\x65\x87", 4);
	return 0;
}

/*
 * KVM_RUN with immediate_exit after a load's MMIO exit completes the load
 * (the register has the data, RIP is past it) and returns EINTR without
 * running the guest; then the guest goes on.  Fails if the completion
 * were left for later, or made twice.
 */
KVM_CASE(mmio_load_immediate_exit)
{
	struct kvm_regs r;
	struct tguest g;

	if (load_moved_start(t, &g) < 0)
		return;
	g.run->immediate_exit = 1;
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_RUN, 0), EINTR);
	g.run->immediate_exit = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK(r.rcx == 0x87654321, "rcx %#llx after the completion", (unsigned long long)r.rcx);
	t_printf(t, "rip after the completion: CODE + %#llx", (unsigned long long)(r.rip - CODE));
	expect_out(t, &g, 0x10, 0x87654321);
	tg_destroy(&g);
}

/*
 * KVM_SET_REGS moves RIP between a load's MMIO exit and its completion:
 * as in VMX KVM, whose emulator writes back the RIP of the instruction it
 * completes over userspace's, the load retires where it was (%ecx has the
 * data) and the guest goes on after it (OUT to port 0x10, not 0x11).
 * Fails if the completion were dropped or made at the new RIP.  This
 * host's KVM (PVM) goes on after the load too, but leaves %ecx as it was.
 */
KVM_CASE(mmio_load_rip_moved)
{
	struct kvm_regs r;
	struct tguest g;

	if (load_moved_start(t, &g) < 0)
		return;
	if (IOC(t, g.vcpu, KVM_GET_REGS, &r) < 0)
		goto out;
	r.rip = CODE + (u64)(g_mmio_load_moved_alt - g_mmio_load_moved);
	if (IOC(t, g.vcpu, KVM_SET_REGS, &r) < 0)
		goto out;
	if (IOC(t, g.vcpu, KVM_RUN, 0) < 0)
		goto out;
	t_differs(t, "PVM: %ecx keeps its old value");
	tg_exit(t, g.run);
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10,
	      "exit %s port %#x, want OUT to port 0x10", tg_exit_name(g.run->exit_reason),
	      g.run->exit_reason == KVM_EXIT_IO ? g.run->io.port : 0);
	CHECK_SOFT(t, ig_out_value(g.run) == 0x87654321, "OUT of %#x, want 0x87654321",
		   ig_out_value(g.run));
out:
	tg_destroy(&g);
}

/*
 * Loads from the in-kernel I/O APIC (on userkvm the processor reports the
 * later ones, KVM emulates them in full because a device is on the MMIO
 * bus, and the exits are taken in place): each gives %eax the version
 * register, without exits to userspace.  Fails if the handler that goes
 * on after an exit taken in place wrote another value.
 */
KVM_CASE(mmio_load_in_kernel)
{
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		goto out;
	tg_load_at(&g, CODE, g_mmio_load_ioapic, g_mmio_load_ioapic_end);
	ig_set_mode(t, &g, g.vcpu, 0);
	for (int k = 0; k < 4; k++)
		expect_out(t, &g, 0x10, 0x170011);
out:
	tg_destroy(&g);
}

/*
 * The guest rewrites the store at the same RIP between its exits: another
 * source register (ModRM), then another operand size (opcode).  Each exit
 * must be the store as it is now: fails if the store reported (or
 * emulated) were that of an earlier exit at that RIP.
 */
KVM_CASE(mmio_store_rewritten)
{
	struct tguest g;

	if (mmio_guest(t, &g, g_mmio_rewrite, g_mmio_rewrite_end) < 0)
		return;
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x11);
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x22);
	expect_mmio(t, &g, MMIO_GPA, 1, true, 0x22);
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10,
	      "exit %s, want OUT to 0x10", tg_exit_name(g.run->exit_reason));
	CHECK_EQ(ig_out_value(g.run), 0x33);
out:
	tg_destroy(&g);
}

/* KVM_GET_VCPU_EVENTS: the interrupt shadow is over (userkvm: see mmio_write_ends_shadow). */
static void expect_no_shadow(struct tctx *t, struct tguest *g)
{
	struct kvm_vcpu_events ev;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_SOFT(t, ev.interrupt.shadow == 0, "shadow %#x", ev.interrupt.shadow);
}

/*
 * MOV stores of every form after the first MMIO exit (on userkvm the
 * later ones reach the emulator with the processor's decode assist: no
 * fetch, no decode): each exit has the store's size and data, as the
 * instruction computes them (a high-byte register, a sign-extended
 * immediate, a 64-bit register); a store in a MOV-SS or STI shadow ends
 * the shadow, as the emulator's retirement would.  Fails
 * if the reported store had another size or value, or if the shadow
 * survived the store.
 */
KVM_CASE(mmio_store_forms)
{
	struct tguest g;

	if (mmio_guest(t, &g, g_mmio_forms, g_mmio_forms_end) < 0)
		return;
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x11223344);
	expect_mmio(t, &g, MMIO_GPA, 1, true, 0x33);
	expect_mmio(t, &g, MMIO_GPA, 2, true, 0xbeef);
	expect_mmio(t, &g, MMIO_GPA, 8, true, 0xfffffffffffffffeull);
	expect_mmio(t, &g, MMIO_GPA, 8, true, 0x8877665544332211ull);
	expect_mmio(t, &g, MMIO_GPA, 1, true, 0x7f);
	expect_mmio(t, &g, MMIO_GPA, 4, true, 0x11223344);
	expect_no_shadow(t, &g);
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_MMIO && g.run->mmio.len == 4,
	      "exit %s, want the store after STI", tg_exit_name(g.run->exit_reason));
	expect_no_shadow(t, &g);
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10,
	      "exit %s, want OUT to 0x10", tg_exit_name(g.run->exit_reason));
	CHECK_EQ(ig_out_value(g.run), 0x33);
out:
	tg_destroy(&g);
}
