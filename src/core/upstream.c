/*
 * upstream.c - HTTPS calls to the Authy API through libcurl, the only file that
 * includes curl/curl.h. One curl multi handle per struct upstream, driven by
 * the event loop: curl's sockets become loop watches and its timeout one loop
 * timer; curl_multi_socket_action runs when either fires. The multi keeps a
 * bounded pool of keep-alive connections; a transfer gets an easy handle and
 * enters the multi only while fewer than that many are in flight, the others
 * wait in a FIFO here. Easy handles of clean transfers are kept and reused
 * with only the per-call options set again. A connection's socket (one curl
 * opened through on_open_socket) stays in the loop's epoll set between the
 * transfers that reuse it (parked), so that a keep-alive call costs no
 * epoll_ctl; a parked socket that turns readable (the server closed it)
 * leaves the set. Other sockets (the resolver's) leave the set as soon as
 * curl removes them, because curl closes them without telling. Sockets are
 * found by number, never through curl's per-socket pointer, so that a number
 * curl reuses cannot reach a stale entry. DNS answers and TLS sessions are
 * shared between pools. Verification is always on, redirects are never
 * followed.
 */
#include "upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "crypto.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#ifndef B2CAUTHY_VERSION
#define B2CAUTHY_VERSION "dev"
#endif

#define USER_AGENT_LINE "User-Agent: b2c-authy/" B2CAUTHY_VERSION
#define URL_MAX 2048
#define HEADER_LINE_MAX 1024
#define RETRY_AFTER_MAX 3600
#define PATH_LOG_MAX 200
#define IDLE_HANDLES_MAX 256 /* easy handles kept: upstream_connections at most */
#define KICK_MIN_MS 50       /* queued deadlines are checked at most this often */
/*
 * curl allocates its receive and send buffers for every transfer. A receive
 * buffer of 1 KiB stays within malloc's per-thread cache (the API's answers
 * are this small; longer ones take more reads from OpenSSL's record buffer,
 * not more system calls); the send buffer gets curl's least, 16 KiB, instead
 * of 64 KiB, whose every free made malloc consolidate and trim the heap.
 */
#define RECV_BUFFER 1024L
#define SEND_BUFFER 16384L

struct upstream {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer; /* curl's timeout */
	char *base_url;           /* without trailing '/' */
	char *key_header;         /* "Name: value" line, secret; NULL = none */
	char *basic_user;
	char *basic_pass; /* secret */
	char *ca_file;
	long connect_timeout_ms;
	long request_timeout_ms;
	bool allow_http;
	int max_active;               /* upstream connections: transfers in the multi at most */
	int active;                   /* transfers in the multi */
	struct list_head queue;       /* FIFO of the waiting transfers */
	int queued;                   /* transfers in queue */
	struct loop_timer *kick;      /* deadlines and failures of waiting transfers */
	long long kick_at;            /* when kick is armed for, 0 = disarmed */
	struct curl_slist hdr_get[3]; /* request headers, built once */
	struct curl_slist hdr_post[5];
	CURL *idle[IDLE_HANDLES_MAX]; /* easy handles of finished transfers, for reuse */
	int n_idle;
	struct list_head xfers; /* every transfer, for upstream_free */
	struct list_head socks; /* every socket in the loop, watched or parked */
};

/* A socket of curl's: watched for curl, parked between transfers, or not in the loop. */
struct upsock {
	struct upstream *up;
	int fd;
	struct loop_watch *w; /* NULL while it is not in the epoll set */
	unsigned events;
	bool conn;             /* a connection's: closed through on_close_socket */
	bool parked;           /* curl has no interest in it now; it may still be in the set */
	struct list_link link; /* in socks */
};

/* One transfer: its easy handle, request and what came back so far. */
struct upstream_xfer {
	struct upstream *up;
	struct list_link link;  /* in xfers */
	struct list_link qlink; /* in the FIFO while queued */
	bool queued;
	enum status fail_rc; /* a queued transfer that could not start */
	CURL *easy;          /* NULL while queued */
	char *url;           /* until it starts; may carry a one-time code */
	char *form;          /* POST body (copy); on_read hands it to curl unless repeatable */
	size_t form_len;
	size_t form_off; /* what curl has read of it */
	upstream_done_fn fn;
	void *arg;
	bool post;
	bool repeatable; /* a POST curl may send again itself (upstream_call) */
	bool retried;
	bool reusable; /* completed cleanly: its easy handle may serve the next transfer */
	long long start_ms;
	long long deadline_ms;
	long long expiry_ms; /* when the first attempt times out, queueing included */
	char method[8];
	char path[PATH_LOG_MAX]; /* for the log: log_path when given */
	struct buf body;
	bool overflow;      /* the body went over UPSTREAM_RESPONSE_MAX */
	bool nomem;         /* the body could not be stored */
	long retry_after_s; /* from the Retry-After header of the final response */
	char errbuf[CURL_ERROR_SIZE];
	struct log_rid rid; /* the request that started it: its end logs with that id */
};

