/*
 * edge.c - connections and requests on the loop (see edge.h). The loop reads
 * a connection into its own buffer until fcgi_scan says the whole request is
 * there; then libfcgi parses those bytes from a socketpair (so its reads
 * never wait, and the web server never has to hold more than its socket
 * buffer), and the reply goes out through libfcgi on the connection itself.
 * One context per request, freed at one point (finish), with exactly one
 * access line. Every handler runs on the loop thread; the asynchronous ones
 * finish through req_ctx_done.
 */
#define _GNU_SOURCE /* accept4 */
#include "edge.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "b2c.h"
#include "config.h"
#include "crypto.h"
#include "fcgi_io.h"
#include "fcgi_scan.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "router.h"
#include "util.h"

#define BUF_START 4096
#define SPARE_BUFS 64       /* read buffers of BUF_START bytes kept for the next requests */
#define DRAIN_GRACE_MS 2000 /* after the wait budget, before in-flight requests are aborted */
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 100 /* out of file descriptors: retry accepting after this */
#define RELEASE_AFTER_MS 25 /* an async request still running after this waits lean */

struct ereq;

struct conn {
	struct edge *e;
	int fd;
	struct loop_watch *w;
	struct loop_timer *deadline;
	struct fcgi_scan scan;
	unsigned char *buf; /* bytes of the request read so far, NULL while idle */
	size_t cap, len;
	struct ereq *req; /* the request in flight, or NULL */
	int lingering;    /* reply sent, the rest of an oversized body is read and dropped */
	int skipping;     /* ... record by record under FCGI_KEEP_CONN, to serve the next request */
	int half_closed;  /* the web server shut its sending side while its request ran */
	/* A record that arrives while a request runs (fcgi_scan_in_flight): */
	unsigned char mpx_rec[FCGI_SCAN_HEADER_LEN + FCGI_SCAN_MGMT_KEEP];
	size_t mpx_have;       /* bytes of mpx_rec so far: its header, then content kept */
	size_t mpx_keep;       /* a management record's content to gather into mpx_rec */
	size_t mpx_rest;       /* ... and what to drop after that */
	size_t mpx_skip;       /* content and padding still to drop */
	struct list_link link; /* in the edge's conns */
};

struct ereq {
	struct conn *c;
	struct fcgi_conn *fc;
	struct request req;
	struct response res;
	struct req_ctx ctx;
	int gone;        /* the web server dropped the connection */
	int abort_asked; /* it sent FCGI_ABORT_REQUEST: the reply is FCGI_END_REQUEST alone */
	int cancelled;   /* the handler's on_abort was called */
	int too_large;
	int dispatching;        /* inside the handler's first call */
	int done_early;         /* ... which already called req_ctx_done */
	enum status done_rc;    /* with this */
	int young;              /* async, in the edge's list of requests to release */
	long long young_ms;     /* when it went into that list */
	struct list_link ylink; /* in young while young */
};

struct edge {
	struct edge_opts o;
	struct fcgi_feed *feed; /* what libfcgi parses requests from */
	struct loop_watch *lw;
	struct loop_timer *accept_pause, *drain_timer;
	struct loop_timer *release_timer; /* armed while young is not empty */
	struct list_head young; /* async requests holding libfcgi's streams, oldest first */
	struct list_head conns;
	long nconns, inflight;
	unsigned long started; /* requests started, ever */
	int cap_logged;
	int draining;
	int unix_socket; /* the listener is a Unix socket: a peer's close shows as a hangup */
	void (*drained)(void *arg);
	void *drained_arg;
	size_t params_max, body_max, buf_max;
	unsigned char *spare[SPARE_BUFS]; /* free read buffers of BUF_START bytes */
	int nspare;
	char id_prefix[17];
	unsigned long next_id;
};

#define CONN(l) LIST_ITEM(l, struct conn, link)

/* The async request that has held libfcgi's streams longest, or NULL. */
static struct ereq *
oldest_young(const struct edge *e)
{
	return LIST_ITEM_OR_NULL(e->young.first, struct ereq, ylink);
}

static void conn_read(struct conn *c);
static void conn_skip(struct conn *c);
static void skip_start(struct conn *c);
static void finish(struct ereq *r, enum status rc);

