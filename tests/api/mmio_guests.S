/* SPDX-License-Identifier: MIT */
/*
 * mmio_guests.S: the guests of the MMIO / string I/O cases (mmio_cases.c).
 * Data here, copied to guest-physical MG_CODE and run in 64-bit mode at
 * CPL0 with flat segments and identity paging (mmio_cases.c builds it):
 *   0x00000000-0x001fffff  RAM (slot 0)
 *   0x00200000-0x003fffff  nothing: MMIO
 *   0x00400000-0x005fffff  a KVM_MEM_READONLY slot (slot 1)
 *   0x00600000-0x007fffff  not present in the page tables
 *   0x10000000-            nothing: MMIO
 *   0xfec00000, 0xfee00000 the I/O APIC and local APIC (with an irqchip)
 * Every guest ends with OUT to port 0xf4 (the runner stops there).
 */
#define MMIO	0x10000000
#define DATA	0x20000
#define ROM	0x400000
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:
#define DONE	outb %al, $0xf4; hlt

	.section .rodata.mmio_guests, "a"
	.code64

/* MOV of every size and form, MOVZX/MOVSX/MOVSXD, moffs */
GUEST(mg_mov)
	mov $MMIO, %rbx
	movb $0x12, (%rbx)
	movw $0x3456, 2(%rbx)
	movl $0x789abcde, 4(%rbx)
	mov $0x1122334455667788, %rax
	mov %rax, 8(%rbx)
	mov %ah, 7(%rbx)
	movb (%rbx), %cl
	movw 2(%rbx), %dx
	mov $-1, %rsi
	movl 4(%rbx), %esi
	movq 8(%rbx), %rdi
	movzbl 16(%rbx), %r8d
	movsbq 17(%rbx), %r9
	movzwl 18(%rbx), %r10d
	movswq 20(%rbx), %r11
	movslq 24(%rbx), %r12
	movabs MMIO + 0x20, %eax
	movabs %rax, MMIO + 0x28
	mov 0x30(%rbx,%rcx,1), %r13w
	DONE
END(mg_mov)

/* ALU with a memory operand (read, read-modify-write), XCHG, BT*, PUSH/POP m */
GUEST(mg_alu)
	mov $MMIO, %rbx
	mov $0x1000, %rsp
	mov $0x11111111, %eax
	mov $0x22222222, %ecx
	add (%rbx), %eax
	add %ecx, 4(%rbx)
	orq $0x55, 8(%rbx)
	cmpl $5, 12(%rbx)
	pushfq
	pop %r14
	test %edx, 16(%rbx)
	incl 20(%rbx)
	negq 24(%rbx)
	sbb 28(%rbx), %cx
	pushfq
	pop %r15
	mov $0x3333, %esi
	xchg %esi, 32(%rbx)
	mov $7, %edi
	lock xaddl %edi, 36(%rbx)
	mov $0x44, %r8d
	cmpxchg %r8d, 40(%rbx)
	bt $3, 44(%rbx)
	setc %r9b
	btsl $4, 48(%rbx)
	mov $5, %ecx
	btr %ecx, 52(%rbx)
	btcw $1, 56(%rbx)
	pushq 64(%rbx)
	popq 72(%rbx)
	pop %r10
	imul 80(%rbx), %r11d
	shlq $3, 88(%rbx)
	notw 96(%rbx)
	mov $100, %ecx
	btl %ecx, 0x100(%rbx)	/* bit 100: the dword at +12 */
	mov $-20, %rcx
	btsq %rcx, 0x140(%rbx)	/* bit -20: the qword at -8 */
	mov $-1, %rdx
	btcw %dx, 0x180(%rbx)	/* bit -1: the word at -2 */
	cmp %r11d, %r10d	/* SHL and IMUL leave AF/SF/ZF/PF undefined */
	DONE
END(mg_alu)

