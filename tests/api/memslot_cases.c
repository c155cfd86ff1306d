// SPDX-License-Identifier: MIT
/*
 * API conformance: KVM_SET_USER_MEMORY_REGION(2) and the dirty log.  Every
 * case runs on the host's /dev/kvm and on userkvm and the transcripts are
 * compared; the rules come from KVM's common code (virt/kvm/kvm_main.c:
 * kvm_vm_ioctl_set_memory_region, kvm_set_memory_region,
 * kvm_get_dirty_log_protect, kvm_clear_dirty_log_protect) and x86's
 * kvm_arch_prepare_memory_region, so they hold on the PVM backend too.
 *
 * Slot existence is observed without running a guest: a one-page "probe"
 * slot at a gpa gets EEXIST if another slot covers it (probe()).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvmtest.h"

#define PG 4096ull
#define PROBE_SLOT 32000
#define BUF_SIZE (64ull << 20)

/* Guest memory for a case: a reservation; KVM never touches it here. */
static char *buf_base;

static char *buf_get(void)
{
	buf_base = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf_base == MAP_FAILED)
		buf_base = NULL;
	return buf_base;
}

static void buf_put(void)
{
	if (buf_base)
		munmap(buf_base, BUF_SIZE);
	buf_base = NULL;
}

/* hva in the transcript: "buf+OFF" for the case's buffer, else the number. */
static void fmt_hva(char *s, size_t n, uint64_t hva)
{
	uint64_t b = (uint64_t)(uintptr_t)buf_base;

	if (buf_base && hva >= b && hva < b + BUF_SIZE)
		snprintf(s, n, "buf+%#llx", (unsigned long long)(hva - b));
	else
		snprintf(s, n, "%#llx", (unsigned long long)hva);
}

static long set_mem2(struct tctx *t, int vm, int v2, const struct kvm_userspace_memory_region2 *m)
{
	char what[256], hva[40];

	fmt_hva(hva, sizeof(hva), m->userspace_addr);
	snprintf(what, sizeof(what), "%s(slot=%#x flags=%#x gpa=%#llx size=%#llx hva=%s)",
		 v2 ? "SET_USER_MEMORY_REGION2" : "SET_USER_MEMORY_REGION", m->slot, m->flags,
		 (unsigned long long)m->guest_phys_addr, (unsigned long long)m->memory_size, hva);
	return t_ioctl(t, what, vm, v2 ? KVM_SET_USER_MEMORY_REGION2 : KVM_SET_USER_MEMORY_REGION,
		       (unsigned long)m);
}

static long set_mem(struct tctx *t, int vm, int v2, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region2 m;

	memset(&m, 0, sizeof(m));
	m.slot = slot;
	m.flags = flags;
	m.guest_phys_addr = gpa;
	m.memory_size = size;
	m.userspace_addr = hva;
	return set_mem2(t, vm, v2, &m);
}

#define HVA(off) ((uint64_t)(uintptr_t)buf_base + (off))

/* 1 if some slot covers @gpa (a probe slot there gets EEXIST), else 0. */
static int probe(struct tctx *t, int vm, uint64_t gpa)
{
	struct kvm_userspace_memory_region m = { PROBE_SLOT, 0, gpa, PG, HVA(BUF_SIZE - PG) };
	long r = t->be->ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m);
	int e = r < 0 ? errno : 0;

	if (r == 0) {
		m.memory_size = 0;
		r = t->be->ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m);
		CHECK(r == 0, "deleting the probe slot: %s", t_errname(errno));
		t_printf(t, "probe %#llx: free", (unsigned long long)gpa);
		return 0;
	}
	t_printf(t, "probe %#llx: %s", (unsigned long long)gpa, e == EEXIST ? "used" : t_errname(e));
	CHECK(e == EEXIST, "probe at %#llx: %s", (unsigned long long)gpa, t_errname(e));
	return 1;
}

