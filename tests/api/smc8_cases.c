// SPDX-License-Identifier: MIT
/*
 * Guest code the VMM rewrites through its own mapping of the memslot
 * between two KVM_RUNs: the next run executes the bytes as they are then
 * (on silicon the instruction cache is coherent and VM entry is
 * serialising), wherever the processor reaches them from: a fresh fetch
 * after KVM_SET_REGS, the instruction after the one that exited (the rest
 * of its block), a block on another page reached by a call or a fall-
 * through, an instruction that straddles two pages, and after IN/OUT,
 * MMIO and HLT exits.  The guests loop (32-bit flat code at CODE) so that
 * their blocks are decoded, linked and their exits taken the common way
 * before the write; each case fails if the old bytes ran.
 */
#include <string.h>
#include <sys/mman.h>

#include "runutil.h"

#define SMC_MMIO 0x300000u	/* no memslot there */

static int smc_start(struct tctx *t, struct tguest *g, const void *code, size_t len, uint64_t at)
{
	struct kvm_regs r;

	if (tg_create(t, g) < 0)
		return -1;
	memcpy(g->mem + at, code, len);
	tg_set_mode(t, g, g->vcpu, TG_PM32);
	if (at != CODE) {
		CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
		r.rip = at;
		CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_REGS, &r));
	}
	return 0;
}

/* The next exit is KVM_EXIT_IO to @port (else a failed check); 0 if so. */
static int smc_io(struct tctx *t, struct tguest *g, int port)
{
	return tg_run_to_port(t, g, port);
}

static int smc_exit(struct tctx *t, struct tguest *g, unsigned int reason)
{
	if (tg_run(t, g) < 0)
		return -1;
	CHECK(g->run->exit_reason == reason, "exit %s, want %s", tg_exit_name(g->run->exit_reason),
	      tg_exit_name(reason));
	return g->run->exit_reason == reason ? 0 : -1;
}

static void smc_set_rip(struct tctx *t, int vcpu, uint64_t rip)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, vcpu, KVM_GET_REGS, &r));
	r.rip = rip;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_REGS, &r));
}

/*
 * The repro: out 0x10; hlt ran, the VMM writes out 0x12; hlt over it and
 * sets RIP back: the OUT goes to 0x12.  (KVM_SET_REGS to the OUT's own RIP
 * right after its exit would not do: the OUT's completion at the next
 * KVM_RUN skips the instruction at that RIP, complete_fast_pio_out().)  Then the same in a loop that ran
 * a few times (its block linked to itself and in the jump cache).
 */
KVM_CASE(smc_rewrite_then_set_rip)
{
	/* out 0x10, al; out 0x11, al; jmp CODE */
	static const unsigned char loop[] = { 0xe6, 0x10, 0xe6, 0x11, 0xeb, 0xfa };
	struct tguest g;

	if (smc_start(t, &g, "\xe6\x10\xf4", 3, CODE) < 0)
		return;
	CHECK_EQ(smc_io(t, &g, 0x10), 0);
	/* to the HLT first: the OUT's completion would skip an OUT at the same RIP */
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_HLT), 0);
	memcpy(g.mem + CODE, "\xe6\x12\xf4", 3);
	smc_set_rip(t, g.vcpu, CODE);
	CHECK_EQ(smc_io(t, &g, 0x12), 0);
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_HLT), 0);

	memcpy(g.mem + CODE, loop, sizeof(loop));
	smc_set_rip(t, g.vcpu, CODE);
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
		CHECK_EQ(smc_io(t, &g, 0x11), 0);
	}
	g.mem[CODE + 1] = 0x14;
	smc_set_rip(t, g.vcpu, CODE);
	CHECK_EQ(smc_io(t, &g, 0x14), 0);
	CHECK_EQ(smc_io(t, &g, 0x11), 0);
	tg_destroy(&g);
}

