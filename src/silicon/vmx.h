/* SPDX-License-Identifier: MIT */
/*
 * VMX architectural numbers: basic exit reasons (SDM Vol. 3 Appendix C), VMCS
 * field encodings (Appendix B), VM-execution/exit/entry control bits (ch. 25),
 * VM-instruction error numbers (sec. 31.4), exit-qualification layouts
 * (sec. 28.2.1) and the IA32_VMX_* capability MSR indices (Appendix A).
 *
 * These are properties of the processor's interface, so the names are the
 * ones the SDM and every hypervisor use (EXIT_REASON_*, GUEST_*, CPU_BASED_*);
 * KVM sees them through src/x86/vmx/vmx_ops.h.
 */
#ifndef SILICON_VMX_H
#define SILICON_VMX_H

#include "util/types.h"

/* Basic exit reasons (bits 15:0 of the exit reason), SDM Appendix C. */
#define EXIT_REASON_EXCEPTION_NMI       0
#define EXIT_REASON_EXTERNAL_INTERRUPT  1
#define EXIT_REASON_TRIPLE_FAULT        2
#define EXIT_REASON_INIT_SIGNAL         3
#define EXIT_REASON_SIPI_SIGNAL         4
#define EXIT_REASON_IO_SMI              5
#define EXIT_REASON_OTHER_SMI           6
#define EXIT_REASON_INTERRUPT_WINDOW    7
#define EXIT_REASON_PENDING_INTERRUPT   EXIT_REASON_INTERRUPT_WINDOW
#define EXIT_REASON_NMI_WINDOW          8
#define EXIT_REASON_TASK_SWITCH         9
#define EXIT_REASON_CPUID               10
#define EXIT_REASON_GETSEC              11
#define EXIT_REASON_HLT                 12
#define EXIT_REASON_INVD                13
#define EXIT_REASON_INVLPG              14
#define EXIT_REASON_RDPMC               15
#define EXIT_REASON_RDTSC               16
#define EXIT_REASON_RSM                 17
#define EXIT_REASON_VMCALL              18
#define EXIT_REASON_VMCLEAR             19
#define EXIT_REASON_VMLAUNCH            20
#define EXIT_REASON_VMPTRLD             21
#define EXIT_REASON_VMPTRST             22
#define EXIT_REASON_VMREAD              23
#define EXIT_REASON_VMRESUME            24
#define EXIT_REASON_VMWRITE             25
#define EXIT_REASON_VMOFF               26
#define EXIT_REASON_VMON                27
#define EXIT_REASON_CR_ACCESS           28
#define EXIT_REASON_DR_ACCESS           29
#define EXIT_REASON_IO_INSTRUCTION      30
#define EXIT_REASON_MSR_READ            31
#define EXIT_REASON_MSR_WRITE           32
#define EXIT_REASON_INVALID_STATE       33
#define EXIT_REASON_MSR_LOAD_FAIL       34
#define EXIT_REASON_MWAIT_INSTRUCTION   36
#define EXIT_REASON_MONITOR_TRAP_FLAG   37
#define EXIT_REASON_MONITOR_INSTRUCTION 39
#define EXIT_REASON_PAUSE_INSTRUCTION   40
#define EXIT_REASON_MCE_DURING_VMENTRY  41
#define EXIT_REASON_TPR_BELOW_THRESHOLD 43
#define EXIT_REASON_APIC_ACCESS         44
#define EXIT_REASON_EOI_INDUCED         45
#define EXIT_REASON_GDTR_IDTR           46
#define EXIT_REASON_LDTR_TR             47
#define EXIT_REASON_EPT_VIOLATION       48
#define EXIT_REASON_EPT_MISCONFIG       49
#define EXIT_REASON_INVEPT              50
#define EXIT_REASON_RDTSCP              51
#define EXIT_REASON_PREEMPTION_TIMER    52
#define EXIT_REASON_INVVPID             53
#define EXIT_REASON_WBINVD              54
#define EXIT_REASON_XSETBV              55
#define EXIT_REASON_APIC_WRITE          56
#define EXIT_REASON_RDRAND              57
#define EXIT_REASON_INVPCID             58
#define EXIT_REASON_VMFUNC              59
#define EXIT_REASON_ENCLS               60
#define EXIT_REASON_RDSEED              61
#define EXIT_REASON_PML_FULL            62
#define EXIT_REASON_XSAVES              63
#define EXIT_REASON_XRSTORS             64
#define EXIT_REASON_UMWAIT              67
#define EXIT_REASON_TPAUSE              68
#define EXIT_REASON_BUS_LOCK            74
#define EXIT_REASON_NOTIFY              75

