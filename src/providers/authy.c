/*
 * authy.c - Authy API semantics: form bodies of users/new and OneTouch approval
 * requests, validation of what goes into a URL path, interpretation of the JSON
 * replies and the mapping of Authy HTTP and error codes to enum status, and the
 * table authy_provider of these steps. No I/O here; JSON through json.h.
 */
#include "authy.h"
#include "authy_int.h"

#include <stdio.h>
#include <string.h>

#include "api_call.h"
#include "b2c.h"
#include "buf.h"
#include "config.h"
#include "form.h"
#include "json.h"
#include "phone.h"
#include "provider.h"
#include "upstream.h"
#include "utf8.h"
#include "util.h"

#define EMAIL_MAX 320
#define CELLPHONE_MAX 20
#define COUNTRY_CODE_MAX 4

_Static_assert(AUTHY_UUID_MAX <= PROVIDER_HANDLE_MAX, "an Authy uuid is a handle");

static bool
code_is(const char *code, const char *want)
{
	return code != NULL && strcmp(code, want) == 0;
}

enum status
authy_map_error(long http_status, const char *error_code, enum authy_op op)
{
	bool refused;

	/* The transport-level answers win over whatever the body claims. */
	if (http_status == 401)
		return STATUS_UPSTREAM_AUTH;
	if (http_status == 429)
		return STATUS_RATE_LIMITED;
	if (http_status >= 500)
		return STATUS_UPSTREAM_HTTP;
	if (code_is(error_code, "60001"))
		return STATUS_UPSTREAM_AUTH;
	if (code_is(error_code, "60003"))
		return STATUS_RATE_LIMITED;
	if (code_is(error_code, "60026"))
		return STATUS_USER_NOT_FOUND;
	if (code_is(error_code, "60049"))
		return STATUS_APPROVAL_NOT_FOUND;
	refused = code_is(error_code, "60027") || code_is(error_code, "60000") ||
	          code_is(error_code, "60002") || code_is(error_code, "60004") ||
	          http_status == 400;
	if (refused)
		return op == AUTHY_OP_USER ? STATUS_USER_REJECTED : STATUS_UPSTREAM_HTTP;
	if (http_status >= 200 && http_status < 300)
		return STATUS_UPSTREAM_PROTOCOL;
	return STATUS_UPSTREAM_HTTP;
}

bool
authy_uuid_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= AUTHY_UUID_MAX && strspn(s, "0123456789abcdefABCDEF-") == n;
}

enum status
authy_user_form(const struct authy_user *u, struct buf *out)
{
	enum status rc;

	if (u == NULL || u->email == NULL || u->email[0] == '\0' || strlen(u->email) > EMAIL_MAX ||
	    !util_is_digits(u->cellphone, CELLPHONE_MAX) ||
	    !util_is_digits(u->country_code, COUNTRY_CODE_MAX))
		return STATUS_BAD_REQUEST;
	rc = form_add(out, "user", "email", u->email);
	if (rc == STATUS_OK)
		rc = form_add(out, "user", "cellphone", u->cellphone);
	if (rc == STATUS_OK)
		rc = form_add(out, "user", "country_code", u->country_code);
	if (rc == STATUS_OK)
		rc = form_add(out, "send_install_link_via_sms", NULL,
		              u->send_install_link ? "true" : "false");
	return rc;
}

static bool
kv_valid(const struct api_kv *kv, int n)
{
	if (n < 0 || (n > 0 && kv == NULL))
		return false;
	for (int i = 0; i < n; i++) {
		if (kv[i].key == NULL || kv[i].key[0] == '\0' || kv[i].value == NULL)
			return false;
	}
	return true;
}

static enum status
add_kvs(struct buf *b, const char *name, const struct api_kv *kv, int n)
{
	enum status rc = STATUS_OK;

	for (int i = 0; i < n && rc == STATUS_OK; i++)
		rc = form_add(b, name, kv[i].key, kv[i].value);
	return rc;
}

