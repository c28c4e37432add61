/*
 * b2c.c - the Azure AD B2C REST contract: reading and validating the flat
 * claims body B2C posts, the 200 output-claims bodies, and the one place where
 * an internal status becomes an HTTP reply (409 + userMessage for anything
 * the user should read on the B2C page, 4xx/5xx for the rest).
 */
#include "b2c.h"
#include "b2c_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"
#include "util.h"

#define LOCAL_MAX 64
#define LABEL_MAX 63
#define REQUEST_ID_MAX 128 /* bytes of requestId echoed back, after sanitizing */

struct err_map {
	int http;
	const char *msg;
	int retry_after_s;
};

/* Every enum status value; the unit test checks each entry. */
static const struct err_map err_table[] = {
    [STATUS_OK] = {200, B2C_MSG_INTERNAL, 0},
    [STATUS_NOMEM] = {500, B2C_MSG_INTERNAL, 0},
    [STATUS_INTERNAL] = {500, B2C_MSG_INTERNAL, 0},
    [STATUS_CONFIG] = {500, B2C_MSG_INTERNAL, 0},
    [STATUS_NOT_FOUND] = {404, B2C_MSG_NOT_FOUND, 0},
    [STATUS_METHOD] = {405, B2C_MSG_METHOD, 0},
    [STATUS_BAD_REQUEST] = {400, B2C_MSG_BAD_REQUEST, 0},
    [STATUS_MEDIA_TYPE] = {415, B2C_MSG_MEDIA_TYPE, 0},
    [STATUS_TOO_LARGE] = {413, B2C_MSG_TOO_LARGE, 0},
    [STATUS_FORBIDDEN] = {403, B2C_MSG_FORBIDDEN, 0},
    [STATUS_UNAUTHORIZED] = {401, B2C_MSG_UNAUTHORIZED, 0},
    [STATUS_IDENTITY_MISSING] = {409, B2C_MSG_IDENTITY_MISSING, 0},
    [STATUS_EMAIL_INVALID] = {409, B2C_MSG_EMAIL_INVALID, 0},
    [STATUS_PHONE_MISSING] = {409, B2C_MSG_PHONE_MISSING, 0},
    [STATUS_PHONE_INVALID] = {409, B2C_MSG_PHONE_INVALID, 0},
    [STATUS_AUTHYID_MISSING] = {409, B2C_MSG_AUTHYID_MISSING, 0},
    [STATUS_AUTHYID_INVALID] = {409, B2C_MSG_AUTHYID_INVALID, 0},
    [STATUS_USER_REJECTED] = {409, B2C_MSG_USER_REJECTED, 0},
    [STATUS_USER_NOT_FOUND] = {409, B2C_MSG_USER_NOT_FOUND, 0},
    [STATUS_APPROVAL_NOT_FOUND] = {409, B2C_MSG_APPROVAL_NOT_FOUND, 0},
    /* Authy's rate limit is per minute; B2C shows the 409 text, proxies honour the header */
    [STATUS_RATE_LIMITED] = {409, B2C_MSG_RATE_LIMITED, 60},
    /* upstream trouble is shown to the user: B2C turns a 5xx into a generic page */
    [STATUS_UPSTREAM_AUTH] = {409, B2C_MSG_UPSTREAM, 0},
    [STATUS_UPSTREAM_CONNECT] = {409, B2C_MSG_UPSTREAM, 0},
    [STATUS_UPSTREAM_TIMEOUT] = {409, B2C_MSG_UPSTREAM, 0},
    [STATUS_UPSTREAM_HTTP] = {409, B2C_MSG_UPSTREAM, 0},
    [STATUS_UPSTREAM_PROTOCOL] = {409, B2C_MSG_UPSTREAM, 0},
    [STATUS_PENDING] = {409, B2C_MSG_TIMEOUT, 0},
    [STATUS_DENIED] = {409, B2C_MSG_DENIED, 0},
    [STATUS_EXPIRED] = {409, B2C_MSG_EXPIRED, 0},
    [STATUS_TIMEOUT] = {409, B2C_MSG_TIMEOUT, 0},
    [STATUS_ABORTED] = {409, B2C_MSG_ABORTED, 0},
    [STATUS_UNAVAILABLE] = {503, B2C_MSG_UNAVAILABLE, 5},
    [STATUS_NO_FACTOR] = {409, B2C_MSG_NO_FACTOR, 0},
    /* never a reply: the edge waits for req_ctx_done */
    [STATUS_ASYNC] = {500, B2C_MSG_INTERNAL, 0},
    [STATUS_NO_CORRELATION] = {409, B2C_MSG_CORRELATION_MISSING, 0},
    [STATUS_PUSH_LIMITED] = {409, B2C_MSG_PUSH_LIMITED, 0},
    [STATUS_TOKEN_MISSING] = {409, B2C_MSG_TOKEN_MISSING, 0},
    [STATUS_TOKEN_INVALID] = {409, B2C_MSG_TOKEN_INVALID, 0},
    [STATUS_TOKEN_WRONG] = {409, B2C_MSG_TOKEN_WRONG, 0},
    [STATUS_TOKEN_LIMITED] = {409, B2C_MSG_TOKEN_LIMITED, 0},
    [STATUS_NO_TOTP_FACTOR] = {409, B2C_MSG_NO_TOTP_FACTOR, 0},
    [STATUS_TOKEN_USED] = {409, B2C_MSG_TOKEN_USED, 0},
};

