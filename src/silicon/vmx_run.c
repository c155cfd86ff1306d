// SPDX-License-Identifier: MIT
/*
 * VMLAUNCH/VMRESUME as one call: check (vmentry.c), load the guest, run it
 * on the execution core until a VM exit, complete the exit (vmexit.c) and
 * return the exit reason, as Linux's __vmx_vcpu_run() returns to
 * vmx_vcpu_enter_exit() when the processor exits.  The guest runs on the
 * logical processor's own stack, where an instruction exit can leave its
 * run suspended for the next VMRESUME (below: "the processor's stack").
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include "silicon/cpu.h"
#include "silicon/fpu.h"
#include "silicon/vmx_api.h"
#include "silicon/vmx_cpu.h"

#if defined(__SANITIZE_ADDRESS__)
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

bool vmx_host_avx;
static pthread_once_t vmx_host_once = PTHREAD_ONCE_INIT;

/* AVX with the OS saving YMM state (libgcc checks XGETBV too): vmx_copy_gprs() */
static void vmx_host_probe(void)
{
	__builtin_cpu_init();
	vmx_host_avx = __builtin_cpu_supports("avx");
}

struct vmx_cpu *vmx_cpu_create(void)
{
	struct vmx_cpu *v = calloc(1, sizeof(*v));
	struct cpu *c;

	if (!v)
		return NULL;
	/* once: processors are made on several threads at once, and read it on theirs */
	pthread_once(&vmx_host_once, vmx_host_probe);
	c = cpu_create();
	if (!c) {
		free(v);
		return NULL;
	}
	vmx_cpu_init(v, c);
	c->vmx = v;
	return v;
}

void vmx_cpu_destroy(struct vmx_cpu *v)
{
	if (!v)
		return;
	if (vmx_this_cpu() == v)
		vmx_cpu_bind(NULL);
	cpu_destroy(v->cpu);
	if (v->fib.stack) {
#if defined(__SANITIZE_ADDRESS__)
		/*
		 * Frames left on the processor's stack (a run suspended at an
		 * exit is never unwound) stay poisoned in ASan's shadow after
		 * the munmap: memory mapped there later (a VMM's guest RAM,
		 * which read() fills) would be reported as a stack use after
		 * scope.
		 */
		__asan_unpoison_memory_region(v->fib.stack, VMX_CSTACK_SIZE);
#endif
		munmap((u8 *)v->fib.stack - VMX_CSTACK_GUARD, VMX_CSTACK_SIZE + VMX_CSTACK_GUARD);
	}
	free(v);
}

void vmx_cpu_kick(struct vmx_cpu *v)
{
	cpu_kick(v->cpu);
}

void vmx_cpu_nmi(struct vmx_cpu *v)
{
	cpu_raise_nmi(v->cpu);
}

static void exit_event(struct vmx_cpu *v, u32 reason, u32 intr_info)
{
	vmx_exit_pending(v, &(struct vmx_exit_info){ .reason = reason, .intr_info = intr_info });
}

/* An external interrupt (a kick from another host thread) arrives. */
static void host_interrupt(struct vmx_cpu *v)
{
	u32 info = 0;

	if (v->ctls.exit & VM_EXIT_ACK_INTR_ON_EXIT)
		info = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | VMX_HOST_KICK_VECTOR;
	exit_event(v, EXIT_REASON_EXTERNAL_INTERRUPT, info);
}

static bool timer_expired(struct vmx_cpu *v)
{
	return v->timer_armed && vmx_host_tsc() >= v->timer_deadline;
}

/*
 * Guest instructions to run before looking at the preemption timer again.
 * A slice is a fixed cost (cpu_run() entry, RDTSC, a first block found
 * without a link), so far from the deadline slices are long: one
 * instruction per 256 TSC ticks left (an instruction takes several TSC
 * ticks here), at most 4096 (a REP string chunk, one budget unit, can take
 * a thousand TSC ticks: the cap bounds the overshoot to about a host tick
 * even then); near the deadline they shrink to 256 as before.  Kicks, NMIs and
 * interrupts do not wait for a slice end: the core sees c->req at every
 * block end.
 */
static u64 slice_len(const struct vmx_cpu *v, u64 now)
{
	u64 left;

	if (now >= v->timer_deadline)
		return 256;
	left = (v->timer_deadline - now) >> 8;
	return left < 256 ? 256 : left > 4096 ? 4096 : left;
}

