/* SPDX-License-Identifier: MIT */
/*
 * irq_guests.S: the guests of the interrupt cases (irq_cases.c), 64-bit,
 * CPL0, loaded by the case into guest memory (never run on the host).
 *
 * g_irq_rt is the interrupt runtime, loaded at ISRS (0x20000): 256 stubs
 * 16 bytes apart (the IDT's vectors 2 and 32-255 point at them) and one
 * common handler.  The handler works on the vCPU's own area at GS base
 * (irq_cases.c sets GS.base = PCPU + 0x200 * vCPU index):
 *   %gs:0x00 interrupts taken        %gs:0x08 log length
 *   %gs:0x18 hook (called with EAX = vector before the EOI, 0 = none)
 *   %gs:0x20 the vCPU's index        %gs:0x40 log: one u32 vector each (48)
 * EOI: none for the NMI (2), the PICs' for 0x30-0x3f (their bases in these
 * cases), the local APIC's otherwise.
 *
 * Ports: 0x10 "done" (the case stops running the vCPU), 0x11-0x1f reports
 * of EAX, 0x50-0x5f requests to the case (raise/lower a line, ...).
 */
#define CODE	0x1000
#define SH	0x18000		/* shared between vCPUs */
#define RESUME	0x3ff8		/* where the exception stubs (g_lm_rt) go on */
#define SETRESUME(l)	movq $A(l), RESUME
#define LAPIC	0xfee00000
#define IOAPIC	0xfec00000
#define A(l)	((l) - G + CODE)
#define GUEST(name) .globl name; .globl name##_end; .balign 16; name:
#define END(name) name##_end:

#define LAPIC_W(reg, val)	mov $(LAPIC + (reg)), %ebx; movl $(val), (%rbx)
#define LAPIC_R(reg)		mov $(LAPIC + (reg)), %ebx; mov (%rbx), %eax
#define IOAPIC_W(idx, val)	mov $IOAPIC, %ebx; movl $(idx), (%rbx); movl $(val), 0x10(%rbx)
#define IOAPIC_R(idx)		mov $IOAPIC, %ebx; movl $(idx), (%rbx); mov 0x10(%rbx), %eax
#define SETHOOK(l)		movq $A(l), %gs:0x18
#define REPORT(port)		out %eax, $(port)
#define COUNT			mov %gs:0, %rax
/* Wait with HLT until @n interrupts were taken (sti;hlt: none is missed). */
#define WAIT_COUNT(n) \
	99: cli; cmpq $(n), %gs:0; jae 98f; sti; hlt; jmp 99b; 98: sti
/* Spin (no HLT) until @n interrupts were taken: the guest is running when they come. */
#define SPIN_COUNT(n) \
	sti; 97: cmpq $(n), %gs:0; jb 97b
/* RDX:RAX = TSC into RAX */
#define RDTSC64			rdtsc; shl $32, %rdx; or %rdx, %rax
#define WRMSR64(msr)		mov %rax, %rdx; shr $32, %rdx; mov $(msr), %ecx; wrmsr
/* the PICs: ICW1-4, master base 0x30, slave 0x38, cascade on IRQ 2, then OCW1 masks */
#define PIC_INIT(mmask, smask) \
	mov $0x11, %al; out %al, $0x20; out %al, $0xa0; \
	mov $0x30, %al; out %al, $0x21; mov $0x38, %al; out %al, $0xa1; \
	mov $0x04, %al; out %al, $0x21; mov $0x02, %al; out %al, $0xa1; \
	mov $0x01, %al; out %al, $0x21; out %al, $0xa1; \
	mov $(mmask), %al; out %al, $0x21; mov $(smask), %al; out %al, $0xa1

	.section .rodata.irq_guests, "a"
	.code64

	.globl g_irq_rt, g_irq_rt_end
	.balign 16
g_irq_rt:
	.set vec, 0
	.rept 256
	.balign 16
	push %rax
	mov $vec, %eax
	jmp irq_common
	.set vec, vec + 1
	.endr
irq_common:
	push %rbx
	push %rdx
	push %rcx
	mov %gs:8, %rbx
	cmp $48, %rbx
	jae 1f
	mov %eax, %gs:0x40(,%rbx,4)
	inc %rbx
	mov %rbx, %gs:8
1:	incq %gs:0
	mov %gs:0x18, %rbx
	test %rbx, %rbx
	jz 2f
	push %rax
	call *%rbx
	pop %rax