enum status
authy_approval_form(const struct provider_approval *a, struct buf *out)
{
	char message[AUTHY_MESSAGE_MAX + 1];
	char ttl[24];
	size_t cut;
	enum status rc;

	if (a == NULL || !util_is_digits(a->authy_id, AUTHY_ID_MAX) || a->message == NULL ||
	    a->message[0] == '\0' || a->seconds_to_expire <= 0 ||
	    !kv_valid(a->details, a->n_details) || !kv_valid(a->hidden, a->n_hidden))
		return STATUS_BAD_REQUEST;
	/* Authy refuses messages over about 200 characters: cut, never split a character. */
	cut = utf8_cut_bytes(a->message, AUTHY_MESSAGE_MAX);
	memcpy(message, a->message, cut);
	message[cut] = '\0';
	snprintf(ttl, sizeof(ttl), "%ld", a->seconds_to_expire);
	rc = form_add(out, "message", NULL, message);
	if (rc == STATUS_OK)
		rc = add_kvs(out, "details", a->details, a->n_details);
	if (rc == STATUS_OK)
		rc = add_kvs(out, "hidden_details", a->hidden, a->n_hidden);
	if (rc == STATUS_OK)
		rc = form_add(out, "seconds_to_expire", NULL, ttl);
	return rc;
}

/* error_code is a string in Authy's replies, but a number would do as well. */
static void
read_error_code(const struct json *j, struct api_call *call)
{
	if (json_get_scalar(j, "error_code", call->error_code, sizeof(call->error_code)) !=
	    STATUS_OK)
		call->error_code[0] = '\0';
}

static bool
reply_success(const struct json *j)
{
	char v[8];

	/* An absent "success" is not a failure; only an explicit false is. */
	if (json_get_scalar(j, "success", v, sizeof(v)) != STATUS_OK)
		return true;
	return strcmp(v, "false") != 0;
}

/* Turn one HTTP reply into a parsed success object (*out) or a status. */
static enum status
interpret(struct api_call *call, const struct api_reply *r, enum authy_op op, struct json **out)
{
	long http_status = r->http_status;
	bool is2xx = http_status >= 200 && http_status < 300;
	struct json *j = NULL;
	const char *msg = NULL;
	char clean[96];
	enum status rc;

	*out = NULL;
	call->error_code[0] = '\0';
	rc = json_parse(r->body, r->len, &j);
	if (rc == STATUS_NOMEM)
		return rc;
	if (rc != STATUS_OK) {
		api_call_seterr(call, "HTTP %ld: reply is not a JSON object", http_status);
		return is2xx ? STATUS_UPSTREAM_PROTOCOL : authy_map_error(http_status, NULL, op);
	}
	read_error_code(j, call);
	if (is2xx && reply_success(j)) {
		*out = j;
		return STATUS_OK;
	}
	rc = authy_map_error(http_status, call->error_code, op);
	if (json_get_string(j, "message", &msg) != STATUS_OK)
		msg = NULL;
	api_call_seterr(call, "HTTP %ld error_code=%s: %s", http_status,
	                call->error_code[0] ? call->error_code : "-",
	                util_sanitize(msg, clean, sizeof(clean)));
	json_free(j);
	return rc;
}

enum status
authy_user_create_reply(struct api_call *call, const struct api_reply *r, char *id, size_t idlen)
{
	char tmp[AUTHY_ID_MAX + 2];
	struct json *j = NULL;
	enum status rc;

	if (idlen > 0)
		id[0] = '\0';
	rc = interpret(call, r, AUTHY_OP_USER, &j);
	if (rc != STATUS_OK)
		return rc;
	/* user.id is a JSON number in Authy's replies; accept digits as a string too. */
	if (json_get_scalar(j, "user.id", tmp, sizeof(tmp)) != STATUS_OK ||
	    !util_is_digits(tmp, AUTHY_ID_MAX) || strlen(tmp) >= idlen) {
		api_call_seterr(call, "reply without a valid user.id");
		rc = STATUS_UPSTREAM_PROTOCOL;
	} else {
		util_strlcpy(id, tmp, idlen);
	}
	json_free(j);
	return rc;
}

enum status
authy_approval_create_reply(struct api_call *call, const struct api_reply *r, char *uuid,
                            size_t uuidlen)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	if (uuidlen > 0)
		uuid[0] = '\0';
	rc = interpret(call, r, AUTHY_OP_APPROVAL, &j);
	if (rc != STATUS_OK)
		return rc;
	/* The uuid goes into a URL path later: accept only what a uuid can hold. */
	if (json_get_string(j, "approval_request.uuid", &s) != STATUS_OK || !authy_uuid_valid(s) ||
	    strlen(s) >= uuidlen) {
		api_call_seterr(call, "reply without a valid approval_request.uuid");
		rc = STATUS_UPSTREAM_PROTOCOL;
	} else {
		util_strlcpy(uuid, s, uuidlen);
	}
	json_free(j);
	return rc;
}

