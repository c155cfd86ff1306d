/* SPDX-License-Identifier: MIT */
/*
 * guest_modes.S: a guest that walks the processor from RESET through every
 * mode, reporting each step as a 32-bit OUT to port 0xe9 (the log that
 * guest_test.c checks) and ending with an OUT to port 0xf4.
 *
 * Loaded at physical 0x10000; the reset vector (a ROM page at 0xfffff000
 * set up by the test) jumps to 0x1000:0000.  Fault handlers report
 * 0xe000|vector, 0xee000000|error code (and CR2 for #PF), then reload the
 * stack and jump to the address in RESUME.
 *
 * Steps: real mode (IVT INT n, #DE), 32-bit protected mode (#GP on a bad
 * selector, #UD), 32-bit paging with 4 MiB pages (#PF not present, #PF on a
 * write to a read-only 4 KiB page with WP), PAE with NX (#PF on a fetch),
 * long mode (#UD, #DE, #GP non-canonical, INT3 on an IST stack, #DF from a
 * not-present #PF gate), CPL3 via IRETQ (#GP on OUT, SYSCALL/SYSRET, INT
 * 0x80 through a DPL3 gate, #PF on a supervisor page), then back out of
 * long mode to 5-level paging (#PF on a canonical 57-bit address).
 */
#define ORG 0x10000
#define A(x) ((x) - guest_modes_start + ORG)
#define RESUME 0x9000
#define IDT32 0xa000
#define IDT64 0xb000
#define TSS 0x7000
#define PD32 0x100000
#define PT32 0x101000
#define PDPT_PAE 0x102000
#define PD_PAE 0x103000
#define PML4 0x104000
#define PDPT64 0x105000
#define PML5 0x108000
#define LOG 0xe9
#define DONE 0xf4

	.section .rodata.guest_modes, "a"
	.globl guest_modes_start, guest_modes_end
	.balign 16
guest_modes_start:
	.code16
	cli
	mov $0x1000, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0xfff0, %sp
	mov $0x1001, %eax
	call out16
	/* INT 0x40 through the IVT: the handler doubles BX */
	xor %ax, %ax
	mov %ax, %es
	movw $(rm_int40 - guest_modes_start), %es:0x100
	movw $0x1000, %es:0x102
	mov $21, %bx
	int $0x40
	movzwl %bx, %eax
	call out16			/* 42 */
	/* #DE in real mode: vector 0 of the IVT */
	movw $(rm_de - guest_modes_start), %es:0
	movw $0x1000, %es:2
	xor %cx, %cx
	mov $1, %ax
	div %cl				/* F6 F1: the handler skips 2 bytes */
	mov $0x1002, %eax
	call out16
	/* to protected mode */
	lgdtl (gdtr - guest_modes_start)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $A(pm32)

rm_int40:
	add %bx, %bx
	iret
rm_de:
	mov $0xe000, %eax
	call out16
	mov %sp, %bp
	addw $2, (%bp)
	iret
out16:
	mov $LOG, %dx
	out %eax, %dx
	ret

	.code32
out32:
	push %edx
	mov $LOG, %dx
	out %eax, %dx
	pop %edx
	ret

/* set_gate32: ECX = vector, EAX = handler */
set_gate32:
	mov %eax, IDT32(,%ecx,8)
	movw $0x08, IDT32+2(,%ecx,8)
	movw $0x8e00, IDT32+4(,%ecx,8)
	shr $16, %eax
	movw %ax, IDT32+6(,%ecx,8)
	ret

de32:	push $0
	push $0
	jmp common32
ud32:	push $0
	push $6
	jmp common32
gp32:	push $13
	jmp common32
pf32:	push $14
	jmp common32
common32:
	pop %ebx
	mov %ebx, %eax
	or $0xe000, %eax
	call out32
	pop %eax
	or $0xee000000, %eax
	call out32
	cmp $14, %ebx
	jne 1f
	mov %cr2, %eax
	call out32
