/*
 * fuzz_token.c - libFuzzer harness for everything that reads a one-time
 * code or the reply to checking one. Byte 0: bits 0-1 pick the target, bits
 * 2-5 an HTTP status from a table. 0: the claims body of verifytoken
 * (b2c_parse_claims + b2c_validate_token); 1: Authy's token verification
 * reply; 2: Verify's TOTP challenge reply; 3: the Authy request path built
 * from "authyId\0token". Invariants: a code is accepted only as 6..10 ASCII
 * digits, an approval only from a 2xx, a wrong code only from a 401 (Authy)
 * or a 2xx (Verify), and the logged path never holds the code.
 */
#include "fuzz.h"

#include "api_call.h"
#include "authy.h"
#include "authy_int.h"
#include "b2c.h"
#include "verify.h"
#include "verify_int.h"

static const long http_codes[] = {200, 201, 204, 301, 400, 401, 403, 404,
                                  409, 429, 500, 502, 503, 0,   999, 401};
#define N_CODES (sizeof(http_codes) / sizeof(http_codes[0]))

static void
claims(const char *body, size_t len)
{
	struct b2c_claims c;
	enum status rc;

	if (b2c_parse_claims(body, len, &c) != STATUS_OK)
		return;
	rc = b2c_validate_token(&c);
	FUZZ_ASSERT(rc == STATUS_OK || rc == STATUS_AUTHYID_MISSING ||
	            rc == STATUS_AUTHYID_INVALID || rc == STATUS_EMAIL_INVALID ||
	            rc == STATUS_IDENTITY_MISSING || rc == STATUS_TOKEN_MISSING ||
	            rc == STATUS_TOKEN_INVALID);
	/* Whatever is kept is a well-formed code: nothing else reaches a URL. */
	FUZZ_ASSERT(c.token[0] == '\0' ||
	            (fuzz_all_digits(c.token) && strlen(c.token) >= 6 && strlen(c.token) <= 10));
	if (rc == STATUS_OK)
		FUZZ_ASSERT(c.token[0] != '\0' && fuzz_all_digits(c.authy_id));
	b2c_claims_wipe(&c);
	FUZZ_ASSERT(c.token[0] == '\0');
}

static int
is_error(enum status rc)
{
	return rc == STATUS_USER_REJECTED || rc == STATUS_USER_NOT_FOUND ||
	       rc == STATUS_APPROVAL_NOT_FOUND || rc == STATUS_RATE_LIMITED ||
	       rc == STATUS_UPSTREAM_AUTH || rc == STATUS_UPSTREAM_HTTP ||
	       rc == STATUS_UPSTREAM_PROTOCOL || rc == STATUS_NOMEM || rc == STATUS_NO_FACTOR ||
	       rc == STATUS_NO_TOTP_FACTOR;
}

static void
authy_reply(long http, const char *body, size_t len)
{
	struct api_call call;
	enum status rc;

	memset(&call, 0, sizeof(call));
	rc = authy_token_verify_reply(&call, &(struct api_reply){http, body, len});
	if (rc == STATUS_OK)
		FUZZ_ASSERT(http >= 200 && http < 300 && fuzz_contains(body, len, "is valid"));
	else if (rc == STATUS_TOKEN_WRONG)
		FUZZ_ASSERT(http == 401);
	else
		FUZZ_ASSERT(is_error(rc) && rc != STATUS_NO_TOTP_FACTOR);
	FUZZ_ASSERT(memchr(call.err, '\0', sizeof(call.err)) != NULL);
}

static void
verify_reply(long http, const char *body, size_t len)
{
	struct api_call call;
	enum status rc;

	memset(&call, 0, sizeof(call));
	rc = verify_totp_check_reply(&call, &(struct api_reply){http, body, len});
	if (rc == STATUS_OK)
		FUZZ_ASSERT(http >= 200 && http < 300 && fuzz_contains(body, len, "approved"));
	else if (rc == STATUS_TOKEN_WRONG)
		FUZZ_ASSERT(http >= 200 && http < 300);
	else
		FUZZ_ASSERT(is_error(rc) && rc != STATUS_NO_FACTOR);
}

static void
paths(const uint8_t *data, size_t size)
{
	char path[AUTHY_TOKEN_PATH_MAX], masked[AUTHY_TOKEN_PATH_MAX];
	char *buf = NULL, *f[2] = {"", ""};

	fuzz_split(data, size, &buf, f, 2);
	if (authy_token_paths(f[0], f[1], path, masked) == STATUS_OK) {
		FUZZ_ASSERT(fuzz_all_digits(f[0]) && fuzz_all_digits(f[1]));
		FUZZ_ASSERT(strstr(path, f[1]) != NULL && strstr(path, "?force=true") != NULL);
		/* The code's place holds the mask; what follows is the authyId. */
		FUZZ_ASSERT(strncmp(masked, "/protected/json/verify/" AUTHY_TOKEN_MASK "/",
		                    strlen("/protected/json/verify/" AUTHY_TOKEN_MASK "/")) == 0);
		FUZZ_ASSERT(strcmp(masked + strlen("/protected/json/verify/" AUTHY_TOKEN_MASK "/") +
		                       strlen(f[0]),
		                   "?force=true") == 0);
	} else {
		FUZZ_ASSERT(path[0] == '\0' && masked[0] == '\0');
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long http;
	char *copy;
	size_t len;

	if (size < 1)
		return 0;
	http = http_codes[(data[0] >> 2) % N_CODES];
	len = size - 1;
	/* An exact-size heap copy: a read past the counted body is caught by ASan. */
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + 1, len);
	switch (data[0] & 3) {
	case 0:
		claims(copy, len);
		break;
	case 1:
		authy_reply(http, copy, len);
		break;
	case 2:
		verify_reply(http, copy, len);
		break;
	default:
		paths(data + 1, len);
		break;
	}
	free(copy);
	return 0;
}
