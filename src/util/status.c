/*
 * status.c - names of enum status values for logs and metrics.
 */
#include "status.h"

#include <stddef.h>

static const char *const names[STATUS__COUNT] = {
    [STATUS_OK] = "ok",
    [STATUS_NOMEM] = "nomem",
    [STATUS_INTERNAL] = "internal",
    [STATUS_CONFIG] = "config",
    [STATUS_NOT_FOUND] = "not_found",
    [STATUS_METHOD] = "method_not_allowed",
    [STATUS_BAD_REQUEST] = "bad_request",
    [STATUS_MEDIA_TYPE] = "unsupported_media_type",
    [STATUS_TOO_LARGE] = "too_large",
    [STATUS_FORBIDDEN] = "forbidden",
    [STATUS_UNAUTHORIZED] = "unauthorized",
    [STATUS_IDENTITY_MISSING] = "identity_missing",
    [STATUS_EMAIL_INVALID] = "email_invalid",
    [STATUS_PHONE_MISSING] = "phone_missing",
    [STATUS_PHONE_INVALID] = "phone_invalid",
    [STATUS_AUTHYID_MISSING] = "authyid_missing",
    [STATUS_AUTHYID_INVALID] = "authyid_invalid",
    [STATUS_USER_REJECTED] = "user_rejected",
    [STATUS_USER_NOT_FOUND] = "user_not_found",
    [STATUS_APPROVAL_NOT_FOUND] = "approval_not_found",
    [STATUS_RATE_LIMITED] = "rate_limited",
    [STATUS_UPSTREAM_AUTH] = "upstream_auth",
    [STATUS_UPSTREAM_CONNECT] = "upstream_connect",
    [STATUS_UPSTREAM_TIMEOUT] = "upstream_timeout",
    [STATUS_UPSTREAM_HTTP] = "upstream_http",
    [STATUS_UPSTREAM_PROTOCOL] = "upstream_protocol",
    [STATUS_PENDING] = "pending",
    [STATUS_DENIED] = "denied",
    [STATUS_EXPIRED] = "expired",
    [STATUS_TIMEOUT] = "timeout",
    [STATUS_ABORTED] = "aborted",
    [STATUS_UNAVAILABLE] = "unavailable",
    [STATUS_NO_FACTOR] = "no_factor",
    [STATUS_ASYNC] = "async",
    [STATUS_NO_CORRELATION] = "correlation_missing",
    [STATUS_PUSH_LIMITED] = "push_limited",
    [STATUS_TOKEN_MISSING] = "token_missing",
    [STATUS_TOKEN_INVALID] = "token_invalid",
    [STATUS_TOKEN_WRONG] = "token_wrong",
    [STATUS_TOKEN_LIMITED] = "token_limited",
    [STATUS_NO_TOTP_FACTOR] = "no_totp_factor",
    [STATUS_TOKEN_USED] = "token_used",
};

int
status_is_answer(enum status rc)
{
	return rc == STATUS_OK || rc == STATUS_PENDING || rc == STATUS_DENIED ||
	       rc == STATUS_EXPIRED;
}

const char *
status_str(enum status rc)
{
	if ((int)rc < 0 || rc >= STATUS__COUNT || names[rc] == NULL)
		return "unknown";
	return names[rc];
}
