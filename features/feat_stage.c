/*
 * feat_stage.c — the Kafka features stage (feat_stage.h, docs/STATE.md).
 *
 * One consumer in group features.group_id on the posts topic (messages are
 * ingest's binary post encoding, key = author id). Messages are folded in
 * batches: every account touched by a batch is loaded from LMDB once, updated,
 * and written back together with the batch's next offsets in one LMDB
 * transaction; then a feature update per authored account goes to the
 * features topic and the same offsets are committed to Kafka (so ingest's
 * lag watch sees progress). On assignment each partition resumes from the
 * offset in LMDB (the source of truth); on revocation the open batch is
 * committed first.
 *
 * Observations: a post that names other accounts (feat_post_targets) is
 * forwarded once per named account to the posts topic, keyed by that account
 * and marked with the header "bw-observe", so the worker owning that
 * account's partition folds it in as an observation — no two workers ever
 * write one account's state. A crash between the forward and the LMDB commit
 * forwards again; observations are deduplicated by post id, so nothing is
 * counted twice.
 *
 * Population features (feat.h): the store keeps every authored account under
 * its bio key, moved in the batch's transaction when its bio changes. An
 * update carries the count of its key as of its batch; when a batch changes a
 * key's count, the key's other accounts (up to FEAT_POP_CAP + 1 of them, past
 * which the feature no longer changes) are loaded and their updates sent
 * again, so every account's latest update holds the count of the accounts
 * read so far, as `botwatch replay` computes it at the end. The counts are
 * those of this worker's partitions: with several workers, a template whose
 * accounts fall on different workers counts fewer.
 *
 * This is a stage, not library code: it logs through bw_log.
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <xxhash.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_time.h"
#include "feat_stage.h"
#include "postcodec.h"

#define OBSERVE_HEADER "bw-observe"

struct stage {
	const struct bw_config *cfg;          /* borrowed */
	const struct feat_stage_opts *opts;   /* borrowed */
	volatile sig_atomic_t *stop;          /* borrowed stop flag */
	rd_kafka_t *rk;                       /* consumer */
	rd_kafka_t *prod;                     /* producer: updates and forwards */
	struct feat_store *store;             /* LMDB state */
	struct bw_arena *arena;               /* decoded post of the current message */
	struct feat_account **slots;          /* batch cache: hash table by account id */
	size_t cap;                           /* slots */
	struct feat_account **cached;         /* cached states in insertion order */
	size_t n_cached, cap_cached;          /* used / allocated */
	size_t n_folded;                      /* cached states the batch folded into (the rest:
						 other accounts of changed keys, re-emitted) */
	struct feat_pop_keys *key0;           /* population keys of each cached state as loaded */
	uint32_t *npop;                       /* accounts under each cached state's most shared
						 key (flush) */
	uint64_t *changed;                    /* keys whose count the batch changed */
	size_t n_changed, cap_changed;        /* used / allocated */
	rd_kafka_topic_partition_list_t *offs;/* next offsets of the open batch */
	size_t in_batch;                      /* messages in the open batch */
	int64_t batch_start;                  /* monotonic ms of its first message */
	bool assigned;                        /* partitions assigned */
	int64_t last_msg;                     /* monotonic ms of the last message/assignment */
	double *vec;                          /* extraction scratch */
	rd_kafka_topic_t *out[2];             /* producer handles on features.topic and ingest.topic
						 (metadata learnt at start) or NULL */
	rd_kafka_topic_t *in;                 /* consumer handle on ingest.topic when its partitions
						 are assigned directly (metadata learnt) or NULL */
	struct bw_kafka_lagwatch *lag;        /* downstream lag watch (features.lag_groups) or NULL */
	int64_t lag_checked;                  /* monotonic ms of the last lag query */
	int64_t lag_limit;                    /* effective features.max_update_lag (retention-capped) */
	bool lag_capped;                      /* the retention cap was logged */
	size_t batch_accounts;                /* commit the open batch at this many accounts (0 = no
						 bound): its updates must not overrun the limit */
	struct feat_stage_stats st;           /* counters */
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

