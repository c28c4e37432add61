/*
 * handler_callback.c - the callback route (POST JSON or form, or GET with a
 * query string): the provider verifies the signature (an Authy OneTouch
 * callback with a fresh nonce, or a Verify webhook), replays are refused, and
 * the requests waiting for that approval are woken at once.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "provider.h"
#include "tracker.h"
#include "util.h"

#define REPLAY_SLOTS 4096
#define CALLBACK_OK_BODY "{\"status\":\"ok\"}"

/* Signatures seen recently: a replayed callback is refused (loop thread only). */
static char replay_seen[REPLAY_SLOTS][65];
static size_t replay_next;

static enum status
replay_check(const char *signature)
{
	char h[65];
	enum status rc = STATUS_OK;

	if (crypto_sha256_hex(signature, strlen(signature), h, sizeof(h)) != STATUS_OK)
		return STATUS_INTERNAL;
	for (size_t i = 0; i < REPLAY_SLOTS && rc == STATUS_OK; i++)
		if (strcmp(replay_seen[i], h) == 0)
			rc = STATUS_UNAUTHORIZED;
	if (rc == STATUS_OK) {
		memcpy(replay_seen[replay_next], h, sizeof(h));
		replay_next = (replay_next + 1) % REPLAY_SLOTS;
	}
	return rc;
}

/* The URL the callback was signed for: configured, else https://Host + path. */
static enum status
signed_url(struct req_ctx *ctx, char *url, size_t len)
{
	const char *host = request_param(ctx->req, "HTTP_HOST");

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
	return STATUS_OK;
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

enum status
handler_callback(struct req_ctx *ctx, struct response *res)
{
	const struct provider_ops *ops = ctx->provider->ops;
	char url[600], handle[PROVIDER_HANDLE_MAX + 1];
	const char *signature = NULL;
	struct provider_callback in = {.req = ctx->req, .url = url};
	enum status result = STATUS_PENDING, rc;

	rc = signed_url(ctx, url, sizeof(url));
	if (rc != STATUS_OK)
		return rc;
	rc = ops->callback_verify(ctx->cfg, &in, &signature, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		return rc;
	/* Twilio signs no timestamp: a repeated signature is refused. */
	rc = replay_check(signature);
	if (rc != STATUS_OK) {
		ctx_seterr(ctx, "%s replayed", ops->callback_name);
		return rc;
	}
	rc = ops->callback_result(ctx->req, handle, sizeof(handle), &result);
	if (rc == STATUS_PENDING) {
		log_info("callback: no approval outcome, nothing to do");
	} else if (rc != STATUS_OK) {
		ctx_seterr(ctx, "callback without a usable approval and outcome");
		return rc;
	} else {
		wake(ctx, handle, result);
	}
	res->http_status = 200;
	return response_set_body(res, CALLBACK_OK_BODY, sizeof(CALLBACK_OK_BODY) - 1);
}
