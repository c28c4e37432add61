/*
 * handler_wait.c - POST /api/identity/waitforauthyapproval: create a push
 * approval (an Authy OneTouch request or a Verify challenge; or re-attach to
 * the pending one when B2C retries) and wait for its outcome within the wait
 * budget, below B2C's 30 s timeout.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "ratelimit.h"
#include "tracker.h"
#include "util.h"

#define DETAIL_SIGNIN "Sign-in name"
#define DETAIL_APP "Application"
#define DETAIL_IP "IP address"
#define HIDDEN_REQUEST_ID "request_id"
#define HIDDEN_CORRELATION_ID "correlation_id"
#define KEY_SEP "\x1f"
#define N_OWN_DETAILS 3 /* sign-in name, application, IP address */

struct approval_job {
	struct authy_call call;
	const struct config *cfg;
	const struct authy_approval *a;
	char *uuid;
	size_t uuidlen;
};

/* For log lines: the correlation id (safe characters only), or "-". */
static const char *
cid(const struct b2c_claims *c)
{
	return c->correlation_id[0] != '\0' ? c->correlation_id : "-";
}

/* Runs on an executor thread. */
static enum status
run_create_approval(void *arg, struct upstream *up)
{
	struct approval_job *j = arg;

	j->call.up = up;
	return provider_approval_create(j->cfg, &j->call, j->a, j->uuid, j->uuidlen);
}

/*
 * What the user sees in the push: who signs in (the sign-in name, else the
 * email), the application when configured, the caller's IP address when B2C
 * sent a valid one, then the configured details. Returns the count.
 */
static int
push_details(const struct config *cfg, const struct b2c_claims *c, struct authy_kv *details)
{
	int n = 0;

	if (c->sign_in_name[0] != '\0' || c->email[0] != '\0')
		details[n++] = (struct authy_kv){DETAIL_SIGNIN,
		                                 c->sign_in_name[0] ? c->sign_in_name : c->email};
	if (cfg->approval_app_name != NULL && cfg->approval_app_name[0] != '\0')
		details[n++] = (struct authy_kv){DETAIL_APP, cfg->approval_app_name};
	if (c->ip_address[0] != '\0')
		details[n++] = (struct authy_kv){DETAIL_IP, c->ip_address};
	for (int i = 0; i < cfg->n_details; i++)
		details[n++] = (struct authy_kv){cfg->details[i].key, cfg->details[i].value};
	return n;
}

static enum status
create_approval(struct req_ctx *ctx, const struct b2c_claims *c, char *uuid, size_t uuidlen)
{
	const struct config *cfg = ctx->cfg;
	struct authy_kv details[CONFIG_MAX_DETAILS + N_OWN_DETAILS];
	struct authy_kv hidden[] = {{HIDDEN_REQUEST_ID, ctx->id},
	                            {HIDDEN_CORRELATION_ID, c->correlation_id}};
	struct authy_approval a = {.authy_id = c->authy_id,
	                           .message = cfg->approval_message,
	                           .details = details,
	                           .hidden = hidden,
	                           .n_hidden = c->correlation_id[0] != '\0' ? 2 : 1,
	                           .seconds_to_expire = cfg->approval_ttl_s};
	struct approval_job j = {.cfg = cfg, .a = &a, .uuid = uuid, .uuidlen = uuidlen};

	a.n_details = push_details(cfg, c, details);
	return handler_call(ctx, &j.call, run_create_approval, &j,
	                    config_is_verify(cfg) ? "verify challenges"
	                                          : "authy approval_requests");
}

/*
 * Count a new push for the user against max_pushes_per_user. STATUS_OK, or
 * STATUS_PUSH_LIMITED (logged and counted), or STATUS_UNAVAILABLE when the
 * limiter is full (fail closed).
 */
static enum status
push_limit_hit(struct req_ctx *ctx, const struct b2c_claims *c)
{
	long retry_after_s = 0;
	enum status rc = ratelimit_hit(ctx->push_limit, c->authy_id, &retry_after_s);

	if (rc == STATUS_RATE_LIMITED) {
		metrics_push_limited();
		log_warnx(
		    "push limit: authy_id=%s correlation_id=%s had %ld pushes in %ld s, next in "
		    "%ld s",
		    c->authy_id, cid(c), ctx->cfg->max_pushes_per_user, ctx->cfg->push_window_s,
		    retry_after_s);
		ctx_seterr(ctx, "more than max_pushes_per_user pushes in push_window_s");
		return STATUS_PUSH_LIMITED;
	}
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "push limiter: %s", status_str(rc));
		return STATUS_UNAVAILABLE;
	}
	return STATUS_OK;
}

/*
 * The re-attach key: the same user in the same B2C transaction. Without a
 * correlation id (require_correlation_id = false) sign-ins of one user share it.
 */
static void
attach_key(const struct b2c_claims *c, char *key, size_t keylen)
{
	snprintf(key, keylen, "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s", c->authy_id,
	         c->sign_in_name, c->email, c->correlation_id);
}

