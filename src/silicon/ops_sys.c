// SPDX-License-Identifier: MIT
/*
 * ops_sys.c: system instructions (SDM vol. 2/3): HLT, CLI/STI, PUSHF/POPF,
 * port I/O, descriptor tables, control and debug registers, MSRs, CPUID,
 * TSC, fast system calls, cache and TLB control.
 */
/*
 * Note, no SLP vectorisation here: merging the lazy-flag stores into one
 * 16-byte store makes the next instruction's 8-byte loads of them miss
 * store forwarding, a stall on every ALU instruction.
 */
#pragma GCC optimize("no-tree-slp-vectorize")
#include "silicon/ops.h"
#include "silicon/fpu.h"

static __always_inline bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static __always_inline unsigned iopl(struct cpu *c)
{
	return (c->s.rflags >> 12) & 3;
}

static void need_cpl0(struct cpu *c)
{
	if (c->cpl != 0)
		cpu_gp0(c);
}

static void need_pe(struct cpu *c)
{
	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86))
		cpu_ud(c);
}

OP(op_nop) {}

OP(op_ud)
{
	cpu_ud(c);
}

OP(op_hlt)
{
	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_hlt(c, i))
		return;
	c->s.activity = CPU_HLT;
	cpu_req(c, REQ_SLOW);	/* the halt begins at the next boundary: HLT ends its block */
}

OP(op_cli)
{
	if ((c->mode & MODE_PE) && c->cpl > iopl(c))
		cpu_gp0(c);
	c->s.rflags &= ~(u64)CPU_FLAG_IF;
}

OP(op_sti)
{
	if ((c->mode & MODE_PE) && c->cpl > iopl(c))
		cpu_gp0(c);
	if (!(c->s.rflags & CPU_FLAG_IF)) {
		c->s.rflags |= CPU_FLAG_IF;
		c->s.interruptibility |= CPU_INTR_STI_BLOCKING;
		cpu_req(c, REQ_SLOW);
	}
}

OP(op_pushf)
{
	if ((c->mode & MODE_VM86) && iopl(c) < 3)
		cpu_gp0(c);
	cpu_push(c, i->osz, cpu_get_flags(c) & ~(u64)(CPU_FLAG_VM | CPU_FLAG_RF));
}

OP(op_popf)
{
	int sz = i->osz, ssz = stack_sz(c);
	u64 sp = c->s.gpr[4] & sz_mask(ssz), v, mask;

	if ((c->mode & MODE_VM86) && iopl(c) < 3)
		cpu_gp0(c);
	v = mem_read(c, CPU_SEG_SS, sp, 1 << sz);
	mask = cpu_flags_mask(c, false);
	if (c->mode & MODE_VM86)
		mask &= ~(u64)CPU_FLAG_IOPL;
	if (sz == SZ16)
		mask &= 0xffff;
	reg_write(c, 4, ssz, sp + (1 << sz));
	cpu_write_rflags(c, (cpu_get_flags(c) & ~mask) | (v & mask));
}

/* E4/E5/EC/ED and E6/E7/EE/EF: the size (1, 2 or 4 bytes by osz) as optab_select() noted it in imm2 */
static __always_inline int io_size(const struct insn *i)
{
	return (i->imm2 & 7) + 1;
}

static __always_inline u16 io_port(struct cpu *c, const struct insn *i)
{
	return (i->op & 8) ? (u16)c->s.gpr[2] : (u8)i->imm;
}

/*
 * The port access of IN and OUT, out of line: after the VMX hook only @c
 * and @i are live, so the handler keeps a small frame around the hook's
 * call (an exit in place returns through it).
 */
static __attribute__((noinline)) void in_port(struct cpu *c, const struct insn *i)
{
	int size = io_size(i);
	u32 v;

	cpu_io_in(c, io_port(c, i), size, &v);
	/* the device's answer is seen at the next boundary: IN and OUT end their block */
	reg_write(c, 0, size == 1 ? SZ8 : size == 2 ? SZ16 : SZ32, v);
}

static __attribute__((noinline)) void out_port(struct cpu *c, const struct insn *i)
{
	int size = io_size(i);

	cpu_io_out(c, io_port(c, i), size,
		   (u32)reg_read(c, 0, size == 1 ? SZ8 : size == 2 ? SZ16 : SZ32));
}

/*
 * The I/O permission check (cpu_io_allowed(), SDM 19.5), which comes
 * before the VM exit (26.1.1), in two parts: CPL <= IOPL (or real mode)
 * inline, the TSS bitmap out of line, so that the port and size are not
 * live across a call.
 */
static __always_inline bool io_iopl_ok(const struct cpu *c)
{
	return !(c->mode & MODE_PE) ||
	       (!(c->mode & MODE_VM86) && c->cpl <= ((c->s.rflags >> 12) & 3));
}

static __attribute__((noinline)) void io_permission(struct cpu *c, const struct insn *i)
{
	if (!cpu_io_allowed(c, io_port(c, i), io_size(i)))
		cpu_gp0(c);
}

OP(op_in)
{
	if (unlikely(!io_iopl_ok(c)))
		io_permission(c, i);
	if (c->vmx_nonroot && vmx_intercept_io(c, i, io_port(c, i), io_size(i), true, false))
		return;
	in_port(c, i);
}