static long get_log(struct tctx *t, int vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log;
	char what[64];

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.dirty_bitmap = bitmap;
	snprintf(what, sizeof(what), "GET_DIRTY_LOG(slot=%#x)", slot);
	return t_ioctl(t, what, vm, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

static long clear_log(struct tctx *t, int vm, uint32_t slot, uint64_t first, uint32_t num,
		      void *bitmap)
{
	struct kvm_clear_dirty_log log;
	char what[96];

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.first_page = first;
	log.num_pages = num;
	log.dirty_bitmap = bitmap;
	snprintf(what, sizeof(what), "CLEAR_DIRTY_LOG(slot=%#x first=%#llx num=%#x)", slot,
		 (unsigned long long)first, num);
	return t_ioctl(t, what, vm, KVM_CLEAR_DIRTY_LOG, (unsigned long)&log);
}

static long enable_cap(struct tctx *t, int fd, uint32_t cap, uint32_t flags, uint64_t arg0)
{
	struct kvm_enable_cap c;
	char what[96];

	memset(&c, 0, sizeof(c));
	c.cap = cap;
	c.flags = flags;
	c.args[0] = arg0;
	snprintf(what, sizeof(what), "ENABLE_CAP(cap=%u flags=%#x arg0=%#llx)", cap, flags,
		 (unsigned long long)arg0);
	return t_ioctl(t, what, fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

#define OPEN_VM()							\
	int sys = t_open_sys(t), vm = t_create_vm(t, sys);		\
	long r;								\
	if (!buf_get()) {						\
		CHECK(0, "mmap of the guest buffer failed");		\
		return;							\
	}

#define CLOSE_VM() do { close(vm); close(sys); buf_put(); } while (0)

/* ------------------------------------------------------------------ */
/* KVM_SET_USER_MEMORY_REGION(2): flags                                */
/* ------------------------------------------------------------------ */

KVM_CASE(memslot_flags)
{
	OPEN_VM();
	/* Unknown flags, on both versions of the ioctl. */
	for (int v2 = 0; v2 <= 1; v2++) {
		r = set_mem(t, vm, v2, 0, 1u << 3, 0, PG, HVA(0));
		CHECK_ERR(t, r, EINVAL);
		r = set_mem(t, vm, v2, 0, 1u << 31, 0, PG, HVA(0));
		CHECK_ERR(t, r, EINVAL);
		/*
		 * KVM_MEM_GUEST_MEMFD: v1 rejects it as a v2-only flag
		 * (KVM_SET_USER_MEMORY_REGION_V1_FLAGS); v2 rejects it because
		 * a default VM has no private memory.
		 */
		r = set_mem(t, vm, v2, 0, KVM_MEM_GUEST_MEMFD, 0, PG, HVA(0));
		CHECK_ERR(t, r, EINVAL);
	}
	probe(t, vm, 0);
	/* Read-only and dirty-logged slots, alone and together. */
	r = set_mem(t, vm, 0, 1, KVM_MEM_READONLY, 0, PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 1, 2, KVM_MEM_LOG_DIRTY_PAGES, PG, PG, HVA(PG));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 3, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY, 2 * PG, PG, HVA(2 * PG));
	CHECK_EQ(r, 0);
	probe(t, vm, 0);
	probe(t, vm, PG);
	probe(t, vm, 2 * PG);
	CLOSE_VM();
}

/* An unknown flag is refused before anything else is looked at. */
KVM_CASE(memslot_flags_checked_first)
{
	OPEN_VM();
	r = set_mem(t, vm, 1, 0x10000 | 7, 1u << 5, 0x123, 0x777, 1);
	CHECK_ERR(t, r, EINVAL);
	/* ... but the user slot bound is checked before even the flags. */
	r = set_mem(t, vm, 1, 32764, 1u << 5, 0, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* Alignment and ranges                                                */
/* ------------------------------------------------------------------ */

KVM_CASE(memslot_alignment)
{
	OPEN_VM();
	for (int v2 = 0; v2 <= 1; v2++) {
		r = set_mem(t, vm, v2, 0, 0, 0, PG + 1, HVA(0));	/* size */
		CHECK_ERR(t, r, EINVAL);
		r = set_mem(t, vm, v2, 0, 0, 0, 512, HVA(0));
		CHECK_ERR(t, r, EINVAL);
		r = set_mem(t, vm, v2, 0, 0, 0x800, PG, HVA(0));	/* gpa */
		CHECK_ERR(t, r, EINVAL);
		r = set_mem(t, vm, v2, 0, 0, 0, PG, HVA(8));		/* hva */
		CHECK_ERR(t, r, EINVAL);
	}
	probe(t, vm, 0);
	r = set_mem(t, vm, 0, 0, 0, 0, PG, HVA(0));
	CHECK_EQ(r, 0);
	/* A delete (size 0) is checked for alignment too: the slot stays. */
	r = set_mem(t, vm, 0, 0, 0, 0x10, 0, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, 0, 0, HVA(0) + 1);
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, 0);
	/* ... while a delete with other (aligned) gpa/hva values works. */
	r = set_mem(t, vm, 0, 0, 0, 0x7000, 0, 0x5000);
	CHECK_EQ(r, 0);
	probe(t, vm, 0);
	CLOSE_VM();
}

/*
 * The hva range must be user memory: access_ok(userspace_addr, size).  KVM
 * does not require it to be mapped when the slot is set.
 */
KVM_CASE(memslot_hva_range)
{
	const uint64_t top = 0x7ffffffff000ull;	/* TASK_SIZE_MAX, 4-level paging */

	OPEN_VM();
	r = set_mem(t, vm, 0, 0, 0, 0, PG, 0x100000000ull);	/* unmapped user memory */
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 1, 0, 0, PG, 0);			/* hva 0 is a user address */
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 1, 0, 0, 0, 0);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 0, 0, 0, 16 * PG, top - 16 * PG);	/* ends at the top */
	t_printf(t, "ends at TASK_SIZE_MAX: %s", r == 0 ? "accepted" : t_errname(t->err));
	if (r == 0) {
		r = set_mem(t, vm, 0, 0, 0, 0, 0, 0);
		CHECK_EQ(r, 0);
	}
	r = set_mem(t, vm, 0, 0, 0, 0, 2 * PG, top - PG);	/* crosses it */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, 0, PG, top);
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, 0, PG, 0x800000000000ull);	/* non-canonical */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, 0, PG, 0xffff800000000000ull);	/* kernel half */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, 0, 2 * PG, 0xfffffffffffff000ull);	/* wraps */
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, 0);
	CLOSE_VM();
}

/* Slot ids: 0..KVM_USER_MEM_SLOTS-1 (32763) in address space 0. */
KVM_CASE(memslot_slot_ids)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 32763, 0, 0, PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 32764, 0, PG, PG, HVA(PG));	/* KVM's private slots */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 32766, 0, PG, PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0xffff, 0, PG, PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 32764, 0, 0, 0, 0);		/* even to delete */
	CHECK_ERR(t, r, EINVAL);
	/* slot >> 16 is the address space: only 0 (no SMM address space) */
	r = set_mem(t, vm, 0, 0x10000 | 1, 0, PG, PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 0x10000 | 1, 0, PG, PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0xffff0000u | 1, 0, PG, PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0x10000 | 32763, 0, 0, 0, 0);	/* not slot 32763 of as 0 */
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, 0);
	probe(t, vm, PG);
	r = set_mem(t, vm, 0, 32763, 0, 0, 0, 0);
	CHECK_EQ(r, 0);
	probe(t, vm, 0);
	CLOSE_VM();
}

KVM_CASE(memslot_gpa_wrap_and_size)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 0, 0, 0xfffffffffffff000ull, 2 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 0, 0, 0xffffffffffff0000ull, 0x20000, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	/*
	 * More than KVM_MEM_MAX_NR_PAGES (2^31 - 1) pages: the dirty bitmap
	 * is indexed by unsigned int.  (An unmapped hva: it is refused first.)
	 */
	r = set_mem(t, vm, 0, 0, 0, 0, (1ull << 31) * PG, 0x100000000ull);
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 0, 0, 0, (1ull << 32) * PG, 0x100000000ull);
	CHECK_ERR(t, r, EINVAL);
	/* a 1 GiB slot is fine */
	r = set_mem(t, vm, 0, 0, 0, 0, 1ull << 30, 0x100000000ull);
	CHECK_EQ(r, 0);
	probe(t, vm, (1ull << 30) - PG);
	probe(t, vm, 1ull << 30);
	CLOSE_VM();
}

/*
 * kvm_arch_prepare_memory_region(): a slot must end below the MMU's
 * largest gfn.  That bound is MAXPHYADDR with TDP (VMX with EPT: the host's
 * MAXPHYADDR; userkvm's processor: 48 bits) and 52 bits with shadow paging,
 * which this host's PVM backend uses.  So a slot at or above 2^52 fails on
 * every backend, one below 2^48 works on every backend, and one between the
 * two is a known difference.
 */
KVM_CASE(memslot_maxphyaddr)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 0, 0, 1ull << 52, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, (1ull << 52) - PG, 2 * PG, HVA(0));	/* straddles */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 0, 0, 1ull << 60, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 0, 0, (1ull << 48) - PG, PG, HVA(0));	/* the last page */
	CHECK_EQ(r, 0);
	/* A move above 2^52 is refused too, and leaves the slot where it was. */
	r = set_mem(t, vm, 0, 0, 0, 1ull << 52, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, (1ull << 48) - PG);
	r = set_mem(t, vm, 0, 0, 0, 0, 0, HVA(0));
	CHECK_EQ(r, 0);

	t_differs(t, "gpa 2^48: above userkvm's MAXPHYADDR (48, as VMX+EPT on this CPU); "
		  "PVM's shadow MMU allows 52 bits");
	r = set_mem(t, vm, 0, 1, 0, 1ull << 48, PG, HVA(0));
	CHECK_SOFT(t, r == -1 && t->err == EINVAL, "gpa 2^48 accepted");
	t_differs(t, "gpa 2^52-4K: likewise");
	r = set_mem(t, vm, 0, 2, 0, (1ull << 52) - PG, PG, HVA(PG));
	CHECK_SOFT(t, r == -1 && t->err == EINVAL, "gpa 2^52-4K accepted");
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* Create, delete, move, flags-only, and what a live slot may change    */
/* ------------------------------------------------------------------ */

