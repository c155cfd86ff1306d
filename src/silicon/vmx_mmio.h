/* SPDX-License-Identifier: MIT */
/*
 * vmx_mmio.h: the processor's side of MMIO in VMX non-root operation
 * (vmx_mmio.c): the EPT-misconfiguration exit a cached MMIO translation
 * takes (tlb.c's MMIO TLB).
 */
#ifndef SILICON_VMX_MMIO_H
#define SILICON_VMX_MMIO_H

#include "silicon/cpu.h"

/*
 * vmx_cur_insn_len() - the length of the instruction the core is executing
 * (the one at RIP in the current block), 0 if not known: the VM-exit
 * instruction length of an EPT misconfiguration.
 */
u32 vmx_cur_insn_len(const struct cpu *c);

/*
 * vmx_ept_misconfig_exit() - the access at guest-physical @gpa of the
 * current instruction meets a misconfigured EPT entry: VM exit.  No
 * return, except for the store of a MOV (@store: the access is a write,
 * not the read of a read-modify-write) when the exit was taken in place
 * and VMRESUME went on after the instruction: then true, and the host has
 * done the instruction (the caller drops the store).
 */
bool vmx_ept_misconfig_exit(struct cpu *c, u64 gpa, bool store);
/*
 * vmx_ept_misconfig_exit() of the data write of an instruction, @size
 * bytes of @val: if the instruction is a MOV store, the exit reports the
 * store (VMX_EPT_MISCONFIG_STORE, vmx_api.h).
 */
bool vmx_ept_misconfig_exit_store(struct cpu *c, u64 gpa, int size, u64 val);
/*
 * vmx_ept_misconfig_exit() of the data read of @size bytes of an
 * instruction: if the instruction is a MOV, MOVZX or MOVSX into a general
 * register, the exit reports the load (VMX_EPT_MISCONFIG_LOAD, vmx_api.h)
 * and may be taken in place, as a MOV store's: then true, the host has
 * done the instruction, and *@val is the value to give its handler (which
 * writes the register with it again).  Else no return.
 */
bool vmx_ept_misconfig_exit_load(struct cpu *c, u64 gpa, int size, u64 *val);

#endif
