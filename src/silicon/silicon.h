/* SPDX-License-Identifier: MIT */
/*
 * silicon.h: the one public header of the processor.
 *
 * src/silicon is a software x86-64 logical processor.  Its owner (KVM's
 * VMX layer through src/x86/vmx/vmx_ops.h, the benchmarks, the tests)
 * creates a &struct cpu, gives it physical memory (cpu_map_phys()), I/O
 * callbacks (cpu_set_io_ops()), and runs it with cpu_run().  Nothing here
 * knows about KVM.
 *
 * Threading: one host thread runs a given cpu.  cpu_raise_intr(),
 * cpu_raise_nmi() and cpu_kick() may be called from any thread; the running
 * cpu notices them at the next instruction boundary it checks (block ends).
 */
#ifndef USERKVM_SILICON_H
#define USERKVM_SILICON_H

#include "util/types.h"

struct cpu;

/* Segment register indices; ES..GS follow the x86 encoding (SDM 3.4.2). */
enum cpu_seg_reg {
	CPU_SEG_ES, CPU_SEG_CS, CPU_SEG_SS, CPU_SEG_DS, CPU_SEG_FS, CPU_SEG_GS,
	CPU_SEG_LDTR, CPU_SEG_TR, CPU_NR_SEGS
};

/*
 * Access rights of a segment register's hidden part, in the VMCS
 * guest-state format (SDM 25.4.1, table 25-2), so VM entry/exit copy them
 * as they are.
 */
#define CPU_AR_TYPE_MASK	0x000fu	/* type (accessed = bit 0) */
#define CPU_AR_S		0x0010u	/* 1 = code/data, 0 = system */
#define CPU_AR_DPL_SHIFT	5
#define CPU_AR_DPL_MASK		0x0060u
#define CPU_AR_P		0x0080u
#define CPU_AR_AVL		0x1000u
#define CPU_AR_L		0x2000u	/* 64-bit code segment */
#define CPU_AR_DB		0x4000u
#define CPU_AR_G		0x8000u
#define CPU_AR_UNUSABLE		0x10000u

/**
 * struct cpu_seg - a segment register with its hidden (descriptor cache) part
 * @base: segment base (64-bit for FS, GS, LDTR, TR)
 * @limit: byte-granular limit (already scaled by G)
 * @ar: access rights, CPU_AR_* (VMCS format)
 * @sel: visible selector
 */
struct cpu_seg {
	u64 base;
	u32 limit;
	u32 ar;
	u16 sel;
};

/** struct cpu_dtable - GDTR or IDTR */
struct cpu_dtable {
	u64 base;
	u32 limit;
};

/* Activity states, VMCS encoding (SDM 25.4.2). */
enum cpu_activity {
	CPU_ACTIVE = 0, CPU_HLT = 1, CPU_SHUTDOWN = 2, CPU_WAIT_SIPI = 3,
};

/* Interruptibility state, VMCS encoding (SDM 25.4.2, table 25-3). */
#define CPU_INTR_STI_BLOCKING	BIT(0)
#define CPU_INTR_MOVSS_BLOCKING	BIT(1)
#define CPU_INTR_SMI_BLOCKING	BIT(2)
#define CPU_INTR_NMI_BLOCKING	BIT(3)

/*
 * Event information, VM-entry interruption-information format
 * (SDM 25.8.3): vector in bits 7:0, type in 10:8, error-code valid bit 11,
 * valid bit 31.
 */
#define CPU_EVENT_VALID		BIT(31)
#define CPU_EVENT_HAS_ERROR	BIT(11)
#define CPU_EVENT_TYPE_SHIFT	8
enum cpu_event_type {
	CPU_EVENT_EXTINT = 0, CPU_EVENT_NMI = 2, CPU_EVENT_HWEXC = 3,
	CPU_EVENT_SWINT = 4, CPU_EVENT_PRIV_SWEXC = 5, CPU_EVENT_SWEXC = 6,
};

/**
 * struct cpu_fpu - x87/SSE/AVX state, laid out as the XSAVE area
 * @fxsave: legacy region (64-bit FXSAVE format: FCW, FSW, abridged FTW,
 *	FOP, FIP, FDP, MXCSR, ST0-7 as the stack, XMM0-15)
 * @xsave_hdr: XSAVE header; its XSTATE_BV slot holds the processor's
 *	XINUSE bits (src/silicon/fpu.h), the rest is zero
 * @ext: extended components (AVX YMM_Hi128 at offset 576 - 512 ...; no
 *	AVX yet)
 *
 * An owner writing the registers directly may leave @xsave_hdr alone:
 * components whose contents are not initial count as in use anyway.
 */
