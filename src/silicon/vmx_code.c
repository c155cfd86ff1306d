// SPDX-License-Identifier: MIT
/*
 * vmx_code.c: vmx_op_code_sync() (vmx_api.h), the VMM's "I may have
 * written guest memory" before a VM entry; the work is icache.c's.
 */
#include "silicon/cpu.h"
#include "silicon/vmx_api.h"
#include "silicon/vmx_cpu.h"

void vmx_op_code_sync(void)
{
	struct vmx_cpu *v = vmx_this_cpu();

	if (v && v->cpu)
		cpu_code_sync(v->cpu);
}
