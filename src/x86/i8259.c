// SPDX-License-Identifier: MIT
/*
 * Two cascaded 8259A programmable interrupt controllers
 * (arch/x86/kvm/i8259.c), as the Intel 8259A data sheet describes them:
 * ICW1-ICW4 initialization, OCW1 (mask), OCW2 (EOI and rotation), OCW3
 * (read register select, poll, special mask), edge/level triggering by the
 * ELCR, fully nested priorities with rotation, auto-EOI, and the slave on
 * the master's IRQ 2.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/irq.h"

#define SLAVE_PIN 2

static bool is_master(const struct kvm_kpic_state *s)
{
	return s == &s->pics_state->pics[0];
}

/*
 * An input changed.  Level-triggered pins follow the level; edge-triggered
 * ones latch a rising edge into the IRR.
 * Return: -1 if the pin is masked, 0 if the request was already pending
 * (coalesced), 1 if it is new.
 */
static int pic_set_pin(struct kvm_kpic_state *s, int pin, int level)
{
	u8 bit = 1u << pin;
	int fresh = 1;

	if (s->elcr & bit) {
		if (level) {
			fresh = !(s->irr & bit);
			s->irr |= bit;
			s->last_irr |= bit;
		} else {
			s->irr &= ~bit;
			s->last_irr &= ~bit;
		}
	} else {
		if (level && !(s->last_irr & bit)) {
			fresh = !(s->irr & bit);
			s->irr |= bit;
		}
		if (level)
			s->last_irr |= bit;
		else
			s->last_irr &= ~bit;
	}
	return s->imr & bit ? -1 : fresh;
}

/* Priority of the highest request in @mask: 0 (highest) .. 7, 8 if none. */
static int pic_priority(const struct kvm_kpic_state *s, u8 mask)
{
	if (!mask)
		return 8;
	for (int p = 0; p < 8; p++)
		if (mask & (1u << ((p + s->priority_add) & 7)))
			return p;
	return 8;
}

/* The pin this 8259A would interrupt the CPU for now, or -1. */
static int pic_pending_pin(const struct kvm_kpic_state *s)
{
	int req = pic_priority(s, s->irr & ~s->imr);
	u8 in_service = s->isr;

	if (req == 8)
		return -1;
	/*
	 * Special fully nested mode: the master lets a higher-priority slave
	 * request through while another slave interrupt is in service.
	 */
	if (s->special_fully_nested_mode && is_master(s))
		in_service &= ~(1u << SLAVE_PIN);
	if (req >= pic_priority(s, in_service))
		return -1;
	return (req + s->priority_add) & 7;
}

/* Recompute the slave's cascade input and the master's INTR output. */
static void pic_update_irq(struct kvm_pic *p)
{
	int level;

	if (pic_pending_pin(&p->pics[1]) >= 0) {
		/* The cascade line pulses: an edge on the master's IRQ 2. */
		pic_set_pin(&p->pics[0], SLAVE_PIN, 1);
		pic_set_pin(&p->pics[0], SLAVE_PIN, 0);
	}
	level = pic_pending_pin(&p->pics[0]) >= 0;
	if (level && !p->output)
		p->wakeup_needed = true;
	p->output = level;
}

static void pic_unlock(struct kvm_pic *p)
{
	bool wake = p->wakeup_needed;

	p->wakeup_needed = false;
	pthread_mutex_unlock(&p->lock);
	if (wake && p->notify)
		p->notify(p->kvm);
}

/*
 * The EOI of @pin: the ack notifiers (an irqfd resampler) hear of it.  As
 * in KVM, the lock is dropped for them; the PIC's state is already updated.
 */
static void pic_clear_isr(struct kvm_kpic_state *s, int pin)
{
	struct kvm_pic *p = s->pics_state;

	s->isr &= ~(1u << pin);
	if (p && p->ack_notify) {
		pthread_mutex_unlock(&p->lock);
		p->ack_notify(p->kvm, s == &p->pics[0] ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			      pin);
		pthread_mutex_lock(&p->lock);
	}
}

