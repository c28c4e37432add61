/*
 * verify.c - Twilio Verify v2 Push semantics: the keyed identity of a
 * sign-in name, form bodies of Entities and Challenges, validation of what
 * goes into a URL path, interpretation of the JSON replies and the mapping of
 * Twilio HTTP and error codes to enum status, and the table verify_provider
 * of these steps. No I/O here; JSON through json.h.
 */
#include "verify.h"
#include "verify_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_call.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "form.h"
#include "json.h"
#include "provider.h"
#include "upstream.h"
#include "utf8.h"
#include "util.h"

_Static_assert(VERIFY_HANDLE_MAX <= PROVIDER_HANDLE_MAX, "a Verify handle is a handle");
_Static_assert(VERIFY_IDENTITY_LEN <= PROVIDER_ID_MAX, "an identity is an authyId");
_Static_assert(VERIFY_SID_LEN < PROVIDER_SCRATCH_MAX, "a factor SID fits between steps");

#define NAME_MAX_LEN 1024
#define FIELD_JSON_MAX 2048

/* ---- identity and handles ---- */

static int
b64val(char c)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(tab, c) : NULL;

	return p != NULL ? (int)(p - tab) : -1;
}

/*
 * The first 8 bytes of a MAC given in base64, as a big-endian integer: ten
 * characters carry the first 60 bits, the top 4 bits of the eleventh the rest.
 */
static enum status
b64_prefix_u64(const char *b64, uint64_t *out)
{
	uint64_t v = 0;
	int d;

	for (int i = 0; i < 10; i++) {
		d = b64val(b64[i]);
		if (d < 0)
			return STATUS_INTERNAL;
		v = (v << 6) | (uint64_t)d;
	}
	d = b64val(b64[10]);
	if (d < 0)
		return STATUS_INTERNAL;
	*out = (v << 4) | ((uint64_t)d >> 2);
	return STATUS_OK;
}

