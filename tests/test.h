/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful test harness.  Each test program prints one line per
 * case, "ok NAME", "FAIL NAME: why" or "skip NAME: why"; tests/run.sh adds
 * them up and prints the closing "N passed, N failed" line.
 */
#ifndef USERKVM_TEST_H
#define USERKVM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Shared by every file of a test program (weak: one copy however many
 * files include this), so that cases may live in several files.
 */
__attribute__((weak)) const char *test_case_name = "?";
__attribute__((weak)) int test_failed_now;	/* failures in the case being run */
__attribute__((weak)) const char *test_where = "";	/* e.g. the backend a case runs on */
__attribute__((weak)) int test_cases_failed;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			if (!test_failed_now++)				\
				printf("FAIL %s: ", test_case_name);	\
			else						\
				printf("     also: ");			\
			printf("%s%s:%d: %s: ", test_where, __FILE__, __LINE__, #cond);\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long __a = (unsigned long long)(a);	\
		unsigned long long __b = (unsigned long long)(b);	\
		CHECK(__a == __b, "%#llx != %#llx", __a, __b);		\
	} while (0)


static inline void test_begin(const char *name)
{
	test_case_name = name;
	test_failed_now = 0;
	fflush(stdout);
}

static inline void test_end(void)
{
	if (!test_failed_now)
		printf("ok %s\n", test_case_name);
	else
		test_cases_failed++;
	fflush(stdout);
}

static inline void test_skip(const char *name, const char *why)
{
	printf("skip %s: %s\n", name, why);
	fflush(stdout);
}

#define RUN_TEST(fn)							\
	do {								\
		test_begin(#fn);					\
		fn();							\
		test_end();						\
	} while (0)

#endif