/* c gives up its read buffer: a first-size one is kept for the next request. */
static void
buf_drop(struct conn *c)
{
	struct edge *e = c->e;

	if (c->buf != NULL && c->cap == BUF_START && e->nspare < SPARE_BUFS)
		e->spare[e->nspare++] = c->buf;
	else
		free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

/* Drained: no request in flight and no connection left (each closes after its reply). */
static void
check_drained(struct edge *e)
{
	if (e->draining && e->inflight == 0 && e->nconns == 0 && e->drained != NULL) {
		void (*fn)(void *) = e->drained;
		e->drained = NULL;
		loop_timer_disarm(e->drain_timer);
		fn(e->drained_arg);
	}
}

static void
conn_close(struct conn *c)
{
	struct edge *e = c->e;

	loop_watch_del(e->o.loop, c->w);
	loop_timer_free(c->deadline);
	if (c->fd >= 0)
		close(c->fd);
	buf_drop(c);
	list_unlink(&e->conns, &c->link);
	e->nconns--;
	free(c);
	check_drained(e);
}

/* What comes next on c must be in within request_read_timeout_ms (on_deadline). */
static void
arm_read_deadline(struct conn *c)
{
	loop_timer_arm(c->deadline,
	               loop_now_ms(c->e->o.loop) + c->e->o.cfg->request_read_timeout_ms);
}

/*
 * Back to waiting for a request: a new connection or a kept one, which may
 * hold the first bytes of the next records already (see leftover).
 */
static void
conn_idle(struct conn *c)
{
	memset(&c->scan, 0, sizeof(c->scan));
	if (c->len == 0)
		buf_drop(c);
	arm_read_deadline(c);
}

static void
on_deadline(void *arg)
{
	struct conn *c = arg;

	if (c->lingering || c->skipping)
		log_debug("stopped dropping an oversized body");
	else if (c->len == 0)
		log_debug("idle FastCGI connection closed after %ld ms",
		          c->e->o.cfg->request_read_timeout_ms);
	else {
		log_warnx("FastCGI request not complete within %ld ms (%zu bytes): connection "
		          "closed",
		          c->e->o.cfg->request_read_timeout_ms, c->len);
		metrics_conn_closed(METRICS_CLOSE_DEADLINE);
	}
	conn_close(c);
}

/* The handler stops its work, once: r ends through finish, now or later. */
static void
cancel(struct ereq *r)
{
	if (r->cancelled || r->ctx.on_abort == NULL)
		return;
	r->cancelled = 1;
	r->ctx.on_abort(&r->ctx); /* may finish r and close its connection */
}

static void
abort_request(struct ereq *r)
{
	if (r->gone)
		return;
	r->gone = 1;
	cancel(r);
}

/*
 * The last read of a connection whose request is in flight found the end of
 * the stream (n 0) or an error (n -1, errno err): the client went away. On a
 * Unix socket a close also hangs up (LOOP_ERROR), and an end of stream
 * without one is a web server that only shut its sending side
 * (shutdown(SHUT_WR)) and still reads the reply; over TCP the two look alike.
 */
static void
check_abort(struct conn *c, ssize_t n, int err, unsigned events)
{
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR))
		return;
	/* Level-triggered: stop watching, the connection closes after the request.
	 * A hangup is reported all the same, so a later close still aborts. */
	loop_watch_mod(c->e->o.loop, c->w, 0);
	if (n == 0 && c->e->unix_socket && !(events & LOOP_ERROR)) {
		c->half_closed = 1;
		return;
	}
	abort_request(c->req);
}

/* An answer to a management or abort record, at once; 0 when it did not go out whole. */
static int
send_now(struct conn *c, const unsigned char *p, size_t n)
{
	return send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n;
}

/* The record after the one gathered in mpx_rec: its rest is dropped first. */
static void
mpx_next(struct conn *c)
{
	c->mpx_have = 0;
	c->mpx_keep = 0;
	c->mpx_skip = c->mpx_rest;
	c->mpx_rest = 0;
}

/* A management record gathered (header and the content kept): answer it. */
static int
mgmt_answer(struct conn *c)
{
	unsigned char out[FCGI_SCAN_MGMT_REPLY_MAX];
	size_t n = fcgi_scan_mgmt_reply(c->mpx_rec, c->mpx_have, c->e->o.cfg->max_connections, out);

	mpx_next(c);
	return send_now(c, out, n);
}

/*
 * A whole record header read while a request runs (fcgi_scan_in_flight): a
 * management record is answered once its content is in; another request's
 * records are dropped and its BEGIN_REQUEST answered FCGI_CANT_MPX_CONN;
 * FCGI_ABORT_REQUEST marks the request, which the caller then cancels.
 * Returns 0 at anything else, or when an answer does not go out at once.
 */
static int
mpx_header(struct conn *c)
{
	unsigned char reply[FCGI_SCAN_CANT_MPX_LEN];
	size_t n;

	switch (fcgi_scan_in_flight(c->mpx_rec, c->scan.request_id, &c->mpx_keep, &c->mpx_rest)) {
	case FCGI_SCAN_FLIGHT_MGMT:
		return c->mpx_keep > 0 || mgmt_answer(c);
	case FCGI_SCAN_FLIGHT_ABORT:
		c->req->abort_asked = 1;
		break;
	case FCGI_SCAN_FLIGHT_FOREIGN:
		n = fcgi_scan_cant_mpx(c->mpx_rec, reply);
		if (n > 0 && !send_now(c, reply, n))
			return 0;
		break;
	default:
		return 0;
	}
	mpx_next(c);
	return 1;
}