/* Upper bits of the exit-reason field (SDM 25.9.1). */
#define VMX_EXIT_REASON_BASIC_MASK      0xffffu
#define VMX_EXIT_REASONS_FAILED_VMENTRY 0x80000000u

/* Exit qualification of EXIT_REASON_INVALID_STATE (SDM 27.8). */
#define ENTRY_FAIL_DEFAULT              0
#define ENTRY_FAIL_PDPTE                2
#define ENTRY_FAIL_NMI                  3
#define ENTRY_FAIL_VMCS_LINK_PTR        4

/* VM-instruction error numbers (SDM 31.4). */
#define VMXERR_VMCALL_IN_VMX_ROOT_OPERATION            1
#define VMXERR_VMCLEAR_INVALID_ADDRESS                 2
#define VMXERR_VMCLEAR_VMXON_POINTER                   3
#define VMXERR_VMLAUNCH_NONCLEAR_VMCS                  4
#define VMXERR_VMRESUME_NONLAUNCHED_VMCS               5
#define VMXERR_VMRESUME_AFTER_VMXOFF                   6
#define VMXERR_ENTRY_INVALID_CONTROL_FIELD             7
#define VMXERR_ENTRY_INVALID_HOST_STATE_FIELD          8
#define VMXERR_VMPTRLD_INVALID_ADDRESS                 9
#define VMXERR_VMPTRLD_VMXON_POINTER                   10
#define VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID      11
#define VMXERR_UNSUPPORTED_VMCS_COMPONENT              12
#define VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT        13
#define VMXERR_VMXON_IN_VMX_ROOT_OPERATION             15
#define VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS          26
#define VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID       28

/*
 * VMCS field encodings (SDM Appendix B).  Bit 0: access type (1 = high half of
 * a 64-bit field), bits 9:1 index, bits 11:10 type (0 control, 1 VM-exit
 * information = read-only, 2 guest state, 3 host state), bits 14:13 width
 * (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width).
 */
#define VMCS_FIELD_HIGH(enc)   ((enc) & 1)
#define VMCS_FIELD_INDEX(enc)  (((enc) >> 1) & 0x1ff)
#define VMCS_FIELD_TYPE(enc)   (((enc) >> 10) & 3)
#define VMCS_FIELD_WIDTH(enc)  (((enc) >> 13) & 3)
#define VMCS_FIELD_RESERVED    0xffff9000u	/* bits 31:15 and 12 */

#define VMCS_FIELD_WIDTH_16      0
#define VMCS_FIELD_WIDTH_64      1
#define VMCS_FIELD_WIDTH_32      2
#define VMCS_FIELD_WIDTH_NATURAL 3

#define VMCS_FIELD_TYPE_CONTROL  0
#define VMCS_FIELD_TYPE_EXITINFO 1
#define VMCS_FIELD_TYPE_GUEST    2
#define VMCS_FIELD_TYPE_HOST     3

/*
 * Every field this processor implements, as X(name, encoding).  A 64-bit
 * field's "high" encoding (encoding | 1) is implied.  vmcs.c lays the VMCS
 * region out from this list; VMREAD/VMWRITE of anything else fail with
 * VMXERR_UNSUPPORTED_VMCS_COMPONENT.
 */
