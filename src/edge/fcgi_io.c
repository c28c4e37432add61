/*
 * fcgi_io.c - libfcgi at the edge. Only the threaded API is used
 * (FCGX_InitRequest/FCGX_Accept_r/FCGX_Finish_r), never the select()-based
 * helpers, and never FCGX_FPrintF. The edge accepts connections itself and
 * hands a connection to libfcgi only once a whole request has arrived, so its
 * reads never wait. Sockets are opened here rather than with FCGX_OpenSocket,
 * which ignores permissions and exits on failure.
 */
#include "fcgi_io.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi_io_int.h"
#include "util.h"

#define SD_LISTEN_FDS_START 3

struct fcgi_conn {
	FCGX_Request req;
	char **env; /* the params, copied while the request waits */
	char *body;
	char *path;
};

enum status
fcgi_io_init(void)
{
	return FCGX_Init() == 0 ? STATUS_OK : STATUS_INTERNAL;
}

/* True when a process accepts connections on the Unix socket at sa. */
static bool
unix_live(const struct sockaddr_un *sa)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (s < 0)
		return false;
	live = connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(s);
	return live;
}

static enum status
listen_unix(const char *path, int backlog, struct fcgi_listener *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int s = -1;

	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "listen: socket path too long: %s", path);
		return STATUS_CONFIG;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (unix_live(&sa)) {
			snprintf(err, errlen, "listen: %s: another process is listening on it",
			         path);
			return STATUS_CONFIG;
		}
		unlink(path); /* left behind by a process that is gone */
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    lstat(path, &st) != 0 || listen(s, backlog) != 0) {
		snprintf(err, errlen, "listen: %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return STATUS_CONFIG;
	}
	*out = (struct fcgi_listener){.fd = s, .dev = st.st_dev, .ino = st.st_ino};
	util_strlcpy(out->path, path, sizeof(out->path));
	return STATUS_OK;
}

static enum status
listen_tcp(const char *spec, int backlog, struct fcgi_listener *out, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int s = -1, one = 1, gai;
	size_t hl = colon ? (size_t)(colon - spec) : 0;

	if (colon == NULL || hl >= sizeof(host)) {
		snprintf(err, errlen, "listen: expected a socket path or host:port: %s", spec);
		return STATUS_CONFIG;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	gai = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "listen: %s: %s", spec, gai_strerror(gai));
		return STATUS_CONFIG;
	}
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, backlog) != 0) {
		snprintf(err, errlen, "listen: %s: %s", spec, strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return STATUS_CONFIG;
	}
	freeaddrinfo(ai);
	*out = (struct fcgi_listener){.fd = s};
	return STATUS_OK;
}

bool
fcgi_io_listen_is_unix(const char *spec)
{
	return spec[0] == '/' || spec[0] == '.';
}

enum status
fcgi_io_listen(const char *spec, int backlog, struct fcgi_listener *out, char *err, size_t errlen)
{
	if (fcgi_io_listen_is_unix(spec))
		return listen_unix(spec, backlog, out, err, errlen);
	return listen_tcp(spec, backlog, out, err, errlen);
}

void
fcgi_io_listener_close(struct fcgi_listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	if (l->path[0] != '\0' && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	l->path[0] = '\0';
}

static int
is_listening_socket(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 && val;
}

int
fcgi_io_inherited_fd(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	long p = 0, n = 0;

	if (pid && fds && util_parse_long(pid, 1, 1L << 30, &p) == STATUS_OK &&
	    util_parse_long(fds, 1, 1, &n) == STATUS_OK && p == (long)getpid() &&
	    is_listening_socket(SD_LISTEN_FDS_START))
		return SD_LISTEN_FDS_START;
	return is_listening_socket(0) ? 0 : -1;
}

/* The socketpair libfcgi reads requests from: one per loop, reused. */
struct fcgi_feed {
	int rd, wr;
	int sndbuf;
};

static void
feed_close(struct fcgi_feed *f)
{
	if (f->rd >= 0)
		close(f->rd);
	if (f->wr >= 0)
		close(f->wr);
	f->rd = f->wr = -1;
}

/* A fresh pair; after an error libfcgi may have closed the read end, or bytes stay behind. */
static enum status
feed_open(struct fcgi_feed *f)
{
	int sp[2];

	feed_close(f);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return STATUS_INTERNAL;
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &f->sndbuf, sizeof(f->sndbuf));
	f->rd = sp[0];
	f->wr = sp[1];
	return STATUS_OK;
}

