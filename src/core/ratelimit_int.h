/*
 * ratelimit_int.h - test-only access to the limiter's clock.
 */
#ifndef B2CAUTHY_RATELIMIT_INT_H
#define B2CAUTHY_RATELIMIT_INT_H

#include "ratelimit.h"

/*
 * ratelimit_set_clock - replace the monotonic millisecond clock of rl by
 * now_ms(arg) (NULL restores util_now_ms). Loop thread only: call before rl is
 * in use.
 */
void ratelimit_set_clock(struct ratelimit *rl, long long (*now_ms)(void *arg), void *arg);

/*
 * ratelimit_allowed - would one more event for key be allowed now? Records
 * nothing. Returns STATUS_OK (allowed), STATUS_RATE_LIMITED (the key has used
 * its limit; *retry_after_s, when not NULL, is the number of seconds, >= 1,
 * until the oldest event leaves the window), STATUS_UNAVAILABLE (the key is not
 * in the table and the table is full of live keys) or STATUS_BAD_REQUEST (key
 * NULL, empty or longer than RATELIMIT_KEY_MAX). Every status but STATUS_OK
 * means "not allowed". Loop thread only.
 */
enum status ratelimit_allowed(struct ratelimit *rl, const char *key, long *retry_after_s);

/*
 * ratelimit_keys - the number of keys held in the table, expired ones that
 * have not been evicted yet included. Loop thread only.
 */
long ratelimit_keys(struct ratelimit *rl);

/*
 * ratelimit_scans - the number of scans of the whole table for keys to
 * evict made so far. Loop thread only.
 */
long ratelimit_scans(struct ratelimit *rl);

#endif
