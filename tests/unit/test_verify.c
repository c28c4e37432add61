/*
 * test_verify.c - unit tests of verify.c, verify_webhook.c and the pure parts
 * of provider.c: the identity derivation (known answers computed in Python
 * from HMAC-SHA256), SIDs and handles, form bodies, reply interpretation and
 * error mapping, and X-Twilio-Signature known answers (Twilio's documented
 * example among them) with tampering.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authy.h"
#include "authy_int.h"
#include "buf.h"
#include "config.h"
#include "harness.h"
#include "phone.h"
#include "provider.h"
#include "upstream.h"
#include "util.h"
#include "verify.h"
#include "verify_int.h"
#include "provider_int.h"
#include "buf_int.h"

#define SECRET "id-secret-0123456789"
#define TOKEN "tok3n-abcdef0123456789"
#define ID_ALICE "07028376598574351295"
#define FACTOR "YF0123456789abcdef0123456789abcdef"
#define CHALLENGE "YC0123456789abcdef0123456789abcdef"
#define SERVICE "VA0123456789abcdef0123456789abcdef"
#define CB_URL "https://b2c.example.com/api/authy/callback"

#define OID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define ID_OID "17676645730220559864" /* verify_account_identity(SECRET, OID) */

/*
 * An account's identity: of its objectId, never of a name. A social account
 * whose email is a local account's sign-in name must not get that account's
 * Entity (and put its own phone among the Entity's factors).
 */
static void
test_account_identity(void)
{
	char id[VERIFY_IDENTITY_LEN + 1], named[VERIFY_IDENTITY_LEN + 1];

	CHECK_INT(verify_account_identity(SECRET, OID, id, sizeof(id)), STATUS_OK);
	CHECK_STR(id, ID_OID);
	CHECK(verify_identity_valid(id));
	/* A GUID is case-insensitive. */
	CHECK_INT(
	    verify_account_identity(SECRET, "0F8FAD5B-D9CB-469F-A165-70867728950E", id, sizeof(id)),
	    STATUS_OK);
	CHECK_STR(id, ID_OID);
	/* No name gives it: not the GUID itself, sent as a sign-in name. */
	CHECK_INT(verify_identity(SECRET, OID, named, sizeof(named)), STATUS_OK);
	CHECK(strcmp(named, ID_OID) != 0);
	/* Another account, another identity. */
	CHECK_INT(
	    verify_account_identity(SECRET, "0f8fad5b-d9cb-469f-a165-70867728950f", id, sizeof(id)),
	    STATUS_OK);
	CHECK(strcmp(id, ID_OID) != 0);
	/* Only a GUID; refusals leave an empty string. */
	CHECK_INT(verify_account_identity(SECRET, "alice@example.com", id, sizeof(id)),
	          STATUS_BAD_REQUEST);
	CHECK_STR(id, "");
	CHECK_INT(
	    verify_account_identity(SECRET, "0f8fad5b-d9cb-469f-a165-70867728950", id, sizeof(id)),
	    STATUS_BAD_REQUEST);
	CHECK_INT(
	    verify_account_identity(SECRET, "0f8fad5bd-9cb-469f-a165-70867728950e", id, sizeof(id)),
	    STATUS_BAD_REQUEST);
	CHECK_INT(
	    verify_account_identity(SECRET, "0f8fad5b-d9cb-469f-a165-70867728950g", id, sizeof(id)),
	    STATUS_BAD_REQUEST);
	CHECK_INT(verify_account_identity(SECRET, NULL, id, sizeof(id)), STATUS_BAD_REQUEST);
	CHECK_INT(verify_account_identity("", OID, id, sizeof(id)), STATUS_BAD_REQUEST);
}

static void
test_identity(void)
{
	char id[VERIFY_IDENTITY_LEN + 1], id2[VERIFY_IDENTITY_LEN + 1];

	CHECK_INT(verify_identity(SECRET, "alice@example.com", id, sizeof(id)), STATUS_OK);
	CHECK_STR(id, ID_ALICE);
	/* Sign-in names are case-insensitive in B2C: the same identity. */
	CHECK_INT(verify_identity(SECRET, "Alice@Example.COM", id2, sizeof(id2)), STATUS_OK);
	CHECK_STR(id2, ID_ALICE);
	/* Only ASCII letters are folded; other bytes are hashed as they are. */
	CHECK_INT(verify_identity(SECRET,
	                          "Zo\xc3\xab \xc3\x87"
	                          "elik",
	                          id, sizeof(id)),
	          STATUS_OK);
	CHECK_STR(id, "07290609730485342310");
	/* Leading zeros are kept: always 20 digits, Twilio's 8..64 rule holds. */
	CHECK_INT(verify_identity(SECRET, "bob", id, sizeof(id)), STATUS_OK);
	CHECK_STR(id, "10307098545769198557");
	CHECK(verify_identity_valid(id));
	/* Another key, another identity. */
	CHECK_INT(verify_identity("another-secret-0123", "alice@example.com", id, sizeof(id)),
	          STATUS_OK);
	CHECK_STR(id, "04716838460179492289");
	/* Refusals leave an empty string. */
	CHECK_INT(verify_identity(SECRET, "", id, sizeof(id)), STATUS_BAD_REQUEST);
	CHECK_STR(id, "");
	CHECK_INT(verify_identity("", "alice", id, sizeof(id)), STATUS_BAD_REQUEST);
	CHECK_INT(verify_identity(SECRET, "alice", id, VERIFY_IDENTITY_LEN), STATUS_BAD_REQUEST);
	CHECK_INT(verify_identity(NULL, "alice", id, sizeof(id)), STATUS_BAD_REQUEST);
}

