// SPDX-License-Identifier: MIT
/*
 * The local APIC register model with a fake clock: reset state, priorities,
 * IRR/ISR/EOI with the level-triggered broadcast, the ICR, LVT masking,
 * x2APIC MSRs, the timer in one-shot, periodic and TSC-deadline modes.
 */
#include "../test.h"
#include "x86/lapic.h"

static u64 fake_ns, fake_tsc;
static int kicks, eois, ipis;
static struct kvm_lapic_irq last_ipi;
static int last_eoi;

static u64 f_now(void *o) { return fake_ns; }
static u64 f_tsc(void *o) { return fake_tsc; }
static u32 f_khz(void *o) { return 1000000; }	/* 1 GHz: 1 tick per ns */
static void f_kick(void *o) { kicks++; }
static void f_ipi(void *o, struct kvm_lapic *src, const struct kvm_lapic_irq *irq) { ipis++; last_ipi = *irq; }
static void f_eoi(void *o, int v) { eois++; last_eoi = v; }

static const struct kvm_lapic_ops ops = { f_now, f_tsc, f_khz, f_kick, f_ipi, f_eoi };
static struct kvm_lapic *apic;

static u32 rd(u32 reg) { u32 v = 0; kvm_lapic_reg_read(apic, reg, 4, &v); return v; }
static void wr(u32 reg, u32 v) { CHECK_EQ(kvm_lapic_reg_write(apic, reg, v), 0); }

static void begin(u32 id, bool bsp)
{
	fake_ns = 1000;
	fake_tsc = 5000;
	kicks = eois = ipis = 0;
	apic = kvm_create_lapic(id, &ops, NULL);
	kvm_lapic_reset(apic, false, bsp);
}

static void enable(void) { wr(APIC_SPIV, 0x1ff); }

static void test_reset_state(void)
{
	begin(3, true);
	CHECK_EQ(rd(APIC_ID), 3u << 24);
	CHECK_EQ(rd(APIC_LVR), 0x50014);
	CHECK_EQ(rd(APIC_LVT0), APIC_DM_EXTINT);	/* BSP: PIC through LINT0 */
	CHECK_EQ(rd(APIC_LVT1), APIC_LVT_MASKED);
	CHECK_EQ(rd(APIC_LVTT), APIC_LVT_MASKED);
	CHECK_EQ(rd(APIC_DFR), 0xffffffff);
	CHECK_EQ(rd(APIC_SPIV), 0xff);
	CHECK_EQ(apic->apic_base, 0xfee00900);
	CHECK(kvm_apic_accept_pic_intr(apic), "BSP does not take the PIC");
	kvm_free_lapic(apic);
	begin(1, false);
	CHECK_EQ(apic->apic_base, 0xfee00800);
	CHECK_EQ(rd(APIC_LVT0), APIC_LVT_MASKED);
	CHECK(!kvm_apic_accept_pic_intr(apic), "AP takes the PIC");
	kvm_free_lapic(apic);
}

static void test_irr_isr_eoi(void)
{
	struct kvm_lapic_irq fixed = { .vector = 0x41, .delivery_mode = APIC_DM_FIXED };
	struct kvm_lapic_irq lvl = { .vector = 0x62, .delivery_mode = APIC_DM_FIXED, .trig_mode = 1, .level = 1 };

	begin(0, true);
	/* software-disabled: fixed interrupts are not accepted */
	CHECK_EQ(kvm_apic_set_irq(apic, &fixed), 0);
	enable();
	CHECK_EQ(kvm_apic_set_irq(apic, &fixed), 1);
	CHECK_EQ(kicks, 1);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x41);
	/* TPR masks the class */
	wr(APIC_TASKPRI, 0x40);
	CHECK_EQ(kvm_apic_has_interrupt(apic), -1);
	CHECK_EQ(rd(APIC_PROCPRI), 0x40);
	wr(APIC_TASKPRI, 0x30);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x41);
	kvm_apic_ack_interrupt(apic, 0x41);
	CHECK_EQ(rd(APIC_ISR + 0x20), 1u << 1);
	CHECK_EQ(rd(APIC_IRR + 0x20), 0);
	CHECK_EQ(rd(APIC_PROCPRI), 0x40);
	/* a higher class preempts, a same-class one waits */
	kvm_apic_set_irq(apic, &lvl);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x62);
	kvm_apic_ack_interrupt(apic, 0x62);
	CHECK(rd(APIC_TMR + 0x30) & (1u << 2), "TMR not set for level");
	fixed.vector = 0x45;
	kvm_apic_set_irq(apic, &fixed);
	CHECK_EQ(kvm_apic_has_interrupt(apic), -1);
	/* EOI retires the highest in service: 0x62 (level: broadcast) */
	wr(APIC_EOI, 0);
	CHECK_EQ(eois, 1);
	CHECK_EQ(last_eoi, 0x62);
	CHECK_EQ(kvm_apic_has_interrupt(apic), -1);	/* 0x45 same class as 0x41 in service */
	wr(APIC_EOI, 0);
	CHECK_EQ(eois, 1);				/* 0x41 was edge */
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x45);
	kvm_free_lapic(apic);
}

