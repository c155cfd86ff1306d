/* SPDX-License-Identifier: MIT */
/*
 * guest_tf.S: real mode with an empty IVT/IDT limit: INT 3 -> #GP -> #DF ->
 * triple fault, which must shut the processor down (guest_test.c).
 */
	.section .rodata.guest_tf, "a"
	.globl guest_tf_start, guest_tf_end
	.balign 16
guest_tf_start:
	.code16
	mov $0x1000, %ax
	mov %ax, %ds
	mov $0x7f01, %eax
	mov $0xe9, %dx
	out %eax, %dx
	lidt (idtr0 - guest_tf_start)
	int $3
	mov $0x7f02, %eax		/* never reached */
	out %eax, %dx
	hlt
idtr0:	.word 0
	.long 0
guest_tf_end:
	.section .note.GNU-stack,"",@progbits
