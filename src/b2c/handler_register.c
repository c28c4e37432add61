/*
 * handler_register.c - POST /api/identity/register: B2C claims (email or
 * signInName, phoneNumber, optional countryCode) -> the provider's user
 * (Authy users/new, or a Verify Entity) -> output claim authyId, stored by
 * B2C as extension_authyId.
 */
#include "handlers.h"

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "log.h"
#include "phone.h"
#include "provider.h"
#include "util.h"

struct user_job {
	struct authy_call call;
	const struct config *cfg;
	const struct provider_user *u;
	char *id;
	size_t idlen;
};

/* Runs on an executor thread. */
static enum status
run_create_user(void *arg, struct upstream *up)
{
	struct user_job *j = arg;

	j->call.up = up;
	return provider_user_create(j->cfg, &j->call, j->u, j->id, j->idlen);
}

static enum status
create_user(struct req_ctx *ctx, const struct provider_user *u, char *id, size_t idlen)
{
	struct user_job j = {.cfg = ctx->cfg, .u = u, .id = id, .idlen = idlen};

	return handler_call(ctx, &j.call, run_create_user, &j,
	                    config_is_verify(ctx->cfg) ? "verify entities" : "authy users/new");
}

/* The name registered: Authy's email, or the sign-in name Verify's identity hides. */
static void
log_registered(const struct req_ctx *ctx, const struct provider_user *u, const char *id,
               const char *correlation_id)
{
	const char *first = config_is_verify(ctx->cfg) ? u->sign_in_name : u->email;
	const char *other = config_is_verify(ctx->cfg) ? u->email : u->sign_in_name;
	char mphone[32], memail[80];

	log_info("registered authy_id=%s correlation_id=%s phone=+%s%s email=%s", id,
	         correlation_id[0] != '\0' ? correlation_id : "-", u->phone->country_code,
	         util_mask_phone(u->phone->national, mphone, sizeof(mphone)),
	         util_mask_email(first[0] != '\0' ? first : other, memail, sizeof(memail)));
}

enum status
handler_register(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	struct phone_number ph;
	struct provider_user u = {.phone = &ph};
	char id[PROVIDER_ID_MAX + 1];
	enum status rc;

	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = b2c_validate_register(&c, &ph);
	if (rc != STATUS_OK)
		goto out;
	u.email = c.email;
	u.sign_in_name = c.sign_in_name;
	rc = provider_user_check(ctx->cfg, &u, ctx->err, sizeof(ctx->err));
	if (rc != STATUS_OK)
		goto out;
	rc = create_user(ctx, &u, id, sizeof(id));
	if (rc != STATUS_OK)
		goto out;
	log_registered(ctx, &u, id, c.correlation_id);
	rc = b2c_reply_authy_id(res, id);
out:
	return rc;
}
