// SPDX-License-Identifier: MIT
/*
 * Interrupts in running guests (irq_guests.S): the in-kernel LAPIC timer in
 * its three modes, the PIT through the PIC and through the I/O APIC, device
 * interrupts by KVM_IRQ_LINE, an irqfd (a real eventfd) and KVM_SIGNAL_MSI,
 * a level-triggered I/O APIC pin and its EOI, HLT woken by a timer and by
 * another thread, and several vCPUs sending each other IPIs.  Each guest
 * logs the vectors it takes; the transcript has the log, the counts and
 * what the guest read back: all deterministic (no times), so compared with
 * the host's KVM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <time.h>

#include "irqutil.h"

GUEST_DECL(g_irq_rt);
GUEST_DECL(g_irq_oneshot);
GUEST_DECL(g_irq_periodic);
GUEST_DECL(g_irq_tscdeadline);
GUEST_DECL(g_irq_pit_pic);
GUEST_DECL(g_irq_pit_ioapic);
GUEST_DECL(g_irq_dev);
GUEST_DECL(g_irq_resample);
GUEST_DECL(g_ioeventfd);
GUEST_DECL(g_fast_mmio);
GUEST_DECL(g_irq_x2apic);

static void put64(struct tguest *g, unsigned long gpa, uint64_t v)
{
	memcpy(g->mem + gpa, &v, 8);
}

void map_d0000000(struct tguest *g)
{
	put64(g, 0x6000 + 3 * 8, IRQ_PD | 3);
	put64(g, IRQ_PD + 0x80 * 8, 0xd0000000ull | 0x83 | 0x18);
}

int ig_create(struct tctx *t, struct tguest *g, bool pit)
{
	if (tg_create_vm(t, g) < 0)
		return -1;
	CHECK_OK(t, IOC(t, g->vm, KVM_CREATE_IRQCHIP, 0));
	if (pit) {
		struct kvm_pit_config pc = { 0 };

		CHECK_OK(t, IOC(t, g->vm, KVM_CREATE_PIT2, &pc));
	}
	g->vcpu = tg_add_vcpu(t, g, 0, &g->run);
	tg_load_at(g, ISRS, g_irq_rt, g_irq_rt_end);
	return g->vcpu;
}

void ig_set_cpuid(struct tctx *t, struct tguest *g, int vcpu)
{
	static struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } cp;

	memset(&cp, 0, sizeof(cp));
	cp.c.nent = 100;
	if (t->be->ioctl(g->sys, KVM_GET_SUPPORTED_CPUID, (unsigned long)&cp) < 0)
		CHECK(0, "KVM_GET_SUPPORTED_CPUID: %s", t_errname(errno));
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_CPUID2, &cp));
}

/*
 * vCPU @idx in long mode at CODE (tg_set_mode), plus: the I/O APIC and
 * local APIC pages mapped (PDPT entry 3 -> a PD at IRQ_PD with the 2 MiB
 * pages at 0xfec00000 and 0xfee00000), IDT vectors 2 and 32-255 on the
 * runtime's stubs, GS on the vCPU's area, a stack of its own.
 */
void ig_set_mode(struct tctx *t, struct tguest *g, int vcpu, int idx)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	tg_set_mode(t, g, vcpu, TG_LONG);
	put64(g, 0x6000 + 3 * 8, IRQ_PD | 3);
	put64(g, IRQ_PD + 0x1f6 * 8, 0xfec00000ull | 0x83 | 0x18);	/* PWT, PCD */
	put64(g, IRQ_PD + 0x1f7 * 8, 0xfee00000ull | 0x83 | 0x18);
	for (int v = 2; v < 256; v = v == 2 ? 32 : v + 1) {
		uint64_t h = ISRS + 16 * v;
		uint64_t lo = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
			      ((h >> 16 & 0xffff) << 48);

		put64(g, IDT + 16 * v, lo);
		put64(g, IDT + 16 * v + 8, h >> 32);
	}
	memset(g->mem + PCPU + 0x200 * idx, 0, 0x200);
	put64(g, PCPU + 0x200 * idx + 0x20, idx);
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_SREGS, &s));
	s.idt.limit = 256 * 16 - 1;
	s.gs.base = PCPU + 0x200 * idx;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	CHECK_OK(t, IOC(t, vcpu, KVM_GET_REGS, &r));
	r.rsp = STACK - 0x800 * idx;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_REGS, &r));
}

