/*
 * utf8.c - UTF-8 character counts, cuts at a character boundary and strict
 * validation (RFC 3629 table 3-7), for every module that measures or checks text.
 */
#include "utf8.h"

#include <string.h>

/* True for a byte that continues a sequence (10xxxxxx). */
static bool
is_cont(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += !is_cont(*s);
	return n;
}

size_t
utf8_cut_bytes(const char *s, size_t max)
{
	size_t len, cut;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len <= max)
		return len;
	/* s[cut] is the first byte left out; while it continues a sequence, that
	 * sequence started inside the kept part: leave it out too. A sequence is
	 * at most 4 bytes, so invalid input stops after 3 steps. */
	cut = max;
	for (int i = 0; i < 3 && cut > 0 && is_cont(s[cut]); i++)
		cut--;
	if (is_cont(s[cut]))
		cut = max;
	return cut;
}

size_t
utf8_cut_chars(const char *s, size_t max)
{
	size_t chars = 0, i = 0;

	for (; s != NULL && s[i] != '\0'; i++) {
		if (!is_cont(s[i])) {
			if (chars == max)
				break;
			chars++;
		}
	}
	return i;
}

/*
 * Length of the well-formed sequence at s (at most len bytes), or 0 when it is
 * not one. json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the number of
 * continuation bytes and lets overlong forms, surrogates and values above
 * U+10FFFF through; this does not.
 */
static size_t
seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0; /* overlong below U+0800 */
	else if (c == 0xED)
		hi = 0x9F; /* surrogates */
	else if (c == 0xF0)
		lo = 0x90; /* overlong below U+10000 */
	else if (c == 0xF4)
		hi = 0x8F; /* above U+10FFFF */
	if (n > len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n) {
		n = seq_len(u + i, len - i);
		if (n == 0)
			return false;
	}
	return true;
}

long
utf8_decode(const char *s, size_t len, size_t *n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k = seq_len(u, len);
	long cp;

	*n = 1;
	if (k == 0)
		return -1;
	cp = k == 1 ? u[0] : u[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (u[i] & 0x3f);
	*n = k;
	return cp;
}
