/*
 * stage_drift.c — the process's drift monitor (stage_drift.h, docs/DRIFT.md).
 */
#include "stage_drift.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bw_log.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "ingest_expect.h"

#define SD_KEEP 8               /* closed windows kept in the published document */
#define SD_PUBLISH_MS 1000      /* least wall-clock time between two publications of open windows */

struct stage_drift {
	struct clf_drift *mon;       /* the monitor (owned) */
	const struct clf_model *mdl; /* borrowed */
	const char *who;             /* "score", "replay" (static string) */
	json_t *recent;              /* closed window reports, newest first (at most SD_KEEP) */
	json_t *batch;               /* scratch: windows closed by the current call (emptied after) */
	uint64_t closed, alarms;     /* windows judged or not / alarms raised */
	bool alarm;                  /* the last judged window alarmed */
	int64_t published_ms;        /* monotonic ms of the last publication */
	struct bw_metric *m_alarm, *m_windows, *m_score_psi, *m_bot_rate, *m_class_psi,
		*m_over, *m_shifted; /* registry-owned */
};

/* The published document's text (malloc'd) under its lock. */
static pthread_mutex_t pub_mu = PTHREAD_MUTEX_INITIALIZER;
static char *pub_text;

static void publish(struct stage_drift *sd)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:b, s:o, s:b, s:I, s:I, s:O, s:o}", "monitor",
				"running", "source", sd->who, "model", clf_model_id(sd->mdl),
				"baselines", clf_drift_active(sd->mon), "bounds",
				clf_drift_bounds_json(sd->mon), "alarm", sd->alarm, "windows_closed",
				(json_int_t)sd->closed, "alarms", (json_int_t)sd->alarms, "windows",
				sd->recent, "open", clf_drift_open_json(sd->mon));
	if (doc && !clf_drift_active(sd->mon))
		json_object_set_new(doc, "message",
				    json_string("no baselines: the model predates them; retrain it "
						"with botwatch train to monitor drift"));
	char *txt = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(doc);
	if (!txt)
		return;
	pthread_mutex_lock(&pub_mu);
	free(pub_text);
	pub_text = txt;
	pthread_mutex_unlock(&pub_mu);
	sd->published_ms = bw_time_mono_ms();
}

json_t *stage_drift_document(void)
{
	json_t *doc = NULL;
	pthread_mutex_lock(&pub_mu);
	if (pub_text)
		doc = json_loads(pub_text, 0, NULL);
	pthread_mutex_unlock(&pub_mu);
	if (!doc)
		doc = json_pack("{s:s, s:s}", "monitor", "inactive", "message",
				"no scoring stage or replay runs in this process");
	json_t *ex = ingest_expect_json();
	if (doc && ex)
		json_object_set_new(doc, "expectations", ex);
	else
		json_decref(ex);
	return doc;
}

static void metrics_register(struct stage_drift *sd)
{
	sd->m_alarm = bw_gauge("botwatch_drift_alarm",
			       "1 when the last judged drift window raised an alarm.", NULL);
	sd->m_windows = bw_counter("botwatch_drift_windows_total",
				   "Drift windows closed, by result (ok, alarm, not_judged).", "result");
	sd->m_score_psi = bw_gauge("botwatch_drift_score_psi",
				   "PSI of the english score in the last judged window.", NULL);
	sd->m_bot_rate = bw_gauge("botwatch_drift_bot_rate",
				  "Share of score decisions at or above drift.threshold in the last "
				  "judged window.", NULL);
	sd->m_class_psi = bw_gauge("botwatch_drift_class_psi",
				   "Mean feature PSI per feature class in the last judged window.",
				   "class");
	sd->m_over = bw_gauge("botwatch_drift_features_over_psi",
			      "Features above drift.feature_psi in the last judged window.", NULL);
	sd->m_shifted = bw_gauge("botwatch_drift_presence_shifted",
				 "Features whose presence moved more than drift.presence_shift in the "
				 "last judged window.", NULL);
}

struct stage_drift *stage_drift_new(const struct bw_config *cfg, const struct clf_model *mdl,
				    const char *who)
{
	struct clf_drift_bounds b;
	struct stage_drift *sd = calloc(1, sizeof(*sd));

	if (!sd)
		return NULL;
	clf_drift_bounds_init(&b);
	b.window_ms = cfg->drift_window_ms;
	b.min_scores = (uint64_t)cfg->drift_min_scores;
	b.feature_psi = cfg->drift_feature_psi;
	b.features_over = (uint64_t)cfg->drift_features_over;
	b.class_psi = cfg->drift_class_psi;
	b.presence_shift = cfg->drift_presence_shift;
	b.score_psi = cfg->drift_score_psi;
	b.bot_rate_min = cfg->drift_bot_rate_min;
	b.bot_rate_max = cfg->drift_bot_rate_max;
	b.threshold = cfg->drift_threshold;
	sd->mdl = mdl;
	sd->who = who;
	if (!(sd->mon = clf_drift_new(mdl, &b)) || !(sd->recent = json_array()) ||
	    !(sd->batch = json_array())) {
		stage_drift_free(sd);
		return NULL;
	}
	metrics_register(sd);
	if (!clf_drift_active(sd->mon))
		BW_INFO("%s: drift monitor: no baselines in model %s (trained before them); "
			"drift is not monitored", who, clf_model_id(mdl));
	publish(sd);
	return sd;
}

