/* SPDX-License-Identifier: MIT */
/*
 * mmio7_guests.S: the guests of mmio7_cases.c, 64-bit, CPL0, loaded at
 * CODE by the case (never run on the host).
 */
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

	.section .rodata.mmio7_guests, "a"
	.code64

/*
 * The same MOV store to 0xd0000000 four times (a loop: one RIP, the last
 * of its block after its first exit), an OUT to port 0x10 after each; the
 * host makes the page RAM after the third.  Then a 4-byte load from
 * 0xd0001000 (MMIO) into %ecx, OUT of %ecx to port 0x11, the value the
 * third store left in RAM to port 0x12.
 */
GUEST(g_mmio_store_then_slot)
	mov $0xd0000000, %ebx
	mov $0x11, %eax
	xor %edx, %edx
1:	movl %eax, (%rbx)
	out %eax, $0x10
	inc %eax
	inc %edx
	cmp $4, %edx
	jne 1b
	movl 0x1000(%rbx), %ecx
	mov %ecx, %eax
	out %eax, $0x11
	movl (%rbx), %eax
	out %eax, $0x12
	jmp .
END(g_mmio_store_then_slot)

/*
 * The same MOV store to 0xd0000000 three times (one RIP), an OUT to port
 * 0x10 after each; then a 4-byte load from 0xd0000004 (the same MMIO page)
 * into %ecx and OUT of it to port 0x11.
 */
GUEST(g_mmio_store_then_read)
	mov $0xd0000000, %ebx
	mov $0x11, %eax
	xor %edx, %edx
1:	movl %eax, (%rbx)
	out %eax, $0x10
	inc %eax
	inc %edx
	cmp $3, %edx
	jne 1b
	movl 4(%rbx), %ecx
	mov %ecx, %eax
	out %eax, $0x11
	jmp .
END(g_mmio_store_then_read)

	.section .note.GNU-stack, "", @progbits
