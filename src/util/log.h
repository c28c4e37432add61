/*
 * log.h - one-line logfmt logging to stderr (journald) or syslog, prefixed
 * with the request id of the calling thread. Never pass secrets or unmasked
 * personal data; message text is quoted as util_quote does.
 */
#ifndef B2CAUTHY_LOG_H
#define B2CAUTHY_LOG_H

#include <stdbool.h>

#include "status.h"

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/*
 * log_init - choose the sink and the lowest level printed. Call once before
 * threads start; later calls replace the settings. use_syslog sends to
 * /dev/log as ident[pid], facility daemon, without syslog(3) (a datagram
 * socket, or a stream as syslog(3) also takes). No write to
 * any sink blocks. Not thread-safe against concurrent log calls.
 */
void log_init(const char *ident, enum log_level min, bool use_syslog);

/*
 * log_dropped_lines - lines dropped so far because the journal or pipe behind
 * stderr, or the syslog daemon, did not take them at once (writes never
 * block). A note with the count goes out before the next line that gets
 * through. Thread-safe.
 */
long log_dropped_lines(void);

/*
 * log_level_parse - "debug", "info", "warn" or "error" into *out.
 * Returns STATUS_OK or STATUS_CONFIG.
 */
enum status log_level_parse(const char *s, enum log_level *out);

/*
 * log_set_request_id - set (or clear with NULL) the request id of the calling
 * thread; it is copied. Thread-safe (thread-local).
 */
void log_set_request_id(const char *rid);

/* The request id of a log context saved by log_rid_enter. */
#define LOG_RID_MAX 64
struct log_rid {
	char id[LOG_RID_MAX];
};

/*
 * log_rid_enter - save the calling thread's request id in *saved and set rid
 * (NULL clears it); log_rid_leave puts the saved one back. For code that
 * may run nested inside another request's handling (a callback completing
 * waiters): that request's lines keep their id. Thread-safe (thread-local).
 */
void log_rid_enter(struct log_rid *saved, const char *rid);
void log_rid_leave(const struct log_rid *saved);

/*
 * log_rid_get - copy the calling thread's request id ("" when none) into
 * *out, for work that logs later on behalf of the same request (an upstream
 * call's end). Thread-safe (thread-local).
 */
void log_rid_get(struct log_rid *out);

/*
 * log_debug / log_info / log_warnx / log_warn - one message line at that
 * level, printf format, quoted as util_quote does. log_warn appends ": strerror(errno)".
 * Thread-safe.
 */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_fields - print a line of ready logfmt fields (key=value ...) at lvl, for
 * the access line. The caller guarantees the values are sanitized. Thread-safe.
 */
void log_fields(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fatal / fatalx: log and exit(1). Only before the first accept. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
