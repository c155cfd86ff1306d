// SPDX-License-Identifier: MIT
/*
 * The in-kernel irqchip through its ioctls: creation rules, the reset
 * state of the PICs, I/O APIC, local APICs and PIT, KVM_IRQ_LINE through
 * the default routing into the chips' state, GSI routing validation, MSIs,
 * INIT/SIPI through KVM_SET_MP_STATE.  All observable without KVM_RUN, so
 * every case is compared with the host's KVM.
 */
#include <stdlib.h>

#include "kvmtest.h"
#include "x86util.h"
#include "util/types.h"

static void t_pic(struct tctx *t, const char *n, const struct kvm_pic_state *p)
{
	t_printf(t, "%s: last_irr=%#x irr=%#x imr=%#x isr=%#x prio_add=%u irq_base=%#x rrs=%u poll=%u smm=%u init=%u aeoi=%u raeoi=%u sfnm=%u init4=%u elcr=%#x elcr_mask=%#x",
		 n, p->last_irr, p->irr, p->imr, p->isr, p->priority_add, p->irq_base,
		 p->read_reg_select, p->poll, p->special_mask, p->init_state, p->auto_eoi,
		 p->rotate_on_auto_eoi, p->special_fully_nested_mode, p->init4, p->elcr,
		 p->elcr_mask);
}

static void t_ioapic(struct tctx *t, const struct kvm_ioapic_state *s)
{
	t_printf(t, "ioapic: base=%#llx ioregsel=%#x id=%#x irr=%#x", (unsigned long long)s->base_address,
		 s->ioregsel, s->id, s->irr);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		t_printf(t, "ioapic.redir[%d]=%#llx", i, (unsigned long long)s->redirtbl[i].bits);
}

/* KVM_IRQ_LINE_STATUS: note, status shares storage with irq. */
static int irq_line(struct tctx *t, int vm, u32 irq, u32 level)
{
	struct kvm_irq_level lvl = { .irq = irq, .level = level };

	CHECK_EQ(IOC(t, vm, KVM_IRQ_LINE_STATUS, &lvl), 0);
	t_printf(t, "irq %u level %u: status %d", irq, level, lvl.status);
	return lvl.status;
}

static long get_chip(struct tctx *t, int vm, int id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return IOC(t, vm, KVM_GET_IRQCHIP, c);
}

static u32 lapic_reg(const struct kvm_lapic_state *l, int off)
{
	u32 v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

static void set_lapic_reg(struct kvm_lapic_state *l, int off, u32 v)
{
	memcpy(l->regs + off, &v, 4);
}

/* An irqchip VM with @n vCPUs. */
static int irqchip_vm(struct tctx *t, int *sys, int *vcpus, int n)
{
	int vm;

	*sys = t_open_sys(t);
	vm = t_create_vm(t, *sys);
	CHECK_OK(t, IOC(t, vm, KVM_CREATE_IRQCHIP, 0));
	for (int i = 0; i < n; i++) {
		vcpus[i] = (int)IOC(t, vm, KVM_CREATE_VCPU, i);
		CHECK_OK(t, vcpus[i]);
	}
	return vm;
}

KVM_CASE(irqchip_create_rules)
{
	int sys = t_open_sys(t), vm = t_create_vm(t, sys), vm2, vcpu;
	struct kvm_irq_level lvl = { .irq = 1, .level = 1 };
	struct kvm_irqchip chip;
	struct kvm_irq_routing routing = { 0 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	struct kvm_pit_config pit = { 0 };
	struct kvm_lapic_state lapic;
	long r;

	/* before KVM_CREATE_IRQCHIP */
	r = IOC(t, vm, KVM_IRQ_LINE, &lvl);
	CHECK_ERR(t, r, ENXIO);
	r = get_chip(t, vm, 0, &chip);
	CHECK_ERR(t, r, ENXIO);
	r = IOC(t, vm, KVM_SET_GSI_ROUTING, &routing);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SIGNAL_MSI, &msi);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_CREATE_PIT2, &pit);
	CHECK_ERR(t, r, ENOENT);
	vcpu = (int)IOC(t, vm, KVM_CREATE_VCPU, 0);
	r = IOC(t, vcpu, KVM_GET_LAPIC, &lapic);
	CHECK_ERR(t, r, EINVAL);
	/* after a vCPU exists */
	r = IOC(t, vm, KVM_CREATE_IRQCHIP, 0);
	CHECK_ERR(t, r, EINVAL);
	close(vcpu);
	close(vm);

	vm2 = t_create_vm(t, sys);
	r = IOC(t, vm2, KVM_CREATE_IRQCHIP, 0);
	CHECK_EQ(r, 0);
	r = IOC(t, vm2, KVM_CREATE_IRQCHIP, 0);
	CHECK_ERR(t, r, EEXIST);
	r = IOC(t, vm2, KVM_GET_IRQCHIP, NULL);
	CHECK_ERR(t, r, EFAULT);
	r = get_chip(t, vm2, 3, &chip);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm2, KVM_GET_PIT2, &pit);
	CHECK_ERR(t, r, ENXIO);
	r = IOC(t, vm2, KVM_CREATE_PIT2, &pit);
	CHECK_EQ(r, 0);
	r = IOC(t, vm2, KVM_CREATE_PIT2, &pit);
	CHECK_ERR(t, r, EEXIST);
	close(vm2);
	close(sys);
}

