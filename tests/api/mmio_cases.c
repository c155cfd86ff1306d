// SPDX-License-Identifier: MIT
/*
 * MMIO and string I/O through the instruction emulator: guests from
 * mmio_guests.S run with KVM_RUN on the host's KVM and on userkvm, and
 * every exit (KVM_EXIT_MMIO's phys_addr/len/is_write/data, KVM_EXIT_IO's
 * direction/size/port/count/data), the registers and the memory the guest
 * wrote go to the transcript.  MMIO reads are answered with bytes derived
 * from their address, port reads from the port and position.
 *
 * Guests run in 64-bit mode at CPL0 (this host's PVM KVM runs long mode
 * only with paging; it emulates CPL0 code, through the same emulator
 * common code as VMX KVM for MMIO and string I/O).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "x86util.h"

#define MG_CODE		0x1000
#define MG_PML4		0x5000
#define MG_PDPT		0x6000
#define MG_PD0		0x7000
#define MG_PD3		0x8000
#define MG_IDT		0x9000
#define MG_GDT		0xa000
#define MG_RT		0xb000
#define MG_DATA		0x20000
#define MG_RAM_SIZE	0x200000
#define MG_ROM		0x400000
#define MG_ROM_SIZE	0x200000
#define MG_DONE_PORT	0xf4

#define MG_DECL(name) extern const unsigned char name[], name##_end[]
MG_DECL(mg_mov);
MG_DECL(mg_alu);
MG_DECL(mg_str);
MG_DECL(mg_rom);
MG_DECL(mg_split);
MG_DECL(mg_pio);
MG_DECL(mg_apic);
MG_DECL(mg_rt);
MG_DECL(mg_pf_movs);
MG_DECL(mg_pf_ins);
MG_DECL(mg_pm32);
MG_DECL(mg_fetch_mmio);
MG_DECL(mg_sreg);
MG_DECL(mg_movss);
MG_DECL(mg_in_shadow);
MG_DECL(mg_dr6_native);
extern const unsigned char mg_dr6_native_db[];
MG_DECL(mg_null_sreg);
MG_DECL(mg_seg64);
MG_DECL(mg_mmio_then_ram);
MG_DECL(mg_user);
MG_DECL(mg_step);
MG_DECL(mg_idt_mmio);
MG_DECL(mg_pio_kernel);
MG_DECL(mg_tscdl);
MG_DECL(mg_x2apic);
MG_DECL(mg_nops);
MG_DECL(mg_cpuid);
extern const unsigned char mg_x2apic_handler[];
extern const unsigned char mg_cpuid_after[], mg_cpuid_db[];
MG_DECL(mg_store_cont);
extern const unsigned char mg_store_cont_st1[];
MG_DECL(mg_store_irq);
extern const unsigned char mg_store_irq_after[], mg_store_irq_handler[];

struct mt_vm {
	int sys, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned char *ram, *rom;
};

static void mt_put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* IDT entry @v at MG_IDT: a 64-bit interrupt gate to @h, CS 0x08. */
static void mt_set_gate(struct mt_vm *g, int v, uint64_t h)
{
	mt_put64(g->ram + MG_IDT + 16 * v, (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
					   ((h >> 16 & 0xffff) << 48));
	mt_put64(g->ram + MG_IDT + 16 * v + 8, h >> 32);
}

/* If set, MMIO reads get these two bytes over and over (a selector). */
static const unsigned char *mt_mmio_fill;

/* The byte an MMIO read of @gpa gets. */
static unsigned char mt_mmio_byte(uint64_t gpa)
{
	if (mt_mmio_fill)
		return mt_mmio_fill[gpa & 1];
	return (unsigned char)((gpa * 7) ^ 0x5a ^ (gpa >> 8));
}

static void mt_destroy(struct mt_vm *g)
{
	if (g->run && g->run != MAP_FAILED)
		munmap(g->run, g->run_size);
	if (g->ram && g->ram != MAP_FAILED)
		munmap(g->ram, MG_RAM_SIZE);
	if (g->rom && g->rom != MAP_FAILED)
		munmap(g->rom, MG_ROM_SIZE);
	close(g->vcpu);
	close(g->vm);
	close(g->sys);
}

/*
 * A VM with RAM at 0, a read-only slot at MG_ROM, vCPU 0 in 64-bit mode at
 * MG_CODE running @code.  @irqchip: KVM_CREATE_IRQCHIP first.
 */
static int mt_create_mode(struct tctx *t, struct mt_vm *g, const unsigned char *code,
			  const unsigned char *code_end, bool irqchip, bool long_mode, bool user)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment data;

	memset(g, 0, sizeof(*g));
	g->vcpu = -1;
	g->sys = t_open_sys(t);
	g->vm = t_create_vm(t, g->sys);
	g->ram = mmap(NULL, MG_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g->rom = mmap(NULL, MG_ROM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(g->ram != MAP_FAILED && g->rom != MAP_FAILED, "mmap guest memory");
	if (g->ram == MAP_FAILED || g->rom == MAP_FAILED)
		return -1;
	for (int i = 0; i < 0x1000; i++)
		g->rom[i] = (unsigned char)(i * 3 + 1);
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MG_RAM_SIZE,
		.userspace_addr = (unsigned long)g->ram,
	};
	CHECK_OK(t, IOC(t, g->vm, KVM_SET_USER_MEMORY_REGION, &mr));
	mr = (struct kvm_userspace_memory_region){
		.slot = 1, .flags = KVM_MEM_READONLY, .guest_phys_addr = MG_ROM,
		.memory_size = MG_ROM_SIZE, .userspace_addr = (unsigned long)g->rom,
	};
	CHECK_OK(t, IOC(t, g->vm, KVM_SET_USER_MEMORY_REGION, &mr));
	if (irqchip)
		CHECK_OK(t, IOC(t, g->vm, KVM_CREATE_IRQCHIP, 0));
	g->vcpu = (int)IOC(t, g->vm, KVM_CREATE_VCPU, 0);
	CHECK_OK(t, g->vcpu);
	g->run_size = (size_t)t->be->ioctl(g->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	CHECK(g->run != MAP_FAILED, "mmap kvm_run");
	if (g->vcpu < 0 || g->run == MAP_FAILED)
		return -1;

	memcpy(g->ram + MG_CODE, code, code_end - code);
	/* identity paging: GiB 0 and GiB 3 (the APICs) in 2 MiB pages */
	mt_put64(g->ram + MG_PML4, MG_PDPT | 3 | (user ? 4 : 0));
	mt_put64(g->ram + MG_PDPT, MG_PD0 | 3 | (user ? 4 : 0));
	mt_put64(g->ram + MG_PDPT + 3 * 8, MG_PD3 | 3);
	for (int i = 0; i < 512; i++) {
		mt_put64(g->ram + MG_PD0 + 8 * i, i == 3 ? 0 : ((uint64_t)i << 21) | 0x83 | (user ? 4 : 0));
		mt_put64(g->ram + MG_PD3 + 8 * i, ((3ull << 30) + ((uint64_t)i << 21)) | 0x83);
	}
	/* GDT: 0x08 64-bit code, 0x10 data; IDT: vectors 0-31 to mg_rt's stubs */
	mt_put64(g->ram + MG_GDT + 0x08, 0x00af9b000000ffffull);
	mt_put64(g->ram + MG_GDT + 0x10, 0x00cf93000000ffffull);
	mt_put64(g->ram + MG_GDT + 0x18, 0x00affb000000ffffull);	/* 0x1b: 64-bit user code */
	mt_put64(g->ram + MG_GDT + 0x20, 0x00cff3000000ffffull);	/* 0x23: user data */
	memcpy(g->ram + MG_RT, mg_rt, mg_rt_end - mg_rt);
	for (int v = 0; v < 32; v++)
		mt_set_gate(g, v, MG_RT + 16 * v);
	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_SREGS, &s));
	data = t_flat_seg(0x10, 3, 0);
	s.cs = t_flat_seg(0x08, 11, long_mode);
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = MG_GDT;
	s.gdt.limit = 0x27;
	s.idt.base = MG_IDT;
	s.idt.limit = 32 * 16 - 1;
	if (long_mode) {
		s.cr0 = 0x80000031;	/* PG, NE, ET, PE */
		s.cr3 = MG_PML4;
		s.cr4 = 0x20;		/* PAE */
		s.efer = 0x500;		/* LME, LMA */
	} else {
		s.cr0 = 0x31;		/* flat protected mode without paging */
		s.cr4 = 0;
		s.efer = 0;
	}
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_SREGS, &s));
	memset(&r, 0, sizeof(r));
	r.rip = MG_CODE;
	r.rsp = 0x1000;
	r.rflags = 2;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_REGS, &r));
	return 0;
}

