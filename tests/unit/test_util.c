/*
 * test_util.c - unit tests of util.c: bounded copy, constant-time compare,
 * strict number parsing, digit checks, log sanitizing, masking of personal
 * data, trimming, secret wiping and the monotonic clock.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util.h"

static void
test_strlcpy(void)
{
	char d[8];

	CHECK_INT(util_strlcpy(d, "abc", sizeof(d)), 3);
	CHECK_STR(d, "abc");
	CHECK_INT(util_strlcpy(d, "1234567", sizeof(d)), 7); /* exact fit */
	CHECK_STR(d, "1234567");
	CHECK_INT(util_strlcpy(d, "123456789abc", sizeof(d)), 12); /* truncated */
	CHECK_STR(d, "1234567");
	CHECK_INT(util_strlcpy(d, "", sizeof(d)), 0);
	CHECK_STR(d, "");
	CHECK_INT(util_strlcpy(d, "xyz", 1), 3);
	CHECK_STR(d, "");
	memcpy(d, "keep", 5);
	CHECK_INT(util_strlcpy(d, "xyz", 0), 3); /* nothing written */
	CHECK_STR(d, "keep");
}

static void
test_ct_equal(void)
{
	static const unsigned char a[] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned char b[sizeof(a)];

	memcpy(b, a, sizeof(a));
	CHECK(util_ct_equal(a, b, sizeof(a)));
	CHECK(util_ct_equal(a, b, 0));
	b[0] ^= 0x80;
	CHECK(!util_ct_equal(a, b, sizeof(a)));
	CHECK(util_ct_equal(a + 1, b + 1, sizeof(a) - 1));
	b[0] = a[0];
	b[sizeof(b) - 1] ^= 1;
	CHECK(!util_ct_equal(a, b, sizeof(a)));
	CHECK(util_ct_equal(a, b, sizeof(a) - 1));
	CHECK(util_ct_equal("0123456789abcdef0123456789abcdef01234567",
	                    "0123456789abcdef0123456789abcdef01234567", 40));
	CHECK(!util_ct_equal("0123456789abcdef0123456789abcdef01234567",
	                     "0123456789abcdef0123456789abcdef01234568", 40));
}

struct long_case {
	const char *s;
	long min, max;
	enum status want;
	long value;
};

static const struct long_case long_cases[] = {
    {"0", 0, 10, STATUS_OK, 0},
    {"42", 0, 100, STATUS_OK, 42},
    {"-5", -10, 10, STATUS_OK, -5},
    {"+7", 0, 10, STATUS_OK, 7},
    {"10", 0, 10, STATUS_OK, 10},
    {"11", 0, 10, STATUS_CONFIG, 0},
    {"-1", 0, 10, STATUS_CONFIG, 0},
    {"-11", -10, 10, STATUS_CONFIG, 0},
    {"007", 0, 10, STATUS_OK, 7},
    {"9223372036854775807", 0, LONG_MAX, STATUS_OK, LONG_MAX},
    {"-9223372036854775808", LONG_MIN, 0, STATUS_OK, LONG_MIN},
    {"9223372036854775808", 0, LONG_MAX, STATUS_CONFIG, 0},
    {"99999999999999999999999", LONG_MIN, LONG_MAX, STATUS_CONFIG, 0},
    {"", 0, 10, STATUS_CONFIG, 0},
    {" 1", 0, 10, STATUS_CONFIG, 0},
    {"\t1", 0, 10, STATUS_CONFIG, 0},
    {"1 ", 0, 10, STATUS_CONFIG, 0},
    {"1a", 0, 10, STATUS_CONFIG, 0},
    {"a1", 0, 10, STATUS_CONFIG, 0},
    {"0x10", 0, 100, STATUS_CONFIG, 0},
    {"1.5", 0, 10, STATUS_CONFIG, 0},
    {"1e3", 0, 10000, STATUS_CONFIG, 0},
    {"-", 0, 10, STATUS_CONFIG, 0},
    {"+", 0, 10, STATUS_CONFIG, 0},
};

static void
test_parse_long(void)
{
	for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
		const struct long_case *c = &long_cases[i];
		long v = 12345;
		enum status rc = util_parse_long(c->s, c->min, c->max, &v);

		if (rc != c->want)
			fprintf(stderr, "  case \"%s\"\n", c->s);
		CHECK_INT(rc, c->want);
		/* the output is only written on success */
		CHECK_INT(v, c->want == STATUS_OK ? c->value : 12345);
	}
	{
		long v = 3;
		CHECK_INT(util_parse_long(NULL, 0, 10, &v), STATUS_CONFIG);
		CHECK_INT(v, 3);
	}
}

