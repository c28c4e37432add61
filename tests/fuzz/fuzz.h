/*
 * fuzz.h - helpers shared by the libFuzzer harnesses: NUL-terminated copies
 * of the input, splitting it into fields, and a check that aborts (so
 * libFuzzer records a crash) when a stated invariant does not hold.
 */
#ifndef B2CAUTHY_FUZZ_H
#define B2CAUTHY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_ASSERT - abort with the failed condition: a finding, not a test failure. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* fuzz_strndup - a NUL-terminated heap copy of n bytes (free()); aborts when out of memory. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/*
 * fuzz_split - cut a NUL-terminated copy of the input at every NUL byte into
 * at most max fields; returns how many. fields[i] point into *buf (free() it).
 * Whatever follows the max-th field is ignored.
 */
static inline size_t
fuzz_split(const uint8_t *data, size_t size, char **buf, char **fields, size_t max)
{
	size_t n = 0, start = 0;

	*buf = fuzz_strndup(data, size);
	for (size_t i = 0; i <= size && n < max; i++) {
		if (i == size || (*buf)[i] == '\0') {
			fields[n++] = *buf + start;
			start = i + 1;
		}
	}
	return n;
}

static inline int
fuzz_all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

#endif
