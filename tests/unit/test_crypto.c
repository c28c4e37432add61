/*
 * test_crypto.c - unit tests of crypto.c: certificate parsing in every form
 * the web servers pass it (plain, URL-escaped, space-joined PEM), garbage,
 * HMAC known-answer vectors (RFC 4231, RFC 2202), SHA-256 and random hex.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certgen.h"
#include "crypto.h"
#include "harness.h"

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca, *leaf;
static char *leaf_pem;
static char leaf_sha1[41];
static time_t leaf_nb, leaf_na;

static int
setup(void)
{
	time_t now = time(NULL);

	leaf_nb = now - 3600;
	leaf_na = now + 86400 * 30;
	ca_key = certgen_key(0);
	leaf_key = certgen_key(2048);
	if (ca_key == NULL || leaf_key == NULL)
		return -1;
	ca = certgen_cert(ca_key, "Contoso Test", "Contoso Test CA", now - 86400, now + 86400 * 365,
	                  NULL, NULL);
	leaf = certgen_cert(leaf_key, "Contoso", "b2c-client", leaf_nb, leaf_na, ca, ca_key);
	if (ca == NULL || leaf == NULL)
		return -1;
	leaf_pem = certgen_pem(leaf);
	certgen_sha1_hex(leaf, leaf_sha1);
	return leaf_pem != NULL && strlen(leaf_sha1) == 40 ? 0 : -1;
}

static void
teardown(void)
{
	free(leaf_pem);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(ca_key);
}

/* Parse pem and check every field against the leaf certificate. */
static void
check_leaf(const char *pem)
{
	struct crypto_cert c;

	CHECK_INT(crypto_cert_parse(pem, &c), STATUS_OK);
	CHECK_STR(c.sha1_hex, leaf_sha1);
	CHECK_INT(c.not_before, leaf_nb);
	CHECK_INT(c.not_after, leaf_na);
	CHECK_STR(c.subject, "CN=b2c-client,O=Contoso");
	CHECK_STR(c.issuer, "CN=Contoso Test CA,O=Contoso Test");
	CHECK(!c.subject_too_long && !c.issuer_too_long);
}

static void
test_parse_plain(void)
{
	check_leaf(leaf_pem);
}

static void
test_parse_escaped(void)
{
	char *esc = certgen_escape(leaf_pem, 0);

	/* nginx escapes '+', '/', '=' and the newlines. */
	CHECK(strstr(esc, "%0A") != NULL);
	CHECK(strpbrk(esc, "\n+/=") == NULL);
	check_leaf(esc);
	free(esc);
}

static void
test_parse_escaped_plus_kept(void)
{
	char *esc = certgen_escape(leaf_pem, 1);

	/* A literal '+' is base64, never an escaped space. */
	CHECK(strchr(esc, '+') != NULL);
	check_leaf(esc);
	free(esc);
}

static void
test_parse_spaced(void)
{
	char *sp = certgen_spaced(leaf_pem);

	CHECK(strchr(sp, '\n') == NULL);
	check_leaf(sp);
	free(sp);
}

static void
test_parse_whitespace_variants(void)
{
	size_t n = strlen(leaf_pem);
	char *buf = malloc(2 * n + 16), *o = buf;

	/* CRLF line ends plus leading and trailing white space. */
	o += snprintf(o, 4, "\n\t ");
	for (const char *p = leaf_pem; *p; p++) {
		if (*p == '\n')
			*o++ = '\r';
		*o++ = *p;
	}
	snprintf(o, 4, "  \n");
	check_leaf(buf);
	free(buf);
}

static void
test_parse_self_signed_ca(void)
{
	char *pem = certgen_pem(ca);
	struct crypto_cert c;

	CHECK_INT(crypto_cert_parse(pem, &c), STATUS_OK);
	CHECK_STR(c.subject, "CN=Contoso Test CA,O=Contoso Test");
	CHECK_STR(c.subject, c.issuer);
	CHECK(strcmp(c.sha1_hex, leaf_sha1) != 0);
	free(pem);
}

