/* SPDX-License-Identifier: MIT */
/*
 * The API conformance harness.  A case is written once against a backend:
 * "kvm" is open("/dev/kvm") + ioctl() (the host's real KVM, or userkvm when
 * the shim is preloaded), "soft" is userkvm_open() + userkvm_ioctl().  Each
 * run records a transcript (every ioctl's return value and errno, and the
 * state the case chooses to dump); the harness runs each case on both
 * backends and compares the transcripts line by line.
 *
 * Checks inside a case hold on both backends (CHECK) or only on userkvm
 * (CHECK_SOFT, for the places where this host's KVM - the PVM backend, not
 * VMX - is known to differ; say why next to it and mark the transcript
 * line with t_differs()).
 */
#ifndef USERKVM_KVMTEST_H
#define USERKVM_KVMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <userkvm/kvm_compat.h>

#include "../test.h"

struct backend {
	const char *name;
	int (*open)(int flags);
	long (*ioctl)(int fd, unsigned long req, unsigned long arg);
	int soft;		/* 1: userkvm's library API */
};

struct tctx {
	const struct backend *be;
	char *buf;		/* the transcript */
	size_t len, cap;
	int differs_next;	/* the next line is a known difference */
	int differs_all;	/* every line is (a case that cannot run on one side) */
	int err;		/* errno of the last t_ioctl() */
};

void t_printf(struct tctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The next transcript line is a known, documented difference: not compared. */
void t_differs(struct tctx *t, const char *why);
/* Record "WHAT = ret" or "WHAT = -1 ERRNO" and return ret; t->err = errno. */
long t_ioctl(struct tctx *t, const char *what, int fd, unsigned long req, unsigned long arg);
/* Record a buffer as hex (for state structures). */
void t_hex(struct tctx *t, const char *what, const void *p, size_t n);
const char *t_errname(int e);

#define IOC(t, fd, req, arg) t_ioctl(t, #req, fd, req, (unsigned long)(arg))
/* Expect a failure with errno @e (on both backends). */
#define CHECK_ERR(t, r, e) \
	CHECK((r) == -1 && (t)->err == (e), "got %ld errno %s, want -1 %s", \
	      (long)(r), t_errname((t)->err), t_errname(e))
#define CHECK_OK(t, r) \
	CHECK((r) >= 0, "got %ld errno %s", (long)(r), t_errname((t)->err))
#define CHECK_SOFT(t, cond, ...) do { if ((t)->be->soft) CHECK(cond, __VA_ARGS__); } while (0)

/* Open the system fd of the backend, create a VM: helpers for cases. */
int t_open_sys(struct tctx *t);
int t_create_vm(struct tctx *t, int sys);
/* A counter of @vcpu from KVM_GET_STATS_FD ("exits" as KVM names it; userkvm adds "exit_CPUID" ...), -1 if absent. */
long long t_vcpu_stat(struct tctx *t, int vcpu, const char *name);

typedef void (*kvm_case_fn)(struct tctx *t);
void kvm_register_case(const char *name, kvm_case_fn fn);

#define KVM_CASE(name)							\
	static void name(struct tctx *t);				\
	__attribute__((constructor)) static void register_##name(void)	\
	{ kvm_register_case(#name, name); }				\
	static void name(struct tctx *t)

#endif
