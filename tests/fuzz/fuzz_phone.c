/*
 * fuzz_phone.c - libFuzzer harness for phone_parse: the input is a phone
 * number, optionally followed by a NUL byte and a country code. An accepted
 * number is always a geographic E.164 code plus 4..14 national digits (exactly
 * 10 in +1 and +7), at most 15 digits in all; a refused one leaves *out zeroed.
 */
#include "fuzz.h"

#include "phone.h"
#include "phone_int.h"

static void
check_ok(const struct phone_number *p)
{
	size_t cc = strlen(p->country_code), nat = strlen(p->national);

	FUZZ_ASSERT(cc >= 1 && cc <= 3 && fuzz_all_digits(p->country_code));
	FUZZ_ASSERT(p->country_code[0] != '0');
	FUZZ_ASSERT(phone_cc_assigned(p->country_code) && phone_cc_geographic(p->country_code));
	FUZZ_ASSERT(nat >= 4 && nat <= 14 && fuzz_all_digits(p->national));
	FUZZ_ASSERT(cc + nat <= PHONE_E164_MAX);
	if (strcmp(p->country_code, "1") == 0 || strcmp(p->country_code, "7") == 0)
		FUZZ_ASSERT(nat == 10);
	if (strcmp(p->country_code, "1") == 0)
		FUZZ_ASSERT(p->national[0] >= '2');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct phone_number zero;
	struct phone_number out;
	char *fields[2], *buf = NULL;
	size_t n = fuzz_split(data, size, &buf, fields, 2);
	enum status rc;

	memset(&out, 0xa5, sizeof(out));
	rc = phone_parse(fields[0], n > 1 ? fields[1] : NULL, &out);
	if (rc == STATUS_OK)
		check_ok(&out);
	else
		FUZZ_ASSERT((rc == STATUS_PHONE_MISSING || rc == STATUS_PHONE_INVALID) &&
		            memcmp(&out, &zero, sizeof(out)) == 0);
	(void)phone_cc_assigned(fields[0]);
	(void)phone_cc_geographic(fields[0]);
	free(buf);
	return 0;
}
