/*
 * authy.h - Authy API semantics: paths, form parameters, response
 * interpretation and error-code mapping, as the steps of authy_provider
 * (provider.h). Knows nothing of curl or of connections; JSON through json.h.
 */
#ifndef B2CAUTHY_AUTHY_H
#define B2CAUTHY_AUTHY_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct api_call;
struct config;
struct provider_approval;

#define AUTHY_DEFAULT_URL "https://api.authy.com"
#define AUTHY_HEADER_API_KEY "X-Authy-API-Key"
#define AUTHY_PATH_USERS_NEW "/protected/json/users/new"
#define AUTHY_PATH_APPROVAL_CREATE_FMT "/onetouch/json/users/%s/approval_requests"
#define AUTHY_PATH_APPROVAL_STATUS_FMT "/onetouch/json/approval_requests/%s"
/*
 * Token verification. force=true always: without it Authy accepts any code
 * for a user who has not yet registered the app or signed in once.
 */
#define AUTHY_PATH_VERIFY_TOKEN_FMT "/protected/json/verify/%s/%s?force=true"
#define AUTHY_TOKEN_MASK "*******" /* stands for the code in logged paths */
#define AUTHY_E_TOKEN_INVALID "60020"
#define AUTHY_TOKEN_MIN 6
#define AUTHY_TOKEN_MAX 10
#define AUTHY_TOKEN_PATH_MAX 160
#define AUTHY_MESSAGE_MAX 200
#define AUTHY_DETAIL_KEY_MAX 20 /* characters of a details key of an approval request */
#define AUTHY_UUID_MAX 64
#define AUTHY_ID_MAX 20

/* The call an Authy reply answers: an error means different things to each. */
enum authy_op {
	AUTHY_OP_USER,     /* users/new */
	AUTHY_OP_APPROVAL, /* create an approval request */
	AUTHY_OP_STATUS,   /* poll an approval's status */
	AUTHY_OP_TOKEN,    /* verify a one-time code */
};

struct authy_user {
	const char *email;        /* required by Authy; the sign-in name when no email */
	const char *cellphone;    /* national digits */
	const char *country_code; /* digits, no '+' */
	bool send_install_link;
};

/*
 * authy_token_paths - the request path of a token verification into path and
 * the same path with the code replaced by AUTHY_TOKEN_MASK into masked (both
 * of at least AUTHY_TOKEN_PATH_MAX bytes). STATUS_OK, or STATUS_BAD_REQUEST
 * when authy_id is not 1..AUTHY_ID_MAX digits or token not
 * AUTHY_TOKEN_MIN..AUTHY_TOKEN_MAX digits (both outputs then ""). Pure.
 */
enum status authy_token_paths(const char *authy_id, const char *token, char *path, char *masked);

/*
 * authy_token_verify_reply - interpret the reply to a token verification:
 * STATUS_OK for a 2xx whose "token" is "is valid" (any other 2xx is
 * STATUS_UPSTREAM_PROTOCOL: never approve on a doubtful reply);
 * STATUS_TOKEN_WRONG for a 401 with error code 60020 or "token":"is invalid"
 * (a 401 with 60001 is the API key: STATUS_UPSTREAM_AUTH); otherwise as
 * authy_map_error. Sets call->error_code and call->err only. Pure.
 */
enum status authy_token_verify_reply(struct api_call *call, long http_status, const char *body,
                                     size_t len);

/*
 * authy_user_create_reply / authy_approval_create_reply /
 * authy_approval_status_reply - interpret one HTTP reply (status code and the
 * len bytes of body, which need not be NUL-terminated and may be NULL) to
 * users/new, to an approval request, or to a status poll (the steps of the
 * operations of authy_provider, provider.h): the id, the uuid or the
 * approval's status (STATUS_OK approved, STATUS_PENDING, STATUS_DENIED,
 * STATUS_EXPIRED), or an error as authy_map_error. A body that is
 * not a JSON object gives STATUS_UPSTREAM_PROTOCOL for a 2xx, else
 * authy_map_error of the HTTP code. Set call->error_code and call->err only;
 * *id / *uuid are "" unless STATUS_OK. Pure: no I/O, no logging.
 */
enum status authy_user_create_reply(struct api_call *call, long http_status, const char *body,
                                    size_t len, char *id, size_t idlen);
enum status authy_approval_create_reply(struct api_call *call, long http_status, const char *body,
                                        size_t len, char *uuid, size_t uuidlen);
enum status authy_approval_status_reply(struct api_call *call, long http_status, const char *body,
                                        size_t len);

/*
 * authy_uuid_valid - true for an approval uuid as Authy returns it: 1..
 * AUTHY_UUID_MAX hex digits and dashes (safe in a URL path). NULL is false. Pure.
 */
bool authy_uuid_valid(const char *s);

