/*
 * verify_int.h - the pure steps of the Twilio Verify provider that its unit
 * tests and fuzz harnesses drive one by one: identities, request forms, reply
 * interpretation, error mapping and webhook signatures.
 */
#ifndef B2CAUTHY_VERIFY_INT_H
#define B2CAUTHY_VERIFY_INT_H

#include "verify.h"

struct api_call;
struct api_reply;
struct buf;

/*
 * verify_identity - the Verify identity of a sign-in name: HMAC-SHA256 keyed
 * with secret over the name with ASCII letters in lower case (B2C sign-in
 * names are case-insensitive; other bytes are kept), the first 8 bytes of the
 * MAC as a big-endian unsigned integer, written in decimal zero-padded to
 * VERIFY_IDENTITY_LEN digits. Stable for a given secret and name; reveals
 * nothing of the name without the secret. STATUS_OK, STATUS_BAD_REQUEST (empty
 * name or secret, outlen too small) or STATUS_INTERNAL. Thread-safe.
 */
enum status verify_identity(const char *secret, const char *name, char *out, size_t outlen);

/*
 * verify_account_identity - the Verify identity of the B2C account object_id
 * (a GUID, 36 characters, case-insensitive): verify_identity of the GUID in
 * lower case after VERIFY_ACCOUNT_PREFIX (U+001F and "objectid:", in lower
 * case as verify_identity folds it): no sign-in name or email the responder
 * takes holds a control character, so no name gives the identity of an
 * account. Unlike a name, which another account may send too (a social
 * account's email equal to a local account's sign-in name), an objectId
 * belongs to one account. Statuses as verify_identity; STATUS_BAD_REQUEST
 * also for an object_id that is no GUID. Thread-safe.
 */
#define VERIFY_ACCOUNT_PREFIX                                                                      \
	"\x1f"                                                                                     \
	"objectid:"
enum status verify_account_identity(const char *secret, const char *object_id, char *out,
                                    size_t outlen);

/* verify_identity_valid - true for exactly VERIFY_IDENTITY_LEN digits. Pure. */
bool verify_identity_valid(const char *s);

/* verify_sid_valid - true for prefix (two letters) followed by 32 hex digits. Pure. */
bool verify_sid_valid(const char *s, const char *prefix);

/*
 * verify_handle_split - verify_handle_make undone: STATUS_OK with identity
 * (>= VERIFY_IDENTITY_LEN + 1 bytes) and sid (>= VERIFY_SID_LEN + 1 bytes)
 * filled, or STATUS_BAD_REQUEST. Pure.
 */
enum status verify_handle_split(const char *handle, char *identity, char *sid);

/*
 * verify_entity_form / verify_challenge_form - append the form body of an
 * entity or of a challenge to out (application/x-www-form-urlencoded):
 * Identity; FactorSid, Details.Message, one Details.Fields per field holding
 * the JSON object {"label":..,"value":..}, ExpirationDate as
 * YYYY-MM-DDTHH:MM:SSZ and HiddenDetails as a JSON object. Strings too long
 * for Verify are cut at a character boundary. STATUS_OK, STATUS_BAD_REQUEST
 * for missing or malformed fields (identity or SIDs, empty message, a field
 * without label or value, too many fields, expires_at <= 0), or the errors of
 * buf_append / json. Pure.
 */
enum status verify_entity_form(const char *identity, struct buf *out);
enum status verify_challenge_form(const struct verify_challenge *ch, struct buf *out);

/*
 * verify_map_error - the status for a Twilio error reply to op: HTTP code and
 * Twilio "code" (0 when absent). 401 / 20003 STATUS_UPSTREAM_AUTH; 429 / 20429
 * STATUS_RATE_LIMITED; 5xx STATUS_UPSTREAM_HTTP; 60318 STATUS_NO_FACTOR; other
 * 403 STATUS_UPSTREAM_AUTH; 404 (20404, 60391, 60392) by op: ENTITY
 * STATUS_UPSTREAM_HTTP (the service is missing), FACTORS and CHALLENGE_CREATE
 * STATUS_USER_NOT_FOUND, CHALLENGE_STATUS STATUS_APPROVAL_NOT_FOUND; 409 / 60301
 * STATUS_OK for ENTITY (it already exists); a 2xx STATUS_UPSTREAM_PROTOCOL;
 * anything else STATUS_UPSTREAM_HTTP. Pure.
 */