KVM_CASE(memslot_delete)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 5, 0, 0, 0, 0);		/* delete a missing slot */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 5, 0, 0, 0, 0);
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 5, 0, 0x100000, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	probe(t, vm, 0x100000 + 3 * PG);
	r = set_mem(t, vm, 0, 5, 0, 0, 0, 0);
	CHECK_EQ(r, 0);
	probe(t, vm, 0x100000 + 3 * PG);
	r = set_mem(t, vm, 0, 5, 0, 0, 0, 0);		/* twice */
	CHECK_ERR(t, r, EINVAL);
	/* re-create with other values: a new slot */
	r = set_mem(t, vm, 1, 5, KVM_MEM_READONLY, 0x200000, 8 * PG, HVA(16 * PG));
	CHECK_EQ(r, 0);
	probe(t, vm, 0x100000);
	probe(t, vm, 0x200000 + 7 * PG);
	/* a delete is checked like any update: unknown flags, the hva range */
	r = set_mem(t, vm, 0, 5, 1u << 4, 0, 0, 0);
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 5, KVM_MEM_GUEST_MEMFD, 0, 0, 0);	/* v1: v2-only flag */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 5, 0, 0, 0, 0x800000000000ull);
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 5, 0, 0, 0, 0xfffffffffffff000ull);
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, 0x200000);
	/* ... but the other valid flags and values do not matter */
	r = set_mem(t, vm, 0, 5, KVM_MEM_LOG_DIRTY_PAGES, 0x5000, 0, 0x7ffffffff000ull);
	CHECK_EQ(r, 0);
	probe(t, vm, 0x200000);
	CLOSE_VM();
}

