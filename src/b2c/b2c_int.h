/*
 * b2c_int.h - the status-to-reply tables of b2c.c that its unit test checks one by one.
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

#endif
