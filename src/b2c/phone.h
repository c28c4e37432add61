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
 * from the E.164 table (longest assigned prefix), and a "(0)" right after it
 * ("+44 (0)20 ...") is the trunk prefix and dropped. Otherwise country_code
 * (with or without '+' or "00", may be NULL or "") must be an assigned code and
 * number is national: one leading trunk '0' is dropped, except in the plans
 * whose numbers begin with 0 (39 Italy, 378, 379, 225, 229, 241, 242); in +1 a
 * leading trunk '1' and in +7 a trunk '8' are dropped before 10 digits. When
 * both are given they must agree. Non-geographic codes (800, 808, 870, 878,
 * 881, 882, 883, 888, 979, 991, 388) are refused: Authy needs a mobile number.
 * National part 4..14 digits, total at most 15; +1 and +7 exactly 10 digits,
 * and +1 area codes begin with 2-9. Returns STATUS_OK and *out,
 * STATUS_PHONE_MISSING for NULL/empty (or blank) number, STATUS_PHONE_INVALID
 * otherwise (*out is then zeroed). Thread-safe.
 */
enum status phone_parse(const char *number, const char *country_code, struct phone_number *out);

#endif
