// SPDX-License-Identifier: MIT
/*
 * The 8259A pair, driven through its ports as a BIOS and Linux program it:
 * ICW1-4, masks, edge and level requests, INTA vectors, EOI (non-specific,
 * specific, rotating), the cascaded slave, poll mode, auto-EOI, ELCR.
 */
#include "../test.h"
#include <errno.h>
#include "x86/irq.h"

static struct kvm_pic *pic;
static int kicks;

static void notify(struct kvm *kvm) { kicks++; }

static void outb(u16 port, u8 v) { CHECK_EQ(kvm_pic_pio(pic, port, 1, true, &v), 0); }
static u8 inb(u16 port) { u8 v = 0; CHECK_EQ(kvm_pic_pio(pic, port, 1, false, &v), 0); return v; }

/* The PC BIOS sequence: master at 0x08 (here 0x20), slave at 0x28, cascade on IRQ 2. */
static void bios_init(u8 master_base, u8 slave_base)
{
	outb(0x20, 0x11); outb(0x21, master_base); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, slave_base); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0x00); outb(0xa1, 0x00);
}

static void begin(void)
{
	pic = kvm_create_pic(NULL);
	pic->notify = notify;
	kicks = 0;
	bios_init(0x20, 0x28);
}

static void end(void) { kvm_destroy_pic(pic); }

static void test_init_state(void)
{
	struct kvm_pic_state st;

	pic = kvm_create_pic(NULL);
	kvm_pic_get_state(pic, 0, &st);
	CHECK_EQ(st.elcr_mask, 0xf8);
	CHECK_EQ(st.irq_base, 0);
	kvm_pic_get_state(pic, 1, &st);
	CHECK_EQ(st.elcr_mask, 0xde);
	bios_init(0x20, 0x28);
	kvm_pic_get_state(pic, 0, &st);
	CHECK_EQ(st.irq_base, 0x20);
	CHECK_EQ(st.init_state, 0);
	CHECK_EQ(st.init4, 1);
	CHECK_EQ(st.imr, 0);
	kvm_pic_get_state(pic, 1, &st);
	CHECK_EQ(st.irq_base, 0x28);
	/* ICW2 keeps only bits 7:3 */
	outb(0x20, 0x11); outb(0x21, 0x37); outb(0x21, 0x04); outb(0x21, 0x01);
	kvm_pic_get_state(pic, 0, &st);
	CHECK_EQ(st.irq_base, 0x30);
	end();
}

static void test_edge_irq_and_eoi(void)
{
	begin();
	CHECK(!kvm_pic_output(pic), "INTR without request");
	CHECK_EQ(kvm_pic_set_irq(pic, 1, 1), 1);
	CHECK(kvm_pic_output(pic), "no INTR");
	CHECK_EQ(kicks, 1);
	/* still high: no new edge, nothing changes */
	CHECK_EQ(kvm_pic_set_irq(pic, 1, 1), 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x21);
	CHECK(!kvm_pic_output(pic), "INTR after INTA");
	/* in service: IRR via OCW3 read-select */
	outb(0x20, 0x0b);
	CHECK_EQ(inb(0x20), 0x02);	/* ISR */
	outb(0x20, 0x0a);
	CHECK_EQ(inb(0x20), 0x00);	/* IRR */
	/* a lower-priority request waits for the EOI */
	kvm_pic_set_irq(pic, 1, 0);
	kvm_pic_set_irq(pic, 4, 1);
	CHECK(!kvm_pic_output(pic), "IRQ 4 preempted IRQ 1 in service");
	outb(0x20, 0x20);		/* non-specific EOI */
	CHECK(kvm_pic_output(pic), "IRQ 4 not raised after EOI");
	CHECK_EQ(kvm_pic_read_irq(pic), 0x24);
	outb(0x20, 0x64);		/* specific EOI for IRQ 4 */
	outb(0x20, 0x0b);
	CHECK_EQ(inb(0x20), 0);
	/* a higher-priority request interrupts a lower one in service */
	kvm_pic_set_irq(pic, 4, 0);
	kvm_pic_set_irq(pic, 5, 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x25);
	kvm_pic_set_irq(pic, 0, 1);
	CHECK(kvm_pic_output(pic), "IRQ 0 blocked by IRQ 5");
	CHECK_EQ(kvm_pic_read_irq(pic), 0x20);
	end();
}

