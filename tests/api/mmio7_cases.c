// SPDX-License-Identifier: MIT
/*
 * MMIO exits around the processor's decode assist (mmio7_guests.S).  On
 * userkvm, handle_ept_misconfig() hands the MOV store the processor
 * reported (VMX_EPT_MISCONFIG_STORE) to kvm_mmu_page_fault(), which
 * consumes it: these cases check that a store the assist reported never
 * stands for a later access that it is not.
 */
#include <sys/mman.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_store_then_slot);
GUEST_DECL(g_mmio_store_then_read);

#define MMIO_GPA 0xd0000000ull

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
	if (tg_create(t, &g) < 0)
		goto unmap;
	tg_load_at(&g, CODE, g_mmio_store_then_slot, g_mmio_store_then_slot_end);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
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

	if (tg_create(t, &g) < 0)
		return;
	tg_load_at(&g, CODE, g_mmio_store_then_read, g_mmio_store_then_read_end);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
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
