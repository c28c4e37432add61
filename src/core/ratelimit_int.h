/*
 * ratelimit_int.h - test-only access to the limiter's clock.
 */
#ifndef B2CAUTHY_RATELIMIT_INT_H
#define B2CAUTHY_RATELIMIT_INT_H

#include "ratelimit.h"

/*
 * ratelimit_set_clock - replace the monotonic millisecond clock of rl by
 * now_ms(arg) (NULL restores util_now_ms). Call before rl is shared.
 */
void ratelimit_set_clock(struct ratelimit *rl, long long (*now_ms)(void *arg), void *arg);

#endif