enum status
verify_identity(const char *secret, const char *name, char *out, size_t outlen)
{
	char lowered[NAME_MAX_LEN + 1], mac[64];
	uint64_t v = 0;
	size_t n;
	enum status rc;

	if (outlen > 0)
		out[0] = '\0';
	if (secret == NULL || *secret == '\0' || name == NULL || *name == '\0' ||
	    outlen < VERIFY_IDENTITY_LEN + 1)
		return STATUS_BAD_REQUEST;
	n = strlen(name);
	if (n > NAME_MAX_LEN)
		return STATUS_BAD_REQUEST;
	/* B2C compares sign-in names without regard to ASCII case. */
	for (size_t i = 0; i <= n; i++)
		lowered[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	rc = crypto_hmac_sha256_b64(secret, lowered, n, mac, sizeof(mac));
	if (rc == STATUS_OK)
		rc = b64_prefix_u64(mac, &v);
	explicit_bzero(lowered, sizeof(lowered));
	explicit_bzero(mac, sizeof(mac));
	if (rc != STATUS_OK)
		return STATUS_INTERNAL;
	snprintf(out, outlen, "%020llu", (unsigned long long)v);
	return STATUS_OK;
}

enum status
verify_account_identity(const char *secret, const char *object_id, char *out, size_t outlen)
{
	char text[sizeof(VERIFY_ACCOUNT_PREFIX) + UTIL_GUID_LEN];
	size_t pre = sizeof(VERIFY_ACCOUNT_PREFIX) - 1;

	if (outlen > 0)
		out[0] = '\0';
	memcpy(text, VERIFY_ACCOUNT_PREFIX, pre);
	if (object_id == NULL || !util_guid_lower(object_id, text + pre))
		return STATUS_BAD_REQUEST;
	return verify_identity(secret, text, out, outlen);
}

bool
verify_identity_valid(const char *s)
{
	return s != NULL && strlen(s) == VERIFY_IDENTITY_LEN &&
	       util_is_digits(s, VERIFY_IDENTITY_LEN);
}

bool
verify_sid_valid(const char *s, const char *prefix)
{
	if (s == NULL || prefix == NULL || strlen(s) != VERIFY_SID_LEN ||
	    strncmp(s, prefix, 2) != 0)
		return false;
	return strspn(s + 2, "0123456789abcdefABCDEF") == VERIFY_SID_LEN - 2;
}

enum status
verify_handle_make(const char *identity, const char *sid, char *out, size_t outlen)
{
	if (outlen > 0)
		out[0] = '\0';
	if (!verify_identity_valid(identity) || !verify_sid_valid(sid, "YC") ||
	    outlen < VERIFY_HANDLE_MAX + 1)
		return STATUS_BAD_REQUEST;
	snprintf(out, outlen, "%s/%s", identity, sid);
	return STATUS_OK;
}

enum status
verify_handle_split(const char *handle, char *identity, char *sid)
{
	if (handle == NULL || strlen(handle) != VERIFY_HANDLE_MAX ||
	    handle[VERIFY_IDENTITY_LEN] != '/')
		return STATUS_BAD_REQUEST;
	memcpy(identity, handle, VERIFY_IDENTITY_LEN);
	identity[VERIFY_IDENTITY_LEN] = '\0';
	memcpy(sid, handle + VERIFY_IDENTITY_LEN + 1, VERIFY_SID_LEN + 1);
	if (!verify_identity_valid(identity) || !verify_sid_valid(sid, "YC"))
		return STATUS_BAD_REQUEST;
	return STATUS_OK;
}

/* ---- form bodies ---- */

/* Append "&name=value" (no '&' first), value cut to max characters. */
static enum status
add_param(struct buf *b, const char *name, const char *value, size_t max)
{
	size_t n = utf8_cut_chars(value, max);
	char *v = malloc(n + 1);
	enum status rc;

	if (v == NULL)
		return STATUS_NOMEM;
	memcpy(v, value, n);
	v[n] = '\0';
	rc = form_add(b, name, NULL, v);
	free(v);
	return rc;
}

enum status
verify_entity_form(const char *identity, struct buf *out)
{
	if (!verify_identity_valid(identity))
		return STATUS_BAD_REQUEST;
	return add_param(out, VERIFY_F_IDENTITY, identity, VERIFY_IDENTITY_LEN);
}

/* The compact JSON text of an object of string pairs, each cut to the limits. */
static enum status
json_pairs(const char *const *keys, const char *const *values, int n, size_t vmax, char **out)
{
	struct json *j = json_new_object();
	enum status rc = j != NULL ? STATUS_OK : STATUS_NOMEM;

	*out = NULL;
	for (int i = 0; i < n && rc == STATUS_OK; i++) {
		size_t cut = utf8_cut_chars(values[i], vmax);
		char *v = strndup(values[i], cut);

		rc = v != NULL ? json_add_string(j, keys[i], v) : STATUS_NOMEM;
		free(v);
	}
	if (rc == STATUS_OK)
		rc = json_serialize(j, out, NULL);
	json_free(j);
	return rc;
}

/* One Details.Fields entry: {"label":"...","value":"..."}. */
static enum status
add_field(struct buf *b, const struct api_kv *kv)
{
	const char *keys[] = {"label", "value"};
	size_t lcut = utf8_cut_chars(kv->key, VERIFY_LABEL_MAX);
	char *label = strndup(kv->key, lcut), *text = NULL;
	const char *values[] = {label, kv->value};
	enum status rc;

	if (label == NULL)
		return STATUS_NOMEM;
	rc = json_pairs(keys, values, 2, VERIFY_VALUE_MAX, &text);
	if (rc == STATUS_OK)
		rc = add_param(b, VERIFY_F_FIELDS, text, FIELD_JSON_MAX);
	free(label);
	free(text);
	return rc;
}

/* HiddenDetails: one JSON object of the hidden pairs, refused when over the limit. */
static enum status
add_hidden(struct buf *b, const struct api_kv *kv, int n)
{
	const char *keys[8], *values[8];
	char *text = NULL;
	enum status rc;

	if (n <= 0)
		return STATUS_OK;
	if (n > 8)
		return STATUS_BAD_REQUEST;
	for (int i = 0; i < n; i++) {
		keys[i] = kv[i].key;
		values[i] = kv[i].value;
	}
	rc = json_pairs(keys, values, n, VERIFY_HIDDEN_MAX, &text);
	if (rc == STATUS_OK && strlen(text) > VERIFY_HIDDEN_MAX)
		rc = STATUS_BAD_REQUEST;
	if (rc == STATUS_OK)
		rc = add_param(b, VERIFY_F_HIDDEN, text, VERIFY_HIDDEN_MAX);
	free(text);
	return rc;
}

static bool
kv_valid(const struct api_kv *kv, int n, int max)
{
	if (n < 0 || n > max || (n > 0 && kv == NULL))
		return false;
	for (int i = 0; i < n; i++) {
		if (kv[i].key == NULL || kv[i].key[0] == '\0' || kv[i].value == NULL ||
		    kv[i].value[0] == '\0')
			return false;
	}
	return true;
}

/* ExpirationDate as ISO 8601 in UTC: 2024-05-04T09:42:00Z. */
static enum status
iso8601(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return STATUS_BAD_REQUEST;
	return STATUS_OK;
}

enum status
verify_challenge_form(const struct verify_challenge *ch, struct buf *out)
{
	char expires[32];
	enum status rc;

	if (ch == NULL || !verify_identity_valid(ch->identity) ||
	    !verify_sid_valid(ch->factor_sid, "YF") || ch->message == NULL ||
	    ch->message[0] == '\0' || !kv_valid(ch->fields, ch->n_fields, VERIFY_FIELDS_MAX) ||
	    !kv_valid(ch->hidden, ch->n_hidden, 8))
		return STATUS_BAD_REQUEST;
	rc = iso8601(ch->expires_at, expires, sizeof(expires));
	if (rc == STATUS_OK)
		rc = add_param(out, VERIFY_F_FACTOR_SID, ch->factor_sid, VERIFY_SID_LEN);
	if (rc == STATUS_OK)
		rc = add_param(out, VERIFY_F_MESSAGE, ch->message, VERIFY_MESSAGE_MAX);
	for (int i = 0; i < ch->n_fields && rc == STATUS_OK; i++)
		rc = add_field(out, &ch->fields[i]);
	if (rc == STATUS_OK)
		rc = add_param(out, VERIFY_F_EXPIRATION, expires, sizeof(expires));
	if (rc == STATUS_OK)
		rc = add_hidden(out, ch->hidden, ch->n_hidden);
	return rc;
}

/* ---- replies ---- */

static bool
is_404(long code)
{
	return code == VERIFY_E_NOT_FOUND || code == VERIFY_E_CHALLENGE_NOT_FOUND ||
	       code == VERIFY_E_ENTITY_NOT_FOUND;
}

static enum status
map_404(enum verify_op op)
{
	switch (op) {
	case VERIFY_OP_ENTITY:
		return STATUS_UPSTREAM_HTTP;
	case VERIFY_OP_FACTORS:
	case VERIFY_OP_CHALLENGE_CREATE:
		return STATUS_USER_NOT_FOUND;
	case VERIFY_OP_CHALLENGE_STATUS:
		return STATUS_APPROVAL_NOT_FOUND;
	}
	return STATUS_UPSTREAM_HTTP;
}

enum status
verify_map_error(long http_status, long code, enum verify_op op)
{
	/* The transport-level answers win over whatever the body claims. */
	if (http_status == 401 || code == VERIFY_E_AUTH)
		return STATUS_UPSTREAM_AUTH;
	if (http_status == 429 || code == VERIFY_E_TOO_MANY)
		return STATUS_RATE_LIMITED;
	if (http_status >= 500)
		return STATUS_UPSTREAM_HTTP;
	if (code == VERIFY_E_FACTOR_UNVERIFIED)
		return STATUS_NO_FACTOR;
	if (op == VERIFY_OP_ENTITY && (code == VERIFY_E_ENTITY_EXISTS || http_status == 409))
		return STATUS_OK;
	if (http_status == 404 || is_404(code))
		return map_404(op);
	if (http_status == 403)
		return STATUS_UPSTREAM_AUTH;
	if (http_status >= 200 && http_status < 300)
		return STATUS_UPSTREAM_PROTOCOL;
	return STATUS_UPSTREAM_HTTP;
}

/*
 * Turn one HTTP reply into a parsed 2xx object (*out) or a status. A 2xx that
 * maps to STATUS_OK without an object (an entity that exists) has *out NULL.
 */
static enum status
interpret(struct api_call *call, const struct api_reply *r, enum verify_op op, struct json **out)
{
	long http_status = r->http_status;
	bool is2xx = http_status >= 200 && http_status < 300;
	struct json *j = NULL;
	const char *msg = NULL;
	char clean[96];
	long code = 0;
	enum status rc;

	*out = NULL;
	call->error_code[0] = '\0';
	rc = json_parse(r->body, r->len, &j);
	if (rc == STATUS_NOMEM)
		return rc;
	if (rc != STATUS_OK) {
		api_call_seterr(call, "HTTP %ld: reply is not a JSON object", http_status);
		return is2xx ? STATUS_UPSTREAM_PROTOCOL : verify_map_error(http_status, 0, op);
	}
	if (is2xx) {
		*out = j;
		return STATUS_OK;
	}
	/* Twilio's error body: {"code":20404,"message":"...","more_info":"...","status":404} */
	if (json_get_scalar(j, "code", call->error_code, sizeof(call->error_code)) != STATUS_OK ||
	    util_parse_long(call->error_code, 0, 99999999, &code) != STATUS_OK) {
		call->error_code[0] = '\0';
		code = 0;
	}
	if (json_get_string(j, "message", &msg) != STATUS_OK)
		msg = NULL;
	api_call_seterr(call, "HTTP %ld code=%s: %s", http_status,
	                call->error_code[0] ? call->error_code : "-",
	                util_sanitize(msg, clean, sizeof(clean)));
	json_free(j);
	return verify_map_error(http_status, code, op);
}

enum status
verify_entity_reply(struct api_call *call, const struct api_reply *r)
{
	struct json *j = NULL;
	enum status rc = interpret(call, r, VERIFY_OP_ENTITY, &j);

	json_free(j);
	return rc;
}

/* Is element i of "factors" a verified factor of this type? Its SID and creation date then. */
static bool
verified_factor(const struct json *j, size_t i, const char *want, const char **sid,
                const char **created)
{
	const char *type = NULL, *status = NULL;

	if (json_get_elem_string(j, "factors", i, "factor_type", &type) != STATUS_OK ||
	    json_get_elem_string(j, "factors", i, "status", &status) != STATUS_OK ||
	    json_get_elem_string(j, "factors", i, "sid", sid) != STATUS_OK)
		return false;
	if (json_get_elem_string(j, "factors", i, "date_created", created) != STATUS_OK)
		*created = "";
	return strcmp(type, want) == 0 && strcmp(status, "verified") == 0 &&
	       verify_sid_valid(*sid, "YF");
}

/* A kind of factor looked for: its factor_type, and the status when the entity has none. */
struct factor_kind {
	const char *type;
	enum status none_rc;
};

static const struct factor_kind push_factor = {"push", STATUS_NO_FACTOR};
static const struct factor_kind totp_factor = {"totp", STATUS_NO_TOTP_FACTOR};

/* The newest verified factor of that kind, or kind->none_rc. */
static enum status
factors_pick(struct api_call *call, const struct api_reply *r, const struct factor_kind *kind,
             char *factor_sid, size_t sidlen)
{
	const char *best = NULL, *best_date = "", *sid = NULL, *created = NULL;
	struct json *j = NULL;
	size_t n = 0;
	enum status rc;

	if (sidlen > 0)
		factor_sid[0] = '\0';
	rc = interpret(call, r, VERIFY_OP_FACTORS, &j);
	if (rc != STATUS_OK || j == NULL)
		goto out;
	if (json_get_array_len(j, "factors", &n) != STATUS_OK) {
		api_call_seterr(call, "reply without a factors list");
		rc = STATUS_UPSTREAM_PROTOCOL;
		goto out;
	}
	/* A user who reinstalled the app has several: the newest is on the phone in use. */
	for (size_t i = 0; i < n && i < VERIFY_FACTORS_PAGE; i++) {
		if (verified_factor(j, i, kind->type, &sid, &created) &&
		    strcmp(created, best_date) >= 0) {
			best = sid;
			best_date = created;
		}
	}
	if (best == NULL || strlen(best) >= sidlen) {
		api_call_seterr(call, "no verified %s factor among %zu", kind->type, n);
		rc = kind->none_rc;
		goto out;
	}
	util_strlcpy(factor_sid, best, sidlen);
out:
	json_free(j);
	return rc;
}

enum status
verify_factors_reply(struct api_call *call, const struct api_reply *r, char *factor_sid,
                     size_t sidlen)
{
	return factors_pick(call, r, &push_factor, factor_sid, sidlen);
}

enum status
verify_totp_factors_reply(struct api_call *call, const struct api_reply *r, char *factor_sid,
                          size_t sidlen)
{
	enum status rc = factors_pick(call, r, &totp_factor, factor_sid, sidlen);

	/* 60318 speaks of the factor looked for: a TOTP one here, not push (its message). */
	return rc == STATUS_NO_FACTOR ? STATUS_NO_TOTP_FACTOR : rc;
}

enum status
verify_challenge_create_reply(struct api_call *call, const struct api_reply *r, char *sid,
                              size_t sidlen)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	if (sidlen > 0)
		sid[0] = '\0';
	rc = interpret(call, r, VERIFY_OP_CHALLENGE_CREATE, &j);
	if (rc != STATUS_OK)
		goto out;
	/* The SID goes into a URL path later: accept only what a SID can hold. */
	if (j == NULL || json_get_string(j, "sid", &s) != STATUS_OK || !verify_sid_valid(s, "YC") ||
	    strlen(s) >= sidlen) {
		api_call_seterr(call, "reply without a valid challenge sid");
		rc = STATUS_UPSTREAM_PROTOCOL;
		goto out;
	}
	util_strlcpy(sid, s, sidlen);
out:
	json_free(j);
	return rc;
}

