/*
 * test_b2c.c - unit tests of b2c.c: claims parsing (null, wrong types,
 * oversize, unicode, control characters, aliases, broken bodies), email and
 * sign-in name rules, register/wait validation, and byte-exact reply bodies
 * for every status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2c.h"
#include "harness.h"
/* By path: json-c's own json.h comes first on the pkg-config include path. */
#include "json.h"
#include "b2c_int.h"

/* ---- parsing ---- */

struct parse_case {
	const char *body;
	enum status want;
	const char *email;
	enum status email_rc;
	const char *name;
	enum status name_rc;
	const char *phone;
	const char *cc;
	enum status phone_rc;
	const char *id;
	enum status id_rc;
};

#define P_OK(body)                                                                                 \
	{                                                                                          \
		body, STATUS_OK, "", 0, "", 0, "", "", 0, "", 0                                    \
	}
#define P_BAD(body)                                                                                \
	{                                                                                          \
		body, STATUS_BAD_REQUEST, "", 0, "", 0, "", "", 0, "", 0                           \
	}
#define E_INV STATUS_EMAIL_INVALID
#define N_INV STATUS_IDENTITY_MISSING
#define PH_INV STATUS_PHONE_INVALID
#define ID_INV STATUS_AUTHYID_INVALID

static const struct parse_case parse_cases[] = {
    /* the two calls of the policy */
    {"{\"email\":\"jane@example.com\",\"signInName\":\"jane\",\"phoneNumber\":\"+44 7700 "
     "900123\",\"countryCode\":\"44\"}",
     STATUS_OK, "jane@example.com", 0, "jane", 0, "+44 7700 900123", "44", 0, "", 0},
    {"{\"authyId\":\"123456\",\"email\":\"jane@example.com\",\"signInName\":\"jane\"}", STATUS_OK,
     "jane@example.com", 0, "jane", 0, "", "", 0, "123456", 0},
    /* absent, null, blank */
    P_OK("{}"),
    P_OK(" { } "),
    P_OK("{\"email\":null,\"signInName\":null,\"phoneNumber\":null,\"countryCode\":null,"
         "\"authyId\":null,\"appCode\":null}"),
    P_OK("{\"email\":\"\",\"signInName\":\"   \",\"phoneNumber\":\"\\t\",\"authyId\":\"\"}"),
    /* unknown keys are ignored, whatever their type */
    {"{\"objectId\":\"x\",\"nested\":{\"a\":[1,{\"b\":null}]},\"email\":\"a@b.co\",\"n\":1.5}",
     STATUS_OK, "a@b.co", 0, "", 0, "", "", 0, "", 0},
    /* trimming of surrounding white space */
    {"{\"email\":\"  jane@example.com \\t\",\"signInName\":\"\\n jane doe \\r\\n\"}", STATUS_OK,
     "jane@example.com", 0, "jane doe", 0, "", "", 0, "", 0},
    {"{\"phoneNumber\":\" +1 415 555 2671 \",\"countryCode\":\" +1 \",\"authyId\":\" 42 \"}",
     STATUS_OK, "", 0, "", 0, "+1 415 555 2671", "+1", 0, "42", 0},
    /* numbers where B2C may send integers */
    {"{\"phoneNumber\":7700900123,\"countryCode\":44,\"authyId\":12345}", STATUS_OK, "", 0, "", 0,
     "7700900123", "44", 0, "12345", 0},
    {"{\"authyId\":12345678901234567890}", STATUS_OK, "", 0, "", 0, "", "", 0,
     "12345678901234567890", 0},
    {"{\"authyId\":1.5}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":-5}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":1e3}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"phoneNumber\":4.4e11}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    /* wrong types */
    {"{\"email\":123}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":true}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":{\"v\":\"a@b.co\"}}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":[\"a@b.co\"]}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"signInName\":42}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":[]}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"phoneNumber\":false}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    {"{\"phoneNumber\":{}}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    {"{\"phoneNumber\":\"+447700900123\",\"countryCode\":[44]}", STATUS_OK, "", 0, "", 0,
     "+447700900123", "", PH_INV, "", 0},
    {"{\"countryCode\":true}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    {"{\"authyId\":true}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":[1]}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":{}}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    /* authyId content */
    {"{\"authyId\":\"12a\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":\"1 2\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":\"+12\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":\"\\u0661\\u0662\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"authyId\":\"12345678901234567890\"}", STATUS_OK, "", 0, "", 0, "", "", 0,
     "12345678901234567890", 0},
    {"{\"authyId\":\"123456789012345678901\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    /* the appCode alias; authyId wins when present */
    {"{\"appCode\":\"678\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "678", 0},
    {"{\"appCode\":678}", STATUS_OK, "", 0, "", 0, "", "", 0, "678", 0},
    {"{\"authyId\":\"1\",\"appCode\":\"2\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "1", 0},
    {"{\"appCode\":\"2\",\"authyId\":\"1\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "1", 0},
    {"{\"authyId\":null,\"appCode\":\"2\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "2", 0},
    {"{\"authyId\":\" \",\"appCode\":\"2\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "2", 0},
    {"{\"authyId\":\"x\",\"appCode\":\"2\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    {"{\"appCode\":\"abc\"}", STATUS_OK, "", 0, "", 0, "", "", 0, "", ID_INV},
    /* invalid email content empties the field */
    {"{\"email\":\"not-an-email\"}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":\"a\\n@b.co\"}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":\"jos\\u00e9@example.com\"}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    {"{\"email\":\"a@b.co\\n\"}", STATUS_OK, "a@b.co", 0, "", 0, "", "", 0, "", 0},
    /* unicode and control characters */
    {"{\"signInName\":\"Jos\xc3\xa9 M\xc3\xbcller \xe5\xb1\xb1\xe7\x94\xb0\"}", STATUS_OK, "", 0,
     "Jos\xc3\xa9 M\xc3\xbcller \xe5\xb1\xb1\xe7\x94\xb0", 0, "", "", 0, "", 0},
    {"{\"signInName\":\"Jos\\u00e9 \\ud83d\\ude00\"}", STATUS_OK, "", 0,
     "Jos\xc3\xa9 \xf0\x9f\x98\x80", 0, "", "", 0, "", 0},
    {"{\"signInName\":\"\\u00a0x\\u00a0\"}", STATUS_OK, "", 0, "\xc2\xa0x\xc2\xa0", 0, "", "", 0,
     "", 0},
    {"{\"signInName\":\"a\\u0007b\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    /* invisible format characters: zero width, direction, separators, BOM */
    {"{\"signInName\":\"bob\\u200b\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"\\u202egpj.exe\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u2028b\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u2066b\\u2069\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"\\ufeffbob\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u061cb\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"email\":\"a\\u200d@b.co\"}", STATUS_OK, "", E_INV, "", 0, "", "", 0, "", 0},
    /* their neighbours are letters and punctuation */
    {"{\"signInName\":\"a\\u2010b\\u2030\\u2070\"}", STATUS_OK, "", 0,
     "a\xe2\x80\x90"
     "b\xe2\x80\xb0\xe2\x81\xb0",
     0, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u0085b\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u007fb\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\u0000b\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"signInName\":\"a\\tb\"}", STATUS_OK, "", 0, "", N_INV, "", "", 0, "", 0},
    {"{\"phoneNumber\":\"+44\\t7700900123\"}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    {"{\"countryCode\":\"4\\u00004\"}", STATUS_OK, "", 0, "", 0, "", "", PH_INV, "", 0},
    /* duplicate keys: the last one counts */
    {"{\"email\":\"first@example.com\",\"email\":\"second@example.com\"}", STATUS_OK,
     "second@example.com", 0, "", 0, "", "", 0, "", 0},
    /* broken bodies */
    P_BAD(""),
    P_BAD("   "),
    P_BAD("null"),
    P_BAD("[]"),
    P_BAD("[{\"email\":\"a@b.co\"}]"),
    P_BAD("\"email\""),
    P_BAD("{\"email\":\"a@b.co\"} trailing"),
    P_BAD("{\"email\":\"a@b.co\"}{}"),
    P_BAD("{\"email\":\"a@b.co\",}"),
    P_BAD("{\"email\":\"a@b.co\""),
    P_BAD("{email:\"a@b.co\"}"),
    P_BAD("{'email':'a@b.co'}"),
    P_BAD("email=a%40b.co&phoneNumber=%2B447700900123"),
    P_BAD("{\"signInName\":\"\xff\xfe\"}"),
    P_BAD("{\"signInName\":\"Jos\xc3\"}"),
};

static void
check_parse_case(size_t i, const struct parse_case *pc)
{
	struct b2c_claims c;
	enum status rc;

	memset(&c, 'x', sizeof(c));
	rc = b2c_parse_claims(pc->body, strlen(pc->body), &c);
	if (rc != pc->want || strcmp(c.email, pc->email) || strcmp(c.sign_in_name, pc->name) ||
	    strcmp(c.phone, pc->phone) || strcmp(c.country_code, pc->cc) ||
	    strcmp(c.authy_id, pc->id) || c.email_rc != pc->email_rc || c.name_rc != pc->name_rc ||
	    c.phone_rc != pc->phone_rc || c.authy_id_rc != pc->id_rc)
		fprintf(stderr, "  case %zu: %s\n", i, pc->body);
	CHECK_INT(rc, pc->want);
	CHECK_STR(c.email, pc->email);
	CHECK_STR(c.sign_in_name, pc->name);
	CHECK_STR(c.phone, pc->phone);
	CHECK_STR(c.country_code, pc->cc);
	CHECK_STR(c.authy_id, pc->id);
	CHECK_INT(c.email_rc, pc->email_rc);
	CHECK_INT(c.name_rc, pc->name_rc);
	CHECK_INT(c.phone_rc, pc->phone_rc);
	CHECK_INT(c.authy_id_rc, pc->id_rc);
}

static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++)
		check_parse_case(i, &parse_cases[i]);
}

/* Body {"<key>":"<n times ch>"} parsed; returns the claims. */
static enum status
parse_long_value(const char *key, char ch, size_t n, struct b2c_claims *c)
{
	char body[1024];
	size_t k = (size_t)snprintf(body, sizeof(body), "{\"%s\":\"", key);
	enum status rc;

	memset(body + k, ch, n);
	k += n;
	k += (size_t)snprintf(body + k, sizeof(body) - k, "\"}");
	rc = b2c_parse_claims(body, k, c);
	return rc;
}

static void
test_oversize(void)
{
	struct b2c_claims c;

	/* signInName: 256 bytes fit, 257 do not */
	CHECK_INT(parse_long_value("signInName", 'n', B2C_NAME_MAX, &c), STATUS_OK);
	CHECK_INT(strlen(c.sign_in_name), B2C_NAME_MAX);
	CHECK_INT(c.name_rc, STATUS_OK);
	CHECK_INT(parse_long_value("signInName", 'n', B2C_NAME_MAX + 1, &c), STATUS_OK);
	CHECK_STR(c.sign_in_name, "");
	CHECK_INT(c.name_rc, STATUS_IDENTITY_MISSING);
	/* email over 254 */
	CHECK_INT(parse_long_value("email", 'e', B2C_EMAIL_MAX + 1, &c), STATUS_OK);
	CHECK_INT(c.email_rc, STATUS_EMAIL_INVALID);
	CHECK_STR(c.email, "");
	/* phone: 63 characters fit the field (phone_parse judges them later), 64 do not */
	CHECK_INT(parse_long_value("phoneNumber", '1', sizeof(c.phone) - 1, &c), STATUS_OK);
	CHECK_INT(c.phone_rc, STATUS_OK);
	CHECK_INT(strlen(c.phone), sizeof(c.phone) - 1);
	CHECK_INT(parse_long_value("phoneNumber", '1', sizeof(c.phone), &c), STATUS_OK);
	CHECK_INT(c.phone_rc, STATUS_PHONE_INVALID);
	CHECK_STR(c.phone, "");
	CHECK_INT(parse_long_value("countryCode", '4', sizeof(c.country_code), &c), STATUS_OK);
	CHECK_INT(c.phone_rc, STATUS_PHONE_INVALID);
	/* authyId: digits beyond the field */
	CHECK_INT(parse_long_value("authyId", '7', 200, &c), STATUS_OK);
	CHECK_INT(c.authy_id_rc, STATUS_AUTHYID_INVALID);
	/* white space around a value does not count against the field */
	{
		static const char body[] = "{\"countryCode\":\"          +44          \"}";
		CHECK_INT(b2c_parse_claims(body, strlen(body), &c), STATUS_OK);
		CHECK_STR(c.country_code, "+44");
		CHECK_INT(c.phone_rc, STATUS_OK);
	}
}

static void
test_parse_len(void)
{
	static const char body[] = "{\"authyId\":\"99\"}and more";
	struct b2c_claims c;

	/* exactly len bytes are parsed */
	CHECK_INT(b2c_parse_claims(body, 16, &c), STATUS_OK);
	CHECK_STR(c.authy_id, "99");
	CHECK_INT(b2c_parse_claims(body, strlen(body), &c), STATUS_BAD_REQUEST);
	CHECK_INT(b2c_parse_claims(body, 15, &c), STATUS_BAD_REQUEST);
	CHECK_INT(b2c_parse_claims("{\"a\":1}\0", 8, &c), STATUS_BAD_REQUEST);
}

/* ---- email and sign-in name rules ---- */

struct valid_case {
	const char *s;
	bool want;
};

static const struct valid_case email_cases[] = {
    {"jane@example.com", true},
    {"j.doe+tag@mail.example.co.uk", true},
    {"a@b.co", true},
    {"x_y-z@sub-domain.example", true},
    {"o'brien@example.ie", true},
    {"!#$%&'*+-/=?^_`{|}~@example.com", true},
    {"user@xn--bcher-kva.example", true},
    {"UPPER@EXAMPLE.COM", true},
    {"1234@123.example", true},
    {"a@b.c1", true},
    {"", false},
    {"plain", false},
    {"@example.com", false},
    {"jane@", false},
    {"jane@example", false},
    {"jane@@example.com", false},
    {"jane@exa@mple.com", false},
    {"ja ne@example.com", false},
    {"jane@exa mple.com", false},
    {" jane@example.com", false},
    {".jane@example.com", false},
    {"jane.@example.com", false},
    {"ja..ne@example.com", false},
    {"jane@-example.com", false},
    {"jane@example-.com", false},
    {"jane@example.-com", false},
    {"jane@example..com", false},
    {"jane@.example.com", false},
    {"jane@example.com.", false},
    {"jane@1.2.3.4", false},
    {"jane@[1.2.3.4]", false},
    {"jane@exam_ple.com", false},
    {"jane@example.c_m", false},
    {"jan\xc3\xa9@example.com", false},
    {"jane@ex\xc3\xa4mple.com", false},
    {"\"jane\"@example.com", false},
    {"jane(comment)@example.com", false},
    {"jane<x>@example.com", false},
    {"jane@example.com\n", false},
    {"jane\t@example.com", false},
    {"jane\\@example.com", false},
};

static void
test_email_valid(void)
{
	char s[300];
	char local[70], label[70];

	for (size_t i = 0; i < sizeof(email_cases) / sizeof(email_cases[0]); i++) {
		if (b2c_email_valid(email_cases[i].s) != email_cases[i].want)
			fprintf(stderr, "  email \"%s\"\n", email_cases[i].s);
		CHECK(b2c_email_valid(email_cases[i].s) == email_cases[i].want);
	}
	CHECK(!b2c_email_valid(NULL));
	/* local part: 64 fits, 65 does not */
	memset(local, 'l', 65);
	local[64] = '\0';
	snprintf(s, sizeof(s), "%s@example.com", local);
	CHECK(b2c_email_valid(s));
	local[64] = 'l';
	local[65] = '\0';
	snprintf(s, sizeof(s), "%s@example.com", local);
	CHECK(!b2c_email_valid(s));
	/* label: 63 fits, 64 does not */
	memset(label, 'd', 64);
	label[63] = '\0';
	snprintf(s, sizeof(s), "a@%s.com", label);
	CHECK(b2c_email_valid(s));
	label[63] = 'd';
	label[64] = '\0';
	snprintf(s, sizeof(s), "a@%s.com", label);
	CHECK(!b2c_email_valid(s));
	/* whole address: 254 fits, 255 does not (64 + 1 + 63.63.61) */
	local[64] = '\0';
	label[63] = '\0';
	snprintf(s, sizeof(s), "%s@%s.%s.%.61s", local, label, label, label);
	CHECK_INT(strlen(s), 254);
	CHECK(b2c_email_valid(s));
	snprintf(s, sizeof(s), "%s@%s.%s.%.62s", local, label, label, label);
	CHECK_INT(strlen(s), 255);
	CHECK(!b2c_email_valid(s));
}

static const struct valid_case name_cases[] = {
    {"jane", true},
    {"Jane Doe", true},
    {"jane@example.com", true},
    {"\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e", true},
    {"x", true},
    {"", false},
    {"a\x7f", false},
    {"a\x01", false},
    {"tab\t", false},
    {"nl\n", false},
    {"c1\xc2\x85", false},
    {"c1\xc2\x9f", false},
    {"nbsp\xc2\xa0", true},
    /* invisible format characters: each looks like nothing in a push */
    {"zw\xe2\x80\x8b", false},
    {"rlo\xe2\x80\xae", false},
    {"isolate\xe2\x81\xa9", false},
    {"bom\xef\xbb\xbf", false},
    {"ali\xc2\xad"
     "ce",
     false},
    {"cgj\xcd\x8f", false},
    {"hangul\xe3\x85\xa4", false},
    {"mvs\xe1\xa0\x8e", false},
    {"nads\xe2\x81\xaf", false},
    {"ann\xef\xbf\xb9", false},
    {"tag\xf3\xa0\x80\x81", false},
    {"tag\xf3\xa0\x81\xbf", false},
    /* visible neighbours and variation selectors stay */
    {"\xc2\xae\xc2\xac\xcd\x8e\xe2\x80\x90\xe2\x81\x9f", true},
    {"heart\xe2\x9d\xa4\xef\xb8\x8f", true},
    {"\xf3\xa0\x82\x80", true},
};

static void
test_name_valid(void)
{
	char s[300];

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		if (b2c_sign_in_name_valid(name_cases[i].s) != name_cases[i].want)
			fprintf(stderr, "  name \"%s\"\n", name_cases[i].s);
		CHECK(b2c_sign_in_name_valid(name_cases[i].s) == name_cases[i].want);
	}
	CHECK(!b2c_sign_in_name_valid(NULL));
	memset(s, 'n', sizeof(s));
	s[B2C_NAME_MAX] = '\0';
	CHECK(b2c_sign_in_name_valid(s));
	s[B2C_NAME_MAX] = 'n';
	s[B2C_NAME_MAX + 1] = '\0';
	CHECK(!b2c_sign_in_name_valid(s));
}

/* ---- validation ---- */

struct register_case {
	const char *body;
	enum status want;
	const char *cc;
	const char *national;
};

#define JANE "\"email\":\"jane@example.com\","
#define OID_CLAIM "\"objectId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","

static const struct register_case register_cases[] = {
    {"{" JANE "\"phoneNumber\":\"+44 7700 900123\"}", STATUS_OK, "44", "7700900123"},
    {"{\"signInName\":\"jane\",\"phoneNumber\":\"07700 900123\",\"countryCode\":\"+44\"}",
     STATUS_OK, "44", "7700900123"},
    {"{\"signInName\":\"jane\",\"phoneNumber\":\"+1-868-555-1234\"}", STATUS_OK, "1", "8685551234"},
    {"{" JANE "\"phoneNumber\":7700900123,\"countryCode\":44}", STATUS_OK, "44", "7700900123"},
    {"{" JANE "\"phoneNumber\":\"+49 (0)30 901820\",\"countryCode\":\"49\"}", STATUS_OK, "49",
     "30901820"},
    /* a valid email makes a broken sign-in name irrelevant */
    {"{" JANE "\"signInName\":{},\"phoneNumber\":\"+44 7700 900123\"}", STATUS_OK, "44",
     "7700900123"},
    /* identity comes first */
    {"{\"phoneNumber\":\"+44 7700 900123\"}", STATUS_IDENTITY_MISSING, "", ""},
    {"{\"phoneNumber\":\"garbage\"}", STATUS_IDENTITY_MISSING, "", ""},
    {"{}", STATUS_IDENTITY_MISSING, "", ""},
    {"{\"email\":null,\"signInName\":\"  \",\"phoneNumber\":\"+44 7700 900123\"}",
     STATUS_IDENTITY_MISSING, "", ""},
    {"{\"signInName\":{},\"phoneNumber\":\"+44 7700 900123\"}", STATUS_IDENTITY_MISSING, "", ""},
    {"{\"signInName\":\"x\\u0001\",\"phoneNumber\":\"+44 7700 900123\"}", STATUS_IDENTITY_MISSING,
     "", ""},
    {"{\"email\":\"bad\",\"signInName\":\"jane\",\"phoneNumber\":\"+44 7700 900123\"}",
     STATUS_EMAIL_INVALID, "", ""},
    /* the account alone names the user (the provider says whether it needs a name) */
    {"{" OID_CLAIM "\"phoneNumber\":\"+44 7700 900123\"}", STATUS_OK, "44", "7700900123"},
    {"{" OID_CLAIM "\"signInName\":{},\"phoneNumber\":\"+44 7700 900123\"}",
     STATUS_IDENTITY_MISSING, "", ""},
    {"{" OID_CLAIM "\"email\":\"bad\",\"phoneNumber\":\"+44 7700 900123\"}", STATUS_EMAIL_INVALID,
     "", ""},
    {"{\"objectId\":\"not-a-guid\",\"phoneNumber\":\"+44 7700 900123\"}", STATUS_IDENTITY_MISSING,
     "", ""},
    {"{\"email\":123,\"phoneNumber\":\"+44 7700 900123\"}", STATUS_EMAIL_INVALID, "", ""},
    {"{\"email\":\"bad\",\"phoneNumber\":\"garbage\"}", STATUS_EMAIL_INVALID, "", ""},
    /* then the phone */
    {"{" JANE "\"countryCode\":\"44\"}", STATUS_PHONE_MISSING, "", ""},
    {"{" JANE "\"phoneNumber\":\"   \"}", STATUS_PHONE_MISSING, "", ""},
    {"{" JANE "\"phoneNumber\":null}", STATUS_PHONE_MISSING, "", ""},
    {"{" JANE "\"phoneNumber\":\"+28 1234 5678\"}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"+800 1234 5678\"}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":true}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"7700900123\"}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"7700900123\",\"countryCode\":{}}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"+44 7700 900123\",\"countryCode\":\"49\"}", STATUS_PHONE_INVALID,
     "", ""},
    {"{" JANE "\"phoneNumber\":\"+44 7700 CALL ME\"}", STATUS_PHONE_INVALID, "", ""},
};

/* Each case of cases through b2c_validate_register, with the phone required or not. */
static void
run_register_cases(const struct register_case *cases, size_t n, bool need_phone)
{
	for (size_t i = 0; i < n; i++) {
		const struct register_case *rc = &cases[i];
		struct b2c_claims c;
		struct phone_number ph;
		enum status got;

		CHECK_INT(b2c_parse_claims(rc->body, strlen(rc->body), &c), STATUS_OK);
		memset(&ph, 'x', sizeof(ph));
		got = b2c_validate_register(&c, need_phone, &ph);
		if (got != rc->want)
			fprintf(stderr, "  case %zu: %s -> %s\n", i, rc->body, status_str(got));
		CHECK_INT(got, rc->want);
		CHECK_STR(ph.country_code, rc->cc);
		CHECK_STR(ph.national, rc->national);
	}
}

static void
test_validate_register(void)
{
	run_register_cases(register_cases, sizeof(register_cases) / sizeof(register_cases[0]),
	                   true);
}

/*
 * A provider that does not need the phone (Verify) takes a register without
 * one; a phone number that is sent is still checked, and so is the identity.
 */
static const struct register_case optional_phone_cases[] = {
    {"{\"email\":\"jane@example.com\"}", STATUS_OK, "", ""},
    {"{" OID_CLAIM "\"signInName\":\"jane\"}", STATUS_OK, "", ""},
    {"{" JANE "\"phoneNumber\":null}", STATUS_OK, "", ""},
    {"{" JANE "\"phoneNumber\":\"   \"}", STATUS_OK, "", ""},
    {"{" JANE "\"countryCode\":\"44\"}", STATUS_OK, "", ""},
    {"{" JANE "\"phoneNumber\":\"+44 7700 900123\"}", STATUS_OK, "44", "7700900123"},
    {"{" JANE "\"phoneNumber\":\"7700900123\"}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"+800 1234 5678\"}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":true}", STATUS_PHONE_INVALID, "", ""},
    {"{" JANE "\"phoneNumber\":\"7700900123\",\"countryCode\":{}}", STATUS_PHONE_INVALID, "", ""},
    {"{}", STATUS_IDENTITY_MISSING, "", ""},
    {"{\"email\":\"bad\"}", STATUS_EMAIL_INVALID, "", ""},
    {"{\"objectId\":\"not-a-guid\"}", STATUS_IDENTITY_MISSING, "", ""},
};

static void
test_validate_register_phone_optional(void)
{
	run_register_cases(optional_phone_cases,
	                   sizeof(optional_phone_cases) / sizeof(optional_phone_cases[0]), false);
	/* The same claims with the phone required (Authy): a missing one is refused. */
	for (size_t i = 0; i < 5; i++) {
		const char *body = optional_phone_cases[i].body;
		struct b2c_claims c;

		CHECK_INT(b2c_parse_claims(body, strlen(body), &c), STATUS_OK);
		CHECK_INT(b2c_validate_register(&c, true, NULL), STATUS_PHONE_MISSING);
	}
}

/* objectId on register: a GUID, kept in lower case; anything else refused. */
static void
test_object_id(void)
{
	static const struct {
		const char *value; /* JSON text of the claim */
		const char *kept;
		enum status rc, valid;
	} cases[] = {
	    {"\"0f8fad5b-d9cb-469f-a165-70867728950e\"", "0f8fad5b-d9cb-469f-a165-70867728950e",
	     STATUS_OK, STATUS_OK},
	    {"\" 0F8FAD5B-D9CB-469F-A165-70867728950E \"", "0f8fad5b-d9cb-469f-a165-70867728950e",
	     STATUS_OK, STATUS_OK},
	    {"null", "", STATUS_OK, STATUS_OK},
	    {"\"\"", "", STATUS_OK, STATUS_OK},
	    {"\"0f8fad5b-d9cb-469f-a165-70867728950\"", "", STATUS_BAD_REQUEST, STATUS_BAD_REQUEST},
	    {"\"0f8fad5bd9cb-469f-a165-70867728950ee\"", "", STATUS_BAD_REQUEST,
	     STATUS_BAD_REQUEST},
	    {"\"0f8fad5b-d9cb-469f-a165-70867728950g\"", "", STATUS_BAD_REQUEST,
	     STATUS_BAD_REQUEST},
	    {"\"{0f8fad5b-d9cb-469f-a165-70867728950e}\"", "", STATUS_BAD_REQUEST,
	     STATUS_BAD_REQUEST},
	    {"12345", "", STATUS_BAD_REQUEST, STATUS_BAD_REQUEST},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];
		struct b2c_claims c;
		struct phone_number ph;

		snprintf(body, sizeof(body),
		         "{\"email\":\"a@example.com\",\"phoneNumber\":\"+14155550100\","
		         "\"objectId\":%s}",
		         cases[i].value);
		CHECK_INT(b2c_parse_claims(body, strlen(body), &c), STATUS_OK);
		CHECK_STR(c.object_id, cases[i].kept);
		CHECK_INT(c.object_id_rc, cases[i].rc);
		CHECK_INT(b2c_validate_register(&c, true, &ph), cases[i].valid);
	}
}

/* Validators do not trust fields filled in by hand. */
static void
test_validate_direct(void)
{
	struct b2c_claims c;
	struct phone_number ph;

	memset(&c, 0, sizeof(c));
	snprintf(c.email, sizeof(c.email), "no-at-sign");
	snprintf(c.phone, sizeof(c.phone), "+44 7700 900123");
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_EMAIL_INVALID);
	c.email[0] = '\0';
	snprintf(c.sign_in_name, sizeof(c.sign_in_name), "bell\a");
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_IDENTITY_MISSING);
	snprintf(c.sign_in_name, sizeof(c.sign_in_name), "jane");
	CHECK_INT(b2c_validate_register(&c, true, NULL), STATUS_OK);
	/* A Verify identity is derived from objectId: only a GUID. */
	snprintf(c.object_id, sizeof(c.object_id), "../0f8fad5b-d9cb-469f-a165");
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_BAD_REQUEST);
	snprintf(c.object_id, sizeof(c.object_id), "0F8FAD5B-D9CB-469F-A165-70867728950E");
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_OK);
	c.object_id_rc = STATUS_BAD_REQUEST;
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_BAD_REQUEST);
	c.object_id_rc = STATUS_OK;
	c.phone_rc = STATUS_PHONE_INVALID;
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_PHONE_INVALID);
	c.name_rc = STATUS_IDENTITY_MISSING;
	CHECK_INT(b2c_validate_register(&c, true, &ph), STATUS_IDENTITY_MISSING);

	memset(&c, 0, sizeof(c));
	CHECK_INT(b2c_validate_wait(&c), STATUS_AUTHYID_MISSING);
	snprintf(c.authy_id, sizeof(c.authy_id), "12x");
	CHECK_INT(b2c_validate_wait(&c), STATUS_AUTHYID_INVALID);
	snprintf(c.authy_id, sizeof(c.authy_id), "12");
	CHECK_INT(b2c_validate_wait(&c), STATUS_OK);
	c.authy_id_rc = STATUS_AUTHYID_INVALID;
	CHECK_INT(b2c_validate_wait(&c), STATUS_AUTHYID_INVALID);
}

struct wait_case {
	const char *body;
	enum status want;
};

static const struct wait_case wait_cases[] = {
    {"{\"authyId\":\"123\"}", STATUS_OK},
    {"{\"authyId\":123,\"email\":\"jane@example.com\"}", STATUS_OK},
    {"{\"appCode\":\"123\"}", STATUS_OK},
    {"{\"authyId\":\"12345678901234567890\"}", STATUS_OK},
    /* a name or email that was sent must be usable: the push shows it */
    {"{\"authyId\":\"123\",\"email\":\"broken\",\"signInName\":[]}", STATUS_EMAIL_INVALID},
    {"{\"authyId\":\"123\",\"email\":\"broken\",\"signInName\":\"jane\"}", STATUS_EMAIL_INVALID},
    {"{\"authyId\":\"123\",\"signInName\":[]}", STATUS_IDENTITY_MISSING},
    {"{\"authyId\":\"123\",\"signInName\":12345}", STATUS_IDENTITY_MISSING},
    {"{\"authyId\":\"123\",\"signInName\":\"bob\\u202eevil\"}", STATUS_IDENTITY_MISSING},
    {"{\"authyId\":\"123\",\"signInName\":[],\"email\":\"jane@example.com\"}", STATUS_OK},
    {"{\"authyId\":\"123\",\"signInName\":\"\",\"email\":null}", STATUS_OK},
    {"{}", STATUS_AUTHYID_MISSING},
    {"{\"authyId\":null}", STATUS_AUTHYID_MISSING},
    {"{\"authyId\":\"\"}", STATUS_AUTHYID_MISSING},
    {"{\"email\":\"jane@example.com\"}", STATUS_AUTHYID_MISSING},
    {"{\"authyId\":\"abc\"}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":\"123456789012345678901\"}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":-1}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":1.0}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":[1]}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":\"12 34\"}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":\"../1\"}", STATUS_AUTHYID_INVALID},
    {"{\"authyId\":\"1/approval_requests\"}", STATUS_AUTHYID_INVALID},
};