KVM_CASE(irqchip_reset_state)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 0);
	struct kvm_irqchip c;

	CHECK_EQ(get_chip(t, vm, KVM_IRQCHIP_PIC_MASTER, &c), 0);
	t_pic(t, "master", &c.chip.pic);
	CHECK_EQ(c.chip.pic.elcr_mask, 0xf8);
	CHECK_EQ(get_chip(t, vm, KVM_IRQCHIP_PIC_SLAVE, &c), 0);
	t_pic(t, "slave", &c.chip.pic);
	CHECK_EQ(get_chip(t, vm, KVM_IRQCHIP_IOAPIC, &c), 0);
	t_ioapic(t, &c.chip.ioapic);
	CHECK_EQ(c.chip.ioapic.base_address, 0xfec00000);
	CHECK_EQ(c.chip.ioapic.redirtbl[0].bits, 0x10000);
	close(vm);
	close(sys);
}

/* The PICs as a PC BIOS leaves them: bases 0x08/0x70 here 0x20/0x28, unmasked. */
static void program_pics(struct tctx *t, int vm, u8 master_imr, u8 elcr_master, u8 elcr_slave)
{
	struct kvm_irqchip c;

	get_chip(t, vm, KVM_IRQCHIP_PIC_MASTER, &c);
	c.chip.pic.irq_base = 0x20;
	c.chip.pic.imr = master_imr;
	c.chip.pic.init4 = 1;
	c.chip.pic.elcr = elcr_master;
	CHECK_EQ(IOC(t, vm, KVM_SET_IRQCHIP, &c), 0);
	get_chip(t, vm, KVM_IRQCHIP_PIC_SLAVE, &c);
	c.chip.pic.irq_base = 0x28;
	c.chip.pic.init4 = 1;
	c.chip.pic.elcr = elcr_slave;
	CHECK_EQ(IOC(t, vm, KVM_SET_IRQCHIP, &c), 0);
}

