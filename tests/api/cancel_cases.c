// SPDX-License-Identifier: MIT
/*
 * pthread_cancel() of a thread in KVM_RUN, as KVM gives it: KVM_RUN is a
 * system call, so an asynchronously cancelable thread's cancellation
 * signal ends the run (-EINTR) and the cancel acts on the way back to
 * user space; a deferred cancel sends no signal and ioctl() is no
 * cancellation point, so it acts at the thread's next cancellation point
 * after KVM_RUN.  Through the shim (tests/scripts/shim.sh runs these cases
 * with it preloaded) KVM_RUN is user code that holds locks and reaches
 * cancellation points (a halted vCPU waits in pthread_cond_timedwait()):
 * a cancel acting in there would leave the vCPU's mutex held and the
 * thread's result PTHREAD_CANCELED without KVM_RUN ever returning.
 *
 * The cases run on the "kvm" backend (the host's /dev/kvm, or the shim);
 * userkvm's library API is a plain call, whose cancellation points are
 * the caller's, so they do nothing there.  Transcripts are not compared
 * (on the library side there is none); the checks hold on both kernels.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>

#include "runutil.h"

/* cli; 1: hlt; out %al, $0x10; jmp 1b: with an in-kernel irqchip KVM_RUN blocks in HLT. */
static const unsigned char g_cli_hlt[] = { 0xfa, 0xf4, 0xe6, 0x10, 0xeb, 0xfb };

struct cancel_vcpu {
	struct tguest *g;
	int type;		/* the thread's cancel type in KVM_RUN */
	bool disable;		/* and cancellation disabled for it */
	bool prerun;		/* a KVM_RUN (immediate_exit) before it waits for @go */
	volatile int ready, go, in_run, after_run, after_testcancel;
	long r;
	int err;
	unsigned int exit_reason;
};

static void cancel_sig(int sig) { (void)sig; }

