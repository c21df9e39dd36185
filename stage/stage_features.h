/*
 * stage_features.h — the Kafka features stage (`botwatch features`; the
 * features thread of `botwatch run`): callbacks on the stage runtime
 * (stage.h) that fold posts into per-account state (features/feat.h), keep it
 * in the LMDB state store and emit feature updates (features/feat_stage.h).
 * docs/STATE.md ("The Kafka stage") describes the protocol. Logs through
 * bw_log: application code.
 */
#ifndef BW_STAGE_FEATURES_H
#define BW_STAGE_FEATURES_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct bw_config;
struct bw_store;

struct feat_stage_opts {
	uint64_t max_messages;  /* stop after this many consumed messages (0 = no limit) */
	int64_t idle_exit_ms;   /* stop after this long without a message once assigned (0 = never) */
	uint64_t crash_after;   /* fault injection for tests: stop with BW_ESTOP right after
				   folding this many messages, abandoning the open batch
				   uncommitted (0 = never) */
	atomic_bool *idle;      /* borrowed flag or NULL: kept true while the stage holds no
				   folded change whose update is not sent yet, nor any posts
				   held for their turn (read by `botwatch run`'s drain: since
				   checkpoints also store unsent accounts, the group's committed
				   offset alone no longer says "published") */
	bool embedded;          /* the broker is this process's embedded one (librdkafka's mock
				   cluster, 5 MiB per partition): the downstream lag limit
				   follows the updates' size */
	int32_t assign_partitions; /* > 0: consume partitions 0..n-1 of ingest.topic by direct
				      assignment instead of joining the group (no rebalances;
				      offsets are still committed under features.group_id), each
				      from its offset in LMDB, else from offset 0. For a process
				      that owns its new embedded broker (topics begin at 0; the
				      broker's first group join alone takes ~3 s and a logical
				      start offset another ~0.5 s). 0 = subscribe as a member */
	struct bw_store *store; /* borrowed score store the conversation tallies go to
				   (docs/REPORT.md), or NULL: open store.path when
				   report.max_keys > 0 */
};

struct feat_stage_stats {
	uint64_t messages;      /* messages consumed */
	uint64_t posts;         /* posts folded into their author's state */
	uint64_t observations;  /* observation messages folded into a named account */
	uint64_t forwarded;     /* observation messages produced for named accounts */
	uint64_t bad;           /* undecodable messages (logged with topic/partition/offset) */
	uint64_t late;          /* posts/observations ignored as older than a full window */
	uint64_t commits;       /* LMDB transactions committed */
	uint64_t updates;       /* feature updates produced */
	uint64_t delivery_failed; /* produced messages whose delivery failed (fatal) */
	uint64_t accounts;      /* account states in the store at the end */
};

/*
 * The two readings of untrusted Kafka metadata on the posts topic (fuzzed by
 * fuzz/fuzz_kafka.c). feat_stage_observation(): whether a message's headers
 * (NULL: none) mark it as an observation forwarded by another worker (header
 * "bw-observe"). feat_stage_observed_id(): the account such a message's key
 * names, copied NUL-terminated into id[0..cap) when the key is one whole
 * account id by the decoder's rule (bw_account_id_valid(): no NUL, at most
 * BW_ACCOUNT_ID_MAX bytes); false for any other key, even empty or NULL.
 */
bool feat_stage_observation(const rd_kafka_headers_t *headers);
bool feat_stage_observed_id(const void *key, size_t key_len, char *id, size_t cap);

/*
 * Run the stage with `cfg` (borrowed) until *stop (borrowed, set by a signal
 * handler), or an option's limit. Returns 0, or BW_EKAFKA / BW_ESTORE /
 * BW_ENOMEM with errstr set; *stats (may be NULL) receives the counters.
 */
int feat_stage_run(const struct bw_config *cfg, const struct feat_stage_opts *opts,
		   atomic_int *stop, struct feat_stage_stats *stats, char *errstr,
		   size_t errlen);

#endif
