/*
 * test_clientcert.c - unit tests of clientcert.c against certificates made
 * here: every rule of clientcert_check (verify, thumbprint source and
 * allow-list, validity, subject/issuer) and thumbprint normalization.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certgen.h"
#include "clientcert.h"
#include "config.h"
#include "crypto.h"
#include "harness.h"
#include "request.h"

#define DAY 86400

static EVP_PKEY *ca_key, *key;
static X509 *ca, *good, *expired, *future, *other;
static char *good_pem, *expired_pem, *future_pem, *other_pem;
static char good_fp[41], expired_fp[41], future_fp[41], other_fp[41];
static time_t now;

static const char good_subject[] = "CN=b2c-client,O=Contoso";
static const char ca_subject[] = "CN=Contoso Test CA,O=Contoso Test";

/* A request made of up to 15 "NAME=value" params (copied). */
struct env {
	char *v[16];
	int n;
	struct request req;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;

	if (e->n >= 15)
		return;
	e->v[e->n] = malloc(len);
	snprintf(e->v[e->n], len, "%s=%s", name, value);
	e->n++;
	e->v[e->n] = NULL;
	e->req.env = e->v;
}

/* Validity dates around the real "now", as nginx passes them with a fingerprint. */
static void
env_add_dates(struct env *e)
{
	env_add(e, "SSL_CLIENT_V_START", "Jan  1 00:00:00 2020 GMT");
	env_add(e, "SSL_CLIENT_V_END", "Nov 23 16:00:00 2099 GMT");
}

static void
env_free(struct env *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i]);
	memset(e, 0, sizeof(*e));
}

static int
make_certs(void)
{
	EVP_PKEY *k2;

	now = time(NULL);
	ca_key = certgen_key(0);
	key = certgen_key(2048);
	k2 = certgen_key(0);
	if (ca_key == NULL || key == NULL || k2 == NULL)
		return -1;
	ca = certgen_cert(ca_key, "Contoso Test", "Contoso Test CA", now - DAY, now + 365 * DAY,
	                  NULL, NULL);
	good = certgen_cert(key, "Contoso", "b2c-client", now - DAY, now + 30 * DAY, ca, ca_key);
	expired = certgen_cert(key, "Contoso", "b2c-client", now - 60 * DAY, now - DAY, ca, ca_key);
	future = certgen_cert(key, "Contoso", "b2c-client", now + DAY, now + 60 * DAY, ca, ca_key);
	/* Same key, other subject, self-signed: a different thumbprint and issuer. */
	other = certgen_cert(k2, "Fabrikam", "intruder", now - DAY, now + 30 * DAY, NULL, NULL);
	EVP_PKEY_free(k2);
	if (!ca || !good || !expired || !future || !other)
		return -1;
	good_pem = certgen_pem(good);
	expired_pem = certgen_pem(expired);
	future_pem = certgen_pem(future);
	other_pem = certgen_pem(other);
	certgen_sha1_hex(good, good_fp);
	certgen_sha1_hex(expired, expired_fp);
	certgen_sha1_hex(future, future_fp);
	certgen_sha1_hex(other, other_fp);
	return good_pem && expired_pem && future_pem && other_pem ? 0 : -1;
}

static void
free_certs(void)
{
	free(good_pem);
	free(expired_pem);
	free(future_pem);
	free(other_pem);
	X509_free(ca);
	X509_free(good);
	X509_free(expired);
	X509_free(future);
	X509_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

/* A config with the check on and the given thumbprints (NULL-terminated). */
static void
cfg_with(struct config *cfg, const char *const *thumbs)
{
	config_defaults(cfg);
	cfg->client_cert_check = true;
	for (; *thumbs != NULL && cfg->n_thumbprints < CONFIG_MAX_THUMBPRINTS; thumbs++)
		snprintf(cfg->thumbprints[cfg->n_thumbprints++], CONFIG_THUMBPRINT_LEN + 1, "%s",
		         *thumbs);
}

static enum status
run(struct env *e, const struct config *cfg, char *err, size_t errlen)
{
	return clientcert_check(&e->req, cfg, now, err, errlen);
}

static void
test_pem_escaped_ok(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256], *esc = certgen_escape(good_pem, 0);

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", esc);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	CHECK_STR(err, "");
	env_free(&e);
	free(esc);
	config_free(&cfg);
}

