/*
 * metrics.c - lock-free counters (C11 atomics) and their Prometheus text
 * rendering. Label values come from fixed tables, never from clients.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <string.h>

#include "buf.h"
#include "log.h"

static const char *const routes[] = {"register", "wait",        "health", "metrics",
                                     "callback", "verifytoken", "other"}; /* "other" last */
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const long buckets_ms[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define N_BUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

static atomic_long requests[N_ROUTES][STATUS__COUNT];
static atomic_long upstream_bucket[N_BUCKETS + 1];
static atomic_long upstream_sum_ms;
static atomic_long upstream_errors[STATUS__COUNT];
static atomic_long push_limited;
static atomic_long code_limited;
static atomic_long conns_closed[METRICS_CLOSE__COUNT];

/* The reason labels, in enum metrics_close order. */
static const char *const close_reasons[METRICS_CLOSE__COUNT] = {
    "protocol", "too_large", "deadline", "max_connections", "unread_replies"};

static size_t
route_index(const char *route)
{
	for (size_t i = 0; i + 1 < N_ROUTES; i++)
		if (route != NULL && strcmp(route, routes[i]) == 0)
			return i;
	return N_ROUTES - 1;
}

void
metrics_request(const char *route, enum status rc)
{
	if ((int)rc < 0 || rc >= STATUS__COUNT)
		rc = STATUS_INTERNAL;
	atomic_fetch_add(&requests[route_index(route)][rc], 1);
}

void
metrics_upstream(long elapsed_ms, enum status rc)
{
	size_t b = 0;

	while (b < N_BUCKETS && elapsed_ms > buckets_ms[b])
		b++;
	atomic_fetch_add(&upstream_bucket[b], 1);
	atomic_fetch_add(&upstream_sum_ms, elapsed_ms);
	if (rc != STATUS_OK && (int)rc > 0 && rc < STATUS__COUNT)
		atomic_fetch_add(&upstream_errors[rc], 1);
}

void
metrics_push_limited(void)
{
	atomic_fetch_add(&push_limited, 1);
}

void
metrics_code_limited(void)
{
	atomic_fetch_add(&code_limited, 1);
}

void
metrics_conn_closed(enum metrics_close why)
{
	if ((int)why >= 0 && why < METRICS_CLOSE__COUNT)
		atomic_fetch_add(&conns_closed[why], 1);
}

/* Every reason, 0 included, so that a rate over the series needs no care. */
static enum status
render_closed(struct buf *out)
{
	enum status rc = buf_append_str(
	    out, "# HELP " METRICS_PREFIX "connections_closed_total FastCGI connections closed by "
	         "the responder on its own, by reason.\n# TYPE " METRICS_PREFIX
	         "connections_closed_total counter\n");

	for (int i = 0; i < METRICS_CLOSE__COUNT && rc == STATUS_OK; i++)
		rc =
		    buf_appendf(out, METRICS_PREFIX "connections_closed_total{reason=\"%s\"} %ld\n",
		                close_reasons[i], atomic_load(&conns_closed[i]));
	return rc;
}

static enum status
render_requests(struct buf *out)
{
	enum status rc = buf_append_str(out, "# HELP " METRICS_PREFIX "requests_total Requests by "
	                                     "route and outcome.\n# TYPE " METRICS_PREFIX
	                                     "requests_total counter\n");

	for (size_t r = 0; r < N_ROUTES && rc == STATUS_OK; r++) {
		for (int s = 0; s < STATUS__COUNT && rc == STATUS_OK; s++) {
			long v = atomic_load(&requests[r][s]);
			if (v > 0)
				rc = buf_appendf(out,
				                 METRICS_PREFIX
				                 "requests_total{route=\"%s\",outcome="
				                 "\"%s\"} %ld\n",
				                 routes[r], status_str((enum status)s), v);
		}
	}
	return rc;
}

static enum status
render_upstream(struct buf *out)
{
	long cum = 0;
	enum status rc =
	    buf_append_str(out, "# HELP " METRICS_PREFIX "upstream_seconds Upstream call latency.\n"
	                        "# TYPE " METRICS_PREFIX "upstream_seconds histogram\n");

	for (size_t b = 0; b < N_BUCKETS && rc == STATUS_OK; b++) {
		cum += atomic_load(&upstream_bucket[b]);
		rc = buf_appendf(out, METRICS_PREFIX "upstream_seconds_bucket{le=\"%g\"} %ld\n",
		                 (double)buckets_ms[b] / 1000.0, cum);
	}
	cum += atomic_load(&upstream_bucket[N_BUCKETS]);
	if (rc == STATUS_OK)
		rc = buf_appendf(out,
		                 METRICS_PREFIX
		                 "upstream_seconds_bucket{le=\"+Inf\"} %ld\n" METRICS_PREFIX
		                 "upstream_seconds_sum %.3f\n" METRICS_PREFIX
		                 "upstream_seconds_count %ld\n",
		                 cum, (double)atomic_load(&upstream_sum_ms) / 1000.0, cum);
	if (rc == STATUS_OK)
		rc = buf_append_str(out, "# HELP " METRICS_PREFIX "upstream_errors_total Failed "
		                         "upstream calls by cause.\n# TYPE " METRICS_PREFIX
		                         "upstream_errors_total counter\n");
	for (int s = 1; s < STATUS__COUNT && rc == STATUS_OK; s++) {
		long v = atomic_load(&upstream_errors[s]);
		if (v > 0)
			rc = buf_appendf(out,
			                 METRICS_PREFIX "upstream_errors_total{cause=\"%s\"} %ld\n",
			                 status_str((enum status)s), v);
	}
	return rc;
}

static enum status
gauge(struct buf *out, const char *name, const char *type, const char *help, long v)
{
	return buf_appendf(out,
	                   "# HELP " METRICS_PREFIX "%s %s\n# TYPE " METRICS_PREFIX
	                   "%s %s\n" METRICS_PREFIX "%s %ld\n",
	                   name, help, name, type, name, v);
}

enum status
metrics_render(struct buf *out, const struct metrics_now *now)
{
	enum status rc = render_requests(out);

	if (rc == STATUS_OK)
		rc = render_upstream(out);
	if (rc == STATUS_OK)
		rc = render_closed(out);
	if (rc == STATUS_OK)
		rc = gauge(out, "upstream_connections_in_use", "gauge",
		           "Upstream connections borrowed by requests.", now->upstream_in_use);
	if (rc == STATUS_OK)
		rc = gauge(out, "upstream_calls_queued", "gauge",
		           "Upstream calls waiting for a free connection.", now->upstream_queued);
	if (rc == STATUS_OK)
		rc = gauge(out, "open_connections", "gauge",
		           "FastCGI connections open, this scrape's included.",
		           now->open_connections);
	if (rc == STATUS_OK)
		rc = gauge(out, "requests_in_flight", "gauge",
		           "Requests read and not answered yet, this scrape included.",
		           now->in_flight);
	if (rc == STATUS_OK)
		rc = gauge(out, "push_limited_total", "counter",
		           "Waits refused by the per-user push limit (max_pushes_per_user).",
		           atomic_load(&push_limited));
	if (rc == STATUS_OK)
		rc = gauge(
		    out, "code_limited_total", "counter",
		    "One-time codes refused unchecked: too many not accepted for the authyId.",
		    atomic_load(&code_limited));
	if (rc == STATUS_OK)
		rc = gauge(out, "log_lines_dropped_total", "counter",
		           "Log lines dropped because the journal, pipe or syslog daemon was full.",
		           log_dropped_lines());
	if (rc == STATUS_OK)
		rc = gauge(out, "pending_approvals", "gauge", "Approval requests still pending.",
		           now->pending_approvals);
	if (rc == STATUS_OK)
		rc = gauge(out, "waiting_requests", "gauge", "Requests waiting for an approval.",
		           now->waiting_requests);
	if (rc == STATUS_OK)
		rc = gauge(out, "polls_total", "counter", "Approval status polls.", now->polls);
	if (rc == STATUS_OK)
		rc = gauge(out, "poll_errors_total", "counter",
		           "Approval status polls that failed.", now->poll_errors);
	if (rc == STATUS_OK)
		rc = gauge(out, "reattached_total", "counter",
		           "Waits that joined a pending approval (B2C retries).", now->reattached);
	return rc;
}
