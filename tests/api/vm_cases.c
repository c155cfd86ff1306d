// SPDX-License-Identifier: MIT
/*
 * API conformance: VM-level ioctls, vCPU creation, the vCPU mmap and
 * descriptor lifetimes.  Every case runs on the host's /dev/kvm and on
 * userkvm; the transcripts are compared.  The rules are those of
 * virt/kvm/kvm_main.c (kvm_vm_ioctl_create_vcpu, kvm_vcpu_mmap and
 * kvm_vcpu_fault, kvm_vm_ioctl_enable_cap_generic) and arch/x86/kvm/x86.c
 * (kvm_arch_vm_ioctl, kvm_arch_vcpu_precreate, kvm_vm_ioctl_enable_cap).
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kvmtest.h"

#define PG 4096ul

static long create_vcpu(struct tctx *t, int vm, unsigned long id)
{
	char what[64];

	snprintf(what, sizeof(what), "CREATE_VCPU(%#lx)", id);
	return t_ioctl(t, what, vm, KVM_CREATE_VCPU, id);
}

static long enable_cap(struct tctx *t, int fd, uint32_t cap, uint32_t flags, uint64_t arg0)
{
	struct kvm_enable_cap c;
	char what[96];

	memset(&c, 0, sizeof(c));
	c.cap = cap;
	c.flags = flags;
	c.args[0] = arg0;
	snprintf(what, sizeof(what), "ENABLE_CAP(cap=%u flags=%#x arg0=%#llx)", cap, flags,
		 (unsigned long long)arg0);
	return t_ioctl(t, what, fd, KVM_ENABLE_CAP, (unsigned long)&c);
}

/* Read one byte at @p; return 0, or the signal (SIGBUS/SIGSEGV) it raised. */
static sigjmp_buf touch_jmp;

static void touch_handler(int sig)
{
	siglongjmp(touch_jmp, sig);
}

static int touch(const volatile char *p)
{
	struct sigaction sa, obus, osegv;
	volatile int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = touch_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	sig = sigsetjmp(touch_jmp, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
}

static const char *signame(int sig)
{
	return sig == 0 ? "ok" : sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "signal";
}

#define OPEN_VM()							\
	int sys = t_open_sys(t), vm = t_create_vm(t, sys);		\
	long r __attribute__((unused))

#define CLOSE_VM() do { close(vm); close(sys); } while (0)

/* ------------------------------------------------------------------ */
/* KVM_CREATE_VCPU                                                     */
/* ------------------------------------------------------------------ */

KVM_CASE(vcpu_create_ids)
{
	int fds[4];

	OPEN_VM();
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	CHECK_EQ(r, 4096);
	r = create_vcpu(t, vm, 4096);		/* >= KVM_MAX_VCPU_IDS */
	CHECK_ERR(t, r, EINVAL);
	r = create_vcpu(t, vm, ~0ul);
	CHECK_ERR(t, r, EINVAL);
	r = create_vcpu(t, vm, 1ul << 32);	/* not truncated to 0 */
	CHECK_ERR(t, r, EINVAL);
	r = create_vcpu(t, vm, 0x80000000ul);
	CHECK_ERR(t, r, EINVAL);
	fds[0] = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, fds[0]);
	fds[1] = (int)create_vcpu(t, vm, 4095);
	CHECK_OK(t, fds[1]);
	fds[2] = (int)create_vcpu(t, vm, 7);	/* ids need not be dense */
	CHECK_OK(t, fds[2]);
	r = create_vcpu(t, vm, 7);		/* duplicate */
	CHECK_ERR(t, r, EEXIST);
	r = create_vcpu(t, vm, 0);
	CHECK_ERR(t, r, EEXIST);
	r = create_vcpu(t, vm, 4095);
	CHECK_ERR(t, r, EEXIST);
	/* a failed creation does not use up a vCPU */
	fds[3] = (int)create_vcpu(t, vm, 8);
	CHECK_OK(t, fds[3]);
	/* the vCPU fd is close-on-exec, like anon_inode_getfd(O_CLOEXEC) */
	for (int i = 0; i < 4; i++) {
		int fl = fcntl(fds[i], F_GETFD);

		CHECK(fl >= 0 && (fl & FD_CLOEXEC), "vCPU fd %d flags %#x", i, fl);
		t_printf(t, "vcpu %d cloexec %d", i, fl >= 0 && (fl & FD_CLOEXEC));
		t_printf(t, "vcpu %d O_RDWR %d", i, (fcntl(fds[i], F_GETFL) & O_ACCMODE) == O_RDWR);
		close(fds[i]);
	}
	/* the vCPUs live on in the VM: their ids stay taken */
	r = create_vcpu(t, vm, 7);
	CHECK_ERR(t, r, EEXIST);
	CLOSE_VM();
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID): ids below args[0] only; can be set
 * once (again to the same value), not after a vCPU exists, and not above
 * KVM_MAX_VCPU_IDS.
 */
