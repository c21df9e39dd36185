/*
 * pipeline.c — the whole job in one process (pipeline.h, docs/PIPELINE.md).
 *
 * Threads: ingest (ingest_job_run per source), features (feat_stage_run),
 * score (clf_stage_run on the shared store and model) and the API's own
 * libmicrohttpd threads. The calling thread owns the signals (SIGINT,
 * SIGTERM and SIGHUP are blocked in every thread and taken with sigtimedwait;
 * SIGHUP reloads score.model in the scoring stage and the API), watches
 * the stages and, with exit_when_idle, decides when everything is drained:
 * ingest has finished, and the features group has committed every message of
 * the posts topic and the score group every message of the features topic,
 * in two consecutive checks (DRAIN_STABLE_MS apart) — a group commits only
 * after its work is stored and produced, and the scoring stage never commits
 * past an account it still holds back.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bw_err.h"
#include "bw_fs.h"
#include "bw_mem.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_redact.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "stage_score.h"
#include "feat.h"
#include "feat_stage.h"
#include "feat_tally.h"
#include "stage_features.h"
#include "ingest_job.h"
#include "pipeline.h"
#include "store.h"

#define DRAIN_STABLE_MS 100   /* gap between the two checks that must both show no lag */
#define WATCH_TICK_MS 50      /* the watching thread's signal wait (and drain check period) */
#define LAG_QUERY_MS 5000     /* timeout of one lag query */

/* One stage thread. */
struct job {
	const char *name;              /* "ingest", "features", "score" */
	pthread_t th;                  /* the thread */
	bool started;                  /* th is valid */
	atomic_int stop;               /* set to stop the stage (read by its thread) */
	atomic_int done;               /* the thread function returned */
	int rc;                        /* its result (0 ok) */
	char err[512];                 /* its message */
};

/* Everything one run shares with its threads. */
struct run {
	struct bw_config *cfg;              /* borrowed; read-only once threads run */
	const struct pipeline_opts *opts;   /* borrowed */
	struct bw_kafka_mock *mock;         /* embedded broker or NULL */
	struct bw_store *store;             /* the score store (writable) */
	struct clf_model *mdl;              /* the scoring model */
	struct api_server *api;             /* the API or NULL */
	struct job ingest, features, score; /* the stage threads */
	struct feat_stage_stats fst;        /* features counters (after join) */
	atomic_bool features_idle;          /* the features stage has nothing unsent (drain) */
	struct clf_stage_stats sst;         /* score counters (after join) */
	atomic_int reload;                  /* SIGHUP: the scoring stage reloads score.model */
	atomic_int upstream_done;           /* set once ingest finished and the features
					       group committed every post: the scoring
					       stage need not wait to coalesce any more */
};

/* ---- stage threads ------------------------------------------------------------------ */

/* A source that cannot be read again from where a crash left it: a live
 * stream (HTTP, WebSocket) or standard input. */
static bool live_source(const char *src)
{
	static const char *const live[] = { "http://", "https://", "ws://", "wss://" };

	if (strcmp(src, "-") == 0)
		return true;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strncmp(src, live[i], strlen(live[i])) == 0)
			return true;
	return false;
}

