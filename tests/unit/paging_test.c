// SPDX-License-Identifier: MIT
/*
 * KVM's guest page-table walker (src/x86/mmu/paging_tmpl.h) on hand-built
 * tables in every paging mode: translations, huge pages, A/D updates and
 * the #PF error codes of SDM Vol. 3A 4.7.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "../test.h"
#include "kvm/kvm_host.h"
#include "x86/mmu/mmu.h"
#include "x86/mmu/paging.h"
#include "x86/mmu/walk_cache.h"

#define P 1ull
#define W 2ull
#define U 4ull
#define A (1ull << 5)
#define D (1ull << 6)
#define PS (1ull << 7)
#define NX (1ull << 63)

#define T_CR0_PG (1ull << 31)
#define T_CR0_WP (1ull << 16)
#define T_CR0_PE 1ull
#define T_CR4_PSE (1ull << 4)
#define T_CR4_PAE (1ull << 5)
#define T_CR4_LA57 (1ull << 12)
#define T_CR4_SMEP (1ull << 20)
#define T_CR4_SMAP (1ull << 21)
#define T_EFER_LME (1ull << 8)
#define T_EFER_LMA (1ull << 10)
#define T_EFER_NX (1ull << 11)

static struct kvm *vm;
static u8 *ram;			/* guest-physical 0 .. 16 MiB */
#define RAM_SIZE (16u << 20)

static void begin(void)
{
	struct kvm_userspace_memory_region2 mem = { 0 };
	int err;

	vm = kvm_create_vm(0, &err);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
}

static void end(void)
{
	kvm_put_kvm(vm);
	munmap(ram, RAM_SIZE);
}

static u64 *pte64(u64 table, int index) { return (u64 *)(ram + table) + index; }
static u32 *pte32(u64 table, int index) { return (u32 *)(ram + table) + index; }

static u64 walk(const struct kvm_walk_mode *m, u64 gva, u32 access, struct x86_exception *f)
{
	int idx = srcu_read_lock(&vm->srcu);
	u64 gpa;

	memset(f, 0, sizeof(*f));
	gpa = kvm_walk_gva(vm, m, gva, access, true, f);
	srcu_read_unlock(&vm->srcu, idx);
	return gpa;
}

#define EXPECT_PF(m, gva, access, ec)						\
	do {									\
		struct x86_exception __f;					\
		u64 __g = walk(m, gva, access, &__f);				\
		CHECK(__g == INVALID_GPA, "gva %#llx mapped to %#llx",		\
		      (unsigned long long)(gva), (unsigned long long)__g);	\
		CHECK_EQ(__f.vector, PF_VECTOR);				\
		CHECK_EQ(__f.error_code, ec);					\
		CHECK_EQ(__f.address, gva);					\
	} while (0)

#define EXPECT_GPA(m, gva, access, gpa)						\
	do {									\
		struct x86_exception __f;					\
		u64 __g = walk(m, gva, access, &__f);				\
		CHECK(__g == (gpa), "gva %#llx -> %#llx, want %#llx (ec %#x)",	\
		      (unsigned long long)(gva), (unsigned long long)__g,	\
		      (unsigned long long)(gpa), __f.error_code);		\
	} while (0)

/*
 * 4-level: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
 *  gva 0x0000_0040_0000 -> 4K pages via PT; 0x0000_0060_0000 2M page at 0x800000;
 *  gva 0x0000_0080_0000_0000 (PML4[1]... ) unused; 1G page at PDPT[1] -> 0 (gpa 0).
 */
static struct kvm_walk_mode setup_4level(void)
{
	struct kvm_walk_mode m = { .cr0 = T_CR0_PG | T_CR0_PE | T_CR0_WP, .cr3 = 0x1000,
				   .cr4 = T_CR4_PAE, .efer = T_EFER_LME | T_EFER_LMA | T_EFER_NX,
				   .maxphyaddr = 48 };

