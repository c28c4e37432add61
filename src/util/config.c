/*
 * config.c - table-driven configuration: built-in defaults, an optional
 * "key = value" file, environment variables (upper-case key names), range and
 * format checks, cross-field validation and a masked print for --check-config.
 * The keys[] table below is the single source of truth for all of them.
 */
#include "config.h"
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "privfile.h"
#include "utf8.h"
#include "util.h"

#define LINE_MAX_LEN 8192
#define KEYFILE_MAX 4096
#define MSG_MAX 256
#define DETAIL_KEY_MAX 40
#define DETAIL_VALUE_MAX 200
#define MASK "********"

enum ktype {
	KT_STRING,      /* char *, length min..max characters; min 0 = optional */
	KT_SECRET,      /* char *, never printed or echoed, wiped on free */
	KT_INT,         /* long in min..max */
	KT_BOOL,        /* bool */
	KT_SECRET_FILE, /* char * path; the first line of the file becomes its secret */
	KT_THUMBPRINTS, /* cfg->thumbprints / n_thumbprints */
	KT_DETAILS,     /* cfg->details / n_details */
};

#define KF_APIKEY 0x1 /* one of the API key sources: only one per file or environment */
#define KF_NOECHO 0x2 /* never repeat the value in errors (may carry credentials) */
#define KF_TOKEN 0x4  /* one of the Twilio auth token sources, likewise */
#define KF_SECRET 0x8 /* one of the Twilio API key secret sources, likewise */
#define KF_SOURCES (KF_APIKEY | KF_TOKEN | KF_SECRET)

struct key {
	const char *name;
	enum ktype type;
	long min, max;
	size_t off;      /* offsetof the field in struct config */
	const char *def; /* default in file syntax; NULL = unset */
	/* extra check of a string value (may normalize it in place): what is expected, or NULL */
	const char *(*check)(char *v);
	unsigned flags;   /* KF_* */
	const char *help; /* one line, for config_key_help */
};

static const char *check_api_key(char *v);
static const char *check_https_url(char *v);
static const char *check_trust_file(char *v);
static const char *check_listen(char *v);
static const char *check_log_level(char *v);
static const char *check_callback_path(char *v);
static const char *check_callback_url(char *v);
static const char *check_provider(char *v);
static const char *check_service_sid(char *v);
static const char *check_account_sid(char *v);
static const char *check_api_key_sid(char *v);
static const char *check_identity_secret(char *v);

#define F(field) offsetof(struct config, field)

