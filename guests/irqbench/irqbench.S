/* SPDX-License-Identifier: MIT */
/*
 * The interrupt benchmark guest (bench/irq_bench.c runs it with
 * `userkvm run --smp 2` on --accel soft and kvm, and under QEMU TCG with
 * -smp 2): a multiboot v1 kernel that enters long mode (4 GiB identity
 * map in 2 MiB pages: this host's KVM, the PVM backend, runs guest kernel
 * code with paging only in long mode) and measures, in guest TSC cycles,
 * N times each:
 *   timer: the local APIC timer armed in one-shot mode for 1 bus cycle
 *          (divide by 1) -> its handler runs (the TMICT write included);
 *   ipi:   vCPU 0 sends a fixed IPI to vCPU 1, which waits in HLT; vCPU 1's
 *          handler sends one back -> vCPU 0's handler runs (round trip).
 * and prints "irq timer MEDIAN MIN" and "irq ipi MEDIAN MIN" on COM1, then
 * leaves through the debug-exit port with 0.  vCPU 1 is started with
 * INIT-SIPI-SIPI; without it the ipi line says "irq ipi - -".
 */
#include <guest.h>

#define TRAMP 0x8000
#define N 1024

/*
 * SAMPLES insn: N samples of TSC cycles from insn (which makes the
 * interrupt) to the handler's RDTSC (t1), interrupts on only while waiting
 * for it, into samples[].
 */
.macro SAMPLES trigger:vararg
	xor %edi, %edi
1:	movl $0, flag(%rip)
	rdtsc
	mov %eax, t0(%rip)
	\trigger
	sti
2:	cmpl $0, flag(%rip)
	je 2b
	cli
	mov t1(%rip), %eax
	sub t0(%rip), %eax
	lea samples(%rip), %rbx
	mov %eax, (%rbx, %rdi, 4)
	inc %edi
	cmp $N, %edi
	jb 1b
