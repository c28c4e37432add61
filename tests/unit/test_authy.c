/*
 * test_authy.c - pure tests of authy.c: the error-code mapping table, message
 * truncation at UTF-8 boundaries, the form bodies, and the validation that
 * refuses bad ids, uuids and fields before any upstream call is made.
 */
#include <stdbool.h>
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
#include "provider_int.h"
#include "buf_int.h"

static void
test_map_error(void)
{
	static const struct {
		long http;
		const char *code;
		enum status want;
	} rows[] = {
	    {401, "60001", STATUS_UPSTREAM_AUTH},     {401, NULL, STATUS_UPSTREAM_AUTH},
	    {401, "60026", STATUS_UPSTREAM_AUTH},     {403, "60001", STATUS_UPSTREAM_AUTH},
	    {429, "60003", STATUS_RATE_LIMITED},      {429, NULL, STATUS_RATE_LIMITED},
	    {400, "60003", STATUS_RATE_LIMITED},      {404, "60026", STATUS_USER_NOT_FOUND},
	    {400, "60026", STATUS_USER_NOT_FOUND},    {404, "60049", STATUS_APPROVAL_NOT_FOUND},
	    {400, "60027", STATUS_USER_REJECTED},     {400, "60000", STATUS_USER_REJECTED},
	    {400, "60002", STATUS_USER_REJECTED},     {400, "60004", STATUS_USER_REJECTED},
	    {422, "60027", STATUS_USER_REJECTED},     {400, "60099", STATUS_USER_REJECTED},
	    {400, "", STATUS_USER_REJECTED},          {400, NULL, STATUS_USER_REJECTED},
	    {404, NULL, STATUS_UPSTREAM_HTTP},        {404, "", STATUS_UPSTREAM_HTTP},
	    {404, "60099", STATUS_UPSTREAM_HTTP},     {403, NULL, STATUS_UPSTREAM_HTTP},
	    {302, NULL, STATUS_UPSTREAM_HTTP},        {500, NULL, STATUS_UPSTREAM_HTTP},
	    {502, "60027", STATUS_UPSTREAM_HTTP},     {503, "", STATUS_UPSTREAM_HTTP},
	    {503, "60049", STATUS_UPSTREAM_HTTP},     {200, NULL, STATUS_UPSTREAM_PROTOCOL},
	    {200, "60099", STATUS_UPSTREAM_PROTOCOL}, {200, "60026", STATUS_USER_NOT_FOUND},
	    {200, "60001", STATUS_UPSTREAM_AUTH},
	};

	/* A refusal of the details is the user's only on users/new; the other
	 * calls' parameters are the responder's, so it is an upstream error. */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (int op = AUTHY_OP_USER; op <= AUTHY_OP_TOKEN; op++) {
			enum status want = rows[i].want;
			enum status got =
			    authy_map_error(rows[i].http, rows[i].code, (enum authy_op)op);

			if (want == STATUS_USER_REJECTED && op != AUTHY_OP_USER)
				want = STATUS_UPSTREAM_HTTP;
			if (got != want)
				fprintf(stderr, "  row %zu op %d: %ld/%s -> %s, want %s\n", i, op,
				        rows[i].http, rows[i].code ? rows[i].code : "(null)",
				        status_str(got), status_str(want));
			CHECK_INT(got, want);
		}
	}
}

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
test_uuid_valid(void)
{
	char s[AUTHY_UUID_MAX + 2];

	CHECK(authy_uuid_valid("550e8400-e29b-41d4-a716-446655440000"));
	CHECK(authy_uuid_valid("ABCDEF"));
	CHECK(!authy_uuid_valid(NULL));
	CHECK(!authy_uuid_valid(""));
	CHECK(!authy_uuid_valid("550e8400/../x"));
	CHECK(!authy_uuid_valid("g"));
	memset(s, 'a', AUTHY_UUID_MAX);
	s[AUTHY_UUID_MAX] = '\0';
	CHECK(authy_uuid_valid(s));
	s[AUTHY_UUID_MAX] = 'a';
	s[AUTHY_UUID_MAX + 1] = '\0';
	CHECK(!authy_uuid_valid(s));
}

