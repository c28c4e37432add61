/*
 * metrics.h - process-wide counters rendered in the Prometheus text format:
 * requests by route and outcome, upstream call latency and errors, the
 * connections the edge closed on its own, and the tracker's gauges.
 */
#ifndef B2CAUTHY_METRICS_H
#define B2CAUTHY_METRICS_H

#include "status.h"

struct buf;

#define METRICS_PREFIX "b2c_authy_"

/*
 * metrics_request - count one finished request on route (a router route name;
 * unknown names count as "other") with outcome rc. Thread-safe (atomics).
 */
void metrics_request(const char *route, enum status rc);

/*
 * metrics_upstream - record one upstream call: its duration and outcome rc
 * (STATUS_OK or the error status). Thread-safe.
 */
void metrics_upstream(long elapsed_ms, enum status rc);

/*
 * metrics_push_limited - count one wait refused by the per-user push limit.
 * Thread-safe.
 */
void metrics_push_limited(void);

/*
 * metrics_code_limited - count one one-time code refused because its authyId
 * used up max_code_attempts (b2c_authy_code_limited_total). Thread-safe.
 */
void metrics_code_limited(void);

/* Why the edge closed a FastCGI connection on its own. */
enum metrics_close {
	METRICS_CLOSE_PROTOCOL,  /* a record broke the protocol or a cap; libfcgi refused it */
	METRICS_CLOSE_TOO_LARGE, /* the request outgrew the largest read buffer */
	METRICS_CLOSE_DEADLINE,  /* not complete within request_read_timeout_ms */
	METRICS_CLOSE_CAP,       /* accepted over max_connections */
	METRICS_CLOSE_UNREAD,    /* the web server left its replies unread */
	METRICS_CLOSE__COUNT
};

/*
 * metrics_conn_closed - count one connection the edge closed for why
 * (b2c_authy_connections_closed_total{reason}). Thread-safe.
 */
void metrics_conn_closed(enum metrics_close why);

/* What the responder holds now, read off its modules when /metrics asks. */
struct metrics_now {
	long open_connections; /* FastCGI connections open (req_ctx) */
	long in_flight;        /* requests read and not answered yet (req_ctx) */
	int upstream_in_use;   /* upstream calls in flight (upstream_active) */
	int upstream_queued;   /* upstream calls waiting for a connection (upstream_queued) */
	/* the approval tracker's (tracker_get_stats) */
	long pending_approvals; /* approvals still pending */
	long waiting_requests;  /* requests waiting for one */
	long polls;             /* status polls made since start */
	long poll_errors;       /* polls that failed */
	long reattached;        /* waits that joined a pending approval */
};

/*
 * metrics_render - append the exposition text to out: the counters kept
 * here and the gauges of now. STATUS_OK or the buf error. Thread-safe.
 */
enum status metrics_render(struct buf *out, const struct metrics_now *now);

#endif
