/* SPDX-License-Identifier: MIT */
/*
 * VMX non-root exit decisions (intercept.c), used by the hooks the
 * execution core's instructions call.
 */
#ifndef SILICON_INTERCEPT_VMX_H
#define SILICON_INTERCEPT_VMX_H

#include "silicon/vmx_cpu.h"

bool vmx_io_exits(const struct vmx_ctls *c, u16 port, int size);
bool vmx_msr_exits(const struct vmx_ctls *c, u32 msr, bool write);
bool vmx_exception_exits(const struct vmx_ctls *c, int vector, u32 error_code);
u64 vmx_cr0_read(const struct vmx_ctls *c, u64 cr0);
u64 vmx_cr4_read(const struct vmx_ctls *c, u64 cr4);
bool vmx_cr0_write_exits(const struct vmx_ctls *c, u64 val);
bool vmx_cr4_write_exits(const struct vmx_ctls *c, u64 val);
bool vmx_clts_exits(const struct vmx_ctls *c);
bool vmx_lmsw_exits(const struct vmx_ctls *c, u16 src);
bool vmx_cr3_write_exits(const struct vmx_ctls *c, u64 val);
u64 vmx_guest_tsc(const struct vmx_ctls *c, u64 host_tsc);
u64 vmx_io_qual(u16 port, int size, bool in, bool string, bool rep, bool imm);

#endif