#define VMCS_FIELDS(X)							\
	/* 16-bit control */						\
	X(VIRTUAL_PROCESSOR_ID,            0x0000)			\
	/* 16-bit guest state */					\
	X(GUEST_ES_SELECTOR,               0x0800)			\
	X(GUEST_CS_SELECTOR,               0x0802)			\
	X(GUEST_SS_SELECTOR,               0x0804)			\
	X(GUEST_DS_SELECTOR,               0x0806)			\
	X(GUEST_FS_SELECTOR,               0x0808)			\
	X(GUEST_GS_SELECTOR,               0x080a)			\
	X(GUEST_LDTR_SELECTOR,             0x080c)			\
	X(GUEST_TR_SELECTOR,               0x080e)			\
	X(GUEST_PML_INDEX,                 0x0812)			\
	/* 16-bit host state */						\
	X(HOST_ES_SELECTOR,                0x0c00)			\
	X(HOST_CS_SELECTOR,                0x0c02)			\
	X(HOST_SS_SELECTOR,                0x0c04)			\
	X(HOST_DS_SELECTOR,                0x0c06)			\
	X(HOST_FS_SELECTOR,                0x0c08)			\
	X(HOST_GS_SELECTOR,                0x0c0a)			\
	X(HOST_TR_SELECTOR,                0x0c0c)			\
	/* 64-bit control */						\
	X(IO_BITMAP_A,                     0x2000)			\
	X(IO_BITMAP_B,                     0x2002)			\
	X(MSR_BITMAP,                      0x2004)			\
	X(VM_EXIT_MSR_STORE_ADDR,          0x2006)			\
	X(VM_EXIT_MSR_LOAD_ADDR,           0x2008)			\
	X(VM_ENTRY_MSR_LOAD_ADDR,          0x200a)			\
	X(PML_ADDRESS,                     0x200e)			\
	X(TSC_OFFSET,                      0x2010)			\
	X(VIRTUAL_APIC_PAGE_ADDR,          0x2012)			\
	X(EPT_POINTER,                     0x201a)			\
	X(TSC_MULTIPLIER,                  0x2032)			\
	/* 64-bit read-only */						\
	X(GUEST_PHYSICAL_ADDRESS,          0x2400)			\
	/* 64-bit guest state */					\
	X(VMCS_LINK_POINTER,               0x2800)			\
	X(GUEST_IA32_DEBUGCTL,             0x2802)			\
	X(GUEST_IA32_PAT,                  0x2804)			\
	X(GUEST_IA32_EFER,                 0x2806)			\
	X(GUEST_PDPTR0,                    0x280a)			\
	X(GUEST_PDPTR1,                    0x280c)			\
	X(GUEST_PDPTR2,                    0x280e)			\
	X(GUEST_PDPTR3,                    0x2810)			\
	/* 64-bit host state */						\
	X(HOST_IA32_PAT,                   0x2c00)			\
	X(HOST_IA32_EFER,                  0x2c02)			\
	/* 32-bit control */						\
	X(PIN_BASED_VM_EXEC_CONTROL,       0x4000)			\
	X(CPU_BASED_VM_EXEC_CONTROL,       0x4002)			\
	X(EXCEPTION_BITMAP,                0x4004)			\
	X(PAGE_FAULT_ERROR_CODE_MASK,      0x4006)			\
	X(PAGE_FAULT_ERROR_CODE_MATCH,     0x4008)			\
	X(CR3_TARGET_COUNT,                0x400a)			\
	X(VM_EXIT_CONTROLS,                0x400c)			\
	X(VM_EXIT_MSR_STORE_COUNT,         0x400e)			\
	X(VM_EXIT_MSR_LOAD_COUNT,          0x4010)			\
	X(VM_ENTRY_CONTROLS,               0x4012)			\
	X(VM_ENTRY_MSR_LOAD_COUNT,         0x4014)			\
	X(VM_ENTRY_INTR_INFO_FIELD,        0x4016)			\
	X(VM_ENTRY_EXCEPTION_ERROR_CODE,   0x4018)			\
	X(VM_ENTRY_INSTRUCTION_LEN,        0x401a)			\
	X(TPR_THRESHOLD,                   0x401c)			\
	X(SECONDARY_VM_EXEC_CONTROL,       0x401e)			\
	/* 32-bit read-only */						\
	X(VM_INSTRUCTION_ERROR,            0x4400)			\
	X(VM_EXIT_REASON,                  0x4402)			\
	X(VM_EXIT_INTR_INFO,               0x4404)			\
	X(VM_EXIT_INTR_ERROR_CODE,         0x4406)			\
	X(IDT_VECTORING_INFO_FIELD,        0x4408)			\
	X(IDT_VECTORING_ERROR_CODE,        0x440a)			\
	X(VM_EXIT_INSTRUCTION_LEN,         0x440c)			\
	X(VMX_INSTRUCTION_INFO,            0x440e)			\
	/* 32-bit guest state */					\
	X(GUEST_ES_LIMIT,                  0x4800)			\
	X(GUEST_CS_LIMIT,                  0x4802)			\
	X(GUEST_SS_LIMIT,                  0x4804)			\
	X(GUEST_DS_LIMIT,                  0x4806)			\
	X(GUEST_FS_LIMIT,                  0x4808)			\
	X(GUEST_GS_LIMIT,                  0x480a)			\
	X(GUEST_LDTR_LIMIT,                0x480c)			\
	X(GUEST_TR_LIMIT,                  0x480e)			\
	X(GUEST_GDTR_LIMIT,                0x4810)			\
	X(GUEST_IDTR_LIMIT,                0x4812)			\
	X(GUEST_ES_AR_BYTES,               0x4814)			\
	X(GUEST_CS_AR_BYTES,               0x4816)			\
	X(GUEST_SS_AR_BYTES,               0x4818)			\
	X(GUEST_DS_AR_BYTES,               0x481a)			\
	X(GUEST_FS_AR_BYTES,               0x481c)			\
	X(GUEST_GS_AR_BYTES,               0x481e)			\
	X(GUEST_LDTR_AR_BYTES,             0x4820)			\
	X(GUEST_TR_AR_BYTES,               0x4822)			\
	X(GUEST_INTERRUPTIBILITY_INFO,     0x4824)			\
	X(GUEST_ACTIVITY_STATE,            0x4826)			\
	X(GUEST_SMBASE,                    0x4828)			\
	X(GUEST_SYSENTER_CS,               0x482a)			\
	X(VMX_PREEMPTION_TIMER_VALUE,      0x482e)			\
	/* 32-bit host state */						\
	X(HOST_IA32_SYSENTER_CS,           0x4c00)			\
	/* natural-width control */					\
	X(CR0_GUEST_HOST_MASK,             0x6000)			\
	X(CR4_GUEST_HOST_MASK,             0x6002)			\
	X(CR0_READ_SHADOW,                 0x6004)			\
	X(CR4_READ_SHADOW,                 0x6006)			\
	X(CR3_TARGET_VALUE0,               0x6008)			\
	X(CR3_TARGET_VALUE1,               0x600a)			\
	X(CR3_TARGET_VALUE2,               0x600c)			\
	X(CR3_TARGET_VALUE3,               0x600e)			\
	/* natural-width read-only */					\
	X(EXIT_QUALIFICATION,              0x6400)			\
	X(IO_RCX,                          0x6402)			\
	X(IO_RSI,                          0x6404)			\
	X(IO_RDI,                          0x6406)			\
	X(IO_RIP,                          0x6408)			\
	X(GUEST_LINEAR_ADDRESS,            0x640a)			\
	/* natural-width guest state */					\
	X(GUEST_CR0,                       0x6800)			\
	X(GUEST_CR3,                       0x6802)			\
	X(GUEST_CR4,                       0x6804)			\
	X(GUEST_ES_BASE,                   0x6806)			\
	X(GUEST_CS_BASE,                   0x6808)			\
	X(GUEST_SS_BASE,                   0x680a)			\
	X(GUEST_DS_BASE,                   0x680c)			\
	X(GUEST_FS_BASE,                   0x680e)			\
	X(GUEST_GS_BASE,                   0x6810)			\
	X(GUEST_LDTR_BASE,                 0x6812)			\
	X(GUEST_TR_BASE,                   0x6814)			\
	X(GUEST_GDTR_BASE,                 0x6816)			\
	X(GUEST_IDTR_BASE,                 0x6818)			\
	X(GUEST_DR7,                       0x681a)			\
	X(GUEST_RSP,                       0x681c)			\
	X(GUEST_RIP,                       0x681e)			\
	X(GUEST_RFLAGS,                    0x6820)			\
	X(GUEST_PENDING_DBG_EXCEPTIONS,    0x6822)			\
	X(GUEST_SYSENTER_ESP,              0x6824)			\
	X(GUEST_SYSENTER_EIP,              0x6826)			\
	/* natural-width host state */					\
	X(HOST_CR0,                        0x6c00)			\
	X(HOST_CR3,                        0x6c02)			\
	X(HOST_CR4,                        0x6c04)			\
	X(HOST_FS_BASE,                    0x6c06)			\
	X(HOST_GS_BASE,                    0x6c08)			\
	X(HOST_TR_BASE,                    0x6c0a)			\
	X(HOST_GDTR_BASE,                  0x6c0c)			\
	X(HOST_IDTR_BASE,                  0x6c0e)			\
	X(HOST_IA32_SYSENTER_ESP,          0x6c10)			\
	X(HOST_IA32_SYSENTER_EIP,          0x6c12)			\
	X(HOST_RSP,                        0x6c14)			\
	X(HOST_RIP,                        0x6c16)

