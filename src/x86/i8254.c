// SPDX-License-Identifier: MIT
/*
 * The 8254 PIT (arch/x86/kvm/i8254.c), from the Intel 82C54 data sheet:
 * control word (counter select, read/write mode, mode, BCD), counter latch
 * and read-back commands, LSB/MSB access sequences, the six counting modes'
 * read-back values, the gate of counter 2 on port 0x61.  Counter 0 drives
 * IRQ 0 in one-shot (0, 1, 4, 5) and periodic (2, 3) modes.
 *
 * Note, missed periods are coalesced into one IRQ 0 edge (an edge-triggered
 * PIC input cannot count them); KVM's default re-injects each one after the
 * previous is acknowledged.  FIXME: re-injection needs the PIC/IOAPIC ack
 * notifiers (issue 5).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/i8254.h"

enum { RW_LATCHED_NONE, RW_LSB, RW_MSB, RW_WORD0, RW_WORD1 };

static u64 pit_now(struct kvm_pit *pit)
{
	return pit->ops && pit->ops->now_ns ? pit->ops->now_ns(pit->opaque) : 0;
}

static u64 ns_to_ticks(u64 ns)
{
	return (u64)((unsigned __int128)ns * KVM_PIT_FREQ / 1000000000ull);
}

static u64 ticks_to_ns(u64 ticks)
{
	return (u64)((unsigned __int128)ticks * 1000000000ull / KVM_PIT_FREQ);
}

static u32 chan_reload(const struct kvm_kpit_channel_state *c)
{
	return c->count ? c->count : 0x10000;	/* SET_PIT2 may store 0 */
}

/* The counter's value now (82C54 "counting element"). */
static u16 pit_get_count(struct kvm_pit *pit, int ch)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];
	u64 d = ns_to_ticks(pit_now(pit) - c->count_load_time);
	u32 reload = chan_reload(c);

	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		return (u16)(reload - d);
	case 3:
		/* square wave: decrements by two each tick */
		return (u16)(reload - ((2 * d) % reload));
	default:	/* 2 */
		return (u16)(reload - (d % reload));
	}
}

/* The OUT pin now, for read-back status and port 0x61. */
static int pit_get_out(struct kvm_pit *pit, int ch)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];
	u64 d = ns_to_ticks(pit_now(pit) - c->count_load_time);
	u32 reload = chan_reload(c);

	switch (c->mode) {
	case 0: return d >= reload;
	case 1: return d < reload;
	case 2: return (d % reload) == 0 && d != 0;
	case 3: return (d % reload) < (reload + 1) / 2;
	default: return d == reload;	/* 4, 5: strobe */
	}
}

static void pit_arm_channel0(struct kvm_pit *pit)
{
	struct kvm_kpit_channel_state *c = &pit->channels[0];
	u64 period = ticks_to_ns(chan_reload(c));

	switch (c->mode) {
	case 2: case 3:
		pit->period_ns = period;
		pit->next_ns = c->count_load_time + period;
		break;
	case 0: case 4:
		pit->period_ns = 0;
		pit->next_ns = c->count_load_time + period;
		break;
	default:	/* 1, 5: hardware-triggered, gate of counter 0 is wired high */
		pit->period_ns = 0;
		pit->next_ns = 0;
	}
}

static void pit_load_count(struct kvm_pit *pit, int ch, u32 val)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];

	/* As KVM keeps it: a count of 0 is stored as 0x10000. */
	val &= 0xffff;
	c->count = val ? val : 0x10000;
	c->count_load_time = pit_now(pit);
	if (ch == 0)
		pit_arm_channel0(pit);
}

static void pit_latch_count(struct kvm_pit *pit, int ch)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];

	if (!c->count_latched) {
		c->latched_count = pit_get_count(pit, ch);
		c->count_latched = c->rw_mode;
	}
}

static void pit_latch_status(struct kvm_pit *pit, int ch)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];

	if (!c->status_latched) {
		c->status = (pit_get_out(pit, ch) << 7) | (c->rw_mode << 4) |
			    (c->mode << 1) | c->bcd;
		c->status_latched = 1;
	}
}

static void pit_write_control(struct kvm_pit *pit, u8 val)
{
	int ch = val >> 6;

	if (ch == 3) {		/* read-back command */
		for (int i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(pit, i);
			if (!(val & 0x10))
				pit_latch_status(pit, i);
		}
		return;
	}
	{
		struct kvm_kpit_channel_state *c = &pit->channels[ch];
		int access = (val >> 4) & 3;

		if (access == 0) {	/* counter latch */
			pit_latch_count(pit, ch);
			return;
		}
		c->rw_mode = access;
		c->read_state = access;
		c->write_state = access;
		c->mode = (val >> 1) & 7;
		if (c->mode > 5)
			c->mode -= 4;	/* 6, 7 alias 2, 3 */
		c->bcd = val & 1;
	}
}

static void pit_write_counter(struct kvm_pit *pit, int ch, u8 val)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];

	switch (c->write_state) {
	case RW_LSB:
		pit_load_count(pit, ch, val);
		break;
	case RW_MSB:
		pit_load_count(pit, ch, val << 8);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	default:	/* RW_WORD1 */
		pit_load_count(pit, ch, c->write_latch | (val << 8));
		c->write_state = RW_WORD0;
		break;
	}
}