static int mt_create(struct tctx *t, struct mt_vm *g, const unsigned char *code,
		     const unsigned char *code_end, bool irqchip)
{
	return mt_create_mode(t, g, code, code_end, irqchip, true, false);
}

static void mt_hex(char *out, const unsigned char *p, unsigned int n)
{
	out[0] = 0;
	for (unsigned int i = 0; i < n && i < 64; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/*
 * KVM_RUN until the guest's OUT to MG_DONE_PORT (or another exit that is
 * not MMIO/IO, or @max runs).  Return: the number of MMIO exits, or -1.
 */
static int mt_run(struct tctx *t, struct mt_vm *g, int max)
{
	struct kvm_run *run = g->run;
	int mmio = 0;
	char hex[160];

	for (int n = 0; n < max; n++) {
		long r = IOC(t, g->vcpu, KVM_RUN, 0);

		if (r < 0)
			return -1;
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			mmio++;
			if (run->mmio.is_write) {
				mt_hex(hex, run->mmio.data, run->mmio.len);
			} else {
				for (unsigned int k = 0; k < run->mmio.len && k < 8; k++)
					run->mmio.data[k] = mt_mmio_byte(run->mmio.phys_addr + k);
				mt_hex(hex, run->mmio.data, run->mmio.len);
			}
			t_printf(t, "exit MMIO %s phys_addr=%#llx len=%u data=%s",
				 run->mmio.is_write ? "write" : "read",
				 (unsigned long long)run->mmio.phys_addr, run->mmio.len, hex);
			CHECK(run->mmio.len >= 1 && run->mmio.len <= 8, "mmio len %u", run->mmio.len);
			break;
		case KVM_EXIT_IO: {
			unsigned char *d = (unsigned char *)run + run->io.data_offset;
			unsigned int bytes = run->io.size * run->io.count;

			if (run->io.port == MG_DONE_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
				t_printf(t, "exit IO done");
				/*
				 * VMX KVM retires an OUT when KVM_RUN is called again
				 * (complete_fast_pio_out); immediate_exit does that
				 * without running the guest, so the registers read next
				 * are the same on every KVM.
				 */
				run->immediate_exit = 1;
				IOC(t, g->vcpu, KVM_RUN, 0);
				run->immediate_exit = 0;
				return mmio;
			}
			if (run->io.direction == KVM_EXIT_IO_IN)
				for (unsigned int k = 0; k < bytes && k < 4096; k++)
					d[k] = (unsigned char)(0x11 * (k + 1) + run->io.port);
			mt_hex(hex, d, bytes);
			t_printf(t, "exit IO %s size=%u port=%#x count=%u data_offset=%#llx data=%s",
				 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size,
				 run->io.port, run->io.count, (unsigned long long)run->io.data_offset,
				 hex);
			break;
		}
		case KVM_EXIT_INTERNAL_ERROR:
			t_printf(t, "exit INTERNAL_ERROR suberror=%u", run->internal.suberror);
			if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
				t_printf(t, "emulation_failure flags=%#llx",
					 (unsigned long long)run->emulation_failure.flags);
			return -1;
		default:
			t_printf(t, "exit %u", run->exit_reason);
			return -1;
		}
	}
	t_printf(t, "no end after %d runs", max);
	return -1;
}

static void mt_regs(struct tctx *t, struct mt_vm *g)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
}