/* MOVS/STOS/LODS/CMPS/SCAS between MMIO and RAM, with and without REP */
GUEST(mg_str)
	cld
	mov $MMIO, %rsi
	mov $DATA, %rdi
	movsb
	movsw
	movsl
	movsq
	mov $MMIO + 0x100, %rdi
	mov $DATA + 0x100, %rsi
	movq $0x0102030405060708, %rax
	mov %rax, (%rsi)
	movsq
	mov $MMIO + 0x200, %rdi
	mov $0xab, %al
	stosb
	mov $3, %ecx
	mov $0xcafef00d, %eax
	rep stosl
	mov $MMIO + 0x300, %rsi
	lodsw
	mov $MMIO + 0x400, %rsi
	mov $DATA, %rdi
	cmpsl
	pushfq
	pop %r8
	mov $MMIO + 0x500, %rdi
	mov $0x99, %eax
	scasl
	pushfq
	pop %r9
	mov $3, %rcx
	mov $MMIO + 0x600, %rsi
	mov $DATA + 0x200, %rdi
	rep movsb
	std
	mov $MMIO + 0x700, %rsi
	mov $DATA + 0x300, %rdi
	mov $2, %ecx
	rep movsw
	cld
	mov $MMIO + 0x800, %rdi
	mov $0x5a, %al
	mov $4, %ecx
	repne scasb
	mov %rcx, %r10
	mov $2, %ecx
	mov $MMIO + 0x900, %rsi
	mov $MMIO + 0xa00, %rdi
	rep movsb
	mov $MMIO + 0xb00, %rsi
	mov $MMIO + 0xc00, %rdi
	cmpsw			/* two MMIO reads: the first answered from the read cache */
	pushfq
	pop %r11
	DONE
END(mg_str)

/* A read-only slot: reads from memory, writes exit and leave it unchanged */
GUEST(mg_rom)
	mov $ROM, %rbx
	mov (%rbx), %rax
	movl $0xdeadbeef, 8(%rbx)
	mov 8(%rbx), %rcx
	addl $1, 16(%rbx)
	mov 16(%rbx), %rdx
	mov $ROM + 0x100, %rdi
	mov $2, %ecx
	mov $0x77, %eax
	rep stosb
	mov %rcx, %rsi
	DONE
END(mg_rom)

/* Accesses that cross a page: MMIO/MMIO, RAM/MMIO, MMIO/RAM */
GUEST(mg_split)
	mov $0x1122334455667788, %rax
	mov %rax, MMIO + 0xffc
	mov MMIO + 0x1ffe, %rcx
	mov %rax, 0x1ffffa
	mov 0x1ffffc, %rdx
	movl $0xa1b2c3d4, 0x3ffffe
	mov 0x3ffffd, %esi
	mov $MMIO + 0x2ffd, %rdi
	movw $0x4455, (%rdi)
	DONE
END(mg_split)

/* String port I/O: REP OUTS (one exit per element), REP INS (one exit, count N) */
GUEST(mg_pio)
	cld
	mov $DATA, %rsi
	movl $0x44332211, (%rsi)
	movl $0x88776655, 4(%rsi)
	mov $0x1234, %dx
	mov $4, %ecx
	rep outsb
	mov $2, %ecx
	rep outsw
	outsl
	mov $DATA + 0x100, %rdi
	mov $5, %ecx
	rep insb
	mov $3, %ecx
	rep insw
	insl
	std
	mov $DATA + 0x180, %rdi
	mov $3, %ecx
	rep insb
	cld
	xor %ecx, %ecx
	rep insb
	mov $DATA + 0xffe, %rdi
	mov $4, %ecx
	rep insb
	mov $DATA + 0x2000, %rdi
	mov $1500, %ecx
	rep insb		/* KVM's read-ahead: 1024, then 476 */
	mov $DATA + 0x3000, %rdi
	mov $700, %ecx
	rep insw		/* 512 words, then 188 */
	mov $MMIO + 0xd00, %rdi
	mov $3, %ecx
	rep insb		/* into MMIO: one port exit, one 3-byte MMIO write */
	mov $MMIO + 0xe00, %rdi
	mov $6, %ecx
	rep insw		/* 12 bytes: MMIO writes of 8 and 4 */
	mov $MMIO + 0x1ffc, %rdi
	mov $3, %ecx
	rep insl		/* across a page: fragments per page */
	DONE
