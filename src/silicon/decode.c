// SPDX-License-Identifier: MIT
/*
 * decode.c: instruction bytes -> struct insn.
 *
 * One pass over prefixes, REX, opcode (maps 0F, 0F38, 0F3A), ModRM/SIB,
 * displacement and immediate, per the SDM vol. 2 chapter 2.  The handler is
 * chosen here once (optab_select()) so execution is a single indirect call.
 */
#include "silicon/cpu.h"
#include "silicon/decode.h"
#include "silicon/ops.h"

/* Attributes of one-byte opcodes */
#define M	DA_MODRM
#define B	DA_BYTE
#define IB	DA_IB
#define IW	DA_IW
#define IZ	DA_IZ
#define IV	DA_IV
#define D64	DA_D64
#define F64	DA_F64
#define I64	DA_I64
#define T	DA_TERM
#define S	DA_SEG

#define ALU6 M | B, M, M | B, M, IB | B, IZ
/*
 * T: branches and the like; S: what exits in place (IN, OUT, HLT, CPUID:
 * cpu.h cpu_exit_prepare_park()), which ends a segment of its block
 * instead, where the run parks the exit and goes on (cpu.c run_block())
 */
const u16 decode_attr0[256] = {
	/* 00 */ ALU6, I64, I64 | T,
	/* 08 */ ALU6, I64, 0,
	/* 10 */ ALU6, I64, I64 | T,
	/* 18 */ ALU6, I64, I64,
	/* 20 */ ALU6, 0, I64,
	/* 28 */ ALU6, 0, I64,
	/* 30 */ ALU6, 0, I64,
	/* 38 */ ALU6, 0, I64,
	/* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ D64, D64, D64, D64, D64, D64, D64, D64,
	/* 58 */ D64, D64, D64, D64, D64, D64, D64, D64,
	/* 60 */ I64, I64, I64 | M, M, 0, 0, 0, 0,
	/* 68 */ D64 | IZ, M | IZ, D64 | IB, M | IB, B | T, T, B | T, T,
	/* 70 */ IB | F64 | T, IB | F64 | T, IB | F64 | T, IB | F64 | T,
	/* 74 */ IB | F64 | T, IB | F64 | T, IB | F64 | T, IB | F64 | T,
	/* 78 */ IB | F64 | T, IB | F64 | T, IB | F64 | T, IB | F64 | T,
	/* 7c */ IB | F64 | T, IB | F64 | T, IB | F64 | T, IB | F64 | T,
	/* 80 */ M | IB | B, M | IZ, M | IB | B | I64, M | IB, M | B, M, M | B, M,
	/* 88 */ M | B, M, M | B, M, M, M, M | T, M | D64,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0,
	/* 98 */ 0, 0, DA_IFAR | I64 | T, 0, D64, D64 | T, 0, 0,
	/* a0 */ DA_MOFFS | B, DA_MOFFS, DA_MOFFS | B, DA_MOFFS, B | T, T, B | T, T,
	/* a8 */ IB | B, IZ, B | T, T, B | T, T, B | T, T,
	/* b0 */ IB | B, IB | B, IB | B, IB | B, IB | B, IB | B, IB | B, IB | B,
	/* b8 */ IV, IV, IV, IV, IV, IV, IV, IV,
	/* c0 */ M | IB | B, M | IB, IW | F64 | T, F64 | T, M | T, M | T, M | IB | B, M | IZ,
	/* c8 */ DA_IENTER | D64, D64, IW | T, T, T, IB | T, I64 | T, T,
	/* d0 */ M | B, M, M | B, M, IB | I64, IB | I64, I64, B,
	/* d8 */ M, M, M, M, M, M, M, M,
	/* e0 */ IB | F64 | T, IB | F64 | T, IB | F64 | T, IB | F64 | T,
	/* e4 */ IB | B | S, IB | S, IB | B | S, IB | S,
	/* e8 */ IZ | F64 | T, IZ | F64 | T, DA_IFAR | I64 | T, IB | F64 | T,
	/* ec */ B | S, S, B | S, S,
	/* f0 */ 0, T, 0, 0, S, 0, M | B, M,
	/* f8 */ 0, 0, 0, T, 0, 0, M | B, M,
};

