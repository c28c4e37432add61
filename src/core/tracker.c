/*
 * tracker.c - pending approvals on the event loop. A hash map by key and by
 * handle; each entry has a list of waiting requests and one loop timer that
 * is either its next poll (while someone waits) or its expiry (while nobody
 * is attached). Only entries with waiters are polled, so an abandoned wait
 * costs no upstream call. Single-threaded: the loop thread runs everything.
 */
#include "tracker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "list.h"
#include "loop.h"
#include "util.h"

#define NBUCKETS 16384
#define BACKOFF_MAX_FACTOR 8

enum entry_state { ENTRY_CREATING, ENTRY_PENDING, ENTRY_DONE };

struct tracker_waiter {
	struct tracker_entry *e;
	struct list_link link; /* in its entry's waiters */
	tracker_wait_fn fn;
	void *arg;
};

struct tracker_entry {
	struct tracker *t;
	struct tracker_entry *next_key;
	struct tracker_entry *next_uuid;
	char *key;
	char uuid[TRACKER_UUID_MAX + 1];
	enum entry_state state;
	enum status result;     /* when ENTRY_DONE */
	enum status last_error; /* last poll failure, STATUS_OK after a good poll */
	bool failed;            /* creation failed: remove with the last attachment */
	bool delivered;         /* a waiter received the result */
	bool in_map;
	bool idle;                  /* kept only for a late retry: in the tracker's idle list */
	struct list_link idle_link; /* in idle, oldest first */
	int refs;                   /* attachments (tracker_attach until tracker_release) */
	int n_waiters;              /* requests in tracker_wait */
	struct list_head waiters;
	int errors; /* consecutive failed polls, for back-off */
	long long next_poll_ms;
	long long expires_ms;
	struct loop_timer *timer; /* the next poll, or the expiry */
	void *poll_op;            /* a poll in flight */
	void *create_op;          /* the creation in flight (tracker_creating) */
};