static const struct key keys[] = {
    {"authy_api_key", KT_SECRET, 1, 128, F(api_key), NULL, check_api_key, KF_APIKEY | KF_NOECHO,
     "Authy API key (secret)"},
    {"authy_api_key_file", KT_SECRET_FILE, 1, 4096, F(api_key_file), NULL, NULL, KF_APIKEY,
     "file whose first line is the Authy API key; owned by root or the responder, mode 0600/0640"},
    {"authy_api_url", KT_STRING, 1, 2048, F(api_url), "https://api.authy.com", check_https_url,
     KF_NOECHO, "base URL of the Authy API, https:// only"},
    {"authy_ca_file", KT_STRING, 0, 4096, F(ca_file), NULL, check_trust_file, 0,
     "PEM CA bundle for the Authy API; empty = system store"},
    {"upstream_connect_timeout_ms", KT_INT, 100, 60000, F(connect_timeout_ms), "3000", NULL, 0,
     "connect timeout towards Authy in ms"},
    {"upstream_timeout_ms", KT_INT, 500, 120000, F(request_timeout_ms), "10000", NULL, 0,
     "total timeout of one Authy call in ms"},
    {"authy_send_install_link", KT_BOOL, 0, 1, F(send_install_link), "false", NULL, 0,
     "ask Authy to text an app install link to new users"},
    {"provider", KT_STRING, 1, 6, F(provider), "authy", check_provider, 0,
     "push approval backend: authy (Authy API) or verify (Twilio Verify v2 Push)"},
    {"verify_api_url", KT_STRING, 1, 2048, F(verify_api_url), "https://verify.twilio.com",
     check_https_url, KF_NOECHO, "base URL of the Twilio Verify API, https:// only"},
    {"verify_service_sid", KT_STRING, 0, 34, F(verify_service_sid), NULL, check_service_sid, 0,
     "SID of the Verify Service (VA + 32 hex digits); required with provider = verify"},
    {"twilio_account_sid", KT_STRING, 0, 34, F(twilio_account_sid), NULL, check_account_sid, 0,
     "Twilio Account SID (AC + 32 hex digits), the Basic auth user with the auth token"},
    {"twilio_auth_token", KT_SECRET, 0, 128, F(twilio_auth_token), NULL, check_api_key,
     KF_TOKEN | KF_NOECHO, "Twilio Auth Token (secret): Basic auth password and webhook key"},
    {"twilio_auth_token_file", KT_SECRET_FILE, 1, 4096, F(twilio_auth_token_file), NULL, NULL,
     KF_TOKEN,
     "file whose first line is the Twilio Auth Token; owned by root or the responder, mode "
     "0600/0640"},
    {"twilio_api_key", KT_STRING, 0, 34, F(twilio_api_key), NULL, check_api_key_sid, 0,
     "Twilio API key SID (SK + 32 hex digits), the Basic auth user instead of the account"},
    {"twilio_api_secret", KT_SECRET, 0, 128, F(twilio_api_secret), NULL, check_api_key,
     KF_SECRET | KF_NOECHO, "secret of twilio_api_key (secret)"},
    {"twilio_api_secret_file", KT_SECRET_FILE, 1, 4096, F(twilio_api_secret_file), NULL, NULL,
     KF_SECRET,
     "file whose first line is the API key secret; owned by root or the responder, mode 0600/0640"},
    {"verify_identity_secret", KT_SECRET, 0, 128, F(verify_identity_secret), NULL,
     check_identity_secret, KF_NOECHO,
     "key of the hash that turns accounts (objectId, else sign-in name) into Verify "
     "identities (secret)"},
    {"approval_message", KT_STRING, 1, 200, F(approval_message), "Sign-in request", NULL, 0,
     "message of the push approval request"},
    {"approval_details", KT_DETAILS, 0, CONFIG_MAX_DETAILS, F(details), "", NULL, 0,
     "extra details shown in the app, Key=Value;Key=Value"},
    {"approval_ttl_s", KT_INT, 30, 86400, F(approval_ttl_s), "120", NULL, 0,
     "lifetime of an approval request in s"},
    {"wait_budget_ms", KT_INT, 1000, 29000, F(wait_budget_ms), "25000", NULL, 0,
     "longest time one B2C call waits for the approval in ms"},
    {"poll_interval_ms", KT_INT, 100, 10000, F(poll_interval_ms), "1000", NULL, 0,
     "interval between approval status polls in ms"},
    {"client_cert_check", KT_BOOL, 0, 1, F(client_cert_check), "true", NULL, 0,
     "check the B2C client certificate (false only for development)"},
    {"client_cert_thumbprints", KT_THUMBPRINTS, 0, CONFIG_MAX_THUMBPRINTS, F(thumbprints), "", NULL,
     0, "allowed SHA-1 client certificate thumbprints, comma or space separated"},
    {"client_cert_allow_no_dates", KT_BOOL, 0, 1, F(cert_allow_no_dates), "false", NULL, 0,
     "accept a fingerprint without certificate and validity dates (no expiry check)"},
    {"client_cert_subject", KT_STRING, 0, 511, F(cert_subject), NULL, NULL, 0,
     "required client certificate subject DN (RFC 2253), empty = any"},
    {"client_cert_issuer", KT_STRING, 0, 511, F(cert_issuer), NULL, NULL, 0,
     "required client certificate issuer DN (RFC 2253), empty = any"},
    {"listen", KT_STRING, 0, 255, F(listen), NULL, check_listen, 0,
     "unix socket path or host:port; empty = inherited socket on fd 0"},
    {"listen_backlog", KT_INT, 1, 65535, F(listen_backlog), "1024", NULL, 0,
     "listen queue length of an own socket"},
    {"max_waits", KT_INT, 1, CONFIG_MAX_WAITS_MAX, F(max_waits), "20000", NULL, 0,
     "requests waiting for an approval at most; more get 503"},
    {"upstream_connections", KT_INT, 1, 256, F(upstream_connections), "16", NULL, 0,
     "keep-alive connections to the API for every call, polls included"},
    {"max_body_bytes", KT_INT, 1024, 1048576, F(max_body_bytes), "16384", NULL, 0,
     "largest accepted request body in bytes"},
    {"log_level", KT_STRING, 1, 5, F(log_level), "info", check_log_level, 0,
     "debug, info, warn or error"},
    {"callback_path", KT_STRING, 1, 256, F(callback_path), "/api/authy/callback",
     check_callback_path, 0, "path of the OneTouch callback route"},
    {"callback_url", KT_STRING, 0, 512, F(callback_url), NULL, check_callback_url, 0,
     "public https URL of the callback as configured at Authy; empty = https://Host/path"},
    {"callback_max_age_s", KT_INT, 10, 3600, F(callback_max_age_s), "300", NULL, 0,
     "accepted age of a callback nonce in s"},
    {"max_connections", KT_INT, 16, 1048576, F(max_connections), "24576", NULL, 0,
     "open FastCGI connections at most; more are accepted and closed at once"},
    {"request_read_timeout_ms", KT_INT, 100, 600000, F(request_read_timeout_ms), "10000", NULL, 0,
     "time a FastCGI connection has to deliver a whole request (also the idle limit) in ms"},
    {"max_params_bytes", KT_INT, 4096, 1048576, F(max_params_bytes), "65536", NULL, 0,
     "largest FastCGI params (names and values) of one request in bytes"},
    {"require_correlation_id", KT_BOOL, 0, 1, F(require_correlation_id), "true", NULL, 0,
     "refuse a wait or code check without correlationId (false lets sign-ins share a push: "
     "unsafe)"},
    {"approval_app_name", KT_STRING, 0, 100, F(approval_app_name), NULL, NULL, 0,
     "application name shown in the push as Application; empty = not shown"},
    {"max_pushes_per_user", KT_INT, 1, 1000, F(max_pushes_per_user), "5", NULL, 0,
     "new pushes allowed per authyId within push_window_s (re-attaches do not count)"},
    {"push_window_s", KT_INT, 60, 86400, F(push_window_s), "900", NULL, 0,
     "window of max_pushes_per_user in s"},
    {"max_code_attempts", KT_INT, 1, 100, F(max_code_attempts), "5", NULL, 0,
     "one-time codes not accepted per authyId within code_window_s before codes are refused"},
    {"code_window_s", KT_INT, 60, 86400, F(code_window_s), "900", NULL, 0,
     "window of max_code_attempts in s"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Each KT_SECRET_FILE key (by field) and the secret field its file fills. */
static const struct {
	size_t file_off, secret_off;
	const char *what; /* for "the first line of FILE must hold the ..." */
} secret_files[] = {
    {F(api_key_file), F(api_key), "API key"},
    {F(twilio_auth_token_file), F(twilio_auth_token), "auth token"},
    {F(twilio_api_secret_file), F(twilio_api_secret), "API key secret"},
};

#define NSECRET_FILES (sizeof(secret_files) / sizeof(secret_files[0]))

static void msgf(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
msgf(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static void *
field(const struct config *cfg, const struct key *k)
{
	return (char *)cfg + k->off;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	}
	return false;
}

/* ---- value checks: each returns what is expected, or NULL when v is fine ---- */

static const char *
check_api_key(char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			return "1..128 printable characters without spaces";
	}
	return NULL;
}

static bool
authority_ok(const char *a, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)a[i]) && strchr(".-:[]", a[i]) == NULL)
			return false;
	}
	return a[0] != ':';
}

