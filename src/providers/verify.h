/*
 * verify.h - Twilio Verify v2 Push semantics: the identity derived from a
 * sign-in name, paths and form bodies of Entities, Factors and Challenges,
 * interpretation of the JSON replies, the mapping of Twilio HTTP and error
 * codes to enum status, and the verification of Verify webhooks, as the
 * steps of verify_provider (provider.h). No I/O; JSON through json.h. Here
 * what verify.c and verify_webhook.c share; the steps on their own, for the
 * tests, are in verify_int.h.
 */
#ifndef B2CAUTHY_VERIFY_H
#define B2CAUTHY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "provider.h"
#include "status.h"

struct api_kv;
struct config;
struct request;

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
 * verify_handle_make - the approval handle "<identity>/<challenge SID>" into
 * out: STATUS_OK or STATUS_BAD_REQUEST (malformed parts, or outlen below
 * VERIFY_HANDLE_MAX + 1). Pure.
 */
enum status verify_handle_make(const char *identity, const char *sid, char *out, size_t outlen);

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
	/* form body, or a JSON body, signed through the bodySHA256 query parameter */
	struct provider_params params;
};

/*
 * verify_callback_check / verify_callback_outcome - the callback_verify and
 * callback_result of verify_provider (provider.h) for a webhook: check - the
 * signature over in->url plus the query string received (Twilio signs the URL
 * it called) and the parameters of in->req, with cfg->twilio_auth_token. outcome -
 * verify_webhook_result of the request's parameters. Thread-safe.
 */
enum status verify_callback_check(const struct config *cfg, const struct provider_callback *in,
                                  const char **signature, char *err, size_t errlen);
enum status verify_callback_outcome(const struct request *req, char *handle, size_t handlelen,
                                    enum status *result);

#endif
