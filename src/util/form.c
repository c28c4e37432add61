/*
 * form.c - application/x-www-form-urlencoded: the pairs of the bodies sent to
 * Authy and Verify, and the splitting and decoding of the bodies their
 * callbacks and webhooks post, for every module that speaks forms.
 */
#include "form.h"
#include "form_int.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum status
form_add(struct buf *b, const char *name, const char *sub, const char *value)
{
	enum status rc = STATUS_OK;

	if (b->len > 0)
		rc = buf_append_str(b, "&");
	if (rc == STATUS_OK)
		rc = buf_append_urlenc(b, name);
	if (rc == STATUS_OK && sub != NULL) {
		rc = buf_append_str(b, "%5B");
		if (rc == STATUS_OK)
			rc = buf_append_urlenc(b, sub);
		if (rc == STATUS_OK)
			rc = buf_append_str(b, "%5D");
	}
	if (rc == STATUS_OK)
		rc = buf_append_str(b, "=");
	if (rc == STATUS_OK)
		rc = buf_append_urlenc(b, value != NULL ? value : "");
	return rc;
}

/* %XX escapes always; '+' is a space only in form components (plus_space). */
static enum status
percent_decode(const char *in, size_t len, char *out, bool plus_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (in[i] != '%') {
			out[o++] = plus_space && in[i] == '+' ? ' ' : in[i];
			continue;
		}
		hi = i + 2 < len ? util_hexval((unsigned char)in[i + 1]) : -1;
		lo = i + 2 < len ? util_hexval((unsigned char)in[i + 2]) : -1;
		/* A truncated escape or an encoded NUL is not text. */
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return STATUS_BAD_REQUEST;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return STATUS_OK;
}

enum status
form_decode(const char *in, size_t len, char *out)
{
	return percent_decode(in, len, out, true);
}

enum status
form_unescape(const char *in, size_t len, char *out)
{
	return percent_decode(in, len, out, false);
}

/* Decode the item of n bytes at item (name, then value after the first '=') and visit it. */
static enum status
visit_item(const char *item, size_t n, form_visit_fn fn, void *arg)
{
	const char *eq = memchr(item, '=', n);
	size_t nlen = eq != NULL ? (size_t)(eq - item) : n;
	size_t vlen = eq != NULL ? n - nlen - 1 : 0;
	char *name = malloc(n + 2), *value;
	enum status rc;

	if (name == NULL)
		return STATUS_NOMEM;
	value = name + nlen + 1;
	rc = form_decode(item, nlen, name);
	if (rc == STATUS_OK)
		rc = form_decode(eq != NULL ? eq + 1 : item + n, vlen, value);
	if (rc == STATUS_OK)
		rc = fn(arg, name, value);
	util_zero_free(name, n + 2);
	return rc;
}

enum status
form_each(const char *params, size_t len, form_visit_fn fn, void *arg)
{
	size_t i = 0;
	enum status rc = STATUS_OK;

	if (len > 0 && (params == NULL || memchr(params, '\0', len) != NULL))
		return STATUS_BAD_REQUEST;
	while (i < len && rc == STATUS_OK) {
		const char *amp = memchr(params + i, '&', len - i);
		size_t end = amp != NULL ? (size_t)(amp - params) : len;

		if (end - i > FORM_ITEM_MAX)
			rc = STATUS_BAD_REQUEST;
		else if (end > i)
			rc = visit_item(params + i, end - i, fn, arg);
		i = end + 1;
	}
	return rc;
}

struct get {
	const char *name;
	char *out;
	size_t outlen;
	bool found;
};

static enum status
get_visit(void *arg, const char *name, const char *value)
{
	struct get *g = arg;

	if (g->found || strcmp(name, g->name) != 0)
		return STATUS_OK;
	g->found = true;
	return util_strlcpy(g->out, value, g->outlen) < g->outlen ? STATUS_OK : STATUS_BAD_REQUEST;
}

enum status
form_get(const char *params, size_t len, const char *name, char *out, size_t outlen)
{
	struct get g = {name, out, outlen, false};
	enum status rc;

	if (outlen > 0)
		out[0] = '\0';
	rc = form_each(params, len, get_visit, &g);
	if (rc == STATUS_OK && !g.found)
		rc = STATUS_BAD_REQUEST;
	return rc;
}
