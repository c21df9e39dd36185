/*
 * pipeline.h — the whole job in one process (`botwatch run`, `botwatch
 * replay --via-kafka`; docs/PIPELINE.md): the embedded broker when no
 * kafka.bootstrap.servers is configured, then ingest, the features stage,
 * the scoring stage and (optionally) the lookup API, each on its own thread,
 * sharing one LMDB score store.
 *
 * Shutdown is ordered: stop ingest (its producer is flushed) → let the
 * features and scoring stages drain what is already in Kafka (bounded) →
 * stop the features stage (it commits) → stop the scoring stage (it scores
 * what is held back and commits) → stop the API → stop the broker.
 *
 * Ownership: `cfg` is borrowed and modified only before any thread starts
 * (the embedded broker's address; topics/groups of a replay). Logs through
 * bw_log: this is command-level code.
 */
#ifndef BW_PIPELINE_H
#define BW_PIPELINE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bw_config;

struct pipeline_opts {
	bool serve_api;          /* run the lookup API on api.listen */
	bool exit_when_idle;     /* stop once every source is consumed, folded and scored */
	char **sources;          /* inputs ingested one after the other (borrowed); NULL =
				    cfg->ingest_source */
	size_t n_sources;        /* their number */
	int64_t drain_timeout_ms;/* longest wait for the stages to catch up at shutdown */
};

/* Counters of one run. */
struct pipeline_stats {
	uint64_t posts;          /* posts the features stage folded (own posts) */
	uint64_t updates;        /* feature updates it produced */
	uint64_t scored;         /* score records the scoring stage wrote */
	uint64_t score_errors;   /* feature updates it could not score */
};

/*
 * Run until *stop (borrowed; set from a signal by the caller's own handling
 * or by SIGINT/SIGTERM, which this function waits for itself) or, with
 * exit_when_idle, until drained. Returns 0, or a BW_E* code with errstr set
 * (a stage failed, the broker or the store could not start, input was not
 * delivered). *stats (may be NULL) receives the counters.
 */
int pipeline_run(struct bw_config *cfg, const struct pipeline_opts *opts,
		 atomic_int *stop, struct pipeline_stats *stats, char *errstr,
		 size_t errlen);

/* `botwatch replay --via-kafka`: what `botwatch replay` would write, through the pipeline. */
struct pipeline_replay_args {
	char **files;            /* input files (borrowed) */
	size_t n_files;          /* their number */
	const char *out;         /* --out FILE ("-" = stdout) or NULL */
	const char *store;       /* --store DIR or NULL (then a temporary store) */
	const char *model;       /* --model FILE or NULL (score.model) */
};

/*
 * Replay `files` through Kafka (the embedded broker unless configured; with
 * a configured cluster fresh per-run topic and group names are used), run
 * the features and scoring stages until drained, and write every account's
 * score record from the store to args->out in account-id order. Returns an
 * exit status (0 ok, 1 failure) after printing a one-line error.
 */
int pipeline_replay(struct bw_config *cfg, const struct pipeline_replay_args *args);

#endif
