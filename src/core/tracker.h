/*
 * tracker.h - the pending-approval tracker, on the event loop. Requests
 * attach to an entry per (authyId, signInName, email) and register as its
 * waiters; each pending approval has one poll timer (not one per waiter) and
 * is polled only while someone waits, with back-off on errors and rate
 * limits. A terminal status, from a poll or from a verified callback,
 * completes every waiter at once. A retry of the same wait while the
 * approval is pending re-attaches instead of sending a second push; entries
 * live until the approval expires so late retries find them. Loop thread
 * only: no locks, no threads.
 */
#ifndef B2CAUTHY_TRACKER_H
#define B2CAUTHY_TRACKER_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define TRACKER_UUID_MAX 64
#define TRACKER_MAX_ENTRIES 200000

struct loop;
struct tracker;
struct tracker_entry;
struct tracker_waiter;

/*
 * The end of a poll: STATUS_PENDING, STATUS_OK (approved), STATUS_DENIED,
 * STATUS_EXPIRED, STATUS_APPROVAL_NOT_FOUND, STATUS_USER_NOT_FOUND,
 * STATUS_NO_FACTOR (the approval's factor is no longer verified), or a
 * transport/HTTP error status (then the entry is polled again later);
 * retry_after_s from a rate limit. Every status but STATUS_PENDING and the
 * errors is final: the waiters get it at once.
 */
typedef void (*tracker_poll_done_fn)(void *done_arg, enum status rc, long retry_after_s);

/* One poll the tracker asks for; borrowed until the poll function returns. */
struct tracker_poll {
	const char *handle;        /* the approval */
	long long deadline_ms;     /* the poll ends by then (monotonic) */
	tracker_poll_done_fn done; /* its end, with done_arg */
	void *done_arg;
};

/*
 * The poll function: start asking the provider for the status of approval
 * poll->handle, ending by poll->deadline_ms; call poll->done(poll->done_arg,
 * ...) once later on the loop thread. Returns STATUS_OK with *op set (for the
 * cancel function), or an error status without a callback (counted as a
 * failed poll).
 */
typedef enum status (*tracker_poll_fn)(void *arg, const struct tracker_poll *poll, void **op);

/* Stop a poll started by tracker_poll_fn; no callback follows. */
typedef void (*tracker_poll_cancel_fn)(void *op);

/*
 * Stop the creation of an approval registered with tracker_creating: the
 * tracker is freed (shutdown) first. No callback follows.
 */
typedef void (*tracker_create_cancel_fn)(void *op);

/* A waiter's completion: the approval's final status (see tracker_wait). */
typedef void (*tracker_wait_fn)(void *arg, enum status rc);

struct tracker_opts {
	struct loop *loop;
	long poll_interval_ms; /* time between polls of one approval, > 0 */
	long poll_timeout_ms;  /* ceiling for one poll call, > 0 */
	long max_attached;     /* attachments (waiting requests) at most, > 0 */
	/*
	 * pause_max_ms - the longest pause of every poll after a rate limit,
	 * whatever its Retry-After says, > 0: the first poll after it probes
	 * whether the limit still holds.
	 */
	long pause_max_ms;
	tracker_poll_fn poll;
	tracker_poll_cancel_fn poll_cancel;
	tracker_create_cancel_fn create_cancel; /* required once tracker_creating is used */
	void *poll_arg;
};

struct tracker_stats {
	long entries;     /* entries in the map */
	long pending;     /* entries still pending */
	long attached;    /* attachments: requests creating or waiting */
	long waiters;     /* requests waiting */
	long polls;       /* polls made since start */
	long poll_errors; /* polls that failed */
	long reattached;  /* attaches that joined an existing approval */
};

/* tracker_new - an empty tracker on opts->loop. STATUS_OK and *out, or STATUS_NOMEM. */
enum status tracker_new(const struct tracker_opts *opts, struct tracker **out);

/*
 * tracker_free - cancel the polls and free every entry. No request may still
 * be attached. NULL is a no-op.
 */
void tracker_free(struct tracker *t);

/*
 * tracker_attach - join the live entry for key, or make a new one. When
 * *created is true the caller must create the approval and then call
 * tracker_publish or tracker_fail; others attaching meanwhile may wait for
 * that. Every successful attach is paired with tracker_release. A new entry
 * in a map of TRACKER_MAX_ENTRIES takes the place of the entry nobody has
 * been attached to for longest. Returns STATUS_OK, STATUS_NOMEM, or
 * STATUS_UNAVAILABLE (map full of entries with requests attached, or
 * max_attached requests attached already).
 */
enum status tracker_attach(struct tracker *t, const char *key, struct tracker_entry **out,
                           bool *created);

/*
 * tracker_creating - op creates the approval of the entry e that
 * tracker_attach created. The creation goes on until tracker_publish or
 * tracker_fail ends it (the caller then frees op), whoever is attached: the
 * push may already have gone out when every request of the sign-in leaves,
 * and B2C's retry re-attaches to it instead of sending a second one. Only
 * tracker_free stops it, with opts.create_cancel(op).
 */
void tracker_creating(struct tracker *t, struct tracker_entry *e, void *op);

/*
 * tracker_publish - the approval of a created entry exists as handle and
 * expires at expires_ms (monotonic); polling starts one interval from now.
 */
void tracker_publish(struct tracker *t, struct tracker_entry *e, const char *handle,
                     long long expires_ms);

/*
 * tracker_fail - creating the approval failed with rc; every waiter gets rc
 * at once and the entry goes away with its last attachment.
 */
void tracker_fail(struct tracker *t, struct tracker_entry *e, enum status rc);

/*
 * tracker_wait - wait for the entry's outcome. Returns the outcome at once
 * when it is known (STATUS_OK approved, STATUS_DENIED, STATUS_EXPIRED,
 * STATUS_APPROVAL_NOT_FOUND, STATUS_USER_NOT_FOUND, STATUS_NO_FACTOR, a
 * creation error), with no callback; else STATUS_PENDING with *w set, and
 * fn(arg, outcome) follows once on the loop thread unless tracker_unwait
 * comes first; STATUS_NOMEM.
 */
enum status tracker_wait(struct tracker *t, struct tracker_entry *e, tracker_wait_fn fn, void *arg,
                         struct tracker_waiter **w);

/*
 * tracker_unwait - stop waiting (deadline or client gone); no callback
 * follows. Returns what a waiter at its deadline reports: the last poll
 * error when the last poll failed, else STATUS_TIMEOUT. NULL gives
 * STATUS_TIMEOUT.
 */
enum status tracker_unwait(struct tracker *t, struct tracker_waiter *w);

/*
 * tracker_release - detach; e must not be used afterwards. A pending entry
 * stays (unpolled) until it expires so a retry can re-attach; a resolved
 * entry that was delivered is removed.
 */
void tracker_release(struct tracker *t, struct tracker_entry *e);

/*
 * tracker_resolve - set the result of the approval handle from a verified
 * callback and complete its waiters at once. STATUS_OK, or STATUS_NOT_FOUND
 * when no entry has that handle. result is STATUS_OK (approved),
 * STATUS_DENIED or STATUS_EXPIRED.
 */
enum status tracker_resolve(struct tracker *t, const char *handle, enum status result);

/* tracker_get_stats - the counters. */
void tracker_get_stats(const struct tracker *t, struct tracker_stats *out);

#endif
