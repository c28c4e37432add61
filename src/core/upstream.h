/*
 * upstream.h - the only interface to libcurl: HTTPS calls to the Authy (or
 * Verify) API driven by the event loop (curl multi over loop watches and one
 * loop timer), over a bounded pool of keep-alive connections; transfers
 * queue (without a curl handle) while every connection is busy. Certificate verification is always
 * on, redirects are never followed, responses are capped.
 */
#ifndef B2CAUTHY_UPSTREAM_H
#define B2CAUTHY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* The largest answer taken: a Verify Factors page of every factor a user may have. */
#define UPSTREAM_RESPONSE_MAX (256 * 1024)
/*
 * A call that has this much time left (ms) or less when it would start, on a
 * free connection at once or out of the queue, times out instead of starting:
 * a connection and an answer do not fit.
 */
#define UPSTREAM_START_MIN_MS 50

struct loop;
struct upstream;
struct upstream_xfer;

struct upstream_opts {
	const char *base_url;    /* e.g. https://api.authy.com (no trailing slash needed) */
	const char *key_header;  /* header name for the key, e.g. "X-Authy-API-Key"; NULL = none */
	const char *api_key;     /* its value (secret; copied, wiped on free) */
	const char *basic_user;  /* HTTP Basic auth user, NULL = none (Twilio Verify) */
	const char *basic_pass;  /* HTTP Basic auth password (secret; copied) */
	const char *ca_file;     /* PEM CA bundle, NULL = system store */
	long connect_timeout_ms; /* > 0 */
	long request_timeout_ms; /* ceiling for one call, > 0 */
	long max_connections;    /* connections to the API at most; <= 0 means 1 */
	bool allow_http; /* permit http:// base URLs (tests of the config only); default false */
};

struct upstream_call {
	const char *method; /* "GET" or "POST" */
	const char *path;   /* appended to base_url, must start with '/' */
	const char *form;   /* application/x-www-form-urlencoded body for POST (copied), or NULL */
	/* absolute monotonic ms; the call's timeout is min(deadline - now, request_timeout);
	 * 0 (or less) means no deadline: request_timeout alone */
	long long deadline_ms;
	/* path as written to logs, with one-time codes masked; NULL logs path */
	const char *log_path;
	/* a POST the API answers the same when it comes twice (it creates nothing
	 * new): sent again like a GET when a reused connection dies under it */
	bool repeatable;
};

/* What came back; borrowed by the done callback for its duration. */
struct upstream_response {
	long http_status; /* 0 when no HTTP response arrived */
	const char *body; /* NUL-terminated ("" when none) */
	size_t body_len;
	long retry_after_s; /* Retry-After header in seconds, 0 when absent */
	long elapsed_ms;    /* time the call took, queueing included */
	char err[256];      /* transport error detail (never the API key) */
};

/*
 * The end of a transfer, on the loop thread: rc is STATUS_OK when any HTTP
 * response arrived (whatever its code: interpretation is the caller's), else
 * STATUS_UPSTREAM_CONNECT (DNS/TCP/TLS incl. certificate failure),
 * STATUS_UPSTREAM_TIMEOUT (deadline reached), STATUS_UPSTREAM_PROTOCOL (body
 * over UPSTREAM_RESPONSE_MAX, malformed HTTP, or a POST's connection broken
 * once it may have gone out) or STATUS_NOMEM, with r->err
 * set. The transfer is gone when this returns.
 */
typedef void (*upstream_done_fn)(void *arg, enum status rc, const struct upstream_response *r);

/*
 * upstream_global_init - curl_global_init once, in main, before threads.
 * STATUS_OK or STATUS_INTERNAL. upstream_global_cleanup at exit.
 */
enum status upstream_global_init(void);
void upstream_global_cleanup(void);

/*
 * upstream_new - the API's connection pool on loop; opts strings are copied.
 * Returns STATUS_OK and *out, STATUS_CONFIG (bad URL scheme, header
 * injection) or STATUS_NOMEM. Loop thread only, like every function below.
 */
enum status upstream_new(const struct upstream_opts *opts, struct loop *loop,
                         struct upstream **out);

/*
 * upstream_free - cancel the transfers in progress (no callbacks), close the
 * connections and free (secrets wiped); NULL is a no-op.
 */
void upstream_free(struct upstream *up);

/*
 * upstream_start - start one call; fn(arg, ...) follows exactly once on the
 * loop thread, never from inside this function. A GET is retried once on a
 * reused connection that the server had closed (never after a timeout), and
 * so is a repeatable POST; any other POST whose body went out on such a
 * connection is never sent again, as the API may have acted on it (a second
 * push): it fails with STATUS_UPSTREAM_PROTOCOL. While
 * every connection is busy the call waits in a FIFO (its
 * deadline still counts) and starts when one frees up; a call that cannot
 * start then gets STATUS_UPSTREAM_TIMEOUT or STATUS_INTERNAL through fn, and
 * so does one once it has UPSTREAM_START_MIN_MS left or less (then, not at
 * its deadline). A call with UPSTREAM_START_MIN_MS left or less when it
 * could start at once never reaches the API either: STATUS_OK is returned
 * and fn gets STATUS_UPSTREAM_TIMEOUT on a later turn of the loop, as for a
 * queued one.
 * Returns STATUS_OK with *out the transfer (for upstream_cancel;
 * out may be NULL), or without a callback STATUS_BAD_REQUEST (invalid call),
 * STATUS_UPSTREAM_TIMEOUT (deadline passed) or STATUS_NOMEM / STATUS_INTERNAL.
 */
enum status upstream_start(struct upstream *up, const struct upstream_call *call,
                           upstream_done_fn fn, void *arg, struct upstream_xfer **out);

/* upstream_cancel - stop x before its callback; none follows. NULL is a no-op. */
void upstream_cancel(struct upstream_xfer *x);

/*
 * upstream_active - transfers in flight, at most max_connections; those
 * waiting for a connection are not counted (for metrics).
 */
int upstream_active(const struct upstream *up);

/*
 * upstream_queued - transfers waiting in the FIFO for a free connection (for
 * metrics). Loop thread only.
 */
int upstream_queued(const struct upstream *up);

#endif