static void
test_validate_wait(void)
{
	for (size_t i = 0; i < sizeof(wait_cases) / sizeof(wait_cases[0]); i++) {
		struct b2c_claims c;

		CHECK_INT(b2c_parse_claims(wait_cases[i].body, strlen(wait_cases[i].body), &c),
		          STATUS_OK);
		if (b2c_validate_wait(&c) != wait_cases[i].want)
			fprintf(stderr, "  case %zu: %s\n", i, wait_cases[i].body);
		CHECK_INT(b2c_validate_wait(&c), wait_cases[i].want);
	}
}

/* ---- binding: correlationId and ipAddress ---- */

struct binding_case {
	const char *body;
	const char *cid; /* correlation_id kept */
	enum status cid_rc;
	const char *ip; /* ip_address kept */
	enum status ip_rc;
	enum status required, optional; /* b2c_validate_binding(require true / false) */
};

#define GUID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define CM STATUS_NO_CORRELATION
#define BR STATUS_BAD_REQUEST

static const struct binding_case binding_cases[] = {
    {"{\"correlationId\":\"" GUID "\",\"ipAddress\":\"203.0.113.9\"}", GUID, STATUS_OK,
     "203.0.113.9", STATUS_OK, STATUS_OK, STATUS_OK},
    {"{\"correlationId\":\" " GUID " \",\"ipAddress\":\"2001:DB8:0:0::1\"}", GUID, STATUS_OK,
     "2001:db8::1", STATUS_OK, STATUS_OK, STATUS_OK},
    {"{}", "", STATUS_OK, "", STATUS_OK, CM, STATUS_OK},
    {"{\"correlationId\":null,\"ipAddress\":null}", "", STATUS_OK, "", STATUS_OK, CM, STATUS_OK},
    {"{\"correlationId\":\"\"}", "", STATUS_OK, "", STATUS_OK, CM, STATUS_OK},
    /* invalid ids are refused even when not required: never silently unbound */
    {"{\"correlationId\":\"a b\"}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":\"a\\u0001b\"}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":\"a;drop\"}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":\"x\\u00e9\"}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":123}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":{}}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":\"" GUID GUID "\"}", "", CM, "", STATUS_OK, CM, CM},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"203.0.113.9:443\"}", "c1", STATUS_OK, "", BR,
     STATUS_OK, STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"evil.example.com\"}", "c1", STATUS_OK, "", BR,
     STATUS_OK, STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"1.2.3.4<script>\"}", "c1", STATUS_OK, "", BR,
     STATUS_OK, STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"256.1.1.1\"}", "c1", STATUS_OK, "", BR, STATUS_OK,
     STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"fe80::1%eth0\"}", "c1", STATUS_OK, "", BR,
     STATUS_OK, STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":16909060}", "c1", STATUS_OK, "", BR, STATUS_OK,
     STATUS_OK},
    {"{\"correlationId\":\"c1\",\"ipAddress\":\"::ffff:192.0.2.1\"}", "c1", STATUS_OK,
     "::ffff:192.0.2.1", STATUS_OK, STATUS_OK, STATUS_OK},
};

