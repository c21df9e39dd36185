/*
 * stage_changelog.h — a compacted changelog topic behind a stage's local
 * state (docs/STATE.md "State handover"), as Kafka Streams keeps its stores:
 * the stage writes every changed state to the changelog, keyed by its key,
 * into the partition of the input topic the key belongs to (the changelog
 * has the input's partition count); a worker that is assigned an input
 * partition whose state it does not hold current reads that changelog
 * partition from the beginning to its end and rebuilds the state from it
 * before it processes the partition.
 *
 * Needs a cluster with an admin API (a real Kafka): the embedded broker has
 * none, and stage_changelog_open() then returns BW_EKAFKA; the stage keeps its
 * state local as before.
 *
 * One changelog is used by one thread (the stage's).
 */
#ifndef BW_STAGE_CHANGELOG_H
#define BW_STAGE_CHANGELOG_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct bw_config;
struct stage_changelog;

/*
 * Make sure `topic` exists with cleanup.policy=compact and as many partitions
 * as `input` (created through the admin API of `admin`, a client of the
 * cluster, borrowed), and open a reader on it (a consumer without a group,
 * reading committed records only, from cfg's kafka.* settings). An existing
 * topic with another partition count or cleanup policy is refused. NULL with
 * errstr set (BW_EKAFKA) when the cluster has no admin API or refuses; the
 * caller frees with stage_changelog_close().
 */
struct stage_changelog *stage_changelog_open(const struct bw_config *cfg, rd_kafka_t *admin,
					     const char *topic, const char *input,
					     char *errstr, size_t errlen);
void stage_changelog_close(struct stage_changelog *cl); /* NULL ok */

/* The changelog's topic name (borrowed from the changelog). */
const char *stage_changelog_topic(const struct stage_changelog *cl);

/* One record read back: key and value borrowed for the call. Non-zero stops
 * the read and is returned by stage_changelog_read(). */
typedef int (*stage_changelog_cb)(const void *key, size_t key_len, const void *value,
				  size_t len, void *opaque);

/*
 * Read partition `partition` of the changelog from its first record to its
 * end as of now (the high watermark), calling cb per record in order (later
 * records of a key supersede earlier ones). *n receives the records read.
 * 0, cb's non-zero result, or BW_EKAFKA with errstr set (unreachable leader,
 * timeout).
 */
int stage_changelog_read(struct stage_changelog *cl, int32_t partition, stage_changelog_cb cb,
			 void *opaque, uint64_t *n, char *errstr, size_t errlen);

/*
 * Tail the whole changelog instead (a topic every worker reads in full, such
 * as the population log): assign every one of its `n` partitions, each from
 * its offset in `from` (missing or negative: the beginning). Not to be mixed
 * with stage_changelog_read() on the same changelog. 0 or BW_EKAFKA.
 */
int stage_changelog_follow(struct stage_changelog *cl, int32_t n,
			   const rd_kafka_topic_partition_list_t *from, char *errstr,
			   size_t errlen);

/*
 * The records a followed changelog has ready now (no waiting), at most
 * `max`, through cb in order per partition; each record's next offset is
 * noted in `pos` (partitions added as needed). *n receives the records
 * taken. 0 or cb's non-zero result.
 */
int stage_changelog_poll(struct stage_changelog *cl, size_t max, stage_changelog_cb cb,
			 void *opaque, rd_kafka_topic_partition_list_t *pos, size_t *n);

#endif
