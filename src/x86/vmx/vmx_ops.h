/* SPDX-License-Identifier: MIT */
/*
 * vmx_ops.h: the ONLY door from KVM into the processor (src/silicon), as in
 * Linux's arch/x86/kvm/vmx/vmx_ops.h: VMX-instruction-shaped calls on the
 * logical processor this thread runs on.
 *
 * The VMCS accessors check at compile time that a constant field encoding
 * matches the accessor's width (SDM Appendix B: bits 14:13 of an encoding
 * give the width), so vmcs_write16(GUEST_RIP, x) does not build.  A
 * non-constant encoding is checked by the processor: VMREAD/VMWRITE of an
 * unsupported field fail with VMXERR_UNSUPPORTED_VMCS_COMPONENT.
 *
 * How KVM uses it (the shape of Linux's vmx.c on real hardware):
 *  - one logical processor per vCPU: vmx_cpu_create() at vCPU creation,
 *    vmx_cpu_bind(lp) in vcpu_load() (the thread now "runs on" it) and
 *    vmx_cpu_bind(NULL) when the thread leaves it (sched_out, which the
 *    thread's next entry into KVM other than a vCPU ioctl of the same vCPU
 *    does: the binding outlives vcpu_put() as a loaded VMCS does); every
 *    call below acts on the bound one;
 *  - hardware enable: cr4_set_bits(X86_CR4_VMXE), cpu_vmxon(region) with a
 *    4 KiB region holding vmcs_config.basic_revision_id (capabilities.h);
 *  - a VMCS is a 4 KiB page of KVM's with the revision id in its first
 *    word: vmcs_clear() it, vmcs_load() it, vmcs_write*() the fields;
 *  - vmx_vcpu_enter(regs, launched): VMLAUNCH/VMRESUME with KVM's
 *    vcpu->arch.regs array; the return value is the exit reason (or a
 *    VMX_ENTER_* failure), the details are in the VMCS;
 *  - EPT tables, MSR and I/O bitmaps are KVM's pages: their "physical
 *    addresses" are their addresses in this process, and so are the
 *    addresses EPT leaf entries hold (a guest-physical page maps to the
 *    host address of the memory behind it);
 *  - kvm_vcpu_kick() from another thread: vmx_cpu_kick(lp), which the guest
 *    sees as a host interrupt (EXTERNAL_INTERRUPT exit, vector 0xfd with
 *    "acknowledge interrupt on exit");
 *  - registers the VMCS does not switch (CR2, DR0-3/DR6, XCR0, MSRs such
 *    as KERNEL_GS_BASE/STAR/LSTAR/TSC_AUX, the FPU) stay in the processor
 *    across VM exits: read and write them with native_read_cr2(),
 *    get_debugreg(), xsetbv(), rdmsrl_safe()/wrmsrl_safe(), cpu_fpu_save()...
 */
#ifndef USERKVM_X86_VMX_VMX_OPS_H
#define USERKVM_X86_VMX_VMX_OPS_H

#include "silicon/vmx.h"
#include "silicon/vmx_api.h"
#include "silicon/emulate.h"

/* 1 if @x is an integer constant expression (Linux's __is_constexpr). */
#define __vmx_is_constexpr(x) \
	(sizeof(int) == sizeof(*(8 ? ((void *)((long)(x) * 0l)) : (int *)8)))
#define __vmx_const_field(f, dflt) __builtin_choose_expr(__vmx_is_constexpr(f), (f), (dflt))

#define __vmcs_width_check(f, ok, msg)						\
	((void)sizeof(struct {							\
		_Static_assert(ok(__vmx_const_field(f, VMCS_ACCESSOR_ANY)), msg); \
		int __dummy;							\
	}))

/* A non-constant encoding passes the compile-time check (see above). */
#define VMCS_ACCESSOR_ANY 0xffffffffu
#define __ok16(f) ((f) == VMCS_ACCESSOR_ANY || ((f) & 0x6000) == 0x0000)
#define __ok32(f) ((f) == VMCS_ACCESSOR_ANY || ((f) & 0x6000) == 0x4000 || ((f) & 0x6001) == 0x2001)
#define __ok64(f) ((f) == VMCS_ACCESSOR_ANY || ((f) & 0x6001) == 0x2000)
#define __okl(f)  ((f) == VMCS_ACCESSOR_ANY || ((f) & 0x6000) == 0x6000)