static void *cancel_vcpu_fn(void *arg)
{
	struct cancel_vcpu *c = arg;
	struct tguest *g = c->g;

	if (c->prerun) {
		g->run->immediate_exit = 1;
		c->r = ioctl(g->vcpu, KVM_RUN, 0);
		g->run->immediate_exit = 0;
	}
	/* Set, then put back: what KVM_RUN sees is the state it was left in, not the first one. */
	pthread_setcanceltype(c->type == PTHREAD_CANCEL_ASYNCHRONOUS ? PTHREAD_CANCEL_DEFERRED
								     : PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_setcanceltype(c->type, NULL);
	if (c->disable)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		sched_yield();		/* no cancellation point */
	__atomic_store_n(&c->in_run, 1, __ATOMIC_RELEASE);
	c->r = ioctl(g->vcpu, KVM_RUN, 0);
	c->err = errno;
	c->exit_reason = g->run->exit_reason;
	__atomic_store_n(&c->after_run, 1, __ATOMIC_RELEASE);
	if (c->disable) {
		/* Deferred first: glibc 2.36 acting inside pthread_setcancelstate() leaves the result NULL. */
		pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	}
	pthread_testcancel();
	__atomic_store_n(&c->after_testcancel, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* pthread_join() with a limit.  Return: 0 or ETIMEDOUT. */
static int join_ms(pthread_t th, void **res, int ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(th, res, &dl);
}

/* The kick of a VMM: KVM_RUN returns -EINTR (KVM_EXIT_INTR), halted or not. */
static void kick(struct tguest *g, pthread_t th)
{
	g->run->immediate_exit = 1;
	pthread_kill(th, SIGUSR1);
}

/* After the cancel: another thread's KVM_RUN on the vCPU (its mutex free) returns. */
static void *usable_fn(void *arg)
{
	struct cancel_vcpu *c = arg;

	c->g->run->immediate_exit = 1;
	c->r = ioctl(c->g->vcpu, KVM_RUN, 0);
	c->err = errno;
	c->exit_reason = c->g->run->exit_reason;
	c->g->run->immediate_exit = 0;
	return NULL;
}

static void check_usable(struct tctx *t, struct tguest *g)
{
	struct cancel_vcpu u = { .g = g };
	pthread_t th;

	pthread_create(&th, NULL, usable_fn, &u);
	if (join_ms(th, NULL, 10000)) {
		CHECK(0, "KVM_RUN after the cancel did not return in 10 s (the vCPU's mutex held?)");
		return;		/* the thread stays blocked: the case has failed */
	}
	t_printf(t, "KVM_RUN after = %ld %s exit %s", u.r, u.r < 0 ? t_errname(u.err) : "",
		 tg_exit_name(u.exit_reason));
	CHECK(u.r == -1 && u.err == EINTR && u.exit_reason == KVM_EXIT_INTR,
	      "KVM_RUN with immediate_exit after the cancel: %ld %s exit %u", u.r,
	      t_errname(u.err), u.exit_reason);
}

static bool cancel_setup(struct tctx *t, struct tguest *g, bool irqchip, const unsigned char *code,
			 size_t len)
{
	t->differs_all = 1;
	if (t->be->soft) {
		t_printf(t, "not on the library API (its KVM_RUN is a plain call)");
		return false;
	}
	if (tg_create_vm(t, g) < 0)
		return false;
	if (irqchip)
		CHECK_OK(t, IOC(t, g->vm, KVM_CREATE_IRQCHIP, 0));
	g->vcpu = tg_add_vcpu(t, g, 0, &g->run);
	if (g->vcpu < 0 || !g->run)
		return false;
	tg_load_at(g, CODE, code, code + len);
	tg_set_mode(t, g, g->vcpu, TG_LONG);
	return true;
}

/*
 * An asynchronously cancelable thread in KVM_RUN, the guest spinning: the
 * cancel ends the run and acts as it returns (nothing after the ioctl
 * runs), the result is PTHREAD_CANCELED, and the vCPU is usable after.
 */
KVM_CASE(cancel_async_in_run)
{
	struct sigaction sa = { .sa_handler = cancel_sig }, old;
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_ASYNCHRONOUS, .go = 1 };
	volatile uint64_t *counter;
	struct tguest g;
	void *res = NULL;
	pthread_t th;

	if (!cancel_setup(t, &g, false, g_lm_spin, g_lm_spin_end - g_lm_spin))
		return;
	sigaction(SIGUSR1, &sa, &old);
	c.g = &g;
	counter = (volatile uint64_t *)(g.mem + DATA);
	*counter = 0;
	pthread_create(&th, NULL, cancel_vcpu_fn, &c);
	for (int i = 0; i < 1000 && !*counter; i++)
		sleep_ms(10);
	CHECK(*counter, "the guest never ran");
	CHECK_EQ(pthread_cancel(th), 0);
	if (join_ms(th, &res, 10000)) {
		CHECK(0, "the cancel did not end KVM_RUN in 10 s");
		kick(&g, th);
		pthread_join(th, &res);
	}
	t_printf(t, "result %s, after KVM_RUN %d, exit %s",
		 res == PTHREAD_CANCELED ? "canceled" : "returned", c.after_run,
		 tg_exit_name(g.run->exit_reason));
	CHECK(res == PTHREAD_CANCELED, "thread result %p", res);
	CHECK(!c.after_run, "the thread went on after KVM_RUN (r %ld)", c.r);
	CHECK(g.run->exit_reason == KVM_EXIT_INTR, "exit %s", tg_exit_name(g.run->exit_reason));
	check_usable(t, &g);
	sigaction(SIGUSR1, &old, NULL);
	tg_destroy(&g);
}

/*
 * A cancel that must wait for KVM_RUN to return: the thread is blocked in
 * it (HLT) or kept in it (a deferred cancel does not end a run), the
 * cancel comes (@when_ready: before the run, the thread waiting for
 * nothing but a flag), the thread must still be in KVM_RUN 300 ms later;
 * then a kick ends the run and the cancel acts at the next cancellation
 * point (pthread_testcancel()).
 */
static void cancel_waits(struct tctx *t, struct cancel_vcpu *c, bool hlt, bool before_run)
{
	struct sigaction sa = { .sa_handler = cancel_sig }, old;
	volatile uint64_t *counter;
	struct tguest g;
	void *res = NULL;
	pthread_t th;
	uint64_t seen;
	int busy;

	if (!(hlt ? cancel_setup(t, &g, true, g_cli_hlt, sizeof(g_cli_hlt))
		  : cancel_setup(t, &g, false, g_lm_spin, g_lm_spin_end - g_lm_spin)))
		return;
	sigaction(SIGUSR1, &sa, &old);
	c->g = &g;
	counter = (volatile uint64_t *)(g.mem + DATA);
	*counter = 0;
	pthread_create(&th, NULL, cancel_vcpu_fn, c);
	while (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	if (before_run)
		CHECK_EQ(pthread_cancel(th), 0);
	__atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->in_run, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	sleep_ms(100);			/* halted, or spinning */
	if (!before_run)
		CHECK_EQ(pthread_cancel(th), 0);
	seen = *counter;
	sleep_ms(300);
	busy = pthread_tryjoin_np(th, &res);
	t_printf(t, "300 ms after the cancel: %s", busy == EBUSY ? "in KVM_RUN" : "ended");
	CHECK(busy == EBUSY && !c->after_run,
	      "the cancel acted inside KVM_RUN (thread %s, result %p) or ended the run (r %ld %s exit %u)",
	      busy ? "running" : "ended", res, c->after_run ? c->r : 0,
	      c->after_run ? t_errname(c->err) : "-", c->after_run ? c->exit_reason : 0);
	if (!hlt) {
		/* the run goes on: the count moves (within 5 s more: a loaded host may starve it) */
		for (int i = 0; i < 500 && *counter == seen; i++)
			sleep_ms(10);
		CHECK(*counter != seen, "the guest stopped");
	}
	if (busy == EBUSY) {
		kick(&g, th);
		if (join_ms(th, &res, 10000)) {
			CHECK(0, "the kick did not end KVM_RUN in 10 s");
			return;
		}
	}
	t_printf(t, "result %s, KVM_RUN = %ld %s exit %s, after testcancel %d",
		 res == PTHREAD_CANCELED ? "canceled" : "returned", c->r,
		 c->r < 0 ? t_errname(c->err) : "", tg_exit_name(c->exit_reason), c->after_testcancel);
	CHECK(res == PTHREAD_CANCELED, "thread result %p", res);
	CHECK(c->after_run, "KVM_RUN never returned");
	CHECK(c->r == -1 && c->err == EINTR && c->exit_reason == KVM_EXIT_INTR,
	      "KVM_RUN after the kick: %ld %s exit %u", c->r, t_errname(c->err), c->exit_reason);
	CHECK(!c->after_testcancel, "the cancel did not act at pthread_testcancel()");
	g.run->immediate_exit = 0;
	check_usable(t, &g);
	sigaction(SIGUSR1, &old, NULL);
	tg_destroy(&g);
}

/* Deferred, the vCPU halted (userkvm waits in pthread_cond_timedwait(), a cancellation point). */
KVM_CASE(cancel_deferred_in_halt)
{
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_DEFERRED };

	cancel_waits(t, &c, true, false);
}

/* Deferred, pending before the thread's first KVM_RUN (the shim has not seen the thread yet). */
KVM_CASE(cancel_deferred_before_first_run)
{
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_DEFERRED };

	cancel_waits(t, &c, true, true);
}

/* Deferred, pending before a KVM_RUN of a thread that has run before. */
KVM_CASE(cancel_deferred_before_run)
{
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_DEFERRED, .prerun = true };

	cancel_waits(t, &c, true, true);
}

