/*
 * stage_score.h — the Kafka scoring stage (`botwatch score`, docs/PIPELINE.md):
 * consume feature updates (features/feat_stage.h's message on the
 * `features` topic) in a consumer group, reschedule rescoring per account
 * (debounce in event time, batches), write score records (clf_score_to_json(),
 * the record replay writes) with their feature vectors to the LMDB store and
 * to the compacted topic `scores` (key = account id), and commit the
 * consumed offsets only after the store transaction committed.
 *
 * Command-level code like clf_cmd.h: unlike the clf_ core it talks to Kafka
 * and logs through bw_log. One stage runs on one thread; the store and the
 * model it is given may be shared with other threads (the API) as store.h
 * and clf.h allow.
 */
#ifndef BW_STAGE_SCORE_H
#define BW_STAGE_SCORE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bw_config;
struct bw_store;
struct clf_model;

struct clf_stage_opts {
	struct bw_store *store;        /* borrowed writable store, or NULL: open cfg->store_path */
	const struct clf_model *model; /* borrowed model, or NULL: load cfg->score_model */
	int64_t idle_exit_ms;          /* stop after this long without a message once assigned
					  and nothing is pending (0 = never) */
	int32_t assign_partitions;     /* > 0: consume partitions 0..n-1 of features.topic by
					  direct assignment instead of joining the group (no
					  rebalances; offsets still committed under score.group_id),
					  from offset 0; see feat_stage_opts. 0 = subscribe */
	atomic_int *reload;            /* borrowed flag or NULL: when set (SIGHUP), the stage
					  loads cfg->score_model again between batches, swaps
					  it in if it loads (else keeps the old one), logs
					  both ids and clears the flag */
	atomic_int *upstream_done;     /* borrowed flag or NULL: once set (by a caller
					  that knows no further update will come, e.g. `botwatch
					  replay --via-kafka` after the features stage folded every
					  post), every pending account is scored as soon as the
					  consumer has nothing waiting, instead of after
					  score.idle_flush_ms */
};

struct clf_stage_stats {
	uint64_t messages;   /* feature updates consumed */
	uint64_t scored;     /* score records written (store and topic) */
	uint64_t batches;    /* store transactions committed */
	uint64_t debounced;  /* updates replaced by a later update before being scored */
	uint64_t errors;     /* updates not scored: undecodable, other schema, no evidence */
	uint64_t commits;    /* offset commits */
	uint64_t delivery_failed; /* score records whose delivery failed (fatal) */
	double staleness_max_s; /* longest wall-clock time from a post reaching Kafka to its
				   account's stored score (seconds; 0 when unmeasured) */
};

/*
 * Run the stage with `cfg` (borrowed) until *stop (borrowed; set by a signal
 * handler or another thread) or opts->idle_exit_ms. Pending accounts are
 * scored and committed before it returns. Returns 0, or BW_EKAFKA /
 * BW_ESTORE / BW_ESCHEMA / BW_ENOMEM with errstr set; *stats (may be NULL)
 * receives the counters. The counters are also exported as metrics
 * botwatch_score_*_total (common/bw_metrics.h).
 */
int clf_stage_run(const struct bw_config *cfg, const struct clf_stage_opts *opts,
		  atomic_int *stop, struct clf_stage_stats *stats, char *errstr,
		  size_t errlen);

#endif
