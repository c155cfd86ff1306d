// SPDX-License-Identifier: MIT
/*
 * libuserkvm-preload.so: LD_PRELOAD it and a program's open("/dev/kvm")
 * gets userkvm.  Only that path and userkvm's own descriptors are touched;
 * every other call goes to libc unchanged.
 *
 * The shim sees the process's close() and dup() family, so the fd table is
 * exact (kvm_fd_set_exact()) and an ioctl on a userkvm descriptor needs no
 * system call: VMMs that install a seccomp allow-list after setup keep
 * working.  mmap() needs no hook: a vCPU descriptor is a memfd holding its
 * struct kvm_run.
 *
 * USERKVM_TRACE=1 logs each intercepted call to stderr.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdbool.h>
#include <userkvm.h>
#include <userkvm/kvm_compat.h>
#include "api/kvm_fd.h"
#include "util/types.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_close_range)(unsigned int, unsigned int, int);
static int (*real_access)(const char *, int);
static void shim_threads_init(void);

/* dlsym() only here, in the constructor, never while a guest runs. */
__attribute__((constructor)) static void shim_init(void)
{
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_dup = dlsym(RTLD_NEXT, "dup");
	real_dup2 = dlsym(RTLD_NEXT, "dup2");
	real_dup3 = dlsym(RTLD_NEXT, "dup3");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_close_range = dlsym(RTLD_NEXT, "close_range");
	real_access = dlsym(RTLD_NEXT, "access");
	kvm_fd_set_exact();
	shim_threads_init();
	kvm_trace("shim loaded");
}

static int is_kvm_path(const char *path)
{
	return path && !strcmp(path, "/dev/kvm");
}

static int shim_open_kvm(const char *how, const char *path, int flags)
{
	int fd = userkvm_open(flags);

	kvm_trace("%s(\"%s\", %#x) = %d", how, path, flags, fd);
	return fd;
}

