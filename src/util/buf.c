/*
 * buf.c - bounded growable buffer (the curl dynbuf idea): a hard maximum per
 * buffer so no client or upstream can make the responder allocate without limit.
 */
#include "buf.h"
#include "buf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static enum status
grow(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64;
	char *p;

	if (need > b->max)
		return STATUS_TOO_LARGE;
	if (need + 1 <= b->cap)
		return STATUS_OK;
	while (cap < need + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return STATUS_NOMEM;
	b->data = p;
	b->cap = cap;
	return STATUS_OK;
}

enum status
buf_append(struct buf *b, const void *data, size_t len)
{
	enum status rc;

	if (len > b->max - b->len)
		return STATUS_TOO_LARGE;
	rc = grow(b, b->len + len);
	if (rc != STATUS_OK)
		return rc;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return STATUS_OK;
}

enum status
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum status
buf_appendf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	char *big = NULL;
	va_list ap;
	int n;
	enum status rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return STATUS_INTERNAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if ((size_t)n > b->max - b->len)
		return STATUS_TOO_LARGE;
	big = malloc((size_t)n + 1);
	if (big == NULL)
		return STATUS_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

/* Length of the run of unreserved characters (kept as they are) at s. */
static size_t
unreserved_run(const unsigned char *s)
{
	size_t n = 0;

	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_' || s[n] == '.' ||
	       s[n] == '~')
		n++;
	return n;
}

enum status
buf_append_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t start = b->len, run;
	enum status rc = STATUS_OK;
	char enc[3] = {'%'};

	while (*p != '\0' && rc == STATUS_OK) {
		run = unreserved_run(p);
		if (run > 0) {
			rc = buf_append(b, p, run);
			p += run;
		} else if (*p == ' ') {
			rc = buf_append(b, "+", 1);
			p++;
		} else {
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			rc = buf_append(b, enc, 3);
			p++;
		}
	}
	/* All or nothing, like every other append. */
	if (rc != STATUS_OK && b->data != NULL) {
		b->len = start;
		b->data[start] = '\0';
	}
	return rc;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	size_t max;

	if (b == NULL)
		return;
	max = b->max;
	if (b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	buf_init(b, max);
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	if (p == NULL)
		p = strdup("");
	buf_init(b, b->max);
	return p;
}
