/*
 * handler_common.c - what every handler that calls the API shares: the
 * provider's operation runs on an executor thread that owns a keep-alive
 * connection, while the request thread sleeps, and it is accounted in the
 * context and the metrics.
 */
#include "handlers.h"

#include "executor.h"
#include "metrics.h"
#include "provider.h"

struct run_arg {
	const struct provider_op *op;
	struct provider_job *job;
	long long deadline_ms;
};

/* Runs on an executor thread. */
static enum status
run(void *arg, struct upstream *up, struct loop *loop)
{
	struct run_arg *r = arg;

	return provider_run(r->op, r->job, up, loop, r->deadline_ms);
}

enum status
handler_provider(struct req_ctx *ctx, const struct provider_op *op, struct provider_job *job)
{
	struct run_arg r = {.op = op, .job = job, .deadline_ms = ctx->deadline_ms};
	struct api_call *call = &job->call;
	enum status rc;

	rc = executor_run(ctx->exec, run, &r, ctx->deadline_ms);
	if (rc == STATUS_UNAVAILABLE && call->calls == 0) {
		ctx_seterr(ctx, "%s: no upstream connection free before the deadline", op->what);
		return rc;
	}
	ctx->upstream_calls += call->calls;
	ctx->upstream_ms += call->elapsed_ms;
	metrics_upstream(call->elapsed_ms, rc);
	if (rc != STATUS_OK)
		ctx_seterr(ctx, "%s: %s http=%ld error_code=%s %s", op->what, status_str(rc),
		           call->http_status, call->error_code[0] ? call->error_code : "-",
		           call->err);
	return rc;
}