	*pte64(0x1000, 0) = 0x2000 | P | W | U;
	*pte64(0x2000, 0) = 0x3000 | P | W | U;
	*pte64(0x2000, 1) = 0x0 | P | W | PS;			/* 1 GiB supervisor page */
	*pte64(0x3000, 2) = 0x4000 | P | W | U;			/* 0x400000 */
	*pte64(0x3000, 3) = 0x800000 | P | W | U | PS;		/* 0x600000: 2 MiB */
	*pte64(0x4000, 0) = 0x123000 | P | W | U;		/* user rw */
	*pte64(0x4000, 1) = 0x124000 | P | U;			/* user ro */
	*pte64(0x4000, 2) = 0x125000 | P | W;			/* supervisor rw */
	*pte64(0x4000, 3) = 0x126000 | P | W | U | NX;		/* user rw, no exec */
	*pte64(0x4000, 4) = 0x127000 | P | W | U | (1ull << 50);/* reserved: above MAXPHYADDR */
	*pte64(0x4000, 5) = 0x128000 | P;			/* supervisor ro */
	return m;
}

static void test_4level(void)
{
	struct kvm_walk_mode m;

	begin();
	m = setup_4level();
	EXPECT_GPA(&m, 0x400abc, 0, 0x123abc);
	CHECK(*pte64(0x4000, 0) & A, "A not set on read");
	CHECK(!(*pte64(0x4000, 0) & D), "D set on read");
	CHECK(*pte64(0x1000, 0) & A, "A not set in PML4E");
	EXPECT_GPA(&m, 0x400abc, PFERR_WRITE_MASK | PFERR_USER_MASK, 0x123abc);
	CHECK(*pte64(0x4000, 0) & D, "D not set on write");
	/* 2 MiB and 1 GiB pages */
	EXPECT_GPA(&m, 0x612345, 0, 0x812345);
	EXPECT_GPA(&m, 0x40000000 + 0x1234567, 0, 0x1234567);
	/* user write to a read-only page: P|W|U */
	EXPECT_PF(&m, 0x401000, PFERR_WRITE_MASK | PFERR_USER_MASK, 0x7);
	/* supervisor write to read-only: fault with WP, allowed without */
	EXPECT_PF(&m, 0x405000, PFERR_WRITE_MASK, 0x3);
	m.cr0 &= ~T_CR0_WP;
	EXPECT_GPA(&m, 0x405000, PFERR_WRITE_MASK, 0x128000);
	m.cr0 |= T_CR0_WP;
	/* user access to a supervisor page: P|U */
	EXPECT_PF(&m, 0x402000, PFERR_USER_MASK, 0x5);
	EXPECT_PF(&m, 0x40000000, PFERR_USER_MASK, 0x5);
	/* not present: P clear */
	EXPECT_PF(&m, 0x406000, 0, 0x0);
	EXPECT_PF(&m, 0x406000, PFERR_USER_MASK | PFERR_WRITE_MASK, 0x6);
	EXPECT_PF(&m, 0x8000000000ull, 0, 0x0);		/* PML4[1] empty */
	/* execute-disable: I/D with NXE */
	EXPECT_PF(&m, 0x403000, PFERR_FETCH_MASK | PFERR_USER_MASK, 0x15);
	EXPECT_GPA(&m, 0x403000, PFERR_USER_MASK, 0x126000);
	/* reserved bits: P|RSVD (plus the access bits) */
	EXPECT_PF(&m, 0x404000, 0, 0x9);
	EXPECT_PF(&m, 0x404000, PFERR_WRITE_MASK, 0xb);
	/* NX bit with EFER.NXE clear is reserved */
	m.efer &= ~T_EFER_NX;
	EXPECT_PF(&m, 0x403000, PFERR_USER_MASK, 0xd);
	m.efer |= T_EFER_NX;
	/* SMEP: supervisor fetch from a user page; SMAP: supervisor data access */
	m.cr4 |= T_CR4_SMEP;
	EXPECT_PF(&m, 0x400000, PFERR_FETCH_MASK, 0x11);
	EXPECT_GPA(&m, 0x402000, PFERR_FETCH_MASK, 0x125000);
	m.cr4 |= T_CR4_SMAP;
	m.smap_check = true;
	EXPECT_PF(&m, 0x400000, 0, 0x1);
	m.smap_check = false;	/* EFLAGS.AC=1 */
	EXPECT_GPA(&m, 0x400000, 0, 0x123000);
	/* non-canonical: #GP */
	{
		struct x86_exception f;

		CHECK_EQ(walk(&m, 0x0000800000000000ull, 0, &f), INVALID_GPA);
		CHECK_EQ(f.vector, GP_VECTOR);
	}
	/* PS in a PML4E is reserved */
	*pte64(0x1000, 2) = 0x0 | P | W | PS;
	EXPECT_PF(&m, 0x10000000000ull, 0, 0x9);
	end();
}

