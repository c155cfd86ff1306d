// SPDX-License-Identifier: MIT
/*
 * The TDP MMU: EPT tables built from memslots.  Each case faults GPAs in
 * through kvm_tdp_page_fault() and checks the result with this file's own
 * EPT walk, written from the SDM (29.3.2), not from the MMU's code.
 */
#include <errno.h>
#include <sys/mman.h>

#include "../test.h"
#include "kvm/kvm_host.h"
#include "x86/mmu/mmu.h"
#include "x86/mmu/spte.h"

struct walk {
	bool present, misconfig, r, w, x;
	int level;
	u64 hva;	/* host address of the GPA's byte */
};

/* The SDM's walk, with host virtual addresses in the address fields. */
static struct walk ept_walk(u64 eptp, u64 gpa)
{
	struct walk wk = { 0 };
	u64 *table = (u64 *)(uintptr_t)(eptp & ~0xfffull);

	CHECK_EQ(eptp & 7, 6);		/* WB */
	CHECK_EQ((eptp >> 3) & 7, 3);	/* 4-level */
	for (int level = 4; level >= 1; level--) {
		u64 e = table[(gpa >> (12 + 9 * (level - 1))) & 511];

		if (!(e & 7))
			return wk;
		if ((e & 3) == 2) {	/* write without read: misconfigured */
			wk.misconfig = true;
			return wk;
		}
		if (level == 1 || (e & (1 << 7))) {
			u64 size = 1ull << (12 + 9 * (level - 1));

			wk.present = true;
			wk.r = e & 1;
			wk.w = e & 2;
			wk.x = e & 4;
			wk.level = level;
			CHECK_EQ((e >> 3) & 7, 6);	/* leaf memory type WB */
			wk.hva = (e & 0x000ffffffffff000ull & ~(size - 1)) + (gpa & (size - 1));
			return wk;
		}
		table = (u64 *)(uintptr_t)(e & 0x000ffffffffff000ull);
	}
	return wk;
}

static struct kvm *vm;
static struct kvm_tdp_mmu mmu;

static void *setup(int slot, u64 gpa, u64 size, u32 flags, size_t align)
{
	struct kvm_userspace_memory_region2 mem = { 0 };
	u8 *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	u8 *aligned = (u8 *)ALIGN_UP((uintptr_t)p, align ? align : PAGE_SIZE);

	CHECK(p != MAP_FAILED, "mmap");
	mem.slot = slot;
	mem.flags = flags;
	mem.guest_phys_addr = gpa;
	mem.memory_size = size;
	mem.userspace_addr = (u64)(uintptr_t)aligned;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	return aligned;
}

