/*
 * b2c.h - the Azure AD B2C REST contract: input-claim names, parsing and
 * validation of the flat JSON body B2C posts, the 200 output-claims body and
 * the 409 error body. Internal status becomes HTTP only here.
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

/* Output claims. */
#define B2C_OUT_AUTHY_ID "authyId"

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
#define B2C_MSG_AUTHYID_MISSING "Your account is not enrolled for Authy approval."
#define B2C_MSG_AUTHYID_INVALID "Your Authy enrolment is not valid. Please enrol again."
#define B2C_MSG_USER_REJECTED "Authy could not register this phone number. Check it and try again."
#define B2C_MSG_USER_NOT_FOUND "Your Authy registration was not found. Please enrol again."
#define B2C_MSG_DENIED "The sign-in request was denied in the Authy app."
#define B2C_MSG_EXPIRED "The sign-in request expired before it was approved. Please try again."
#define B2C_MSG_TIMEOUT "The sign-in request was not approved in time. Please try again."
#define B2C_MSG_RATE_LIMITED "Too many attempts. Please wait a minute and try again."
#define B2C_MSG_UPSTREAM                                                                           \
	"The Authy service is unavailable right now. Please try again later."
#define B2C_MSG_BAD_REQUEST "The request body must be a JSON object of claims."
#define B2C_MSG_MEDIA_TYPE "The request body must be sent as application/json."
#define B2C_MSG_TOO_LARGE "The request body is too large."
#define B2C_MSG_NOT_FOUND "Not found."
#define B2C_MSG_METHOD "Method not allowed."
#define B2C_MSG_FORBIDDEN "Client certificate required."
#define B2C_MSG_UNAUTHORIZED "Signature required."
#define B2C_MSG_UNAVAILABLE "The service is busy. Please try again in a moment."
#define B2C_MSG_INTERNAL "An internal error occurred. Please try again."

#define B2C_EMAIL_MAX 254
#define B2C_NAME_MAX 256
#define B2C_AUTHY_ID_MAX 20 /* digits */

/*
 * The input claims of one call. Empty string = claim absent (or null).
 * Values are copies; they outlive the body.
 */
struct b2c_claims {
	char email[B2C_EMAIL_MAX + 1];
	char sign_in_name[B2C_NAME_MAX + 1];
	char phone[64];
	char country_code[16];
	char authy_id[B2C_AUTHY_ID_MAX + 1];
	enum status email_rc; /* STATUS_OK, or the invalid status found while parsing */
	enum status phone_rc;
	enum status authy_id_rc;
};

/*
 * b2c_parse_claims - parse the body B2C posted into c. Returns STATUS_OK,
 * STATUS_BAD_REQUEST (not a JSON object), or STATUS_NOMEM. Claims with a wrong
 * type or an oversize value are not an error here: the matching *_rc field
 * records the invalid status for the validators. Numbers are accepted for
 * authyId, phoneNumber and countryCode. Thread-safe.
 */
enum status b2c_parse_claims(const char *body, size_t len, struct b2c_claims *c);

/*
 * b2c_validate_register - check the claims of a register call: identity
 * (email or signInName; email well-formed when present) and phone (split into
 * *phone). Returns STATUS_OK or the first of STATUS_IDENTITY_MISSING,
 * STATUS_EMAIL_INVALID, STATUS_PHONE_MISSING, STATUS_PHONE_INVALID.
 */
enum status b2c_validate_register(const struct b2c_claims *c, struct phone_number *phone);

/*
 * b2c_validate_wait - check the claims of a wait call: authyId (or appCode)
 * present and 1..B2C_AUTHY_ID_MAX digits. STATUS_OK, STATUS_AUTHYID_MISSING or
 * STATUS_AUTHYID_INVALID.
 */
enum status b2c_validate_wait(const struct b2c_claims *c);

/*
 * b2c_reply_authy_id - 200 {"authyId":"<id>"} into res. STATUS_OK or STATUS_NOMEM.
 */
enum status b2c_reply_authy_id(struct response *res, const char *authy_id);

/*
 * b2c_reply_ok - 200 {} into res. STATUS_OK or STATUS_NOMEM.
 */
enum status b2c_reply_ok(struct response *res);

/*
 * b2c_reply_error - turn rc into the HTTP reply: status code per b2c_http_status
 * and the body {"version":"1.0.0","status":N,"userMessage":"...","code":"<status_str>",
 * "requestId":"<id>"} (requestId omitted when request_id is NULL or empty). Never
 * fails: on allocation failure it uses a static body. Sets Allow for 405 and
 * Retry-After for rate limiting/unavailable.
 */
void b2c_reply_error(struct response *res, enum status rc, const char *request_id);

/*
 * b2c_http_status - the HTTP status for rc: 200 for STATUS_OK, 400, 403, 404,
 * 405, 413, 415, 401 for transport-level problems, 409 for everything the user
 * should see on the B2C page, 503 for STATUS_UNAVAILABLE, 500 otherwise.
 */
int b2c_http_status(enum status rc);

/*
 * b2c_user_message - the exact user message for rc (a B2C_MSG_* string). Static.
 */
const char *b2c_user_message(enum status rc);

#endif