/*
 * out 0x10; out 0x11 in a loop (@loop at guest address @at, the second
 * OUT's port at offset @port2): at the exit of the first OUT the VMM
 * rewrites the second's port, and KVM_RUN goes on (no KVM_SET_REGS): the
 * rest of the block after the exiting instruction runs the new bytes.
 * Then the first OUT's port, to @first (before the exiting instruction:
 * the block's next pass).
 */
static void smc_next_insn_at(struct tctx *t, const unsigned char *loop, size_t len, uint64_t at,
			     size_t port2, unsigned char first)
{
	struct tguest g;

	if (smc_start(t, &g, loop, len, at) < 0)
		return;
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
		CHECK_EQ(smc_io(t, &g, 0x11), 0);
	}
	CHECK_EQ(smc_io(t, &g, 0x10), 0);
	g.mem[at + port2] = 0x13;
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	g.mem[at + 1] = first;
	CHECK_EQ(smc_io(t, &g, first), 0);
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	tg_destroy(&g);
}

/* ... at CODE, the first OUT's port then rewritten to 0x12 */
static void smc_next_insn(struct tctx *t, const unsigned char *loop, size_t len, size_t port2)
{
	smc_next_insn_at(t, loop, len, CODE, port2, 0x12);
}

KVM_CASE(smc_rewrite_next_insn)
{
	static const unsigned char loop[] = { 0xe6, 0x10, 0xe6, 0x11, 0xeb, 0xfa };

	smc_next_insn(t, loop, sizeof(loop), 3);
}

/*
 * The same in a block of 8-16 bytes, whose bytes the VMRESUME after a
 * KVM_RUN compares at once (silicon cpu.h cpu_code_sync_cont()); 6 bytes
 * above and 20 here are compared where the run goes on (icache_verify()).
 */
KVM_CASE(smc_rewrite_next_insn_block_sizes)
{
	/* out 0x10; 4 nops; out 0x11; 2 nops; jmp back: 12 bytes */
	static const unsigned char loop12[] = { 0xe6, 0x10, 0x90, 0x90, 0x90, 0x90,
						0xe6, 0x11, 0x90, 0x90, 0xeb, 0xf4 };
	/* out 0x10; 12 nops; out 0x11; 2 nops; jmp back: 20 bytes */
	static const unsigned char loop20[] = { 0xe6, 0x10, 0x90, 0x90, 0x90, 0x90, 0x90,
						0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
						0xe6, 0x11, 0x90, 0x90, 0xeb, 0xec };

	smc_next_insn(t, loop12, sizeof(loop12), 7);
	smc_next_insn(t, loop20, sizeof(loop20), 15);
}

/*
 * A loop that calls a function on another page (out 0x20; ret at 0x3000):
 * rewritten while the guest is at the exit of the loop's OUT, the call
 * (a link between the two blocks) and the ret (the jump cache) reach the
 * new code.
 */
KVM_CASE(smc_rewrite_other_page)
{
	/* out 0x10, al; call 0x3000; jmp CODE */
	static const unsigned char loop[] = { 0xe6, 0x10, 0xe8, 0xf9, 0x1f, 0x00, 0x00, 0xeb, 0xf7 };
	struct tguest g;

	if (smc_start(t, &g, loop, sizeof(loop), CODE) < 0)
		return;
	memcpy(g.mem + 0x3000, "\xe6\x20\xc3", 3);	/* out 0x20, al; ret */
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
		CHECK_EQ(smc_io(t, &g, 0x20), 0);
	}
	CHECK_EQ(smc_io(t, &g, 0x10), 0);
	g.mem[0x3001] = 0x21;
	CHECK_EQ(smc_io(t, &g, 0x21), 0);
	CHECK_EQ(smc_io(t, &g, 0x10), 0);
	CHECK_EQ(smc_io(t, &g, 0x21), 0);
	/* and the loop's own page, behind the function's exit */
	g.mem[CODE + 1] = 0x11;
	CHECK_EQ(smc_io(t, &g, 0x11), 0);
	tg_destroy(&g);
}

