/*
 * verify_webhook.c - Verify webhooks: the data Twilio signs (the full URL,
 * then each form parameter's name and value in name order), constant-time
 * verification of X-Twilio-Signature (HMAC-SHA1 with the Auth Token), the
 * bodySHA256 check of JSON bodies, and reading the challenge's outcome.
 */
#include "verify.h"
#include "verify_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "form.h"
#include "json.h"
#include "provider.h"
#include "request.h"
#include "util.h"

#define DATA_MAX (256 * 1024)

/* One decoded parameter. */
struct pair {
	char *name;
	char *value;
};

struct pairs {
	struct pair items[VERIFY_WEBHOOK_MAX_PARAMS];
	size_t n;
};

static void
pairs_free(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].value);
	}
	p->n = 0;
}

/* form_each visitor: keep a copy of one decoded pair. */
static enum status
keep_pair(void *arg, const char *name, const char *value)
{
	struct pairs *p = arg;
	struct pair *it;

	if (p->n >= VERIFY_WEBHOOK_MAX_PARAMS)
		return STATUS_BAD_REQUEST;
	it = &p->items[p->n];
	it->name = strdup(name);
	it->value = strdup(value);
	if (it->name == NULL || it->value == NULL) {
		free(it->name);
		free(it->value);
		it->name = it->value = NULL;
		return STATUS_NOMEM;
	}
	p->n++;
	return STATUS_OK;
}

/* Split an application/x-www-form-urlencoded text into decoded pairs. */
static enum status
form_pairs(const char *params, size_t len, struct pairs *p)
{
	return form_each(params, len, keep_pair, p);
}

/* By name, then by value: the order Twilio's libraries sign in. */
static int
cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

enum status
verify_webhook_data(const struct verify_webhook *wh, struct buf *out)
{
	struct pairs *p;
	enum status rc;

	if (wh == NULL || wh->url == NULL)
		return STATUS_BAD_REQUEST;
	rc = buf_append_str(out, wh->url);
	/* A JSON body is covered by bodySHA256 in the URL, not by parameters. */
	if (rc != STATUS_OK || wh->params.json || wh->params.text == NULL)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return STATUS_NOMEM;
	rc = form_pairs(wh->params.text, wh->params.len, p);
	if (rc == STATUS_OK)
		qsort(p->items, p->n, sizeof(p->items[0]), cmp_pair);
	for (size_t i = 0; i < p->n && rc == STATUS_OK; i++) {
		/* A pair sent twice counts once, as in Twilio's own validators. */
		if (i > 0 && cmp_pair(&p->items[i - 1], &p->items[i]) == 0)
			continue;
		rc = buf_append_str(out, p->items[i].name);
		if (rc == STATUS_OK)
			rc = buf_append_str(out, p->items[i].value);
	}
	pairs_free(p);
	free(p);
	return rc == STATUS_TOO_LARGE ? STATUS_BAD_REQUEST : rc;
}

/* The value of name in the URL's query string (raw, not decoded), or NULL. */
static const char *
query_param(const char *url, const char *name, size_t *len)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(name);

	while (q != NULL) {
		q++;
		if (strncmp(q, name, n) == 0 && q[n] == '=') {
			*len = strcspn(q + n + 1, "&#");
			return q + n + 1;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

/* For a JSON body: bodySHA256 in the signed URL must be the hex SHA-256 of the body. */
static enum status
body_hash_ok(const struct verify_webhook *wh, char *err, size_t errlen)
{
	char want[65];
	size_t len = 0;
	const char *got = query_param(wh->url, VERIFY_BODY_HASH_PARAM, &len);

	if (got == NULL || len != 64) {
		snprintf(err, errlen, "JSON webhook without bodySHA256 in the URL");
		return STATUS_UNAUTHORIZED;
	}
	if (crypto_sha256_hex(wh->params.text != NULL ? wh->params.text : "", wh->params.len, want,
	                      sizeof(want)) != STATUS_OK)
		return STATUS_INTERNAL;
	for (size_t i = 0; i < 64; i++) {
		char c = got[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c + 32);
		if (c != want[i]) {
			snprintf(err, errlen, "webhook body does not match bodySHA256");
			return STATUS_UNAUTHORIZED;
		}
	}
	return STATUS_OK;
}

enum status
verify_webhook_verify(const struct verify_webhook *wh, char *err, size_t errlen)
{
	struct buf data;
	char want[64];
	enum status rc;

	if (wh->signature == NULL || *wh->signature == '\0') {
		snprintf(err, errlen, "webhook without X-Twilio-Signature");
		return STATUS_UNAUTHORIZED;
	}
	if (wh->auth_token == NULL || *wh->auth_token == '\0') {
		snprintf(err, errlen,
		         "no twilio_auth_token configured to check webhook signatures");
		return STATUS_UNAUTHORIZED;
	}
	buf_init(&data, DATA_MAX);
	rc = verify_webhook_data(wh, &data);
	if (rc == STATUS_OK)
		rc = crypto_hmac_sha1_b64(wh->auth_token, data.data, data.len, want, sizeof(want));
	buf_free(&data);
	if (rc != STATUS_OK) {
		snprintf(err, errlen, "webhook parameters unusable: %s", status_str(rc));
		return STATUS_UNAUTHORIZED;
	}
	if (!util_ct_str_equal(want, wh->signature)) {
		snprintf(err, errlen, "webhook signature does not match");
		return STATUS_UNAUTHORIZED;
	}
	return wh->params.json ? body_hash_ok(wh, err, errlen) : STATUS_OK;
}

/* The first value of name among the pairs, or NULL. */
static const char *
pair_get(const struct pairs *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->items[i].name, name) == 0)
			return p->items[i].value;
	}
	return NULL;
}