/* The transfer queued at link l, or NULL. */
#define QUEUED(l) LIST_ITEM_OR_NULL(l, struct upstream_xfer, qlink)

static struct upstream_xfer *
queue_first(const struct upstream *up)
{
	return QUEUED(up->queue.first);
}

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	(void)h;
	(void)access;
	(void)arg;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	(void)h;
	(void)arg;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&share_locks[data]);
}

enum status
upstream_global_init(void)
{
	int bad = 0;

	if (share != NULL)
		return STATUS_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return STATUS_INTERNAL;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (share == NULL)
		return STATUS_INTERNAL;
	/* Only DNS answers and TLS sessions: libcurl does not support sharing
	 * connections between handles used by different threads. */
	bad |= curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK;
	bad |= curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK;
	bad |= curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK;
	bad |= curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK;
	if (bad) {
		curl_share_cleanup(share);
		share = NULL;
		return STATUS_INTERNAL;
	}
	return STATUS_OK;
}

void
upstream_global_cleanup(void)
{
	if (share != NULL) {
		curl_share_cleanup(share);
		share = NULL;
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&share_locks[i]);
	}
	curl_global_cleanup();
}

static bool
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static enum status
check_opts(const struct upstream_opts *o)
{
	if (o == NULL || o->base_url == NULL || o->connect_timeout_ms <= 0 ||
	    o->request_timeout_ms <= 0)
		return STATUS_CONFIG;
	/* https only: the API key must never travel in clear text. */
	if (strncasecmp(o->base_url, "https://", 8) != 0 &&
	    !(o->allow_http && strncasecmp(o->base_url, "http://", 7) == 0))
		return STATUS_CONFIG;
	if (strlen(o->base_url) >= URL_MAX / 2 || has_crlf(o->base_url))
		return STATUS_CONFIG;
	/* A CR or LF in a header value would let it inject further headers. */
	if (has_crlf(o->key_header) || has_crlf(o->api_key) || has_crlf(o->basic_user))
		return STATUS_CONFIG;
	if (o->key_header != NULL && (o->key_header[0] == '\0' || strchr(o->key_header, ':')))
		return STATUS_CONFIG;
	return STATUS_OK;
}

static char *
dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = true;
	return d;
}

static char *
key_header_line(const struct upstream_opts *o, bool *fail)
{
	struct buf b;

	if (o->key_header == NULL || o->api_key == NULL)
		return NULL;
	buf_init(&b, HEADER_LINE_MAX);
	if (buf_appendf(&b, "%s: %s", o->key_header, o->api_key) != STATUS_OK) {
		buf_free(&b);
		*fail = true;
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static void on_timer(void *arg);
static void on_kick(void *arg);
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *addr);
static int on_close_socket(void *clientp, curl_socket_t s);
static void sock_free(struct upsock *k);
static int on_timeout(CURLM *multi, long timeout_ms, void *userp);

/* The multi handle: the bounded pool and the loop callbacks. */
static enum status
new_multi(struct upstream *up, long max_connections)
{
	int bad = 0;

	if (max_connections <= 0)
		max_connections = 1;
	up->multi = curl_multi_init();
	if (up->multi == NULL)
		return STATUS_NOMEM;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_SOCKETDATA, up) != CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_TIMERFUNCTION, on_timeout) != CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_TIMERDATA, up) != CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections) !=
	       CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections) !=
	       CURLM_OK;
	bad |= curl_multi_setopt(up->multi, CURLMOPT_MAXCONNECTS, max_connections) != CURLM_OK;
	bad |=
	    curl_multi_setopt(up->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != CURLM_OK;
	return bad ? STATUS_INTERNAL : STATUS_OK;
}

/* Link the n lines of l into one list. */
static void
link_headers(struct curl_slist *l, int n)
{
	for (int i = 0; i < n; i++)
		l[i].next = i + 1 < n ? &l[i + 1] : NULL;
}

/*
 * The two header lists of every request, in up; no copies of the key. The
 * agent is one of their lines: given as CURLOPT_USERAGENT, curl would print
 * its line anew for every transfer.
 */
