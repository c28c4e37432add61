/*
 * test_upstream_authy.c - component tests of upstream.c, the provider driver and
 * the Authy steps against the
 * mock Authy (tests/mock/mock_authy.py) over TLS on loopback. Run by
 * tests/suites/component.sh, which starts the mocks and passes in the environment:
 *   B2C_MOCK_URL, B2C_MOCK_CA, B2C_MOCK_API_KEY (required), B2C_MOCK_WRONGNAME_URL
 *   (a mock serving a certificate for another name), B2C_CLOSED_URL (nothing
 *   listens there), B2C_TIMING_SLACK_MS (tolerance of the timing checks),
 *   B2C_MOCK_HOST_URL (the mock by the machine's name; empty when it cannot be).
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "authy.h"
#include "authy_int.h"
#include "config.h"
#include "phone.h"
#include "provider.h"
#include "buf.h"
#include "harness.h"
#include "log.h"
#include "loop.h"
/* By path: json-c's own json.h comes first on the pkg-config include path. */
#include "json.h"
#include "upstream.h"
#include "util.h"
#include "provider_int.h"

#define CTL_TIMEOUT_MS 5000
#define NEVER_UUID "a4b2c3d4-e5f6-4789-abcd-ef0123456789"
#define RESOLVE_DELAY_MS 50

static const char *mock_url;
static const char *mock_ca;
static const char *mock_key;
static const char *wrongname_url;
static const char *closed_url;
static const char *host_url; /* the mock by the machine's name, or NULL */
static long slack_ms = 500;
static struct loop *lp;      /* every handle runs on this loop */
static struct upstream *ctl; /* control connection to /_mock, no API key */
static unsigned phone_seq;

typedef int getaddrinfo_fn(const char *, const char *, const struct addrinfo *, struct addrinfo **);

/*
 * Names resolve after RESOLVE_DELAY_MS, as across a network: curl's resolver
 * thread is then still busy when curl first looks, so its socket goes through
 * the loop. This definition takes the place of libc's for libcurl.
 */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
	struct timespec delay = {0, RESOLVE_DELAY_MS * 1000000L};
	getaddrinfo_fn *real;

	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_SYSTEM;
	nanosleep(&delay, NULL);
	return real(node, service, hints, res);
}

static struct upstream *
handle(const char *base, const char *ca, const char *key, long request_timeout_ms)
{
	struct upstream_opts o = {
	    .base_url = base,
	    .key_header = key ? AUTHY_HEADER_API_KEY : NULL,
	    .api_key = key,
	    .ca_file = ca,
	    .connect_timeout_ms = 2000,
	    .request_timeout_ms = request_timeout_ms,
	};
	struct upstream *up = NULL;

	if (upstream_new(&o, lp, &up) != STATUS_OK) {
		fprintf(stderr, "  upstream_new(%s) failed\n", base);
		exit(2);
	}
	return up;
}

static struct upstream *
authy_handle(void)
{
	return handle(mock_url, mock_ca, mock_key, 10000);
}

/* One transfer run to its end on the loop: what came back. */
struct sync_req {
	bool done;
	enum status rc;
	long http_status;
	char *body; /* a copy, free it */
	size_t body_len;
	char err[256];
};

static void
sync_done(void *arg, enum status rc, const struct upstream_response *r)
{
	struct sync_req *sr = arg;

	sr->done = true;
	sr->rc = rc;
	sr->http_status = r->http_status;
	sr->body_len = r->body_len;
	sr->body = strndup(r->body, r->body_len);
	util_strlcpy(sr->err, r->err, sizeof(sr->err));
	loop_stop(lp);
}

static enum status
request(struct upstream *up, const struct upstream_call *c, struct sync_req *sr)
{
	enum status rc;

	memset(sr, 0, sizeof(*sr));
	rc = upstream_start(up, c, sync_done, sr, NULL);
	if (rc != STATUS_OK)
		return rc;
	while (!sr->done)
		loop_run(lp);
	return sr->rc;
}

/* A control call; the reply body is returned (free it) or NULL on failure. */
static char *
ctl_call(const char *method, const char *path, const char *json_body)
{
	struct upstream_call c = {.method = method,
	                          .path = path,
	                          .form = json_body,
	                          .deadline_ms = util_now_ms() + CTL_TIMEOUT_MS};
	struct sync_req sr;
	char *body = NULL;

	if (request(ctl, &c, &sr) == STATUS_OK && sr.http_status == 200) {
		body = sr.body;
		sr.body = NULL;
	} else {
		fprintf(stderr, "  control %s %s failed: %ld %s\n", method, path, sr.http_status,
		        sr.err);
	}
	free(sr.body);
	return body;
}

static int
ctl_ok(const char *method, const char *path, const char *json_body)
{
	char *b = ctl_call(method, path, json_body);
	int ok = b != NULL;

	free(b);
	return ok;
}

static long
ctl_stat(const char *name)
{
	char *b = ctl_call("GET", "/_mock/stats", NULL);
	struct json *j = NULL;
	char v[32] = "-1";
	long n = -1;

	if (b != NULL && json_parse(b, strlen(b), &j) == STATUS_OK &&
	    json_get_scalar(j, name, v, sizeof(v)) == STATUS_OK)
		util_parse_long(v, 0, 1000000, &n);
	json_free(j);
	free(b);
	return n;
}

/* One operation's connection, deadline, and what came back. */
struct tcall {
	struct upstream *up;
	long long deadline_ms;
	long http_status;
	char error_code[16];
	long retry_after_s;
	long elapsed_ms;
	char err[256];
};

