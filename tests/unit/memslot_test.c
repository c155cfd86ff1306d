// SPDX-License-Identifier: MIT
/*
 * Unit tests of virt/kvm's memslots (src/kvm/kvm_main.c), calling the
 * internal functions directly: validation in kvm_set_memory_region(),
 * lookups (gfn_to_memslot, gfn_to_hva, id_to_memslot) at slot edges, the
 * gfn-sorted array under random insertion, moves and deletions, the dirty
 * bitmap (mark_page_dirty_in_slot + KVM_GET/CLEAR_DIRTY_LOG), and readers
 * under kvm->srcu racing a writer.
 *
 * The hvas here are never dereferenced: slots only record them.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "api/kvm_fd.h"
#include "kvm/kvm_host.h"
#include "../test.h"

#define PG 4096ull
#define HVA_BASE 0x200000000000ull

static struct kvm *new_vm(void)
{
	int err = 0;
	struct kvm *kvm = kvm_create_vm(0, &err);

	CHECK(kvm, "kvm_create_vm: %d", err);
	return kvm;
}

static int set(struct kvm *kvm, u32 slot, u32 flags, u64 gpa, u64 size, u64 hva)
{
	struct kvm_userspace_memory_region2 m;
	int r;

	memset(&m, 0, sizeof(m));
	m.slot = slot;
	m.flags = flags;
	m.guest_phys_addr = gpa;
	m.memory_size = size;
	m.userspace_addr = hva;
	pthread_mutex_lock(&kvm->slots_lock);
	r = kvm_set_memory_region(kvm, &m);
	pthread_mutex_unlock(&kvm->slots_lock);
	return r;
}

/* The active array is sorted by gfn, without overlaps, and matches by id. */
static void check_array(struct kvm *kvm, int expect_nr)
{
	struct kvm_memslots *slots = kvm_memslots(kvm);
	u64 pages = 0;

	CHECK_EQ(slots->nr, expect_nr);
	for (int i = 0; i < slots->nr; i++) {
		struct kvm_memory_slot *s = slots->by_gfn[i];

		pages += s->npages;
		CHECK(id_to_memslot(kvm, 0, s->id) == s, "slot %d not found by id", s->id);
		if (i + 1 < slots->nr)
			CHECK(s->base_gfn + s->npages <= slots->by_gfn[i + 1]->base_gfn,
			      "slots %d and %d out of order or overlapping", s->id,
			      slots->by_gfn[i + 1]->id);
	}
	CHECK_EQ(kvm->nr_memslot_pages, pages);
	/* the spare array, when there is one, is an up-to-date copy */
	if (kvm->memslots_spare[0]) {
		struct kvm_memslots *spare = kvm->memslots_spare[0];

		CHECK(spare != slots, "the active array is the spare");
		CHECK_EQ(spare->nr, slots->nr);
		CHECK(spare->nr == slots->nr &&
		      !memcmp(spare->by_gfn, slots->by_gfn, slots->nr * sizeof(slots->by_gfn[0])),
		      "spare array differs from the active one");
	}
}

/* ------------------------------------------------------------------ */