/*
 * Bytes p[0..n) that came while a request runs, read now or with the request
 * (a web server that multiplexes may send the start of another request in the
 * same write): each record goes to mpx_header once its header is in. Returns
 * 0 at anything else: the request is aborted.
 */
static int
mpx_take(struct conn *c, const unsigned char *p, size_t n)
{
	size_t k, want;

	while (n > 0) {
		if (c->mpx_skip > 0) {
			k = c->mpx_skip < n ? c->mpx_skip : n;
			c->mpx_skip -= k;
		} else {
			want = FCGI_SCAN_HEADER_LEN + c->mpx_keep;
			k = want - c->mpx_have < n ? want - c->mpx_have : n;
			memcpy(c->mpx_rec + c->mpx_have, p, k);
			c->mpx_have += k;
			if (c->mpx_have == want &&
			    !(c->mpx_keep > 0 ? mgmt_answer(c) : mpx_header(c)))
				return 0;
		}
		p += k;
		n -= k;
	}
	return 1;
}

/*
 * FCGI_ABORT_REQUEST came for the running request: its handler stops, and
 * the reply is FCGI_END_REQUEST alone (finish). Returns 1 when the handler
 * was told, and c may be gone.
 */
static int
abort_asked(struct conn *c)
{
	struct ereq *r = c->req;
	struct log_rid rid;

	if (!r->abort_asked || r->cancelled || r->ctx.on_abort == NULL)
		return 0;
	log_rid_enter(&rid, r->ctx.id);
	log_info("the web server aborted the request (FCGI_ABORT_REQUEST)");
	log_rid_leave(&rid);
	cancel(r);
	return 1;
}

static void
mpx_abort(struct conn *c)
{
	loop_watch_mod(c->e->o.loop, c->w, 0);
	abort_request(c->req); /* may finish the request and close c */
}

/*
 * Readable while a request runs: what arrives goes to mpx_take; the end of
 * the connection, or an error, to check_abort.
 */
