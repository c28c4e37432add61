/*
 * config.h - the responder's configuration: built-in defaults, then an optional
 * key = value file, then environment variables (the same names in upper case),
 * then validation. The parse table in config.c is the single source of truth;
 * etc/b2c-authy.conf.example documents every key of it. A configuration is
 * built in main before the loop starts and only read afterwards: the functions
 * that fill or free one are not thread-safe, those that read one are.
 */
#ifndef B2CAUTHY_CONFIG_H
#define B2CAUTHY_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "status.h"

#define CONFIG_MAX_THUMBPRINTS 16
/* max_waits at most: every wait can keep an approval of its own in the tracker */
#define CONFIG_MAX_WAITS_MAX 200000
#define CONFIG_THUMBPRINT_LEN 40 /* SHA-1 as lower-case hex */
#define CONFIG_MAX_DETAILS 8

/* One extra approval detail shown in the Authy app ("Key=Value"). */
struct config_detail {
	char *key;
	char *value;
};

struct config {
	/* Authy API */
	char *api_key;      /* authy_api_key / authy_api_key_file (secret, zero-freed) */
	char *api_key_file; /* authy_api_key_file: where api_key was read from, NULL = not used */
	char *api_url;      /* authy_api_url, https only; default https://api.authy.com */
	char *ca_file;      /* authy_ca_file, NULL = system CA store */
	long connect_timeout_ms; /* upstream_connect_timeout_ms, default 3000 */
	long request_timeout_ms; /* upstream_timeout_ms (one upstream call), default 10000 */
	bool send_install_link;  /* authy_send_install_link, default false */

	/* Provider and Twilio Verify v2 (provider = verify) */
	char *provider;       /* provider: authy|verify, default authy */
	char *verify_api_url; /* verify_api_url, https only; default https://verify.twilio.com */
	char *verify_service_sid; /* verify_service_sid: VA + 32 hex */
	char *twilio_account_sid; /* twilio_account_sid: AC + 32 hex (Basic auth user) */
	char *twilio_auth_token;  /* twilio_auth_token / _file (secret): password, webhook key */
	char *twilio_auth_token_file; /* where twilio_auth_token was read from, NULL = not used */
	char *twilio_api_key;         /* twilio_api_key: SK + 32 hex (Basic auth user, preferred) */
	char *twilio_api_secret;      /* twilio_api_secret / _file (secret): its password */
	char *twilio_api_secret_file; /* where twilio_api_secret was read from, NULL = not used */
	char
	    *verify_identity_secret; /* verify_identity_secret (secret): key of the identity hash */

	/* Approval requests */
	char *approval_message; /* approval_message, default "Sign-in request" (<= 200 chars) */
	struct config_detail details[CONFIG_MAX_DETAILS]; /* approval_details "K=V;K=V" */
	int n_details;
	long approval_ttl_s;   /* approval_ttl_s (seconds_to_expire), default 120 */
	long wait_budget_ms;   /* wait_budget_ms per B2C call, default 25000 (< 30 s) */
	long poll_interval_ms; /* poll_interval_ms, default 1000 */

	/* Client certificate check */
	bool client_cert_check; /* client_cert_check, default true; false only for development */
	char thumbprints[CONFIG_MAX_THUMBPRINTS][CONFIG_THUMBPRINT_LEN + 1];
	int n_thumbprints;        /* client_cert_thumbprints: comma/space separated SHA-1 hex */
	bool cert_allow_no_dates; /* client_cert_allow_no_dates, default false */
	char *cert_subject;       /* client_cert_subject: exact subject DN match, optional */
	char *cert_issuer;        /* client_cert_issuer: exact issuer DN match, optional */

	/* Process */
	char *listen;        /* listen: unix socket path or host:port; NULL = inherited fd 0 */
	long listen_backlog; /* listen_backlog, default 1024 */
	long max_waits;      /* max_waits: requests waiting at most, default 20000 */
	long upstream_connections; /* upstream_connections: connections to the API, default 16 */
	long max_body_bytes;       /* max_body_bytes, default 16384 */
	char *log_level;           /* log_level: debug|info|warn|error, default info */
	char *callback_path;       /* callback_path: OneTouch callback route, /api/authy/callback */
	char *callback_url;        /* callback_url: signed URL; NULL = https://HTTP_HOST + path */
	long callback_max_age_s;   /* callback_max_age_s: nonce freshness window, default 300 */
	long max_connections;      /* max_connections: open FastCGI connections, default 4096 */
	long request_read_timeout_ms; /* request_read_timeout_ms: deadline to deliver a request */
	long max_params_bytes;        /* max_params_bytes: FastCGI params per request, 65536 */

