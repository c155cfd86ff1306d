// SPDX-License-Identifier: MIT
/*
 * seg.c: segmentation (SDM vol. 3 chapters 3 and 5): limit and type checks
 * on accesses, segment register loads with their protection checks, far
 * JMP/CALL/RET and IRET.
 *
 * FIXME: task gates and task switches are not implemented: a far
 * transfer to a TSS or task gate raises #GP(selector).
 */
#include "silicon/ops.h"

static __always_inline bool is_code(u32 ar) { return (ar & CPU_AR_S) && (ar & 8); }
static __always_inline bool is_conforming(u32 ar) { return is_code(ar) && (ar & 4); }
static __always_inline int dpl_of(u32 ar) { return (ar >> CPU_AR_DPL_SHIFT) & 3; }

u64 seg_check_slow(struct cpu *c, int seg, u64 off, int size, int kind)
{
	const struct cpu_seg *s = &c->s.seg[seg];
	int vec = seg == CPU_SEG_SS ? EXC_SS : EXC_GP;
	u32 ar = s->ar;
	u64 last = off + size - 1;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86)) {
		/* real/VM86 mode: limit checks only (the hidden limit may be "unreal") */
		if (last > s->limit)
			cpu_fault(c, vec, 0);
		return (s->base + off) & 0xffffffffull;
	}
	if (ar & CPU_AR_UNUSABLE)
		cpu_fault(c, vec, 0);
	if (is_code(ar)) {
		if (kind == ACC_W || (kind == ACC_R && !(ar & 2)))
			cpu_fault(c, vec, 0);
	} else if (kind == ACC_W && !(ar & 2)) {
		cpu_fault(c, vec, 0);
	}
	if (!is_code(ar) && (ar & 4)) {		/* expand-down */
		u64 upper = (ar & CPU_AR_DB) ? 0xffffffffull : 0xffff;
		if (off <= s->limit || last > upper)
			cpu_fault(c, vec, 0);
	} else if (last > s->limit) {
		cpu_fault(c, vec, 0);
	}
	return (s->base + off) & 0xffffffffull;
}

static u64 sys_read(struct cpu *c, u64 lin, int size)
{
	return mem_read_slow(c, lin, size, ACC_R | ACC_IMPLICIT);
}

u64 cpu_read_desc(struct cpu *c, u16 sel, int vec, u64 *lin_out)
{
	u64 base;
	u32 limit;
	u16 idx = sel & ~7;

	if (sel & 4) {
		const struct cpu_seg *l = &c->s.seg[CPU_SEG_LDTR];
		if (l->ar & CPU_AR_UNUSABLE)
			cpu_fault(c, vec, sel & 0xfffc);
		base = l->base;
		limit = l->limit;
	} else {
		base = c->s.gdtr.base;
		limit = c->s.gdtr.limit;
	}
	if ((u32)idx + 7 > limit)
		cpu_fault(c, vec, sel & 0xfffc);
	if (lin_out)
		*lin_out = base + idx;
	if (!(c->s.efer & CPU_EFER_LMA))
		return sys_read(c, (base + idx) & 0xffffffffull, 8);
	return sys_read(c, base + idx, 8);
}

void cpu_desc_to_seg(u64 d, u64 d_hi, u16 sel, struct cpu_seg *s)
{
	u32 limit = (u32)(d & 0xffff) | (u32)((d >> 32) & 0xf0000);

	s->sel = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->ar = (u32)((d >> 40) & 0xf0ff);
	if (s->ar & CPU_AR_G)
		limit = (limit << 12) | 0xfff;
	s->limit = limit;
	if (!(s->ar & CPU_AR_S))
		s->base |= (d_hi & 0xffffffffull) << 32;
}

/* Set the accessed bit of a descriptor in memory (SDM 3.4.5.1). */
static void set_accessed(struct cpu *c, u64 lin, u64 d)
{
	if (d & (1ull << 40))
		return;
	mem_write_slow(c, lin + 5, 1, (u8)((d >> 40) | 1), ACC_W | ACC_IMPLICIT);
}

