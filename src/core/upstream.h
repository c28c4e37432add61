/*
 * upstream.h - the only interface to libcurl: HTTPS calls to the Authy (or
 * Verify) API over a reusable keep-alive handle. Certificate verification is
 * always on, redirects are never followed, responses are capped.
 */
#ifndef B2CAUTHY_UPSTREAM_H
#define B2CAUTHY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define UPSTREAM_RESPONSE_MAX (64 * 1024)

struct upstream;

struct upstream_opts {
	const char *base_url;    /* e.g. https://api.authy.com (no trailing slash needed) */
	const char *key_header;  /* header name for the key, e.g. "X-Authy-API-Key"; NULL = none */
	const char *api_key;     /* its value (secret; copied, wiped on free) */
	const char *basic_user;  /* HTTP Basic auth user, NULL = none (Twilio Verify) */
	const char *basic_pass;  /* HTTP Basic auth password (secret; copied) */
	const char *ca_file;     /* PEM CA bundle, NULL = system store */
	long connect_timeout_ms; /* > 0 */
	long request_timeout_ms; /* ceiling for one call, > 0 */
	bool allow_http; /* permit http:// base URLs (tests of the config only); default false */
};

struct upstream_call {
	const char *method; /* "GET" or "POST" */
	const char *path;   /* appended to base_url, must start with '/' */
	const char *form;   /* application/x-www-form-urlencoded body for POST, or NULL */
	/* absolute monotonic ms; the call's timeout is min(deadline - now, request_timeout);
	 * 0 (or less) means no deadline: request_timeout alone */
	long long deadline_ms;
	/* path as written to logs, with one-time codes masked; NULL logs path */
	const char *log_path;
};

struct upstream_response {
	long http_status; /* 0 when no HTTP response arrived */
	char *body;       /* NUL-terminated, owned (upstream_response_free) */
	size_t body_len;
	long retry_after_s; /* Retry-After header in seconds, 0 when absent */
	long elapsed_ms;    /* time the call took */
	char err[256];      /* transport error detail (never the API key) */
};

/*
 * upstream_global_init - curl_global_init once, in main, before threads.
 * STATUS_OK or STATUS_INTERNAL. upstream_global_cleanup at exit.
 */
enum status upstream_global_init(void);
void upstream_global_cleanup(void);

/*
 * upstream_new - a handle with its own keep-alive connection; opts strings are
 * copied. Share DNS and TLS-session caches with the other handles. Returns
 * STATUS_OK and *out, STATUS_CONFIG (bad URL scheme) or STATUS_NOMEM. One
 * handle is used by one thread at a time.
 */
enum status upstream_new(const struct upstream_opts *opts, struct upstream **out);

/* upstream_free - close the connection and free (secrets wiped); NULL is a no-op. */
void upstream_free(struct upstream *up);

/*
 * upstream_request - perform one call. Returns STATUS_OK when any HTTP response
 * arrived (whatever its code: interpretation is the caller's), else
 * STATUS_UPSTREAM_CONNECT (DNS/TCP/TLS incl. certificate failure),
 * STATUS_UPSTREAM_TIMEOUT (deadline reached), STATUS_UPSTREAM_PROTOCOL (body
 * over UPSTREAM_RESPONSE_MAX, malformed HTTP) or STATUS_NOMEM, with out->err
 * set. A GET is retried once on a reused connection that the server had closed
 * (never after a timeout, never a POST). After a failed transfer the
 * connection is discarded. out must be zeroed by the caller; it owns out->body.
 */
enum status upstream_request(struct upstream *up, const struct upstream_call *call,
                             struct upstream_response *out);

/* upstream_response_free - free out->body and zero out; NULL is a no-op. */
void upstream_response_free(struct upstream_response *out);

#endif
