/*
 * b2c_int.h - what the unit tests of b2c.c check on its own: the status-to-reply
 * tables one by one, and the claim validators the parser applies. All pure.
 */
#ifndef B2CAUTHY_B2C_INT_H
#define B2CAUTHY_B2C_INT_H

#include "b2c.h"

/*
 * b2c_http_status - the HTTP status for rc: 200 for STATUS_OK, 400, 403, 404,
 * 405, 413, 415, 401 for transport-level problems, 409 for everything the user
 * should see on the B2C page (claims, Authy and Verify outcomes such as
 * STATUS_NO_FACTOR, upstream failures, STATUS_TIMEOUT, STATUS_ABORTED), 503
 * for STATUS_UNAVAILABLE, 500 otherwise (STATUS_NOMEM, STATUS_INTERNAL,
 * STATUS_CONFIG, out-of-range values).
 */
int b2c_http_status(enum status rc);

/*
 * b2c_user_message - the exact user message for rc (a B2C_MSG_* string;
 * B2C_MSG_INTERNAL for STATUS_OK and out-of-range values). Static.
 */
const char *b2c_user_message(enum status rc);

/*
 * b2c_sign_in_name_valid - true for 1..B2C_NAME_MAX bytes of printable text
 * (UTF-8 allowed; no C0/C1 control characters, no DEL). Thread-safe.
 */
bool b2c_sign_in_name_valid(const char *s);

/*
 * b2c_correlation_id_valid - true for 1..B2C_CORRELATION_ID_MAX characters of
 * [A-Za-z0-9._:-] (B2C's correlation id is a GUID). Thread-safe.
 */
bool b2c_correlation_id_valid(const char *s);

/*
 * b2c_token_valid - true for B2C_TOKEN_MIN..B2C_TOKEN_MAX ASCII digits and
 * nothing else. NULL is false. Pure.
 */
bool b2c_token_valid(const char *s);

#endif
