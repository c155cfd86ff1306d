/* SPDX-License-Identifier: MIT */
/*
 * mmio5_guests.S: the guests of mmio5_cases.c, 64-bit, CPL0, loaded at
 * CODE by the case (never run on the host).  Each has a MOV store to
 * 0xd0000000 in the middle of a loop body: on userkvm its first MMIO exit
 * cuts the block after it (vmx_mmio.c), the rest becoming a block of its
 * own.  The labels g_*_N mark instruction boundaries for the cases.
 */
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:
#define AT(name) .globl name; name:

	.section .rodata.mmio5_guests, "a"
	.code64

/*
 * Eight rounds of: EAX = i + 1; CMP (CF = i < 3, read across the store by
 * ADC); the store of EAX; R10 += CF + EAX.  Then R10 (8 * 9 / 2 + 3 = 39)
 * to port 0x10, and again from the start.
 */
GUEST(g_mmio_cut_loop)
	mov $0xd0000000, %ebx
	xor %ecx, %ecx
	xor %r10d, %r10d
AT(g_mmio_cut_loop_top)
	lea 1(%rcx), %eax
AT(g_mmio_cut_loop_1)
	cmp $3, %ecx
AT(g_mmio_cut_loop_store)
	movl %eax, (%rbx)
AT(g_mmio_cut_loop_3)
	adc $0, %r10d
AT(g_mmio_cut_loop_4)
	add %eax, %r10d
AT(g_mmio_cut_loop_5)
	inc %ecx
AT(g_mmio_cut_loop_6)
	cmp $8, %ecx
AT(g_mmio_cut_loop_7)
	jne g_mmio_cut_loop_top
AT(g_mmio_cut_loop_8)
	mov %r10d, %eax
	out %eax, $0x10
	jmp g_mmio_cut_loop
END(g_mmio_cut_loop)

/*
 * Three rounds of: the store of ECX; R10 += the immediate of an ADD that
 * the next instruction rewrites from 1 to 16 (code right after the cut):
 * R10 = 1 + 16 + 16 = 33 to port 0x10.
 */
GUEST(g_mmio_cut_smc)
	mov $0xd0000000, %ebx
	xor %ecx, %ecx
	xor %r10d, %r10d
1:	movl %ecx, (%rbx)
2:	add $1, %r10d
	movb $16, 2b + 3(%rip)
	inc %ecx
	cmp $3, %ecx
	jne 1b
	mov %r10d, %eax
	out %eax, $0x10
	jmp .
END(g_mmio_cut_smc)

	.section .note.GNU-stack, "", @progbits
