// SPDX-License-Identifier: MIT
/*
 * Guests that exit, through vmx_ops.h alone: KVM's VMCS setup, guest memory
 * behind EPT, VMLAUNCH/VMRESUME, and for each cause of the exit table the
 * exit reason, qualification, instruction length/information, guest-linear
 * and guest-physical addresses, and the guest state saved in the VMCS.
 *
 * Guest code is hand-assembled 32-bit protected-mode (flat, no paging)
 * machine code at GPA 0x1000 unless a case says otherwise.
 */
#include <pthread.h>
#include <x86intrin.h>

#include "../test.h"
#include "vmx_util.h"

#define MEM_SIZE (2u << 20)	/* 2 MiB of guest memory, 4 KiB EPT pages */
#define CODE 0x1000u

static struct vmx_env env;
static u8 *mem;			/* guest-physical 0 */
static u64 *pml4, *pte;		/* pte[n] maps GPA n * 4 KiB */
static u8 *io_a, *io_b, *msr_bm;

#define MT_WB (6ull << 3)
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSI 6
#define RBP 5
#define RDI 7

static u64 test_eptp(void)
{
	return test_eptp_of(pml4, true);
}

static void build_ept(void)
{
	/* The same four table pages each time, rebuilt as KVM would a new root. */
	if (!pml4) {
		pml4 = test_pages(4);
		pte = pml4 + 3 * 512;
	}
	test_ept_identity(pml4, mem, 512);
}

/* A fresh VMCS for a 32-bit guest at CODE running @code. */
static void guest(const void *code, size_t len, bool lm)
{
	memset(mem, 0, MEM_SIZE);
	memcpy(mem + CODE, code, len);
	build_ept();
	/* New EPT tables, new code: KVM flushes the EPTP's translations. */
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	memset(env.regs, 0, sizeof(env.regs));
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	vmcs_setup_guest(&env, test_eptp(), lm, CODE);
	/* Exit on every port and MSR unless a case opens one. */
	memset(io_a, 0xff, 4096);
	memset(io_b, 0xff, 4096);
	memset(msr_bm, 0xff, 4096);
	vmcs_write64(IO_BITMAP_A, hva(io_a));
	vmcs_write64(IO_BITMAP_B, hva(io_b));
	vmcs_write64(MSR_BITMAP, hva(msr_bm));
}

#define GUEST(...) do { static const u8 code_[] = { __VA_ARGS__ }; guest(code_, sizeof(code_), false); } while (0)

static void setup_gdt(void);
static void idt_gate(int vec, u32 handler);

static void ctl_set(u32 field, u32 bits, bool on)
{
	u32 v = __vmcs_readl(field);

	__vmcs_writel(field, on ? v | bits : v & ~bits);
}

static u32 run(void)
{
	bool launched = ((u32 *)env.vmcs)[2] != 0;	/* as KVM tracks loaded_vmcs->launched */

	return vmx_vcpu_enter(env.regs, launched);
}

/* KVM's skip_emulated_instruction(): RIP += VM_EXIT_INSTRUCTION_LEN. */
static void skip(void)
{
	vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

#define CHECK_EXIT(reason, qual, len, rip) do {					\
	u32 r_ = run();								\
	CHECK_EQ(r_, reason);							\
	CHECK_EQ(vmcs_read32(VM_EXIT_REASON), reason);				\
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), qual);				\
	CHECK_EQ(vmcs_read32(VM_EXIT_INSTRUCTION_LEN), len);			\
	CHECK_EQ(vmcs_readl(GUEST_RIP), rip);					\
} while (0)

/* ---- cases ---- */

static void hlt_exit(void)
{
	GUEST(0xf4, 0xf4);				/* hlt; hlt */
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0x1000);	/* "enabled breakpoint" only */
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO) & INTR_INFO_VALID_MASK, 0);
	/* A HLT exit saves the pending debug exceptions as clear (28.3.4). */
	CHECK_EQ(vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS), 0);
	/* The VMCS is launched now: VMLAUNCH is refused, VMRESUME continues. */
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_VMLAUNCH_NONCLEAR_VMCS);
	skip();
	/* A host-state field written after a good entry is checked again. */
	vmcs_write16(HOST_CS_SELECTOR, 0);
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
	vmcs_write16(HOST_CS_SELECTOR, 0x10);
	vmcs_write32(CR3_TARGET_COUNT, 5);
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 1);
}

static void cpuid_exit_and_gprs(void)
{
	GUEST(0xb8, 0x78, 0x56, 0x34, 0x12,		/* mov eax, 0x12345678 */
	      0x01, 0xcb,				/* add ebx, ecx */
	      0x0f, 0xa2);				/* cpuid */
	env.regs[RBX] = 0x100;
	env.regs[RCX] = 0x23;
	env.regs[15] = 0xdeadbeefcafeull;
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 7);
	/* Registers not in the VMCS come back in KVM's array. */
	CHECK_EQ(env.regs[RAX], 0x12345678);
	CHECK_EQ(env.regs[RBX], 0x123);
	CHECK_EQ(env.regs[15], 0xdeadbeefcafeull);
	CHECK_EQ(vmcs_readl(GUEST_RSP), 0x8000);
	/* Flags of the add (0x100 + 0x23: no CF/ZF, PF from 0x23) are in RFLAGS. */
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & 0xc5, 0);
}

static void io_exits(void)
{
	GUEST(0x66, 0xba, 0xf8, 0x03,			/* mov dx, 0x3f8 */
	      0xb0, 0x41,				/* mov al, 'A' */
	      0xee,					/* out dx, al */
	      0xe4, 0x60,				/* in al, 0x60 */
	      0x66, 0xed,				/* in ax, dx */
	      0xe7, 0x80,				/* out 0x80, eax */
	      0xe6, 0x81,				/* out 0x81, al */
	      0xbe, 0x00, 0x20, 0x00, 0x00,		/* mov esi, 0x2000 */
	      0xb9, 0x03, 0x00, 0x00, 0x00,		/* mov ecx, 3 */
	      0xf3, 0x6e);				/* rep outsb */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, true);
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x3f8ull << 16, 1, CODE + 6);
	CHECK_EQ(env.regs[RAX] & 0xff, 0x41);
	skip();
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x60ull << 16 | IO_QUAL_IMM | IO_QUAL_IN, 2, CODE + 7);
	skip();
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x3f8ull << 16 | IO_QUAL_IN | 1, 2, CODE + 9);
	skip();
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x80ull << 16 | IO_QUAL_IMM | 3, 2, CODE + 11);
	/* Open ports 0x80-0x83 in bitmap A: OUT 0x80 (4 bytes), OUT 0x81 run ... */
	io_a[0x10] = 0xf0;
	skip();
	/* ... and REP OUTSB to DX = 0x3f8 exits. */
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION,
		   0x3f8ull << 16 | IO_QUAL_STRING | IO_QUAL_REP, 2, CODE + 25);
	/* String I/O: address size 32 (1), segment DS (3); GLA = DS:ESI. */
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | 3u << 15);
	CHECK_EQ(vmcs_readl(GUEST_LINEAR_ADDRESS), 0x2000);
	CHECK_EQ(env.regs[RCX], 3);
	CHECK_EQ(env.regs[RDX] & 0xffff, 0x3f8);
	/* A 4-byte access exits if any of its ports is closed: 0x87 here. */
	GUEST(0xe7, 0x84, 0xf4);				/* out 0x84, eax; hlt */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, true);
	io_a[0x10] = 0x80;
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x84ull << 16 | IO_QUAL_IMM | 3, 2, CODE);
	io_a[0x10] = 0;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 2);
	/* Ports 0x8000 and up are in bitmap B. */
	GUEST(0x66, 0xba, 0x01, 0x80, 0xec, 0xf4);		/* mov dx, 0x8001; in al, dx; hlt */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, true);
	memset(io_a, 0, 4096);
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x8001ull << 16 | IO_QUAL_IN, 1, CODE + 4);
	io_b[0] = 0xfd;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 5);
	/* Unconditional I/O exiting without bitmaps. */
	GUEST(0xe6, 0x80);
	memset(io_a, 0, 4096);	/* not used without "use I/O bitmaps" */
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x80ull << 16 | IO_QUAL_IMM, 2, CODE);
}

/*
 * The ways of vmx_intercept_io() (intercept.c): unconditional I/O exiting,
 * one bitmap byte, an access whose ports span two bytes of a bitmap (the
 * slow way), and neither control (no exit: the instruction runs).
 */
static void io_exit_ways(void)
{
	/* out 0x86, eax (ports 86-89: bits 6-7 of byte 0x10, 0-1 of 0x11); in al, 0x80; hlt */
	GUEST(0xe7, 0x86, 0xe4, 0x80, 0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, true);
	memset(io_a, 0, 4096);
	io_a[0x11] = 0x02;	/* port 0x89 only, in the second byte */
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x86ull << 16 | IO_QUAL_IMM | 3, 2, CODE);
	io_a[0x11] = 0;
	io_a[0x10] = 0x40;	/* port 0x86 only, in the first byte */
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x86ull << 16 | IO_QUAL_IMM | 3, 2, CODE);
	io_a[0x10] = 0;
	io_a[0x12] = 0x01;	/* port 0x90: not this access's */
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 4);
	/* Neither "use I/O bitmaps" nor "unconditional I/O exiting": no exit. */
	GUEST(0xe7, 0x86, 0xe4, 0x80, 0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS | CPU_BASED_UNCOND_IO_EXITING, false);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 4);
	/* Unconditional I/O exiting (KVM's control) with the bitmaps off. */
	GUEST(0xe7, 0x86, 0xe4, 0x80, 0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, false);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING, true);
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x86ull << 16 | IO_QUAL_IMM | 3, 2, CODE);
	skip();
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x80ull << 16 | IO_QUAL_IMM | IO_QUAL_IN, 2, CODE + 2);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 4);
}

static void open_msr(u32 msr, bool write)
{
	u32 base = (msr >= 0xc0000000u ? 1024 : 0) + (write ? 2048 : 0);

	msr &= 0x1fff;
	msr_bm[base + msr / 8] &= ~(1u << (msr % 8));
}

static void msr_exits(void)
{
	GUEST(0xb9, 0x10, 0x00, 0x00, 0x00,		/* mov ecx, IA32_TSC */
	      0x0f, 0x32,				/* rdmsr */
	      0xb9, 0x80, 0x00, 0x00, 0xc0,		/* mov ecx, EFER */
	      0x0f, 0x30,				/* wrmsr */
	      0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	CHECK_EXIT(EXIT_REASON_MSR_READ, 0, 2, CODE + 5);
	CHECK_EQ(env.regs[RCX], 0x10);
	/* KVM opens IA32_TSC reads and EFER reads, not EFER writes. */
	open_msr(0x10, false);
	open_msr(0xc0000080u, false);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_MSR_WRITE, 0, 2, CODE + 12);
	CHECK_EQ(env.regs[RCX], 0xc0000080u);
	/* Opening the write lets WRMSR run to the HLT. */
	open_msr(0xc0000080u, true);
	vmcs_writel(GUEST_RIP, CODE + 7);
	env.regs[RAX] = 0;
	env.regs[RDX] = 0;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 14);
	/* An MSR outside both bitmap ranges always exits. */
	GUEST(0xb9, 0x00, 0x20, 0x00, 0x00, 0x0f, 0x32);	/* rdmsr 0x2000 */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	memset(msr_bm, 0, 4096);
	CHECK_EXIT(EXIT_REASON_MSR_READ, 0, 2, CODE + 5);
	/* An open MSR does not exit; without MSR bitmaps everything exits. */
	GUEST(0xb9, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x32, 0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	memset(msr_bm, 0, 4096);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	vmcs_writel(GUEST_RIP, CODE);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, false);
	CHECK_EXIT(EXIT_REASON_MSR_READ, 0, 2, CODE + 5);
}

static void cr_exits(void)
{
	GUEST(0x0f, 0x20, 0xc0,				/* mov eax, cr0 */
	      0x0f, 0x22, 0xc3,				/* mov cr0, ebx */
	      0x0f, 0x22, 0xe1,				/* mov cr4, ecx */
	      0x0f, 0x20, 0xda,				/* mov edx, cr3 */
	      0x0f, 0x22, 0xde,				/* mov cr3, esi */
	      0x0f, 0x06,				/* clts */
	      0x0f, 0x01, 0xf0,				/* lmsw ax */
	      0xf4);
	/* KVM owns CR0.NE and CR0.TS here; the guest believes NE = 0, TS = 1. */
	vmcs_writel(CR0_GUEST_HOST_MASK, BIT(5) | BIT(3));
	vmcs_writel(CR0_READ_SHADOW, BIT(3) | BIT(4) | BIT(0));
	vmcs_writel(CR4_GUEST_HOST_MASK, BIT(13));	/* VMXE: shadow 0 */
	vmcs_writel(CR4_READ_SHADOW, 0);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING, true);
	/* ebx = what the guest read back, with TS set, NE clear: matches the shadow. */
	env.regs[RBX] = 0x00000019;			/* TS ET PE */
	env.regs[RCX] = 0x2000;				/* sets VMXE: differs from the shadow */
	env.regs[RSI] = 0x5000;
	env.regs[RAX] = 0x11;				/* lmsw: ET PE, clears TS */
	CHECK_EXIT(EXIT_REASON_CR_ACCESS, CR_QUAL(4, CR_ACCESS_TYPE_MOV_TO_CR, RCX), 3, CODE + 6);
	/* MOV from CR0 read the shadow for host-owned bits, CR0 for the rest. */
	CHECK_EQ(env.regs[RAX], 0x19);
	/* MOV to CR0 matched the shadow: no exit, and host-owned NE stayed 1. */
	CHECK_EQ(vmcs_readl(GUEST_CR0) & (BIT(5) | BIT(3)), BIT(5));
	skip();
	env.regs[RAX] = 0x11;
	CHECK_EXIT(EXIT_REASON_CR_ACCESS, CR_QUAL(3, CR_ACCESS_TYPE_MOV_FROM_CR, RDX), 3, CODE + 9);
	skip();
	CHECK_EXIT(EXIT_REASON_CR_ACCESS, CR_QUAL(3, CR_ACCESS_TYPE_MOV_TO_CR, 6), 3, CODE + 12);
	/* A CR3 target value loads without exiting. */
	vmcs_write32(CR3_TARGET_COUNT, 2);
	vmcs_writel(CR3_TARGET_VALUE1, 0x5000);
	CHECK_EXIT(EXIT_REASON_CR_ACCESS, CR_QUAL(0, CR_ACCESS_TYPE_CLTS, 0), 2, CODE + 15);
	CHECK_EQ(vmcs_readl(GUEST_CR3), 0x5000);
	skip();
	CHECK_EXIT(EXIT_REASON_CR_ACCESS,
		   CR_QUAL(0, CR_ACCESS_TYPE_LMSW, 0) | CR_QUAL_LMSW_DATA(0x11), 3, CODE + 17);
	/* With the TS shadow cleared, CLTS does not exit. */
	vmcs_writel(CR0_READ_SHADOW, BIT(4) | BIT(0));
	vmcs_writel(GUEST_RIP, CODE + 15);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 20);
}

