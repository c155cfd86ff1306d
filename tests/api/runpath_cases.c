// SPDX-License-Identifier: MIT
/*
 * KVM_RUN's path between exits: state that appears after the vCPU ran and
 * that the next entry must see.
 */
#include "irqutil.h"

/*
 * A PIT made after the vCPU's first exit (KVM_CREATE_PIT2 between two
 * KVM_RUNs of an in-kernel-irqchip VM): the guest's next PIT writes are
 * the kernel's (no KVM_EXIT_IO for ports 0x43/0x40), only the OUT to port
 * 0x10 exits.  Fails if the run path decided "no in-kernel device" once
 * and kept it, or looked for the PIT only where a PIC is absent.
 */
KVM_CASE(runpath_pit_after_first_exit)
{
	/* mov al, 0x34; out 0x43, al; out 0x43, al; mov al, 0x12; out 0x40, al; out 0x40, al; out 0x10, al */
	static const unsigned char code[] = {
		0xb0, 0x34, 0xe6, 0x43, 0xe6, 0x43, 0xb0, 0x12, 0xe6, 0x40, 0xe6, 0x40, 0xe6, 0x10,
	};
	struct kvm_pit_config pc = { 0 };
	struct kvm_pit_state2 s;
	struct tguest g;
	struct kvm_run *run;

	if (tg_create_vm(t, &g) < 0)
		return;
	CHECK_OK(t, IOC(t, g.vm, KVM_CREATE_IRQCHIP, 0));
	g.vcpu = tg_add_vcpu(t, &g, 0, &g.run);
	run = g.run;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_REAL);

	/* no PIT yet: the first OUT to 0x43 is userspace's */
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, 0x43);

	CHECK_OK(t, IOC(t, g.vm, KVM_CREATE_PIT2, &pc));
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(run->exit_reason, KVM_EXIT_IO);
	CHECK_EQ(run->io.port, 0x10);

	CHECK_OK(t, IOC(t, g.vm, KVM_GET_PIT2, &s));
	t_printf(t, "pit0: count=%#x mode=%u rw=%u", s.channels[0].count, s.channels[0].mode,
		 s.channels[0].rw_mode);
	CHECK_EQ(s.channels[0].count, 0x1212);
	CHECK_EQ(s.channels[0].mode, 2);
	tg_destroy(&g);
}

/*
 * KVM_GUESTDBG_SINGLESTEP set after the vCPU ran CPUID leaf 0 (the CPUID
 * fastpath's cached leaf): stepping over the same CPUID again exits with
 * KVM_EXIT_DEBUG right after it, its results in the registers.  Fails if
 * the fastpath re-entered the guest on a guest_debug value read before
 * KVM_SET_GUEST_DEBUG, or ignored it.
 */
KVM_CASE(runpath_singlestep_cached_cpuid)
{
	/* xor eax; xor ecx; cpuid (x2); hlt; xor eax; xor ecx; cpuid; hlt (32-bit code at 0x1000) */
	static const unsigned char code[] = {
		0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2, 0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2, 0xf4,
		0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2, 0xf4,
	};
	static const unsigned long long pcs[] = { 0x100f, 0x1011, 0x1013 };
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	struct kvm_regs r;
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	ig_set_cpuid(t, &g, g.vcpu);	/* the host's leaves: leaf 0 is found, and cached */
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_HLT);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_printf(t, "after two CPUIDs: rip=%#llx ebx set=%d", (unsigned long long)r.rip, r.rbx != 0);
	CHECK_EQ(r.rip, 0x100d);
	CHECK(r.rbx != 0, "CPUID leaf 0 left EBX 0");
	r.rbx = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));

	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	for (int i = 0; i < 3; i++) {
		CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
		t_printf(t, "exit %s exception=%u pc=%#llx", tg_exit_name(g.run->exit_reason),
			 g.run->debug.arch.exception, (unsigned long long)g.run->debug.arch.pc);
		CHECK_EQ(g.run->exit_reason, KVM_EXIT_DEBUG);
		CHECK_EQ(g.run->debug.arch.exception, 1);
		CHECK_EQ(g.run->debug.arch.pc, pcs[i]);
	}
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	t_printf(t, "after the stepped CPUID: rip=%#llx ebx set=%d", (unsigned long long)r.rip,
		 r.rbx != 0);
	CHECK_EQ(r.rip, 0x1013);
	CHECK(r.rbx != 0, "CPUID leaf 0 left EBX 0");
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	tg_destroy(&g);
}