/* Two-byte (0F xx) opcodes */
const u16 decode_attr1[256] = {
	/* 00 */ [0x00] = M | T, [0x01] = M | T, [0x02] = M, [0x03] = M,
	[0x05] = T, [0x06] = T, [0x07] = T, [0x08] = T, [0x09] = T, [0x0b] = T,
	[0x0d] = M, [0x18] = M, [0x19] = M, [0x1a] = M, [0x1b] = M, [0x1c] = M,
	[0x1d] = M, [0x1e] = M, [0x1f] = M,
	[0x20] = M | T, [0x21] = M, [0x22] = M | T, [0x23] = M | T,
	[0x30] = T, [0x31] = 0, [0x32] = 0, [0x33] = 0, [0x34] = T, [0x35] = T,
	[0x78] = M, [0x79] = M,	/* VMREAD, VMWRITE */
	[0x40] = M, [0x41] = M, [0x42] = M, [0x43] = M, [0x44] = M, [0x45] = M,
	[0x46] = M, [0x47] = M, [0x48] = M, [0x49] = M, [0x4a] = M, [0x4b] = M,
	[0x4c] = M, [0x4d] = M, [0x4e] = M, [0x4f] = M,
	[0x80] = IZ | F64 | T, [0x81] = IZ | F64 | T, [0x82] = IZ | F64 | T,
	[0x83] = IZ | F64 | T, [0x84] = IZ | F64 | T, [0x85] = IZ | F64 | T,
	[0x86] = IZ | F64 | T, [0x87] = IZ | F64 | T, [0x88] = IZ | F64 | T,
	[0x89] = IZ | F64 | T, [0x8a] = IZ | F64 | T, [0x8b] = IZ | F64 | T,
	[0x8c] = IZ | F64 | T, [0x8d] = IZ | F64 | T, [0x8e] = IZ | F64 | T,
	[0x8f] = IZ | F64 | T,
	[0x90] = M | B, [0x91] = M | B, [0x92] = M | B, [0x93] = M | B,
	[0x94] = M | B, [0x95] = M | B, [0x96] = M | B, [0x97] = M | B,
	[0x98] = M | B, [0x99] = M | B, [0x9a] = M | B, [0x9b] = M | B,
	[0x9c] = M | B, [0x9d] = M | B, [0x9e] = M | B, [0x9f] = M | B,
	[0xa0] = D64, [0xa1] = D64, [0xa2] = S, [0xa3] = M, [0xa4] = M | IB,
	[0xa5] = M, [0xa8] = D64, [0xa9] = D64, [0xab] = M, [0xac] = M | IB,
	[0xad] = M, [0xae] = M | T, [0xaf] = M,
	[0xb0] = M | B, [0xb1] = M, [0xb2] = M | T, [0xb3] = M, [0xb4] = M,
	[0xb5] = M, [0xb6] = M, [0xb7] = M, [0xb8] = M, [0xb9] = M,
	[0xba] = M | IB, [0xbb] = M, [0xbc] = M, [0xbd] = M, [0xbe] = M, [0xbf] = M,
	[0xc0] = M | B, [0xc1] = M, [0xc7] = M,
	[0xc8] = 0, [0xc9] = 0, [0xca] = 0, [0xcb] = 0, [0xcc] = 0, [0xcd] = 0,
	[0xce] = 0, [0xcf] = 0,
	[0xff] = M,
	/* SSE/SSE2/MMX (sse.c, sse_fp.c) */
	[0x10 ... 0x17] = M, [0x28 ... 0x2f] = M, [0x50 ... 0x6f] = M,
	[0x70 ... 0x73] = M | IB, [0x74 ... 0x76] = M, [0x7e] = M, [0x7f] = M,
	[0xc2] = M | IB, [0xc3] = M, [0xc4 ... 0xc6] = M | IB, [0xd0 ... 0xfe] = M,
};

static inline u8 byte_reg(int r, bool rex)
{
	return (rex || r < 4) ? (u8)(r * 8) : (u8)((r - 4) * 8 + 1);
}