static void dr_exits(void)
{
	GUEST(0x0f, 0x23, 0xc0,				/* mov dr0, eax */
	      0x0f, 0x21, 0xfa,				/* mov edx, dr7 */
	      0xf4);
	CHECK_EXIT(EXIT_REASON_DR_ACCESS, 0, 3, CODE);
	skip();
	CHECK_EXIT(EXIT_REASON_DR_ACCESS, 7 | DEBUG_REG_ACCESS_TYPE | (u64)RDX << 8, 3, CODE + 3);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MOV_DR_EXITING, false);
	vmcs_writel(GUEST_RIP, CODE);
	env.regs[RAX] = 0x1234;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 6);
	CHECK_EQ(env.regs[RDX], 0x400);
}

static void simple_instruction_exits(void)
{
	static const struct {
		const char *name;
		u8 code[4];
		u8 len;
		u32 reason;
		u32 field, bit;		/* control that enables the exit (0: always) */
		u64 cr4;		/* guest CR4 bits the instruction needs */
		bool no_rerun;		/* without its control it faults (no counters) */
	} t[] = {
		{ "vmcall", { 0x0f, 0x01, 0xc1 }, 3, EXIT_REASON_VMCALL, 0, 0 },
		{ "invd", { 0x0f, 0x08 }, 2, EXIT_REASON_INVD, 0, 0 },
		{ "xsetbv", { 0x0f, 0x01, 0xd1 }, 3, EXIT_REASON_XSETBV, 0, 0, BIT(18) },
		{ "wbinvd", { 0x0f, 0x09 }, 2, EXIT_REASON_WBINVD,
		  SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_WBINVD_EXITING },
		{ "rdtsc", { 0x0f, 0x31 }, 2, EXIT_REASON_RDTSC,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDTSC_EXITING },
		{ "rdtscp", { 0x0f, 0x01, 0xf9 }, 3, EXIT_REASON_RDTSCP,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDTSC_EXITING },
		{ "rdpmc", { 0x0f, 0x33 }, 2, EXIT_REASON_RDPMC,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDPMC_EXITING, 0, true },
		{ "pause", { 0xf3, 0x90 }, 2, EXIT_REASON_PAUSE_INSTRUCTION,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_PAUSE_EXITING },
		{ "monitor", { 0x0f, 0x01, 0xc8 }, 3, EXIT_REASON_MONITOR_INSTRUCTION,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_EXITING },
		{ "mwait", { 0x0f, 0x01, 0xc9 }, 3, EXIT_REASON_MWAIT_INSTRUCTION,
		  CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MWAIT_EXITING },
		{ "vmlaunch", { 0x0f, 0x01, 0xc2 }, 3, EXIT_REASON_VMLAUNCH, 0, 0 },
		{ "vmresume", { 0x0f, 0x01, 0xc3 }, 3, EXIT_REASON_VMRESUME, 0, 0 },
		{ "vmxoff", { 0x0f, 0x01, 0xc4 }, 3, EXIT_REASON_VMOFF, 0, 0 },
	};

	for (unsigned k = 0; k < ARRAY_SIZE(t); k++) {
		u8 code[8] = { 0 };

		memcpy(code, t[k].code, t[k].len);
		code[t[k].len] = 0xf4;
		guest(code, t[k].len + 1, false);
		ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_RDTSCP, true);
		vmcs_writel(GUEST_CR4, vmcs_readl(GUEST_CR4) | t[k].cr4);
		vmcs_write32(EXCEPTION_BITMAP, BIT(6));
		if (t[k].field)
			ctl_set(t[k].field, t[k].bit, true);
		{
			u32 r = run();


			CHECK(r == t[k].reason, "%s: exit %#x", t[k].name, r);
			CHECK(vmcs_read32(VM_EXIT_INSTRUCTION_LEN) == t[k].len, "%s: len %u", t[k].name,
			      vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
			CHECK(vmcs_readl(GUEST_RIP) == CODE, "%s: rip", t[k].name);
		}
		if (!t[k].field || t[k].no_rerun)
			continue;
		/* Without the control the instruction runs and the HLT exits. */
		ctl_set(t[k].field, t[k].bit, false);
		vmcs_writel(GUEST_RIP, CODE);
		CHECK(run() == EXIT_REASON_HLT, "%s runs without its control", t[k].name);
	}
}

/* RDTSC in the guest with TSC_OFFSET @offset and, if @mult, TSC scaling by it. */
static u64 guest_rdtsc_scaled(u64 offset, u64 mult)
{
	GUEST(0x0f, 0x31, 0xf4);			/* rdtsc; hlt */
	vmcs_write64(TSC_OFFSET, offset);
	if (mult) {
		ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_TSC_SCALING, true);
		vmcs_write64(TSC_MULTIPLIER, mult);
	}
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 2);
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_TSC_SCALING, false);
	return (env.regs[RDX] << 32) | (u32)env.regs[RAX];
}

static u64 guest_rdtsc(u64 offset)
{
	return guest_rdtsc_scaled(offset, 0);
}

/*
 * "Use TSC scaling" (SDM 26.3): RDTSC gives (TSC * TSC_MULTIPLIER >> 48) +
 * TSC_OFFSET.  The processor's TSC at the two entries brackets each read.
 */
static void rdtsc_scaling(void)
{
	static const struct { u64 mult; const char *name; } m[] = {
		{ 1ull << 48, "1" }, { 2ull << 48, "2" }, { 1ull << 47, "1/2" }, { 3ull << 46, "3/4" },
	};

	for (size_t k = 0; k < ARRAY_SIZE(m); k++) {
		u64 before = rdtsc(), g = guest_rdtsc_scaled(1000, m[k].mult), after = rdtsc();

		CHECK(g >= (u64)(((unsigned __int128)before * m[k].mult) >> 48) + 1000 &&
		      g <= (u64)(((unsigned __int128)after * m[k].mult) >> 48) + 1000,
		      "multiplier %s: guest %#llx, TSC %#llx..%#llx", m[k].name,
		      (unsigned long long)g, (unsigned long long)before, (unsigned long long)after);
	}
	/* without "use TSC offsetting", neither offset nor multiplier applies */
	{
		u64 before, g, after;

		GUEST(0x0f, 0x31, 0xf4);		/* rdtsc; hlt */
		ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_TSC_OFFSETTING, false);
		ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_TSC_SCALING, true);
		vmcs_write64(TSC_OFFSET, 1ull << 40);
		vmcs_write64(TSC_MULTIPLIER, 2ull << 48);
		before = rdtsc();
		CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 2);
		after = rdtsc();
		g = (env.regs[RDX] << 32) | (u32)env.regs[RAX];
		CHECK(g >= before && g <= after, "TSC %#llx not in %#llx..%#llx",
		      (unsigned long long)g, (unsigned long long)before, (unsigned long long)after);
		ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_TSC_OFFSETTING, true);
		ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_TSC_SCALING, false);
	}
}

static void rdtsc_offset(void)
{
	u64 t0, t1, t2;

	/* The guest sees the processor's TSC plus TSC_OFFSET ("use TSC offsetting"). */
	t0 = guest_rdtsc(0);
	t1 = guest_rdtsc(1ull << 40);
	t2 = guest_rdtsc(0);
	CHECK(t1 - t0 >= 1ull << 40 && t1 - t0 < (1ull << 40) + (t2 - t0) + 1,
	      "offset not applied: %#llx %#llx %#llx", (unsigned long long)t0,
	      (unsigned long long)t1, (unsigned long long)t2);
	CHECK(t2 >= t0, "TSC went backwards");
	/* RDTSCP without "enable RDTSCP" is #UD: seen as an exception exit. */
	GUEST(0x0f, 0x01, 0xf9);
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_RDTSCP, false);
	vmcs_write32(EXCEPTION_BITMAP, BIT(6));
	CHECK_EQ(run(), EXIT_REASON_EXCEPTION_NMI);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
}

static void descriptor_table_exits(void)
{
	/* sgdt [ebx + 4]; lidt [esi]; str ax; lldt dx */
	GUEST(0x0f, 0x01, 0x43, 0x04,
	      0x0f, 0x01, 0x1e,
	      0x0f, 0x00, 0xc8,
	      0x0f, 0x00, 0xd2,
	      0xf4);
	/* Without the control: they run (LLDT 0 loads a null LDT). */
	env.regs[RBX] = 0x4000;
	env.regs[RSI] = 0x4000;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 13);
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_DESC, true);
	vmcs_writel(GUEST_RIP, CODE);
	/* SGDT: identity 0, 32-bit operand, DS, base EBX, no index, disp 4 */
	CHECK_EXIT(EXIT_REASON_GDTR_IDTR, 4, 4, CODE);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | BIT(11) | 3u << 15 | BIT(22) | 3u << 23);
	skip();
	CHECK_EXIT(EXIT_REASON_GDTR_IDTR, 0, 3, CODE + 4);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO),
		 1u << 7 | BIT(11) | 3u << 15 | BIT(22) | 6u << 23 | 3u << 28);
	skip();
	/* STR ax: identity 1, register operand EAX */
	CHECK_EXIT(EXIT_REASON_LDTR_TR, 0, 3, CODE + 7);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | BIT(10) | 0u << 3 | 1u << 28);
	skip();
	/* LLDT dx: identity 2, register EDX */
	CHECK_EXIT(EXIT_REASON_LDTR_TR, 0, 3, CODE + 10);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | BIT(10) | 2u << 3 | 2u << 28);
}

static void invpcid_exit(void)
{
	/* invpcid edx, [ebx + 8]: 66 0F 38 82 /r */
	GUEST(0x66, 0x0f, 0x38, 0x82, 0x53, 0x08, 0xf4);
	env.regs[RBX] = 0x4000;
	env.regs[RDX] = 2;				/* all contexts, including globals */
	/* Without "enable INVPCID" it is #UD. */
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_INVPCID, false);
	vmcs_write32(EXCEPTION_BITMAP, BIT(6));
	CHECK_EQ(run(), EXIT_REASON_EXCEPTION_NMI);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
	/* With it and INVLPG exiting: an INVPCID exit. */
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_INVPCID, true);
	CHECK_EXIT(EXIT_REASON_INVPCID, 8, 6, CODE);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | 3u << 15 | BIT(22) | 3u << 23 | 2u << 28);
	/* Without INVLPG exiting it runs. */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INVLPG_EXITING, false);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 6);
}

static void invlpg_exit(void)
{
	GUEST(0xb8, 0x00, 0x40, 0x12, 0x00,		/* mov eax, 0x124000 */
	      0x0f, 0x01, 0x78, 0x10);			/* invlpg [eax + 0x10] */
	CHECK_EXIT(EXIT_REASON_INVLPG, 0x124010, 4, CODE + 5);
}

static void vmx_insn_info_exit(void)
{
	/* vmread [ebx + esi*4 + 0x20], eax: 0F 78 /r with SIB */
	GUEST(0x0f, 0x78, 0x44, 0xb3, 0x20);
	CHECK_EXIT(EXIT_REASON_VMREAD, 0x20, 5, CODE);
	/* scale 2, addr size 32, DS, index ESI, base EBX, reg2 EAX */
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 2u | 1u << 7 | 3u << 15 | 6u << 18 | 3u << 23 | 0u << 28);
	/* vmwrite ecx, edx (register form): reg1 = EDX (rm), reg2 = ECX (reg) */
	GUEST(0x0f, 0x79, 0xca);
	CHECK_EXIT(EXIT_REASON_VMWRITE, 0, 3, CODE);
	CHECK_EQ(vmcs_read32(VMX_INSTRUCTION_INFO), 1u << 7 | BIT(10) | 2u << 3 | 1u << 28);
}

static void exception_exits(void)
{
	GUEST(0x0f, 0x0b);				/* ud2 */
	vmcs_write32(EXCEPTION_BITMAP, BIT(6));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
	/* #DE from div by zero. */
	GUEST(0x31, 0xc9, 0xf7, 0xf1);			/* xor ecx, ecx; div ecx */
	vmcs_write32(EXCEPTION_BITMAP, BIT(0));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, CODE + 2);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 0);
	/* #GP with an error code: load DS with a selector beyond the GDT limit. */
	GUEST(0x66, 0xb8, 0x08, 0x01,			/* mov ax, 0x108 */
	      0x8e, 0xd8);				/* mov ds, ax */
	vmcs_write32(GUEST_GDTR_LIMIT, 0x1f);
	vmcs_write32(EXCEPTION_BITMAP, BIT(13));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, CODE + 4);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO),
		 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | 13);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_ERROR_CODE), 0x108);
	/* INT3: a software exception, with its instruction length. */
	GUEST(0x90, 0xcc);
	vmcs_write32(EXCEPTION_BITMAP, BIT(3));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 1, CODE + 1);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_EXCEPTION | 3);
}