_Static_assert(sizeof(err_table) / sizeof(err_table[0]) == STATUS__COUNT,
               "err_table must cover every enum status value");

static const struct err_map *
err_of(enum status rc)
{
	if ((unsigned)rc >= STATUS__COUNT || err_table[rc].msg == NULL)
		return &err_table[STATUS_INTERNAL];
	return &err_table[rc];
}

/*
 * ---- claims ----
 * A bad claim does not fail the parse: the validators then answer with the
 * claim's own 409 message, which B2C shows next to the form, instead of a 400
 * that B2C can only turn into its generic "request failed" page.
 */

static int
is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * C0 controls, DEL, C1 controls and the invisible format characters: soft
 * hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers,
 * Khmer inherent vowels, Mongolian vowel separator, zero-width and direction
 * marks, line and paragraph separators, direction embeddings, overrides and
 * isolates, invisible operators, the byte order mark, interlinear annotation
 * marks, shorthand format controls, musical format controls and tags (the
 * default-ignorable code points less the variation selectors, which emoji
 * and CJK names need). They would make two names that look the same differ,
 * or turn what a log line or a push shows around.
 */
static bool
is_hidden(long cp)
{
	static const long ranges[][2] = {
	    {0x0, 0x1f},        {0x7f, 0x9f},       {0xad, 0xad},     {0x34f, 0x34f},
	    {0x61c, 0x61c},     {0x115f, 0x1160},   {0x17b4, 0x17b5}, {0x180e, 0x180e},
	    {0x200b, 0x200f},   {0x2028, 0x202e},   {0x2060, 0x206f}, {0x3164, 0x3164},
	    {0xfeff, 0xfeff},   {0xffa0, 0xffa0},   {0xfff9, 0xfffb}, {0x1bca0, 0x1bca3},
	    {0x1d173, 0x1d17a}, {0xe0000, 0xe007f},
	};

	if (cp >= 0x20 && cp < 0x7f)
		return false; /* printable ASCII, most of what B2C sends */
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	}
	return false;
}

static bool
has_control(const char *s, size_t n)
{
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		if (is_hidden(utf8_decode(s + i, n - i, &len)))
			return true;
	}
	return false;
}

/*
 * Copy s without surrounding ASCII white space into dst (a no-break space
 * stays: B2C may tell names apart by it). STATUS_BAD_REQUEST when the rest
 * does not fit or contains a control or an invisible format character.
 */
