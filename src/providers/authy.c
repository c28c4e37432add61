/*
 * authy.c - Authy API semantics: form bodies of users/new and OneTouch approval
 * requests, validation of what goes into a URL path, interpretation of the JSON
 * replies and the mapping of Authy HTTP and error codes to enum status. Calls go
 * through upstream.h and JSON through json.h; no library header is included here.
 */
#include "authy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "form.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "utf8.h"
#include "util.h"

#define FORM_MAX (16 * 1024)
#define EMAIL_MAX 320
#define CELLPHONE_MAX 20
#define COUNTRY_CODE_MAX 4
#define PATH_MAX_LEN 160

void
authy_call_seterr(struct authy_call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->err, sizeof(call->err), fmt, ap);
	va_end(ap);
}

void
authy_call_reset(struct authy_call *call)
{
	call->http_status = 0;
	call->error_code[0] = '\0';
	call->retry_after_s = 0;
	call->elapsed_ms = 0;
	call->err[0] = '\0';
	call->log_path = NULL;
}

static bool
code_is(const char *code, const char *want)
{
	return code != NULL && strcmp(code, want) == 0;
}

enum status
authy_map_error(long http_status, const char *error_code)
{
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
	if (code_is(error_code, "60027") || code_is(error_code, "60000") ||
	    code_is(error_code, "60002") || code_is(error_code, "60004"))
		return STATUS_USER_REJECTED;
	if (http_status == 400)
		return STATUS_USER_REJECTED;
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
kv_valid(const struct authy_kv *kv, int n)
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
add_kvs(struct buf *b, const char *name, const struct authy_kv *kv, int n)
{
	enum status rc = STATUS_OK;

	for (int i = 0; i < n && rc == STATUS_OK; i++)
		rc = form_add(b, name, kv[i].key, kv[i].value);
	return rc;
}

enum status
authy_approval_form(const struct authy_approval *a, struct buf *out)
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
read_error_code(const struct json *j, struct authy_call *call)
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
interpret(struct authy_call *call, long http_status, const char *body, size_t len,
          struct json **out)
{
	bool is2xx = http_status >= 200 && http_status < 300;
	struct json *j = NULL;
	const char *msg = NULL;
	char clean[96];
	enum status rc;

	*out = NULL;
	call->error_code[0] = '\0';
	rc = json_parse(body, len, &j);
	if (rc == STATUS_NOMEM)
		return rc;
	if (rc != STATUS_OK) {
		authy_call_seterr(call, "HTTP %ld: reply is not a JSON object", http_status);
		return is2xx ? STATUS_UPSTREAM_PROTOCOL : authy_map_error(http_status, NULL);
	}
	read_error_code(j, call);
	if (is2xx && reply_success(j)) {
		*out = j;
		return STATUS_OK;
	}
	rc = authy_map_error(http_status, call->error_code);
	if (json_get_string(j, "message", &msg) != STATUS_OK)
		msg = NULL;
	authy_call_seterr(call, "HTTP %ld error_code=%s: %s", http_status,
	                  call->error_code[0] ? call->error_code : "-",
	                  util_sanitize(msg, clean, sizeof(clean)));
	json_free(j);
	return rc;
}

enum status
authy_user_create_reply(struct authy_call *call, long http_status, const char *body, size_t len,
                        char *id, size_t idlen)
{
	char tmp[AUTHY_ID_MAX + 2];
	struct json *j = NULL;
	enum status rc;

	if (idlen > 0)
		id[0] = '\0';
	rc = interpret(call, http_status, body, len, &j);
	if (rc != STATUS_OK)
		return rc;
	/* user.id is a JSON number in Authy's replies; accept digits as a string too. */
	if (json_get_scalar(j, "user.id", tmp, sizeof(tmp)) != STATUS_OK ||
	    !util_is_digits(tmp, AUTHY_ID_MAX) || strlen(tmp) >= idlen) {
		authy_call_seterr(call, "reply without a valid user.id");
		rc = STATUS_UPSTREAM_PROTOCOL;
	} else {
		util_strlcpy(id, tmp, idlen);
	}
	json_free(j);
	return rc;
}

enum status
authy_approval_create_reply(struct authy_call *call, long http_status, const char *body, size_t len,
                            char *uuid, size_t uuidlen)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	if (uuidlen > 0)
		uuid[0] = '\0';
	rc = interpret(call, http_status, body, len, &j);
	if (rc != STATUS_OK)
		return rc;
	/* The uuid goes into a URL path later: accept only what a uuid can hold. */
	if (json_get_string(j, "approval_request.uuid", &s) != STATUS_OK || !authy_uuid_valid(s) ||
	    strlen(s) >= uuidlen) {
		authy_call_seterr(call, "reply without a valid approval_request.uuid");
		rc = STATUS_UPSTREAM_PROTOCOL;
	} else {
		util_strlcpy(uuid, s, uuidlen);
	}
	json_free(j);
	return rc;
}