static struct config cfg; /* read by the Authy steps: send_install_link */
static const struct provider authy = {&authy_provider, &cfg};

/* Run op for job through the provider driver; tc gets the call record. */
static enum status
run_op(struct tcall *tc, const struct provider_op *op, struct provider_job *job)
{
	enum status rc = provider_run(op, job, tc->up, lp, tc->deadline_ms);

	tc->http_status = job->call.http_status;
	util_strlcpy(tc->error_code, job->call.error_code, sizeof(tc->error_code));
	tc->retry_after_s = job->call.retry_after_s;
	tc->elapsed_ms = job->call.elapsed_ms;
	util_strlcpy(tc->err, job->call.err, sizeof(tc->err));
	return rc;
}

static enum status
t_user_create(struct tcall *tc, const struct authy_user *u, char *id, size_t idlen)
{
	struct phone_number ph;
	struct provider_user pu = {.email = u->email, .sign_in_name = "", .phone = &ph};
	struct provider_job job;
	enum status rc;

	util_strlcpy(ph.country_code, u->country_code, sizeof(ph.country_code));
	util_strlcpy(ph.national, u->cellphone, sizeof(ph.national));
	cfg.send_install_link = u->send_install_link;
	provider_job_init(&job, &authy);
	job.user = &pu;
	rc = run_op(tc, authy.ops->user_create, &job);
	util_strlcpy(id, job.id, idlen);
	return rc;
}

static enum status
t_approval_create(struct tcall *tc, const struct provider_approval *a, char *uuid, size_t uuidlen)
{
	struct provider_job job;
	enum status rc;

	provider_job_init(&job, &authy);
	job.approval = a;
	rc = run_op(tc, authy.ops->approval_create, &job);
	util_strlcpy(uuid, job.handle, uuidlen);
	return rc;
}

static enum status
t_approval_status(struct tcall *tc, const char *uuid)
{
	struct provider_job job;

	provider_job_init(&job, &authy);
	util_strlcpy(job.handle, uuid != NULL ? uuid : "", sizeof(job.handle));
	return run_op(tc, authy.ops->approval_status, &job);
}

static enum status
t_token_verify(struct tcall *tc, const char *authy_id, const char *code)
{
	struct provider_token tk = {.authy_id = authy_id, .code = code};
	struct provider_job job;

	provider_job_init(&job, &authy);
	job.token = &tk;
	return run_op(tc, authy.ops->token_verify, &job);
}

static struct tcall
new_call(struct upstream *up, long budget_ms)
{
	struct tcall c;

	memset(&c, 0, sizeof(c));
	c.up = up;
	c.deadline_ms = util_now_ms() + budget_ms;
	return c;
}

/* Register email with a fresh phone number; returns the status, id in id. */
static enum status
register_user(struct upstream *up, const char *email, char *id, size_t idlen, struct tcall *call)
{
	char cell[16];
	struct authy_user u = {email, cell, "1", false};

	snprintf(cell, sizeof(cell), "55501%05u", ++phone_seq);
	*call = new_call(up, 5000);
	return t_user_create(call, &u, id, idlen);
}

static enum status
create_approval(struct upstream *up, const char *id, char *uuid, size_t uuidlen)
{
	struct provider_approval a = {id, "Sign in to Contoso", NULL, 0, NULL, 0, 120};
	struct tcall call = new_call(up, 5000);

	return t_approval_create(&call, &a, uuid, uuidlen);
}

/* Poll every 50 ms until the status is no longer pending or max_ms passed. */
static enum status
poll_final(struct upstream *up, const char *uuid, long max_ms, long *waited_ms)
{
	long long start = util_now_ms();
	struct timespec ts = {0, 50 * 1000000L};
	enum status rc;

	do {
		struct tcall call = new_call(up, 5000);
		rc = t_approval_status(&call, uuid);
		if (rc != STATUS_PENDING)
			break;
		nanosleep(&ts, NULL);
	} while (util_now_ms() - start < max_ms);
	*waited_ms = (long)(util_now_ms() - start);
	return rc;
}

static void
test_user_create_dedupe(void)
{
	struct upstream *up = authy_handle();
	struct authy_user u = {"never.jane@example.com", "5559990001", "1", false};
	char id1[AUTHY_ID_MAX + 1], id2[AUTHY_ID_MAX + 1], id3[AUTHY_ID_MAX + 1];
	struct tcall call = new_call(up, 5000);

	CHECK_INT(t_user_create(&call, &u, id1, sizeof(id1)), STATUS_OK);
	CHECK_INT(call.http_status, 200);
	CHECK(util_is_digits(id1, AUTHY_ID_MAX));
	CHECK_STR(call.err, "");
	/* Authy keys users by phone: the same number gives the same id. */
	u.email = "other@example.com";
	u.send_install_link = true;
	CHECK_INT(t_user_create(&call, &u, id2, sizeof(id2)), STATUS_OK);
	CHECK_STR(id2, id1);
	u.cellphone = "5559990002";
	CHECK_INT(t_user_create(&call, &u, id3, sizeof(id3)), STATUS_OK);
	CHECK(strcmp(id3, id1) != 0);
	upstream_free(up);
}