static void memslot_validation(void)
{
	struct kvm *kvm = new_vm();

	if (!kvm)
		return;
	CHECK_EQ(set(kvm, 0, 1u << 2, 0, PG, HVA_BASE), -EINVAL);	/* GUEST_MEMFD */
	CHECK_EQ(set(kvm, 0, 1u << 7, 0, PG, HVA_BASE), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0, PG - 1, HVA_BASE), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 1, PG, HVA_BASE), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0, PG, HVA_BASE + 1), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0, PG, KVM_TASK_SIZE_MAX), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0, 2 * PG, KVM_TASK_SIZE_MAX - PG), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0, PG, KVM_TASK_SIZE_MAX - PG), 0);	/* ends at the top */
	CHECK_EQ(set(kvm, 0, 0, 0, 0, 0), 0);
	CHECK_EQ(set(kvm, 0x10000, 0, 0, PG, HVA_BASE), -EINVAL);	/* address space 1 */
	CHECK_EQ(set(kvm, 0, 0, ~0ull & PAGE_MASK, 2 * PG, HVA_BASE), -EINVAL);	/* wraps */
	CHECK_EQ(set(kvm, 0, 0, 0, (1ull << 31) * PG, 0x100000000ull), -EINVAL);
	/* KVM_MEM_MAX_NR_PAGES itself is fine (no bitmap, nothing allocated) */
	CHECK_EQ(set(kvm, 0, 0, 0, ((1ull << 31) - 1) * PG, 0x100000000ull), 0);
	CHECK_EQ(set(kvm, 0, 0, 0, 0, 0), 0);
	/*
	 * The internal slots above the user's (KVM's private memslots, set by
	 * KVM itself, never by the ioctl) pass here, without the size bound;
	 * slot 32767 does not exist.
	 */
	CHECK_EQ(set(kvm, KVM_USER_MEM_SLOTS, 0, 0x100000, PG, HVA_BASE), 0);
	CHECK_EQ(set(kvm, KVM_MEM_SLOTS_NUM - 1, 0, 1ull << 44, (1ull << 31) * PG, 0x100000000ull), 0);
	CHECK_EQ(set(kvm, KVM_MEM_SLOTS_NUM, 0, 0x200000, PG, HVA_BASE), -EINVAL);
	CHECK_EQ(set(kvm, 0, 0, 0x100000, PG, HVA_BASE), -EEXIST);
	/* MAXPHYADDR: 48 bits */
	CHECK_EQ(set(kvm, 1, 0, (1ull << 48) - PG, PG, HVA_BASE), 0);
	CHECK_EQ(set(kvm, 2, 0, 1ull << 48, PG, HVA_BASE), -EINVAL);
	CHECK_EQ(set(kvm, 1, 0, 1ull << 48, PG, HVA_BASE), -EINVAL);	/* a move there */
	CHECK(gfn_to_memslot(kvm, ((1ull << 48) - PG) >> 12), "slot 1 moved anyway");
	/* the ioctl's own bound on user slot ids */
	{
		struct kvm_userspace_memory_region m = { KVM_USER_MEM_SLOTS, 0, 0x300000, PG, HVA_BASE };

		CHECK_EQ(kvm_vm_ioctl(kvm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m), -EINVAL);
	}
	check_array(kvm, 3);
	kvm_put_kvm(kvm);
}

