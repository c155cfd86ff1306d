// SPDX-License-Identifier: MIT
/*
 * VMCS layout: the encoding -> offset map (SDM 25.11.2 leaves the format of
 * the region to the implementation; Appendix B lists the encodings).
 */
#include <string.h>

#include "silicon/vmcs.h"

BUILD_BUG_ON(VMCS_DATA_OFFSET + VMCS_NR_SLOTS * 8 > VMX_VMCS_SIZE);
BUILD_BUG_ON(sizeof(struct vmcs_hdr) != VMCS_DATA_OFFSET);

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