1:	mov $0x90000, %esp
	jmp *RESUME

pm32:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $0x90000, %esp
	mov $0x2001, %eax
	call out32
	/* IDT with #DE #UD #GP #PF */
	mov $0, %ecx
	mov $A(de32), %eax
	call set_gate32
	mov $6, %ecx
	mov $A(ud32), %eax
	call set_gate32
	mov $13, %ecx
	mov $A(gp32), %eax
	call set_gate32
	mov $14, %ecx
	mov $A(pf32), %eax
	call set_gate32
	lidt A(idtr32)
	/* #GP(0x50): selector beyond the GDT limit */
	movl $A(1f), RESUME
	mov $0x50, %ax
	mov %ax, %ds
1:	mov $0x18, %ax
	mov %ax, %ds
	/* #UD */
	movl $A(1f), RESUME
	ud2
1:	mov $0x2002, %eax
	call out32

	/* 32-bit paging: 4 MiB pages for 0-8 MiB, a 4 KiB table for 12-16 MiB */
	mov $PD32, %edi
	mov $1024, %ecx
	xor %eax, %eax
	rep stosl
	movl $0x00000083, PD32
	movl $0x00400083, PD32+4
	movl $(PT32 | 3), PD32+12
	mov $PT32, %edi
	mov $1024, %ecx
	mov $0x00c00003, %eax
2:	stosl
	add $0x1000, %eax
	loop 2b
	andl $~2, PT32			/* 12 MiB: read-only */
	mov $PD32, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x10, %eax			/* PSE */
	mov %eax, %cr4
	mov %cr0, %eax
	or $0x80010000, %eax		/* PG, WP */
	mov %eax, %cr0
	mov $0x2003, %eax
	call out32
	/* #PF: not present (8 MiB), read, supervisor -> error 0 */
	movl $A(1f), RESUME
	mov 0x800010, %eax
1:	/* #PF: write to a read-only page with WP -> error 3 */
	movl $A(1f), RESUME
	movl $1, 0xc00020
1:	/* the same page is readable; a write elsewhere in the table works */
	mov 0xc00020, %eax
	movl $0x5a5a, 0xc01000
	mov 0xc01000, %eax
	call out32			/* 0x5a5a */

	/* PAE with NX */
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	mov $PDPT_PAE, %edi
	mov $(0x2000 / 4), %ecx
	xor %eax, %eax
	rep stosl			/* PDPT and PD */
	movl $(PD_PAE | 1), PDPT_PAE
	/* 2 MiB pages: 0-8 MiB user+RW, 8-10 MiB NX, 10-12 MiB supervisor only */
	movl $0x00000087, PD_PAE
	movl $0x00200087, PD_PAE+8
	movl $0x00400087, PD_PAE+16
	movl $0x00600087, PD_PAE+24
	movl $0x00800087, PD_PAE+32
	movl $0x80000000, PD_PAE+36	/* XD */
	movl $0x00a00083, PD_PAE+40
	mov $0xc0000080, %ecx		/* EFER.NXE */
	rdmsr
	or $0x800, %eax
	wrmsr
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $PDPT_PAE, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	mov $0x2004, %eax
	call out32
	/* fetch from an NX page: #PF error 0x11 (I/D | P) */
	movl $A(1f), RESUME
	movb $0xc3, 0x800000		/* a RET there: writable, not executable */
	call *A(2f)
2:	.long 0x800000
1:	mov $0x2005, %eax
	call out32

	/* long mode: PML4 -> PDPT -> the PAE page directory */
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	mov $PML4, %edi
	mov $(0x2000 / 4), %ecx
	xor %eax, %eax
	rep stosl
	movl $(PDPT64 | 7), PML4
	movl $(PD_PAE | 7), PDPT64
	mov $0xc0000080, %ecx
	rdmsr
	or $0x101, %eax			/* LME, SCE */
	wrmsr
	mov $PML4, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x10, $A(lm64)

	.code64
