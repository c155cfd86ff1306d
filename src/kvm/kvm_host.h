/* SPDX-License-Identifier: MIT */
/*
 * struct kvm and struct kvm_vcpu: the objects of virt/kvm, as in the
 * kernel's include/linux/kvm_host.h.  Architecture state lives in
 * struct kvm_arch / struct kvm_vcpu_arch (src/x86/x86.h).
 */
#ifndef USERKVM_KVM_HOST_H
#define USERKVM_KVM_HOST_H

#include <errno.h>
#include <pthread.h>
#include <userkvm/kvm_compat.h>
#include "util/types.h"
#include "kvm/mutex.h"
#include "kvm/srcu.h"
#include "x86/x86.h"

typedef u64 gpa_t;
typedef u64 gfn_t;
typedef u64 hva_t;

#define KVM_API_VERSION_NR	12
#define KVM_MAX_VCPUS		1024
#define KVM_MAX_VCPU_IDS	4096
/* Slot ids 0..KVM_USER_MEM_SLOTS-1 are the user's, as on x86 KVM. */
#define KVM_MEM_SLOTS_NUM	32767
#define KVM_INTERNAL_MEM_SLOTS	3
#define KVM_USER_MEM_SLOTS	(KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS)
/* One address space: no SMM yet (KVM_CAP_MULTI_ADDRESS_SPACE unreported). */
#define KVM_ADDRESS_SPACE_NUM	1
/* Dirty bitmaps are indexed by unsigned int in KVM; hence this bound. */
#define KVM_MEM_MAX_NR_PAGES	((1ul << 31) - 1)
/* access_ok(): the user half of a 4-level address space. */
#define KVM_TASK_SIZE_MAX	0x7ffffffff000ull
#define KVM_VCPU_MMAP_PAGES	3	/* kvm_run, PIO data, coalesced MMIO ring */
#define KVM_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)

struct kvm_memory_slot {
	gfn_t base_gfn;
	u64 npages;
	unsigned long *dirty_bitmap;	/* NULL unless KVM_MEM_LOG_DIRTY_PAGES */
	hva_t userspace_addr;
	u32 flags;
	u16 id;
	u16 as_id;
	/*
	 * The whole host range was mapped when the slot was made and no unmap
	 * touched it since; otherwise each access checks its page.
	 */
	bool hva_checked;
};

/*
 * A snapshot of one address space's slots, never changed while readers
 * can see it.  Updates edit the inactive copy (memslots_spare), publish it
 * and wait for readers (kvm->srcu) before bringing the other copy up to
 * date, as KVM's two memslot sets.  Slots are sorted by base_gfn for gfn
 * lookups; id_to_memslot() uses the id index.
 */
struct kvm_memslots {
	u64 generation;
	int nr;
	int capacity;				/* entries allocated */
	struct kvm_memory_slot *by_gfn[];	/* nr entries, sorted */
};

struct kvm_vcpu;

/*
 * Statistics (virt/kvm/binary_stats.c): what KVM_GET_STATS_FD shows.  The
 * counters are live: once a stats fd exists they are moved into its memfd
 * mapping (vcpu->stat points there), so a read of the fd sees them now.
 */
#define KVM_STAT_EXIT_REASONS	80
struct kvm_vcpu_stat {
	u64 exits;
	u64 io_exits;
	u64 mmio_exits;
	u64 halt_exits;
	u64 irq_exits;
	u64 irq_window_exits;
	u64 nmi_window_exits;
	u64 signal_exits;
	u64 insn_emulation;
	u64 hypercalls;
	u64 irq_injections;
	u64 nmi_injections;
	/* userkvm's: exits handled by the fastpath (WRMSR, CPUID: vmx_exit_handlers_fastpath()) */
	u64 fastpath_exits;
	u64 halt_successful_poll;	/* a halt ended by an event found while polling */
	u64 halt_wakeup;		/* a halt that slept until a wakeup */
	u64 exit_reason[KVM_STAT_EXIT_REASONS];	/* per VMX basic exit reason */
};

