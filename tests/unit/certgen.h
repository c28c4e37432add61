/*
 * certgen.h - test-only helpers that make key pairs and X.509 certificates
 * with the OpenSSL API (valid, expired, not yet valid, CA-signed) and render
 * them as PEM in the forms nginx, Apache and proxies pass on.
 */
#ifndef B2CAUTHY_CERTGEN_H
#define B2CAUTHY_CERTGEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A fresh key: RSA of bits (B2C uses RSA-2048), or EC P-256 when bits is 0 (fast). */
/* Every helper is unused in some test binary. */
#define CERTGEN_FN static __attribute__((unused))

CERTGEN_FN EVP_PKEY *
certgen_key(unsigned bits)
{
	return bits ? EVP_RSA_gen(bits) : EVP_EC_gen("P-256");
}

CERTGEN_FN void
certgen_name(X509_NAME *n, const char *org, const char *cn)
{
	if (org != NULL)
		X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1,
		                           -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
}

/*
 * A certificate for key with subject O=org,CN=cn valid from nb to na, signed
 * by ca/ca_key, or self-signed when ca is NULL. Returns NULL on failure.
 */
CERTGEN_FN X509 *
certgen_cert(EVP_PKEY *key, const char *org, const char *cn, time_t nb, time_t na, X509 *ca,
             EVP_PKEY *ca_key)
{
	static long serial = 1;
	X509 *x = X509_new();

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	certgen_name(X509_get_subject_name(x), org, cn);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The PEM text of x (malloc'd). */
CERTGEN_FN char *
certgen_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	if (out == NULL)
		goto out;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
out:
	BIO_free(bio);
	return out;
}

/*
 * nginx $ssl_client_escaped_cert style: every byte but letters, digits and
 * "-_.~" as %XX (so '+', '/', '=' and the newlines are escaped). With
 * keep_b64 only white space is escaped and '+', '/', '=' stay literal.
 */
CERTGEN_FN char *
certgen_escape(const char *pem, int keep_b64)
{
	char *out = malloc(strlen(pem) * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)pem; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || strchr("-_.~", *p) != NULL;

		if (keep_b64 && strchr("+/=", *p) != NULL)
			plain = 1;
		if (plain) {
			*o++ = (char)*p;
		} else {
			snprintf(o, 4, "%%%02X", *p);
			o += 3;
		}
	}
	*o = '\0';
	return out;
}

/* Newlines replaced by spaces, as some proxies forward a PEM header. */
CERTGEN_FN char *
certgen_spaced(const char *pem)
{
	char *out = strdup(pem);

	for (char *p = out; p && *p; p++) {
		if (*p == '\n')
			*p = ' ';
	}
	return out;
}

/* SHA-1 of the DER computed here independently of crypto.c, lower-case hex. */
CERTGEN_FN void
certgen_sha1_hex(X509 *x, char out[41])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len = i2d_X509(x, &der);

	out[0] = '\0';
	if (len <= 0)
		return;
	EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL);
	for (unsigned i = 0; i < mdlen && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);
}

#endif
