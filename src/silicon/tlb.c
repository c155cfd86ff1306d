// SPDX-License-Identifier: MIT
/*
 * tlb.c: the soft TLB and the memory slow paths.
 *
 * The TLB is direct mapped, one table per (user/supervisor, access kind),
 * each slot mapping a linear page straight to a host pointer.  A slot is
 * filled only after the page walk granted that kind of access (and set
 * the A/D bits it needs), so a hit needs no further checks.  Write slots
 * are never filled for pages holding decoded code: the first write to such
 * a page comes here and invalidates the code (icache.c).
 */
#include "silicon/cpu.h"
#include "silicon/ept.h"
#include "silicon/vmx_mmio.h"

void tlb_flush_all(struct cpu *c)
{
	for (int u = 0; u < 2; u++)
		for (int k = 0; k < ACC_NKIND; k++)
			for (unsigned n = 0; n < TLB_SIZE; n++)
				c->tlb[u][k][n].tag = 1;
	for (int u = 0; u < 2; u++)
		for (int k = 0; k < 2; k++)
			for (unsigned n = 0; n < 16; n++)
				c->mmio_tlb[u][k][n].tag = 1;
	c->tlb_has_large = false;
	c->link_epoch++;
}

void tlb_flush_page(struct cpu *c, u64 lin)
{
	if (c->tlb_has_large) {
		tlb_flush_all(c);
		return;
	}
	for (int u = 0; u < 2; u++)
		for (int k = 0; k < ACC_NKIND; k++) {
			struct tlb_entry *e = &c->tlb[u][k][(lin >> PAGE_SHIFT) & (TLB_SIZE - 1)];
			if (e->tag == (lin & ~(u64)0xfff))
				e->tag = 1;
		}
	for (int u = 0; u < 2; u++)
		for (int k = 0; k < 2; k++)
			c->mmio_tlb[u][k][(lin >> PAGE_SHIFT) & 15].tag = 1;
	c->link_epoch++;
}

void phys_root_xlate(struct cpu *c, u64 gpa, int kind, struct phys_xlate *out)
{
	gpa &= ~(u64)0xfff;
	for (int k = 0; k < c->nphys; k++) {
		const struct phys_range *r = &c->phys[k];
		if (gpa - r->gpa < r->size) {
			out->host = r->host + (gpa - r->gpa);
			out->writable = !(r->flags & CPU_PHYS_READONLY);
			return;
		}
	}
	out->host = NULL;
	out->writable = false;
}

/* Host pointer of guest-physical @gpa (RAM only), or NULL. */
u8 *phys_host_ptr(struct cpu *c, u64 gpa, int kind)
{
	struct phys_xlate px;

	c->phys_xlate(c, gpa, kind, &px);
	if (!px.host || (kind == ACC_W && !px.writable))
		return NULL;
	return px.host + (gpa & 0xfff);
}

static u64 mmio_read(struct cpu *c, u64 gpa, int size)
{
	u64 v = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;

	if (c->io && c->io->mmio) {
		if (c->io->mmio(c->io_opaque, c, gpa, size, false, &v))
			__atomic_or_fetch(&c->req, REQ_STOP, __ATOMIC_SEQ_CST);
		if (size < 8)
			v &= (1ull << (8 * size)) - 1;
	}
	return v;
}

static void mmio_write(struct cpu *c, u64 gpa, int size, u64 v)
{
	if (c->io && c->io->mmio)
		if (c->io->mmio(c->io_opaque, c, gpa, size, true, &v))
			__atomic_or_fetch(&c->req, REQ_STOP, __ATOMIC_SEQ_CST);
}

u64 phys_read(struct cpu *c, u64 gpa, int size)
{
	u8 *p = phys_host_ptr(c, gpa, ACC_R);
	return p ? ld(p, size) : mmio_read(c, gpa, size);
}

void phys_write(struct cpu *c, u64 gpa, int size, u64 val)
{
	u8 *p = phys_host_ptr(c, gpa, ACC_W);
	if (p) {
		st(p, size, val);
		code_page_written(c, (uintptr_t)p);
	} else {
		mmio_write(c, gpa, size, val);
	}
}