static void
test_user_form(void)
{
	struct authy_user u = {"jane.doe+x@example.com", "5551234567", "1", false};
	struct buf b;

	buf_init(&b, 4096);
	CHECK_INT(authy_user_form(&u, &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "user%5Bemail%5D=jane.doe%2Bx%40example.com"
	                        "&user%5Bcellphone%5D=5551234567&user%5Bcountry_code%5D=1"
	                        "&send_install_link_via_sms=false");
	buf_reset(&b);
	u.send_install_link = true;
	u.country_code = "49";
	CHECK_INT(authy_user_form(&u, &b), STATUS_OK);
	CHECK(strstr(buf_cstr(&b), "&user%5Bcountry_code%5D=49&send_install_link_via_sms=true") !=
	      NULL);
	buf_free(&b);
}

static void
test_user_form_invalid(void)
{
	static const struct authy_user bad[] = {
	    {NULL, "5551234567", "1", false},
	    {"", "5551234567", "1", false},
	    {"a@b.c", NULL, "1", false},
	    {"a@b.c", "", "1", false},
	    {"a@b.c", "+15551234567", "1", false},
	    {"a@b.c", "555-1234", "1", false},
	    {"a@b.c", "5551234567", NULL, false},
	    {"a@b.c", "5551234567", "", false},
	    {"a@b.c", "5551234567", "+1", false},
	    {"a@b.c", "5551234567", "12345", false},
	    {"a@b.c", "123456789012345678901", "1", false},
	};
	struct buf b;

	buf_init(&b, 4096);
	CHECK_INT(authy_user_form(NULL, &b), STATUS_BAD_REQUEST);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		CHECK_INT(authy_user_form(&bad[i], &b), STATUS_BAD_REQUEST);
	}
	buf_free(&b);
}

static void
test_approval_form(void)
{
	static const struct api_kv details[] = {{"Email", "j***@example.com"},
	                                        {"Where to", "a&b=c d"}};
	static const struct api_kv hidden[] = {{"ip", "10.0.0.1"}};
	struct provider_approval a = {"1234567", "Sign in \xc3\xa9t\xc3\xa9", details, 2, hidden, 1,
	                              120};
	struct buf b;

	buf_init(&b, 4096);
	CHECK_INT(authy_approval_form(&a, &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "message=Sign+in+%C3%A9t%C3%A9"
	                        "&details%5BEmail%5D=j%2A%2A%2A%40example.com"
	                        "&details%5BWhere+to%5D=a%26b%3Dc+d"
	                        "&hidden_details%5Bip%5D=10.0.0.1&seconds_to_expire=120");
	buf_free(&b);
}

static void
test_approval_form_truncates(void)
{
	char msg[512];
	struct provider_approval a = {"42", msg, NULL, 0, NULL, 0, 60};
	struct buf b, want;

	/* 'x' then 150 two-byte characters: 199 bytes kept, the cut character dropped. */
	msg[0] = 'x';
	repeat(msg + 1, sizeof(msg) - 1, "\xc3\xa9", 150);
	buf_init(&want, 4096);
	buf_append_str(&want, "message=x");
	for (int i = 0; i < 99; i++)
		buf_append_str(&want, "%C3%A9");
	buf_append_str(&want, "&seconds_to_expire=60");
	buf_init(&b, 4096);
	CHECK_INT(authy_approval_form(&a, &b), STATUS_OK);
	CHECK_STR(buf_cstr(&b), buf_cstr(&want));
	buf_free(&b);
	buf_free(&want);
}

static void
test_approval_form_invalid(void)
{
	static const struct api_kv nokey[] = {{"", "v"}};
	static const struct api_kv noval[] = {{"k", NULL}};
	struct provider_approval ok = {"42", "m", NULL, 0, NULL, 0, 60};
	struct provider_approval a;
	const char *ids[] = {NULL, "", "12a", "-1", "1 2", "../1", "123456789012345678901"};
	struct buf b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		a = ok;
		a.authy_id = ids[i];
		CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	}
	a = ok;
	a.message = NULL;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a.message = "";
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a = ok;
	a.seconds_to_expire = 0;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a = ok;
	a.n_details = 1;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a.details = nokey;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a = ok;
	a.hidden = noval;
	a.n_hidden = 1;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	a.n_hidden = -1;
	CHECK_INT(authy_approval_form(&a, &b), STATUS_BAD_REQUEST);
	CHECK_INT(b.len, 0);
	buf_reset(&b);
	CHECK_INT(authy_approval_form(&ok, &b), STATUS_OK);
	buf_free(&b);
}

/* A job of authy_provider on cfg. */
static void
job_init(struct provider_job *job, struct provider *p, struct config *cfg)
{
	config_defaults(cfg);
	CHECK_INT(provider_init(cfg, p), STATUS_OK);
	CHECK(p->ops == &authy_provider);
	provider_job_init(job, p);
}

