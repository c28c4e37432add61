/*
 * test_loop.c - the event loop: timer order, disarm and re-arm, freeing from
 * callbacks, fd watches (level and edge), deleting a watch from its callback,
 * 10,000 armed timers, and loop_free with watches and timers still registered.
 */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "loop.h"
#include "util.h"

struct rec {
	struct loop *l;
	int order[16];
	int n;
	int stop_after;
};

struct tctx {
	struct rec *r;
	int id;
	struct loop_timer *t;
	int free_self;
};

static void
on_timer(void *arg)
{
	struct tctx *c = arg;

	if (c->r->n < 16)
		c->r->order[c->r->n] = c->id;
	c->r->n++;
	if (c->free_self) {
		loop_timer_free(c->t);
		c->t = NULL;
	}
	if (c->r->n >= c->r->stop_after)
		loop_stop(c->r->l);
}

static void
test_timer_order(void)
{
	struct rec r = {.stop_after = 3};
	struct tctx c[4];
	long long now;

	CHECK(loop_new(&r.l) == STATUS_OK);
	now = loop_now_ms(r.l);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct tctx){.r = &r, .id = i};
		CHECK(loop_timer_new(r.l, on_timer, &c[i], &c[i].t) == STATUS_OK);
	}
	loop_timer_arm(c[0].t, now + 30);
	loop_timer_arm(c[1].t, now + 10);
	loop_timer_arm(c[2].t, now + 20);
	loop_timer_arm(c[3].t, now + 5);
	loop_timer_disarm(c[3].t);       /* never fires */
	loop_timer_arm(c[2].t, now + 1); /* re-arm earlier */
	CHECK(loop_run(r.l) == STATUS_OK);
	CHECK_INT(r.n, 3);
	CHECK_INT(r.order[0], 2);
	CHECK_INT(r.order[1], 1);
	CHECK_INT(r.order[2], 0);
	CHECK(util_now_ms() - now >= 30);
	for (int i = 0; i < 4; i++)
		loop_timer_free(c[i].t);
	loop_free(r.l);
}

static void
test_timer_free_in_callback(void)
{
	struct rec r = {.stop_after = 2};
	struct tctx a, b;

	CHECK(loop_new(&r.l) == STATUS_OK);
	a = (struct tctx){.r = &r, .id = 1, .free_self = 1};
	b = (struct tctx){.r = &r, .id = 2};
	CHECK(loop_timer_new(r.l, on_timer, &a, &a.t) == STATUS_OK);
	CHECK(loop_timer_new(r.l, on_timer, &b, &b.t) == STATUS_OK);
	loop_timer_arm(a.t, loop_now_ms(r.l));
	loop_timer_arm(b.t, loop_now_ms(r.l) + 2);
	CHECK(loop_run(r.l) == STATUS_OK);
	CHECK(a.t == NULL);
	CHECK_INT(r.order[0], 1);
	CHECK_INT(r.order[1], 2);
	loop_timer_free(b.t);
	loop_free(r.l);
}

struct many {
	struct loop *l;
	long long last;
	int fired;
	int misordered;
};

struct many_t {
	struct many *m;
	long long at;
};

static void
on_many(void *arg)
{
	struct many_t *t = arg;

	if (t->at < t->m->last)
		t->m->misordered++;
	t->m->last = t->at;
	if (++t->m->fired == 10000)
		loop_stop(t->m->l);
}

static void
test_ten_thousand_timers(void)
{
	struct many m = {0};
	struct many_t *ts = calloc(10000, sizeof(*ts));
	struct loop_timer **tt = calloc(10000, sizeof(*tt));
	long long base;

	CHECK(loop_new(&m.l) == STATUS_OK);
	base = loop_now_ms(m.l);
	for (int i = 0; i < 10000; i++) {
		ts[i] = (struct many_t){.m = &m, .at = base + (i * 7919) % 50};
		CHECK(loop_timer_new(m.l, on_many, &ts[i], &tt[i]) == STATUS_OK);
		loop_timer_arm(tt[i], ts[i].at);
	}
	/* Disarm and re-arm half of them: the heap stays consistent. */
	for (int i = 0; i < 10000; i += 2) {
		loop_timer_disarm(tt[i]);
		loop_timer_arm(tt[i], ts[i].at);
	}
	/* Move a third of them while armed, earlier and later. */
	for (int i = 1; i < 10000; i += 3) {
		ts[i].at = base + (i * 104729) % 60;
		loop_timer_arm(tt[i], ts[i].at);
	}
	CHECK(loop_run(m.l) == STATUS_OK);
	CHECK_INT(m.fired, 10000);
	CHECK_INT(m.misordered, 0);
	for (int i = 0; i < 10000; i++)
		loop_timer_free(tt[i]);
	loop_free(m.l);
	free(ts);
	free(tt);
}

struct wctx {
	struct loop *l;
	struct loop_watch *w;
	int calls;
	unsigned last;
	int del_self;
};

