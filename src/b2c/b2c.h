/*
 * b2c.h - the Azure AD B2C REST contract: input-claim names, parsing and
 * validation of the flat JSON body B2C posts, the 200 output-claims body and
 * the 409 error body. Internal status becomes HTTP only here. The functions
 * read and write only their arguments (no I/O, no logging): thread-safe for
 * distinct claims and responses.
 */
#ifndef B2CAUTHY_B2C_H
#define B2CAUTHY_B2C_H

#include <stdbool.h>
#include <stddef.h>

#include "phone.h"
#include "request.h"
#include "status.h"

/* Input claims (PartnerClaimType names of the original sample). */
#define B2C_CLAIM_EMAIL "email"
#define B2C_CLAIM_SIGNIN_NAME "signInName"
#define B2C_CLAIM_PHONE "phoneNumber"
#define B2C_CLAIM_COUNTRY_CODE "countryCode"
#define B2C_CLAIM_AUTHY_ID "authyId"
#define B2C_CLAIM_APP_CODE "appCode" /* accepted alias of authyId */
#define B2C_CLAIM_CORRELATION_ID                                                                   \
	"correlationId"                  /* {Context:CorrelationId}: binds a push to a sign-in */
#define B2C_CLAIM_IP_ADDRESS "ipAddress" /* {Context:IPAddress}: shown in the push */
#define B2C_CLAIM_TOKEN "token"          /* one-time code from the app (verifytoken) */
#define B2C_CLAIM_OBJECT_ID                                                                        \
	"objectId" /* register: the account; a Verify identity is derived from it */

/* Output claims. */
#define B2C_OUT_AUTHY_ID "authyId"
#define B2C_OUT_APPROVED "authyApproved"     /* true: the push (or a code) was approved */
#define B2C_OUT_FACTOR_STATUS "factorStatus" /* Verify: "none" until the app has set up push */
#define B2C_FACTOR_NONE "none"               /* factorStatus: no verified push factor yet */

/* Error body fields. */
#define B2C_ERR_VERSION "1.0.0"
#define B2C_KEY_VERSION "version"
#define B2C_KEY_STATUS "status"
#define B2C_KEY_USER_MESSAGE "userMessage"
#define B2C_KEY_CODE "code"
#define B2C_KEY_REQUEST_ID "requestId"

#define B2C_CONTENT_TYPE "application/json; charset=utf-8"

/* Exact user messages (shown by B2C on the page). */
#define B2C_MSG_IDENTITY_MISSING "An email address or sign-in name is required."
#define B2C_MSG_EMAIL_INVALID "The email address is not valid."
#define B2C_MSG_PHONE_MISSING "A mobile phone number is required."
#define B2C_MSG_PHONE_INVALID                                                                      \
	"The phone number is not valid. Enter it in international format, for example +1 "         \
	"555 123 4567."
#define B2C_MSG_AUTHYID_MISSING "Your account is not enrolled for push approval."
#define B2C_MSG_AUTHYID_INVALID "Your push approval enrolment is not valid. Please contact support."
#define B2C_MSG_USER_REJECTED                                                                      \
	"This phone number could not be registered for push approval. Check it and try again."
#define B2C_MSG_USER_NOT_FOUND                                                                     \
	"Your push approval registration was not found. Please contact support."
#define B2C_MSG_APPROVAL_NOT_FOUND "The sign-in request was not found. Please try again."
#define B2C_MSG_ABORTED "The sign-in request was cancelled. Please try again."
#define B2C_MSG_DENIED "The sign-in request was denied in the app."
#define B2C_MSG_EXPIRED "The sign-in request expired before it was approved. Please try again."
#define B2C_MSG_TIMEOUT "The sign-in request was not approved in time. Please try again."
#define B2C_MSG_RATE_LIMITED "Too many attempts. Please wait a minute and try again."
#define B2C_MSG_UPSTREAM                                                                           \
	"The push approval service is unavailable right now. Please try again later."
#define B2C_MSG_BAD_REQUEST "The request body must be a JSON object of claims."
#define B2C_MSG_MEDIA_TYPE "The request body must be sent as application/json."
#define B2C_MSG_TOO_LARGE "The request body is too large."
#define B2C_MSG_NOT_FOUND "Not found."
#define B2C_MSG_METHOD "Method not allowed."
#define B2C_MSG_FORBIDDEN "Client certificate required."
#define B2C_MSG_UNAUTHORIZED "Signature required."
#define B2C_MSG_UNAVAILABLE "The service is busy. Please try again in a moment."
#define B2C_MSG_INTERNAL "An internal error occurred. Please try again."
#define B2C_MSG_NO_FACTOR "Set up push approval in the app first."
#define B2C_MSG_CORRELATION_MISSING                                                                \
	"This sign-in could not be linked to its session. Please contact support."
#define B2C_MSG_PUSH_LIMITED "Too many sign-in requests. Please wait a few minutes and try again."
#define B2C_MSG_TOKEN_MISSING "Enter the code shown in the app."
#define B2C_MSG_TOKEN_INVALID "The code is 6 to 10 digits. Enter it as shown in the app."
#define B2C_MSG_TOKEN_WRONG "The code is not valid. Please try again."
#define B2C_MSG_TOKEN_LIMITED                                                                      \
	"Too many codes were not valid. Please wait a few minutes or approve the push instead."