static void test_mask(void)
{
	begin();
	outb(0x21, 0x02);
	CHECK_EQ(inb(0x21), 0x02);
	CHECK_EQ(kvm_pic_set_irq(pic, 1, 1), -1);	/* masked */
	CHECK(!kvm_pic_output(pic), "masked IRQ raised INTR");
	outb(0x21, 0x00);
	CHECK(kvm_pic_output(pic), "unmasked pending IRQ not raised");
	CHECK_EQ(kvm_pic_read_irq(pic), 0x21);
	end();
}

static void test_slave_cascade(void)
{
	begin();
	kvm_pic_set_irq(pic, 12, 1);	/* slave pin 4 */
	CHECK(kvm_pic_output(pic), "slave IRQ not cascaded");
	CHECK_EQ(kvm_pic_read_irq(pic), 0x2c);
	/* both in service: master IRQ 2, slave IRQ 4 */
	outb(0x20, 0x0b); CHECK_EQ(inb(0x20), 0x04);
	outb(0xa0, 0x0b); CHECK_EQ(inb(0xa0), 0x10);
	outb(0xa0, 0x20); outb(0x20, 0x20);
	outb(0x20, 0x0b); CHECK_EQ(inb(0x20), 0x00);
	outb(0xa0, 0x0b); CHECK_EQ(inb(0xa0), 0x00);
	/* masked on the slave */
	kvm_pic_set_irq(pic, 12, 0);
	outb(0xa1, 0x10);
	kvm_pic_set_irq(pic, 12, 1);
	CHECK(!kvm_pic_output(pic), "masked slave IRQ cascaded");
	end();
}

static void test_level_triggered(void)
{
	begin();
	outb(0x4d1, 0xff);		/* slave: all level, except the fixed edges */
	CHECK_EQ(inb(0x4d1), 0xde);
	outb(0x4d0, 0xff);
	CHECK_EQ(inb(0x4d0), 0xf8);
	kvm_pic_set_irq(pic, 10, 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x2a);
	/* level: the request stays in the IRR while the line is high */
	outb(0xa0, 0x0a);
	CHECK_EQ(inb(0xa0), 0x04);
	outb(0xa0, 0x20); outb(0x20, 0x20);
	CHECK(kvm_pic_output(pic), "level IRQ not re-raised after EOI");
	kvm_pic_set_irq(pic, 10, 0);
	outb(0xa0, 0x0a);
	CHECK_EQ(inb(0xa0), 0x00);
	end();
}

static void test_spurious_and_poll(void)
{
	begin();
	/* INTA with nothing pending: IRQ 7 */
	CHECK_EQ(kvm_pic_read_irq(pic), 0x27);
	/* poll mode */
	kvm_pic_set_irq(pic, 3, 1);
	outb(0x20, 0x0c);		/* OCW3 P=1 */
	CHECK_EQ(inb(0x20), 3);
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x20), 7);		/* nothing pending */
	end();
}

static void test_auto_eoi_and_rotation(void)
{
	begin();
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x03); /* AEOI */
	kvm_pic_set_irq(pic, 1, 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x21);
	outb(0x20, 0x0b); CHECK_EQ(inb(0x20), 0x00);	/* no ISR bit in AEOI */
	/* rotate on specific EOI for IRQ 3: IRQ 4 becomes highest */
	outb(0x20, 0xe3);
	kvm_pic_set_irq(pic, 1, 0);
	kvm_pic_set_irq(pic, 1, 1);
	kvm_pic_set_irq(pic, 5, 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x25);	/* unrotated, IRQ 1 would win */
	CHECK_EQ(kvm_pic_read_irq(pic), 0x21);
	/* IRQ 2 is the cascade: raised directly, INTA finds no slave request */
	kvm_pic_set_irq(pic, 2, 1);
	CHECK_EQ(kvm_pic_read_irq(pic), 0x2f);
	end();
}

static void test_non_byte_and_other_ports(void)
{
	u8 v[2] = { 0x55, 0x55 };

	begin();
	CHECK_EQ(kvm_pic_pio(pic, 0x21, 2, false, v), 0);
	CHECK_EQ(v[0], 0);
	CHECK_EQ(kvm_pic_pio(pic, 0x22, 1, false, v), -EOPNOTSUPP);
	end();
}

int main(void)
{
	RUN_TEST(test_init_state);
	RUN_TEST(test_edge_irq_and_eoi);
	RUN_TEST(test_mask);
	RUN_TEST(test_slave_cascade);
	RUN_TEST(test_level_triggered);
	RUN_TEST(test_spurious_and_poll);
	RUN_TEST(test_auto_eoi_and_rotation);
	RUN_TEST(test_non_byte_and_other_ports);
	return test_cases_failed != 0;
}
