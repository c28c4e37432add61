/*
 * edge.h - the FastCGI edge on the event loop: it accepts connections (with a
 * cap), pre-reads each request with a deadline and caps on params and body
 * before libfcgi parses it, runs the router, notices client aborts, writes the
 * reply and the access line, keeps FCGI_KEEP_CONN connections, and drains.
 */
#ifndef B2CAUTHY_EDGE_H
#define B2CAUTHY_EDGE_H

#include "status.h"

struct config;
struct loop;
struct provider;
struct ratelimit;
struct tracker;
struct upstream;
struct edge;

struct edge_opts {
	int listen_fd; /* listening socket, made non-blocking; stays the caller's */
	const struct config *cfg;
	const struct provider *provider;
	struct loop *loop;
	struct tracker *tracker;
	struct ratelimit *push_limit; /* new pushes per authyId */
	struct ratelimit *code_limit; /* one-time codes not accepted per authyId */
	struct ratelimit *used_codes; /* one-time codes accepted, per authyId and code */
	struct upstream *up;
};

/*
 * edge_start - start accepting on opts->listen_fd. The opts pointers must
 * outlive the edge. Returns STATUS_OK with *out (edge_free), STATUS_CONFIG
 * when the system cannot buffer a request of max_params_bytes and
 * max_body_bytes (fcgi_io_feed_new), or STATUS_NOMEM / STATUS_INTERNAL. Loop
 * thread only.
 */
enum status edge_start(const struct edge_opts *opts, struct edge **out);

/*
 * edge_check_config - what edge_start checks of cfg before it accepts: that
 * the system can buffer a request of max_params_bytes and max_body_bytes
 * (net.core.wmem_max). STATUS_OK, STATUS_CONFIG when it cannot, or
 * STATUS_NOMEM / STATUS_INTERNAL. Opens and closes one socketpair; any thread.
 */
enum status edge_check_config(const struct config *cfg);

/*
 * edge_drain - stop accepting (the listening socket leaves the loop; the
 * caller may close it afterwards, never before) and close every connection
 * that has no request in flight (idle, stalled or half-sent) at once;
 * requests in flight finish, and those still running after the wait budget
 * are aborted. drained(arg) is
 * called on the loop thread once no request is left. Loop thread only.
 */
void edge_drain(struct edge *e, void (*drained)(void *arg), void *arg);

/*
 * edge_free - close every connection and free the edge (after the drain, with
 * the loop stopped). Requests still in flight (the loop failed) are aborted
 * first, so their handlers let go of them. NULL is a no-op. Loop thread only.
 */
void edge_free(struct edge *e);

#endif