/* Deferred (after a time asynchronous), the guest spinning: no signal, the run goes on. */
KVM_CASE(cancel_deferred_spinning)
{
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_DEFERRED, .prerun = true };

	cancel_waits(t, &c, false, false);
}

/* Asynchronous but disabled: no signal either, the run goes on; it acts once enabled. */
KVM_CASE(cancel_async_disabled_spinning)
{
	struct cancel_vcpu c = { .type = PTHREAD_CANCEL_ASYNCHRONOUS, .disable = true };

	cancel_waits(t, &c, false, false);
}

/*
 * fork(): the child has one thread, the one that forked; the others are
 * gone from the shim's registry too, and a new thread of the child may get
 * the stack (so the thread-local record) of one of them.  In the parent
 * thread F runs KVM_RUN once, then thread A does (both are in the
 * registry, A last), then F forks.  In the child a thread runs KVM_RUN
 * once and ends, then F runs a halted vCPU and another thread cancels it
 * (deferred): the cancel must wait for the kick, as in
 * cancel_deferred_in_halt.  (F, not the main thread: ASan mistakes the
 * main thread's end by cancellation for a stack overflow.)  The child's
 * exit status tells: 0 as it should, 2 the cancel acted inside KVM_RUN, 3
 * the thread was not cancelled, 14 (SIGALRM) it hung.
 */
struct fork_thread {
	struct tctx *t;
	struct tguest *g;
	pthread_t vcpu_thread;
	int pipe[2];
	long r;
	int status;
	volatile int in_run, after_run;
};

