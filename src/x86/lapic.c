// SPDX-License-Identifier: MIT
/*
 * The local APIC (arch/x86/kvm/lapic.c), after SDM Vol. 3A chapter 11:
 * the register page, priorities (TPR/PPR), IRR/ISR/TMR, EOI, the ICR, the
 * LVTs and the timer.  Behaviour visible through KVM_GET_LAPIC follows
 * KVM (version 0x14 with six LVTs, LINT0 in ExtINT mode on the BSP).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86/lapic.h"

#define LVT_MASK	(APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK)
#define LINT_MASK	(LVT_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
			 APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)

static u32 *reg_ptr(struct kvm_lapic *apic, int reg)
{
	return (u32 *)(apic->regs + reg);
}

u32 kvm_lapic_get_reg(struct kvm_lapic *apic, int reg)
{
	return __atomic_load_n(reg_ptr(apic, reg), __ATOMIC_ACQUIRE);
}

static void kvm_lapic_set_reg(struct kvm_lapic *apic, int reg, u32 val)
{
	__atomic_store_n(reg_ptr(apic, reg), val, __ATOMIC_RELEASE);
}

/* The 256-bit IRR/ISR/TMR are eight 32-bit registers 16 bytes apart. */
#define VEC_POS(v) (((v) & 31))
#define REG_POS(v) (((v) >> 5) << 4)

static bool apic_test_vector(int vec, u8 *bitmap)
{
	return __atomic_load_n((u32 *)(bitmap + REG_POS(vec)), __ATOMIC_ACQUIRE) & (1u << VEC_POS(vec));
}

static void apic_set_vector(int vec, u8 *bitmap)
{
	__atomic_fetch_or((u32 *)(bitmap + REG_POS(vec)), 1u << VEC_POS(vec), __ATOMIC_ACQ_REL);
}

static void apic_clear_vector(int vec, u8 *bitmap)
{
	__atomic_fetch_and((u32 *)(bitmap + REG_POS(vec)), ~(1u << VEC_POS(vec)), __ATOMIC_ACQ_REL);
}

