/*
 * verify.h - Twilio Verify v2 Push semantics: the identity derived from a
 * sign-in name, paths and form bodies of Entities, Factors and Challenges,
 * interpretation of the JSON replies, the mapping of Twilio HTTP and error
 * codes to enum status, and the verification of Verify webhooks, as the
 * steps of verify_provider (provider.h). No I/O; JSON through json.h.
 */
#ifndef B2CAUTHY_VERIFY_H
#define B2CAUTHY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct api_call;
struct api_kv;
struct buf;
struct config;
struct request;
struct upstream_opts;

#define VERIFY_DEFAULT_URL "https://verify.twilio.com"
#define VERIFY_PATH_ENTITIES_FMT "/v2/Services/%s/Entities"
/*
 * An entity holds at most 20 push and 100 TOTP factors (Twilio error 60315):
 * one page of VERIFY_FACTORS_PAGE holds them all (the API's default page is
 * 50, its largest 1000).
 */
#define VERIFY_FACTORS_PAGE 200
#define VERIFY_STR_(x) #x
#define VERIFY_STR(x) VERIFY_STR_(x)
#define VERIFY_PATH_FACTORS_FMT                                                                    \
	"/v2/Services/%s/Entities/%s/Factors?PageSize=" VERIFY_STR(VERIFY_FACTORS_PAGE)
#define VERIFY_PATH_CHALLENGES_FMT "/v2/Services/%s/Entities/%s/Challenges"
#define VERIFY_PATH_CHALLENGE_FMT "/v2/Services/%s/Entities/%s/Challenges/%s"

/* Form parameters and reply fields. */
#define VERIFY_F_IDENTITY "Identity"
#define VERIFY_F_FACTOR_SID "FactorSid"
#define VERIFY_F_MESSAGE "Details.Message"
#define VERIFY_F_FIELDS "Details.Fields"
#define VERIFY_F_EXPIRATION "ExpirationDate"
#define VERIFY_F_HIDDEN "HiddenDetails"
#define VERIFY_F_AUTH_PAYLOAD "AuthPayload" /* the TOTP code of a TOTP challenge */
#define VERIFY_TOTP_CODE_MIN 3              /* AuthPayload of a TOTP challenge: 3..8 */
#define VERIFY_TOTP_CODE_MAX 8

/*
 * The identity is 20 decimal digits: it is returned to B2C as authyId, which
 * holds 1..20 digits, and meets Twilio's 8..64 character identity rule.
 */
#define VERIFY_IDENTITY_LEN 20
#define VERIFY_SID_LEN 34 /* two letters and 32 hex digits */
/* The approval handle the tracker keeps: "<identity>/<challenge SID>". */
#define VERIFY_HANDLE_MAX (VERIFY_IDENTITY_LEN + 1 + VERIFY_SID_LEN)
#define VERIFY_MESSAGE_MAX 256 /* Details.Message, characters */
#define VERIFY_LABEL_MAX 36    /* Details.Fields label, characters */
#define VERIFY_VALUE_MAX 128   /* Details.Fields value, characters */
#define VERIFY_FIELDS_MAX 20   /* Details.Fields entries */
#define VERIFY_HIDDEN_MAX 1024 /* HiddenDetails, characters of JSON */
#define VERIFY_TTL_MAX_S 3600  /* ExpirationDate at most 60 minutes ahead */

/* Twilio error codes the responder tells apart. */
#define VERIFY_E_AUTH 20003          /* authentication failed */
#define VERIFY_E_NOT_FOUND 20404     /* resource not found */
#define VERIFY_E_TOO_MANY 20429      /* too many requests */
#define VERIFY_E_ENTITY_EXISTS 60301 /* an entity with this identity exists */
#define VERIFY_E_FACTOR_UNVERIFIED 60318
#define VERIFY_E_CHALLENGE_NOT_FOUND 60391
#define VERIFY_E_ENTITY_NOT_FOUND 60392

/* Which call a reply answers: a 404 means something different for each. */
enum verify_op {
	VERIFY_OP_ENTITY,           /* POST Entities: the service is missing */
	VERIFY_OP_FACTORS,          /* GET Factors: the entity is unknown */
	VERIFY_OP_CHALLENGE_CREATE, /* POST Challenges: the entity or factor is unknown */
	VERIFY_OP_CHALLENGE_STATUS, /* GET a Challenge: it is unknown */
};

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
 * verify_handle_make / verify_handle_split - the approval handle
 * "<identity>/<challenge SID>" and back. make: STATUS_OK or
 * STATUS_BAD_REQUEST (malformed parts, or outlen below VERIFY_HANDLE_MAX + 1).
 * split: STATUS_OK with identity (>= VERIFY_IDENTITY_LEN + 1 bytes) and sid
 * (>= VERIFY_SID_LEN + 1 bytes) filled, or STATUS_BAD_REQUEST. Pure.
 */
