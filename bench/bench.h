/* SPDX-License-Identifier: MIT */
/*
 * What the host side knows about the benchmark guest: workload names, the
 * results the workloads must produce (C references, written independently of
 * the assembly) and the exact number of instructions a run executes (the
 * formulas of bench/guest/workloads.S, checked against single-step counts by
 * tests/bench/workloads_test.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <string.h>

#include "bench_layout.h"

static const char *const bench_names[WL_NR] = {
	[WL_ALU] = "alu", [WL_CRC32] = "crc32", [WL_SIEVE] = "sieve",
	[WL_EX_EMPTY] = "empty", [WL_EX_OUT] = "out", [WL_EX_IN] = "in",
	[WL_EX_MMIO] = "mmio", [WL_EX_CPUID] = "cpuid", [WL_EX_HLT] = "hlt",
};

static inline uint64_t bench_size(int id)
{
	return id == WL_CRC32 ? BENCH_CRC_SIZE : id == WL_SIEVE ? BENCH_SIEVE_SIZE : 0;
}

static inline uint64_t bench_rol64(uint64_t v, int s) { return (v << s) | (v >> (64 - s)); }

static inline uint64_t bench_alu_ref(uint64_t n)
{
	uint64_t a = 1, c = 0x12345678, d = 0x09abcdef;

	while (n--) {
		a += c;
		d ^= a;
		c -= d;
		a = bench_rol64(a, 13);
		d += 0x55;
		a ^= c;
	}
	return a;
}

/* The buffer wl_crc_init() writes: bytes of the LCG x' = 1103515245 x + 12345. */
static inline void bench_crc_buffer(uint8_t *buf, uint64_t size)
{
	uint32_t x = 1;

	for (uint64_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

/* Bit-at-a-time CRC-32 (no table) of @buf repeated @n times. */
static inline uint32_t bench_crc_bits(const uint8_t *buf, uint64_t size, uint64_t n)
{
	uint32_t crc = 0xffffffff;

	if (!size)
		n = 0;
	while (n--) {
		for (uint64_t i = 0; i < size; i++) {
			crc ^= buf[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
		}
	}
	return ~crc;
}

/* The same CRC, a byte at a time with a table (fast enough for large @n). */
static inline uint32_t bench_crc_bytes(const uint8_t *buf, uint64_t size, uint64_t n)
{
	uint32_t tab[256], crc = 0xffffffff;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
		tab[i] = c;
	}
	if (!size)
		n = 0;
	while (n--)
		for (uint64_t i = 0; i < size; i++)
			crc = (crc >> 8) ^ tab[(crc ^ buf[i]) & 0xff];
	return ~crc;
}

/* Primes below @size, by trial division (independent of the sieve). */
static inline uint64_t bench_primes_below(uint64_t size)
{
	uint64_t count = 0;

	for (uint64_t p = 2; p < size; p++) {
		uint64_t d = 2;

		while (d * d <= p && p % d)
			d++;
		count += d * d > p;
	}
	return count;
}

static inline int bench_is_prime(uint64_t p)
{
	if (p < 2)
		return 0;
	for (uint64_t d = 2; d * d <= p; d++)
		if (p % d == 0)
			return 0;
	return 1;
}

/**
 * bench_insns() - instructions a run of a MIPS workload executes
 * @id:   WL_ALU, WL_CRC32 or WL_SIEVE
 * @n:    the run's repeat count
 * @size: its data size (CRC buffer bytes, sieve array bytes: a multiple of 8)
 *
 * Counts the call that enters the workload through its ret.
 *
 * Return: the count, or 0 for another @id.
 */
static inline uint64_t bench_insns(int id, uint64_t n, uint64_t size)
{
	switch (id) {
	case WL_ALU:
		return 7 + 8 * n;
	case WL_CRC32:
		if (!n)
			return 8;
		if (!size)
			return 10;
		return 10 + n * (3 + 8 * size);
	case WL_SIEVE: {
		uint64_t pass = 7 + 4 * (size / 8) + 4 + 5 * (size - 2);

		for (uint64_t i = 2; i * i < size; i++) {
			pass += 8;
			if (bench_is_prime(i))
				pass += 4 * ((size - i * i + i - 1) / i);
		}
		return 6 + n * pass;
	}
	}
	return 0;
}

/**
 * bench_expected() - the result a run must report
 * @id, @n, @size: as for bench_insns(); for the exit loops see exits.S.
 * @ok: set to 0 where the result depends on the machine (CPUID's leaf count).
 *
 * Return: the expected result.
 */
static inline uint64_t bench_expected(int id, uint64_t n, uint64_t size, int *ok)
{
	*ok = 1;
	switch (id) {
	case WL_ALU:
		return bench_alu_ref(n);
	case WL_CRC32: {
		uint8_t buf[BENCH_CRC_SIZE];

		if (size > sizeof(buf)) {
			*ok = 0;
			return 0;
		}
		bench_crc_buffer(buf, size);
		return bench_crc_bytes(buf, size, n);
	}
	case WL_SIEVE:
		return n ? bench_primes_below(size) : 0;
	case WL_EX_IN:
		return n * 0xff;
	case WL_EX_CPUID:
		*ok = 0;
		return 0;
	default:
		return 0;
	}
}

#endif /* BENCH_H */