OP(op_out)
{
	if (unlikely(!io_iopl_ok(c)))
		io_permission(c, i);
	if (c->vmx_nonroot && vmx_intercept_io(c, i, io_port(c, i), io_size(i), false, false))
		return;
	out_port(c, i);
}

static void umip_check(struct cpu *c)
{
	if ((c->s.cr4 & CPU_CR4_UMIP) && c->cpl > 0)
		cpu_gp0(c);
}

/* Load LDTR or TR from a system descriptor (16 bytes in IA-32e mode). */
static void load_sys_seg(struct cpu *c, int seg, u16 sel)
{
	u64 d, hi = 0, lin;
	struct cpu_seg ns;
	int type;

	if ((sel & 0xfffc) == 0) {
		if (seg == CPU_SEG_TR)
			cpu_gp0(c);
		cpu_nv_written(c);
		c->s.seg[seg].sel = sel;
		c->s.seg[seg].ar = CPU_AR_UNUSABLE;
		return;
	}
	if (sel & 4)
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	d = cpu_read_desc(c, sel, EXC_GP, &lin);
	if (c->s.efer & CPU_EFER_LMA) {
		hi = mem_read_slow(c, lin + 8, 8, ACC_R | ACC_IMPLICIT);
		if ((hi >> 40) & 0x1f)
			cpu_fault(c, EXC_GP, sel & 0xfffc);
	}
	type = (d >> 40) & 0x1f;	/* S and type */
	if (seg == CPU_SEG_LDTR ? type != 0x02 :
	    (type != 0x09 && !(type == 0x01 && !(c->s.efer & CPU_EFER_LMA))))
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	if (!((d >> 47) & 1))
		cpu_fault(c, EXC_NP, sel & 0xfffc);
	cpu_desc_to_seg(d, hi, sel, &ns);
	if (seg == CPU_SEG_TR) {
		/* mark the TSS busy */
		mem_write_slow(c, lin + 5, 1, (u8)((d >> 40) | 2), ACC_W | ACC_IMPLICIT);
		ns.ar |= 2;
	}
	cpu_nv_written(c);
	c->s.seg[seg] = ns;
}

/* 0F 00: SLDT STR LLDT LTR VERR VERW */
OP(op_grp6)
{
	int r = (i->modrm >> 3) & 7;
	u16 sel;

	need_pe(c);
	switch (r) {
	case 0: case 1:
		umip_check(c);
		if (c->vmx_nonroot && vmx_intercept_desc_table(c, i))
			return;
		sel = c->s.seg[r == 0 ? CPU_SEG_LDTR : CPU_SEG_TR].sel;
		if (i->flags & IF_MEM)
			rm_write(c, i, SZ16, sel);
		else
			reg_write(c, i->rm, i->osz, sel);
		return;
	case 2: case 3:
		need_cpl0(c);
		if (c->vmx_nonroot && vmx_intercept_desc_table(c, i))
			return;
		sel = (u16)rm_read(c, i, SZ16);
		load_sys_seg(c, r == 2 ? CPU_SEG_LDTR : CPU_SEG_TR, sel);
		return;
	case 4: case 5: {
		bool ok = false;
		u64 d;
		sel = (u16)rm_read(c, i, SZ16);
		if ((sel & 0xfffc) != 0) {
			u64 base = (sel & 4) ? c->s.seg[CPU_SEG_LDTR].base : c->s.gdtr.base;
			u32 lim = (sel & 4) ? c->s.seg[CPU_SEG_LDTR].limit : c->s.gdtr.limit;
			if (!((sel & 4) && (c->s.seg[CPU_SEG_LDTR].ar & CPU_AR_UNUSABLE)) &&
			    (u32)(sel & ~7) + 7 <= lim) {
				u32 ar;
				int dpl;
				d = mem_read_slow(c, base + (sel & ~7), 8, ACC_R | ACC_IMPLICIT);
				ar = (u32)(d >> 40) & 0xff;
				dpl = (ar >> 5) & 3;
				if (ar & CPU_AR_S) {
					bool code = ar & 8, conf = code && (ar & 4);
					if (conf || (dpl >= c->cpl && dpl >= (sel & 3)))
						ok = r == 4 ? (!code || (ar & 2)) : (!code && (ar & 2));
				}
			}
		}
		{
			u64 f = cpu_get_flags(c);
			cpu_write_rflags(c, (f & ~(u64)CPU_FLAG_ZF) | (ok ? CPU_FLAG_ZF : 0));
		}
		return;
	}
	}
	cpu_ud(c);
}

static u64 dt_read_ea(struct cpu *c, const struct insn *i, u16 *limit)
{
	u64 ea = insn_ea(c, i);
	u64 base;

	*limit = (u16)mem_read(c, i->seg, ea, 2);
	if (c->code64)
		base = mem_read(c, i->seg, ea + 2, 8);
	else
		base = mem_read(c, i->seg, (ea + 2) & sz_mask(i->asz), 4) &
		       (i->osz == SZ16 ? 0xffffff : 0xffffffff);
	return base;
}