static void debug_exception_exits(void)
{
	/* Single step: POPF sets TF, the trap follows the next instruction. */
	GUEST(0x9c,					/* pushf */
	      0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00,	/* or dword [esp], 0x100 */
	      0x9d,					/* popf */
	      0x90,					/* nop */
	      0xf4);
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0x4000, 0, CODE + 10);	/* BS */
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 1);
	/* An instruction breakpoint from the guest's DR7 (loaded by VM entry) and DR0. */
	GUEST(0x90, 0x90, 0xf4);
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	set_debugreg(CODE + 1, 0);
	vmcs_writel(GUEST_DR7, 0x401);			/* L0, execute */
	set_debugreg(0xffff0ff0, 6);
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0x1, 0, CODE + 1);	/* B0 */
	/* The exit leaves DR6 as it was (the #DB was not delivered). */
	CHECK_EQ(get_debugreg(6), 0xffff0ff0);
	set_debugreg(0, 0);
}

static void pending_debug_exceptions(void)
{
	/* BS pending at entry (TF set, as the checks want): a #DB before the first instruction. */
	GUEST(0x90, 0xf4);
	vmcs_writel(GUEST_RFLAGS, 0x102);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0x4000);
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0x4000, 0, CODE);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 1);
	CHECK_EQ(vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS), 0);
	/* Without the bitmap bit the guest takes it, DR6.BS set. */
	GUEST(0x90, 0xf4);
	setup_gdt();
	idt_gate(1, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0x4000);
	vmcs_writel(GUEST_RFLAGS, 0x102);
	set_debugreg(0xffff0ff0, 6);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	CHECK_EQ(get_debugreg(6) & 0x4000, 0x4000);
	CHECK_EQ(*(u32 *)(mem + 0x8000 - 12), CODE);	/* trap before the first instruction */
}

static void triple_fault_exit(void)
{
	/* ud2 with an empty IDT: #UD -> #GP -> #DF -> shutdown. */
	GUEST(0x0f, 0x0b);
	vmcs_write32(GUEST_IDTR_LIMIT, 0);
	CHECK_EQ(run(), EXIT_REASON_TRIPLE_FAULT);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), 0);
}

static void ept_exits(void)
{
	GUEST(0xa1, 0x10, 0x00, 0x40, 0x00,		/* mov eax, [0x400010] (unmapped) */
	      0xc7, 0x05, 0x24, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* mov dword [0x3024], 1 */
	      0xa1, 0x08, 0x60, 0x00, 0x00,		/* mov eax, [0x6008] */
	      0xe9, 0xe7, 0x3f, 0x00, 0x00);		/* jmp 0x5000 */
	pte[3] = hva(mem + 0x3000) | VMX_EPT_READABLE_MASK | MT_WB;	/* read-only */
	pte[5] = hva(mem + 0x5000) | 3 | MT_WB;				/* not executable */
	pte[6] = hva(mem + 0x6000) | 6 | MT_WB;				/* KVM's MMIO: misconfig */
	/* Accesses to linear addresses: GLA valid (bit 7) and translated (bit 8). */
#define GLA (EPT_VIOLATION_GVA_IS_VALID | EPT_VIOLATION_GVA_TRANSLATED)
	CHECK_EXIT(EXIT_REASON_EPT_VIOLATION, EPT_VIOLATION_ACC_READ | GLA, 0, CODE);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x400010);
	CHECK_EQ(vmcs_readl(GUEST_LINEAR_ADDRESS), 0x400010);
	/* Go on with the next access. */
	vmcs_writel(GUEST_RIP, CODE + 5);
	CHECK_EXIT(EXIT_REASON_EPT_VIOLATION, EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_READABLE | GLA, 0, CODE + 5);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x3024);
	CHECK_EQ(vmcs_readl(GUEST_LINEAR_ADDRESS), 0x3024);
	vmcs_writel(GUEST_RIP, CODE + 15);
	/* the instruction's length, as Intel's processors give it (KVM's fast MMIO path) */
	CHECK_EXIT(EXIT_REASON_EPT_MISCONFIG, 0, 5, CODE + 15);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x6008);
	vmcs_writel(GUEST_RIP, CODE + 20);
	CHECK_EXIT(EXIT_REASON_EPT_VIOLATION,
		   EPT_VIOLATION_ACC_INSTR | EPT_VIOLATION_READABLE | EPT_VIOLATION_WRITABLE | GLA, 0, 0x5000);
	CHECK_EQ(vmcs_readl(GUEST_LINEAR_ADDRESS), 0x5000);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x5000);
	/* EPT A/D: the code page was accessed, the read-only page not dirtied. */
	CHECK(pte[1] & VMX_EPT_ACCESS_BIT, "code page accessed");
	CHECK_EQ(pte[3] & VMX_EPT_DIRTY_BIT, 0);
	/* A write that succeeds dirties its page. */
	GUEST(0xc7, 0x05, 0x00, 0x70, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0xf4);	/* mov [0x7000], 42 */
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 10);
	CHECK(pte[7] & VMX_EPT_DIRTY_BIT, "written page dirty");
	CHECK_EQ(mem[0x7000], 42);
}

static void tpr_shadow(void)
{
	static const u8 code[] = {
		0x44, 0x0f, 0x20, 0xc0,				/* mov rax, cr8 */
		0x44, 0x0f, 0x22, 0xc3,				/* mov cr8, rbx */
		0xf4,
	};
	u8 *vapic = test_pages(1);
	u64 *p4, *p3, *p2;

	guest(code, sizeof(code), true);
	p4 = (u64 *)(mem + 0x10000);
	p3 = (u64 *)(mem + 0x11000);
	p2 = (u64 *)(mem + 0x12000);
	p4[0] = 0x11000 | 3;
	p3[0] = 0x12000 | 3;
	p2[0] = 0x83;
	vmcs_writel(GUEST_CR3, 0x10000);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING, false);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW, true);
	vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, hva(vapic));
	vapic[0x80] = 0x50;				/* VTPR: priority class 5 */
	/* The threshold may not exceed VTPR[7:4] at entry. */
	vmcs_write32(TPR_THRESHOLD, 6);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_CONTROL_FIELD);
	/* Threshold 4: CR8 reads VTPR; writing 3 drops below it: trap-like exit 43. */
	vmcs_write32(TPR_THRESHOLD, 4);
	env.regs[RBX] = 3;
	CHECK_EXIT(EXIT_REASON_TPR_BELOW_THRESHOLD, 0, 0, CODE + 8);
	CHECK_EQ(env.regs[RAX], 5);
	CHECK_EQ(vapic[0x80], 0x30);
	/* At or above the threshold: no exit. */
	vmcs_write32(TPR_THRESHOLD, 2);
	vmcs_writel(GUEST_RIP, CODE);
	env.regs[RBX] = 9;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 3);
	CHECK_EQ(vapic[0x80], 0x90);
	/* VTPR lowered in memory (no VMWRITE) below the threshold: checked again. */
	vapic[0x80] = 0x10;
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_ENTRY_INVALID_CONTROL_FIELD);
}

static void pml(void)
{
	u64 *log = test_pages(1);

	/* Writes to three pages (one twice): three GPAs logged, index 511 -> 508. */
	GUEST(0xc6, 0x05, 0x00, 0x70, 0x00, 0x00, 0x01,	/* mov byte [0x7000], 1 */
	      0xc6, 0x05, 0x10, 0x90, 0x00, 0x00, 0x01,	/* mov byte [0x9010], 1 */
	      0xc6, 0x05, 0x20, 0x70, 0x00, 0x00, 0x01,	/* mov byte [0x7020], 1 */
	      0xc6, 0x05, 0x00, 0xa0, 0x00, 0x00, 0x01,	/* mov byte [0xa000], 1 */
	      0xf4);
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML, true);
	vmcs_write64(PML_ADDRESS, hva(log));
	vmcs_write16(GUEST_PML_INDEX, 511);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 28);
	CHECK_EQ(vmcs_read16(GUEST_PML_INDEX), 508);
	CHECK_EQ(log[511], 0x7000);
	CHECK_EQ(log[510], 0x9000);
	CHECK_EQ(log[509], 0xa000);
	/* The stack page was not written: nothing else is logged. */
	CHECK_EQ(log[508], 0);
	/* KVM clears the dirty flags, flushes, and gives a log with one free entry. */
	pte[7] &= ~VMX_EPT_DIRTY_BIT;
	pte[9] &= ~VMX_EPT_DIRTY_BIT;
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp(), 0), VMX_SUCCEED);
	vmcs_write16(GUEST_PML_INDEX, 0);
	vmcs_writel(GUEST_RIP, CODE);
	mem[0x9010] = 0;
	/* The first write logs into entry 0; the next needs a log: PML full, flag clear. */
	CHECK_EXIT(EXIT_REASON_PML_FULL, 0, 0, CODE + 7);
	CHECK_EQ(log[0], 0x7000);
	CHECK_EQ(vmcs_read16(GUEST_PML_INDEX), 0xffff);
	CHECK_EQ(pte[9] & VMX_EPT_DIRTY_BIT, 0);
	CHECK_EQ(mem[0x9010], 0);			/* the write did not happen */
}

static void interrupt_window(void)
{
	/* IF = 1 and the window control: exit before the first instruction. */
	GUEST(0xf4);
	vmcs_writel(GUEST_RFLAGS, 0x202);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE);
	/* IF = 0: the window opens one instruction after STI. */
	GUEST(0x90, 0xfb, 0x90, 0xf4);			/* nop; sti; nop; hlt */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 3);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), 0);
	/* STI blocking loaded from the VMCS holds the window shut for one instruction. */
	GUEST(0x90, 0x90, 0xf4);
	vmcs_writel(GUEST_RFLAGS, 0x202);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 1);
	/* POPF setting IF: open at the next instruction (no shadow). */
	GUEST(0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0x90, 0xf4);	/* push $0x202; popf; nop; hlt */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 6);
	/* IRET setting IF: open at its target's first instruction. */
	GUEST(0x68, 0x02, 0x02, 0x00, 0x00,		/* push $0x202 */
	      0x6a, 0x08,				/* push $8 */
	      0x68, (CODE + 13) & 0xff, (CODE + 13) >> 8, 0x00, 0x00,	/* push $CODE+13 */
	      0xcf, 0x90, 0xf4);			/* iret; nop; hlt */
	setup_gdt();
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 13);
	/* STI, then MOV SS in its shadow: blocked for the instruction after MOV SS too. */
	GUEST(0x8c, 0xd0, 0xfb, 0x8e, 0xd0, 0x90, 0x90, 0xf4);	/* mov %ss,%eax; sti; mov %eax,%ss; nop; nop; hlt */
	setup_gdt();
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 6);
	/* The window opening after an exit the guest is resumed from (VMRESUME mid-block). */
	GUEST(0xfb, 0x90, 0x0f, 0xa2, 0x90, 0x90, 0xf4);	/* sti; nop; cpuid; nop; nop; hlt */
	vmcs_writel(GUEST_RFLAGS, 0x2);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 2);
	skip();
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 4);
}

static void hlt_activity_at_entry(void)
{
	/* Entering in the HLT activity state: nothing runs until an event. */
	GUEST(0x90, 0xf4);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 100);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	/* An injected interrupt wakes it. */
	setup_gdt();
	idt_gate(0x20, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_writel(GUEST_RFLAGS, 0x202);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, false);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	CHECK_EQ(vmcs_read32(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
}

static void nmi_window(void)
{
	GUEST(0xf4);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VIRTUAL_NMIS, true);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING, true);
	/* Virtual-NMI blocking keeps the window shut until the guest IRETs. */
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	CHECK_EXIT(EXIT_REASON_NMI_WINDOW, 0, 0, CODE);
}

static void *kicker(void *arg)
{
	volatile bool *done = arg;

	while (!__atomic_load_n(done, __ATOMIC_ACQUIRE)) {
		vmx_cpu_kick(env.lp);
		sched_yield();
	}
	return NULL;
}

static void external_interrupt(void)
{
	pthread_t t;
	bool done = false;

	/* A kick before entry is an interrupt pending at entry: exit at once. */
	GUEST(0xeb, 0xfe);				/* jmp $ */
	vmx_cpu_kick(env.lp);
	CHECK_EXIT(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0xfd);
	/* A kick from another thread stops a spinning guest. */
	pthread_create(&t, NULL, kicker, &done);
	CHECK_EXIT(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0, CODE);
	__atomic_store_n(&done, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	/* Without "acknowledge interrupt on exit" the info is invalid. */
	ctl_set(VM_EXIT_CONTROLS, VM_EXIT_ACK_INTR_ON_EXIT, false);
	vmx_cpu_kick(env.lp);
	CHECK_EQ(run(), EXIT_REASON_EXTERNAL_INTERRUPT);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), 0);
}

static void host_nmi(void)
{
	GUEST(0xeb, 0xfe);				/* jmp $ */
	vmx_cpu_nmi(env.lp);
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	/* The NMI was taken by the exit: the next entry runs until something else. */
	vmx_cpu_kick(env.lp);
	CHECK_EQ(run(), EXIT_REASON_EXTERNAL_INTERRUPT);
}

static void preemption_timer(void)
{
	GUEST(0xeb, 0xfe);				/* jmp $ */
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	ctl_set(VM_EXIT_CONTROLS, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 0);
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, CODE);
	/* A running timer ends a spinning guest, and saves 0. */
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 2000);
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(VMX_PREEMPTION_TIMER_VALUE), 0);
	/* The timer runs while the guest is halted (no HLT exiting). */
	GUEST(0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_HLT_EXITING, false);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 1000);
	CHECK_EQ(run(), EXIT_REASON_PREEMPTION_TIMER);
	CHECK_EQ(vmcs_read32(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 1);
}

