/*
 * handler_register.c - POST /api/identity/register: B2C claims (email or
 * signInName, phoneNumber, optional countryCode) -> the provider's user
 * (Authy users/new, or a Verify Entity) -> output claim authyId, stored by
 * B2C as extension_authyId.
 */
#include "handlers.h"

#include "b2c.h"
#include "log.h"
#include "phone.h"
#include "provider.h"
#include "util.h"

/* The name registered: Authy's email, or the sign-in name Verify's identity hides. */
static void
log_registered(const struct req_ctx *ctx, const struct provider_user *u, const char *id)
{
	char mphone[32], memail[80];

	log_info("registered authy_id=%s phone=+%s%s email=%s", id, u->phone->country_code,
	         util_mask_phone(u->phone->national, mphone, sizeof(mphone)),
	         util_mask_email(ctx->provider->ops->user_name(u), memail, sizeof(memail)));
}

enum status
handler_register(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	struct phone_number ph;
	struct provider_user u = {.phone = &ph};
	struct provider_job job;
	enum status rc;

	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = b2c_validate_register(&c, &ph);
	if (rc != STATUS_OK)
		goto out;
	u.email = c.email;
	u.sign_in_name = c.sign_in_name;
	rc = ctx->provider->ops->user_check(&u, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		goto out;
	provider_job_init(&job, ctx->provider);
	job.user = &u;
	rc = handler_provider(ctx, ctx->provider->ops->user_create, &job);
	if (rc != STATUS_OK)
		goto out;
	log_registered(ctx, &u, job.id);
	rc = b2c_reply_authy_id(res, job.id);
out:
	return rc;
}
