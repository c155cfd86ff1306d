// SPDX-License-Identifier: MIT
/*
 * The debug-exit port at 0xf4, as QEMU's isa-debug-exit: a write of V ends
 * the run with exit status (V << 1) | 1.  kvm-unit-tests report through it.
 */
#include "vmm/vmm.h"

#define DEBUG_EXIT_PORT 0xf4

static void debug_exit__io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vmm *vmm = opaque;
	uint32_t v = 0;

	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0xff;
		return;
	}
	for (uint32_t i = 0; i < len && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	vmm__stop(vmm, (int)(((v << 1) | 1) & 0xff));
}

void debug_exit__init(struct vmm *vmm)
{
	if (vmm__register_pio(DEBUG_EXIT_PORT, 4, debug_exit__io, vmm) < 0)
		die("cannot register the debug-exit port");
}
