/*
 * test_fcgi_scan.c - the FastCGI pre-reader: a whole request, byte by byte,
 * a pair split over records, FCGI_KEEP_CONN, the overflowing 24-byte params
 * record, the params and body caps, protocol violations, the padding
 * taken out before libfcgi reads the records, management records, and
 * FCGI_ABORT_REQUEST for the request, another one or one that has ended.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi_scan.h"
#include "harness.h"

struct msg {
	unsigned char b[4096];
	size_t n;
};

static void
rec(struct msg *m, int type, int id, const void *data, size_t len, int pad)
{
	unsigned char h[8] = {1,
	                      (unsigned char)type,
	                      (unsigned char)(id >> 8),
	                      (unsigned char)id,
	                      (unsigned char)(len >> 8),
	                      (unsigned char)len,
	                      (unsigned char)pad,
	                      0};

	memcpy(m->b + m->n, h, 8);
	if (len > 0)
		memcpy(m->b + m->n + 8, data, len);
	memset(m->b + m->n + 8 + len, 0, (size_t)pad);
	m->n += 8 + len + (size_t)pad;
}

static void
begin(struct msg *m, int flags)
{
	unsigned char b[8] = {0, 1, (unsigned char)flags, 0, 0, 0, 0, 0};
	rec(m, 1, 1, b, 8, 0);
}

/* A params record with one pair "REQUEST_METHOD=GET" and a long value. */
static size_t
pair(unsigned char *out, const char *name, size_t vlen)
{
	size_t n = 0, nl = strlen(name);

	out[n++] = (unsigned char)nl;
	if (vlen < 128) {
		out[n++] = (unsigned char)vlen;
	} else {
		out[n++] = (unsigned char)(0x80 | (vlen >> 24));
		out[n++] = (unsigned char)(vlen >> 16);
		out[n++] = (unsigned char)(vlen >> 8);
		out[n++] = (unsigned char)vlen;
	}
	memcpy(out + n, name, nl);
	n += nl;
	memset(out + n, 'v', vlen);
	return n + vlen;
}

static void
full(struct msg *m, int flags, const char *body)
{
	unsigned char p[1024];
	size_t n = pair(p, "REQUEST_METHOD", 3);

	n += pair(p + n, "LONG", 300);
	begin(m, flags);
	rec(m, 4, 1, p, 10, 6); /* a pair split over two records, with padding */
	rec(m, 4, 1, p + 10, n - 10, 0);
	rec(m, 4, 1, NULL, 0, 0);
	if (body[0])
		rec(m, 5, 1, body, strlen(body), 3);
	rec(m, 5, 1, NULL, 0, 0);
}

static void
test_whole_request(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};

	full(&m, 1, "{\"a\":1}");
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_READY);
	CHECK_INT(s.used, m.n);
	CHECK(s.keep_conn);
	CHECK_INT(s.body_len, 7);
	CHECK_INT(s.params_len, 2 + 14 + 3 + 1 + 4 + 4 + 300);
}

static void
test_byte_by_byte(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};
	enum fcgi_scan_result r = FCGI_SCAN_MORE;
	size_t i;

	full(&m, 0, "body");
	for (i = 1; i <= m.n && r == FCGI_SCAN_MORE; i++)
		r = fcgi_scan_step(&s, m.b, i, 65536, 1024);
	CHECK_INT(r, FCGI_SCAN_READY);
	CHECK_INT(i - 1, m.n);
	CHECK(!s.keep_conn);
}

/* The 24-byte record: name and value lengths add up past 2^31. */
static void
test_overflowing_lengths(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};
	unsigned char p[8] = {0xff, 0xff, 0xff, 0xf0, 0x80, 0x00, 0x00, 0x20};

	begin(&m, 0);
	rec(&m, 4, 1, p, 8, 0);
	CHECK_INT(m.n, 32);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 1u << 30, 1024), FCGI_SCAN_BAD);
	CHECK(strstr(s.why, "overflow") != NULL);
	/* BAD is final */
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 1u << 30, 1024), FCGI_SCAN_BAD);
}