/* https:// only: the API key must never travel in clear text. Trailing '/' dropped. */
static const char *
check_https_url(char *v)
{
	static const char expect[] =
	    "an https:// URL without user info, query or fragment, e.g. https://api.authy.com";
	const char *auth = v + 8;
	size_t n, alen;

	if (strncasecmp(v, "https://", 8) != 0)
		return expect;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#' || *p == '@')
			return expect;
	}
	alen = strcspn(auth, "/");
	if (!authority_ok(auth, alen))
		return expect;
	n = strlen(v);
	while (n > 8 + alen && v[n - 1] == '/')
		v[--n] = '\0';
	return NULL;
}

/*
 * Checked at start, so a typo fails --check-config and not the first TLS
 * handshake. Whoever can change the bundle decides which server gets the API
 * key and whose answers count.
 */
static const char *
check_trust_file(char *v)
{
	char err[256];

	if (!privfile_trusted(v, err, sizeof(err)))
		return "an existing readable regular file that only root or the responder's user "
		       "can change";
	return NULL;
}

static const char *
check_listen(char *v)
{
	static const char expect[] = "a unix socket path (/run/b2c-authy/fcgi.sock) or host:port";
	struct sockaddr_un sun;
	const char *colon;
	long port;

	/* A longer path would be cut silently by bind(); sun_path is 108 bytes on Linux. */
	if (v[0] == '/')
		return strlen(v) < sizeof(sun.sun_path) && strchr(v, ' ') == NULL ? NULL : expect;
	colon = strrchr(v, ':');
	if (colon == NULL || colon == v || util_parse_long(colon + 1, 1, 65535, &port) != STATUS_OK)
		return expect;
	if (v[0] == '[' && colon[-1] != ']')
		return expect;
	for (const char *p = v; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && strchr(".-:[]*", *p) == NULL)
			return expect;
	}
	return NULL;
}

static const char *
check_log_level(char *v)
{
	enum log_level lvl;

	return log_level_parse(v, &lvl) == STATUS_OK ? NULL : "debug, info, warn or error";
}

static const char *
check_callback_path(char *v)
{
	if (v[0] != '/')
		return "a path starting with '/'";
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#')
			return "a path starting with '/' without spaces, '?' or '#'";
	}
	return NULL;
}

/* The URL Authy signs callbacks with: https only, no query or fragment. */
static const char *
check_callback_url(char *v)
{
	if (v[0] == '\0')
		return NULL;
	if (strncmp(v, "https://", 8) != 0 || v[8] == '\0' || v[8] == '/')
		return "an https:// URL";
	for (const char *p = v; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '?' || *p == '#')
			return "an https:// URL without spaces, query or fragment";
	}
	return NULL;
}

static const char *
check_provider(char *v)
{
	return strcmp(v, "authy") == 0 || strcmp(v, "verify") == 0 ? NULL : "authy or verify";
}

/* A Twilio SID: two upper-case letters (the resource type) and 32 hex digits. */
static bool
twilio_sid_ok(const char *v, const char *prefix)
{
	if (strncmp(v, prefix, 2) != 0 || strlen(v) != 34)
		return false;
	for (const char *p = v + 2; *p != '\0'; p++) {
		if (!isxdigit((unsigned char)*p))
			return false;
	}
	return true;
}

static const char *
check_service_sid(char *v)
{
	return twilio_sid_ok(v, "VA") ? NULL : "a Verify Service SID: VA and 32 hex digits";
}

static const char *
check_account_sid(char *v)
{
	return twilio_sid_ok(v, "AC") ? NULL : "an Account SID: AC and 32 hex digits";
}

static const char *
check_api_key_sid(char *v)
{
	return twilio_sid_ok(v, "SK") ? NULL : "an API key SID: SK and 32 hex digits";
}

/* The key of a keyed hash: long enough that identities cannot be guessed offline. */
static const char *
check_identity_secret(char *v)
{
	if (strlen(v) < 16 || check_api_key(v) != NULL)
		return "16..128 printable characters without spaces";
	return NULL;
}

/* ---- setters ---- */

static void
replace_str(char **slot, char *nv, bool secret)
{
	if (secret)
		util_zero_free_str(*slot);
	else
		free(*slot);
	*slot = nv;
}

/* An echo of a non-secret bad value for error messages, sanitized and short. */
static const char *
shown(const char *v, char *buf, size_t buflen)
{
	return util_sanitize(v, buf, buflen);
}