int cpu_decode(struct cpu *c, const u8 *p, int avail, struct insn *i)
{
	int n = 0, max = avail < 15 ? avail : 15;
	bool mode64 = c->code64;
	bool d32 = (c->mode & MODE_CS32) != 0;
	u8 rex = 0, b, modrm = 0;
	bool osz_pfx = false, asz_pfx = false;
	int seg = -1;
	u16 attr;

	memset(i, 0, sizeof(*i));
	i->base = REG_NONE;
	i->index = REG_NONE;

#define NEXT() ({ if (n >= max) goto need_more; p[n++]; })
	for (;;) {
		b = NEXT();
		switch (b) {
		case 0x66: osz_pfx = true; rex = 0; continue;
		case 0x67: asz_pfx = true; rex = 0; continue;
		case 0x26: seg = CPU_SEG_ES; rex = 0; continue;
		case 0x2e: seg = CPU_SEG_CS; rex = 0; continue;
		case 0x36: seg = CPU_SEG_SS; rex = 0; continue;
		case 0x3e: seg = CPU_SEG_DS; rex = 0; continue;
		case 0x64: seg = CPU_SEG_FS; rex = 0; continue;
		case 0x65: seg = CPU_SEG_GS; rex = 0; continue;
		case 0xf0: i->flags |= IF_LOCK; rex = 0; continue;
		case 0xf2: i->flags = (i->flags & ~IF_REP) | IF_REPNE; rex = 0; continue;
		case 0xf3: i->flags = (i->flags & ~IF_REPNE) | IF_REP; rex = 0; continue;
		}
		if (mode64 && (b & 0xf0) == 0x40) {
			rex = b;
			continue;
		}
		break;
	}
	if (b == 0x0f) {
		b = NEXT();
		if (b == 0x38) {
			i->map = 2;
			b = NEXT();
			attr = M;
		} else if (b == 0x3a) {
			i->map = 3;
			b = NEXT();
			attr = M | IB;
		} else {
			i->map = 1;
			attr = decode_attr1[b];
		}
	} else {
		i->map = 0;
		attr = decode_attr0[b];
		if (mode64 && (attr & DA_I64) && b != 0x63)
			goto ud;	/* invalid in 64-bit mode (SDM A.2.5) */
		/* C4/C5 (VEX) and 62 (EVEX) in 64-bit mode: no AVX yet. */
		if (mode64 && (b == 0xc4 || b == 0xc5))
			goto ud;
	}
	i->op = b;
	if (rex) {
		i->flags |= IF_REX;
		if (rex & 8)
			i->flags |= IF_REXW;
	}
	if (osz_pfx)
		i->flags |= IF_OSZ_PFX;

	/* Operand size (SDM 2.2.1.2, table 2-4) */
	if (attr & DA_BYTE)
		i->osz = SZ8;
	else if (mode64) {
		if (rex & 8)
			i->osz = SZ64;
		else if (attr & DA_F64)
			i->osz = SZ64;
		else if (attr & DA_D64)
			i->osz = osz_pfx ? SZ16 : SZ64;
		else
			i->osz = osz_pfx ? SZ16 : SZ32;
	} else {
		i->osz = (d32 ^ osz_pfx) ? SZ32 : SZ16;
	}
	if (mode64)
		i->asz = asz_pfx ? SZ32 : SZ64;
	else
		i->asz = (d32 ^ asz_pfx) ? SZ32 : SZ16;

	/* Opcode-embedded register */
	i->reg = (b & 7) | ((rex & 1) << 3);
	i->regb = byte_reg(i->reg, rex);

	if (attr & DA_MODRM) {
		int mod, rm, r;

		modrm = NEXT();
		mod = modrm >> 6;
		/* MOV CR/DR ignore mod: always a register (SDM MOV CR) */
		if (i->map == 1 && b >= 0x20 && b <= 0x23)
			mod = 3;
		r = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		rm = modrm & 7;
		i->reg = (u8)r;
		i->regb = byte_reg(r, rex);
		i->rm = (u8)(rm | ((rex & 1) << 3));
		if (mod == 3) {
			i->rm = (u8)(rm | ((rex & 1) << 3));
			i->rmb = byte_reg(i->rm, rex);
		} else {
			i->flags |= IF_MEM;
			if (i->asz == SZ16) {
				static const u8 b16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
				static const u8 x16[8] = { 6, 7, 6, 7, REG_NONE, REG_NONE,
							   REG_NONE, REG_NONE };
				if (mod == 0 && rm == 6) {
					u16 d = NEXT(); d |= (u16)NEXT() << 8;
					i->disp = d;
				} else {
					i->base = b16[rm];
					i->index = x16[rm];
					if (mod == 1)
						i->disp = (s8)NEXT();
					else if (mod == 2) {
						u16 d = NEXT(); d |= (u16)NEXT() << 8;
						i->disp = (s16)d;
					}
				}
				if (seg < 0 && (rm == 2 || rm == 3 || (rm == 6 && mod != 0)))
					seg = CPU_SEG_SS;
			} else {
				int base = rm;
				if (rm == 4) {
					u8 sib = NEXT();
					int idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
					base = sib & 7;
					i->scale = sib >> 6;
					if (idx != 4)
						i->index = (u8)idx;
					if (base == 5 && mod == 0) {
						base = -1;
					}
				} else if (rm == 5 && mod == 0) {
					base = -2;	/* disp32 / RIP-relative */
				}
				if (base >= 0) {
					i->base = (u8)(base | ((rex & 1) << 3));
					if (seg < 0 && (base == 4 || base == 5))
						seg = CPU_SEG_SS;
				}
				if (mod == 1) {
					i->disp = (s8)NEXT();
				} else if (mod == 2 || base < 0) {
					u32 d = NEXT(); d |= (u32)NEXT() << 8;
					d |= (u32)NEXT() << 16; d |= (u32)NEXT() << 24;
					i->disp = (s32)d;
				}
				if (base == -2 && mode64)
					i->flags |= IF_RIPREL;
			}
		}
	}
	i->seg = seg < 0 ? CPU_SEG_DS : (u8)seg;

	/* Immediates */
	if (i->map == 0 && (b == 0xf6 || b == 0xf7) && ((modrm >> 3) & 7) < 2)
		attr |= (b == 0xf6) ? DA_IB : DA_IZ;
	if (attr & DA_IB) {
		i->imm = (u64)(s64)(s8)NEXT();
	} else if (attr & DA_IW) {
		u16 v = NEXT(); v |= (u16)NEXT() << 8;
		i->imm = v;
	} else if (attr & (DA_IZ | DA_IV)) {
		int bytes = i->osz == SZ16 ? 2 : 4;
		u64 v = 0;
		if ((attr & DA_IV) && i->osz == SZ64)
			bytes = 8;
		for (int k = 0; k < bytes; k++)
			v |= (u64)NEXT() << (8 * k);
		i->imm = bytes == 2 ? (u64)(s64)(s16)v : bytes == 4 ? (u64)(s64)(s32)v : v;
	} else if (attr & DA_IENTER) {
		u16 v = NEXT(); v |= (u16)NEXT() << 8;
		i->imm = v;
		i->imm2 = NEXT();
	} else if (attr & DA_IFAR) {
		int bytes = i->osz == SZ16 ? 2 : 4;
		u64 v = 0;
		for (int k = 0; k < bytes; k++)
			v |= (u64)NEXT() << (8 * k);
		i->imm = v;
		i->imm2 = NEXT();
		i->imm2 |= (u16)(NEXT() << 8);
	} else if (attr & DA_MOFFS) {
		int bytes = 2 << (i->asz - SZ16);
		u64 v = 0;
		for (int k = 0; k < bytes; k++)
			v |= (u64)NEXT() << (8 * k);
		i->imm = v;
	}
#undef NEXT
	i->len = (u8)n;
	i->modrm = modrm;
	if (attr & DA_TERM)
		i->flags |= IF_TERM;
	if (attr & DA_SEG)
		i->flags |= IF_SEG;
	if ((i->flags & IF_LOCK) && !decode_lock_ok(i, modrm))
		goto ud;
	i->fn = ea_select(c, i, optab_select(c, i, modrm));
	if (i->fn == op_ud)
		i->flags |= IF_TERM;
	return n;

need_more:
	if (avail < 15 && n >= avail)
		return 0;	/* the caller retries with bytes from the next page */
	return -1;	/* longer than 15 bytes: #GP(0) (SDM 2.3.11) */
ud:
	i->len = (u8)(n ? n : 1);
	i->fn = op_ud;
	return i->len;
}

