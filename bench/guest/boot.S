/* SPDX-License-Identifier: MIT */
/*
 * The image's head: a multiboot (v1) header with the address fields (the
 * "a.out kludge", flags bit 16), so QEMU boots the flat binary with -kernel,
 * and at offset 0x40 the 64-bit entry for runners that start the guest in
 * long mode themselves (bench/kvm_bench.c, bench/silicon_bench.c), then the
 * addresses of the workload tables (for bench/native_bench.c).
 *
 * From multiboot (32-bit protected mode, paging off) mb_entry builds the same
 * identity map the KVM-API runners build (4 GiB, 2 MiB pages, at
 * BENCH_PT_BASE), enters long mode at CPL0 and calls tcg_main.
 */
#include "../bench_layout.h"

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00010000	/* the header's address fields are valid */

	.section .head, "ax"
	.code32
	.globl	mb_header
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
	.long	mb_header		/* header_addr */
	.long	BENCH_IMAGE_BASE	/* load_addr */
	.long	0			/* load_end_addr: the whole file */
	.long	0			/* bss_end_addr: no bss */
	.long	mb_entry		/* entry_addr */

	.org	BENCH_HOST_ENTRY - BENCH_IMAGE_BASE
	.code64
	.globl	host_entry_jmp
host_entry_jmp:
	jmp	host_entry
	.org	BENCH_INIT_TAB_PTR - BENCH_IMAGE_BASE
	.quad	init_tab
	.quad	run_tab

	.text
	.code32
	.globl	mb_entry
mb_entry:
	cli
	/* Zero PML4, PDPT and the four PDs. */
	mov	$BENCH_PT_BASE, %edi
	mov	$(6 * 4096 / 4), %ecx
	xor	%eax, %eax
	cld
	rep stosl
	movl	$(BENCH_PT_BASE + 0x1000 + 3), BENCH_PT_BASE
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$12, %eax
	add	$(BENCH_PT_BASE + 0x2000 + 3), %eax
	mov	%eax, (BENCH_PT_BASE + 0x1000)(,%ecx,8)
	inc	%ecx
	cmp	$4, %ecx
	jne	1b
	xor	%ecx, %ecx
2:	mov	%ecx, %eax
	shl	$21, %eax
	or	$0x83, %eax		/* present, writable, 2 MiB page */
	mov	%eax, (BENCH_PT_BASE + 0x2000)(,%ecx,8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	2b

	lgdt	gdt_desc
	mov	%cr4, %eax
	or	$0x20, %eax		/* CR4.PAE */
	mov	%eax, %cr4
	mov	$BENCH_PT_BASE, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* IA32_EFER */
	rdmsr
	or	$0x100, %eax		/* EFER.LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80010001, %eax	/* CR0.PG, WP, PE */
	mov	%eax, %cr0
	ljmp	$0x08, $long_entry

	.code64
long_entry:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$BENCH_STACK_TOP, %rsp
	call	tcg_main
3:	hlt
	jmp	3b

	.data
	.balign	8
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf92000000ffff	/* 0x10: data, DPL 0 */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
