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
 *
 * A thread bias on top (a "biased lock", as JVMs have for monitors): the
 * mutex can be held for one thread (->bias, its kvm_thread_token), which
 * then enters and leaves its critical sections with plain stores and
 * loads and no locked instruction, two of which cost about 9 ns on some
 * hosts, a fifth of an exit to userspace.  A vCPU is nearly always run
 * by one thread, so the thread that runs it takes the bias
 * (kvm_mutex_bias_grant(), when its KVM_RUN took the mutex the plain way);
 * another thread that wants the mutex revokes the bias first.  The pair
 * that must not both pass is
 *
 *   owner (kvm_mutex_bias_enter())        revoker (__kvm_mutex_lock_slow())
 *   bias_in = 1                           cmpxchg(bias, owner, 0)
 *   compiler barrier                      kvm_heavy_barrier(): membarrier(2),
 *   if (bias != me) -> not entered            a full barrier on every thread
 *   ... the section ...                   wait until bias_in == 0: then it
 *   bias_in = 0                               holds the mutex
 *   if (bias != me) -> wake the revoker
 *
 * which the asymmetric barrier makes Dekker's: the revoker sees the owner
 * in its section (and waits for it to leave), or the owner sees the bias
 * gone (and does not enter; it takes the mutex the plain way next).  The
 * heavy barrier is paid only by a thread that is not the bias owner, and
 * only once per bias; a mutex revoked often (KVM_MUTEX_BIAS_REVOKES) is
 * biased no more.  A process without membarrier(2) gets no biases.
 *
 * Only one thread is ever granted the bias of a mutex (->bias_thread):
 * an owner whose bias was revoked while it was between its store of
 * bias_in and its look at the bias (preempted there, say) still stores
 * the flag, 1 and then 0; were the mutex biased to another thread by
 * then, those stores would be taken for that thread's.  Nobody looks at
 * the flag of a mutex without a bias, and only the same thread can bias
 * it again.  For the same reason a holder does not tell from the flag
 * whether it took the mutex under its bias: kvm_mutex_lock_biased() says.
 *
 * A process about to install a seccomp filter (which may refuse
 * membarrier) has every bias taken back first and none granted after
 * (api/kvm_fd.c kvm_fd_bias_seal(); the shim's syscall() and prctl(),
 * userkvm_seccomp_prepare()): kvm_heavy_barrier() then makes no call.
 *
 * Who else looks: kvm_mutex_may_run() (a section may be running: the
 * bias owner's flag, or the mutex held), for kvm_flush_remote_tlbs(),
 * which pays the heavy barrier for a vCPU biased to another thread; and
 * the release of a vCPU's file (kvm_mutex_try_revoke(), api/kvm_fd.c),
 * which must not wait for a section: it leaves the mutex to the owner
 * (->handoff, bias_in = 2) when the owner is in one.
 */
#ifndef USERKVM_KVM_MUTEX_H
#define USERKVM_KVM_MUTEX_H

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/types.h"

struct kvm_mutex {
	int state;
	int bias_in;		/* the bias owner in a section: 1 (2: the mutex is left to it) */
	u64 bias;		/* the kvm_thread_token the mutex is held for, or 0 */
	int handoff;		/* a kvm_mutex_try_revoke() left the mutex to the owner */
	int revokes;		/* biases revoked by other threads (under the mutex) */
	u64 bias_thread;	/* the one thread ever granted a bias (under the mutex) */
};

#define KVM_MUTEX_INIT { 0 }
/* After this many revocations by other threads the mutex is biased no more. */
#define KVM_MUTEX_BIAS_REVOKES 8

/*
 * The calling thread's name for a bias: 1 until it first takes one (never
 * a bias: those start at 2), so that a mutex without a bias (0) is never
 * "mine".
 */
extern __thread u64 kvm_thread_token __attribute__((tls_model("initial-exec")));

static inline void kvm_mutex_init(struct kvm_mutex *m)
{
	m->state = 0;
	m->bias_in = 0;
	m->bias = 0;
	m->handoff = 0;
	m->revokes = 0;
	m->bias_thread = 0;
}

void __kvm_mutex_lock_slow(struct kvm_mutex *m);
void __kvm_mutex_unlock_slow(struct kvm_mutex *m);
bool __kvm_mutex_bias_grant(struct kvm_mutex *m);
bool kvm_mutex_bias_drop(struct kvm_mutex *m);
bool kvm_mutex_try_revoke(struct kvm_mutex *m);
void kvm_heavy_barrier(void);
/*
 * 1: biases may be granted in this process (membarrier registered,
 * kvm_bias_init()); 0: not known yet; -1: never again (no membarrier,
 * USERKVM_NO_BIAS, or kvm_bias_seal()).
 */
extern int kvm_bias_ok;
void kvm_bias_init(void);
/*
 * kvm_fd_bias_seal()'s steps: no grant from _begin() on (before it looks
 * at the biases to revoke them), no membarrier(2) from kvm_bias_seal() on.
 */
void kvm_bias_seal_begin(void);
void kvm_bias_seal(void);

/* The uncontended lock (0 -> 1): true if taken; else __kvm_mutex_lock_slow() waits for it. */
static inline bool kvm_mutex_trylock(struct kvm_mutex *m)
{
	int unlocked = 0;

	return __atomic_compare_exchange_n(&m->state, &unlocked, 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * ThreadSanitizer knows no membarrier(2): there the owner's entry is a
 * full barrier of its own (sequentially consistent, an xchg), which makes
 * the protocol one that it can follow.
 */
#ifdef __SANITIZE_THREAD__
#define KVM_BIAS_ENTER_ORDER __ATOMIC_SEQ_CST
#else
#define KVM_BIAS_ENTER_ORDER __ATOMIC_RELAXED
#endif

/* The mutex is held for the calling thread's bias (a snapshot, see the top). */
static __always_inline bool kvm_mutex_bias_mine(struct kvm_mutex *m)
{
	return __atomic_load_n(&m->bias, __ATOMIC_ACQUIRE) == kvm_thread_token;
}

/*
 * The bias owner enters a section (see the top): true if entered; else
 * the bias went meanwhile, and the caller leaves (kvm_mutex_bias_exit(),
 * kvm_mutex_bias_drop()) before it takes the mutex the plain way.
 */
static __always_inline bool kvm_mutex_bias_enter(struct kvm_mutex *m)
{
	__atomic_store_n(&m->bias_in, 1, KVM_BIAS_ENTER_ORDER);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&m->bias, KVM_BIAS_ENTER_ORDER) == kvm_thread_token;
}

/*
 * The bias owner leaves its section: true if the bias is still its own;
 * else it was revoked meanwhile and kvm_mutex_bias_drop() is owed (it
 * wakes the revoker).
 */
static __always_inline bool kvm_mutex_bias_exit(struct kvm_mutex *m)
{
	__atomic_store_n(&m->bias_in, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return kvm_mutex_bias_mine(m);
}

/*
 * Instead of the unlock, by a thread that took the mutex the plain way:
 * keep it held for this thread's bias.  True if the mutex is no longer
 * the caller's to unlock (biased, or taken over by a waiter meanwhile).
 */
static __always_inline bool kvm_mutex_bias_grant(struct kvm_mutex *m)
{
	if (__builtin_expect(__atomic_load_n(&kvm_bias_ok, __ATOMIC_RELAXED) != 1, 0) ||
	    __builtin_expect(m->revokes >= KVM_MUTEX_BIAS_REVOKES, 0))
		return false;
	return __kvm_mutex_bias_grant(m);
}

/*
 * A section may be running: the bias owner's (its flag; the caller paid
 * kvm_heavy_barrier() if the owner is another thread), or the holder's.
 */
static inline bool kvm_mutex_may_run(struct kvm_mutex *m)
{
	if (__atomic_load_n(&m->bias, __ATOMIC_SEQ_CST))
		return __atomic_load_n(&m->bias_in, __ATOMIC_SEQ_CST) != 0;
	return __atomic_load_n(&m->state, __ATOMIC_SEQ_CST) != 0;
}

/* Ever biased to a thread other than the caller (->bias_thread is set once). */
static inline bool kvm_mutex_biased_ever_elsewhere(struct kvm_mutex *m)
{
	u64 b = __atomic_load_n(&m->bias_thread, __ATOMIC_RELAXED);

	return b && b != kvm_thread_token;
}

/* Biased to a thread other than the caller: its sections are seen after kvm_heavy_barrier(). */
static inline bool kvm_mutex_biased_elsewhere(struct kvm_mutex *m)
{
	u64 b = __atomic_load_n(&m->bias, __ATOMIC_SEQ_CST);

	return b && b != kvm_thread_token;
}

/* The plain lock (a bias, even the caller's own, is revoked first). */
static inline void kvm_mutex_lock(struct kvm_mutex *m)
{
	if (__builtin_expect(!kvm_mutex_trylock(m), 0))
		__kvm_mutex_lock_slow(m);
}

/* The plain unlock, of a mutex taken the plain way. */
static inline void kvm_mutex_unlock(struct kvm_mutex *m)
{
	if (__builtin_expect(__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2, 0))
		__kvm_mutex_unlock_slow(m);
}

/*
 * The lock of a section that may run under the caller's bias (a vCPU
 * ioctl on the thread that runs the vCPU): true if it does, which
 * kvm_mutex_unlock_biased() is told.
 */
static inline bool kvm_mutex_lock_biased(struct kvm_mutex *m)
{
	if (kvm_mutex_bias_mine(m)) {
		if (__builtin_expect(kvm_mutex_bias_enter(m), 1))
			return true;
		/* Revoked meanwhile: leave, and wait for it (or it was left to us). */
		if (!kvm_mutex_bias_exit(m) && kvm_mutex_bias_drop(m))
			return false;
	}
	kvm_mutex_lock(m);
	return false;
}

static inline void kvm_mutex_unlock_biased(struct kvm_mutex *m, bool biased)
{
	/* A bias revoked during the section: the revoker's now (or, handed back, ours). */
	if (biased && (__builtin_expect(kvm_mutex_bias_exit(m), 1) || !kvm_mutex_bias_drop(m)))
		return;
	kvm_mutex_unlock(m);
}

#endif