/* As mt_regs(), RFLAGS apart: a known difference (@why). */
static void mt_regs_rflags_d(struct tctx *t, struct mt_vm *g, const char *why, uint64_t want)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	t_printf(t, "rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx", (unsigned long long)r.rax,
		 (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx);
	t_printf(t, "rsi=%#llx rdi=%#llx rsp=%#llx rip=%#llx", (unsigned long long)r.rsi,
		 (unsigned long long)r.rdi, (unsigned long long)r.rsp, (unsigned long long)r.rip);
	t_differs(t, why);
	t_printf(t, "rflags=%#llx", (unsigned long long)r.rflags);
	CHECK_SOFT(t, r.rflags == want, "rflags %#llx, want %#llx", (unsigned long long)r.rflags,
		   (unsigned long long)want);
}

static void mt_mem(struct tctx *t, const char *what, const unsigned char *p, unsigned int n)
{
	char hex[160];

	mt_hex(hex, p, n);
	t_printf(t, "%s: %s", what, hex);
}

/* MOV/MOVZX/MOVSX/moffs to and from MMIO: one exit per access, reads completed on re-entry. */
KVM_CASE(mmio_mov)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_mov, mg_mov_end, false)) {
		int n = mt_run(t, &g, 64);

		CHECK_EQ(n, 17);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/* ALU with memory operands: a read-modify-write is one read exit and one write exit. */
KVM_CASE(mmio_alu)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_alu, mg_alu_end, false)) {
		int n = mt_run(t, &g, 128);

		CHECK(n > 20, "only %d MMIO exits", n);
		mt_regs(t, &g);
		mt_mem(t, "stack", g.ram + 0xff0, 16);
	}
	mt_destroy(&g);
}

/* String instructions with an MMIO source or destination, REP, DF=1. */
KVM_CASE(mmio_string)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_str, mg_str_end, false)) {
		int n = mt_run(t, &g, 128);

		CHECK(n > 15, "only %d MMIO exits", n);
		mt_regs(t, &g);
		mt_mem(t, "data", g.ram + MG_DATA, 16);
		mt_mem(t, "data+0x200", g.ram + MG_DATA + 0x200, 4);
		mt_mem(t, "data+0x2fc", g.ram + MG_DATA + 0x2fc, 8);
	}
	mt_destroy(&g);
}

/* Writes to a KVM_MEM_READONLY slot exit as MMIO writes; the memory stays as it was. */
KVM_CASE(mmio_readonly_slot)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_rom, mg_rom_end, false)) {
		int n = mt_run(t, &g, 32);

		CHECK_EQ(n, 4);
		mt_regs(t, &g);
		mt_mem(t, "rom", g.rom, 24);
		mt_mem(t, "rom+0x100", g.rom + 0x100, 4);
		CHECK(g.rom[8] == 8 * 3 + 1 && g.rom[16] == 16 * 3 + 1, "read-only memory written");
	}
	mt_destroy(&g);
}

/*
 * The same store to MMIO, twice (the second one from the cached MMIO
 * translation on userkvm); then a memslot appears at that address: the
 * next store and load reach the new memory without an exit.  Then the
 * slot goes away again and the address is MMIO once more.
 */
KVM_CASE(mmio_slot_added)
{
	static const unsigned char code[] = {
		0xc7, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00, 0x01, 0x00, 0x00, 0x00, /* movl $1, 0x300000 */
		0xc7, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00, 0x02, 0x00, 0x00, 0x00, /* movl $2, 0x300000 */
		0xe6, 0x10,							  /* out %al, $0x10 */
		0xc7, 0x04, 0x25, 0x04, 0x00, 0x30, 0x00, 0x03, 0x00, 0x00, 0x00, /* movl $3, 0x300004 */
		0x8b, 0x1c, 0x25, 0x04, 0x00, 0x30, 0x00,			  /* mov 0x300004, %ebx */
		0xe6, 0x10,							  /* out %al, $0x10 */
		0xc7, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00, 0x04, 0x00, 0x00, 0x00, /* movl $4, 0x300000 */
		0xe6, 0xf4,							  /* out %al, $0xf4 */
	};
	struct kvm_userspace_memory_region mr = {
		.slot = 2, .guest_phys_addr = 0x300000, .memory_size = 0x1000,
	};
	struct kvm_run *run;
	struct kvm_regs r;
	unsigned char *page;
	struct mt_vm g;
	unsigned int v;

	page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap");
	if (page == MAP_FAILED)
		return;
	if (mt_create(t, &g, code, code + sizeof(code), false))
		goto out;
	run = g.run;
	for (unsigned int want = 1; want <= 2; want++) {
		CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
		CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
		memcpy(&v, run->mmio.data, 4);
		CHECK(run->mmio.is_write && run->mmio.phys_addr == 0x300000 && run->mmio.len == 4 &&
		      v == want, "MMIO %s %#llx len %u data %#x", run->mmio.is_write ? "write" : "read",
		      (unsigned long long)run->mmio.phys_addr, run->mmio.len, v);
	}
	CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
	CHECK(run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10, "exit %u", run->exit_reason);
	mr.userspace_addr = (unsigned long)page;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
	CHECK(run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10, "exit %u", run->exit_reason);
	memcpy(&v, page + 4, 4);
	CHECK_EQ(v, 3);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK_EQ(r.rbx, 3);
	mr.memory_size = 0;	/* delete the slot: MMIO again */
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
	CHECK_EQ(run->exit_reason, KVM_EXIT_MMIO);
	memcpy(&v, run->mmio.data, 4);
	CHECK(run->mmio.is_write && run->mmio.phys_addr == 0x300000 && v == 4, "MMIO %#llx data %#x",
	      (unsigned long long)run->mmio.phys_addr, v);
	CHECK_EQ(page[0], 0);
	CHECK_EQ(mt_run(t, &g, 4), 0);
out:
	mt_destroy(&g);
	munmap(page, 0x1000);
}

/* Accesses across a page boundary: KVM's fragments, at most 8 bytes per exit. */
KVM_CASE(mmio_page_split)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_split, mg_split_end, false)) {
		int n = mt_run(t, &g, 32);

		CHECK(n >= 9, "only %d MMIO exits", n);
		mt_regs(t, &g);
		mt_mem(t, "ram end", g.ram + 0x1ffff8, 8);
		mt_mem(t, "rom", g.rom, 4);
	}
	mt_destroy(&g);
}

