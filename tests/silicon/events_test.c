// SPDX-License-Identifier: MIT
/*
 * events_test.c: interrupts, NMIs, kicks and injected events at
 * instruction boundaries (STI and MOV SS shadows, HLT wake-up, NMI
 * blocking until IRET), from the running thread and from another one;
 * and the decoded-instruction cache under self-modifying code and
 * another vCPU's writes.
 *
 * Guests run in 64-bit mode (sil_long_mode); the IDT stub of vector v is
 * "push $v; hlt" unless a test replaces it.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "sil.h"

#define CODE 0x100000

static int ack_vector = -1;
static int acks;

static int ack(void *opaque, struct cpu *cpu)
{
	acks++;
	cpu_set_intr(cpu, false);
	return ack_vector;
}

static int pio_ignore(void *opaque, struct cpu *cpu, u16 port, int size, bool write, u32 *val)
{
	return 0;
}

static const struct cpu_io_ops ack_ops = { .pio = pio_ignore, .intr_ack = ack };

static void setup(struct sil *s, const u8 *code, size_t len, bool use_ack)
{
	struct cpu_state *st;

	sil_init(s, 4 << 20);
	sil_long_mode(s);
	sil_put(s, CODE, code, len);
	if (use_ack)
		cpu_set_io_ops(s->c, &ack_ops, s);
	st = cpu_state(s->c);
	st->rip = CODE;
	st->rflags = 2;
	cpu_state_changed(s->c);
	acks = 0;
}

static u64 stack_word(struct sil *s, int k)
{
	u64 v;
	memcpy(&v, s->ram + cpu_state(s->c)->gpr[4] + 8 * k, 8);
	return v;
}

/* STI; the interrupt waits for the instruction after STI. */
static void sti_shadow(void)
{
	static const u8 code[] = {
		0xfb,				/* sti */
		0xbb, 7, 0, 0, 0,		/* mov $7, %ebx */
		0xbb, 8, 0, 0, 0,		/* mov $8, %ebx */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), true);
	st = cpu_state(s.c);
	ack_vector = 0x40;
	CHECK_EQ(cpu_run(s.c, 1), CPU_EXIT_BUDGET);
	CHECK(st->interruptibility & CPU_INTR_STI_BLOCKING, "no STI blocking after STI");
	cpu_raise_intr(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 0x40);		/* the stub's push */
	CHECK_EQ(stack_word(&s, 1), CODE + 6);	/* taken after "mov $7" */
	CHECK_EQ(st->gpr[3], 7);
	CHECK_EQ(acks, 1);
	CHECK(!(st->rflags & CPU_FLAG_IF), "IF still set in the handler");
	sil_fini(&s);
}

/* MOV SS blocks interrupts for one instruction. */
static void movss_shadow(void)
{
	static const u8 code[] = {
		0xb8, 0x10, 0, 0, 0,		/* mov $0x10, %eax */
		0x8e, 0xd0,			/* mov %eax, %ss */
		0xbb, 7, 0, 0, 0,		/* mov $7, %ebx */
		0xbb, 8, 0, 0, 0,		/* mov $8, %ebx */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), true);
	st = cpu_state(s.c);
	st->rflags |= CPU_FLAG_IF;
	cpu_state_changed(s.c);
	ack_vector = 0x41;
	CHECK_EQ(cpu_run(s.c, 2), CPU_EXIT_BUDGET);
	CHECK(st->interruptibility & CPU_INTR_MOVSS_BLOCKING, "no MOV SS blocking");
	cpu_raise_intr(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 0x41);
	CHECK_EQ(stack_word(&s, 1), CODE + 12);
	CHECK_EQ(st->gpr[3], 7);
	sil_fini(&s);
}

/* HLT is left by an interrupt; the handler IRETs to after the HLT. */
static void hlt_wakeup(void)
{
	static const u8 code[] = {
		0xfb,				/* sti */
		0xf4,				/* hlt */
		0xbb, 9, 0, 0, 0,		/* mov $9, %ebx */
		0xf4,
	};
	static const u8 iret_stub[] = { 0x48, 0xcf };	/* iretq */
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), true);
	sil_put(&s, SIL_STUBS + 0x42 * 16, iret_stub, sizeof(iret_stub));
	st = cpu_state(s.c);
	ack_vector = 0x42;
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->rip, CODE + 2);
	CHECK_EQ(st->activity, CPU_HLT);
	/* still halted with nothing pending */
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	cpu_raise_intr(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(acks, 1);
	CHECK_EQ(st->gpr[3], 9);
	CHECK_EQ(st->rip, CODE + 8);
	sil_fini(&s);
}

/*
 * Port I/O goes on in its block (no VM exit here, no device answer): an
 * access whose callback asks to stop stops the run right after it, not at
 * the block's end.  Fails if the block goes on past the OUT.
 */
static void io_stop_mid_block(void)
{
	static const u8 code[] = {
		0xbb, 1, 0, 0, 0,		/* mov $1, %ebx */
		0xe6, 0x80,			/* out %al, $0x80 (stop_port) */
		0xbb, 2, 0, 0, 0,		/* mov $2, %ebx */
		0xe6, 0x81,			/* out %al, $0x81 */
		0xff, 0xc1,			/* inc %ecx */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;
	u64 n0;

	setup(&s, code, sizeof(code), false);
	s.stop_port = 0x80;
	st = cpu_state(s.c);
	n0 = cpu_instructions(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_IO);
	CHECK_EQ(st->rip, CODE + 7);
	CHECK_EQ(st->gpr[3], 1);
	CHECK_EQ(s.nout, 1);
	CHECK_EQ(cpu_instructions(s.c) - n0, 2);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3], 2);
	CHECK_EQ(st->gpr[1], 1);
	CHECK_EQ(s.nout, 2);
	CHECK_EQ(st->rip, CODE + sizeof(code));
	/* a hard budget that ends at the OUT: the count stays exact */
	st->rip = CODE;
	st->gpr[3] = 0;
	st->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	n0 = cpu_instructions(s.c);
	s.stop_port = -1;
	CHECK_EQ(cpu_run(s.c, 2), CPU_EXIT_BUDGET);
	CHECK_EQ(st->rip, CODE + 7);
	CHECK_EQ(cpu_instructions(s.c) - n0, 2);
	CHECK_EQ(cpu_run(s.c, 3), CPU_EXIT_BUDGET);
	CHECK_EQ(st->rip, CODE + 16);
	CHECK_EQ(cpu_instructions(s.c) - n0, 5);
	sil_fini(&s);
}

