// SPDX-License-Identifier: MIT
/*
 * The per-cause VM-exit decisions of VMX non-root operation (SDM Vol. 3
 * 26.1-26.3): which instructions and events exit, given the controls
 * cached at VM entry, and what a guest sees instead when they do not (CR
 * read shadows, TSC offset).  These are pure functions of struct vmx_ctls
 * and guest memory KVM owns (bitmaps); the execution core calls them from
 * its instructions through the hooks of intercept.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include "silicon/cpu.h"
#include "silicon/ept.h"
#include "silicon/intercept.h"
#include "silicon/intercept_vmx.h"
#include "silicon/vmx_mmio.h"

/* SDM 26.1.3: I/O bitmaps A (ports 0-7fff) and B (8000-ffff). */
static __always_inline bool io_exits(const struct vmx_ctls *c, u16 port, int size)
{
	if (!(c->proc & CPU_BASED_USE_IO_BITMAPS))
		return c->proc & CPU_BASED_UNCOND_IO_EXITING;
	/* The common case: the access's bits in one byte of one bitmap. */
	if ((port & 7) + size <= 8) {
		const u8 *bm = vmx_ptr(port < 0x8000 ? c->io_bitmap_a : c->io_bitmap_b);

		return (bm[(port & 0x7fff) >> 3] >> (port & 7)) & ((1u << size) - 1);
	}
	for (int i = 0; i < size; i++) {
		u32 p = (u32)port + i;
		const u8 *bm;

		/* An access that wraps past port ffff exits (SDM 26.1.3). */
		if (p > 0xffff)
			return true;
		bm = vmx_ptr(p < 0x8000 ? c->io_bitmap_a : c->io_bitmap_b);
		if (bm[(p & 0x7fff) >> 3] & (1u << (p & 7)))
			return true;
	}
	return false;
}

bool vmx_io_exits(const struct vmx_ctls *c, u16 port, int size)
{
	return io_exits(c, port, size);
}

/*
 * SDM 26.1.3 / 25.6.9: the MSR bitmap is four 1 KiB bitmaps: read low
 * (MSRs 0-1fff), read high (c0000000-c0001fff), write low, write high.
 * MSRs outside both ranges always exit.
 */
bool vmx_msr_exits(const struct vmx_ctls *c, u32 msr, bool write)
{
	const u8 *bm;
	u32 base;

	if (!(c->proc & CPU_BASED_USE_MSR_BITMAPS))
		return true;
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		base = 1024;
	else
		return true;
	if (write)
		base += 2048;
	msr &= 0x1fff;
	bm = vmx_ptr(c->msr_bitmap);
	return bm[base + (msr >> 3)] & (1u << (msr & 7));
}

/* SDM 26.2: exception bitmap, and for #PF the error-code mask/match. */
bool vmx_exception_exits(const struct vmx_ctls *c, int vector, u32 error_code)
{
	bool bit = c->exception_bitmap & BIT(vector);

	if (vector == 14) {
		bool match = (error_code & c->pfec_mask) == c->pfec_match;

		return bit ? match : !match;
	}
	return bit;
}

/* SDM 26.3 "changes to instruction behavior": MOV from CR0/CR4. */
u64 vmx_cr0_read(const struct vmx_ctls *c, u64 cr0)
{
	return (cr0 & ~c->cr0_mask) | (c->cr0_shadow & c->cr0_mask);
}

u64 vmx_cr4_read(const struct vmx_ctls *c, u64 cr4)
{
	return (cr4 & ~c->cr4_mask) | (c->cr4_shadow & c->cr4_mask);
}

/* MOV to CR0/CR4 exits if it would change a host-owned bit away from its shadow. */
bool vmx_cr0_write_exits(const struct vmx_ctls *c, u64 val)
{
	return ((val ^ c->cr0_shadow) & c->cr0_mask) != 0;
}

bool vmx_cr4_write_exits(const struct vmx_ctls *c, u64 val)
{
	return ((val ^ c->cr4_shadow) & c->cr4_mask) != 0;
}

/* CLTS exits if TS is host-owned and its shadow is 1 (SDM 26.1.3). */
bool vmx_clts_exits(const struct vmx_ctls *c)
{
	return (c->cr0_mask & BIT(3)) && (c->cr0_shadow & BIT(3));
}

/*
 * LMSW exits if it would set a host-owned PE whose shadow is 0, or change a
 * host-owned MP/EM/TS away from its shadow (LMSW cannot clear PE).
 */