KVM_CASE(vcpu_create_max_vcpu_id_cap)
{
	int fd;

	OPEN_VM();
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 4097);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 1, 16);	/* flags */
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 16);
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 16);	/* the same again */
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 32);	/* once only */
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 8);
	CHECK_ERR(t, r, EINVAL);
	/* the capability's report does not change */
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	CHECK_EQ(r, 4096);
	r = create_vcpu(t, vm, 16);
	CHECK_ERR(t, r, EINVAL);
	r = create_vcpu(t, vm, 100);
	CHECK_ERR(t, r, EINVAL);
	fd = (int)create_vcpu(t, vm, 15);
	CHECK_OK(t, fd);
	close(fd);
	CLOSE_VM();

	/* After the first vCPU the limit is fixed at KVM_MAX_VCPU_IDS. */
	sys = t_open_sys(t);
	vm = t_create_vm(t, sys);
	fd = (int)create_vcpu(t, vm, 3);
	CHECK_OK(t, fd);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 16);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 4096);	/* what it is */
	CHECK_EQ(r, 0);
	close(fd);
	CLOSE_VM();

	/*
	 * An id >= KVM_MAX_VCPU_IDS fails in kvm_vm_ioctl_create_vcpu() before
	 * kvm_arch_vcpu_precreate() fixes the limit: it can still be set.
	 */
	sys = t_open_sys(t);
	vm = t_create_vm(t, sys);
	r = create_vcpu(t, vm, 5000);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 16);
	CHECK_EQ(r, 0);
	CLOSE_VM();
}

/* KVM_CAP_MAX_VCPU_ID may not exclude the BSP set by KVM_SET_BOOT_CPU_ID. */
KVM_CASE(vcpu_create_max_vcpu_id_vs_boot_cpu)
{
	int fd;

	OPEN_VM();
	r = IOC(t, vm, KVM_SET_BOOT_CPU_ID, 5);
	CHECK_EQ(r, 0);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 4);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 5);	/* bsp 5 > 5 is false */
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_SET_BOOT_CPU_ID, 6);		/* above max_vcpu_ids */
	CHECK_ERR(t, r, EINVAL);
	fd = (int)create_vcpu(t, vm, 4);
	CHECK_OK(t, fd);
	r = IOC(t, vm, KVM_SET_BOOT_CPU_ID, 1);		/* after a vCPU */
	CHECK_ERR(t, r, EBUSY);
	close(fd);
	CLOSE_VM();
}

/*
 * KVM_CAP_MAX_VCPUS vCPUs, then one more: EINVAL, checked before the id
 * (even a duplicate id gets EINVAL).  What the selftest
 * kvm_create_max_vcpus does.
 */
KVM_CASE(vcpu_create_max_vcpus)
{
	struct rlimit rl;
	int *fds, n, max;

	OPEN_VM();
	max = (int)IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	CHECK(max >= 1 && max <= 4096, "KVM_CAP_MAX_VCPUS %d", max);
	if (max < 1 || max > 4096) {
		CLOSE_VM();
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)max + 64 ? rl.rlim_max : (rlim_t)max + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc(max, sizeof(*fds));
	for (n = 0; n < max; n++) {
		/* ids spread over the id space */
		fds[n] = (int)t->be->ioctl(vm, KVM_CREATE_VCPU, (unsigned long)(n * 4 + 1));
		if (fds[n] < 0) {
			CHECK(0, "vCPU %d (id %d): %s", n, n * 4 + 1, t_errname(errno));
			break;
		}
	}
	t_printf(t, "created %d vcpus", n);
	r = create_vcpu(t, vm, 0);
	CHECK_ERR(t, r, EINVAL);
	r = create_vcpu(t, vm, 1);	/* a duplicate id, but the count is checked first */
	CHECK_ERR(t, r, EINVAL);
	/* closing vCPU fds does not free a place */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	r = create_vcpu(t, vm, 2);
	CHECK_ERR(t, r, EINVAL);
	free(fds);
	CLOSE_VM();
}

/*
 * Out of descriptors: KVM_CREATE_VCPU and KVM_CREATE_VM fail with EMFILE
 * and leave nothing behind: the id and the vCPU count are free again.
 */
KVM_CASE(vcpu_create_emfile)
{
	struct rlimit old, rl;
	int next, fd, fd2;

	OPEN_VM();
	next = dup(0);		/* the lowest free number */
	close(next);
	if (next < 0 || getrlimit(RLIMIT_NOFILE, &old)) {
		CHECK(0, "no descriptor to start with");
		CLOSE_VM();
		return;
	}
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0, 2);	/* ids 0 and 1 only */
	CHECK_EQ(r, 0);
	rl = old;
	rl.rlim_cur = next + 1;		/* room for one more descriptor */
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	fd = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, fd);
	r = create_vcpu(t, vm, 1);
	CHECK_ERR(t, r, EMFILE);
	r = IOC(t, sys, KVM_CREATE_VM, 0);
	CHECK_ERR(t, r, EMFILE);
	r = create_vcpu(t, vm, 0);		/* the id check still comes first */
	CHECK_ERR(t, r, EEXIST);
	setrlimit(RLIMIT_NOFILE, &old);
	fd2 = (int)create_vcpu(t, vm, 1);	/* id 1 was not taken */
	CHECK_OK(t, fd2);
	r = t->be->ioctl(fd2, KVM_GET_TSC_KHZ, 0);	/* the host's or the processor's */
	CHECK(r > 0, "vCPU 1: %ld", r);
	close(fd);
	close(fd2);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* mmap of the vCPU fd                                                 */
