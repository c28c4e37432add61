/*
 * crypto.h - the only interface to OpenSSL: client-certificate parsing and
 * hashing, HMAC signatures for webhooks, and random identifiers.
 */
#ifndef B2CAUTHY_CRYPTO_H
#define B2CAUTHY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "status.h"

#define CRYPTO_SHA1_HEX_LEN 40
#define CRYPTO_DN_MAX 511 /* longest subject or issuer DN held, in bytes */

/* What the responder needs to know of an X.509 certificate. */
struct crypto_cert {
	char sha1_hex[CRYPTO_SHA1_HEX_LEN + 1]; /* lower-case SHA-1 of the DER: the thumbprint */
	time_t not_before;
	time_t not_after;
	/* RFC 2253 form, as nginx and Apache print it; "" when the name does not fit */
	char subject[CRYPTO_DN_MAX + 1];
	char issuer[CRYPTO_DN_MAX + 1];
	bool subject_too_long; /* subject unknown: longer than CRYPTO_DN_MAX */
	bool issuer_too_long;  /* issuer unknown: longer than CRYPTO_DN_MAX */
};

/*
 * crypto_cert_parse - parse one PEM certificate. pem may be URL-escaped (as
 * nginx's $ssl_client_escaped_cert) or plain, and may have its newlines replaced
 * by spaces (as some proxies do). Returns STATUS_OK and *out, or
 * STATUS_FORBIDDEN when it is not a parsable certificate. A subject or issuer
 * longer than CRYPTO_DN_MAX is never cut: it is left "" with its *_too_long
 * flag set, so that no prefix of it can pass for the whole. Thread-safe.
 */
enum status crypto_cert_parse(const char *pem, struct crypto_cert *out);

/*
 * crypto_hmac_sha256_b64 / crypto_hmac_sha1_b64 - base64 of
 * HMAC-SHA256(key, data) or HMAC-SHA1(key, data), data being len bytes, into
 * out (NUL-terminated). STATUS_OK, STATUS_TOO_LARGE (outlen too small) or
 * STATUS_INTERNAL. Thread-safe.
 */
enum status crypto_hmac_sha256_b64(const char *key, const void *data, size_t len, char *out,
                                   size_t outlen);
enum status crypto_hmac_sha1_b64(const char *key, const void *data, size_t len, char *out,
                                 size_t outlen);

/*
 * crypto_sha256_hex - lower-case hex SHA-256 of data into out (>= 65 bytes).
 * STATUS_OK or STATUS_INTERNAL. Thread-safe.
 */
enum status crypto_sha256_hex(const void *data, size_t len, char *out, size_t outlen);

/*
 * crypto_random_hex - nbytes of CSPRNG output as hex into out (>= 2*nbytes+1).
 * STATUS_OK or STATUS_INTERNAL. Thread-safe.
 */
enum status crypto_random_hex(size_t nbytes, char *out, size_t outlen);

/*
 * crypto_tls_keep_buffers - make the connections of ssl_ctx (an SSL_CTX *) keep
 * their record buffers between records instead of freeing them when idle (the
 * mode libcurl sets): a kept-alive connection then allocates nothing per call,
 * at about 35 KiB per connection. Any thread that owns the context.
 */
void crypto_tls_keep_buffers(void *ssl_ctx);

#endif