/*
 * INS/OUTS: REP OUTS exits once per element, REP INS once with the count
 * (read-ahead), and stores the elements as one write (into MMIO: exits of
 * up to 8 bytes, split at a page).
 */
KVM_CASE(pio_string)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_pio, mg_pio_end, false)) {
		int n = mt_run(t, &g, 64);

		CHECK_EQ(n, 5);	/* REP INS into MMIO: one write of all the elements, 8 bytes per exit */
		mt_regs(t, &g);
		mt_mem(t, "ins", g.ram + MG_DATA + 0x100, 16);
		mt_mem(t, "ins df", g.ram + MG_DATA + 0x17e, 3);
		mt_mem(t, "ins page", g.ram + MG_DATA + 0xffe, 4);
		mt_mem(t, "ins 1024", g.ram + MG_DATA + 0x2000 + 1020, 8);
		mt_mem(t, "insw 512", g.ram + MG_DATA + 0x3000 + 1020, 8);
	}
	mt_destroy(&g);
}

/* With an in-kernel irqchip, the I/O APIC and xAPIC pages are answered in the kernel. */
KVM_CASE(mmio_in_kernel_apic)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_apic, mg_apic_end, true)) {
		int n = mt_run(t, &g, 32);

		CHECK_EQ(n, 1);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/*
 * An emulated access that faults: the #PF the emulator raises (error code,
 * CR2) reaches the guest's IDT, after the MMIO read / port input that
 * needed userspace; the faulting instruction has no effect.
 */
KVM_CASE(mmio_emulated_page_fault)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_pf_movs, mg_pf_movs_end, false)) {
		int n = mt_run(t, &g, 32);

		CHECK_EQ(n, 1);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

KVM_CASE(pio_string_page_fault)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_pf_ins, mg_pf_ins_end, false)) {
		mt_run(t, &g, 32);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/* Flat 32-bit protected mode without paging: linear = physical, 8-byte CMPXCHG8B. */
KVM_CASE(mmio_protected_mode)
{
	struct mt_vm g;

	if (!mt_create_mode(t, &g, mg_pm32, mg_pm32_end, false, false, false)) {
		int n = mt_run(t, &g, 64);

		CHECK(n >= 10, "only %d MMIO exits", n);
		mt_regs(t, &g);
		mt_mem(t, "data", g.ram + MG_DATA, 8);
		mt_mem(t, "ins", g.ram + MG_DATA + 0x40, 3);
	}
	mt_destroy(&g);
}

/*
 * An instruction fetch from MMIO: the emulator cannot fetch it, and at
 * CPL0 userspace gets KVM_EXIT_INTERNAL_ERROR (emulation), as KVM's
 * handle_emulation_failure().
 */
KVM_CASE(mmio_fetch_fails)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_fetch_mmio, mg_fetch_mmio_end, false)) {
		int n = mt_run(t, &g, 8);

		CHECK_EQ(n, -1);
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
		CHECK_EQ(g.run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/* MOV Sreg with the selector in MMIO: one read exit each, the segment loaded. */
KVM_CASE(mmio_segment_load)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_sreg, mg_sreg_end, false)) {
		int n;

		/* the selector the guest reads: 0x10, the data segment */
		mt_mmio_fill = (const unsigned char *)"\x10\x00";
		n = mt_run(t, &g, 16);
		mt_mmio_fill = NULL;
		CHECK_EQ(n, 3);
		mt_regs(t, &g);
		{
			struct kvm_sregs sr;

			CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
			t_seg(t, "es", &sr.es);
			t_seg(t, "ss", &sr.ss);
			t_seg(t, "fs", &sr.fs);
		}
		mt_mem(t, "gdt", g.ram + MG_GDT, 0x18);
	}
	mt_destroy(&g);
}

/*
 * MOV SS from MMIO, completed by KVM_RUN with immediate_exit: SS is loaded
 * and the instruction's MOV-SS shadow is in the vCPU's state at once
 * (KVM_GET_VCPU_EVENTS), though nothing ran after it (userkvm writes back
 * what the emulator changed besides the GPRs only when it changed).
 */
KVM_CASE(mmio_mov_ss_shadow)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_movss, mg_movss_end, false)) {
		struct kvm_vcpu_events ev;
		struct kvm_sregs sr;
		long r = IOC(t, g.vcpu, KVM_RUN, 0);

		CHECK_EQ(r, 0);
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_MMIO);
		CHECK(!g.run->mmio.is_write && g.run->mmio.len == 2, "write %u len %u",
		      g.run->mmio.is_write, g.run->mmio.len);
		g.run->mmio.data[0] = 0x10;	/* the data segment */
		g.run->mmio.data[1] = 0;
		g.run->immediate_exit = 1;
		r = IOC(t, g.vcpu, KVM_RUN, 0);
		CHECK_ERR(t, r, EINTR);
		g.run->immediate_exit = 0;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
		t_printf(t, "shadow %#x", ev.interrupt.shadow);
		CHECK_SOFT(t, ev.interrupt.shadow == KVM_X86_SHADOW_INT_MOV_SS, "shadow %#x",
			   ev.interrupt.shadow);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
		t_seg(t, "ss", &sr.ss);
		CHECK_EQ(sr.ss.selector, 0x10);
		mt_run(t, &g, 8);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/*
 * Segment registers loaded from MMIO with other values than they had (null
 * selectors into ES and FS): the new ones are the vCPU's (userkvm writes
 * back the segments the emulator changed, and only those).
 */
KVM_CASE(mmio_segment_load_null)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_null_sreg, mg_null_sreg_end, false)) {
		struct kvm_sregs sr;
		int n;

		mt_mmio_fill = (const unsigned char *)"\x00\x00";
		n = mt_run(t, &g, 8);
		mt_mmio_fill = NULL;
		CHECK_EQ(n, 2);
		mt_regs(t, &g);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
		t_seg(t, "es", &sr.es);
		t_seg(t, "fs", &sr.fs);
		t_seg(t, "ds", &sr.ds);
		CHECK_EQ(sr.es.selector, 0);
		CHECK_EQ(sr.fs.selector, 0);
		CHECK_EQ(sr.ds.selector, 0x10);
	}
	mt_destroy(&g);
}

