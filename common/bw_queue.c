/*
 * bw_queue.c — bounded blocking FIFO of pointers (see bw_queue.h): a ring of
 * `cap` slots under one mutex, `not_full` signalled on pop, `not_empty` on
 * push, both broadcast on close and cancel.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bw_err.h"
#include "bw_queue.h"

struct bw_queue {
	pthread_mutex_t mu;        /* guards every field below */
	pthread_cond_t not_full;   /* a slot was freed, or the queue stopped */
	pthread_cond_t not_empty;  /* an item arrived, or the queue stopped */
	void **ring;               /* cap slots */
	size_t cap;                /* slots */
	size_t head;               /* index of the oldest item */
	size_t n;                  /* items queued */
	bool closed;               /* the producer pushes no more */
	bool cancelled;            /* either side stopped: everything fails */
};

struct bw_queue *bw_queue_new(size_t cap)
{
	struct bw_queue *q = calloc(1, sizeof(*q));

	if (!q || !cap || !(q->ring = calloc(cap, sizeof(*q->ring))))
		goto out_free;
	q->cap = cap;
	if (pthread_mutex_init(&q->mu, NULL))
		goto out_free;
	if (pthread_cond_init(&q->not_full, NULL))
		goto out_mutex;
	if (pthread_cond_init(&q->not_empty, NULL))
		goto out_cond;
	return q;
out_cond:
	pthread_cond_destroy(&q->not_full);
out_mutex:
	pthread_mutex_destroy(&q->mu);
out_free:
	if (q)
		free(q->ring);
	free(q);
	return NULL;
}

void bw_queue_free(struct bw_queue *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

int bw_queue_push(struct bw_queue *q, void *item)
{
	int rc = 0;

	pthread_mutex_lock(&q->mu);
	while (q->n == q->cap && !q->closed && !q->cancelled)
		pthread_cond_wait(&q->not_full, &q->mu);
	if (q->closed || q->cancelled) {
		rc = BW_ESTOP;
	} else {
		q->ring[(q->head + q->n) % q->cap] = item;
		q->n++;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void *bw_queue_pop(struct bw_queue *q)
{
	void *item = NULL;

	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && !q->closed && !q->cancelled)
		pthread_cond_wait(&q->not_empty, &q->mu);
	if (q->n && !q->cancelled) {
		item = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return item;
}

static void stop(struct bw_queue *q, bool cancel)
{
	pthread_mutex_lock(&q->mu);
	if (cancel)
		q->cancelled = true;
	else
		q->closed = true;
	pthread_cond_broadcast(&q->not_full);
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

void bw_queue_close(struct bw_queue *q)
{
	stop(q, false);
}

void bw_queue_cancel(struct bw_queue *q)
{
	stop(q, true);
}

size_t bw_queue_len(struct bw_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n;
	pthread_mutex_unlock(&q->mu);
	return n;
}
