/*
 * test_executor.c - upstream calls handed to executor threads: results come
 * back, calls run off the caller's thread on a handle of their own, the
 * number of threads bounds concurrency, and a call no thread takes before the
 * deadline is withdrawn with STATUS_UNAVAILABLE.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "executor.h"
#include "harness.h"
#include "upstream.h"
#include "util.h"

static const struct upstream_opts opts = {
    .base_url = "https://127.0.0.1:9", .connect_timeout_ms = 100, .request_timeout_ms = 100};

struct probe {
	pthread_t caller;
	int sleep_ms;
	enum status give;
	bool ran_elsewhere;
	bool had_handle;
};

static atomic_int running, peak;

static enum status
probe_fn(void *arg, struct upstream *up, struct loop *loop)
{
	struct probe *p = arg;
	int now = atomic_fetch_add(&running, 1) + 1;

	if (now > atomic_load(&peak))
		atomic_store(&peak, now);
	p->ran_elsewhere = !pthread_equal(pthread_self(), p->caller);
	p->had_handle = up != NULL && loop != NULL;
	usleep((useconds_t)p->sleep_ms * 1000);
	atomic_fetch_sub(&running, 1);
	return p->give;
}

static void
test_result_and_thread(void)
{
	struct executor *x = NULL;
	struct probe p = {.caller = pthread_self(), .give = STATUS_DENIED};

	CHECK_INT(executor_new(&opts, 2, &x), STATUS_OK);
	CHECK_INT(executor_run(x, probe_fn, &p, util_now_ms() + 1000), STATUS_DENIED);
	CHECK(p.ran_elsewhere);
	CHECK(p.had_handle);
	CHECK_INT(executor_busy(x), 0);
	executor_free(x);
}

struct runner {
	struct executor *x;
	struct probe p;
	long long deadline_ms;
	enum status rc;
};

static void *
run_thread(void *arg)
{
	struct runner *r = arg;

	r->p.caller = pthread_self();
	r->rc = executor_run(r->x, probe_fn, &r->p, r->deadline_ms);
	return NULL;
}

static void
test_bounded_and_deadline(void)
{
	struct executor *x = NULL;
	struct runner r[6];
	pthread_t th[6];
	struct probe late = {.caller = pthread_self(), .give = STATUS_OK};
	long long t0;

	atomic_store(&peak, 0);
	CHECK_INT(executor_new(&opts, 2, &x), STATUS_OK);
	for (int i = 0; i < 6; i++) {
		r[i] = (struct runner){.x = x, .deadline_ms = util_now_ms() + 5000};
		r[i].p.sleep_ms = 150;
		r[i].p.give = STATUS_OK;
		pthread_create(&th[i], NULL, run_thread, &r[i]);
	}
	usleep(50 * 1000);
	/* Both threads are busy and four calls queue: this one cannot start in 100 ms. */
	t0 = util_now_ms();
	CHECK_INT(executor_run(x, probe_fn, &late, util_now_ms() + 100), STATUS_UNAVAILABLE);
	CHECK(util_now_ms() - t0 < 300);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(r[i].rc, STATUS_OK);
	}
	CHECK_INT(atomic_load(&peak), 2);
	executor_free(x);
}

int
main(void)
{
	RUN(test_result_and_thread);
	RUN(test_bounded_and_deadline);
	HARNESS_END();
}
