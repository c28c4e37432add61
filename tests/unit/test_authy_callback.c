/*
 * test_authy_callback.c - OneTouch callback signatures against known answers
 * computed with an independent implementation of Authy's scheme (the mock's,
 * which follows Authy's client libraries), tampering, canonical form, and
 * reading the reported outcome.
 */
#include <string.h>

#include "authy.h"
#include "authy_int.h"
#include "buf.h"
#include "config.h"
#include "harness.h"
#include "request.h"
#include "buf_int.h"

#define KEY "test-api-key-123"
#define URL "https://b2c.example.com/api/authy/callback"
#define UUID "996201b0-a7e8-0133-2e4d-0e67b818e5cb"

static const char json_body[] =
    "{\"authy_id\":1000001,\"status\":\"approved\",\"uuid\":\"" UUID "\","
    "\"callback_action\":\"approval_request_status\",\"approval_request\":{\"transaction\":"
    "{\"details\":{\"Sign-in name\":\"alice@example.com\",\"App\":\"a/b c\"},"
    "\"hidden_details\":{\"request_id\":\"r1\"},\"encrypted\":false,\"requester_details\":null,"
    "\"list\":[\"x y\",\"z\"]},\"expiration_timestamp\":1700000000}}";
#define JSON_SIG "EYaTslofdzCUg9dtSDTQFfuI3OJmauE8/3BuQWgsxjg="

static const char form_body[] =
    "uuid=" UUID "&status=denied&authy_id=7"
    "&approval_request%5Btransaction%5D%5Bdetails%5D%5BSign-in+name%5D=bob";
#define FORM_SIG "HvXSD9K2HsSBU+cj30vwVELuyL4a/rrdOdaOZMMeucA="

static struct authy_callback
json_cb(void)
{
	struct authy_callback cb = {.api_key = KEY,
	                            .nonce = "1700000000",
	                            .signature = JSON_SIG,
	                            .method = "POST",
	                            .url = URL,
	                            .params = {json_body, sizeof(json_body) - 1, true}};
	return cb;
}

static void
test_known_answers(void)
{
	struct authy_callback cb = json_cb();
	char err[256];

	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_OK);
	cb.nonce = "1700000001", cb.signature = FORM_SIG, cb.method = "GET";
	cb.params = (struct provider_params){form_body, sizeof(form_body) - 1, false};
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_OK);
}

static void
test_tampering(void)
{
	char body[sizeof(json_body)];
	char err[256];
	struct authy_callback cb = json_cb();

	cb.nonce = "1700000001";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.url = "https://b2c.example.com/api/authy/callback2";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.method = "GET";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.api_key = "another-key";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	/* approved -> denied in the body */
	memcpy(body, json_body, sizeof(body));
	memcpy(strstr(body, "approved"), "deniedxx", 8);
	cb = json_cb(), cb.params.text = body;
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.signature = "";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.signature = NULL;
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.signature = JSON_SIG "A";
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	cb = json_cb(), cb.params.text = "{\"uuid\":", cb.params.len = 8;
	CHECK_INT(authy_callback_verify(&cb, err, sizeof(err)), STATUS_UNAUTHORIZED);
	CHECK(strstr(err, KEY) == NULL);
}

static void
test_canonical(void)
{
	static const char *const cases[][2] = {
	    {"{\"b\":\"2\",\"a\":\"x y\"}", "a=x+y&b=2"},
	    {"{\"a\":{\"b\":{\"c\":true}}}", "a%5Bb%5D%5Bc%5D=true"},
	    {"{\"a\":[\"2\",\"1\"]}", "a%5B%5D=1&a%5B%5D=2"},
	    {"{\"a\":{\"7\":\"n\"}}", "a%5B%5D=n"},
	    {"{\"a\":null,\"e\":{},\"f\":[]}", "a="},
	    {"{\"k\":\"a&b=c/d\"}", "k=a%26b%3Dc%2Fd"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 4096);
		CHECK_INT(
		    authy_callback_canonical(
		        &(struct provider_params){cases[i][0], strlen(cases[i][0]), true}, &b),
		    STATUS_OK);
		CHECK_STR(buf_cstr(&b), cases[i][1]);
		buf_free(&b);
	}
	{
		struct buf b;
		buf_init(&b, 4096);
		CHECK_INT(authy_callback_canonical(
		              &(struct provider_params){"b=2&a%5B0%5D=x+y&c", 18, false}, &b),
		          STATUS_OK);
		CHECK_STR(buf_cstr(&b), "a%5B%5D=x+y&b=2&c=");
		buf_reset(&b);
		CHECK_INT(
		    authy_callback_canonical(&(struct provider_params){"a=%zz", 5, false}, &b),
		    STATUS_BAD_REQUEST);
		CHECK_INT(
		    authy_callback_canonical(&(struct provider_params){"a=%00", 5, false}, &b),
		    STATUS_BAD_REQUEST);
		CHECK_INT(authy_callback_canonical(&(struct provider_params){"[1]", 3, true}, &b),
		          STATUS_BAD_REQUEST);
		buf_free(&b);
	}
}

