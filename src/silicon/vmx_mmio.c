// SPDX-License-Identifier: MIT
/*
 * vmx_mmio.c: MMIO in VMX non-root operation.
 *
 * The EPT-misconfiguration exit of an access whose translation the MMIO
 * TLB holds (tlb.c): the same exit information vmx_ept_xlate() gives for
 * a misconfiguration found by the walk (SDM 28.2.1: the exit
 * qualification is undefined, here 0; the guest-physical address field is
 * the address accessed; no guest-linear address).
 *
 * The VM-exit instruction length is that of the instruction whose access
 * met the entry, as Intel processors save it for EPT misconfigurations
 * (the SDM leaves the field undefined there; KVM's fast MMIO path,
 * handle_ept_misconfig() -> kvm_skip_emulated_instruction(), relies on
 * it on bare metal).
 */
#include "silicon/vmx_mmio.h"
#include "silicon/intercept_vmx.h"
#include "silicon/vmx_cpu.h"

/* The instruction at RIP in the current block, NULL if not known. */
static const struct insn *cur_insn(const struct cpu *c)
{
	const struct block *b = c->cur_block;

	if (!b)
		return NULL;
	for (int k = 0; k < b->n; k++)
		if (c->blk_base + b->insn[k].off == c->s.rip)
			return &b->insn[k];
	return NULL;
}

u32 vmx_cur_insn_len(const struct cpu *c)
{
	const struct insn *i = cur_insn(c);

	return i ? i->len : 0;
}

/*
 * @i, of @b, is a MOV to memory (88/89, C6/C7 /0) run by its own handler
 * (not the first of a fused pair): its one write is all it does, so once
 * the host has emulated it, nothing of the handler remains to be done
 * after that write.
 */
static __always_inline bool insn_is_mov_store(const struct block *b, const struct insn *i)
{
	if (i->map != 0 || !(i->flags & IF_MEM) || (b->fused && i == &b->insn[b->n - 2]))
		return false;
	switch (i->op) {
	case 0x88: case 0x89:
		return true;
	case 0xc6: case 0xc7:
		return !((i->modrm >> 3) & 7);
	}
	return false;
}

/*
 * @i, a load of @size bytes from memory: the VMX_EPT_MISCONFIG_LOAD
 * information if it is a MOV, MOVZX or MOVSX into a general register (its
 * one read and the register write are all it does), else 0.
 */
static u32 insn_load_info(const struct insn *i, int size)
{
	u32 info, reg;
	int dsz;

	if (!(i->flags & IF_MEM))
		return 0;
	if (i->map == 0 && (i->op == 0x8a || i->op == 0x8b)) {
		dsz = i->osz;
		if ((1 << dsz) != size)
			return 0;
		info = 0;
	} else if (i->map == 1 && (i->op == 0xb6 || i->op == 0xb7 || i->op == 0xbe || i->op == 0xbf)) {
		if (size != ((i->op & 1) ? 2 : 1) || i->osz == SZ8)
			return 0;
		dsz = i->osz;
		info = i->op >= 0xbe ? VMX_EPT_MISCONFIG_LOAD_SX : 0;
	} else {
		return 0;
	}
	reg = i->reg;
	if (dsz == SZ8) {	/* regb: the byte offset in the GPR array (AH-BH: 8 * (r - 4) + 1) */
		reg = i->regb >> 3;
		if (i->regb & 1)
			info |= VMX_EPT_MISCONFIG_LOAD_HIGH;
	}
	return info | VMX_EPT_MISCONFIG_LOAD | (u32)size | reg << 4 | (u32)dsz << 9;
}

/*
 * What the load of a MOV, MOVZX or MOVSX (@info: insn_load_info()) would
 * have read to leave its register as it is: the handler of a load whose
 * exit is parked writes the register with it, before the host runs.
 */
static u64 load_value(const struct cpu *c, u32 info)
{
	u64 v = c->s.gpr[VMX_EPT_MISCONFIG_LOAD_REG(info)];
	unsigned int bytes = info & 0xf;

	if (info & VMX_EPT_MISCONFIG_LOAD_HIGH)
		v >>= 8;
	return bytes < 8 ? v & ((1ull << (8 * bytes)) - 1) : v;
}

