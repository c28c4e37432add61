/*
 * fuzz_callback.c - libFuzzer harness for OneTouch callbacks: parameter
 * canonicalisation, signature verification and reading the outcome. Byte 0
 * chooses JSON or form parameters (bit 0) and POST or GET (bit 1); then come
 * nonce, signature and URL separated by NUL bytes, and the rest is the raw
 * parameter text. A signature computed over the canonical form must verify,
 * and the fuzzed one may only verify when it is exactly that one.
 */
#include "fuzz.h"

#include "authy.h"
#include "authy_int.h"
#include "buf.h"
#include "crypto.h"

#define FUZZ_KEY "fuzz-callback-api-key"

/* The signature Authy would send for cb, or "" when the parameters are unusable. */
static void
expected_signature(const struct authy_callback *cb, char *out, size_t outlen)
{
	struct buf data;
	enum status rc;

	out[0] = '\0';
	buf_init(&data, AUTHY_CALLBACK_MAX_BYTES * 4);
	rc = buf_appendf(&data, "%s|%s|%s|", cb->nonce, cb->method, cb->url);
	if (rc == STATUS_OK)
		rc = authy_callback_canonical(&cb->params, &data);
	if (rc == STATUS_OK &&
	    crypto_hmac_sha256_b64(FUZZ_KEY, data.data, data.len, out, outlen) != STATUS_OK)
		out[0] = '\0';
	buf_free(&data);
}

static void
check_canonical(const char *params, size_t len, bool json)
{
	struct buf a, b;
	enum status ra, rb;

	buf_init(&a, AUTHY_CALLBACK_MAX_BYTES * 4);
	buf_init(&b, AUTHY_CALLBACK_MAX_BYTES * 4);
	ra = authy_callback_canonical(&(struct provider_params){params, len, json}, &a);
	rb = authy_callback_canonical(&(struct provider_params){params, len, json}, &b);
	/* Deterministic, and the pairs come out sorted and form-encoded. */
	FUZZ_ASSERT(ra == rb);
	if (ra == STATUS_OK) {
		FUZZ_ASSERT(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
		FUZZ_ASSERT(a.len == 0 || strlen(a.data) == a.len);
		FUZZ_ASSERT(a.len == 0 || strpbrk(a.data, " []\r\n") == NULL);
	}
	buf_free(&a);
	buf_free(&b);
}

static void
check_result(const char *params, size_t len, bool json)
{
	char uuid[AUTHY_UUID_MAX + 1];
	enum status result = STATUS__COUNT;
	enum status rc = authy_callback_result(&(struct provider_params){params, len, json}, uuid,
	                                       sizeof(uuid), &result);

	if (rc == STATUS_OK)
		FUZZ_ASSERT(result == STATUS_OK || result == STATUS_DENIED ||
		            result == STATUS_EXPIRED);
	if (rc == STATUS_OK || rc == STATUS_PENDING)
		FUZZ_ASSERT(uuid[0] != '\0' &&
		            strspn(uuid, "0123456789abcdefABCDEF-") == strlen(uuid));
	else
		FUZZ_ASSERT(rc == STATUS_BAD_REQUEST);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authy_callback cb = {.api_key = FUZZ_KEY};
	char *fields[3], *buf = NULL, *params, want[128], err[256];
	size_t nf, off = 1;

	if (size < 1)
		return 0;
	nf = fuzz_split(data + 1, size - 1, &buf, fields, 3);
	for (size_t i = 0; i < nf; i++)
		off += strlen(fields[i]) + 1;
	if (nf < 3 || off > size) {
		free(buf);
		return 0;
	}
	params = malloc(size - off + 1);
	if (params == NULL)
		abort();
	memcpy(params, data + off, size - off);
	cb.nonce = fields[0];
	cb.signature = fields[1];
	cb.url = fields[2];
	cb.method = (data[0] & 2) ? "GET" : "POST";
	cb.params.json = data[0] & 1;
	cb.params.text = params;
	cb.params.len = size - off;
	check_canonical(cb.params.text, cb.params.len, cb.params.json);
	check_result(cb.params.text, cb.params.len, cb.params.json);
	expected_signature(&cb, want, sizeof(want));
	if (authy_callback_verify(&cb, err, sizeof(err)) == STATUS_OK)
		FUZZ_ASSERT(want[0] != '\0' && strcmp(cb.signature, want) == 0);
	if (want[0] != '\0' && cb.nonce[0] != '\0') {
		cb.signature = want;
		FUZZ_ASSERT(authy_callback_verify(&cb, err, sizeof(err)) == STATUS_OK);
	}
	free(params);
	free(buf);
	return 0;
}
