// SPDX-License-Identifier: MIT
/*
 * API conformance: the guest's x87/SSE state through KVM_GET/SET_FPU and
 * KVM_GET/SET_XSAVE around KVM_RUN.  The guest (fpu_guests.S) computes
 * with SSE; the ioctls must show the processor's registers after the exit,
 * and what they set must be what the guest finds in its registers when it
 * runs again.  Run on the host's KVM and on userkvm, transcripts compared.
 */
#include <stdio.h>
#include <string.h>

#include "runutil.h"

GUEST_DECL(g_lm_sse);
GUEST_DECL(g_lm_sse_mmio);

#define XMM_IN	(DATA)
#define MXCSR_IN (DATA + 0x100)
#define XMM_OUT	(DATA + 0x200)
#define MXCSR_OUT (DATA + 0x300)

static uint32_t u32_at(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/*
 * Long mode at CPL3 with IOPL 3 and CR4.OSFXSR|OSXMMEXCPT: user pages,
 * user segments 0x2b (data) and 0x33 (64-bit code).  PVM KVM emulates CPL0
 * code and its emulator lacks most SSE, user code it runs natively.
 */
static void user_mode_sse(struct tctx *t, struct tguest *g)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment data = t_flat_seg(0x2b, 3, 0);
	uint64_t d;

	d = 0x00cff3000000ffffull;
	memcpy(g->mem + GDT + 0x28, &d, 8);
	d = 0x00affb000000ffffull;
	memcpy(g->mem + GDT + 0x30, &d, 8);
	g->mem[PT_BASE] |= 4;
	g->mem[0x6000] |= 4;
	for (int i = 0; i < 512; i++)
		g->mem[0x7000 + 8 * i] |= 4;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_SREGS, &s));
	s.gdt.limit = 0x37;
	s.cs = t_flat_seg(0x33, 11, 1);
	s.cs.dpl = 3;
	data.dpl = 3;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr4 |= 0x600;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_SREGS, &s));
	CHECK_OK(t, IOC(t, g->vcpu, KVM_GET_REGS, &r));
	r.rflags = 0x3002;
	CHECK_OK(t, IOC(t, g->vcpu, KVM_SET_REGS, &r));
}

KVM_CASE(run_sse_state)
{
	struct tguest g;
	static struct kvm_xsave x;
	unsigned char *xb = (unsigned char *)x.region;
	struct kvm_fpu f;
	unsigned char xin[256];
	uint32_t a[4], b[4], want[4];
	float p[4], q[4];
	uint64_t xstate_bv;

	if (tg_start(t, &g, g_lm_sse, TG_LONG) < 0)
		return;
	user_mode_sse(t, &g);
	for (int i = 0; i < 256; i++)
		xin[i] = (unsigned char)(i * 29 + 3);
	/* xmm2/xmm3: floats whose sum rounds differently toward -inf */
	for (int i = 0; i < 4; i++) {
		p[i] = 1.0f + (float)i / 3.0f;
		q[i] = 1e-7f * (float)(i + 1);
	}
	memcpy(xin + 32, p, 16);
	memcpy(xin + 48, q, 16);
	memcpy(g.mem + XMM_IN, xin, 256);
	memcpy(g.mem + MXCSR_IN, &(uint32_t){ 0x3f80 }, 4);	/* round down, all masked */

	if (tg_run_to_port(t, &g, 0x10))
		goto out;
	memset(&f, 0, sizeof(f));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_FPU, &f));
	t_hex(t, "fpu.xmm", f.xmm, sizeof(f.xmm));
	t_printf(t, "fpu: fcw=%#x fsw=%#x ftwx=%#x", f.fcw, f.fsw, f.ftwx);
	memcpy(a, xin, 16);
	memcpy(b, xin + 16, 16);
	for (int i = 0; i < 4; i++)
		want[i] = a[i] + b[i];
	CHECK(!memcmp(f.xmm[0], want, 16), "xmm0 is not the PADDD result");
	CHECK(!memcmp(f.xmm[9], xin + 144, 16), "xmm9 is not what the guest loaded");
	CHECK_EQ(u64_at(f.xmm[6]) | u64_at(f.xmm[6] + 8), 0);	/* PXOR */
	CHECK_EQ(f.fcw, 0x37f);
	memset(&x, 0, sizeof(x));
	CHECK_OK(t, IOC(t, g.vcpu, KVM_GET_XSAVE, &x));
	t_hex(t, "xsave.xmm", xb + 160, 256);
	memcpy(&xstate_bv, xb + 512, 8);
	t_printf(t, "xsave: mxcsr=%#x xstate_bv.sse=%llu", u32_at(xb + 24),
		 (unsigned long long)(xstate_bv & 2) >> 1);
	CHECK(!memcmp(xb + 160, f.xmm, 256), "KVM_GET_XSAVE and KVM_GET_FPU differ");
	CHECK(xstate_bv & 2, "XSTATE_BV.SSE clear with XMM registers in use");
	CHECK_EQ(u32_at(xb + 24) & ~0x3fu, 0x3f80);

	/* KVM_SET_XSAVE: new XMM values and MXCSR; the guest stores them */
	for (int i = 0; i < 256; i++)
		xb[160 + i] = (unsigned char)(0xf0 - i);
	memcpy(xb + 24, &(uint32_t){ 0x9fc0 }, 4);	/* FZ, DAZ, all masked */
	xstate_bv = 3;
	memcpy(xb + 512, &xstate_bv, 8);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_XSAVE, &x));
	if (tg_run_to_port(t, &g, 0x11))
		goto out;
	t_printf(t, "guest after SET_XSAVE: mxcsr=%#x xmm == set: %d", u32_at(g.mem + MXCSR_OUT),
		 !memcmp(g.mem + XMM_OUT, xb + 160, 256));
	CHECK(!memcmp(g.mem + XMM_OUT, xb + 160, 256), "the guest's XMM are not KVM_SET_XSAVE's");
	CHECK_EQ(u32_at(g.mem + MXCSR_OUT), 0x9fc0);

	/* XSTATE_BV.SSE = 0: the registers take their initial (zero) values */
	xstate_bv = 1;
	memcpy(xb + 512, &xstate_bv, 8);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_XSAVE, &x));
	if (tg_run_to_port(t, &g, 0x11))
		goto out;
	{
		static const unsigned char zero[256];
		t_printf(t, "guest after SET_XSAVE(bv=1): xmm zero: %d",
			 !memcmp(g.mem + XMM_OUT, zero, 256));
		CHECK(!memcmp(g.mem + XMM_OUT, zero, 256), "XMM not initialized");
	}

	/* KVM_SET_FPU: the XMM registers (MXCSR is not part of it) */
	memset(&f, 0, sizeof(f));
	f.fcw = 0x37f;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			f.xmm[i][j] = (unsigned char)(i * 16 + j);
	CHECK_OK(t, IOC(t, g.vcpu, KVM_SET_FPU, &f));
	if (tg_run_to_port(t, &g, 0x11))
		goto out;
	t_printf(t, "guest after SET_FPU: mxcsr=%#x xmm == set: %d", u32_at(g.mem + MXCSR_OUT),
		 !memcmp(g.mem + XMM_OUT, f.xmm, 256));
	t_hex(t, "guest xmm after SET_FPU", g.mem + XMM_OUT, 64);