/*
 * SDM 26.7.4: a VMX-preemption timer of 0 at VM entry makes the exit come
 * before any guest instruction; an event that entry injects is delivered
 * first, so the exit is at the handler's first instruction and none of
 * the handler has run.
 */
static void preemption_timer_zero_after_injection(void)
{
	u32 *stack;

	GUEST(0x90, 0xf4);
	setup_gdt();
	idt_gate(0x20, 0x1800);
	mem[0x1800] = 0x43;				/* 1: inc %ebx */
	mem[0x1801] = 0xeb;				/*    jmp 1b */
	mem[0x1802] = 0xfd;
	vmcs_writel(GUEST_RFLAGS, 0x202);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, 0x1800);
	CHECK_EQ(env.regs[3], 0);			/* RBX: no handler instruction ran */
	CHECK_EQ(vmcs_read32(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID_MASK, 0);
	stack = (u32 *)(mem + 0x8000 - 12);
	CHECK_EQ(stack[0], CODE);			/* delivered: the return EIP is pushed */
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & 0x200, 0);
	/* The next entry with a nonzero timer runs the handler. */
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 2000);
	CHECK_EQ(run(), EXIT_REASON_PREEMPTION_TIMER);
	CHECK(env.regs[3] != 0, "the handler ran");
}

/* A 32-bit interrupt gate at IDT[vec] to @handler (IDT at GPA 0x2000). */
static void idt_gate(int vec, u32 handler)
{
	u8 *g = mem + 0x2000 + vec * 8;

	g[0] = handler; g[1] = handler >> 8;
	g[2] = 0x08; g[3] = 0;			/* CS selector */
	g[4] = 0; g[5] = 0x8e;			/* P, DPL 0, 32-bit interrupt gate */
	g[6] = handler >> 16; g[7] = handler >> 24;
}

static void setup_gdt(void)
{
	/* GDT at 0x3000: null, code 0x08, data 0x10 */
	static const u64 gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };

	memcpy(mem + 0x3000, gdt, sizeof(gdt));
	vmcs_writel(GUEST_GDTR_BASE, 0x3000);
	vmcs_write32(GUEST_GDTR_LIMIT, sizeof(gdt) - 1);
	vmcs_writel(GUEST_IDTR_BASE, 0x2000);
	vmcs_write32(GUEST_IDTR_LIMIT, 0x7ff);
}

static void event_injection(void)
{
	u32 *stack;

	/* External interrupt 0x20 delivered through the guest IDT to a HLT. */
	GUEST(0x90, 0xf4);
	setup_gdt();
	idt_gate(0x20, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_writel(GUEST_RFLAGS, 0x202);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	stack = (u32 *)(mem + 0x8000 - 12);
	CHECK_EQ(stack[0], CODE);			/* EIP */
	CHECK_EQ(stack[1], 0x08);			/* CS */
	CHECK_EQ(stack[2] & 0x202, 0x202);		/* EFLAGS with IF */
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & 0x200, 0);	/* interrupt gate cleared IF */
	/* The valid bit of the entry field is cleared by the exit. */
	CHECK_EQ(vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK, 0);
	CHECK_EQ(vmcs_read32(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID_MASK, 0);

	/* #GP with an error code: pushed below EIP/CS/EFLAGS. */
	GUEST(0x90);
	setup_gdt();
	idt_gate(13, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
					       INTR_INFO_DELIVER_CODE_MASK | 13);
	vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1234);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	stack = (u32 *)(mem + 0x8000 - 16);
	CHECK_EQ(stack[0], 0x1234);
	CHECK_EQ(stack[1], CODE);

	/* A software interrupt returns past its instruction length. */
	GUEST(0xcd, 0x30);
	setup_gdt();
	idt_gate(0x30, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x30);
	vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, 2);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	stack = (u32 *)(mem + 0x8000 - 12);
	CHECK_EQ(stack[0], CODE + 2);
}

static void injected_event_and_exception_bitmap(void)
{
	/* An injected #UD is delivered even though #UD is in the exception bitmap ... */
	GUEST(0x90);
	setup_gdt();
	idt_gate(6, 0x1800);
	idt_gate(0x20, 0x1900);
	mem[0x1800] = 0xf4;
	mem[0x1900] = 0x0f;				/* ud2 in the interrupt handler */
	mem[0x1901] = 0x0b;
	vmcs_write32(EXCEPTION_BITMAP, BIT(6));
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	/* ... but a #UD the guest raises after an injected interrupt exits. */
	vmcs_writel(GUEST_RFLAGS, 0x202);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, 0x1900);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
}

static void nmi_injection_virtual_nmis(void)
{
	/* Injecting an NMI with virtual NMIs: blocked until the handler's IRET. */
	GUEST(0x90, 0xf4);
	setup_gdt();
	idt_gate(2, 0x1800);
	mem[0x1800] = 0xf4;				/* hlt */
	mem[0x1801] = 0xcf;				/* iret */
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VIRTUAL_NMIS, true);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI, GUEST_INTR_STATE_NMI);
	/* While blocked, NMI-window exiting waits; after IRET it fires. */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING, true);
	skip();
	CHECK_EXIT(EXIT_REASON_NMI_WINDOW, 0, 0, CODE);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI, 0);
	/* Injecting an NMI while virtual-NMI blocking is set fails the entry checks. */
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
	CHECK_EQ(run(), EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY);
}

static void idt_vectoring(void)
{
	/* Delivery hits an EPT violation on the IDT page: KVM must re-inject. */
	GUEST(0x90, 0xf4);
	setup_gdt();
	idt_gate(0x20, 0x1800);
	pte[2] = 0;					/* the IDT page is not mapped yet */
	vmcs_writel(GUEST_RFLAGS, 0x202);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EQ(run(), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS) & ~0xfffull, 0x2000);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION) & GLA, GLA);	/* IDT read at linear IDTR.base + 8n */
	CHECK_EQ(vmcs_read32(IDT_VECTORING_INFO_FIELD), INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE);
	/* KVM injects it again once the page is mapped: the guest takes it. */
	pte[2] = hva(mem + 0x2000) | 7 | MT_WB;
	mem[0x1800] = 0xf4;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, vmcs_read32(IDT_VECTORING_INFO_FIELD));
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	/* An injected software interrupt: its length comes back for the re-injection. */
	GUEST(0xcd, 0x30, 0xf4);
	setup_gdt();
	idt_gate(0x30, 0x1800);
	pte[2] = 0;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x30);
	vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, 2);
	CHECK_EQ(run(), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(vmcs_read32(IDT_VECTORING_INFO_FIELD), INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x30);
	CHECK_EQ(vmcs_read32(VM_EXIT_INSTRUCTION_LEN), 2);
}

static void entry_msr_load(void)
{
	u8 *list = test_pages(1);
	u32 *e = (u32 *)list;

	GUEST(0xf4);
	/* Entry 1: IA32_SYSENTER_CS = 0x10 (fine), entry 2: IA32_FS_BASE (refused). */
	e[0] = 0x174; e[2] = 0x10;
	e[4] = 0xc0000100u; e[6] = 0x1000;
	vmcs_write64(VM_ENTRY_MSR_LOAD_ADDR, hva(list));
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 2);
	CHECK_EQ(run(), EXIT_REASON_MSR_LOAD_FAIL | VMX_EXIT_REASONS_FAILED_VMENTRY);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION), 2);
	/* One good entry: the MSR is loaded, the exit MSR-store list reads it back. */
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 1);
	e[8] = 0x174;
	vmcs_write64(VM_EXIT_MSR_STORE_ADDR, hva(list + 32));
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 1);
	CHECK_EQ(run(), EXIT_REASON_HLT);
	CHECK_EQ(e[10], 0x10);
	CHECK_EQ(vmcs_read32(GUEST_SYSENTER_CS), 0x10);
}

static void real_mode_guest(void)
{
	/* Unrestricted guest in real mode: mov al, 'A'; out 0x80, al */
	static const u8 code[] = { 0xb0, 0x41, 0xe6, 0x80 };

	guest(code, sizeof(code), false);
	vmcs_writel(GUEST_CR0, 0x30);
	for (u32 f = GUEST_ES_SELECTOR; f <= GUEST_GS_SELECTOR; f += 2) {
		u32 i = (f - GUEST_ES_SELECTOR) / 2;

		__vmcs_writel(GUEST_ES_SELECTOR + 2 * i, 0);
		__vmcs_writel(GUEST_ES_BASE + 2 * i, 0);
		__vmcs_writel(GUEST_ES_LIMIT + 2 * i, 0xffff);
		__vmcs_writel(GUEST_ES_AR_BYTES + 2 * i, i == 1 ? 0x9b : 0x93);
	}
	vmcs_write16(GUEST_CS_SELECTOR, 0x100);
	vmcs_writel(GUEST_CS_BASE, 0x1000);
	vmcs_writel(GUEST_RIP, 0);
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x80ull << 16 | IO_QUAL_IMM, 2, 2);
	CHECK_EQ(env.regs[RAX] & 0xff, 'A');
}

static void long_mode_guest(void)
{
	/* 64-bit guest: identity map of 1 GiB with 2 MiB pages at GPA 0x10000. */
	u64 *p4, *p3, *p2;
	static const u8 code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax, imm64 */
		0x44, 0x0f, 0x22, 0xc0,				/* mov cr8, rax */
		0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40,	/* mov rax, [0x40000000] */
	};

	guest(code, sizeof(code), true);
	p4 = (u64 *)(mem + 0x10000);
	p3 = (u64 *)(mem + 0x11000);
	p2 = (u64 *)(mem + 0x12000);
	p4[0] = 0x11000 | 3;
	p3[0] = 0x12000 | 3;
	for (int n = 0; n < 512; n++)
		p2[n] = (u64)n << 21 | 0x83;
	vmcs_writel(GUEST_CR3, 0x10000);
	CHECK_EXIT(EXIT_REASON_CR_ACCESS, CR_QUAL(8, CR_ACCESS_TYPE_MOV_TO_CR, RAX), 4, CODE + 10);
	CHECK_EQ(env.regs[RAX], 0x1122334455667788ull);
	/* #PF on an unmapped linear address; mask/match selects which exit. */
	skip();
	vmcs_write32(EXCEPTION_BITMAP, BIT(14));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 1);	/* P bit */
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 1);	/* only protection faults exit */
	/* Not-present #PF (P=0) does not match: it goes to the guest, whose empty IDT
	 * makes it a triple fault. */
	vmcs_write32(GUEST_IDTR_LIMIT, 0);
	CHECK_EQ(run(), EXIT_REASON_TRIPLE_FAULT);
	/* Match 0: the not-present fault exits, qualification = linear address. */
	vmcs_writel(GUEST_RIP, CODE + 14);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, 0);
	native_write_cr2(0x777);
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0x40000000, 0, CODE + 14);
	/* The #PF was not delivered: CR2 is unchanged (KVM sets it if it injects). */
	CHECK_EQ(native_read_cr2(), 0x777);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO),
		 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | 14);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_ERROR_CODE), 0);
	CHECK(vmcs_read32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE, "IA-32e mode guest saved");
}


static void ept_paging_structure_violation(void)
{
	/* 64-bit guest whose page directory (GPA 0x12000) is not mapped in EPT yet. */
	static const u8 code[] = { 0xf4 };
	u64 *p4, *p3, *p2;

	guest(code, sizeof(code), true);
	p4 = (u64 *)(mem + 0x10000);
	p3 = (u64 *)(mem + 0x11000);
	p2 = (u64 *)(mem + 0x12000);
	p4[0] = 0x11000 | 3;
	p3[0] = 0x12000 | 3;
	p2[0] = 0x83;
	vmcs_writel(GUEST_CR3, 0x10000);
	pte[0x12] = 0;
	/*
	 * The walk for the first fetch reads PDE 0: GLA valid, not the
	 * translated address (bit 8 = 0); with EPT A/D the paging-structure
	 * read counts as a write (SDM 29.3.5).
	 */
	CHECK_EXIT(EXIT_REASON_EPT_VIOLATION,
		   EPT_VIOLATION_ACC_READ | EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_GVA_IS_VALID, 0, CODE);
	CHECK_EQ(vmcs_read64(GUEST_PHYSICAL_ADDRESS), 0x12000);
	CHECK_EQ(vmcs_readl(GUEST_LINEAR_ADDRESS), CODE);
	/* KVM maps the page; the guest runs and the EPT entry is dirty (A/D). */
	pte[0x12] = hva(mem + 0x12000) | 7 | MT_WB;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE);
	CHECK(pte[0x12] & VMX_EPT_DIRTY_BIT, "paging-structure page dirty");
	/* Read-only in EPT: the walk's A/D write is an EPT violation (write). */
	pte[0x12] = hva(mem + 0x12000) | 5 | MT_WB;
	p2[0] &= ~0x20ull;				/* clear the guest's accessed flag */
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 1, 0), VMX_SUCCEED);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EQ(run(), EXIT_REASON_EPT_VIOLATION);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION) & (EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_GVA_TRANSLATED),
		 EPT_VIOLATION_ACC_WRITE);
}

/* 64-bit guest with identity 2 MiB pages; code at CODE. */
static void long_mode_identity(const u8 *code, size_t len)
{
	u64 *p4, *p3, *p2;

	guest(code, len, true);
	p4 = (u64 *)(mem + 0x10000);
	p3 = (u64 *)(mem + 0x11000);
	p2 = (u64 *)(mem + 0x12000);
	p4[0] = 0x11000 | 3;
	p3[0] = 0x12000 | 3;
	p2[0] = 0x83;
	vmcs_writel(GUEST_CR3, 0x10000);
}

