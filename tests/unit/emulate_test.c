// SPDX-License-Identifier: MIT
/*
 * The processor's instruction-emulation assist (silicon/emulate.h) on a
 * fake VMM: linear memory 0-64 KiB is RAM, 0x8000-0x8fff is "MMIO" that
 * needs userspace until its data is there, 0xc000-0xcfff faults (#PF).
 * Checks that an instruction that cannot complete leaves the state as it
 * was, that re-execution with the data completes it, and the core's
 * faults, decode limits, refusals and one-iteration REP.
 */
#include "../test.h"
#include "x86/vmx/vmx_ops.h"

#define MEM_SIZE 0x10000
static u8 mem[MEM_SIZE];
static bool mmio_ready;		/* userspace has answered */
static u64 mmio_val;
static int mmio_reads, mmio_writes, fetches, pio_ins, pio_outs;
static u64 mmio_wval, mmio_wla;
static unsigned int mmio_wsize;
static unsigned int last_fetch_bytes[4];

static bool in_mmio(u64 la) { return la >= 0x8000 && la < 0x9000; }
static bool in_fault(u64 la) { return la >= 0xc000 && la < 0xd000; }

static int pf(struct vmx_emul_exception *e, u64 la, bool write)
{
	e->vector = 14;
	e->error_code_valid = true;
	e->error_code = write ? 2 : 0;
	e->address = la;
	return VMX_EMUL_PROPAGATE_FAULT;
}

static int t_fetch(void *o, u64 la, void *val, unsigned int bytes, struct vmx_emul_exception *e)
{
	if (fetches < 4)
		last_fetch_bytes[fetches] = bytes;
	fetches++;
	if (la + bytes > MEM_SIZE || in_fault(la))
		return pf(e, la, false);
	memcpy(val, mem + la, bytes);
	return VMX_EMUL_CONTINUE;
}

static int t_read_std(void *o, u64 la, void *val, unsigned int bytes,
		      struct vmx_emul_exception *e, bool system)
{
	if (la + bytes > MEM_SIZE)
		return pf(e, la, false);
	memcpy(val, mem + la, bytes);
	return VMX_EMUL_CONTINUE;
}

static int t_write_std(void *o, u64 la, const void *val, unsigned int bytes,
		       struct vmx_emul_exception *e, bool system)
{
	if (la + bytes > MEM_SIZE)
		return pf(e, la, true);
	memcpy(mem + la, val, bytes);
	return VMX_EMUL_CONTINUE;
}

static int t_read(void *o, u64 la, void *val, unsigned int bytes, struct vmx_emul_exception *e)
{
	if (in_fault(la))
		return pf(e, la, false);
	if (in_mmio(la)) {
		mmio_reads++;
		if (!mmio_ready)
			return VMX_EMUL_IO_NEEDED;
		memcpy(val, &mmio_val, bytes);
		return VMX_EMUL_CONTINUE;
	}
	if (la + bytes > MEM_SIZE)
		return pf(e, la, false);
	memcpy(val, mem + la, bytes);
	return VMX_EMUL_CONTINUE;
}

static int t_write(void *o, u64 la, const void *val, unsigned int bytes,
		   struct vmx_emul_exception *e)
{
	if (in_fault(la))
		return pf(e, la, true);
	if (in_mmio(la)) {
		mmio_writes++;
		mmio_wval = 0;
		memcpy(&mmio_wval, val, bytes);
		mmio_wla = la;
		mmio_wsize = bytes;
		return VMX_EMUL_CONTINUE;
	}
	if (la + bytes > MEM_SIZE)
		return pf(e, la, true);
	memcpy(mem + la, val, bytes);
	return VMX_EMUL_CONTINUE;
}

static int pio_last_at;		/* pio_in number that says VMX_EMUL_CONTINUE_LAST */

static int t_pio_in(void *o, int size, u16 port, void *val)
{
	u32 v = 0xa0 + port + pio_ins;

	pio_ins++;
	memcpy(val, &v, size);
	return pio_ins == pio_last_at ? VMX_EMUL_CONTINUE_LAST : VMX_EMUL_CONTINUE;
}

static int t_pio_out(void *o, int size, u16 port, const void *val)
{
	pio_outs++;
	return VMX_EMUL_CONTINUE;
}

static const struct vmx_emul_ops ops = {
	.fetch = t_fetch, .read_std = t_read_std, .write_std = t_write_std,
	.read_emulated = t_read, .write_emulated = t_write,
	.pio_in = t_pio_in, .pio_out = t_pio_out,
};

static int get_fpu_calls;
static void *t_get_fpu(void *o);

/* The same, with the FPU image given only when asked for (KVM's emulator_get_fpu()). */
static const struct vmx_emul_ops ops_lazy_fpu = {
	.fetch = t_fetch, .read_std = t_read_std, .write_std = t_write_std,
	.read_emulated = t_read, .write_emulated = t_write,
	.pio_in = t_pio_in, .pio_out = t_pio_out, .get_fpu = t_get_fpu,
};

static u8 fpu[VMX_FPU_STATE_SIZE] __attribute__((aligned(64)));