/*
 * LOCK is allowed only on these read-modify-write forms with a memory
 * destination (SDM vol. 2, LOCK); anything else is #UD.
 */
bool decode_lock_ok(const struct insn *i, u8 modrm)
{
	int r = (modrm >> 3) & 7;

	if (!(i->flags & IF_MEM))
		return false;
	if (i->map == 0) {
		u8 b = i->op;
		if (b < 0x40 && (b & 7) < 2 && (b >> 3) != 7)
			return true;	/* ALU r/m, reg except CMP */
		if (b >= 0x80 && b <= 0x83)
			return r != 7;
		if (b == 0x86 || b == 0x87)
			return true;
		if (b == 0xf6 || b == 0xf7)
			return r == 2 || r == 3;
		if (b == 0xfe || b == 0xff)
			return r < 2;
		return false;
	}
	if (i->map == 1) {
		switch (i->op) {
		case 0xab: case 0xb3: case 0xbb:	/* BTS BTR BTC */
		case 0xb0: case 0xb1: case 0xc0: case 0xc1:
			return true;
		case 0xba:
			return r >= 5;
		case 0xc7:
			return r == 1;
		}
	}
	return false;
}

/*
 * The arithmetic flags an instruction certainly writes (*def) and may read
 * (*use), for the dead-flag pass over a block (icache.c).  Only register
 * forms that cannot fault are described; anything else is a barrier that
 * reads every flag, so a fault or an event always sees exact flags.
 */