/*
 * Run the guest until something makes a VM exit.  Return: true when an
 * exit is pending in v->exit, false if the guest stopped for a reason with
 * no VM exit (which does not happen with the controls KVM uses; it is
 * reported as an external interrupt so the host regains control).
 */
static __always_inline void run_guest(struct vmx_cpu *v)
{
	struct cpu *c = v->cpu;
	bool first = true;

	/*
	 * A timer that starts at 0 expires before the first instruction
	 * (26.5.1); with an event to inject, the exit follows its delivery
	 * (26.7.4: the exit is then at the handler's first instruction, none
	 * of which has run).  The timer is checked between slices of guest
	 * instructions (slice_len()), so an expiry is noticed at most one
	 * slice (and less than one block) late.
	 */
	enum cpu_exit e;

	/* The common entry: no preemption timer, and the guest runs until it exits. */
	if (likely(!v->timer_armed)) {
		e = cpu_run_slice(c, 0);
		if (likely(e == CPU_EXIT_VMEXIT))
			return;
		first = false;
		goto stopped;
	}
	for (;;) {
		u64 budget = 0;

		/*
		 * One TSC read per slice; the first slice uses the entry's
		 * (vmx_load_guest()).  A nonzero timer lets the guest run at
		 * least one slice: the time this entry took in the host is not
		 * guest time, and a small value must not keep a guest from
		 * making progress.
		 */
		if (v->timer_armed) {
			u64 now = first ? v->entry_tsc : vmx_host_tsc();

			if (now >= v->timer_deadline && (!first || v->timer_zero)) {
				if (!(c->s.event_info & CPU_EVENT_VALID)) {
					exit_event(v, EXIT_REASON_PREEMPTION_TIMER, 0);
					return;
				}
				budget = 0;	/* deliver it, then the timer exit */
			} else {
				budget = slice_len(v, now);
			}
		}
		e = budget || !v->timer_armed ? cpu_run_slice(c, budget) : cpu_run_boundary(c);
		first = false;
stopped:
		switch (e) {
		case CPU_EXIT_VMEXIT:
			return;
		case CPU_EXIT_BUDGET:
			continue;
		case CPU_EXIT_KICK:
		case CPU_EXIT_IRQ:
			if (v->ctls.pin & PIN_BASED_EXT_INTR_MASK) {
				host_interrupt(v);
				return;
			}
			/*
			 * FIXME: without "external-interrupt exiting" a host
			 * interrupt would go through the guest's IDT; this
			 * processor has no host interrupt controller to
			 * acknowledge it from, so it is dropped (KVM always sets
			 * the control).
			 */
			cpu_set_intr(c, false);
			continue;
		case CPU_EXIT_HLT:
			/*
			 * HLT without "HLT exiting": the logical processor sleeps
			 * until an event: a host interrupt (kick), an NMI, or the
			 * preemption timer running out in (guest) time.
			 */
			for (unsigned spins = 0; !timer_expired(v) &&
			     !(__atomic_load_n(&c->req, __ATOMIC_SEQ_CST) & (REQ_KICK | REQ_NMI | REQ_INTR));
			     spins++) {
				/* Yield first (a kick is usually near), then nap 50 us at a time. */
				if (spins < 1000)
					sched_yield();
				else
					nanosleep(&(struct timespec){ .tv_nsec = 50000 }, NULL);
			}
			continue;
		case CPU_EXIT_SHUTDOWN:
			/* A shutdown in non-root operation is a triple-fault exit (26.2). */
			exit_event(v, EXIT_REASON_TRIPLE_FAULT, 0);
			return;
		case CPU_EXIT_IO:
		case CPU_EXIT_VMX_INSN:
		default:
			/* Nothing in non-root operation stops this way; give the host control. */
			host_interrupt(v);
			return;
		}
	}
}

/* vmx_this_cpu() without a call: the bound processor's port is in it (vmx_cpu_bind()). */
static __always_inline struct vmx_cpu *this_cpu_inline(void)
{
	struct vmx_vmcs_port *p = vmx_this_port;

	return p ? (struct vmx_cpu *)((char *)p - offsetof(struct vmx_cpu, port)) : NULL;
}

/*
 * VMLAUNCH/VMRESUME, run on the processor's stack (or the caller's:
 * vmx_op_enter()); @entered: vmx_resume_fast() made the entry already.
 */