static enum status
copy_trimmed(const char *s, char *dst, size_t dstlen)
{
	size_t n = strlen(s);

	while (n > 0 && is_ascii_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_ascii_space((unsigned char)s[n - 1]))
		n--;
	if (n >= dstlen || has_control(s, n))
		return STATUS_BAD_REQUEST;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return STATUS_OK;
}

/*
 * Read one claim into dst ("" when absent or null). Strings always; integers
 * only when numbers_ok (B2C sends phone numbers and ids as integers when the
 * claim type is int/long). STATUS_BAD_REQUEST for any other type or content.
 */
static enum status
read_claim(const struct json *j, const char *key, bool numbers_ok, char *dst, size_t dstlen)
{
	char num[32];
	const char *s = NULL;
	bool b;
	enum status rc;

	dst[0] = '\0';
	rc = json_get_string(j, key, &s);
	if (rc == STATUS_OK)
		return copy_trimmed(s, dst, dstlen);
	if (rc == STATUS_NOT_FOUND)
		return STATUS_OK;
	if (!numbers_ok || json_get_bool(j, key, &b) == STATUS_OK)
		return STATUS_BAD_REQUEST;
	if (json_get_scalar(j, key, num, sizeof(num)) != STATUS_OK)
		return STATUS_BAD_REQUEST;
	return copy_trimmed(num, dst, dstlen);
}

/* authyId, or its alias appCode when authyId is absent. */
static enum status
read_authy_id(const struct json *j, char *dst, size_t dstlen)
{
	enum status rc = read_claim(j, B2C_CLAIM_AUTHY_ID, true, dst, dstlen);

	if (rc == STATUS_OK && dst[0] == '\0')
		rc = read_claim(j, B2C_CLAIM_APP_CODE, true, dst, dstlen);
	if (rc == STATUS_OK && dst[0] != '\0' && !util_is_digits(dst, B2C_AUTHY_ID_MAX))
		rc = STATUS_BAD_REQUEST;
	return rc;
}

/*
 * Record invalid as the claim's status and empty its field, so a handler
 * that skips the validators still never forwards a malformed value to Authy.
 */
static void
mark(enum status rc, enum status invalid, enum status *field_rc, char *field)
{
	if (rc == STATUS_OK)
		return;
	*field_rc = invalid;
	field[0] = '\0';
}