static void
test_binding(void)
{
	for (size_t i = 0; i < sizeof(binding_cases) / sizeof(binding_cases[0]); i++) {
		const struct binding_case *bc = &binding_cases[i];
		struct b2c_claims c;

		CHECK_INT(b2c_parse_claims(bc->body, strlen(bc->body), &c), STATUS_OK);
		if (strcmp(c.correlation_id, bc->cid) != 0 || strcmp(c.ip_address, bc->ip) != 0 ||
		    c.correlation_rc != bc->cid_rc || c.ip_rc != bc->ip_rc)
			fprintf(stderr, "  case %zu: %s\n", i, bc->body);
		CHECK_STR(c.correlation_id, bc->cid);
		CHECK_INT(c.correlation_rc, bc->cid_rc);
		CHECK_STR(c.ip_address, bc->ip);
		CHECK_INT(c.ip_rc, bc->ip_rc);
		CHECK_INT(b2c_validate_binding(&c, true), bc->required);
		CHECK_INT(b2c_validate_binding(&c, false), bc->optional);
	}
	CHECK(b2c_correlation_id_valid("A-Z_a.z:09"));
	CHECK(!b2c_correlation_id_valid(""));
	CHECK(!b2c_correlation_id_valid(NULL));
	CHECK(!b2c_correlation_id_valid("a/b"));
}

