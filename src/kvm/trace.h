/* SPDX-License-Identifier: MIT */
/*
 * Trace points with KVM's names (arch/x86/kvm/trace.h): kvm_entry,
 * kvm_exit, kvm_pio, kvm_mmio, kvm_page_fault, kvm_emulate_insn,
 * kvm_cpuid, kvm_msr, kvm_inj_virq, and the fd layer's ioctl/shim lines.
 *
 * USERKVM_TRACE=1 logs ioctls and the shim's calls (as before);
 * USERKVM_TRACE=all logs everything; USERKVM_TRACE=kvm_exit,kvm_pio picks
 * events.  Lines go to stderr, one write(2) each.  A disabled trace point
 * costs one load and a predicted branch.
 */
#ifndef USERKVM_KVM_TRACE_H
#define USERKVM_KVM_TRACE_H

#include "util/types.h"

enum kvm_trace_event {
	TRACE_IOCTL,
	TRACE_KVM_ENTRY,
	TRACE_KVM_EXIT,
	TRACE_KVM_PIO,
	TRACE_KVM_MMIO,
	TRACE_KVM_PAGE_FAULT,
	TRACE_KVM_EMULATE_INSN,
	TRACE_KVM_CPUID,
	TRACE_KVM_MSR,
	TRACE_KVM_INJ_VIRQ,
	TRACE_NR_EVENTS
};

/*
 * Hidden: the library's own (-fvisibility=hidden covers definitions only),
 * so a test of it is one RIP-relative instruction, not a GOT load first.
 */
extern unsigned int kvm_trace_mask __attribute__((visibility("hidden")));
void userkvm_tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define kvm_trace_on(ev) unlikely(kvm_trace_mask & (1u << (ev)))
#define kvm_trace_event(ev, ...) \
	do { if (kvm_trace_on(ev)) userkvm_tracef(__VA_ARGS__); } while (0)

#define trace_kvm_entry(vcpu_id, rip) \
	kvm_trace_event(TRACE_KVM_ENTRY, "kvm_entry: vcpu %d, rip 0x%llx", (vcpu_id), \
			(unsigned long long)(rip))
#define trace_kvm_exit(vcpu_id, reason, rip, info1, info2) \
	kvm_trace_event(TRACE_KVM_EXIT, "kvm_exit: vcpu %d reason %s rip 0x%llx info1 0x%016llx info2 0x%08x", \
			(vcpu_id), kvm_exit_reason_name(reason), (unsigned long long)(rip), \
			(unsigned long long)(info1), (unsigned)(info2))
#define trace_kvm_pio(write, port, size, count, val) \
	kvm_trace_event(TRACE_KVM_PIO, "kvm_pio: pio_%s at 0x%x size %d count %u val 0x%x", \
			(write) ? "write" : "read", (port), (size), (count), (unsigned)(val))
/* kvm_mmio's types, as KVM's KVM_TRACE_MMIO_* */
#define KVM_TRACE_MMIO_READ_UNSATISFIED 0
#define KVM_TRACE_MMIO_READ 1
#define KVM_TRACE_MMIO_WRITE 2
#define trace_kvm_mmio(type, len, gpa, val) \
	kvm_trace_event(TRACE_KVM_MMIO, "kvm_mmio: mmio %s len %u gpa 0x%llx val 0x%llx", \
			(type) == KVM_TRACE_MMIO_WRITE ? "write" : \
			(type) == KVM_TRACE_MMIO_READ ? "read" : "unsatisfied-read", \
			(unsigned)(len), (unsigned long long)(gpa), (unsigned long long)(val))
#define trace_kvm_page_fault(vcpu_id, rip, gpa, ec) \
	kvm_trace_event(TRACE_KVM_PAGE_FAULT, "kvm_page_fault: vcpu %d rip 0x%llx address 0x%llx error_code 0x%x", \
			(vcpu_id), (unsigned long long)(rip), (unsigned long long)(gpa), (unsigned)(ec))
#define trace_kvm_emulate_insn(rip, len, bytes_hex, failed) \
	kvm_trace_event(TRACE_KVM_EMULATE_INSN, "kvm_emulate_insn: 0x%llx:%s%s", \
			(unsigned long long)(rip), (bytes_hex), (failed) ? " FAIL" : "")
#define trace_kvm_cpuid(fn, idx, a, b, c, d) \
	kvm_trace_event(TRACE_KVM_CPUID, "kvm_cpuid: func %x idx %x rax %x rbx %x rcx %x rdx %x", \
			(fn), (idx), (a), (b), (c), (d))
#define trace_kvm_msr(write, msr, data, fail) \
	kvm_trace_event(TRACE_KVM_MSR, "kvm_msr: msr_%s %x = 0x%llx%s", (write) ? "write" : "read", \
			(msr), (unsigned long long)(data), (fail) ? " (#GP)" : "")
#define trace_kvm_inj_virq(vec) \
	kvm_trace_event(TRACE_KVM_INJ_VIRQ, "kvm_inj_virq: IRQ 0x%x", (vec))

const char *kvm_exit_reason_name(u32 reason);

#endif
