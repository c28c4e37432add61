/*
 * test_tracker.c - the approval tracker on a real loop with a scripted
 * asynchronous poll function: completion on approval, denial and expiry,
 * a factor gone,
 * deadlines, re-attach without a second approval, no re-attach to a delivered
 * approval, poll error reporting,
 * rate-limit back-off and its cap, creation failures shared, callbacks
 * completing every waiter at once, one poll timer for many waiters, expiry
 * of idle entries, the waiter of an entry replaced under its key, a
 * creation that outlives every request of its sign-in (stopped only by
 * tracker_free), and a
 * full map making room for a new wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "loop.h"
#include "tracker.h"
#include "util.h"

static struct loop *lp;

/* Scripted provider: a poll answers after 5 ms; the final status after some polls. */
static int fake_polls;
static int fake_after = 2;                 /* polls before the final status */
static enum status fake_final = STATUS_OK; /* status after fake_after polls */
static enum status fake_interim = STATUS_PENDING;
static int fake_in_flight;
static long fake_retry_after_s = 1; /* Retry-After of a rate-limited poll */
static int fake_creations_stopped;  /* calls of the create_cancel function */

static void
fake_create_cancel(void *op)
{
	(void)op;
	fake_creations_stopped++;
}

struct fake_op {
	struct loop_timer *timer;
	tracker_poll_done_fn done;
	void *done_arg;
	enum status rc;
};

static void
fake_fire(void *arg)
{
	struct fake_op *op = arg;
	tracker_poll_done_fn done = op->done;
	void *done_arg = op->done_arg;
	enum status rc = op->rc;

	fake_in_flight--;
	loop_timer_free(op->timer);
	free(op);
	done(done_arg, rc, rc == STATUS_RATE_LIMITED ? fake_retry_after_s : 0);
}

static enum status
fake_poll(void *arg, const struct tracker_poll *poll, void **out)
{
	struct fake_op *op = calloc(1, sizeof(*op));

	(void)arg;
	CHECK(op != NULL);
	op->done = poll->done;
	op->done_arg = poll->done_arg;
	op->rc = ++fake_polls >= fake_after ? fake_final : fake_interim;
	CHECK_INT(loop_timer_new(lp, fake_fire, op, &op->timer), STATUS_OK);
	loop_timer_arm(op->timer, util_now_ms() + 5);
	fake_in_flight++;
	*out = op;
	return STATUS_OK;
}

static void
fake_cancel(void *arg)
{
	struct fake_op *op = arg;

	fake_in_flight--;
	loop_timer_free(op->timer);
	free(op);
}

/* A tracker polling every interval ms, pausing at most pause_max ms after a rate limit. */
static struct tracker *
start_paused(long interval, long pause_max)
{
	struct tracker_opts o = {.loop = lp,
	                         .poll_interval_ms = interval,
	                         .poll_timeout_ms = 1000,
	                         .max_attached = 2000,
	                         .pause_max_ms = pause_max,
	                         .poll = fake_poll,
	                         .poll_cancel = fake_cancel,
	                         .create_cancel = fake_create_cancel};
	struct tracker *t = NULL;

	fake_polls = 0;
	fake_after = 2;
	fake_final = STATUS_OK;
	fake_interim = STATUS_PENDING;
	fake_retry_after_s = 1;
	fake_creations_stopped = 0;
	CHECK_INT(tracker_new(&o, &t), STATUS_OK);
	return t;
}

static struct tracker *
start(long interval)
{
	return start_paused(interval, 5000);
}

/* Run the loop for ms milliseconds. */
static void
stop(void *arg)
{
	(void)arg;
	loop_stop(lp);
}

static void
run_for(long ms)
{
	struct loop_timer *tm = NULL;

	CHECK_INT(loop_timer_new(lp, stop, NULL, &tm), STATUS_OK);
	loop_timer_arm(tm, util_now_ms() + ms);
	loop_run(lp);
	loop_timer_free(tm);
}

