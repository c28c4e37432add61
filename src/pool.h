/*
 * pool.h - a bounded pool of upstream handles (keep-alive connections) that
 * request threads borrow for one call and give back, so that the number of
 * connections to Authy stays bounded however many requests are in flight.
 */
#ifndef B2CAUTHY_POOL_H
#define B2CAUTHY_POOL_H

#include "status.h"

struct upstream;
struct upstream_opts;
struct upool;

/*
 * upool_new - a pool of at most size handles made from opts (copied when a
 * handle is created, lazily). STATUS_OK and *out, STATUS_NOMEM.
 */
enum status upool_new(const struct upstream_opts *opts, int size, struct upool **out);

/*
 * upool_get - borrow a handle, waiting until deadline_ms (monotonic) for one to
 * be free. STATUS_OK and *out; STATUS_UNAVAILABLE when none became free in time;
 * STATUS_CONFIG/STATUS_NOMEM when a handle could not be made. Thread-safe.
 */
enum status upool_get(struct upool *p, long long deadline_ms, struct upstream **out);

/* upool_put - give back a handle borrowed with upool_get. Thread-safe. */
void upool_put(struct upool *p, struct upstream *up);

/* upool_in_use - handles currently borrowed (for metrics). Thread-safe. */
int upool_in_use(struct upool *p);

/* upool_free - free all handles; none may be borrowed. NULL is a no-op. */
void upool_free(struct upool *p);

#endif