/* 0F 01 */
OP(op_grp7)
{
	int r = (i->modrm >> 3) & 7;

	if (!(i->flags & IF_MEM)) {
		switch (i->modrm) {
		case 0xc1: vmx_instruction(c, i, VMX_INSN_VMCALL); return;
		case 0xc2: vmx_instruction(c, i, VMX_INSN_VMLAUNCH); return;
		case 0xc3: vmx_instruction(c, i, VMX_INSN_VMRESUME); return;
		case 0xc4: vmx_instruction(c, i, VMX_INSN_VMXOFF); return;
		case 0xd4: vmx_instruction(c, i, VMX_INSN_VMFUNC); return;
		case 0xc8:	/* MONITOR: arm the address in RAX (DS, or the override) */
			if (c->cpl)
				cpu_ud(c);	/* CPL > 0: #UD (SDM MONITOR) */
			if (c->vmx_nonroot && vmx_intercept_monitor(c, i))
				return;
			if ((u32)c->s.gpr[1] != 0)	/* no extensions */
				cpu_gp0(c);
			(void)seg_lin(c, i->seg, c->s.gpr[0] & (i->asz == SZ64 ? ~0ull :
								 sz_mask(i->asz)), 1, ACC_R);
			return;
		case 0xc9:	/* MWAIT: may wake at once for any reason (SDM MWAIT) */
			if (c->cpl)
				cpu_ud(c);
			if (c->vmx_nonroot && vmx_intercept_mwait(c, i))
				return;
			if ((u32)c->s.gpr[1] > 1)	/* only "interrupt as break event" */
				cpu_gp0(c);
			return;
		case 0xca: case 0xcb:	/* CLAC / STAC */
			if (c->cpl != 0 || (c->mode & MODE_VM86))
				cpu_ud(c);
			if (i->modrm == 0xca)
				c->s.rflags &= ~(u64)CPU_FLAG_AC;
			else
				c->s.rflags |= CPU_FLAG_AC;
			cpu_ac_changed(c);
			return;
		case 0xd0: {	/* XGETBV */
			if (!(c->s.cr4 & CPU_CR4_OSXSAVE))
				cpu_ud(c);
			if ((u32)c->s.gpr[1] != 0)
				cpu_gp0(c);
			reg_write(c, 0, SZ32, (u32)c->s.xcr0);
			reg_write(c, 2, SZ32, c->s.xcr0 >> 32);
			return;
		}
		case 0xd1:	/* XSETBV */
			if (!(c->s.cr4 & CPU_CR4_OSXSAVE))
				cpu_ud(c);
			need_cpl0(c);
			if (c->vmx_nonroot && vmx_intercept_xsetbv(c, i))
				return;
			fpu_xsetbv(c, i);
			return;
		case 0xf8:	/* SWAPGS */
			if (!c->code64)
				cpu_ud(c);
			need_cpl0(c);
			{
				u64 t = c->s.seg[CPU_SEG_GS].base;
				c->s.seg[CPU_SEG_GS].base = c->s.kernel_gs_base;
				c->s.kernel_gs_base = t;
				cpu_update_mode(c);
			}
			return;
		case 0xf9:	/* RDTSCP */
			if ((c->s.cr4 & CPU_CR4_TSD) && c->cpl > 0)
				cpu_gp0(c);
			if (c->vmx_nonroot && vmx_intercept_rdtsc(c, i, true))
				return;
			{
				u64 t = cpu_rdtsc(c);
				reg_write(c, 0, SZ32, (u32)t);
				reg_write(c, 2, SZ32, t >> 32);
				reg_write(c, 1, SZ32, (u32)c->s.tsc_aux);
			}
			return;
		}
		if (r == 4) {	/* SMSW r */
			umip_check(c);
			u64 cr0 = c->vmx_nonroot ? vmx_cr_read_shadow(c, 0, c->s.cr0) : c->s.cr0;

			reg_write(c, i->rm, i->osz, i->osz == SZ16 ? (u16)cr0 : cr0);
			return;
		}
		if (r == 6)
			goto lmsw;
		cpu_ud(c);
	}
	switch (r) {
	case 0: case 1: {	/* SGDT / SIDT */
		const struct cpu_dtable *t = r == 0 ? &c->s.gdtr : &c->s.idtr;
		u64 ea = insn_ea(c, i);
		umip_check(c);
		if (c->vmx_nonroot && vmx_intercept_desc_table(c, i))
			return;
		mem_write(c, i->seg, ea, 2, t->limit);
		if (c->code64)
			mem_write(c, i->seg, ea + 2, 8, t->base);
		else
			mem_write(c, i->seg, (ea + 2) & sz_mask(i->asz), 4, (u32)t->base);
		return;
	}
	case 2: case 3: {	/* LGDT / LIDT */
		u16 limit;
		u64 base;
		need_cpl0(c);
		if (c->vmx_nonroot && vmx_intercept_desc_table(c, i))
			return;
		base = dt_read_ea(c, i, &limit);
		if (c->code64 && !canonical(base))
			cpu_gp0(c);
		cpu_nv_written(c);
		if (r == 2) {
			c->s.gdtr.base = base;
			c->s.gdtr.limit = limit;
		} else {
			c->s.idtr.base = base;
			c->s.idtr.limit = limit;
		}
		return;
	}
	case 4:
		umip_check(c);
		rm_write(c, i, SZ16, (u16)(c->vmx_nonroot ? vmx_cr_read_shadow(c, 0, c->s.cr0) : c->s.cr0));
		return;
	case 6:
lmsw: {
		u16 v = (u16)rm_read(c, i, SZ16);
		need_cpl0(c);
		if (c->vmx_nonroot && vmx_intercept_lmsw(c, i, v))
			return;
		/* LMSW changes PE (cannot clear it), MP, EM, TS */
		if (!cpu_write_cr(c, 0, c->vmx_nonroot ?
				  vmx_cr_write_value(c, 0, (c->s.cr0 & ~0xeull) | (v & 0xf) | (c->s.cr0 & 1)) :
				  (c->s.cr0 & ~0xeull) | (v & 0xf) | (c->s.cr0 & 1)))
			cpu_gp0(c);
		return;
	}
	case 7: {	/* INVLPG */
		u64 lin;
		need_cpl0(c);
		lin = c->code64 ? c->seg_base[i->seg] + insn_ea(c, i)
				: (c->s.seg[i->seg].base + insn_ea(c, i)) & 0xffffffffull;
		if (c->vmx_nonroot && vmx_intercept_invlpg(c, i, lin))
			return;
		tlb_flush_page(c, lin);
		return;
	}
	}
	cpu_ud(c);
}

