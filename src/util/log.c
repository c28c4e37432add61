/*
 * log.c - logfmt lines "ts=... level=... rid=... msg=..." on stderr, or the
 * same without ts to syslog's /dev/log. One write per line so lines from
 * threads never interleave. A journal, pipe or syslog daemon that stops
 * reading costs dropped lines, counted, never a stalled event loop.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOG_LINE_MAX 2048

static enum log_level min_level = LOG_LVL_INFO;
static bool to_syslog;
static _Thread_local char thread_rid[LOG_RID_MAX];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Where lines go: fd 2, a non-blocking description of the same pipe, or syslog's socket. */
static int sink_fd = STDERR_FILENO;
static bool sink_is_socket;
static bool syslog_stream; /* /dev/log takes a stream: each line ends with a NUL */
static char syslog_ident[32] = "b2c-authy";
static atomic_long dropped;
static atomic_long dropped_told;

/*
 * The whole service runs on one thread: a write that blocks because journald
 * or the reader of a pipe has stopped reading would hold every call. A socket
 * (journald's stream, also under spawn-fcgi -n) is written with MSG_DONTWAIT;
 * a pipe is opened again as a description of our own with O_NONBLOCK, which
 * leaves the one shared with the parent as it was. Regular files and
 * terminals are written as they are.
 */
static void
stderr_open(void)
{
	struct stat st;
	int fd;

	if (fstat(STDERR_FILENO, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		sink_is_socket = true;
	} else if (S_ISFIFO(st.st_mode)) {
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			sink_fd = fd;
	}
}

/* A non-blocking socket of type to /dev/log; 0 when connected, else errno. */
static int
syslog_connect(int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	sink_fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sink_fd < 0) {
		sink_fd = STDERR_FILENO;
		sink_is_socket = false;
		syslog_stream = false;
		return 0;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", _PATH_LOG);
	return connect(sink_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
}

/*
 * syslog(3) would block too, in send() to a syslog daemon that does not read:
 * talk to /dev/log ourselves, non-blocking, in the same format (RFC 3164 with
 * ident[pid]). Like syslog(3), a daemon that listens on a stream socket
 * (EPROTOTYPE to a datagram) gets a stream. Also called again when the daemon
 * restarted (ECONNREFUSED, or EPIPE on a stream).
 */
static void
syslog_open(void)
{
	if (sink_fd != STDERR_FILENO)
		close(sink_fd);
	sink_is_socket = true;
	syslog_stream = false;
	/* Not there yet: each send tries again (ENOTCONN). */
	if (syslog_connect(SOCK_DGRAM) != EPROTOTYPE)
		return;
	close(sink_fd);
	syslog_stream = true;
	(void)syslog_connect(SOCK_STREAM);
}

void
log_init(const char *ident, enum log_level min, bool use_syslog)
{
	min_level = min;
	to_syslog = use_syslog;
	if (sink_fd != STDERR_FILENO)
		close(sink_fd);
	sink_fd = STDERR_FILENO;
	sink_is_socket = false;
	snprintf(syslog_ident, sizeof(syslog_ident), "%s", ident);
	if (use_syslog)
		syslog_open();
	else
		stderr_open();
}

long
log_dropped_lines(void)
{
	return atomic_load(&dropped);
}

enum status
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (s != NULL && strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return STATUS_OK;
		}
	}
	return STATUS_CONFIG;
}

void
log_set_request_id(const char *rid)
{
	if (rid == NULL)
		thread_rid[0] = '\0';
	else
		util_sanitize(rid, thread_rid, sizeof(thread_rid));
}

void
log_rid_enter(struct log_rid *saved, const char *rid)
{
	memcpy(saved->id, thread_rid, sizeof(saved->id));
	log_set_request_id(rid);
}

void
log_rid_leave(const struct log_rid *saved)
{
	memcpy(thread_rid, saved->id, sizeof(thread_rid));
}

void
log_rid_get(struct log_rid *out)
{
	memcpy(out->id, thread_rid, sizeof(out->id));
}