/*
 * HLT goes on in its block when no VM exit takes it: the halt begins right
 * after it all the same (RIP after the HLT, nothing after it run), and an
 * interrupt wakes it there.  Fails if the block goes on past the HLT.
 */
static void hlt_mid_block(void)
{
	static const u8 code[] = {
		0xbb, 1, 0, 0, 0,		/* mov $1, %ebx */
		0xf4,				/* hlt */
		0xbb, 2, 0, 0, 0,		/* mov $2, %ebx */
		0xf4,
	};
	static const u8 iret_stub[] = { 0x48, 0xcf };	/* iretq */
	struct sil s;
	struct cpu_state *st;
	u64 n0;

	setup(&s, code, sizeof(code), true);
	sil_put(&s, SIL_STUBS + 0x42 * 16, iret_stub, sizeof(iret_stub));
	st = cpu_state(s.c);
	st->rflags = 2 | CPU_FLAG_IF;
	cpu_state_changed(s.c);
	ack_vector = 0x42;
	n0 = cpu_instructions(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->rip, CODE + 6);
	CHECK_EQ(st->gpr[3], 1);
	CHECK_EQ(st->activity, CPU_HLT);
	CHECK_EQ(cpu_instructions(s.c) - n0, 2);
	cpu_raise_intr(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(acks, 1);
	CHECK_EQ(st->gpr[3], 2);
	CHECK_EQ(st->rip, CODE + sizeof(code));
	sil_fini(&s);
}

/* The port write or read raises INTR: taken at the boundary after the access. */
static int pio_raise(void *opaque, struct cpu *cpu, u16 port, int size, bool write, u32 *val)
{
	if (port == 0x80)
		cpu_raise_intr(cpu);
	if (!write)
		*val = 0x5a;
	return 0;
}

static const struct cpu_io_ops raise_ops = { .pio = pio_raise, .intr_ack = ack };

static void io_intr_mid_block(void)
{
	static const u8 code_out[] = {
		0xe6, 0x80,			/* out %al, $0x80 */
		0xbb, 7, 0, 0, 0,		/* mov $7, %ebx */
		0xf4,
	};
	static const u8 code_in[] = {
		0xe4, 0x80,			/* in $0x80, %al */
		0xbb, 7, 0, 0, 0,		/* mov $7, %ebx */
		0xf4,
	};
	for (int k = 0; k < 2; k++) {
		struct sil s;
		struct cpu_state *st;

		setup(&s, k ? code_in : code_out, sizeof(code_out), false);
		cpu_set_io_ops(s.c, &raise_ops, &s);
		st = cpu_state(s.c);
		st->rflags = 2 | CPU_FLAG_IF;
		cpu_state_changed(s.c);
		ack_vector = 0x41;
		acks = 0;
		CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
		CHECK_EQ(acks, 1);
		CHECK_EQ(st->gpr[3], 0);		/* not the MOV after the access */
		CHECK_EQ(stack_word(&s, 0), 0x41);	/* the stub's push */
		CHECK_EQ(stack_word(&s, 1), CODE + 2);	/* return RIP: after the IN/OUT */
		if (k)
			CHECK_EQ(st->gpr[0] & 0xff, 0x5a);
		sil_fini(&s);
	}
}

/* Without an INTA callback the owner gets CPU_EXIT_IRQ and injects. */
static void irq_exit_and_inject(void)
{
	static const u8 code[] = { 0xeb, 0xfe };	/* jmp . */
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	st = cpu_state(s.c);
	CHECK_EQ(cpu_run(s.c, 50), CPU_EXIT_BUDGET);
	cpu_raise_intr(s.c);
	CHECK_EQ(cpu_run(s.c, 50), CPU_EXIT_BUDGET);	/* IF = 0: not taken */
	st->rflags |= CPU_FLAG_IF;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 50), CPU_EXIT_IRQ);
	cpu_set_intr(s.c, false);
	cpu_inject_event(s.c, CPU_EVENT_VALID | (CPU_EVENT_EXTINT << CPU_EVENT_TYPE_SHIFT) | 0x43, 0);
	CHECK_EQ(cpu_run(s.c, 50), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 0x43);
	CHECK_EQ(stack_word(&s, 1), CODE);
	/* an injected #PF with its error code */
	st->rip = CODE;
	st->activity = CPU_ACTIVE;
	st->gpr[4] = SIL_STACK;
	cpu_state_changed(s.c);
	cpu_inject_event(s.c, CPU_EVENT_VALID | CPU_EVENT_HAS_ERROR |
			 (CPU_EVENT_HWEXC << CPU_EVENT_TYPE_SHIFT) | 14, 0x1234);
	CHECK_EQ(cpu_run(s.c, 50), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 14);
	CHECK_EQ(stack_word(&s, 1), 0x1234);
	CHECK_EQ(stack_word(&s, 2), CODE);
	sil_fini(&s);
}