enum status verify_handle_make(const char *identity, const char *sid, char *out, size_t outlen);
enum status verify_handle_split(const char *handle, char *identity, char *sid);

/* One push challenge to create. */
struct verify_challenge {
	const char *service_sid;     /* VA... */
	const char *identity;        /* VERIFY_IDENTITY_LEN digits */
	const char *factor_sid;      /* YF... */
	const char *message;         /* cut to VERIFY_MESSAGE_MAX characters */
	const struct api_kv *fields; /* Details.Fields {label, value}, cut to the limits */
	int n_fields;                /* 0..VERIFY_FIELDS_MAX */
	const struct api_kv *hidden; /* HiddenDetails as one JSON object of strings */
	int n_hidden;
	long long expires_at; /* ExpirationDate, Unix time in seconds (UTC) */
};

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
 * verify_challenge_status_reply - interpret one HTTP reply (len bytes of body,
 * not necessarily NUL-terminated, may be NULL). A non-2xx reply becomes
 * verify_map_error of its status and JSON "code". entity: STATUS_OK also for
 * "already exists". factors: the SID of the newest (latest date_created)
 * factor with factor_type push and status verified into factor_sid (>=
 * VERIFY_SID_LEN + 1 bytes), STATUS_NO_FACTOR when there is none.
 * challenge_create: the challenge SID (YC...) into sid. challenge_status:
 * STATUS_OK (approved), STATUS_PENDING, STATUS_DENIED, STATUS_EXPIRED. A 2xx
 * that lacks what is needed gives STATUS_UPSTREAM_PROTOCOL. They set
 * call->error_code (the Twilio code as text) and call->err only. Pure.
 */
enum status verify_entity_reply(struct api_call *call, long http_status, const char *body,
                                size_t len);
enum status verify_factors_reply(struct api_call *call, long http_status, const char *body,
                                 size_t len, char *factor_sid, size_t sidlen);
enum status verify_challenge_create_reply(struct api_call *call, long http_status, const char *body,
                                          size_t len, char *sid, size_t sidlen);
enum status verify_challenge_status_reply(struct api_call *call, long http_status, const char *body,
                                          size_t len);

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
enum status verify_totp_factors_reply(struct api_call *call, long http_status, const char *body,
                                      size_t len, char *factor_sid, size_t sidlen);
enum status verify_totp_check_reply(struct api_call *call, long http_status, const char *body,
                                    size_t len);

/* Verify webhooks (verify_webhook.c). FastCGI name of the signature header. */
#define VERIFY_P_SIGNATURE "HTTP_X_TWILIO_SIGNATURE"
#define VERIFY_BODY_HASH_PARAM "bodySHA256"
#define VERIFY_WEBHOOK_MAX_PARAMS 256
#define VERIFY_EVENT_APPROVED "challenge.approved"
#define VERIFY_EVENT_DENIED "challenge.denied"

/* One received webhook, everything borrowed. */
struct verify_webhook {
	const char *auth_token; /* the HMAC key: the account's Auth Token */
	const char *signature;  /* X-Twilio-Signature, base64 */
	const char *url;        /* the full URL Twilio called, query string included */
	const char *params;     /* form body, or JSON body */
	size_t params_len;
	bool json; /* a JSON body, signed through the bodySHA256 query parameter */
};

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
enum status verify_webhook_result(const char *params, size_t len, bool json, char *handle,
                                  size_t handlelen, enum status *result);

/*
 * verify_callback_check / verify_callback_outcome - the callback_verify and
 * callback_result of verify_provider (provider.h) for a webhook: check - the
 * signature over url plus the query string received (Twilio signs the URL it
 * called) and the parameters, with cfg->twilio_auth_token. outcome -
 * verify_webhook_result of the request's parameters. Thread-safe.
 */
enum status verify_callback_check(const struct config *cfg, const struct request *req,
                                  const char *url, const char **signature, char *err,
                                  size_t errlen);
enum status verify_callback_outcome(const struct request *req, char *handle, size_t handlelen,
                                    enum status *result);

#endif