/* ------------------------------------------------------------------ */

KVM_CASE(vcpu_mmap)
{
	char *m1, *m2, *pio, *ring;
	long size;
	int vcpu;

	OPEN_VM();
	size = IOC(t, sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK_EQ(size, 3 * PG);
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	m1 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	m2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(m1 != MAP_FAILED && m2 != MAP_FAILED, "mmap: %s", strerror(errno));
	if (m1 == MAP_FAILED || m2 == MAP_FAILED)
		goto out;

	/* struct kvm_run: what a new vCPU's page holds */
	{
		struct kvm_run *run = (struct kvm_run *)m1;
		int nonzero = 0;

		for (size_t i = 0; i < PG; i++)
			nonzero += m1[i] != 0;
		t_printf(t, "kvm_run: exit_reason %u immediate_exit %u nonzero bytes %d",
			 run->exit_reason, run->immediate_exit, nonzero);
		for (size_t i = PG; i < 3 * PG; i++)
			nonzero += m1[i] != 0;
		t_printf(t, "pages 0-2 nonzero bytes %d", nonzero);
	}
	/* two mappings show the same memory, on every page */
	for (int p = 0; p < 3; p++) {
		m1[p * PG + 100] = (char)(0x40 + p);
		CHECK_EQ(m2[p * PG + 100], 0x40 + p);
	}
	((struct kvm_run *)m2)->immediate_exit = 1;
	CHECK_EQ(((struct kvm_run *)m1)->immediate_exit, 1);
	((struct kvm_run *)m2)->immediate_exit = 0;

	/* the PIO data page alone, at KVM_PIO_PAGE_OFFSET */
	pio = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, KVM_PIO_PAGE_OFFSET * PG);
	CHECK(pio != MAP_FAILED, "mmap of the PIO page: %s", strerror(errno));
	if (pio != MAP_FAILED) {
		CHECK_EQ(pio[100], 0x41);
		pio[200] = 0x55;
		CHECK_EQ(m1[KVM_PIO_PAGE_OFFSET * PG + 200], 0x55);
		munmap(pio, PG);
	}
	/* and the coalesced MMIO ring, at KVM_COALESCED_MMIO_PAGE_OFFSET */
	ring = mmap(NULL, PG, PROT_READ, MAP_SHARED, vcpu, KVM_COALESCED_MMIO_PAGE_OFFSET * PG);
	CHECK(ring != MAP_FAILED, "mmap of the ring page: %s", strerror(errno));
	if (ring != MAP_FAILED) {
		CHECK_EQ(ring[100], 0x42);
		munmap(ring, PG);
	}
	/* a private mapping: copy-on-write, the vCPU's page is untouched */
	{
		char *priv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, vcpu, 0);

		CHECK(priv != MAP_FAILED, "MAP_PRIVATE: %s", strerror(errno));
		if (priv != MAP_FAILED) {
			CHECK_EQ(priv[100], 0x40);
			priv[100] = 0x77;
			CHECK_EQ(m1[100], 0x40);
			munmap(priv, PG);
		}
	}
	/* a read-only mapping can be read */
	{
		char *ro = mmap(NULL, size, PROT_READ, MAP_SHARED, vcpu, 0);

		CHECK(ro != MAP_FAILED, "PROT_READ: %s", strerror(errno));
		if (ro != MAP_FAILED) {
			CHECK_EQ(ro[2 * PG + 100], 0x42);
			munmap(ro, size);
		}
	}
	for (int p = 0; p < 3; p++)
		m1[p * PG + 100] = 0;
	m1[KVM_PIO_PAGE_OFFSET * PG + 200] = 0;
out:
	if (m1 != MAP_FAILED)
		munmap(m1, size);
	if (m2 != MAP_FAILED)
		munmap(m2, size);
	close(vcpu);
	CLOSE_VM();
}

/*
 * Past KVM_GET_VCPU_MMAP_SIZE: kvm_vcpu_mmap() accepts any length and
 * offset, and kvm_vcpu_fault() answers pages it does not know (past the
 * coalesced MMIO ring; the dirty ring is not enabled) with SIGBUS.
 * userkvm's vCPU fd is a memfd of exactly three pages, and a shared
 * mapping past a file's end faults with SIGBUS too: the same behaviour.
 */
