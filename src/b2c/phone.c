/*
 * phone.c - split a phone number into an ITU-T E.164 country calling code and
 * a national number. The table lists every assigned code (ITU-T E.164 Annex to
 * the Operational Bulletin); codes are prefix-free, so trying the 1-, 2- and
 * 3-digit prefixes in turn finds the only possible match.
 */
#include "phone.h"
#include "phone_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Longest text a phone number may have before it is refused outright. */
#define PHONE_TEXT_MAX 64
#define PHONE_NATIONAL_MIN 4
#define PHONE_NATIONAL_MAX 14

/*
 * Assigned geographic codes, sorted: countries, territories and the integrated
 * plans (+1 NANP, +7 Russia/Kazakhstan). Codes not listed are spare or reserved
 * (210, 214, 28x, 384, 42 alone, 422, 671, 684, 801, 969, 999 ...); 671 (Guam)
 * and 684 (American Samoa) moved into +1. 379 is reserved for Vatican City
 * (which dials +39 06 698 in practice); 383 is Kosovo; 997 was allocated to
 * Kazakhstan in 2023 alongside +7.
 */
static const unsigned short geo_codes[] = {
    1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,  45,  46,  47,  48,
    49,  51,  52,  53,  54,  55,  56,  57,  58,  60,  61,  62,  63,  64,  65,  66,  81,  82,  84,
    86,  90,  91,  92,  93,  94,  95,  98,  211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225,
    226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244,
    245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264,
    265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358,
    359, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389,
    420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595,
    596, 597, 598, 599, 670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686,
    687, 688, 689, 690, 691, 692, 850, 852, 853, 855, 856, 880, 886, 960, 961, 962, 963, 964, 965,
    966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 992, 993, 994, 995, 996, 997, 998,
};

/*
 * Assigned non-geographic codes, sorted: shared code for groups of countries
 * (388), international freephone (800) and shared cost (808), Inmarsat (870),
 * UPT (878), global mobile satellite systems (881), international networks
 * (882, 883), OCHA (888), international premium rate (979), ITPCS (991).
 * They are assigned, so they take part in the prefix split, but no Authy user
 * has a mobile there: phone_parse refuses them.
 */
static const unsigned short nongeo_codes[] = {388, 800, 808, 870, 878, 881,
                                              882, 883, 888, 979, 991};

/*
 * Plans whose national numbers themselves begin with 0, so a leading 0 is not
 * a trunk prefix and is dialled from abroad too: Italy, San Marino, Vatican,
 * Côte d'Ivoire (2021), Benin (2024), Gabon and the Republic of the Congo.
 */
static const unsigned short keep_zero_codes[] = {39, 225, 229, 241, 242, 378, 379};

/* The scanned digits of a number as typed. */
struct digits {
	char d[PHONE_TEXT_MAX + 1];
	size_t n;
	int intl; /* written with '+' or "00" in front */
};

static int
cmp_code(const void *key, const void *elem)
{
	unsigned k = *(const unsigned *)key;
	unsigned e = *(const unsigned short *)elem;

	return k < e ? -1 : (k > e ? 1 : 0);
}

static int
in_list(unsigned v, const unsigned short *list, size_t n)
{
	return bsearch(&v, list, n, sizeof(list[0]), cmp_code) != NULL;
}

#define IN_LIST(v, list) in_list((v), (list), sizeof(list) / sizeof((list)[0]))

/* The numeric value of cc (1..3 digits, no leading zero), or 0 when malformed. */
static unsigned
cc_value(const char *cc)
{
	unsigned v = 0;
	size_t n = 0;

	if (cc == NULL || cc[0] < '1' || cc[0] > '9')
		return 0;
	for (; cc[n] != '\0'; n++) {
		if (n >= 3 || cc[n] < '0' || cc[n] > '9')
			return 0;
		v = v * 10 + (unsigned)(cc[n] - '0');
	}
	return v;
}

int
phone_cc_assigned(const char *cc)
{
	unsigned v = cc_value(cc);

	return v != 0 && (IN_LIST(v, geo_codes) || IN_LIST(v, nongeo_codes));
}

int
phone_cc_geographic(const char *cc)
{
	unsigned v = cc_value(cc);

	return v != 0 && IN_LIST(v, geo_codes);
}

static int
keeps_zero(const char *cc)
{
	unsigned v = cc_value(cc);

	for (size_t i = 0; i < sizeof(keep_zero_codes) / sizeof(keep_zero_codes[0]); i++) {
		if (keep_zero_codes[i] == v)
			return 1;
	}
	return 0;
}

/*
 * Collect the digits of s, tolerating spaces, '-', '.', '(' and ')'. A leading
 * '+' or "00" marks international form.
 */
static enum status
scan(const char *s, struct digits *dg)
{
	size_t i = 0;

	memset(dg, 0, sizeof(*dg));
	while (s[i] == ' ')
		i++;
	if (s[i] == '+') {
		dg->intl = 1;
		i++;
	}
	for (; s[i] != '\0'; i++) {
		if (dg->n >= PHONE_TEXT_MAX)
			return STATUS_PHONE_INVALID;
		if (s[i] >= '0' && s[i] <= '9') {
			dg->d[dg->n++] = s[i];
		} else if (strchr(" -.()", s[i]) == NULL) {
			return STATUS_PHONE_INVALID;
		}
	}
	if (!dg->intl && dg->n > 2 && dg->d[0] == '0' && dg->d[1] == '0') {
		dg->intl = 1;
		dg->n -= 2;
		memmove(dg->d, dg->d + 2, dg->n);
	}
	dg->d[dg->n] = '\0';
	return dg->n > 0 ? STATUS_OK : STATUS_PHONE_INVALID;
}

