/*
 * form_int.h - the decoding of one form component, which form_each and
 * form_get apply to every name and value, for its unit test.
 */
#ifndef B2CAUTHY_FORM_INT_H
#define B2CAUTHY_FORM_INT_H

#include <stddef.h>

#include "status.h"

/*
 * form_decode - decode len bytes of one form component ('+' is a space, %XX
 * an escaped byte) into out, which must hold len + 1 bytes; out is
 * NUL-terminated. A truncated escape, a bad hex digit or an encoded NUL give
 * STATUS_BAD_REQUEST. Pure; thread-safe.
 */
enum status form_decode(const char *in, size_t len, char *out);

#endif