static void
test_user_rejected(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;
	struct authy_user u = {"short@example.com", "12", "1", false};

	CHECK_INT(register_user(up, "fail60027@example.com", id, sizeof(id), &call),
	          STATUS_USER_REJECTED);
	CHECK_INT(call.http_status, 400);
	CHECK_STR(call.error_code, "60027");
	CHECK(call.err[0] != '\0');
	CHECK_INT(register_user(up, "FAIL60000x@example.com", id, sizeof(id), &call),
	          STATUS_USER_REJECTED);
	CHECK_STR(call.error_code, "60000");
	/* Digits, so it passes our checks, but Authy wants 4..14 of them. */
	call = new_call(up, 5000);
	CHECK_INT(t_user_create(&call, &u, id, sizeof(id)), STATUS_USER_REJECTED);
	CHECK_STR(call.error_code, "60027");
	upstream_free(up);
}

static void
test_rate_limited(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;

	CHECK_INT(register_user(up, "fail429@example.com", id, sizeof(id), &call),
	          STATUS_RATE_LIMITED);
	CHECK_INT(call.http_status, 429);
	CHECK_INT(call.retry_after_s, 1);
	CHECK_STR(call.error_code, "60003");
	/* The next reply without Retry-After reports 0 again. */
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(call.retry_after_s, 0);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"ratelimit\"}"));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_RATE_LIMITED);
	CHECK_INT(call.retry_after_s, 1);
	upstream_free(up);
}

static void
test_http_errors(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;

	CHECK_INT(register_user(up, "fail503@example.com", id, sizeof(id), &call),
	          STATUS_UPSTREAM_HTTP);
	CHECK_INT(call.http_status, 503);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"status\","
	             "\"status\":500}"));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_HTTP);
	CHECK_INT(call.http_status, 500);
	upstream_free(up);
}

/* The API key must not follow a redirect: a 3xx is an error reply, never followed. */
static void
test_redirect_not_followed(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;
	long before;

	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/protected/json/users/new\",\"mode\":\"redirect\","
	             "\"status\":307}"));
	before = ctl_stat("requests");
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call),
	          STATUS_UPSTREAM_HTTP);
	CHECK_INT(call.http_status, 307);
	CHECK_INT(ctl_stat("requests"), before + 1);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"redirect\"}"));
	before = ctl_stat("requests");
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_HTTP);
	CHECK_INT(call.http_status, 302);
	CHECK_INT(ctl_stat("requests"), before + 1);
	upstream_free(up);
}

static void
test_garbage(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;

	CHECK_INT(register_user(up, "failgarbage@example.com", id, sizeof(id), &call),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(call.http_status, 200);
	CHECK_STR(id, "");
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"garbage\"}"));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_PROTOCOL);
	upstream_free(up);
}

static void
test_wrong_api_key(void)
{
	struct upstream *up = handle(mock_url, mock_ca, "wrong-key-0123", 10000);
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;

	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call),
	          STATUS_UPSTREAM_AUTH);
	CHECK_INT(call.http_status, 401);
	CHECK_STR(call.error_code, "60001");
	CHECK(strstr(call.err, "wrong-key-0123") == NULL);
	upstream_free(up);
}

/* The code the mock's Authy app shows for id now, into code; 0 on success. */
static int
app_code(const char *id, char *code, size_t len)
{
	char path[96], *b;
	struct json *j = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "/_mock/users/%s/token", id);
	b = ctl_call("GET", path, NULL);
	if (b != NULL && json_parse(b, strlen(b), &j) == STATUS_OK &&
	    json_get_scalar(j, "token", code, len) == STATUS_OK)
		rc = 0;
	json_free(j);
	free(b);
	return rc;
}

/* Another code of the same length. */
static void
wrong_code(const char *code, char *out, size_t len)
{
	snprintf(out, len, "%s", code);
	out[0] = out[0] == '9' ? '0' : (char)(out[0] + 1);
}

static void
test_token_verify(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1], code[16] = "", wrong[16], path[96];
	struct tcall call;

	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK(app_code(id, code, sizeof(code)) == 0 && strlen(code) == 7);
	wrong_code(code, wrong, sizeof(wrong));
	/* No app registered yet: only force=true makes Authy check the code at all. */
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, id, wrong), STATUS_TOKEN_WRONG);
	CHECK_INT(call.http_status, 401);
	CHECK_STR(call.error_code, "60020");
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, id, code), STATUS_OK);
	snprintf(path, sizeof(path), "/_mock/users/%s/app", id);
	CHECK(ctl_ok("POST", path, NULL));
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, id, wrong), STATUS_TOKEN_WRONG);
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, "987654321", code), STATUS_USER_NOT_FOUND);
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, id, "12ab567"), STATUS_BAD_REQUEST);
	CHECK_INT(call.http_status, 0);
	CHECK(strstr(call.err, code) == NULL && strstr(call.err, wrong) == NULL);
	upstream_free(up);
	/* A 401 for the API key is not a wrong code. */
	up = handle(mock_url, mock_ca, "wrong-key-0123", 10000);
	call = new_call(up, 5000);
	CHECK_INT(t_token_verify(&call, id, code), STATUS_UPSTREAM_AUTH);
	CHECK_STR(call.error_code, "60001");
	upstream_free(up);
}

