// SPDX-License-Identifier: MIT
/* The TDP SPTE iterator (arch/x86/kvm/mmu/tdp_iter.c). */
#include "x86/mmu/tdp_iter.h"

static tdp_gfn_t gfn_round_for_level(tdp_gfn_t gfn, int level)
{
	return gfn & ~(kvm_pages_per_hpage(level) - 1);
}

static void tdp_iter_refresh_sptep(struct tdp_iter *iter)
{
	u64 *pt = iter->pt_path[iter->level - 1];

	iter->sptep = pt + spte_index(iter->gfn << PAGE_SHIFT, iter->level);
	iter->old_spte = tdp_read_spte(iter->sptep);
}

void tdp_iter_start(struct tdp_iter *iter, u64 *root, int root_level, int min_level,
		    tdp_gfn_t start)
{
	iter->next_last_level_gfn = start;
	iter->root_level = root_level;
	iter->min_level = min_level;
	iter->level = root_level;
	iter->pt_path[root_level - 1] = root;
	iter->gfn = gfn_round_for_level(start, root_level);
	iter->valid = root != NULL;
	if (iter->valid)
		tdp_iter_refresh_sptep(iter);
}

/* Into the child table of the current entry, if it has one. */
static bool try_step_down(struct tdp_iter *iter)
{
	u64 *child;

	if (iter->level == iter->min_level)
		return false;
	/* Re-read: another thread may have changed the entry. */
	iter->old_spte = tdp_read_spte(iter->sptep);
	if (!is_shadow_present_pte(iter->old_spte) || is_mmio_spte(iter->old_spte) ||
	    is_last_spte(iter->old_spte, iter->level))
		return false;
	child = spte_to_child_pt(iter->old_spte);
	iter->level--;
	iter->pt_path[iter->level - 1] = child;
	iter->gfn = gfn_round_for_level(iter->next_last_level_gfn, iter->level);
	tdp_iter_refresh_sptep(iter);
	return true;
}

/* To the next entry of the same table, unless this was its last. */
static bool try_step_side(struct tdp_iter *iter)
{
	if (spte_index(iter->gfn << PAGE_SHIFT, iter->level) == PT64_ENT_PER_PAGE - 1)
		return false;
	iter->gfn += kvm_pages_per_hpage(iter->level);
	iter->next_last_level_gfn = iter->gfn;
	iter->sptep++;
	iter->old_spte = tdp_read_spte(iter->sptep);
	return true;
}

static bool try_step_up(struct tdp_iter *iter)
{
	if (iter->level == iter->root_level)
		return false;
	iter->level++;
	iter->gfn = gfn_round_for_level(iter->gfn, iter->level);
	tdp_iter_refresh_sptep(iter);
	return true;
}

void tdp_iter_next(struct tdp_iter *iter)
{
	if (try_step_down(iter))
		return;
	do {
		if (try_step_side(iter))
			return;
	} while (try_step_up(iter));
	iter->valid = false;
}