2:	cmp $2, %eax
	je 4f
	cmp $0x30, %eax
	jb 3f
	cmp $0x3f, %eax
	ja 3f
	cmp $0x38, %eax
	mov $0x20, %al
	jb 5f
	out %al, $0xa0
5:	out %al, $0x20
	jmp 4f
3:	mov $(LAPIC + 0xb0), %ebx
	movl $0, (%rbx)
4:	pop %rcx
	pop %rdx
	pop %rbx
	pop %rax
	iretq
g_irq_rt_end:

/* ---- LAPIC timer, one-shot: HLT until it fires; then spinning; divide 16, 1, 128 ---- */
#define G g_irq_oneshot
GUEST(g_irq_oneshot)
	LAPIC_W(0xf0, 0x1ff)		/* SVR: enabled, spurious vector 0xff */
	LAPIC_W(0x3e0, 0x3)		/* divide by 16 */
	LAPIC_W(0x320, 0x40)		/* LVTT: one-shot, vector 0x40 */
	LAPIC_R(0x320)
	REPORT(0x11)
	LAPIC_W(0x380, 50000)		/* 50000 * 16 ns */
	WAIT_COUNT(1)
	LAPIC_R(0x390)			/* TMCCT: 0 once expired */
	REPORT(0x12)
	LAPIC_W(0x3e0, 0xb)		/* divide by 1 */
	LAPIC_W(0x380, 300000)
	SPIN_COUNT(2)
	LAPIC_W(0x3e0, 0xa)		/* divide by 128 */
	LAPIC_W(0x380, 2000)
	WAIT_COUNT(3)
	COUNT
	REPORT(0x13)
	out %eax, $0x10
	jmp .
END(g_irq_oneshot)
#undef G

/*
 * ---- LAPIC timer, periodic (divide by 2, 10 ms): the hook stops it at the 5th ----
 * The period leaves the 5th handler 10 ms to stop the timer before a 6th
 * tick is due: on the host's KVM (PVM emulates guest kernel code) a
 * loaded machine once took longer than the 2 ms this used to leave.
 */
#define G g_irq_periodic
GUEST(g_irq_periodic)
	SETHOOK(1f)
	LAPIC_W(0xf0, 0x1ff)
	LAPIC_W(0x3e0, 0x0)		/* divide by 2 */
	LAPIC_W(0x320, 0x20041)		/* periodic, vector 0x41 */
	LAPIC_R(0x320)
	REPORT(0x11)
	LAPIC_W(0x380, 5000000)		/* 10 ms: the 5th handler stops it before a 6th */
	WAIT_COUNT(5)
	/* stopped: nothing more for about 3 periods of TSC */
	RDTSC64
	lea 80000000(%rax), %rsi
2:	RDTSC64
	cmp %rsi, %rax
	jb 2b
	COUNT
	REPORT(0x12)
	LAPIC_R(0x380)			/* TMICT 0: stopped */
	REPORT(0x13)
	out %eax, $0x10
	jmp .
1:	cmpq $5, %gs:0
	jb 3f
	LAPIC_W(0x380, 0)
3:	ret
END(g_irq_periodic)
#undef G

/* ---- LAPIC timer, TSC-deadline (guest CPUID has TSC_DEADLINE_TIMER) ---- */
#define G g_irq_tscdeadline
GUEST(g_irq_tscdeadline)
	LAPIC_W(0xf0, 0x1ff)
	LAPIC_W(0x320, 0x40042)		/* TSC-deadline, vector 0x42 */
	LAPIC_R(0x320)
	REPORT(0x11)
	RDTSC64
	add $2000000, %rax
	WRMSR64(0x6e0)
	WAIT_COUNT(1)
	mov $0x6e0, %ecx		/* 0 once expired */
	rdmsr
	REPORT(0x12)
	RDTSC64				/* a deadline in the past fires at once */
	sub $1, %rax
	WRMSR64(0x6e0)
	SPIN_COUNT(2)
	RDTSC64				/* armed, then disarmed by writing 0 */
	add $100000000, %rax		/* ~40 ms: a preempted vCPU thread must not see it fire first */
	mov %rax, %rsi
	WRMSR64(0x6e0)
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	add $20000000, %rsi
2:	RDTSC64
	cmp %rsi, %rax
	jb 2b
	COUNT				/* still 2 */
	REPORT(0x13)
	LAPIC_W(0x320, 0x42)		/* one-shot mode: the MSR ignores writes */
	RDTSC64
	add $1000, %rax
	WRMSR64(0x6e0)
	rdmsr
	REPORT(0x14)
	out %eax, $0x10
	jmp .
