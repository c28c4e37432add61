/*
 * api_call.h - the record of one provider operation (one or more HTTP calls
 * to the Authy or Verify API) and of what came back, for logs, metrics and
 * the reply; the HTTP request one step of an operation asks for and the
 * HTTP reply it gets; the key/value pairs shown with an approval. Shared by
 * both providers, the driver and the handlers; no library types here. The
 * functions touch only their arguments (api_call_logged also the log):
 * thread-safe for distinct calls and requests.
 */
#ifndef B2CAUTHY_API_CALL_H
#define B2CAUTHY_API_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

#define API_PATH_MAX 200
#define API_FORM_MAX (16 * 1024)

/* What the calls of one operation left, for logs and metrics. */
struct api_call {
	long http_status;    /* last HTTP status (0 = none) */
	char error_code[16]; /* the API's error code of the last reply, "" when none */
	long retry_after_s;  /* from a 429 */
	long elapsed_ms;     /* time spent in all the HTTP calls */
	unsigned calls;      /* HTTP calls made */
	char err[256];       /* detail of a failure (never a secret) */
};

/* One key/value pair (details of an approval); both borrowed. */
struct api_kv {
	const char *key;
	const char *value;
};

/* The HTTP request one step of an operation makes. */
struct api_request {
	const char *method;          /* "GET" or "POST", static */
	char path[API_PATH_MAX];     /* below the API's base URL, starts with '/' */
	char log_path[API_PATH_MAX]; /* path as logged when it holds a secret, else "" */
	struct buf form;             /* application/x-www-form-urlencoded body of a POST */
	bool repeatable;             /* the API answers this POST twice alike (upstream_call) */
};

/*
 * The HTTP reply to one step, as the step interprets it: status code and the
 * len bytes of body, which need not be NUL-terminated and may be NULL when len
 * is 0. Borrowed from the transfer (or the test) for the interpretation only.
 */
struct api_reply {
	long http_status;
	const char *body;
	size_t len;
};

/* api_call_seterr - printf into call->err (truncating). */
void api_call_seterr(struct api_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * api_request_init / api_request_free - an empty request whose form may grow
 * to API_FORM_MAX bytes; free its form and wipe its path (it may hold a
 * one-time code). Never fail.
 */
void api_request_init(struct api_request *req);
void api_request_free(struct api_request *req);

/*
 * api_call_logged - log a call whose reply did not give its result (rc is
 * not OK, PENDING, DENIED or EXPIRED) at debug level as "what METHOD path"
 * (log_path when set),
 * the caller logging the failure itself with call->err. Returns rc.
 */
enum status api_call_logged(const struct api_call *call, const char *what,
                            const struct api_request *req, enum status rc);

#endif
