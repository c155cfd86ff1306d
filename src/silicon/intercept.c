// SPDX-License-Identifier: MIT
/*
 * intercept.c: VM-exit decisions of VMX non-root operation.
 *
 * Note, the processor core calls these only when c->vmx_nonroot is true
 * (see intercept.h for the list and the calling convention).  This version
 * is the root-mode behaviour: nothing exits.  FIXME: the VMX engineer
 * (vmcs.*, vmentry.c, vmexit.c, ept.c) fills in each decision from the
 * VMCS execution controls, MSR/I/O bitmaps, CR masks and the exception
 * bitmap (SDM 26.1-26.2), and vmx_instruction() with the VMX instructions.
 */
#include "silicon/cpu.h"
#include "silicon/intercept.h"

bool vmx_intercept_cpuid(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_hlt(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_invlpg(struct cpu *c, const struct insn *i, u64 lin) { return false; }
bool vmx_intercept_rdtsc(struct cpu *c, const struct insn *i, bool rdtscp) { return false; }
bool vmx_intercept_rdpmc(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_msr(struct cpu *c, const struct insn *i, u32 msr, bool write) { return false; }
bool vmx_intercept_io(struct cpu *c, const struct insn *i, u16 port, int size, bool in,
		      bool string) { return false; }
bool vmx_intercept_cr_write(struct cpu *c, const struct insn *i, int cr, u64 val) { return false; }
bool vmx_intercept_cr_read(struct cpu *c, const struct insn *i, int cr) { return false; }
bool vmx_intercept_clts(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_lmsw(struct cpu *c, const struct insn *i, u16 val) { return false; }
bool vmx_intercept_dr(struct cpu *c, const struct insn *i, int dr, bool write) { return false; }
bool vmx_intercept_invd(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_wbinvd(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_monitor(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_mwait(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_pause(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_xsetbv(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_invpcid(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_rdrand(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_desc_table(struct cpu *c, const struct insn *i) { return false; }
bool vmx_intercept_exception(struct cpu *c, int vec, bool has_err, u32 err) { return false; }
bool vmx_intercept_extint(struct cpu *c) { return false; }
bool vmx_intercept_nmi(struct cpu *c) { return false; }
bool vmx_intercept_triple_fault(struct cpu *c) { return false; }
bool vmx_intercept_windows(struct cpu *c) { return false; }

void vmx_instruction(struct cpu *c, const struct insn *i, enum vmx_insn_kind kind)
{
	/* VMX is not offered (CPUID.1:ECX.VMX = 0, CR4.VMXE cannot be set). */
	cpu_ud(c);
}
