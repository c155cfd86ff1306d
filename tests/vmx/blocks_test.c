// SPDX-License-Identifier: MIT
/*
 * The processor's block loop under VMX (src/silicon/cpu.c run_block(),
 * resume()): state a VM exit's handler changes between an exit in the
 * middle of a block and the VMRESUME that goes on in that block must be
 * seen by the instructions after it, whatever the block precomputed.
 *
 * Guest code is hand-assembled 32-bit protected-mode (flat, no paging)
 * machine code at GPA 0x1000, as in exits_test.c.
 */
#include "../test.h"
#include "vmx_util.h"
#include "silicon/silicon.h"
#include "silicon/vmx_cpu.h"

#define MEM_SIZE (2u << 20)
#define CODE 0x1000u
#define RCX 1
#define RBX 3
#define RSI 6

static struct vmx_env env;
static u8 *mem;
static u64 *pml4;

static void guest(const void *code, size_t len)
{
	if (!pml4)
		pml4 = test_pages(4);
	memset(mem, 0, MEM_SIZE);
	memcpy(mem + CODE, code, len);
	test_ept_identity(pml4, mem, MEM_SIZE / 4096);
	CHECK_EQ(__invept(VMX_EPT_EXTENT_CONTEXT, test_eptp_of(pml4, true), 0), VMX_SUCCEED);
	memset(env.regs, 0, sizeof(env.regs));
	CHECK_EQ(vmcs_clear(env.vmcs), VMX_SUCCEED);
	CHECK_EQ(vmcs_load(env.vmcs), VMX_SUCCEED);
	vmcs_setup_guest(&env, test_eptp_of(pml4, true), false, CODE);
}

static u32 run(void)
{
	bool launched = ((u32 *)env.vmcs)[2] != 0;

	return vmx_vcpu_enter(env.regs, launched);
}

static void skip(void)
{
	vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/*
 * DEC after an ADD in its block takes CF from the ADD's lazy flags when
 * they are still the ADD's (ops_alu.c INCDEC_AFTER); an RDTSC exit between
 * them whose handler clears (sets) CF in GUEST_RFLAGS makes DEC keep the
 * CF written, as JB after it shows.
 */
static void incdec_cf_after_exit(void)
{
	static const u8 code[] = {
		0x01, 0xcb,		/* add %ecx, %ebx */
		0x0f, 0x31,		/* rdtsc (exits) */
		0xff, 0xc9,		/* dec %ecx */
		0x72, 0x01,		/* jb +1 */
		0xf4,			/* CODE + 8: CF clear */
		0xf4,			/* CODE + 9: CF set */
	};

	for (int set = 0; set < 2; set++) {
		for (int loop = 0; loop < 3; loop++) {
			u64 fl;

			guest(code, sizeof(code));
			__vmcs_writel(CPU_BASED_VM_EXEC_CONTROL,
				      __vmcs_readl(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_RDTSC_EXITING);
			/* set: 1 + 2 (no carry), then CF set by the handler; else 1 + ~0 (carry) */
			env.regs[RBX] = set ? 2 : ~0u;
			env.regs[RCX] = 1;
			CHECK_EQ(run(), EXIT_REASON_RDTSC);
			CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 2);
			fl = vmcs_readl(GUEST_RFLAGS);
			CHECK_EQ(fl & 1, set ? 0 : 1);
			vmcs_writel(GUEST_RFLAGS, set ? fl | 1 : fl & ~1ul);
			skip();
			CHECK_EQ(run(), EXIT_REASON_HLT);
			CHECK_EQ(vmcs_readl(GUEST_RIP), set ? CODE + 9 : CODE + 8);
			CHECK_EQ(env.regs[RCX], 0);
		}
	}
}

/*
 * IN, OUT, HLT and CPUID end a segment of their block, not the block
 * (cpu.c run_block()): an exit taken in place there is parked at the
 * segment's end and the VMRESUME after it goes on into the rest of the
 * block.  The block below has four segments; the host takes each exit
 * and, in the variants, changes between exit and VMRESUME what the rest
 * of the block must see:
 *   0: nothing (each VMRESUME goes on in the block);
 *   1: a register the next instruction reads (KVM_SET_REGS);
 *   2: a kick (an external-interrupt exit before the next instruction,
 *      the parked run dropped and restarted there);
 *   3: a VMWRITE to a guest-state field (the full VMRESUME: the parked
 *      run dropped);
 *   4: the code after the OUT (rewritten from the host, which says so:
 *      cpu_code_written()), which the VMRESUME must run as it is now.
 * The guest's instruction count at the last exit is every instruction
 * but the exiting ones, whichever way the runs went.  Each check fails if
 * the rest of the block ignored the change or the count lost track.
 */
static void segment_exits(void)
{
	static const u8 code[] = {
		0x0f, 0xa2,		/* cpuid */
		0x46,			/* CODE + 2: inc %esi */
		0xe6, 0x80,		/* out %al, $0x80 */
		0x46,			/* CODE + 5: inc %esi */
		0x0f, 0xa2,		/* cpuid */
		0x46,			/* CODE + 8: inc %esi */
		0xeb, 0x00,		/* jmp CODE + 11 (the block's end) */
		0xf4,			/* CODE + 11: hlt */
	};
	struct cpu *c = env.lp->cpu;

	for (int var = 0; var < 5; var++) {
		u64 n0, rsi = 3;

		guest(code, sizeof(code));
		n0 = cpu_instructions(c);
		CHECK_EQ(run(), EXIT_REASON_CPUID);
		CHECK_EQ(vmcs_readl(GUEST_RIP), CODE);
		skip();
		CHECK_EQ(run(), EXIT_REASON_IO_INSTRUCTION);
		CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 3);
		CHECK_EQ(env.regs[RSI], 1);
		skip();
		if (var == 1) {
			env.regs[RSI] += 10;
			rsi += 10;
		} else if (var == 2) {
			vmx_cpu_kick(env.lp);
			CHECK_EQ(run(), EXIT_REASON_EXTERNAL_INTERRUPT);
			CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 5);
			CHECK_EQ(env.regs[RSI], 1);
		} else if (var == 3) {
			vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS));
		} else if (var == 4) {
			mem[CODE + 5] = 0x4e;	/* dec %esi */
			cpu_code_written(mem + CODE + 5, 1);
			rsi -= 2;
		}
		CHECK_EQ(run(), EXIT_REASON_CPUID);
		CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 6);
		CHECK_EQ(env.regs[RSI], rsi - 1);
		skip();
		CHECK_EQ(run(), EXIT_REASON_HLT);
		CHECK_EQ(vmcs_readl(GUEST_RIP), CODE + 11);
		CHECK_EQ(env.regs[RSI], rsi);
		/* INC x3 and JMP: the CPUIDs and the OUT were completed by the host */
		CHECK_EQ(cpu_instructions(c) - n0, 4);
		if (var == 4)
			cpu_code_written(mem + CODE + 5, 1);	/* guest() rewrites it */
	}
}

int main(void)
{
	if (env_setup(&env)) {
		printf("FAIL vmx-env: setup failed\n");
		return 1;
	}
	mem = aligned_alloc(4096, MEM_SIZE);
	RUN_TEST(incdec_cf_after_exit);
	RUN_TEST(segment_exits);
	return test_cases_failed ? 1 : 0;
}
