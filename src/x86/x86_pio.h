// SPDX-License-Identifier: MIT
/*
 * The PIO exit to userspace (x86.c's kvm_fast_pio()), inline for the
 * vendor's fastpath: vmx_exit_handlers_fastpath() fills kvm_run->io and the
 * completion without a call into x86.c, as KVM's RETPOLINE builds call hot
 * handlers directly.  Needs struct kvm (kvm_host.h), hence not in x86.h.
 */
#ifndef USERKVM_X86_PIO_H
#define USERKVM_X86_PIO_H

#include <stdlib.h>
#include <string.h>
#include "kvm/kvm_host.h"
#include "kvm/trace.h"

/* The completions recorded for a PIO exit (x86.c). */
int complete_fast_pio_in(struct kvm_vcpu *vcpu);
int complete_fast_pio_out(struct kvm_vcpu *vcpu);
/* The rare ends of kvm_fast_pio_user(), out of line (x86.c). */
int kvm_fast_pio_out_traced(u16 port, int size, u32 data);
int kvm_fast_pio_out_7e(struct kvm_vcpu *vcpu, int size, u32 data);

/*
 * An empty bus (no in-kernel PIC or PIT, no ioeventfd ever registered: the
 * usual VM of a VMM with its own devices) is three loads, no call: KVM's
 * kvm_io_bus_write() likewise finds nothing on an empty bus.
 */
static __always_inline bool kernel_pio_possible(struct kvm *kvm, bool write)
{
	/*
	 * Note, no test of the PIT: KVM_CREATE_PIT2 needs the in-kernel
	 * irqchip (-ENOENT), whose PIC stays until the VM goes, so a PIT
	 * implies a PIC (debug builds check).
	 */
#ifdef USERKVM_DEBUG
	if (kvm->arch.vpit && !kvm->arch.vpic)
		abort();
#endif
	return kvm->arch.vpic || (write && __atomic_load_n(&kvm->ioeventfds, __ATOMIC_ACQUIRE));
}

/* Copy @size (1, 2 or 4) bytes: inline moves instead of a memcpy() call. */
static __always_inline void pio_copy(u8 *dst, const void *src, int size)
{
	switch (size) {
	case 1: memcpy(dst, src, 1); break;
	case 2: memcpy(dst, src, 2); break;
	default: memcpy(dst, src, 4); break;
	}
}

/*
 * The exit to userspace of kvm_fast_pio().  @data: an OUT's bytes (zero-
 * extended), unused for an IN.  @next_rip: the completion's skip of the
 * instruction, if the vendor found it to be only that (cui_next_rip),
 * else 0.
 */
static __always_inline int kvm_fast_pio_user(struct kvm_vcpu *vcpu, int size, u16 port, int in,
					     u32 data, u64 next_rip)
{
	struct kvm_run *run = vcpu->run;
	u8 *page = (u8 *)run + KVM_PIO_PAGE_OFFSET * PAGE_SIZE;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = 1;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	if (in) {
		pio_copy(page, &(u32){ 0 }, size);
		vcpu->arch.cui_linear_rip_saved = false;
		vcpu->arch.complete_userspace_io = complete_fast_pio_in;
		vcpu->arch.cui_next_rip = next_rip;
		vcpu->arch.pio_in_keep = size == 1 ? ~0xffull : size == 2 ? ~0xffffull : 0;
		return 0;
	}
	pio_copy(page, &data, size);
	if (unlikely(port == 0x7e))
		return kvm_fast_pio_out_7e(vcpu, size, data);
	vcpu->arch.cui_linear_rip_saved = false;
	vcpu->arch.complete_userspace_io = complete_fast_pio_out;
	vcpu->arch.cui_next_rip = next_rip;
	if (kvm_trace_on(TRACE_KVM_PIO))
		return kvm_fast_pio_out_traced(port, size, data);
	return 0;
}

/*
 * kvm_fast_pio() from the vendor's fastpath (vmx_exit_handlers_fastpath()),
 * for a port no in-kernel device can claim: the exit to userspace (0).
 * Else 1, nothing done: handle_exit() then runs kvm_fast_pio(), after the
 * vCPU left guest mode, since a device's write may kick vCPUs.
 */
static __always_inline int kvm_fast_pio_fastpath(struct kvm_vcpu *vcpu, int size, u16 port, int in,
						 u64 next_rip)
{
	u64 rax = vcpu->arch.regs[VCPU_REGS_RAX];

	if (unlikely(kernel_pio_possible(vcpu->kvm, !in)))
		return 1;
	return kvm_fast_pio_user(vcpu, size, port, in,
				 size == 1 ? (u8)rax : size == 2 ? (u16)rax : (u32)rax, next_rip);
}

#endif