struct xl {
	u8 *host;	/* host address of the byte, NULL for MMIO */
	u64 gpa;
	struct tlb_entry *mmio;	/* the MMIO TLB slot to fill if MMIO, or NULL */
};

static bool canonical_lin(struct cpu *c, u64 lin)
{
	int bits = (c->s.cr4 & CPU_CR4_LA57) ? 57 : 48;
	return (u64)((s64)(lin << (64 - bits)) >> (64 - bits)) == lin;
}

/*
 * The MMIO TLB, [user][R/W]: linear page -> guest-physical page for data
 * pages with no host pointer, so that a device access does not walk the
 * page tables every time.
 *
 * Root operation: the page is outside every RAM range (io->mmio).
 *
 * VMX non-root operation: the final access to the page found its EPT
 * entry misconfigured (KVM's MMIO SPTEs); the slot keeps the guest-physical
 * page with MMIO_TLB_MISCONFIG, the misconfigured entry's level and, in
 * addend, its address.  A hit takes the EPT-misconfiguration exit at once,
 * provided that entry is still present and misconfigured: it is re-read
 * as a processor re-reads a leaf under its paging-structure caches, so an
 * entry KVM fixed (a new memslot) is seen even before the INVEPT.  The
 * slots are flushed with the rest of the TLB (INVEPT, INVVPID, MOV CR3,
 * INVLPG, VM entry without VPID).
 *
 * Note, why the linear -> guest-physical part may be kept although the
 * access never completes in hardware: the guest sees the access complete
 * (KVM emulates it), so to the guest it is a translation the TLB may hold
 * until it invalidates it; to KVM, every access still meets the EPT entry
 * as it is now, since that entry is read again.
 */
#define MMIO_TLB_MISCONFIG	BIT_ULL(0)
#define MMIO_TLB_LEVEL_SHIFT	1

static struct tlb_entry *mmio_slot(struct cpu *c, u64 lin, int kind)
{
	return &c->mmio_tlb[c->tlb_user][(kind & 3) == ACC_W][(lin >> PAGE_SHIFT) & 15];
}

/*
 * Translate the page of @lin for @kind, raising #PF/#GP, and fill the TLB
 * slot when the result is cacheable.
 */
static void translate(struct cpu *c, u64 lin, int kind, struct xl *x)
{
	bool implicit = kind & ACC_IMPLICIT;
	int k = kind & 3;
	bool user = !implicit && c->cpl == 3;
	bool user_page = true, cacheable, smap_dep;
	u64 gpa = lin;
	struct phys_xlate px;

	if ((c->s.efer & CPU_EFER_LMA) && !canonical_lin(c, lin))
		cpu_gp0(c);
	c->xlate_lin = lin;
	c->xlate_ctx = XLATE_WALK;
	if (c->s.cr0 & CPU_CR0_PG) {
		u64 e = paging_walk(c, lin, kind, user, true, &gpa, &user_page);
		if (e & BIT_ULL(31)) {
			c->xlate_ctx = XLATE_NONE;
			c->cr2_before_pf = c->s.cr2;
			c->s.cr2 = lin;
			cpu_fault(c, EXC_PF, (u32)e & 0xffff);
		}
	} else if (!(c->s.efer & CPU_EFER_LMA)) {
		gpa = lin & 0xffffffffull;
	}
	/*
	 * SMAP makes supervisor data access to user pages depend on AC: not
	 * cached.  Data breakpoints and alignment checks are looked at before
	 * the MMIO TLB on every access, but the RAM TLB's hits skip them.
	 */
	smap_dep = !user && user_page && (c->s.cr4 & CPU_CR4_SMAP) && k != ACC_X;
	cacheable = !implicit && !smap_dep && !((c->dbg_data || (c->ac_check && user)) && k != ACC_X);
	x->mmio = !implicit && !smap_dep && k != ACC_X && !(kind & ACC_NOFAULT) ?
		  mmio_slot(c, lin, kind) : NULL;
	c->xlate_ctx = XLATE_FINAL;
	c->xlate_mmio = c->vmx_nonroot ? x->mmio : NULL;
	c->phys_xlate(c, gpa, k, &px);
	c->xlate_mmio = NULL;
	c->xlate_ctx = XLATE_NONE;
	x->gpa = gpa;
	if (!px.host || (k == ACC_W && !px.writable)) {
		x->host = NULL;
		if (c->vmx_nonroot)
			x->mmio = NULL;	/* only misconfigurations are cached in non-root */
		return;
	}
	x->host = px.host + (gpa & 0xfff);
	if (k == ACC_W)
		code_page_written(c, (uintptr_t)px.host);
	if (!cacheable)
		return;
	{
		struct tlb_entry *e = &c->tlb[user][k][(lin >> PAGE_SHIFT) & (TLB_SIZE - 1)];
		e->tag = lin & ~(u64)0xfff;
		e->addend = (uintptr_t)px.host - (uintptr_t)(lin & ~(u64)0xfff);
		e->gpa = gpa & ~(u64)0xfff;
	}
}

