// SPDX-License-Identifier: MIT
/*
 * MMIO writes that userspace completes, and what changes between two of
 * them: the usual write (emulator_write_emulated(): at most 8 bytes, the
 * exit's GPA, nothing on the MMIO bus) goes to userspace without
 * emulator_read_write()'s steps, so everything that step would find must
 * still be found on the next exit of the same store.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "irqutil.h"

GUEST_DECL(g_mmio_store_thrice);

/*
 * A store that exited to userspace (KVM_EXIT_MMIO, 4 bytes at 0xd0000000)
 * and whose page KVM now knows as MMIO; then an ioeventfd is assigned at
 * that address (KVM_IOEVENTFD, length 4): the same store's next
 * execution signals it and does not exit (the guest's next exit is its
 * OUT); deassigned, the third exits again.  Fails if the write that skips emulator_read_write() ignores an
 * ioeventfd assigned after the MMIO page was cached (the second store
 * would exit to userspace and the eventfd stay at 0).
 */
KVM_CASE(mmio_store_then_ioeventfd)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct kvm_ioeventfd io = { .addr = 0xd0000000, .len = 4, .fd = efd };
	struct tguest g;
	uint64_t n = 0;

	if (tg_create(t, &g) < 0)
		return;
	tg_load(&g, g_mmio_store_thrice);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
	/* the first store: to userspace */
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_MMIO && g.run->mmio.is_write &&
	      g.run->mmio.phys_addr == 0xd0000000ull && g.run->mmio.len == 4,
	      "first store: exit %s", tg_exit_name(g.run->exit_reason));
	CHECK(!memcmp(g.run->mmio.data, &(u32){ 0x12345678 }, 4), "first store: data");
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x11 && ig_out_value(g.run) == 1,
	      "after the first: exit %s", tg_exit_name(g.run->exit_reason));
	/* the second: to the eventfd, no exit */
	CHECK_OK(t, IOC(t, g.vm, KVM_IOEVENTFD, &io));
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x11 && ig_out_value(g.run) == 2,
	      "second store: exit %s", tg_exit_name(g.run->exit_reason));
	CHECK(read(efd, &n, sizeof(n)) == sizeof(n) && n == 1, "eventfd count %llu",
	      (unsigned long long)n);
	/* the third, after the deassign: to userspace again */
	io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	CHECK_OK(t, IOC(t, g.vm, KVM_IOEVENTFD, &io));
	if (tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_MMIO && g.run->mmio.phys_addr == 0xd0000000ull,
	      "third store: exit %s", tg_exit_name(g.run->exit_reason));
	if (tg_run(t, &g) < 0 || tg_run(t, &g) < 0)
		goto out;
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10, "end: exit %s",
	      tg_exit_name(g.run->exit_reason));
	CHECK_EQ(ig_out_value(g.run), 3);
	t_printf(t, "eventfd %llu, out 0x10 = %u", (unsigned long long)n, ig_out_value(g.run));
out:
	tg_destroy(&g);
	close(efd);
}
