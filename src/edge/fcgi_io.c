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
#include <fcgiapp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define SD_LISTEN_FDS_START 3

struct fcgi_conn {
	FCGX_Request req;
	char *body;
	char *path;
};

enum status
fcgi_io_init(void)
{
	return FCGX_Init() == 0 ? STATUS_OK : STATUS_INTERNAL;
}

static enum status
listen_unix(const char *path, int backlog, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int s = -1;

	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "listen: socket path too long: %s", path);
		return STATUS_CONFIG;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    listen(s, backlog) != 0) {
		snprintf(err, errlen, "listen: %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return STATUS_CONFIG;
	}
	*fd = s;
	return STATUS_OK;
}

static enum status
listen_tcp(const char *spec, int backlog, int *fd, char *err, size_t errlen)
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
	*fd = s;
	return STATUS_OK;
}

enum status
fcgi_io_listen(const char *spec, int backlog, int *fd, char *err, size_t errlen)
{
	if (spec[0] == '/' || spec[0] == '.')
		return listen_unix(spec, backlog, fd, err, errlen);
	return listen_tcp(spec, backlog, fd, err, errlen);
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

struct fcgi_conn *
fcgi_io_conn_new(int fd)
{
	struct fcgi_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || FCGX_InitRequest(&c->req, -1, 0) != 0) {
		free(c);
		return NULL;
	}
	/* FCGX_Accept_r skips its accept() for a preset ipcFd; keepConnection
	 * stops the FCGX_Finish_r it starts with from closing that fd. */
	c->req.ipcFd = fd;
	c->req.keepConnection = 1;
	return c;
}

void
fcgi_io_conn_free(struct fcgi_conn *c)
{
	if (c == NULL)
		return;
	FCGX_Free(&c->req, 0);
	free(c->body);
	free(c->path);
	free(c);
}

int
fcgi_io_attach(struct fcgi_conn *c, int fd)
{
	int old = c->req.ipcFd;

	c->req.ipcFd = fd;
	return old;
}

enum status
fcgi_io_parse(struct fcgi_conn *c)
{
	if (FCGX_Accept_r(&c->req) == 0)
		return STATUS_OK;
	/* libfcgi closed the connection when it gave up on it. */
	c->req.ipcFd = -1;
	return STATUS_BAD_REQUEST;
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

static enum status
read_path(struct fcgi_conn *c, struct request *req)
{
	const char *p = FCGX_GetParam(REQUEST_P_DOCUMENT_URI, c->req.envp);
	size_t n;

	if (p == NULL || *p == '\0')
		p = FCGX_GetParam(REQUEST_P_URI, c->req.envp);
	if (p == NULL)
		p = "";
	n = strcspn(p, "?#");
	c->path = strndup(p, n);
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
	if (rc != STATUS_OK)
		return rc;
	return read_body(c, max_body, too_large, req);
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

enum status
fcgi_io_write_response(struct fcgi_conn *c, const struct response *res)
{
	char head[512];
	int n, extra;

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
	if (res->body_len > 0 &&
	    FCGX_PutStr(res->body, (int)res->body_len, c->req.out) != (int)res->body_len)
		return STATUS_ABORTED;
	return FCGX_FFlush(c->req.out) == 0 ? STATUS_OK : STATUS_ABORTED;
}

int
fcgi_io_finish(struct fcgi_conn *c)
{
	int keep = c->req.keepConnection;

	/* The connection is the edge's: libfcgi closes it only after an error. */
	c->req.keepConnection = 1;
	FCGX_Finish_r(&c->req);
	if (c->req.ipcFd < 0)
		return -1;
	return keep ? 1 : 0;
}
