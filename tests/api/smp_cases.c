// SPDX-License-Identifier: MIT
/*
 * Several vCPUs with the in-kernel irqchip, each on its own thread: IPIs
 * between 4 vCPUs (fixed, shorthands, logical destination, NMI), and
 * application processors brought up by the guest's BSP with INIT-SIPI-SIPI
 * (an AP's KVM_RUN blocks while it is uninitialized and returns EAGAIN
 * after the INIT, as KVM's kvm_arch_vcpu_ioctl_run()).  Each thread keeps
 * its own transcript; they are appended in vCPU order after the join.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "irqutil.h"

GUEST_DECL(g_smp_ipi);
GUEST_DECL(g_smp_sipi);
GUEST_DECL(g_smp_tramp);
GUEST_DECL(g_smp_lowest);

#define NR_VCPUS 4

struct smp_vcpu {
	struct tctx t;		/* this thread's transcript */
	int fd;
	struct kvm_run *run;
	int done;		/* reached the guest's OUT to port 0x10 */
	pthread_t th;
};


/* KVM_RUN until the OUT to port 0x10; EAGAIN (the AP's INIT) runs again. */
static void *smp_thread(void *arg)
{
	struct smp_vcpu *v = arg;

	for (int i = 0; i < 50; i++) {
		long r = IOC(&v->t, v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (v->t.err == EAGAIN)
				continue;
			break;
		}
		tg_exit(&v->t, v->run);
		if (v->run->exit_reason != KVM_EXIT_IO)
			break;
		if (v->run->io.port == 0x10) {
			v->done = 1;
			break;
		}
	}
	return NULL;
}

static void smp_sig(int sig) { (void)sig; }

/*
 * The threads must end even if the guest never does (a lost IPI would
 * leave a vCPU halted for good): after 30 s each vCPU gets immediate_exit
 * and a signal, as a VMM's kick.
 */
static void smp_join(struct smp_vcpu *v, int n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	for (int i = 0; i < n; i++) {
		if (pthread_timedjoin_np(v[i].th, NULL, &dl) == 0)
			continue;
		for (int j = 0; j < n; j++) {
			v[j].run->immediate_exit = 1;
			pthread_kill(v[j].th, SIGUSR1);
		}
		pthread_join(v[i].th, NULL);
	}
}

static void smp_merge(struct tctx *t, struct smp_vcpu *v, int n)
{
	for (int i = 0; i < n; i++) {
		t_printf(t, "-- vcpu %d", i);
		for (char *l = v[i].t.buf; l && *l;) {
			char *e = strchr(l, '\n');

			if (*l == '~')
				t_differs(t, "(see the vCPU thread's line)");
			t_printf(t, "%.*s", (int)(e ? e - l : (long)strlen(l)), *l == '~' ? l + 1 : l);
			l = e ? e + 1 : l + strlen(l);
		}
		free(v[i].t.buf);
		v[i].t.buf = NULL;
	}
}

static void smp_start(struct tctx *t, struct smp_vcpu *v, int n)
{
	struct sigaction sa = { .sa_handler = smp_sig };

	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < n; i++) {
		v[i].t.be = t->be;
		CHECK(!pthread_create(&v[i].th, NULL, smp_thread, &v[i]), "pthread_create");
	}
}

static int smp_create(struct tctx *t, struct tguest *g, struct smp_vcpu *v)
{
	if (ig_create(t, g, false) < 0)
		return -1;
	memset(v, 0, sizeof(*v) * NR_VCPUS);
	v[0].fd = g->vcpu;
	v[0].run = g->run;
	for (int i = 1; i < NR_VCPUS; i++)
		v[i].fd = tg_add_vcpu(t, g, i, &v[i].run);
	return 0;
}

static void smp_destroy(struct tguest *g, struct smp_vcpu *v)
{
	for (int i = 1; i < NR_VCPUS; i++) {
		munmap(v[i].run, g->run_size);
		close(v[i].fd);
	}
	tg_destroy(g);
}

/*
 * Wait for every vCPU, merge their transcripts, and check each vCPU's log
 * of vectors (sorted: which vCPU took a vector is the point, the order
 * depends on timing) against @want[] entries; then tear the VM down.
 */
static void smp_finish(struct tctx *t, struct tguest *g, struct smp_vcpu *v, const u64 *want)
{
	smp_join(v, NR_VCPUS);
	smp_merge(t, v, NR_VCPUS);
	for (int i = 0; i < NR_VCPUS; i++) {
		u32 *log = (u32 *)(g->mem + PCPU + 0x200 * i + 0x40);
		u64 n;

		memcpy(&n, g->mem + PCPU + 0x200 * i + 8, 8);
		for (u64 a = 1; a < n && a < 48; a++)
			for (u64 b = a; b > 0 && log[b - 1] > log[b]; b--) {
				u32 x = log[b];

				log[b] = log[b - 1];
				log[b - 1] = x;
			}
		CHECK(v[i].done, "vcpu %d did not finish", i);
		CHECK_EQ(ig_dump_log(t, g, i), want[i]);
	}
	smp_destroy(g, v);
}