KVM_CASE(irqchip_irq_line_pic)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 1);
	struct kvm_irq_level lvl;
	struct kvm_irqchip c;

	program_pics(t, vm, 0x08, 0x00, 0x0c);	/* IRQ 3 masked; slave IRQ 10, 11 level */
	/* edge IRQ 1: latched in IRR */
	irq_line(t, vm, 1, 1);
	irq_line(t, vm, 1, 0);
	/* again high: coalesced with the pending request */
	irq_line(t, vm, 1, 1);
	/* masked IRQ 3 */
	irq_line(t, vm, 3, 1);
	/* level-triggered slave IRQ 10 follows the line */
	irq_line(t, vm, 10, 1);
	get_chip(t, vm, KVM_IRQCHIP_PIC_SLAVE, &c);
	t_pic(t, "slave", &c.chip.pic);
	CHECK_EQ(c.chip.pic.irr, 0x04);
	irq_line(t, vm, 10, 0);
	get_chip(t, vm, KVM_IRQCHIP_PIC_MASTER, &c);
	t_pic(t, "master", &c.chip.pic);
	CHECK(c.chip.pic.irr & 0x02, "IRQ 1 not pending");
	/* the IMR blocks the output, not the request: IRQ 3 waits in the IRR */
	CHECK(c.chip.pic.irr & 0x08, "masked IRQ 3 not latched");
	get_chip(t, vm, KVM_IRQCHIP_PIC_SLAVE, &c);
	t_pic(t, "slave", &c.chip.pic);
	CHECK_EQ(c.chip.pic.irr, 0x00);
	/* plain KVM_IRQ_LINE, and GSIs beyond the routing table */
	lvl = (struct kvm_irq_level){ .irq = 4, .level = 1 };
	CHECK_EQ(IOC(t, vm, KVM_IRQ_LINE, &lvl), 0);
	CHECK_EQ(irq_line(t, vm, 100, 1), -1);
	close(vcpus[0]);
	close(vm);
	close(sys);
}

KVM_CASE(irqchip_ioapic_to_lapic)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 1);
	struct kvm_lapic_state l;
	struct kvm_irqchip c;

	/* pin 16: level, fixed, vector 0x51, physical dest 0 */
	get_chip(t, vm, KVM_IRQCHIP_IOAPIC, &c);
	c.chip.ioapic.redirtbl[16].bits = 0x8051;
	CHECK_EQ(IOC(t, vm, KVM_SET_IRQCHIP, &c), 0);
	/* the APIC is software-disabled after reset: not accepted */
	irq_line(t, vm, 16, 1);
	get_chip(t, vm, KVM_IRQCHIP_IOAPIC, &c);
	t_printf(t, "redir16=%#llx irr=%#x", (unsigned long long)c.chip.ioapic.redirtbl[16].bits,
		 c.chip.ioapic.irr);
	irq_line(t, vm, 16, 0);
	/* enable the APIC (SPIV), then the line again */
	CHECK_EQ(IOC(t, vcpus[0], KVM_GET_LAPIC, &l), 0);
	set_lapic_reg(&l, 0xf0, 0x1ff);
	CHECK_EQ(IOC(t, vcpus[0], KVM_SET_LAPIC, &l), 0);
	CHECK_EQ(irq_line(t, vm, 16, 1), 1);
	get_chip(t, vm, KVM_IRQCHIP_IOAPIC, &c);
	t_printf(t, "redir16=%#llx irr=%#x", (unsigned long long)c.chip.ioapic.redirtbl[16].bits,
		 c.chip.ioapic.irr);
	CHECK(c.chip.ioapic.redirtbl[16].bits & (1 << 14), "no remote IRR");
	CHECK_EQ(IOC(t, vcpus[0], KVM_GET_LAPIC, &l), 0);
	t_printf(t, "lapic irr[2]=%#x tmr[2]=%#x", lapic_reg(&l, 0x200 + 0x20), lapic_reg(&l, 0x180 + 0x20));
	CHECK_EQ(lapic_reg(&l, 0x220), 1u << (0x51 - 0x40));
	/* remote IRR blocks a second delivery */
	irq_line(t, vm, 16, 1);
	close(vcpus[0]);
	close(vm);
	close(sys);
}

