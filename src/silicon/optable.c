// SPDX-License-Identifier: MIT
/*
 * optable.c: the dense dispatch tables, [map][opcode] -> handler, and the
 * group / prefix-selected forms.  The choice is made once per decode; the
 * run loop only calls insn->fn.
 */
#include "silicon/decode.h"
#include "silicon/ops.h"
#include "silicon/fpu.h"
#include "silicon/vmx.h"

const insn_fn optab[2][256] = {
	[0] = {
		[0x06] = op_push_seg, [0x07] = op_pop_seg, [0x0e] = op_push_seg,
		[0x16] = op_push_seg, [0x17] = op_pop_seg, [0x1e] = op_push_seg,
		[0x1f] = op_pop_seg,
		[0x27] = op_daa, [0x2f] = op_das, [0x37] = op_aaa, [0x3f] = op_aas,
		[0x40 ... 0x47] = op_inc_r, [0x48 ... 0x4f] = op_dec_r,
		[0x50 ... 0x57] = op_push_r, [0x58 ... 0x5f] = op_pop_r,
		[0x60] = op_pusha, [0x61] = op_popa, [0x62] = op_bound,
		[0x68] = op_push_imm, [0x69] = op_imul_r_rm_imm, [0x6a] = op_push_imm,
		[0x6b] = op_imul_r_rm_imm,
		[0x6c] = op_ins, [0x6d] = op_ins, [0x6e] = op_outs, [0x6f] = op_outs,
		[0x70 ... 0x7f] = op_jcc,
		[0x84] = op_test_rm_r, [0x85] = op_test_rm_r,
		[0x86] = op_xchg_rm_r, [0x87] = op_xchg_rm_r,
		[0x88] = op_mov_rm_r, [0x89] = op_mov_rm_r, [0x8a] = op_mov_r_rm,
		[0x8b] = op_mov_r_rm, [0x8c] = op_mov_rm_seg, [0x8d] = op_lea,
		[0x8e] = op_mov_seg_rm, [0x8f] = op_pop_rm,
		[0x91 ... 0x97] = op_xchg_a_r,
		[0x98] = op_cbw, [0x99] = op_cwd, [0x9a] = op_call_far, [0x9b] = op_fwait,
		[0x9c] = op_pushf, [0x9d] = op_popf, [0x9e] = op_sahf, [0x9f] = op_lahf,
		[0xa0 ... 0xa3] = op_mov_moffs,
		[0xa4] = op_movs, [0xa5] = op_movs, [0xa6] = op_cmps, [0xa7] = op_cmps,
		[0xa8] = op_test_a_imm, [0xa9] = op_test_a_imm,
		[0xaa] = op_stos, [0xab] = op_stos, [0xac] = op_lods, [0xad] = op_lods,
		[0xae] = op_scas, [0xaf] = op_scas,
		[0xb0 ... 0xbf] = op_mov_r_imm,
		[0xc0] = op_shift, [0xc1] = op_shift, [0xc2] = op_ret, [0xc3] = op_ret,
		[0xc4] = op_lxs, [0xc5] = op_lxs, [0xc6] = op_mov_rm_imm, [0xc7] = op_mov_rm_imm,
		[0xc8] = op_enter, [0xc9] = op_leave, [0xca] = op_retf, [0xcb] = op_retf,
		[0xcc] = op_int3, [0xcd] = op_int, [0xce] = op_into, [0xcf] = op_iret,
		[0xd0 ... 0xd3] = op_shift, [0xd4] = op_aam, [0xd5] = op_aad,
		[0xd6] = op_salc, [0xd7] = op_xlat,
		[0xd8 ... 0xdf] = op_x87,
		[0xe0 ... 0xe2] = op_loop, [0xe3] = op_jcxz,
		[0xe4] = op_in, [0xe5] = op_in, [0xe6] = op_out, [0xe7] = op_out,
		[0xe8] = op_call_rel, [0xe9] = op_jmp_rel, [0xea] = op_jmp_far, [0xeb] = op_jmp_rel,
		[0xec] = op_in, [0xed] = op_in, [0xee] = op_out, [0xef] = op_out,
		[0xf1] = op_int1, [0xf4] = op_hlt, [0xf5] = op_cmc,
		[0xf8] = op_clc, [0xf9] = op_stc, [0xfa] = op_cli, [0xfb] = op_sti,
		[0xfc] = op_cld, [0xfd] = op_std,
	},
	[1] = {
		[0x00] = op_grp6, [0x01] = op_grp7, [0x02] = op_lar, [0x03] = op_lsl,
		[0x05] = op_syscall, [0x06] = op_clts, [0x07] = op_sysret,
		[0x08] = op_invd, [0x09] = op_wbinvd, [0x0b] = op_ud, [0x0d] = op_nop,
		[0x18 ... 0x1f] = op_nop,
		[0x20] = op_mov_r_cr, [0x21] = op_mov_r_dr, [0x22] = op_mov_cr_r,
		[0x23] = op_mov_dr_r,
		[0x30] = op_wrmsr, [0x31] = op_rdtsc, [0x32] = op_rdmsr, [0x33] = op_rdpmc,
		[0x34] = op_sysenter, [0x35] = op_sysexit,
		[0x40 ... 0x4f] = op_cmovcc,
		[0x78] = op_vmread, [0x79] = op_vmwrite,
		[0x80 ... 0x8f] = op_jcc,
		[0x90 ... 0x9f] = op_setcc,
		[0xa0] = op_push_seg, [0xa1] = op_pop_seg, [0xa2] = op_cpuid, [0xa3] = op_bt,
		[0xa4] = op_shld, [0xa5] = op_shld, [0xa8] = op_push_seg, [0xa9] = op_pop_seg,
		[0xaa] = op_rsm, [0xab] = op_bt, [0xac] = op_shrd, [0xad] = op_shrd,
		[0xae] = op_grp15, [0xaf] = op_imul_r_rm,
		[0xb0] = op_cmpxchg, [0xb1] = op_cmpxchg, [0xb2] = op_lxs, [0xb3] = op_bt,
		[0xb4] = op_lxs, [0xb5] = op_lxs, [0xb6] = op_movzx, [0xb7] = op_movzx,
		[0xb8] = op_popcnt, [0xb9] = op_ud, [0xba] = op_bt_imm, [0xbb] = op_bt,
		[0xbc] = op_bsf, [0xbd] = op_bsr, [0xbe] = op_movsx, [0xbf] = op_movsx,
		[0xc0] = op_xadd, [0xc1] = op_xadd, [0xc7] = op_grp9,
		[0xc8 ... 0xcf] = op_bswap,
		[0xff] = op_ud,
	},
};