static void
test_result(void)
{
	char uuid[80];
	enum status res = STATUS_INTERNAL;

	CHECK_INT(
	    authy_callback_result(&(struct provider_params){json_body, sizeof(json_body) - 1, true},
	                          uuid, sizeof(uuid), &res),
	    STATUS_OK);
	CHECK_STR(uuid, UUID);
	CHECK_INT(res, STATUS_OK);
	CHECK_INT(authy_callback_result(
	              &(struct provider_params){form_body, sizeof(form_body) - 1, false}, uuid,
	              sizeof(uuid), &res),
	          STATUS_OK);
	CHECK_INT(res, STATUS_DENIED);
	CHECK_INT(authy_callback_result(
	              &(struct provider_params){"uuid=" UUID "&status=expired", 5 + 36 + 15, false},
	              uuid, sizeof(uuid), &res),
	          STATUS_OK);
	CHECK_INT(res, STATUS_EXPIRED);
	CHECK_INT(authy_callback_result(
	              &(struct provider_params){"uuid=" UUID "&status=pending", 5 + 36 + 15, false},
	              uuid, sizeof(uuid), &res),
	          STATUS_PENDING);
	CHECK_INT(authy_callback_result(&(struct provider_params){"status=approved", 15, false},
	                                uuid, sizeof(uuid), &res),
	          STATUS_BAD_REQUEST);
	CHECK_INT(
	    authy_callback_result(&(struct provider_params){"uuid=../x&status=approved", 25, false},
	                          uuid, sizeof(uuid), &res),
	    STATUS_BAD_REQUEST);
	CHECK_INT(authy_callback_result(
	              &(struct provider_params){"{\"uuid\":1,\"status\":\"approved\"}", 31, true},
	              uuid, sizeof(uuid), &res),
	          STATUS_BAD_REQUEST);
}

/* The nonce is the time of signing: refused outside the window either way. */
static void
test_nonce_window(void)
{
	char *env[] = {"HTTP_X_AUTHY_SIGNATURE=" JSON_SIG,
	               "HTTP_X_AUTHY_SIGNATURE_NONCE=1700000000", "CONTENT_TYPE=application/json",
	               NULL};
	struct request req = {.env = env,
	                      .method = "POST",
	                      .path = "/api/authy/callback",
	                      .body = json_body,
	                      .body_len = sizeof(json_body) - 1};
	struct config cfg = {.api_key = KEY, .callback_max_age_s = 300};
	const char *sig = NULL;
	char err[256];
	static const struct {
		long long now_s;
		enum status want;
	} rows[] = {
	    {1700000000, STATUS_OK},           {1700000300, STATUS_OK},
	    {1699999700, STATUS_OK},           {1700000301, STATUS_UNAUTHORIZED},
	    {1699999699, STATUS_UNAUTHORIZED}, {1700086400, STATUS_UNAUTHORIZED},
	    {1699913600, STATUS_UNAUTHORIZED},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		req.now_s = rows[i].now_s;
		sig = NULL;
		CHECK_INT(authy_callback_check(&cfg, &(struct provider_callback){&req, URL}, &sig,
		                               err, sizeof(err)),
		          rows[i].want);
		if (rows[i].want == STATUS_OK)
			CHECK_STR(sig, JSON_SIG);
		else
			CHECK(sig == NULL && strstr(err, "outside the 300 s window") != NULL);
	}
}

int
main(void)
{
	RUN(test_known_answers);
	RUN(test_tampering);
	RUN(test_canonical);
	RUN(test_result);
	RUN(test_nonce_window);
	HARNESS_END();
}