bool
b2c_correlation_id_valid(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, B2C_CORRELATION_ID_MAX + 1);
	if (len == 0 || len > B2C_CORRELATION_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

/* correlationId: a claim with content that is safe in logs and push details. */
static enum status
read_correlation_id(const struct json *j, char *dst, size_t dstlen)
{
	enum status rc = read_claim(j, B2C_CLAIM_CORRELATION_ID, false, dst, dstlen);

	if (rc == STATUS_OK && dst[0] != '\0' && !b2c_correlation_id_valid(dst))
		rc = STATUS_BAD_REQUEST;
	return rc;
}

/* ipAddress: only an IPv4 or IPv6 literal, re-printed canonically; else nothing. */
static enum status
read_ip_address(const struct json *j, char *dst, size_t dstlen)
{
	char raw[B2C_IP_MAX + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	int af = AF_INET;
	enum status rc = read_claim(j, B2C_CLAIM_IP_ADDRESS, false, raw, sizeof(raw));

	dst[0] = '\0';
	if (rc != STATUS_OK || raw[0] == '\0')
		return rc;
	if (inet_pton(af, raw, addr) != 1) {
		af = AF_INET6;
		if (inet_pton(af, raw, addr) != 1)
			return STATUS_BAD_REQUEST;
	}
	if (inet_ntop(af, addr, dst, (socklen_t)dstlen) == NULL) {
		dst[0] = '\0';
		return STATUS_BAD_REQUEST;
	}
	return STATUS_OK;
}

_Static_assert(B2C_OBJECT_ID_LEN == UTIL_GUID_LEN, "an objectId is a GUID");

/* objectId: a GUID, 8-4-4-4-12 hex digits, kept in lower case; else nothing. */
static enum status
read_object_id(const struct json *j, char *dst, size_t dstlen)
{
	enum status rc = read_claim(j, B2C_CLAIM_OBJECT_ID, false, dst, dstlen);

	if (rc != STATUS_OK || dst[0] == '\0')
		return rc;
	return util_guid_lower(dst, dst) ? STATUS_OK : STATUS_BAD_REQUEST;
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * The code as typed: users copy the app's grouping ("123 4567", "123-456"),
 * so one space or dash between two digits is dropped. Any other character,
 * a separator at either end or two in a row leaves the code invalid
 * (STATUS_BAD_REQUEST), as does a digit count outside B2C_TOKEN_MIN..MAX.
 */
static enum status
ungroup_token(const char *s, char *dst, size_t dstlen)
{
	enum status rc = STATUS_BAD_REQUEST;
	size_t n = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (is_digit(s[i]) && n + 1 < dstlen)
			dst[n++] = s[i];
		else if (!((s[i] == ' ' || s[i] == '-') && i > 0 && is_digit(s[i - 1]) &&
		           is_digit(s[i + 1])))
			goto out;
	}
	dst[n] = '\0';
	if (b2c_token_valid(dst))
		rc = STATUS_OK;
out:
	if (rc != STATUS_OK)
		explicit_bzero(dst, dstlen);
	return rc;
}

/* token: a string (a number would lose leading zeros), ungrouped into dst. */
static enum status
read_token(const struct json *j, char *dst, size_t dstlen)
{
	/* B2C_TOKEN_MAX digits with a separator between each two */
	char raw[2 * B2C_TOKEN_MAX];
	enum status rc = read_claim(j, B2C_CLAIM_TOKEN, false, raw, sizeof(raw));

	dst[0] = '\0';
	if (rc == STATUS_OK && raw[0] != '\0')
		rc = ungroup_token(raw, dst, dstlen);
	explicit_bzero(raw, sizeof(raw));
	return rc;
}

enum status
b2c_parse_claims(const char *body, size_t len, struct b2c_claims *c)
{
	struct json *j = NULL;
	enum status rc;

	/* all *_rc start as STATUS_OK (0) and all fields as "" (absent) */
	memset(c, 0, sizeof(*c));
	rc = json_parse(body, len, &j);
	if (rc != STATUS_OK)
		goto out;
	rc = read_claim(j, B2C_CLAIM_EMAIL, false, c->email, sizeof(c->email));
	if (rc == STATUS_OK && c->email[0] != '\0' && !b2c_email_valid(c->email))
		rc = STATUS_BAD_REQUEST;
	mark(rc, STATUS_EMAIL_INVALID, &c->email_rc, c->email);
	rc = read_claim(j, B2C_CLAIM_SIGNIN_NAME, false, c->sign_in_name, sizeof(c->sign_in_name));
	mark(rc, STATUS_IDENTITY_MISSING, &c->name_rc, c->sign_in_name);
	rc = read_claim(j, B2C_CLAIM_PHONE, true, c->phone, sizeof(c->phone));
	mark(rc, STATUS_PHONE_INVALID, &c->phone_rc, c->phone);
	rc = read_claim(j, B2C_CLAIM_COUNTRY_CODE, true, c->country_code, sizeof(c->country_code));
	mark(rc, STATUS_PHONE_INVALID, &c->phone_rc, c->country_code);
	rc = read_authy_id(j, c->authy_id, sizeof(c->authy_id));
	mark(rc, STATUS_AUTHYID_INVALID, &c->authy_id_rc, c->authy_id);
	rc = read_correlation_id(j, c->correlation_id, sizeof(c->correlation_id));
	mark(rc, STATUS_NO_CORRELATION, &c->correlation_rc, c->correlation_id);
	rc = read_ip_address(j, c->ip_address, sizeof(c->ip_address));
	mark(rc, STATUS_BAD_REQUEST, &c->ip_rc, c->ip_address);
	rc = read_object_id(j, c->object_id, sizeof(c->object_id));
	mark(rc, STATUS_BAD_REQUEST, &c->object_id_rc, c->object_id);
	rc = read_token(j, c->token, sizeof(c->token));
	mark(rc, STATUS_TOKEN_INVALID, &c->token_rc, c->token);
	rc = STATUS_OK;
out:
	json_free(j);
	return rc;
}

/*
 * ---- validation ----
 * Authy needs an email address for users/new and rejects odd ones with 60027
 * after a round trip, so addresses are checked here to a plain, widely
 * deliverable subset: dot-atom local part, LDH host names, no IP literals.
 */

static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Dot-atom local part: atext runs separated by single dots. */
static bool
local_ok(const char *s, size_t n)
{
	if (n == 0 || n > LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* One DNS label of n bytes; *digits_only tells whether it has no letter or '-'. */
static bool
label_ok(const char *s, size_t n, bool *digits_only)
{
	*digits_only = true;
	if (n == 0 || n > LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= '0' && c <= '9')
			continue;
		*digits_only = false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
			return false;
	}
	return true;
}

static bool
domain_ok(const char *d)
{
	size_t labels = 0;
	bool digits_only = false;

	for (;;) {
		size_t n = strcspn(d, ".");
		if (!label_ok(d, n, &digits_only))
			return false;
		labels++;
		if (d[n] == '\0')
			break;
		d += n + 1;
	}
	/* a dotted domain whose top-level label is not numeric (no IP addresses) */
	return labels >= 2 && !digits_only;
}

bool
b2c_email_valid(const char *s)
{
	const char *at;
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, B2C_EMAIL_MAX + 1);
	if (len == 0 || len > B2C_EMAIL_MAX)
		return false;
	at = strchr(s, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return false;
	return local_ok(s, (size_t)(at - s)) && domain_ok(at + 1);
}

bool
b2c_sign_in_name_valid(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, B2C_NAME_MAX + 1);
	return len > 0 && len <= B2C_NAME_MAX && !has_control(s, len);
}

static enum status
check_identity(const struct b2c_claims *c)
{
	/* An email that was sent must be right, even if a sign-in name is there too. */
	if (c->email_rc != STATUS_OK)
		return STATUS_EMAIL_INVALID;
	if (c->email[0] != '\0')
		return b2c_email_valid(c->email) ? STATUS_OK : STATUS_EMAIL_INVALID;
	if (c->name_rc != STATUS_OK)
		return STATUS_IDENTITY_MISSING;
	/* The account alone names the user; the provider says whether it needs a name too. */
	if (c->sign_in_name[0] == '\0' && c->object_id[0] != '\0')
		return STATUS_OK;
	return b2c_sign_in_name_valid(c->sign_in_name) ? STATUS_OK : STATUS_IDENTITY_MISSING;
}

/* objectId: absent, or a GUID (also when the field was filled in by hand). */
static bool
object_id_ok(const struct b2c_claims *c)
{
	char guid[B2C_OBJECT_ID_LEN + 1];

	if (c->object_id_rc != STATUS_OK)
		return false;
	return c->object_id[0] == '\0' || util_guid_lower(c->object_id, guid);
}

enum status
b2c_validate_register(const struct b2c_claims *c, bool need_phone, struct phone_number *phone)
{
	struct phone_number scratch;
	enum status rc;

	if (phone == NULL)
		phone = &scratch;
	memset(phone, 0, sizeof(*phone));
	rc = check_identity(c);
	if (rc != STATUS_OK)
		return rc;
	if (!object_id_ok(c))
		return STATUS_BAD_REQUEST;
	if (c->phone_rc != STATUS_OK)
		return STATUS_PHONE_INVALID;
	/* Authy takes country code and national number as separate fields. */
	rc = phone_parse(c->phone, c->country_code, phone);
	/* Verify enrols the app, not a number: none sent is fine, a bad one is not. */
	if (rc == STATUS_PHONE_MISSING && !need_phone)
		rc = STATUS_OK;
	return rc;
}

enum status
b2c_validate_binding(const struct b2c_claims *c, bool require)
{
	if (c->correlation_rc != STATUS_OK)
		return STATUS_NO_CORRELATION;
	if (c->correlation_id[0] == '\0' && require)
		return STATUS_NO_CORRELATION;
	return STATUS_OK;
}

/* Separates the fields of b2c_signin_key: no claim can hold it. */
#define KEY_SEP "\x1f"

void
b2c_signin_key(const struct b2c_claims *c, char key[B2C_SIGNIN_KEY_MAX])
{
	snprintf(key, B2C_SIGNIN_KEY_MAX, "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s" KEY_SEP "%s",
	         c->authy_id, c->sign_in_name, c->email, c->correlation_id, c->ip_address);
}

enum status
b2c_validate_wait(const struct b2c_claims *c)
{
	if (c->authy_id_rc != STATUS_OK)
		return STATUS_AUTHYID_INVALID;
	if (c->authy_id[0] == '\0')
		return STATUS_AUTHYID_MISSING;
	if (!util_is_digits(c->authy_id, B2C_AUTHY_ID_MAX))
		return STATUS_AUTHYID_INVALID;
	/*
	 * The push shows the sign-in name (else the email) and both are in the
	 * re-attach key: one that was sent but is unusable is refused as on
	 * register, not left out, so no push goes out without them.
	 */
	if (c->email_rc != STATUS_OK)
		return STATUS_EMAIL_INVALID;
	if (c->name_rc != STATUS_OK && c->email[0] == '\0')
		return STATUS_IDENTITY_MISSING;
	return STATUS_OK;
}

bool
b2c_token_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, B2C_TOKEN_MAX + 1);
	return n >= B2C_TOKEN_MIN && util_is_digits(s, B2C_TOKEN_MAX);
}

