/* SPDX-License-Identifier: MIT */
/*
 * mmio6_guests.S: the guests of mmio6_cases.c, 64-bit, CPL0, loaded at
 * CODE by the case (never run on the host).
 */
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

	.section .rodata.mmio6_guests, "a"
	.code64

/*
 * A MOV store to 0xd0000000 that the guest rewrites between its exits:
 * first movl %eax, (%rbx) (89 03: 0x11), then its ModRM byte made
 * movl %ecx, (%rbx) (89 0b: 0x22), then its opcode byte
 * movb %cl, (%rbx) (88 0b: one byte, 0x22); then 0x33 to port 0x10.
 */
GUEST(g_mmio_rewrite)
	mov $0xd0000000, %ebx
	mov $0x11, %eax
	mov $0x22, %ecx
	xor %edx, %edx
1:	.byte 0x89, 0x03	/* movl %eax, (%rbx) */
	inc %edx
	cmp $1, %edx
	jne 2f
	movb $0x0b, 1b + 1(%rip)
	jmp 1b
2:	cmp $2, %edx
	jne 3f
	movb $0x88, 1b(%rip)
	jmp 1b
3:	mov $0x33, %eax
	out %eax, $0x10
	jmp .
END(g_mmio_rewrite)

/*
 * MOV stores to 0xd0000000 of every form and size after a first one:
 * movl %eax; movb %ah; movw $0xbeef; movq $-2 (imm32 sign-extended);
 * movq %r9; movb $0x7f; movl in a MOV-SS shadow; movl in an STI shadow
 * (IF was 0); then 0x33 to port 0x10.
 */
GUEST(g_mmio_forms)
	mov $0xd0000000, %ebx
	mov $0x11223344, %eax
	movabs $0x8877665544332211, %r9
	cli
	movl %eax, (%rbx)
	movb %ah, (%rbx)
	movw $0xbeef, (%rbx)
	movq $-2, (%rbx)
	movq %r9, (%rbx)
	movb $0x7f, (%rbx)
	mov %ss, %ecx
	mov %ecx, %ss
	movl %eax, (%rbx)
	sti
	movl %ecx, (%rbx)
	cli
	mov $0x33, %eax
	out %eax, $0x10
	jmp .
END(g_mmio_forms)

	.section .note.GNU-stack, "", @progbits
