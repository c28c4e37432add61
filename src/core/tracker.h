/*
 * tracker.h - the pending-approval tracker. Request threads attach to an entry
 * per (authyId, signInName, email) and sleep; a few poller threads poll every
 * pending approval over a bounded set of connections, back off on errors and
 * rate limits, and wake the waiters on a terminal status. A retry of the same
 * wait while the approval is pending re-attaches instead of sending a second
 * push; a verified callback resolves an entry at once.
 */
#ifndef B2CAUTHY_TRACKER_H
#define B2CAUTHY_TRACKER_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define TRACKER_UUID_MAX 64
#define TRACKER_MAX_ENTRIES 200000

struct tracker;
struct tracker_entry;
struct loop;
struct upstream;
struct upstream_opts;

/*
 * The poll function: ask the provider for the status of approval uuid using
 * handle up (NULL when the tracker has no upstream options), finishing before
 * deadline_ms.
 * Returns STATUS_PENDING, STATUS_OK (approved), STATUS_DENIED, STATUS_EXPIRED,
 * STATUS_APPROVAL_NOT_FOUND, or a transport/HTTP error status (then the entry
 * is polled again later). Sets *retry_after_s on a rate limit.
 */
typedef enum status (*tracker_poll_fn)(void *arg, struct upstream *up, struct loop *loop,
                                       const char *uuid, long long deadline_ms,
                                       long *retry_after_s);

struct tracker_opts {
	long poll_interval_ms; /* time between polls of one approval, > 0 */
	long poll_timeout_ms;  /* ceiling for one poll call, > 0 */
	int pollers;           /* poller threads = connections used for polling, >= 1 */
	/* Each poller makes its own keep-alive handle from these (copied; the
	 * strings are borrowed and must outlive the tracker); NULL = no handle. */
	const struct upstream_opts *upstream;
	tracker_poll_fn poll;
	void *poll_arg;
};

struct tracker_stats {
	long entries;     /* entries in the map */
	long pending;     /* entries still pending */
	long waiters;     /* request threads waiting */
	long polls;       /* poll calls made since start */
	long poll_errors; /* poll calls that failed */
	long reattached;  /* attaches that joined an existing approval */
};

/*
 * tracker_new - start the pollers. STATUS_OK and *out, STATUS_NOMEM or
 * STATUS_INTERNAL (thread creation failed).
 */
enum status tracker_new(const struct tracker_opts *opts, struct tracker **out);

/*
 * tracker_free - stop and join the pollers and free every entry. No request
 * thread may still be attached. NULL is a no-op.
 */
void tracker_free(struct tracker *t);

/*
 * tracker_attach - join the live entry for key, or make a new one. When
 * *created is true the caller must create the approval and then call
 * tracker_publish or tracker_fail; other threads attaching meanwhile wait for
 * that. Every successful attach is paired with tracker_release. Returns
 * STATUS_OK, STATUS_NOMEM, or STATUS_UNAVAILABLE (map full or stopping).
 * Thread-safe.
 */
enum status tracker_attach(struct tracker *t, const char *key, struct tracker_entry **out,
                           bool *created);

/*
 * tracker_publish - the approval of a created entry exists as uuid and expires
 * at expires_ms (monotonic); polling starts one interval from now. Thread-safe.
 */
void tracker_publish(struct tracker *t, struct tracker_entry *e, const char *uuid,
                     long long expires_ms);

/*
 * tracker_fail - creating the approval failed with rc; every waiter on the
 * entry gets rc and the entry goes away with its last waiter. Thread-safe.
 */
void tracker_fail(struct tracker *t, struct tracker_entry *e, enum status rc);

/*
 * tracker_wait - sleep until the entry is resolved, deadline_ms passes, or
 * gone(arg) reports the client has left (checked about every 200 ms; gone may
 * be NULL). Returns STATUS_OK (approved), STATUS_DENIED, STATUS_EXPIRED,
 * STATUS_APPROVAL_NOT_FOUND, a creation error, STATUS_ABORTED, or at the
 * deadline STATUS_TIMEOUT (or the last poll error when every recent poll
 * failed). Thread-safe.
 */
enum status tracker_wait(struct tracker *t, struct tracker_entry *e, long long deadline_ms,
                         int (*gone)(void *), void *arg);

/*
 * tracker_release - detach; e must not be used afterwards. A pending entry
 * stays (unpolled) until it expires so a retry can re-attach; a resolved
 * entry that was delivered is removed. Thread-safe.
 */
void tracker_release(struct tracker *t, struct tracker_entry *e);

/*
 * tracker_resolve - set the result of the approval uuid from a verified
 * callback and wake its waiters. STATUS_OK, or STATUS_NOT_FOUND when no entry
 * has that uuid. result is STATUS_OK (approved), STATUS_DENIED or
 * STATUS_EXPIRED. Thread-safe.
 */
enum status tracker_resolve(struct tracker *t, const char *uuid, enum status result);

/* tracker_get_stats - a consistent snapshot of the counters. Thread-safe. */
void tracker_get_stats(struct tracker *t, struct tracker_stats *out);

#endif