static void
test_pem_plain_and_spaced_ok(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0}, s = {0};
	char err[256], *sp = certgen_spaced(good_pem);

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_add(&s, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&s, "SSL_CLIENT_CERT", sp);
	CHECK_INT(run(&s, &cfg, err, sizeof(err)), STATUS_OK);
	env_free(&e);
	env_free(&s);
	free(sp);
	config_free(&cfg);
}

/* Upper-case, colon-separated forms of the fingerprint. */
static void
fp_forms(const char *fp, char *upper, char *colon)
{
	int o = 0;

	for (int i = 0; i < 40; i++) {
		upper[i] = (char)toupper((unsigned char)fp[i]);
		if (i > 0 && i % 2 == 0)
			colon[o++] = ':';
		colon[o++] = upper[i];
	}
	upper[40] = '\0';
	colon[o] = '\0';
}

static void
test_fingerprint_only_forms(void)
{
	const char *allow[] = {good_fp, NULL};
	char upper[41], colon[60], err[256];
	const char *forms[3];
	struct config cfg;

	fp_forms(good_fp, upper, colon);
	forms[0] = good_fp;
	forms[1] = upper;
	forms[2] = colon;
	cfg_with(&cfg, allow);
	for (int i = 0; i < 3; i++) {
		struct env e = {0};

		env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
		env_add(&e, "SSL_CLIENT_FINGERPRINT", forms[i]);
		env_add_dates(&e);
		CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
		env_free(&e);
	}
	config_free(&cfg);
}

static void
test_config_thumbprint_any_case(void)
{
	char upper[41], colon[60], err[256];
	const char *allow[] = {upper, NULL};
	struct config cfg;
	struct env e = {0};

	/* cfg normally holds normalized thumbprints; the compare still ignores case. */
	fp_forms(good_fp, upper, colon);
	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_FINGERPRINT", good_fp);
	env_add_dates(&e);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_free(&e);
	config_free(&cfg);
}

static void
test_verify_not_success(void)
{
	static const char *const bad[] = {"FAILED:certificate has expired", "NONE", "success",
	                                  "SUCCESS "};
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	char err[256];

	cfg_with(&cfg, allow);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct env e = {0};

		env_add(&e, "SSL_CLIENT_VERIFY", bad[i]);
		env_add(&e, "SSL_CLIENT_CERT", good_pem);
		CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
		CHECK(strstr(err, "not verified") != NULL);
		env_free(&e);
	}
	config_free(&cfg);
}

static void
test_verify_missing(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0}, empty = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	env_add(&e, "SSL_CLIENT_FINGERPRINT", good_fp);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "SSL_CLIENT_VERIFY") != NULL);
	/* No params at all (env NULL). */
	CHECK_INT(run(&empty, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	env_free(&e);
	config_free(&cfg);
}

static void
test_no_cert_no_fingerprint(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	/* nginx passes empty values for unset variables. */
	env_add(&e, "SSL_CLIENT_CERT", "");
	env_add(&e, "SSL_CLIENT_FINGERPRINT", "");
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "no client certificate") != NULL);
	env_free(&e);
	config_free(&cfg);
}

