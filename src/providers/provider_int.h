/*
 * provider_int.h - a provider operation run to its end on its own loop, for unit and component
 * tests.
 */
#ifndef B2CAUTHY_PROVIDER_INT_H
#define B2CAUTHY_PROVIDER_INT_H

#include "provider.h"

struct loop;

/*
 * provider_run - provider_start on up and run loop (the loop up was made
 * on, owned by the calling thread) until the operation ends: its status.
 * Test-only: the responder itself never runs a loop inside a call.
 */
enum status provider_run(const struct provider_op *op, struct provider_job *job,
                         struct upstream *up, struct loop *loop, long long deadline_ms);

#endif
