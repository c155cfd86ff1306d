// SPDX-License-Identifier: MIT
/*
 * VMCS layout: the encoding -> offset map (SDM 25.11.2 leaves the format of
 * the region to the implementation; Appendix B lists the encodings).
 */
#include <string.h>

#include "silicon/vmcs.h"

/* One slot per field, in the order of VMCS_FIELDS(). */
enum vmcs_slot {
#define VMCS_SLOT(name, enc) VMCS_SLOT_##name,
	VMCS_FIELDS(VMCS_SLOT)
#undef VMCS_SLOT
	VMCS_NR_SLOTS
};

BUILD_BUG_ON(VMCS_DATA_OFFSET + VMCS_NR_SLOTS * 8 > VMX_VMCS_SIZE);
BUILD_BUG_ON(sizeof(struct vmcs_hdr) != VMCS_DATA_OFFSET);

#define VMCS_MAP_INDICES 32	/* no implemented field has an index above 31 */

/*
 * [width][type][index] -> slot + 1 (0 = not implemented).  Built at compile
 * time from the field list; an index check keeps a bad encoding from
 * reaching the table.
 */
static const u8 vmcs_slot_map[4][4][VMCS_MAP_INDICES] = {
#define VMCS_MAP(name, enc) \
	[VMCS_FIELD_WIDTH(enc)][VMCS_FIELD_TYPE(enc)][VMCS_FIELD_INDEX(enc)] = VMCS_SLOT_##name + 1,
	VMCS_FIELDS(VMCS_MAP)
#undef VMCS_MAP
};

#define VMCS_CHECK_FIELD(name, enc) \
	BUILD_BUG_ON(VMCS_FIELD_INDEX(enc) >= VMCS_MAP_INDICES || VMCS_FIELD_HIGH(enc) || \
		     VMCS_FIELD_INDEX(enc) > VMCS_ENUM_MAX_INDEX);
VMCS_FIELDS(VMCS_CHECK_FIELD)
#undef VMCS_CHECK_FIELD
BUILD_BUG_ON(VMCS_NR_SLOTS >= 255);

static const u32 vmcs_fields[] = {
#define VMCS_ENC(name, enc) enc,
	VMCS_FIELDS(VMCS_ENC)
#undef VMCS_ENC
};

static const char *const vmcs_names[] = {
#define VMCS_NAME(name, enc) #name,
	VMCS_FIELDS(VMCS_NAME)
#undef VMCS_NAME
};

static int vmcs_slot(u32 enc)
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

int vmcs_field_offset(u32 enc)
{
	int slot = vmcs_slot(enc);

	return slot < 0 ? -1 : VMCS_DATA_OFFSET + slot * 8;
}

u64 vmcs_get(const void *vmcs, u32 enc)
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

void vmcs_set(void *vmcs, u32 enc, u64 val)
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

unsigned vmcs_nr_fields(void)
{
	return VMCS_NR_SLOTS;
}

u32 vmcs_field_at(unsigned i)
{
	return i < VMCS_NR_SLOTS ? vmcs_fields[i] : ~0u;
}

const char *vmcs_field_name(u32 enc)
{
	int slot = vmcs_slot(enc & ~1u);

	return slot < 0 ? NULL : vmcs_names[slot];
}
