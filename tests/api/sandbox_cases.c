// SPDX-License-Identifier: MIT
/*
 * API conformance: a VMM that sandboxes itself.  Solo5's hvt tender, before
 * its run loop, installs a seccomp filter synced to all its threads
 * (SECCOMP_FILTER_FLAG_TSYNC) that kills the process on any system call
 * outside a short allow-list.  KVM_RUN must keep working under it: real KVM
 * runs in the kernel, so on userkvm nothing of the shim (the vCPU's run
 * path, the host tick thread) may need a call off that list while a guest
 * runs.  The case forks; the child builds the VM, installs hvt's list and
 * runs the guest for a while; the parent checks how the child ended.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>
#include <userkvm.h>
#include <execinfo.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "runutil.h"

/* hvt_seccomp_apply()'s allow-list (tenders/hvt/hvt_seccomp_linux.c). */
static const int hvt_allowed[] = {
	SYS_ioctl, SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_epoll_pwait,
	SYS_timerfd_settime, SYS_clock_gettime, SYS_exit_group, SYS_rt_sigreturn,
	SYS_futex, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_madvise, SYS_rt_sigprocmask,
	SYS_exit, SYS_close,
#ifdef __SANITIZE_ADDRESS__
	SYS_sigaltstack,	/* ASan's runtime, not userkvm: its _exit() path asks for it */
#endif
};

#define NALLOWED (int)(sizeof(hvt_allowed) / sizeof(hvt_allowed[0]))

/*
 * hvt's default action kills the whole process (SCMP_ACT_KILL_PROCESS).  Here
 * a call off the list traps instead, so that the child can say which call
 * it was and who made it before it ends (exit status SYS_OFF_LIST): the
 * SIGSYS handler sends the number and a backtrace to the parent through a
 * pipe, with nothing but calls on the list.  A thread with SIGSYS blocked
 * (glibc blocks every signal as a thread exits) is still killed by it.
 */
#define SYS_OFF_LIST	7
#define SYS_FRAMES	24

static int sys_report_fd = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	void *msg[2 + SYS_FRAMES];
	int n;

	(void)sig, (void)uc;
	msg[0] = (void *)(intptr_t)si->si_syscall;
	msg[1] = si->si_call_addr;
	n = backtrace(msg + 2, SYS_FRAMES);
	if (write(sys_report_fd, msg, (size_t)(2 + n) * sizeof(msg[0])) < 0)
		msg[0] = NULL;
	syscall(SYS_exit_group, SYS_OFF_LIST);
}

static int install_filter(const int *extra, int nextra)
{
	struct sock_filter f[4 + 2 * (NALLOWED + 4) + 1];
	struct sock_fprog prog = { .filter = f };
	int n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (int i = 0; i < NALLOWED + nextra && i < NALLOWED + 4; i++) {	/* up to 4 more */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      i < NALLOWED ? hvt_allowed[i] : extra[i - NALLOWED], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	prog.len = (unsigned short)n;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) ? -1 : 0;
}

static int install_hvt_filter(void)
{
	return install_filter(NULL, 0);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * The child: after the filter nothing but the allowed calls (no transcript
 * writes, which may grow the heap with brk).  It runs g_lm_sync (an OUT to
 * port 0x10 per iteration) for 300 ms of KVM_RUNs, a few hundred host
 * ticks, tears the VM down and exits 0; any other outcome is a distinct
 * status.
 */
static void sandboxed_child(struct tctx *t, struct tguest *g)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	void *frames[1];
	double end;
	long runs = 0;

	backtrace(frames, 1);	/* glibc loads its unwinder on the first call: not under the filter */
	sigaction(SIGSYS, &sa, NULL);
	if (install_hvt_filter())
		_exit(3);
	end = now_sec() + 0.3;
	while (now_sec() < end) {
		if (t->be->ioctl(g->vcpu, KVM_RUN, 0) < 0)
			_exit(4);
		if (g->run->exit_reason != KVM_EXIT_IO || g->run->io.port != 0x10)
			_exit(5);
		runs++;
	}
	/* The teardown too runs under the filter (the shim destroys the VM in close()). */
	tg_destroy(g);
	_exit(runs > 0 ? 0 : 6);
}

/*
 * What the child's SIGSYS handler sent: "syscall N from f+0x.. < g+0x.. < ...".
 * The child is a fork of this process, so its code addresses name the same
 * functions here (dladdr() names exported ones; addr2line the rest).
 */
