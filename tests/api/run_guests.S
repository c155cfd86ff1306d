/* SPDX-License-Identifier: MIT */
/*
 * run_guests.S: the small guests of the KVM_RUN cases (run_cases.c).  They
 * are data here (copied into guest memory by the case), never run on the
 * host.  Every guest is loaded at CODE (guest-physical = linear, flat
 * segments); A(label) is a label's guest address.  Layout (run_cases.c):
 *   0x1000 CODE   the guest
 *   0x3ff8 RESUME where an exception handler jumps after reporting
 *   0x4000 RT     the long-mode exception stubs (g_lm_rt)
 *   0xf000        top of the stack
 *   0x10000 DATA  scratch data
 * Ports: 0x10-0x3f reports; 0xe0 exception vector, 0xe4 its error code.
 */
#define CODE	0x1000
#define RESUME	0x3ff8
#define DATA	0x10000
#define A(l)	((l) - G + CODE)
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

	.section .rodata.run_guests, "a"

/* ---- real mode: OUT/IN of every size, then HLT ---- */
	.code16
#define G g_rm_io
GUEST(g_rm_io)
	mov $0x1234, %ax
	out %al, $0x10
	out %ax, $0x11
	mov $0x89abcdef, %eax
	out %eax, $0x12
	mov $0x5678, %dx
	mov $0x77, %al
	out %al, %dx
	mov $0xaabbccdd, %eax
	in $0x20, %al
	out %eax, $0x30
	in $0x21, %ax
	out %eax, $0x30
	in $0x22, %eax
	out %eax, $0x30
	mov $0x1234, %bx
	movw %bx, (DATA - 0x10000 + 0x100)	/* a real-mode store (DS base 0) */
	hlt
END(g_rm_io)
#undef G

/* ---- 16-bit protected mode (CS.D = 0) ---- */
#define G g_pm16
GUEST(g_pm16)
	mov $0x1234, %ax
	add $0x1111, %ax
	mov $0x10002, %ebx
	mov %ax, (%bx)		/* 16-bit addressing: address 0x0002 */
	push %ax
	pop %cx
	out %ax, $0x10
	mov $0x11223344, %eax
	out %eax, $0x12
	hlt
END(g_pm16)
#undef G

/* ---- 32-bit flat protected mode ---- */
	.code32
#define G g_pm32
GUEST(g_pm32)
	mov $DATA, %esi
	movl $0xdeadbeef, (%esi)
	mov (%esi), %eax
	add $0x11111111, %eax
	push %eax
	pop %ebx
	mov %esp, %ecx
	lea 4(%esi), %edi
	mov $0x5555, %edx
	out %eax, $0x10
	hlt
END(g_pm32)
#undef G

/* 32-bit, paging on: store through the alias at %edi + DATA, read it back at DATA */
#define G g_pm32_alias
GUEST(g_pm32_alias)
	movl $0xcafef00d, DATA(%edi)
	mov DATA, %eax
	out %eax, $0x10
	mov %cr3, %ebx
	hlt
END(g_pm32_alias)
#undef G

/* #UD with no IDT (limit 0): #UD -> #GP -> #DF -> triple fault */
#define G g_pm32_ud
GUEST(g_pm32_ud)
	mov $0x42, %eax
	ud2
	hlt
END(g_pm32_ud)
#undef G

/* int3, then OUT (the software breakpoint case) */
#define G g_pm32_int3
GUEST(g_pm32_int3)
	mov $1, %eax
	int3
	mov $2, %eax
	out %eax, $0x10
	hlt
END(g_pm32_int3)
#undef G

/* a few instructions to single-step */
#define G g_pm32_step
GUEST(g_pm32_step)
	mov $1, %eax
	add $2, %eax
	jmp 1f
	nop
1:	inc %eax
	out %eax, $0x10
	hlt
END(g_pm32_step)
#undef G

/* ---- 64-bit: long mode at CPL0 ---- */
	.code64

/*
 * The exception stubs at RT (0x4000): vectors 0-33, 16 bytes apart.  Each
 * pushes its vector (and a 0 error code if the CPU pushes none), then the
 * common part reports vector and error code by OUT, resets the stack and
 * jumps to the address at RESUME.
 */
	.globl g_lm_rt, g_lm_rt_end
	.balign 16
