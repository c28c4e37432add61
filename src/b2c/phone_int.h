/*
 * phone_int.h - the E.164 table lookups of phone.c that its unit test checks
 * on their own.
 */
#ifndef B2CAUTHY_PHONE_INT_H
#define B2CAUTHY_PHONE_INT_H

#include "phone.h"

/*
 * phone_cc_assigned - non-zero when cc (1-3 digits, no '+', no leading zero) is
 * an assigned E.164 country calling code, geographic or not. Thread-safe.
 */
int phone_cc_assigned(const char *cc);

/*
 * phone_cc_geographic - non-zero when cc is an assigned code of a country,
 * territory or integrated plan (the codes phone_parse accepts). Thread-safe.
 */
int phone_cc_geographic(const char *cc);

#endif