/* 0F 02/03: LAR, LSL */
static void lar_lsl(struct cpu *c, const struct insn *i, bool lsl)
{
	u16 sel = (u16)rm_read(c, i, SZ16);
	bool ok = false;
	u64 d = 0;

	need_pe(c);
	if ((sel & 0xfffc) != 0) {
		u64 base = (sel & 4) ? c->s.seg[CPU_SEG_LDTR].base : c->s.gdtr.base;
		u32 lim = (sel & 4) ? c->s.seg[CPU_SEG_LDTR].limit : c->s.gdtr.limit;
		if (!((sel & 4) && (c->s.seg[CPU_SEG_LDTR].ar & CPU_AR_UNUSABLE)) &&
		    (u32)(sel & ~7) + 7 <= lim) {
			u32 ar;
			int dpl, type;
			d = mem_read_slow(c, base + (sel & ~7), 8, ACC_R | ACC_IMPLICIT);
			ar = (u32)(d >> 40) & 0xff;
			dpl = (ar >> 5) & 3;
			type = ar & 0xf;
			if (ar & CPU_AR_S) {
				bool conf = (ar & 8) && (ar & 4);
				ok = conf || (dpl >= c->cpl && dpl >= (sel & 3));
			} else {
				/* valid system types: LDT, TSS; LAR also call gates (legacy) */
				bool lm = c->s.efer & CPU_EFER_LMA;
				bool valid = type == 2 || type == 9 || type == 11 ||
					     (!lm && (type == 1 || type == 3)) ||
					     (!lsl && (type == 12 || (!lm && (type == 4 || type == 5))));
				ok = valid && dpl >= c->cpl && dpl >= (sel & 3);
			}
		}
	}
	if (ok) {
		if (lsl) {
			u32 limit = (u32)(d & 0xffff) | (u32)((d >> 32) & 0xf0000);
			if (d & (1ull << 55))
				limit = (limit << 12) | 0xfff;
			rg_write(c, i, i->osz, limit);
		} else {
			rg_write(c, i, i->osz, (d >> 32) & 0x00f0ff00);
		}
	}
	{
		u64 f = cpu_get_flags(c);
		cpu_write_rflags(c, (f & ~(u64)CPU_FLAG_ZF) | (ok ? CPU_FLAG_ZF : 0));
	}
}

OP(op_lar) { lar_lsl(c, i, false); }
OP(op_lsl) { lar_lsl(c, i, true); }

OP(op_clts)
{
	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_clts(c, i))
		return;
	cpu_nv_written(c);
	c->s.cr0 = c->vmx_nonroot ? vmx_cr_write_value(c, 0, c->s.cr0 & ~(u64)CPU_CR0_TS) :
				    c->s.cr0 & ~(u64)CPU_CR0_TS;
}

#define CR4_VALID (CPU_CR4_VME | CPU_CR4_PVI | CPU_CR4_TSD | CPU_CR4_DE | CPU_CR4_PSE | \
		   CPU_CR4_PAE | CPU_CR4_MCE | CPU_CR4_PGE | CPU_CR4_PCE | CPU_CR4_OSFXSR | \
		   CPU_CR4_OSXMMEXCPT | CPU_CR4_UMIP | CPU_CR4_LA57 | CPU_CR4_FSGSBASE | \
		   CPU_CR4_PCIDE | CPU_CR4_OSXSAVE | CPU_CR4_SMEP | CPU_CR4_SMAP)

/*
 * MOV to CR0/CR3/CR4/CR8 with the checks of SDM MOV CR and 10.8.5 (IA-32e
 * mode activation).  Return: false where the instruction #GPs.
 */
