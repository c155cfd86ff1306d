// SPDX-License-Identifier: MIT
/*
 * The benchmark workloads (bench/guest/workloads.S), run natively on the
 * host CPU: their results must match the C references of bench/bench.h, and
 * the instruction counts the benchmarks divide by (bench_insns()) must match
 * what the CPU executes, counted by single-stepping the code under ptrace.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#include "../../bench/bench.h"

uint64_t wl_alu_run(uint64_t n);
void wl_crc_init(uint64_t size, uint8_t *mem);
uint64_t wl_crc_run(uint64_t n, const uint8_t *mem, uint64_t size);
uint64_t wl_sieve_run(uint64_t n, uint8_t *flags, uint64_t size);

static uint8_t mem[1024 + BENCH_SIEVE_SIZE];

static void test_alu_result(void)
{
	static const uint64_t ns[] = { 0, 1, 2, 1000, 123457 };

	test_begin("bench_alu_result");
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		CHECK_EQ(wl_alu_run(ns[i]), bench_alu_ref(ns[i]));
	CHECK(bench_alu_ref(1000) != bench_alu_ref(1001), "the loop must not converge");
	test_end();
}

static void test_crc_result(void)
{
	uint8_t ref[BENCH_CRC_SIZE];
	int ok;

	test_begin("bench_crc32_result");
	/* The standard check value: CRC-32 of "123456789" is 0xcbf43926. */
	wl_crc_init(0, mem);
	memcpy(mem + 1024, "123456789", 9);
	CHECK_EQ(wl_crc_run(1, mem, 9), 0xcbf43926);
	CHECK_EQ(bench_crc_bits((const uint8_t *)"123456789", 9, 1), 0xcbf43926);
	CHECK_EQ(bench_crc_bytes((const uint8_t *)"123456789", 9, 1), 0xcbf43926);

	wl_crc_init(BENCH_CRC_SIZE, mem);
	bench_crc_buffer(ref, sizeof(ref));
	CHECK(!memcmp(mem + 1024, ref, sizeof(ref)), "wl_crc_init's buffer differs from bench_crc_buffer's");
	for (uint64_t n = 1; n <= 3; n++) {
		CHECK_EQ(wl_crc_run(n, mem, BENCH_CRC_SIZE), bench_crc_bits(ref, BENCH_CRC_SIZE, n));
		CHECK_EQ(wl_crc_run(n, mem, BENCH_CRC_SIZE), bench_expected(WL_CRC32, n, BENCH_CRC_SIZE, &ok));
	}
	CHECK_EQ(wl_crc_run(0, mem, BENCH_CRC_SIZE), 0);
	test_end();
}

static void test_sieve_result(void)
{
	static const uint64_t sizes[] = { 8, 16, 104, 1000, BENCH_SIEVE_SIZE };

	test_begin("bench_sieve_result");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint64_t size = sizes[i] & ~7ull;

		CHECK_EQ(wl_sieve_run(2, mem, size), bench_primes_below(size));
	}
	CHECK_EQ(bench_primes_below(104), 27);
	CHECK_EQ(bench_primes_below(BENCH_SIEVE_SIZE), 6542);
	test_end();
}

/*
 * Run fn(a0, a1, a2) in a forked child, one instruction at a time, from its
 * first instruction through its ret.  Return: the instructions executed plus
 * one for the call (the convention of bench_insns()), or -1.
 */
static long count_insns(void *fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t *result,
			const char **why)
{
	struct user_regs_struct regs;
	uint64_t ret_addr = (uint64_t)(uintptr_t)&abort;
	long steps = 0;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		*why = "fork failed";
		return -1;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(2);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		*why = "ptrace is not permitted here";
		return -1;
	}
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
		*why = "PTRACE_GETREGS failed";
		goto kill;
	}
	/* A frame below the child's stack, as after "call fn". */
	regs.rsp = ((regs.rsp - 1024) & ~15ull) - 8;
	if (ptrace(PTRACE_POKEDATA, pid, regs.rsp, ret_addr)) {
		*why = "PTRACE_POKEDATA failed";
		goto kill;
	}
	regs.rip = (uint64_t)(uintptr_t)fn;
	regs.rdi = a0;
	regs.rsi = a1;
	regs.rdx = a2;
	regs.orig_rax = -1;	/* no system call restart */
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs)) {
		*why = "PTRACE_SETREGS failed";
		goto kill;
	}
	while (regs.rip != ret_addr) {
		if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) || waitpid(pid, &status, 0) != pid ||
		    !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP ||
		    ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
			*why = "single-stepping failed";
			goto kill;
		}
		if (++steps > 20000000) {
			*why = "did not return";
			goto kill;
		}
	}
	*result = regs.rax;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return steps + 1;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void test_insn_counts(void)
{
	static const struct { int id; uint64_t n, size; } runs[] = {
		{ WL_ALU, 0, 0 }, { WL_ALU, 1, 0 }, { WL_ALU, 5, 0 }, { WL_ALU, 100, 0 },
		{ WL_CRC32, 0, 64 }, { WL_CRC32, 1, 0 }, { WL_CRC32, 1, 1 }, { WL_CRC32, 3, 37 },
		{ WL_CRC32, 2, 100 },
		{ WL_SIEVE, 0, 64 }, { WL_SIEVE, 1, 8 }, { WL_SIEVE, 1, 16 }, { WL_SIEVE, 2, 104 },
		{ WL_SIEVE, 1, 512 },
	};
	void *fns[] = { [WL_ALU] = wl_alu_run, [WL_CRC32] = wl_crc_run, [WL_SIEVE] = wl_sieve_run };
	const char *why = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		uint64_t n = runs[i].n, size = runs[i].size, result = 0;
		int id = runs[i].id, ok;
		long counted;

		if (id == WL_CRC32)
			wl_crc_init(size, mem);
		counted = count_insns(fns[id], n, (uint64_t)(uintptr_t)mem, size, &result, &why);
		if (counted < 0) {
			test_skip("bench_insn_counts", why);
			return;
		}
		if (i == 0)
			test_begin("bench_insn_counts");
		CHECK(counted == (long)bench_insns(id, n, size),
		      "%s n=%llu size=%llu: %ld executed, bench_insns() says %llu", bench_names[id],
		      (unsigned long long)n, (unsigned long long)size, counted,
		      (unsigned long long)bench_insns(id, n, size));
		if (id != WL_CRC32 || size <= BENCH_CRC_SIZE)
			CHECK_EQ(result, bench_expected(id, n, size, &ok));
	}
	test_end();
}

int main(void)
{
	test_alu_result();
	test_crc_result();
	test_sieve_result();
	test_insn_counts();
	return test_cases_failed ? 1 : 0;
}