/*
 * The sign-in key: each of authyId, signInName, email, correlationId and
 * ipAddress tells sign-ins apart, and text cannot move from one field to the
 * next unnoticed; the longest claims fit whole.
 */
static void
test_signin_key(void)
{
	struct b2c_claims a, b;
	char ka[B2C_SIGNIN_KEY_MAX], kb[B2C_SIGNIN_KEY_MAX];
	char *fields[][2] = {{a.authy_id, b.authy_id},
	                     {a.sign_in_name, b.sign_in_name},
	                     {a.email, b.email},
	                     {a.correlation_id, b.correlation_id},
	                     {a.ip_address, b.ip_address}};
	size_t sizes[] = {sizeof(a.authy_id), sizeof(a.sign_in_name), sizeof(a.email),
	                  sizeof(a.correlation_id), sizeof(a.ip_address)};

	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < 5; i++)
		memset(fields[i][0], 'x', sizes[i] - 1);
	b = a;
	b2c_signin_key(&a, ka);
	CHECK_INT(strlen(ka), B2C_SIGNIN_KEY_MAX - 1);
	for (size_t i = 0; i < 5; i++) {
		b = a;
		fields[i][1][0] = 'y';
		b2c_signin_key(&b, kb);
		CHECK(strcmp(ka, kb) != 0);
	}
	memset(&a, 0, sizeof(a));
	b = a;
	strcpy(a.sign_in_name, "ab");
	strcpy(b.sign_in_name, "a");
	strcpy(b.email, "b");
	b2c_signin_key(&a, ka);
	b2c_signin_key(&b, kb);
	CHECK(strcmp(ka, kb) != 0);
}

