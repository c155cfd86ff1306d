/* SPDX-License-Identifier: MIT */
/*
 * The two drivers of the benchmark guest.  Both run at CPL0 in long mode and
 * call the same workload functions (workloads.S, exits.S) through the same
 * tables.
 *
 * host_entry (KVM-API runners): a command loop.  Each command is four 32-bit
 * INs from BENCH_PORT_CMD: workload, n[31:0], n[63:32], size (workload
 * WL_CMD_STOP ends with HLT).  The guest prepares memory (untimed), does an
 * OUT to BENCH_PORT_START, runs the workload, and reports the result with an
 * OUT of its low half to BENCH_PORT_END and of its high half to
 * BENCH_PORT_RESULT_HI.  The runner times START..END; the window holds the
 * counted instructions (call .. ret) plus 4 others.
 *
 * tcg_main (multiboot, QEMU): runs each workload but HLT (which would wait
 * for an interrupt forever) with n = 1, 2, 4, ... until one run takes at
 * least BENCH_TCG_MIN_CYCLES TSC cycles, runs that n BENCH_REPEATS - 1 more
 * times and prints the fastest of those runs on COM1:
 *     BENCH id=<hex> n=<hex> size=<hex> cycles=<hex> result=<hex>
 * between "BENCH-BEGIN tsc=<hex>" and "BENCH-END tsc=<hex>", then writes
 * to isa-debug-exit.  First it measures its TSC against the PIT (BENCH-PIT).  The RDTSC window holds the counted instructions plus 8.
 */
#include "../bench_layout.h"

	.text
	.code64

	.globl	host_entry
host_entry:
	mov	$BENCH_STACK_TOP, %rsp
1:	mov	$BENCH_PORT_CMD, %edx
	in	%dx, %eax
	cmp	$WL_CMD_STOP, %eax
	je	9f
	mov	%eax, %ebx
	in	%dx, %eax
	mov	%eax, %r12d
	in	%dx, %eax
	shl	$32, %rax
	or	%rax, %r12
	in	%dx, %eax
	mov	%eax, %r13d
	cmp	$WL_NR, %ebx
	jae	8f
	mov	%r13, %rdi
	mov	$BENCH_SCRATCH, %esi
	call	*init_tab(,%rbx,8)
	mov	$BENCH_PORT_START, %edx
	out	%eax, %dx
	mov	%r12, %rdi
	mov	$BENCH_SCRATCH, %esi
	mov	%r13, %rdx
	call	*run_tab(,%rbx,8)
	mov	$BENCH_PORT_END, %edx
	out	%eax, %dx
	shr	$32, %rax
	mov	$BENCH_PORT_RESULT_HI, %edx
	out	%eax, %dx
	jmp	1b
8:	/* Unknown workload: an empty START..END with result all ones. */
	mov	$BENCH_PORT_START, %edx
	out	%eax, %dx
	mov	$-1, %eax
	mov	$BENCH_PORT_END, %edx
	out	%eax, %dx
	mov	$BENCH_PORT_RESULT_HI, %edx
	out	%eax, %dx
	jmp	1b
9:	hlt
	jmp	9b

	.globl	tcg_main
tcg_main:
	push	%rbx
	push	%rbp
	lea	msg_begin(%rip), %rdi
	call	puts
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %rdi
	call	puthex
	call	putnl
	call	pit_calibrate
	xor	%ebx, %ebx
1:	cmp	$WL_EX_HLT, %ebx
	jae	8f
	mov	sizes(,%rbx,8), %r13
	mov	$1, %r12d
2:	call	timed_run
	mov	%rax, %r14
	cmp	$BENCH_TCG_MIN_CYCLES, %r14
	jae	3f
	bt	$40, %r12
	jc	3f
	shl	$1, %r12
	jmp	2b
3:	mov	$(BENCH_REPEATS - 1), %ebp	/* the best of BENCH_REPEATS runs at this n */
4:	call	timed_run
	cmp	%r14, %rax
	jae	5f
	mov	%rax, %r14
5:	dec	%ebp
	jnz	4b
3:	lea	msg_id(%rip), %rdi
	call	puts
	mov	%rbx, %rdi
	call	puthex
	lea	msg_n(%rip), %rdi
	call	puts
	mov	%r12, %rdi
	call	puthex
	lea	msg_size(%rip), %rdi
	call	puts
	mov	%r13, %rdi
	call	puthex
	lea	msg_cycles(%rip), %rdi
	call	puts
	mov	%r14, %rdi
	call	puthex
	lea	msg_result(%rip), %rdi
	call	puts
	mov	%r15, %rdi
	call	puthex
	call	putnl
	inc	%ebx
	jmp	1b
