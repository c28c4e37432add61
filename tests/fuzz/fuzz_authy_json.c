/*
 * fuzz_authy_json.c - libFuzzer harness for the interpretation of Authy's
 * replies. The first byte picks the call (users/new, approval request,
 * status poll) and the HTTP status from a table of codes Authy and proxies
 * send; the rest is the body. Whatever arrives, the result is one of the
 * documented statuses and an id or uuid is only handed out when it is safe to
 * put into a URL path.
 */
#include "fuzz.h"

#include "api_call.h"
#include "authy.h"
#include "authy_int.h"

static const long http_codes[] = {200, 201, 204, 301, 400, 401, 403,
                                  404, 429, 500, 502, 503, 0,   999};
#define N_CODES (sizeof(http_codes) / sizeof(http_codes[0]))

static int
is_error_status(enum status rc)
{
	return rc == STATUS_USER_REJECTED || rc == STATUS_USER_NOT_FOUND ||
	       rc == STATUS_APPROVAL_NOT_FOUND || rc == STATUS_RATE_LIMITED ||
	       rc == STATUS_UPSTREAM_AUTH || rc == STATUS_UPSTREAM_HTTP ||
	       rc == STATUS_UPSTREAM_PROTOCOL || rc == STATUS_NOMEM;
}

static void
user_create(struct api_call *call, long http, const char *body, size_t len)
{
	char id[AUTHY_ID_MAX + 1];
	enum status rc =
	    authy_user_create_reply(call, &(struct api_reply){http, body, len}, id, sizeof(id));

	if (rc == STATUS_OK) {
		FUZZ_ASSERT(http >= 200 && http < 300);
		FUZZ_ASSERT(fuzz_all_digits(id) && strlen(id) <= AUTHY_ID_MAX);
	} else {
		FUZZ_ASSERT(is_error_status(rc) && id[0] == '\0');
		FUZZ_ASSERT(rc == STATUS_NOMEM || call->err[0] != '\0');
	}
}

static void
approval_create(struct api_call *call, long http, const char *body, size_t len)
{
	char uuid[AUTHY_UUID_MAX + 1];
	enum status rc = authy_approval_create_reply(call, &(struct api_reply){http, body, len},
	                                             uuid, sizeof(uuid));

	if (rc == STATUS_OK) {
		FUZZ_ASSERT(http >= 200 && http < 300 && uuid[0] != '\0');
		FUZZ_ASSERT(strspn(uuid, "0123456789abcdefABCDEF-") == strlen(uuid));
	} else {
		FUZZ_ASSERT(is_error_status(rc) && uuid[0] == '\0');
	}
}

static void
approval_status(struct api_call *call, long http, const char *body, size_t len)
{
	enum status rc = authy_approval_status_reply(call, &(struct api_reply){http, body, len});

	if (rc == STATUS_OK || rc == STATUS_PENDING || rc == STATUS_DENIED || rc == STATUS_EXPIRED)
		FUZZ_ASSERT(http >= 200 && http < 300);
	else
		FUZZ_ASSERT(is_error_status(rc));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_call call;
	const char *body;
	char *copy;
	long http;
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
	body = copy;
	memset(&call, 0, sizeof(call));
	switch (data[0] & 3) {
	case 0:
		user_create(&call, http, body, len);
		break;
	case 1:
		approval_create(&call, http, body, len);
		break;
	default:
		approval_status(&call, http, body, len);
		break;
	}
	FUZZ_ASSERT(memchr(call.error_code, '\0', sizeof(call.error_code)) != NULL);
	FUZZ_ASSERT(memchr(call.err, '\0', sizeof(call.err)) != NULL);
	for (int op = AUTHY_OP_USER; op <= AUTHY_OP_TOKEN; op++)
		FUZZ_ASSERT(
		    is_error_status(authy_map_error(http, call.error_code, (enum authy_op)op)));
	free(copy);
	return 0;
}
