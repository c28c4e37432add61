/*
 * test_utf8.c - unit tests of utf8.c: character counts, cuts by bytes (Authy's
 * message limit) and by characters (Verify's limits), and strict validation.
 */
#include <string.h>

#include "harness.h"
#include "utf8.h"

/* A string of n copies of unit (unit may be multi-byte), into out. */
static char *
repeat(char *out, size_t outlen, const char *unit, size_t n)
{
	size_t u = strlen(unit), o = 0;

	for (size_t i = 0; i < n && o + u < outlen; i++, o += u)
		memcpy(out + o, unit, u);
	out[o] = '\0';
	return out;
}

static void
test_chars(void)
{
	CHECK_INT(utf8_chars(NULL), 0);
	CHECK_INT(utf8_chars(""), 0);
	CHECK_INT(utf8_chars("abc"), 3);
	CHECK_INT(utf8_chars("caf\xc3\xa9"), 4);
	CHECK_INT(utf8_chars("\xe2\x82\xac\xf0\x9f\x94\x90"), 2);
}

static void
test_cut_bytes(void)
{
	char s[1024];

	CHECK_INT(utf8_cut_bytes(NULL, 200), 0);
	CHECK_INT(utf8_cut_bytes("", 200), 0);
	CHECK_INT(utf8_cut_bytes("Sign in to Contoso", 200), 18);
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "a", 200), 200), 200);
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "a", 201), 200), 200);
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "a", 900), 200), 200);
	/* 2-byte characters: 100 fit exactly, the 101st starts at byte 200. */
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "\xc3\xa9", 150), 200), 200);
	/* One ASCII byte first shifts them: the character at 199..200 is left out. */
	s[0] = 'x';
	repeat(s + 1, sizeof(s) - 1, "\xc3\xa9", 150);
	CHECK_INT(utf8_cut_bytes(s, 200), 199);
	/* 3-byte characters: 66 take 198 bytes, the 67th would span 198..200. */
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "\xe2\x82\xac", 80), 200), 198);
	/* 4-byte characters: 50 take exactly 200 bytes. */
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "\xf0\x9f\x94\x90", 60), 200), 200);
	s[0] = 'x';
	s[1] = 'y';
	repeat(s + 2, sizeof(s) - 2, "\xf0\x9f\x94\x90", 60);
	CHECK_INT(utf8_cut_bytes(s, 200), 198);
	/* Invalid UTF-8 (a run of continuation bytes) is cut at the byte limit. */
	CHECK_INT(utf8_cut_bytes(repeat(s, sizeof(s), "\x80", 300), 200), 200);
	CHECK_INT(utf8_cut_bytes("\xc3\xa9", 1), 0);
}

static void
test_cut_chars(void)
{
	char s[1024];

	CHECK_INT(utf8_cut_chars(NULL, 5), 0);
	CHECK_INT(utf8_cut_chars("", 5), 0);
	CHECK_INT(utf8_cut_chars("abc", 5), 3);
	CHECK_INT(utf8_cut_chars("abcdef", 5), 5);
	CHECK_INT(utf8_cut_chars("abc", 0), 0);
	/* 36 characters of 2 bytes are 72 bytes; the 37th is left out whole. */
	CHECK_INT(utf8_cut_chars(repeat(s, sizeof(s), "\xc3\xa9", 40), 36), 72);
	CHECK_INT(utf8_cut_chars(repeat(s, sizeof(s), "\xf0\x9f\x94\x90", 3), 2), 8);
	CHECK_INT(utf8_cut_chars("a\xe2\x82\xac"
	                         "b",
	                         2),
	          4);
}

static void
test_valid(void)
{
	static const char *const good[] = {"",
	                                   "plain",
	                                   "caf\xc3\xa9",
	                                   "\xe2\x82\xac",
	                                   "\xf0\x9f\x94\x90",
	                                   "\xed\x9f\xbf",
	                                   "\xf4\x8f\xbf\xbf"};
	static const char *const bad[] = {
	    "\x80",             /* lone continuation byte */
	    "\xc3",             /* truncated */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xe0\x80\xaf",     /* overlong, 3 bytes */
	    "\xed\xa0\x80",     /* UTF-16 surrogate D800 */
	    "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf5\x80\x80\x80", /* never a lead byte */
	    "\xe2\x82x",        /* bad continuation */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(utf8_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (utf8_valid(bad[i], strlen(bad[i])))
			fprintf(stderr, "  bad[%zu] accepted\n", i);
		CHECK(!utf8_valid(bad[i], strlen(bad[i])));
	}
	/* Only len bytes are read: a sequence cut by len is truncated. */
	CHECK(!utf8_valid("\xe2\x82\xac", 2));
	CHECK(utf8_valid("a\0b", 3));
}

/* Code points of well-formed sequences; -1 and one byte for anything else. */
static void
test_decode(void)
{
	static const struct {
		const char *s;
		long cp;
		size_t n;
	} rows[] = {
	    {"a", 0x61, 1},
	    {"\xc2\xad", 0xad, 2},
	    {"\xe2\x80\xae", 0x202e, 3},
	    {"\xf3\xa0\x80\x81", 0xe0001, 4},
	    {"\xc0\x80", -1, 1},
	    {"\x80", -1, 1},
	    {"\xe2\x80", -1, 1},
	    {"\xed\xa0\x80", -1, 1},
	    {"\xf4\x90\x80\x80", -1, 1},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = 9;
		long cp = utf8_decode(rows[i].s, strlen(rows[i].s), &n);
		CHECK_INT(cp, rows[i].cp);
		CHECK_INT((long)n, (long)rows[i].n);
	}
}

int
main(void)
{
	RUN(test_chars);
	RUN(test_cut_bytes);
	RUN(test_cut_chars);
	RUN(test_valid);
	RUN(test_decode);
	HARNESS_END();
}
