/*
 * request.c - small helpers around struct request, struct response and
 * struct req_ctx: param lookup, completion, error detail, body ownership.
 */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
request_param(const struct request *req, const char *name)
{
	size_t n = strlen(name);

	if (req == NULL || req->env == NULL)
		return NULL;
	for (char **e = req->env; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

void
req_ctx_done(struct req_ctx *ctx, enum status rc)
{
	ctx->done_fn(ctx, rc);
}

void
ctx_seterr(struct req_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
}

enum status
response_set_body(struct response *res, const char *body, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return STATUS_NOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	free(res->body);
	res->body = copy;
	res->body_len = len;
	return STATUS_OK;
}

void
response_free(struct response *res)
{
	if (res == NULL)
		return;
	free(res->body);
	memset(res, 0, sizeof(*res));
}