static void test_5level(void)
{
	struct kvm_walk_mode m;

	begin();
	m = setup_4level();
	/* PML5 at 0x5000: entry 1 -> the 4-level PML4 (covers 2^48 .. 2^49) */
	*pte64(0x5000, 1) = 0x1000 | P | W | U;
	m.cr3 = 0x5000;
	m.cr4 |= T_CR4_LA57;
	EXPECT_GPA(&m, (1ull << 48) + 0x400abc, 0, 0x123abc);
	EXPECT_PF(&m, 0x400abc, 0, 0x0);	/* PML5[0] empty */
	/* canonical in 57 bits, not in 48 */
	EXPECT_GPA(&m, (1ull << 48) + 0x612345, 0, 0x812345);
	end();
}

static void test_pae(void)
{
	struct kvm_walk_mode m = { .cr0 = T_CR0_PG | T_CR0_PE | T_CR0_WP, .cr3 = 0x1000,
				   .cr4 = T_CR4_PAE, .efer = T_EFER_NX, .maxphyaddr = 48 };

	begin();
	m.pdptrs[0] = 0x3000 | P;
	m.pdptrs[3] = 0x6000 | P;
	*pte64(0x3000, 2) = 0x4000 | P | W | U;
	*pte64(0x3000, 3) = 0x800000 | P | W | U | PS;
	*pte64(0x4000, 0) = 0x123000 | P | W | U;
	*pte64(0x4000, 1) = 0x124000 | P | W | U | NX;
	*pte64(0x6000, 511) = 0x7000 | P | W;
	*pte64(0x7000, 511) = 0xabc000 | P | W;
	EXPECT_GPA(&m, 0x400123, 0, 0x123123);
	EXPECT_GPA(&m, 0x7fffff, 0, 0x9fffff);
	EXPECT_GPA(&m, 0xfffff123, 0, 0xabc123);
	EXPECT_PF(&m, 0x401000, PFERR_FETCH_MASK, 0x11);
	EXPECT_PF(&m, 0x40000000, 0, 0x0);		/* PDPTE 1 not present */
	/* only the low 32 bits of the address count */
	EXPECT_GPA(&m, 0x100400123ull, 0, 0x123123);
	end();
}

static void test_32bit(void)
{
	struct kvm_walk_mode m = { .cr0 = T_CR0_PG | T_CR0_PE, .cr3 = 0x1000, .maxphyaddr = 40 };

	begin();
	*pte32(0x1000, 1) = 0x2000 | P | W | U;			/* 0x400000.. */
	*pte32(0x2000, 3) = 0x345000 | P | W | U;
	*pte32(0x1000, 2) = 0xc00000 | P | W | PS;		/* 4 MiB page */
	*pte32(0x1000, 3) = 0x00400000 | (0x3u << 13) | P | PS;	/* PSE-36: gpa 0x3_0040_0000 */
	*pte32(0x1000, 4) = 0x2000 | P | W | U | (1u << 21) | PS;/* bit 21 reserved */
	EXPECT_GPA(&m, 0x403abc, 0, 0x345abc);
	CHECK(*pte32(0x2000, 3) & A, "A not set");
	EXPECT_GPA(&m, 0x403abc, PFERR_WRITE_MASK, 0x345abc);
	CHECK(*pte32(0x2000, 3) & D, "D not set");
	/* without CR4.PSE the PS bit is ignored: PDE 2 points to a "table" at 0xc00000 */
	EXPECT_PF(&m, 0x812345, 0, 0x0);
	m.cr4 = T_CR4_PSE;
	EXPECT_GPA(&m, 0x812345, 0, 0xc12345);
	EXPECT_GPA(&m, 0xc01234, 0, 0x300401234ull);
	EXPECT_PF(&m, 0x1000000, 0, 0x9);
	/* no execute-disable in 32-bit paging: a fetch has no I/D bit */
	EXPECT_PF(&m, 0x1800000, PFERR_FETCH_MASK, 0x0);
	/* user access to the supervisor 4 MiB page */
	EXPECT_PF(&m, 0x812345, PFERR_USER_MASK, 0x5);
	/* PSE-36 address bits at or above MAXPHYADDR are reserved */
	*pte32(0x1000, 5) = 0x00400000 | (0xffu << 13) | P | PS;
	EXPECT_GPA(&m, 0x1400000, 0, 0xff00400000ull);	/* MAXPHYADDR 40: all valid */
	m.maxphyaddr = 36;
	EXPECT_PF(&m, 0x1400000, 0, 0x9);
	end();
}

