/*
 * fcgi_scan.c - FastCGI record checks ahead of libfcgi (see fcgi_scan.h).
 * Only whole records are looked at; a request must be BEGIN_REQUEST
 * (responder role), PARAMS up to the empty PARAMS record, STDIN up to the
 * empty STDIN record, all with one request id. Management records (request
 * id 0), before a request, among its records or while it runs, are
 * answered, as the specification asks, and so is FCGI_ABORT_REQUEST; one
 * for a request that is not this one is ignored.
 */
#include "fcgi_scan.h"

#include <stdio.h>
#include <string.h>

#define HDR_LEN 8
#define FCGI_VERSION_1 1
#define T_BEGIN 1
#define T_ABORT 2
#define T_END 3
#define T_PARAMS 4
#define T_STDIN 5
#define T_GET_VALUES 9
#define T_GET_VALUES_RESULT 10
#define T_UNKNOWN_TYPE 11
#define ROLE_RESPONDER 1
#define REQUEST_COMPLETE 0 /* FCGI_END_REQUEST's protocolStatus */
#define CANT_MPX_CONN 1
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
	/* The web server may send a management record at any time. */
	if (id == 0)
		return FCGI_SCAN_MGMT;
	/* An abort that crossed the reply of a request that has ended, or one for a
	 * request never begun here: the specification says to ignore it. */
	if (type == T_ABORT && (!s->began || id != s->request_id))
		return FCGI_SCAN_STALE;
	if (!s->began || id != s->request_id)
		return bad(s, "record outside the request");
	if (type == T_ABORT)
		return FCGI_SCAN_ABORTED;
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
		s->mgmt_at = s->used;
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

/* The variables FCGI_GET_VALUES may ask for, and how many of them we answer. */
static const char *const mgmt_names[] = {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"};
#define MGMT_NAMES (sizeof(mgmt_names) / sizeof(mgmt_names[0]))

/* One length of a name-value pair at p[*i..n); 0 with *ok cleared when it is cut short. */
static size_t
pair_len(const unsigned char *p, size_t n, size_t *i, int *ok)
{
	size_t v;

	if (*i >= n || ((p[*i] & 0x80) && n - *i < 4)) {
		*ok = 0;
		return 0;
	}
	if (!(p[*i] & 0x80))
		return p[(*i)++];
	v = (size_t)(p[*i] & 0x7f) << 24 | (size_t)p[*i + 1] << 16 | (size_t)p[*i + 2] << 8 |
	    p[*i + 3];
	*i += 4;
	return v;
}

/* Which of mgmt_names the FCGI_GET_VALUES content p[0..n) asks for, as bits. */
static unsigned
asked_names(const unsigned char *p, size_t n)
{
	unsigned asked = 0;
	size_t i = 0;
	int ok = 1;

	while (i < n && ok) {
		size_t nl = pair_len(p, n, &i, &ok), vl = pair_len(p, n, &i, &ok);
		if (!ok || nl > n - i || vl > n - i - nl)
			break;
		for (size_t k = 0; k < MGMT_NAMES; k++) {
			if (nl == strlen(mgmt_names[k]) && memcmp(p + i, mgmt_names[k], nl) == 0)
				asked |= 1u << k;
		}
		i += nl + vl;
	}
	return asked;
}

size_t
fcgi_scan_mgmt_reply(const unsigned char *rec, size_t len, long max_conns, unsigned char *out)
{
	size_t clen = (size_t)rec[4] << 8 | rec[5], n = 0, pad;
	unsigned asked;

	if (clen > len - HDR_LEN)
		clen = len - HDR_LEN;
	memset(out, 0, FCGI_SCAN_MGMT_REPLY_MAX);
	out[0] = FCGI_VERSION_1;
	if (rec[1] != T_GET_VALUES) {
		out[1] = T_UNKNOWN_TYPE;
		out[5] = 8;
		out[HDR_LEN] = rec[1];
		return HDR_LEN + 8;
	}
	asked = asked_names(rec + HDR_LEN, clen);
	for (size_t k = 0; k < MGMT_NAMES; k++) {
		char value[24];
		size_t nl = strlen(mgmt_names[k]), vl;
		if (!(asked & (1u << k)))
			continue;
		vl = (size_t)snprintf(value, sizeof(value), "%ld", k == 2 ? 0L : max_conns);
		out[HDR_LEN + n++] = (unsigned char)nl;
		out[HDR_LEN + n++] = (unsigned char)vl;
		memcpy(out + HDR_LEN + n, mgmt_names[k], nl);
		memcpy(out + HDR_LEN + n + nl, value, vl);
		n += nl + vl;
	}
	pad = (8 - n % 8) % 8;
	out[1] = T_GET_VALUES_RESULT;
	out[5] = (unsigned char)n;
	out[6] = (unsigned char)pad;
	return HDR_LEN + n + pad;
}

enum fcgi_scan_flight
fcgi_scan_in_flight(const unsigned char *hdr, unsigned request_id, size_t *keep, size_t *skip)
{
	unsigned id = (unsigned)hdr[2] << 8 | hdr[3];
	size_t clen = (size_t)hdr[4] << 8 | hdr[5];

	*keep = 0;
	*skip = clen + hdr[6];
	if (hdr[0] != FCGI_VERSION_1)
		return FCGI_SCAN_FLIGHT_BAD;
	if (id == 0) {
		*keep = clen < FCGI_SCAN_MGMT_KEEP ? clen : FCGI_SCAN_MGMT_KEEP;
		*skip -= *keep;
		return FCGI_SCAN_FLIGHT_MGMT;
	}
	if (id != request_id)
		return FCGI_SCAN_FLIGHT_FOREIGN;
	/* The specification asks the application to answer it with FCGI_END_REQUEST. */
	return hdr[1] == T_ABORT ? FCGI_SCAN_FLIGHT_ABORT : FCGI_SCAN_FLIGHT_BAD;
}

/* FCGI_END_REQUEST for the request id id_hi, id_lo with protocolStatus status. */
static size_t
end_record(unsigned char id_hi, unsigned char id_lo, unsigned char status, unsigned char *out)
{
	memset(out, 0, FCGI_SCAN_CANT_MPX_LEN);
	out[0] = FCGI_VERSION_1;
	out[1] = T_END;
	out[2] = id_hi;
	out[3] = id_lo;
	out[5] = HDR_LEN; /* appStatus 0, protocolStatus, 3 reserved */
	out[HDR_LEN + 4] = status;
	return FCGI_SCAN_CANT_MPX_LEN;
}

size_t
fcgi_scan_end_request(unsigned request_id, unsigned char *out)
{
	return end_record((unsigned char)(request_id >> 8), (unsigned char)request_id,
	                  REQUEST_COMPLETE, out);
}

size_t
fcgi_scan_cant_mpx(const unsigned char *hdr, unsigned char *reply)
{
	if (hdr[1] != T_BEGIN)
		return 0;
	return end_record(hdr[2], hdr[3], CANT_MPX_CONN, reply);
}