END(mg_pio)

/* The in-kernel I/O APIC and local APIC answer their MMIO (with an irqchip) */
GUEST(mg_apic)
	mov $0xfec00000, %rbx
	movl $1, (%rbx)
	mov 0x10(%rbx), %eax
	movl $0x10, (%rbx)
	movl $0x000000f0, 0x10(%rbx)
	mov 0x10(%rbx), %ecx
	mov $0xfee00000, %rbx
	mov 0x30(%rbx), %edx
	mov 0x80(%rbx), %esi
	movl $0x20, 0x80(%rbx)
	mov 0x80(%rbx), %edi
	mov $MMIO, %rbx
	mov (%rbx), %r8d
	DONE
END(mg_apic)

/*
 * Exception stubs for vectors 0-31 at 16-byte steps: report the vector
 * (port 0xe0), the word on the stack (the error code, port 0xe4), CR2
 * (port 0xe8) and the interrupted RIP's low half (port 0xec).
 */
GUEST(mg_rt)
	.rept 32
	.balign 16
	mov $(. - mg_rt) / 16, %al
	jmp 1f
	.endr
	.balign 16
1:	out %al, $0xe0
	mov (%rsp), %eax
	out %eax, $0xe4
	mov %cr2, %rax
	out %eax, $0xe8
	mov 8(%rsp), %eax
	out %eax, $0xec
	DONE
END(mg_rt)

/* MOVS from MMIO to a non-present page: the read exits, then the write is #PF */
GUEST(mg_pf_movs)
	mov $MMIO, %rsi
	mov $0x600010, %rdi
	movsw
	DONE
END(mg_pf_movs)

/* REP INS to a non-present page: the port exit, then #PF (RDI, RCX unchanged) */
GUEST(mg_pf_ins)
	mov $0x1234, %dx
	mov $0x600ffe, %rdi
	mov $2, %ecx
	rep insb
	DONE
END(mg_pf_ins)

/* Code in MMIO cannot be fetched: KVM_EXIT_INTERNAL_ERROR (emulation) */
GUEST(mg_fetch_mmio)
	mov $MMIO + 0x40, %rax
	jmp *%rax
END(mg_fetch_mmio)

/* Segment registers loaded from MMIO (the descriptor comes from the GDT in RAM) */
GUEST(mg_sreg)
	mov $MMIO, %rbx
	mov (%rbx), %es
	mov %es, %eax
	mov 2(%rbx), %ss
	mov %ss, %ecx
	mov 4(%rbx), %fs
	mov %fs, %esi
	DONE
END(mg_sreg)

/* MOV SS with the selector in MMIO: the MOV-SS shadow follows it */
GUEST(mg_movss)
	mov $MMIO, %rbx
	mov (%rbx), %ss
	mov %ss, %eax
	DONE
END(mg_movss)

/* Null selectors from MMIO into ES and FS (64-bit mode allows them) */
GUEST(mg_null_sreg)
	mov $MMIO, %rbx
	mov (%rbx), %es
	mov 2(%rbx), %fs
	mov %es, %eax
	DONE
END(mg_null_sreg)

/* An MMIO write in the shadow of a (native) MOV SS: the shadow ends with it */
GUEST(mg_in_shadow)
	mov $MMIO, %rbx
	mov %ss, %eax
	mov %eax, %ss
	movl $0x5a, (%rbx)
	DONE
END(mg_in_shadow)

/*
 * 64-bit mode with segment state the guest changed itself since the last
 * exit that read it: FS and GS bases by WRMSR, then FS (base 0) and GS
 * (base 0x10000100) reloaded natively and DS and ES made null.  MMIO
 * through FS and GS, a read-modify-write through FS, the selectors stored
 * to MMIO (MOV r/m, Sreg), a MOVS from RAM to MMIO.
 */