/*
 * What is wrong with string value v (non-empty) for key k: NULL when fine, ""
 * for a length or control-character problem, else what the key expects. The
 * check may normalize v in place.
 */
static const char *
string_problem(const struct key *k, char *v)
{
	long n = (long)utf8_chars(v);
	const char *bad = k->check != NULL ? k->check(v) : NULL;

	/* The key's own description of what it expects is the more helpful text. */
	if (bad != NULL)
		return bad;
	return n < k->min || n > k->max || has_control(v) ? "" : NULL;
}

/* The error text for string_problem's answer bad; a secret value is never shown. */
static void
string_msg(const struct key *k, const char *v, const char *bad, char *msg, size_t msglen)
{
	char tmp[64];

	if (*bad == '\0')
		msgf(msg, msglen, "%s: expected %ld..%ld characters without control characters",
		     k->name, k->min, k->max);
	else if (k->flags & KF_NOECHO)
		msgf(msg, msglen, "%s: expected %s", k->name, bad);
	else
		msgf(msg, msglen, "%s: expected %s, got \"%s\"", k->name, bad,
		     shown(v, tmp, sizeof(tmp)));
}

static enum status
set_string(struct config *cfg, const struct key *k, char *v, char *msg, size_t msglen)
{
	bool secret = k->type == KT_SECRET;
	const char *bad;
	char *copy;

	if (*v == '\0' && k->min == 0) {
		replace_str(field(cfg, k), NULL, secret);
		return STATUS_OK;
	}
	bad = *v == '\0' ? "" : string_problem(k, v);
	if (bad != NULL) {
		string_msg(k, v, bad, msg, msglen);
		return STATUS_CONFIG;
	}
	copy = strdup(v);
	if (copy == NULL)
		return STATUS_NOMEM;
	replace_str(field(cfg, k), copy, secret);
	/* A directly given secret replaces one read from a file earlier. */
	for (size_t i = 0; i < NSECRET_FILES; i++) {
		if (k->off == secret_files[i].secret_off)
			replace_str((char **)((char *)cfg + secret_files[i].file_off), NULL, false);
	}
	return STATUS_OK;
}

static enum status
set_int(struct config *cfg, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char tmp[32];
	long n;

	if (util_parse_long(v, k->min, k->max, &n) != STATUS_OK) {
		msgf(msg, msglen, "%s: expected an integer in %ld..%ld, got \"%s\"", k->name,
		     k->min, k->max, shown(v, tmp, sizeof(tmp)));
		return STATUS_CONFIG;
	}
	*(long *)field(cfg, k) = n;
	return STATUS_OK;
}

/* The spellings systemd and most daemons accept; anything else is an error, not false. */
static enum status
set_bool(struct config *cfg, const struct key *k, const char *v, char *msg, size_t msglen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	char tmp[32];

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*(bool *)field(cfg, k) = strcasecmp(v, yes[i]) == 0;
			return STATUS_OK;
		}
	}
	msgf(msg, msglen, "%s: expected true/false, yes/no, on/off or 1/0, got \"%s\"", k->name,
	     shown(v, tmp, sizeof(tmp)));
	return STATUS_CONFIG;
}

/*
 * Read the first line of an already opened key file into a fresh string. Only
 * the first line counts, so the newline that echo(1) or an editor appends is
 * harmless. The stack buffer held the key and is wiped on every path.
 */
static enum status
read_key_line(int fd, char **out)
{
	char buf[KEYFILE_MAX];
	size_t len = 0;
	ssize_t r;
	enum status rc = STATUS_CONFIG;

	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	util_trim(buf);
	if (buf[0] == '\0' || strlen(buf) > 128 || check_api_key(buf) != NULL)
		goto out;
	*out = strdup(buf);
	rc = *out != NULL ? STATUS_OK : STATUS_NOMEM;
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static enum status
set_key_file(struct config *cfg, const struct key *k, const char *v, char *msg, size_t msglen)
{
	enum status rc = STATUS_CONFIG;
	char *key = NULL, *path = NULL;
	char why[MSG_MAX];
	size_t sf = 0;
	int fd;

	while (sf + 1 < NSECRET_FILES && secret_files[sf].file_off != k->off)
		sf++;
	fd = privfile_open(v, why, sizeof(why));
	if (fd < 0) {
		msgf(msg, msglen, "%s: %s", k->name, why);
		return STATUS_CONFIG;
	}
	rc = read_key_line(fd, &key);
	if (rc == STATUS_CONFIG)
		msgf(msg, msglen,
		     "%s: the first line of %s must hold the %s: "
		     "1..128 printable characters without spaces",
		     k->name, v, secret_files[sf].what);
	if (rc != STATUS_OK)
		goto out;
	path = strdup(v);
	if (path == NULL) {
		rc = STATUS_NOMEM;
		goto out;
	}
	replace_str((char **)((char *)cfg + secret_files[sf].secret_off), key, true);
	replace_str(field(cfg, k), path, false);
	key = NULL;
out:
	util_zero_free_str(key);
	close(fd);
	return rc;
}

/*
 * Cut the next item off *cur at any of seps (items may be empty). Returns
 * NULL when the input is used up. Re-entrant: no hidden state.
 */
static char *
split_next(char **cur, const char *seps)
{
	char *item = *cur, *end;

	if (item == NULL)
		return NULL;
	end = item + strcspn(item, seps);
	if (*end != '\0') {
		*end = '\0';
		*cur = end + 1;
	} else {
		*cur = NULL;
	}
	return item;
}

/* Append t unless already listed; false when the list is full. */
enum status
config_normalize_thumbprint(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (in == NULL || outlen < CONFIG_THUMBPRINT_LEN + 1)
		return STATUS_CONFIG;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= CONFIG_THUMBPRINT_LEN)
			return STATUS_CONFIG;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	if (n != CONFIG_THUMBPRINT_LEN)
		return STATUS_CONFIG;
	out[n] = '\0';
	return STATUS_OK;
}

