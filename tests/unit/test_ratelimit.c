/*
 * test_ratelimit.c - unit tests of ratelimit.c on a fake clock: the limit per
 * key, the sliding window, retry-after, keys independent of each other, reset,
 * count, argument checks, eviction of expired keys, and a full table failing
 * closed and scanned once until a key can go.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ratelimit.h"
#include "ratelimit_int.h"

static long long
fake_now(void *arg)
{
	return *(long long *)arg;
}

static struct ratelimit *
mk(long max_keys, long limit, long window_s, long long *clock)
{
	struct ratelimit *rl = NULL;

	CHECK_INT(ratelimit_new(max_keys, limit, window_s, &rl), STATUS_OK);
	if (rl != NULL && clock != NULL)
		ratelimit_set_clock(rl, fake_now, clock);
	return rl;
}

static void
test_limit_and_window(void)
{
	long long now = 1000000;
	struct ratelimit *rl = mk(8, 3, 60, &now);
	long retry = 0;

	CHECK_INT(ratelimit_allowed(rl, "a", NULL), STATUS_OK);
	CHECK_INT(ratelimit_count(rl, "a"), 0);
	CHECK_INT(ratelimit_keys(rl), 0); /* allowed() records nothing */
	CHECK_INT(ratelimit_hit(rl, "a", NULL), STATUS_OK);
	now += 10000;
	CHECK_INT(ratelimit_hit(rl, "a", NULL), STATUS_OK);
	now += 10000;
	CHECK_INT(ratelimit_hit(rl, "a", NULL), STATUS_OK);
	CHECK_INT(ratelimit_count(rl, "a"), 3);
	CHECK_INT(ratelimit_allowed(rl, "a", &retry), STATUS_RATE_LIMITED);
	CHECK_INT(retry, 40); /* the first event leaves the window 40 s from now */
	retry = 0;
	CHECK_INT(ratelimit_hit(rl, "a", &retry), STATUS_RATE_LIMITED);
	CHECK_INT(retry, 40);
	CHECK_INT(ratelimit_count(rl, "a"), 3); /* a refused hit is not recorded */
	/* sliding: just before the first event leaves, still limited */
	now += 39999;
	CHECK_INT(ratelimit_hit(rl, "a", &retry), STATUS_RATE_LIMITED);
	CHECK_INT(retry, 1);
	now += 1;
	CHECK_INT(ratelimit_count(rl, "a"), 2);
	CHECK_INT(ratelimit_hit(rl, "a", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "a", &retry), STATUS_RATE_LIMITED);
	CHECK_INT(retry, 10); /* now the second event is the oldest */
	now += 60000 * 2;
	CHECK_INT(ratelimit_count(rl, "a"), 0);
	CHECK_INT(ratelimit_hit(rl, "a", NULL), STATUS_OK);
	ratelimit_free(rl);
}

static void
test_keys_independent_and_reset(void)
{
	long long now = 5;
	struct ratelimit *rl = mk(8, 1, 10, &now);

	CHECK_INT(ratelimit_hit(rl, "1234", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "1234", NULL), STATUS_RATE_LIMITED);
	CHECK_INT(ratelimit_hit(rl, "12345", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "123", NULL), STATUS_OK);
	CHECK_INT(ratelimit_keys(rl), 3);
	ratelimit_reset(rl, "1234");
	CHECK_INT(ratelimit_keys(rl), 2);
	CHECK_INT(ratelimit_count(rl, "1234"), 0);
	CHECK_INT(ratelimit_hit(rl, "1234", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "12345", NULL), STATUS_RATE_LIMITED);
	ratelimit_reset(rl, "unknown");
	ratelimit_reset(rl, NULL);
	CHECK_INT(ratelimit_keys(rl), 3);
	ratelimit_free(rl);
}

static void
test_undo(void)
{
	long long now = 0;
	struct ratelimit *rl = mk(4, 2, 10, &now);
	long retry = 0;

	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_OK);
	now = 4000;
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_RATE_LIMITED);
	/* the newest event goes: one more is allowed, the oldest still counts */
	ratelimit_undo(rl, "u");
	CHECK_INT(ratelimit_count(rl, "u"), 1);
	now = 5000;
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "u", &retry), STATUS_RATE_LIMITED);
	CHECK_INT(retry, 5); /* the event at 0 leaves at 10 s */
	now = 10000;
	CHECK_INT(ratelimit_count(rl, "u"), 1);
	ratelimit_undo(rl, "u");
	ratelimit_undo(rl, "u"); /* nothing left: no-op */
	ratelimit_undo(rl, "unknown");
	CHECK_INT(ratelimit_count(rl, "u"), 0);
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_OK);
	CHECK_INT(ratelimit_hit(rl, "u", NULL), STATUS_RATE_LIMITED);
	ratelimit_free(rl);
}