out64:
	push %rdx
	mov $LOG, %dx
	out %eax, %dx
	pop %rdx
	ret

/* set_gate64: ECX = vector, RAX = handler, EBX = IST, ESI = DPL */
set_gate64:
	push %rdi
	mov %ecx, %edi
	shl $4, %edi
	add $IDT64, %edi
	mov %ax, (%rdi)
	movw $0x10, 2(%rdi)
	mov %bl, 4(%rdi)
	mov %esi, %edx
	shl $5, %edx
	or $0x8e, %dl
	mov %dl, 5(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	pop %rdi
	ret

de64:	push $0
	push $0
	jmp common64
bp64:	push $0
	push $3
	jmp common64
ud64:	push $0
	push $6
	jmp common64
df64:	push $8
	jmp common64
gp64:	push $13
	jmp common64
pf64:	push $14
	jmp common64
common64:
	pop %rbx
	mov %ebx, %eax
	or $0xe000, %eax
	call out64
	pop %rax
	or $0xee000000, %eax
	call out64
	cmp $14, %ebx
	jne 1f
	mov %cr2, %rax
	call out64
	shr $32, %rax
	call out64
1:	cmp $3, %ebx			/* #BP runs on IST1: report the stack page */
	jne 1f
	mov %rsp, %rax
	shr $12, %eax
	call out64
1:	mov $0x90000, %rsp
	jmp *RESUME

/* INT 0x80 from CPL3: report the CPL we came from */
int80:
	mov 8(%rsp), %rax		/* CS of the frame */
	and $3, %eax
	or $0x8000, %eax
	call out64
	mov $0x90000, %rsp
	jmp *RESUME

/* SYSCALL entry: RCX = return RIP, R11 = RFLAGS */
syscall64:
	mov %rcx, %rax
	sub $A(user_after_syscall), %rax
	or $0x7000, %eax		/* 0x7000 when RCX is right */
	call out64
	mov %r11, %rax
	and $0x200, %eax		/* IF was set in user mode */
	call out64
	sysretq

lm64:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x90000, %rsp
	mov $0x3001, %eax
	call out64
	/* 64-bit IDT */
	mov $IDT64, %edi
	mov $(4096 / 4), %ecx
	xor %eax, %eax
	rep stosl
	xor %esi, %esi
	xor %ebx, %ebx
	mov $0, %ecx
	mov $A(de64), %rax
	call set_gate64
	mov $6, %ecx
	mov $A(ud64), %rax
	call set_gate64
	mov $13, %ecx
	mov $A(gp64), %rax
	call set_gate64
	mov $14, %ecx
	mov $A(pf64), %rax
	call set_gate64
	mov $8, %ecx
	mov $A(df64), %rax
	call set_gate64
	mov $3, %ecx
	mov $1, %ebx			/* IST1 */
	mov $A(bp64), %rax
	call set_gate64
	mov $0x80, %ecx
	xor %ebx, %ebx
	mov $3, %esi			/* DPL3 */
	mov $A(int80), %rax
	call set_gate64
	lidt A(idtr64)
	/* TSS: RSP0 = 0x90000, IST1 = 0x70000 */
	mov $TSS, %edi
	mov $(0x68 / 4), %ecx
	xor %eax, %eax
	rep stosl
	movq $0x90000, TSS+4
	movq $0x70000, TSS+0x24
	movw $0x68, TSS+0x66		/* no I/O bitmap */
	mov $0x38, %ax
	ltr %ax
	/* #UD, #DE, #GP(0) on a non-canonical address, INT3 on IST1 */
	movq $A(1f), RESUME
	ud2
1:	movq $A(1f), RESUME
	xor %ecx, %ecx
	div %ecx
1:	movq $A(1f), RESUME
	movabs $0x8000000000000000, %rax
	mov (%rax), %rax
1:	movq $A(1f), RESUME
	int3
1:	/* #DF: the #PF gate is not present -> #NP while delivering #PF */
	movq $A(1f), RESUME
	andb $0x7f, IDT64 + 14 * 16 + 5
	mov 0x1000000, %rax		/* 16 MiB: not mapped */
1:	orb $0x80, IDT64 + 14 * 16 + 5
	mov $0x3002, %eax
	call out64

	/* CPL3 */
	mov $0xc0000081, %ecx		/* STAR: kernel CS 0x10, user base 0x20 */
	xor %eax, %eax
	mov $0x00200010, %edx
	wrmsr
	mov $0xc0000082, %ecx		/* LSTAR */
	mov $A(syscall64), %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000084, %ecx		/* FMASK: IF */
	mov $0x200, %eax
	xor %edx, %edx
	wrmsr
	movq $A(back_in_kernel), RESUME
	push $0x2b			/* SS */
	push $0x400000			/* RSP (a user page) */
	push $0x202			/* RFLAGS: IF */
	push $0x33			/* CS */
	push $A(user64)
	iretq
user64:
	mov $0x4001, %eax
	syscall
user_after_syscall:
	int $0x80			/* -> int80, which resumes at back_in_kernel */

back_in_kernel:
	/* CPL3 again: OUT with IOPL 0 -> #GP(0), then a supervisor page -> #PF 5 */
	movq $A(1f), RESUME
	push $0x2b
	push $0x400000
	push $0x2
	push $0x33
	push $A(user64_out)
	iretq
user64_out:
	mov $0xe9, %dx
	out %eax, %dx
1:	movq $A(1f), RESUME
	push $0x2b
	push $0x400000
	push $0x2
	push $0x33
	push $A(user64_super)
	iretq
user64_super:
	mov 0xa00000, %eax
1:	mov $0x3003, %eax
	call out64

	/* leave long mode through compatibility mode, then 5-level paging;
	 * the trips to CPL3 left SS null and ES/DS nulled by IRETQ, fine in
	 * 64-bit mode only */
	mov $0x18, %ax
	mov %ax, %ss
	mov %ax, %ds
	mov %ax, %es
	movq $A(pm32_again), RESUME
	push $0x08
	push $A(pm32_again)
	lretq
	.code32
pm32_again:
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0			/* LMA goes to 0 */
	mov $0xc0000080, %ecx
	rdmsr
	call out32			/* EFER: LME|SCE|NXE, LMA clear = 0x901 */
	mov $PML5, %edi
	mov $(0x1000 / 4), %ecx
	xor %eax, %eax
	rep stosl
	movl $(PML4 | 7), PML5
	mov %cr4, %eax
	or $0x1000, %eax		/* LA57 */
	mov %eax, %cr4
	mov $PML5, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x10, $A(lm57)
	.code64
lm57:
	mov $0x5001, %eax
	call out64
	/* canonical with 57 bits, not mapped: #PF, CR2 = 1 << 48 */
	movq $A(1f), RESUME
	movabs $0x0001000000000000, %rax
	mov (%rax), %rax
1:	mov $0x5002, %eax
	call out64
	mov $DONE, %dx
	out %al, %dx
	hlt

	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 code32 */
	.quad 0x00af9a000000ffff	/* 0x10 code64 */
	.quad 0x00cf92000000ffff	/* 0x18 data */
	.quad 0x00cffa000000ffff	/* 0x20 code32, DPL3 */
	.quad 0x00cff2000000ffff	/* 0x28 data, DPL3 */
	.quad 0x00affa000000ffff	/* 0x30 code64, DPL3 */
	.quad 0x0000890070000067	/* 0x38 TSS at 0x7000 */
	.quad 0
gdt_end:
gdtr:	.word gdt_end - gdt - 1
	.long A(gdt)
idtr32:	.word 256 * 8 - 1
	.long IDT32
idtr64:	.word 256 * 16 - 1
	.quad IDT64
guest_modes_end:

	.section .note.GNU-stack,"",@progbits