GUEST(mg_seg64)
	mov $0xc0000100, %ecx
	mov $0x7000000, %eax
	xor %edx, %edx
	wrmsr				/* FS base */
	mov $0xc0000101, %ecx
	mov $(MMIO + 0x100), %eax
	wrmsr				/* GS base */
	mov $0x10, %eax
	mov %eax, %fs			/* FS base 0 */
	xor %eax, %eax
	mov %eax, %ds
	mov %eax, %es
	movl $0x11223344, %fs:MMIO + 8
	movl %gs:0x10, %esi		/* MMIO + 0x110 */
	addl $5, %fs:MMIO + 0x30
	mov $MMIO, %rbx
	mov %ds, 0x20(%rbx)		/* 0 */
	mov %ss, 0x28(%rbx)		/* 0x10 */
	mov $DATA, %rsi
	lea 0x40(%rbx), %rdi
	movsl
	mov %fs, %edx
	DONE
END(mg_seg64)

/* An MMIO write, then (after userspace put a memslot there) the same page is RAM. */
GUEST(mg_mmio_then_ram)
	mov $MMIO, %rbx
	movl $0x1111, (%rbx)
	out %al, $0x80
	movl $0x2222, 4(%rbx)
	mov (%rbx), %ecx
	DONE
END(mg_mmio_then_ram)

/*
 * CPL3 (IRETQ to user segments 0x1b/0x23 with IOPL 3): MMIO and string
 * I/O from user mode, translated with user-mode page walks.
 */
GUEST(mg_user)
	mov $0x1000, %rsp
	pushq $0x23
	pushq $0xf00
	pushq $0x3002
	pushq $0x1b
	lea 1f(%rip), %rax
	pushq %rax
	iretq
1:	mov $MMIO, %rbx
	movl $0x5566, (%rbx)
	mov 8(%rbx), %rax
	addw $3, 16(%rbx)
	mov $DATA, %rsi
	mov $0x1234, %dx
	mov $2, %ecx
	rep outsb
	mov $DATA + 0x100, %rdi
	mov $3, %ecx
	rep insb
	DONE
END(mg_user)

/*
 * TF single-step over an instruction the kernel emulates to the end (an
 * I/O APIC read): #DB after it, DR6.BS (the stub reports vector 1, the
 * return RIP at (%rsp) and DR6 via port 0xe8 in place of CR2).
 */
GUEST(mg_step)
	mov $0xfec00000, %rbx
	movl $1, (%rbx)
	pushfq
	orl $0x100, (%rsp)
	popfq
	mov 0x10(%rbx), %eax
	nop
	DONE
END(mg_step)

/* #UD with the IDT in MMIO: the exception's delivery reads MMIO */
GUEST(mg_idt_mmio)
	ud2
	DONE
END(mg_idt_mmio)

/*
 * String I/O to in-kernel devices (with an irqchip and PIT): REP OUTSB
 * programs PIT counter 2's reload in lobyte/hibyte mode, REP INSB reads
 * the latched count back; neither leaves the kernel.  Then a REP OUTSB to
 * a port nobody claims exits once per byte.
 */
GUEST(mg_pio_kernel)
	cld
	mov $DATA, %rsi
	movw $0xffff, (%rsi)
	mov $0xb0, %al		/* counter 2, lobyte/hibyte, mode 0 */
	out %al, $0x43
	mov $0x42, %dx
	mov $2, %ecx
	rep outsb
	mov $0x80, %al		/* latch counter 2 */
	out %al, $0x43
	mov $DATA + 0x10, %rdi
	mov $2, %ecx
	rep insb
	mov $DATA, %rsi		/* the reload value (the count read back depends on time) */
	mov $0x5f0, %dx
	mov $2, %ecx
	rep outsb
	DONE
END(mg_pio_kernel)

/* ---- flat 32-bit protected mode, no paging ---- */
	.code32
