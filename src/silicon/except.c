// SPDX-License-Identifier: MIT
/*
 * except.c: exception and interrupt delivery (SDM vol. 3 chapter 6):
 * the real-mode IVT, 16/32-bit interrupt and trap gates with the stack
 * switch on a privilege change (also from virtual-8086 mode), 64-bit gates
 * with IST, error codes, the contributory/benign/page-fault classes that
 * make #DF (table 6-5), and the triple fault that shuts the cpu down.
 *
 * FIXME: task gates (and so task switches) are not implemented: delivery
 * through one raises #GP(vector).
 */
#include "silicon/ops.h"

static bool has_error_code(int vec)
{
	return vec == EXC_DF || vec == EXC_TS || vec == EXC_NP || vec == EXC_SS ||
	       vec == EXC_GP || vec == EXC_PF || vec == EXC_AC || vec == EXC_CP;
}

static bool contributory(int vec)
{
	return vec == EXC_DE || (vec >= EXC_TS && vec <= EXC_GP);
}

__attribute__((noreturn)) static void triple_fault(struct cpu *c)
{
	c->delivering = -1;
	if (c->vmx_nonroot)
		vmx_intercept_triple_fault(c);
	c->s.activity = CPU_SHUTDOWN;
	cpu_exit_now(c, CPU_EXIT_SHUTDOWN);
}