enum status
b2c_validate_token(const struct b2c_claims *c)
{
	enum status rc = b2c_validate_wait(c);

	if (rc != STATUS_OK)
		return rc;
	if (c->token_rc != STATUS_OK)
		return STATUS_TOKEN_INVALID;
	if (c->token[0] == '\0')
		return STATUS_TOKEN_MISSING;
	return b2c_token_valid(c->token) ? STATUS_OK : STATUS_TOKEN_INVALID;
}

void
b2c_claims_wipe(struct b2c_claims *c)
{
	if (c != NULL)
		explicit_bzero(c->token, sizeof(c->token));
}

/*
 * ---- replies ----
 * B2C reads output claims by top-level key and needs 200 with a JSON object;
 * a key that is not sent leaves the claim unset, so nothing is sent as null.
 */

/* A 200 reply with body; res is only changed on success. */
static enum status
reply_200(struct response *res, const char *body, size_t len)
{
	enum status rc = response_set_body(res, body, len);

	if (rc != STATUS_OK)
		return rc;
	res->http_status = 200;
	res->content_type = B2C_CONTENT_TYPE;
	res->allow = NULL;
	res->retry_after_s = 0;
	return STATUS_OK;
}

/* Serialize and free j (NULL after a failed allocation); *text is for free(). */
static enum status
take_json(struct json *j, enum status rc, char **text, size_t *len)
{
	*text = NULL;
	if (j == NULL)
		rc = STATUS_NOMEM;
	if (rc == STATUS_OK)
		rc = json_serialize(j, text, len);
	json_free(j);
	return rc;
}

