// SPDX-License-Identifier: MIT
/*
 * vmx_code.c: vmx_op_code_sync() (vmx_api.h), the VMM's "I may have
 * written guest memory" before a VM entry; the work is icache.c's
 * (cpu_code_sync(), inline here: one call per KVM_RUN).
 */
#include "silicon/cpu.h"
#include "silicon/vmx_api.h"
#include "silicon/vmx_cpu.h"

void vmx_op_code_sync(void)
{
	/* vmx_this_cpu() without a call (vmx_run.c this_cpu_inline()) */
	struct vmx_vmcs_port *p = vmx_this_port;
	struct cpu *c;

	if (!p)
		return;
	c = ((struct vmx_cpu *)((char *)p - offsetof(struct vmx_cpu, port)))->cpu;
	if (c)
		cpu_code_sync(c);
}
