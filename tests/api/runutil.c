// SPDX-License-Identifier: MIT
/* Helpers of the KVM_RUN cases (runutil.h). */
#include <stdio.h>
#include <stdlib.h>

#include "runutil.h"

int tg_create_vm(struct tctx *t, struct tguest *g)
{
	struct kvm_userspace_memory_region mr;

	memset(g, 0, sizeof(*g));
	g->sys = t_open_sys(t);
	g->vm = t_create_vm(t, g->sys);
	g->mem_size = MEM_SIZE;
	g->mem = mmap(NULL, g->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(g->mem != MAP_FAILED, "mmap guest memory");
	if (g->mem == MAP_FAILED)
		return -1;
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = g->mem_size,
		.userspace_addr = (unsigned long)g->mem,
	};
	CHECK_OK(t, IOC(t, g->vm, KVM_SET_USER_MEMORY_REGION, &mr));
	g->run_size = t->be->ioctl(g->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	return 0;
}

int tg_create(struct tctx *t, struct tguest *g)
{
	if (tg_create_vm(t, g) < 0)
		return -1;
	g->vcpu = tg_add_vcpu(t, g, 0, &g->run);
	return g->vcpu;
}

int tg_add_vcpu(struct tctx *t, struct tguest *g, int id, struct kvm_run **run)
{
	int vcpu = (int)IOC(t, g->vm, KVM_CREATE_VCPU, id);

	CHECK_OK(t, vcpu);
	*run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(*run != MAP_FAILED, "mmap kvm_run");
	if (*run == MAP_FAILED)
		*run = NULL;
	return vcpu;
}

void tg_destroy(struct tguest *g)
{
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, g->mem_size);
	close(g->vcpu);
	close(g->vm);
	close(g->sys);
}

void tg_load_at(struct tguest *g, unsigned long gpa, const unsigned char *start,
		const unsigned char *end)
{
	memcpy(g->mem + gpa, start, end - start);
}

static void put64(struct tguest *g, unsigned long gpa, uint64_t v)
{
	memcpy(g->mem + gpa, &v, 8);
}

static void put32(struct tguest *g, unsigned long gpa, uint32_t v)
{
	memcpy(g->mem + gpa, &v, 4);
}

/* GDT: 0x08 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 16-bit code. */
static void build_gdt(struct tguest *g)
{
	put64(g, GDT + 0x08, 0x00af9b000000ffffull);
	put64(g, GDT + 0x10, 0x00cf93000000ffffull);
	put64(g, GDT + 0x18, 0x00cf9b000000ffffull);
	put64(g, GDT + 0x20, 0x00009b000000ffffull);
}

/* IDT: vectors 0-32 to the stubs of g_lm_rt (64-bit interrupt gates, CS 0x08). */
static void build_idt64(struct tguest *g)
{
	tg_load_at(g, RT, g_lm_rt, g_lm_rt_end);
	for (int v = 0; v <= 33; v++) {
		uint64_t h = RT + 16 * v;
		uint64_t lo = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
			      ((h >> 16 & 0xffff) << 48);

		put64(g, IDT + 16 * v, lo);
		put64(g, IDT + 16 * v + 8, h >> 32);
	}
}

void tg_set_mode(struct tctx *t, struct tguest *g, int vcpu, enum tg_mode mode)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, vcpu, KVM_GET_SREGS, &s));
	build_gdt(g);
	if (mode == TG_REAL) {
		s.cs.selector = 0;
		s.cs.base = 0;
	} else {
		struct kvm_segment data = t_flat_seg(0x10, 3, 0);

		s.cs = t_flat_seg(mode == TG_LONG ? 0x08 : 0x18, 11, mode == TG_LONG);
		if (mode == TG_PM16) {
			s.cs = (struct kvm_segment){ .selector = 0x20, .limit = 0xffff, .type = 11,
						     .present = 1, .s = 1 };
			data.limit = 0xffff;
			data.g = 0;
			data.db = 0;
		}
		s.ds = s.es = s.fs = s.gs = s.ss = data;
		s.gdt.base = GDT;
		s.gdt.limit = 0x27;
		s.cr0 = 0x11 | 0x20;	/* PE, ET, NE */
	}
	switch (mode) {
	case TG_PAGING32:
		/* 4 MiB pages: 0-4M identity, 4M-8M aliases 0-4M */
		put32(g, PT_BASE, 0x83);
		put32(g, PT_BASE + 4, 0x83);
		s.cr3 = PT_BASE;
		s.cr4 = 0x10;	/* PSE */
		s.cr0 |= 0x80000000u;
		break;
	case TG_PAE:
		/* PDPT at 0x5000 -> PD at 0x6000: 2 MiB pages, 2M-4M aliases 0-2M */
		put64(g, PT_BASE, 0x6000 | 1);
		put64(g, 0x6000, 0x83);
		put64(g, 0x6008, 0x83);
		s.cr3 = PT_BASE;
		s.cr4 = 0x20;	/* PAE */
		s.cr0 |= 0x80000000u;
		break;
	case TG_LONG:
		/* PML4 0x5000 -> PDPT 0x6000 -> PD 0x7000: 1 GiB identity in 2 MiB pages */
		put64(g, PT_BASE, 0x6000 | 3);
		put64(g, 0x6000, 0x7000 | 3);
		for (int i = 0; i < 512; i++)
			put64(g, 0x7000 + 8 * i, ((uint64_t)i << 21) | 0x83);
		build_idt64(g);
		s.idt.base = IDT;
		s.idt.limit = 34 * 16 - 1;
		s.cr3 = PT_BASE;
		s.cr4 = 0x20;
		s.cr0 |= 0x80000000u;
		s.efer = 0x500;	/* LME | LMA */
		break;
	default:
		break;
	}
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_SREGS, &s));
	memset(&r, 0, sizeof(r));
	r.rip = CODE;
	r.rsp = STACK;
	r.rflags = 2;
	CHECK_OK(t, IOC(t, vcpu, KVM_SET_REGS, &r));
}