/* 64-bit mode at CPL0, flat, code at 0x1000; or 32-bit flat protected mode. */
static void setup(struct vmx_emul_state *st, bool long_mode)
{
	memset(st, 0, sizeof(*st));
	memset(mem, 0, sizeof(mem));
	mmio_ready = false;
	mmio_reads = mmio_writes = fetches = pio_ins = pio_outs = 0;
	pio_last_at = 0;
	st->rip = 0x1000;
	st->rflags = 2;
	st->regs[4] = 0x4000;
	for (int s = 0; s < VMX_EMUL_NR_SEGS; s++)
		st->seg[s] = (struct vmx_emul_seg){ 0, 0xffffffff, 0xc093, 0x10 };
	st->seg[VMX_EMUL_CS] = (struct vmx_emul_seg){ 0, 0xffffffff,
						      long_mode ? 0xa09b : 0xc09b, 0x08 };
	st->seg[VMX_EMUL_LDTR].ar = 0x10000;
	st->seg[VMX_EMUL_TR] = (struct vmx_emul_seg){ 0, 0x67, 0x8b, 0x18 };
	st->cr0 = 0x11 | (long_mode ? 0x80000000u : 0);
	st->cr4 = long_mode ? 0x20 : 0;
	st->efer = long_mode ? 0x500 : 0;
	st->xcr0 = 1;
	st->fpu = fpu;
}

/*
 * setup() in @long_mode, then random instruction bytes at 0x1000 and random
 * GPRs, stack, flags and MMIO readiness from the LCG state @seed.
 */
static void random_insn(struct vmx_emul_state *st, bool long_mode, u64 *seed)
{
	setup(st, long_mode);
	for (int k = 0; k < 16; k++) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		if (k < 15)
			mem[0x1000 + k] = (u8)(*seed >> 56);
		st->regs[k] = (*seed >> 20) & (k & 1 ? 0xffff : 0x1ffff);
	}
	st->regs[4] = 0x4000 + ((*seed >> 8) & 0xff0);
	st->rflags = 2 | ((*seed >> 3) & 0x8d5);
	st->gdtr_limit = 0xff;
	st->idtr_limit = 0xfff;
	st->idtr_base = 0x6000;
	mmio_ready = (*seed >> 40) & 1;
}

static void *t_get_fpu(void *o)
{
	get_fpu_calls++;
	return fpu;
}

static int emulate(struct vmx_emul_state *st, struct vmx_emul_insn *in, struct vmx_emul_exception *e)
{
	return vmx_op_emulate(&ops, NULL, st, in, 0, e);
}

static void code(const void *bytes, size_t n, u64 at)
{
	memcpy(mem + at, bytes, n);
}

static void test_mov_from_ram(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0x8b, 0x03 };	/* mov (%rbx), %eax */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	mem[0x2000] = 0x78; mem[0x2001] = 0x56; mem[0x2002] = 0x34; mem[0x2003] = 0x12;
	st.regs[3] = 0x2000;
	st.regs[0] = ~0ull;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 0x12345678);	/* 32-bit results zero-extend */
	CHECK_EQ(st.rip, 0x1002);
	CHECK_EQ(in.len, 2);
	CHECK(in.mem && !in.string, "decode info");
}

/* An MMIO read that needs userspace: no effect; re-executed with the data, it completes. */
static void test_io_needed_then_complete(void)
{
	struct vmx_emul_state st, before;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0x48, 0x03, 0x03 };	/* add (%rbx), %rax */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.regs[3] = 0x8010;
	st.regs[0] = 1;
	before = st;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_IO_NEEDED);
	CHECK(!memcmp(&st, &before, sizeof(st)), "state changed by an instruction that needs I/O");
	CHECK_EQ(mmio_reads, 1);
	mmio_ready = true;
	mmio_val = 0xffffffffffffffffull;
	fetches = 0;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);	/* bytes reused: no fetch */
	CHECK_EQ(fetches, 0);
	CHECK_EQ(st.regs[0], 0);
	CHECK_EQ(st.rflags & 0x41, 0x41);	/* ZF, CF */
	CHECK_EQ(st.rip, 0x1003);
}

/* A read-modify-write of MMIO: one read, one write, even with LOCK (no bus lock held). */
static void test_locked_rmw_mmio(void)
{
	struct vmx_emul_state st, before;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0xf0, 0x0f, 0xb1, 0x0b };	/* lock cmpxchg %ecx, (%rbx) */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.regs[3] = 0x8000;
	st.regs[0] = 5;
	st.regs[1] = 9;
	before = st;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_IO_NEEDED);
	CHECK(!memcmp(&st, &before, sizeof(st)), "state changed");
	mmio_ready = true;
	mmio_val = 5;
	mmio_reads = 0;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(mmio_reads, 1);
	CHECK_EQ(mmio_writes, 1);
	CHECK_EQ(mmio_wval, 9);
	CHECK_EQ(st.rflags & 0x40, 0x40);
	/* and again: a bus lock left held would hang here */
	in.len = 0;
	st.rip = 0x1000;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
}

/* A #PF from the VMM's translation comes back with its error code and address. */
static void test_fault_propagates(void)
{
	struct vmx_emul_state st, before;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0x89, 0x03 };	/* mov %eax, (%rbx) */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.regs[3] = 0xc123;
	before = st;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 14);
	CHECK(e.error_code_valid && e.error_code == 2, "error code %#x", e.error_code);
	CHECK_EQ(e.address, 0xc123);
	CHECK(!memcmp(&st, &before, sizeof(st)), "state changed by a faulting instruction");
}

/* The core's own exceptions: #UD, #GP for a segment limit, #DE. */
static void test_core_exceptions(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 ud2[] = { 0x0f, 0x0b };
	static const u8 movabs[] = { 0xa1, 0x00, 0x10, 0x00, 0x00 };	/* 32-bit: mov 0x1000, %eax */
	static const u8 div[] = { 0xf7, 0x33 };				/* div (%ebx) */

	setup(&st, true);
	code(ud2, sizeof(ud2), 0x1000);
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 6);
	CHECK(!e.error_code_valid, "#UD has no error code");

	setup(&st, false);
	code(movabs, sizeof(movabs), 0x1000);
	st.seg[VMX_EMUL_DS].limit = 0xfff;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 13);
	CHECK(e.error_code_valid && e.error_code == 0, "#GP(0)");
	CHECK_EQ(st.rip, 0x1000);

	setup(&st, false);
	code(div, sizeof(div), 0x1000);
	st.regs[3] = 0x8000;
	mmio_ready = true;
	mmio_val = 0;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 0);
}

