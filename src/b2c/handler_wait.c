/*
 * handler_wait.c - POST /api/identity/waitforauthyapproval: create a push
 * approval (an Authy OneTouch request or a Verify challenge; or re-attach to
 * the pending one when B2C retries) and wait for its outcome within the wait
 * budget, below B2C's 30 s timeout.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include "b2c.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "tracker.h"
#include "util.h"

#define DETAIL_SIGNIN "Sign-in name"
#define HIDDEN_REQUEST_ID "request_id"
#define KEY_SEP "\x1f"

static enum status
create_approval(struct req_ctx *ctx, const struct b2c_claims *c, char *uuid, size_t uuidlen)
{
	struct provider_job job;
	const struct config *cfg = ctx->cfg;
	struct api_kv details[CONFIG_MAX_DETAILS + 1];
	struct api_kv hidden[] = {{HIDDEN_REQUEST_ID, ctx->id}};
	struct provider_approval a = {.authy_id = c->authy_id,
	                              .message = cfg->approval_message,
	                              .details = details,
	                              .hidden = hidden,
	                              .n_hidden = 1,
	                              .seconds_to_expire = cfg->approval_ttl_s};
	int n = 0;
	enum status rc;

	/* The user sees who is signing in: the sign-in name, else the email. */
	if (c->sign_in_name[0] != '\0' || c->email[0] != '\0')
		details[n++] =
		    (struct api_kv){DETAIL_SIGNIN, c->sign_in_name[0] ? c->sign_in_name : c->email};
	for (int i = 0; i < cfg->n_details; i++)
		details[n++] = (struct api_kv){cfg->details[i].key, cfg->details[i].value};
	a.n_details = n;
	provider_job_init(&job, ctx->provider);
	job.approval = &a;
	rc = handler_provider(ctx, ctx->provider->ops->approval_create, &job);
	if (rc == STATUS_OK)
		util_strlcpy(uuid, job.handle, uuidlen);
	return rc;
}

/* Create the approval for a new entry, or join the one a previous try made. */
static enum status
attach(struct req_ctx *ctx, const struct b2c_claims *c, struct tracker_entry **e)
{
	char key[sizeof(c->authy_id) + sizeof(c->sign_in_name) + sizeof(c->email) + 2];
	char uuid[PROVIDER_HANDLE_MAX + 1];
	bool created = false;
	enum status rc;

	snprintf(key, sizeof(key), "%s" KEY_SEP "%s" KEY_SEP "%s", c->authy_id, c->sign_in_name,
	         c->email);
	rc = tracker_attach(ctx->tracker, key, e, &created);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "approval tracker full or stopping");
		return rc;
	}
	if (!created) {
		log_info("re-attached to the pending approval of authy_id=%s", c->authy_id);
		return STATUS_OK;
	}
	rc = create_approval(ctx, c, uuid, sizeof(uuid));
	if (rc != STATUS_OK) {
		tracker_fail(ctx->tracker, *e, rc);
		return rc;
	}
	tracker_publish(ctx->tracker, *e, uuid, util_now_ms() + ctx->cfg->approval_ttl_s * 1000);
	log_info("approval requested authy_id=%s uuid=%s", c->authy_id, uuid);
	return STATUS_OK;
}

enum status
handler_wait(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	struct tracker_entry *e = NULL;
	enum status rc;

	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = b2c_validate_wait(&c);
	if (rc != STATUS_OK)
		goto out;
	rc = attach(ctx, &c, &e);
	if (rc != STATUS_OK)
		goto out;
	rc = tracker_wait(ctx->tracker, e, ctx->deadline_ms, ctx->req->client_gone,
	                  ctx->req->client_arg);
	log_info("approval outcome authy_id=%s outcome=%s after_ms=%lld", c.authy_id,
	         rc == STATUS_OK ? "approved" : status_str(rc), util_now_ms() - ctx->start_ms);
	if (rc == STATUS_OK)
		rc = b2c_reply_ok(res);
out:
	if (e != NULL)
		tracker_release(ctx->tracker, e);
	return rc;
}

enum status
handler_wait_poll(void *arg, struct upstream *up, struct loop *loop, const char *uuid,
                  long long deadline_ms, long *retry_after_s)
{
	const struct provider *p = arg;
	struct provider_job job;
	enum status rc;

	provider_job_init(&job, p);
	util_strlcpy(job.handle, uuid, sizeof(job.handle));
	rc = provider_run(p->ops->approval_status, &job, up, loop, deadline_ms);
	*retry_after_s = job.call.retry_after_s;
	metrics_upstream(job.call.elapsed_ms, status_is_answer(rc) ? STATUS_OK : rc);
	if (!status_is_answer(rc))
		log_warnx("poll uuid=%s: %s http=%ld %s", uuid, status_str(rc),
		          job.call.http_status, job.call.err);
	return rc;
}