/* 200 with one string claim: {"<name>":"<value>"}. */
static enum status
reply_string_claim(struct response *res, const char *name, const char *value)
{
	struct json *j;
	char *text = NULL;
	size_t len = 0;
	enum status rc;

	if (value == NULL)
		return STATUS_INTERNAL;
	j = json_new_object();
	rc = j ? json_add_string(j, name, value) : STATUS_NOMEM;
	rc = take_json(j, rc, &text, &len);
	if (rc == STATUS_OK)
		rc = reply_200(res, text, len);
	free(text);
	return rc;
}

enum status
b2c_reply_authy_id(struct response *res, const char *authy_id)
{
	return reply_string_claim(res, B2C_OUT_AUTHY_ID, authy_id);
}

enum status
b2c_reply_approved(struct response *res)
{
	static const char body[] = "{\"" B2C_OUT_APPROVED "\":true}";

	return reply_200(res, body, sizeof(body) - 1);
}

enum status
b2c_reply_factor_status(struct response *res, const char *status)
{
	return reply_string_claim(res, B2C_OUT_FACTOR_STATUS, status);
}

static enum status
error_body(struct response *res, enum status rc, const struct err_map *m, const char *rid)
{
	struct json *j = json_new_object();
	enum status jrc = j ? STATUS_OK : STATUS_NOMEM;
	char *text = NULL;
	size_t len = 0;

	if (jrc == STATUS_OK)
		jrc = json_add_string(j, B2C_KEY_VERSION, B2C_ERR_VERSION);
	if (jrc == STATUS_OK)
		jrc = json_add_int(j, B2C_KEY_STATUS, m->http);
	if (jrc == STATUS_OK)
		jrc = json_add_string(j, B2C_KEY_USER_MESSAGE, m->msg);
	if (jrc == STATUS_OK)
		jrc = json_add_string(j, B2C_KEY_CODE, status_str(rc));
	if (jrc == STATUS_OK && rid[0] != '\0')
		jrc = json_add_string(j, B2C_KEY_REQUEST_ID, rid);
	jrc = take_json(j, jrc, &text, &len);
	if (jrc == STATUS_OK)
		jrc = response_set_body(res, text, len);
	free(text);
	return jrc;
}