/*
 * The other way: an MMIO write that exits in a MOV-SS shadow retires in the
 * emulator, and the shadow is over (KVM_GET_VCPU_EVENTS right after the
 * exit); only the shadow changed, no segment register.
 */
KVM_CASE(mmio_write_ends_shadow)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_in_shadow, mg_in_shadow_end, false)) {
		struct kvm_vcpu_events ev;
		long r = IOC(t, g.vcpu, KVM_RUN, 0);

		CHECK_EQ(r, 0);
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_MMIO);
		CHECK(g.run->mmio.is_write && g.run->mmio.data[0] == 0x5a, "write %u data %#x",
		      g.run->mmio.is_write, g.run->mmio.data[0]);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
		t_printf(t, "shadow %#x", ev.interrupt.shadow);
		CHECK_SOFT(t, ev.interrupt.shadow == 0, "shadow %#x", ev.interrupt.shadow);
		mt_run(t, &g, 8);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/*
 * DR6 the guest's own single-step #DB set (no exit), then an MMIO write
 * whose emulation writes state back (its MOV-SS shadow ends): DR6 keeps
 * DR6.BS.  The emulator's state does not include DR6 (userkvm reads it
 * only with the whole state): a write-back of a DR6 read before the #DB,
 * or never read, would lose the bit.
 */
KVM_CASE(mmio_dr6_after_guest_db)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_dr6_native, mg_dr6_native_end, false)) {
		struct kvm_debugregs dr;
		struct kvm_sregs s;
		struct kvm_regs r;
		int n;

		mt_set_gate(&g, 1, MG_CODE + (uint64_t)(mg_dr6_native_db - mg_dr6_native));
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
		s.idt.limit = 2 * 16 - 1;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
		n = mt_run(t, &g, 16);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_DEBUGREGS, &dr));
		t_differs(t, "PVM: no exception delivery through the IDT of a non-PVM guest");
		t_printf(t, "mmio exits %d db %llu dr6=%#llx", n, (unsigned long long)r.r14,
			 (unsigned long long)dr.dr6);
		CHECK_SOFT(t, n == 1 && r.r14 == 1, "%d MMIO exits, %llu #DB, want 1 and 1", n,
			   (unsigned long long)r.r14);
		CHECK_SOFT(t, dr.dr6 == 0xffff4ff0, "dr6 %#llx, want 0xffff4ff0 (BS)",
			   (unsigned long long)dr.dr6);
	}
	mt_destroy(&g);
}

/*
 * Segment registers the guest changed without an exit (FS/GS bases by
 * WRMSR, null DS and ES): MMIO through FS and GS goes to their bases, a
 * stored selector is the current one (userkvm reads segments lazily in
 * 64-bit mode; these instructions must get them).
 */
KVM_CASE(mmio_segments_64)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_seg64, mg_seg64_end, false)) {
		int n = mt_run(t, &g, 16);

		CHECK_EQ(n, 7);
		mt_regs(t, &g);
		{
			struct kvm_sregs sr;

			CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
			t_seg(t, "ds", &sr.ds);
			t_seg(t, "es", &sr.es);
			t_seg(t, "fs", &sr.fs);
			t_seg(t, "gs", &sr.gs);
		}
	}
	mt_destroy(&g);
}

/*
 * A page that was MMIO (an MMIO exit, cached by KVM as MMIO for the vCPU)
 * gets a memslot: the next access to it is RAM, no MMIO exit.
 */
KVM_CASE(mmio_page_becomes_ram)
{
	struct mt_vm g;
	unsigned char *page = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(page != MAP_FAILED, "mmap");
	if (page == MAP_FAILED)
		return;
	if (!mt_create(t, &g, mg_mmio_then_ram, mg_mmio_then_ram_end, false)) {
		struct kvm_userspace_memory_region m = {
			.slot = 5, .guest_phys_addr = 0x10000000, .memory_size = 0x1000,
			.userspace_addr = (unsigned long)page,
		};
		int n;

		memset(page, 0xee, 0x1000);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_MMIO);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
		CHECK(g.run->exit_reason == KVM_EXIT_IO && g.run->io.port == 0x80, "exit %u",
		      g.run->exit_reason);
		CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &m));
		n = mt_run(t, &g, 8);
		CHECK_EQ(n, 0);
		mt_regs(t, &g);
		mt_mem(t, "page", page, 8);
		CHECK_EQ(page[4], 0x22);
	}
	mt_destroy(&g);
	munmap(page, 0x1000);
}

/* Without an irqchip the same accesses are userspace's: every one exits. */
KVM_CASE(mmio_apic_no_irqchip)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_apic, mg_apic_end, false)) {
		int n = mt_run(t, &g, 32);

		CHECK_EQ(n, 10);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/* MMIO and string I/O from CPL3: user-mode translations, the same exits. */
KVM_CASE(mmio_user_mode)
{
	struct mt_vm g;

	if (!mt_create_mode(t, &g, mg_user, mg_user_end, false, true, true)) {
		int n = mt_run(t, &g, 32);

		CHECK_EQ(n, 4);
		mt_regs_rflags_d(t, &g, "this host's PVM KVM reads user-mode RFLAGS.IOPL as 0 (VMX KVM: the guest's 3)",
				 0x3006);
		mt_mem(t, "ins", g.ram + MG_DATA + 0x100, 3);
		{
			struct kvm_sregs sr;

			CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
			t_seg(t, "cs", &sr.cs);
			CHECK_SOFT(t, sr.cs.dpl == 3 && sr.cs.selector == 0x1b, "not at CPL3");
		}
	}
	mt_destroy(&g);
}

/*
 * RFLAGS.TF over an instruction emulated in the kernel (an in-kernel I/O
 * APIC read): the single-step #DB follows it, with DR6.BS.
 */
KVM_CASE(mmio_single_step)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_step, mg_step_end, true)) {
		struct kvm_debugregs dr;

		mt_run(t, &g, 16);
		mt_regs(t, &g);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_DEBUGREGS, &dr));
		t_printf(t, "dr6=%#llx", (unsigned long long)dr.dr6);
	}
	mt_destroy(&g);
}

