/*
 * provider.c - the table of providers, chosen by name once at start, and the
 * asynchronous driver that runs an operation's steps on the loop: build a
 * request, start the transfer, interpret the reply when it is done, go on
 * while the provider asks for another step.
 */
#include "provider.h"
#include "provider_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b2c.h"
#include "config.h"
#include "loop.h"
#include "request.h"
#include "tracker.h"
#include "upstream.h"
#include "utf8.h"
#include "util.h"

#define MAX_STEPS 4

_Static_assert(PROVIDER_HANDLE_MAX <= TRACKER_UUID_MAX, "the tracker must hold every handle");
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

enum status
provider_config_validate(const struct config *cfg, char *err, size_t errlen)
{
	struct provider p;
	enum status rc = provider_init(cfg, &p);

	if (rc != STATUS_OK) {
		snprintf(err, errlen, "provider: expected authy or verify");
		return rc;
	}
	rc = p.ops->config_check(cfg, err, errlen);
	return rc == STATUS_OK ? config_validate(cfg, err, errlen) : rc;
}

enum status
provider_details_fit(const struct config *cfg, const struct provider_detail_limits *lim, char *msg,
                     size_t msglen)
{
	char values[48] = "";

	for (int i = 0; i < cfg->n_details && i < CONFIG_MAX_DETAILS; i++) {
		if ((long)utf8_chars(cfg->details[i].key) <= lim->key_max &&
		    (lim->value_max == 0 ||
		     (long)utf8_chars(cfg->details[i].value) <= lim->value_max))
			continue;
		if (lim->value_max > 0)
			snprintf(values, sizeof(values), " and values at most %ld", lim->value_max);
		snprintf(msg, msglen,
		         "approval_details: item %d: with provider = %s keys are at most %ld%s "
		         "characters",
		         i + 1, lim->provider, lim->key_max, values);
		return STATUS_CONFIG;
	}
	return STATUS_OK;
}

void
provider_job_init(struct provider_job *job, const struct provider *p)
{
	memset(job, 0, sizeof(*job));
	job->p = p;
}

void
provider_callback_params(const struct request *req, struct provider_params *out)
{
	const char *ct = request_param(req, REQUEST_P_CONTENT_TYPE);

	if (strcmp(req->method, "GET") == 0) {
		out->text = request_param(req, "QUERY_STRING");
		out->text = out->text != NULL ? out->text : "";
		out->len = strlen(out->text);
		out->json = false;
		return;
	}
	out->text = req->body;
	out->len = req->body_len;
	out->json = ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/* An operation in progress: the step under way and its request. */
struct provider_call {
	const struct provider_op *op;
	struct provider_job *job;
	struct provider_start_opts o;
	int step;
	struct api_request req;
	struct upstream_xfer *xfer;
};

static void on_reply(void *arg, enum status rc, const struct upstream_response *r);

static void
call_free(struct provider_call *pc)
{
	api_request_free(&pc->req);
	free(pc);
}

/* Build the current step's request and start its transfer. */
static enum status
step_start(struct provider_call *pc)
{
	struct upstream_call uc;
	enum status rc;

	api_request_free(&pc->req);
	api_request_init(&pc->req);
	rc = pc->op->build(pc->job, pc->step, &pc->req);
	if (rc != STATUS_OK)
		return rc;
	uc = (struct upstream_call){
	    .method = pc->req.method,
	    .path = pc->req.path,
	    .log_path = pc->req.log_path[0] != '\0' ? pc->req.log_path : NULL,
	    .form = strcmp(pc->req.method, "POST") == 0 ? buf_cstr(&pc->req.form) : NULL,
	    .repeatable = pc->req.repeatable,
	    .deadline_ms = pc->o.deadline_ms};
	rc = upstream_start(pc->o.up, &uc, on_reply, pc, &pc->xfer);
	if (rc != STATUS_OK)
		api_call_seterr(&pc->job->call, "%s %s: %s before the call", pc->req.method,
		                pc->req.log_path[0] != '\0' ? pc->req.log_path : pc->req.path,
		                status_str(rc));
	return rc;
}

static void
on_reply(void *arg, enum status rc, const struct upstream_response *r)
{
	struct provider_call *pc = arg;
	struct api_call *call = &pc->job->call;
	struct api_reply reply = {r->http_status, r->body, r->body_len};
	bool more = false;

	pc->xfer = NULL;
	call->calls++;
	call->http_status = r->http_status;
	call->retry_after_s = r->retry_after_s;
	call->elapsed_ms += r->elapsed_ms;
	if (rc != STATUS_OK) {
		api_call_seterr(call, "%s", r->err);
	} else {
		rc = pc->op->reply(pc->job, pc->step, &reply, &more);
		rc = api_call_logged(call, pc->op->what, &pc->req, rc);
	}
	if (rc == STATUS_OK && more) {
		pc->step++;
		rc = pc->step < MAX_STEPS ? step_start(pc) : STATUS_INTERNAL;
		if (rc == STATUS_OK)
			return;
	}
	pc->o.fn(pc->o.arg, rc, pc->job);
	call_free(pc);
}

enum status
provider_start(const struct provider_op *op, struct provider_job *job,
               const struct provider_start_opts *opts, struct provider_call **out)
{
	struct provider_call *pc;
	enum status rc;

	if (out != NULL)
		*out = NULL;
	if (opts->up == NULL) {
		api_call_seterr(&job->call, "no upstream connection");
		return STATUS_INTERNAL;
	}
	pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return STATUS_NOMEM;
	*pc = (struct provider_call){.op = op, .job = job, .o = *opts};
	api_request_init(&pc->req);
	rc = step_start(pc);
	if (rc != STATUS_OK) {
		call_free(pc);
		return rc;
	}
	if (out != NULL)
		*out = pc;
	return STATUS_OK;
}

void
provider_cancel(struct provider_call *pc)
{
	if (pc == NULL)
		return;
	upstream_cancel(pc->xfer);
	call_free(pc);
}

struct run_state {
	struct loop *loop;
	enum status rc;
	bool done;
};

static void
run_done(void *arg, enum status rc, struct provider_job *job)
{
	struct run_state *st = arg;

	(void)job;
	st->rc = rc;
	st->done = true;
	loop_stop(st->loop);
}

enum status
provider_run(const struct provider_op *op, struct provider_job *job, struct upstream *up,
             struct loop *loop, long long deadline_ms)
{
	struct run_state st = {.loop = loop, .rc = STATUS_INTERNAL};
	enum status rc;

	rc = provider_start(op, job,
	                    &(struct provider_start_opts){
	                        .up = up, .deadline_ms = deadline_ms, .fn = run_done, .arg = &st},
	                    NULL);
	if (rc != STATUS_OK)
		return rc;
	while (!st.done)
		if (loop_run(loop) != STATUS_OK)
			return STATUS_INTERNAL;
	return st.rc;
}