struct kvm_vm_stat {
	u64 remote_tlb_flush;
	u64 mmu_pte_write;
};

struct kvm {
	pthread_mutex_t lock;		/* vCPU creation, VM-wide state */
	pthread_mutex_t slots_lock;	/* serializes memslot updates */
	struct srcu_struct srcu;	/* protects memslots[] readers */
	struct kvm_memslots *memslots[KVM_ADDRESS_SPACE_NUM];
	/*
	 * The array that was active before the last update, for the next one
	 * to reuse (KVM keeps two memslot sets per address space likewise).
	 */
	struct kvm_memslots *memslots_spare[KVM_ADDRESS_SPACE_NUM];
	/* id-indexed view of the active slots, guarded like memslots[] */
	struct kvm_memory_slot **slots_by_id[KVM_ADDRESS_SPACE_NUM];
	u64 nr_memslot_pages;
	u64 generation;

	unsigned long type;
	int refcount;			/* atomic: fds + vCPUs + transient users */
	int created_vcpus;
	int online_vcpus;
	int max_vcpus;
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];	/* by creation index */
	bool manual_dirty_log_protect_set;
	u64 manual_dirty_log_protect;
	bool bugged;			/* KVM_BUG_ON fired: every ioctl -EIO */
	struct kvm_vm_stat *stat, stat_storage;
	int stats_fd;			/* memfd behind KVM_GET_STATS_FD, or -1 */
	void *stats_map;
	size_t stats_size;
	/*
	 * KVM's kvm->mm: the process that made the VM, as a fork
	 * generation (kvm_mm_current()); other processes get -EIO.  Also
	 * KVM_MM_BUGGED once KVM_BUG_ON fired (no generation is), so that
	 * the one compare of every ioctl answers both (kvm_vm_ioctl()).
	 */
	unsigned long mm;

	/* The MMU notifier (kvm_main.c): every VM, and unmaps in progress. */
	struct kvm *vm_list_next;	/* under kvm_lock */
	bool mmu_invalidating;		/* under kvm_lock: this VM saw the current unmap */
	pthread_rwlock_t mmu_notifier_lock;	/* read: KVM touches a checked page */
	struct kvm_irqfds *irqfds;	/* KVM_IRQFD (eventfd.c), NULL until the first */
	struct kvm_ioeventfds *ioeventfds;	/* KVM_IOEVENTFD, likewise */

	struct kvm_arch arch;
};

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;		/* the id userspace chose */
	int vcpu_idx;		/* index in kvm->vcpus[] */
	/*
	 * Held by every vCPU ioctl, as in KVM.  It lives in the vCPU's file
	 * (api/kvm_fd.c kvm_file_mutex()), whose memory is type-stable, so
	 * that KVM_RUN can take it before it holds a reference to the file:
	 * the lock is what keeps the vCPU alive during the run.
	 */
	struct kvm_mutex *mutex;
	struct kvm_run *run;	/* page 0 of the vCPU fd's memfd */
	void *mmap_base;	/* the KVM_VCPU_MMAP_PAGES mapping */
	/* kvm->srcu read sections under the bias (kvm_vcpu_srcu_read_lock()): */
	int srcu_depth;		/* nested */
	unsigned int srcu_seq;	/* odd inside the outermost */
	u64 requests;		/* KVM_REQ_* bits, atomic */
	struct kvm_vcpu_stat *stat, stat_storage;
	int stats_fd;
	void *stats_map;
	size_t stats_size;

	struct kvm_vcpu_arch arch;
};

/*
 * kvm->srcu's read side on the vCPU's own thread while it holds the bias
 * of vcpu->mutex (kvm/mutex.h; every vCPU ioctl holds the mutex, so the
 * bias being the thread's means this is its section): a depth that only
 * that thread writes, with plain stores, instead of the shared counters'
 * two locked instructions (about 9 ns on some hosts, on every MMIO exit).
 * The outermost section makes a sequence odd and its end even again:
 * kvm_synchronize_srcu() waits, after kvm_heavy_barrier() when the vCPU
 * was ever biased to another thread (the same Dekker pair as the bias's
 * own), for an odd sequence to move on, not for the vCPU to be outside,
 * which a vCPU busy with MMIO may seldom be.  Without the bias, the
 * counters.  Returns -1 for the vCPU's own.
 */
