/*
 * fcgi_io.h - the only interface to libfcgi: listening sockets, parsing a
 * request that has fully arrived, turning FastCGI params and stdin into a
 * struct request and a struct response into the FastCGI stdout stream.
 * fcgi_io_init, the listening sockets and fcgi_io_inherited_fd are for main,
 * before the loop starts or after it ends; the rest runs on the loop thread.
 */
#ifndef B2CAUTHY_FCGI_IO_H
#define B2CAUTHY_FCGI_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "request.h"
#include "status.h"

struct fcgi_conn;

/*
 * fcgi_io_init - initialise libfcgi once, in main, after the signal mask is
 * set (so its handlers are not installed). STATUS_OK or STATUS_INTERNAL.
 */
enum status fcgi_io_init(void);

/* A listening socket of this process; path is the Unix socket file it made, or "". */
struct fcgi_listener {
	int fd;
	char path[108];
	dev_t dev;
	ino_t ino;
};

/*
 * fcgi_io_listen_is_unix - does spec name a Unix socket path (it starts with
 * '/' or '.'), rather than "host:port"? Pure.
 */
bool fcgi_io_listen_is_unix(const char *spec);

/*
 * fcgi_io_listen - open a listening socket: spec is a Unix socket path
 * (created with mode 0660; a stale socket file is replaced, one that another
 * process listens on is refused) or "host:port". Unlike FCGX_OpenSocket it
 * never exits. STATUS_OK and *out (fcgi_io_listener_close), or STATUS_CONFIG
 * with err set.
 */
enum status fcgi_io_listen(const char *spec, int backlog, struct fcgi_listener *out, char *err,
                           size_t errlen);

/*
 * fcgi_io_listener_close - close l's socket and remove its socket file, but
 * only while the path is still the file l made (another instance may have
 * taken the path over). l->fd is -1 afterwards; a second call is a no-op.
 */
void fcgi_io_listener_close(struct fcgi_listener *l);

/*
 * fcgi_io_inherited_fd - the listening socket passed by systemd socket
 * activation (LISTEN_FDS=1 for this pid: fd 3) or by spawn-fcgi (fd 0), or -1
 * when there is none.
 */
int fcgi_io_inherited_fd(void);

/*
 * fcgi_io_feed_new - the socketpair libfcgi reads requests from, reused for
 * every request of one loop; max_request is the largest request the edge
 * hands over (its send buffer). STATUS_OK and *out (fcgi_io_feed_free),
 * STATUS_CONFIG when the system's limit on a socket's send buffer
 * (net.core.wmem_max) cannot hold such a request, or STATUS_NOMEM /
 * STATUS_INTERNAL. One thread at a time.
 */
struct fcgi_feed;
enum status fcgi_io_feed_new(size_t max_request, struct fcgi_feed **out);

/* fcgi_io_feed_free - close the pair and free f; NULL is a no-op. */
void fcgi_io_feed_free(struct fcgi_feed *f);

/*
 * fcgi_io_conn_new - empty request state (fcgi_io_conn_free). NULL when out
 * of memory. Thread-safe for distinct requests.
 */
struct fcgi_conn *fcgi_io_conn_new(void);

/* fcgi_io_conn_free - free the request state; never closes the fd. NULL is a no-op. */
void fcgi_io_conn_free(struct fcgi_conn *c);

/*
 * fcgi_io_parse - let libfcgi read BEGIN_REQUEST and the params of the whole
 * request in bytes[0..len) (checked by fcgi_scan, and without padding:
 * fcgi_scan_unpad), through f without waiting.
 * STATUS_OK, STATUS_BAD_REQUEST when libfcgi refused them, STATUS_INTERNAL
 * when f cannot take them.
 */
enum status fcgi_io_parse(struct fcgi_feed *f, struct fcgi_conn *c, const void *bytes, size_t len);

/*
 * fcgi_io_read_request - fill req from the parsed request: params, method,
 * path (DOCUMENT_URI, else SCRIPT_NAME followed by PATH_INFO, both whole,
 * else REQUEST_URI without the query), body read up to max_body bytes
 * (body_status STATUS_TOO_LARGE beyond, or at once when too_large is set: the
 * pre-reader saw more). Strings stay owned by c until fcgi_io_conn_free.
 * STATUS_OK or STATUS_NOMEM.
 */
enum status fcgi_io_read_request(struct fcgi_conn *c, size_t max_body, int too_large,
                                 struct request *req);

/*
 * fcgi_io_attach - after fcgi_io_read_request, point the request at fd (the
 * web server's connection, still the caller's) for the reply, and leave f
 * ready for the next request.
 */
void fcgi_io_attach(struct fcgi_feed *f, struct fcgi_conn *c, int fd);

/*
 * fcgi_io_release - while the request waits: keep a compact copy of the
 * params (req->env and req->method point at it, path and body stay) and free
 * libfcgi's streams and params. fcgi_io_write_response re-creates the streams.
 * STATUS_OK, or STATUS_NOMEM with nothing changed.
 */
enum status fcgi_io_release(struct fcgi_conn *c, struct request *req);

/*
 * fcgi_io_write_response - write Status, Content-Type, Content-Length, the
 * extra headers and the body (none for res->head_only), the end of stdout and FCGI_END_REQUEST (a
 * released request gets its streams back through f first), without waiting:
 * the connection is non-blocking. STATUS_OK, STATUS_ABORTED when the web
 * server has gone, STATUS_UNAVAILABLE when its socket buffer is full (it does
 * not read its replies), STATUS_INTERNAL when the streams cannot be
 * re-created. After a failure fcgi_io_finish closes the connection.
 */
enum status fcgi_io_write_response(struct fcgi_feed *f, struct fcgi_conn *c,
                                   const struct response *res);

/*
 * fcgi_io_write_end - end the request with no reply: only the end of stdout
 * and FCGI_END_REQUEST (the web server sent FCGI_ABORT_REQUEST), otherwise as
 * fcgi_io_write_response, with the same results.
 */
enum status fcgi_io_write_end(struct fcgi_feed *f, struct fcgi_conn *c);

/*
 * fcgi_io_finish - after a reply went out, free libfcgi's streams and params
 * (the request's strings). Returns 1 when the web server keeps the
 * connection for another request (FCGI_KEEP_CONN), 0 when the caller should
 * close it, -1 when libfcgi has closed it after a write error.
 */
int fcgi_io_finish(struct fcgi_conn *c);

#endif
