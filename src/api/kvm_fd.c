// SPDX-License-Identifier: MIT
/*
 * The fd layer: descriptor numbers -> KVM objects.
 *
 * Every userkvm descriptor is a memfd, so it is a real file: close(), dup(),
 * poll(), fork() and mmap() work with plain libc, and a vCPU's struct
 * kvm_run lives in its memfd so that mmap(vcpu_fd) shows it.
 *
 * The table is indexed by descriptor number (two levels, allocated on
 * demand, read without locks).  A struct kvm_file stands for one open file
 * description; each descriptor number in the table holds a reference, and
 * so does every ioctl in flight, as fdget() does in the kernel.  Lookups
 * take no lock and wait for nobody, as the kernel's __fget_files_rcu():
 * struct kvm_file memory is type-stable (a released file goes to a free
 * list, never back to malloc, like SLAB_TYPESAFE_BY_RCU files), so a lookup
 * may take a reference on a file it loaded from the table unless the count
 * already reached zero, and then checks that the table still holds that
 * file (it may have been released and reused meanwhile).
 *
 * Two modes:
 *  - exact (the LD_PRELOAD shim): every close()/dup() of the process goes
 *    through kvm_fd_close()/kvm_fd_dup(), so the table is the truth and a
 *    lookup needs no system call (VMMs with seccomp allow-lists rely on it).
 *  - library: the program calls libc's close()/dup() directly, so a lookup
 *    for anything but KVM_RUN checks the descriptor with fstat(): an entry
 *    whose file changed is stale and dropped, and an unknown number whose
 *    inode is one of ours (a dup) is added.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <userkvm.h>
#include "api/kvm_fd.h"
#include "kvm/kvm_host.h"

struct kvm_file {
	enum kvm_file_kind kind;
	void *priv;
	int refs;		/* atomic: table entries + ioctls in flight but KVM_RUN's */
	/*
	 * A vCPU file's vcpu->mutex (kvm_file_mutex()), and the release the
	 * last reference left to the KVM_RUN that holds it (see
	 * kvm_fd_ioctl_run()).
	 */
	struct kvm_mutex mutex;
	int release_pending;
	dev_t dev;
	ino_t ino;
	struct kvm_file *next;	/* all_files list, under files_lock */
	/* From anon_inode_getfile() until kvm_file_install(): */
	int fd;
	size_t size;
	void *map;
	char name[32];
};

#define FD_CHUNK_SHIFT 10
#define FD_CHUNK       (1 << FD_CHUNK_SHIFT)
#define FD_CHUNKS      1024	/* up to 1M descriptors */

/*
 * The first chunk is static: the descriptors of nearly every program, whose
 * KVM_RUN then finds its slot with one compare (kvm_fd_ioctl_run()).
 */
static struct kvm_file *fd_chunk0[FD_CHUNK];
static struct kvm_file **fd_table[FD_CHUNKS] = { [0] = fd_chunk0 };
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_file *all_files;
static struct kvm_file *free_files;	/* released files, for reuse (under files_lock) */
static int fd_exact;

void userkvm_tracef(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write(2) per line: lines from several threads do not mix. */
	if (write(2, "userkvm: ", 9) < 0 || write(2, buf, n) < 0)
		return;
}

__attribute__((constructor)) static void kvm_fd_init(void)
{
	kvm_trace_init(getenv("USERKVM_TRACE"));
}

void kvm_fd_set_exact(void)
{
	fd_exact = 1;
}

static void kvm_file_release_claim(struct kvm_file *f);

/*
 * The files are type-stable: a pointer collected under files_lock stays a
 * file's, and one reused meanwhile has no bias (or one that goes too).  A
 * mutex taken from its bias here is let go as a KVM_RUN lets it go, so
 * that a release left to it meanwhile happens.
 */