static __always_inline bool __vmx_ept_misconfig_exit(struct cpu *c, u64 gpa, bool store,
						     int store_size, u64 store_val, int load_size,
						     u64 *load_val)
{
	struct vmx_cpu *v = c->vmx;
	const struct block *b = c->cur_block;
	const struct insn *i;
	bool mov_store;
	u64 qual = 0;
	u32 info = 0;

	/*
	 * A driver's store that exits again and again ends the segment of
	 * its block that the run dispatched (cut there at its first exit,
	 * below: icache_cut_after()), or the block: found without the search.
	 */
	if (likely(b) && c->run_end > b->insn && c->run_end <= b->insn + b->n &&
	    (i = c->run_end - 1, c->blk_base + i->off == c->s.rip)) {
		mov_store = store && b->cached && insn_is_mov_store(b, i);
	} else {
		i = cur_insn(c);
		mov_store = store && i && b->cached && insn_is_mov_store(b, i);
	}

	c->xlate_ctx = XLATE_NONE;
	/*
	 * The store of a MOV, all that instruction does (insn_is_mov_store()),
	 * reported in fields the SDM leaves undefined for this exit (28.2.1;
	 * VMX_EPT_MISCONFIG_STORE in vmx_api.h).  Every EPT misconfiguration
	 * writes both (0 without such a store), and VMWRITE cannot.
	 */
	if (store_size && mov_store) {
		qual = store_val;
		info = VMX_EPT_MISCONFIG_STORE | (u32)store_size;
	} else if (load_size && i && b->cached) {
		info = insn_load_info(i, load_size);
	}
	/*
	 * STEP 1 (28.2) at once, as an instruction exit's
	 * (vmx_exit_insn_direct()), and the guest-physical address: what
	 * vmx_exit_pending() + the exit's copy would store.
	 */
	vmx_exit_insn_direct(v, EXIT_REASON_EPT_MISCONFIG, qual, i ? i->len : 0, info);
	vmcs_set(v->port.vmcs, GUEST_PHYSICAL_ADDRESS, gpa);
	c->exit_insn = i;	/* count_partial_exit() need not search for it */
	/*
	 * The store of a MOV: taken in place, as an instruction exit
	 * (intercept.c: insn_exit_cont()), when the run can go on in the
	 * handler.  The VMRESUME that goes on comes right after the
	 * instruction (vmx_resume_fast(): RIP is the next instruction's), so
	 * the host completed it (KVM emulated the write); the store is not
	 * made again.  Any other entry drops the handler and the run starts
	 * over at the entry's RIP, as after an exit that unwound.
	 */
	/*
	 * So is the load of a MOV, MOVZX or MOVSX the exit reports (not the
	 * first of a fused pair, whose handler goes on to the second): the
	 * host completes it (it writes the register and moves RIP past it).
	 * Parked at the block's end (below), the handler writes the register
	 * before the host runs, with the value it has (load_value()), into
	 * the core's registers only (the exit saved them): the VMRESUME
	 * loads them all from the host's array.
	 */
	if (!store && info && !(b->fused && i == &b->insn[b->n - 2]))
		mov_store = true;
	if (!mov_store || !v->on_core)
		cpu_exit_now(c, CPU_EXIT_VMEXIT);
	/*
	 * In the middle of its block, the handler would suspend the run
	 * inside its chain of frames (op_mov_store() -> ... -> here), and
	 * return through them after the switch back: cut the block after
	 * the store, so that its next exits are at the block's end, where
	 * the block loop parks the run (cpu_exit_prepare_park()).  This exit unwinds
	 * (the pass under way counts and dispatches the old block); the run
	 * goes on at the next instruction (cpu.c resume(): the cut block's
	 * end), where the rest becomes a block of its own.
	 */
	if (unlikely(i + 1 != b->insn + b->n) && c->fiber &&
	    icache_cut_after(c, (struct block *)b, i))
		cpu_exit_now(c, CPU_EXIT_VMEXIT);
	/*
	 * A load only parked (the handler returns before the host runs, with
	 * the register's value as it is: the write changes nothing), never
	 * suspended in the handler's frames: else the exit unwinds.
	 */
	if (!store) {
		if (!cpu_exit_prepare_park(c, i))
			cpu_exit_now(c, CPU_EXIT_VMEXIT);
		vmx_exit_suspend_begin(v);
		*load_val = load_value(c, info);
		return true;
	}
	return vmx_exit_in_place(c, v, i);
}

bool vmx_ept_misconfig_exit(struct cpu *c, u64 gpa, bool store)
{
	return __vmx_ept_misconfig_exit(c, gpa, store, 0, 0, 0, NULL);
}

bool vmx_ept_misconfig_exit_store(struct cpu *c, u64 gpa, int size, u64 val)
{
	return __vmx_ept_misconfig_exit(c, gpa, true, size, val, 0, NULL);
}

bool vmx_ept_misconfig_exit_load(struct cpu *c, u64 gpa, int size, u64 *val)
{
	return __vmx_ept_misconfig_exit(c, gpa, false, 0, 0, size, val);
}
