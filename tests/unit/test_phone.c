/*
 * test_phone.c - unit tests of phone.c: splitting numbers of many countries
 * into E.164 country code and national number, the countryCode claim, and the
 * table of assigned codes (prefix-free, spare codes refused).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "phone.h"
#include "phone_int.h"

struct case_ {
	const char *number;
	const char *cc; /* countryCode claim, may be NULL */
	enum status want;
	const char *want_cc;
	const char *want_nat;
};

#define OK(n, c, wcc, wnat)                                                                        \
	{                                                                                          \
		n, c, STATUS_OK, wcc, wnat                                                         \
	}
#define BAD(n, c)                                                                                  \
	{                                                                                          \
		n, c, STATUS_PHONE_INVALID, "", ""                                                 \
	}

static const struct case_ intl_cases[] = {
    /* NANP, including a Caribbean member (+1-868 Trinidad and Tobago) */
    OK("+1 (415) 555-2671", NULL, "1", "4155552671"),
    OK("+14155552671", NULL, "1", "4155552671"),
    OK("+1 555 123 4567", NULL, "1", "5551234567"),
    OK("+1-868-555-1234", NULL, "1", "8685551234"),
    OK("+1 242 357 1234", NULL, "1", "2423571234"),
    OK("+1 671 555 0100", NULL, "1", "6715550100"), /* Guam, now inside NANP */
    OK("+1.416.555.0199", NULL, "1", "4165550199"),
    /* United Kingdom, with and without the "(0)" trunk marker */
    OK("+44 7700 900123", NULL, "44", "7700900123"),
    OK("+44 (0)20 7946 0958", NULL, "44", "2079460958"),
    OK("+44(0)7700 900123", NULL, "44", "7700900123"),
    OK("+44.20.7946.0958", NULL, "44", "2079460958"),
    OK("0044 7700 900123", NULL, "44", "7700900123"),
    OK("00447700900123", NULL, "44", "7700900123"),
    OK("0044 (0)7700 900123", NULL, "44", "7700900123"),
    /* a bare trunk 0 after the country code: the same number, not another user */
    OK("+44 020 7946 0018", NULL, "44", "2079460018"),
    OK("+44 (0)20 7946 0018", NULL, "44", "2079460018"),
    OK("+49 0151 12345678", NULL, "49", "15112345678"),
    OK("+33 0 6 12 34 56 78", NULL, "33", "612345678"),
    OK("+(44) 7700 900123", NULL, "44", "7700900123"),
    OK("  +44 7700 900123  ", NULL, "44", "7700900123"),
    OK("+ 44 7700 900123", NULL, "44", "7700900123"),
    /* Germany */
    OK("+49 151 12345678", NULL, "49", "15112345678"),
    OK("+49 (0)30 901820", NULL, "49", "30901820"),
    OK("+49-30-901820", NULL, "49", "30901820"),
    /* Russia and Kazakhstan share +7 */
    OK("+7 912 345-67-89", NULL, "7", "9123456789"),
    OK("+7 (727) 250-12-34", NULL, "7", "7272501234"),
    /* Asia */
    OK("+86 138 0013 8000", NULL, "86", "13800138000"),
    OK("+91 98765 43210", NULL, "91", "9876543210"),
    OK("+81 90-1234-5678", NULL, "81", "9012345678"),
    OK("+82 10-1234-5678", NULL, "82", "1012345678"),
    OK("+852 6123 4567", NULL, "852", "61234567"),
    OK("+853 6612 3456", NULL, "853", "66123456"),
    OK("+886 912 345 678", NULL, "886", "912345678"),
    OK("+880 1712 345678", NULL, "880", "1712345678"),
    OK("+84 91 234 56 78", NULL, "84", "912345678"),
    OK("+65 8123 4567", NULL, "65", "81234567"),
    OK("+971 50 123 4567", NULL, "971", "501234567"),
    OK("+972 52-123-4567", NULL, "972", "521234567"),
    OK("+966 50 123 4567", NULL, "966", "501234567"),
    OK("+998 90 123 45 67", NULL, "998", "901234567"),
    OK("+995 555 12 34 56", NULL, "995", "555123456"),
    OK("+90 532 123 45 67", NULL, "90", "5321234567"),
    /* Europe */
    OK("+33 6 12 34 56 78", NULL, "33", "612345678"),
    OK("+34 612 34 56 78", NULL, "34", "612345678"),
    OK("+39 06 6982 1234", NULL, "39", "0669821234"), /* Italy keeps its 0 */
    OK("+39 (0)6 6982 1234", NULL, "39", "0669821234"),
    OK("+39 347 123 4567", NULL, "39", "3471234567"),
    OK("+354 611 1234", NULL, "354", "6111234"),
    OK("+353 85 123 4567", NULL, "353", "851234567"),
    OK("+358 40 1234567", NULL, "358", "401234567"),
    OK("+380 50 123 4567", NULL, "380", "501234567"),
    OK("+383 44 123 456", NULL, "383", "44123456"),
    OK("+420 601 123 456", NULL, "420", "601123456"),
    OK("+421 912 123 456", NULL, "421", "912123456"),
    OK("+423 660 1234", NULL, "423", "6601234"),
    OK("+36 20 123 4567", NULL, "36", "201234567"),
    OK("+298 211234", NULL, "298", "211234"),
    OK("+299 55 12 34", NULL, "299", "551234"),
    /* Africa */
    OK("+27 82 123 4567", NULL, "27", "821234567"),
    OK("+20 10 1234 5678", NULL, "20", "1012345678"),
    OK("+234 803 123 4567", NULL, "234", "8031234567"),
    OK("+254 712 345678", NULL, "254", "712345678"),
    OK("+211 912 345 678", NULL, "211", "912345678"),
    OK("+225 07 12 34 56 78", NULL, "225", "0712345678"),
    OK("+212 6 12 34 56 78", NULL, "212", "612345678"),
    /* Americas and Oceania */
    OK("+55 11 91234-5678", NULL, "55", "11912345678"),
    OK("+52 1 55 1234 5678", NULL, "52", "5512345678"), /* Mexico's old mobile 1 */
    OK("+52 55 1234 5678", NULL, "52", "5512345678"),
    OK("+54 9 11 1234-5678", NULL, "54", "91112345678"),
    OK("+509 34 12 3456", NULL, "509", "34123456"),
    OK("+599 9 123 4567", NULL, "599", "91234567"),
    OK("+500 51234", NULL, "500", "51234"),
    OK("+61 412 345 678", NULL, "61", "412345678"),
    OK("+64 21 123 4567", NULL, "64", "211234567"),
    OK("+679 701 2345", NULL, "679", "7012345"),
    OK("+690 7010", NULL, "690", "7010"),
    OK("+683 4002", NULL, "683", "4002"),
    /* international form plus an agreeing countryCode claim */
    OK("+44 7700 900123", "44", "44", "7700900123"),
    OK("+44 7700 900123", "+44", "44", "7700900123"),
    OK("0044 7700 900123", "+44", "44", "7700900123"),
    OK("+1 868 555 1234", "1", "1", "8685551234"),
    /* length bounds: 4..14 national digits, 15 in all */
    OK("+354 1234", NULL, "354", "1234"),
    OK("+49 1234 5678 9012 3", NULL, "49", "1234567890123"),
    OK("+49 1234 5678 9012", NULL, "49", "123456789012"),
};