END(g_irq_tscdeadline)
#undef G

/*
 * ---- the PIT (counter 0, mode in RDI: 2 or 3) through the master PIC (IRQ 0, vector 0x30);
 * the hook masks IRQ 0 at the 5th interrupt ----
 */
#define G g_irq_pit_pic
GUEST(g_irq_pit_pic)
	SETHOOK(1f)
	PIC_INIT(0xfe, 0xff)		/* only IRQ 0 */
	mov %edi, %eax			/* counter 0, LSB then MSB, mode RDI */
	shl $1, %eax
	or $0x30, %eax
	out %al, $0x43
	mov $(1193 & 0xff), %al		/* about 1 ms */
	out %al, $0x40
	mov $(1193 >> 8), %al
	out %al, $0x40
	WAIT_COUNT(5)
	RDTSC64				/* masked: nothing more for about 8 ms */
	lea 20000000(%rax), %rsi
2:	RDTSC64
	cmp %rsi, %rax
	jb 2b
	COUNT
	REPORT(0x11)
	in $0x21, %al			/* IMR */
	REPORT(0x12)
	out %eax, $0x10
	jmp .
1:	cmpq $5, %gs:0
	jb 3f
	mov $0xff, %al
	out %al, $0x21
3:	ret
END(g_irq_pit_pic)
#undef G

/*
 * ---- the PIT through the I/O APIC (pin 2, vector 0x52, edge), PICs masked;
 * the hook masks the pin at the 5th interrupt ----
 */
#define G g_irq_pit_ioapic
GUEST(g_irq_pit_ioapic)
	SETHOOK(1f)
	PIC_INIT(0xff, 0xff)
	LAPIC_W(0xf0, 0x1ff)
	IOAPIC_W(0x11, 0)		/* pin 2: physical destination APIC 0 */
	IOAPIC_W(0x10, 0x52)		/* fixed, edge, vector 0x52 */
	mov $0x34, %al			/* counter 0, mode 2 */
	out %al, $0x43
	/*
	 * About 10 ms: masking the pin cannot take back an edge the I/O APIC
	 * already sent, so the 5th handler must mask it before the 6th edge
	 * (this host's KVM emulates the handler slowly, more so under load).
	 */
	mov $(11932 & 0xff), %al
	out %al, $0x40
	mov $(11932 >> 8), %al
	out %al, $0x40
	WAIT_COUNT(5)
	RDTSC64				/* masked: nothing more for about 15 ms */
	lea 40000000(%rax), %rsi
2:	RDTSC64
	cmp %rsi, %rax
	jb 2b
	COUNT
	REPORT(0x11)
	IOAPIC_R(0x10)
	REPORT(0x12)
	out %eax, $0x10
	jmp .
1:	cmpq $5, %gs:0
	jb 3f
	IOAPIC_W(0x10, 0x10052)
3:	ret
END(g_irq_pit_ioapic)
#undef G

/*
 * ---- device interrupts: the I/O APIC's pins 4 (0x54) and 5 (0x55, both
 * edge) and 9 (0x59, level), the PIC's IRQ 3 (0x33); the case raises them
 * (KVM_IRQ_LINE, an irqfd, KVM_SIGNAL_MSI, from this thread or another)
 * when the guest asks by OUT to port 0x51 (EAX = the step) and checks what
 * arrived.  Level pin 9: the hook reports the redirection entry (remote
 * IRR set while in service) and asks the case to lower the line (port
 * 0x52) before the EOI, except for the 8th interrupt: its EOI finds the
 * line still high and the I/O APIC sends it again (step 6).
 * ---- */
