// SPDX-License-Identifier: MIT
/*
 * MMIO in VMX non-root operation through the processor's TLB: a 64-bit
 * paged guest stores to and loads from a page whose EPT entry is
 * misconfigured (KVM's MMIO SPTE), again and again, as a device driver
 * would.  After the first access the translation comes from the TLB
 * (tlb.c's MMIO TLB); every exit must still be an EPT misconfiguration
 * with the address accessed and the guest state at the instruction, and
 * the translation must go away with the events that flush it: the EPT
 * entry made present (re-read even without INVEPT), INVEPT, INVVPID of
 * the linear address, a new guest CR3.
 */
#include "../test.h"
#include "vmx_util.h"
#include "silicon/silicon.h"
#include "silicon/vmx_cpu.h"

#define MEM_SIZE (1u << 20)
#define CODE 0x1000u
#define MT_WB (6ull << 3)
#define MMIO_SPTE (6ull | MT_WB)	/* W+X without R: KVM's MMIO SPTE, a misconfiguration */
#define RAX 0
#define RBX 3

static struct vmx_env env;
static u8 *mem;
static u64 *pml4, *pte;

static u64 test_eptp(void)
{
	return test_eptp_of(pml4, true);
}

/* EPT: GPA n * 4 KiB -> mem + n * 4 KiB for the first 256 pages */
static void build_ept(void)
{
	pml4 = test_pages(4);
	pte = pml4 + 3 * 512;
	test_ept_identity(pml4, mem, MEM_SIZE / 4096);
}

/*
 * Guest page tables at GPA 0x10000 (CR3) and 0x20000 (a second CR3):
 * linear page n -> GPA page n, except as a case changes p1[].
 */
static u64 *guest_paging(u64 cr3)
{
	u64 *p4 = (u64 *)(mem + cr3), *p3 = p4 + 512, *p2 = p4 + 1024, *p1 = p4 + 1536;

	p4[0] = (cr3 + 0x1000) | 3;
	p3[0] = (cr3 + 0x2000) | 3;
	p2[0] = (cr3 + 0x3000) | 3;
	for (int n = 0; n < 512; n++)
		p1[n] = (u64)n << 12 | 3;
	return p1;
}

static u32 run(void)
{
	bool launched = ((u32 *)env.vmcs)[2] != 0;

	return vmx_vcpu_enter(env.regs, launched);
}

/* Run from @rip: an EPT misconfiguration at @gpa with RIP still @rip. */
static void expect_misconfig(u64 rip, u64 gpa)
{
	vmcs_writel(GUEST_RIP, rip);
	CHECK_EQ(run(), EXIT_REASON_EPT_MISCONFIG);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), gpa);
	CHECK_EQ(vmcs_readl(GUEST_RIP), rip);
}

static void expect_hlt(u64 rip, u64 hlt_rip)
{
	vmcs_writel(GUEST_RIP, rip);
	CHECK_EQ(run(), EXIT_REASON_HLT);
	CHECK_EQ(vmcs_readl(GUEST_RIP), hlt_rip);
}

/* @code at CODE, the EPT, a fresh VMCS for a guest at CODE, the EPT context flushed. */
static void setup(const u8 *code, size_t len)
{
	memset(mem, 0, MEM_SIZE);
	memcpy(mem + CODE, code, len);
	build_ept();
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	vmcs_setup_guest(&env, test_eptp(), true, CODE);
}

