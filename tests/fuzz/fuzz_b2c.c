/*
 * fuzz_b2c.c - libFuzzer harness for the B2C side: the input is a request
 * body for b2c_parse_claims and both validators; the claims it yields, and
 * the input itself as a request id, go through the reply builders, whose
 * output must always be a JSON object of the promised shape.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "b2c.h"
#include "json.h"
#include "phone.h"
#include "phone_int.h"
#include "request.h"
#include "util.h"
#include "b2c_int.h"

/* A built reply: the status it promises and a body that parses as an object. */
static void
check_reply(const struct response *res, int want_status)
{
	struct json *j = NULL;
	char v[16];

	FUZZ_ASSERT(res->http_status == want_status);
	FUZZ_ASSERT(res->body != NULL && res->body_len == strlen(res->body));
	FUZZ_ASSERT(json_parse(res->body, res->body_len, &j) == STATUS_OK);
	if (want_status != 200) {
		FUZZ_ASSERT(json_get_scalar(j, B2C_KEY_STATUS, v, sizeof(v)) == STATUS_OK);
		FUZZ_ASSERT(strtol(v, NULL, 10) == want_status);
		FUZZ_ASSERT(json_get_scalar(j, B2C_KEY_USER_MESSAGE, v, sizeof(v)) !=
		            STATUS_NOT_FOUND);
	}
	json_free(j);
}

/* The correlation id and the IP address reach logs and pushes only when well-formed. */
static void
check_binding(const struct b2c_claims *c)
{
	unsigned char addr[sizeof(struct in6_addr)];

	FUZZ_ASSERT(c->correlation_id[0] == '\0' || b2c_correlation_id_valid(c->correlation_id));
	FUZZ_ASSERT(c->correlation_rc == STATUS_OK || c->correlation_id[0] == '\0');
	FUZZ_ASSERT(c->ip_rc == STATUS_OK || c->ip_address[0] == '\0');
	FUZZ_ASSERT(c->ip_address[0] == '\0' || inet_pton(AF_INET, c->ip_address, addr) == 1 ||
	            inet_pton(AF_INET6, c->ip_address, addr) == 1);
	/* The objectId a Verify identity is derived from: a lower-case GUID or nothing. */
	FUZZ_ASSERT(c->object_id_rc == STATUS_OK || c->object_id[0] == '\0');
	FUZZ_ASSERT(c->object_id[0] == '\0' ||
	            (strlen(c->object_id) == B2C_OBJECT_ID_LEN &&
	             strspn(c->object_id, "0123456789abcdef-") == B2C_OBJECT_ID_LEN));
	if (b2c_validate_binding(c, true) == STATUS_OK)
		FUZZ_ASSERT(c->correlation_id[0] != '\0');
	if (b2c_validate_binding(c, false) != STATUS_OK)
		FUZZ_ASSERT(c->correlation_rc != STATUS_OK);
}

static void
check_claims(const struct b2c_claims *c)
{
	struct phone_number ph;
	enum status rc;

	/* Nothing that failed its check is ever kept. */
	FUZZ_ASSERT(c->email_rc == STATUS_OK || c->email[0] == '\0');
	FUZZ_ASSERT(c->email[0] == '\0' || b2c_email_valid(c->email));
	FUZZ_ASSERT(c->name_rc == STATUS_OK || c->sign_in_name[0] == '\0');
	FUZZ_ASSERT(c->authy_id[0] == '\0' || util_is_digits(c->authy_id, B2C_AUTHY_ID_MAX));
	/* What reaches Authy, the logs and the replies is well-formed UTF-8. */
	FUZZ_ASSERT(fuzz_utf8_valid(c->sign_in_name) && fuzz_utf8_valid(c->email));
	rc = b2c_validate_register(c, true, &ph);
	if (rc == STATUS_OK) {
		/* A user named by an email, a usable sign-in name, or the account alone. */
		FUZZ_ASSERT(c->email[0] != '\0' || b2c_sign_in_name_valid(c->sign_in_name) ||
		            (c->sign_in_name[0] == '\0' && c->name_rc == STATUS_OK &&
		             c->object_id[0] != '\0'));
		FUZZ_ASSERT(fuzz_all_digits(ph.country_code) && fuzz_all_digits(ph.national));
		FUZZ_ASSERT(strlen(ph.country_code) + strlen(ph.national) <= PHONE_E164_MAX);
		FUZZ_ASSERT(phone_cc_geographic(ph.country_code));
	}
	/* Without a required phone (Verify) only a missing one is forgiven. */
	FUZZ_ASSERT(b2c_validate_register(c, false, &ph) ==
	            (rc == STATUS_PHONE_MISSING ? STATUS_OK : rc));
	if (b2c_validate_wait(c) == STATUS_OK)
		FUZZ_ASSERT(util_is_digits(c->authy_id, B2C_AUTHY_ID_MAX));
	check_binding(c);
}

static void
check_replies(const struct b2c_claims *c, const uint8_t *data, size_t size)
{
	struct response res = {0};
	char *rid = fuzz_strndup(data, size < 512 ? size : 512);
	enum status rc = size > 0 ? (enum status)(data[0] % (STATUS__COUNT + 2)) : STATUS_OK;

	/* Every status, in range or not, gives a B2C-shaped error, never a 200. */
	b2c_reply_error(&res, rc, rid);
	FUZZ_ASSERT(res.http_status >= 400);
	check_reply(&res,
	            b2c_http_status(rc == STATUS_OK || rc >= STATUS__COUNT ? STATUS_INTERNAL : rc));
	response_free(&res);
	if (c->authy_id[0] != '\0') {
		FUZZ_ASSERT(b2c_reply_authy_id(&res, c->authy_id) == STATUS_OK);
		check_reply(&res, 200);
		response_free(&res);
	}
	free(rid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct b2c_claims c;
	char *text = fuzz_strndup(data, size);

	/* The body as B2C sends it: counted bytes, not a C string. */
	if (b2c_parse_claims((const char *)data, size, &c) == STATUS_OK)
		check_claims(&c);
	else
		FUZZ_ASSERT(c.email[0] == '\0' && c.authy_id[0] == '\0' && c.phone[0] == '\0');
	check_replies(&c, data, size);
	(void)b2c_email_valid(text);
	(void)b2c_sign_in_name_valid(text);
	free(text);
	return 0;
}
