/*
 * provider.c - the table of providers, chosen by name once at start, and the
 * driver that runs an operation's steps: build a request, make the call,
 * interpret the reply, go on while the provider asks for another step.
 */
#include "provider.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "request.h"
#include "tracker.h"
#include "upstream.h"
#include "util.h"
#include "verify.h"

#define MAX_STEPS 4

_Static_assert(PROVIDER_HANDLE_MAX <= TRACKER_UUID_MAX, "the tracker must hold every handle");
_Static_assert(AUTHY_UUID_MAX <= PROVIDER_HANDLE_MAX, "an Authy uuid is a handle");
_Static_assert(VERIFY_HANDLE_MAX <= PROVIDER_HANDLE_MAX, "a Verify handle is a handle");
_Static_assert(VERIFY_IDENTITY_LEN <= PROVIDER_ID_MAX, "an identity is an authyId");
_Static_assert(VERIFY_SID_LEN < PROVIDER_SCRATCH_MAX, "a factor SID fits between steps");
_Static_assert(PROVIDER_ID_MAX == B2C_AUTHY_ID_MAX, "B2C takes every id");

static const struct provider_ops *const all[] = {&authy_provider, &verify_provider};

enum status
provider_init(const struct config *cfg, struct provider *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (cfg->provider != NULL && strcmp(cfg->provider, all[i]->name) == 0) {
			out->ops = all[i];
			out->cfg = cfg;
			return STATUS_OK;
		}
	}
	return STATUS_CONFIG;
}

void
provider_job_init(struct provider_job *job, const struct provider *p)
{
	memset(job, 0, sizeof(*job));
	job->p = p;
}

void
provider_callback_params(const struct request *req, const char **params, size_t *len, bool *json)
{
	const char *ct = request_param(req, REQUEST_P_CONTENT_TYPE);

	if (strcmp(req->method, "GET") == 0) {
		*params = request_param(req, "QUERY_STRING");
		*params = *params != NULL ? *params : "";
		*len = strlen(*params);
		*json = false;
		return;
	}
	*params = req->body;
	*len = req->body_len;
	*json = ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/* One step: the call and the interpretation of its reply. */
static enum status
run_step(const struct provider_op *op, struct provider_job *job, int step, struct upstream *up,
         long long deadline_ms, bool *more)
{
	struct api_request req;
	struct upstream_response res;
	struct upstream_call uc;
	enum status rc;

	memset(&res, 0, sizeof(res));
	api_request_init(&req);
	*more = false;
	rc = op->build(job, step, &req);
	if (rc != STATUS_OK)
		goto out;
	uc = (struct upstream_call){.method = req.method,
	                            .path = req.path,
	                            .form = strcmp(req.method, "POST") == 0 ? buf_cstr(&req.form)
	                                                                    : NULL,
	                            .deadline_ms = deadline_ms};
	rc = upstream_request(up, &uc, &res);
	job->call.calls++;
	job->call.http_status = res.http_status;
	job->call.retry_after_s = res.retry_after_s;
	job->call.elapsed_ms += res.elapsed_ms;
	if (rc != STATUS_OK) {
		api_call_seterr(&job->call, "%s", res.err);
		goto out;
	}
	rc = op->reply(job, step, res.http_status, res.body, res.body_len, more);
	rc = api_call_logged(&job->call, op->what, &req, rc);
out:
	upstream_response_free(&res);
	api_request_free(&req);
	return rc;
}

enum status
provider_run(const struct provider_op *op, struct provider_job *job, struct upstream *up,
             long long deadline_ms)
{
	enum status rc = STATUS_INTERNAL;
	bool more = true;

	if (up == NULL) {
		api_call_seterr(&job->call, "no upstream connection");
		return STATUS_INTERNAL;
	}
	for (int step = 0; more && step < MAX_STEPS; step++)
		rc = run_step(op, job, step, up, deadline_ms, &more);
	return rc;
}
