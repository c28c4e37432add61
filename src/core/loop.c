/*
 * loop.c - the event loop: one epoll set for file-descriptor watches and a
 * binary min-heap of one-shot timers (arm, disarm and fire in O(log n)). The
 * epoll_wait timeout comes from the nearest timer. Single-threaded: every
 * function runs on the loop thread.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "list.h"
#include "util.h"

#define LOOP_BATCH 128

struct loop_watch {
	struct loop *loop;
	int fd;
	unsigned events;
	int edge;
	int dead; /* deleted during a dispatch: freed after the batch */
	loop_fd_fn fn;
	void *arg;
	struct loop_watch *next_dead;
	struct list_link link; /* in the loop's watches, for loop_free */
};

struct loop_timer {
	struct loop *loop;
	size_t slot; /* index in the heap, or SIZE_MAX when disarmed */
	loop_timer_fn fn;
	void *arg;
	struct list_link link; /* in the loop's timers, for loop_free */
};

/* A heap entry keeps its timer's deadline, so that sifting reads no timer. */
struct heap_node {
	long long at_ms;
	struct loop_timer *t;
};

struct loop {
	int epfd;
	int stopping;
	int dispatching;
	long long now_ms;
	struct heap_node *heap; /* min-heap on at_ms */
	size_t nheap;
	size_t cap;     /* heap capacity: at least the number of timers alive */
	size_t ntimers; /* timers alive, armed or not */
	struct loop_watch *dead;
	struct list_head watches;
	struct list_head timers;
};

#define DISARMED ((size_t)-1)

enum status
loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return STATUS_NOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return STATUS_INTERNAL;
	}
	l->now_ms = util_now_ms();
	*out = l;
	return STATUS_OK;
}

static void
free_dead(struct loop *l)
{
	while (l->dead != NULL) {
		struct loop_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	while (l->watches.first != NULL)
		loop_watch_del(l, LIST_ITEM(l->watches.first, struct loop_watch, link));
	while (l->timers.first != NULL)
		loop_timer_free(LIST_ITEM(l->timers.first, struct loop_timer, link));
	free_dead(l);
	free(l->heap);
	close(l->epfd);
	free(l);
}

long long
loop_now_ms(struct loop *l)
{
	return l->now_ms;
}

static uint32_t
epoll_bits(unsigned events, int edge)
{
	uint32_t e = 0;

	if (events & LOOP_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		e |= EPOLLOUT;
	if (edge)
		e |= EPOLLET;
	return e;
}

enum status
loop_watch_add(struct loop *l, const struct loop_watch_opts *o, struct loop_watch **out)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev;

	if (w == NULL)
		return STATUS_NOMEM;
	*w = (struct loop_watch){.loop = l,
	                         .fd = o->fd,
	                         .events = o->events,
	                         .edge = o->edge,
	                         .fn = o->fn,
	                         .arg = o->arg};
	ev.events = epoll_bits(o->events, o->edge);
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, o->fd, &ev) != 0) {
		free(w);
		return errno == ENOMEM || errno == ENOSPC ? STATUS_NOMEM : STATUS_INTERNAL;
	}
	list_push_front(&l->watches, &w->link);
	*out = w;
	return STATUS_OK;
}

enum status
loop_watch_mod(struct loop *l, struct loop_watch *w, unsigned events)
{
	struct epoll_event ev = {.events = epoll_bits(events, w->edge), .data.ptr = w};

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
		return STATUS_INTERNAL;
	w->events = events;
	return STATUS_OK;
}

void
loop_watch_del(struct loop *l, struct loop_watch *w)
{
	if (w == NULL)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	list_unlink(&l->watches, &w->link);
	if (!l->dispatching) {
		free(w);
		return;
	}
	/* Later events of the current batch may still point at w. */
	w->dead = 1;
	w->next_dead = l->dead;
	l->dead = w;
}

/* Heap helpers: parent of i is (i - 1) / 2. */
static void
heap_set(struct loop *l, size_t i, struct heap_node n)
{
	l->heap[i] = n;
	n.t->slot = i;
}