static void
test_approval_approved(void)
{
	static const struct api_kv details[] = {{"Email", "j***@example.com"},
	                                        {"Where", "Contoso B2C"}};
	static const struct api_kv hidden[] = {{"request_id", "rid-42"}};
	struct upstream *up = authy_handle();
	struct provider_approval a = {NULL, "Sign in to Contoso", details, 2, hidden, 1, 120};
	char id[AUTHY_ID_MAX + 1], uuid[AUTHY_UUID_MAX + 1], path[128];
	struct tcall call;
	long waited = 0;
	char *list;

	CHECK_INT(register_user(up, "autoapprove300+x@example.com", id, sizeof(id), &call),
	          STATUS_OK);
	a.authy_id = id;
	call = new_call(up, 5000);
	CHECK_INT(t_approval_create(&call, &a, uuid, sizeof(uuid)), STATUS_OK);
	CHECK_INT(strlen(uuid), 36);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, uuid), STATUS_PENDING);
	CHECK_INT(poll_final(up, uuid, 3000, &waited), STATUS_OK);
	CHECK(waited >= 150 && waited <= 300 + slack_ms);
	/* What reached Authy: message, details and hidden details. */
	snprintf(path, sizeof(path), "/_mock/approval_requests?authy_id=%s", id);
	list = ctl_call("GET", path, NULL);
	CHECK(list != NULL && strstr(list, "\"message\": \"Sign in to Contoso\"") != NULL);
	CHECK(list != NULL && strstr(list, "\"Email\": \"j***@example.com\"") != NULL);
	CHECK(list != NULL && strstr(list, "\"Where\": \"Contoso B2C\"") != NULL);
	CHECK(list != NULL && strstr(list, "\"request_id\": \"rid-42\"") != NULL);
	CHECK(list != NULL && strstr(list, "\"seconds_to_expire\": 120") != NULL);
	free(list);
	upstream_free(up);
}

static void
test_approval_long_message(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1], uuid[AUTHY_UUID_MAX + 1], path[128], msg[700];
	struct provider_approval a = {NULL, msg, NULL, 0, NULL, 0, 60};
	struct tcall call;
	struct buf want;
	char *list;

	/* 300 two-byte characters: Authy would refuse them; 100 must arrive. */
	for (int i = 0; i < 300; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);
	msg[600] = '\0';
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	a.authy_id = id;
	call = new_call(up, 5000);
	CHECK_INT(t_approval_create(&call, &a, uuid, sizeof(uuid)), STATUS_OK);
	snprintf(path, sizeof(path), "/_mock/approval_requests?authy_id=%s", id);
	list = ctl_call("GET", path, NULL);
	/* The mock's JSON escapes non-ASCII: exactly 100 of them, then the quote. */
	buf_init(&want, 4096);
	buf_append_str(&want, "\"message\": \"");
	for (int i = 0; i < 100; i++)
		buf_append_str(&want, "\\u00e9");
	buf_append_str(&want, "\"");
	CHECK(list != NULL && strstr(list, buf_cstr(&want)) != NULL);
	buf_free(&want);
	free(list);
	upstream_free(up);
}

static void
test_approval_denied_expired(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1], uuid[AUTHY_UUID_MAX + 1], path[160];
	struct tcall call;
	long waited = 0;

	CHECK_INT(register_user(up, "autodeny100@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_OK);
	CHECK_INT(poll_final(up, uuid, 3000, &waited), STATUS_DENIED);
	CHECK_INT(register_user(up, "autoexpire100@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_OK);
	CHECK_INT(poll_final(up, uuid, 3000, &waited), STATUS_EXPIRED);
	/* A pending request resolved from outside (the user tapped Deny). */
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_OK);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, uuid), STATUS_PENDING);
	snprintf(path, sizeof(path), "/_mock/approval_requests/%s/deny", uuid);
	CHECK(ctl_ok("POST", path, ""));
	CHECK_INT(t_approval_status(&call, uuid), STATUS_DENIED);
	upstream_free(up);
}

static void
test_not_found(void)
{
	struct upstream *up = authy_handle();
	char uuid[AUTHY_UUID_MAX + 1];
	struct provider_approval a = {"999999999", "Sign in", NULL, 0, NULL, 0, 60};
	struct tcall call = new_call(up, 5000);

	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(call.http_status, 404);
	CHECK_STR(call.error_code, "60049");
	call = new_call(up, 5000);
	CHECK_INT(t_approval_create(&call, &a, uuid, sizeof(uuid)), STATUS_USER_NOT_FOUND);
	CHECK_INT(call.http_status, 404);
	CHECK_STR(call.error_code, "60026");
	upstream_free(up);
}

static void
test_stall_timeout(void)
{
	struct upstream *up = authy_handle();
	struct upstream *quick = handle(mock_url, mock_ca, mock_key, 700);
	struct tcall call;
	long long t0;

	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"stall\","
	             "\"count\":2}"));
	/* The deadline bounds the call ... */
	call = new_call(up, 1200);
	t0 = util_now_ms();
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_TIMEOUT);
	CHECK(util_now_ms() - t0 >= 1100 && util_now_ms() - t0 <= 1200 + slack_ms);
	CHECK(call.elapsed_ms >= 1100 && call.elapsed_ms <= 1200 + slack_ms);
	/* ... and so does the per-call ceiling when it comes first. */
	call = new_call(quick, 10000);
	t0 = util_now_ms();
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_TIMEOUT);
	CHECK(util_now_ms() - t0 >= 650 && util_now_ms() - t0 <= 700 + slack_ms);
	/* The handle is usable again after the failed transfer. */
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	upstream_free(quick);
	upstream_free(up);
}

static void
test_drip_timeout(void)
{
	struct upstream *up = authy_handle();
	struct tcall call;

	/* A server that answers one byte every 20 ms must not stretch the deadline. */
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"drip\","
	             "\"delay_ms\":20}"));
	call = new_call(up, 600);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_TIMEOUT);
	CHECK(call.elapsed_ms >= 550 && call.elapsed_ms <= 600 + slack_ms);
	upstream_free(up);
}

static void
test_deadline_passed(void)
{
	struct upstream *up = authy_handle();
	struct tcall call = new_call(up, 0);
	long before = ctl_stat("requests");

	call.deadline_ms = util_now_ms() - 1;
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_TIMEOUT);
	CHECK_INT(call.http_status, 0);
	CHECK(before >= 0);
	CHECK_INT(ctl_stat("requests"), before);
	upstream_free(up);
}