bool vmx_lmsw_exits(const struct vmx_ctls *c, u16 src)
{
	if ((c->cr0_mask & BIT(0)) && (src & BIT(0)) && !(c->cr0_shadow & BIT(0)))
		return true;
	return ((src ^ c->cr0_shadow) & c->cr0_mask & 0xe) != 0;
}

bool vmx_cr3_write_exits(const struct vmx_ctls *c, u64 val)
{
	if (!(c->proc & CPU_BASED_CR3_LOAD_EXITING))
		return false;
	for (u32 i = 0; i < c->cr3_target_count && i < 4; i++)
		if (c->cr3_target[i] == val)
			return false;
	return true;
}

/* The TSC a guest reads with RDTSC/RDTSCP/RDMSR(IA32_TSC), SDM 26.3. */
u64 vmx_guest_tsc(const struct vmx_ctls *c, u64 host_tsc)
{
	if (!(c->proc & CPU_BASED_USE_TSC_OFFSETTING))
		return host_tsc;
	if ((c->proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    (c->proc2 & SECONDARY_EXEC_TSC_SCALING))
		host_tsc = (u64)(((unsigned __int128)host_tsc * c->tsc_multiplier) >> 48);
	return host_tsc + c->tsc_offset;
}

/* Exit qualification of an I/O instruction (SDM Table 28-5). */
__attribute__((always_inline)) inline u64 vmx_io_qual(u16 port, int size, bool in, bool string,
							bool rep, bool imm)
{
	return (u64)(size - 1) | (in ? IO_QUAL_IN : 0) | (string ? IO_QUAL_STRING : 0) |
	       (rep ? IO_QUAL_REP : 0) | (imm ? IO_QUAL_IMM : 0) |
	       (u64)port << IO_QUAL_PORT_SHIFT;
}

/* ---- the hooks of intercept.h: non-root decisions and their VM exits ---- */

static struct vmx_cpu *vmx_of(struct cpu *c)
{
	return c->vmx;
}

/* An instruction-caused exit: length from the decoded instruction. */
static __attribute__((noreturn)) void insn_exit(struct cpu *c, const struct insn *i, u32 reason,
						 u64 qual, u32 info)
{
	vmx_exit_insn_direct(vmx_of(c), reason, qual, i ? i->len : 0, info);
	c->exit_insn = i;
	cpu_exit_now(c, CPU_EXIT_VMEXIT);
}

__attribute__((noinline)) void vmx_exit_suspend_cont(struct cpu *c, struct vmx_cpu *v)
{
	vmx_exit_suspend(v);
	/* VMRESUME goes on here (vmx_op_enter()): the instruction is done, the block goes on. */
	cpu_cont_resume(c);
}

/*
 * The same for an exit after which the instruction may be done by the
 * host (KVM skips it): taken in place when the run can go on after
 * VMRESUME (vmexit.c vmx_exit_insn_cont()), which then returns true.
 */
static __always_inline bool insn_exit_cont(struct cpu *c, const struct insn *i, u32 reason, u64 qual)
{
	return vmx_exit_insn_cont(c, i, reason, qual);
}

#define CTLS(c) (&vmx_of(c)->ctls)

static u32 vmx_insn_info(const struct insn *i);

bool vmx_intercept_cpuid(struct cpu *c, const struct insn *i)
{
	return insn_exit_cont(c, i, EXIT_REASON_CPUID, 0);	/* unconditional (26.1.2) */
}

bool vmx_intercept_hlt(struct cpu *c, const struct insn *i)
{
	if (CTLS(c)->proc & CPU_BASED_HLT_EXITING)
		return insn_exit_cont(c, i, EXIT_REASON_HLT, 0);
	return false;
}

bool vmx_intercept_invlpg(struct cpu *c, const struct insn *i, u64 lin)
{
	/* Qualification: the linear-address operand (Table 28-1). */
	if (CTLS(c)->proc & CPU_BASED_INVLPG_EXITING)
		insn_exit(c, i, EXIT_REASON_INVLPG, lin, 0);
	return false;
}

bool vmx_intercept_rdtsc(struct cpu *c, const struct insn *i, bool rdtscp)
{
	/* RDTSCP is #UD unless "enable RDTSCP" (26.3); RDTSC exiting covers both. */
	if (rdtscp && !(CTLS(c)->proc2 & SECONDARY_EXEC_ENABLE_RDTSCP))
		cpu_ud(c);
	if (CTLS(c)->proc & CPU_BASED_RDTSC_EXITING)
		insn_exit(c, i, rdtscp ? EXIT_REASON_RDTSCP : EXIT_REASON_RDTSC, 0, 0);
	return false;
}

bool vmx_intercept_rdpmc(struct cpu *c, const struct insn *i)
{
	if (CTLS(c)->proc & CPU_BASED_RDPMC_EXITING)
		insn_exit(c, i, EXIT_REASON_RDPMC, 0, 0);
	return false;
}

bool vmx_intercept_msr(struct cpu *c, const struct insn *i, u32 msr, bool write)
{
	if (vmx_msr_exits(CTLS(c), msr, write))
		insn_exit(c, i, write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ, 0, 0);
	return false;
}

/* Address size as VM-exit instruction information encodes it: 0 16, 1 32, 2 64. */
static u32 info_asz(const struct insn *i)
{
	return i->asz == SZ16 ? 0 : i->asz == SZ32 ? 1 : 2;
}

static __attribute__((noreturn, noinline)) void string_io_exit(struct cpu *c, const struct insn *i,
								 u16 port, int size, bool in);

/* vmx_intercept_io() but for its common case: no bitmaps, an access across bytes, INS/OUTS. */
static __attribute__((noinline)) bool intercept_io_slow(struct cpu *c, const struct insn *i, u16 port,
							int size, bool in, bool string)
{
	if (!io_exits(CTLS(c), port, size))
		return false;
	if (unlikely(string))
		string_io_exit(c, i, port, size, in);
	return insn_exit_cont(c, i, EXIT_REASON_IO_INSTRUCTION,
			      i->imm2 | (u64)port << IO_QUAL_PORT_SHIFT);
}

/*
 * The common cases inline, with no frame (each way on is a tail call): IN
 * or OUT under "unconditional I/O exiting" (KVM's way) or with its bits
 * in one byte of a bitmap (io_exits()).
 */
bool vmx_intercept_io(struct cpu *c, const struct insn *i, u16 port, int size, bool in,
		      bool string)
{
	const struct vmx_ctls *ctl = CTLS(c);
	u32 proc = ctl->proc;

	if (likely(!(proc & CPU_BASED_USE_IO_BITMAPS))) {
		if (!(proc & CPU_BASED_UNCOND_IO_EXITING))
			return false;
	} else if (unlikely((port & 7) + size > 8)) {
		return intercept_io_slow(c, i, port, size, in, string);
	} else {
		const u8 *bm = vmx_ptr(port < 0x8000 ? ctl->io_bitmap_a : ctl->io_bitmap_b);

		if (!((bm[(port & 0x7fff) >> 3] >> (port & 7)) & ((1u << size) - 1)))
			return false;
	}
	if (unlikely(string))
		return intercept_io_slow(c, i, port, size, in, string);
#ifdef USERKVM_DEBUG
	if (i->imm2 != vmx_io_qual(0, size, in, false, false, (i->op & 0xfc) == 0xe4))
		abort();	/* the decode's qualification is not the instruction's */
#endif
	/* E4-E7 take an immediate port, EC-EF DX: the rest is the decode's (optab_select()). */
	return insn_exit_cont(c, i, EXIT_REASON_IO_INSTRUCTION,
			      i->imm2 | (u64)port << IO_QUAL_PORT_SHIFT);
}

/*
 * INS/OUTS: the exit information has the string form's fields too
 * (IA32_VMX_BASIC[54]: address size and segment, Table 28-9; the linear
 * address is the memory operand's).
 */
static void string_io_exit(struct cpu *c, const struct insn *i, u16 port, int size, bool in)
{
	struct vmx_cpu *v = vmx_of(c);
	struct vmx_exit_info *x = &v->exit;
	int seg = in ? CPU_SEG_ES : i->seg;
	u64 off = in ? c->s.gpr[7] : c->s.gpr[6];

	off &= i->asz == SZ16 ? 0xffff : i->asz == SZ32 ? 0xffffffff : ~0ull;
	/* Field by field: gpa is read only when its valid bit says so (vmx_complete_exit()). */
	x->reason = EXIT_REASON_IO_INSTRUCTION;
	x->qual = vmx_io_qual(port, size, in, true, i->flags & IF_REP, false);
	x->gla = c->seg_base[seg] + off;
	x->gla_valid = true;
	x->gpa = 0;
	x->gpa_valid = false;
	x->intr_info = 0;
	x->intr_error = 0;
	x->insn_len = i->len;
	x->insn_info = info_asz(i) << 7 | (u32)seg << 15;
	v->exit_direct = false;
	c->exit_insn = i;
	cpu_exit_now(c, CPU_EXIT_VMEXIT);
}

/*
 * TPR shadow (SDM 30.3, 30.1.2): MOV to/from CR8 that does not exit uses
 * VTPR, byte 0x80 of the virtual-APIC page, instead of the processor's TPR.
 * The hook performs the instruction itself and returns true, so the core
 * does not touch CR8.  A write that drops VTPR[7:4] below the TPR threshold
 * is a trap-like TPR-below-threshold exit, after the instruction.
 */
static bool tpr_shadow_write(struct cpu *c, const struct insn *i, u64 val)
{
	const struct vmx_ctls *ctl = CTLS(c);
	u8 *vtpr = (u8 *)vmx_ptr(ctl->vapic) + 0x80;

	if (val >> 4)
		cpu_gp0(c);	/* MOV to CR8 with reserved bits set */
	vtpr[0] = (u8)(val << 4);
	vtpr[1] = vtpr[2] = vtpr[3] = 0;
	if ((vtpr[0] >> 4) < (ctl->tpr_threshold & 0xf)) {
		c->s.rip += i->len;
		vmx_exit_now(vmx_of(c), &(struct vmx_exit_info){ .reason = EXIT_REASON_TPR_BELOW_THRESHOLD });
	}
	return true;
}

bool vmx_intercept_cr_write(struct cpu *c, const struct insn *i, int cr, u64 val)
{
	const struct vmx_ctls *ctl = CTLS(c);
	bool exits;

	if (cr == 8 && !(ctl->proc & CPU_BASED_CR8_LOAD_EXITING) && (ctl->proc & CPU_BASED_TPR_SHADOW))
		return tpr_shadow_write(c, i, val);
	switch (cr) {
	case 0: exits = vmx_cr0_write_exits(ctl, val); break;
	case 3: exits = vmx_cr3_write_exits(ctl, val); break;
	case 4: exits = vmx_cr4_write_exits(ctl, val); break;
	case 8: exits = ctl->proc & CPU_BASED_CR8_LOAD_EXITING; break;
	default: exits = false; break;
	}
	if (exits)
		insn_exit(c, i, EXIT_REASON_CR_ACCESS, CR_QUAL(cr, CR_ACCESS_TYPE_MOV_TO_CR, i->rm), 0);
	return false;
}

bool vmx_intercept_cr_read(struct cpu *c, const struct insn *i, int cr)
{
	const struct vmx_ctls *ctl = CTLS(c);

	if ((cr == 3 && (ctl->proc & CPU_BASED_CR3_STORE_EXITING)) ||
	    (cr == 8 && (ctl->proc & CPU_BASED_CR8_STORE_EXITING)))
		insn_exit(c, i, EXIT_REASON_CR_ACCESS, CR_QUAL(cr, CR_ACCESS_TYPE_MOV_FROM_CR, i->rm), 0);
	if (cr == 8 && (ctl->proc & CPU_BASED_TPR_SHADOW)) {
		/* MOV from CR8 reads VTPR[7:4] (30.3); the core does not run it. */
		reg_write(c, i->rm, SZ64, ((const u8 *)vmx_ptr(ctl->vapic))[0x80] >> 4);
		return true;
	}
	return false;
}

u64 vmx_cr_read_shadow(struct cpu *c, int cr, u64 val)
{
	return cr == 0 ? vmx_cr0_read(CTLS(c), val) : vmx_cr4_read(CTLS(c), val);
}

/*
 * SDM 26.3: a write that does not exit leaves host-owned bits as they are,
 * and #GPs if CR0/CR4 would break the IA32_VMX_CR*_FIXED* rules of VMX
 * operation (CR0.PE/PG may be cleared only by an unrestricted guest).
 * Note, this is also what keeps a guest without EPT from turning paging
 * off and reaching host addresses directly.
 */
u64 vmx_cr_write_value(struct cpu *c, int cr, u64 val)
{
	const struct vmx_ctls *ctl = CTLS(c);
	u64 mask = cr == 0 ? ctl->cr0_mask : ctl->cr4_mask;
	u64 cur = cr == 0 ? c->s.cr0 : c->s.cr4;
	u64 r = (val & ~mask) | (cur & mask);
	u64 fixed0 = cr == 0 ? vmx_cr0_fixed0() : vmx_cr4_fixed0();
	u64 fixed1 = cr == 0 ? vmx_cr0_fixed1() : vmx_cr4_fixed1();

	if (cr == 0 && (ctl->proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST))
		fixed0 &= ~(u64)(CPU_CR0_PE | CPU_CR0_PG);
	if ((r & fixed0) != fixed0 || (r & ~fixed1 & 0xffffffffull))
		cpu_gp0(c);
	return r;
}

bool vmx_intercept_clts(struct cpu *c, const struct insn *i)
{
	if (vmx_clts_exits(CTLS(c)))
		insn_exit(c, i, EXIT_REASON_CR_ACCESS, CR_QUAL(0, CR_ACCESS_TYPE_CLTS, 0), 0);
	return false;
}

bool vmx_intercept_lmsw(struct cpu *c, const struct insn *i, u16 val)
{
	if (vmx_lmsw_exits(CTLS(c), val)) {
		u64 q = CR_QUAL(0, CR_ACCESS_TYPE_LMSW, 0) | CR_QUAL_LMSW_DATA(val);

		if (i->flags & IF_MEM) {
			q |= CR_QUAL_LMSW_MEM;
			vmx_exit_now(vmx_of(c), &(struct vmx_exit_info){
				.reason = EXIT_REASON_CR_ACCESS, .qual = q, .insn_len = i->len,
				.gla = c->seg_base[i->seg] + insn_ea(c, i), .gla_valid = true });
		}
		insn_exit(c, i, EXIT_REASON_CR_ACCESS, q, 0);	/* bits 11:8 are 0 for LMSW */
	}
	return false;
}

bool vmx_intercept_dr(struct cpu *c, const struct insn *i, int dr, bool write)
{
	if (CTLS(c)->proc & CPU_BASED_MOV_DR_EXITING)
		insn_exit(c, i, EXIT_REASON_DR_ACCESS,
			  (u64)dr | (write ? 0 : DEBUG_REG_ACCESS_TYPE) | (u64)i->rm << 8, 0);
	return false;
}

bool vmx_intercept_invd(struct cpu *c, const struct insn *i)
{
	insn_exit(c, i, EXIT_REASON_INVD, 0, 0);	/* unconditional */
}

bool vmx_intercept_wbinvd(struct cpu *c, const struct insn *i)
{
	if (CTLS(c)->proc2 & SECONDARY_EXEC_WBINVD_EXITING)
		insn_exit(c, i, EXIT_REASON_WBINVD, 0, 0);
	return false;
}

bool vmx_intercept_monitor(struct cpu *c, const struct insn *i)
{
	if (CTLS(c)->proc & CPU_BASED_MONITOR_EXITING)
		insn_exit(c, i, EXIT_REASON_MONITOR_INSTRUCTION, 0, 0);
	return false;
}

bool vmx_intercept_mwait(struct cpu *c, const struct insn *i)
{
	/* Qualification bit 0: a monitor is armed; this processor arms none. */
	if (CTLS(c)->proc & CPU_BASED_MWAIT_EXITING)
		insn_exit(c, i, EXIT_REASON_MWAIT_INSTRUCTION, 0, 0);
	return false;
}

bool vmx_intercept_pause(struct cpu *c, const struct insn *i)
{
	if (CTLS(c)->proc & CPU_BASED_PAUSE_EXITING)
		insn_exit(c, i, EXIT_REASON_PAUSE_INSTRUCTION, 0, 0);
	return false;
}

bool vmx_intercept_xsetbv(struct cpu *c, const struct insn *i)
{
	insn_exit(c, i, EXIT_REASON_XSETBV, 0, 0);	/* unconditional */
}

/*
 * INVPCID is #UD unless "enable INVPCID" (26.3); with it, "INVLPG exiting"
 * makes it exit (26.1.3) with the INVEPT/INVPCID/INVVPID instruction
 * information (Table 28-10) and the displacement as qualification.
 */
bool vmx_intercept_invpcid(struct cpu *c, const struct insn *i)
{
	if (!(CTLS(c)->proc2 & SECONDARY_EXEC_ENABLE_INVPCID))
		cpu_ud(c);
	if (CTLS(c)->proc & CPU_BASED_INVLPG_EXITING)
		insn_exit(c, i, EXIT_REASON_INVPCID, (u64)(s64)i->disp, vmx_insn_info(i));
	return false;
}

bool vmx_intercept_rdrand(struct cpu *c, const struct insn *i)
{
	return false;	/* RDRAND/RDSEED exiting are not offered */
}

/*
 * Descriptor-table exiting (26.1.3): 0F 01 /0-/3 (SGDT SIDT LGDT LIDT) exit
 * with reason 46, 0F 00 /0-/3 (SLDT STR LLDT LTR) with 47.  Instruction
 * information: Tables 28-10/28-11 (identity in bits 29:28); qualification:
 * the displacement of a memory operand.
 */
bool vmx_intercept_desc_table(struct cpu *c, const struct insn *i)
{
	bool gdt = i->op == 0x01;
	u32 info;

	if (!(CTLS(c)->proc2 & SECONDARY_EXEC_DESC))
		return false;
	info = info_asz(i) << 7 | (u32)(i->reg & 3) << 28;
	if (i->flags & IF_MEM) {
		info |= (u32)i->scale | (u32)i->seg << 15;
		info |= i->index == REG_NONE ? BIT(22) : (u32)i->index << 18;
		info |= i->base == REG_NONE ? BIT(27) : (u32)i->base << 23;
	} else {
		info |= BIT(10) | (u32)(i->rm & 0xf) << 3;
	}
	if (gdt && i->osz != SZ16)
		info |= BIT(11);	/* operand size 32 (64-bit mode reports 32 too) */
	insn_exit(c, i, gdt ? EXIT_REASON_GDTR_IDTR : EXIT_REASON_LDTR_TR,
		  (i->flags & IF_MEM) ? (u64)(s64)i->disp : 0, info);
}

/* Task switches always exit (26.1.2); qualification: Table 28-2. */
bool vmx_intercept_task_switch(struct cpu *c, const struct insn *i, u16 tss_sel, int source)
{
	insn_exit(c, i, EXIT_REASON_TASK_SWITCH, (u64)tss_sel | (u64)source << 30, 0);
}

bool vmx_intercept_exception(struct cpu *c, int vec, bool has_err, u32 err)
{
	struct vmx_exit_info x = { .reason = EXIT_REASON_EXCEPTION_NMI };
	/* #BP and #OF come only from INT3/INTO: software exceptions (Table 25-17). */
	u32 type = (vec == 3 || vec == 4) ? INTR_TYPE_SOFT_EXCEPTION : INTR_TYPE_HARD_EXCEPTION;

	/*
	 * The event VM entry injects is delivered without consulting the
	 * exception bitmap (SDM 27.6.1); exceptions raised while delivering it
	 * are checked as usual.
	 */
	if (vmx_of(c)->injecting && c->delivering < 0 &&
	    (vmx_of(c)->injected & INTR_INFO_VECTOR_MASK) == (u32)vec) {
		vmx_of(c)->injecting = false;
		return false;
	}
	if (vec < 0 || vec > 31 || !vmx_exception_exits(CTLS(c), vec, has_err ? err : 0))
		return false;
	x.intr_info = INTR_INFO_VALID_MASK | type | (u32)vec | (has_err ? INTR_INFO_DELIVER_CODE_MASK : 0);
	x.intr_error = has_err ? err : 0;
	if (type == INTR_TYPE_SOFT_EXCEPTION)
		x.insn_len = 1;
	/*
	 * A #PF exit's qualification is the faulting address (28.2.1), and
	 * CR2 keeps its old value: the #PF was not delivered (SDM 26.2 and
	 * the note on CR2 in 28.1).
	 */
	if (vec == 14) {
		x.qual = c->s.cr2;
		c->s.cr2 = c->cr2_before_pf;
	}
	/*
	 * A #DB exit's qualification has the DR6 bits of this exception
	 * (B3-B0, BS: Table 28-1), and DR6 keeps its old value (KVM re-injects
	 * the #DB with the qualification as payload).
	 */
	if (vec == 1) {
		x.qual = c->db_bits;
		c->s.dr[6] = c->dr6_before_db;
	}
	vmx_exit_now(vmx_of(c), &x);
}

bool vmx_intercept_extint(struct cpu *c)
{
	struct vmx_cpu *v = vmx_of(c);
	u32 info = 0;

	if (!(v->ctls.pin & PIN_BASED_EXT_INTR_MASK))
		return false;
	if (v->ctls.exit & VM_EXIT_ACK_INTR_ON_EXIT) {
		/* The interrupt is acknowledged: the line drops, the vector is reported. */
		cpu_set_intr(c, false);
		info = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | VMX_HOST_KICK_VECTOR;
	}
	vmx_exit_pending(v, &(struct vmx_exit_info){ .reason = EXIT_REASON_EXTERNAL_INTERRUPT,
						     .intr_info = info });
	return true;
}

bool vmx_intercept_nmi(struct cpu *c)
{
	struct vmx_cpu *v = vmx_of(c);

	if (!(v->ctls.pin & PIN_BASED_NMI_EXITING))
		return false;
	c->s.nmi_pending = 0;
	vmx_exit_pending(v, &(struct vmx_exit_info){ .reason = EXIT_REASON_EXCEPTION_NMI,
		.intr_info = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2 });
	return true;
}

bool vmx_intercept_triple_fault(struct cpu *c)
{
	vmx_exit_now(vmx_of(c), &(struct vmx_exit_info){ .reason = EXIT_REASON_TRIPLE_FAULT });
}

bool vmx_intercept_windows(struct cpu *c)
{
	struct vmx_cpu *v = vmx_of(c);
	const struct vmx_ctls *ctl = &v->ctls;

	/* SDM 26.7.5/26.7.6: NMI window before interrupt window. */
	if ((ctl->proc & CPU_BASED_NMI_WINDOW_EXITING) &&
	    !(c->s.interruptibility & GUEST_INTR_STATE_NMI)) {
		vmx_exit_pending(v, &(struct vmx_exit_info){ .reason = EXIT_REASON_NMI_WINDOW });
		return true;
	}
	if ((ctl->proc & CPU_BASED_INTR_WINDOW_EXITING) && (c->s.rflags & CPU_FLAG_IF)) {
		vmx_exit_pending(v, &(struct vmx_exit_info){ .reason = EXIT_REASON_INTERRUPT_WINDOW });
		return true;
	}
	return false;
}

/* VMX instructions in VMX non-root operation always exit (26.1.2). */
static const u16 vmx_insn_exit[] = {
	[VMX_INSN_VMCALL] = EXIT_REASON_VMCALL,
	[VMX_INSN_VMLAUNCH] = EXIT_REASON_VMLAUNCH,
	[VMX_INSN_VMRESUME] = EXIT_REASON_VMRESUME,
	[VMX_INSN_VMXOFF] = EXIT_REASON_VMOFF,
	[VMX_INSN_VMXON] = EXIT_REASON_VMON,
	[VMX_INSN_VMCLEAR] = EXIT_REASON_VMCLEAR,
	[VMX_INSN_VMPTRLD] = EXIT_REASON_VMPTRLD,
	[VMX_INSN_VMPTRST] = EXIT_REASON_VMPTRST,
	[VMX_INSN_VMREAD] = EXIT_REASON_VMREAD,
	[VMX_INSN_VMWRITE] = EXIT_REASON_VMWRITE,
	[VMX_INSN_INVEPT] = EXIT_REASON_INVEPT,
	[VMX_INSN_INVVPID] = EXIT_REASON_INVVPID,
	[VMX_INSN_VMFUNC] = EXIT_REASON_VMFUNC,
};

/*
 * VM-exit instruction information for VMX instructions (Table 28-13):
 * scaling 1:0, reg1 6:3, address size 9:7, register operand 10,
 * segment 17:15, index 21:18 (invalid 22), base 26:23 (invalid 27), reg2 31:28.
 * The qualification is the displacement of a memory operand (Table 28-1).
 */
static u32 vmx_insn_info(const struct insn *i)
{
	u32 info = info_asz(i) << 7 | (u32)(i->reg & 0xf) << 28;

	if (!(i->flags & IF_MEM))
		return info | BIT(10) | (u32)(i->rm & 0xf) << 3;
	info |= (u32)i->scale | (u32)i->seg << 15;
	info |= i->index == REG_NONE ? BIT(22) : (u32)i->index << 18;
	info |= i->base == REG_NONE ? BIT(27) : (u32)i->base << 23;
	return info;
}

void vmx_instruction(struct cpu *c, const struct insn *i, enum vmx_insn_kind kind)
{
	u32 info = 0;
	u64 qual = 0;

	/*
	 * Software the core runs in root operation has no VMX (VMX is the
	 * host's, reached through vmx_ops.h), so there it is #UD, as with
	 * CR4.VMXE = 0.
	 */
	if (!c->vmx_nonroot || (unsigned)kind >= ARRAY_SIZE(vmx_insn_exit) || !vmx_insn_exit[kind])
		cpu_ud(c);
	if (kind == VMX_INSN_VMFUNC)
		cpu_ud(c);	/* "enable VM functions" is not offered */
	if (kind != VMX_INSN_VMCALL && kind != VMX_INSN_VMLAUNCH && kind != VMX_INSN_VMRESUME &&
	    kind != VMX_INSN_VMXOFF) {
		info = vmx_insn_info(i);
		if (i->flags & IF_MEM)
			qual = (u64)(s64)i->disp;
	}
	insn_exit(c, i, vmx_insn_exit[kind], qual, info);
}

/* ---- guest-physical translation in non-root operation (cpu->phys_xlate) ---- */

/*
 * Without EPT, guest-physical addresses are the processor's physical
 * addresses, which in this processor are host addresses (as in EPT leaf
 * entries).  Non-root operation without EPT needs paging (CR0.PG is fixed
 * to 1 without "unrestricted guest", which needs EPT), and with shadow
 * paging the page tables are KVM's: every physical address the guest
 * reaches is one KVM put in its shadow tables, as on hardware.
 */
void vmx_host_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out)
{
	(void)c;
	(void)kind;
	out->host = (u8 *)(uintptr_t)(gpa & ~0xfffull);
	out->writable = true;
}


