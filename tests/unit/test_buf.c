/*
 * test_buf.c - unit tests of buf.c: the mandatory maximum (appends beyond it
 * fail and change nothing), growth, printf appends larger than the stack
 * buffer, form url-encoding, reset, free and steal.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "buf_int.h"

static void
test_empty(void)
{
	struct buf b;

	buf_init(&b, 16);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.max, 16);
	CHECK_STR(buf_cstr(&b), "");
	buf_free(&b);
	buf_free(NULL);
}

static void
test_max_enforced(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK_INT(buf_append_str(&b, "12345"), STATUS_OK);
	CHECK_INT(buf_append_str(&b, "678"), STATUS_OK); /* exactly max */
	CHECK_STR(buf_cstr(&b), "12345678");
	CHECK_INT(b.len, 8);
	CHECK_INT(buf_append_str(&b, "9"), STATUS_TOO_LARGE);
	CHECK_STR(buf_cstr(&b), "12345678");
	CHECK_INT(b.len, 8);
	CHECK_INT(buf_append(&b, "", 0), STATUS_OK);
	CHECK_INT(buf_appendf(&b, "%d", 1), STATUS_TOO_LARGE);
	CHECK_INT(buf_append_urlenc(&b, "x"), STATUS_TOO_LARGE);
	CHECK_STR(buf_cstr(&b), "12345678");
	buf_reset(&b);
	/* an append that would cross the maximum is refused as a whole */
	CHECK_INT(buf_append_str(&b, "123456"), STATUS_OK);
	CHECK_INT(buf_append_str(&b, "789"), STATUS_TOO_LARGE);
	CHECK_STR(buf_cstr(&b), "123456");
	CHECK_INT(buf_appendf(&b, "%s", "abc"), STATUS_TOO_LARGE);
	CHECK_STR(buf_cstr(&b), "123456");
	/* huge lengths do not wrap around */
	CHECK_INT(buf_append(&b, "x", (size_t)-1), STATUS_TOO_LARGE);
	CHECK_INT(b.len, 6);
	CHECK(b.cap <= b.max + 1); /* never allocates beyond max + NUL */
	buf_free(&b);
}

static void
test_zero_max(void)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(buf_append_str(&b, "x"), STATUS_TOO_LARGE);
	CHECK_INT(buf_append(&b, "", 0), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "");
	buf_free(&b);
}

static void
test_binary_and_growth(void)
{
	struct buf b;
	size_t total = 0;

	buf_init(&b, 50000);
	CHECK_INT(buf_append(&b, "a\0b", 3), STATUS_OK);
	CHECK_INT(b.len, 3);
	CHECK(memcmp(b.data, "a\0b", 4) == 0); /* NUL-terminated after the data */
	buf_reset(&b);
	for (int i = 0; i < 10000; i++) {
		CHECK_INT(buf_appendf(&b, "%04d,", i % 10000), STATUS_OK);
		total += 5;
	}
	CHECK_INT(b.len, total);
	CHECK_INT(strlen(buf_cstr(&b)), total);
	CHECK(strncmp(buf_cstr(&b), "0000,0001,0002,", 15) == 0);
	CHECK_STR(buf_cstr(&b) + total - 10, "9998,9999,");
	CHECK_INT(total, 50000); /* exactly max: nothing more fits */
	CHECK_INT(buf_append_str(&b, "!"), STATUS_TOO_LARGE);
	buf_free(&b);
}

static void
test_appendf_large(void)
{
	struct buf b;
	char big[5000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 20000);
	CHECK_INT(buf_appendf(&b, "<%s|%d>", big, 42), STATUS_OK);
	CHECK_INT(b.len, sizeof(big) - 1 + 5);
	CHECK(b.data[0] == '<' && b.data[1] == 'z');
	CHECK_STR(buf_cstr(&b) + b.len - 4, "|42>");
	/* larger than what is left: refused, unchanged */
	CHECK_INT(buf_appendf(&b, "%s%s%s", big, big, big), STATUS_TOO_LARGE);
	CHECK_INT(b.len, sizeof(big) - 1 + 5);
	CHECK_INT(buf_appendf(&b, "%s%s", big, big), STATUS_OK);
	CHECK_INT(b.len, 3 * (sizeof(big) - 1) + 5);
	buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.max, 20000); /* free keeps the maximum */
}

