/*
 * worker.c - per-thread accept loop: request in -> router -> response out,
 * with one context per request freed at one point, the request id set for the
 * log, and exactly one access line per request.
 */
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b2c.h"
#include "config.h"
#include "crypto.h"
#include "fcgi_io.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "util.h"

struct workers {
	struct worker_opts opts;
	char id_prefix[17];   /* random per process, so ids from instances differ */
	atomic_ulong next_id; /* request ids: prefix + counter, no per-thread RNG state */
	pthread_mutex_t lock;
	pthread_cond_t exited;
	pthread_attr_t attr;
	int total; /* threads alive */
	int idle;  /* threads blocked in accept */
	int busy;  /* threads handling a request */
	int limit; /* max_workers, plus one thread that answers 503 */
	bool stopping;
};

static void *worker_main(void *arg);

/* Start one more thread. Lock held. */
static enum status
spawn(struct workers *w)
{
	pthread_t th;

	if (pthread_create(&th, &w->attr, worker_main, w) != 0) {
		log_warn("cannot start a worker thread");
		return STATUS_INTERNAL;
	}
	w->total++;
	return STATUS_OK;
}

/* A request id from the web server when it is sane, else a random one. */
static void
set_request_id(struct workers *w, struct req_ctx *ctx, const struct request *req)
{
	const char *rid = request_param(req, REQUEST_P_REQUEST_ID);

	if (rid == NULL)
		rid = request_param(req, REQUEST_P_HTTP_REQUEST_ID);
	if (rid != NULL && strlen(rid) < sizeof(ctx->id) &&
	    strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") ==
	        strlen(rid) &&
	    *rid != '\0') {
		util_strlcpy(ctx->id, rid, sizeof(ctx->id));
	} else {
		snprintf(ctx->id, sizeof(ctx->id), "%s%08lx", w->id_prefix,
		         atomic_fetch_add(&w->next_id, 1) & 0xffffffffUL);
	}
	log_set_request_id(ctx->id);
}

static void
access_line(const struct req_ctx *ctx, const struct request *req, const struct response *res,
            enum status rc)
{
	char method[16], path[96];

	log_fields(LOG_LVL_INFO,
	           "event=access method=%s path=\"%s\" route=%s status=%d outcome=%s "
	           "upstream_calls=%u upstream_ms=%ld ms=%lld",
	           util_sanitize(req->method[0] ? req->method : "-", method, sizeof(method)),
	           util_sanitize(req->path, path, sizeof(path)), ctx->route, res->http_status,
	           status_str(rc), ctx->upstream_calls, ctx->upstream_ms,
	           util_now_ms() - ctx->start_ms);
}

static void
handle(struct workers *w, struct fcgi_conn *c, bool overloaded)
{
	const struct config *cfg = w->opts.cfg;
	struct request req;
	struct response res = {0};
	struct req_ctx ctx = {.cfg = cfg, .exec = w->opts.exec, .tracker = w->opts.tracker};
	enum status rc;

	ctx.push_limit = w->opts.push_limit;
	ctx.code_limit = w->opts.code_limit;
	ctx.start_ms = util_now_ms();
	ctx.deadline_ms = ctx.start_ms + cfg->wait_budget_ms;
	ctx.req = &req;
	util_strlcpy(ctx.route, "other", sizeof(ctx.route));
	rc = fcgi_io_read_request(c, (size_t)cfg->max_body_bytes, &req);
	req.now_s = (long long)time(NULL);
	set_request_id(w, &ctx, &req);
	if (rc == STATUS_OK && overloaded)
		rc = STATUS_UNAVAILABLE;
	if (rc != STATUS_OK) {
		log_warnx("request refused: %s", status_str(rc));
		b2c_reply_error(&res, rc, ctx.id);
	} else {
		rc = router_dispatch(&ctx, &res);
	}
	if (fcgi_io_write_response(c, &res) != STATUS_OK)
		log_info("web server closed the connection before the reply");
	access_line(&ctx, &req, &res, rc);
	metrics_request(ctx.route, rc);
	response_free(&res);
	log_set_request_id(NULL);
}

/* After an accept: leave the idle set and grow when nobody is left accepting. */
static bool
enter_busy(struct workers *w)
{
	bool overloaded;

	pthread_mutex_lock(&w->lock);
	w->idle--;
	w->busy++;
	overloaded = w->busy > w->opts.cfg->max_workers;
	if (w->idle == 0 && w->total < w->limit && !w->stopping)
		spawn(w);
	pthread_mutex_unlock(&w->lock);
	return overloaded;
}

/*
 * Back from a request: true when this thread should exit because a burst is
 * over and enough threads already wait in accept (the pool shrinks back to
 * `workers`, returning the memory of the burst).
 */
static bool
leave_busy(struct workers *w)
{
	bool surplus;

	pthread_mutex_lock(&w->lock);
	w->busy--;
	surplus = w->idle >= w->opts.cfg->workers && w->total > w->opts.cfg->workers;
	pthread_mutex_unlock(&w->lock);
	return surplus;
}

static void *
worker_main(void *arg)
{
	struct workers *w = arg;
	struct fcgi_conn *c = fcgi_io_conn_new(w->opts.listen_fd);

	while (c != NULL) {
		pthread_mutex_lock(&w->lock);
		if (w->stopping) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->idle++;
		pthread_mutex_unlock(&w->lock);
		if (fcgi_io_accept(c) != STATUS_OK) {
			pthread_mutex_lock(&w->lock);
			w->idle--;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		handle(w, c, enter_busy(w));
		fcgi_io_finish(c);
		if (leave_busy(w))
			break;
	}
	fcgi_io_conn_free(c);
	pthread_mutex_lock(&w->lock);
	w->total--;
	pthread_cond_broadcast(&w->exited);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

enum status
workers_start(const struct worker_opts *opts, struct workers **out)
{
	struct workers *w = calloc(1, sizeof(*w));
	enum status rc = STATUS_OK;

	if (w == NULL)
		return STATUS_NOMEM;
	w->opts = *opts;
	if (crypto_random_hex(4, w->id_prefix, sizeof(w->id_prefix)) != STATUS_OK) {
		free(w);
		return STATUS_INTERNAL;
	}
	w->limit = (int)opts->cfg->max_workers + 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->exited, NULL);
	pthread_attr_init(&w->attr);
	pthread_attr_setdetachstate(&w->attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&w->attr, (size_t)opts->stack_size);
	pthread_mutex_lock(&w->lock);
	for (long i = 0; i < opts->cfg->workers && rc == STATUS_OK; i++)
		rc = spawn(w);
	pthread_mutex_unlock(&w->lock);
	if (rc != STATUS_OK) {
		workers_stop(w);
		w = NULL;
	}
	*out = w;
	return rc;
}

void
workers_stop(struct workers *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_mutex_unlock(&w->lock);
	fcgi_io_shutdown(w->opts.listen_fd);
	pthread_mutex_lock(&w->lock);
	while (w->total > 0)
		pthread_cond_wait(&w->exited, &w->lock);
	pthread_mutex_unlock(&w->lock);
	pthread_attr_destroy(&w->attr);
	pthread_cond_destroy(&w->exited);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