struct tracker {
	struct tracker_opts opts;
	struct tracker_entry *by_key[NBUCKETS];
	struct tracker_entry *by_uuid[NBUCKETS];
	long long backoff_until_ms; /* global pause after a rate limit */
	struct list_head idle;      /* entries nobody is attached to, longest alone first */
	struct tracker_stats stats;
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

/* ---- map ---- */

static struct tracker_entry *
find_key(struct tracker *t, const char *key)
{
	for (struct tracker_entry *e = t->by_key[hash(key)]; e; e = e->next_key)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static struct tracker_entry *
find_uuid(struct tracker *t, const char *uuid)
{
	for (struct tracker_entry *e = t->by_uuid[hash(uuid)]; e; e = e->next_uuid)
		if (strcmp(e->uuid, uuid) == 0)
			return e;
	return NULL;
}

static void
unlink_chain(struct tracker_entry **head, struct tracker_entry *e, bool by_uuid)
{
	for (struct tracker_entry **pp = head; *pp;
	     pp = by_uuid ? &(*pp)->next_uuid : &(*pp)->next_key) {
		if (*pp == e) {
			*pp = by_uuid ? e->next_uuid : e->next_key;
			return;
		}
	}
}

/* Take e out of the map (it stays allocated while attached). */
static void
map_remove(struct tracker *t, struct tracker_entry *e)
{
	if (!e->in_map)
		return;
	unlink_chain(&t->by_key[hash(e->key)], e, false);
	if (e->uuid[0] != '\0')
		unlink_chain(&t->by_uuid[hash(e->uuid)], e, true);
	e->in_map = false;
	t->stats.entries--;
	if (e->state == ENTRY_PENDING)
		t->stats.pending--;
}

/* e is kept only for a late retry (idle), or someone is attached again. */
static void
set_idle(struct tracker *t, struct tracker_entry *e, bool idle)
{
	if (e->idle == idle)
		return;
	if (idle)
		list_push_back(&t->idle, &e->idle_link);
	else
		list_unlink(&t->idle, &e->idle_link);
	e->idle = idle;
}

static void
entry_free(struct tracker_entry *e)
{
	set_idle(e->t, e, false);
	if (e->poll_op != NULL)
		e->t->opts.poll_cancel(e->poll_op);
	if (e->create_op != NULL)
		e->t->opts.create_cancel(e->create_op);
	loop_timer_free(e->timer);
	free(e->key);
	free(e);
}

/* ---- scheduling ---- */

/* An entry nobody is attached to: is it over, or kept for a late retry? */
static bool
unwatched_over(const struct tracker_entry *e, long long now)
{
	if (!e->in_map)
		return true;
	if (e->state == ENTRY_DONE && (e->failed || e->delivered))
		return true;
	return now >= e->expires_ms;
}

/* The creation of e's approval ended without one: e is done, with rc. */
static void
creation_failed(struct tracker_entry *e, enum status rc)
{
	e->create_op = NULL;
	e->failed = true;
	e->state = ENTRY_DONE;
	e->result = rc;
}

/*
 * Arm e's timer for what comes next: its next poll while someone waits, its
 * expiry while nobody is attached. Frees e when it is over; returns true then.
 */
static bool
schedule(struct tracker *t, struct tracker_entry *e)
{
	long long now = util_now_ms(), at;

	/* Also out of the map (its approval expired and the key was taken
	 * again): its waiters learn the outcome from the polls only. */
	if (e->state == ENTRY_PENDING && e->n_waiters > 0) {
		at = e->next_poll_ms > t->backoff_until_ms ? e->next_poll_ms : t->backoff_until_ms;
		if (e->poll_op == NULL)
			loop_timer_arm(e->timer, at);
		else
			loop_timer_disarm(e->timer); /* the poll's end schedules again */
		return false;
	}
	if (e->refs > 0 || e->n_waiters > 0 || e->state == ENTRY_CREATING) {
		loop_timer_disarm(e->timer);
		return false;
	}
	if (unwatched_over(e, now)) {
		map_remove(t, e);
		entry_free(e);
		return true;
	}
	set_idle(t, e, true);
	loop_timer_arm(e->timer, e->expires_ms);
	return false;
}

/* Complete every waiter with the entry's result; the callbacks may release e. */
static void
complete_waiters(struct tracker *t, struct tracker_entry *e)
{
	e->refs++;
	while (e->waiters.first != NULL) {
		struct tracker_waiter *w = LIST_ITEM(e->waiters.first, struct tracker_waiter, link);
		tracker_wait_fn fn = w->fn;
		void *arg = w->arg;

		list_unlink(&e->waiters, &w->link);
		e->n_waiters--;
		t->stats.waiters--;
		if (!e->failed)
			e->delivered = true;
		free(w);
		fn(arg, e->result);
	}
	e->refs--;
}

static void
set_done(struct tracker *t, struct tracker_entry *e, enum status result)
{
	if (e->state == ENTRY_PENDING && e->in_map)
		t->stats.pending--;
	e->state = ENTRY_DONE;
	e->result = result;
	if (e->poll_op != NULL) {
		t->opts.poll_cancel(e->poll_op);
		e->poll_op = NULL;
	}
	complete_waiters(t, e);
	schedule(t, e);
}

/* ---- polls ---- */

/* The pause of every poll after a rate limit: its Retry-After, capped. */
static long long
pause_ms(const struct tracker *t, long retry_after_s)
{
	long long ms = retry_after_s > 0 ? retry_after_s * 1000LL : 2LL * t->opts.poll_interval_ms;

	return ms < t->opts.pause_max_ms ? ms : t->opts.pause_max_ms;
}

/* Apply a poll result to e. */
static void
apply_poll(struct tracker *t, struct tracker_entry *e, enum status rc, long retry_after_s)
{
	long long now = util_now_ms();
	long factor;

	if (e->state != ENTRY_PENDING) {
		schedule(t, e);
		return;
	}
	switch (rc) {
	case STATUS_OK:
	case STATUS_DENIED:
	case STATUS_EXPIRED:
	case STATUS_APPROVAL_NOT_FOUND:
	case STATUS_USER_NOT_FOUND:
	case STATUS_NO_FACTOR: /* the factor is gone: this approval can never come */
		set_done(t, e, rc);
		return;
	case STATUS_PENDING:
		e->errors = 0;
		e->last_error = STATUS_OK;
		break;
	default:
		t->stats.poll_errors++;
		e->errors++;
		e->last_error = rc;
		if (rc == STATUS_RATE_LIMITED)
			t->backoff_until_ms = now + pause_ms(t, retry_after_s);
		break;
	}
	factor = e->errors < 3 ? 1L << e->errors : BACKOFF_MAX_FACTOR;
	e->next_poll_ms = now + t->opts.poll_interval_ms * factor;
	schedule(t, e);
}

static void
on_poll_done(void *arg, enum status rc, long retry_after_s)
{
	struct tracker_entry *e = arg;

	e->poll_op = NULL;
	apply_poll(e->t, e, rc, retry_after_s);
}

static void
on_timer(void *arg)
{
	struct tracker_entry *e = arg;
	struct tracker *t = e->t;
	long long now = util_now_ms();
	enum status rc;

	if (e->state != ENTRY_PENDING || e->n_waiters == 0 || e->poll_op != NULL ||
	    now < e->next_poll_ms || now < t->backoff_until_ms) {
		schedule(t, e);
		return;
	}
	t->stats.polls++;
	rc = t->opts.poll(t->opts.poll_arg,
	                  &(struct tracker_poll){.handle = e->uuid,
	                                         .deadline_ms = now + t->opts.poll_timeout_ms,
	                                         .done = on_poll_done,
	                                         .done_arg = e},
	                  &e->poll_op);
	if (rc != STATUS_OK) {
		e->poll_op = NULL;
		apply_poll(t, e, rc, 0);
	}
}

/* ---- life cycle ---- */

enum status
tracker_new(const struct tracker_opts *opts, struct tracker **out)
{
	struct tracker *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return STATUS_NOMEM;
	t->opts = *opts;
	*out = t;
	return STATUS_OK;
}

void
tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		while (t->by_key[b] != NULL) {
			struct tracker_entry *e = t->by_key[b];
			t->by_key[b] = e->next_key;
			entry_free(e);
		}
	}
	free(t);
}