/* Instructions the assist leaves to the VMM: no effect on the state. */
static void test_refused(void)
{
	static const u8 cpuid[] = { 0x0f, 0xa2 }, rdmsr[] = { 0x0f, 0x32 }, hlt[] = { 0xf4 };
	static const u8 ljmp[] = { 0xff, 0x2b };	/* ljmp *(%rbx) */
	static const u8 lgdt[] = { 0x0f, 0x01, 0x13 };	/* lgdt (%rbx) */
	const u8 *progs[] = { cpuid, rdmsr, hlt, ljmp, lgdt };
	const size_t lens[] = { 2, 2, 1, 2, 3 };

	for (size_t k = 0; k < ARRAY_SIZE(progs); k++) {
		struct vmx_emul_state st, before;
		struct vmx_emul_insn in = { 0 };
		struct vmx_emul_exception e;
		int r;

		setup(&st, true);
		code(progs[k], lens[k], 0x1000);
		st.regs[3] = 0x2000;
		mem[0x2004] = 0x08;	/* far pointer 0x08:0 */
		mem[0x08 + 5] = 0x9b;	/* a 32-bit code segment: CS changes */
		mem[0x08 + 6] = 0xcf;
		st.gdtr_limit = 0xff;
		before = st;
		r = emulate(&st, &in, &e);
		CHECK(r == VMX_EMUL_UNHANDLEABLE, "insn %zu: %d (vector %d)", k, r, e.vector);
		CHECK(!memcmp(&st, &before, sizeof(st)), "insn %zu changed the state", k);
	}
}

/* MOV Sreg from memory: the descriptor is read from the GDT (read_std), the segment loaded. */
static void test_segment_load(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0x8e, 0x03 };	/* mov (%rbx), %es */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.gdtr_base = 0x100;
	st.gdtr_limit = 0x1f;
	mem[0x100 + 0x18 + 5] = 0x93;	/* GDT[3]: data, base 0x12345678 */
	mem[0x100 + 0x18 + 2] = 0x78;
	mem[0x100 + 0x18 + 3] = 0x56;
	mem[0x100 + 0x18 + 4] = 0x34;
	mem[0x100 + 0x18 + 7] = 0x12;
	mem[0x100 + 0x18 + 0] = 0xff;
	st.regs[3] = 0x8000;
	mmio_ready = true;
	mmio_val = 0x18;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.seg[VMX_EMUL_ES].selector, 0x18);
	CHECK_EQ(st.seg[VMX_EMUL_ES].base, 0x12345678);
	CHECK_EQ(st.seg[VMX_EMUL_ES].limit, 0xff);
	CHECK_EQ(st.seg[VMX_EMUL_ES].ar & 0xff, 0x93);	/* the accessed bit written back */
	CHECK_EQ(mem[0x100 + 0x18 + 5], 0x93);
	/* beyond the GDT limit: #GP(selector) */
	in.len = 0;
	st.rip = 0x1000;
	mmio_val = 0x28;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 13);
	CHECK_EQ(e.error_code, 0x28);
	CHECK_EQ(st.seg[VMX_EMUL_ES].selector, 0x18);
}

/*
 * VMX_EMUL_ABSENT_SEGS: in 64-bit mode a plain MOV runs without the data
 * segments (their garbage is not read); an FS-relative MOV, a MOV from a
 * segment register, MOV to a segment register and OUT ask for them
 * (VMX_EMUL_NEED_STATE, nothing done) and run once they are there; in
 * 32-bit mode everything asks.
 */