static __always_inline u32 enter(struct vmx_cpu *v, u64 *regs, bool launched, bool entered)
{
	struct vmcs_hdr *hdr;
	void *vmcs;
	u32 reason;
	u64 qual;

	if (entered || (launched && vmx_resume_fast(v, regs, false)))
		goto run;
	v->resume_ready = false;
	vmx_fold_dirty(v);
	/* STEPs 1-4: checks (vmentry.c). */
	switch (vmx_entry_check(v, !launched, &reason, &qual)) {
	case VMX_SUCCEED:
		break;
	case VMX_FAIL_VALID:
		return VMX_ENTER_VMFAIL_VALID;
	case VMX_FAIL_INVALID:
		return VMX_ENTER_VMFAIL_INVALID;
	default:
		return VMX_ENTER_FAULT;
	}
	vmcs = vmx_vmcs(v);
	if (reason) {
		vmx_entry_failed(v, reason, qual);
		return reason;
	}
	/* STEP 5: load guest state, MSRs; STEP 6: event injection. */
	if (!v->ctls_valid) {
		vmx_cache_controls(&v->ctls, vmcs);
		v->ctls_valid = true;
	}
	v->regs = regs;
	reason = vmx_load_guest(v, vmcs, &qual);
	if (reason) {
		vmx_entry_failed(v, reason, qual);
		return reason;
	}
	/* VM entry succeeded: VMLAUNCH makes the VMCS "launched" (27.1). */
	hdr = vmcs;
	hdr->launch_state = VMCS_STATE_LAUNCHED;
run:
	run_guest(v);
	vmx_complete_exit(v);
	v->regs = NULL;
	return v->exit.reason;
}

/*
 * ---- the processor's stack (fiber.h) ----
 *
 * A VM exit is the processor returning to the host; nothing says the
 * processor's own execution state must be unwound for it.  The guest runs
 * on a stack of the logical processor's, and an instruction exit whose run
 * may go on (a block under no preemption timer, not stepping:
 * cpu_exit_prepare_cont()) completes the exit (vmx_complete_exit(), the
 * VMCS holds everything the host reads) and switches to the host's stack
 * with the handler's frames kept.  A VMRESUME that continues right after
 * that instruction - VMCS untouched but for what KVM writes around every
 * entry, no event, same TLB context, nothing pending in the core, the
 * block's code still valid - makes the entry (vmx_resume_fast()) and
 * switches back: the handler returns as if the instruction had completed
 * and the block goes on.  An exit at a segment's or a block's end (IN,
 * OUT, HLT, CPUID and a cut MMIO store end a segment of theirs) is
 * suspended one level up: its handler returns and the block loop switches
 * (cpu.c run_block(), cpu_park()), so that no frame is returned through
 * after either switch (fiber.h says why that matters).  Any other
 * VMLAUNCH/VMRESUME drops the suspended frames (the exit bookkeeping they
 * would have done is done) and starts over at core_main() on the same
 * stack.
 */
#if defined(__SANITIZE_ADDRESS__)
void __asan_unpoison_memory_region(const volatile void *addr, size_t size);
#endif

/* The first frame's address to go on at (fiber_switch()), the processor in the slot above. */
__attribute__((visibility("hidden"))) void vmx_core_tramp(void);
__asm__(".text\n"
	".p2align 4\n"
	".globl vmx_core_tramp\n"
	".hidden vmx_core_tramp\n"
	".type vmx_core_tramp, @function\n"
	"vmx_core_tramp:\n"
	"	pop %rdi\n"
	"	call vmx_core_main\n"
	"	ud2\n"
	".size vmx_core_tramp, .-vmx_core_tramp\n");

__attribute__((visibility("hidden"), noreturn, used)) void vmx_core_main(struct vmx_cpu *v);

/* v->on_core, and the core's byte of the run's conditions (cpu.h: cont_run) with it */
static void set_on_core(struct vmx_cpu *v, bool on)
{
	v->on_core = on;
	if (v->cpu)
		cpu_cont_run_set(v->cpu, CPU_CONT_RUN_CORE, on);
}