static void exits_are_transparent(void)
{
	/*
	 * The same computation run in one go and cut into hundreds of pieces
	 * by preemption-timer exits (each resumed as is) ends in the same
	 * registers, flags and memory: exit + entry save and restore it all.
	 */
	static const u8 code[] = {
		0xbe, 0x00, 0x10, 0x00, 0x00,		/* mov esi, 0x1000 */
		0xbf, 0x00, 0x40, 0x02, 0x00,		/* mov edi, 0x24000 */
		0xb9, 0x00, 0x30, 0x00, 0x00,		/* mov ecx, 0x3000 */
		0xf3, 0xa4,				/* rep movsb: cut between iterations */
		0xb9, 0x88, 0x13, 0x00, 0x00,		/* mov ecx, 5000 */
		0x31, 0xc0,				/* xor eax, eax */
		0xba, 0x01, 0x00, 0x00, 0x00,		/* mov edx, 1 */
		0x01, 0xd0,				/* 1: add eax, edx */
		0x11, 0xc2,				/* adc edx, eax */
		0xc1, 0xc0, 0x03,			/* rol eax, 3 */
		0x50,					/* push rax */
		0x5b,					/* pop rbx */
		0x31, 0xcb,				/* xor ebx, ecx */
		0x89, 0x1c, 0x8d, 0x00, 0x00, 0x02, 0x00, /* mov [rcx*4 + 0x20000], ebx */
		0x0f, 0x92, 0xc3,			/* setc bl */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe7,				/* jnz 1b */
		0xf4,
	};
	static u8 ref_mem[0x8000];
	u64 ref_regs[16], ref_flags;
	unsigned exits = 0;
	u32 r;

	long_mode_identity(code, sizeof(code));
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + sizeof(code) - 1);
	memcpy(ref_regs, env.regs, sizeof(ref_regs));
	memcpy(ref_mem, mem + 0x20000, sizeof(ref_mem));
	ref_flags = vmcs_readl(GUEST_RFLAGS);

	long_mode_identity(code, sizeof(code));
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 1);
	while ((r = run()) == EXIT_REASON_PREEMPTION_TIMER && exits < 100000)
		exits++;
	CHECK_EQ(r, EXIT_REASON_HLT);
	CHECK(exits >= 50, "only %u timer exits", exits);
	CHECK(!memcmp(env.regs, ref_regs, sizeof(ref_regs)), "registers differ");
	CHECK(!memcmp(mem + 0x20000, ref_mem, sizeof(ref_mem)), "memory differs");
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS), ref_flags);
	CHECK_EQ(vmcs_readl(GUEST_RSP), 0x8000);
}

static void shadow_paging_without_ept(void)
{
	/*
	 * EPT off (KVM's tdp=off): the guest's page tables are KVM's shadow
	 * tables and hold host addresses, which are this processor's physical
	 * addresses.  Linear 0x1000 maps the code page, linear 0x400000 a
	 * data page elsewhere in host memory.
	 */
	static const u8 code[] = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x40, 0x00, 0xf4 };
	u64 *p4 = test_pages(1), *p3 = test_pages(1), *p2 = test_pages(1), *p1 = test_pages(1);
	u8 *data = test_pages(1), *code_page = test_pages(1), *stack = test_pages(1);

	guest(code, 0, true);
	memcpy(code_page, code, sizeof(code));
	data[0] = 0x5a;
	p4[0] = hva(p3) | 3;
	p3[0] = hva(p2) | 3;
	p2[0] = hva(p1) | 3;
	p2[2] = hva(p1) | 3;				/* 0x400000 uses the same table ... */
	p1[1] = hva(code_page) | 3;			/* linear 0x1000 */
	p1[0] = hva(data) | 3;				/* ... so linear 0x400000 -> data */
	p1[8] = hva(stack) | 3;				/* linear 0x8000 (stack) */
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST, false);
	vmcs_writel(GUEST_CR3, hva(p4));
	vmcs_writel(GUEST_RSP, 0x8ff0);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX] & 0xff, 0x5a);

	/*
	 * Even if KVM left CR0.PG guest-owned, a guest without "unrestricted
	 * guest" cannot turn paging off (the VMX fixed bits, SDM 26.3): #GP.
	 */
	static const u8 clear_pg[] = {
		0x0f, 0x20, 0xc0,				/* mov rax, cr0 */
		0x0f, 0xba, 0xf0, 0x1f,				/* btr eax, 31 */
		0x0f, 0x22, 0xc0,				/* mov cr0, rax */
	};
	memcpy(code_page, clear_pg, sizeof(clear_pg));
	CHECK_EQ(__invept(VMX_EPT_EXTENT_GLOBAL, 0, 0), VMX_SUCCEED);	/* drops decoded code */
	vmcs_writel(GUEST_RIP, CODE);
	vmcs_writel(CR0_GUEST_HOST_MASK, 0);
	vmcs_write32(EXCEPTION_BITMAP, BIT(13));
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0, 0, CODE + 7);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO),
		 INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | 13);
	CHECK(vmcs_readl(GUEST_CR0) & BIT(31), "paging was turned off");
}

static void vmx_memory_operand_exits(void)
{
	static const struct {
		const char *name;
		u8 code[8];
		u8 len;
		u32 reason;
	} t[] = {
		{ "vmptrld", { 0x0f, 0xc7, 0x73, 0x08 }, 4, EXIT_REASON_VMPTRLD },	/* [ebx+8] */
		{ "vmptrst", { 0x0f, 0xc7, 0x7b, 0x08 }, 4, EXIT_REASON_VMPTRST },
		{ "vmclear", { 0x66, 0x0f, 0xc7, 0x73, 0x08 }, 5, EXIT_REASON_VMCLEAR },
		{ "vmxon", { 0xf3, 0x0f, 0xc7, 0x73, 0x08 }, 5, EXIT_REASON_VMON },
		{ "invept", { 0x66, 0x0f, 0x38, 0x80, 0x53, 0x08 }, 6, EXIT_REASON_INVEPT },	/* edx, [ebx+8] */
		{ "invvpid", { 0x66, 0x0f, 0x38, 0x81, 0x53, 0x08 }, 6, EXIT_REASON_INVVPID },
	};

	for (unsigned k = 0; k < ARRAY_SIZE(t); k++) {
		u32 r;

		guest(t[k].code, t[k].len, false);
		r = run();
		CHECK(r == t[k].reason, "%s: exit %#x", t[k].name, r);
		CHECK(vmcs_read32(VM_EXIT_INSTRUCTION_LEN) == t[k].len, "%s: len %u", t[k].name,
		      vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
		/* Qualification: the displacement; info: 32-bit address, DS, base EBX, no index. */
		CHECK(vmcs_readl(EXIT_QUALIFICATION) == 8, "%s: qual %#lx", t[k].name,
		      vmcs_readl(EXIT_QUALIFICATION));
		CHECK((vmcs_read32(VMX_INSTRUCTION_INFO) & 0x0ffffc00u) == (3u << 15 | BIT(22) | 3u << 23),
		      "%s: info %#x", t[k].name, vmcs_read32(VMX_INSTRUCTION_INFO));
		if (t[k].reason == EXIT_REASON_INVEPT || t[k].reason == EXIT_REASON_INVVPID)
			CHECK((vmcs_read32(VMX_INSTRUCTION_INFO) >> 28) == RDX, "%s: reg2", t[k].name);
	}
}

static void unswitched_registers(void)
{
	u64 v = 0;

	/* CR2, DR0, LSTAR stay as the guest leaves them; KVM reads/writes them natively. */
	GUEST(0x0f, 0x20, 0xd0,				/* mov eax, cr2 */
	      0x0f, 0x22, 0xd3,				/* mov cr2, ebx */
	      0x0f, 0x21, 0xc1,				/* mov ecx, dr0 */
	      0xb9, 0x82, 0x00, 0x00, 0xc0,		/* mov ecx, LSTAR */
	      0x0f, 0x32,				/* rdmsr */
	      0xf4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MOV_DR_EXITING, false);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	open_msr(0xc0000082u, false);
	native_write_cr2(0x1234);
	set_debugreg(0xabc0, 0);
	CHECK_EQ(wrmsrl_safe(0xc0000082u, 0xffffffff81800000ull), 0);
	env.regs[RBX] = 0x5678;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 16);
	CHECK_EQ(env.regs[RAX], 0x81800000);		/* rdmsr overwrote the CR2 copy */
	CHECK_EQ(env.regs[RDX], 0xffffffff);
	CHECK_EQ(native_read_cr2(), 0x5678);
	CHECK_EQ(get_debugreg(0), 0xabc0);
	CHECK_EQ(rdmsrl_safe(0xc0000082u, &v), 0);
	CHECK_EQ(v, 0xffffffff81800000ull);
	wrmsrl(0xc0000102u, 0xffff888000001000ull);	/* KERNEL_GS_BASE */
	rdmsrl(0xc0000102u, v);
	CHECK_EQ(v, 0xffff888000001000ull);
	/* Guest CR2 read: check separately. */
	GUEST(0x0f, 0x20, 0xd0, 0xf4);
	native_write_cr2(0x1234);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 3);
	CHECK_EQ(env.regs[RAX], 0x1234);
	CHECK_EQ(xsetbv(0, 2), -1);			/* x87 bit must be set */
	CHECK_EQ(xsetbv(0, 7), -1);			/* no AVX state */
	CHECK_EQ(xsetbv(0, 3), 0);
	CHECK_EQ(xgetbv(0), 3);
	CHECK(rdtsc() != 0, "processor TSC");
}

static void pae_pdptes(void)
{
	/* A PAE guest (CR0.PG, CR4.PAE, not IA-32e): the exit saves the PDPTEs. */
	u64 *pdpt = (u64 *)(mem + 0x10000), *pd = (u64 *)(mem + 0x11000);

	GUEST(0xf4);
	pdpt = (u64 *)(mem + 0x10000);
	pd = (u64 *)(mem + 0x11000);
	pdpt[0] = 0x11000 | 1;
	pdpt[3] = 0x11000 | 1;
	pd[0] = 0x83;					/* 2 MiB identity page */
	vmcs_writel(GUEST_CR3, 0x10000);
	vmcs_writel(GUEST_CR4, 0x2020);
	vmcs_writel(GUEST_CR0, 0x80000031);
	vmcs_write64(GUEST_PDPTR0, 0x11001);
	vmcs_write64(GUEST_PDPTR3, 0x11001);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE);
	CHECK_EQ(vmcs_read64(GUEST_PDPTR0), 0x11001);
	CHECK_EQ(vmcs_read64(GUEST_PDPTR1), 0);
	CHECK_EQ(vmcs_read64(GUEST_PDPTR3), 0x11001);
	/*
	 * With EPT the processor uses the PDPTEs of the VMCS, not the PDPT in
	 * memory (SDM 27.3.2.4): clearing PDPTE 0 in memory changes nothing
	 * until the guest reloads CR3.
	 */
	pdpt[0] = 0;
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 1, 0), VMX_SUCCEED);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE);
	CHECK_EQ(vmcs_read64(GUEST_PDPTR0), 0x11001);
}

static void vpid_tlb(void)
{
	/* 64-bit guest, 4 KiB pages: linear 0x5000 -> GPA 0x5000 (0x11) or 0x6000 (0x22). */
	static const u8 code[] = {
		0x48, 0x8b, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00,	/* mov rax, [0x5000] */
		0xf4,
	};
	u64 *p4, *p3, *p2, *p1;

	guest(code, sizeof(code), true);
	p4 = (u64 *)(mem + 0x10000);
	p3 = (u64 *)(mem + 0x11000);
	p2 = (u64 *)(mem + 0x12000);
	p1 = (u64 *)(mem + 0x13000);
	p4[0] = 0x11000 | 3;
	p3[0] = 0x12000 | 3;
	p2[0] = 0x13000 | 3;
	for (int n = 0; n < 512; n++)
		p1[n] = (u64)n << 12 | 3;
	mem[0x5000] = 0x11;
	mem[0x6000] = 0x22;
	vmcs_writel(GUEST_CR3, 0x10000);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0x11);
	/*
	 * The PTE changes without INVVPID: with a VPID the translation
	 * survives the exit and re-entry (SDM 29.4.3), so the guest still
	 * reads the old page ...
	 */
	p1[5] = 0x6000 | 3;
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0x11);
	/* ... until KVM invalidates the VPID. */
	CHECK_EQ(__invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 1, 0), VMX_SUCCEED);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0x22);
	/* Without VPIDs every VM entry flushes. */
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID, false);
	p1[5] = 0x5000 | 3;
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0x11);
	/* A new guest CR3 is a new context even with the same VPID. */
	ctl_set(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID, true);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	memcpy(mem + 0x20000, mem + 0x10000, 4096);
	p1[5] = 0x6000 | 3;
	vmcs_writel(GUEST_CR3, 0x20000);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0x22);
}

static void two_vmcs_one_processor(void)
{
	/*
	 * Two vCPUs time-sharing this logical processor, as when KVM loads
	 * another vCPU's VMCS: each VMCS keeps its guest, launch state and
	 * VPID-tagged translations; linear 0x5000 maps to a different page
	 * in each guest (CR3 0x10000 -> GPA 0x5000, CR3 0x20000 -> 0x6000).
	 */
	static const u8 code[] = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, 0xf4 };
	void *vmcs_b = vmx_region(&env.conf);
	u64 regs_b[16] = { 0 }, regs_a[16];
	u64 *p1;

	long_mode_identity(code, sizeof(code));
	/* Guest A: 4 KiB page table under the first 2 MiB. */
	((u64 *)(mem + 0x12000))[0] = 0x13000 | 3;
	p1 = (u64 *)(mem + 0x13000);
	for (int n = 0; n < 512; n++)
		p1[n] = (u64)n << 12 | 3;
	memcpy(mem + 0x20000, mem + 0x10000, 0x4000);	/* guest B: a copy ... */
	((u64 *)(mem + 0x20000))[0] = 0x21000 | 3;
	((u64 *)(mem + 0x21000))[0] = 0x22000 | 3;
	((u64 *)(mem + 0x22000))[0] = 0x23000 | 3;
	((u64 *)(mem + 0x23000))[5] = 0x6000 | 3;	/* ... with 0x5000 -> 0x6000 */
	mem[0x5000] = 0xaa;
	mem[0x6000] = 0xbb;
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);
	CHECK_EQ(env.regs[RAX], 0xaa);
	memcpy(regs_a, env.regs, sizeof(regs_a));

	CHECK_EQ(vmcs_clear(vmcs_b), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(vmcs_b), VMX_SUCCEED);
	vmcs_setup_guest(&env, test_eptp(), true, CODE);
	vmcs_writel(GUEST_CR3, 0x20000);
	vmcs_write16(VIRTUAL_PROCESSOR_ID, 2);
	CHECK_EQ(vmx_vcpu_enter(regs_b, false), EXIT_REASON_HLT);
	CHECK_EQ(regs_b[RAX], 0xbb);

	for (int round = 0; round < 3; round++) {
		CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
		vmcs_writel(GUEST_RIP, CODE);
		regs_a[RAX] = 0;
		CHECK_EQ(vmx_vcpu_enter(regs_a, true), EXIT_REASON_HLT);
		CHECK_EQ(regs_a[RAX], 0xaa);
		CHECK_EQ(vmcs_load(vmcs_b), VMX_SUCCEED);
		vmcs_writel(GUEST_RIP, CODE);
		regs_b[RAX] = 0;
		CHECK_EQ(vmx_vcpu_enter(regs_b, true), EXIT_REASON_HLT);
		CHECK_EQ(regs_b[RAX], 0xbb);
	}
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
}

