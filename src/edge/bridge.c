/*
 * bridge.c - the fixed thread pool behind the loop (see bridge.h): a mutex
 * and condition variable guard the job queue, a second list carries finished
 * jobs back, and one eventfd wakes the loop for them.
 */
#include "bridge.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

struct job {
	bridge_fn run;
	void *item;
	struct job *next;
};

struct bridge {
	struct loop *loop;
	struct loop_watch *watch;
	int efd;
	bridge_fn done;
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_cond_t exited;
	struct job *head, *tail; /* waiting jobs */
	struct job *finished;    /* back to the loop */
	int queued, running, min_threads, max_threads, nthreads;
	int busy; /* loop side: submitted and not yet done */
	bool stopping;
};

static void *
pool_main(void *arg)
{
	struct bridge *b = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct job *j;
		while (b->head == NULL && !b->stopping)
			pthread_cond_wait(&b->more, &b->lock);
		if (b->head == NULL)
			break;
		j = b->head;
		b->head = j->next;
		if (b->head == NULL)
			b->tail = NULL;
		b->queued--;
		b->running++;
		pthread_mutex_unlock(&b->lock);
		j->run(j->item);
		pthread_mutex_lock(&b->lock);
		b->running--;
		j->next = b->finished;
		b->finished = j;
		if (write(b->efd, &one, sizeof(one)) < 0)
			log_warn("bridge: cannot wake the loop");
		/* After a burst, give back the threads beyond the initial ones. */
		if (b->head == NULL && b->nthreads - b->running > b->min_threads)
			break;
	}
	b->nthreads--;
	pthread_cond_broadcast(&b->exited);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* The eventfd is readable: hand every finished job back. */
static void
on_finished(void *arg, int fd, unsigned events)
{
	struct bridge *b = arg;
	struct job *list;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&b->lock);
	list = b->finished;
	b->finished = NULL;
	pthread_mutex_unlock(&b->lock);
	while (list != NULL) {
		struct job *j = list;
		list = j->next;
		b->busy--;
		b->done(j->item);
		free(j);
	}
}

/* One more (detached) thread. Lock held. */
static enum status
spawn(struct bridge *b)
{
	pthread_attr_t attr;
	pthread_t th;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &attr, pool_main, b);
	pthread_attr_destroy(&attr);
	if (err != 0)
		return STATUS_INTERNAL;
	b->nthreads++;
	return STATUS_OK;
}

enum status
bridge_new(struct loop *l, int threads, int max_threads, bridge_fn done, struct bridge **out)
{
	struct bridge *b = calloc(1, sizeof(*b));
	enum status rc = STATUS_NOMEM;

	if (b == NULL)
		return STATUS_NOMEM;
	*b = (struct bridge){
	    .loop = l, .efd = -1, .done = done, .min_threads = threads, .max_threads = max_threads};
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->more, NULL);
	pthread_cond_init(&b->exited, NULL);
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0)
		goto out;
	rc = loop_watch_add(l, b->efd, LOOP_READ, 0, on_finished, b, &b->watch);
	pthread_mutex_lock(&b->lock);
	for (int i = 0; i < threads && rc == STATUS_OK; i++)
		rc = spawn(b);
	pthread_mutex_unlock(&b->lock);
out:
	if (rc != STATUS_OK) {
		bridge_free(b);
		b = NULL;
	}
	*out = b;
	return rc;
}

enum status
bridge_submit(struct bridge *b, bridge_fn run, void *item)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return STATUS_NOMEM;
	*j = (struct job){.run = run, .item = item};
	pthread_mutex_lock(&b->lock);
	/* Every job gets a thread at once: grow up to max_threads, then refuse. */
	if (b->running + b->queued >= b->nthreads &&
	    (b->nthreads >= b->max_threads || spawn(b) != STATUS_OK)) {
		pthread_mutex_unlock(&b->lock);
		free(j);
		return STATUS_UNAVAILABLE;
	}
	if (b->tail != NULL)
		b->tail->next = j;
	else
		b->head = j;
	b->tail = j;
	b->queued++;
	pthread_cond_signal(&b->more);
	pthread_mutex_unlock(&b->lock);
	b->busy++;
	return STATUS_OK;
}

int
bridge_busy(const struct bridge *b)
{
	return b->busy;
}

void
bridge_free(struct bridge *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->more);
	while (b->nthreads > 0)
		pthread_cond_wait(&b->exited, &b->lock);
	pthread_mutex_unlock(&b->lock);
	while (b->finished != NULL) {
		struct job *j = b->finished;
		b->finished = j->next;
		free(j);
	}
	loop_watch_del(b->loop, b->watch);
	if (b->efd >= 0)
		close(b->efd);
	pthread_cond_destroy(&b->more);
	pthread_cond_destroy(&b->exited);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