/* F6/F7 by ModRM.reg */
static const insn_fn grp3[8] = {
	op_test_rm_imm, op_test_rm_imm, op_not, op_neg, op_mul, op_imul1, op_div, op_idiv,
};

/* FF by ModRM.reg */
static const insn_fn grp5[8] = {
	op_grp4_5_incdec, op_grp4_5_incdec, op_call_rm, op_call_far_m,
	op_jmp_rm, op_jmp_far_m, op_push_rm, op_ud,
};

insn_fn optab_select(struct cpu *c, struct insn *i, u8 modrm)
{
	u8 b = i->op;
	int r = (modrm >> 3) & 7;
	insn_fn fn;

	if (i->map == 0) {
		if (b < 0x40 && (b & 7) < 6) {
			int k = b >> 3;
			bool mem = i->flags & IF_MEM;
			switch (b & 7) {
			case 0: case 1: return (mem ? alu_tab_rm_r : alu_tab_rr)[k][i->osz];
			case 2: case 3: return (mem ? alu_tab_r_rm : alu_tab_rr2)[k][i->osz];
			default: return alu_tab_a_imm[k][i->osz];
			}
		}
		if (b >= 0x80 && b <= 0x83)
			return ((i->flags & IF_MEM) ? alu_tab_rm_imm : alu_tab_ri)[r][i->osz];
		if (b >= 0x70 && b <= 0x7f)
			return jcc_tab[b & 15];
		switch (b) {
		case 0x63:
			if (c->code64)
				return op_movsxd;
			return (c->mode & MODE_PE) && !(c->mode & MODE_VM86) ? op_arpl : op_ud;
		case 0x90:
			if (i->flags & IF_REP)
				return op_pause;
			return i->reg == 0 ? op_nop : op_xchg_a_r;
		case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad:
		case 0xa6: case 0xa7: case 0xae: case 0xaf:
			if (!(i->flags & (IF_REP | IF_REPNE)))
				i->flags &= ~IF_TERM;	/* a single string op is ordinary */
			break;
		case 0xe4: case 0xe5: case 0xe6: case 0xe7:
		case 0xec: case 0xed: case 0xee: case 0xef:
			/*
			 * Port I/O: what its VM-exit qualification has of the
			 * instruction alone (SDM Table 28-5: size - 1, IN,
			 * immediate port), for op_in()/op_out() and
			 * vmx_intercept_io(); the port goes in at bit 16.
			 */
			i->imm2 = (u16)((i->osz == SZ8 ? 0 : i->osz == SZ16 ? 1 : 3) |
					(!(b & 2) ? IO_QUAL_IN : 0) | (b < 0xe8 ? IO_QUAL_IMM : 0));
			break;
		case 0xb0 ... 0xbf:
			return mov_ri_tab[i->osz];
		case 0x88: case 0x89:
			return mov_tab[(i->flags & IF_MEM) ? 2 : 0][i->osz];
		case 0x8a: case 0x8b:
			return mov_tab[(i->flags & IF_MEM) ? 3 : 1][i->osz];
		case 0xc6: case 0xc7:
			if (r == 0 && (i->flags & IF_MEM))
				return mov_tab[4][i->osz];
			break;
		case 0xc0: case 0xc1: case 0xd0: case 0xd1:
			if (i->flags & IF_MEM)
				break;
			if (b >= 0xd0)
				i->imm = 1;
			return shift_ri_tab[r][i->osz];
		case 0xf6: case 0xf7:
			return grp3[r];
		case 0xfe:
		case 0xff:
			if (r < 2 && !(i->flags & IF_MEM))
				return incdec_reg_tab[r][i->osz];
			if (b == 0xfe)
				return r < 2 ? op_grp4_5_incdec : op_ud;
			fn = grp5[r];
			if (r == 2 || r == 4) {
				/* near indirect branches are 64-bit in 64-bit mode (F64) */
				if (c->code64)
					i->osz = SZ64;
				i->flags |= IF_TERM;
			} else if (r == 3 || r == 5) {
				i->flags |= IF_TERM;
			} else if (r == 6 && c->code64 && !(i->flags & IF_OSZ_PFX)) {
				i->osz = SZ64;	/* PUSH r/m is D64 */
			}
			return fn;
		}
		fn = optab[0][b];
		return fn ? fn : op_ud;
	}
	if (i->map == 1) {
		if (b >= 0x80 && b <= 0x8f)
			return jcc_tab[b & 15];
		switch (b) {
		case 0xb8:
			return (i->flags & IF_REP) ? op_popcnt : op_ud;	/* JMPE is IA-64 only */
		case 0xb6: case 0xb7: case 0xbe: case 0xbf:
			return movx_tab[!!(i->flags & IF_MEM)][b >= 0xbe][b & 1];
		}
		fn = optab[1][b];
		return fn ? fn : sse_select(c, i);
	}
	if (i->map == 2) {
		switch (b) {
		case 0xf0: case 0xf1:
			if (i->flags & IF_REPNE)
				return op_crc32;
			return op_movbe;
		case 0xf6:
			if (i->flags & (IF_REP | IF_OSZ_PFX))
				return op_adcx;
			return op_ud;
		case 0x80:
			return (i->flags & IF_OSZ_PFX) ? op_invept : op_ud;
		case 0x81:
			return (i->flags & IF_OSZ_PFX) ? op_invvpid : op_ud;
		case 0x82:
			return (i->flags & IF_OSZ_PFX) ? op_invpcid : op_ud;
		}
	}
	return op_ud;
}