/* One waiting request. */
struct waiter {
	struct tracker *t;
	struct tracker_entry *e;
	struct tracker_waiter *w;
	bool created;
	bool done;
	enum status rc;
	long long at_ms;
};

static void
waiter_done(void *arg, enum status rc)
{
	struct waiter *wt = arg;

	wt->done = true;
	wt->rc = rc;
	wt->at_ms = util_now_ms();
	wt->w = NULL;
	tracker_release(wt->t, wt->e);
}

/* Attach to key (publishing handle when first) and wait. */
static enum status
wait_on(struct tracker *t, const char *key, const char *handle, struct waiter *wt)
{
	enum status rc;

	memset(wt, 0, sizeof(*wt));
	wt->t = t;
	rc = tracker_attach(t, key, &wt->e, &wt->created);
	if (rc != STATUS_OK)
		return rc;
	if (wt->created)
		tracker_publish(t, wt->e, handle, util_now_ms() + 60000);
	rc = tracker_wait(t, wt->e, waiter_done, wt, &wt->w);
	if (rc != STATUS_PENDING) {
		wt->done = true;
		wt->rc = rc;
		tracker_release(t, wt->e);
	}
	return rc;
}

/* The deadline of a waiter: stop waiting and detach. */
static enum status
give_up(struct waiter *wt)
{
	enum status rc = tracker_unwait(wt->t, wt->w);

	wt->w = NULL;
	tracker_release(wt->t, wt->e);
	return rc;
}

static void
test_approved_after_polls(void)
{
	struct tracker *t = start(20);
	struct tracker_stats st;
	struct waiter w;
	long long t0 = util_now_ms();

	fake_after = 3;
	CHECK_INT(wait_on(t, "k1", "uuid-1", &w), STATUS_PENDING);
	CHECK(w.created);
	run_for(300);
	CHECK(w.done);
	CHECK_INT(w.rc, STATUS_OK);
	CHECK_INT(fake_polls, 3);
	/* The first poll waits one interval: three polls take at least 60 ms. */
	CHECK(w.at_ms - t0 >= 60);
	tracker_get_stats(t, &st);
	CHECK_INT(st.waiters, 0);
	CHECK_INT(st.entries, 0);
	tracker_free(t);
}

static void
test_denied_and_expired(void)
{
	static const enum status finals[] = {STATUS_DENIED, STATUS_EXPIRED,
	                                     STATUS_APPROVAL_NOT_FOUND};
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		struct tracker *t = start(10);
		struct waiter w;

		fake_final = finals[i];
		CHECK_INT(wait_on(t, "k", "uuid", &w), STATUS_PENDING);
		run_for(200);
		CHECK(w.done);
		CHECK_INT(w.rc, finals[i]);
		tracker_free(t);
	}
}

/*
 * A poll that finds the approval's factor gone (Verify 60318) ends the wait at
 * once, and the next try starts afresh: the old challenge can never be approved.
 */
static void
test_no_factor_ends_wait(void)
{
	struct tracker *t = start(10);
	struct waiter w1, w2;

	fake_after = 1;
	fake_final = STATUS_NO_FACTOR;
	CHECK_INT(wait_on(t, "k", "uuid-n", &w1), STATUS_PENDING);
	run_for(100);
	CHECK(w1.done);
	CHECK_INT(w1.rc, STATUS_NO_FACTOR);
	CHECK_INT(fake_polls, 1);
	CHECK_INT(wait_on(t, "k", "uuid-n2", &w2), STATUS_PENDING);
	CHECK(w2.created);
	CHECK_INT(give_up(&w2), STATUS_TIMEOUT);
	tracker_free(t);
}