static void
build_headers(struct upstream *up)
{
	struct curl_slist *g = up->hdr_get, *p = up->hdr_post;
	int ng = 0, np = 0;

	g[ng++].data = p[np++].data = (char *)"Accept: application/json";
	g[ng++].data = p[np++].data = (char *)USER_AGENT_LINE;
	/* An empty Expect disables 100-continue round trips on POST (curl never
	 * sends one with a GET). */
	p[np++].data = (char *)"Expect:";
	p[np++].data = (char *)"Content-Type: application/x-www-form-urlencoded";
	if (up->key_header != NULL)
		g[ng++].data = p[np++].data = up->key_header;
	link_headers(g, ng);
	link_headers(p, np);
}

enum status
upstream_new(const struct upstream_opts *opts, struct loop *loop, struct upstream **out)
{
	struct upstream *up;
	bool fail = false;
	enum status rc;
	size_t n;

	*out = NULL;
	if (check_opts(opts) != STATUS_OK)
		return STATUS_CONFIG;
	up = calloc(1, sizeof(*up));
	if (up == NULL)
		return STATUS_NOMEM;
	up->loop = loop;
	up->base_url = dup_or_null(opts->base_url, &fail);
	up->key_header = key_header_line(opts, &fail);
	up->basic_user = dup_or_null(opts->basic_user, &fail);
	up->basic_pass = dup_or_null(opts->basic_pass ? opts->basic_pass : "", &fail);
	up->ca_file = dup_or_null(opts->ca_file, &fail);
	up->connect_timeout_ms = opts->connect_timeout_ms;
	up->request_timeout_ms = opts->request_timeout_ms;
	up->allow_http = opts->allow_http;
	up->max_active = opts->max_connections > 0 ? (int)opts->max_connections : 1;
	build_headers(up);
	rc = fail ? STATUS_NOMEM : loop_timer_new(loop, on_timer, up, &up->timer);
	if (rc == STATUS_OK)
		rc = loop_timer_new(loop, on_kick, up, &up->kick);
	if (rc == STATUS_OK)
		rc = new_multi(up, up->max_active);
	if (rc != STATUS_OK) {
		upstream_free(up);
		return rc;
	}
	n = strlen(up->base_url);
	while (n > 0 && up->base_url[n - 1] == '/')
		up->base_url[--n] = '\0';
	*out = up;
	return STATUS_OK;
}

/*
 * An easy handle for a new transfer: one of a clean finished transfer, with
 * its transport options still set (*fresh false), else a new one.
 */
static CURL *
easy_get(struct upstream *up, bool *fresh)
{
	*fresh = up->n_idle == 0;
	if (*fresh)
		return curl_easy_init();
	return up->idle[--up->n_idle];
}

/* Keep h (out of the multi) for the next transfer, or clean it up. */
static void
easy_put(struct upstream *up, CURL *h)
{
	/* The transfer that owned these is about to be freed. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
	if (up->n_idle < IDLE_HANDLES_MAX)
		up->idle[up->n_idle++] = h;
	else
		curl_easy_cleanup(h);
}

/* Take a queued transfer out of the FIFO. */
static void
dequeue(struct upstream_xfer *x)
{
	struct upstream *up = x->up;

	list_unlink(&up->queue, &x->qlink);
	x->queued = false;
	up->queued--;
}

/* Free x, queued or in flight, without a callback. */
static void
xfer_free(struct upstream_xfer *x)
{
	struct upstream *up = x->up;

	if (x->queued)
		dequeue(x);
	if (x->easy != NULL) {
		curl_multi_remove_handle(up->multi, x->easy);
		/* A failed or cancelled transfer may leave the handle in any state. */
		if (x->reusable)
			easy_put(up, x->easy);
		else
			curl_easy_cleanup(x->easy);
		up->active--;
	}
	list_unlink(&up->xfers, &x->link);
	buf_free(&x->body);
	util_zero_free_str(x->url);
	util_zero_free_str(x->form);
	free(x);
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	while (up->xfers.first != NULL)
		xfer_free(LIST_ITEM(up->xfers.first, struct upstream_xfer, link));
	while (up->n_idle > 0)
		curl_easy_cleanup(up->idle[--up->n_idle]);
	if (up->multi != NULL)
		curl_multi_cleanup(up->multi); /* closes the sockets: on_close_socket */
	while (up->socks.first != NULL)
		sock_free(LIST_ITEM(up->socks.first, struct upsock, link));
	loop_timer_free(up->timer);
	loop_timer_free(up->kick);
	free(up->base_url);
	util_zero_free_str(up->key_header);
	free(up->basic_user);
	util_zero_free_str(up->basic_pass);
	free(up->ca_file);
	free(up);
}

int
upstream_active(const struct upstream *up)
{
	return up->active;
}

int
upstream_queued(const struct upstream *up)
{
	return up->queued;
}

/* Write callback: store the body up to UPSTREAM_RESPONSE_MAX, abort beyond. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * nmemb;
	enum status rc;

	rc = buf_append(&x->body, data, len);
	if (rc == STATUS_TOO_LARGE)
		x->overflow = true;
	else if (rc != STATUS_OK)
		x->nomem = true;
	return rc == STATUS_OK ? len : 0;
}

/*
 * Read callback: the POST body. There is no seek callback, on purpose: when
 * a reused connection ends without an answer after the body went out, curl
 * would send the request again on a new one, and the API may have acted on
 * the first (a second push). Without a way to rewind, curl fails the call
 * instead; a request whose body had not gone out is still sent again.
 */
static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t room = size * nitems, n = x->form_len - x->form_off;

	if (n > room)
		n = room;
	memcpy(buf, x->form + x->form_off, n);
	x->form_off += n;
	return n;
}

/* Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3). */
static long
parse_retry_after(const char *v)
{
	long secs = 0;
	time_t t;

	if (util_parse_long(v, 0, 86400L * 365, &secs) == STATUS_OK)
		return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return 0;
	secs = (long)(t - time(NULL));
	if (secs < 0)
		return 0;
	return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
}

/* Header callback: a new status line starts a new response (after 1xx). */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "retry-after:";
	struct upstream_xfer *x = arg;
	size_t len = size * nmemb;
	char line[128];

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->retry_after_s = 0;
	} else if (len > sizeof(name) - 1 && len < sizeof(line) &&
	           strncasecmp(data, name, sizeof(name) - 1) == 0) {
		memcpy(line, data + sizeof(name) - 1, len - (sizeof(name) - 1));
		line[len - (sizeof(name) - 1)] = '\0';
		x->retry_after_s = parse_retry_after(util_trim(line));
	}
	return len;
}

/* curl's TLS context callback, before each new connection's handshake. */
static CURLcode
on_ssl_ctx(CURL *h, void *ssl_ctx, void *arg)
{
	(void)h;
	(void)arg;
	crypto_tls_keep_buffers(ssl_ctx);
	return CURLE_OK;
}

/* Transport and security options and callbacks: once per easy handle. */
static int
set_transport(const struct upstream *up, CURL *h)
{
	const char *protos = up->allow_http ? "http,https" : "https";
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_BUFFERSIZE, RECV_BUFFER) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, SEND_BUFFER) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protos) != CURLE_OK;
#else
	(void)protos;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	                        up->allow_http ? (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP)
	                                       : (long)CURLPROTO_HTTPS) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
	if (up->ca_file != NULL)
		bad |= curl_easy_setopt(h, CURLOPT_CAINFO, up->ca_file) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK;
	/* The API key header must never follow a redirect to another host. */
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, up->connect_timeout_ms) != CURLE_OK;
	if (up->basic_user != NULL) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_USERNAME, up->basic_user) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, up->basic_pass) != CURLE_OK;
	}
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, (void *)up) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, (void *)up) != CURLE_OK;
	if (share != NULL)
		bad |= curl_easy_setopt(h, CURLOPT_SHARE, share) != CURLE_OK;
	return bad;
}

/* What differs per call: URL, method, body, headers, timeout, the transfer. */
static int
set_request(struct upstream_xfer *x, long timeout_ms)
{
	CURL *h = x->easy;
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_URL, x->url) != CURLE_OK;
	if (x->post) {
		bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)x->form_len) != CURLE_OK;
		/* A copy curl can rewind goes out with the headers in one send; the
		 * handle may hold one from its last transfer, which on_read replaces. */
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL) != CURLE_OK;
		if (x->repeatable)
			bad |= curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, x->form) != CURLE_OK;
		else
			bad |= curl_easy_setopt(h, CURLOPT_READDATA, x) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->up->hdr_post) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->up->hdr_get) != CURLE_OK;
	}
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
	return bad;
}

static enum status
map_curl(CURLcode cc, const struct upstream_xfer *x)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return STATUS_UPSTREAM_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return STATUS_NOMEM;
	case CURLE_WRITE_ERROR:
		return x->nomem ? STATUS_NOMEM : STATUS_UPSTREAM_PROTOCOL;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* A POST may have been acted on before the connection broke (an
		 * approval created, a push sent): not a failure to reach the API. */
		return x->post ? STATUS_UPSTREAM_PROTOCOL : STATUS_UPSTREAM_CONNECT;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return STATUS_UPSTREAM_CONNECT;
	default:
		/* GOT_NOTHING, WEIRD_SERVER_REPLY, PARTIAL_FILE and the like: the
		 * peer spoke, but not acceptable HTTP. */
		return STATUS_UPSTREAM_PROTOCOL;
	}
}

/* The key header is a secret: make sure no error text can carry it. */
static void
set_err(const struct upstream_xfer *x, struct upstream_response *r, CURLcode cc)
{
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);

	if (x->overflow)
		detail = "response body over the size limit";
	snprintf(r->err, sizeof(r->err), "curl %d: %.200s", (int)cc, detail);
	if (x->up->key_header != NULL) {
		const char *v = strchr(x->up->key_header, ':');
		if (v != NULL && v[2] != '\0' && strstr(r->err, v + 2) != NULL)
			snprintf(r->err, sizeof(r->err), "curl %d: (detail withheld)", (int)cc);
	}
}

/* Timeout of this attempt: the smaller of the call ceiling and what is left. */
static enum status
attempt_timeout(const struct upstream *up, long long deadline_ms, long *timeout_ms)
{
	long long left;

	*timeout_ms = up->request_timeout_ms;
	if (deadline_ms <= 0)
		return STATUS_OK;
	left = deadline_ms - util_now_ms();
	if (left <= 0)
		return STATUS_UPSTREAM_TIMEOUT;
	if (left < *timeout_ms)
		*timeout_ms = (long)left;
	return STATUS_OK;
}

static bool
call_valid(const struct upstream_call *call)
{
	if (call == NULL || call->method == NULL || call->path == NULL || call->path[0] != '/')
		return false;
	if (has_crlf(call->path) || strlen(call->path) >= URL_MAX / 2)
		return false;
	return strcmp(call->method, "GET") == 0 || strcmp(call->method, "POST") == 0;
}

/* A new transfer for call, without an easy handle yet. */
static enum status
xfer_new(struct upstream *up, const struct upstream_call *call, long timeout_ms,
         struct upstream_xfer **out)
{
	struct upstream_xfer *x = calloc(1, sizeof(*x));
	char url[URL_MAX];

	*out = NULL;
	if (x == NULL)
		return STATUS_NOMEM;
	x->up = up;
	x->post = strcmp(call->method, "POST") == 0;
	x->repeatable = x->post && call->repeatable;
	x->start_ms = util_now_ms();
	x->deadline_ms = call->deadline_ms;
	x->expiry_ms = x->start_ms + timeout_ms;
	util_strlcpy(x->method, call->method, sizeof(x->method));
	util_strlcpy(x->path, call->log_path != NULL ? call->log_path : call->path,
	             sizeof(x->path));
	buf_init(&x->body, UPSTREAM_RESPONSE_MAX);
	snprintf(url, sizeof(url), "%s%s", up->base_url, call->path);
	x->url = strdup(url);
	/* The path may carry a one-time code. */
	explicit_bzero(url, sizeof(url));
	if (x->post)
		x->form = strdup(call->form != NULL ? call->form : "");
	x->form_len = x->form != NULL ? strlen(x->form) : 0;
	if (x->url == NULL || (x->post && x->form == NULL)) {
		util_zero_free_str(x->url);
		free(x);
		return STATUS_NOMEM;
	}
	*out = x;
	return STATUS_OK;
}

/* Options on the transfer's easy handle; a kept one that refuses is replaced. */
static enum status
xfer_setup(struct upstream_xfer *x, long timeout_ms)
{
	bool fresh;
	int bad;

	x->easy = easy_get(x->up, &fresh);
	bad = x->easy == NULL || (fresh && set_transport(x->up, x->easy)) ||
	      set_request(x, timeout_ms);
	if (bad && !fresh) {
		curl_easy_cleanup(x->easy);
		x->easy = curl_easy_init();
		bad =
		    x->easy == NULL || set_transport(x->up, x->easy) || set_request(x, timeout_ms);
	}
	if (bad && x->easy != NULL) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	return bad ? STATUS_INTERNAL : STATUS_OK;
}

/* x's easy handle into the multi; a refusal is logged, as it is never the call's fault. */
static CURLMcode
add_to_multi(const struct upstream_xfer *x)
{
	CURLMcode mc = curl_multi_add_handle(x->up->multi, x->easy);

	if (mc != CURLM_OK)
		log_warnx("upstream: curl refused a transfer: %s", curl_multi_strerror(mc));
	return mc;
}

