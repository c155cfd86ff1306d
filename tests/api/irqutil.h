/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the interrupt cases (irq_cases.c, smp_cases.c): a VM with the
 * in-kernel irqchip, vCPUs in long mode with the APIC pages mapped and the
 * interrupt runtime of irq_guests.S, and a run loop that stops at the
 * guest's "done" OUT.
 */
#ifndef USERKVM_TESTS_IRQUTIL_H
#define USERKVM_TESTS_IRQUTIL_H

#include <stdbool.h>
#include <stdio.h>

#include "runutil.h"
#include "util/types.h"

#define PCPU	0x16000		/* per-vCPU areas, 0x200 each (GS base) */
#define SH	0x18000		/* shared between the vCPUs */
#define ISRS	0x20000		/* g_irq_rt: the interrupt stubs and handler */
#define IRQ_PD	0x1e000		/* the PD mapping 3-4 GiB (APIC pages) */

/* VM, slot 0, KVM_CREATE_IRQCHIP (and a PIT), vCPU 0; the runtime loaded. */
int ig_create(struct tctx *t, struct tguest *g, bool pit);
/* The long-mode map of runutil.c, plus GPA 0xd0000000 (2 MiB, uncached) at the same address. */
void map_d0000000(struct tguest *g);
void ig_set_cpuid(struct tctx *t, struct tguest *g, int vcpu);
void ig_set_mode(struct tctx *t, struct tguest *g, int vcpu, int idx);
void ig_set_rdi(struct tctx *t, int vcpu, unsigned long rdi);
u32 ig_out_value(const struct kvm_run *run);
int ig_run(struct tctx *t, struct tguest *g, int vcpu, struct kvm_run *run,
	   void (*req)(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg), void *arg);
u64 ig_dump_log(struct tctx *t, struct tguest *g, int idx);

#endif