static void test_nonpaged(void)
{
	struct kvm_walk_mode m = { .cr0 = T_CR0_PE };

	begin();
	EXPECT_GPA(&m, 0x12345678, 0, 0x12345678);
	EXPECT_GPA(&m, 0x112345678ull, 0, 0x12345678);	/* 32-bit linear addresses */
	end();
}

/*
 * A/D updates are guest memory writes: with dirty logging they log the
 * table pages they touch (KVM's update_accessed_dirty_bits()), and in a
 * read-only slot they are not made (the tables stay as they were).
 */
static void test_ad_dirty_log_and_readonly(void)
{
	struct kvm_userspace_memory_region2 mem = { 0 };
	struct kvm_memory_slot *slot;
	struct kvm_walk_mode m;
	u8 *rom;

	begin();
	m = setup_4level();
	mem.flags = KVM_MEM_LOG_DIRTY_PAGES;
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	slot = id_to_memslot(vm, 0, 0);
	CHECK(slot && slot->dirty_bitmap, "dirty bitmap");
	if (!slot || !slot->dirty_bitmap) {
		end();
		return;
	}
	CHECK_EQ(slot->dirty_bitmap[0], 0);
	EXPECT_GPA(&m, 0x400abc, 0, 0x123abc);
	/* PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000: gfns 1-4 */
	CHECK_EQ(slot->dirty_bitmap[0], 0x1eul);
	slot->dirty_bitmap[0] = 0;
	EXPECT_GPA(&m, 0x400abc, 0, 0x123abc);		/* A already set: no write */
	CHECK_EQ(slot->dirty_bitmap[0], 0);
	EXPECT_GPA(&m, 0x400abc, PFERR_WRITE_MASK, 0x123abc);	/* D in the PT */
	CHECK_EQ(slot->dirty_bitmap[0], 0x10ul);

	/* The same tables copied into a read-only slot at 16 MiB. */
	rom = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(rom, ram, 0x5000);
	for (u64 t = 0x1000; t <= 0x4000; t += 0x1000)
		for (int i = 0; i < 512; i++) {
			u64 *e = (u64 *)(rom + t) + i;

			*e &= ~(A | D);
			if ((*e & P) && !(*e & PS) && t < 0x4000)
				*e += RAM_SIZE;		/* the next table, in the copy */
		}
	mem.slot = 1;
	mem.flags = KVM_MEM_READONLY;
	mem.guest_phys_addr = RAM_SIZE;
	mem.memory_size = 0x10000;
	mem.userspace_addr = (u64)(uintptr_t)rom;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	m.cr3 = RAM_SIZE + 0x1000;
	EXPECT_GPA(&m, 0x400abc, PFERR_WRITE_MASK, 0x123abc);
	CHECK_EQ(*(u64 *)(rom + 0x1000) & A, 0);
	CHECK_EQ(*(u64 *)(rom + 0x4000) & (A | D), 0);
	end();
	munmap(rom, 0x10000);
}

/*
 * A table page whose host memory is unmapped and mapped again while
 * walks go on: every walk gives the translation or, with the page gone,
 * the reserved-bit fault of a table outside memory; none reads the page
 * while it is unmapped (that would crash: the walker reads it under the
 * MMU notifier's lock once the slot is no longer known to be mapped).
 */
struct unmap_race {
	int stop;
	long walks;
	u64 pt[512];
};

