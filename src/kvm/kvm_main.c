// SPDX-License-Identifier: MIT
/*
 * virt/kvm/kvm_main.c: the generic half of KVM.  System, VM and vCPU ioctl
 * dispatch, VM and vCPU lifetimes, memslots and the dirty log.  Error codes
 * and the order of checks follow the kernel's, since programs (and the KVM
 * selftests) test for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "api/kvm_fd.h"
#include "kvm/kvm_host.h"

#define BITS_PER_LONG 64

/*
 * User-space "user copies".  The caller's buffers are in our own address
 * space, so a copy is a memcpy; what the kernel would fault on that we can
 * tell without a system call (the NULL page, non-canonical and kernel-half
 * addresses, wrap-around) gets -EFAULT as it does there.
 */
static bool user_range_bad(const void *p, size_t n)
{
	unsigned long a = (unsigned long)p;

	return a < PAGE_SIZE || a + n < a || a + n > KVM_TASK_SIZE_MAX;
}

/*
 * Note, an empty copy touches nothing and succeeds for any pointer, as in
 * the kernel (KVM_CLEAR_DIRTY_LOG with num_pages 0 relies on it).
 */
int copy_from_user(void *dst, const void *usrc, size_t n)
{
	if (!n)
		return 0;
	if (user_range_bad(usrc, n))
		return -EFAULT;
	memcpy(dst, usrc, n);
	return 0;
}