/* A wait that times out leaves the approval; a retry re-attaches and polls at once. */
static void
test_timeout_then_reattach(void)
{
	struct tracker *t = start(50);
	struct tracker_stats st;
	struct waiter w1, w2;
	int polls;

	fake_after = 1000;
	CHECK_INT(wait_on(t, "k", "uuid-r", &w1), STATUS_PENDING);
	run_for(120);
	CHECK(!w1.done);
	CHECK_INT(give_up(&w1), STATUS_TIMEOUT);
	polls = fake_polls;
	CHECK(polls >= 1);
	/* Nobody waits: no more polls. */
	run_for(150);
	CHECK_INT(fake_polls, polls);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.pending, 1);
	fake_after = fake_polls + 1;
	CHECK_INT(wait_on(t, "k", "uuid-other", &w2), STATUS_PENDING);
	CHECK(!w2.created);
	run_for(30);
	CHECK(w2.done);
	CHECK_INT(w2.rc, STATUS_OK);
	tracker_get_stats(t, &st);
	CHECK_INT(st.reattached, 1);
	CHECK_INT(st.entries, 0);
	tracker_free(t);
}

/*
 * An approval is used once: after its result reached a waiter, a new wait under
 * the key starts afresh, also while another request still holds the entry.
 */
static void
test_delivered_not_joined(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *held = NULL;
	struct waiter w1, w2;
	bool created = false;

	fake_after = 1;
	CHECK_INT(tracker_attach(t, "k", &held, &created), STATUS_OK);
	CHECK(created);
	tracker_publish(t, held, "uuid-d", util_now_ms() + 60000);
	CHECK_INT(wait_on(t, "k", "uuid-d", &w1), STATUS_PENDING);
	CHECK(!w1.created);
	run_for(100);
	CHECK(w1.done);
	CHECK_INT(w1.rc, STATUS_OK);
	CHECK_INT(wait_on(t, "k", "uuid-d2", &w2), STATUS_PENDING);
	CHECK(w2.created);
	CHECK(w2.e != held);
	if (w2.w != NULL)
		CHECK_INT(give_up(&w2), STATUS_TIMEOUT);
	tracker_release(t, held);
	tracker_free(t);
}

static void
test_poll_errors_reported(void)
{
	struct tracker *t = start(10);
	struct tracker_stats st;
	struct waiter w;

	fake_after = 1000;
	fake_interim = STATUS_UPSTREAM_HTTP;
	CHECK_INT(wait_on(t, "k", "uuid-e", &w), STATUS_PENDING);
	run_for(100);
	CHECK(!w.done);
	CHECK_INT(give_up(&w), STATUS_UPSTREAM_HTTP);
	tracker_get_stats(t, &st);
	CHECK(st.poll_errors >= 1);
	tracker_free(t);
}

/* A rate limit pauses every poll for its Retry-After (1 s). */
static void
test_rate_limit_backoff(void)
{
	struct tracker *t = start(10);
	struct waiter w;

	fake_after = 1000;
	fake_interim = STATUS_RATE_LIMITED;
	CHECK_INT(wait_on(t, "k", "uuid-l", &w), STATUS_PENDING);
	run_for(500);
	CHECK_INT(fake_polls, 1);
	CHECK_INT(give_up(&w), STATUS_RATE_LIMITED);
	tracker_free(t);
}

/* A Retry-After of an hour pauses the polls for pause_max_ms (300) only. */
static void
test_rate_limit_pause_capped(void)
{
	struct tracker *t = start_paused(10, 300);
	struct waiter w;

	fake_after = 1000;
	fake_interim = STATUS_RATE_LIMITED;
	fake_retry_after_s = 3600;
	CHECK_INT(wait_on(t, "k", "uuid-p", &w), STATUS_PENDING);
	run_for(200);
	CHECK_INT(fake_polls, 1);
	run_for(300);
	CHECK(fake_polls >= 2);
	CHECK_INT(give_up(&w), STATUS_RATE_LIMITED);
	tracker_free(t);
}

/*
 * A waiter whose approval expires while it waits, when the same key
 * attaches again (a new entry): the old entry, out of the map and beyond
 * the callbacks' reach, still polls for its waiter.
 */
