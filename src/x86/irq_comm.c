// SPDX-License-Identifier: MIT
/*
 * GSI routing tables (virt/kvm/irqchip.c and arch/x86/kvm/irq_comm.c):
 * validation of KVM_SET_GSI_ROUTING, the default PC routing, line levels
 * shared by several interrupt sources.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/irq.h"

static int route_cmp(const void *a, const void *b)
{
	const struct kvm_kernel_irq_routing_entry *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

struct kvm_irq_routing_table *kvm_irq_routing_build(const struct kvm_irq_routing_entry *ue,
						    u32 nr, u32 flags, int *err)
{
	struct kvm_irq_routing_table *rt;

	*err = -EINVAL;
	if (nr > KVM_MAX_IRQ_ROUTES || flags)
		return NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt || !(rt->entries = calloc(nr ? nr : 1, sizeof(*rt->entries)))) {
		free(rt);
		*err = -ENOMEM;
		return NULL;
	}
	memset(rt->chip, 0xff, sizeof(rt->chip));
	for (u32 i = 0; i < nr; i++) {
		struct kvm_kernel_irq_routing_entry *e = &rt->entries[i];

		if (ue[i].gsi >= KVM_MAX_IRQ_ROUTES || ue[i].flags)
			goto bad;
		e->gsi = ue[i].gsi;
		e->type = ue[i].type;
		/*
		 * A GSI may go to several irqchips, once each; an MSI GSI has
		 * exactly one entry (KVM's setup_routing_entry()).
		 */
		for (u32 j = 0; j < i; j++)
			if (rt->entries[j].gsi == e->gsi &&
			    (rt->entries[j].type != KVM_IRQ_ROUTING_IRQCHIP ||
			     e->type != KVM_IRQ_ROUTING_IRQCHIP ||
			     rt->entries[j].irqchip.irqchip == ue[i].u.irqchip.irqchip))
				goto bad;
		switch (ue[i].type) {
		case KVM_IRQ_ROUTING_IRQCHIP: {
			u32 chip = ue[i].u.irqchip.irqchip, pin = ue[i].u.irqchip.pin;

			/* PIC pins are 0-7 per chip; the slave's are GSI-numbered 8-15. */
			if (chip == KVM_IRQCHIP_PIC_MASTER || chip == KVM_IRQCHIP_PIC_SLAVE) {
				if (pin >= 8)
					goto bad;
				if (chip == KVM_IRQCHIP_PIC_SLAVE)
					pin += 8;
			} else if (chip == KVM_IRQCHIP_IOAPIC) {
				if (pin >= KVM_IOAPIC_NUM_PINS)
					goto bad;
			} else {
				goto bad;
			}
			e->irqchip.irqchip = ue[i].u.irqchip.irqchip;
			e->irqchip.pin = pin;
			rt->chip[ue[i].u.irqchip.irqchip][pin] = e->gsi;
			break;
		}
		case KVM_IRQ_ROUTING_MSI:
			e->msi.address_lo = ue[i].u.msi.address_lo;
			e->msi.address_hi = ue[i].u.msi.address_hi;
			e->msi.data = ue[i].u.msi.data;
			break;
		default:
			goto bad;
		}
		if ((int)e->gsi + 1 > rt->nr_rt_entries)
			rt->nr_rt_entries = e->gsi + 1;
	}
	rt->nr = nr;
	qsort(rt->entries, nr, sizeof(*rt->entries), route_cmp);
	*err = 0;
	return rt;
bad:
	kvm_irq_routing_free(rt);
	return NULL;
}

/* GSIs 0-15 go to the PICs and the I/O APIC's pin of the same number, 16-23 to the I/O APIC. */
struct kvm_irq_routing_table *kvm_irq_routing_default(void)
{
	struct kvm_irq_routing_entry ue[16 * 2 + 8];
	int n = 0, err;

	memset(ue, 0, sizeof(ue));
	for (u32 gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		if (gsi < 16) {
			ue[n].gsi = gsi;
			ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			ue[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			ue[n].u.irqchip.pin = gsi & 7;
			n++;
		}
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		ue[n].u.irqchip.pin = gsi;
		n++;
	}
	return kvm_irq_routing_build(ue, n, 0, &err);
}

void kvm_irq_routing_free(struct kvm_irq_routing_table *rt)
{
	if (!rt)
		return;
	free(rt->entries);
	free(rt);
}

int kvm_irq_line_state(unsigned long *line, int source_id, int level)
{
	if (level)
		__atomic_fetch_or(line, 1ul << source_id, __ATOMIC_ACQ_REL);
	else
		__atomic_fetch_and(line, ~(1ul << source_id), __ATOMIC_ACQ_REL);
	return !!__atomic_load_n(line, __ATOMIC_ACQUIRE);
}
