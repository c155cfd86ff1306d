// SPDX-License-Identifier: MIT
/*
 * The I/O APIC through its MMIO window: version/ID registers, programming
 * redirection entries, edge and level pins, masking, remote IRR and the
 * EOI that clears it, the state ioctls' view.
 */
#include <errno.h>

#include "../test.h"
#include "x86/ioapic.h"

static struct kvm_ioapic *io;
static struct kvm_lapic_irq sent[16];
static int nsent, accept = 1;

static int deliver(struct kvm *kvm, const struct kvm_lapic_irq *irq)
{
	if (nsent < 16)
		sent[nsent] = *irq;
	nsent++;
	return accept;
}

static void wr(u32 reg, u32 v)
{
	CHECK_EQ(kvm_ioapic_mmio(io, 0xfec00000, 4, true, &reg), 0);
	CHECK_EQ(kvm_ioapic_mmio(io, 0xfec00010, 4, true, &v), 0);
}

static u32 rd(u32 reg)
{
	u32 v = 0;

	kvm_ioapic_mmio(io, 0xfec00000, 4, true, &reg);
	kvm_ioapic_mmio(io, 0xfec00010, 4, false, &v);
	return v;
}

static void begin(void)
{
	io = kvm_ioapic_init(NULL);
	io->deliver = deliver;
	nsent = 0;
	accept = 1;
}

static void test_registers(void)
{
	begin();
	CHECK_EQ(rd(1), 0x170011);		/* 24 entries, version 0x11 */
	wr(0, 0x0f000000);
	CHECK_EQ(rd(0), 0x0f000000);
	CHECK_EQ(rd(2), 0x0f000000);		/* arbitration ID reads as the ID */
	for (int i = 0; i < 24; i++)
		CHECK_EQ(rd(0x10 + 2 * i), 0x10000);	/* masked after reset */
	CHECK_EQ(rd(0x10 + 2 * 24), 0xffffffff);	/* past the table */
	wr(0x10 + 2 * 5, 0x0000a031);			/* level, vector 0x31 */
	wr(0x11 + 2 * 5, 0x03000000);
	CHECK_EQ(rd(0x10 + 2 * 5), 0xa031);
	CHECK_EQ(rd(0x11 + 2 * 5), 0x03000000);
	{
		u32 v = 0x1234;

		CHECK_EQ(kvm_ioapic_mmio(io, 0xfec00100, 4, false, &v), -EOPNOTSUPP);
	}
	kvm_ioapic_destroy(io);
}

static void test_edge(void)
{
	begin();
	wr(0x10 + 2 * 4, 0x00000024);		/* edge, fixed, vector 0x24, unmasked */
	wr(0x11 + 2 * 4, 0x01000000);
	CHECK(kvm_ioapic_set_irq(io, 4, 1) > 0, "not delivered");
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent[0].vector, 0x24);
	CHECK_EQ(sent[0].dest_id, 1);
	CHECK_EQ(sent[0].trig_mode, 0);
	/* staying high is not a new edge: coalesced */
	CHECK_EQ(kvm_ioapic_set_irq(io, 4, 1), 0);
	CHECK_EQ(nsent, 1);
	kvm_ioapic_set_irq(io, 4, 0);
	kvm_ioapic_set_irq(io, 4, 1);
	CHECK_EQ(nsent, 2);
	/* masked: latched, then coalesced */
	kvm_ioapic_set_irq(io, 4, 0);
	wr(0x10 + 2 * 4, 0x00010024);
	CHECK_EQ(kvm_ioapic_set_irq(io, 4, 1), -1);
	CHECK_EQ(kvm_ioapic_set_irq(io, 4, 1), 0);
	CHECK_EQ(nsent, 2);
	kvm_ioapic_destroy(io);
}

static void test_level_remote_irr(void)
{
	struct kvm_ioapic_state st;

	begin();
	wr(0x10 + 2 * 9, 0x0000a039);		/* level, active low, vector 0x39 */
	CHECK(kvm_ioapic_set_irq(io, 9, 1) > 0, "not delivered");
	CHECK(rd(0x10 + 2 * 9) & (1 << 14), "remote IRR not set");
	/* while remote IRR is set nothing more is sent */
	CHECK_EQ(kvm_ioapic_set_irq(io, 9, 1), -1);
	CHECK_EQ(nsent, 1);
	/* EOI with the line still high: sent again */
	kvm_ioapic_update_eoi(io, 0x39, 1);
	CHECK_EQ(nsent, 2);
	/* line low, EOI: remote IRR clear, nothing sent */
	kvm_ioapic_set_irq(io, 9, 0);
	kvm_ioapic_update_eoi(io, 0x39, 1);
	CHECK_EQ(nsent, 2);
	CHECK(!(rd(0x10 + 2 * 9) & (1 << 14)), "remote IRR after EOI");
	/* the guest cannot write remote IRR */
	wr(0x10 + 2 * 9, 0x0000e039);
	CHECK(!(rd(0x10 + 2 * 9) & (1 << 14)), "remote IRR written");
	/* masked level pin: served when unmasked */
	wr(0x10 + 2 * 9, 0x0001a039);
	kvm_ioapic_set_irq(io, 9, 1);
	CHECK_EQ(nsent, 2);
	wr(0x10 + 2 * 9, 0x0000a039);
	CHECK_EQ(nsent, 3);
	/* reprogramming as edge clears remote IRR */
	wr(0x10 + 2 * 9, 0x00002039);
	CHECK(!(rd(0x10 + 2 * 9) & (1 << 14)), "edge kept remote IRR");
	kvm_ioapic_get_state(io, &st);
	CHECK_EQ(st.base_address, 0xfec00000);
	CHECK_EQ(st.redirtbl[9].bits, 0x2039);
	kvm_ioapic_destroy(io);
}

static void test_nobody_accepts(void)
{
	begin();
	accept = 0;
	wr(0x10 + 2 * 3, 0x0000a033);
	CHECK_EQ(kvm_ioapic_set_irq(io, 3, 1), 0);
	CHECK(!(rd(0x10 + 2 * 3) & (1 << 14)), "remote IRR without a receiver");
	kvm_ioapic_destroy(io);
}

int main(void)
{
	RUN_TEST(test_registers);
	RUN_TEST(test_edge);
	RUN_TEST(test_level_remote_irr);
	RUN_TEST(test_nobody_accepts);
	return test_cases_failed != 0;
}