/*
 * CPUIDs back to back, which the VMX backend retires in place after the
 * first (vmx_cpuid_retire_in_place()): each must return its own leaf (the
 * cached one only when it is the leaf asked for), advance RIP by its
 * length, and end an STI shadow it is in.  Leaf 0 twice, leaf 1 twice,
 * leaf 0 again, each EAX stored to DATA; then STI; CPUID; IN: at the IN
 * the shadow is over (KVM_GET_VCPU_EVENTS), as on KVM.  Fails if the
 * in-place retirement returned the cached leaf for another, or left the
 * interruptibility state of the CPUID after STI in the VMCS, or moved RIP
 * by other than the CPUIDs' lengths.
 */
KVM_CASE(runpath_cpuid_in_place)
{
	/* per leaf: mov eax, LEAF; xor ecx, ecx; cpuid; mov [DATA + 4 * i], eax */
#define CPUID_STORE(leaf, i) 0xb8, leaf, 0, 0, 0, 0x31, 0xc9, 0x0f, 0xa2, \
		0xa3, (4 * (i)), 0x00, 0x01, 0x00
	static const unsigned char code[] = {
		CPUID_STORE(0, 0), CPUID_STORE(0, 1), CPUID_STORE(1, 2), CPUID_STORE(1, 3),
		CPUID_STORE(0, 4),
		/* xor eax, eax; xor ecx, ecx; sti; cpuid; in al, 0x10; hlt */
		0x31, 0xc0, 0x31, 0xc9, 0xfb, 0x0f, 0xa2, 0xe4, 0x10, 0xf4,
	};
#undef CPUID_STORE
	struct kvm_vcpu_events ev;
	struct kvm_regs r;
	struct tguest g;
	uint32_t s[5];

	if (tg_create(t, &g) < 0)
		return;
	ig_set_cpuid(t, &g, g.vcpu);
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	CHECK_EQ(g.run->io.direction, KVM_EXIT_IO_IN);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
	t_printf(t, "at the IN after sti; cpuid: shadow=%u", ev.interrupt.shadow);
	CHECK_EQ(ev.interrupt.shadow, 0);
	memcpy(s, g.mem + DATA, sizeof(s));
	/* Note, the values are the backend's (KVM_GET_SUPPORTED_CPUID): not in the transcript. */
	CHECK(s[0] != s[2], "leaf 0 and leaf 1 gave the same EAX");
	CHECK_EQ(s[1], s[0]);
	CHECK_EQ(s[3], s[2]);
	CHECK_EQ(s[4], s[0]);
	CHECK_EQ(tg_run(t, &g), 0);
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_HLT);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	CHECK_EQ(r.rip, CODE + 5 * 14 + 10);	/* past the HLT */
	tg_destroy(&g);
}

/*
 * An OUT traced by RFLAGS.TF: its completion at the next KVM_RUN retires
 * it and queues the #DB (kvm_vcpu_do_singlestep()), which that same entry
 * must deliver: the guest's handler reports vector 1 (OUT 0xe0, error
 * code OUT 0xe4), then HLTs.  The completion comes after a run that left
 * the vCPU plain (kvm_vcpu_resume_plain()).  Fails if that entry skipped
 * the injection because no event was pending before the completion.
 * Note, this host's PVM KVM delivers the #DB one instruction late (after
 * the HLT that follows the OUT: an extra KVM_EXIT_HLT first); VMX KVM
 * delivers it at the completion, as here (CHECK_SOFT, the exits recorded
 * as a known difference).
 */