static void test_absent_segments(void)
{
	static const u8 mov[] = { 0x89, 0x03 };			/* mov %eax, (%rbx) */
	static const u8 fs_mov[] = { 0x64, 0x89, 0x03 };	/* mov %eax, %fs:(%rbx) */
	static const u8 from_sreg[] = { 0x8c, 0x1b };		/* mov %ds, (%rbx) */
	static const u8 to_sreg[] = { 0x8e, 0x03 };		/* mov (%rbx), %es */
	static const u8 out[] = { 0xe6, 0x80 };			/* out %al, $0x80 */
	const u8 *forms[] = { fs_mov, from_sreg, to_sreg, out };
	const size_t lens[] = { sizeof(fs_mov), sizeof(from_sreg), sizeof(to_sreg), sizeof(out) };
	struct vmx_emul_state st, before;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;

	setup(&st, true);
	code(mov, sizeof(mov), 0x1000);
	st.regs[0] = 0x11223344;
	st.regs[3] = 0x8000;
	st.absent = VMX_EMUL_ABSENT_SEGS;
	for (int s = 0; s < VMX_EMUL_NR_SEGS; s++)	/* what a VMM has not read */
		if (s != VMX_EMUL_CS && s != VMX_EMUL_SS)
			st.seg[s] = (struct vmx_emul_seg){ 0xdead0000, 0, 0, 0x1234 };
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(mmio_writes, 1);
	CHECK_EQ(mmio_wval, 0x11223344);	/* at 0x8000: the DS base is not read */
	CHECK_EQ(st.rip, 0x1002);
	CHECK_EQ(st.seg[VMX_EMUL_DS].base, 0xdead0000);	/* left as given */
	for (unsigned int k = 0; k < ARRAY_SIZE(forms); k++) {
		u32 fs_base = 0x100;

		setup(&st, true);
		code(forms[k], lens[k], 0x1000);
		st.regs[0] = 0x55;
		st.regs[3] = 0x7f00;
		st.absent = VMX_EMUL_ABSENT_SEGS;
		st.seg[VMX_EMUL_FS].base = 0xdead0000;
		st.gdtr_base = 0x100;
		st.gdtr_limit = 0x1f;
		mem[0x100 + 0x10 + 5] = 0x93;	/* GDT[2]: data */
		mem[0x100 + 0x10 + 0] = 0xff;
		mem[0x7f00] = 0x10;	/* the selector mov (%rbx), %es loads */
		before = st;
		memset(&in, 0, sizeof(in));
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_NEED_STATE);
		CHECK(!memcmp(&st, &before, sizeof(st)), "form %u: state changed", k);
		CHECK(mmio_writes == 0 && mmio_reads == 0 && pio_outs == 0, "form %u: accessed", k);
		st.absent = 0;	/* filled in */
		st.seg[VMX_EMUL_FS].base = fs_base;
		st.seg[VMX_EMUL_DS].selector = 0x33;
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
		CHECK_EQ(st.rip, 0x1000 + lens[k]);
		if (k == 0)
			CHECK_EQ(mmio_writes, 1);	/* at 0x8000 = FS base + 0x7f00 */
		if (k == 1)
			CHECK_EQ(mem[0x7f00], 0x33);	/* DS's selector as filled in */
		if (k == 2)
			CHECK_EQ(st.seg[VMX_EMUL_ES].selector, 0x10);
		if (k == 3)
			CHECK_EQ(pio_outs, 1);
	}
	/* 32-bit mode: the segments are always needed */
	setup(&st, false);
	code(mov, sizeof(mov), 0x1000);
	st.regs[3] = 0x8000;
	st.absent = VMX_EMUL_ABSENT_SEGS;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_NEED_STATE);
	CHECK_EQ(mmio_writes, 0);
}

/* REP MOVSB runs one iteration per call; RIP stays until RCX is 0. */
static void test_rep_one_iteration(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0xf3, 0xa4 };

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	memcpy(mem + 0x3000, "abc", 3);
	st.regs[6] = 0x3000;
	st.regs[7] = 0x3100;
	st.regs[1] = 3;
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
		CHECK_EQ(st.regs[1], 2 - k);
		CHECK_EQ(st.rip, k < 2 ? 0x1000 : 0x1002);
	}
	CHECK(!memcmp(mem + 0x3100, "abc", 3), "copied");
	CHECK_EQ(in.rep, 0xf3);
	CHECK(in.string, "string");
}

/*
 * 67h REP string with ECX = 0 (upper halves nonzero): nothing is copied,
 * yet as on Intel (ops_str.c rep_zero_quirk()) RCX = 0, MOVS zero-extends
 * RSI and RDI, STOS RDI, LODS only RCX.
 */
static void test_rep_a32_zero_count(void)
{
	static const struct { u8 b[3]; bool si, di; } c[] = {
		{ { 0x67, 0xf3, 0xa4 }, true, true },	/* rep movsb (a32) */
		{ { 0x67, 0xf3, 0xaa }, false, true },	/* rep stosb (a32) */
		{ { 0x67, 0xf3, 0xac }, false, false },	/* rep lodsb (a32) */
	};

	for (size_t k = 0; k < ARRAY_SIZE(c); k++) {
		struct vmx_emul_state st;
		struct vmx_emul_insn in = { 0 };
		struct vmx_emul_exception e;
		u64 si = 0x500000000ull | 0x3000, di = 0x700000000ull | 0x3100;

		setup(&st, true);
		code(c[k].b, sizeof(c[k].b), 0x1000);
		st.regs[0] = 0x55;
		st.regs[1] = 0x900000000ull;
		st.regs[6] = si;
		st.regs[7] = di;
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
		CHECK_EQ(st.rip, 0x1003);
		CHECK_EQ(st.regs[0], 0x55);
		CHECK_EQ(st.regs[1], 0);
		CHECK_EQ(st.regs[6], c[k].si ? (u32)si : si);
		CHECK_EQ(st.regs[7], c[k].di ? (u32)di : di);
	}
}

/* IN/OUT and INS through the port callbacks. */
static void test_pio(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0xec, 0xee, 0x6c };	/* in %dx,%al; out %al,%dx; insb */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.regs[2] = 0x10;
	st.regs[7] = 0x3000;
	for (int k = 0; k < 3; k++) {
		memset(&in, 0, sizeof(in));
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	}
	CHECK_EQ(st.regs[0] & 0xff, 0xb0);
	CHECK_EQ(mem[0x3000], 0xb1);
	CHECK_EQ(st.regs[7], 0x3001);
	CHECK_EQ(pio_ins, 2);
	CHECK_EQ(pio_outs, 1);
}

/* CPL3 with IOPL 0: string I/O as the TSS I/O bitmap says (read through read_std). */
static void test_io_bitmap(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0x6e };	/* outsb */

	setup(&st, false);
	code(b, sizeof(b), 0x1000);
	st.seg[VMX_EMUL_CS].ar = 0xc0fb;	/* DPL3 code */
	st.seg[VMX_EMUL_SS].ar = 0xc0f3;	/* CPL = SS.DPL = 3 */
	st.seg[VMX_EMUL_TR] = (struct vmx_emul_seg){ 0x500, 0x80, 0x8b, 0x18 };
	mem[0x500 + 0x66] = 0x68;		/* I/O map base */
	mem[0x500 + 0x68 + 2] = 0x02;		/* port 0x11 denied, 0x10 allowed */
	st.regs[6] = 0x3000;
	st.regs[2] = 0x10;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(pio_outs, 1);
	st.regs[2] = 0x11;
	st.rip = 0x1000;
	in.len = 0;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 13);
	CHECK_EQ(pio_outs, 1);
	/* beyond the TSS limit: denied */
	st.regs[2] = 0x400;
	in.len = 0;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.vector, 13);
}