void cpu_load_seg_real(struct cpu *c, int seg, u16 sel)
{
	struct cpu_seg *s = &c->s.seg[seg];

	s->sel = sel;
	s->base = (u64)sel << 4;
	if (c->mode & MODE_VM86) {
		s->limit = 0xffff;
		s->ar = 0xf3 | (seg == CPU_SEG_CS ? 8 : 0);
	} else if (s->ar & CPU_AR_UNUSABLE) {
		s->ar = 0x93;
	}
	cpu_update_mode(c);
}

/* MOV/POP/LxS to SS, DS, ES, FS, GS with the checks of SDM MOV (vol. 2). */
void cpu_load_seg(struct cpu *c, int seg, u16 sel)
{
	struct cpu_seg ns;
	u64 d, lin;
	int rpl = sel & 3, cpl = c->cpl, dpl;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86)) {
		cpu_load_seg_real(c, seg, sel);
		return;
	}
	if ((sel & 0xfffc) == 0) {
		if (seg == CPU_SEG_SS && !(c->code64 && cpl < 3 && rpl == cpl))
			cpu_gp0(c);
		c->s.seg[seg].sel = sel;
		c->s.seg[seg].ar = CPU_AR_UNUSABLE | (seg == CPU_SEG_SS ? (u32)cpl << CPU_AR_DPL_SHIFT : 0);
		c->s.seg[seg].base = 0;
		c->s.seg[seg].limit = 0;
		cpu_update_mode(c);
		return;
	}
	d = cpu_read_desc(c, sel, EXC_GP, &lin);
	cpu_desc_to_seg(d, 0, sel, &ns);
	dpl = dpl_of(ns.ar);
	if (seg == CPU_SEG_SS) {
		if (rpl != cpl || dpl != cpl || is_code(ns.ar) || !(ns.ar & CPU_AR_S) || !(ns.ar & 2))
			cpu_fault(c, EXC_GP, sel & 0xfffc);
		if (!(ns.ar & CPU_AR_P))
			cpu_fault(c, EXC_SS, sel & 0xfffc);
	} else {
		if (!(ns.ar & CPU_AR_S) || (is_code(ns.ar) && !(ns.ar & 2)))
			cpu_fault(c, EXC_GP, sel & 0xfffc);
		if (!is_conforming(ns.ar) && (dpl < cpl || dpl < rpl))
			cpu_fault(c, EXC_GP, sel & 0xfffc);
		if (!(ns.ar & CPU_AR_P))
			cpu_fault(c, EXC_NP, sel & 0xfffc);
	}
	set_accessed(c, lin, d);
	ns.ar |= 1;
	if (seg >= CPU_SEG_FS && c->code64)
		ns.base = (u32)ns.base;
	c->s.seg[seg] = ns;
	cpu_update_mode(c);
}

/* Load CS from a code descriptor already checked; RPL becomes the CPL. */
void cpu_set_cs(struct cpu *c, u16 sel, u64 desc, int cpl)
{
	struct cpu_seg *cs = &c->s.seg[CPU_SEG_CS];

	cpu_nv_written(c);
	cpu_desc_to_seg(desc | (1ull << 40), 0, (sel & 0xfffc) | cpl, cs);
	/* CPL lives in SS.DPL (as in the VMCS); SS is fixed up by the caller when it changes */
	c->s.seg[CPU_SEG_SS].ar = (c->s.seg[CPU_SEG_SS].ar & ~CPU_AR_DPL_MASK) |
				  ((u32)cpl << CPU_AR_DPL_SHIFT);
	cpu_update_mode(c);
}

static void check_code_target(struct cpu *c, u64 d, u16 sel, bool ret)
{
	u32 ar = (u32)((d >> 40) & 0xf0ff);
	int dpl = dpl_of(ar), rpl = sel & 3, cpl = c->cpl;

	if (!is_code(ar))
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	if (ret) {
		if (rpl < cpl || (is_conforming(ar) ? dpl > rpl : dpl != rpl))
			cpu_fault(c, EXC_GP, sel & 0xfffc);
	} else if (is_conforming(ar) ? dpl > cpl : (rpl > cpl || dpl != cpl)) {
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	}
	if ((c->s.efer & CPU_EFER_LMA) && (ar & CPU_AR_L) && (ar & CPU_AR_DB))
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	if (!(ar & CPU_AR_P))
		cpu_fault(c, EXC_NP, sel & 0xfffc);
}

