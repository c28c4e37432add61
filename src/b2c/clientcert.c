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

/* One check in progress: what it reads and what it learns of the certificate. */
struct check {
	const struct request *req;
	const struct config *cfg;
	time_t now;
	struct presented pc;
	char *err; /* the reason of a refusal, errlen bytes; may be NULL */
	size_t errlen;
};

static enum status deny(const struct check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum status
deny(const struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL && c->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
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
find_thumbprint(struct check *c)
{
	const char *pem = param(c->req, CLIENTCERT_P_CERT);
	const char *fp = param(c->req, CLIENTCERT_P_FINGERPRINT);
	struct presented *pc = &c->pc;
	char fpn[CONFIG_THUMBPRINT_LEN + 1];

	if (pem != NULL) {
		if (crypto_cert_parse(pem, &pc->cert) != STATUS_OK)
			return deny(c, "client certificate not parsable");
		pc->have_cert = true;
		util_strlcpy(pc->thumb, pc->cert.sha1_hex, sizeof(pc->thumb));
	}
	if (fp != NULL) {
		if (config_normalize_thumbprint(fp, fpn, sizeof(fpn)) != STATUS_OK)
			return deny(c, "client certificate fingerprint malformed");
		if (pc->have_cert && !util_ct_equal(fpn, pc->thumb, CONFIG_THUMBPRINT_LEN))
			return deny(c, "client certificate %s does not match fingerprint %s",
			            pc->thumb, fpn);
		util_strlcpy(pc->thumb, fpn, sizeof(pc->thumb));
	}
	if (pem == NULL && fp == NULL)
		return deny(c, "no client certificate or fingerprint");
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
check_validity(const struct check *c)
{
	const struct presented *pc = &c->pc;
	time_t nb = 0, na = 0;
	bool have_nb = false, have_na = false;

	if (pc->have_cert) {
		nb = pc->cert.not_before;
		na = pc->cert.not_after;
		have_nb = have_na = true;
	} else {
		const char *vs = param(c->req, CLIENTCERT_P_V_START);
		const char *ve = param(c->req, CLIENTCERT_P_V_END);

		if ((vs == NULL || ve == NULL) && !c->cfg->cert_allow_no_dates)
			return deny(c,
			            "client certificate %s: fingerprint without the certificate "
			            "or both %s and %s (client_cert_allow_no_dates is false)",
			            pc->thumb, CLIENTCERT_P_V_START, CLIENTCERT_P_V_END);
		if (vs != NULL && !(have_nb = parse_cert_time(vs, &nb)))
			return deny(c, "client certificate start date unparsable");
		if (ve != NULL && !(have_na = parse_cert_time(ve, &na)))
			return deny(c, "client certificate end date unparsable");
	}
	if (have_nb && c->now < nb)
		return deny(c, "client certificate %s not yet valid", pc->thumb);
	if (have_na && c->now > na)
		return deny(c, "client certificate %s expired", pc->thumb);
	return STATUS_OK;
}

/* The subject or issuer DN as known from the certificate or the params; NULL = unknown. */
static const char *
known_name(const struct check *c, bool issuer)
{
	const struct presented *pc = &c->pc;

	if (!pc->have_cert)
		return param(c->req, issuer ? CLIENTCERT_P_I_DN : CLIENTCERT_P_S_DN);
	/* A DN too long to hold whole is unknown, never compared by a prefix. */
	if (issuer)
		return pc->cert.issuer_too_long ? NULL : pc->cert.issuer;
	return pc->cert.subject_too_long ? NULL : pc->cert.subject;
}

/* The configured name, when there is one, must equal the known one; unknown fails. */
static enum status
check_name(const struct check *c, const char *want, const char *have, const char *what)
{
	if (want == NULL || *want == '\0')
		return STATUS_OK;
	if (have == NULL)
		return deny(c, "client certificate %s %s mismatch (%s unknown)", c->pc.thumb, what,
		            what);
	if (strcmp(have, want) != 0)
		return deny(c, "client certificate %s %s mismatch", c->pc.thumb, what);
	return STATUS_OK;
}

static enum status
check_names(const struct check *c)
{
	enum status rc;

	rc = check_name(c, c->cfg->cert_subject, known_name(c, false), "subject");
	if (rc != STATUS_OK)
		return rc;
	return check_name(c, c->cfg->cert_issuer, known_name(c, true), "issuer");
}

enum status
clientcert_check(const struct request *req, const struct config *cfg, time_t now, char *err,
                 size_t errlen)
{
	struct check c = {.req = req, .cfg = cfg, .now = now, .err = err, .errlen = errlen};
	const char *verify;
	char safe[48];
	enum status rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL)
		return deny(&c, "no configuration");
	if (!cfg->client_cert_check)
		return STATUS_OK;
	verify = request_param(req, CLIENTCERT_P_VERIFY);
	if (verify == NULL || *verify == '\0')
		return deny(&c, "client certificate not verified (%s missing)",
		            CLIENTCERT_P_VERIFY);
	if (strcmp(verify, CLIENTCERT_VERIFY_OK) != 0)
		return deny(&c, "client certificate not verified (%s=%s)", CLIENTCERT_P_VERIFY,
		            util_sanitize(verify, safe, sizeof(safe)));
	rc = find_thumbprint(&c);
	if (rc != STATUS_OK)
		return rc;
	if (!thumb_allowed(cfg, c.pc.thumb))
		return deny(&c, "thumbprint %s not allowed", c.pc.thumb);
	rc = check_validity(&c);
	if (rc != STATUS_OK)
		return rc;
	return check_names(&c);
}