void stage_drift_free(struct stage_drift *sd)
{
	if (!sd)
		return;
	clf_drift_free(sd->mon);
	json_decref(sd->recent);
	json_decref(sd->batch);
	free(sd);
}

/* Export a judged window's figures. */
static void export(struct stage_drift *sd, json_t *w)
{
	json_t *cls = json_object_get(w, "classes"), *v;
	const char *name;
	json_object_foreach(cls, name, v) {
		json_t *m = json_object_get(v, "psi_mean");
		const char *lab[1] = { name };
		if (json_is_number(m))
			bw_gauge_set(sd->m_class_psi, lab, json_number_value(m));
	}
	if ((v = json_object_get(w, "score_psi")) && json_is_number(v))
		bw_gauge_set(sd->m_score_psi, NULL, json_number_value(v));
	if ((v = json_object_get(w, "bot_rate")) && json_is_number(v))
		bw_gauge_set(sd->m_bot_rate, NULL, json_number_value(v));
	bw_gauge_set(sd->m_over, NULL, (double)json_integer_value(json_object_get(w, "features_over_psi")));
	bw_gauge_set(sd->m_shifted, NULL,
		     (double)json_integer_value(json_object_get(w, "presence_shifted")));
	bw_gauge_set(sd->m_alarm, NULL, sd->alarm ? 1 : 0);
}

/* Log, export and keep one closed window; true when it alarmed. */
static bool take(struct stage_drift *sd, json_t *w)
{
	bool judged = json_is_true(json_object_get(w, "evaluated"));
	bool alarm = json_is_true(json_object_get(w, "alarm"));
	const char *res[1] = { !judged ? "not_judged" : alarm ? "alarm" : "ok" };

	sd->closed++;
	bw_counter_add(sd->m_windows, res, 1);
	if (judged) {
		sd->alarm = alarm;
		export(sd, w);
	}
	/* the log line holds the verdict; the per-feature lists are in /v1/drift */
	json_t *brief = json_object();
	static const char *const keep[] = { "start", "end", "scores", "evaluated", "alarm", "reasons",
					    "score_psi", "bot_rate", "mixture_bot_share",
					    "mixture_psi", "features_over_psi", "presence_shifted" };
	for (size_t i = 0; brief && i < sizeof(keep) / sizeof(keep[0]); i++)
		if (json_object_get(w, keep[i]))
			json_object_set(brief, keep[i], json_object_get(w, keep[i]));
	char *txt = brief ? json_dumps(brief, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(brief);
	if (alarm) {
		sd->alarms++;
		BW_WARN("%s: drift alarm: %s", sd->who, txt ? txt : "(out of memory)");
	} else {
		BW_DEBUG("%s: drift window %s: %s", sd->who, judged ? "within bounds" : "not judged",
			txt ? txt : "(out of memory)");
	}
	free(txt);
	json_array_insert(sd->recent, 0, w);
	while (json_array_size(sd->recent) > SD_KEEP)
		json_array_remove(sd->recent, SD_KEEP);
	return alarm;
}

static size_t take_all(struct stage_drift *sd, json_t *closed)
{
	size_t alarms = 0;
	for (size_t i = 0; i < json_array_size(closed); i++)
		alarms += take(sd, json_array_get(closed, i));
	return alarms;
}

void stage_drift_observe(struct stage_drift *sd, const double *x, size_t n, uint32_t avail,
			 const struct clf_score *sc, int64_t event_ms)
{
	if (!sd || !clf_drift_active(sd->mon))
		return;
	if (clf_drift_observe(sd->mon, x, n, avail, sc, event_ms, sd->batch))
		BW_WARN("%s: drift monitor: out of memory; a score decision was not observed", sd->who);
	if (json_array_size(sd->batch)) { /* an observation closed the oldest window */
		take_all(sd, sd->batch);
		publish(sd);
		json_array_clear(sd->batch);
	}
}

size_t stage_drift_advance(struct stage_drift *sd, int64_t watermark_ms, bool all)
{
	size_t alarms;
	if (!sd || !clf_drift_active(sd->mon))
		return 0;
	clf_drift_advance(sd->mon, watermark_ms, all, sd->batch);
	alarms = take_all(sd, sd->batch);
	if (json_array_size(sd->batch) || all ||
	    bw_time_mono_ms() - sd->published_ms >= SD_PUBLISH_MS)
		publish(sd);
	json_array_clear(sd->batch);
	return alarms;
}
