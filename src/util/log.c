/*
 * log.c - logfmt lines "ts=... level=... rid=... msg=..." on stderr, or the
 * same without ts through syslog. One write per line so lines from worker
 * threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOG_LINE_MAX 2048

static enum log_level min_level = LOG_LVL_INFO;
static bool to_syslog;
static _Thread_local char thread_rid[LOG_RID_MAX];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *ident, enum log_level min, bool use_syslog)
{
	min_level = min;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

/* Append msg quoted for logfmt: '"' and '\' escaped, control bytes as '?'. */
static size_t
quote(char *out, size_t off, size_t cap, const char *msg)
{
	if (off + 1 < cap)
		out[off++] = '"';
	for (const char *p = msg; *p && off + 3 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			out[off++] = '\\';
		out[off++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (off + 1 < cap)
		out[off++] = '"';
	out[off] = '\0';
	return off;
}

static void
emit(enum log_level lvl, const char *fields)
{
	char line[LOG_LINE_MAX + 128];
	char ts[32] = "";
	struct timespec now;
	struct tm tm;
	int n;

	if (to_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		syslog(prio[lvl], "level=%s rid=%s %s", level_names[lvl],
		       thread_rid[0] ? thread_rid : "-", fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s rid=%s %s\n", ts,
	             now.tv_nsec / 1000000, level_names[lvl], thread_rid[0] ? thread_rid : "-",
	             fields);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
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
	quote(fields, off, sizeof(fields), msg);
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