/* NMI ignores IF, and a second one waits until IRET ends NMI blocking. */
static void nmi_blocking(void)
{
	static const u8 code[] = { 0xeb, 0xfe };	/* jmp . */
	static const u8 nmi_stub[] = {
		0x6a, 0x02,			/* push $2 */
		0xf4,				/* hlt */
		0x48, 0x83, 0xc4, 0x08,		/* add $8, %rsp */
		0x48, 0xcf,			/* iretq */
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	sil_put(&s, SIL_STUBS + 2 * 16, nmi_stub, sizeof(nmi_stub));
	st = cpu_state(s.c);
	cpu_raise_nmi(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 2);
	CHECK(st->interruptibility & CPU_INTR_NMI_BLOCKING, "no NMI blocking");
	cpu_raise_nmi(s.c);
	st->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	/* add; iretq; then the second NMI: HLT in the stub again */
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(stack_word(&s, 0), 2);
	CHECK_EQ(stack_word(&s, 1), CODE);
	CHECK(s.nout == 0, "unexpected output");
	sil_fini(&s);
}

struct kicker {
	struct cpu *c;
	int what;
};

static void *kick_thread(void *p)
{
	struct kicker *k = p;
	usleep(20000);
	if (k->what == 0)
		cpu_kick(k->c);
	else
		cpu_raise_intr(k->c);
	return NULL;
}

/* Another thread's kick and INTR reach a cpu spinning in the guest. */
static void cross_thread(void)
{
	static const u8 code[] = { 0xeb, 0xfe };	/* jmp . */
	struct sil s;
	struct kicker k;
	pthread_t t;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), true);
	st = cpu_state(s.c);
	k.c = s.c;
	k.what = 0;
	pthread_create(&t, NULL, kick_thread, &k);
	CHECK_EQ(cpu_run(s.c, 0), CPU_EXIT_KICK);
	pthread_join(t, NULL);
	CHECK_EQ(st->rip, CODE);
	st->rflags |= CPU_FLAG_IF;
	cpu_state_changed(s.c);
	ack_vector = 0x44;
	k.what = 1;
	pthread_create(&t, NULL, kick_thread, &k);
	CHECK_EQ(cpu_run(s.c, 0), CPU_EXIT_HLT);
	pthread_join(t, NULL);
	CHECK_EQ(stack_word(&s, 0), 0x44);
	CHECK_EQ(acks, 1);
	sil_fini(&s);
}

struct linked_run {
	struct cpu *c;
	enum cpu_exit e;
};

static void *linked_run_thread(void *arg)
{
	struct linked_run *r = arg;

	/*
	 * A budget far beyond the loop's need (~20 s here), so that only a
	 * write that is never seen ends the run by it: 2e9 (~2 s) ran out once
	 * in a CI run on a loaded 2-core machine, the writer not scheduled.
	 */
	r->e = cpu_run(r->c, 20000000000ull);
	return NULL;
}

/*
 * Another cpu's write into code that a cpu runs as a chain of linked blocks
 * (run_block() goes from block to block checking link_epoch alone) reaches
 * it: the write asks every cpu to drop its links (REQ_CODE), and the loop
 * below, which runs until it sees the new immediate, stops.
 */
static void cross_vcpu_code_linked(void)
{
	static const u8 a_code[] = {
		0xb8, 1, 0, 0, 0,	/* 1: mov $1, %eax (B makes it $2) */
		0x89, 0x07,		/*    mov %eax, (%rdi): "running" */
		0xeb, 0x02,		/*    jmp 2f */
		0x90, 0x90,
		0x83, 0xf8, 0x02,	/* 2: cmp $2, %eax */
		0x75, 0xf0,		/*    jne 1b */
		0xf4,			/*    hlt */
	};
	/* hlt; mov %bl, (%rdi); hlt: B decodes its page first (no REQ_WTLB later) */
	static const u8 b_code[] = { 0xf4, 0x88, 0x1f, 0xf4 };
	struct sil s;
	struct cpu *b;
	struct cpu_state *sa, *sb;
	struct linked_run r;
	pthread_t t;

	setup(&s, a_code, sizeof(a_code), false);
	sil_put(&s, CODE + 0x1000, b_code, sizeof(b_code));
	sa = cpu_state(s.c);
	sa->gpr[7] = CODE + 0x2000;
	b = cpu_create();
	cpu_map_phys(b, 0, s.ram_size, s.ram, 0);
	sb = cpu_state(b);
	*sb = *sa;
	sb->rip = CODE + 0x1000;
	sb->gpr[7] = CODE + 1;
	sb->gpr[3] = 2;
	cpu_state_changed(b);
	CHECK_EQ(cpu_run(b, 0), CPU_EXIT_HLT);
	sb->activity = CPU_ACTIVE;
	cpu_state_changed(b);
	r.c = s.c;
	pthread_create(&t, NULL, linked_run_thread, &r);
	while (!__atomic_load_n(&s.ram[CODE + 0x2000], __ATOMIC_ACQUIRE))
		;
	CHECK_EQ(cpu_run(b, 0), CPU_EXIT_HLT);
	pthread_join(t, NULL);
	CHECK_EQ(r.e, CPU_EXIT_HLT);
	CHECK_EQ(sa->gpr[0], 2);
	cpu_destroy(b);
	sil_fini(&s);
}

/*
 * A hard budget is exact while the run goes from block to block by their
 * links (run_block() chaining): two blocks of two instructions each, run
 * 7 instructions at a time.
 */
