/*
 * handler_wait.c - POST /api/identity/waitforauthyapproval: create a push
 * approval (an Authy OneTouch request or a Verify challenge; or re-attach to
 * the pending one when B2C retries) and wait for its outcome within the wait
 * budget, below B2C's 30 s timeout. Everything runs on the loop: the
 * creation is a provider operation, the wait a tracker waiter plus one loop
 * timer for the budget; a client that leaves ends its own wait. The creation
 * belongs to the tracker entry, not to the request that started it: it goes
 * on when every request of the sign-in has left, since the push may be out
 * already, and B2C's retry re-attaches to it instead of sending another.
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
#include "ratelimit.h"
#include "util.h"

#define DETAIL_SIGNIN "Sign-in name"
#define DETAIL_APP "Application"
#define DETAIL_IP "IP address"
#define HIDDEN_REQUEST_ID "request_id"
#define HIDDEN_CORRELATION_ID "correlation_id"
#define N_OWN_DETAILS 3 /* sign-in name, application, IP address */

/* One wait in progress. */
struct wait_state {
	struct req_ctx *ctx;
	struct response *res;
	struct b2c_claims c;
	struct tracker_entry *e;
	struct tracker_waiter *w;
	struct loop_timer *budget;
	struct creation *cr; /* the approval this request started, while it is created */
};

/*
 * The creation of one approval: the job, what it points to (copies: it may
 * outlive the request that started it) and where its outcome goes.
 */
struct creation {
	struct provider_job job;
	struct provider_approval a;
	struct api_kv details[CONFIG_MAX_DETAILS + N_OWN_DETAILS];
	struct api_kv hidden[2];
	struct b2c_claims c;
	char rid[sizeof(((struct req_ctx *)0)->id)];
	struct provider_call *pc;
	struct tracker *tracker;
	struct tracker_entry *e;
	struct ratelimit *push_limit;
	long ttl_s;
	struct wait_state *st; /* the request that started it, while it is here */
};

/*
 * The 200 replies: approved, or a user who has not set up push yet when the
 * provider enrols in its app (the policy shows the set-up page on
 * factorStatus "none").
 */
static enum status
wait_reply(const struct req_ctx *ctx, enum status rc, struct response *res)
{
	if (rc == STATUS_OK)
		return b2c_reply_approved(res);
	if (rc == STATUS_NO_FACTOR && ctx->provider->ops->no_factor_is_setup)
		return b2c_reply_factor_status(res, B2C_FACTOR_NONE);
	return rc;
}

/* The reply for outcome rc; st is freed. Returns the request's status. */
static enum status
finish(struct wait_state *st, enum status rc)
{
	struct req_ctx *ctx = st->ctx;

	log_info("approval outcome authy_id=%s correlation_id=%s outcome=%s after_ms=%lld",
	         st->c.authy_id, handler_cid(&st->c), rc == STATUS_OK ? "approved" : status_str(rc),
	         util_now_ms() - ctx->start_ms);
	rc = wait_reply(ctx, rc, st->res);
	loop_timer_free(st->budget);
	if (st->cr != NULL)
		st->cr->st = NULL; /* it goes on for the sign-in's other requests and retries */
	if (st->e != NULL)
		tracker_release(ctx->tracker, st->e);
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
	struct log_rid rid;

	st->w = NULL;
	log_rid_enter(&rid, st->ctx->id);
	complete(st, rc);
	log_rid_leave(&rid);
}

static void
on_budget(void *arg)
{
	struct wait_state *st = arg;
	struct log_rid rid;
	enum status rc = tracker_unwait(st->ctx->tracker, st->w);

	st->w = NULL;
	log_rid_enter(&rid, st->ctx->id);
	complete(st, rc);
	log_rid_leave(&rid);
}

static void
on_abort(struct req_ctx *ctx)
{
	struct wait_state *st = ctx->handler_state;
	struct log_rid rid;

	log_rid_enter(&rid, ctx->id);
	if (st->w != NULL)
		tracker_unwait(ctx->tracker, st->w);
	st->w = NULL;
	complete(st, STATUS_ABORTED);
	log_rid_leave(&rid);
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
	rc = tracker_wait(ctx->tracker, st->e, on_outcome, st, &st->w);
	if (rc == STATUS_PENDING)
		loop_timer_arm(st->budget, ctx->deadline_ms);
	return rc;
}

/*
 * No push went out: the provider found no factor or no user, answered the
 * creation with an error (4xx, 5xx, a rate limit, our key refused), or could
 * not be reached. Such a wait does not count against the user, or an outage
 * of the API would lock every user who tried out for push_window_s. A
 * timeout or a garbled answer may follow a push that was sent: it counts.
 */