static bool
add_thumbprint(char list[][CONFIG_THUMBPRINT_LEN + 1], int *n, const char *t)
{
	for (int i = 0; i < *n; i++) {
		if (strcmp(list[i], t) == 0)
			return true;
	}
	if (*n >= CONFIG_MAX_THUMBPRINTS)
		return false;
	util_strlcpy(list[(*n)++], t, CONFIG_THUMBPRINT_LEN + 1);
	return true;
}

/*
 * One comma-separated item: either one thumbprint written with ':' or ' '
 * between the bytes (as certificate viewers show it), or several thumbprints
 * separated by white space. Returns 0, or the failing 1-based token count.
 */
static int
parse_thumb_item(char *item, char list[][CONFIG_THUMBPRINT_LEN + 1], int *n, bool *full)
{
	char norm[CONFIG_THUMBPRINT_LEN + 1];
	char *cur = item, *tok;
	int idx = 0;

	if (config_normalize_thumbprint(item, norm, sizeof(norm)) == STATUS_OK) {
		*full = !add_thumbprint(list, n, norm);
		return *full ? 1 : 0;
	}
	while ((tok = split_next(&cur, " \t")) != NULL) {
		if (*tok == '\0')
			continue;
		idx++;
		if (config_normalize_thumbprint(tok, norm, sizeof(norm)) != STATUS_OK)
			return idx;
		if (!add_thumbprint(list, n, norm)) {
			*full = true;
			return idx;
		}
	}
	return 0;
}

static enum status
set_thumbprints(struct config *cfg, const struct key *k, char *v, char *msg, size_t msglen)
{
	char list[CONFIG_MAX_THUMBPRINTS][CONFIG_THUMBPRINT_LEN + 1];
	char *cur = v, *item;
	int n = 0, no = 0;
	bool full = false;

	while ((item = split_next(&cur, ",")) != NULL) {
		util_trim(item);
		if (*item == '\0')
			continue;
		no++;
		if (parse_thumb_item(item, list, &n, &full) != 0) {
			if (full)
				msgf(msg, msglen, "%s: at most %d thumbprints", k->name,
				     CONFIG_MAX_THUMBPRINTS);
			else
				msgf(msg, msglen,
				     "%s: item %d: expected SHA-1 thumbprints of 40 "
				     "hex digits (':' between bytes allowed)",
				     k->name, no);
			return STATUS_CONFIG;
		}
	}
	memcpy(cfg->thumbprints, list, sizeof(list[0]) * (size_t)n);
	cfg->n_thumbprints = n;
	return STATUS_OK;
}

static void
free_details(struct config_detail *d, int n)
{
	for (int i = 0; i < n; i++) {
		free(d[i].key);
		free(d[i].value);
		d[i].key = d[i].value = NULL;
	}
}

/* Detail keys become form parameter names details[Key]: keep them to a safe set. */
static bool
detail_key_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > DETAIL_KEY_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr(" _-", *s) == NULL)
			return false;
	}
	return true;
}

/* Check one "Key=Value" item and append it to d; NULL or what is wrong. */
static const char *
add_detail(struct config_detail *d, int *n, char *item)
{
	char *eq = strchr(item, '='), *key = item, *value;
	long vlen;

	if (eq == NULL)
		return "expected Key=Value";
	*eq = '\0';
	value = util_trim(eq + 1);
	util_trim(key);
	if (!detail_key_ok(key))
		return "the key must be 1..40 letters, digits, spaces, '_' or '-'";
	vlen = (long)utf8_chars(value);
	if (vlen < 1 || vlen > DETAIL_VALUE_MAX || has_control(value))
		return "the value must be 1..200 characters";
	for (int i = 0; i < *n; i++) {
		if (strcmp(d[i].key, key) == 0)
			return "duplicate key";
	}
	if (*n >= CONFIG_MAX_DETAILS)
		return "too many details";
	d[*n].key = strdup(key);
	d[*n].value = strdup(value);
	(*n)++;
	if (d[*n - 1].key == NULL || d[*n - 1].value == NULL)
		return "out of memory";
	return NULL;
}

static enum status
set_details(struct config *cfg, const struct key *k, char *v, char *msg, size_t msglen)
{
	struct config_detail d[CONFIG_MAX_DETAILS];
	char *cur = v, *item;
	const char *bad;
	int n = 0, no = 0;

	memset(d, 0, sizeof(d));
	while ((item = split_next(&cur, ";")) != NULL) {
		util_trim(item);
		if (*item == '\0')
			continue;
		no++;
		bad = add_detail(d, &n, item);
		if (bad != NULL) {
			msgf(msg, msglen, "%s: item %d: %s (format Key=Value;Key=Value)", k->name,
			     no, bad);
			free_details(d, n);
			return STATUS_CONFIG;
		}
	}
	free_details(cfg->details, cfg->n_details);
	memcpy(cfg->details, d, sizeof(d));
	cfg->n_details = n;
	return STATUS_OK;
}

/*
 * Apply one textual value v (modifiable, trimmed) to key k. On failure msg
 * names the key and what is expected; it never contains a secret value.
 */