static void mmio_tlb(void)
{
	static const u8 code[] = {
		0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00,	/* 0: mov [0x6008], eax */
		0xf4,						/* 7: hlt */
		0x8b, 0x1c, 0x25, 0x10, 0x60, 0x00, 0x00,	/* 8: mov ebx, [0x6010] */
		0xf4,						/* 15: hlt */
		0x89, 0x04, 0x25, 0x0c, 0x60, 0x00, 0x00,	/* 16: mov [0x600c], eax */
		0xf4,						/* 23: hlt */
		0x0f, 0x01, 0x3c, 0x25, 0x00, 0x60, 0x00, 0x00,	/* 24: invlpg [0x6000] */
		0xf4,						/* 32: hlt */
	};
	u64 *p1, *p1b;

	setup(code, sizeof(code));
	CHECK(vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_ENABLE_VPID, "VPID on");
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	p1 = guest_paging(0x10000);
	p1b = guest_paging(0x20000);
	vmcs_writel(GUEST_CR3, 0x10000);
	pte[6] = MMIO_SPTE;

	/* The same store, again and again: each one exits, with its address. */
	env.regs[RAX] = 0x1234;
	for (int n = 0; n < 4; n++)
		expect_misconfig(CODE, 0x6008);
	CHECK_EQ(env.regs[RAX], 0x1234);
	/* Another offset of the page; and a load, which has its own translation. */
	expect_misconfig(CODE + 16, 0x600c);
	expect_misconfig(CODE + 8, 0x6010);
	expect_misconfig(CODE + 8, 0x6010);
	/* Nothing reached memory. */
	CHECK_EQ(mem[0x6008] | mem[0x600c], 0);

	/*
	 * KVM maps RAM there (a new memslot): the entry is read again, even
	 * before KVM's INVEPT, and the store goes to memory.
	 */
	pte[6] = hva(mem + 0x6000) | 7 | MT_WB;
	expect_hlt(CODE, CODE + 7);
	CHECK_EQ(mem[0x6008], 0x34);
	mem[0x6010] = 0x77;
	expect_hlt(CODE + 8, CODE + 15);
	CHECK_EQ(env.regs[RBX], 0x77);
	/* And back to MMIO (the slot deleted, KVM's zap and INVEPT). */
	pte[6] = MMIO_SPTE;
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	expect_misconfig(CODE, 0x6008);
	expect_misconfig(CODE, 0x6008);

	/*
	 * The guest maps linear 0x6000 to RAM at GPA 0x7000: after INVVPID of
	 * that address (KVM's INVLPG emulation) the store goes there.
	 */
	p1[6] = 0x7000 | 3;
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, vmcs_read16(VIRTUAL_PROCESSOR_ID), 0x6000),
		 VMX_SUCCEED);
	expect_hlt(CODE, CODE + 7);
	CHECK_EQ(mem[0x7008], 0x34);
	/* The load's translation was flushed with it. */
	mem[0x7010] = 0x55;
	expect_hlt(CODE + 8, CODE + 15);
	CHECK_EQ(env.regs[RBX], 0x55);

	/*
	 * The guest's own INVLPG (not intercepted, as under EPT): back to the
	 * MMIO page at GPA 0x6000, the store exits again.
	 */
	p1[6] = 0x6000 | 3;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
		     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_INVLPG_EXITING);
	expect_hlt(CODE + 24, CODE + 32);
	expect_misconfig(CODE, 0x6008);
	expect_misconfig(CODE + 8, 0x6010);
	p1[6] = 0x7000 | 3;
	expect_hlt(CODE + 24, CODE + 32);

	/* A second CR3 where linear 0x6000 is GPA 0x6000 (MMIO) again: a new context. */
	expect_hlt(CODE, CODE + 7);
	vmcs_writel(GUEST_CR3, 0x20000);
	expect_misconfig(CODE, 0x6008);
	/* ... and the first again, whose 0x6000 is RAM at 0x7000. */
	vmcs_writel(GUEST_CR3, 0x10000);
	mem[0x7008] = 0;
	expect_hlt(CODE, CODE + 7);
	CHECK_EQ(mem[0x7008], 0x34);
	(void)p1b;

	/* Without VPID every entry flushes: the exits are the same. */
	vmcs_writel(GUEST_CR3, 0x20000);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL,
		     vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_EXEC_ENABLE_VPID);
	expect_misconfig(CODE, 0x6008);
	expect_misconfig(CODE, 0x6008);
	expect_misconfig(CODE + 8, 0x6010);
}

/*
 * A supervisor store to a user page with SMAP on depends on RFLAGS.AC: the
 * translation is not kept, and AC=0 gives #PF, not an exit, even right
 * after an exit with AC=1.
 */
static void mmio_tlb_smap(void)
{
	static const u8 code[] = {
		0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00,	/* 0: mov [0x6008], eax */
		0xf4,						/* 7: hlt */
	};
	u64 *p1;

	setup(code, sizeof(code));
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	p1 = guest_paging(0x10000);
	((u64 *)(mem + 0x10000))[0] |= 4;	/* U in every level for linear 0x6000 */
	((u64 *)(mem + 0x11000))[0] |= 4;
	((u64 *)(mem + 0x12000))[0] |= 4;
	p1[6] |= 4;
	vmcs_writel(GUEST_CR3, 0x10000);
	vmcs_writel(GUEST_CR4, vmcs_readl(GUEST_CR4) | (1ul << 21));
	pte[6] = MMIO_SPTE;
	vmcs_write32(EXCEPTION_BITMAP, 1u << 14);	/* #PF exits */
	vmcs_writel(GUEST_RFLAGS, 2 | (1ul << 18));
	expect_misconfig(CODE, 0x6008);
	expect_misconfig(CODE, 0x6008);
	vmcs_writel(GUEST_RFLAGS, 2);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EQ(run(), EXIT_REASON_EXCEPTION_NMI);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO) & 0xff, 14);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), 0x6008);	/* the #PF's CR2 */
}

/*
 * A misaligned CPL3 store to MMIO with CR0.AM set: exits while RFLAGS.AC
 * is clear, the second time from the MMIO TLB (tlb.c's store fast path);
 * with AC set the same store raises #AC before any translation is used,
 * and with AC clear again it exits again.  Fails if the store fast path
 * took the cached exit without the alignment check.
 */