#define vmcs_check16(f) __vmcs_width_check(f, __ok16, "16-bit accessor invalid for this field")
#define vmcs_check32(f) __vmcs_width_check(f, __ok32, "32-bit accessor invalid for this field")
#define vmcs_check64(f) __vmcs_width_check(f, __ok64, "64-bit accessor invalid for this field")
#define vmcs_checkl(f)  __vmcs_width_check(f, __okl, "natural-width accessor invalid for this field")

/**
 * __vmcs_readl() - VMREAD; a failed VMREAD reads as 0 (see vmcs_read_checked())
 */
static inline u64 __vmcs_readl(u32 field)
{
	return vmx_op_vmread_val(field);
}

/**
 * vmcs_read_checked() - VMREAD reporting its outcome
 * Return: VMX_SUCCEED, VMX_FAIL_INVALID or VMX_FAIL_VALID (the error number is
 * then in VM_INSTRUCTION_ERROR).
 */
static inline enum vmx_status vmcs_read_checked(u32 field, u64 *val)
{
	return vmx_op_vmread(field, val);
}

#define vmcs_read16(f) (vmcs_check16(f), (u16)__vmcs_readl(f))
#define vmcs_read32(f) (vmcs_check32(f), (u32)__vmcs_readl(f))
#define vmcs_read64(f) (vmcs_check64(f), (u64)__vmcs_readl(f))
#define vmcs_readl(f)  (vmcs_checkl(f), (unsigned long)__vmcs_readl(f))
#define vmcs_read_natural(f) vmcs_readl(f)

/* VMWRITE: Return: the instruction's outcome (callers may ignore it, as Linux does). */
static inline enum vmx_status __vmcs_writel(u32 field, u64 val)
{
	return vmx_op_vmwrite(field, val);
}

#define vmcs_write16(f, v) (vmcs_check16(f), __vmcs_writel(f, (u16)(v)))
#define vmcs_write32(f, v) (vmcs_check32(f), __vmcs_writel(f, (u32)(v)))
#define vmcs_write64(f, v) (vmcs_check64(f), __vmcs_writel(f, (u64)(v)))
#define vmcs_writel(f, v)  (vmcs_checkl(f), __vmcs_writel(f, (u64)(v)))
#define vmcs_write_natural(f, v) vmcs_writel(f, v)

#define vmcs_clear_bits(f, mask) \
	(vmcs_check32(f), __vmcs_writel(f, __vmcs_readl(f) & ~(u32)(mask)))
#define vmcs_set_bits(f, mask) \
	(vmcs_check32(f), __vmcs_writel(f, __vmcs_readl(f) | (u32)(mask)))

/* A VMCS (or VMXON region) is a 4 KiB page of KVM's; its "physical address"
 * is its address in this process. */
static inline u64 __vmx_pa(const void *p)
{
	return (u64)(uintptr_t)p;
}

/** vmcs_clear() - VMCLEAR */
static inline enum vmx_status vmcs_clear(void *vmcs)
{
	return vmx_op_vmclear(__vmx_pa(vmcs));
}

/** vmcs_load() - VMPTRLD */
static inline enum vmx_status vmcs_load(void *vmcs)
{
	return vmx_op_vmptrld(__vmx_pa(vmcs));
}

/** vmcs_store() - VMPTRST */
static inline u64 vmcs_store(void)
{
	u64 pa = ~0ull;

	vmx_op_vmptrst(&pa);
	return pa;
}

/** cpu_vmxon() / cpu_vmxoff() - enter / leave VMX operation */
static inline enum vmx_status cpu_vmxon(void *vmxon_region)
{
	return vmx_op_vmxon(__vmx_pa(vmxon_region));
}

static inline enum vmx_status cpu_vmxoff(void)
{
	return vmx_op_vmxoff();
}

/* Root-operation control registers, for the VMCS host state (vmx_set_constant_host_state()). */
static inline u64 read_cr0(void)
{
	return vmx_op_read_cr0();
}

static inline u64 __read_cr3(void)
{
	return vmx_op_read_cr3();
}

/* CR4 of root operation: KVM sets CR4.VMXE before VMXON (kvm_cpu_vmxon()). */
static inline u64 __read_cr4(void)
{
	return vmx_op_read_cr4();
}

static inline void cr4_set_bits(u64 mask)
{
	vmx_op_write_cr4(vmx_op_read_cr4() | mask);
}

