/*
 * loop.h - the event loop: one epoll set, file-descriptor watches and one-shot
 * timers, run by a single thread. Every callback runs on that thread, so the
 * state it touches needs no lock.
 */
#ifndef B2CAUTHY_LOOP_H
#define B2CAUTHY_LOOP_H

#include "status.h"

struct loop;
struct loop_watch;
struct loop_timer;

/* Event bits for watches and callbacks (a subset of epoll's meaning). */
#define LOOP_READ 0x1u  /* readable, or EOF/hang-up/error pending */
#define LOOP_WRITE 0x2u /* writable */
#define LOOP_ERROR 0x4u /* error or hang-up reported by the kernel (callbacks only) */

/* A watch callback: events is a set of LOOP_* bits. */
typedef void (*loop_fd_fn)(void *arg, int fd, unsigned events);

/* A timer callback: the timer is already disarmed and may be re-armed or freed. */
typedef void (*loop_timer_fn)(void *arg);

/*
 * loop_new - a loop with no watches and no timers.
 * Returns STATUS_OK with *out owned by the caller (loop_free), or STATUS_NOMEM /
 * STATUS_INTERNAL. Thread-safe.
 */
enum status loop_new(struct loop **out);

/*
 * loop_free - free the loop. Watches and timers still registered are freed too;
 * their callbacks are not called. NULL is a no-op. Loop thread only.
 */
void loop_free(struct loop *l);

/*
 * loop_now_ms - the monotonic clock in ms, cached at the start of the current
 * loop iteration. Loop thread only.
 */
long long loop_now_ms(struct loop *l);

/* A watch to add: what it watches and whom it calls. */
struct loop_watch_opts {
	int fd;
	unsigned events; /* LOOP_READ and/or LOOP_WRITE */
	int edge;        /* edge-triggered when non-zero */
	loop_fd_fn fn;   /* called with arg */
	void *arg;
};

/*
 * loop_watch_add - watch o->fd for o->events, calling o->fn(o->arg, ...); o
 * is copied. The fd stays owned by the caller and must be removed with
 * loop_watch_del before it is closed. Returns STATUS_OK with *out owned by the
 * loop until loop_watch_del, or STATUS_NOMEM / STATUS_INTERNAL. Loop thread
 * only.
 */
enum status loop_watch_add(struct loop *l, const struct loop_watch_opts *o,
                           struct loop_watch **out);

/* loop_watch_mod - change the events of a watch. Returns STATUS_OK or STATUS_INTERNAL. */
enum status loop_watch_mod(struct loop *l, struct loop_watch *w, unsigned events);

/*
 * loop_watch_del - stop watching and free w; safe from inside w's own callback
 * (no further callback for w is made). NULL is a no-op. Loop thread only.
 */
void loop_watch_del(struct loop *l, struct loop_watch *w);

/*
 * loop_timer_new - a disarmed timer calling fn(arg). Returns STATUS_OK with *out
 * owned by the caller (loop_timer_free), or STATUS_NOMEM. Loop thread only.
 */
enum status loop_timer_new(struct loop *l, loop_timer_fn fn, void *arg, struct loop_timer **out);

/* loop_timer_arm - (re-)arm t to fire once at absolute monotonic time at_ms. */
void loop_timer_arm(struct loop_timer *t, long long at_ms);

/* loop_timer_disarm - cancel t if armed; no callback follows. NULL is a no-op. */
void loop_timer_disarm(struct loop_timer *t);

/* loop_timer_free - disarm and free t; safe from inside its callback. NULL is a no-op. */
void loop_timer_free(struct loop_timer *t);

/*
 * loop_run - dispatch events and timers until loop_stop is called. Returns
 * STATUS_OK after loop_stop, STATUS_INTERNAL when epoll fails. Loop thread only.
 */
enum status loop_run(struct loop *l);

/* loop_stop - make loop_run return after the current iteration. Loop thread only. */
void loop_stop(struct loop *l);

#endif