struct cpu_fpu {
	u8 fxsave[512];
	u8 xsave_hdr[64];
	u8 ext[256];
} __attribute__((aligned(64)));

/**
 * struct cpu_state - the architectural state of the logical processor
 *
 * Everything the VMCS guest-state area holds (SDM 25.4) plus what a VMM
 * saves and restores.  Read it with cpu_state() between cpu_run() calls;
 * after changing it call cpu_state_changed().
 */
struct cpu_state {
	u64 gpr[16];		/* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15 */
	u64 rip;
	u64 rflags;
	struct cpu_seg seg[CPU_NR_SEGS];
	struct cpu_dtable gdtr, idtr;
	u64 cr0, cr2, cr3, cr4, cr8;
	u64 xcr0;
	u64 dr[8];		/* DR4/DR5 alias DR6/DR7 when CR4.DE=0 */
	u64 efer;
	/* MSRs held by the core (others live in msr.c's file) */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 star, lstar, cstar, fmask, kernel_gs_base;
	u64 tsc_aux, tsc_offset, pat, apic_base, misc_enable, debugctl;
	/*
	 * TSC scaling in VMX non-root operation (SDM 26.3): RDTSC gives
	 * ((host TSC + tsc_root_offset) * tsc_multiplier >> 48) + tsc_offset;
	 * tsc_multiplier 0 when not scaling.
	 */
	u64 tsc_multiplier, tsc_root_offset;
	u64 mtrr_def_type;
	u32 activity;		/* enum cpu_activity */
	u32 interruptibility;	/* CPU_INTR_* */
	u64 pending_dbg;
	/* A pending event delivered at the next instruction boundary (injection). */
	u32 event_info;		/* CPU_EVENT_* format, 0 = none */
	u32 event_error;
	u32 event_insn_len;	/* for software interrupts/exceptions */
	u32 nmi_pending;
	/*
	 * PAE paging's four PDPTEs, loaded by MOV CR3 (and by CR0/CR4 writes
	 * that enable PAE paging) as the SDM says (4.4.1); the page walk uses
	 * these, not memory.  When CR3 is changed from outside (the owner,
	 * VM entry) they are reloaded from memory at the next PAE walk.
	 */
	u64 pdpte[4];
	struct cpu_fpu fpu;
};

/* RFLAGS bits */
#define CPU_FLAG_CF	BIT(0)
#define CPU_FLAG_PF	BIT(2)
#define CPU_FLAG_AF	BIT(4)
#define CPU_FLAG_ZF	BIT(6)
#define CPU_FLAG_SF	BIT(7)
#define CPU_FLAG_TF	BIT(8)
#define CPU_FLAG_IF	BIT(9)
#define CPU_FLAG_DF	BIT(10)
#define CPU_FLAG_OF	BIT(11)
#define CPU_FLAG_IOPL	(3u << 12)
#define CPU_FLAG_NT	BIT(14)
#define CPU_FLAG_RF	BIT(16)
#define CPU_FLAG_VM	BIT(17)
#define CPU_FLAG_AC	BIT(18)
#define CPU_FLAG_VIF	BIT(19)
#define CPU_FLAG_VIP	BIT(20)
#define CPU_FLAG_ID	BIT(21)

