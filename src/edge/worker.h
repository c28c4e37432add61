/*
 * worker.h - the pool of request threads, each blocking in FastCGI accept.
 * It starts with `workers` threads and grows on demand up to `max_workers`;
 * one more thread answers 503 at once when all of them are busy.
 */
#ifndef B2CAUTHY_WORKER_H
#define B2CAUTHY_WORKER_H

#include "status.h"

struct config;
struct tracker;
struct executor;
struct ratelimit;
struct workers;

struct worker_opts {
	int listen_fd;
	const struct config *cfg;
	struct executor *exec;
	struct tracker *tracker;
	struct ratelimit *push_limit;
	struct ratelimit *code_limit;
	long stack_size; /* bytes per thread stack */
};

/*
 * workers_start - start the initial threads. STATUS_OK and *out, or
 * STATUS_NOMEM / STATUS_INTERNAL. The opts pointers must outlive the pool.
 */
enum status workers_start(const struct worker_opts *opts, struct workers **out);

/*
 * workers_stop - stop accepting, let in-flight requests finish (they end within
 * the wait budget), join every thread and free the pool. NULL is a no-op.
 */
void workers_stop(struct workers *w);

#endif
