/*
 * handler_common.c - what every handler that calls the provider (Authy or
 * Verify) shares: borrowing a connection from the bounded pool for exactly
 * one call, and accounting it.
 */
#include "handlers.h"

#include <string.h>

#include "authy.h"
#include "metrics.h"
#include "pool.h"

enum status
handler_call_begin(struct req_ctx *ctx, struct authy_call *call)
{
	enum status rc;

	memset(call, 0, sizeof(*call));
	call->deadline_ms = ctx->deadline_ms;
	rc = upool_get(ctx->pool, ctx->deadline_ms, &call->up);
	if (rc != STATUS_OK)
		ctx_seterr(ctx, "no upstream connection free before the deadline");
	return rc;
}

void
handler_call_end(struct req_ctx *ctx, struct authy_call *call, enum status rc, const char *what)
{
	upool_put(ctx->pool, call->up);
	call->up = NULL;
	ctx->upstream_calls++;
	ctx->upstream_ms += call->elapsed_ms;
	metrics_upstream(call->elapsed_ms, rc);
	if (rc != STATUS_OK)
		ctx_seterr(ctx, "%s: %s http=%ld error_code=%s %s", what, status_str(rc),
		           call->http_status, call->error_code[0] ? call->error_code : "-",
		           call->err);
}