KVM_CASE(irqchip_lapic_reset_state)
{
	int sys, vcpus[2], vm = irqchip_vm(t, &sys, vcpus, 2);
	struct kvm_lapic_state l;
	struct kvm_sregs sregs;
	struct kvm_mp_state mp;

	for (int i = 0; i < 2; i++) {
		CHECK_EQ(IOC(t, vcpus[i], KVM_GET_LAPIC, &l), 0);
		for (int off = 0; off < 0x400; off += 0x10)
			if (off != 0x390)	/* TMCCT counts down */
				t_printf(t, "vcpu%d lapic[%#x]=%#x", i, off, lapic_reg(&l, off));
		CHECK_EQ(lapic_reg(&l, 0x20), (u32)i << 24);
		CHECK_EQ(lapic_reg(&l, 0x30), 0x50014);
		CHECK_EQ(IOC(t, vcpus[i], KVM_GET_SREGS, &sregs), 0);
		t_printf(t, "vcpu%d apic_base=%#llx", i, (unsigned long long)sregs.apic_base);
		CHECK_EQ(IOC(t, vcpus[i], KVM_GET_MP_STATE, &mp), 0);
		t_printf(t, "vcpu%d mp_state=%u", i, mp.mp_state);
	}
	/* the AP waits for INIT-SIPI */
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	close(vcpus[0]);
	close(vcpus[1]);
	close(vm);
	close(sys);
}

KVM_CASE(irqchip_lapic_set_state)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 1);
	struct kvm_lapic_state l, l2;
	long r;

	CHECK_EQ(IOC(t, vcpus[0], KVM_GET_LAPIC, &l), 0);
	set_lapic_reg(&l, 0x80, 0x30);		/* TPR */
	set_lapic_reg(&l, 0xf0, 0x1ff);		/* SPIV: enabled */
	set_lapic_reg(&l, 0x350, 0x10000);	/* LINT0 masked */
	set_lapic_reg(&l, 0x320, 0x20040);	/* LVTT periodic vector 0x40 */
	set_lapic_reg(&l, 0x3e0, 0xb);		/* divide by 1 */
	CHECK_EQ(IOC(t, vcpus[0], KVM_SET_LAPIC, &l), 0);
	CHECK_EQ(IOC(t, vcpus[0], KVM_GET_LAPIC, &l2), 0);
	for (int off = 0; off < 0x400; off += 0x10)
		if (off != 0x390)
			t_printf(t, "lapic[%#x]=%#x", off, lapic_reg(&l2, off));
	CHECK_EQ(lapic_reg(&l2, 0x80), 0x30);
	CHECK_EQ(lapic_reg(&l2, 0xa0), 0x30);	/* PPR follows TPR */
	r = IOC(t, vcpus[0], KVM_SET_LAPIC, NULL);
	CHECK_ERR(t, r, EFAULT);
	close(vcpus[0]);
	close(vm);
	close(sys);
}

KVM_CASE(irqchip_mp_state_sipi)
{
	int sys, vcpus[2], vm = irqchip_vm(t, &sys, vcpus, 2);
	struct kvm_mp_state mp = { KVM_MP_STATE_INIT_RECEIVED };
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	CHECK_EQ(IOC(t, vcpus[1], KVM_SET_MP_STATE, &mp), 0);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_MP_STATE, &mp), 0);
	t_printf(t, "after INIT_RECEIVED: %u", mp.mp_state);
	mp.mp_state = KVM_MP_STATE_SIPI_RECEIVED;
	CHECK_EQ(IOC(t, vcpus[1], KVM_SET_MP_STATE, &mp), 0);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_MP_STATE, &mp), 0);
	t_printf(t, "after SIPI_RECEIVED: %u", mp.mp_state);
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_SREGS, &sregs), 0);
	t_seg(t, "cs", &sregs.cs);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_REGS, &regs), 0);
	t_printf(t, "rip=%#llx", (unsigned long long)regs.rip);
	mp.mp_state = KVM_MP_STATE_HALTED;
	CHECK_EQ(IOC(t, vcpus[0], KVM_SET_MP_STATE, &mp), 0);
	CHECK_EQ(IOC(t, vcpus[0], KVM_GET_MP_STATE, &mp), 0);
	t_printf(t, "halted: %u", mp.mp_state);
	mp.mp_state = 99;
	CHECK_ERR(t, IOC(t, vcpus[0], KVM_SET_MP_STATE, &mp), EINVAL);
	close(vcpus[0]);
	close(vcpus[1]);
	close(vm);
	close(sys);
}

