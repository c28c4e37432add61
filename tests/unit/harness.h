/*
 * harness.h - a tiny dependency-free unit-test harness. Each test binary runs
 * its cases and ends with the line "N passed, N failed"; exit status 1 when any failed.
 * A case that cannot run here calls SKIP and returns: it counts neither way.
 * A binary that ran no case, and skipped none, fails: it tested nothing.
 */
#ifndef B2CAUTHY_HARNESS_H
#define B2CAUTHY_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_passed;
static int harness_failed;
static int harness_case_failed;
static int harness_case_skipped;
static int harness_skipped;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
			harness_case_failed = 1;                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *ha_ = (a), *hb_ = (b);                                                 \
		if (ha_ == NULL || hb_ == NULL || strcmp(ha_, hb_) != 0) {                         \
			fprintf(stderr, "  FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,    \
			        ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)");                       \
			harness_case_failed = 1;                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long ha_ = (long long)(a), hb_ = (long long)(b);                              \
		if (ha_ != hb_) {                                                                  \
			fprintf(stderr, "  FAIL %s:%d: %s == %lld, expected %lld\n", __FILE__,     \
			        __LINE__, #a, ha_, hb_);                                           \
			harness_case_failed = 1;                                                   \
		}                                                                                  \
	} while (0)

#define SKIP(why)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "  skipped: %s\n", (why));                                         \
		harness_case_skipped = 1;                                                          \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		harness_case_failed = 0;                                                           \
		harness_case_skipped = 0;                                                          \
		fn();                                                                              \
		if (harness_case_failed) {                                                         \
			harness_failed++;                                                          \
			fprintf(stderr, "not ok %s\n", #fn);                                       \
		} else if (harness_case_skipped) {                                                 \
			harness_skipped++;                                                         \
			fprintf(stderr, "skip %s\n", #fn);                                         \
		} else {                                                                           \
			harness_passed++;                                                          \
			fprintf(stderr, "ok %s\n", #fn);                                           \
		}                                                                                  \
	} while (0)

#define HARNESS_END()                                                                              \
	do {                                                                                       \
		if (harness_passed + harness_failed + harness_skipped == 0) {                      \
			fprintf(stderr, "not ok: no case ran\n");                                  \
			harness_failed = 1;                                                        \
		}                                                                                  \
		printf("%d passed, %d failed\n", harness_passed, harness_failed);                  \
		return harness_failed ? 1 : 0;                                                     \
	} while (0)

#endif