void ig_set_rdi(struct tctx *t, int vcpu, unsigned long rdi)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, vcpu, KVM_GET_REGS, &r));
	r.rdi = rdi;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_REGS, &r));
}

u32 ig_out_value(const struct kvm_run *run)
{
	u32 v = 0;

	memcpy(&v, (const char *)run + run->io.data_offset, run->io.size < 4 ? run->io.size : 4);
	return v;
}

/*
 * A guest waiting for an interrupt that never comes would keep KVM_RUN
 * (and the suite) waiting: after 30 s the watchdog sets immediate_exit and
 * signals the vCPU thread, as a VMM's kick; KVM_RUN then fails with EINTR.
 */
struct watchdog {
	pthread_t vcpu_thread, th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct kvm_run *run;
};

static void watchdog_sig(int sig) { (void)sig; }

static void *watchdog_fn(void *arg)
{
	struct watchdog *w = arg;
	struct timespec dl;
	bool fire;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&w->lock);
	while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock, &dl) == 0)
		;
	fire = !w->done;
	pthread_mutex_unlock(&w->lock);
	if (fire) {
		w->run->immediate_exit = 1;
		pthread_kill(w->vcpu_thread, SIGUSR1);
	}
	return NULL;
}

/*
 * KVM_RUN until the guest's OUT to port 0x10; every exit in the transcript;
 * OUTs to 0x50-0x5f go to @req (the case's part of a step).
 * Return: 0 when the guest got to the end, -1 otherwise.
 */
static int __ig_run(struct tctx *t, struct tguest *g, int vcpu, struct kvm_run *run,
		    void (*req)(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg),
		    void *arg);

int ig_run(struct tctx *t, struct tguest *g, int vcpu, struct kvm_run *run,
	   void (*req)(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg), void *arg)
{
	struct sigaction sa = { .sa_handler = watchdog_sig }, old;
	struct watchdog w = { .vcpu_thread = pthread_self(), .run = run };
	int r;

	sigaction(SIGUSR1, &sa, &old);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	pthread_create(&w.th, NULL, watchdog_fn, &w);
	r = __ig_run(t, g, vcpu, run, req, arg);
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.th, NULL);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	sigaction(SIGUSR1, &old, NULL);
	run->immediate_exit = 0;
	return r;
}

static int __ig_run(struct tctx *t, struct tguest *g, int vcpu, struct kvm_run *run,
		    void (*req)(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg),
		    void *arg)
{
	for (int i = 0; i < 200; i++) {
		if (IOC(t, vcpu, KVM_RUN, 0) < 0) {
			CHECK(0, "KVM_RUN: %s (the watchdog's after 30 s if EINTR)", t_errname(t->err));
			return -1;
		}
		tg_exit(t, run);
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
			CHECK(0, "unexpected exit %s", tg_exit_name(run->exit_reason));
			return -1;
		}
		if (run->io.port == 0x10)
			return 0;
		if (run->io.port >= 0x50 && run->io.port < 0x60 && req)
			req(t, g, run->io.port, ig_out_value(run), arg);
	}
	CHECK(0, "the guest did not finish");
	return -1;
}

/* The vCPU's count and vector log (its GS area) in the transcript. */
u64 ig_dump_log(struct tctx *t, struct tguest *g, int idx)
{
	const unsigned char *p = g->mem + PCPU + 0x200 * idx;
	u64 count, n;
	char line[48 * 5 + 1] = "";

	memcpy(&count, p, 8);
	memcpy(&n, p + 8, 8);
	for (u64 i = 0; i < n && i < 48; i++) {
		u32 v;

		memcpy(&v, p + 0x40 + 4 * i, 4);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %#x", v);
	}
	t_printf(t, "vcpu %d: %llu interrupts, vectors:%s", idx, (unsigned long long)count, line);
	return count;
}

/* ---- the local APIC timer ---- */

KVM_CASE(irq_lapic_timer_oneshot)
{
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	tg_load(&g, g_irq_oneshot);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 3);
	tg_destroy(&g);
}

KVM_CASE(irq_lapic_timer_periodic)
{
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	ig_set_cpuid(t, &g, g.vcpu);
	tg_load(&g, g_irq_periodic);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 5);
	tg_destroy(&g);
}

