/* SPDX-License-Identifier: MIT */
/*
 * A small sleepable-RCU for memslot lookups, in the spirit of the kernel's
 * SRCU: readers pay two atomic operations, the (rare) updater publishes a new
 * array and waits for every reader that may still hold the old one.
 *
 * Why two flips in synchronize_srcu(): a reader may load the index, stall,
 * and increment the counter after the updater already looked at it.  Such a
 * reader loads the slots pointer after the updater stored the new one (all
 * operations are sequentially consistent), so it is safe; but the next
 * updater must then wait for that counter too.  Waiting for both counters,
 * with a flip in between so that new readers go to the other one, covers
 * every reader that began before synchronize_srcu() was called.
 *
 * Updaters are serialized here (gp_lock), not by their callers: two grace
 * periods that interleave their flips can each wait twice for the same
 * counter and miss a reader on the other one, and one can wait forever for
 * a counter that the other's flip keeps handing to new readers.
 */
#ifndef USERKVM_KVM_SRCU_H
#define USERKVM_KVM_SRCU_H

#include <sched.h>
#include "util/types.h"

struct srcu_struct {
	long ctr[2];
	unsigned int idx;
	int gp_lock;		/* one grace period at a time */
};

static inline int srcu_read_lock(struct srcu_struct *s)
{
	int idx = __atomic_load_n(&s->idx, __ATOMIC_SEQ_CST) & 1;

	__atomic_fetch_add(&s->ctr[idx], 1, __ATOMIC_SEQ_CST);
	return idx;
}

static inline void srcu_read_unlock(struct srcu_struct *s, int idx)
{
	__atomic_fetch_sub(&s->ctr[idx], 1, __ATOMIC_SEQ_CST);
}

/*
 * Wait until every reader that may hold a pointer published before this
 * call has left its read section.  May be called from several threads at
 * once; never from inside a read section of @s (it would wait for itself).
 */
static inline void synchronize_srcu(struct srcu_struct *s)
{
	while (__atomic_exchange_n(&s->gp_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int i = 0; i < 2; i++) {
		unsigned int old = __atomic_load_n(&s->idx, __ATOMIC_SEQ_CST) & 1;

		__atomic_store_n(&s->idx, old ^ 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&s->ctr[old], __ATOMIC_SEQ_CST))
			sched_yield();
	}
	__atomic_store_n(&s->gp_lock, 0, __ATOMIC_RELEASE);
}

#endif
