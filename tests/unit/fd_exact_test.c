// SPDX-License-Identifier: MIT
/*
 * The fd layer in exact mode, as the LD_PRELOAD shim runs it: every close()
 * and dup() goes through kvm_fd_close()/kvm_fd_dup() (done here by hand,
 * as src/shim/preload.c does), so a VM is destroyed at the moment its last
 * descriptor - VM fd, vCPU fd or a dup - is closed, with no lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <userkvm.h>

#include "api/kvm_fd.h"
#include "kvm/kvm_host.h"
#include "../test.h"

static long active0;

static int x_close(int fd)
{
	kvm_fd_close(fd);
	return close(fd);
}

static int x_dup(int fd)
{
	int r = dup(fd);

	if (r >= 0)
		kvm_fd_dup(fd, r);
	return r;
}

static int x_dup2(int fd, int fd2)
{
	int r = dup2(fd, fd2);

	if (r >= 0)
		kvm_fd_dup(fd, r);
	return r;
}

static long xioctl(int fd, unsigned long req, unsigned long arg, int *err)
{
	long r;

	errno = 0;
	r = userkvm_ioctl(fd, req, arg);
	*err = r < 0 ? errno : 0;
	return r;
}

static void fd_exact_destroy_on_last_close(void)
{
	int sys, vm, vm2, v0, v1, v1b, e;
	long r;

	sys = userkvm_open(O_RDWR | O_CLOEXEC);
	vm = (int)userkvm_ioctl(sys, KVM_CREATE_VM, 0);
	v0 = (int)userkvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	v1 = (int)userkvm_ioctl(vm, KVM_CREATE_VCPU, 1);
	vm2 = x_dup(vm);
	v1b = x_dup(v1);
	CHECK(vm >= 0 && v0 >= 0 && v1 >= 0 && vm2 >= 0 && v1b >= 0, "setup");
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);
	x_close(sys);		/* the system fd holds no VM */
	x_close(vm);
	x_close(v0);
	x_close(v1);
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);
	r = xioctl(v1b, KVM_GET_TSC_KHZ, 0, &e);
	CHECK(r > 0, "the vCPU's dup: %ld errno %d", r, e);
	x_close(vm2);
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);
	x_close(v1b);		/* the last one */
	CHECK_EQ(kvm_get_active_vms(), active0);
	r = xioctl(v1b, KVM_GET_TSC_KHZ, 0, &e);
	CHECK(r == -1 && e == EBADF, "closed: %ld errno %d", r, e);
	r = xioctl(vm, KVM_CREATE_VCPU, 2, &e);
	CHECK(r == -1 && e == EBADF, "closed: %ld errno %d", r, e);
}

static void fd_exact_dup2_over(void)
{
	int sys, vm, null, e;
	long r;

	sys = userkvm_open(O_RDWR | O_CLOEXEC);
	vm = (int)userkvm_ioctl(sys, KVM_CREATE_VM, 0);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);
	/* a foreign file over the only VM fd: the VM goes */
	CHECK_EQ(x_dup2(null, vm), vm);
	CHECK_EQ(kvm_get_active_vms(), active0);
	r = xioctl(vm, KVM_GET_TSC_KHZ, 0, &e);
	CHECK(r == -1 && e == ENOTTY, "dup2ed /dev/null: %ld errno %d", r, e);
	/* a KVM fd over a foreign one, and dup2 onto itself */
	CHECK_EQ(x_dup2(sys, null), null);
	CHECK_EQ(x_dup2(null, null), null);
	r = xioctl(null, KVM_GET_API_VERSION, 0, &e);
	CHECK_EQ(r, 12);
	x_close(null);
	x_close(vm);
	r = xioctl(sys, KVM_GET_API_VERSION, 0, &e);
	CHECK_EQ(r, 12);
	x_close(sys);
}

/*
 * Two threads issue vCPU and VM ioctls while a third keeps dup'ing and
 * closing dups of the same descriptors (and runs the vCPUs through them),
 * and a fourth creates and destroys whole VMs.  Every ioctl on the
 * original descriptors must succeed.
 */
static int shared_vm, shared_vcpu[2], stop;
static long ioctl_failures;