KVM_CASE(irq_lapic_timer_tscdeadline)
{
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	ig_set_cpuid(t, &g, g.vcpu);
	tg_load(&g, g_irq_tscdeadline);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 2);
	tg_destroy(&g);
}

/* ---- the PIT ---- */

static void pit_pic_case(struct tctx *t, int mode)
{
	struct tguest g;

	if (ig_create(t, &g, true) < 0)
		return;
	tg_load(&g, g_irq_pit_pic);
	ig_set_mode(t, &g, g.vcpu, 0);
	ig_set_rdi(t, g.vcpu, mode);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 5);
	tg_destroy(&g);
}

KVM_CASE(irq_pit_mode2_pic) { pit_pic_case(t, 2); }
KVM_CASE(irq_pit_mode3_pic) { pit_pic_case(t, 3); }

KVM_CASE(irq_pit_ioapic)
{
	struct tguest g;

	if (ig_create(t, &g, true) < 0)
		return;
	tg_load(&g, g_irq_pit_ioapic);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 5);
	tg_destroy(&g);
}

/* ---- device interrupts ---- */

struct dev_ctx {
	int efd;
	pthread_t th;
	bool th_started;
	int vm;
	const struct backend *be;
	long th_r[2];
	int step;
};

static void irq_line(struct tctx *t, int vm, u32 irq, u32 level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	CHECK_EQ(IOC(t, vm, KVM_IRQ_LINE, &l), 0);
}

static void signal_msi(struct tctx *t, int vm, u32 vector)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = vector };

	t_printf(t, "KVM_SIGNAL_MSI vector %#x = %ld", vector,
		 t->be->ioctl(vm, KVM_SIGNAL_MSI, (unsigned long)&msi));
}

/* Another thread, some time after the vCPU went on (halted or spinning): IRQ 4 or an MSI. */
static void *dev_thread(void *arg)
{
	struct dev_ctx *d = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	if (d->step == 4) {
		struct kvm_irq_level l = { .irq = 4, .level = 1 };

		d->th_r[0] = d->be->ioctl(d->vm, KVM_IRQ_LINE, (unsigned long)&l);
		l.level = 0;
		d->th_r[1] = d->be->ioctl(d->vm, KVM_IRQ_LINE, (unsigned long)&l);
	} else {
		struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x62 };

		d->th_r[0] = d->be->ioctl(d->vm, KVM_SIGNAL_MSI, (unsigned long)&msi);
		d->th_r[1] = 0;
	}
	return NULL;
}

static void dev_join(struct tctx *t, struct dev_ctx *d)
{
	if (!d->th_started)
		return;
	pthread_join(d->th, NULL);
	d->th_started = false;
	t_printf(t, "thread (step %d): %ld %ld", d->step, d->th_r[0], d->th_r[1]);
}

static void dev_req(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg)
{
	struct dev_ctx *d = arg;

	if (port == 0x52) {		/* the level-triggered pin: lower it */
		irq_line(t, g->vm, 9, 0);
		return;
	}
	dev_join(t, d);
	switch (val) {
	case 1:
		irq_line(t, g->vm, 4, 1);
		irq_line(t, g->vm, 4, 0);
		signal_msi(t, g->vm, 0x61);
		irq_line(t, g->vm, 3, 1);
		irq_line(t, g->vm, 3, 0);
		break;
	case 2: {
		u64 one = 1;

		CHECK(write(d->efd, &one, 8) == 8, "eventfd write: %s", strerror(errno));
		break;
	}
	case 3:
		/*
		 * PVM KVM delivers a level-triggered vector once more than
		 * the line asks for (the vector comes again after the EOI
		 * although the line was lowered before it; the entry still
		 * shows remote IRR after the EOI).  VMX KVM and the I/O APIC
		 * (82093AA 3.2.4: remote IRR set on delivery, cleared by the
		 * EOI, a still-high line sent again) give one delivery here
		 * and two in step 6: from here on the transcript is userkvm's.
		 */
		ig_dump_log(t, g, 0);
		t->differs_all = 1;
		/* fall through */
	case 6:
		irq_line(t, g->vm, 9, 1);
		break;
	case 4:
	case 5:
		d->step = val;
		d->vm = g->vm;
		d->be = t->be;
		d->th_started = !pthread_create(&d->th, NULL, dev_thread, d);
		CHECK(d->th_started, "pthread_create");
		break;
	}
}

