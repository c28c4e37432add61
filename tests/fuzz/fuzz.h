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

/*
 * fuzz_utf8_valid - 1 when s is well-formed UTF-8: every sequence decodes to
 * a scalar value (no surrogates, at most U+10FFFF) in its shortest form.
 * Written by decoding, independently of the byte-range tables in json.c.
 */
static inline int
fuzz_utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s != '\0') {
		unsigned long cp;
		int n = *s < 0x80 ? 0 : *s >= 0xF0 ? 3 : *s >= 0xE0 ? 2 : *s >= 0xC0 ? 1 : -1;

		if (n < 0 || *s >= 0xF8)
			return 0;
		cp = n == 0 ? *s : (unsigned long)(*s & (0x3F >> n));
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n + 1;
	}
	return 1;
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

/* fuzz_contains - does needle occur in the len bytes of hay (not NUL-terminated)? */
static inline int
fuzz_contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	}
	return 0;
}

#endif
