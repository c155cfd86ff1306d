/* SPDX-License-Identifier: MIT */
/*
 * mmio4_guests.S: the guests of mmio4_cases.c, 64-bit, CPL0, loaded at
 * CODE by the case (never run on the host).
 */
#define CODE	0x1000
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

	.section .rodata.mmio4_guests, "a"
	.code64

/*
 * The same MOV store to 0xd0000000 three times (each a KVM_EXIT_MMIO
 * unless an ioeventfd takes it), the count so far to port 0x11 after
 * each, then to port 0x10.
 */
#define G g_mmio_store_thrice
GUEST(g_mmio_store_thrice)
	mov $0xd0000000, %ebx
	xor %ecx, %ecx
1:	movl $0x12345678, (%rbx)
	inc %ecx
	mov %ecx, %eax
	out %eax, $0x11
	cmp $3, %ecx
	jne 1b
	out %eax, $0x10
	jmp .
END(g_mmio_store_thrice)
#undef G

	.section .note.GNU-stack, "", @progbits
