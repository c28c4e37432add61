/*
 * bridge.h - a pool of threads that runs the synchronous handlers for the
 * loop until they become asynchronous: jobs go in from the loop thread, and
 * each finished job comes back to the loop thread through an eventfd watched
 * by the loop.
 */
#ifndef B2CAUTHY_BRIDGE_H
#define B2CAUTHY_BRIDGE_H

#include "status.h"

struct loop;
struct bridge;

/* A job: run(item) on a pool thread, then done(item) on the loop thread. */
typedef void (*bridge_fn)(void *item);

/*
 * bridge_new - start threads pool threads on loop, growing on demand up to
 * max_threads so that every job runs at once; done is called on the loop
 * thread for each finished job. Returns STATUS_OK with *out (bridge_free), or
 * STATUS_NOMEM / STATUS_INTERNAL. Loop thread only.
 */
enum status bridge_new(struct loop *l, int threads, int max_threads, bridge_fn done,
                       struct bridge **out);

/*
 * bridge_submit - run run(item) on a free thread. Returns STATUS_OK, or
 * STATUS_UNAVAILABLE when max_threads are busy (nothing is queued then), or
 * STATUS_NOMEM. Loop thread only.
 */
enum status bridge_submit(struct bridge *b, bridge_fn run, void *item);

/* bridge_busy - jobs queued or running. Loop thread only. */
int bridge_busy(const struct bridge *b);

/*
 * bridge_free - wait for the queued and running jobs (their done callbacks are
 * not called), stop the threads and free the pool. NULL is a no-op. Loop
 * thread only, with the loop no longer running.
 */
void bridge_free(struct bridge *b);

#endif
