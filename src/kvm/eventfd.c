// SPDX-License-Identifier: MIT
/*
 * virt/kvm/eventfd.c: KVM_IRQFD.  A write to the eventfd raises the GSI
 * (as a KVM_IRQ_LINE of 1 then 0, KVM's irqfd_inject()); several writes
 * before the injection are one interrupt, since the counter is read back
 * to 0 as KVM's wakeup does with eventfd_ctx_do_read().
 *
 * KVM hangs a callback on the eventfd's wait queue; a library cannot, so
 * one worker thread per VM waits in epoll_wait() on every irqfd of the VM
 * and injects from there (KVM's irqfd work items run on a kernel thread
 * likewise).  The worker starts with the first irqfd.
 *
 * KVM_IRQFD_FLAG_RESAMPLE (level-triggered interrupts, e.g. a VMM's INTx):
 * a write raises the GSI and leaves it high; the guest's EOI of it (an ack
 * notifier: the I/O APIC's level EOI, the PIC's EOI) lowers it and writes
 * 1 to the resamplefd, so that the device can raise it again if it still
 * needs service (KVM's irqfd_resampler_ack()).
 *
 * KVM_IOEVENTFD: a guest write to a port or an MMIO address (of a length,
 * optionally of a value) signals an eventfd instead of exiting to user
 * space (virtio notifications).  The in-kernel devices come first, as they
 * are looked at before the I/O bus in KVM; reads are never claimed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm/kvm_host.h"
#include "x86/irq.h"

struct kvm_kernel_irqfd {
	struct kvm_kernel_irqfd *next;
	int fd;			/* our duplicate: the eventfd stays open while assigned */
	int user_fd;		/* the descriptor userspace gave (deassign matches it) */
	int resamplefd;		/* our duplicate of KVM_IRQFD_FLAG_RESAMPLE's, or -1 */
	u32 gsi;
	u64 id;			/* epoll cookie */
};

struct kvm_irqfds {
	/* Held by the worker while it injects: deassign waits for it (KVM's flush). */
	pthread_mutex_t lock;
	struct kvm_kernel_irqfd *items;
	int epfd;
	int stopfd;		/* an eventfd that ends the worker */
	pthread_t worker;
	u64 next_id;
};

/* Is @fd an eventfd?  Return: 0, -EBADF or -EINVAL (eventfd_ctx_fdget()). */
static int check_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -EBADF;
	link[n] = 0;
	return strcmp(link, "anon_inode:[eventfd]") ? -EINVAL : 0;
}

/* The same open eventfd (KVM compares eventfd contexts)?  kcmp() if allowed, else the number. */
static bool same_eventfd(int a, int b)
{
	long r = syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, a, b);

	return r < 0 ? a == b : r == 0;
}

static void *irqfd_worker(void *arg)
{
	struct kvm *kvm = arg;
	struct kvm_irqfds *s = kvm->irqfds;

	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(s->epfd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct kvm_kernel_irqfd *p;
			u64 cnt;

			if (ev[i].data.u64 == 0)
				return NULL;		/* the VM goes away */
			pthread_mutex_lock(&s->lock);
			for (p = s->items; p && p->id != ev[i].data.u64; p = p->next)
				;
			/* Gone meanwhile: nothing to inject; its fd is closed. */
			if (p && read(p->fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
				if (p->resamplefd >= 0) {
					/* level: high until the guest's EOI (kvm_irqfd_resample_ack()) */
					kvm_set_irq(kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, p->gsi, 1);
				} else {
					kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, p->gsi, 1);
					kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, p->gsi, 0);
				}
			}
			pthread_mutex_unlock(&s->lock);
		}
	}
}

static int irqfds_init(struct kvm *kvm)
{
	struct kvm_irqfds *s;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };

	if (kvm->irqfds)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->next_id = 1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	if (s->epfd < 0 || s->stopfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev))
		goto fail;
	__atomic_store_n(&kvm->irqfds, s, __ATOMIC_RELEASE);
	if (pthread_create(&s->worker, NULL, irqfd_worker, kvm)) {
		kvm->irqfds = NULL;
		goto fail;
	}
	return 0;
fail:
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return -ENOMEM;
}

static void irqfd_free(struct kvm_kernel_irqfd *p)
{
	close(p->fd);
	if (p->resamplefd >= 0)
		close(p->resamplefd);
	free(p);
}