static const struct {
	const char *body;
	enum status want;
	const char *token; /* the code kept when valid */
} token_cases[] = {
    {"{\"authyId\":\"42\",\"token\":\"1234567\"}", STATUS_OK, "1234567"},
    {"{\"authyId\":\"42\",\"token\":\"012345\"}", STATUS_OK, "012345"},
    {"{\"authyId\":\"42\",\"token\":\"0123456789\"}", STATUS_OK, "0123456789"},
    {"{\"authyId\":\"42\",\"token\":\" 1234567 \"}", STATUS_OK, "1234567"},
    {"{\"authyId\":\"42\"}", STATUS_TOKEN_MISSING, ""},
    {"{\"authyId\":\"42\",\"token\":null}", STATUS_TOKEN_MISSING, ""},
    {"{\"authyId\":\"42\",\"token\":\"\"}", STATUS_TOKEN_MISSING, ""},
    {"{\"authyId\":\"42\",\"token\":\"   \"}", STATUS_TOKEN_MISSING, ""},
    {"{\"authyId\":\"42\",\"token\":\"12345\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"01234567890\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"<<40 digits>>1234567890123456789012345678901\"}",
     STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"12345a7\"}", STATUS_TOKEN_INVALID, ""},
    /* grouped as the app shows it: one space or dash between two digits */
    {"{\"authyId\":\"42\",\"token\":\"123 4567\"}", STATUS_OK, "1234567"},
    {"{\"authyId\":\"42\",\"token\":\"123-456\"}", STATUS_OK, "123456"},
    {"{\"authyId\":\"42\",\"token\":\" 12 34-56 \"}", STATUS_OK, "123456"},
    {"{\"authyId\":\"42\",\"token\":\"1 2 3 4 5 6 7 8 9 0\"}", STATUS_OK, "1234567890"},
    {"{\"authyId\":\"42\",\"token\":\"1 2 3 4 5 6 7 8 9 0 1\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123 45\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123  4567\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123--456\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123 -456\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123\\t4567\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123.4567\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"-123456\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"123456-\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"- 123456\"}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":\"\\u0661\\u0662\\u0663\\u0664\\u0665\\u0666\"}",
     STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":1234567}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":true}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":[\"1234567\"]}", STATUS_TOKEN_INVALID, ""},
    {"{\"authyId\":\"42\",\"token\":{\"v\":\"1234567\"}}", STATUS_TOKEN_INVALID, ""},
    {"{\"token\":\"1234567\"}", STATUS_AUTHYID_MISSING, "1234567"},
    {"{\"authyId\":\"4x2\",\"token\":\"1234567\"}", STATUS_AUTHYID_INVALID, "1234567"},
};

