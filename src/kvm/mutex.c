// SPDX-License-Identifier: MIT
/*
 * The slow halves of kvm/mutex.h: the contended lock and unlock, the
 * bias's grant, revocation and drop, and the heavy barrier they rest on.
 */
#include <limits.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <time.h>

#include "kvm/mutex.h"

__thread u64 kvm_thread_token __attribute__((tls_model("initial-exec"))) = 1;
static u64 kvm_thread_tokens = 2;
int kvm_bias_ok;
static int kvm_bias_inited, kvm_bias_sealed;

static void kvm_bias_never(void)
{
	__atomic_store_n(&kvm_bias_ok, -1, __ATOMIC_SEQ_CST);
}

static void futex_wait(int *word, int val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(int *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/*
 * Once, at the first KVM_CREATE_VCPU (a sandboxed VMM creates its vCPUs
 * before it installs its filter): membarrier(2)'s expedited command needs
 * the process registered.  USERKVM_NO_BIAS=1 turns biases off (to compare).
 */
void kvm_bias_init(void)
{
	const char *off;

	/* Once; and never after kvm_bias_seal(): the registration is a system call. */
	if (__atomic_exchange_n(&kvm_bias_inited, 1, __ATOMIC_ACQ_REL))
		return;
	off = getenv("USERKVM_NO_BIAS");
	if ((off && *off && *off != '0') ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		kvm_bias_never();
		return;
	}
	/* Unless kvm_bias_seal() came meanwhile. */
	int unknown = 0;

	__atomic_compare_exchange_n(&kvm_bias_ok, &unknown, 1, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_RELAXED);
}

/*
 * A full barrier on every thread of the process that runs now (and the
 * context switch of every other is one): what the bias owner's plain
 * stores and loads are ordered by.  If membarrier(2) fails (a seccomp
 * filter that refuses it with an errno; one that kills is the VMM's
 * choice: it happens only when a thread other than a vCPU's own takes the
 * vCPU's mutex or flushes its TLB), no more biases are granted, and this
 * waits out the owners' store buffers instead: an owner's store of
 * bias_in reaches memory within the time a store takes to retire
 * (nanoseconds; an interrupt or a context switch drains it), and 1 ms is
 * far beyond that.  Not a guarantee the SDM gives, so only the fallback.
 */
void kvm_heavy_barrier(void)
{
	static int fence;
	struct timespec t0, t;

	/* Sealed: no section runs under a bias; a full barrier on this side is enough. */
	if (__atomic_load_n(&kvm_bias_sealed, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&fence, 0, __ATOMIC_SEQ_CST);
		return;
	}
	/* (The callers' locked instruction before it is the full barrier on this side.) */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return;
	kvm_bias_never();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		__builtin_ia32_pause();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000l + (t.tv_nsec - t0.tv_nsec) < 1000000);
	__atomic_fetch_add(&fence, 0, __ATOMIC_SEQ_CST);	/* a fence (TSan has no fences) */
}

/*
 * Every bias is gone (the caller revoked them, kvm_fd_bias_seal(), each
 * with its heavy barrier): no thread enters a section with plain stores
 * any more, and none is granted again, so kvm_heavy_barrier() need not
 * reach other threads (a section entered before the revocation stored its
 * flags before the revocation's barrier).  For a process about to install
 * a seccomp filter, which may refuse membarrier(2).
 */
void kvm_bias_seal_begin(void)
{
	__atomic_store_n(&kvm_bias_inited, 1, __ATOMIC_SEQ_CST);
	kvm_bias_never();
}

void kvm_bias_seal(void)
{
	__atomic_store_n(&kvm_bias_sealed, 1, __ATOMIC_SEQ_CST);
}

/*
 * Take the mutex from the bias @b (whose cmpxchg wins: a plain holder of
 * the mutex has no bias to take).  The owner may be in a section: wait
 * for it to leave (it wakes us: kvm_mutex_bias_drop()).  The mutex is
 * then the caller's, held as it was for the bias.
 */
static bool kvm_mutex_revoke(struct kvm_mutex *m, u64 b)
{
	int in;

	if (!__atomic_compare_exchange_n(&m->bias, &b, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return false;
	if (b != kvm_thread_token)
		kvm_heavy_barrier();
	while ((in = __atomic_load_n(&m->bias_in, __ATOMIC_SEQ_CST)))
		futex_wait(&m->bias_in, in);
	if (b != kvm_thread_token)
		m->revokes++;
	return true;
}

/* The contended half of kvm_mutex_lock() (kvm/mutex.h), a bias revoked first. */
void __kvm_mutex_lock_slow(struct kvm_mutex *m)
{
	for (;;) {
		u64 b = __atomic_load_n(&m->bias, __ATOMIC_ACQUIRE);

		if (b && kvm_mutex_revoke(m, b))
			return;
		/* Say a thread sleeps on it (2), and sleep while someone else holds it. */
		if (__atomic_exchange_n(&m->state, 2, __ATOMIC_SEQ_CST) == 0)
			return;
		/*
		 * After the 2, as the grant looks at the word after its store
		 * of the bias: a waiter sees the bias, or the grant the waiter.
		 */
		b = __atomic_load_n(&m->bias, __ATOMIC_SEQ_CST);
		if (b && kvm_mutex_revoke(m, b))
			return;
		futex_wait(&m->state, 2);
	}
}

void __kvm_mutex_unlock_slow(struct kvm_mutex *m)
{
	futex_wake(&m->state, 1);
}

/* The caller holds the mutex the plain way and is in no section. */
bool __kvm_mutex_bias_grant(struct kvm_mutex *m)
{
	u64 me = kvm_thread_token;

	if (__builtin_expect(me == 1, 0))
		me = kvm_thread_token = __atomic_fetch_add(&kvm_thread_tokens, 1, __ATOMIC_RELAXED);
	/* One thread only, ever (see kvm/mutex.h). */
	if (__builtin_expect(m->bias_thread != me, 0)) {
		if (m->bias_thread)
			return false;
		__atomic_store_n(&m->bias_thread, me, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&m->handoff, 0, __ATOMIC_RELAXED);
	__atomic_exchange_n(&m->bias, me, __ATOMIC_SEQ_CST);
	/*
	 * After the bias, as kvm_fd_bias_seal() looks at the biases after its
	 * kvm_bias_seal_begin(): a seal sees this bias, or this the seal.
	 */
	if (__atomic_load_n(&m->state, __ATOMIC_SEQ_CST) != 2 &&
	    __atomic_load_n(&kvm_bias_ok, __ATOMIC_SEQ_CST) == 1)
		return true;
	/*
	 * A thread waits for the mutex (or a seal came): it is its (unlocked
	 * here), unless it took the bias already.
	 */
	return !__atomic_compare_exchange_n(&m->bias, &me, 0, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED);
}

/*
 * The bias owner, out of its section (kvm_mutex_bias_exit() done), gives
 * the bias up: true if it holds the mutex now, the plain way (the bias
 * was still its own, or a kvm_mutex_try_revoke() left the mutex to it);
 * false if a revoker took it (woken here: it may wait for the section).
 */
bool kvm_mutex_bias_drop(struct kvm_mutex *m)
{
	u64 me = kvm_thread_token;

	if (__atomic_compare_exchange_n(&m->bias, &me, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return true;
	futex_wake(&m->bias_in, INT_MAX);
	return __atomic_exchange_n(&m->handoff, 0, __ATOMIC_SEQ_CST) != 0;
}

/*
 * Take the mutex from its bias without waiting (the release of a vCPU's
 * file, which holds no reference that a waiting revoker would hold):
 * true if the caller holds it now.  False if there is no bias, if the
 * owner gave it up itself meanwhile (it holds the mutex), or if the owner
 * is in a section: then the mutex is left to it (handoff, and bias_in 1
 * -> 2 so that the owner's own store of 0 on leaving comes later; it
 * then finds the handoff in kvm_mutex_bias_drop()).  Whichever of the
 * two takes ->handoff back owns the mutex.
 */
bool kvm_mutex_try_revoke(struct kvm_mutex *m)
{
	u64 b = __atomic_load_n(&m->bias, __ATOMIC_ACQUIRE);
	int in = 1;

	if (!b || !__atomic_compare_exchange_n(&m->bias, &b, 0, false, __ATOMIC_SEQ_CST,
					       __ATOMIC_RELAXED))
		return false;
	if (b != kvm_thread_token)
		kvm_heavy_barrier();
	if (!__atomic_load_n(&m->bias_in, __ATOMIC_SEQ_CST))
		return true;
	__atomic_store_n(&m->handoff, 1, __ATOMIC_SEQ_CST);
	/* Failing, it read the owner's store of 0 on leaving: acquire it too. */
	if (__atomic_compare_exchange_n(&m->bias_in, &in, 2, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		return false;
	return __atomic_exchange_n(&m->handoff, 0, __ATOMIC_SEQ_CST) != 0;
}
