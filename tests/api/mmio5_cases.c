// SPDX-License-Identifier: MIT
/*
 * A MOV store to MMIO in the middle of a loop body (mmio5_guests.S).  On
 * userkvm the store's first exit cuts its decoded block after it
 * (vmx_mmio.c), so that its later exits are at a block's end; the rest of
 * the body becomes a block of its own.  What runs after the cut must be
 * what ran before: the same stores, flags read across the cut, the same
 * loop, whether the store still exits (MMIO), reaches memory (a slot
 * added there) or exits again (the slot deleted), single-stepped, or with
 * the code after the cut rewritten by the guest.
 */
#include <sys/mman.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_cut_loop);
GUEST_DECL(g_mmio_cut_smc);
extern const unsigned char g_mmio_cut_loop_top[], g_mmio_cut_loop_1[], g_mmio_cut_loop_store[],
	g_mmio_cut_loop_3[], g_mmio_cut_loop_4[], g_mmio_cut_loop_5[], g_mmio_cut_loop_6[],
	g_mmio_cut_loop_7[], g_mmio_cut_loop_8[];

#define MMIO_GPA 0xd0000000ull
#define LOOP_PC(label) ((unsigned long long)CODE + (unsigned long long)(label - g_mmio_cut_loop))

static int cut_start(struct tctx *t, struct tguest *g, const unsigned char *code,
		     const unsigned char *end)
{
	if (tg_create(t, g) < 0)
		return -1;
	tg_load_at(g, CODE, code, end);
	tg_set_mode(t, g, g->vcpu, TG_LONG);
	map_d0000000(g);
	return 0;
}

/* KVM_RUN: a 4-byte MMIO write of @want at MMIO_GPA.  Return: 0 if so. */
static int expect_store(struct tctx *t, struct tguest *g, u32 want)
{
	u32 v = 0;

	if (tg_run(t, g) < 0)
		return -1;
	memcpy(&v, g->run->mmio.data, 4);
	CHECK(g->run->exit_reason == KVM_EXIT_MMIO && g->run->mmio.is_write &&
	      g->run->mmio.phys_addr == MMIO_GPA && g->run->mmio.len == 4 && v == want,
	      "exit %s, want the store of %u (got %u)", tg_exit_name(g->run->exit_reason), want, v);
	return g->run->exit_reason == KVM_EXIT_MMIO && v == want ? 0 : -1;
}

/* KVM_RUN: OUT of @want to port 0x10. */
static void expect_out(struct tctx *t, struct tguest *g, u32 want)
{
	if (tg_run(t, g) < 0)
		return;
	CHECK(g->run->exit_reason == KVM_EXIT_IO && g->run->io.port == 0x10,
	      "exit %s, want OUT to 0x10", tg_exit_name(g->run->exit_reason));
	CHECK_EQ(ig_out_value(g->run), want);
}

/*
 * Two stores exit (the first cuts the block on userkvm); then a memslot
 * appears at the address: the six other rounds store to memory without an
 * exit, and the sum, which reads CF across the cut, is 39.  The slot
 * deleted, the next pass exits at each of its eight stores again.  Fails
 * if the cut block or the block after it ran a wrong part of the body
 * (the sum), lost the flags across the cut, or if the cut block did not
 * find the store's new translation.
 */
KVM_CASE(mmio_cut_then_ram)
{
	struct kvm_userspace_memory_region mr = {
		.slot = 2, .guest_phys_addr = MMIO_GPA, .memory_size = 0x1000,
	};
	struct tguest g;
	unsigned char *page;
	u32 v;

	page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap");
	if (page == MAP_FAILED)
		return;
	if (cut_start(t, &g, g_mmio_cut_loop, g_mmio_cut_loop_end) < 0)
		goto unmap;
	if (expect_store(t, &g, 1) < 0 || expect_store(t, &g, 2) < 0)
		goto out;
	mr.userspace_addr = (unsigned long)page;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	expect_out(t, &g, 39);
	memcpy(&v, page, 4);
	CHECK_EQ(v, 8);
	memset(page, 0, 4);
	mr.memory_size = 0;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	for (u32 want = 1; want <= 8; want++)
		if (expect_store(t, &g, want) < 0)
			goto out;
	expect_out(t, &g, 39);
	CHECK_EQ(page[0], 0);
out:
	tg_destroy(&g);
unmap:
	munmap(page, 0x1000);
}

