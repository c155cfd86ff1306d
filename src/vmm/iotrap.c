// SPDX-License-Identifier: MIT
/*
 * Port I/O and MMIO dispatch: sorted interval tables (a VMM has a handful of
 * devices; a binary search is plenty), as kvmtool's kvm__register_iotrap().
 * Accesses nobody claims read as all ones and are otherwise ignored, as on
 * a PC bus.
 */
#include <errno.h>
#include <string.h>

#include "vmm/vmm.h"

struct iotrap {
	uint64_t base, len;
	iotrap_fn fn;
	void *opaque;
};

#define MAX_TRAPS 64

struct iotrap_map {
	int nr;
	struct iotrap traps[MAX_TRAPS];
};

static struct iotrap_map pio_map, mmio_map;

static int iotrap_register(struct iotrap_map *map, uint64_t base, uint64_t len,
			   iotrap_fn fn, void *opaque)
{
	int i;

	if (!len || base + len < base)
		return -EINVAL;
	if (map->nr == MAX_TRAPS)
		return -ENOSPC;
	for (i = 0; i < map->nr; i++) {
		struct iotrap *t = &map->traps[i];

		if (base < t->base + t->len && t->base < base + len)
			return -EEXIST;
	}
	for (i = map->nr; i > 0 && map->traps[i - 1].base > base; i--)
		map->traps[i] = map->traps[i - 1];
	map->traps[i] = (struct iotrap){ base, len, fn, opaque };
	map->nr++;
	return 0;
}

static struct iotrap *iotrap_find(struct iotrap_map *map, uint64_t addr)
{
	int lo = 0, hi = map->nr - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct iotrap *t = &map->traps[mid];

		if (addr < t->base)
			hi = mid - 1;
		else if (addr >= t->base + t->len)
			lo = mid + 1;
		else
			return t;
	}
	return NULL;
}

int vmm__register_pio(uint16_t base, uint16_t len, iotrap_fn fn, void *opaque)
{
	return iotrap_register(&pio_map, base, len, fn, opaque);
}

int vmm__register_mmio(uint64_t base, uint64_t len, iotrap_fn fn, void *opaque)
{
	return iotrap_register(&mmio_map, base, len, fn, opaque);
}

static bool iotrap_emulate(struct iotrap_map *map, uint64_t addr, uint8_t *data,
			   uint32_t len, bool is_write)
{
	struct iotrap *t = iotrap_find(map, addr);

	if (!t) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	t->fn(t->opaque, addr - t->base, data, len, is_write);
	return true;
}

bool vmm__emulate_io(uint16_t port, uint8_t *data, uint32_t len, bool is_write)
{
	return iotrap_emulate(&pio_map, port, data, len, is_write);
}

bool vmm__emulate_mmio(uint64_t gpa, uint8_t *data, uint32_t len, bool is_write)
{
	return iotrap_emulate(&mmio_map, gpa, data, len, is_write);
}
