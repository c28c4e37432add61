/*
 * upstream.c - HTTPS calls to the Authy API through libcurl, the only file that
 * includes curl/curl.h. One easy handle per struct upstream keeps one keep-alive
 * connection; DNS and TLS-session caches are shared between handles, connections
 * never are. Verification is always on, redirects are never followed.
 */
#include "upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#ifndef B2CAUTHY_VERSION
#define B2CAUTHY_VERSION "dev"
#endif

#define URL_MAX 2048
#define HEADER_LINE_MAX 1024
#define RETRY_AFTER_MAX 3600

struct upstream {
	CURL *easy;       /* NULL after a failed transfer until the next call */
	char *base_url;   /* without trailing '/' */
	char *key_header; /* "Name: value" line, secret; NULL = none */
	char *basic_user;
	char *basic_pass; /* secret */
	char *ca_file;
	long connect_timeout_ms;
	long request_timeout_ms;
	bool allow_http;
	char errbuf[CURL_ERROR_SIZE];
};

/* State of one transfer attempt, handed to the curl callbacks. */
struct xfer {
	struct buf body;
	bool overflow;      /* the body went over UPSTREAM_RESPONSE_MAX */
	bool nomem;         /* the body could not be stored */
	long retry_after_s; /* from the Retry-After header of the final response */
	long connects;      /* new connections made; 0 means the connection was reused */
	CURLcode cc;        /* result of curl_easy_perform */
};

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

enum status
upstream_new(const struct upstream_opts *opts, struct upstream **out)
{
	struct upstream *up;
	bool fail = false;
	size_t n;

	*out = NULL;
	if (check_opts(opts) != STATUS_OK)
		return STATUS_CONFIG;
	up = calloc(1, sizeof(*up));
	if (up == NULL)
		return STATUS_NOMEM;
	up->base_url = dup_or_null(opts->base_url, &fail);
	up->key_header = key_header_line(opts, &fail);
	up->basic_user = dup_or_null(opts->basic_user, &fail);
	up->basic_pass = dup_or_null(opts->basic_pass ? opts->basic_pass : "", &fail);
	up->ca_file = dup_or_null(opts->ca_file, &fail);
	up->connect_timeout_ms = opts->connect_timeout_ms;
	up->request_timeout_ms = opts->request_timeout_ms;
	up->allow_http = opts->allow_http;
	if (fail) {
		upstream_free(up);
		return STATUS_NOMEM;
	}
	n = strlen(up->base_url);
	while (n > 0 && up->base_url[n - 1] == '/')
		up->base_url[--n] = '\0';
	*out = up;
	return STATUS_OK;
}

static void
drop_handle(struct upstream *up)
{
	if (up->easy != NULL) {
		curl_easy_cleanup(up->easy);
		up->easy = NULL;
	}
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	drop_handle(up);
	free(up->base_url);
	util_zero_free_str(up->key_header);
	free(up->basic_user);
	util_zero_free_str(up->basic_pass);
	free(up->ca_file);
	free(up);
}

void
upstream_response_free(struct upstream_response *out)
{
	if (out == NULL)
		return;
	free(out->body);
	memset(out, 0, sizeof(*out));
}

/* Write callback: store the body up to UPSTREAM_RESPONSE_MAX, abort beyond. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb;
	enum status rc;

	rc = buf_append(&x->body, data, len);
	if (rc == STATUS_TOO_LARGE)
		x->overflow = true;
	else if (rc != STATUS_OK)
		x->nomem = true;
	return rc == STATUS_OK ? len : 0;
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
	struct xfer *x = arg;
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

/* Options set once per easy handle: the share and the error buffer. */
static enum status
new_handle(struct upstream *up)
{
	int bad = 0;

	up->easy = curl_easy_init();
	if (up->easy == NULL)
		return STATUS_NOMEM;
	if (share != NULL)
		bad |= curl_easy_setopt(up->easy, CURLOPT_SHARE, share) != CURLE_OK;
	bad |= curl_easy_setopt(up->easy, CURLOPT_ERRORBUFFER, up->errbuf) != CURLE_OK;
	if (bad) {
		drop_handle(up);
		return STATUS_INTERNAL;
	}
	return STATUS_OK;
}

