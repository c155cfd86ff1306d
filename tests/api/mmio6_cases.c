// SPDX-License-Identifier: MIT
/*
 * The instruction bytes of an MMIO exit (mmio6_guests.S).  On userkvm the
 * processor hands KVM the bytes of the instruction whose access exited
 * (vmx_op_read_exit_insn_bytes(), a decode assist as SVM's), which the
 * emulator decodes instead of fetching them: they must be the bytes the
 * guest has there now, not those of an earlier exit at the same RIP.
 */
#include <sys/mman.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_rewrite);

#define MMIO_GPA 0xd0000000ull

/* KVM_RUN: an MMIO write of @len bytes of @want at MMIO_GPA. */
static void expect_store(struct tctx *t, struct tguest *g, u32 len, u32 want)
{
	u32 v = 0;

	if (tg_run(t, g) < 0)
		return;
	memcpy(&v, g->run->mmio.data, len);
	CHECK(g->run->exit_reason == KVM_EXIT_MMIO && g->run->mmio.is_write &&
	      g->run->mmio.phys_addr == MMIO_GPA && g->run->mmio.len == len && v == want,
	      "exit %s, want the %u-byte store of %#x (got %u bytes, %#x)",
	      tg_exit_name(g->run->exit_reason), len, want, g->run->mmio.len, v);
}

/*
 * The guest rewrites the store at the same RIP between its exits: another
 * source register (ModRM), then another operand size (opcode).  Each exit
 * must be the store as it is now: fails if the emulator got an earlier
 * exit's bytes, or the decode of an earlier exit at that RIP.
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