static inline void cr4_clear_bits(u64 mask)
{
	vmx_op_write_cr4(vmx_op_read_cr4() & ~mask);
}

/**
 * vmx_vcpu_enter() - VMLAUNCH (!@launched) or VMRESUME (@launched)
 * @regs: guest RAX..R15 (RSP unused), loaded at entry, saved at exit
 *
 * Return: VM_EXIT_REASON of the exit (bit 31: failed VM entry), or
 * VMX_ENTER_VMFAIL_VALID (read VM_INSTRUCTION_ERROR), VMX_ENTER_VMFAIL_INVALID,
 * VMX_ENTER_FAULT.
 */
static inline u32 vmx_vcpu_enter(u64 *regs, bool launched)
{
	return vmx_op_enter(regs, launched);
}

/*
 * vmx_guest_code_sync() - at KVM_RUN from user space, before the entry:
 * userspace may have written guest memory (code too) through its mapping
 * of a memslot since the last run; the next entry must run the bytes as
 * they are then (vmx_api.h vmx_op_code_sync(), not an Intel VMX feature:
 * silicon's instruction cache is coherent).  KVM's own writes and its
 * in-kernel exits need no call.
 */
static inline void vmx_guest_code_sync(void)
{
	vmx_op_code_sync();
}

/*
 * Registers the VMCS does not switch, on this processor in root operation
 * (KVM's native_read_cr2(), get_debugreg(), xsetbv(), rdmsrl()... around
 * VMLAUNCH; see vmx_api.h).
 */
static inline u64 native_read_cr2(void) { return vmx_op_read_cr2(); }
static inline void native_write_cr2(u64 val) { vmx_op_write_cr2(val); }
static inline u64 get_debugreg(int n) { return vmx_op_get_debugreg(n); }
static inline void set_debugreg(u64 val, int n) { vmx_op_set_debugreg(n, val); }
static inline u64 xgetbv(u32 index) { return vmx_op_xgetbv(index); }
static inline int xsetbv(u32 index, u64 val) { return vmx_op_xsetbv(index, val); }
static inline int rdmsrl_safe(u32 msr, u64 *val) { return vmx_op_rdmsr_cpu(msr, val); }
static inline int wrmsrl_safe(u32 msr, u64 val) { return vmx_op_wrmsr_cpu(msr, val); }
/* Linux's rdmsrl()/wrmsrl(): an MSR that does not exist reads as 0, writes are dropped. */
static inline u64 __rdmsrl(u32 msr)
{
	u64 v = 0;

	vmx_op_rdmsr_cpu(msr, &v);
	return v;
}
#define rdmsrl(msr, val) ((val) = __rdmsrl(msr))
static inline void wrmsrl(u32 msr, u64 val) { vmx_op_wrmsr_cpu(msr, val); }
static inline void cpu_fpu_save(void *buf) { vmx_op_fpu_save(buf); }
static inline void cpu_fpu_restore(const void *buf) { vmx_op_fpu_restore(buf); }
static inline u64 rdtsc(void) { return vmx_op_rdtsc(); }
/* CPUID of the host processor (Linux's cpuid_count()). */
static inline void cpuid_count(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx, u32 *ecx, u32 *edx)
{
	u32 r[4];

	vmx_op_cpuid(leaf, subleaf, r);
	*eax = r[0];
	*ebx = r[1];
	*ecx = r[2];
	*edx = r[3];
}

/** __invept() - INVEPT of type @ext (VMX_EPT_EXTENT_*) */
static inline enum vmx_status __invept(unsigned long ext, u64 eptp, u64 gpa)
{
	(void)gpa;	/* the descriptor's second quadword is reserved */
	return vmx_op_invept(ext, eptp);
}

/** __invvpid() - INVVPID of type @ext (VMX_VPID_EXTENT_*) */
static inline enum vmx_status __invvpid(unsigned long ext, u16 vpid, u64 gva)
{
	return vmx_op_invvpid(ext, vpid, gva);
}

/**
 * rdmsrl_vmx_cap() - read IA32_FEATURE_CONTROL or an IA32_VMX_* MSR
 * Return: 0 with *@val, or -1 if the MSR does not exist (RDMSR would #GP).
 */
static inline int rdmsrl_vmx_cap(u32 msr, u64 *val)
{
	return vmx_op_rdmsr(msr, val);
}

#endif