enum vmcs_field {
#define VMCS_FIELD_ENUM(name, enc) name = (enc),
	VMCS_FIELDS(VMCS_FIELD_ENUM)
#undef VMCS_FIELD_ENUM
};
/* Fields that are named only for their high halves. */
#define VMCS_HIGH(field) ((field) | 1)

/* Highest field index implemented, reported in IA32_VMX_VMCS_ENUM. */
#define VMCS_ENUM_MAX_INDEX 0x19	/* TSC_MULTIPLIER: 0x2032 */

/* Pin-based VM-execution controls (SDM 25.6.1). */
#define PIN_BASED_EXT_INTR_MASK         BIT(0)
#define PIN_BASED_NMI_EXITING           BIT(3)
#define PIN_BASED_VIRTUAL_NMIS          BIT(5)
#define PIN_BASED_VMX_PREEMPTION_TIMER  BIT(6)
#define PIN_BASED_POSTED_INTR           BIT(7)
#define PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR 0x00000016u

/* Primary processor-based VM-execution controls (SDM 25.6.2). */
#define CPU_BASED_INTR_WINDOW_EXITING       BIT(2)
#define CPU_BASED_USE_TSC_OFFSETTING        BIT(3)
#define CPU_BASED_HLT_EXITING               BIT(7)
#define CPU_BASED_INVLPG_EXITING            BIT(9)
#define CPU_BASED_MWAIT_EXITING             BIT(10)
#define CPU_BASED_RDPMC_EXITING             BIT(11)
#define CPU_BASED_RDTSC_EXITING             BIT(12)
#define CPU_BASED_CR3_LOAD_EXITING          BIT(15)
#define CPU_BASED_CR3_STORE_EXITING         BIT(16)
#define CPU_BASED_ACTIVATE_TERTIARY_CONTROLS BIT(17)
#define CPU_BASED_CR8_LOAD_EXITING          BIT(19)
#define CPU_BASED_CR8_STORE_EXITING         BIT(20)
#define CPU_BASED_TPR_SHADOW                BIT(21)
#define CPU_BASED_NMI_WINDOW_EXITING        BIT(22)
#define CPU_BASED_MOV_DR_EXITING            BIT(23)
#define CPU_BASED_UNCOND_IO_EXITING         BIT(24)
#define CPU_BASED_USE_IO_BITMAPS            BIT(25)
#define CPU_BASED_MONITOR_TRAP_FLAG         BIT(27)
#define CPU_BASED_USE_MSR_BITMAPS           BIT(28)
#define CPU_BASED_MONITOR_EXITING           BIT(29)
#define CPU_BASED_PAUSE_EXITING             BIT(30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS BIT(31)
#define CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR 0x0401e172u