KVM_CASE(vcpu_mmap_beyond_size)
{
	char *m, *far;
	int vcpu, sig;

	OPEN_VM();
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	t_printf(t, "mmap 8 pages: %s", m == MAP_FAILED ? strerror(errno) : "ok");
	CHECK(m != MAP_FAILED, "mmap of 8 pages: %s", strerror(errno));
	if (m != MAP_FAILED) {
		for (int p = 0; p < 8; p++) {
			sig = touch(m + p * PG);
			t_printf(t, "page %d: %s", p, signame(sig));
			CHECK_EQ(sig, p < 3 ? 0 : SIGBUS);
		}
		munmap(m, 8 * PG);
	}
	far = mmap(NULL, PG, PROT_READ, MAP_SHARED, vcpu, 100 * PG);
	t_printf(t, "mmap at page 100: %s", far == MAP_FAILED ? strerror(errno) : "ok");
	CHECK(far != MAP_FAILED, "mmap at page 100: %s", strerror(errno));
	if (far != MAP_FAILED) {
		sig = touch(far);
		t_printf(t, "page 100: %s", signame(sig));
		CHECK_EQ(sig, SIGBUS);
		munmap(far, PG);
	}
	/* an offset that is not page aligned */
	far = mmap(NULL, PG, PROT_READ, MAP_SHARED, vcpu, 100);
	t_printf(t, "mmap at offset 100: %s", far == MAP_FAILED ? strerror(errno) : "ok");
	CHECK(far == MAP_FAILED && errno == EINVAL, "unaligned offset mapped");
	close(vcpu);
	CLOSE_VM();
}

/*
 * The VM and system fds have no mmap in KVM (ENODEV).  userkvm's are
 * memfds of size 0, which mmap accepts (any access gets SIGBUS).  A known
 * difference: the library cannot refuse an mmap() it does not see.
 */
KVM_CASE(vm_mmap)
{
	void *m;

	OPEN_VM();
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, vm, 0);
	t_differs(t, "mmap of a VM fd: ENODEV on KVM, a memfd mapping on userkvm");
	t_printf(t, "mmap of the VM fd: %s", m == MAP_FAILED ? strerror(errno) : "ok");
	if (m != MAP_FAILED) {
		CHECK_EQ(touch(m), SIGBUS);
		munmap(m, PG);
	} else {
		CHECK_EQ(errno, ENODEV);
	}
	CLOSE_VM();
}

/*
 * File operations other than ioctl and mmap.  KVM's files have none of
 * them (ftruncate: EINVAL; pread/pwrite: ESPIPE, they cannot seek);
 * userkvm's memfds have read/write, but their size is
 * sealed, so truncating a vCPU fd cannot pull kvm_run away from under
 * userkvm (EPERM) and nothing can grow.  poll() gives the default mask on
 * both.
 */
KVM_CASE(fd_file_ops)
{
	struct pollfd pfd;
	char c = 0;
	int vcpu;

	OPEN_VM();
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	pfd = (struct pollfd){ .fd = vcpu, .events = POLLIN | POLLOUT };
	r = poll(&pfd, 1, 0);
	t_printf(t, "poll vcpu: %ld revents %#x", r, pfd.revents);
	CHECK_EQ(pfd.revents, POLLIN | POLLOUT);
	pfd.fd = vm;
	r = poll(&pfd, 1, 0);
	t_printf(t, "poll vm: %ld revents %#x", r, pfd.revents);

	r = ftruncate(vcpu, 0);
	t_differs(t, "ftruncate of a vCPU fd: EINVAL on KVM, EPERM (sealed) on userkvm");
	t_printf(t, "ftruncate vcpu: %s", r ? strerror(errno) : "ok");
	CHECK(r == -1, "vCPU fd truncated");
	r = ftruncate(vm, 4096);
	t_differs(t, "ftruncate of a VM fd: likewise");
	t_printf(t, "ftruncate vm: %s", r ? strerror(errno) : "ok");
	CHECK(r == -1, "VM fd grown");
	r = pwrite(vm, &c, 1, 0);
	t_differs(t, "pwrite to a VM fd: ESPIPE on KVM, EPERM (sealed) on userkvm");
	t_printf(t, "write vm: %s", r < 0 ? strerror(errno) : "ok");
	CHECK(r == -1, "VM fd written");
	r = pread(vm, &c, 1, 0);
	t_differs(t, "pread of a VM fd: ESPIPE on KVM, end of file on userkvm");
	t_printf(t, "read vm: %ld", r);
	CHECK(r <= 0, "VM fd read %ld bytes", r);
	/* the vCPU still works, and so does its kvm_run */
	r = t->be->ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	CHECK(r > 0, "vCPU after ftruncate: %ld", r);
	{
		struct kvm_run *run = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);

		CHECK(run != MAP_FAILED, "mmap: %s", strerror(errno));
		if (run != MAP_FAILED) {
			CHECK_EQ(touch((char *)run + 2 * PG), 0);
			munmap(run, 3 * PG);
		}
	}
	close(vcpu);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* VM ioctls of arch/x86/kvm/x86.c                                     */