static void *ingest_main(void *arg)
{
	struct run *r = arg;
	size_t n = r->opts->sources ? r->opts->n_sources : 1;

	for (size_t i = 0; i < n && !r->ingest.stop && !r->ingest.rc; i++) {
		char err[512];
		/* only this thread reads ingest.source while the stages run */
		if (r->opts->sources &&
		    cfg_set(r->cfg, "ingest.source", r->opts->sources[i], "input", err, sizeof(err))) {
			r->ingest.rc = BW_EINVAL;
			snprintf(r->ingest.err, sizeof(r->ingest.err), "%s", err);
			break;
		}
		char shown[8192]; /* the source without credentials */
		bw_redact_url(r->cfg->ingest_source, shown, sizeof(shown));
		BW_INFO("run: ingesting %s", shown);
		if (r->mock && live_source(r->cfg->ingest_source))
			BW_WARN("run: NOT DURABLE: %s is a live source and the embedded broker keeps "
				"what it read in memory only: a crash or kill -9 of this process loses "
				"every post read and not yet folded into %s (a restart resumes at the "
				"stream's live tip%s). For a durable input position run `botwatch broker` "
				"or Kafka with ingest, features and score as separate processes "
				"(docs/PIPELINE.md, Failures)", shown, r->cfg->features_state,
				r->cfg->js_cursor_file && r->cfg->js_cursor_file[0]
					? ", or at a Jetstream cursor already past the posts held in memory"
					: "");
		if (ingest_job_run(r->cfg, &r->ingest.stop)) {
			r->ingest.rc = BW_EKAFKA;
			snprintf(r->ingest.err, sizeof(r->ingest.err),
				 "ingest of %.400s failed (see its message above)", shown);
		}
	}
	atomic_store(&r->ingest.done, 1);
	return NULL;
}

static void *features_main(void *arg)
{
	struct run *r = arg;
	/* the embedded broker belongs to this process: no other member can join,
	 * and its first group join alone would take ~3 s */
	struct feat_stage_opts o = {
		.idle = &r->features_idle,
		.assign_partitions = r->mock ? (int32_t)r->cfg->broker_partitions : 0,
		.embedded = r->mock != NULL,
		.store = r->store, /* conversation tallies (docs/REPORT.md) */
	};

	r->features.rc = feat_stage_run(r->cfg, &o, &r->features.stop, &r->fst, r->features.err,
					sizeof(r->features.err));
	atomic_store(&r->features.done, 1);
	return NULL;
}

static void *score_main(void *arg)
{
	struct run *r = arg;
	struct clf_stage_opts o = {
		.store = r->store, .model = r->mdl, .reload = &r->reload,
		.assign_partitions = r->mock ? (int32_t)r->cfg->broker_partitions : 0, /* see above */
		.upstream_done = &r->upstream_done
	};

	r->score.rc = clf_stage_run(r->cfg, &o, &r->score.stop, &r->sst, r->score.err,
				    sizeof(r->score.err));
	atomic_store(&r->score.done, 1);
	return NULL;
}

static int job_start(struct job *j, const char *name, void *(*fn)(void *), struct run *r,
		     char *errstr, size_t errlen)
{
	j->name = name;
	if (pthread_create(&j->th, NULL, fn, r))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "cannot start the %s thread", name);
	pthread_setname_np(j->th, name); /* top -H, perf and /proc show which stage is which */
	j->started = true;
	return 0;
}

static void job_stop(struct job *j)
{
	j->stop = 1;
	if (j->started)
		pthread_join(j->th, NULL);
	j->started = false;
}

/* A stage that ended by itself with an error, or NULL. */
static struct job *failed_job(struct run *r)
{
	struct job *j[3] = { &r->ingest, &r->features, &r->score };
	for (int i = 0; i < 3; i++)
		if (j[i]->started && atomic_load(&j[i]->done) && j[i]->rc)
			return j[i];
	return NULL;
}

/* ---- drain detection ---------------------------------------------------------------- */

/* Lag watches of the two consumer groups. */
struct drainwatch {
	struct bw_kafka_lagwatch *posts;    /* features group on the posts topic */
	struct bw_kafka_lagwatch *features; /* score group on the features topic */
};

static int drainwatch_open(struct drainwatch *d, const struct bw_config *c, char *errstr,
			   size_t errlen)
{
	d->posts = bw_kafka_lagwatch_new(c->kafka_bootstrap, c->n_kafka, c->kafka_keys,
					 c->kafka_values, c->ingest_topic, c->features_group, errstr,
					 errlen);
	if (!d->posts)
		return BW_EKAFKA;
	d->features = bw_kafka_lagwatch_new(c->kafka_bootstrap, c->n_kafka, c->kafka_keys,
					    c->kafka_values, c->features_topic, c->score_group,
					    errstr, errlen);
	return d->features ? 0 : BW_EKAFKA;
}