static void memslot_lookup_edges(void)
{
	struct kvm *kvm = new_vm();
	struct kvm_memory_slot *s;
	bool w;

	if (!kvm)
		return;
	/* slot 0: gfn 0x10..0x1f; slot 1 read-only right after it; a gap; slot 2 */
	CHECK_EQ(set(kvm, 0, 0, 0x10000, 16 * PG, HVA_BASE), 0);
	CHECK_EQ(set(kvm, 1, KVM_MEM_READONLY, 0x20000, PG, HVA_BASE + 0x100000), 0);
	CHECK_EQ(set(kvm, 2, 0, 0x40000, 2 * PG, HVA_BASE + 0x200000), 0);

	CHECK(!gfn_to_memslot(kvm, 0xf), "gfn 0xf in a slot");
	CHECK_EQ(gfn_to_hva(kvm, 0xf), KVM_HVA_ERR_BAD);
	s = gfn_to_memslot(kvm, 0x10);
	CHECK(s && s->id == 0, "gfn 0x10");
	CHECK_EQ(gfn_to_hva(kvm, 0x10), HVA_BASE);
	CHECK_EQ(gfn_to_hva(kvm, 0x1f), HVA_BASE + 15 * PG);
	s = gfn_to_memslot(kvm, 0x20);
	CHECK(s && s->id == 1, "gfn 0x20");
	CHECK_EQ(gfn_to_hva(kvm, 0x20), HVA_BASE + 0x100000);
	CHECK(!gfn_to_memslot(kvm, 0x21), "gfn 0x21 in a slot");
	CHECK(!gfn_to_memslot(kvm, 0x3f), "gfn 0x3f in a slot");
	CHECK_EQ(gfn_to_hva(kvm, 0x41), HVA_BASE + 0x200000 + PG);
	CHECK(!gfn_to_memslot(kvm, 0x42), "gfn 0x42 in a slot");
	CHECK(!gfn_to_memslot(kvm, ~0ull), "gfn ~0 in a slot");
	CHECK_EQ(gfn_to_hva(kvm, ~0ull), KVM_HVA_ERR_BAD);

	CHECK_EQ(gfn_to_hva_prot(kvm, 0x1f, &w), HVA_BASE + 15 * PG);
	CHECK(w, "slot 0 not writable");
	CHECK_EQ(gfn_to_hva_prot(kvm, 0x20, &w), HVA_BASE + 0x100000);
	CHECK(!w, "read-only slot writable");
	CHECK_EQ(gfn_to_hva_prot(kvm, 0x30, &w), KVM_HVA_ERR_BAD);
	CHECK(!w, "no slot, yet writable");
	/* the slot-level helper checks its bounds too */
	s = id_to_memslot(kvm, 0, 0);
	CHECK_EQ(gfn_to_hva_memslot(s, 0x20), KVM_HVA_ERR_BAD);
	CHECK_EQ(gfn_to_hva_memslot(s, 0xf), KVM_HVA_ERR_BAD);
	CHECK_EQ(gfn_to_hva_memslot(NULL, 0x10), KVM_HVA_ERR_BAD);

	CHECK(!id_to_memslot(kvm, 0, 3), "slot 3 exists");
	CHECK(!id_to_memslot(kvm, 1, 0), "address space 1");
	CHECK(!id_to_memslot(kvm, 0, -1), "slot -1");
	CHECK(!id_to_memslot(kvm, 0, KVM_MEM_SLOTS_NUM), "slot 32767");

	/* a move: the old gfns are gone, the new ones map the same hvas */
	CHECK_EQ(set(kvm, 0, 0, 0x80000, 16 * PG, HVA_BASE), 0);
	CHECK(!gfn_to_memslot(kvm, 0x10), "old gfn still mapped");
	CHECK_EQ(gfn_to_hva(kvm, 0x80), HVA_BASE);
	CHECK_EQ(gfn_to_hva(kvm, 0x8f), HVA_BASE + 15 * PG);
	/* a delete */
	CHECK_EQ(set(kvm, 1, 0, 0, 0, 0), 0);
	CHECK(!gfn_to_memslot(kvm, 0x20), "deleted slot found");
	CHECK(!id_to_memslot(kvm, 0, 1), "deleted slot found by id");
	check_array(kvm, 2);
	kvm_put_kvm(kvm);
}

/* A small deterministic generator: the tests must be repeatable. */
static u64 rnd_state = 0x9e3779b97f4a7c15ull;

