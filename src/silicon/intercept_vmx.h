/* SPDX-License-Identifier: MIT */
/*
 * VMX non-root exit decisions (intercept.c), used by the hooks the
 * execution core's instructions call.
 */
#ifndef SILICON_INTERCEPT_VMX_H
#define SILICON_INTERCEPT_VMX_H

#include "silicon/cpu.h"
#include "silicon/vmx_cpu.h"

bool vmx_io_exits(const struct vmx_ctls *c, u16 port, int size);
bool vmx_msr_exits(const struct vmx_ctls *c, u32 msr, bool write);
bool vmx_exception_exits(const struct vmx_ctls *c, int vector, u32 error_code);
u64 vmx_cr0_read(const struct vmx_ctls *c, u64 cr0);
u64 vmx_cr4_read(const struct vmx_ctls *c, u64 cr4);
bool vmx_cr0_write_exits(const struct vmx_ctls *c, u64 val);
bool vmx_cr4_write_exits(const struct vmx_ctls *c, u64 val);
bool vmx_clts_exits(const struct vmx_ctls *c);
bool vmx_lmsw_exits(const struct vmx_ctls *c, u16 src);
bool vmx_cr3_write_exits(const struct vmx_ctls *c, u64 val);
u64 vmx_guest_tsc(const struct vmx_ctls *c, u64 host_tsc);
u64 vmx_io_qual(u16 port, int size, bool in, bool string, bool rep, bool imm);

/* vmx_exit_suspend() in the handler's frames, then the count as if the instruction completed. */
void vmx_exit_suspend_cont(struct cpu *c, struct vmx_cpu *v);

/*
 * vmexit.c: the park of an instruction exit whose information is written
 * (cpu_exit_prepare_park() + vmx_exit_suspend_begin(), the conditions
 * tested once): true if parked, false with nothing done.
 */
bool vmx_exit_park(struct cpu *c, struct vmx_cpu *v, const struct insn *i);
/*
 * vmexit.c: an instruction exit with no information but the reason, the
 * qualification and the length (CPUID, HLT, IN, OUT), written and taken
 * in place as vmx_exit_in_place() takes it.  Return: true.
 */
bool vmx_exit_insn_cont(struct cpu *c, const struct insn *i, u32 reason, u64 qual);

/*
 * An instruction exit the run may go on after (the host completes the
 * instruction), its information written (vmx_exit_insn_direct()), taken
 * on the processor's stack (v->on_core) at @i: parked at @i's block end
 * (the handler returns, and the block loop switches: cpu.c cpu_park()),
 * else suspended in the handler's frames (the rare way: decode and the
 * MMIO store's cut make such exits end their block), else taken by
 * unwinding (cpu_exit_now()).  Return: true, the instruction is done.
 */
static __always_inline bool vmx_exit_in_place(struct cpu *c, struct vmx_cpu *v, const struct insn *i)
{
	if (likely(vmx_exit_park(c, v, i)))
		return true;
	if (!cpu_exit_prepare_cont(c))
		cpu_exit_now(c, CPU_EXIT_VMEXIT);
	vmx_exit_suspend_cont(c, v);
	return true;
}

#endif