KVM_CASE(runpath_tf_out_completion)
{
	/* pushfq; orq $0x100, (%rsp); popfq; out %al, $0x10; hlt; (RESUME:) hlt */
	static const unsigned char code[] = {
		0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0xe6, 0x10, 0xf4, 0xf4,
	};
	uint64_t resume = CODE + sizeof(code) - 1;
	char seq[128] = "";
	struct tguest g;
	size_t n = 0;

	if (tg_create(t, &g) < 0)
		return;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	memcpy(g.mem + RESUME, &resume, sizeof(resume));
	CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	/* The rest off the transcript (it differs on PVM, see above): up to the guest's HLT. */
	for (int i = 0; i < 5 && n + 16 < sizeof(seq); i++) {
		if (t->be->ioctl(g.vcpu, KVM_RUN, 0) < 0) {
			n += snprintf(seq + n, sizeof(seq) - n, " err");
			break;
		}
		if (g.run->exit_reason == KVM_EXIT_HLT) {
			n += snprintf(seq + n, sizeof(seq) - n, " hlt");
			if (i)
				break;
			continue;
		}
		if (g.run->exit_reason != KVM_EXIT_IO) {
			n += snprintf(seq + n, sizeof(seq) - n, " exit%u", g.run->exit_reason);
			break;
		}
		n += snprintf(seq + n, sizeof(seq) - n, " io%#x=%u", g.run->io.port,
			      *(uint32_t *)((uint8_t *)g.run + g.run->io.data_offset));
	}
	t_differs(t, "PVM delivers the #DB of a traced OUT after the next instruction");
	t_printf(t, "exits after the traced OUT:%s", seq);
	CHECK_SOFT(t, !strcmp(seq, " io0xe0=1 io0xe4=0 hlt"), "exits:%s", seq);
	tg_destroy(&g);
}

/*
 * OUT and IN in an STI shadow, each completed by a KVM_RUN that follows a
 * run which left the vCPU plain (kvm_vcpu_resume_plain(), whose PIO
 * completion skips by RIP alone when the exit found nothing else to do,
 * cui_next_rip): the completion's retirement ends the shadow, so at the
 * next IN/OUT exit (which leaves RIP on that instruction) the shadow is
 * over (KVM_GET_VCPU_EVENTS).  sti; out 0x10; in 0x11; sti; in 0x12;
 * out 0x13 (the IN's byte).  Fails if the short completion were taken
 * with STI blocking in force (the VMCS would still hold it at the entry
 * and at the next exit).
 */
KVM_CASE(runpath_sti_pio_completion)
{
	static const unsigned char code[] = {
		0xfb, 0xe6, 0x10, 0xe4, 0x11, 0xfb, 0xe4, 0x12, 0xe6, 0x13, 0xf4,
	};
	struct kvm_vcpu_events ev;
	struct tguest g;
	uint8_t *data;

	if (tg_create(t, &g) < 0)
		return;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	CHECK_EQ(tg_run_to_port(t, &g, 0x11), 0);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
	t_printf(t, "at the IN after sti; out: shadow=%u", ev.interrupt.shadow);
	CHECK_EQ(ev.interrupt.shadow, 0);
	CHECK_EQ(tg_run_to_port(t, &g, 0x12), 0);
	data = (uint8_t *)g.run + g.run->io.data_offset;
	*data = 0x5a;
	CHECK_EQ(tg_run_to_port(t, &g, 0x13), 0);
	data = (uint8_t *)g.run + g.run->io.data_offset;
	CHECK_EQ(*data, 0x5a);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_VCPU_EVENTS, &ev));
	t_printf(t, "at the OUT after sti; in: shadow=%u", ev.interrupt.shadow);
	CHECK_EQ(ev.interrupt.shadow, 0);
	tg_destroy(&g);
}