static void test_icr_and_lvt_mask(void)
{
	begin(0, true);
	enable();
	wr(APIC_ICR2, 0x05000000);
	wr(APIC_ICR, 0x000044f0 | APIC_DM_FIXED);	/* assert, vector 0xf0, physical */
	CHECK_EQ(ipis, 1);
	CHECK_EQ(last_ipi.vector, 0xf0);
	CHECK_EQ(last_ipi.dest_id, 5);
	CHECK_EQ(rd(APIC_ICR) & APIC_SEND_PENDING, 0);
	wr(APIC_ICR, APIC_DEST_ALLBUT | APIC_DM_INIT | APIC_INT_ASSERT);
	CHECK_EQ(last_ipi.delivery_mode, APIC_DM_INIT);
	CHECK_EQ(last_ipi.shorthand, APIC_DEST_ALLBUT);
	/* LVT writes keep only their fields; SW disable masks all LVTs */
	wr(APIC_LVT1, 0xffffffff);
	CHECK_EQ(rd(APIC_LVT1), 0x1f7ff);
	wr(APIC_LVTERR, 0xffffffff);
	CHECK_EQ(rd(APIC_LVTERR), 0x110ff);
	wr(APIC_LVT1, 0x400);
	wr(APIC_SPIV, 0xff);
	CHECK(rd(APIC_LVT1) & APIC_LVT_MASKED, "LVT not masked by SW disable");
	wr(APIC_LVT1, 0x400);
	CHECK(rd(APIC_LVT1) & APIC_LVT_MASKED, "LVT unmasked while SW disabled");
	kvm_free_lapic(apic);
}

static void test_x2apic(void)
{
	u64 v;

	begin(0x23, true);
	CHECK_EQ(kvm_x2apic_msr_read(apic, 0x802, &v), 1);	/* not in x2APIC mode: #GP */
	CHECK_EQ(kvm_lapic_set_base(apic, 0xfee00000 | (1 << 10), false), 1);	/* EXTD without EN */
	CHECK_EQ(kvm_lapic_set_base(apic, 0xfee00d00, false), 0);
	CHECK_EQ(kvm_x2apic_msr_read(apic, 0x802, &v), 0);
	CHECK_EQ(v, 0x23);
	CHECK_EQ(kvm_x2apic_msr_read(apic, 0x80d, &v), 0);	/* LDR: cluster 2, bit 3 */
	CHECK_EQ(v, (2u << 16) | (1u << 3));
	CHECK_EQ(kvm_x2apic_msr_write(apic, 0x802, 5), 1);	/* ID read-only */
	CHECK_EQ(kvm_x2apic_msr_read(apic, 0x80e, &v), 1);	/* no DFR */
	/* back to xAPIC directly is invalid; through disabled it is fine */
	CHECK_EQ(kvm_lapic_set_base(apic, 0xfee00900, false), 1);
	CHECK_EQ(kvm_lapic_set_base(apic, 0xfee00100, false), 0);
	CHECK_EQ(kvm_lapic_set_base(apic, 0xfee00900, false), 0);
	CHECK_EQ(rd(APIC_ID), 0x23u << 24);
	/* 64-bit ICR, self IPI */
	kvm_lapic_set_base(apic, 0xfee00d00, false);
	enable();
	CHECK_EQ(kvm_x2apic_msr_write(apic, 0x830, (7ull << 32) | 0x4031), 0);
	CHECK_EQ(last_ipi.dest_id, 7);
	CHECK_EQ(kvm_x2apic_msr_write(apic, 0x83f, 0x55), 0);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x55);
	kvm_free_lapic(apic);
}

static void test_timer_oneshot_periodic(void)
{
	begin(0, true);
	enable();
	wr(APIC_TDCR, 0x1);		/* divide by 4 */
	wr(APIC_LVTT, 0x30);		/* one-shot, vector 0x30 */
	wr(APIC_TMICT, 1000);		/* 4000 ns */
	CHECK_EQ(kvm_lapic_next_deadline(apic), 5000);
	fake_ns = 3000;
	CHECK_EQ(rd(APIC_TMCCT), 500);
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_apic_has_interrupt(apic), -1);
	fake_ns = 5000;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x30);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 0);
	CHECK_EQ(rd(APIC_TMCCT), 0);
	kvm_apic_ack_interrupt(apic, 0x30);
	wr(APIC_EOI, 0);
	/* periodic, divide by 1 */
	wr(APIC_TDCR, 0xb);
	wr(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | 0x31);
	wr(APIC_TMICT, 100);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 5100);
	fake_ns = 5100;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x31);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 5200);
	/* late by 3.5 periods: one interrupt, next deadline on the grid */
	fake_ns = 5550;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 5600);
	/* masked: no interrupt, timer still counts */
	kvm_apic_ack_interrupt(apic, 0x31);
	wr(APIC_EOI, 0);
	wr(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | APIC_LVT_MASKED | 0x31);
	fake_ns = 5600;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_apic_has_interrupt(apic), -1);
	/* TMICT 0 stops it */
	wr(APIC_TMICT, 0);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 0);
	/* KVM's minimum period (min_timer_period_us) holds for periodic timers only */
	apic->lapic_timer.min_period_ns = 1000;
	wr(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | 0x31);
	wr(APIC_TMICT, 100);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 6600);
	fake_ns = 6600;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 7600);
	wr(APIC_LVTT, 0x31);		/* one-shot: not limited */
	wr(APIC_TMICT, 100);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 6700);
	kvm_free_lapic(apic);
}