/* A fresh first frame: the next switch to the stack enters core_main(). */
static void core_stack_reset(struct vmx_cpu *v)
{
	void **sp = (void **)((((uintptr_t)v->fib.stack + VMX_CSTACK_SIZE) & ~(uintptr_t)15) - 16);

#if defined(__SANITIZE_ADDRESS__)
	/* the dropped frames' redzones */
	__asan_unpoison_memory_region(v->fib.stack, VMX_CSTACK_SIZE);
#endif

	/* fiber_switch() pops the address and jumps there; %rsp is 16-aligned at the call */
	sp -= 2;
	sp[0] = (void *)vmx_core_tramp;
	sp[1] = v;
	v->fib.core_sp = sp;
	v->suspended = false;
	set_on_core(v, false);
}

/* The stack, below it a guard page: an overflow faults instead of writing the heap. */
static int core_stack_alloc(struct vmx_cpu *v)
{
	u8 *p = mmap(NULL, VMX_CSTACK_SIZE + VMX_CSTACK_GUARD, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	if (mprotect(p, VMX_CSTACK_GUARD, PROT_NONE)) {
		munmap(p, VMX_CSTACK_SIZE + VMX_CSTACK_GUARD);
		return -1;
	}
	v->fib.stack = p + VMX_CSTACK_GUARD;
	v->fib.size = VMX_CSTACK_SIZE;
	v->cpu->fiber = &v->fib;
	core_stack_reset(v);
	return 0;
}

void vmx_core_main(struct vmx_cpu *v)
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(NULL, &v->fib.host_bottom, &v->fib.host_size);
#endif
	for (;;) {
		set_on_core(v, true);
		v->enter_result = enter(v, v->enter_regs, v->enter_launched, v->enter_done);
		set_on_core(v, false);
		v->cont_miss++;		/* the exit unwound: it was not taken in place */
		vmx_switch_to_host(v);
	}
}


/* VMRESUME entered (vmx_resume_fast()), but the run must start over: at the next instruction. */
u32 vmx_cont_restart(struct vmx_cpu *v)
{
	struct cpu *c = v->cpu;

	c->s.rip = c->cont_rip_next;
	cpu_cont_drop(c);
	v->entry_icount = c->icount;
	core_stack_reset(v);
	v->enter_done = true;
	vmx_switch_to_core(v);
	return v->enter_result;
}

/* vmx_op_enter() when the handler's frames, if any, are not taken up again. */
u32 vmx_op_enter_slow(struct vmx_cpu *v, u64 *regs, bool launched)
{
	vmx_code_sync_take(v);
	/* A full entry saves the root view before it enters non-root operation. */
	vmx_root_view(v);
	if (v->suspended) {
		v->suspended = false;
		cpu_cont_drop(v->cpu);
		core_stack_reset(v);
	}
	/* Exits that cannot be taken in place lately: the caller's stack (vmx_cpu.h). */
	if (v->cont_miss > 4 && (++v->cont_probe & 63))
		return enter(v, regs, launched, false);
	if (unlikely(!v->fib.stack) && core_stack_alloc(v))
		return enter(v, regs, launched, false);
	v->enter_regs = regs;
	v->enter_launched = launched;
	v->enter_done = false;
	/* The thread whose frames an exit taken in place leaves on the stack (vmx_cpu.h). */
	v->cont_thread = vmx_thread_id();
	vmx_switch_to_core(v);
	return v->enter_result;
}

/*
 * Only tests here, no frame: each way on is a tail call.  The common
 * VMRESUME is one test of a word (suspended with VMX_RESUME_CONT), the
 * VMWRITE mask and the thread; vmx_resume_cont() (vmentry.c) is left RIP.
 */
u32 vmx_op_enter(u64 *regs, bool launched)
{
	struct vmx_cpu *v = this_cpu_inline();
	u16 word;

	BUILD_BUG_ON(offsetof(struct vmx_cpu, resume_ready) != offsetof(struct vmx_cpu, suspended) + 1);
	if (!v)
		return VMX_ENTER_FAULT;
	memcpy(&word, &v->suspended, 2);
	if (likely(launched && v->cont_thread == vmx_thread_id())) {
		/*
		 * Note, port.dirty and port.code_sync are loaded apart: a VMWRITE
		 * (GUEST_RIP, just before) stores port.dirty's 4 bytes, which a
		 * load of both could not take from the store buffer.
		 */
		if (likely(word == VMX_CONT_WORD && !v->port.dirty)) {
			if (likely(!v->port.code_sync))
				return vmx_resume_cont(v, regs);
			/* after a KVM_RUN from user space (vmx_op_code_sync()) */
			return vmx_resume_cont_sync(v, regs);
		}
		if (v->suspended)
			return vmx_resume_cont_other(v, regs);
	}
	return vmx_op_enter_slow(v, regs, launched);
}

