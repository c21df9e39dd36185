/*
 * bw_kafka.h — small librdkafka helpers every stage shares: client
 * configuration with librdkafka's logs routed into bw_log, the embedded
 * broker (librdkafka's in-process mock cluster), and consumer-group lag /
 * retention-loss queries used for backpressure.
 *
 * The embedded broker keeps only 100,000 messages or 5 MiB per partition
 * (older message sets are pruned silently), so producers writing into it
 * must throttle on consumer lag; bw_kafka_lag_query() reports both the lag
 * and any messages a group lost to pruning.
 *
 * Leaf module: includes librdkafka and bw_err/bw_log only (no config).
 */
#ifndef BW_KAFKA_H
#define BW_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/*
 * Header of every message ingest produces to the posts topic: 16 bytes, the
 * producing run's id then the message's sequence number within that run
 * (both unsigned 64-bit, little-endian), counting from 0 in production
 * order. A features worker that owns every partition folds the messages of
 * one run in this order, whatever order it fetches them in across
 * partitions, so its state equals a replay's of the same file.
 */
#define BW_KAFKA_SEQ_HEADER "bw-seq"
#define BW_KAFKA_SEQ_LEN 16

/* Per-partition retention of the embedded broker (librdkafka mock cluster). */
#define BW_KAFKA_MOCK_MAX_MSGS 100000
#define BW_KAFKA_MOCK_MAX_BYTES (5 * 1024 * 1024)

/*
 * New client configuration: bootstrap.servers = `bootstrap` (may be NULL to
 * leave unset), librdkafka's log lines routed into bw_log, then the n
 * pass-through pairs keys[i] = values[i] (borrowed). NULL with errstr set
 * when librdkafka rejects a property. Caller owns the result (it is consumed
 * by rd_kafka_new() on success, else rd_kafka_conf_destroy()).
 */
rd_kafka_conf_t *bw_kafka_conf_new(const char *bootstrap, size_t n, char *const *keys,
				   char *const *values, char *errstr, size_t errlen);

/*
 * Like bw_kafka_conf_new() for a stage's consumer: the stage defaults
 * (fetch.wait.max.ms = 10, see bw_kafka.c) are set first, so any configured
 * pair overrides them whatever its value. Caller owns the result as above.
 */
rd_kafka_conf_t *bw_kafka_consumer_conf_new(const char *bootstrap, size_t n, char *const *keys,
					    char *const *values, char *errstr, size_t errlen);

/* Set one property; 0 or BW_EKAFKA with librdkafka's text in errstr. */
int bw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
		      size_t errlen);

/*
 * Make `conf` a consumer of group `group` that commits by hand: no automatic
 * commits or offset stores, and a new group starts at the earliest offset.
 * The stages store an offset only after what it produced is durable.
 * 0 or BW_EKAFKA with librdkafka's text in errstr.
 */
int bw_kafka_conf_manual_consumer(rd_kafka_conf_t *conf, const char *group, char *errstr,
				  size_t errlen);

/*
 * A stage's client built from `conf`, which this call always consumes
 * (handed to rd_kafka_new() on success, destroyed on failure). A consumer
 * joins `group` committing by hand (bw_kafka_conf_manual_consumer) and gets
 * `rebalance`; a producer gets the delivery-report callback `dr`. `opaque`
 * is the callbacks' opaque. NULL with errstr set on failure.
 */
rd_kafka_t *bw_kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *group,
				void (*rebalance)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
						  rd_kafka_topic_partition_list_t *parts,
						  void *opaque),
				void (*dr)(rd_kafka_t *rk, const rd_kafka_message_t *msg,
					   void *opaque),
				void *opaque, char *errstr, size_t errlen);

/*
 * A handle on `topic` for the producer `rk`, with its partitions and leaders
 * learnt now (one metadata round trip, at most timeout_ms). Without it the
 * first message to a topic the client has not seen waits for librdkafka's
 * periodic (1 s) refresh of unknown topics. Caller destroys the handle with
 * rd_kafka_topic_destroy() before rd_kafka_destroy(); NULL with errstr set
 * when the topic cannot be opened or its metadata not fetched (producing
 * still works then, only the first delivery may take up to a second).
 */
rd_kafka_topic_t *bw_kafka_topic_warm(rd_kafka_t *rk, const char *topic, int timeout_ms,
				      char *errstr, size_t errlen);

