/*
 * crypto.c - the only OpenSSL user: client-certificate parsing (thumbprint,
 * validity, RFC 2253 names) for PEM as nginx and Apache pass it, HMAC for the
 * OneTouch callback signature, SHA-256, CSPRNG identifiers, and the one TLS
 * setting the upstream connections need beyond libcurl's options.
 */
#include "crypto.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "form.h"
#include "util.h"

/* A client certificate PEM is 1-3 KiB; anything far larger is refused unread. */
#define PEM_MAX (16 * 1024)
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/*
 * Extract the base64 body between the PEM markers, dropping every white-space
 * character: this accepts newline, CRLF and the space-joined form that some
 * proxies produce. Returns the length of the body in b64, 0 when none.
 */
static size_t
pem_body(const char *pem, char *b64, size_t b64len)
{
	const char *p = strstr(pem, PEM_BEGIN);
	const char *end;
	size_t n = 0;

	if (p == NULL)
		return 0;
	p += strlen(PEM_BEGIN);
	end = strstr(p, PEM_END);
	if (end == NULL || strstr(end + strlen(PEM_END), PEM_BEGIN) != NULL)
		return 0;
	for (; p < end; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '/' && *p != '=')
			return 0;
		if (n + 1 >= b64len)
			return 0;
		b64[n++] = *p;
	}
	b64[n] = '\0';
	return n % 4 == 0 ? n : 0;
}

/* Decode the PEM text into an X509 object, or NULL. */
static X509 *
pem_to_x509(const char *pem)
{
	char *text = NULL, *b64 = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *x = NULL;
	size_t n;
	int len;

	text = malloc(PEM_MAX + 1);
	b64 = malloc(PEM_MAX + 1);
	der = malloc(PEM_MAX);
	if (text == NULL || b64 == NULL || der == NULL)
		goto out;
	/* Undo nginx's $ssl_client_escaped_cert (%XX escapes; '+' is base64 here). */
	n = strnlen(pem, PEM_MAX + 1);
	if (n > PEM_MAX || form_unescape(pem, n, text) != STATUS_OK)
		goto out;
	n = pem_body(text, b64, PEM_MAX + 1);
	if (n == 0)
		goto out;
	len = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
	if (len <= 0)
		goto out;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
	p = der;
	x = d2i_X509(NULL, &p, len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
out:
	free(text);
	free(b64);
	free(der);
	return x;
}

static bool
asn1_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

/*
 * RFC 2253 text of name, as nginx's $ssl_client_s_dn prints it. A name that
 * does not fit is not cut (a configured DN equal to the cut text would match
 * it): out stays "" and *too_long is set, the name is unknown.
 */
static bool
name_to_str(const X509_NAME *name, char *out, size_t outlen, bool *too_long)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	bool ok = false;

	if (bio == NULL)
		return false;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (data == NULL && n > 0))
		goto out;
	*too_long = (size_t)n >= outlen;
	if (*too_long)
		n = 0;
	if (n > 0)
		memcpy(out, data, (size_t)n);
	out[n] = '\0';
	ok = true;
out:
	BIO_free(bio);
	return ok;
}

static bool
fill_cert(X509 *x, struct crypto_cert *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20)
		return false;
	to_hex(md, mdlen, out->sha1_hex);
	if (!asn1_to_time(X509_get0_notBefore(x), &out->not_before) ||
	    !asn1_to_time(X509_get0_notAfter(x), &out->not_after))
		return false;
	return name_to_str(X509_get_subject_name(x), out->subject, sizeof(out->subject),
	                   &out->subject_too_long) &&
	       name_to_str(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer),
	                   &out->issuer_too_long);
}

enum status
crypto_cert_parse(const char *pem, struct crypto_cert *out)
{
	enum status rc = STATUS_FORBIDDEN;
	X509 *x = NULL;

	memset(out, 0, sizeof(*out));
	if (pem == NULL || strnlen(pem, PEM_MAX + 1) > PEM_MAX)
		return STATUS_FORBIDDEN;
	x = pem_to_x509(pem);
	if (x == NULL)
		goto out;
	if (!fill_cert(x, out))
		goto out;
	rc = STATUS_OK;
out:
	X509_free(x);
	if (rc != STATUS_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* A MAC: len bytes of b. */
struct mac {
	unsigned char b[EVP_MAX_MD_SIZE];
	unsigned int len;
};

/* HMAC-md(key, data) into *m. STATUS_OK or STATUS_INTERNAL. */
static enum status
hmac(const EVP_MD *md, const char *key, const void *data, size_t len, struct mac *m)
{
	size_t keylen;

	m->len = 0;
	if (key == NULL || (data == NULL && len > 0))
		return STATUS_INTERNAL;
	keylen = strlen(key);
	if (keylen > INT_MAX)
		return STATUS_INTERNAL;
	if (HMAC(md, key, (int)keylen, data != NULL ? data : (const void *)"", len, m->b,
	         &m->len) == NULL)
		return STATUS_INTERNAL;
	return STATUS_OK;
}

/* base64 of m into out. STATUS_OK, STATUS_TOO_LARGE or STATUS_INTERNAL (outlen 0). */
static enum status
mac_b64(const struct mac *m, char *out, size_t outlen)
{
	if (outlen == 0)
		return STATUS_INTERNAL;
	if (outlen < 4 * ((m->len + 2) / 3) + 1)
		return STATUS_TOO_LARGE;
	EVP_EncodeBlock((unsigned char *)out, m->b, (int)m->len);
	return STATUS_OK;
}

/* rc, hmac's outcome for m: then m's base64 into out; m is wiped either way. */
static enum status
mac_b64_wipe(enum status rc, struct mac *m, char *out, size_t outlen)
{
	if (rc == STATUS_OK)
		rc = mac_b64(m, out, outlen);
	OPENSSL_cleanse(m, sizeof(*m));
	return rc;
}

enum status
crypto_hmac_sha256_b64(const char *key, const void *data, size_t len, char *out, size_t outlen)
{
	struct mac m;

	return mac_b64_wipe(hmac(EVP_sha256(), key, data, len, &m), &m, out, outlen);
}

enum status
crypto_hmac_sha1_b64(const char *key, const void *data, size_t len, char *out, size_t outlen)
{
	struct mac m;

	return mac_b64_wipe(hmac(EVP_sha1(), key, data, len, &m), &m, out, outlen);
}

enum status
crypto_sha256_hex(const void *data, size_t len, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (outlen < 65 || (data == NULL && len > 0))
		return STATUS_INTERNAL;
	if (EVP_Digest(data != NULL ? data : (const void *)"", len, md, &mdlen, EVP_sha256(),
	               NULL) != 1 ||
	    mdlen != 32)
		return STATUS_INTERNAL;
	to_hex(md, mdlen, out);
	return STATUS_OK;
}

enum status
crypto_random_hex(size_t nbytes, char *out, size_t outlen)
{
	unsigned char chunk[64];
	size_t done = 0;

	if (nbytes > (SIZE_MAX - 1) / 2 || outlen < 2 * nbytes + 1)
		return STATUS_INTERNAL;
	while (done < nbytes) {
		size_t n = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);

		if (RAND_bytes(chunk, (int)n) != 1) {
			OPENSSL_cleanse(chunk, sizeof(chunk));
			return STATUS_INTERNAL;
		}
		to_hex(chunk, n, out + 2 * done);
		done += n;
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return STATUS_OK;
}

void
crypto_tls_keep_buffers(void *ssl_ctx)
{
	SSL_CTX_clear_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
}