static u64 desc_limit(u64 d)
{
	u32 limit = (u32)(d & 0xffff) | (u32)((d >> 32) & 0xf0000);
	if (d & (1ull << 55))
		limit = (limit << 12) | 0xfff;
	return limit;
}

/* Stack writes of a privilege change: supervisor accesses (SDM 5.8.5). */
static void sys_push(struct cpu *c, u64 lin, int size, u64 v)
{
	mem_write_slow(c, lin, size, v, ACC_W | ACC_IMPLICIT);
}

/*
 * Far CALL/JMP through a call gate (SDM 5.8.3-5.8.6): 16- and 32-bit gates
 * in legacy mode (with parameter copying on a privilege change) and
 * 64-bit gates (16 bytes) in IA-32e mode.
 */
static void call_gate(struct cpu *c, const struct insn *i, u16 sel, u64 d, bool call)
{
	u64 lin = ((sel & 4) ? c->s.seg[CPU_SEG_LDTR].base : c->s.gdtr.base) + (sel & ~7u);
	bool lm = c->s.efer & CPU_EFER_LMA;
	int type = (d >> 40) & 0xf, gdpl = (d >> 45) & 3, cpl = c->cpl, tdpl, gsz, size;
	u16 tsel = (u16)(d >> 16), old_cs = c->s.seg[CPU_SEG_CS].sel;
	u64 off = (d & 0xffff) | ((d >> 32) & 0xffff0000u), td, ret = next_rip(c, i);
	u32 ar;
	bool inner;

	if ((type != 0x4 && type != 0xc) || (lm && type != 0xc))
		cpu_fault(c, EXC_GP, sel & 0xfffc);	/* FIXME: task gates, TSS */
	if (gdpl < cpl || gdpl < (sel & 3))
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	if (!((d >> 47) & 1))
		cpu_fault(c, EXC_NP, sel & 0xfffc);
	if (lm) {
		u64 hi = sys_read(c, lin + 8, 8);
		if ((hi >> 40) & 0x1f)
			cpu_fault(c, EXC_GP, sel & 0xfffc);
		off |= hi << 32;
	}
	gsz = lm ? SZ64 : type == 0xc ? SZ32 : SZ16;
	size = 1 << gsz;
	if (gsz == SZ16)
		off &= 0xffff;
	if ((tsel & 0xfffc) == 0)
		cpu_gp0(c);
	td = cpu_read_desc(c, tsel, EXC_GP, NULL);
	ar = (u32)((td >> 40) & 0xf0ff);
	tdpl = dpl_of(ar);
	if (!is_code(ar) || tdpl > cpl || (lm && (!(ar & CPU_AR_L) || (ar & CPU_AR_DB))))
		cpu_fault(c, EXC_GP, tsel & 0xfffc);
	if (!(ar & CPU_AR_P))
		cpu_fault(c, EXC_NP, tsel & 0xfffc);
	inner = !is_conforming(ar) && tdpl < cpl;
	if (!call) {
		if (!is_conforming(ar) && tdpl != cpl)
			cpu_fault(c, EXC_GP, tsel & 0xfffc);
		cpu_set_cs(c, tsel, td, cpl);
		set_rip(c, i, off);
		return;
	}
	if (!inner) {
		int ssz = stack_sz(c);
		u64 sp = c->s.gpr[4];
		mem_write(c, CPU_SEG_SS, (sp - size) & sz_mask(ssz), size, old_cs);
		mem_write(c, CPU_SEG_SS, (sp - 2 * size) & sz_mask(ssz), size, ret);
		reg_write(c, 4, ssz, sp - 2 * size);
		cpu_set_cs(c, tsel, td, is_conforming(ar) ? cpl : tdpl);
		set_rip(c, i, off);
		return;
	}
	/* more privileged: the new stack comes from the TSS */
	{
		const struct cpu_seg *tr = &c->s.seg[CPU_SEG_TR];
		struct cpu_seg old_ss = c->s.seg[CPU_SEG_SS], ns;
		u64 old_sp = c->s.gpr[4], nsp;
		u16 nss;

		if (lm) {
			if ((u32)(4 + tdpl * 8 + 7) > tr->limit)
				cpu_fault(c, EXC_TS, tr->sel & 0xfffc);
			nsp = sys_read(c, tr->base + 4 + tdpl * 8, 8);
			sys_push(c, nsp - 8, 8, old_ss.sel);
			sys_push(c, nsp - 16, 8, old_sp);
			sys_push(c, nsp - 24, 8, old_cs);
			sys_push(c, nsp - 32, 8, ret);
			cpu_nv_written(c);
			c->s.seg[CPU_SEG_SS] = (struct cpu_seg){ 0, 0, CPU_AR_UNUSABLE | CPU_AR_DB |
						  ((u32)tdpl << CPU_AR_DPL_SHIFT), (u16)tdpl };
			c->s.gpr[4] = nsp - 32;
		} else {
			bool t32 = (tr->ar & 0xf) == 0xb || (tr->ar & 0xf) == 0x9;
			u32 at = t32 ? 4 + tdpl * 8 : 2 + tdpl * 4;
			int nparams = (d >> 32) & 0x1f, nssz;
			u64 params[32], m_old = sz_mask(stack_sz(c)), m;
			u64 desc;

			if (at + (t32 ? 7u : 3u) > tr->limit)
				cpu_fault(c, EXC_TS, tr->sel & 0xfffc);
			nsp = sys_read(c, tr->base + at, t32 ? 4 : 2);
			nss = (u16)sys_read(c, tr->base + at + (t32 ? 4 : 2), 2);
			if ((nss & 0xfffc) == 0 || (nss & 3) != tdpl)
				cpu_fault(c, EXC_TS, nss & 0xfffc);
			desc = cpu_read_desc(c, nss, EXC_TS, NULL);
			cpu_desc_to_seg(desc, 0, nss, &ns);
			if (dpl_of(ns.ar) != tdpl || !(ns.ar & CPU_AR_S) || is_code(ns.ar) ||
			    !(ns.ar & 2))
				cpu_fault(c, EXC_TS, nss & 0xfffc);
			if (!(ns.ar & CPU_AR_P))
				cpu_fault(c, EXC_SS, nss & 0xfffc);
			for (int k = 0; k < nparams; k++)
				params[k] = mem_read(c, CPU_SEG_SS, (old_sp + k * size) & m_old, size);
			ns.ar |= 1;
			nssz = (ns.ar & CPU_AR_DB) ? SZ32 : SZ16;
			m = sz_mask(nssz);
			nsp &= m;
			{
				u64 v[36];
				int nv = 0;
				v[nv++] = old_ss.sel;
				v[nv++] = old_sp & m_old;
				for (int k = nparams - 1; k >= 0; k--)
					v[nv++] = params[k];
				v[nv++] = old_cs;
				v[nv++] = ret;
				for (int k = 0; k < nv; k++) {
					nsp = (nsp - size) & m;
					sys_push(c, (ns.base + nsp) & 0xffffffffull, size, v[k]);
				}
			}
			cpu_nv_written(c);
			c->s.seg[CPU_SEG_SS] = ns;
			reg_write(c, 4, nssz, nsp);
		}
		cpu_set_cs(c, tsel, td, tdpl);
		set_rip(c, i, off);
	}
}