static __always_inline int kvm_vcpu_srcu_read_lock(struct kvm_vcpu *vcpu)
{
	if (__builtin_expect(kvm_mutex_bias_mine(vcpu->mutex), 1)) {
		if (__builtin_expect(vcpu->srcu_depth++ == 0, 1))
			__atomic_store_n(&vcpu->srcu_seq,
					 __atomic_load_n(&vcpu->srcu_seq, __ATOMIC_RELAXED) + 1,
					 KVM_BIAS_ENTER_ORDER);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		return -1;
	}
	return srcu_read_lock(&vcpu->kvm->srcu);
}

static __always_inline void kvm_vcpu_srcu_read_unlock(struct kvm_vcpu *vcpu, int idx)
{
	if (__builtin_expect(idx < 0, 1)) {
		if (__builtin_expect(--vcpu->srcu_depth == 0, 1))
			__atomic_store_n(&vcpu->srcu_seq,
					 __atomic_load_n(&vcpu->srcu_seq, __ATOMIC_RELAXED) + 1,
					 __ATOMIC_RELEASE);
		return;
	}
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
}

/* synchronize_srcu(&kvm->srcu), and the vCPUs' own read sections (kvm_main.c). */
void kvm_synchronize_srcu(struct kvm *kvm);

/* Memslot lookups: callers hold kvm->srcu (see kvm_memslots()). */
static inline struct kvm_memslots *__kvm_memslots(struct kvm *kvm, int as_id)
{
	return __atomic_load_n(&kvm->memslots[as_id], __ATOMIC_ACQUIRE);
}

static inline struct kvm_memslots *kvm_memslots(struct kvm *kvm)
{
	return __kvm_memslots(kvm, 0);
}

/* vcpu->requests (KVM_REQ_*), made by other threads, handled before VM entry */
#define KVM_REQ_TLB_FLUSH	0
#define KVM_REQ_EVENT		1

static inline void kvm_make_request(int req, struct kvm_vcpu *vcpu)
{
	__atomic_fetch_or(&vcpu->requests, 1ull << req, __ATOMIC_SEQ_CST);
}

static inline bool kvm_check_request(int req, struct kvm_vcpu *vcpu)
{
	if (!(__atomic_load_n(&vcpu->requests, __ATOMIC_ACQUIRE) & (1ull << req)))
		return false;
	__atomic_fetch_and(&vcpu->requests, ~(1ull << req), __ATOMIC_SEQ_CST);
	return true;
}

#define OUTSIDE_GUEST_MODE	0
#define IN_GUEST_MODE		1
/*
 * Not KVM's: a KVM_RUN that ended in an exit whose next KVM_RUN enters
 * the guest without taking a lock or waiting on anything (x86.c
 * kvm_vcpu_resume_plain()) leaves this, stored before its mutex unlock,
 * so that the next entry needs no full barrier of its own (x86.c
 * vcpu_enter_guest_run(), kvm_flush_remote_tlbs()).
 */
#define ENTERING_GUEST_MODE	2
/*
 * Not KVM's either: entering as ENTERING_GUEST_MODE, but first a
 * completion that may block (an MMIO read's, which emulates): kicked as
 * ENTERING_GUEST_MODE, never waited for by kvm_flush_remote_tlbs(), so
 * the entry from it needs a full barrier, or the bias of vcpu->mutex
 * (whose heavy barrier the flusher pays, kvm/mutex.h).
 */
#define ENTERING_BLOCKABLE_MODE	3