static void drainwatch_close(struct drainwatch *d)
{
	bw_kafka_lagwatch_free(d->posts);
	bw_kafka_lagwatch_free(d->features);
}

/* True when `w`'s group lags nothing (a failed query counts as lagging). */
static bool caught_up(struct bw_kafka_lagwatch *w, const char *topic)
{
	struct bw_kafka_lag l;
	char err[256];

	if (bw_kafka_lag_query(w, LAG_QUERY_MS, &l, err, sizeof(err)))
		return false;
	if (l.lost)
		BW_WARN("run: %lld message(s) of %s pruned before group %s read them",
			(long long)l.lost, topic, l.lost_group);
	return l.max_lag == 0;
}

/*
 * Drained: the features group committed every post and then the score group
 * every feature update — now and again DRAIN_STABLE_MS later. A group commits
 * only what it stored and whose output was delivered, so the first check in
 * this order already implies the end; the second is cheap insurance. Once
 * ingest finished and the posts are caught up, the scoring stage is told that
 * no more updates are coming (it scores what it held back at once).
 */
static bool drained(struct run *r, struct drainwatch *d)
{
	struct timespec ts = { DRAIN_STABLE_MS / 1000, (DRAIN_STABLE_MS % 1000) * 1000000L };

	for (int i = 0; i < 2; i++) {
		if (i)
			nanosleep(&ts, NULL);
		if (!caught_up(d->posts, r->cfg->ingest_topic) || !atomic_load(&r->features_idle))
			return false;
		if (atomic_load(&r->ingest.done))
			r->upstream_done = 1;
		if (!caught_up(d->features, r->cfg->features_topic))
			return false;
	}
	return true;
}

/* ---- setup and teardown --------------------------------------------------------------- */

/*
 * A new embedded broker starts every topic at offset 0, but features.state_dir
 * may hold offsets of an earlier process's broker (the feature state itself
 * stays valid: it is keyed by account and deduplicates posts). Point the
 * stored offsets of the posts topic at the new broker's start, so no post of
 * this run is skipped.
 */
static int reset_state_offsets(const struct bw_config *c, char *errstr, size_t errlen)
{
	struct feat_store *fs = feat_store_open(c->features_state, (size_t)c->features_map_size_mb,
						errstr, errlen);
	int64_t off;
	bool any = false;
	int rc;

	if (!fs)
		return BW_ESTORE;
	for (int32_t p = 0; p < (int32_t)c->broker_partitions; p++)
		any |= feat_store_offset_get(fs, c->ingest_topic, p, &off) == 0;
	rc = any ? feat_store_begin(fs, errstr, errlen) : 0;
	for (int32_t p = 0; any && !rc && p < (int32_t)c->broker_partitions; p++)
		rc = feat_store_offset_put(fs, c->ingest_topic, p, 0, errstr, errlen);
	if (any && !rc && !(rc = feat_store_commit(fs, errstr, errlen)))
		BW_INFO("run: %s keeps its feature state; its stored offsets now point at the new "
			"embedded broker's start", c->features_state);
	feat_store_close(fs);
	return rc;
}

/* Start the embedded broker when no cluster is configured, with every topic. */
static int start_broker(struct run *r, char *errstr, size_t errlen)
{
	struct bw_config *c = r->cfg;
	const char *topics[] = { c->ingest_topic, c->ingest_dlq_topic, c->features_topic,
				 c->score_topic };

	if (c->kafka_bootstrap[0])
		return 0;
	if (!(r->mock = bw_kafka_mock_new((int)c->broker_count, errstr, errlen)))
		return BW_EKAFKA;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (bw_kafka_mock_topic_create(r->mock, topics[i], (int)c->broker_partitions, errstr,
					       errlen))
			return BW_EKAFKA;
	/* the embedded broker has no admin API (and no compaction): the topic exists now */
	if (cfg_set(c, "kafka.bootstrap.servers", bw_kafka_mock_bootstraps(r->mock), "run", errstr,
		    errlen) ||
	    cfg_set(c, "score.create_topic", "false", "run", errstr, errlen))
		return BW_EINVAL;
	BW_WARN("run: embedded broker on %s (its contents end with this process; set "
		"kafka.bootstrap.servers for a real cluster)", c->kafka_bootstrap);
	return reset_state_offsets(c, errstr, errlen);
}