/*
 * KVM_IRQ_LINE to the PIC and the I/O APIC, KVM_SIGNAL_MSI, an irqfd on
 * GSI 5, a level-triggered pin that is delivered again after an EOI while
 * still high, and interrupts raised by another thread while the vCPU is
 * halted, then while it spins in guest code.
 */
KVM_CASE(irq_device_lines)
{
	struct dev_ctx d = { .efd = -1 };
	struct kvm_irqfd irqfd = { .gsi = 5 };
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	d.efd = eventfd(0, EFD_CLOEXEC);
	CHECK(d.efd >= 0, "eventfd: %s", strerror(errno));
	irqfd.fd = d.efd;
	CHECK_OK(t, IOC(t, g.vm, KVM_IRQFD, &irqfd));
	tg_load(&g, g_irq_dev);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, dev_req, &d), 0);
	dev_join(t, &d);
	{
		u64 n = ig_dump_log(t, &g, 0);

		CHECK_SOFT(t, n == 9, "%llu interrupts", (unsigned long long)n);
		/* steps 1, 2, 4, 5 (compared with KVM), 3 and 6 (the level-triggered pin) */
		CHECK_SOFT(t, !memcmp(g.mem + PCPU + 0x40,
				      "\x33\0\0\0\x61\0\0\0\x54\0\0\0\x55\0\0\0\x54\0\0\0"
				      "\x62\0\0\0\x59\0\0\0\x59\0\0\0\x59\0\0\0", 36),
			   "vector order");
	}
	t->differs_all = 0;
	/* deassign: then GSI 5 no longer follows the eventfd */
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	CHECK_OK(t, IOC(t, g.vm, KVM_IRQFD, &irqfd));
	CHECK_OK(t, IOC(t, g.vm, KVM_IRQFD, &irqfd));	/* none left: still 0 */
	tg_destroy(&g);
	close(d.efd);
}

/* KVM_IRQFD's checks: flags, the descriptor, one GSI per eventfd, an irqchip. */
KVM_CASE(irq_irqfd_rules)
{
	struct kvm_irqfd irqfd = { .gsi = 5 };
	int sys = t_open_sys(t), vm = t_create_vm(t, sys);
	int efd = eventfd(0, EFD_CLOEXEC), nfd = open("/dev/null", O_RDONLY);

	irqfd.fd = efd;
	CHECK_ERR(t, IOC(t, vm, KVM_IRQFD, &irqfd), EINVAL);	/* no irqchip */
	CHECK_OK(t, IOC(t, vm, KVM_CREATE_IRQCHIP, 0));
	irqfd.flags = 4;
	CHECK_ERR(t, IOC(t, vm, KVM_IRQFD, &irqfd), EINVAL);
	irqfd.flags = 0;
	irqfd.fd = nfd;
	CHECK_ERR(t, IOC(t, vm, KVM_IRQFD, &irqfd), EINVAL);	/* not an eventfd */
	irqfd.fd = 1000;
	CHECK_ERR(t, IOC(t, vm, KVM_IRQFD, &irqfd), EBADF);
	irqfd.fd = efd;
	CHECK_OK(t, IOC(t, vm, KVM_IRQFD, &irqfd));
	irqfd.gsi = 6;
	CHECK_ERR(t, IOC(t, vm, KVM_IRQFD, &irqfd), EBUSY);	/* one irqfd per eventfd */
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	CHECK_OK(t, IOC(t, vm, KVM_IRQFD, &irqfd));		/* GSI 6: none, no error */
	irqfd.gsi = 5;
	CHECK_OK(t, IOC(t, vm, KVM_IRQFD, &irqfd));
	irqfd.flags = 0;
	irqfd.gsi = 6;
	CHECK_OK(t, IOC(t, vm, KVM_IRQFD, &irqfd));		/* free again */
	close(vm);		/* the VM goes with its irqfd */
	close(efd);
	close(nfd);
	close(sys);
}

/* ---- KVM_IRQFD_FLAG_RESAMPLE ---- */

struct resample_ctx {
	int efd, rfd;
};

static void t_resamplefd(struct tctx *t, int rfd)
{
	u64 v = 0;
	ssize_t n = read(rfd, &v, sizeof(v));

	t_printf(t, "resamplefd: read %zd, count %llu", n, (unsigned long long)(n == 8 ? v : 0));
}