void cpu_far_jmp(struct cpu *c, const struct insn *i, u16 sel, u64 off, bool call, int osz)
{
	u64 d, ret = next_rip(c, i);
	u16 old_cs = c->s.seg[CPU_SEG_CS].sel;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86)) {
		off &= sz_mask(osz);
		if (off > c->s.seg[CPU_SEG_CS].limit)
			cpu_gp0(c);
		if (call) {
			cpu_push(c, osz, old_cs);
			cpu_push(c, osz, ret);
		}
		cpu_load_seg_real(c, CPU_SEG_CS, sel);
		set_rip(c, i, off);
		return;
	}
	if ((sel & 0xfffc) == 0)
		cpu_gp0(c);
	d = cpu_read_desc(c, sel, EXC_GP, NULL);
	if (!((d >> 44) & 1) && c->vmx_nonroot && !(c->s.efer & CPU_EFER_LMA)) {
		int type = (d >> 40) & 0xf;
		int src = call ? VMX_TASK_SWITCH_CALL : VMX_TASK_SWITCH_JMP;

		if (type == 0x1 || type == 0x9)		/* available TSS */
			vmx_intercept_task_switch(c, i, sel, src);
		if (type == 0x5)			/* task gate */
			vmx_intercept_task_switch(c, i, (u16)(d >> 16), src);
	}
	if (!((d >> 44) & 1))	/* system descriptor: call/task gate, TSS */
		return call_gate(c, i, sel, d, call);
	check_code_target(c, d, sel, false);
	{
		bool l = (c->s.efer & CPU_EFER_LMA) && ((d >> 53) & 1);
		if (!l) {
			off &= sz_mask(osz);
			if (off > desc_limit(d))
				cpu_gp0(c);
		}
	}
	if (call) {
		/* push with the current stack, check nothing is left half done */
		int ssz = stack_sz(c), size = 1 << osz;
		u64 sp = c->s.gpr[4];
		mem_write(c, CPU_SEG_SS, (sp - size) & sz_mask(ssz), size, old_cs);
		mem_write(c, CPU_SEG_SS, (sp - 2 * size) & sz_mask(ssz), size, ret);
		reg_write(c, 4, ssz, sp - 2 * size);
	}
	cpu_set_cs(c, sel, d, c->cpl);
	set_rip(c, i, off);
}

