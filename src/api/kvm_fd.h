/* SPDX-License-Identifier: MIT */
/*
 * The fd layer: real file descriptors (memfds) stand for /dev/kvm, each VM
 * and each vCPU, and a table maps descriptor numbers to the objects behind
 * them, the way the kernel's file table maps them to anon inodes.
 */
#ifndef USERKVM_API_KVM_FD_H
#define USERKVM_API_KVM_FD_H

#include <stddef.h>
#include <sys/types.h>

enum kvm_file_kind {
	KVM_FILE_DEV,
	KVM_FILE_VM,
	KVM_FILE_VCPU,
};

struct kvm_file;

/**
 * anon_inode_getfd() - make a descriptor for a KVM object
 * @name:  shown in /proc/self/fd, like KVM's "kvm-vm" or "kvm-vcpu:N"
 * @kind:  what @priv is (struct kvm * or struct kvm_vcpu *; NULL for DEV)
 * @size:  length of the backing memfd; 0 for none
 * @map:   if not NULL, receives a MAP_SHARED mapping of the first @size bytes
 * @cloexec: O_CLOEXEC on the new descriptor
 *
 * Return: the descriptor, or -errno.  The object's release hook runs when the
 * last descriptor for it is closed (see kvm_fd_close()).
 */
int anon_inode_getfd(const char *name, enum kvm_file_kind kind, void *priv,
		     size_t size, void **map, int cloexec);

/**
 * anon_inode_getfile() - anon_inode_getfd() in two steps, as KVM's
 * get_unused_fd_flags() + anon_inode_getfile() + fd_install()
 * @filep: receives the new file
 *
 * Makes the memfd (and @map) but does not make the descriptor userkvm's
 * yet: an ioctl on it is the system's until kvm_file_install(@filep), which
 * cannot fail.  Until then kvm_file_discard() undoes everything.
 *
 * Return: the descriptor number, or -errno.
 */
int anon_inode_getfile(const char *name, enum kvm_file_kind kind, void *priv,
		       size_t size, void **map, int cloexec, struct kvm_file **filep);
void kvm_file_install(struct kvm_file *file);
/* The vCPU's vcpu->mutex, in its file's type-stable memory (see kvm_fd.c). */
struct kvm_mutex *kvm_file_mutex(struct kvm_file *file);
void kvm_file_discard(struct kvm_file *file);

/*
 * Called by the shim, which sees every close()/dup() of the process, so that
 * the table stays exact without a system call per lookup.
 */
void kvm_fd_set_exact(void);
/*
 * Before a seccomp filter goes in: take every vCPU mutex's bias back and
 * grant none again, so that nothing calls membarrier(2) from then on
 * (kvm/mutex.h; userkvm_seccomp_prepare(), the shim's prctl()/syscall()).
 */
void kvm_fd_bias_seal(void);
int kvm_fd_is_ours(int fd);
/* @fd is about to be closed.  Return: 1 if it was ours. */
int kvm_fd_close(int fd);
/* @newfd now refers to what @oldfd does (after a successful dup/dup2/dup3/F_DUPFD). */
void kvm_fd_dup(int oldfd, int newfd);

long kvm_fd_ioctl(int fd, unsigned long req, unsigned long arg);
/*
 * kvm_fd_ioctl() for @req == KVM_RUN (the shim's hot path): one look-up of
 * @fd; a descriptor that is not ours goes to the system with @req.
 */
long kvm_fd_ioctl_run(int fd, unsigned long req, unsigned long arg);
/*
 * A signal for the thread in KVM_RUN on vCPU descriptor @fd: the run
 * returns -EINTR, as KVM_RUN does on a signal.  Return: 1 if @fd is a vCPU,
 * 0 if it is another userkvm descriptor (/dev/kvm, a VM), -1 if not ours.
 */
int kvm_fd_vcpu_interrupt(int fd);

/* Debug/trace (src/kvm/trace.h): the fd layer's lines are the "ioctl" event. */
#include "kvm/trace.h"
void kvm_trace_init(const char *spec);
#define userkvm_trace kvm_trace_on(TRACE_IOCTL)
#define kvm_trace(...) kvm_trace_event(TRACE_IOCTL, __VA_ARGS__)

#endif
