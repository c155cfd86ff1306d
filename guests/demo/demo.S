/* SPDX-License-Identifier: MIT */
/*
 * The bundled demo guest: a multiboot v1 kernel in flat 32-bit protected
 * mode.  It checks the boot loader magic, prints a greeting, the memory
 * size and the command line from the multiboot information block, counts
 * the primes below 10000 with a sieve, and halts with interrupts off (a
 * clean shutdown: `userkvm run` exits 0).  Output goes to COM1 (0x3f8),
 * waiting for the transmitter to be empty as a real driver does.
 */
#include <guest.h>

	MULTIBOOT_HEADER
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	mov %ebx, %esi			/* multiboot information */
	cmp $0x2BADB002, %eax
	jne bad_magic

	mov $hello, %eax
	call puts

	mov $mem_msg, %eax
	call puts
	mov 8(%esi), %eax		/* mem_upper, KiB above 1 MiB */
	shr $10, %eax
	inc %eax
	call putdec
	mov $mib_msg, %eax
	call puts

	testl $4, (%esi)		/* command line present? */
	jz 1f
	mov $cmd_msg, %eax
	call puts
	mov 16(%esi), %eax
	call puts
	mov $nl, %eax
	call puts
1:
	call sieve
	push %eax
	mov $primes_msg, %eax
	call puts
	pop %eax
	call putdec
	mov $nl, %eax
	call puts
	mov $bye, %eax
	call puts
	cli
	hlt
	jmp .

bad_magic:
	mov $magic_msg, %eax
	call puts
	mov $1, %al
	out %al, $0xf4			/* debug exit: status 3 */
	jmp .

	COM1_ROUTINES e

/* sieve: %eax = number of primes below N */
#define N 10000
sieve:
	mov $flags, %edi
	mov $N, %ecx
	mov $1, %al
	rep stosb
	movb $0, flags
	movb $0, flags + 1
	mov $2, %ebx
7:	mov %ebx, %eax
	imul %ebx, %eax
	cmp $N, %eax
	jae 9f
	cmpb $0, flags(%ebx)
	je 8f
10:	movb $0, flags(%eax)
	add %ebx, %eax
	cmp $N, %eax
	jb 10b
8:	inc %ebx
	jmp 7b
9:	xor %eax, %eax
	xor %ebx, %ebx
11:	movzbl flags(%ebx), %edx
	add %edx, %eax
	inc %ebx
	cmp $N, %ebx
	jb 11b
	ret

	.section .rodata
hello:		.asciz "Hello from a userkvm guest!\n"
mem_msg:	.asciz "memory: "
mib_msg:	.asciz " MiB\n"
cmd_msg:	.asciz "command line: "
primes_msg:	.asciz "primes below 10000: "
bye:		.asciz "bye\n"
nl:		.asciz "\n"
magic_msg:	.asciz "not started by a multiboot loader\n"

	.bss
	.align 16
flags:	.skip N
	.align 16
	.skip 4096
stack_top:
