/*
 * handler_health.c - GET /healthz (liveness: answers without any upstream
 * call) and GET /metrics (Prometheus text format). The web server restricts
 * who may reach them.
 */
#include "handlers.h"

#include "buf.h"
#include "metrics.h"
#include "upstream.h"
#include "tracker.h"

#define HEALTH_BODY "{\"status\":\"ok\"}"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum status
handler_health(struct req_ctx *ctx, struct response *res)
{
	(void)ctx;
	res->http_status = 200;
	return response_set_body(res, HEALTH_BODY, sizeof(HEALTH_BODY) - 1);
}

enum status
handler_metrics(struct req_ctx *ctx, struct response *res)
{
	struct tracker_stats ts;
	struct metrics_now now;
	struct buf b;
	enum status rc;

	tracker_get_stats(ctx->tracker, &ts);
	now = (struct metrics_now){.open_connections = ctx->open_connections,
	                           .in_flight = ctx->in_flight,
	                           .upstream_in_use = upstream_active(ctx->up),
	                           .upstream_queued = upstream_queued(ctx->up),
	                           .pending_approvals = ts.pending,
	                           .waiting_requests = ts.waiters,
	                           .polls = ts.polls,
	                           .poll_errors = ts.poll_errors,
	                           .reattached = ts.reattached};
	buf_init(&b, RESPONSE_BODY_MAX);
	rc = metrics_render(&b, &now);
	if (rc != STATUS_OK)
		goto out;
	res->body = buf_steal(&b, &res->body_len);
	if (res->body == NULL) {
		rc = STATUS_NOMEM;
		goto out;
	}
	res->http_status = 200;
	res->content_type = METRICS_CONTENT_TYPE;
out:
	buf_free(&b);
	return rc;
}
