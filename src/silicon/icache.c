// SPDX-License-Identifier: MIT
/*
 * icache.c: the decoded-instruction cache.
 *
 * Blocks (runs of decoded instructions ending at a branch, a mode-changing
 * instruction, BLOCK_MAX_INSNS or the page end) are keyed by the
 * guest-physical address of their first byte and the code size; they are
 * position independent (handlers take RIP from the cpu), so two linear
 * aliases share a block.
 *
 * Invalidation works on host pages, so every vCPU sharing the memory sees
 * it: code_mark[] says "some cpu decoded code from this page", code_gen[]
 * is bumped when such a page is written.  A block records the generation
 * of its page and is checked against it on entry.  Write TLB slots are
 * never filled for marked pages (tlb.c), and marking a page makes every
 * cpu drop its write slots (REQ_WTLB), so no write can slip past.  Slots
 * are a hash of the host page, so a collision only causes a spurious
 * re-decode.
 *
 * Note, another vCPU's write is noticed at this cpu's next block entry,
 * which is within the SDM's cross-modifying-code rules (8.1.3: the
 * executing processor must serialise before running modified code).
 *
 * Writes by the VMM through its own mapping are not seen this way: a
 * KVM_RUN from user space says they may have happened (cpu_code_sync()),
 * and each block compares its bytes with its copy before it runs again
 * (icache_verify(), at the end of this file).
 */
#include <pthread.h>
#include <stdlib.h>

#include "silicon/cpu.h"
#include "silicon/decode.h"

#define HASH_BITS 14
#define ARENA_SIZE (8u << 20)

u32 code_gen[1u << CODE_SLOTS_BITS];
u8 code_mark[1u << CODE_SLOTS_BITS];
u32 code_wgen;

static pthread_mutex_t cpus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cpu *all_cpus;

int icache_init(struct cpu *c)
{
	c->blk_hash = calloc(1u << HASH_BITS, sizeof(*c->blk_hash));
	c->arena = malloc(ARENA_SIZE);
	c->tmp_block = malloc(sizeof(struct block) + 2 * sizeof(struct insn));
	if (!c->blk_hash || !c->arena || !c->tmp_block) {
		free(c->blk_hash);
		free(c->arena);
		free(c->tmp_block);
		return -1;
	}
	c->arena_size = ARENA_SIZE;
	pthread_mutex_lock(&cpus_lock);
	c->next_cpu = all_cpus;
	all_cpus = c;
	pthread_mutex_unlock(&cpus_lock);
	return 0;
}

void icache_free(struct cpu *c)
{
	pthread_mutex_lock(&cpus_lock);
	for (struct cpu **p = &all_cpus; *p; p = &(*p)->next_cpu) {
		if (*p == c) {
			*p = c->next_cpu;
			break;
		}
	}
	pthread_mutex_unlock(&cpus_lock);
	free(c->blk_hash);
	free(c->arena);
	free(c->tmp_block);
}

void icache_flush(struct cpu *c)
{
	memset(c->blk_hash, 0, (1u << HASH_BITS) * sizeof(*c->blk_hash));
	c->arena_used = 0;
	c->link_epoch++;
	c->icache_gen++;
	memset(c->jc, 0, sizeof(c->jc));	/* its blocks are gone */
}

void code_page_written(struct cpu *c, uintptr_t host)
{
	u32 slot = code_slot(host);

	if (likely(!__atomic_load_n(&code_mark[slot], __ATOMIC_RELAXED)))
		return;
	__atomic_store_n(&code_mark[slot], 0, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&code_gen[slot], 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&code_wgen, 1, __ATOMIC_SEQ_CST);
	/*
	 * Every cpu leaves its block chain at its next block end and drops
	 * its links (REQ_CODE: cpu.c boundary() bumps link_epoch), so that a
	 * block's end checks link_epoch alone (run_block()).
	 */
	pthread_mutex_lock(&cpus_lock);
	for (struct cpu *o = all_cpus; o; o = o->next_cpu)
		__atomic_or_fetch(&o->req, REQ_CODE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&cpus_lock);
	/*
	 * Self-modifying code: stop the running block after this insn, by
	 * run_end (the loops that test it) and by making the next insn
	 * op_smc_stop() (run_block(), which does not).  The block is stale
	 * now (its slot's generation moved), so it is never run again.
	 */
	if (c && c->cur_block && c->cur_block->slot == slot) {
		struct block *b = (struct block *)c->cur_block;
		u64 off = c->s.rip - c->blk_base;

		c->run_end = b->insn;
		for (int k = 0; k + 1 < b->n; k++)
			if (b->insn[k].off == off) {
				b->insn[k + 1].fn = op_smc_stop;
				break;
			}
	}
}