struct urlenc_case {
	const char *in;
	const char *want;
};

static const struct urlenc_case urlenc_cases[] = {
    {"", ""},
    {"abcXYZ019", "abcXYZ019"},
    {"-_.~", "-_.~"},
    {"a b", "a+b"},
    {"user[email]", "user%5Bemail%5D"},
    {"jane+tag@example.com", "jane%2Btag%40example.com"},
    {"a&b=c/d?e#f%", "a%26b%3Dc%2Fd%3Fe%23f%25"},
    {"caf\xc3\xa9", "caf%C3%A9"},
    {"\n\t\x7f", "%0A%09%7F"},
    {"Please approve the sign-in", "Please+approve+the+sign-in"},
};

static void
test_urlenc(void)
{
	for (size_t i = 0; i < sizeof(urlenc_cases) / sizeof(urlenc_cases[0]); i++) {
		struct buf b;

		buf_init(&b, 256);
		CHECK_INT(buf_append_urlenc(&b, urlenc_cases[i].in), STATUS_OK);
		CHECK_STR(buf_cstr(&b), urlenc_cases[i].want);
		buf_free(&b);
	}
	{
		struct buf b;

		buf_init(&b, 64);
		CHECK_INT(buf_append_str(&b, "message="), STATUS_OK);
		CHECK_INT(buf_append_urlenc(&b, "Log in?"), STATUS_OK);
		CHECK_STR(buf_cstr(&b), "message=Log+in%3F");
		buf_free(&b);
	}
	{
		/* Over the cap: the buffer is left exactly as it was. */
		struct buf b;

		buf_init(&b, 8);
		CHECK_INT(buf_append_str(&b, "123456"), STATUS_OK);
		CHECK_INT(buf_append_urlenc(&b, "ab cd"), STATUS_TOO_LARGE);
		CHECK_STR(buf_cstr(&b), "123456");
		CHECK_INT(b.len, 6);
		buf_free(&b);
	}
}

static void
test_reset(void)
{
	struct buf b;
	char *mem;

	buf_init(&b, 32);
	CHECK_INT(buf_append_str(&b, "hello"), STATUS_OK);
	mem = b.data;
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(buf_cstr(&b), "");
	CHECK(b.data == mem); /* memory kept */
	CHECK_INT(b.max, 32);
	CHECK_INT(buf_append_str(&b, "again"), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "again");
	buf_free(&b);
}

static void
test_steal(void)
{
	struct buf b;
	char *s;
	size_t len = 99;

	buf_init(&b, 32);
	CHECK_INT(buf_append_str(&b, "{\"a\":1}"), STATUS_OK);
	s = buf_steal(&b, &len);
	CHECK_STR(s, "{\"a\":1}");
	CHECK_INT(len, 7);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.max, 32);
	free(s);
	/* an empty buffer gives a fresh empty string */
	len = 99;
	s = buf_steal(&b, &len);
	CHECK(s != NULL);
	CHECK_STR(s, "");
	CHECK_INT(len, 0);
	free(s);
	/* the buffer is usable again, len may be NULL */
	CHECK_INT(buf_append_str(&b, "x"), STATUS_OK);
	s = buf_steal(&b, NULL);
	CHECK_STR(s, "x");
	free(s);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_empty);
	RUN(test_max_enforced);
	RUN(test_zero_max);
	RUN(test_binary_and_growth);
	RUN(test_appendf_large);
	RUN(test_urlenc);
	RUN(test_reset);
	RUN(test_steal);
	HARNESS_END();
}