out:
	tg_destroy(&g);
}

/*
 * MOVDQU/MOVAPS/MOVUPS between XMM registers and MMIO: the exits
 * (address, length, data) KVM's emulator produces, and the values read
 * back.  Note, KVM's emulator has no MOVD/MOVQ (KVM_EXIT_INTERNAL_ERROR);
 * the processor's emulation assist does them, so they are not compared.
 */
KVM_CASE(run_sse_mmio)
{
	struct tguest g;
	unsigned char want[32];
	int n = 0;

	if (tg_start(t, &g, g_lm_sse_mmio, TG_LONG) < 0)
		return;
	user_mode_sse(t, &g);
	for (int i = 0; i < 16; i++)
		g.mem[DATA + i] = (unsigned char)(0xa0 + i);
	for (int i = 0; i < 20; i++) {
		struct kvm_run *run = g.run;

		if (tg_run(t, &g) < 0)
			break;
		if (run->exit_reason != KVM_EXIT_MMIO)
			break;
		if (run->mmio.is_write) {
			t_hex(t, "mmio write data", run->mmio.data, run->mmio.len);
		} else {
			for (unsigned int j = 0; j < run->mmio.len; j++)
				run->mmio.data[j] = (unsigned char)(0x11 * (n + 1) + j);
			n++;
		}
	}
	CHECK_EQ(g.run->exit_reason, KVM_EXIT_IO);
	t_hex(t, "xmm1 from mmio", g.mem + DATA + 0x200, 16);
	t_hex(t, "xmm2 from mmio", g.mem + DATA + 0x210, 16);
	/* 16-byte reads come in two 8-byte halves */
	for (int j = 0; j < 8; j++) {
		want[j] = (unsigned char)(0x11 + j);
		want[8 + j] = (unsigned char)(0x22 + j);
		want[16 + j] = (unsigned char)(0x33 + j);
		want[24 + j] = (unsigned char)(0x44 + j);
	}
	CHECK(!memcmp(g.mem + DATA + 0x200, want, 16), "MOVDQU from MMIO");
	CHECK(!memcmp(g.mem + DATA + 0x210, want + 16, 16), "MOVUPS from MMIO");
	tg_destroy(&g);
}
