/* SPDX-License-Identifier: MIT */
/*
 * The local APIC (arch/x86/kvm/lapic.h): xAPIC registers in a 4 KiB page
 * (MMIO at the APIC base), x2APIC through MSRs 0x800-0x8ff, the timer in
 * one-shot, periodic and TSC-deadline modes.  SDM Vol. 3A chapter 11.
 *
 * The APIC knows nothing of vCPU threads: time, the guest TSC, kicks and
 * message delivery to other APICs come through struct kvm_lapic_ops, so the
 * register model is testable on its own.
 */
#ifndef USERKVM_X86_LAPIC_H
#define USERKVM_X86_LAPIC_H

#include <pthread.h>
#include "util/types.h"
#include "x86/ioapic.h"

#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_ARBPRI	0x90
#define APIC_PROCPRI	0xa0
#define APIC_EOI	0xb0
#define APIC_RRR	0xc0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SPIV	0xf0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_LVTCMCI	0x2f0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTTHMR	0x330
#define APIC_LVTPC	0x340
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0

#define APIC_VERSION		0x14
#define APIC_LVT_NUM		6	/* timer, thermal, perf, LINT0, LINT1, error */
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_SEND_PENDING	(1u << 12)
#define APIC_VECTOR_MASK	0xffu
#define APIC_MODE_MASK		0x700u
#define APIC_INPUT_POLARITY	(1u << 13)
#define APIC_LVT_REMOTE_IRR	(1u << 14)
#define APIC_LVT_LEVEL_TRIGGER	(1u << 15)
#define APIC_LVT_TIMER_ONESHOT	(0u << 17)
#define APIC_LVT_TIMER_PERIODIC	(1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)
#define APIC_LVT_TIMER_MASK	(3u << 17)
#define APIC_SPIV_APIC_ENABLED	(1u << 8)
#define APIC_SPIV_DIRECTED_EOI	(1u << 12)
#define APIC_DFR_FLAT		0xffffffffu
#define APIC_DM_FIXED		0x000
#define APIC_DM_LOWEST		0x100
#define APIC_DM_SMI		0x200
#define APIC_DM_REMRD		0x300
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_DM_EXTINT		0x700
#define APIC_DEST_LOGICAL	0x800
#define APIC_INT_LEVELTRIG	0x8000
#define APIC_INT_ASSERT		0x4000
#define APIC_SHORT_MASK		0xc0000
#define APIC_DEST_NOSHORT	0x0
#define APIC_DEST_SELF		0x40000
#define APIC_DEST_ALLINC	0x80000
#define APIC_DEST_ALLBUT	0xc0000

#include "x86/msr-index.h"
#define MSR_IA32_APICBASE_EXTD		(1ull << 10)
#ifndef MSR_IA32_APICBASE_BASE
#define MSR_IA32_APICBASE_BASE		(0xfffffull << 12)
#endif
#define APIC_DEFAULT_PHYS_BASE		0xfee00000ull
#define APIC_BASE_MSR			0x800
#define X2APIC_BROADCAST		0xffffffffu
/* The APIC bus runs at 1 GHz, as in KVM (APIC_BUS_CYCLE_NS). */
#define APIC_BUS_CYCLE_NS		1

struct kvm_lapic;

struct kvm_lapic_ops {
	u64 (*now_ns)(void *opaque);		/* a monotonic clock */
	u64 (*read_tsc)(void *opaque);		/* the guest's TSC now */
	u32 (*tsc_khz)(void *opaque);
	void (*kick)(void *opaque);		/* an interrupt became pending */
	/* An IPI from the ICR: route it to the destination APICs. */
	void (*send_ipi)(void *opaque, struct kvm_lapic *src, const struct kvm_lapic_irq *irq);
	/* EOI of a level-triggered vector: the I/O APIC's remote IRR. */
	void (*eoi_broadcast)(void *opaque, int vector);
	/* An NMI (IPI or LINT) for this APIC's vCPU; NULL: apic->nmi_pending is set. */
	void (*inject_nmi)(void *opaque);
};

