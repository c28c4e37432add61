/*
 * ratelimit.h - a generic per-key rate limiter: at most `limit` events per key
 * in any sliding window of `window_s` seconds. The table holds at most
 * `max_keys` keys; a key whose events have all left the window is evicted when
 * room is needed. A full table of live keys fails closed. Not thread-safe:
 * one thread (the loop thread) uses a limiter.
 */
#ifndef B2CAUTHY_RATELIMIT_H
#define B2CAUTHY_RATELIMIT_H

#include "status.h"

#define RATELIMIT_KEY_MAX 256     /* longest key in bytes, NUL excluded */
#define RATELIMIT_LIMIT_MAX 10000 /* largest events-per-window limit */
#define RATELIMIT_KEYS_MAX 1000000
#define RATELIMIT_WINDOW_MAX 86400 /* longest window in seconds */

struct ratelimit;

/*
 * ratelimit_new - a limiter of limit (1..RATELIMIT_LIMIT_MAX) events per key
 * per window_s (1..RATELIMIT_WINDOW_MAX) seconds for up to max_keys
 * (1..RATELIMIT_KEYS_MAX) keys. A key's ring of limit timestamps is allocated
 * at its first event, so memory stays below max_keys * (limit * 8 + key
 * length + a small header) plus the bucket array. Returns STATUS_OK and *out (the caller owns it,
 * free with ratelimit_free), STATUS_CONFIG for an argument out of range, or
 * STATUS_NOMEM.
 */
enum status ratelimit_new(long max_keys, long limit, long window_s, struct ratelimit **out);

/*
 * ratelimit_free - free the limiter. NULL is a no-op. No other thread may be
 * using it.
 */
void ratelimit_free(struct ratelimit *rl);

/*
 * ratelimit_hit - record one event for key if it is allowed, atomically with
 * the check. Returns as ratelimit_allowed; the event is recorded only on
 * STATUS_OK (a refused attempt does not extend the wait). Loop thread only.
 */
enum status ratelimit_hit(struct ratelimit *rl, const char *key, long *retry_after_s);

/*
 * ratelimit_undo - take back the newest event of key, for an action that was
 * counted by ratelimit_hit but then did not happen (e.g. no push could be
 * sent). An unknown key or one without live events is a no-op. Loop thread only.
 */
void ratelimit_undo(struct ratelimit *rl, const char *key);

/*
 * ratelimit_reset - forget every event of key (e.g. after a successful
 * sign-in). An unknown or invalid key is a no-op. Loop thread only.
 */
void ratelimit_reset(struct ratelimit *rl, const char *key);

/*
 * ratelimit_count - the number of events of key in the current window (0 for
 * an unknown or invalid key). Loop thread only.
 */
long ratelimit_count(struct ratelimit *rl, const char *key);

#endif