static int start_api(struct run *r, char *errstr, size_t errlen)
{
	const struct bw_config *c = r->cfg;
	struct api_opts o = {
		.listen = c->api_listen, .token = c->api_token, .threads = (unsigned)c->api_threads,
		.max_body = (size_t)c->api_max_body_bytes, .conn_limit = (unsigned)c->api_conn_limit,
		.timeout_s = (unsigned)c->api_timeout_s, .max_batch = (size_t)c->api_max_batch,
		.request_timeout_s = (unsigned)c->api_request_timeout_s,
		.model_path = c->score_model, .cap_prior = c->score_cap_prior,
	};

	if (!(r->api = api_server_new(r->store, &o, errstr, errlen)) ||
	    api_server_start(r->api, errstr, errlen))
		return BW_EHTTP;
	BW_INFO("run: API listening on http://%s (port %u), e.g. curl -s "
		"http://%s/v1/accounts/<id>", c->api_listen, api_server_port(r->api), c->api_listen);
	return 0;
}

static int start(struct run *r, char *errstr, size_t errlen)
{
	const struct bw_config *c;
	int rc = start_broker(r, errstr, errlen);

	c = r->cfg;
	if (rc)
		return rc;
	if (!(r->mdl = clf_model_load(c->score_model, feat_schema_hash(), feat_count(), errstr,
				      errlen)))
		return BW_ESCHEMA;
	if (!(r->store = store_open(c->store_path, true, (size_t)c->store_map_size_mb, errstr,
				    errlen)))
		return BW_ESTORE;
	/* the report's marks, like the feature state's offsets, restart with a new broker */
	if (r->mock && (rc = feat_tally_marks_reset(r->store, c->ingest_topic,
						    (int32_t)c->broker_partitions, errstr, errlen)))
		return rc;
	if (r->opts->serve_api && (rc = start_api(r, errstr, errlen)))
		return rc;
	if ((rc = job_start(&r->features, "features", features_main, r, errstr, errlen)) ||
	    (rc = job_start(&r->score, "score", score_main, r, errstr, errlen)) ||
	    (rc = job_start(&r->ingest, "ingest", ingest_main, r, errstr, errlen)))
		return rc;
	return 0;
}

/* Wait (bounded) until the stages caught up with what is already in Kafka. */
static void drain_bounded(struct run *r, struct drainwatch *d)
{
	int64_t until = bw_time_mono_ms() + r->opts->drain_timeout_ms;

	while (bw_time_mono_ms() < until && !failed_job(r))
		if (drained(r, d))
			return;
	BW_WARN("run: stages did not catch up within %lld ms; stopping anyway (stored state and "
		"offsets stay consistent)", (long long)r->opts->drain_timeout_ms);
}

