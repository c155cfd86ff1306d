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
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <stdbool.h>
#include <userkvm.h>
#include <userkvm/kvm_compat.h>
#include "api/kvm_fd.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_close_range)(unsigned int, unsigned int, int);
static int (*real_access)(const char *, int);
static int (*real_pthread_cancel)(pthread_t);

/* dlsym() only here, in the constructor, never while a guest runs. */
__attribute__((constructor)) static void shim_init(void)
{
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_close = dlsym(RTLD_NEXT, "close");
	real_dup = dlsym(RTLD_NEXT, "dup");
	real_dup2 = dlsym(RTLD_NEXT, "dup2");
	real_dup3 = dlsym(RTLD_NEXT, "dup3");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_close_range = dlsym(RTLD_NEXT, "close_range");
	real_access = dlsym(RTLD_NEXT, "access");
	real_pthread_cancel = dlsym(RTLD_NEXT, "pthread_cancel");
	kvm_fd_set_exact();
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
 * Threads now in KVM_RUN, for pthread_cancel().  With KVM the thread is in
 * the kernel: for an asynchronously cancelable thread the cancellation
 * signal ends KVM_RUN (-EINTR) and the thread unwinds on its way back to
 * user space, KVM's state intact (a deferred cancel sends no signal, and
 * ioctl() is no cancellation point).  Here KVM_RUN is user code holding
 * locks: it runs with cancellation disabled; pthread_cancel() of an
 * asynchronous thread ends the run, and the cancel acts once it returns
 * (the KVM selftests cancel their vCPU threads so, e.g. xapic_ipi_test).
 */
#define SHIM_MAX_RUNNERS 256
static struct { pthread_t th; int fd; bool used, async; } runners[SHIM_MAX_RUNNERS];
static pthread_mutex_t runners_lock = PTHREAD_MUTEX_INITIALIZER;

static int runner_add(int fd, bool async)
{
	int slot = -1;

	pthread_mutex_lock(&runners_lock);
	for (int i = 0; i < SHIM_MAX_RUNNERS && slot < 0; i++) {
		if (!runners[i].used) {
			runners[i].th = pthread_self();
			runners[i].fd = fd;
			runners[i].async = async;
			runners[i].used = true;
			slot = i;
		}
	}
	pthread_mutex_unlock(&runners_lock);
	return slot;
}

static void runner_del(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&runners_lock);
	runners[slot].used = false;
	pthread_mutex_unlock(&runners_lock);
}

EXPORT int pthread_cancel(pthread_t th)
{
	int r = real_pthread_cancel(th);

	pthread_mutex_lock(&runners_lock);
	for (int i = 0; i < SHIM_MAX_RUNNERS; i++)
		if (runners[i].used && runners[i].async && pthread_equal(runners[i].th, th))
			kvm_fd_vcpu_interrupt(runners[i].fd);
	pthread_mutex_unlock(&runners_lock);
	return r;
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;
	int old, type, slot;
	long r;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	/* kvm_fd_ioctl() passes descriptors that are not ours to the system. */
	if ((unsigned int)req != KVM_RUN || !kvm_fd_is_ours(fd))
		return (int)kvm_fd_ioctl(fd, req, arg);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
	slot = runner_add(fd, type == PTHREAD_CANCEL_ASYNCHRONOUS);
	r = kvm_fd_ioctl(fd, req, arg);
	runner_del(slot);
	{
		int e = errno;

		/*
		 * The return to user space: a pending asynchronous cancel acts
		 * now.  Deferred while enabling, then pthread_testcancel(): glibc
		 * 2.36 acting on it inside pthread_setcancelstate() leaves the
		 * thread's result NULL instead of PTHREAD_CANCELED.
		 */
		pthread_setcancelstate(old, NULL);
		if (old == PTHREAD_CANCEL_ENABLE && type == PTHREAD_CANCEL_ASYNCHRONOUS)
			pthread_testcancel();
		pthread_setcanceltype(type, NULL);
		errno = e;
	}
	return (int)r;
}

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
