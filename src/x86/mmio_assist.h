/* SPDX-License-Identifier: MIT */
/*
 * What a decode assist tells KVM of an MMIO access with the exit, in the
 * vendor-neutral form the emulator (x86.c) takes.
 */
#ifndef USERKVM_X86_MMIO_ASSIST_H
#define USERKVM_X86_MMIO_ASSIST_H

#include "util/types.h"

/*
 * An MMIO access as a vendor's decode assist reports it with the exit
 * (vmx.c handle_ept_misconfig() translates VMX's VMX_EPT_MISCONFIG_STORE
 * and _LOAD information; SVM's decode-assist bytes or SEV-ES's and TDX's
 * guest-given data are the same kind of fact): a MOV store of @bytes of
 * @data, or a load of @bytes into a general register, which is all the
 * instruction does.  The emulator then needs neither fetch nor decode.
 */
struct kvm_mmio_assist {
	u8 bytes;	/* the access's size, 1-8; 0: nothing reported */
	bool load;	/* a load into @reg; else a store of @data */
	u8 reg;		/* load: the destination, VCPU_REGS_RAX..R15 */
	u8 dsize;	/* load: the destination's size in bytes, 1, 2, 4 or 8 */
	bool high;	/* load: a 1-byte destination is AH-BH (bits 15:8 of @reg 0-3) */
	bool sx;	/* load: sign-extended (MOVSX), else zero-extended */
	u64 data;	/* store: its data in the low @bytes (load: undefined) */
};

#endif
