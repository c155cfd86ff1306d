// SPDX-License-Identifier: MIT
/*
 * The I/O APIC (arch/x86/kvm/ioapic.c), after the Intel 82093AA data sheet:
 * an indirect register window, 24 redirection entries, edge and level
 * pins, remote IRR for level-triggered entries until the local APIC's EOI.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/ioapic.h"

static bool rte_level(u64 e) { return e & IOAPIC_RTE_LEVEL; }

/* Send pin @pin's message if it may go now.  Return: as ->deliver, or -1. */
static int ioapic_service(struct kvm_ioapic *s, int pin)
{
	u64 *e = &s->redirtbl[pin];
	struct kvm_lapic_irq irq;
	int ret;

	if ((*e & IOAPIC_RTE_MASK) || (rte_level(*e) && (*e & IOAPIC_RTE_REMOTE_IRR)))
		return -1;
	irq = (struct kvm_lapic_irq){
		.vector = IOAPIC_RTE_VECTOR(*e),
		.delivery_mode = IOAPIC_RTE_DELMODE(*e) << 8,
		.dest_mode = !!(*e & IOAPIC_RTE_DESTMODE),
		.level = true,
		.trig_mode = rte_level(*e),
		.dest_id = IOAPIC_RTE_DEST(*e),
	};
	if (!rte_level(*e))
		s->irr_delivered |= 1u << pin;
	ret = s->deliver ? s->deliver(s->kvm, &irq) : 0;
	if (ret > 0 && rte_level(*e))
		*e |= IOAPIC_RTE_REMOTE_IRR;
	return ret;
}

int kvm_ioapic_set_irq(struct kvm_ioapic *s, int pin, int level)
{
	u32 bit = 1u << pin, old;
	int ret;

	if (pin < 0 || pin >= IOAPIC_NUM_PINS)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (!level) {
		s->irr &= ~bit;
		ret = 1;
		goto out;
	}
	old = s->irr;
	s->irr |= bit;
	if (!rte_level(s->redirtbl[pin])) {
		s->irr_delivered &= ~bit;
		if (old == s->irr) {	/* an edge still latched (e.g. masked): coalesced */
			ret = 0;
			goto out;
		}
	}
	ret = ioapic_service(s, pin);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * Note, as in KVM's kvm_ioapic_update_eoi_one(), the ack notifiers (an
 * irqfd's resampler lowers its line there) run without the lock, before
 * remote IRR is cleared and the line looked at again.
 */
void kvm_ioapic_update_eoi(struct kvm_ioapic *s, int vector, int trigger_mode)
{
	if (!trigger_mode)
		return;
	pthread_mutex_lock(&s->lock);
	for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		u64 *e = &s->redirtbl[pin];

		if (IOAPIC_RTE_VECTOR(*e) != vector || !rte_level(*e))
			continue;
		if (s->ack_notify) {
			pthread_mutex_unlock(&s->lock);
			s->ack_notify(s->kvm, pin);
			pthread_mutex_lock(&s->lock);
			if (IOAPIC_RTE_VECTOR(*e) != vector || !rte_level(*e))
				continue;
		}
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
		/* The line is still asserted: the interrupt comes again. */
		if (!(*e & IOAPIC_RTE_MASK) && (s->irr & (1u << pin)))
			ioapic_service(s, pin);
	}
	pthread_mutex_unlock(&s->lock);
}

static u32 ioapic_read_indirect(struct kvm_ioapic *s)
{
	unsigned int index;
	u64 e;

	switch (s->ioregsel) {
	case IOAPIC_REG_VERSION:
		return ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION_ID;
	case IOAPIC_REG_APIC_ID:
	case IOAPIC_REG_ARB_ID:
		return (s->id & 0xf) << 24;
	}
	index = (s->ioregsel - 0x10) >> 1;
	e = s->ioregsel >= 0x10 && index < IOAPIC_NUM_PINS ? s->redirtbl[index] : ~0ull;
	return s->ioregsel & 1 ? (u32)(e >> 32) : (u32)e;
}