static void
test_connect_failures(void)
{
	const char *urls[3] = {closed_url, wrongname_url, mock_url};
	const char *cas[3] = {mock_ca, mock_ca, NULL};

	for (int i = 0; i < 3; i++) {
		struct upstream *up;
		struct tcall call;

		if (urls[i] == NULL) {
			fprintf(stderr, "  connect case %d: no URL given\n", i);
			harness_case_failed = 1;
			continue;
		}
		/* 0: nothing listens; 1: certificate for another name; 2: CA not trusted. */
		up = handle(urls[i], cas[i], mock_key, 5000);
		call = new_call(up, 5000);
		CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_CONNECT);
		CHECK_INT(call.http_status, 0);
		CHECK(call.err[0] != '\0');
		CHECK(call.elapsed_ms < 2000);
		/* The pool goes on after the failure: the next call fails the same way. */
		call = new_call(up, 5000);
		CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_CONNECT);
		upstream_free(up);
	}
}

static void
test_oversize(void)
{
	struct upstream *up = authy_handle();
	struct upstream_call c = {.method = "GET",
	                          .path = "/onetouch/json/approval_requests/" NEVER_UUID};
	struct sync_req r;
	struct tcall call;
	char fault[160];

	snprintf(fault, sizeof(fault),
	         "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"oversize\","
	         "\"size\":%d}",
	         UPSTREAM_RESPONSE_MAX + 36000);
	CHECK(ctl_ok("POST", "/_mock/fault", fault));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_UPSTREAM_PROTOCOL);
	CHECK(strstr(call.err, "size limit") != NULL);
	/* Just under the cap is fine at the transport level. */
	snprintf(fault, sizeof(fault),
	         "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"oversize\","
	         "\"size\":%d}",
	         UPSTREAM_RESPONSE_MAX - 4000);
	CHECK(ctl_ok("POST", "/_mock/fault", fault));
	c.deadline_ms = util_now_ms() + 5000;
	CHECK_INT(request(up, &c, &r), STATUS_OK);
	CHECK_INT(r.http_status, 200);
	CHECK(r.body_len > UPSTREAM_RESPONSE_MAX - 4000 && r.body_len <= UPSTREAM_RESPONSE_MAX);
	CHECK(r.body != NULL && strlen(r.body) == r.body_len);
	free(r.body);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	upstream_free(up);
}

static void
test_keepalive(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1], uuid[AUTHY_UUID_MAX + 1];
	struct tcall call;

	/* The control connection is open already; reset zeroes the counters. */
	CHECK(ctl_ok("POST", "/_mock/reset", ""));
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_OK);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, uuid), STATUS_PENDING);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(ctl_stat("requests"), 5);
	CHECK_INT(ctl_stat("connections_opened"), 1);
	upstream_free(up);
}

static void
stop_loop(void *arg)
{
	(void)arg;
	loop_stop(lp);
}

/* CPU-ms the process spends while its loop runs idle for ms. */
static long
idle_cpu_ms(long ms)
{
	struct loop_timer *t = NULL;
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	if (loop_timer_new(lp, stop_loop, NULL, &t) != STATUS_OK)
		return -1;
	loop_timer_arm(t, util_now_ms() + ms);
	loop_run(lp);
	loop_timer_free(t);
	getrusage(RUSAGE_SELF, &b);
	return (b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec - a.ru_stime.tv_sec) *
	           1000 +
	       (b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec - a.ru_stime.tv_usec) /
	           1000;
}

/*
 * A kept connection stays in the loop's epoll set between calls. When the
 * server closes it while it is idle, the loop lets go of it without turning
 * busy, and the next call goes out on a new connection.
 */
static void
test_idle_close(void)
{
	struct upstream *up = authy_handle();
	struct tcall call;

	CHECK(ctl_ok("POST", "/_mock/reset", ""));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"hangup\"}"));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(ctl_stat("connections_opened"), 1);
	/* The close arrives within 50 ms; a loop woken by it over and over would
	 * spend the whole 400 ms on the CPU. */
	CHECK(idle_cpu_ms(400) < 200);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(ctl_stat("connections_opened"), 2);
	CHECK_INT(upstream_active(up), 0);
	upstream_free(up);
}

/*
 * The API by name: curl resolves it on a thread and closes that thread's
 * socket itself, and the connection's socket then mostly gets the same
 * number. The call and the next one on the kept connection go through.
 */
static void
test_resolved_name(void)
{
	struct upstream *up;
	struct tcall call;

	if (host_url == NULL || host_url[0] == '\0') {
		SKIP("no machine name that resolves to 127.0.0.1 alone");
		return;
	}
	up = handle(host_url, mock_ca, mock_key, 5000);
	CHECK(ctl_ok("POST", "/_mock/reset", ""));
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK_INT(ctl_stat("connections_opened"), 1);
	CHECK_INT(upstream_active(up), 0);
	upstream_free(up);
}

static void
test_retry_reused_get(void)
{
	struct upstream *up = authy_handle();
	struct upstream *fresh = authy_handle();
	char id[AUTHY_ID_MAX + 1];
	struct tcall call;

	/* A GET on a kept-alive connection that the server closes unanswered is
	 * sent again on a new connection. */
	call = new_call(up, 5000);
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/approval_requests/\",\"mode\":\"close\"}"));
	CHECK_INT(t_approval_status(&call, NEVER_UUID), STATUS_APPROVAL_NOT_FOUND);
	/* On a new connection an empty reply is a failure. */
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/protected/json/users/new\",\"mode\":\"close\"}"));
	CHECK_INT(register_user(fresh, "never@example.com", id, sizeof(id), &call),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(call.http_status, 0);
	upstream_free(fresh);
	upstream_free(up);
}

