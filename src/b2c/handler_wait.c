/*
 * handler_wait.c - POST /api/identity/waitforauthyapproval: create a push
 * approval (an Authy OneTouch request or a Verify challenge; or re-attach to
 * the pending one when B2C retries) and wait for its outcome within the wait
 * budget, below B2C's 30 s timeout. Everything runs on the loop: the
 * creation is a provider operation, the wait a tracker waiter plus one loop
 * timer for the budget; a client that leaves cancels both.
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2c.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "provider.h"
#include "util.h"

#define DETAIL_SIGNIN "Sign-in name"
#define HIDDEN_REQUEST_ID "request_id"
#define KEY_SEP "\x1f"

/* One wait in progress. */
struct wait_state {
	struct req_ctx *ctx;
	struct response *res;
	struct b2c_claims c;
	struct tracker_entry *e;
	struct tracker_waiter *w;
	struct loop_timer *budget;
	struct provider_call *pc; /* creating the approval */
	struct provider_job *job; /* its job, while creating */
	bool waited;              /* the outcome came from a wait: log it */
};

/* The creation of one approval: the job and what it points to. */
struct create_job {
	struct provider_job job;
	struct provider_approval a;
	struct api_kv details[CONFIG_MAX_DETAILS + 1];
	struct api_kv hidden[1];
};

/* The reply for outcome rc; st is freed. Returns the request's status. */
static enum status
finish(struct wait_state *st, enum status rc)
{
	struct req_ctx *ctx = st->ctx;

	if (st->waited)
		log_info("approval outcome authy_id=%s outcome=%s after_ms=%lld", st->c.authy_id,
		         rc == STATUS_OK ? "approved" : status_str(rc),
		         util_now_ms() - ctx->start_ms);
	if (rc == STATUS_OK)
		rc = b2c_reply_ok(st->res);
	loop_timer_free(st->budget);
	if (st->e != NULL)
		tracker_release(ctx->tracker, st->e);
	free(st->job);
	ctx->on_abort = NULL;
	ctx->handler_state = NULL;
	free(st);
	return rc;
}

static void
complete(struct wait_state *st, enum status rc)
{
	struct req_ctx *ctx = st->ctx;

	req_ctx_done(ctx, finish(st, rc));
}

static void
on_outcome(void *arg, enum status rc)
{
	struct wait_state *st = arg;

	st->w = NULL;
	log_set_request_id(st->ctx->id);
	complete(st, rc);
	log_set_request_id(NULL);
}

static void
on_budget(void *arg)
{
	struct wait_state *st = arg;
	enum status rc = tracker_unwait(st->ctx->tracker, st->w);

	st->w = NULL;
	log_set_request_id(st->ctx->id);
	complete(st, rc);
	log_set_request_id(NULL);
}

static void
on_abort(struct req_ctx *ctx)
{
	struct wait_state *st = ctx->handler_state;

	if (st->pc != NULL) {
		provider_cancel(st->pc);
		st->pc = NULL;
		tracker_fail(ctx->tracker, st->e, STATUS_ABORTED);
	}
	if (st->w != NULL)
		tracker_unwait(ctx->tracker, st->w);
	st->w = NULL;
	complete(st, STATUS_ABORTED);
}

/*
 * Wait for the entry's outcome: STATUS_PENDING while waiting (the budget
 * timer armed), else the outcome known at once.
 */
static enum status
wait_outcome(struct wait_state *st)
{
	struct req_ctx *ctx = st->ctx;
	enum status rc;

	if (util_now_ms() >= ctx->deadline_ms)
		return STATUS_TIMEOUT;
	st->waited = true;
	rc = tracker_wait(ctx->tracker, st->e, on_outcome, st, &st->w);
	if (rc == STATUS_PENDING)
		loop_timer_arm(st->budget, ctx->deadline_ms);
	return rc;
}

static void
on_created(void *arg, enum status rc, struct provider_job *job)
{
	struct wait_state *st = arg;
	struct req_ctx *ctx = st->ctx;

	st->pc = NULL;
	log_set_request_id(ctx->id);
	rc = handler_account(ctx, ctx->provider->ops->approval_create, job, rc);
	if (rc != STATUS_OK) {
		tracker_fail(ctx->tracker, st->e, rc);
	} else {
		tracker_publish(ctx->tracker, st->e, job->handle,
		                util_now_ms() + ctx->cfg->approval_ttl_s * 1000);
		log_info("approval requested authy_id=%s uuid=%s", st->c.authy_id, job->handle);
		rc = wait_outcome(st);
	}
	free(st->job);
	st->job = NULL;
	if (rc != STATUS_PENDING)
		complete(st, rc);
	log_set_request_id(NULL);
}