static void *ioctl_thread(void *p)
{
	int v = shared_vcpu[(long)p];

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (userkvm_ioctl(v, KVM_GET_TSC_KHZ, 0) <= 0 || userkvm_ioctl(v, KVM_RUN, 0) != 0 ||
		    userkvm_ioctl(shared_vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) != 1)
			__atomic_fetch_add(&ioctl_failures, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *dup_thread(void *p)
{
	for (int i = 0; i < 2000; i++) {
		int a = x_dup(shared_vm), b = x_dup(shared_vcpu[i & 1]);

		if (userkvm_ioctl(b, KVM_GET_TSC_KHZ, 0) <= 0)
			__atomic_fetch_add(&ioctl_failures, 1, __ATOMIC_RELAXED);
		/*
		 * KVM_RUN through the dup while the other threads take and drop
		 * references to the same file (kvm_fd_ioctl_run()'s one-try
		 * look-up and its slow path): the vCPU, with no memory, exits
		 * at once (an internal error), KVM_RUN itself succeeds.
		 */
		if (userkvm_ioctl(b, KVM_RUN, 0) != 0)
			__atomic_fetch_add(&ioctl_failures, 1, __ATOMIC_RELAXED);
		x_close(a);
		x_close(b);
	}
	return NULL;
}

static void *vm_thread(void *p)
{
	for (int i = 0; i < 200; i++) {
		int sys = userkvm_open(O_RDWR), vm, vcpu;

		vm = (int)userkvm_ioctl(sys, KVM_CREATE_VM, 0);
		vcpu = (int)userkvm_ioctl(vm, KVM_CREATE_VCPU, 0);
		if (i & 1) {
			x_close(vm);
			x_close(vcpu);
		} else {
			x_close(vcpu);
			x_close(vm);
		}
		x_close(sys);
	}
	return NULL;
}

static void fd_exact_threads(void)
{
	pthread_t io[2], dp, vt;
	int sys = userkvm_open(O_RDWR);

	shared_vm = (int)userkvm_ioctl(sys, KVM_CREATE_VM, 0);
	shared_vcpu[0] = (int)userkvm_ioctl(shared_vm, KVM_CREATE_VCPU, 0);
	shared_vcpu[1] = (int)userkvm_ioctl(shared_vm, KVM_CREATE_VCPU, 1);
	for (long i = 0; i < 2; i++)
		pthread_create(&io[i], NULL, ioctl_thread, (void *)i);
	pthread_create(&dp, NULL, dup_thread, NULL);
	pthread_create(&vt, NULL, vm_thread, NULL);
	pthread_join(dp, NULL);
	pthread_join(vt, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(io[i], NULL);
	CHECK_EQ(ioctl_failures, 0);
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);
	x_close(shared_vcpu[0]);
	x_close(shared_vm);
	x_close(shared_vcpu[1]);
	x_close(sys);
	CHECK_EQ(kvm_get_active_vms(), active0);
}

/* A VM with vCPU 0, its kvm_run mapped, immediate_exit set (each KVM_RUN: -EINTR). */
static struct kvm_run *one_vcpu_vm(int *sys, int *vm, int *v, long *size)
{
	struct kvm_run *run;

	*sys = userkvm_open(O_RDWR | O_CLOEXEC);
	*vm = (int)userkvm_ioctl(*sys, KVM_CREATE_VM, 0);
	*v = (int)userkvm_ioctl(*vm, KVM_CREATE_VCPU, 0);
	*size = userkvm_ioctl(*sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(*sys >= 0 && *vm >= 0 && *v >= 0 && *size > 0, "setup");
	run = mmap(NULL, (size_t)*size, PROT_READ | PROT_WRITE, MAP_SHARED, *v, 0);
	CHECK(run != MAP_FAILED, "mmap kvm_run");
	if (run == MAP_FAILED)
		return NULL;
	run->immediate_exit = 1;
	return run;
}

/*
 * KVM_RUN finds a descriptor below 1024 in the fd table's static first
 * chunk with one compare (kvm_fd_ioctl_run()), others through the chunk
 * table: the vCPU through dups on both sides of that edge (1023, 1024) and
 * far above it, each reaching KVM_RUN's immediate_exit (-EINTR); closed,
 * each is no descriptor (EBADF), and the vCPU's own fd still runs.
 */
static void fd_exact_run_high_fd(void)
{
	static const int nums[] = { 1023, 1024, 1500 };
	struct rlimit rl;
	struct kvm_run *run;
	int sys, vm, v, e;
	long r, size;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_cur < 1501) {
		if (rl.rlim_max < 1501) {
			printf("  (skipped: RLIMIT_NOFILE hard limit %lu)\n", (unsigned long)rl.rlim_max);
			return;
		}
		rl.rlim_cur = rl.rlim_max;
		CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	}
	run = one_vcpu_vm(&sys, &vm, &v, &size);
	if (!run)
		return;
	for (unsigned int i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		CHECK_EQ(x_dup2(v, nums[i]), nums[i]);
		r = xioctl(nums[i], KVM_RUN, 0, &e);
		CHECK(r == -1 && e == EINTR, "KVM_RUN on fd %d: %ld errno %d", nums[i], r, e);
	}
	for (unsigned int i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		x_close(nums[i]);
		r = xioctl(nums[i], KVM_RUN, 0, &e);
		CHECK(r == -1 && e == EBADF, "KVM_RUN on closed fd %d: %ld errno %d", nums[i], r, e);
	}
	r = xioctl(v, KVM_RUN, 0, &e);
	CHECK(r == -1 && e == EINTR, "KVM_RUN on the vCPU fd: %ld errno %d", r, e);
	munmap(run, (size_t)size);
	x_close(v);
	x_close(vm);
	x_close(sys);
	CHECK_EQ(kvm_get_active_vms(), active0);
}

/*
 * KVM_RUN on a vCPU whose mutex another thread's KVM_RUN holds: an
 * application processor that never got INIT blocks in KVM_RUN
 * (kvm_vcpu_run_uninitialized()) with vcpu->mutex held, until
 * immediate_exit is set.  A second KVM_RUN meanwhile takes
 * kvm_vcpu_ioctl_run_contended(), which must wait for the mutex and then
 * run as the uncontended path does: both return -EINTR (a wrong result
 * fails here, a mutex left held hangs).
 */
static int contended_fd;
static long contended_r[2];
static int contended_e[2];

static void *contended_thread(void *p)
{
	int i = (int)(long)p;

	errno = 0;
	contended_r[i] = userkvm_ioctl(contended_fd, KVM_RUN, 0);
	contended_e[i] = errno;
	return NULL;
}

/*
 * A VM with an irqchip, vCPU 0 and vCPU 1 (an AP that never got INIT: its
 * KVM_RUN blocks until immediate_exit), and the AP's kvm_run mapped.
 */
static struct kvm_run *ap_vm(int *sys, int *vm, int *bsp, int *ap, long *size)
{
	struct kvm_run *run;

	*sys = userkvm_open(O_RDWR | O_CLOEXEC);
	*vm = (int)userkvm_ioctl(*sys, KVM_CREATE_VM, 0);
	CHECK_EQ(userkvm_ioctl(*vm, KVM_CREATE_IRQCHIP, 0), 0);
	*bsp = (int)userkvm_ioctl(*vm, KVM_CREATE_VCPU, 0);
	*ap = (int)userkvm_ioctl(*vm, KVM_CREATE_VCPU, 1);
	*size = userkvm_ioctl(*sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(*sys >= 0 && *vm >= 0 && *bsp >= 0 && *ap >= 0 && *size > 0, "setup");
	run = mmap(NULL, (size_t)*size, PROT_READ | PROT_WRITE, MAP_SHARED, *ap, 0);
	CHECK(run != MAP_FAILED, "mmap kvm_run");
	return run == MAP_FAILED ? NULL : run;
}

static void fd_exact_run_contended(void)
{
	struct timespec ms30 = { 0, 30 * 1000 * 1000 };
	struct kvm_run *run;
	pthread_t th[2];
	int sys, vm, bsp, ap;
	long size;

	run = ap_vm(&sys, &vm, &bsp, &ap, &size);
	if (!run)
		return;
	contended_fd = ap;
	pthread_create(&th[0], NULL, contended_thread, (void *)0L);
	nanosleep(&ms30, NULL);		/* the first one blocks, holding the mutex */
	pthread_create(&th[1], NULL, contended_thread, (void *)1L);
	nanosleep(&ms30, NULL);		/* the second one waits for it */
	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK(contended_r[i] == -1 && contended_e[i] == EINTR, "KVM_RUN %d: %ld errno %d",
		      i, contended_r[i], contended_e[i]);
	}
	munmap(run, (size_t)size);
	x_close(ap);
	x_close(bsp);
	x_close(vm);
	x_close(sys);
	CHECK_EQ(kvm_get_active_vms(), active0);
}

/*
 * Closing every descriptor of a VM while one of its vCPUs is in KVM_RUN:
 * the close returns at once, the run goes on with the VM alive (KVM_RUN
 * holds no reference but the vCPU's mutex, kvm_fd_ioctl_run()), and the
 * release the last close left to it happens when it returns: then the VM
 * is gone, as in KVM, where the ioctl's file reference keeps it.  The AP,
 * never sent INIT, blocks in KVM_RUN until immediate_exit.
 */
static void fd_exact_close_during_run(void)
{
	struct timespec ms30 = { 0, 30 * 1000 * 1000 };
	struct kvm_run *run;
	pthread_t th;
	int sys, vm, bsp, ap;
	long size;

	run = ap_vm(&sys, &vm, &bsp, &ap, &size);
	if (!run)
		return;
	contended_fd = ap;
	pthread_create(&th, NULL, contended_thread, (void *)0L);
	nanosleep(&ms30, NULL);		/* it blocks in KVM_RUN */
	x_close(ap);
	x_close(bsp);
	x_close(vm);
	x_close(sys);
	CHECK_EQ(kvm_get_active_vms(), active0 + 1);	/* the run keeps it */
	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK(contended_r[0] == -1 && contended_e[0] == EINTR, "KVM_RUN: %ld errno %d",
	      contended_r[0], contended_e[0]);
	CHECK_EQ(kvm_get_active_vms(), active0);	/* released at the run's end */
	munmap(run, (size_t)size);
}

/*
 * The same race at every point of KVM_RUN's entry and exit: a thread runs
 * the vCPU in a loop (each KVM_RUN an immediate_exit: -EINTR) while this
 * one closes the vCPU's and the VM's descriptors at an arbitrary moment.
 * Every KVM_RUN returns -EINTR or, once the descriptor is gone, EBADF
 * (ENOTTY between x_close()'s two steps, as in the shim's close(): the
 * table no longer holds the file, the memfd is not closed yet); no
 * VM is left behind (a release left to a run that missed it would leak
 * it), none is destroyed under a run (ASan builds see a use after free).
 */
static int race_fd, race_stop;
static long race_bad, race_first;

static void *race_thread(void *p)
{
	(void)p;
	while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
		long r;

		errno = 0;
		r = userkvm_ioctl(race_fd, KVM_RUN, 0);
		if (r != -1 || (errno != EINTR && errno != EBADF && errno != ENOTTY)) {
			if (!__atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED))
				race_first = r < 0 ? -errno : r;
		}
	}
	return NULL;
}

