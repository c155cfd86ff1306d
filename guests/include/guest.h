/* SPDX-License-Identifier: MIT */
/*
 * What the bundled guests (guests/<name>/*.S) share: the multiboot v1
 * header, COM1 output routines and the AP start-up trampoline.  Included
 * by the C preprocessor (the Makefile passes -Iguests/include); the pieces
 * are GAS macros so a guest places them where it wants them.
 */
#ifndef GUESTS_GUEST_H
#define GUESTS_GUEST_H

#define COM1 0x3f8
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003		/* page-aligned modules, memory info */
#define LAPIC 0xfee00000

/* The multiboot v1 header, in its own section (guests/guest.ld puts it first). */
.macro MULTIBOOT_HEADER
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.text
.endm

/*
 * putc(%al): wait for the transmitter holding register to be empty (LSR
 * bit 5) as a real driver does, then write; puts(%eax = NUL-terminated
 * string); putdec(%eax): unsigned decimal.  \r is the register prefix for
 * the saved registers: "e" in 32-bit code, "r" in 64-bit code.
 */
.macro COM1_ROUTINES r
putc:
	push %\r\()dx
	push %\r\()ax
	mov $COM1 + 5, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	pop %\r\()ax
	mov $COM1, %dx
	out %al, %dx
	pop %\r\()dx
	ret

puts:
	push %\r\()si
	mov %eax, %esi
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	pop %\r\()si
	ret

putdec:
	push %\r\()bx
	push %\r\()cx
	push %\r\()dx
	mov $10, %ebx
	xor %ecx, %ecx
1:	xor %edx, %edx
	div %ebx
	push %\r\()dx
	inc %ecx
	test %eax, %eax
	jnz 1b
2:	pop %\r\()ax
	add $'0', %al
	call putc
	loop 2b
	pop %\r\()dx
	pop %\r\()cx
	pop %\r\()bx
	ret
.endm

/*
 * The start of an AP trampoline, to be copied to \base (a SIPI vector
 * << 12): real mode with CS = \base >> 4, IP = 0, into flat 32-bit
 * protected mode with DS, ES and SS loaded (SDM Vol. 3A 9.9.1).  The guest's
 * own 32-bit code follows the macro, up to a label tramp_end that ends
 * the part to copy; it runs from the copy, so it jumps to absolute
 * addresses through a register.
 */
.macro AP_TRAMPOLINE base
	.code16
tramp:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdtr - tramp
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $(\base + tramp_pm - tramp)
	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
tramp_gdtr:
	.word 23
	.long \base + tramp_gdt - tramp
	.code32
tramp_pm:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
.endm

#endif