g_lm_rt:
	.set vec, 0
	.rept 34
	.balign 16
	.if (vec == 8) | (vec == 10) | (vec == 11) | (vec == 12) | (vec == 13) | (vec == 14) | (vec == 17) | (vec == 21)
	nop
	nop
	.else
	pushq $0
	.endif
	pushq $vec
	jmp lm_common
	.set vec, vec + 1
	.endr
lm_common:
	pop %rax
	out %eax, $0xe0
	pop %rax
	out %eax, $0xe4
	mov $0xf000, %esp
	jmp *RESUME
g_lm_rt_end:

#define SETRESUME(l) movq $A(l), RESUME

#define G g_lm
GUEST(g_lm)
	movabs $0x123456789abcdef0, %rax
	mov %rax, %rbx
	shl $4, %rbx
	mov %rax, DATA
	mov DATA, %rdx
	push %rax
	pop %r8
	mov %rsp, %r9
	movabs $0xfedcba9876543210, %r15
	add %r15, %r8
	out %eax, $0x10
	hlt
END(g_lm)
#undef G

/* IN into a full RAX: AL and AX keep the upper bits, EAX zero-extends */
#define G g_lm_in
GUEST(g_lm_in)
	movabs $0x1122334455667788, %rax
	in $0x20, %al
	mov %rax, %rbx
	movabs $0x1122334455667788, %rax
	in $0x21, %ax
	mov %rax, %rcx
	movabs $0x1122334455667788, %rax
	in $0x22, %eax
	mov %rax, %rdx
	mov $0x1234, %dx
	movabs $0x1122334455667788, %rax
	in %dx, %eax
	out %eax, %dx
	hlt
END(g_lm_in)
#undef G

/* CPUID of the leaves in the table at DATA (eax, ecx pairs), results at DATA+0x1000 */
#define G g_lm_cpuid
GUEST(g_lm_cpuid)
	mov $DATA, %esi
	mov $(DATA + 0x1000), %edi
1:	mov (%rsi), %eax
	mov 4(%rsi), %ecx
	cmp $0xffffffff, %eax
	je 2f
	cpuid
	mov %eax, (%rdi)
	mov %ebx, 4(%rdi)
	mov %ecx, 8(%rdi)
	mov %edx, 12(%rdi)
	add $8, %rsi
	add $16, %rdi
	jmp 1b
2:	hlt
END(g_lm_cpuid)
#undef G

/*
 * RDMSR/WRMSR: MSRs KVM knows, then an unknown one (#GP) and a
 * non-canonical LSTAR (#GP).  Every value read goes out on port 0x10.
 */
#define G g_lm_msr
GUEST(g_lm_msr)
	mov $0x174, %ecx		/* SYSENTER_CS */
	mov $0x1234, %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000082, %ecx		/* LSTAR */
	mov $0x89abcdef, %eax
	mov $0xffff8000, %edx
	wrmsr
	mov $0xc0000102, %ecx		/* KERNEL_GS_BASE */
	mov $0x11112222, %eax
	mov $0x3333, %edx
	wrmsr
	mov $0x277, %ecx		/* PAT */
	mov $0x00070406, %eax
	mov $0x00070406, %edx
	wrmsr
	mov $0xc0000082, %ecx
	rdmsr
	out %eax, $0x10
	mov %edx, %eax
	out %eax, $0x10
	mov $0x174, %ecx
	rdmsr
	out %eax, $0x10
	SETRESUME(1f)
	mov $0x12345678, %ecx		/* no such MSR: #GP(0) */
	rdmsr
	out %eax, $0x11			/* not reached */
1:	SETRESUME(2f)
	mov $0x12345678, %ecx
	wrmsr
	out %eax, $0x11
2:	SETRESUME(3f)
	mov $0xc0000082, %ecx		/* non-canonical LSTAR: #GP(0) */
	mov $0, %eax
	mov $0x01000000, %edx		/* bit 56: not canonical with 48 or 57 bits */
	wrmsr
	out %eax, $0x11
3:	hlt
END(g_lm_msr)
#undef G

/* PAT type 2 is reserved: #GP(0) */
#define G g_lm_pat
GUEST(g_lm_pat)
	SETRESUME(1f)
	mov $0x277, %ecx
	mov $2, %eax
	xor %edx, %edx
	wrmsr
	out %eax, $0x11