static void
test_parse_garbage(void)
{
	static const char *const bad[] = {
	    "",
	    "hello",
	    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nMIIB*&^%\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n",
	    "%ZZ-----BEGIN CERTIFICATE-----",
	};
	struct crypto_cert c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(crypto_cert_parse(bad[i], &c), STATUS_FORBIDDEN);
		CHECK_STR(c.sha1_hex, "");
	}
	CHECK_INT(crypto_cert_parse(NULL, &c), STATUS_FORBIDDEN);
}

static void
test_parse_truncated_and_tampered(void)
{
	char *cut = strdup(leaf_pem), *tam = strdup(leaf_pem), *two;
	char *mid = strstr(cut, "\n") + 10;
	struct crypto_cert c;
	size_t n = strlen(leaf_pem);

	/* Drop one base64 line from the middle. */
	memmove(mid, mid + 65, strlen(mid + 65) + 1);
	CHECK_INT(crypto_cert_parse(cut, &c), STATUS_FORBIDDEN);
	/* A broken escape. */
	tam[40] = '%';
	tam[41] = 'G';
	CHECK_INT(crypto_cert_parse(tam, &c), STATUS_FORBIDDEN);
	/* Two certificates: exactly one is expected. */
	two = malloc(2 * n + 1);
	memcpy(two, leaf_pem, n);
	memcpy(two + n, leaf_pem, n + 1);
	CHECK_INT(crypto_cert_parse(two, &c), STATUS_FORBIDDEN);
	free(cut);
	free(tam);
	free(two);
}

static void
test_parse_size_cap(void)
{
	size_t n = strlen(leaf_pem), pad = 16 * 1024;
	char *big = malloc(n + pad + 1);
	struct crypto_cert c;

	/* Valid PEM, but the input exceeds 16 KiB: refused unread. */
	memcpy(big, leaf_pem, n);
	memset(big + n, ' ', pad);
	big[n + pad] = '\0';
	CHECK_INT(crypto_cert_parse(big, &c), STATUS_FORBIDDEN);
	/* Just below the cap it still parses. */
	big[16 * 1024] = '\0';
	CHECK_INT(crypto_cert_parse(big, &c), STATUS_OK);
	free(big);
}