static void
test_waiter_of_replaced_entry(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *e = NULL;
	struct waiter a, b;
	bool created = false;

	fake_after = 1000;
	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	tracker_publish(t, e, "uuid-old", util_now_ms() + 40);
	memset(&a, 0, sizeof(a));
	a.t = t;
	a.e = e;
	CHECK_INT(tracker_wait(t, e, waiter_done, &a, &a.w), STATUS_PENDING);
	run_for(60);
	CHECK(!a.done);
	CHECK_INT(wait_on(t, "k", "uuid-new", &b), STATUS_PENDING);
	CHECK(b.created);
	CHECK_INT(tracker_resolve(t, "uuid-old", STATUS_EXPIRED), STATUS_NOT_FOUND);
	fake_after = 0;
	fake_final = STATUS_EXPIRED;
	run_for(200);
	CHECK(a.done);
	CHECK_INT(a.rc, STATUS_EXPIRED);
	if (!a.done) {
		tracker_unwait(t, a.w);
		tracker_release(t, e);
	}
	if (!b.done)
		give_up(&b);
	tracker_free(t);
}

/*
 * The request that starts a creation leaves while another of the sign-in
 * waits: the creation goes on, and its approval answers the other.
 */
static void
test_creation_outlives_its_starter(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *e = NULL;
	struct tracker_stats st;
	struct waiter b;
	bool created = false;
	int op;

	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	CHECK(created);
	tracker_creating(t, e, &op);
	CHECK_INT(wait_on(t, "k", "unused", &b), STATUS_PENDING);
	tracker_release(t, e); /* the starter leaves */
	CHECK_INT(fake_creations_stopped, 0);
	tracker_publish(t, e, "uuid-o", util_now_ms() + 60000);
	run_for(100);
	CHECK(b.done);
	CHECK_INT(b.rc, STATUS_OK);
	tracker_get_stats(t, &st);
	CHECK_INT(st.attached, 0);
	tracker_free(t);
	CHECK_INT(fake_creations_stopped, 0);
}

/*
 * Everyone leaves while the approval is created: the creation goes on (the
 * push may be out), its approval waits for the sign-in's retry, which
 * re-attaches instead of creating another. Only tracker_free stops one.
 */
static void
test_creation_outlives_everyone(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *e = NULL, *again = NULL;
	struct tracker_stats st;
	struct waiter b, retry;
	bool created = false;
	int op;

	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	tracker_creating(t, e, &op);
	CHECK_INT(wait_on(t, "k", "unused", &b), STATUS_PENDING);
	tracker_release(t, e);
	CHECK_INT(give_up(&b), STATUS_TIMEOUT);
	CHECK_INT(fake_creations_stopped, 0);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.attached, 0);
	tracker_publish(t, e, "uuid-kept", util_now_ms() + 60000);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.pending, 1);
	run_for(50);
	CHECK_INT(fake_polls, 0); /* nobody waits: not polled */
	/* The retry finds the approval: no new creation. */
	CHECK_INT(tracker_attach(t, "k", &again, &created), STATUS_OK);
	CHECK(!created);
	CHECK(again == e);
	tracker_release(t, again);
	CHECK_INT(wait_on(t, "k", "approved", &retry), STATUS_PENDING);
	run_for(100);
	CHECK(retry.done);
	CHECK_INT(retry.rc, STATUS_OK);
	/* A creation in flight at shutdown is stopped, once. */
	CHECK_INT(tracker_attach(t, "k2", &e, &created), STATUS_OK);
	CHECK(created);
	tracker_creating(t, e, &op);
	tracker_release(t, e);
	CHECK_INT(fake_creations_stopped, 0);
	tracker_free(t);
	CHECK_INT(fake_creations_stopped, 1);
}

/* Requests joining while the approval is created share its failure. */
static void
test_creation_failure_shared(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *e = NULL;
	struct tracker_stats st;
	struct waiter w;
	bool created = false;

	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	CHECK(created);
	CHECK_INT(wait_on(t, "k", "unused", &w), STATUS_PENDING);
	CHECK(!w.created);
	tracker_fail(t, e, STATUS_UPSTREAM_CONNECT);
	CHECK(w.done);
	CHECK_INT(w.rc, STATUS_UPSTREAM_CONNECT);
	tracker_release(t, e);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 0);
	/* The next try makes a new approval. */
	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	CHECK(created);
	tracker_fail(t, e, STATUS_UPSTREAM_CONNECT);
	tracker_release(t, e);
	tracker_free(t);
}