/*
 * KVM_GUESTDBG_SINGLESTEP after two stores exited (the block cut on
 * userkvm): a KVM_EXIT_DEBUG after every instruction of the rest, in
 * order, through the cut and the block after it; the stores still exit,
 * and as in KVM the step of an emulated MMIO write is not reported
 * (complete_emulated_mmio() returns to the guest, which steps the next
 * instruction).  Fails if the step after the cut lands anywhere else
 * (a block cut at the wrong instruction, or one whose rest is skipped or
 * run twice).
 */
KVM_CASE(mmio_cut_singlestep)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	const unsigned long long tail[] = {
		LOOP_PC(g_mmio_cut_loop_4), LOOP_PC(g_mmio_cut_loop_5), LOOP_PC(g_mmio_cut_loop_6),
		LOOP_PC(g_mmio_cut_loop_7),
	};
	unsigned long long want[80];
	u32 stores[8], nstores = 0;
	int n = 0, steps = 0, bad = -1;
	struct tguest g;

	/* the rest of round 1 (after its store), then rounds 2..7 */
	for (int r = 1; r < 8; r++) {
		if (r > 1) {
			want[n++] = LOOP_PC(g_mmio_cut_loop_1);
			want[n++] = LOOP_PC(g_mmio_cut_loop_store);
		}
		for (unsigned k = 0; k < 4; k++)
			want[n++] = tail[k];
		want[n++] = r < 7 ? LOOP_PC(g_mmio_cut_loop_top) : LOOP_PC(g_mmio_cut_loop_8);
	}
	if (cut_start(t, &g, g_mmio_cut_loop, g_mmio_cut_loop_end) < 0)
		return;
	if (expect_store(t, &g, 1) < 0 || expect_store(t, &g, 2) < 0)
		goto out;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	for (int k = 0; k < 200; k++) {
		if (IOC(t, g.vcpu, KVM_RUN, 0) < 0)
			break;
		if (g.run->exit_reason == KVM_EXIT_MMIO && g.run->mmio.is_write &&
		    g.run->mmio.phys_addr == MMIO_GPA && nstores < 8) {
			memcpy(&stores[nstores++], g.run->mmio.data, 4);
			continue;
		}
		if (g.run->exit_reason != KVM_EXIT_DEBUG)
			break;
		if (bad < 0 && (steps >= n || g.run->debug.arch.pc != want[steps]))
			bad = steps;
		steps++;
		if (g.run->debug.arch.pc == LOOP_PC(g_mmio_cut_loop_8))
			break;
	}
	t_printf(t, "%d steps, %u stores, first wrong step %d", steps, nstores, bad);
	CHECK_EQ(steps, n);
	CHECK_EQ(bad, -1);
	CHECK_EQ(nstores, 6);
	for (u32 k = 0; k < nstores; k++)
		CHECK_EQ(stores[k], k + 3);
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	/* mov %r10d, %eax; out: the sum, then the loop from the start */
	expect_out(t, &g, 39);
	expect_store(t, &g, 1);
out:
	tg_destroy(&g);
}

/*
 * The guest rewrites the code right after the store (an ADD's immediate,
 * 1 -> 16) in each round: the block after the cut must be decoded anew
 * from the new bytes, as must the cut block's page.  Three stores exit,
 * then R10 = 1 + 16 + 16.  Fails if a block from before the write ran
 * after it.
 */
KVM_CASE(mmio_cut_smc)
{
	struct tguest g;

	if (cut_start(t, &g, g_mmio_cut_smc, g_mmio_cut_smc_end) < 0)
		return;
	for (u32 want = 0; want < 3; want++)
		if (expect_store(t, &g, want) < 0)
			goto out;
	expect_out(t, &g, 33);
out:
	tg_destroy(&g);
}
