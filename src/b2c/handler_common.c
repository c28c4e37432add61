/*
 * handler_common.c - what every handler that calls the API shares: the call
 * runs on an executor thread that owns a keep-alive connection, while the
 * request thread sleeps, and it is accounted in the context and the metrics.
 */
#include "handlers.h"

#include <string.h>

#include "authy.h"
#include "executor.h"
#include "metrics.h"

enum status
handler_call(struct req_ctx *ctx, struct authy_call *call,
             enum status (*fn)(void *arg, struct upstream *up), void *arg, const char *what)
{
	enum status rc;

	memset(call, 0, sizeof(*call));
	call->deadline_ms = ctx->deadline_ms;
	rc = executor_run(ctx->exec, fn, arg, ctx->deadline_ms);
	if (rc == STATUS_UNAVAILABLE && call->http_status == 0 && call->elapsed_ms == 0) {
		ctx_seterr(ctx, "%s: no upstream connection free before the deadline", what);
		return rc;
	}
	ctx->upstream_calls++;
	ctx->upstream_ms += call->elapsed_ms;
	metrics_upstream(call->elapsed_ms, rc);
	if (rc != STATUS_OK)
		ctx_seterr(ctx, "%s: %s http=%ld error_code=%s %s", what, status_str(rc),
		           call->http_status, call->error_code[0] ? call->error_code : "-",
		           call->err);
	return rc;
}