static void
test_is_digits(void)
{
	CHECK(util_is_digits("0", 1));
	CHECK(util_is_digits("1234567890", 10));
	CHECK(!util_is_digits("1234567890", 9));
	CHECK(util_is_digits("12345678901234567890", 20));
	CHECK(!util_is_digits("", 10));
	CHECK(!util_is_digits(NULL, 10));
	CHECK(!util_is_digits("12a", 10));
	CHECK(!util_is_digits("-1", 10));
	CHECK(!util_is_digits("+1", 10));
	CHECK(!util_is_digits(" 1", 10));
	CHECK(!util_is_digits("1 ", 10));
	CHECK(!util_is_digits("\xd9\xa1", 10)); /* ARABIC-INDIC DIGIT ONE */
	CHECK(!util_is_digits("1", 0));
}

static void
test_quote(void)
{
	char out[32], small[12];

	CHECK_STR(util_quote("GET", out, sizeof(out)), "\"GET\"");
	CHECK_STR(util_quote(NULL, out, sizeof(out)), "\"-\"");
	CHECK_STR(util_quote("a\" x=\"y", out, sizeof(out)), "\"a\\\" x=\\\"y\"");
	CHECK_STR(util_quote("b\\\n\x7f\xc3", out, sizeof(out)), "\"b\\\\\\x0a\\x7f\\xc3\"");
	CHECK_STR(util_quote("GET status=200 x", small, sizeof(small)), "\"GE...\"");
	CHECK_STR(util_quote("\"\"\"\"\"\"", small, sizeof(small)), "\"\\\"...\"");
	CHECK(strlen(util_quote("\x01\x01\x01\x01\x01\x01", small, sizeof(small))) < sizeof(small));
}

static void
test_sanitize(void)
{
	char out[16];
	char small[5];

	CHECK_STR(util_sanitize("plain text", out, sizeof(out)), "plain text");
	CHECK_STR(util_sanitize("a\nb\rc\td\x1b[0m", out, sizeof(out)), "a?b?c?d?[0m");
	CHECK_STR(util_sanitize("del\x7f", out, sizeof(out)), "del?");
	CHECK_STR(util_sanitize("caf\xc3\xa9", out, sizeof(out)), "caf??");
	CHECK_STR(util_sanitize(NULL, out, sizeof(out)), "-");
	CHECK_STR(util_sanitize("", out, sizeof(out)), "");
	/* exactly 15 characters fit a 16-byte buffer */
	CHECK_STR(util_sanitize("123456789012345", out, sizeof(out)), "123456789012345");
	/* one more is truncated, marked with "..." */
	CHECK_STR(util_sanitize("1234567890123456", out, sizeof(out)), "123456789012...");
	CHECK_INT(strlen(out), sizeof(out) - 1);
	CHECK_STR(util_sanitize("abcdefgh", small, sizeof(small)), "a...");
	CHECK_STR(util_sanitize("abcdefgh", small, 4), "abc");
	CHECK_STR(util_sanitize("abcdefgh", small, 1), "");
	memcpy(small, "keep", 5);
	util_sanitize("abcdefgh", small, 0);
	CHECK_STR(small, "keep");
}

struct mask_case {
	const char *in;
	const char *want;
};

static const struct mask_case phone_masks[] = {
    {"+491511234523", "+**********23"},
    {"+44 7700 900123", "+**********23"},
    {"447700900123", "**********23"},
    {"+1-868-555-1234", "+*********34"},
    {"7700900123", "********23"},
    {"123456789", "*******89"},
    {"12345678", "********"}, /* short national numbers show no digit */
    {"6111234", "*******"},
    {"123456", "******"},
    {"+12", "+**"},
    {"", ""},
    {"abc", ""},
};

static const struct mask_case email_masks[] = {
    {"jane@example.com", "j***@example.com"},
    {"j@x.io", "j***@x.io"},
    {"jane", "j***"},
    {"", "-"},
    {"@example.com", "?***@example.com"},
    {"\xc3\xa9lan@example.com", "?***@example.com"},
    {".jane@example.com", "?***@example.com"},
    {"jane@ex\nample.com", "j***@ex?ample.com"},
};

