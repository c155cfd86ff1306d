/* SPDX-License-Identifier: MIT */
/*
 * EPT: the second translation, guest-physical -> "host-physical", which in
 * this processor is a host address of the process (SDM 29.3).  The tables
 * are memory KVM owns and writes; the processor reads them, sets A/D flags
 * when the EPTP enables them, and never reaches host memory that no EPT
 * entry names.
 */
#ifndef SILICON_EPT_H
#define SILICON_EPT_H

#include "silicon/vmx.h"

/* Kinds of access (the EPT violation qualification's bits 2:0). */
#define EPT_ACC_READ   BIT(0)
#define EPT_ACC_WRITE  BIT(1)
#define EPT_ACC_FETCH  BIT(2)

/**
 * struct ept_result - outcome of an EPT translation
 * @exit_reason: 0 if translated, else EXIT_REASON_EPT_VIOLATION or
 *	EXIT_REASON_EPT_MISCONFIG
 * @qual: for a violation, bits 5:0 of the exit qualification (access kind
 *	and the AND of the R/W/X bits of the entries walked); the caller adds
 *	bits 8:7 (guest-linear address valid / translated)
 * @host: host address of the byte at the guest-physical address
 * @rwx: effective permissions (AND of the R/W/X bits of every level)
 * @page_size: bytes mapped by the leaf (4 KiB, 2 MiB or 1 GiB)
 * @leaf: the leaf entry used; for a misconfiguration, the entry found
 *	misconfigured
 * @level: the level of @leaf (4..1)
 * @dirty_needed: a write found the leaf's dirty flag clear (with A/D on)
 */
struct ept_result {
	u32 exit_reason;
	u64 qual;
	void *host;
	u32 rwx;
	u64 page_size;
	u64 *leaf;
	int level;
	bool dirty_needed;
};

/**
 * ept_translate() - walk the 4-level EPT paging structures of @eptp
 * @gpa: guest-physical address
 * @access: EPT_ACC_* of the access (one kind)
 *
 * Sets accessed flags (and the dirty flag of the leaf for a write) when
 * EPTP[6] enables them, only for a translation that succeeds.
 *
 * Return: 0 and @r->host, or the VM-exit reason also stored in
 * @r->exit_reason (EPT violation or misconfiguration).
 */
u32 ept_translate(u64 eptp, u64 gpa, u32 access, struct ept_result *r);

/*
 * ept_translate_ex() - the same, setting the dirty flag only if @set_dirty:
 * with page-modification logging the processor logs the GPA first and may
 * take a PML-full exit instead (SDM 29.3.6).
 */
u32 ept_translate_ex(u64 eptp, u64 gpa, u32 access, struct ept_result *r, bool set_dirty);

/** ept_entry_misconfigured() - SDM 29.3.3.1 checks of a present entry at @level (4..1) */
bool ept_entry_misconfigured(u64 e, int level);

#endif
