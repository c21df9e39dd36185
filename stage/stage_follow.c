/*
 * stage_follow.c — a lookup store kept from the compacted scores topic
 * (stage_follow.h), a set of callbacks on the stage runtime (stage.h).
 *
 * Every partition of score.topic is assigned directly (each replica needs
 * every record; there is no group to share them in). Records go into one
 * open store transaction; a cut (every FOLLOW_BATCH_MS, FOLLOW_BATCH
 * records, or when the input pauses) writes the next offset of every
 * partition into the same transaction as "follow/<topic>/<partition>" and
 * commits it, so the store always says how far it has read. The runtime
 * then syncs the store (ops->durable) and commits the offsets under
 * serve.follow_group too, which only shows an operator the replica's lag:
 * a restart starts from the store's positions, never from the group's.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "cfg.h"
#include "stage.h"
#include "stage_follow.h"
#include "store.h"

#define FOLLOW_BATCH 2000    /* most records in one store transaction */
#define FOLLOW_BATCH_MS 200  /* longest a transaction stays open */
#define FOLLOW_WAIT_MS 1000  /* between two looks for the topic */
#define FOLLOW_META_MS 5000  /* one metadata request */

struct follower {
	const struct bw_config *cfg;
	struct bw_store *store;
	struct bw_store_txn *txn; /* open transaction, or NULL */
	int64_t txn_start;        /* monotonic ms it was begun */
	size_t in_txn;            /* messages in it */
	struct follow_stats st;
	struct bw_metric *m_records, *m_tomb, *m_bad;
	char err[512];
};

static int fail(struct stage *st, int rc, const char *what)
{
	return stage_fail(st, rc, "follow: %s", what);
}

/* The store key of a partition's position. */
static void pos_key(char *buf, size_t n, const char *topic, int32_t p)
{
	snprintf(buf, n, "follow/%s/%" PRId32, topic, p);
}

/* Each newly assigned partition starts where the store says it stopped, or
 * at the beginning. */
static int on_assign(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
	struct follower *f = ctx;

	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		char key[BW_STORE_MAX_KEY + 1];
		size_t len = 0;
		int err = 0;
		unsigned char *v;

		pos_key(key, sizeof(key), p->topic, p->partition);
		v = store_meta_get(f->store, key, &len, &err);
		if (v && len == 8) {
			p->offset = (int64_t)bw_le64_get(v);
		} else if (!v && err != BW_ENOENT) {
			free(v);
			return err;
		} else {
			p->offset = RD_KAFKA_OFFSET_BEGINNING;
		}
		free(v);
	}
	return 0;
}

/* A record's id and screen name, or false when the value is not the record
 * of the account in its key. */
