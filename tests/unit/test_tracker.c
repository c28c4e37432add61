/*
 * test_tracker.c - the approval tracker with a scripted poll function: waking
 * on approval, denial and expiry, deadlines, client abort, re-attach without a
 * second approval, poll error reporting, rate-limit back-off, callbacks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tracker.h"
#include "util.h"

/* Scripted provider: status per uuid after a number of polls. */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static int fake_polls;
static int fake_after = 2;                 /* polls before the final status */
static enum status fake_final = STATUS_OK; /* status after fake_after polls */
static enum status fake_interim = STATUS_PENDING;

static enum status
fake_poll(void *arg, struct upstream *up, struct loop *loop, const char *uuid, long long deadline,
          long *retry)
{
	int n;

	(void)arg, (void)up, (void)loop, (void)uuid, (void)deadline;
	pthread_mutex_lock(&fake_lock);
	n = ++fake_polls;
	pthread_mutex_unlock(&fake_lock);
	if (fake_interim == STATUS_RATE_LIMITED)
		*retry = 1;
	return n >= fake_after ? fake_final : fake_interim;
}

static struct tracker *
start(long interval)
{
	struct tracker_opts o = {
	    .poll_interval_ms = interval, .poll_timeout_ms = 1000, .pollers = 2, .poll = fake_poll};
	struct tracker *t = NULL;

	fake_polls = 0;
	CHECK_INT(tracker_new(&o, &t), STATUS_OK);
	return t;
}

static enum status
wait_for(struct tracker *t, const char *key, long budget, bool *created)
{
	struct tracker_entry *e;
	enum status rc = tracker_attach(t, key, &e, created);

	if (rc != STATUS_OK)
		return rc;
	if (*created)
		tracker_publish(t, e, "uuid-1", util_now_ms() + 60000);
	rc = tracker_wait(t, e, util_now_ms() + budget, NULL, NULL);
	tracker_release(t, e);
	return rc;
}

static void
test_approved_after_polls(void)
{
	struct tracker *t = start(50);
	bool created;
	long long t0 = util_now_ms();

	fake_after = 3, fake_final = STATUS_OK, fake_interim = STATUS_PENDING;
	CHECK_INT(wait_for(t,
	                   "1\x1f"
	                   "a",
	                   2000, &created),
	          STATUS_OK);
	CHECK(created);
	CHECK_INT(fake_polls, 3);
	CHECK(util_now_ms() - t0 >= 150);
	CHECK(util_now_ms() - t0 < 1000);
	tracker_free(t);
}

static void
test_denied_and_expired(void)
{
	struct tracker *t = start(20);
	bool created;

	fake_after = 1, fake_final = STATUS_DENIED, fake_interim = STATUS_PENDING;
	CHECK_INT(wait_for(t, "k1", 2000, &created), STATUS_DENIED);
	fake_polls = 0, fake_final = STATUS_EXPIRED;
	CHECK_INT(wait_for(t, "k2", 2000, &created), STATUS_EXPIRED);
	tracker_free(t);
}

static void
test_timeout_then_reattach(void)
{
	struct tracker *t = start(30);
	struct tracker_stats st;
	bool created;

	fake_after = 1000000, fake_final = STATUS_OK, fake_interim = STATUS_PENDING;
	CHECK_INT(wait_for(t, "retry", 150, &created), STATUS_TIMEOUT);
	CHECK(created);
	/* B2C retries the same call: it must join the pending approval. */
	fake_polls = 0, fake_after = 1;
	CHECK_INT(wait_for(t, "retry", 1000, &created), STATUS_OK);
	CHECK(!created);
	tracker_get_stats(t, &st);
	CHECK_INT(st.reattached, 1);
	/* Delivered: a later sign-in makes a new approval. */
	fake_polls = 0, fake_after = 1000000;
	CHECK_INT(wait_for(t, "retry", 50, &created), STATUS_TIMEOUT);
	CHECK(created);
	tracker_free(t);
}

static int
gone_after_100ms(void *arg)
{
	return util_now_ms() >= *(long long *)arg;
}

static void
test_client_abort(void)
{
	struct tracker *t = start(30);
	struct tracker_entry *e;
	bool created;
	long long when = util_now_ms() + 100, t0 = util_now_ms();

	fake_after = 1000000, fake_interim = STATUS_PENDING;
	CHECK_INT(tracker_attach(t, "abort", &e, &created), STATUS_OK);
	tracker_publish(t, e, "uuid-abort", util_now_ms() + 60000);
	CHECK_INT(tracker_wait(t, e, util_now_ms() + 5000, gone_after_100ms, &when),
	          STATUS_ABORTED);
	CHECK(util_now_ms() - t0 < 600);
	tracker_release(t, e);
	tracker_free(t);
}