/* REP INS runs up to max_iter iterations, ended early by VMX_EMUL_CONTINUE_LAST. */
static void test_rep_ins_batch(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0xf3, 0x6c };	/* rep insb */

	setup(&st, true);
	code(b, sizeof(b), 0x1000);
	st.regs[2] = 0x10;
	st.regs[7] = 0x3000;
	st.regs[1] = 10;
	in.max_iter = 4;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(pio_ins, 4);
	CHECK_EQ(st.regs[1], 6);
	CHECK_EQ(st.regs[7], 0x3004);
	CHECK_EQ(st.rip, 0x1000);
	CHECK(mem[0x3000] == 0xb0 && mem[0x3003] == 0xb3, "data");
	pio_last_at = 6;	/* the 2nd of this call is the last ready */
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(pio_ins, 6);
	CHECK_EQ(st.regs[1], 4);
	in.max_iter = 0;	/* other calls: one iteration */
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[1], 3);
}

/* An instruction across a page is fetched to the page end, then the rest. */
static void test_fetch_page_split(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 b[] = { 0xb8, 0x44, 0x33, 0x22, 0x11 };	/* mov $0x11223344, %eax */

	setup(&st, true);
	code(b, sizeof(b), 0x1ffe);
	st.rip = 0x1ffe;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(fetches, 2);
	CHECK_EQ(last_fetch_bytes[0], 2);
	CHECK_EQ(last_fetch_bytes[1], 13);
	CHECK_EQ(st.regs[0], 0x11223344);
	CHECK_EQ(in.fetched, 15);

	/* the second page faults: #PF at its first byte */
	setup(&st, true);
	code(b, 2, 0xbffe);
	st.rip = 0xbffe;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
	CHECK_EQ(e.address, 0xc000);
}

/*
 * Random bytes as instructions, in 64-bit and 32-bit mode, registers
 * pointing anywhere in the fake VMM's memory: every call ends in one of
 * the four results, and the state is untouched unless it is CONTINUE
 * (ASan/UBSan watch the rest).
 */
static void test_fuzz(void)
{
	u64 seed = 0x9e3779b97f4a7c15ull;
	int results[6] = { 0 };

	for (int n = 0; n < 20000; n++) {
		struct vmx_emul_state st, before;
		struct vmx_emul_insn in = { 0 };
		struct vmx_emul_exception e;
		int r;

		random_insn(&st, n & 1, &seed);
		before = st;
		r = emulate(&st, &in, &e);
		CHECK(r == VMX_EMUL_CONTINUE || r == VMX_EMUL_PROPAGATE_FAULT ||
		      r == VMX_EMUL_IO_NEEDED || r == VMX_EMUL_UNHANDLEABLE, "result %d", r);
		if (r != VMX_EMUL_CONTINUE)
			CHECK(!memcmp(&st, &before, sizeof(st)), "state changed, result %d bytes %02x %02x %02x",
			      r, mem[0x1000], mem[0x1001], mem[0x1002]);
		if (r >= 0 && r < 6)
			results[r]++;
		if (test_failed_now > 5)
			break;
	}
	/* all four outcomes were seen: the fuzz reached every path */
	CHECK(results[VMX_EMUL_CONTINUE] && results[VMX_EMUL_PROPAGATE_FAULT] &&
	      results[VMX_EMUL_IO_NEEDED] && results[VMX_EMUL_UNHANDLEABLE],
	      "%d %d %d %d", results[0], results[2], results[5], results[1]);
}

/*
 * What the assist keeps between calls must never change a result: the
 * decode of the same RIP with other bytes, or of the same bytes in another
 * mode, is made again; decode then execute of one instruction fetches
 * once; a state changed between the two is loaded again; the FPU image is
 * asked for only by an instruction that uses it.
 */