static __attribute__((noreturn)) void raise_exc(struct cpu *c, int vec, bool has_err, u32 err)
{
	if (c->delivering >= 0) {
		int first = c->delivering;
		if (first == EXC_DF)
			triple_fault(c);
		if ((contributory(first) && contributory(vec)) ||
		    (first == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
			vec = EXC_DF;
			has_err = true;
			err = 0;
		}
	}
	c->fault_vec = vec;
	c->fault_has_err = has_err;
	c->fault_err = err;
	cpu_jump(c, 1);
}

__attribute__((noreturn)) void cpu_fault(struct cpu *c, int vec, u32 err)
{
	raise_exc(c, vec, has_error_code(vec), err);
}

__attribute__((noreturn)) void cpu_fault_noerr(struct cpu *c, int vec)
{
	raise_exc(c, vec, false, 0);
}

static u64 sys_read(struct cpu *c, u64 lin, int size)
{
	return mem_read_slow(c, lin, size, ACC_R | ACC_IMPLICIT);
}

/* Stack writes of the delivery: supervisor accesses when the new CPL < 3. */
static void push_at(struct cpu *c, int seg_cpl, u64 lin, int size, u64 v)
{
	mem_write_slow(c, lin, size, v, ACC_W | (seg_cpl < 3 ? ACC_IMPLICIT : 0));
}

static void deliver_real(struct cpu *c, int vec, u64 ret)
{
	u64 f = cpu_get_flags(c), sp = c->s.gpr[4];
	u32 ent;
	u64 ss = c->s.seg[CPU_SEG_SS].base;
	bool s32 = c->mode & MODE_SS32;
	u64 m = s32 ? 0xffffffffull : 0xffff;

	if ((u32)vec * 4 + 3 > c->s.idtr.limit)
		cpu_gp0(c);
	ent = (u32)sys_read(c, c->s.idtr.base + vec * 4, 4);
	push_at(c, 0, (ss + ((sp - 2) & m)) & 0xffffffff, 2, f);
	push_at(c, 0, (ss + ((sp - 4) & m)) & 0xffffffff, 2, c->s.seg[CPU_SEG_CS].sel);
	push_at(c, 0, (ss + ((sp - 6) & m)) & 0xffffffff, 2, ret);
	reg_write(c, 4, s32 ? SZ32 : SZ16, sp - 6);
	cpu_write_rflags(c, f & ~(u64)(CPU_FLAG_IF | CPU_FLAG_TF | CPU_FLAG_AC | CPU_FLAG_RF));
	cpu_load_seg_real(c, CPU_SEG_CS, (u16)(ent >> 16));
	c->s.rip = ent & 0xffff;
}

/* Read and check the target code segment of a gate (SDM 6.12.1). */
static u64 gate_target(struct cpu *c, u16 sel, u32 ext)
{
	u64 d;
	u32 ar;

	if ((sel & 0xfffc) == 0)
		cpu_fault(c, EXC_GP, ext);
	d = cpu_read_desc(c, sel, EXC_GP, NULL);
	ar = (u32)((d >> 40) & 0xf0ff);
	if (!(ar & CPU_AR_S) || !(ar & 8) || ((ar >> CPU_AR_DPL_SHIFT) & 3) > c->cpl)
		cpu_fault(c, EXC_GP, (sel & 0xfffc) | ext);
	if (!(ar & CPU_AR_P))
		cpu_fault(c, EXC_NP, (sel & 0xfffc) | ext);
	return d;
}

static void deliver_prot(struct cpu *c, int vec, int type, bool has_err, u32 err, u64 ret)
{
	bool sw = type == CPU_EVENT_SWINT || type == CPU_EVENT_SWEXC;
	u32 ext = sw ? 0 : 1;
	u64 g, d, f = cpu_get_flags(c);
	int gtype, gdpl, dpl, old_cpl = c->cpl;
	bool g32, vm86 = c->mode & MODE_VM86;
	u16 sel;
	u64 off, sp, ssbase;
	struct cpu_seg old_ss = c->s.seg[CPU_SEG_SS];
	u16 new_ss = old_ss.sel;
	u64 ss_desc = 0;
	bool inner;
	int size, ssz;
	u64 m;

	if ((u32)vec * 8 + 7 > c->s.idtr.limit)
		cpu_fault(c, EXC_GP, vec * 8 + 2 + ext);
	g = sys_read(c, (c->s.idtr.base + vec * 8) & 0xffffffffull, 8);
	gtype = (g >> 40) & 0x1f;
	gdpl = (g >> 45) & 3;
	if (gtype == 0x05 && c->vmx_nonroot)
		vmx_intercept_task_switch(c, NULL, (u16)(g >> 16), VMX_TASK_SWITCH_GATE);
	if (gtype != 0x06 && gtype != 0x07 && gtype != 0x0e && gtype != 0x0f)
		cpu_fault(c, EXC_GP, vec * 8 + 2 + ext);	/* FIXME: task gates */
	if (sw && gdpl < c->cpl)
		cpu_fault(c, EXC_GP, vec * 8 + 2);
	if (!((g >> 47) & 1))
		cpu_fault(c, EXC_NP, vec * 8 + 2 + ext);
	g32 = gtype & 8;
	sel = (u16)(g >> 16);
	off = (g & 0xffff) | ((g >> 32) & 0xffff0000u);
	if (!g32)
		off &= 0xffff;
	d = gate_target(c, sel, ext);
	dpl = (d >> 45) & 3;
	inner = !((d >> 42) & 1) && dpl < c->cpl;
	if (vm86 && (!inner || dpl != 0))
		cpu_fault(c, EXC_GP, (sel & 0xfffc) | ext);
	size = g32 ? 4 : 2;
	if (inner) {
		/* new stack from the TSS (SDM 7.2.1) */
		const struct cpu_seg *tr = &c->s.seg[CPU_SEG_TR];
		bool t32 = (tr->ar & 0xf) == 0xb || (tr->ar & 0xf) == 0x9;
		u32 at = t32 ? 4 + dpl * 8 : 2 + dpl * 4;
		u64 nsp;
		struct cpu_seg ns;
		if (at + (t32 ? 7u : 3u) > tr->limit)
			cpu_fault(c, EXC_TS, (tr->sel & 0xfffc) | ext);
		nsp = sys_read(c, tr->base + at, t32 ? 4 : 2);
		new_ss = (u16)sys_read(c, tr->base + at + (t32 ? 4 : 2), 2);
		if ((new_ss & 0xfffc) == 0 || (new_ss & 3) != dpl)
			cpu_fault(c, EXC_TS, (new_ss & 0xfffc) | ext);
		ss_desc = cpu_read_desc(c, new_ss, EXC_TS, NULL);
		cpu_desc_to_seg(ss_desc, 0, new_ss, &ns);
		if ((int)((ns.ar >> CPU_AR_DPL_SHIFT) & 3) != dpl || !(ns.ar & CPU_AR_S) || (ns.ar & 8) ||
		    !(ns.ar & 2))
			cpu_fault(c, EXC_TS, (new_ss & 0xfffc) | ext);
		if (!(ns.ar & CPU_AR_P))
			cpu_fault(c, EXC_SS, (new_ss & 0xfffc) | ext);
		ns.ar |= 1;
		ssz = (ns.ar & CPU_AR_DB) ? SZ32 : SZ16;
		m = sz_mask(ssz);
		sp = nsp & m;
		ssbase = ns.base;
		{
			u64 v[10];
			int nv = 0;
			if (vm86) {
				v[nv++] = c->s.seg[CPU_SEG_GS].sel;
				v[nv++] = c->s.seg[CPU_SEG_FS].sel;
				v[nv++] = c->s.seg[CPU_SEG_DS].sel;
				v[nv++] = c->s.seg[CPU_SEG_ES].sel;
			}
			v[nv++] = old_ss.sel;
			v[nv++] = c->s.gpr[4];
			v[nv++] = f;
			v[nv++] = c->s.seg[CPU_SEG_CS].sel;
			v[nv++] = ret;
			if (has_err)
				v[nv++] = err;
			for (int k = 0; k < nv; k++) {
				sp = (sp - size) & m;
				push_at(c, dpl, (ssbase + sp) & 0xffffffffull, size, v[k]);
			}
		}
		cpu_nv_written(c);
		c->s.seg[CPU_SEG_SS] = ns;
		if (vm86) {
			for (int s = CPU_SEG_ES; s <= CPU_SEG_GS; s++) {
				if (s == CPU_SEG_CS || s == CPU_SEG_SS)
					continue;
				c->s.seg[s].sel = 0;
				c->s.seg[s].base = 0;
				c->s.seg[s].limit = 0;
				c->s.seg[s].ar = CPU_AR_UNUSABLE;
			}
		}
		reg_write(c, 4, ssz, sp);
	} else {
		ssz = stack_sz(c);
		m = sz_mask(ssz);
		sp = c->s.gpr[4] & m;
		ssbase = old_ss.base;
		{
			u64 v[4] = { f, c->s.seg[CPU_SEG_CS].sel, ret, err };
			int nv = has_err ? 4 : 3;
			for (int k = 0; k < nv; k++) {
				sp = (sp - size) & m;
				push_at(c, old_cpl, (ssbase + sp) & 0xffffffffull, size, v[k]);
			}
		}
		reg_write(c, 4, ssz, sp);
		dpl = c->cpl;	/* conforming: CPL unchanged */
	}
	f &= ~(u64)(CPU_FLAG_TF | CPU_FLAG_NT | CPU_FLAG_VM | CPU_FLAG_RF);
	if (!(gtype & 1))
		f &= ~(u64)CPU_FLAG_IF;
	cpu_write_rflags(c, f);
	cpu_set_cs(c, sel, d, dpl);
	c->s.rip = off;
}

static void deliver_long(struct cpu *c, int vec, int type, bool has_err, u32 err, u64 ret)
{
	bool sw = type == CPU_EVENT_SWINT || type == CPU_EVENT_SWEXC;
	u32 ext = sw ? 0 : 1;
	u64 lo, hi, d, f = cpu_get_flags(c), sp, off;
	int gtype, gdpl, dpl, ist;
	u16 sel, old_ss = c->s.seg[CPU_SEG_SS].sel;
	bool inner;
	const struct cpu_seg *tr = &c->s.seg[CPU_SEG_TR];

	if ((u32)vec * 16 + 15 > c->s.idtr.limit)
		cpu_fault(c, EXC_GP, vec * 8 + 2 + ext);
	lo = sys_read(c, c->s.idtr.base + vec * 16, 8);
	hi = sys_read(c, c->s.idtr.base + vec * 16 + 8, 8);
	gtype = (lo >> 40) & 0x1f;
	gdpl = (lo >> 45) & 3;
	if (gtype != 0x0e && gtype != 0x0f)
		cpu_fault(c, EXC_GP, vec * 8 + 2 + ext);
	if (sw && gdpl < c->cpl)
		cpu_fault(c, EXC_GP, vec * 8 + 2);
	if (!((lo >> 47) & 1))
		cpu_fault(c, EXC_NP, vec * 8 + 2 + ext);
	sel = (u16)(lo >> 16);
	off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000u) | (hi << 32);
	ist = (lo >> 32) & 7;
	d = gate_target(c, sel, ext);
	if (!((d >> 53) & 1) || ((d >> 54) & 1))
		cpu_fault(c, EXC_GP, (sel & 0xfffc) | ext);	/* must be 64-bit code */
	dpl = (d >> 45) & 3;
	inner = !((d >> 42) & 1) && dpl < c->cpl;
	if (!inner)
		dpl = c->cpl;
	if (ist) {
		if (0x24 + (ist - 1) * 8 + 7 > (int)tr->limit)
			cpu_fault(c, EXC_TS, (tr->sel & 0xfffc) | ext);
		sp = sys_read(c, tr->base + 0x24 + (ist - 1) * 8, 8);
	} else if (inner) {
		if (4 + dpl * 8 + 7 > (int)tr->limit)
			cpu_fault(c, EXC_TS, (tr->sel & 0xfffc) | ext);
		sp = sys_read(c, tr->base + 4 + dpl * 8, 8);
	} else {
		sp = c->s.gpr[4];
	}
	if ((u64)((s64)(sp << 16) >> 16) != sp)
		cpu_fault(c, EXC_SS, ext);	/* non-canonical new RSP */
	sp &= ~15ull;
	{
		u64 v[6] = { old_ss, c->s.gpr[4], f, c->s.seg[CPU_SEG_CS].sel, ret, err };
		int nv = has_err ? 6 : 5;
		for (int k = 0; k < nv; k++) {
			sp -= 8;
			push_at(c, dpl, sp, 8, v[k]);
		}
	}
	if (inner) {
		struct cpu_seg *ss = &c->s.seg[CPU_SEG_SS];

		cpu_nv_written(c);
		ss->sel = (u16)dpl;
		ss->base = 0;
		ss->limit = 0;
		ss->ar = CPU_AR_UNUSABLE | ((u32)dpl << CPU_AR_DPL_SHIFT) | CPU_AR_DB;
	}
	c->s.gpr[4] = sp;
	f &= ~(u64)(CPU_FLAG_TF | CPU_FLAG_NT | CPU_FLAG_VM | CPU_FLAG_RF);
	if (!(gtype & 1))
		f &= ~(u64)CPU_FLAG_IF;
	cpu_write_rflags(c, f);
	cpu_set_cs(c, sel, d, dpl);
	c->s.rip = off;
}