enum status
verify_challenge_status_reply(struct api_call *call, const struct api_reply *r)
{
	static const struct {
		const char *name;
		enum status rc;
	} map[] = {
	    {"approved", STATUS_OK},
	    {"pending", STATUS_PENDING},
	    {"denied", STATUS_DENIED},
	    {"expired", STATUS_EXPIRED},
	};
	struct json *j = NULL;
	const char *s = NULL;
	char clean[32];
	enum status rc;

	rc = interpret(call, r, VERIFY_OP_CHALLENGE_STATUS, &j);
	if (rc != STATUS_OK)
		goto out;
	if (j == NULL || json_get_string(j, "status", &s) != STATUS_OK)
		s = NULL;
	rc = STATUS_UPSTREAM_PROTOCOL;
	for (size_t i = 0; s != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(s, map[i].name) == 0)
			rc = map[i].rc;
	}
	if (rc == STATUS_UPSTREAM_PROTOCOL)
		api_call_seterr(call, "unknown challenge status %s",
		                util_sanitize(s, clean, sizeof(clean)));
out:
	json_free(j);
	return rc;
}

/* ---- the operations of verify_provider ---- */

/* Verify's identity derives from the sign-in name, else the email. */
static const char *
user_name(const struct provider_user *u)
{
	if (u->sign_in_name != NULL && u->sign_in_name[0] != '\0')
		return u->sign_in_name;
	if (u->email != NULL && u->email[0] != '\0')
		return u->email;
	return NULL;
}