static void
test_validate_token(void)
{
	for (size_t i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
		struct b2c_claims c;

		CHECK_INT(b2c_parse_claims(token_cases[i].body, strlen(token_cases[i].body), &c),
		          STATUS_OK);
		if (b2c_validate_token(&c) != token_cases[i].want)
			fprintf(stderr, "  case %zu: %s\n", i, token_cases[i].body);
		CHECK_INT(b2c_validate_token(&c), token_cases[i].want);
		CHECK_STR(c.token, token_cases[i].token);
		b2c_claims_wipe(&c);
		CHECK_STR(c.token, "");
	}
	CHECK(!b2c_token_valid(NULL));
	CHECK(!b2c_token_valid(""));
	CHECK(b2c_token_valid("000000"));
	CHECK(!b2c_token_valid("12345678901"));
}

/* ---- replies ---- */

static void
test_reply_200(void)
{
	struct response res = {0};

	CHECK_INT(b2c_reply_authy_id(&res, "123456789"), STATUS_OK);
	CHECK_INT(res.http_status, 200);
	CHECK_STR(res.body, "{\"authyId\":\"123456789\"}");
	CHECK_INT(res.body_len, strlen("{\"authyId\":\"123456789\"}"));
	CHECK_STR(res.content_type, B2C_CONTENT_TYPE);
	CHECK(res.allow == NULL);
	CHECK_INT(res.retry_after_s, 0);
	/* replacing an earlier error reply clears its headers */
	b2c_reply_error(&res, STATUS_RATE_LIMITED, "r");
	CHECK_INT(b2c_reply_approved(&res), STATUS_OK);
	CHECK_INT(res.http_status, 200);
	CHECK_STR(res.body, "{\"authyApproved\":true}");
	CHECK_INT(res.body_len, strlen("{\"authyApproved\":true}"));
	CHECK_STR(res.content_type, "application/json; charset=utf-8");
	CHECK_INT(res.retry_after_s, 0);
	CHECK(res.allow == NULL);
	CHECK_INT(b2c_reply_authy_id(&res, NULL), STATUS_INTERNAL);
	CHECK_INT(b2c_reply_factor_status(&res, NULL), STATUS_INTERNAL);
	CHECK_STR(res.body, "{\"authyApproved\":true}");
	CHECK_INT(b2c_reply_factor_status(&res, B2C_FACTOR_NONE), STATUS_OK);
	CHECK_INT(res.http_status, 200);
	CHECK_STR(res.body, "{\"factorStatus\":\"none\"}");
	response_free(&res);
}