/* Each step builds its request from the job, or refuses it without a call. */
static void
test_steps_build(void)
{
	struct phone_number ph = {"1", "555 1234"};
	struct provider_user u = {.email = "a@example.com", .sign_in_name = "", .phone = &ph};
	struct provider_approval a = {"12x", "m", NULL, 0, NULL, 0, 60};
	struct api_request req;
	struct provider_job job;
	struct provider p;
	struct config cfg;

	job_init(&job, &p, &cfg);
	api_request_init(&req);
	job.user = &u;
	CHECK_INT(p.ops->user_create->build(&job, 0, &req), STATUS_BAD_REQUEST);
	CHECK(job.call.err[0] != '\0');
	util_strlcpy(ph.national, "5551234567", sizeof(ph.national));
	CHECK_INT(p.ops->user_create->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.path, AUTHY_PATH_USERS_NEW);
	CHECK(strstr(buf_cstr(&req.form), "user%5Bemail%5D=a%40example.com") != NULL);
	api_request_free(&req);

	api_request_init(&req);
	job.approval = &a;
	CHECK_INT(p.ops->approval_create->build(&job, 0, &req), STATUS_BAD_REQUEST);
	a.authy_id = "12";
	CHECK_INT(p.ops->approval_create->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(req.path, "/onetouch/json/users/12/approval_requests");
	api_request_free(&req);

	{
		static const char *const bad[] = {"", "../users/1", "abc/def", "abcd?x=1",
		                                  "a4b2c3d4-e5f6-4789-abcd-ef0123456789%2f"};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			api_request_init(&req);
			util_strlcpy(job.handle, bad[i], sizeof(job.handle));
			CHECK_INT(p.ops->approval_status->build(&job, 0, &req), STATUS_BAD_REQUEST);
			api_request_free(&req);
		}
	}
	api_request_init(&req);
	util_strlcpy(job.handle, "A4B2C3D4-e5f6-4789-abcd-ef0123456789", sizeof(job.handle));
	CHECK_INT(p.ops->approval_status->build(&job, 0, &req), STATUS_OK);
	CHECK_STR(req.method, "GET");
	CHECK_STR(req.path,
	          "/onetouch/json/approval_requests/A4B2C3D4-e5f6-4789-abcd-ef0123456789");
	api_request_free(&req);
	/* Without a connection a valid operation fails as an internal error. */
	CHECK_INT(provider_run(p.ops->approval_status, &job, NULL, NULL, 0), STATUS_INTERNAL);
	config_free(&cfg);
}

/* Each reply ends its operation with the result in the job. */
static void
test_steps_reply(void)
{
	struct provider_job job;
	struct provider p;
	struct config cfg;
	bool more = true;

	job_init(&job, &p, &cfg);
	CHECK_INT(p.ops->user_create->reply(
	              &job, 0, &(struct api_reply){200, "{\"user\":{\"id\":42}}", 18}, &more),
	          STATUS_OK);
	CHECK(!more);
	CHECK_STR(job.id, "42");
	CHECK_INT(p.ops->approval_create->reply(
	              &job, 0,
	              &(struct api_reply){200, "{\"approval_request\":{\"uuid\":\"ab-12\"}}", 37},
	              &more),
	          STATUS_OK);
	CHECK_STR(job.handle, "ab-12");
	CHECK_INT(
	    p.ops->approval_status->reply(
	        &job, 0,
	        &(struct api_reply){200, "{\"approval_request\":{\"status\":\"denied\"}}", 40},
	        &more),
	    STATUS_DENIED);
	CHECK_INT(p.ops->approval_status->reply(&job, 0, &(struct api_reply){401, "{}", 2}, &more),
	          STATUS_UPSTREAM_AUTH);
	CHECK(!more);
	config_free(&cfg);
}

static void
test_upstream_opts(void)
{
	char key[] = "k", ca[] = "/etc/ca.pem", url[] = "https://authy.test:8443";
	struct config cfg;
	struct upstream_opts o;

	memset(&cfg, 0, sizeof(cfg));
	cfg.api_key = key;
	cfg.ca_file = ca;
	cfg.connect_timeout_ms = 1500;
	cfg.request_timeout_ms = 7000;
	memset(&o, 0xa5, sizeof(o));
	authy_upstream_opts(&cfg, &o);
	CHECK_STR(o.base_url, AUTHY_DEFAULT_URL);
	CHECK_STR(o.key_header, "X-Authy-API-Key");
	CHECK(o.api_key == cfg.api_key);
	CHECK(o.ca_file == cfg.ca_file);
	CHECK(o.basic_user == NULL && o.basic_pass == NULL);
	CHECK_INT(o.connect_timeout_ms, 1500);
	CHECK_INT(o.request_timeout_ms, 7000);
	CHECK(!o.allow_http);
	cfg.api_url = url;
	cfg.ca_file = NULL;
	authy_upstream_opts(&cfg, &o);
	CHECK_STR(o.base_url, "https://authy.test:8443");
	CHECK(o.ca_file == NULL);
}

int
main(void)
{
	RUN(test_map_error);
	RUN(test_uuid_valid);
	RUN(test_user_form);
	RUN(test_user_form_invalid);
	RUN(test_approval_form);
	RUN(test_approval_form_truncates);
	RUN(test_approval_form_invalid);
	RUN(test_steps_build);
	RUN(test_steps_reply);
	RUN(test_upstream_opts);
	HARNESS_END();
}