/* The account's objectId, or NULL. */
static const char *
user_account(const struct provider_user *u)
{
	return u->object_id != NULL && u->object_id[0] != '\0' ? u->object_id : NULL;
}

static enum status
user_check(const struct provider_user *u, char *err, size_t errlen)
{
	if (user_account(u) != NULL || user_name(u) != NULL)
		return STATUS_OK;
	snprintf(err, errlen, "no objectId, sign-in name or email to derive the identity");
	return STATUS_IDENTITY_MISSING;
}

static bool
path_ids_ok(struct api_call *call, const char *service_sid, const char *identity)
{
	if (!verify_sid_valid(service_sid, "VA") || !verify_identity_valid(identity)) {
		api_call_seterr(call, "invalid service SID or identity");
		return false;
	}
	return true;
}

static enum status
entity_build(struct provider_job *job, int step, struct api_request *req)
{
	const char *service = job->p->cfg->verify_service_sid, *name = user_name(job->user);
	const char *account = user_account(job->user);
	enum status rc;

	(void)step;
	if (account == NULL && name == NULL) {
		api_call_seterr(&job->call, "no account or name to derive the identity from");
		return STATUS_IDENTITY_MISSING;
	}
	/* The account when B2C names it: a name may be another account's too. */
	if (account != NULL)
		rc = verify_account_identity(job->p->cfg->verify_identity_secret, account, job->id,
		                             sizeof(job->id));
	else
		rc = verify_identity(job->p->cfg->verify_identity_secret, name, job->id,
		                     sizeof(job->id));
	if (rc != STATUS_OK) {
		api_call_seterr(&job->call, "identity derivation failed");
		return STATUS_INTERNAL;
	}
	if (!path_ids_ok(&job->call, service, job->id))
		return STATUS_BAD_REQUEST;
	req->method = "POST";
	req->repeatable = true; /* an entity that exists answers 60301, taken as made */
	snprintf(req->path, sizeof(req->path), VERIFY_PATH_ENTITIES_FMT, service);
	return verify_entity_form(job->id, &req->form);
}