#define B2C_MSG_TOKEN_USED                                                                         \
	"This code was used already. Wait until the app shows a new code, then enter that one."
#define B2C_MSG_NO_TOTP_FACTOR                                                                     \
	"Codes from an app are not set up for your account. Please approve the push instead."

#define B2C_EMAIL_MAX 254
#define B2C_NAME_MAX 256
#define B2C_AUTHY_ID_MAX 20       /* digits */
#define B2C_CORRELATION_ID_MAX 64 /* B2C sends a GUID (36 characters) */
#define B2C_IP_MAX 45             /* INET6_ADDRSTRLEN - 1 */
#define B2C_TOKEN_MIN 6           /* digits of a one-time code (the Authy app shows 7) */
#define B2C_TOKEN_MAX 10
#define B2C_OBJECT_ID_LEN 36 /* a GUID: 8-4-4-4-12 hex digits */

/*
 * The input claims of one call. Empty string = claim absent (or null), or
 * invalid: an invalid claim leaves its field empty and records why in its
 * *_rc, so nothing malformed is ever used. Values are copies, trimmed of
 * surrounding white space; they outlive the body.
 */
struct b2c_claims {
	char email[B2C_EMAIL_MAX + 1];
	char sign_in_name[B2C_NAME_MAX + 1];
	char phone[64];
	char country_code[16];
	char authy_id[B2C_AUTHY_ID_MAX + 1];
	char correlation_id[B2C_CORRELATION_ID_MAX + 1]; /* b2c_correlation_id_valid */
	char ip_address[B2C_IP_MAX + 1];       /* a valid IPv4/IPv6 literal, in canonical form */
	char object_id[B2C_OBJECT_ID_LEN + 1]; /* a GUID, in lower case */
	enum status email_rc; /* STATUS_OK, or the invalid status found while parsing */
	enum status phone_rc;
	enum status authy_id_rc;
	enum status correlation_rc; /* STATUS_NO_CORRELATION when sent but invalid */
	enum status ip_rc;          /* STATUS_BAD_REQUEST when sent but not an IP literal */
	enum status object_id_rc;   /* STATUS_BAD_REQUEST when sent but not a GUID */
	/*
	 * STATUS_IDENTITY_MISSING when signInName was sent but is unusable (wrong
	 * type, over B2C_NAME_MAX bytes, control characters). B2C has no message
	 * for a bad sign-in name; without a valid email the identity is missing.
	 */
	enum status name_rc;
	/* the one-time code (verifytoken): wipe with b2c_claims_wipe, never log */
	char token[B2C_TOKEN_MAX + 1];
	/*
	 * STATUS_TOKEN_INVALID when token is not a string of B2C_TOKEN_MIN..MAX
	 * digits, optionally grouped by single spaces or dashes (token holds the
	 * digits alone)
	 */
	enum status token_rc;
};

/*
 * b2c_parse_claims - parse the body B2C posted into c. Returns STATUS_OK,
 * STATUS_BAD_REQUEST (not a JSON object), or STATUS_NOMEM. Every claim is
 * optional; null equals absent; unknown keys are ignored. Claims with a wrong
 * type (object, array, boolean, fraction), an oversize value, control
 * characters or invalid content are not an error here: the field stays empty
 * and the matching *_rc records the invalid status for the validators
 * (email_rc STATUS_EMAIL_INVALID when not b2c_email_valid, name_rc, phone_rc
 * STATUS_PHONE_INVALID for phoneNumber or countryCode, authy_id_rc
 * STATUS_AUTHYID_INVALID when not 1..B2C_AUTHY_ID_MAX digits, token_rc
 * STATUS_TOKEN_INVALID when token is not a string of B2C_TOKEN_MIN..MAX
 * digits, each two of which may be separated by one space or dash, dropped
 * from c->token). Integers are accepted for authyId, appCode, phoneNumber and
 * countryCode, never for token (a number loses a code's leading zeros).
 * authyId wins over appCode when it is present (even when invalid).
 * correlationId must pass b2c_correlation_id_valid (else correlation_rc);
 * ipAddress must be an IPv4 or IPv6 literal (inet_pton) and is kept in
 * inet_ntop's canonical form (else dropped, ip_rc); objectId must be a GUID
 * (8-4-4-4-12 hex digits) and is kept in lower case (else dropped,
 * object_id_rc). Thread-safe.
 */
enum status b2c_parse_claims(const char *body, size_t len, struct b2c_claims *c);

