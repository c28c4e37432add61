/*
 * handler_common.c - what every handler that calls the API shares: the
 * provider's check of an authyId, the binding to one sign-in, a finished
 * provider operation accounted in the request context, the access line and
 * the metrics, and the correlation id their log lines carry.
 */
#include "handlers.h"

#include "b2c.h"
#include "config.h"
#include "metrics.h"
#include "provider.h"

enum status
handler_check_id(struct req_ctx *ctx, const char *authy_id)
{
	if (ctx->provider->ops->id_valid(authy_id))
		return STATUS_OK;
	ctx_seterr(ctx, "authyId not in the %s form (leading zero)", ctx->provider->ops->name);
	return STATUS_AUTHYID_INVALID;
}

enum status
handler_check_binding(struct req_ctx *ctx, const struct b2c_claims *c, const char *nothing)
{
	enum status rc = b2c_validate_binding(c, ctx->cfg->require_correlation_id);

	if (rc != STATUS_OK)
		ctx_seterr(ctx, "%s refused: authy_id=%s without a valid correlationId (%s): %s",
		           ctx->route, c->authy_id,
		           c->correlation_rc != STATUS_OK ? "invalid" : "absent", nothing);
	return rc;
}

enum status
handler_account(struct req_ctx *ctx, const struct provider_op *op, const struct provider_job *job,
                enum status rc)
{
	const struct api_call *call = &job->call;

	if (call->calls > 0)
		metrics_upstream(call->elapsed_ms, rc);
	if (ctx == NULL)
		return rc;
	ctx->upstream_calls += call->calls;
	ctx->upstream_ms += call->elapsed_ms;
	if (rc != STATUS_OK)
		ctx_seterr(ctx, "%s: %s http=%ld error_code=%s %s", op->what, status_str(rc),
		           call->http_status, call->error_code[0] ? call->error_code : "-",
		           call->err);
	return rc;
}

const char *
handler_cid(const struct b2c_claims *c)
{
	return c->correlation_id[0] != '\0' ? c->correlation_id : "-";
}
