/*
 * authy.h - Authy API semantics: paths, form parameters, response
 * interpretation and error-code mapping, as the steps of authy_provider
 * (provider.h). Knows nothing of curl or of connections; JSON through json.h.
 * Here what authy.c and authy_callback.c share; the steps on their own, for
 * the tests, are in authy_int.h.
 */
#ifndef B2CAUTHY_AUTHY_H
#define B2CAUTHY_AUTHY_H

#include <stdbool.h>
#include <stddef.h>

#include "provider.h"
#include "status.h"

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
 * authy_uuid_valid - true for an approval uuid as Authy returns it: 1..
 * AUTHY_UUID_MAX hex digits and dashes (safe in a URL path). NULL is false. Pure.
 */
bool authy_uuid_valid(const char *s);

/* OneTouch callbacks (FastCGI names of the request headers Authy signs with). */
#define AUTHY_P_SIGNATURE "HTTP_X_AUTHY_SIGNATURE"
#define AUTHY_P_NONCE "HTTP_X_AUTHY_SIGNATURE_NONCE"
#define AUTHY_CALLBACK_MAX_PARAMS 512
#define AUTHY_CALLBACK_MAX_BYTES (64 * 1024)

/* One received callback, everything borrowed. */
struct authy_callback {
	const char *api_key;           /* the HMAC key */
	const char *nonce;             /* X-Authy-Signature-Nonce */
	const char *signature;         /* X-Authy-Signature, base64 */
	const char *method;            /* "POST" or "GET" */
	const char *url;               /* the callback URL exactly as configured at Authy */
	struct provider_params params; /* JSON body, or form body / query string */
};

/*
 * authy_callback_check / authy_callback_outcome - the callback_verify and
 * callback_result of authy_provider (provider.h) for a OneTouch callback:
 * check - the signature over in->url and the parameters of in->req with
 * cfg->api_key, and the nonce (the Unix time of signing) within
 * cfg->callback_max_age_s of in->req->now_s. outcome - authy_callback_result of
 * the request's parameters. Thread-safe.
 */
struct request;
enum status authy_callback_check(const struct config *cfg, const struct provider_callback *in,
                                 const char **signature, char *err, size_t errlen);
enum status authy_callback_outcome(const struct request *req, char *uuid, size_t uuidlen,
                                   enum status *result);

#endif