struct kvm_memory_slot *id_to_memslot(struct kvm *kvm, int as_id, int id);
struct kvm_memory_slot *__gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn);
struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, gfn_t gfn);
/* Return: the host address of @gfn, or KVM_HVA_ERR_BAD. */
#define KVM_HVA_ERR_BAD (~0ull)
hva_t gfn_to_hva_memslot(const struct kvm_memory_slot *slot, gfn_t gfn);
hva_t gfn_to_hva(struct kvm *kvm, gfn_t gfn);
/* As gfn_to_hva(), and @writable says whether the slot allows writes. */
hva_t gfn_to_hva_prot(struct kvm *kvm, gfn_t gfn, bool *writable);
void mark_page_dirty_in_slot(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn);
void mark_page_dirty(struct kvm *kvm, gfn_t gfn);

int kvm_set_memory_region(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem);

/* Lifetimes. */
struct kvm *kvm_create_vm(unsigned long type, int *err);
void kvm_get_kvm(struct kvm *kvm);
void kvm_put_kvm(struct kvm *kvm);

/* ioctl entry points, called by the fd layer (src/api/kvm_fd.c). */
long kvm_dev_ioctl(unsigned int ioctl, unsigned long arg);
long kvm_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
long kvm_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl, unsigned long arg);

/*
 * The process's generation (fork() makes a new one, kvm_main.c): a VM
 * belongs to the one that created it (kvm->mm), as to its mm in KVM.
 */
extern unsigned long kvm_mm_generation __attribute__((visibility("hidden")));	/* as kvm_trace_mask */

static inline unsigned long kvm_mm_current(void)
{
	return __atomic_load_n(&kvm_mm_generation, __ATOMIC_RELAXED);
}

/*
 * The vCPU whose processor this thread stays on between its vCPU ioctls
 * (vmx.c: its id, never reused; 0 for none), as a VMCS stays loaded on a
 * pCPU after KVM's vcpu_put().  Every entry into KVM but KVM_RUN calls
 * kvm_sched_out_thread() first (KVM's preempt notifier, kvm_sched_out()):
 * system and VM ioctls, close(), munmap() must not act on a processor that
 * another thread may run or free meanwhile.  Not from a signal handler
 * that interrupted a vCPU ioctl (no KVM entry point is async-signal-safe).
 */
extern __thread u64 kvm_thread_vcpu_loaded __attribute__((tls_model("initial-exec")));
void kvm_arch_sched_out(void);

static __always_inline void kvm_sched_out_thread(void)
{
	if (__builtin_expect(kvm_thread_vcpu_loaded != 0, 0))
		kvm_arch_sched_out();
}

/*
 * KVM_RUN's part under vcpu->mutex, which the caller holds and releases:
 * the checks of every vCPU ioctl (kvm_vcpu_ioctl()), -EINVAL for an
 * argument, the run.
 */
static __always_inline long kvm_vcpu_ioctl_run_held(struct kvm_vcpu *vcpu, unsigned long arg)
{
	if (READ_ONCE(vcpu->kvm->mm) != kvm_mm_current())	/* another process's, or bugged */
		return -EIO;
	/* Note, the result is set on both sides: nothing but @vcpu stays live across the run. */
	if (likely(!arg))
		return kvm_arch_vcpu_ioctl_run(vcpu);
	return -EINVAL;
}

/* The same taking vcpu->mutex (held; released here). */
static __always_inline long __kvm_vcpu_ioctl_run_locked(struct kvm_vcpu *vcpu, unsigned long arg)
{
	long r = kvm_vcpu_ioctl_run_held(vcpu, arg);

	/* vcpu->mutex from @vcpu again, not kept in a register of its own across the run */
	__asm__("" : "+r"(vcpu));
	kvm_mutex_unlock(vcpu->mutex);
	return r;
}

/* KVM_RUN when vcpu->mutex was held by another thread: waits for it (kvm_main.c). */
long kvm_vcpu_ioctl_run_contended(struct kvm_vcpu *vcpu, unsigned long arg);

/*
 * KVM_RUN as kvm_vcpu_ioctl() does it (the checks of every vCPU ioctl,
 * vcpu->mutex, -EINVAL for an argument), inline here so that the fd layer
 * (api/kvm_fd.c) reaches kvm_arch_vcpu_ioctl_run() with no call between.
 */