/*
 * KVM_RUN with immediate_exit after an MMIO read exit completes the
 * instruction with the data and returns -EINTR without running the guest
 * (the API's way to make guest state consistent, e.g. before migration).
 */
KVM_CASE(mmio_read_immediate_exit)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_mov, mg_mov_end, false)) {
		long r;

		/* run to the first read: movb (%rbx), %cl (5 write exits before it) */
		for (int i = 0; i < 6; i++) {
			r = IOC(t, g.vcpu, KVM_RUN, 0);
			CHECK_EQ(r, 0);
			CHECK_EQ(g.run->exit_reason, KVM_EXIT_MMIO);
		}
		CHECK_EQ(g.run->mmio.is_write, 0);
		t_printf(t, "read at %#llx len %u", (unsigned long long)g.run->mmio.phys_addr,
			 g.run->mmio.len);
		g.run->mmio.data[0] = 0xa5;
		g.run->immediate_exit = 1;
		r = IOC(t, g.vcpu, KVM_RUN, 0);
		CHECK_ERR(t, r, EINTR);
		t_printf(t, "exit_reason %u", g.run->exit_reason);
		mt_regs(t, &g);
		/* and the guest goes on from the next instruction */
		g.run->immediate_exit = 0;
		mt_run(t, &g, 64);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/*
 * An exception whose delivery reads the IDT from MMIO: KVM does not
 * emulate event delivery; VMX KVM reports KVM_EXIT_INTERNAL_ERROR with
 * KVM_INTERNAL_ERROR_DELIVERY_EV (the EPT misconfiguration came with valid
 * IDT-vectoring information).
 */
KVM_CASE(mmio_event_delivery)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_idt_mmio, mg_idt_mmio_end, false)) {
		struct kvm_sregs sr;

		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &sr));
		sr.idt.base = 0x10000000;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &sr));
		const char *why = "this host's PVM KVM delivers events itself: an IDT in MMIO is a triple fault (shutdown)";

		IOC(t, g.vcpu, KVM_RUN, 0);
		t_differs(t, why);
		t_printf(t, "exit %u", g.run->exit_reason);
		CHECK_SOFT(t, g.run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
			   g.run->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV &&
			   g.run->internal.ndata == 5 && g.run->internal.data[0] == 0x80000306 &&
			   g.run->internal.data[3] == 0x10000060,
			   "exit %u suberror %u ndata %u data %#llx %#llx", g.run->exit_reason,
			   g.run->internal.suberror, g.run->internal.ndata,
			   (unsigned long long)g.run->internal.data[0],
			   (unsigned long long)g.run->internal.data[3]);
		/* KVM_RUN again: the same, not a hang */
		t_differs(t, why);
		IOC(t, g.vcpu, KVM_RUN, 0);
		CHECK_SOFT(t, g.run->exit_reason == KVM_EXIT_INTERNAL_ERROR, "exit %u", g.run->exit_reason);
	}
	mt_destroy(&g);
}

/* REP OUTS/INS to the in-kernel PIT stay in the kernel; the latched count comes back. */
KVM_CASE(pio_string_in_kernel)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_pio_kernel, mg_pio_kernel_end, true)) {
		struct kvm_pit_config pit = { .flags = 0 };
		int n;

		CHECK_OK(t, IOC(t, g.vm, KVM_CREATE_PIT2, &pit));
		n = mt_run(t, &g, 16);
		CHECK_EQ(n, 0);
		mt_regs(t, &g);
		/*
		 * The count read back: down from 0xffff by the time between the
		 * two instructions; the bound (38 ms) only catches a count that
		 * was never programmed or latched.
		 */
		{
			unsigned int cnt = g.ram[MG_DATA + 0x10] | g.ram[MG_DATA + 0x11] << 8;

			CHECK(cnt <= 0xffff && cnt >= 0xffff - 0xb000, "count %#x", cnt);
		}
	}
	mt_destroy(&g);
}

/* The guest CPUID KVM supports (TSC-deadline mode of the LVT timer needs it in KVM). */
static void mt_set_supported_cpuid(struct tctx *t, struct mt_vm *g)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} b = { .c.nent = 100 };

	CHECK_OK(t, IOC(t, g->sys, KVM_GET_SUPPORTED_CPUID, &b));
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_CPUID2, &b));
}

/*
 * WRMSR of IA32_TSC_DEADLINE in a loop with an in-kernel LAPIC: no exit to
 * userspace, the value reads back, a past deadline expires (the MSR reads
 * 0).  On userkvm each write is an MSR_WRITE exit handled by the fastpath
 * (handle_fastpath_set_msr_irqoff): the statistics show 1000+ of them and
 * far fewer exits through the slow path (vcpu_enter_guest's full loop).
 */
KVM_CASE(msr_tsc_deadline_fastpath)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_tscdl, mg_tscdl_end, true)) {
		struct kvm_regs r;
		int n;

		mt_set_supported_cpuid(t, &g);
		n = mt_run(t, &g, 16);
		CHECK_EQ(n, 0);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		t_printf(t, "loop=%llu deadline=%#llx:%#llx", (unsigned long long)r.rbp,
			 (unsigned long long)r.r14, (unsigned long long)r.r13);
		CHECK_EQ(r.rbp, 1000);
		CHECK_EQ(r.r14, 0x40000000);
		CHECK_EQ(r.r13, 1);
		/*
		 * The expired deadline: VMX KVM's apic_timer_expired() clears
		 * the MSR also with LVTT masked; this host's KVM (PVM) still
		 * reads 1 after 100000 RDMSRs.
		 */
		t_differs(t, "PVM: an expired TSC deadline with LVTT masked is not cleared");
		t_printf(t, "after-expiry=%#llx", (unsigned long long)r.r15);
		CHECK_SOFT(t, r.r15 == 0, "after expiry %#llx", (unsigned long long)r.r15);
		if (t->be->soft) {
			long long wr = t_vcpu_stat(t, g.vcpu, "exit_MSR_WRITE");
			long long fast = t_vcpu_stat(t, g.vcpu, "fastpath_exits");
			long long exits = t_vcpu_stat(t, g.vcpu, "exits");

			CHECK(wr >= 1001, "MSR_WRITE exits %lld", wr);
			CHECK(fast >= 1001, "fastpath exits %lld", fast);
			/* exits counts every exit; the slow path took the rest */
			CHECK(exits >= fast && exits - fast < 500, "exits %lld fastpath %lld", exits, fast);
		}
	}
	mt_destroy(&g);
}