/* A mode argument follows only for O_CREAT and O_TMPFILE. */
#define OPEN_MODE(flags, mode)						\
	do {								\
		if ((flags) & (O_CREAT | __O_TMPFILE)) {		\
			va_list ap;					\
			va_start(ap, flags);				\
			mode = va_arg(ap, int);				\
			va_end(ap);					\
		}							\
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (is_kvm_path(path))
		return shim_open_kvm("open", path, flags);
	return real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (is_kvm_path(path))
		return shim_open_kvm("open64", path, flags);
	return real_open(path, flags | O_LARGEFILE, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (is_kvm_path(path))
		return shim_open_kvm("openat", path, flags);
	return real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	int mode = 0;

	OPEN_MODE(flags, mode);
	if (is_kvm_path(path))
		return shim_open_kvm("openat64", path, flags);
	return real_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* _FORTIFY_SOURCE entry points. */
EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}

EXPORT int access(const char *path, int mode)
{
	if (is_kvm_path(path))
		return 0;
	return real_access(path, mode);
}

/*
 * pthread_cancel() and KVM_RUN.  With KVM the thread is in the kernel: an
 * asynchronously cancelable thread's cancellation signal ends KVM_RUN
 * (-EINTR) and the thread unwinds on its way back to user space, KVM's
 * state intact; a deferred cancel sends no signal, and ioctl() is no
 * cancellation point.  Here KVM_RUN is user code that holds locks and may
 * reach cancellation points (pthread_cond_timedwait() while a vCPU halts,
 * write(2) of an ioeventfd or a trace line): no cancel may act inside it.
 * The KVM selftests cancel their vCPU threads so (xapic_ipi_test).
 *
 * Every pthread_cancel() of the process comes through the shim's, so a
 * cancel cannot become pending in glibc while a thread is in KVM_RUN: the
 * canceller leaves it to the thread, which sends it to itself when the run
 * returns (and an asynchronously cancelable thread's run is ended first,
 * as a signal ends it: kvm_vcpu_interrupt()).  KVM_RUN then needs neither
 * pthread_setcancelstate() nor a lock; per run it is two stores and two
 * loads of the thread's own record:
 *
 *   thread (KVM_RUN)                      canceller (pthread_cancel)
 *   run = fd                              slow |= SHIM_CANCELED
 *   compiler barrier                      membarrier(): a full barrier on
 *   if (slow) -> slow path                    every running thread
 *   ... the run ...                       if (!run) cancel it now
 *   run = 0                               else leave it to the thread
 *   compiler barrier                          (and end its run if async)
 *   if (slow) cancel myself
 *
 * The asymmetric barrier (membarrier(2), as liburcu's) makes this Dekker's:
 * the canceller sees the thread in the run, or the thread sees the cancel
 * (before the run: the slow path; after it: it cancels itself), never
 * neither.  Without membarrier (kernels before 4.14) the thread's runs take
 * the slow path, which fences (SHIM_FENCED).
 *
 * The slow path, once a thread has been cancelled or before it is in the
 * registry, is the protected run: cancellation disabled for the run,
 * restored after it (a cancel that came meanwhile acts then), which lets a
 * canceller send its cancel to glibc at once.
 *
 * The registry (shim_threads) is what pthread_cancel() searches: a thread
 * joins it at its first KVM_RUN (or in the constructor, so that the main
 * thread's first run - Solo5 hvt's, after its seccomp filter - makes no
 * system call) and leaves it at exit (a pthread key's destructor).  A
 * cancel of a thread not in it is remembered (shim_pending) for when it
 * joins: glibc may then hold a pending cancel, so its runs are protected.
 * The thread's cancelability is mirrored (the shim's pthread_setcancelstate()
 * and pthread_setcanceltype(); a new thread starts enabled and deferred),
 * so that a canceller knows whether the run must end now.
 */
enum {
	SHIM_UNREGISTERED = 1,	/* not in shim_threads (not yet, or no more) */
	SHIM_CANCELED = 2,	/* a pthread_cancel() of this very thread: owed to glibc */
	SHIM_CANCEL_MAYBE = 4,	/* one may have come before it registered */
	SHIM_FENCED = 8,	/* no membarrier: its runs fence (the slow path) */
};
#define SHIM_RUN_PROTECTED 1	/* in ->run: this run has cancellation disabled */

struct shim_thread {
	int slow;		/* SHIM_*: not 0 sends KVM_RUN to the slow path */
	int run;		/* (fd + 1) << 1 | SHIM_RUN_PROTECTED in KVM_RUN, else 0 */
	bool cancel_off;	/* the mirror: PTHREAD_CANCEL_DISABLE */
	bool cancel_async;	/* PTHREAD_CANCEL_ASYNCHRONOUS */
	pthread_t th;
	struct shim_thread *next, **pprev;	/* shim_threads */
};

static __thread struct shim_thread shim_self __attribute__((tls_model("initial-exec"))) = {
	.slow = SHIM_UNREGISTERED,
};

/* Under shim_threads_lock: */
static pthread_mutex_t shim_threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_thread *shim_threads;
#define SHIM_PENDING 64
static pthread_t shim_pending[SHIM_PENDING];	/* cancelled before they registered */
static int shim_pending_nr;
static bool shim_pending_lost;			/* more than that: every newcomer is suspect */

static pthread_key_t shim_key;
static bool shim_key_ok;
static bool shim_membarrier;	/* registered: runs need no fence (under the lock once set) */

/* Resolved on first use too: another library's constructor may run before the shim's. */
#define SHIM_REAL(name)								\
	static __typeof__(name) *real_##name;					\
	static __typeof__(name) *shim_real_##name(void)				\
	{									\
		__typeof__(name) *fn = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
										\
		if (unlikely(!fn)) {						\
			fn = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);	\
			__atomic_store_n(&real_##name, fn, __ATOMIC_RELAXED);	\
		}								\
		return fn;							\
	}
SHIM_REAL(pthread_cancel)
SHIM_REAL(pthread_setcancelstate)
SHIM_REAL(pthread_setcanceltype)
SHIM_REAL(prctl)

/*
 * A seccomp filter is about to go in (syscall(SYS_seccomp, ...), as
 * libseccomp installs one, or prctl(PR_SET_SECCOMP, ...)): the vCPU locks'
 * biases go first, while membarrier(2) may still be called, and none is
 * granted after it (kvm_fd_bias_seal(), kvm/mutex.h), so that a second
 * thread's use of a vCPU never needs a call the filter may refuse.
 *
 * syscall() is passed on untouched, in assembly: in C it would have to
 * take its variadic arguments, and a call with fewer than six has nothing
 * on the stack where the sixth would be.  Only SYS_seccomp stops on the
 * way, in shim_syscall_check(), with the argument registers saved.
 */
/* Not static: named by the assembly below (hidden, so not exported). */
__attribute__((visibility("hidden"))) long (*shim_syscall_next)(long, ...);

__attribute__((visibility("hidden"), used, noinline)) void *shim_syscall_check(long nr, long op);
__attribute__((visibility("hidden"), used, noinline)) void *shim_syscall_check(long nr, long op)
{
	long (*next)(long, ...) = __atomic_load_n(&shim_syscall_next, __ATOMIC_RELAXED);

	if (nr == SYS_seccomp && op == SECCOMP_SET_MODE_FILTER)
		kvm_fd_bias_seal();
	if (unlikely(!next)) {	/* another library's constructor, before the shim's */
		next = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&shim_syscall_next, next, __ATOMIC_RELAXED);
	}
	return (void *)next;
}