/* @nr entries, the first min(@nr, 3) from @e, the rest zero. */
static long set_routing(struct tctx *t, int vm, const struct kvm_irq_routing_entry *e, u32 nr, u32 flags)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + (nr + 1) * sizeof(*e));
	long ret;

	r->nr = nr;
	r->flags = flags;
	memcpy(r->entries, e, (nr < 3 ? nr : 3) * sizeof(*e));
	ret = IOC(t, vm, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

#define CHIP(g, c, p) { .gsi = g, .type = KVM_IRQ_ROUTING_IRQCHIP, .u.irqchip = { c, p } }

KVM_CASE(irqchip_gsi_routing)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 1);
	struct kvm_irq_routing_entry e[3];
	struct kvm_irqchip c;

	e[0] = (struct kvm_irq_routing_entry)CHIP(5, KVM_IRQCHIP_PIC_MASTER, 8);
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* PIC pin 8 */
	e[0] = (struct kvm_irq_routing_entry)CHIP(5, KVM_IRQCHIP_IOAPIC, 24);
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* I/O APIC pin 24 */
	e[0] = (struct kvm_irq_routing_entry)CHIP(5, 3, 0);
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* no chip 3 */
	e[0] = (struct kvm_irq_routing_entry)CHIP(5, KVM_IRQCHIP_IOAPIC, 2);
	e[1] = (struct kvm_irq_routing_entry)CHIP(5, KVM_IRQCHIP_IOAPIC, 3);
	CHECK_ERR(t, set_routing(t, vm, e, 2, 0), EINVAL);	/* same chip twice */
	e[1] = (struct kvm_irq_routing_entry){ .gsi = 5, .type = KVM_IRQ_ROUTING_MSI };
	CHECK_ERR(t, set_routing(t, vm, e, 2, 0), EINVAL);	/* MSI and a pin */
	e[0].flags = 1;
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* entry flags */
	e[0].flags = 0;
	CHECK_ERR(t, set_routing(t, vm, e, 1, 1), EINVAL);	/* table flags */
	CHECK_ERR(t, set_routing(t, vm, e, 4097, 0), EINVAL);	/* too many */
	e[0] = (struct kvm_irq_routing_entry){ .gsi = 4096, .type = KVM_IRQ_ROUTING_MSI };
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* GSI too large */
	e[0] = (struct kvm_irq_routing_entry){ .gsi = 5, .type = 9 };
	CHECK_ERR(t, set_routing(t, vm, e, 1, 0), EINVAL);	/* unknown type */

	/* GSI 40 -> slave pin 3 and I/O APIC pin 20; PIC and I/O APIC both see it */
	e[0] = (struct kvm_irq_routing_entry)CHIP(40, KVM_IRQCHIP_PIC_SLAVE, 3);
	e[1] = (struct kvm_irq_routing_entry)CHIP(40, KVM_IRQCHIP_IOAPIC, 20);
	CHECK_EQ(set_routing(t, vm, e, 2, 0), 0);
	irq_line(t, vm, 40, 1);
	get_chip(t, vm, KVM_IRQCHIP_PIC_SLAVE, &c);
	t_pic(t, "slave", &c.chip.pic);
	CHECK_EQ(c.chip.pic.irr, 0x08);
	/* the old routes are gone: GSI 1 reaches nothing */
	CHECK_EQ(irq_line(t, vm, 1, 1), -1);	/* unrouted now */
	/* an empty table */
	CHECK_EQ(set_routing(t, vm, e, 0, 0), 0);
	close(vcpus[0]);
	close(vm);
	close(sys);
}