static enum status
set_value(struct config *cfg, const struct key *k, char *v, char *msg, size_t msglen)
{
	enum status rc = STATUS_INTERNAL;

	switch (k->type) {
	case KT_STRING:
	case KT_SECRET:
		rc = set_string(cfg, k, v, msg, msglen);
		break;
	case KT_INT:
		rc = set_int(cfg, k, v, msg, msglen);
		break;
	case KT_BOOL:
		rc = set_bool(cfg, k, v, msg, msglen);
		break;
	case KT_SECRET_FILE:
		rc = set_key_file(cfg, k, v, msg, msglen);
		break;
	case KT_THUMBPRINTS:
		rc = set_thumbprints(cfg, k, v, msg, msglen);
		break;
	case KT_DETAILS:
		rc = set_details(cfg, k, v, msg, msglen);
		break;
	}
	if (rc == STATUS_NOMEM)
		msgf(msg, msglen, "%s: out of memory", k->name);
	return rc;
}

/* set_value on a private copy of v, wiped afterwards (it may be the API key). */
static enum status
set_copy(struct config *cfg, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char *copy = strdup(v);
	enum status rc;

	if (copy == NULL) {
		msgf(msg, msglen, "%s: out of memory", k->name);
		return STATUS_NOMEM;
	}
	rc = set_value(cfg, k, util_trim(copy), msg, msglen);
	util_zero_free_str(copy);
	return rc;
}

enum status
config_defaults(struct config *cfg)
{
	char msg[MSG_MAX];
	enum status rc = STATUS_OK;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS && rc == STATUS_OK; i++) {
		if (keys[i].def != NULL)
			rc = set_copy(cfg, &keys[i], keys[i].def, msg, sizeof(msg));
	}
	if (rc != STATUS_OK) {
		config_free(cfg);
		return rc == STATUS_NOMEM ? STATUS_NOMEM : STATUS_INTERNAL;
	}
	return STATUS_OK;
}

/*
 * The per-source bookkeeping: the line each key was set on (0 = not yet, -1 =
 * set from the environment), for duplicate and mutual-exclusion errors.
 */
struct source {
	int lineno; /* the line being read, from 1 */
	int line[NKEYS];
	/* KF_SOURCES groups the environment sets: their *_file keys are not opened */
	unsigned env_sources;
};

static const char *
conflict(const struct source *src, const struct key *k, int *line)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (src->line[i] != 0 && (k->flags & keys[i].flags & KF_SOURCES) != 0 &&
		    &keys[i] != k) {
			*line = src->line[i];
			return keys[i].name;
		}
	}
	return NULL;
}

/* Record key k as set on line; STATUS_CONFIG with msg for a duplicate or conflict. */
static enum status
note_seen(struct source *src, const struct key *k, int line, char *msg, size_t msglen)
{
	size_t idx = (size_t)(k - keys);
	const char *other;
	int oline = 0;

	if (src->line[idx] != 0) {
		msgf(msg, msglen, "%s: duplicate key (first set on line %d)", k->name,
		     src->line[idx]);
		return STATUS_CONFIG;
	}
	other = conflict(src, k, &oline);
	if (other != NULL && oline > 0) {
		msgf(msg, msglen, "%s: conflicts with %s on line %d; set only one", k->name, other,
		     oline);
		return STATUS_CONFIG;
	}
	if (other != NULL) {
		msgf(msg, msglen, "%s: conflicts with %s; set only one", k->name, other);
		return STATUS_CONFIG;
	}
	src->line[idx] = line;
	return STATUS_OK;
}

/*
 * Undo the optional double quotes of a file value in place: \" and \\ are
 * the only escapes. Returns NULL or what is wrong.
 */
static const char *
unquote(char *v)
{
	char *r = v + 1, *w = v;

	if (v[0] != '"')
		return NULL;
	for (; *r != '\0' && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"')
		return "unterminated quoted value";
	if (r[1] != '\0')
		return "text after the closing quote";
	*w = '\0';
	return NULL;
}

/* File keys are lower case; an upper-case name is an environment name used by mistake. */
static bool
key_syntax_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return false;
	}
	return true;
}

/* One line of the file, line src->lineno; msg is set on STATUS_CONFIG. */
static enum status
file_line(struct config *cfg, struct source *src, char *line, char *msg, size_t msglen)
{
	char *eq, *name, *value, tmp[48];
	const struct key *k;
	const char *bad;
	enum status rc;

	line = util_trim(line);
	if (*line == '\0' || *line == '#')
		return STATUS_OK;
	eq = strchr(line, '=');
	if (eq == NULL) {
		msgf(msg, msglen, "expected key = value");
		return STATUS_CONFIG;
	}
	*eq = '\0';
	name = util_trim(line);
	value = util_trim(eq + 1);
	k = key_syntax_ok(name) ? find_key(name) : NULL;
	if (k == NULL) {
		msgf(msg, msglen, "unknown key \"%s\"", util_sanitize(name, tmp, sizeof(tmp)));
		return STATUS_CONFIG;
	}
	rc = note_seen(src, k, src->lineno, msg, msglen);
	if (rc != STATUS_OK)
		return rc;
	bad = unquote(value);
	if (bad != NULL) {
		msgf(msg, msglen, "%s: %s", k->name, bad);
		return STATUS_CONFIG;
	}
	/*
	 * The environment's source of this secret replaces the file's anyway: a
	 * systemd credential must work when the file named here is unreadable.
	 */
	if (k->type == KT_SECRET_FILE && (k->flags & src->env_sources) != 0)
		return STATUS_OK;
	return set_value(cfg, k, value, msg, msglen);
}

