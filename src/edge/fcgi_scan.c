/*
 * fcgi_scan.c - FastCGI record checks ahead of libfcgi (see fcgi_scan.h).
 * Only whole records are looked at; a request must be BEGIN_REQUEST
 * (responder role), PARAMS up to the empty PARAMS record, STDIN up to the
 * empty STDIN record, all with one request id.
 */
#include "fcgi_scan.h"

#include <stdio.h>
#include <string.h>

#define HDR_LEN 8
#define FCGI_VERSION_1 1
#define T_BEGIN 1
#define T_ABORT 2
#define T_PARAMS 4
#define T_STDIN 5
#define ROLE_RESPONDER 1
#define FLAG_KEEP_CONN 1
#define LEN_31BIT 0x7fffffffULL

static enum fcgi_scan_result
bad(struct fcgi_scan *s, const char *why)
{
	snprintf(s->why, sizeof(s->why), "%s", why);
	return FCGI_SCAN_BAD;
}

/* One length field complete: check it, and account for the pair. */
static enum fcgi_scan_result
length_done(struct fcgi_scan *s, size_t params_max)
{
	unsigned long long v;

	if (s->lenneed == 1)
		v = s->lenbuf[0];
	else
		v = ((unsigned long long)(s->lenbuf[0] & 0x7f) << 24) |
		    ((unsigned long long)s->lenbuf[1] << 16) |
		    ((unsigned long long)s->lenbuf[2] << 8) | s->lenbuf[3];
	s->lenhave = s->lenneed = 0;
	if (s->which == 0) {
		s->name_len = v;
		s->which = 1;
		return FCGI_SCAN_MORE;
	}
	s->which = 0;
	/* libfcgi adds the two lengths in an int: refuse what would overflow it. */
	if (s->name_len + v >= LEN_31BIT)
		return bad(s, "params name and value lengths overflow");
	s->skip = s->name_len + v;
	if (s->params_len + s->skip > params_max)
		return bad(s, "params over the cap");
	s->params_len += (size_t)s->skip;
	return FCGI_SCAN_MORE;
}

/* Walk the content of one PARAMS record. */
static enum fcgi_scan_result
scan_params(struct fcgi_scan *s, const unsigned char *p, size_t n, size_t params_max)
{
	size_t i = 0;

	while (i < n) {
		if (s->skip > 0) {
			size_t k = s->skip < n - i ? (size_t)s->skip : n - i;
			s->skip -= k;
			i += k;
			continue;
		}
		if (s->lenneed == 0)
			s->lenneed = (p[i] & 0x80) ? 4 : 1;
		s->lenbuf[s->lenhave++] = p[i++];
		s->params_len++;
		if (s->params_len > params_max)
			return bad(s, "params over the cap");
		if (s->lenhave == s->lenneed && length_done(s, params_max) == FCGI_SCAN_BAD)
			return FCGI_SCAN_BAD;
	}
	return FCGI_SCAN_MORE;
}

static enum fcgi_scan_result
scan_begin(struct fcgi_scan *s, const unsigned char *c, size_t clen, unsigned id)
{
	if (s->began)
		return bad(s, "second BEGIN_REQUEST");
	if (clen != 8 || id == 0)
		return bad(s, "malformed BEGIN_REQUEST");
	if (((unsigned)c[0] << 8 | c[1]) != ROLE_RESPONDER)
		return bad(s, "role is not responder");
	s->began = 1;
	s->request_id = id;
	s->keep_conn = (c[2] & FLAG_KEEP_CONN) != 0;
	return FCGI_SCAN_MORE;
}

static enum fcgi_scan_result
scan_record(struct fcgi_scan *s, const unsigned char *h, size_t params_max, size_t body_max)
{
	unsigned type = h[1], id = (unsigned)h[2] << 8 | h[3];
	size_t clen = (size_t)h[4] << 8 | h[5];

	if (h[0] != FCGI_VERSION_1)
		return bad(s, "record version is not 1");
	if (type == T_BEGIN)
		return scan_begin(s, h + HDR_LEN, clen, id);
	if (!s->began || id != s->request_id)
		return bad(s, "record outside the request");
	if (type == T_ABORT)
		return bad(s, "request aborted before it was complete");
	if (type == T_PARAMS && !s->params_done) {
		if (clen == 0) {
			if (s->skip > 0 || s->lenneed > 0 || s->which != 0)
				return bad(s, "params end inside a name/value pair");
			s->params_done = 1;
			return FCGI_SCAN_MORE;
		}
		return scan_params(s, h + HDR_LEN, clen, params_max);
	}
	if (type == T_STDIN && s->params_done && !s->stdin_done) {
		if (clen == 0) {
			s->stdin_done = 1;
			return FCGI_SCAN_READY;
		}
		s->body_len += clen;
		return s->body_len > body_max ? FCGI_SCAN_TOO_LARGE : FCGI_SCAN_MORE;
	}
	return bad(s, "unexpected record type");
}

enum fcgi_scan_result
fcgi_scan_step(struct fcgi_scan *s, const unsigned char *buf, size_t len, size_t params_max,
               size_t body_max)
{
	enum fcgi_scan_result r = FCGI_SCAN_MORE;

	if (s->why[0] != '\0')
		return FCGI_SCAN_BAD;
	while (r == FCGI_SCAN_MORE && len - s->used >= HDR_LEN) {
		const unsigned char *h = buf + s->used;
		size_t rec = HDR_LEN + ((size_t)h[4] << 8 | h[5]) + h[6];
		if (h[0] != FCGI_VERSION_1)
			return bad(s, "record version is not 1");
		if (len - s->used < rec)
			break;
		r = scan_record(s, h, params_max, body_max);
		s->used += rec;
	}
	return r;
}

size_t
fcgi_scan_unpad(unsigned char *buf, size_t used)
{
	size_t in = 0, out = 0;

	while (used - in >= HDR_LEN) {
		size_t clen = (size_t)buf[in + 4] << 8 | buf[in + 5];
		size_t pad = buf[in + 6];
		if (used - in < HDR_LEN + clen + pad)
			break; /* not a whole record: fcgi_scan_step never counts one */
		buf[in + 6] = 0;
		if (out != in)
			memmove(buf + out, buf + in, HDR_LEN + clen);
		out += HDR_LEN + clen;
		in += HDR_LEN + clen + pad;
	}
	return out;
}