/* A verified callback completes every waiter at once, even with a poll in flight. */
static void
test_callback_completes_at_once(void)
{
	struct tracker *t = start(10);
	struct waiter w1, w2, w3;

	fake_after = 1000;
	CHECK_INT(wait_on(t, "k", "uuid-c", &w1), STATUS_PENDING);
	CHECK_INT(wait_on(t, "k", "x", &w2), STATUS_PENDING);
	run_for(12);
	CHECK_INT(tracker_resolve(t, "nope", STATUS_OK), STATUS_NOT_FOUND);
	CHECK_INT(tracker_resolve(t, "uuid-c", STATUS_DENIED), STATUS_OK);
	CHECK(w1.done && w2.done);
	CHECK_INT(w1.rc, STATUS_DENIED);
	CHECK_INT(w2.rc, STATUS_DENIED);
	CHECK_INT(fake_in_flight, 0);
	/* Delivered: the next try starts afresh. */
	CHECK_INT(wait_on(t, "k", "uuid-d", &w3), STATUS_PENDING);
	CHECK(w3.created);
	CHECK_INT(give_up(&w3), STATUS_TIMEOUT);
	tracker_free(t);
	CHECK_INT(fake_in_flight, 0);
}

/* A result no one was waiting for is handed to the next try at once. */
static void
test_result_kept_for_retry(void)
{
	struct tracker *t = start(10);
	struct waiter w1, w2;

	fake_after = 1000;
	CHECK_INT(wait_on(t, "k", "uuid-k", &w1), STATUS_PENDING);
	CHECK_INT(give_up(&w1), STATUS_TIMEOUT);
	CHECK_INT(tracker_resolve(t, "uuid-k", STATUS_OK), STATUS_OK);
	CHECK_INT(wait_on(t, "k", "x", &w2), STATUS_OK);
	CHECK(!w2.created);
	tracker_free(t);
}

/* A thousand waiters on one approval: one poll timer, all complete together. */
static void
test_many_waiters_one_key(void)
{
	enum { N = 1000 };
	struct tracker *t = start(20);
	struct waiter *w = calloc(N, sizeof(*w));
	struct tracker_stats st;
	int done = 0;

	CHECK(w != NULL);
	fake_after = 2;
	for (int i = 0; i < N; i++)
		CHECK_INT(wait_on(t, "k", "uuid-m", &w[i]), STATUS_PENDING);
	tracker_get_stats(t, &st);
	CHECK_INT(st.waiters, N);
	CHECK_INT(st.entries, 1);
	run_for(200);
	for (int i = 0; i < N; i++)
		done += w[i].done && w[i].rc == STATUS_OK;
	CHECK_INT(done, N);
	CHECK_INT(fake_polls, 2);
	free(w);
	tracker_free(t);
}

/* An idle pending entry goes away when its approval expires. */
static void
test_idle_entry_expires(void)
{
	struct tracker *t = start(10);
	struct tracker_entry *e = NULL;
	struct tracker_stats st;
	bool created = false;

	CHECK_INT(tracker_attach(t, "k", &e, &created), STATUS_OK);
	tracker_publish(t, e, "uuid-x", util_now_ms() + 50);
	tracker_release(t, e);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 1);
	run_for(100);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.pending, 0);
	CHECK_INT(fake_polls, 0);
	tracker_free(t);
}

/*
 * A full map of approvals nobody waits for (kept only for a late retry, up to
 * a long approval_ttl_s) makes room for a new wait: the entry left alone the
 * longest goes. One with a waiting request is never taken.
 */