GUEST(mg_pm32)
	mov $MMIO, %ebx
	movl $0x11223344, (%ebx)
	mov 4(%ebx), %eax
	movzbw 8(%ebx), %cx
	addw %cx, 10(%ebx)
	mov $MMIO + 0x100, %esi
	mov $DATA, %edi
	mov $2, %ecx
	rep movsl
	mov $0x1234, %dx
	mov $DATA, %esi
	mov $2, %ecx
	rep outsw
	mov $DATA + 0x40, %edi
	mov $3, %ecx
	rep insb
	push 0x20(%ebx)
	pop %ebp
	mov $MMIO + 0x200, %esi
	mov $0x01020304, %eax
	mov $0x05060708, %edx
	mov $0x0a0b0c0d, %ecx
	cmpxchg8b (%esi)
	mov %ebx, %edi
	xchg 0x30(%edi), %ecx
	DONE
END(mg_pm32)
/*
 * IA32_TSC_DEADLINE written in a loop (the WRMSR fastpath on VMX KVM and
 * userkvm), read back; then a deadline in the past, which expires at once
 * (LVTT masked: no interrupt, the MSR reads 0 afterwards).  r13:r14 = the
 * last far deadline read back, r15 = the MSR after the expiry, rbp = how
 * often the loop ran.
 */
	.code64
GUEST(mg_tscdl)
	mov $0xfee00320, %ebx		/* LVTT: TSC-deadline mode, masked, vector 0x40 */
	movl $0x50040, (%rbx)
	mov $0x6e0, %ecx		/* IA32_TSC_DEADLINE */
	mov $1000, %r12d
	xor %ebp, %ebp
1:	mov %r12d, %eax
	mov $0x40000000, %edx		/* 2^62 + n TSC ticks: never in this test */
	wrmsr
	inc %ebp
	dec %r12d
	jnz 1b
	rdmsr
	mov %rax, %r13
	mov %rdx, %r14
	mov $1, %eax			/* TSC 1: long past */
	xor %edx, %edx
	wrmsr
	mov $100000, %r12d		/* the expiry is seen at an exit or a host tick */
2:	rdmsr
	test %eax, %eax
	jz 3f
	dec %r12d
	jnz 2b
3:	mov %rax, %r15
	xor %eax, %eax
	xor %edx, %edx
	DONE
END(mg_tscdl)

/*
 * x2APIC self-IPIs through the ICR MSR (the WRMSR fastpath's second MSR):
 * x2APIC on, APIC enabled, then 100 fixed physical IPIs of vector 0x40 to
 * APIC ID 0 with IF = 1; the handler (its IDT gate is set by the case)
 * counts them in r12 and sends EOI.  r13 = 0 when the loop ended.
 */
	.code64
GUEST(mg_x2apic)
	mov $0x1b, %ecx			/* IA32_APIC_BASE: EN | EXTD */
	rdmsr
	or $0xc00, %eax
	wrmsr
	mov $0x80f, %ecx		/* SVR: enabled, spurious vector 0xff */
	mov $0x1ff, %eax
	xor %edx, %edx
	wrmsr
	xor %r12d, %r12d
	mov $100, %r13d
	sti
1:	mov $0x830, %ecx		/* ICR: fixed, physical, vector 0x40, to ID 0 */
	mov $0x4040, %eax
	xor %edx, %edx
	wrmsr
	dec %r13d
	jnz 1b
	cli
	DONE
	.globl mg_x2apic_handler
mg_x2apic_handler:
	inc %r12d
	push %rax
	push %rcx
	push %rdx
	mov $0x80b, %ecx		/* EOI */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	pop %rdx
	pop %rcx
	pop %rax
	iretq
END(mg_x2apic)

/* Two NOPs and the end (KVM_GUESTDBG_INJECT_DB: the #DB comes before the first) */
	.code64
GUEST(mg_nops)
	nop
	nop
	DONE
END(mg_nops)

/*
 * CPUID in a loop (1000 times leaf 1: rbp = the sum of the EAX values),
 * then RFLAGS.TF set by POPF: single-step traps after the MOV that follows
 * the POPF (SDM 17.3.1.4: not after the POPF itself) and after the CPUID.
 * The #DB handler (its IDT gate is set by the case) counts them in r14,
 * records the RIP it interrupted in r13, and clears TF once that RIP is
 * past the CPUID.
 */
	.code64
