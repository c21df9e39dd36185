/*
 * stage_score.c — the Kafka scoring stage (stage_score.h, docs/PIPELINE.md), a
 * set of callbacks on the stage runtime (stage.h).
 *
 * One consumer in group score.group_id on features.topic. Each feature
 * update is validated on arrival (decodable, the model's feature schema,
 * carries evidence) and becomes its account's *pending* update, replacing an
 * older pending one (counted as debounced). A pending account is *due*:
 *   - at once when this process never scored it;
 *   - after waiting score.coalesce_ms of wall-clock time when score.debounce_ms
 *     of event time has passed since its last score (so a fast replay, whose
 *     event time runs far ahead, coalesces by wall clock);
 *   - otherwise after waiting score.max_staleness_ms / 2 of wall-clock time:
 *     the event-time debounce never holds a score back longer than that;
 *   - and when no update arrived for score.idle_flush_ms, when more than
 *     score.max_pending accounts wait, when holding it would keep its
 *     partition's commit more than score.max_holdback messages behind, when
 *     the upstream is done, and on revocation and shutdown.
 *
 * Due accounts are scored in batches of at most score.batch (or after
 * score.batch_ms): one store transaction with every record and vector (and
 * each decision's audit-trail entry, audit.h), then
 * the records to score.topic through the runtime, which commits the
 * consumed offsets once they are delivered — held back to the earliest
 * update still pending in a partition, so a crash re-delivers every
 * unscored account's latest update (at-least-once into an idempotent store).
 *
 * Staleness: a feature update's Kafka timestamp is the time its account's
 * oldest unreported post reached Kafka; the wall-clock time from it to the
 * store commit of the score is observed (botwatch_score_staleness_seconds).
 *
 * Memory: per account seen, its last score's event time and its pending
 * update; past STAGE_MAX_TRACKED accounts the entries without a pending
 * update are forgotten (their next update is then scored without waiting).
 *
 * This is a stage, not library code: it logs through bw_log.
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "audit.h"
#include "bw_arena.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_map.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "stage_drift.h"
#include "stage_score.h"
#include "feat.h"
#include "feat_stage.h"
#include "stage.h"
#include "store.h"

#define STAGE_MAX_TRACKED (1u << 18) /* accounts remembered (see above) */
#define STAGE_ADMIN_MS 10000         /* longest wait for the topic creation answer */
#define STAGE_SCAN_MS 20             /* least time between two release scans */

/* One account in the table. */
struct acct {
	char id[64];            /* account id; "" = free slot */
	int64_t scored_ms;      /* event time of the last score, BW_TIME_NONE = never */
	unsigned char *msg;     /* pending feature update (owned) or NULL */
	size_t len;             /* its length */
	int32_t partition;      /* its partition */
	int64_t offset;         /* its offset */
	int64_t event_ms;       /* its event time (latest own event) */
	int64_t since_ts;       /* Kafka timestamp of its oldest unscored update (wall ms), 0 */
	int64_t pending_at;     /* monotonic ms its first pending update arrived */
	size_t pidx;            /* its place in the pending list (while msg is set) */
	bool due;               /* pending and due for scoring */
};

/* The stage's metrics (registry-owned handles). */
struct stage_metrics {
	struct bw_metric *updates, *scored, *batches, *debounced, *errors, *pending, *stale;
};

struct sstage {
	const struct bw_config *cfg;          /* borrowed */
	const struct clf_stage_opts *opts;    /* borrowed */
	struct bw_store *store;               /* store (borrowed or owned) */
	bool own_store;                       /* opened here */
	const struct clf_model *mdl;          /* model (borrowed or owned) */
	struct clf_model *own_mdl;            /* loaded here, or NULL */
	struct bw_map *tab;                   /* account id -> struct acct (owned) */
	struct acct **pend;                   /* accounts with a pending update (unordered) */
	size_t n_pending, cap_pending;        /* their number / allocated */
	size_t n_due;                         /* of them due */
	int64_t due_since;                    /* monotonic ms the oldest due account became due */
	int64_t watermark;                    /* largest update event time seen */
	int64_t scanned_ms;                   /* monotonic ms of the last release scan */
	double *vec;                          /* scoring scratch */
	struct stage_drift *drift;            /* drift monitor (owned; stage_drift.h) */
	struct stage_metrics m;               /* metrics */
	struct clf_stage_stats st;            /* counters */
	struct stage *rt;                     /* the runtime (valid during its callbacks) */
};