struct kvm_timer {
	u32 timer_mode;		/* APIC_LVT_TIMER_* of the last LVTT write */
	u32 timer_mode_mask;
	u64 tscdeadline;	/* IA32_TSC_DEADLINE */
	u64 period_ns;		/* one-shot/periodic: TMICT * divide * bus cycle */
	u64 target_ns;		/* next expiry on ops->now_ns(); 0 = not armed */
	u64 start_ns;		/* when TMICT was written (for TMCCT) */
	int pending;		/* expirations not yet injected */
};

struct kvm_lapic {
	u8 regs[4096] __attribute__((aligned(4096)));
	pthread_mutex_t lock;
	u64 apic_base;		/* IA32_APIC_BASE */
	u64 base_address;
	u32 vcpu_id;
	bool sw_enabled;
	u32 divide_count;
	struct kvm_timer lapic_timer;
	/* INIT, SIPI (KVM_APIC_INIT/KVM_APIC_SIPI bits) and the SIPI vector */
	unsigned long pending_events;
	u32 sipi_vector;
	bool nmi_pending;	/* an NMI when ops->inject_nmi is NULL (unit tests) */
	const struct kvm_lapic_ops *ops;
	void *opaque;
};

#define KVM_APIC_INIT	0
#define KVM_APIC_SIPI	1

struct kvm_lapic *kvm_create_lapic(u32 vcpu_id, const struct kvm_lapic_ops *ops, void *opaque);
void kvm_free_lapic(struct kvm_lapic *apic);
/* @bsp: IA32_APIC_BASE.BSP and LINT0 in ExtINT mode (KVM's LINT0_REENABLED quirk). */
void kvm_lapic_reset(struct kvm_lapic *apic, bool init_event, bool bsp);

u32 kvm_lapic_get_reg(struct kvm_lapic *apic, int reg);
/* Return: 0, or 1 for an access the guest may not make (x2APIC: #GP). */
int kvm_lapic_reg_read(struct kvm_lapic *apic, u32 offset, int len, void *data);
int kvm_lapic_reg_write(struct kvm_lapic *apic, u32 reg, u32 val);
/* xAPIC MMIO.  Return: 0, or -EOPNOTSUPP when @gpa is not this APIC's page. */
int kvm_lapic_mmio(struct kvm_lapic *apic, u64 gpa, int len, bool write, void *data);
int kvm_x2apic_msr_read(struct kvm_lapic *apic, u32 msr, u64 *data);
int kvm_x2apic_msr_write(struct kvm_lapic *apic, u32 msr, u64 data);
/* IA32_APIC_BASE write.  Return: 0, or 1 for an invalid mode transition (#GP). */
int kvm_lapic_set_base(struct kvm_lapic *apic, u64 value, bool host_initiated);
bool apic_x2apic_mode(const struct kvm_lapic *apic);
bool kvm_apic_hw_enabled(const struct kvm_lapic *apic);

/* Accept a message.  Return: 1 if accepted (fixed: set in the IRR). */
int kvm_apic_set_irq(struct kvm_lapic *apic, const struct kvm_lapic_irq *irq);
bool kvm_apic_match_dest(struct kvm_lapic *target, struct kvm_lapic *source,
			 int shorthand, u32 dest, int dest_mode);
/* The vector the APIC would deliver now, or -1. */
int kvm_apic_has_interrupt(struct kvm_lapic *apic);
/* The CPU took @vector: IRR to ISR. */
void kvm_apic_ack_interrupt(struct kvm_lapic *apic, int vector);
/* LINT0 in ExtINT mode, unmasked: the PIC may interrupt through this APIC. */
bool kvm_apic_accept_pic_intr(struct kvm_lapic *apic);

/* Timer: expire what is due at @now (inject, re-arm periodic). */
void kvm_lapic_timer_check(struct kvm_lapic *apic);
/* Next expiry on ops->now_ns(), 0 if none: how long a halted vCPU may sleep. */
u64 kvm_lapic_next_deadline(struct kvm_lapic *apic);
u64 kvm_get_lapic_tscdeadline_msr(struct kvm_lapic *apic);
void kvm_set_lapic_tscdeadline_msr(struct kvm_lapic *apic, u64 data);

/* KVM_GET_LAPIC / KVM_SET_LAPIC: the first 1 KiB of the page. */
void kvm_apic_get_state(struct kvm_lapic *apic, struct kvm_lapic_state *s);
int kvm_apic_set_state(struct kvm_lapic *apic, const struct kvm_lapic_state *s);

#endif