/* The fields of a webhook event that name the challenge and its outcome (borrowed). */
struct event {
	const char *type;
	const char *identity;
	const char *sid;
};

static enum status
outcome(const struct event *ev, char *handle, size_t handlelen, enum status *result)
{
	if (ev->type == NULL)
		return STATUS_BAD_REQUEST;
	if (strcmp(ev->type, VERIFY_EVENT_APPROVED) == 0)
		*result = STATUS_OK;
	else if (strcmp(ev->type, VERIFY_EVENT_DENIED) == 0)
		*result = STATUS_DENIED;
	else
		return STATUS_PENDING;
	return verify_handle_make(ev->identity, ev->sid, handle, handlelen);
}

enum status
verify_webhook_result(const struct provider_params *params, char *handle, size_t handlelen,
                      enum status *result)
{
	struct event ev = {NULL, NULL, NULL};
	struct json *j = NULL;
	struct pairs *p = NULL;
	enum status rc;

	if (handlelen > 0)
		handle[0] = '\0';
	if (params->json) {
		rc = json_parse(params->text, params->len, &j);
		if (rc == STATUS_OK &&
		    (json_get_string(j, "type", &ev.type) != STATUS_OK ||
		     json_get_string(j, "entity_identity", &ev.identity) != STATUS_OK ||
		     json_get_string(j, "challenge_sid", &ev.sid) != STATUS_OK))
			ev.identity = ev.sid = NULL;
	} else {
		p = calloc(1, sizeof(*p));
		rc = p == NULL ? STATUS_NOMEM : form_pairs(params->text, params->len, p);
		if (rc == STATUS_OK) {
			ev.type = pair_get(p, "type");
			ev.identity = pair_get(p, "entity_identity");
			ev.sid = pair_get(p, "challenge_sid");
		}
	}
	if (rc == STATUS_OK)
		rc = outcome(&ev, handle, handlelen, result);
	else
		rc = STATUS_BAD_REQUEST;
	json_free(j);
	if (p != NULL)
		pairs_free(p);
	free(p);
	return rc;
}

enum status
verify_callback_check(const struct config *cfg, const struct provider_callback *in,
                      const char **signature, char *err, size_t errlen)
{
	const char *qs = request_param(in->req, "QUERY_STRING");
	struct verify_webhook wh = {.auth_token = cfg->twilio_auth_token,
	                            .signature = request_param(in->req, VERIFY_P_SIGNATURE)};
	char full[1200];
	enum status rc;

	*signature = NULL;
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", in->url, qs != NULL && *qs ? "?" : "",
	                     qs != NULL ? qs : "") >= sizeof(full)) {
		snprintf(err, errlen, "webhook URL too long");
		return STATUS_BAD_REQUEST;
	}
	wh.url = full;
	/* A GET is signed as its URL alone; its parameters are the query string. */
	if (strcmp(in->req->method, "GET") != 0)
		provider_callback_params(in->req, &wh.params);
	rc = verify_webhook_verify(&wh, err, errlen);
	if (rc == STATUS_OK)
		*signature = wh.signature;
	return rc;
}

enum status
verify_callback_outcome(const struct request *req, char *handle, size_t handlelen,
                        enum status *result)
{
	struct provider_params params;

	provider_callback_params(req, &params);
	return verify_webhook_result(&params, handle, handlelen, result);
}