/* Highest set vector of a 256-bit register, or -1. */
static int apic_find_highest_vector(u8 *bitmap)
{
	for (int i = 7; i >= 0; i--) {
		u32 w = __atomic_load_n((u32 *)(bitmap + i * 16), __ATOMIC_ACQUIRE);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

bool kvm_apic_hw_enabled(const struct kvm_lapic *apic)
{
	return apic->apic_base & MSR_IA32_APICBASE_ENABLE;
}

bool apic_x2apic_mode(const struct kvm_lapic *apic)
{
	return apic->apic_base & MSR_IA32_APICBASE_EXTD;
}

static bool apic_enabled(const struct kvm_lapic *apic)
{
	return kvm_apic_hw_enabled(apic) && apic->sw_enabled;
}

static void apic_update_ppr(struct kvm_lapic *apic)
{
	u32 tpr = kvm_lapic_get_reg(apic, APIC_TASKPRI);
	int isrv = apic_find_highest_vector(apic->regs + APIC_ISR);
	u32 ppr;

	if (isrv < 0)
		isrv = 0;
	/* SDM 11.8.3.1: PPR = TPR if its class is at least the ISRV's. */
	if ((tpr & 0xf0) >= ((u32)isrv & 0xf0))
		ppr = tpr & 0xff;
	else
		ppr = isrv & 0xf0;
	kvm_lapic_set_reg(apic, APIC_PROCPRI, ppr);
}

int kvm_apic_has_interrupt(struct kvm_lapic *apic)
{
	int vec;

	if (!apic_enabled(apic))
		return -1;
	vec = apic_find_highest_vector(apic->regs + APIC_IRR);
	if (vec < 0 || ((u32)vec & 0xf0) <= (kvm_lapic_get_reg(apic, APIC_PROCPRI) & 0xf0))
		return -1;
	return vec;
}

void kvm_apic_ack_interrupt(struct kvm_lapic *apic, int vector)
{
	pthread_mutex_lock(&apic->lock);
	apic_clear_vector(vector, apic->regs + APIC_IRR);
	apic_set_vector(vector, apic->regs + APIC_ISR);
	apic_update_ppr(apic);
	pthread_mutex_unlock(&apic->lock);
}

bool kvm_apic_accept_pic_intr(struct kvm_lapic *apic)
{
	u32 lvt0 = kvm_lapic_get_reg(apic, APIC_LVT0);

	/* A disabled APIC passes INTR straight through (SDM 11.4.3). */
	if (!kvm_apic_hw_enabled(apic))
		return true;
	return (lvt0 & APIC_LVT_MASKED) == 0 && (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT;
}

static void apic_kick(struct kvm_lapic *apic)
{
	if (apic->ops && apic->ops->kick)
		apic->ops->kick(apic->opaque);
}

/* __apic_accept_irq(): caller holds the lock. */
static int __apic_accept_irq(struct kvm_lapic *apic, const struct kvm_lapic_irq *irq)
{
	switch (irq->delivery_mode) {
	case APIC_DM_LOWEST:
	case APIC_DM_FIXED:
		if (!apic_enabled(apic))
			return 0;
		if (irq->trig_mode)
			apic_set_vector(irq->vector, apic->regs + APIC_TMR);
		else
			apic_clear_vector(irq->vector, apic->regs + APIC_TMR);
		apic_set_vector(irq->vector, apic->regs + APIC_IRR);
		return 1;
	case APIC_DM_NMI:
		/* kvm_inject_nmi(): the vCPU's NMI queue, not the APIC's state */
		if (apic->ops && apic->ops->inject_nmi)
			apic->ops->inject_nmi(apic->opaque);
		else
			apic->nmi_pending = true;
		return 1;
	case APIC_DM_INIT:
		/* INIT level de-assert (trig level, not asserted) is ignored. */
		if (!irq->trig_mode || irq->level) {
			__atomic_fetch_or(&apic->pending_events, 1ul << KVM_APIC_INIT, __ATOMIC_ACQ_REL);
			return 1;
		}
		return 0;
	case APIC_DM_STARTUP:
		/* the vector before the bit: kvm_apic_accept_events() reads them in that order */
		__atomic_store_n(&apic->sipi_vector, irq->vector, __ATOMIC_RELEASE);
		__atomic_fetch_or(&apic->pending_events, 1ul << KVM_APIC_SIPI, __ATOMIC_ACQ_REL);
		return 1;
	case APIC_DM_EXTINT:
		return 1;	/* the PIC's INTR path: see kvm_apic_accept_pic_intr() */
	default:		/* SMI, remote read: not modelled */
		return 0;
	}
}

int kvm_apic_set_irq(struct kvm_lapic *apic, const struct kvm_lapic_irq *irq)
{
	int r;

	pthread_mutex_lock(&apic->lock);
	r = __apic_accept_irq(apic, irq);
	pthread_mutex_unlock(&apic->lock);
	if (r)
		apic_kick(apic);
	return r;
}

static u32 kvm_apic_id(struct kvm_lapic *apic)
{
	u32 id = kvm_lapic_get_reg(apic, APIC_ID);

	return apic_x2apic_mode(apic) ? id : id >> 24;
}

/* SDM 10.6.2: physical and logical (flat/cluster, x2APIC cluster) destinations. */
static bool kvm_apic_match_logical(struct kvm_lapic *apic, u32 mda)
{
	u32 ldr = kvm_lapic_get_reg(apic, APIC_LDR);

	if (apic_x2apic_mode(apic))
		return ((ldr >> 16) == (mda >> 16)) && (ldr & mda & 0xffff);
	ldr >>= 24;
	mda &= 0xff;
	if (kvm_lapic_get_reg(apic, APIC_DFR) == APIC_DFR_FLAT)
		return ldr & mda;
	/* cluster model: high nibble cluster, low nibble members */
	return ((ldr >> 4) == (mda >> 4)) && (ldr & mda & 0xf);
}

bool kvm_apic_match_dest(struct kvm_lapic *target, struct kvm_lapic *source,
			 int shorthand, u32 dest, int dest_mode)
{
	switch (shorthand) {
	case APIC_DEST_SELF:
		return target == source;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return target != source;
	}
	if (!dest_mode) {
		u32 bcast = apic_x2apic_mode(target) ? 0xffffffffu : 0xffu;

		return dest == bcast || kvm_apic_id(target) == dest;
	}
	return kvm_apic_match_logical(target, dest);
}

static void apic_set_eoi(struct kvm_lapic *apic)
{
	int vector = apic_find_highest_vector(apic->regs + APIC_ISR);
	bool level;

	if (vector < 0)
		return;
	apic_clear_vector(vector, apic->regs + APIC_ISR);
	apic_update_ppr(apic);
	level = apic_test_vector(vector, apic->regs + APIC_TMR);
	/* With directed EOI the guest writes the I/O APIC's EOI register itself. */
	if (level && !(kvm_lapic_get_reg(apic, APIC_SPIV) & APIC_SPIV_DIRECTED_EOI) &&
	    apic->ops && apic->ops->eoi_broadcast) {
		pthread_mutex_unlock(&apic->lock);
		apic->ops->eoi_broadcast(apic->opaque, vector);
		pthread_mutex_lock(&apic->lock);
	}
}

static void apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high)
{
	struct kvm_lapic_irq irq = {
		.vector = icr_low & APIC_VECTOR_MASK,
		.delivery_mode = icr_low & APIC_MODE_MASK,
		.dest_mode = !!(icr_low & APIC_DEST_LOGICAL),
		.level = !!(icr_low & APIC_INT_ASSERT),
		.trig_mode = !!(icr_low & APIC_INT_LEVELTRIG),
		.shorthand = icr_low & APIC_SHORT_MASK,
		.dest_id = apic_x2apic_mode(apic) ? icr_high : icr_high >> 24,
	};

	if (apic->ops && apic->ops->send_ipi) {
		pthread_mutex_unlock(&apic->lock);
		apic->ops->send_ipi(apic->opaque, apic, &irq);
		pthread_mutex_lock(&apic->lock);
	}
}

/* ---- timer ---- */

static u64 now_ns(struct kvm_lapic *apic)
{
	return apic->ops && apic->ops->now_ns ? apic->ops->now_ns(apic->opaque) : 0;
}

static void update_divide_count(struct kvm_lapic *apic)
{
	u32 v = kvm_lapic_get_reg(apic, APIC_TDCR);
	u32 code = ((v & 3) | ((v & 8) >> 1));	/* bits 0, 1, 3 */

	apic->divide_count = 1u << ((code + 1) & 7);
}

static void apic_timer_cancel(struct kvm_lapic *apic)
{
	apic->lapic_timer.target_ns = 0;
}

static void start_apic_timer(struct kvm_lapic *apic)
{
	struct kvm_timer *t = &apic->lapic_timer;
	u32 tmict = kvm_lapic_get_reg(apic, APIC_TMICT);

	t->start_ns = now_ns(apic);
	if (t->timer_mode == APIC_LVT_TIMER_TSCDEADLINE) {
		u64 tsc, khz;

		t->target_ns = 0;
		if (!t->tscdeadline || !apic->ops || !apic->ops->read_tsc)
			return;
		tsc = apic->ops->read_tsc(apic->opaque);
		khz = apic->ops->tsc_khz ? apic->ops->tsc_khz(apic->opaque) : 0;
		if (t->tscdeadline <= tsc || !khz)
			t->target_ns = t->start_ns ? t->start_ns : 1;	/* due now */
		else
			t->target_ns = t->start_ns + (t->tscdeadline - tsc) * 1000000ull / khz;
		return;
	}
	t->period_ns = (u64)tmict * APIC_BUS_CYCLE_NS * apic->divide_count;
	t->target_ns = tmict ? t->start_ns + t->period_ns : 0;
}

static void apic_timer_expired(struct kvm_lapic *apic)
{
	u32 lvtt = kvm_lapic_get_reg(apic, APIC_LVTT);

	if (!(lvtt & APIC_LVT_MASKED) && apic_enabled(apic)) {
		struct kvm_lapic_irq irq = {
			.vector = lvtt & APIC_VECTOR_MASK,
			.delivery_mode = APIC_DM_FIXED,
		};

		__apic_accept_irq(apic, &irq);
		apic->lapic_timer.pending++;
	}
	if (apic->lapic_timer.timer_mode == APIC_LVT_TIMER_TSCDEADLINE)
		apic->lapic_timer.tscdeadline = 0;
}

void kvm_lapic_timer_check(struct kvm_lapic *apic)
{
	struct kvm_timer *t = &apic->lapic_timer;
	bool fired = false;
	u64 now;

	/* Called before every VM entry: no lock and no clock when nothing is armed. */
	if (!__atomic_load_n(&t->target_ns, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&apic->lock);
	now = now_ns(apic);
	while (t->target_ns && now >= t->target_ns) {
		apic_timer_expired(apic);
		fired = true;
		if (t->timer_mode == APIC_LVT_TIMER_PERIODIC && t->period_ns) {
			/* Missed periods coalesce into one interrupt, as an IRR bit does. */
			u64 behind = (now - t->target_ns) / t->period_ns;

			t->target_ns += (behind + 1) * t->period_ns;
			t->start_ns = t->target_ns - t->period_ns;
			break;
		}
		t->target_ns = 0;
	}
	pthread_mutex_unlock(&apic->lock);
	if (fired)
		apic_kick(apic);
}

u64 kvm_lapic_next_deadline(struct kvm_lapic *apic)
{
	return __atomic_load_n(&apic->lapic_timer.target_ns, __ATOMIC_ACQUIRE);
}

static u32 apic_get_tmcct(struct kvm_lapic *apic)
{
	struct kvm_timer *t = &apic->lapic_timer;
	u64 now, remaining;

	if (t->timer_mode == APIC_LVT_TIMER_TSCDEADLINE || !t->target_ns ||
	    !kvm_lapic_get_reg(apic, APIC_TMICT))
		return 0;
	now = now_ns(apic);
	if (now >= t->target_ns)
		return 0;
	remaining = t->target_ns - now;
	return (u32)(remaining / (APIC_BUS_CYCLE_NS * (u64)apic->divide_count));
}

u64 kvm_get_lapic_tscdeadline_msr(struct kvm_lapic *apic)
{
	if (apic->lapic_timer.timer_mode != APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	return apic->lapic_timer.tscdeadline;
}

void kvm_set_lapic_tscdeadline_msr(struct kvm_lapic *apic, u64 data)
{
	pthread_mutex_lock(&apic->lock);
	/* Writes are ignored unless the timer is in TSC-deadline mode (SDM 11.5.4.1). */
	if (apic->lapic_timer.timer_mode == APIC_LVT_TIMER_TSCDEADLINE) {
		apic->lapic_timer.tscdeadline = data;
		start_apic_timer(apic);
	}
	pthread_mutex_unlock(&apic->lock);
}

/* ---- registers ---- */

static const u32 lvt_masks[APIC_LVT_NUM] = {
	LVT_MASK | APIC_LVT_TIMER_MASK,	/* LVTT */
	LVT_MASK | APIC_MODE_MASK,	/* LVTTHMR */
	LVT_MASK | APIC_MODE_MASK,	/* LVTPC */
	LINT_MASK, LINT_MASK,		/* LVT0, LVT1 */
	LVT_MASK,			/* LVTERR */
};

static bool valid_reg(struct kvm_lapic *apic, u32 reg)
{
	switch (reg) {
	case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_PROCPRI:
	case APIC_LDR: case APIC_SPIV: case APIC_ESR: case APIC_ICR:
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0:
	case APIC_LVT1: case APIC_LVTERR: case APIC_TMICT: case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	case APIC_ARBPRI: case APIC_DFR: case APIC_ICR2:
		return !apic_x2apic_mode(apic);	/* gone in x2APIC mode */
	}
	if (reg >= APIC_ISR && reg < APIC_ISR + 0x80 && !(reg & 0xf))
		return true;
	if (reg >= APIC_TMR && reg < APIC_TMR + 0x80 && !(reg & 0xf))
		return true;
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80 && !(reg & 0xf))
		return true;
	return false;
}

int kvm_lapic_reg_read(struct kvm_lapic *apic, u32 offset, int len, void *data)
{
	u32 reg = offset & ~0xfu, val;

	if (!valid_reg(apic, reg)) {
		memset(data, 0, len);
		return 1;
	}
	pthread_mutex_lock(&apic->lock);
	switch (reg) {
	case APIC_ARBPRI:
		val = 0;
		break;
	case APIC_TMCCT:
		val = apic_get_tmcct(apic);
		break;
	case APIC_PROCPRI:
		apic_update_ppr(apic);
		val = kvm_lapic_get_reg(apic, reg);
		break;
	default:
		val = kvm_lapic_get_reg(apic, reg);
	}
	pthread_mutex_unlock(&apic->lock);
	val >>= 8 * (offset & 3);
	memcpy(data, &val, len > 4 ? 4 : len);
	return 0;
}

static void apic_set_spiv(struct kvm_lapic *apic, u32 val)
{
	bool enabled = val & APIC_SPIV_APIC_ENABLED;

	/*
	 * Bits 7:0 vector, 8 enable, 9 focus check; directed EOI (bit 12)
	 * only if the LVR offers it, which it does not with the in-kernel
	 * I/O APIC (KVM likewise).
	 */
	kvm_lapic_set_reg(apic, APIC_SPIV, val & 0x3ff);
	if (enabled == apic->sw_enabled)
		return;
	apic->sw_enabled = enabled;
	if (!enabled) {
		/* Software disable masks every LVT (SDM 11.4.7.2). */
		for (int i = 0; i < APIC_LVT_NUM; i++)
			kvm_lapic_set_reg(apic, APIC_LVTT + 0x10 * i,
					  kvm_lapic_get_reg(apic, APIC_LVTT + 0x10 * i) | APIC_LVT_MASKED);
	}
}

/* Caller holds the lock. */
static int __kvm_lapic_reg_write(struct kvm_lapic *apic, u32 reg, u32 val)
{
	switch (reg) {
	case APIC_ID:
		if (apic_x2apic_mode(apic))
			return 1;		/* read-only in x2APIC mode */
		kvm_lapic_set_reg(apic, APIC_ID, val & 0xff000000u);
		break;
	case APIC_TASKPRI:
		kvm_lapic_set_reg(apic, APIC_TASKPRI, val & 0xff);
		apic_update_ppr(apic);
		break;
	case APIC_EOI:
		apic_set_eoi(apic);
		break;
	case APIC_LDR:
		if (apic_x2apic_mode(apic))
			return 1;
		kvm_lapic_set_reg(apic, APIC_LDR, val & 0xff000000u);
		break;
	case APIC_DFR:
		if (apic_x2apic_mode(apic))
			return 1;
		kvm_lapic_set_reg(apic, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		apic_set_spiv(apic, val);
		break;
	case APIC_ICR:
		/* Delivery is immediate: the send-pending bit never reads set. */
		kvm_lapic_set_reg(apic, APIC_ICR, val & ~APIC_SEND_PENDING);
		apic_send_ipi(apic, val, kvm_lapic_get_reg(apic, APIC_ICR2));
		break;
	case APIC_ICR2:
		if (apic_x2apic_mode(apic))
			return 1;
		kvm_lapic_set_reg(apic, APIC_ICR2, val & 0xff000000u);
		break;
	case APIC_LVT0:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT1:
	case APIC_LVTERR: {
		int idx = (reg - APIC_LVTT) >> 4;

		val &= lvt_masks[idx];
		if (!apic->sw_enabled)
			val |= APIC_LVT_MASKED;
		kvm_lapic_set_reg(apic, reg, val);
		break;
	}
	case APIC_LVTT: {
		u32 mode;

		val &= lvt_masks[0] & (LVT_MASK | apic->lapic_timer.timer_mode_mask);
		if (!apic->sw_enabled)
			val |= APIC_LVT_MASKED;
		mode = val & apic->lapic_timer.timer_mode_mask;
		if (mode == APIC_LVT_TIMER_MASK)	/* reserved mode 3 */
			mode = APIC_LVT_TIMER_ONESHOT;
		kvm_lapic_set_reg(apic, APIC_LVTT, val);
		if (mode != apic->lapic_timer.timer_mode) {
			/* A mode change stops the timer (SDM 11.5.4.1). */
			apic->lapic_timer.timer_mode = mode;
			apic->lapic_timer.tscdeadline = 0;
			kvm_lapic_set_reg(apic, APIC_TMICT, 0);
			apic_timer_cancel(apic);
		}
		break;
	}
	case APIC_TMICT:
		if (apic->lapic_timer.timer_mode == APIC_LVT_TIMER_TSCDEADLINE)
			break;		/* ignored in TSC-deadline mode */
		kvm_lapic_set_reg(apic, APIC_TMICT, val);
		start_apic_timer(apic);
		break;
	case APIC_TDCR:
		kvm_lapic_set_reg(apic, APIC_TDCR, val & 0xb);
		update_divide_count(apic);
		break;
	case APIC_ESR:
		if (apic_x2apic_mode(apic) && val)
			return 1;
		kvm_lapic_set_reg(apic, APIC_ESR, 0);
		break;
	case APIC_SELF_IPI: {
		struct kvm_lapic_irq irq = { .vector = val & 0xff, .delivery_mode = APIC_DM_FIXED };

		if (!apic_x2apic_mode(apic))
			return 1;
		__apic_accept_irq(apic, &irq);
		break;
	}
	default:
		return 1;
	}
	return 0;
}

int kvm_lapic_reg_write(struct kvm_lapic *apic, u32 reg, u32 val)
{
	int r;

	pthread_mutex_lock(&apic->lock);
	r = __kvm_lapic_reg_write(apic, reg, val);
	pthread_mutex_unlock(&apic->lock);
	/* A TPR/EOI/self-IPI change may have made an interrupt deliverable. */
	if (!r && kvm_apic_has_interrupt(apic) >= 0)
		apic_kick(apic);
	return r;
}

int kvm_lapic_mmio(struct kvm_lapic *apic, u64 gpa, int len, bool write, void *data)
{
	u32 offset;

	if (!kvm_apic_hw_enabled(apic) || apic_x2apic_mode(apic) ||
	    gpa < apic->base_address || gpa >= apic->base_address + 0x1000)
		return -EOPNOTSUPP;
	offset = gpa - apic->base_address;
	if (!write) {
		kvm_lapic_reg_read(apic, offset, len, data);
		return 0;
	}
	/* Only aligned 32-bit writes reach registers (SDM 11.4.1). */
	if (len == 4 && !(offset & 0xf)) {
		u32 val;

		memcpy(&val, data, 4);
		kvm_lapic_reg_write(apic, offset, val);
	}
	return 0;
}

int kvm_x2apic_msr_read(struct kvm_lapic *apic, u32 msr, u64 *data)
{
	u32 reg = (msr - APIC_BASE_MSR) << 4, lo, hi = 0;

	if (!apic_x2apic_mode(apic) || reg == APIC_DFR || reg == APIC_ICR2)
		return 1;
	if (kvm_lapic_reg_read(apic, reg, 4, &lo))
		return 1;
	if (reg == APIC_ICR)
		hi = kvm_lapic_get_reg(apic, APIC_ICR2);
	*data = lo | ((u64)hi << 32);
	return 0;
}

int kvm_x2apic_msr_write(struct kvm_lapic *apic, u32 msr, u64 data)
{
	u32 reg = (msr - APIC_BASE_MSR) << 4;

	if (!apic_x2apic_mode(apic))
		return 1;
	if (reg == APIC_ICR) {
		/* One 64-bit write: the destination goes to the ICR2 slot. */
		pthread_mutex_lock(&apic->lock);
		kvm_lapic_set_reg(apic, APIC_ICR2, (u32)(data >> 32));
		pthread_mutex_unlock(&apic->lock);
		return kvm_lapic_reg_write(apic, APIC_ICR, (u32)data);
	}
	if (data >> 32)
		return 1;		/* reserved bits */
	if (reg == APIC_EOI && data)
		return 1;
	return kvm_lapic_reg_write(apic, reg, (u32)data);
}

static void kvm_apic_set_x2apic_id(struct kvm_lapic *apic)
{
	u32 id = apic->vcpu_id;

	kvm_lapic_set_reg(apic, APIC_ID, id);
	kvm_lapic_set_reg(apic, APIC_LDR, ((id >> 4) << 16) | (1u << (id & 0xf)));
}

int kvm_lapic_set_base(struct kvm_lapic *apic, u64 value, bool host_initiated)
{
	u64 old = apic->apic_base;
	bool old_en = old & MSR_IA32_APICBASE_ENABLE, new_en = value & MSR_IA32_APICBASE_ENABLE;
	bool old_x2 = old & MSR_IA32_APICBASE_EXTD, new_x2 = value & MSR_IA32_APICBASE_EXTD;
	u64 reserved = ~(MSR_IA32_APICBASE_BSP | MSR_IA32_APICBASE_EXTD |
			 MSR_IA32_APICBASE_ENABLE | (MSR_IA32_APICBASE_BASE & ((1ull << 48) - 1)));

	if (value & reserved)
		return 1;
	/*
	 * SDM 11.12.5: x2APIC without enable is invalid; x2APIC to xAPIC only
	 * through disabled.  The host (KVM_SET_MSRS) may do anything valid.
	 */
	if (new_x2 && !new_en)
		return 1;
	if (!host_initiated && old_en && old_x2 && new_en && !new_x2)
		return 1;
	if (!host_initiated && !old_en && new_en && new_x2)
		return 1;

	pthread_mutex_lock(&apic->lock);
	apic->apic_base = value;
	apic->base_address = value & MSR_IA32_APICBASE_BASE;
	if (new_x2 && !old_x2)
		kvm_apic_set_x2apic_id(apic);
	if (!new_x2 && old_x2)
		kvm_lapic_set_reg(apic, APIC_ID, apic->vcpu_id << 24);
	if (old_en && !new_en)
		apic_timer_cancel(apic);
	pthread_mutex_unlock(&apic->lock);
	return 0;
}

void kvm_lapic_reset(struct kvm_lapic *apic, bool init_event, bool bsp)
{
	pthread_mutex_lock(&apic->lock);
	if (!init_event) {
		apic->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
				  (bsp ? MSR_IA32_APICBASE_BSP : 0);
		apic->base_address = APIC_DEFAULT_PHYS_BASE;
		kvm_lapic_set_reg(apic, APIC_ID, apic->vcpu_id << 24);
	}
	apic_timer_cancel(apic);
	kvm_lapic_set_reg(apic, APIC_LVR, APIC_VERSION | ((APIC_LVT_NUM - 1) << 16));
	for (int i = 0; i < APIC_LVT_NUM; i++)
		kvm_lapic_set_reg(apic, APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
	apic->lapic_timer.timer_mode = 0;
	/* KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 takes the PIC (ExtINT). */
	if (bsp && !init_event)
		kvm_lapic_set_reg(apic, APIC_LVT0, APIC_DM_EXTINT);
	kvm_lapic_set_reg(apic, APIC_DFR, 0xffffffffu);
	kvm_lapic_set_reg(apic, APIC_SPIV, 0xff);
	apic->sw_enabled = false;
	kvm_lapic_set_reg(apic, APIC_TASKPRI, 0);
	if (!apic_x2apic_mode(apic))
		kvm_lapic_set_reg(apic, APIC_LDR, 0);
	kvm_lapic_set_reg(apic, APIC_ESR, 0);
	kvm_lapic_set_reg(apic, APIC_ICR, 0);
	kvm_lapic_set_reg(apic, APIC_ICR2, 0);
	kvm_lapic_set_reg(apic, APIC_TDCR, 0);
	kvm_lapic_set_reg(apic, APIC_TMICT, 0);
	for (int i = 0; i < 8; i++) {
		kvm_lapic_set_reg(apic, APIC_IRR + 0x10 * i, 0);
		kvm_lapic_set_reg(apic, APIC_ISR + 0x10 * i, 0);
		kvm_lapic_set_reg(apic, APIC_TMR + 0x10 * i, 0);
	}
	update_divide_count(apic);
	apic->lapic_timer.tscdeadline = 0;
	apic->lapic_timer.pending = 0;
	/* INIT keeps what is latched (a SIPI sent with it): kvm_apic_accept_events(). */
	if (!init_event)
		__atomic_store_n(&apic->pending_events, 0, __ATOMIC_RELEASE);
	apic->nmi_pending = false;
	apic_update_ppr(apic);
	pthread_mutex_unlock(&apic->lock);
}

struct kvm_lapic *kvm_create_lapic(u32 vcpu_id, const struct kvm_lapic_ops *ops, void *opaque)
{
	struct kvm_lapic *apic = aligned_alloc(4096, sizeof(*apic));

	if (!apic)
		return NULL;
	memset(apic, 0, sizeof(*apic));
	pthread_mutex_init(&apic->lock, NULL);
	apic->vcpu_id = vcpu_id;
	apic->ops = ops;
	apic->opaque = opaque;
	apic->lapic_timer.timer_mode_mask = APIC_LVT_TIMER_MASK;	/* TSC deadline supported */
	return apic;
}

void kvm_free_lapic(struct kvm_lapic *apic)
{
	if (!apic)
		return;
	pthread_mutex_destroy(&apic->lock);
	free(apic);
}

void kvm_apic_get_state(struct kvm_lapic *apic, struct kvm_lapic_state *s)
{
	u32 tmcct;

	pthread_mutex_lock(&apic->lock);
	memcpy(s->regs, apic->regs, sizeof(s->regs));
	tmcct = apic_get_tmcct(apic);
	pthread_mutex_unlock(&apic->lock);
	memcpy(s->regs + APIC_TMCCT, &tmcct, 4);
	/* Without KVM_X2APIC_API_USE_32BIT_IDS, KVM reports the x2APIC ID as an xAPIC one. */
	if (apic_x2apic_mode(apic)) {
		u32 id = apic->vcpu_id << 24;

		memcpy(s->regs + APIC_ID, &id, 4);
	}
}

int kvm_apic_set_state(struct kvm_lapic *apic, const struct kvm_lapic_state *s)
{
	u32 spiv, lvtt;

	pthread_mutex_lock(&apic->lock);
	memcpy(apic->regs, s->regs, sizeof(s->regs));
	if (apic_x2apic_mode(apic))
		kvm_apic_set_x2apic_id(apic);
	memcpy(&spiv, s->regs + APIC_SPIV, 4);
	apic->sw_enabled = spiv & APIC_SPIV_APIC_ENABLED;
	memcpy(&lvtt, s->regs + APIC_LVTT, 4);
	apic->lapic_timer.timer_mode = lvtt & apic->lapic_timer.timer_mode_mask;
	if (apic->lapic_timer.timer_mode == APIC_LVT_TIMER_MASK)
		apic->lapic_timer.timer_mode = 0;
	update_divide_count(apic);
	apic_update_ppr(apic);
	apic_timer_cancel(apic);
	if (apic->lapic_timer.timer_mode != APIC_LVT_TIMER_TSCDEADLINE)
		start_apic_timer(apic);
	kvm_lapic_set_reg(apic, APIC_TMCCT, 0);
	pthread_mutex_unlock(&apic->lock);
	apic_kick(apic);
	return 0;
}