.endm

	MULTIBOOT_HEADER
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	mov $0xff, %al			/* the PICs masked: only the APIC interrupts */
	out %al, $0x21
	out %al, $0xa1
	/* the identity map: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages */
	mov $pml4, %edi
	mov $(4096 * 6 / 4), %ecx
	xor %eax, %eax
	rep stosl
	movl $(pdpt + 3), pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $(pd + 3), %eax
	mov %eax, pdpt(, %ecx, 8)
	inc %ecx
	cmp $4, %ecx
	jb 1b
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, pd(, %ecx, 8)
	mov %ecx, %eax
	shr $11, %eax
	mov %eax, pd + 4(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jb 2b
	lgdt gdtr
	call enter_long_mode
	ljmp $0x18, $bsp64

/* CR4.PAE, CR3, EFER.LME, CR0.PG: the caller far-jumps to a 64-bit segment next */
enter_long_mode:
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax
	mov %eax, %cr0
	ret

	.code64
bsp64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $stack_top, %esp
	mov $0x40, %eax
	mov $timer_isr, %edx
	call set_gate
	mov $0x41, %eax
	mov $reply_isr, %edx
	call set_gate
	mov $0x42, %eax
	mov $ping_isr, %edx
	call set_gate
	mov $0xff, %eax
	mov $spurious_isr, %edx
	call set_gate
	lidt idtr(%rip)
	mov $LAPIC, %r15d
	movl $0x1ff, 0xf0(%r15)		/* SVR: on, spurious 0xff */
	movl $0xb, 0x3e0(%r15)		/* divide by 1 */
	movl $0x40, 0x320(%r15)		/* LVTT: one-shot, vector 0x40 */

	/* ---- timer: armed -> handler ---- */
	SAMPLES movl $1, 0x380(%r15)		/* TMICT: 1 bus cycle */
	mov $timer_msg, %eax
	call report

	/* ---- start vCPU 1 ---- */
	mov $tramp, %esi
	mov $TRAMP, %edi
	mov $(tramp_end - tramp), %ecx
	rep movsb
	movl $(1 << 24), 0x310(%r15)
	movl $0x4500, 0x300(%r15)	/* INIT */
	movl $0x4600 | (TRAMP >> 12), 0x300(%r15)	/* SIPI */
	movl $0x4600 | (TRAMP >> 12), 0x300(%r15)
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	lea 0x40000000(%rax), %rsi	/* about 0.4 s */
5:	pause
	cmpl $0, ap_ready(%rip)
	jne 6f
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	cmp %rsi, %rax
	jb 5b
	mov $no_ipi_msg, %eax
	call puts
	jmp 9f

	/* ---- IPI round trip ---- */
6:	SAMPLES movl $0x42, 0x300(%r15)	/* fixed, vector 0x42, to APIC ID 1 (ICR2) */
	mov $ipi_msg, %eax
	call report
9:	xor %eax, %eax
	out %al, $0xf4
	cli
	hlt
	jmp .

/* set_gate(%eax = vector, %edx = handler): a 64-bit interrupt gate, CS 0x18 */
set_gate:
	shl $4, %eax
	add $idt, %eax
	mov %edx, %ecx
	and $0xffff, %ecx
	or $(0x18 << 16), %ecx
	mov %ecx, (%rax)
	and $0xffff0000, %edx
	or $0x8e00, %edx
	mov %edx, 4(%rax)
	movq $0, 8(%rax)
	ret

timer_isr:
reply_isr:
	push %rax
	push %rdx
	push %rbx
	rdtsc
	mov %eax, t1(%rip)
	movl $1, flag(%rip)
	mov $LAPIC, %ebx
	movl $0, 0xb0(%rbx)
	pop %rbx
	pop %rdx
	pop %rax
	iretq

/* vCPU 1: answer to APIC ID 0 */
ping_isr:
	push %rbx
	mov $LAPIC, %ebx
	movl $0, 0x310(%rbx)
	movl $0x41, 0x300(%rbx)
	movl $0, 0xb0(%rbx)
	pop %rbx
	iretq

spurious_isr:
	iretq

/* vCPU 1, in long mode after the trampoline */
ap64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $ap_stack_top, %esp
	lidt idtr(%rip)
	mov $LAPIC, %ebx
	movl $0x1ff, 0xf0(%rbx)
	movl $1, ap_ready(%rip)
10:	sti
	hlt
	jmp 10b

/* report(%eax = name): sort the N samples, print "irq NAME MEDIAN MIN" */
report:
	push %rax
	mov $1, %esi			/* insertion sort */
11:	cmp $N, %esi
	jae 14f
	lea samples(%rip), %rbx
	mov (%rbx, %rsi, 4), %eax
	mov %esi, %edi
12:	test %edi, %edi
	jz 13f
	mov -4(%rbx, %rdi, 4), %edx
	cmp %eax, %edx
	jbe 13f
	mov %edx, (%rbx, %rdi, 4)
	dec %edi
	jmp 12b
13:	lea samples(%rip), %rbx
	mov %eax, (%rbx, %rdi, 4)
	inc %esi
	jmp 11b
14:	mov $irq_msg, %eax
	call puts
	pop %rax
	call puts
	mov samples + 4 * (N / 2)(%rip), %eax
	call putdec
	mov $' ', %al
	call putc
	mov samples(%rip), %eax
	call putdec
	mov $'\n', %al
	call putc
	ret

	COM1_ROUTINES r

/*
 * The trampoline, copied to TRAMP: real mode (CS = TRAMP >> 4, IP = 0),
 * 32-bit protected mode, then long mode on the BSP's page tables.
 */
	AP_TRAMPOLINE TRAMP
	mov $ap_stack_top, %esp
	lgdt gdtr
	mov $enter_long_mode, %eax	/* absolute: this code runs from its copy */
	call *%eax
	ljmp $0x18, $ap64
tramp_end:

	.section .rodata
irq_msg:	.asciz "irq "
timer_msg:	.asciz "timer "
ipi_msg:	.asciz "ipi "
no_ipi_msg:	.asciz "irq ipi - -\n"

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
gdtr:
	.word 31
	.long gdt
	.align 4
idtr:
	.word 256 * 16 - 1
	.long idt, 0
flag:		.long 0
t0:		.long 0
t1:		.long 0
ap_ready:	.long 0

	.bss
	.align 4096
pml4:		.skip 4096
pdpt:		.skip 4096
pd:		.skip 4096 * 4
idt:		.skip 256 * 16
samples:	.skip 4 * N
	.skip 4096
stack_top:
	.skip 4096
ap_stack_top:
