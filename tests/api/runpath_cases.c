// SPDX-License-Identifier: MIT
/*
 * KVM_RUN's path between exits: state that appears after the vCPU ran and
 * that the next entry must see.
 */
#include "irqutil.h"

/*
 * A PIT made after the vCPU's first exit (KVM_CREATE_PIT2 between two
 * KVM_RUNs of an in-kernel-irqchip VM): the guest's next PIT writes are
 * the kernel's (no KVM_EXIT_IO for ports 0x43/0x40), only the OUT to port
 * 0x10 exits.  Fails if the run path decided "no in-kernel device" once
 * and kept it, or looked for the PIT only where a PIC is absent.
 */
KVM_CASE(runpath_pit_after_first_exit)
{
	/* mov al, 0x34; out 0x43, al; out 0x43, al; mov al, 0x12; out 0x40, al; out 0x40, al; out 0x10, al */
	static const unsigned char code[] = {
		0xb0, 0x34, 0xe6, 0x43, 0xe6, 0x43, 0xb0, 0x12, 0xe6, 0x40, 0xe6, 0x40, 0xe6, 0x10,
	};
	struct kvm_pit_config pc = { 0 };
	struct kvm_pit_state2 s;
	struct tguest g;
	struct kvm_run *run;

	if (tg_create_vm(t, &g) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vm, KVM_CREATE_IRQCHIP, 0));
	g.vcpu = tg_add_vcpu(t, &g, 0, &g.run);
	run = g.run;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_REAL);

	/* no PIT yet: the first OUT to 0x43 is userspace's */
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, 0x43);

	CHECK_OK(t, IOC(t, g.vm, KVM_CREATE_PIT2, &pc));
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, 0x10);

	CHECK_OK(t, IOC(t, g.vm, KVM_GET_PIT2, &s));
	t_printf(t, "pit0: count=%#x mode=%u rw=%u", s.channels[0].count, s.channels[0].mode,
		 s.channels[0].rw_mode);
	CHECK_EQ(s.channels[0].count, 0x1212);
	CHECK_EQ(s.channels[0].mode, 2);
	tg_destroy(&g);
}
