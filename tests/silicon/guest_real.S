/* SPDX-License-Identifier: MIT */
/*
 * guest_real.S: real-mode coverage for guest_test.c: far CALL/RET, PUSHA/
 * POPA, 16-bit string ops with segment overrides, LES/LDS, XLAT, ENTER/
 * LEAVE, IRET from an INT handler, "unreal" mode (a 4 GiB DS limit kept
 * after returning from protected mode), and a 16-bit protected-mode
 * interrupt gate.  Each step reports a value on port 0xe9.
 */
#define ORG 0x10000
#define A(x) ((x) - guest_real_start + ORG)
#define OFF(x) ((x) - guest_real_start)

	.section .rodata.guest_real, "a"
	.globl guest_real_start, guest_real_end
	.balign 16
guest_real_start:
	.code16
	mov $0x1000, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0xfff0, %sp
	/* far call/ret within the segment, through an absolute far pointer */
	lcall $0x1000, $OFF(farproc)
	mov %bx, %ax
	call out			/* 0x1111 */
	/* PUSHA/POPA round trip, SP restored */
	mov $0x1234, %ax
	mov $0x5678, %bp
	pusha
	xor %ax, %ax
	xor %bp, %bp
	popa
	add %bp, %ax			/* 0x68ac */
	call out
	mov %sp, %ax
	call out			/* 0xfff0 */
	/* REP MOVSB with an ES:DI destination and a CS: source override */
	mov $0x2000, %ax
	mov %ax, %es
	xor %di, %di
	mov $OFF(msg), %si
	mov $4, %cx
	cld
	rep movsb %cs:(%si), %es:(%di)
	mov %es:2, %ax
	call out			/* "CD" = 0x4443 */
	/* LES: a far pointer in memory */
	les OFF(fptr), %bx
	mov %es, %ax
	call out			/* 0x3000 */
	mov %bx, %ax
	call out			/* 0x0042 */
	/* XLAT through DS:BX */
	mov $OFF(table), %bx
	mov $3, %al
	xlat
	movzbw %al, %ax
	call out			/* 0x33 */
	/* ENTER 4, 0 / LEAVE */
	mov %sp, %dx
	enter $4, $0
	mov %sp, %ax
	sub %ax, %dx
	leave
	mov %dx, %ax
	call out			/* 6 = BP push + 4 */
	/* INT 0x50 whose handler IRETs with a changed flag image */
	xor %ax, %ax
	mov %ax, %es
	movw $OFF(int50), %es:0x140
	movw $0x1000, %es:0x142
	clc
	int $0x50
	sbb %ax, %ax			/* CF from the handler's IRET image */
	call out			/* 0xffff */
	/* unreal mode: protected mode, DS with a 4 GiB limit, back to real */
	cli
	lgdtl OFF(gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	mov $0x08, %bx
	mov %bx, %ds
	and $~1, %eax
	mov %eax, %cr0
	xor %bx, %bx
	mov %bx, %ds			/* real mode again: base 0, limit stays 4 GiB */
	addr32 movl $0xcafe, %ds:0x200000	/* beyond 1 MiB: a 32-bit offset */
	addr32 mov %ds:0x200000, %eax
	call out			/* 0xcafe */
	mov $0x1000, %ax
	mov %ax, %ds
	mov $0xf4, %dx
	out %al, %dx
	hlt

farproc:
	mov $0x1111, %bx
	lret
int50:
	push %bp
	mov %sp, %bp
	orw $1, 6(%bp)			/* set CF in the saved FLAGS */
	pop %bp
	iret
out:
	push %dx
	mov $0xe9, %dx
	out %eax, %dx
	pop %dx
	ret

msg:	.ascii "ABCD"
fptr:	.word 0x0042, 0x3000
table:	.byte 0x00, 0x11, 0x22, 0x33
	.balign 8
gdt:	.quad 0
	.quad 0x00cf93000000ffff	/* 0x08: data, 4 GiB */
gdtr:	.word 15
	.long A(gdt)
guest_real_end:
	.section .note.GNU-stack,"",@progbits