static void
test_sids_and_handles(void)
{
	char h[VERIFY_HANDLE_MAX + 1], ident[VERIFY_IDENTITY_LEN + 1], sid[VERIFY_SID_LEN + 1];

	CHECK(verify_identity_valid(ID_ALICE));
	CHECK(!verify_identity_valid("1234567"));
	CHECK(!verify_identity_valid("070283765985743512950"));
	CHECK(!verify_identity_valid("0702837659857435129a"));
	CHECK(!verify_identity_valid(NULL));
	CHECK(verify_sid_valid(FACTOR, "YF"));
	CHECK(verify_sid_valid("YC0123456789ABCDEF0123456789abcdef", "YC"));
	CHECK(!verify_sid_valid(FACTOR, "YC"));
	CHECK(!verify_sid_valid("YC0123456789abcdef0123456789abcde", "YC"));
	CHECK(!verify_sid_valid("YC0123456789abcdef0123456789abcdeg", "YC"));
	CHECK(!verify_sid_valid("YC0123456789abcdef/../456789abcdef", "YC"));

	CHECK_INT(verify_handle_make(ID_ALICE, CHALLENGE, h, sizeof(h)), STATUS_OK);
	CHECK_STR(h, ID_ALICE "/" CHALLENGE);
	CHECK_INT(strlen(h), VERIFY_HANDLE_MAX);
	CHECK(VERIFY_HANDLE_MAX <= PROVIDER_HANDLE_MAX);
	CHECK_INT(verify_handle_split(h, ident, sid), STATUS_OK);
	CHECK_STR(ident, ID_ALICE);
	CHECK_STR(sid, CHALLENGE);
	CHECK_INT(verify_handle_make("123", CHALLENGE, h, sizeof(h)), STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_make(ID_ALICE, FACTOR, h, sizeof(h)), STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_make(ID_ALICE, CHALLENGE, h, VERIFY_HANDLE_MAX),
	          STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_split(ID_ALICE "-" CHALLENGE, ident, sid), STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_split("0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", ident, sid),
	          STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_split(ID_ALICE "/" FACTOR, ident, sid), STATUS_BAD_REQUEST);
	CHECK_INT(verify_handle_split(NULL, ident, sid), STATUS_BAD_REQUEST);
}

static const struct api_kv fields[] = {{"Sign-in name", "alice@example.com"},
                                       {"App", "Contoso Web"}};
static const struct api_kv hidden[] = {{"request_id", "req-1"}};

static struct verify_challenge
challenge(void)
{
	return (struct verify_challenge){.service_sid = SERVICE,
	                                 .identity = ID_ALICE,
	                                 .factor_sid = FACTOR,
	                                 .message = "Sign-in request",
	                                 .fields = fields,
	                                 .n_fields = 2,
	                                 .hidden = hidden,
	                                 .n_hidden = 1,
	                                 .expires_at = 1714815720};
}

static void
test_forms(void)
{
	struct verify_challenge ch = challenge();
	struct buf b;

	buf_init(&b, 16384);
	CHECK_INT(verify_entity_form(ID_ALICE, &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "Identity=" ID_ALICE);
	buf_reset(&b);
	CHECK_INT(verify_entity_form("1234", &b), STATUS_BAD_REQUEST);
	/* The expected text is Python's quote_plus of json.dumps per field. */
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b),
	          "FactorSid=" FACTOR "&Details.Message=Sign-in+request"
	          "&Details.Fields=%7B%22label%22%3A%22Sign-in+name%22%2C%22value%22%3A%22alice%"
	          "40example.com%22%7D"
	          "&Details.Fields=%7B%22label%22%3A%22App%22%2C%22value%22%3A%22Contoso+Web%22%7D"
	          "&ExpirationDate=2024-05-04T09%3A42%3A00Z"
	          "&HiddenDetails=%7B%22request_id%22%3A%22req-1%22%7D");
	buf_free(&b);
}