static void
push_not_sent(struct ratelimit *push_limit, const struct b2c_claims *c, enum status rc)
{
	switch (rc) {
	case STATUS_NO_FACTOR:
	case STATUS_USER_NOT_FOUND:
	case STATUS_RATE_LIMITED:
	case STATUS_UPSTREAM_AUTH:
	case STATUS_UPSTREAM_CONNECT:
	case STATUS_UPSTREAM_HTTP:
		ratelimit_undo(push_limit, c->authy_id);
		break;
	default:
		break;
	}
}

/*
 * The approval is created (or not): the entry's waiters learn it from the
 * tracker; the request that started it, when still here, waits from now on
 * or gets the failure.
 */
static void
on_created(void *arg, enum status rc, struct provider_job *job)
{
	struct creation *cr = arg;
	struct wait_state *st = cr->st;
	const struct provider_op *op = job->p->ops->approval_create;
	struct log_rid rid;

	log_rid_enter(&rid, cr->rid); /* the id of the request that started it */
	rc = handler_account(st != NULL ? st->ctx : NULL, op, job, rc);
	push_not_sent(cr->push_limit, &cr->c, rc);
	if (st != NULL)
		st->cr = NULL;
	if (rc != STATUS_OK) {
		if (st == NULL)
			log_warnx("approval of authy_id=%s correlation_id=%s not created: %s",
			          cr->c.authy_id, handler_cid(&cr->c), status_str(rc));
		tracker_fail(cr->tracker, cr->e, rc);
	} else {
		tracker_publish(cr->tracker, cr->e, job->handle, util_now_ms() + cr->ttl_s * 1000);
		log_info("approval requested authy_id=%s correlation_id=%s ip=%s uuid=%s%s",
		         cr->c.authy_id, handler_cid(&cr->c),
		         cr->c.ip_address[0] ? cr->c.ip_address : "-", job->handle,
		         st != NULL ? "" : " (after its request left)");
		if (st != NULL)
			rc = wait_outcome(st);
	}
	free(cr);
	if (st != NULL && rc != STATUS_PENDING)
		complete(st, rc);
	log_rid_leave(&rid);
}

/*
 * The tracker's tracker_create_cancel_fn: the tracker is freed (shutdown).
 * The push may be out already; the line says so, since no retry can find it.
 */
void
handler_wait_create_cancel(void *op)
{
	struct creation *cr = op;
	struct log_rid rid;

	log_rid_enter(&rid, cr->rid);
	log_warnx("approval of authy_id=%s correlation_id=%s abandoned at shutdown while "
	          "being created: its push may have been sent",
	          cr->c.authy_id, handler_cid(&cr->c));
	log_rid_leave(&rid);
	provider_cancel(cr->pc);
	if (cr->st != NULL)
		cr->st->cr = NULL;
	free(cr);
}

/*
 * What the user sees in the push: who signs in (the sign-in name, else the
 * email), the application when configured, the caller's IP address when B2C
 * sent a valid one, then the configured details. Returns the count.
 */
static int
push_details(const struct config *cfg, const struct b2c_claims *c, struct api_kv *details)
{
	int n = 0;

	if (c->sign_in_name[0] != '\0' || c->email[0] != '\0')
		details[n++] =
		    (struct api_kv){DETAIL_SIGNIN, c->sign_in_name[0] ? c->sign_in_name : c->email};
	if (cfg->approval_app_name != NULL && cfg->approval_app_name[0] != '\0')
		details[n++] = (struct api_kv){DETAIL_APP, cfg->approval_app_name};
	if (c->ip_address[0] != '\0')
		details[n++] = (struct api_kv){DETAIL_IP, c->ip_address};
	for (int i = 0; i < cfg->n_details; i++)
		details[n++] = (struct api_kv){cfg->details[i].key, cfg->details[i].value};
	return n;
}

