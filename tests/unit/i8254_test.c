// SPDX-License-Identifier: MIT
/*
 * The 8254 on a fake clock: programming sequences, latches and read-back,
 * counting in modes 0, 2 and 3, IRQ 0 timing, port 0x61.
 */
#include "../test.h"
#include <errno.h>
#include "x86/i8254.h"

static u64 fake_ns;
static int irqs;
static u64 f_now(void *o) { return fake_ns; }
static void f_irq0(void *o) { irqs++; }
static const struct kvm_pit_ops ops = { f_now, f_irq0 };
static struct kvm_pit *pit;

static void outb(u16 port, u8 v) { CHECK_EQ(kvm_pit_pio(pit, port, 1, true, &v), 0); }
static u8 inb(u16 port) { u8 v = 0; CHECK_EQ(kvm_pit_pio(pit, port, 1, false, &v), 0); return v; }

/* ticks of the 1.193182 MHz clock to ns */
static u64 t2ns(u64 t) { return t * 1000000000ull / KVM_PIT_FREQ; }

static void begin(void)
{
	fake_ns = 1000000;
	irqs = 0;
	pit = kvm_create_pit(&ops, NULL);
}

static void test_reset_state(void)
{
	struct kvm_pit_state2 s;

	begin();
	kvm_pit_get_state2(pit, &s);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(s.channels[i].mode, 0xff);
		CHECK_EQ(s.channels[i].count, 0x10000);	/* 0 is kept as 0x10000 */
		CHECK_EQ(s.channels[i].gate, i != 2);
	}
	CHECK_EQ(kvm_pit_timer_check(pit), 0);
	CHECK_EQ(irqs, 0);
	kvm_free_pit(pit);
}

static void test_mode2_rate_generator(void)
{
	u64 next;

	begin();
	outb(0x43, 0x34);		/* counter 0, LSB then MSB, mode 2 */
	outb(0x40, 0x9c);
	outb(0x40, 0x2e);		/* 11932: ~100 Hz (Linux's LATCH) */
	next = kvm_pit_timer_check(pit);
	CHECK(next > fake_ns && next - fake_ns > t2ns(11932) - 2 && next - fake_ns <= t2ns(11932) + 2,
	      "first deadline %llu", (unsigned long long)(next - fake_ns));
	CHECK_EQ(irqs, 0);
	fake_ns = next;
	{
		u64 again = kvm_pit_timer_check(pit);

		CHECK_EQ(irqs, 1);
		CHECK(again - next >= t2ns(11932) - 1 && again - next <= t2ns(11932) + 1,
		      "period %llu", (unsigned long long)(again - next));
	}
	/* three periods late: one coalesced edge */
	fake_ns += 3 * t2ns(11932) + 10;
	kvm_pit_timer_check(pit);
	CHECK_EQ(irqs, 2);
	kvm_free_pit(pit);
	/* read the counter: a quarter through a period */
	begin();
	outb(0x43, 0x34); outb(0x40, 0x00); outb(0x40, 0x10);	/* 4096 */
	fake_ns += t2ns(1024);
	outb(0x43, 0x00);		/* latch counter 0 */
	{
		u16 v = inb(0x40);

		v |= inb(0x40) << 8;
		CHECK(v >= 3071 && v <= 3073, "count %u", v);
	}
	kvm_free_pit(pit);
}

static void test_mode0_oneshot_and_readback(void)
{
	begin();
	outb(0x43, 0x30);		/* counter 0, LSB/MSB, mode 0 */
	outb(0x40, 0xe8); outb(0x40, 0x03);	/* 1000 */
	fake_ns += t2ns(999);
	kvm_pit_timer_check(pit);
	CHECK_EQ(irqs, 0);
	/* read-back status: OUT low, rw 3, mode 0 */
	outb(0x43, 0xe2);		/* read-back, status only, counter 0 */
	CHECK_EQ(inb(0x40), 0x30);
	fake_ns += t2ns(2);
	kvm_pit_timer_check(pit);
	CHECK_EQ(irqs, 1);
	outb(0x43, 0xe2);
	CHECK_EQ(inb(0x40), 0xb0);	/* OUT high after terminal count */
	fake_ns += t2ns(100000);
	kvm_pit_timer_check(pit);
	CHECK_EQ(irqs, 1);		/* one-shot */
	kvm_free_pit(pit);
}

static void test_lsb_only_and_port61(void)
{
	begin();
	outb(0x43, 0xb6);		/* counter 2, LSB/MSB, mode 3 (speaker) */
	outb(0x42, 0x00); outb(0x42, 0x01);	/* 256 */
	CHECK_EQ(inb(0x61) & 1, 0);
	outb(0x61, 0x03);		/* gate on, speaker on */
	CHECK_EQ(inb(0x61) & 3, 3);
	/* LSB-only access */
	outb(0x43, 0x52);		/* counter 1, LSB, mode 1 */
	outb(0x41, 0x12);
	{
		struct kvm_pit_state2 s;

		kvm_pit_get_state2(pit, &s);
		CHECK_EQ(s.channels[1].count, 0x12);
		CHECK_EQ(s.channels[1].mode, 1);
		CHECK_EQ(s.channels[1].rw_mode, 1);
		CHECK_EQ(s.channels[2].count, 256);
		CHECK_EQ(s.channels[2].mode, 3);
	}
	CHECK_EQ(inb(0x43), 0xff);
	{
		u8 v = 0;

		CHECK_EQ(kvm_pit_pio(pit, 0x44, 1, false, &v), -EOPNOTSUPP);
	}
	kvm_free_pit(pit);
}

int main(void)
{
	RUN_TEST(test_reset_state);
	RUN_TEST(test_mode2_rate_generator);
	RUN_TEST(test_mode0_oneshot_and_readback);
	RUN_TEST(test_lsb_only_and_port61);
	return test_cases_failed != 0;
}