static void budget_across_linked_blocks(void)
{
	static const u8 code[] = {
		0xff, 0xc0,				/* 1: inc %eax */
		0xeb, 0x02,				/*    jmp 2f */
		0x90, 0x90,
		0xff, 0xc3,				/* 2: inc %ebx */
		0xeb, 0xf6,				/*    jmp 1b */
	};
	static const u8 at[4] = { 0, 2, 6, 8 };
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	st = cpu_state(s.c);
	for (u64 n = 7; n <= 700; n += 7) {
		CHECK_EQ(cpu_run(s.c, 7), CPU_EXIT_BUDGET);
		CHECK_EQ(cpu_instructions(s.c), n);
		CHECK_EQ(st->gpr[0], (n + 3) / 4);
		CHECK_EQ(st->gpr[3], (n + 1) / 4);
		CHECK_EQ(st->rip, CODE + at[n % 4]);
	}
	/* and a long run, with the links made */
	CHECK_EQ(cpu_run(s.c, 1001), CPU_EXIT_BUDGET);
	CHECK_EQ(cpu_instructions(s.c), 1701);
	CHECK_EQ(st->gpr[0], (1701 + 3) / 4);
	CHECK_EQ(st->rip, CODE + at[1701 % 4]);
	sil_fini(&s);
}

/* A store into the instruction that follows it in the same block. */
static void self_modifying(void)
{
	static const u8 code[] = {
		0xc6, 0x05, 0x01, 0, 0, 0, 0x42,	/* movb $0x42, 1f+1(%rip) */
		0xb0, 0x11,				/* 1: mov $0x11, %al */
		0x31, 0xc9,				/* xor %ecx, %ecx */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	st = cpu_state(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0] & 0xff, 0x42);
	CHECK_EQ(cpu_instructions(s.c), 4);
	/* run it again: the patched byte is now the code */
	st->rip = CODE;
	st->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[0] & 0xff, 0x42);
	sil_fini(&s);
}

/*
 * A loop that rewrites an immediate of its own body each time round: every
 * iteration stops right after the write and runs the new code.
 */
static void self_modifying_loop(void)
{
	static const u8 code[] = {
		0xb9, 3, 0, 0, 0,			/* mov $3, %ecx */
		0x31, 0xdb,				/* xor %ebx, %ebx */
		0x88, 0x0d, 0x01, 0, 0, 0,		/* 1: mov %cl, 2f+1(%rip) */
		0xb0, 0x00,				/* 2: mov $0, %al */
		0x00, 0xc3,				/* add %al, %bl */
		0xff, 0xc9,				/* dec %ecx */
		0x75, 0xf2,				/* jnz 1b */
		0xf4,					/* hlt */
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	st = cpu_state(s.c);
	CHECK_EQ(cpu_run(s.c, 1000), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3] & 0xff, 3 + 2 + 1);
	CHECK_EQ(cpu_instructions(s.c), 2 + 3 * 5 + 1);
	CHECK_EQ(s.ram[CODE + 14], 1);
	sil_fini(&s);
}

/*
 * Straight-line code longer than a block (BLOCK_MAX_INSNS = 48): every
 * instruction runs once, in order, whatever budget cuts the run.
 */
static void long_blocks(void)
{
	u8 code[2 * 100 + 1];
	static const u64 budgets[] = { 0, 1, 47, 48, 49, 100 };

	for (int k = 0; k < 100; k++) {
		code[2 * k] = 0x01;		/* add %eax, %ebx ... */
		code[2 * k + 1] = 0xc3;
	}
	code[200] = 0xf4;			/* hlt */
	for (unsigned t = 0; t < ARRAY_SIZE(budgets); t++) {
		struct sil s;
		struct cpu_state *st;
		enum cpu_exit e;
		int runs = 0;

		setup(&s, code, sizeof(code), false);
		st = cpu_state(s.c);
		st->gpr[0] = 3;
		st->gpr[3] = 0;
		do
			e = cpu_run(s.c, budgets[t]);
		while (e == CPU_EXIT_BUDGET && ++runs < 1000);
		CHECK_EQ(e, CPU_EXIT_HLT);
		CHECK_EQ(st->gpr[3], 300);
		CHECK_EQ(cpu_instructions(s.c), 101);
		sil_fini(&s);
	}
}

/*
 * Two cpus on one memory: B rewrites code A has decoded and run (B's
 * write TLB slot for the page was filled before A marked it as code).
 */
static void cross_vcpu_code(void)
{
	static const u8 a_code[] = { 0xb8, 1, 0, 0, 0, 0xf4 };	/* mov $1, %eax; hlt */
	static const u8 b_code[] = {
		0x89, 0x1f,		/* mov %ebx, (%rdi) */
		0x89, 0x0f,		/* mov %ecx, (%rdi) */
		0xeb, 0xfe,		/* jmp . */
	};
	struct sil s;
	struct cpu *b;
	struct cpu_state *sa, *sb;

	setup(&s, a_code, sizeof(a_code), false);
	sil_put(&s, CODE + 0x1000, b_code, sizeof(b_code));
	sa = cpu_state(s.c);
	b = cpu_create();
	cpu_map_phys(b, 0, s.ram_size, s.ram, 0);
	sb = cpu_state(b);
	*sb = *sa;
	sb->rip = CODE + 0x1000;
	sb->gpr[7] = CODE;
	sb->gpr[3] = 0x000001b8;	/* the bytes already there */
	sb->gpr[1] = 0x000002b8;	/* mov $2, %eax */
	cpu_state_changed(b);
	/* B's first store fills its write TLB slot for A's (not yet code) page */
	CHECK_EQ(cpu_run(b, 1), CPU_EXIT_BUDGET);
	/* A decodes and runs the page */
	CHECK_EQ(cpu_run(s.c, 10), CPU_EXIT_HLT);
	CHECK_EQ(sa->gpr[0], 1);
	/* B's second store, through the slot it filled before */
	CHECK_EQ(cpu_run(b, 1), CPU_EXIT_BUDGET);
	/* A must see the new code */
	sa->rip = CODE;
	sa->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 10), CPU_EXIT_HLT);
	CHECK_EQ(sa->gpr[0], 2);
	cpu_destroy(b);
	sil_fini(&s);
}

/* LOCK ADD from two threads on two cpus: no lost updates. */
struct adder {
	struct cpu *c;
};

static void *add_thread(void *p)
{
	struct adder *a = p;
	cpu_run(a->c, 0);
	return NULL;
}