#define G g_irq_dev
GUEST(g_irq_dev)
	SETHOOK(1f)
	PIC_INIT(0xf7, 0xff)		/* IRQ 3 only (IRQs 4, 5 and 9 are the I/O APIC's) */
	LAPIC_W(0xf0, 0x1ff)
	IOAPIC_W(0x19, 0)
	IOAPIC_W(0x18, 0x54)
	IOAPIC_W(0x1b, 0)
	IOAPIC_W(0x1a, 0x55)
	IOAPIC_W(0x23, 0)
	IOAPIC_W(0x22, 0x8059)		/* level-triggered, active high */
	sti
	/* step 1: with interrupts off, the case raises IRQ 4 (edge), an MSI (0x61) and IRQ 3 */
	cli
	mov $1, %eax
	out %eax, $0x51
	COUNT				/* none taken yet */
	REPORT(0x11)
	/* the PIC's 0x33 first (ExtINT before the APIC's, kvm_cpu_get_interrupt()), then 0x61, 0x54 */
	WAIT_COUNT(3)
	/* step 2: the irqfd of GSI 5 */
	mov $2, %eax
	out %eax, $0x51
	WAIT_COUNT(4)
	/* step 4: the vCPU halts; another thread raises IRQ 4 meanwhile */
	mov $4, %eax
	out %eax, $0x51
	WAIT_COUNT(5)
	/* step 5: spinning; another thread signals an MSI (0x62) */
	mov $5, %eax
	out %eax, $0x51
	SPIN_COUNT(6)
	/* step 3: pin 9, level, raised; lowered by the handler */
	mov $3, %eax
	out %eax, $0x51
	WAIT_COUNT(7)
	IOAPIC_R(0x22)			/* remote IRR clear after the EOI */
	REPORT(0x12)
	/* step 6: pin 9 again, left high at the first EOI: delivered twice */
	mov $6, %eax
	out %eax, $0x51
	WAIT_COUNT(9)
	IOAPIC_R(0x22)
	REPORT(0x12)
	COUNT
	REPORT(0x13)
	out %eax, $0x10
	jmp .
1:	cmp $0x59, %eax
	jne 3f
	IOAPIC_R(0x22)			/* in service: remote IRR (bit 14) set */
	REPORT(0x14)
	cmpq $8, %gs:0
	je 3f
	out %eax, $0x52			/* lower the line before the EOI */
3:	ret
END(g_irq_dev)
#undef G

/*
 * ---- a resampling irqfd on GSI 10 (I/O APIC pin 10, level, vector 0x5a):
 * the case writes the eventfd when the guest asks (port 0x51); the EOI
 * lowers the line (no second delivery) and signals the resamplefd, which
 * the case reads at the next request and at the end ----
 */
#define G g_irq_resample
GUEST(g_irq_resample)
	PIC_INIT(0xff, 0xff)
	LAPIC_W(0xf0, 0x1ff)
	IOAPIC_W(0x25, 0)
	IOAPIC_W(0x24, 0x805a)		/* pin 10: level-triggered, vector 0x5a */
	mov $1, %eax
	out %eax, $0x51
	WAIT_COUNT(1)
	IOAPIC_R(0x24)			/* remote IRR clear: the EOI went through */
	REPORT(0x12)
	mov $2, %eax
	out %eax, $0x51
	WAIT_COUNT(2)
	/* no third: spin for about 4 ms of TSC */
	RDTSC64
	lea 10000000(%rax), %rsi
2:	RDTSC64
	cmp %rsi, %rax
	jb 2b
	COUNT
	REPORT(0x13)
	out %eax, $0x10
	jmp .
END(g_irq_resample)
#undef G

/* ---- ioeventfds: writes that signal an eventfd, and writes and reads that exit ---- */
#define G g_ioeventfd
GUEST(g_ioeventfd)
	mov $0x11, %al
	out %al, $0x70			/* datamatch 0x11: the eventfd */
	mov $0x22, %al
	out %al, $0x70			/* another value: an exit */
	out %al, $0x71			/* another port: an exit */
	mov $0xd0000000, %ebx
	movl $0x12345678, (%rbx)	/* 4 bytes, any value: the eventfd */
	movw $0x1234, (%rbx)		/* 2 bytes: an exit */
	movb $1, 0x1000(%rbx)		/* length 0 (any length): the eventfd */
	movl $2, 0x1000(%rbx)
	mov 0x1004(%rbx), %eax		/* reads exit (0x1000 is a doorbell: irq_ioeventfd_fast_mmio) */
	out %eax, $0x10
	jmp .
END(g_ioeventfd)
#undef G

/*
 * ---- KVM's fast MMIO path: a zero-length ioeventfd at 0xd0002000; writes
 * of several lengths and encodings (3 to 6 bytes) are skipped exactly,
 * then a read of the doorbell. ----
 */
