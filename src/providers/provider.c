/*
 * provider.c - dispatch of register, approval and status calls to the Authy
 * API (authy.c) or to Twilio Verify v2 Push (verify.c) by cfg->provider. The
 * Authy path passes everything through unchanged.
 */
#include "provider.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authy.h"
#include "b2c.h"
#include "config.h"
#include "phone.h"
#include "tracker.h"
#include "util.h"
#include "verify.h"

_Static_assert(PROVIDER_HANDLE_MAX <= TRACKER_UUID_MAX, "the tracker must hold every handle");
_Static_assert(AUTHY_UUID_MAX <= PROVIDER_HANDLE_MAX, "an Authy uuid is a handle");
_Static_assert(VERIFY_HANDLE_MAX <= PROVIDER_HANDLE_MAX, "a Verify handle is a handle");
_Static_assert(VERIFY_IDENTITY_LEN <= PROVIDER_ID_MAX, "an identity is an authyId");
_Static_assert(PROVIDER_ID_MAX == B2C_AUTHY_ID_MAX, "B2C takes every id");

const char *
provider_name(const struct config *cfg)
{
	return config_is_verify(cfg) ? "verify" : "authy";
}

/* Authy needs an email: the email claim, else a sign-in name that is one. */
static const char *
authy_email(const struct provider_user *u)
{
	if (u->email != NULL && u->email[0] != '\0')
		return u->email;
	if (u->sign_in_name != NULL && b2c_email_valid(u->sign_in_name))
		return u->sign_in_name;
	return NULL;
}

/* Verify's identity derives from the sign-in name, else the email. */
static const char *
verify_name(const struct provider_user *u)
{
	if (u->sign_in_name != NULL && u->sign_in_name[0] != '\0')
		return u->sign_in_name;
	if (u->email != NULL && u->email[0] != '\0')
		return u->email;
	return NULL;
}

enum status
provider_user_check(const struct config *cfg, const struct provider_user *u, char *err,
                    size_t errlen)
{
	if (config_is_verify(cfg)) {
		if (verify_name(u) != NULL)
			return STATUS_OK;
		snprintf(err, errlen, "neither a sign-in name nor an email to derive the identity");
		return STATUS_IDENTITY_MISSING;
	}
	if (authy_email(u) != NULL)
		return STATUS_OK;
	/* A username sign-in: Authy cannot register a user without an email. */
	snprintf(err, errlen, "no email claim and the sign-in name is not an email address");
	return STATUS_IDENTITY_MISSING;
}

static enum status
verify_user_create(const struct config *cfg, struct authy_call *call, const struct provider_user *u,
                   char *id, size_t idlen)
{
	const char *name = verify_name(u);
	enum status rc;

	if (name == NULL) {
		snprintf(call->err, sizeof(call->err), "no name to derive the identity from");
		return STATUS_IDENTITY_MISSING;
	}
	rc = verify_identity(cfg->verify_identity_secret, name, id, idlen);
	if (rc != STATUS_OK) {
		snprintf(call->err, sizeof(call->err), "identity derivation failed");
		return rc == STATUS_BAD_REQUEST ? STATUS_INTERNAL : rc;
	}
	rc = verify_entity_create(call, cfg->verify_service_sid, id);
	if (rc != STATUS_OK && idlen > 0)
		id[0] = '\0';
	return rc;
}

enum status
provider_user_create(const struct config *cfg, struct authy_call *call,
                     const struct provider_user *u, char *id, size_t idlen)
{
	struct authy_user au;

	if (config_is_verify(cfg))
		return verify_user_create(cfg, call, u, id, idlen);
	au = (struct authy_user){.email = authy_email(u),
	                         .cellphone = u->phone->national,
	                         .country_code = u->phone->country_code,
	                         .send_install_link = cfg->send_install_link};
	return authy_user_create(call, &au, id, idlen);
}

static enum status
verify_approval_create(const struct config *cfg, struct authy_call *call,
                       const struct authy_approval *a, char *handle, size_t handlelen)
{
	char factor[VERIFY_SID_LEN + 1], sid[VERIFY_SID_LEN + 1];
	struct verify_challenge ch = {.service_sid = cfg->verify_service_sid,
	                              .identity = a->authy_id,
	                              .factor_sid = factor,
	                              .message = a->message,
	                              .fields = a->details,
	                              .n_fields = a->n_details,
	                              .hidden = a->hidden,
	                              .n_hidden = a->n_hidden,
	                              .expires_at = (long long)time(NULL) + a->seconds_to_expire};
	long first_ms;
	enum status rc;

	/* An authyId Authy issued is no identity: the user must enrol again. */
	if (!verify_identity_valid(a->authy_id)) {
		snprintf(call->err, sizeof(call->err), "authyId is not a Verify identity");
		return STATUS_USER_NOT_FOUND;
	}
	rc = verify_factor_find(call, cfg->verify_service_sid, a->authy_id, factor, sizeof(factor));
	if (rc != STATUS_OK)
		return rc;
	/* Two calls on one connection: account the time of both. */
	first_ms = call->elapsed_ms;
	rc = verify_challenge_create(call, &ch, sid, sizeof(sid));
	call->elapsed_ms += first_ms;
	if (rc == STATUS_OK)
		rc = verify_handle_make(a->authy_id, sid, handle, handlelen);
	return rc;
}

enum status
provider_approval_create(const struct config *cfg, struct authy_call *call,
                         const struct authy_approval *a, char *handle, size_t handlelen)
{
	if (handlelen > 0)
		handle[0] = '\0';
	if (config_is_verify(cfg))
		return verify_approval_create(cfg, call, a, handle, handlelen);
	return authy_approval_create(call, a, handle, handlelen);
}

enum status
provider_approval_status(const struct config *cfg, struct authy_call *call, const char *handle)
{
	char identity[VERIFY_IDENTITY_LEN + 1], sid[VERIFY_SID_LEN + 1];

	if (!config_is_verify(cfg))
		return authy_approval_status(call, handle);
	if (verify_handle_split(handle, identity, sid) != STATUS_OK) {
		snprintf(call->err, sizeof(call->err), "invalid approval handle");
		return STATUS_BAD_REQUEST;
	}
	return verify_challenge_status(call, cfg->verify_service_sid, identity, sid);
}

void
provider_upstream_opts(const struct config *cfg, struct upstream_opts *opts)
{
	if (config_is_verify(cfg))
		verify_upstream_opts(cfg, opts);
	else
		authy_upstream_opts(cfg, opts);
}