static void mmio_tlb_ac(void)
{
	static const u8 code[] = {
		0x89, 0x04, 0x25, 0x09, 0x60, 0x00, 0x00,	/* 0: mov [0x6009], eax */
	};
	u64 *p1;

	setup(code, sizeof(code));
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	p1 = guest_paging(0x10000);
	((u64 *)(mem + 0x10000))[0] |= 4;	/* U in every level for linear 0x1000 and 0x6000 */
	((u64 *)(mem + 0x11000))[0] |= 4;
	((u64 *)(mem + 0x12000))[0] |= 4;
	p1[1] |= 4;
	p1[6] |= 4;
	vmcs_writel(GUEST_CR3, 0x10000);
	CHECK(vmcs_readl(GUEST_CR0) & (1ul << 18), "CR0.AM");
	/* CPL3: DPL 3 code and stack */
	vmcs_write16(GUEST_CS_SELECTOR, 0x8 | 3);
	vmcs_write32(GUEST_CS_AR_BYTES, 0xa0fb);
	vmcs_write16(GUEST_SS_SELECTOR, 0x10 | 3);
	vmcs_write32(GUEST_SS_AR_BYTES, 0xc0f3);
	pte[6] = MMIO_SPTE;
	vmcs_write32(EXCEPTION_BITMAP, 1u << 17);	/* #AC exits */
	vmcs_writel(GUEST_RFLAGS, 2);
	expect_misconfig(CODE, 0x6009);
	expect_misconfig(CODE, 0x6009);
	vmcs_writel(GUEST_RFLAGS, 2 | (1ul << 18));
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EQ(run(), EXIT_REASON_EXCEPTION_NMI);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO) & 0xff, 17);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE);
	vmcs_writel(GUEST_RFLAGS, 2);
	expect_misconfig(CODE, 0x6009);
}

/* KVM's skip_emulated_instruction(): RIP += VM_EXIT_INSTRUCTION_LEN. */
static void skip(void)
{
	vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/*
 * A store to MMIO in the middle of a loop body, each exit continued
 * after the store (KVM emulated it and skipped it): the processor cuts
 * the store's block after it at its first exit (vmx_mmio.c), and the next
 * exits end the cut block, whose rest is a block of its own.  The guest's
 * instruction count (the base of the preemption timer's and a budget's
 * run) is what it is without a cut: every instruction but the stores the
 * host completed, on the first pass, on a pass over the cut blocks, and
 * with the page RAM again (the stores retire in the guest).  Fails if a
 * cut block counts or dispatches other than its instructions.
 */
/* The loop below with its store to RAM: 13 instructions before HLT's exit, the stores in memory. */
static void store_loop_ram(struct cpu *c)
{
	u64 n0 = cpu_instructions(c);

	env.regs[RAX] = 0;
	expect_hlt(CODE, CODE + 18);
	CHECK_EQ(cpu_instructions(c) - n0, 13);
	CHECK_EQ(env.regs[RAX], 3);
	CHECK_EQ(mem[0x6008], 2);
}

static void mmio_store_cut_count(void)
{
	static const u8 code[] = {
		0xb9, 0x03, 0x00, 0x00, 0x00,			/* 0: mov ecx, 3 */
		0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00,	/* 5: mov [0x6008], eax */
		0xff, 0xc0,					/* 12: inc eax */
		0xff, 0xc9,					/* 14: dec ecx */
		0x75, 0xf3,					/* 16: jnz 5 */
		0xf4,						/* 18: hlt */
	};
	struct cpu *c = env.lp->cpu;
	u64 n0;

	setup(code, sizeof(code));
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	guest_paging(0x10000);
	vmcs_writel(GUEST_CR3, 0x10000);
	/* RAM: the blocks decoded whole */
	store_loop_ram(c);
	/* MMIO (KVM's zap and INVEPT), twice: the cuts, then the cut blocks */
	pte[6] = MMIO_SPTE;
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	for (int pass = 0; pass < 2; pass++) {
		env.regs[RAX] = 0;
		n0 = cpu_instructions(c);
		vmcs_writel(GUEST_RIP, CODE);
		for (u64 k = 0; k < 3; k++) {
			CHECK_EQ(run(), EXIT_REASON_EPT_MISCONFIG);
			CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 5);
			CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x6008);
			CHECK_EQ(vmcs_read32(VM_EXIT_INSTRUCTION_LEN), 7);
			CHECK_EQ(env.regs[RAX], k);
			skip();
		}
		CHECK_EQ(run(), EXIT_REASON_HLT);
		CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 18);
		CHECK_EQ(cpu_instructions(c) - n0, 10);
		CHECK_EQ(env.regs[RAX], 3);
	}
	/* RAM again, through the cut blocks */
	pte[6] = hva(mem + 0x6000) | 7 | MT_WB;
	mem[0x6008] = 0;
	store_loop_ram(c);
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	mem = aligned_alloc(4096, MEM_SIZE);
	RUN_TEST(mmio_tlb);
	RUN_TEST(mmio_tlb_smap);
	RUN_TEST(mmio_store_cut_count);
	RUN_TEST(mmio_tlb_ac);
	env_teardown(&env);
	free(mem);
	test_pages_free_all();
	return 0;
}
