/*
 * verify_webhook.c - Verify webhooks: the data Twilio signs (the full URL,
 * then each form parameter's name and value in name order), constant-time
 * verification of X-Twilio-Signature (HMAC-SHA1 with the Auth Token), the
 * bodySHA256 check of JSON bodies, and reading the challenge's outcome.
 */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "json.h"
#include "util.h"

#define ITEM_MAX 4096
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

/* Decode len bytes of one form component ('+' is a space) into a new string. */
static enum status
form_decode(const char *in, size_t len, char **out)
{
	char *s = malloc(len + 1);
	enum status rc;

	*out = NULL;
	if (s == NULL)
		return STATUS_NOMEM;
	rc = util_form_decode(in, len, s);
	if (rc != STATUS_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return STATUS_OK;
}

/* Split an application/x-www-form-urlencoded text into decoded pairs. */
static enum status
form_pairs(const char *params, size_t len, struct pairs *p)
{
	size_t i = 0;
	enum status rc = STATUS_OK;

	if (memchr(params, '\0', len) != NULL)
		return STATUS_BAD_REQUEST;
	while (i < len && rc == STATUS_OK) {
		size_t end = i, eq;

		while (end < len && params[end] != '&')
			end++;
		for (eq = i; eq < end && params[eq] != '='; eq++)
			;
		if (end > i && end - i > ITEM_MAX)
			rc = STATUS_BAD_REQUEST;
		else if (end > i && p->n >= VERIFY_WEBHOOK_MAX_PARAMS)
			rc = STATUS_BAD_REQUEST;
		else if (end > i) {
			struct pair *it = &p->items[p->n];
			size_t vstart = eq < end ? eq + 1 : end;

			rc = form_decode(params + i, eq - i, &it->name);
			if (rc == STATUS_OK)
				rc = form_decode(params + vstart, end - vstart, &it->value);
			if (rc == STATUS_OK)
				p->n++;
			else {
				free(it->name);
				it->name = NULL;
			}
		}
		i = end + 1;
	}
	return rc;
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
	if (rc != STATUS_OK || wh->json || wh->params == NULL)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return STATUS_NOMEM;
	rc = form_pairs(wh->params, wh->params_len, p);
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
	if (crypto_sha256_hex(wh->params != NULL ? wh->params : "", wh->params_len, want,
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
	size_t got_len;
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
		rc = crypto_hmac_b64("sha1", wh->auth_token, data.data, data.len, want,
		                     sizeof(want));
	buf_free(&data);
	if (rc != STATUS_OK) {
		snprintf(err, errlen, "webhook parameters unusable: %s", status_str(rc));
		return STATUS_UNAUTHORIZED;
	}
	got_len = strlen(wh->signature);
	/* Compare the full length either way so timing tells nothing. */
	if (!util_ct_equal(want, got_len == strlen(want) ? wh->signature : want, strlen(want)) ||
	    got_len != strlen(want)) {
		snprintf(err, errlen, "webhook signature does not match");
		return STATUS_UNAUTHORIZED;
	}
	return wh->json ? body_hash_ok(wh, err, errlen) : STATUS_OK;
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

static enum status
outcome(const char *type, const char *identity, const char *sid, char *handle, size_t handlelen,
        enum status *result)
{
	if (type == NULL)
		return STATUS_BAD_REQUEST;
	if (strcmp(type, VERIFY_EVENT_APPROVED) == 0)
		*result = STATUS_OK;
	else if (strcmp(type, VERIFY_EVENT_DENIED) == 0)
		*result = STATUS_DENIED;
	else
		return STATUS_PENDING;
	return verify_handle_make(identity, sid, handle, handlelen);
}

enum status
verify_webhook_result(const char *params, size_t len, bool json, char *handle, size_t handlelen,
                      enum status *result)
{
	const char *type = NULL, *identity = NULL, *sid = NULL;
	struct json *j = NULL;
	struct pairs *p = NULL;
	enum status rc;

	if (handlelen > 0)
		handle[0] = '\0';
	if (json) {
		rc = json_parse(params, len, &j);
		if (rc == STATUS_OK &&
		    (json_get_string(j, "type", &type) != STATUS_OK ||
		     json_get_string(j, "entity_identity", &identity) != STATUS_OK ||
		     json_get_string(j, "challenge_sid", &sid) != STATUS_OK))
			identity = sid = NULL;
	} else {
		p = calloc(1, sizeof(*p));
		rc = p == NULL ? STATUS_NOMEM : form_pairs(params, len, p);
		if (rc == STATUS_OK) {
			type = pair_get(p, "type");
			identity = pair_get(p, "entity_identity");
			sid = pair_get(p, "challenge_sid");
		}
	}
	if (rc == STATUS_OK)
		rc = outcome(type, identity, sid, handle, handlelen, result);
	else
		rc = STATUS_BAD_REQUEST;
	json_free(j);
	if (p != NULL)
		pairs_free(p);
	free(p);
	return rc;
}