static void test_kept_decode_and_state(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 mov[] = { 0x8b, 0x03 };		/* mov (%rbx), %eax */
	static const u8 add[] = { 0x03, 0x03 };		/* add (%rbx), %eax */
	static const u8 movq[] = { 0x48, 0x8b, 0x03 };	/* 64-bit: mov (%rbx), %rax; 32-bit: dec %eax; mov */
	static const u8 movdqu[] = { 0xf3, 0x0f, 0x6f, 0x03 };	/* movdqu (%rbx), %xmm0 */

	setup(&st, true);
	code(mov, sizeof(mov), 0x1000);
	memcpy(mem + 0x2000, "\x01\x00\x00\x00\x00\x00\x00\x80", 8);
	st.regs[3] = 0x2000;
	st.regs[0] = 5;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 1);
	/* the same RIP, other bytes */
	code(add, sizeof(add), 0x1000);
	st.rip = 0x1000;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 2);
	/* the same bytes in 64-bit and in 32-bit mode */
	code(movq, sizeof(movq), 0x1000);
	st.rip = 0x1000;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 0x8000000000000001ull);
	CHECK_EQ(in.len, 3);
	setup(&st, false);
	code(movq, sizeof(movq), 0x1000);
	memcpy(mem + 0x2000, "\x07\x00\x00\x00", 4);
	st.regs[3] = 0x2000;
	st.regs[0] = 10;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(in.len, 1);			/* DEC EAX on its own */
	CHECK_EQ(st.regs[0], 9);

	/* decode, then execute: one fetch; a register changed in between is seen */
	setup(&st, true);
	code(add, sizeof(add), 0x1000);
	memcpy(mem + 0x2000, "\x02\x00\x00\x00", 4);
	st.regs[3] = 0x2000;
	st.regs[0] = 40;
	memset(&in, 0, sizeof(in));
	fetches = 0;
	CHECK_EQ(vmx_op_emulate(&ops, NULL, &st, &in, VMX_EMUL_DECODE_ONLY, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 40);
	st.regs[0] = 100;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(fetches, 1);
	CHECK_EQ(st.regs[0], 102);
	/* a segment changed in between (DS base: 32-bit mode uses it) */
	setup(&st, false);
	code(add, sizeof(add), 0x1000);
	memcpy(mem + 0x2000, "\x02\x00\x00\x00", 4);
	memcpy(mem + 0x3000, "\x20\x00\x00\x00", 4);
	st.regs[3] = 0x2000;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(vmx_op_emulate(&ops, NULL, &st, &in, VMX_EMUL_DECODE_ONLY, &e), VMX_EMUL_CONTINUE);
	st.seg[VMX_EMUL_DS].base = 0x1000;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(st.regs[0], 0x20);

	/* the FPU image: not for a MOV, for a MOVDQU, which loads XMM0 into it */
	setup(&st, true);
	st.fpu = NULL;
	code(mov, sizeof(mov), 0x1000);
	st.regs[3] = 0x2000;
	memset(&in, 0, sizeof(in));
	get_fpu_calls = 0;
	CHECK_EQ(vmx_op_emulate(&ops_lazy_fpu, NULL, &st, &in, 0, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(get_fpu_calls, 0);
	code(movdqu, sizeof(movdqu), 0x1000);
	for (int i = 0; i < 16; i++)
		mem[0x2000 + i] = (u8)(0x40 + i);
	memset(fpu, 0, sizeof(fpu));
	fpu[24] = 0x80;				/* MXCSR 0x1f80 */
	fpu[25] = 0x1f;
	st.rip = 0x1000;
	st.cr4 |= 0x600;			/* OSFXSR, OSXMMEXCPT */
	memset(&in, 0, sizeof(in));
	CHECK_EQ(vmx_op_emulate(&ops_lazy_fpu, NULL, &st, &in, 0, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(get_fpu_calls, 1);
	CHECK(!memcmp(fpu + 160, mem + 0x2000, 16), "XMM0 (FXSAVE offset 160) not loaded");
}

/*
 * A 64-bit data instruction after one like it loads only the registers into
 * the processor (emulate.c: emul_regs_suffice()); what the derived mode is
 * made of must still be seen when it changed in between: CS.L alone
 * (compatibility mode: another decode of the same bytes), CR4.LA57 alone
 * (the canonical check of the address).
 */
static void test_fast_path_mode_inputs(void)
{
	struct vmx_emul_state st;
	struct vmx_emul_insn in = { 0 };
	struct vmx_emul_exception e;
	static const u8 movq[] = { 0x48, 0x8b, 0x03 };	/* 64-bit: mov (%rbx), %rax; else dec %eax; ... */
	static const u8 store[] = { 0x89, 0x03 };	/* mov %eax, (%rbx) */
	const u64 la57_only = 0x0080000000002000ull;	/* canonical with 57 bits, not with 48 */

	setup(&st, true);
	code(movq, sizeof(movq), 0x1000);
	memcpy(mem + 0x2000, "\x01\x00\x00\x00\x00\x00\x00\x80", 8);
	st.regs[3] = 0x2000;
	st.regs[0] = 5;
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(in.len, 3);
	CHECK_EQ(st.regs[0], 0x8000000000000001ull);
	/* the same again, but CS.L clear (D set): compatibility mode */
	st.rip = 0x1000;
	st.regs[0] = 10;
	st.seg[VMX_EMUL_CS].ar = 0xc09b;
	memset(&in, 0, sizeof(in));
	CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
	CHECK_EQ(in.len, 1);			/* DEC EAX on its own */
	CHECK_EQ(st.regs[0], 9);
	/* 64-bit again: a store, then CR4.LA57 set, then cleared */
	st.seg[VMX_EMUL_CS].ar = 0xa09b;
	code(store, sizeof(store), 0x1000);
	for (int la57 = 1; la57 >= 0; la57--) {
		st.rip = 0x1000;
		st.regs[3] = 0x2000;
		memset(&in, 0, sizeof(in));
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_CONTINUE);
		st.cr4 = la57 ? st.cr4 | 0x1000 : st.cr4 & ~0x1000ull;
		st.rip = 0x1000;
		st.regs[3] = la57_only;
		memset(&in, 0, sizeof(in));
		CHECK_EQ(emulate(&st, &in, &e), VMX_EMUL_PROPAGATE_FAULT);
		/* LA57: the address reaches the VMM, which faults it (#PF); else #GP */
		CHECK_EQ(e.vector, la57 ? 14 : 13);
	}
}

/*
 * The GPRs in the VMM's own array (vmx_emul_state.gprs) give what @regs
 * gives, and are written only when the instruction retires: random
 * instructions run both ways from the same state and memory.
 */
static void test_gprs_in_place(void)
{
	static u8 mem0[MEM_SIZE], mem1[MEM_SIZE], fpu0[VMX_FPU_STATE_SIZE], fpu1[VMX_FPU_STATE_SIZE];
	u64 seed = 0x2545f4914f6cdd1dull;
	int retired = 0;

	for (int n = 0; n < 4000 && test_failed_now <= 5; n++) {
		struct vmx_emul_state a, b, b_before;
		struct vmx_emul_insn ia = { 0 }, ib = { 0 };
		struct vmx_emul_exception ea, eb;
		u64 gprs[16], gprs_before[16];
		int ra, rb;

		random_insn(&a, n & 1, &seed);
		b = a;
		b.gprs = gprs;
		memcpy(gprs, a.regs, sizeof(gprs));
		memset(b.regs, 0x5a, sizeof(b.regs));	/* must not be used */
		b_before = b;
		memcpy(gprs_before, gprs, sizeof(gprs));
		memcpy(mem0, mem, MEM_SIZE);
		memcpy(fpu0, fpu, sizeof(fpu));
		pio_ins = pio_outs = 0;
		ra = emulate(&a, &ia, &ea);
		memcpy(mem1, mem, MEM_SIZE);
		memcpy(mem, mem0, MEM_SIZE);
		memcpy(fpu1, fpu, sizeof(fpu));
		memcpy(fpu, fpu0, sizeof(fpu));
		pio_ins = pio_outs = 0;		/* t_pio_in()'s data counts them */
		rb = emulate(&b, &ib, &eb);
		CHECK_EQ(ra, rb);
		CHECK(!memcmp(mem, mem1, MEM_SIZE), "memory differs, bytes %02x %02x %02x",
		      mem[0x1000], mem[0x1001], mem[0x1002]);
		CHECK(!memcmp(fpu, fpu1, sizeof(fpu)), "FPU differs");
		CHECK(!memcmp(b.regs, b_before.regs, sizeof(b.regs)), "regs[] written though gprs is set");
		if (rb == VMX_EMUL_CONTINUE) {
			retired++;
			CHECK(!memcmp(gprs, a.regs, sizeof(gprs)), "GPRs differ, bytes %02x %02x %02x",
			      mem[0x1000], mem[0x1001], mem[0x1002]);
			CHECK_EQ(a.rip, b.rip);
			CHECK_EQ(a.rflags, b.rflags);
		} else {
			CHECK(!memcmp(gprs, gprs_before, sizeof(gprs)), "GPRs changed, result %d", rb);
			CHECK(!memcmp(&b, &b_before, sizeof(b)), "state changed, result %d", rb);
		}
	}
	CHECK(retired > 100, "only %d retired", retired);
}

/*
 * MOV to memory in 64-bit mode, each form the assist runs without its
 * handler's call layers (emulate.c: EMUL_CLS_STORE), twice: decoded, then
 * from the decode cache (emul_fast(), no setjmp), and once more with the
 * instruction 11 bytes before its page's end (the general path, fetching
 * to the page end): the address, size and value of the one write, one
 * fetch, RIP after it, the registers and RFLAGS as they were, the shadow
 * over; a fault (#PF, a non-canonical address's #GP) leaves the state as
 * it was.  Fails if the store used AL for AH, DH for SIL, RIP for the next
 * RIP, a 64-bit address under 67h, or the immediate unextended.
 */
static void test_mov_store_forms(void)
{
	static const struct {
		u8 b[10], len, size;
		u64 la, val;
	} t[] = {
		{ { 0x88, 0x23 }, 2, 1, 0x8010, 0x12 },				/* mov %ah,(%rbx) */
		{ { 0x88, 0x33 }, 2, 1, 0x8010, 0x56 },				/* mov %dh,(%rbx) */
		{ { 0x40, 0x88, 0x33 }, 3, 1, 0x8010, 0xab },			/* mov %sil,(%rbx) */
		{ { 0x66, 0x89, 0x43, 0x08 }, 4, 2, 0x8018, 0x1234 },		/* mov %ax,8(%rbx) */
		{ { 0x48, 0x89, 0x44, 0x8b, 0xf8 }, 5, 8, 0x8010, 0x1122334455661234ull },
										/* mov %rax,-8(%rbx,%rcx,4) */
		{ { 0xc7, 0x05, 0x16, 0x70, 0, 0, 0x78, 0x56, 0x34, 0x12 }, 10, 4, 0x8020, 0x12345678 },
										/* movl $0x12345678,0x7016(%rip) */
		{ { 0x48, 0xc7, 0x43, 0x10, 0xfe, 0xff, 0xff, 0xff }, 8, 8, 0x8020, ~1ull },
										/* movq $-2,0x10(%rbx) */
		{ { 0xc6, 0x43, 0x01, 0x9a }, 4, 1, 0x8011, 0x9a },		/* movb $0x9a,1(%rbx) */
		{ { 0x67, 0x89, 0x07 }, 3, 4, 0x8030, 0x55661234 },		/* mov %eax,(%edi) */
		{ { 0x41, 0x89, 0x00 }, 3, 4, 0x8040, 0x55661234 },		/* mov %eax,(%r8) */
		{ { 0x89, 0x06 }, 2, 0, 0, 0 },					/* mov %eax,(%rsi): #GP */
		{ { 0x89, 0x02 }, 2, 0, 0, 0 },					/* mov %eax,(%rdx): #PF */
	};

	for (unsigned int n = 0; n < 3 * sizeof(t) / sizeof(t[0]); n++) {
		unsigned int k = n / 3;
		u64 at = n % 3 == 2 ? 0x1ff5 : 0x1000;
		struct vmx_emul_state st, before;
		struct vmx_emul_insn in = { 0 };
		struct vmx_emul_exception e;
		int r;

		setup(&st, true);
		st.rip = at;
		code(t[k].b, t[k].len, at);
		if (t[k].b[1] == 0x05)	/* RIP-relative: the same address from here */
			memcpy(mem + at + 2, &(u32){ 0x7016 - (u32)(at - 0x1000) }, 4);
		st.regs[0] = 0x1122334455661234ull;
		st.regs[1] = 2;
		st.regs[2] = t[k].size ? 0x5600 : 0xc000;	/* #PF at 0xc000 */
		st.regs[3] = 0x8010;
		st.regs[6] = t[k].size ? 0xab : 0x0000800000000000ull;	/* not canonical */
		st.regs[7] = 0x100008030ull;
		st.regs[8] = 0x8040;
		st.rflags = 0x2 | 0x8d5;
		st.interruptibility = 1;	/* STI blocking */
		before = st;
		mmio_writes = 0;
		mmio_wla = mmio_wval = 0;
		fetches = 0;
		r = emulate(&st, &in, &e);
		CHECK_EQ(fetches, 1);
		CHECK_EQ(last_fetch_bytes[0], at == 0x1000 ? 15u : 11u);
		if (!t[k].size) {
			CHECK_EQ(r, VMX_EMUL_PROPAGATE_FAULT);
			CHECK_EQ(e.vector, t[k].b[1] == 0x06 ? 13 : 14);
			CHECK_EQ(mmio_writes, 0);
			CHECK(!memcmp(&st, &before, sizeof(st)), "state changed by a fault, case %u", k);
			continue;
		}
		CHECK_EQ(r, VMX_EMUL_CONTINUE);
		CHECK_EQ(mmio_writes, 1);
		CHECK_EQ(mmio_wla, t[k].la);
		CHECK_EQ(mmio_wsize, t[k].size);
		CHECK_EQ(mmio_wval, t[k].val);
		CHECK_EQ(in.len, t[k].len);
		CHECK_EQ(st.rip, at + t[k].len);
		CHECK_EQ(st.rflags, before.rflags);
		CHECK_EQ(st.interruptibility, 0);
		CHECK(!memcmp(st.regs, before.regs, sizeof(st.regs)), "registers changed, case %u", k);
		if (test_failed_now)
			break;
	}
}

/*
 * The decode cache's 15-byte look-up (emul_fast(): the fetched bytes
 * compared under the entry's mask): a cached MOV store whose bytes then
 * change at its first, its 9th or its last (10th) byte is decoded anew,
 * while bytes after it do not matter.  Fails if the mask covers fewer
 * bytes than the instruction (a stale decode: the old address, size or
 * value) or more (no hit: a changed byte after it would still give the
 * right store, so that is checked by the one fetch and the result only).
 */
static void test_dcache_bytes_changed(void)
{
	/* movl $0x12345678,0x7016(%rip) at 0x1000: the store at 0x8020 */
	static const u8 base[10] = { 0xc7, 0x05, 0x16, 0x70, 0, 0, 0x78, 0x56, 0x34, 0x12 };
	static const struct {
		int at;		/* the byte changed, -1 none */
		u8 to;
		u64 la, val;
		unsigned int size;
	} t[] = {
		{ -1, 0, 0x8020, 0x12345678, 4 },
		{ 10, 0xcc, 0x8020, 0x12345678, 4 },	/* after the instruction */
		{ 14, 0x90, 0x8020, 0x12345678, 4 },	/* the 15th byte fetched */
		{ 9, 0x99, 0x8020, 0x99345678, 4 },	/* its last byte: the immediate's top */
		{ 8, 0x77, 0x8020, 0x12775678, 4 },	/* its 9th */
		{ 2, 0x26, 0x8030, 0x12345678, 4 },	/* the displacement */
	};

	for (unsigned int k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		for (int pass = 0; pass < 2; pass++) {
			struct vmx_emul_state st;
			struct vmx_emul_insn in = { 0 };
			struct vmx_emul_exception e;
			u8 b[15];
			int r;

			memset(b, 0x90, sizeof(b));
			memcpy(b, base, sizeof(base));
			if (t[k].at >= 0 && pass)
				b[t[k].at] = t[k].to;
			setup(&st, true);
			st.rip = 0x1000;
			code(b, sizeof(b), 0x1000);
			mmio_writes = 0;
			mmio_wla = mmio_wval = 0;
			r = emulate(&st, &in, &e);
			CHECK_EQ(r, VMX_EMUL_CONTINUE);
			CHECK_EQ(fetches, 1);
			CHECK_EQ(mmio_writes, 1);
			CHECK_EQ(st.rip, 0x100aull);
			CHECK_EQ(mmio_wla, pass ? t[k].la : 0x8020ull);
			CHECK_EQ(mmio_wval, pass ? t[k].val : 0x12345678ull);
			CHECK_EQ(mmio_wsize, t[k].size);
		}
		if (test_failed_now)
			break;
	}
}

int main(void)
{
	RUN_TEST(test_mov_from_ram);
	RUN_TEST(test_io_needed_then_complete);
	RUN_TEST(test_locked_rmw_mmio);
	RUN_TEST(test_fault_propagates);
	RUN_TEST(test_core_exceptions);
	RUN_TEST(test_refused);
	RUN_TEST(test_segment_load);
	RUN_TEST(test_absent_segments);
	RUN_TEST(test_rep_one_iteration);
	RUN_TEST(test_rep_a32_zero_count);
	RUN_TEST(test_pio);
	RUN_TEST(test_fetch_page_split);
	RUN_TEST(test_io_bitmap);
	RUN_TEST(test_rep_ins_batch);
	RUN_TEST(test_fuzz);
	RUN_TEST(test_kept_decode_and_state);
	RUN_TEST(test_fast_path_mode_inputs);
	RUN_TEST(test_gprs_in_place);
	RUN_TEST(test_mov_store_forms);
	RUN_TEST(test_dcache_bytes_changed);
	return test_cases_failed ? 1 : 0;
}
