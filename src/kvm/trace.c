// SPDX-License-Identifier: MIT
/* USERKVM_TRACE parsing and the exit-reason names of kvm_exit lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm_host.h"
#include "kvm/trace.h"

unsigned int kvm_trace_mask;

static const char *const event_names[TRACE_NR_EVENTS] = {
	[TRACE_IOCTL] = "ioctl", [TRACE_KVM_ENTRY] = "kvm_entry", [TRACE_KVM_EXIT] = "kvm_exit",
	[TRACE_KVM_PIO] = "kvm_pio", [TRACE_KVM_MMIO] = "kvm_mmio",
	[TRACE_KVM_PAGE_FAULT] = "kvm_page_fault", [TRACE_KVM_EMULATE_INSN] = "kvm_emulate_insn",
	[TRACE_KVM_CPUID] = "kvm_cpuid", [TRACE_KVM_MSR] = "kvm_msr",
	[TRACE_KVM_INJ_VIRQ] = "kvm_inj_virq",
};

/* Called from the fd layer's constructor with $USERKVM_TRACE. */
void kvm_trace_init(const char *spec)
{
	char *copy, *save = NULL;

	kvm_trace_mask = 0;
	if (!spec || !*spec || !strcmp(spec, "0"))
		return;
	if (!strcmp(spec, "1")) {
		kvm_trace_mask = 1u << TRACE_IOCTL;
		return;
	}
	if (!strcmp(spec, "all")) {
		kvm_trace_mask = (1u << TRACE_NR_EVENTS) - 1;
		return;
	}
	copy = strdup(spec);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		for (int i = 0; i < TRACE_NR_EVENTS; i++)
			if (!strcmp(tok, event_names[i]))
				kvm_trace_mask |= 1u << i;
	free(copy);
}

const char *kvm_exit_reason_name(u32 reason)
{
	static __thread char buf[24];
	u16 basic = (u16)reason;

	if (reason & 0x80000000u) {
		snprintf(buf, sizeof(buf), "FAILED_ENTRY_%u", basic);
		return buf;
	}
	if (basic < KVM_STAT_EXIT_REASONS && vmx_exit_reason_names[basic])
		return vmx_exit_reason_names[basic];
	snprintf(buf, sizeof(buf), "%u", basic);
	return buf;
}
