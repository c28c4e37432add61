/*
 * buf.h - a bounded growable byte buffer. Every buffer has a mandatory maximum;
 * appends beyond it fail with STATUS_TOO_LARGE and leave the buffer unchanged.
 * A buffer belongs to one thread at a time; the functions keep no other state.
 */
#ifndef B2CAUTHY_BUF_H
#define B2CAUTHY_BUF_H

#include <stddef.h>

#include "status.h"

struct buf {
	char *data; /* NUL-terminated when not NULL; owned by the buf */
	size_t len;
	size_t cap;
	size_t max; /* largest len allowed */
};

/* buf_init - an empty buffer that may grow to max bytes. Never fails. */
void buf_init(struct buf *b, size_t max);

/* buf_append - append len bytes. STATUS_OK, STATUS_TOO_LARGE or STATUS_NOMEM. */
enum status buf_append(struct buf *b, const void *data, size_t len);

/* buf_append_str - append a NUL-terminated string; as buf_append. */
enum status buf_append_str(struct buf *b, const char *s);

/* buf_appendf - append printf output; as buf_append. */
enum status buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * buf_append_urlenc - append s encoded as application/x-www-form-urlencoded
 * (unreserved kept, space as '+', the rest %XX). As buf_append.
 */
enum status buf_append_urlenc(struct buf *b, const char *s);

/* buf_cstr - the contents as a string ("" for an empty buffer); borrowed. */
const char *buf_cstr(const struct buf *b);

/* buf_free - free the memory (wiping it first) and reset to empty; NULL is a no-op. */
void buf_free(struct buf *b);

/*
 * buf_steal - hand the data to the caller (free() it) and reset b. Returns ""
 * duplicated when empty, NULL only on allocation failure. *len may be NULL.
 */
char *buf_steal(struct buf *b, size_t *len);

#endif
