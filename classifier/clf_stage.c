/*
 * clf_stage.c — the Kafka scoring stage (clf_stage.h, docs/PIPELINE.md).
 *
 * One consumer in group score.group_id on features.topic. Each feature
 * update is validated on arrival (decodable, the model's feature schema,
 * carries evidence) and becomes its account's *pending* update, replacing an
 * older pending one (counted as debounced). A pending account is *due* when
 * it was never scored by this process, or its update's event time — or the
 * stream's event-time watermark — is at least score.debounce_ms past the
 * event time of its last score; when no update arrived for
 * score.idle_flush_ms; when more than score.max_pending accounts wait; when
 * holding it would keep its partition's committed offset more than
 * score.max_holdback messages behind the consumed position (which bounds the
 * group's lag, so the features stage's backpressure and the broker's
 * retention see progress); and on revocation and shutdown.
 *
 * Due accounts are scored in batches of at most score.batch (or after
 * score.batch_ms): one LMDB store transaction with every record and vector,
 * then the records to score.topic, then — once they and every earlier
 * batch's records are delivered (up to STAGE_INFLIGHT batches are in delivery
 * while the next ones are scored) — the offsets committed to Kafka, never
 * past the earliest update still pending in a partition, so a crash re-delivers every unscored account's latest update
 * (at-least-once into an idempotent store: the same record bytes again).
 *
 * Memory: the account table keeps, per account seen, its last score's event
 * time and its pending update; past STAGE_MAX_TRACKED accounts the entries
 * without a pending update are forgotten (their next update is then scored
 * without debounce).
 *
 * This is a stage, not library code: it logs through bw_log.
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <xxhash.h>

#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_stage.h"
#include "feat.h"
#include "feat_stage.h"
#include "store.h"

#define STAGE_MAX_TRACKED (1u << 18) /* accounts remembered (see above) */
#define STAGE_DELIVERY_MS 30000      /* longest wait for score records to be delivered */
#define STAGE_ADMIN_MS 10000         /* longest wait for the topic creation answer */
#define STAGE_SCAN_MS 100            /* least time between two watermark release scans */
#define STAGE_INFLIGHT 8             /* batches whose records may be in delivery at once */

/* One account in the table. */
struct acct {
	char id[64];            /* account id; "" = free slot */
	int64_t scored_ms;      /* event time of the last score, BW_TIME_NONE = never */
	unsigned char *msg;     /* pending feature update (owned) or NULL */
	size_t len;             /* its length */
	int32_t partition;      /* its partition */
	int64_t offset;         /* its offset */
	int64_t event_ms;       /* its event time (latest own event) */
	bool due;               /* pending and due for scoring */
};

/* A scored batch whose records are being delivered, and the offsets to commit
 * once they and every earlier batch's records are delivered. */
struct inflight {
	uint64_t seq;                          /* batch number (delivery report opaque) */
	size_t remaining;                      /* its records not yet reported */
	rd_kafka_topic_partition_list_t *offs; /* offsets to commit (owned) or NULL */
};

/* The stage's metrics (registry-owned handles). */
struct stage_metrics {
	struct bw_metric *updates, *scored, *batches, *debounced, *errors, *pending;
};

