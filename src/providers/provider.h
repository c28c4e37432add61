/*
 * provider.h - the push-approval backend (Authy or Twilio Verify) as a table
 * of functions chosen once at start from the configuration: register a user,
 * create an approval, ask for its status, verify a callback, and the
 * upstream connection settings. Each operation is a short sequence of HTTP
 * calls, each step a pure "build the request" and "interpret the reply"
 * pair; provider_run drives them. Handlers and main see only this.
 */
#ifndef B2CAUTHY_PROVIDER_H
#define B2CAUTHY_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "api_call.h"
#include "status.h"

struct config;
struct phone_number;
struct request;
struct upstream;
struct upstream_opts;

/*
 * The approval handle the tracker keeps is provider-defined text of at most
 * PROVIDER_HANDLE_MAX characters: the Authy uuid, or "<identity>/<challenge
 * SID>" for Verify. TRACKER_UUID_MAX must be at least this.
 */
#define PROVIDER_HANDLE_MAX 64
#define PROVIDER_ID_MAX 20 /* the authyId returned to B2C: digits */
#define PROVIDER_SCRATCH_MAX 48

/* A user to register, from claims that passed b2c_validate_register. */
struct provider_user {
	const char *email;                /* email claim, "" when absent */
	const char *sign_in_name;         /* signInName claim, "" when absent */
	const char *object_id;            /* objectId claim (a lower-case GUID), "" when absent */
	const struct phone_number *phone; /* the split phone number, "" parts when none was sent */
};

/* A one-time code to check (borrowed; the code is a secret, never logged). */
struct provider_token {
	const char *authy_id; /* the id register returned */
	const char *code;     /* the digits the app shows */
};

/* A push approval to send. */
struct provider_approval {
	const char *authy_id;         /* the id register returned */
	const char *message;          /* cut to what the API takes */
	const struct api_kv *details; /* shown in the app */
	int n_details;
	const struct api_kv *hidden; /* hidden details */
	int n_hidden;
	long seconds_to_expire; /* > 0 */
};

struct provider;

/*
 * One operation in progress: its inputs (borrowed, valid until it ends), its
 * outputs and the call record. Steps keep what they pass on in scratch.
 */
struct provider_job {
	const struct provider *p;
	struct api_call call;
	const struct provider_user *user;         /* user_create */
	const struct provider_approval *approval; /* approval_create */
	const struct provider_token *token;       /* token_verify */
	char handle[PROVIDER_HANDLE_MAX + 1];     /* approval_status in, approval_create out */
	char id[PROVIDER_ID_MAX + 1];             /* user_create out */
	char scratch[PROVIDER_SCRATCH_MAX];
};

/*
 * One operation. build fills req for step (0, 1, ...) or returns the error
 * that ends the operation without a call (err set). reply interprets r, that
 * step's HTTP reply (api_call.h, borrowed for the call): the operation's
 * status, with *more set when the next step must follow (then STATUS_OK).
 * Both pure: no I/O, no logging.
 */
struct provider_op {
	const char *what; /* "authy users/new", for logs and errors */
	enum status (*build)(struct provider_job *job, int step, struct api_request *req);
	enum status (*reply)(struct provider_job *job, int step, const struct api_reply *r,
	                     bool *more);
};

/*
 * A callback received (both borrowed): the request, and the URL it was signed
 * for (the configured callback URL, else https://Host + path; without the
 * query string).
 */
struct provider_callback {
	const struct request *req;
	const char *url;
};