static int fault(u64 gpa, bool write)
{
	struct kvm_page_fault f = { .addr = gpa, .write = write };
	int idx = srcu_read_lock(&vm->srcu);
	int r = kvm_tdp_page_fault(vm, &mmu, &f);

	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

static void begin(void)
{
	int err;

	vm = kvm_create_vm(0, &err);
	CHECK(vm, "kvm_create_vm: %d", err);
	CHECK_EQ(kvm_tdp_mmu_init(&mmu), 0);
}

static void end(void)
{
	kvm_tdp_mmu_uninit(&mmu);
	kvm_put_kvm(vm);
}

static void test_map_4k_and_hva(void)
{
	u8 *ram;
	struct walk w;

	begin();
	/* 1 MiB + 4 KiB at an odd GPA: no huge page fits */
	ram = setup(0, 0x7000, 0x101000, 0, 0);
	CHECK_EQ(fault(0x7000 + 0x1234, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x8234);
	CHECK(w.present && w.r && w.w && w.x, "perms %d%d%d", w.r, w.w, w.x);
	CHECK_EQ(w.level, 1);
	CHECK_EQ(w.hva, (u64)(uintptr_t)(ram + 0x1234));
	/* the same fault again changes nothing */
	CHECK_EQ(fault(0x8234, true), RET_PF_SPURIOUS);
	/* the last page of the slot */
	CHECK_EQ(fault(0x7000 + 0x100fff, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x7000 + 0x100fff);
	CHECK_EQ(w.hva, (u64)(uintptr_t)(ram + 0x100fff));
	/* a page never faulted is not present */
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x7000 + 0x50000);
	CHECK(!w.present && !w.misconfig, "unfaulted page present");
	end();
}

static void test_mmio_spte(void)
{
	struct walk w;

	begin();
	setup(0, 0, 0x100000, 0, 0);
	/* no slot at 0xfee00000: an MMIO SPTE, i.e. an EPT misconfiguration */
	CHECK_EQ(fault(0xfee00030, false), RET_PF_EMULATE);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0xfee00030);
	CHECK(w.misconfig, "no misconfig SPTE for MMIO");
	CHECK(!w.present, "MMIO mapped to memory");
	/* beyond MAXPHYADDR: refused */
	CHECK_EQ(fault(1ull << 48, false), -EFAULT);
	end();
}

static void test_huge_pages(void)
{
	struct walk w;
	u8 *ram;

	begin();
	/* 1 GiB + 4 MiB at 1 GiB, host buffer 1 GiB aligned: 1G and 2M leaves */
	ram = setup(0, 1ull << 30, (1ull << 30) + (4 << 20), 0, 1ull << 30);
	CHECK_EQ(fault((1ull << 30) + 0x12345678, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), (1ull << 30) + 0x12345678);
	CHECK_EQ(w.level, 3);
	CHECK_EQ(w.hva, (u64)(uintptr_t)(ram + 0x12345678));
	CHECK_EQ(fault((2ull << 30) + 0x300000, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), (2ull << 30) + 0x300000);
	CHECK_EQ(w.level, 2);
	CHECK_EQ(w.hva, (u64)(uintptr_t)(ram + (1ull << 30) + 0x300000));
	end();

	begin();
	/* host buffer misaligned with the GPA by 4 KiB: 4K pages only */
	ram = setup(0, 0, 8 << 20, 0, 2 << 20);
	end();
	begin();
	{
		struct kvm_userspace_memory_region2 mem = { 0 };
		u8 *p = mmap(NULL, 12 << 20, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		u8 *a = (u8 *)ALIGN_UP((uintptr_t)p, 2 << 20) + PAGE_SIZE;

		mem.memory_size = 8 << 20;
		mem.userspace_addr = (u64)(uintptr_t)a;
		CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
		CHECK_EQ(fault(0x400000, false), RET_PF_FIXED);
		w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x400000);
		CHECK_EQ(w.level, 1);
		CHECK_EQ(w.hva, (u64)(uintptr_t)(a + 0x400000));
	}
	end();
	(void)ram;
}

static void test_readonly_slot(void)
{
	struct walk w;

	begin();
	setup(0, 0x100000, 0x10000, KVM_MEM_READONLY, 0);
	CHECK_EQ(fault(0x100000, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x100000);
	CHECK(w.present && w.r && !w.w, "readonly slot perms r%d w%d", w.r, w.w);
	/* a write is emulated (KVM_EXIT_MMIO), never mapped writable */
	CHECK_EQ(fault(0x100000, true), RET_PF_EMULATE);
	CHECK_EQ(fault(0x104000, true), RET_PF_EMULATE);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x104000);
	CHECK(w.present && !w.w, "write fault mapped ROM writable");
	end();
}

static unsigned long dirty_word(int slot_id)
{
	return id_to_memslot(vm, 0, slot_id)->dirty_bitmap[0];
}

static void test_dirty_logging(void)
{
	struct kvm_userspace_memory_region2 mem = { 0 };
	struct kvm_memory_slot *slot;
	struct walk w;
	u8 *ram;

	begin();
	ram = setup(3, 0, 2 << 20, KVM_MEM_LOG_DIRTY_PAGES, 2 << 20);
	/* dirty-logged: 4K mappings even though 2M would fit */
	CHECK_EQ(fault(0x5000, true), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x5000);
	CHECK_EQ(w.level, 1);
	CHECK_EQ(dirty_word(3), 1ul << 5);
	/* harvest: write-protect page 5 again; the next write faults and re-dirties */
	slot = id_to_memslot(vm, 0, 3);
	slot->dirty_bitmap[0] = 0;
	CHECK(kvm_arch_mmu_enable_log_dirty_pt_masked(&mmu, slot, 0, 1ul << 5), "no flush");
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x5000);
	CHECK(w.present && !w.w, "harvested page still writable");
	CHECK_EQ(fault(0x5000, true), RET_PF_FIXED);
	CHECK_EQ(dirty_word(3), 1ul << 5);

	/* logging off: the slot is zapped so huge pages come back */
	mem.slot = 3;
	mem.memory_size = 2 << 20;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	slot = id_to_memslot(vm, 0, 3);
	{
		struct kvm_memory_slot old = *slot;

		CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
		CHECK(kvm_mmu_slot_changed(&mmu, &old, id_to_memslot(vm, 0, 3)), "no zap");
	}
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x5000);
	CHECK(!w.present, "mapping survived the flags change");
	CHECK_EQ(fault(0x5000, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x5000);
	CHECK_EQ(w.level, 2);
	end();
}