static const struct case_ national_cases[] = {
    OK("07700 900123", "44", "44", "7700900123"),
    OK("07700 900123", "+44", "44", "7700900123"),
    OK("07700 900123", " +44 ", "44", "7700900123"),
    OK("07700 900123", "0044", "44", "7700900123"),
    OK("7700 900123", "44", "44", "7700900123"),
    OK("(0)20 7946 0958", "44", "44", "2079460958"),
    OK("030 901820", "49", "49", "30901820"),
    OK("0151 12345678", "49", "49", "15112345678"),
    OK("06 6982 1234", "39", "39", "0669821234"),
    /* trunk prefixes other than 0 */
    OK("06 20 123 4567", "36", "36", "201234567"),
    OK("20 123 4567", "36", "36", "201234567"),
    OK("8 029 123 45 67", "375", "375", "291234567"),
    OK("029 123 45 67", "375", "375", "291234567"),
    OK("8 612 34567", "370", "370", "61234567"),
    OK("8 12 345678", "993", "993", "12345678"),
    OK("1 55 1234 5678", "52", "52", "5512345678"),
    OK("0549 882 555", "378", "378", "0549882555"),
    OK("07 12 34 56 78", "225", "225", "0712345678"),
    OK("(415) 555-2671", "1", "1", "4155552671"),
    OK("1 415 555 2671", "+1", "1", "4155552671"),
    OK("868-555-1234", "1", "1", "8685551234"),
    OK("8 912 345 67 89", "7", "7", "9123456789"),
    OK("912 345 67 89", "7", "7", "9123456789"),
    OK("06 12 34 56 78", "33", "33", "612345678"),
    OK("0412 345 678", "61", "61", "412345678"),
    OK("138 0013 8000", "86", "86", "13800138000"),
    OK("611 1234", "354", "354", "6111234"),
    OK("090-1234-5678", "81", "81", "9012345678"),
};

