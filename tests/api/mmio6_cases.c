// SPDX-License-Identifier: MIT
/*
 * MOV stores to MMIO (mmio6_guests.S).  On userkvm the processor reports
 * the data of a MOV store whose access exited (VMX_EPT_MISCONFIG_STORE,
 * a decode assist), and KVM completes the write without its emulator
 * (kvm_mmio_write_assisted()): the store reported must be the one of the
 * instruction the guest has at RIP now, with its operand size and data.
 */
#include <sys/mman.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_rewrite);
GUEST_DECL(g_mmio_forms);

#define MMIO_GPA 0xd0000000ull

/* KVM_RUN: an MMIO write of @len bytes of @want at MMIO_GPA. */
static void expect_store(struct tctx *t, struct tguest *g, u32 len, u64 want)
{
	u64 v = 0;

	if (tg_run(t, g) < 0)
		return;
	memcpy(&v, g->run->mmio.data, len);
	CHECK(g->run->exit_reason == KVM_EXIT_MMIO && g->run->mmio.is_write &&
	      g->run->mmio.phys_addr == MMIO_GPA && g->run->mmio.len == len && v == want,
	      "exit %s, want the %u-byte store of %#llx (got %u bytes, %#llx)",
	      tg_exit_name(g->run->exit_reason), len, (unsigned long long)want, g->run->mmio.len,
	      (unsigned long long)v);
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

	if (tg_create(t, &g) < 0)
		return;
	tg_load_at(&g, CODE, g_mmio_rewrite, g_mmio_rewrite_end);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
	expect_store(t, &g, 4, 0x11);
	expect_store(t, &g, 4, 0x22);
	expect_store(t, &g, 1, 0x22);
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

	if (tg_create(t, &g) < 0)
		return;
	tg_load_at(&g, CODE, g_mmio_forms, g_mmio_forms_end);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
	expect_store(t, &g, 4, 0x11223344);
	expect_store(t, &g, 1, 0x33);
	expect_store(t, &g, 2, 0xbeef);
	expect_store(t, &g, 8, 0xfffffffffffffffeull);
	expect_store(t, &g, 8, 0x8877665544332211ull);
	expect_store(t, &g, 1, 0x7f);
	expect_store(t, &g, 4, 0x11223344);
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