static void fd_exact_close_run_race(void)
{
	for (int i = 0; i < 300; i++) {
		struct kvm_run *run;
		pthread_t th;
		int sys, vm, v;
		long size;

		run = one_vcpu_vm(&sys, &vm, &v, &size);
		if (!run)
			return;
		race_fd = v;
		__atomic_store_n(&race_stop, 0, __ATOMIC_RELEASE);
		pthread_create(&th, NULL, race_thread, NULL);
		for (volatile int spin = (i * 7919) % 20000; spin > 0; spin--)
			;
		if (i & 1) {
			x_close(v);
			x_close(vm);
		} else {
			x_close(vm);
			x_close(v);
		}
		x_close(sys);
		__atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		munmap(run, (size_t)size);
		CHECK_EQ(kvm_get_active_vms(), active0);
	}
	CHECK(race_bad == 0, "%ld bad KVM_RUNs, the first %ld", race_bad, race_first);
}

int main(void)
{
	kvm_fd_set_exact();
	active0 = kvm_get_active_vms();
	RUN_TEST(fd_exact_destroy_on_last_close);
	RUN_TEST(fd_exact_dup2_over);
	RUN_TEST(fd_exact_threads);
	RUN_TEST(fd_exact_run_high_fd);
	RUN_TEST(fd_exact_run_contended);
	RUN_TEST(fd_exact_close_during_run);
	RUN_TEST(fd_exact_close_run_race);
	return test_cases_failed ? 1 : 0;
}