static void
test_thumbprint_not_allowed(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0}, f = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", other_pem);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, other_fp) != NULL);
	CHECK(strstr(err, "not allowed") != NULL);
	CHECK(strstr(err, "BEGIN") == NULL);
	env_add(&f, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&f, "SSL_CLIENT_FINGERPRINT", other_fp);
	CHECK_INT(run(&f, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	env_free(&e);
	env_free(&f);
	config_free(&cfg);
	/* An empty allow-list admits nobody. */
	{
		const char *none[] = {NULL};
		struct env g = {0};

		cfg_with(&cfg, none);
		env_add(&g, "SSL_CLIENT_VERIFY", "SUCCESS");
		env_add(&g, "SSL_CLIENT_CERT", good_pem);
		CHECK_INT(run(&g, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
		env_free(&g);
		config_free(&cfg);
	}
}

static void
test_rotation_second_entry(void)
{
	const char *allow[] = {other_fp, expired_fp, good_fp, NULL};
	const char *first[] = {good_fp, other_fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];

	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	cfg_with(&cfg, allow);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	cfg_with(&cfg, first);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	env_free(&e);
}

static void
test_pem_fingerprint_mismatch(void)
{
	const char *allow[] = {good_fp, other_fp, NULL};
	struct config cfg;
	struct env e = {0}, f = {0};
	char err[256];

	cfg_with(&cfg, allow);
	/* Both allowed, but they describe different certificates. */
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	env_add(&e, "SSL_CLIENT_FINGERPRINT", other_fp);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "does not match") != NULL);
	/* Agreeing PEM and fingerprint pass. */
	env_add(&f, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&f, "SSL_CLIENT_CERT", good_pem);
	env_add(&f, "SSL_CLIENT_FINGERPRINT", good_fp);
	CHECK_INT(run(&f, &cfg, err, sizeof(err)), STATUS_OK);
	env_free(&e);
	env_free(&f);
	config_free(&cfg);
}

static void
test_expired_and_not_yet_valid(void)
{
	const char *allow[] = {expired_fp, future_fp, NULL};
	struct config cfg;
	struct env e = {0}, f = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", expired_pem);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "expired") != NULL);
	env_add(&f, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&f, "SSL_CLIENT_CERT", future_pem);
	CHECK_INT(run(&f, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "not yet valid") != NULL);
	/* The same certificate is fine at a time inside its window. */
	CHECK_INT(clientcert_check(&f.req, &cfg, now + 2 * DAY, err, sizeof(err)), STATUS_OK);
	env_free(&e);
	env_free(&f);
	config_free(&cfg);
}

/* Check one fingerprint-only request with V_START / V_END values (NULL = absent). */
static enum status
dates(const struct config *cfg, const char *vstart, const char *vend, time_t at)
{
	struct env e = {0};
	char err[256];
	enum status rc;

	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_FINGERPRINT", good_fp);
	if (vstart != NULL)
		env_add(&e, "SSL_CLIENT_V_START", vstart);
	if (vend != NULL)
		env_add(&e, "SSL_CLIENT_V_END", vend);
	rc = clientcert_check(&e.req, cfg, at, err, sizeof(err));
	env_free(&e);
	return rc;
}

static void
test_validity_from_params(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	/* 2027-11-23 16:00:00 UTC and 2027-11-03 16:00:00 UTC */
	const time_t t23 = 1826985600, t03 = 1825257600;
	const char *start = "Nov  3 16:00:00 2027 GMT", *end = "Nov 23 16:00:00 2027 GMT";

	cfg_with(&cfg, allow);
	CHECK(!cfg.cert_allow_no_dates); /* the default */
	CHECK_INT(dates(&cfg, start, end, t03), STATUS_OK);
	CHECK_INT(dates(&cfg, start, end, t23), STATUS_OK);
	CHECK_INT(dates(&cfg, start, end, t03 + 5), STATUS_OK);
	CHECK_INT(dates(&cfg, start, end, t03 - 1), STATUS_FORBIDDEN);
	CHECK_INT(dates(&cfg, start, end, t23 + 1), STATUS_FORBIDDEN);
	/* V_END in the past, as a real "now". */
	CHECK_INT(dates(&cfg, start, "Jan  1 00:00:00 2020 GMT", now), STATUS_FORBIDDEN);
	config_free(&cfg);
}

/* A fingerprint says nothing of expiry: without both dates it is refused by default. */
static void
test_fingerprint_without_dates(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];
	const time_t t23 = 1826985600, t03 = 1825257600;

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_FINGERPRINT", good_fp);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "client_cert_allow_no_dates is false") != NULL);
	CHECK(strstr(err, good_fp) != NULL);
	env_free(&e);
	CHECK_INT(dates(&cfg, NULL, NULL, now), STATUS_FORBIDDEN);
	CHECK_INT(dates(&cfg, NULL, "Nov 23 16:00:00 2099 GMT", now), STATUS_FORBIDDEN);
	CHECK_INT(dates(&cfg, "Jan  1 00:00:00 2020 GMT", NULL, now), STATUS_FORBIDDEN);
	CHECK_INT(dates(&cfg, "", "", now), STATUS_FORBIDDEN); /* nginx's unset variables */
	/* With the PEM the certificate's own dates count: no params needed. */
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_free(&e);

	/* Allowed explicitly: the dates that are there are still checked. */
	cfg.cert_allow_no_dates = true;
	CHECK_INT(dates(&cfg, NULL, NULL, now), STATUS_OK);
	CHECK_INT(dates(&cfg, NULL, "Nov 23 16:00:00 2027 GMT", t23), STATUS_OK);
	CHECK_INT(dates(&cfg, NULL, "Nov 23 16:00:00 2027 GMT", t23 + 1), STATUS_FORBIDDEN);
	CHECK_INT(dates(&cfg, "Nov  3 16:00:00 2027 GMT", NULL, t03), STATUS_OK);
	CHECK_INT(dates(&cfg, "Nov  3 16:00:00 2027 GMT", NULL, t03 - 1), STATUS_FORBIDDEN);
	config_free(&cfg);
}