/*
 * b2c_validate_register - check the claims of a register call: identity
 * first (an email that was sent must be well-formed, even when signInName is
 * also there; else a valid signInName), then phone via phone_parse (phone
 * claim plus optional countryCode, split into *phone). Returns STATUS_OK or
 * the first of STATUS_EMAIL_INVALID, STATUS_IDENTITY_MISSING (no email, no
 * usable signInName and no objectId; or a signInName sent but unusable),
 * STATUS_BAD_REQUEST (an objectId that is no GUID), STATUS_PHONE_MISSING,
 * STATUS_PHONE_INVALID. objectId is optional; with it, no name is needed here
 * (the provider's user_check decides). Without need_phone a missing (absent,
 * null or blank) phoneNumber is STATUS_OK with *phone zeroed (a countryCode
 * alone is then ignored, but must be a string); a phone number that was sent
 * is validated all the same, with its countryCode. phone may be NULL.
 * Thread-safe.
 */
enum status b2c_validate_register(const struct b2c_claims *c, bool need_phone,
                                  struct phone_number *phone);

/*
 * b2c_email_valid - true for a plain address: at most 254 bytes, one '@', a
 * local part of 1..64 RFC 5322 atext characters and single inner dots, a
 * domain of at least two dot-separated labels of [A-Za-z0-9-] (1..63, no '-'
 * at either end) whose last label is not all digits. ASCII only. Thread-safe.
 */
bool b2c_email_valid(const char *s);

/*
 * b2c_validate_binding - the wait's binding to its B2C transaction: STATUS_OK
 * when a valid correlationId was sent, or when none was sent and require is
 * false; else STATUS_NO_CORRELATION (also for an invalid one). Pure.
 */
enum status b2c_validate_binding(const struct b2c_claims *c, bool require);

/* Room for b2c_signin_key: every field at its longest, the separators and the NUL. */
#define B2C_SIGNIN_KEY_MAX                                                                         \
	(B2C_AUTHY_ID_MAX + B2C_NAME_MAX + B2C_EMAIL_MAX + B2C_CORRELATION_ID_MAX + B2C_IP_MAX + 5)

/*
 * b2c_signin_key - the sign-in a wait or a one-time code belongs to, as one
 * string in key (B2C_SIGNIN_KEY_MAX bytes): the same user in the same B2C
 * transaction, from the same address. The address guards the binding should
 * a correlation id ever be chosen by someone else: a browser elsewhere is
 * another sign-in. Without a correlation id (require_correlation_id = false)
 * sign-ins of one user from one address share it. Pure.
 */
void b2c_signin_key(const struct b2c_claims *c, char key[B2C_SIGNIN_KEY_MAX]);

/*
 * b2c_validate_wait - check the claims of a wait call: authyId (or appCode)
 * present and 1..B2C_AUTHY_ID_MAX digits, and an email or sign-in name that
 * was sent usable (both may be absent). STATUS_OK, STATUS_AUTHYID_MISSING,
 * STATUS_AUTHYID_INVALID, STATUS_EMAIL_INVALID (a malformed email) or
 * STATUS_IDENTITY_MISSING (an unusable sign-in name and no email).
 */
enum status b2c_validate_wait(const struct b2c_claims *c);

/*
 * b2c_validate_token - check the claims of a verifytoken call as
 * b2c_validate_wait (its failures), then the code: STATUS_OK,
 * STATUS_TOKEN_MISSING or STATUS_TOKEN_INVALID.
 */
enum status b2c_validate_token(const struct b2c_claims *c);

/* b2c_claims_wipe - erase the one-time code held in c (explicit_bzero). */
void b2c_claims_wipe(struct b2c_claims *c);

/*
 * b2c_reply_authy_id - 200 {"authyId":"<id>"} into res, content type
 * B2C_CONTENT_TYPE. STATUS_OK, STATUS_NOMEM (res unchanged) or STATUS_INTERNAL
 * for a NULL id.
 */
enum status b2c_reply_authy_id(struct response *res, const char *authy_id);

/*
 * b2c_reply_approved - 200 {"authyApproved":true} into res, content type
 * B2C_CONTENT_TYPE. STATUS_OK or STATUS_NOMEM (res unchanged).
 */
enum status b2c_reply_approved(struct response *res);

/*
 * b2c_reply_factor_status - 200 {"factorStatus":"<status>"} into res (e.g.
 * B2C_FACTOR_NONE), content type B2C_CONTENT_TYPE. STATUS_OK, STATUS_NOMEM
 * (res unchanged) or STATUS_INTERNAL for a NULL status.
 */
enum status b2c_reply_factor_status(struct response *res, const char *status);

/*
 * b2c_reply_error - turn rc into the HTTP reply: status code per b2c_http_status
 * and the body {"version":"1.0.0","status":N,"userMessage":"...","code":"<status_str>",
 * "requestId":"<id>"} (requestId omitted when request_id is NULL or empty; it is
 * sanitized of control and non-ASCII bytes). STATUS_OK or an out-of-range value
 * is a bug of the caller and answered as STATUS_INTERNAL (500). Replaces any
 * body res had; sets Allow "POST" for 405 (the caller may override it) and
 * Retry-After 60 for STATUS_RATE_LIMITED, 5 for STATUS_UNAVAILABLE. Never
 * fails: when json-c cannot allocate, a body without requestId is formatted
 * directly; only when even that copy fails is the reply a bodiless 500.
 */
void b2c_reply_error(struct response *res, enum status rc, const char *request_id);

#endif
