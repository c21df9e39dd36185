/*
 * clf_sim.h — a simulator of human and bot timelines with ground truth.
 *
 * Writes Twitter v1.1-shaped statuses (embedded user objects, entities,
 * retweeted_status, reply fields) as gzip NDJSON in event-time order, so the
 * normal decoder reads them, plus a labels CSV `user_id,label,class`. Every
 * behaviour model and its published basis is described in docs/SIMULATOR.md.
 * Deterministic for a seed (own generator, no rand(), no wall clock).
 *
 * Kept beside the classifier because it exists to train and test it; it has
 * its own prefix (clf_sim_) and header so the classifier's API stays small.
 * Never prints or exits.
 */
#ifndef BW_CLF_SIM_H
#define BW_CLF_SIM_H

#include <stddef.h>
#include <stdint.h>

struct clf_sim_opts {
	size_t accounts;      /* labelled accounts to simulate (>= 1) */
	double bot_share;     /* share of bots, 0..1 */
	uint64_t seed;        /* generator seed */
	int64_t end_ms;       /* end of the simulated window (event time) */
	int max_posts;        /* posts kept per account (a "last N posts" timeline) */
};

/* Defaults: 1000 accounts, 0.5 bots, seed 1, end 2021-04-01T00:00:00Z, 200 posts. */
void clf_sim_opts_init(struct clf_sim_opts *o);

/* Summary of a run. */
struct clf_sim_stats {
	size_t humans;        /* labelled humans */
	size_t bots;          /* labelled bots */
	size_t posts;         /* statuses written */
	size_t by_class[7];   /* accounts per class, in clf_sim_class_name() order */
};

/* Class names: 0 "human", then the bot kinds. */
const char *clf_sim_class_name(int cls);

/*
 * Simulate and write `out_path` (gzip NDJSON) and `labels_path` (CSV).
 * Returns 0 or a BW_E* code with errstr set.
 */
int clf_sim_run(const struct clf_sim_opts *o, const char *out_path, const char *labels_path,
		struct clf_sim_stats *stats, char *errstr, size_t errlen);

#endif