/* Secondary processor-based VM-execution controls (SDM 25.6.2). */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES BIT(0)
#define SECONDARY_EXEC_ENABLE_EPT               BIT(1)
#define SECONDARY_EXEC_DESC                     BIT(2)
#define SECONDARY_EXEC_ENABLE_RDTSCP            BIT(3)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE   BIT(4)
#define SECONDARY_EXEC_ENABLE_VPID              BIT(5)
#define SECONDARY_EXEC_WBINVD_EXITING           BIT(6)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST       BIT(7)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT       BIT(8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY    BIT(9)
#define SECONDARY_EXEC_PAUSE_LOOP_EXITING       BIT(10)
#define SECONDARY_EXEC_RDRAND_EXITING           BIT(11)
#define SECONDARY_EXEC_ENABLE_INVPCID           BIT(12)
#define SECONDARY_EXEC_ENABLE_VMFUNC            BIT(13)
#define SECONDARY_EXEC_SHADOW_VMCS              BIT(14)
#define SECONDARY_EXEC_ENCLS_EXITING            BIT(15)
#define SECONDARY_EXEC_RDSEED_EXITING           BIT(16)
#define SECONDARY_EXEC_ENABLE_PML               BIT(17)
#define SECONDARY_EXEC_EPT_VIOLATION_VE         BIT(18)
#define SECONDARY_EXEC_XSAVES                   BIT(20)
#define SECONDARY_EXEC_TSC_SCALING              BIT(25)

