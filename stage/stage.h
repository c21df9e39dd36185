/*
 * stage.h — the stage runtime: the Kafka skeleton every consuming stage of
 * the pipeline (features, score) runs on, so that each keeps only its own
 * logic as callbacks (struct stage_ops).
 *
 * What the runtime does, once for every stage:
 *   - builds the consumer and the producer from the configuration (kafka.*
 *     pass-through, librdkafka logs routed into bw_log, lz4 by default);
 *   - subscribes (cooperative-sticky rebalancing: incremental assign and
 *     unassign) or assigns partitions directly, asking the stage for each
 *     partition's start offset;
 *   - produces with retry on a full queue, tagging every message with the
 *     batch it belongs to;
 *   - tracks delivery per batch: a batch's input offsets are committed only
 *     when every message it produced, and every earlier batch's, was
 *     delivered; any failed delivery stops the stage before anything later
 *     is committed (stage_commit() is the one commit step);
 *   - pauses consuming while a downstream consumer group lags too far
 *     (backpressure on the embedded broker's bounded retention);
 *   - counts (botwatch_stage_* metrics, labelled by stage) and shuts down in
 *     order: cut the open batch, wait for its delivery, commit, leave.
 *
 * A batch: every message consumed and every message produced since the last
 * cut. The stage decides when to cut (ops->due); at a cut it produces its
 * outputs (ops->cut) and the runtime records the consumed offsets, lowered by
 * ops->hold for input the stage still holds back, as the batch's commit
 * point.
 *
 * Threading: one stage runs on one thread; callbacks are called on it (the
 * delivery reports too: they are served by rd_kafka_poll in the loop).
 * Logs through bw_log: this is application code, above the libraries.
 */
#ifndef BW_STAGE_H
#define BW_STAGE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct bw_config;
struct stage;

/* A stage's own logic. Every callback but `message` may be NULL. Callbacks
 * return 0 or a BW_E* code (then the stage stops with stage_fail's message,
 * or a generic one). */
struct stage_ops {
	/* After the clients are built, before consuming (e.g. create topics
	 * through stage_producer()). */
	int (*start)(void *ctx, struct stage *st);
	/* Newly assigned partitions: each element's offset holds the group's
	 * committed offset (RD_KAFKA_OFFSET_INVALID when none); set the offset
	 * to start from (the runtime starts a partition without one from the
	 * earliest message). */
	int (*assign)(void *ctx, rd_kafka_topic_partition_list_t *parts);
	/* One consumed message (borrowed for the call). */
	int (*message)(void *ctx, struct stage *st, const rd_kafka_message_t *m);
	/* Housekeeping once per loop turn (monotonic ms). */
	int (*tick)(void *ctx, struct stage *st, int64_t now_ms);
	/* True when the open batch should be cut now. */
	bool (*due)(void *ctx, struct stage *st, int64_t now_ms);
	/* Cut: produce the batch's outputs with stage_produce(); `all` asks for
	 * everything still held back (revocation, shutdown, upstream done). */
	int (*cut)(void *ctx, struct stage *st, bool all);
	/* Lower the commit point `offs` (next offsets per partition) for input
	 * the stage still holds back. */
	void (*hold)(void *ctx, rd_kafka_topic_partition_list_t *offs);
	/* Called right before offsets are committed: make the state behind them
	 * durable (e.g. sync a store). */
	int (*durable)(void *ctx);
	/* After a revocation was cut, delivered and committed. */
	void (*revoked)(void *ctx, const rd_kafka_topic_partition_list_t *parts);
	/* True while the stage holds input it has not cut yet (idle exit waits). */
	bool (*busy)(void *ctx);
};

