/*
 * status.h - the one result type of b2c-authy.
 * Every fallible function returns enum status; STATUS_OK is 0. The mapping of a
 * status to an HTTP reply lives only in b2c.c.
 */
#ifndef B2CAUTHY_STATUS_H
#define B2CAUTHY_STATUS_H

enum status {
	STATUS_OK = 0,
	STATUS_NOMEM,              /* allocation failed */
	STATUS_INTERNAL,           /* a bug or an unexpected library failure */
	STATUS_CONFIG,             /* configuration invalid */
	STATUS_NOT_FOUND,          /* no such route, key or field */
	STATUS_METHOD,             /* route exists, method does not */
	STATUS_BAD_REQUEST,        /* body is not a JSON object, or a field has the wrong type */
	STATUS_MEDIA_TYPE,         /* Content-Type is not JSON */
	STATUS_TOO_LARGE,          /* body over the configured cap */
	STATUS_FORBIDDEN,          /* client certificate missing, unverified or not allowed */
	STATUS_UNAUTHORIZED,       /* callback signature missing or wrong */
	STATUS_IDENTITY_MISSING,   /* neither email nor signInName */
	STATUS_EMAIL_INVALID,      /* email present but malformed */
	STATUS_PHONE_MISSING,      /* no phone number */
	STATUS_PHONE_INVALID,      /* phone number not E.164-splittable */
	STATUS_AUTHYID_MISSING,    /* no authyId / appCode */
	STATUS_AUTHYID_INVALID,    /* authyId not all digits / too long */
	STATUS_USER_REJECTED,      /* Authy refused the user (60027, 60000, 60002, 60004) */
	STATUS_USER_NOT_FOUND,     /* Authy 60026 */
	STATUS_APPROVAL_NOT_FOUND, /* Authy 60049: unknown approval uuid */
	STATUS_RATE_LIMITED,       /* Authy 429 / 60003 */
	STATUS_UPSTREAM_AUTH,      /* Authy 401 / 60001: our API key is wrong */
	STATUS_UPSTREAM_CONNECT,   /* DNS, TCP or TLS failure towards Authy */
	STATUS_UPSTREAM_TIMEOUT,   /* Authy did not answer in time */
	STATUS_UPSTREAM_HTTP,      /* Authy answered 5xx or an unexpected code */
	STATUS_UPSTREAM_PROTOCOL,  /* Authy answered garbage / oversize / success:false */
	STATUS_PENDING,            /* approval still pending */
	STATUS_DENIED,             /* user denied the push */
	STATUS_EXPIRED,            /* approval request expired */
	STATUS_TIMEOUT,            /* wait budget used up while still pending */
	STATUS_ABORTED,            /* the web server / client went away */
	STATUS_UNAVAILABLE,        /* overloaded or shutting down */
	STATUS_NO_FACTOR,          /* Verify: the entity has no verified push factor yet */
	STATUS_ASYNC,              /* handler keeps the request; req_ctx_done follows on the loop */
	STATUS_NO_CORRELATION,     /* wait without a usable correlationId (binding required) */
	STATUS_PUSH_LIMITED,       /* too many new pushes for one authyId in the window */
	STATUS_TOKEN_MISSING,      /* verifytoken without a code */
	STATUS_TOKEN_INVALID,      /* the code is not a string of 6..10 digits */
	STATUS_TOKEN_WRONG,        /* the API did not accept the code (Authy 60020) */
	STATUS_TOKEN_LIMITED,      /* too many codes not accepted for one authyId in the window */
	STATUS_NO_TOTP_FACTOR,     /* Verify: the entity has no verified TOTP factor */
	STATUS_TOKEN_USED,         /* the code was accepted before: a code is accepted once */
	STATUS__COUNT
};

/*
 * status_is_answer - true when rc is an answer of the API about an approval
 * (approved, pending, denied, expired) rather than a failure of the call.
 * Pure.
 */
int status_is_answer(enum status rc);

/*
 * status_str - a short stable lower_snake name for rc, for logs and metrics labels.
 * Returns a static string ("unknown" for out-of-range values). Thread-safe.
 */
const char *status_str(enum status rc);

#endif
