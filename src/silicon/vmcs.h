/* SPDX-License-Identifier: MIT */
/*
 * The VMCS region (SDM 25.2): 4 KiB of memory that KVM allocates and owns.
 * Its first word is the revision identifier, the second the VMX-abort
 * indicator; the rest is this processor's private layout: the launch state
 * and one 8-byte slot per implemented field, placed by the encoding ->
 * offset map in vmcs.c (the idea of Bochs' VMCS_Mapping).  Software must use
 * VMREAD/VMWRITE; only silicon reads the slots directly.
 */
#ifndef SILICON_VMCS_H
#define SILICON_VMCS_H

#include <string.h>

#include "silicon/vmx.h"

struct vmcs_hdr {
	u32 revision_id;	/* bits 30:0; bit 31 = shadow-VMCS indicator */
	u32 abort;		/* VMX-abort indicator */
	u32 launch_state;	/* VMCS_STATE_* */
	u32 reserved;
};

#define VMCS_STATE_CLEAR	0x00000000u
#define VMCS_STATE_LAUNCHED	0x4c41554eu	/* "NUAL" */

#define VMCS_DATA_OFFSET	16

/* One 8-byte slot per field, in the order of VMCS_FIELDS(). */
enum vmcs_slot {
#define VMCS_SLOT(name, enc) VMCS_SLOT_##name,
	VMCS_FIELDS(VMCS_SLOT)
#undef VMCS_SLOT
	VMCS_NR_SLOTS
};

#define VMCS_MAP_INDICES 32	/* no implemented field has an index above 31 */

/*
 * [width][type][index] -> slot + 1 (0 = not implemented), built at compile
 * time from the field list.  It is in the header so that the processor's
 * own accesses with constant encodings fold to a fixed offset.
 */
static const u8 vmcs_slot_map[4][4][VMCS_MAP_INDICES] = {
#define VMCS_MAP(name, enc) \
	[VMCS_FIELD_WIDTH(enc)][VMCS_FIELD_TYPE(enc)][VMCS_FIELD_INDEX(enc)] = VMCS_SLOT_##name + 1,
	VMCS_FIELDS(VMCS_MAP)
#undef VMCS_MAP
};

static __always_inline int vmcs_slot(u32 enc)
{
	if (enc & VMCS_FIELD_RESERVED)
		return -1;
	/* Only 64-bit fields have a high half (SDM 25.11.2). */
	if (VMCS_FIELD_HIGH(enc) && VMCS_FIELD_WIDTH(enc) != VMCS_FIELD_WIDTH_64)
		return -1;
	if (VMCS_FIELD_INDEX(enc) >= VMCS_MAP_INDICES)
		return -1;
	return (int)vmcs_slot_map[VMCS_FIELD_WIDTH(enc)][VMCS_FIELD_TYPE(enc)][VMCS_FIELD_INDEX(enc)] - 1;
}

/*
 * The same map flattened for VMREAD/VMWRITE with a run-time encoding: an
 * encoding with no bit outside 14:13, 11:10 and 5:0 (so an index below 32)
 * packs into 10 bits (width, type, index, high), which index a table of
 * slot offsets (0 = not implemented; a high encoding only for 64-bit
 * fields).
 */
#define VMCS_KEY_BITS	0x6c3fu
#define VMCS_KEY(enc)	(((enc) & 0x3f) | (((enc) >> 4) & 0xc0) | (((enc) >> 5) & 0x300))

static const u16 vmcs_key_offset[1024] = {
#define VMCS_KEY_MAP(name, enc)								\
	[VMCS_KEY(enc)] = VMCS_DATA_OFFSET + VMCS_SLOT_##name * 8,				\
	[VMCS_KEY((enc) | 1)] = VMCS_FIELD_WIDTH(enc) == VMCS_FIELD_WIDTH_64 ?			\
				VMCS_DATA_OFFSET + VMCS_SLOT_##name * 8 : 0,
	VMCS_FIELDS(VMCS_KEY_MAP)
#undef VMCS_KEY_MAP
};

/**
 * vmcs_field_offset() - where a field lives in the VMCS region
 * @enc: field encoding (a 64-bit field's high encoding maps to its slot)
 *
 * Return: byte offset of the field's 8-byte slot, or -1 if this processor
 * does not implement the field (or @enc has reserved bits set).
 */
static __always_inline int vmcs_field_offset(u32 enc)
{
	int off;

	if (enc & ~VMCS_KEY_BITS)
		return -1;
	off = vmcs_key_offset[VMCS_KEY(enc)];
	return off ? off : -1;
}

/* The value mask of a field's width: 16, 32, 64 or natural (64) bits. */
static inline u64 vmcs_width_mask(u32 enc)
{
	switch (VMCS_FIELD_WIDTH(enc)) {
	case VMCS_FIELD_WIDTH_16: return 0xffffull;
	case VMCS_FIELD_WIDTH_32: return 0xffffffffull;
	default: return ~0ull;
	}
}

/**
 * vmcs_get() / vmcs_set() - silicon's own access to an implemented field
 *
 * No checks beyond the field being implemented (unimplemented fields read
 * as 0, writes to them are dropped): these are the processor's internal
 * accesses, not VMREAD/VMWRITE.  Values are truncated to the field width;
 * a high encoding reads/writes bits 63:32.
 */
static __always_inline u64 vmcs_get(const void *vmcs, u32 enc)
{
	int off = vmcs_field_offset(enc);
	u64 v;

	if (off < 0)
		return 0;
	memcpy(&v, (const u8 *)vmcs + off, 8);
	if (VMCS_FIELD_HIGH(enc))
		return v >> 32;
	return v & vmcs_width_mask(enc);
}

