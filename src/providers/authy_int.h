/*
 * authy_int.h - the pure steps of the Authy provider that its unit tests and
 * fuzz harnesses drive one by one: request paths and forms, reply
 * interpretation, error mapping and callback signatures.
 */
#ifndef B2CAUTHY_AUTHY_INT_H
#define B2CAUTHY_AUTHY_INT_H

#include "authy.h"

struct api_call;
struct api_reply;

/*
 * authy_token_paths - the request path of a token verification into path and
 * the same path with the code replaced by AUTHY_TOKEN_MASK into masked (both
 * of at least AUTHY_TOKEN_PATH_MAX bytes). STATUS_OK, or STATUS_BAD_REQUEST
 * when authy_id is not 1..AUTHY_ID_MAX digits or token not
 * AUTHY_TOKEN_MIN..AUTHY_TOKEN_MAX digits (both outputs then ""). Pure.
 */
enum status authy_token_paths(const char *authy_id, const char *token, char *path, char *masked);

/*
 * authy_token_verify_reply - interpret the reply r to a token verification:
 * STATUS_OK for a 2xx whose "token" is "is valid" (any other 2xx is
 * STATUS_UPSTREAM_PROTOCOL: never approve on a doubtful reply);
 * STATUS_TOKEN_WRONG for a 401 with error code 60020 or "token":"is invalid"
 * (a 401 with 60001 is the API key: STATUS_UPSTREAM_AUTH); otherwise as
 * authy_map_error. Sets call->error_code and call->err only. Pure.
 */
enum status authy_token_verify_reply(struct api_call *call, const struct api_reply *r);

/*
 * authy_user_create_reply / authy_approval_create_reply /
 * authy_approval_status_reply - interpret one HTTP reply r (api_call.h) to
 * users/new, to an approval request, or to a status poll (the steps of the
 * operations of authy_provider, provider.h): the id, the uuid or the
 * approval's status (STATUS_OK approved, STATUS_PENDING, STATUS_DENIED,
 * STATUS_EXPIRED), or an error as authy_map_error. A body that is
 * not a JSON object gives STATUS_UPSTREAM_PROTOCOL for a 2xx, else
 * authy_map_error of the HTTP code. Set call->error_code and call->err only;
 * *id / *uuid are "" unless STATUS_OK. Pure: no I/O, no logging.
 */
enum status authy_user_create_reply(struct api_call *call, const struct api_reply *r, char *id,
                                    size_t idlen);
enum status authy_approval_create_reply(struct api_call *call, const struct api_reply *r,
                                        char *uuid, size_t uuidlen);
enum status authy_approval_status_reply(struct api_call *call, const struct api_reply *r);

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

/*
 * authy_callback_canonical - the parameter string Authy signs: every leaf
 * flattened to key[sub][sub] (array positions as []), key and value
 * form-encoded (space as '+', brackets as %5B/%5D, numeric [n] as %5B%5D),
 * the "key=value" pairs sorted bytewise and joined with '&'. Appends to out.
 * STATUS_OK, STATUS_BAD_REQUEST (unparsable or too many parameters), or a buf
 * error. Pure.
 */
enum status authy_callback_canonical(const struct provider_params *params, struct buf *out);

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
enum status authy_callback_result(const struct provider_params *params, char *uuid, size_t uuidlen,
                                  enum status *result);

/*
 * authy_upstream_opts - fill an upstream_opts for the Authy API from cfg.
 * Strings are borrowed from cfg.
 */
struct upstream_opts;
void authy_upstream_opts(const struct config *cfg, struct upstream_opts *opts);

#endif
