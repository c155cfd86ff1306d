/* SPDX-License-Identifier: MIT */
/*
 * intercept.h: the points where VMX non-root operation may cause a VM exit
 * (SDM vol. 3 chapter 26, "VMX non-root operation").
 *
 * Every instruction or event below calls its hook before it has any
 * architectural effect, in the shape
 *
 *	if (c->vmx_nonroot && vmx_intercept_cpuid(c, i))
 *		return;
 *
 * A hook returns true when it has caused a VM exit (normally it does not
 * return at all: it ends with cpu_exit_now(c, CPU_EXIT_VMEXIT) after saving
 * the guest state, so "return" is only a formality).  It returns false when
 * the instruction executes normally.  In root operation (vmx_nonroot false)
 * no hook is called.
 *
 * The hooks are implemented in intercept.c.  The processor core ships them
 * with the root-mode answer ("no exit"); the VMX engineer (vmcs.*,
 * vmentry.c, vmexit.c, ept.c) fills in the non-root decisions from the VMCS
 * controls, bitmaps and exit qualifications.  @i is the decoded instruction
 * (length, operands) for the VM-exit instruction length/information fields;
 * it is NULL for events.
 *
 * Hook list (cause -> hook):
 *   CPUID                         vmx_intercept_cpuid
 *   HLT                           vmx_intercept_hlt
 *   INVLPG                        vmx_intercept_invlpg
 *   RDTSC / RDTSCP                vmx_intercept_rdtsc
 *   RDPMC                         vmx_intercept_rdpmc
 *   RDMSR / WRMSR                 vmx_intercept_msr (MSR bitmaps)
 *   IN/OUT/INS/OUTS               vmx_intercept_io (I/O bitmaps)
 *   MOV to CR0/CR3/CR4/CR8        vmx_intercept_cr_write (CR masks, CR3 targets)
 *   MOV from CR3/CR8              vmx_intercept_cr_read
 *   CLTS                          vmx_intercept_clts
 *   LMSW                          vmx_intercept_lmsw
 *   MOV DR                        vmx_intercept_dr
 *   INVD / WBINVD                 vmx_intercept_invd / vmx_intercept_wbinvd
 *   MONITOR / MWAIT               vmx_intercept_monitor / vmx_intercept_mwait
 *   PAUSE                         vmx_intercept_pause
 *   XSETBV                        vmx_intercept_xsetbv
 *   INVPCID                       vmx_intercept_invpcid
 *   RDRAND / RDSEED               vmx_intercept_rdrand
 *   LGDT/LIDT/LLDT/LTR/SGDT/...   vmx_intercept_desc_table
 *   VMCALL and VMX instructions   vmx_instruction (always exit in non-root;
 *                                 in root they execute: VMXON, VMPTRLD, ...)
 *   exception (bitmap, #PF mask)  vmx_intercept_exception
 *   external interrupt            vmx_intercept_extint
 *   NMI                           vmx_intercept_nmi
 *   triple fault                  vmx_intercept_triple_fault
 *   interrupt / NMI window        vmx_intercept_windows (at each boundary
 *                                 where the guest could take an event)
 *   guest-physical translation    cpu->phys_xlate (EPT walker, ept.c)
 */
#ifndef USERKVM_SILICON_INTERCEPT_H
#define USERKVM_SILICON_INTERCEPT_H

#include "util/types.h"

struct cpu;
struct insn;

bool vmx_intercept_cpuid(struct cpu *c, const struct insn *i);
bool vmx_intercept_hlt(struct cpu *c, const struct insn *i);
bool vmx_intercept_invlpg(struct cpu *c, const struct insn *i, u64 lin);
bool vmx_intercept_rdtsc(struct cpu *c, const struct insn *i, bool rdtscp);
bool vmx_intercept_rdpmc(struct cpu *c, const struct insn *i);
bool vmx_intercept_msr(struct cpu *c, const struct insn *i, u32 msr, bool write);
bool vmx_intercept_io(struct cpu *c, const struct insn *i, u16 port, int size, bool in,
		      bool string);
