/* SPDX-License-Identifier: MIT */
/*
 * The SMP guest: a multiboot v1 kernel whose boot CPU starts the others as
 * a BIOS or an OS does (INIT, SIPI, SIPI to one APIC ID after another,
 * SDM Vol. 3A 9.4.4), each application processor coming up in real mode
 * at the SIPI's vector, entering 32-bit protected mode and printing on
 * COM1 under a spin lock.  The BSP waits for each AP (about 1 s of TSC
 * at most), stops at the first APIC ID that does not answer, prints the
 * count and leaves through the debug-exit port with 0 (exit status 1).
 * Run it with `userkvm run --smp N --kernel smp.elf` (or QEMU -smp N).
 */
#include <guest.h>

#define TRAMP 0x8000			/* the SIPI vector 0x08 */
#define MAX_CPUS 16

	MULTIBOOT_HEADER
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	mov $hello, %eax
	call puts_locked
	movl $0x1ff, LAPIC + 0xf0	/* SVR: the APIC on */

	mov $tramp, %esi		/* the trampoline below 1 MiB */
	mov $TRAMP, %edi
	mov $(tramp_end - tramp), %ecx
	rep movsb

	mov $1, %ebx			/* APIC ID to start */
1:	cmp $MAX_CPUS, %ebx
	jae 3f
	mov %ebx, %eax
	shl $24, %eax
	mov %eax, LAPIC + 0x310		/* ICR2: destination */
	movl $0x4500, LAPIC + 0x300	/* INIT, assert */
	mov %eax, LAPIC + 0x310
	movl $0x4600 | (TRAMP >> 12), LAPIC + 0x300	/* SIPI */
	mov %eax, LAPIC + 0x310
	movl $0x4600 | (TRAMP >> 12), LAPIC + 0x300	/* SIPI again, as the SDM says */
	rdtsc
	mov %eax, %esi
	mov %edx, %edi
	add $0x80000000, %esi		/* about 1 s: a loaded host may start an AP's thread late */
	adc $0, %edi
2:	pause
	cmp %ebx, cpus_up
	jae 4f				/* it checked in */
	rdtsc
	cmp %edi, %edx
	jb 2b
	ja 3f
	cmp %esi, %eax
	jb 2b
	jmp 3f
4:	inc %ebx
	jmp 1b

3:	mov $count_msg, %eax
	call lock
	call puts
	mov cpus_up, %eax
	call putdec
	mov $cpus_msg, %eax
	call puts
	call unlock
	xor %eax, %eax
	out %al, $0xf4			/* debug exit: status 1 */
	cli
	hlt
	jmp .

/* An AP, in protected mode: its APIC ID names its stack; print, check in, halt. */
ap_main:
	mov LAPIC + 0x20, %eax
	shr $24, %eax
	mov %eax, %ebx
	inc %eax
	shl $10, %eax
	lea ap_stacks(%eax), %esp
	call lock
	mov $ap_msg, %eax
	call puts
	mov %ebx, %eax
	call putdec
	mov $up_msg, %eax
	call puts
	call unlock
	lock incl cpus_up
	cli
	hlt
	jmp .

lock:
	push %eax
5:	mov $1, %eax
	xchg %eax, print_lock
	test %eax, %eax
	jz 6f
	pause
	jmp 5b
6:	pop %eax
	ret

unlock:
	movl $0, print_lock
	ret

puts_locked:
	call lock
	call puts
	jmp unlock

	COM1_ROUTINES e

/*
 * The trampoline, copied to TRAMP: real mode with CS = TRAMP >> 4, IP = 0
 * (the SIPI's start), into flat 32-bit protected mode and on to ap_main.
 */
	AP_TRAMPOLINE TRAMP
	mov $ap_main, %eax
	jmp *%eax
tramp_end:

	.section .rodata
hello:		.asciz "smp: the boot CPU is up\n"
ap_msg:		.asciz "smp: CPU with APIC ID "
up_msg:		.asciz " is up\n"
count_msg:	.asciz "smp: "
cpus_msg:	.asciz " application processors started\n"

	.data
	.align 4
print_lock:	.long 0
cpus_up:	.long 0

	.bss
	.align 16
	.skip 4096
stack_top:
	.align 16
ap_stacks:	.skip 1024 * (MAX_CPUS + 1)