static int fail(struct sstage *s, int err, const char *msg)
{
	return stage_fail(s->rt, err, "score: %s", msg);
}

/* ---- the account table ---------------------------------------------------------- */

/* Past STAGE_MAX_TRACKED accounts, forget the entries without a pending update. */
static void tab_forget(struct sstage *s)
{
	size_t pos = 0, n = 0, before = bw_map_count(s->tab);
	struct acct *a, **idle = malloc(before * sizeof(*idle));

	if (!idle)
		return; /* keep them: only memory is at stake */
	while ((a = bw_map_next(s->tab, &pos, NULL)))
		if (!a->msg)
			idle[n++] = a;
	for (size_t i = 0; i < n; i++) {
		bw_map_del(s->tab, idle[i]->id);
		free(idle[i]);
	}
	free(idle);
	BW_INFO("score: forgot the debounce times of %zu idle account(s)", n);
}

/* The account's entry, created when missing; NULL on allocation failure. */
static struct acct *tab_get(struct sstage *s, const char *id)
{
	struct acct *a = bw_map_get(s->tab, id);

	if (a)
		return a;
	if (bw_map_count(s->tab) >= STAGE_MAX_TRACKED)
		tab_forget(s);
	if (!(a = calloc(1, sizeof(*a)))) {
		fail(s, BW_ENOMEM, "out of memory growing the account table");
		return NULL;
	}
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->scored_ms = BW_TIME_NONE;
	if (bw_map_put(s->tab, a->id, a)) {
		free(a);
		fail(s, BW_ENOMEM, "out of memory growing the account table");
		return NULL;
	}
	return a;
}

/* Enter a (whose first pending update arrives now) in the pending list. */
static int pend_add(struct sstage *s, struct acct *a)
{
	if (bw_array_room(&s->pend, s->n_pending, &s->cap_pending, sizeof(*s->pend), 1024))
		return fail(s, BW_ENOMEM, "out of memory");
	a->pidx = s->n_pending;
	s->pend[s->n_pending++] = a;
	a->pending_at = bw_time_mono_ms();
	return 0;
}

/* Take a out of the pending list (the last entry takes its place). */
static void pend_remove(struct sstage *s, struct acct *a)
{
	struct acct *last = s->pend[--s->n_pending];

	s->pend[a->pidx] = last;
	last->pidx = a->pidx;
}

static void mark_due(struct sstage *s, struct acct *a)
{
	if (a->due || !a->msg)
		return;
	a->due = true;
	if (s->n_due++ == 0)
		s->due_since = bw_time_mono_ms();
}

/* Due by event time: never scored, no event time, or debounce_ms past the last score. */
static bool debounce_over(const struct sstage *s, const struct acct *a, int64_t t)
{
	return a->scored_ms == BW_TIME_NONE || t == BW_TIME_NONE ||
	       t - a->scored_ms >= s->cfg->score_debounce_ms;
}

/* The CLF_AVAIL_* mask of a decoded update. */
static uint32_t update_avail(const struct feat_update *u)
{
	return ((u->evidence & FEAT_EVID_TEXT) ? CLF_AVAIL_TEXT : 0u) |
	       ((u->evidence & FEAT_EVID_COUNTS) ? CLF_AVAIL_COUNTS : 0u) |
	       (u->own_posts >= CLF_MIN_POSTS ? CLF_AVAIL_ACTIVITY : 0u);
}

/* Score a's pending update into the open store transaction; the record text is
 * returned malloc'd in *txt (caller frees). */
static int score_one(struct sstage *s, struct bw_store_txn *txn, const struct acct *a, char **txt)
{
	struct feat_update u;
	struct clf_score sc;
	char err[256];

	if (feat_update_decode(a->msg, a->len, &u)) /* validated on arrival */
		return fail(s, BW_EPARSE, "a pending feature update no longer decodes");
	feat_update_values(&u, s->vec);
	clf_score(s->mdl, s->vec, update_avail(&u), s->cfg->score_cap_prior, &sc);
	stage_drift_observe(s->drift, s->vec, u.n, update_avail(&u), &sc, u.last_event_ms);
	struct clf_record_info info = { .user_id = u.user_id,
					.screen_name = u.screen_name[0] ? u.screen_name : NULL,
					.scored_at_ms = u.last_event_ms,
					.posts_seen = u.posts_seen };
	*txt = clf_score_record(s->mdl, &sc, &info);
	if (!*txt)
		return fail(s, BW_ENOMEM, "out of memory building a score record");
	if (store_txn_put(txn, info.user_id, info.screen_name, *txt, strlen(*txt), s->vec, u.n, err,
			  sizeof(err)))
		return fail(s, BW_ESTORE, err);
	struct audit_watermark wm = { .topic = s->cfg->features_topic, .partition = a->partition,
				      .offset = a->offset };
	if (audit_decision_put(txn, s->mdl, s->vec, u.n, sc.avail, s->cfg->score_cap_prior, &sc,
			       &info, &wm, *txt, err, sizeof(err)))
		return fail(s, BW_ESTORE, err);
	return 0;
}