static void test_timer_tsc_deadline(void)
{
	begin(0, true);
	enable();
	/* ignored outside TSC-deadline mode */
	kvm_set_lapic_tscdeadline_msr(apic, 9000);
	CHECK_EQ(kvm_get_lapic_tscdeadline_msr(apic), 0);
	wr(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | 0x40);
	kvm_set_lapic_tscdeadline_msr(apic, 9000);	/* TSC 5000 now, 1 GHz */
	CHECK_EQ(kvm_get_lapic_tscdeadline_msr(apic), 9000);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 1000 + 4000);
	wr(APIC_TMICT, 123);			/* ignored in this mode */
	CHECK_EQ(rd(APIC_TMICT), 0);
	fake_ns = 5000;
	fake_tsc = 9000;
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_apic_has_interrupt(apic), 0x40);
	CHECK_EQ(kvm_get_lapic_tscdeadline_msr(apic), 0);	/* cleared on expiry */
	/* a deadline in the past fires at once */
	kvm_set_lapic_tscdeadline_msr(apic, 1);
	kvm_lapic_timer_check(apic);
	CHECK_EQ(kvm_get_lapic_tscdeadline_msr(apic), 0);
	/* switching modes stops the timer */
	kvm_set_lapic_tscdeadline_msr(apic, 1ull << 40);
	wr(APIC_LVTT, 0x40);
	CHECK_EQ(kvm_lapic_next_deadline(apic), 0);
	kvm_free_lapic(apic);
}

static void test_state_roundtrip(void)
{
	struct kvm_lapic_state s;

	begin(2, false);
	enable();
	wr(APIC_TASKPRI, 0x20);
	wr(APIC_LVTT, 0x33);
	kvm_apic_get_state(apic, &s);
	kvm_lapic_reset(apic, false, false);
	CHECK_EQ(rd(APIC_TASKPRI), 0);
	CHECK_EQ(kvm_apic_set_state(apic, &s), 0);
	CHECK_EQ(rd(APIC_TASKPRI), 0x20);
	CHECK_EQ(rd(APIC_LVTT), 0x33);
	CHECK_EQ(rd(APIC_SPIV), 0x1ff);
	kvm_free_lapic(apic);
}

static void test_dest_match(void)
{
	struct kvm_lapic *a, *b;

	begin(1, false);
	a = apic;
	b = kvm_create_lapic(2, &ops, NULL);
	kvm_lapic_reset(b, false, false);
	CHECK(kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 1, 0), "physical 1");
	CHECK(!kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 2, 0), "physical 2");
	CHECK(kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 0xff, 0), "broadcast");
	CHECK(!kvm_apic_match_dest(b, b, APIC_DEST_ALLBUT, 0, 0), "all-but-self");
	CHECK(kvm_apic_match_dest(b, b, APIC_DEST_SELF, 0, 0), "self");
	apic = a;
	wr(APIC_LDR, 0x04000000);			/* flat logical id 0x04 */
	CHECK(kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 0x0c, 1), "flat logical");
	CHECK(!kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 0x03, 1), "flat logical miss");
	wr(APIC_DFR, 0x0fffffff);			/* cluster model */
	wr(APIC_LDR, 0x21000000);			/* cluster 2, member 1 */
	CHECK(kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 0x23, 1), "cluster");
	CHECK(!kvm_apic_match_dest(a, b, APIC_DEST_NOSHORT, 0x13, 1), "other cluster");
	kvm_free_lapic(a);
	kvm_free_lapic(b);
}

int main(void)
{
	RUN_TEST(test_reset_state);
	RUN_TEST(test_irr_isr_eoi);
	RUN_TEST(test_icr_and_lvt_mask);
	RUN_TEST(test_x2apic);
	RUN_TEST(test_timer_oneshot_periodic);
	RUN_TEST(test_timer_tsc_deadline);
	RUN_TEST(test_state_roundtrip);
	RUN_TEST(test_dest_match);
	return test_cases_failed != 0;
}