KVM_CASE(memslot_overlap)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 0, 0, 0x10000, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	/* any overlap with another slot, whatever the hva */
	r = set_mem(t, vm, 0, 1, 0, 0x10000, 16 * PG, HVA(0));
	CHECK_ERR(t, r, EEXIST);
	r = set_mem(t, vm, 0, 1, 0, 0x10000 + 15 * PG, PG, HVA(0x100000));	/* last page */
	CHECK_ERR(t, r, EEXIST);
	r = set_mem(t, vm, 1, 1, 0, 0x10000 - PG, 2 * PG, HVA(0x100000));	/* first page */
	CHECK_ERR(t, r, EEXIST);
	r = set_mem(t, vm, 0, 1, 0, 0, 0x100000, HVA(0x100000));		/* around */
	CHECK_ERR(t, r, EEXIST);
	r = set_mem(t, vm, 0, 1, KVM_MEM_READONLY, 0x14000, PG, HVA(0x100000));	/* inside */
	CHECK_ERR(t, r, EEXIST);
	/* adjacent on either side is no overlap */
	r = set_mem(t, vm, 0, 1, 0, 0x10000 - PG, PG, HVA(0x100000));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 2, 0, 0x20000, PG, HVA(0x101000));
	CHECK_EQ(r, 0);
	/* the same hva in two slots is allowed (aliases) */
	r = set_mem(t, vm, 0, 3, 0, 0x40000, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	/* Overlap is checked after the rules for a live slot: EINVAL first. */
	r = set_mem(t, vm, 0, 3, 0, 0x10000, 8 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	/* Moving onto another slot is an overlap. */
	r = set_mem(t, vm, 0, 3, 0, 0x18000, 16 * PG, HVA(0));
	CHECK_ERR(t, r, EEXIST);
	/* A slot over its own old range is not an overlap (a move). */
	r = set_mem(t, vm, 0, 3, 0, 0x48000, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	probe(t, vm, 0x40000);
	probe(t, vm, 0x48000 + 15 * PG);
	probe(t, vm, 0x58000);
	/* A deleted slot's range is free again. */
	r = set_mem(t, vm, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 4, 0, 0x10000, 16 * PG, HVA(0x200000));
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

KVM_CASE(memslot_move)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 7, 0, 0x100000, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 1, 7, 0, 0x300000, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	probe(t, vm, 0x100000);
	probe(t, vm, 0x300000);
	probe(t, vm, 0x300000 + 3 * PG);
	probe(t, vm, 0x300000 + 4 * PG);
	/* a move keeps dirty logging and may change nothing else */
	r = set_mem(t, vm, 0, 7, KVM_MEM_LOG_DIRTY_PAGES, 0x300000, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 7, KVM_MEM_LOG_DIRTY_PAGES, 0, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	{
		uint64_t bm[4] = { ~0ull, ~0ull, ~0ull, ~0ull };

		r = get_log(t, vm, 7, bm);
		CHECK_EQ(r, 0);
		t_printf(t, "bitmap %#llx %#llx", (unsigned long long)bm[0],
			 (unsigned long long)bm[1]);
	}
	/* a move and a flags change at once */
	r = set_mem(t, vm, 0, 7, 0, 0x500000, 4 * PG, HVA(0));
	CHECK_EQ(r, 0);
	probe(t, vm, 0);
	probe(t, vm, 0x500000);
	{
		uint64_t bm[1];

		r = get_log(t, vm, 7, bm);
		CHECK_ERR(t, r, ENOENT);
	}
	CLOSE_VM();
}

KVM_CASE(memslot_live_slot_rules)
{
	OPEN_VM();
	r = set_mem(t, vm, 0, 3, 0, 0x100000, 8 * PG, HVA(0));
	CHECK_EQ(r, 0);
	/* identical re-set: nothing to do */
	r = set_mem(t, vm, 0, 3, 0, 0x100000, 8 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 1, 3, 0, 0x100000, 8 * PG, HVA(0));
	CHECK_EQ(r, 0);
	/* the hva, the size and READONLY are fixed for the life of a slot */
	r = set_mem(t, vm, 0, 3, 0, 0x100000, 8 * PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 3, 0, 0x100000, 4 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 1, 3, 0, 0x100000, 16 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 3, KVM_MEM_READONLY, 0x100000, 8 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 3, KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES, 0x200000, 8 * PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	/* ... also when moving */
	r = set_mem(t, vm, 0, 3, 0, 0x200000, 8 * PG, HVA(PG));
	CHECK_ERR(t, r, EINVAL);
	probe(t, vm, 0x100000);
	probe(t, vm, 0x200000);
	/* a read-only slot cannot become writable either */
	r = set_mem(t, vm, 0, 4, KVM_MEM_READONLY, 0x400000, PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 4, 0, 0x400000, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 4, KVM_MEM_READONLY, 0x400000, PG, HVA(0));
	CHECK_EQ(r, 0);
	/* a v2 update of a live slot may not carry KVM_MEM_GUEST_MEMFD */
	r = set_mem(t, vm, 1, 4, KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD, 0x400000, PG, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	CLOSE_VM();
}

/* Dirty logging on and off is a flags-only change of a live slot. */
KVM_CASE(memslot_flags_only)
{
	uint64_t bm[2];

	OPEN_VM();
	r = set_mem(t, vm, 0, 9, 0, 0, 100 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 9, bm);
	CHECK_ERR(t, r, ENOENT);
	r = set_mem(t, vm, 0, 9, KVM_MEM_LOG_DIRTY_PAGES, 0, 100 * PG, HVA(0));
	CHECK_EQ(r, 0);
	memset(bm, 0xa5, sizeof(bm));
	r = get_log(t, vm, 9, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0);
	CHECK_EQ(bm[1], 0);
	r = set_mem(t, vm, 1, 9, KVM_MEM_LOG_DIRTY_PAGES, 0, 100 * PG, HVA(0));	/* same */
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 9, 0, 0, 100 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 9, bm);
	CHECK_ERR(t, r, ENOENT);
	probe(t, vm, 99 * PG);
	CLOSE_VM();
}

/* The v2 struct's extra fields count only with KVM_MEM_GUEST_MEMFD. */
KVM_CASE(memslot_v2_struct)
{
	struct kvm_userspace_memory_region2 m;

	OPEN_VM();
	memset(&m, 0, sizeof(m));
	m.slot = 1;
	m.guest_phys_addr = 0x10000;
	m.memory_size = 4 * PG;
	m.userspace_addr = HVA(0);
	m.guest_memfd_offset = 0x123;	/* unaligned, but unused */
	m.guest_memfd = 12345;		/* not a guest_memfd, but unused */
	m.pad1 = 0xdeadbeef;
	for (int i = 0; i < 14; i++)
		m.pad2[i] = ~0ull;
	r = set_mem2(t, vm, 1, &m);
	CHECK_EQ(r, 0);
	probe(t, vm, 0x10000);
	/*
	 * With the flag: userkvm has no guest_memfd (KVM_CAP_GUEST_MEMFD is
	 * 0), so the flag is invalid, as in KVM without CONFIG_KVM_GUEST_MEMFD
	 * or before 6.18.  This host's KVM (6.18) lets a default VM use
	 * guest_memfd and fails on the descriptor (12345) instead: EBADF.
	 */
	m.slot = 2;
	m.guest_phys_addr = 0x20000;
	m.flags = KVM_MEM_GUEST_MEMFD;
	m.guest_memfd_offset = 0;
	t_differs(t, "KVM_CAP_GUEST_MEMFD: 1 on this host's KVM, 0 on userkvm");
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD);
	CHECK_SOFT(t, r == 0, "userkvm reports guest_memfd");
	t_differs(t, "KVM_MEM_GUEST_MEMFD on a default VM: EBADF where guest_memfd exists");
	if (r > 0) {
		r = set_mem2(t, vm, 1, &m);
		CHECK(r == -1 && t->err == EBADF, "GUEST_MEMFD with fd 12345: %s",
		      t_errname(t->err));
	} else {
		r = set_mem2(t, vm, 1, &m);
		CHECK_ERR(t, r, EINVAL);
	}
	/* a struct pointer that cannot be read */
	r = t_ioctl(t, "SET_USER_MEMORY_REGION2(NULL)", vm, KVM_SET_USER_MEMORY_REGION2, 0);
	CHECK_ERR(t, r, EFAULT);
	r = t_ioctl(t, "SET_USER_MEMORY_REGION(NULL)", vm, KVM_SET_USER_MEMORY_REGION, 0);
	CHECK_ERR(t, r, EFAULT);
	r = t_ioctl(t, "SET_USER_MEMORY_REGION(kernel ptr)", vm, KVM_SET_USER_MEMORY_REGION,
		    0xffffffffff600000ul);
	CHECK_ERR(t, r, EFAULT);
	CLOSE_VM();
}

/*
 * Many slots, created in a scrambled order, deleted in another; the probe
 * sees each one.
 */
KVM_CASE(memslot_many)
{
	enum { N = 200 };
	int order[N];

	OPEN_VM();
	for (int i = 0; i < N; i++)
		order[i] = (i * 73) % N;	/* 73 is prime to N: a permutation */
	for (int i = 0; i < N; i++) {
		int s = order[i];
		struct kvm_userspace_memory_region m = {
			(uint32_t)(s * 151), 0, (uint64_t)s * 4 * PG, 2 * PG, HVA((uint64_t)s * 2 * PG)
		};

		r = t->be->ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m);
		if (r) {
			CHECK(0, "slot %d: %s", s * 151, t_errname(errno));
			break;
		}
	}
	t_printf(t, "created %d slots", N);
	/* every slot's pages are used, the gaps between them free */
	for (int s = 0; s < N; s += 37) {
		probe(t, vm, (uint64_t)s * 4 * PG + PG);
		probe(t, vm, (uint64_t)s * 4 * PG + 2 * PG);
	}
	for (int i = N - 1; i >= 0; i -= 2) {
		int s = order[i];
		struct kvm_userspace_memory_region m = { (uint32_t)(s * 151), 0, 0, 0, 0 };

		r = t->be->ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m);
		CHECK(r == 0, "delete slot %d: %s", s * 151, t_errname(errno));
	}
	for (int i = 1; i < N; i += 40)
		probe(t, vm, (uint64_t)order[i] * 4 * PG);
	for (int i = 0; i < N; i += 40)
		probe(t, vm, (uint64_t)order[i] * 4 * PG);
	CLOSE_VM();
}

/*
 * KVM_CAP_NR_MEMSLOTS slots, all of them (what the selftest
 * set_memory_region_test's test_add_max_memory_regions does): 2 MiB each,
 * all aliasing one buffer.  Then every id is taken and the next is invalid.
 */
KVM_CASE(memslot_max_slots)
{
	long max;
	int i;

	OPEN_VM();
	max = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	CHECK_EQ(max, 32764);
	for (i = 0; i < max; i++) {
		struct kvm_userspace_memory_region m = {
			(uint32_t)i, 0, (uint64_t)i << 21, 2ull << 20, HVA(0)
		};

		if (t->be->ioctl(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m)) {
			CHECK(0, "slot %d: %s", i, t_errname(errno));
			break;
		}
	}
	t_printf(t, "created %d slots", i);
	r = set_mem(t, vm, 0, (uint32_t)max, 0, (uint64_t)max << 21, 2ull << 20, HVA(0));
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 12345, 0, 0, 0, 0);	/* delete one ... */
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 12345, 0, 12345ull << 21, 2ull << 20, HVA(0));	/* ... and back */
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* The dirty log                                                       */
/* ------------------------------------------------------------------ */