static void
test_validity_unparsable(void)
{
	static const char *const bad[] = {
	    "2027-11-23T16:00:00Z",     "Nov 23 16:00:00 2027",      "Nov 23 16:00:00 2027 UTC",
	    "Nov 3 16:00:00 2027 GMT",  "Foo 23 16:00:00 2027 GMT",  "Feb 30 16:00:00 2027 GMT",
	    "Nov 23 24:00:00 2027 GMT", "Nov 23 16:00:00 27 GMT",    "Nov 23 16:00 2027 GMT",
	    "nov 23 16:00:00 2027 GMT", "Nov 23 16:00:00 2027 GMTX", "x",
	};
	const char *allow[] = {good_fp, NULL};
	struct config cfg;

	cfg_with(&cfg, allow);
	/* Allowed without dates, so that the one bad date is the only reason to refuse. */
	cfg.cert_allow_no_dates = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(dates(&cfg, NULL, bad[i], 0), STATUS_FORBIDDEN);
		CHECK_INT(dates(&cfg, bad[i], NULL, 2000000000), STATUS_FORBIDDEN);
	}
	config_free(&cfg);
}

static void
test_subject_issuer_pem(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", good_pem);
	cfg.cert_subject = strdup(good_subject);
	cfg.cert_issuer = strdup(ca_subject);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	free(cfg.cert_subject);
	cfg.cert_subject = strdup("CN=b2c-client,O=Fabrikam");
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "subject mismatch") != NULL);
	free(cfg.cert_subject);
	cfg.cert_subject = strdup(good_subject);
	free(cfg.cert_issuer);
	cfg.cert_issuer = strdup("CN=Other CA");
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "issuer mismatch") != NULL);
	env_free(&e);
	config_free(&cfg);
}

/*
 * A self-signed certificate whose subject (and so issuer) DN is longer than
 * CRYPTO_DN_MAX in RFC 2253 form; its PEM, thumbprint and that DN text.
 */
struct long_cert {
	char *pem;
	char fp[41];
	char *dn;
};

static int
make_long_cert(struct long_cert *lc)
{
	EVP_PKEY *k = certgen_key(0);
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char ou[61], *data = NULL;
	long len = 0;
	int rc = -1;

	memset(lc, 0, sizeof(*lc));
	if (k == NULL || x == NULL || n == NULL || bio == NULL)
		goto out;
	/* Ten 60-character OUs: RFC 2253 prints them after CN and O, past the cut. */
	for (int i = 0; i < 10; i++) {
		memset(ou, 'a' + i, sizeof(ou) - 1);
		ou[sizeof(ou) - 1] = '\0';
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1,
		                           -1, 0);
	}
	certgen_name(n, "Contoso", "b2c-client");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	ASN1_TIME_set(X509_getm_notBefore(x), now - DAY);
	ASN1_TIME_set(X509_getm_notAfter(x), now + 30 * DAY);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	if (X509_sign(x, k, EVP_sha256()) <= 0 ||
	    X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	lc->dn = strndup(data, (size_t)len);
	lc->pem = certgen_pem(x);
	certgen_sha1_hex(x, lc->fp);
	rc = lc->dn != NULL && lc->pem != NULL && len > CRYPTO_DN_MAX ? 0 : -1;
out:
	BIO_free(bio);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/*
 * A subject or issuer too long to hold whole is unknown: a configured DN
 * equal to its first CRYPTO_DN_MAX characters (what a cut copy would hold)
 * must not match, and neither must the whole DN (it cannot be compared).
 */
static void
test_subject_long_not_prefix(void)
{
	struct long_cert lc;
	const char *allow[] = {lc.fp, NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];

	CHECK_INT(make_long_cert(&lc), 0);
	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", lc.pem);
	/* Without a configured name the thumbprint decides. */
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	cfg.cert_subject = strndup(lc.dn, CRYPTO_DN_MAX);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "subject mismatch (subject unknown)") != NULL);
	free(cfg.cert_subject);
	cfg.cert_subject = NULL;
	cfg.cert_issuer = strndup(lc.dn, CRYPTO_DN_MAX);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "issuer mismatch (issuer unknown)") != NULL);
	env_free(&e);
	config_free(&cfg);
	free(lc.pem);
	free(lc.dn);
}

