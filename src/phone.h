/*
 * phone.h - splitting phone numbers into an E.164 country calling code and a
 * national number, with a table of the assigned ITU-T calling codes.
 */
#ifndef B2CAUTHY_PHONE_H
#define B2CAUTHY_PHONE_H

#include "status.h"

#define PHONE_E164_MAX 15 /* digits, country code included */

struct phone_number {
	char country_code[4]; /* 1-3 digits, no '+' */
	char national[16];    /* digits only */
};

/*
 * phone_parse - split a phone number. Spaces, '-', '.', '(' and ')' are
 * tolerated. When number starts with '+' (or "00"), the country code is taken
 * from the E.164 table (longest assigned prefix). Otherwise country_code (with
 * or without '+', may be NULL or "") must be an assigned code and number is
 * national (one leading trunk '0' dropped, except for Italy, 39). When both
 * are given they must agree. National part 4..14 digits, total at most 15.
 * Returns STATUS_OK and *out, STATUS_PHONE_MISSING for NULL/empty number,
 * STATUS_PHONE_INVALID otherwise. Thread-safe.
 */
enum status phone_parse(const char *number, const char *country_code, struct phone_number *out);

/*
 * phone_cc_assigned - non-zero when cc (digits, no '+') is an assigned E.164
 * country calling code.
 */
int phone_cc_assigned(const char *cc);

#endif