static bool record_of(const char *key, size_t klen, const void *val, size_t len, char *name,
		      size_t name_sz)
{
	json_error_t jerr;
	json_t *rec = json_loadb(val, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *id = rec ? json_string_value(json_object_get(rec, "user_id")) : NULL;
	const char *sn = rec ? json_string_value(json_object_get(rec, "screen_name")) : NULL;
	bool ok = json_is_object(rec) && id && strlen(id) == klen && memcmp(id, key, klen) == 0 &&
		  (!sn || strlen(sn) < name_sz);

	name[0] = 0;
	if (ok && sn)
		memcpy(name, sn, strlen(sn) + 1);
	json_decref(rec);
	return ok;
}

static int on_message(void *ctx, struct stage *st, const rd_kafka_message_t *m)
{
	struct follower *f = ctx;
	char id[BW_STORE_MAX_KEY + 1], name[BW_STORE_MAX_KEY + 1];
	int rc;

	if (!m->key || m->key_len == 0 || m->key_len > BW_STORE_MAX_KEY ||
	    memchr(m->key, 0, m->key_len)) {
		f->st.bad++;
		bw_counter_add(f->m_bad, NULL, 1);
		BW_WARN("follow: %s [%d] @%" PRId64 ": no account id in the key; skipped",
			rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset);
		return 0;
	}
	memcpy(id, m->key, m->key_len);
	id[m->key_len] = 0;
	if (!f->txn) {
		if (!(f->txn = store_txn_begin(f->store, f->err, sizeof(f->err))))
			return fail(st, BW_ESTORE, f->err);
		f->txn_start = bw_time_mono_ms();
	}
	f->in_txn++;
	if (!m->payload) { /* a tombstone: the account is gone */
		if ((rc = store_txn_del(f->txn, id, f->err, sizeof(f->err))))
			return fail(st, rc, f->err);
		f->st.tombstones++;
		bw_counter_add(f->m_tomb, NULL, 1);
		return 0;
	}
	if (!record_of(id, m->key_len, m->payload, m->len, name, sizeof(name))) {
		f->st.bad++;
		bw_counter_add(f->m_bad, NULL, 1);
		BW_WARN("follow: %s [%d] @%" PRId64 ": not a score record of account %s; skipped",
			rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset, id);
		return 0;
	}
	if ((rc = store_txn_put(f->txn, id, name[0] ? name : NULL, m->payload, m->len, NULL, 0,
				f->err, sizeof(f->err))))
		return fail(st, rc, f->err);
	f->st.records++;
	bw_counter_add(f->m_records, NULL, 1);
	return 0;
}

static bool on_due(void *ctx, struct stage *st, int64_t now)
{
	struct follower *f = ctx;

	return f->txn && (f->in_txn >= FOLLOW_BATCH || now - f->txn_start >= FOLLOW_BATCH_MS ||
			  stage_input_idle(st));
}

/* Commit the open transaction with the positions it reaches. */
static int on_cut(void *ctx, struct stage *st, bool all)
{
	struct follower *f = ctx;
	const rd_kafka_topic_partition_list_t *pos = stage_positions(st);
	int rc;

	(void)all;
	if (!f->txn)
		return 0;
	for (int i = 0; pos && i < pos->cnt; i++) {
		char key[BW_STORE_MAX_KEY + 1];
		unsigned char v[8];
		if (pos->elems[i].offset < 0)
			continue;
		pos_key(key, sizeof(key), pos->elems[i].topic, pos->elems[i].partition);
		bw_le64_put(v, (uint64_t)pos->elems[i].offset);
		if ((rc = store_txn_meta_put(f->txn, key, v, sizeof(v), f->err, sizeof(f->err))))
			return fail(st, rc, f->err);
	}
	rc = store_txn_commit(f->txn, f->err, sizeof(f->err));
	f->txn = NULL;
	f->in_txn = 0;
	if (rc)
		return fail(st, rc, f->err);
	f->st.batches++;
	return 0;
}

static int on_durable(void *ctx)
{
	struct follower *f = ctx;

	return store_sync(f->store, f->err, sizeof(f->err)) ? BW_ESTORE : 0;
}

static bool on_busy(void *ctx)
{
	const struct follower *f = ctx;
	return f->txn != NULL;
}

static int on_start(void *ctx, struct stage *st)
{
	struct follower *f = ctx;

	if (store_set_deferred_sync(f->store, true, f->err, sizeof(f->err)))
		return fail(st, BW_ESTORE, f->err);
	return 0;
}

static const struct stage_ops follow_ops = {
	.start = on_start,
	.assign = on_assign,
	.message = on_message,
	.due = on_due,
	.cut = on_cut,
	.durable = on_durable,
	.busy = on_busy,
};

/* Partitions of the scores topic, once it exists (0 when stopped first). */
static int wait_for_topic(const struct bw_config *cfg, atomic_int *stop, char *errstr,
			  size_t errlen)
{
	rd_kafka_conf_t *conf = bw_kafka_conf_new(cfg->kafka_bootstrap, cfg->n_kafka,
						  cfg->kafka_keys, cfg->kafka_values, errstr, errlen);
	rd_kafka_t *rk;
	bool logged = false;
	int n = 0;

	if (!conf)
		return -1;
	if (!(rk = bw_kafka_client_new(RD_KAFKA_PRODUCER, conf, NULL, NULL, NULL, NULL, errstr,
				       errlen)))
		return -1;
	while (!atomic_load(stop)) {
		if ((n = bw_kafka_partitions_of(rk, cfg->score_topic, FOLLOW_META_MS)) > 0)
			break;
		if (!logged)
			BW_INFO("follow: waiting for topic %s on %s", cfg->score_topic,
				cfg->kafka_bootstrap);
		logged = true;
		nanosleep(&(struct timespec){ FOLLOW_WAIT_MS / 1000, 0 }, NULL);
		n = 0;
	}
	rd_kafka_destroy(rk);
	return n;
}

int follow_run(const struct bw_config *cfg, struct bw_store *store, int64_t idle_exit_ms,
	       atomic_int *stop, struct follow_stats *stats, char *errstr, size_t errlen)
{
	struct follower f = { .cfg = cfg, .store = store };
	struct stage_spec sp = {
		.name = "follow",
		.cfg = cfg,
		.group = cfg->serve_follow_group,
		.input = cfg->score_topic,
		.idle_exit_ms = idle_exit_ms,
		.stop = stop,
		.ops = &follow_ops,
		.ctx = &f,
	};
	int rc = 0, n;

	if (!cfg->kafka_bootstrap[0])
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "following %s needs kafka.bootstrap.servers (--brokers)",
				 cfg->score_topic);
	f.m_records = bw_counter("botwatch_follow_records_total",
				 "Score records copied from the scores topic into this store.", NULL);
	f.m_tomb = bw_counter("botwatch_follow_tombstones_total",
			      "Accounts removed by a tombstone in the scores topic.", NULL);
	f.m_bad = bw_counter("botwatch_follow_skipped_total",
			     "Messages of the scores topic that were not a record of their key's "
			     "account (skipped).", NULL);
	if ((n = wait_for_topic(cfg, stop, errstr, errlen)) < 0)
		return BW_EKAFKA;
	if (n > 0) {
		sp.assign_partitions = n;
		BW_INFO("follow: %s (%d partitions) into the store, from its own positions",
			cfg->score_topic, n);
		rc = stage_run(&sp, NULL, errstr, errlen);
	}
	if (f.txn) /* stopped by an error mid-transaction: the positions did not move */
		store_txn_abort(f.txn);
	BW_INFO("follow: %" PRIu64 " records, %" PRIu64 " tombstones, %" PRIu64
		" skipped, %" PRIu64 " store transactions",
		f.st.records, f.st.tombstones, f.st.bad, f.st.batches);
	if (stats)
		*stats = f.st;
	return rc;
}