static void locked_add_two_cpus(void)
{
	static const u8 code[] = {
		0xf0, 0x48, 0xff, 0x07,		/* 1: lock incq (%rdi) */
		0xff, 0xc9,			/* dec %ecx */
		0x75, 0xf8,			/* jnz 1b */
		0xf4,
	};
	struct sil s;
	struct cpu *b;
	struct adder a1, a2;
	pthread_t t1, t2;
	u64 v;

	setup(&s, code, sizeof(code), false);
	cpu_state(s.c)->gpr[7] = 0x200000;
	cpu_state(s.c)->gpr[1] = 200000;
	cpu_state_changed(s.c);
	b = cpu_create();
	cpu_map_phys(b, 0, s.ram_size, s.ram, 0);
	*cpu_state(b) = *cpu_state(s.c);
	cpu_state_changed(b);
	memset(s.ram + 0x200000, 0, 8);
	a1.c = s.c;
	a2.c = b;
	pthread_create(&t1, NULL, add_thread, &a1);
	pthread_create(&t2, NULL, add_thread, &a2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	memcpy(&v, s.ram + 0x200000, 8);
	CHECK_EQ(v, 400000);
	cpu_destroy(b);
	sil_fini(&s);
}

/*
 * TF: POPF sets it, the next instruction runs and traps with #DB (RIP of
 * the instruction after it, DR6.BS); a #DB handler that IRETs with TF set
 * single-steps again.
 */
static void single_step(void)
{
	static const u8 code[] = {
		0x68, 0x02, 0x01, 0, 0,		/* push $0x102 (TF) */
		0x9d,				/* popf */
		0xbb, 1, 0, 0, 0,		/* mov $1, %ebx: runs, then #DB */
		0xbb, 2, 0, 0, 0,		/* mov $2, %ebx */
		0x6a, 0x02,			/* push $2 */
		0x9d,				/* popf: TF off (this one still traps) */
		0xf4,				/* hlt (a stepped HLT would trap too) */
	};
	/* #DB: count in ECX, IRET (TF comes back from the frame) */
	static const u8 db_stub[] = {
		0xff, 0xc1,			/* inc %ecx */
		0x48, 0xcf,			/* iretq */
	};
	struct sil s;
	struct cpu_state *st;

	setup(&s, code, sizeof(code), false);
	sil_put(&s, SIL_STUBS + 1 * 16, db_stub, sizeof(db_stub));
	st = cpu_state(s.c);
	st->gpr[1] = 0;
	/* to the first #DB: push, popf, mov $1 -> #DB, then the stub's first insn */
	CHECK_EQ(cpu_run(s.c, 3), CPU_EXIT_BUDGET);
	CHECK_EQ(st->rip, SIL_STUBS + 16);
	CHECK_EQ(st->gpr[3], 1);
	CHECK(st->dr[6] & BIT(14), "DR6.BS");
	CHECK(!(st->rflags & CPU_FLAG_TF), "TF still set in the handler");
	{
		u64 ret;
		memcpy(&ret, s.ram + st->gpr[4], 8);
		CHECK_EQ(ret, CODE + 11);	/* the trap reports the next insn */
	}
	/* every following instruction traps again until the HLT */
	CHECK_EQ(cpu_run(s.c, 1000), CPU_EXIT_HLT);
	CHECK_EQ(st->gpr[3], 2);
	CHECK_EQ(st->gpr[1], 4);	/* after mov $1, mov $2, push, popf */
	CHECK_EQ(st->rip, CODE + 20);
	sil_fini(&s);
}

/*
 * DR0 as an instruction breakpoint (a fault before the instruction; the
 * processor leaves RF clear in the frame, the handler sets it so that the
 * instruction runs once resumed, as Linux's does) and DR1 as a 4-byte write
 * breakpoint (a trap after the store; a read does not hit it).
 */
static void breakpoints(void)
{
	static const u8 code[] = {
		0xb8, 1, 0, 0, 0,			/* mov $1, %eax */
		0xbb, 2, 0, 0, 0,			/* mov $2, %ebx    <- DR0 */
		0xc7, 0x07, 7, 0, 0, 0,			/* movl $7, (%rdi)  DR1 hit */
		0x8b, 0x0e,				/* mov (%rsi), %ecx: a read */
		0xf4,
	};
	struct sil s;
	struct cpu_state *st;
	u64 frame[4];

	setup(&s, code, sizeof(code), false);
	st = cpu_state(s.c);
	st->gpr[7] = st->gpr[6] = 0x200010;
	st->dr[0] = CODE + 5;
	st->dr[1] = 0x200012;			/* inside the dword at 0x200010 */
	/* L0 (exec, len 1); L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes) */
	st->dr[7] = 0x400 | 1 | (1 << 2) | (1ull << 20) | (3ull << 22);
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	memcpy(frame, s.ram + st->gpr[4], sizeof(frame));
	CHECK_EQ(frame[0], 1);			/* #DB */
	CHECK_EQ(frame[1], CODE + 5);		/* a fault: the breakpointed insn */
	CHECK_EQ(st->dr[6] & 0xf, 1);
	CHECK_EQ(st->gpr[0], 1);
	CHECK(st->gpr[3] != 2, "the breakpointed instruction ran");
	CHECK(!(frame[3] & CPU_FLAG_RF), "RF in the #DB frame of an instruction breakpoint");
	/* what the handler's IRET does: back with RF set */
	st->rip = CODE + 5;
	st->rflags = frame[3] | CPU_FLAG_RF;
	st->gpr[4] = SIL_STACK;
	st->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	memcpy(frame, s.ram + st->gpr[4], sizeof(frame));
	CHECK_EQ(st->gpr[3], 2);
	CHECK_EQ(frame[0], 1);
	CHECK_EQ(frame[1], CODE + 16);		/* a trap: after the store */
	CHECK_EQ(st->dr[6] & 0xf, 2);
	CHECK_EQ(s.ram[0x200010], 7);
	st->rip = CODE + 16;
	st->gpr[4] = SIL_STACK;
	st->activity = CPU_ACTIVE;
	cpu_state_changed(s.c);
	CHECK_EQ(cpu_run(s.c, 100), CPU_EXIT_HLT);
	CHECK_EQ(st->rip, CODE + 19);
	CHECK_EQ(st->gpr[1], 7);
	sil_fini(&s);
}

/*
 * Compare-and-branch pairs run by one handler (icache.c): a budget that
 * ends between the two, or on either, still retires exactly that many
 * instructions, and the loops end with the right registers.
 */
static void fused_pair_budget(void)
{
	static const u8 code[] = {
		0xb9, 5, 0, 0, 0,		/* mov $5, %ecx */
		0x83, 0xc0, 3,			/* 1: add $3, %eax */
		0xff, 0xc9,			/* dec %ecx */
		0x75, 0xf9,			/* jnz 1b */
		0x31, 0xd2,			/* xor %edx, %edx */
		0x48, 0x83, 0xc2, 1,		/* 2: add $1, %rdx */
		0x48, 0x83, 0xfa, 7,		/* cmp $7, %rdx */
		0x72, 0xf6,			/* jb 2b */
		0x48, 0x39, 0xc2,		/* cmp %rax, %rdx */
		0x75, 0x01,			/* jne 3f (7 != 15: taken) */
		0xf4,				/* hlt (skipped) */
		0xbe, 0x00, 0x00, 0x10, 0x00,	/* 3: mov $CODE, %esi */
		0x80, 0x3e, 0xb9,		/* cmpb $0xb9, (%rsi) (the first byte) */
		0x74, 0x01,			/* je 4f (taken) */
		0xf4,				/* hlt (skipped) */
		0x85, 0xd2,			/* 4: test %edx, %edx */
		0x74, 0x05,			/* jz 5f (not taken) */
		0xbb, 9, 0, 0, 0,		/* mov $9, %ebx */
		0xf4,				/* 5: hlt */
	};
	const u64 total = 1 + 5 * 3 + 1 + 7 * 3 + 2 + 1 + 2 + 2 + 1;	/* up to the last HLT */

	for (u64 k = 1; k <= 8; k++) {
		struct sil s;
		struct cpu_state *st;
		enum cpu_exit e;
		u64 before, runs = 0;

		setup(&s, code, sizeof(code), false);
		st = cpu_state(s.c);
		do {
			before = cpu_instructions(s.c);
			e = cpu_run(s.c, k);
			if (e == CPU_EXIT_BUDGET)
				CHECK_EQ(cpu_instructions(s.c) - before, k);
		} while (e == CPU_EXIT_BUDGET && ++runs < 100);
		CHECK_EQ(e, CPU_EXIT_HLT);
		CHECK_EQ(st->gpr[0], 15);
		CHECK_EQ(st->gpr[1], 0);
		CHECK_EQ(st->gpr[2], 7);
		CHECK_EQ(st->gpr[3], 9);
		CHECK_EQ(st->rip, CODE + sizeof(code));
		CHECK_EQ(cpu_instructions(s.c), total + 1);
		sil_fini(&s);
	}
}

/*
 * The dead-flag pass drops flag results that a later instruction of the
 * block overwrites (icache.c); a run cut by the budget inside the block
 * must still leave exact flags.  Oracle: the same instructions followed
 * by HLT (a block where the last one's flags are live), run to the HLT.
 */
static void dead_flags_cut(void)
{
	static const u8 code[] = {
		0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* mov $-1, %rax */
		0xbb, 1, 0, 0, 0,			/* mov $1, %ebx */
		0x48, 0x01, 0xd8,			/* add %rbx, %rax (CF ZF PF AF) */
		0x29, 0xd2,				/* sub %edx, %edx */
		0xb9, 3, 0, 0, 0,			/* mov $3, %ecx */
		0x48, 0xc1, 0xc1, 0x3f,			/* rol $63, %rcx (CF) */
		0x48, 0x01, 0xc9,			/* add %rcx, %rcx */
		0x48, 0xbe, 0xff, 0xff, 0xff, 0xff,	/* movabs $0x7fff..., %rsi */
		0xff, 0xff, 0xff, 0x7f,
		0x48, 0xff, 0xc6,			/* inc %rsi (OF SF AF PF) */
		0x48, 0x83, 0xf2, 0x01,			/* xor $1, %rdx */
		0x48, 0xff, 0xce,			/* dec %rsi */
		0x48, 0x83, 0xe8, 0x01,			/* sub $1, %rax */
		0x48, 0x39, 0xc0,			/* cmp %rax, %rax */
		0xf4,					/* hlt */
	};
	/* instruction ends, for the oracle copies */
	static const u8 ends[] = { 7, 12, 15, 17, 22, 26, 29, 39, 42, 46, 49, 53, 56 };

	for (unsigned k = 1; k <= ARRAY_SIZE(ends); k++) {
		struct sil s, o;
		u8 cut[sizeof(code)];
		u64 gpr0[16];

		setup(&s, code, sizeof(code), false);
		memcpy(gpr0, cpu_state(s.c)->gpr, sizeof(gpr0));
		/* decode the whole block first, then rerun it cut after k */
		CHECK_EQ(cpu_run(s.c, 0), CPU_EXIT_HLT);
		cpu_state(s.c)->rip = CODE;
		cpu_state(s.c)->rflags = 2;
		cpu_state(s.c)->activity = CPU_ACTIVE;
		memcpy(cpu_state(s.c)->gpr, gpr0, sizeof(gpr0));
		cpu_state_changed(s.c);
		CHECK_EQ(cpu_run(s.c, k), CPU_EXIT_BUDGET);

		memcpy(cut, code, ends[k - 1]);
		cut[ends[k - 1]] = 0xf4;
		setup(&o, cut, ends[k - 1] + 1, false);
		CHECK_EQ(cpu_run(o.c, 0), CPU_EXIT_HLT);
		CHECK_EQ(cpu_state(s.c)->rip, CODE + ends[k - 1]);
		CHECK_EQ(cpu_state(s.c)->rflags, cpu_state(o.c)->rflags);
		for (int r = 0; r < 8; r++)
			CHECK_EQ(cpu_state(s.c)->gpr[r], cpu_state(o.c)->gpr[r]);
		sil_fini(&o);
		sil_fini(&s);
	}
}


/*
 * The flag differentials' run: @code (its @len bytes, ending in
 * jcc +1; hlt; hlt) from RAX = @rax, RCX = @rcx, RBX = @rbx to a HLT;
 * @out: RIP past the code (0: the branch was taken), RFLAGS, RAX, RCX.
 * Return: false if it did not stop at a HLT.
 */
static bool run_flags_case(const u8 *code, int len, u64 rax, u64 rcx, u64 rbx, u64 out[4])
{
	struct sil s;
	struct cpu_state *st;
	bool hlt;

	setup(&s, code, (size_t)len, false);
	st = cpu_state(s.c);
	st->gpr[0] = rax;
	st->gpr[1] = rcx;
	st->gpr[3] = rbx;
	hlt = cpu_run(s.c, 100) == CPU_EXIT_HLT;
	out[0] = st->rip - CODE - (u64)len;
	out[1] = st->rflags;
	out[2] = st->gpr[0];
	out[3] = st->gpr[1];
	sil_fini(&s);
	return hlt;
}
/*
 * Compare/SUB/INC/DEC + Jcc pairs run as one handler per condition
 * (ops_alu.c FUSE_CC): each of the 16 conditions after each such first
 * instruction branches as the same pair split by a MOV (not fused) does,
 * over edge and random operands, with CF set or clear before (by STC/CLC,
 * or by a logic op in the same block).
 */
static void fused_pair_conditions(void)
{
	static const struct { u8 len, b[4]; } firsts[] = {
		{ 3, { 0x48, 0x39, 0xd8 } },	/* cmp %rbx, %rax */
		{ 2, { 0x39, 0xd8 } },		/* cmp %ebx, %eax */
		{ 3, { 0x48, 0x3b, 0xc3 } },	/* cmp %rbx, %rax (3B) */
		{ 2, { 0x3b, 0xc3 } },		/* cmp %ebx, %eax (3B) */
		{ 4, { 0x48, 0x83, 0xf8, 0 } },	/* cmp $imm8, %rax */
		{ 3, { 0x83, 0xf8, 0 } },	/* cmp $imm8, %eax */
		{ 3, { 0x48, 0x29, 0xd8 } },	/* sub %rbx, %rax */
		{ 2, { 0x29, 0xd8 } },		/* sub %ebx, %eax */
		{ 4, { 0x48, 0x83, 0xe8, 0 } },	/* sub $imm8, %rax */
		{ 3, { 0x83, 0xe8, 0 } },	/* sub $imm8, %eax */
		{ 3, { 0x48, 0xff, 0xc8 } },	/* dec %rax */
		{ 2, { 0xff, 0xc8 } },		/* dec %eax */
		{ 3, { 0x48, 0xff, 0xc0 } },	/* inc %rax */
		{ 2, { 0xff, 0xc0 } },		/* inc %eax */
	};
	static const u64 edge[] = { 0, 1, 2, ~0ull, 0x7fffffff, 0x80000000, 0xffffffff,
				    0x7fffffffffffffffull, 0x8000000000000000ull, 0x100000000ull };
	u64 rng = 12345;
	unsigned bad = 0;

	for (unsigned f = 0; f < ARRAY_SIZE(firsts); f++) {
		for (int cc = 0; cc < 16; cc++) {
			for (int t = 0; t < 24; t++) {
				u8 code[2][16];
				u64 a, b, out[2][4];
				int len[2] = { 0, 0 };
				int lead;

				rng = rng * 6364136223846793005ull + 1442695040888963407ull;
				a = t < 10 ? edge[t] : rng >> (rng & 31);
				b = t < 10 ? edge[(t * 7 + cc) % 10] : (t & 1 ? a : rng << (rng & 15));
				lead = (int)((rng >> 40) % 3);
				for (int v = 0; v < 2; v++) {
					u8 *p = code[v];
					int n = 0;
					if (lead == 2) {
						/* xor %ecx, %ecx: INC/DEC then know CF = 0
						 * (icache.c); the oracle hides it behind CLC */
						p[n++] = 0x31; p[n++] = 0xc9;
						if (v == 1)
							p[n++] = 0xf8;
					} else {
						p[n++] = lead ? 0xf8 : 0xf9;	/* clc / stc */
					}
					memcpy(p + n, firsts[f].b, firsts[f].len);
					if (firsts[f].len == 4 || (firsts[f].len == 3 && firsts[f].b[0] == 0x83))
						p[n + firsts[f].len - 1] = (u8)b;	/* imm8 */
					n += firsts[f].len;
					if (v == 1) {		/* the oracle: split by mov %rcx, %rcx */
						p[n++] = 0x48; p[n++] = 0x89; p[n++] = 0xc9;
					}
					p[n++] = (u8)(0x70 + cc);
					p[n++] = 1;			/* jcc +1 */
					p[n++] = 0xf4;			/* not taken */
					p[n++] = 0xf4;			/* taken */
					len[v] = n;
				}
				for (int v = 0; v < 2; v++)
					if (!run_flags_case(code[v], len[v], a, 0, b, out[v]))
						bad++;
				if (memcmp(out[0], out[1], sizeof(out[0]))) {
					if (!bad)
						CHECK_EQ(f * 100 + cc, ~0u);	/* which pair: see the value */
					bad++;
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
}

/*
 * INC/DEC after an ADD/SUB/CMP of 32 or 64 bits in the same block take CF
 * from that operation's lazy flags (ops_alu.c INCDEC_AFTER), or from the
 * flags computed in between (CLD leaves them computed: the fallback): the
 * CF after INC/DEC (read by JB/JAE and the final RFLAGS) and every other
 * result match the same code with the INC/DEC starting a block of its own
 * (a JMP +0 before it), over edge and random operands.
 */
static void incdec_cf_after_arith(void)
{
	static const struct { u8 len, b[4]; } prevs[] = {
		{ 3, { 0x48, 0x01, 0xd8 } },	/* add %rbx, %rax */
		{ 2, { 0x01, 0xd8 } },		/* add %ebx, %eax */
		{ 3, { 0x48, 0x29, 0xd8 } },	/* sub %rbx, %rax */
		{ 2, { 0x29, 0xd8 } },		/* sub %ebx, %eax */
		{ 3, { 0x48, 0x39, 0xd8 } },	/* cmp %rbx, %rax */
		{ 2, { 0x3b, 0xc3 } },		/* cmp %ebx, %eax (3B) */
		{ 4, { 0x48, 0x83, 0xc0, 0 } },	/* add $imm8, %rax */
		{ 3, { 0x83, 0xe8, 0 } },	/* sub $imm8, %eax */
	};
	static const struct { u8 len, b[3]; } incdecs[] = {
		{ 3, { 0x48, 0xff, 0xc9 } },	/* dec %rcx */
		{ 2, { 0xff, 0xc9 } },		/* dec %ecx */
		{ 3, { 0x48, 0xff, 0xc1 } },	/* inc %rcx */
		{ 2, { 0xff, 0xc1 } },		/* inc %ecx */
	};
	static const u8 ccs[] = { 2, 3, 4, 5 };	/* jb, jae, jz, jnz */
	static const u64 edge[] = { 0, 1, 2, ~0ull, 0x7fffffff, 0x80000000, 0xffffffff,
				    0x7fffffffffffffffull, 0x8000000000000000ull, 0x100000000ull };
	u64 rng = 777;
	unsigned bad = 0, runs = 0;

	for (unsigned p = 0; p < ARRAY_SIZE(prevs); p++)
	for (unsigned d = 0; d < ARRAY_SIZE(incdecs); d++)
	for (int mid = 0; mid < 3; mid++)
	for (unsigned k = 0; k < ARRAY_SIZE(ccs); k++)
	for (int t = 0; t < 4; t++) {
		u8 code[2][24];
		u64 a, b, cnt, out[2][4];
		int len[2];

		/* edge operands, or random ones (t = 3); a few cases each: setups are slow under ASan */
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		a = t < 3 ? edge[(rng >> 20) % 10] : rng >> (rng & 31);
		b = t < 3 ? edge[(rng >> 40) % 10] : rng << (rng & 15);
		cnt = edge[(t + p + (rng >> 56)) % 10];
		for (int v = 0; v < 2; v++) {
			u8 *q = code[v];
			int n = 0;
			q[n++] = (t & 1) ? 0xf9 : 0xf8;		/* stc / clc: CF before */
			memcpy(q + n, prevs[p].b, prevs[p].len);
			if (prevs[p].len == 4 || prevs[p].b[0] == 0x83)
				q[n + prevs[p].len - 1] = (u8)b;	/* imm8 */
			n += prevs[p].len;
			if (mid == 1)
				q[n++] = 0xfc;			/* cld: flags computed */
			if (mid == 2)
				q[n++] = 0x9f;			/* lahf: flags read */
			if (v == 1) {				/* the oracle: jmp +0 */
				q[n++] = 0xeb;
				q[n++] = 0;
			}
			memcpy(q + n, incdecs[d].b, incdecs[d].len);
			n += incdecs[d].len;
			q[n++] = (u8)(0x70 + ccs[k]);
			q[n++] = 1;				/* jcc +1 */
			q[n++] = 0xf4;				/* not taken */
			q[n++] = 0xf4;				/* taken */
			len[v] = n;
		}
		for (int v = 0; v < 2; v++)
			if (!run_flags_case(code[v], len[v], a, cnt, b, out[v]))
				bad++;
		runs++;
		if (memcmp(out[0], out[1], sizeof(out[0]))) {
			if (!bad)
				CHECK_EQ(p * 1000 + d * 100 + mid * 10 + k, ~0u);	/* which */
			bad++;
		}
	}
	CHECK_EQ(runs, 8u * 4 * 3 * 4 * 4);
	CHECK_EQ(bad, 0);
}

int main(void)
{
	RUN_TEST(sti_shadow);
	RUN_TEST(movss_shadow);
	RUN_TEST(hlt_wakeup);
	RUN_TEST(io_stop_mid_block);
	RUN_TEST(io_intr_mid_block);
	RUN_TEST(hlt_mid_block);
	RUN_TEST(irq_exit_and_inject);
	RUN_TEST(nmi_blocking);
	RUN_TEST(cross_thread);
	RUN_TEST(self_modifying);
	RUN_TEST(self_modifying_loop);
	RUN_TEST(long_blocks);
	RUN_TEST(cross_vcpu_code);
	RUN_TEST(cross_vcpu_code_linked);
	RUN_TEST(locked_add_two_cpus);
	RUN_TEST(single_step);
	RUN_TEST(breakpoints);
	RUN_TEST(fused_pair_budget);
	RUN_TEST(budget_across_linked_blocks);
	RUN_TEST(dead_flags_cut);
	RUN_TEST(fused_pair_conditions);
	RUN_TEST(incdec_cf_after_arith);
	return test_cases_failed ? 1 : 0;
}