/*
 * An IN's completion takes its size and its data from the exit itself (the
 * PIO page, KVM's vcpu->arch.pio), not from what userspace writes into
 * kvm_run->io meanwhile: a byte IN whose io.size userspace changes to 4
 * and io.data_offset to 0 still merges one byte, from the PIO page, into
 * EAX.  mov eax, 0x11223344; in al, 0x10; mov [DATA], eax; out 0x11, al.
 * Then a 16-bit IN (in ax, 0x12; mov [DATA + 4], eax; out 0x13, al) with
 * the same change.  Fails if the completion read kvm_run->io.size or
 * io.data_offset.
 */
KVM_CASE(runpath_in_completion_kvm_run_changed)
{
	static const unsigned char code[] = {
		0xb8, 0x44, 0x33, 0x22, 0x11, 0xe4, 0x10, 0xa3, 0x00, 0x00, 0x01, 0x00, 0xe6, 0x11,
		0x66, 0xe5, 0x12, 0xa3, 0x04, 0x00, 0x01, 0x00, 0xe6, 0x13, 0xf4,
	};
	struct tguest g;
	uint8_t *page;
	uint32_t v[2];

	if (tg_create(t, &g) < 0)
		return;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	CHECK_EQ(g.run->io.size, 1);
	page = (uint8_t *)g.run + g.run->io.data_offset;
	memcpy(page, "\x5a\xa5\x77\x88", 4);
	g.run->io.size = 4;
	g.run->io.data_offset = 0;
	CHECK_EQ(tg_run_to_port(t, &g, 0x11), 0);
	CHECK_EQ(tg_run_to_port(t, &g, 0x12), 0);
	CHECK_EQ(g.run->io.size, 2);
	page = (uint8_t *)g.run + g.run->io.data_offset;
	memcpy(page, "\x66\x99\x55\x44", 4);
	g.run->io.size = 4;
	g.run->io.data_offset = 0;
	CHECK_EQ(tg_run_to_port(t, &g, 0x13), 0);
	memcpy(v, g.mem + DATA, sizeof(v));
	t_printf(t, "eax after the byte IN %#x, after the word IN %#x", v[0], v[1]);
	CHECK_EQ(v[0], 0x1122335a);
	CHECK_EQ(v[1], 0x11229966);
	tg_destroy(&g);
}

/*
 * KVM_SET_GUEST_DEBUG (single-step) between an OUT's exit and its
 * completion: the OUT exited with no stepping in force, so the exit found
 * its completion to be a plain RIP update (cui_next_rip); the ioctl
 * between must make the completion the full one, whose retirement under
 * KVM_GUESTDBG_SINGLESTEP ends in KVM_EXIT_DEBUG right after the OUT
 * (KVM's kvm_skip_emulated_instruction()), before the NOP runs.
 * out 0x10, al; nop; hlt.  Fails if the completion or the entry after it
 * used what the exit decided without looking at the ioctl.  Note, this
 * host's PVM KVM reports the step after the NOP (pc one instruction
 * later); VMX KVM at the completion, as here (CHECK_SOFT, recorded as a
 * known difference).
 */
KVM_CASE(runpath_guest_debug_after_out)
{
	static const unsigned char code[] = { 0xe6, 0x10, 0x90, 0xf4 };
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	memcpy(g.mem + CODE, code, sizeof(code));
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_RUN, 0));
	t_printf(t, "after the OUT: exit %s", tg_exit_name(g.run->exit_reason));
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_DEBUG);
	t_differs(t, "PVM reports the step of a completed OUT after the next instruction");
	t_printf(t, "pc=%#llx", (unsigned long long)g.run->debug.arch.pc);
	CHECK_SOFT(t, g.run->debug.arch.pc == CODE + 2, "pc %#llx",
		   (unsigned long long)g.run->debug.arch.pc);
	dbg.control = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_GUEST_DEBUG, &dbg));
	tg_destroy(&g);
}

