/*
 * api_call.c - the call record shared by the providers: error text, reset,
 * the request of one step, and the debug line of a call that failed.
 */
#include "api_call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

void
api_call_seterr(struct api_call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->err, sizeof(call->err), fmt, ap);
	va_end(ap);
}

void
api_request_init(struct api_request *req)
{
	req->method = "GET";
	req->path[0] = '\0';
	req->log_path[0] = '\0';
	req->repeatable = false;
	buf_init(&req->form, API_FORM_MAX);
}

void
api_request_free(struct api_request *req)
{
	/* The path or the form may hold a one-time code. */
	if (req->form.data != NULL)
		explicit_bzero(req->form.data, req->form.len);
	buf_free(&req->form);
	explicit_bzero(req->path, sizeof(req->path));
}

enum status
api_call_logged(const struct api_call *call, const char *what, const struct api_request *req,
                enum status rc)
{
	if (!status_is_answer(rc))
		log_debug("%s %s %s: %s (%s)", what, req->method,
		          req->log_path[0] != '\0' ? req->log_path : req->path, status_str(rc),
		          call->err);
	return rc;
}