/* Send the push of a new entry; a failure fails every waiter of the entry. */
static enum status
publish_new(struct req_ctx *ctx, const struct b2c_claims *c, struct tracker_entry *e)
{
	char uuid[PROVIDER_HANDLE_MAX + 1];
	enum status rc = push_limit_hit(ctx, c);

	if (rc == STATUS_OK) {
		rc = create_approval(ctx, c, uuid, sizeof(uuid));
		/* No push went out: it does not count against the user. */
		if (rc == STATUS_NO_FACTOR || rc == STATUS_USER_NOT_FOUND)
			ratelimit_undo(ctx->push_limit, c->authy_id);
	}
	if (rc != STATUS_OK) {
		tracker_fail(ctx->tracker, e, rc);
		return rc;
	}
	tracker_publish(ctx->tracker, e, uuid, util_now_ms() + ctx->cfg->approval_ttl_s * 1000);
	log_info("approval requested authy_id=%s correlation_id=%s ip=%s uuid=%s", c->authy_id,
	         cid(c), c->ip_address[0] ? c->ip_address : "-", uuid);
	return STATUS_OK;
}

/* Create the approval for a new entry, or join the one a previous try made. */
static enum status
attach(struct req_ctx *ctx, const struct b2c_claims *c, struct tracker_entry **e)
{
	char key[sizeof(c->authy_id) + sizeof(c->sign_in_name) + sizeof(c->email) +
	         sizeof(c->correlation_id) + 3];
	bool created = false;
	enum status rc;

	attach_key(c, key, sizeof(key));
	rc = tracker_attach(ctx->tracker, key, e, &created);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "approval tracker full or stopping");
		return rc;
	}
	if (!created) {
		log_info("re-attached to the pending approval of authy_id=%s correlation_id=%s",
		         c->authy_id, cid(c));
		return STATUS_OK;
	}
	return publish_new(ctx, c, *e);
}

/*
 * The claims of a wait that may send a push: an enrolled user bound to its
 * B2C transaction. An ipAddress that is no IP literal is dropped (logged).
 */
static enum status
wait_claims(struct req_ctx *ctx, struct b2c_claims *c)
{
	enum status rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, c);

	if (rc == STATUS_OK)
		rc = b2c_validate_wait(c);
	if (rc != STATUS_OK)
		return rc;
	if (c->ip_rc != STATUS_OK)
		log_warnx("ipAddress of authy_id=%s is not an IP address: left out of the push",
		          c->authy_id);
	rc = b2c_validate_binding(c, ctx->cfg->require_correlation_id);
	if (rc != STATUS_OK) {
		log_warnx("wait refused: authy_id=%s without a valid correlationId (%s)",
		          c->authy_id, c->correlation_rc != STATUS_OK ? "invalid" : "absent");
		ctx_seterr(ctx, "no valid correlationId: no push sent");
	}
	return rc;
}

/*
 * The 200 replies: approved, or with provider = verify a user who has not set
 * up push yet (the policy shows the set-up page on factorStatus "none").
 */
static enum status
wait_reply(struct req_ctx *ctx, enum status rc, struct response *res)
{
	if (rc == STATUS_OK)
		return b2c_reply_approved(res);
	if (rc == STATUS_NO_FACTOR && config_is_verify(ctx->cfg))
		return b2c_reply_factor_status(res, B2C_FACTOR_NONE);
	return rc;
}

enum status
handler_wait(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	struct tracker_entry *e = NULL;
	enum status rc;

	rc = wait_claims(ctx, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = attach(ctx, &c, &e);
	if (rc == STATUS_OK)
		rc = tracker_wait(ctx->tracker, e, ctx->deadline_ms, ctx->req->client_gone,
		                  ctx->req->client_arg);
	log_info("approval outcome authy_id=%s correlation_id=%s outcome=%s after_ms=%lld",
	         c.authy_id, cid(&c), rc == STATUS_OK ? "approved" : status_str(rc),
	         util_now_ms() - ctx->start_ms);
	rc = wait_reply(ctx, rc, res);
out:
	if (e != NULL)
		tracker_release(ctx->tracker, e);
	return rc;
}

enum status
handler_wait_poll(void *arg, struct upstream *up, const char *uuid, long long deadline_ms,
                  long *retry_after_s)
{
	struct authy_call call = {.up = up, .deadline_ms = deadline_ms};
	const struct config *cfg = arg;
	enum status rc;

	/* arg is the configuration (NULL: the Authy API). */
	rc = provider_approval_status(cfg, &call, uuid);
	*retry_after_s = call.retry_after_s;
	metrics_upstream(call.elapsed_ms, status_is_answer(rc) ? STATUS_OK : rc);
	if (!status_is_answer(rc))
		log_warnx("poll uuid=%s: %s http=%ld %s", uuid, status_str(rc), call.http_status,
		          call.err);
	return rc;
}