	/* Binding of approvals to their sign-in, and push-bombing limit */
	bool require_correlation_id; /* require_correlation_id, default true */
	char *approval_app_name;     /* approval_app_name: shown in the push, NULL = none */
	long max_pushes_per_user;    /* max_pushes_per_user per push_window_s, default 5 */
	long push_window_s;          /* push_window_s, default 900 */
	/* One-time codes (verifytoken) */
	long max_code_attempts; /* max_code_attempts: codes not accepted per authyId, default 5 */
	long code_window_s;     /* code_window_s: their sliding window, default 900 */
};

/*
 * config_defaults - fill cfg with the built-in defaults (allocating strings).
 * Returns STATUS_OK or STATUS_NOMEM. cfg must be zeroed or freed before.
 */
enum status config_defaults(struct config *cfg);

/*
 * config_scrub_env - wipe the value of every secret key's variable in envp
 * (AUTHY_API_KEY, TWILIO_AUTH_TOKEN, TWILIO_API_SECRET, VERIFY_IDENTITY_SECRET)
 * in place with zero bytes and drop those entries from envp, moving the rest
 * down, so that neither /proc/PID/environ nor a later getenv shows them. The
 * strings of envp must be writable (the process's environ is). Call once the
 * environment has been loaded, before any thread starts. Returns how many
 * entries were dropped; NULL envp is a no-op. Not thread-safe.
 */
size_t config_scrub_env(char **envp);

/*
 * config_load - the "key = value" lines of path when path is not NULL (blank
 * lines and lines starting with '#' skipped; a value may be double-quoted, \"
 * and \\ escaping inside), then every known key in envp (NULL-terminated
 * "NAME=value", upper-case names such as AUTHY_API_KEY; unknown variables
 * ignored, values taken literally and trimmed): the environment overrides the
 * file. A secret the environment gives (AUTHY_API_KEY or AUTHY_API_KEY_FILE;
 * TWILIO_AUTH_TOKEN or its _FILE; TWILIO_API_SECRET or its _FILE) is taken
 * from there alone: the file's *_file key for it is still checked for
 * duplicates and conflicts, but the file it names is never opened. Unknown keys, duplicate keys,
 * bad values, a file that is not a regular file or is refused by privfile_open (other users'
 * access, group write, an owner other than root or the effective user), or a key file refused the
 * same way, fail with STATUS_CONFIG and a message "path:line: key: ..." (or "path: ..." for the
 * file itself, "environment: NAME: ..." for a variable) in err. Messages
 * never contain a secret value. Not thread-safe.
 */
enum status config_load(struct config *cfg, const char *path, char **envp, char *err,
                        size_t errlen);

/*
 * config_validate - every range and format again plus cross-field checks after
 * loading: api key, when set, 1..128 printable characters without spaces, api
 * URL https:// without userinfo, query or fragment, at least one thumbprint
 * while client_cert_check is on, poll_interval_ms below wait_budget_ms. What a
 * provider needs besides is its own check (provider_config_validate).
 * STATUS_OK or STATUS_CONFIG with err naming the key.
 */
enum status config_validate(const struct config *cfg, char *err, size_t errlen);

/*
 * config_print - write the effective configuration as "key = value" lines to
 * out, secrets masked as "********". Used by --check-config.
 */
void config_print(const struct config *cfg, FILE *out);

/*
 * config_free - free everything cfg owns (secrets wiped) and zero it. NULL is a no-op.
 */
void config_free(struct config *cfg);

/*
 * config_normalize_thumbprint - the form client_cert_thumbprints are kept in
 * (CONFIG_THUMBPRINT_LEN lower-case hex digits) of a thumbprint given with any
 * case and optional ':' or ' ' separators, into out (>= CONFIG_THUMBPRINT_LEN
 * + 1 bytes). STATUS_OK, or STATUS_CONFIG when it is not 20 bytes of hex
 * (out then undefined). Pure; thread-safe.
 */
enum status config_normalize_thumbprint(const char *in, char *out, size_t outlen);

#endif