const char *tg_exit_name(unsigned int reason)
{
	static const char *names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR", [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};
	static __thread char buf[24];

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	snprintf(buf, sizeof(buf), "exit%u", reason);
	return buf;
}

void tg_exit(struct tctx *t, const struct kvm_run *run)
{
	const unsigned char *data;
	char hex[64] = "";

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		data = (const unsigned char *)run + (run->io.data_offset < 4096 * 2 ? run->io.data_offset : 0);
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.data_offset < 4096 * 2)
			for (unsigned i = 0; i < run->io.size * run->io.count && i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", data[i]);
		t_printf(t, "exit IO %s size=%u port=%#x count=%u data_offset=%#llx %s",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size,
			 run->io.port, run->io.count, (unsigned long long)run->io.data_offset, hex);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		t_printf(t, "exit FAIL_ENTRY reason=%#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		t_printf(t, "exit INTERNAL_ERROR suberror=%u ndata=%u", run->internal.suberror,
			 run->internal.ndata);
		break;
	case KVM_EXIT_DEBUG:
		t_printf(t, "exit DEBUG exception=%u pc=%#llx dr6=%#llx dr7=%#llx",
			 run->debug.arch.exception, (unsigned long long)run->debug.arch.pc,
			 (unsigned long long)run->debug.arch.dr6,
			 (unsigned long long)run->debug.arch.dr7);
		break;
	case KVM_EXIT_MMIO:
		t_printf(t, "exit MMIO addr=%#llx len=%u write=%u",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
		break;
	default:
		t_printf(t, "exit %s", tg_exit_name(run->exit_reason));
	}
}

long tg_run(struct tctx *t, struct tguest *g)
{
	long r = IOC(t, g->vcpu, KVM_RUN, 0);

	if (r == 0)
		tg_exit(t, g->run);
	return r;
}

int tg_run_to_port(struct tctx *t, struct tguest *g, int port)
{
	if (tg_run(t, g) < 0)
		return -1;
	if (g->run->exit_reason != KVM_EXIT_IO || g->run->io.port != port) {
		CHECK(0, "exit %u port %#x, want IO to %#x", g->run->exit_reason,
		      g->run->io.port, port);
		return -1;
	}
	return 0;
}

static int run_io(struct tctx *t, struct tguest *g, int max, const char *why)
{
	for (int i = 0; i < max; i++) {
		struct kvm_run *run = g->run;
		long r;

		if (why)
			t_differs(t, why);
		r = IOC(t, g->vcpu, KVM_RUN, 0);
		if (r < 0)
			return -1;
		if (why)
			t_differs(t, why);
		tg_exit(t, run);
		if (run->exit_reason != KVM_EXIT_IO)
			return run->exit_reason;
		if (run->io.direction == KVM_EXIT_IO_IN) {
			unsigned char *d = (unsigned char *)run + run->io.data_offset;

			for (unsigned j = 0; j < run->io.size * run->io.count; j++)
				d[j] = 0x11 * (j + 1) + run->io.port;
		}
	}
	return KVM_EXIT_IO;
}

int tg_run_io(struct tctx *t, struct tguest *g, int max)
{
	return run_io(t, g, max, NULL);
}

int tg_run_io_d(struct tctx *t, struct tguest *g, int max, const char *why)
{
	return run_io(t, g, max, why);
}

void tg_dump_regs(struct tctx *t, struct tguest *g)
{
	struct kvm_regs r;

	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	t_regs(t, &r);
}
