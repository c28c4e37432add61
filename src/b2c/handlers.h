/*
 * handlers.h - request handlers: plain functions from a request context to a
 * response. On STATUS_OK the handler filled res; on failure it returns the
 * status (detail in ctx->err) and the router builds the error reply.
 */
#ifndef B2CAUTHY_HANDLERS_H
#define B2CAUTHY_HANDLERS_H

#include "request.h"
#include "status.h"

struct authy_call;
struct upstream;

/*
 * handler_register.c: POST /api/identity/register -> {"authyId": "..."}: the
 * Authy user id, or with provider = verify the Verify identity.
 */
enum status handler_register(struct req_ctx *ctx, struct response *res);

/* handler_wait.c: POST /api/identity/waitforauthyapproval -> {} once approved */
enum status handler_wait(struct req_ctx *ctx, struct response *res);

/*
 * handler_verify_token.c: POST /api/identity/verifytoken -> {"authyApproved":
 * true} when the one-time code from the app is right; codes not accepted are
 * limited per authyId (max_code_attempts per code_window_s).
 */
enum status handler_verify_token(struct req_ctx *ctx, struct response *res);

/*
 * handler_wait_poll - the tracker's poll function: GET the status of the
 * approval handle uuid with handle up from the configured provider. arg is
 * the const struct config * (NULL means the Authy API). See tracker_poll_fn.
 */
enum status handler_wait_poll(void *arg, struct upstream *up, const char *uuid,
                              long long deadline_ms, long *retry_after_s);

/*
 * handler_callback.c: POST (or GET) on the configured callback path: a
 * OneTouch callback signed by Authy, or with provider = verify a Verify
 * webhook signed by Twilio -> wakes the waiting requests at once.
 */
enum status handler_callback(struct req_ctx *ctx, struct response *res);

/* handler_health.c: GET /healthz (liveness, no upstream call) and GET /metrics */
enum status handler_health(struct req_ctx *ctx, struct response *res);
enum status handler_metrics(struct req_ctx *ctx, struct response *res);

/*
 * handler_common.c: run one upstream call on an executor thread (see
 * executor.h) and account for it. call->deadline_ms is set from ctx before fn
 * runs; fn sets call->up from its handle argument. Returns fn's status, or
 * STATUS_UNAVAILABLE when no executor thread was free before the deadline;
 * on failure ctx->err says what failed, prefixed with what.
 */
enum status handler_call(struct req_ctx *ctx, struct authy_call *call,
                         enum status (*fn)(void *arg, struct upstream *up), void *arg,
                         const char *what);

#endif