GUEST(mg_cpuid)
	mov $1000, %r12d
	xor %ebp, %ebp
	xor %r13d, %r13d
	xor %r14d, %r14d
1:	mov $1, %eax
	xor %ecx, %ecx
	cpuid
	add %eax, %ebp
	dec %r12d
	jnz 1b
	pushfq
	orq $0x100, (%rsp)
	popfq
	mov $1, %eax
	cpuid
	.globl mg_cpuid_after
mg_cpuid_after:
	nop
	DONE
	.globl mg_cpuid_db
mg_cpuid_db:
	mov (%rsp), %r13
	inc %r14d
	push %rax
	lea mg_cpuid_after(%rip), %rax
	cmp %rax, %r13
	jne 2f
	andq $~0x100, 24(%rsp)
2:	pop %rax
	iretq
END(mg_cpuid)

/*
 * A single-step #DB the guest takes itself (the processor sets DR6.BS, no
 * exit), then an MMIO write in a MOV-SS shadow (the emulator's state is
 * written back to the VMCS: the shadow changed).  R14 counts the #DBs.
 */
GUEST(mg_dr6_native)
	mov $MMIO, %rbx
	xor %r14d, %r14d
	pushfq
	orq $0x100, (%rsp)
	popfq
	nop
	mov %ss, %eax
	mov %eax, %ss
	movl $0x5a, (%rbx)
	DONE
	.globl mg_dr6_native_db
mg_dr6_native_db:
	inc %r14d
	andq $~0x100, 16(%rsp)
	iretq
END(mg_dr6_native)

/*
 * MOV stores to MMIO in one block, taken in place by the processor
 * (silicon/vmx_mmio.c) and seen after the host changed the vCPU between
 * exits (mmio_store_then_regs): RIP set back to the first store, RAX,
 * RCX and RFLAGS.CF written, a flag result of before an exit read after
 * it, a loop whose every pass exits.  The 80 stores before are each
 * an exit too (at first not taken in place, the processor warming up).
 */
GUEST(mg_store_cont)
	mov $MMIO, %rbx
	mov $80, %ecx
2:	movl %ecx, 0x40(%rbx)
	dec %ecx
	jnz 2b
	mov $0x11, %eax
	mov $0x22, %ecx
	.globl mg_store_cont_st1
mg_store_cont_st1:
	movl %eax, (%rbx)
	add $1, %ecx
	movl %ecx, 4(%rbx)
	movl %ecx, 8(%rbx)
	setc %dl
	movb %dl, 12(%rbx)
	mov $5, %eax
	cmp $5, %eax
	movl %eax, 16(%rbx)
	setz %dl
	movb %dl, 20(%rbx)
	mov $8, %ecx
	mov $0x100, %esi
1:	movl %esi, 24(%rbx)
	inc %esi
	dec %ecx
	jnz 1b
	movw $0x7788, 28(%rbx)
	movq $-2, 32(%rbx)
	DONE
END(mg_store_cont)

/*
 * An interrupt the VMM injects after an MMIO store (mmio_store_then_irq):
 * delivered at the next instruction, before the store after it; the
 * handler notes where (R13) and how often (R14).
 */
GUEST(mg_store_irq)
	mov $MMIO, %rbx
	mov $0x1000, %rsp
	xor %r13d, %r13d
	xor %r14d, %r14d
	sti
	nop
	mov $80, %ecx
2:	movl %ecx, 0x40(%rbx)
	dec %ecx
	jnz 2b
	movl $1, (%rbx)
	.globl mg_store_irq_after
mg_store_irq_after:
	movl $2, 4(%rbx)
	movl %r14d, 8(%rbx)
	DONE
	.globl mg_store_irq_handler
mg_store_irq_handler:
	mov (%rsp), %r13
	inc %r14d
	iretq
END(mg_store_irq)

	.section .note.GNU-stack, "", @progbits