struct stage {
	const struct bw_config *cfg;          /* borrowed */
	const struct clf_stage_opts *opts;    /* borrowed */
	volatile sig_atomic_t *stop;          /* borrowed stop flag */
	rd_kafka_t *rk;                       /* consumer */
	rd_kafka_t *prod;                     /* producer of score records */
	rd_kafka_topic_t *out;                /* its handle on score.topic (metadata learnt at
						 start) or NULL */
	rd_kafka_topic_t *in;                 /* consumer handle on features.topic when its
						 partitions are assigned directly, or NULL */
	struct bw_store *store;               /* store (borrowed or owned) */
	bool own_store;                       /* opened here */
	const struct clf_model *mdl;          /* model (borrowed or owned) */
	struct clf_model *own_mdl;            /* loaded here, or NULL */
	struct acct *tab;                     /* open-addressing table */
	size_t cap, n;                        /* slots (power of two) / used */
	size_t n_pending, n_due;              /* accounts with a pending update / of them due */
	int64_t due_since;                    /* monotonic ms the oldest due account became due */
	int64_t watermark;                    /* largest update event time seen */
	int64_t released_at;                  /* watermark of the last debounce release scan */
	int64_t scanned_ms;                   /* monotonic ms of that scan */
	rd_kafka_topic_partition_list_t *next;/* next offset to consume per partition */
	bool dirty;                           /* consumed since the last offset commit */
	bool assigned;                        /* partitions assigned */
	int64_t last_msg;                     /* monotonic ms of the last message/assignment */
	double *vec;                          /* scoring scratch */
	uint64_t delivery_failed;             /* delivery reports with an error */
	struct inflight fl[STAGE_INFLIGHT];   /* batches in delivery, oldest first */
	size_t n_fl;                          /* used entries of fl */
	uint64_t seq;                         /* number of the next batch */
	struct stage_metrics m;               /* metrics */
	struct clf_stage_stats st;            /* counters */
	int err;                              /* first fatal error */
	char errbuf[512];                     /* its message */
};

static int fail(struct stage *s, int err, const char *msg)
{
	if (!s->err) {
		s->err = err;
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", msg);
	}
	return err;
}

/* ---- the account table ---------------------------------------------------------- */

static size_t slot_of(const struct acct *tab, size_t cap, const char *id)
{
	size_t i = (size_t)XXH3_64bits(id, strlen(id)) & (cap - 1);
	while (tab[i].id[0] && strcmp(tab[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Double the table, or rebuild it without idle entries past STAGE_MAX_TRACKED. */
static int tab_grow(struct stage *s)
{
	bool forget = s->n >= STAGE_MAX_TRACKED;
	size_t cap = s->cap ? (forget ? s->cap : s->cap * 2) : 1024, n = 0;
	struct acct *t = calloc(cap, sizeof(*t));

	if (!t)
		return fail(s, BW_ENOMEM, "out of memory growing the account table");
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].id[0] || (forget && !s->tab[i].msg))
			continue;
		t[slot_of(t, cap, s->tab[i].id)] = s->tab[i];
		n++;
	}
	if (forget)
		BW_INFO("score: forgot the debounce times of %zu idle account(s)", s->n - n);
	free(s->tab);
	s->tab = t;
	s->cap = cap;
	s->n = n;
	return 0;
}

/* The account's entry, created when missing; NULL on allocation failure. */
static struct acct *tab_get(struct stage *s, const char *id)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && tab_grow(s))
		return NULL;
	i = slot_of(s->tab, s->cap, id);
	if (!s->tab[i].id[0]) {
		snprintf(s->tab[i].id, sizeof(s->tab[i].id), "%s", id);
		s->tab[i].scored_ms = BW_TIME_NONE;
		s->n++;
	}
	return &s->tab[i];
}

static void mark_due(struct stage *s, struct acct *a)
{
	if (a->due || !a->msg)
		return;
	a->due = true;
	if (s->n_due++ == 0)
		s->due_since = bw_time_mono_ms();
}

/* Due by event time: never scored, no event time, or debounce_ms past the last score. */
static bool debounce_over(const struct stage *s, const struct acct *a, int64_t t)
{
	return a->scored_ms == BW_TIME_NONE || t == BW_TIME_NONE ||
	       t - a->scored_ms >= s->cfg->score_debounce_ms;
}

