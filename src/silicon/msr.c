// SPDX-License-Identifier: MIT
/*
 * msr.c: the model-specific registers (SDM vol. 4) and CPUID.
 *
 * MSRs with an architectural effect live in struct cpu_state; MTRRs and
 * other MSRs that only need to read back what was written live in a small
 * file (msr_idx/msr_val).  Unknown MSRs #GP like on hardware.
 * Note, the IA32_VMX_* capability MSRs belong to the VMX engineer's code.
 */
#include "silicon/cpu.h"

static bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static bool is_mtrr(u32 idx)
{
	return (idx >= 0x200 && idx <= 0x20f) || idx == 0x250 || idx == 0x258 ||
	       idx == 0x259 || (idx >= 0x268 && idx <= 0x26f);
}

static u64 *msr_file(struct cpu *c, u32 idx, bool create)
{
	for (int k = 0; k < c->nmsr; k++)
		if (c->msr_idx[k] == idx)
			return &c->msr_val[k];
	if (!create || c->nmsr == (int)ARRAY_SIZE(c->msr_idx))
		return NULL;
	c->msr_idx[c->nmsr] = idx;
	c->msr_val[c->nmsr] = 0;
	return &c->msr_val[c->nmsr++];
}

static bool pat_valid(u64 v)
{
	for (int k = 0; k < 8; k++) {
		u8 t = (u8)(v >> (8 * k));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

int msr_read(struct cpu *c, u32 idx, u64 *v)
{
	struct cpu_state *s = &c->s;
	u64 *p;

	switch (idx) {
	case MSR_IA32_TSC: *v = cpu_rdtsc(c); return 0;
	case MSR_IA32_APIC_BASE: *v = s->apic_base; return 0;
	case MSR_IA32_FEATURE_CONTROL: *v = 1; return 0;	/* locked, VMX off */
	case MSR_IA32_TSC_ADJUST: p = msr_file(c, idx, false); *v = p ? *p : 0; return 0;
	case MSR_IA32_SPEC_CTRL: *v = 0; return 0;
	case MSR_IA32_BIOS_SIGN_ID: *v = 0; return 0;
	case 0x17: *v = 0; return 0;			/* IA32_PLATFORM_ID */
	case MSR_IA32_MTRRCAP: *v = 0x508; return 0;	/* 8 variable, fixed, WC */
	case 0x179: case 0x17a: *v = 0; return 0;	/* MCG_CAP, MCG_STATUS */
	case MSR_IA32_SYSENTER_CS: *v = s->sysenter_cs; return 0;
	case MSR_IA32_SYSENTER_ESP: *v = s->sysenter_esp; return 0;
	case MSR_IA32_SYSENTER_EIP: *v = s->sysenter_eip; return 0;
	case MSR_IA32_MISC_ENABLE: *v = s->misc_enable; return 0;
	case MSR_IA32_DEBUGCTL: *v = s->debugctl; return 0;
	case MSR_IA32_PAT: *v = s->pat; return 0;
	case MSR_IA32_MTRR_DEF_TYPE: *v = s->mtrr_def_type; return 0;
	case MSR_EFER: *v = s->efer; return 0;
	case MSR_STAR: *v = s->star; return 0;
	case MSR_LSTAR: *v = s->lstar; return 0;
	case MSR_CSTAR: *v = s->cstar; return 0;
	case MSR_FMASK: *v = s->fmask; return 0;
	case MSR_FS_BASE: *v = s->seg[CPU_SEG_FS].base; return 0;
	case MSR_GS_BASE: *v = s->seg[CPU_SEG_GS].base; return 0;
	case MSR_KERNEL_GS_BASE: *v = s->kernel_gs_base; return 0;
	case MSR_TSC_AUX: *v = s->tsc_aux; return 0;
	}
	if (is_mtrr(idx)) {
		p = msr_file(c, idx, false);
		*v = p ? *p : 0;
		return 0;
	}
	return -1;
}

int msr_write(struct cpu *c, u32 idx, u64 v)
{
	struct cpu_state *s = &c->s;
	u64 *p;

	cpu_nv_written(c);	/* SYSENTER, EFER, FS/GS base, PAT, DEBUGCTL among them */

	switch (idx) {
	case MSR_IA32_TSC:
		s->tsc_offset = v - (cpu_rdtsc(c) - s->tsc_offset);
		return 0;
	case MSR_IA32_APIC_BASE:
		if (v & ~0xfffffffffd00ull & ~0xc00ull)
			return -1;
		s->apic_base = v;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		p = msr_file(c, idx, true);
		if (!p)
			return -1;
		s->tsc_offset += v - *p;
		*p = v;
		return 0;
	case MSR_IA32_SPEC_CTRL:
		return (v & ~7ull) ? -1 : 0;
	case MSR_IA32_BIOS_SIGN_ID:
		return 0;
	case 0x17a:
		return v ? -1 : 0;
	case MSR_IA32_SYSENTER_CS: s->sysenter_cs = v & 0xffff; return 0;
	case MSR_IA32_SYSENTER_ESP:
		if (!canonical(v)) return -1;
		s->sysenter_esp = v; return 0;
	case MSR_IA32_SYSENTER_EIP:
		if (!canonical(v)) return -1;
		s->sysenter_eip = v; return 0;
	case MSR_IA32_MISC_ENABLE: s->misc_enable = v; return 0;
	case MSR_IA32_DEBUGCTL:
		if (v & ~3ull) return -1;
		s->debugctl = v; return 0;
	case MSR_IA32_PAT:
		if (!pat_valid(v)) return -1;
		s->pat = v; return 0;
	case MSR_IA32_MTRR_DEF_TYPE:
		if (v & ~0xcffull) return -1;
		s->mtrr_def_type = v; return 0;
	case MSR_EFER: {
		u64 allowed = CPU_EFER_SCE | CPU_EFER_LME | CPU_EFER_LMA | CPU_EFER_NXE;
		if (v & ~allowed)
			return -1;
		/* LME cannot change while paging is on (SDM 10.8.5) */
		if ((s->cr0 & CPU_CR0_PG) && ((v ^ s->efer) & CPU_EFER_LME))
			return -1;
		v = (v & ~CPU_EFER_LMA) | (s->efer & CPU_EFER_LMA);	/* LMA is read-only */
		if ((v ^ s->efer) & CPU_EFER_NXE)
			tlb_flush_all(c);
		s->efer = v;
		cpu_update_mode(c);
		return 0;
	}
	case MSR_STAR: s->star = v; return 0;
	case MSR_LSTAR:
		if (!canonical(v)) return -1;
		s->lstar = v; return 0;
	case MSR_CSTAR:
		if (!canonical(v)) return -1;
		s->cstar = v; return 0;
	case MSR_FMASK: s->fmask = (u32)v; return 0;
	case MSR_FS_BASE:
		if (!canonical(v)) return -1;
		s->seg[CPU_SEG_FS].base = v;
		cpu_update_mode(c);
		return 0;
	case MSR_GS_BASE:
		if (!canonical(v)) return -1;
		s->seg[CPU_SEG_GS].base = v;
		cpu_update_mode(c);
		return 0;
	case MSR_KERNEL_GS_BASE:
		if (!canonical(v)) return -1;
		s->kernel_gs_base = v; return 0;
	case MSR_TSC_AUX:
		if (v >> 32) return -1;
		s->tsc_aux = v; return 0;
	}
	if (is_mtrr(idx)) {
		p = msr_file(c, idx, true);
		if (!p)
			return -1;
		*p = v;
		return 0;
	}
	return -1;
}

int cpu_rdmsr(struct cpu *c, u32 msr, u64 *val)
{
	return msr_read(c, msr, val);
}

int cpu_wrmsr(struct cpu *c, u32 msr, u64 val)
{
	return msr_write(c, msr, val);
}

static void str4(u32 *r, const char *s)
{
	memcpy(r, s, 4);
}

/*
 * CPUID: what this processor implements, and nothing more (x87, MMX,
 * FXSR, SSE, SSE2, XSAVE with x87|SSE state, XSAVEOPT, XSAVEC included).
 */
void cpu_cpuid(struct cpu *c, u32 leaf, u32 sub, u32 out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	switch (leaf) {
	case 0:
		out[0] = 0xd;
		str4(&out[1], "Genu");
		str4(&out[3], "ineI");
		str4(&out[2], "ntel");
		break;
	case 1:
		out[0] = 0x000806f8;
		out[1] = (8u << 8) | (1u << 16);
		out[2] = BIT(3) | BIT(13) | BIT(17) | BIT(22) | BIT(23) | BIT(26);
		/* MONITOR CX16 PCID MOVBE POPCNT XSAVE */
		if (c->s.cr4 & CPU_CR4_OSXSAVE)
			out[2] |= BIT(27);	/* OSXSAVE mirrors CR4 */
		out[3] = BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(9) |
			 BIT(11) | BIT(13) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) |
			 BIT(24) | BIT(25) | BIT(26);
		/* FPU DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 */
		break;
	case 0xd:	/* XSAVE: x87 and SSE state, 576 bytes (SDM 13.2) */
		if (sub == 0) {
			out[0] = 3;
			out[1] = 576;	/* for the components enabled in XCR0: both fit in 576 */
			out[2] = 576;
		} else if (sub == 1) {
			out[0] = BIT(0) | BIT(1);	/* XSAVEOPT, XSAVEC */
			out[1] = 576;	/* XSAVEC size for XCR0 | IA32_XSS */
		}
		break;
	case 7:
		if (sub == 0) {
			out[1] = BIT(0) | BIT(6) | BIT(7) | BIT(10) | BIT(13) | BIT(20);
			/* FSGSBASE FDP_EXCPTN_ONLY SMEP INVPCID FCS/FDS-deprecated SMAP */
			out[2] = BIT(2) | BIT(16) | BIT(22);		/* UMIP LA57 RDPID */
		}
		break;
	case 5:		/* MONITOR/MWAIT: 64-byte lines, no C-state enumeration */
		out[0] = 64;
		out[1] = 64;
		out[2] = BIT(0) | BIT(1);	/* extensions enumerated, interrupt break */
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = BIT(0) | BIT(5);	/* LAHF/SAHF, LZCNT */
		out[3] = BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29);
		/* SYSCALL NX 1G pages RDTSCP LM */
		break;
	case 0x80000002: case 0x80000003: case 0x80000004: {
		static const char brand[48] = "userkvm silicon x86-64 (software)";
		memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
		break;
	}
	case 0x80000008:
		out[0] = 0x3930;	/* 48 physical, 57 linear address bits */
		break;
	}
}