static void
in_flight(struct conn *c, unsigned events)
{
	unsigned char b[4096];
	ssize_t n;
	int err;

	while ((n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
		if (!mpx_take(c, b, (size_t)n)) {
			mpx_abort(c);
			return;
		}
	}
	err = errno;
	/* An end of the connection after it is seen when the loop calls again. */
	if (abort_asked(c))
		return;
	/* Judged by this read, not a second look: bytes that arrive after it are
	 * records for mpx_take the next time, not an abort. */
	check_abort(c, n, err, events);
}

/* Bytes read with a request that runs on, after its records: the first of what in_flight reads. */
static void
in_flight_leftover(struct conn *c)
{
	int ok = mpx_take(c, c->buf, c->len);

	c->len = 0;
	buf_drop(c);
	if (!ok)
		mpx_abort(c);
	else
		abort_asked(c);
}

/* Read and drop what arrives; returns 0 at EOF or on an error. */
static int
discard(struct conn *c)
{
	char b[4096];
	ssize_t n;

	while ((n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		;
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

static void
on_conn(void *arg, int fd, unsigned events)
{
	struct conn *c = arg;

	(void)fd;
	if (c->lingering) {
		if (!discard(c))
			conn_close(c);
	} else if (c->skipping) {
		conn_skip(c);
	} else if (c->req != NULL) {
		in_flight(c, events);
	} else {
		conn_read(c);
	}
}

/*
 * After a 413: drop the rest of the body until the web server closes (within
 * request_read_timeout_ms), so that closing first does not reset the reply.
 */
static void
conn_linger(struct conn *c)
{
	c->lingering = 1;
	shutdown(c->fd, SHUT_WR);
	arm_read_deadline(c);
}

/*
 * The web server's request id (REQUEST_ID) when it is sane, else a generated
 * one. Never a header's (HTTP_X_REQUEST_ID): the caller chooses that one, and
 * a web server that strips X-Request-Id may still pass X_Request_Id under the
 * same name (lighttpd does).
 */
static void
set_request_id(struct edge *e, struct req_ctx *ctx, const struct request *req)
{
	const char *rid = request_param(req, REQUEST_P_REQUEST_ID);
	size_t n;

	n = rid ? strlen(rid) : 0;
	if (n > 0 && n < sizeof(ctx->id) &&
	    strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-") == n)
		util_strlcpy(ctx->id, rid, sizeof(ctx->id));
	else
		snprintf(ctx->id, sizeof(ctx->id), "%s%08lx", e->id_prefix,
		         e->next_id++ & 0xffffffffUL);
	log_set_request_id(ctx->id);
}

static void
access_line(const struct ereq *r, enum status rc)
{
	char method[48], path[200];

	log_fields(LOG_LVL_INFO,
	           "event=access method=%s path=%s route=%s status=%d outcome=%s "
	           "upstream_calls=%u upstream_ms=%ld ms=%lld",
	           util_quote(r->req.method[0] ? r->req.method : "-", method, sizeof(method)),
	           util_quote(r->req.path, path, sizeof(path)), r->ctx.route, r->res.http_status,
	           status_str(rc), r->ctx.upstream_calls, r->ctx.upstream_ms,
	           util_now_ms() - r->ctx.start_ms);
}

static enum fcgi_scan_result scan(struct conn *c);

static void
log_violation(struct conn *c)
{
	log_warnx("FastCGI protocol violation: %s: connection closed", c->scan.why);
	metrics_conn_closed(METRICS_CLOSE_PROTOCOL);
}

/*
 * The bytes read with a request that ended at once, after its records (none
 * after one that ran on: in_flight took them), once its reply is out. Under
 * FCGI_KEEP_CONN the web server may have sent FCGI_ABORT_REQUEST for it
 * before the reply reached it, ignored now that the request has ended, or a
 * management record, answered: scan cuts both out, as ahead of a request,
 * and a record cut short stays for the next read. Returns 0 when the
 * connection closes: a protocol violation, or the next request's records
 * sent before this reply.
 */
static int
leftover(struct conn *c)
{
	enum fcgi_scan_result r;

	if (c->len == 0)
		return 1;
	memset(&c->scan, 0, sizeof(c->scan));
	r = scan(c);
	if (r == FCGI_SCAN_BAD)
		log_violation(c);
	else if (c->scan.began) {
		log_warnx("FastCGI: the next request began before the reply to this one (no "
		          "multiplexing): connection closed");
		metrics_conn_closed(METRICS_CLOSE_PROTOCOL);
	}
	return r == FCGI_SCAN_MORE && !c->scan.began;
}

/* Write the reply; 1 when it went out (what stopped it is logged). */
static int
reply(struct ereq *r)
{
	enum status rc = STATUS_ABORTED;

	if (!r->gone && r->abort_asked)
		rc = fcgi_io_write_end(r->c->e->feed, r->fc);
	else if (!r->gone)
		rc = fcgi_io_write_response(r->c->e->feed, r->fc, &r->res);
	if (rc == STATUS_INTERNAL)
		log_warnx("cannot hand the reply to libfcgi: connection closed");
	else if (rc == STATUS_UNAVAILABLE) {
		log_warnx("web server does not read its replies: connection closed");
		metrics_conn_closed(METRICS_CLOSE_UNREAD);
	} else if (rc != STATUS_OK)
		log_info("web server closed the connection before the reply");
	return rc == STATUS_OK;
}

/* End the request (this frees libfcgi's params); 1 when the connection stays open. */
static int
end_request(struct ereq *r)
{
	int fin = fcgi_io_finish(r->fc);

	if (fin < 0)
		r->c->fd = -1; /* libfcgi closed it */
	return fin == 1 && !r->c->e->draining && !r->c->half_closed && r->c->mpx_have == 0 &&
	       r->c->mpx_skip == 0;
}

static void
young_del(struct edge *e, struct ereq *r)
{
	if (!r->young)
		return;
	list_unlink(&e->young, &r->ylink);
	r->young = 0;
}

/*
 * An async request that runs past RELEASE_AFTER_MS (a wait, a slow call)
 * keeps only its params, path and body; most calls end before that and keep
 * libfcgi's streams for their reply. The list is in arrival order, so the
 * timer only ever looks at its head.
 */
static void
young_add(struct edge *e, struct ereq *r)
{
	long long now = loop_now_ms(e->o.loop);

	if (e->young.first == NULL)
		loop_timer_arm(e->release_timer, now + RELEASE_AFTER_MS);
	r->young = 1;
	r->young_ms = now;
	list_push_back(&e->young, &r->ylink);
}

static void
on_release(void *arg)
{
	struct edge *e = arg;
	long long cut = loop_now_ms(e->o.loop) - RELEASE_AFTER_MS;
	struct ereq *r;

	while ((r = oldest_young(e)) != NULL && r->young_ms <= cut) {
		young_del(e, r);
		if (fcgi_io_release(r->fc, &r->req) != STATUS_OK)
			log_debug("request kept whole while it waits: out of memory");
	}
	if ((r = oldest_young(e)) != NULL)
		loop_timer_arm(e->release_timer, r->young_ms + RELEASE_AFTER_MS);
}

/* The one end of every request: reply, access line, metrics, free. */
static void
finish(struct ereq *r, enum status rc)
{
	struct conn *c = r->c;
	struct edge *e = c->e;
	int sent, keep, skip, linger;
	struct log_rid rid;

	young_del(e, r);
	log_rid_enter(&rid, r->ctx.id);
	sent = reply(r);
	/* A reply that never went out is an aborted request, whatever it said. */
	if (!sent || r->abort_asked)
		rc = STATUS_ABORTED;
	access_line(r, rc);
	metrics_request(r->ctx.route, rc);
	keep = sent && end_request(r);
	/* After a 413 a kept connection goes on once the rest of the body is dropped. */
	skip = keep && r->too_large;
	keep = keep && !r->too_large && leftover(c);
	linger = sent && !keep && !skip && r->too_large && c->fd >= 0 && !e->draining;
	fcgi_io_conn_free(r->fc);
	response_free(&r->res);
	free(r);
	c->req = NULL;
	e->inflight--;
	log_rid_leave(&rid);
	if (keep) {
		conn_idle(c);
	} else if (skip) {
		skip_start(c);
	} else if (linger) {
		conn_linger(c);
	} else {
		conn_close(c);
	}
	check_drained(e);
}

static struct ereq *
ereq_of(struct req_ctx *ctx)
{
	return (struct ereq *)(void *)((char *)ctx - offsetof(struct ereq, ctx));
}

/* req_ctx_done of an async handler. */
static void
on_done(struct req_ctx *ctx, enum status rc)
{
	struct ereq *r = ereq_of(ctx);

	if (r->dispatching) {
		r->done_early = 1;
		r->done_rc = rc;
		return;
	}
	router_complete(ctx, rc, &r->res);
	finish(r, rc);
}

/* Run the handler on the loop; an asynchronous one finishes through on_done. */
static void
dispatch(struct ereq *r)
{
	enum status rc;

	r->ctx.open_connections = r->c->e->nconns;
	r->ctx.in_flight = r->c->e->inflight;
	r->dispatching = 1;
	rc = router_dispatch(&r->ctx, &r->res);
	r->dispatching = 0;
	if (rc == STATUS_ASYNC && r->done_early) {
		rc = r->done_rc;
		router_complete(&r->ctx, rc, &r->res);
	} else if (rc == STATUS_ASYNC) {
		young_add(r->c->e, r);
		if (r->c->len > 0)
			in_flight_leftover(r->c);
		return;
	}
	finish(r, rc);
}

static struct ereq *
ereq_new(struct conn *c, int too_large)
{
	struct edge *e = c->e;
	struct ereq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fc = fcgi_io_conn_new();
	if (r->fc == NULL) {
		free(r);
		return NULL;
	}
	r->c = c;
	r->too_large = too_large;
	r->ctx = (struct req_ctx){.req = &r->req,
	                          .cfg = e->o.cfg,
	                          .provider = e->o.provider,
	                          .loop = e->o.loop,
	                          .up = e->o.up,
	                          .tracker = e->o.tracker,
	                          .push_limit = e->o.push_limit,
	                          .code_limit = e->o.code_limit,
	                          .used_codes = e->o.used_codes,
	                          .done_fn = on_done};
	r->ctx.start_ms = loop_now_ms(e->o.loop);
	r->ctx.deadline_ms = r->ctx.start_ms + e->o.cfg->wait_budget_ms;
	util_strlcpy(r->ctx.route, "other", sizeof(r->ctx.route));
	return r;
}

/*
 * libfcgi parses the request's bytes; they leave the buffer (anything after
 * them stays: a request that runs on takes it as in_flight would, one that
 * ends at once as leftover says). The reply goes to the connection.
 */
static struct ereq *
parse_request(struct conn *c, int too_large)
{
	struct ereq *r = ereq_new(c, too_large);
	enum status rc;

	if (r == NULL) {
		log_warnx("out of memory for a request");
		return NULL;
	}
	/* Padding that libfcgi misreads would let it parse other records than
	 * the ones checked, wait for bytes that never come, or leave bytes in
	 * the feed for the next connection's request. */
	rc = fcgi_io_parse(c->e->feed, r->fc, c->buf, fcgi_scan_unpad(c->buf, c->scan.used));
	if (rc != STATUS_OK) {
		if (rc == STATUS_BAD_REQUEST) {
			log_warnx("FastCGI request refused by libfcgi");
			metrics_conn_closed(METRICS_CLOSE_PROTOCOL);
		} else
			log_warn("cannot hand a request to libfcgi");
		fcgi_io_conn_free(r->fc);
		free(r);
		return NULL;
	}
	c->len -= c->scan.used;
	if (c->len > 0) {
		memmove(c->buf, c->buf + c->scan.used, c->len);
	} else {
		buf_drop(c); /* nothing to hold while the request runs */
	}
	return r;
}

/* The whole request has arrived (or its body is over the cap): parse and run it. */
static void
start_request(struct conn *c, int too_large)
{
	struct edge *e = c->e;
	struct ereq *r;
	enum status rc;

	loop_timer_disarm(c->deadline);
	r = parse_request(c, too_large);
	if (r == NULL) {
		conn_close(c);
		return;
	}
	c->req = r;
	e->inflight++;
	e->started++;
	rc = fcgi_io_read_request(r->fc, e->body_max, too_large, &r->req);
	fcgi_io_attach(e->feed, r->fc, c->fd);
	r->req.now_s = (long long)time(NULL);
	set_request_id(e, &r->ctx, &r->req);
	if (rc != STATUS_OK) {
		log_warnx("request refused: %s", status_str(rc));
		b2c_reply_error(&r->res, rc, r->ctx.id);
		finish(r, rc);
	} else {
		dispatch(r);
	}
	/* The loop's own lines, and the calls it starts (polls), carry no request's id. */
	log_set_request_id(NULL);
}

/* Read what has arrived; returns 1 to go on, 0 at EOF or on an error. */
static int
read_more(struct conn *c)
{
	size_t max = c->e->buf_max;

	while (c->len < max) {
		ssize_t n;
		if (c->cap == 0 && c->e->nspare > 0) {
			c->buf = c->e->spare[--c->e->nspare];
			c->cap = BUF_START;
		}
		if (c->len == c->cap) {
			size_t want = c->cap ? c->cap * 2 : BUF_START;
			unsigned char *b = realloc(c->buf, want < max ? want : max);
			if (b == NULL)
				break;
			c->buf = b;
			c->cap = want < max ? want : max;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			size_t room = c->cap - c->len;
			c->len += (size_t)n;
			if ((size_t)n < room)
				break; /* all there was: the loop calls again when more arrives */
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		return 0;
	}
	return 1;
}

/* The answer to the record fcgi_scan_step stopped at (FCGI_SCAN_MGMT or _ABORTED); 1 when sent. */
static int
scan_answer(struct conn *c, enum fcgi_scan_result r)
{
	unsigned char out[FCGI_SCAN_MGMT_REPLY_MAX];
	size_t n;

	if (r == FCGI_SCAN_MGMT)
		n = fcgi_scan_mgmt_reply(c->buf + c->scan.mgmt_at, c->scan.used - c->scan.mgmt_at,
		                         c->e->o.cfg->max_connections, out);
	else
		n = fcgi_scan_end_request(c->scan.request_id, out);
	return send_now(c, out, n);
}

/*
 * Check what has arrived. A management record, ahead of a request or among
 * its records (FCGI_GET_VALUES, or a type we do not know), is answered and
 * cut out, as the FastCGI specification asks; so is FCGI_ABORT_REQUEST
 * before the request is complete (FCGI_END_REQUEST), with the request's
 * records, when the connection is kept (else FCGI_SCAN_ABORTED: close). One
 * for a request that has ended or never began is cut out unanswered. An
 * answer that does not go out at once closes the connection.
 */
static enum fcgi_scan_result
scan(struct conn *c)
{
	struct edge *e = c->e;
	enum fcgi_scan_result r;
	size_t at;

	for (;;) {
		r = fcgi_scan_step(&c->scan, c->buf, c->len, e->params_max, e->body_max);
		if (r != FCGI_SCAN_MGMT && r != FCGI_SCAN_ABORTED && r != FCGI_SCAN_STALE)
			return r;
		if (r != FCGI_SCAN_STALE && !scan_answer(c, r)) {
			util_strlcpy(c->scan.why, "management record or abort not answered",
			             sizeof(c->scan.why));
			return FCGI_SCAN_BAD;
		}
		if (r == FCGI_SCAN_STALE)
			log_debug("FCGI_ABORT_REQUEST for a request not running here: ignored");
		if (r == FCGI_SCAN_ABORTED) {
			log_info("the web server aborted a request before it was complete "
			         "(FCGI_ABORT_REQUEST)");
			if (!c->scan.keep_conn)
				return r;
		}
		at = r == FCGI_SCAN_ABORTED ? 0 : c->scan.mgmt_at;
		memmove(c->buf + at, c->buf + c->scan.used, c->len - c->scan.used);
		c->len -= c->scan.used - at;
		if (r == FCGI_SCAN_ABORTED)
			memset(&c->scan, 0, sizeof(c->scan));
		else
			c->scan.used = at;
	}
}

static void
conn_read(struct conn *c)
{
	struct edge *e = c->e;
	int more = read_more(c);
	enum fcgi_scan_result r = FCGI_SCAN_MORE;

	if (c->len > 0)
		r = scan(c);
	if (r == FCGI_SCAN_BAD) {
		/* Also when the peer closed right after: the violation is what it sent. */
		log_violation(c);
		conn_close(c);
	} else if (r == FCGI_SCAN_ABORTED) {
		conn_close(c); /* answered; without FCGI_KEEP_CONN the connection ends */
	} else if (!more && r == FCGI_SCAN_MORE) {
		if (c->len > 0)
			log_info("web server closed a FastCGI connection mid-request (%zu bytes)",
			         c->len);
		conn_close(c);
	} else if (r == FCGI_SCAN_MORE && c->len >= e->buf_max) {
		log_warnx("FastCGI request over %zu bytes: connection closed", e->buf_max);
		metrics_conn_closed(METRICS_CLOSE_TOO_LARGE);
		conn_close(c);
	} else if (r == FCGI_SCAN_MORE && e->draining) {
		if (c->len > 0)
			log_info("draining: a request not complete (%zu bytes): connection closed",
			         c->len);
		conn_close(c);
	} else if (r != FCGI_SCAN_MORE) {
		start_request(c, r == FCGI_SCAN_TOO_LARGE);
	}
}

/*
 * Drop the checked records of an oversized body from buf (its STDIN content,
 * a management record once answered, FCGI_ABORT_REQUEST for the request that
 * has been answered). Returns 1 once its empty STDIN record has come (buf
 * then holds what followed), 0 while more is to come, -1 to close.
 */
static int
skip_body(struct conn *c)
{
	enum fcgi_scan_result r;

	for (;;) {
		r = fcgi_scan_step(&c->scan, c->buf, c->len, c->e->params_max, SIZE_MAX);
		if (r == FCGI_SCAN_BAD) {
			log_violation(c);
			return -1;
		}
		if (r == FCGI_SCAN_MGMT && !scan_answer(c, r))
			return -1;
		c->len -= c->scan.used;
		memmove(c->buf, c->buf + c->scan.used, c->len);
		c->scan.used = 0;
		if (r == FCGI_SCAN_READY)
			return 1;
		if (r == FCGI_SCAN_MORE)
			return 0;
	}
}

/* Readable while an oversized body is dropped: once it has all come, the next request. */
static void
conn_skip(struct conn *c)
{
	int more = read_more(c);
	int r = c->len > 0 ? skip_body(c) : 0;

	if (r < 0 || (r == 0 && !more)) {
		conn_close(c);
	} else if (r == 1) {
		c->skipping = 0;
		conn_idle(c);
		if (c->len > 0)
			conn_read(c);
	}
}

/*
 * After the 413 under FCGI_KEEP_CONN: the web server keeps the connection
 * once it has sent the whole body, and sends its next request on it, so the
 * rest of the body is read and dropped by its records (within
 * request_read_timeout_ms) instead of closing or lingering.
 */
static void
skip_start(struct conn *c)
{
	c->skipping = 1;
	c->scan.used = 0; /* its checked records left the buffer for libfcgi */
	arm_read_deadline(c);
	conn_skip(c);
}

static void
conn_new(struct edge *e, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return;
	}
	c->e = e;
	c->fd = fd;
	if (loop_timer_new(e->o.loop, on_deadline, c, &c->deadline) != STATUS_OK ||
	    loop_watch_add(
	        e->o.loop,
	        &(struct loop_watch_opts){.fd = fd, .events = LOOP_READ, .fn = on_conn, .arg = c},
	        &c->w) != STATUS_OK) {
		loop_timer_free(c->deadline);
		free(c);
		close(fd);
		log_warnx("cannot watch a new connection");
		return;
	}
	list_push_front(&e->conns, &c->link);
	e->nconns++;
	conn_idle(c);
}

static void
on_accept_pause(void *arg)
{
	struct edge *e = arg;

	if (!e->draining)
		loop_watch_mod(e->o.loop, e->lw, LOOP_READ);
}

/* accept() failed: out of descriptors (or worse) pauses the listener instead of spinning. */
static void
accept_failed(struct edge *e)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
		return;
	log_warn("accept");
	loop_watch_mod(e->o.loop, e->lw, 0);
	loop_timer_arm(e->accept_pause, loop_now_ms(e->o.loop) + ACCEPT_PAUSE_MS);
}

static void
on_listen(void *arg, int fd, unsigned events)
{
	struct edge *e = arg;

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s < 0) {
			accept_failed(e);
			return;
		}
		if (e->nconns >= e->o.cfg->max_connections) {
			close(s);
			metrics_conn_closed(METRICS_CLOSE_CAP);
			if (!e->cap_logged)
				log_warnx(
				    "max_connections (%ld) reached: new connections are closed",
				    e->o.cfg->max_connections);
			e->cap_logged = 1;
			continue;
		}
		e->cap_logged = 0;
		conn_new(e, s);
	}
}

/*
 * Abort every request in flight. An abort may finish other requests and close
 * their connections (a re-attached retry), so the scan starts over after each
 * one; a request is aborted once.
 */
static void
abort_all(struct edge *e)
{
	struct list_link *l = e->conns.first;

	while (l != NULL) {
		struct conn *c = CONN(l);
		if (c->req != NULL && !c->req->gone) {
			abort_request(c->req);
			l = e->conns.first;
		} else {
			l = l->next;
		}
	}
}

static void
on_drain_timeout(void *arg)
{
	struct edge *e = arg;

	log_warnx("requests still running after the drain budget: aborting them");
	abort_all(e);
	while (e->conns.first != NULL)
		conn_close(CONN(e->conns.first)); /* their replies could not be written */
}

/* The largest request the edge buffers and hands to libfcgi: params, body and records. */
static size_t
request_max(const struct config *cfg)
{
	return (size_t)cfg->max_params_bytes + (size_t)cfg->max_body_bytes + 2 * 65536;
}

enum status
edge_check_config(const struct config *cfg)
{
	struct fcgi_feed *feed = NULL;
	enum status rc = fcgi_io_feed_new(request_max(cfg), &feed);

	fcgi_io_feed_free(feed);
	return rc;
}

static enum status
edge_init(struct edge *e, const struct edge_opts *opts)
{
	const struct config *cfg = opts->cfg;
	int fl = fcntl(opts->listen_fd, F_GETFL);
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	enum status rc;

	e->o = *opts;
	e->unix_socket = getsockname(opts->listen_fd, (struct sockaddr *)&sa, &salen) == 0 &&
	                 sa.ss_family == AF_UNIX;
	e->params_max = (size_t)cfg->max_params_bytes;
	e->body_max = (size_t)cfg->max_body_bytes;
	e->buf_max = request_max(cfg);
	if (fl < 0 || fcntl(opts->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return STATUS_INTERNAL;
	if (crypto_random_hex(4, e->id_prefix, sizeof(e->id_prefix)) != STATUS_OK)
		return STATUS_INTERNAL;
	rc = fcgi_io_feed_new(e->buf_max, &e->feed);
	if (rc != STATUS_OK)
		return rc;
	if (loop_timer_new(opts->loop, on_accept_pause, e, &e->accept_pause) != STATUS_OK ||
	    loop_timer_new(opts->loop, on_drain_timeout, e, &e->drain_timer) != STATUS_OK ||
	    loop_timer_new(opts->loop, on_release, e, &e->release_timer) != STATUS_OK)
		return STATUS_NOMEM;
	return loop_watch_add(
	    opts->loop,
	    &(struct loop_watch_opts){
	        .fd = opts->listen_fd, .events = LOOP_READ, .fn = on_listen, .arg = e},
	    &e->lw);
}

enum status
edge_start(const struct edge_opts *opts, struct edge **out)
{
	struct edge *e = calloc(1, sizeof(*e));
	enum status rc;

	if (e == NULL)
		return STATUS_NOMEM;
	rc = edge_init(e, opts);
	if (rc != STATUS_OK) {
		edge_free(e);
		e = NULL;
	}
	*out = e;
	return rc;
}

void
edge_drain(struct edge *e, void (*drained)(void *arg), void *arg)
{
	struct list_link *next;
	long idle = 0, served = 0;

	e->draining = 1;
	e->drained = drained;
	e->drained_arg = arg;
	loop_watch_del(e->o.loop, e->lw);
	e->lw = NULL;
	loop_timer_disarm(e->accept_pause);
	loop_timer_arm(e->drain_timer,
	               loop_now_ms(e->o.loop) + e->o.cfg->wait_budget_ms + DRAIN_GRACE_MS);
	/*
	 * A connection without a request may hold one that has arrived unread
	 * (the signal came first in the batch): it is read and served, and its
	 * connection closes after the reply; the others close now. A started
	 * request may end other requests and close their connections, so the
	 * scan starts over after each.
	 */
	for (struct list_link *l = e->conns.first; l != NULL; l = next) {
		struct conn *c = CONN(l);
		unsigned long before = e->started;
		next = l->next;
		if (c->req != NULL)
			continue;
		if (c->lingering || c->skipping) {
			conn_close(c);
			idle++;
			continue;
		}
		conn_read(c);
		if (e->started != before) {
			served++;
			next = e->conns.first;
		} else {
			idle++;
		}
	}
	log_info("draining: %ld connections without a request closed, %ld requests that had "
	         "arrived served, %ld requests in flight",
	         idle, served, e->inflight);
	check_drained(e);
}

void
edge_free(struct edge *e)
{
	if (e == NULL)
		return;
	abort_all(e); /* none after a drain; the loop failed otherwise */
	while (e->conns.first != NULL) {
		struct conn *c = CONN(e->conns.first);
		if (c->req != NULL) {
			fcgi_io_conn_free(c->req->fc);
			response_free(&c->req->res);
			free(c->req);
		}
		conn_close(c);
	}
	loop_watch_del(e->o.loop, e->lw);
	loop_timer_free(e->accept_pause);
	loop_timer_free(e->drain_timer);
	loop_timer_free(e->release_timer);
	fcgi_io_feed_free(e->feed);
	while (e->nspare > 0)
		free(e->spare[--e->nspare]);
	free(e);
}
