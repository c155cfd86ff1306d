/* SPDX-License-Identifier: MIT */
/*
 * Exit-cost loops (guest only: they need CPL0).  Each runs n iterations of
 *     mov $0, %eax ; <exit instruction> ; add %rax, %r10 ; dec %rdi ; jnz
 * and ex_empty_run is the same loop with a NOP in place of the exit
 * instruction, so a runner gets the cost of one exit as
 * (time / n) - (time_empty / n_empty).  Arguments as for the workloads:
 * (u64 n, u8 *mem, u64 size); the result is the sum of %eax after each exit
 * instruction: 0 for OUT, MMIO, HLT and NOP, n * 0xff for IN from a port
 * that reads all ones, n * (max basic leaf) for CPUID.
 */
#include "../bench_layout.h"

	.text
	.code64

#define EXIT_LOOP(name, ...)		\
	.globl	name;			\
	.type	name, @function;	\
name:					\
	push	%rbx;			\
	xor	%r10d, %r10d;		\
	mov	$BENCH_MMIO_GPA, %r8d;	\
	test	%rdi, %rdi;		\
	jz	2f;			\
1:	mov	$0, %eax;		\
	__VA_ARGS__;			\
	add	%rax, %r10;		\
	dec	%rdi;			\
	jnz	1b;			\
2:	mov	%r10, %rax;		\
	pop	%rbx;			\
	ret;				\
	.size	name, . - name

/* %rbx is saved because CPUID clobbers it; %r8 is the MMIO address. */
EXIT_LOOP(ex_empty_run, nop)
EXIT_LOOP(ex_out_run, out %al, $BENCH_PORT_DEV)
EXIT_LOOP(ex_in_run, in $BENCH_PORT_DEV, %al)
EXIT_LOOP(ex_mmio_run, movl %eax, (%r8))
EXIT_LOOP(ex_cpuid_run, cpuid)
EXIT_LOOP(ex_hlt_run, hlt)