bool cpu_write_cr(struct cpu *c, int cr, u64 v)
{
	struct cpu_state *s = &c->s;

	cpu_nv_written(c);
	switch (cr) {
	case 0: {
		u64 old = s->cr0;
		if (v >> 32)
			return false;
		v |= CPU_CR0_ET;
		if ((v & CPU_CR0_PG) && !(v & CPU_CR0_PE))
			return false;
		if ((v & CPU_CR0_NW) && !(v & CPU_CR0_CD))
			return false;
		if ((v & CPU_CR0_PG) && !(old & CPU_CR0_PG) && (s->efer & CPU_EFER_LME)) {
			if (!(s->cr4 & CPU_CR4_PAE) || (s->seg[CPU_SEG_CS].ar & CPU_AR_L))
				return false;
			s->efer |= CPU_EFER_LMA;
		}
		if (!(v & CPU_CR0_PG) && (old & CPU_CR0_PG) && (s->efer & CPU_EFER_LMA)) {
			if (c->code64)
				return false;
			s->efer &= ~CPU_EFER_LMA;
		}
		/* enabling PAE paging outside IA-32e mode loads the PDPTEs */
		if ((v & CPU_CR0_PG) && (s->cr4 & CPU_CR4_PAE) && !(s->efer & CPU_EFER_LMA) &&
		    ((old ^ v) & (CPU_CR0_PG | CPU_CR0_CD | CPU_CR0_NW)) && !paging_load_pdptes(c))
			return false;
		s->cr0 = v;
		if ((old ^ v) & (CPU_CR0_PG | CPU_CR0_WP | CPU_CR0_PE))
			tlb_flush_all(c);
		cpu_update_mode(c);
		cpu_ac_changed(c);
		return true;
	}
	case 3:
		if (s->efer & CPU_EFER_LMA) {
			if (v & 0x7ff0000000000000ull)
				return false;
			v &= ~(1ull << 63);	/* no-flush hint: we flush anyway */
		} else {
			v = (u32)v;
		}
		if ((s->cr0 & CPU_CR0_PG) && (s->cr4 & CPU_CR4_PAE) && !(s->efer & CPU_EFER_LMA)) {
			u64 old = s->cr3;
			s->cr3 = v;
			if (!paging_load_pdptes(c)) {
				s->cr3 = old;
				return false;
			}
		}
		s->cr3 = v;
		tlb_flush_all(c);
		return true;
	case 4: {
		u64 old = s->cr4;
		if (v & ~(u64)CR4_VALID)
			return false;
		if ((s->efer & CPU_EFER_LMA) && !(v & CPU_CR4_PAE))
			return false;
		if ((s->efer & CPU_EFER_LMA) && ((v ^ old) & CPU_CR4_LA57))
			return false;
		if ((v & CPU_CR4_PCIDE) && !(old & CPU_CR4_PCIDE) &&
		    (!(s->efer & CPU_EFER_LMA) || (s->cr3 & 0xfff)))
			return false;
		if ((v & CPU_CR4_PAE) && (s->cr0 & CPU_CR0_PG) && !(s->efer & CPU_EFER_LMA) &&
		    ((old ^ v) & (CPU_CR4_PAE | CPU_CR4_PGE | CPU_CR4_PSE | CPU_CR4_SMEP))) {
			s->cr4 = v;
			if (!paging_load_pdptes(c)) {
				s->cr4 = old;
				return false;
			}
		}
		s->cr4 = v;
		if ((old ^ v) & (CPU_CR4_PGE | CPU_CR4_PAE | CPU_CR4_PSE | CPU_CR4_SMEP |
				 CPU_CR4_SMAP | CPU_CR4_LA57 | CPU_CR4_PCIDE))
			tlb_flush_all(c);
		return true;
	}
	case 8:
		if (v & ~0xfull)
			return false;
		s->cr8 = v;
		return true;
	}
	return false;
}

static bool cr_valid(int cr)
{
	return cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8;
}

/* 0F 20: MOV r, CR (the r/m field is always a register) */
OP(op_mov_r_cr)
{
	int cr = i->reg;
	u64 v;

	if (!cr_valid(cr) || (i->flags & IF_LOCK))
		cpu_ud(c);
	need_cpl0(c);
	if (c->vmx_nonroot && (cr == 3 || cr == 8) && vmx_intercept_cr_read(c, i, cr))
		return;
	v = cr == 0 ? c->s.cr0 : cr == 2 ? c->s.cr2 : cr == 3 ? c->s.cr3 : cr == 4 ? c->s.cr4 : c->s.cr8;
	if (c->vmx_nonroot && (cr == 0 || cr == 4))
		v = vmx_cr_read_shadow(c, cr, v);
	reg_write(c, i->rm, c->code64 ? SZ64 : SZ32, v);
}

/* 0F 22: MOV CR, r */
OP(op_mov_cr_r)
{
	int cr = i->reg;
	u64 v = reg_read(c, i->rm, c->code64 ? SZ64 : SZ32);

	if (!cr_valid(cr) || (i->flags & IF_LOCK))
		cpu_ud(c);
	need_cpl0(c);
	if (c->vmx_nonroot && cr != 2 && vmx_intercept_cr_write(c, i, cr, v))
		return;
	if (cr == 2) {
		c->s.cr2 = v;
		return;
	}
	if (c->vmx_nonroot && (cr == 0 || cr == 4))
		v = vmx_cr_write_value(c, cr, v);
	if (!cpu_write_cr(c, cr, v))
		cpu_gp0(c);
}

static int dr_index(struct cpu *c, int dr)
{
	if (dr > 7)
		cpu_ud(c);
	if ((dr == 4 || dr == 5)) {
		if (c->s.cr4 & CPU_CR4_DE)
			cpu_ud(c);
		dr += 2;
	}
	return dr;
}

/* 0F 21 (breakpoints: cpu_dr7_changed; FIXME: I/O breakpoints, R/W = 10) */
OP(op_mov_r_dr)
{
	int dr = dr_index(c, i->reg);

	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_dr(c, i, i->reg, false))
		return;
	reg_write(c, i->rm, c->code64 ? SZ64 : SZ32, c->s.dr[dr]);
}

/* 0F 23 */
OP(op_mov_dr_r)
{
	int dr = dr_index(c, i->reg);
	u64 v = reg_read(c, i->rm, c->code64 ? SZ64 : SZ32);

	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_dr(c, i, i->reg, true))
		return;
	if (dr >= 6 && (v >> 32))
		cpu_gp0(c);
	if (dr == 6)
		v = (v & 0x1e00f) | 0xffff0ff0;
	else if (dr == 7)
		v = (v & ~0xd800ull) | 0x400;
	c->s.dr[dr] = v;
	cpu_nv_written(c);
	if (dr == 7 || dr < 4)
		cpu_dr7_changed(c);
}

/*
 * Breakpoints (SDM 18.2): DR7 enables DR0-DR3 (L/G bits) with a kind
 * (R/W: 00 execute, 01 write, 11 read or write; I/O breakpoints are not
 * implemented) and a length.  While any data breakpoint is enabled the
 * soft TLB is not used for data, so every access passes the check; while
 * any is enabled the run loop goes one instruction at a time.
 */
void cpu_dr7_changed(struct cpu *c)
{
	u64 d7 = c->s.dr[7];
	u8 ex = 0, da = 0;

	for (int n = 0; n < 4; n++) {
		int rw = (d7 >> (16 + 4 * n)) & 3;
		if (!((d7 >> (2 * n)) & 3))
			continue;
		if (rw == 0)
			ex |= 1u << n;
		else if (rw == 1 || rw == 3)
			da |= 1u << n;
	}
	if (da && !c->dbg_data)
		tlb_flush_all(c);
	c->dbg_exec = ex;
	c->dbg_data = da;
	cpu_cont_run_set(c, CPU_CONT_RUN_DBG, ex || da);
	if (ex || da)
		cpu_req(c, REQ_SLOW);
}

void cpu_dbg_data_check(struct cpu *c, u64 lin, int size, bool write)
{
	u64 d7 = c->s.dr[7];

	for (int n = 0; n < 4; n++) {
		static const u8 lens[4] = { 1, 2, 8, 4 };
		int rw = (d7 >> (16 + 4 * n)) & 3, len = lens[(d7 >> (18 + 4 * n)) & 3];
		u64 a = c->s.dr[n] & ~(u64)(len - 1);
		if (!((c->dbg_data >> n) & 1) || (rw == 1 && !write))
			continue;
		if (lin < a + len && a < lin + size)
			c->dbg_hit |= 1u << n;
	}
}

u32 cpu_dbg_exec_check(struct cpu *c)
{
	u64 lin = c->code64 ? c->s.rip : (c->s.seg[CPU_SEG_CS].base + c->s.rip) & 0xffffffffull;
	u32 hit = 0;

	if (c->s.rflags & CPU_FLAG_RF)
		return 0;
	for (int n = 0; n < 4; n++)
		if (((c->dbg_exec >> n) & 1) && c->s.dr[n] == lin)
			hit |= 1u << n;
	return hit;
}

/* CPUID outside non-root operation, out of line: op_cpuid() keeps no frame. */
static __attribute__((noinline)) void cpuid_native(struct cpu *c)
{
	u32 r[4];

	cpu_cpuid(c, (u32)c->s.gpr[0], (u32)c->s.gpr[1], r);
	c->s.gpr[0] = r[0];
	c->s.gpr[3] = r[1];
	c->s.gpr[1] = r[2];
	c->s.gpr[2] = r[3];
}

OP(op_cpuid)
{
	/*
	 * In VMX non-root operation CPUID exits unconditionally (SDM 26.1.2):
	 * the hook takes the exit and always returns true, so its call is a
	 * tail call.
	 */
	if (c->vmx_nonroot) {
		vmx_intercept_cpuid(c, i);
		return;
	}
	cpuid_native(c);
}

OP(op_rdmsr)
{
	u32 idx = (u32)c->s.gpr[1];
	u64 v;

	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_msr(c, i, idx, false))
		return;
	if (msr_read(c, idx, &v))
		cpu_gp0(c);
	c->s.gpr[0] = (u32)v;
	c->s.gpr[2] = v >> 32;
}