/* After a return to an outer ring, data segments the new CPL may not use become null. */
static void null_outer_segs(struct cpu *c)
{
	cpu_nv_written(c);
	for (int s = CPU_SEG_ES; s <= CPU_SEG_GS; s++) {
		struct cpu_seg *g = &c->s.seg[s];
		if (s == CPU_SEG_CS || s == CPU_SEG_SS || (g->ar & CPU_AR_UNUSABLE))
			continue;
		if ((!is_code(g->ar) || !is_conforming(g->ar)) && dpl_of(g->ar) < c->cpl) {
			g->sel = 0;
			g->ar |= CPU_AR_UNUSABLE;
		}
	}
	cpu_update_mode(c);
}

/* Load SS for the new (outer) CPL during RET/IRET. */
static void load_ss_for(struct cpu *c, u16 sel, int cpl)
{
	struct cpu_seg ns;
	u64 d, lin;

	if ((sel & 0xfffc) == 0) {
		if (!(c->s.efer & CPU_EFER_LMA) || cpl == 3 || (sel & 3) != cpl)
			cpu_gp0(c);
		cpu_nv_written(c);
		c->s.seg[CPU_SEG_SS].sel = sel;
		c->s.seg[CPU_SEG_SS].ar = CPU_AR_UNUSABLE | ((u32)cpl << CPU_AR_DPL_SHIFT) | CPU_AR_DB;
		c->s.seg[CPU_SEG_SS].base = 0;
		c->s.seg[CPU_SEG_SS].limit = 0;
		return;
	}
	d = cpu_read_desc(c, sel, EXC_GP, &lin);
	cpu_desc_to_seg(d, 0, sel, &ns);
	if ((sel & 3) != cpl || dpl_of(ns.ar) != cpl || is_code(ns.ar) || !(ns.ar & CPU_AR_S) ||
	    !(ns.ar & 2))
		cpu_fault(c, EXC_GP, sel & 0xfffc);
	if (!(ns.ar & CPU_AR_P))
		cpu_fault(c, EXC_SS, sel & 0xfffc);
	set_accessed(c, lin, d);
	ns.ar |= 1;
	cpu_nv_written(c);
	c->s.seg[CPU_SEG_SS] = ns;
}