/*
 * authy_map_error - the status for an Authy error reply to op: HTTP code and
 * "error_code" (may be NULL/""). 401/60001 STATUS_UPSTREAM_AUTH; 429/60003
 * STATUS_RATE_LIMITED; 60026 STATUS_USER_NOT_FOUND; 60049 STATUS_APPROVAL_NOT_FOUND;
 * 60027/60000/60002/60004 and other 400s STATUS_USER_REJECTED for
 * AUTHY_OP_USER (Authy refuses the user's details), STATUS_UPSTREAM_HTTP for
 * the other operations (their parameters are not the user's); 404 without
 * code STATUS_UPSTREAM_HTTP; 5xx STATUS_UPSTREAM_HTTP. Pure.
 * Precedence: the HTTP codes 401, 429 and 5xx decide first, then the error
 * code, then the HTTP code again. A 2xx (a reply with "success":false) with no
 * known error code gives STATUS_UPSTREAM_PROTOCOL; any other code (3xx, 403,
 * 404, ...) without a known error code STATUS_UPSTREAM_HTTP.
 */
enum status authy_map_error(long http_status, const char *error_code, enum authy_op op);

/*
 * authy_user_form / authy_approval_form - append the form body of users/new or
 * of an approval request to out (application/x-www-form-urlencoded). Returns
 * STATUS_OK, STATUS_BAD_REQUEST for missing or malformed fields (email empty,
 * cellphone or country code not digits, authy id not digits, empty message,
 * seconds_to_expire <= 0, a detail without key or value), or the errors of
 * buf_append. Pure.
 */
struct buf;
enum status authy_user_form(const struct authy_user *u, struct buf *out);
enum status authy_approval_form(const struct provider_approval *a, struct buf *out);

/* OneTouch callbacks (FastCGI names of the request headers Authy signs with). */
#define AUTHY_P_SIGNATURE "HTTP_X_AUTHY_SIGNATURE"
#define AUTHY_P_NONCE "HTTP_X_AUTHY_SIGNATURE_NONCE"
#define AUTHY_CALLBACK_MAX_PARAMS 512
#define AUTHY_CALLBACK_MAX_BYTES (64 * 1024)

struct buf;

/* One received callback, everything borrowed. */
struct authy_callback {
	const char *api_key;   /* the HMAC key */
	const char *nonce;     /* X-Authy-Signature-Nonce */
	const char *signature; /* X-Authy-Signature, base64 */
	const char *method;    /* "POST" or "GET" */
	const char *url;       /* the callback URL exactly as configured at Authy */
	const char *params;    /* JSON body, or form body / query string */
	size_t params_len;
	bool json; /* params is JSON, else application/x-www-form-urlencoded */
};

/*
 * authy_callback_canonical - the parameter string Authy signs: every leaf
 * flattened to key[sub][sub] (array positions as []), key and value
 * form-encoded (space as '+', brackets as %5B/%5D, numeric [n] as %5B%5D),
 * the "key=value" pairs sorted bytewise and joined with '&'. Appends to out.
 * STATUS_OK, STATUS_BAD_REQUEST (unparsable or too many parameters), or a buf
 * error. Pure.
 */
enum status authy_callback_canonical(const char *params, size_t len, bool json, struct buf *out);

/*
 * authy_callback_verify - check X-Authy-Signature =
 * base64(HMAC-SHA256(api_key, nonce|METHOD|url|canonical params)) in
 * constant time. STATUS_OK, or STATUS_UNAUTHORIZED with the reason in err (no
 * secret in it). Thread-safe.
 */
enum status authy_callback_verify(const struct authy_callback *cb, char *err, size_t errlen);

/*
 * authy_callback_result - the approval uuid and outcome a callback reports:
 * top-level "uuid" and "status" (approved -> STATUS_OK, denied ->
 * STATUS_DENIED, expired -> STATUS_EXPIRED). STATUS_OK with *result set;
 * STATUS_PENDING for any other status; STATUS_BAD_REQUEST when the fields are
 * missing or the uuid is malformed. Pure.
 */
enum status authy_callback_result(const char *params, size_t len, bool json, char *uuid,
                                  size_t uuidlen, enum status *result);

/*
 * authy_callback_check / authy_callback_outcome - the callback_verify and
 * callback_result of authy_provider (provider.h) for a OneTouch callback:
 * check - the signature over url and the request's parameters with
 * cfg->api_key, and the nonce (the Unix time of signing) within
 * cfg->callback_max_age_s of req->now_s. outcome - authy_callback_result of
 * the request's parameters. Thread-safe.
 */
struct request;
enum status authy_callback_check(const struct config *cfg, const struct request *req,
                                 const char *url, const char **signature, char *err, size_t errlen);
enum status authy_callback_outcome(const struct request *req, char *uuid, size_t uuidlen,
                                   enum status *result);

/*
 * authy_upstream_opts - fill an upstream_opts for the Authy API from cfg.
 * Strings are borrowed from cfg.
 */
struct upstream_opts;
void authy_upstream_opts(const struct config *cfg, struct upstream_opts *opts);

#endif
