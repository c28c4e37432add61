/*
 * tracker.c - pending approvals shared by all request threads. One mutex
 * guards a hash map (by key and by uuid) and a min-heap of entries due for
 * polling; each entry has a condition variable its waiters sleep on. Only
 * entries with waiters are polled, so an abandoned wait costs no upstream call.
 */
#include "tracker.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "upstream.h"
#include "util.h"

#define NBUCKETS 16384
#define WAIT_SLICE_MS 200
#define SWEEP_EVERY_MS 5000
#define BACKOFF_MAX_FACTOR 8

enum entry_state { ENTRY_CREATING, ENTRY_PENDING, ENTRY_DONE };

struct tracker_entry {
	struct tracker_entry *next_key;
	struct tracker_entry *next_uuid;
	char *key;
	char uuid[TRACKER_UUID_MAX + 1];
	enum entry_state state;
	enum status result;     /* when ENTRY_DONE */
	enum status last_error; /* last poll failure, STATUS_OK after a good poll */
	bool failed;            /* creation failed: remove with the last waiter */
	bool delivered;         /* a waiter received the result */
	bool in_map;
	int refs;     /* waiters plus pollers working on it */
	int waiters;  /* request threads in tracker_wait */
	int heap_idx; /* -1 when not scheduled */
	int errors;   /* consecutive failed polls, for back-off */
	long long next_poll_ms;
	long long expires_ms;
	pthread_cond_t cond;
};