/* Open the configuration file as privfile_open does (it may hold the API key). */
static enum status
open_private(const char *path, FILE **out, char *err, size_t errlen)
{
	int fd = privfile_open(path, err, errlen);

	if (fd < 0)
		return STATUS_CONFIG;
	*out = fdopen(fd, "r");
	if (*out == NULL) {
		msgf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return STATUS_CONFIG;
	}
	return STATUS_OK;
}

/* config_load_file, not opening the key files of the env_sources groups. */
static enum status
load_file(struct config *cfg, const char *path, unsigned env_sources, char *err, size_t errlen)
{
	struct source src;
	char msg[MSG_MAX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *fp = NULL;
	enum status rc;

	memset(&src, 0, sizeof(src));
	src.env_sources = env_sources;
	rc = open_private(path, &fp, err, errlen);
	if (rc != STATUS_OK)
		return rc;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		src.lineno++;
		if (len > LINE_MAX_LEN) {
			msgf(msg, sizeof(msg), "line longer than %d bytes", LINE_MAX_LEN);
			rc = STATUS_CONFIG;
		} else {
			rc = file_line(cfg, &src, line, msg, sizeof(msg));
		}
		if (rc != STATUS_OK) {
			msgf(err, errlen, "%s:%d: %s", path, src.lineno, msg);
			goto out;
		}
	}
	if (ferror(fp)) {
		msgf(err, errlen, "%s: read error", path);
		rc = STATUS_CONFIG;
	}
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(fp);
	return rc;
}

enum status
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	return load_file(cfg, path, 0, err, errlen);
}

/* The environment variable name of key k: its name in upper case. */
static void
env_name(const struct key *k, char *out, size_t outlen)
{
	size_t i = 0;

	for (; k->name[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)toupper((unsigned char)k->name[i]);
	out[i] = '\0';
}

static const char *
env_lookup(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

/* "environment: NAME: what is expected", naming the variable instead of the key. */
static void
env_error(const struct key *k, const char *name, const char *msg, char *err, size_t errlen)
{
	size_t n = strlen(k->name);

	if (strncmp(msg, k->name, n) == 0 && msg[n] == ':')
		msg += n + 1;
	while (*msg == ' ')
		msg++;
	msgf(err, errlen, "environment: %s: %s", name, msg);
}

enum status
config_load_env(struct config *cfg, char **envp, char *err, size_t errlen)
{
	struct source src;
	char name[64], msg[MSG_MAX];
	const char *v;
	enum status rc = STATUS_OK;

	memset(&src, 0, sizeof(src));
	for (size_t i = 0; i < NKEYS; i++) {
		env_name(&keys[i], name, sizeof(name));
		v = env_lookup(envp, name);
		if (v == NULL)
			continue;
		rc = note_seen(&src, &keys[i], -1, msg, sizeof(msg));
		if (rc == STATUS_OK)
			rc = set_copy(cfg, &keys[i], v, msg, sizeof(msg));
		if (rc != STATUS_OK) {
			env_error(&keys[i], name, msg, err, errlen);
			return rc;
		}
	}
	return STATUS_OK;
}

/* True, with the length of its name, when e ("NAME=value") carries a secret key. */
static bool
secret_env(const char *e, size_t *namelen)
{
	char name[64];
	size_t n;

	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type != KT_SECRET)
			continue;
		env_name(&keys[i], name, sizeof(name));
		n = strlen(name);
		if (strncmp(e, name, n) == 0 && e[n] == '=') {
			*namelen = n;
			return true;
		}
	}
	return false;
}

size_t
config_scrub_env(char **envp)
{
	size_t w = 0, dropped = 0, n = 0;

	if (envp == NULL)
		return 0;
	for (size_t r = 0; envp[r] != NULL; r++) {
		if (!secret_env(envp[r], &n)) {
			envp[w++] = envp[r];
			continue;
		}
		/*
		 * The kernel shows the original strings in /proc/PID/environ, so
		 * unsetenv alone (which drops only the pointer) would leave the
		 * value readable there: wipe the bytes themselves.
		 */
		explicit_bzero(envp[r] + n + 1, strlen(envp[r] + n + 1));
		dropped++;
	}
	envp[w] = NULL;
	return dropped;
}

/* The KF_SOURCES groups of the secrets some variable of envp sets. */
static unsigned
env_sources(char **envp)
{
	char name[64];
	unsigned groups = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		if ((keys[i].flags & KF_SOURCES) == 0)
			continue;
		env_name(&keys[i], name, sizeof(name));
		if (env_lookup(envp, name) != NULL)
			groups |= keys[i].flags & KF_SOURCES;
	}
	return groups;
}

enum status
config_load(struct config *cfg, const char *path, char **envp, char *err, size_t errlen)
{
	enum status rc = STATUS_OK;

	if (path != NULL)
		rc = load_file(cfg, path, env_sources(envp), err, errlen);
	if (rc == STATUS_OK)
		rc = config_load_env(cfg, envp, err, errlen);
	return rc;
}

