// SPDX-License-Identifier: MIT
/*
 * KVM_TRANSLATE: guest-linear to guest-physical through KVM's walker
 * (src/x86/mmu/paging_tmpl.h), with paging off and in 4-level long mode.
 */
#include "runutil.h"

static void translate(struct tctx *t, struct tguest *g, uint64_t la)
{
	struct kvm_translation tr = { .linear_address = la };

	CHECK_OK(t, IOC(t, g->vcpu, KVM_TRANSLATE, &tr));
	t_printf(t, "translate %#llx: valid=%u gpa=%#llx writeable=%u usermode=%u",
		 (unsigned long long)la, tr.valid,
		 tr.valid ? (unsigned long long)tr.physical_address : 0ull, tr.writeable, tr.usermode);
}

KVM_CASE(translate_paging_off)
{
	struct tguest g;

	if (tg_create(t, &g) < 0)
		return;
	tg_set_mode(t, &g, g.vcpu, TG_REAL);
	translate(t, &g, 0x12345);
	translate(t, &g, 0xfffff);
	tg_set_mode(t, &g, g.vcpu, TG_PM32);
	translate(t, &g, 0x87654321);
	CHECK_ERR(t, IOC(t, g.vcpu, KVM_TRANSLATE, NULL), EFAULT);
	tg_destroy(&g);
}

KVM_CASE(translate_long_mode)
{
	struct tguest g;
	struct kvm_translation tr = { .linear_address = 0x201234 };

	if (tg_create(t, &g) < 0)
		return;
	tg_set_mode(t, &g, g.vcpu, TG_LONG);
	translate(t, &g, 0x1234);
	translate(t, &g, 0x201234);		/* second 2 MiB page */
	translate(t, &g, 0x3fffffff);		/* last byte of the 1 GiB */
	translate(t, &g, 0x40000000);		/* PDPT entry 1 is empty: not mapped */
	translate(t, &g, 0x0000800000000000ull);	/* non-canonical */
	translate(t, &g, 0xffff800000000000ull);	/* canonical, PML4 entry 256 empty */
	CHECK_EQ(IOC(t, g.vcpu, KVM_TRANSLATE, &tr), 0);
	CHECK(tr.valid && tr.physical_address == 0x201234, "valid %u gpa %#llx", tr.valid,
	      (unsigned long long)tr.physical_address);
	tg_destroy(&g);
}