/* Transport and security options, set on every call (no curl_easy_reset). */
static int
set_transport(struct upstream *up, long timeout_ms)
{
	CURL *h = up->easy;
	const char *protos = up->allow_http ? "http,https" : "https";
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
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
	/* The API key header must never follow a redirect to another host. */
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, up->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "b2c-authy/" B2CAUTHY_VERSION) != CURLE_OK;
	if (up->basic_user != NULL) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_USERNAME, up->basic_user) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, up->basic_pass) != CURLE_OK;
	}
	return bad;
}

/* The request itself: URL, method, body, headers and the callbacks. */
static int
set_request(struct upstream *up, const struct upstream_call *call, const char *url,
            struct curl_slist *headers, struct xfer *x)
{
	CURL *h = up->easy;
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	if (strcmp(call->method, "POST") == 0) {
		const char *form = call->form ? call->form : "";
		bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, form) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form)) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	}
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
	return bad;
}

/* Forget the pointers into this call's stack frame once the transfer is over. */
static void
clear_request(struct upstream *up)
{
	curl_easy_setopt(up->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(up->easy, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(up->easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(up->easy, CURLOPT_HEADERDATA, NULL);
}

static enum status
map_curl(CURLcode cc, const struct xfer *x)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return STATUS_UPSTREAM_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return STATUS_NOMEM;
	case CURLE_WRITE_ERROR:
		return x->nomem ? STATUS_NOMEM : STATUS_UPSTREAM_PROTOCOL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
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
set_err(struct upstream *up, struct upstream_response *out, CURLcode cc, const struct xfer *x)
{
	const char *detail = up->errbuf[0] ? up->errbuf : curl_easy_strerror(cc);

	if (x->overflow)
		detail = "response body over the size limit";
	snprintf(out->err, sizeof(out->err), "curl %d: %.200s", (int)cc, detail);
	if (up->key_header != NULL) {
		const char *v = strchr(up->key_header, ':');
		if (v != NULL && v[2] != '\0' && strstr(out->err, v + 2) != NULL)
			snprintf(out->err, sizeof(out->err), "curl %d: (detail withheld)", (int)cc);
	}
}

/* Timeout of this attempt: the smaller of the call ceiling and what is left. */
static enum status
attempt_timeout(const struct upstream *up, const struct upstream_call *call, long *timeout_ms)
{
	long long left;

	*timeout_ms = up->request_timeout_ms;
	if (call->deadline_ms <= 0)
		return STATUS_OK;
	left = call->deadline_ms - util_now_ms();
	if (left <= 0)
		return STATUS_UPSTREAM_TIMEOUT;
	if (left < *timeout_ms)
		*timeout_ms = (long)left;
	return STATUS_OK;
}

/* Headers live on the stack for the one transfer; no copies of the key. */
static void
build_headers(struct upstream *up, const struct upstream_call *call, struct curl_slist *h)
{
	int n = 0;

	h[n].data = (char *)"Accept: application/json";
	/* An empty Expect disables 100-continue round trips on POST. */
	h[n + 1].data = (char *)"Expect:";
	n += 2;
	if (strcmp(call->method, "POST") == 0)
		h[n++].data = (char *)"Content-Type: application/x-www-form-urlencoded";
	if (up->key_header != NULL)
		h[n++].data = up->key_header;
	for (int i = 0; i < n; i++)
		h[i].next = i + 1 < n ? &h[i + 1] : NULL;
}

static enum status
finish_ok(struct upstream_response *out, struct xfer *x)
{
	out->body = buf_steal(&x->body, &out->body_len);
	if (out->body == NULL) {
		snprintf(out->err, sizeof(out->err), "out of memory");
		return STATUS_NOMEM;
	}
	out->retry_after_s = x->retry_after_s;
	return STATUS_OK;
}

/* One transfer attempt. x->connects tells the caller whether it may retry. */
static enum status
attempt(struct upstream *up, const struct upstream_call *call, struct upstream_response *out,
        struct xfer *x)
{
	struct curl_slist headers[4];
	char url[URL_MAX];
	long timeout_ms;
	CURLcode cc;
	enum status rc;

	rc = attempt_timeout(up, call, &timeout_ms);
	if (rc != STATUS_OK) {
		snprintf(out->err, sizeof(out->err), "deadline passed before the call");
		return rc;
	}
	if (up->easy == NULL) {
		rc = new_handle(up);
		if (rc != STATUS_OK) {
			snprintf(out->err, sizeof(out->err), "cannot create a curl handle");
			return rc;
		}
	}
	snprintf(url, sizeof(url), "%s%s", up->base_url, call->path);
	build_headers(up, call, headers);
	up->errbuf[0] = '\0';
	if (set_transport(up, timeout_ms) || set_request(up, call, url, headers, x)) {
		clear_request(up);
		snprintf(out->err, sizeof(out->err), "curl_easy_setopt failed");
		return STATUS_INTERNAL;
	}
	cc = curl_easy_perform(up->easy);
	/* The path may carry a one-time code (Authy's token verification). */
	explicit_bzero(url, sizeof(url));
	x->cc = cc;
	curl_easy_getinfo(up->easy, CURLINFO_RESPONSE_CODE, &out->http_status);
	curl_easy_getinfo(up->easy, CURLINFO_NUM_CONNECTS, &x->connects);
	clear_request(up);
	if (cc == CURLE_OK)
		return finish_ok(out, x);
	set_err(up, out, cc, x);
	/* A failed transfer may leave the connection in any state: start afresh. */
	drop_handle(up);
	return map_curl(cc, x);
}

/*
 * A reused keep-alive connection the server had already closed fails before
 * any response. Such a GET is safe to send again once; a POST might have been
 * acted upon, and a timeout means the budget is gone.
 */
static bool
may_retry(const struct upstream_call *call, const struct upstream_response *out,
          const struct xfer *x, enum status rc)
{
	if (rc == STATUS_OK || rc == STATUS_UPSTREAM_TIMEOUT)
		return false;
	if (x->cc != CURLE_GOT_NOTHING && x->cc != CURLE_SEND_ERROR && x->cc != CURLE_RECV_ERROR)
		return false;
	return strcmp(call->method, "GET") == 0 && x->connects == 0 && out->http_status == 0 &&
	       x->body.len == 0;
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

/* The path for logs: the masked one when the caller gave it. */
static const char *
logged_path(const struct upstream_call *call)
{
	if (call == NULL || call->path == NULL)
		return "-";
	return call->log_path != NULL ? call->log_path : call->path;
}

enum status
upstream_request(struct upstream *up, const struct upstream_call *call,
                 struct upstream_response *out)
{
	long long start = util_now_ms();
	enum status rc = STATUS_INTERNAL;
	struct xfer x;

	buf_init(&x.body, UPSTREAM_RESPONSE_MAX);
	if (up == NULL || !call_valid(call)) {
		snprintf(out->err, sizeof(out->err), "invalid upstream call");
		goto out;
	}
	for (int tries = 0; tries < 2; tries++) {
		buf_free(&x.body);
		x.overflow = x.nomem = false;
		x.retry_after_s = 0;
		x.connects = -1;
		x.cc = CURLE_OK;
		out->http_status = 0;
		out->err[0] = '\0';
		rc = attempt(up, call, out, &x);
		if (!may_retry(call, out, &x, rc))
			break;
		log_debug("upstream %s %s: reused connection closed (%s), retrying", call->method,
		          logged_path(call), out->err);
	}
out:
	buf_free(&x.body);
	out->elapsed_ms = (long)(util_now_ms() - start);
	log_debug("upstream method=%s path=%s status=%ld ms=%ld result=%s",
	          call && call->method ? call->method : "-", logged_path(call), out->http_status,
	          out->elapsed_ms, status_str(rc));
	return rc;
}