/* ------------------------------------------------------------------ */

/* KVM_SET_TSS_ADDR: up to 0xffffd000 (three pages below 4 GiB). */
KVM_CASE(vm_set_tss_addr)
{
	int vcpu;

	OPEN_VM();
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0xfffbd000);	/* QEMU's value */
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0xffffd000);
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0xffffd001);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0xfffff000);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 1ul << 32);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, ~0ul);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0);
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0x1234);	/* no alignment rule */
	CHECK_EQ(r, 0);
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	r = IOC(t, vm, KVM_SET_TSS_ADDR, 0xfeffd000);	/* after a vCPU: fine */
	CHECK_EQ(r, 0);
	close(vcpu);
	CLOSE_VM();
}

KVM_CASE(vm_set_identity_map_addr)
{
	uint64_t addr = 0xfeffc000;
	int vcpu;

	OPEN_VM();
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, NULL);
	CHECK_ERR(t, r, EFAULT);
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, 0xffff800000000000ul);
	CHECK_ERR(t, r, EFAULT);
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, &addr);
	CHECK_EQ(r, 0);
	addr = 0x123;		/* no rule for the value itself */
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, &addr);
	CHECK_EQ(r, 0);
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	/* after a vCPU exists: EINVAL, checked before the pointer */
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, &addr);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_IDENTITY_MAP_ADDR, NULL);
	CHECK_ERR(t, r, EINVAL);
	close(vcpu);
	CLOSE_VM();
}

/*
 * The VM's KVM_SET_TSC_KHZ sets the frequency later vCPUs start with; not
 * after a vCPU exists.  Values are u32 (the ioctl's argument is truncated).
 */
KVM_CASE(vm_tsc_khz)
{
	int vcpu;

	OPEN_VM();
	r = t->be->ioctl(vm, KVM_GET_TSC_KHZ, 0);
	CHECK(r > 0, "VM TSC kHz %ld", r);	/* the host's or the processor's */
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 1000000);
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1000000);
	r = IOC(t, vm, KVM_SET_TSC_KHZ, (1ul << 32) | 1500000);	/* (u32)arg */
	CHECK_EQ(r, 0);
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1500000);
	/* 0: back to the default frequency */
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 0);
	CHECK_EQ(r, 0);
	r = t->be->ioctl(vm, KVM_GET_TSC_KHZ, 0);
	CHECK(r > 0 && r != 1500000, "TSC kHz after 0: %ld", r);
	/*
	 * The ceiling: with TSC scaling (VMX, userkvm) the maximum guest
	 * frequency, at most 0xffffffff kHz exclusive; this host's PVM
	 * backend has no TSC scaling and checks nothing.
	 */
	t_differs(t, "KVM_SET_TSC_KHZ 0xffffffff: EINVAL with TSC scaling; PVM has none");
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 0xffffffffu);
	CHECK_SOFT(t, r == -1 && t->err == EINVAL, "0xffffffff kHz accepted");
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 1800000);
	CHECK_EQ(r, 0);
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	r = IOC(t, vcpu, KVM_GET_TSC_KHZ, 0);	/* the vCPU started with it */
	CHECK_EQ(r, 1800000);
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 1000000);	/* too late */
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1800000);
	close(vcpu);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* Other VM ioctls                                                     */
/* ------------------------------------------------------------------ */

KVM_CASE(vm_unknown_ioctl)
{
	OPEN_VM();
	/* unknown VM requests go to kvm_arch_vm_ioctl(): ENOTTY */
	r = IOC(t, vm, _IO(KVMIO, 0x7f), 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, _IOW(KVMIO, 0xfe, uint64_t), 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, _IO('T', 0x01), 0);		/* a foreign type too */
	CHECK_ERR(t, r, ENOTTY);
	/* system and vCPU requests are not VM requests */
	r = IOC(t, vm, KVM_GET_API_VERSION, 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, KVM_CREATE_VM, 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK_ERR(t, r, ENOTTY);
	r = IOC(t, vm, KVM_RUN, 0);
	CHECK_ERR(t, r, ENOTTY);
	/* the request is 32 bits here too */
	r = IOC(t, vm, 0xffffffff00000000ul | KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	CHECK_EQ(r, 1);
	CLOSE_VM();
}

/*
 * kvm_vcpu_ioctl()'s generic rules: requests of another type than KVMIO
 * are EINVAL, unknown KVMIO requests fall to kvm_arch_vcpu_ioctl()'s
 * EINVAL, and KVM_RUN takes no argument.
 */
KVM_CASE(vcpu_generic_ioctl_rules)
{
	int vcpu;

	OPEN_VM();
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	r = IOC(t, vcpu, _IO('T', 0x01), 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vcpu, _IO(KVMIO, 0x7f), 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vcpu, KVM_CREATE_VCPU, 1);		/* a VM request */
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vcpu, KVM_SET_USER_MEMORY_REGION, 0);
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vcpu, KVM_GET_API_VERSION, 0);	/* a system request */
	CHECK_ERR(t, r, EINVAL);
	r = IOC(t, vcpu, KVM_RUN, 1);
	CHECK_ERR(t, r, EINVAL);
	close(vcpu);
	CLOSE_VM();
}