static void ioapic_write_indirect(struct kvm_ioapic *s, u32 val)
{
	unsigned int index;
	u64 *e, ro;

	switch (s->ioregsel) {
	case IOAPIC_REG_VERSION:
	case IOAPIC_REG_ARB_ID:
		return;
	case IOAPIC_REG_APIC_ID:
		s->id = (val >> 24) & 0xf;
		return;
	}
	if (s->ioregsel < 0x10)
		return;
	index = (s->ioregsel - 0x10) >> 1;
	if (index >= IOAPIC_NUM_PINS)
		return;
	e = &s->redirtbl[index];
	ro = *e & (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVS);
	if (s->ioregsel & 1)
		*e = (*e & 0xffffffffull) | ((u64)val << 32);
	else
		*e = (*e & ~0xffffffffull) | val;
	*e = (*e & ~(IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVS)) | ro;
	/*
	 * Linux (and Xen) rely on this: reprogramming an entry as edge
	 * clears remote IRR, standing in for an EOI on I/O APICs without an
	 * EOI register.
	 */
	if (!rte_level(*e))
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
	/* A level-triggered line already high is served when the entry allows it. */
	if (rte_level(*e) && (s->irr & (1u << index)))
		ioapic_service(s, index);
}

int kvm_ioapic_mmio(struct kvm_ioapic *s, u64 gpa, int len, bool write, void *data)
{
	u64 off;
	u32 v;

	if (gpa < s->base_address || gpa >= s->base_address + IOAPIC_MEM_LENGTH)
		return -EOPNOTSUPP;
	off = gpa - s->base_address;
	pthread_mutex_lock(&s->lock);
	if (write) {
		u64 val = 0;

		memcpy(&val, data, len > 8 ? 8 : len);
		v = (u32)val;
		if (off == IOAPIC_REG_SELECT)
			s->ioregsel = v;
		else if (off == IOAPIC_REG_WINDOW)
			ioapic_write_indirect(s, v);
		/* FIXME: the version 0x20 EOI register (+0x40) is not modelled (0x11). */
	} else {
		if (off == IOAPIC_REG_SELECT)
			v = s->ioregsel;
		else if (off == IOAPIC_REG_WINDOW)
			v = ioapic_read_indirect(s);
		else
			v = 0;
		if (len == 8) {
			u64 w = v;

			memcpy(data, &w, 8);
		} else {
			memcpy(data, &v, len > 4 ? 4 : len);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void kvm_ioapic_reset(struct kvm_ioapic *s)
{
	for (int i = 0; i < IOAPIC_NUM_PINS; i++)
		s->redirtbl[i] = IOAPIC_RTE_MASK;
	s->base_address = IOAPIC_DEFAULT_BASE_ADDRESS;
	s->ioregsel = 0;
	s->irr = 0;
	s->irr_delivered = 0;
	s->id = 0;
}

struct kvm_ioapic *kvm_ioapic_init(struct kvm *kvm)
{
	struct kvm_ioapic *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->kvm = kvm;
	kvm_ioapic_reset(s);
	return s;
}

void kvm_ioapic_destroy(struct kvm_ioapic *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void kvm_ioapic_get_state(struct kvm_ioapic *s, struct kvm_ioapic_state *st)
{
	pthread_mutex_lock(&s->lock);
	memset(st, 0, sizeof(*st));
	st->base_address = s->base_address;
	st->ioregsel = s->ioregsel;
	st->id = s->id;
	/* As KVM: pending edges that were delivered are not reported as IRR. */
	st->irr = s->irr & ~s->irr_delivered;
	for (int i = 0; i < IOAPIC_NUM_PINS; i++)
		st->redirtbl[i].bits = s->redirtbl[i];
	pthread_mutex_unlock(&s->lock);
}

void kvm_ioapic_set_state(struct kvm_ioapic *s, const struct kvm_ioapic_state *st)
{
	u32 irr;

	pthread_mutex_lock(&s->lock);
	s->base_address = st->base_address;
	s->ioregsel = st->ioregsel;
	s->id = st->id;
	for (int i = 0; i < IOAPIC_NUM_PINS; i++)
		s->redirtbl[i] = st->redirtbl[i].bits;
	s->irr = 0;
	s->irr_delivered = 0;
	irr = st->irr;
	pthread_mutex_unlock(&s->lock);
	/* Re-assert what was pending, so it is delivered under the new table. */
	for (int i = 0; i < IOAPIC_NUM_PINS; i++)
		if (irr & (1u << i))
			kvm_ioapic_set_irq(s, i, 1);
}