void tlb_note_ept_misconfig(struct cpu *c, u64 gpa, u64 *entry, int level)
{
	struct tlb_entry *e = c->xlate_mmio;

	if (!e || !entry)
		return;
	e->tag = c->xlate_lin & ~(u64)0xfff;
	e->gpa = (gpa & ~(u64)0xfff) | MMIO_TLB_MISCONFIG | (u64)level << MMIO_TLB_LEVEL_SHIFT;
	e->addend = (uintptr_t)entry;
}

/* #AC(0) for a misaligned CPL3 data access with alignment checking on */
static __always_inline void ac_check(struct cpu *c, u64 lin, int size, int kind)
{
	if (unlikely(c->ac_check) && !(kind & ACC_IMPLICIT) && (kind & 3) != ACC_X &&
	    (lin & (u64)(size - 1)) && size <= 8)
		cpu_fault(c, EXC_AC, 0);
}

/* mmio_cached(): not in the MMIO TLB; the guest-physical address; the store (or load) is done */
enum { MMIO_MISS, MMIO_HIT, MMIO_DONE };

/*
 * A hit in the MMIO TLB for a data access within one page: in root
 * operation the guest-physical address (MMIO_HIT), in non-root operation
 * the EPT misconfiguration exit, which returns only for a store (@store)
 * or a load the host completed in place (MMIO_DONE: vmx_ept_misconfig_exit(),
 * vmx_ept_misconfig_exit_load(); a load's value in *@gpa).
 */
static __always_inline int mmio_cached(struct cpu *c, u64 lin, int kind, u64 *gpa, bool store,
				       int size)
{
	struct tlb_entry *e;

	if ((kind & ~3) || (kind & 3) == ACC_X)
		return MMIO_MISS;
	e = mmio_slot(c, lin, kind);
	if (e->tag != (lin & ~(u64)0xfff))
		return MMIO_MISS;
	if (e->gpa & MMIO_TLB_MISCONFIG) {
		const u64 *entry = (const u64 *)e->addend;
		int level = (int)(e->gpa >> MMIO_TLB_LEVEL_SHIFT) & 7;
		u64 v;

		if (!c->vmx_nonroot)
			return MMIO_MISS;
		v = __atomic_load_n(entry, __ATOMIC_ACQUIRE);
		if (!(v & VMX_EPT_RWX_MASK) || !ept_entry_misconfigured(v, level)) {
			e->tag = 1;	/* no longer misconfigured: walk again */
			return MMIO_MISS;
		}
		if (!store) {	/* the load of a MOV may be reported and done (*gpa: its value) */
			if (vmx_ept_misconfig_exit_load(c, (e->gpa & ~(u64)0xfff) | (lin & 0xfff), size, gpa))
				return MMIO_DONE;
		}
		vmx_ept_misconfig_exit(c, (e->gpa & ~(u64)0xfff) | (lin & 0xfff), store);
		return MMIO_DONE;
	}
	if (c->vmx_nonroot)
		return MMIO_MISS;
	*gpa = e->gpa | (lin & 0xfff);
	return MMIO_HIT;
}

/* Root operation: remember the MMIO page translate() found. */
static void mmio_remember(const struct xl *x, u64 lin)
{
	struct tlb_entry *e = x->mmio;

	if (!e)
		return;
	e->tag = lin & ~(u64)0xfff;
	e->gpa = x->gpa & ~(u64)0xfff;
}

