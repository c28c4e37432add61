/*
 * router.h - the dispatch table: path (case-insensitive, like ASP.NET) and
 * method to handler, with the client-certificate and body checks each route
 * needs. The one place where a failed request becomes its HTTP reply.
 */
#ifndef B2CAUTHY_ROUTER_H
#define B2CAUTHY_ROUTER_H

#include "request.h"
#include "status.h"

#define ROUTE_REGISTER "/api/identity/register"
#define ROUTE_WAIT "/api/identity/waitforauthyapproval"
#define ROUTE_VERIFY_TOKEN "/api/identity/verifytoken"
#define ROUTE_HEALTH "/healthz"
#define ROUTE_METRICS "/metrics"

/*
 * router_dispatch - route ctx->req, run the handler, and leave the reply in
 * res (always filled: on failure with the B2C-shaped error body; a HEAD,
 * allowed on /healthz and /metrics, is marked head_only). Sets
 * ctx->route. Returns the request's outcome (STATUS_OK or the failure), which
 * is already logged with its detail; or STATUS_ASYNC when the handler
 * completes later through req_ctx_done (res untouched until then). Loop
 * thread only: the handlers use the loop's tracker, limiters and callback
 * replay cache.
 */
enum status router_dispatch(struct req_ctx *ctx, struct response *res);

/*
 * router_complete - turn the outcome rc of a request whose handler returned
 * STATUS_ASYNC into its reply, as router_dispatch does for synchronous ones:
 * on failure logged and res replaced by the B2C-shaped error. Loop thread.
 */
void router_complete(struct req_ctx *ctx, enum status rc, struct response *res);

#endif
