/*
 * util.c - bounded copies, secret wiping, constant-time compare, monotonic
 * time, strict number parsing and masking of personal data for logs.
 */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t
util_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);

	if (dstlen > 0) {
		size_t c = n < dstlen - 1 ? n : dstlen - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void
util_zero_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
util_zero_free_str(char *s)
{
	if (s != NULL)
		util_zero_free(s, strlen(s));
}

bool
util_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= (unsigned char)(x[i] ^ y[i]);
	return acc == 0;
}

bool
util_ct_str_equal(const char *want, const char *got)
{
	size_t wlen = strlen(want);
	size_t glen = got != NULL ? strnlen(got, wlen + 1) : wlen + 1;

	/* Compare the full length of want either way so timing tells nothing. */
	return util_ct_equal(want, glen == wlen ? got : want, wlen) && glen == wlen;
}

long long
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum status
util_parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return STATUS_CONFIG;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return STATUS_CONFIG;
	*out = v;
	return STATUS_OK;
}

bool
util_is_digits(const char *s, size_t maxlen)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		if (n >= maxlen || s[n] < '0' || s[n] > '9')
			return false;
	}
	return n > 0;
}

char *
util_sanitize(const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	if (outlen == 0)
		return out;
	if (s == NULL)
		s = "-";
	for (; s[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
	if (s[i] != '\0' && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
	return out;
}

char *
util_mask_phone(const char *phone, char *out, size_t outlen)
{
	size_t ndig = 0, seen = 0, o = 0;

	if (outlen == 0)
		return out;
	for (const char *p = phone ? phone : ""; *p; p++)
		ndig += isdigit((unsigned char)*p) ? 1 : 0;
	if (phone != NULL && phone[0] == '+' && o + 1 < outlen)
		out[o++] = '+';
	for (const char *p = phone ? phone : ""; *p && o + 1 < outlen; p++) {
		if (!isdigit((unsigned char)*p))
			continue;
		seen++;
		out[o++] = (ndig > 8 && seen > ndig - 2) ? *p : '*';
	}
	out[o] = '\0';
	return out;
}

char *
util_mask_email(const char *email, char *out, size_t outlen)
{
	char first[2] = {'?', '\0'};
	const char *at;
	char dom[128];

	if (email == NULL || *email == '\0') {
		util_strlcpy(out, "-", outlen);
		return out;
	}
	if (isalnum((unsigned char)email[0]))
		first[0] = email[0];
	at = strchr(email, '@');
	util_sanitize(at ? at : "", dom, sizeof(dom));
	util_strlcpy(out, first, outlen);
	if (outlen > 1)
		util_strlcpy(out + 1, "***", outlen - 1);
	if (strlen(out) + strlen(dom) < outlen)
		memcpy(out + strlen(out), dom, strlen(dom) + 1);
	return out;
}

char *
util_trim(char *s)
{
	size_t n;
	char *start = s;

	while (isspace((unsigned char)*start))
		start++;
	if (start != s)
		memmove(s, start, strlen(start) + 1);
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
util_guid_lower(const char *s, char *out)
{
	if (strnlen(s, UTIL_GUID_LEN + 1) != UTIL_GUID_LEN)
		return false;
	for (size_t i = 0; i < UTIL_GUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : util_hexval((unsigned char)s[i]) < 0)
			return false;
	}
	for (size_t i = 0; i <= UTIL_GUID_LEN; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] + 32) : s[i];
	return true;
}

char *
util_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = s ? s : "-";

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return out;
	}
	out[o++] = '"';
	/* Keep room for "...", the closing quote and the NUL. */
	for (; *p != '\0' && o + 4 + 5 < outlen; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (*p != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