/*
 * The memory forms of the hot handlers come in one version per addressing
 * form (ops.h, EAF_*); pick it when the form applies: 64-bit mode (a block
 * is only run in the mode it was decoded in), 64-bit addresses, a segment
 * with base 0 and a base register or RIP.  Register MOVZX/MOVSX come per
 * operand size.
 */
insn_fn ea_select(struct cpu *c, const struct insn *i, insn_fn fn)
{
	int f, sz = i->osz;

	if (!(i->flags & IF_MEM)) {
		/* register MOVZX/MOVSX: per operand size as well */
		for (int sx = 0; sx < 2; sx++)
			for (int w = 0; w < 2; w++)
				if (fn == movx_tab[0][sx][w])
					return movx_rr_tab[sx][w][sz];
		return fn;
	}
	if (!c->code64 || i->asz != SZ64 || i->seg >= CPU_SEG_FS)
		return fn;
	if (i->flags & IF_RIPREL)
		f = EAF_RIP;
	else if (i->base != REG_NONE)
		f = i->index == REG_NONE ? EAF_B : EAF_BI;
	else
		return fn;
	for (int k = 0; k < 8; k++) {
		if (fn == alu_tab_rm_r[k][sz])
			return alu_ea_tab_rm_r[f][k][sz];
		if (fn == alu_tab_r_rm[k][sz])
			return alu_ea_tab_r_rm[f][k][sz];
		if (fn == alu_tab_rm_imm[k][sz])
			return alu_ea_tab_rm_imm[f][k][sz];
	}
	for (int k = 0; k < 3; k++)
		if (fn == mov_tab[2 + k][sz])
			return mov_ea_tab[f][k][sz];
	for (int sx = 0; sx < 2; sx++)
		for (int w = 0; w < 2; w++)
			if (fn == movx_tab[1][sx][w])
				return movx_ea_tab[f][sx][w][sz];
	if (fn == op_lea && sz >= SZ32)
		return lea_ea_tab[f][sz - SZ32];
	return fn;
}