void cpu_far_ret(struct cpu *c, const struct insn *i, int osz, u16 pop_extra)
{
	int ssz = stack_sz(c), size = 1 << osz;
	u64 m = sz_mask(ssz), sp = c->s.gpr[4] & m;
	u64 off = mem_read(c, CPU_SEG_SS, sp, size);
	u16 sel = (u16)mem_read(c, CPU_SEG_SS, (sp + size) & m, size);
	u64 d;
	int rpl = sel & 3;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86)) {
		off &= sz_mask(osz);
		cpu_load_seg_real(c, CPU_SEG_CS, sel);
		reg_write(c, 4, ssz, sp + 2 * size + pop_extra);
		set_rip(c, i, off);
		return;
	}
	if ((sel & 0xfffc) == 0)
		cpu_gp0(c);
	d = cpu_read_desc(c, sel, EXC_GP, NULL);
	check_code_target(c, d, sel, true);
	if (rpl == c->cpl) {
		cpu_set_cs(c, sel, d, rpl);
		reg_write(c, 4, ssz, sp + 2 * size + pop_extra);
		if (!c->code64)
			off &= sz_mask(osz);
		set_rip(c, i, off);
		return;
	}
	{
		u64 nsp_at = (sp + 2 * size + pop_extra) & m;
		u64 nsp = mem_read(c, CPU_SEG_SS, nsp_at, size);
		u16 nss = (u16)mem_read(c, CPU_SEG_SS, (nsp_at + size) & m, size);
		load_ss_for(c, nss, rpl);
		cpu_set_cs(c, sel, d, rpl);
		ssz = stack_sz(c);
		reg_write(c, 4, ssz == SZ16 ? SZ16 : ssz, nsp + pop_extra);
		null_outer_segs(c);
		if (!c->code64)
			off &= sz_mask(osz);
		set_rip(c, i, off);
	}
}

/* The RFLAGS bits POPF/IRET may write, by privilege (SDM POPF, IRET). */
u64 cpu_flags_mask(struct cpu *c, bool iret)
{
	u64 m = FLAGS_ARITH | CPU_FLAG_TF | CPU_FLAG_DF | CPU_FLAG_NT | CPU_FLAG_AC | CPU_FLAG_ID;
	unsigned iopl = (c->s.rflags >> 12) & 3;

	if (c->cpl == 0)
		m |= CPU_FLAG_IOPL | CPU_FLAG_IF;
	else if (c->cpl <= iopl)
		m |= CPU_FLAG_IF;
	if (iret) {
		m |= CPU_FLAG_RF;
		if (c->cpl == 0)
			m |= CPU_FLAG_VIF | CPU_FLAG_VIP;
	}
	if (!(c->mode & MODE_PE))
		m |= CPU_FLAG_IOPL | CPU_FLAG_IF;
	return m;
}

void cpu_write_rflags(struct cpu *c, u64 v)
{
	c->s.rflags = (v & 0x3f7fd5) | 2;
	c->lf_op = LF_NONE;
	if (v & CPU_FLAG_TF)
		cpu_req(c, REQ_SLOW);	/* single-step from the next instruction */
	cpu_ac_changed(c);
}

/*
 * Alignment checking (SDM 6.15, #AC): CPL3 data accesses when CR0.AM and
 * RFLAGS.AC are set.  The user TLB is not filled for data meanwhile, so
 * every such access reaches the check in the slow path (tlb.c).
 */
void cpu_ac_changed(struct cpu *c)
{
	bool on = (c->s.cr0 & CPU_CR0_AM) && (c->s.rflags & CPU_FLAG_AC) && c->cpl == 3;

	if (on && !c->ac_check) {
		for (int k = ACC_R; k <= ACC_W; k++)
			for (unsigned n = 0; n < TLB_SIZE; n++)
				c->tlb[1][k][n].tag = 1;
	}
	c->ac_check = on;
}

static void set_flags_masked(struct cpu *c, u64 v, u64 mask)
{
	u64 f = cpu_get_flags(c);
	cpu_write_rflags(c, (f & ~mask) | (v & mask));
}

