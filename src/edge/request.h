/*
 * request.h - the plain request and response a handler sees, and the per-request
 * context that owns everything allocated for one request. No library types here,
 * so handlers are testable without libfcgi, curl or threads.
 */
#ifndef B2CAUTHY_REQUEST_H
#define B2CAUTHY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct config;
struct loop;
struct provider;
struct ratelimit;
struct tracker;
struct upstream;

/* FastCGI parameter names the responder reads (set by nginx/Apache). */
#define REQUEST_P_METHOD "REQUEST_METHOD"
#define REQUEST_P_URI "REQUEST_URI"
#define REQUEST_P_DOCUMENT_URI "DOCUMENT_URI"
#define REQUEST_P_SCRIPT_NAME "SCRIPT_NAME"
#define REQUEST_P_PATH_INFO "PATH_INFO"
#define REQUEST_P_CONTENT_TYPE "CONTENT_TYPE"
#define REQUEST_P_CONTENT_LENGTH "CONTENT_LENGTH"
#define REQUEST_P_REQUEST_ID "REQUEST_ID"

/* Largest response body the responder ever builds (metrics included). */
#define RESPONSE_BODY_MAX (256 * 1024)

/*
 * One request as the web server handed it over. All strings are borrowed: they
 * belong to the FastCGI layer (or a test) and stay valid until the response is sent.
 */
struct request {
	char **env;         /* NULL-terminated "NAME=value" FastCGI params */
	const char *method; /* REQUEST_METHOD, never NULL ("" when absent) */
	const char *path;   /* URI path without query string, never NULL */
	const char *body;   /* NUL-terminated body, never NULL ("" when empty) */
	size_t body_len;
	enum status body_status; /* STATUS_OK, or STATUS_TOO_LARGE when over the cap */
	long long now_s;         /* wall-clock seconds at accept (certificate validity) */
};

/*
 * The reply. body is owned by the response (free with response_free); the
 * extra fields turn into headers in fcgi_io.c.
 */
struct response {
	int http_status;          /* 200, 400, 403, 404, 405, 409, 413, 415, 500, 503 */
	const char *content_type; /* static string; NULL means application/json */
	char *body;
	size_t body_len;
	const char *allow; /* Allow header for 405, static string or NULL */
	int retry_after_s; /* Retry-After header when > 0 */
	bool head_only;    /* a HEAD: the headers as for GET, Content-Length too, no body */
};

/*
 * Everything one request owns, created and freed at one point in the edge.
 * Handlers read cfg and use up/tracker; they write err through ctx_seterr.
 *
 * A handler either returns a final status with res filled, or STATUS_ASYNC:
 * it keeps ctx and res (both stay valid) and calls req_ctx_done exactly once
 * later, on the loop thread. Until then the edge may call on_abort (loop
 * thread) when the web server drops the connection, or at shutdown once the
 * drain budget is spent: the handler then cancels its work and calls
 * req_ctx_done(ctx, STATUS_ABORTED), from inside on_abort or later.
 */
struct req_ctx {
	const struct request *req;
	const struct config *cfg;
	const struct provider *provider;       /* the API the handlers call */
	struct loop *loop;                     /* the event loop the request lives on */
	struct upstream *up;                   /* upstream HTTPS calls (async handlers) */
	struct tracker *tracker;               /* the process-wide approval tracker */
	void (*on_abort)(struct req_ctx *ctx); /* set by an async handler, or NULL */
	void *handler_state;                   /* the async handler's own state */
	/* set by the edge: req_ctx_done lands here */
	void (*done_fn)(struct req_ctx *ctx, enum status rc);
	/* new pushes per authyId (max_pushes_per_user) */
	struct ratelimit *push_limit;
	/* one-time codes not accepted per authyId (max_code_attempts) */
	struct ratelimit *code_limit;
	/*
	 * one-time codes accepted (HANDLER_CODE_REUSE_S), one event per authyId
	 * and code, and one per authyId, code and the sign-in that used it
	 */
	struct ratelimit *used_codes;
	char id[64];             /* request id for logs */
	char route[32];          /* route name for the access line */
	char err[256];           /* detail of the last failure (logged, never sent) */
	unsigned upstream_calls; /* number of calls to Authy */
	long upstream_ms;        /* time spent in them */
	long long start_ms;      /* monotonic ms when the request was accepted */
	long long deadline_ms;   /* monotonic ms by which the reply must be sent */
	/* set by the edge as the handler starts, for /metrics */
	long open_connections; /* FastCGI connections open */
	long in_flight;        /* requests read and not answered yet, this one included */
};

/*
 * request_param - value of FastCGI param name in req->env, or NULL when absent.
 * The string is borrowed from req. Thread-safe for distinct requests.
 */
const char *request_param(const struct request *req, const char *name);

/*
 * req_ctx_done - complete a request whose handler returned STATUS_ASYNC: rc is
 * what the handler would have returned (res filled on STATUS_OK); the edge
 * turns it into the reply, writes the access line and frees ctx, req and res.
 * Exactly once per STATUS_ASYNC; loop thread only.
 */
void req_ctx_done(struct req_ctx *ctx, enum status rc);

/*
 * ctx_seterr - printf into ctx->err (truncating). Not thread-safe for one ctx.
 */
void ctx_seterr(struct req_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * response_set_body - replace res->body with a copy of len bytes of body.
 * Returns STATUS_OK or STATUS_NOMEM (then res is unchanged).
 */
enum status response_set_body(struct response *res, const char *body, size_t len);

/*
 * response_free - free the body and reset res to zero; NULL is a no-op.
 */
void response_free(struct response *res);

#endif