/* VM-exit controls (SDM 25.7.1). */
#define VM_EXIT_SAVE_DEBUG_CONTROLS         BIT(2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE        BIT(9)
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL  BIT(12)
#define VM_EXIT_ACK_INTR_ON_EXIT            BIT(15)
#define VM_EXIT_SAVE_IA32_PAT               BIT(18)
#define VM_EXIT_LOAD_IA32_PAT               BIT(19)
#define VM_EXIT_SAVE_IA32_EFER              BIT(20)
#define VM_EXIT_LOAD_IA32_EFER              BIT(21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER   BIT(22)
#define VM_EXIT_CLEAR_BNDCFGS               BIT(23)
#define VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR   0x00036dffu

/* VM-entry controls (SDM 25.8.1). */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS        BIT(2)
#define VM_ENTRY_IA32E_MODE                 BIT(9)
#define VM_ENTRY_SMM                        BIT(10)
#define VM_ENTRY_DEACT_DUAL_MONITOR         BIT(11)
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL BIT(13)
#define VM_ENTRY_LOAD_IA32_PAT              BIT(14)
#define VM_ENTRY_LOAD_IA32_EFER             BIT(15)
#define VM_ENTRY_LOAD_BNDCFGS               BIT(16)
#define VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR  0x000011ffu

/* VM-entry/exit interruption information (SDM 25.8.3, 25.9.2). */
#define INTR_INFO_VECTOR_MASK           0xffu
#define INTR_INFO_INTR_TYPE_MASK        0x700u
#define INTR_INFO_INTR_TYPE_SHIFT       8
#define INTR_INFO_DELIVER_CODE_MASK     BIT(11)
#define INTR_INFO_UNBLOCK_NMI           BIT(12)
#define INTR_INFO_RESVD_BITS_MASK       0x7ffff000u
#define INTR_INFO_VALID_MASK            BIT(31)
#define INTR_TYPE_EXT_INTR              (0u << 8)
#define INTR_TYPE_RESERVED              (1u << 8)
#define INTR_TYPE_NMI_INTR              (2u << 8)
#define INTR_TYPE_HARD_EXCEPTION        (3u << 8)
#define INTR_TYPE_SOFT_INTR             (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION     (5u << 8)
#define INTR_TYPE_SOFT_EXCEPTION        (6u << 8)
#define INTR_TYPE_OTHER_EVENT           (7u << 8)

/* Guest interruptibility state (SDM 25.4.2). */
#define GUEST_INTR_STATE_STI            BIT(0)
#define GUEST_INTR_STATE_MOV_SS         BIT(1)
#define GUEST_INTR_STATE_SMI            BIT(2)
#define GUEST_INTR_STATE_NMI            BIT(3)
#define GUEST_INTR_STATE_ENCLAVE_INTR   BIT(4)

/* Guest activity state (SDM 25.4.2). */
#define GUEST_ACTIVITY_ACTIVE           0
#define GUEST_ACTIVITY_HLT              1
#define GUEST_ACTIVITY_SHUTDOWN         2
#define GUEST_ACTIVITY_WAIT_SIPI        3

/* Segment access rights as the VMCS holds them (SDM 25.4.1). */
#define VMX_AR_TYPE_MASK                0x0fu
#define VMX_AR_S_MASK                   BIT(4)
#define VMX_AR_DPL_SHIFT                5
#define VMX_AR_DPL_MASK                 (3u << 5)
#define VMX_AR_P_MASK                   BIT(7)
#define VMX_AR_AVL_MASK                 BIT(12)
#define VMX_AR_L_MASK                   BIT(13)
#define VMX_AR_DB_MASK                  BIT(14)
#define VMX_AR_G_MASK                   BIT(15)
#define VMX_AR_UNUSABLE_MASK            BIT(16)
#define VMX_AR_RESERVD_MASK             0xfffe0f00u