/* One KVM_RUN (immediate_exit), then it waits for the pipe. */
static void *fork_parent_fn(void *arg)
{
	struct fork_thread *p = arg;
	char c;

	p->g->run->immediate_exit = 1;
	__atomic_store_n(&p->r, ioctl(p->g->vcpu, KVM_RUN, 0) ? -1 : 1, __ATOMIC_RELEASE);
	p->g->run->immediate_exit = 0;
	while (read(p->pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void *fork_once_fn(void *arg)
{
	struct fork_thread *p = arg;

	p->g->run->immediate_exit = 1;
	p->r = ioctl(p->g->vcpu, KVM_RUN, 0);
	p->g->run->immediate_exit = 0;
	return NULL;
}

static void *fork_canceller_fn(void *arg)
{
	struct fork_thread *p = arg;
	void *res = NULL;

	while (!__atomic_load_n(&p->in_run, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	sleep_ms(100);
	pthread_cancel(p->vcpu_thread);
	sleep_ms(300);
	if (pthread_tryjoin_np(p->vcpu_thread, &res) == 0 || p->after_run)
		_exit(2);
	kick(p->g, p->vcpu_thread);
	if (join_ms(p->vcpu_thread, &res, 10000) || res != PTHREAD_CANCELED || !p->after_run)
		_exit(3);
	p->g->run->immediate_exit = 0;
	tg_destroy(p->g);	/* every VM destroyed (tests/scripts/lifetime.sh counts) */
	_exit(0);
}

static void cancel_fork_child(struct tctx *t)
{
	struct sigaction sa = { .sa_handler = cancel_sig };
	struct tctx ct = { .be = t->be };
	struct fork_thread c = { 0 };
	struct tguest g;
	pthread_t th;

	alarm(30);
	sigaction(SIGUSR1, &sa, NULL);
	if (!cancel_setup(&ct, &g, true, g_cli_hlt, sizeof(g_cli_hlt)))
		_exit(4);
	c.g = &g;
	c.vcpu_thread = pthread_self();
	pthread_create(&th, NULL, fork_once_fn, &c);
	pthread_join(th, NULL);
	pthread_create(&th, NULL, fork_canceller_fn, &c);
	__atomic_store_n(&c.in_run, 1, __ATOMIC_RELEASE);
	c.r = ioctl(g.vcpu, KVM_RUN, 0);
	c.after_run = 1;
	pthread_testcancel();
	_exit(3);
}

/* F: registers, lets A register, forks. */
static void *fork_thread_fn(void *arg)
{
	struct fork_thread *f = arg, a = { .g = f->g, .pipe = { f->pipe[0], f->pipe[1] } };
	pthread_t th;
	pid_t pid;

	f->g->run->immediate_exit = 1;
	f->r = ioctl(f->g->vcpu, KVM_RUN, 0);
	f->g->run->immediate_exit = 0;
	pthread_create(&th, NULL, fork_parent_fn, &a);
	while (!__atomic_load_n(&a.r, __ATOMIC_ACQUIRE))
		sleep_ms(1);		/* A's KVM_RUN returned (-1 EINTR) */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		cancel_fork_child(f->t);
	f->status = -1;
	if (pid > 0 && waitpid(pid, &f->status, 0) != pid)
		f->status = -1;
	if (write(f->pipe[1], "x", 1) != 1)
		f->status = -1;
	pthread_join(th, NULL);
	return NULL;
}

KVM_CASE(cancel_after_fork)
{
	struct fork_thread f = { .t = t };
	struct tguest g;
	pthread_t th;
	int st;

	if (!cancel_setup(t, &g, false, g_lm_spin, g_lm_spin_end - g_lm_spin))
		return;
	f.g = &g;
	if (pipe(f.pipe)) {
		CHECK(0, "pipe");
		return;
	}
	pthread_create(&th, NULL, fork_thread_fn, &f);
	pthread_join(th, NULL);
	st = f.status;
	t_printf(t, "child: %s %d", st == -1 ? "fork/wait failed" : WIFSIGNALED(st) ? "signal" : "exit",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child: %s %d (exit 2: the cancel acted inside KVM_RUN, 3: no cancel, signal 14: it hung)",
	      st == -1 ? "fork/wait failed" : WIFSIGNALED(st) ? "signal" : "exit",
	      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	close(f.pipe[0]);
	close(f.pipe[1]);
	tg_destroy(&g);
}
