/* SPDX-License-Identifier: MIT */
/*
 * decode.h: opcode attributes used by the decoder (decode.c) and the
 * handler selection (optable.c).
 */
#ifndef USERKVM_SILICON_DECODE_H
#define USERKVM_SILICON_DECODE_H

#include "silicon/cpu.h"

#define DA_MODRM	BIT(0)
#define DA_BYTE		BIT(1)	/* 8-bit operand size */
#define DA_IB		BIT(2)	/* imm8 (sign-extended) */
#define DA_IW		BIT(3)	/* imm16 */
#define DA_IZ		BIT(4)	/* imm16/32 by operand size */
#define DA_IV		BIT(5)	/* imm16/32/64 (MOV r, imm) */
#define DA_IENTER	BIT(6)	/* imm16, imm8 */
#define DA_IFAR		BIT(7)	/* ptr16:16/32 */
#define DA_MOFFS	BIT(8)	/* moffs by address size */
#define DA_D64		BIT(9)	/* operand size defaults to 64 in 64-bit mode */
#define DA_F64		BIT(10)	/* operand size is 64 in 64-bit mode */
#define DA_I64		BIT(11)	/* invalid in 64-bit mode */
#define DA_TERM		BIT(12)	/* ends a decoded block */
#define DA_SEG		BIT(13)	/* may exit in place: ends a segment of its block (IF_SEG) */

extern const u16 decode_attr0[256];
extern const u16 decode_attr1[256];
bool decode_lock_ok(const struct insn *i, u8 modrm);
void insn_flags(const struct insn *i, u32 *def, u32 *use);

#endif
