// SPDX-License-Identifier: MIT
/*
 * The process's half of KVM's MMU notifier.  Guest memory is the
 * process's own memory (memslots' userspace_addr), and the processor's EPT
 * entries and soft TLB hold pointers into it; the kernel tells KVM of every
 * unmap through mmu_notifier_invalidate_range_start/end.  Here munmap()
 * and mremap() are interposed (the library and the preload shim export
 * them; libc's own internal unmaps, e.g. free() of a large block, are not
 * seen): before a range covered by a memslot goes, every VM drops its
 * mappings of it, so the guest's next touch fails KVM_RUN with EFAULT, as
 * on KVM, instead of the process faulting on a stale pointer.
 *
 * The real calls are libc's (or a sanitizer's interceptor), found with
 * dlsym() in a constructor, never while a guest runs; before that, the
 * system call itself.  Without any VM the interposers only pass through.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm/kvm_host.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_munmap)(void *, size_t);
static void *(*real_mremap)(void *, size_t, size_t, int, ...);

__attribute__((constructor)) static void mmu_notifier_init(void)
{
	real_munmap = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
	real_mremap = (void *(*)(void *, size_t, size_t, int, ...))dlsym(RTLD_NEXT, "mremap");
}

static int do_munmap(void *addr, size_t len)
{
	if (real_munmap)
		return real_munmap(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

static void *do_mremap(void *old, size_t old_size, size_t new_size, int flags, void *new_addr)
{
	if (real_mremap)
		return real_mremap(old, old_size, new_size, flags, new_addr);
	return (void *)syscall(SYS_mremap, old, old_size, new_size, flags, new_addr);
}

static hva_t range_end(const void *addr, size_t len)
{
	hva_t end = (hva_t)(uintptr_t)addr + len;

	return end < (hva_t)(uintptr_t)addr ? ~(hva_t)0 : end;	/* a bad length: the call fails */
}

EXPORT int munmap(void *addr, size_t len)
{
	int r;

	if (!kvm_get_active_vms())
		return do_munmap(addr, len);
	kvm_sched_out_thread();
	kvm_mmu_notifier_invalidate_range_start((hva_t)(uintptr_t)addr, range_end(addr, len));
	r = do_munmap(addr, len);
	kvm_mmu_notifier_invalidate_range_end();
	return r;
}

/*
 * The old range is invalidated whole (moved, shrunk or grown in place, the
 * pointers KVM holds may no longer be the memory's): mappings fault back in.
 */
EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	void *new_addr = NULL, *r;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!kvm_get_active_vms())
		return do_mremap(old, old_size, new_size, flags, new_addr);
	kvm_sched_out_thread();
	kvm_mmu_notifier_invalidate_range_start((hva_t)(uintptr_t)old, range_end(old, old_size));
	r = do_mremap(old, old_size, new_size, flags, new_addr);
	kvm_mmu_notifier_invalidate_range_end();
	return r;
}
