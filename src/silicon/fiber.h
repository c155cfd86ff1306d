/* SPDX-License-Identifier: MIT */
/*
 * The logical processor's own stack, and the switch between it and the
 * host's (vmx_run.c: "the processor's stack").  A VM exit taken in place
 * leaves the core's run suspended on its stack and goes on on the host's;
 * the next VMRESUME that continues after the exiting instruction switches
 * back.
 *
 * The switch is a jump, not a call and a return.  A return that lands on
 * the other stack is mispredicted, and so is every return after it that
 * pops an entry the other side pushed on the return stack buffer: a side
 * that returns j frames after the switch, then calls j frames deep before
 * the next one, costs 2j mispredictions per round trip.  So the switch is
 * inline, and the core parks where it has no frame of its own to return
 * through (cpu.c run_block(): an exit at a segment's or a block's end),
 * which makes j = 0 on the core's side.
 */
#ifndef SILICON_FIBER_H
#define SILICON_FIBER_H

#include <stddef.h>

struct fiber {
	void *stack;			/* the processor's stack (its lowest byte), or NULL */
	size_t size;
	void *core_sp, *host_sp;	/* saved by the last switch away from each side */
	const void *host_bottom;	/* ASan builds: the host stack's bounds */
	size_t host_size;
};

#if defined(__SANITIZE_ADDRESS__)
/* ASan's fiber annotations: it tracks which stack is current. */
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
#endif

/*
 * Store the stack pointer in *@save and go on on @to: a pointer an earlier
 * switch stored, or a first frame (vmx_run.c core_stack_reset()).  Below
 * the stack pointer a side keeps the callee-saved registers and, last, the
 * address to go on at; the other registers are clobbered as by a call, so
 * the compiler keeps what lives across the switch where it would keep it
 * across a call.  The red zone is stepped over.
 */
static inline __attribute__((always_inline)) void **fiber_switch(void **save, void *to)
{
	__asm__ volatile("sub $128, %%rsp\n\t"
			 "push %%rbp\n\t"
			 "push %%rbx\n\t"
			 "push %%r12\n\t"
			 "push %%r13\n\t"
			 "push %%r14\n\t"
			 "push %%r15\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "push %%rax\n\t"
			 "mov %%rsp, (%%rdi)\n\t"
			 "mov %%rsi, %%rsp\n\t"
			 "pop %%rax\n\t"
			 "jmp *%%rax\n"
			 "1:\n\t"
			 "pop %%r15\n\t"
			 "pop %%r14\n\t"
			 "pop %%r13\n\t"
			 "pop %%r12\n\t"
			 "pop %%rbx\n\t"
			 "pop %%rbp\n\t"
			 "add $128, %%rsp"
			 : "+D"(save), "+S"(to)
			 :
			 : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
			   "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			   "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
	/* what the other side passed as its @save: where it keeps its stack pointer */
	return save;
}

/* From the host's stack to the processor's; back here at the next switch to the host. */
static inline __attribute__((always_inline)) void fiber_to_core(struct fiber *f)
{
#if defined(__SANITIZE_ADDRESS__)
	void *fake = NULL;

	__sanitizer_start_switch_fiber(&fake, f->stack, f->size);
	fiber_switch(&f->host_sp, f->core_sp);
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
	fiber_switch(&f->host_sp, f->core_sp);
#endif
}

/*
 * fiber_to_core(), returning the fiber whose core switched back: the one
 * switched to, found from the switch's register without keeping @f in one
 * across it (the host's side then saves nothing of its own).
 */
static inline __attribute__((always_inline)) struct fiber *fiber_to_core_back(struct fiber *f)
{
#if defined(__SANITIZE_ADDRESS__)
	fiber_to_core(f);
	return f;
#else
	void **back = fiber_switch(&f->host_sp, f->core_sp);

	return (struct fiber *)((char *)back - offsetof(struct fiber, core_sp));
#endif
}

/* From the processor's stack to the host's (whose bounds the last switch to the core noted). */
static inline __attribute__((always_inline)) void fiber_to_host(struct fiber *f)
{
#if defined(__SANITIZE_ADDRESS__)
	void *fake = NULL;

	__sanitizer_start_switch_fiber(&fake, f->host_bottom, f->host_size);
	fiber_switch(&f->core_sp, f->host_sp);
	__sanitizer_finish_switch_fiber(fake, &f->host_bottom, &f->host_size);
#else
	fiber_switch(&f->core_sp, f->host_sp);
#endif
}

#endif