/* Country code of a countryCode claim: "49", "+49" or "0049", spaces around. */
static enum status
claim_cc(const char *s, char cc[4])
{
	char tmp[16];
	const char *p = tmp;

	if (util_strlcpy(tmp, s, sizeof(tmp)) >= sizeof(tmp))
		return STATUS_PHONE_INVALID;
	util_trim(tmp);
	if (*p == '+')
		p++;
	else if (strncmp(p, "00", 2) == 0)
		p += 2;
	if (!phone_cc_geographic(p))
		return STATUS_PHONE_INVALID;
	util_strlcpy(cc, p, 4);
	return STATUS_OK;
}

/* Split international digits: the codes are prefix-free, so one prefix matches. */
static enum status
split_cc(const struct digits *dg, char cc[4])
{
	for (size_t k = 1; k <= 3 && k < dg->n; k++) {
		memcpy(cc, dg->d, k);
		cc[k] = '\0';
		if (phone_cc_assigned(cc))
			return phone_cc_geographic(cc) ? STATUS_OK : STATUS_PHONE_INVALID;
	}
	return STATUS_PHONE_INVALID;
}

/*
 * Drop what no number after the country code starts with: a trunk '0'
 * (written bare or as "(0)") outside the plans that keep it, and Mexico's
 * old mobile '1' (gone since 2019) in front of a 10-digit number.
 */
static const char *
strip_lead(const char *cc, const char *nat)
{
	if (nat[0] == '0' && !keeps_zero(cc))
		return nat + 1;
	if (strcmp(cc, "52") == 0 && nat[0] == '1' && strlen(nat) == 11)
		return nat + 1;
	return nat;
}

/* Plans whose trunk prefix is not a single '0' (ITU national significant numbers). */
static const struct {
	const char *cc, *trunk;
} other_trunks[] = {{"36", "06"}, {"370", "8"}, {"375", "80"}, {"993", "8"}};

/*
 * Drop the trunk prefix of a nationally written number: '0' in most plans,
 * '1' in NANP and '8' in +7 (only in front of a full 10-digit number), the
 * prefixes of other_trunks.
 */
static const char *
strip_trunk(const char *cc, const char *nat)
{
	size_t n = strlen(nat);

	if (strcmp(cc, "1") == 0)
		return (n == 11 && nat[0] == '1') ? nat + 1 : nat;
	if (strcmp(cc, "7") == 0 && n == 11 && nat[0] == '8')
		return nat + 1;
	for (size_t i = 0; i < sizeof(other_trunks) / sizeof(other_trunks[0]); i++) {
		size_t t = strlen(other_trunks[i].trunk);
		if (strcmp(cc, other_trunks[i].cc) == 0 &&
		    strncmp(nat, other_trunks[i].trunk, t) == 0)
			return nat + t;
	}
	return strip_lead(cc, nat);
}

/* Length rules: E.164 total, and the fixed 10 digits of NANP and +7. */
static enum status
check_national(const char *cc, const char *nat)
{
	size_t n = strlen(nat);

	if (n < PHONE_NATIONAL_MIN || n > PHONE_NATIONAL_MAX || strlen(cc) + n > PHONE_E164_MAX)
		return STATUS_PHONE_INVALID;
	if (strcmp(cc, "1") == 0 && (n != 10 || nat[0] < '2'))
		return STATUS_PHONE_INVALID; /* NPA-NXX-XXXX; area codes start 2-9 */
	if (strcmp(cc, "7") == 0 && n != 10)
		return STATUS_PHONE_INVALID;
	return STATUS_OK;
}

static int
blank(const char *s)
{
	while (*s == ' ')
		s++;
	return *s == '\0';
}

enum status
phone_parse(const char *number, const char *country_code, struct phone_number *out)
{
	struct digits dg;
	char cc[4] = "";
	char given[4] = "";
	const char *nat;
	enum status rc;

	memset(out, 0, sizeof(*out));
	if (number == NULL || blank(number))
		return STATUS_PHONE_MISSING;
	if (strnlen(number, PHONE_TEXT_MAX + 1) > PHONE_TEXT_MAX)
		return STATUS_PHONE_INVALID;
	if (country_code != NULL && !blank(country_code)) {
		rc = claim_cc(country_code, given);
		if (rc != STATUS_OK)
			return rc;
	}
	rc = scan(number, &dg);
	if (rc != STATUS_OK)
		return rc;
	if (dg.intl) {
		rc = split_cc(&dg, cc);
		if (rc != STATUS_OK || (given[0] != '\0' && strcmp(cc, given) != 0))
			return STATUS_PHONE_INVALID;
		nat = strip_lead(cc, dg.d + strlen(cc));
	} else {
		if (given[0] == '\0')
			return STATUS_PHONE_INVALID; /* national form needs the country code */
		memcpy(cc, given, sizeof(cc));
		nat = strip_trunk(cc, dg.d);
	}
	rc = check_national(cc, nat);
	if (rc != STATUS_OK)
		return rc;
	util_strlcpy(out->country_code, cc, sizeof(out->country_code));
	util_strlcpy(out->national, nat, sizeof(out->national));
	return STATUS_OK;
}