/* Re-check one key's current value: ranges and formats hold even for a hand-built cfg. */
static enum status
validate_key(const struct config *cfg, const struct key *k, char *msg, size_t msglen)
{
	const char *v, *bad;
	char *copy;
	long n;

	if (k->type == KT_INT) {
		n = *(const long *)field(cfg, k);
		if (n >= k->min && n <= k->max)
			return STATUS_OK;
		msgf(msg, msglen, "%s: expected an integer in %ld..%ld, got %ld", k->name, k->min,
		     k->max, n);
		return STATUS_CONFIG;
	}
	if (k->type != KT_STRING && k->type != KT_SECRET)
		return STATUS_OK;
	v = *(char *const *)field(cfg, k);
	if (v == NULL || *v == '\0') {
		/* Whether the provider needs an API key is the provider's check. */
		if (k->min == 0 || (k->flags & KF_APIKEY))
			return STATUS_OK;
		msgf(msg, msglen, "%s: required", k->name);
		return STATUS_CONFIG;
	}
	copy = strdup(v);
	if (copy == NULL) {
		msgf(msg, msglen, "%s: out of memory", k->name);
		return STATUS_NOMEM;
	}
	bad = string_problem(k, copy);
	if (bad != NULL)
		string_msg(k, v, bad, msg, msglen);
	util_zero_free_str(copy);
	return bad != NULL ? STATUS_CONFIG : STATUS_OK;
}

/* The checks that involve more than one key. */
static enum status
validate_cross(const struct config *cfg, char *msg, size_t msglen)
{
	if (cfg->client_cert_check && cfg->n_thumbprints < 1) {
		msgf(msg, msglen,
		     "client_cert_thumbprints: at least one SHA-1 thumbprint is "
		     "required while client_cert_check is true");
		return STATUS_CONFIG;
	}
	if (cfg->n_thumbprints < 0 || cfg->n_thumbprints > CONFIG_MAX_THUMBPRINTS ||
	    cfg->n_details < 0 || cfg->n_details > CONFIG_MAX_DETAILS) {
		msgf(msg, msglen, "client_cert_thumbprints/approval_details: too many entries");
		return STATUS_CONFIG;
	}
	/* A poll interval at or above the budget would never poll before B2C gives up. */
	if (cfg->poll_interval_ms >= cfg->wait_budget_ms) {
		msgf(msg, msglen,
		     "poll_interval_ms: expected a value below wait_budget_ms (%ld), "
		     "got %ld",
		     cfg->wait_budget_ms, cfg->poll_interval_ms);
		return STATUS_CONFIG;
	}
	return STATUS_OK;
}

enum status
config_validate(const struct config *cfg, char *err, size_t errlen)
{
	enum status rc;

	for (size_t i = 0; i < NKEYS; i++) {
		rc = validate_key(cfg, &keys[i], err, errlen);
		if (rc != STATUS_OK)
			return rc;
	}
	return validate_cross(cfg, err, errlen);
}

/* Quote a value when reading it back would otherwise change it. */
static void
print_str(FILE *out, const char *v)
{
	size_t n = strlen(v);

	if (n > 0 && strcspn(v, " \t\"\\") == n) {
		fputs(v, out);
		return;
	}
	if (n == 0)
		return;
	fputc('"', out);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

static void
print_list(FILE *out, const struct config *cfg, const struct key *k)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	if (k->type == KT_THUMBPRINTS) {
		for (int i = 0; i < cfg->n_thumbprints; i++)
			(void)buf_appendf(&b, "%s%s", i ? "," : "", cfg->thumbprints[i]);
	} else {
		for (int i = 0; i < cfg->n_details; i++)
			(void)buf_appendf(&b, "%s%s=%s", i ? ";" : "", cfg->details[i].key,
			                  cfg->details[i].value);
	}
	print_str(out, buf_cstr(&b));
	buf_free(&b);
}

static void
print_key(FILE *out, const struct config *cfg, const struct key *k)
{
	const char *s;

	fprintf(out, "%s = ", k->name);
	switch (k->type) {
	case KT_STRING:
	case KT_SECRET_FILE:
		s = *(char *const *)field(cfg, k);
		print_str(out, s != NULL ? s : "");
		break;
	case KT_SECRET:
		s = *(char *const *)field(cfg, k);
		fputs(s != NULL && *s != '\0' ? MASK : "", out);
		break;
	case KT_INT:
		fprintf(out, "%ld", *(const long *)field(cfg, k));
		break;
	case KT_BOOL:
		fputs(*(const bool *)field(cfg, k) ? "true" : "false", out);
		break;
	case KT_THUMBPRINTS:
	case KT_DETAILS:
		print_list(out, cfg, k);
		break;
	}
	fputc('\n', out);
}

void
config_print(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < NKEYS; i++)
		print_key(out, cfg, &keys[i]);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->type == KT_STRING || k->type == KT_SECRET_FILE)
			replace_str(field(cfg, k), NULL, false);
		else if (k->type == KT_SECRET)
			replace_str(field(cfg, k), NULL, true);
	}
	free_details(cfg->details,
	             cfg->n_details < CONFIG_MAX_DETAILS ? cfg->n_details : CONFIG_MAX_DETAILS);
	explicit_bzero(cfg, sizeof(*cfg));
}

static const char *key_names[NKEYS + 1];
static pthread_once_t key_names_once = PTHREAD_ONCE_INIT;

static void
fill_key_names(void)
{
	for (size_t i = 0; i < NKEYS; i++)
		key_names[i] = keys[i].name;
	key_names[NKEYS] = NULL;
}

const char *const *
config_key_names(void)
{
	pthread_once(&key_names_once, fill_key_names);
	return key_names;
}

const char *
config_key_help(const char *key)
{
	const struct key *k = key != NULL ? find_key(key) : NULL;

	return k != NULL ? k->help : NULL;
}
