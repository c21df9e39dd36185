/*
 * stage_features.c — the Kafka features stage (stage_features.h, docs/STATE.md), a
 * set of callbacks on the stage runtime (stage.h).
 *
 * Input: the posts topic in group features.group_id (ingest's binary post
 * encoding, key = author id). Every message is folded at once into its
 * account's state, held in a write-back cache of account states that lives
 * across batches (at most features.cache_accounts states; the least
 * recently used clean ones are evicted at a checkpoint and come back from
 * LMDB on their next post).
 *
 * Two rhythms:
 *   - a *cut* (every features.batch_ms, or features.batch messages, or the
 *     downstream budget): one feature update per account changed since its
 *     last update goes to features.topic, stamped with the time its oldest
 *     unreported post reached Kafka (the scoring stage measures staleness from
 *     it). Population counts are moved in the store's open transaction first.
 *   - a *checkpoint* (every features.commit_ms, when the input goes quiet, when
 *     the cache is full of changed states, at revocation and shutdown): every
 *     state changed since the last checkpoint and the next offsets are written
 *     in one LMDB transaction, committed with one fsync — a group commit.
 *
 * The runtime commits a batch's Kafka offsets once its updates (and every
 * earlier batch's) are delivered; this stage lowers that commit point to its
 * last checkpoint (hold), so a committed group offset means "folded, stored,
 * synced and published". On assignment a partition resumes from the lower of
 * the checkpoint's offset and the group's committed offset: posts folded and
 * stored whose updates were not confirmed delivered are folded again (the
 * record window makes that a no-op on the state) and their updates sent again.
 *
 * Observations: a post that names other accounts (feat_post_targets) is
 * forwarded once per named account to the posts topic, keyed by that account
 * and marked with the header "bw-observe", so the worker owning that
 * account's partition folds it in — no two workers ever write one account's
 * state; repeats are deduplicated by post id.
 *
 * Population features (feat.h): the store keeps every authored account under
 * its bio keys, moved in the open transaction when its bio changes; when a
 * cut changes a key's count, the key's other accounts (up to FEAT_POP_CAP + 1)
 * are loaded and their updates sent again, so every account's latest update
 * holds the count of the accounts read so far, as `botwatch replay` computes
 * it at the end. The counts are those of this worker's partitions.
 *
 * This is a stage, not library code: it logs through bw_log.
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_map.h"
#include "bw_time.h"
#include "cfg.h"
#include "feat_stage.h"
#include "stage_features.h"
#include "postcodec.h"
#include "stage.h"

#define OBSERVE_HEADER "bw-observe"

/* One cached account state. */
struct centry {
	struct feat_account *acc;   /* the state (owned) */
	struct feat_pop_keys key0;  /* keys it is entered under in the store's table */
	uint32_t npop;              /* accounts under its most shared key (at the last cut) */
	uint64_t touched;           /* cut number of its last use (eviction order) */
	int64_t since_ts;           /* Kafka time of its oldest post not in an update yet, 0 */
	bool emit;                  /* changed (or re-counted) since its last update */
	bool dirty;                 /* changed since the last checkpoint */
};

/* A growable list of cache entries. */
struct elist {
	struct centry **e;          /* entries (borrowed from the cache) */
	size_t n, cap;              /* used / allocated */
};

struct fstage {
	const struct bw_config *cfg;          /* borrowed */
	const struct feat_stage_opts *opts;   /* borrowed */
	struct stage *st;                     /* the runtime (during callbacks) */
	struct feat_store *store;             /* LMDB state */
	struct bw_arena *arena;               /* decoded post of the current message */
	struct bw_map *cache;                 /* account id -> struct centry (owned) */
	size_t max_cached;                    /* features.cache_accounts */
	struct elist emit;                    /* entries with emit set */
	struct elist dirty;                   /* entries with dirty set */
	uint64_t *changed;                    /* keys whose count the cut changed */
	size_t n_changed, cap_changed;        /* used / allocated */
	rd_kafka_topic_partition_list_t *next;/* next offsets of everything folded */
	rd_kafka_topic_partition_list_t *ckpt;/* next offsets as of the last checkpoint */
	uint64_t cuts;                        /* cuts so far (eviction clock) */
	size_t in_batch;                      /* messages since the last cut */
	int64_t batch_start;                  /* monotonic ms of the first of them */
	int64_t ckpt_at;                      /* monotonic ms of the last checkpoint */
	double *vec;                          /* extraction scratch */
	bool custom_partitioner;              /* kafka.partitioner is set: always forward */
	struct feat_stage_stats st_;          /* counters */
};