/*
 * A POST on a kept-alive connection that the server closes unanswered after
 * taking it is not sent again when it creates something (a second push); a
 * registration, which the API answers alike twice, is.
 */
static void
test_reused_post_not_resent(void)
{
	struct upstream *up = authy_handle();
	char id[AUTHY_ID_MAX + 1], uuid[AUTHY_UUID_MAX + 1];
	struct tcall call;
	long before;

	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/onetouch/json/users/\",\"mode\":\"close\"}"));
	before = ctl_stat("requests");
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(ctl_stat("requests") - before, 1);
	/* The next POST goes out on a new connection. */
	CHECK_INT(create_approval(up, id, uuid, sizeof(uuid)), STATUS_OK);
	CHECK(ctl_ok("POST", "/_mock/fault",
	             "{\"match\":\"/protected/json/users/new\",\"mode\":\"close\"}"));
	before = ctl_stat("requests");
	CHECK_INT(register_user(up, "never@example.com", id, sizeof(id), &call), STATUS_OK);
	CHECK_INT(ctl_stat("requests") - before, 2);
	upstream_free(up);
}

static void
test_key_never_logged(void)
{
	char *log = ctl_call("GET", "/_mock/requests", NULL);

	CHECK(log != NULL && strstr(log, "\"api_key_ok\": true") != NULL);
	CHECK(log != NULL && strstr(log, "/protected/json/users/new") != NULL);
	CHECK(log != NULL && strstr(log, mock_key) == NULL);
	free(log);
}

/* Transfers started together on one loop, counted as they end. */
struct batch {
	int left;
	int ok;
	int fails;
};

static void
batch_done(void *arg, enum status rc, const struct upstream_response *r)
{
	struct batch *b = arg;

	if (rc == STATUS_OK && r->http_status == 200)
		b->ok++;
	else
		b->fails++;
	if (--b->left == 0)
		loop_stop(lp);
}

/* Start n registrations of email (fresh phone numbers) on up. */
static void
start_registrations(struct upstream *up, const char *email, int n, struct batch *b)
{
	for (int i = 0; i < n; i++) {
		char form[160];
		struct upstream_call c = {.method = "POST",
		                          .path = AUTHY_PATH_USERS_NEW,
		                          .form = form,
		                          .deadline_ms = util_now_ms() + 10000};

		snprintf(form, sizeof(form),
		         "user%%5Bemail%%5D=%s&user%%5Bcellphone%%5D=55502%05u"
		         "&user%%5Bcountry_code%%5D=1",
		         email, ++phone_seq);
		CHECK_INT(upstream_start(up, &c, batch_done, b, NULL), STATUS_OK);
		b->left++;
	}
}

static struct upstream *
pool(long max_connections)
{
	struct upstream_opts o = {.base_url = mock_url,
	                          .key_header = AUTHY_HEADER_API_KEY,
	                          .api_key = mock_key,
	                          .ca_file = mock_ca,
	                          .connect_timeout_ms = 2000,
	                          .request_timeout_ms = 10000,
	                          .max_connections = max_connections};
	struct upstream *up = NULL;

	CHECK_INT(upstream_new(&o, lp, &up), STATUS_OK);
	return up;
}

/* Slow replies (3 s each) on four connections overlap on one loop thread. */
static void
test_concurrent_on_one_loop(void)
{
	struct upstream *up = pool(4);
	struct batch b = {0};
	long long t0 = util_now_ms();

	start_registrations(up, "failslow@example.com", 4, &b);
	CHECK_INT(upstream_active(up), 4);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.ok, 4);
	CHECK_INT(b.fails, 0);
	/* One after the other they would take 12 s. */
	CHECK(util_now_ms() - t0 < 6000 + slack_ms);
	CHECK_INT(upstream_active(up), 0);
	upstream_free(up);
}

/* More transfers than connections queue; the pool never grows past its bound. */
static void
test_bounded_connections(void)
{
	struct upstream *up = pool(2);
	struct batch b = {0};

	CHECK(ctl_ok("POST", "/_mock/reset", ""));
	start_registrations(up, "never@example.com", 10, &b);
	CHECK_INT(upstream_active(up), 2);
	CHECK_INT(upstream_queued(up), 8);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.ok, 10);
	CHECK_INT(b.fails, 0);
	CHECK_INT(upstream_active(up), 0);
	CHECK_INT(upstream_queued(up), 0);
	CHECK(ctl_stat("connections_opened") >= 1);
	CHECK(ctl_stat("connections_opened") <= 2);
	upstream_free(up);
}

static void
never_called(void *arg, enum status rc, const struct upstream_response *r)
{
	int *calls = arg;

	(void)rc;
	(void)r;
	(*calls)++;
}

/* The form of a registration the mock answers slowly; phone tells calls apart. */
#define SLOW_FORM(phone)                                                                           \
	"user%5Bemail%5D=failslow%40example.com&user%5Bcellphone%5D=" phone                        \
	"&user%5Bcountry_code%5D=1"

static struct upstream_call
slow_registration(const char *form)
{
	return (struct upstream_call){.method = "POST",
	                              .path = AUTHY_PATH_USERS_NEW,
	                              .form = form,
	                              .deadline_ms = util_now_ms() + 10000};
}