struct exact_case {
	enum status rc;
	const char *rid;
	int http;
	const char *body;
	const char *allow;
	int retry;
};

static const struct exact_case exact_cases[] = {
    {STATUS_EMAIL_INVALID, "req-1", 409,
     "{\"version\":\"1.0.0\",\"status\":409,\"userMessage\":\"The email address is not "
     "valid.\",\"code\":\"email_invalid\",\"requestId\":\"req-1\"}",
     NULL, 0},
    {STATUS_PHONE_INVALID, NULL, 409,
     "{\"version\":\"1.0.0\",\"status\":409,\"userMessage\":\"The phone number is not valid. "
     "Enter it in international format, for example +1 555 123 4567.\",\"code\":"
     "\"phone_invalid\"}",
     NULL, 0},
    {STATUS_DENIED, "", 409,
     "{\"version\":\"1.0.0\",\"status\":409,\"userMessage\":\"The sign-in request was denied "
     "in the app.\",\"code\":\"denied\"}",
     NULL, 0},
    {STATUS_METHOD, "abc", 405,
     "{\"version\":\"1.0.0\",\"status\":405,\"userMessage\":\"Method not allowed.\",\"code\":"
     "\"method_not_allowed\",\"requestId\":\"abc\"}",
     "POST", 0},
    {STATUS_RATE_LIMITED, "r", 409,
     "{\"version\":\"1.0.0\",\"status\":409,\"userMessage\":\"Too many attempts. Please wait a "
     "minute and try again.\",\"code\":\"rate_limited\",\"requestId\":\"r\"}",
     NULL, 60},
    {STATUS_UNAVAILABLE, "r", 503,
     "{\"version\":\"1.0.0\",\"status\":503,\"userMessage\":\"The service is busy. Please try "
     "again in a moment.\",\"code\":\"unavailable\",\"requestId\":\"r\"}",
     NULL, 5},
    {STATUS_TOO_LARGE, "r", 413,
     "{\"version\":\"1.0.0\",\"status\":413,\"userMessage\":\"The request body is too "
     "large.\",\"code\":\"too_large\",\"requestId\":\"r\"}",
     NULL, 0},
    {STATUS_OK, "r", 500,
     "{\"version\":\"1.0.0\",\"status\":500,\"userMessage\":\"An internal error occurred. "
     "Please try again.\",\"code\":\"internal\",\"requestId\":\"r\"}",
     NULL, 0},
    {(enum status)999, "r", 500,
     "{\"version\":\"1.0.0\",\"status\":500,\"userMessage\":\"An internal error occurred. "
     "Please try again.\",\"code\":\"internal\",\"requestId\":\"r\"}",
     NULL, 0},
    /* request ids are sanitized, then JSON-escaped */
    {STATUS_NOT_FOUND, "a\"b\\c/d\ne\xc3\xa9", 404,
     "{\"version\":\"1.0.0\",\"status\":404,\"userMessage\":\"Not found.\",\"code\":"
     "\"not_found\",\"requestId\":\"a\\\"b\\\\c/d?e??\"}",
     NULL, 0},
};

static void
test_reply_exact(void)
{
	for (size_t i = 0; i < sizeof(exact_cases) / sizeof(exact_cases[0]); i++) {
		const struct exact_case *ec = &exact_cases[i];
		struct response res = {0};

		response_set_body(&res, "old body", 8); /* replaced, not leaked */
		res.allow = "GET";
		res.retry_after_s = 7;
		b2c_reply_error(&res, ec->rc, ec->rid);
		CHECK_INT(res.http_status, ec->http);
		CHECK_STR(res.body, ec->body);
		CHECK_INT(res.body_len, strlen(ec->body));
		CHECK_STR(res.content_type, B2C_CONTENT_TYPE);
		if (ec->allow)
			CHECK_STR(res.allow, ec->allow);
		else
			CHECK(res.allow == NULL);
		CHECK_INT(res.retry_after_s, ec->retry);
		response_free(&res);
	}
}

static void
test_reply_long_request_id(void)
{
	char rid[400];
	struct response res = {0};
	struct json *j = NULL;
	const char *got = NULL;

	memset(rid, 'r', sizeof(rid) - 1);
	rid[sizeof(rid) - 1] = '\0';
	b2c_reply_error(&res, STATUS_TIMEOUT, rid);
	CHECK_INT(json_parse(res.body, res.body_len, &j), STATUS_OK);
	CHECK_INT(json_get_string(j, B2C_KEY_REQUEST_ID, &got), STATUS_OK);
	CHECK(got != NULL && strlen(got) < 128 && strlen(got) > 60);
	CHECK(got != NULL && strcmp(got + strlen(got) - 3, "...") == 0);
	json_free(j);
	response_free(&res);
}

struct status_case {
	int http;
	const char *msg;
};