KVM_CASE(vm_enable_cap)
{
	OPEN_VM();
	r = enable_cap(t, vm, 100000, 0, 0);		/* unknown */
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, 0, 0, 0);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_USER_MEMORY, 0, 0);	/* not enableable */
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, 100000, 1, 0);
	CHECK_ERR(t, r, EINVAL);
	r = enable_cap(t, vm, KVM_CAP_MAX_VCPU_ID, 0x80000000u, 8);
	CHECK_ERR(t, r, EINVAL);
	/* on the system fd, KVM_ENABLE_CAP is not a request */
	{
		struct kvm_enable_cap c = { .cap = KVM_CAP_MAX_VCPU_ID, .args = { 8 } };

		r = IOC(t, sys, KVM_ENABLE_CAP, &c);
		CHECK_ERR(t, r, EINVAL);
	}
	CLOSE_VM();
}

/* KVM_CHECK_EXTENSION on the VM fd answers like the system fd. */
KVM_CASE(vm_check_extension)
{
	static const long caps[] = {
		KVM_CAP_USER_MEMORY, KVM_CAP_USER_MEMORY2, KVM_CAP_NR_MEMSLOTS,
		KVM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPU_ID, KVM_CAP_READONLY_MEM,
		KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CAP_CHECK_EXTENSION_VM,
		KVM_CAP_ENABLE_CAP_VM, KVM_CAP_SET_TSS_ADDR, KVM_CAP_SET_IDENTITY_MAP_ADDR,
		KVM_CAP_GET_TSC_KHZ, KVM_CAP_MULTI_ADDRESS_SPACE, 100000, -1,
	};

	OPEN_VM();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		long rs = t->be->ioctl(sys, KVM_CHECK_EXTENSION, caps[i]);
		long rv = t->be->ioctl(vm, KVM_CHECK_EXTENSION, caps[i]);

		t_printf(t, "cap %ld: sys %ld vm %ld", caps[i], rs, rv);
		CHECK_EQ(rs, rv);
	}
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	CHECK_EQ(r, 32764);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* Descriptor lifetimes                                                */
/* ------------------------------------------------------------------ */

/* A VM lives while any of its fds or vCPU fds do. */
KVM_CASE(fd_vcpu_keeps_vm)
{
	struct kvm_run *run;
	long size;
	int vcpu, vcpu2;

	OPEN_VM();
	size = IOC(t, sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	r = IOC(t, vm, KVM_SET_TSC_KHZ, 1200000);
	CHECK_EQ(r, 0);
	vcpu = (int)create_vcpu(t, vm, 3);
	CHECK_OK(t, vcpu);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(run != MAP_FAILED, "mmap: %s", strerror(errno));
	close(vm);
	close(sys);
	/* the VM is gone from the fd table but alive through its vCPU */
	r = IOC(t, vcpu, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1200000);
	/* the VM fd's number is closed */
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	CHECK_ERR(t, r, EBADF);
	/* a dup of the vCPU fd is the same vCPU; the original can go */
	vcpu2 = dup(vcpu);
	CHECK(vcpu2 >= 0, "dup: %s", strerror(errno));
	close(vcpu);
	r = IOC(t, vcpu2, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1200000);
	if (run != MAP_FAILED) {
		run->immediate_exit = 1;
		CHECK_EQ(run->immediate_exit, 1);
	}
	close(vcpu2);
	r = IOC(t, vcpu2, KVM_GET_TSC_KHZ, 0);
	CHECK_ERR(t, r, EBADF);
	/* the mapping outlives every descriptor */
	if (run != MAP_FAILED) {
		CHECK_EQ(run->immediate_exit, 1);
		munmap(run, size);
	}
}

/* dup()ed and dup2()ed VM fds work; replacing a number drops that fd. */
KVM_CASE(fd_vm_dup)
{
	int vm2, vm3, null, vcpu;

	OPEN_VM();
	vm2 = dup(vm);
	vm3 = fcntl(vm, F_DUPFD_CLOEXEC, 100);
	CHECK(vm2 >= 0 && vm3 >= 100, "dup: %s", strerror(errno));
	r = IOC(t, vm2, KVM_SET_TSC_KHZ, 1300000);
	CHECK_EQ(r, 0);
	r = IOC(t, vm3, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1300000);
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1300000);
	vcpu = (int)create_vcpu(t, vm3, 0);
	CHECK_OK(t, vcpu);
	r = create_vcpu(t, vm2, 0);		/* the same VM */
	CHECK_ERR(t, r, EEXIST);
	close(vcpu);
	/* dup2 a foreign file over the VM fd: that number is /dev/null now */
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(dup2(null, vm2) == vm2, "dup2: %s", strerror(errno));
	r = IOC(t, vm2, KVM_GET_TSC_KHZ, 0);
	CHECK_ERR(t, r, ENOTTY);
	/* and a VM fd over a foreign one */
	CHECK(dup2(vm3, null) == null, "dup2: %s", strerror(errno));
	r = IOC(t, null, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1300000);
	close(vm3);
	close(vm2);
	close(null);
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_EQ(r, 1300000);
	CLOSE_VM();
	r = IOC(t, vm, KVM_GET_TSC_KHZ, 0);
	CHECK_ERR(t, r, EBADF);
}