/*
 * Transfers waiting for a connection can be cancelled; the others behind them
 * still start and complete.
 */
static void
test_cancel_queued(void)
{
	struct upstream *up = pool(1);
	struct upstream_call slow = slow_registration(SLOW_FORM("5550300002"));
	struct upstream_xfer *q1 = NULL, *q2 = NULL;
	struct batch b = {0};
	int calls = 0;

	start_registrations(up, "failslow@example.com", 1, &b);
	CHECK_INT(upstream_start(up, &slow, never_called, &calls, &q1), STATUS_OK);
	start_registrations(up, "never@example.com", 2, &b);
	CHECK_INT(upstream_start(up, &slow, never_called, &calls, &q2), STATUS_OK);
	CHECK_INT(upstream_active(up), 1);
	upstream_cancel(q1);
	upstream_cancel(q2);
	CHECK_INT(upstream_active(up), 1);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.ok, 3);
	CHECK_INT(b.fails, 0);
	CHECK_INT(calls, 0);
	CHECK_INT(upstream_active(up), 0);
	upstream_free(up);
}

static void
timeout_done(void *arg, enum status rc, const struct upstream_response *r)
{
	struct batch *b = arg;

	if (rc == STATUS_UPSTREAM_TIMEOUT && r->http_status == 0 && r->err[0] != '\0')
		b->fails++;
	else
		b->ok++;
	if (--b->left == 0)
		loop_stop(lp);
}

/*
 * A call whose deadline nears while it waits for a connection times out then,
 * UPSTREAM_START_MIN_MS before it.
 */
static void
test_queued_deadline(void)
{
	struct upstream *up = pool(1);
	struct upstream_call quick = {.method = "GET",
	                              .path = "/protected/json/users/1/status",
	                              .deadline_ms = util_now_ms() + 500};
	struct batch slow = {0}, late = {0};
	long long t0 = util_now_ms();

	start_registrations(up, "failslow@example.com", 1, &slow);
	CHECK_INT(upstream_start(up, &quick, timeout_done, &late, NULL), STATUS_OK);
	late.left = 1;
	while (late.left > 0)
		loop_run(lp);
	CHECK_INT(late.fails, 1);
	CHECK(util_now_ms() - t0 >= 500 - UPSTREAM_START_MIN_MS);
	CHECK(util_now_ms() - t0 < 1000 + slack_ms);
	CHECK_INT(upstream_active(up), 1);
	while (slow.left > 0)
		loop_run(lp);
	CHECK_INT(slow.ok, 1);
	upstream_free(up);
}

/* True when the mock's request log holds a request whose path contains part. */
static bool
mock_saw(const char *part)
{
	char *log = ctl_call("GET", "/_mock/requests", NULL);
	bool saw = log == NULL || strstr(log, part) != NULL;

	free(log);
	return saw;
}

/*
 * A queued call that a freed connection finds with UPSTREAM_START_MIN_MS left
 * or less times out at once instead of starting a call that cannot end in
 * time: it never reaches the API.
 */
static void
test_queued_no_time_left(void)
{
	struct upstream *up = pool(1);
	struct upstream_call slow = slow_registration(SLOW_FORM("5550300003"));
	struct upstream_call late = {.method = "GET",
	                             .path = "/protected/json/users/4242000424/status"};
	struct upstream_xfer *busy = NULL;
	struct batch b = {0};
	int calls = 0;

	CHECK_INT(upstream_start(up, &slow, never_called, &calls, &busy), STATUS_OK);
	late.deadline_ms = util_now_ms() + UPSTREAM_START_MIN_MS - 1;
	CHECK_INT(upstream_start(up, &late, timeout_done, &b, NULL), STATUS_OK);
	b.left = 1;
	/* The connection frees up while the call is queued with too little time left. */
	upstream_cancel(busy);
	CHECK_INT(upstream_active(up), 0);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.fails, 1);
	CHECK_INT(b.ok, 0);
	CHECK_INT(calls, 0);
	CHECK(!mock_saw("4242000424"));
	upstream_free(up);
}

/*
 * A call that could start at once on a free connection but has
 * UPSTREAM_START_MIN_MS left or less never contacts the API either: its
 * callback gets the queued call's timeout, later on the loop, and the pool
 * goes on serving the calls after it.
 */
static void
test_direct_no_time_left(void)
{
	struct upstream *up = pool(1);
	struct upstream_call late = {.method = "GET",
	                             .path = "/protected/json/users/4242000425/status"};
	struct upstream_call next = {.method = "GET",
	                             .path = "/protected/json/users/4242000426/status"};
	struct upstream_xfer *x = NULL;
	struct batch b = {0};
	struct sync_req sr;
	long requests = ctl_stat("requests"), opened = ctl_stat("connections_opened");

	CHECK(requests >= 0 && opened >= 0);
	late.deadline_ms = util_now_ms() + UPSTREAM_START_MIN_MS;
	CHECK_INT(upstream_start(up, &late, timeout_done, &b, &x), STATUS_OK);
	CHECK(x != NULL);
	b.left = 1;
	/* Not from inside upstream_start, and not on a connection. */
	CHECK_INT(b.fails + b.ok, 0);
	CHECK_INT(upstream_active(up), 0);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.fails, 1);
	CHECK_INT(b.ok, 0);
	CHECK_INT(ctl_stat("requests"), requests);
	CHECK_INT(ctl_stat("connections_opened"), opened);
	CHECK(!mock_saw("4242000425"));
	/* A call with time enough starts on the same pool and reaches the API. */
	next.deadline_ms = util_now_ms() + 5000;
	CHECK_INT(request(up, &next, &sr), STATUS_OK);
	CHECK(sr.http_status >= 200);
	free(sr.body);
	CHECK(mock_saw("4242000426"));
	upstream_free(up);
}

