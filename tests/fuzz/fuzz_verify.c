/*
 * fuzz_verify.c - libFuzzer harness for what Twilio Verify sends back: the
 * replies to creating an entity, listing factors (push and TOTP), creating
 * a challenge and polling it, and the webhooks it posts. Byte 0: bits 0-2
 * pick the target, bits 3-6 an HTTP status from a table, bit 7 a short SID
 * buffer (replies) or a JSON body (webhooks). The rest is the body; for a
 * signed webhook it is signature, URL and body separated by NUL bytes.
 * Whatever arrives, the result is one of the documented statuses, a SID is
 * only handed out when it is well-formed and fits (it goes into URL paths),
 * and a webhook is only believed with the signature its content calls for.
 */
#include "fuzz.h"

#include "api_call.h"
#include "buf.h"
#include "crypto.h"
#include "verify.h"
#include "verify_int.h"

#define FUZZ_TOKEN "fuzz-verify-auth-token"
#define SHORT_SID 8

static const long http_codes[] = {200, 201, 204, 301, 400, 401, 403, 404,
                                  409, 429, 500, 502, 503, 0,   999, 201};
#define N_CODES (sizeof(http_codes) / sizeof(http_codes[0]))

enum target {
	T_ENTITY,
	T_FACTORS,
	T_TOTP_FACTORS,
	T_CHALLENGE,
	T_STATUS,
	T_WEBHOOK_RESULT,
	T_WEBHOOK_FORM,
	T_WEBHOOK_JSON
};

static int
is_2xx(long http)
{
	return http >= 200 && http < 300;
}

/* Does s, with A-F in lower case, hold the lower-case hex digits hex? */
static int
lower_contains(const char *s, const char *hex)
{
	char *low = fuzz_strndup((const uint8_t *)s, strlen(s));
	int found;

	for (char *p = low; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p + 32);
	}
	found = strstr(low, hex) != NULL;
	free(low);
	return found;
}

/* The Twilio code call->error_code holds, or -1 when it is not a number. */
static long
error_code(const struct api_call *call)
{
	char *end = NULL;
	long v = strtol(call->error_code, &end, 10);

	return call->error_code[0] != '\0' && *end == '\0' ? v : -1;
}

/* The statuses verify_map_error gives for a failed call. */
static int
is_error(enum status rc)
{
	return rc == STATUS_USER_NOT_FOUND || rc == STATUS_APPROVAL_NOT_FOUND ||
	       rc == STATUS_RATE_LIMITED || rc == STATUS_UPSTREAM_AUTH ||
	       rc == STATUS_UPSTREAM_HTTP || rc == STATUS_UPSTREAM_PROTOCOL || rc == STATUS_NOMEM ||
	       rc == STATUS_NO_FACTOR;
}

/* What every reply leaves in call: terminated strings, an error code only from an error. */
static void
check_call(const struct api_call *call, long http)
{
	FUZZ_ASSERT(memchr(call->err, '\0', sizeof(call->err)) != NULL);
	FUZZ_ASSERT(memchr(call->error_code, '\0', sizeof(call->error_code)) != NULL);
	if (call->error_code[0] != '\0')
		FUZZ_ASSERT(!is_2xx(http) && error_code(call) >= 0);
}

static void
entity(struct api_call *call, long http, const char *body, size_t len)
{
	enum status rc = verify_entity_reply(call, &(struct api_reply){http, body, len});

	/* Only a 2xx, or Twilio's "it exists already", creates nothing and goes on. */
	if (rc == STATUS_OK)
		FUZZ_ASSERT(is_2xx(http) || http == 409 ||
		            error_code(call) == VERIFY_E_ENTITY_EXISTS);
	else
		FUZZ_ASSERT(is_error(rc) && rc != STATUS_USER_NOT_FOUND &&
		            rc != STATUS_APPROVAL_NOT_FOUND);
}

/* A factor list, push (totp 0) or TOTP: a SID only of a verified factor named in the body. */
static void
factors(struct api_call *call, long http, const char *body, size_t len, int totp, int short_sid)
{
	size_t sidlen = short_sid ? SHORT_SID : VERIFY_SID_LEN + 1;
	char *sid = malloc(sidlen);
	enum status rc;

	if (sid == NULL)
		abort();
	rc = totp ? verify_totp_factors_reply(call, &(struct api_reply){http, body, len}, sid,
	                                      sidlen)
	          : verify_factors_reply(call, &(struct api_reply){http, body, len}, sid, sidlen);
	if (rc == STATUS_OK) {
		FUZZ_ASSERT(is_2xx(http) && !short_sid && verify_sid_valid(sid, "YF"));
		FUZZ_ASSERT(fuzz_contains(body, len, sid) && fuzz_contains(body, len, "verified"));
		FUZZ_ASSERT(fuzz_contains(body, len, totp ? "totp" : "push"));
	} else {
		FUZZ_ASSERT(sid[0] == '\0');
		/* The push factor's status never answers a TOTP lookup, and the reverse. */
		if (totp)
			FUZZ_ASSERT(rc == STATUS_NO_TOTP_FACTOR ||
			            (is_error(rc) && rc != STATUS_NO_FACTOR));
		else
			FUZZ_ASSERT(is_error(rc));
		FUZZ_ASSERT(rc != STATUS_APPROVAL_NOT_FOUND);
	}
	free(sid);
}