/* ---- producing and committing --------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct stage *s = opaque;
	uint64_t seq = (uint64_t)(uintptr_t)m->_private;
	(void)rk;
	for (size_t i = 0; i < s->n_fl; i++)
		if (s->fl[i].seq == seq && s->fl[i].remaining > 0)
			s->fl[i].remaining--;
	if (m->err) {
		s->delivery_failed++;
		BW_ERROR("score: delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
			 rd_kafka_err2str(m->err));
	}
}

static int produce(struct stage *s, const char *key, const char *value, size_t len)
{
	rd_kafka_resp_err_t e;

	for (;;) {
		e = rd_kafka_producev(s->prod, RD_KAFKA_V_TOPIC(s->cfg->score_topic),
				      RD_KAFKA_V_KEY(key, strlen(key)),
				      RD_KAFKA_V_VALUE((void *)value, len),
				      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)s->seq),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(s->prod, 50);
	}
	if (e) {
		char msg[256];
		snprintf(msg, sizeof(msg), "produce to %s: %s", s->cfg->score_topic, rd_kafka_err2str(e));
		return fail(s, BW_EKAFKA, msg);
	}
	return 0;
}

/* The consumed offsets, held back to the earliest pending update per partition
 * (caller destroys); NULL when out of memory. */
static rd_kafka_topic_partition_list_t *commit_point(struct stage *s)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(s->next);

	if (!l) {
		fail(s, BW_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < s->cap && s->n_pending; i++) {
		const struct acct *a = &s->tab[i];
		rd_kafka_topic_partition_t *p;
		if (!a->msg ||
		    !(p = rd_kafka_topic_partition_list_find(l, s->cfg->features_topic, a->partition)))
			continue;
		if (a->offset < p->offset)
			p->offset = a->offset;
	}
	return l;
}

/* Commit `l` (taken: destroyed here); false when the commit failed. */
static bool commit_list(struct stage *s, rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 0);

	rd_kafka_topic_partition_list_destroy(l);
	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		BW_WARN("score: offset commit failed: %s (retried at the next batch)", rd_kafka_err2str(e));
		return false;
	}
	s->st.commits++;
	return true;
}

/*
 * Commit the offsets of the oldest batches whose records (and every earlier
 * batch's) are delivered; a failed delivery is fatal before anything more
 * is committed, so a committed offset still means "stored and published".
 */
static void commit_delivered(struct stage *s)
{
	rd_kafka_topic_partition_list_t *last = NULL;
	size_t done = 0;

	if (!s->err && s->delivery_failed)
		fail(s, BW_EKAFKA, "score records could not be delivered (see the log)");
	while (done < s->n_fl && s->fl[done].remaining == 0) {
		if (last)
			rd_kafka_topic_partition_list_destroy(last);
		last = s->fl[done++].offs;
	}
	if (!done)
		return;
	memmove(s->fl, s->fl + done, (s->n_fl - done) * sizeof(s->fl[0]));
	s->n_fl -= done;
	if (!last)
		return;
	if (s->err)
		rd_kafka_topic_partition_list_destroy(last);
	else if (!commit_list(s, last))
		s->dirty = true;
}

/* Wait until at most `keep` batches are in delivery, committing as they finish. */
static void await_delivery(struct stage *s, size_t keep)
{
	int64_t end = bw_time_mono_ms() + STAGE_DELIVERY_MS;

	commit_delivered(s);
	while (s->n_fl > keep && !s->err) {
		if (bw_time_mono_ms() >= end) {
			fail(s, BW_EKAFKA, "score records not delivered within 30 s");
			return;
		}
		rd_kafka_poll(s->prod, 10);
		commit_delivered(s);
	}
}

/* Commit the consumed offsets now (after every batch in delivery is delivered). */
static void commit_offsets(struct stage *s)
{
	rd_kafka_topic_partition_list_t *l;

	await_delivery(s, 0);
	if (!s->dirty || !s->next->cnt || s->err || !(l = commit_point(s)))
		return;
	s->dirty = !commit_list(s, l);
}

/* ---- scoring ----------------------------------------------------------------------- */