/*
 * Page-modification logging (SDM 29.3.6): before setting an EPT dirty
 * flag, the processor writes the 4 KiB-aligned GPA to entry GUEST_PML_INDEX
 * of the 512-entry log and decrements the index; with the index outside
 * 0-511 the log is full: a PML-full VM exit instead, the flag stays clear.
 */
static void vmx_pml_log(struct cpu *c, struct vmx_cpu *v, u64 gpa, struct ept_result *r)
{
	void *vmcs = vmx_vmcs(v);
	u16 idx = (u16)vmcs_get(vmcs, GUEST_PML_INDEX);
	u64 *log = vmx_ptr(vmcs_get(vmcs, PML_ADDRESS));

	if (idx > 511) {
		c->xlate_ctx = XLATE_NONE;
		vmx_exit_now(v, &(struct vmx_exit_info){ .reason = EXIT_REASON_PML_FULL });
	}
	log[idx] = gpa & ~0xfffull;
	vmcs_set(vmcs, GUEST_PML_INDEX, (u16)(idx - 1));
	__atomic_fetch_or(r->leaf, VMX_EPT_DIRTY_BIT, __ATOMIC_RELAXED);
}

void vmx_ept_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out)
{
	struct vmx_cpu *v = vmx_of(c);
	struct ept_result r;
	struct vmx_exit_info x = { .gpa = gpa, .gpa_valid = true };
	u32 acc = kind == ACC_W ? EPT_ACC_WRITE : kind == ACC_X ? EPT_ACC_FETCH : EPT_ACC_READ;

	/*
	 * With EPT A/D flags, the processor's accesses to guest paging
	 * structures are writes for EPT (SDM 29.3.5): they need W and set D.
	 */
	if (c->xlate_ctx == XLATE_WALK && (v->ctls.eptp & VMX_EPTP_AD_ENABLE_BIT))
		acc |= EPT_ACC_WRITE;
	if (likely(!ept_translate_ex(v->ctls.eptp, gpa, acc, &r, !(v->ctls.proc2 & SECONDARY_EXEC_ENABLE_PML)))) {
		if (unlikely(r.dirty_needed && (v->ctls.proc2 & SECONDARY_EXEC_ENABLE_PML)))
			vmx_pml_log(c, v, gpa, &r);
		out->host = (u8 *)r.host - (gpa & 0xfff);
		/* Only this kind was checked; the TLB is filled per kind. */
		out->writable = kind == ACC_W;
		return;
	}
	/*
	 * EPT violation or misconfiguration (28.2.1, Table 28-7).  For an
	 * access made for a linear address, bit 7 says the guest-linear
	 * address field is valid and bit 8 whether the access was to that
	 * address (1) or to a paging-structure entry translating it (0).
	 */
	x.reason = r.exit_reason;
	if (r.exit_reason == EXIT_REASON_EPT_VIOLATION) {
		x.qual = r.qual;
		if (c->xlate_ctx != XLATE_NONE) {
			x.qual |= EPT_VIOLATION_GVA_IS_VALID;
			if (c->xlate_ctx == XLATE_FINAL)
				x.qual |= EPT_VIOLATION_GVA_TRANSLATED;
			x.gla = c->xlate_lin;
			x.gla_valid = true;
		}
	} else {
		x.insn_len = vmx_cur_insn_len(c);	/* as Intel's processors (vmx_mmio.c) */
		if (c->xlate_ctx == XLATE_FINAL)
			tlb_note_ept_misconfig(c, gpa, r.leaf, r.level);	/* tlb.c's MMIO TLB */
	}
	c->xlate_ctx = XLATE_NONE;
	vmx_exit_now(v, &x);
}
