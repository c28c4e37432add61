/*
 * handlers.h - request handlers: plain functions from a request context to a
 * response. On STATUS_OK the handler filled res; on failure it returns the
 * status (detail in ctx->err) and the router builds the error reply.
 */
#ifndef B2CAUTHY_HANDLERS_H
#define B2CAUTHY_HANDLERS_H

#include "request.h"
#include "status.h"

struct provider_job;
struct provider_op;
struct loop;
struct upstream;

/*
 * handler_register.c: POST /api/identity/register -> {"authyId": "..."}: the
 * Authy user id, or with provider = verify the Verify identity.
 */
enum status handler_register(struct req_ctx *ctx, struct response *res);

/* handler_wait.c: POST /api/identity/waitforauthyapproval -> {} once approved */
enum status handler_wait(struct req_ctx *ctx, struct response *res);

/*
 * handler_wait_poll - the tracker's poll function: GET the status of the
 * approval handle uuid with handle up from the provider arg (a const struct
 * provider *). See tracker_poll_fn.
 */
enum status handler_wait_poll(void *arg, struct upstream *up, struct loop *loop, const char *uuid,
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
 * handler_common.c: run the provider's operation op for job on an executor
 * thread (see executor.h), its calls ending by ctx->deadline_ms, and account
 * for it. Returns the operation's status, or STATUS_UNAVAILABLE when no
 * executor thread was free before the deadline; on failure ctx->err says
 * what failed, prefixed with op->what.
 */
enum status handler_provider(struct req_ctx *ctx, const struct provider_op *op,
                             struct provider_job *job);

#endif
