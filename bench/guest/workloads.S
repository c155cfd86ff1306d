/* SPDX-License-Identifier: MIT */
/*
 * The MIPS workloads, written once: plain 64-bit functions with the SysV
 * calling convention and no absolute addresses, so the same source is
 * assembled into the guest image (bench/guest/image.ld) and into a host test
 * (tests/bench/) that runs them natively, checks their results against C
 * references and counts their instructions by single-stepping.
 *
 * Instruction counts (the "call" that enters the function and its "ret"
 * included; bench/bench.h:bench_insns() is the same formula in C, checked by
 * tests/bench/workloads_test.c against ptrace single-step counts):
 *
 *   wl_alu_run(n)                 7 + 8*n
 *   wl_crc_run(n, mem, size)      n == 0: 8;  size == 0: 10;  else 10 + n*(3 + 8*size)
 *   wl_sieve_run(n, flags, size)  6 + n*P(size), where one pass is
 *       P = 7 + 4*size/8 + 4 + 5*(size-2) + sum over i >= 2 with i*i < size of
 *           (8 + [i prime] * 4 * ceil((size - i*i) / i))
 *
 * The init functions prepare memory and are not timed.
 */
	.text
	.code64

/*
 * u64 wl_alu_run(u64 n): n rounds of six register ALU operations.
 */
	.globl	wl_alu_run
	.type	wl_alu_run, @function
wl_alu_run:
	mov	$1, %eax
	mov	$0x12345678, %ecx
	mov	$0x09abcdef, %edx
	test	%rdi, %rdi
	jz	2f
1:	add	%rcx, %rax
	xor	%rax, %rdx
	sub	%rdx, %rcx
	rol	$13, %rax
	add	$0x55, %rdx
	xor	%rcx, %rax
	dec	%rdi
	jnz	1b
2:	ret
	.size	wl_alu_run, . - wl_alu_run

/*
 * void wl_crc_init(u64 size, u8 *mem): mem[0..1024) = the CRC-32 table
 * (reflected, polynomial 0xedb88320), mem[1024..1024+size) = bytes of the
 * LCG x = x * 1103515245 + 12345 (x0 = 1), byte = x >> 16.
 */
	.globl	wl_crc_init
	.type	wl_crc_init, @function
wl_crc_init:
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	mov	$8, %r8d
2:	shr	$1, %eax
	jnc	3f
	xor	$0xedb88320, %eax
3:	dec	%r8d
	jnz	2b
	mov	%eax, (%rsi,%rcx,4)
	inc	%ecx
	cmp	$256, %ecx
	jne	1b
	lea	1024(%rsi), %r9
	mov	$1, %eax
	xor	%ecx, %ecx
	test	%rdi, %rdi
	jz	5f
4:	imul	$1103515245, %eax, %eax
	add	$12345, %eax
	mov	%eax, %edx
	shr	$16, %edx
	mov	%dl, (%r9,%rcx)
	inc	%rcx
	cmp	%rdi, %rcx
	jne	4b
5:	ret
	.size	wl_crc_init, . - wl_crc_init

/*
 * u64 wl_crc_run(u64 n, const u8 *mem, u64 size): CRC-32 (table-driven,
 * one byte per step) of the buffer mem+1024 repeated n times.
 */
	.globl	wl_crc_run
	.type	wl_crc_run, @function
wl_crc_run:
	mov	$0xffffffff, %eax
	lea	1024(%rsi), %r9
	lea	(%r9,%rdx), %r10
	test	%rdi, %rdi
	jz	3f
	test	%rdx, %rdx
	jz	3f
1:	mov	%r9, %rcx
2:	movzbl	(%rcx), %edx
	xor	%eax, %edx
	movzbl	%dl, %edx
	shr	$8, %eax
	xor	(%rsi,%rdx,4), %eax
	inc	%rcx
	cmp	%r10, %rcx
	jne	2b
	dec	%rdi
	jnz	1b
3:	not	%eax
	ret
	.size	wl_crc_run, . - wl_crc_run

/*
 * u64 wl_sieve_run(u64 n, u8 *flags, u64 size): n passes of the sieve of
 * Eratosthenes over flags[0..size) (size a multiple of 8, at least 8);
 * returns the number of primes below size.
 */
	.globl	wl_sieve_run
	.type	wl_sieve_run, @function
wl_sieve_run:
	mov	%rdx, %r8
	xor	%eax, %eax
	test	%rdi, %rdi
	jz	9f
0:	movabs	$0x0101010101010101, %r9
	xor	%ecx, %ecx
1:	mov	%r9, (%rsi,%rcx)
	add	$8, %rcx
	cmp	%r8, %rcx
	jb	1b
	mov	$2, %ecx
2:	mov	%rcx, %rdx
	imul	%rcx, %rdx
	cmp	%r8, %rdx
	jae	5f
	cmpb	$0, (%rsi,%rcx)
	je	4f
3:	movb	$0, (%rsi,%rdx)
	add	%rcx, %rdx
	cmp	%r8, %rdx
	jb	3b
4:	inc	%rcx
	jmp	2b
5:	xor	%eax, %eax
	mov	$2, %ecx
6:	movzbl	(%rsi,%rcx), %edx
	add	%rdx, %rax
	inc	%rcx
	cmp	%r8, %rcx
	jb	6b
	dec	%rdi
	jnz	0b
9:	ret
	.size	wl_sieve_run, . - wl_sieve_run

/* void wl_none_init(u64 size, u8 *mem): workloads that need no memory. */
	.globl	wl_none_init
	.type	wl_none_init, @function
wl_none_init:
	ret
	.size	wl_none_init, . - wl_none_init
