// SPDX-License-Identifier: MIT
/*
 * The in-kernel irqchip of a VM (arch/x86/kvm/irq.c, the irqchip parts of
 * x86.c and virt/kvm/irqchip.c): KVM_CREATE_IRQCHIP makes the two 8259As,
 * the I/O APIC and default GSI routing; each vCPU then gets a local APIC;
 * KVM_CREATE_PIT2 adds the 8254.  Lines raised with KVM_IRQ_LINE follow the
 * routing table to the chips; the I/O APIC, MSIs and IPIs reach the local
 * APICs through kvm_irq_delivery_to_apic().
 * A chip that raises an interrupt for a vCPU makes KVM_REQ_EVENT and kicks
 * it (kvm_vcpu_kick(): out of guest mode at the next instruction boundary,
 * or out of a halt); the run loop injects it (x86.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm/kvm_host.h"
#include "x86/i8254.h"
#include "x86/ioapic.h"
#include "x86/irq.h"
#include "x86/lapic.h"

bool kvm_irqchip_in_kernel(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->arch.vpic, __ATOMIC_ACQUIRE) != NULL;
}

static u64 irq_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * An interrupt became pending for @vcpu: KVM_REQ_EVENT, and a kick that
 * takes a vCPU in guest mode out at its next instruction boundary (an
 * EXTERNAL_INTERRUPT exit) or wakes a halted one (kvm_vcpu_kick()).
 */
static void kvm_vcpu_kick_irq(struct kvm_vcpu *vcpu)
{
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	kvm_vcpu_kick(vcpu);
}

/* ---- local APIC callbacks ---- */

static u64 lapic_now_ns(void *opaque) { return irq_clock_ns(); }
static u64 lapic_read_tsc(void *opaque) { return kvm_read_l1_tsc(opaque); }
static u32 lapic_tsc_khz(void *opaque) { return ((struct kvm_vcpu *)opaque)->arch.tsc_khz; }
static void lapic_kick(void *opaque) { kvm_vcpu_kick_irq(opaque); }
static void lapic_inject_nmi(void *opaque) { kvm_inject_nmi(opaque); }

static void lapic_send_ipi(void *opaque, struct kvm_lapic *src, const struct kvm_lapic_irq *irq)
{
	struct kvm_vcpu *vcpu = opaque;

	kvm_irq_delivery_to_apic(vcpu->kvm, src, irq);
}

static void lapic_eoi_broadcast(void *opaque, int vector)
{
	struct kvm_vcpu *vcpu = opaque;

	if (vcpu->kvm->arch.vioapic)
		kvm_ioapic_update_eoi(vcpu->kvm->arch.vioapic, vector, 1);
}

static const struct kvm_lapic_ops lapic_ops = {
	.now_ns = lapic_now_ns,
	.read_tsc = lapic_read_tsc,
	.tsc_khz = lapic_tsc_khz,
	.kick = lapic_kick,
	.inject_nmi = lapic_inject_nmi,
	.send_ipi = lapic_send_ipi,
	.eoi_broadcast = lapic_eoi_broadcast,
};

int kvm_irqchip_vcpu_create(struct kvm_vcpu *vcpu, bool bsp)
{
	if (!kvm_irqchip_in_kernel(vcpu->kvm))
		return 0;
	vcpu->arch.apic = kvm_create_lapic(vcpu->vcpu_id, &lapic_ops, vcpu);
	if (!vcpu->arch.apic)
		return -ENOMEM;
	/* No timer modes but one-shot until KVM_SET_CPUID2 (kvm_vcpu_after_set_cpuid()). */
	vcpu->arch.apic->lapic_timer.timer_mode_mask = 0;
	kvm_lapic_reset(vcpu->arch.apic, false, bsp);
	return 0;
}

void kvm_irqchip_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_free_lapic(vcpu->arch.apic);
	vcpu->arch.apic = NULL;
}

