/*
 * provider.h - the push-approval backend chosen by the configuration
 * (provider = authy | verify) behind one interface: register a user, create
 * an approval, ask for its status, and the upstream connection settings. The
 * handlers and main call only these; authy.c and verify.c hold the semantics.
 */
#ifndef B2CAUTHY_PROVIDER_H
#define B2CAUTHY_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct authy_approval;
struct authy_call;
struct config;
struct phone_number;
struct upstream_opts;

/*
 * The approval handle the tracker keeps is provider-defined text of at most
 * PROVIDER_HANDLE_MAX characters: the Authy uuid, or "<identity>/<challenge
 * SID>" for Verify. TRACKER_UUID_MAX must be at least this.
 */
#define PROVIDER_HANDLE_MAX 64
#define PROVIDER_ID_MAX 20 /* the authyId returned to B2C: digits */

/* A user to register, from claims that passed b2c_validate_register. */
struct provider_user {
	const char *email;                /* email claim, "" when absent */
	const char *sign_in_name;         /* signInName claim, "" when absent */
	const struct phone_number *phone; /* the split phone number */
};

/* provider_name - "authy" or "verify" for cfg, for logs. Static. Thread-safe. */
const char *provider_name(const struct config *cfg);

/*
 * provider_user_check - what the provider needs beyond the B2C validation,
 * before any connection is borrowed: Authy needs an email (the email claim,
 * else a sign-in name that is one), Verify a sign-in name or email to derive
 * the identity from. STATUS_OK, or STATUS_IDENTITY_MISSING (for Authy also a
 * username sign-in: a sign-in name that is no email and no email claim) with
 * the reason in err. Pure.
 */
enum status provider_user_check(const struct config *cfg, const struct provider_user *u, char *err,
                                size_t errlen);

/*
 * provider_user_create - register u and return the id B2C stores as authyId
 * (digits, < PROVIDER_ID_MAX + 1 bytes) in id. Authy: users/new. Verify: the
 * identity derived from the sign-in name (else the email) with
 * verify_identity, and its Entity created unless it exists. call carries the
 * borrowed connection and deadline and comes back filled for logs and
 * metrics. Statuses as authy_user_create / verify_entity_create. Thread-safe
 * for distinct calls.
 */
enum status provider_user_create(const struct config *cfg, struct authy_call *call,
                                 const struct provider_user *u, char *id, size_t idlen);

/*
 * provider_approval_create - send the push for a->authy_id and put its handle
 * (< PROVIDER_HANDLE_MAX + 1 bytes) in handle. Authy: a OneTouch approval
 * request. Verify: the entity's verified push factor, then a Challenge with
 * a->message as Details.Message, a->details as Details.Fields, a->hidden as
 * HiddenDetails and an ExpirationDate a->seconds_to_expire ahead; an authyId
 * that is no Verify identity gives STATUS_USER_NOT_FOUND, an entity without a
 * verified push factor STATUS_NO_FACTOR. Thread-safe for distinct calls.
 */
enum status provider_approval_create(const struct config *cfg, struct authy_call *call,
                                     const struct authy_approval *a, char *handle,
                                     size_t handlelen);

/*
 * provider_approval_status - the status of the approval with this handle:
 * STATUS_OK (approved), STATUS_PENDING, STATUS_DENIED, STATUS_EXPIRED,
 * STATUS_APPROVAL_NOT_FOUND, or an error status (see tracker_poll_fn). cfg NULL
 * means Authy. Thread-safe for distinct calls.
 */
enum status provider_approval_status(const struct config *cfg, struct authy_call *call,
                                     const char *handle);

/*
 * provider_upstream_opts - the upstream_opts of the configured API. Strings
 * are borrowed from cfg.
 */
void provider_upstream_opts(const struct config *cfg, struct upstream_opts *opts);

#endif