void *mem_ptr_slow(struct cpu *c, u64 lin, int size, int kind)
{
	struct xl x, x2;

	if (unlikely(c->emul))
		return NULL;	/* emulate.c: no host pointers, accesses go one by one */
	ac_check(c, lin, size, kind);
	if (unlikely(c->dbg_data) && !(kind & ACC_IMPLICIT) && (kind & 3) != ACC_X)
		cpu_dbg_data_check(c, lin, size, (kind & 3) == ACC_W);
	if ((lin & 0xfff) + size > 4096) {
		translate(c, lin, kind, &x);
		translate(c, (lin | 0xfff) + 1, kind, &x2);
		return NULL;
	}
	translate(c, lin, kind, &x);
	return x.host;
}

static __attribute__((noinline)) u64 mem_read_slow_full(struct cpu *c, u64 lin, int size, int kind);

/*
 * A driver's load in VMX non-root operation from an MMIO page it read
 * before: as mem_write_slow() for a store, the hit in the MMIO TLB whose
 * EPT entry is still KVM's MMIO entry found first, and the exit (which
 * may report the load: vmx_ept_misconfig_exit_load()) at once.  Anything
 * else goes the full way, which finds the same.
 */
u64 mem_read_slow(struct cpu *c, u64 lin, int size, int kind)
{
	if (likely(kind == ACC_R && c->vmx_nonroot && !c->emul && !(c->dbg_data | c->ac_check) &&
		   (lin & 0xfff) + size <= 4096)) {
		/* mmio_slot() of a data read */
		const struct tlb_entry *e = &c->mmio_tlb[c->tlb_user][0][(lin >> PAGE_SHIFT) & 15];
		u64 gpa = e->gpa;

		if (likely(e->tag == (lin & ~(u64)0xfff) && (gpa & MMIO_TLB_MISCONFIG))) {
			u64 v = __atomic_load_n((const u64 *)e->addend, __ATOMIC_ACQUIRE);

			/* writable without readable: KVM's MMIO entry (ept_entry_misconfigured()'s first test) */
			if ((v & (VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK)) == VMX_EPT_WRITABLE_MASK &&
			    vmx_ept_misconfig_exit_load(c, (gpa & ~(u64)0xfff) | (lin & 0xfff), size, &v))
				return v;	/* done by the host (an exit taken in place) */
		}
	}
	return mem_read_slow_full(c, lin, size, kind);
}

static u64 mem_read_slow_full(struct cpu *c, u64 lin, int size, int kind)
{
	struct xl x, x2;
	u64 v = 0;

	if (unlikely(c->emul))
		return emul_read(c, lin, size, kind);
	ac_check(c, lin, size, kind);
	if (unlikely(c->dbg_data) && !(kind & ACC_IMPLICIT) && (kind & 3) != ACC_X)
		cpu_dbg_data_check(c, lin, size, false);
	if ((lin & 0xfff) + size > 4096) {
		unsigned first = 4096 - (lin & 0xfff);
		translate(c, lin, kind, &x);
		translate(c, (lin | 0xfff) + 1, kind, &x2);
		for (int b = 0; b < size; b++) {
			u64 byte;
			if ((unsigned)b < first)
				byte = x.host ? x.host[b] : mmio_read(c, x.gpa + b, 1);
			else
				byte = x2.host ? x2.host[b - first] : mmio_read(c, x2.gpa + b - first, 1);
			v |= byte << (8 * b);
		}
		return v;
	}
	switch (mmio_cached(c, lin, kind, &x.gpa, false, size)) {
	case MMIO_HIT:
		return mmio_read(c, x.gpa, size);
	case MMIO_DONE:
		return x.gpa;	/* a load the host did (VMX non-root operation): its value */
	}
	translate(c, lin, kind, &x);
	if (x.host)
		return ld(x.host, size);
	mmio_remember(&x, lin);
	return mmio_read(c, x.gpa, size);
}

static __attribute__((noinline)) void mem_write_slow_full(struct cpu *c, u64 lin, int size,
							  u64 val, int kind);

