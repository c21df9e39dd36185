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
#include "bw_codec.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_map.h"
#include "bw_time.h"
#include "cfg.h"
#include "feat_stage.h"
#include "feat_tally.h"
#include "stage_features.h"
#include "postcodec.h"
#include "stage.h"
#include "stage_changelog.h"

#define OBSERVE_HEADER "bw-observe"
#define BW_POP_LOG_KEY 300     /* longest population log key: 16 hex digits, ':', the id */
#define POP_LOG_PER_TICK 20000 /* most population log records taken per loop turn */

/* One cached account state. */
struct centry {
	struct feat_account *acc;   /* the state (owned) */
	struct feat_pop_keys key0;  /* keys it is entered under in the store's table */
	uint32_t npop;              /* accounts under its most shared key (at the last cut) */
	bool npop_valid;            /* npop counted since the entry was loaded */
	uint64_t touched;           /* cut number of its last use (eviction order) */
	int64_t since_ts;           /* Kafka time of its oldest post not in an update yet, 0 */
	bool emit;                  /* changed (or re-counted) since its last update */
	bool dirty;                 /* changed since the last checkpoint */
	int32_t part;               /* input partition its key belongs to (-1: not folded here) */
};

/* A posts message held until its turn (see "folding in production order"). */
struct held {
	uint64_t seq;               /* its sequence number in its ingest run */
	int32_t partition;          /* partition */
	int64_t offset;             /* offset */
	int64_t ts;                 /* Kafka timestamp */
	size_t len, key_len;        /* payload and key lengths */
	unsigned char *buf;         /* payload then key (owned) */
};

/* The ordering of one ingest run's messages. */
struct order {
	uint64_t run;               /* the run being ordered, 0 = none yet */
	uint64_t prev;              /* the run before it (its stragglers are folded as they come) */
	bool ordered;               /* this run's messages are being ordered (until a gap) */
	uint64_t expect;            /* next sequence number to fold */
	bool known;                 /* expect is known (the run was seen from its start, or a
				       message was folded from the heap) */
	int64_t progress_at;        /* monotonic ms of the last progress (a fold from the heap) */
	struct held *h;             /* min-heap by seq */
	size_t n, cap;              /* used / allocated */
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
	rd_kafka_topic_partition_list_t *ckpt;/* next offsets as of the last checkpoint */
	uint64_t cuts;                        /* cuts so far (eviction clock) */
	size_t in_batch;                      /* messages since the last cut */
	int64_t batch_start;                  /* monotonic ms of the first of them */
	int64_t ckpt_at;                      /* monotonic ms of the last checkpoint */
	double *vec;                          /* extraction scratch */
	bool custom_partitioner;              /* kafka.partitioner is set: always forward */
	double update_len;                    /* mean encoded update size (bytes; moving average) */
	char **resend;                        /* ids stored as unsent by the last run (owned), or
						 NULL once they were marked for an update */
	size_t n_resend, cap_resend;          /* used / allocated */
	struct order order;                   /* messages held for production order */
	struct stage_changelog *cl;           /* features.changelog, or NULL: state stays local */
	bool cl_tried;                        /* opening the changelog was tried */
	uint64_t logged, restored;            /* states written to / read back from it */
	struct stage_changelog *pl;           /* the population log (with cl), or NULL */
	rd_kafka_topic_partition_list_t *pl_pos; /* its next offsets as read into the store */
	bool pl_moved;                        /* pl_pos moved since the last checkpoint */
	uint64_t *remote;                     /* keys other workers' accounts joined or left */
	size_t n_remote, cap_remote;          /* used / allocated */
	uint64_t pl_sent, pl_applied;         /* population moves published / taken from others */
	struct stage_changelog *sb;           /* features.standby: the changelog followed whole */
	rd_kafka_topic_partition_list_t *sb_pos; /* its next offsets as applied to the store */
	bool sb_moved;                        /* sb_pos moved since the last checkpoint */
	uint64_t sb_applied;                  /* other workers' states kept warm */
	struct feat_stage_stats st_;          /* counters */
	struct feat_tally_sink *tally;        /* conversation-report counts (feat_tally.h) or NULL */
};

static void hold_lower(const struct fstage *f, rd_kafka_topic_partition_list_t *offs);
static int follow_log(struct fstage *f, const char *topic, struct stage_changelog **cl,
		      rd_kafka_topic_partition_list_t **pos, char *errstr, size_t errlen);
static int read_standby(struct fstage *f);
static int hold_release(struct fstage *f, struct stage *st, bool all, int64_t now);
static bool owns(const struct fstage *f, const struct stage *st, const char *id);

static int fail(struct fstage *f, int err, const char *msg)
{
	return stage_fail(f->st, err, "features: %s", msg);
}

/* ---- the cache ------------------------------------------------------------------------- */

