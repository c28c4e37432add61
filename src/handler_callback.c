/*
 * handler_callback.c - the OneTouch callback route (POST JSON or form, or
 * GET with a query string): verify Authy's signature, refuse stale or
 * replayed nonces, and wake the requests waiting for that approval at once.
 */
#include "handlers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authy.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "tracker.h"
#include "util.h"

#define REPLAY_SLOTS 4096
#define CALLBACK_OK_BODY "{\"status\":\"ok\"}"

/* Signatures seen recently: a replayed callback is refused. */
static pthread_mutex_t replay_lock = PTHREAD_MUTEX_INITIALIZER;
static char replay_seen[REPLAY_SLOTS][65];
static size_t replay_next;

static enum status
replay_check(const char *signature)
{
	char h[65];
	enum status rc = STATUS_OK;

	if (crypto_sha256_hex(signature, strlen(signature), h, sizeof(h)) != STATUS_OK)
		return STATUS_INTERNAL;
	pthread_mutex_lock(&replay_lock);
	for (size_t i = 0; i < REPLAY_SLOTS && rc == STATUS_OK; i++)
		if (strcmp(replay_seen[i], h) == 0)
			rc = STATUS_UNAUTHORIZED;
	if (rc == STATUS_OK) {
		memcpy(replay_seen[replay_next], h, sizeof(h));
		replay_next = (replay_next + 1) % REPLAY_SLOTS;
	}
	pthread_mutex_unlock(&replay_lock);
	return rc;
}

/* Authy's nonce is the Unix time of signing: refuse it outside the window. */
static enum status
nonce_fresh(struct req_ctx *ctx, const char *nonce)
{
	long n = 0, age;

	if (nonce == NULL || util_parse_long(nonce, 0, 1L << 40, &n) != STATUS_OK) {
		ctx_seterr(ctx, "callback nonce is not a timestamp");
		return STATUS_UNAUTHORIZED;
	}
	age = (long)ctx->req->now_s - n;
	if (age > ctx->cfg->callback_max_age_s || -age > ctx->cfg->callback_max_age_s) {
		ctx_seterr(ctx, "callback nonce %ld s old, outside the %ld s window", age,
		           ctx->cfg->callback_max_age_s);
		return STATUS_UNAUTHORIZED;
	}
	return STATUS_OK;
}

/* The URL Authy signed: configured, else https://Host + path. */
static enum status
signed_url(struct req_ctx *ctx, char *url, size_t len)
{
	const char *host = request_param(ctx->req, "HTTP_HOST");

	if (ctx->cfg->callback_url != NULL && ctx->cfg->callback_url[0] != '\0') {
		util_strlcpy(url, ctx->cfg->callback_url, len);
		return STATUS_OK;
	}
	if (host == NULL || *host == '\0' || strpbrk(host, "/ \t\r\n") != NULL) {
		ctx_seterr(ctx, "callback without a usable Host header");
		return STATUS_BAD_REQUEST;
	}
	if ((size_t)snprintf(url, len, "https://%s%s", host, ctx->req->path) >= len)
		return STATUS_BAD_REQUEST;
	return STATUS_OK;
}

static void
fill_callback(struct req_ctx *ctx, struct authy_callback *cb, const char *url)
{
	const struct request *req = ctx->req;
	const char *ct = request_param(req, REQUEST_P_CONTENT_TYPE);

	memset(cb, 0, sizeof(*cb));
	cb->api_key = ctx->cfg->api_key;
	cb->nonce = request_param(req, AUTHY_P_NONCE);
	cb->signature = request_param(req, AUTHY_P_SIGNATURE);
	cb->method = req->method;
	cb->url = url;
	if (strcmp(req->method, "GET") == 0) {
		cb->params = request_param(req, "QUERY_STRING");
		cb->params = cb->params ? cb->params : "";
		cb->params_len = strlen(cb->params);
	} else {
		cb->params = req->body;
		cb->params_len = req->body_len;
		cb->json = ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
	}
}

static enum status
resolve(struct req_ctx *ctx, const struct authy_callback *cb)
{
	char uuid[AUTHY_UUID_MAX + 1];
	enum status result = STATUS_PENDING;
	enum status rc = authy_callback_result(cb->params, cb->params_len, cb->json, uuid,
	                                       sizeof(uuid), &result);

	if (rc == STATUS_PENDING) {
		log_info("callback: approval still pending, nothing to do");
		return STATUS_OK;
	}
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "callback without a usable uuid and status");
		return rc;
	}
	rc = tracker_resolve(ctx->tracker, uuid, result);
	log_info("callback uuid=%s outcome=%s %s", uuid,
	         result == STATUS_OK ? "approved" : status_str(result),
	         rc == STATUS_OK ? "woke its waiters" : "(no request waiting here)");
	return STATUS_OK;
}

enum status
handler_callback(struct req_ctx *ctx, struct response *res)
{
	struct authy_callback cb;
	char url[600];
	enum status rc;

	rc = signed_url(ctx, url, sizeof(url));
	if (rc != STATUS_OK)
		goto out;
	fill_callback(ctx, &cb, url);
	rc = authy_callback_verify(&cb, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		goto out;
	rc = nonce_fresh(ctx, cb.nonce);
	if (rc != STATUS_OK)
		goto out;
	rc = replay_check(cb.signature);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "callback replayed");
		goto out;
	}
	rc = resolve(ctx, &cb);
	if (rc != STATUS_OK)
		goto out;
	res->http_status = 200;
	rc = response_set_body(res, CALLBACK_OK_BODY, sizeof(CALLBACK_OK_BODY) - 1);
out:
	return rc;
}