/* Count the characters (UTF-8 code points) of s. */
static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Verify's limits: cut at a character boundary, never split UTF-8. */
static void
test_form_limits(void)
{
	char msg[700], label[100], value[400], *text;
	struct api_kv kv[VERIFY_FIELDS_MAX + 1];
	struct verify_challenge ch = challenge();
	struct buf b;
	size_t n = 0;

	/* 300 characters of "é" (2 bytes each): 256 are kept. */
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\xc3\xa9");
	memset(label, 'L', 50);
	label[50] = '\0';
	memset(value, 'v', 200);
	value[200] = '\0';
	kv[0] = (struct api_kv){label, value};
	ch.message = msg;
	ch.fields = kv;
	ch.n_fields = 1;
	ch.n_hidden = 0;
	buf_init(&b, 65536);
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_OK);
	text = strstr(b.data, "Details.Message=");
	CHECK(text != NULL);
	if (text != NULL) {
		size_t len = strcspn(text + 16, "&");
		/* each "é" is %C3%A9: 6 bytes encoded */
		CHECK_INT(len, 256 * 6);
	}
	CHECK(strstr(b.data, "%22label%22%3A%22LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL%22") != NULL);
	CHECK(strstr(b.data, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL") == NULL);
	CHECK(strstr(b.data, "HiddenDetails") == NULL);
	{
		char want[200] = "%22value%22%3A%22";
		memset(want + strlen(want), 'v', 128);
		CHECK(strstr(b.data, want) != NULL);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "v");
		CHECK(strstr(b.data, want) == NULL);
	}
	CHECK_INT(chars("\xc3\xa9"), 1);
	buf_reset(&b);
	/* Refused: too many fields, an empty value, bad SIDs, no message, no expiry. */
	for (int i = 0; i <= VERIFY_FIELDS_MAX; i++)
		kv[i] = (struct api_kv){"K", "V"};
	ch.n_fields = VERIFY_FIELDS_MAX + 1;
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	ch.n_fields = VERIFY_FIELDS_MAX;
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_OK);
	buf_reset(&b);
	kv[0].value = "";
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	ch = challenge();
	ch.factor_sid = CHALLENGE;
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	ch = challenge();
	ch.identity = "42";
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	ch = challenge();
	ch.message = "";
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	ch = challenge();
	ch.expires_at = 0;
	CHECK_INT(verify_challenge_form(&ch, &b), STATUS_BAD_REQUEST);
	CHECK_INT(verify_challenge_form(NULL, &b), STATUS_BAD_REQUEST);
	buf_free(&b);
}

static void
test_map_error(void)
{
	static const struct {
		long http, code;
		enum verify_op op;
		enum status want;
	} cases[] = {
	    {401, 20003, VERIFY_OP_FACTORS, STATUS_UPSTREAM_AUTH},
	    {401, 0, VERIFY_OP_ENTITY, STATUS_UPSTREAM_AUTH},
	    {429, 20429, VERIFY_OP_CHALLENGE_STATUS, STATUS_RATE_LIMITED},
	    {429, 0, VERIFY_OP_CHALLENGE_CREATE, STATUS_RATE_LIMITED},
	    {503, 0, VERIFY_OP_FACTORS, STATUS_UPSTREAM_HTTP},
	    {500, 20500, VERIFY_OP_CHALLENGE_STATUS, STATUS_UPSTREAM_HTTP},
	    {403, 60318, VERIFY_OP_CHALLENGE_CREATE, STATUS_NO_FACTOR},
	    {403, 20403, VERIFY_OP_CHALLENGE_CREATE, STATUS_UPSTREAM_AUTH},
	    {404, 20404, VERIFY_OP_ENTITY, STATUS_UPSTREAM_HTTP},
	    {404, 20404, VERIFY_OP_FACTORS, STATUS_USER_NOT_FOUND},
	    {404, 60392, VERIFY_OP_CHALLENGE_CREATE, STATUS_USER_NOT_FOUND},
	    {404, 60391, VERIFY_OP_CHALLENGE_STATUS, STATUS_APPROVAL_NOT_FOUND},
	    {404, 0, VERIFY_OP_CHALLENGE_STATUS, STATUS_APPROVAL_NOT_FOUND},
	    {409, 60301, VERIFY_OP_ENTITY, STATUS_OK},
	    {409, 60301, VERIFY_OP_CHALLENGE_CREATE, STATUS_UPSTREAM_HTTP},
	    {400, 60200, VERIFY_OP_CHALLENGE_CREATE, STATUS_UPSTREAM_HTTP},
	    {200, 0, VERIFY_OP_FACTORS, STATUS_UPSTREAM_PROTOCOL},
	    {302, 0, VERIFY_OP_FACTORS, STATUS_UPSTREAM_HTTP},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum status got = verify_map_error(cases[i].http, cases[i].code, cases[i].op);
		if (got != cases[i].want)
			fprintf(stderr, "  case %zu: %s\n", i, status_str(got));
		CHECK_INT(got, cases[i].want);
	}
}

/* An HTTP reply with a string literal body. */
#define R(http, s) (&(struct api_reply){(http), (s), sizeof(s) - 1})