static void
test_params_cap(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};
	/* name "X", value of 100 MB announced; only the lengths are sent */
	unsigned char p[6] = {1, 0x85, 0xf5, 0xe1, 0x00, 'X'};

	begin(&m, 0);
	rec(&m, 4, 1, p, sizeof(p), 0);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
	CHECK(strstr(s.why, "cap") != NULL);
	/* At the cap exactly (2 length bytes + "X" + 97) passes; one byte more does not. */
	for (int over = 0; over <= 1; over++) {
		struct msg e = {0};
		struct fcgi_scan es = {0};
		unsigned char q[3] = {1, (unsigned char)(97 + over), 'X'};

		begin(&e, 0);
		rec(&e, 4, 1, q, sizeof(q), 0);
		CHECK_INT(fcgi_scan_step(&es, e.b, e.n, 100, 1024),
		          over ? FCGI_SCAN_BAD : FCGI_SCAN_MORE);
	}
}

static void
test_body_cap(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};
	char body[600];

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	full(&m, 0, body);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 512), FCGI_SCAN_TOO_LARGE);
}

static void
test_violations(void)
{
	static const struct {
		int type, id;
		const char *why;
	} cases[] = {
	    {5, 1, "unexpected"},     /* STDIN before params end */
	    {4, 2, "record outside"}, /* another request id */
	    {1, 1, "second BEGIN"},   /* BEGIN twice */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg m = {0};
		struct fcgi_scan s = {0};
		unsigned char b[8] = {0, 1, 0, 0, 0, 0, 0, 0};

		begin(&m, 0);
		rec(&m, cases[i].type, cases[i].id, b, 8, 0);
		CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
		CHECK(strstr(s.why, cases[i].why) != NULL);
	}
	{
		struct msg m = {0};
		struct fcgi_scan s = {0};
		begin(&m, 0);
		m.b[0] = 2; /* version */
		CHECK_INT(fcgi_scan_step(&s, m.b, 8, 65536, 1024), FCGI_SCAN_BAD);
	}
	{
		struct msg m = {0};
		struct fcgi_scan s = {0};
		unsigned char b[8] = {0, 2, 0, 0, 0, 0, 0, 0}; /* authorizer */
		rec(&m, 1, 1, b, 8, 0);
		CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
	}
	{
		/* BEGIN_REQUEST on the management id 0 */
		struct msg m = {0};
		struct fcgi_scan s = {0};
		unsigned char b[8] = {0, 1, 0, 0, 0, 0, 0, 0};
		rec(&m, 1, 0, b, 8, 0);
		CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
		CHECK(strstr(s.why, "malformed BEGIN") != NULL);
	}
	{
		/* params end after a pair's name length, before its value length */
		struct msg m = {0};
		struct fcgi_scan s = {0};
		unsigned char p[1] = {4};
		begin(&m, 0);
		rec(&m, 4, 1, p, 1, 0);
		rec(&m, 4, 1, NULL, 0, 0);
		CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
		CHECK(strstr(s.why, "inside a name/value pair") != NULL);
	}
	{
		/* params end inside a pair */
		struct msg m = {0};
		struct fcgi_scan s = {0};
		unsigned char p[2] = {4, 4};
		begin(&m, 0);
		rec(&m, 4, 1, p, 2, 0);
		rec(&m, 4, 1, NULL, 0, 0);
		CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_BAD);
	}
}

/* Each record with its padding; a padding byte that libfcgi would read as a header. */
static void
padded(struct msg *m, int pad)
{
	unsigned char p[64];
	unsigned char b[8] = {0, 1, 1, 0, 0, 0, 0, 0};
	size_t n = pair(p, "REQUEST_METHOD", 3);

	rec(m, 1, 1, b, 8, pad);
	rec(m, 4, 1, p, n, pad);
	rec(m, 4, 1, NULL, 0, pad);
	rec(m, 5, 1, "body", 4, pad);
	rec(m, 5, 1, NULL, 0, pad);
}

static void
test_unpad(void)
{
	struct msg m = {0}, plain = {0};
	struct fcgi_scan s = {0};
	size_t n;

	padded(&m, 8);
	memset(m.b + 16, 0x01, 8);    /* BEGIN_REQUEST's padding */
	memcpy(m.b + m.n, "next", 4); /* bytes after the request */
	padded(&plain, 0);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n + 4, 65536, 1024), FCGI_SCAN_READY);
	CHECK_INT(s.used, m.n);
	n = fcgi_scan_unpad(m.b, s.used);
	CHECK_INT(n, plain.n);
	CHECK(memcmp(m.b, plain.b, plain.n) == 0);
	CHECK(memcmp(m.b + s.used, "next", 4) == 0);
	/* Records without padding stay as they are. */
	CHECK_INT(fcgi_scan_unpad(plain.b, plain.n), plain.n);
	/* A record not whole yet is left out. */
	CHECK_INT(fcgi_scan_unpad(plain.b, 20), 16);
}