/* The CLF_AVAIL_* mask of a decoded update. */
static uint32_t update_avail(const struct feat_update *u)
{
	return ((u->evidence & FEAT_EVID_TEXT) ? CLF_AVAIL_TEXT : 0u) |
	       ((u->evidence & FEAT_EVID_COUNTS) ? CLF_AVAIL_COUNTS : 0u) |
	       (u->own_posts >= CLF_MIN_POSTS ? CLF_AVAIL_ACTIVITY : 0u);
}

/* Score a's pending update into the open store transaction; the record text is
 * returned malloc'd in *txt (caller frees). */
static int score_one(struct stage *s, struct bw_store_txn *txn, const struct acct *a, char **txt)
{
	struct feat_update u;
	struct clf_score sc;
	char err[256];
	json_t *rec;

	if (feat_update_decode(a->msg, a->len, &u)) /* validated on arrival */
		return fail(s, BW_EPARSE, "a pending feature update no longer decodes");
	feat_update_values(&u, s->vec);
	clf_score(s->mdl, s->vec, update_avail(&u), s->cfg->score_cap_prior, &sc);
	struct clf_record_info info = { .user_id = u.user_id,
					.screen_name = u.screen_name[0] ? u.screen_name : NULL,
					.scored_at_ms = u.last_event_ms,
					.posts_seen = u.posts_seen };
	rec = clf_score_to_json(s->mdl, &sc, &info);
	*txt = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(rec);
	if (!*txt)
		return fail(s, BW_ENOMEM, "out of memory building a score record");
	if (store_txn_put(txn, info.user_id, info.screen_name, *txt, strlen(*txt), s->vec, u.n, err,
			  sizeof(err)))
		return fail(s, BW_ESTORE, err);
	return 0;
}

/* Records of one batch, kept until produced. */
struct batch {
	size_t n;        /* records */
	char **id;       /* account ids (owned copies) */
	char **txt;      /* record texts (owned) */
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->id[i]);
		free(b->txt[i]);
	}
	free(b->id);
	free(b->txt);
}