static void
test_entity_and_challenge_replies(void)
{
	struct api_call call = {0};
	char sid[VERIFY_SID_LEN + 1];

	CHECK_INT(
	    verify_entity_reply(
	        &call,
	        R(201, "{\"sid\":\"YE0123456789abcdef0123456789abcdef\",\"identity\":\"" ID_ALICE
	               "\"}")),
	    STATUS_OK);
	CHECK_INT(
	    verify_entity_reply(
	        &call,
	        R(409, "{\"code\":60301,\"message\":\"Entity already exists\",\"status\":409}")),
	    STATUS_OK);
	CHECK_STR(call.error_code, "60301");
	CHECK_INT(
	    verify_entity_reply(
	        &call, R(401, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":401}")),
	    STATUS_UPSTREAM_AUTH);
	CHECK(strstr(call.err, "20003") != NULL && strstr(call.err, "Authenticate") != NULL);
	CHECK_INT(verify_entity_reply(&call, R(503, "<html>")), STATUS_UPSTREAM_HTTP);
	CHECK_INT(verify_entity_reply(&call, R(201, "not json")), STATUS_UPSTREAM_PROTOCOL);

	CHECK_INT(verify_challenge_create_reply(
	              &call, R(201, "{\"sid\":\"" CHALLENGE "\",\"status\":\"pending\"}"), sid,
	              sizeof(sid)),
	          STATUS_OK);
	CHECK_STR(sid, CHALLENGE);
	CHECK_INT(
	    verify_challenge_create_reply(
	        &call, R(201, "{\"sid\":\"YC/../../x\",\"status\":\"pending\"}"), sid, sizeof(sid)),
	    STATUS_UPSTREAM_PROTOCOL);
	CHECK_STR(sid, "");
	CHECK_INT(
	    verify_challenge_create_reply(
	        &call,
	        R(403, "{\"code\":60318,\"message\":\"Factor is unverified\",\"status\":403}"), sid,
	        sizeof(sid)),
	    STATUS_NO_FACTOR);
	CHECK_INT(verify_challenge_create_reply(
	              &call, R(404, "{\"code\":20404,\"message\":\"not found\",\"status\":404}"),
	              sid, sizeof(sid)),
	          STATUS_USER_NOT_FOUND);

	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":\"approved\"}")),
	          STATUS_OK);
	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":\"pending\"}")),
	          STATUS_PENDING);
	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":\"denied\"}")),
	          STATUS_DENIED);
	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":\"expired\"}")),
	          STATUS_EXPIRED);
	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":\"canceled\"}")),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK(strstr(call.err, "canceled") != NULL);
	CHECK_INT(verify_challenge_status_reply(&call, R(200, "{\"status\":null}")),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(
	    verify_challenge_status_reply(
	        &call,
	        R(404, "{\"code\":60391,\"message\":\"Challenge not found\",\"status\":404}")),
	    STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(
	    verify_challenge_status_reply(
	        &call, R(429, "{\"code\":20429,\"message\":\"Too Many Requests\",\"status\":429}")),
	    STATUS_RATE_LIMITED);
	CHECK_INT(verify_challenge_status_reply(&call, &(struct api_reply){200, NULL, 0}),
	          STATUS_UPSTREAM_PROTOCOL);
}

static void
test_factors_reply(void)
{
	struct api_call call = {0};
	char sid[VERIFY_SID_LEN + 1];

	/* The newest verified push factor wins; totp and unverified are skipped. */
	CHECK_INT(
	    verify_factors_reply(
	        &call,
	        R(200, "{\"factors\":["
	               "{\"sid\":\"YF00000000000000000000000000000001\",\"factor_type\":\"push\","
	               "\"status\":\"verified\",\"date_created\":\"2023-01-01T00:00:00Z\"},"
	               "{\"sid\":\"YF00000000000000000000000000000002\",\"factor_type\":\"push\","
	               "\"status\":\"verified\",\"date_created\":\"2024-03-01T00:00:00Z\"},"
	               "{\"sid\":\"YF00000000000000000000000000000003\",\"factor_type\":\"push\","
	               "\"status\":\"unverified\",\"date_created\":\"2025-01-01T00:00:00Z\"},"
	               "{\"sid\":\"YF00000000000000000000000000000004\",\"factor_type\":\"totp\","
	               "\"status\":\"verified\",\"date_created\":\"2025-02-01T00:00:00Z\"},"
	               "{\"sid\":\"YF0000000000000000000000000000000Z\",\"factor_type\":\"push\","
	               "\"status\":\"verified\",\"date_created\":\"2026-01-01T00:00:00Z\"},"
	               "null,"
	               "7],\"meta\":{\"page_size\":50}}"),
	        sid, sizeof(sid)),
	    STATUS_OK);
	CHECK_STR(sid, "YF00000000000000000000000000000002");
	CHECK_INT(verify_factors_reply(&call,
	                               R(200, "{\"factors\":[{\"sid\":\"" FACTOR
	                                      "\",\"factor_type\":\"push\","
	                                      "\"status\":\"unverified\"}],\"meta\":{}}"),
	                               sid, sizeof(sid)),
	          STATUS_NO_FACTOR);
	CHECK_STR(sid, "");
	CHECK_INT(
	    verify_factors_reply(&call, R(200, "{\"factors\":[],\"meta\":{}}"), sid, sizeof(sid)),
	    STATUS_NO_FACTOR);
	CHECK_INT(verify_factors_reply(&call, R(200, "{\"meta\":{}}"), sid, sizeof(sid)),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(verify_factors_reply(&call, R(200, "{\"factors\":{}}"), sid, sizeof(sid)),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(verify_factors_reply(
	              &call,
	              R(404, "{\"code\":20404,\"message\":\"The requested resource was not found\","
	                     "\"status\":404}"),
	              sid, sizeof(sid)),
	          STATUS_USER_NOT_FOUND);
	CHECK_STR(call.error_code, "20404");
}

/* Sign and check one webhook. */
static enum status
check_sig(const char *token, const char *url, const char *body, bool json, const char *sig)
{
	struct verify_webhook wh = {.auth_token = token,
	                            .signature = sig,
	                            .url = url,
	                            .params = {body, body ? strlen(body) : 0, json}};
	char err[256] = "";
	enum status rc = verify_webhook_verify(&wh, err, sizeof(err));

	CHECK(strstr(err, token != NULL && *token ? token : "\x01") == NULL);
	return rc;
}

#define VERIFY_BODY                                                                                \
	"uuid=5b6c8e4a-2b1f-4c3e-9d7a-0e1f2a3b4c5d&type=challenge.approved"                        \
	"&account_sid=AC0123456789abcdef0123456789abcdef&service_sid=" SERVICE                     \
	"&entity_identity=" ID_ALICE "&factor_sid=" FACTOR "&factor_type=push"                     \
	"&challenge_sid=" CHALLENGE                                                                \
	"&challenge_details=%7B%22message%22%3A%22Sign-in+request%22%7D"
#define JSON_BODY                                                                                  \
	"{\"type\":\"challenge.denied\",\"entity_identity\":\"" ID_ALICE                           \
	"\",\"challenge_sid\":\"" CHALLENGE "\"}"
#define JSON_HASH "62f5b3956c8f8c9233da1224e041da9b9fd1fd7bddc66c7cade30346f7dfade8"

/* Known answers computed in Python: base64(HMAC-SHA1(token, URL + sorted name+value)). */
static void
test_webhook_signatures(void)
{
	struct buf b;

	/* Twilio's own documented example (token 12345), parameters shuffled. */
	CHECK_INT(check_sig("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
	                    "To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&Caller="
	                    "%2B12349013030&From=%2B12349013030",
	                    false, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
	          STATUS_OK);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY, false, "gQDXeCmDsROMsRqHy/CqY3DEkW8="),
	          STATUS_OK);
	/* Repeated names are ordered by value and an identical pair counts once. */
	CHECK_INT(
	    check_sig(TOKEN, CB_URL, "b=2&a=1&a=0&a=1", false, "StXLiMbivRqvKucjlMCQRMwjnyA="),
	    STATUS_OK);
	buf_init(&b, 4096);
	{
		struct verify_webhook wh = {.url = "https://x.example/cb",
		                            .params.text = "b=2&a=1&a=0&a=1&c=%20+%2B"};
		wh.params.len = strlen(wh.params.text);
		CHECK_INT(verify_webhook_data(&wh, &b), STATUS_OK);
		CHECK_STR(buf_cstr(&b), "https://x.example/cba0a1b2c  +");
	}
	buf_free(&b);
	/* JSON body: the URL with bodySHA256 is signed, and the hash must match the body. */
	CHECK_INT(check_sig(TOKEN, CB_URL "?bodySHA256=" JSON_HASH, JSON_BODY, true,
	                    "BonV2rMfa1AWaXqG8HgCpGDm0gA="),
	          STATUS_OK);
}

/*
 * challenge_details carries the push's message and fields as JSON: in a
 * language written outside Latin letters, with a few approval_details, one
 * parameter grows past a few kilobytes once percent-encoded. A webhook so
 * signed is accepted (2000 Cyrillic letters, 12,000 bytes encoded).
 */
static void
test_webhook_long_details(void)
{
	static const char head[] = "type=challenge.approved&challenge_details=";
	size_t n = sizeof(head) - 1 + 2000 * 6;
	char *body = malloc(n + 1);

	CHECK(body != NULL);
	if (body == NULL)
		return;
	memcpy(body, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < n; i += 6)
		memcpy(body + i, "%D0%9F", 6);
	body[n] = '\0';
	CHECK_INT(check_sig(TOKEN, CB_URL, body, false, "/vBhuhobF53/Mgn5p7lg1Wk+dY0="), STATUS_OK);
	free(body);
}

static void
test_webhook_tampering(void)
{
	const char *good = "gQDXeCmDsROMsRqHy/CqY3DEkW8=";
	char body[sizeof(VERIFY_BODY)];

	snprintf(body, sizeof(body), "%s", VERIFY_BODY);
	*strstr(body, "approved") = 'X';
	CHECK_INT(check_sig(TOKEN, CB_URL, body, false, good), STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL "/", VERIFY_BODY, false, good), STATUS_UNAUTHORIZED);
	CHECK_INT(
	    check_sig(TOKEN, "http://b2c.example.com/api/authy/callback", VERIFY_BODY, false, good),
	    STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig("tok3n-abcdef012345678X", CB_URL, VERIFY_BODY, false, good),
	          STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY "&extra=1", false, good),
	          STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY, false, "gQDXeCmDsROMsRqHy/CqY3DEkW8"),
	          STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY, false, "hQDXeCmDsROMsRqHy/CqY3DEkW8="),
	          STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY, false, ""), STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, VERIFY_BODY, false, NULL), STATUS_UNAUTHORIZED);
	/* Without an Auth Token nothing can be verified: refused. */
	CHECK_INT(check_sig("", CB_URL, VERIFY_BODY, false, good), STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(NULL, CB_URL, VERIFY_BODY, false, good), STATUS_UNAUTHORIZED);
	/* Undecodable parameters are refused, not guessed. */
	CHECK_INT(check_sig(TOKEN, CB_URL, "a=%2", false, good), STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, "a=%00", false, good), STATUS_UNAUTHORIZED);
	/* JSON: a changed body no longer matches bodySHA256, a missing hash is refused. */
	CHECK_INT(check_sig(TOKEN, CB_URL "?bodySHA256=" JSON_HASH,
	                    "{\"type\":\"challenge.approved\",\"entity_identity\":\"" ID_ALICE
	                    "\",\"challenge_sid\":\"" CHALLENGE "\"}",
	                    true, "BonV2rMfa1AWaXqG8HgCpGDm0gA="),
	          STATUS_UNAUTHORIZED);
	CHECK_INT(check_sig(TOKEN, CB_URL, JSON_BODY, true, "BonV2rMfa1AWaXqG8HgCpGDm0gA="),
	          STATUS_UNAUTHORIZED);
}

