/*
 * test_fcgi_io.c - the hand-over to libfcgi: a whole request as large as the
 * system lets a socket buffer hold goes through and reads back whole; a
 * larger limit is refused at start (STATUS_CONFIG); bytes that libfcgi
 * refuses give STATUS_BAD_REQUEST without waiting; a request ended without a
 * reply writes the end of stdout and FCGI_END_REQUEST alone; the path routed
 * on comes from DOCUMENT_URI, else SCRIPT_NAME and PATH_INFO, else REQUEST_URI.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi_io.h"
#include "fcgi_io_int.h"
#include "harness.h"

struct msg {
	unsigned char *b;
	size_t n, cap;
};

static void
rec(struct msg *m, int version, int type, const void *data, size_t len)
{
	unsigned char h[8] = {(unsigned char)version,    (unsigned char)type, 0, 1,
	                      (unsigned char)(len >> 8), (unsigned char)len,  0, 0};

	if (m->n + 8 + len > m->cap)
		return;
	memcpy(m->b + m->n, h, 8);
	if (len > 0)
		memcpy(m->b + m->n + 8, data, len);
	m->n += 8 + len;
}

/* A POST whose body is body_len bytes of 'x', in records of at most 32 KiB. */
static void
build(struct msg *m, int version, size_t body_len)
{
	static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	static const char params[] = "\016\004REQUEST_METHODPOST\014\026DOCUMENT_URI"
	                             "/api/identity/register";
	static char chunk[32768];

	memset(chunk, 'x', sizeof(chunk));
	rec(m, version, 1, begin, sizeof(begin));
	rec(m, 1, 4, params, sizeof(params) - 1);
	rec(m, 1, 4, NULL, 0);
	for (size_t left = body_len; left > 0;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		rec(m, 1, 5, chunk, n);
		left -= n;
	}
	rec(m, 1, 5, NULL, 0);
}

/* net.core.wmem_max, or 0 when it cannot be read. */
static size_t
wmem_max(void)
{
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
	unsigned long v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return (size_t)v;
}

/* The largest request the system allows goes through, body and all. */
static void
test_largest_request(void)
{
	size_t limit = wmem_max();
	struct fcgi_feed *f = NULL;
	struct fcgi_conn *c = NULL;
	struct request req;
	struct msg m = {0};
	size_t body_len;

	if (limit < 2 * FCGI_IO_FEED_SLACK) {
		SKIP("net.core.wmem_max unreadable or below 128 KiB");
		return;
	}
	/* The feed asks for twice the request; the system grants 2 x wmem_max. */
	CHECK_INT(fcgi_io_feed_new(limit, &f), STATUS_OK);
	body_len = limit - 4096;
	m.cap = body_len + body_len / 4096 + 4096;
	m.b = malloc(m.cap);
	c = fcgi_io_conn_new();
	CHECK(m.b != NULL && c != NULL && f != NULL);
	if (m.b == NULL || c == NULL || f == NULL)
		goto out;
	build(&m, 1, body_len);
	CHECK(m.n <= limit);
	CHECK_INT(fcgi_io_parse(f, c, m.b, m.n), STATUS_OK);
	CHECK_INT(fcgi_io_read_request(c, body_len, 0, &req), STATUS_OK);
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.path, "/api/identity/register");
	CHECK_INT(req.body_status, STATUS_OK);
	CHECK(req.body_len == body_len);
	CHECK(req.body_len > 0 && req.body[0] == 'x' && req.body[req.body_len - 1] == 'x');
out:
	fcgi_io_conn_free(c);
	fcgi_io_feed_free(f);
	free(m.b);
}

/* Limits whose requests no socket buffer here can hold are refused at start. */
static void
test_limit_beyond_the_system(void)
{
	size_t limit = wmem_max();
	struct fcgi_feed *f = NULL;

	if (limit == 0) {
		SKIP("net.core.wmem_max unreadable");
		return;
	}
	CHECK_INT(fcgi_io_feed_new(2 * limit, &f), STATUS_CONFIG);
	CHECK(f == NULL);
	CHECK_INT(fcgi_io_feed_new((size_t)1 << 31, &f), STATUS_CONFIG);
	CHECK(f == NULL);
}

/* A version libfcgi does not speak: refused at once, and the feed still works. */
static void
test_refused_by_libfcgi(void)
{
	unsigned char buf[4096];
	struct msg m = {.b = buf, .cap = sizeof(buf)};
	struct fcgi_feed *f = NULL;
	struct fcgi_conn *c = fcgi_io_conn_new();
	struct fcgi_conn *c2 = fcgi_io_conn_new();
	struct request req;

	CHECK_INT(fcgi_io_feed_new(65536, &f), STATUS_OK);
	CHECK(c != NULL && c2 != NULL && f != NULL);
	if (c == NULL || c2 == NULL || f == NULL)
		goto out;
	alarm(10); /* a libfcgi that waited for more bytes would hang here */
	build(&m, 2, 10);
	CHECK_INT(fcgi_io_parse(f, c, m.b, m.n), STATUS_BAD_REQUEST);
	m.n = 0;
	build(&m, 1, 10);
	CHECK_INT(fcgi_io_parse(f, c2, m.b, m.n), STATUS_OK);
	CHECK_INT(fcgi_io_read_request(c2, 1024, 0, &req), STATUS_OK);
	CHECK(req.body_len == 10);
	alarm(0);
out:
	fcgi_io_conn_free(c);
	fcgi_io_conn_free(c2);
	fcgi_io_feed_free(f);
}

