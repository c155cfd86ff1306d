/* SPDX-License-Identifier: MIT */
/*
 * The I/O APIC (arch/x86/kvm/ioapic.h): 24 pins, a redirection table, MMIO
 * at 0xfec00000 (IOREGSEL at +0x00, IOWIN at +0x10), as the 82093AA.
 */
#ifndef USERKVM_X86_IOAPIC_H
#define USERKVM_X86_IOAPIC_H

#include <pthread.h>
#include <userkvm/kvm_compat.h>
#include "util/types.h"

struct kvm;

#define IOAPIC_NUM_PINS		KVM_IOAPIC_NUM_PINS	/* 24 */
#define IOAPIC_DEFAULT_BASE_ADDRESS 0xfec00000ull
#define IOAPIC_MEM_LENGTH	0x100
#define IOAPIC_VERSION_ID	0x11
#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10
#define IOAPIC_REG_APIC_ID	0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB_ID	0x02

/* Redirection entry fields (82093AA 3.2.4) */
#define IOAPIC_RTE_VECTOR(e)	((u8)(e))
#define IOAPIC_RTE_DELMODE(e)	((unsigned)((e) >> 8) & 7)
#define IOAPIC_RTE_DESTMODE	(1ull << 11)
#define IOAPIC_RTE_DELIVS	(1ull << 12)	/* read-only */
#define IOAPIC_RTE_POLARITY	(1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR	(1ull << 14)	/* read-only */
#define IOAPIC_RTE_LEVEL	(1ull << 15)
#define IOAPIC_RTE_MASK		(1ull << 16)
#define IOAPIC_RTE_DEST(e)	((u8)((e) >> 56))

/* An interrupt message to the local APICs (KVM's struct kvm_lapic_irq). */
struct kvm_lapic_irq {
	u32 vector;
	u16 delivery_mode;	/* APIC_DM_*: 0x000 fixed, 0x100 lowest, 0x400 NMI, ... */
	u16 dest_mode;		/* 0 physical, 1 logical */
	bool level;
	u16 trig_mode;		/* 0 edge, 1 level */
	u32 shorthand;
	u32 dest_id;
};

struct kvm_ioapic {
	pthread_mutex_t lock;
	u64 base_address;
	u32 ioregsel;
	u32 id;
	u32 irr;		/* pin levels (level) / latched edges (edge) */
	u32 irr_delivered;
	u64 redirtbl[IOAPIC_NUM_PINS];
	struct kvm *kvm;
	/*
	 * Message delivery to the local APICs.  Return: how many accepted it
	 * (0: nobody; a level-triggered pin then stays without remote IRR).
	 */
	int (*deliver)(struct kvm *kvm, const struct kvm_lapic_irq *irq);
	/* The EOI of level-triggered pin @pin (KVM's ack notifiers); may be NULL. */
	void (*ack_notify)(struct kvm *kvm, int pin);
};

struct kvm_ioapic *kvm_ioapic_init(struct kvm *kvm);
void kvm_ioapic_destroy(struct kvm_ioapic *ioapic);
void kvm_ioapic_reset(struct kvm_ioapic *ioapic);
/* Return: -1 masked/not delivered, 0 coalesced, >0 delivered. */
int kvm_ioapic_set_irq(struct kvm_ioapic *ioapic, int pin, int level);
/* An EOI of @vector (level-triggered) from a local APIC: remote IRR, redelivery. */
void kvm_ioapic_update_eoi(struct kvm_ioapic *ioapic, int vector, int trigger_mode);
/* Return: 0, or -EOPNOTSUPP outside the I/O APIC's window. */
int kvm_ioapic_mmio(struct kvm_ioapic *ioapic, u64 gpa, int len, bool write, void *data);
void kvm_ioapic_get_state(struct kvm_ioapic *ioapic, struct kvm_ioapic_state *st);
void kvm_ioapic_set_state(struct kvm_ioapic *ioapic, const struct kvm_ioapic_state *st);

#endif