static u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void memslot_sorted_random_order(void)
{
	enum { N = 600 };
	static int perm[N];
	static bool present[N];
	struct kvm *kvm = new_vm();
	int nr = 0;

	if (!kvm)
		return;
	for (int i = 0; i < N; i++)
		perm[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = rnd() % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	/* slot k: gfns [4k, 4k + 1 + k % 3), ids scrambled against gfns */
	for (int i = 0; i < N; i++) {
		int k = perm[i];

		CHECK_EQ(set(kvm, (k * 7919) % N, 0, (u64)k * 4 * PG, (1 + k % 3) * PG,
			     HVA_BASE + (u64)k * 0x10000), 0);
		present[k] = true;
		nr++;
	}
	check_array(kvm, nr);
	for (int k = 0; k < N; k++) {
		struct kvm_memory_slot *s = gfn_to_memslot(kvm, (u64)k * 4 + k % 3);

		CHECK(s && s->id == (k * 7919) % N, "gfn of slot %d", k);
		CHECK(!gfn_to_memslot(kvm, (u64)k * 4 + 3), "gap after slot %d", k);
		CHECK_EQ(gfn_to_hva(kvm, (u64)k * 4), HVA_BASE + (u64)k * 0x10000);
	}
	/* delete a random half, move some of the rest into the gaps' ends */
	for (int i = 0; i < N / 2; i++) {
		int k = perm[i * 2];

		CHECK_EQ(set(kvm, (k * 7919) % N, 0, 0, 0, 0), 0);
		present[k] = false;
		nr--;
	}
	check_array(kvm, nr);
	for (int k = 0; k < N; k++) {
		if (!present[k] || k % 3)
			continue;	/* one-page slots move one page up */
		CHECK_EQ(set(kvm, (k * 7919) % N, 0, ((u64)k * 4 + 3) * PG, PG,
			     HVA_BASE + (u64)k * 0x10000), 0);
	}
	check_array(kvm, nr);
	for (int k = 0; k < N; k++) {
		struct kvm_memory_slot *s = gfn_to_memslot(kvm, (u64)k * 4 + 3);

		if (present[k] && k % 3 == 0)
			CHECK(s && s->id == (k * 7919) % N, "moved slot %d", k);
		else
			CHECK(!s, "gfn %llu should be free", (unsigned long long)k * 4 + 3);
		if (!present[k])
			CHECK(!gfn_to_memslot(kvm, (u64)k * 4), "deleted slot %d found", k);
	}
	/* and delete the rest, in gfn order */
	for (int k = 0; k < N; k++) {
		if (present[k]) {
			CHECK_EQ(set(kvm, (k * 7919) % N, 0, 0, 0, 0), 0);
			nr--;
		}
	}
	check_array(kvm, 0);
	kvm_put_kvm(kvm);
}

/* ------------------------------------------------------------------ */

static int get_log(struct kvm *kvm, u32 slot, u64 *bm)
{
	struct kvm_dirty_log log;

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.dirty_bitmap = bm;
	return (int)kvm_vm_ioctl(kvm, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

static int clear_log(struct kvm *kvm, u32 slot, u64 first, u32 num, u64 *bm)
{
	struct kvm_clear_dirty_log log;

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.first_page = first;
	log.num_pages = num;
	log.dirty_bitmap = bm;
	return (int)kvm_vm_ioctl(kvm, KVM_CLEAR_DIRTY_LOG, (unsigned long)&log);
}

static int enable_manual(struct kvm *kvm, u64 arg)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = { arg } };

	return (int)kvm_vm_ioctl(kvm, KVM_ENABLE_CAP, (unsigned long)&cap);
}

static void dirty_log_harvest(void)
{
	struct kvm *kvm = new_vm();
	struct kvm_memory_slot *s;
	u64 bm[3];

	if (!kvm)
		return;
	/* 130 pages at gfn 0x100; slot 1 without logging next to it */
	CHECK_EQ(set(kvm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 130 * PG, HVA_BASE), 0);
	CHECK_EQ(set(kvm, 1, 0, 0x200000, 4 * PG, HVA_BASE), 0);
	s = id_to_memslot(kvm, 0, 0);
	mark_page_dirty_in_slot(kvm, s, 0x100);
	mark_page_dirty_in_slot(kvm, s, 0x100 + 63);
	mark_page_dirty_in_slot(kvm, s, 0x100 + 64);
	mark_page_dirty_in_slot(kvm, s, 0x100 + 129);	/* the last page */
	mark_page_dirty_in_slot(kvm, s, 0x100 + 130);	/* past it: ignored */
	mark_page_dirty_in_slot(kvm, s, 0xff);		/* before it: ignored */
	mark_page_dirty(kvm, 0x100 + 5);		/* through the gfn lookup */
	mark_page_dirty(kvm, 0x200);			/* slot 1 has no bitmap */
	mark_page_dirty(kvm, 0x300);			/* no slot */
	mark_page_dirty_in_slot(kvm, NULL, 0x100);
	memset(bm, 0xa5, sizeof(bm));
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[0], (1ull << 0) | (1ull << 5) | (1ull << 63));
	CHECK_EQ(bm[1], 1ull);
	CHECK_EQ(bm[2], 1ull << 1);
	/* harvested: the next read is clean, and new writes show up alone */
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[0] | bm[1] | bm[2], 0);
	mark_page_dirty(kvm, 0x100 + 100);
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[1], 1ull << 36);
	CHECK_EQ(bm[0] | bm[2], 0);
	CHECK_EQ(get_log(kvm, 1, bm), -ENOENT);
	/*
	 * A bad pointer: EFAULT, and the bits are gone all the same (KVM
	 * harvests, then copies).
	 */
	mark_page_dirty(kvm, 0x100 + 3);
	CHECK_EQ(get_log(kvm, 0, NULL), -EFAULT);
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[0] | bm[1] | bm[2], 0);
	/* turning logging off and on again starts a clean bitmap */
	mark_page_dirty(kvm, 0x100 + 7);
	CHECK_EQ(set(kvm, 0, 0, 0x100000, 130 * PG, HVA_BASE), 0);
	CHECK(!id_to_memslot(kvm, 0, 0)->dirty_bitmap, "bitmap kept with logging off");
	CHECK_EQ(set(kvm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 130 * PG, HVA_BASE), 0);
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[0] | bm[1] | bm[2], 0);
	/* a move keeps the bits (the bitmap goes with the slot) */
	mark_page_dirty(kvm, 0x100 + 9);
	CHECK_EQ(set(kvm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0x400000, 130 * PG, HVA_BASE), 0);
	mark_page_dirty(kvm, 0x400 + 10);
	mark_page_dirty(kvm, 0x100 + 11);		/* the old place: no slot now */
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(bm[0], (1ull << 9) | (1ull << 10));
	kvm_put_kvm(kvm);
}