static void test_zap_on_delete_and_move(void)
{
	struct kvm_userspace_memory_region2 mem = { 0 };
	struct kvm_memory_slot old;
	struct walk w;
	u8 *ram;

	begin();
	ram = setup(1, 0x200000, 0x10000, 0, 0);
	CHECK_EQ(fault(0x203000, true), RET_PF_FIXED);
	/* MMIO SPTE in the range a new slot will cover */
	CHECK_EQ(fault(0x400000, false), RET_PF_EMULATE);

	/* move slot 1 to 0x400000: old range zapped, MMIO SPTE at the new one too */
	old = *id_to_memslot(vm, 0, 1);
	mem.slot = 1;
	mem.guest_phys_addr = 0x400000;
	mem.memory_size = 0x10000;
	mem.userspace_addr = (u64)(uintptr_t)ram;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	CHECK(kvm_mmu_slot_changed(&mmu, &old, id_to_memslot(vm, 0, 1)), "no flush");
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x203000);
	CHECK(!w.present && !w.misconfig, "old mapping survived the move");
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x400000);
	CHECK(!w.misconfig, "stale MMIO SPTE over the new slot");
	CHECK_EQ(fault(0x403000, false), RET_PF_FIXED);
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x403000);
	CHECK_EQ(w.hva, (u64)(uintptr_t)(ram + 0x3000));

	/* delete: zapped; the GPA becomes MMIO */
	old = *id_to_memslot(vm, 0, 1);
	mem.memory_size = 0;
	CHECK_EQ(kvm_set_memory_region(vm, &mem), 0);
	CHECK(kvm_mmu_slot_changed(&mmu, &old, NULL), "no flush");
	w = ept_walk(kvm_tdp_mmu_eptp(&mmu), 0x403000);
	CHECK(!w.present, "deleted slot still mapped");
	CHECK_EQ(fault(0x403000, false), RET_PF_EMULATE);
	end();
}

/*
 * The tables a fault needs come from the vCPU's caches, topped up before
 * mmu_lock: a fault in a new 1 GiB region takes three (PDPT, PD, PT) and
 * they are the very pages the EPT now links; the next fault tops the
 * caches up again first.  MMIO SPTEs carry the memslot generation, and
 * handle_mmio_page_fault() trusts only those of the current one.
 */
