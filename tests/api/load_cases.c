// SPDX-License-Identifier: MIT
/*
 * vCPU ioctls from several threads in turn, and a thread's other ioctls
 * between them.  On userkvm a thread stays on the processor of the vCPU it
 * last ran (as a VMCS stays loaded on a pCPU after KVM's vcpu_put()); what
 * these cases check is that nothing depends on it: a thread that runs
 * another vCPU (or the same one after another thread did) runs that one,
 * a vCPU made where a freed one was is not mistaken for it, and a system
 * ioctl after the vCPU's VM is gone does not use its processor (under ASan
 * that is a use after free; in any build, a run of the wrong vCPU shows in
 * the counts).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "kvmtest.h"
#include "runutil.h"

/*
 * inc %rax; mov %rsp, %rdx; shr $8, %edx; out %al, %dx; jmp back: each
 * KVM_RUN returns with AL one higher, at the port RSP / 256.  RSP is in
 * the VMCS only (written back by an entry only when KVM changed it): a
 * run of the right GPRs on another vCPU's VMCS shows in the port.
 */
static const unsigned char g_count[] = { 0x48, 0xff, 0xc0, 0x48, 0x89, 0xe2, 0xc1, 0xea, 0x08,
					 0xee, 0xeb, 0xf4 };
#define PORT0	(STACK >> 8)
#define STACK1	0xe000
#define PORT1	(STACK1 >> 8)

/* A thread that runs one function at a time for the case's thread. */
struct worker {
	pthread_t th;
	sem_t go, done;
	void (*fn)(struct worker *w);
	struct tctx *t;
	int fd;			/* the vCPU (or system fd) the function acts on */
	struct kvm_run *run;
	int port;		/* the port w_run() expects */
	int quit;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		sem_wait(&w->go);
		if (w->quit)
			return NULL;
		w->fn(w);
		sem_post(&w->done);
	}
}

static void worker_start(struct worker *w, struct tctx *t)
{
	memset(w, 0, sizeof(*w));
	w->t = t;
	sem_init(&w->go, 0, 0);
	sem_init(&w->done, 0, 0);
	pthread_create(&w->th, NULL, worker_main, w);
}

static void worker_call(struct worker *w, void (*fn)(struct worker *), int fd, struct kvm_run *run,
			int port)
{
	w->fn = fn;
	w->port = port;
	w->fd = fd;
	w->run = run;
	sem_post(&w->go);
	sem_wait(&w->done);
}

static void worker_stop(struct worker *w)
{
	w->quit = 1;
	sem_post(&w->go);
	pthread_join(w->th, NULL);
	sem_destroy(&w->go);
	sem_destroy(&w->done);
}

/* KVM_RUN of @fd: an OUT to @port with AL as the count so far. */
static void run_count(struct tctx *t, int fd, struct kvm_run *run, const char *who, int port)
{
	long r = IOC(t, fd, KVM_RUN, 0);

	CHECK_OK(t, r);
	if (r < 0 || !run)
		return;
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, port);
	t_printf(t, "%s: exit %s port %#x al %u", who, tg_exit_name(run->exit_reason), run->io.port,
		 *((unsigned char *)run + run->io.data_offset));
}

static void w_run(struct worker *w)
{
	run_count(w->t, w->fd, w->run, "thread 2", w->port);
}

static void w_supported_cpuid(struct worker *w)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));
	long r;

	c->nent = 256;
	r = IOC(w->t, w->fd, KVM_GET_SUPPORTED_CPUID, c);
	CHECK_OK(w->t, r);
	CHECK(c->nent > 0, "nent %u", c->nent);
	free(c);
	CHECK_OK(w->t, IOC(w->t, w->fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT));
}

static void start_count(struct tctx *t, struct tguest *g)
{
	tg_load_at(g, CODE, g_count, g_count + sizeof(g_count));
	tg_set_mode(t, g, g->vcpu, TG_LONG);
}

/*
 * Two vCPUs, two threads, in turn: each thread runs each vCPU, and each
 * run goes on from that vCPU's own count.
 */
KVM_CASE(load_two_vcpus_two_threads)
{
	struct worker w;
	struct tguest g;
	struct kvm_run *run1;
	int v1;

	if (tg_create(t, &g) < 0)
		return;
	start_count(t, &g);
	v1 = tg_add_vcpu(t, &g, 1, &run1);
	tg_set_mode(t, &g, v1, TG_LONG);
	{
		struct kvm_regs r;

		/* vCPU 1 counts from 100, its stack at STACK1 */
		CHECK_OK(t, IOC(t, v1, KVM_GET_REGS, &r));
		r.rax = 100;
		r.rsp = STACK1;
		CHECK_OK(t, IOC(t, v1, KVM_SET_REGS, &r));
	}
	worker_start(&w, t);
	for (int i = 0; i < 3; i++) {
		worker_call(&w, w_run, g.vcpu, g.run, PORT0);	/* thread 2: vCPU 0 */
		run_count(t, v1, run1, "thread 1", PORT1);	/* thread 1: vCPU 1 */
		worker_call(&w, w_run, v1, run1, PORT1);	/* thread 2: vCPU 1 */
		run_count(t, g.vcpu, g.run, "thread 1", PORT0);	/* thread 1: vCPU 0 */
		run_count(t, g.vcpu, g.run, "thread 1", PORT0);	/* again, same thread */
	}
	CHECK_EQ(*((unsigned char *)g.run + g.run->io.data_offset), 9);
	CHECK_EQ(*((unsigned char *)run1 + run1->io.data_offset), 106);
	worker_stop(&w);
	munmap(run1, g.run_size);
	close(v1);
	tg_destroy(&g);
}

/*
 * A thread ran a vCPU; another thread destroys its VM and makes a new one
 * (its vCPU may be where the old one was); the first thread then runs the
 * new vCPU (its own count, from 0), and a system ioctl after the new VM is
 * gone too.
 */
KVM_CASE(load_vm_gone_between_runs)
{
	struct worker w;
	struct tguest g;
	int sys;

	if (tg_create(t, &g) < 0)
		return;
	start_count(t, &g);
	worker_start(&w, t);
	worker_call(&w, w_run, g.vcpu, g.run, PORT0);
	worker_call(&w, w_run, g.vcpu, g.run, PORT0);
	tg_destroy(&g);

	if (tg_create(t, &g) < 0) {
		worker_stop(&w);
		return;
	}
	start_count(t, &g);
	worker_call(&w, w_run, g.vcpu, g.run, PORT0);
	CHECK_EQ(*((unsigned char *)g.run + g.run->io.data_offset), 1);
	tg_destroy(&g);
	/*
	 * Note, with userkvm's library API (not the shim) close() is libc's:
	 * the VM goes when its descriptor numbers are used again, as here.
	 */
	if (tg_create(t, &g) >= 0)
		tg_destroy(&g);

	sys = t_open_sys(t);
	if (sys >= 0) {
		worker_call(&w, w_supported_cpuid, sys, NULL, 0);
		close(sys);
	}
	worker_stop(&w);
}
