/*
 * clientcert.c - the responder's own check of the client certificate the web
 * server already verified (defence in depth, fail closed): verify result,
 * SHA-1 thumbprint allow-list, validity window and optional subject/issuer.
 */
#include "clientcert.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "request.h"
#include "util.h"

/* What is known of the presented certificate, from the PEM or the params. */
struct presented {
	char thumb[CONFIG_THUMBPRINT_LEN + 1];
	bool have_cert; /* parsed from SSL_CLIENT_CERT */
	struct crypto_cert cert;
};

static enum status deny(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status
deny(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return STATUS_FORBIDDEN;
}

/* A param, with an empty value treated as absent (nginx sends "" when unset). */
static const char *
param(const struct request *req, const char *name)
{
	const char *v = request_param(req, name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

static int
month_index(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++) {
		if (strncmp(s, months + 3 * i, 3) == 0)
			return i;
	}
	return -1;
}

/* Read exactly n digits at *p into *out and advance; false otherwise. */
static bool
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * Parse the OpenSSL/nginx/Apache validity form "Nov 23 16:00:00 2027 GMT"
 * (day space-padded: "Nov  3 ..."). Strict: anything else, or an impossible
 * date such as Feb 30, is refused.
 */
static bool
parse_cert_time(const char *s, time_t *out)
{
	struct tm tm, check;
	const char *p = s;
	int mon, day, hh, mi, ss, year, ndig = 2;
	time_t t;

	if (strlen(s) != 24 || (mon = month_index(s)) < 0 || s[3] != ' ')
		return false;
	p = s + 4;
	if (*p == ' ') {
		p++;
		ndig = 1;
	}
	if (!digits(&p, ndig, &day))
		return false;
	if (*p++ != ' ' || !digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mi) ||
	    *p++ != ':' || !digits(&p, 2, &ss) || *p++ != ' ' || !digits(&p, 4, &year) ||
	    strcmp(p, " GMT") != 0)
		return false;
	if (day < 1 || hh > 23 || mi > 59 || ss > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1 || gmtime_r(&t, &check) == NULL || check.tm_mday != day ||
	    check.tm_mon != mon)
		return false;
	*out = t;
	return true;
}

/*
 * Establish the thumbprint: from the PEM when present (Apache has no
 * fingerprint variable), else from SSL_CLIENT_FINGERPRINT; both must agree.
 */
static enum status
find_thumbprint(const struct request *req, struct presented *pc, char *err, size_t errlen)
{
	const char *pem = param(req, CLIENTCERT_P_CERT);
	const char *fp = param(req, CLIENTCERT_P_FINGERPRINT);
	char fpn[CONFIG_THUMBPRINT_LEN + 1];

	if (pem != NULL) {
		if (crypto_cert_parse(pem, &pc->cert) != STATUS_OK)
			return deny(err, errlen, "client certificate not parsable");
		pc->have_cert = true;
		util_strlcpy(pc->thumb, pc->cert.sha1_hex, sizeof(pc->thumb));
	}
	if (fp != NULL) {
		if (config_normalize_thumbprint(fp, fpn, sizeof(fpn)) != STATUS_OK)
			return deny(err, errlen, "client certificate fingerprint malformed");
		if (pc->have_cert && !util_ct_equal(fpn, pc->thumb, CONFIG_THUMBPRINT_LEN))
			return deny(err, errlen,
			            "client certificate %s does not match fingerprint %s",
			            pc->thumb, fpn);
		util_strlcpy(pc->thumb, fpn, sizeof(pc->thumb));
	}
	if (pem == NULL && fp == NULL)
		return deny(err, errlen, "no client certificate or fingerprint");
	return STATUS_OK;
}

/*
 * Constant time over every allowed entry: no early exit reveals which one
 * matched. Entries are lower-cased first (config stores them normalized, but
 * a hand-built config may not).
 */
static bool
thumb_allowed(const struct config *cfg, const char *thumb)
{
	char entry[CONFIG_THUMBPRINT_LEN];
	bool ok = false;

	for (int i = 0; i < cfg->n_thumbprints && i < CONFIG_MAX_THUMBPRINTS; i++) {
		for (size_t j = 0; j < CONFIG_THUMBPRINT_LEN; j++)
			entry[j] = (char)tolower((unsigned char)cfg->thumbprints[i][j]);
		ok |= util_ct_equal(thumb, entry, CONFIG_THUMBPRINT_LEN);
	}
	return ok;
}

/*
 * Validity from the certificate, else from SSL_CLIENT_V_START/V_END. A bare
 * fingerprint says nothing of expiry: without both dates it is refused unless
 * cfg->cert_allow_no_dates.
 */
static enum status
check_validity(const struct request *req, const struct config *cfg, const struct presented *pc,
               time_t now, char *err, size_t errlen)
{
	time_t nb = 0, na = 0;
	bool have_nb = false, have_na = false;

	if (pc->have_cert) {
		nb = pc->cert.not_before;
		na = pc->cert.not_after;
		have_nb = have_na = true;
	} else {
		const char *vs = param(req, CLIENTCERT_P_V_START);
		const char *ve = param(req, CLIENTCERT_P_V_END);

		if ((vs == NULL || ve == NULL) && !cfg->cert_allow_no_dates)
			return deny(err, errlen,
			            "client certificate %s: fingerprint without the certificate "
			            "or both %s and %s (client_cert_allow_no_dates is false)",
			            pc->thumb, CLIENTCERT_P_V_START, CLIENTCERT_P_V_END);
		if (vs != NULL && !(have_nb = parse_cert_time(vs, &nb)))
			return deny(err, errlen, "client certificate start date unparsable");
		if (ve != NULL && !(have_na = parse_cert_time(ve, &na)))
			return deny(err, errlen, "client certificate end date unparsable");
	}
	if (have_nb && now < nb)
		return deny(err, errlen, "client certificate %s not yet valid", pc->thumb);
	if (have_na && now > na)
		return deny(err, errlen, "client certificate %s expired", pc->thumb);
	return STATUS_OK;
}

/* The subject or issuer DN as known from the certificate or the params; NULL = unknown. */
static const char *
known_name(const struct request *req, const struct presented *pc, bool issuer)
{
	if (!pc->have_cert)
		return param(req, issuer ? CLIENTCERT_P_I_DN : CLIENTCERT_P_S_DN);
	/* A DN too long to hold whole is unknown, never compared by a prefix. */
	if (issuer)
		return pc->cert.issuer_too_long ? NULL : pc->cert.issuer;
	return pc->cert.subject_too_long ? NULL : pc->cert.subject;
}

/* The configured name, when there is one, must equal the known one; unknown fails. */
static enum status
check_name(const char *want, const char *have, const char *what, const struct presented *pc,
           char *err, size_t errlen)
{
	if (want == NULL || *want == '\0')
		return STATUS_OK;
	if (have == NULL)
		return deny(err, errlen, "client certificate %s %s mismatch (%s unknown)",
		            pc->thumb, what, what);
	if (strcmp(have, want) != 0)
		return deny(err, errlen, "client certificate %s %s mismatch", pc->thumb, what);
	return STATUS_OK;
}

static enum status
check_names(const struct request *req, const struct config *cfg, const struct presented *pc,
            char *err, size_t errlen)
{
	enum status rc;

	rc = check_name(cfg->cert_subject, known_name(req, pc, false), "subject", pc, err, errlen);
	if (rc != STATUS_OK)
		return rc;
	return check_name(cfg->cert_issuer, known_name(req, pc, true), "issuer", pc, err, errlen);
}

enum status
clientcert_check(const struct request *req, const struct config *cfg, time_t now, char *err,
                 size_t errlen)
{
	struct presented pc;
	const char *verify;
	char safe[48];
	enum status rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL)
		return deny(err, errlen, "no configuration");
	if (!cfg->client_cert_check)
		return STATUS_OK;
	memset(&pc, 0, sizeof(pc));
	verify = request_param(req, CLIENTCERT_P_VERIFY);
	if (verify == NULL || *verify == '\0')
		return deny(err, errlen, "client certificate not verified (%s missing)",
		            CLIENTCERT_P_VERIFY);
	if (strcmp(verify, CLIENTCERT_VERIFY_OK) != 0)
		return deny(err, errlen, "client certificate not verified (%s=%s)",
		            CLIENTCERT_P_VERIFY, util_sanitize(verify, safe, sizeof(safe)));
	rc = find_thumbprint(req, &pc, err, errlen);
	if (rc != STATUS_OK)
		return rc;
	if (!thumb_allowed(cfg, pc.thumb))
		return deny(err, errlen, "thumbprint %s not allowed", pc.thumb);
	rc = check_validity(req, cfg, &pc, now, err, errlen);
	if (rc != STATUS_OK)
		return rc;
	return check_names(req, cfg, &pc, err, errlen);
}
