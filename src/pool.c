/*
 * pool.c - bounded pool of upstream handles. Handles are made on first need and
 * kept for reuse, so a busy responder holds at most `size` keep-alive
 * connections to the Authy API.
 */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upstream.h"
#include "util.h"

struct upool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct upstream_opts opts; /* borrowed strings: they live in the config */
	struct upstream **idle;    /* handles ready for reuse */
	int n_idle;
	int n_made;
	int size;
};

enum status
upool_new(const struct upstream_opts *opts, int size, struct upool **out)
{
	struct upool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return STATUS_NOMEM;
	p->idle = calloc((size_t)size, sizeof(*p->idle));
	if (p->idle == NULL) {
		free(p);
		return STATUS_NOMEM;
	}
	p->opts = *opts;
	p->size = size;
	pthread_mutex_init(&p->lock, NULL);
	util_cond_init_monotonic(&p->freed);
	*out = p;
	return STATUS_OK;
}

static void
abs_time(long long deadline_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline_ms / 1000);
	ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

enum status
upool_get(struct upool *p, long long deadline_ms, struct upstream **out)
{
	enum status rc = STATUS_OK;
	struct timespec ts;

	abs_time(deadline_ms, &ts);
	pthread_mutex_lock(&p->lock);
	while (p->n_idle == 0 && p->n_made >= p->size) {
		if (pthread_cond_timedwait(&p->freed, &p->lock, &ts) != 0 &&
		    util_now_ms() >= deadline_ms) {
			rc = STATUS_UNAVAILABLE;
			goto out;
		}
	}
	if (p->n_idle > 0) {
		*out = p->idle[--p->n_idle];
		goto out;
	}
	/* Reserve the slot, then make the handle without holding the lock. */
	p->n_made++;
	pthread_mutex_unlock(&p->lock);
	rc = upstream_new(&p->opts, out);
	pthread_mutex_lock(&p->lock);
	if (rc != STATUS_OK) {
		p->n_made--;
		pthread_cond_signal(&p->freed);
	}
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void
upool_put(struct upool *p, struct upstream *up)
{
	if (up == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->idle[p->n_idle++] = up;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

int
upool_in_use(struct upool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->n_made - p->n_idle;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
upool_free(struct upool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n_idle; i++)
		upstream_free(p->idle[i]);
	free(p->idle);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