void kvm_fd_bias_seal(void)
{
	struct kvm_file **v = NULL, *f;
	size_t n = 0, cap = 0;

	kvm_bias_seal_begin();
	pthread_mutex_lock(&files_lock);
	for (f = all_files; f; f = f->next) {
		if (f->kind != KVM_FILE_VCPU)
			continue;
		if (n == cap) {
			struct kvm_file **nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[n++] = f;
	}
	pthread_mutex_unlock(&files_lock);
	/* Not one left out: a file missed for want of memory keeps its bias, so no seal. */
	if (f) {
		free(v);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (kvm_mutex_try_revoke(&v[i]->mutex))
			kvm_file_release_claim(v[i]);
	free(v);
	kvm_bias_seal();
}

int userkvm_seccomp_prepare(void)
{
	kvm_fd_bias_seal();
	return 0;
}

static inline struct kvm_file **fd_slot(int fd, bool alloc)
{
	struct kvm_file **chunk;
	unsigned int hi, lo;

	if ((unsigned int)fd >= FD_CHUNK * FD_CHUNKS)
		return NULL;
	hi = (unsigned int)fd >> FD_CHUNK_SHIFT;
	lo = (unsigned int)fd & (FD_CHUNK - 1);
	chunk = __atomic_load_n(&fd_table[hi], __ATOMIC_ACQUIRE);
	if (unlikely(!chunk)) {
		struct kvm_file **fresh, **expected = NULL;

		if (!alloc)
			return NULL;
		fresh = calloc(FD_CHUNK, sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (!__atomic_compare_exchange_n(&fd_table[hi], &expected, fresh, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			free(fresh);
			chunk = expected;
		} else {
			chunk = fresh;
		}
	}
	return &chunk[lo];
}

static void kvm_file_get(struct kvm_file *f)
{
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_ACQ_REL);
}

/*
 * A reference unless the count already reached zero (released, or not yet
 * installed: a file from the free list is at zero until fd_install()),
 * tried until the count is seen at zero or taken.
 */
static inline bool kvm_file_tryget(struct kvm_file *f)
{
	int refs = __atomic_load_n(&f->refs, __ATOMIC_ACQUIRE);

	do {
		if (!refs)
			return false;
	} while (!__atomic_compare_exchange_n(&f->refs, &refs, refs + 1, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return true;
}

/*
 * Type-stable memory (see the top): a lookup may still hold a pointer to a
 * released file and try to take a reference, which fails while the count
 * is zero; a reused file is found only where it is installed again.
 */
static struct kvm_file *kvm_file_alloc(void)
{
	struct kvm_file *f;

	pthread_mutex_lock(&files_lock);
	f = free_files;
	if (f)
		free_files = f->next;
	pthread_mutex_unlock(&files_lock);
	if (!f)
		return calloc(1, sizeof(*f));
	/*
	 * Every field but the count (zero, and only fd_install() raises it).
	 * The mutex was left held by the release (kvm_file_release()); a
	 * KVM_RUN that still holds a pointer to this file may take it from
	 * now on, and lets it go when the table does not hold the file.
	 */
	__atomic_store_n(&f->release_pending, 0, __ATOMIC_RELAXED);
	f->mutex.bias_in = 0;
	f->mutex.handoff = 0;
	f->mutex.revokes = 0;
	__atomic_store_n(&f->mutex.bias_thread, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->mutex.bias, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->mutex.state, 0, __ATOMIC_RELEASE);
	f->kind = KVM_FILE_DEV;
	f->priv = NULL;
	f->dev = 0;
	f->ino = 0;
	f->next = NULL;
	f->fd = -1;
	f->size = 0;
	f->map = NULL;
	memset(f->name, 0, sizeof(f->name));
	return f;
}

static void kvm_file_free(struct kvm_file *f)
{
	pthread_mutex_lock(&files_lock);
	f->next = free_files;
	free_files = f;
	pthread_mutex_unlock(&files_lock);
}

static void __kvm_file_release(struct kvm_file *f)
{
	struct kvm_file **pp;

	/* The last reference may go at the end of a KVM_RUN: the VM may go with it. */
	kvm_sched_out_thread();

	pthread_mutex_lock(&files_lock);
	for (pp = &all_files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_mutex_unlock(&files_lock);

	kvm_trace("release %s file (ino %lu)",
		  f->kind == KVM_FILE_DEV ? "kvm" : f->kind == KVM_FILE_VM ? "vm" : "vcpu",
		  (unsigned long)f->ino);
	switch (f->kind) {
	case KVM_FILE_VM:
		kvm_vm_release(f->priv);
		break;
	case KVM_FILE_VCPU:
		kvm_vcpu_release(f->priv);
		break;
	case KVM_FILE_DEV:
		break;
	}
	kvm_file_free(f);
}

/*
 * The release of the file's mutex holder: whoever takes release_pending
 * back releases the file, and keeps the mutex (a KVM_RUN that still finds
 * the file fails to take it: kvm_fd_ioctl_run()); else the mutex goes.
 */
static void kvm_file_release_claim(struct kvm_file *f)
{
	if (__atomic_exchange_n(&f->release_pending, 0, __ATOMIC_ACQ_REL))
		__kvm_file_release(f);
	else
		kvm_mutex_unlock(&f->mutex);
}

/*
 * The mutex, if nobody holds it: free, or held for a bias whose owner is
 * in no KVM_RUN now (the owner's own runs then fail to enter).
 */
static bool kvm_file_release_trylock(struct kvm_file *f)
{
	return kvm_mutex_trylock(&f->mutex) || kvm_mutex_try_revoke(&f->mutex);
}

/*
 * The last reference went.  A vCPU's file may still be in a KVM_RUN, which
 * holds no reference but the vCPU's mutex: the release is left to that run
 * (release_pending, which it looks at after its unlock) unless the mutex
 * can be had now.  The store and the lock, and the run's unlock and load,
 * are each a full barrier: either the lock here fails and the run sees the
 * flag, or the run let the mutex go first and the lock here succeeds.  A
 * run by the bias owner has no locked instruction: kvm_mutex_try_revoke()'s
 * heavy barrier stands in for it (kvm/mutex.h), and a run it finds in
 * its section is handed the mutex, which it then finds it holds.
 */
static void kvm_file_release(struct kvm_file *f)
{
	if (f->kind != KVM_FILE_VCPU) {
		__kvm_file_release(f);
		return;
	}
	__atomic_store_n(&f->release_pending, 1, __ATOMIC_SEQ_CST);
	if (kvm_file_release_trylock(f))
		kvm_file_release_claim(f);
}

/* A KVM_RUN let the mutex go and saw a release pending: take it over unless someone holds it. */
static __attribute__((noinline, cold)) void kvm_file_release_deferred(struct kvm_file *f)
{
	if (kvm_file_release_trylock(f))
		kvm_file_release_claim(f);
}

struct kvm_mutex *kvm_file_mutex(struct kvm_file *f)
{
	return &f->mutex;
}

static inline void kvm_file_put(struct kvm_file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kvm_file_release(f);
}

/* Install @f at @fd (taking a reference); drops whatever was there. */
static int fd_install(int fd, struct kvm_file *f)
{
	struct kvm_file **slot = fd_slot(fd, true);
	struct kvm_file *old;

	if (!slot)
		return -EMFILE;
	kvm_file_get(f);
	old = __atomic_exchange_n(slot, f, __ATOMIC_ACQ_REL);
	if (old)
		kvm_file_put(old);
	return 0;
}

static struct kvm_file *fd_remove(int fd)
{
	struct kvm_file **slot = fd_slot(fd, false);

	if (!slot)
		return NULL;
	return __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
}

/* Caller holds files_lock. */
static struct kvm_file *find_file_by_inode(dev_t dev, ino_t ino)
{
	struct kvm_file *f;

	for (f = all_files; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			break;
	return f;
}

/*
 * fdget(): the file behind @fd with a reference held, or NULL if @fd is not
 * one of ours.  @check: verify the table against the real descriptor (only
 * in library mode; see the comment at the top).
 */
static inline struct kvm_file *__fget_table(int fd)
{
	struct kvm_file **slot = fd_slot(fd, false), *f;

	if (!slot)
		return NULL;
	for (;;) {
		f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (!f)
			return NULL;
		if (unlikely(!kvm_file_tryget(f)))
			continue;	/* released: the slot no longer holds it */
		/* Still the file at @fd (not released and reused elsewhere)? */
		if (likely(__atomic_load_n(slot, __ATOMIC_ACQUIRE) == f))
			return f;
		kvm_file_put(f);
	}
}

static struct kvm_file *fdget_checked(int fd)
{
	struct kvm_file *f = __fget_table(fd);
	struct stat st;
	bool open;

	open = fstat(fd, &st) == 0;
	if (f && open && f->dev == st.st_dev && f->ino == st.st_ino)
		return f;
	if (f) {
		/*
		 * Closed behind our back, or the number now names another
		 * file: drop the stale entry (its table reference) and ours.
		 */
		struct kvm_file *old = fd_remove(fd);

		if (old)
			kvm_file_put(old);
		kvm_file_put(f);
		f = NULL;
	}
	if (!open)
		return NULL;
	/* A descriptor we have not seen: a dup() of one of ours? */
	pthread_mutex_lock(&files_lock);
	f = find_file_by_inode(st.st_dev, st.st_ino);
	if (f && !kvm_file_tryget(f))
		f = NULL;		/* being released */
	pthread_mutex_unlock(&files_lock);
	if (f && fd_install(fd, f) < 0) {
		kvm_file_put(f);
		return NULL;
	}
	return f;
}

static inline struct kvm_file *fdget(int fd, bool check)
{
	if (!check || fd_exact)
		return __fget_table(fd);
	return fdget_checked(fd);
}

int anon_inode_getfile(const char *name, enum kvm_file_kind kind, void *priv,
		       size_t size, void **map, int cloexec, struct kvm_file **filep)
{
	struct kvm_file *f;
	struct stat st;
	int fd, r;

	fd = memfd_create(name, MFD_ALLOW_SEALING | (cloexec ? MFD_CLOEXEC : 0));
	if (fd < 0)
		return -errno;
	/* The table's chunk for @fd now, so that installing cannot fail. */
	r = -EMFILE;
	if (!fd_slot(fd, true))
		goto out_close;
	if (size && ftruncate(fd, size) < 0) {
		r = -errno;
		goto out_close;
	}
	/*
	 * The size is fixed: an ftruncate() or a write past the end by the
	 * program (KVM answers both with EINVAL) must not shrink the pages
	 * under userkvm's own mapping of kvm_run, nor grow the file.
	 */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		goto out_close;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (map) {
		*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*map == MAP_FAILED) {
			r = -errno;
			*map = NULL;
			goto out_close;
		}
	}
	f = kvm_file_alloc();
	if (!f) {
		r = -ENOMEM;
		goto out_unmap;
	}
	f->kind = kind;
	f->priv = priv;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->fd = fd;
	f->size = size;
	f->map = map ? *map : NULL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	*filep = f;
	return fd;

out_unmap:
	if (map && *map) {
		munmap(*map, size);
		*map = NULL;
	}
out_close:
	close(fd);
	return r;
}

void kvm_file_install(struct kvm_file *f)
{
	pthread_mutex_lock(&files_lock);
	f->next = all_files;
	all_files = f;
	pthread_mutex_unlock(&files_lock);
	/* Cannot fail: anon_inode_getfile() allocated the slot. */
	fd_install(f->fd, f);
	kvm_trace("%s = fd %d", f->name, f->fd);
}

void kvm_file_discard(struct kvm_file *f)
{
	if (f->map)
		munmap(f->map, f->size);
	close(f->fd);
	kvm_file_free(f);
}

int anon_inode_getfd(const char *name, enum kvm_file_kind kind, void *priv,
		     size_t size, void **map, int cloexec)
{
	struct kvm_file *f;
	int fd;

	fd = anon_inode_getfile(name, kind, priv, size, map, cloexec, &f);
	if (fd >= 0)
		kvm_file_install(f);
	return fd;
}

int kvm_fd_is_ours(int fd)
{
	struct kvm_file *f = fdget(fd, true);

	if (!f)
		return 0;
	kvm_file_put(f);
	return 1;
}

int kvm_fd_close(int fd)
{
	struct kvm_file *f = fd_remove(fd);

	if (!f)
		return 0;
	kvm_trace("close fd %d", fd);
	kvm_file_put(f);
	return 1;
}

void kvm_fd_dup(int oldfd, int newfd)
{
	struct kvm_file *f;

	if (oldfd == newfd)
		return;
	kvm_fd_close(newfd);
	f = fdget(oldfd, false);
	if (!f)
		return;
	kvm_trace("dup fd %d -> %d", oldfd, newfd);
	if (fd_install(newfd, f) < 0)
		kvm_trace("dup: no table room for fd %d", newfd);
	kvm_file_put(f);
}

/*
 * Not ours: the system's ioctl.  A raw system call, since in the shim the
 * symbol ioctl() is this very path.
 */
static __attribute__((noinline)) long sys_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return syscall(SYS_ioctl, fd, req, arg);
}

static __attribute__((noinline)) long kvm_file_ioctl(struct kvm_file *f, unsigned int ioctl_nr,
						     unsigned long arg)
{
	switch (f->kind) {
	case KVM_FILE_DEV:
		return kvm_dev_ioctl(ioctl_nr, arg);
	case KVM_FILE_VM:
		return kvm_vm_ioctl(f->priv, ioctl_nr, arg);
	case KVM_FILE_VCPU:
		return kvm_vcpu_ioctl(f->priv, ioctl_nr, arg);
	default:
		return -ENOTTY;
	}
}

/* KVM's -errno as the system call's -1 with errno. */
static __always_inline long kvm_fd_ret(long r)
{
	if (unlikely(r < 0)) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static __attribute__((noinline)) long kvm_fd_ioctl_done(int fd, unsigned int ioctl_nr,
							unsigned long arg, long r)
{
	if (userkvm_trace && ioctl_nr != KVM_RUN)
		kvm_trace("ioctl(%d, %#x, %#lx) = %ld", fd, ioctl_nr, arg, r);
	return kvm_fd_ret(r);
}

/* KVM_RUN on a system or VM descriptor (what KVM answers for it), out of line. */
static __attribute__((noinline, cold)) long kvm_fd_ioctl_run_other(struct kvm_file *f,
								    unsigned long arg)
{
	long r;

	kvm_sched_out_thread();
	r = kvm_file_ioctl(f, KVM_RUN, arg);
	kvm_file_put(f);
	return kvm_fd_ret(r);
}

/* KVM_RUN on @f, a reference held. */
static __always_inline long kvm_fd_ioctl_run_file(struct kvm_file *f, unsigned long arg)
{
	long r;

	if (unlikely(f->kind != KVM_FILE_VCPU))
		return kvm_fd_ioctl_run_other(f, arg);
	r = kvm_vcpu_ioctl_run(f->priv, arg);
	__asm__("" : "+r"(f));	/* &f->refs from @f again (see __kvm_vcpu_ioctl_run_locked()) */
	kvm_file_put(f);
	/* kvm_fd_ioctl_done() without the trace, which leaves KVM_RUN out. */
	return kvm_fd_ret(r);
}

/*
 * KVM_RUN the way of every other ioctl, with a reference: when the fast
 * path's lock failed (a mutex held by someone else) or it found a file the
 * table no longer holds (kvm_fd_ioctl_run()).
 */
static __attribute__((noinline)) long kvm_fd_ioctl_run_slow(int fd, unsigned long req,
							    unsigned long arg)
{
	struct kvm_file *f = fdget(fd, false);

	if (unlikely(!f))
		return sys_ioctl(fd, req, arg);
	return kvm_fd_ioctl_run_file(f, arg);
}

/*
 * The fast KVM_RUN's end: the mutex goes (or stays held for this thread's
 * bias: the next run then takes no locked instruction, kvm/mutex.h), and
 * a release left to it is taken (kvm_file_release()).
 */
static __always_inline void kvm_fd_run_unlock(struct kvm_file *f)
{
	if (!kvm_mutex_bias_grant(&f->mutex))
		kvm_mutex_unlock(&f->mutex);
	if (unlikely(__atomic_load_n(&f->release_pending, __ATOMIC_RELAXED)))
		kvm_file_release_deferred(f);
}

/*
 * The biased KVM_RUN's end, when its bias went during the run (revoked:
 * the revoker is woken) or a release is pending: give the bias up, and
 * take the release if the mutex is ours then.
 */
static __attribute__((noinline, cold)) void kvm_fd_run_bias_drop(struct kvm_file *f)
{
	if (kvm_mutex_bias_drop(&f->mutex))
		kvm_file_release_claim(f);
}

static __always_inline void kvm_fd_run_bias_leave(struct kvm_file *f)
{
	if (unlikely(!kvm_mutex_bias_exit(&f->mutex) ||
		     __atomic_load_n(&f->release_pending, __ATOMIC_RELAXED)))
		kvm_fd_run_bias_drop(f);
}

/* The biased KVM_RUN did not enter, or found a file the table no longer holds at @fd. */
static __attribute__((noinline)) long kvm_fd_ioctl_run_bias_stale(int fd, unsigned long req,
								   unsigned long arg,
								   struct kvm_file *f)
{
	kvm_fd_run_bias_leave(f);
	return kvm_fd_ioctl_run_slow(fd, req, arg);
}

/* The fast KVM_RUN took the mutex of a file the table no longer holds at @fd, or not a vCPU's. */
static __attribute__((noinline)) long kvm_fd_ioctl_run_stale(int fd, unsigned long req,
							     unsigned long arg, struct kvm_file *f)
{
	kvm_fd_run_unlock(f);
	return kvm_fd_ioctl_run_slow(fd, req, arg);
}

/*
 * KVM_RUN, the hot one, in a function of its own: straight to the vCPU,
 * kvm_vcpu_ioctl()'s part inline, and with no reference taken: the vCPU's
 * mutex, which KVM_RUN holds anyway, is what keeps the file and the vCPU
 * from going during the run.  A locked instruction costs about as much as
 * an in-kernel exit on some hosts (4-5 ns), and a reference is two.  The
 * file's memory is type-stable (see the top), so the lock can be tried on
 * a file loaded from the table that another thread is closing: once it
 * is held, the table still holding the file at @fd means it was not
 * released (a release keeps the mutex; the table's own reference goes
 * only after the descriptor left the table), and a release that comes
 * during the run is left to the run (kvm_file_release()).  Every other
 * outcome (a mutex held by someone else, a file the table no longer
 * holds) goes the way of every other ioctl, with a reference
 * (kvm_fd_ioctl_run_slow()), in a tail call, so that nothing but the file
 * stays live across the run (no call before it that would keep @fd, @req
 * and @arg in saved registers).  The thread that runs the vCPU holds the
 * mutex's bias after its first run (kvm/mutex.h): its runs then enter and
 * leave the mutex's section with plain stores and loads, the same checks
 * after the entry, and no locked instruction at all.
 */
__attribute__((noinline)) long kvm_fd_ioctl_run(int fd, unsigned long req, unsigned long arg)
{
	struct kvm_file **slot, *f;
	long r;

	if (likely((unsigned int)fd < FD_CHUNK)) {
		slot = &fd_chunk0[fd];
	} else {
		slot = fd_slot(fd, false);
		if (unlikely(!slot))
			return sys_ioctl(fd, req, arg);
	}
	f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (unlikely(!f))
		return sys_ioctl(fd, req, arg);
	/* The mutex held for this thread (kvm/mutex.h): no locked instruction. */
	if (likely(kvm_mutex_bias_mine(&f->mutex))) {
		if (unlikely(!kvm_mutex_bias_enter(&f->mutex) ||
			     __atomic_load_n(slot, __ATOMIC_ACQUIRE) != f || f->kind != KVM_FILE_VCPU))
			return kvm_fd_ioctl_run_bias_stale(fd, req, arg, f);
		r = kvm_vcpu_ioctl_run_held(f->priv, arg);
		__asm__("" : "+r"(f));
		kvm_fd_run_bias_leave(f);
		return kvm_fd_ret(r);
	}
	if (unlikely(!kvm_mutex_trylock(&f->mutex)))
		return kvm_fd_ioctl_run_slow(fd, req, arg);
	/* Still the file at @fd (not released and reused elsewhere), and a vCPU's? */
	if (unlikely(__atomic_load_n(slot, __ATOMIC_ACQUIRE) != f || f->kind != KVM_FILE_VCPU))
		return kvm_fd_ioctl_run_stale(fd, req, arg, f);
	r = kvm_vcpu_ioctl_run_held(f->priv, arg);
	__asm__("" : "+r"(f));	/* &f->mutex from @f again, not kept in a register of its own */
	kvm_fd_run_unlock(f);
	/* kvm_fd_ioctl_done() without the trace, which leaves KVM_RUN out. */
	return kvm_fd_ret(r);
}

static __attribute__((noinline)) long kvm_fd_ioctl_other(int fd, unsigned long req,
							 unsigned long arg)
{
	unsigned int ioctl_nr = (unsigned int)req;	/* the kernel's cmd is 32 bits */
	struct kvm_file *f;
	long r;

	kvm_sched_out_thread();
	f = fdget(fd, true);
	if (unlikely(!f))
		return sys_ioctl(fd, req, arg);
	r = kvm_file_ioctl(f, ioctl_nr, arg);
	kvm_file_put(f);
	if (unlikely(r < 0 || userkvm_trace))
		return kvm_fd_ioctl_done(fd, ioctl_nr, arg, r);
	return r;
}

/* Two tail calls, so that userkvm_ioctl() and the shim's ioctl() need no frame of their own. */
long kvm_fd_ioctl(int fd, unsigned long req, unsigned long arg)
{
	if (likely((unsigned int)req == KVM_RUN))
		return kvm_fd_ioctl_run(fd, req, arg);
	return kvm_fd_ioctl_other(fd, req, arg);
}

int kvm_fd_vcpu_interrupt(int fd)
{
	struct kvm_file *f = fdget(fd, false);
	int r = 0;

	if (!f)
		return -1;
	if (f->kind == KVM_FILE_VCPU) {
		kvm_vcpu_interrupt(f->priv);
		r = 1;
	}
	kvm_file_put(f);
	return r;
}

int userkvm_open(int flags)
{
	int fd = anon_inode_getfd("kvm", KVM_FILE_DEV, NULL, 0, NULL, flags & O_CLOEXEC);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

#if defined(__x86_64__) && defined(__ELF__)
/*
 * userkvm_ioctl() is kvm_fd_ioctl() itself, as glibc's ioctl() is the
 * system call: the x86-64 SysV ABI passes a variadic function's integer
 * arguments where it passes fixed ones (%rdi, %rsi, %rdx; %al, the count
 * of vector registers, is only read by a callee that uses va_start), so a
 * call through the variadic prototype finds @arg in %rdx.  A C body would
 * build a va_list on every call (about ten host instructions per KVM_RUN).
 */
__asm__(".globl userkvm_ioctl\n\t"
	".type userkvm_ioctl, @function\n\t"
	".set userkvm_ioctl, kvm_fd_ioctl");
#else
long userkvm_ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return kvm_fd_ioctl(fd, req, arg);
}
#endif

int userkvm_is_fd(int fd)
{
	return kvm_fd_is_ours(fd);
}