static int fail(struct fstage *f, int err, const char *msg)
{
	return stage_fail(f->st, err, "features: %s", msg);
}

/* ---- the cache ------------------------------------------------------------------------- */

static int elist_push(struct elist *l, struct centry *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct centry **n = realloc(l->e, cap * sizeof(*n));
		if (!n)
			return BW_ENOMEM;
		l->e = n;
		l->cap = cap;
	}
	l->e[l->n++] = e;
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

static int ensure_txn(struct fstage *f)
{
	char err[256];

	if (feat_store_in_txn(f->store))
		return 0;
	if (feat_store_begin(f->store, err, sizeof(err)))
		return fail(f, BW_ESTORE, err);
	return 0;
}

/* The account's cache entry: cached, else loaded from LMDB, else new when
 * `create` (else NULL with no error set). */
static struct centry *cache_load(struct fstage *f, const char *id, bool create)
{
	char err[256];
	struct feat_account *a;
	struct centry *e;

	if ((e = bw_map_get(f->cache, id))) {
		e->touched = f->cuts;
		return e;
	}
	if (ensure_txn(f))
		return NULL;
	if (feat_store_get(f->store, id, &a, err, sizeof(err))) {
		fail(f, BW_ESTORE, err);
		return NULL;
	}
	if (!a && !create)
		return NULL;
	if (!a && !(a = feat_account_new(id))) {
		fail(f, BW_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(e = calloc(1, sizeof(*e)))) {
		feat_account_free(a);
		fail(f, BW_ENOMEM, "out of memory");
		return NULL;
	}
	e->acc = a;
	e->touched = f->cuts;
	entered_keys(a, &e->key0);
	if (bw_map_put(f->cache, feat_account_id(a), e)) {
		feat_account_free(a);
		free(e);
		fail(f, BW_ENOMEM, "out of memory");
		return NULL;
	}
	return e;
}

/* After a fold: the entry needs an update and a checkpoint. */
static int mark_changed(struct fstage *f, struct centry *e, const rd_kafka_message_t *m)
{
	int64_t ts = rd_kafka_message_timestamp(m, NULL);

	if (ts > 0 && (!e->since_ts || ts < e->since_ts))
		e->since_ts = ts;
	if (!e->emit && (e->emit = true, elist_push(&f->emit, e)))
		return fail(f, BW_ENOMEM, "out of memory");
	if (!e->dirty && (e->dirty = true, elist_push(&f->dirty, e)))
		return fail(f, BW_ENOMEM, "out of memory");
	return 0;
}

static int by_touched(const void *a, const void *b)
{
	const struct centry *x = *(struct centry *const *)a, *y = *(struct centry *const *)b;
	return x->touched < y->touched ? -1 : x->touched > y->touched;
}

/* Evict the least recently used states down to 3/4 of the bound (after a
 * checkpoint: every entry is clean and stored). Entries awaiting an update
 * stay. */
static int evict(struct fstage *f)
{
	struct centry **all, *e;
	size_t n = 0, pos = 0, count = bw_map_count(f->cache), keep = f->max_cached * 3 / 4, drop;

	if (count <= f->max_cached)
		return 0;
	if (!(all = malloc(count * sizeof(*all))))
		return fail(f, BW_ENOMEM, "out of memory");
	while ((e = bw_map_next(f->cache, &pos, NULL)))
		if (!e->emit)
			all[n++] = e;
	qsort(all, n, sizeof(*all), by_touched);
	drop = count - keep < n ? count - keep : n;
	for (size_t i = 0; i < drop; i++) {
		bw_map_del(f->cache, feat_account_id(all[i]->acc));
		feat_account_free(all[i]->acc);
		free(all[i]);
	}
	free(all);
	return 0;
}

/* Drop every cached state (clean: after a checkpoint). */
static void cache_clear(struct fstage *f)
{
	struct centry *e;
	size_t pos = 0;

	while ((e = bw_map_next(f->cache, &pos, NULL))) {
		feat_account_free(e->acc);
		free(e);
	}
	bw_map_clear(f->cache);
	f->emit.n = 0;
	f->dirty.n = 0;
}

/* ---- population ----------------------------------------------------------------------- */

static int push_changed(struct fstage *f, uint64_t key)
{
	if (f->n_changed == f->cap_changed) {
		size_t cap = f->cap_changed ? f->cap_changed * 2 : 64;
		uint64_t *c = realloc(f->changed, cap * sizeof(*c));
		if (!c)
			return fail(f, BW_ENOMEM, "out of memory");
		f->changed = c;
		f->cap_changed = cap;
	}
	f->changed[f->n_changed++] = key;
	return 0;
}

struct move_ctx {
	struct fstage *f;
	const char *id; /* the account moved */
};

/* One key of a move: the store's table follows, and the key's count changed. */
static int on_move(uint64_t key, bool join, void *opaque)
{
	struct move_ctx *m = opaque;
	char err[256];

	if (feat_store_pop_move(m->f->store, m->id, join ? 0 : key, join ? key : 0, err,
				sizeof(err)))
		return fail(m->f, BW_ESTORE, err);
	return push_changed(m->f, key);
}

struct member_ctx {
	struct fstage *f;
	uint32_t count; /* accounts under the key (set by feat_store_pop_members first) */
};

/* An account of a changed key: its update is sent again unless the key is
 * past the cap (its value stays FEAT_POP_CAP). */
static int on_member(const void *id, size_t len, void *opaque)
{
	struct member_ctx *m = opaque;
	struct centry *e;
	char key[256];

	if (m->count > FEAT_POP_CAP + 1 || len >= sizeof(key))
		return 0; /* ids are short; a longer one was never stored by this stage */
	memcpy(key, id, len);
	key[len] = 0;
	if (!(e = cache_load(m->f, key, false)))
		return stage_error(m->f->st); /* not stored (0), or the load failed */
	if (!e->emit && (e->emit = true, elist_push(&m->f->emit, e)))
		return fail(m->f, BW_ENOMEM, "out of memory");
	return 0;
}

/* In the open transaction: move the accounts whose population keys changed,
 * mark the other accounts of changed keys for an update, then count each
 * updated account's most shared key. */
static int update_population(struct fstage *f)
{
	char err[256];
	struct feat_pop_keys k;
	size_t n = f->emit.n;

	f->n_changed = 0;
	for (size_t i = 0; i < n; i++) {
		struct centry *e = f->emit.e[i];
		struct move_ctx m = { f, feat_account_id(e->acc) };
		if ((feat_account_authored(e->acc) ? feat_account_pop_print(e->acc) : 0) ==
		    e->key0.print)
			continue; /* same strings, same keys */
		entered_keys(e->acc, &k);
		if (feat_pop_keys_diff(&e->key0, &k, on_move, &m))
			return -1;
		e->key0 = k;
	}
	f->n_changed = feat_pop_keys_unique(f->changed, f->n_changed);
	for (size_t i = 0; i < f->n_changed; i++) {
		struct member_ctx m = { .f = f };
		int rc = feat_store_pop_members(f->store, f->changed[i], FEAT_POP_CAP + 1, on_member,
						&m, &m.count, err, sizeof(err));
		if (rc)
			return fail(f, rc, err);
	}
	for (size_t i = 0; i < f->emit.n; i++) {
		struct centry *e = f->emit.e[i];
		if (feat_store_pop_most(f->store, e->key0.k, e->key0.n, &e->npop, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
	}
	return 0;
}

/* ---- cuts and checkpoints ------------------------------------------------------------- */

static int emit_update(struct fstage *f, struct centry *e)
{
	const struct feat_account *a = e->acc;
	const char *id = feat_account_id(a);
	unsigned char *buf;
	size_t len;
	int rc;

	if (feat_account_extract(a, BW_TIME_NONE, f->vec))
		return fail(f, BW_ENOMEM, "feature extraction failed");
	feat_pop_set(f->vec, e->npop);
	if (feat_update_encode(a, f->vec, &buf, &len))
		return fail(f, BW_ENOMEM, "feature extraction failed");
	rc = stage_produce(f->st, f->cfg->features_topic, id, strlen(id), buf, len, NULL, NULL, 0,
			   e->since_ts);
	free(buf);
	f->st_.updates++;
	return rc;
}

/* Every changed state and the folded offsets in one LMDB transaction. */
static int checkpoint(struct fstage *f)
{
	char err[256];

	if (f->dirty.n == 0 && !feat_store_in_txn(f->store))
		return 0;
	if (ensure_txn(f))
		return -1;
	for (size_t i = 0; i < f->dirty.n; i++) {
		struct centry *e = f->dirty.e[i];
		if (feat_store_put(f->store, e->acc, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
		e->dirty = false;
	}
	f->dirty.n = 0;
	for (int i = 0; i < f->next->cnt; i++) {
		rd_kafka_topic_partition_t *p = &f->next->elems[i];
		if (feat_store_offset_put(f->store, p->topic, p->partition, p->offset, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
	}
	if (feat_store_commit(f->store, err, sizeof(err)))
		return fail(f, BW_ESTORE, err);
	rd_kafka_topic_partition_list_destroy(f->ckpt);
	if (!(f->ckpt = rd_kafka_topic_partition_list_copy(f->next)))
		return fail(f, BW_ENOMEM, "out of memory");
	f->st_.commits++;
	f->ckpt_at = bw_time_mono_ms();
	return evict(f);
}

static bool want_checkpoint(const struct fstage *f, int64_t now, bool quiet)
{
	if (f->dirty.n == 0)
		return false;
	return now - f->ckpt_at >= f->cfg->features_commit_ms || f->dirty.n >= f->max_cached ||
	       (quiet && f->emit.n == 0);
}

static int on_cut(void *ctx, struct stage *st, bool all)
{
	struct fstage *f = ctx;
	int64_t now = bw_time_mono_ms();

	f->st = st;
	f->cuts++;
	if (f->emit.n) {
		if (ensure_txn(f) || update_population(f))
			return -1;
		for (size_t i = 0; i < f->emit.n; i++) {
			struct centry *e = f->emit.e[i];
			if (feat_account_authored(e->acc) && emit_update(f, e))
				return -1; /* observed-only accounts get no update (no record) */
			e->emit = false;
			e->since_ts = 0;
		}
		f->emit.n = 0;
	}
	f->in_batch = 0;
	if (all || want_checkpoint(f, now, stage_input_idle(st)))
		return checkpoint(f);
	return 0;
}

/*
 * A cut is due after features.batch_ms, features.batch messages or the
 * downstream budget. While input keeps arriving (a backlog: a replay, a
 * restart, a burst) the time-based cut waits until the input pauses or
 * features.catchup_ms passed: catching up, an account's updates are worth
 * sending once it is caught up, not every batch_ms (each costs an
 * extraction and a scoring). Under steady load the input pauses between
 * arrivals, so the cut follows batch_ms and the freshness bound holds.
 */
static bool on_due(void *ctx, struct stage *st, int64_t now)
{
	struct fstage *f = ctx;
	int64_t budget = stage_output_budget(st), open_ms = now - f->batch_start;

	f->st = st;
	if (f->in_batch) {
		if (f->in_batch >= (size_t)f->cfg->features_batch ||
		    (budget && f->emit.n >= (size_t)budget))
			return true;
		if (open_ms >= f->cfg->features_batch_ms &&
		    (stage_input_idle(st) || open_ms >= f->cfg->features_catchup_ms))
			return true;
	}
	/* the input went quiet with changed states: store them now (a quiet
	 * moment), so the group's offsets catch up without waiting */
	return want_checkpoint(f, now, stage_input_idle(st) &&
					     now - stage_last_message_ms(st) >= f->cfg->features_batch_ms);
}

static bool on_busy(void *ctx)
{
	const struct fstage *f = ctx;
	return f->in_batch > 0 || f->emit.n > 0 || f->dirty.n > 0;
}

/* The runtime's commit point goes no further than the last checkpoint. */
static void on_hold(void *ctx, rd_kafka_topic_partition_list_t *offs)
{
	const struct fstage *f = ctx;

	for (int i = 0; i < offs->cnt; i++) {
		rd_kafka_topic_partition_t *p = &offs->elems[i];
		const rd_kafka_topic_partition_t *c =
			f->ckpt ? rd_kafka_topic_partition_list_find(f->ckpt, p->topic, p->partition)
				: NULL;
		p->offset = c ? (c->offset < p->offset ? c->offset : p->offset)
			      : RD_KAFKA_OFFSET_INVALID;
	}
}

/* ---- consuming -------------------------------------------------------------------------- */

static bool is_observation(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t len;

	return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	       rd_kafka_header_get_last(h, OBSERVE_HEADER, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Fold `post` into the state of `id`. */
static int fold(struct fstage *f, const char *id, const struct bw_post *post,
		const rd_kafka_message_t *m)
{
	struct centry *e = cache_load(f, id, true);
	uint64_t late;

	if (!e)
		return -1;
	late = feat_account_late(e->acc);
	if (feat_account_update(e->acc, post))
		return fail(f, BW_ENOMEM, "feature state update failed");
	f->st_.late += feat_account_late(e->acc) - late;
	return mark_changed(f, e, m);
}

/* True when the partition that `id`'s messages go to (librdkafka's default
 * partitioner, which ingest and the forwards use) is this worker's. With a
 * configured kafka.partitioner every observation is forwarded. */
static bool owns(const struct fstage *f, const struct stage *st, const char *id)
{
	int32_t n = stage_input_partitions(st);

	if (f->custom_partitioner || n <= 0)
		return false;
	return stage_owns_partition(st, rd_kafka_msg_partitioner_consistent_random(
						NULL, id, strlen(id), n, NULL, NULL));
}

/* A post keyed by its author must sit in the partition owns() computes for
 * the author; if not, the producer used another partitioner: forward every
 * observation from now on (two workers must never write one account). */
static void check_partitioner(struct fstage *f, const struct stage *st, const struct bw_post *p,
			      const rd_kafka_message_t *m)
{
	int32_t n = stage_input_partitions(st);

	if (f->custom_partitioner || n <= 0 || !m->key || m->key_len != strlen(p->author.id) ||
	    memcmp(m->key, p->author.id, m->key_len) != 0)
		return;
	if (rd_kafka_msg_partitioner_consistent_random(NULL, m->key, m->key_len, n, NULL, NULL) !=
	    m->partition) {
		BW_WARN("features: %s[%d]@%lld is not where the default partitioner puts its key: "
			"observations are forwarded through Kafka from now on",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
		f->custom_partitioner = true;
	}
}

/* Fold one message; undecodable ones are logged and counted, never fatal. */
static int on_message(void *ctx, struct stage *st, const rd_kafka_message_t *m)
{
	struct fstage *f = ctx;
	struct bw_post post;
	char err[256], key[256];
	const char *targets[64];
	size_t n;

	f->st = st;
	if (f->in_batch++ == 0)
		f->batch_start = bw_time_mono_ms();
	f->st_.messages++;
	bw_kafka_note_offset(f->next, m);
	bw_arena_reset(f->arena);
	if (ingest_post_decode(m->payload, m->len, &post, f->arena, err, sizeof(err))) {
		f->st_.bad++;
		BW_WARN("features: %s[%d]@%lld: undecodable post skipped: %s",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, err);
		return 0;
	}
	if (is_observation(m)) {
		snprintf(key, sizeof(key), "%.*s", (int)(m->key_len < 255 ? m->key_len : 255),
			 m->key ? (const char *)m->key : "");
		f->st_.observations++;
		return fold(f, key, &post, m);
	}
	if (fold(f, post.author.id, &post, m))
		return -1;
	f->st_.posts++;
	check_partitioner(f, st, &post, m);
	n = feat_post_targets(&post, targets, sizeof(targets) / sizeof(targets[0]));
	for (size_t i = 0; i < n; i++) {
		if (owns(f, st, targets[i])) {
			/* this worker owns the named account: fold the observation now,
			 * in the same checkpoint as the post (no round trip) */
			if (fold(f, targets[i], &post, m))
				return -1;
			f->st_.observations++;
			continue;
		}
		if (stage_produce(st, f->cfg->ingest_topic, targets[i], strlen(targets[i]), m->payload,
				  m->len, OBSERVE_HEADER, "1", 1, 0))
			return -1;
		f->st_.forwarded++;
	}
	return 0;
}

/* Each partition resumes from the group's committed offset, or the earliest
 * message when it has none, and never past its checkpoint: what lies between
 * the committed offset and the checkpoint was folded and stored but its
 * updates were not confirmed delivered, so it is folded again (a no-op on the
 * state) and its updates are sent again. */
static int on_assign(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
	struct fstage *f = ctx;

	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t off;
		if (p->offset < 0)
			p->offset = RD_KAFKA_OFFSET_BEGINNING;
		if (p->offset >= 0 &&
		    feat_store_offset_get(f->store, p->topic, p->partition, &off) == 0 && off < p->offset)
			p->offset = off;
	}
	return 0;
}

/* The states of revoked partitions may move to another worker: start clean. */
static void on_revoked(void *ctx, const rd_kafka_topic_partition_list_t *parts)
{
	struct fstage *f = ctx;

	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_list_del(f->next, parts->elems[i].topic,
						  parts->elems[i].partition);
		if (f->ckpt)
			rd_kafka_topic_partition_list_del(f->ckpt, parts->elems[i].topic,
							  parts->elems[i].partition);
	}
	cache_clear(f);
}

/* ---- run ---------------------------------------------------------------------------------- */

static const struct stage_ops feat_ops = {
	.assign = on_assign,
	.message = on_message,
	.due = on_due,
	.cut = on_cut,
	.hold = on_hold,
	.revoked = on_revoked,
	.busy = on_busy,
};

static int setup(struct fstage *f, char *errstr, size_t errlen)
{
	if (!(f->store = feat_store_open(f->cfg->features_state, (size_t)f->cfg->features_map_size_mb,
					 errstr, errlen)))
		return BW_ESTORE;
	if (!(f->arena = bw_arena_new((size_t)f->cfg->ingest_max_line_bytes * 4)) ||
	    !(f->vec = malloc(feat_count() * sizeof(*f->vec))) ||
	    !(f->next = rd_kafka_topic_partition_list_new(8)) ||
	    !(f->ckpt = rd_kafka_topic_partition_list_new(8)) ||
	    !(f->cache = bw_map_new()))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	f->max_cached = (size_t)f->cfg->features_cache_accounts;
	for (size_t i = 0; i < f->cfg->n_kafka; i++)
		f->custom_partitioner |= strcmp(f->cfg->kafka_keys[i], "partitioner") == 0;
	f->ckpt_at = bw_time_mono_ms();
	return 0;
}

static void teardown(struct fstage *f)
{
	if (f->cache)
		cache_clear(f);
	bw_map_free(f->cache);
	free(f->emit.e);
	free(f->dirty.e);
	free(f->changed);
	feat_store_close(f->store); /* aborts an uncommitted transaction after an error */
	if (f->next)
		rd_kafka_topic_partition_list_destroy(f->next);
	if (f->ckpt)
		rd_kafka_topic_partition_list_destroy(f->ckpt);
	bw_arena_free(f->arena);
	free(f->vec);
}

int feat_stage_run(const struct bw_config *cfg, const struct feat_stage_opts *opts,
		   atomic_int *stop, struct feat_stage_stats *stats, char *errstr,
		   size_t errlen)
{
	struct fstage f = { .cfg = cfg, .opts = opts };
	struct stage_stats rs = { 0 };
	struct stage_spec sp = {
		.name = "features",
		.cfg = cfg,
		.group = cfg->features_group,
		.input = cfg->ingest_topic,
		.assign_partitions = opts->assign_partitions,
		.outputs = { cfg->features_topic, cfg->ingest_topic },
		.lz4 = true,
		.lag_groups = cfg->features_lag_groups,
		.lag_topic = cfg->features_topic,
		.max_lag = cfg->features_max_update_lag,
		.lag_unit = "update",
		.idle_exit_ms = opts->idle_exit_ms,
		.max_messages = opts->max_messages,
		.crash_after = opts->crash_after,
		.stop = stop,
		.ops = &feat_ops,
		.ctx = &f,
	};
	int rc = setup(&f, errstr, errlen);

	if (rc == 0) {
		BW_INFO("features: consuming %s as group %s; state in %s", cfg->ingest_topic,
			cfg->features_group, cfg->features_state);
		rc = stage_run(&sp, &rs, errstr, errlen);
	}
	teardown(&f);
	f.st_.delivery_failed = rs.failed;
	if (stats)
		*stats = f.st_;
	return rc;
}