KVM_CASE(irqchip_signal_msi)
{
	int sys, vcpus[2], vm = irqchip_vm(t, &sys, vcpus, 2);
	struct kvm_msi msi = { .address_lo = 0xfee01000, .data = 0x4062 };	/* dest 1, vector 0x62 */
	struct kvm_lapic_state l;
	long r;

	/* software-disabled APIC: not accepted */
	r = IOC(t, vm, KVM_SIGNAL_MSI, &msi);
	t_printf(t, "msi to disabled: %ld", r);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_LAPIC, &l), 0);
	set_lapic_reg(&l, 0xf0, 0x1ff);
	CHECK_EQ(IOC(t, vcpus[1], KVM_SET_LAPIC, &l), 0);
	r = IOC(t, vm, KVM_SIGNAL_MSI, &msi);
	CHECK_EQ(r, 1);
	CHECK_EQ(IOC(t, vcpus[1], KVM_GET_LAPIC, &l), 0);
	t_printf(t, "vcpu1 irr[3]=%#x", lapic_reg(&l, 0x230));
	CHECK_EQ(lapic_reg(&l, 0x230), 1u << 2);
	/* nobody at APIC ID 7 */
	msi.address_lo = 0xfee07000;
	r = IOC(t, vm, KVM_SIGNAL_MSI, &msi);
	t_printf(t, "msi to nobody: %ld", r);
	msi.flags = 2;
	CHECK_ERR(t, IOC(t, vm, KVM_SIGNAL_MSI, &msi), EINVAL);
	close(vcpus[0]);
	close(vcpus[1]);
	close(vm);
	close(sys);
}

static void t_pit(struct tctx *t, const struct kvm_pit_state2 *s)
{
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &s->channels[i];

		/* count_load_time is the host's clock: not compared */
		t_printf(t, "pit%d: count=%#x latched=%#x cl=%u sl=%u status=%#x rs=%u ws=%u wl=%#x rw=%u mode=%u bcd=%u gate=%u",
			 i, c->count, c->latched_count, c->count_latched, c->status_latched, c->status,
			 c->read_state, c->write_state, c->write_latch, c->rw_mode, c->mode, c->bcd, c->gate);
	}
	t_printf(t, "pit flags=%#x", s->flags);
}

KVM_CASE(irqchip_pit_state)
{
	int sys, vcpus[1], vm = irqchip_vm(t, &sys, vcpus, 0);
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_pit_state2 s;
	struct kvm_pit_state old;

	CHECK_EQ(IOC(t, vm, KVM_CREATE_PIT2, &cfg), 0);
	CHECK_EQ(IOC(t, vm, KVM_GET_PIT2, &s), 0);
	t_pit(t, &s);
	CHECK_EQ(s.channels[2].gate, 0);
	/* counter 0: mode 2, LSB/MSB, 11932 */
	s.channels[0].mode = 2;
	s.channels[0].rw_mode = 3;
	s.channels[0].read_state = 3;
	s.channels[0].write_state = 3;
	s.channels[0].count = 11932;
	CHECK_EQ(IOC(t, vm, KVM_SET_PIT2, &s), 0);
	CHECK_EQ(IOC(t, vm, KVM_GET_PIT2, &s), 0);
	t_pit(t, &s);
	CHECK_EQ(s.channels[0].count, 11932);
	CHECK_EQ(IOC(t, vm, KVM_GET_PIT, &old), 0);
	t_printf(t, "legacy count0=%#x mode=%u", old.channels[0].count, old.channels[0].mode);
	CHECK_ERR(t, IOC(t, vm, KVM_GET_PIT2, NULL), EFAULT);
	close(vm);
	close(sys);
}