OP(op_wrmsr)
{
	u32 idx = (u32)c->s.gpr[1];
	u64 v = ((u64)(u32)c->s.gpr[2] << 32) | (u32)c->s.gpr[0];

	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_msr(c, i, idx, true))
		return;
	if (msr_write(c, idx, v))
		cpu_gp0(c);
}

OP(op_rdtsc)
{
	u64 t;

	if ((c->s.cr4 & CPU_CR4_TSD) && c->cpl > 0)
		cpu_gp0(c);
	if (c->vmx_nonroot && vmx_intercept_rdtsc(c, i, false))
		return;
	t = cpu_rdtsc(c);
	c->s.gpr[0] = (u32)t;
	c->s.gpr[2] = t >> 32;
}

/* No performance counters are implemented: every counter index #GPs. */
OP(op_rdpmc)
{
	if (c->vmx_nonroot && vmx_intercept_rdpmc(c, i))
		return;
	cpu_gp0(c);
}

static void flat_seg(struct cpu_seg *s, u16 sel, u32 type, int dpl, bool l, bool db)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->ar = type | CPU_AR_S | CPU_AR_P | CPU_AR_G | ((u32)dpl << CPU_AR_DPL_SHIFT) |
		(l ? CPU_AR_L : 0) | (db ? CPU_AR_DB : 0);
}

/* 0F 05: SYSCALL (64-bit mode only: outside it #UD, as on Intel processors) */
OP(op_syscall)
{
	u64 f = cpu_get_flags(c);
	u16 sel = (c->s.star >> 32) & 0xfffc;

	if (!(c->s.efer & CPU_EFER_SCE) || !c->code64)
		cpu_ud(c);
	c->s.gpr[1] = next_rip(c, i);
	c->s.gpr[11] = f & ~(u64)CPU_FLAG_RF;
	flat_seg(&c->s.seg[CPU_SEG_CS], sel, 0xb, 0, true, false);
	flat_seg(&c->s.seg[CPU_SEG_SS], sel + 8, 0x3, 0, false, true);
	cpu_write_rflags(c, f & ~(c->s.fmask | CPU_FLAG_RF));
	cpu_update_mode(c);
	set_rip(c, i, c->s.lstar);
}

/* 0F 07: SYSRET */
OP(op_sysret)
{
	u16 sel = (c->s.star >> 48) & 0xffff;
	bool w = i->flags & IF_REXW;
	u64 rip = c->s.gpr[1];

	if (!(c->s.efer & CPU_EFER_SCE) || !c->code64)
		cpu_ud(c);
	need_cpl0(c);
	if (w && !canonical(rip))
		cpu_gp0(c);
	if (w)
		flat_seg(&c->s.seg[CPU_SEG_CS], (sel + 16) | 3, 0xb, 3, true, false);
	else {
		flat_seg(&c->s.seg[CPU_SEG_CS], sel | 3, 0xb, 3, false, true);
		rip = (u32)rip;
	}
	/* SS: the selector is STAR[63:48]+8 with RPL 3; the hidden part is fixed */
	flat_seg(&c->s.seg[CPU_SEG_SS], (sel + 8) | 3, 0x3, 3, false, true);
	cpu_write_rflags(c, (c->s.gpr[11] & 0x3c7fd7) | 2);
	cpu_update_mode(c);
	set_rip(c, i, rip);
}

/* 0F 34: SYSENTER */
OP(op_sysenter)
{
	u16 cs = c->s.sysenter_cs & 0xfffc;
	bool lm = c->s.efer & CPU_EFER_LMA;

	if (!(c->mode & MODE_PE) || cs == 0)
		cpu_gp0(c);
	flat_seg(&c->s.seg[CPU_SEG_CS], cs, 0xb, 0, lm, !lm);
	flat_seg(&c->s.seg[CPU_SEG_SS], cs + 8, 0x3, 0, false, true);
	cpu_write_rflags(c, cpu_get_flags(c) & ~(u64)(CPU_FLAG_VM | CPU_FLAG_IF | CPU_FLAG_RF));
	cpu_update_mode(c);
	c->s.gpr[4] = lm ? c->s.sysenter_esp : (u32)c->s.sysenter_esp;
	set_rip(c, i, lm ? c->s.sysenter_eip : (u32)c->s.sysenter_eip);
}

/* 0F 35: SYSEXIT */
OP(op_sysexit)
{
	u16 cs = c->s.sysenter_cs & 0xfffc;
	bool w = i->flags & IF_REXW;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86) || cs == 0)
		cpu_gp0(c);
	need_cpl0(c);
	if (w) {
		if (!canonical(c->s.gpr[2]) || !canonical(c->s.gpr[1]))
			cpu_gp0(c);
		flat_seg(&c->s.seg[CPU_SEG_CS], (cs + 32) | 3, 0xb, 3, true, false);
		flat_seg(&c->s.seg[CPU_SEG_SS], (cs + 40) | 3, 0x3, 3, false, true);
	} else {
		flat_seg(&c->s.seg[CPU_SEG_CS], (cs + 16) | 3, 0xb, 3, false, true);
		flat_seg(&c->s.seg[CPU_SEG_SS], (cs + 24) | 3, 0x3, 3, false, true);
	}
	cpu_update_mode(c);
	c->s.gpr[4] = w ? c->s.gpr[1] : (u32)c->s.gpr[1];
	set_rip(c, i, w ? c->s.gpr[2] : (u32)c->s.gpr[2]);
}