static enum status
map_approval_status(struct authy_call *call, const char *s)
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
	authy_call_seterr(call, "unknown approval status %s",
	                  util_sanitize(s, clean, sizeof(clean)));
	return STATUS_UPSTREAM_PROTOCOL;
}

enum status
authy_approval_status_reply(struct authy_call *call, long http_status, const char *body, size_t len)
{
	struct json *j = NULL;
	const char *s = NULL;
	enum status rc;

	rc = interpret(call, http_status, body, len, &j);
	if (rc != STATUS_OK)
		return rc;
	if (json_get_string(j, "approval_request.status", &s) != STATUS_OK)
		s = NULL;
	rc = map_approval_status(call, s);
	json_free(j);
	return rc;
}

enum status
authy_call_perform(struct authy_call *call, const char *method, const char *path, const char *form,
                   struct upstream_response *res)
{
	struct upstream_call uc = {.method = method,
	                           .path = path,
	                           .log_path = call->log_path,
	                           .form = form,
	                           .deadline_ms = call->deadline_ms};
	enum status rc;

	memset(res, 0, sizeof(*res));
	if (call->up == NULL) {
		authy_call_seterr(call, "no upstream connection");
		return STATUS_INTERNAL;
	}
	rc = upstream_request(call->up, &uc, res);
	call->http_status = res->http_status;
	call->retry_after_s = res->retry_after_s;
	call->elapsed_ms = res->elapsed_ms;
	if (rc != STATUS_OK)
		authy_call_seterr(call, "%s", res->err);
	return rc;
}

enum status
authy_call_logged(struct authy_call *call, const char *api, const char *method, const char *path,
                  enum status rc)
{
	if (!status_is_answer(rc))
		log_debug("%s %s %s: %s (%s)", api, method,
		          call->log_path != NULL ? call->log_path : path, status_str(rc),
		          call->err);
	return rc;
}

/* A status returned by a form builder, as the call's result. */
static enum status
form_failed(struct authy_call *call, enum status rc)
{
	authy_call_seterr(call, "invalid request fields (%s)", status_str(rc));
	return rc == STATUS_NOMEM ? rc : STATUS_BAD_REQUEST;
}

enum status
authy_user_create(struct authy_call *call, const struct authy_user *u, char *id, size_t idlen)
{
	struct upstream_response res;
	struct buf form;
	enum status rc;

	authy_call_reset(call);
	memset(&res, 0, sizeof(res));
	buf_init(&form, FORM_MAX);
	if (idlen > 0)
		id[0] = '\0';
	rc = authy_user_form(u, &form);
	if (rc != STATUS_OK) {
		rc = form_failed(call, rc);
		goto out;
	}
	rc = authy_call_perform(call, "POST", AUTHY_PATH_USERS_NEW, buf_cstr(&form), &res);
	if (rc != STATUS_OK)
		goto out;
	rc = authy_user_create_reply(call, res.http_status, res.body, res.body_len, id, idlen);
	rc = authy_call_logged(call, "authy", "POST", AUTHY_PATH_USERS_NEW, rc);
out:
	upstream_response_free(&res);
	buf_free(&form);
	return rc;
}