struct tracker {
	struct tracker_opts opts;
	struct upstream_opts upstream; /* copy of *opts.upstream */
	pthread_mutex_t lock;
	pthread_cond_t work; /* pollers sleep here */
	pthread_t *threads;
	int n_threads;
	bool stopping;
	struct tracker_entry *by_key[NBUCKETS];
	struct tracker_entry *by_uuid[NBUCKETS];
	struct tracker_entry **heap;
	size_t heap_len, heap_cap;
	long long backoff_until_ms; /* global pause after a rate limit */
	long long next_sweep_ms;
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

static void
deadline_ts(long long ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* ---- heap of scheduled entries, ordered by next_poll_ms ---- */

static void
heap_swap(struct tracker *t, size_t a, size_t b)
{
	struct tracker_entry *x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->heap[a]->heap_idx = (int)a;
	t->heap[b]->heap_idx = (int)b;
}

static void
heap_up(struct tracker *t, size_t i)
{
	while (i > 0 && t->heap[(i - 1) / 2]->next_poll_ms > t->heap[i]->next_poll_ms) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct tracker *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->heap_len && t->heap[l]->next_poll_ms < t->heap[m]->next_poll_ms)
			m = l;
		if (r < t->heap_len && t->heap[r]->next_poll_ms < t->heap[m]->next_poll_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static enum status
heap_push(struct tracker *t, struct tracker_entry *e)
{
	if (t->heap_len == t->heap_cap) {
		size_t cap = t->heap_cap ? t->heap_cap * 2 : 256;
		struct tracker_entry **h = realloc(t->heap, cap * sizeof(*h));
		if (h == NULL)
			return STATUS_NOMEM;
		t->heap = h;
		t->heap_cap = cap;
	}
	t->heap[t->heap_len] = e;
	e->heap_idx = (int)t->heap_len++;
	heap_up(t, (size_t)e->heap_idx);
	return STATUS_OK;
}

static struct tracker_entry *
heap_pop(struct tracker *t)
{
	struct tracker_entry *top = t->heap[0];

	heap_swap(t, 0, t->heap_len - 1);
	t->heap_len--;
	if (t->heap_len > 0)
		heap_down(t, 0);
	top->heap_idx = -1;
	return top;
}

/* Schedule e for a poll at `at` unless it is already scheduled earlier. */
static void
schedule(struct tracker *t, struct tracker_entry *e, long long at)
{
	if (e->heap_idx >= 0) {
		if (at < e->next_poll_ms) {
			e->next_poll_ms = at;
			heap_up(t, (size_t)e->heap_idx);
		}
		return;
	}
	e->next_poll_ms = at;
	if (heap_push(t, e) != STATUS_OK)
		log_warnx("tracker: cannot schedule a poll (out of memory)");
	pthread_cond_signal(&t->work);
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

/* Take e out of the map (it stays allocated while refs > 0). */
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

static void
entry_free(struct tracker_entry *e)
{
	pthread_cond_destroy(&e->cond);
	free(e->key);
	free(e);
}

/* Drop one reference; free e when unreferenced and out of the map. */
static void
unref(struct tracker *t, struct tracker_entry *e)
{
	e->refs--;
	if (e->refs == 0 && (e->failed || e->delivered))
		map_remove(t, e);
	if (e->refs == 0 && !e->in_map && e->heap_idx < 0)
		entry_free(e);
}

static void
set_done(struct tracker *t, struct tracker_entry *e, enum status result)
{
	if (e->state == ENTRY_PENDING && e->in_map)
		t->stats.pending--;
	e->state = ENTRY_DONE;
	e->result = result;
	pthread_cond_broadcast(&e->cond);
}

/* Remove unreferenced entries whose approval has expired. Lock held. */
static void
sweep(struct tracker *t, long long now)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct tracker_entry *e = t->by_key[b];
		while (e != NULL) {
			struct tracker_entry *next = e->next_key;
			if (e->refs == 0 && e->state != ENTRY_CREATING && now >= e->expires_ms) {
				map_remove(t, e);
				if (e->heap_idx < 0)
					entry_free(e);
			}
			e = next;
		}
	}
}

/* ---- pollers ---- */

/* Apply a poll result to e. Lock held. */
static void
apply_poll(struct tracker *t, struct tracker_entry *e, enum status rc, long retry_after_s,
           long long now)
{
	long factor;

	t->stats.polls++;
	if (e->state != ENTRY_PENDING)
		return; /* resolved meanwhile, e.g. by a callback */
	switch (rc) {
	case STATUS_OK:
	case STATUS_DENIED:
	case STATUS_EXPIRED:
	case STATUS_APPROVAL_NOT_FOUND:
	case STATUS_USER_NOT_FOUND:
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
		if (rc == STATUS_RATE_LIMITED) {
			long pause =
			    retry_after_s > 0 ? retry_after_s * 1000 : 2 * t->opts.poll_interval_ms;
			t->backoff_until_ms = now + pause;
		}
		break;
	}
	factor = e->errors < 3 ? 1 << e->errors : BACKOFF_MAX_FACTOR;
	if (e->waiters > 0)
		schedule(t, e, now + t->opts.poll_interval_ms * factor);
}

/* Wait until the earliest scheduled entry is due; return it, or NULL when stopping. */
static struct tracker_entry *
next_due(struct tracker *t)
{
	for (;;) {
		long long now = util_now_ms(), at;
		struct timespec ts;
		struct tracker_entry *e;

		if (t->stopping)
			return NULL;
		if (now >= t->next_sweep_ms) {
			sweep(t, now);
			t->next_sweep_ms = now + SWEEP_EVERY_MS;
		}
		if (t->heap_len == 0) {
			deadline_ts(t->next_sweep_ms, &ts);
			pthread_cond_timedwait(&t->work, &t->lock, &ts);
			continue;
		}
		at = t->heap[0]->next_poll_ms;
		if (at < t->backoff_until_ms)
			at = t->backoff_until_ms;
		if (at > now) {
			deadline_ts(at < t->next_sweep_ms ? at : t->next_sweep_ms, &ts);
			pthread_cond_timedwait(&t->work, &t->lock, &ts);
			continue;
		}
		e = heap_pop(t);
		if (e->waiters > 0 && e->state == ENTRY_PENDING)
			return e;
		if (!e->in_map && e->refs == 0)
			entry_free(e);
	}
}

static void *
poller_main(void *arg)
{
	struct tracker *t = arg;
	struct upstream *up = NULL;
	struct loop *loop = NULL;
	char uuid[TRACKER_UUID_MAX + 1];

	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct tracker_entry *e = next_due(t);
		long retry_after = 0;
		enum status rc = STATUS_OK;
		long long deadline;

		if (e == NULL)
			break;
		e->refs++;
		util_strlcpy(uuid, e->uuid, sizeof(uuid));
		pthread_mutex_unlock(&t->lock);
		deadline = util_now_ms() + t->opts.poll_timeout_ms;
		if (loop == NULL && t->opts.upstream != NULL)
			rc = loop_new(&loop);
		if (rc == STATUS_OK && up == NULL && t->opts.upstream != NULL)
			rc = upstream_new(t->opts.upstream, loop, &up);
		if (rc == STATUS_OK)
			rc = t->opts.poll(t->opts.poll_arg, up, loop, uuid, deadline, &retry_after);
		pthread_mutex_lock(&t->lock);
		apply_poll(t, e, rc, retry_after, util_now_ms());
		unref(t, e);
	}
	pthread_mutex_unlock(&t->lock);
	upstream_free(up);
	loop_free(loop);
	return NULL;
}

enum status
tracker_new(const struct tracker_opts *opts, struct tracker **out)
{
	struct tracker *t = calloc(1, sizeof(*t));
	enum status rc = STATUS_OK;

	if (t == NULL)
		return STATUS_NOMEM;
	t->opts = *opts;
	if (opts->upstream != NULL) {
		t->upstream = *opts->upstream;
		t->opts.upstream = &t->upstream;
	}
	pthread_mutex_init(&t->lock, NULL);
	util_cond_init_monotonic(&t->work);
	t->threads = calloc((size_t)opts->pollers, sizeof(*t->threads));
	if (t->threads == NULL) {
		rc = STATUS_NOMEM;
		goto out;
	}
	for (; t->n_threads < opts->pollers; t->n_threads++) {
		if (pthread_create(&t->threads[t->n_threads], NULL, poller_main, t) != 0) {
			rc = STATUS_INTERNAL;
			goto out;
		}
	}
out:
	if (rc != STATUS_OK) {
		tracker_free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

void
tracker_free(struct tracker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_broadcast(&t->work);
	pthread_mutex_unlock(&t->lock);
	for (int i = 0; i < t->n_threads; i++)
		pthread_join(t->threads[i], NULL);
	for (size_t i = 0; i < t->heap_len; i++) {
		if (!t->heap[i]->in_map)
			entry_free(t->heap[i]);
	}
	for (size_t b = 0; b < NBUCKETS; b++) {
		while (t->by_key[b] != NULL) {
			struct tracker_entry *e = t->by_key[b];
			t->by_key[b] = e->next_key;
			entry_free(e);
		}
	}
	free(t->heap);
	free(t->threads);
	pthread_cond_destroy(&t->work);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- request-side API ---- */

static enum status
entry_new(struct tracker *t, const char *key, struct tracker_entry **out)
{
	struct tracker_entry *e = calloc(1, sizeof(*e));
	uint32_t h = hash(key);

	if (e == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		return STATUS_NOMEM;
	}
	e->state = ENTRY_CREATING;
	e->heap_idx = -1;
	util_cond_init_monotonic(&e->cond);
	e->next_key = t->by_key[h];
	t->by_key[h] = e;
	e->in_map = true;
	t->stats.entries++;
	*out = e;
	return STATUS_OK;
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
	enum status rc = STATUS_OK;
	struct tracker_entry *e;
	long long now = util_now_ms();

	pthread_mutex_lock(&t->lock);
	if (t->stopping) {
		rc = STATUS_UNAVAILABLE;
		goto out;
	}
	e = find_key(t, key);
	if (e != NULL && !joinable(e, now)) {
		map_remove(t, e);
		if (e->refs == 0 && e->heap_idx < 0)
			entry_free(e);
		e = NULL;
	}
	*created = (e == NULL);
	if (e == NULL) {
		if (t->stats.entries >= TRACKER_MAX_ENTRIES) {
			rc = STATUS_UNAVAILABLE;
			goto out;
		}
		rc = entry_new(t, key, &e);
		if (rc != STATUS_OK)
			goto out;
	} else {
		t->stats.reattached++;
	}
	e->refs++;
	*out = e;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
tracker_publish(struct tracker *t, struct tracker_entry *e, const char *uuid, long long expires_ms)
{
	pthread_mutex_lock(&t->lock);
	util_strlcpy(e->uuid, uuid, sizeof(e->uuid));
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
	pthread_cond_broadcast(&e->cond);
	if (e->waiters > 0)
		schedule(t, e, e->next_poll_ms);
	pthread_mutex_unlock(&t->lock);
}

void
tracker_fail(struct tracker *t, struct tracker_entry *e, enum status rc)
{
	pthread_mutex_lock(&t->lock);
	e->failed = true;
	e->state = ENTRY_DONE;
	e->result = rc;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&t->lock);
}

/*
 * Start polling e for a new waiter. A re-attach to an idle entry polls at once
 * (the user may have approved between B2C's tries); a fresh one keeps its slot.
 */
static void
waiter_enter(struct tracker *t, struct tracker_entry *e, long long now)
{
	long long at = e->next_poll_ms > now ? e->next_poll_ms : now;

	e->waiters++;
	t->stats.waiters++;
	if (e->errors > 0)
		at = now + t->opts.poll_interval_ms;
	if (e->state == ENTRY_PENDING && e->heap_idx < 0)
		schedule(t, e, at);
}

enum status
tracker_wait(struct tracker *t, struct tracker_entry *e, long long deadline_ms, int (*gone)(void *),
             void *arg)
{
	enum status rc;

	/* Thousands of threads may sleep here: keep only the stack they need now. */
	util_stack_trim();
	pthread_mutex_lock(&t->lock);
	waiter_enter(t, e, util_now_ms());
	for (;;) {
		long long now = util_now_ms(), until;
		struct timespec ts;

		if (e->state == ENTRY_DONE) {
			rc = e->result;
			if (!e->failed)
				e->delivered = true;
			break;
		}
		if (now >= deadline_ms) {
			rc = e->last_error != STATUS_OK ? e->last_error : STATUS_TIMEOUT;
			break;
		}
		if (gone != NULL) {
			int left;
			pthread_mutex_unlock(&t->lock);
			left = gone(arg);
			pthread_mutex_lock(&t->lock);
			if (left && e->state != ENTRY_DONE) {
				rc = STATUS_ABORTED;
				break;
			}
		}
		until = now + WAIT_SLICE_MS < deadline_ms ? now + WAIT_SLICE_MS : deadline_ms;
		deadline_ts(until, &ts);
		pthread_cond_timedwait(&e->cond, &t->lock, &ts);
	}
	e->waiters--;
	t->stats.waiters--;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
tracker_release(struct tracker *t, struct tracker_entry *e)
{
	pthread_mutex_lock(&t->lock);
	unref(t, e);
	pthread_mutex_unlock(&t->lock);
}

enum status
tracker_resolve(struct tracker *t, const char *uuid, enum status result)
{
	struct tracker_entry *e;
	enum status rc = STATUS_OK;

	pthread_mutex_lock(&t->lock);
	e = find_uuid(t, uuid);
	if (e == NULL || !e->in_map) {
		rc = STATUS_NOT_FOUND;
		goto out;
	}
	if (e->state == ENTRY_PENDING)
		set_done(t, e, result);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
tracker_get_stats(struct tracker *t, struct tracker_stats *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->stats;
	pthread_mutex_unlock(&t->lock);
}