enum status verify_map_error(long http_status, long code, enum verify_op op);

/*
 * verify_entity_reply / verify_factors_reply / verify_challenge_create_reply /
 * verify_challenge_status_reply - interpret one HTTP reply r (api_call.h). A
 * non-2xx reply becomes verify_map_error of its status and JSON "code".
 * entity: STATUS_OK also for "already exists". factors: the SID of the
 * newest (latest date_created) factor with factor_type push and status
 * verified into factor_sid (>= VERIFY_SID_LEN + 1 bytes), STATUS_NO_FACTOR
 * when there is none.
 * challenge_create: the challenge SID (YC...) into sid. challenge_status:
 * STATUS_OK (approved), STATUS_PENDING, STATUS_DENIED, STATUS_EXPIRED. A 2xx
 * that lacks what is needed gives STATUS_UPSTREAM_PROTOCOL. They set
 * call->error_code (the Twilio code as text) and call->err only. Pure.
 */
enum status verify_entity_reply(struct api_call *call, const struct api_reply *r);
enum status verify_factors_reply(struct api_call *call, const struct api_reply *r, char *factor_sid,
                                 size_t sidlen);
enum status verify_challenge_create_reply(struct api_call *call, const struct api_reply *r,
                                          char *sid, size_t sidlen);
enum status verify_challenge_status_reply(struct api_call *call, const struct api_reply *r);

/*
 * verify_totp_form - the form body of a TOTP challenge: FactorSid and the
 * code as AuthPayload. STATUS_OK, STATUS_BAD_REQUEST (factor SID malformed,
 * code not VERIFY_TOTP_CODE_MIN..MAX digits) or a buf error. Pure.
 */
enum status verify_totp_form(const char *factor_sid, const char *code, struct buf *out);

/*
 * verify_totp_factors_reply - as verify_factors_reply for the newest
 * verified factor of type totp; STATUS_NO_TOTP_FACTOR when there is none,
 * and for 60318 (never the push factor's STATUS_NO_FACTOR).
 * verify_totp_check_reply - the reply to a TOTP challenge, which Verify
 * decides at creation: STATUS_OK for status approved, STATUS_TOKEN_WRONG for
 * pending (the code did not match), denied or expired, STATUS_NO_TOTP_FACTOR
 * for 60318, else as verify_map_error with VERIFY_OP_CHALLENGE_CREATE; a 2xx
 * without a known status STATUS_UPSTREAM_PROTOCOL. Pure.
 */
enum status verify_totp_factors_reply(struct api_call *call, const struct api_reply *r,
                                      char *factor_sid, size_t sidlen);
enum status verify_totp_check_reply(struct api_call *call, const struct api_reply *r);

/*
 * verify_webhook_data - what Twilio signs, appended to out: the URL followed,
 * for a form body, by every parameter's decoded name and value concatenated,
 * ordered by name (then value), repeated identical pairs once; for a JSON
 * body the URL alone. STATUS_OK, STATUS_BAD_REQUEST (undecodable or too many
 * parameters) or a buf error. Pure.
 */
enum status verify_webhook_data(const struct verify_webhook *wh, struct buf *out);

/*
 * verify_webhook_verify - check X-Twilio-Signature =
 * base64(HMAC-SHA1(auth token, verify_webhook_data)) in constant time; for a
 * JSON body also that the URL's bodySHA256 is the hex SHA-256 of the body.
 * STATUS_OK, or STATUS_UNAUTHORIZED with the reason in err (no secret in it).
 * Thread-safe.
 */
enum status verify_webhook_verify(const struct verify_webhook *wh, char *err, size_t errlen);

/*
 * verify_webhook_result - the challenge and outcome a verified webhook
 * reports: "type" challenge.approved (STATUS_OK) or challenge.denied
 * (STATUS_DENIED), with "entity_identity" and "challenge_sid" as the handle
 * (>= VERIFY_HANDLE_MAX + 1 bytes). STATUS_OK with *result set; STATUS_PENDING
 * for any other event type (factor events); STATUS_BAD_REQUEST when fields are
 * missing or malformed. Pure.
 */
enum status verify_webhook_result(const struct provider_params *params, char *handle,
                                  size_t handlelen, enum status *result);

#endif