/* A closed KVM fd's number, reused by another file, is that file's. */
KVM_CASE(fd_number_reused)
{
	int vcpu, null;

	OPEN_VM();
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	close(vcpu);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	t_printf(t, "reused: %d", null == vcpu);
	r = IOC(t, null, KVM_GET_TSC_KHZ, 0);
	CHECK_ERR(t, r, ENOTTY);
	close(null);
	close(vm);
	/* ... and by a new VM */
	vm = (int)IOC(t, sys, KVM_CREATE_VM, 0);
	CHECK_OK(t, vm);
	vcpu = (int)create_vcpu(t, vm, 0);	/* a new VM: id 0 is free */
	CHECK_OK(t, vcpu);
	close(vcpu);
	CLOSE_VM();
}

/*
 * A VM belongs to the process that created it (kvm->mm): after fork() the
 * child's VM and vCPU ioctls fail with EIO, while its system fd still
 * works and can make new VMs of its own.
 */
KVM_CASE(fd_fork_child)
{
	int vcpu, pfd[2];
	pid_t pid;

	OPEN_VM();
	vcpu = (int)create_vcpu(t, vm, 0);
	CHECK_OK(t, vcpu);
	CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		long res[6];
		int e[6], vm2;

		errno = 0;
		res[0] = t->be->ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
		e[0] = errno;
		errno = 0;
		res[1] = t->be->ioctl(vm, KVM_CREATE_VCPU, 1);
		e[1] = errno;
		errno = 0;
		res[2] = t->be->ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
		e[2] = errno;
		errno = 0;
		res[3] = t->be->ioctl(sys, KVM_GET_API_VERSION, 0);
		e[3] = errno;
		errno = 0;
		vm2 = (int)t->be->ioctl(sys, KVM_CREATE_VM, 0);
		res[4] = vm2 >= 0;
		e[4] = errno;
		errno = 0;
		res[5] = t->be->ioctl(vm2, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
		e[5] = errno;
		close(vm2);	/* (tests/scripts/lifetime.sh counts VMs made and destroyed) */
		if (write(pfd[1], res, sizeof(res)) < 0 || write(pfd[1], e, sizeof(e)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	if (pid > 0) {
		long res[6];
		int e[6], st = 0;

		CHECK(read(pfd[0], res, sizeof(res)) == sizeof(res) &&
		      read(pfd[0], e, sizeof(e)) == sizeof(e), "child's answers");
		waitpid(pid, &st, 0);
		t_printf(t, "child: VM CHECK_EXTENSION %ld %s", res[0], t_errname(e[0]));
		t_printf(t, "child: VM CREATE_VCPU %ld %s", res[1], t_errname(e[1]));
		t_printf(t, "child: vCPU GET_TSC_KHZ %ld %s", res[2], t_errname(e[2]));
		t_printf(t, "child: sys GET_API_VERSION %ld", res[3]);
		t_printf(t, "child: sys CREATE_VM ok %ld", res[4]);
		t_printf(t, "child: new VM CHECK_EXTENSION %ld", res[5]);
		CHECK(res[0] == -1 && e[0] == EIO, "VM ioctl in the child");
		CHECK(res[1] == -1 && e[1] == EIO, "KVM_CREATE_VCPU in the child");
		CHECK(res[2] == -1 && e[2] == EIO, "vCPU ioctl in the child");
		CHECK_EQ(res[3], 12);
		CHECK_EQ(res[4], 1);
		CHECK_EQ(res[5], 1);
	}
	close(pfd[0]);
	/* the parent's VM is untouched */
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	CHECK_EQ(r, 1);
	r = create_vcpu(t, vm, 1);
	CHECK_OK(t, r);
	close((int)r);
	close(vcpu);
	CLOSE_VM();
}

/* ------------------------------------------------------------------ */
/* Several threads at once                                             */
/* ------------------------------------------------------------------ */

struct race {
	struct tctx *t;
	int vm, thread;
	int created, eexist, other;
	int fds[64];
	char *mem;
};

/* Every thread creates vCPUs 0..63: each id is created exactly once. */
static void *race_create_vcpus(void *p)
{
	struct race *r = p;

	for (int id = 0; id < 64; id++) {
		int fd = (int)r->t->be->ioctl(r->vm, KVM_CREATE_VCPU, (unsigned long)id);

		if (fd >= 0)
			r->fds[r->created++] = fd;
		else if (errno == EEXIST)
			r->eexist++;
		else
			r->other++;
	}
	return NULL;
}

/* Each thread sets, moves, re-flags and deletes its own slots. */
static void *race_memslots(void *p)
{
	struct race *r = p;
	uint64_t base = 0x10000000ull * (r->thread + 1);

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 8; i++) {
			struct kvm_userspace_memory_region m = {
				(uint32_t)(r->thread * 100 + i), 0, base + i * 0x10000, 4 * PG,
				(uint64_t)(uintptr_t)(r->mem + i * 4 * PG)
			};

			if (r->t->be->ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m))
				r->other++;
			m.flags = KVM_MEM_LOG_DIRTY_PAGES;
			if (r->t->be->ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m))
				r->other++;
			m.guest_phys_addr += 0x8000;
			if (r->t->be->ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&m))
				r->other++;
			if (round < 19) {
				m.memory_size = 0;
				if (r->t->be->ioctl(r->vm, KVM_SET_USER_MEMORY_REGION,
						    (unsigned long)&m))
					r->other++;
			}
			r->created++;
		}
	}
	return NULL;
}

