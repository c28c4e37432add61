/*
 * handler_verify_token.c - POST /api/identity/verifytoken: the fallback when
 * the push does not arrive. B2C sends the one-time code the app shows; the
 * provider checks it (Authy token verification, or a Verify TOTP challenge)
 * and a right code answers the same approval claim as the wait. Codes that
 * are not accepted are limited per authyId against guessing.
 */
#include "handlers.h"

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "ratelimit.h"

struct token_job {
	struct authy_call call;
	const struct config *cfg;
	const struct b2c_claims *c;
};

/* For log lines: B2C's correlation id, or "-". */
static const char *
cid(const struct b2c_claims *c)
{
	return c->correlation_id[0] != '\0' ? c->correlation_id : "-";
}

/* Runs on an executor thread. */
static enum status
run_verify_token(void *arg, struct upstream *up)
{
	struct token_job *j = arg;

	j->call.up = up;
	return provider_token_verify(j->cfg, &j->call, j->c->authy_id, j->c->token);
}

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
		log_warnx("code attempts limited authy_id=%s correlation_id=%s max=%ld "
		          "window_s=%ld retry_after_s=%ld",
		          c->authy_id, cid(c), ctx->cfg->max_code_attempts, ctx->cfg->code_window_s,
		          retry_after_s);
		ctx_seterr(ctx, "too many codes not accepted for this authyId");
		return STATUS_TOKEN_LIMITED;
	}
	/* The limiter's table is full of live keys: fail closed. */
	ctx_seterr(ctx, "code limiter: %s", status_str(rc));
	return rc == STATUS_BAD_REQUEST ? STATUS_AUTHYID_INVALID : STATUS_UNAVAILABLE;
}

static enum status
verify_code(struct req_ctx *ctx, const struct b2c_claims *c)
{
	struct token_job j = {.cfg = ctx->cfg, .c = c};

	return handler_call(ctx, &j.call, run_verify_token, &j,
	                    config_is_verify(ctx->cfg) ? "verify totp challenge"
	                                               : "authy token verification");
}

/* One log line per outcome; the code itself is never written. */
static void
log_outcome(const struct req_ctx *ctx, const struct b2c_claims *c, enum status rc)
{
	if (rc == STATUS_OK)
		log_info("code accepted authy_id=%s correlation_id=%s", c->authy_id, cid(c));
	else if (rc == STATUS_TOKEN_WRONG)
		log_info("code not accepted authy_id=%s correlation_id=%s attempts=%ld/%ld",
		         c->authy_id, cid(c), ratelimit_count(ctx->code_limit, c->authy_id),
		         ctx->cfg->max_code_attempts);
}

enum status
handler_verify_token(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	enum status rc;

	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = b2c_validate_token(&c);
	if (rc != STATUS_OK)
		goto out;
	rc = take_attempt(ctx, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = verify_code(ctx, &c);
	log_outcome(ctx, &c, rc);
	if (rc != STATUS_OK)
		goto out;
	ratelimit_reset(ctx->code_limit, c.authy_id);
	rc = b2c_reply_approved(res);
out:
	b2c_claims_wipe(&c);
	return rc;
}