static const struct case_ bad_cases[] = {
    /* missing */
    {"", NULL, STATUS_PHONE_MISSING, "", ""},
    {"   ", "44", STATUS_PHONE_MISSING, "", ""},
    {NULL, "44", STATUS_PHONE_MISSING, "", ""},
    /* conflicts between the number and the countryCode claim */
    BAD("+44 7700 900123", "49"),
    BAD("+44 7700 900123", "+1"),
    BAD("0044 7700 900123", "1"),
    BAD("+1 868 555 1234", "868"),
    /* national form without a usable country code */
    BAD("7700 900123", NULL),
    BAD("07700 900123", ""),
    BAD("4915112345678", NULL),
    BAD("07700 900123", "999"),
    BAD("07700 900123", "28"),
    BAD("07700 900123", "4a"),
    BAD("07700 900123", "1234"),
    BAD("07700 900123", "+"),
    BAD("07700 900123", "044"),
    BAD("07700 900123", "++44"),
    BAD("07700 900123", "UK"),
    BAD("07700 900123", "800"),
    /* unassigned and spare codes */
    BAD("+28 1234 5678", NULL),
    BAD("+280 1234 5678", NULL),
    BAD("+42 9 123 4567", NULL),
    BAD("+422 123 4567", NULL),
    BAD("+801 234 5678", NULL),
    BAD("+210 123 4567", NULL),
    BAD("+259 123 4567", NULL),
    BAD("+384 123 4567", NULL),
    BAD("+671 555 0100", NULL),
    BAD("+684 633 1234", NULL),
    BAD("+693 123 4567", NULL),
    BAD("+851 123 4567", NULL),
    BAD("+969 123 4567", NULL),
    BAD("+999 123 4567", NULL),
    BAD("+0 123 4567", NULL),
    BAD("+0044 7700 900123", NULL),
    BAD("000 44 7700 900123", NULL),
    /* non-geographic codes: no mobile for Authy */
    BAD("+800 1234 5678", NULL),
    BAD("+808 1234 5678", NULL),
    BAD("+870 773 112 345", NULL),
    BAD("+881 6 1234 5678", NULL),
    BAD("+882 16 1234 5678", NULL),
    BAD("+883 5100 1234 5678", NULL),
    BAD("+888 1234 5678", NULL),
    BAD("+979 1234 5678", NULL),
    BAD("+388 3 1234 5678", NULL),
    /* too short and too long */
    BAD("+44 123", NULL),
    BAD("+354 123", NULL),
    BAD("+1 415 555 267", NULL),
    BAD("+1 415 555 26711", NULL),
    BAD("+1 155 555 1234", NULL),
    BAD("+1 055 555 1234", NULL),
    BAD("+7 912 345 67 8", NULL),
    BAD("+7 912 345 67 890", NULL),
    BAD("+49 1234 5678 9012 34", NULL),
    BAD("+354 1234 5678 9012 3", NULL),
    BAD("+44", NULL),
    BAD("+", NULL),
    BAD("00", NULL),
    BAD("0044", NULL),
    BAD("123", "44"),
    BAD("+44 1234567890123456789012345678901234567890123456789012345678901", NULL),
    /* letters and other characters */
    BAD("+44 7700 9OO123", NULL),
    BAD("+1-800-FLOWERS", NULL),
    BAD("+44 7700 900123 ext 5", NULL),
    BAD("+44 7700 900123x5", NULL),
    BAD("+44/7700/900123", NULL),
    BAD("+44\t7700 900123", NULL),
    BAD("++44 7700 900123", NULL),
    BAD("44+7700900123", NULL),
    BAD("+44 7700 900123+", NULL),
    BAD("+44_7700_900123", NULL),
    BAD("+44 7700 900123\n", NULL),
    BAD("\xef\xbc\x8b\x34\x34 7700 900123", NULL),
    BAD("+44 7700 90012\xd9\xa3", NULL),
    BAD("--", "44"),
    BAD("()", "44"),
};