enum status
authy_approval_create(struct authy_call *call, const struct authy_approval *a, char *uuid,
                      size_t uuidlen)
{
	char path[PATH_MAX_LEN];
	struct upstream_response res;
	struct buf form;
	enum status rc;

	authy_call_reset(call);
	memset(&res, 0, sizeof(res));
	buf_init(&form, FORM_MAX);
	if (uuidlen > 0)
		uuid[0] = '\0';
	rc = authy_approval_form(a, &form);
	if (rc != STATUS_OK) {
		rc = form_failed(call, rc);
		goto out;
	}
	snprintf(path, sizeof(path), AUTHY_PATH_APPROVAL_CREATE_FMT, a->authy_id);
	rc = authy_call_perform(call, "POST", path, buf_cstr(&form), &res);
	if (rc != STATUS_OK)
		goto out;
	rc = authy_approval_create_reply(call, res.http_status, res.body, res.body_len, uuid,
	                                 uuidlen);
	rc = authy_call_logged(call, "authy", "POST", path, rc);
out:
	upstream_response_free(&res);
	buf_free(&form);
	return rc;
}

enum status
authy_approval_status(struct authy_call *call, const char *uuid)
{
	char path[PATH_MAX_LEN];
	struct upstream_response res;
	enum status rc;

	authy_call_reset(call);
	memset(&res, 0, sizeof(res));
	if (!authy_uuid_valid(uuid)) {
		authy_call_seterr(call, "invalid approval uuid");
		return STATUS_BAD_REQUEST;
	}
	snprintf(path, sizeof(path), AUTHY_PATH_APPROVAL_STATUS_FMT, uuid);
	rc = authy_call_perform(call, "GET", path, NULL, &res);
	if (rc == STATUS_OK) {
		rc = authy_approval_status_reply(call, res.http_status, res.body, res.body_len);
		rc = authy_call_logged(call, "authy", "GET", path, rc);
	}
	upstream_response_free(&res);
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
token_rejected(const struct authy_call *call, const char *body, size_t len)
{
	struct json *j = NULL;
	const char *t = NULL;
	bool rejected;

	if (code_is(call->error_code, AUTHY_E_TOKEN_INVALID))
		return true;
	if (code_is(call->error_code, "60001") || json_parse(body, len, &j) != STATUS_OK)
		return false;
	rejected = json_get_string(j, "token", &t) == STATUS_OK && strcmp(t, "is invalid") == 0;
	json_free(j);
	return rejected;
}

enum status
authy_token_verify_reply(struct authy_call *call, long http_status, const char *body, size_t len)
{
	struct json *j = NULL;
	const char *t = NULL;
	enum status rc;

	rc = interpret(call, http_status, body, len, &j);
	if (rc != STATUS_OK) {
		if (http_status == 401 && token_rejected(call, body, len))
			rc = STATUS_TOKEN_WRONG;
		return rc;
	}
	/* Approve only on the documented answer, never on a bare 200. */
	if (json_get_string(j, "token", &t) != STATUS_OK || strcmp(t, "is valid") != 0) {
		authy_call_seterr(call, "200 reply without \"token\":\"is valid\"");
		rc = STATUS_UPSTREAM_PROTOCOL;
	}
	json_free(j);
	return rc;
}

enum status
authy_token_verify(struct authy_call *call, const char *authy_id, const char *token)
{
	char path[AUTHY_TOKEN_PATH_MAX], masked[AUTHY_TOKEN_PATH_MAX];
	struct upstream_response res;
	enum status rc;

	authy_call_reset(call);
	memset(&res, 0, sizeof(res));
	rc = authy_token_paths(authy_id, token, path, masked);
	if (rc != STATUS_OK) {
		authy_call_seterr(call, "invalid authy id or code");
		return rc;
	}
	call->log_path = masked;
	rc = authy_call_perform(call, "GET", path, NULL, &res);
	if (rc == STATUS_OK) {
		rc = authy_token_verify_reply(call, res.http_status, res.body, res.body_len);
		rc = authy_call_logged(call, "authy", "GET", masked, rc);
	}
	call->log_path = NULL; /* masked is about to go out of scope */
	explicit_bzero(path, sizeof(path));
	upstream_response_free(&res);
	return rc;
}

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