/* Why a decoded update cannot be scored by this model, or NULL. */
static const char *unscorable(const struct sstage *s, const struct feat_update *u, char *buf,
			      size_t len)
{
	if (strcmp(u->schema_hash, clf_model_schema(s->mdl)) != 0 || u->n != clf_model_n_features(s->mdl)) {
		snprintf(buf, len, "feature schema %s (%zu features), the model expects %s (%zu)",
			 u->schema_hash, u->n, clf_model_schema(s->mdl), clf_model_n_features(s->mdl));
		return buf;
	}
	if (!u->has_evidence)
		return "a version 1 update carries no evidence: upgrade the features stage";
	return NULL;
}

/* True when the cluster's metadata lists `topic` (false also when it cannot be asked). */
static bool topic_exists(struct sstage *s, const char *topic)
{
	const struct rd_kafka_metadata *md = NULL;
	bool found = false;

	if (rd_kafka_metadata(stage_producer(s->rt), 1, NULL, &md, STAGE_ADMIN_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	for (int i = 0; i < md->topic_cnt && !found; i++)
		found = strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err;
	rd_kafka_metadata_destroy(md);
	return found;
}

/* Create score.topic compacted when it does not exist yet and the cluster has
 * an admin API; a failure (e.g. a broker without an admin API) is logged and
 * the topic is then used as the cluster makes it. An existing topic is left
 * as it is. */
static void create_topic(struct sstage *s)
{
	const struct bw_config *c = s->cfg;
	char err[256];

	if (topic_exists(s, c->score_topic))
		return;
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(c->score_topic, (int)c->broker_partitions, -1,
							err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(stage_producer(s->rt));
	rd_kafka_event_t *ev = NULL;

	if (!nt || !q)
		goto out_free;
	rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
	rd_kafka_CreateTopics(stage_producer(s->rt), &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, STAGE_ADMIN_MS);
	if (!ev || rd_kafka_event_error(ev)) {
		BW_WARN("score: could not create %s compacted (%s); using it as it is",
			c->score_topic, ev ? rd_kafka_event_error_string(ev) : "no answer in 10 s");
		goto out_free;
	}
	size_t n = 0;
	const rd_kafka_topic_result_t **r =
		rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(r[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		BW_INFO("score: created %s with cleanup.policy=compact", c->score_topic);
	else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		BW_WARN("score: could not create %s compacted (%s); using it as it is", c->score_topic,
			rd_kafka_err2str(e));
out_free:
	rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
}


/* ---- scoring batches ------------------------------------------------------------------ */

/* Wall-clock ms from the update's stamp to now (the record's staleness), or -1. */
static double staleness_s(int64_t since_ts)
{
	int64_t now = bw_time_now_ms();
	return since_ts > 0 && now >= since_ts ? (double)(now - since_ts) / 1000.0 : -1.0;
}

/* Score up to score.batch due accounts in one store transaction, producing
 * their records through the runtime. */
static int score_batch(struct sstage *s)
{
	size_t max = (size_t)s->cfg->score_batch, n = 0;
	char err[256], *txt = NULL;
	struct bw_store_txn *txn = store_txn_begin(s->store, err, sizeof(err));
	struct acct **done;

	if (!txn)
		return fail(s, BW_ESTORE, err);
	if (!(done = calloc(max, sizeof(*done)))) {
		store_txn_abort(txn);
		return fail(s, BW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; n < max && s->n_due && i < s->n_pending;) {
		struct acct *a = s->pend[i];
		if (!a->due) {
			i++;
			continue;
		}
		if (score_one(s, txn, a, &txt))
			break;
		if (stage_produce(s->rt, s->cfg->score_topic, a->id, strlen(a->id), txt, strlen(txt),
				  NULL, NULL, 0, 0)) {
			free(txt);
			break;
		}
		free(txt);
		done[n++] = a;
		a->scored_ms = a->event_ms;
		a->due = false;
		free(a->msg);
		a->msg = NULL;
		s->n_due--;
		pend_remove(s, a); /* its place now holds the list's last: not advanced */
	}
	if (stage_error(s->rt)) {
		store_txn_abort(txn);
		free(done);
		return stage_error(s->rt);
	}
	if (store_txn_commit(txn, err, sizeof(err))) {
		free(done);
		return fail(s, BW_ESTORE, err);
	}
	for (size_t i = 0; i < n; i++) {
		double st = staleness_s(done[i]->since_ts);
		if (st >= 0) {
			bw_histogram_observe(s->m.stale, NULL, st);
			if (st > s->st.staleness_max_s)
				s->st.staleness_max_s = st;
		}
		done[i]->since_ts = 0;
	}
	free(done);
	stage_drift_advance(s->drift, s->watermark, false);
	s->st.batches++;
	s->st.scored += n;
	bw_counter_add(s->m.batches, NULL, 1);
	bw_counter_add(s->m.scored, NULL, n);
	bw_gauge_set(s->m.pending, NULL, (double)s->n_pending);
	return 0;
}

/* True when a's pending update holds its partition's commit more than
 * score.max_holdback messages behind what was consumed. */
static bool holds_back(const struct sstage *s, const struct acct *a)
{
	const rd_kafka_topic_partition_t *p =
		rd_kafka_topic_partition_list_find(stage_positions(s->rt), s->cfg->features_topic,
						   a->partition);
	return p && p->offset - a->offset > s->cfg->score_max_holdback;
}

/* Due by time: score.coalesce_ms of wall clock once the event-time debounce
 * is over, else score.max_staleness_ms / 2 of wall clock. */
static bool waited_enough(const struct sstage *s, const struct acct *a, int64_t now)
{
	int64_t waited = now - a->pending_at;

	if (waited >= s->cfg->score_max_staleness_ms / 2)
		return true;
	return waited >= s->cfg->score_coalesce_ms && debounce_over(s, a, s->watermark);
}

/* Make pending accounts due (scanned at most every STAGE_SCAN_MS unless `all`). */
static void release(struct sstage *s, bool all, int64_t now)
{
	bool idle = s->cfg->score_idle_flush_ms &&
		    now - stage_last_message_ms(s->rt) >= s->cfg->score_idle_flush_ms;
	bool over = s->n_pending > (size_t)s->cfg->score_max_pending;

	if (s->n_pending == s->n_due || (!all && now - s->scanned_ms < STAGE_SCAN_MS))
		return;
	for (size_t i = 0; i < s->n_pending; i++) {
		struct acct *a = s->pend[i];
		if (!a->due && (all || idle || over || waited_enough(s, a, now) || holds_back(s, a)))
			mark_due(s, a);
	}
	s->scanned_ms = now;
}

/* ---- runtime callbacks ---------------------------------------------------------------- */

/* Take one feature update as its account's pending update. */
static int on_message(void *ctx, struct stage *rt, const rd_kafka_message_t *m)
{
	struct sstage *s = ctx;
	struct feat_update u;
	char why[256];
	const char *bad = NULL;
	struct acct *a;
	int64_t ts;
	int rc;

	s->rt = rt;
	s->st.messages++;
	bw_counter_add(s->m.updates, NULL, 1);
	if ((rc = feat_update_decode(m->payload, m->len, &u)))
		bad = rc == BW_ESCHEMA ? "not a feature update (magic or version)" : "malformed update";
	else
		bad = unscorable(s, &u, why, sizeof(why));
	if (bad) {
		s->st.errors++;
		bw_counter_add(s->m.errors, NULL, 1);
		BW_WARN("score: %s[%d]@%lld: update not scored: %s", rd_kafka_topic_name(m->rkt),
			(int)m->partition, (long long)m->offset, bad);
		return 0;
	}
	if (!(a = tab_get(s, u.user_id)))
		return -1;
	if (a->msg) {
		free(a->msg);
		s->st.debounced++;
		bw_counter_add(s->m.debounced, NULL, 1);
	} else if (pend_add(s, a)) {
		return -1;
	}
	if (!(a->msg = malloc(m->len ? m->len : 1))) {
		pend_remove(s, a);
		return fail(s, BW_ENOMEM, "out of memory");
	}
	memcpy(a->msg, m->payload, m->len);
	a->len = m->len;
	a->partition = m->partition;
	a->offset = m->offset;
	a->event_ms = u.last_event_ms;
	ts = rd_kafka_message_timestamp(m, NULL);
	if (ts > 0 && (!a->since_ts || ts < a->since_ts))
		a->since_ts = ts;
	if (u.last_event_ms != BW_TIME_NONE &&
	    (s->watermark == BW_TIME_NONE || u.last_event_ms > s->watermark))
		s->watermark = u.last_event_ms;
	if (a->scored_ms == BW_TIME_NONE)
		mark_due(s, a); /* never scored here: no earlier score to coalesce with */
	return 0;
}

/* opts->reload: load cfg->score_model again and use it from the next
 * account scored on; a model that does not load leaves the old one. Runs
 * from on_tick, between batches, so no score is half computed with either. */
static void maybe_reload(struct sstage *s)
{
	struct clf_model *m;
	char err[512];

	if (!s->opts->reload || !atomic_exchange(s->opts->reload, 0))
		return;
	if (!(m = clf_model_load(s->cfg->score_model, feat_schema_hash(), feat_count(), err,
				 sizeof(err)))) {
		BW_ERROR("score: model reload from %s failed, still scoring with %s: %s",
			 s->cfg->score_model, clf_model_id(s->mdl), err);
		return;
	}
	BW_INFO("score: model reloaded from %s: %s -> %s", s->cfg->score_model,
		clf_model_id(s->mdl), clf_model_id(m));
	clf_model_free(s->own_mdl); /* a borrowed model stays with its owner */
	s->mdl = s->own_mdl = m;
}

static int on_tick(void *ctx, struct stage *rt, int64_t now)
{
	struct sstage *s = ctx;
	bool done = s->opts->upstream_done && *s->opts->upstream_done && stage_input_idle(rt);

	s->rt = rt;
	maybe_reload(s);
	/* nothing left to coalesce once upstream is done and nothing waits */
	release(s, done, now);
	return 0;
}

static bool on_due(void *ctx, struct stage *rt, int64_t now)
{
	struct sstage *s = ctx;

	s->rt = rt;

	/* score.batch_ms gathers due accounts while updates flow; once none is
	 * waiting in the consumer there is nothing to gather (and the features
	 * stage may be paused on this group's lag) */
	return s->n_due >= (size_t)s->cfg->score_batch ||
	       (s->n_due && (stage_input_idle(s->rt) || now - s->due_since >= s->cfg->score_batch_ms));
}

static int on_cut(void *ctx, struct stage *rt, bool all)
{
	struct sstage *s = ctx;

	s->rt = rt;
	if (all)
		release(s, true, bw_time_mono_ms());
	while (s->n_due && !stage_error(rt))
		score_batch(s);
	return stage_error(rt);
}

/* Commit no further than the earliest update still pending in each partition. */
static void on_hold(void *ctx, rd_kafka_topic_partition_list_t *offs)
{
	struct sstage *s = ctx;

	for (size_t i = 0; i < s->n_pending; i++) {
		const struct acct *a = s->pend[i];
		rd_kafka_topic_partition_t *p;
		if (!(p = rd_kafka_topic_partition_list_find(offs, s->cfg->features_topic, a->partition)))
			continue;
		if (a->offset < p->offset)
			p->offset = a->offset;
	}
}

static bool on_busy(void *ctx)
{
	const struct sstage *s = ctx;
	return s->n_pending > 0;
}

/* The store's transactions since the last sync, on disk before the offsets
 * that depend on them are committed. */
static int on_durable(void *ctx)
{
	struct sstage *s = ctx;
	char err[256];

	if (store_sync(s->store, err, sizeof(err)))
		return fail(s, BW_ESTORE, err);
	return 0;
}

static int on_start(void *ctx, struct stage *rt)
{
	struct sstage *s = ctx;
	char err[256];

	s->rt = rt;
	if (store_set_deferred_sync(s->store, true, err, sizeof(err)))
		return fail(s, BW_ESTORE, err);
	if (s->cfg->score_create_topic)
		create_topic(s);
	return 0;
}

static const struct stage_ops score_ops = {
	.start = on_start,
	.message = on_message,
	.tick = on_tick,
	.due = on_due,
	.cut = on_cut,
	.hold = on_hold,
	.durable = on_durable,
	.busy = on_busy,
};

/* ---- setup and run ---------------------------------------------------------------------- */

static int setup(struct sstage *s, char *errstr, size_t errlen)
{
	static const double stale_bounds[] = { 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60 };
	const struct bw_config *c = s->cfg;

	s->mdl = s->opts->model;
	if (!s->mdl && !(s->mdl = s->own_mdl = clf_model_load(c->score_model, feat_schema_hash(),
							       feat_count(), errstr, errlen)))
		return BW_ESCHEMA;
	s->store = s->opts->store;
	if (!s->store) {
		if (!(s->store = store_open(c->store_path, true, (size_t)c->store_map_size_mb, errstr,
					    errlen)))
			return BW_ESTORE;
		s->own_store = true;
	}
	store_set_history_keep(s->store, c->store_history_keep);
	if (audit_model_register(s->store, s->mdl, c->score_model, errstr, errlen))
		return BW_ESTORE;
	if (!(s->vec = malloc((clf_model_n_features(s->mdl) + 1) * sizeof(*s->vec))) ||
	    !(s->tab = bw_map_new()) || !(s->drift = stage_drift_new(c, s->mdl, "score")))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	s->m.updates = bw_counter("botwatch_score_updates_total", "Feature updates consumed.", NULL);
	s->m.scored = bw_counter("botwatch_score_accounts_scored_total",
				 "Score records written to the store and the scores topic.", NULL);
	s->m.batches = bw_counter("botwatch_score_batches_total",
				  "Scoring batches (store transactions) committed.", NULL);
	s->m.debounced = bw_counter("botwatch_score_debounced_total",
				    "Feature updates replaced by a later one before being scored.", NULL);
	s->m.errors = bw_counter("botwatch_score_errors_total",
				 "Feature updates not scored (undecodable, other schema, no evidence).",
				 NULL);
	s->m.pending = bw_gauge("botwatch_score_pending",
				"Accounts held back by the debounce, not yet scored.", NULL);
	s->m.stale = bw_histogram("botwatch_score_staleness_seconds",
				  "Wall-clock time from a post reaching Kafka to its account's stored "
				  "score.", NULL, stale_bounds,
				  sizeof(stale_bounds) / sizeof(stale_bounds[0]));
	return 0;
}

static void teardown(struct sstage *s)
{
	struct acct *a;
	size_t pos = 0;

	while (s->tab && (a = bw_map_next(s->tab, &pos, NULL))) {
		free(a->msg);
		free(a);
	}
	bw_map_free(s->tab);
	free(s->pend);
	stage_drift_advance(s->drift, s->watermark, true); /* judge the open windows as they are */
	stage_drift_free(s->drift);
	if (s->own_store)
		store_close(s->store);
	clf_model_free(s->own_mdl);
	free(s->vec);
}

int clf_stage_run(const struct bw_config *cfg, const struct clf_stage_opts *opts,
		  atomic_int *stop, struct clf_stage_stats *stats, char *errstr,
		  size_t errlen)
{
	struct sstage s = { .cfg = cfg, .opts = opts, .watermark = BW_TIME_NONE };
	struct stage_stats rs = { 0 };
	struct stage_spec sp = {
		.name = "score",
		.cfg = cfg,
		.group = cfg->score_group,
		.instance = cfg->score_instance,
		.input = cfg->features_topic,
		.assign_partitions = opts->assign_partitions,
		.outputs = { cfg->score_topic, NULL },
		.commit_ms = 1000, /* one store sync per commit: a group commit; the committed lag
				      this leaves is part of what the features stage throttles on
				      (features.max_update_lag) */
		.idle_exit_ms = opts->idle_exit_ms,
		.stop = stop,
		.ops = &score_ops,
		.ctx = &s,
	};
	int rc = setup(&s, errstr, errlen);

	if (rc == 0) {
		BW_INFO("score: consuming %s as group %s; model %s; records to %s and %s",
			cfg->features_topic, cfg->score_group, clf_model_id(s.mdl), cfg->score_topic,
			opts->store ? "the shared store" : cfg->store_path);
		rc = stage_run(&sp, &rs, errstr, errlen);
	}
	teardown(&s);
	s.st.commits = rs.commits;
	s.st.delivery_failed = rs.failed;
	if (stats)
		*stats = s.st;
	return rc;
}