static void
test_masks(void)
{
	char out[64];
	char tiny[4];

	for (size_t i = 0; i < sizeof(phone_masks) / sizeof(phone_masks[0]); i++)
		CHECK_STR(util_mask_phone(phone_masks[i].in, out, sizeof(out)),
		          phone_masks[i].want);
	for (size_t i = 0; i < sizeof(email_masks) / sizeof(email_masks[0]); i++)
		CHECK_STR(util_mask_email(email_masks[i].in, out, sizeof(out)),
		          email_masks[i].want);
	CHECK_STR(util_mask_phone(NULL, out, sizeof(out)), "");
	CHECK_STR(util_mask_email(NULL, out, sizeof(out)), "-");
	/* small buffers truncate and stay terminated */
	CHECK_STR(util_mask_phone("+491511234523", tiny, sizeof(tiny)), "+**");
	CHECK_STR(util_mask_email("jane@example.com", tiny, sizeof(tiny)), "j**");
	/* a masked value never contains the hidden middle digits */
	util_mask_phone("+15557654321", out, sizeof(out));
	CHECK(strstr(out, "765") == NULL && strstr(out, "543") == NULL);
}

struct trim_case {
	const char *in;
	const char *want;
};

static const struct trim_case trim_cases[] = {
    {"abc", "abc"}, {"  a b  ", "a b"}, {"\t\na\r\n", "a"},        {"", ""},
    {"   ", ""},    {"\v\fx\v\f", "x"}, {" \xc2\xa0", "\xc2\xa0"},
};

static void
test_trim(void)
{
	for (size_t i = 0; i < sizeof(trim_cases) / sizeof(trim_cases[0]); i++) {
		char buf[32];
		util_strlcpy(buf, trim_cases[i].in, sizeof(buf));
		CHECK(util_trim(buf) == buf);
		CHECK_STR(buf, trim_cases[i].want);
	}
}

static void
test_zero_free_and_clock(void)
{
	char *secret = strdup("api-key-secret");
	unsigned char *blob = malloc(32);
	long long t0, t1;

	CHECK(secret != NULL && blob != NULL);
	memset(blob, 0xab, 32);
	util_zero_free_str(secret); /* valgrind: no leak, no invalid access */
	util_zero_free(blob, 32);
	util_zero_free(NULL, 10);
	util_zero_free_str(NULL);
	t0 = util_now_ms();
	t1 = util_now_ms();
	CHECK(t0 > 0);
	CHECK(t1 >= t0);
}

static void
test_hexval(void)
{
	CHECK_INT(util_hexval('f'), 15);
	CHECK_INT(util_hexval('F'), 15);
	CHECK_INT(util_hexval('0'), 0);
	CHECK_INT(util_hexval('9'), 9);
	CHECK_INT(util_hexval('g'), -1);
	CHECK_INT(util_hexval('%'), -1);
}

static void
test_guid_lower(void)
{
	char out[UTIL_GUID_LEN + 1] = "untouched";
	char self[] = "0F8FAD5B-D9CB-469F-A165-70867728950E";

	CHECK(util_guid_lower("0F8FAD5B-d9cb-469F-A165-70867728950e", out));
	CHECK_STR(out, "0f8fad5b-d9cb-469f-a165-70867728950e");
	CHECK(util_guid_lower(self, self));
	CHECK_STR(self, "0f8fad5b-d9cb-469f-a165-70867728950e");
	strcpy(out, "untouched");
	CHECK(!util_guid_lower("0f8fad5b-d9cb-469f-a165-70867728950", out));   /* short */
	CHECK(!util_guid_lower("0f8fad5b-d9cb-469f-a165-70867728950e0", out)); /* long */
	CHECK(!util_guid_lower("0f8fad5bd-9cb-469f-a165-70867728950e", out));  /* dash moved */
	CHECK(!util_guid_lower("0f8fad5b-d9cb-469f-a165-70867728950g", out));  /* not hex */
	CHECK(!util_guid_lower("", out));
	CHECK_STR(out, "untouched");
}

static void
test_ct_str_equal(void)
{
	CHECK(util_ct_str_equal("abc", "abc"));
	CHECK(util_ct_str_equal("", ""));
	CHECK(!util_ct_str_equal("abc", "abd"));
	CHECK(!util_ct_str_equal("abc", "ab"));
	CHECK(!util_ct_str_equal("abc", "abcd"));
	CHECK(!util_ct_str_equal("abc", ""));
	CHECK(!util_ct_str_equal("", "a"));
	CHECK(!util_ct_str_equal("abc", NULL));
}

int
main(void)
{
	RUN(test_strlcpy);
	RUN(test_ct_equal);
	RUN(test_parse_long);
	RUN(test_is_digits);
	RUN(test_quote);
	RUN(test_sanitize);
	RUN(test_masks);
	RUN(test_trim);
	RUN(test_zero_free_and_clock);
	RUN(test_hexval);
	RUN(test_guid_lower);
	RUN(test_ct_str_equal);
	HARNESS_END();
}