/* Control register and EFER bits used by owners */
#define CPU_CR0_PE	BIT(0)
#define CPU_CR0_MP	BIT(1)
#define CPU_CR0_EM	BIT(2)
#define CPU_CR0_TS	BIT(3)
#define CPU_CR0_ET	BIT(4)
#define CPU_CR0_NE	BIT(5)
#define CPU_CR0_WP	BIT(16)
#define CPU_CR0_AM	BIT(18)
#define CPU_CR0_NW	BIT(29)
#define CPU_CR0_CD	BIT(30)
#define CPU_CR0_PG	BIT(31)
#define CPU_CR4_VME	BIT(0)
#define CPU_CR4_PVI	BIT(1)
#define CPU_CR4_TSD	BIT(2)
#define CPU_CR4_DE	BIT(3)
#define CPU_CR4_PSE	BIT(4)
#define CPU_CR4_PAE	BIT(5)
#define CPU_CR4_MCE	BIT(6)
#define CPU_CR4_PGE	BIT(7)
#define CPU_CR4_PCE	BIT(8)
#define CPU_CR4_OSFXSR	BIT(9)
#define CPU_CR4_OSXMMEXCPT BIT(10)
#define CPU_CR4_UMIP	BIT(11)
#define CPU_CR4_LA57	BIT(12)
#define CPU_CR4_VMXE	BIT(13)
#define CPU_CR4_SMXE	BIT(14)
#define CPU_CR4_FSGSBASE BIT(16)
#define CPU_CR4_PCIDE	BIT(17)
#define CPU_CR4_OSXSAVE	BIT(18)
#define CPU_CR4_SMEP	BIT(20)
#define CPU_CR4_SMAP	BIT(21)
#define CPU_CR4_PKE	BIT(22)
#define CPU_EFER_SCE	BIT(0)
#define CPU_EFER_LME	BIT(8)
#define CPU_EFER_LMA	BIT(10)
#define CPU_EFER_NXE	BIT(11)

/* Why cpu_run() returned. */
enum cpu_exit {
	CPU_EXIT_BUDGET,	/* the instruction budget is used up */
	CPU_EXIT_HLT,		/* HLT with no event to wake it (activity = HLT) */
	CPU_EXIT_SHUTDOWN,	/* triple fault or shutdown (activity = SHUTDOWN) */
	CPU_EXIT_IO,		/* an I/O callback asked to stop after the access */
	CPU_EXIT_KICK,		/* cpu_kick() from another thread */
	CPU_EXIT_IRQ,		/* INTR is asserted, the cpu can take it, no ack callback */
	CPU_EXIT_VMEXIT,	/* VMX non-root: a VM exit happened (see the VMCS) */
	CPU_EXIT_VMX_INSN,	/* root mode: a VMX instruction the owner handles */
	CPU_EXIT_WAIT_SIPI,	/* activity = wait-for-SIPI (after INIT): see cpu_sipi() */
};

/* Flags of cpu_map_phys() */
#define CPU_PHYS_READONLY	BIT(0)	/* writes are reported as MMIO (ROM) */

/**
 * struct cpu_io_ops - the owner's port I/O, MMIO and interrupt-acknowledge
 * @pio: port access of @size bytes (1, 2, 4); for reads fill *@val.
 *	Return 0 to continue, nonzero to make cpu_run() return CPU_EXIT_IO
 *	once the instruction (or string iteration) is complete.
 * @mmio: physical access outside RAM, @size 1, 2, 4 or 8; same return
 *	convention.  Without it reads give all ones and writes are dropped.
 * @intr_ack: the INTA cycle: returns the vector of the external interrupt
 *	being taken (and lowers INTR if it should), or -1 if it went away.
 *	Without it cpu_run() returns CPU_EXIT_IRQ when it could take one.
 */
struct cpu_io_ops {
	int (*pio)(void *opaque, struct cpu *cpu, u16 port, int size, bool write, u32 *val);
	int (*mmio)(void *opaque, struct cpu *cpu, u64 gpa, int size, bool write, u64 *val);
	int (*intr_ack)(void *opaque, struct cpu *cpu);
};

/**
 * cpu_create() - make a logical processor in its power-up state
 *
 * Return: the new cpu, or NULL if out of memory.
 */
struct cpu *cpu_create(void);

/** cpu_destroy() - free a cpu (not while it runs) */
void cpu_destroy(struct cpu *cpu);

/**
 * cpu_reset() - RESET or INIT the processor (SDM 10.1, table 10-1)
 * @init: true for INIT, which keeps the x87/SSE state, the MTRRs/PAT and
 *	most MSRs; false for power-up/RESET, which sets everything.
 */
void cpu_reset(struct cpu *cpu, bool init);