/* What one stage consumes, produces and watches. Strings are borrowed. */
struct stage_spec {
	const char *name;              /* "features", "score": log prefix, metric label */
	const struct bw_config *cfg;   /* kafka.bootstrap.servers and kafka.* pairs */
	const char *group;             /* consumer group (offsets are committed under it) */
	const char *input;             /* topic consumed */
	int32_t assign_partitions;     /* > 0: partitions 0..n-1 of input assigned directly (no
					  group membership, offsets still committed), else subscribe */
	const char *outputs[2];        /* topics produced to (NULL-padded): leaders learnt at start */
	bool lz4;                      /* compress with lz4 unless kafka.compression.* is set */
	const char *instance;          /* "" or NULL: plain commits; else (subscribed only) output
					  and offsets are committed in Kafka transactions with
					  transactional.id <group>.<instance> */
	const char *lag_groups;        /* downstream groups to throttle on ("" or NULL: none) */
	const char *lag_topic;         /* the topic they consume */
	int64_t max_lag;               /* pause while one lags more than this per partition (0: no
					  pausing; loss to pruning is still detected) */
	const char *lag_unit;          /* what one message of lag_topic is, for messages ("update") */
	int64_t commit_ms;             /* least time between two offset commits (0: every cut) */
	int64_t idle_exit_ms;          /* stop after this long without a message once assigned and
					  not busy (0 = never) */
	uint64_t max_messages;         /* stop after this many messages (0 = no limit) */
	uint64_t crash_after;          /* fault injection: stop with BW_ESTOP right after this many
					  messages, abandoning the open batch (0 = never) */
	atomic_int *stop;   /* stop flag (borrowed) */
	const struct stage_ops *ops;   /* the stage's logic */
	void *ctx;                     /* its opaque */
};

/* Counters of one run of a stage. */
struct stage_stats {
	uint64_t messages;      /* messages consumed */
	uint64_t produced;      /* messages produced */
	uint64_t delivered;     /* of them, delivered */
	uint64_t failed;        /* of them, delivery failed */
	uint64_t batches;       /* batches cut */
	uint64_t commits;       /* offset commits */
	uint64_t paused_ms;     /* time spent paused on downstream lag */
};

/*
 * Run the stage until *spec->stop, a limit of spec, or a fatal error.
 * Returns 0, or a BW_E* code with errstr set (the first failure: a callback's
 * stage_fail message, a failed delivery, a client error). *stats (may be
 * NULL) receives the counters.
 */
int stage_run(const struct stage_spec *spec, struct stage_stats *stats, char *errstr,
	      size_t errlen);

/*
 * Produce one message to `topic` as part of the open batch (key and value
 * copied; hdr_name may be NULL, else the header hdr_name = hdr_val/hdr_len is
 * attached). ts_ms > 0 sets the message timestamp. Retries while the queue
 * is full. 0 or BW_EKAFKA (the stage then stops).
 */
int stage_produce(struct stage *st, const char *topic, const void *key, size_t key_len,
		  const void *value, size_t len, const char *hdr_name, const void *hdr_val,
		  size_t hdr_len, int64_t ts_ms);

/* stage_produce() to one partition of `topic` (RD_KAFKA_PARTITION_UA: the
 * partitioner's choice, as stage_produce()). */
int stage_produce_to(struct stage *st, const char *topic, int32_t partition, const void *key,
		     size_t key_len, const void *value, size_t len, const char *hdr_name,
		     const void *hdr_val, size_t hdr_len, int64_t ts_ms);

/* Record the first fatal error (later ones are dropped); returns err. */
int stage_fail(struct stage *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The stage's producer (borrowed: for admin requests in ops->start). */
rd_kafka_t *stage_producer(struct stage *st);

/* Monotonic ms of the last consumed message (or assignment). */
int64_t stage_last_message_ms(const struct stage *st);

/* True when the upstream of a message was pausing it: nothing more is waiting
 * in the consumer right now (the last poll returned no message). */
bool stage_input_idle(const struct stage *st);

/* The stage's first fatal error (0 while it runs well). */
int stage_error(const struct stage *st);

/* How many messages one cut may produce to the watched downstream topic so
 * that it cannot overrun the lag limit by itself: limit x partitions / 2
 * (0 = no bound: no watch, or no limit learnt yet). */
int64_t stage_output_budget(const struct stage *st);

/* The next offset to consume of every input partition this stage has
 * consumed from (borrowed; valid until the next message or rebalance). */
const rd_kafka_topic_partition_list_t *stage_positions(const struct stage *st);

/* Partitions of the input topic (learnt at the first assignment; 0 before). */
int32_t stage_input_partitions(const struct stage *st);

/* True when partition p of the input topic is assigned to this stage. */
bool stage_owns_partition(const struct stage *st, int32_t p);

/* Cap the downstream lag limit at `cap` messages per partition (0 = none):
 * for a stage that knows how many of its messages the broker keeps (the
 * embedded broker's 5 MiB per partition over the messages' size) before the
 * broker has pruned anything to show it. */
void stage_cap_lag(struct stage *st, int64_t cap);

/* True when the stage commits in Kafka transactions (spec->instance set). */
bool stage_transactional(const struct stage *st);

/* Batches whose output is still in delivery. */
size_t stage_inflight(const struct stage *st);

#endif