static void
challenge(struct api_call *call, long http, const char *body, size_t len, int short_sid)
{
	size_t sidlen = short_sid ? SHORT_SID : VERIFY_SID_LEN + 1;
	char *sid = malloc(sidlen);
	enum status rc;

	if (sid == NULL)
		abort();
	rc = verify_challenge_create_reply(call, &(struct api_reply){http, body, len}, sid, sidlen);
	if (rc == STATUS_OK) {
		FUZZ_ASSERT(is_2xx(http) && !short_sid && verify_sid_valid(sid, "YC"));
		FUZZ_ASSERT(fuzz_contains(body, len, sid));
	} else {
		FUZZ_ASSERT(sid[0] == '\0' && is_error(rc) && rc != STATUS_APPROVAL_NOT_FOUND);
	}
	free(sid);
}

static void
challenge_status(struct api_call *call, long http, const char *body, size_t len)
{
	enum status rc = verify_challenge_status_reply(call, &(struct api_reply){http, body, len});

	if (rc == STATUS_OK || rc == STATUS_PENDING || rc == STATUS_DENIED || rc == STATUS_EXPIRED)
		FUZZ_ASSERT(is_2xx(http));
	else
		FUZZ_ASSERT(is_error(rc) && rc != STATUS_USER_NOT_FOUND);
	if (rc == STATUS_OK)
		FUZZ_ASSERT(fuzz_contains(body, len, "approved"));
}

/* An outcome only with a well-formed handle; another event is PENDING. */
static void
webhook_result(const char *params, size_t len, int json)
{
	char handle[VERIFY_HANDLE_MAX + 1], identity[VERIFY_IDENTITY_LEN + 1],
	    sid[VERIFY_SID_LEN + 1];
	enum status result = STATUS__COUNT;
	enum status rc = verify_webhook_result(&(struct provider_params){params, len, json}, handle,
	                                       sizeof(handle), &result);

	if (rc == STATUS_OK) {
		FUZZ_ASSERT(result == STATUS_OK || result == STATUS_DENIED);
		FUZZ_ASSERT(verify_handle_split(handle, identity, sid) == STATUS_OK);
		FUZZ_ASSERT(verify_identity_valid(identity) && verify_sid_valid(sid, "YC"));
		FUZZ_ASSERT(
		    fuzz_contains(params, len, result == STATUS_OK ? "approved" : "denied"));
	} else {
		FUZZ_ASSERT((rc == STATUS_PENDING || rc == STATUS_BAD_REQUEST) &&
		            handle[0] == '\0');
	}
}

/* The signature Twilio would send for wh, or "" when its content is unusable. */
static void
expected_signature(const struct verify_webhook *wh, char *out, size_t outlen)
{
	struct buf data;

	out[0] = '\0';
	buf_init(&data, 1 << 20);
	if (verify_webhook_data(wh, &data) != STATUS_OK ||
	    crypto_hmac_sha1_b64(FUZZ_TOKEN, data.data ? data.data : "", data.len, out, outlen) !=
	        STATUS_OK)
		out[0] = '\0';
	buf_free(&data);
}

/* "signature\0url\0body": verified only with the expected signature (and body hash). */
static void
webhook_signed(const uint8_t *data, size_t size, int json)
{
	struct verify_webhook wh = {.auth_token = FUZZ_TOKEN, .params.json = json};
	char *fields[2], *buf = NULL, *params, want[64], err[256], hash[65];
	size_t nf, off = 0;

	nf = fuzz_split(data, size, &buf, fields, 2);
	for (size_t i = 0; i < nf; i++)
		off += strlen(fields[i]) + 1;
	if (nf < 2 || off > size) {
		free(buf);
		return;
	}
	params = fuzz_strndup(data + off, size - off);
	wh.signature = fields[0];
	wh.url = fields[1];
	wh.params.text = params;
	wh.params.len = size - off;
	webhook_result(params, wh.params.len, json);
	expected_signature(&wh, want, sizeof(want));
	if (verify_webhook_verify(&wh, err, sizeof(err)) == STATUS_OK) {
		FUZZ_ASSERT(want[0] != '\0' && strcmp(wh.signature, want) == 0);
		FUZZ_ASSERT(!json || (crypto_sha256_hex(params, wh.params.len, hash,
		                                        sizeof(hash)) == STATUS_OK &&
		                      lower_contains(wh.url, hash)));
	} else {
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	}
	/* A form webhook with the right signature is believed. */
	if (want[0] != '\0' && !json) {
		wh.signature = want;
		FUZZ_ASSERT(verify_webhook_verify(&wh, err, sizeof(err)) == STATUS_OK);
	}
	free(params);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_call call;
	long http;
	char *copy;
	size_t len;
	int flag;

	if (size < 1)
		return 0;
	http = http_codes[(data[0] >> 3) % N_CODES];
	flag = (data[0] & 0x80) != 0;
	len = size - 1;
	/* An exact-size heap copy: a read past the counted body is caught by ASan. */
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, len);
	memset(&call, 0, sizeof(call));
	switch ((enum target)(data[0] & 7)) {
	case T_ENTITY:
		entity(&call, http, copy, len);
		break;
	case T_FACTORS:
	case T_TOTP_FACTORS:
		factors(&call, http, copy, len, (data[0] & 7) == T_TOTP_FACTORS, flag);
		break;
	case T_CHALLENGE:
		challenge(&call, http, copy, len, flag);
		break;
	case T_STATUS:
		challenge_status(&call, http, copy, len);
		break;
	case T_WEBHOOK_RESULT:
		webhook_result(copy, len, flag);
		break;
	default:
		webhook_signed(data + 1, len, (data[0] & 7) == T_WEBHOOK_JSON);
		break;
	}
	check_call(&call, http);
	for (int op = VERIFY_OP_ENTITY; op <= VERIFY_OP_CHALLENGE_STATUS; op++) {
		enum status rc = verify_map_error(http, 0, (enum verify_op)op);
		FUZZ_ASSERT(is_error(rc) ||
		            (rc == STATUS_OK && op == VERIFY_OP_ENTITY && http == 409));
	}
	free(copy);
	return 0;
}