enum status
fcgi_io_feed_new(size_t max_request, struct fcgi_feed **out)
{
	struct fcgi_feed *f = calloc(1, sizeof(*f));
	socklen_t len = sizeof(int);
	int granted = 0;
	enum status rc;

	*out = NULL;
	if (f == NULL)
		return STATUS_NOMEM;
	f->rd = f->wr = -1;
	f->sndbuf =
	    max_request < (1u << 29) ? (int)(2 * max_request + FCGI_IO_FEED_SLACK) : 1 << 30;
	rc = feed_open(f);
	/* What the system granted: net.core.wmem_max bounds it. */
	if (rc == STATUS_OK && (getsockopt(f->wr, SOL_SOCKET, SO_SNDBUF, &granted, &len) != 0 ||
	                        (size_t)granted < max_request + FCGI_IO_FEED_SLACK))
		rc = STATUS_CONFIG;
	if (rc != STATUS_OK) {
		feed_close(f);
		free(f);
		return rc;
	}
	*out = f;
	return STATUS_OK;
}

void
fcgi_io_feed_free(struct fcgi_feed *f)
{
	if (f == NULL)
		return;
	feed_close(f);
	free(f);
}

/* Put len bytes into the pair for libfcgi; it holds nothing else. */
static enum status
feed_put(struct fcgi_feed *f, const void *bytes, size_t len)
{
	ssize_t n;

	if (f->rd < 0 && feed_open(f) != STATUS_OK)
		return STATUS_INTERNAL;
	n = send(f->wr, bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return STATUS_OK;
	feed_open(f);
	return STATUS_INTERNAL;
}

/*
 * libfcgi parses what the pair holds, and reads the request's stdin from it
 * until fcgi_io_attach; c's fd is kept when libfcgi refuses the bytes.
 */
static enum status
feed_accept(struct fcgi_feed *f, struct fcgi_conn *c)
{
	int fd = c->req.ipcFd;

	/* keepConnection stops the FCGX_Finish_r that FCGX_Accept_r starts
	 * with from closing the fd it holds. */
	c->req.ipcFd = f->rd;
	c->req.keepConnection = 1;
	if (FCGX_Accept_r(&c->req) == 0)
		return STATUS_OK;
	/* libfcgi closes the read end when it gives up on the bytes. */
	if (c->req.ipcFd != f->rd)
		f->rd = -1;
	feed_open(f);
	c->req.ipcFd = fd;
	return STATUS_BAD_REQUEST;
}

/* After the parse: the pair must be empty for the next request. */
static void
feed_done(struct fcgi_feed *f, struct fcgi_conn *c)
{
	if (!FCGX_HasSeenEOF(c->req.in))
		feed_open(f);
}

struct fcgi_conn *
fcgi_io_conn_new(void)
{
	struct fcgi_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || FCGX_InitRequest(&c->req, -1, 0) != 0) {
		free(c);
		return NULL;
	}
	/* Any close libfcgi does (the pair it gave up on, the connection after
	 * a write error) is then a plain one: no shutdown and wait for the peer.
	 * Only such a close clears the flag, and a conn sees at most one. */
	c->req.detached = 1;
	return c;
}

void
fcgi_io_conn_free(struct fcgi_conn *c)
{
	if (c == NULL)
		return;
	FCGX_Free(&c->req, 0);
	free(c->env);
	free(c->body);
	free(c->path);
	free(c);
}

void
fcgi_io_attach(struct fcgi_feed *f, struct fcgi_conn *c, int fd)
{
	feed_done(f, c);
	c->req.ipcFd = fd;
}

enum status
fcgi_io_parse(struct fcgi_feed *f, struct fcgi_conn *c, const void *bytes, size_t len)
{
	if (feed_put(f, bytes, len) != STATUS_OK)
		return STATUS_INTERNAL;
	return feed_accept(f, c);
}

/* Read stdin to its end (the empty STDIN record): the pair is then empty. */
static void
skip_stdin(struct fcgi_conn *c)
{
	char b[256];

	while (FCGX_GetStr(b, (int)sizeof(b), c->req.in) > 0)
		;
}