OP(op_invd)
{
	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_invd(c, i))
		return;
}

OP(op_wbinvd)
{
	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_wbinvd(c, i))
		return;
}

/* 0F AE */
OP(op_grp15)
{
	int r = (i->modrm >> 3) & 7;

	if (!(i->flags & IF_MEM)) {
		if (i->flags & IF_REP) {	/* RD/WR FS/GS BASE */
			int seg = (r & 1) ? CPU_SEG_GS : CPU_SEG_FS;
			int sz = (i->flags & IF_REXW) ? SZ64 : SZ32;
			if (!c->code64 || !(c->s.cr4 & CPU_CR4_FSGSBASE) || r > 3)
				cpu_ud(c);
			if (r < 2) {
				reg_write(c, i->rm, sz, c->s.seg[seg].base);
			} else {
				u64 v = reg_read(c, i->rm, sz);
				if (!canonical(v))
					cpu_gp0(c);
				c->s.seg[seg].base = v;
				cpu_update_mode(c);
			}
			return;
		}
		if (r >= 5 && !(i->flags & IF_OSZ_PFX))	/* LFENCE MFENCE SFENCE */
			return;
		cpu_ud(c);
	}
	if (r == 7) {	/* CLFLUSH / CLFLUSHOPT: a byte read access for faults */
		(void)mem_read(c, i->seg, insn_ea(c, i), 1);
		return;
	}
	fpu_grp15_mem(c, i, r);	/* FXSAVE ... XSAVEOPT (fpu.c) */
}

/* 0F C7 */
OP(op_grp9)
{
	int r = (i->modrm >> 3) & 7;

	if (i->flags & IF_MEM) {
		if (r == 1) {
			op_cmpxchg8b(c, i);
			return;
		}
		if (r == 6) {
			vmx_instruction(c, i, (i->flags & IF_REP) ? VMX_INSN_VMXON :
					(i->flags & IF_OSZ_PFX) ? VMX_INSN_VMCLEAR : VMX_INSN_VMPTRLD);
			return;
		}
		if (r == 7) {
			vmx_instruction(c, i, VMX_INSN_VMPTRST);
			return;
		}
		if (r == 4 && !(i->flags & (IF_REP | IF_REPNE | IF_OSZ_PFX))) {
			fpu_xsavec(c, i);
			return;
		}
		cpu_ud(c);
	}
	if (r == 7 && (i->flags & IF_REP)) {	/* RDPID */
		reg_write(c, i->rm, c->code64 ? SZ64 : SZ32, (u32)c->s.tsc_aux);
		return;
	}
	/* RDRAND/RDSEED are not offered in CPUID */
	cpu_ud(c);
}

/* 63 in legacy protected mode: ARPL r/m16, r16 */
OP(op_arpl)
{
	u16 dst, src = (u16)rg_read(c, i, SZ16);
	bool zf = false;
	struct rmw m = { 0 };
	u64 f;

	need_pe(c);
	dst = (u16)((i->flags & IF_MEM) ? rmw_begin(c, i, SZ16, &m) : reg_read(c, i->rm, SZ16));
	if ((dst & 3) < (src & 3)) {
		dst = (u16)((dst & ~3) | (src & 3));
		zf = true;
	}
	if (i->flags & IF_MEM)
		rmw_end(c, SZ16, &m, dst);
	else
		reg_write(c, i->rm, SZ16, dst);
	f = cpu_get_flags(c);
	cpu_write_rflags(c, (f & ~(u64)CPU_FLAG_ZF) | (zf ? CPU_FLAG_ZF : 0));
}

/* F3 90 */
OP(op_pause)
{
	if (c->vmx_nonroot && vmx_intercept_pause(c, i))
		return;
	__builtin_ia32_pause();
}

/* 66 0F 38 82: INVPCID (every type flushes the whole soft TLB) */
OP(op_invpcid)
{
	u64 type;

	if (!(i->flags & IF_MEM))
		cpu_ud(c);
	need_cpl0(c);
	if (c->vmx_nonroot && vmx_intercept_invpcid(c, i))
		return;
	type = reg_read(c, i->reg, c->code64 ? SZ64 : SZ32);
	if (type > 3)
		cpu_gp0(c);
	(void)mem_read(c, i->seg, insn_ea(c, i), 8);
	tlb_flush_all(c);
}

OP(op_rsm)
{
	cpu_ud(c);	/* not in SMM */
}

/* 0F 78/79, 66 0F 38 80/81: VMX instructions (vmx_insn.c via intercept.h) */
OP(op_vmread) { vmx_instruction(c, i, VMX_INSN_VMREAD); }
OP(op_vmwrite) { vmx_instruction(c, i, VMX_INSN_VMWRITE); }
OP(op_invept) { vmx_instruction(c, i, VMX_INSN_INVEPT); }
OP(op_invvpid) { vmx_instruction(c, i, VMX_INSN_INVVPID); }