static void resample_req(struct tctx *t, struct tguest *g, u16 port, u32 val, void *arg)
{
	struct resample_ctx *r = arg;
	u64 one = 1;

	if (val == 2)
		t_resamplefd(t, r->rfd);	/* the first EOI's */
	CHECK(write(r->efd, &one, 8) == 8, "eventfd write: %s", strerror(errno));
}

/*
 * A level-triggered irqfd: raised by the eventfd, lowered by the guest's EOI
 * (I/O APIC pin 10), which also signals the resamplefd; one delivery per
 * write.  Deassigned, the irqfd leaves the line low.
 */
KVM_CASE(irq_irqfd_resample)
{
	struct resample_ctx r;
	struct kvm_irqfd irqfd = { .gsi = 10, .flags = KVM_IRQFD_FLAG_RESAMPLE };
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	r.efd = eventfd(0, EFD_CLOEXEC);
	r.rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irqfd.fd = r.efd;
	irqfd.resamplefd = -1;
	CHECK_ERR(t, IOC(t, g.vm, KVM_IRQFD, &irqfd), EBADF);	/* resamplefd checked too */
	irqfd.resamplefd = r.rfd;
	CHECK_OK(t, IOC(t, g.vm, KVM_IRQFD, &irqfd));
	tg_load(&g, g_irq_resample);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, resample_req, &r), 0);
	t_resamplefd(t, r.rfd);			/* the second EOI's */
	t_resamplefd(t, r.rfd);			/* nothing more */
	CHECK_EQ(ig_dump_log(t, &g, 0), 2);
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	CHECK_OK(t, IOC(t, g.vm, KVM_IRQFD, &irqfd));
	close(r.efd);
	close(r.rfd);
	tg_destroy(&g);
}

/* ---- KVM_IOEVENTFD ---- */

static long t_ioeventfd(struct tctx *t, int vm, u64 addr, u32 len, int fd, u32 flags, u64 dm)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd, .flags = flags,
				    .datamatch = dm };

	return IOC(t, vm, KVM_IOEVENTFD, &io);
}

static void t_eventfd_count(struct tctx *t, const char *what, int fd)
{
	u64 v = 0;
	ssize_t n = read(fd, &v, sizeof(v));

	t_printf(t, "%s: read %zd, count %llu", what, n, (unsigned long long)(n == 8 ? v : 0));
}

/*
 * Port and MMIO ioeventfds (datamatch, any value, any length): matching
 * writes signal the eventfd without an exit, the rest exit as usual; the
 * rules of KVM_IOEVENTFD (length, duplicates, datamatch with length 0,
 * deassign).
 */
KVM_CASE(irq_ioeventfd)
{
	const u32 PIO = KVM_IOEVENTFD_FLAG_PIO, DM = KVM_IOEVENTFD_FLAG_DATAMATCH,
		  DEASSIGN = KVM_IOEVENTFD_FLAG_DEASSIGN;
	int a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int c = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), nfd = open("/dev/null", O_RDONLY);
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	CHECK_EQ(t->be->ioctl(g.sys, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD), 1);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 3, a, PIO, 0), EINVAL);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 1, nfd, PIO, 0), EINVAL);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 1, 1000, PIO, 0), EBADF);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0xd0001000, 0, c, DM, 0), EINVAL);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, ~0ull, 8, a, 0, 0), EINVAL);
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 1, a, 1u << 5, 0), EINVAL);
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0x70, 1, a, PIO | DM, 0x11));
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 1, b, PIO, 0), EEXIST);	/* collides */
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0x70, 1, b, PIO | DM, 0x33));	/* another value */
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0x70, 1, b, PIO | DM | DEASSIGN, 0x33));
	CHECK_ERR(t, t_ioeventfd(t, g.vm, 0x70, 1, b, PIO | DM | DEASSIGN, 0x33), ENOENT);
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0xd0000000, 4, b, 0, 0));
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0xd0001000, 0, c, 0, 0));
	tg_load(&g, g_ioeventfd);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
	for (int i = 0; i < 10; i++) {
		if (tg_run(t, &g) < 0)
			break;
		if (g.run->exit_reason == KVM_EXIT_MMIO && !g.run->mmio.is_write)
			memset(g.run->mmio.data, 0x5a, sizeof(g.run->mmio.data));
		if (g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10)
			break;
		if (g.run->exit_reason != KVM_EXIT_IO && g.run->exit_reason != KVM_EXIT_MMIO)
			break;
	}
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10, "exit %s",
	      tg_exit_name(g.run->exit_reason));
	t_eventfd_count(t, "port 0x70 = 0x11", a);
	t_eventfd_count(t, "mmio 0xd0000000/4", b);
	t_eventfd_count(t, "mmio 0xd0001000/any", c);
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0xd0001000, 0, c, DEASSIGN, 0));
	tg_destroy(&g);
	close(a);
	close(b);
	close(c);
	close(nfd);
}

