/* SPDX-License-Identifier: MIT */
/*
 * mmio7_guests.S: the guests of mmio7_cases.c, 64-bit, CPL0, loaded at
 * CODE by the case (never run on the host).  The MMIO page is 0xd0000000
 * (map_d0000000()).
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

/*
 * Loads from 0xd0000000 (MMIO) of every form the processor reports, each
 * followed by OUT to port 0x10 (the host looks at the registers there):
 * two 32-bit loads into %eax (the first installs the MMIO entry, the
 * second finds it), then movb to %cl and %dh, movw to %si, movq to %r9,
 * movzbl to %r10d, movsbq to %r11, movswl to %r12d, movsbw to %r13w,
 * movzwq to %r14, movb to %dil, movl to %esp (not reported: RSP).  The
 * destinations hold 0x1111111111111111 before.
 */
GUEST(g_mmio_load_forms)
	mov $0xd0000000, %ebx
	movabs $0x1111111111111111, %rcx
	mov %rcx, %rdx
	mov %rcx, %rsi
	mov %rcx, %rdi
	mov %rcx, %r9
	mov %rcx, %r10
	mov %rcx, %r11
	mov %rcx, %r12
	mov %rcx, %r13
	mov %rcx, %r14
	movl (%rbx), %eax
	out %al, $0x10
	movl (%rbx), %eax
	out %al, $0x10
	movb (%rbx), %cl
	out %al, $0x10
	movb (%rbx), %dh
	out %al, $0x10
	movw (%rbx), %si
	out %al, $0x10
	movq (%rbx), %r9
	out %al, $0x10
	movzbl (%rbx), %r10d
	out %al, $0x10
	movsbq (%rbx), %r11
	out %al, $0x10
	movswl (%rbx), %r12d
	out %al, $0x10
	movsbw (%rbx), %r13w
	out %al, $0x10
	movzwq (%rbx), %r14
	out %al, $0x10
	movb (%rbx), %dil
	out %al, $0x10
	movl (%rbx), %esp
	out %al, $0x10
	jmp .
END(g_mmio_load_forms)

/*
 * Three 32-bit loads from 0xd0000000 into %ecx, at one RIP (the third is
 * reported on userkvm), OUT of %ecx to port 0x10 after each; then at
 * g_mmio_load_moved_alt (where the host may move RIP), OUT of %ecx to
 * port 0x11.
 */
GUEST(g_mmio_load_moved)
	mov $0xd0000000, %ebx
	xor %edx, %edx
	mov $0x55, %ecx
1:	movl (%rbx), %ecx
	mov %ecx, %eax
	out %eax, $0x10
	inc %edx
	cmp $3, %edx
	jne 1b
	jmp .
	.globl g_mmio_load_moved_alt
g_mmio_load_moved_alt:
	mov %ecx, %eax
	out %eax, $0x11
	jmp .
END(g_mmio_load_moved)

/*
 * The I/O APIC's version register (IOREGSEL 1, then IOWIN) read into %eax
 * four times at one RIP, OUT of it to port 0x10 after each.
 */
GUEST(g_mmio_load_ioapic)
	mov $0xfec00000, %ebx
	movl $1, (%rbx)
	mov $4, %ecx
1:	movl 0x10(%rbx), %eax
	out %eax, $0x10
	xor %eax, %eax
	dec %ecx
	jnz 1b
	jmp .
END(g_mmio_load_ioapic)

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