/* Score up to score.batch due accounts in one store transaction. */
static int score_due(struct stage *s, struct batch *b)
{
	size_t max = (size_t)s->cfg->score_batch;
	char err[256];
	struct bw_store_txn *txn = store_txn_begin(s->store, err, sizeof(err));

	if (!txn)
		return fail(s, BW_ESTORE, err);
	if (!(b->id = calloc(max, sizeof(char *))) || !(b->txt = calloc(max, sizeof(char *)))) {
		store_txn_abort(txn);
		return fail(s, BW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->cap && b->n < max && s->n_due && !s->err; i++) {
		struct acct *a = &s->tab[i];
		if (!a->due)
			continue;
		if (score_one(s, txn, a, &b->txt[b->n]) || !(b->id[b->n] = strdup(a->id))) {
			free(b->txt[b->n]);
			b->txt[b->n] = NULL;
			break;
		}
		b->n++;
		a->scored_ms = a->event_ms;
		a->due = false;
		free(a->msg);
		a->msg = NULL;
		s->n_due--;
		s->n_pending--;
	}
	if (s->err) {
		store_txn_abort(txn);
		return s->err;
	}
	if (store_txn_commit(txn, err, sizeof(err)))
		return fail(s, BW_ESTORE, err);
	return 0;
}

/*
 * Score and store one batch of due accounts, then produce its records without
 * waiting: the batch joins the in-delivery list with the offsets to commit
 * once its records and every earlier batch's are delivered (commit_delivered),
 * so scoring the next batch overlaps this one's delivery.
 */
static int run_batch(struct stage *s)
{
	struct batch b = { 0 };
	struct inflight *f;

	await_delivery(s, STAGE_INFLIGHT - 1); /* room for this batch */
	if (s->err || score_due(s, &b)) {
		batch_free(&b);
		return s->err;
	}
	f = &s->fl[s->n_fl++];
	*f = (struct inflight){ .seq = s->seq, .remaining = b.n };
	for (size_t i = 0; i < b.n && !s->err; i++)
		if (produce(s, b.id[i], b.txt[i], strlen(b.txt[i])))
			f->remaining = 0; /* fatal: nothing more is committed */
	s->seq++;
	if (!s->err && s->next->cnt)
		f->offs = commit_point(s); /* scored accounts no longer hold their offsets back */
	if (!s->err) {
		s->st.batches++;
		s->st.scored += b.n;
		bw_counter_add(s->m.batches, NULL, 1);
		bw_counter_add(s->m.scored, NULL, b.n);
		bw_gauge_set(s->m.pending, NULL, (double)s->n_pending);
	}
	batch_free(&b);
	commit_delivered(s);
	return s->err;
}

/* True when a's pending update holds its partition's commit more than
 * score.max_holdback messages behind what was consumed. */
static bool holds_back(const struct stage *s, const struct acct *a)
{
	const rd_kafka_topic_partition_t *p =
		rd_kafka_topic_partition_list_find(s->next, s->cfg->features_topic, a->partition);
	return p && p->offset - a->offset > s->cfg->score_max_holdback;
}

/* Make pending accounts due: by watermark or holdback (scanned at most every
 * STAGE_SCAN_MS), idle time, overflow or `all`. */
static void release(struct stage *s, bool all, int64_t now)
{
	bool idle = s->cfg->score_idle_flush_ms && now - s->last_msg >= s->cfg->score_idle_flush_ms;
	bool over = s->n_pending > (size_t)s->cfg->score_max_pending;
	bool scan = now - s->scanned_ms >= STAGE_SCAN_MS;

	if (s->n_pending == s->n_due || !(all || idle || over || scan))
		return;
	for (size_t i = 0; i < s->cap; i++) {
		struct acct *a = &s->tab[i];
		if (a->msg && !a->due &&
		    (all || idle || over || debounce_over(s, a, s->watermark) || holds_back(s, a)))
			mark_due(s, a);
	}
	s->released_at = s->watermark;
	s->scanned_ms = now;
}

/* Score every due account now (and with `all` every pending one). */
static int drain(struct stage *s, bool all)
{
	release(s, all, bw_time_mono_ms());
	while (s->n_due && !s->err)
		run_batch(s);
	if (!s->err)
		commit_offsets(s);
	return s->err;
}

/* ---- consuming --------------------------------------------------------------------- */

static void note_offset(struct stage *s, const rd_kafka_message_t *m)
{
	bw_kafka_note_offset(s->next, m);
	s->dirty = true;
}

/* Why a decoded update cannot be scored by this model, or NULL. */
static const char *unscorable(const struct stage *s, const struct feat_update *u, char *buf,
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

/* Take one feature update as its account's pending update. */
static int on_message(struct stage *s, const rd_kafka_message_t *m)
{
	struct feat_update u;
	char why[256];
	const char *bad = NULL;
	struct acct *a;
	int rc;

	s->st.messages++;
	bw_counter_add(s->m.updates, NULL, 1);
	note_offset(s, m);
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
		return s->err;
	if (a->msg) {
		free(a->msg);
		s->st.debounced++;
		bw_counter_add(s->m.debounced, NULL, 1);
	} else {
		s->n_pending++;
	}
	if (!(a->msg = malloc(m->len ? m->len : 1)))
		return fail(s, BW_ENOMEM, "out of memory");
	memcpy(a->msg, m->payload, m->len);
	a->len = m->len;
	a->partition = m->partition;
	a->offset = m->offset;
	a->event_ms = u.last_event_ms;
	if (u.last_event_ms != BW_TIME_NONE &&
	    (s->watermark == BW_TIME_NONE || u.last_event_ms > s->watermark))
		s->watermark = u.last_event_ms;
	if (debounce_over(s, a, u.last_event_ms))
		mark_due(s, a);
	return 0;
}

/* Start consuming `parts` (from the group's committed offsets, else the earliest). */
static rd_kafka_resp_err_t take_partitions(struct stage *s, rd_kafka_t *rk,
					   const rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);

	if (e)
		return e;
	s->assigned = true;
	s->last_msg = bw_time_mono_ms();
	BW_INFO("score: assigned %d partition(s) of %s", parts->cnt, s->cfg->features_topic);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct stage *s = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		take_partitions(s, rk, parts);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		drain(s, true); /* score and commit before the partitions move */
		BW_INFO("score: revoked %d partition(s)", parts->cnt);
	}
	rd_kafka_assign(rk, NULL);
	rd_kafka_topic_partition_list_destroy(s->next);
	s->next = rd_kafka_topic_partition_list_new(8);
	s->assigned = false;
}