static int kvm_irqfd_assign(struct kvm *kvm, struct kvm_irqfd *args)
{
	struct kvm_kernel_irqfd *p;
	struct kvm_irqfds *s;
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	/* kvm_arch_irqfd_allowed(): an in-kernel irqchip */
	if (!kvm_irqchip_in_kernel(kvm))
		return -EINVAL;
	r = check_eventfd(args->fd);
	if (r)
		return r;
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		r = check_eventfd(args->resamplefd);
		if (r)
			return r;
	}
	pthread_mutex_lock(&kvm->lock);
	r = irqfds_init(kvm);
	pthread_mutex_unlock(&kvm->lock);
	if (r)
		return r;
	s = kvm->irqfds;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->user_fd = args->fd;
	p->gsi = args->gsi;
	p->resamplefd = -1;
	p->fd = fcntl(args->fd, F_DUPFD_CLOEXEC, 0);
	if (p->fd < 0) {
		free(p);
		return -EBADF;
	}
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		p->resamplefd = fcntl(args->resamplefd, F_DUPFD_CLOEXEC, 0);
		if (p->resamplefd < 0) {
			close(p->fd);
			free(p);
			return -EBADF;
		}
	}
	pthread_mutex_lock(&s->lock);
	for (struct kvm_kernel_irqfd *q = s->items; q; q = q->next) {
		if (same_eventfd(q->fd, p->fd)) {
			/* This fd is used for another irq already. */
			pthread_mutex_unlock(&s->lock);
			irqfd_free(p);
			return -EBUSY;
		}
	}
	p->id = s->next_id++;
	ev.data.u64 = p->id;
	/* A count already in the eventfd is injected at once, as KVM's vfs_poll() check. */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->fd, &ev)) {
		pthread_mutex_unlock(&s->lock);
		irqfd_free(p);
		return -ENOMEM;
	}
	p->next = s->items;
	s->items = p;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Deassign: every irqfd of this eventfd and GSI; none is no error (KVM). */