static enum status
map_approval_status(struct api_call *call, const char *s)
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
	char clean[32];

	for (size_t i = 0; s != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(s, map[i].name) == 0)
			return map[i].rc;
	}
	api_call_seterr(call, "unknown approval status %s", util_sanitize(s, clean, sizeof(clean)));
	return STATUS_UPSTREAM_PROTOCOL;
}

enum status
authy_approval_status_reply(struct api_call *call, const struct api_reply *r)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	rc = interpret(call, r, AUTHY_OP_STATUS, &j);
	if (rc != STATUS_OK)
		return rc;
	if (json_get_string(j, "approval_request.status", &s) != STATUS_OK)
		s = NULL;
	rc = map_approval_status(call, s);
	json_free(j);
	return rc;
}

enum status
authy_token_paths(const char *authy_id, const char *token, char *path, char *masked)
{
	size_t n = token != NULL ? strnlen(token, AUTHY_TOKEN_MAX + 1) : 0;

	path[0] = masked[0] = '\0';
	/* Both go into the URL path: digits only, so nothing can be injected. */
	if (!util_is_digits(authy_id, AUTHY_ID_MAX) || n < AUTHY_TOKEN_MIN ||
	    !util_is_digits(token, AUTHY_TOKEN_MAX))
		return STATUS_BAD_REQUEST;
	snprintf(path, AUTHY_TOKEN_PATH_MAX, AUTHY_PATH_VERIFY_TOKEN_FMT, token, authy_id);
	snprintf(masked, AUTHY_TOKEN_PATH_MAX, AUTHY_PATH_VERIFY_TOKEN_FMT, AUTHY_TOKEN_MASK,
	         authy_id);
	return STATUS_OK;
}

/* Does a 401 reply say that the code was wrong (rather than the API key)? */
static bool
token_rejected(const struct api_call *call, const struct api_reply *r)
{
	struct json *j = NULL;
	const char *t = NULL;
	bool rejected;

	if (code_is(call->error_code, AUTHY_E_TOKEN_INVALID))
		return true;
	if (code_is(call->error_code, "60001") || json_parse(r->body, r->len, &j) != STATUS_OK)
		return false;
	rejected = json_get_string(j, "token", &t) == STATUS_OK && strcmp(t, "is invalid") == 0;
	json_free(j);
	return rejected;
}

enum status
authy_token_verify_reply(struct api_call *call, const struct api_reply *r)
{
	struct json *j = NULL;
	const char *t = NULL;
	enum status rc;

	rc = interpret(call, r, AUTHY_OP_TOKEN, &j);
	if (rc != STATUS_OK) {
		if (r->http_status == 401 && token_rejected(call, r))
			rc = STATUS_TOKEN_WRONG;
		return rc;
	}
	/* Approve only on the documented answer, never on a bare 200. */
	if (json_get_string(j, "token", &t) != STATUS_OK || strcmp(t, "is valid") != 0) {
		api_call_seterr(call, "200 reply without \"token\":\"is valid\"");
		rc = STATUS_UPSTREAM_PROTOCOL;
	}
	json_free(j);
	return rc;
}

/* ---- the operations of authy_provider ---- */

/* Authy needs an email: the email claim, else a sign-in name that is one. */
static const char *
user_email(const struct provider_user *u)
{
	if (u->email != NULL && u->email[0] != '\0')
		return u->email;
	if (u->sign_in_name != NULL && b2c_email_valid(u->sign_in_name))
		return u->sign_in_name;
	return NULL;
}

static enum status
user_check(const struct provider_user *u, char *err, size_t errlen)
{
	if (user_email(u) != NULL)
		return STATUS_OK;
	/* A username sign-in: Authy cannot register a user without an email. */
	snprintf(err, errlen, "no email claim and the sign-in name is not an email address");
	return STATUS_IDENTITY_MISSING;
}

/* A status returned by a form builder, as the operation's result. */
static enum status
form_failed(struct api_call *call, enum status rc)
{
	api_call_seterr(call, "invalid request fields (%s)", status_str(rc));
	return rc == STATUS_NOMEM ? rc : STATUS_BAD_REQUEST;
}