struct provider_ops {
	const char *name;          /* "authy" or "verify", the value of the provider key */
	const char *callback_name; /* what the API calls its callbacks, for logs */
	/*
	 * no_factor_is_setup - a user without a verified push factor has yet to
	 * set up push in the app (Verify): the wait answers 200 factorStatus
	 * "none" instead of an error.
	 */
	bool no_factor_is_setup;
	/*
	 * needs_phone - register requires a phone number (Authy enrols the user
	 * by it). Without it (Verify: the push factor comes from the app) a
	 * register without phoneNumber is accepted and one that is sent is
	 * still validated.
	 */
	bool needs_phone;
	/*
	 * user_check - what the provider needs beyond the B2C validation: Authy
	 * an email (the email claim, else a sign-in name that is one), Verify an
	 * objectId, sign-in name or email to derive the identity from. STATUS_OK, or
	 * STATUS_IDENTITY_MISSING (for Authy also a username sign-in: a sign-in
	 * name that is no email and no email claim) with the reason in err.
	 */
	enum status (*user_check)(const struct provider_user *u, char *err, size_t errlen);
	/*
	 * id_valid - whether id (digits, as b2c_validate_wait checked) is in the
	 * one form the provider writes: Authy ids have no leading zero, so that
	 * "07" cannot pass for user 7 under a limiter key of its own; Verify
	 * takes any (an id that is no Verify identity reaches no API call, see
	 * approval_create). Pure; any thread.
	 */
	bool (*id_valid)(const char *id);
	/* user_name - the name the provider registers u under (for logs). */
	const char *(*user_name)(const struct provider_user *u);
	/*
	 * user_create: job->user -> job->id, the authyId B2C stores (Authy:
	 * users/new; Verify: the identity derived from the sign-in name, else
	 * the email, and its Entity, which may exist already).
	 * approval_create: job->approval -> job->handle (Authy: a OneTouch
	 * request; Verify: the newest verified push factor, then a Challenge;
	 * an authyId that is no Verify identity gives STATUS_USER_NOT_FOUND, no
	 * verified push factor STATUS_NO_FACTOR).
	 * approval_status: job->handle -> STATUS_OK (approved), STATUS_PENDING,
	 * STATUS_DENIED, STATUS_EXPIRED, STATUS_APPROVAL_NOT_FOUND or an error.
	 */
	const struct provider_op *user_create;
	const struct provider_op *approval_create;
	const struct provider_op *approval_status;
	/*
	 * token_verify: job->token -> STATUS_OK (the code is right),
	 * STATUS_TOKEN_WRONG, or the errors of the calls. Authy: token
	 * verification, always forced (the code is masked in logged paths).
	 * Verify: the entity's verified TOTP factor (none: STATUS_NO_TOTP_FACTOR),
	 * then a TOTP challenge with the code as AuthPayload; a code Verify
	 * cannot hold (over VERIFY_TOTP_CODE_MAX digits) is STATUS_TOKEN_WRONG
	 * without a call, an authyId that is no Verify identity
	 * STATUS_USER_NOT_FOUND.
	 */
	const struct provider_op *token_verify;
	/*
	 * config_check - what the provider needs in cfg: Authy its API key;
	 * Verify verify_service_sid, verify_identity_secret and either
	 * twilio_api_key with twilio_api_secret or twilio_account_sid with
	 * twilio_auth_token, approval_ttl_s at most 3600 and approval_details
	 * within Verify's field limits (labels 36, values 128 characters).
	 * STATUS_OK or STATUS_CONFIG with msg naming the key (no secret).
	 */
	enum status (*config_check)(const struct config *cfg, char *msg, size_t msglen);
	/* upstream_opts - the API's connection settings; strings borrowed from cfg. */
	void (*upstream_opts)(const struct config *cfg, struct upstream_opts *opts);
	/*
	 * callback_verify - check the signature of the callback in.
	 * STATUS_OK with *signature the verified signature (borrowed from
	 * in->req, for the replay check), else STATUS_UNAUTHORIZED or
	 * STATUS_BAD_REQUEST with the reason in err (no secret in it).
	 */
	enum status (*callback_verify)(const struct config *cfg, const struct provider_callback *in,
	                               const char **signature, char *err, size_t errlen);
	/*
	 * callback_result - the handle (>= PROVIDER_HANDLE_MAX + 1 bytes) and
	 * outcome (STATUS_OK approved, STATUS_DENIED, STATUS_EXPIRED) a verified
	 * callback reports: STATUS_OK; STATUS_PENDING when it reports no outcome;
	 * STATUS_BAD_REQUEST when the fields are missing or malformed.
	 */
	enum status (*callback_result)(const struct request *req, char *handle, size_t handlelen,
	                               enum status *result);
};

/* The provider in use: its table and the configuration it reads. */
struct provider {
	const struct provider_ops *ops;
	const struct config *cfg;
};

extern const struct provider_ops authy_provider;
extern const struct provider_ops verify_provider;

/*
 * provider_init - the provider cfg->provider names. STATUS_OK with out
 * filled (cfg borrowed), or STATUS_CONFIG for an unknown name. Pure.
 */
enum status provider_init(const struct config *cfg, struct provider *out);

/*
 * provider_config_validate - the whole configuration: what its provider
 * needs (config_check), then config_validate. STATUS_OK or STATUS_CONFIG with
 * err naming the key. Pure.
 */
enum status provider_config_validate(const struct config *cfg, char *err, size_t errlen);

/* What the API of a provider takes of approval details. */
struct provider_detail_limits {
	const char *provider; /* its name, for the message */
	long key_max;         /* characters of a key */
	long value_max;       /* characters of a value, 0: no limit */
};

/*
 * provider_details_fit - whether every approval_details item of cfg fits
 * lim. STATUS_OK, or STATUS_CONFIG with msg naming the item. For
 * config_check; pure.
 */
enum status provider_details_fit(const struct config *cfg, const struct provider_detail_limits *lim,
                                 char *msg, size_t msglen);

/* provider_job_init - an empty job of p. */
void provider_job_init(struct provider_job *job, const struct provider *p);

/* The parameters of a callback request, borrowed from it. */
struct provider_params {
	const char *text; /* JSON body, or form body / query string: len bytes, may be NULL */
	size_t len;
	bool json; /* text is JSON, else application/x-www-form-urlencoded */
};

/*
 * provider_callback_params - the parameters of a callback request: the query
 * string of a GET, else the body (JSON when the content type says so).
 * Borrowed from req. Pure.
 */
void provider_callback_params(const struct request *req, struct provider_params *out);

struct provider_call;

/*
 * The end of an operation, on the loop thread: its status (the last step's
 * reply, or a transport status of upstream_done_fn), job->call filled (last
 * HTTP status, Retry-After, time of all calls, err).
 */
typedef void (*provider_done_fn)(void *arg, enum status rc, struct provider_job *job);

/* How an operation runs and whom it tells (see provider_start). */
struct provider_start_opts {
	struct upstream *up;   /* the connection its calls go through */
	long long deadline_ms; /* every call ends by then (monotonic) */
	provider_done_fn fn;   /* the end, with arg */
	void *arg;
};

/*
 * provider_start - run op for job on opts->up, every call ending by
 * opts->deadline_ms. opts->fn(opts->arg, ...) follows once on the loop
 * thread, never from inside this function; opts is copied. Returns STATUS_OK
 * with *out the operation (for provider_cancel; out may be NULL), or without
 * a callback the status that ended it before any call (the first step
 * refused, or upstream_start failed), with job->call.err set. job stays the
 * caller's and must live until fn or provider_cancel. Loop thread only.
 */
enum status provider_start(const struct provider_op *op, struct provider_job *job,
                           const struct provider_start_opts *opts, struct provider_call **out);

/* provider_cancel - stop pc; no callback follows. NULL is a no-op. Loop thread only. */
void provider_cancel(struct provider_call *pc);

#endif