/*
 * kvm_irq_delivery_to_apic() - send @irq to every local APIC it addresses
 * (one of them for lowest priority: the one with the lowest PPR).
 *
 * Return: the number of APICs that accepted it; for a broadcast or shorthand
 * nobody received, -1.  (KVM's optimized APIC map answers 0 for a unicast
 * destination that matches no APIC, its slow path -1; ours mirrors that.)
 */
int kvm_irq_delivery_to_apic(struct kvm *kvm, struct kvm_lapic *src, const struct kvm_lapic_irq *irq)
{
	int n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);
	bool unicast = irq->shorthand == APIC_DEST_NOSHORT &&
		       !(irq->dest_mode == 0 && irq->dest_id == 0xff);
	int r = unicast ? 0 : -1;
	struct kvm_lapic *lowest = NULL;

	for (int i = 0; i < n; i++) {
		struct kvm_lapic *apic = kvm->vcpus[i]->arch.apic;

		if (!apic || !kvm_apic_hw_enabled(apic))
			continue;
		if (!kvm_apic_match_dest(apic, src, irq->shorthand, irq->dest_id, irq->dest_mode))
			continue;
		if (irq->delivery_mode == APIC_DM_LOWEST) {
			if (!lowest || kvm_lapic_get_reg(apic, APIC_PROCPRI) <
				       kvm_lapic_get_reg(lowest, APIC_PROCPRI))
				lowest = apic;
			continue;
		}
		if (r < 0)
			r = 0;
		r += kvm_apic_set_irq(apic, irq);
	}
	if (lowest)
		r = kvm_apic_set_irq(lowest, irq);
	return r;
}

/* ---- chips ---- */

static void pic_notify(struct kvm *kvm)
{
	int n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);

	/* The PIC's INTR goes to the first APIC that takes ExtINT on LINT0. */
	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		if (vcpu->arch.apic && kvm_apic_accept_pic_intr(vcpu->arch.apic)) {
			kvm_vcpu_kick_irq(vcpu);
			return;
		}
	}
}

static int ioapic_deliver(struct kvm *kvm, const struct kvm_lapic_irq *irq)
{
	int r = kvm_irq_delivery_to_apic(kvm, NULL, irq);

	return r < 0 ? 0 : r;
}

/*
 * kvm_notify_acked_irq(): the guest acknowledged (EOI) @pin of @irqchip;
 * the irqfd resamplers of the GSI routed there hear of it (eventfd.c).
 */
void kvm_notify_acked_irq(struct kvm *kvm, unsigned int irqchip, unsigned int pin)
{
	int gsi = -1;

	if (irqchip > KVM_IRQCHIP_IOAPIC || pin >= KVM_IRQCHIP_NUM_PINS)
		return;
	pthread_mutex_lock(&kvm->arch.irq_lock);
	if (kvm->arch.irq_routing)
		gsi = kvm->arch.irq_routing->chip[irqchip][pin];
	pthread_mutex_unlock(&kvm->arch.irq_lock);
	if (gsi >= 0)
		kvm_irqfd_resample_ack(kvm, gsi);
}

static void ioapic_ack_notify(struct kvm *kvm, int pin)
{
	kvm_notify_acked_irq(kvm, KVM_IRQCHIP_IOAPIC, pin);
}

static u64 pit_now_ns(void *opaque) { return irq_clock_ns(); }

static void pit_irq0(void *opaque)
{
	struct kvm *kvm = opaque;

	kvm_set_irq(kvm, KVM_PIT_IRQ_SOURCE_ID, 0, 1);
	kvm_set_irq(kvm, KVM_PIT_IRQ_SOURCE_ID, 0, 0);
}

static const struct kvm_pit_ops pit_ops = { pit_now_ns, pit_irq0 };