/* ---- setup and the loop -------------------------------------------------------------- */

static rd_kafka_t *make_client(struct stage *s, rd_kafka_type_t type, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->cfg;
	rd_kafka_conf_t *conf =
		(type == RD_KAFKA_CONSUMER ? bw_kafka_consumer_conf_new : bw_kafka_conf_new)(
			c->kafka_bootstrap, c->n_kafka, c->kafka_keys, c->kafka_values, errstr, errlen);

	if (!conf)
		return NULL;
	return bw_kafka_client_new(type, conf, c->score_group, rebalance_cb, dr_cb, s, errstr,
				   errlen);
}

/* True when the cluster's metadata lists `topic` (false also when it cannot be asked). */
static bool topic_exists(struct stage *s, const char *topic)
{
	const struct rd_kafka_metadata *md = NULL;
	bool found = false;

	if (rd_kafka_metadata(s->prod, 1, NULL, &md, STAGE_ADMIN_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
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
static void create_topic(struct stage *s)
{
	const struct bw_config *c = s->cfg;
	char err[256];

	if (topic_exists(s, c->score_topic))
		return;
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(c->score_topic, (int)c->broker_partitions, -1,
							err, sizeof(err));
	rd_kafka_queue_t *q = rd_kafka_queue_new(s->prod);
	rd_kafka_event_t *ev = NULL;

	if (!nt || !q)
		goto out_free;
	rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
	rd_kafka_CreateTopics(s->prod, &nt, 1, NULL, q);
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

static int setup_resources(struct stage *s, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->cfg;

	if (!c->kafka_bootstrap[0])
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "kafka.bootstrap.servers is empty: start `botwatch broker` (or point at a "
				 "cluster) and pass its address with --brokers");
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
	if (!(s->vec = malloc((clf_model_n_features(s->mdl) + 1) * sizeof(*s->vec))) ||
	    !(s->next = rd_kafka_topic_partition_list_new(8)) || tab_grow(s))
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
	return 0;
}

static int setup(struct stage *s, char *errstr, size_t errlen)
{
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t e;
	char why[256];
	int rc = setup_resources(s, errstr, errlen);

	if (rc)
		return rc;
	if (!(s->prod = make_client(s, RD_KAFKA_PRODUCER, errstr, errlen)) ||
	    !(s->rk = make_client(s, RD_KAFKA_CONSUMER, errstr, errlen)))
		return BW_EKAFKA;
	if (s->cfg->score_create_topic)
		create_topic(s);
	/* learn score.topic's leaders now, not at the first record (bw_kafka_topic_warm) */
	if (!(s->out = bw_kafka_topic_warm(s->prod, s->cfg->score_topic, STAGE_ADMIN_MS, why,
					   sizeof(why))))
		BW_WARN("score: %s (the first delivery may wait for a metadata refresh)", why);
	rd_kafka_poll_set_consumer(s->rk);
	if (s->opts->assign_partitions > 0) {
		/* the partitions' leader now, not after librdkafka's 1 s refresh */
		if (!(s->in = bw_kafka_topic_warm(s->rk, s->cfg->features_topic, STAGE_ADMIN_MS, why,
						  sizeof(why))))
			BW_WARN("score: %s (the first fetch may wait for a metadata refresh)", why);
	}
	sub = bw_kafka_input_list(s->cfg->features_topic, s->opts->assign_partitions);
	e = s->opts->assign_partitions > 0 ? take_partitions(s, s->rk, sub)
					   : rd_kafka_subscribe(s->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (e)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "%s %s: %s",
				 s->opts->assign_partitions > 0 ? "assign" : "subscribe to",
				 s->cfg->features_topic, rd_kafka_err2str(e));
	return 0;
}

static void loop(struct stage *s)
{
	while (!*s->stop && !s->err) {
		/* short waits while records are in delivery or accounts are due, so
		 * delivery reports and commits are not held up by an idle consumer */
		rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, s->n_fl || s->n_due ? 5 : 50);
		int64_t now;

		if (m) {
			if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
				on_message(s, m);
			else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				BW_WARN("score: consumer: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
		}
		rd_kafka_poll(s->prod, 0); /* delivery reports */
		commit_delivered(s);
		now = bw_time_mono_ms();
		if (m)
			s->last_msg = now;
		/* nothing left to coalesce once upstream is done and nothing waits */
		release(s, !m && s->opts->upstream_done && *s->opts->upstream_done, now);
		/* score.batch_ms gathers due accounts while updates flow; once none
		 * is waiting in the consumer there is nothing to gather (and the
		 * features stage may be paused on this group's lag) */
		if (s->n_due >= (size_t)s->cfg->score_batch ||
		    (s->n_due && (!m || now - s->due_since >= s->cfg->score_batch_ms)))
			run_batch(s);
		else if (s->dirty && !m && !s->n_fl)
			commit_offsets(s); /* skipped or debounced-only messages still move the group */
		if (s->opts->idle_exit_ms && s->assigned && !s->n_pending &&
		    now - s->last_msg >= s->opts->idle_exit_ms)
			break;
	}
}

static void teardown(struct stage *s)
{
	if (s->rk) {
		if (!s->err)
			drain(s, true);
		rd_kafka_consumer_close(s->rk); /* revokes: drains once more (nothing left) */
		if (s->in)
			rd_kafka_topic_destroy(s->in);
		rd_kafka_destroy(s->rk);
	}
	if (s->prod) {
		rd_kafka_flush(s->prod, STAGE_DELIVERY_MS);
		if (rd_kafka_outq_len(s->prod) > 0)
			fail(s, BW_EKAFKA, "score records still queued after 30 s");
		if (s->out)
			rd_kafka_topic_destroy(s->out);
		rd_kafka_destroy(s->prod);
	}
	for (size_t i = 0; i < s->n_fl; i++)
		if (s->fl[i].offs)
			rd_kafka_topic_partition_list_destroy(s->fl[i].offs);
	for (size_t i = 0; i < s->cap; i++)
		free(s->tab[i].msg);
	free(s->tab);
	if (s->next)
		rd_kafka_topic_partition_list_destroy(s->next);
	if (s->own_store)
		store_close(s->store);
	clf_model_free(s->own_mdl);
	free(s->vec);
}

int clf_stage_run(const struct bw_config *cfg, const struct clf_stage_opts *opts,
		  volatile sig_atomic_t *stop, struct clf_stage_stats *stats, char *errstr,
		  size_t errlen)
{
	struct stage s = { .cfg = cfg, .opts = opts, .stop = stop, .watermark = BW_TIME_NONE,
			   .released_at = BW_TIME_NONE };
	int rc = setup(&s, errstr, errlen);

	if (rc == 0) {
		BW_INFO("score: consuming %s as group %s; model %s; records to %s and %s",
			cfg->features_topic, cfg->score_group, clf_model_id(s.mdl), cfg->score_topic,
			opts->store ? "the shared store" : cfg->store_path);
		s.last_msg = bw_time_mono_ms();
		loop(&s);
	}
	teardown(&s);
	if (rc == 0 && s.err)
		rc = bw_seterr(errstr, errlen, s.err, "%s", s.errbuf);
	if (stats)
		*stats = s.st;
	return rc;
}
