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

#include "kvm/kvm_host.h"
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

/*
 * kvm->srcu's vCPU readers (kvm_vcpu_srcu_read_lock()): each reader thread
 * holds the bias of its vCPU's mutex, as the thread that runs a vCPU does,
 * and reads in sections of it with plain stores; the updater publishes a
 * new object, waits in kvm_synchronize_srcu() and poisons the old one.
 * One more reader uses the shared counters (a vCPU without a bias).
 */
static struct kvm *vkvm;
static long vcpu_sections_biased;

static void *vcpu_reader(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	long reads = 0, biased = 0;

	kvm_mutex_lock(vcpu->mutex);
	if (vcpu->vcpu_idx == 0 || !kvm_mutex_bias_grant(vcpu->mutex))
		kvm_mutex_unlock(vcpu->mutex);	/* vCPU 0: the plain mutex, the counters */
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		bool b = kvm_mutex_lock_biased(vcpu->mutex);
		int idx = kvm_vcpu_srcu_read_lock(vcpu);
		struct obj *o = __atomic_load_n(&current_obj, __ATOMIC_ACQUIRE);

		biased += idx < 0;
		for (int i = 0; i < 8; i++) {
			if (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) != ALIVE)
				__atomic_fetch_add(&bad_reads, 1, __ATOMIC_RELAXED);
			if ((reads++ & 1) == 0)
				sched_yield();	/* let the updater run mid-section */
		}
		kvm_vcpu_srcu_read_unlock(vcpu, idx);
		kvm_mutex_unlock_biased(vcpu->mutex, b);
	}
	kvm_mutex_lock(vcpu->mutex);	/* its bias back: the mutex free for the next case */
	kvm_mutex_unlock(vcpu->mutex);
	__atomic_fetch_add(&vcpu_sections_biased, biased, __ATOMIC_RELAXED);
	return NULL;
}

static void srcu_vcpu_readers(void)
{
	struct kvm_mutex mutexes[3];
	struct kvm_vcpu *vcpus;
	pthread_t r[3];

	kvm_bias_init();
	if (__atomic_load_n(&kvm_bias_ok, __ATOMIC_ACQUIRE) != 1) {
		test_skip(test_case_name, "membarrier(2) not available: no biases");
		return;
	}
	vkvm = calloc(1, sizeof(*vkvm));
	vcpus = calloc(3, sizeof(*vcpus));
	stop = 0;
	bad_reads = 0;
	current_obj = malloc(sizeof(*current_obj));
	current_obj->magic = ALIVE;
	for (int i = 0; i < 3; i++) {
		kvm_mutex_init(&mutexes[i]);
		vcpus[i].kvm = vkvm;
		vcpus[i].vcpu_idx = i;
		vcpus[i].mutex = &mutexes[i];
		vkvm->vcpus[i] = &vcpus[i];
	}
	vkvm->online_vcpus = 3;
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, vcpu_reader, &vcpus[i]);
	for (long i = 0; i < 5000; i++) {
		struct obj *o = malloc(sizeof(*o)), *old;

		o->magic = ALIVE;
		old = __atomic_exchange_n(&current_obj, o, __ATOMIC_ACQ_REL);
		kvm_synchronize_srcu(vkvm);
		__atomic_store_n(&old->magic, DEAD, __ATOMIC_RELAXED);
		free(old);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	free(current_obj);
	CHECK(bad_reads == 0, "%ld reads of a freed object", bad_reads);
	CHECK(vcpu_sections_biased > 1000, "only %ld sections under a bias", vcpu_sections_biased);
	free(vcpus);
	free(vkvm);
}

int main(void)
{
	RUN_TEST(srcu_one_updater);
	RUN_TEST(srcu_concurrent_updaters);
	RUN_TEST(srcu_nested_readers);
	RUN_TEST(srcu_vcpu_readers);
	return test_cases_failed ? 1 : 0;
}