/* What a stream to syslog cannot recover from: the daemon went away, or half a line went. */
static bool
syslog_lost(ssize_t w, size_t len)
{
	if (w < 0)
		return errno == ENOTCONN || errno == ECONNREFUSED || errno == EPIPE ||
		       errno == ECONNRESET;
	return syslog_stream && (size_t)w != len;
}

/*
 * One line, whole or not at all (a line is below PIPE_BUF and one socket
 * buffer); line[n] is its NUL, which frames it on a stream to syslog.
 */
static bool
sink_write(const char *line, size_t n)
{
	size_t len = n + (syslog_stream ? 1 : 0);
	ssize_t w;

	if (sink_is_socket)
		w = send(sink_fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(sink_fd, line, n);
	if (w < 0 && errno == ENOTSOCK) {
		sink_is_socket = false;
		w = write(sink_fd, line, n);
	}
	if (to_syslog && syslog_lost(w, len)) {
		/* A stream cut inside a line starts again, so the next line is whole. */
		bool retry = w < 0;
		syslog_open();
		len = n + (syslog_stream ? 1 : 0);
		if (!retry)
			return false;
		w = send(sink_fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	return w == (ssize_t)len;
}

/*
 * One line for the sink: logfmt with a UTC timestamp and a newline on
 * stderr; for syslog, <priority>, local time and ident[pid] as syslog(3)
 * writes them. Returns the length, truncated to fit.
 */
static size_t
format_line(char *out, size_t cap, enum log_level lvl, const char *rid, const char *fields)
{
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
	char ts[32] = "";
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	if (to_syslog) {
		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%b %e %T", &tm);
		n = snprintf(out, cap, "<%d>%s %s[%ld]: level=%s rid=%s %s", LOG_DAEMON | prio[lvl],
		             ts, syslog_ident, (long)getpid(), level_names[lvl], rid, fields);
	} else {
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(out, cap, "ts=%s.%03ldZ level=%s rid=%s %s\n", ts,
		             now.tv_nsec / 1000000, level_names[lvl], rid, fields);
	}
	if (n < 0)
		return 0;
	if ((size_t)n >= cap) {
		n = (int)cap - 1;
		if (!to_syslog)
			out[n - 1] = '\n';
	}
	return (size_t)n;
}

/* Before the next line that gets through: how many were lost since the last such note. */
static void
tell_dropped(void)
{
	char note[256], fields[128];
	long lost = atomic_load(&dropped);
	long told = atomic_load(&dropped_told);
	size_t n;

	if (lost == told)
		return;
	snprintf(fields, sizeof(fields),
	         "msg=\"%ld log lines dropped: the log was not read fast enough\"", lost - told);
	n = format_line(note, sizeof(note), LOG_LVL_WARN, "-", fields);
	if (n > 0 && sink_write(note, n))
		atomic_store(&dropped_told, lost);
}

static void
emit(enum log_level lvl, const char *fields)
{
	char line[LOG_LINE_MAX + 128];
	size_t n = format_line(line, sizeof(line), lvl, thread_rid[0] ? thread_rid : "-", fields);

	if (n == 0)
		return;
	tell_dropped();
	if (!sink_write(line, n))
		atomic_fetch_add(&dropped, 1);
}

static void
vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char fields[LOG_LINE_MAX + 16];
	size_t off;

	if (lvl < min_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errnum));
	}
	off = (size_t)snprintf(fields, sizeof(fields), "msg=");
	util_quote(msg, fields + off, sizeof(fields) - off);
	emit(lvl, fields);
}

#define LOG_FN(name, lvl, use_errno)                                                               \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int e = errno;                                                                     \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(lvl, use_errno ? e : 0, fmt, ap);                                             \
		va_end(ap);                                                                        \
		errno = e;                                                                         \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)

void
log_fields(enum log_level lvl, const char *fmt, ...)
{
	char fields[LOG_LINE_MAX];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	emit(lvl, fields);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