static void task_switch_guest(const u8 *code, size_t len)
{
	/* GDT: code 0x08, data 0x10, busy TSS 0x18 (TR), available TSS 0x20, task gate 0x28 -> 0x20 */
	static const u64 gdt[] = {
		0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
		0x00008b0050000067ull, 0x0000890040000067ull, 0x0000850000200000ull,
	};

	guest(code, len, false);
	memcpy(mem + 0x3000, gdt, sizeof(gdt));
	vmcs_writel(GUEST_GDTR_BASE, 0x3000);
	vmcs_write32(GUEST_GDTR_LIMIT, sizeof(gdt) - 1);
	vmcs_writel(GUEST_TR_BASE, 0x5000);
	vmcs_write32(GUEST_TR_AR_BYTES, 0x8b);
	*(u16 *)(mem + 0x5000) = 0x20;			/* previous-task link */
}

static void task_switch_exits(void)
{
	static const u8 jmp[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00 };	/* jmp 0x20:0 */
	static const u8 call[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00 };	/* call 0x28:0 */
	static const u8 iret[] = { 0xcf };
	static const u8 ud2[] = { 0x0f, 0x0b };
	u64 *idt;

	/* JMP to a TSS: qualification = selector | source 2 (JMP) << 30. */
	task_switch_guest(jmp, sizeof(jmp));
	CHECK_EXIT(EXIT_REASON_TASK_SWITCH, 0x20 | 2ull << 30, 7, CODE);
	/* CALL through a task gate: the gate's TSS selector, source 0. */
	task_switch_guest(call, sizeof(call));
	CHECK_EXIT(EXIT_REASON_TASK_SWITCH, 0x20, 7, CODE);
	/* IRET with NT = 1: the back link, source 1. */
	task_switch_guest(iret, sizeof(iret));
	vmcs_writel(GUEST_RFLAGS, 0x4002);
	CHECK_EXIT(EXIT_REASON_TASK_SWITCH, 0x20 | 1ull << 30, 1, CODE);
	/* #UD through a task gate in the IDT: source 3, the event in IDT-vectoring info. */
	task_switch_guest(ud2, sizeof(ud2));
	idt = (u64 *)(mem + 0x2000);
	idt[6] = 0x0000850000200000ull;
	vmcs_writel(GUEST_IDTR_BASE, 0x2000);
	vmcs_write32(GUEST_IDTR_LIMIT, 0x7ff);
	CHECK_EXIT(EXIT_REASON_TASK_SWITCH, 0x20 | 3ull << 30, 0, CODE);
	CHECK_EQ(vmcs_read32(IDT_VECTORING_INFO_FIELD), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
}

static void kvm_reset_state_guest(void)
{
	/*
	 * The state KVM's vmx_vcpu_reset() gives a vCPU (SDM 10.1.1 RESET),
	 * with an unrestricted guest: real mode, CS base ffff0000, RIP fff0,
	 * so the first fetch is at GPA fffffff0.  EPT maps that page.
	 */
	static const u8 code[] = { 0xb0, 0x55, 0xe6, 0x80 };	/* mov al, 0x55; out 0x80, al */
	u8 *rom = test_pages(1);
	u64 *pd = test_pages(1), *pt = test_pages(1);
	u64 *pdpt;

	guest(code, 0, false);
	memcpy(rom + 0xff0, code, sizeof(code));
	/* GPA ffff f000: PML4[0] -> PDPT[3] -> PD[511] -> PT[511] */
	pdpt = (u64 *)(uintptr_t)(pml4[0] & ~0xfffull);
	pdpt[3] = hva(pd) | 7;
	pd[511] = hva(pt) | 7;
	pt[511] = hva(rom) | 7 | MT_WB;
	vmcs_writel(GUEST_CR0, 0x60000030);		/* CD NW ET, and NE kept on by KVM */
	vmcs_writel(CR0_GUEST_HOST_MASK, ~0ul & ~(u64)BIT(3));
	vmcs_writel(CR0_READ_SHADOW, 0x60000010);
	vmcs_writel(GUEST_CR4, 0x2000);
	vmcs_writel(CR4_GUEST_HOST_MASK, ~0ul);
	vmcs_writel(CR4_READ_SHADOW, 0);
	vmcs_write64(GUEST_IA32_EFER, 0);
	for (int i = 0; i < 6; i++) {
		__vmcs_writel(GUEST_ES_SELECTOR + 2 * i, 0);
		__vmcs_writel(GUEST_ES_BASE + 2 * i, 0);
		__vmcs_writel(GUEST_ES_LIMIT + 2 * i, 0xffff);
		__vmcs_writel(GUEST_ES_AR_BYTES + 2 * i, 0x93);
	}
	vmcs_write16(GUEST_CS_SELECTOR, 0xf000);
	vmcs_writel(GUEST_CS_BASE, 0xffff0000ul);
	vmcs_write32(GUEST_CS_AR_BYTES, 0x9b);
	vmcs_write16(GUEST_LDTR_SELECTOR, 0);
	vmcs_write32(GUEST_LDTR_LIMIT, 0xffff);
	vmcs_write32(GUEST_LDTR_AR_BYTES, 0x82);
	vmcs_write16(GUEST_TR_SELECTOR, 0);
	vmcs_writel(GUEST_TR_BASE, 0);
	vmcs_write32(GUEST_TR_LIMIT, 0xffff);
	vmcs_write32(GUEST_TR_AR_BYTES, 0x8b);
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_RIP, 0xfff0);
	vmcs_writel(GUEST_RSP, 0);
	vmcs_writel(GUEST_RFLAGS, 2);
	env.regs[RDX] = 0x600;				/* processor signature */
	/* Host state from the root-operation registers, as KVM takes them. */
	vmcs_writel(HOST_CR0, read_cr0());
	vmcs_writel(HOST_CR3, __read_cr3());
	vmcs_writel(HOST_CR4, __read_cr4());
	CHECK_EXIT(EXIT_REASON_IO_INSTRUCTION, 0x80ull << 16 | IO_QUAL_IMM, 2, 0xfff2);
	CHECK_EQ(env.regs[RAX] & 0xff, 0x55);
	CHECK_EQ(env.regs[RDX], 0x600);
	/* The guest reads CR0 through the shadow: CD NW ET, no NE. */
	CHECK_EQ(vmcs_readl(GUEST_CR0), 0x60000030);
}

/*
 * What a VM exit loads (SDM 28.5) is what root operation sees, although
 * this processor writes the host registers into its core only when root
 * operation looks at one (vmx_cpu.h: host_regs_pending): after the exit
 * RDMSR of SYSENTER_CS gives the host's value and DR7 is 400H.  The next
 * VM entry gives the guest its own values, with or without that look in
 * between, and after a VMWRITE of the field or a root WRMSR of the MSR.
 */
static void host_state_after_exit(void)
{
	u64 v = 0;

	GUEST(0xb9, 0x74, 0x01, 0x00, 0x00,		/* mov ecx, 0x174 (SYSENTER_CS) */
	      0x0f, 0x32,				/* rdmsr */
	      0xf4);					/* hlt */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	open_msr(0x174, false);
	vmcs_write32(GUEST_SYSENTER_CS, 0x1234);
	vmcs_write32(HOST_IA32_SYSENTER_CS, 0x10);
	vmcs_writel(GUEST_DR7, 0x500);			/* bit 8 (LE): no breakpoint */
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	CHECK_EQ(env.regs[RAX], 0x1234);
	/* root operation: the host's values */
	CHECK_EQ(rdmsrl_safe(0x174, &v), 0);
	CHECK_EQ(v, 0x10);
	CHECK_EQ(get_debugreg(7), 0x400);
	CHECK_EQ(vmcs_readl(GUEST_DR7), 0x500);
	/* the guest's again after that look */
	env.regs[RAX] = 0;
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	CHECK_EQ(env.regs[RAX], 0x1234);
	/* ... and without it */
	env.regs[RAX] = 0;
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	CHECK_EQ(env.regs[RAX], 0x1234);
	/* a VMWRITE of the field between two entries */
	vmcs_write32(GUEST_SYSENTER_CS, 0x5678);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	CHECK_EQ(env.regs[RAX], 0x5678);
	/* a root WRMSR of the MSR: the host's register, the guest keeps its own */
	CHECK_EQ(wrmsrl_safe(0x174, 0x20), 0);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 7);
	CHECK_EQ(env.regs[RAX], 0x5678);
	CHECK_EQ(rdmsrl_safe(0x174, &v), 0);
	CHECK_EQ(v, 0x10);				/* the exit loaded HOST_IA32_SYSENTER_CS */
}

/*
 * VMRESUME's fast path (vmentry.c: vmx_resume_fast()) runs on what the last
 * exit noted (vmx_cpu.h: resume_ready, resume_long64, resume_no_vm); each
 * change root operation makes between the exit and the VMRESUME must still
 * be seen by it: VMCLEAR/VMPTRLD of the same VMCS, a RIP or RFLAGS that
 * fails the entry checks, CS.L cleared under a RIP above 4 GiB.
 */
static void resume_sees_root_changes(void)
{
	static const u8 code32[] = {
		0xe6, 0x80, 0xe6, 0x80, 0xe6, 0x80,	/* out 0x80, al (x3) */
		0xe6, 0x80, 0xe6, 0x80, 0xf4,		/* out 0x80, al (x2); hlt */
	};
	static const u8 code64[] = {
		0xe6, 0x80, 0xe6, 0x80, 0xf4,		/* out 0x80, al (x2); hlt */
	};
	const u32 bad = EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY;

	guest(code32, sizeof(code32), false);
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE);
	skip();
	/* VMCLEAR + VMPTRLD: the VMCS is clear, VMRESUME fails, VMLAUNCH goes on. */
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmx_vcpu_enter(env.regs, true), VMX_ENTER_VMFAIL_VALID);
	CHECK_EQ(vmcs_read32(VM_INSTRUCTION_ERROR), VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 2);
	skip();
	/* RIP bits 63:32 set outside 64-bit mode: a failed entry (27.3.1.4). */
	vmcs_writel(GUEST_RIP, (1ull << 32) | (CODE + 4));
	CHECK_EQ(run(), bad);
	vmcs_writel(GUEST_RIP, CODE + 4);
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 4);
	skip();
	/* RFLAGS: reserved bit 15 set, then bit 1 clear: failed entries. */
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | BIT(15));
	CHECK_EQ(run(), bad);
	vmcs_writel(GUEST_RFLAGS, (vmcs_readl(GUEST_RFLAGS) & ~BIT(15)) & ~BIT(1));
	CHECK_EQ(run(), bad);
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | BIT(1));
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 6);
	/* Two fast resumes in a row still run the guest on. */
	skip();
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 8);
	skip();
	CHECK_EQ(run(), EXIT_REASON_HLT);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 10);

	/* 64-bit: a RIP above 4 GiB is fine while canonical with CS.L ... */
	long_mode_identity(code64, sizeof(code64));
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK, VMX_AR_L_MASK);
	skip();
	vmcs_writel(GUEST_RIP, 0x0000800000000000ull);	/* not canonical */
	CHECK_EQ(run(), bad);
	/* ... and refused once CS.L is clear (compatibility mode), canonical or not. */
	vmcs_writel(GUEST_RIP, 1ull << 32);
	vmcs_write32(GUEST_CS_AR_BYTES, (vmcs_read32(GUEST_CS_AR_BYTES) & ~VMX_AR_L_MASK) | BIT(14));
	CHECK_EQ(run(), bad);
	vmcs_write32(GUEST_CS_AR_BYTES, (vmcs_read32(GUEST_CS_AR_BYTES) | VMX_AR_L_MASK) & ~BIT(14));
	vmcs_writel(GUEST_RIP, CODE + 2);
	CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 2);
	skip();
	CHECK_EQ(run(), EXIT_REASON_HLT);
}

/* VMRESUME on another thread, as a vCPU whose KVM_RUN moved threads (resume_in_handler()). */
static void *resume_elsewhere(void *arg)
{
	u32 *reason = arg;

	vmx_cpu_bind(env.lp);
	*reason = run();
	vmx_cpu_bind(NULL);
	return NULL;
}

/*
 * An instruction exit may leave the processor's run suspended in the
 * instruction's handler, and a VMRESUME right after the instruction goes
 * on there (vmx_run.c).  Each case below is a VMRESUME that must not go
 * on in the handler, or must see what the host changed; each fails if the
 * continued run ignored it (the block would run on to the next CPUID).
 */