static void *unmap_thread(void *arg)
{
	struct unmap_race *r = arg;

	for (int n = 0; n < 300; n++) {
		/* a walk between each two unmaps, however the threads are scheduled */
		while (__atomic_load_n(&r->walks, __ATOMIC_ACQUIRE) <= n)
			sched_yield();
		/* munmap() is the library's: the MMU notifier runs around it */
		munmap(ram + 0x4000, 4096);
		if (mmap(ram + 0x4000, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			break;
		memcpy(ram + 0x4000, r->pt, sizeof(r->pt));
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_table_unmapped_during_walks(void)
{
	struct unmap_race r = { 0 };
	struct kvm_walk_mode m;
	pthread_t th;
	long ok = 0, gone = 0, bad = 0;

	begin();
	m = setup_4level();
	memcpy(r.pt, ram + 0x4000, sizeof(r.pt));
	CHECK_EQ(pthread_create(&th, NULL, unmap_thread, &r), 0);
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		struct x86_exception f;
		u64 gpa = walk(&m, 0x400abc, 0, &f);

		__atomic_fetch_add(&r.walks, 1, __ATOMIC_RELEASE);
		if (gpa == 0x123abc)
			ok++;
		else if (gpa == INVALID_GPA && f.error_code == (PFERR_PRESENT_MASK | PFERR_RSVD_MASK))
			gone++;
		else if (!(gpa == INVALID_GPA && f.error_code == 0))	/* zeroed page: not present */
			bad++;
	}
	pthread_join(th, NULL);
	CHECK_EQ(bad, 0);
	CHECK(ok + gone >= 300, "%ld walks", ok + gone);
	/* mapped again: the walks find it (page by page now) */
	EXPECT_GPA(&m, 0x400abc, 0, 0x123abc);
	/* and without the page, the fault */
	munmap(ram + 0x4000, 4096);
	EXPECT_PF(&m, 0x400abc, 0, 0x9);
	end();
}

static struct kvm_walk_cache wcache;

static u64 cwalk(const struct kvm_walk_mode *m, u64 gva, u32 access, struct x86_exception *f)
{
	int idx = srcu_read_lock(&vm->srcu);
	u64 gpa;

	memset(f, 0, sizeof(*f));
	gpa = kvm_walk_gva_cached(vm, &wcache, m, gva, access, true, f);
	srcu_read_unlock(&vm->srcu, idx);
	return gpa;
}

#define EXPECT_CGPA(m, gva, access, want)					\
	do {									\
		struct x86_exception __f;					\
		CHECK_EQ(cwalk(m, gva, access, &__f), (u64)(want));		\
	} while (0)

/*
 * kvm_walk_gva_cached() gives what a walk of the tables as they are now
 * gives, whatever changed since the cached walk: an entry remapped, made
 * not present or supervisor-only, an A or D bit cleared (the walk sets it
 * again), the mode, the access, the memslots.
 */
static void test_walk_cache(void)
{
	const u32 F = PFERR_FETCH_MASK;
	struct kvm_userspace_memory_region2 mem = { 0 };
	struct kvm_walk_mode m;
	struct x86_exception f;
	u8 *ram2;

	begin();
	memset(&wcache, 0, sizeof(wcache));
	m = setup_4level();
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	/* the page's host address (kvm_walk_cache_host()), only for that page */
	CHECK(kvm_walk_cache_host(vm, &wcache, 0x123abc) == ram + 0x123abc, "host address");
	CHECK(kvm_walk_cache_host(vm, &wcache, 0x124abc) == NULL, "another page");
	EXPECT_CGPA(&m, 0x400def, F, 0x123def);		/* same page, another offset */
	EXPECT_CGPA(&m, 0x401abc, F, 0x124abc);		/* another page */
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	/* the leaf remapped */
	*pte64(0x4000, 0) = 0x130000 | P | W | U | A;
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	/* A cleared in the PML4E and in the leaf: set again */
	*pte64(0x1000, 0) &= ~A;
	*pte64(0x4000, 0) &= ~A;
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	CHECK(*pte64(0x1000, 0) & A, "A not set again in the PML4E");
	CHECK(*pte64(0x4000, 0) & A, "A not set again in the PTE");
	/* a write sets D, once cleared again too */
	EXPECT_CGPA(&m, 0x400abc, PFERR_WRITE_MASK, 0x130abc);
	CHECK(*pte64(0x4000, 0) & D, "D not set");
	EXPECT_CGPA(&m, 0x400abc, PFERR_WRITE_MASK, 0x130abc);
	*pte64(0x4000, 0) &= ~D;
	EXPECT_CGPA(&m, 0x400abc, PFERR_WRITE_MASK, 0x130abc);
	CHECK(*pte64(0x4000, 0) & D, "D not set again");
	/* the access: a user fetch of a supervisor page faults */
	*pte64(0x4000, 0) &= ~U;
	CHECK_EQ(cwalk(&m, 0x400abc, F, &f), 0x130abc);
	CHECK_EQ(cwalk(&m, 0x400abc, F | PFERR_USER_MASK, &f), INVALID_GPA);
	CHECK_EQ(f.error_code, 0x15);
	/* the mode: SMEP with a user page */
	*pte64(0x4000, 0) |= U;
	CHECK_EQ(cwalk(&m, 0x400abc, F, &f), 0x130abc);
	m.cr4 |= T_CR4_SMEP;
	CHECK_EQ(cwalk(&m, 0x400abc, F, &f), INVALID_GPA);
	CHECK_EQ(f.error_code, 0x11);
	m.cr4 &= ~T_CR4_SMEP;
	/* a middle level made not present, then back */
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	*pte64(0x3000, 2) &= ~P;
	CHECK_EQ(cwalk(&m, 0x400abc, F, &f), INVALID_GPA);
	CHECK_EQ(f.error_code, 0x10);
	*pte64(0x3000, 2) |= P;
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	/* CR3 elsewhere: a copy of the tables with another leaf */
	memcpy(ram + 0x11000, ram + 0x1000, 0x4000);
	*pte64(0x11000, 0) = 0x12000 | P | W | U;
	*pte64(0x12000, 0) = 0x13000 | P | W | U;
	*pte64(0x13000, 2) = 0x14000 | P | W | U;
	*pte64(0x14000, 0) = 0x140000 | P | W | U;
	m.cr3 = 0x11000;
	EXPECT_CGPA(&m, 0x400abc, F, 0x140abc);
	m.cr3 = 0x1000;
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	/* the memslot now backed by other host memory, the same tables but the leaf */
	ram2 = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(ram2, ram, 0x20000);
	((u64 *)(ram2 + 0x4000))[0] = 0x150000 | P | W | U | A;
	mem.memory_size = 0;	/* deleted, then made again over ram2 */
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram2;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	EXPECT_CGPA(&m, 0x400abc, F, 0x150abc);
	CHECK(kvm_walk_cache_host(vm, &wcache, 0x150abc) == ram2 + 0x150abc, "host address, new slot");
	mem.memory_size = 0;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	CHECK(kvm_walk_cache_host(vm, &wcache, 0x150abc) == NULL, "slot deleted");
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram2;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	mem.memory_size = 0;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	munmap(ram2, RAM_SIZE);
	end();
}

/*
 * The look-up, by kvm_walk_cache_lookup_host() and by the fetch's
 * kvm_walk_cache_lookup_fetch() with @m's registers (a fetch mode:
 * smap_check false): the same answer.
 */
static void *clookup(const struct kvm_walk_mode *m, u64 gva, u32 access)
{
	int idx = srcu_read_lock(&vm->srcu);
	void *host = kvm_walk_cache_lookup_host(vm, &wcache, m, gva, access, true);
	const void *fetch = kvm_walk_cache_lookup_fetch(vm, &wcache, m->cr0, m->cr3, m->cr4, m->efer,
							m->maxphyaddr, m->pdptrs, gva, access);

	srcu_read_unlock(&vm->srcu, idx);
	CHECK(!m->smap_check && fetch == host, "fetch look-up %p, look-up %p", fetch, host);
	return host;
}

/*
 * kvm_walk_cache_lookup_host() (the emulator's fetch): the host address
 * only when the cached walk would answer the walk, else NULL with nothing
 * written (no A bit set again): a changed entry, another access, another
 * page or mode, a deleted slot.
 */
static void test_walk_cache_lookup_host(void)
{
	const u32 F = PFERR_FETCH_MASK;
	struct kvm_userspace_memory_region2 mem = { 0 };
	struct kvm_walk_mode m;

	begin();
	memset(&wcache, 0, sizeof(wcache));
	m = setup_4level();
	CHECK(clookup(&m, 0x400abc, F) == NULL, "empty cache");
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x123abc, "hit");
	CHECK(clookup(&m, 0x400def, F) == ram + 0x123def, "hit, other offset");
	CHECK(clookup(&m, 0x401abc, F) == NULL, "other page");
	CHECK(clookup(&m, 0x400abc, F | PFERR_USER_MASK) == NULL, "other access");
	m.cr4 |= T_CR4_SMEP;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other mode");
	m.cr4 &= ~T_CR4_SMEP;
	/* each register of the mode: another CR3 (same tables' values), CR0, EFER, MAXPHYADDR */
	m.cr3 ^= 0x10;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other CR3");
	m.cr3 ^= 0x10;
	m.cr0 &= ~T_CR0_WP;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other CR0");
	m.cr0 |= T_CR0_WP;
	m.efer &= ~T_EFER_NX;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other EFER");
	m.efer |= T_EFER_NX;
	m.maxphyaddr = 40;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other MAXPHYADDR");
	m.maxphyaddr = 48;
	/* PDPTEs not read by 4-level paging: not compared */
	m.pdptrs[1] = 0x5001;
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x123abc, "PDPTEs unread");
	m.pdptrs[1] = 0;
	/* the leaf's A bit cleared: a walk would set it, the look-up does not */
	*pte64(0x4000, 0) &= ~A;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "entry changed");
	CHECK(!(*pte64(0x4000, 0) & A), "the look-up wrote the entry");
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x123abc, "hit after the walk");
	/* the leaf remapped to another page */
	*pte64(0x4000, 0) = 0x130000 | P | W | U | A;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "leaf remapped");
	EXPECT_CGPA(&m, 0x400abc, F, 0x130abc);
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x130abc, "new page");
	/* the slot deleted: no look-up answers from it */
	mem.memory_size = 0;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	CHECK(clookup(&m, 0x400abc, F) == NULL, "slot deleted");
	mem.memory_size = RAM_SIZE;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	end();
}