1:	hlt
END(g_lm_pat)
#undef G

/* CR0/CR4/CR3 writes, legal ones and the #GP cases; CR values go out on 0x10 */
#define G g_lm_cr
GUEST(g_lm_cr)
	mov %cr0, %rax
	or $0x8, %eax			/* TS */
	mov %rax, %cr0
	mov %cr0, %rax
	out %eax, $0x10
	clts
	mov %cr0, %rax
	out %eax, $0x10
	mov %cr4, %rax
	or $0x600, %eax			/* OSFXSR | OSXMMEXCPT */
	mov %rax, %cr4
	mov %cr4, %rax
	out %eax, $0x10
	SETRESUME(1f)
	mov %cr0, %rax
	and $0x7fffffff, %eax		/* clear PG in long mode: #GP */
	mov %rax, %cr0
	out %eax, $0x11
1:	SETRESUME(2f)
	mov %cr4, %rax
	and $~0x20, %eax		/* clear PAE in long mode: #GP */
	mov %rax, %cr4
	out %eax, $0x11
2:	SETRESUME(3f)
	mov %cr4, %rax
	bts $31, %rax			/* a reserved CR4 bit: #GP */
	mov %rax, %cr4
	out %eax, $0x11
3:	SETRESUME(4f)
	mov %cr0, %rax
	or $0x20000000, %eax		/* NW without CD: #GP */
	and $~0x40000000, %eax
	mov %rax, %cr0
	out %eax, $0x11
4:	SETRESUME(6f)
	mov %cr3, %rax
	bts $62, %rax			/* CR3 beyond MAXPHYADDR: #GP */
	mov %rax, %cr3
	out %eax, $0x11
6:	mov %cr3, %rax
	out %eax, $0x10
	mov %cr0, %rax
	or $0x40000000, %eax		/* CD: legal */
	mov %rax, %cr0
	and $~0x40000000, %eax
	mov %rax, %cr0
	mov %cr0, %rax
	out %eax, $0x10
	hlt
END(g_lm_cr)
#undef G

/* CR0[63:32] are reserved: #GP */
#define G g_lm_cr_hi
GUEST(g_lm_cr_hi)
	SETRESUME(1f)
	mov %cr0, %rax
	bts $32, %rax
	mov %rax, %cr0
	out %eax, $0x11
1:	hlt
END(g_lm_cr_hi)
#undef G

/* XSETBV: XCR0 = 3 (legal), XCR0 = 2 (#GP), XCR1 (#GP), then XGETBV */
#define G g_lm_xsetbv
GUEST(g_lm_xsetbv)
	mov %cr4, %rax
	bts $18, %rax			/* OSXSAVE */
	mov %rax, %cr4
	xor %ecx, %ecx
	mov $3, %eax
	xor %edx, %edx
	xsetbv
	SETRESUME(1f)
	mov $2, %eax
	xsetbv
	out %eax, $0x11
1:	hlt
END(g_lm_xsetbv)
#undef G

/* XSETBV of XCR1 (no such register): #GP */
#define G g_lm_xsetbv1
GUEST(g_lm_xsetbv1)
	mov %cr4, %rax
	bts $18, %rax
	mov %rax, %cr4
	SETRESUME(1f)
	mov $1, %ecx
	mov $3, %eax
	xor %edx, %edx
	xsetbv
	out %eax, $0x11
1:	hlt
END(g_lm_xsetbv1)
#undef G

/* VMCALL with an unknown hypercall number: RAX = -KVM_ENOSYS */
#define G g_lm_vmcall
GUEST(g_lm_vmcall)
	mov $0x7fff, %eax
	xor %ebx, %ebx
	vmcall
	mov %rax, %rbx
	out %eax, $0x10
	hlt
END(g_lm_vmcall)
#undef G

/* MONITOR/MWAIT, then the VMX instructions (each reported by its handler) */
#define G g_lm_mwait
GUEST(g_lm_mwait)
	SETRESUME(1f)
	mov $DATA, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	monitor
	out %eax, $0x10
	xor %eax, %eax
	xor %ecx, %ecx
	mwait
	out %eax, $0x10
1:	hlt
END(g_lm_mwait)
#undef G

#define G g_lm_ud
GUEST(g_lm_ud)
	SETRESUME(3f)
	vmxon DATA
	out %eax, $0x11
