/*
 * fcgi_io.h - the only interface to libfcgi: listening sockets, accepting
 * requests, turning FastCGI params and stdin into a struct request and a
 * struct response into the FastCGI stdout stream.
 */
#ifndef B2CAUTHY_FCGI_IO_H
#define B2CAUTHY_FCGI_IO_H

#include <stddef.h>

#include "request.h"
#include "status.h"

struct fcgi_conn;

/*
 * fcgi_io_init - initialise libfcgi once, in main, after the signal mask is
 * set (so its handlers are not installed). STATUS_OK or STATUS_INTERNAL.
 */
enum status fcgi_io_init(void);

/*
 * fcgi_io_listen - open a listening socket: spec is a Unix socket path
 * (created with mode 0660, a stale socket file replaced) or "host:port".
 * Unlike FCGX_OpenSocket it never exits. STATUS_OK and *fd, or STATUS_CONFIG
 * with err set.
 */
enum status fcgi_io_listen(const char *spec, int backlog, int *fd, char *err, size_t errlen);

/*
 * fcgi_io_inherited_fd - the listening socket passed by systemd socket
 * activation (LISTEN_FDS=1 for this pid: fd 3) or by spawn-fcgi (fd 0), or -1
 * when there is none.
 */
int fcgi_io_inherited_fd(void);

/* fcgi_io_conn_new - per-thread request state on listen_fd; NULL when out of memory. */
struct fcgi_conn *fcgi_io_conn_new(int listen_fd);

/* fcgi_io_conn_free - free it; NULL is a no-op. */
void fcgi_io_conn_free(struct fcgi_conn *c);

/*
 * fcgi_io_accept - block for the next request. STATUS_OK, or
 * STATUS_UNAVAILABLE when the listening socket was shut down or failed.
 * Thread-safe for distinct conns.
 */
enum status fcgi_io_accept(struct fcgi_conn *c);

/*
 * fcgi_io_read_request - fill req from the accepted request: params, method,
 * path (DOCUMENT_URI, else REQUEST_URI without the query), body read up to
 * max_body bytes (body_status STATUS_TOO_LARGE beyond), and a client_gone
 * probe. Strings stay owned by c until fcgi_io_finish. STATUS_OK or STATUS_NOMEM.
 */
enum status fcgi_io_read_request(struct fcgi_conn *c, size_t max_body, struct request *req);

/*
 * fcgi_io_write_response - write Status, Content-Type, Content-Length, the
 * extra headers and the body. STATUS_OK or STATUS_ABORTED when the web server
 * has gone.
 */
enum status fcgi_io_write_response(struct fcgi_conn *c, const struct response *res);

/* fcgi_io_finish - end the request and free what read_request allocated. */
void fcgi_io_finish(struct fcgi_conn *c);

/*
 * fcgi_io_shutdown - make every thread blocked in fcgi_io_accept return:
 * FCGX_ShutdownPending plus shutdown(2) of the listening socket.
 */
void fcgi_io_shutdown(int listen_fd);

#endif
