/* SPDX-License-Identifier: MIT */
/*
 * userkvm: the Linux KVM x86 API, in user space.
 *
 * userkvm_open() returns a file descriptor that behaves like one from
 * open("/dev/kvm"); userkvm_ioctl() takes the requests and structures of
 * <linux/kvm.h>.  Errors are -1 with errno set as KVM sets it.  The
 * descriptors are real (memfds), so close(), dup(), poll() and mmap() of a
 * vCPU's struct kvm_run work with plain libc.
 */
#ifndef USERKVM_H
#define USERKVM_H

#ifdef __cplusplus
extern "C" {
#endif

#define USERKVM_API __attribute__((visibility("default")))

/**
 * userkvm_open() - open userkvm's system device, as open("/dev/kvm", flags)
 * @flags: O_RDWR and optionally O_CLOEXEC; other access modes are accepted as
 *         /dev/kvm accepts them.
 *
 * Return: a new file descriptor, or -1 with errno set.
 */
USERKVM_API int userkvm_open(int flags);

/**
 * userkvm_ioctl() - issue a KVM ioctl on a userkvm descriptor
 * @fd:  a descriptor from userkvm_open() or from an ioctl that created a VM
 *       or vCPU (or a dup() of one).  Any other descriptor is passed to the
 *       system's ioctl() unchanged.
 * @req: a request number from <linux/kvm.h>; only its low 32 bits count, as in
 *       the kernel (callers such as QEMU pass sign-extended values).
 *
 * Return: what KVM returns, or -1 with errno set as KVM sets it.
 */
USERKVM_API long userkvm_ioctl(int fd, unsigned long req, ...);

/**
 * userkvm_is_fd() - does @fd refer to a userkvm object?
 *
 * Return: 1 for a system, VM or vCPU descriptor of userkvm, else 0.
 */
USERKVM_API int userkvm_is_fd(int fd);

/**
 * userkvm_seccomp_prepare() - get ready for a seccomp filter
 *
 * A thread that runs a vCPU enters KVM_RUN with no locked instruction
 * under a bias of the vCPU's lock, which other threads revoke with
 * membarrier(2).  Call this before installing a seccomp filter that may
 * not allow membarrier: the biases go and none is granted again (KVM_RUN
 * then takes the lock's atomic instructions), and userkvm makes no
 * membarrier call after it.  Through the LD_PRELOAD shim, prctl() and
 * syscall() installing a filter do this themselves.
 *
 * Return: 0.
 */
USERKVM_API int userkvm_seccomp_prepare(void);

#ifdef __cplusplus
}
#endif
#endif /* USERKVM_H */