/* Every vCPU runnable at once (no INIT-SIPI), each in long mode like the BSP. */
static void smp_all_runnable(struct tctx *t, struct tguest *g, struct smp_vcpu *v)
{
	for (int i = 0; i < NR_VCPUS; i++) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		if (i)
			CHECK_OK(t, IOC(t, v[i].fd, KVM_SET_MP_STATE, &mp));
		ig_set_mode(t, g, v[i].fd, i);
	}
}

static void t_mp_state(struct tctx *t, int fd, const char *what)
{
	struct kvm_mp_state mp = { 0 };

	CHECK_OK(t, IOC(t, fd, KVM_GET_MP_STATE, &mp));
	t_printf(t, "%s: mp_state %u", what, mp.mp_state);
}

KVM_CASE(smp_ipi_4vcpus)
{
	static const u64 want[NR_VCPUS] = { 2, 4, 4, 4 };
	struct smp_vcpu v[NR_VCPUS];
	struct tguest g;

	if (smp_create(t, &g, v) < 0)
		return;
	tg_load(&g, g_smp_ipi);
	memset(g.mem + SH, 0, 0x100);
	smp_all_runnable(t, &g, v);
	smp_start(t, v, NR_VCPUS);
	smp_finish(t, &g, v, want);
}

/*
 * The guest's BSP starts the APs (INIT, INIT de-assert, SIPI, SIPI).  The
 * AP threads call KVM_RUN before the BSP runs: it blocks, then returns
 * EAGAIN; the next KVM_RUN runs the AP from the SIPI's vector.
 */
KVM_CASE(smp_init_sipi_sipi)
{
	struct smp_vcpu v[NR_VCPUS];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct tguest g;

	if (smp_create(t, &g, v) < 0)
		return;
	tg_load(&g, g_smp_sipi);
	tg_load_at(&g, 0x30000, g_smp_tramp, g_smp_tramp_end);
	memset(g.mem + SH, 0, 0x100);
	ig_set_mode(t, &g, v[0].fd, 0);
	for (int i = 1; i < NR_VCPUS; i++)
		t_mp_state(t, v[i].fd, "before");
	/* the APs first, so that their KVM_RUN waits for the INIT */
	smp_start(t, v + 1, NR_VCPUS - 1);
	nanosleep(&ts, NULL);
	smp_start(t, v, 1);
	smp_join(v, NR_VCPUS);
	smp_merge(t, v, NR_VCPUS);
	for (int i = 0; i < NR_VCPUS; i++)
		CHECK(v[i].done, "vcpu %d did not finish", i);
	for (int i = 1; i < NR_VCPUS; i++)
		t_mp_state(t, v[i].fd, "after");
	CHECK_EQ(*(u32 *)(g.mem + SH + 0x10), 3);
	smp_destroy(&g, v);
}

/*
 * Lowest-priority MSIs to logical destinations: with KVM's vector hashing
 * the vector chooses among the destination's APICs (vector % n), the same
 * for equal priorities on every run.
 */
KVM_CASE(smp_lowest_priority_msi)
{
	static const struct { u32 dest, vector; } msis[] = {
		{ 0x0f, 0x80 }, { 0x0f, 0x81 }, { 0x0f, 0x82 }, { 0x0f, 0x83 }, { 0x0f, 0x86 },
		{ 0x06, 0x85 }, { 0x09, 0x90 },
	};
	static const u64 want[NR_VCPUS] = { 2, 1, 3, 1 };
	struct smp_vcpu v[NR_VCPUS];
	struct timespec ts = { 0, 1000000 };
	struct tguest g;

	if (smp_create(t, &g, v) < 0)
		return;
	tg_load(&g, g_smp_lowest);
	memset(g.mem + SH, 0, 0x100);
	smp_all_runnable(t, &g, v);
	for (int i = 0; i < NR_VCPUS; i++)
		memcpy(g.mem + PCPU + 0x200 * i + 0x28, &want[i], 8);
	smp_start(t, v, NR_VCPUS);
	for (int i = 0; i < 20000 && *(volatile u32 *)(g.mem + SH + 0x20) < NR_VCPUS; i++)
		nanosleep(&ts, NULL);
	CHECK_EQ(*(volatile u32 *)(g.mem + SH + 0x20), NR_VCPUS);
	for (size_t i = 0; i < sizeof(msis) / sizeof(msis[0]); i++) {
		/* lowest priority (data bits 10:8 = 1), logical destination (address bit 2) */
		struct kvm_msi msi = { .address_lo = 0xfee00000 | (msis[i].dest << 12) | 4,
				       .data = 0x100 | msis[i].vector };

		t_printf(t, "MSI lowest dest %#x vector %#x = %ld", msis[i].dest, msis[i].vector,
			 t->be->ioctl(g.vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
	}
	smp_finish(t, &g, v, want);
}