/* FCGI_GET_VALUES and an unknown type, before BEGIN_REQUEST or among the request's records. */
static void
test_management(void)
{
	static const unsigned char want[] = {
	    1,   10,  0,   0,   0,   38,  2,   0,   14,  4,   'F', 'C', 'G', 'I', '_', 'M',
	    'A', 'X', '_', 'C', 'O', 'N', 'N', 'S', '4', '0', '9', '6', 15,  1,   'F', 'C',
	    'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O', 'N', 'N', 'S', '0', 0,   0};
	const char *names = "\x0e\x00"
	                    "FCGI_MAX_CONNS\x0f\x00"
	                    "FCGI_MPXS_CONNS\x03\x00"
	                    "XYZ";
	unsigned char out[FCGI_SCAN_MGMT_REPLY_MAX];
	struct msg m = {0};
	struct fcgi_scan s = {0};
	size_t n;

	rec(&m, 9, 0, names, 38, 2);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_MGMT);
	CHECK_INT(s.used, m.n);
	n = fcgi_scan_mgmt_reply(m.b, m.n, 4096, out);
	CHECK_INT(n, sizeof(want));
	CHECK(memcmp(out, want, sizeof(want)) == 0);
	/* A pair cut short asks for nothing. */
	m.b[5] = 3;
	n = fcgi_scan_mgmt_reply(m.b, m.n, 4096, out);
	CHECK_INT(n, 8);
	CHECK_INT(out[1], 10);
	CHECK_INT(out[5], 0);

	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	rec(&m, 42, 0, "x", 1, 7);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_MGMT);
	n = fcgi_scan_mgmt_reply(m.b, m.n, 4096, out);
	CHECK_INT(n, 16);
	CHECK(out[0] == 1 && out[1] == 11 && out[2] == 0 && out[3] == 0 && out[5] == 8);
	CHECK_INT(out[8], 42);

	/* Among a request's records it is found where it is; cut out, the scan goes on. */
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	begin(&m, 0);
	rec(&m, 9, 0, names, 38, 2);
	rec(&m, 4, 1, NULL, 0, 0);
	rec(&m, 5, 1, NULL, 0, 0);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_MGMT);
	CHECK_INT(s.mgmt_at, 16);
	CHECK_INT(s.used, 16 + 48);
	memmove(m.b + 16, m.b + 64, m.n - 64);
	m.n -= 48;
	s.used = 16;
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_READY);
	CHECK_INT(s.used, m.n);
}

/* FCGI_ABORT_REQUEST before the request is complete: told apart, and answered. */
static void
test_aborted(void)
{
	static const unsigned char end[] = {1, 3, 0x01, 0x02, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	unsigned char out[FCGI_SCAN_CANT_MPX_LEN];
	struct msg m = {0};
	struct fcgi_scan s = {0};

	begin(&m, 1);
	rec(&m, 2, 1, NULL, 0, 0);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_ABORTED);
	CHECK_INT(s.used, m.n);
	CHECK_INT(s.keep_conn, 1);
	CHECK_INT((int)fcgi_scan_end_request(0x102, out), FCGI_SCAN_CANT_MPX_LEN);
	CHECK(memcmp(out, end, sizeof(end)) == 0);
}

/*
 * FCGI_ABORT_REQUEST for a request that is not this one (it has ended, or
 * never began here): ignored, the record's place given to cut it out.
 */
static void
test_stale_abort(void)
{
	struct msg m = {0};
	struct fcgi_scan s = {0};

	rec(&m, 2, 1, NULL, 0, 3);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_STALE);
	CHECK_INT(s.mgmt_at, 0);
	CHECK_INT(s.used, 11);
	CHECK_INT(s.began, 0);

	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	begin(&m, 1);
	rec(&m, 2, 7, NULL, 0, 0);
	CHECK_INT(fcgi_scan_step(&s, m.b, m.n, 65536, 1024), FCGI_SCAN_STALE);
	CHECK_INT(s.mgmt_at, 16);
	CHECK_INT(s.used, 24);
	CHECK_INT(s.began, 1);
}