/*
 * x2APIC self-IPIs by WRMSR of the ICR with an in-kernel LAPIC: every one
 * is delivered (the handler runs 100 times) with no exit to userspace.
 * On userkvm the ICR writes take the fastpath
 * (handle_fastpath_set_x2apic_icr_irqoff); each IPI's request then sends
 * the vCPU through vcpu_enter_guest() to inject it.
 */
KVM_CASE(msr_x2apic_icr_fastpath)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_x2apic, mg_x2apic_end, true)) {
		uint64_t h = MG_CODE + (uint64_t)(mg_x2apic_handler - mg_x2apic);
		struct kvm_sregs s;
		struct kvm_regs r;
		int n;

		mt_set_supported_cpuid(t, &g);
		mt_set_gate(&g, 0x40, h);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
		s.idt.limit = 0x41 * 16 - 1;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
		n = mt_run(t, &g, 16);
		CHECK_EQ(n, 0);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		t_printf(t, "left=%llu", (unsigned long long)r.r13);
		/*
		 * PVM delivers events to a PVM guest's own entry point, not
		 * through the IDT of a guest that is not PVM-aware: none of the
		 * IPIs reaches the handler there (and none stays in the IRR).
		 * VMX KVM delivers each one at once (IF = 1).
		 */
		t_differs(t, "PVM: no interrupt delivery through the IDT of a non-PVM guest");
		t_printf(t, "ipis=%llu", (unsigned long long)r.r12);
		CHECK_SOFT(t, r.r12 == 100, "ipis %llu", (unsigned long long)r.r12);
		CHECK_EQ(r.r13, 0);
		if (t->be->soft) {
			long long fast = t_vcpu_stat(t, g.vcpu, "fastpath_exits");

			/* the 100 ICR writes (the EOIs and the rest take the slow path) */
			CHECK(fast == 100, "fastpath exits %lld", fast);
		}
	}
	mt_destroy(&g);
}

/*
 * CPUID exits handled in "kernel": 1000 of them in a loop give the guest
 * CPUID's leaf 1 each time with no exit to userspace, and a CPUID run with
 * RFLAGS.TF set retires before its single-step #DB, which the guest's IDT
 * receives with the RIP after the CPUID (the second #DB: the first is the
 * MOV's before it).  On userkvm the loop's exits take
 * the fastpath (handle_fastpath_cpuid(), the statistics show them), the
 * one with TF the slow path (kvm_skip_emulated_instruction() queues the
 * #DB, which KVM_REQ_EVENT makes vcpu_enter_guest() inject).
 */
KVM_CASE(cpuid_fastpath)
{
	struct mt_vm g;

	if (!mt_create(t, &g, mg_cpuid, mg_cpuid_end, false)) {
		uint64_t h = MG_CODE + (uint64_t)(mg_cpuid_db - mg_cpuid);
		uint64_t after = MG_CODE + (uint64_t)(mg_cpuid_after - mg_cpuid);
		struct kvm_sregs s;
		struct kvm_regs r;
		int n;

		mt_set_supported_cpuid(t, &g);
		mt_set_gate(&g, 1, h);	/* #DB */
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
		s.idt.limit = 2 * 16 - 1;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
		n = mt_run(t, &g, 16);
		CHECK_EQ(n, 0);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		{
			struct kvm_cpuid_entry2 *e = NULL;
			struct {
				struct kvm_cpuid2 c;
				struct kvm_cpuid_entry2 e[256];
			} sup = { .c.nent = 256 };

			if (t->be->ioctl(g.sys, KVM_GET_SUPPORTED_CPUID, (unsigned long)&sup) == 0)
				for (unsigned int i = 0; i < sup.c.nent; i++)
					if (sup.e[i].function == 1)
						e = &sup.e[i];
			CHECK(e != NULL, "no CPUID leaf 1");
			if (e)
				CHECK_EQ(r.rbp, (uint32_t)(1000 * e->eax));
		}
		CHECK_EQ(r.rflags & 0x100, 0);
		t_differs(t, "PVM: no exception delivery through the IDT of a non-PVM guest");
		t_printf(t, "db=%llu rip=%#llx", (unsigned long long)r.r14, (unsigned long long)r.r13);
		CHECK_SOFT(t, r.r14 == 2 && r.r13 == after, "#DB %llu, last at %#llx, want 2, at %#llx",
			   (unsigned long long)r.r14, (unsigned long long)r.r13,
			   (unsigned long long)after);
		if (t->be->soft) {
			long long cpuid = t_vcpu_stat(t, g.vcpu, "exit_CPUID");
			long long fast = t_vcpu_stat(t, g.vcpu, "fastpath_exits");

			CHECK(cpuid == 1001, "CPUID exits %lld", cpuid);
			CHECK(fast == 1000, "fastpath exits %lld", fast);
		}
	}
	mt_destroy(&g);
}

/*
 * KVM_GUESTDBG_INJECT_DB: KVM_SET_GUEST_DEBUG queues a #DB for the guest
 * (kvm_queue_exception(DB_VECTOR), no payload: DR6 is left alone), which
 * its IDT receives before the first instruction (the stub reports vector 1
 * and the RIP it interrupted); a second request while it is pending fails
 * with EBUSY, as for INJECT_BP.
 */