/* Exit qualification for control-register accesses (SDM Table 28-3). */
#define CR_ACCESS_TYPE_MOV_TO_CR        0
#define CR_ACCESS_TYPE_MOV_FROM_CR      1
#define CR_ACCESS_TYPE_CLTS             2
#define CR_ACCESS_TYPE_LMSW             3
#define CR_QUAL(cr, type, gpr) \
	((u64)(cr) | ((u64)(type) << 4) | ((u64)(gpr) << 8))
#define CR_QUAL_LMSW_MEM                BIT(6)
#define CR_QUAL_LMSW_DATA(x)            ((u64)(u16)(x) << 16)

/* Exit qualification for MOV DR (SDM Table 28-4). */
#define DEBUG_REG_ACCESS_NUM            0x7u
#define DEBUG_REG_ACCESS_TYPE           BIT(4)	/* 1 = MOV from DR */
#define DEBUG_REG_ACCESS_REG(q)         (((q) >> 8) & 0xf)

/* Exit qualification for I/O instructions (SDM Table 28-5). */
#define IO_QUAL_SIZE_MASK               0x7u	/* size - 1 */
#define IO_QUAL_IN                      BIT(3)
#define IO_QUAL_STRING                  BIT(4)
#define IO_QUAL_REP                     BIT(5)
#define IO_QUAL_IMM                     BIT(6)
#define IO_QUAL_PORT_SHIFT              16

/* Exit qualification for EPT violations (SDM Table 28-7). */
#define EPT_VIOLATION_ACC_READ          BIT(0)
#define EPT_VIOLATION_ACC_WRITE         BIT(1)
#define EPT_VIOLATION_ACC_INSTR         BIT(2)
#define EPT_VIOLATION_READABLE          BIT(3)
#define EPT_VIOLATION_WRITABLE          BIT(4)
#define EPT_VIOLATION_EXECUTABLE        BIT(5)
#define EPT_VIOLATION_GVA_IS_VALID      BIT(7)
#define EPT_VIOLATION_GVA_TRANSLATED    BIT(8)
#define EPT_VIOLATION_NMI_UNBLOCKING    BIT(12)

/* EPT paging-structure entries (SDM 29.3.2) and the EPTP (25.6.11). */
#define VMX_EPT_READABLE_MASK           BIT_ULL(0)
#define VMX_EPT_WRITABLE_MASK           BIT_ULL(1)
#define VMX_EPT_EXECUTABLE_MASK         BIT_ULL(2)
#define VMX_EPT_RWX_MASK                0x7ull
#define VMX_EPT_MT_SHIFT                3
#define VMX_EPT_IPAT_BIT                BIT_ULL(6)
#define VMX_EPT_PAGE_SIZE               BIT_ULL(7)
#define VMX_EPT_ACCESS_BIT              BIT_ULL(8)
#define VMX_EPT_DIRTY_BIT               BIT_ULL(9)
#define VMX_EPT_SUPPRESS_VE_BIT         BIT_ULL(63)
#define VMX_EPTP_MT_MASK                0x7ull
#define VMX_EPTP_MT_UC                  0ull
#define VMX_EPTP_MT_WB                  6ull
#define VMX_EPTP_PWL_MASK               0x38ull
#define VMX_EPTP_PWL_4                  0x18ull
#define VMX_EPTP_AD_ENABLE_BIT          BIT_ULL(6)

/* IA32_VMX_EPT_VPID_CAP (SDM A.10). */
#define VMX_EPT_EXECUTE_ONLY_BIT        BIT_ULL(0)
#define VMX_EPT_PAGE_WALK_4_BIT         BIT_ULL(6)
#define VMX_EPTP_UC_BIT                 BIT_ULL(8)
#define VMX_EPTP_WB_BIT                 BIT_ULL(14)
#define VMX_EPT_2MB_PAGE_BIT            BIT_ULL(16)
#define VMX_EPT_1GB_PAGE_BIT            BIT_ULL(17)
#define VMX_EPT_INVEPT_BIT              BIT_ULL(20)
#define VMX_EPT_AD_BIT                  BIT_ULL(21)
#define VMX_EPT_EXTENT_CONTEXT_BIT      BIT_ULL(25)
#define VMX_EPT_EXTENT_GLOBAL_BIT       BIT_ULL(26)
#define VMX_VPID_INVVPID_BIT            BIT_ULL(32)
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT BIT_ULL(40)
#define VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT  BIT_ULL(41)
#define VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT  BIT_ULL(42)
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT BIT_ULL(43)