#define G g_fast_mmio
GUEST(g_fast_mmio)
	mov $0xd0002000, %ebx
	lea -0x10(%rbx), %rdx
	xor %ecx, %ecx
	movl $0x11, (%rbx)		/* c7 03 imm32: 6 bytes */
	inc %ecx
	movb $0x22, (%rbx)		/* c6 03 imm8: 3 bytes */
	inc %ecx
	mov %rcx, (%rbx)		/* REX.W 89 0b: 3 bytes */
	inc %ecx
	movw $0x44, 0x10(%rdx)		/* 66 c7 42 10 imm16: 6 bytes */
	inc %ecx
	mov %ecx, %eax
	out %eax, $0x10
	mov $0x77, %eax
	mov (%rbx), %eax		/* VMX KVM: skipped and signalled; else an MMIO read */
	out %eax, $0x11
	jmp .
END(g_fast_mmio)
#undef G

/*
 * ---- x2APIC (guest CPUID has it): enabled through IA32_APIC_BASE, the
 * registers as MSRs: ID and LDR, a self IPI (0x83f) and an ICR self IPI,
 * the one-shot timer, TMCCT, EOI by MSR; a write to the read-only ID raises
 * #GP (reported on port 0xe0 by the exception stubs), a nonzero EOI does not
 * in KVM.
 * The handler's EOI is xAPIC MMIO, which x2APIC mode ignores: the hook
 * writes the EOI MSR first. ----
 */
#define RDMSR_R(msr)	mov $(msr), %ecx; rdmsr
#define WRMSR_V(msr, v)	mov $(msr), %ecx; mov $(v), %eax; xor %edx, %edx; wrmsr
#define G g_irq_x2apic
GUEST(g_irq_x2apic)
	SETHOOK(1f)
	RDMSR_R(0x1b)
	or $0xc00, %eax			/* EN | EXTD */
	wrmsr
	RDMSR_R(0x1b)
	and $0xfffffc00, %eax		/* the base, EN and EXTD (not the BSP bit) */
	REPORT(0x11)
	RDMSR_R(0x802)			/* x2APIC ID: the vCPU id */
	REPORT(0x12)
	RDMSR_R(0x80d)			/* LDR: cluster 0, bit 0 */
	REPORT(0x13)
	WRMSR_V(0x80f, 0x1ff)		/* SVR */
	sti
	WRMSR_V(0x83f, 0x75)		/* SELF IPI */
	WAIT_COUNT(1)
	mov $0x830, %ecx		/* ICR: fixed, vector 0x76, shorthand self */
	mov $0x44076, %eax
	xor %edx, %edx
	wrmsr
	WAIT_COUNT(2)
	WRMSR_V(0x83e, 0xb)		/* TDCR: divide by 1 */
	WRMSR_V(0x832, 0x77)		/* LVTT: one-shot, vector 0x77 */
	WRMSR_V(0x838, 200000)		/* TMICT */
	WAIT_COUNT(3)
	RDMSR_R(0x839)			/* TMCCT: 0 once expired */
	REPORT(0x14)
	SETRESUME(2f)
	WRMSR_V(0x802, 5)		/* read-only: #GP */
2:	SETRESUME(3f)
	WRMSR_V(0x80b, 1)		/* EOI with a nonzero value: taken (KVM) */
3:	COUNT
	REPORT(0x15)
	out %eax, $0x10
	jmp .
1:	mov $0x80b, %ecx		/* EOI */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	ret
END(g_irq_x2apic)
#undef G

/* ---- several vCPUs ---- */

#define PCPU	0x16000
/* ICR2 = @dest << 24, then ICR = @icr (the write sends) */
#define SEND_IPI(dest, icr) \
	mov $(LAPIC + 0x310), %ebx; movl $((dest) << 24), (%rbx); \
	mov $(LAPIC + 0x300), %ebx; movl $(icr), (%rbx)
/* spin until vCPU @idx took @n interrupts */
#define WAIT_VCPU(idx, n) \
	96: pause; cmpq $(n), PCPU + 0x200 * (idx); jb 96b

/*
 * IPIs between 4 vCPUs, all running this code (GS tells them apart).  Each
 * enables its APIC with a flat logical ID 1 << index; vCPU 0 then sends, and
 * waits for each to arrive before the next (so that every log is in sending
 * order): fixed 0x70 to each AP by physical ID; 0x71 to all but itself; 0x72
 * to logical destination 0x0c (vCPUs 2 and 3); an NMI to vCPU 1; 0x73 to
 * itself; 0x74 to all including itself.  APs wait in HLT for their four,
 * then spin until vCPU 0 says done.
 */