/* ---- registers the VMCS does not switch (vmx_api.h) ---- */

#include <string.h>

static struct cpu *this_core(void)
{
	struct vmx_cpu *v = vmx_this_cpu();

	return v ? v->cpu : NULL;
}

u64 vmx_op_read_cr2(void)
{
	struct cpu *c = this_core();

	return c ? c->s.cr2 : 0;
}

void vmx_op_write_cr2(u64 val)
{
	struct cpu *c = this_core();

	if (c)
		c->s.cr2 = val;
}

u64 vmx_op_get_debugreg(int n)
{
	struct cpu *c = this_core();

	/* DR7 (DR5 aliases it) is switched: the host's value (vmx_cpu.h: host_regs_pending). */
	if (c && (n == 7 || n == 5))
		vmx_materialize_host_state(vmx_this_cpu());

	return c && n >= 0 && n < 8 ? c->s.dr[n] : 0;
}

void vmx_op_set_debugreg(int n, u64 val)
{
	struct cpu *c = this_core();

	/* DR7 is in the VMCS (GUEST_DR7); DR4/DR5 alias DR6/DR7. */
	if (c && (n < 4 || n == 6))
		c->s.dr[n] = val;
}

u64 vmx_op_xgetbv(u32 index)
{
	struct cpu *c = this_core();

	return c && index == 0 ? c->s.xcr0 : 0;
}

int vmx_op_xsetbv(u32 index, u64 val)
{
	struct cpu *c = this_core();

	/* XSETBV's rules (fpu.c): XCR0 only, x87 set, x87 and SSE state, no AVX (SDM 13.3). */
	if (!c || fpu_xcr_check(index, val))
		return -1;
	c->s.xcr0 = val;
	return 0;
}

int vmx_op_rdmsr_cpu(u32 msr, u64 *val)
{
	struct cpu *c = this_core();

	if (c && vmx_msr_switched(msr))
		vmx_materialize_host_state(vmx_this_cpu());
	if (c)
		vmx_root_view(vmx_this_cpu());	/* IA32_TSC, IA32_TSC_ADJUST */

	return c ? cpu_rdmsr(c, msr, val) : -1;
}

int vmx_op_wrmsr_cpu(u32 msr, u64 val)
{
	struct cpu *c = this_core();

	if (c && vmx_msr_switched(msr))
		vmx_materialize_host_state(vmx_this_cpu());
	if (c)
		vmx_root_view(vmx_this_cpu());

	return c ? cpu_wrmsr(c, msr, val) : -1;
}

BUILD_BUG_ON(sizeof(struct cpu_fpu) != VMX_FPU_STATE_SIZE);

void vmx_op_fpu_save(void *buf)
{
	struct cpu *c = this_core();

	if (c)
		fpu_save_image(c, buf);	/* XSAVE: XSTATE_BV says what is in use */
}

void vmx_op_fpu_restore(const void *buf)
{
	struct cpu *c = this_core();

	if (c)
		fpu_load_image(c, buf);	/* XRSTOR: clear XSTATE_BV bits mean initial state */
}

u64 vmx_op_rdtsc(void)
{
	struct cpu *c = this_core();

	if (c)
		vmx_root_view(vmx_this_cpu());

	return c ? cpu_rdtsc(c) : __rdtsc() - cpu_tsc_epoch();
}

/* A processor to answer CPUID on threads bound to none (all report the same model). */
static struct vmx_cpu *cpuid_ref;
static pthread_once_t cpuid_ref_once = PTHREAD_ONCE_INIT;

static void cpuid_ref_init(void)
{
	cpuid_ref = vmx_cpu_create();
}

void vmx_op_cpuid(u32 leaf, u32 subleaf, u32 out[4])
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (!v) {
		pthread_once(&cpuid_ref_once, cpuid_ref_init);
		v = cpuid_ref;
	}
	if (!v) {
		out[0] = out[1] = out[2] = out[3] = 0;
		return;
	}
	cpu_cpuid(v->cpu, leaf, subleaf, out);
	if (leaf == 1)
		out[2] |= BIT(5);	/* VMX */
}
