/*
 * handler_register.c - POST /api/identity/register: B2C claims (email or
 * signInName, phoneNumber (Verify: optional), optional countryCode) -> the provider's user
 * (Authy users/new, or a Verify Entity) -> output claim authyId, stored by
 * B2C as extension_authyId. The provider's calls run on the loop.
 */
#include "handlers.h"

#include <stdlib.h>

#include "b2c.h"
#include "log.h"
#include "phone.h"
#include "provider.h"
#include "util.h"

/* One registration in progress. */
struct register_state {
	struct req_ctx *ctx;
	struct response *res;
	struct b2c_claims c;
	struct phone_number ph;
	struct provider_user u;
	struct provider_job job;
	struct provider_call *pc;
};

/* The name registered: Authy's email, or the sign-in name Verify's identity hides. */
static void
log_registered(const struct req_ctx *ctx, const struct provider_user *u, const char *id,
               const struct b2c_claims *c)
{
	char mphone[32], memail[80];
	const struct phone_number *ph = u->phone;

	log_info("registered authy_id=%s correlation_id=%s phone=%s%s%s email=%s", id,
	         handler_cid(c), ph->country_code[0] ? "+" : "-", ph->country_code,
	         util_mask_phone(ph->national, mphone, sizeof(mphone)),
	         util_mask_email(ctx->provider->ops->user_name(u), memail, sizeof(memail)));
}

static void
complete(struct register_state *st, enum status rc)
{
	struct req_ctx *ctx = st->ctx;

	ctx->on_abort = NULL;
	ctx->handler_state = NULL;
	free(st);
	req_ctx_done(ctx, rc);
}

static void
on_created(void *arg, enum status rc, struct provider_job *job)
{
	struct register_state *st = arg;
	struct req_ctx *ctx = st->ctx;
	struct log_rid rid;

	st->pc = NULL;
	log_rid_enter(&rid, ctx->id);
	rc = handler_account(ctx, ctx->provider->ops->user_create, job, rc);
	if (rc == STATUS_OK) {
		log_registered(ctx, &st->u, job->id, &st->c);
		rc = b2c_reply_authy_id(st->res, job->id);
	}
	complete(st, rc);
	log_rid_leave(&rid);
}

static void
on_abort(struct req_ctx *ctx)
{
	struct register_state *st = ctx->handler_state;

	provider_cancel(st->pc);
	complete(st, STATUS_ABORTED);
}

enum status
handler_register(struct req_ctx *ctx, struct response *res)
{
	struct register_state *st = calloc(1, sizeof(*st));
	const struct provider_op *op = ctx->provider->ops->user_create;
	enum status rc;

	if (st == NULL)
		return STATUS_NOMEM;
	st->ctx = ctx;
	st->res = res;
	st->u.phone = &st->ph;
	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &st->c);
	if (rc == STATUS_OK)
		rc = b2c_validate_register(&st->c, ctx->provider->ops->needs_phone, &st->ph);
	if (rc != STATUS_OK)
		goto out;
	st->u.email = st->c.email;
	st->u.sign_in_name = st->c.sign_in_name;
	st->u.object_id = st->c.object_id;
	rc = ctx->provider->ops->user_check(&st->u, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		goto out;
	provider_job_init(&st->job, ctx->provider);
	st->job.user = &st->u;
	rc = provider_start(
	    op, &st->job,
	    &(struct provider_start_opts){
	        .up = ctx->up, .deadline_ms = ctx->deadline_ms, .fn = on_created, .arg = st},
	    &st->pc);
	if (rc != STATUS_OK) {
		rc = handler_account(ctx, op, &st->job, rc);
		goto out;
	}
	ctx->handler_state = st;
	ctx->on_abort = on_abort;
	return STATUS_ASYNC;
out:
	free(st);
	return rc;
}
