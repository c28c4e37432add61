/*
 * ratelimit.c - per-key sliding-window rate limiter. Each key keeps the
 * timestamps of its last `limit` events in a ring; an event counts while it is
 * younger than the window. Keys live in a chained hash table of fixed capacity;
 * keys without live events are evicted when room is needed. The loop thread
 * alone uses a limiter, so a check and its record need no lock to be one step.
 */
#include "ratelimit.h"
#include "ratelimit_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

struct rl_entry {
	struct rl_entry *next;
	long long *ev; /* ring of limit timestamps (ms), oldest at head */
	long n;        /* live events in the ring */
	long head;
	char key[];
};

struct ratelimit {
	struct rl_entry **buckets;
	size_t nbuckets; /* a power of two */
	long max_keys;
	long keys;
	long limit;
	long long window_ms;
	/* a full table of live keys: none can be evicted before this (0 = unknown) */
	long long evict_after_ms;
	long scans; /* eviction scans made, for the tests */
	uint64_t seed;
	long long (*now_ms)(void *arg);
	void *now_arg;
};

static long long
default_now(void *arg)
{
	(void)arg;
	return util_now_ms();
}

static uint64_t
hash_key(const struct ratelimit *rl, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ rl->seed;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

enum status
ratelimit_new(long max_keys, long limit, long window_s, struct ratelimit **out)
{
	struct ratelimit *rl = NULL;
	enum status rc = STATUS_CONFIG;

	*out = NULL;
	if (max_keys < 1 || max_keys > RATELIMIT_KEYS_MAX || limit < 1 ||
	    limit > RATELIMIT_LIMIT_MAX || window_s < 1 || window_s > RATELIMIT_WINDOW_MAX)
		goto out;
	rc = STATUS_NOMEM;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		goto out;
	rl->nbuckets = 16;
	while (rl->nbuckets < (size_t)max_keys)
		rl->nbuckets <<= 1;
	rl->buckets = calloc(rl->nbuckets, sizeof(*rl->buckets));
	if (rl->buckets == NULL)
		goto out;
	if (getrandom(&rl->seed, sizeof(rl->seed), 0) != (ssize_t)sizeof(rl->seed))
		rl->seed = (uint64_t)util_now_ms() ^ (uint64_t)(uintptr_t)rl;
	rl->max_keys = max_keys;
	rl->limit = limit;
	rl->window_ms = (long long)window_s * 1000;
	rl->now_ms = default_now;
	*out = rl;
	rl = NULL;
	rc = STATUS_OK;
out:
	if (rl != NULL) {
		free(rl->buckets);
		free(rl);
	}
	return rc;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < rl->nbuckets; i++) {
		struct rl_entry *e = rl->buckets[i];

		while (e != NULL) {
			struct rl_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(rl->buckets);
	free(rl);
}

void
ratelimit_set_clock(struct ratelimit *rl, long long (*now_ms)(void *arg), void *arg)
{
	rl->now_ms = now_ms != NULL ? now_ms : default_now;
	rl->now_arg = now_ms != NULL ? arg : NULL;
}

static bool
key_ok(const char *key)
{
	return key != NULL && key[0] != '\0' &&
	       strnlen(key, RATELIMIT_KEY_MAX + 1) <= RATELIMIT_KEY_MAX;
}

/* Drop the events of e that have left the window ending at now. */
static void
prune(const struct ratelimit *rl, struct rl_entry *e, long long now)
{
	while (e->n > 0 && e->ev[e->head] <= now - rl->window_ms) {
		e->head = (e->head + 1) % rl->limit;
		e->n--;
	}
}

/* The bucket slot pointing at key's entry, or at the NULL ending its chain. */
static struct rl_entry **
find_slot(struct ratelimit *rl, const char *key)
{
	struct rl_entry **pp = &rl->buckets[hash_key(rl, key) & (rl->nbuckets - 1)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

/*
 * Free every entry without live events, and note when the oldest event left
 * will leave the window: until then no key can go, and a full table is not
 * scanned again (each scan visits every bucket).
 */
static void
evict_expired(struct ratelimit *rl, long long now)
{
	long long next = 0;

	rl->scans++;
	for (size_t i = 0; i < rl->nbuckets; i++) {
		struct rl_entry **pp = &rl->buckets[i];

		while (*pp != NULL) {
			struct rl_entry *e = *pp;

			prune(rl, e, now);
			if (e->n == 0) {
				*pp = e->next;
				free(e);
				rl->keys--;
			} else {
				long long leaves = e->ev[e->head] + rl->window_ms;
				if (next == 0 || leaves < next)
					next = leaves;
				pp = &e->next;
			}
		}
	}
	rl->evict_after_ms = next;
}

/* Is there room for one more key? Evicts expired keys when full. */
static bool
room_for_key(struct ratelimit *rl, long long now)
{
	if (rl->keys < rl->max_keys)
		return true;
	if (now < rl->evict_after_ms)
		return false;
	evict_expired(rl, now);
	return rl->keys < rl->max_keys;
}

static enum status
new_entry(struct ratelimit *rl, const char *key, struct rl_entry **out)
{
	size_t klen = strlen(key) + 1;
	size_t evoff = (sizeof(struct rl_entry) + klen + sizeof(long long) - 1) /
	               sizeof(long long) * sizeof(long long);
	struct rl_entry *e = calloc(1, evoff + (size_t)rl->limit * sizeof(long long));

	if (e == NULL)
		return STATUS_NOMEM;
	memcpy(e->key, key, klen);
	e->ev = (long long *)(void *)((char *)e + evoff);
	*out = e;
	return STATUS_OK;
}

/* The verdict for entry e (may be NULL) at now. */
static enum status
verdict(const struct ratelimit *rl, struct rl_entry *e, long long now, long *retry_after_s)
{
	long long wait_ms;

	if (e == NULL || e->n < rl->limit)
		return STATUS_OK;
	if (retry_after_s != NULL) {
		wait_ms = e->ev[e->head] + rl->window_ms - now;
		*retry_after_s = (long)((wait_ms + 999) / 1000);
		if (*retry_after_s < 1)
			*retry_after_s = 1;
	}
	return STATUS_RATE_LIMITED;
}

/* Look key up (pruned) and, when record is set, record an allowed event. */
static enum status
check(struct ratelimit *rl, const char *key, bool record, long *retry_after_s)
{
	struct rl_entry **pp, *e;
	enum status rc;
	long long now;

	if (!key_ok(key))
		return STATUS_BAD_REQUEST;
	now = rl->now_ms(rl->now_arg);
	pp = find_slot(rl, key);
	e = *pp;
	if (e != NULL)
		prune(rl, e, now);
	rc = verdict(rl, e, now, retry_after_s);
	if (rc != STATUS_OK || (e == NULL && !room_for_key(rl, now))) {
		if (rc == STATUS_OK)
			rc = STATUS_UNAVAILABLE;
		goto out;
	}
	if (!record)
		goto out;
	if (e == NULL) {
		rc = new_entry(rl, key, &e);
		if (rc != STATUS_OK)
			goto out;
		/* eviction may have changed the chain: insert at its head */
		pp = &rl->buckets[hash_key(rl, key) & (rl->nbuckets - 1)];
		e->next = *pp;
		*pp = e;
		rl->keys++;
	}
	e->ev[(e->head + e->n) % rl->limit] = now;
	e->n++;
out:
	return rc;
}

enum status
ratelimit_allowed(struct ratelimit *rl, const char *key, long *retry_after_s)
{
	return check(rl, key, false, retry_after_s);
}

enum status
ratelimit_hit(struct ratelimit *rl, const char *key, long *retry_after_s)
{
	return check(rl, key, true, retry_after_s);
}

void
ratelimit_undo(struct ratelimit *rl, const char *key)
{
	struct rl_entry *e;

	if (!key_ok(key))
		return;
	e = *find_slot(rl, key);
	if (e != NULL) {
		prune(rl, e, rl->now_ms(rl->now_arg));
		if (e->n > 0)
			e->n--;
		if (e->n == 0)
			rl->evict_after_ms = 0; /* e may go at once */
	}
}

void
ratelimit_reset(struct ratelimit *rl, const char *key)
{
	struct rl_entry **pp, *e;

	if (!key_ok(key))
		return;
	pp = find_slot(rl, key);
	e = *pp;
	if (e != NULL) {
		*pp = e->next;
		free(e);
		rl->keys--;
	}
}

long
ratelimit_count(struct ratelimit *rl, const char *key)
{
	struct rl_entry *e;
	long n = 0;

	if (!key_ok(key))
		return 0;
	e = *find_slot(rl, key);
	if (e != NULL) {
		prune(rl, e, rl->now_ms(rl->now_arg));
		n = e->n;
	}
	return n;
}

long
ratelimit_scans(struct ratelimit *rl)
{
	return rl->scans;
}

long
ratelimit_keys(struct ratelimit *rl)
{
	return rl->keys;
}