/* INVEPT / INVVPID types (SDM ch. 31). */
#define VMX_EPT_EXTENT_CONTEXT          1
#define VMX_EPT_EXTENT_GLOBAL           2
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR 0
#define VMX_VPID_EXTENT_SINGLE_CONTEXT  1
#define VMX_VPID_EXTENT_ALL_CONTEXT     2
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL 3

/* IA32_VMX_BASIC (SDM A.1). */
#define VMX_BASIC_VMCS_SIZE_SHIFT       32
#define VMX_BASIC_32BIT_PHYS_ADDR_ONLY  BIT_ULL(48)
#define VMX_BASIC_MEM_TYPE_SHIFT        50
#define VMX_BASIC_MEM_TYPE_WB           6ull
#define VMX_BASIC_INOUT                 BIT_ULL(54)
#define VMX_BASIC_TRUE_CTLS             BIT_ULL(55)
#define VMX_BASIC_NO_HW_ERROR_CODE_CC   BIT_ULL(56)

/* IA32_VMX_MISC (SDM A.6). */
#define VMX_MISC_PREEMPTION_TIMER_RATE_MASK 0x1full
#define VMX_MISC_SAVE_EFER_LMA          BIT_ULL(5)
#define VMX_MISC_ACTIVITY_HLT           BIT_ULL(6)
#define VMX_MISC_ACTIVITY_SHUTDOWN      BIT_ULL(7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI     BIT_ULL(8)
#define VMX_MISC_CR3_TARGET_SHIFT       16
#define VMX_MISC_MSR_LIST_SHIFT         25
#define VMX_MISC_VMWRITE_SHADOW_RO_FIELDS BIT_ULL(29)
#define VMX_MISC_ZERO_LEN_INS           BIT_ULL(30)

/* Capability and related MSR indices. */
#define MSR_IA32_FEATURE_CONTROL        0x3a	/* same spelling as cpu.h */
#define MSR_IA32_VMX_BASIC              0x00000480
#define MSR_IA32_VMX_PINBASED_CTLS      0x00000481
#define MSR_IA32_VMX_PROCBASED_CTLS     0x00000482
#define MSR_IA32_VMX_EXIT_CTLS          0x00000483
#define MSR_IA32_VMX_ENTRY_CTLS         0x00000484
#define MSR_IA32_VMX_MISC               0x00000485
#define MSR_IA32_VMX_CR0_FIXED0         0x00000486
#define MSR_IA32_VMX_CR0_FIXED1         0x00000487
#define MSR_IA32_VMX_CR4_FIXED0         0x00000488
#define MSR_IA32_VMX_CR4_FIXED1         0x00000489
#define MSR_IA32_VMX_VMCS_ENUM          0x0000048a
#define MSR_IA32_VMX_PROCBASED_CTLS2    0x0000048b
#define MSR_IA32_VMX_EPT_VPID_CAP       0x0000048c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x0000048d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x0000048e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS      0x0000048f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS     0x00000490
#define MSR_IA32_VMX_VMFUNC             0x00000491

#define FEAT_CTL_LOCKED                 BIT_ULL(0)
#define FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX BIT_ULL(2)

/* The VMCS revision identifier this processor uses (IA32_VMX_BASIC[30:0]). */
#define VMX_VMCS_REVISION_ID            0x75736b76u	/* "vksu" */
#define VMX_VMCS_SIZE                   4096u

/* The physical-address width of this processor: EPT entries and VMX
 * pointers hold host addresses of this process, which fit in 48 bits. */
#define VMX_MAXPHYADDR                  48
#define VMX_PA_RSVD_MASK                (~0ull << VMX_MAXPHYADDR)

/* A VM-instruction's outcome (SDM 31.2 "Conventions"). */
enum vmx_status {
	VMX_SUCCEED = 0,	/* CF = ZF = 0 */
	VMX_FAIL_INVALID,	/* CF = 1: no current VMCS to hold an error */
	VMX_FAIL_VALID,		/* ZF = 1: error number in VM_INSTRUCTION_ERROR */
	VMX_FAULT_UD,		/* the instruction raised #UD */
	VMX_FAULT_GP,		/* the instruction raised #GP(0) */
};

#endif