static void
test_subject_issuer_params(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0}, f = {0}, g = {0}, h = {0};
	char err[256];

	cfg_with(&cfg, allow);
	cfg.cert_subject = strdup(good_subject);
	cfg.cert_issuer = strdup(ca_subject);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_FINGERPRINT", good_fp);
	env_add_dates(&e);
	env_add(&e, "SSL_CLIENT_S_DN", good_subject);
	env_add(&e, "SSL_CLIENT_I_DN", ca_subject);
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_add(&f, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&f, "SSL_CLIENT_FINGERPRINT", good_fp);
	env_add_dates(&f);
	env_add(&f, "SSL_CLIENT_S_DN", good_subject);
	env_add(&f, "SSL_CLIENT_I_DN", "CN=Contoso Test CA");
	CHECK_INT(run(&f, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	/* A configured subject with no subject known fails closed. */
	env_add(&g, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&g, "SSL_CLIENT_FINGERPRINT", good_fp);
	env_add_dates(&g);
	CHECK_INT(run(&g, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "subject mismatch") != NULL);
	/* So does a configured issuer with no issuer known, the subject matching. */
	env_add(&h, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&h, "SSL_CLIENT_FINGERPRINT", good_fp);
	env_add_dates(&h);
	env_add(&h, "SSL_CLIENT_S_DN", good_subject);
	CHECK_INT(run(&h, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "issuer mismatch") != NULL);
	env_free(&e);
	env_free(&f);
	env_free(&g);
	env_free(&h);
	config_free(&cfg);
}

static void
test_check_disabled(void)
{
	const char *none[] = {NULL};
	struct config cfg;
	struct env e = {0};
	char err[256];

	cfg_with(&cfg, none);
	cfg.client_cert_check = false;
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_add(&e, "SSL_CLIENT_VERIFY", "FAILED:x");
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_OK);
	env_free(&e);
	config_free(&cfg);
}

static void
test_garbage_pem(void)
{
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	struct env e = {0}, f = {0};
	char err[256];

	cfg_with(&cfg, allow);
	env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&e, "SSL_CLIENT_CERT", "-----BEGIN CERTIFICATE-----%0AAAAA%0A-----END");
	CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	CHECK(strstr(err, "not parsable") != NULL);
	/* A valid fingerprint does not rescue a garbage PEM. */
	env_add(&f, "SSL_CLIENT_VERIFY", "SUCCESS");
	env_add(&f, "SSL_CLIENT_CERT", "garbage");
	env_add(&f, "SSL_CLIENT_FINGERPRINT", good_fp);
	CHECK_INT(run(&f, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
	env_free(&e);
	env_free(&f);
	config_free(&cfg);
}

static void
test_bad_fingerprint_param(void)
{
	static const char *const bad[] = {"abc", "zz",
	                                  "0123456789012345678901234567890123456789ab"};
	const char *allow[] = {good_fp, NULL};
	struct config cfg;
	char err[256];

	cfg_with(&cfg, allow);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct env e = {0};

		env_add(&e, "SSL_CLIENT_VERIFY", "SUCCESS");
		env_add(&e, "SSL_CLIENT_FINGERPRINT", bad[i]);
		CHECK_INT(run(&e, &cfg, err, sizeof(err)), STATUS_FORBIDDEN);
		CHECK(strstr(err, "malformed") != NULL);
		env_free(&e);
	}
	config_free(&cfg);
}

int
main(void)
{
	if (make_certs() != 0) {
		fprintf(stderr, "cannot create test certificates\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_pem_escaped_ok);
	RUN(test_pem_plain_and_spaced_ok);
	RUN(test_fingerprint_only_forms);
	RUN(test_config_thumbprint_any_case);
	RUN(test_verify_not_success);
	RUN(test_verify_missing);
	RUN(test_no_cert_no_fingerprint);
	RUN(test_thumbprint_not_allowed);
	RUN(test_rotation_second_entry);
	RUN(test_pem_fingerprint_mismatch);
	RUN(test_expired_and_not_yet_valid);
	RUN(test_validity_from_params);
	RUN(test_fingerprint_without_dates);
	RUN(test_validity_unparsable);
	RUN(test_subject_issuer_pem);
	RUN(test_subject_issuer_params);
	RUN(test_subject_long_not_prefix);
	RUN(test_check_disabled);
	RUN(test_garbage_pem);
	RUN(test_bad_fingerprint_param);
	free_certs();
	HARNESS_END();
}
