/*
 * form.h - application/x-www-form-urlencoded bodies: building the ones sent to
 * Authy and Verify, and reading the ones their callbacks and webhooks post.
 * Pure functions over caller-owned buffers; thread-safe.
 */
#ifndef B2CAUTHY_FORM_H
#define B2CAUTHY_FORM_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

/*
 * Longest "name=value" item form_each accepts, in bytes before decoding: a
 * Verify webhook's challenge_details (the push's message and up to 20 fields
 * as JSON, every character percent-encoded) fits. The body's own cap
 * (max_body_bytes) applies first.
 */
#define FORM_ITEM_MAX (64 * 1024)

/*
 * form_add - append "name=value" to b, or "name[sub]=value" when sub is not
 * NULL, each part encoded by buf_append_urlenc (the brackets as %5B and %5D)
 * and preceded by '&' when b is not empty. A NULL value is sent empty.
 * STATUS_OK, or STATUS_TOO_LARGE / STATUS_NOMEM from buf (b may then hold a
 * part of the pair: discard it).
 */
enum status form_add(struct buf *b, const char *name, const char *sub, const char *value);

/*
 * form_unescape - form_decode for text where '+' is itself (nginx's
 * $ssl_client_escaped_cert, whose base64 keeps its '+'): only %XX escapes are
 * decoded. Same contract as form_decode.
 */
enum status form_unescape(const char *in, size_t len, char *out);

/*
 * form_visit_fn - called by form_each with one decoded pair; name and value
 * are valid during the call only. Anything but STATUS_OK stops the walk and
 * is returned by form_each.
 */
typedef enum status (*form_visit_fn)(void *arg, const char *name, const char *value);

/*
 * form_each - split the len bytes of a form body at '&' and call fn with each
 * item's decoded name and value (an item without '=' has an empty value),
 * in order. Empty items are skipped. A NUL byte in the body, an item longer
 * than FORM_ITEM_MAX bytes or a bad escape give STATUS_BAD_REQUEST;
 * STATUS_NOMEM when out of memory.
 */
enum status form_each(const char *params, size_t len, form_visit_fn fn, void *arg);

/*
 * form_get - the decoded value of the first item named name (compared after
 * decoding) into out (size outlen). STATUS_OK; STATUS_BAD_REQUEST when the
 * name is absent, the value does not fit or the body is malformed as for
 * form_each; STATUS_NOMEM.
 */
enum status form_get(const char *params, size_t len, const char *name, char *out, size_t outlen);

#endif