static void dirty_log_manual_protect(void)
{
	struct kvm *kvm = new_vm();
	u64 bm[2], mask[2];

	if (!kvm)
		return;
	CHECK_EQ(enable_manual(kvm, KVM_DIRTY_LOG_INITIALLY_SET), -EINVAL);
	CHECK_EQ(enable_manual(kvm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE), 0);
	CHECK_EQ(set(kvm, 3, KVM_MEM_LOG_DIRTY_PAGES, 0, 100 * PG, HVA_BASE), 0);
	mark_page_dirty(kvm, 2);
	mark_page_dirty(kvm, 70);
	mark_page_dirty(kvm, 99);
	for (int i = 0; i < 2; i++) {	/* GET does not clear */
		CHECK_EQ(get_log(kvm, 3, bm), 0);
		CHECK_EQ(bm[0], 1ull << 2);
		CHECK_EQ(bm[1], (1ull << 6) | (1ull << 35));
	}
	/* CLEAR clears exactly the bits asked for */
	mask[0] = (1ull << 2) | (1ull << 3);
	CHECK_EQ(clear_log(kvm, 3, 0, 64, mask), 0);
	CHECK_EQ(get_log(kvm, 3, bm), 0);
	CHECK_EQ(bm[0], 0);
	CHECK_EQ(bm[1], (1ull << 6) | (1ull << 35));
	/* the last, partial word: bits past num_pages are not touched */
	mask[0] = 1ull << 6;
	CHECK_EQ(clear_log(kvm, 3, 64, 36, mask), 0);
	CHECK_EQ(get_log(kvm, 3, bm), 0);
	CHECK_EQ(bm[1], 1ull << 35);
	CHECK_EQ(clear_log(kvm, 3, 64, 35, mask), -EINVAL);	/* not to the end */
	/* a write after GET and before CLEAR is kept if CLEAR does not name it */
	mark_page_dirty(kvm, 1);
	mask[0] = ~0ull & ~(1ull << 1);
	CHECK_EQ(clear_log(kvm, 3, 0, 64, mask), 0);
	CHECK_EQ(get_log(kvm, 3, bm), 0);
	CHECK_EQ(bm[0], 1ull << 1);
	/* INITIALLY_SET: new bitmaps start with exactly npages bits */
	CHECK_EQ(enable_manual(kvm, KVM_DIRTY_LOG_MANUAL_CAPS), 0);
	CHECK_EQ(set(kvm, 4, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 70 * PG, HVA_BASE), 0);
	memset(bm, 0, sizeof(bm));
	CHECK_EQ(get_log(kvm, 4, bm), 0);
	CHECK_EQ(bm[0], ~0ull);
	CHECK_EQ(bm[1], 0x3f);
	/* manual protection off: GET harvests */
	CHECK_EQ(enable_manual(kvm, 0), 0);
	CHECK_EQ(get_log(kvm, 4, bm), 0);
	CHECK_EQ(bm[1], 0x3f);
	CHECK_EQ(get_log(kvm, 4, bm), 0);
	CHECK_EQ(bm[0] | bm[1], 0);
	kvm_put_kvm(kvm);
}

