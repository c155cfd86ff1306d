/* SPDX-License-Identifier: MIT */
/* Helpers for the x86 vCPU state cases: setup and field-by-field dumps. */
#ifndef USERKVM_TESTS_X86UTIL_H
#define USERKVM_TESTS_X86UTIL_H

#include <string.h>
#include "kvmtest.h"

/* A system fd, a VM and vCPU 0. */
static inline int t_vcpu(struct tctx *t, int *sys, int *vm)
{
	int vcpu;

	*sys = t_open_sys(t);
	*vm = t_create_vm(t, *sys);
	vcpu = (int)IOC(t, *vm, KVM_CREATE_VCPU, 0);
	CHECK_OK(t, vcpu);
	return vcpu;
}

static inline void t_close3(int vcpu, int vm, int sys)
{
	close(vcpu);
	close(vm);
	close(sys);
}

static inline void t_seg(struct tctx *t, const char *n, const struct kvm_segment *s)
{
	t_printf(t, "%s: sel=%#x base=%#llx limit=%#x type=%u p=%u dpl=%u db=%u s=%u l=%u g=%u avl=%u unusable=%u pad=%u",
		 n, s->selector, (unsigned long long)s->base, s->limit, s->type, s->present, s->dpl,
		 s->db, s->s, s->l, s->g, s->avl, s->unusable, s->padding);
}

/* kvm_sregs and kvm_sregs2 share everything up to apic_base. */
static inline void t_sregs_common(struct tctx *t, const struct kvm_sregs *s)
{
	t_seg(t, "cs", &s->cs);
	t_seg(t, "ds", &s->ds);
	t_seg(t, "es", &s->es);
	t_seg(t, "fs", &s->fs);
	t_seg(t, "gs", &s->gs);
	t_seg(t, "ss", &s->ss);
	t_seg(t, "tr", &s->tr);
	t_seg(t, "ldt", &s->ldt);
	t_printf(t, "gdt: base=%#llx limit=%#x pad=%u,%u,%u", (unsigned long long)s->gdt.base,
		 s->gdt.limit, s->gdt.padding[0], s->gdt.padding[1], s->gdt.padding[2]);
	t_printf(t, "idt: base=%#llx limit=%#x pad=%u,%u,%u", (unsigned long long)s->idt.base,
		 s->idt.limit, s->idt.padding[0], s->idt.padding[1], s->idt.padding[2]);
	t_printf(t, "cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx cr8=%#llx",
		 (unsigned long long)s->cr0, (unsigned long long)s->cr2,
		 (unsigned long long)s->cr3, (unsigned long long)s->cr4,
		 (unsigned long long)s->cr8);
	t_printf(t, "efer=%#llx apic_base=%#llx", (unsigned long long)s->efer,
		 (unsigned long long)s->apic_base);
}

static inline void t_sregs(struct tctx *t, const struct kvm_sregs *s)
{
	t_sregs_common(t, s);
	t_printf(t, "interrupt_bitmap=%#llx,%#llx,%#llx,%#llx",
		 (unsigned long long)s->interrupt_bitmap[0], (unsigned long long)s->interrupt_bitmap[1],
		 (unsigned long long)s->interrupt_bitmap[2], (unsigned long long)s->interrupt_bitmap[3]);
}

static inline void t_regs(struct tctx *t, const struct kvm_regs *r)
{
	t_printf(t, "rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx", (unsigned long long)r->rax,
		 (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	t_printf(t, "rsi=%#llx rdi=%#llx rsp=%#llx rbp=%#llx", (unsigned long long)r->rsi,
		 (unsigned long long)r->rdi, (unsigned long long)r->rsp, (unsigned long long)r->rbp);
	t_printf(t, "r8=%#llx r9=%#llx r10=%#llx r11=%#llx", (unsigned long long)r->r8,
		 (unsigned long long)r->r9, (unsigned long long)r->r10, (unsigned long long)r->r11);
	t_printf(t, "r12=%#llx r13=%#llx r14=%#llx r15=%#llx", (unsigned long long)r->r12,
		 (unsigned long long)r->r13, (unsigned long long)r->r14, (unsigned long long)r->r15);
	t_printf(t, "rip=%#llx rflags=%#llx", (unsigned long long)r->rip,
		 (unsigned long long)r->rflags);
}

/*
 * @shadow_why: if not NULL, the interrupt-shadow value is a known
 * difference (this host's PVM KVM keeps both STI and MOV SS bits).
 */
static inline void t_events_d(struct tctx *t, const struct kvm_vcpu_events *e,
			      const char *shadow_why)
{
	t_printf(t, "exception: injected=%u nr=%u has_error_code=%u pending=%u error_code=%#x",
		 e->exception.injected, e->exception.nr, e->exception.has_error_code,
		 e->exception.pending, e->exception.error_code);
	t_printf(t, "interrupt: injected=%u nr=%u soft=%u", e->interrupt.injected,
		 e->interrupt.nr, e->interrupt.soft);
	if (shadow_why)
		t_differs(t, shadow_why);
	t_printf(t, "interrupt.shadow=%u", e->interrupt.shadow);
	t_printf(t, "nmi: injected=%u pending=%u masked=%u pad=%u", e->nmi.injected,
		 e->nmi.pending, e->nmi.masked, e->nmi.pad);
	t_printf(t, "sipi_vector=%u flags=%#x", e->sipi_vector, e->flags);
	t_printf(t, "smi: smm=%u pending=%u inside_nmi=%u latched_init=%u", e->smi.smm,
		 e->smi.pending, e->smi.smm_inside_nmi, e->smi.latched_init);
	t_printf(t, "triple_fault=%u payload: has=%u value=%#llx", e->triple_fault.pending,
		 e->exception_has_payload, (unsigned long long)e->exception_payload);
}

static inline void t_events(struct tctx *t, const struct kvm_vcpu_events *e)
{
	t_events_d(t, e, NULL);
}

/* Every line of the dump is a known difference (@why). */
static inline void t_sregs_d(struct tctx *t, const struct kvm_sregs *s, const char *why)
{
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss,
					     &s->tr, &s->ldt };
	static const char *names[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };

	for (int i = 0; i < 8; i++) {
		t_differs(t, why);
		t_seg(t, names[i], segs[i]);
	}
	t_printf(t, "cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx cr8=%#llx efer=%#llx apic_base=%#llx",
		 (unsigned long long)s->cr0, (unsigned long long)s->cr2,
		 (unsigned long long)s->cr3, (unsigned long long)s->cr4,
		 (unsigned long long)s->cr8, (unsigned long long)s->efer,
		 (unsigned long long)s->apic_base);
}

/* A flat 32-bit protected-mode segment. */
static inline struct kvm_segment t_flat_seg(unsigned short sel, unsigned char type, int l)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 0, .db = !l, .s = 1, .l = l, .g = 1,
	};
	return s;
}

/* Addresses that are never valid user pointers: -EFAULT on KVM and userkvm. */
#define T_BAD_PTR_NULL   ((unsigned long)0)
#define T_BAD_PTR_KERNEL 0xffff880000000000ul

#endif