/* The whole mapping, one row per enum status value. */
static const struct status_case status_cases[STATUS__COUNT] = {
    [STATUS_OK] = {200, B2C_MSG_INTERNAL},
    [STATUS_NOMEM] = {500, B2C_MSG_INTERNAL},
    [STATUS_INTERNAL] = {500, B2C_MSG_INTERNAL},
    [STATUS_CONFIG] = {500, B2C_MSG_INTERNAL},
    [STATUS_NOT_FOUND] = {404, B2C_MSG_NOT_FOUND},
    [STATUS_METHOD] = {405, B2C_MSG_METHOD},
    [STATUS_BAD_REQUEST] = {400, B2C_MSG_BAD_REQUEST},
    [STATUS_MEDIA_TYPE] = {415, B2C_MSG_MEDIA_TYPE},
    [STATUS_TOO_LARGE] = {413, B2C_MSG_TOO_LARGE},
    [STATUS_FORBIDDEN] = {403, B2C_MSG_FORBIDDEN},
    [STATUS_UNAUTHORIZED] = {401, B2C_MSG_UNAUTHORIZED},
    [STATUS_IDENTITY_MISSING] = {409, B2C_MSG_IDENTITY_MISSING},
    [STATUS_EMAIL_INVALID] = {409, B2C_MSG_EMAIL_INVALID},
    [STATUS_PHONE_MISSING] = {409, B2C_MSG_PHONE_MISSING},
    [STATUS_PHONE_INVALID] = {409, B2C_MSG_PHONE_INVALID},
    [STATUS_AUTHYID_MISSING] = {409, B2C_MSG_AUTHYID_MISSING},
    [STATUS_AUTHYID_INVALID] = {409, B2C_MSG_AUTHYID_INVALID},
    [STATUS_USER_REJECTED] = {409, B2C_MSG_USER_REJECTED},
    [STATUS_USER_NOT_FOUND] = {409, B2C_MSG_USER_NOT_FOUND},
    [STATUS_APPROVAL_NOT_FOUND] = {409, B2C_MSG_APPROVAL_NOT_FOUND},
    [STATUS_RATE_LIMITED] = {409, B2C_MSG_RATE_LIMITED},
    [STATUS_UPSTREAM_AUTH] = {409, B2C_MSG_UPSTREAM},
    [STATUS_UPSTREAM_CONNECT] = {409, B2C_MSG_UPSTREAM},
    [STATUS_UPSTREAM_TIMEOUT] = {409, B2C_MSG_UPSTREAM},
    [STATUS_UPSTREAM_HTTP] = {409, B2C_MSG_UPSTREAM},
    [STATUS_UPSTREAM_PROTOCOL] = {409, B2C_MSG_UPSTREAM},
    [STATUS_PENDING] = {409, B2C_MSG_TIMEOUT},
    [STATUS_DENIED] = {409, B2C_MSG_DENIED},
    [STATUS_EXPIRED] = {409, B2C_MSG_EXPIRED},
    [STATUS_TIMEOUT] = {409, B2C_MSG_TIMEOUT},
    [STATUS_ABORTED] = {409, B2C_MSG_ABORTED},
    [STATUS_UNAVAILABLE] = {503, B2C_MSG_UNAVAILABLE},
    [STATUS_NO_FACTOR] = {409, B2C_MSG_NO_FACTOR},
    [STATUS_ASYNC] = {500, B2C_MSG_INTERNAL},
    [STATUS_NO_CORRELATION] = {409, B2C_MSG_CORRELATION_MISSING},
    [STATUS_PUSH_LIMITED] = {409, B2C_MSG_PUSH_LIMITED},
    [STATUS_TOKEN_MISSING] = {409, B2C_MSG_TOKEN_MISSING},
    [STATUS_TOKEN_INVALID] = {409, B2C_MSG_TOKEN_INVALID},
    [STATUS_TOKEN_WRONG] = {409, B2C_MSG_TOKEN_WRONG},
    [STATUS_TOKEN_LIMITED] = {409, B2C_MSG_TOKEN_LIMITED},
    [STATUS_NO_TOTP_FACTOR] = {409, B2C_MSG_NO_TOTP_FACTOR},
    [STATUS_TOKEN_USED] = {409, B2C_MSG_TOKEN_USED},
};

/* Parse a reply body back and check it has the B2C error shape. */
static void
check_error_shape(const struct response *res, enum status rc, const char *code)
{
	struct json *j = NULL;
	const char *s = NULL;
	char num[16], want[16];

	CHECK_INT(json_parse(res->body, res->body_len, &j), STATUS_OK);
	CHECK_INT(json_get_string(j, B2C_KEY_VERSION, &s), STATUS_OK);
	CHECK_STR(s, "1.0.0");
	CHECK_INT(json_get_scalar(j, B2C_KEY_STATUS, num, sizeof(num)), STATUS_OK);
	snprintf(want, sizeof(want), "%d", res->http_status);
	CHECK_STR(num, want);
	CHECK_INT(json_get_string(j, B2C_KEY_USER_MESSAGE, &s), STATUS_OK);
	CHECK_STR(s, b2c_user_message(rc));
	CHECK_INT(json_get_string(j, B2C_KEY_CODE, &s), STATUS_OK);
	CHECK_STR(s, code);
	CHECK_INT(json_get_string(j, B2C_KEY_REQUEST_ID, &s), STATUS_OK);
	CHECK_STR(s, "rid-7");
	CHECK_INT(json_get_string(j, "developerMessage", &s), STATUS_NOT_FOUND);
	json_free(j);
}

static void
test_every_status(void)
{
	for (int i = 0; i < STATUS__COUNT; i++) {
		enum status rc = (enum status)i;
		const struct status_case *sc = &status_cases[i];
		struct response res = {0};
		int want_http = rc == STATUS_OK ? 500 : sc->http;

		if (sc->http == 0 || sc->msg == NULL) {
			fprintf(stderr, "  no expectation for %s\n", status_str(rc));
			CHECK(0);
			continue;
		}
		if (b2c_http_status(rc) != sc->http || strcmp(b2c_user_message(rc), sc->msg))
			fprintf(stderr, "  status %s\n", status_str(rc));
		CHECK_INT(b2c_http_status(rc), sc->http);
		CHECK_STR(b2c_user_message(rc), sc->msg);
		/* every message is a full sentence */
		CHECK(strlen(sc->msg) > 5 && sc->msg[strlen(sc->msg) - 1] == '.');
		b2c_reply_error(&res, rc, "rid-7");
		CHECK_INT(res.http_status, want_http);
		CHECK_STR(res.content_type, B2C_CONTENT_TYPE);
		check_error_shape(&res, rc, rc == STATUS_OK ? "internal" : status_str(rc));
		CHECK(rc == STATUS_METHOD ? res.allow != NULL : res.allow == NULL);
		CHECK_INT(res.retry_after_s,
		          rc == STATUS_RATE_LIMITED ? 60 : (rc == STATUS_UNAVAILABLE ? 5 : 0));
		response_free(&res);
	}
	CHECK_INT(b2c_http_status((enum status)STATUS__COUNT), 500);
	CHECK_INT(b2c_http_status((enum status) - 1), 500);
	CHECK_STR(b2c_user_message((enum status)STATUS__COUNT), B2C_MSG_INTERNAL);
}

int
main(void)
{
	RUN(test_parse_table);
	RUN(test_oversize);
	RUN(test_parse_len);
	RUN(test_email_valid);
	RUN(test_name_valid);
	RUN(test_validate_register);
	RUN(test_validate_register_phone_optional);
	RUN(test_object_id);
	RUN(test_validate_direct);
	RUN(test_validate_wait);
	RUN(test_binding);
	RUN(test_signin_key);
	RUN(test_validate_token);
	RUN(test_reply_200);
	RUN(test_reply_exact);
	RUN(test_reply_long_request_id);
	RUN(test_every_status);
	HARNESS_END();
}
