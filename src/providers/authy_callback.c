/*
 * authy_callback.c - OneTouch callbacks: the parameter canonicalisation
 * Authy signs (the scheme of Authy's own client libraries), constant-time
 * verification of X-Authy-Signature, and reading the reported outcome.
 */
#include "authy.h"
#include "authy_int.h"

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

#define PAIR_MAX 4096

struct pairs {
	char *items[AUTHY_CALLBACK_MAX_PARAMS];
	size_t n;
};

static void
pairs_free(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i]);
	p->n = 0;
}

/* Authy's libraries turn every numeric position "%5B12%5D" into "%5B%5D". */
static void
collapse_indices(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (strncmp(r, "%5B", 3) == 0) {
			size_t d = strspn(r + 3, "0123456789");
			if (d > 0 && strncmp(r + 3 + d, "%5D", 3) == 0) {
				memcpy(w, "%5B%5D", 6);
				w += 6;
				r += 6 + d;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* Add "enc(key)=enc(value)" to p. */
static enum status
pairs_add(struct pairs *p, const char *key, const char *value)
{
	struct buf b;
	enum status rc;

	if (p->n >= AUTHY_CALLBACK_MAX_PARAMS)
		return STATUS_BAD_REQUEST;
	buf_init(&b, PAIR_MAX);
	rc = form_add(&b, key, NULL, value);
	if (rc != STATUS_OK) {
		buf_free(&b);
		return rc == STATUS_TOO_LARGE ? STATUS_BAD_REQUEST : rc;
	}
	p->items[p->n] = buf_steal(&b, NULL);
	if (p->items[p->n] == NULL)
		return STATUS_NOMEM;
	collapse_indices(p->items[p->n++]);
	return STATUS_OK;
}

/* form_each visitor: one decoded form pair, encoded again the way Authy signs it. */
static enum status
visit_pair(void *arg, const char *name, const char *value)
{
	return pairs_add(arg, name, value);
}

static enum status
visit_leaf(void *arg, const struct json_leaf *leaf)
{
	char key[PAIR_MAX];
	size_t off = 0;

	for (size_t i = 0; i < leaf->depth; i++) {
		const char *part = leaf->is_index[i] ? "" : leaf->path[i];
		int n = snprintf(key + off, sizeof(key) - off, i == 0 ? "%s" : "[%s]", part);
		if (n < 0 || (size_t)n >= sizeof(key) - off)
			return STATUS_BAD_REQUEST;
		off += (size_t)n;
	}
	return pairs_add(arg, key, leaf->value);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum status
authy_callback_canonical(const struct provider_params *params, struct buf *out)
{
	struct pairs p = {0};
	struct json *j = NULL;
	enum status rc;

	if (params->json) {
		rc = json_parse(params->text, params->len, &j);
		if (rc == STATUS_OK)
			rc = json_walk(j, visit_leaf, &p);
	} else {
		rc = form_each(params->text, params->len, visit_pair, &p);
	}
	if (rc != STATUS_OK)
		goto out;
	qsort(p.items, p.n, sizeof(p.items[0]), cmp_str);
	for (size_t i = 0; i < p.n && rc == STATUS_OK; i++) {
		if (i > 0)
			rc = buf_append(out, "&", 1);
		if (rc == STATUS_OK)
			rc = buf_append_str(out, p.items[i]);
	}
out:
	json_free(j);
	pairs_free(&p);
	return rc;
}

enum status
authy_callback_verify(const struct authy_callback *cb, char *err, size_t errlen)
{
	struct buf data;
	char want[128];
	enum status rc;

	if (cb->signature == NULL || cb->nonce == NULL || *cb->signature == '\0' ||
	    *cb->nonce == '\0') {
		snprintf(err, errlen, "callback without X-Authy-Signature or nonce");
		return STATUS_UNAUTHORIZED;
	}
	buf_init(&data, AUTHY_CALLBACK_MAX_BYTES * 4);
	rc = buf_appendf(&data, "%s|%s|%s|", cb->nonce, cb->method, cb->url);
	if (rc == STATUS_OK)
		rc = authy_callback_canonical(&cb->params, &data);
	if (rc == STATUS_OK)
		rc = crypto_hmac_sha256_b64(cb->api_key, data.data, data.len, want, sizeof(want));
	buf_free(&data);
	if (rc != STATUS_OK) {
		snprintf(err, errlen, "callback parameters unusable: %s", status_str(rc));
		return STATUS_UNAUTHORIZED;
	}
	if (!util_ct_str_equal(want, cb->signature)) {
		snprintf(err, errlen, "callback signature does not match");
		return STATUS_UNAUTHORIZED;
	}
	return STATUS_OK;
}

static enum status
result_of(const char *status, enum status *result)
{
	if (strcmp(status, "approved") == 0)
		*result = STATUS_OK;
	else if (strcmp(status, "denied") == 0)
		*result = STATUS_DENIED;
	else if (strcmp(status, "expired") == 0)
		*result = STATUS_EXPIRED;
	else
		return STATUS_PENDING;
	return STATUS_OK;
}

enum status
authy_callback_result(const struct provider_params *params, char *uuid, size_t uuidlen,
                      enum status *result)
{
	char status[32];
	const char *u = NULL, *s = NULL;
	struct json *j = NULL;
	enum status rc;

	if (params->json) {
		rc = json_parse(params->text, params->len, &j);
		if (rc == STATUS_OK)
			rc = json_get_string(j, "uuid", &u);
		if (rc == STATUS_OK)
			rc = json_get_string(j, "status", &s);
		if (rc == STATUS_OK && (util_strlcpy(uuid, u, uuidlen) >= uuidlen ||
		                        util_strlcpy(status, s, sizeof(status)) >= sizeof(status)))
			rc = STATUS_BAD_REQUEST;
	} else {
		rc = form_get(params->text, params->len, "uuid", uuid, uuidlen);
		if (rc == STATUS_OK)
			rc = form_get(params->text, params->len, "status", status, sizeof(status));
	}
	json_free(j);
	if (rc != STATUS_OK || !authy_uuid_valid(uuid))
		return STATUS_BAD_REQUEST;
	return result_of(status, result);
}

/* Authy's nonce is the Unix time of signing: refuse it outside the window. */
static enum status
nonce_fresh(const struct config *cfg, const struct request *req, const char *nonce, char *err,
            size_t errlen)
{
	long n = 0, age;

	if (nonce == NULL || util_parse_long(nonce, 0, 1L << 40, &n) != STATUS_OK) {
		snprintf(err, errlen, "callback nonce is not a timestamp");
		return STATUS_UNAUTHORIZED;
	}
	age = (long)req->now_s - n;
	if (age > cfg->callback_max_age_s || -age > cfg->callback_max_age_s) {
		snprintf(err, errlen, "callback nonce %ld s old, outside the %ld s window", age,
		         cfg->callback_max_age_s);
		return STATUS_UNAUTHORIZED;
	}
	return STATUS_OK;
}

enum status
authy_callback_check(const struct config *cfg, const struct provider_callback *in,
                     const char **signature, char *err, size_t errlen)
{
	struct authy_callback cb = {.api_key = cfg->api_key,
	                            .nonce = request_param(in->req, AUTHY_P_NONCE),
	                            .signature = request_param(in->req, AUTHY_P_SIGNATURE),
	                            .method = in->req->method,
	                            .url = in->url};
	enum status rc;

	*signature = NULL;
	provider_callback_params(in->req, &cb.params);
	rc = authy_callback_verify(&cb, err, errlen);
	if (rc == STATUS_OK)
		rc = nonce_fresh(cfg, in->req, cb.nonce, err, errlen);
	if (rc == STATUS_OK)
		*signature = cb.signature;
	return rc;
}

enum status
authy_callback_outcome(const struct request *req, char *uuid, size_t uuidlen, enum status *result)
{
	struct provider_params params;

	provider_callback_params(req, &params);
	return authy_callback_result(&params, uuid, uuidlen, result);
}