KVM_CASE(dirty_log_get_rules)
{
	uint64_t bm[4];

	OPEN_VM();
	r = get_log(t, vm, 0, bm);			/* no such slot */
	CHECK_ERR(t, r, ENOENT);
	r = set_mem(t, vm, 0, 0, 0, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 0, bm);			/* no dirty logging */
	CHECK_ERR(t, r, ENOENT);
	r = get_log(t, vm, 32764, bm);			/* not a user slot */
	CHECK_ERR(t, r, EINVAL);
	r = get_log(t, vm, 0xffff, bm);
	CHECK_ERR(t, r, EINVAL);
	r = get_log(t, vm, 0x10000, bm);		/* address space 1 */
	CHECK_ERR(t, r, EINVAL);
	r = set_mem(t, vm, 0, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 1, NULL);			/* bad bitmap pointers */
	CHECK_ERR(t, r, EFAULT);
	r = get_log(t, vm, 1, (void *)8);
	CHECK_ERR(t, r, EFAULT);
	r = get_log(t, vm, 1, (void *)0xffff800000000000ul);
	CHECK_ERR(t, r, EFAULT);
	r = get_log(t, vm, 1, (void *)0x8000000000000000ul);
	CHECK_ERR(t, r, EFAULT);
	r = t_ioctl(t, "GET_DIRTY_LOG(NULL)", vm, KVM_GET_DIRTY_LOG, 0);
	CHECK_ERR(t, r, EFAULT);
	r = get_log(t, vm, 1, bm);
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

/* The bitmap is ALIGN(npages, 64) / 8 bytes: nothing past it is written. */
KVM_CASE(dirty_log_bitmap_size)
{
	static const uint64_t sizes[] = { 1, 63, 64, 65, 128, 129, 1000 };
	unsigned char bm[256];

	OPEN_VM();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t written = 0;

		r = set_mem(t, vm, 0, 2, KVM_MEM_LOG_DIRTY_PAGES, 0, sizes[i] * PG, HVA(0));
		CHECK_EQ(r, 0);
		memset(bm, 0x5a, sizeof(bm));
		r = get_log(t, vm, 2, bm);
		CHECK_EQ(r, 0);
		while (written < sizeof(bm) && bm[written] == 0)
			written++;
		for (size_t j = written; j < sizeof(bm); j++)
			CHECK(bm[j] == 0x5a, "byte %zu of the bitmap changed", j);
		t_printf(t, "npages %llu: %zu bytes written", (unsigned long long)sizes[i], written);
		CHECK_EQ(written, (sizes[i] + 63) / 64 * 8);
		r = set_mem(t, vm, 0, 2, 0, 0, 0, 0);
		CHECK_EQ(r, 0);
	}
	CLOSE_VM();
}

KVM_CASE(dirty_log_manual_protect_cap)
{
	OPEN_VM();
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	CHECK_EQ(r, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	r = IOC(t, sys, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	CHECK_EQ(r, 3);
	/* the old capability number only reports */
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT);
	t_printf(t, "old cap reported: %d", r > 0);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 4);	/* unknown bit */
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, ~0ull);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 1, 1);	/* flags */
	CHECK_ERR(t, r, EINVAL);
	/* INITIALLY_SET only together with MANUAL_PROTECT_ENABLE */
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, KVM_DIRTY_LOG_INITIALLY_SET);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 1);
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 3);
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 0);	/* off again */
	CHECK_EQ(r, 0);
	/* the old number cannot be enabled */
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT, 0, 1);
	CHECK_ERR(t, r, EINVAL);
	/* a bad pointer to struct kvm_enable_cap */
	r = t_ioctl(t, "ENABLE_CAP(NULL)", vm, KVM_ENABLE_CAP, 0);
	CHECK_ERR(t, r, EFAULT);
	CLOSE_VM();
}

/*
 * KVM_DIRTY_LOG_INITIALLY_SET: bitmaps allocated while it is on start with
 * every page's bit set (exactly npages bits); with manual protection
 * KVM_GET_DIRTY_LOG does not clear them, KVM_CLEAR_DIRTY_LOG does.
 */
KVM_CASE(dirty_log_initially_set)
{
	uint64_t bm[4], mask[4];

	OPEN_VM();
	r = set_mem(t, vm, 0, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, 100 * PG, HVA(0));	/* before */
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0,
		       KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	CHECK_EQ(r, 0);
	memset(bm, 0xa5, sizeof(bm));
	r = get_log(t, vm, 1, bm);
	CHECK_EQ(r, 0);
	t_printf(t, "slot 1 (made before): %#llx %#llx", (unsigned long long)bm[0],
		 (unsigned long long)bm[1]);
	CHECK_EQ(bm[0], 0);

	r = set_mem(t, vm, 0, 2, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 100 * PG, HVA(0));
	CHECK_EQ(r, 0);
	memset(bm, 0xa5, sizeof(bm));
	r = get_log(t, vm, 2, bm);
	CHECK_EQ(r, 0);
	t_printf(t, "slot 2: %#llx %#llx %#llx", (unsigned long long)bm[0],
		 (unsigned long long)bm[1], (unsigned long long)bm[2]);
	CHECK_EQ(bm[0], ~0ull);
	CHECK_EQ(bm[1], (1ull << 36) - 1);
	CHECK_EQ(bm[2], 0xa5a5a5a5a5a5a5a5ull);	/* past the bitmap */
	/* manual protection: a second GET still sees them */
	r = get_log(t, vm, 2, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], ~0ull);
	/* clear pages 1, 2 and 63 of the first word, then 64..99 */
	mask[0] = (1ull << 1) | (1ull << 2) | (1ull << 63);
	r = clear_log(t, vm, 2, 0, 64, mask);
	CHECK_EQ(r, 0);
	mask[0] = ~0ull;	/* bits past the slot's end: ignored */
	r = clear_log(t, vm, 2, 64, 36, mask);
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 2, bm);
	CHECK_EQ(r, 0);
	t_printf(t, "after clear: %#llx %#llx", (unsigned long long)bm[0],
		 (unsigned long long)bm[1]);
	CHECK_EQ(bm[0], ~((1ull << 1) | (1ull << 2) | (1ull << 63)));
	CHECK_EQ(bm[1], 0);

	/* turning logging on for a live slot allocates a set bitmap too */
	r = set_mem(t, vm, 0, 3, 0, 0x200000, 10 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x200000, 10 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 3, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0x3ff);
	/* a move keeps the bitmap as it is */
	mask[0] = 0xf0;
	r = clear_log(t, vm, 3, 0, 10, mask);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x300000, 10 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 3, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0x30f);

	/* with manual protection off again, GET harvests (clears) */
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 0);
	CHECK_EQ(r, 0);
	r = get_log(t, vm, 3, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0x30f);
	r = get_log(t, vm, 3, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0);
	/* and new bitmaps start clear */
	r = set_mem(t, vm, 0, 4, KVM_MEM_LOG_DIRTY_PAGES, 0x400000, 10 * PG, HVA(0));
	CHECK_EQ(r, 0);
	bm[0] = 1;
	r = get_log(t, vm, 4, bm);
	CHECK_EQ(r, 0);
	CHECK_EQ(bm[0], 0);
	CLOSE_VM();
}