/* Ordered shutdown; returns the first stage error (0 when none). */
static int stop_all(struct run *r, struct drainwatch *d, bool drain, char *errstr, size_t errlen)
{
	struct job *j[3] = { &r->ingest, &r->features, &r->score };
	int rc = 0;

	job_stop(&r->ingest);
	if (drain && d->posts && r->features.started && r->score.started)
		drain_bounded(r, d);
	job_stop(&r->features);
	job_stop(&r->score);
	api_server_free(r->api);
	r->api = NULL;
	for (int i = 0; i < 3 && !rc; i++)
		if (j[i]->rc)
			rc = bw_seterr(errstr, errlen, j[i]->rc, "%s: %s", j[i]->name,
				       j[i]->err[0] ? j[i]->err : bw_strerror(j[i]->rc));
	return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

/* Watch signals, failures and (with exit_when_idle) the drain. Returns true
 * when the stages still need a bounded drain at shutdown. */
static bool watch(struct run *r, struct drainwatch *d, const sigset_t *set,
		  atomic_int *stop)
{
	for (;;) {
		struct timespec ts = { 0, WATCH_TICK_MS * 1000000L };
		int sig = sigtimedwait(set, NULL, &ts);
		struct job *bad;
		char err[512];

		if (sig == SIGHUP) { /* reload the model: the scoring stage's and the API's */
			BW_INFO("run: SIGHUP: reloading the model %s", r->cfg->score_model);
			atomic_store(&r->reload, 1);
			if (r->api)
				api_server_reload_model(r->api, r->cfg->score_model, err, sizeof(err));
			continue;
		}
		if (sig > 0 || *stop) {
			BW_INFO("run: %s: stopping ingest, draining, committing, stopping the API",
				sig > 0 ? "signal" : "stop requested");
			return true;
		}
		if ((bad = failed_job(r))) {
			BW_ERROR("run: the %s stage failed: %s", bad->name, bad->err);
			return false;
		}
		if (r->opts->exit_when_idle && atomic_load(&r->ingest.done) && drained(r, d)) {
			BW_INFO("run: every input consumed, folded and scored: stopping");
			return false;
		}
	}
}

/* Disk bytes written per post (state, store, logs), the worst staleness and
 * the memory peaks per account the features stage stored. */
static void log_costs(const struct run *r, int64_t written0, struct bw_mem_sampler *mem)
{
	int64_t w = bw_fs_bytes_written();
	uint64_t n = r->fst.accounts;

	if (w >= 0 && written0 >= 0 && r->fst.posts)
		BW_INFO("run: %lld bytes written to disk, %.0f per post folded; longest wait of a post "
			"for its account's stored score %.3f s", (long long)(w - written0),
			(double)(w - written0) / (double)r->fst.posts, r->sst.staleness_max_s);
	bw_mem_sampler_stop(mem);
	BW_INFO("run: memory: peak RSS %.1f MB, peak anonymous (heap) %.1f MB, peak file-backed "
		"%.1f MB (sampled every 20 ms); %llu accounts stored, %.0f bytes of peak anonymous "
		"memory per account", mem->hwm_kb / 1024.0, mem->anon_peak_kb / 1024.0,
		mem->file_peak_kb / 1024.0, (unsigned long long)n,
		n ? mem->anon_peak_kb * 1024.0 / (double)n : 0.0);
}

int pipeline_run(struct bw_config *cfg, const struct pipeline_opts *opts,
		 atomic_int *stop, struct pipeline_stats *stats, char *errstr,
		 size_t errlen)
{
	struct run r = { .cfg = cfg, .opts = opts };

	atomic_init(&r.features_idle, false);
	struct drainwatch d = { 0 };
	int64_t written0 = bw_fs_bytes_written();
	struct bw_mem_sampler mem;
	sigset_t set, old;
	bool drain = false;
	int rc, rc2;

	/* block the signals before any thread exists, so every thread inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	bw_mem_sampler_start(&mem, 20);
	rc = start(&r, errstr, errlen);
	if (!rc)
		rc = drainwatch_open(&d, cfg, errstr, errlen);
	if (!rc)
		drain = watch(&r, &d, &set, stop);
	rc2 = stop_all(&r, &d, drain && !rc, rc ? NULL : errstr, rc ? 0 : errlen);
	rc = rc ? rc : rc2;
	BW_INFO("run: %llu posts folded, %llu feature updates; scoring: %llu updates, %llu debounced, "
		"%llu not scored, %llu accounts scored in %llu batches",
		(unsigned long long)r.fst.posts, (unsigned long long)r.fst.updates,
		(unsigned long long)r.sst.messages, (unsigned long long)r.sst.debounced,
		(unsigned long long)r.sst.errors, (unsigned long long)r.sst.scored,
		(unsigned long long)r.sst.batches);
	log_costs(&r, written0, &mem);
	if (stats)
		*stats = (struct pipeline_stats){ .posts = r.fst.posts, .updates = r.fst.updates,
						  .scored = r.sst.scored,
						  .score_errors = r.sst.errors };
	drainwatch_close(&d);
	store_close(r.store);
	clf_model_free(r.mdl);
	bw_kafka_mock_free(r.mock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
