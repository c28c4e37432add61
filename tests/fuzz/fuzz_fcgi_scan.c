/*
 * fuzz_fcgi_scan.c - libFuzzer harness for the edge's check of FastCGI
 * records (fcgi_scan.c) and the libfcgi parse behind it (fcgi_io.c). Byte 0:
 * bits 0-1 pick the params cap, bits 2-3 the body cap; byte 1 the largest
 * chunk the rest arrives in (0: all at once), chunk sizes drawn from a
 * generator seeded by bytes 0-1. The rest is what the web server sends. The
 * harness does what the edge does with each result; the scanner reads only
 * the bytes it is given, answers management records with well-formed
 * records, and reports a request ready only when an independent walk finds
 * it complete and within the caps, and libfcgi then takes it.
 */
#include "fuzz.h"

#include "fcgi_io.h"
#include "fcgi_scan.h"
#include "request.h"

static const size_t params_caps[] = {16, 100, 1024, 65536};
static const size_t body_caps[] = {0, 10, 1024, 16384};
#define MAX_REQUESTS 4 /* requests parsed per input: libfcgi is slow to set up */
#define FEED_MAX (256 * 1024)

/* The connection's buffer, kept at exactly len bytes so ASan sees any read beyond. */
struct conn {
	unsigned char *buf;
	size_t len;
	struct fcgi_scan scan;
	size_t params_max, body_max;
	int requests;
};

static struct fcgi_feed *feed;

static unsigned
rec_clen(const unsigned char *h)
{
	return (unsigned)h[4] << 8 | h[5];
}

static size_t
rec_len(const unsigned char *h)
{
	return FCGI_SCAN_HEADER_LEN + rec_clen(h) + h[6];
}

static unsigned
rec_id(const unsigned char *h)
{
	return (unsigned)h[2] << 8 | h[3];
}