/* An MSI message (SDM 10.11.1, 10.11.2) as an APIC interrupt. */
static void kvm_set_msi_irq(const struct kvm_kernel_irq_routing_entry *e, struct kvm_lapic_irq *irq)
{
	u32 lo = e->msi.address_lo, data = e->msi.data;

	memset(irq, 0, sizeof(*irq));
	irq->dest_id = (lo >> 12) & 0xff;
	irq->vector = data & 0xff;
	irq->dest_mode = !!(lo & (1u << 2));
	irq->trig_mode = !!(data & (1u << 15));
	irq->delivery_mode = data & 0x700;
	irq->level = !!(data & (1u << 14));
	irq->shorthand = APIC_DEST_NOSHORT;
	/* The redirection hint turns fixed delivery into lowest priority. */
	if ((lo & (1u << 3)) && irq->delivery_mode == APIC_DM_FIXED)
		irq->delivery_mode = APIC_DM_LOWEST;
}

static int kvm_set_msi(struct kvm *kvm, const struct kvm_kernel_irq_routing_entry *e, int level)
{
	struct kvm_lapic_irq irq;

	if (!level)
		return -1;
	kvm_set_msi_irq(e, &irq);
	return kvm_irq_delivery_to_apic(kvm, NULL, &irq);
}

