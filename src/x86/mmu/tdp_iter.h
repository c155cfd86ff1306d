/* SPDX-License-Identifier: MIT */
/*
 * A pre-order walk over the SPTEs that cover a GFN range
 * (arch/x86/kvm/mmu/tdp_iter.h): step down into present non-leaf entries,
 * sideways to the next entry, up when a table is done.
 */
#ifndef USERKVM_MMU_TDP_ITER_H
#define USERKVM_MMU_TDP_ITER_H

#include "x86/mmu/spte.h"

typedef u64 tdp_gfn_t;

struct tdp_iter {
	tdp_gfn_t next_last_level_gfn;	/* where to go after this entry */
	tdp_gfn_t gfn;			/* first GFN this entry maps */
	u64 *pt_path[PT64_ROOT_4LEVEL];	/* tables from the root down */
	u64 *sptep;
	u64 old_spte;			/* *sptep when the iterator read it */
	int level, root_level, min_level;
	bool valid;
};

void tdp_iter_start(struct tdp_iter *iter, u64 *root, int root_level, int min_level,
		    tdp_gfn_t start);
void tdp_iter_next(struct tdp_iter *iter);

/* Every SPTE covering [start, end) at levels >= min_level. */
#define for_each_tdp_pte_min_level(iter, root, root_level, min_level, start, end)	\
	for (tdp_iter_start(&(iter), root, root_level, min_level, start);		\
	     (iter).valid && (iter).gfn < (end);					\
	     tdp_iter_next(&(iter)))

#define for_each_tdp_pte(iter, root, root_level, start, end) \
	for_each_tdp_pte_min_level(iter, root, root_level, PG_LEVEL_4K, start, end)

static inline u64 tdp_read_spte(u64 *sptep)
{
	return __atomic_load_n(sptep, __ATOMIC_ACQUIRE);
}

#endif