static int kvm_irqfd_deassign(struct kvm *kvm, struct kvm_irqfd *args)
{
	struct kvm_irqfds *s = kvm->irqfds;
	int r = check_eventfd(args->fd);

	if (r)
		return r;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (struct kvm_kernel_irqfd **pp = &s->items; *pp;) {
		struct kvm_kernel_irqfd *p = *pp;

		if (p->gsi == args->gsi && same_eventfd(p->fd, args->fd)) {
			*pp = p->next;
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
			/* a resampler going away leaves its line low (irqfd_resampler_shutdown()) */
			if (p->resamplefd >= 0)
				kvm_set_irq(kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, p->gsi, 0);
			irqfd_free(p);
			continue;
		}
		pp = &p->next;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/*
 * The guest's EOI of @gsi (kvm_notify_acked_irq()): each resampling irqfd
 * on it lowers the line and signals its resamplefd.
 */
void kvm_irqfd_resample_ack(struct kvm *kvm, u32 gsi)
{
	struct kvm_irqfds *s = __atomic_load_n(&kvm->irqfds, __ATOMIC_ACQUIRE);
	bool lowered = false;
	u64 one = 1;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	for (struct kvm_kernel_irqfd *p = s->items; p; p = p->next) {
		if (p->resamplefd < 0 || p->gsi != gsi)
			continue;
		if (!lowered) {
			kvm_set_irq(kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, gsi, 0);
			lowered = true;
		}
		if (write(p->resamplefd, &one, sizeof(one)) != sizeof(one))
			continue;	/* a full counter: the device is told already */
	}
	pthread_mutex_unlock(&s->lock);
}

int kvm_irqfd(struct kvm *kvm, struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return kvm_irqfd_deassign(kvm, args);
	return kvm_irqfd_assign(kvm, args);
}

/* VM destruction: stop the worker, drop every irqfd (kvm_irqfd_release()). */
void kvm_irqfd_release(struct kvm *kvm)
{
	struct kvm_irqfds *s = kvm->irqfds;
	u64 one = 1;

	if (!s)
		return;
	if (write(s->stopfd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->worker, NULL);
	while (s->items) {
		struct kvm_kernel_irqfd *p = s->items;

		s->items = p->next;
		irqfd_free(p);
	}
	close(s->epfd);
	close(s->stopfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	kvm->irqfds = NULL;
}

/* ---- KVM_IOEVENTFD ---- */

struct kvm_ioeventfd_entry {
	u64 addr;
	u64 datamatch;
	u32 len;		/* 0: any length (KVM's fast MMIO bus) */
	u32 bus;		/* KVM_IOEVENTFD_FLAG_PIO / _VIRTIO_CCW_NOTIFY bits: KVM's bus */
	bool wildcard;
	int fd;			/* our duplicate of the eventfd */
};

#define KVM_MAX_IOEVENTFDS	1000	/* NR_IOBUS_DEVS */

struct kvm_ioeventfds {
	pthread_mutex_t lock;
	int nr;
	struct kvm_ioeventfd_entry items[KVM_MAX_IOEVENTFDS];
};

static bool ioeventfd_same(const struct kvm_ioeventfd_entry *a, const struct kvm_ioeventfd_entry *b)
{
	/* ioeventfd_check_collision(): same bus, address and length, overlapping values */
	return a->bus == b->bus && a->addr == b->addr && a->len == b->len &&
	       (a->wildcard || b->wildcard || a->datamatch == b->datamatch);
}

static int kvm_assign_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd *args)
{
	struct kvm_ioeventfd_entry e = {
		.addr = args->addr, .len = args->len,
		.bus = args->flags & (KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY),
		.wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH),
		.datamatch = args->datamatch,
	};
	struct kvm_ioeventfds *s;
	int r;

	r = check_eventfd(args->fd);
	if (r)
		return r;
	pthread_mutex_lock(&kvm->lock);
	if (!kvm->ioeventfds) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&kvm->lock);
			return -ENOMEM;
		}
		pthread_mutex_init(&s->lock, NULL);
		__atomic_store_n(&kvm->ioeventfds, s, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&kvm->lock);
	s = kvm->ioeventfds;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nr; i++) {
		if (ioeventfd_same(&s->items[i], &e)) {
			pthread_mutex_unlock(&s->lock);
			return -EEXIST;
		}
	}
	if (s->nr == KVM_MAX_IOEVENTFDS) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	e.fd = fcntl(args->fd, F_DUPFD_CLOEXEC, 0);
	if (e.fd < 0) {
		pthread_mutex_unlock(&s->lock);
		return -EBADF;
	}
	s->items[s->nr] = e;
	__atomic_store_n(&s->nr, s->nr + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int kvm_deassign_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd *args)
{
	struct kvm_ioeventfds *s = __atomic_load_n(&kvm->ioeventfds, __ATOMIC_ACQUIRE);
	u32 bus = args->flags & (KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY);
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	int r = check_eventfd(args->fd);

	if (r)
		return r;
	if (!s)
		return -ENOENT;
	r = -ENOENT;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nr; i++) {
		struct kvm_ioeventfd_entry *e = &s->items[i];

		if (e->bus != bus || e->addr != args->addr || e->len != args->len ||
		    e->wildcard != wildcard || !same_eventfd(e->fd, args->fd) ||
		    (!wildcard && e->datamatch != args->datamatch))
			continue;
		close(e->fd);
		*e = s->items[s->nr - 1];
		__atomic_store_n(&s->nr, s->nr - 1, __ATOMIC_RELEASE);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* kvm_ioeventfd(): KVM's checks, in its order. */
int kvm_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd *args)
{
	const u32 valid = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_PIO |
			  KVM_IOEVENTFD_FLAG_DEASSIGN | KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;

	/* Note, the virtio-ccw bus exists on x86 too (nothing writes to it). */
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return kvm_deassign_ioeventfd(kvm, args);
	switch (args->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~valid)
		return -EINVAL;
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;
	return kvm_assign_ioeventfd(kvm, args);
}

/*
 * A guest write of @len bytes at @addr (a port if @pio): an ioeventfd that
 * matches is signalled.  Return: true if one did (the write is consumed).
 */
bool kvm_ioeventfd_write(struct kvm *kvm, bool pio, u64 addr, int len, const void *val)
{
	struct kvm_ioeventfds *s = __atomic_load_n(&kvm->ioeventfds, __ATOMIC_ACQUIRE);
	bool hit = false;
	u64 v = 0, one = 1;

	if (!s || !__atomic_load_n(&s->nr, __ATOMIC_ACQUIRE))
		return false;
	memcpy(&v, val, len > 8 ? 8 : len);
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nr && !hit; i++) {
		const struct kvm_ioeventfd_entry *e = &s->items[i];

		if (e->bus != (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) || e->addr != addr || (e->len && e->len != (u32)len))
			continue;
		/* ioeventfd_in_range(): the value as the guest wrote it, of its length */
		if (!e->wildcard && e->datamatch != (len >= 8 ? v : v & ((1ull << (8 * len)) - 1)))
			continue;
		hit = write(e->fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN;
	}
	pthread_mutex_unlock(&s->lock);
	return hit;
}

void kvm_ioeventfd_release(struct kvm *kvm)
{
	struct kvm_ioeventfds *s = kvm->ioeventfds;

	if (!s)
		return;
	for (int i = 0; i < s->nr; i++)
		close(s->items[i].fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	kvm->ioeventfds = NULL;
}