static __always_inline long kvm_vcpu_ioctl_run(struct kvm_vcpu *vcpu, unsigned long arg)
{
	/*
	 * kvm_mutex_lock() with its wait out of line together with the rest
	 * of the ioctl: no call before the run that @arg would have to be
	 * kept across.
	 */
	if (unlikely(!kvm_mutex_trylock(vcpu->mutex)))
		return kvm_vcpu_ioctl_run_contended(vcpu, arg);
	return __kvm_vcpu_ioctl_run_locked(vcpu, arg);
}
void kvm_vm_release(struct kvm *kvm);
void kvm_vcpu_release(struct kvm_vcpu *vcpu);
void kvm_arch_vcpu_release(struct kvm_vcpu *vcpu);

int kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long arg);
/* KVM_IRQFD (eventfd.c). */
int kvm_irqfd(struct kvm *kvm, struct kvm_irqfd *args);
void kvm_irqfd_release(struct kvm *kvm);
int kvm_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd *args);
bool kvm_ioeventfd_write(struct kvm *kvm, bool pio, u64 addr, int len, const void *val);
void kvm_ioeventfd_release(struct kvm *kvm);
int kvm_vm_ioctl_get_stats_fd(struct kvm *kvm);
int kvm_vcpu_ioctl_get_stats_fd(struct kvm_vcpu *vcpu);
void kvm_stats_release(int fd, void *map, size_t size);
extern const char *const vmx_exit_reason_names[KVM_STAT_EXIT_REASONS];

/* Copies between "user" buffers and the kernel side: -EFAULT on bad pointers. */
int copy_from_user(void *dst, const void *usrc, size_t n);
int copy_to_user(void *udst, const void *src, size_t n);

/* kvm->mm of a VM KVM_BUG_ON() marked: every ioctl's generation compare fails. */
#define KVM_MM_BUGGED	(~0ul)

#define KVM_BUG_ON(cond, kvm)						\
	({								\
		bool __c = !!(cond);					\
		if (unlikely(__c)) {					\
			WRITE_ONCE((kvm)->bugged, true);		\
			WRITE_ONCE((kvm)->mm, KVM_MM_BUGGED);		\
		}							\
		__c;							\
	})

/* VMs created and not yet destroyed, in this process (tests read it). */
long kvm_get_active_vms(void);

/*
 * The MMU notifier: userkvm's guest memory is the process's own, so an
 * unmap of it (api/mmu_notifier.c interposes munmap and mremap) first
 * drops every mapping of it, as kvm_mmu_notifier_invalidate_range_start()
 * and _end() do.  Calls pair; the unmap happens between them.
 */
void kvm_mmu_notifier_invalidate_range_start(hva_t start, hva_t end);
void kvm_mmu_notifier_invalidate_range_end(void);
/* The arch part: drop [start, end) of @kvm's mappings and flush (x86.c). */
void kvm_arch_mmu_unmap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end);
void kvm_arch_mmu_invalidate_begin(struct kvm *kvm);
void kvm_arch_mmu_invalidate_end(struct kvm *kvm);

/*
 * The host tick (kvm_main.c): a thread of the process, the host's timer
 * interrupt, calls kvm_arch_host_tick() for each VM about once per
 * millisecond while VMs exist; the arch kicks the vCPUs that are in guest
 * mode (an EXTERNAL_INTERRUPT exit, as a tick is on a real host) and
 * returns how many it kicked.
 */
int kvm_arch_host_tick(struct kvm *kvm);

/*
 * KVM touching guest memory at @hva (within one page) of @slot: whether it
 * is mapped, as copy_from_user() would find.  A slot unmapped in part is
 * checked page by page, under the notifier's read lock: on true the caller
 * ends with kvm_hva_access_end(@kvm, *@locked).
 */
bool kvm_hva_access_begin(struct kvm *kvm, const struct kvm_memory_slot *slot, hva_t hva,
			  bool *locked);
void kvm_hva_access_end(struct kvm *kvm, bool locked);
/* Whether [hva, hva + len) is mapped in this process (a system call). */
bool kvm_hva_range_mapped(hva_t hva, u64 len);

#endif
