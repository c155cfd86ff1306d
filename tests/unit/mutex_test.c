// SPDX-License-Identifier: MIT
/*
 * src/kvm/mutex.h: vcpu->mutex and its thread bias.  The bias owner's
 * sections take no locked instruction; other threads revoke the bias
 * (kvm_heavy_barrier()) or, as the release of a vCPU's file does, take it
 * without waiting (kvm_mutex_try_revoke()).  Whatever the interleaving,
 * no two threads may be in a section at once and no section may be lost:
 * each section checks that it is alone and adds to a plain counter.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "kvm/mutex.h"
#include "../test.h"

static struct kvm_mutex m;
static int inside;		/* sections in progress: never more than one */
static long counter;		/* plain: only sections touch it */
static long overlaps;
static int stop;

/* Every 64th is long (about as long as a revocation's membarrier), the rest short. */
static void section(void)
{
	int spin = (counter & 63) ? 20 : 20000;

	if (__atomic_fetch_add(&inside, 1, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_add(&overlaps, 1, __ATOMIC_RELAXED);
	counter++;
	for (int i = 0; i < spin; i++)
		__asm__ volatile("" ::: "memory");
	__atomic_fetch_sub(&inside, 1, __ATOMIC_RELAXED);
}

/*
 * The vCPU's thread, as KVM_RUN does it (api/kvm_fd.c kvm_fd_ioctl_run()):
 * a section under its bias if it holds one, else the plain lock and then
 * the grant instead of the unlock.  Counts its biased sections.
 */
static void owner_section(long *biased)
{
	if (kvm_mutex_bias_mine(&m)) {
		if (kvm_mutex_bias_enter(&m)) {
			section();
			(*biased)++;
			if (!kvm_mutex_bias_exit(&m) && kvm_mutex_bias_drop(&m))
				kvm_mutex_unlock(&m);	/* handed to us by a try_revoke */
			return;
		}
		if (!kvm_mutex_bias_exit(&m) && kvm_mutex_bias_drop(&m)) {
			section();
			kvm_mutex_unlock(&m);
			return;
		}
	}
	if (!kvm_mutex_trylock(&m))
		__kvm_mutex_lock_slow(&m);
	section();
	/* Let the bias come back however often it was revoked (KVM gives up after 8). */
	m.revokes = 0;
	if (!kvm_mutex_bias_grant(&m))
		kvm_mutex_unlock(&m);
}

struct owner_arg {
	long n, biased;
};

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* @n sections, and for 0.2 s at least: the other threads revoke and take it many times. */
static void *owner(void *p)
{
	struct owner_arg *a = p;
	double end = now_sec() + 0.2;

	long i;

	for (i = 0; i < a->n || now_sec() < end; i++)
		owner_section(&a->biased);
	a->n = i;
	/* Leave the mutex free: the plain lock takes the thread's own bias back. */
	kvm_mutex_lock(&m);
	kvm_mutex_unlock(&m);
	return NULL;
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* Another thread's vCPU ioctl: the plain lock, revoking the bias. */
static void *other(void *p)
{
	long *n = p;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		kvm_mutex_lock(&m);
		section();
		kvm_mutex_unlock(&m);
		(*n)++;
		pause_us(50);
	}
	return NULL;
}

/* The release of the file: take the mutex only if no section runs, else leave it to the owner. */
static void *releaser(void *p)
{
	long *n = p;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (kvm_mutex_trylock(&m) || kvm_mutex_try_revoke(&m)) {
			section();
			kvm_mutex_unlock(&m);
			(*n)++;
		}
		pause_us(30);
	}
	return NULL;
}

static bool bias_available(void)
{
	kvm_bias_init();
	return __atomic_load_n(&kvm_bias_ok, __ATOMIC_ACQUIRE) == 1;
}

/* One thread alone: after the grant its sections keep the mutex held, the bias its own. */
static void mutex_bias_single_thread(void)
{
	kvm_mutex_init(&m);
	kvm_mutex_lock(&m);
	CHECK(kvm_mutex_bias_grant(&m), "the grant failed with nobody waiting");
	CHECK(kvm_mutex_bias_mine(&m), "the bias is not the caller's");
	for (int i = 0; i < 1000; i++) {
		bool biased = kvm_mutex_lock_biased(&m);

		CHECK(biased, "a section of the bias owner not under its bias");
		CHECK_EQ(m.bias_in, 1);
		kvm_mutex_unlock_biased(&m, biased);
	}
	CHECK_EQ(m.state, 1);	/* held for the bias all along */
	CHECK_EQ(m.bias_in, 0);
	CHECK(kvm_mutex_bias_mine(&m), "the bias went");
	/* The owner's own release: no section runs, so it takes the mutex. */
	CHECK(kvm_mutex_try_revoke(&m), "the owner could not take its own bias back");
	CHECK_EQ(m.bias, 0);
	kvm_mutex_unlock(&m);
	CHECK_EQ(m.state, 0);
}

static void *lock_unlock(void *p)
{
	(void)p;
	kvm_mutex_lock(&m);
	counter++;
	kvm_mutex_unlock(&m);
	return NULL;
}

/* Another thread's lock revokes the bias: the owner's next section does not enter. */
static void mutex_bias_revoked(void)
{
	pthread_t t;

	kvm_mutex_init(&m);
	counter = 0;
	kvm_mutex_lock(&m);
	CHECK(kvm_mutex_bias_grant(&m), "the grant failed");
	pthread_create(&t, NULL, lock_unlock, NULL);
	pthread_join(t, NULL);
	CHECK_EQ(counter, 1);
	CHECK_EQ(m.revokes, 1);
	CHECK(!kvm_mutex_bias_mine(&m), "the bias survived another thread's lock");
	CHECK_EQ(m.state, 0);
}

static void *grant_other(void *p)
{
	bool *granted = p;

	kvm_mutex_lock(&m);
	*granted = kvm_mutex_bias_grant(&m);
	if (!*granted)
		kvm_mutex_unlock(&m);
	return NULL;
}

/* A mutex is biased to one thread only, ever: another's grant is refused (kvm/mutex.h says why). */
static void mutex_bias_one_thread_only(void)
{
	pthread_t t;
	bool granted = true;

	kvm_mutex_init(&m);
	kvm_mutex_lock(&m);
	CHECK(kvm_mutex_bias_grant(&m), "the first grant failed");
	pthread_create(&t, NULL, grant_other, &granted);
	pthread_join(t, NULL);
	CHECK(!granted, "a second thread was granted the bias");
	CHECK_EQ(m.bias, 0);
	CHECK_EQ(m.state, 0);
	/* The first thread may have it back. */
	kvm_mutex_lock(&m);
	CHECK(kvm_mutex_bias_grant(&m), "the first thread's grant failed after a revocation");
	kvm_mutex_lock(&m);	/* the plain lock takes it back */
	kvm_mutex_unlock(&m);
	CHECK_EQ(m.bias, 0);
	CHECK_EQ(m.state, 0);
}

static void stress(int others, int releasers, long n)
{
	pthread_t o, t[4];
	struct owner_arg a = { .n = n };
	long done[4] = { 0 };
	int nt = others + releasers;

	kvm_mutex_init(&m);
	counter = overlaps = 0;
	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, i < others ? other : releaser, &done[i]);
	pthread_create(&o, NULL, owner, &a);
	pthread_join(o, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	long total = a.n;

	for (int i = 0; i < nt; i++)
		total += done[i];
	CHECK(overlaps == 0, "%ld sections ran at once with another", overlaps);
	CHECK(counter == total, "counter %ld after %ld sections", counter, total);
	CHECK(a.biased > a.n / 4, "only %ld of %ld owner sections under the bias", a.biased, a.n);
	for (int i = 0; i < nt; i++)
		CHECK(done[i] > 100, "thread %d got the mutex %ld times only", i, done[i]);
	if (getenv("MUTEX_TEST_VERBOSE"))
		printf("  owner %ld sections (%ld biased), others %ld %ld %ld\n", a.n, a.biased,
		       done[0], done[1], done[2]);
	CHECK_EQ(m.state, 0);
	CHECK_EQ(m.bias, 0);
}

static void mutex_bias_vs_lockers(void)
{
	stress(2, 0, 400000);
}

static void mutex_bias_vs_release(void)
{
	stress(0, 1, 400000);
}

static void mutex_bias_vs_both(void)
{
	stress(1, 2, 400000);
}

int main(void)
{
	if (!bias_available()) {
		test_skip("mutex_bias_*", "membarrier(2) not available: no biases in this process");
		return 0;
	}
	RUN_TEST(mutex_bias_single_thread);
	RUN_TEST(mutex_bias_revoked);
	RUN_TEST(mutex_bias_one_thread_only);
	RUN_TEST(mutex_bias_vs_lockers);
	RUN_TEST(mutex_bias_vs_release);
	RUN_TEST(mutex_bias_vs_both);
	return test_cases_failed ? 1 : 0;
}