static void
sift_up(struct loop *l, size_t i)
{
	struct heap_node n = l->heap[i];

	while (i > 0 && l->heap[(i - 1) / 2].at_ms > n.at_ms) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, n);
}

static void
sift_down(struct loop *l, size_t i)
{
	struct heap_node n = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1].at_ms < l->heap[c].at_ms)
			c++;
		if (l->heap[c].at_ms >= n.at_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, n);
}

static void
heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = t->slot;
	struct heap_node last = l->heap[--l->nheap];

	t->slot = DISARMED;
	if (last.t == t)
		return;
	heap_set(l, i, last);
	sift_down(l, i);
	sift_up(l, last.t->slot);
}

enum status
loop_timer_new(struct loop *l, loop_timer_fn fn, void *arg, struct loop_timer **out)
{
	struct loop_timer *t;

	/* Grow the heap now so that arming never allocates. */
	if (l->ntimers == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct heap_node *h = realloc(l->heap, cap * sizeof(*h));
		if (h == NULL)
			return STATUS_NOMEM;
		l->heap = h;
		l->cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return STATUS_NOMEM;
	*t = (struct loop_timer){.loop = l, .slot = DISARMED, .fn = fn, .arg = arg};
	l->ntimers++;
	list_push_front(&l->timers, &t->link);
	*out = t;
	return STATUS_OK;
}

void
loop_timer_arm(struct loop_timer *t, long long at_ms)
{
	struct loop *l = t->loop;

	if (t->slot != DISARMED) {
		l->heap[t->slot].at_ms = at_ms;
		sift_down(l, t->slot);
		sift_up(l, t->slot);
		return;
	}
	heap_set(l, l->nheap++, (struct heap_node){.at_ms = at_ms, .t = t});
	sift_up(l, t->slot);
}

void
loop_timer_disarm(struct loop_timer *t)
{
	if (t != NULL && t->slot != DISARMED)
		heap_remove(t->loop, t);
}

void
loop_timer_free(struct loop_timer *t)
{
	struct loop *l;

	if (t == NULL)
		return;
	l = t->loop;
	loop_timer_disarm(t);
	list_unlink(&l->timers, &t->link);
	l->ntimers--;
	free(t);
}

static int
wait_timeout(struct loop *l)
{
	long long d;

	if (l->nheap == 0)
		return -1;
	d = l->heap[0].at_ms - util_now_ms();
	if (d <= 0)
		return 0;
	return d > 60000 ? 60000 : (int)d + 1;
}

static void
dispatch(struct loop *l, const struct epoll_event *ev, int n)
{
	l->dispatching = 1;
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = ev[i].data.ptr;
		unsigned bits = 0;
		if (w->dead)
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			bits |= LOOP_READ;
		if (ev[i].events & EPOLLOUT)
			bits |= LOOP_WRITE;
		if (ev[i].events & (EPOLLHUP | EPOLLERR))
			bits |= LOOP_ERROR;
		w->fn(w->arg, w->fd, bits);
	}
	l->dispatching = 0;
	free_dead(l);
}

/* Fire the timers due now; ones re-armed for now wait for the next iteration. */
static void
fire_timers(struct loop *l)
{
	size_t budget = l->nheap;

	while (budget-- > 0 && l->nheap > 0 && l->heap[0].at_ms <= l->now_ms) {
		struct loop_timer *t = l->heap[0].t;
		heap_remove(l, t);
		t->fn(t->arg);
	}
}

enum status
loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_BATCH];

	l->stopping = 0;
	while (!l->stopping) {
		int n = epoll_wait(l->epfd, ev, LOOP_BATCH, wait_timeout(l));
		if (n < 0 && errno != EINTR)
			return STATUS_INTERNAL;
		l->now_ms = util_now_ms();
		if (n > 0)
			dispatch(l, ev, n);
		fire_timers(l);
	}
	return STATUS_OK;
}

void
loop_stop(struct loop *l)
{
	l->stopping = 1;
}
