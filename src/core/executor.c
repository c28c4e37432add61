/*
 * executor.c - a FIFO of upstream calls served by a fixed set of threads,
 * each owning one keep-alive upstream handle. Callers sleep on their own
 * condition variable until their call is done.
 */
#include "executor.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "upstream.h"
#include "util.h"

struct job {
	struct job *next;
	executor_fn fn;
	void *arg;
	enum status rc;
	bool taken;
	bool done;
	pthread_cond_t cond; /* the caller sleeps here */
};

struct executor {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job *head, *tail;
	pthread_t *threads;
	int n_threads;
	int busy;
	bool stopping;
	struct upstream_opts opts; /* strings borrowed from the configuration */
};

/* Take the next job, or NULL when stopping with an empty queue. Lock held. */
static struct job *
next_job(struct executor *x)
{
	struct job *j;

	while (x->head == NULL && !x->stopping)
		pthread_cond_wait(&x->work, &x->lock);
	j = x->head;
	if (j != NULL) {
		x->head = j->next;
		if (x->head == NULL)
			x->tail = NULL;
		j->taken = true;
		x->busy++;
	}
	return j;
}

static void *
executor_main(void *arg)
{
	struct executor *x = arg;
	struct upstream *up = NULL;
	struct loop *loop = NULL;
	struct job *j;

	pthread_mutex_lock(&x->lock);
	while ((j = next_job(x)) != NULL) {
		enum status rc = STATUS_OK;
		pthread_mutex_unlock(&x->lock);
		if (loop == NULL)
			rc = loop_new(&loop);
		if (rc == STATUS_OK && up == NULL)
			rc = upstream_new(&x->opts, loop, &up);
		if (rc == STATUS_OK)
			rc = j->fn(j->arg, up, loop);
		pthread_mutex_lock(&x->lock);
		x->busy--;
		j->rc = rc;
		j->done = true;
		pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&x->lock);
	upstream_free(up);
	loop_free(loop);
	return NULL;
}

enum status
executor_new(const struct upstream_opts *opts, int threads, struct executor **out)
{
	struct executor *x = calloc(1, sizeof(*x));
	enum status rc = STATUS_OK;

	if (x == NULL)
		return STATUS_NOMEM;
	x->opts = *opts;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->work, NULL);
	x->threads = calloc((size_t)threads, sizeof(*x->threads));
	if (x->threads == NULL) {
		rc = STATUS_NOMEM;
		goto out;
	}
	for (; x->n_threads < threads; x->n_threads++) {
		if (pthread_create(&x->threads[x->n_threads], NULL, executor_main, x) != 0) {
			rc = STATUS_INTERNAL;
			goto out;
		}
	}
out:
	if (rc != STATUS_OK) {
		executor_free(x);
		x = NULL;
	}
	*out = x;
	return rc;
}

/* Take j out of the queue if no thread has taken it yet. Lock held. */
static bool
withdraw(struct executor *x, struct job *j)
{
	struct job **pp = &x->head, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			if (x->tail == j)
				x->tail = prev;
			return true;
		}
	}
	return false;
}

enum status
executor_run(struct executor *x, executor_fn fn, void *arg, long long deadline_ms)
{
	struct job j = {.fn = fn, .arg = arg};
	struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
	                      .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
	enum status rc;

	util_cond_init_monotonic(&j.cond);
	pthread_mutex_lock(&x->lock);
	if (x->stopping) {
		rc = STATUS_UNAVAILABLE;
		goto out;
	}
	/*
	 * The job lives on this stack: it leaves the queue (taken by a thread,
	 * or withdrawn below) before this function returns.
	 */
	if (x->tail != NULL)
		x->tail->next = &j;
	else
		x->head = &j; /* cppcheck-suppress autoVariables */
	x->tail = &j;         /* cppcheck-suppress autoVariables */
	pthread_cond_signal(&x->work);
	while (!j.done) {
		if (!j.taken && util_now_ms() >= deadline_ms && withdraw(x, &j)) {
			j.rc = STATUS_UNAVAILABLE;
			break;
		}
		if (j.taken)
			pthread_cond_wait(&j.cond, &x->lock);
		else
			pthread_cond_timedwait(&j.cond, &x->lock, &ts);
	}
	rc = j.rc;
out:
	pthread_mutex_unlock(&x->lock);
	pthread_cond_destroy(&j.cond);
	return rc;
}

int
executor_busy(struct executor *x)
{
	int n;

	pthread_mutex_lock(&x->lock);
	n = x->busy;
	pthread_mutex_unlock(&x->lock);
	return n;
}

void
executor_free(struct executor *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	x->stopping = true;
	pthread_cond_broadcast(&x->work);
	pthread_mutex_unlock(&x->lock);
	for (int i = 0; i < x->n_threads; i++)
		pthread_join(x->threads[i], NULL);
	free(x->threads);
	pthread_cond_destroy(&x->work);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