8:	lea	msg_end(%rip), %rdi
	call	puts
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %rdi
	call	puthex
	call	putnl
	mov	$BENCH_PORT_DEBUG_EXIT, %edx
	xor	%eax, %eax
	out	%al, %dx
	pop	%rbp
	pop	%rbx
	ret

/*
 * pit_calibrate: PIT_ROUNDS times, count TSC cycles while PIT channel 2
 * counts PIT_LATCH ticks of its 1193182 Hz clock (mode 0, gate on, output
 * polled in port 0x61 bit 5, as Linux's pit_calibrate_tsc() does), and
 * print each round as
 *     BENCH-PIT latch=<hex> cycles=<hex>
 * so the runner can check the guest's TSC rate against an independent clock.
 * The TSC is read before the count starts and after its end is seen, so a
 * round can only come out long (QEMU's thread preempted): the runner takes
 * the shortest.
 */
#define PIT_LATCH	59659		/* 50 ms */
#define PIT_ROUNDS	5
pit_calibrate:
	push	%rbp
	mov	$PIT_ROUNDS, %ebp
0:	in	$0x61, %al
	and	$0xfd, %al		/* speaker off */
	or	$0x01, %al		/* gate of channel 2 on */
	out	%al, $0x61
	mov	$0xb0, %al		/* channel 2, lobyte/hibyte, mode 0, binary */
	out	%al, $0x43
	mov	$(PIT_LATCH & 0xff), %al
	out	%al, $0x42
	rdtsc				/* before the write that starts the count */
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %r14
	mov	$(PIT_LATCH >> 8), %al
	out	%al, $0x42
1:	in	$0x61, %al
	test	$0x20, %al
	jz	1b
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%r14, %rax
	mov	%rax, %r14
	lea	msg_pit(%rip), %rdi
	call	puts
	mov	$PIT_LATCH, %edi
	call	puthex
	lea	msg_cycles(%rip), %rdi
	call	puts
	mov	%r14, %rdi
	call	puthex
	call	putnl
	dec	%ebp
	jnz	0b
	pop	%rbp
	ret

/*
 * timed_run: prepare and run workload %rbx with n = %r12, size = %r13.
 * Return: the TSC cycles of the run in %rax, its result in %r15.
 */
timed_run:
	push	%r14
	mov	%r13, %rdi
	mov	$BENCH_SCRATCH, %esi
	call	*init_tab(,%rbx,8)
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %r14
	mov	%r12, %rdi
	mov	$BENCH_SCRATCH, %esi
	mov	%r13, %rdx
	call	*run_tab(,%rbx,8)
	mov	%rax, %r15
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%r14, %rax
	pop	%r14
	ret

/* putc(%al) on COM1, polling LSR.THRE; clobbers %rdx, %rcx. */
putc:
	mov	%eax, %ecx
	mov	$(BENCH_PORT_SERIAL + 5), %edx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	mov	%ecx, %eax
	mov	$BENCH_PORT_SERIAL, %edx
	out	%al, %dx
	ret

/* puts(%rdi = NUL-terminated string). */
puts:
	movzbl	(%rdi), %eax
	test	%eax, %eax
	jz	1f
	call	putc
	inc	%rdi
	jmp	puts
1:	ret

putnl:
	mov	$'\n', %eax
	jmp	putc

/* puthex(%rdi): 16 hex digits. */
puthex:
	mov	$16, %esi
1:	rol	$4, %rdi
	mov	%edi, %eax
	and	$15, %eax
	cmp	$10, %eax
	jb	2f
	add	$('a' - '0' - 10), %eax
2:	add	$'0', %eax
	call	putc
	dec	%esi
	jnz	1b
	ret

	.section .rodata
	.balign	8
	.globl	init_tab, run_tab
init_tab:
	.quad	wl_none_init		/* WL_ALU */
	.quad	wl_crc_init		/* WL_CRC32 */
	.quad	wl_none_init		/* WL_SIEVE: each pass fills its array */
	.quad	wl_none_init, wl_none_init, wl_none_init, wl_none_init, wl_none_init, wl_none_init
run_tab:
	.quad	wl_alu_run, wl_crc_run, wl_sieve_run
	.quad	ex_empty_run, ex_out_run, ex_in_run, ex_mmio_run, ex_cpuid_run, ex_hlt_run
sizes:
	.quad	0, BENCH_CRC_SIZE, BENCH_SIEVE_SIZE, 0, 0, 0, 0, 0, 0
msg_begin:	.asciz	"BENCH-BEGIN tsc="
msg_end:	.asciz	"BENCH-END tsc="
msg_pit:	.asciz	"BENCH-PIT latch="
msg_id:		.asciz	"BENCH id="
msg_n:		.asciz	" n="
msg_size:	.asciz	" size="
msg_cycles:	.asciz	" cycles="
msg_result:	.asciz	" result="