void insn_flags(const struct insn *i, u32 *def, u32 *use)
{
	u8 b = i->op;
	int r = (i->modrm >> 3) & 7;
	bool reg = !(i->flags & IF_MEM);

	*def = 0;
	*use = FLAGS_ARITH;
	if (i->fn == op_ud || (i->flags & IF_LOCK))
		return;
	if (i->map == 0) {
		if (b < 0x40 && (b & 7) < 6 && (reg || (b & 7) >= 4)) {
			int k = b >> 3;
			*def = FLAGS_ARITH;
			*use = (k == 2 || k == 3) ? CPU_FLAG_CF : 0;
			return;
		}
		if (b >= 0x80 && b <= 0x83 && reg) {
			*def = FLAGS_ARITH;
			*use = (r == 2 || r == 3) ? CPU_FLAG_CF : 0;
			return;
		}
		switch (b) {
		case 0x84: case 0x85:
			if (!reg)
				return;
			/* fallthrough */
		case 0xa8: case 0xa9:
			*def = FLAGS_ARITH;
			*use = 0;
			return;
		case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x86: case 0x87:
		case 0x63:
			if (reg)
				*use = 0;
			return;
		case 0x8d: case 0x90 ... 0x99: case 0xb0 ... 0xbf:
			*use = 0;
			return;
		case 0xc6: case 0xc7:
			if (reg)
				*use = 0;
			return;
		case 0xc0: case 0xc1: case 0xd0: case 0xd1: {
			unsigned cnt = (b >= 0xd0 ? 1 : (u8)i->imm) & (i->osz == SZ64 ? 63 : 31);
			if (!reg)
				return;
			if (cnt == 0) {
				*use = 0;
			} else if (r >= 4) {
				*def = FLAGS_ARITH;
				*use = 0;
			} else {
				*def = CPU_FLAG_CF | CPU_FLAG_OF;
				*use = r >= 2 ? CPU_FLAG_CF : 0;
			}
			return;
		}
		case 0xf6: case 0xf7:
			if (!reg)
				return;
			if (r == 2) {
				*use = 0;
			} else if (r == 3 || r == 4 || r == 5 || r < 2) {
				*def = FLAGS_ARITH;
				*use = 0;
			}
			return;
		case 0xfe: case 0xff:
			if (reg && r < 2) {
				*def = FLAGS_ARITH & ~CPU_FLAG_CF;
				*use = 0;
			}
			return;
		case 0x69: case 0x6b:
			if (reg) {
				*def = FLAGS_ARITH;
				*use = 0;
			}
			return;
		}
		return;
	}
	if (i->map == 1 && reg) {
		switch (b) {
		case 0xaf:
			*def = FLAGS_ARITH;
			*use = 0;
			return;
		case 0xb6: case 0xb7: case 0xbe: case 0xbf: case 0xc8 ... 0xcf:
		case 0x1f:
			*use = 0;
			return;
		}
	}
}
