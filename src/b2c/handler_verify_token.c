/*
 * handler_verify_token.c - POST /api/identity/verifytoken: the fallback when
 * the push does not arrive. B2C sends the one-time code the app shows; the
 * provider checks it (Authy token verification, or a Verify TOTP challenge)
 * on the loop, and a right code answers the same approval claim as the wait.
 * Codes that are not accepted are limited per authyId against guessing, and
 * a right code is accepted once: seen again, it is refused as used and
 * counts as an attempt like a wrong one, unless it is B2C's retry of the
 * sign-in that it approved (the same correlationId, signInName, email and
 * ipAddress), which is approved again.
 */
#include "handlers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2c.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "ratelimit.h"

/* One code check in progress; the code is wiped before the state is freed. */
struct token_state {
	struct req_ctx *ctx;
	struct response *res;
	struct b2c_claims c;
	struct provider_token tk;
	struct provider_job job;
	struct provider_call *pc;
	char used_key[65]; /* ctx->used_codes key of authyId and code */
	char own_key[65];  /* and of authyId, code and the sign-in ("" without correlationId) */
};

/*
 * Count this attempt before the code is checked, atomically with the limit
 * check, so parallel guesses cannot pass the limit; a right code clears the
 * count again (ratelimit_reset below). Over the limit nothing is sent upstream.
 */
static enum status
take_attempt(struct req_ctx *ctx, const struct b2c_claims *c)
{
	long retry_after_s = 0;
	enum status rc = ratelimit_hit(ctx->code_limit, c->authy_id, &retry_after_s);

	if (rc == STATUS_OK)
		return STATUS_OK;
	if (rc == STATUS_RATE_LIMITED) {
		metrics_code_limited();
		ctx_seterr(ctx,
		           "code attempts limited authy_id=%s correlation_id=%s max=%ld "
		           "window_s=%ld retry_after_s=%ld",
		           c->authy_id, handler_cid(c), ctx->cfg->max_code_attempts,
		           ctx->cfg->code_window_s, retry_after_s);
		return STATUS_TOKEN_LIMITED;
	}
	/* The limiter's table is full of live keys: fail closed. */
	ctx_seterr(ctx, "code limiter: %s", status_str(rc));
	return rc == STATUS_BAD_REQUEST ? STATUS_AUTHYID_INVALID : STATUS_UNAVAILABLE;
}

/*
 * A right code is accepted once (RFC 6238, 5.2): a code stays valid for more
 * than one time step, and a code seen over someone's shoulder or taken by a
 * proxy page must not open a second sign-in. ctx->used_codes remembers a hash
 * of authyId and code (key, 65 bytes) for HANDLER_CODE_REUSE_S, longer than a
 * code is valid; with own also of the sign-in that used it, the one the wait
 * re-attaches to (b2c_signin_key), so a correlation id known elsewhere does
 * not make another browser that sign-in. Only the code's last B2C_TOKEN_MIN
 * digits count: a TOTP code of fewer digits is the same value cut to its last
 * digits (RFC 4226, 5.3), so an API that checks a code at the length it is
 * given would take "234567" after "1234567" was used.
 * STATUS_OK or STATUS_INTERNAL.
 */
static enum status
used_key(const struct b2c_claims *c, bool own, char *key, size_t keylen)
{
	char signin[B2C_SIGNIN_KEY_MAX] = "";
	char in[sizeof(c->authy_id) + sizeof(c->token) + sizeof(signin) + 2];
	size_t len = strlen(c->token);
	const char *tail = c->token + (len > B2C_TOKEN_MIN ? len - B2C_TOKEN_MIN : 0);
	int n;
	enum status rc = STATUS_INTERNAL;

	if (own)
		b2c_signin_key(c, signin);
	n = snprintf(in, sizeof(in), "%s/%s/%s", c->authy_id, tail, signin);
	explicit_bzero(signin, sizeof(signin));

	if (n > 0 && (size_t)n < sizeof(in))
		rc = crypto_sha256_hex(in, (size_t)n, key, keylen);
	explicit_bzero(in, sizeof(in));
	return rc == STATUS_OK ? STATUS_OK : STATUS_INTERNAL;
}

static enum status
reused(struct req_ctx *ctx, const struct b2c_claims *c)
{
	ctx_seterr(ctx, "code reused authy_id=%s correlation_id=%s: accepted before, refused",
	           c->authy_id, handler_cid(c));
	return STATUS_TOKEN_USED;
}

/*
 * Before the check: STATUS_OK for a code not accepted yet, STATUS_TOKEN_USED
 * for a code accepted before (nothing is sent upstream; the attempt stays
 * counted), STATUS_INTERNAL. *again is set when the code was accepted for
 * this very sign-in: B2C retries a call whose 200 it did not get (its 30 s
 * timeout), and the retry must not turn the approval into an error.
 */
static enum status
not_used_yet(struct req_ctx *ctx, struct token_state *st, bool *again)
{
	const struct b2c_claims *c = &st->c;

	*again = false;
	if (used_key(c, false, st->used_key, sizeof(st->used_key)) != STATUS_OK ||
	    (c->correlation_id[0] != '\0' &&
	     used_key(c, true, st->own_key, sizeof(st->own_key)) != STATUS_OK)) {
		ctx_seterr(ctx, "hash of the code failed");
		return STATUS_INTERNAL;
	}
	if (ratelimit_count(ctx->used_codes, st->used_key) == 0)
		return STATUS_OK;
	*again = st->own_key[0] != '\0' && ratelimit_count(ctx->used_codes, st->own_key) > 0;
	return *again ? STATUS_OK : reused(ctx, c);
}