static void test_memory_caches_and_mmio_generation(void)
{
	struct kvm_mmu_caches mc = { 0 };
	struct kvm_page_fault f = { .addr = 0x40000000ull + 0x5000 };
	void *pages[KVM_MMU_MEMORY_CACHE_CAPACITY];
	u64 *pml4, *pdpt, *pd;
	int n, idx;

	begin();
	setup(0, 0x40000000ull, 0x10000, 0, 0);
	CHECK_EQ(kvm_mmu_topup_memory_caches(&mc), 0);
	n = mc.shadow_page_cache.nobjs;
	CHECK(n >= 3, "%d tables in the cache", n);
	memcpy(pages, mc.shadow_page_cache.objects, sizeof(pages));
	f.caches = &mc;
	idx = srcu_read_lock(&vm->srcu);
	CHECK_EQ(kvm_tdp_page_fault(vm, &mmu, &f), RET_PF_FIXED);
	srcu_read_unlock(&vm->srcu, idx);
	/* the cache was full enough: nothing allocated, three tables taken */
	CHECK_EQ(mc.shadow_page_cache.nobjs, n - 3);
	pml4 = (u64 *)(uintptr_t)(kvm_tdp_mmu_eptp(&mmu) & ~0xfffull);
	pdpt = (u64 *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	pd = (u64 *)(uintptr_t)(pdpt[1] & 0x000ffffffffff000ull);
	/* the cache is a stack: the last page in it is the first taken */
	CHECK(pdpt == pages[n - 1], "PDPT not from the cache");
	CHECK(pd == pages[n - 2], "PD not from the cache");
	CHECK((void *)(uintptr_t)(pd[0] & 0x000ffffffffff000ull) == pages[n - 3], "PT not from the cache");
	CHECK_EQ(ept_walk(kvm_tdp_mmu_eptp(&mmu), f.addr).hva != 0, 1);

	/* MMIO: installed with the generation, trusted while it is current */
	f = (struct kvm_page_fault){ .addr = 0x50000000ull, .rsvd = true, .caches = &mc };
	CHECK_EQ(kvm_tdp_page_fault(vm, &mmu, &f), RET_PF_EMULATE);
	f = (struct kvm_page_fault){ .addr = 0x50000008ull, .rsvd = true };
	idx = srcu_read_lock(&vm->srcu);
	CHECK_EQ(handle_mmio_page_fault(vm, &mmu, &f), RET_PF_EMULATE);
	CHECK(!f.slot && f.gfn == 0x50000, "gfn %#llx", (unsigned long long)f.gfn);
	CHECK_EQ(f.mmio_gen, kvm_memslots(vm)->generation);
	srcu_read_unlock(&vm->srcu, idx);
	/* a memslot change elsewhere: the SPTE is of an old generation now */
	setup(1, 0x60000000ull, 0x1000, 0, 0);
	idx = srcu_read_lock(&vm->srcu);
	CHECK_EQ(handle_mmio_page_fault(vm, &mmu, &f), RET_PF_CONTINUE);
	srcu_read_unlock(&vm->srcu, idx);
	/* the full fault makes it again, of the new generation */
	CHECK_EQ(fault(0x50000000ull, false), RET_PF_EMULATE);
	idx = srcu_read_lock(&vm->srcu);
	CHECK_EQ(handle_mmio_page_fault(vm, &mmu, &f), RET_PF_EMULATE);
	/* no MMIO SPTE at all: the full fault decides */
	f.addr = 0x70000000ull;
	CHECK_EQ(handle_mmio_page_fault(vm, &mmu, &f), RET_PF_CONTINUE);
	srcu_read_unlock(&vm->srcu, idx);
	kvm_mmu_free_memory_caches(&mc);
	CHECK_EQ(mc.shadow_page_cache.nobjs + mc.page_header_cache.nobjs, 0);
	end();
}

int main(void)
{
	RUN_TEST(test_map_4k_and_hva);
	RUN_TEST(test_mmio_spte);
	RUN_TEST(test_huge_pages);
	RUN_TEST(test_readonly_slot);
	RUN_TEST(test_dirty_logging);
	RUN_TEST(test_zap_on_delete_and_move);
	RUN_TEST(test_memory_caches_and_mmio_generation);
	return test_cases_failed != 0;
}
