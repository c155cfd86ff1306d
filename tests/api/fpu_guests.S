/* SPDX-License-Identifier: MIT */
/*
 * fpu_guests.S: the guest of the x87/SSE state cases (fpu_cases.c), run in
 * 64-bit mode at CPL3 (IOPL 3, CR4.OSFXSR set by the host) from CODE with
 * run_guests.S's layout (runutil.h), so this host's PVM KVM runs it
 * natively instead of emulating it: it loads XMM0-15 from DATA and MXCSR from DATA+0x100,
 * computes, reports on port 0x10, then repeatedly stores XMM0-15 to
 * DATA+0x200 and MXCSR to DATA+0x300 and reports on port 0x11, so the host
 * sees what KVM_SET_FPU/KVM_SET_XSAVE put in the registers.
 */
#define CODE	0x1000
#define DATA	0x10000
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

	.section .rodata.fpu_guests, "a"
	.code64
GUEST(g_lm_sse)
	ldmxcsr DATA + 0x100
	.irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu DATA + 16 * \k, %xmm\k
	.endr
	paddd %xmm1, %xmm0
	addps %xmm3, %xmm2		/* rounded as MXCSR says */
	mulsd %xmm5, %xmm4
	pxor %xmm6, %xmm6
	psllq $7, %xmm7
	cvtsi2sd %rax, %xmm8
	out %al, $0x10
1:	.irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\k, DATA + 0x200 + 16 * \k
	.endr
	stmxcsr DATA + 0x300
	out %al, $0x11
	jmp 1b
END(g_lm_sse)

/* SSE moves to and from MMIO (no memslot at 0x10000000): those KVM's emulator knows */
#define MMIO	0x10000000
GUEST(g_lm_sse_mmio)
	movdqu DATA, %xmm0
	movdqu %xmm0, MMIO		/* 16 bytes: two 8-byte MMIO writes */
	movdqu MMIO + 0x10, %xmm1	/* and reads */
	movdqu %xmm1, DATA + 0x200
	movaps %xmm0, MMIO + 0x20
	movups MMIO + 0x30, %xmm2
	movdqu %xmm2, DATA + 0x210
	out %al, $0x10
END(g_lm_sse_mmio)
	.section .note.GNU-stack,"",@progbits
