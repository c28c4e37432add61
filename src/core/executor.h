/*
 * executor.h - a few threads that own the request-side keep-alive connections
 * and run upstream calls for request threads. A request thread hands over a
 * call and sleeps until it is done, so it never runs TLS or HTTP code itself:
 * thousands of waiting requests then cost only their own small state, and the
 * number of connections to the API stays bounded.
 */
#ifndef B2CAUTHY_EXECUTOR_H
#define B2CAUTHY_EXECUTOR_H

#include "status.h"

struct executor;
struct loop;
struct upstream;
struct upstream_opts;

/* One upstream call: runs on an executor thread with that thread's handle and loop. */
typedef enum status (*executor_fn)(void *arg, struct upstream *up, struct loop *loop);

/*
 * executor_new - start `threads` executor threads; each makes its upstream
 * handle from opts (copied) on first use. STATUS_OK and *out, STATUS_NOMEM or
 * STATUS_INTERNAL.
 */
enum status executor_new(const struct upstream_opts *opts, int threads, struct executor **out);

/*
 * executor_run - run fn(arg, handle) on an executor thread and return its
 * status. Waits at most until deadline_ms (monotonic) for a thread to take the
 * call: STATUS_UNAVAILABLE when none did (or when stopping). Once taken, it
 * waits for the call, which keeps to its own deadline. Thread-safe.
 */
enum status executor_run(struct executor *x, executor_fn fn, void *arg, long long deadline_ms);

/* executor_busy - executor threads running a call now (for metrics). Thread-safe. */
int executor_busy(struct executor *x);

/* executor_free - stop the threads (after the queue drains) and free. NULL is a no-op. */
void executor_free(struct executor *x);

#endif