/*
 * After the API accepted the code, atomically: STATUS_OK for its first use,
 * STATUS_TOKEN_USED when a parallel request took it first (the attempt stays
 * counted), STATUS_UNAVAILABLE when the table is full of live codes (fail
 * closed).
 */
static enum status
first_use(struct req_ctx *ctx, struct token_state *st)
{
	long retry_after_s = 0;
	enum status rc = ratelimit_hit(ctx->used_codes, st->used_key, &retry_after_s);

	if (rc == STATUS_OK) {
		/* A table full of live codes only costs a retry its 200: it gets token_used. */
		if (st->own_key[0] != '\0')
			(void)ratelimit_hit(ctx->used_codes, st->own_key, &retry_after_s);
		return STATUS_OK;
	}
	if (rc == STATUS_RATE_LIMITED)
		return reused(ctx, &st->c);
	ctx_seterr(ctx, "table of accepted codes: %s", status_str(rc));
	return STATUS_UNAVAILABLE;
}

/* One log line per outcome; the code itself is never written. */
static void
log_outcome(const struct req_ctx *ctx, const struct b2c_claims *c, enum status rc)
{
	if (rc == STATUS_OK)
		log_info("code accepted authy_id=%s correlation_id=%s", c->authy_id,
		         handler_cid(c));
	else if (rc == STATUS_TOKEN_WRONG || rc == STATUS_TOKEN_USED)
		log_info("code not accepted authy_id=%s correlation_id=%s attempts=%ld/%ld",
		         c->authy_id, handler_cid(c), ratelimit_count(ctx->code_limit, c->authy_id),
		         ctx->cfg->max_code_attempts);
}

/* Wipe the code and free st; returns rc. */
static enum status
state_free(struct token_state *st, enum status rc)
{
	b2c_claims_wipe(&st->c);
	explicit_bzero(st, sizeof(*st));
	free(st);
	return rc;
}

static void
on_checked(void *arg, enum status rc, struct provider_job *job)
{
	struct token_state *st = arg;
	struct req_ctx *ctx = st->ctx;
	struct log_rid rid;

	st->pc = NULL;
	log_rid_enter(&rid, ctx->id);
	rc = handler_account(ctx, ctx->provider->ops->token_verify, job, rc);
	if (rc == STATUS_OK)
		rc = first_use(ctx, st);
	log_outcome(ctx, &st->c, rc);
	if (rc == STATUS_OK) {
		ratelimit_reset(ctx->code_limit, st->c.authy_id);
		rc = b2c_reply_approved(st->res);
	}
	ctx->on_abort = NULL;
	ctx->handler_state = NULL;
	req_ctx_done(ctx, state_free(st, rc));
	log_rid_leave(&rid);
}

/*
 * B2C's retry of the sign-in this code approved: the approval again, without
 * the API (which would refuse the code now), and the attempt taken back as
 * for a right code.
 */
static enum status
approve_again(struct req_ctx *ctx, struct token_state *st)
{
	log_info("code accepted before for this sign-in, approved again authy_id=%s "
	         "correlation_id=%s",
	         st->c.authy_id, handler_cid(&st->c));
	ratelimit_reset(ctx->code_limit, st->c.authy_id);
	return state_free(st, b2c_reply_approved(st->res));
}

static void
on_abort(struct req_ctx *ctx)
{
	struct token_state *st = ctx->handler_state;

	provider_cancel(st->pc);
	ctx->on_abort = NULL;
	ctx->handler_state = NULL;
	req_ctx_done(ctx, state_free(st, STATUS_ABORTED));
}

enum status
handler_verify_token(struct req_ctx *ctx, struct response *res)
{
	struct token_state *st = calloc(1, sizeof(*st));
	const struct provider_op *op = ctx->provider->ops->token_verify;
	enum status rc;
	bool again = false;

	if (st == NULL)
		return STATUS_NOMEM;
	st->ctx = ctx;
	st->res = res;
	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &st->c);
	if (rc == STATUS_OK)
		rc = b2c_validate_token(&st->c);
	if (rc == STATUS_OK)
		rc = handler_check_id(ctx, st->c.authy_id);
	/* The sign-in is named as on the wait; a code then approves that one alone. */
	if (rc == STATUS_OK)
		rc = handler_check_binding(ctx, &st->c, "no code checked");
	if (rc == STATUS_OK)
		rc = take_attempt(ctx, &st->c);
	if (rc == STATUS_OK)
		rc = not_used_yet(ctx, st, &again);
	if (rc == STATUS_OK && again)
		return approve_again(ctx, st);
	if (rc != STATUS_OK) {
		log_outcome(ctx, &st->c, rc);
		return state_free(st, rc);
	}
	st->tk = (struct provider_token){.authy_id = st->c.authy_id, .code = st->c.token};
	provider_job_init(&st->job, ctx->provider);
	st->job.token = &st->tk;
	rc = provider_start(
	    op, &st->job,
	    &(struct provider_start_opts){
	        .up = ctx->up, .deadline_ms = ctx->deadline_ms, .fn = on_checked, .arg = st},
	    &st->pc);
	if (rc != STATUS_OK) {
		rc = handler_account(ctx, op, &st->job, rc);
		log_outcome(ctx, &st->c, rc);
		return state_free(st, rc);
	}
	ctx->handler_state = st;
	ctx->on_abort = on_abort;
	return STATUS_ASYNC;
}