/* Decode our base64 output and compare it with the RFC's hex. */
static void
check_hmac(const char *alg, const char *key, const void *data, size_t len, const char *hex)
{
	char b64[128], got[129];
	unsigned char raw[96];
	int n;

	if (strcmp(alg, "sha1") == 0)
		CHECK_INT(crypto_hmac_sha1_b64(key, data, len, b64, sizeof(b64)), STATUS_OK);
	else
		CHECK_INT(crypto_hmac_sha256_b64(key, data, len, b64, sizeof(b64)), STATUS_OK);
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
	n -= (b64[strlen(b64) - 1] == '=') + (b64[strlen(b64) - 2] == '=');
	for (int i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", raw[i]);
	got[2 * (n > 0 ? n : 0)] = '\0';
	CHECK_STR(got, hex);
}

static void
test_hmac_sha256_rfc4231(void)
{
	char k1[21], k3[21], k6[132];
	unsigned char d3[50];

	memset(k1, 0x0b, 20);
	k1[20] = '\0';
	memset(k3, 0xaa, 20);
	k3[20] = '\0';
	memset(d3, 0xdd, sizeof(d3));
	memset(k6, 0xaa, 131);
	k6[131] = '\0';
	check_hmac("sha256", k1, "Hi There", 8,
	           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_hmac("sha256", "Jefe", "what do ya want for nothing?", 28,
	           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	check_hmac("sha256", k3, d3, sizeof(d3),
	           "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	check_hmac("sha256", k6, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_hmac_sha1_rfc2202(void)
{
	char k1[21], k3[21], k6[81];
	unsigned char d3[50];
	char b64[64];

	memset(k1, 0x0b, 20);
	k1[20] = '\0';
	memset(k3, 0xaa, 20);
	k3[20] = '\0';
	memset(d3, 0xdd, sizeof(d3));
	memset(k6, 0xaa, 80);
	k6[80] = '\0';
	check_hmac("sha1", k1, "Hi There", 8, "b617318655057264e28bc0b6fb378c8ef146be00");
	check_hmac("sha1", "Jefe", "what do ya want for nothing?", 28,
	           "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	check_hmac("sha1", k3, d3, sizeof(d3), "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
	check_hmac("sha1", k6, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	           "aa4ae5e15272d00e95705637ce8a3b55ed402112");
	/* The base64 text itself, as it appears in X-Authy-Signature style headers. */
	CHECK_INT(
	    crypto_hmac_sha1_b64("Jefe", "what do ya want for nothing?", 28, b64, sizeof(b64)),
	    STATUS_OK);
	CHECK_STR(b64, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

static void
test_hmac_errors(void)
{
	char small[44], ok[45];

	/* SHA-256 needs 44 base64 characters plus the NUL. */
	CHECK_INT(crypto_hmac_sha256_b64("k", "d", 1, small, sizeof(small)), STATUS_TOO_LARGE);
	CHECK_INT(
	    crypto_hmac_sha256_b64("Jefe", "what do ya want for nothing?", 28, ok, sizeof(ok)),
	    STATUS_OK);
	CHECK_STR(ok, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
	CHECK_INT(crypto_hmac_sha256_b64(NULL, "d", 1, ok, sizeof(ok)), STATUS_INTERNAL);
	CHECK_INT(crypto_hmac_sha1_b64("k", "d", 1, ok, 0), STATUS_INTERNAL);
	/* Empty data is a valid message. */
	CHECK_INT(crypto_hmac_sha256_b64("k", "", 0, ok, sizeof(ok)), STATUS_OK);
	CHECK_INT((int)strlen(ok), 44);
}

static void
test_sha256_hex(void)
{
	char out[65], small[64];

	CHECK_INT(crypto_sha256_hex("abc", 3, out, sizeof(out)), STATUS_OK);
	CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT(crypto_sha256_hex("", 0, out, sizeof(out)), STATUS_OK);
	CHECK_STR(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_INT(crypto_sha256_hex("abc", 3, small, sizeof(small)), STATUS_INTERNAL);
}

static int
all_lower_hex(const char *s)
{
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return 0;
	}
	return 1;
}

static void
test_random_hex(void)
{
	char a[257], b[257], tiny[8];

	CHECK_INT(crypto_random_hex(16, a, sizeof(a)), STATUS_OK);
	CHECK_INT((int)strlen(a), 32);
	CHECK(all_lower_hex(a));
	CHECK_INT(crypto_random_hex(16, b, sizeof(b)), STATUS_OK);
	CHECK(strcmp(a, b) != 0);
	/* More than one internal chunk. */
	CHECK_INT(crypto_random_hex(128, a, sizeof(a)), STATUS_OK);
	CHECK_INT((int)strlen(a), 256);
	CHECK(all_lower_hex(a));
	CHECK_INT(crypto_random_hex(0, tiny, sizeof(tiny)), STATUS_OK);
	CHECK_STR(tiny, "");
	CHECK_INT(crypto_random_hex(4, tiny, sizeof(tiny)), STATUS_INTERNAL);
	CHECK_INT(crypto_random_hex(3, tiny, sizeof(tiny)), STATUS_OK);
	CHECK_INT((int)strlen(tiny), 6);
}

int
main(void)
{
	if (setup() != 0) {
		fprintf(stderr, "cannot create test certificates\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_parse_plain);
	RUN(test_parse_escaped);
	RUN(test_parse_escaped_plus_kept);
	RUN(test_parse_spaced);
	RUN(test_parse_whitespace_variants);
	RUN(test_parse_self_signed_ca);
	RUN(test_parse_garbage);
	RUN(test_parse_truncated_and_tampered);
	RUN(test_parse_size_cap);
	RUN(test_hmac_sha256_rfc4231);
	RUN(test_hmac_sha1_rfc2202);
	RUN(test_hmac_errors);
	RUN(test_sha256_hex);
	RUN(test_random_hex);
	teardown();
	HARNESS_END();
}