static void
test_full_map_makes_room(void)
{
	struct tracker *t = start(10000);
	struct tracker_entry *e = NULL;
	struct tracker_stats st;
	struct waiter w, w2;
	bool created = false;
	char key[32];

	fake_after = 1000000;
	CHECK_INT(wait_on(t, "waiting", "uuid-waiting", &w), STATUS_PENDING);
	for (long i = 1; i < TRACKER_MAX_ENTRIES; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		if (tracker_attach(t, key, &e, &created) != STATUS_OK) {
			CHECK(!"attach while the map has room");
			break;
		}
		tracker_publish(t, e, key, util_now_ms() + 86400000LL);
		tracker_release(t, e);
	}
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, TRACKER_MAX_ENTRIES);
	CHECK_INT(wait_on(t, "new", "uuid-new", &w2), STATUS_PENDING);
	CHECK(w2.created);
	tracker_get_stats(t, &st);
	CHECK_INT(st.entries, TRACKER_MAX_ENTRIES);
	CHECK_INT(give_up(&w2), STATUS_TIMEOUT);
	/* k1 was left first and went; k2 is still there to re-attach to. */
	CHECK_INT(tracker_attach(t, "k2", &e, &created), STATUS_OK);
	CHECK(!created);
	tracker_release(t, e);
	CHECK_INT(tracker_attach(t, "k1", &e, &created), STATUS_OK);
	CHECK(created);
	tracker_fail(t, e, STATUS_UPSTREAM_HTTP);
	tracker_release(t, e);
	/* The waiting request kept its entry. */
	CHECK_INT(wait_on(t, "waiting", "x", &w2), STATUS_PENDING);
	CHECK(!w2.created);
	CHECK_INT(give_up(&w2), STATUS_TIMEOUT);
	CHECK_INT(give_up(&w), STATUS_TIMEOUT);
	tracker_free(t);
}

/* At most max_attached requests: one more is refused at once. */
static void
test_attach_cap(void)
{
	struct tracker_opts o = {.loop = lp,
	                         .poll_interval_ms = 10,
	                         .poll_timeout_ms = 1000,
	                         .max_attached = 2,
	                         .pause_max_ms = 300,
	                         .poll = fake_poll,
	                         .poll_cancel = fake_cancel};
	struct tracker *t = NULL;
	struct waiter w1, w2, w3;

	CHECK_INT(tracker_new(&o, &t), STATUS_OK);
	fake_after = 1000;
	CHECK_INT(wait_on(t, "a", "uuid-a", &w1), STATUS_PENDING);
	CHECK_INT(wait_on(t, "a", "x", &w2), STATUS_PENDING);
	CHECK_INT(wait_on(t, "b", "uuid-b", &w3), STATUS_UNAVAILABLE);
	CHECK_INT(give_up(&w2), STATUS_TIMEOUT);
	CHECK_INT(wait_on(t, "b", "uuid-b", &w3), STATUS_PENDING);
	CHECK_INT(give_up(&w1), STATUS_TIMEOUT);
	CHECK_INT(give_up(&w3), STATUS_TIMEOUT);
	tracker_free(t);
}

int
main(void)
{
	if (loop_new(&lp) != STATUS_OK)
		return 2;
	RUN(test_approved_after_polls);
	RUN(test_denied_and_expired);
	RUN(test_no_factor_ends_wait);
	RUN(test_timeout_then_reattach);
	RUN(test_delivered_not_joined);
	RUN(test_poll_errors_reported);
	RUN(test_rate_limit_backoff);
	RUN(test_rate_limit_pause_capped);
	RUN(test_creation_failure_shared);
	RUN(test_callback_completes_at_once);
	RUN(test_result_kept_for_retry);
	RUN(test_many_waiters_one_key);
	RUN(test_idle_entry_expires);
	RUN(test_attach_cap);
	RUN(test_full_map_makes_room);
	RUN(test_waiter_of_replaced_entry);
	RUN(test_creation_outlives_its_starter);
	RUN(test_creation_outlives_everyone);
	loop_free(lp);
	HARNESS_END();
}