/*
 * The store of a device driver in VMX non-root operation, again and again
 * to the same MMIO page: a hit in the MMIO TLB whose EPT entry is still a
 * misconfiguration, found before anything else is set up (what
 * mem_write_slow_full() checks first is off: emulation, data breakpoints,
 * alignment checks; one page), and the exit in a tail call.  Anything else
 * goes the full way, which finds the same.
 */
void mem_write_slow(struct cpu *c, u64 lin, int size, u64 val, int kind)
{
	if (likely(kind == ACC_W && c->vmx_nonroot && !c->emul && !(c->dbg_data | c->ac_check) &&
		   (lin & 0xfff) + size <= 4096)) {
		/* mmio_slot() of a data write */
		const struct tlb_entry *e = &c->mmio_tlb[c->tlb_user][1][(lin >> PAGE_SHIFT) & 15];
		u64 gpa = e->gpa;

		if (likely(e->tag == (lin & ~(u64)0xfff) && (gpa & MMIO_TLB_MISCONFIG))) {
			u64 v = __atomic_load_n((const u64 *)e->addend, __ATOMIC_ACQUIRE);

			/* writable without readable: KVM's MMIO entry (ept_entry_misconfigured()'s first test) */
			if ((v & (VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK)) == VMX_EPT_WRITABLE_MASK) {
				vmx_ept_misconfig_exit_store(c, (gpa & ~(u64)0xfff) | (lin & 0xfff), size, val);
				return;
			}
		}
	}
	mem_write_slow_full(c, lin, size, val, kind);
}

static void mem_write_slow_full(struct cpu *c, u64 lin, int size, u64 val, int kind)
{
	struct xl x, x2;

	if (unlikely(c->emul)) {
		emul_write(c, lin, size, val, kind);
		return;
	}
	ac_check(c, lin, size, kind);
	if (unlikely(c->dbg_data) && !(kind & ACC_IMPLICIT))
		cpu_dbg_data_check(c, lin, size, true);
	if ((lin & 0xfff) + size > 4096) {
		unsigned first = 4096 - (lin & 0xfff);
		translate(c, lin, kind, &x);
		translate(c, (lin | 0xfff) + 1, kind, &x2);
		for (int b = 0; b < size; b++) {
			u8 byte = (u8)(val >> (8 * b));
			if ((unsigned)b < first) {
				if (x.host)
					x.host[b] = byte;
				else
					mmio_write(c, x.gpa + b, 1, byte);
			} else {
				if (x2.host)
					x2.host[b - first] = byte;
				else
					mmio_write(c, x2.gpa + b - first, 1, byte);
			}
		}
		return;
	}
	switch (mmio_cached(c, lin, kind, &x.gpa, true, size)) {
	case MMIO_HIT:
		mmio_write(c, x.gpa, size, val);
		return;
	case MMIO_DONE:
		return;		/* the host did the instruction (VMX non-root operation) */
	}
	translate(c, lin, kind, &x);
	if (x.host) {
		st(x.host, size, val);
	} else {
		mmio_remember(&x, lin);
		mmio_write(c, x.gpa, size, val);
	}
}

int cpu_read_phys(struct cpu *c, u64 gpa, void *buf, u64 len)
{
	u8 *d = buf;

	while (len) {
		u64 n = MIN(len, 4096 - (gpa & 0xfff));
		u8 *p = phys_host_ptr(c, gpa, ACC_R);
		if (!p)
			return -1;
		memcpy(d, p, n);
		d += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int cpu_write_phys(struct cpu *c, u64 gpa, const void *buf, u64 len)
{
	const u8 *s = buf;

	while (len) {
		u64 n = MIN(len, 4096 - (gpa & 0xfff));
		u8 *p = phys_host_ptr(c, gpa, ACC_W);
		if (!p)
			return -1;
		memcpy(p, s, n);
		code_page_written(c, (uintptr_t)p);
		s += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int cpu_translate(struct cpu *c, u64 linear, u64 *gpa)
{
	bool up;
	u64 e = paging_walk(c, linear, ACC_R | ACC_IMPLICIT | ACC_NOFAULT, false, false, gpa, &up);
	return (e & BIT_ULL(31)) ? -1 : 0;
}