/*
 * Writers (vCPUs, one day) mark pages while KVM_GET_DIRTY_LOG harvests, or
 * KVM_CLEAR_DIRTY_LOG clears what GET reported: no mark is lost or counted
 * twice.  Each thread marks its own pages, each exactly once.
 */
#define HARVEST_PAGES 4096

struct marker {
	struct kvm *kvm;
	int first;
	int done;
};

static void *marker_fn(void *p)
{
	struct marker *m = p;

	for (int i = 0; i < HARVEST_PAGES / 2; i++) {
		int idx = srcu_read_lock(&m->kvm->srcu);

		mark_page_dirty(m->kvm, m->first + i * 2);
		srcu_read_unlock(&m->kvm->srcu, idx);
		if ((i & 63) == 0)
			sched_yield();
	}
	__atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static long popcount_bitmap(const u64 *bm, int words)
{
	long n = 0;

	for (int i = 0; i < words; i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

static void dirty_log_concurrent(bool manual)
{
	static u64 bm[HARVEST_PAGES / 64], seen[HARVEST_PAGES / 64];
	struct marker m[2];
	pthread_t th[2];
	struct kvm *kvm = new_vm();
	long total = 0;
	bool done = false;

	if (!kvm)
		return;
	if (manual)
		CHECK_EQ(enable_manual(kvm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE), 0);
	CHECK_EQ(set(kvm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, HARVEST_PAGES * PG, HVA_BASE), 0);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 2; i++) {
		m[i] = (struct marker){ .kvm = kvm, .first = i };
		pthread_create(&th[i], NULL, marker_fn, &m[i]);
	}
	while (!done) {
		done = __atomic_load_n(&m[0].done, __ATOMIC_ACQUIRE) &&
		       __atomic_load_n(&m[1].done, __ATOMIC_ACQUIRE);
		/* one more round after both are done: it sees their last marks */
		CHECK_EQ(get_log(kvm, 0, bm), 0);
		for (int w = 0; w < HARVEST_PAGES / 64; w++) {
			CHECK(!(bm[w] & seen[w]), "word %d: a page reported twice", w);
			seen[w] |= bm[w];
		}
		total += popcount_bitmap(bm, HARVEST_PAGES / 64);
		if (manual)
			CHECK_EQ(clear_log(kvm, 0, 0, HARVEST_PAGES, bm), 0);
		sched_yield();
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(total, HARVEST_PAGES);
	CHECK_EQ(get_log(kvm, 0, bm), 0);
	CHECK_EQ(popcount_bitmap(bm, HARVEST_PAGES / 64), 0);
	kvm_put_kvm(kvm);
}

static void dirty_log_concurrent_harvest(void)
{
	dirty_log_concurrent(false);
}

static void dirty_log_concurrent_clear(void)
{
	dirty_log_concurrent(true);
}

/* ------------------------------------------------------------------ */
/* Readers under kvm->srcu racing a writer                             */
/* ------------------------------------------------------------------ */

#define RACE_SLOTS   16
#define RACE_NPAGES  16
#define RACE_PLACES  48		/* where a slot may sit: gfn = place * 16 */
#define RACE_HVA(id) (HVA_BASE + ((u64)(id) << 20))

struct race_reader {
	struct kvm *kvm;
	u64 seed;
	long hits, misses, bad;
	long sections;		/* atomic: read sections done */
};

static int race_stop;

static void *race_reader_fn(void *p)
{
	struct race_reader *rd = p;
	struct kvm *kvm = rd->kvm;

	while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
		int idx = srcu_read_lock(&kvm->srcu);

		for (int i = 0; i < 32; i++) {
			struct kvm_memory_slot *s;
			gfn_t gfn;
			hva_t hva;

			rd->seed = rd->seed * 6364136223846793005ull + 1442695040888963407ull;
			gfn = (rd->seed >> 33) % (RACE_PLACES * RACE_NPAGES + 8);
			s = gfn_to_memslot(kvm, gfn);
			if (!s) {
				rd->misses++;
				if (gfn_to_hva_memslot(s, gfn) != KVM_HVA_ERR_BAD)
					rd->bad++;
				continue;
			}
			rd->hits++;
			/* a live slot that contains the gfn, with its own hva */
			if (s->id >= RACE_SLOTS || s->npages != RACE_NPAGES ||
			    gfn < s->base_gfn || gfn >= s->base_gfn + s->npages ||
			    s->userspace_addr != RACE_HVA(s->id))
				rd->bad++;
			hva = gfn_to_hva_memslot(s, gfn);
			if (hva != RACE_HVA(s->id) + ((gfn - s->base_gfn) << PAGE_SHIFT))
				rd->bad++;
			/* the dirty bitmap of a slot being re-flagged or deleted */
			mark_page_dirty_in_slot(kvm, s, gfn);
			/* a second lookup may see a newer array, never a bad slot */
			hva = gfn_to_hva(kvm, gfn);
			if (hva != KVM_HVA_ERR_BAD &&
			    ((hva - HVA_BASE) >> 20 >= RACE_SLOTS ||
			     ((hva - HVA_BASE) & 0xfffff) >= RACE_NPAGES * PG))
				rd->bad++;
			s = id_to_memslot(kvm, 0, (int)(gfn % RACE_SLOTS));
			if (s && s->id != gfn % RACE_SLOTS)
				rd->bad++;
		}
		srcu_read_unlock(&kvm->srcu, idx);
		__atomic_fetch_add(&rd->sections, 1, __ATOMIC_RELEASE);
		/*
		 * Note, a grace period waits for every reader that is inside
		 * its section; on a machine with fewer cores than threads a
		 * reader preempted there costs the writer a time slice.
		 * Yielding outside the section keeps this test short.
		 */
		sched_yield();
	}
	return NULL;
}

static void memslot_srcu_readers_vs_writer(void)
{
	enum { NR_READERS = 2, UPDATES = 3000 };
	struct race_reader rd[NR_READERS];
	pthread_t th[NR_READERS];
	struct kvm *kvm = new_vm();
	int place[RACE_SLOTS];
	u32 flags[RACE_SLOTS];
	long hits = 0, misses = 0, bad = 0, ok_updates = 0;

	if (!kvm)
		return;
	for (int i = 0; i < RACE_SLOTS; i++)
		place[i] = -1;
	race_stop = 0;
	for (int i = 0; i < NR_READERS; i++) {
		rd[i] = (struct race_reader){ .kvm = kvm, .seed = 1234567ull * (i + 1) };
		pthread_create(&th[i], NULL, race_reader_fn, &rd[i]);
	}
	for (int n = 0; n < UPDATES; n++) {
		int id = rnd() % RACE_SLOTS, to = rnd() % RACE_PLACES, r;
		u64 gpa = (u64)to * RACE_NPAGES * PG;

		if (place[id] < 0) {		/* create */
			flags[id] = (rnd() & 1) ? KVM_MEM_LOG_DIRTY_PAGES : 0;
			r = set(kvm, id, flags[id], gpa, RACE_NPAGES * PG, RACE_HVA(id));
			if (!r)
				place[id] = to;
		} else {
			switch (rnd() % 3) {
			case 0:				/* move */
				r = set(kvm, id, flags[id], gpa, RACE_NPAGES * PG, RACE_HVA(id));
				if (!r)
					place[id] = to;
				break;
			case 1:				/* dirty logging on/off */
				flags[id] ^= KVM_MEM_LOG_DIRTY_PAGES;
				r = set(kvm, id, flags[id], (u64)place[id] * RACE_NPAGES * PG,
					RACE_NPAGES * PG, RACE_HVA(id));
				break;
			default:			/* delete */
				r = set(kvm, id, 0, 0, 0, 0);
				if (!r)
					place[id] = -1;
			}
		}
		CHECK(r == 0 || r == -EEXIST, "update %d: %d", n, r);
		ok_updates += !r;
		/* every 50 updates, let each reader finish a section */
		if (n % 50 == 0) {
			for (int i = 0; i < NR_READERS; i++) {
				long seen = __atomic_load_n(&rd[i].sections, __ATOMIC_ACQUIRE);

				while (__atomic_load_n(&rd[i].sections, __ATOMIC_ACQUIRE) < seen + 2)
					sched_yield();
			}
		}
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NR_READERS; i++) {
		pthread_join(th[i], NULL);
		hits += rd[i].hits;
		misses += rd[i].misses;
		bad += rd[i].bad;
	}
	if (getenv("MEMSLOT_TEST_VERBOSE"))
		printf("# %ld hits, %ld misses, %ld updates\n", hits, misses, ok_updates);
	CHECK_EQ(bad, 0);
	CHECK(hits > 0 && misses > 0, "hits %ld misses %ld", hits, misses);
	CHECK(ok_updates > UPDATES / 2, "only %ld updates succeeded", ok_updates);
	{
		int nr = 0;

		for (int i = 0; i < RACE_SLOTS; i++)
			nr += place[i] >= 0;
		check_array(kvm, nr);
	}
	kvm_put_kvm(kvm);
}

/*
 * KVM_BUG_ON() (here the memslot code's invariant checks) makes every VM
 * and vCPU ioctl of the VM fail with -EIO, KVM_RUN included: fails if the
 * one compare that checks the process (kvm->mm) missed the bug.
 */
static void kvm_bug_on_fails_ioctls(void)
{
	struct kvm *kvm = new_vm();
	struct kvm_regs regs;
	struct kvm_vcpu *vcpu;
	int fd;

	if (!kvm)
		return;
	fd = (int)kvm_vm_ioctl(kvm, KVM_CREATE_VCPU, 0);
	CHECK(fd >= 0, "KVM_CREATE_VCPU: %d", fd);
	vcpu = kvm->vcpus[0];
	CHECK_EQ(kvm_vcpu_ioctl(vcpu, KVM_GET_REGS, (unsigned long)&regs), 0);
	CHECK_EQ(kvm_vm_ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
	CHECK(KVM_BUG_ON(true, kvm), "KVM_BUG_ON(true)");
	CHECK_EQ(kvm_vm_ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), -EIO);
	CHECK_EQ(kvm_vcpu_ioctl(vcpu, KVM_GET_REGS, (unsigned long)&regs), -EIO);
	CHECK_EQ(kvm_vcpu_ioctl(vcpu, KVM_RUN, 0), -EIO);
	kvm_fd_close(fd);
	close(fd);
	kvm_put_kvm(kvm);
}

/* Every VM made here is gone (ASan's leak checker sees the rest). */
static void memslot_vms_destroyed(void)
{
	CHECK_EQ(kvm_get_active_vms(), 0);
}

int main(void)
{
	RUN_TEST(memslot_validation);
	RUN_TEST(memslot_lookup_edges);
	RUN_TEST(memslot_sorted_random_order);
	RUN_TEST(dirty_log_harvest);
	RUN_TEST(dirty_log_manual_protect);
	RUN_TEST(dirty_log_concurrent_harvest);
	RUN_TEST(dirty_log_concurrent_clear);
	RUN_TEST(memslot_srcu_readers_vs_writer);
	RUN_TEST(kvm_bug_on_fails_ioctls);
	RUN_TEST(memslot_vms_destroyed);
	return test_cases_failed ? 1 : 0;
}