/*
 * Instructions that end at 4 GiB in 32-bit code: RIP wraps to 0 as they
 * retire (SDM: outside 64-bit mode the instruction pointer is 32 bits),
 * on each of the paths that retire one cheaply: the OUT completed at the
 * next KVM_RUN (the skip the exit decides, cui_next_rip), the first CPUID
 * of a run (the CPUID fastpath) and a CPUID retired in place after it.
 * A page at GPA 0xfffff000 (slot 1) holds @code, ending at 4 GiB; GPA 0
 * the OUT to port 0x11 the wrap lands on.  A VM for each, so that each
 * starts from nothing decoded.  Fails if a fast path advanced RIP to 1 << 32
 * (the VM entry then fails) or anywhere but 0.
 */
static void rip_wrap_case(struct tctx *t, const unsigned char *code, size_t len, bool out_first)
{
	struct kvm_userspace_memory_region mr = { .slot = 1, .guest_phys_addr = 0xfffff000ull,
						  .memory_size = 0x1000 };
	struct kvm_regs r;
	struct tguest g;
	unsigned char *top;

	if (tg_create(t, &g) < 0)
		return;
	top = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(top != MAP_FAILED, "mmap");
	if (top == MAP_FAILED) {
		tg_destroy(&g);
		return;
	}
	mr.userspace_addr = (uintptr_t)top;
	CHECK_OK(t, IOC(t, g.vm, KVM_SET_USER_MEMORY_REGION, &mr));
	ig_set_cpuid(t, &g, g.vcpu);
	memcpy(g.mem, "\x31\xc0\xe6\x11\xf4", 5);	/* at 0: xor eax, eax; out 0x11, al; hlt */
	memcpy(top + 0x1000 - len, code, len);
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_REGS, &r));
	r.rip = 0x100000000ull - len;
	r.rax = r.rcx = 0;
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_REGS, &r));
	if (out_first) {
		CHECK_EQ(tg_run_to_port(t, &g, 0x10), 0);
	}
	CHECK_EQ(tg_run_to_port(t, &g, 0x11), 0);
	tg_destroy(&g);
	munmap(top, 0x1000);
}

KVM_CASE(runpath_rip_wraps_at_4g)
{
	/* xor eax, eax; xor ecx, ecx; cpuid; xor eax, eax; xor ecx, ecx; cpuid (at 0xfffffffe) */
	static const unsigned char cpuids[] = {
		0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2, 0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2,
	};

	rip_wrap_case(t, (const unsigned char *)"\xe6\x10", 2, true);	/* out 0x10, al */
	rip_wrap_case(t, (const unsigned char *)"\x0f\xa2", 2, false);	/* cpuid */
	rip_wrap_case(t, cpuids, sizeof(cpuids), false);
}

/*
 * An exit that queues an exception and ends KVM_RUN: a vCPU with no memory
 * fetches its first instruction (0xfffffff0) from no memslot, which the
 * emulator cannot, and KVM queues #UD and reports the emulation failure
 * (handle_emulation_failure() at CPL 0).  The KVM_RUNs that follow, back
 * to back with no other ioctl between them, inject that #UD first, as
 * VMX KVM's vcpu_enter_guest() does: its delivery reads the real-mode IVT
 * at GPA 0, in no memslot either (the second run: an EPT violation, the
 * emulator fails again; on the VM's later vCPUs that access finds the
 * MMIO entry the first one's made), and the third run reports the event being
 * delivered (KVM_INTERNAL_ERROR_DELIVERY_EV, vectoring information
 * 0x80000306: a valid hardware exception, #UD).  Each run is one VM exit,
 * but for the host tick's (kvm_main.c: an EXTERNAL_INTERRUPT exit every
 * millisecond in guest mode, as a real host's timer interrupt) in the odd
 * run that meets one.  Eight vCPUs do it each.  Fails if the second
 * KVM_RUN resumed "plainly" (nothing to inject, which only an ioctl
 * between runs used to re-check): its entry then has to be left at once
 * for the injection, an EXTERNAL_INTERRUPT exit more than KVM's on each
 * vCPU (and debug builds abort, which is how a threaded test of the fd
 * layer found it once in a few hundred runs).
 */