void code_page_mark(struct cpu *c, uintptr_t host)
{
	u32 slot = code_slot(host);

	if (__atomic_load_n(&code_mark[slot], __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&code_mark[slot], 1, __ATOMIC_SEQ_CST);
	/* Our own write slots for this page go now, the others' at their next block. */
	for (int u = 0; u < 2; u++)
		for (unsigned k = 0; k < TLB_SIZE; k++) {
			struct tlb_entry *e = &c->tlb[u][ACC_W][k];
			if (e->tag != 1 && code_slot(e->tag + e->addend) == slot)
				e->tag = 1;
		}
	pthread_mutex_lock(&cpus_lock);
	for (struct cpu *o = all_cpus; o; o = o->next_cpu)
		if (o != c)
			__atomic_or_fetch(&o->req, REQ_WTLB, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&cpus_lock);
}

static inline u32 hash_of(u64 gpa, u32 mode)
{
	return (u32)(((gpa ^ ((u64)mode << 56)) * 0x9E3779B97F4A7C15ull) >> (64 - HASH_BITS));
}

#define MODE_KEY (MODE_CS64 | MODE_CS32)

/* Decode one instruction that straddles a page into the temporary block. */
static struct block *decode_split(struct cpu *c, u64 lin, u64 gpa)
{
	struct block *b = c->tmp_block;
	u8 buf[16];
	int len;

	for (int k = 0; k < 15; k++)
		buf[k] = (u8)mem_read_slow(c, lin + k, 1, ACC_X);
	len = cpu_decode(c, buf, 15, &b->insn[0]);
	if (len < 0)
		cpu_gp0(c);
	b->gpa = gpa;
	b->rip = c->s.rip;
	b->mode = c->mode & MODE_KEY;
	b->n = 1;
	b->ndisp = 1;
	block_set_disp(b);
	b->fused = false;
	b->bytes = (u16)len;
	b->cached = false;
	b->vgen = c->vmm_gen;	/* decoded from the bytes as they are: for this run only */
	b->host = b->code = NULL;
	b->self_epoch = ~0ull;
	b->slot = 0;
	b->gen = code_gen[0];
	block_unlink(b);
	b->link_epoch = 0;
	b->link_wgen = 0;
	return b;
}

static struct block *decode_block(struct cpu *c, u64 lin, u64 gpa, u8 *page, u32 h,
					u64 limit_left)
{
	size_t need = sizeof(struct block) + BLOCK_MAX_INSNS * (sizeof(struct insn) + 15);
	unsigned off = lin & 0xfff;
	struct block *b;
	int n = 0;
	u32 slot = code_slot((uintptr_t)page);

	if (c->arena_used + need > c->arena_size)
		icache_flush(c);
	b = (struct block *)(c->arena + c->arena_used);
	while (n < BLOCK_MAX_INSNS && off < 4096) {
		int avail = 4096 - off;
		int len;
		if ((u64)avail > limit_left)
			avail = (int)limit_left;
		len = cpu_decode(c, page + off, avail, &b->insn[n]);
		if (len <= 0) {
			if (n == 0) {
				if (len < 0 || limit_left <= 4096u - off)
					cpu_gp0(c);	/* too long, or past the CS limit */
				return decode_split(c, lin, gpa);
			}
			break;
		}
		b->insn[n].off = (u16)(off - (lin & 0xfff));
		n++;
		off += len;
		limit_left -= (u64)len;
		if (b->insn[n - 1].flags & IF_TERM)
			break;
	}
	/*
	 * Dead flags: walk back from the block end, where every flag is live.
	 * They are dead only if the whole block runs: a run that stops inside
	 * it uses cpu_exec_exact() (cpu.c).
	 */
	{
		u32 live = FLAGS_ARITH, def, use;
		for (int k = n - 1; k >= 0; k--) {
			insn_flags(&b->insn[k], &def, &use);
			if (def && !(def & live)) {
				insn_fn nf = alu_flagless(b->insn[k].fn);
				b->insn[k].flags |= IF_FDEAD;
				if (nf)
					b->insn[k].fn = nf;
			}
			live = (live & ~def) | use;
		}
	}
	/*
	 * INC/DEC keep CF: when the last instruction before them that sets CF
	 * is in the block and is a logic op, CF is 0 and needs no computing;
	 * when it is an ADD/SUB/CMP, the INC/DEC expects its lazy flags
	 * (incdec_after(): one test, then one compare).
	 * The walk stops at anything insn_flags() does not describe exactly.
	 */
	for (int k = 1; k < n; k++) {
		insn_fn f = incdec_after_logic(b->insn[k].fn);
		if (!f)
			continue;
		for (int j = k - 1; j >= 0; j--) {
			u32 def, use;
			insn_flags(&b->insn[j], &def, &use);
			if (def & CPU_FLAG_CF) {
				insn_fn a = incdec_after(b->insn[k].fn, b->insn[j].fn);
				if (alu_clears_cf(b->insn[j].fn))
					b->insn[k].fn = f;
				else if (a)
					b->insn[k].fn = a;
				break;
			}
			if (!def && use == FLAGS_ARITH)
				break;
		}
	}
	/* a block ending in CMP/SUB/INC/DEC/TEST; Jcc: one handler runs the pair */
	b->fused = false;
	if (n >= 2) {
		int cc = -1;
		for (int k = 0; k < 16; k++)
			if (b->insn[n - 1].fn == jcc_tab[k])
				cc = k;
		insn_fn f = cc >= 0 ? fuse_jcc(b->insn[n - 2].fn, cc) : NULL;
		if (f) {
			const struct insn *j = &b->insn[n - 1];
			b->fused = true;
			b->pair_first = b->insn[n - 2].fn;
			b->insn[n - 2].fn = f;
			/* a loop: the taken branch goes back to the block base (canonical, fetched) */
			if (c->code64 && (u64)j->off + j->len + j->imm == 0)
				b->insn[n - 2].flags |= IF_LOOP;
		}
	}
	code_page_mark(c, (uintptr_t)page);
	b->gpa = gpa;
	b->rip = c->s.rip;
	b->mode = c->mode & MODE_KEY;
	b->n = (u16)n;
	b->ndisp = (u16)(b->fused ? n - 1 : n);
	block_set_disp(b);
	b->bytes = (u16)(off - (lin & 0xfff));
	b->cached = true;
	b->slot = slot;
	b->gen = __atomic_load_n(&code_gen[slot], __ATOMIC_SEQ_CST);
	block_unlink(b);
	b->link_epoch = c->link_epoch;
	b->link_wgen = __atomic_load_n(&code_wgen, __ATOMIC_RELAXED);
	b->hnext = c->blk_hash[h];
	c->blk_hash[h] = b;
	/* the bytes decoded, for icache_verify() (a VMM's write checks against them) */
	b->host = page + (lin & 0xfff);
	b->code = (const u8 *)&b->insn[n];
	memcpy((u8 *)&b->insn[n], b->host, b->bytes);
	b->vgen = c->vmm_gen;
	b->self_epoch = ~0ull;
	c->arena_used += ALIGN_UP(sizeof(struct block) + n * sizeof(struct insn) + b->bytes, 16);
	return b;
}

/*
 * Make @i end a segment of @b's pass (cpu.h), as decode does for the
 * instructions that exit in place: the block, its count, its links and
 * the dead-flag marks stay as they are (the walk met @i's use of every
 * flag: a memory access may fault or exit, insn_flags()).  Its register
 * r/m byte holds the segment's length (a memory operand: none).  Return:
 * false if not made (not cached, @i the last dispatched or a fused
 * pair's, not a memory form, or already a segment's end).
 */
bool icache_seg_after(struct cpu *c, struct block *b, const struct insn *i)
{
	u32 n = (u32)(i - b->insn) + 1;

	if (!b->cached || n >= b->ndisp || !(i->flags & IF_MEM) || (i->flags & IF_SEG))
		return false;
	((struct insn *)i)->flags |= IF_SEG;
	block_set_disp(b);
	return true;
}

/*
 * The block at CS:RIP.  Fetch faults (#PF, #GP for the CS limit or a
 * non-canonical RIP) are raised here, before anything executes.
 */
struct block *icache_lookup(struct cpu *c)
{
	u64 rip = c->s.rip, lin, gpa, limit_left = ~0ull;
	struct tlb_entry *e;
	struct block *b, **pp;
	u32 mode = c->mode & MODE_KEY, h;
	u8 *page;

	c->cur_block = NULL;	/* a fetch fault retires nothing of the last block */
	if (c->code64) {
		lin = rip;
	} else {
		u32 lim = c->s.seg[CPU_SEG_CS].limit;
		if (rip > lim)
			cpu_gp0(c);
		limit_left = (u64)lim - rip + 1;
		lin = (c->s.seg[CPU_SEG_CS].base + rip) & 0xffffffffull;
	}
	e = tlb_slot(c, lin, ACC_X);
	if (unlikely(e->tag != (lin & ~(u64)0xfff))) {
		void *p = mem_ptr_slow(c, lin, 1, ACC_X);
		if (!p || e->tag != (lin & ~(u64)0xfff)) {
			/* not cacheable (MMIO, SMAP-free user page...): decode uncached */
			u64 g;
			bool up;
			u64 err = paging_walk(c, lin, ACC_X | ACC_NOFAULT, false, false, &g, &up);
			return decode_split(c, lin, err ? 0 : g);
		}
	}
	gpa = e->gpa | (lin & 0xfff);
	page = (u8 *)(uintptr_t)((lin & ~(u64)0xfff) + e->addend);
	h = hash_of(gpa, mode);
	for (pp = &c->blk_hash[h]; (b = *pp) != NULL; pp = &b->hnext) {
		if (b->gpa != gpa || b->mode != mode)
			continue;
		if (unlikely(b->gen != __atomic_load_n(&code_gen[b->slot], __ATOMIC_RELAXED))) {
			*pp = b->hnext;	/* stale: the page was written */
			break;
		}
		if (unlikely(b->bytes > limit_left))
			break;	/* decoded past today's CS limit: decode again */
		/* the VMM may have written since it was compared (cpu_code_sync()) */
		if (unlikely(b->vgen != c->vmm_gen) && !icache_verify(c, b)) {
			*pp = b->hnext;
			break;
		}
		return b;
	}
	return decode_block(c, lin, gpa, page, h, limit_left);
}

void cpu_code_written(const void *host, u64 len)
{
	uintptr_t p = (uintptr_t)host & ~(uintptr_t)0xfff;
	uintptr_t end = (uintptr_t)host + len;

	for (; p < end; p += PAGE_SIZE)
		code_page_written(NULL, p);
}

/*
 * Writes by the VMM.  The VMM writes guest memory through its own
 * mapping, which nothing here sees (protecting the pages would make its
 * read() into them fail and cost system calls), and on real hardware the
 * instruction cache is coherent and a VM entry serialising: a KVM_RUN
 * runs the bytes as they are then.  So at each KVM_RUN from user space
 * KVM says "the VMM may have written" (vmx_op_code_sync(), vmx_api.h;
 * taken at the next VM entry) and each block, before it runs again,
 * compares its bytes with the copy
 * made at decode (icache_verify()): once per block and signal, lazily,
 * where the run reaches it.  A difference counts as a write to its page
 * (code_page_written(): every cpu's blocks from it go, at once).
 *
 * Note, another vCPU sees the write at its own next KVM_RUN from user
 * space, or as soon as any vCPU has found it: the SDM (8.1.3, cross-
 * modifying code) wants the executing processor to serialise before it
 * runs modified code, and a VM entry does; the in-kernel entries (after
 * CPUID, EPT violations...) are not signalled, so a vCPU that never
 * exits to user space keeps running what it decoded until then.
 */

/*
 * Its callers know @b cached and its page's generation current (a link,
 * resume() or the exit in place checked code_wgen; a lookup the slot).
 */
static __always_inline bool verify(struct cpu *c, struct block *b)
{
	if (b->vgen == c->vmm_gen)
		return true;
	if (unlikely(!cpu_bytes_equal(b->host, b->code, b->bytes))) {
		code_page_written(NULL, (uintptr_t)b->host & ~(uintptr_t)0xfff);
		return false;
	}
	b->vgen = c->vmm_gen;
	return true;
}

bool icache_verify(struct cpu *c, struct block *b)
{
	return verify(c, b);
}

bool icache_links_recheck(struct cpu *c, struct block *b)
{
	if (!b->cached || !icache_epoch_soft(c, b->link_epoch) ||
	    b->link_wgen != __atomic_load_n(&code_wgen, __ATOMIC_RELAXED))
		return false;
	for (int k = 0; k < 2; k++)
		if (b->link[k] && !verify(c, b->link[k]))
			return false;
	b->link_epoch = c->link_epoch;
	return true;
}

/*
 * The block's links are left to run_loop() (icache_links_recheck(), when
 * the run leaves it); its branch back to its own start holds at once
 * (self_epoch: run_block()).
 */
bool cpu_cont_revalidate(struct cpu *c)
{
	struct block *b = (struct block *)c->cur_block;

	if (__atomic_load_n(&c->req, __ATOMIC_RELAXED) ||
	    c->cont_wgen != __atomic_load_n(&code_wgen, __ATOMIC_RELAXED) ||
	    !icache_epoch_soft(c, c->cont_epoch) || !verify(c, b))
		return false;
	b->self_epoch = c->link_epoch;
	c->cont_epoch = c->link_epoch;
	return true;
}