static void resume_in_handler(void)
{
	static const u8 code[] = {
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46, 0xf4,		/* cpuid; inc esi; hlt */
	};
	pthread_t t;
	u32 reason = 0;

	guest(code, sizeof(code), false);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	/* Registers the host changed are the ones the block goes on with. */
	env.regs[RSI] = 100;
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	CHECK_EQ(env.regs[RSI], 101);
	/* Not skipped: CPUID runs again (exits again) at the same RIP. */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	CHECK_EQ(env.regs[RSI], 101);
	/* A kick between exit and VMRESUME: an external-interrupt exit before INC. */
	skip();
	vmx_cpu_kick(env.lp);
	CHECK_EXIT(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0, CODE + 5);
	CHECK_EQ(env.regs[RSI], 101);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	CHECK_EQ(env.regs[RSI], 102);
	/* Interrupt-window exiting turned on: the window exit comes before INC. */
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | BIT(9));	/* IF */
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, true);
	skip();
	CHECK_EXIT(EXIT_REASON_INTERRUPT_WINDOW, 0, 0, CODE + 8);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING, false);
	CHECK_EQ(env.regs[RSI], 102);
	/* RIP moved by the host: the guest goes on there, not after the CPUID. */
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	CHECK_EQ(env.regs[RSI], 102);
	/* A preemption timer at 0 for the next entry: it expires before INC. */
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 0);
	skip();
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, CODE + 2);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, false);
	CHECK_EQ(env.regs[RSI], 102);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	CHECK_EQ(env.regs[RSI], 103);
	/* VMRESUME on another thread goes on right after the CPUID too. */
	skip();
	vmx_cpu_bind(NULL);
	pthread_create(&t, NULL, resume_elsewhere, &reason);
	pthread_join(t, NULL);
	vmx_cpu_bind(env.lp);
	CHECK_EQ(reason, EXIT_REASON_CPUID);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 6);
	CHECK_EQ(env.regs[RSI], 104);
	/* VMCLEAR + VMPTRLD: VMLAUNCH starts the guest from the VMCS. */
	skip();
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmx_vcpu_enter(env.regs, false), EXIT_REASON_CPUID);
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 9);
	CHECK_EQ(env.regs[RSI], 105);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 12);
	CHECK_EQ(env.regs[RSI], 106);
}

/*
 * An exit taken in place leaves the core's non-root view (guest TSC
 * offset, EPT) in it for the VMRESUME that goes on (vmx_cpu.h:
 * nonroot_kept); root operation must still see the root TSC (RDTSC and
 * RDMSR IA32_TSC between exit and VMRESUME), the guest its own after
 * that look, and a full entry (here after a VMWRITE of TSC_OFFSET) must
 * save the root view, not the kept one, as what the next exit restores.
 * Each check fails if the kept view leaked into root operation or into
 * the next entry's saved root offset.
 */
static void resume_in_handler_tsc(void)
{
	static const u8 code[] = {
		0x0f, 0xa2,			/* cpuid */
		0x0f, 0x31, 0x89, 0xc7, 0x89, 0xd5,	/* rdtsc; mov edi, eax; mov ebp, edx */
		0x0f, 0xa2,			/* cpuid */
		0x0f, 0x31, 0xf4,		/* rdtsc; hlt */
	};
	const u64 off1 = 1ull << 50, off2 = 1ull << 52;
	u64 r1, r2, t, h0, h1, g, lo, hi, msr = 0;

	/*
	 * The root TSC is the host's minus a constant, which lies in
	 * [r1 - t, r2 - t]: guest reads are bracketed by __rdtsc() with it.
	 */
	r1 = __rdtsc();
	t = rdtsc();
	r2 = __rdtsc();
	guest(code, sizeof(code), false);
	vmcs_write64(TSC_OFFSET, off1);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	skip();
	/* In root operation after an in-place exit: the root TSC. */
	h0 = rdtsc();
	CHECK(h0 < off1 / 2, "root RDTSC %#llx after an exit with TSC_OFFSET %#llx",
	      (unsigned long long)h0, (unsigned long long)off1);
	CHECK_EQ(rdmsrl_safe(0x10, &msr), 0);
	CHECK(msr < off1 / 2 && msr >= h0, "root IA32_TSC %#llx", (unsigned long long)msr);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 8);
	h1 = rdtsc();
	g = (env.regs[RBP] << 32) | (u32)env.regs[RDI];
	CHECK(g >= h0 + off1 && g <= h1 + off1, "guest TSC %#llx, root %#llx..%#llx + %#llx",
	      (unsigned long long)g, (unsigned long long)h0, (unsigned long long)h1,
	      (unsigned long long)off1);
	/* No look from root operation, a new TSC_OFFSET: a full entry. */
	skip();
	vmcs_write64(TSC_OFFSET, off2);
	lo = __rdtsc() - (r2 - t);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 12);
	hi = __rdtsc() - (r1 - t);
	g = (env.regs[RDX] << 32) | (u32)env.regs[RAX];
	CHECK(g >= lo + off2 && g <= hi + off2, "guest TSC %#llx, root %#llx..%#llx + %#llx",
	      (unsigned long long)g, (unsigned long long)lo, (unsigned long long)hi,
	      (unsigned long long)off2);
	/* What that exit restored is the root TSC. */
	h0 = rdtsc();
	CHECK(h0 >= h1 && h0 < off1 / 2, "root RDTSC %#llx", (unsigned long long)h0);
	vmcs_write64(TSC_OFFSET, 0);
}

/*
 * A VM exit saves the segment, descriptor-table, control registers and
 * MSRs only when the guest wrote one since the last exit that saved them
 * all (cpu->nv_written): LGDT, a segment load, WRMSR and MOV CR0 between
 * CPUID exits, each taken and resumed in place, must each show in the
 * VMCS at the next exit.  Each check fails if that writer did not mark
 * the state written (the exit would leave the old value in the VMCS).
 */
static void exit_saves_guest_writes(void)
{
	static const u8 code[] = {
		0x0f, 0xa2,				/* cpuid */
		0x0f, 0x01, 0x15, 0x00, 0x40, 0x00, 0x00,	/* lgdt [0x4000] */
		0x0f, 0xa2,				/* cpuid */
		0x66, 0xb8, 0x20, 0x00,			/* mov ax, 0x20 */
		0x8e, 0xd8,				/* mov ds, ax */
		0x0f, 0xa2,				/* cpuid */
		0xb9, 0x75, 0x01, 0x00, 0x00,		/* mov ecx, IA32_SYSENTER_ESP */
		0xb8, 0x78, 0x56, 0x34, 0x12,		/* mov eax, 0x12345678 */
		0x31, 0xd2,				/* xor edx, edx */
		0x0f, 0x30,				/* wrmsr */
		0x0f, 0xa2,				/* cpuid */
		0x0f, 0x20, 0xc0,			/* mov eax, cr0 */
		0x83, 0xc8, 0x08,			/* or eax, 8 (TS) */
		0x0f, 0x22, 0xc0,			/* mov cr0, eax */
		0x0f, 0xa2,				/* cpuid */
		0xf4,					/* hlt */
	};
	/* GDT at 0x3000: null, code 0x08, data 0x10, TSS-selector slot 0x18, data 0x20 at 0x10000 */
	static const u64 gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull, 0,
				   0x00cf93010000ffffull };

	guest(code, sizeof(code), false);
	memcpy(mem + 0x3000, gdt, sizeof(gdt));
	vmcs_writel(GUEST_GDTR_BASE, 0x3000);
	vmcs_write32(GUEST_GDTR_LIMIT, 0x1f);		/* LGDT below makes it 0x27 */
	memcpy(mem + 0x4000, &(u16){ 0x27 }, 2);
	memcpy(mem + 0x4002, &(u32){ 0x3000 }, 4);
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	open_msr(0x175, true);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	CHECK_EQ(vmcs_read32(GUEST_GDTR_LIMIT), 0x1f);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 9);
	CHECK_EQ(vmcs_read32(GUEST_GDTR_LIMIT), 0x27);
	CHECK_EQ(vmcs_readl(GUEST_GDTR_BASE), 0x3000);
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0x10);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 17);
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0x20);
	CHECK_EQ(vmcs_readl(GUEST_DS_BASE), 0x10000);
	CHECK_EQ(vmcs_readl(GUEST_SYSENTER_ESP), 0);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 33);
	CHECK_EQ(vmcs_readl(GUEST_SYSENTER_ESP), 0x12345678);
	CHECK_EQ(vmcs_readl(GUEST_CR0) & BIT(3), 0);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 44);
	CHECK_EQ(vmcs_readl(GUEST_CR0) & BIT(3), BIT(3));
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0x20);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 46);
	CHECK_EQ(vmcs_readl(GUEST_SYSENTER_ESP), 0x12345678);
}

/*
 * The exit MSR-store count is a control the processor caches at entry
 * (vmx_ctls.msr_lists): one written between two exits taken in place
 * applies to the next exit, and so does setting it back to 0.  Fails if
 * the exit looked at counts cached before the VMWRITE.
 */
static void exit_msr_store_list_between_exits(void)
{
	static const u8 code[] = {
		0x0f, 0xa2,			/* cpuid */
		0x0f, 0xa2,			/* cpuid */
		0x0f, 0xa2,			/* cpuid */
		0xf4,				/* hlt */
	};
	u8 *list = test_pages(1);
	u32 *e = (u32 *)list;

	guest(code, sizeof(code), false);
	vmcs_write32(GUEST_SYSENTER_CS, 0x33);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	e[0] = 0x174;			/* IA32_SYSENTER_CS */
	e[2] = 0xdead;
	vmcs_write64(VM_EXIT_MSR_STORE_ADDR, hva(list));
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 1);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 2);
	CHECK_EQ(e[2], 0x33);
	e[2] = 0xdead;
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 4);
	CHECK_EQ(e[2], 0xdead);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 6);
	CHECK_EQ(e[2], 0xdead);
}

/*
 * Virtual-8086 mode entered by the guest (IRET with EFLAGS.VM) and a
 * segment load in it, between CPUID exits: each exit saves RFLAGS.VM and
 * the segments in the VM-entry form (access rights F3H), since in
 * virtual-8086 mode no exit may skip the full save (nv_written).  Fails if
 * an exit kept the protected-mode segments or missed the DS load.
 */
static void v86_entered_by_guest(void)
{
	static const u8 code[] = {
		0x6a, 0x00, 0x6a, 0x00,			/* push 0 (GS); push 0 (FS) */
		0x6a, 0x00, 0x6a, 0x00,			/* push 0 (DS); push 0 (ES) */
		0x6a, 0x00,				/* push 0 (SS) */
		0x68, 0x00, 0x70, 0x00, 0x00,		/* push 0x7000 (ESP) */
		0x68, 0x02, 0x00, 0x02, 0x00,		/* push 0x20002 (EFLAGS: VM) */
		0x6a, 0x00,				/* push 0 (CS) */
		0x68, 0x00, 0x11, 0x00, 0x00,		/* push 0x1100 (EIP) */
		0xcf,					/* iret */
	};
	static const u8 v86[] = {
		0x0f, 0xa2,				/* cpuid */
		0xb8, 0x00, 0x02,			/* mov ax, 0x200 */
		0x8e, 0xd8,				/* mov ds, ax */
		0x0f, 0xa2,				/* cpuid */
	};

	guest(code, sizeof(code), false);
	memcpy(mem + 0x1100, v86, sizeof(v86));
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, 0x1100);
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & BIT(17), BIT(17));
	CHECK_EQ(vmcs_read32(GUEST_ES_AR_BYTES), 0xf3);
	CHECK_EQ(vmcs_read32(GUEST_CS_AR_BYTES), 0xf3);
	CHECK_EQ(vmcs_read16(GUEST_SS_SELECTOR), 0);
	CHECK_EQ(vmcs_readl(GUEST_RSP), 0x7000);
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, 0x1107);
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0x200);
	CHECK_EQ(vmcs_readl(GUEST_DS_BASE), 0x2000);
	CHECK_EQ(vmcs_read32(GUEST_DS_LIMIT), 0xffff);
	CHECK_EQ(vmcs_read32(GUEST_DS_AR_BYTES), 0xf3);
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & BIT(17), BIT(17));
}

/*
 * A writer that leaves the state as it was (DS reloaded with its own
 * selector) lets the next exit skip the save by the snapshot compare; a
 * change after that (WRMSR) is still saved at the exit after it.  Fails if
 * the skipped save left the state marked clean for later writers.
 */
static void exit_after_unchanged_write(void)
{
	static const u8 code[] = {
		0x0f, 0xa2,				/* cpuid */
		0x8c, 0xd8, 0x8e, 0xd8,			/* mov eax, ds; mov ds, eax */
		0x0f, 0xa2,				/* cpuid */
		0xb9, 0x75, 0x01, 0x00, 0x00,		/* mov ecx, IA32_SYSENTER_ESP */
		0xb8, 0x55, 0x00, 0x00, 0x00,		/* mov eax, 0x55 */
		0x31, 0xd2,				/* xor edx, edx */
		0x0f, 0x30,				/* wrmsr */
		0x0f, 0xa2,				/* cpuid */
		0xf4,
	};

	guest(code, sizeof(code), false);
	setup_gdt();
	ctl_set(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, true);
	open_msr(0x175, true);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	CHECK_EQ(vmcs_read16(GUEST_DS_SELECTOR), 0x10);
	CHECK_EQ(vmcs_read32(GUEST_DS_AR_BYTES), 0xc093);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 22);
	CHECK_EQ(vmcs_readl(GUEST_SYSENTER_ESP), 0x55);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 24);
}

/*
 * An exit taken in place makes the entry checks on the guest fields it
 * saves, and the VMRESUME that goes on after the instruction skips them
 * and the loads while no VMWRITE but GUEST_RIP's came between (vmx_cpu.h:
 * VMX_RESUME_CONT).  Each VMWRITE below, of a field that VMRESUME loads
 * at every entry, or an event to inject, must still take effect; each
 * check fails if the entry went on with what the exit saved (the guest
 * would run INC and exit at the next CPUID).
 */