3:	SETRESUME(4f)
	mov $0x4400, %eax
	vmread %rax, %rbx
	out %eax, $0x11
4:	SETRESUME(5f)
	vmptrld DATA
	out %eax, $0x11
5:	SETRESUME(6f)
	vmlaunch
	out %eax, $0x11
6:	SETRESUME(7f)
	vmxoff
	out %eax, $0x11
7:	SETRESUME(8f)
	invept DATA, %rax
	out %eax, $0x11
8:	hlt
END(g_lm_ud)
#undef G

/*
 * The interrupt window: report with IF = 0, then STI and spin; vector 0x20
 * (stub 32) and the NMI (stub 2) report through the handler, which resumes
 * at RESUME.
 */
#define G g_lm_irq
GUEST(g_lm_irq)
	SETRESUME(2f)
	cli
	out %eax, $0x10
	sti
	nop
1:	inc %rbx
	jmp 1b
2:	out %eax, $0x12
	hlt
END(g_lm_irq)
#undef G

/* store a byte to each page whose number (from 0) is in the list at DATA, ending in -1 */
#define G g_lm_dirty
GUEST(g_lm_dirty)
	mov $DATA, %esi
1:	mov (%rsi), %rax
	cmp $-1, %rax
	je 2f
	shl $12, %rax
	add %rdi, %rax
	movb $0x5a, (%rax)
	add $8, %rsi
	jmp 1b
2:	out %eax, $0x10
	jmp g_lm_dirty
END(g_lm_dirty)
#undef G

/* read the quadword at (%rdi) and report it; repeat */
#define G g_lm_read
GUEST(g_lm_read)
	mov (%rdi), %rax
	out %eax, $0x10
	shr $32, %rax
	out %eax, $0x10
	jmp g_lm_read
END(g_lm_read)
#undef G

/*
 * Read (%rdi) %r8 times with no exit, then report it at port 0x10 (low
 * half); a read of %rsi (the poison) is reported at once at port 0x11.
 */
#define G g_lm_read_spin
GUEST(g_lm_read_spin)
1:	mov %r8, %rcx
2:	mov (%rdi), %rax
	cmp %rax, %rsi
	je 3f
	dec %rcx
	jnz 2b
	out %eax, $0x10
	jmp 1b
3:	out %eax, $0x11
	jmp 1b
END(g_lm_read_spin)
#undef G

/* LOCK XADD %rsi times on the counter at DATA, then report the vCPU's last value */
#define G g_lm_xadd
GUEST(g_lm_xadd)
1:	mov $1, %eax
	lock xadd %eax, DATA
	dec %rsi
	jnz 1b
	out %eax, $0x10
	hlt
END(g_lm_xadd)
#undef G

/* spin forever, counting in DATA so the host sees it run (the kick case) */
#define G g_lm_spin
GUEST(g_lm_spin)
1:	incq DATA
	jmp 1b
END(g_lm_spin)
#undef G

/* CPUID forever (an in-kernel exit each time), counting in DATA (the kick case) */
#define G g_lm_cpuid_spin
GUEST(g_lm_cpuid_spin)
1:	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	incq DATA
	jmp 1b
END(g_lm_cpuid_spin)
#undef G

/* count in RBX, report it at each OUT; the sync_regs case changes registers between runs */
#define G g_lm_sync
GUEST(g_lm_sync)
1:	add %rcx, %rbx
	out %eax, $0x10
	jmp 1b
END(g_lm_sync)
#undef G

/*
 * RSP across exits: a PUSH before an OUT (userspace reads RSP and moves
 * it), an in-kernel exit (CPUID), then the guest reports the RSP it sees,
 * POPs from the new stack and reports again; the last report follows an
 * exit nobody read RSP after.
 */
#define G g_lm_rsp
GUEST(g_lm_rsp)
	push $0x1234
	out %al, $0x10
	xor %eax, %eax
	cpuid
	mov %rsp, %rax
	out %eax, $0x11
	pop %rbx
	mov %rsp, %rax
	out %eax, $0x12
	mov %rbx, %r12
	xor %eax, %eax
	cpuid
	mov %r12, %rbx
	push %rbx
	mov %rsp, %rax
	out %eax, $0x13
	hlt
END(g_lm_rsp)
#undef G

	.section .note.GNU-stack, "", @progbits