/* Records of another request while one runs: dropped, a BEGIN_REQUEST refused. */
static void
test_foreign(void)
{
	static const unsigned char begin2[] = {1, 1, 0, 2, 0, 8, 3, 0};
	static const unsigned char params2[] = {1, 4, 0, 2, 1, 0, 0, 0};
	static const unsigned char cant_mpx[] = {1, 3, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	static const unsigned char own[] = {1, 5, 0, 1, 0, 0, 0, 0};
	static const unsigned char v2[] = {2, 1, 0, 2, 0, 8, 0, 0};
	unsigned char reply[FCGI_SCAN_CANT_MPX_LEN];
	size_t keep, skip;

	CHECK_INT(fcgi_scan_in_flight(begin2, 1, &keep, &skip), FCGI_SCAN_FLIGHT_FOREIGN);
	CHECK_INT((int)keep, 0);
	CHECK_INT((int)skip, 11);
	CHECK_INT((int)fcgi_scan_cant_mpx(begin2, reply), FCGI_SCAN_CANT_MPX_LEN);
	CHECK(memcmp(reply, cant_mpx, sizeof(cant_mpx)) == 0);
	CHECK_INT(fcgi_scan_in_flight(params2, 1, &keep, &skip), FCGI_SCAN_FLIGHT_FOREIGN);
	CHECK_INT((int)skip, 256);
	CHECK_INT((int)fcgi_scan_cant_mpx(params2, reply), 0);
	CHECK_INT(fcgi_scan_in_flight(own, 1, &keep, &skip), FCGI_SCAN_FLIGHT_BAD);
	CHECK_INT(fcgi_scan_in_flight(v2, 1, &keep, &skip), FCGI_SCAN_FLIGHT_BAD);
}

/*
 * While a request runs, a management record is kept (its first
 * FCGI_SCAN_MGMT_KEEP content bytes) and answered from what was kept, and
 * FCGI_ABORT_REQUEST for the running request is told apart.
 */
static void
test_in_flight(void)
{
	static const unsigned char abort1[] = {1, 2, 0, 1, 0, 0, 0, 0};
	static const unsigned char abort2[] = {1, 2, 0, 2, 0, 0, 0, 0};
	static const unsigned char big[] = {1, 9, 0, 0, 0x10, 0, 3, 0};
	const char *names = "\x0f\x00"
	                    "FCGI_MPXS_CONNS\x0e\x00"
	                    "FCGI_MAX_CONNS";
	unsigned char out[FCGI_SCAN_MGMT_REPLY_MAX];
	struct msg m = {0};
	size_t keep, skip, n;

	CHECK_INT(fcgi_scan_in_flight(abort1, 1, &keep, &skip), FCGI_SCAN_FLIGHT_ABORT);
	CHECK_INT((int)(keep + skip), 0);
	CHECK_INT(fcgi_scan_in_flight(abort2, 1, &keep, &skip), FCGI_SCAN_FLIGHT_FOREIGN);
	CHECK_INT(fcgi_scan_in_flight(big, 1, &keep, &skip), FCGI_SCAN_FLIGHT_MGMT);
	CHECK_INT((int)keep, FCGI_SCAN_MGMT_KEEP);
	CHECK_INT((int)skip, 0x1000 + 3 - FCGI_SCAN_MGMT_KEEP);

	rec(&m, 9, 0, names, 33, 7);
	CHECK_INT(fcgi_scan_in_flight(m.b, 1, &keep, &skip), FCGI_SCAN_FLIGHT_MGMT);
	CHECK_INT((int)keep, 33);
	CHECK_INT((int)skip, 7);
	n = fcgi_scan_mgmt_reply(m.b, 8 + keep, 100, out);
	CHECK_INT((int)n, 8 + 37 + 3);
	CHECK(memcmp(out + 8,
	             "\x0e\x03"
	             "FCGI_MAX_CONNS100\x0f\x01"
	             "FCGI_MPXS_CONNS0",
	             37) == 0);
	/* Only the first pair was kept: the second is left out. */
	n = fcgi_scan_mgmt_reply(m.b, 8 + 20, 100, out);
	CHECK_INT((int)n, 8 + 18 + 6);
	CHECK_INT(out[5], 18);
}

int
main(void)
{
	RUN(test_whole_request);
	RUN(test_byte_by_byte);
	RUN(test_overflowing_lengths);
	RUN(test_params_cap);
	RUN(test_body_cap);
	RUN(test_violations);
	RUN(test_unpad);
	RUN(test_management);
	RUN(test_aborted);
	RUN(test_stale_abort);
	RUN(test_foreign);
	RUN(test_in_flight);
	HARNESS_END();
}