/*
 * A zero-length MMIO ioeventfd (KVM_FAST_MMIO_BUS in KVM): each write to
 * its address signals it, with no KVM_EXIT_MMIO, and the guest goes on
 * at the next instruction whatever its length.  VMX KVM takes these
 * without the emulator (handle_ept_misconfig(): signal, then skip by
 * VM_EXIT_INSTRUCTION_LEN), so a READ of the address is signalled and
 * skipped too (the destination keeps its value); this host's PVM KVM has
 * no fast path (its MMIO faults go to the emulator, where ioeventfds take
 * only writes): the read exits to userspace there.
 */
KVM_CASE(irq_ioeventfd_fast_mmio)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int mmio_exits = 0;
	struct tguest g;
	u64 n = 0;

	if (tg_create(t, &g) < 0)
		return;
	CHECK_OK(t, t_ioeventfd(t, g.vm, 0xd0002000, 0, efd, 0, 0));
	tg_load(&g, g_fast_mmio);
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	map_d0000000(&g);
	for (int i = 0; i < 10; i++) {
		if (tg_run(t, &g) < 0 || g.run->exit_reason != KVM_EXIT_MMIO)
			break;
		mmio_exits++;
	}
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x10, "exit %s",
	      tg_exit_name(g.run->exit_reason));
	CHECK(mmio_exits == 0, "%d MMIO exits", mmio_exits);
	CHECK_EQ(ig_out_value(g.run), 4);	/* every INC ran: each skip was exact */
	CHECK(read(efd, &n, sizeof(n)) == sizeof(n) && n == 4, "eventfd count %llu",
	      (unsigned long long)n);
	t_printf(t, "writes: %d MMIO exits, out 0x10 = %u, eventfd %llu", mmio_exits,
		 ig_out_value(g.run), (unsigned long long)n);
	/* from here the two hosts differ (see above): not compared */
	t_differs(t, "PVM KVM has no fast MMIO path: a read of the doorbell exits");
	t->differs_all = 1;
	mmio_exits = 0;
	for (int i = 0; i < 10; i++) {
		if (tg_run(t, &g) < 0 || g.run->exit_reason != KVM_EXIT_MMIO)
			break;
		memset(g.run->mmio.data, 0x5a, sizeof(g.run->mmio.data));
		mmio_exits++;
	}
	CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x11, "exit %s",
	      tg_exit_name(g.run->exit_reason));
	n = 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	/* VMX KVM's fast path (userkvm); PVM KVM emulates the read */
	CHECK_SOFT(t, mmio_exits == 0 && ig_out_value(g.run) == 0x77 && n == 1,
		   "read: %d MMIO exits, eax %#x, eventfd %llu", mmio_exits, ig_out_value(g.run),
		   (unsigned long long)n);
	t_printf(t, "read: %d MMIO exits, out 0x11 = %#x, eventfd %llu", mmio_exits,
		 ig_out_value(g.run), (unsigned long long)n);
	tg_destroy(&g);
	t->differs_all = 0;
	close(efd);
}

/* ---- x2APIC ---- */

KVM_CASE(irq_x2apic_msrs)
{
	struct tguest g;

	if (ig_create(t, &g, false) < 0)
		return;
	ig_set_cpuid(t, &g, g.vcpu);
	tg_load(&g, g_irq_x2apic);
	ig_set_mode(t, &g, g.vcpu, 0);
	CHECK_EQ(ig_run(t, &g, g.vcpu, g.run, NULL, NULL), 0);
	CHECK_EQ(ig_dump_log(t, &g, 0), 3);
	tg_destroy(&g);
}