static enum status
read_body(struct fcgi_conn *c, size_t max_body, int too_large, struct request *req)
{
	const char *cl = FCGX_GetParam(REQUEST_P_CONTENT_LENGTH, c->req.envp);
	long declared = -1;
	size_t want = max_body + 1, got = 0;
	int n;

	req->body = "";
	req->body_status = STATUS_OK;
	if (cl != NULL && *cl != '\0' && util_parse_long(cl, 0, 1L << 40, &declared) != STATUS_OK)
		declared = -1;
	/* Refuse before reading when the length (seen or declared) is over the cap. */
	if (too_large || declared > (long)max_body) {
		req->body_status = STATUS_TOO_LARGE;
		return STATUS_OK;
	}
	if (declared == 0)
		return STATUS_OK;
	if (declared > 0)
		want = (size_t)declared;
	c->body = malloc(want + 1);
	if (c->body == NULL)
		return STATUS_NOMEM;
	while (got < want && (n = FCGX_GetStr(c->body + got, (int)(want - got), c->req.in)) > 0)
		got += (size_t)n;
	c->body[got] = '\0';
	if (got > max_body)
		req->body_status = STATUS_TOO_LARGE;
	req->body = c->body;
	req->body_len = got;
	return STATUS_OK;
}

/* The value of the param name, or "" when it is absent. */
static const char *
param_or_empty(struct fcgi_conn *c, const char *name)
{
	const char *v = FCGX_GetParam(name, c->req.envp);

	return v != NULL ? v : "";
}

/*
 * The path routed on, as the web server decoded it (repeated slashes merged,
 * dot segments removed): DOCUMENT_URI (nginx, the Apache site), else
 * SCRIPT_NAME followed by PATH_INFO (lighttpd, which passes no DOCUMENT_URI),
 * else the raw REQUEST_URI up to its query. A decoded path is taken whole: a
 * '?' or '#' in it was sent encoded and is part of the path.
 */
static enum status
read_path(struct fcgi_conn *c, struct request *req)
{
	const char *doc = param_or_empty(c, REQUEST_P_DOCUMENT_URI);
	const char *script = param_or_empty(c, REQUEST_P_SCRIPT_NAME);
	const char *info = param_or_empty(c, REQUEST_P_PATH_INFO);
	const char *uri = param_or_empty(c, REQUEST_P_URI);
	size_t ns, ni;

	if (*doc != '\0') {
		c->path = strdup(doc);
	} else if (*script != '\0' || *info != '\0') {
		ns = strlen(script);
		ni = strlen(info);
		c->path = malloc(ns + ni + 1);
		if (c->path != NULL) {
			memcpy(c->path, script, ns);
			memcpy(c->path + ns, info, ni + 1);
		}
	} else {
		c->path = strndup(uri, strcspn(uri, "?#"));
	}
	if (c->path == NULL)
		return STATUS_NOMEM;
	req->path = c->path;
	return STATUS_OK;
}

enum status
fcgi_io_read_request(struct fcgi_conn *c, size_t max_body, int too_large, struct request *req)
{
	const char *m = FCGX_GetParam(REQUEST_P_METHOD, c->req.envp);
	enum status rc;

	memset(req, 0, sizeof(*req));
	req->env = c->req.envp;
	req->method = m ? m : "";
	rc = read_path(c, req);
	if (rc == STATUS_OK)
		rc = read_body(c, max_body, too_large, req);
	if (rc == STATUS_OK && req->body_status == STATUS_OK)
		skip_stdin(c);
	return rc;
}

/* The params in one block: the pointers, then the "NAME=value" strings. */
static char **
copy_env(char **env)
{
	size_t n = 0, bytes = 0, len;
	char **v, *p;

	for (char **e = env; e != NULL && *e != NULL; e++, n++)
		bytes += strlen(*e) + 1;
	v = malloc((n + 1) * sizeof(*v) + bytes);
	if (v == NULL)
		return NULL;
	p = (char *)(v + n + 1);
	for (size_t i = 0; i < n; i++) {
		len = strlen(env[i]) + 1;
		memcpy(p, env[i], len);
		v[i] = p;
		p += len;
	}
	v[n] = NULL;
	return v;
}

