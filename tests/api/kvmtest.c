// SPDX-License-Identifier: MIT
/* The conformance harness: backends, transcripts, the case list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <userkvm.h>

#include "kvmtest.h"

static int soft_open(int flags) { return userkvm_open(flags); }
static long soft_ioctl(int fd, unsigned long req, unsigned long arg) { return userkvm_ioctl(fd, req, arg); }
static int kvm_open(int flags) { return open("/dev/kvm", flags); }
static long kvm_ioctl(int fd, unsigned long req, unsigned long arg) { return ioctl(fd, req, arg); }

const struct backend be_soft = { "soft", soft_open, soft_ioctl, 1 };
const struct backend be_kvm = { "kvm", kvm_open, kvm_ioctl, 0 };

const char *t_errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ 0, "0" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" }, { ENOTTY, "ENOTTY" },
		{ ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { ERANGE, "ERANGE" },
		{ EMFILE, "EMFILE" }, { ENOEXEC, "ENOEXEC" },
	};
	static __thread char buf[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

void t_printf(struct tctx *t, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (t->len + n + 4 > t->cap) {
		t->cap = (t->len + n + 4) * 2;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			abort();
	}
	if (t->differs_next || t->differs_all) {
		t->buf[t->len++] = '~';
		t->differs_next = 0;
	}
	memcpy(t->buf + t->len, line, n);
	t->len += n;
	t->buf[t->len++] = '\n';
	t->buf[t->len] = 0;
}

void t_differs(struct tctx *t, const char *why)
{
	t->differs_next = 0;
	t_printf(t, "~known difference: %s", why);
	t->differs_next = 1;
}

long t_ioctl(struct tctx *t, const char *what, int fd, unsigned long req, unsigned long arg)
{
	long r;

	errno = 0;
	r = t->be->ioctl(fd, req, arg);
	t->err = r < 0 ? errno : 0;
	if (r < 0)
		t_printf(t, "%s = -1 %s", what, t_errname(t->err));
	else
		t_printf(t, "%s = %ld", what, r);
	return r;
}

void t_hex(struct tctx *t, const char *what, const void *p, size_t n)
{
	const unsigned char *b = p;
	char line[160];

	for (size_t off = 0; off < n; off += 32) {
		size_t k = 0;

		for (size_t i = off; i < n && i < off + 32; i++)
			k += snprintf(line + k, sizeof(line) - k, "%02x", b[i]);
		t_printf(t, "%s+%zu: %s", what, off, line);
	}
}

int t_open_sys(struct tctx *t)
{
	int fd = t->be->open(O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0, "open %s: %s", t->be->name, strerror(errno));
	return fd;
}

int t_create_vm(struct tctx *t, int sys)
{
	int vm = (int)IOC(t, sys, KVM_CREATE_VM, 0);

	CHECK_OK(t, vm);
	return vm;
}

/* A vCPU counter from KVM_GET_STATS_FD (userkvm's names), -1 if absent. */
long long t_vcpu_stat(struct tctx *t, int vcpu, const char *name)
{
	int fd = (int)t->be->ioctl(vcpu, KVM_GET_STATS_FD, 0);
	struct kvm_stats_header h;
	long long v = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &h, sizeof(h), 0) == sizeof(h)) {
		size_t dsize = sizeof(struct kvm_stats_desc) + h.name_size;

		for (uint32_t i = 0; i < h.num_desc; i++) {
			char buf[sizeof(struct kvm_stats_desc) + 256];
			struct kvm_stats_desc *d = (void *)buf;
			uint64_t val;

			if (dsize > sizeof(buf) ||
			    pread(fd, buf, dsize, h.desc_offset + i * dsize) != (ssize_t)dsize)
				break;
			if (strcmp(d->name, name))
				continue;
			if (pread(fd, &val, sizeof(val), h.data_offset + d->offset) == sizeof(val))
				v = (long long)val;
			break;
		}
	}
	close(fd);
	return v;
}

struct kvm_case {
	const char *name;
	kvm_case_fn fn;
};

static struct kvm_case cases[1024];
static int nr_cases;

void kvm_register_case(const char *name, kvm_case_fn fn)
{
	if (nr_cases < (int)(sizeof(cases) / sizeof(cases[0])))
		cases[nr_cases++] = (struct kvm_case){ name, fn };
}

static int case_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kvm_case *)a)->name, ((const struct kvm_case *)b)->name);
}

static void run_on(const struct backend *be, const struct kvm_case *c, struct tctx *t)
{
	static char where[32];

	memset(t, 0, sizeof(*t));
	t->be = be;
	snprintf(where, sizeof(where), "[%s] ", be->name);
	test_where = where;
	c->fn(t);
	test_where = "";
}

/* Compare two transcripts, skipping '~' lines; print the first difference. */
static int compare(const char *name, const char *a, const char *b)
{
	int line = 0;

	for (;;) {
		while (*a == '~')
			a = strchr(a, '\n') + 1;
		while (*b == '~')
			b = strchr(b, '\n') + 1;
		if (!*a && !*b)
			return 1;
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);

		line++;
		if (!*a || !*b || la != lb || memcmp(a, b, la)) {
			if (!test_failed_now++)
				printf("FAIL %s: ", name);
			else
				printf("     also: ");
			printf("transcripts differ at line %d:\n      kvm:  %.*s\n      soft: %.*s\n",
			       line, (int)la, *a ? a : "(end)", (int)lb, *b ? b : "(end)");
			return 0;
		}
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
}

int main(int argc, char **argv)
{
	const char *only = NULL, *dump = NULL;
	int have_kvm;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--case=", 7))
			only = argv[i] + 7;
		else if (!strncmp(argv[i], "--dump=", 7))
			dump = argv[i] + 7;
		else {
			fprintf(stderr, "usage: %s [--case=NAME] [--dump=kvm|soft]\n", argv[0]);
			return 2;
		}
	}
	qsort(cases, nr_cases, sizeof(cases[0]), case_cmp);

	if (dump) {
		const struct backend *be = !strcmp(dump, "soft") ? &be_soft : &be_kvm;

		for (int i = 0; i < nr_cases; i++) {
			struct tctx t;

			if (only && strcmp(only, cases[i].name))
				continue;
			test_begin(cases[i].name);
			run_on(be, &cases[i], &t);
			printf("== %s\n%s", cases[i].name, t.buf ? t.buf : "");
			free(t.buf);
		}
		return 0;
	}

	{
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

		have_kvm = fd >= 0;
		if (fd >= 0)
			close(fd);
		else
			printf("skip real-kvm-side: /dev/kvm: %s; cases run on userkvm only\n",
			       strerror(errno));
	}
	for (int i = 0; i < nr_cases; i++) {
		struct tctx soft, kvm;

		if (only && strcmp(only, cases[i].name))
			continue;
		test_begin(cases[i].name);
		run_on(&be_soft, &cases[i], &soft);
		if (have_kvm) {
			run_on(&be_kvm, &cases[i], &kvm);
			if (!test_failed_now)
				compare(cases[i].name, kvm.buf ? kvm.buf : "", soft.buf ? soft.buf : "");
			free(kvm.buf);
		}
		free(soft.buf);
		test_end();
	}
	return test_cases_failed ? 1 : 0;
}
