/*
 * stage_drift.h — the drift monitor of a running process (docs/DRIFT.md):
 * the classifier's monitor (clf.h, clf_drift_*) fed by the scoring stage or
 * replay, with its closed windows logged (a warn line per alarm), exported
 * as botwatch_drift_* metrics and published for the API's GET /v1/drift.
 *
 * One monitor per scoring thread; the published document is process-wide
 * (the last monitor to publish wins) and read under a lock, so the API's
 * threads may call stage_drift_document() at any time.
 */
#ifndef BW_STAGE_DRIFT_H
#define BW_STAGE_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct bw_config;
struct clf_model;
struct clf_score;
struct stage_drift;

/* A monitor with cfg's drift.* bounds over `mdl` (both borrowed; the model
 * must outlive it), named `who` ("score", "replay") in its log lines. Logs
 * once when the model has no baselines. NULL on allocation failure. Caller
 * frees with stage_drift_free() (accepts NULL). */
struct stage_drift *stage_drift_new(const struct bw_config *cfg, const struct clf_model *mdl,
				    const char *who);
void stage_drift_free(struct stage_drift *sd);

/* One score decision (features x[0..n), availability, score, event time). */
void stage_drift_observe(struct stage_drift *sd, const double *x, size_t n, uint32_t avail,
			 const struct clf_score *sc, int64_t event_ms);

/* Judge the windows the watermark has closed (every open one when `all`):
 * log, export and publish them. Returns the number of alarms raised. */
size_t stage_drift_advance(struct stage_drift *sd, int64_t watermark_ms, bool all);

/* The published document (new reference): {"monitor": "running"|"inactive",
 * "baselines", "model", "bounds", "alarm", "windows" (newest first), "open", "expectations" (ingest_expect_json())}.
 * Never NULL but on allocation failure. */
json_t *stage_drift_document(void);

#endif