static void
test_webhook_result(void)
{
	char h[VERIFY_HANDLE_MAX + 1];
	enum status result = STATUS_INTERNAL;

	CHECK_INT(verify_webhook_result(
	              &(struct provider_params){VERIFY_BODY, strlen(VERIFY_BODY), false}, h,
	              sizeof(h), &result),
	          STATUS_OK);
	CHECK_INT(result, STATUS_OK);
	CHECK_STR(h, ID_ALICE "/" CHALLENGE);
	CHECK_INT(
	    verify_webhook_result(&(struct provider_params){JSON_BODY, strlen(JSON_BODY), true}, h,
	                          sizeof(h), &result),
	    STATUS_OK);
	CHECK_INT(result, STATUS_DENIED);
	CHECK_STR(h, ID_ALICE "/" CHALLENGE);
	{
		const char *f =
		    "type=factor.verified&entity_identity=" ID_ALICE "&factor_sid=" FACTOR;
		CHECK_INT(verify_webhook_result(&(struct provider_params){f, strlen(f), false}, h,
		                                sizeof(h), &result),
		          STATUS_PENDING);
	}
	{
		const char *bad[] = {
		    "type=challenge.approved&entity_identity=" ID_ALICE,
		    "type=challenge.approved&entity_identity=42&challenge_sid=" CHALLENGE,
		    "type=challenge.approved&entity_identity=" ID_ALICE "&challenge_sid=" FACTOR,
		    "entity_identity=" ID_ALICE "&challenge_sid=" CHALLENGE,
		    "type=challenge.approved&entity_identity=" ID_ALICE "&challenge_sid=%ZZ",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK_INT(verify_webhook_result(
			              &(struct provider_params){bad[i], strlen(bad[i]), false}, h,
			              sizeof(h), &result),
			          STATUS_BAD_REQUEST);
	}
	CHECK_INT(
	    verify_webhook_result(&(struct provider_params){"[1]", 3, true}, h, sizeof(h), &result),
	    STATUS_BAD_REQUEST);
}

static void
test_upstream_opts_and_provider(void)
{
	struct config cfg;
	struct upstream_opts o;
	struct phone_number ph = {"1", "5551234567"};
	struct provider_user u = {.email = "", .sign_in_name = "", .phone = &ph};
	struct provider p;
	char err[128];

	config_defaults(&cfg);
	CHECK_INT(provider_init(&cfg, &p), STATUS_OK);
	p.ops->upstream_opts(&cfg, &o);
	CHECK_STR(o.base_url, "https://api.authy.com");
	CHECK_STR(o.key_header, AUTHY_HEADER_API_KEY);
	CHECK(o.basic_user == NULL);
	CHECK_STR(p.ops->name, "authy");
	/* Authy needs an email; a sign-in name that is one will do. A username is
	 * answered like a missing identity. */
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_IDENTITY_MISSING);
	u.sign_in_name = "alice";
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_IDENTITY_MISSING);
	u.sign_in_name = "alice@example.com";
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_OK);
	CHECK_STR(p.ops->user_name(&u), "alice@example.com");
	/* The account alone is no email. */
	u.sign_in_name = "";
	u.object_id = OID;
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_IDENTITY_MISSING);
	u.object_id = "";

	free(cfg.provider);
	cfg.provider = strdup("nosuch");
	CHECK_INT(provider_init(&cfg, &p), STATUS_CONFIG);
	free(cfg.provider);
	cfg.provider = strdup("verify");
	cfg.twilio_account_sid = strdup("AC0123456789abcdef0123456789abcdef");
	cfg.twilio_auth_token = strdup(TOKEN);
	CHECK_INT(provider_init(&cfg, &p), STATUS_OK);
	CHECK(p.ops == &verify_provider);
	p.ops->upstream_opts(&cfg, &o);
	CHECK_STR(o.base_url, "https://verify.twilio.com");
	CHECK(o.key_header == NULL);
	CHECK_STR(o.basic_user, "AC0123456789abcdef0123456789abcdef");
	CHECK_STR(o.basic_pass, TOKEN);
	/* An API key, when set, is preferred. */
	cfg.twilio_api_key = strdup("SK0123456789abcdef0123456789abcdef");
	cfg.twilio_api_secret = strdup("s3cret");
	p.ops->upstream_opts(&cfg, &o);
	CHECK_STR(o.basic_user, "SK0123456789abcdef0123456789abcdef");
	CHECK_STR(o.basic_pass, "s3cret");
	CHECK_STR(p.ops->name, "verify");
	/* Verify needs no email: any sign-in name will do. */
	u.sign_in_name = "alice";
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_OK);
	CHECK_STR(p.ops->user_name(&u), "alice");
	u.sign_in_name = "";
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_IDENTITY_MISSING);
	/* Nor a name when B2C names the account: the identity is the account's. */
	u.object_id = OID;
	CHECK_INT(p.ops->user_check(&u, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
}

/* A configuration with provider = verify and its service. */
static void
verify_cfg(struct config *cfg, struct provider *p)
{
	config_defaults(cfg);
	free(cfg->provider);
	cfg->provider = strdup("verify");
	cfg->verify_service_sid = strdup(SERVICE);
	cfg->verify_identity_secret = strdup("identity-secret");
	CHECK_INT(provider_init(cfg, p), STATUS_OK);
}

/* The status of a handle that is no Verify handle is refused without a call. */
static void
test_provider_status_handle(void)
{
	struct config cfg;
	struct provider p;
	struct provider_job job;
	struct api_request req;
	bool more = true;

	verify_cfg(&cfg, &p);
	provider_job_init(&job, &p);
	api_request_init(&req);
	util_strlcpy(job.handle, "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", sizeof(job.handle));
	CHECK_INT(p.ops->approval_status->build(&job, 0, &req), STATUS_BAD_REQUEST);
	util_strlcpy(job.handle, ID_ALICE "/" CHALLENGE, sizeof(job.handle));
	CHECK_INT(p.ops->approval_status->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(req.method, "GET");
	CHECK_STR(req.path, "/v2/Services/" SERVICE "/Entities/" ID_ALICE "/Challenges/" CHALLENGE);
	CHECK_INT(
	    p.ops->approval_status->reply(&job, 0, R(200, "{\"status\":\"approved\"}"), &more),
	    STATUS_OK);
	CHECK(!more);
	/* A valid handle without a connection fails as an internal error, not a crash. */
	CHECK_INT(provider_run(p.ops->approval_status, &job, NULL, NULL, 0), STATUS_INTERNAL);
	api_request_free(&req);
	config_free(&cfg);
}

/*
 * Register with the account's objectId: the identity of the account, not of
 * its name, which another account may send too.
 */
static void
test_provider_user_create_account(void)
{
	struct phone_number ph = {"1", "5551234567"};
	struct provider_user u = {
	    .email = "alice@example.com", .sign_in_name = "Alice", .object_id = OID, .phone = &ph};
	struct config cfg;
	struct provider p;
	struct provider_job job;
	struct api_request req;
	char named[VERIFY_IDENTITY_LEN + 1];

	verify_cfg(&cfg, &p);
	provider_job_init(&job, &p);
	api_request_init(&req);
	job.user = &u;
	CHECK_INT(p.ops->user_create->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(job.id, "07973958070466737536"); /* of OID with "identity-secret" */
	CHECK(strstr(buf_cstr(&req.form), job.id) != NULL);
	CHECK_INT(verify_identity("identity-secret", "alice", named, sizeof(named)), STATUS_OK);
	CHECK(strcmp(job.id, named) != 0);
	api_request_free(&req);
	/* No name at all: the account is enough. */
	u.email = "";
	u.sign_in_name = "";
	provider_job_init(&job, &p);
	api_request_init(&req);
	job.user = &u;
	CHECK_INT(p.ops->user_create->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(job.id, "07973958070466737536");
	api_request_free(&req);
	config_free(&cfg);
}

/* Register: the identity derived from the sign-in name, then its Entity. */
static void
test_provider_user_create(void)
{
	struct phone_number ph = {"1", "5551234567"};
	struct provider_user u = {.email = "", .sign_in_name = "Alice", .phone = &ph};
	struct config cfg;
	struct provider p;
	struct provider_job job;
	struct api_request req;
	char want[VERIFY_IDENTITY_LEN + 1];
	bool more = true;

	verify_cfg(&cfg, &p);
	provider_job_init(&job, &p);
	api_request_init(&req);
	job.user = &u;
	CHECK_INT(p.ops->user_create->build(&job, 0, &req), STATUS_OK);
	CHECK_INT(verify_identity("identity-secret", "alice", want, sizeof(want)), STATUS_OK);
	CHECK_STR(job.id, want);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.path, "/v2/Services/" SERVICE "/Entities");
	CHECK(strstr(buf_cstr(&req.form), want) != NULL);
	CHECK_INT(
	    p.ops->user_create->reply(&job, 0, R(409, "{\"code\":60301,\"status\":409}"), &more),
	    STATUS_OK);
	CHECK_STR(job.id, want);
	CHECK_INT(p.ops->user_create->reply(&job, 0, R(401, "{\"code\":20003}"), &more),
	          STATUS_UPSTREAM_AUTH);
	CHECK_STR(job.id, "");
	api_request_free(&req);
	config_free(&cfg);
}

/* An approval: the factors first, then the challenge to the newest push factor. */
static void
test_provider_approval_create(void)
{
	static const char factors[] =
	    "{\"factors\":[{\"sid\":\"YF00000000000000000000000000000002\",\"factor_type\":"
	    "\"push\",\"status\":\"verified\",\"date_created\":\"2024-03-01T00:00:00Z\"}]}";
	struct provider_approval a = {"12", "Sign in", NULL, 0, NULL, 0, 60};
	struct config cfg;
	struct provider p;
	struct provider_job job;
	struct api_request req;
	bool more = false;

	verify_cfg(&cfg, &p);
	provider_job_init(&job, &p);
	job.approval = &a;
	api_request_init(&req);
	/* An Authy id is no Verify identity: enrol again. */
	CHECK_INT(p.ops->approval_create->build(&job, 0, &req), STATUS_USER_NOT_FOUND);
	a.authy_id = ID_ALICE;
	CHECK_INT(p.ops->approval_create->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(req.path, "/v2/Services/" SERVICE "/Entities/" ID_ALICE "/Factors?PageSize=200");
	CHECK_INT(p.ops->approval_create->reply(&job, 0, R(200, factors), &more), STATUS_OK);
	CHECK(more);
	api_request_free(&req);
	api_request_init(&req);
	CHECK_INT(p.ops->approval_create->build(&job, 1, &req), STATUS_OK);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.path, "/v2/Services/" SERVICE "/Entities/" ID_ALICE "/Challenges");
	CHECK(strstr(buf_cstr(&req.form), "FactorSid=YF00000000000000000000000000000002") != NULL);
	CHECK_INT(p.ops->approval_create->reply(
	              &job, 1, R(201, "{\"sid\":\"" CHALLENGE "\",\"status\":\"pending\"}"), &more),
	          STATUS_OK);
	CHECK(!more);
	CHECK_STR(job.handle, ID_ALICE "/" CHALLENGE);
	/* No verified push factor ends the operation at the first step. */
	CHECK_INT(p.ops->approval_create->reply(&job, 0, R(200, "{\"factors\":[]}"), &more),
	          STATUS_NO_FACTOR);
	CHECK(!more);
	api_request_free(&req);
	config_free(&cfg);
}

static void
test_totp(void)
{
	struct api_call call = {0};
	char sid[VERIFY_SID_LEN + 1];
	struct buf b;

	/* The newest verified TOTP factor; push factors are not codes. */
	CHECK_INT(
	    verify_totp_factors_reply(
	        &call,
	        R(200, "{\"factors\":["
	               "{\"sid\":\"YF00000000000000000000000000000001\",\"factor_type\":\"push\","
	               "\"status\":\"verified\",\"date_created\":\"2026-01-01T00:00:00Z\"},"
	               "{\"sid\":\"YF00000000000000000000000000000002\",\"factor_type\":\"totp\","
	               "\"status\":\"verified\",\"date_created\":\"2024-03-01T00:00:00Z\"},"
	               "{\"sid\":\"YF00000000000000000000000000000003\",\"factor_type\":\"totp\","
	               "\"status\":\"unverified\",\"date_created\":\"2025-01-01T00:00:00Z\"}],"
	               "\"meta\":{}}"),
	        sid, sizeof(sid)),
	    STATUS_OK);
	CHECK_STR(sid, "YF00000000000000000000000000000002");
	CHECK_INT(verify_totp_factors_reply(&call,
	                                    R(200, "{\"factors\":[{\"sid\":\"" FACTOR
	                                           "\",\"factor_type\":\"push\","
	                                           "\"status\":\"verified\"}],\"meta\":{}}"),
	                                    sid, sizeof(sid)),
	          STATUS_NO_TOTP_FACTOR);
	CHECK_STR(sid, "");
	CHECK_INT(verify_totp_factors_reply(&call, R(404, "{\"code\":20404,\"status\":404}"), sid,
	                                    sizeof(sid)),
	          STATUS_USER_NOT_FOUND);
	/* 60318 in a TOTP lookup is about the TOTP factor, not the push one. */
	CHECK_INT(verify_totp_factors_reply(&call, R(403, "{\"code\":60318,\"status\":403}"), sid,
	                                    sizeof(sid)),
	          STATUS_NO_TOTP_FACTOR);
	CHECK_STR(sid, "");
	/* A TOTP challenge is decided at creation. */
	CHECK_INT(verify_totp_check_reply(
	              &call, R(201, "{\"sid\":\"" CHALLENGE "\",\"status\":\"approved\"}")),
	          STATUS_OK);
	CHECK_INT(verify_totp_check_reply(
	              &call, R(201, "{\"sid\":\"" CHALLENGE "\",\"status\":\"pending\"}")),
	          STATUS_TOKEN_WRONG);
	CHECK_INT(verify_totp_check_reply(&call, R(201, "{\"status\":\"denied\"}")),
	          STATUS_TOKEN_WRONG);
	CHECK_INT(verify_totp_check_reply(&call, R(201, "{\"status\":\"maybe\"}")),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(verify_totp_check_reply(&call, R(201, "{\"sid\":\"" CHALLENGE "\"}")),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(verify_totp_check_reply(&call, R(403, "{\"code\":60318,\"status\":403}")),
	          STATUS_NO_TOTP_FACTOR);
	CHECK_INT(verify_totp_check_reply(&call, R(401, "{\"code\":20003,\"status\":401}")),
	          STATUS_UPSTREAM_AUTH);
	CHECK_INT(verify_totp_check_reply(&call, R(429, "{\"code\":20429,\"status\":429}")),
	          STATUS_RATE_LIMITED);
	/* The form: FactorSid and the code as AuthPayload, digits only. */
	buf_init(&b, 4096);
	CHECK_INT(verify_totp_form(FACTOR, "012345", &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "FactorSid=" FACTOR "&AuthPayload=012345");
	buf_free(&b);
	static const char *const bad[] = {"12", "123456789", "12a456", "", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&b, 4096);
		CHECK_INT(verify_totp_form(FACTOR, bad[i], &b), STATUS_BAD_REQUEST);
		buf_free(&b);
	}
	buf_init(&b, 4096);
	CHECK_INT(verify_totp_form("YC0123456789abcdef0123456789abcdef", "123456", &b),
	          STATUS_BAD_REQUEST);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_identity);
	RUN(test_account_identity);
	RUN(test_sids_and_handles);
	RUN(test_forms);
	RUN(test_form_limits);
	RUN(test_map_error);
	RUN(test_entity_and_challenge_replies);
	RUN(test_factors_reply);
	RUN(test_totp);
	RUN(test_webhook_signatures);
	RUN(test_webhook_long_details);
	RUN(test_webhook_tampering);
	RUN(test_webhook_result);
	RUN(test_upstream_opts_and_provider);
	RUN(test_provider_status_handle);
	RUN(test_provider_user_create);
	RUN(test_provider_user_create_account);
	RUN(test_provider_approval_create);
	HARNESS_END();
}