static enum status
entry_new(struct tracker *t, const char *key, struct tracker_entry **out)
{
	struct tracker_entry *e = calloc(1, sizeof(*e));
	uint32_t h = hash(key);

	if (e == NULL || (e->key = strdup(key)) == NULL ||
	    loop_timer_new(t->opts.loop, on_timer, e, &e->timer) != STATUS_OK) {
		if (e != NULL)
			free(e->key);
		free(e);
		return STATUS_NOMEM;
	}
	e->t = t;
	e->state = ENTRY_CREATING;
	e->next_key = t->by_key[h];
	t->by_key[h] = e;
	e->in_map = true;
	t->stats.entries++;
	*out = e;
	return STATUS_OK;
}

/*
 * The map is full: the entry nobody has been attached to for longest makes
 * room. It only waited for a late retry, which then sends a new push.
 */
static void
evict_idle(struct tracker *t)
{
	struct tracker_entry *e = LIST_ITEM_OR_NULL(t->idle.first, struct tracker_entry, idle_link);

	if (e == NULL)
		return;
	map_remove(t, e);
	entry_free(e);
}

/* An entry may be joined unless its approval has expired or its result was delivered. */
static bool
joinable(const struct tracker_entry *e, long long now)
{
	if (e->failed || e->delivered)
		return false;
	return e->state == ENTRY_CREATING || now < e->expires_ms;
}