/* The INTA cycle on one 8259A: the pin goes in service. */
static void pic_intack(struct kvm_kpic_state *s, int pin)
{
	s->isr |= 1u << pin;
	/* Level-triggered requests stay in the IRR until the line drops. */
	if (!(s->elcr & (1u << pin)))
		s->irr &= ~(1u << pin);
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (pin + 1) & 7;
		pic_clear_isr(s, pin);
	}
}

int kvm_pic_read_irq(struct kvm_pic *p)
{
	int pin, vector;

	pthread_mutex_lock(&p->lock);
	pin = pic_pending_pin(&p->pics[0]);
	if (pin < 0) {
		vector = p->pics[0].irq_base + 7;	/* spurious IRQ 7 */
	} else {
		pic_intack(&p->pics[0], pin);
		if (pin == SLAVE_PIN) {
			int spin = pic_pending_pin(&p->pics[1]);

			if (spin >= 0)
				pic_intack(&p->pics[1], spin);
			else
				spin = 7;	/* spurious on the slave */
			vector = p->pics[1].irq_base + spin;
		} else {
			vector = p->pics[0].irq_base + pin;
		}
	}
	pic_update_irq(p);
	pic_unlock(p);
	return vector;
}

int kvm_pic_set_irq(struct kvm_pic *p, int irq, int level)
{
	int ret = -1;

	if (irq < 0 || irq >= PIC_NUM_PINS)
		return -1;
	pthread_mutex_lock(&p->lock);
	ret = pic_set_pin(&p->pics[irq >> 3], irq & 7, level);
	pic_update_irq(p);
	pic_unlock(p);
	return ret;
}

bool kvm_pic_output(struct kvm_pic *p)
{
	return __atomic_load_n(&p->output, __ATOMIC_ACQUIRE);
}

/* Port 0 of a chip: ICW1, OCW2 or OCW3, told apart by bits 4 and 3. */
static void pic_write_cmd(struct kvm_kpic_state *s, u8 val)
{
	int cmd, pin, prio;

	if (val & 0x10) {		/* ICW1 */
		s->init4 = val & 1;
		s->last_irr = 0;
		s->imr = 0;
		s->priority_add = 0;
		s->special_mask = 0;
		s->read_reg_select = 0;
		if (!s->init4) {
			s->special_fully_nested_mode = 0;
			s->auto_eoi = 0;
		}
		s->init_state = 1;
		/* Single mode (bit 1) and level-triggered mode (bit 3) are not modelled. */
		return;
	}
	if (val & 0x08) {		/* OCW3 */
		if (val & 0x04)
			s->poll = 1;
		if (val & 0x02)
			s->read_reg_select = val & 1;
		if (val & 0x40)
			s->special_mask = (val >> 5) & 1;
		return;
	}
	cmd = val >> 5;			/* OCW2: R, SL, EOI */
	switch (cmd) {
	case 0:				/* rotate in auto-EOI mode: clear */
	case 4:				/* rotate in auto-EOI mode: set */
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:				/* non-specific EOI */
	case 5:				/* rotate on non-specific EOI */
		prio = pic_priority(s, s->isr);
		if (prio != 8) {
			pin = (prio + s->priority_add) & 7;
			if (cmd == 5)
				s->priority_add = (pin + 1) & 7;
			pic_clear_isr(s, pin);
			pic_update_irq(s->pics_state);
		}
		break;
	case 3:				/* specific EOI */
		pic_clear_isr(s, val & 7);
		pic_update_irq(s->pics_state);
		break;
	case 6:				/* set priority */
		s->priority_add = (val + 1) & 7;
		pic_update_irq(s->pics_state);
		break;
	case 7:				/* rotate on specific EOI */
		pin = val & 7;
		s->priority_add = (pin + 1) & 7;
		pic_clear_isr(s, pin);
		pic_update_irq(s->pics_state);
		break;
	default:			/* 2: no operation */
		break;
	}
}

/* Port 1 of a chip: OCW1 (the mask), or ICW2..ICW4 during initialization. */
static void pic_write_data(struct kvm_kpic_state *s, u8 val)
{
	switch (s->init_state) {
	case 0:
		s->imr = val;
		pic_update_irq(s->pics_state);
		break;
	case 1:
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2:				/* ICW3: the cascade wiring is fixed */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3:
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	}
}