static void resume_in_place_sees_vmwrites(void)
{
	static const u8 code[] = {
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46,		/* cpuid; inc esi */
		0x0f, 0xa2, 0x46, 0xf4,		/* cpuid; inc esi; hlt */
	};

	guest(code, sizeof(code), false);
	setup_gdt();
	idt_gate(0x20, 0x1800);
	mem[0x1800] = 0xf4;
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | BIT(9));	/* IF, for the injection */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	/* A pending debug exception (B0): a #DB trap before INC (27.7.3). */
	skip();
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 1);
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 1, 0, CODE + 2);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 1);
	CHECK_EQ(env.regs[RSI], 0);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	CHECK_EQ(env.regs[RSI], 1);
	/* NMI blocking written: the guest runs on with it, the next exit saves it. */
	skip();
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), GUEST_INTR_STATE_NMI);
	CHECK_EQ(env.regs[RSI], 2);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	/* A resume that goes on in place again first (nothing written). */
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 9);
	CHECK_EQ(env.regs[RSI], 3);
	/* The HLT activity state written: nothing runs until the kick. */
	skip();
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
	vmx_cpu_kick(env.lp);
	CHECK_EXIT(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0, CODE + 11);
	CHECK_EQ(vmcs_read32(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	CHECK_EQ(env.regs[RSI], 3);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 12);
	CHECK_EQ(env.regs[RSI], 4);
	/* An interrupt injected after an exit taken in place: delivered before INC. */
	skip();
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, 0x1800);
	CHECK_EQ(*(u32 *)(mem + 0x8000 - 12), CODE + 14);	/* the frame's EIP: the INC */
	CHECK_EQ(env.regs[RSI], 4);
}

/*
 * The conditions under which an instruction exit is taken in place
 * (cpu.h cpu_exit_park_ok(), tested once at the exit: vmexit.c
 * vmx_exit_insn_cont()): a CPUID at its block's end in an STI or MOV-SS
 * shadow, or with TF set, is not, and the state the exit saves and the
 * entry after it are the SDM's.  Each check fails if the exit were taken
 * in place regardless of that condition (the exit would save
 * interruptibility 0; the VMRESUME would go on without the single-step
 * trap).  The CPUIDs after them, with none of these, are taken in place.
 */
static void exit_in_place_conditions(void)
{
	static const u8 tf[] = {
		0x9c,					/* pushf */
		0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00,	/* orl $0x100, (%esp) */
		0x9d,					/* popf: TF */
		0x0f, 0xa2, 0x90, 0xf4,			/* cpuid; nop; hlt */
	};

	/* STI shadow: sti; cpuid; cpuid; hlt */
	GUEST(0xfb, 0x0f, 0xa2, 0x0f, 0xa2, 0xf4);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 1);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), GUEST_INTR_STATE_STI);
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & BIT(9), BIT(9));
	skip();
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);	/* the shadow ends with the instruction */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), 0);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 5);

	/* MOV-SS shadow: mov %ss,%eax; mov %eax,%ss; cpuid; cpuid; hlt */
	GUEST(0x8c, 0xd0, 0x8e, 0xd0, 0x0f, 0xa2, 0x0f, 0xa2, 0xf4);
	setup_gdt();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 4);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), GUEST_INTR_STATE_MOV_SS);
	skip();
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	CHECK_EQ(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), 0);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 8);

	/*
	 * TF set by POPF: CPUID exits before its trap (a fault-like exit);
	 * the entry after the skip runs NOP and traps after it (#DB, BS).
	 */
	guest(tf, sizeof(tf), false);
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 9);
	CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & BIT(8), BIT(8));
	skip();
	CHECK_EQ(run(), EXIT_REASON_EXCEPTION_NMI);
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 1);
	CHECK_EQ(vmcs_readl(EXIT_QUALIFICATION) & BIT(14), BIT(14));
	CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 12);
}

/*
 * An exit taken in place needs a run without breakpoints (cpu.h:
 * cont_run, kept by cpu_dr7_changed()): after the host enables an
 * instruction breakpoint (GUEST_DR7, DR0) between two exits of a block
 * whose exits were taken in place, the next CPUID's VMRESUME must deliver
 * it at the NOP after that CPUID.  Fails if that exit was taken in place
 * with the breakpoint ignored (the block runs on to the HLT); then the
 * breakpoint disabled again by the host: the run goes on to the HLT.
 */
static void exit_in_place_breakpoint(void)
{
	GUEST(0x0f, 0xa2, 0x90,			/* cpuid; nop */
	      0x0f, 0xa2, 0x90,			/* cpuid; nop */
	      0x0f, 0xa2, 0x90, 0xf4);		/* cpuid; nop; hlt */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	vmcs_write32(EXCEPTION_BITMAP, BIT(1));
	set_debugreg(CODE + 8, 0);
	vmcs_writel(GUEST_DR7, 0x401);			/* L0, execute */
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	skip();
	CHECK_EXIT(EXIT_REASON_EXCEPTION_NMI, 0x1, 0, CODE + 8);	/* B0 */
	CHECK_EQ(vmcs_read32(VM_EXIT_INTR_INFO), INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 1);
	/* Again from the start, the breakpoint off: the CPUIDs exit, then the HLT. */
	vmcs_writel(GUEST_DR7, 0x400);
	vmcs_writel(GUEST_RIP, CODE);
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 3);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 6);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 9);
	set_debugreg(0, 0);
}

/*
 * An exit taken in place saves RFLAGS last (vmexit.c: cpu_exit_flags()),
 * the arithmetic flags computed from the last flag-setting instruction,
 * into GUEST_RFLAGS and into the core, where the run goes on with them:
 * CMP (CF, AF, SF) before one CPUID and XOR (ZF, PF) before the next, each
 * followed by the Jcc that reads them, three passes of the loop.  Fails
 * if the VMCS or the core missed the flags (GUEST_RFLAGS, or the Jcc falls
 * into a HLT); then the same after a writer of the other guest state (MOV
 * to DS: the exit's full save, nv_written).
 */
static void exit_in_place_flags(void)
{
	static const u8 code[] = {
		0xb8, 0x05, 0x00, 0x00, 0x00,	/* 0: mov eax, 5 */
		0x83, 0xf8, 0x07,		/* 5: cmp eax, 7 */
		0x0f, 0xa2,			/* 8: cpuid */
		0x72, 0x01,			/* 10: jb 13 */
		0xf4,				/* 12: hlt */
		0x31, 0xc9,			/* 13: xor ecx, ecx */
		0x0f, 0xa2,			/* 15: cpuid */
		0x74, 0x01,			/* 17: jz 20 */
		0xf4,				/* 19: hlt */
		0x8c, 0xda,			/* 20: mov edx, ds */
		0x85, 0xff,			/* 22: test edi, edi */
		0x74, 0x02,			/* 24: jz 28 */
		0x8e, 0xda,			/* 26: mov ds, edx */
		0xeb, 0xe2,			/* 28: jmp 0 */
	};
	const u64 arith = 0x8d5;

	guest(code, sizeof(code), false);
	setup_gdt();
	env.regs[RDI] = 0;
	for (int pass = 0; pass < 6; pass++) {
		/* the last three passes reload DS before the loop's CMP */
		if (pass == 3)
			env.regs[RDI] = 1;
		CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 8);
		CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & arith, 0x91);	/* CF AF SF */
		skip();
		CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 15);
		CHECK_EQ(vmcs_readl(GUEST_RFLAGS) & arith, 0x44);	/* ZF PF */
		skip();
	}
}

/*
 * An exit taken in place needs a run without a budget (cpu.h: cont_run,
 * kept by run()): a CPUID exit while the VMX-preemption timer counts is
 * a full exit, which saves the timer's value ("save VMX-preemption timer
 * value"): less than at entry, not 0.  Fails if the exit was taken in
 * place (it saves no timer value: the VMCS keeps the one written).
 */
static void exit_with_timer_not_in_place(void)
{
	u32 t;

	GUEST(0x0f, 0xa2, 0x0f, 0xa2, 0x0f, 0xa2, 0xf4);	/* cpuid (x3); hlt */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, true);
	ctl_set(VM_EXIT_CONTROLS, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, true);
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 1u << 30);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 2);
	t = vmcs_read32(VMX_PREEMPTION_TIMER_VALUE);
	CHECK(t < 1u << 30 && t > 0, "timer value %#x", t);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 4);
	CHECK(vmcs_read32(VMX_PREEMPTION_TIMER_VALUE) <= t, "timer value %#x after %#x", vmcs_read32(VMX_PREEMPTION_TIMER_VALUE), t);
	/* the timer counts on from the value saved: 0 expires before the HLT */
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, 0);
	skip();
	CHECK_EXIT(EXIT_REASON_PREEMPTION_TIMER, 0, 0, CODE + 6);
	ctl_set(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER, false);
	ctl_set(VM_EXIT_CONTROLS, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, false);
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 6);
}

/*
 * The root CRs an exit taken in place loads stay in the VMCS's host-state
 * area until root operation reads one (vmx_cpu.h: root_cr_lazy): a read
 * after the exit gives HOST_CR0/3/4 as they were at the exit, also after
 * a VMWRITE of HOST_CR4 (which applies at the next exit) and after a
 * VMPTRLD of another VMCS.  Fails if a read saw the old root values or the
 * VMCS's later ones.
 */
static void root_crs_after_exit_in_place(void)
{
	const u64 cr0 = 0x80050033ul, cr3 = 0x1000, cr4 = 0x20a0;
	u8 *other = test_pages(1);

	GUEST(0x0f, 0xa2, 0x0f, 0xa2, 0x0f, 0xa2, 0xf4);	/* cpuid (x3); hlt */
	vmcs_writel(HOST_CR3, 0x5000);
	vmcs_writel(HOST_CR4, cr4 | BIT(18));			/* OSXSAVE */
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE);
	vmcs_writel(HOST_CR4, cr4);
	CHECK_EQ(__read_cr4(), cr4 | BIT(18));
	CHECK_EQ(__read_cr3(), 0x5000);
	CHECK_EQ(read_cr0(), cr0);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 2);
	CHECK_EQ(__read_cr4(), cr4);
	/* Another VMCS current: the roots are still the last exit's. */
	vmcs_writel(HOST_CR3, cr3);
	skip();
	CHECK_EXIT(EXIT_REASON_CPUID, 0, 2, CODE + 4);
	*(u32 *)other = *(u32 *)env.vmcs;			/* the revision identifier */
	CHECK_EQ(vmcs_load(other), VMX_SUCCEED);
	CHECK_EQ(__read_cr3(), cr3);
	CHECK_EQ(__read_cr4(), cr4);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	skip();
	CHECK_EXIT(EXIT_REASON_HLT, 0, 1, CODE + 6);
	CHECK_EQ(__read_cr3(), cr3);
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	mem = aligned_alloc(4096, MEM_SIZE);
	io_a = test_pages(1);
	io_b = test_pages(1);
	msr_bm = test_pages(1);
	RUN_TEST(hlt_exit);
	RUN_TEST(cpuid_exit_and_gprs);
	RUN_TEST(io_exits);
	RUN_TEST(io_exit_ways);
	RUN_TEST(msr_exits);
	RUN_TEST(cr_exits);
	RUN_TEST(dr_exits);
	RUN_TEST(simple_instruction_exits);
	RUN_TEST(rdtsc_offset);
	RUN_TEST(rdtsc_scaling);
	RUN_TEST(invlpg_exit);
	RUN_TEST(invpcid_exit);
	RUN_TEST(descriptor_table_exits);
	RUN_TEST(vmx_insn_info_exit);
	RUN_TEST(exception_exits);
	RUN_TEST(debug_exception_exits);
	RUN_TEST(pending_debug_exceptions);
	RUN_TEST(triple_fault_exit);
	RUN_TEST(ept_exits);
	RUN_TEST(tpr_shadow);
	RUN_TEST(pml);
	RUN_TEST(interrupt_window);
	RUN_TEST(nmi_window);
	RUN_TEST(hlt_activity_at_entry);
	RUN_TEST(external_interrupt);
	RUN_TEST(host_nmi);
	RUN_TEST(preemption_timer);
	RUN_TEST(preemption_timer_zero_after_injection);
	RUN_TEST(event_injection);
	RUN_TEST(injected_event_and_exception_bitmap);
	RUN_TEST(nmi_injection_virtual_nmis);
	RUN_TEST(idt_vectoring);
	RUN_TEST(entry_msr_load);
	RUN_TEST(real_mode_guest);
	RUN_TEST(long_mode_guest);
	RUN_TEST(ept_paging_structure_violation);
	RUN_TEST(exits_are_transparent);
	RUN_TEST(shadow_paging_without_ept);
	RUN_TEST(vmx_memory_operand_exits);
	RUN_TEST(unswitched_registers);
	RUN_TEST(pae_pdptes);
	RUN_TEST(vpid_tlb);
	RUN_TEST(two_vmcs_one_processor);
	RUN_TEST(task_switch_exits);
	RUN_TEST(kvm_reset_state_guest);
	RUN_TEST(host_state_after_exit);
	RUN_TEST(resume_sees_root_changes);
	RUN_TEST(resume_in_handler_tsc);
	RUN_TEST(exit_saves_guest_writes);
	RUN_TEST(exit_msr_store_list_between_exits);
	RUN_TEST(v86_entered_by_guest);
	RUN_TEST(exit_after_unchanged_write);
	RUN_TEST(resume_in_handler);
	RUN_TEST(resume_in_place_sees_vmwrites);
	RUN_TEST(root_crs_after_exit_in_place);
	RUN_TEST(exit_in_place_conditions);
	RUN_TEST(exit_in_place_breakpoint);
	RUN_TEST(exit_in_place_flags);
	RUN_TEST(exit_with_timer_not_in_place);
	env_teardown(&env);
	free(mem);
	return 0;
}