/* Start creating the approval for a new entry. */
static enum status
create_approval(struct wait_state *st)
{
	struct req_ctx *ctx = st->ctx;
	const struct config *cfg = ctx->cfg;
	const struct b2c_claims *c = &st->c;
	struct create_job *cj = calloc(1, sizeof(*cj));
	int n = 0;
	enum status rc;

	if (cj == NULL)
		return STATUS_NOMEM;
	/* The user sees who is signing in: the sign-in name, else the email. */
	if (c->sign_in_name[0] != '\0' || c->email[0] != '\0')
		cj->details[n++] =
		    (struct api_kv){DETAIL_SIGNIN, c->sign_in_name[0] ? c->sign_in_name : c->email};
	for (int i = 0; i < cfg->n_details; i++)
		cj->details[n++] = (struct api_kv){cfg->details[i].key, cfg->details[i].value};
	cj->hidden[0] = (struct api_kv){HIDDEN_REQUEST_ID, ctx->id};
	cj->a = (struct provider_approval){.authy_id = c->authy_id,
	                                   .message = cfg->approval_message,
	                                   .details = cj->details,
	                                   .n_details = n,
	                                   .hidden = cj->hidden,
	                                   .n_hidden = 1,
	                                   .seconds_to_expire = cfg->approval_ttl_s};
	provider_job_init(&cj->job, ctx->provider);
	cj->job.approval = &cj->a;
	st->job = &cj->job;
	rc = provider_start(ctx->provider->ops->approval_create, &cj->job, ctx->up,
	                    ctx->deadline_ms, on_created, st, &st->pc);
	if (rc != STATUS_OK) {
		handler_account(ctx, ctx->provider->ops->approval_create, &cj->job, rc);
		free(cj);
		st->job = NULL;
	}
	return rc;
}

/* Join the entry of this sign-in, creating its approval when it is new. */
static enum status
attach(struct wait_state *st)
{
	const struct b2c_claims *c = &st->c;
	struct req_ctx *ctx = st->ctx;
	char key[sizeof(c->authy_id) + sizeof(c->sign_in_name) + sizeof(c->email) + 2];
	bool created = false;
	enum status rc;

	snprintf(key, sizeof(key), "%s" KEY_SEP "%s" KEY_SEP "%s", c->authy_id, c->sign_in_name,
	         c->email);
	rc = tracker_attach(ctx->tracker, key, &st->e, &created);
	if (rc != STATUS_OK) {
		st->e = NULL;
		ctx_seterr(ctx, "approval tracker full");
		return rc;
	}
	if (!created) {
		log_info("re-attached to the pending approval of authy_id=%s", c->authy_id);
		return wait_outcome(st);
	}
	rc = create_approval(st);
	if (rc != STATUS_OK) {
		tracker_fail(ctx->tracker, st->e, rc);
		return rc;
	}
	return STATUS_PENDING;
}

enum status
handler_wait(struct req_ctx *ctx, struct response *res)
{
	struct wait_state *st = calloc(1, sizeof(*st));
	enum status rc;

	if (st == NULL)
		return STATUS_NOMEM;
	st->ctx = ctx;
	st->res = res;
	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &st->c);
	if (rc == STATUS_OK)
		rc = b2c_validate_wait(&st->c);
	if (rc != STATUS_OK) {
		free(st);
		return rc;
	}
	rc = loop_timer_new(ctx->loop, on_budget, st, &st->budget);
	if (rc == STATUS_OK)
		rc = attach(st);
	if (rc != STATUS_PENDING)
		return finish(st, rc); /* known at once: answered without waiting */
	ctx->handler_state = st;
	ctx->on_abort = on_abort;
	return STATUS_ASYNC;
}

/* ---- the tracker's polls ---- */

struct poll_op {
	struct provider_job job;
	struct provider_call *pc;
	tracker_poll_done_fn done;
	void *done_arg;
};

static void
poll_finished(struct provider_job *job, enum status rc)
{
	metrics_upstream(job->call.elapsed_ms, status_is_answer(rc) ? STATUS_OK : rc);
	if (!status_is_answer(rc))
		log_warnx("poll uuid=%s: %s http=%ld %s", job->handle, status_str(rc),
		          job->call.http_status, job->call.err);
}

static void
on_polled(void *arg, enum status rc, struct provider_job *job)
{
	struct poll_op *p = arg;
	tracker_poll_done_fn done = p->done;
	void *done_arg = p->done_arg;
	long retry_after_s = job->call.retry_after_s;

	poll_finished(job, rc);
	free(p);
	done(done_arg, rc, retry_after_s);
}

enum status
handler_wait_poll(void *arg, const char *handle, long long deadline_ms, tracker_poll_done_fn done,
                  void *done_arg, void **op)
{
	const struct handler_poller *hp = arg;
	struct poll_op *p = calloc(1, sizeof(*p));
	enum status rc;

	*op = NULL;
	if (p == NULL)
		return STATUS_NOMEM;
	provider_job_init(&p->job, hp->provider);
	util_strlcpy(p->job.handle, handle, sizeof(p->job.handle));
	p->done = done;
	p->done_arg = done_arg;
	rc = provider_start(hp->provider->ops->approval_status, &p->job, hp->up, deadline_ms,
	                    on_polled, p, &p->pc);
	if (rc != STATUS_OK) {
		poll_finished(&p->job, rc);
		free(p);
		return rc;
	}
	*op = p;
	return STATUS_OK;
}

void
handler_wait_poll_cancel(void *op)
{
	struct poll_op *p = op;

	provider_cancel(p->pc);
	free(p);
}