#define SHIM_STR_(x) #x
#define SHIM_STR(x) SHIM_STR_(x)
__asm__(".text\n\t"
	".globl syscall\n\t"
	".type syscall, @function\n"
	"syscall:\n\t"
	"cmpq $" SHIM_STR(SYS_seccomp) ", %rdi\n\t"
	"je 1f\n\t"
	"movq shim_syscall_next(%rip), %rax\n\t"
	"testq %rax, %rax\n\t"
	"je 1f\n\t"
	"jmp *%rax\n"
	"1:\n\t"
	"pushq %rdi\n\t"
	"pushq %rsi\n\t"
	"pushq %rdx\n\t"
	"pushq %rcx\n\t"
	"pushq %r8\n\t"
	"pushq %r9\n\t"
	"subq $8, %rsp\n\t"	/* 16-byte aligned for the call */
	"call shim_syscall_check\n\t"
	"addq $8, %rsp\n\t"
	"popq %r9\n\t"
	"popq %r8\n\t"
	"popq %rcx\n\t"
	"popq %rdx\n\t"
	"popq %rsi\n\t"
	"popq %rdi\n\t"
	"jmp *%rax\n\t"
	".size syscall, .-syscall");

EXPORT int prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP && a[0] == SECCOMP_MODE_FILTER)
		kvm_fd_bias_seal();
	return shim_real_prctl()(option, a[0], a[1], a[2], a[3]);
}