enum status
fcgi_io_release(struct fcgi_conn *c, struct request *req)
{
	char **env = copy_env(c->req.envp);

	if (env == NULL)
		return STATUS_NOMEM;
	c->env = env;
	req->env = env;
	req->method = request_param(req, REQUEST_P_METHOD);
	if (req->method == NULL)
		req->method = "";
	FCGX_Free(&c->req, 0); /* the streams and params; the fd stays */
	c->req.envp = NULL;
	return STATUS_OK;
}

/*
 * libfcgi's streams again for a released request: it parses a request of
 * no params and no body with the same id and flags from the pair, and then
 * writes the reply to the connection.
 */
static enum status
reopen(struct fcgi_feed *f, struct fcgi_conn *c)
{
	FCGI_BeginRequestRecord begin = {
	    .header = {.version = FCGI_VERSION_1,
	               .type = FCGI_BEGIN_REQUEST,
	               .requestIdB1 = (unsigned char)(c->req.requestId >> 8),
	               .requestIdB0 = (unsigned char)c->req.requestId,
	               .contentLengthB0 = sizeof(begin.body)},
	    .body = {.roleB0 = FCGI_RESPONDER,
	             .flags = c->req.keepConnection ? FCGI_KEEP_CONN : 0}};
	FCGI_Header end[2] = {begin.header, begin.header};
	unsigned char bytes[sizeof(begin) + sizeof(end)];
	int fd = c->req.ipcFd; /* the connection */

	end[0].type = FCGI_PARAMS;
	end[1].type = FCGI_STDIN;
	end[0].contentLengthB0 = end[1].contentLengthB0 = 0;
	memcpy(bytes, &begin, sizeof(begin));
	memcpy(bytes + sizeof(begin), end, sizeof(end));
	if (feed_put(f, bytes, sizeof(bytes)) != STATUS_OK || feed_accept(f, c) != STATUS_OK)
		return STATUS_INTERNAL;
	skip_stdin(c);
	fcgi_io_attach(f, c, fd);
	return STATUS_OK;
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 503:
		return "Service Unavailable";
	default:
		return code >= 500 ? "Internal Server Error" : "Error";
	}
}

/*
 * stderr first, so that closing stdout writes what is left of the reply, the
 * end of stdout and FCGI_END_REQUEST in one write.
 */
static enum status
close_streams(struct fcgi_conn *c)
{
	int err;

	FCGX_FClose(c->req.err);
	if (FCGX_FClose(c->req.out) == 0)
		return STATUS_OK;
	err = FCGX_GetError(c->req.out);
	return err == EAGAIN || err == EWOULDBLOCK ? STATUS_UNAVAILABLE : STATUS_ABORTED;
}

enum status
fcgi_io_write_response(struct fcgi_feed *f, struct fcgi_conn *c, const struct response *res)
{
	char head[512];
	int n, extra;

	if (c->req.out == NULL && reopen(f, c) != STATUS_OK)
		return STATUS_INTERNAL;
	n = snprintf(head, sizeof(head),
	             "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	             "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
	             res->http_status, reason(res->http_status),
	             res->content_type ? res->content_type : "application/json", res->body_len);
	if (res->allow != NULL) {
		extra = snprintf(head + n, sizeof(head) - (size_t)n, "Allow: %s\r\n", res->allow);
		n += extra;
	}
	if (res->retry_after_s > 0) {
		extra = snprintf(head + n, sizeof(head) - (size_t)n, "Retry-After: %d\r\n",
		                 res->retry_after_s);
		n += extra;
	}
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (FCGX_PutStr(head, n, c->req.out) != n)
		return STATUS_ABORTED;
	if (res->body_len > 0 && !res->head_only &&
	    FCGX_PutStr(res->body, (int)res->body_len, c->req.out) != (int)res->body_len)
		return STATUS_ABORTED;
	return close_streams(c);
}

enum status
fcgi_io_write_end(struct fcgi_feed *f, struct fcgi_conn *c)
{
	if (c->req.out == NULL && reopen(f, c) != STATUS_OK)
		return STATUS_INTERNAL;
	return close_streams(c);
}

int
fcgi_io_finish(struct fcgi_conn *c)
{
	int keep = c->req.keepConnection;

	/* The connection is the edge's: libfcgi closes it only after an error,
	 * and then at once (detached, see fcgi_io_conn_new). */
	c->req.keepConnection = 1;
	FCGX_Finish_r(&c->req);
	if (c->req.ipcFd < 0)
		return -1;
	return keep ? 1 : 0;
}