static __always_inline void vmcs_set(void *vmcs, u32 enc, u64 val)
{
	int off = vmcs_field_offset(enc);
	u64 v;

	if (off < 0)
		return;
	if (VMCS_FIELD_HIGH(enc)) {
		memcpy(&v, (u8 *)vmcs + off, 8);
		v = (v & 0xffffffffull) | ((u64)(u32)val << 32);
	} else {
		v = val & vmcs_width_mask(enc);
	}
	memcpy((u8 *)vmcs + off, &v, 8);
}

/*
 * The eight guest segment registers' fields (ES..TR) have consecutive
 * encodings and, in VMCS_FIELDS() order, consecutive slots: @i selects one
 * without looking the encoding up again.  Values are stored masked to the
 * field width already, so no mask is needed on reads.
 */
#define VMCS_SEG_SLOTS_CONSECUTIVE(first, last) \
	BUILD_BUG_ON(VMCS_SLOT_##last - VMCS_SLOT_##first != 7)
VMCS_SEG_SLOTS_CONSECUTIVE(GUEST_ES_SELECTOR, GUEST_TR_SELECTOR);
VMCS_SEG_SLOTS_CONSECUTIVE(GUEST_ES_BASE, GUEST_TR_BASE);
VMCS_SEG_SLOTS_CONSECUTIVE(GUEST_ES_LIMIT, GUEST_TR_LIMIT);
VMCS_SEG_SLOTS_CONSECUTIVE(GUEST_ES_AR_BYTES, GUEST_TR_AR_BYTES);

static __always_inline u64 *vmcs_seg_slot(void *vmcs, u32 es_field, int i)
{
	return (u64 *)((u8 *)vmcs + vmcs_field_offset(es_field) + 8 * i);
}

static inline u32 vmcs_get32(const void *vmcs, u32 enc) { return (u32)vmcs_get(vmcs, enc); }

/*
 * Fields whose checks are made at every VM entry, so that a VMWRITE to one
 * keeps the cached outcome of the other checks (ctl_host_checked,
 * guest_checked); VMX_PREEMPTION_TIMER_VALUE, TSC_OFFSET, TSC_MULTIPLIER and
 * GUEST_RSP are not checked at all.
 */
static inline bool vmcs_field_checked_every_entry(u32 enc)
{
	switch (enc) {
	case VM_ENTRY_INTR_INFO_FIELD:
	case VM_ENTRY_EXCEPTION_ERROR_CODE:
	case VM_ENTRY_INSTRUCTION_LEN:
	case GUEST_RIP:
	case GUEST_RSP:
	case GUEST_RFLAGS:
	case GUEST_INTERRUPTIBILITY_INFO:
	case GUEST_ACTIVITY_STATE:
	case GUEST_PENDING_DBG_EXCEPTIONS:
	case VMX_PREEMPTION_TIMER_VALUE:
	case TSC_OFFSET:
	case TSC_OFFSET + 1:	/* its high half */
	case TSC_MULTIPLIER:
	case TSC_MULTIPLIER + 1:
		return true;
	default:
		return false;
	}
}


/*
 * What a VMWRITE that changed a field from @old to @new invalidates
 * (struct vmx_cpu's cached outcomes, folded at the next VM entry):
 *  VMCS_DIRTY_CTLS      the controls cached in struct vmx_ctls
 *  VMCS_DIRTY_CTL_HOST  the checks of the controls and host state (STEPs 2-3)
 *  VMCS_DIRTY_GUEST     the guest-state checks (STEP 4) and the guest state
 *                       left in the core since the last exit
 *  VMCS_DIRTY_ENTRY     a guest field checked and loaded at every entry other
 *                       than RIP (RSP, RFLAGS, interruptibility, activity,
 *                       pending debug exceptions) no longer holds what the
 *                       last exit saved (vmx_cpu.h: VMX_RESUME_CONT)
 * A control or guest field checked at every entry invalidates no check;
 * RFLAGS.VM decides which segment checks apply, so a change of it counts
 * as a change of the segments, and RFLAGS.AC whether the core checks
 * alignment at CPL3 (cpu_ac_changed(), which the full entry's mode update
 * calls: the fast one only copies RFLAGS).  Host fields (which also need the pending
 * host state written into the core first) are VMWRITE's slow path.
 */
#define VMCS_DIRTY_CTLS		BIT(0)
#define VMCS_DIRTY_CTL_HOST	BIT(1)
#define VMCS_DIRTY_GUEST	BIT(2)
#define VMCS_DIRTY_ENTRY	BIT(3)

static __always_inline u32 vmcs_write_dirty(u32 enc, u64 old, u64 new)
{
	bool every = vmcs_field_checked_every_entry(enc);

	switch (VMCS_FIELD_TYPE(enc)) {
	case VMCS_FIELD_TYPE_CONTROL:
		return VMCS_DIRTY_CTLS | (every ? 0 : VMCS_DIRTY_CTL_HOST | VMCS_DIRTY_GUEST);
	case VMCS_FIELD_TYPE_GUEST:
		if (enc == GUEST_RFLAGS && ((old ^ new) & (BIT_ULL(17) | BIT_ULL(18))))
			return VMCS_DIRTY_GUEST | VMCS_DIRTY_ENTRY;
		/* KVM writes RIP around nearly every entry: the entry compares it. */
		if (enc == GUEST_RIP)
			return 0;
		return every ? VMCS_DIRTY_ENTRY : VMCS_DIRTY_GUEST;
	case VMCS_FIELD_TYPE_HOST:
		return VMCS_DIRTY_CTL_HOST;
	default:
		return 0;
	}
}

/* Number of fields implemented, and the i-th one's encoding (for dumps and tests). */
unsigned vmcs_nr_fields(void);
u32 vmcs_field_at(unsigned i);
const char *vmcs_field_name(u32 enc);

#endif