static void describe_off_list(int fd, char *buf, size_t size)
{
	void *msg[2 + SYS_FRAMES];
	ssize_t got = read(fd, msg, sizeof(msg));
	size_t len;

	if (got < (ssize_t)(2 * sizeof(msg[0]))) {
		snprintf(buf, size, "no report");
		return;
	}
	len = (size_t)snprintf(buf, size, "syscall %ld", (long)(intptr_t)msg[0]);
	for (int i = 1; i < (int)(got / (ssize_t)sizeof(msg[0])) && len < size; i++) {
		Dl_info di;

		if (i == 2)
			continue;	/* the handler itself */
		if (dladdr(msg[i], &di) && di.dli_sname)
			len += (size_t)snprintf(buf + len, size - len, "%s %s+%#lx", i == 1 ? " from" : " <",
						di.dli_sname, (unsigned long)((char *)msg[i] - (char *)di.dli_saddr));
		else if (dladdr(msg[i], &di) && di.dli_fname)	/* for addr2line -e */
			len += (size_t)snprintf(buf + len, size - len, "%s %s+%#lx", i == 1 ? " from" : " <",
						strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname,
						(unsigned long)((char *)msg[i] - (char *)di.dli_fbase));
		else
			len += (size_t)snprintf(buf + len, size - len, "%s %p", i == 1 ? " from" : " <", msg[i]);
	}
}

/*
 * A VMM with more threads under a filter like hvt's (and the calls a memslot
 * change makes on userkvm: sched_yield to wait for a vCPU, fstat of a
 * library-mode descriptor, msync to check the range): its vCPU thread runs the
 * guest, holding its vCPU lock's bias (kvm/mutex.h), while the main thread
 * adds and deletes a memslot, which waits for the vCPU's SRCU readers and
 * flushes its TLB: on userkvm that is a membarrier(2) for a vCPU biased to
 * another thread, which the filter refuses.  Installing the filter takes
 * the biases back first: through the shim its syscall() does, the library
 * is told (userkvm_seccomp_prepare()).
 */
struct sandbox_vcpu {
	struct tctx *t;
	struct tguest *g;
	long runs;
	int stop, bad;
};

static void *sandbox_vcpu_fn(void *p)
{
	struct sandbox_vcpu *v = p;

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		if (v->t->be->ioctl(v->g->vcpu, KVM_RUN, 0) < 0 ||
		    v->g->run->exit_reason != KVM_EXIT_IO || v->g->run->io.port != 0x10) {
			v->bad = 1;
			break;
		}
		__atomic_store_n(&v->runs, v->runs + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void sandboxed_threads_child(struct tctx *t, struct tguest *g)
{
	/* what a second thread's memslot change needs besides: waits, the descriptor and range checks */
	static const int more[] = { SYS_sched_yield, SYS_newfstatat, SYS_fstat, SYS_msync };
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	struct sandbox_vcpu v = { .t = t, .g = g };
	struct kvm_userspace_memory_region mr = { .slot = 5, .guest_phys_addr = 0x800000,
		.memory_size = 0x10000 };
	void *frames[1], *mem;
	pthread_t th;

	backtrace(frames, 1);
	sigaction(SIGSYS, &sa, NULL);
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pthread_create(&th, NULL, sandbox_vcpu_fn, &v))
		_exit(2);
	mr.userspace_addr = (unsigned long)mem;
	while (__atomic_load_n(&v.runs, __ATOMIC_ACQUIRE) < 100 && !v.bad)
		sched_yield();
	if (t->be->soft)
		userkvm_seccomp_prepare();
	if (install_filter(more, (int)(sizeof(more) / sizeof(more[0]))))
		_exit(3);
	for (int i = 0; i < 20 && !v.bad; i++) {
		long before = __atomic_load_n(&v.runs, __ATOMIC_ACQUIRE);

		mr.memory_size = 0x10000;
		if (t->be->ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&mr) < 0)
			_exit(4);
		mr.memory_size = 0;
		if (t->be->ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&mr) < 0)
			_exit(4);
		while (__atomic_load_n(&v.runs, __ATOMIC_ACQUIRE) < before + 10 && !v.bad)
			sched_yield();	/* the vCPU runs on between the changes */
	}
	__atomic_store_n(&v.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	tg_destroy(g);	/* under the filter too */
	_exit(v.bad ? 5 : 0);
}

/* Fork, run @child in the child, and check that it exited 0 (describing a call off the list). */
static void sandbox_fork(struct tctx *t, void (*child)(struct tctx *, struct tguest *))
{
	struct tguest g;
	char why[1024] = "";
	int status = 0, pfd[2];
	pid_t pid;

	if (pipe(pfd)) {
		CHECK(0, "pipe failed");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		CHECK(0, "fork failed");
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		sys_report_fd = pfd[1];
		if (tg_start(t, &g, g_lm_sync, TG_LONG) < 0)
			_exit(2);
		child(t, &g);
	}
	close(pfd[1]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SYS_OFF_LIST)
		describe_off_list(pfd[0], why, sizeof(why));
	close(pfd[0]);
	if (WIFSIGNALED(status))
		t_printf(t, "child: killed by signal %d", WTERMSIG(status));
	else
		t_printf(t, "child: exit %d", WEXITSTATUS(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "sandboxed child: %s %d (exit 7: a call off the list: %s; signal 31: one with SIGSYS blocked)",
	      WIFSIGNALED(status) ? "signal" : "exit",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), why);
}

KVM_CASE(sandbox_seccomp_second_thread)
{
	sandbox_fork(t, sandboxed_threads_child);
}

KVM_CASE(sandbox_hvt_seccomp_tsync)
{
	sandbox_fork(t, sandboxed_child);
}