static enum status
entity_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	enum status rc = verify_entity_reply(&job->call, r);

	(void)step;
	*more = false;
	if (rc != STATUS_OK)
		job->id[0] = '\0';
	return rc;
}

/* Step 0: GET the entity's factors. Step 1: POST the challenge to the push factor. */
static enum status
challenge_build(struct provider_job *job, int step, struct api_request *req)
{
	const struct provider_approval *a = job->approval;
	const char *service = job->p->cfg->verify_service_sid;
	struct verify_challenge ch = {.service_sid = service,
	                              .identity = a->authy_id,
	                              .factor_sid = job->scratch,
	                              .message = a->message,
	                              .fields = a->details,
	                              .n_fields = a->n_details,
	                              .hidden = a->hidden,
	                              .n_hidden = a->n_hidden,
	                              .expires_at = (long long)time(NULL) + a->seconds_to_expire};
	enum status rc;

	/* An authyId Authy issued is no identity: the user must enrol again. */
	if (!verify_identity_valid(a->authy_id)) {
		api_call_seterr(&job->call, "authyId is not a Verify identity");
		return STATUS_USER_NOT_FOUND;
	}
	if (!path_ids_ok(&job->call, service, a->authy_id))
		return STATUS_BAD_REQUEST;
	if (step == 0) {
		req->method = "GET";
		snprintf(req->path, sizeof(req->path), VERIFY_PATH_FACTORS_FMT, service,
		         a->authy_id);
		return STATUS_OK;
	}
	rc = verify_challenge_form(&ch, &req->form);
	if (rc != STATUS_OK) {
		api_call_seterr(&job->call, "invalid challenge fields (%s)", status_str(rc));
		return rc == STATUS_NOMEM ? rc : STATUS_BAD_REQUEST;
	}
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), VERIFY_PATH_CHALLENGES_FMT, service, a->authy_id);
	return STATUS_OK;
}