/* Without json-c: the messages and codes are constants that need no escaping. */
static enum status
error_body_plain(struct response *res, enum status rc, const struct err_map *m)
{
	char text[512];
	int n =
	    snprintf(text, sizeof(text), "{\"%s\":\"%s\",\"%s\":%d,\"%s\":\"%s\",\"%s\":\"%s\"}",
	             B2C_KEY_VERSION, B2C_ERR_VERSION, B2C_KEY_STATUS, m->http,
	             B2C_KEY_USER_MESSAGE, m->msg, B2C_KEY_CODE, status_str(rc));

	if (n < 0 || (size_t)n >= sizeof(text))
		return STATUS_INTERNAL;
	return response_set_body(res, text, (size_t)n);
}

void
b2c_reply_error(struct response *res, enum status rc, const char *request_id)
{
	char rid[REQUEST_ID_MAX];
	const struct err_map *m;

	if ((unsigned)rc >= STATUS__COUNT || rc == STATUS_OK)
		rc = STATUS_INTERNAL; /* a caller bug: never answer 200 from here */
	m = err_of(rc);
	/* The id may come from a client header: keep it printable ASCII. */
	util_sanitize(request_id && request_id[0] ? request_id : "", rid, sizeof(rid));
	res->http_status = m->http;
	res->content_type = B2C_CONTENT_TYPE;
	res->allow = rc == STATUS_METHOD ? "POST" : NULL;
	res->retry_after_s = m->retry_after_s;
	if (error_body(res, rc, m, rid) == STATUS_OK)
		return;
	if (error_body_plain(res, rc, m) == STATUS_OK)
		return;
	/* Out of memory twice: an empty 500 still ends the request cleanly. */
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	res->http_status = 500;
	res->allow = NULL;
	res->retry_after_s = 0;
}

/* Callers use this for metrics and access logs as well as for replies. */
int
b2c_http_status(enum status rc)
{
	return err_of(rc)->http;
}

const char *
b2c_user_message(enum status rc)
{
	if (rc == STATUS_OK)
		return B2C_MSG_INTERNAL;
	return err_of(rc)->msg;
}