KVM_CASE(vm_threads_create_vcpus)
{
	pthread_t th[4];
	struct race rc[4];
	int created = 0, eexist = 0, other = 0;

	OPEN_VM();
	for (int i = 0; i < 4; i++) {
		memset(&rc[i], 0, sizeof(rc[i]));
		rc[i].t = t;
		rc[i].vm = vm;
		rc[i].thread = i;
		pthread_create(&th[i], NULL, race_create_vcpus, &rc[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		created += rc[i].created;
		eexist += rc[i].eexist;
		other += rc[i].other;
	}
	t_printf(t, "created %d, EEXIST %d, other %d", created, eexist, other);
	CHECK_EQ(created, 64);
	CHECK_EQ(eexist, 3 * 64);
	CHECK_EQ(other, 0);
	for (int id = 0; id < 64; id++) {
		r = t->be->ioctl(vm, KVM_CREATE_VCPU, (unsigned long)id);
		CHECK(r == -1 && errno == EEXIST, "vCPU %d: %ld", id, r);
	}
	/* every fd is a vCPU */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < rc[i].created; j++) {
			r = t->be->ioctl(rc[i].fds[j], KVM_GET_TSC_KHZ, 0);
			CHECK(r > 0, "fd %d: %s", rc[i].fds[j], t_errname(errno));
			close(rc[i].fds[j]);
		}
	}
	CLOSE_VM();
}

KVM_CASE(vm_threads_memslots)
{
	pthread_t th[4];
	struct race rc[4];
	char *mem;
	int other = 0;

	OPEN_VM();
	mem = mmap(NULL, 4 * 32 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED, "mmap");
	if (mem == MAP_FAILED) {
		CLOSE_VM();
		return;
	}
	for (int i = 0; i < 4; i++) {
		memset(&rc[i], 0, sizeof(rc[i]));
		rc[i].t = t;
		rc[i].vm = vm;
		rc[i].thread = i;
		rc[i].mem = mem + i * 32 * PG;
		pthread_create(&th[i], NULL, race_memslots, &rc[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		other += rc[i].other;
	}
	t_printf(t, "failed updates: %d", other);
	CHECK_EQ(other, 0);
	/* what is left: each thread's 8 moved, dirty-logged slots */
	for (int i = 0; i < 4; i++) {
		for (int s = 0; s < 8; s++) {
			uint64_t bm = ~0ull;
			struct kvm_dirty_log log = { .slot = (uint32_t)(i * 100 + s) };

			log.dirty_bitmap = &bm;
			r = t->be->ioctl(vm, KVM_GET_DIRTY_LOG, (unsigned long)&log);
			CHECK(r == 0 && bm == 0, "slot %d: %ld %s", i * 100 + s, r, t_errname(errno));
		}
	}
	r = IOC(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	munmap(mem, 4 * 32 * PG);
	CLOSE_VM();
}

/*
 * KVM_X86_GET_MCE_CAP_SUPPORTED (a /dev/kvm ioctl): the MCG_CAP bits KVM
 * can give a guest.  userkvm's processor has no machine-check architecture,
 * so its mask is 0 (and KVM_CAP_MCE is 0); the host's differs.
 */
KVM_CASE(sys_mce_cap_supported)
{
	int sys = t_open_sys(t);
	uint64_t cap = ~0ull;
	long r;

	r = IOC(t, sys, KVM_X86_GET_MCE_CAP_SUPPORTED, &cap);
	CHECK_EQ(r, 0);
	CHECK_SOFT(t, cap == 0, "MCG_CAP bits %#llx", (unsigned long long)cap);
	r = IOC(t, sys, KVM_X86_GET_MCE_CAP_SUPPORTED, NULL);
	CHECK_ERR(t, r, EFAULT);
	close(sys);
}
