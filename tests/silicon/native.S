/* SPDX-License-Identifier: MIT */
/*
 * native.S: run a test instruction on the host CPU with every GPR and
 * RFLAGS loaded from a struct diff_regs, and save them afterwards.
 *
 *   void native_exec(struct diff_regs *in);   in->rip = where the code is
 *
 * The test code must end with "jmp *native_return_slot" (an absolute
 * memory-indirect jump, so it works from any code page below 2 GiB).
 * XMM0-15, MM0-7 and MXCSR are loaded from native_xmm_in/native_mm_in/
 * native_mxcsr_in and saved to the *_out ones (the host's MXCSR is
 * restored, EMMS empties the x87 stack again).
 * Results land in native_out.  Layout of struct diff_regs: gpr[16] at 0,
 * rflags at 128, rip at 136.
 */
	.text
/*
 * void native_exec32(struct diff_regs *in): the same, but the code at
 * in->rip (below 4 GiB) runs in compatibility mode (CS = 0x23, Linux's
 * 32-bit user code segment) with DS = ES = 0x2b; it must end with
 * "ljmp $0x33, $X" where X holds "jmp *native_return_slot".
 */
	.globl native_exec32
	.type native_exec32, @function
native_exec32:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, saved_rsp(%rip)
	mov %ds, saved_ds(%rip)
	mov %es, saved_es(%rip)
	mov 136(%rdi), %rax
	mov %eax, far32(%rip)
	movw $0x23, far32+4(%rip)
	mov $0x2b, %eax
	mov %eax, %ds
	mov %eax, %es
	lea ljmp_far32(%rip), %rax
	mov %rax, entry(%rip)
	jmp load_regs

	.globl native_exec
	.type native_exec, @function
native_exec:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, saved_rsp(%rip)
	mov %ds, saved_ds(%rip)
	mov %es, saved_es(%rip)
	mov 136(%rdi), %rax
	mov %rax, entry(%rip)
load_regs:
	stmxcsr saved_mxcsr(%rip)
	ldmxcsr native_mxcsr_in(%rip)
	.irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu native_xmm_in+16*\k(%rip), %xmm\k
	.endr
	.irp k, 0,1,2,3,4,5,6,7
	movq native_mm_in+8*\k(%rip), %mm\k
	.endr
	pushq 128(%rdi)
	popfq
	mov 0(%rdi), %rax
	mov 8(%rdi), %rcx
	mov 16(%rdi), %rdx
	mov 24(%rdi), %rbx
	mov 32(%rdi), %rsp
	mov 40(%rdi), %rbp
	mov 48(%rdi), %rsi
	mov 64(%rdi), %r8
	mov 72(%rdi), %r9
	mov 80(%rdi), %r10
	mov 88(%rdi), %r11
	mov 96(%rdi), %r12
	mov 104(%rdi), %r13
	mov 112(%rdi), %r14
	mov 120(%rdi), %r15
	mov 56(%rdi), %rdi
	jmp *entry(%rip)

/* The taken path of a branch case: note it, then return like the other. */
	.globl native_return_taken
native_return_taken:
	movb $1, native_taken(%rip)
	jmp native_return

	.globl native_return
native_return:
	mov %rax, native_out+0(%rip)
	mov %rcx, native_out+8(%rip)
	mov %rdx, native_out+16(%rip)
	mov %rbx, native_out+24(%rip)
	mov %rsp, native_out+32(%rip)
	mov %rbp, native_out+40(%rip)
	mov %rsi, native_out+48(%rip)
	mov %rdi, native_out+56(%rip)
	mov %r8, native_out+64(%rip)
	mov %r9, native_out+72(%rip)
	mov %r10, native_out+80(%rip)
	mov %r11, native_out+88(%rip)
	mov %r12, native_out+96(%rip)
	mov %r13, native_out+104(%rip)
	mov %r14, native_out+112(%rip)
	mov %r15, native_out+120(%rip)
	.irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\k, native_xmm_out+16*\k(%rip)
	.endr
	stmxcsr native_mxcsr_out(%rip)
	ldmxcsr saved_mxcsr(%rip)
	.irp k, 0,1,2,3,4,5,6,7
	movq %mm\k, native_mm_out+8*\k(%rip)
	.endr
	emms
	mov saved_rsp(%rip), %rsp
	pushfq
	popq native_out+128(%rip)
	cld
	mov saved_ds(%rip), %ds
	mov saved_es(%rip), %es
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

ljmp_far32:
	ljmpl *far32(%rip)

	.data
	.balign 8
saved_rsp: .quad 0
saved_ds: .word 0
saved_es: .word 0
	.balign 8
far32: .long 0
	.word 0
entry: .quad 0
	.globl native_out
native_out: .fill 18, 8, 0
	.globl native_taken
native_taken: .byte 0
/* SSE cases: XMM0-15 and MXCSR before (in) and after (out) the instruction */
	.balign 16
	.globl native_xmm_in, native_xmm_out, native_mxcsr_in, native_mxcsr_out
native_xmm_in: .fill 32, 8, 0
native_xmm_out: .fill 32, 8, 0
	.globl native_mm_in, native_mm_out
native_mm_in: .fill 8, 8, 0
native_mm_out: .fill 8, 8, 0
native_mxcsr_in: .long 0x1f80
native_mxcsr_out: .long 0
saved_mxcsr: .long 0x1f80
	.section .note.GNU-stack,"",@progbits