/* Hand x to the multi. On failure x holds no easy handle. */
static enum status
xfer_launch(struct upstream_xfer *x)
{
	long long left = x->expiry_ms - util_now_ms();
	enum status rc;

	if (left <= 0)
		return STATUS_UPSTREAM_TIMEOUT;
	rc = xfer_setup(x, (long)left);
	if (rc != STATUS_OK)
		return rc;
	if (add_to_multi(x) != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		return STATUS_INTERNAL;
	}
	x->up->active++;
	/* curl holds its own copy of the URL now; on_read reads x->form. */
	util_zero_free_str(x->url);
	x->url = NULL;
	return STATUS_OK;
}

/* Arm the kick timer for at_ms unless it fires sooner already. */
static void
kick_at(struct upstream *up, long long at_ms)
{
	if (up->kick_at != 0 && up->kick_at <= at_ms)
		return;
	up->kick_at = at_ms;
	loop_timer_arm(up->kick, at_ms);
}

/* The last moment a transfer may start: later, its call cannot end in time. */
static long long
last_start(const struct upstream_xfer *x)
{
	return x->expiry_ms - UPSTREAM_START_MIN_MS;
}

static bool
too_late(const struct upstream_xfer *x, long long now)
{
	return now >= last_start(x);
}

/*
 * Start x on a free connection, unless it is past its last start: then
 * STATUS_UPSTREAM_TIMEOUT and x never reaches the API. Both a call that starts
 * at once and one that leaves the queue go through here, so that the rule
 * holds for both. On failure x holds no easy handle.
 */
static enum status
begin(struct upstream_xfer *x)
{
	if (too_late(x, util_now_ms()))
		return STATUS_UPSTREAM_TIMEOUT;
	return xfer_launch(x);
}

static void
enqueue(struct upstream_xfer *x, bool front)
{
	struct upstream *up = x->up;

	x->queued = true;
	up->queued++;
	if (front)
		list_push_front(&up->queue, &x->qlink);
	else
		list_push_back(&up->queue, &x->qlink);
}

/*
 * x could not start: it waits at the head of the queue for the kick, which
 * hands rc to its callback on the next turn of the loop, never from inside
 * upstream_start or a callback that freed a connection.
 */
static void
defer_fail(struct upstream_xfer *x, enum status rc)
{
	x->fail_rc = rc;
	enqueue(x, true);
	kick_at(x->up, util_now_ms());
}

/* Start queued transfers while connections are free; failures go to the kick. */
static void
pump(struct upstream *up)
{
	struct upstream_xfer *x = queue_first(up);

	while (x != NULL && up->active < up->max_active) {
		struct upstream_xfer *next = QUEUED(x->qlink.next);

		if (x->fail_rc == STATUS_OK) {
			enum status rc;

			dequeue(x);
			rc = begin(x);
			if (rc != STATUS_OK)
				defer_fail(x, rc);
		}
		x = next;
	}
}

enum status
upstream_start(struct upstream *up, const struct upstream_call *call, upstream_done_fn fn,
               void *arg, struct upstream_xfer **out)
{
	struct upstream_xfer *x = NULL;
	long timeout_ms;
	enum status rc;

	if (out != NULL)
		*out = NULL;
	if (up == NULL || !call_valid(call))
		return STATUS_BAD_REQUEST;
	if (attempt_timeout(up, call->deadline_ms, &timeout_ms) != STATUS_OK)
		return STATUS_UPSTREAM_TIMEOUT;
	rc = xfer_new(up, call, timeout_ms, &x);
	if (rc != STATUS_OK)
		return rc;
	x->fn = fn;
	x->arg = arg;
	log_rid_get(&x->rid);
	list_push_front(&up->xfers, &x->link);
	if (up->queue.first == NULL && up->active < up->max_active) {
		rc = begin(x);
		if (rc == STATUS_UPSTREAM_TIMEOUT) {
			/* Too late to start: it ends as a queued call that waited too long. */
			defer_fail(x, rc);
		} else if (rc != STATUS_OK) {
			xfer_free(x);
			return rc;
		}
	} else {
		enqueue(x, false);
		kick_at(up, last_start(x));
	}
	if (out != NULL)
		*out = x;
	return STATUS_OK;
}

void
upstream_cancel(struct upstream_xfer *x)
{
	struct upstream *up;

	if (x == NULL)
		return;
	up = x->up;
	xfer_free(x);
	pump(up);
}

/*
 * A reused keep-alive connection the server had already closed fails before
 * any response. Such a GET is safe to send again once; a POST might have been
 * acted upon, and a timeout means the budget is gone.
 */