static int elist_push(struct elist *l, struct centry *e)
{
	if (bw_array_room(&l->e, l->n, &l->cap, sizeof(*l->e), 256))
		return BW_ENOMEM;
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
	e->part = -1;
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

/* After a fold: the entry needs a checkpoint and, once it has authored a
 * post, an update (an account only ever observed gets none: no record). */
static int mark_changed(struct fstage *f, struct centry *e, int64_t ts)
{
	if (ts > 0 && (!e->since_ts || ts < e->since_ts))
		e->since_ts = ts;
	if (!e->emit && feat_account_authored(e->acc) &&
	    (e->emit = true, elist_push(&f->emit, e)))
		return fail(f, BW_ENOMEM, "out of memory");
	if (f->in_batch == 0) {
		/* a change after the last emission that no consumed message counted (a
		 * held message folded later): the batch is open from now */
		f->in_batch = 1;
		f->batch_start = bw_time_mono_ms();
	}
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
	if (bw_array_room(&f->changed, f->n_changed, &f->cap_changed, sizeof(*f->changed), 64))
		return fail(f, BW_ENOMEM, "out of memory");
	f->changed[f->n_changed++] = key;
	return 0;
}

struct move_ctx {
	struct fstage *f;
	const char *id; /* the account moved */
};

/*
 * The population log (with state handover): every move of this worker's
 * accounts between bio keys goes to <features.topic>.population, keyed
 * "<key in hex>:<account id>", value 1 (joined) or a tombstone (left), in
 * the batch being cut. Every worker reads the whole log into its own
 * population table (its own accounts' moves it already holds), so a key's
 * count covers the accounts of every worker, as replay counts them.
 */
static int publish_move(struct fstage *f, uint64_t key, const char *id, bool join)
{
	char k[BW_POP_LOG_KEY];
	int n = snprintf(k, sizeof(k), "%016llx:%s", (unsigned long long)key, id);
	static const unsigned char one = 1;

	if (n < 0 || (size_t)n >= sizeof(k))
		return 0; /* ids are short; a longer one is never in the population table */
	f->pl_sent++;
	return stage_produce(f->st, stage_changelog_topic(f->pl), k, (size_t)n, join ? &one : NULL,
			     join ? 1 : 0, NULL, NULL, 0, 0);
}

/* One key of a move: the store's table follows, and the key's count changed. */
static int on_move(uint64_t key, bool join, void *opaque)
{
	struct move_ctx *m = opaque;
	char err[256];

	if (feat_store_pop_move(m->f->store, m->id, join ? 0 : key, join ? key : 0, err,
				sizeof(err)))
		return fail(m->f, BW_ESTORE, err);
	if (m->f->pl && publish_move(m->f, key, m->id, join))
		return -1;
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
	if (m->f->cl && !owns(m->f, m->f->st, key))
		return 0; /* another worker's account (its state here may be stale) */
	if (!(e = cache_load(m->f, key, false)))
		return stage_error(m->f->st); /* not stored (0), or the load failed */
	if (!e->emit && (e->emit = true, elist_push(&m->f->emit, e)))
		return fail(m->f, BW_ENOMEM, "out of memory");
	return 0;
}

/* True when one of k's keys is among the n sorted keys of `set`. */
static bool keys_meet(const struct feat_pop_keys *k, const uint64_t *set, size_t n)
{
	for (size_t i = 0; i < k->n; i++) {
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (set[mid] < k->k[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && set[lo] == k->k[i])
			return true;
	}
	return false;
}

/* In the open transaction: move the accounts whose population keys changed,
 * mark the other accounts of changed keys for an update, then count each
 * updated account's most shared key. */
static int update_population(struct fstage *f)
{
	char err[256];
	struct feat_pop_keys k;
	size_t n = f->emit.n;

	/* keys other workers' accounts moved in or out of count as changed too */
	f->n_changed = 0;
	for (size_t i = 0; i < f->n_remote; i++)
		if (push_changed(f, f->remote[i]))
			return -1;
	f->n_remote = 0;
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
	/* count again only where it can have changed: the account's keys moved, or
	 * one of them is a key whose count this cut changed (a few LMDB lookups per
	 * key; most accounts of a cut keep their count) */
	for (size_t i = 0; i < f->emit.n; i++) {
		struct centry *e = f->emit.e[i];
		if (e->npop_valid && !keys_meet(&e->key0, f->changed, f->n_changed))
			continue;
		if (feat_store_pop_most(f->store, e->key0.k, e->key0.n, &e->npop, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
		e->npop_valid = true;
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
	f->update_len = f->update_len ? 0.99 * f->update_len + 0.01 * (double)len : (double)len;
	rc = stage_produce(f->st, f->cfg->features_topic, id, strlen(id), buf, len, NULL, NULL, 0,
			   e->since_ts);
	free(buf);
	f->st_.updates++;
	return rc;
}

/* The state of `e` to the changelog, into the input partition of its key. It
 * belongs to the batch being cut, whose commit point (held at this
 * checkpoint) is committed only once the record is delivered: a committed
 * offset always has its states in the changelog. */
static int log_state(struct fstage *f, const struct centry *e)
{
	const char *id = feat_account_id(e->acc);
	void *buf;
	size_t len;
	int rc;

	if (!f->cl || e->part < 0)
		return 0;
	if (feat_account_save(e->acc, &buf, &len))
		return fail(f, BW_ENOMEM, "serialising a state failed");
	rc = stage_produce_to(f->st, stage_changelog_topic(f->cl), e->part, id, strlen(id), buf, len,
			      NULL, NULL, 0, 0);
	free(buf);
	f->logged++;
	return rc;
}

/* Every changed state and the folded offsets in one LMDB transaction. */
/* In the open transaction: the accounts still waiting for their update. */
static int store_unsent(struct fstage *f)
{
	const char **ids = malloc((f->emit.n ? f->emit.n : 1) * sizeof(*ids));
	char err[256];
	int rc;

	if (!ids)
		return fail(f, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->emit.n; i++)
		ids[i] = feat_account_id(f->emit.e[i]->acc);
	rc = feat_store_unsent_set(f->store, ids, f->emit.n, err, sizeof(err));
	free(ids);
	return rc ? fail(f, BW_ESTORE, err) : 0;
}

static int collect_unsent(const void *id, size_t len, void *opaque)
{
	struct fstage *f = opaque;
	char *s;

	if (bw_array_room(&f->resend, f->n_resend, &f->cap_resend, sizeof(*f->resend), 64) ||
	    !(s = malloc(len + 1)))
		return BW_ENOMEM;
	memcpy(s, id, len);
	s[len] = 0;
	f->resend[f->n_resend++] = s;
	return 0;
}

/* After a restart: the accounts the last run stored as waiting for their
 * update get one at the next emission. */
static int resend_unsent(struct fstage *f)
{
	for (size_t i = 0; i < f->n_resend; i++) {
		struct centry *e = cache_load(f, f->resend[i], false);
		if (!e && stage_error(f->st))
			return -1;
		if (e && !e->emit && (e->emit = true, elist_push(&f->emit, e)))
			return fail(f, BW_ENOMEM, "out of memory");
		if (e && !f->in_batch++)
			f->batch_start = bw_time_mono_ms();
	}
	if (f->n_resend)
		BW_INFO("features: %zu account(s) changed before the last stop get their update again",
			f->n_resend);
	for (size_t i = 0; i < f->n_resend; i++)
		free(f->resend[i]);
	free(f->resend);
	f->resend = NULL;
	f->n_resend = f->cap_resend = 0;
	return 0;
}

/* A followed log's positions into the open transaction (with the states and
 * moves read up to them). */
static int store_positions(struct fstage *f, const rd_kafka_topic_partition_list_t *pos)
{
	char err[256];

	for (int i = 0; pos && i < pos->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &pos->elems[i];
		if (p->offset >= 0 &&
		    feat_store_offset_put(f->store, p->topic, p->partition, p->offset, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
	}
	return 0;
}

/* The conversation tallies of the posts folded since the last checkpoint and
 * its offsets as their marks, committed to the score store before the state
 * (a crash between the two then counts nothing twice: docs/REPORT.md). */
static int tally_commit(struct fstage *f, const rd_kafka_topic_partition_list_t *next)
{
	int32_t *parts = malloc(((size_t)next->cnt + 1) * sizeof(*parts));
	int64_t *offs = malloc(((size_t)next->cnt + 1) * sizeof(*offs));
	size_t n = 0;
	char err[256];
	int rc;

	if (!parts || !offs) {
		free(parts);
		free(offs);
		return fail(f, BW_ENOMEM, "out of memory");
	}
	for (int i = 0; i < next->cnt; i++) {
		if (strcmp(next->elems[i].topic, f->cfg->ingest_topic) != 0)
			continue;
		parts[n] = next->elems[i].partition;
		offs[n++] = next->elems[i].offset;
	}
	rc = feat_tally_sink_commit(f->tally, n, parts, offs, err, sizeof(err));
	free(parts);
	free(offs);
	return rc ? fail(f, BW_ESTORE, err) : 0;
}

static int checkpoint(struct fstage *f)
{
	rd_kafka_topic_partition_list_t *next;
	char err[256];

	if (f->dirty.n == 0 && !feat_store_in_txn(f->store))
		return 0;
	if (ensure_txn(f))
		return -1;
	/* the population table must hold the keys of the states stored with it: move
	 * those of accounts changed since the last cut now (a restart reads an
	 * account's keys from its stored state, not from the table) */
	if ((f->emit.n || f->n_remote) && update_population(f))
		return -1;
	for (size_t i = 0; i < f->dirty.n; i++) {
		struct centry *e = f->dirty.e[i];
		if (feat_store_put(f->store, e->acc, err, sizeof(err)))
			return fail(f, BW_ESTORE, err);
		if (log_state(f, e))
			return -1;
		e->dirty = false;
	}
	f->dirty.n = 0;
	if (store_unsent(f))
		return -1;
	if (!(next = rd_kafka_topic_partition_list_copy(stage_positions(f->st))))
		return fail(f, BW_ENOMEM, "out of memory");
	hold_lower(f, next); /* held messages are not folded yet */
	if (store_positions(f, f->pl_pos) || store_positions(f, f->sb_pos)) {
		rd_kafka_topic_partition_list_destroy(next);
		return -1;
	}
	f->pl_moved = f->sb_moved = false;
	for (int i = 0; i < next->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &next->elems[i];
		if (feat_store_offset_put(f->store, p->topic, p->partition, p->offset, err,
					  sizeof(err))) {
			rd_kafka_topic_partition_list_destroy(next);
			return fail(f, BW_ESTORE, err);
		}
	}
	if (f->tally && tally_commit(f, next)) {
		rd_kafka_topic_partition_list_destroy(next);
		return -1;
	}
	if (feat_store_commit(f->store, err, sizeof(err))) {
		rd_kafka_topic_partition_list_destroy(next);
		return fail(f, BW_ESTORE, err);
	}
	rd_kafka_topic_partition_list_destroy(f->ckpt);
	f->ckpt = next;
	f->st_.commits++;
	f->ckpt_at = bw_time_mono_ms();
	return evict(f);
}

static bool want_checkpoint(const struct fstage *f, int64_t now, bool quiet)
{
	if (f->dirty.n == 0)
		return (f->pl_moved || f->sb_moved) && now - f->ckpt_at >= f->cfg->features_commit_ms;
	return now - f->ckpt_at >= f->cfg->features_commit_ms || f->dirty.n >= f->max_cached ||
	       quiet;
}

/*
 * On the embedded broker (5 MiB per partition, pruned silently), keep the
 * updates a lagging scoring stage may leave unread, plus one cut's share, to
 * at most 85 % of what a partition holds: the limit in updates follows their
 * size, known from the first cut on, before any pruning could show it.
 * Updates are counted at half their encoded size: lz4 keeps them at 35-45 %
 * in the broker's log (measured: ~1,950 updates of ~5-7 KB in a 5 MiB
 * partition on the bench dump).
 */
static void cap_lag(struct fstage *f, struct stage *st)
{
	int64_t cap;

	if (!f->opts->embedded || f->update_len <= 0)
		return;
	cap = (int64_t)((double)BW_KAFKA_MOCK_MAX_BYTES * 0.85 / (f->update_len / 2) / 1.5);
	stage_cap_lag(st, cap > 1 ? cap : 1);
}

/*
 * True when the changed accounts are due for their updates (see on_due). The
 * downstream budget cuts early only between arrivals: behind a backlog it
 * bounds how many updates a cut sends, not how often cuts come, or a
 * heavy-tailed backlog (many accounts, each changed again in most cuts) would
 * cut every few thousand posts and send its busy accounts once per cut
 * (bench heavy-tailed dump: 67,873 updates for 26,830 accounts; 28,322 so).
 * Accounts awaiting their update stay in the cache, so as many of them as
 * the cache holds (features.cache_accounts) cut at once, backlog or not.
 */
static bool emit_due(const struct fstage *f, struct stage *st, int64_t now)
{
	int64_t budget = stage_output_budget(st), open_ms = now - f->batch_start;
	bool idle = stage_input_idle(st);

	if (!f->in_batch)
		return false;
	if (f->in_batch >= (size_t)f->cfg->features_batch ||
	    (idle && budget && f->emit.n >= (size_t)budget) || f->emit.n >= f->max_cached)
		return true;
	return open_ms >= f->cfg->features_batch_ms &&
	       (idle || open_ms >= f->cfg->features_catchup_ms);
}

/*
 * Send the update of every account changed since its last one — at most the
 * downstream budget of them (a cut that changes shared bio keys also marks the
 * keys' other accounts, up to 65 each, which can outgrow what the embedded
 * broker keeps): the rest keep their mark and go at the next cut, in order.
 */
static int emit_changed(struct fstage *f, struct stage *st)
{
	int64_t budget = stage_output_budget(st);
	size_t n;

	if (f->emit.n || f->n_remote) {
		if (ensure_txn(f) || update_population(f))
			return -1;
		n = budget > 0 && (size_t)budget < f->emit.n ? (size_t)budget : f->emit.n;
		for (size_t i = 0; i < n; i++) {
			struct centry *e = f->emit.e[i];
			if (feat_account_authored(e->acc) && emit_update(f, e))
				return -1; /* observed-only accounts get no update (no record) */
			e->emit = false;
			e->since_ts = 0;
		}
		memmove(f->emit.e, f->emit.e + n, (f->emit.n - n) * sizeof(*f->emit.e));
		f->emit.n -= n;
		cap_lag(f, st);
	}
	f->in_batch = f->emit.n ? 1 : 0; /* what is left opens the next batch */
	if (f->in_batch)
		f->batch_start = bw_time_mono_ms();
	return 0;
}

/*
 * A cut sends the due updates and takes a due checkpoint; with `all`
 * (revocation, shutdown) both. The two are independent: a checkpoint also
 * stores which changed accounts still wait for their update ("unsent"), so a
 * restart sends those again and the offsets it commits need not wait for the
 * (catch-up) updates.
 */
static int on_cut(void *ctx, struct stage *st, bool all)
{
	struct fstage *f = ctx;
	int64_t now = bw_time_mono_ms();
	bool quiet = stage_input_idle(st) && now - stage_last_message_ms(st) >= f->cfg->features_batch_ms;

	f->st = st;
	f->cuts++;
	if (all && hold_release(f, st, true, 0)) /* revocation, shutdown: fold what is held */
		return -1;
	if (f->resend && resend_unsent(f))
		return -1;
	if ((all || stage_transactional(st) || emit_due(f, st, now)) && emit_changed(f, st))
		return -1;
	/* transactional: every cut sends what changed and takes a checkpoint, so the
	 * commit point is not held below the cut and a transaction's output is
	 * exactly its input's */
	if (all || stage_transactional(st) || want_checkpoint(f, now, quiet))
		return checkpoint(f);
	return 0;
}

/*
 * A cut is due after features.batch_ms, features.batch messages or (between
 * arrivals) the downstream budget. While input keeps arriving (a backlog: a
 * replay, a restart, a burst) the time-based cut waits until the input pauses
 * or features.catchup_ms passed: catching up, an account's updates are worth
 * sending once it is caught up, not every batch_ms (each costs an
 * extraction and a scoring). Under steady load the input pauses between
 * arrivals, so the cut follows batch_ms and the freshness bound holds.
 */
static bool on_due(void *ctx, struct stage *st, int64_t now)
{
	struct fstage *f = ctx;

	f->st = st;
	if (f->resend || emit_due(f, st, now))
		return true;
	/* a checkpoint on its own clock; and when the input went quiet with changed
	 * states, store them now (a quiet moment), so the group's offsets catch up */
	return want_checkpoint(f, now, stage_input_idle(st) &&
					     now - stage_last_message_ms(st) >= f->cfg->features_batch_ms);
}

static bool on_busy(void *ctx)
{
	const struct fstage *f = ctx;
	return f->in_batch > 0 || f->emit.n > 0 || f->dirty.n > 0 || f->order.n > 0 || f->resend ||
	       f->n_remote > 0;
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

bool feat_stage_observation(const rd_kafka_headers_t *h)
{
	const void *v;
	size_t len;

	return h && rd_kafka_header_get_last(h, OBSERVE_HEADER, &v, &len) ==
			    RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool feat_stage_observed_id(const void *key, size_t key_len, char *id, size_t cap)
{
	if (!key || !cap || key_len >= cap || memchr(key, '\0', key_len))
		return false;
	memcpy(id, key, key_len);
	id[key_len] = '\0';
	return bw_account_id_valid(id);
}

static bool is_observation(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;

	return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	       feat_stage_observation(h);
}

/* One posts-topic message as folding needs it (borrowed from the consumed
 * message, or from a held copy). */
struct pmsg {
	const unsigned char *payload; /* binary post */
	size_t len;                   /* its length */
	const char *key;              /* key bytes (not NUL-terminated) or NULL */
	size_t key_len;               /* their length */
	int32_t partition;            /* partition of the posts topic */
	int64_t offset;               /* offset in it */
	int64_t ts;                   /* Kafka timestamp (ms), 0 when unknown */
	bool observe;                 /* a forwarded observation (header bw-observe) */
};

/* Fold `post` into the state of `id`. */
static int fold(struct fstage *f, const char *id, const struct bw_post *post, int64_t ts,
		int32_t part)
{
	struct centry *e = cache_load(f, id, true);
	uint64_t late;

	if (!e)
		return -1;
	e->part = part;
	late = feat_account_late(e->acc);
	if (feat_account_update(e->acc, post))
		return fail(f, BW_ENOMEM, "feature state update failed");
	f->st_.late += feat_account_late(e->acc) - late;
	return mark_changed(f, e, ts);
}

/* The input partition librdkafka's default partitioner gives key `id`. */
static int32_t key_partition(const struct stage *st, const char *id)
{
	return rd_kafka_msg_partitioner_consistent_random(NULL, id, strlen(id),
							  stage_input_partitions(st), NULL, NULL);
}

/* True when the partition that `id`'s messages go to (librdkafka's default
 * partitioner, which ingest and the forwards use) is this worker's. With a
 * configured kafka.partitioner every observation is forwarded. */
static bool owns(const struct fstage *f, const struct stage *st, const char *id)
{
	int32_t n = stage_input_partitions(st);

	if (f->custom_partitioner || n <= 0)
		return false;
	return stage_owns_partition(st, key_partition(st, id));
}

/* A post keyed by its author must sit in the partition owns() computes for
 * the author; if not, the producer used another partitioner: forward every
 * observation from now on (two workers must never write one account). */
static void check_partitioner(struct fstage *f, const struct stage *st, const struct bw_post *p,
			      const struct pmsg *m)
{
	int32_t n = stage_input_partitions(st);

	if (f->custom_partitioner || n <= 0 || !m->key || m->key_len != strlen(p->author.id) ||
	    memcmp(m->key, p->author.id, m->key_len) != 0)
		return;
	if (rd_kafka_msg_partitioner_consistent_random(NULL, m->key, m->key_len, n, NULL, NULL) !=
	    m->partition) {
		BW_WARN("features: %s[%d]@%lld is not where the default partitioner puts its key: "
			"observations are forwarded through Kafka from now on", f->cfg->ingest_topic,
			(int)m->partition, (long long)m->offset);
		f->custom_partitioner = true;
	}
}

/* Fold one message; undecodable ones are logged and counted, never fatal. */
static int fold_message(struct fstage *f, struct stage *st, const struct pmsg *m)
{
	struct bw_post post;
	char err[256], key[256];
	const char *targets[64];
	size_t n;

	bw_arena_reset(f->arena);
	if (ingest_post_decode(m->payload, m->len, &post, f->arena, err, sizeof(err))) {
		f->st_.bad++;
		BW_WARN("features: %s[%d]@%lld: undecodable post skipped: %s", f->cfg->ingest_topic,
			(int)m->partition, (long long)m->offset, err);
		return 0;
	}
	if (m->observe) {
		/* the key names the observed account: the decoder's id rule, whole
		 * (a key with a NUL, over 255 bytes or not an id is another producer's) */
		if (!feat_stage_observed_id(m->key, m->key_len, key, sizeof(key))) {
			f->st_.bad++;
			BW_WARN("features: %s[%d]@%lld: observation with a key that is no account id "
				"skipped", f->cfg->ingest_topic, (int)m->partition, (long long)m->offset);
			return 0;
		}
		f->st_.observations++;
		return fold(f, key, &post, m->ts, m->partition); /* keyed by the observed account */
	}
	/* the report counts a post the author's state takes as new (not a duplicate) */
	struct centry *te = f->tally ? cache_load(f, post.author.id, true) : NULL;
	uint64_t seen = te ? feat_account_posts(te->acc) : 0;
	if (f->tally && !te)
		return -1;
	if (fold(f, post.author.id, &post, m->ts, m->partition))
		return -1;
	if (te && feat_account_posts(te->acc) > seen &&
	    feat_tally_sink_post(f->tally, m->partition, m->offset, &post))
		return fail(f, BW_ESTORE, "conversation tallies: store unreadable");
	f->st_.posts++;
	check_partitioner(f, st, &post, m);
	n = feat_post_targets(&post, targets, sizeof(targets) / sizeof(targets[0]));
	for (size_t i = 0; i < n; i++) {
		if (owns(f, st, targets[i])) {
			/* this worker owns the named account: fold the observation now,
			 * in the same checkpoint as the post (no round trip) */
			if (fold(f, targets[i], &post, m->ts, key_partition(st, targets[i])))
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

/* ---- folding in production order -----------------------------------------------------

 * A worker that owns every partition folds ingest's posts in the order they
 * were produced (BW_KAFKA_SEQ_HEADER), whatever order the partitions are
 * fetched in, so an account observed from several partitions sees its
 * observations in file order, as replay folds them (its Space-Saving tables
 * and sketches are order-dependent). A message whose turn has not come is
 * held (a copy) until its turn (hold_release says how long a gap is waited
 * for). Held messages are not in a checkpoint's offsets.
 */

#define ORDER_WAIT_MS 1000 /* longest wait for the next sequence number: a partition
				   fetched late on a loaded machine must not count as a gap */
#define ORDER_MAX_HELD 50000 /* messages held at most (memory bound): past it, a gap */

static bool seq_of(const rd_kafka_message_t *m, uint64_t *run, uint64_t *seq)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t len;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, BW_KAFKA_SEQ_HEADER, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    len != BW_KAFKA_SEQ_LEN)
		return false;
	*run = bw_le64_get(v);
	*seq = bw_le64_get((const unsigned char *)v + 8);
	return *run != 0;
}

/* True when this worker owns every partition of the input topic. */
static bool owns_all(const struct stage *st)
{
	int32_t n = stage_input_partitions(st);

	for (int32_t p = 0; p < n; p++)
		if (!stage_owns_partition(st, p))
			return false;
	return n > 0;
}

static void held_swap(struct held *a, struct held *b)
{
	struct held t = *a;
	*a = *b;
	*b = t;
}

/* Push a copy of m (sequence number seq) on the min-heap. */
static int hold_push(struct fstage *f, const rd_kafka_message_t *m, uint64_t seq)
{
	struct order *o = &f->order;
	struct held *h;

	if (bw_array_room(&o->h, o->n, &o->cap, sizeof(*o->h), 256))
		return fail(f, BW_ENOMEM, "out of memory");
	h = &o->h[o->n];
	*h = (struct held){ .seq = seq, .partition = m->partition, .offset = m->offset,
			    .ts = rd_kafka_message_timestamp(m, NULL), .len = m->len,
			    .key_len = m->key_len };
	if (!(h->buf = malloc(m->len + m->key_len + 1)))
		return fail(f, BW_ENOMEM, "out of memory");
	memcpy(h->buf, m->payload, m->len);
	if (m->key_len)
		memcpy(h->buf + m->len, m->key, m->key_len);
	for (size_t i = o->n++; i > 0 && o->h[(i - 1) / 2].seq > o->h[i].seq; i = (i - 1) / 2)
		held_swap(&o->h[i], &o->h[(i - 1) / 2]);
	return 0;
}

/* Fold the lowest held message and drop it from the heap. */
static int hold_pop_fold(struct fstage *f, struct stage *st)
{
	struct order *o = &f->order;
	struct held top = o->h[0];
	struct pmsg m = { top.buf, top.len, top.key_len ? (const char *)top.buf + top.len : NULL,
			  top.key_len, top.partition, top.offset, top.ts, false };
	size_t i = 0;
	int rc;

	o->h[0] = o->h[--o->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m_ = i;
		if (l < o->n && o->h[l].seq < o->h[m_].seq)
			m_ = l;
		if (r < o->n && o->h[r].seq < o->h[m_].seq)
			m_ = r;
		if (m_ == i)
			break;
		held_swap(&o->h[i], &o->h[m_]);
		i = m_;
	}
	o->expect = top.seq + 1;
	o->known = true;
	o->progress_at = bw_time_mono_ms();
	rc = fold_message(f, st, &m);
	free(top.buf);
	return rc;
}

/*
 * Fold the held messages whose turn has come; with `all`, every one. When the
 * next number has not come within ORDER_WAIT_MS and the consumer has nothing
 * else waiting: if the run's start was not
 * seen (a run met mid-way, or its first messages still in flight), the lowest
 * held number becomes the next; in a run whose numbers were known, a gap (a
 * message pruned, lost, or folded before a restart) ends the ordering of that
 * run: what is held is folded in order, and the rest as it arrives. So a run
 * costs at most two such waits.
 */
static int hold_release(struct fstage *f, struct stage *st, bool all, int64_t now)
{
	struct order *o = &f->order;

	while (o->n) {
		bool next = !o->ordered || (o->known && o->h[0].seq <= o->expect); /* below: a repeat */
		if (!next && !all) {
			/* a wait counts only while nothing else is waiting in the consumer
			 * (not across a pause on the downstream lag, nor behind a backlog) */
			if ((now - o->progress_at < ORDER_WAIT_MS || !stage_input_idle(st)) &&
			    o->n < ORDER_MAX_HELD)
				break;
			if (o->known) { /* a gap: stop ordering this run */
				o->ordered = false;
				BW_INFO("features: sequence number %llu of the posts did not come within "
					"%d ms: the rest of this ingest run is folded in arrival order",
					(unsigned long long)o->expect, ORDER_WAIT_MS);
			}
			o->known = true;            /* else start from the lowest held */
		}
		if (hold_pop_fold(f, st))
			return -1;
	}
	return 0;
}

/* The lowest offset held in each partition lowers `offs` (a commit point or
 * a checkpoint's offsets): held messages are not folded yet. */
static void hold_lower(const struct fstage *f, rd_kafka_topic_partition_list_t *offs)
{
	for (size_t i = 0; i < f->order.n; i++) {
		const struct held *h = &f->order.h[i];
		for (int j = 0; j < offs->cnt; j++)
			if (offs->elems[j].partition == h->partition && h->offset < offs->elems[j].offset)
				offs->elems[j].offset = h->offset;
	}
}

static int on_message(void *ctx, struct stage *st, const rd_kafka_message_t *m)
{
	struct fstage *f = ctx;
	struct order *o = &f->order;
	uint64_t run, seq;
	struct pmsg pm = { m->payload, m->len, m->key, m->key_len, m->partition, m->offset,
			   rd_kafka_message_timestamp(m, NULL), is_observation(m) };

	f->st = st;
	if (f->in_batch++ == 0)
		f->batch_start = bw_time_mono_ms();
	f->st_.messages++;
	if (pm.observe || !owns_all(st) || !seq_of(m, &run, &seq) || run == o->prev)
		return fold_message(f, st, &pm);
	if (run != o->run) {
		/* another run of ingest: what is held of the last one goes first */
		if (hold_release(f, st, true, 0))
			return -1;
		o->prev = o->run;
		o->run = run;
		o->ordered = true;
		o->known = seq == 0;
		o->expect = 0;
		o->progress_at = bw_time_mono_ms();
	}
	if (!o->ordered)
		return fold_message(f, st, &pm);
	if (o->known && seq == o->expect && o->n == 0) {
		o->expect++;
		o->progress_at = bw_time_mono_ms();
		return fold_message(f, st, &pm); /* its turn: no copy */
	}
	if (!o->n)
		o->progress_at = bw_time_mono_ms();
	if (hold_push(f, m, seq))
		return -1;
	return hold_release(f, st, false, bw_time_mono_ms());
}

/* One record of the population log: another worker's account joined or left
 * a key. This worker's own accounts are skipped (its table holds their moves
 * already, and a late echo must not undo a newer one). */
static int take_move(const void *key, size_t key_len, const void *value, size_t len,
		     void *opaque)
{
	struct fstage *f = opaque;
	char k[BW_POP_LOG_KEY], err[256], *id;
	unsigned long long pk;
	bool join = value && len == 1 && *(const unsigned char *)value == 1;

	if (key_len >= sizeof(k))
		return 0;
	memcpy(k, key, key_len);
	k[key_len] = 0;
	if (key_len < 18 || k[16] != ':' || sscanf(k, "%16llx", &pk) != 1 || !pk)
		return 0; /* not a population log key */
	id = k + 17;
	if (owns(f, f->st, id))
		return 0;
	if (ensure_txn(f))
		return -1;
	if (feat_store_pop_move(f->store, id, join ? 0 : (uint64_t)pk, join ? (uint64_t)pk : 0, err,
				sizeof(err)))
		return fail(f, BW_ESTORE, err);
	if (bw_array_room(&f->remote, f->n_remote, &f->cap_remote, sizeof(*f->remote), 64))
		return fail(f, BW_ENOMEM, "out of memory");
	f->remote[f->n_remote++] = (uint64_t)pk;
	f->pl_applied++;
	return 0;
}

/* Take what the population log has ready; keys it changed are counted again
 * at the next cut, which this opens. */
static int read_population_log(struct fstage *f, int64_t now)
{
	size_t n = 0, before = f->n_remote;
	int rc = stage_changelog_poll(f->pl, POP_LOG_PER_TICK, take_move, f, f->pl_pos, &n);

	if (n)
		f->pl_moved = true;
	if (f->n_remote > before && f->in_batch == 0) {
		f->in_batch = 1;
		f->batch_start = now;
	}
	return rc ? (stage_error(f->st) ? -1 : fail(f, rc, "reading the population log")) : 0;
}

static int on_tick(void *ctx, struct stage *st, int64_t now)
{
	struct fstage *f = ctx;
	int rc;

	f->st = st;
	rc = f->order.n ? hold_release(f, st, false, now) : 0;
	if (!rc && f->pl)
		rc = read_population_log(f, now);
	if (!rc && f->sb)
		rc = read_standby(f);
	if (f->opts->idle)
		atomic_store(f->opts->idle, !f->in_batch && !f->emit.n && !f->order.n && !f->resend &&
						    !f->n_remote && !stage_inflight(st));
	return rc;
}

/* ---- state handover ------------------------------------------------------------------ */

/* Drop a clean cached state (its stored copy was replaced). */
static void cache_drop(struct fstage *f, const char *id)
{
	struct centry *e = bw_map_get(f->cache, id);

	if (!e || e->emit || e->dirty)
		return;
	bw_map_del(f->cache, id);
	feat_account_free(e->acc);
	free(e);
}

struct restore_ctx {
	struct fstage *f;
	const char *id; /* the account being restored */
};

static int restore_move(uint64_t key, bool join, void *opaque)
{
	struct restore_ctx *r = opaque;
	char err[256];

	if (feat_store_pop_move(r->f->store, r->id, join ? 0 : key, join ? key : 0, err,
				sizeof(err)))
		return fail(r->f, BW_ESTORE, err);
	return 0;
}

/* A changelog record's state replaces the stored one (and its population
 * keys follow), in the open transaction; *count counts it. A record that does
 * not decode is logged and skipped. */
static int apply_state(struct fstage *f, const void *key, size_t key_len, const void *value,
		       size_t len, uint64_t *count)
{
	struct feat_account *a, *old = NULL;
	struct feat_pop_keys k0, k1;
	struct restore_ctx r = { f, NULL };
	char err[256];
	int rc = 0;

	if (!(a = feat_account_load(value, len, err, sizeof(err)))) {
		BW_WARN("features: changelog record of %.*s skipped: %s",
			(int)(key_len < 64 ? key_len : 64), (const char *)key, err);
		return 0;
	}
	r.id = feat_account_id(a);
	if (feat_store_get(f->store, r.id, &old, err, sizeof(err)) ||
	    feat_store_put(f->store, a, err, sizeof(err))) {
		rc = fail(f, BW_ESTORE, err);
		goto out_free;
	}
	k0.n = 0;
	k0.print = 0;
	if (old)
		entered_keys(old, &k0);
	entered_keys(a, &k1);
	if (k0.print != k1.print && feat_pop_keys_diff(&k0, &k1, restore_move, &r))
		rc = -1;
	cache_drop(f, r.id);
	(*count)++;
out_free:
	feat_account_free(old);
	feat_account_free(a);
	return rc;
}


/* One changelog record, restoring a partition assigned here. */
static int restore_one(const void *key, size_t key_len, const void *value, size_t len,
		       void *opaque)
{
	struct fstage *f = opaque;

	return apply_state(f, key, key_len, value, len, &f->restored);
}

/* A changelog record followed as a standby: another worker's account is kept
 * warm (this worker's own accounts are written here first). */
static int standby_one(const void *key, size_t key_len, const void *value, size_t len,
		       void *opaque)
{
	struct fstage *f = opaque;
	char id[256];

	if (key_len >= sizeof(id))
		return 0;
	memcpy(id, key, key_len);
	id[key_len] = 0;
	if (owns(f, f->st, id) || ensure_txn(f))
		return stage_error(f->st) ? -1 : 0;
	return apply_state(f, key, key_len, value, len, &f->sb_applied);
}

/* Keep the states of the partitions other workers own current from the
 * changelog, so a partition handed over here is restored from where this
 * worker stands, not from the changelog's beginning. */
static int read_standby(struct fstage *f)
{
	size_t n = 0;
	int rc = stage_changelog_poll(f->sb, POP_LOG_PER_TICK, standby_one, f, f->sb_pos, &n);

	if (n)
		f->sb_moved = true;
	return rc ? (stage_error(f->st) ? -1 : fail(f, rc, "following the changelog")) : 0;
}
/* The population log (see publish_move), read from the positions stored with
 * the state (from its beginning for a new worker). Without it, population
 * counts stay those of this worker's partitions. */
static void open_population_log(struct fstage *f)
{
	char topic[300], err[256];

	snprintf(topic, sizeof(topic), "%s.population", f->cfg->features_topic);
	if (follow_log(f, topic, &f->pl, &f->pl_pos, err, sizeof(err)))
		BW_WARN("features: no population log (%s): population counts are this worker's "
			"partitions' only", err);
	else
		BW_INFO("features: population moves are shared through %s", topic);
}

/* A compacted log co-partitioned with the input, followed whole from the
 * positions stored with the state (its beginning for a new worker): *cl and
 * *pos, or non-zero with errstr and both NULL. */
static int follow_log(struct fstage *f, const char *topic, struct stage_changelog **cl,
		      rd_kafka_topic_partition_list_t **pos, char *errstr, size_t errlen)
{
	int32_t n = bw_kafka_partitions_of(stage_producer(f->st), f->cfg->ingest_topic, 10000);

	*pos = NULL;
	if (n <= 0)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "partitions of %s unknown",
				 f->cfg->ingest_topic);
	if (!(*cl = stage_changelog_open(f->cfg, stage_producer(f->st), topic, f->cfg->ingest_topic,
					 errstr, errlen)))
		return BW_EKAFKA;
	if (!(*pos = rd_kafka_topic_partition_list_new(n))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_close;
	}
	for (int32_t p = 0; p < n; p++) {
		int64_t off;
		if (feat_store_offset_get(f->store, topic, p, &off) == 0)
			rd_kafka_topic_partition_list_add(*pos, topic, p)->offset = off;
	}
	if (stage_changelog_follow(*cl, n, *pos, errstr, errlen) == 0)
		return 0;
	rd_kafka_topic_partition_list_destroy(*pos);
	*pos = NULL;
out_close:
	stage_changelog_close(*cl);
	*cl = NULL;
	return BW_EKAFKA;
}

/* Open features.changelog once, at the first assignment of a subscribed
 * worker (the input topic exists by then). Without an admin API (the
 * embedded broker) the state stays local, as before. */
static void open_changelog(struct fstage *f)
{
	char topic[300], err[256];

	if (f->cl_tried || f->opts->assign_partitions > 0)
		return;
	f->cl_tried = true;
	if (bw_kafka_is_embedded(stage_producer(f->st))) {
		BW_INFO("features: no state handover (the embedded broker has no admin API): "
			"account states stay in %s", f->cfg->features_state);
		return;
	}
	snprintf(topic, sizeof(topic), "%s.changelog", f->cfg->features_topic);
	if (!(f->cl = stage_changelog_open(f->cfg, stage_producer(f->st), topic, f->cfg->ingest_topic,
					   err, sizeof(err))))
		BW_INFO("features: no state handover (%s): account states stay in %s", err,
			f->cfg->features_state);
	else
		BW_INFO("features: account states are logged to %s and restored from it on "
			"assignment", topic);
	if (f->cl)
		open_population_log(f);
	if (f->cl && f->cfg->features_standby) {
		if (follow_log(f, topic, &f->sb, &f->sb_pos, err, sizeof(err)))
			BW_WARN("features: no standby (%s): a partition handed over here is restored "
				"from the changelog's beginning", err);
		else
			BW_INFO("features: standby: keeping every other worker's account states "
				"current from %s", topic);
	}
}

/* Where a standby stands in partition p of the changelog (-1: not following). */
static int64_t standby_position(const struct fstage *f, int32_t p)
{
	const rd_kafka_topic_partition_t *e =
		f->sb_pos ? rd_kafka_topic_partition_list_find(f->sb_pos, stage_changelog_topic(f->sb), p)
			  : NULL;
	return e && e->offset >= 0 ? e->offset : -1;
}

/* Restore partition p's states from the changelog when the local copy is
 * not current: its stored offset is missing or below the group's committed
 * one (another worker folded the partition since). The restored partition
 * then resumes from the committed offset. */
static int restore_partition(struct fstage *f, rd_kafka_topic_partition_t *p)
{
	char err[256];
	int64_t local, from, t0 = bw_time_mono_ms();
	uint64_t n = 0, before = f->restored;
	int rc;

	if (!f->cl || p->offset < 0 || strcmp(p->topic, f->cfg->ingest_topic) != 0 ||
	    (feat_store_offset_get(f->store, p->topic, p->partition, &local) == 0 &&
	     local >= p->offset))
		return 0;
	if (ensure_txn(f))
		return -1;
	if (f->sb && (rc = read_standby(f))) /* first what the standby has ready */
		return -1;
	from = standby_position(f, p->partition);
	if ((rc = stage_changelog_read(f->cl, p->partition, from, restore_one, f, &n, err,
				       sizeof(err))))
		return stage_error(f->st) ? -1 : fail(f, rc, err);
	if (feat_store_offset_put(f->store, p->topic, p->partition, p->offset, err, sizeof(err)))
		return fail(f, BW_ESTORE, err);
	BW_INFO("features: restored %llu account state(s) of %s[%d] from %s (%llu records from "
		"%s %lld, %lld ms); resuming at %lld", (unsigned long long)(f->restored - before),
		p->topic, (int)p->partition, stage_changelog_topic(f->cl), (unsigned long long)n,
		from >= 0 ? "the standby's offset" : "offset", (long long)(from >= 0 ? from : 0),
		(long long)(bw_time_mono_ms() - t0), (long long)p->offset);
	return 0;
}

/* Each partition resumes from the group's committed offset, or the earliest
 * message when it has none, and never past its checkpoint: what lies between
 * the committed offset and the checkpoint was folded and stored but its
 * updates were not confirmed delivered, so it is folded again (a no-op on the
 * state) and its updates are sent again. A partition whose local state is
 * not current is first restored from the changelog. */
static int on_assign(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
	struct fstage *f = ctx;

	open_changelog(f);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t off;
		if (restore_partition(f, p))
			return -1;
		if (p->offset < 0)
			p->offset = RD_KAFKA_OFFSET_BEGINNING;
		if (p->offset >= 0 &&
		    feat_store_offset_get(f->store, p->topic, p->partition, &off) == 0 && off < p->offset)
			p->offset = off;
	}
	return 0;
}

static int on_start(void *ctx, struct stage *st)
{
	struct fstage *f = ctx;

	f->st = st;
	return 0;
}

/* The states of revoked partitions may move to another worker: start clean. */
static void on_revoked(void *ctx, const rd_kafka_topic_partition_list_t *parts)
{
	struct fstage *f = ctx;

	for (int i = 0; i < parts->cnt; i++)
		if (f->ckpt)
			rd_kafka_topic_partition_list_del(f->ckpt, parts->elems[i].topic,
							  parts->elems[i].partition);
	cache_clear(f);
}

/* ---- run ---------------------------------------------------------------------------------- */

static const struct stage_ops feat_ops = {
	.start = on_start,
	.assign = on_assign,
	.message = on_message,
	.tick = on_tick,
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
	    !(f->ckpt = rd_kafka_topic_partition_list_new(8)) ||
	    !(f->cache = bw_map_new()))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	f->max_cached = (size_t)f->cfg->features_cache_accounts;
	if (feat_store_unsent_each(f->store, collect_unsent, f, errstr, errlen))
		return BW_ESTORE;
	if (f->n_resend == 0) {
		free(f->resend);
		f->resend = NULL;
	}
	for (size_t i = 0; i < f->cfg->n_kafka; i++)
		f->custom_partitioner |= strcmp(f->cfg->kafka_keys[i], "partitioner") == 0;
	f->ckpt_at = bw_time_mono_ms();
	return feat_tally_sink_open(f->cfg, f->opts->store, f->cfg->ingest_topic, &f->tally, errstr,
				    errlen);
}

static void teardown(struct fstage *f)
{
	if (f->store && !feat_store_in_txn(f->store))
		feat_store_count(f->store, &f->st_.accounts);
	if (f->cache)
		cache_clear(f);
	bw_map_free(f->cache);
	free(f->emit.e);
	free(f->dirty.e);
	free(f->changed);
	for (size_t i = 0; i < f->order.n; i++)
		free(f->order.h[i].buf);
	for (size_t i = 0; i < f->n_resend; i++)
		free(f->resend[i]);
	free(f->resend);
	free(f->order.h);
	feat_store_close(f->store); /* aborts an uncommitted transaction after an error */
	feat_tally_sink_free(f->tally);
	stage_changelog_close(f->cl);
	stage_changelog_close(f->pl);
	if (f->pl_pos)
		rd_kafka_topic_partition_list_destroy(f->pl_pos);
	stage_changelog_close(f->sb);
	if (f->sb_pos)
		rd_kafka_topic_partition_list_destroy(f->sb_pos);
	free(f->remote);
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
		.instance = cfg->features_instance,
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
	if (f.cl)
		BW_INFO("features: %llu state(s) logged to %s, %llu restored from it",
			(unsigned long long)f.logged, stage_changelog_topic(f.cl),
			(unsigned long long)f.restored);
	if (f.sb)
		BW_INFO("features: standby: %llu state(s) of other workers kept current",
			(unsigned long long)f.sb_applied);
	if (f.pl)
		BW_INFO("features: %llu population move(s) published to %s, %llu of other workers "
			"taken from it", (unsigned long long)f.pl_sent, stage_changelog_topic(f.pl),
			(unsigned long long)f.pl_applied);
	teardown(&f);
	f.st_.delivery_failed = rs.failed;
	if (stats)
		*stats = f.st_;
	return rc;
}
