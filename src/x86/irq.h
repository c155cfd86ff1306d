/* SPDX-License-Identifier: MIT */
/*
 * The in-kernel irqchip's shared declarations (arch/x86/kvm/irq.h):
 * the two 8259As, and the glue that routes KVM_IRQ_LINE to them.
 */
#ifndef USERKVM_X86_IRQ_H
#define USERKVM_X86_IRQ_H

#include <pthread.h>
#include <userkvm/kvm_compat.h>
#include "util/types.h"

struct kvm;

#define PIC_NUM_PINS 16

/* One 8259A.  Field names and meanings are those of struct kvm_pic_state. */
struct kvm_kpic_state {
	u8 last_irr;	/* input levels last seen: edge detection */
	u8 irr;		/* interrupt request register */
	u8 imr;		/* interrupt mask register */
	u8 isr;		/* in-service register */
	u8 priority_add;	/* rotation: the lowest-priority IRQ is priority_add - 1 */
	u8 irq_base;	/* ICW2: vector of IRQ 0 */
	u8 read_reg_select;	/* OCW3 RR/RIS: 0 IRR, 1 ISR on reads of port 0 */
	u8 poll;	/* OCW3 P: the next read is a poll */
	u8 special_mask;	/* OCW3 SMM */
	u8 init_state;	/* 0 ready, 1..3: expecting ICW2..ICW4 */
	u8 auto_eoi;	/* ICW4 AEOI */
	u8 rotate_on_auto_eoi;
	u8 special_fully_nested_mode;	/* ICW4 SFNM */
	u8 init4;	/* ICW1 IC4: an ICW4 follows */
	u8 elcr;	/* edge/level control (ports 0x4d0/0x4d1) */
	u8 elcr_mask;	/* which ELCR bits exist */
	struct kvm_pic *pics_state;
};

struct kvm_pic {
	pthread_mutex_t lock;
	struct kvm_kpic_state pics[2];	/* master (0x20), slave (0xa0) */
	int output;			/* INTR to the boot CPU's LINT0 */
	bool wakeup_needed;
	struct kvm *kvm;
	void (*notify)(struct kvm *kvm);	/* output went up: kick a vCPU */
	/* EOI of @pin (0-7) of @chip (KVM_IRQCHIP_PIC_*), called unlocked; may be NULL */
	void (*ack_notify)(struct kvm *kvm, unsigned int chip, unsigned int pin);
};

struct kvm_pic *kvm_create_pic(struct kvm *kvm);
void kvm_destroy_pic(struct kvm_pic *pic);
/* Return: -1 masked, 0 coalesced (already pending), 1 delivered to IRR. */
int kvm_pic_set_irq(struct kvm_pic *pic, int irq, int level);
/* The INTA cycle: the vector of the highest-priority request (or spurious 7). */
int kvm_pic_read_irq(struct kvm_pic *pic);
bool kvm_pic_output(struct kvm_pic *pic);
/* Port I/O (0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1).  Return: 0, or -EOPNOTSUPP for other ports. */
int kvm_pic_pio(struct kvm_pic *pic, u16 port, int len, bool write, u8 *data);
void kvm_pic_get_state(struct kvm_pic *pic, int chip, struct kvm_pic_state *st);
void kvm_pic_set_state(struct kvm_pic *pic, int chip, const struct kvm_pic_state *st);

/*
 * GSI routing (virt/kvm/irqchip.c, arch/x86/kvm/irq_comm.c): each GSI maps
 * to pins of the irqchips and/or MSI messages.  The table is immutable
 * once published; KVM_SET_GSI_ROUTING builds a new one.
 */
#define KVM_MAX_IRQ_ROUTES		4096
#define KVM_USERSPACE_IRQ_SOURCE_ID	0
#define KVM_PIT_IRQ_SOURCE_ID		1
#define KVM_IRQCHIP_NUM_PINS		KVM_IOAPIC_NUM_PINS

struct kvm_kernel_irq_routing_entry {
	u32 gsi;
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	union {
		struct { u32 irqchip, pin; } irqchip;
		struct { u32 address_lo, address_hi, data; } msi;
	};
};

struct kvm_irq_routing_table {
	int nr_rt_entries;	/* GSIs covered: max gsi + 1 */
	int nr;
	struct kvm_kernel_irq_routing_entry *entries;	/* sorted by gsi */
	/* chip[irqchip][pin] = gsi, or -1 */
	int chip[3][KVM_IRQCHIP_NUM_PINS];
};

/* Return: a new table, or NULL with *err = -EINVAL/-ENOMEM (KVM's checks). */
struct kvm_irq_routing_table *kvm_irq_routing_build(const struct kvm_irq_routing_entry *ue,
						    u32 nr, u32 flags, int *err);
struct kvm_irq_routing_table *kvm_irq_routing_default(void);
void kvm_irq_routing_free(struct kvm_irq_routing_table *rt);
/* The line level of @pin as seen by all sources (KVM's __kvm_irq_line_state). */
int kvm_irq_line_state(unsigned long *line, int source_id, int level);


/* ---- the in-kernel irqchip of a VM (irq.c) ---- */
struct kvm_vcpu;
struct kvm_lapic;
struct kvm_lapic_irq;

bool kvm_irqchip_in_kernel(struct kvm *kvm);
/* KVM_CREATE_IRQCHIP, KVM_IRQ_LINE*, KVM_GET/SET_IRQCHIP, KVM_CREATE_PIT*,
 * KVM_GET/SET_PIT*, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI.  Return: the ioctl's
 * result, or -ENOTTY if @ioctl is not one of them. */
long kvm_arch_irqchip_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
/* KVM_GET_LAPIC / KVM_SET_LAPIC; -ENOTTY for other requests. */
long kvm_arch_irqchip_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg);
int kvm_irqchip_vcpu_create(struct kvm_vcpu *vcpu, bool bsp);
void kvm_irqchip_vcpu_destroy(struct kvm_vcpu *vcpu);
void kvm_irqchip_destroy(struct kvm *kvm);
/* Route @level on @gsi from @source_id.  Return: KVM_IRQ_LINE_STATUS's value. */
int kvm_set_irq(struct kvm *kvm, int source_id, u32 gsi, int level);
int kvm_irq_delivery_to_apic(struct kvm *kvm, struct kvm_lapic *src, const struct kvm_lapic_irq *irq);
void kvm_notify_acked_irq(struct kvm *kvm, unsigned int irqchip, unsigned int pin);
/* The source of the lines irqfd resamplers raise (KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID). */
#define KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID	2
/* eventfd.c: an EOI of @gsi: resampling irqfds lower it and signal their resamplefd. */
void kvm_irqfd_resample_ack(struct kvm *kvm, u32 gsi);

#endif