static bool
may_retry(const struct upstream_xfer *x, CURLcode cc, long http_status, long connects)
{
	if (x->post || x->retried)
		return false;
	if (cc != CURLE_GOT_NOTHING && cc != CURLE_SEND_ERROR && cc != CURLE_RECV_ERROR)
		return false;
	return connects == 0 && http_status == 0 && x->body.len == 0;
}

/* Send the same GET again on a fresh start. STATUS_OK when it is under way. */
static enum status
retry(struct upstream_xfer *x)
{
	long timeout_ms;

	curl_multi_remove_handle(x->up->multi, x->easy);
	buf_free(&x->body);
	x->overflow = x->nomem = false;
	x->retry_after_s = 0;
	x->errbuf[0] = '\0';
	x->retried = true;
	if (attempt_timeout(x->up, x->deadline_ms, &timeout_ms) != STATUS_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    add_to_multi(x) != CURLM_OK) {
		/* Out of the multi: xfer_free must not remove it again. */
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		x->up->active--;
		return STATUS_UPSTREAM_CONNECT;
	}
	return STATUS_OK;
}

/* A transfer curl reports done: retry it, or hand the result over and free it. */
static void
finish(struct upstream_xfer *x, CURLcode cc)
{
	struct upstream *up = x->up;
	struct upstream_response r;
	struct log_rid saved;
	long connects = -1;
	enum status rc;

	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.http_status);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
	log_rid_enter(&saved, x->rid.id);
	if (cc != CURLE_OK && may_retry(x, cc, r.http_status, connects)) {
		log_debug("upstream %s %s: reused connection closed (curl %d), retrying", x->method,
		          x->path, (int)cc);
		if (retry(x) == STATUS_OK) {
			log_rid_leave(&saved);
			return;
		}
	}
	x->reusable = cc == CURLE_OK;
	rc = cc == CURLE_OK ? STATUS_OK : map_curl(cc, x);
	if (cc != CURLE_OK)
		set_err(x, &r, cc);
	if (rc == STATUS_OK) {
		r.body = buf_cstr(&x->body);
		r.body_len = x->body.len;
		r.retry_after_s = x->retry_after_s;
	} else {
		r.body = "";
		r.http_status = 0;
	}
	r.elapsed_ms = (long)(util_now_ms() - x->start_ms);
	log_debug("upstream method=%s path=%s status=%ld ms=%ld result=%s", x->method, x->path,
	          r.http_status, r.elapsed_ms, status_str(rc));
	x->fn(x->arg, rc, &r);
	log_rid_leave(&saved);
	xfer_free(x);
	pump(up);
}

/* A transfer in the queue that cannot go on: its callback, then it is gone. */
static void
fail_queued(struct upstream_xfer *x, enum status rc)
{
	struct upstream_response r;
	struct log_rid saved;

	memset(&r, 0, sizeof(r));
	log_rid_enter(&saved, x->rid.id);
	r.body = "";
	r.elapsed_ms = (long)(util_now_ms() - x->start_ms);
	snprintf(r.err, sizeof(r.err), "%s",
	         rc == STATUS_UPSTREAM_TIMEOUT
	             ? "deadline (nearly) reached before the call could start"
	             : "the transfer could not be started");
	log_debug("upstream method=%s path=%s status=0 ms=%ld result=%s (not started)", x->method,
	          x->path, r.elapsed_ms, status_str(rc));
	dequeue(x);
	x->fn(x->arg, rc, &r);
	log_rid_leave(&saved);
	xfer_free(x);
}

/*
 * Queued transfers (nearly) past their deadline or unable to start, and calls
 * upstream_start found too late to start, get their callback.
 */
static void
on_kick(void *arg)
{
	struct upstream *up = arg;
	struct upstream_xfer *x = queue_first(up);
	long long now = util_now_ms(), next = 0;

	up->kick_at = 0;
	while (x != NULL) {
		if (x->fail_rc != STATUS_OK || too_late(x, now)) {
			fail_queued(x,
			            x->fail_rc != STATUS_OK ? x->fail_rc : STATUS_UPSTREAM_TIMEOUT);
			x = queue_first(up); /* the callback may have changed the queue */
			continue;
		}
		x = QUEUED(x->qlink.next);
	}
	for (x = queue_first(up); x != NULL; x = QUEUED(x->qlink.next))
		if (next == 0 || last_start(x) < next)
			next = last_start(x);
	if (next != 0)
		kick_at(up, next > now + KICK_MIN_MS ? next : now + KICK_MIN_MS);
	/* Calls queued behind one that could not start. */
	pump(up);
}