static u8 pit_read_counter(struct kvm_pit *pit, int ch)
{
	struct kvm_kpit_channel_state *c = &pit->channels[ch];
	u16 count;
	u8 ret;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		case RW_LSB:
			c->count_latched = 0;
			return c->latched_count & 0xff;
		case RW_MSB:
			c->count_latched = 0;
			return c->latched_count >> 8;
		case RW_WORD0:
			c->count_latched = RW_MSB;
			return c->latched_count & 0xff;
		}
	}
	count = pit_get_count(pit, ch);
	switch (c->read_state) {
	case RW_LSB:
		ret = count & 0xff;
		break;
	case RW_MSB:
		ret = count >> 8;
		break;
	case RW_WORD0:
		ret = count & 0xff;
		c->read_state = RW_WORD1;
		break;
	default:
		ret = count >> 8;
		c->read_state = RW_WORD0;
		break;
	}
	return ret;
}

int kvm_pit_pio(struct kvm_pit *pit, u16 port, int len, bool write, u8 *data)
{
	if (port != 0x61 && (port < 0x40 || port > 0x43))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&pit->lock);
	if (port == 0x61) {
		if (write) {
			pit->channels[2].gate = data[0] & 1;
			pit->speaker_data_on = (data[0] >> 1) & 1;
		} else {
			/* refresh toggle (bit 4) from the clock, counter 2 out (bit 5) */
			u64 refresh = (pit_now(pit) >> 14) & 1;

			data[0] = pit->channels[2].gate | (pit->speaker_data_on << 1) |
				  (refresh << 4) | (pit_get_out(pit, 2) << 5);
		}
	} else if (port == 0x43) {
		if (write)
			pit_write_control(pit, data[0]);
		else
			data[0] = 0xff;	/* the control word cannot be read */
	} else if (write) {
		pit_write_counter(pit, port - 0x40, data[0]);
	} else {
		data[0] = pit_read_counter(pit, port - 0x40);
	}
	for (int i = 1; i < len; i++)
		if (!write)
			data[i] = 0xff;
	pthread_mutex_unlock(&pit->lock);
	return 0;
}

u64 kvm_pit_timer_check(struct kvm_pit *pit)
{
	bool fire = false;
	u64 now, next;

	/* Called before every VM entry: no lock and no clock when counter 0 is idle. */
	if (!__atomic_load_n(&pit->next_ns, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&pit->lock);
	now = pit_now(pit);
	if (pit->next_ns && now >= pit->next_ns) {
		fire = true;
		if (pit->period_ns)
			pit->next_ns += ((now - pit->next_ns) / pit->period_ns + 1) * pit->period_ns;
		else
			pit->next_ns = 0;
	}
	next = pit->next_ns;
	pthread_mutex_unlock(&pit->lock);
	if (fire && pit->ops && pit->ops->irq0)
		pit->ops->irq0(pit->opaque);
	return next;
}

void kvm_pit_get_state2(struct kvm_pit *pit, struct kvm_pit_state2 *s)
{
	pthread_mutex_lock(&pit->lock);
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 3; i++) {
		const struct kvm_kpit_channel_state *c = &pit->channels[i];
		struct kvm_pit_channel_state *o = &s->channels[i];

		o->count = c->count;
		o->latched_count = c->latched_count;
		o->count_latched = c->count_latched;
		o->status_latched = c->status_latched;
		o->status = c->status;
		o->read_state = c->read_state;
		o->write_state = c->write_state;
		o->write_latch = c->write_latch;
		o->rw_mode = c->rw_mode;
		o->mode = c->mode;
		o->bcd = c->bcd;
		o->gate = c->gate;
		o->count_load_time = (s64)c->count_load_time;
	}
	s->flags = pit->flags;
	pthread_mutex_unlock(&pit->lock);
}

void kvm_pit_set_state2(struct kvm_pit *pit, const struct kvm_pit_state2 *s)
{
	pthread_mutex_lock(&pit->lock);
	for (int i = 0; i < 3; i++) {
		struct kvm_kpit_channel_state *c = &pit->channels[i];
		const struct kvm_pit_channel_state *in = &s->channels[i];

		c->latched_count = in->latched_count;
		c->count_latched = in->count_latched;
		c->status_latched = in->status_latched;
		c->status = in->status;
		c->read_state = in->read_state;
		c->write_state = in->write_state;
		c->write_latch = in->write_latch;
		c->rw_mode = in->rw_mode;
		c->mode = in->mode;
		c->bcd = in->bcd;
		c->gate = in->gate;
		/* As KVM: loading the count restarts the counter now. */
		pit_load_count(pit, i, in->count);
	}
	pit->flags = s->flags;
	pthread_mutex_unlock(&pit->lock);
}

struct kvm_pit *kvm_create_pit(const struct kvm_pit_ops *ops, void *opaque)
{
	struct kvm_pit *pit = calloc(1, sizeof(*pit));

	if (!pit)
		return NULL;
	pthread_mutex_init(&pit->lock, NULL);
	pit->ops = ops;
	pit->opaque = opaque;
	/* kvm_pit_reset(): every counter in mode 0 with count 0, gates high except 2 */
	for (int i = 0; i < 3; i++) {
		pit->channels[i].mode = 0xff;
		pit->channels[i].gate = i != 2;
		pit_load_count(pit, i, 0);
	}
	pit->next_ns = 0;
	return pit;
}

void kvm_free_pit(struct kvm_pit *pit)
{
	if (!pit)
		return;
	pthread_mutex_destroy(&pit->lock);
	free(pit);
}