/*
 * fcgi_io_write_end, on a request that holds libfcgi's streams (released 0)
 * or one whose streams were freed while it waited (released 1): an empty
 * STDOUT record and FCGI_END_REQUEST{0, FCGI_REQUEST_COMPLETE}, nothing else,
 * and FCGI_KEEP_CONN still keeps the connection.
 */
static void
write_end(int released)
{
	static const unsigned char want[] = {1, 6, 0, 1, 0, 0, 0, 0, 1, 3, 0, 1,
	                                     0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	unsigned char buf[4096], got[64];
	struct msg m = {.b = buf, .cap = sizeof(buf)};
	struct fcgi_feed *f = NULL;
	struct fcgi_conn *c = fcgi_io_conn_new();
	struct request req;
	int sp[2] = {-1, -1};
	ssize_t n;

	CHECK_INT(fcgi_io_feed_new(65536, &f), STATUS_OK);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	if (c == NULL || f == NULL || sp[0] < 0)
		goto out;
	build(&m, 1, 10);
	buf[10] = 1; /* FCGI_KEEP_CONN in BEGIN_REQUEST's flags */
	CHECK_INT(fcgi_io_parse(f, c, m.b, m.n), STATUS_OK);
	CHECK_INT(fcgi_io_read_request(c, 1024, 0, &req), STATUS_OK);
	fcgi_io_attach(f, c, sp[0]);
	if (released)
		CHECK_INT(fcgi_io_release(c, &req), STATUS_OK);
	CHECK_INT(fcgi_io_write_end(f, c), STATUS_OK);
	CHECK_INT(fcgi_io_finish(c), 1);
	n = recv(sp[1], got, sizeof(got), MSG_DONTWAIT);
	CHECK_INT((int)n, (int)sizeof(want));
	CHECK(n == (ssize_t)sizeof(want) && memcmp(got, want, sizeof(want)) == 0);
out:
	fcgi_io_conn_free(c);
	fcgi_io_feed_free(f);
	if (sp[0] >= 0) {
		close(sp[0]);
		close(sp[1]);
	}
}

static void
test_write_end(void)
{
	write_end(0);
	write_end(1);
}

/* A GET whose params are the "NAME=value" strings in nv (short ones: 1-byte lengths). */
static void
build_params(struct msg *m, const char *const *nv)
{
	static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	unsigned char p[1024];
	size_t n = 0;

	for (; *nv != NULL; nv++) {
		const char *eq = strchr(*nv, '=');
		size_t kl = (size_t)(eq - *nv), vl = strlen(eq + 1);
		if (n + 2 + kl + vl > sizeof(p))
			return;
		p[n++] = (unsigned char)kl;
		p[n++] = (unsigned char)vl;
		memcpy(p + n, *nv, kl);
		memcpy(p + n + kl, eq + 1, vl);
		n += kl + vl;
	}
	rec(m, 1, 1, begin, sizeof(begin));
	rec(m, 1, 4, p, n);
	rec(m, 1, 4, NULL, 0);
	rec(m, 1, 5, NULL, 0);
}

/*
 * The path routed on: DOCUMENT_URI, else SCRIPT_NAME and PATH_INFO (lighttpd's
 * decoded path), both taken whole, else REQUEST_URI up to its query.
 */
static void
test_path(void)
{
	static const struct {
		const char *nv[4];
		const char *want;
	} cases[] = {
	    {{"DOCUMENT_URI=/api/identity/register", "REQUEST_URI=//api/identity/%72egister"},
	     "/api/identity/register"},
	    {{"DOCUMENT_URI=/healthz?", "REQUEST_URI=/healthz%3F"}, "/healthz?"},
	    {{"SCRIPT_NAME=/api", "PATH_INFO=/identity/register",
	      "REQUEST_URI=//api/identity/%72egister"},
	     "/api/identity/register"},
	    {{"SCRIPT_NAME=/api", "PATH_INFO=/identity/register?", "REQUEST_URI=/api/a/..%2F"},
	     "/api/identity/register?"},
	    {{"SCRIPT_NAME=/healthz", "REQUEST_URI=/x/%2E%2E/healthz"}, "/healthz"},
	    {{"SCRIPT_NAME=", "PATH_INFO=/metrics#", "REQUEST_URI=/metrics%23"}, "/metrics#"},
	    {{"DOCUMENT_URI=", "SCRIPT_NAME=", "REQUEST_URI=/healthz?x#y"}, "/healthz"},
	    {{"REQUEST_URI=/metrics#x"}, "/metrics"},
	    {{"REQUEST_METHOD=GET"}, ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char buf[2048];
		struct msg m = {.b = buf, .cap = sizeof(buf)};
		struct fcgi_feed *f = NULL;
		struct fcgi_conn *c = fcgi_io_conn_new();
		struct request req;

		CHECK_INT(fcgi_io_feed_new(65536, &f), STATUS_OK);
		CHECK(c != NULL && f != NULL);
		if (c != NULL && f != NULL) {
			build_params(&m, cases[i].nv);
			CHECK_INT(fcgi_io_parse(f, c, m.b, m.n), STATUS_OK);
			CHECK_INT(fcgi_io_read_request(c, 1024, 0, &req), STATUS_OK);
			CHECK_STR(req.path, cases[i].want);
		}
		fcgi_io_conn_free(c);
		fcgi_io_feed_free(f);
	}
}

int
main(void)
{
	if (fcgi_io_init() != STATUS_OK) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_largest_request);
	RUN(test_limit_beyond_the_system);
	RUN(test_refused_by_libfcgi);
	RUN(test_write_end);
	RUN(test_path);
	HARNESS_END();
}