/* Every transfer curl has finished since the last look. */
static void
check_done(struct upstream *up)
{
	CURLMsg *m;
	int left = 0;

	while ((m = curl_multi_info_read(up->multi, &left)) != NULL) {
		struct upstream_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			finish(x, m->data.result);
	}
}

static void
on_timer(void *arg)
{
	struct upstream *up = arg;
	int running = 0;

	curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(up);
}

/* k out of the epoll set; its entry stays. */
static void
sock_unwatch(struct upsock *k)
{
	loop_watch_del(k->up->loop, k->w);
	k->w = NULL;
}

static void
sock_free(struct upsock *k)
{
	sock_unwatch(k);
	list_unlink(&k->up->socks, &k->link);
	free(k);
}

static void
on_ready(void *arg, int fd, unsigned events)
{
	struct upsock *k = arg;
	struct upstream *up = k->up;
	int flags = 0, running = 0;

	if (k->parked) {
		/* An idle connection spoke: curl finds it dead when it next looks. */
		sock_unwatch(k);
		return;
	}
	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(up->multi, fd, flags, &running);
	check_done(up);
}

/* The entry for socket number fd, or NULL. */
static struct upsock *
sock_find(struct upstream *up, int fd)
{
	for (struct list_link *l = up->socks.first; l != NULL; l = l->next) {
		struct upsock *k = LIST_ITEM(l, struct upsock, link);
		if (k->fd == fd)
			return k;
	}
	return NULL;
}

/* A new entry for fd, not in the epoll set yet; NULL when out of memory. */
static struct upsock *
sock_new(struct upstream *up, int fd, bool conn)
{
	struct upsock *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	*k = (struct upsock){.up = up, .fd = fd, .conn = conn};
	list_push_front(&up->socks, &k->link);
	return k;
}

/*
 * Watch k for events: into the epoll set, or a changed interest. A change the
 * set refuses means the number was closed and reused behind our back: the
 * socket goes in anew.
 */
static enum status
sock_watch(struct upsock *k, unsigned events)
{
	struct loop *lp = k->up->loop;

	if (k->w != NULL && k->events == events)
		return STATUS_OK;
	if (k->w != NULL && loop_watch_mod(lp, k->w, events) != STATUS_OK)
		sock_unwatch(k);
	if (k->w == NULL) {
		enum status rc =
		    loop_watch_add(lp,
		                   &(struct loop_watch_opts){
		                       .fd = k->fd, .events = events, .fn = on_ready, .arg = k},
		                   &k->w);
		if (rc != STATUS_OK)
			return rc;
	}
	k->events = events;
	return STATUS_OK;
}

/*
 * curl's socket callback: what it wants to wait for on s becomes a loop
 * watch. A connection's socket that curl removes is parked: curl closes it
 * through on_close_socket, or wants it again for the next transfer on that
 * connection. Any other socket leaves the loop at once. It never returns -1:
 * that would stop the multi handle for good, so a socket the loop cannot
 * watch costs only its transfer, which ends at its timeout.
 */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct upstream *up = userp;
	struct upsock *k = sock_find(up, s);
	unsigned ev = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		if (k != NULL && k->conn)
			k->parked = true;
		else if (k != NULL)
			sock_free(k);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= LOOP_WRITE;
	if (k == NULL)
		k = sock_new(up, s, false);
	if (k == NULL || sock_watch(k, ev) != STATUS_OK) {
		log_warnx("upstream: socket %d cannot be watched; its call ends at its timeout",
		          (int)s);
		return 0;
	}
	k->parked = false;
	return 0;
}

/*
 * curl opens a connection's socket. An entry left with the same number
 * belonged to a socket closed without on_close_socket: it goes first.
 */
static curl_socket_t
on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct upstream *up = clientp;
	struct upsock *stale;
	int fd;

	(void)purpose;
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	stale = sock_find(up, fd);
	if (stale != NULL)
		sock_free(stale);
	if (sock_new(up, fd, true) == NULL) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	return fd;
}

/* curl closes a connection: its socket leaves the loop first. */
static int
on_close_socket(void *clientp, curl_socket_t s)
{
	struct upstream *up = clientp;
	struct upsock *k = sock_find(up, s);

	if (k != NULL)
		sock_free(k);
	return close(s);
}

/* curl's timer callback: one loop timer, -1 disarms it. */
static int
on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	struct upstream *up = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_disarm(up->timer);
	else
		loop_timer_arm(up->timer, util_now_ms() + timeout_ms);
	return 0;
}
