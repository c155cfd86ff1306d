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
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
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

/* Default: kill the whole process, as SCMP_ACT_KILL_PROCESS would. */
static int install_hvt_filter(void)
{
	struct sock_filter f[4 + 2 * NALLOWED + 1];
	struct sock_fprog prog = { .filter = f };
	int n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (int i = 0; i < NALLOWED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hvt_allowed[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog.len = (unsigned short)n;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) ? -1 : 0;
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
	double end;
	long runs = 0;

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

KVM_CASE(sandbox_hvt_seccomp_tsync)
{
	struct tguest g;
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		CHECK(0, "fork failed");
		return;
	}
	if (pid == 0) {
		if (tg_start(t, &g, g_lm_sync, TG_LONG) < 0)
			_exit(2);
		sandboxed_child(t, &g);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		t_printf(t, "child: killed by signal %d", WTERMSIG(status));
	else
		t_printf(t, "child: exit %d", WEXITSTATUS(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "sandboxed child: %s %d (31 = SIGSYS: a call off hvt's list)",
	      WIFSIGNALED(status) ? "signal" : "exit",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}
