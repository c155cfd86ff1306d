// SPDX-License-Identifier: MIT
/*
 * src/kvm/srcu.h: readers never see an object freed under them, with one
 * updater or several at once (the fd layer's fd_srcu has concurrent
 * updaters: every close() and dup() of a KVM descriptor is one).
 *
 * An object is poisoned before it is freed, so a reader that still holds
 * one after the grace period sees the poison even in a release build (and
 * ASan sees the use after free).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "kvm/srcu.h"
#include "../test.h"

#define ALIVE 0x600dull
#define DEAD  0xdeadull

struct obj {
	unsigned long long magic;
};

static struct srcu_struct srcu;
static struct obj *current_obj;
static int stop;
static long bad_reads;

static void *reader(void *arg)
{
	long reads = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int idx = srcu_read_lock(&srcu);
		struct obj *o = __atomic_load_n(&current_obj, __ATOMIC_ACQUIRE);

		for (int i = 0; i < 4; i++) {
			if (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) != ALIVE)
				__atomic_fetch_add(&bad_reads, 1, __ATOMIC_RELAXED);
			if ((reads++ & 15) == 0)
				sched_yield();	/* let an updater run mid-section */
		}
		srcu_read_unlock(&srcu, idx);
	}
	return NULL;
}

static void *updater(void *arg)
{
	long n = (long)arg;

	for (long i = 0; i < n; i++) {
		struct obj *o = malloc(sizeof(*o)), *old;

		o->magic = ALIVE;
		old = __atomic_exchange_n(&current_obj, o, __ATOMIC_ACQ_REL);
		synchronize_srcu(&srcu);
		__atomic_store_n(&old->magic, DEAD, __ATOMIC_RELAXED);
		free(old);
	}
	return NULL;
}

static void run(int nr_readers, int nr_updaters, long updates)
{
	pthread_t r[8], u[8];

	stop = 0;
	bad_reads = 0;
	current_obj = malloc(sizeof(*current_obj));
	current_obj->magic = ALIVE;
	for (int i = 0; i < nr_readers; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	for (int i = 0; i < nr_updaters; i++)
		pthread_create(&u[i], NULL, updater, (void *)updates);
	for (int i = 0; i < nr_updaters; i++)
		pthread_join(u[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nr_readers; i++)
		pthread_join(r[i], NULL);
	free(current_obj);
	CHECK(bad_reads == 0, "%ld reads of a freed object", bad_reads);
}

static void srcu_one_updater(void)
{
	run(3, 1, 20000);
}

static void srcu_concurrent_updaters(void)
{
	run(2, 3, 20000);
}

/* Nested read sections (a reader inside a reader) do not block updates. */
static void srcu_nested_readers(void)
{
	int a = srcu_read_lock(&srcu);
	int b = srcu_read_lock(&srcu);

	srcu_read_unlock(&srcu, b);
	srcu_read_unlock(&srcu, a);
	synchronize_srcu(&srcu);
	CHECK_EQ(srcu.ctr[0] + srcu.ctr[1], 0);
}

int main(void)
{
	RUN_TEST(srcu_one_updater);
	RUN_TEST(srcu_concurrent_updaters);
	RUN_TEST(srcu_nested_readers);
	return test_cases_failed ? 1 : 0;
}