static enum status
user_build(struct provider_job *job, int step, struct api_request *req)
{
	struct authy_user au = {.email = user_email(job->user),
	                        .cellphone = job->user->phone->national,
	                        .country_code = job->user->phone->country_code,
	                        .send_install_link = job->p->cfg->send_install_link};
	enum status rc;

	(void)step;
	req->method = "POST";
	req->repeatable = true; /* the same email and phone get the same id */
	util_strlcpy(req->path, AUTHY_PATH_USERS_NEW, sizeof(req->path));
	rc = authy_user_form(&au, &req->form);
	return rc == STATUS_OK ? rc : form_failed(&job->call, rc);
}

static enum status
user_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	(void)step;
	*more = false;
	return authy_user_create_reply(&job->call, r, job->id, sizeof(job->id));
}

static enum status
approval_build(struct provider_job *job, int step, struct api_request *req)
{
	enum status rc;

	(void)step;
	rc = authy_approval_form(job->approval, &req->form);
	if (rc != STATUS_OK)
		return form_failed(&job->call, rc);
	req->method = "POST";
	snprintf(req->path, sizeof(req->path), AUTHY_PATH_APPROVAL_CREATE_FMT,
	         job->approval->authy_id);
	return STATUS_OK;
}

static enum status
approval_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	(void)step;
	*more = false;
	return authy_approval_create_reply(&job->call, r, job->handle, sizeof(job->handle));
}

static enum status
status_build(struct provider_job *job, int step, struct api_request *req)
{
	(void)step;
	if (!authy_uuid_valid(job->handle)) {
		api_call_seterr(&job->call, "invalid approval uuid");
		return STATUS_BAD_REQUEST;
	}
	req->method = "GET";
	snprintf(req->path, sizeof(req->path), AUTHY_PATH_APPROVAL_STATUS_FMT, job->handle);
	return STATUS_OK;
}

static enum status
status_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	(void)step;
	*more = false;
	return authy_approval_status_reply(&job->call, r);
}

static enum status
token_build(struct provider_job *job, int step, struct api_request *req)
{
	(void)step;
	req->method = "GET";
	if (authy_token_paths(job->token->authy_id, job->token->code, req->path, req->log_path) !=
	    STATUS_OK) {
		api_call_seterr(&job->call, "invalid authy id or code");
		return STATUS_BAD_REQUEST;
	}
	return STATUS_OK;
}

static enum status
token_reply(struct provider_job *job, int step, const struct api_reply *r, bool *more)
{
	(void)step;
	*more = false;
	return authy_token_verify_reply(&job->call, r);
}

/* Authy writes its user ids as integers: no leading zero. */
static bool
id_valid(const char *id)
{
	return id[0] != '0';
}

/* Authy authenticates with the API key. */
static enum status
config_check(const struct config *cfg, char *msg, size_t msglen)
{
	static const struct provider_detail_limits limits = {"authy", AUTHY_DETAIL_KEY_MAX, 0};

	if (cfg->api_key == NULL || cfg->api_key[0] == '\0') {
		snprintf(msg, msglen,
		         "authy_api_key: required; set authy_api_key or authy_api_key_file "
		         "(environment AUTHY_API_KEY or AUTHY_API_KEY_FILE)");
		return STATUS_CONFIG;
	}
	return provider_details_fit(cfg, &limits, msg, msglen);
}

static const struct provider_op user_create = {"authy users/new", user_build, user_reply};
static const struct provider_op approval_create = {"authy approval_requests", approval_build,
                                                   approval_reply};
static const struct provider_op approval_status = {"authy approval status", status_build,
                                                   status_reply};
static const struct provider_op token_verify = {"authy token verification", token_build,
                                                token_reply};

const struct provider_ops authy_provider = {
    .name = "authy",
    .callback_name = "callback",
    .needs_phone = true,
    .user_check = user_check,
    .id_valid = id_valid,
    .user_name = user_email,
    .user_create = &user_create,
    .approval_create = &approval_create,
    .approval_status = &approval_status,
    .token_verify = &token_verify,
    .config_check = config_check,
    .upstream_opts = authy_upstream_opts,
    .callback_verify = authy_callback_check,
    .callback_result = authy_callback_outcome,
};

void
authy_upstream_opts(const struct config *cfg, struct upstream_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->base_url = cfg->api_url != NULL ? cfg->api_url : AUTHY_DEFAULT_URL;
	opts->key_header = AUTHY_HEADER_API_KEY;
	opts->api_key = cfg->api_key;
	opts->ca_file = cfg->ca_file;
	opts->connect_timeout_ms = cfg->connect_timeout_ms;
	opts->request_timeout_ms = cfg->request_timeout_ms;
	opts->allow_http = false;
}