/* A poll read: acknowledge the highest request as INTA would, return its pin. */
static u8 pic_poll_read(struct kvm_kpic_state *s, u16 port)
{
	int pin = pic_pending_pin(s);

	if (pin < 0) {
		pic_update_irq(s->pics_state);
		return 0x07;
	}
	if (!is_master(s)) {
		/* polling the slave also retires its cascade request on the master */
		s->pics_state->pics[0].isr &= ~(1u << SLAVE_PIN);
		s->pics_state->pics[0].irr &= ~(1u << SLAVE_PIN);
	}
	s->irr &= ~(1u << pin);
	pic_clear_isr(s, pin);
	if (!is_master(s) || pin != SLAVE_PIN)
		pic_update_irq(s->pics_state);
	(void)port;
	return pin;
}

int kvm_pic_pio(struct kvm_pic *p, u16 port, int len, bool write, u8 *data)
{
	struct kvm_kpic_state *s;

	switch (port) {
	case 0x20: case 0x21: case 0xa0: case 0xa1:
		s = &p->pics[port >> 7];
		break;
	case 0x4d0: case 0x4d1:
		s = &p->pics[port & 1];
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (len != 1) {
		/* Only byte accesses exist; others are dropped and read as zero (KVM). */
		if (!write)
			memset(data, 0, len);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	if (port >= 0x4d0) {
		if (write)
			s->elcr = *data & s->elcr_mask;
		else
			*data = s->elcr;
	} else if (write) {
		if (port & 1)
			pic_write_data(s, *data);
		else
			pic_write_cmd(s, *data);
	} else if (s->poll) {
		*data = pic_poll_read(s, port);
		s->poll = 0;
	} else if (port & 1) {
		*data = s->imr;
	} else {
		*data = s->read_reg_select ? s->isr : s->irr;
	}
	pic_unlock(p);
	return 0;
}

void kvm_pic_get_state(struct kvm_pic *p, int chip, struct kvm_pic_state *st)
{
	const struct kvm_kpic_state *s = &p->pics[chip];

	pthread_mutex_lock(&p->lock);
	st->last_irr = s->last_irr;
	st->irr = s->irr;
	st->imr = s->imr;
	st->isr = s->isr;
	st->priority_add = s->priority_add;
	st->irq_base = s->irq_base;
	st->read_reg_select = s->read_reg_select;
	st->poll = s->poll;
	st->special_mask = s->special_mask;
	st->init_state = s->init_state;
	st->auto_eoi = s->auto_eoi;
	st->rotate_on_auto_eoi = s->rotate_on_auto_eoi;
	st->special_fully_nested_mode = s->special_fully_nested_mode;
	st->init4 = s->init4;
	st->elcr = s->elcr;
	st->elcr_mask = s->elcr_mask;
	pthread_mutex_unlock(&p->lock);
}

void kvm_pic_set_state(struct kvm_pic *p, int chip, const struct kvm_pic_state *st)
{
	struct kvm_kpic_state *s = &p->pics[chip];

	pthread_mutex_lock(&p->lock);
	s->last_irr = st->last_irr;
	s->irr = st->irr;
	s->imr = st->imr;
	s->isr = st->isr;
	s->priority_add = st->priority_add;
	s->irq_base = st->irq_base;
	s->read_reg_select = st->read_reg_select;
	s->poll = st->poll;
	s->special_mask = st->special_mask;
	s->init_state = st->init_state;
	s->auto_eoi = st->auto_eoi;
	s->rotate_on_auto_eoi = st->rotate_on_auto_eoi;
	s->special_fully_nested_mode = st->special_fully_nested_mode;
	s->init4 = st->init4;
	s->elcr = st->elcr;
	s->elcr_mask = st->elcr_mask;
	pic_update_irq(p);
	pic_unlock(p);
}

struct kvm_pic *kvm_create_pic(struct kvm *kvm)
{
	struct kvm_pic *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->kvm = kvm;
	p->pics[0].elcr_mask = 0xf8;	/* IRQ 0-2 are always edge-triggered */
	p->pics[1].elcr_mask = 0xde;	/* and IRQ 8 and 13 */
	p->pics[0].pics_state = p;
	p->pics[1].pics_state = p;
	return p;
}

void kvm_destroy_pic(struct kvm_pic *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