KVM_CASE(dirty_log_clear_rules)
{
	uint64_t mask[4] = { ~0ull, ~0ull, ~0ull, ~0ull };

	OPEN_VM();
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 3);
	CHECK_EQ(r, 0);
	/* slot id and first_page alignment are checked before the lookup */
	r = clear_log(t, vm, 32764, 0, 64, mask);
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 0x10000, 0, 64, mask);
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 1, 64, mask);		/* no slot 1 yet */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 0, 64, mask);
	CHECK_ERR(t, r, ENOENT);
	r = set_mem(t, vm, 0, 1, 0, 0, 200 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 0, 64, mask);		/* no dirty logging */
	CHECK_ERR(t, r, ENOENT);
	r = set_mem(t, vm, 0, 1, KVM_MEM_LOG_DIRTY_PAGES, 0, 200 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 32, 32, mask);		/* first_page % 64 */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 256, 0, mask);		/* first_page > npages */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 0, 201, mask);		/* past the end */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 192, 9, mask);
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 64, 0xffffffffu, mask);
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 0, 100, mask);		/* not a multiple of 64, not the end */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 0, 63, mask);
	CHECK_ERR(t, r, EINVAL);
	/* what is allowed */
	r = clear_log(t, vm, 1, 0, 64, mask);
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 64, 128, mask);
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 192, 8, mask);		/* up to the end */
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 0, 200, mask);
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 200, 0, mask);		/* first_page == npages, but % 64 */
	CHECK_ERR(t, r, EINVAL);
	r = clear_log(t, vm, 1, 128, 0, mask);		/* nothing */
	CHECK_EQ(r, 0);
	/* a bitmap of 0 bytes is not read: any pointer goes */
	r = clear_log(t, vm, 1, 64, 0, NULL);
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 0, 64, NULL);
	CHECK_ERR(t, r, EFAULT);
	r = clear_log(t, vm, 1, 0, 64, (void *)0xffff800000000000ul);
	CHECK_ERR(t, r, EFAULT);
	r = t_ioctl(t, "CLEAR_DIRTY_LOG(NULL)", vm, KVM_CLEAR_DIRTY_LOG, 0);
	CHECK_ERR(t, r, EFAULT);
	/* KVM_CLEAR_DIRTY_LOG works without manual protection too */
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 0);
	CHECK_EQ(r, 0);
	r = clear_log(t, vm, 1, 0, 64, mask);
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* The dirty log with a running guest                                  */
/* ------------------------------------------------------------------ */

/*
 * A real-mode guest at gpa 0 in a dirty-logged slot of 16 pages:
 *   round 1: writes pages 1 and 2, OUT 0x10
 *   round 2: writes page 1 again and page 3, OUT 0x10
 *   round 3: writes page 1 again, OUT 0x10, HLT
 * After each round KVM_GET_DIRTY_LOG must show the pages written in that
 * round: a page written again after a harvest is logged again, because
 * harvesting write-protects it (kvm_arch_mmu_enable_log_dirty_pt_masked).
 * Page 0, the code, is a known difference: with TDP (VMX with EPT, and
 * userkvm) a fetch maps the page writable and make_spte() logs it dirty
 * then; this host's PVM backend emulates real-mode code, and only writes
 * are logged.  The transcript compares the other pages and shows page 0
 * apart (dirty_code()).
 */
static const unsigned char dirty_guest[] = {
	0xc6, 0x06, 0x00, 0x10, 0x01,	/* movb $1, 0x1000 */
	0xc6, 0x06, 0x00, 0x20, 0x02,	/* movb $2, 0x2000 */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xc6, 0x06, 0x08, 0x10, 0x03,	/* movb $3, 0x1008 */
	0xc6, 0x06, 0x00, 0x30, 0x04,	/* movb $4, 0x3000 */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xc6, 0x06, 0x10, 0x10, 0x05,	/* movb $5, 0x1010 */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xf4,				/* hlt */
};

/* Split off page 0 (see above): record it as a known difference. */
static uint64_t dirty_code(struct tctx *t, uint64_t bm)
{
	t_differs(t, "the code page: dirty with TDP (VMX, userkvm), clean on PVM");
	t_printf(t, "code page dirty: %d", (int)(bm & 1));
	CHECK_SOFT(t, bm & 1, "code page not dirty after its first fetch");
	return bm & ~1ull;
}