int kvm_set_irq(struct kvm *kvm, int source_id, u32 gsi, int level)
{
	struct kvm_kernel_irq_routing_entry set[4];
	struct kvm_irq_routing_table *rt;
	int n = 0, ret = -1;

	pthread_mutex_lock(&kvm->arch.irq_lock);
	rt = kvm->arch.irq_routing;
	for (int i = 0; rt && i < rt->nr && n < 4; i++)
		if (rt->entries[i].gsi == gsi)
			set[n++] = rt->entries[i];
	pthread_mutex_unlock(&kvm->arch.irq_lock);

	while (n--) {
		const struct kvm_kernel_irq_routing_entry *e = &set[n];
		int r, line;

		switch (e->type) {
		case KVM_IRQ_ROUTING_IRQCHIP:
			if (e->irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
				line = kvm_irq_line_state(&kvm->arch.irq_states[e->irqchip.pin],
							  source_id, level);
				r = kvm_ioapic_set_irq(kvm->arch.vioapic, e->irqchip.pin, line);
			} else {
				line = kvm_irq_line_state(&kvm->arch.pic_irq_states[e->irqchip.pin],
							  source_id, level);
				r = kvm_pic_set_irq(kvm->arch.vpic, e->irqchip.pin, line);
			}
			break;
		case KVM_IRQ_ROUTING_MSI:
			r = kvm_set_msi(kvm, e, level);
			break;
		default:
			r = -1;
		}
		if (r < 0)
			continue;
		ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

static int kvm_create_irqchip(struct kvm *kvm)
{
	struct kvm_pic *pic;
	struct kvm_ioapic *ioapic;
	struct kvm_irq_routing_table *rt;
	int r;

	pthread_mutex_lock(&kvm->lock);
	r = -EEXIST;
	if (kvm_irqchip_in_kernel(kvm))
		goto out;
	r = -EINVAL;
	if (kvm->created_vcpus)
		goto out;
	r = -ENOMEM;
	pic = kvm_create_pic(kvm);
	ioapic = kvm_ioapic_init(kvm);
	rt = kvm_irq_routing_default();
	if (!pic || !ioapic || !rt) {
		kvm_destroy_pic(pic);
		kvm_ioapic_destroy(ioapic);
		kvm_irq_routing_free(rt);
		goto out;
	}
	pic->notify = pic_notify;
	pic->ack_notify = kvm_notify_acked_irq;
	ioapic->deliver = ioapic_deliver;
	ioapic->ack_notify = ioapic_ack_notify;
	pthread_mutex_lock(&kvm->arch.irq_lock);
	kvm->arch.irq_routing = rt;
	pthread_mutex_unlock(&kvm->arch.irq_lock);
	kvm->arch.vioapic = ioapic;
	__atomic_store_n(&kvm->arch.vpic, pic, __ATOMIC_RELEASE);
	r = 0;
out:
	pthread_mutex_unlock(&kvm->lock);
	return r;
}

void kvm_irqchip_destroy(struct kvm *kvm)
{
	kvm_free_pit(kvm->arch.vpit);
	kvm_ioapic_destroy(kvm->arch.vioapic);
	kvm_destroy_pic(kvm->arch.vpic);
	kvm_irq_routing_free(kvm->arch.irq_routing);
	kvm->arch.vpit = NULL;
	kvm->arch.vioapic = NULL;
	kvm->arch.vpic = NULL;
	kvm->arch.irq_routing = NULL;
}

static int kvm_set_irq_routing(struct kvm *kvm, const struct kvm_irq_routing_entry *ue,
			       u32 nr, u32 flags)
{
	struct kvm_irq_routing_table *rt, *old;
	int err;

	rt = kvm_irq_routing_build(ue, nr, flags, &err);
	if (!rt)
		return err;
	pthread_mutex_lock(&kvm->arch.irq_lock);
	old = kvm->arch.irq_routing;
	kvm->arch.irq_routing = rt;
	pthread_mutex_unlock(&kvm->arch.irq_lock);
	kvm_irq_routing_free(old);
	return 0;
}

/* KVM_CREATE_PIT(2): flags (KVM_PIT_SPEAKER_DUMMY) only choose the speaker port model. */
static int kvm_vm_ioctl_create_pit(struct kvm *kvm, u32 flags)
{
	int r;

	pthread_mutex_lock(&kvm->lock);
	r = -EEXIST;
	if (kvm->arch.vpit)
		goto out;
	r = -ENOENT;
	if (!kvm_irqchip_in_kernel(kvm))
		goto out;
	r = -ENOMEM;
	kvm->arch.vpit = kvm_create_pit(&pit_ops, kvm);
	if (kvm->arch.vpit)
		r = 0;
	(void)flags;
out:
	pthread_mutex_unlock(&kvm->lock);
	return r;
}

long kvm_arch_irqchip_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	long r;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return kvm_create_irqchip(kvm);
	case KVM_IRQ_LINE_STATUS:
	case KVM_IRQ_LINE: {
		struct kvm_irq_level ev;

		r = copy_from_user(&ev, argp, sizeof(ev));
		if (r)
			return r;
		if (!kvm_irqchip_in_kernel(kvm))
			return -ENXIO;
		ev.status = kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, ev.irq, ev.level);
		if (ioctl == KVM_IRQ_LINE_STATUS)
			return copy_to_user(argp, &ev, sizeof(ev));
		return 0;
	}
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP: {
		struct kvm_irqchip *chip = malloc(sizeof(*chip));

		if (!chip)
			return -ENOMEM;
		r = copy_from_user(chip, argp, sizeof(*chip));
		if (r)
			goto irqchip_out;
		r = -ENXIO;
		if (!kvm_irqchip_in_kernel(kvm))
			goto irqchip_out;
		r = 0;
		switch (chip->chip_id) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			if (ioctl == KVM_GET_IRQCHIP)
				kvm_pic_get_state(kvm->arch.vpic, chip->chip_id, &chip->chip.pic);
			else
				kvm_pic_set_state(kvm->arch.vpic, chip->chip_id, &chip->chip.pic);
			break;
		case KVM_IRQCHIP_IOAPIC:
			if (ioctl == KVM_GET_IRQCHIP)
				kvm_ioapic_get_state(kvm->arch.vioapic, &chip->chip.ioapic);
			else
				kvm_ioapic_set_state(kvm->arch.vioapic, &chip->chip.ioapic);
			break;
		default:
			r = -EINVAL;
		}
		if (!r && ioctl == KVM_GET_IRQCHIP)
			r = copy_to_user(argp, chip, sizeof(*chip));
irqchip_out:
		free(chip);
		return r;
	}
	case KVM_CREATE_PIT:
		return kvm_vm_ioctl_create_pit(kvm, KVM_PIT_SPEAKER_DUMMY);
	case KVM_CREATE_PIT2: {
		struct kvm_pit_config cfg;

		r = copy_from_user(&cfg, argp, sizeof(cfg));
		if (r)
			return r;
		return kvm_vm_ioctl_create_pit(kvm, cfg.flags);
	}
	case KVM_GET_PIT2: {
		struct kvm_pit_state2 ps2;

		if (!kvm->arch.vpit)
			return -ENXIO;
		kvm_pit_get_state2(kvm->arch.vpit, &ps2);
		return copy_to_user(argp, &ps2, sizeof(ps2));
	}
	case KVM_SET_PIT2: {
		struct kvm_pit_state2 ps2;

		r = copy_from_user(&ps2, argp, sizeof(ps2));
		if (r)
			return r;
		if (!kvm->arch.vpit)
			return -ENXIO;
		kvm_pit_set_state2(kvm->arch.vpit, &ps2);
		return 0;
	}
	case KVM_GET_PIT:
	case KVM_SET_PIT: {
		/* The legacy state is the channels of KVM_GET/SET_PIT2's. */
		struct kvm_pit_state ps;
		struct kvm_pit_state2 ps2;

		r = copy_from_user(&ps, argp, sizeof(ps));
		if (r)
			return r;
		if (!kvm->arch.vpit)
			return -ENXIO;
		kvm_pit_get_state2(kvm->arch.vpit, &ps2);
		if (ioctl == KVM_GET_PIT) {
			memcpy(ps.channels, ps2.channels, sizeof(ps.channels));
			return copy_to_user(argp, &ps, sizeof(ps));
		}
		memcpy(ps2.channels, ps.channels, sizeof(ps.channels));
		kvm_pit_set_state2(kvm->arch.vpit, &ps2);
		return 0;
	}
	case KVM_SET_GSI_ROUTING: {
		struct kvm_irq_routing routing;
		struct kvm_irq_routing_entry *entries = NULL;

		r = copy_from_user(&routing, argp, sizeof(routing));
		if (r)
			return r;
		if (!kvm_irqchip_in_kernel(kvm) || routing.nr > KVM_MAX_IRQ_ROUTES || routing.flags)
			return -EINVAL;
		if (routing.nr) {
			entries = malloc(routing.nr * sizeof(*entries));
			if (!entries)
				return -ENOMEM;
			r = copy_from_user(entries, (char *)argp + sizeof(routing),
					   routing.nr * sizeof(*entries));
			if (r) {
				free(entries);
				return r;
			}
		}
		r = kvm_set_irq_routing(kvm, entries, routing.nr, routing.flags);
		free(entries);
		return r;
	}
	case KVM_SIGNAL_MSI: {
		struct kvm_msi msi;
		struct kvm_kernel_irq_routing_entry e;

		r = copy_from_user(&msi, argp, sizeof(msi));
		if (r)
			return r;
		if (!kvm_irqchip_in_kernel(kvm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
			return -EINVAL;
		memset(&e, 0, sizeof(e));
		e.type = KVM_IRQ_ROUTING_MSI;
		e.msi.address_lo = msi.address_lo;
		e.msi.address_hi = msi.address_hi;
		e.msi.data = msi.data;
		return kvm_set_msi(kvm, &e, 1);
	}
	}
	return -ENOTTY;
}

long kvm_arch_irqchip_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	struct kvm_lapic_state *s;
	long r;

	if (ioctl != KVM_GET_LAPIC && ioctl != KVM_SET_LAPIC)
		return -ENOTTY;
	if (!vcpu->arch.apic)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (ioctl == KVM_GET_LAPIC) {
		kvm_apic_get_state(vcpu->arch.apic, s);
		r = copy_to_user(argp, s, sizeof(*s));
	} else {
		r = copy_from_user(s, argp, sizeof(*s));
		if (!r)
			r = kvm_apic_set_state(vcpu->arch.apic, s);
	}
	free(s);
	return r;
}