static enum status
challenge_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	char sid[VERIFY_SID_LEN + 1];
	enum status rc;

	*more = false;
	if (step == 0) {
		rc = verify_factors_reply(&job->call, r, job->scratch, sizeof(job->scratch));
		*more = rc == STATUS_OK;
		return rc;
	}
	rc = verify_challenge_create_reply(&job->call, r, sid, sizeof(sid));
	if (rc == STATUS_OK)
		rc = verify_handle_make(job->approval->authy_id, sid, job->handle,
		                        sizeof(job->handle));
	return rc;
}

enum status
verify_totp_form(const char *factor_sid, const char *code, struct buf *out)
{
	size_t n = code != NULL ? strnlen(code, VERIFY_TOTP_CODE_MAX + 1) : 0;
	enum status rc;

	if (!verify_sid_valid(factor_sid, "YF") || n < VERIFY_TOTP_CODE_MIN ||
	    !util_is_digits(code, VERIFY_TOTP_CODE_MAX))
		return STATUS_BAD_REQUEST;
	rc = add_param(out, VERIFY_F_FACTOR_SID, factor_sid, VERIFY_SID_LEN);
	/* Digits only: nothing to cut, and no copy of the code is made. */
	if (rc == STATUS_OK)
		rc = form_add(out, VERIFY_F_AUTH_PAYLOAD, NULL, code);
	return rc;
}