static int dirty_guest_setup(struct tctx *t, int sys, int vm, struct kvm_run **runp, long *sizep)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int vcpu;

	memcpy(buf_base, dirty_guest, sizeof(dirty_guest));
	vcpu = (int)t->be->ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "KVM_CREATE_VCPU: %s", t_errname(errno));
	*sizep = t->be->ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	*runp = mmap(NULL, *sizep, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(*runp != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(t->be->ioctl(vcpu, KVM_GET_SREGS, (unsigned long)&sregs) == 0, "GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	CHECK(t->be->ioctl(vcpu, KVM_SET_SREGS, (unsigned long)&sregs) == 0, "SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 2;
	CHECK(t->be->ioctl(vcpu, KVM_SET_REGS, (unsigned long)&regs) == 0, "SET_REGS");
	return vcpu;
}

/* KVM_RUN to the next exit; record it. */
static void dirty_guest_run(struct tctx *t, int vcpu, struct kvm_run *run)
{
	long r = t->be->ioctl(vcpu, KVM_RUN, 0);

	if (r < 0) {
		t_printf(t, "KVM_RUN = -1 %s", t_errname(errno));
		CHECK(0, "KVM_RUN: %s", t_errname(errno));
		return;
	}
	if (run->exit_reason == KVM_EXIT_IO)
		t_printf(t, "exit IO port %#x", run->io.port);
	else
		t_printf(t, "exit %u", run->exit_reason);
}

KVM_CASE(dirty_log_guest_writes)
{
	struct kvm_run *run = MAP_FAILED;
	uint64_t bm;
	long size = 0;
	int vcpu;

	OPEN_VM();
	r = set_mem(t, vm, 0, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	vcpu = dirty_guest_setup(t, sys, vm, &run, &size);
	if (vcpu < 0 || run == MAP_FAILED)
		goto out;
	bm = ~0ull;
	r = get_log(t, vm, 0, &bm);	/* nothing yet: the host wrote the code */
	t_printf(t, "before: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0);

	dirty_guest_run(t, vcpu, run);
	r = get_log(t, vm, 0, &bm);
	bm = dirty_code(t, bm);
	t_printf(t, "round 1: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0x6);		/* pages 1 and 2 */
	dirty_guest_run(t, vcpu, run);
	r = get_log(t, vm, 0, &bm);
	t_printf(t, "round 2: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0xa);		/* page 1 again, page 3 */
	dirty_guest_run(t, vcpu, run);
	r = get_log(t, vm, 0, &bm);
	t_printf(t, "round 3: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0x2);
	dirty_guest_run(t, vcpu, run);	/* hlt */
	CHECK_EQ(run->exit_reason, KVM_EXIT_HLT);
	CHECK_EQ((unsigned char)buf_base[0x1010], 5);
	r = get_log(t, vm, 0, &bm);
	CHECK_EQ(bm, 0);
out:
	if (run != MAP_FAILED)
		munmap(run, size);
	if (vcpu >= 0)
		close(vcpu);
	CLOSE_VM();
}

/* With manual protection: a page is logged again only once it was cleared. */
KVM_CASE(dirty_log_guest_writes_manual)
{
	struct kvm_run *run = MAP_FAILED;
	uint64_t bm, mask;
	long size = 0;
	int vcpu;

	OPEN_VM();
	r = enable_cap(t, vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 1);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	vcpu = dirty_guest_setup(t, sys, vm, &run, &size);
	if (vcpu < 0 || run == MAP_FAILED)
		goto out;
	dirty_guest_run(t, vcpu, run);
	r = get_log(t, vm, 0, &bm);
	bm = dirty_code(t, bm);
	t_printf(t, "round 1: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0x6);
	mask = 0x6;			/* clear pages 1 and 2, keep the code's */
	r = clear_log(t, vm, 0, 0, 16, &mask);
	CHECK_EQ(r, 0);
	dirty_guest_run(t, vcpu, run);
	r = get_log(t, vm, 0, &bm);
	bm = dirty_code(t, bm);		/* never cleared */
	t_printf(t, "round 2: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0xa);		/* page 1 again, page 3 */
	dirty_guest_run(t, vcpu, run);	/* page 1, not cleared since: no change */
	r = get_log(t, vm, 0, &bm);
	bm = dirty_code(t, bm);
	t_printf(t, "round 3: %#llx", (unsigned long long)bm);
	CHECK_EQ(bm, 0xa);
	mask = ~0ull;
	r = clear_log(t, vm, 0, 0, 16, &mask);
	CHECK_EQ(r, 0);
	dirty_guest_run(t, vcpu, run);	/* hlt */
	r = get_log(t, vm, 0, &bm);
	CHECK_EQ(bm, 0);
out:
	if (run != MAP_FAILED)
		munmap(run, size);
	if (vcpu >= 0)
		close(vcpu);
	CLOSE_VM();
}

/*
 * Memslots as a running guest sees them: two slots aliasing one host page,
 * a slot moved while the guest has used it (the new gpa maps the same
 * memory; the old gpa maps nothing any more).  Real mode, DS-relative.
 */
static const unsigned char slot_guest[] = {
	0xb8, 0x00, 0x10,		/* mov $0x1000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds          (gpa 0x10000: slot 1) */
	0xa0, 0x00, 0x00,		/* mov 0x0, %al */
	0xe6, 0x10,			/* out %al, $0x10        (1: host's 0x5a) */
	0xc6, 0x06, 0x01, 0x00, 0x77,	/* movb $0x77, 0x1 */
	0xb8, 0x00, 0x20,		/* mov $0x2000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds          (gpa 0x20000: slot 2, alias) */
	0xa0, 0x01, 0x00,		/* mov 0x1, %al */
	0xe6, 0x10,			/* out %al, $0x10        (2: 0x77 via the alias) */
	0xb8, 0x00, 0x30,		/* mov $0x3000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds          (gpa 0x30000: slot 1 moved) */
	0xa0, 0x02, 0x00,		/* mov 0x2, %al */
	0xe6, 0x10,			/* out %al, $0x10        (3: host's 0x33) */
	0xb8, 0x00, 0x10,		/* mov $0x1000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds          (gpa 0x10000: no slot now) */
	0xa0, 0x00, 0x00,		/* mov 0x0, %al          (4: MMIO, not memory) */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xf4,				/* hlt */
};

static int slot_guest_out(struct tctx *t, int vcpu, struct kvm_run *run)
{
	long r = t->be->ioctl(vcpu, KVM_RUN, 0);

	if (r < 0 || run->exit_reason != KVM_EXIT_IO) {
		t_printf(t, "KVM_RUN = %ld exit %u", r, run->exit_reason);
		return -1;
	}
	t_printf(t, "out %#x", ((unsigned char *)run)[run->io.data_offset]);
	return ((unsigned char *)run)[run->io.data_offset];
}

KVM_CASE(memslot_guest_alias_and_move)
{
	struct kvm_run *run = MAP_FAILED;
	long size = 0;
	int vcpu;

	OPEN_VM();
	r = set_mem(t, vm, 0, 0, 0, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 1, 0, 0x10000, PG, HVA(0x100000));
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 2, 0, 0x20000, PG, HVA(0x100000));	/* the same page */
	CHECK_EQ(r, 0);
	buf_base[0x100000] = 0x5a;
	vcpu = dirty_guest_setup(t, sys, vm, &run, &size);
	if (vcpu < 0 || run == MAP_FAILED)
		goto out;
	memcpy(buf_base, slot_guest, sizeof(slot_guest));
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x5a);
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x77);
	CHECK_EQ((unsigned char)buf_base[0x100001], 0x77);	/* the host sees it too */
	r = set_mem(t, vm, 0, 1, 0, 0x30000, PG, HVA(0x100000));	/* move slot 1 */
	CHECK_EQ(r, 0);
	buf_base[0x100002] = 0x33;
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x33);
	/*
	 * The old gpa: KVM_EXIT_MMIO (a read of 1 byte at 0x10000) on KVM;
	 * userkvm has no instruction emulator yet (KVM_EXIT_INTERNAL_ERROR),
	 * but must not read the page through a mapping left from before the
	 * move.
	 */
	r = t->be->ioctl(vcpu, KVM_RUN, 0);
	t_differs(t, "the old gpa: KVM_EXIT_MMIO on KVM; no emulator in userkvm yet");
	t_printf(t, "KVM_RUN = %ld exit %u", r, run->exit_reason);
	CHECK(run->exit_reason != KVM_EXIT_IO, "the moved slot's old gpa still maps memory");
	/* (under the shim the "kvm" side is userkvm too: accept either) */
	if (run->exit_reason == KVM_EXIT_MMIO)
		CHECK(run->mmio.phys_addr == 0x10000 && !run->mmio.is_write && run->mmio.len == 1,
		      "MMIO %#llx len %u write %u", (unsigned long long)run->mmio.phys_addr,
		      run->mmio.len, run->mmio.is_write);
	else
		CHECK_EQ(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
out:
	if (run != MAP_FAILED)
		munmap(run, size);
	if (vcpu >= 0)
		close(vcpu);
	CLOSE_VM();
}

/*
 * A vCPU thread runs a guest that increments a counter and exits (OUT) in
 * a loop, while another thread harvests the dirty log, switches dirty
 * logging of the guest's slot on and off and makes and deletes another
 * slot.  Every increment must land (the counter equals the number of
 * exits) and no update may fail.  For MODE=tsan this is the memslot and
 * dirty-log code racing the run loop and the MMU.
 */
static const unsigned char counter_guest[] = {
	0x66, 0xff, 0x06, 0x00, 0x10,	/* 0: incl 0x1000 */
	0xe6, 0x10,			/* 5: out %al, $0x10 */
	0xeb, 0xf7,			/* 7: jmp 0 */
};

struct counter_race {
	struct tctx *t;
	int vm, vcpu, exits, bad_exits, stop;
	struct kvm_run *run;
	long updates, failures;
};

static void *counter_vcpu_fn(void *p)
{
	struct counter_race *c = p;

	/* at least 1000 exits, and on until the other thread made 100 updates */
	while (c->exits < 1000 || __atomic_load_n(&c->updates, __ATOMIC_ACQUIRE) < 100) {
		if (c->t->be->ioctl(c->vcpu, KVM_RUN, 0) < 0 || c->run->exit_reason != KVM_EXIT_IO ||
		    c->run->io.port != 0x10) {
			c->bad_exits++;
			break;
		}
		c->exits++;
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *counter_racer_fn(void *p)
{
	struct counter_race *c = p;
	uint64_t bm[1];

	for (int i = 0; !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE); i++) {
		struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bm };
		struct kvm_userspace_memory_region m0 = {
			0, (i & 1) ? 0 : KVM_MEM_LOG_DIRTY_PAGES, 0, 16 * PG, HVA(0)
		};
		struct kvm_userspace_memory_region m7 = {
			7, 0, 0x100000, (i & 2) ? 0 : 4 * PG, HVA(0x200000)
		};
		long r;

		r = c->t->be->ioctl(c->vm, KVM_GET_DIRTY_LOG, (unsigned long)&log);
		if (r && errno != ENOENT)
			c->failures++;
		c->failures += c->t->be->ioctl(c->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m0) != 0;
		if (!(i & 1))			/* slot 7: create, delete, create, ... */
			c->failures += c->t->be->ioctl(c->vm, KVM_SET_USER_MEMORY_REGION,
						       (unsigned long)&m7) != 0;
		__atomic_fetch_add(&c->updates, 1, __ATOMIC_RELEASE);
		sched_yield();
	}
	return NULL;
}

KVM_CASE(memslot_guest_running_updates)
{
	struct counter_race c;
	pthread_t tv, tr;
	long size = 0;

	OPEN_VM();
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.vm = vm;
	r = set_mem(t, vm, 0, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	c.vcpu = dirty_guest_setup(t, sys, vm, &c.run, &size);
	if (c.vcpu < 0 || c.run == MAP_FAILED)
		goto out;
	memcpy(buf_base, counter_guest, sizeof(counter_guest));
	pthread_create(&tv, NULL, counter_vcpu_fn, &c);
	pthread_create(&tr, NULL, counter_racer_fn, &c);
	pthread_join(tv, NULL);
	pthread_join(tr, NULL);
	t_printf(t, "bad exits %d, failed updates %ld, counter == exits %d", c.bad_exits,
		 c.failures, *(volatile uint32_t *)(buf_base + 0x1000) == (uint32_t)c.exits);
	CHECK(c.exits >= 1000, "%d exits", c.exits);
	CHECK_EQ(c.bad_exits, 0);
	CHECK_EQ(c.failures, 0);
	CHECK_EQ(*(volatile uint32_t *)(buf_base + 0x1000), c.exits);
	CHECK(c.updates >= 100, "%ld updates", c.updates);
out:
	if (c.run != MAP_FAILED)
		munmap(c.run, size);
	if (c.vcpu >= 0)
		close(c.vcpu);
	CLOSE_VM();
}

/*
 * KVM_SET_NR_MMU_PAGES: the shadow-page budget, at least 64 (the TDP MMU
 * does not count against it).  KVM_GET_NR_MMU_PAGES is gone from KVM
 * (ENOTTY).  The KVM selftest set_memory_region_test sets 64.
 */
KVM_CASE(memslot_nr_mmu_pages)
{
	OPEN_VM();
	r = IOC(t, vm, KVM_GET_NR_MMU_PAGES, 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, KVM_SET_NR_MMU_PAGES, 63);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_NR_MMU_PAGES, 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_NR_MMU_PAGES, 64);
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 0, 0, 0, 32ull << 20, HVA(0));
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_SET_NR_MMU_PAGES, 1ul << 40);	/* no ceiling */
	CHECK_EQ(r, 0);
	r = set_mem(t, vm, 0, 0, 0, 0, 0, HVA(0));
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

/*
 * Host memory behind a slot unmapped while the slot stays: KVM's MMU
 * notifier drops the mappings, and the guest's next touch of the page
 * fails KVM_RUN with EFAULT (the instruction does not retire); pages still
 * mapped keep working, and memory mapped again at the address is used.
 * userkvm sees munmap through its interposed munmap (the library's MMU
 * notifier): without it the process would crash on the stale pointer.
 */
static const unsigned char unmap_guest[] = {
	0xb8, 0x00, 0x10,		/* mov $0x1000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds          (gpa 0x10000: slot 1) */
	0xa0, 0x00, 0x00,		/* 5: mov 0x0, %al */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xeb, 0xf9,			/* jmp 5 */
};

KVM_CASE(memslot_hva_unmapped)
{
	struct kvm_run *run = MAP_FAILED;
	struct kvm_regs regs;
	long size = 0;
	int vcpu = -1;
	char *m;

	OPEN_VM();
	m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap");
	if (m == MAP_FAILED)
		goto out;
	r = set_mem(t, vm, 0, 0, 0, 0, 16 * PG, HVA(0));
	CHECK_EQ(r, 0);
	r = t_ioctl(t, "SET_USER_MEMORY_REGION(slot 1: gpa 0x10000, 2 pages of m)", vm,
		    KVM_SET_USER_MEMORY_REGION, (unsigned long)&(struct kvm_userspace_memory_region){
			    1, 0, 0x10000, 2 * PG, (uint64_t)(uintptr_t)m });
	CHECK_EQ(r, 0);
	m[0] = 0x5a;
	vcpu = dirty_guest_setup(t, sys, vm, &run, &size);
	if (vcpu < 0 || run == MAP_FAILED)
		goto out;
	memcpy(buf_base, unmap_guest, sizeof(unmap_guest));
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x5a);
	/* the slot's second page goes: the first still reads */
	CHECK_EQ(munmap(m + PG, PG), 0);
	m[0] = 0x5b;
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x5b);
	/*
	 * The first page goes: EFAULT and KVM_EXIT_MEMORY_FAULT at its gpa,
	 * RIP stays on the load.  This host's PVM KVM emulates CPL0 code, and
	 * its emulator takes the missing page for MMIO (a 1-byte read).
	 */
	CHECK_EQ(munmap(m, PG), 0);
	for (int again = 0; again < 2; again++) {
		struct kvm_memory_fault_exit *mf = kvm_run_memory_fault(run);

		r = t->be->ioctl(vcpu, KVM_RUN, 0);
		t_differs(t, "unmapped slot page: VMX KVM EFAULT + KVM_EXIT_MEMORY_FAULT; PVM MMIO");
		t_printf(t, "KVM_RUN = %ld %s exit %u", r, r < 0 ? t_errname(errno) : "",
			 run->exit_reason);
		CHECK_SOFT(t, r == -1 && errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			   mf->gpa == 0x10000 && mf->size == PG && mf->flags == 0,
			   "KVM_RUN %ld exit %u gpa %#llx size %#llx", r, run->exit_reason,
			   (unsigned long long)mf->gpa, (unsigned long long)mf->size);
		if (again)	/* (PVM has completed the "MMIO" read by now) */
			break;
		CHECK_OK(t, IOC(t, vcpu, KVM_GET_REGS, &regs));
		t_printf(t, "rip %#llx", (unsigned long long)regs.rip);
		CHECK_EQ(regs.rip, 5);
	}
	/* memory mapped there again is what the guest reads */
	CHECK(mmap(m, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == m,
	      "mmap again");
	m[0] = 0x66;
	CHECK_EQ(slot_guest_out(t, vcpu, run), 0x66);
	munmap(m, PG);
out:
	if (run != MAP_FAILED)
		munmap(run, size);
	if (vcpu >= 0)
		close(vcpu);
	CLOSE_VM();
}