/*
 * Partitions of `topic` as the cluster knows them: > 0, 0 when it does not
 * exist, < 0 on an error (no answer in timeout_ms). Asks for every topic: a
 * request naming the topic would make a producer's broker create it with the
 * default policy.
 */
int bw_kafka_partitions_of(rd_kafka_t *rk, const char *topic, int timeout_ms);

/*
 * True when `rk` is connected to librdkafka's mock cluster (the embedded
 * broker: its cluster id starts with "mockCluster"), which has no admin API
 * (an admin request would wait for its timeout). Waits up to 5 s for the
 * cluster id; false when none came.
 */
bool bw_kafka_is_embedded(rd_kafka_t *rk);

/*
 * What a stage consumes of `topic`: with partitions > 0 the list of
 * partitions 0..partitions-1 from offset 0, for direct assignment; else the
 * topic alone (RD_KAFKA_PARTITION_UA), for a group subscription. Caller
 * destroys it with rd_kafka_topic_partition_list_destroy().
 */
rd_kafka_topic_partition_list_t *bw_kafka_input_list(const char *topic, int32_t partitions);

/* Record in `offs` the offset after message m (the next to read from its
 * partition), adding the partition when the list lacks it. */
void bw_kafka_note_offset(rd_kafka_topic_partition_list_t *offs, const rd_kafka_message_t *m);

struct bw_kafka_mock;

/*
 * Start an embedded cluster of `brokers` brokers on loopback ephemeral
 * ports (it runs on librdkafka's own threads until freed). NULL with errstr
 * set on failure. Caller frees with bw_kafka_mock_free().
 */
struct bw_kafka_mock *bw_kafka_mock_new(int brokers, char *errstr, size_t errlen);

/* Create `topic` with `partitions` partitions (replication 1). 0 or BW_EKAFKA. */
int bw_kafka_mock_topic_create(struct bw_kafka_mock *m, const char *topic, int partitions,
			       char *errstr, size_t errlen);

/*
 * Fault injection (tests, the torture run): the next `n` produce requests to
 * the embedded cluster fail with `err` (librdkafka's request-error injection;
 * a non-retriable error such as RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
 * fails the messages' delivery).
 */
void bw_kafka_mock_fail_produce(struct bw_kafka_mock *m, size_t n, rd_kafka_resp_err_t err);

/* "127.0.0.1:port[,127.0.0.1:port...]"; borrowed for the mock's lifetime. */
const char *bw_kafka_mock_bootstraps(const struct bw_kafka_mock *m);

/* Stop the brokers and free everything. Accepts NULL. */
void bw_kafka_mock_free(struct bw_kafka_mock *m);

/* The worst consumer lag over a set of groups and one topic's partitions. */
struct bw_kafka_lag {
	int64_t max_lag;        /* largest (high watermark - committed) over groups x partitions */
	char group[128];        /* group of max_lag ("" when no group) */
	int32_t partition;      /* partition of max_lag */
	int64_t lost;           /* messages pruned before some group read them (sum) */
	char lost_group[128];   /* a group that lost messages */
	int32_t lost_partition; /* a partition where it happened */
	int32_t partitions;     /* partitions of the watched topic */
	int64_t retained_min;   /* fewest messages a pruned partition still holds (high - low
				   watermark over partitions whose low watermark moved past 0):
				   the broker's retention measured in these messages; -1 when no
				   partition was pruned yet */
};

struct bw_kafka_lagwatch;

/*
 * Watch `topic` for the comma-separated consumer `groups` (borrowed, copied).
 * Opens one idle (never subscribed) consumer handle per group to fetch its
 * committed offsets. Caller frees with bw_kafka_lagwatch_free().
 */
struct bw_kafka_lagwatch *bw_kafka_lagwatch_new(const char *bootstrap, size_t n,
						char *const *keys, char *const *values,
						const char *topic, const char *groups,
						char *errstr, size_t errlen);

/*
 * Query lag and pruning loss now (a few broker round trips). A group with no
 * committed offset yet counts as lagging from the low watermark. Returns 0,
 * or BW_EKAFKA with errstr set when the brokers could not be asked.
 */
int bw_kafka_lag_query(struct bw_kafka_lagwatch *w, int timeout_ms, struct bw_kafka_lag *out,
		       char *errstr, size_t errlen);

void bw_kafka_lagwatch_free(struct bw_kafka_lagwatch *w);

#endif
