/*
 * fuzz_clientcert.c - libFuzzer harness for the client-certificate check:
 * arbitrary SSL_CLIENT_VERIFY, SSL_CLIENT_FINGERPRINT, SSL_CLIENT_CERT and
 * validity/DN params through clientcert_check, and the certificate text
 * through crypto_cert_parse. Byte 0 says which params are present (bit i for
 * params[i]; bit 7 also requires a subject and issuer); their values follow,
 * separated by NUL bytes. Fail closed: nothing is accepted unless the web
 * server said SUCCESS and an allowed thumbprint was shown.
 */
#include "fuzz.h"

#include "clientcert.h"
#include "config.h"
#include "crypto.h"
#include "request.h"

/* 2030-01-01: inside the validity of the seed certificates in the corpus. */
#define FUZZ_NOW ((time_t)1893456000)
#define SEED_SUBJECT "CN=fuzz client,O=b2c-authy test"

static const char *const params[] = {
    CLIENTCERT_P_VERIFY, CLIENTCERT_P_FINGERPRINT, CLIENTCERT_P_CERT, CLIENTCERT_P_V_START,
    CLIENTCERT_P_V_END,  CLIENTCERT_P_S_DN,        CLIENTCERT_P_I_DN,
};
#define N_PARAMS (sizeof(params) / sizeof(params[0]))

/* Thumbprints of the seed certificates (EC and RSA) in corpus/fuzz_clientcert. */
static const char *const allowed[] = {
    "587fa22aa407f4a86008265cb572cfaa98e4f987",
    "cf6f5083c04ad58fa86fbae24a1a543dea5af019",
};

static void
setup(struct config *cfg, int names)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->client_cert_check = true;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		snprintf(cfg->thumbprints[i], sizeof(cfg->thumbprints[i]), "%s", allowed[i]);
	cfg->n_thumbprints = (int)(sizeof(allowed) / sizeof(allowed[0]));
	cfg->cert_subject = names ? SEED_SUBJECT : NULL;
	cfg->cert_issuer = names ? SEED_SUBJECT : NULL;
}

static int
is_allowed(const char *thumb)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcmp(thumb, allowed[i]) == 0)
			return 1;
	return 0;
}

static void
check_cert(const char *pem)
{
	struct crypto_cert cert;

	if (crypto_cert_parse(pem, &cert) != STATUS_OK)
		return;
	FUZZ_ASSERT(strlen(cert.sha1_hex) == CRYPTO_SHA1_HEX_LEN);
	FUZZ_ASSERT(strspn(cert.sha1_hex, "0123456789abcdef") == CRYPTO_SHA1_HEX_LEN);
	FUZZ_ASSERT(memchr(cert.subject, '\0', sizeof(cert.subject)) != NULL);
	FUZZ_ASSERT(memchr(cert.issuer, '\0', sizeof(cert.issuer)) != NULL);
}

/* What an accepted request must have shown. */
static void
check_accepted(const char *const *val)
{
	struct crypto_cert cert;
	char fp[CONFIG_THUMBPRINT_LEN + 1];
	const char *pem = val[2], *fpv = val[1];

	FUZZ_ASSERT(val[0] != NULL && strcmp(val[0], CLIENTCERT_VERIFY_OK) == 0);
	FUZZ_ASSERT((pem != NULL && *pem != '\0') || (fpv != NULL && *fpv != '\0'));
	if (pem != NULL && *pem != '\0') {
		FUZZ_ASSERT(crypto_cert_parse(pem, &cert) == STATUS_OK);
		FUZZ_ASSERT(is_allowed(cert.sha1_hex));
		FUZZ_ASSERT(cert.not_before <= FUZZ_NOW && FUZZ_NOW <= cert.not_after);
	}
	if (fpv != NULL && *fpv != '\0') {
		FUZZ_ASSERT(config_normalize_thumbprint(fpv, fp, sizeof(fp)) == STATUS_OK);
		FUZZ_ASSERT(is_allowed(fp));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env[N_PARAMS + 1];
	const char *val[N_PARAMS] = {0};
	char *fields[N_PARAMS], *buf = NULL, err[256];
	struct request req;
	struct config cfg;
	size_t nf, next = 0, ne = 0;

	if (size < 1)
		return 0;
	nf = fuzz_split(data + 1, size - 1, &buf, fields, N_PARAMS);
	for (size_t i = 0; i < N_PARAMS && next < nf; i++) {
		if (!(data[0] & (1u << i)))
			continue;
		val[i] = fields[next++];
		env[ne] = malloc(strlen(params[i]) + strlen(val[i]) + 2);
		if (env[ne] == NULL)
			abort();
		snprintf(env[ne], strlen(params[i]) + strlen(val[i]) + 2, "%s=%s", params[i],
		         val[i]);
		ne++;
	}
	env[ne] = NULL;
	memset(&req, 0, sizeof(req));
	req.env = env;
	setup(&cfg, data[0] & 0x80);
	if (clientcert_check(&req, &cfg, FUZZ_NOW, err, sizeof(err)) == STATUS_OK)
		check_accepted(val);
	else
		FUZZ_ASSERT(err[0] != '\0');
	if (val[2] != NULL)
		check_cert(val[2]);
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	free(buf);
	return 0;
}