bool vmx_intercept_cr_write(struct cpu *c, const struct insn *i, int cr, u64 val);
bool vmx_intercept_cr_read(struct cpu *c, const struct insn *i, int cr);
bool vmx_intercept_clts(struct cpu *c, const struct insn *i);
bool vmx_intercept_lmsw(struct cpu *c, const struct insn *i, u16 val);
bool vmx_intercept_dr(struct cpu *c, const struct insn *i, int dr, bool write);
bool vmx_intercept_invd(struct cpu *c, const struct insn *i);
bool vmx_intercept_wbinvd(struct cpu *c, const struct insn *i);
bool vmx_intercept_monitor(struct cpu *c, const struct insn *i);
bool vmx_intercept_mwait(struct cpu *c, const struct insn *i);
bool vmx_intercept_pause(struct cpu *c, const struct insn *i);
bool vmx_intercept_xsetbv(struct cpu *c, const struct insn *i);
bool vmx_intercept_invpcid(struct cpu *c, const struct insn *i);
bool vmx_intercept_rdrand(struct cpu *c, const struct insn *i);
bool vmx_intercept_desc_table(struct cpu *c, const struct insn *i);
/*
 * A task switch (SDM 26.1.2: unconditional VM exit, before any part of the
 * switch): @tss_sel is the new TSS selector (from the TSS descriptor, the
 * task gate, or the back link for IRET), @source 0 CALL, 1 IRET, 2 JMP,
 * 3 task gate in the IDT (@i NULL).  Does not return in non-root operation.
 */
#define VMX_TASK_SWITCH_CALL	0
#define VMX_TASK_SWITCH_IRET	1
#define VMX_TASK_SWITCH_JMP	2
#define VMX_TASK_SWITCH_GATE	3
bool vmx_intercept_task_switch(struct cpu *c, const struct insn *i, u16 tss_sel, int source);
/* An exception about to be delivered (vector, error code). */
bool vmx_intercept_exception(struct cpu *c, int vec, bool has_err, u32 err);
/* INTR is asserted and the guest is interruptible (or "external-interrupt exiting"). */
bool vmx_intercept_extint(struct cpu *c);
bool vmx_intercept_nmi(struct cpu *c);
bool vmx_intercept_triple_fault(struct cpu *c);
/*
 * CR0/CR4 guest/host masks (SDM 26.3) where no exit happens: MOV from
 * CR0/CR4 and SMSW read the read shadow for host-owned bits; MOV to
 * CR0/CR4, LMSW and CLTS leave host-owned bits unchanged, so the core
 * writes vmx_cr_write_value(c, cr, value) instead of the value.
 */
u64 vmx_cr_read_shadow(struct cpu *c, int cr, u64 val);
u64 vmx_cr_write_value(struct cpu *c, int cr, u64 val);
/* At an instruction boundary: interrupt-window / NMI-window exiting. */
bool vmx_intercept_windows(struct cpu *c);

/* The VMX instructions, by kind. */
enum vmx_insn_kind {
	VMX_INSN_VMCALL, VMX_INSN_VMLAUNCH, VMX_INSN_VMRESUME, VMX_INSN_VMXOFF,
	VMX_INSN_VMXON, VMX_INSN_VMCLEAR, VMX_INSN_VMPTRLD, VMX_INSN_VMPTRST,
	VMX_INSN_VMREAD, VMX_INSN_VMWRITE, VMX_INSN_INVEPT, VMX_INSN_INVVPID,
	VMX_INSN_VMFUNC,
};
/*
 * Execute a VMX instruction: in non-root operation it causes a VM exit; in
 * root operation it performs the instruction.  The core's version raises
 * #UD (CR4.VMXE clear / VMX not implemented yet).
 */
void vmx_instruction(struct cpu *c, const struct insn *i, enum vmx_insn_kind kind);

#endif