static void
on_fd(void *arg, int fd, unsigned events)
{
	struct wctx *c = arg;
	char b[4];

	c->calls++;
	c->last = events;
	if (events & LOOP_READ)
		(void)!read(fd, b, 1);
	if (c->del_self) {
		loop_watch_del(c->l, c->w);
		c->w = NULL;
	}
	loop_stop(c->l);
}

static void
test_watch_read_and_del(void)
{
	struct wctx c = {0}, d = {0};
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	CHECK(loop_new(&c.l) == STATUS_OK);
	d.l = c.l;
	CHECK(loop_watch_add(c.l,
	                     &(struct loop_watch_opts){
	                         .fd = p[0], .events = LOOP_READ, .fn = on_fd, .arg = &c},
	                     &c.w) == STATUS_OK);
	CHECK(loop_watch_add(c.l,
	                     &(struct loop_watch_opts){
	                         .fd = q[1], .events = LOOP_WRITE, .fn = on_fd, .arg = &d},
	                     &d.w) == STATUS_OK);
	CHECK(loop_watch_mod(c.l, d.w, 0) == STATUS_OK);
	CHECK(write(p[1], "ab", 2) == 2);
	CHECK(loop_run(c.l) == STATUS_OK);
	CHECK_INT(c.calls, 1);
	CHECK(c.last & LOOP_READ);
	CHECK_INT(d.calls, 0);
	/* Level-triggered: one byte left, the watch fires again; then it deletes itself. */
	c.del_self = 1;
	CHECK(loop_run(c.l) == STATUS_OK);
	CHECK_INT(c.calls, 2);
	CHECK(c.w == NULL);
	/* The writable end reports LOOP_WRITE once asked for. */
	CHECK(loop_watch_mod(c.l, d.w, LOOP_WRITE) == STATUS_OK);
	CHECK(loop_run(c.l) == STATUS_OK);
	CHECK_INT(d.calls, 1);
	CHECK(d.last & LOOP_WRITE);
	/* EOF shows as LOOP_READ. */
	CHECK(loop_watch_mod(c.l, d.w, 0) == STATUS_OK);
	close(p[1]);
	c.del_self = 0;
	CHECK(
	    loop_watch_add(c.l,
	                   &(struct loop_watch_opts){
	                       .fd = p[0], .events = LOOP_READ, .edge = 1, .fn = on_fd, .arg = &c},
	                   &c.w) == STATUS_OK);
	CHECK(loop_run(c.l) == STATUS_OK);
	CHECK_INT(c.calls, 3);
	CHECK(c.last & LOOP_READ);
	/* loop_free frees the watches still registered (checked under valgrind/asan). */
	loop_free(c.l);
	close(p[0]);
	close(q[0]);
	close(q[1]);
}

struct pair {
	struct loop *l;
	struct loop_watch *w[2];
	int calls;
};

/* Two fds ready in one batch: the first callback deletes the other watch. */
static void
on_pair(void *arg, int fd, unsigned events)
{
	struct pair *p = arg;

	(void)fd;
	(void)events;
	p->calls++;
	loop_watch_del(p->l, p->w[0]);
	loop_watch_del(p->l, p->w[1]);
	p->w[0] = p->w[1] = NULL;
	loop_stop(p->l);
}

static void
test_del_other_in_batch(void)
{
	struct pair p = {0};
	int a[2], b[2];

	CHECK(pipe(a) == 0 && pipe(b) == 0);
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "x", 1) == 1);
	CHECK(loop_new(&p.l) == STATUS_OK);
	CHECK(loop_watch_add(p.l,
	                     &(struct loop_watch_opts){
	                         .fd = a[0], .events = LOOP_READ, .fn = on_pair, .arg = &p},
	                     &p.w[0]) == STATUS_OK);
	CHECK(loop_watch_add(p.l,
	                     &(struct loop_watch_opts){
	                         .fd = b[0], .events = LOOP_READ, .fn = on_pair, .arg = &p},
	                     &p.w[1]) == STATUS_OK);
	CHECK(loop_run(p.l) == STATUS_OK);
	CHECK_INT(p.calls, 1);
	loop_free(p.l);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
test_free_with_armed_timers(void)
{
	struct loop *l;
	struct loop_timer *t;
	struct rec r = {0};
	struct tctx c = {.r = &r};

	CHECK(loop_new(&l) == STATUS_OK);
	CHECK(loop_timer_new(l, on_timer, &c, &t) == STATUS_OK);
	loop_timer_arm(t, loop_now_ms(l) + 100000);
	loop_free(l); /* frees t too; no callback */
	CHECK_INT(r.n, 0);
	loop_free(NULL);
	loop_timer_free(NULL);
	loop_timer_disarm(NULL);
}

int
main(void)
{
	RUN(test_timer_order);
	RUN(test_timer_free_in_callback);
	RUN(test_ten_thousand_timers);
	RUN(test_watch_read_and_del);
	RUN(test_del_other_in_batch);
	RUN(test_free_with_armed_timers);
	HARNESS_END();
}
