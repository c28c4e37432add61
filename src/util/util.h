/*
 * util.h - small string, time and secret helpers shared by every module.
 * They keep no state of their own: each is thread-safe on its own arguments.
 */
#ifndef B2CAUTHY_UTIL_H
#define B2CAUTHY_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/*
 * util_strlcpy - bounded copy of src into dst (size dstlen > 0), always
 * NUL-terminated. Returns strlen(src); a result >= dstlen means truncation.
 */
size_t util_strlcpy(char *dst, const char *src, size_t dstlen);

/*
 * util_zero_free - wipe len bytes of p (explicit_bzero), then free it. For
 * strings pass strlen(p). NULL is a no-op.
 */
void util_zero_free(void *p, size_t len);

/*
 * util_zero_free_str - util_zero_free for a NUL-terminated string.
 */
void util_zero_free_str(char *s);

/*
 * util_ct_equal - constant-time comparison of len bytes. Returns true when equal.
 * Its time depends on len only.
 */
bool util_ct_equal(const void *a, const void *b, size_t len);

/*
 * util_ct_str_equal - true when the NUL-terminated got equals want. Its time
 * depends on strlen(want) only (not on got or on where they differ): for
 * comparing a received signature with the expected one. NULL got is false.
 */
bool util_ct_str_equal(const char *want, const char *got);

/*
 * util_now_ms - CLOCK_MONOTONIC in milliseconds. Thread-safe.
 */
long long util_now_ms(void);

/*
 * util_parse_long - parse all of s as a base-10 integer in [min, max]. Returns
 * STATUS_OK and *out, or STATUS_CONFIG for junk, overflow or out of range.
 */
enum status util_parse_long(const char *s, long min, long max, long *out);

/*
 * util_is_digits - true when s is 1..maxlen ASCII digits and nothing else.
 */
bool util_is_digits(const char *s, size_t maxlen);

/*
 * util_sanitize - copy s into out (size outlen) replacing control characters
 * and bytes >= 0x7f with '?', truncating with "..." when too long. For logging
 * anything a client sent. NULL s gives "-". Returns out.
 */
char *util_sanitize(const char *s, char *out, size_t outlen);

/*
 * util_mask_phone - mask a phone number for logs: keeps a leading '+' and,
 * of a number of more than 8 digits, the last two ("+**********23"); every
 * other digit is a '*', so that a short national number shows none. Returns
 * out.
 */
char *util_mask_phone(const char *phone, char *out, size_t outlen);

/*
 * util_mask_email - mask an email or sign-in name for logs: first character,
 * "***", and the domain ("j***@example.com"; "j***" without '@'). Returns out.
 */
char *util_mask_email(const char *email, char *out, size_t outlen);

/*
 * util_quote - a double-quoted logfmt value of s in out (size outlen): '"' and
 * '\\' are escaped with a backslash, control characters and bytes >= 0x7f
 * become \xHH, and a value too long ends in "..." inside the quotes, so a
 * client-supplied string can never end the field or start another one. NULL
 * s gives "-" (quoted). Returns out. Pure.
 */
char *util_quote(const char *s, char *out, size_t outlen);

/* util_hexval - value of one hex digit (either case), or -1. Pure. */
int util_hexval(int c);

#define UTIL_GUID_LEN 36 /* 8-4-4-4-12 hex digits */

/*
 * util_guid_lower - copy the GUID s (8-4-4-4-12 hex digits, either case) in
 * lower case to out, which has UTIL_GUID_LEN + 1 bytes (out may be s).
 * Returns false, out untouched, when s is not exactly such a GUID. Pure.
 */
bool util_guid_lower(const char *s, char *out);

/*
 * util_trim - strip leading and trailing ASCII white space in place; returns s.
 */
char *util_trim(char *s);

#endif
