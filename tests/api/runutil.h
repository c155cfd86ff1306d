/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the KVM_RUN cases: a VM with one memslot and vCPU 0, guests
 * from run_guests.S loaded at CODE, the vCPU put in real mode, 16/32-bit
 * protected mode or 4-level long mode with KVM_SET_SREGS, and every exit
 * written to the transcript.
 */
#ifndef USERKVM_TESTS_RUNUTIL_H
#define USERKVM_TESTS_RUNUTIL_H

#include <stdint.h>
#include <sys/mman.h>

#include "x86util.h"

#define CODE	0x1000
#define RESUME	0x3ff8
#define RT	0x4000
#define PT_BASE	0x5000		/* page tables: 0x5000-0x7fff */
#define IDT	0x8000
#define GDT	0x9000
#define STACK	0xf000
#define DATA	0x10000
#define MEM_SIZE 0x200000	/* slot 0: 2 MiB at GPA 0 */

#define GUEST_DECL(name) extern const unsigned char name[], name##_end[]
GUEST_DECL(g_rm_io);
GUEST_DECL(g_pm16);
GUEST_DECL(g_pm32);
GUEST_DECL(g_pm32_alias);
GUEST_DECL(g_pm32_ud);
GUEST_DECL(g_pm32_int3);
GUEST_DECL(g_pm32_step);
GUEST_DECL(g_lm_rt);
GUEST_DECL(g_lm);
GUEST_DECL(g_lm_in);
GUEST_DECL(g_lm_cpuid);
GUEST_DECL(g_lm_msr);
GUEST_DECL(g_lm_cr);
GUEST_DECL(g_lm_cr_hi);
GUEST_DECL(g_lm_pat);
GUEST_DECL(g_lm_xsetbv1);
GUEST_DECL(g_lm_mwait);
GUEST_DECL(g_lm_xsetbv);
GUEST_DECL(g_lm_vmcall);
GUEST_DECL(g_lm_ud);
GUEST_DECL(g_lm_irq);
GUEST_DECL(g_lm_dirty);
GUEST_DECL(g_lm_read);
GUEST_DECL(g_lm_read_spin);
GUEST_DECL(g_lm_xadd);
GUEST_DECL(g_lm_spin);
GUEST_DECL(g_lm_cpuid_spin);
GUEST_DECL(g_lm_sync);
GUEST_DECL(g_lm_rsp);

struct tguest {
	int sys, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned char *mem;
	size_t mem_size;
};

/* The VM, slot 0 (MEM_SIZE at GPA 0), vCPU 0 and its kvm_run. */
int tg_create(struct tctx *t, struct tguest *g);
/* The VM and slot 0 only (a chip or a PIT may come before vCPU 0). */
int tg_create_vm(struct tctx *t, struct tguest *g);
/* Another vCPU of the same VM, with its kvm_run at *@run. */
int tg_add_vcpu(struct tctx *t, struct tguest *g, int id, struct kvm_run **run);
void tg_destroy(struct tguest *g);
#define tg_load(g, name) tg_load_at(g, CODE, name, name##_end)
void tg_load_at(struct tguest *g, unsigned long gpa, const unsigned char *start,
		const unsigned char *end);

enum tg_mode { TG_REAL, TG_PM16, TG_PM32, TG_PAGING32, TG_PAE, TG_LONG };
/* KVM_SET_SREGS/KVM_SET_REGS: @mode, RIP = CODE, RSP = STACK, RFLAGS = 2. */
void tg_set_mode(struct tctx *t, struct tguest *g, int vcpu, enum tg_mode mode);
/* tg_create(), the guest code @name at CODE and vCPU 0 in @mode.  Return: tg_create()'s. */
#define tg_start(t, g, name, mode)						\
	(tg_create(t, g) < 0 ? -1 : (tg_load(g, name), tg_set_mode(t, g, (g)->vcpu, mode), 0))

/* KVM_RUN and the exit in the transcript.  Return: KVM_RUN's result. */
long tg_run(struct tctx *t, struct tguest *g);
/* One KVM_RUN that must end in KVM_EXIT_IO at @port.  Return: 0, or -1 (checked). */
int tg_run_to_port(struct tctx *t, struct tguest *g, int port);
/* Write the exit of @run to the transcript. */
void tg_exit(struct tctx *t, const struct kvm_run *run);
/*
 * KVM_RUN until an exit that is not KVM_EXIT_IO (or @max runs); IN gets
 * the bytes 0x11 * (i + 1) + port.  Return: the last exit reason, or -1 if
 * KVM_RUN failed.
 */
int tg_run_io(struct tctx *t, struct tguest *g, int max);
/* The same, every line a known difference (@why). */
int tg_run_io_d(struct tctx *t, struct tguest *g, int max, const char *why);
void tg_dump_regs(struct tctx *t, struct tguest *g);
const char *tg_exit_name(unsigned int reason);

#endif