#define QUEUED_VCPUS 8
KVM_CASE(runpath_exception_queued_by_exit)
{
	static const char *why = "this host's PVM KVM refuses KVM_RUN of a vCPU without memory (ENOSPC)";
	int sys, vm, vcpu[QUEUED_VCPUS], bad = 0, made = 0;
	struct kvm_run *run[QUEUED_VCPUS];
	unsigned int sub[3] = { 0 };
	unsigned long long info = 0;
	long long exits = 0, ext = 0;
	struct kvm_vcpu_events ev;
	long size, fails = 0;

	sys = t_open_sys(t);
	vm = t_create_vm(t, sys);
	size = IOC(t, sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (made = 0; made < QUEUED_VCPUS; made++) {
		vcpu[made] = (int)t->be->ioctl(vm, KVM_CREATE_VCPU, made);
		if (vcpu[made] < 0)
			break;
		run[made] = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu[made], 0);
		if (run[made] == MAP_FAILED) {
			close(vcpu[made]);
			break;
		}
	}
	CHECK(made == QUEUED_VCPUS && size > 0, "%d vCPUs made and mapped, mmap size %ld", made, size);
	/* t->be->ioctl, not IOC(): no transcript line per run */
	for (int v = 0; v < made; v++) {
		for (int i = 0; i < 3; i++) {
			if (t->be->ioctl(vcpu[v], KVM_RUN, 0) != 0)
				fails++;
			sub[i] = run[v]->exit_reason == KVM_EXIT_INTERNAL_ERROR ? run[v]->internal.suberror : ~0u;
			if (i == 2)
				info = sub[i] == KVM_INTERNAL_ERROR_DELIVERY_EV ? run[v]->internal.data[0] : 0;
		}
		/* after vCPU 0 the VM's EPT has the IVT's MMIO entry: delivery fails at once */
		if (sub[0] != KVM_INTERNAL_ERROR_EMULATION ||
		    sub[1] != (v ? KVM_INTERNAL_ERROR_DELIVERY_EV : KVM_INTERNAL_ERROR_EMULATION) ||
		    sub[2] != KVM_INTERNAL_ERROR_DELIVERY_EV || info != 0x80000306)
			bad++;
		if (t->be->soft) {
			long long e = t_vcpu_stat(t, vcpu[v], "exits");
			long long x = t_vcpu_stat(t, vcpu[v], "exit_EXTERNAL_INTERRUPT");

			exits += e - x;
			ext += x;
		}
	}
	t_differs(t, why);
	t_printf(t, "%d vCPUs, 3 runs each: %ld failed; the last's suberrors %u %u %u, vectoring %#llx; %d unexpected",
		 made, fails, sub[0], sub[1], sub[2], info, bad);
	CHECK_SOFT(t, fails == 0 && bad == 0,
		   "%ld KVM_RUNs failed, %d vCPUs' exits not as expected (the last's: %u %u %u, %#llx)",
		   fails, bad, sub[0], sub[1], sub[2], info);
	/* a tick in one or two of these microsecond runs at most; a plain resume is on every vCPU */
	CHECK_SOFT(t, exits == 3 * made && ext <= 2,
		   "%lld exits but EXTERNAL_INTERRUPT ones, %lld of those (%d vCPUs, 3 runs each)",
		   exits, ext, made);
	if (made > 0) {
		/* the #UD is queued again, as KVM_GET_VCPU_EVENTS shows */
		CHECK_OK(t, IOC(t, vcpu[0], KVM_GET_VCPU_EVENTS, &ev));
		t_differs(t, why);
		t_printf(t, "exception: injected %u pending %u nr %u", ev.exception.injected,
			 ev.exception.pending, ev.exception.nr);
		CHECK_SOFT(t, ev.exception.injected && ev.exception.nr == 6,
			   "exception injected %u nr %u", ev.exception.injected, ev.exception.nr);
	}
	for (int v = 0; v < made; v++) {
		munmap(run[v], (size_t)size);
		close(vcpu[v]);
	}
	close(vm);
	close(sys);
}