int copy_to_user(void *udst, const void *src, size_t n)
{
	if (!n)
		return 0;
	if (user_range_bad(udst, n))
		return -EFAULT;
	memcpy(udst, src, n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Memslots                                                            */
/* ------------------------------------------------------------------ */

static struct kvm_memslots *memslots_alloc(int capacity)
{
	struct kvm_memslots *s = calloc(1, sizeof(*s) + capacity * sizeof(s->by_gfn[0]));

	if (s)
		s->capacity = capacity;
	return s;
}

struct kvm_memory_slot *id_to_memslot(struct kvm *kvm, int as_id, int id)
{
	struct kvm_memory_slot **by_id;

	if (as_id < 0 || as_id >= KVM_ADDRESS_SPACE_NUM || id < 0 || id >= KVM_MEM_SLOTS_NUM)
		return NULL;
	by_id = __atomic_load_n(&kvm->slots_by_id[as_id], __ATOMIC_ACQUIRE);
	return by_id ? __atomic_load_n(&by_id[id], __ATOMIC_ACQUIRE) : NULL;
}

/* Binary search of the gfn-sorted array; slots never overlap. */
struct kvm_memory_slot *__gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn)
{
	int lo = 0, hi = slots->nr - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		struct kvm_memory_slot *s = slots->by_gfn[mid];

		if (gfn < s->base_gfn)
			hi = mid - 1;
		else if (gfn >= s->base_gfn + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Caller holds kvm->srcu, as in KVM. */
struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, gfn_t gfn)
{
	return __gfn_to_memslot(kvm_memslots(kvm), gfn);
}

hva_t gfn_to_hva_memslot(const struct kvm_memory_slot *slot, gfn_t gfn)
{
	if (!slot || gfn < slot->base_gfn || gfn - slot->base_gfn >= slot->npages)
		return KVM_HVA_ERR_BAD;
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

hva_t gfn_to_hva(struct kvm *kvm, gfn_t gfn)
{
	return gfn_to_hva_memslot(gfn_to_memslot(kvm, gfn), gfn);
}

hva_t gfn_to_hva_prot(struct kvm *kvm, gfn_t gfn, bool *writable)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);

	if (writable)
		*writable = slot && !(slot->flags & KVM_MEM_READONLY);
	return gfn_to_hva_memslot(slot, gfn);
}

static unsigned long kvm_dirty_bitmap_bytes(const struct kvm_memory_slot *slot)
{
	return ALIGN_UP(slot->npages, 64ul) / 8;
}

void mark_page_dirty_in_slot(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn)
{
	u64 rel;

	if (!slot || !slot->dirty_bitmap || gfn < slot->base_gfn)
		return;
	rel = gfn - slot->base_gfn;
	if (rel >= slot->npages)
		return;
	__atomic_fetch_or(&slot->dirty_bitmap[rel / 64], 1ul << (rel % 64), __ATOMIC_RELAXED);
}

void mark_page_dirty(struct kvm *kvm, gfn_t gfn)
{
	mark_page_dirty_in_slot(kvm, gfn_to_memslot(kvm, gfn), gfn);
}

/* The first slot that ends after @gfn (the array is sorted, slots disjoint). */
static int kvm_memslots_lower_bound(struct kvm_memslots *slots, gfn_t gfn)
{
	int lo = 0, hi = slots->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		struct kvm_memory_slot *s = slots->by_gfn[mid];

		if (s->base_gfn + s->npages <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool kvm_check_memslot_overlap(struct kvm_memslots *slots, int id,
				      gfn_t start, gfn_t end)
{
	for (int i = kvm_memslots_lower_bound(slots, start);
	     i < slots->nr && slots->by_gfn[i]->base_gfn < end; i++) {
		if (slots->by_gfn[i]->id != id)
			return true;
	}
	return false;
}

enum kvm_mr_change {
	KVM_MR_CREATE,
	KVM_MR_DELETE,
	KVM_MR_MOVE,
	KVM_MR_FLAGS_ONLY,
};

/*
 * Replace @old by @new (either may be NULL) in @slots, in place, keeping
 * gfn order; @slots has room for one more entry.  Moves only the entries
 * after the change (none for a flags-only change or an append).
 */
static void kvm_memslots_replace(struct kvm_memslots *slots, struct kvm_memory_slot *old,
				 struct kvm_memory_slot *new)
{
	struct kvm_memory_slot **a = slots->by_gfn;
	int n = slots->nr, i;

	if (old && new && old->base_gfn == new->base_gfn) {
		a[kvm_memslots_lower_bound(slots, old->base_gfn)] = new;
		return;
	}
	if (old) {
		i = kvm_memslots_lower_bound(slots, old->base_gfn);
		memmove(&a[i], &a[i + 1], (n - i - 1) * sizeof(a[0]));
		slots->nr = --n;
	}
	if (new) {
		i = kvm_memslots_lower_bound(slots, new->base_gfn);
		memmove(&a[i + 1], &a[i], (n - i) * sizeof(a[0]));
		a[i] = new;
		slots->nr = n + 1;
	}
}

/*
 * Publish a gfn-sorted array in which @old (may be NULL) is replaced by
 * @new (may be NULL), then wait until no reader can see the old array.
 *
 * As KVM keeps an active and an inactive memslot set, the array that was
 * active before is kept as kvm->memslots_spare[] and brought up to date
 * once no reader sees it, so that an update edits a copy in place instead
 * of copying all slots (32764 of them in the worst case).
 */
static int kvm_set_memslot(struct kvm *kvm, int as_id, struct kvm_memory_slot *old,
			   struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	struct kvm_memslots *cur = kvm->memslots[as_id], *next;
	struct kvm_memory_slot **by_id = kvm->slots_by_id[as_id];

	if (old) {
		int i = kvm_memslots_lower_bound(cur, old->base_gfn);

		if (KVM_BUG_ON(i >= cur->nr || cur->by_gfn[i] != old, kvm))
			return -EIO;
	}
	/* The spare is a copy of @cur; without one, or without room, make one. */
	next = kvm->memslots_spare[as_id];
	if (!next || next->capacity < cur->nr + 1) {
		next = memslots_alloc(MAX(2 * cur->nr, 16));
		if (!next)
			return -ENOMEM;
		memcpy(next->by_gfn, cur->by_gfn, cur->nr * sizeof(cur->by_gfn[0]));
		next->nr = cur->nr;
		free(kvm->memslots_spare[as_id]);
	}
	kvm->memslots_spare[as_id] = NULL;
	kvm_memslots_replace(next, old, new);
	next->generation = ++kvm->generation;

	__atomic_store_n(&by_id[new ? new->id : old->id], new, __ATOMIC_RELEASE);
	__atomic_store_n(&kvm->memslots[as_id], next, __ATOMIC_RELEASE);
	kvm_synchronize_srcu(kvm);

	/* No reader sees @cur any more: it becomes the next update's copy. */
	if (cur->capacity >= next->nr + 1) {
		kvm_memslots_replace(cur, old, new);
		kvm->memslots_spare[as_id] = cur;
	} else {
		free(cur);
	}
	/* The MMU drops what the old slot mapped and MMIO SPTEs the new one covers. */
	kvm_arch_commit_memory_region(kvm, old, new);

	if (old) {
		kvm->nr_memslot_pages -= old->npages;
		/* A flags-only change that keeps dirty logging hands its bitmap on. */
		if (!(new && new->dirty_bitmap == old->dirty_bitmap))
			free(old->dirty_bitmap);
		free(old);
	}
	if (new)
		kvm->nr_memslot_pages += new->npages;
	(void)change;
	return 0;
}

static int check_memory_region_flags(struct kvm *kvm,
				     const struct kvm_userspace_memory_region2 *mem)
{
	u32 valid_flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;

	if (mem->flags & ~valid_flags)
		return -EINVAL;
	return 0;
}

/*
 * kvm_set_memory_region() - KVM_SET_USER_MEMORY_REGION(2), slots_lock held
 *
 * The checks and their order are KVM's __kvm_set_memory_region(): flags,
 * alignment, the user range, the slot id, wrap-around, the size bound, then
 * what a change to a live slot may alter, then overlap (-EEXIST).
 */
int kvm_set_memory_region(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem)
{
	struct kvm_memory_slot *old, *new;
	enum kvm_mr_change change;
	gfn_t base_gfn;
	u64 npages;
	int as_id, id, r;

	r = check_memory_region_flags(kvm, mem);
	if (r)
		return r;

	as_id = mem->slot >> 16;
	id = (u16)mem->slot;

	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr + mem->memory_size < mem->userspace_addr ||
	    mem->userspace_addr + mem->memory_size > KVM_TASK_SIZE_MAX)
		return -EINVAL;
	if (as_id >= KVM_ADDRESS_SPACE_NUM || id >= KVM_MEM_SLOTS_NUM)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if (id < KVM_USER_MEM_SLOTS && (mem->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;

	old = id_to_memslot(kvm, as_id, id);

	if (!mem->memory_size) {
		if (!old || !old->npages)
			return -EINVAL;
		if (KVM_BUG_ON(kvm->nr_memslot_pages < old->npages, kvm))
			return -EIO;
		return kvm_set_memslot(kvm, as_id, old, NULL, KVM_MR_DELETE);
	}

	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	npages = mem->memory_size >> PAGE_SHIFT;

	if (!old || !old->npages) {
		change = KVM_MR_CREATE;
		if (kvm->nr_memslot_pages + npages < kvm->nr_memslot_pages)
			return -EINVAL;
	} else {
		if (mem->userspace_addr != old->userspace_addr || npages != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			return -EINVAL;
		if (base_gfn != old->base_gfn)
			change = KVM_MR_MOVE;
		else if (mem->flags != old->flags)
			change = KVM_MR_FLAGS_ONLY;
		else
			return 0;	/* nothing to change */
	}

	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    kvm_check_memslot_overlap(kvm_memslots(kvm), id, base_gfn, base_gfn + npages))
		return -EEXIST;

	/* kvm_arch_prepare_memory_region(): the MMU cannot map past MAXPHYADDR. */
	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    base_gfn + npages - 1 > kvm_mmu_max_gfn())
		return -EINVAL;

	new = calloc(1, sizeof(*new));
	if (!new)
		return -ENOMEM;
	new->id = id;
	new->as_id = as_id;
	new->base_gfn = base_gfn;
	new->npages = npages;
	new->flags = mem->flags;
	new->userspace_addr = mem->userspace_addr;
	/*
	 * KVM accepts host ranges that are not (yet) mapped and fails KVM_RUN
	 * with EFAULT when the guest touches them.  Checking now, before a VMM
	 * installs a seccomp filter, spares a system call per page fault.
	 */
	new->hva_checked = !msync((void *)(uintptr_t)new->userspace_addr,
				  new->npages << PAGE_SHIFT, MS_ASYNC);

	if (new->flags & KVM_MEM_LOG_DIRTY_PAGES) {
		if (old && old->dirty_bitmap) {
			new->dirty_bitmap = old->dirty_bitmap;
		} else {
			size_t bytes = kvm_dirty_bitmap_bytes(new);

			new->dirty_bitmap = calloc(1, bytes);
			if (!new->dirty_bitmap) {
				free(new);
				return -ENOMEM;
			}
			if (kvm->manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET) {
				memset(new->dirty_bitmap, 0xff, bytes);
				if (npages % 64)
					new->dirty_bitmap[npages / 64] = (1ul << (npages % 64)) - 1;
			}
		}
	}

	r = kvm_set_memslot(kvm, as_id, old, new, change);
	if (r) {
		if (!old || new->dirty_bitmap != old->dirty_bitmap)
			free(new->dirty_bitmap);
		free(new);
	}
	return r;
}

static int kvm_vm_ioctl_set_memory_region(struct kvm *kvm,
					  const struct kvm_userspace_memory_region2 *mem)
{
	int r;

	if ((u16)mem->slot >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	r = kvm_set_memory_region(kvm, mem);
	pthread_mutex_unlock(&kvm->slots_lock);
	return r;
}

/*
 * KVM_GET_DIRTY_LOG.  Without manual protection the bitmap is harvested:
 * read and cleared atomically, word by word (the MMU write-protects the
 * pages again at that point).  With KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
 * it is only copied; KVM_CLEAR_DIRTY_LOG clears it.
 */
static int kvm_vm_ioctl_get_dirty_log(struct kvm *kvm, struct kvm_dirty_log *log)
{
	struct kvm_memory_slot *slot;
	unsigned long n, *buf;
	int as_id, id, r;
	bool flush;

	as_id = log->slot >> 16;
	id = (u16)log->slot;
	if (as_id >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;

	pthread_mutex_lock(&kvm->slots_lock);
	slot = id_to_memslot(kvm, as_id, id);
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out;
	n = kvm_dirty_bitmap_bytes(slot);
	buf = malloc(n);
	r = -ENOMEM;
	if (!buf)
		goto out;
	/*
	 * As kvm_get_dirty_log_protect(): take each word's bits (clearing
	 * them unless manual protection is on), write-protect the pages they
	 * name so that the next write is logged again, flush the TLBs, and
	 * only then copy the snapshot out.
	 */
	flush = false;
	for (unsigned long i = 0; i < n / sizeof(long); i++) {
		unsigned long mask;

		if (kvm->manual_dirty_log_protect & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) {
			buf[i] = __atomic_load_n(&slot->dirty_bitmap[i], __ATOMIC_RELAXED);
			continue;
		}
		if (!__atomic_load_n(&slot->dirty_bitmap[i], __ATOMIC_RELAXED)) {
			buf[i] = 0;
			continue;
		}
		mask = __atomic_exchange_n(&slot->dirty_bitmap[i], 0, __ATOMIC_RELAXED);
		buf[i] = mask;
		flush |= kvm_arch_mmu_enable_log_dirty_pt_masked(&kvm->arch.tdp_mmu, slot,
								 i * BITS_PER_LONG, mask);
	}
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	r = copy_to_user(log->dirty_bitmap, buf, n);
	free(buf);
out:
	pthread_mutex_unlock(&kvm->slots_lock);
	return r;
}

static int kvm_vm_ioctl_clear_dirty_log(struct kvm *kvm, struct kvm_clear_dirty_log *log)
{
	struct kvm_memory_slot *slot;
	unsigned long n, *buf;
	int as_id, id, r;

	as_id = log->slot >> 16;
	id = (u16)log->slot;
	if (as_id >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (log->first_page & 63)
		return -EINVAL;

	pthread_mutex_lock(&kvm->slots_lock);
	slot = id_to_memslot(kvm, as_id, id);
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out;
	n = ALIGN_UP((unsigned long)log->num_pages, 64ul) / 8;
	r = -EINVAL;
	if (log->first_page > slot->npages ||
	    log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page && (log->num_pages & 63)))
		goto out;
	r = -ENOMEM;
	buf = malloc(n ? n : 1);
	if (!buf)
		goto out;
	r = copy_from_user(buf, log->dirty_bitmap, n);
	if (!r) {
		unsigned long base = log->first_page / 64;
		bool flush = false;

		for (unsigned long i = 0; i < n / sizeof(long); i++) {
			unsigned long mask = buf[i];

			/* The last word may cover pages past num_pages: keep them. */
			if (i == n / sizeof(long) - 1 && (log->num_pages & 63))
				mask &= (1ul << (log->num_pages & 63)) - 1;
			if (!mask)
				continue;
			/* Only the bits really cleared get write-protected again. */
			mask &= __atomic_fetch_and(&slot->dirty_bitmap[base + i], ~mask,
						   __ATOMIC_RELAXED);
			if (mask)
				flush |= kvm_arch_mmu_enable_log_dirty_pt_masked(
					&kvm->arch.tdp_mmu, slot, (base + i) * BITS_PER_LONG, mask);
		}
		if (flush)
			kvm_flush_remote_tlbs(kvm);
	}
	free(buf);
out:
	pthread_mutex_unlock(&kvm->slots_lock);
	return r;
}

/* ------------------------------------------------------------------ */
/* VM and vCPU lifetimes                                               */
/* ------------------------------------------------------------------ */

static long kvm_active_vms;

/*
 * current->mm, for kvm->mm != current->mm: a process generation that the
 * child side of every fork() bumps.  A forked child has a copy of the VM
 * (our VMs are process memory), but KVM's VMs belong to the creating
 * process, so the child's VM and vCPU ioctls fail with -EIO, as in KVM.
 * No system call per ioctl (getpid() is one in current glibc).
 */
unsigned long kvm_mm_generation;

static void kvm_mm_atfork_child(void)
{
	__atomic_fetch_add(&kvm_mm_generation, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void kvm_main_init(void)
{
	pthread_atfork(NULL, NULL, kvm_mm_atfork_child);
}

/*
 * Every reader of kvm->srcu: the counters' (synchronize_srcu()), then each
 * vCPU's own (kvm_vcpu_srcu_read_lock()), seen after the heavy barrier if
 * another thread may hold one.  A vCPU that goes online after this looked
 * takes its bias (a locked instruction) after the update was published.
 */
void kvm_synchronize_srcu(struct kvm *kvm)
{
	int n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_SEQ_CST);
	bool heavy = false;

	synchronize_srcu(&kvm->srcu);
	for (int i = 0; i < n; i++)
		heavy |= kvm_mutex_biased_ever_elsewhere(kvm->vcpus[i]->mutex);
	if (heavy)
		kvm_heavy_barrier();
	for (int i = 0; i < n; i++) {
		unsigned int *seq = &kvm->vcpus[i]->srcu_seq, s = __atomic_load_n(seq, __ATOMIC_SEQ_CST);

		if (s & 1)
			while (__atomic_load_n(seq, __ATOMIC_SEQ_CST) == s)
				sched_yield();
	}
}

/* kvm_vcpu_ioctl_run() whose uncontended lock of vcpu->mutex failed. */
__attribute__((noinline)) long kvm_vcpu_ioctl_run_contended(struct kvm_vcpu *vcpu, unsigned long arg)
{
	__kvm_mutex_lock_slow(vcpu->mutex);
	return __kvm_vcpu_ioctl_run_locked(vcpu, arg);
}


long kvm_get_active_vms(void)
{
	return __atomic_load_n(&kvm_active_vms, __ATOMIC_ACQUIRE);
}

/* ---- the MMU notifier ---- */

static pthread_mutex_t kvm_lock = PTHREAD_MUTEX_INITIALIZER;	/* vm_list */
static struct kvm *vm_list;

static void kvm_host_tick_start(void);

static void kvm_vm_list_add(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm_lock);
	kvm->vm_list_next = vm_list;
	vm_list = kvm;
	kvm_host_tick_start();
	pthread_mutex_unlock(&kvm_lock);
}

static void kvm_vm_list_del(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm_lock);
	for (struct kvm **p = &vm_list; *p; p = &(*p)->vm_list_next)
		if (*p == kvm) {
			*p = kvm->vm_list_next;
			break;
		}
	pthread_mutex_unlock(&kvm_lock);
}

/*
 * The host tick.  On a real host the vCPU thread takes timer interrupts
 * (and a signal sent to it is an IPI): each is an EXTERNAL_INTERRUPT exit,
 * after which vcpu_run() sees a signal or kvm_run->immediate_exit.  Here a
 * signal handler runs on the vCPU thread without stopping the processor
 * (it cannot call into userkvm), so this thread stands in for the timer
 * interrupt: every KVM_HOST_TICK_NS it kicks each vCPU in guest mode, whose
 * exit goes back to vcpu_run(), which returns -EINTR (KVM_EXIT_INTR) if
 * immediate_exit was set meanwhile.  A kick from another thread
 * (kvm_vcpu_kick()) still exits at once.  After a second with no vCPU in
 * guest mode it ticks every 10 ms (the bound kvm_vcpu_block() keeps too);
 * with no VM left it parks in futex(2) until the next VM wakes it.  It
 * never exits: a thread's exit runs its libraries' exit paths (glibc's,
 * a sanitizer runtime's, with their own system calls and locks) at a
 * moment the VMM does not choose, such as its VM teardown inside a
 * seccomp sandbox (sandbox_cases.c).  A child after fork(), which has no
 * copy of the thread, starts its own with its first VM.  One thread per
 * process instead of the VMX preemption timer at every entry: an entry
 * arms that timer only for a guest timer deadline, and reads no clock
 * otherwise.
 */
#define KVM_HOST_TICK_NS	1000000l
#define KVM_HOST_TICK_IDLE_NS	10000000l

static pid_t kvm_host_tick_pid;		/* under kvm_lock: the process whose tick runs */
static int kvm_host_tick_wake;		/* bumped under kvm_lock as a VM joins vm_list */

/*
 * The tick sleeps in futex(2) on a word nobody wakes, not nanosleep(2): a
 * VMM that sandboxes itself with a seccomp allow-list synced to all its
 * threads (Solo5's hvt: SECCOMP_FILTER_FLAG_TSYNC, default kill) allows
 * futex, which every threaded program needs, and not necessarily any sleep
 * call.  An interrupted wait ends the tick early, which is harmless.
 */
static int kvm_host_tick_word;

static void kvm_host_tick_sleep(const struct timespec *ts)
{
	syscall(SYS_futex, &kvm_host_tick_word, FUTEX_WAIT_PRIVATE, 0, ts, NULL, 0);
}

/*
 * kvm_host_tick_start() returns only once the thread runs: its start-up
 * (glibc registers rseq(2) for every new thread) must not fall after a
 * sandbox the VMM installs next, whose filter would kill it for that call.
 * Set by the thread, under kvm_lock held by the starter.
 */
static int kvm_host_tick_running;

static void *kvm_host_tick_thread(void *arg)
{
	unsigned int idle = 0;

	__atomic_store_n(&kvm_host_tick_running, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &kvm_host_tick_running, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	for (;;) {
		struct timespec ts = { 0, idle >= 1000 ? KVM_HOST_TICK_IDLE_NS : KVM_HOST_TICK_NS };
		int kicked = 0;

		kvm_host_tick_sleep(&ts);
		pthread_mutex_lock(&kvm_lock);
		while (!vm_list) {
			int seen = kvm_host_tick_wake;

			pthread_mutex_unlock(&kvm_lock);
			syscall(SYS_futex, &kvm_host_tick_wake, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
			pthread_mutex_lock(&kvm_lock);
			idle = 0;
		}
		for (struct kvm *kvm = vm_list; kvm; kvm = kvm->vm_list_next)
			kicked += kvm_arch_host_tick(kvm);
		pthread_mutex_unlock(&kvm_lock);
		idle = kicked ? 0 : idle + 1;
	}
	return NULL;	/* not reached: the thread parks, never exits */
}

/*
 * fork() while the tick (or another thread) holds kvm_lock would leave it
 * locked for good in the child: the forking thread takes it first.
 */
static void kvm_lock_atfork_prepare(void) { pthread_mutex_lock(&kvm_lock); }
static void kvm_lock_atfork_release(void) { pthread_mutex_unlock(&kvm_lock); }
static pthread_once_t kvm_atfork_once = PTHREAD_ONCE_INIT;

static void kvm_atfork_init(void)
{
	pthread_atfork(kvm_lock_atfork_prepare, kvm_lock_atfork_release, kvm_lock_atfork_release);
}

/* Under kvm_lock, with a VM on vm_list: the tick runs in this process. */
static void kvm_host_tick_start(void)
{
	pid_t pid = getpid();
	pthread_attr_t attr;
	pthread_t th;

	if (kvm_host_tick_pid == pid) {
		/* Parked if vm_list was empty; a spurious wake costs one tick. */
		__atomic_store_n(&kvm_host_tick_wake, kvm_host_tick_wake + 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &kvm_host_tick_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		return;
	}
	pthread_once(&kvm_atfork_once, kvm_atfork_init);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	__atomic_store_n(&kvm_host_tick_running, 0, __ATOMIC_RELAXED);
	if (!pthread_create(&th, &attr, kvm_host_tick_thread, NULL)) {
		kvm_host_tick_pid = pid;
		while (!__atomic_load_n(&kvm_host_tick_running, __ATOMIC_ACQUIRE))
			syscall(SYS_futex, &kvm_host_tick_running, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	}
	pthread_attr_destroy(&attr);
}

bool kvm_hva_range_mapped(hva_t hva, u64 len)
{
	u64 start = hva & ~(PAGE_SIZE - 1);

	return !msync((void *)(uintptr_t)start, ALIGN_UP(hva + len, PAGE_SIZE) - start, MS_ASYNC);
}

/*
 * For each VM whose memslots map part of [start, end): the slots lose
 * hva_checked (later accesses check their page), the MMU drops the
 * mappings and holds off new ones (kvm_arch_mmu_invalidate_begin), every
 * vCPU flushes its TLB, and KVM's own accesses that trusted the old state
 * finish (SRCU) or wait (mmu_notifier_lock) before the memory goes.
 * kvm_lock is held until _end(), so no VM goes away meanwhile (a VM being
 * destroyed has left vm_list before it unmaps anything of its own), and
 * each VM's slots_lock, so no slot is made over the range meanwhile.
 */
void kvm_mmu_notifier_invalidate_range_start(hva_t start, hva_t end)
{
	pthread_mutex_lock(&kvm_lock);
	for (struct kvm *kvm = vm_list; kvm; kvm = kvm->vm_list_next) {
		int idx;

		/*
		 * A VM of the process this one was forked from maps the
		 * parent's memory, not ours (and its locks and vCPU biases
		 * are the parent's threads').
		 */
		if (READ_ONCE(kvm->mm) != kvm_mm_current())
			continue;
		pthread_mutex_lock(&kvm->slots_lock);
		idx = srcu_read_lock(&kvm->srcu);

		for (int as = 0; as < KVM_ADDRESS_SPACE_NUM; as++) {
			struct kvm_memslots *slots = __kvm_memslots(kvm, as);

			for (int i = 0; i < slots->nr; i++) {
				struct kvm_memory_slot *slot = slots->by_gfn[i];
				hva_t s = slot->userspace_addr, e = s + (slot->npages << PAGE_SHIFT);

				if (e <= start || s >= end)
					continue;
				__atomic_store_n(&slot->hva_checked, false, __ATOMIC_SEQ_CST);
				if (!kvm->mmu_invalidating) {
					kvm->mmu_invalidating = true;
					kvm_arch_mmu_invalidate_begin(kvm);
				}
				kvm_arch_mmu_unmap_gfn_range(kvm,
					slot->base_gfn + ((MAX(s, start) - s) >> PAGE_SHIFT),
					slot->base_gfn + ((MIN(e, end) - s + PAGE_SIZE - 1) >> PAGE_SHIFT));
			}
		}
		srcu_read_unlock(&kvm->srcu, idx);
		if (kvm->mmu_invalidating) {
			kvm_synchronize_srcu(kvm);
			pthread_rwlock_wrlock(&kvm->mmu_notifier_lock);
		}
	}
}

void kvm_mmu_notifier_invalidate_range_end(void)
{
	for (struct kvm *kvm = vm_list; kvm; kvm = kvm->vm_list_next) {
		if (READ_ONCE(kvm->mm) != kvm_mm_current())
			continue;	/* the parent's (_start()) */
		if (kvm->mmu_invalidating) {
			kvm->mmu_invalidating = false;
			pthread_rwlock_unlock(&kvm->mmu_notifier_lock);
			kvm_arch_mmu_invalidate_end(kvm);
		}
		pthread_mutex_unlock(&kvm->slots_lock);
	}
	pthread_mutex_unlock(&kvm_lock);
}

bool kvm_hva_access_begin(struct kvm *kvm, const struct kvm_memory_slot *slot, hva_t hva,
			  bool *locked)
{
	*locked = false;
	if (__atomic_load_n(&slot->hva_checked, __ATOMIC_SEQ_CST))
		return true;
	pthread_rwlock_rdlock(&kvm->mmu_notifier_lock);
	if (!kvm_hva_range_mapped(hva, 1)) {
		pthread_rwlock_unlock(&kvm->mmu_notifier_lock);
		return false;
	}
	*locked = true;
	return true;
}

void kvm_hva_access_end(struct kvm *kvm, bool locked)
{
	if (locked)
		pthread_rwlock_unlock(&kvm->mmu_notifier_lock);
}

struct kvm *kvm_create_vm(unsigned long type, int *err)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));
	int r = -ENOMEM;

	if (!kvm)
		goto fail;
	pthread_mutex_init(&kvm->lock, NULL);
	pthread_mutex_init(&kvm->slots_lock, NULL);
	pthread_rwlock_init(&kvm->mmu_notifier_lock, NULL);
	kvm->refcount = 1;
	kvm->stat = &kvm->stat_storage;
	kvm->stats_fd = -1;
	kvm->type = type;
	kvm->mm = kvm_mm_current();
	kvm->max_vcpus = KVM_MAX_VCPUS;
	for (int i = 0; i < KVM_ADDRESS_SPACE_NUM; i++) {
		kvm->memslots[i] = memslots_alloc(0);
		kvm->slots_by_id[i] = calloc(KVM_MEM_SLOTS_NUM, sizeof(struct kvm_memory_slot *));
		if (!kvm->memslots[i] || !kvm->slots_by_id[i])
			goto fail_free;
	}
	r = kvm_arch_init_vm(kvm, type);
	if (r)
		goto fail_free;
	__atomic_fetch_add(&kvm_active_vms, 1, __ATOMIC_ACQ_REL);
	kvm_vm_list_add(kvm);
	kvm_trace("create vm");
	return kvm;

fail_free:
	for (int i = 0; i < KVM_ADDRESS_SPACE_NUM; i++) {
		free(kvm->memslots[i]);
		free(kvm->slots_by_id[i]);
	}
	free(kvm);
fail:
	*err = r;
	return NULL;
}

void kvm_get_kvm(struct kvm *kvm)
{
	__atomic_fetch_add(&kvm->refcount, 1, __ATOMIC_ACQ_REL);
}

static void kvm_destroy_vm(struct kvm *kvm)
{
	kvm_trace("destroy vm (%d vcpus)", kvm->online_vcpus);
	kvm_vm_list_del(kvm);	/* before this VM unmaps anything of its own */
	for (int i = 0; i < kvm->online_vcpus; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		kvm_arch_vcpu_destroy(vcpu);
		kvm_stats_release(vcpu->stats_fd, vcpu->stats_map, vcpu->stats_size);
		munmap(vcpu->mmap_base, KVM_VCPU_MMAP_PAGES * PAGE_SIZE);
				free(vcpu);
	}
	/* No irqfd may inject once the irqchip is gone. */
	kvm_irqfd_release(kvm);
	kvm_ioeventfd_release(kvm);
	kvm_arch_destroy_vm(kvm);
	kvm_stats_release(kvm->stats_fd, kvm->stats_map, kvm->stats_size);
	for (int as = 0; as < KVM_ADDRESS_SPACE_NUM; as++) {
		struct kvm_memslots *slots = kvm->memslots[as];

		for (int i = 0; i < slots->nr; i++) {
			free(slots->by_gfn[i]->dirty_bitmap);
			free(slots->by_gfn[i]);
		}
		free(slots);
		free(kvm->memslots_spare[as]);
		free(kvm->slots_by_id[as]);
	}
	pthread_mutex_destroy(&kvm->lock);
	pthread_mutex_destroy(&kvm->slots_lock);
	pthread_rwlock_destroy(&kvm->mmu_notifier_lock);
	free(kvm);
	__atomic_fetch_sub(&kvm_active_vms, 1, __ATOMIC_ACQ_REL);
}

void kvm_put_kvm(struct kvm *kvm)
{
	if (__atomic_sub_fetch(&kvm->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		kvm_destroy_vm(kvm);
}

void kvm_vm_release(struct kvm *kvm)
{
	kvm_put_kvm(kvm);
}

/* A vCPU lives as long as its VM; its fd only holds a VM reference. */
void kvm_vcpu_release(struct kvm_vcpu *vcpu)
{
	kvm_arch_vcpu_release(vcpu);
	kvm_put_kvm(vcpu->kvm);
}

static struct kvm_vcpu *kvm_get_vcpu_by_id(struct kvm *kvm, int id)
{
	for (int i = 0; i < kvm->online_vcpus; i++)
		if (kvm->vcpus[i]->vcpu_id == id)
			return kvm->vcpus[i];
	return NULL;
}

/*
 * KVM_CREATE_VCPU: the checks and steps of kvm_vm_ioctl_create_vcpu(), in
 * its order.  The descriptor becomes reachable last, when nothing can fail
 * any more, and with vcpu->mutex held so that no vCPU ioctl runs before
 * the vCPU is online.
 */
static int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, unsigned long id)
{
	struct kvm_vcpu *vcpu;
	struct kvm_file *file;
	char name[32];
	void *map;
	int r, fd;

	if (id >= KVM_MAX_VCPU_IDS)
		return -EINVAL;

	pthread_mutex_lock(&kvm->lock);
	if (kvm->created_vcpus >= kvm->max_vcpus) {
		pthread_mutex_unlock(&kvm->lock);
		return -EINVAL;
	}
	r = kvm_arch_vcpu_precreate(kvm, id);
	if (r) {
		pthread_mutex_unlock(&kvm->lock);
		return r;
	}
	/*
	 * Note, KVM looks for a duplicate id only after allocating the vCPU,
	 * and allocates the descriptor after that.  Here the descriptor holds
	 * the run pages, so it comes before kvm_arch_vcpu_create(); looking
	 * here too keeps KVM's answer when both fail (EEXIST, not EMFILE).
	 * The check below stays: two threads may race for one id.
	 */
	if (kvm_get_vcpu_by_id(kvm, id)) {
		pthread_mutex_unlock(&kvm->lock);
		return -EEXIST;
	}
	kvm->created_vcpus++;
	pthread_mutex_unlock(&kvm->lock);

	r = -ENOMEM;
	vcpu = aligned_alloc(64, ALIGN_UP(sizeof(*vcpu), 64ul));
	if (!vcpu)
		goto vcpu_decrement;
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	vcpu->stat = &vcpu->stat_storage;
	vcpu->stats_fd = -1;

	/*
	 * The run pages, where KVM allocates vcpu->run: the fd's memfd holds
	 * struct kvm_run (page 0), the PIO data page (KVM_PIO_PAGE_OFFSET) and
	 * the coalesced MMIO ring (KVM_COALESCED_MMIO_PAGE_OFFSET), and
	 * mmap(vcpu_fd) maps the same pages.  The number is not userkvm's
	 * until kvm_file_install().
	 */
	snprintf(name, sizeof(name), "kvm-vcpu:%lu", id);
	fd = anon_inode_getfile(name, KVM_FILE_VCPU, vcpu, KVM_VCPU_MMAP_PAGES * PAGE_SIZE,
				&map, 1, &file);
	if (fd < 0) {
		r = fd;
		goto vcpu_free;
	}
	vcpu->mmap_base = map;
	vcpu->run = map;
	vcpu->mutex = kvm_file_mutex(file);
	kvm_bias_init();

	r = kvm_arch_vcpu_create(vcpu);
	if (r)
		goto vcpu_free_run_page;

	pthread_mutex_lock(&kvm->lock);
	if (kvm_get_vcpu_by_id(kvm, id)) {
		r = -EEXIST;
		goto unlock_vcpu_destroy;
	}
	vcpu->vcpu_idx = kvm->online_vcpus;
	__atomic_store_n(&kvm->vcpus[vcpu->vcpu_idx], vcpu, __ATOMIC_RELEASE);

	kvm_mutex_lock(vcpu->mutex);
	kvm_get_kvm(kvm);
	kvm_file_install(file);
	__atomic_store_n(&kvm->online_vcpus, kvm->online_vcpus + 1, __ATOMIC_RELEASE);
	kvm_mutex_unlock(vcpu->mutex);
	pthread_mutex_unlock(&kvm->lock);
	return fd;

unlock_vcpu_destroy:
	pthread_mutex_unlock(&kvm->lock);
	kvm_arch_vcpu_destroy(vcpu);
vcpu_free_run_page:
	kvm_file_discard(file);
vcpu_free:
		free(vcpu);
vcpu_decrement:
	pthread_mutex_lock(&kvm->lock);
	kvm->created_vcpus--;
	pthread_mutex_unlock(&kvm->lock);
	return r;
}

/* ------------------------------------------------------------------ */
/* Capabilities and ioctls                                             */
/* ------------------------------------------------------------------ */

/*
 * Report exactly what is implemented.  Capabilities that only make sense
 * with KVM_RUN (immediate exit, internal error data, sync MMU, ...) come with
 * the run loop.
 */
int kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long arg)
{
	switch (arg) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
		return 1;
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return KVM_DIRTY_LOG_MANUAL_CAPS;
	default:
		return kvm_vm_ioctl_check_extension(kvm, arg);
	}
}

static int kvm_vm_ioctl_enable_cap_generic(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: {
		/* KVM_DIRTY_LOG_INITIALLY_SET only comes with manual protection. */
		u64 allowed_options = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

		if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
			allowed_options = KVM_DIRTY_LOG_MANUAL_CAPS;
		if (cap->flags || (cap->args[0] & ~allowed_options))
			return -EINVAL;
		pthread_mutex_lock(&kvm->slots_lock);
		kvm->manual_dirty_log_protect = cap->args[0];
		pthread_mutex_unlock(&kvm->slots_lock);
		return 0;
	}
	default:
		/*
		 * Note, no lock here: as in KVM, each capability of
		 * kvm_vm_ioctl_enable_cap() takes what it needs (kvm->lock for
		 * most), and several take it themselves.
		 */
		return kvm_vm_ioctl_enable_cap(kvm, cap);
	}
}

static int kvm_dev_ioctl_create_vm(unsigned long type)
{
	struct kvm *kvm;
	int r, fd;

	kvm = kvm_create_vm(type, &r);
	if (!kvm)
		return r;
	fd = anon_inode_getfd("kvm-vm", KVM_FILE_VM, kvm, 0, NULL, 1);
	if (fd < 0)
		kvm_put_kvm(kvm);
	return fd;
}

long kvm_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	long r = -EINVAL;

	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			break;
		r = KVM_API_VERSION_NR;
		break;
	case KVM_CREATE_VM:
		r = kvm_dev_ioctl_create_vm(arg);
		break;
	case KVM_CHECK_EXTENSION:
		r = kvm_vm_ioctl_check_extension_generic(NULL, (long)arg);
		break;
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			break;
		r = KVM_VCPU_MMAP_PAGES * PAGE_SIZE;
		break;
	default:
		return kvm_arch_dev_ioctl(ioctl, arg);
	}
	return r;
}

long kvm_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	void *argp = (void *)arg;
	long r;

	if (READ_ONCE(kvm->mm) != kvm_mm_current())	/* another process's, or bugged */
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		r = kvm_vm_ioctl_create_vcpu(kvm, arg);
		break;
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap cap;

		r = copy_from_user(&cap, argp, sizeof(cap));
		if (r)
			break;
		r = kvm_vm_ioctl_enable_cap_generic(kvm, &cap);
		break;
	}
	case KVM_SET_USER_MEMORY_REGION2:
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region2 mem;
		unsigned long size;

		/* The v1 struct is a prefix of the v2 one. */
		if (ioctl == KVM_SET_USER_MEMORY_REGION)
			size = sizeof(struct kvm_userspace_memory_region);
		else
			size = sizeof(struct kvm_userspace_memory_region2);
		memset(&mem, 0, sizeof(mem));
		r = copy_from_user(&mem, argp, size);
		if (r)
			break;
		r = -EINVAL;
		if (ioctl == KVM_SET_USER_MEMORY_REGION &&
		    (mem.flags & ~(u32)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)))
			break;
		r = kvm_vm_ioctl_set_memory_region(kvm, &mem);
		break;
	}
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		r = copy_from_user(&log, argp, sizeof(log));
		if (r)
			break;
		r = kvm_vm_ioctl_get_dirty_log(kvm, &log);
		break;
	}
	case KVM_CLEAR_DIRTY_LOG: {
		struct kvm_clear_dirty_log log;

		r = copy_from_user(&log, argp, sizeof(log));
		if (r)
			break;
		r = kvm_vm_ioctl_clear_dirty_log(kvm, &log);
		break;
	}
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd data;

		r = copy_from_user(&data, argp, sizeof(data));
		if (r)
			break;
		r = kvm_ioeventfd(kvm, &data);
		break;
	}
	case KVM_IRQFD: {
		struct kvm_irqfd data;

		r = copy_from_user(&data, argp, sizeof(data));
		if (r)
			break;
		r = kvm_irqfd(kvm, &data);
		break;
	}
	case KVM_CHECK_EXTENSION:
		r = kvm_vm_ioctl_check_extension_generic(kvm, (long)arg);
		break;
	case KVM_GET_STATS_FD:
		r = kvm_vm_ioctl_get_stats_fd(kvm);
		break;
	default:
		r = kvm_arch_vm_ioctl(kvm, ioctl, arg);
	}
	return r;
}

long kvm_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg)
{
	bool biased;
	long r;

	if (ioctl == KVM_RUN)
		return kvm_vcpu_ioctl_run(vcpu, arg);
	if (READ_ONCE(vcpu->kvm->mm) != kvm_mm_current())	/* another process's, or bugged */
		return -EIO;
	if (unlikely(_IOC_TYPE(ioctl) != KVMIO))
		return -EINVAL;

	/* On the thread that runs the vCPU, under its bias (kvm/mutex.h). */
	biased = kvm_mutex_lock_biased(vcpu->mutex);
	switch (ioctl) {
	case KVM_GET_STATS_FD:
		r = kvm_vcpu_ioctl_get_stats_fd(vcpu);
		break;
	default:
		r = kvm_arch_vcpu_ioctl(vcpu, ioctl, arg);
	}
	kvm_mutex_unlock_biased(vcpu->mutex, biased);
	return r;
}