/**
 * cpu_map_phys() - back guest-physical [@gpa, @gpa+@size) with host memory
 * @gpa: page aligned
 * @size: page multiple; 0 removes the mapping at @gpa
 * @host: host buffer of @size bytes that stays valid while mapped
 * @flags: CPU_PHYS_*
 *
 * Physical accesses outside every mapping go to io_ops.mmio (or read all
 * ones).  A guest never reaches host memory outside its mappings.  Call it
 * from the owner thread while the cpu is not running (it flushes the TLB;
 * removing a range also drops the decoded instructions).
 *
 * Return: 0, or -1 if the range overlaps another or the table is full.
 */
int cpu_map_phys(struct cpu *cpu, u64 gpa, u64 size, void *host, u32 flags);

/** cpu_set_io_ops() - install the port I/O / MMIO / INTA callbacks */
void cpu_set_io_ops(struct cpu *cpu, const struct cpu_io_ops *ops, void *opaque);

/**
 * cpu_run() - execute instructions
 * @budget: maximum number of instructions (a REP string instruction counts
 *	one for each chunk of up to 4096 iterations it runs); 0 means no limit.
 *
 * Return: the enum cpu_exit that stopped it.  The state (cpu_state()) is
 * consistent at an instruction boundary.
 */
enum cpu_exit cpu_run(struct cpu *cpu, u64 budget);

/** cpu_state() - the architectural state, valid while the cpu is not running */
struct cpu_state *cpu_state(struct cpu *cpu);

/**
 * cpu_state_changed() - tell the cpu its state was written from outside
 *
 * Recomputes the mode and CPL from CR0/EFER/CS/SS/RFLAGS and, when CR0,
 * CR3, CR4 or EFER changed since the last call, flushes the TLB (as a MOV
 * to CR3 would).  Changes to page tables in memory need no call (and, as on
 * hardware, are seen only after a flush).  Also notices an event written
 * to event_info.
 */
void cpu_state_changed(struct cpu *cpu);

/** cpu_instructions() - instructions retired since creation */
u64 cpu_instructions(struct cpu *cpu);

/**
 * cpu_sipi() - a Startup IPI: a cpu in wait-for-SIPI starts in real mode
 * at @vector:0000 (CS = @vector << 8, base @vector << 12, SDM 10.4.4.1).
 * Ignored unless the activity state is CPU_WAIT_SIPI.  Owner thread only.
 */
void cpu_sipi(struct cpu *cpu, u8 vector);

/** cpu_set_intr() - drive the INTR input (level); callable from any thread */
void cpu_set_intr(struct cpu *cpu, bool level);
/** cpu_raise_intr() - assert INTR; callable from any thread */
void cpu_raise_intr(struct cpu *cpu);
/** cpu_raise_nmi() - an NMI edge; callable from any thread */
void cpu_raise_nmi(struct cpu *cpu);
/** cpu_kick() - make cpu_run() return CPU_EXIT_KICK soon; any thread */
void cpu_kick(struct cpu *cpu);

/**
 * cpu_inject_event() - deliver an event at the next instruction boundary
 * @info: CPU_EVENT_* format (vector, type, error-code valid, valid)
 * @error: error code if CPU_EVENT_HAS_ERROR
 *
 * Used by owners (and VM entry) for event injection.
 */
void cpu_inject_event(struct cpu *cpu, u32 info, u32 error);

/**
 * cpu_rdmsr() / cpu_wrmsr() - MSR access as RDMSR/WRMSR at CPL0 would do
 *
 * Return: 0, or -1 where the instruction would #GP.
 */
int cpu_rdmsr(struct cpu *cpu, u32 msr, u64 *val);
int cpu_wrmsr(struct cpu *cpu, u32 msr, u64 val);

/**
 * cpu_read_phys() / cpu_write_phys() - the owner's view of physical memory
 *
 * Writes go through the decoded-instruction cache invalidation.
 * Return: 0, or -1 if part of the range is not RAM.
 */
int cpu_read_phys(struct cpu *cpu, u64 gpa, void *buf, u64 len);
int cpu_write_phys(struct cpu *cpu, u64 gpa, const void *buf, u64 len);

/**
 * cpu_code_written() - host memory at @host was modified behind the cpu's
 * back (DMA, another process); drops decoded instructions from it.
 */
void cpu_code_written(const void *host, u64 len);

/**
 * cpu_translate() - linear to physical as the cpu's paging would (no A/D
 * update, no fault).  Return: 0 and *@gpa, or -1 if not present.
 */
int cpu_translate(struct cpu *cpu, u64 linear, u64 *gpa);

#endif