/* Under shim_threads_lock. */
static void shim_barrier_heavy(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (shim_membarrier && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)) {
		/*
		 * Registered in the constructor, it fails only if a seccomp
		 * filter refuses it (then pthread_cancel()'s own tgkill(2)
		 * likely fails too): from now on every run fences.  A thread
		 * between its store and its load right now is not covered.
		 */
		shim_membarrier = false;
		for (struct shim_thread *p = shim_threads; p; p = p->next)
			__atomic_fetch_or(&p->slow, SHIM_FENCED, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
}

static void shim_thread_link(struct shim_thread *me)
{
	me->th = pthread_self();
	me->next = shim_threads;
	me->pprev = &shim_threads;
	if (shim_threads)
		shim_threads->pprev = &me->next;
	shim_threads = me;
}

static void shim_thread_unlink(struct shim_thread *me)
{
	*me->pprev = me->next;
	if (me->next)
		me->next->pprev = me->pprev;
}

/* The key's destructor: the thread is exiting. */
static void shim_thread_exit(void *p)
{
	struct shim_thread *me = p;

	pthread_mutex_lock(&shim_threads_lock);
	shim_thread_unlink(me);
	__atomic_fetch_or(&me->slow, SHIM_UNREGISTERED, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&shim_threads_lock);
}

/* No system call unless the lock is contended (futex) or the key's array needs room. */
static void shim_register(void)
{
	struct shim_thread *me = &shim_self;
	int bits = 0;

	/* Without the key the thread could not leave at exit: it stays out (protected runs). */
	if (!shim_key_ok || pthread_setspecific(shim_key, me))
		return;
	pthread_mutex_lock(&shim_threads_lock);
	shim_thread_link(me);
	if (!shim_membarrier)
		bits = SHIM_FENCED;
	if (shim_pending_lost)
		bits |= SHIM_CANCEL_MAYBE;
	for (int i = 0; i < shim_pending_nr; i++) {
		if (pthread_equal(shim_pending[i], me->th)) {
			shim_pending[i] = shim_pending[--shim_pending_nr];
			bits |= SHIM_CANCEL_MAYBE;
			break;
		}
	}
	__atomic_fetch_or(&me->slow, bits, __ATOMIC_SEQ_CST);
	__atomic_fetch_and(&me->slow, ~SHIM_UNREGISTERED, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&shim_threads_lock);
}

static struct shim_thread *shim_thread_find(pthread_t th)
{
	for (struct shim_thread *p = shim_threads; p; p = p->next)
		if (pthread_equal(p->th, th))
			return p;
	return NULL;
}

/* fork(): the child has one thread, the one that forked. */
static void shim_atfork_prepare(void)
{
	pthread_mutex_lock(&shim_threads_lock);
}

static void shim_atfork_parent(void)
{
	pthread_mutex_unlock(&shim_threads_lock);
}

static void shim_atfork_child(void)
{
	shim_threads = NULL;
	if (!(__atomic_load_n(&shim_self.slow, __ATOMIC_RELAXED) & SHIM_UNREGISTERED))
		shim_thread_link(&shim_self);
	pthread_mutex_unlock(&shim_threads_lock);
}

static void shim_threads_init(void)
{
	shim_real_pthread_cancel();
	shim_real_pthread_setcancelstate();
	shim_real_pthread_setcanceltype();
	shim_syscall_check(0, 0);	/* resolves shim_syscall_next */
	shim_real_prctl();
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		shim_membarrier = true;
	shim_key_ok = pthread_key_create(&shim_key, shim_thread_exit) == 0;
	pthread_atfork(shim_atfork_prepare, shim_atfork_parent, shim_atfork_child);
	shim_register();
}

EXPORT int pthread_setcancelstate(int state, int *oldstate)
{
	int r = shim_real_pthread_setcancelstate()(state, oldstate);

	if (!r)
		__atomic_store_n(&shim_self.cancel_off, state == PTHREAD_CANCEL_DISABLE,
				 __ATOMIC_RELAXED);
	return r;
}

EXPORT int pthread_setcanceltype(int type, int *oldtype)
{
	int r = shim_real_pthread_setcanceltype()(type, oldtype);

	if (!r)
		__atomic_store_n(&shim_self.cancel_async, type == PTHREAD_CANCEL_ASYNCHRONOUS,
				 __ATOMIC_RELAXED);
	return r;
}

EXPORT int pthread_cancel(pthread_t th)
{
	struct shim_thread *p;
	bool now = true, kick = false;
	int run = 0;

	pthread_mutex_lock(&shim_threads_lock);
	p = shim_thread_find(th);
	if (!p) {
		if (shim_pending_nr < SHIM_PENDING)
			shim_pending[shim_pending_nr++] = th;
		else
			shim_pending_lost = true;
	} else {
		__atomic_fetch_or(&p->slow, SHIM_CANCELED, __ATOMIC_SEQ_CST);
		shim_barrier_heavy();
		run = __atomic_load_n(&p->run, __ATOMIC_ACQUIRE);
		/* A run with cancellation enabled: the thread cancels itself when it returns. */
		now = !run || (run & SHIM_RUN_PROTECTED);
		kick = run && !__atomic_load_n(&p->cancel_off, __ATOMIC_RELAXED) &&
		       __atomic_load_n(&p->cancel_async, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&shim_threads_lock);
	/* Not a descriptor of ours: the system's KVM_RUN, which the signal ends. */
	if (kick && kvm_fd_vcpu_interrupt((run >> 1) - 1) < 0)
		now = true;
	return now ? shim_real_pthread_cancel()(th) : 0;
}

/* A pthread_cancel() of this thread came (it may have sent it already: then this does nothing). */
static __attribute__((noinline, cold)) void shim_cancel_self(void)
{
	int e = errno;

	shim_real_pthread_cancel()(pthread_self());	/* asynchronous: acts now */
	errno = e;
}

/*
 * KVM_RUN with cancellation disabled: the thread may hold a pending cancel
 * (or come to, from a canceller that saw this run), which acts once the
 * run has returned.  Deferred while enabling, then pthread_testcancel():
 * glibc 2.36 acting on it inside pthread_setcancelstate() leaves the
 * thread's result NULL instead of PTHREAD_CANCELED.
 */
static long shim_kvm_run_protected(int fd, unsigned long req, unsigned long arg)
{
	struct shim_thread *me = &shim_self;
	int old, type, e;
	long r;

	shim_real_pthread_setcancelstate()(PTHREAD_CANCEL_DISABLE, &old);
	shim_real_pthread_setcanceltype()(PTHREAD_CANCEL_DEFERRED, &type);
	__atomic_store_n(&me->run, (fd + 1) << 1 | SHIM_RUN_PROTECTED, __ATOMIC_RELEASE);
	r = kvm_fd_ioctl_run(fd, req, arg);
	__atomic_store_n(&me->run, 0, __ATOMIC_RELEASE);
	e = errno;
	shim_real_pthread_setcancelstate()(old, NULL);
	if (old == PTHREAD_CANCEL_ENABLE && type == PTHREAD_CANCEL_ASYNCHRONOUS)
		pthread_testcancel();
	shim_real_pthread_setcanceltype()(type, NULL);
	errno = e;
	return r;
}

static long shim_kvm_run(int fd, unsigned long req, unsigned long arg);

/*
 * After a run: the compiler barrier of the fast path, or a fence (no
 * membarrier).  A pthread_cancel() came during the run and left its cancel
 * to us, or the thread runs fenced.  Return: @r.
 */
static __attribute__((noinline, cold)) long shim_kvm_run_done_slow(long r)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&shim_self.slow, __ATOMIC_RELAXED) & SHIM_CANCELED)
		shim_cancel_self();
	return r;
}