/* A cancelled transfer gives no callback; the pool goes on serving the others. */
static void
test_cancel(void)
{
	struct upstream *up = pool(2);
	struct upstream_call slow = slow_registration(SLOW_FORM("5550300001"));
	struct upstream_xfer *x = NULL, *y = NULL;
	struct batch b = {0};
	int calls = 0;

	CHECK_INT(upstream_start(up, &slow, never_called, &calls, &x), STATUS_OK);
	CHECK_INT(upstream_start(up, &slow, never_called, &calls, &y), STATUS_OK);
	CHECK(x != NULL && y != NULL);
	start_registrations(up, "never@example.com", 1, &b);
	upstream_cancel(x);
	CHECK_INT(upstream_active(up), 2);
	while (b.left > 0)
		loop_run(lp);
	CHECK_INT(b.ok, 1);
	CHECK_INT(calls, 0);
	/* Freeing the pool with a transfer in flight gives no callback either. */
	upstream_free(up);
	CHECK_INT(calls, 0);
}

static void
test_new_rejects(void)
{
	struct upstream_opts o = {.base_url = "http://localhost:1",
	                          .connect_timeout_ms = 1000,
	                          .request_timeout_ms = 1000};
	struct upstream *up = NULL;

	CHECK_INT(upstream_new(&o, lp, &up), STATUS_CONFIG);
	CHECK(up == NULL);
	o.base_url = "ftp://localhost";
	CHECK_INT(upstream_new(&o, lp, &up), STATUS_CONFIG);
	o.base_url = "https://localhost";
	o.key_header = AUTHY_HEADER_API_KEY;
	o.api_key = "abc\r\nX-Evil: 1";
	CHECK_INT(upstream_new(&o, lp, &up), STATUS_CONFIG);
	o.api_key = "abc";
	o.request_timeout_ms = 0;
	CHECK_INT(upstream_new(&o, lp, &up), STATUS_CONFIG);
	o.request_timeout_ms = 1000;
	CHECK_INT(upstream_new(&o, lp, &up), STATUS_OK);
	upstream_free(up);
	o.base_url = "http://localhost:1";
	o.allow_http = true;
	CHECK_INT(upstream_new(&o, lp, &up), STATUS_OK);
	upstream_free(up);
}

static int
read_env(void)
{
	const char *s = getenv("B2C_TIMING_SLACK_MS");
	long v;

	mock_url = getenv("B2C_MOCK_URL");
	mock_ca = getenv("B2C_MOCK_CA");
	mock_key = getenv("B2C_MOCK_API_KEY");
	wrongname_url = getenv("B2C_MOCK_WRONGNAME_URL");
	closed_url = getenv("B2C_CLOSED_URL");
	host_url = getenv("B2C_MOCK_HOST_URL");
	if (s != NULL && util_parse_long(s, 0, 60000, &v) == STATUS_OK)
		slack_ms = v;
	return mock_url != NULL && mock_ca != NULL && mock_key != NULL && mock_key[0] != '\0';
}

int
main(void)
{
	if (!read_env()) {
		fprintf(stderr, "usage: B2C_MOCK_URL=https://localhost:PORT B2C_MOCK_CA=ca.pem "
		                "B2C_MOCK_API_KEY=key [B2C_MOCK_WRONGNAME_URL=...] "
		                "[B2C_CLOSED_URL=...] test_upstream_authy\n"
		                "(tests/suites/component.sh sets these up)\n");
		return 2;
	}
	if (getenv("B2C_TEST_DEBUG") != NULL)
		log_init("test_upstream_authy", LOG_LVL_DEBUG, false);
	if (upstream_global_init() != STATUS_OK) {
		fprintf(stderr, "upstream_global_init failed\n");
		return 2;
	}
	if (loop_new(&lp) != STATUS_OK) {
		fprintf(stderr, "loop_new failed\n");
		return 2;
	}
	ctl = handle(mock_url, mock_ca, NULL, CTL_TIMEOUT_MS);
	if (!ctl_ok("POST", "/_mock/reset", "")) {
		fprintf(stderr, "mock not reachable at %s\n", mock_url);
		return 2;
	}
	RUN(test_new_rejects);
	RUN(test_user_create_dedupe);
	RUN(test_user_rejected);
	RUN(test_rate_limited);
	RUN(test_http_errors);
	RUN(test_garbage);
	RUN(test_redirect_not_followed);
	RUN(test_wrong_api_key);
	RUN(test_approval_approved);
	RUN(test_approval_long_message);
	RUN(test_approval_denied_expired);
	RUN(test_not_found);
	RUN(test_stall_timeout);
	RUN(test_drip_timeout);
	RUN(test_deadline_passed);
	RUN(test_connect_failures);
	RUN(test_oversize);
	RUN(test_token_verify);
	RUN(test_keepalive);
	RUN(test_idle_close);
	RUN(test_resolved_name);
	RUN(test_retry_reused_get);
	RUN(test_reused_post_not_resent);
	RUN(test_concurrent_on_one_loop);
	RUN(test_bounded_connections);
	RUN(test_cancel);
	RUN(test_cancel_queued);
	RUN(test_queued_deadline);
	RUN(test_queued_no_time_left);
	RUN(test_direct_no_time_left);
	RUN(test_key_never_logged);
	upstream_free(ctl);
	loop_free(lp);
	upstream_global_cleanup();
	HARNESS_END();
}
