/* SPDX-License-Identifier: MIT */
/*
 * The 8254 programmable interval timer (arch/x86/kvm/i8254.h): three
 * counters at 1.193182 MHz on ports 0x40-0x43, counter 0 on IRQ 0 and the
 * speaker gate of counter 2 on port 0x61.
 */
#ifndef USERKVM_X86_I8254_H
#define USERKVM_X86_I8254_H

#include <pthread.h>
#include <userkvm/kvm_compat.h>
#include "util/types.h"

#define KVM_PIT_FREQ 1193182ull

struct kvm_kpit_channel_state {
	u32 count;		/* the reload value; 0 means 0x10000 */
	u16 latched_count;
	u8 count_latched;	/* RW mode of a pending latch, 0 if none */
	u8 status_latched;
	u8 status;
	u8 read_state;
	u8 write_state;
	u8 write_latch;
	u8 rw_mode;		/* 1 LSB, 2 MSB, 3 LSB then MSB */
	u8 mode;		/* 0-5 */
	u8 bcd;			/* BCD counting is not modelled (binary) */
	u8 gate;
	u64 count_load_time;	/* ns on the clock */
};

struct kvm_pit_ops {
	u64 (*now_ns)(void *opaque);
	/* Counter 0's output edge: IRQ 0 (raised, then lowered). */
	void (*irq0)(void *opaque);
};

struct kvm_pit {
	pthread_mutex_t lock;
	struct kvm_kpit_channel_state channels[3];
	u32 flags;
	u8 speaker_data_on;
	/* counter 0 as a periodic/one-shot event source */
	u64 next_ns;		/* next IRQ 0 edge, 0 = none */
	u64 period_ns;		/* 0 for one-shot modes */
	const struct kvm_pit_ops *ops;
	void *opaque;
};

struct kvm_pit *kvm_create_pit(const struct kvm_pit_ops *ops, void *opaque);
void kvm_free_pit(struct kvm_pit *pit);
/* Return: 0, or -EOPNOTSUPP for ports other than 0x40-0x43 and 0x61. */
int kvm_pit_pio(struct kvm_pit *pit, u16 port, int len, bool write, u8 *data);
/* Raise IRQ 0 for what is due; Return: the next deadline (0 = none). */
u64 kvm_pit_timer_check(struct kvm_pit *pit);
void kvm_pit_get_state2(struct kvm_pit *pit, struct kvm_pit_state2 *s);
void kvm_pit_set_state2(struct kvm_pit *pit, const struct kvm_pit_state2 *s);

#endif