/* ---- the batch cache --------------------------------------------------------------- */

static size_t slot_of(struct stage *s, const char *id)
{
	size_t i = (size_t)XXH3_64bits(id, strlen(id)) & (s->cap - 1);
	while (s->slots[i] && strcmp(feat_account_id(s->slots[i]), id) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int cache_grow(struct stage *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	struct feat_account **n = calloc(cap, sizeof(*n)), **o = realloc(s->cached, cap * sizeof(*o));
	struct feat_pop_keys *k = realloc(s->key0, cap * sizeof(*k));
	uint32_t *c = k ? realloc(s->npop, cap * sizeof(*c)) : NULL;

	if (o)
		s->cached = o;
	if (k)
		s->key0 = k;
	if (c)
		s->npop = c;
	if (!n || !o || !k || !c) {
		free(n);
		return BW_ENOMEM;
	}
	s->cap_cached = cap;
	free(s->slots);
	s->slots = n;
	s->cap = cap;
	for (size_t i = 0; i < s->n_cached; i++)
		s->slots[slot_of(s, feat_account_id(s->cached[i]))] = s->cached[i];
	return 0;
}

/* The keys an account is entered under in the population table: its own once
 * it has authored a post, none before. */
static void entered_keys(const struct feat_account *a, struct feat_pop_keys *k)
{
	k->n = 0;
	k->print = 0;
	if (feat_account_authored(a))
		feat_account_pop_keys(a, k);
}

/* The account's state for this batch: cached, else loaded from LMDB, else
 * new when `create` (else NULL with s->err unset). */
static struct feat_account *cache_load(struct stage *s, const char *id, bool create)
{
	char err[256];
	struct feat_account *a;
	size_t i;

	if ((s->n_cached + 1) * 2 > s->cap && cache_grow(s)) {
		fail(s, BW_ENOMEM, "out of memory");
		return NULL;
	}
	i = slot_of(s, id);
	if (s->slots[i])
		return s->slots[i];
	if (feat_store_get(s->store, id, &a, err, sizeof(err))) {
		fail(s, BW_ESTORE, err);
		return NULL;
	}
	if (!a && !create)
		return NULL;
	if (!a && !(a = feat_account_new(id))) {
		fail(s, BW_ENOMEM, "out of memory");
		return NULL;
	}
	s->slots[i] = a;
	entered_keys(a, &s->key0[s->n_cached]);
	s->cached[s->n_cached++] = a;
	return a;
}

static struct feat_account *cache_get(struct stage *s, const char *id)
{
	return cache_load(s, id, true);
}

/* ---- producing --------------------------------------------------------------------- */

/* Produce with retries on a full queue; `value` is copied. */
static int produce(struct stage *s, const char *topic, const char *key, const void *value,
		   size_t len, bool observe)
{
	rd_kafka_resp_err_t e;

	for (;;) {
		if (observe)
			e = rd_kafka_producev(s->prod, RD_KAFKA_V_TOPIC(topic),
					      RD_KAFKA_V_KEY(key, strlen(key)),
					      RD_KAFKA_V_VALUE((void *)value, len),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					      RD_KAFKA_V_HEADER(OBSERVE_HEADER, "1", 1), RD_KAFKA_V_END);
		else
			e = rd_kafka_producev(s->prod, RD_KAFKA_V_TOPIC(topic),
					      RD_KAFKA_V_KEY(key, strlen(key)),
					      RD_KAFKA_V_VALUE((void *)value, len),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(s->prod, 50);
	}
	if (e)
		return fail(s, BW_EKAFKA, rd_kafka_err2str(e));
	return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		BW_ERROR("features: delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
			 rd_kafka_err2str(m->err));
}

/* ---- batches ----------------------------------------------------------------------- */

static int emit_update(struct stage *s, const struct feat_account *a, uint32_t npop)
{
	unsigned char *buf;
	size_t len;

	if (feat_account_extract(a, BW_TIME_NONE, s->vec))
		return fail(s, BW_ENOMEM, "feature extraction failed");
	feat_pop_set(s->vec, npop);
	if (feat_update_encode(a, s->vec, &buf, &len))
		return fail(s, BW_ENOMEM, "feature extraction failed");
	produce(s, s->cfg->features_topic, feat_account_id(a), buf, len, false);
	free(buf);
	s->st.updates++;
	return s->err;
}

static int emit_updates(struct stage *s)
{
	for (size_t i = 0; i < s->n_cached && !s->err; i++)
		if (feat_account_authored(s->cached[i]))
			emit_update(s, s->cached[i], s->npop[i]);
	return s->err;
}

/* A key whose count the batch changed (repeats are dropped by update_population). */
static int push_changed(struct stage *s, uint64_t key)
{
	if (s->n_changed == s->cap_changed) {
		size_t cap = s->cap_changed ? s->cap_changed * 2 : 64;
		uint64_t *c = realloc(s->changed, cap * sizeof(*c));
		if (!c)
			return fail(s, BW_ENOMEM, "out of memory");
		s->changed = c;
		s->cap_changed = cap;
	}
	s->changed[s->n_changed++] = key;
	return 0;
}

struct move_ctx {
	struct stage *s;
	const char *id; /* the account moved */
};

/* One key of a move: the store's table follows, and the key's count changed. */
static int on_move(uint64_t key, bool join, void *opaque)
{
	struct move_ctx *m = opaque;
	char err[256];

	if (feat_store_pop_move(m->s->store, m->id, join ? 0 : key, join ? key : 0, err,
				sizeof(err)))
		return fail(m->s, BW_ESTORE, err);
	return push_changed(m->s, key);
}

struct member_ctx {
	struct stage *s;
	uint32_t count; /* accounts under the key (set by feat_store_pop_members first) */
};

/* An account of a changed key: cached for re-emission unless the batch holds
 * it already or the key is past the cap (its value stays FEAT_POP_CAP). */
static int on_member(const void *id, size_t len, void *opaque)
{
	struct member_ctx *m = opaque;
	char key[256];

	if (m->count > FEAT_POP_CAP + 1 || len >= sizeof(key))
		return 0; /* ids are short; a longer one was never stored by this stage */
	memcpy(key, id, len);
	key[len] = 0;
	cache_load(m->s, key, false);
	return m->s->err;
}

/* In the open transaction: move the batch's accounts whose population keys
 * changed, cache the other accounts of changed keys (for re-emission), then
 * count each cached account's most shared key. */
static int update_population(struct stage *s)
{
	char err[256];
	struct feat_pop_keys k;

	s->n_changed = 0;
	s->n_folded = s->n_cached;
	for (size_t i = 0; i < s->n_folded && !s->err; i++) {
		const struct feat_account *a = s->cached[i];
		struct move_ctx m = { s, feat_account_id(a) };
		if ((feat_account_authored(a) ? feat_account_pop_print(a) : 0) == s->key0[i].print)
			continue; /* same strings, same keys */
		entered_keys(a, &k);
		if (feat_pop_keys_diff(&s->key0[i], &k, on_move, &m))
			return s->err;
		s->key0[i] = k;
	}
	s->n_changed = feat_pop_keys_unique(s->changed, s->n_changed);
	for (size_t i = 0; i < s->n_changed && !s->err; i++) {
		struct member_ctx m = { .s = s };
		int rc = feat_store_pop_members(s->store, s->changed[i], FEAT_POP_CAP + 1, on_member,
						&m, &m.count, err, sizeof(err));
		if (rc && !s->err)
			return fail(s, rc, err);
	}
	for (size_t i = 0; i < s->n_cached; i++)
		if (feat_store_pop_most(s->store, s->key0[i].k, s->key0[i].n, &s->npop[i], err,
					sizeof(err)))
			return fail(s, BW_ESTORE, err);
	return s->err;
}

/* Commit the open batch: states + offsets in LMDB, then updates, then Kafka offsets. */
static int flush(struct stage *s)
{
	char err[256];

	if (s->err)
		return s->err; /* the transaction is aborted by teardown */
	if (s->in_batch == 0 && s->n_cached == 0)
		return 0;
	if (update_population(s))
		return s->err;
	for (size_t i = 0; i < s->n_folded; i++)
		if (feat_store_put(s->store, s->cached[i], err, sizeof(err)))
			return fail(s, BW_ESTORE, err);
	for (int i = 0; i < s->offs->cnt; i++) {
		rd_kafka_topic_partition_t *p = &s->offs->elems[i];
		if (feat_store_offset_put(s->store, p->topic, p->partition, p->offset, err, sizeof(err)))
			return fail(s, BW_ESTORE, err);
	}
	if (feat_store_commit(s->store, err, sizeof(err)))
		return fail(s, BW_ESTORE, err);
	s->st.commits++;
	if (emit_updates(s))
		return s->err;
	/* deliver the batch's updates and forwards before committing to Kafka, so a
	 * committed offset means "folded, stored and published": `botwatch run`
	 * and ingest's lag watch read the group's progress as exactly that */
	if (rd_kafka_flush(s->prod, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return fail(s, BW_EKAFKA, "feature updates not delivered within 10 s");
	if (s->offs->cnt)
		rd_kafka_commit(s->rk, s->offs, 1); /* async: LMDB already holds them */
	for (size_t i = 0; i < s->n_cached; i++)
		feat_account_free(s->cached[i]);
	memset(s->slots, 0, s->cap * sizeof(*s->slots));
	s->n_cached = 0;
	rd_kafka_topic_partition_list_destroy(s->offs);
	s->offs = rd_kafka_topic_partition_list_new(8);
	s->in_batch = 0;
	rd_kafka_poll(s->prod, 0);
	return 0;
}

static bool is_observation(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t len;

	return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	       rd_kafka_header_get_last(h, OBSERVE_HEADER, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}


/* Fold one message; undecodable ones are logged and counted, never fatal. */
static int on_message(struct stage *s, const rd_kafka_message_t *m)
{
	struct bw_post post;
	char err[256], key[256];
	const char *targets[64];
	struct feat_account *a;
	bool observe = is_observation(m);
	uint64_t late;
	size_t n;

	if (s->in_batch == 0) {
		s->batch_start = bw_time_mono_ms();
		if (feat_store_begin(s->store, err, sizeof(err)))
			return fail(s, BW_ESTORE, err);
	}
	s->in_batch++;
	s->st.messages++;
	bw_kafka_note_offset(s->offs, m);
	bw_arena_reset(s->arena);
	if (ingest_post_decode(m->payload, m->len, &post, s->arena, err, sizeof(err))) {
		s->st.bad++;
		BW_WARN("features: %s[%d]@%lld: undecodable post skipped: %s",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, err);
		return 0;
	}
	if (observe) {
		snprintf(key, sizeof(key), "%.*s", (int)(m->key_len < 255 ? m->key_len : 255),
			 m->key ? (const char *)m->key : "");
		if (!(a = cache_get(s, key)))
			return s->err;
		late = feat_account_late(a);
		if (feat_account_update(a, &post))
			return fail(s, BW_ENOMEM, "feature state update failed");
		s->st.late += feat_account_late(a) - late;
		s->st.observations++;
		return 0;
	}
	if (!(a = cache_get(s, post.author.id)))
		return s->err;
	late = feat_account_late(a);
	if (feat_account_update(a, &post))
		return fail(s, BW_ENOMEM, "feature state update failed");
	s->st.late += feat_account_late(a) - late;
	s->st.posts++;
	n = feat_post_targets(&post, targets, sizeof(targets) / sizeof(targets[0]));
	for (size_t i = 0; i < n && !s->err; i++) {
		produce(s, s->cfg->ingest_topic, targets[i], m->payload, m->len, true);
		s->st.forwarded++;
	}
	return s->err;
}

/* ---- downstream backpressure ------------------------------------------------------- */

#define LAG_CHECK_MS 50        /* least time between two lag queries */
#define LAG_QUERY_MS 5000      /* timeout of one lag query */
#define WARM_MS 5000           /* longest wait for an output topic's metadata at start */

/*
 * The effective limits after a lag query. features.max_update_lag, capped at
 * half of what the broker was seen to keep per partition once it pruned one
 * (its retention counted in updates: about 2,500 lz4-compressed updates fit
 * the embedded broker's 5 MiB); and the open batch is committed once it holds
 * limit x partitions / 2 accounts, so that one batch's updates add about half
 * the limit to a partition (a batch of features.batch posts can otherwise
 * carry twice as many updates, all of them for one partition when there is
 * only one).
 */
static void update_limits(struct stage *s, const struct bw_kafka_lag *lag)
{
	int64_t lim = s->cfg->features_max_update_lag;

	if (lim > 0 && lag->retained_min > 0 && lag->retained_min / 2 < lim) {
		lim = lag->retained_min / 2 > 0 ? lag->retained_min / 2 : 1;
		if (!s->lag_capped)
			BW_INFO("features: the broker keeps about %lld updates per partition of %s: "
				"pausing above %lld instead of features.max_update_lag = %lld",
				(long long)lag->retained_min, s->cfg->features_topic, (long long)lim,
				(long long)s->cfg->features_max_update_lag);
		s->lag_capped = true;
	}
	s->lag_limit = lim;
	s->batch_accounts = 0;
	if (lim > 0 && lag->partitions > 0) {
		int64_t b = lim * lag->partitions / 2;
		s->batch_accounts = b > 0 ? (size_t)b : 1;
	}
}

/*
 * Wait while a features.lag_groups group lags more than features.max_update_lag
 * updates on features.topic (the embedded broker prunes what a slow reader has
 * not read yet); a group that lost updates to pruning is fatal. The open batch
 * is committed first, so its updates count. Returns s->err.
 */
static int downstream_backpressure(struct stage *s)
{
	struct bw_kafka_lag lag;
	char err[256], msg[480];
	int64_t logged = 0;

	if (!s->lag || bw_time_mono_ms() - s->lag_checked < LAG_CHECK_MS)
		return s->err;
	for (;;) {
		s->lag_checked = bw_time_mono_ms();
		if (bw_kafka_lag_query(s->lag, LAG_QUERY_MS, &lag, err, sizeof(err))) {
			BW_WARN("features: cannot check the lag of %s (will retry): %s",
				s->cfg->features_lag_groups, err);
			return s->err;
		}
		if (lag.lost > 0) {
			snprintf(msg, sizeof(msg), "feature updates lost: consumer group %.64s had not read "
				 "%lld update(s) of %.64s[%d] before the broker pruned them; lower "
				 "features.max_update_lag or use a real Kafka cluster", lag.lost_group,
				 (long long)lag.lost, s->cfg->features_topic, (int)lag.lost_partition);
			return fail(s, BW_EKAFKA, msg);
		}
		update_limits(s, &lag);
		if (s->lag_limit <= 0 || lag.max_lag <= s->lag_limit || *s->stop)
			return s->err;
		if (s->in_batch && flush(s))
			return s->err;
		if (s->lag_checked - logged >= 5000) {
			BW_INFO("features: paused: consumer group %s lags %lld update(s) on %s[%d]",
				lag.group, (long long)lag.max_lag, s->cfg->features_topic,
				(int)lag.partition);
			logged = s->lag_checked;
		}
		rd_kafka_poll(s->prod, LAG_CHECK_MS);
	}
}

/* ---- the consumer ------------------------------------------------------------------- */

/* Start consuming `parts`, each from the offset in LMDB when it has one
 * (else the group's committed offset, else the earliest). */
static rd_kafka_resp_err_t take_partitions(struct stage *s, rd_kafka_t *rk,
					   rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_resp_err_t e;

	for (int i = 0; i < parts->cnt; i++) {
		int64_t off;
		if (feat_store_offset_get(s->store, parts->elems[i].topic, parts->elems[i].partition,
					  &off) == 0)
			parts->elems[i].offset = off;
	}
	if ((e = rd_kafka_assign(rk, parts)))
		return e;
	s->assigned = true;
	s->last_msg = bw_time_mono_ms();
	BW_INFO("features: assigned %d partition(s) of %s", parts->cnt, s->cfg->ingest_topic);
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
		flush(s); /* commit on revoke */
		BW_INFO("features: revoked %d partition(s)", parts->cnt);
	}
	rd_kafka_assign(rk, NULL);
	s->assigned = false;
}

/* True when a kafka.* setting chooses the producer's compression itself. */
static bool user_sets_compression(const struct bw_config *c)
{
	for (size_t i = 0; i < c->n_kafka; i++)
		if (strcmp(c->kafka_keys[i], "compression.type") == 0 ||
		    strcmp(c->kafka_keys[i], "compression.codec") == 0)
			return true;
	return false;
}

/* Updates are compressed with lz4 (about 4x smaller, which matters doubly on the
 * embedded broker, whose retention is counted in bytes) unless configured. */
static rd_kafka_t *make_client(struct stage *s, rd_kafka_type_t type, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->cfg;
	rd_kafka_conf_t *conf =
		(type == RD_KAFKA_CONSUMER ? bw_kafka_consumer_conf_new : bw_kafka_conf_new)(
			c->kafka_bootstrap, c->n_kafka, c->kafka_keys, c->kafka_values, errstr, errlen);

	if (!conf)
		return NULL;
	if (type == RD_KAFKA_PRODUCER && !user_sets_compression(c) &&
	    bw_kafka_conf_set(conf, "compression.type", "lz4", errstr, errlen)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return bw_kafka_client_new(type, conf, c->features_group, rebalance_cb, dr_cb, s, errstr,
				   errlen);
}

/* Learn the output topics' leaders before the first batch (bw_kafka_topic_warm). */
static void warm_topics(struct stage *s)
{
	const char *topics[2] = { s->cfg->features_topic, s->cfg->ingest_topic };
	char err[256];

	for (int i = 0; i < 2; i++)
		if (!(s->out[i] = bw_kafka_topic_warm(s->prod, topics[i], WARM_MS, err, sizeof(err))))
			BW_WARN("features: %s (the first delivery may wait for a metadata refresh)", err);
}

static int setup(struct stage *s, char *errstr, size_t errlen)
{
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t e;

	if (!s->cfg->kafka_bootstrap[0])
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "kafka.bootstrap.servers is empty: start `botwatch broker` (or point at a "
				 "cluster) and pass its address with --brokers");
	if (!(s->store = feat_store_open(s->cfg->features_state, (size_t)s->cfg->features_map_size_mb,
					 errstr, errlen)))
		return BW_ESTORE;
	if (!(s->arena = bw_arena_new((size_t)s->cfg->ingest_max_line_bytes * 4)) ||
	    !(s->vec = malloc(feat_count() * sizeof(*s->vec))) ||
	    !(s->offs = rd_kafka_topic_partition_list_new(8)) || cache_grow(s))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (!(s->prod = make_client(s, RD_KAFKA_PRODUCER, errstr, errlen)) ||
	    !(s->rk = make_client(s, RD_KAFKA_CONSUMER, errstr, errlen)))
		return BW_EKAFKA;
	warm_topics(s);
	if (s->cfg->features_lag_groups[0] &&
	    !(s->lag = bw_kafka_lagwatch_new(s->cfg->kafka_bootstrap, s->cfg->n_kafka,
					     s->cfg->kafka_keys, s->cfg->kafka_values,
					     s->cfg->features_topic, s->cfg->features_lag_groups,
					     errstr, errlen)))
		return BW_EKAFKA;
	rd_kafka_poll_set_consumer(s->rk);
	if (s->opts->assign_partitions > 0) {
		char err[256];
		/* the partitions' leader now: else the first fetch waited up to 1 s
		 * (librdkafka's refresh of unknown topics) in four runs out of ten */
		if (!(s->in = bw_kafka_topic_warm(s->rk, s->cfg->ingest_topic, WARM_MS, err,
						  sizeof(err))))
			BW_WARN("features: %s (the first fetch may wait for a metadata refresh)", err);
	}
	sub = bw_kafka_input_list(s->cfg->ingest_topic, s->opts->assign_partitions);
	e = s->opts->assign_partitions > 0 ? take_partitions(s, s->rk, sub)
					   : rd_kafka_subscribe(s->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (e)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "%s %s: %s",
				 s->opts->assign_partitions > 0 ? "assign" : "subscribe to",
				 s->cfg->ingest_topic, rd_kafka_err2str(e));
	return 0;
}

static void loop(struct stage *s)
{
	while (!*s->stop && !s->err) {
		if (downstream_backpressure(s))
			break;
		rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
		int64_t now;

		if (m) {
			if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
				on_message(s, m);
			else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				BW_WARN("features: consumer: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m); /* before any exit: a held message blocks destroy */
			if (s->opts->crash_after && s->st.messages >= s->opts->crash_after) {
				/* simulated crash: the open batch is never committed */
				fail(s, BW_ESTOP, "simulated crash (--crash-after)");
				break;
			}
		}
		rd_kafka_poll(s->prod, 0);
		now = bw_time_mono_ms();
		if (m)
			s->last_msg = now;
		if (s->in_batch && (s->in_batch >= (size_t)s->cfg->features_batch ||
				    now - s->batch_start >= s->cfg->features_batch_ms ||
				    (s->batch_accounts && s->n_cached >= s->batch_accounts)))
			flush(s);
		if (s->opts->max_messages && s->st.messages >= s->opts->max_messages)
			break;
		if (s->opts->idle_exit_ms && s->assigned && now - s->last_msg >= s->opts->idle_exit_ms)
			break;
	}
}

static void teardown(struct stage *s)
{
	if (s->rk) {
		if (!s->err)
			flush(s);
		rd_kafka_consumer_close(s->rk); /* revokes: flushes once more (nothing left) */
		if (s->in)
			rd_kafka_topic_destroy(s->in);
		rd_kafka_destroy(s->rk);
	}
	if (s->prod) {
		rd_kafka_flush(s->prod, 10000);
		if (rd_kafka_outq_len(s->prod) > 0)
			fail(s, BW_EKAFKA, "feature updates still queued after 10 s");
		for (int i = 0; i < 2; i++)
			if (s->out[i])
				rd_kafka_topic_destroy(s->out[i]);
		rd_kafka_destroy(s->prod);
	}
	for (size_t i = 0; i < s->n_cached; i++)
		feat_account_free(s->cached[i]);
	free(s->changed);
	free(s->key0);
	free(s->npop);
	bw_kafka_lagwatch_free(s->lag);
	feat_store_close(s->store); /* aborts an uncommitted batch after an error */
	if (s->offs)
		rd_kafka_topic_partition_list_destroy(s->offs);
	bw_arena_free(s->arena);
	free(s->slots);
	free(s->cached);
	free(s->vec);
}

int feat_stage_run(const struct bw_config *cfg, const struct feat_stage_opts *opts,
		   volatile sig_atomic_t *stop, struct feat_stage_stats *stats, char *errstr,
		   size_t errlen)
{
	struct stage s = { .cfg = cfg, .opts = opts, .stop = stop };
	int rc = setup(&s, errstr, errlen);

	if (rc == 0) {
		BW_INFO("features: consuming %s as group %s; state in %s", cfg->ingest_topic,
			cfg->features_group, cfg->features_state);
		loop(&s);
	}
	teardown(&s);
	if (rc == 0 && s.err)
		rc = bw_seterr(errstr, errlen, s.err, "%s", s.errbuf);
	if (stats)
		*stats = s.st;
	return rc;
}