/* Start creating the approval for a new entry. */
static enum status
create_approval(struct wait_state *st)
{
	struct req_ctx *ctx = st->ctx;
	const struct config *cfg = ctx->cfg;
	struct creation *cr = calloc(1, sizeof(*cr));
	const struct b2c_claims *c;
	enum status rc;

	if (cr == NULL)
		return STATUS_NOMEM;
	cr->c = st->c;
	c = &cr->c;
	util_strlcpy(cr->rid, ctx->id, sizeof(cr->rid));
	cr->tracker = ctx->tracker;
	cr->e = st->e;
	cr->push_limit = ctx->push_limit;
	cr->ttl_s = cfg->approval_ttl_s;
	cr->hidden[0] = (struct api_kv){HIDDEN_REQUEST_ID, cr->rid};
	cr->hidden[1] = (struct api_kv){HIDDEN_CORRELATION_ID, c->correlation_id};
	cr->a = (struct provider_approval){.authy_id = c->authy_id,
	                                   .message = cfg->approval_message,
	                                   .details = cr->details,
	                                   .n_details = push_details(cfg, c, cr->details),
	                                   .hidden = cr->hidden,
	                                   .n_hidden = c->correlation_id[0] != '\0' ? 2 : 1,
	                                   .seconds_to_expire = cfg->approval_ttl_s};
	provider_job_init(&cr->job, ctx->provider);
	cr->job.approval = &cr->a;
	rc = provider_start(
	    ctx->provider->ops->approval_create, &cr->job,
	    &(struct provider_start_opts){
	        .up = ctx->up, .deadline_ms = ctx->deadline_ms, .fn = on_created, .arg = cr},
	    &cr->pc);
	if (rc != STATUS_OK) {
		handler_account(ctx, ctx->provider->ops->approval_create, &cr->job, rc);
		free(cr);
		return rc;
	}
	cr->st = st;
	st->cr = cr;
	tracker_creating(ctx->tracker, st->e, cr);
	return STATUS_OK;
}

/*
 * Count a new push for the user against max_pushes_per_user. STATUS_OK, or
 * STATUS_PUSH_LIMITED (counted; the detail in ctx->err), or STATUS_UNAVAILABLE when the
 * limiter is full (fail closed).
 */
static enum status
push_limit_hit(struct req_ctx *ctx, const struct b2c_claims *c)
{
	long retry_after_s = 0;
	enum status rc = ratelimit_hit(ctx->push_limit, c->authy_id, &retry_after_s);

	if (rc == STATUS_RATE_LIMITED) {
		metrics_push_limited();
		ctx_seterr(ctx,
		           "push limit: authy_id=%s correlation_id=%s had %ld pushes in %ld s, "
		           "next in %ld s",
		           c->authy_id, handler_cid(c), ctx->cfg->max_pushes_per_user,
		           ctx->cfg->push_window_s, retry_after_s);
		return STATUS_PUSH_LIMITED;
	}
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "push limiter: %s", status_str(rc));
		return STATUS_UNAVAILABLE;
	}
	return STATUS_OK;
}

/*
 * Join the entry of this sign-in (b2c_signin_key: a browser elsewhere gets a
 * push of its own), creating its approval when it is new.
 */
static enum status
attach(struct wait_state *st)
{
	const struct b2c_claims *c = &st->c;
	struct req_ctx *ctx = st->ctx;
	char key[B2C_SIGNIN_KEY_MAX];
	bool created = false;
	enum status rc;

	b2c_signin_key(c, key);
	rc = tracker_attach(ctx->tracker, key, &st->e, &created);
	if (rc != STATUS_OK) {
		st->e = NULL;
		ctx_seterr(ctx, "approval tracker full");
		return rc;
	}
	if (!created) {
		log_info("re-attached to the pending approval of authy_id=%s correlation_id=%s",
		         c->authy_id, handler_cid(c));
		return wait_outcome(st);
	}
	rc = push_limit_hit(ctx, c);
	if (rc == STATUS_OK) {
		rc = create_approval(st);
		/* Nothing was sent when the creation could not even start. */
		if (rc != STATUS_OK)
			ratelimit_undo(ctx->push_limit, c->authy_id);
	}
	if (rc != STATUS_OK) {
		tracker_fail(ctx->tracker, st->e, rc);
		return rc;
	}
	return STATUS_PENDING;
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
	if (rc == STATUS_OK)
		rc = handler_check_id(ctx, c->authy_id);
	if (rc != STATUS_OK)
		return rc;
	if (c->ip_rc != STATUS_OK)
		log_warnx("ipAddress of authy_id=%s is not an IP address: left out of the push",
		          c->authy_id);
	return handler_check_binding(ctx, c, "no push sent");
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
	rc = wait_claims(ctx, &st->c);
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
handler_wait_poll(void *arg, const struct tracker_poll *poll, void **op)
{
	const struct handler_poller *hp = arg;
	struct poll_op *p = calloc(1, sizeof(*p));
	enum status rc;

	*op = NULL;
	if (p == NULL)
		return STATUS_NOMEM;
	provider_job_init(&p->job, hp->provider);
	util_strlcpy(p->job.handle, poll->handle, sizeof(p->job.handle));
	p->done = poll->done;
	p->done_arg = poll->done_arg;
	rc = provider_start(
	    hp->provider->ops->approval_status, &p->job,
	    &(struct provider_start_opts){
	        .up = hp->up, .deadline_ms = poll->deadline_ms, .fn = on_polled, .arg = p},
	    &p->pc);
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