#define G g_smp_ipi
GUEST(g_smp_ipi)
	LAPIC_W(0xf0, 0x1ff)
	LAPIC_W(0xe0, 0xffffffff)	/* DFR: flat model */
	mov %gs:0x20, %ecx
	mov $1, %eax
	shl %cl, %eax
	shl $24, %eax
	mov $(LAPIC + 0xd0), %ebx	/* LDR */
	mov %eax, (%rbx)
	LAPIC_R(0x20)			/* APIC ID: the vCPU id in bits 31:24 */
	REPORT(0x11)
	sti
	lock incl SH
	cmpq $0, %gs:0x20
	jne 5f
1:	pause
	cmpl $4, SH
	jb 1b
	SEND_IPI(1, 0x4070)
	WAIT_VCPU(1, 1)
	SEND_IPI(2, 0x4070)
	WAIT_VCPU(2, 1)
	SEND_IPI(3, 0x4070)
	WAIT_VCPU(3, 1)
	SEND_IPI(0, 0xc4071)		/* all excluding self */
	WAIT_VCPU(1, 2)
	WAIT_VCPU(2, 2)
	WAIT_VCPU(3, 2)
	SEND_IPI(0x0c, 0x4872)		/* logical */
	WAIT_VCPU(2, 3)
	WAIT_VCPU(3, 3)
	SEND_IPI(1, 0x4400)		/* NMI */
	WAIT_VCPU(1, 3)
	SEND_IPI(0, 0x44073)		/* self */
	SPIN_COUNT(1)
	SEND_IPI(0, 0x84074)		/* all including self */
	SPIN_COUNT(2)
	WAIT_VCPU(1, 4)
	WAIT_VCPU(2, 4)
	WAIT_VCPU(3, 4)
	movl $1, SH + 8
	out %eax, $0x10
	jmp .
5:	WAIT_COUNT(4)
6:	pause
	cmpl $1, SH + 8
	jne 6b
	out %eax, $0x10
	jmp .
END(g_smp_ipi)
#undef G

/*
 * INIT-SIPI-SIPI from vCPU 0 (long mode) to all others: INIT (assert), the
 * INIT level de-assert (ignored), two SIPIs with vector 0x30; the APs start
 * in real mode at 0x30000 (g_smp_tramp), check in and stop.
 */
#define G g_smp_sipi
GUEST(g_smp_sipi)
	LAPIC_W(0xf0, 0x1ff)
	SEND_IPI(0, 0xc4500)
	SEND_IPI(0, 0xc8500)
	SEND_IPI(0, 0xc4630)
	SEND_IPI(0, 0xc4630)
1:	pause
	cmpl $3, SH + 0x10
	jb 1b
	mov SH + 0x10, %eax
	REPORT(0x11)
	out %eax, $0x10
	jmp .
END(g_smp_sipi)
#undef G

/*
 * Lowest-priority MSIs to 4 vCPUs: each enables its APIC with flat logical
 * ID 1 << index, checks in (SH + 0x20) and waits in HLT until it took the
 * number of interrupts the case put at %gs:0x28.
 */
#define G g_smp_lowest
GUEST(g_smp_lowest)
	LAPIC_W(0xf0, 0x1ff)
	LAPIC_W(0xe0, 0xffffffff)
	mov %gs:0x20, %ecx
	mov $1, %eax
	shl %cl, %eax
	shl $24, %eax
	mov $(LAPIC + 0xd0), %ebx
	mov %eax, (%rbx)
	lock incl SH + 0x20
1:	cli
	mov %gs:0x28, %rax
	cmp %rax, %gs:0
	jae 2f
	sti
	hlt
	jmp 1b
2:	sti
	out %eax, $0x10
	jmp .
END(g_smp_lowest)
#undef G

	.code16
	.globl g_smp_tramp, g_smp_tramp_end
	.balign 16
g_smp_tramp:
	mov %cs, %ax
	out %ax, $0x12			/* 0x3000: CS = vector << 8, IP = 0 */
	mov $(SH >> 4), %ax
	mov %ax, %ds
	mov $1, %eax
	lock xadd %eax, 0x10		/* the order of arrival: not reported (not deterministic) */
	xor %eax, %eax
	out %eax, $0x10
	jmp .
g_smp_tramp_end:
	.code64

	.section .note.GNU-stack, "", @progbits
