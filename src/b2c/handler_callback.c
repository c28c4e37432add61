/*
 * handler_callback.c - the callback route (POST JSON or form, or GET with a
 * query string): verify the signature of an Authy OneTouch callback (stale or
 * replayed nonces refused) or, with provider = verify, of a Verify webhook,
 * and wake the requests waiting for that approval at once.
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
#include "verify.h"

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

/*
 * The URL Authy signed: configured, else https://Host + path. Twilio signs
 * the URL it called including the query string (Verify adds bodySHA256 there
 * for JSON bodies), so with_query appends the one received.
 */
static enum status
signed_url(struct req_ctx *ctx, bool with_query, char *url, size_t len)
{
	const char *host = request_param(ctx->req, "HTTP_HOST");
	const char *qs = with_query ? request_param(ctx->req, "QUERY_STRING") : NULL;
	size_t n;

	if (ctx->cfg->callback_url != NULL && ctx->cfg->callback_url[0] != '\0') {
		util_strlcpy(url, ctx->cfg->callback_url, len);
	} else {
		if (host == NULL || *host == '\0' || strpbrk(host, "/ \t\r\n") != NULL) {
			ctx_seterr(ctx, "callback without a usable Host header");
			return STATUS_BAD_REQUEST;
		}
		if ((size_t)snprintf(url, len, "https://%s%s", host, ctx->req->path) >= len)
			return STATUS_BAD_REQUEST;
	}
	n = strlen(url);
	if (qs != NULL && *qs != '\0' && (size_t)snprintf(url + n, len - n, "?%s", qs) >= len - n)
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

/* Resolve the tracker entry of handle: its waiters answer at once. */
static void
wake(struct req_ctx *ctx, const char *handle, enum status result)
{
	enum status rc = tracker_resolve(ctx->tracker, handle, result);

	log_info("callback uuid=%s outcome=%s %s", handle,
	         result == STATUS_OK ? "approved" : status_str(result),
	         rc == STATUS_OK ? "woke its waiters" : "(no request waiting here)");
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
	wake(ctx, uuid, result);
	return STATUS_OK;
}

/* A OneTouch callback: Authy's signature, a fresh nonce, not seen before. */
static enum status
onetouch_callback(struct req_ctx *ctx)
{
	struct authy_callback cb;
	char url[600];
	enum status rc;

	rc = signed_url(ctx, false, url, sizeof(url));
	if (rc != STATUS_OK)
		return rc;
	fill_callback(ctx, &cb, url);
	rc = authy_callback_verify(&cb, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		return rc;
	rc = nonce_fresh(ctx, cb.nonce);
	if (rc != STATUS_OK)
		return rc;
	rc = replay_check(cb.signature);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "callback replayed");
		return rc;
	}
	return resolve(ctx, &cb);
}

static void
fill_webhook(struct req_ctx *ctx, struct verify_webhook *wh, const char *url)
{
	const struct request *req = ctx->req;
	const char *ct = request_param(req, REQUEST_P_CONTENT_TYPE);

	memset(wh, 0, sizeof(*wh));
	wh->auth_token = ctx->cfg->twilio_auth_token;
	wh->signature = request_param(req, VERIFY_P_SIGNATURE);
	wh->url = url;
	/* A GET is signed as its URL alone; its parameters are the query string. */
	if (strcmp(req->method, "GET") != 0) {
		wh->params = req->body;
		wh->params_len = req->body_len;
		wh->json = ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
	}
}

/*
 * A Verify webhook: X-Twilio-Signature over the URL and parameters. Twilio
 * signs no timestamp, so a repeated signature is refused instead.
 */
static enum status
webhook_callback(struct req_ctx *ctx)
{
	struct verify_webhook wh;
	char url[1200], handle[VERIFY_HANDLE_MAX + 1];
	const char *qs = request_param(ctx->req, "QUERY_STRING");
	enum status result = STATUS_PENDING, rc;

	rc = signed_url(ctx, true, url, sizeof(url));
	if (rc != STATUS_OK)
		return rc;
	fill_webhook(ctx, &wh, url);
	rc = verify_webhook_verify(&wh, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		return rc;
	rc = replay_check(wh.signature);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "webhook replayed");
		return rc;
	}
	if (wh.params == NULL)
		rc = verify_webhook_result(qs ? qs : "", qs ? strlen(qs) : 0, false, handle,
		                           sizeof(handle), &result);
	else
		rc = verify_webhook_result(wh.params, wh.params_len, wh.json, handle,
		                           sizeof(handle), &result);
	if (rc == STATUS_PENDING) {
		log_info("webhook: not a challenge outcome, nothing to do");
		return STATUS_OK;
	}
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "webhook without a usable type, entity_identity and challenge_sid");
		return rc;
	}
	wake(ctx, handle, result);
	return STATUS_OK;
}

enum status
handler_callback(struct req_ctx *ctx, struct response *res)
{
	enum status rc;

	rc = config_is_verify(ctx->cfg) ? webhook_callback(ctx) : onetouch_callback(ctx);
	if (rc != STATUS_OK)
		return rc;
	res->http_status = 200;
	return response_set_body(res, CALLBACK_OK_BODY, sizeof(CALLBACK_OK_BODY) - 1);
}
