/*
 * kafka_sink.h — where `botwatch ingest` puts what it read: normalised posts
 * to the `posts` topic (key = account id, value = postcodec.h encoding) and
 * dead-lettered input to `posts.dlq` (value = the DLQ record JSON).
 *
 * The producer is idempotent (enable.idempotence=true, so acks=all), polls
 * for delivery reports on every call, retries on a full local queue and
 * applies backpressure on consumer-group lag: while the slowest watched
 * group (ingest.lag_groups) lags more than ingest.max_consumer_lag messages
 * on any partition, ingest_sink_post() waits. On the embedded broker the
 * limit is also capped below its 5 MiB per-partition retention, and a group
 * found to have lost messages to pruning is a hard error (BW_EKAFKA).
 *
 * With no kafka.bootstrap.servers configured the sink starts the embedded
 * broker in-process (its contents end with the process).
 *
 * Ownership: the sink owns its handles; records passed in are borrowed for
 * the call. Single-threaded: use one sink from one thread.
 */
#ifndef BW_INGEST_KAFKA_SINK_H
#define BW_INGEST_KAFKA_SINK_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cfg.h"
#include "post.h"

struct ingest_sink_stats {
	uint64_t produced;      /* posts handed to librdkafka */
	uint64_t post_bytes;    /* encoded bytes of those posts */
	uint64_t dlq_produced;  /* DLQ records handed to librdkafka */
	uint64_t delivered;     /* delivery reports without error (both topics) */
	uint64_t failed;        /* delivery reports with an error */
	uint64_t produce_errors;/* produce calls that failed outright */
	uint64_t queue_full;    /* times the local queue was full (then retried) */
	uint64_t lag_pauses;    /* times production paused on consumer lag */
	int64_t last_lag;       /* worst lag at the last query */
	int64_t queue_depth;    /* rd_kafka_outq_len() at the last poll */
};

struct ingest_sink;

/*
 * New sink from `cfg` (borrowed for the sink's lifetime). `stop` (borrowed,
 * may be NULL) is checked while waiting on lag so a signal ends the wait.
 * NULL with errstr set on failure. Free with ingest_sink_free().
 */
struct ingest_sink *ingest_sink_new(const struct bw_config *cfg, atomic_int *stop,
				    char *errstr, size_t errlen);

/* Bootstrap address in use (the embedded broker's when started here). Borrowed. */
const char *ingest_sink_bootstrap(const struct ingest_sink *s);

/*
 * Produce one post. Blocks while the local queue is full or consumers lag.
 * Returns 0, BW_ESTOP (stop flag set while waiting on lag; the post was not
 * produced), or BW_EKAFKA / BW_ENOMEM with errstr set (including messages
 * lost to pruning on the embedded broker).
 */
int ingest_sink_post(struct ingest_sink *s, const struct bw_post *post, char *errstr,
		     size_t errlen);

/* Produce one DLQ record (JSON text, copied). `key` may be NULL. */
int ingest_sink_dlq(struct ingest_sink *s, const char *key, const char *json, size_t len,
		    char *errstr, size_t errlen);

/*
 * Periodic work while input is idle (keep-alives): serve delivery reports
 * and, at most every 50 ms, check for messages pruned before a watched group
 * read them. 0 or BW_EKAFKA with errstr set.
 */
int ingest_sink_tick(struct ingest_sink *s, char *errstr, size_t errlen);

/* Serve delivery reports for up to timeout_ms. */
void ingest_sink_poll(struct ingest_sink *s, int timeout_ms);

/*
 * Flush for up to timeout_ms. *undelivered = messages still queued plus
 * messages whose delivery failed. Returns 0 when *undelivered == 0 and no
 * watched group lost messages to pruning, else BW_EKAFKA with errstr set.
 */
int ingest_sink_flush(struct ingest_sink *s, int timeout_ms, uint64_t *undelivered,
		      char *errstr, size_t errlen);

const struct ingest_sink_stats *ingest_sink_stats(const struct ingest_sink *s);

/* Destroy the producer (without flushing: call ingest_sink_flush first). Accepts NULL. */
void ingest_sink_free(struct ingest_sink *s);

#endif