void cpu_iret(struct cpu *c, const struct insn *i)
{
	int osz = i->osz, size = 1 << osz, ssz = stack_sz(c);
	u64 m = sz_mask(ssz), sp = c->s.gpr[4] & m;
	u64 off, fl, d;
	u16 sel;
	int rpl;

	if (!(c->mode & MODE_PE) || (c->mode & MODE_VM86)) {
		if ((c->mode & MODE_VM86) && ((c->s.rflags >> 12) & 3) < 3)
			cpu_gp0(c);
		off = mem_read(c, CPU_SEG_SS, sp, size);
		sel = (u16)mem_read(c, CPU_SEG_SS, (sp + size) & m, size);
		fl = mem_read(c, CPU_SEG_SS, (sp + 2 * size) & m, size);
		if (off > c->s.seg[CPU_SEG_CS].limit)
			cpu_gp0(c);
		cpu_load_seg_real(c, CPU_SEG_CS, sel);
		reg_write(c, 4, ssz, sp + 3 * size);
		{
			u64 mask = (c->mode & MODE_VM86) ? cpu_flags_mask(c, true) & ~(u64)CPU_FLAG_IOPL
							 : cpu_flags_mask(c, true);
			if (osz == SZ16)
				mask &= 0xffff;
			set_flags_masked(c, fl, mask);
		}
		c->s.interruptibility &= ~CPU_INTR_NMI_BLOCKING;
		cpu_req(c, REQ_SLOW);
		set_rip(c, i, off);
		return;
	}
	if ((c->s.rflags & CPU_FLAG_NT) && c->vmx_nonroot && !(c->s.efer & CPU_EFER_LMA))
		vmx_intercept_task_switch(c, i, (u16)mem_read_slow(c, c->s.seg[CPU_SEG_TR].base, 2,
								  ACC_R | ACC_IMPLICIT),
					  VMX_TASK_SWITCH_IRET);
	if (c->s.rflags & CPU_FLAG_NT)
		cpu_gp0(c);	/* FIXME: task return (and #GP(0) in IA-32e mode is right) */
	off = mem_read(c, CPU_SEG_SS, sp, size);
	sel = (u16)mem_read(c, CPU_SEG_SS, (sp + size) & m, size);
	fl = mem_read(c, CPU_SEG_SS, (sp + 2 * size) & m, size);
	if (osz == SZ16)
		fl = (c->s.rflags & ~0xffffull) | (fl & 0xffff);
	if (!(c->s.efer & CPU_EFER_LMA) && (fl & CPU_FLAG_VM) && c->cpl == 0 && osz == SZ32) {
		/* return to virtual-8086 mode: pop ESP, SS, ES, DS, FS, GS */
		u64 v[6];
		for (int k = 0; k < 6; k++)
			v[k] = mem_read(c, CPU_SEG_SS, (sp + (3 + k) * 4) & m, 4);
		cpu_write_rflags(c, fl);
		c->mode |= MODE_VM86;
		cpu_update_mode(c);
		cpu_load_seg_real(c, CPU_SEG_CS, sel);
		cpu_load_seg_real(c, CPU_SEG_SS, (u16)v[1]);
		cpu_load_seg_real(c, CPU_SEG_ES, (u16)v[2]);
		cpu_load_seg_real(c, CPU_SEG_DS, (u16)v[3]);
		cpu_load_seg_real(c, CPU_SEG_FS, (u16)v[4]);
		cpu_load_seg_real(c, CPU_SEG_GS, (u16)v[5]);
		cpu_nv_written(c);
		for (int s = 0; s < 6; s++)
			c->s.seg[s].ar = 0xf3 | (s == CPU_SEG_CS ? 8 : 0);
		cpu_update_mode(c);
		c->s.gpr[4] = (u32)v[0];
		set_rip(c, i, off & 0xffff);
		return;
	}
	if ((sel & 0xfffc) == 0)
		cpu_gp0(c);
	d = cpu_read_desc(c, sel, EXC_GP, NULL);
	check_code_target(c, d, sel, true);
	rpl = sel & 3;
	{
		u64 mask = cpu_flags_mask(c, true);
		bool outer = rpl > c->cpl || c->code64;
		u64 nsp = 0;
		u16 nss = 0;
		if (osz == SZ16)
			mask &= 0xffff;
		if (outer) {
			nsp = mem_read(c, CPU_SEG_SS, (sp + 3 * size) & m, size);
			nss = (u16)mem_read(c, CPU_SEG_SS, (sp + 4 * size) & m, size);
		}
		set_flags_masked(c, fl, mask);
		c->s.interruptibility &= ~CPU_INTR_NMI_BLOCKING;
		cpu_req(c, REQ_SLOW);
		if (outer) {
			load_ss_for(c, nss, rpl);
			cpu_set_cs(c, sel, d, rpl);
			ssz = stack_sz(c);
			reg_write(c, 4, ssz == SZ16 ? SZ16 : ssz, nsp);
			if (rpl > 0)
				null_outer_segs(c);
		} else {
			cpu_set_cs(c, sel, d, rpl);
			reg_write(c, 4, ssz, sp + 3 * size);
		}
		if (!c->code64)
			off &= sz_mask(osz == SZ64 ? SZ32 : osz);
		set_rip(c, i, off);
	}
}