/* An exact-size heap copy of p[0..n) (at least one byte allocated). */
static unsigned char *
dup_exact(const unsigned char *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/* Replace buf by a copy of buf[0..at) followed by buf[from..len). */
static void
conn_cut(struct conn *c, size_t at, size_t from)
{
	size_t n = at + (c->len - from);
	unsigned char *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	memcpy(d, c->buf, at);
	memcpy(d + at, c->buf + from, c->len - from);
	free(c->buf);
	c->buf = d;
	c->len = n;
}

static void
conn_append(struct conn *c, const uint8_t *p, size_t n)
{
	unsigned char *d = malloc(c->len + n ? c->len + n : 1);

	if (d == NULL)
		abort();
	if (c->len > 0)
		memcpy(d, c->buf, c->len);
	memcpy(d + c->len, p, n);
	free(c->buf);
	c->buf = d;
	c->len += n;
}

/* How many name-value pairs a params stream p[0..n) holds, or -1 when they do not parse exactly. */
static long
pairs_count(const unsigned char *p, size_t n)
{
	size_t i = 0;
	long count = 0;

	while (i < n) {
		unsigned long long l[2];
		for (int k = 0; k < 2; k++) {
			if (i >= n || ((p[i] & 0x80) && n - i < 4))
				return -1;
			if (p[i] & 0x80) {
				l[k] = (unsigned long long)(p[i] & 0x7f) << 24 |
				       (unsigned long long)p[i + 1] << 16 |
				       (unsigned long long)p[i + 2] << 8 | p[i + 3];
				i += 4;
			} else {
				l[k] = p[i++];
			}
		}
		if (l[0] + l[1] >= 0x7fffffffULL || l[0] + l[1] > n - i)
			return -1;
		i += (size_t)(l[0] + l[1]);
		count++;
	}
	return count;
}

/*
 * The records in buf[0..used) of a request reported ready, walked anew:
 * BEGIN_REQUEST (responder), PARAMS up to the empty one, STDIN up to the
 * empty one, one request id, params and body within the caps.
 */
static long
check_ready(const struct conn *c)
{
	const unsigned char *b = c->buf;
	size_t at = 0, used = c->scan.used, params = 0, body = 0;
	unsigned char *stream = malloc(used ? used : 1);
	unsigned id;
	int phase = 0; /* 0 params, 1 stdin, 2 done */
	long npairs;

	if (stream == NULL)
		abort();
	FUZZ_ASSERT(used >= FCGI_SCAN_HEADER_LEN + 8 && used <= c->len);
	FUZZ_ASSERT(b[0] == 1 && b[1] == 1 && rec_clen(b) == 8 && rec_len(b) <= used);
	FUZZ_ASSERT(((unsigned)b[8] << 8 | b[9]) == 1);
	id = rec_id(b);
	FUZZ_ASSERT(id != 0 && id == c->scan.request_id);
	FUZZ_ASSERT(c->scan.keep_conn == (b[10] & 1));
	for (at = rec_len(b); at < used; at += rec_len(b + at)) {
		const unsigned char *h = b + at;
		FUZZ_ASSERT(used - at >= FCGI_SCAN_HEADER_LEN && used - at >= rec_len(h));
		FUZZ_ASSERT(h[0] == 1 && rec_id(h) == id && phase < 2);
		FUZZ_ASSERT(h[1] == (phase == 0 ? 4 : 5));
		if (rec_clen(h) == 0) {
			phase++;
			continue;
		}
		if (phase == 0)
			memcpy(stream + params, h + FCGI_SCAN_HEADER_LEN, rec_clen(h));
		*(phase == 0 ? &params : &body) += rec_clen(h);
	}
	FUZZ_ASSERT(at == used && phase == 2);
	FUZZ_ASSERT(params == c->scan.params_len && params <= c->params_max);
	FUZZ_ASSERT(body == c->scan.body_len && body <= c->body_max);
	npairs = pairs_count(stream, params);
	FUZZ_ASSERT(npairs >= 0);
	free(stream);
	return npairs;
}

/* fcgi_scan_unpad: the same records, every padding length 0, closed up. */
static size_t
check_unpad(const unsigned char *orig, unsigned char *buf, size_t used)
{
	size_t n = fcgi_scan_unpad(buf, used), in = 0, out = 0;

	FUZZ_ASSERT(n <= used);
	while (in < used) {
		size_t clen = rec_clen(orig + in);
		FUZZ_ASSERT(out + FCGI_SCAN_HEADER_LEN + clen <= n && buf[out + 6] == 0);
		FUZZ_ASSERT(memcmp(buf + out, orig + in, 6) == 0 && buf[out + 7] == orig[in + 7]);
		FUZZ_ASSERT(memcmp(buf + out + FCGI_SCAN_HEADER_LEN,
		                   orig + in + FCGI_SCAN_HEADER_LEN, clen) == 0);
		out += FCGI_SCAN_HEADER_LEN + clen;
		in += rec_len(orig + in);
	}
	FUZZ_ASSERT(in == used && out == n);
	return n;
}

/*
 * The request as libfcgi hands it over: one "NAME=value" string per pair
 * (cut short at a NUL byte in the name or value: C strings), no more.
 */
static void
check_request(const struct request *req, size_t body_max, long npairs)
{
	long n = 0;

	FUZZ_ASSERT(req->method != NULL && req->path != NULL && req->body != NULL);
	FUZZ_ASSERT(req->body_status == STATUS_OK || req->body_status == STATUS_TOO_LARGE);
	if (req->body_status == STATUS_OK)
		FUZZ_ASSERT(req->body_len <= body_max && req->body[req->body_len] == '\0');
	for (char **e = req->env; e != NULL && *e != NULL; e++)
		n++;
	/* libfcgi puts its own FCGI_ROLE first. */
	FUZZ_ASSERT(n == npairs + 1 && strcmp(req->env[0], "FCGI_ROLE=RESPONDER") == 0);
}

/* A ready request of npairs params: unpadded, handed to libfcgi as the edge does. */
static void
parse_ready(struct conn *c, long npairs)
{
	unsigned char *orig = dup_exact(c->buf, c->scan.used);
	unsigned char *work = dup_exact(c->buf, c->scan.used);
	size_t n = check_unpad(orig, work, c->scan.used);
	struct fcgi_conn *fc = fcgi_io_conn_new();
	struct request req;

	if (fc == NULL)
		abort();
	/* Whatever the scanner let through, libfcgi must take without waiting. */
	FUZZ_ASSERT(fcgi_io_parse(feed, fc, work, n) == STATUS_OK);
	FUZZ_ASSERT(fcgi_io_read_request(fc, c->body_max, 0, &req) == STATUS_OK);
	check_request(&req, c->body_max, npairs);
	fcgi_io_attach(feed, fc, -1);
	fcgi_io_conn_free(fc);
	free(work);
	free(orig);
}

/* The answer to a management record, of which rec[0..len) is at hand. */
static void
check_mgmt_reply(const unsigned char *rec, size_t len)
{
	unsigned char *in = dup_exact(rec, len);
	unsigned char *out = malloc(FCGI_SCAN_MGMT_REPLY_MAX);
	size_t n, clen, i = FCGI_SCAN_HEADER_LEN;

	if (out == NULL)
		abort();
	n = fcgi_scan_mgmt_reply(in, len, 1000, out);
	clen = rec_clen(out);
	FUZZ_ASSERT(n >= FCGI_SCAN_HEADER_LEN && n <= FCGI_SCAN_MGMT_REPLY_MAX && n % 8 == 0);
	FUZZ_ASSERT(out[0] == 1 && rec_id(out) == 0 && n == rec_len(out));
	if (rec[1] != 9) {
		FUZZ_ASSERT(out[1] == 11 && clen == 8 && out[8] == rec[1]);
		goto out;
	}
	FUZZ_ASSERT(out[1] == 10);
	/* Only the three names, each once at most, each with a decimal value. */
	while (i < FCGI_SCAN_HEADER_LEN + clen) {
		size_t nl = out[i], vl = out[i + 1];
		FUZZ_ASSERT(nl < 128 && vl > 0 && vl < 128 && i + 2 + nl + vl <= n);
		FUZZ_ASSERT(memcmp(out + i + 2, "FCGI_M", 6) == 0);
		for (size_t k = 0; k < vl; k++)
			FUZZ_ASSERT(out[i + 2 + nl + k] >= '0' && out[i + 2 + nl + k] <= '9');
		i += 2 + nl + vl;
	}
	FUZZ_ASSERT(i == FCGI_SCAN_HEADER_LEN + clen);
out:
	free(out);
	free(in);
}

/* Records that arrive while the request runs, as the edge's in-flight reader sees them. */
static void
check_in_flight(const unsigned char *p, size_t n, unsigned request_id)
{
	while (n >= FCGI_SCAN_HEADER_LEN) {
		unsigned char *h = dup_exact(p, FCGI_SCAN_HEADER_LEN);
		unsigned char reply[FCGI_SCAN_CANT_MPX_LEN];
		size_t keep = 99, skip = 99, r, whole = rec_len(p);
		enum fcgi_scan_flight f = fcgi_scan_in_flight(h, request_id, &keep, &skip);

		FUZZ_ASSERT(keep + skip == rec_clen(p) + p[6]);
		FUZZ_ASSERT(keep <= FCGI_SCAN_MGMT_KEEP &&
		            (f == FCGI_SCAN_FLIGHT_MGMT || keep == 0));
		if (f == FCGI_SCAN_FLIGHT_MGMT && n >= FCGI_SCAN_HEADER_LEN + keep)
			check_mgmt_reply(p, FCGI_SCAN_HEADER_LEN + keep);
		r = fcgi_scan_cant_mpx(h, reply);
		FUZZ_ASSERT(r == 0 || (r == FCGI_SCAN_CANT_MPX_LEN && reply[1] == 3 &&
		                       rec_id(reply) == rec_id(p) && reply[12] == 1));
		FUZZ_ASSERT((r != 0) == (p[1] == 1));
		free(h);
		if (whole > n)
			break;
		p += whole;
		n -= whole;
	}
}

/* A result other than MORE on buf[0..len): checked, and acted on as the edge does. 0: stop. */
static int
on_result(struct conn *c, enum fcgi_scan_result r)
{
	struct fcgi_scan *s = &c->scan;
	unsigned char end[FCGI_SCAN_CANT_MPX_LEN];
	long npairs;

	switch (r) {
	case FCGI_SCAN_MGMT:
	case FCGI_SCAN_STALE:
		FUZZ_ASSERT(s->mgmt_at < s->used &&
		            s->used - s->mgmt_at == rec_len(c->buf + s->mgmt_at));
		FUZZ_ASSERT(r == FCGI_SCAN_MGMT ? rec_id(c->buf + s->mgmt_at) == 0
		                                : c->buf[s->mgmt_at + 1] == 2);
		if (r == FCGI_SCAN_MGMT)
			check_mgmt_reply(c->buf + s->mgmt_at, s->used - s->mgmt_at);
		conn_cut(c, s->mgmt_at, s->used);
		s->used = s->mgmt_at;
		return 1;
	case FCGI_SCAN_ABORTED:
		FUZZ_ASSERT(s->began && !s->stdin_done && c->buf[s->mgmt_at + 1] == 2);
		FUZZ_ASSERT(fcgi_scan_end_request(s->request_id, end) == FCGI_SCAN_CANT_MPX_LEN);
		FUZZ_ASSERT(rec_id(end) == s->request_id && end[1] == 3 && end[12] == 0);
		if (!s->keep_conn)
			return 0;
		conn_cut(c, 0, s->used);
		memset(s, 0, sizeof(*s));
		return 1;
	case FCGI_SCAN_READY:
		npairs = check_ready(c);
		check_in_flight(c->buf + s->used, c->len - s->used, s->request_id);
		if (c->requests++ < MAX_REQUESTS)
			parse_ready(c, npairs);
		/* The next request on a kept connection starts where this one ended. */
		conn_cut(c, 0, s->used);
		memset(s, 0, sizeof(*s));
		return 1;
	case FCGI_SCAN_TOO_LARGE:
		FUZZ_ASSERT(s->params_done && !s->stdin_done && s->body_len > c->body_max);
		FUZZ_ASSERT(s->params_len <= c->params_max);
		return 0;
	case FCGI_SCAN_BAD:
		FUZZ_ASSERT(s->why[0] != '\0' && memchr(s->why, '\0', sizeof(s->why)) != NULL);
		FUZZ_ASSERT(fcgi_scan_step(s, c->buf, c->len, c->params_max, c->body_max) ==
		            FCGI_SCAN_BAD);
		return 0;
	default:
		FUZZ_ASSERT(!"result out of range");
	}
	return 0;
}

/* Scan what has arrived until more is needed; 0 when the connection ends. */
static int
scan(struct conn *c)
{
	for (;;) {
		enum fcgi_scan_result r =
		    fcgi_scan_step(&c->scan, c->buf, c->len, c->params_max, c->body_max);
		FUZZ_ASSERT(c->scan.used <= c->len);
		FUZZ_ASSERT(r == FCGI_SCAN_BAD || c->scan.params_len <= c->params_max);
		if (r == FCGI_SCAN_MORE) {
			/* Waiting only for a record not yet whole. */
			FUZZ_ASSERT(c->len - c->scan.used < FCGI_SCAN_HEADER_LEN ||
			            c->len - c->scan.used < rec_len(c->buf + c->scan.used));
			return 1;
		}
		if (!on_result(c, r))
			return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn c = {0};
	unsigned rng;
	size_t at = 2, chunk_max;

	if (feed == NULL &&
	    (fcgi_io_init() != STATUS_OK || fcgi_io_feed_new(FEED_MAX, &feed) != STATUS_OK))
		abort();
	if (size < 2)
		return 0;
	c.params_max = params_caps[data[0] & 3];
	c.body_max = body_caps[(data[0] >> 2) & 3];
	chunk_max = data[1];
	rng = (unsigned)data[0] << 8 | data[1] | 1u;
	while (at < size) {
		size_t n = size - at;
		if (chunk_max > 0) {
			rng ^= rng << 13;
			rng ^= rng >> 17;
			rng ^= rng << 5;
			if (n > 1 + rng % chunk_max)
				n = 1 + rng % chunk_max;
		}
		conn_append(&c, data + at, n);
		at += n;
		if (!scan(&c))
			break;
	}
	free(c.buf);
	return 0;
}
