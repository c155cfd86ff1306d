/* SPDX-License-Identifier: MIT */
/*
 * A sleeping lock for the one lock every vCPU ioctl takes (vcpu->mutex),
 * the kernel's struct mutex in spirit: uncontended lock and unlock are one
 * atomic instruction each and no call, a contended one sleeps on a futex.
 * pthread_mutex_t does the same work behind two library calls and type and
 * owner checks (about 55 instructions per KVM_RUN, against about 8 here).
 *
 * The word is 0 (unlocked), 1 (locked) or 2 (locked, and a thread may be
 * sleeping on it), as in Drepper's "Futexes Are Tricky", mutex 3.  Not
 * recursive; unlock only by the owner.
 */
#ifndef USERKVM_KVM_MUTEX_H
#define USERKVM_KVM_MUTEX_H

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

struct kvm_mutex {
	int state;
};

#define KVM_MUTEX_INIT { 0 }

static inline void kvm_mutex_init(struct kvm_mutex *m)
{
	m->state = 0;
}

void __kvm_mutex_lock_slow(struct kvm_mutex *m);
void __kvm_mutex_unlock_slow(struct kvm_mutex *m);

/* The uncontended lock (0 -> 1): true if taken; else __kvm_mutex_lock_slow() waits for it. */
static inline bool kvm_mutex_trylock(struct kvm_mutex *m)
{
	int unlocked = 0;

	return __atomic_compare_exchange_n(&m->state, &unlocked, 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Held by someone now (a snapshot; the lock's own instruction orders it for the caller). */
static inline bool kvm_mutex_is_locked(struct kvm_mutex *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_SEQ_CST) != 0;
}

static inline void kvm_mutex_lock(struct kvm_mutex *m)
{
	if (__builtin_expect(!kvm_mutex_trylock(m), 0))
		__kvm_mutex_lock_slow(m);
}

static inline void kvm_mutex_unlock(struct kvm_mutex *m)
{
	if (__builtin_expect(__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2, 0))
		__kvm_mutex_unlock_slow(m);
}

#endif