KVM_CASE(guest_debug_inject_db)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_INJECT_DB };
	struct kvm_debugregs dr;
	struct mt_vm g;

	if (!mt_create(t, &g, mg_nops, mg_nops_end, false)) {
		long r;

		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
		r = IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg);
		CHECK_ERR(t, r, EBUSY);
		mt_run(t, &g, 8);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_DEBUGREGS, &dr));
		t_printf(t, "dr6=%#llx dr7=%#llx", (unsigned long long)dr.dr6, (unsigned long long)dr.dr7);
		/* INJECT_DB and INJECT_BP: the #DB (KVM's order) */
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
		{
			struct kvm_vcpu_events ev;

			CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
			t_printf(t, "exception injected=%u pending=%u nr=%u", ev.exception.injected,
				 ev.exception.pending, ev.exception.nr);
		}
	}
	mt_destroy(&g);
}

/* One KVM_RUN that must end in an MMIO write exit, to the transcript. */
static void mt_run_write(struct tctx *t, struct mt_vm *g)
{
	char hex[160];

	CHECK_OK(t, IOC(t, g->vcpu, KVM_RUN, 0));
	CHECK_EQ(g->run->exit_reason, KVM_EXIT_MMIO);
	if (g->run->exit_reason != KVM_EXIT_MMIO)
		return;
	CHECK(g->run->mmio.is_write, "MMIO read");
	mt_hex(hex, g->run->mmio.data, g->run->mmio.len);
	t_printf(t, "exit MMIO %s phys_addr=%#llx len=%u data=%s",
		 g->run->mmio.is_write ? "write" : "read", (unsigned long long)g->run->mmio.phys_addr,
		 g->run->mmio.len, hex);
}

/* @n KVM_RUNs that end in MMIO writes to @gpa, the transcript has their number. */
static void mt_run_writes(struct tctx *t, struct mt_vm *g, int n, uint64_t gpa)
{
	int k;

	for (k = 0; k < n; k++) {
		if (IOC(t, g->vcpu, KVM_RUN, 0) < 0 || g->run->exit_reason != KVM_EXIT_MMIO ||
		    !g->run->mmio.is_write || g->run->mmio.phys_addr != gpa ||
		    g->run->mmio.data[0] != (unsigned char)(n - k))
			break;
	}
	t_printf(t, "%d MMIO writes to %#llx", k, (unsigned long long)gpa);
	CHECK_EQ(k, n);
}

/*
 * MOV stores to MMIO (mg_store_cont), where userkvm's processor takes the
 * EPT-misconfiguration exit in place and goes on in the store's block
 * when VMRESUME comes right after the store.  What the VMM changes
 * between the exits must be seen: RIP set back to a store runs it again
 * (a second exit with the new RAX; fails if the run went on in the block
 * after the store), RCX written after an exit is what the next store
 * writes (fails if the registers were not loaded for the block going
 * on), so is RFLAGS.CF for the SETC after the next one; a flag result
 * from before an exit reaches the SETZ after it, and the loop's eight
 * passes exit once each with the counter of that pass.  (80 stores
 * first: the processor takes exits in place once past the exits that
 * could not be, the EPT violations that build the guest's EPT.)
 */
KVM_CASE(mmio_store_then_regs)
{
	uint64_t st1 = MG_CODE + (uint64_t)(mg_store_cont_st1 - mg_store_cont);
	struct kvm_regs r;
	struct mt_vm g;

	if (!mt_create(t, &g, mg_store_cont, mg_store_cont_end, false)) {
		mt_run_writes(t, &g, 80, 0x10000040);
		mt_run_write(t, &g);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		t_printf(t, "after the first store: rip=+%#llx", (unsigned long long)(r.rip - st1));
		CHECK_EQ(r.rip, st1 + 2);
		r.rip = st1;
		r.rax = 0x33;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
		mt_run_write(t, &g);
		CHECK_EQ(g.run->mmio.phys_addr, 0x10000000);
		CHECK_EQ(g.run->mmio.data[0], 0x33);
		mt_run_write(t, &g);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		r.rcx = 0x40;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
		mt_run_write(t, &g);
		CHECK_EQ(g.run->mmio.data[0], 0x40);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		r.rflags |= 1;	/* CF */
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
		mt_run_write(t, &g);
		CHECK_EQ(g.run->mmio.data[0], 1);
		CHECK_EQ(mt_run(t, &g, 32), 12);
		mt_regs(t, &g);
	}
	mt_destroy(&g);
}

/*
 * KVM_INTERRUPT after an MMIO store (mg_store_irq; no irqchip, IF = 1):
 * the interrupt is delivered at the instruction after the store, before
 * the next store exits (R13 the RIP it interrupted, R14 once), where
 * userkvm's processor would otherwise go on in the store's block after an
 * exit taken in place (fails if that resume ignored the injected event).
 */
KVM_CASE(mmio_store_then_irq)
{
	struct kvm_interrupt irq = { .irq = 0x20 };
	struct kvm_sregs s;
	struct kvm_regs r;
	struct mt_vm g;

	if (!mt_create(t, &g, mg_store_irq, mg_store_irq_end, false)) {
		uint64_t after = MG_CODE + (uint64_t)(mg_store_irq_after - mg_store_irq);

		mt_set_gate(&g, 0x20, MG_CODE + (uint64_t)(mg_store_irq_handler - mg_store_irq));
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_SREGS, &s));
		s.idt.limit = 0x21 * 16 - 1;
		CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_SREGS, &s));
		mt_run_writes(t, &g, 80, 0x10000040);
		mt_run_write(t, &g);
		t_printf(t, "if_flag=%u ready_for_interrupt_injection=%u", g.run->if_flag,
			 g.run->ready_for_interrupt_injection);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_INTERRUPT, &irq));
		mt_run_write(t, &g);
		CHECK_EQ(g.run->mmio.phys_addr, 0x10000004);
		CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
		t_differs(t, "PVM: no exception delivery through the IDT of a non-PVM guest");
		t_printf(t, "interrupts=%llu at rip=%#llx", (unsigned long long)r.r14,
			 (unsigned long long)r.r13);
		CHECK_SOFT(t, r.r14 == 1 && r.r13 == after, "%llu interrupts, at %#llx, want 1 at %#llx",
			   (unsigned long long)r.r14, (unsigned long long)r.r13,
			   (unsigned long long)after);
		CHECK_EQ(mt_run(t, &g, 8), 1);
	}
	mt_destroy(&g);
}