static void
test_bad_arguments(void)
{
	struct ratelimit *rl = (struct ratelimit *)&rl;
	char longkey[RATELIMIT_KEY_MAX + 2];

	CHECK_INT(ratelimit_new(0, 1, 1, &rl), STATUS_CONFIG);
	CHECK(rl == NULL);
	CHECK_INT(ratelimit_new(1, 0, 1, &rl), STATUS_CONFIG);
	CHECK_INT(ratelimit_new(1, 1, 0, &rl), STATUS_CONFIG);
	CHECK_INT(ratelimit_new(RATELIMIT_KEYS_MAX + 1, 1, 1, &rl), STATUS_CONFIG);
	CHECK_INT(ratelimit_new(1, RATELIMIT_LIMIT_MAX + 1, 1, &rl), STATUS_CONFIG);
	CHECK_INT(ratelimit_new(1, 1, RATELIMIT_WINDOW_MAX + 1, &rl), STATUS_CONFIG);
	rl = mk(4, 2, 10, NULL);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CHECK_INT(ratelimit_hit(rl, longkey, NULL), STATUS_BAD_REQUEST);
	CHECK_INT(ratelimit_allowed(rl, "", NULL), STATUS_BAD_REQUEST);
	CHECK_INT(ratelimit_hit(rl, NULL, NULL), STATUS_BAD_REQUEST);
	CHECK_INT(ratelimit_count(rl, longkey), 0);
	longkey[RATELIMIT_KEY_MAX] = '\0'; /* exactly the maximum is fine */
	CHECK_INT(ratelimit_hit(rl, longkey, NULL), STATUS_OK);
	CHECK_INT(ratelimit_count(rl, longkey), 1);
	CHECK_INT(ratelimit_keys(rl), 1);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void
test_full_table_fails_closed_then_evicts(void)
{
	long long now = 0;
	struct ratelimit *rl = mk(3, 5, 30, &now);
	char key[16];

	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_INT(ratelimit_hit(rl, key, NULL), STATUS_OK);
		now += 1000;
	}
	CHECK_INT(ratelimit_keys(rl), 3);
	/* a fourth key while the three are live: refused, never silently allowed */
	CHECK_INT(ratelimit_hit(rl, "new", NULL), STATUS_UNAVAILABLE);
	CHECK_INT(ratelimit_allowed(rl, "new", NULL), STATUS_UNAVAILABLE);
	/* known keys keep working */
	CHECK_INT(ratelimit_hit(rl, "k2", NULL), STATUS_OK);
	/* k0 expires first: exactly one slot frees up */
	now = 30000;
	CHECK_INT(ratelimit_hit(rl, "new", NULL), STATUS_OK);
	CHECK_INT(ratelimit_keys(rl), 3);
	CHECK_INT(ratelimit_count(rl, "k1"), 1);
	CHECK_INT(ratelimit_hit(rl, "other", NULL), STATUS_UNAVAILABLE);
	/* everything expires: the table empties on demand */
	now += 100000;
	CHECK_INT(ratelimit_hit(rl, "other", NULL), STATUS_OK);
	CHECK_INT(ratelimit_keys(rl), 1);
	ratelimit_free(rl);
}

/*
 * A full table of live keys is scanned for keys to evict only once until its
 * oldest event leaves the window (each scan visits every bucket, under the
 * lock, on the event loop), or an undo empties a key.
 */
static void
test_full_table_scanned_once(void)
{
	long long now = 0;
	struct ratelimit *rl = mk(3, 5, 30, &now);
	char key[16];
	long scans;

	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_INT(ratelimit_hit(rl, key, NULL), STATUS_OK);
		now += 1000;
	}
	scans = ratelimit_scans(rl);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "new%d", i);
		CHECK_INT(ratelimit_hit(rl, key, NULL), STATUS_UNAVAILABLE);
		now += 100;
	}
	CHECK_INT(ratelimit_scans(rl), scans + 1);
	/* k0 leaves the window at 30 s: room again, found by one more scan */
	now = 30000;
	CHECK_INT(ratelimit_hit(rl, "late", NULL), STATUS_OK);
	CHECK_INT(ratelimit_scans(rl), scans + 2);
	/* an undo that empties a key makes room at once */
	CHECK_INT(ratelimit_hit(rl, "more", NULL), STATUS_UNAVAILABLE);
	ratelimit_undo(rl, "late");
	CHECK_INT(ratelimit_hit(rl, "more", NULL), STATUS_OK);
	CHECK_INT(ratelimit_count(rl, "late"), 0);
	ratelimit_free(rl);
}

static void
test_many_keys_lookup(void)
{
	long long now = 0;
	struct ratelimit *rl = mk(2000, 2, 10, &now);
	char key[32];
	int ok = 1;

	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "user-%d", i);
		ok &= ratelimit_hit(rl, key, NULL) == STATUS_OK;
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "user-%d", i);
		ok &= ratelimit_count(rl, key) == 1;
		ok &= ratelimit_hit(rl, key, NULL) == STATUS_OK;
		ok &= ratelimit_hit(rl, key, NULL) == STATUS_RATE_LIMITED;
	}
	CHECK(ok);
	CHECK_INT(ratelimit_keys(rl), 2000);
	ratelimit_free(rl);
}

int
main(void)
{
	RUN(test_limit_and_window);
	RUN(test_keys_independent_and_reset);
	RUN(test_undo);
	RUN(test_bad_arguments);
	RUN(test_full_table_fails_closed_then_evicts);
	RUN(test_full_table_scanned_once);
	RUN(test_many_keys_lookup);
	HARNESS_END();
}
