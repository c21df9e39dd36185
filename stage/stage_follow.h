/*
 * stage_follow.h — a lookup store kept from the compacted `scores` topic
 * (`botwatch serve --follow`, docs/PIPELINE.md "API replicas").
 *
 * Every scoring worker writes its accounts' records to its own store and to
 * score.topic (key = account id, value = the record). A follower reads every
 * partition of that topic from its start and writes each record into a
 * store of its own, so any number of API replicas, on any host, serve the
 * records of all scoring workers. The follower's position in each partition
 * is kept in its store, in the transaction that holds the records it read,
 * so a restart resumes exactly where the store stands (a store deleted or
 * new starts from the beginning; the topic is compacted, so that reads each
 * account's latest record once).
 *
 * What the topic does not carry: feature vectors. Routes that need them
 * (explanations, what-ifs, audits) answer from a scoring worker's store.
 *
 * Application code above the libraries: talks to Kafka and logs through bw_log.
 */
#ifndef BW_STAGE_FOLLOW_H
#define BW_STAGE_FOLLOW_H

#include <stdatomic.h>
#include <stdint.h>

struct bw_config;
struct bw_store;

struct follow_stats {
	uint64_t records;    /* records written */
	uint64_t tombstones; /* accounts removed (a null value) */
	uint64_t bad;        /* messages skipped: not a record of the account in their key */
	uint64_t batches;    /* store transactions committed */
};

/*
 * Follow cfg->score_topic into `store` (borrowed, writable) until *stop (or
 * idle_exit_ms > 0 without a message once assigned). Waits for the topic to
 * exist. Returns 0, or BW_EKAFKA / BW_ESTORE / BW_ENOMEM with errstr set;
 * *stats (may be NULL) receives the counters, also exported as
 * botwatch_follow_*_total.
 */
int follow_run(const struct bw_config *cfg, struct bw_store *store, int64_t idle_exit_ms,
	       atomic_int *stop, struct follow_stats *stats, char *errstr, size_t errlen);

#endif