static void
run_cases(const struct case_ *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct case_ *c = &cases[i];
		struct phone_number p;
		enum status rc;

		memset(&p, 'x', sizeof(p));
		rc = phone_parse(c->number, c->cc, &p);
		if (rc != c->want || (rc == STATUS_OK && (strcmp(p.country_code, c->want_cc) != 0 ||
		                                          strcmp(p.national, c->want_nat) != 0)))
			fprintf(stderr, "  case \"%s\" cc \"%s\": rc %d +%.4s %.16s\n",
			        c->number ? c->number : "(null)", c->cc ? c->cc : "(null)", rc,
			        p.country_code, p.national);
		CHECK_INT(rc, c->want);
		if (c->want == STATUS_OK) {
			CHECK_STR(p.country_code, c->want_cc);
			CHECK_STR(p.national, c->want_nat);
		} else {
			/* on failure the output is zeroed, never half-filled */
			CHECK_STR(p.country_code, "");
			CHECK_STR(p.national, "");
		}
	}
}

static void
test_international(void)
{
	run_cases(intl_cases, sizeof(intl_cases) / sizeof(intl_cases[0]));
}

static void
test_national(void)
{
	run_cases(national_cases, sizeof(national_cases) / sizeof(national_cases[0]));
}

static void
test_invalid(void)
{
	run_cases(bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

struct cc_case {
	const char *cc;
	int assigned;
	int geographic;
};

static const struct cc_case cc_cases[] = {
    {"1", 1, 1},    {"7", 1, 1},   {"20", 1, 1},  {"27", 1, 1},  {"30", 1, 1},  {"34", 1, 1},
    {"36", 1, 1},   {"39", 1, 1},  {"40", 1, 1},  {"41", 1, 1},  {"43", 1, 1},  {"49", 1, 1},
    {"51", 1, 1},   {"58", 1, 1},  {"60", 1, 1},  {"66", 1, 1},  {"81", 1, 1},  {"82", 1, 1},
    {"84", 1, 1},   {"86", 1, 1},  {"90", 1, 1},  {"95", 1, 1},  {"98", 1, 1},  {"211", 1, 1},
    {"212", 1, 1},  {"213", 1, 1}, {"216", 1, 1}, {"218", 1, 1}, {"220", 1, 1}, {"258", 1, 1},
    {"260", 1, 1},  {"269", 1, 1}, {"290", 1, 1}, {"291", 1, 1}, {"297", 1, 1}, {"299", 1, 1},
    {"350", 1, 1},  {"359", 1, 1}, {"370", 1, 1}, {"383", 1, 1}, {"389", 1, 1}, {"420", 1, 1},
    {"421", 1, 1},  {"423", 1, 1}, {"500", 1, 1}, {"509", 1, 1}, {"590", 1, 1}, {"599", 1, 1},
    {"670", 1, 1},  {"672", 1, 1}, {"692", 1, 1}, {"850", 1, 1}, {"852", 1, 1}, {"853", 1, 1},
    {"855", 1, 1},  {"856", 1, 1}, {"880", 1, 1}, {"886", 1, 1}, {"960", 1, 1}, {"968", 1, 1},
    {"970", 1, 1},  {"977", 1, 1}, {"992", 1, 1}, {"998", 1, 1}, {"800", 1, 0}, {"808", 1, 0},
    {"870", 1, 0},  {"878", 1, 0}, {"881", 1, 0}, {"882", 1, 0}, {"883", 1, 0}, {"888", 1, 0},
    {"979", 1, 0},  {"991", 1, 0}, {"388", 1, 0}, {"2", 0, 0},   {"21", 0, 0},  {"28", 0, 0},
    {"280", 0, 0},  {"289", 0, 0}, {"42", 0, 0},  {"422", 0, 0}, {"424", 0, 0}, {"429", 0, 0},
    {"801", 0, 0},  {"807", 0, 0}, {"809", 0, 0}, {"83", 0, 0},  {"835", 0, 0}, {"851", 0, 0},
    {"854", 0, 0},  {"871", 0, 0}, {"884", 0, 0}, {"887", 0, 0}, {"89", 0, 0},  {"893", 0, 0},
    {"210", 0, 0},  {"214", 0, 0}, {"259", 0, 0}, {"292", 0, 0}, {"384", 0, 0}, {"671", 0, 0},
    {"684", 0, 0},  {"693", 0, 0}, {"699", 0, 0}, {"969", 0, 0}, {"978", 0, 0}, {"990", 0, 0},
    {"999", 0, 0},  {"0", 0, 0},   {"01", 0, 0},  {"044", 0, 0}, {"+1", 0, 0},  {"1 ", 0, 0},
    {"4912", 0, 0}, {"", 0, 0},    {"a", 0, 0},   {"4a", 0, 0},
};

static void
test_cc_table(void)
{
	for (size_t i = 0; i < sizeof(cc_cases) / sizeof(cc_cases[0]); i++) {
		const struct cc_case *c = &cc_cases[i];

		if (!phone_cc_assigned(c->cc) != !c->assigned ||
		    !phone_cc_geographic(c->cc) != !c->geographic)
			fprintf(stderr, "  code \"%s\"\n", c->cc);
		CHECK_INT(!!phone_cc_assigned(c->cc), c->assigned);
		CHECK_INT(!!phone_cc_geographic(c->cc), c->geographic);
	}
	CHECK_INT(phone_cc_assigned(NULL), 0);
	CHECK_INT(phone_cc_geographic(NULL), 0);
}

/*
 * E.164 codes are prefix-free: no assigned code is a proper prefix of another.
 * This is what makes the 1-2-3 digit split unambiguous. Also count the table.
 */
static void
test_prefix_free(void)
{
	int assigned = 0, geo = 0;

	for (int v = 1; v <= 999; v++) {
		char cc[16], pre[16];

		snprintf(cc, sizeof(cc), "%d", v);
		if (!phone_cc_assigned(cc))
			continue;
		assigned++;
		geo += phone_cc_geographic(cc) ? 1 : 0;
		for (size_t k = 1; k < strlen(cc); k++) {
			memcpy(pre, cc, k);
			pre[k] = '\0';
			if (phone_cc_assigned(pre))
				fprintf(stderr, "  %s is a prefix of %s\n", pre, cc);
			CHECK(!phone_cc_assigned(pre));
		}
	}
	/* 208 country, territory and plan codes, and 11 non-geographic ones */
	CHECK_INT(geo, 208);
	CHECK_INT(assigned - geo, 11);
}

/* Every geographic code yields a valid number with a plausible national part. */
static void
test_every_code(void)
{
	for (int v = 1; v <= 999; v++) {
		char cc[16], num[32];
		struct phone_number p;

		snprintf(cc, sizeof(cc), "%d", v);
		if (!phone_cc_geographic(cc))
			continue;
		snprintf(num, sizeof(num), "+%s 212 555 0123", cc);
		CHECK_INT(phone_parse(num, NULL, &p), STATUS_OK);
		CHECK_STR(p.country_code, cc);
		CHECK_STR(p.national, "2125550123");
		CHECK_INT(phone_parse("212 555 0123", cc, &p), STATUS_OK);
		CHECK_STR(p.national, "2125550123");
	}
}

int
main(void)
{
	RUN(test_international);
	RUN(test_national);
	RUN(test_invalid);
	RUN(test_cc_table);
	RUN(test_prefix_free);
	RUN(test_every_code);
	HARNESS_END();
}
