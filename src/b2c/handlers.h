/*
 * handlers.h - request handlers: plain functions from a request context to a
 * response. A handler returns a final status (STATUS_OK with res filled, or
 * the failure with the detail in ctx->err, and the router builds the error
 * reply), or STATUS_ASYNC when its upstream calls run on the loop: it then
 * completes the request later with req_ctx_done (see request.h). Everything
 * here runs on the loop thread; res and everything in ctx stay the request's.
 */
#ifndef B2CAUTHY_HANDLERS_H
#define B2CAUTHY_HANDLERS_H

#include "request.h"
#include "status.h"
#include "tracker.h"

struct b2c_claims;
struct provider;
struct provider_job;
struct provider_op;
struct upstream;

/*
 * handler_register.c: POST /api/identity/register -> {"authyId": "..."}: the
 * Authy user id, or with provider = verify the Verify identity. Asynchronous
 * once the claims are valid.
 */
enum status handler_register(struct req_ctx *ctx, struct response *res);

/*
 * handler_wait.c: POST /api/identity/waitforauthyapproval -> {} once
 * approved. Asynchronous once the claims are valid: the approval is created
 * (or the pending one joined) and the request waits for its outcome until
 * ctx->deadline_ms.
 */
enum status handler_wait(struct req_ctx *ctx, struct response *res);

/* What the tracker's polls use: the provider and the connection pool. */
struct handler_poller {
	const struct provider *provider;
	struct upstream *up;
};

/*
 * handler_verify_token.c: POST /api/identity/verifytoken -> {"authyApproved":
 * true} when the one-time code from the app is right and was not accepted for
 * the authyId before (within HANDLER_CODE_REUSE_S, in ctx->used_codes), or was
 * accepted for the same sign-in (correlationId, signInName, email and
 * ipAddress: B2C's retry; answered at once); a code accepted before for
 * another sign-in is STATUS_TOKEN_USED. Without correlationId (while
 * require_correlation_id is on) STATUS_NO_CORRELATION, before any attempt is
 * taken. Codes not accepted are limited per authyId (max_code_attempts per
 * code_window_s). Asynchronous once the claims are valid and the code is new.
 */
#define HANDLER_CODE_REUSE_S 300 /* an accepted code is remembered; outlives its validity */
enum status handler_verify_token(struct req_ctx *ctx, struct response *res);

/*
 * handler_wait_poll / handler_wait_poll_cancel - the tracker's poll
 * functions (tracker_poll_fn, tracker_poll_cancel_fn): the provider's
 * approval_status operation on the pool; arg is a struct handler_poller.
 * Loop thread only.
 */
enum status handler_wait_poll(void *arg, const struct tracker_poll *poll, void **op);
void handler_wait_poll_cancel(void *op);

/*
 * handler_wait_create_cancel - the tracker's tracker_create_cancel_fn: stop
 * a creation still in flight when the tracker is freed. Loop thread only.
 */
void handler_wait_create_cancel(void *op);

/*
 * handler_callback.c: POST (or GET) on the configured callback path: a
 * OneTouch callback signed by Authy, or with provider = verify a Verify
 * webhook signed by Twilio -> completes the waiting requests at once.
 */
enum status handler_callback(struct req_ctx *ctx, struct response *res);

/*
 * handler_health.c: handler_health - GET /healthz, 200 {"status":"ok"}
 * without any upstream call; handler_metrics - GET /metrics, 200 with the
 * counters in Prometheus text format. STATUS_OK, or STATUS_NOMEM (and for
 * metrics STATUS_TOO_LARGE) with res unchanged.
 */
enum status handler_health(struct req_ctx *ctx, struct response *res);
enum status handler_metrics(struct req_ctx *ctx, struct response *res);

/*
 * handler_common.c: handler_check_id - STATUS_OK when authy_id (digits, as
 * the B2C validation checked) is in the provider's own form, else
 * STATUS_AUTHYID_INVALID with ctx->err set. Run before anything is keyed on
 * the id (limiters, the re-attach key).
 */
enum status handler_check_id(struct req_ctx *ctx, const char *authy_id);

/*
 * handler_common.c: handler_check_binding - b2c_validate_binding of c under
 * require_correlation_id: STATUS_OK, or STATUS_NO_CORRELATION with ctx->err
 * naming the account, why the id was refused, and what was not done
 * (`nothing`, e.g. "no push sent").
 */
enum status handler_check_binding(struct req_ctx *ctx, const struct b2c_claims *c,
                                  const char *nothing);

/*
 * handler_common.c: handler_account - account for one finished provider operation op of job
 * with outcome rc in ctx (calls, time) and the metrics; on failure ctx->err
 * says what failed, prefixed with op->what. ctx NULL (the request has left):
 * the metrics only. Returns rc.
 */
enum status handler_account(struct req_ctx *ctx, const struct provider_op *op,
                            const struct provider_job *job, enum status rc);

/*
 * handler_common.c: handler_cid - for log lines: the correlation id of c
 * (which b2c_parse_claims kept only when valid: safe characters), borrowed
 * from c, or "-" without one.
 */
const char *handler_cid(const struct b2c_claims *c);

#endif
