/*
 * handler_register.c - POST /api/identity/register: B2C claims (email or
 * signInName, phoneNumber, optional countryCode) -> Authy users/new ->
 * output claim authyId, stored by B2C as extension_authyId.
 */
#include "handlers.h"

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "log.h"
#include "phone.h"
#include "util.h"

/* Authy needs an email: the email claim, else a sign-in name that is one. */
static enum status
authy_email(struct req_ctx *ctx, const struct b2c_claims *c, const char **out)
{
	if (c->email[0] != '\0') {
		*out = c->email;
		return STATUS_OK;
	}
	if (b2c_email_valid(c->sign_in_name)) {
		*out = c->sign_in_name;
		return STATUS_OK;
	}
	ctx_seterr(ctx, "no email claim and the sign-in name is not an email address");
	return STATUS_EMAIL_INVALID;
}

static enum status
create_user(struct req_ctx *ctx, const char *email, const struct phone_number *ph, char *id,
            size_t idlen)
{
	struct authy_user u = {.email = email,
	                       .cellphone = ph->national,
	                       .country_code = ph->country_code,
	                       .send_install_link = ctx->cfg->send_install_link};
	struct authy_call call;
	enum status rc;

	rc = handler_call_begin(ctx, &call);
	if (rc != STATUS_OK)
		return rc;
	rc = authy_user_create(&call, &u, id, idlen);
	handler_call_end(ctx, &call, rc, "authy users/new");
	return rc;
}

enum status
handler_register(struct req_ctx *ctx, struct response *res)
{
	struct b2c_claims c;
	struct phone_number ph;
	const char *email = NULL;
	char id[AUTHY_ID_MAX + 1];
	char mphone[32], memail[80];
	enum status rc;

	rc = b2c_parse_claims(ctx->req->body, ctx->req->body_len, &c);
	if (rc != STATUS_OK)
		goto out;
	rc = b2c_validate_register(&c, &ph);
	if (rc != STATUS_OK)
		goto out;
	rc = authy_email(ctx, &c, &email);
	if (rc != STATUS_OK)
		goto out;
	rc = create_user(ctx, email, &ph, id, sizeof(id));
	if (rc != STATUS_OK)
		goto out;
	log_info("registered authy_id=%s phone=+%s%s email=%s", id, ph.country_code,
	         util_mask_phone(ph.national, mphone, sizeof(mphone)),
	         util_mask_email(email, memail, sizeof(memail)));
	rc = b2c_reply_authy_id(res, id);
out:
	return rc;
}