/* PAE paging: the PDPTE registers are the walk's first level, compared by both look-ups. */
static void test_walk_cache_lookup_pae(void)
{
	const u32 F = PFERR_FETCH_MASK;
	struct kvm_walk_mode m = { .cr0 = T_CR0_PG | T_CR0_PE | T_CR0_WP, .cr3 = 0x1000,
				   .cr4 = T_CR4_PAE, .efer = T_EFER_NX, .maxphyaddr = 48 };

	begin();
	memset(&wcache, 0, sizeof(wcache));
	m.pdptrs[0] = 0x3000 | P;
	*pte64(0x3000, 2) = 0x4000 | P | W | U;
	*pte64(0x4000, 0) = 0x123000 | P | W | U;
	*pte64(0x5000, 2) = 0x4000 | P | W | U;
	EXPECT_CGPA(&m, 0x400abc, F, 0x123abc);
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x123abc, "hit");
	/* another PDPTE for the page's GiB (its PD has the same entry): a walk reads other memory */
	m.pdptrs[0] = 0x5000 | P;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "PDPTE changed");
	m.pdptrs[0] = 0x3000 | P;
	/* one of another GiB: not read by this walk, compared all the same (walk_mode_equal()) */
	m.pdptrs[2] = 0x6000 | P;
	CHECK(clookup(&m, 0x400abc, F) == NULL, "other PDPTE changed");
	m.pdptrs[2] = 0;
	CHECK(clookup(&m, 0x400abc, F) == ram + 0x123abc, "hit again");
	end();
}

int main(void)
{
	RUN_TEST(test_4level);
	RUN_TEST(test_5level);
	RUN_TEST(test_pae);
	RUN_TEST(test_32bit);
	RUN_TEST(test_nonpaged);
	RUN_TEST(test_ad_dirty_log_and_readonly);
	RUN_TEST(test_table_unmapped_during_walks);
	RUN_TEST(test_walk_cache);
	RUN_TEST(test_walk_cache_lookup_host);
	RUN_TEST(test_walk_cache_lookup_pae);
	return test_cases_failed != 0;
}