enum status
verify_totp_check_reply(struct api_call *call, const struct api_reply *r)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	rc = interpret(call, r, VERIFY_OP_CHALLENGE_CREATE, &j);
	/* 60318: the TOTP factor is not verified (any more). */
	if (rc == STATUS_NO_FACTOR)
		rc = STATUS_NO_TOTP_FACTOR;
	if (rc != STATUS_OK)
		goto out;
	if (j == NULL || json_get_string(j, "status", &s) != STATUS_OK)
		s = NULL;
	/* A TOTP challenge is decided at creation: approved, or the code was wrong. */
	if (s != NULL && strcmp(s, "approved") == 0) {
		rc = STATUS_OK;
	} else if (s != NULL && (strcmp(s, "pending") == 0 || strcmp(s, "denied") == 0 ||
	                         strcmp(s, "expired") == 0)) {
		rc = STATUS_TOKEN_WRONG;
	} else {
		api_call_seterr(call, "TOTP challenge without a known status");
		rc = STATUS_UPSTREAM_PROTOCOL;
	}
out:
	json_free(j);
	return rc;
}

static enum status
status_build(struct provider_job *job, int step, struct api_request *req)
{
	const char *service = job->p->cfg->verify_service_sid;
	char identity[VERIFY_IDENTITY_LEN + 1], sid[VERIFY_SID_LEN + 1];

	(void)step;
	if (verify_handle_split(job->handle, identity, sid) != STATUS_OK) {
		api_call_seterr(&job->call, "invalid approval handle");
		return STATUS_BAD_REQUEST;
	}
	if (!path_ids_ok(&job->call, service, identity))
		return STATUS_BAD_REQUEST;
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), VERIFY_PATH_CHALLENGE_FMT, service, identity, sid);
	return STATUS_OK;
}

static enum status
status_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	(void)step;
	*more = false;
	return verify_challenge_status_reply(&job->call, r);
}

/* Step 0: GET the entity's factors. Step 1: POST a TOTP challenge with the code. */
static enum status
totp_build(struct provider_job *job, int step, struct api_request *req)
{
	const struct provider_token *tk = job->token;
	const char *service = job->p->cfg->verify_service_sid;

	if (!verify_identity_valid(tk->authy_id)) {
		api_call_seterr(&job->call, "authyId is not a Verify identity");
		return STATUS_USER_NOT_FOUND;
	}
	/* A TOTP factor's codes have at most 8 digits: a longer one cannot be right. */
	if (strlen(tk->code) > VERIFY_TOTP_CODE_MAX) {
		api_call_seterr(&job->call, "code longer than a Verify TOTP code");
		return STATUS_TOKEN_WRONG;
	}
	if (!path_ids_ok(&job->call, service, tk->authy_id))
		return STATUS_BAD_REQUEST;
	if (step == 0) {
		req->method = "GET";
		snprintf(req->path, sizeof(req->path), VERIFY_PATH_FACTORS_FMT, service,
		         tk->authy_id);
		return STATUS_OK;
	}
	/* The code travels in the form body, which is never logged. */
	if (verify_totp_form(job->scratch, tk->code, &req->form) != STATUS_OK) {
		api_call_seterr(&job->call, "invalid TOTP challenge fields");
		return STATUS_BAD_REQUEST;
	}
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), VERIFY_PATH_CHALLENGES_FMT, service, tk->authy_id);
	return STATUS_OK;
}

static enum status
totp_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	enum status rc;

	*more = false;
	if (step == 0) {
		rc = verify_totp_factors_reply(&job->call, r, job->scratch, sizeof(job->scratch));
		*more = rc == STATUS_OK;
		return rc;
	}
	return verify_totp_check_reply(&job->call, r);
}