void cpu_deliver(struct cpu *c, int vec, int type, bool has_err, u32 err, u64 ret)
{
	/* INT3/INTO/INT1 raise exceptions too: the exception bitmap covers them. */
	if ((type == CPU_EVENT_HWEXC || type == CPU_EVENT_SWEXC || type == CPU_EVENT_PRIV_SWEXC) &&
	    c->vmx_nonroot && vmx_intercept_exception(c, vec, has_err, err))
		return;
	c->delivering = (type == CPU_EVENT_HWEXC) ? vec : 256;
	if (!(c->mode & MODE_PE))
		deliver_real(c, vec, ret);
	else if (c->s.efer & CPU_EFER_LMA)
		deliver_long(c, vec, type, has_err, err, ret);
	else
		deliver_prot(c, vec, type, has_err, err, ret);
	c->delivering = -1;
	c->s.activity = CPU_ACTIVE;
	/* the event is delivered: the shadow of a preceding STI/MOV SS is gone */
	c->s.interruptibility &= ~(CPU_INTR_STI_BLOCKING | CPU_INTR_MOVSS_BLOCKING);
}

/* INT n, INT3, INTO, INT1: a trap, so the return address is the next insn. */
__attribute__((noreturn)) void cpu_soft_int(struct cpu *c, const struct insn *i, int vec, int type)
{
	u64 ret = next_rip(c, i);

	cpu_count_partial(c);	/* the instructions of the block before this one */
	c->icount++;
	cpu_deliver(c, vec, type, false, 0, ret);
	cpu_jump(c, 3);
}
