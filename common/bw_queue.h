/*
 * bw_queue.h — a bounded blocking FIFO of pointers between one producer
 * thread and one consumer thread (mutex + two condition variables).
 *
 * The producer pushes items and closes the queue when it has no more; the
 * consumer pops until it gets NULL (closed and empty). Either side can
 * cancel: pushes then fail and pops return NULL, so a consumer that stops
 * early unblocks a producer waiting on a full queue, and the other way round.
 *
 * Ownership: the queue holds the pointers, never what they point to; items
 * still queued when it is freed are the caller's to release (pop them first).
 * Every function is thread-safe except bw_queue_free(), which must run after
 * both sides are done.
 */
#ifndef BW_QUEUE_H
#define BW_QUEUE_H

#include <stddef.h>

struct bw_queue;

/* A queue holding at most `cap` (>= 1) items; NULL on allocation failure.
 * Free with bw_queue_free(). */
struct bw_queue *bw_queue_new(size_t cap);
/* Free the queue (NULL ok); items still in it are not touched. */
void bw_queue_free(struct bw_queue *q);

/* Append `item` (not NULL), waiting while the queue is full. 0, or BW_ESTOP
 * when the queue was cancelled or closed (the item was not queued). */
int bw_queue_push(struct bw_queue *q, void *item);

/* The oldest item, waiting while the queue is empty and open; NULL once it is
 * closed and empty, or cancelled. */
void *bw_queue_pop(struct bw_queue *q);

/* No more items will be pushed: pops drain what is queued, then return NULL. */
void bw_queue_close(struct bw_queue *q);

/* Stop both sides: pending and later pushes fail, pops return NULL. */
void bw_queue_cancel(struct bw_queue *q);

/* Items queued now (a snapshot). */
size_t bw_queue_len(struct bw_queue *q);

#endif