/*
 * Code that runs on from the end of one page into the next (no branch):
 * out 0x10 and NOPs up to 0x2000, out 0x11 there, jmp back.  The write
 * is on the second page, the guest at the first page's OUT.
 */
KVM_CASE(smc_rewrite_next_page)
{
	static const unsigned char code[] = {
		0xe6, 0x10, 0x90, 0x90, 0x90, 0x90, 0x90,	/* 0x1ff9: out 0x10, al; nop x5 */
		0xe6, 0x11, 0xeb, 0xf5,				/* 0x2000: out 0x11, al; jmp 0x1ff9 */
	};

	/* the first OUT's port "rewritten" to itself: the same bytes */
	smc_next_insn_at(t, code, sizeof(code), 0x1ff9, 8, 0x10);
}

/*
 * An instruction that straddles two pages (out 0x11 with its opcode at
 * 0x1fff and its port at 0x2000), rewritten on the second page.
 */
KVM_CASE(smc_rewrite_straddle)
{
	static const unsigned char code[] = {
		0xe6, 0x10, 0x90, 0x90, 0x90, 0x90, 0xe6,	/* 0x1ff9: out 0x10, al; nop x4; (e6 */
		0x11, 0xeb, 0xf6,				/* 0x2000: 11); jmp 0x1ff9 */
	};

	/* the first OUT's port "rewritten" to itself: the same bytes */
	smc_next_insn_at(t, code, sizeof(code), 0x1ff9, 7, 0x10);
}

/* The same after an MMIO write's exit: mov [SMC_MMIO], al; out 0x11, al; jmp CODE. */
KVM_CASE(smc_rewrite_after_mmio)
{
	static const unsigned char loop[] = {
		0x88, 0x05, 0x00, 0x00, 0x30, 0x00, 0xe6, 0x11, 0xeb, 0xf6,
	};
	struct tguest g;

	if (smc_start(t, &g, loop, sizeof(loop), CODE) < 0)
		return;
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_exit(t, &g, KVM_EXIT_MMIO), 0);
		CHECK_EQ(g.run->mmio.phys_addr, SMC_MMIO);
		CHECK_EQ(smc_io(t, &g, 0x11), 0);
	}
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_MMIO), 0);
	g.mem[CODE + 7] = 0x13;
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_MMIO), 0);
	/* the store's own address, before the exiting instruction: its next pass */
	g.mem[CODE + 3] = 0x01;	/* mov [0x300100], al */
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_MMIO), 0);
	CHECK_EQ(g.run->mmio.phys_addr, SMC_MMIO + 0x100);
	tg_destroy(&g);
}

/* The same after HLT (no in-kernel LAPIC: KVM_EXIT_HLT): hlt; out 0x11, al; jmp CODE. */
KVM_CASE(smc_rewrite_after_hlt)
{
	static const unsigned char loop[] = { 0xf4, 0xe6, 0x11, 0xeb, 0xfb };
	struct tguest g;

	if (smc_start(t, &g, loop, sizeof(loop), CODE) < 0)
		return;
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_exit(t, &g, KVM_EXIT_HLT), 0);
		CHECK_EQ(smc_io(t, &g, 0x11), 0);
	}
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_HLT), 0);
	g.mem[CODE + 2] = 0x13;
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	CHECK_EQ(smc_exit(t, &g, KVM_EXIT_HLT), 0);
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	tg_destroy(&g);
}

/*
 * The VMM writes the bytes that are there already, at every exit: nothing
 * changes (the run goes on as before, exits in the same order).
 */
KVM_CASE(smc_rewrite_same_bytes)
{
	static const unsigned char loop[] = { 0xe6, 0x10, 0xe8, 0xf9, 0x1f, 0x00, 0x00, 0xeb, 0xf7 };
	struct tguest g;

	if (smc_start(t, &g, loop, sizeof(loop), CODE) < 0)
		return;
	memcpy(g.mem + 0x3000, "\xe6\x20\xc3", 3);
	for (int k = 0; k < 6; k++) {
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
		memcpy(g.mem + CODE, loop, sizeof(loop));
		CHECK_EQ(smc_io(t, &g, 0x20), 0);
		memcpy(g.mem + 0x3000, "\xe6\x20\xc3", 3);
	}
	tg_destroy(&g);
}