static void
test_poll_errors_reported(void)
{
	struct tracker *t = start(20);
	bool created;

	fake_after = 1000000, fake_interim = STATUS_UPSTREAM_HTTP;
	CHECK_INT(wait_for(t, "err", 300, &created), STATUS_UPSTREAM_HTTP);
	tracker_free(t);
}

static void
test_rate_limit_backoff(void)
{
	struct tracker *t = start(20);
	bool created;

	/* Retry-After: 1 s must pause polling: at most a couple of polls in 600 ms. */
	fake_after = 1000000, fake_interim = STATUS_RATE_LIMITED;
	CHECK_INT(wait_for(t, "rl", 600, &created), STATUS_RATE_LIMITED);
	CHECK(fake_polls <= 2);
	tracker_free(t);
}

static void
test_creation_failure_shared(void)
{
	struct tracker *t = start(20);
	struct tracker_entry *a, *b;
	bool ca, cb;

	CHECK_INT(tracker_attach(t, "fail", &a, &ca), STATUS_OK);
	CHECK_INT(tracker_attach(t, "fail", &b, &cb), STATUS_OK);
	CHECK(ca && !cb);
	tracker_fail(t, a, STATUS_USER_NOT_FOUND);
	CHECK_INT(tracker_wait(t, b, util_now_ms() + 1000, NULL, NULL), STATUS_USER_NOT_FOUND);
	tracker_release(t, a);
	tracker_release(t, b);
	/* A failed creation is not remembered: the next call tries again. */
	CHECK_INT(tracker_attach(t, "fail", &a, &ca), STATUS_OK);
	CHECK(ca);
	tracker_fail(t, a, STATUS_UPSTREAM_CONNECT);
	tracker_release(t, a);
	tracker_free(t);
}

struct cb_arg {
	struct tracker *t;
	int delay_ms;
};

static void *
resolve_later(void *p)
{
	struct cb_arg *a = p;

	usleep((useconds_t)a->delay_ms * 1000);
	CHECK_INT(tracker_resolve(a->t, "uuid-cb", STATUS_OK), STATUS_OK);
	return NULL;
}

static void
test_callback_wakes_at_once(void)
{
	struct tracker *t = start(5000);
	struct tracker_entry *e;
	struct cb_arg a = {.delay_ms = 50};
	pthread_t th;
	bool created;
	long long t0 = util_now_ms();

	a.t = t;
	fake_after = 1000000, fake_interim = STATUS_PENDING;
	CHECK_INT(tracker_attach(t, "cb", &e, &created), STATUS_OK);
	tracker_publish(t, e, "uuid-cb", util_now_ms() + 60000);
	pthread_create(&th, NULL, resolve_later, &a);
	CHECK_INT(tracker_wait(t, e, util_now_ms() + 3000, NULL, NULL), STATUS_OK);
	CHECK(util_now_ms() - t0 < 50 + 100);
	pthread_join(th, NULL);
	tracker_release(t, e);
	CHECK_INT(tracker_resolve(t, "no-such-uuid", STATUS_OK), STATUS_NOT_FOUND);
	tracker_free(t);
}

struct many_arg {
	struct tracker *t;
	char key[32];
	enum status rc;
};

static void *
many_waiter(void *p)
{
	struct many_arg *m = p;
	bool created;

	m->rc = wait_for(m->t, m->key, 3000, &created);
	return NULL;
}

static void
test_many_waiters_one_key(void)
{
	struct tracker *t = start(30);
	struct many_arg m[20];
	pthread_t th[20];
	struct tracker_stats st;

	fake_after = 3, fake_final = STATUS_OK, fake_interim = STATUS_PENDING;
	for (int i = 0; i < 20; i++) {
		m[i].t = t;
		snprintf(m[i].key, sizeof(m[i].key), "same");
		pthread_create(&th[i], NULL, many_waiter, &m[i]);
	}
	for (int i = 0; i < 20; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(m[i].rc, STATUS_OK);
	}
	/* One approval polled for all of them, not twenty. */
	CHECK(fake_polls <= 6);
	tracker_get_stats(t, &st);
	CHECK_INT(st.waiters, 0);
	tracker_free(t);
}

int
main(void)
{
	RUN(test_approved_after_polls);
	RUN(test_denied_and_expired);
	RUN(test_timeout_then_reattach);
	RUN(test_client_abort);
	RUN(test_poll_errors_reported);
	RUN(test_rate_limit_backoff);
	RUN(test_creation_failure_shared);
	RUN(test_callback_wakes_at_once);
	RUN(test_many_waiters_one_key);
	HARNESS_END();
}