/* The thread's first KVM_RUN, one after a pthread_cancel() of it, or one without membarrier. */
static __attribute__((noinline, cold)) long shim_kvm_run_slow(int fd, unsigned long req,
							      unsigned long arg)
{
	struct shim_thread *me = &shim_self;
	int slow;
	long r;

	/* Marked as a run with cancellation enabled: the fenced run goes on so. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	slow = __atomic_load_n(&me->slow, __ATOMIC_RELAXED);
	if (slow == SHIM_FENCED) {
		r = kvm_fd_ioctl_run(fd, req, arg);
		__atomic_store_n(&me->run, 0, __ATOMIC_RELEASE);
		return shim_kvm_run_done_slow(r);
	}
	/* Not so after all: a canceller that saw the mark may have left its cancel to us. */
	__atomic_store_n(&me->run, 0, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	slow = __atomic_load_n(&me->slow, __ATOMIC_RELAXED);
	if (slow & SHIM_UNREGISTERED) {
		shim_register();
		slow = __atomic_load_n(&me->slow, __ATOMIC_RELAXED);
		if (!(slow & ~SHIM_FENCED))
			return shim_kvm_run(fd, req, arg);
	}
	if (slow & SHIM_CANCELED)
		shim_cancel_self();
	return shim_kvm_run_protected(fd, req, arg);
}

/*
 * KVM_RUN: one look-up of @fd (kvm_fd_ioctl_run()), no lock, no call to
 * glibc, no fence (membarrier in pthread_cancel() makes up for it).
 */
static __always_inline long shim_kvm_run(int fd, unsigned long req, unsigned long arg)
{
	struct shim_thread *me = &shim_self;
	long r;

	__atomic_store_n(&me->run, (fd + 1) << 1, __ATOMIC_RELEASE);
	__asm__ __volatile__("" ::: "memory");
	if (unlikely(__atomic_load_n(&me->slow, __ATOMIC_RELAXED)))
		return shim_kvm_run_slow(fd, req, arg);
	r = kvm_fd_ioctl_run(fd, req, arg);
	__atomic_store_n(&me->run, 0, __ATOMIC_RELEASE);
	__asm__ __volatile__("" ::: "memory");
	if (unlikely(__atomic_load_n(&me->slow, __ATOMIC_RELAXED)))
		return shim_kvm_run_done_slow(r);
	return r;
}

/*
 * ioctl(): kvm_fd_ioctl() passes descriptors that are not ours to the
 * system.  Exported as "ioctl" below without a C variadic body, as
 * userkvm_ioctl() is (api/kvm_fd.c): on x86-64 a variadic call passes
 * @arg in %rdx as a fixed one, and va_start would spill the registers on
 * every KVM_RUN.
 */
__attribute__((visibility("hidden"))) long shim_ioctl(int fd, unsigned long req, unsigned long arg)
{
	if ((unsigned int)req == KVM_RUN)
		return shim_kvm_run(fd, req, arg);
	return kvm_fd_ioctl(fd, req, arg);
}

#if defined(__x86_64__) && defined(__ELF__)
__asm__(".globl ioctl\n\t"
	".type ioctl, @function\n\t"
	".set ioctl, shim_ioctl");
#else
EXPORT int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)shim_ioctl(fd, req, arg);
}
#endif

EXPORT int close(int fd)
{
	kvm_fd_close(fd);
	return real_close(fd);
}

EXPORT int dup(int fd)
{
	int r = real_dup(fd);

	if (r >= 0)
		kvm_fd_dup(fd, r);
	return r;
}

EXPORT int dup2(int fd, int fd2)
{
	int r = real_dup2(fd, fd2);

	if (r >= 0)
		kvm_fd_dup(fd, r);
	return r;
}

EXPORT int dup3(int fd, int fd2, int flags)
{
	int r = real_dup3(fd, fd2, flags);

	if (r >= 0)
		kvm_fd_dup(fd, r);
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	r = real_fcntl(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		kvm_fd_dup(fd, r);
	return r;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int r = real_close_range(first, last, flags);

	/* CLOSE_RANGE_CLOEXEC only marks; otherwise the range is gone. */
	if (r == 0 && !(flags & 4 /* CLOSE_RANGE_CLOEXEC */)) {
		for (unsigned int fd = first; fd <= last && fd < (1u << 20); fd++) {
			kvm_fd_close((int)fd);
			if (fd == ~0u)
				break;
		}
	}
	return r;
}