/*
 * Two vCPUs run the same loop at the same GPA (each its own decoded
 * code); the VMM rewrites it while both are at their first OUT's exit:
 * each vCPU's next run has the new port.
 */
KVM_CASE(smc_rewrite_two_vcpus)
{
	static const unsigned char loop[] = { 0xe6, 0x10, 0xe6, 0x11, 0xeb, 0xfa };
	struct kvm_run *run1, *run0;
	struct tguest g;
	int v0, v1;

	if (tg_create_vm(t, &g) < 0)
		return;
	t_differs(t, "vCPU fd numbers: PVM holds another fd per vCPU");
	v0 = tg_add_vcpu(t, &g, 0, &run0);
	t_differs(t, "vCPU fd numbers: PVM holds another fd per vCPU");
	v1 = tg_add_vcpu(t, &g, 1, &run1);
	CHECK(v0 >= 0 && v1 >= 0, "vcpus");
	if (v0 < 0 || v1 < 0) {
		tg_destroy(&g);
		return;
	}
	g.vcpu = v0;
	g.run = run0;
	memcpy(g.mem + CODE, loop, sizeof(loop));
	tg_set_mode(t, &g, v0, TG_PM32);
	tg_set_mode(t, &g, v1, TG_PM32);
	for (int k = 0; k < 7; k++) {
		int port = 0x10 + (k & 1);

		g.vcpu = v0;
		g.run = run0;
		CHECK_EQ(smc_io(t, &g, port), 0);
		g.vcpu = v1;
		g.run = run1;
		CHECK_EQ(smc_io(t, &g, port), 0);
	}
	g.mem[CODE + 3] = 0x13;
	for (int k = 0; k < 2; k++) {
		g.vcpu = k ? v1 : v0;
		g.run = k ? run1 : run0;
		CHECK_EQ(smc_io(t, &g, 0x13), 0);
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
	}
	munmap(run1, g.run_size);
	close(v1);
	g.vcpu = v0;
	g.run = run0;
	tg_destroy(&g);
}

/*
 * A memslot deleted and added again at the same GPA with other memory
 * (other code) while the guest is at an OUT's exit there: the run goes on
 * in the new memory (the instruction after the OUT is the new one).
 */
KVM_CASE(smc_memslot_replaced)
{
	static const unsigned char a[] = { 0xe6, 0x10, 0xe6, 0x11, 0xeb, 0xfa };
	static const unsigned char b[] = { 0xe6, 0x12, 0xe6, 0x13, 0xeb, 0xfa };
	struct kvm_userspace_memory_region mr = { .slot = 1, .guest_phys_addr = 0x400000ull,
						  .memory_size = 0x1000 };
	unsigned char *ma, *mb;
	struct tguest g;

	if (smc_start(t, &g, "\xf4", 1, CODE) < 0)
		return;
	ma = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ma != MAP_FAILED, "mmap");
	if (ma == MAP_FAILED) {
		tg_destroy(&g);
		return;
	}
	mb = ma + 0x1000;
	memcpy(ma, a, sizeof(a));
	memcpy(mb, b, sizeof(b));
	mr.userspace_addr = (uintptr_t)ma;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	smc_set_rip(t, g.vcpu, 0x400000);
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(smc_io(t, &g, 0x10), 0);
		CHECK_EQ(smc_io(t, &g, 0x11), 0);
	}
	CHECK_EQ(smc_io(t, &g, 0x10), 0);
	mr.memory_size = 0;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	mr.memory_size = 0x1000;
	mr.userspace_addr = (uintptr_t)mb;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	CHECK_EQ(smc_io(t, &g, 0x13), 0);
	CHECK_EQ(smc_io(t, &g, 0x12), 0);
	tg_destroy(&g);
	munmap(ma, 0x2000);
}