static bool
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* What provider = verify needs: a service, the identity key and one credential pair. */
static enum status
config_check(const struct config *cfg, char *msg, size_t msglen)
{
	static const struct provider_detail_limits limits = {"verify", VERIFY_LABEL_MAX,
	                                                     VERIFY_VALUE_MAX};
	bool key = nonempty(cfg->twilio_api_key), secret = nonempty(cfg->twilio_api_secret);

	if (!nonempty(cfg->verify_service_sid)) {
		snprintf(msg, msglen, "verify_service_sid: required with provider = verify");
		return STATUS_CONFIG;
	}
	if (!nonempty(cfg->verify_identity_secret)) {
		snprintf(msg, msglen, "verify_identity_secret: required with provider = verify");
		return STATUS_CONFIG;
	}
	if (key != secret) {
		snprintf(msg, msglen,
		         "%s: required with %s; set both twilio_api_key and twilio_api_secret "
		         "(or twilio_api_secret_file)",
		         key ? "twilio_api_secret" : "twilio_api_key",
		         key ? "twilio_api_key" : "twilio_api_secret");
		return STATUS_CONFIG;
	}
	if (!key && !(nonempty(cfg->twilio_account_sid) && nonempty(cfg->twilio_auth_token))) {
		snprintf(msg, msglen,
		         "%s: required with provider = verify; set twilio_account_sid and "
		         "twilio_auth_token (or twilio_auth_token_file), or twilio_api_key and "
		         "twilio_api_secret",
		         nonempty(cfg->twilio_account_sid) ? "twilio_auth_token"
		                                           : "twilio_account_sid");
		return STATUS_CONFIG;
	}
	if (cfg->approval_ttl_s > VERIFY_TTL_MAX_S) {
		snprintf(msg, msglen,
		         "approval_ttl_s: expected at most %d with provider = verify (a challenge "
		         "lives at most 60 minutes), got %ld",
		         VERIFY_TTL_MAX_S, cfg->approval_ttl_s);
		return STATUS_CONFIG;
	}
	return provider_details_fit(cfg, &limits, msg, msglen);
}

/* Any id: one that is no identity (verify_identity_valid) is refused by the operations. */
static bool
id_valid(const char *id)
{
	(void)id;
	return true;
}

static const struct provider_op user_create = {"verify entities", entity_build, entity_reply};
static const struct provider_op approval_create = {"verify challenges", challenge_build,
                                                   challenge_reply};
static const struct provider_op approval_status = {"verify challenge status", status_build,
                                                   status_reply};
static const struct provider_op token_verify = {"verify totp challenge", totp_build, totp_reply};

/*
 * The API's connection settings: verify_api_url, HTTP Basic auth with
 * twilio_api_key and twilio_api_secret when set, else twilio_account_sid and
 * twilio_auth_token, and no key header. Strings are borrowed from cfg.
 */
static void
connection_opts(const struct config *cfg, struct upstream_opts *opts)
{
	bool api_key = cfg->twilio_api_key != NULL && cfg->twilio_api_key[0] != '\0';

	memset(opts, 0, sizeof(*opts));
	opts->base_url = cfg->verify_api_url != NULL ? cfg->verify_api_url : VERIFY_DEFAULT_URL;
	opts->key_header = NULL;
	/* Twilio recommends API keys in production; the account's token otherwise. */
	opts->basic_user = api_key ? cfg->twilio_api_key : cfg->twilio_account_sid;
	opts->basic_pass = api_key ? cfg->twilio_api_secret : cfg->twilio_auth_token;
	opts->ca_file = cfg->ca_file;
	opts->connect_timeout_ms = cfg->connect_timeout_ms;
	opts->request_timeout_ms = cfg->request_timeout_ms;
	opts->allow_http = false;
}

const struct provider_ops verify_provider = {
    .name = "verify",
    .callback_name = "webhook",
    .no_factor_is_setup = true,
    .user_check = user_check,
    .id_valid = id_valid,
    .user_name = user_name,
    .user_create = &user_create,
    .approval_create = &approval_create,
    .approval_status = &approval_status,
    .token_verify = &token_verify,
    .config_check = config_check,
    .upstream_opts = connection_opts,
    .callback_verify = verify_callback_check,
    .callback_result = verify_callback_outcome,
};