enum status
tracker_attach(struct tracker *t, const char *key, struct tracker_entry **out, bool *created)
{
	struct tracker_entry *e = find_key(t, key);
	enum status rc;

	if (t->stats.attached >= t->opts.max_attached)
		return STATUS_UNAVAILABLE;
	if (e != NULL && !joinable(e, util_now_ms())) {
		map_remove(t, e);
		schedule(t, e);
		e = NULL;
	}
	*created = (e == NULL);
	if (e == NULL) {
		if (t->stats.entries >= TRACKER_MAX_ENTRIES)
			evict_idle(t);
		if (t->stats.entries >= TRACKER_MAX_ENTRIES)
			return STATUS_UNAVAILABLE;
		rc = entry_new(t, key, &e);
		if (rc != STATUS_OK)
			return rc;
	} else {
		t->stats.reattached++;
	}
	e->refs++;
	t->stats.attached++;
	set_idle(t, e, false);
	loop_timer_disarm(e->timer);
	*out = e;
	return STATUS_OK;
}

void
tracker_creating(struct tracker *t, struct tracker_entry *e, void *op)
{
	(void)t;
	e->create_op = op;
}

void
tracker_publish(struct tracker *t, struct tracker_entry *e, const char *handle,
                long long expires_ms)
{
	e->create_op = NULL;
	util_strlcpy(e->uuid, handle, sizeof(e->uuid));
	if (e->in_map) {
		uint32_t h = hash(e->uuid);
		e->next_uuid = t->by_uuid[h];
		t->by_uuid[h] = e;
		t->stats.pending++;
	}
	e->state = ENTRY_PENDING;
	e->expires_ms = expires_ms;
	/* A fresh push is surely pending: the first poll waits one interval. */
	e->next_poll_ms = util_now_ms() + t->opts.poll_interval_ms;
	schedule(t, e);
}

void
tracker_fail(struct tracker *t, struct tracker_entry *e, enum status rc)
{
	creation_failed(e, rc);
	complete_waiters(t, e);
	schedule(t, e);
}

enum status
tracker_wait(struct tracker *t, struct tracker_entry *e, tracker_wait_fn fn, void *arg,
             struct tracker_waiter **out)
{
	long long now = util_now_ms();
	struct tracker_waiter *w;

	*out = NULL;
	if (e->state == ENTRY_DONE) {
		if (!e->failed)
			e->delivered = true;
		return e->result;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return STATUS_NOMEM;
	*w = (struct tracker_waiter){.e = e, .fn = fn, .arg = arg};
	list_push_front(&e->waiters, &w->link);
	e->n_waiters++;
	t->stats.waiters++;
	/*
	 * A re-attach to an idle entry polls at once (the user may have approved
	 * between B2C's tries); a fresh one keeps its slot; after errors, one
	 * interval.
	 */
	if (e->errors > 0 && e->poll_op == NULL)
		e->next_poll_ms = now + t->opts.poll_interval_ms;
	schedule(t, e);
	*out = w;
	return STATUS_PENDING;
}

enum status
tracker_unwait(struct tracker *t, struct tracker_waiter *w)
{
	struct tracker_entry *e;
	enum status rc;

	if (w == NULL)
		return STATUS_TIMEOUT;
	e = w->e;
	list_unlink(&e->waiters, &w->link);
	e->n_waiters--;
	t->stats.waiters--;
	free(w);
	rc = e->last_error != STATUS_OK ? e->last_error : STATUS_TIMEOUT;
	schedule(t, e);
	return rc;
}

void
tracker_release(struct tracker *t, struct tracker_entry *e)
{
	e->refs--;
	t->stats.attached--;
	if (e->refs == 0 && (e->failed || e->delivered))
		map_remove(t, e);
	schedule(t, e);
}

enum status
tracker_resolve(struct tracker *t, const char *handle, enum status result)
{
	struct tracker_entry *e = find_uuid(t, handle);

	if (e == NULL || !e->in_map)
		return STATUS_NOT_FOUND;
	if (e->state == ENTRY_PENDING)
		set_done(t, e, result);
	return STATUS_OK;
}

void
tracker_get_stats(const struct tracker *t, struct tracker_stats *out)
{
	*out = t->stats;
}
