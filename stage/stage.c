/*
 * stage.c — the stage runtime (stage.h, docs/PIPELINE.md "The stage runtime").
 *
 * Batches and commits. fl[0..n_fl) are cut batches whose output is in
 * delivery, oldest first, each with the offsets to commit once it and every
 * earlier one are delivered; fl[n_fl] is the open batch (it collects what is
 * produced before its cut, e.g. the features stage's forwarded observations).
 * Every produced message carries its batch number as opaque; its delivery
 * report decrements that batch's count. A report with an error is fatal: the
 * stage stops and commits nothing more, so a committed offset always means
 * "processed, and its output delivered".
 *
 * Delivered commit points accumulate in `ready` and are committed (after
 * ops->durable) at most every spec->commit_ms, and always at a revocation
 * and at shutdown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "cfg.h"
#include "stage.h"

#define STAGE_INFLIGHT 16     /* cut batches that may be in delivery at once */
#define STAGE_DELIVERY_MS 30000 /* longest wait for a batch's delivery */
#define STAGE_WARM_MS 5000    /* longest wait for a topic's metadata at start */
#define STAGE_UNKNOWN_TOPIC_MS 30000 /* longest wait for a just-created topic to be known */
#define STAGE_COMMIT_MS 15000 /* longest wait for an offset commit's answer */
#define STAGE_COMMITTED_MS 10000 /* longest wait for the group's committed offsets */
#define LAG_CHECK_MS 50       /* least time between two downstream lag queries */
#define LAG_QUERY_MS 5000     /* timeout of one lag query */

/* A batch: produced messages not yet reported, and its commit point. */
struct flight {
	uint64_t seq;                          /* batch number (message opaque) */
	size_t remaining;                      /* produced, not yet reported */
	size_t produced;                       /* produced in all */
	rd_kafka_topic_partition_list_t *offs; /* commit point (owned), NULL while open */
};

/* The runtime's metrics (registry-owned), labelled by stage. */
struct stage_metrics {
	struct bw_metric *consumed, *produced, *failed, *batches, *commits, *inflight, *paused;
};

struct stage {
	const struct stage_spec *sp;           /* borrowed */
	rd_kafka_t *rk;                        /* consumer */
	rd_kafka_t *prod;                      /* producer */
	rd_kafka_queue_t *cq;                  /* offset commit results (stage_commit) */
	uint64_t commit_seq;                   /* the last commit's number (its result's opaque) */
	rd_kafka_topic_t *out[2];              /* producer handles on the outputs, or NULL */
	rd_kafka_topic_t *in;                  /* consumer handle on the input (direct assignment) */
	rd_kafka_topic_partition_list_t *next; /* next offset to consume per partition */
	bool dirty;                            /* consumed since the last cut */
	struct flight fl[STAGE_INFLIGHT + 1];  /* cut batches in delivery, then the open one */
	size_t n_fl;                           /* cut batches in fl */
	rd_kafka_topic_partition_list_t *ready;/* delivered commit point not yet committed */
	rd_kafka_topic_partition_list_t *point;/* the last batch's commit point (owned) or NULL */
	int64_t committed_at;                  /* monotonic ms of the last commit */
	bool assigned;                         /* partitions assigned */
	int32_t in_parts;                      /* partitions of the input topic (0 = unknown) */
	unsigned char *owned;                  /* in_parts flags: partition assigned to us */
	int64_t last_msg;                      /* monotonic ms of the last message/assignment */
	bool input_idle;                       /* the last consumer poll returned nothing */
	struct bw_kafka_lagwatch *lag;         /* downstream lag watch or NULL */
	int64_t lag_checked;                   /* monotonic ms of the last lag query */
	int64_t lag_limit;                     /* effective max lag (retention-capped) */
	int64_t lag_cap;                       /* the stage's cap on it (stage_cap_lag), 0 = none */
	bool lag_capped;                       /* the retention cap was logged */
	int32_t lag_partitions;                /* partitions of the watched topic */
	struct stage_metrics m;                /* metrics */
	const char *label[1];                  /* metric label values: the stage name */
	struct stage_stats st;                 /* counters */
	bool txn;                              /* commits are Kafka transactions */
	bool txn_open;                         /* a transaction was begun */
	bool txn_new;                          /* a batch was cut since the last commit */
	char txn_id[512];                      /* transactional.id */
	int64_t member_lost;                   /* monotonic ms the group dropped this member
						  (session timed out, commit refused as from an
						  unknown member) with no assignment since; 0 = none */
	int64_t rejoin_ms;                     /* how long a dropped member may wait to be
						  admitted again: kafka max.poll.interval.ms */
	int err;                               /* first fatal error */
	char errbuf[512];                      /* its message */
};

int stage_fail(struct stage *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (!s->err) {
		s->err = err ? err : BW_EINVAL;
		va_start(ap, fmt);
		vsnprintf(s->errbuf, sizeof(s->errbuf), fmt, ap);
		va_end(ap);
	}
	return s->err;
}

/* A callback's non-zero result: fatal, with a generic message unless it set one. */
static int cb_fail(struct stage *s, int rc, const char *what)
{
	if (rc && !s->err)
		stage_fail(s, rc, "%s: %s failed: %s", s->sp->name, what, bw_strerror(rc));
	return s->err;
}

rd_kafka_t *stage_producer(struct stage *s)
{
	return s->prod;
}

int64_t stage_last_message_ms(const struct stage *s)
{
	return s->last_msg;
}

bool stage_input_idle(const struct stage *s)
{
	return s->input_idle;
}

int stage_error(const struct stage *s)
{
	return s->err;
}

const rd_kafka_topic_partition_list_t *stage_positions(const struct stage *s)
{
	return s->next;
}

int32_t stage_input_partitions(const struct stage *s)
{
	return s->in_parts;
}

bool stage_owns_partition(const struct stage *s, int32_t p)
{
	return s->owned && p >= 0 && p < s->in_parts && s->owned[p];
}

/* Learn the input topic's partition count (once) for stage_owns_partition(). */
static void learn_input(struct stage *s)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t;

	if (s->in_parts || !(t = rd_kafka_topic_new(s->rk, s->sp->input, NULL)))
		return;
	if (rd_kafka_metadata(s->rk, 0, t, &md, STAGE_WARM_MS) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0 &&
	    (s->owned = calloc((size_t)md->topics[0].partition_cnt, 1)))
		s->in_parts = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
}

/* Mark the partitions of `parts` (of the input topic) owned or not. */
static void own(struct stage *s, const rd_kafka_topic_partition_list_t *parts, bool on)
{
	for (int i = 0; i < parts->cnt; i++)
		if (s->owned && parts->elems[i].partition >= 0 &&
		    parts->elems[i].partition < s->in_parts &&
		    strcmp(parts->elems[i].topic, s->sp->input) == 0)
			s->owned[parts->elems[i].partition] = on;
}

bool stage_transactional(const struct stage *s)
{
	return s->txn;
}

size_t stage_inflight(const struct stage *s)
{
	return s->n_fl;
}

/* ---- producing and delivery ------------------------------------------------------ */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct stage *s = opaque;
	uint64_t seq = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	for (size_t i = 0; i <= s->n_fl; i++)
		if (s->fl[i].seq == seq && s->fl[i].remaining > 0) {
			s->fl[i].remaining--;
			break;
		}
	if (m->err) {
		s->st.failed++;
		bw_counter_add(s->m.failed, s->label, 1);
		BW_ERROR("%s: delivery to %s [%d] failed: %s", s->sp->name, rd_kafka_topic_name(m->rkt),
			 (int)m->partition, rd_kafka_err2str(m->err));
		stage_fail(s, BW_EKAFKA, "%s: delivery to %s failed: %s (nothing after it is committed)",
			   s->sp->name, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		return;
	}
	s->st.delivered++;
}

int stage_produce(struct stage *s, const char *topic, const void *key, size_t key_len,
		  const void *value, size_t len, const char *hdr_name, const void *hdr_val,
		  size_t hdr_len, int64_t ts_ms)
{
	return stage_produce_to(s, topic, RD_KAFKA_PARTITION_UA, key, key_len, value, len, hdr_name,
				hdr_val, hdr_len, ts_ms);
}

int stage_produce_to(struct stage *s, const char *topic, int32_t partition, const void *key,
		     size_t key_len, const void *value, size_t len, const char *hdr_name,
		     const void *hdr_val, size_t hdr_len, int64_t ts_ms)
{
	struct flight *f = &s->fl[s->n_fl];
	rd_kafka_headers_t *h = NULL;
	rd_kafka_resp_err_t e;
	int64_t unknown_since = 0;

	if (s->err)
		return s->err;
	for (;;) {
		if (hdr_name) {
			h = rd_kafka_headers_new(1);
			rd_kafka_header_add(h, hdr_name, -1, hdr_val, (ssize_t)hdr_len);
		}
		e = rd_kafka_producev(s->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
				      RD_KAFKA_V_KEY((void *)key, key_len),
				      RD_KAFKA_V_VALUE((void *)value, len),
				      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)f->seq),
				      RD_KAFKA_V_TIMESTAMP(ts_ms > 0 ? ts_ms : 0),
				      RD_KAFKA_V_HEADERS(h),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e && h)
			rd_kafka_headers_destroy(h); /* owned by the message only on success */
		h = NULL;
		if (e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
			/* a topic created a moment ago (the scores topic at the scoring
			 * stage's start) is not in every broker's metadata at once: wait
			 * for librdkafka's refresh of unknown topics, for a while */
			int64_t now = bw_time_mono_ms();
			if (!unknown_since)
				unknown_since = now;
			if (now - unknown_since >= STAGE_UNKNOWN_TOPIC_MS)
				break;
			rd_kafka_poll(s->prod, 100);
			if (s->err)
				return s->err;
			continue;
		}
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(s->prod, 10);
		if (s->err)
			return s->err;
	}
	if (e)
		return stage_fail(s, BW_EKAFKA, "%s: produce to %s: %s", s->sp->name, topic,
				  rd_kafka_err2str(e));
	f->remaining++;
	f->produced++;
	s->st.produced++;
	bw_counter_add(s->m.produced, s->label, 1);
	return 0;
}

/* ---- committing -------------------------------------------------------------------- */

/*
 * Commit `offs` and wait for the answer, at most STAGE_COMMIT_MS: a
 * synchronous rd_kafka_commit() waits for ever when the group coordinator is
 * gone (a stage stopping after its broker died hung in it). Each commit
 * carries its number, so the late answer of one that timed out is skipped.
 */
static rd_kafka_resp_err_t commit_bounded(struct stage *s,
					  const rd_kafka_topic_partition_list_t *offs)
{
	uint64_t id = ++s->commit_seq;
	int64_t end = bw_time_mono_ms() + STAGE_COMMIT_MS;
	rd_kafka_resp_err_t e;

	if (!s->cq && !(s->cq = rd_kafka_queue_new(s->rk)))
		return RD_KAFKA_RESP_ERR__FAIL;
	if ((e = rd_kafka_commit_queue(s->rk, offs, s->cq, NULL, (void *)(uintptr_t)id)))
		return e;
	for (int64_t left; (left = end - bw_time_mono_ms()) > 0;) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(s->cq, (int)left);
		bool ours = ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT &&
			    (uintptr_t)rd_kafka_event_opaque(ev) == (uintptr_t)id;
		if (ours)
			e = rd_kafka_event_error(ev);
		if (ev)
			rd_kafka_event_destroy(ev);
		if (ours)
			return e;
	}
	return RD_KAFKA_RESP_ERR__TIMED_OUT;
}

/* The one commit step: make the state durable, then commit `offs` (borrowed)
 * to the group. A commit that fails is retried with the next one. */
static int stage_commit(struct stage *s, const rd_kafka_topic_partition_list_t *offs)
{
	rd_kafka_resp_err_t e;
	int rc;

	if (s->sp->ops->durable && (rc = s->sp->ops->durable(s->sp->ctx)))
		return cb_fail(s, rc, "making the state durable");
	e = commit_bounded(s, offs);
	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		bool dropped = e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
			       e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION;

		/* once per loss of membership: a paused stage retries at every cut
		 * (5,109 lines in 5 minutes of a broker outage before) */
		if (!dropped || !s->member_lost)
			BW_WARN("%s: offset commit failed: %s (retried with the next one)",
				s->sp->name, rd_kafka_err2str(e));
		if (dropped && !s->member_lost)
			s->member_lost = bw_time_mono_ms();
		return BW_EAGAIN;
	}
	s->st.commits++;
	bw_counter_add(s->m.commits, s->label, 1);
	return 0;
}

/* ---- transactions ------------------------------------------------------------------ */

/* A transactional call's error: fatal (a zombie fenced by a newer instance
 * with the same transactional.id, among others) or abortable; either way the
 * stage stops, and what the open transaction held is never seen by
 * read_committed readers. The error is destroyed. */
static int txn_fail(struct stage *s, rd_kafka_error_t *e, const char *what)
{
	rd_kafka_error_t *ae;

	if (rd_kafka_error_txn_requires_abort(e) &&
	    (ae = rd_kafka_abort_transaction(s->prod, STAGE_DELIVERY_MS)))
		rd_kafka_error_destroy(ae);
	stage_fail(s, BW_EKAFKA, "%s: %s: %s%s", s->sp->name, what, rd_kafka_error_string(e),
		   rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__FENCED ||
		   rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
		   rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH
			   ? " (fenced: another instance runs as this transactional.id)" : "");
	rd_kafka_error_destroy(e);
	s->txn_open = false;
	return s->err;
}

static int txn_begin(struct stage *s)
{
	rd_kafka_error_t *e;

	if (s->txn_open)
		return 0;
	if ((e = rd_kafka_begin_transaction(s->prod)))
		return txn_fail(s, e, "begin transaction");
	s->txn_open = true;
	return 0;
}

/*
 * The transactional commit step: everything produced so far and the offsets
 * `offs` (the newest cut's commit point) in one transaction. Called only when
 * the open batch produced nothing, so the transaction's output is exactly the
 * output of the input it commits. commit_transaction waits for delivery.
 */
static int txn_commit(struct stage *s, const rd_kafka_topic_partition_list_t *offs)
{
	rd_kafka_consumer_group_metadata_t *md;
	rd_kafka_error_t *e;
	int rc;

	if (s->sp->ops->durable && (rc = s->sp->ops->durable(s->sp->ctx)))
		return cb_fail(s, rc, "making the state durable");
	if (txn_begin(s))
		return s->err;
	md = rd_kafka_consumer_group_metadata(s->rk);
	e = rd_kafka_send_offsets_to_transaction(s->prod, offs, md, STAGE_DELIVERY_MS);
	rd_kafka_consumer_group_metadata_destroy(md);
	if (e)
		return txn_fail(s, e, "sending offsets to the transaction");
	if ((e = rd_kafka_commit_transaction(s->prod, STAGE_DELIVERY_MS)))
		return txn_fail(s, e, "committing the transaction");
	s->txn_open = false;
	s->st.commits++;
	bw_counter_add(s->m.commits, s->label, 1);
	return txn_begin(s);
}

/* Transactional form of commit_delivered(): commit the newest cut's point with
 * everything produced, then every cut batch is done. */
static void commit_txn_point(struct stage *s, bool force)
{
	int64_t now = bw_time_mono_ms();

	if (s->err || !s->txn_new || !s->point || s->fl[s->n_fl].produced ||
	    (!force && now - s->committed_at < s->sp->commit_ms))
		return;
	if (txn_commit(s, s->point))
		return;
	for (size_t i = 0; i < s->n_fl; i++)
		if (s->fl[i].offs)
			rd_kafka_topic_partition_list_destroy(s->fl[i].offs);
	s->fl[0] = s->fl[s->n_fl];
	s->n_fl = 0;
	s->txn_new = false;
	s->committed_at = now;
	bw_gauge_set(s->m.inflight, s->label, 0);
}

/*
 * Move the commit points of the oldest delivered batches into `ready`, then
 * commit `ready` when `force` or spec->commit_ms has passed. Nothing is
 * committed once the stage failed (a failed delivery included).
 */
static void commit_delivered(struct stage *s, bool force)
{
	size_t done = 0;
	int64_t now;

	if (s->txn) {
		commit_txn_point(s, force);
		return;
	}
	while (!s->err && done < s->n_fl && s->fl[done].remaining == 0) {
		if (s->ready)
			rd_kafka_topic_partition_list_destroy(s->ready);
		s->ready = s->fl[done].offs; /* cumulative: a later point supersedes */
		s->fl[done++].offs = NULL;
	}
	if (done) {
		memmove(s->fl, s->fl + done, (s->n_fl + 1 - done) * sizeof(s->fl[0]));
		s->n_fl -= done;
		bw_gauge_set(s->m.inflight, s->label, (double)s->n_fl);
	}
	if (s->err || !s->ready || !s->ready->cnt)
		return;
	now = bw_time_mono_ms();
	if (!force && now - s->committed_at < s->sp->commit_ms)
		return;
	if (stage_commit(s, s->ready) == 0) {
		rd_kafka_topic_partition_list_destroy(s->ready);
		s->ready = NULL;
	}
	s->committed_at = now;
}

/* True when every cut batch's output was delivered. */
static bool delivered(const struct stage *s)
{
	for (size_t i = 0; i < s->n_fl; i++)
		if (s->fl[i].remaining)
			return false;
	return true;
}

/* Wait until at most `keep` cut batches are in delivery, committing as they
 * finish (transactional: until every cut batch is delivered; they are
 * committed together). */
static void await_delivery(struct stage *s, size_t keep)
{
	int64_t end = bw_time_mono_ms() + STAGE_DELIVERY_MS;

	commit_delivered(s, false);
	while (s->n_fl > keep && !s->err && !(s->txn && delivered(s))) {
		if (bw_time_mono_ms() >= end) {
			stage_fail(s, BW_EKAFKA, "%s: output not delivered within %d s", s->sp->name,
				   STAGE_DELIVERY_MS / 1000);
			return;
		}
		rd_kafka_poll(s->prod, 5);
		commit_delivered(s, false);
	}
}

/* True when the two commit points hold the same offsets. */
static bool same_point(const rd_kafka_topic_partition_list_t *a,
		       const rd_kafka_topic_partition_list_t *b)
{
	if (!a || !b || a->cnt != b->cnt)
		return false;
	for (int i = 0; i < a->cnt; i++) {
		const rd_kafka_topic_partition_t *q =
			rd_kafka_topic_partition_list_find(b, a->elems[i].topic, a->elems[i].partition);
		if (!q || q->offset != a->elems[i].offset)
			return false;
	}
	return true;
}

/*
 * Cut the open batch: the stage produces its outputs, then the consumed
 * offsets (lowered by ops->hold) become the batch's commit point. A cut that
 * produced nothing and would not move the commit point adds no batch.
 */
static int cut(struct stage *s, bool all)
{
	const struct stage_ops *o = s->sp->ops;
	rd_kafka_topic_partition_list_t *offs;
	struct flight *f;

	if (s->err)
		return s->err;
	if (s->n_fl >= STAGE_INFLIGHT)
		await_delivery(s, STAGE_INFLIGHT - 1);
	if (o->cut && cb_fail(s, o->cut(s->sp->ctx, s, all), "cutting a batch"))
		return s->err;
	f = &s->fl[s->n_fl];
	if (!(offs = rd_kafka_topic_partition_list_copy(s->next)))
		return stage_fail(s, BW_ENOMEM, "%s: out of memory", s->sp->name);
	if (o->hold)
		o->hold(s->sp->ctx, offs);
	s->dirty = false;
	if (f->remaining == 0 && same_point(offs, s->point)) {
		rd_kafka_topic_partition_list_destroy(offs);
		return 0;
	}
	if (s->point)
		rd_kafka_topic_partition_list_destroy(s->point);
	if (!(s->point = rd_kafka_topic_partition_list_copy(offs))) {
		rd_kafka_topic_partition_list_destroy(offs);
		return stage_fail(s, BW_ENOMEM, "%s: out of memory", s->sp->name);
	}
	f->offs = offs;
	s->txn_new = true;
	s->fl[++s->n_fl] = (struct flight){ .seq = f->seq + 1 };
	s->st.batches++;
	bw_counter_add(s->m.batches, s->label, 1);
	bw_gauge_set(s->m.inflight, s->label, (double)s->n_fl);
	if (s->txn) /* the open batch is empty now: a commit covers exactly the cut ones */
		commit_txn_point(s, s->n_fl >= STAGE_INFLIGHT);
	else
		commit_delivered(s, false);
	return s->err;
}

/* Cut everything, wait for its delivery and commit it now. */
static int settle(struct stage *s)
{
	if (cut(s, true))
		return s->err;
	await_delivery(s, 0);
	commit_delivered(s, true);
	return s->err;
}

/* ---- assignment --------------------------------------------------------------------- */

/* Start consuming `parts`: the group's committed offsets (subscribed members),
 * then the stage's choice, else the earliest message. */
static rd_kafka_resp_err_t take_partitions(struct stage *s, rd_kafka_topic_partition_list_t *parts,
					   bool incremental, bool direct)
{
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_error_t *err;
	int rc;

	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	(void)direct;
	if ((e = rd_kafka_committed(s->rk, parts, STAGE_COMMITTED_MS)))
		BW_WARN("%s: committed offsets of %s unknown (%s)", s->sp->name, s->sp->input,
			rd_kafka_err2str(e));
	if (s->sp->ops->assign && (rc = s->sp->ops->assign(s->sp->ctx, parts))) {
		cb_fail(s, rc, "taking partitions");
		return RD_KAFKA_RESP_ERR__FAIL;
	}
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].offset < 0)
			parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
	if (incremental) {
		if ((err = rd_kafka_incremental_assign(s->rk, parts))) {
			e = rd_kafka_error_code(err);
			rd_kafka_error_destroy(err);
		} else {
			e = RD_KAFKA_RESP_ERR_NO_ERROR;
		}
	} else {
		e = rd_kafka_assign(s->rk, parts);
	}
	if (e)
		return e;
	learn_input(s);
	own(s, parts, true);
	s->assigned = true;
	s->member_lost = 0;
	s->last_msg = bw_time_mono_ms();
	BW_INFO("%s: assigned %d partition(s) of %s", s->sp->name, parts->cnt, s->sp->input);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Drop the revoked partitions from the consumed positions. */
static void forget_partitions(struct stage *s, const rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++)
		rd_kafka_topic_partition_list_del(s->next, parts->elems[i].topic,
						  parts->elems[i].partition);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct stage *s = opaque;
	bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		take_partitions(s, parts, coop, false);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		settle(s); /* commit on revoke: cut, deliver, commit before the partitions move */
		if (s->sp->ops->revoked)
			s->sp->ops->revoked(s->sp->ctx, parts);
		BW_INFO("%s: revoked %d partition(s)", s->sp->name, parts->cnt);
	} else {
		BW_WARN("%s: rebalance error: %s", s->sp->name, rd_kafka_err2str(err));
	}
	forget_partitions(s, parts);
	if (coop)
		own(s, parts, false);
	else if (s->owned)
		memset(s->owned, 0, (size_t)s->in_parts);
	if (coop) {
		if ((e = rd_kafka_incremental_unassign(rk, parts)))
			rd_kafka_error_destroy(e);
	} else {
		rd_kafka_assign(rk, NULL);
	}
	s->assigned = rd_kafka_assignment_lost(rk) ? false : coop && s->next->cnt > 0;
	if (rd_kafka_assignment_lost(rk) && !s->member_lost)
		s->member_lost = bw_time_mono_ms();
}

/*
 * A member the group dropped during a broker outage is normally admitted again
 * by librdkafka's rejoin; the embedded broker (librdkafka's mock cluster) may
 * never answer it (tests/torture: an 8-30 s SIGSTOP of `botwatch broker`). Stop
 * with a clear error once the wait exceeds max.poll.interval.ms, so that a
 * supervisor restarts the stage from the committed offsets instead of it
 * waiting forever. True when the stage failed.
 */
static bool rejoin_overdue(struct stage *s, int64_t now)
{
	if (!s->member_lost || !s->rejoin_ms || now - s->member_lost < s->rejoin_ms)
		return false;
	stage_fail(s, BW_EKAFKA,
		   "%s: dropped from consumer group %s (broker unreachable longer than the "
		   "session timeout) and not admitted again within %lld ms "
		   "(kafka.max.poll.interval.ms); stopping: a restart resumes from the "
		   "committed offsets", s->sp->name, s->sp->group, (long long)s->rejoin_ms);
	return true;
}

/* ---- downstream backpressure -------------------------------------------------------- */

/* The effective limit after a lag query: spec->max_lag, capped at half of what
 * the broker was seen to keep per partition once it pruned one. */
static void update_limit(struct stage *s, const struct bw_kafka_lag *lag)
{
	int64_t lim = s->sp->max_lag;

	if (lim > 0 && s->lag_cap > 0 && s->lag_cap < lim)
		lim = s->lag_cap; /* the stage's own estimate (stage_cap_lag) */
	if (lim > 0 && lag->retained_min > 0 && lag->retained_min / 2 < lim) {
		lim = lag->retained_min / 2 > 0 ? lag->retained_min / 2 : 1;
		if (!s->lag_capped)
			BW_INFO("%s: the broker keeps about %lld messages per partition of %s: "
				"pausing above %lld instead of %lld", s->sp->name,
				(long long)lag->retained_min, s->sp->lag_topic, (long long)lim,
				(long long)s->sp->max_lag);
		s->lag_capped = true;
	}
	s->lag_limit = lim;
	s->lag_partitions = lag->partitions;
}

void stage_cap_lag(struct stage *s, int64_t cap)
{
	s->lag_cap = cap;
	if (cap > 0 && s->lag_limit > cap)
		s->lag_limit = cap;
}

int64_t stage_output_budget(const struct stage *s)
{
	if (!s->lag || s->lag_limit <= 0 || s->lag_partitions <= 0)
		return 0;
	return s->lag_limit * s->lag_partitions / 2 > 0 ? s->lag_limit * s->lag_partitions / 2 : 1;
}

static const char *unit(const struct stage *s)
{
	return s->sp->lag_unit ? s->sp->lag_unit : "message";
}

/*
 * Wait while a downstream group lags more than the limit (the embedded broker
 * prunes what a slow reader has not read); a group that lost messages to
 * pruning is fatal. Delivery reports and commits go on meanwhile.
 */
static int backpressure(struct stage *s)
{
	struct bw_kafka_lag lag;
	char err[256];
	int64_t logged = 0, start = 0;

	if (!s->lag || bw_time_mono_ms() - s->lag_checked < LAG_CHECK_MS)
		return s->err;
	for (;;) {
		s->lag_checked = bw_time_mono_ms();
		if (bw_kafka_lag_query(s->lag, LAG_QUERY_MS, &lag, err, sizeof(err))) {
			BW_WARN("%s: cannot check the lag of %s (will retry): %s", s->sp->name,
				s->sp->lag_groups, err);
			break;
		}
		if (lag.lost > 0)
			return stage_fail(s, BW_EKAFKA,
					  "%s: %s%s lost: consumer group %.64s had not read %lld %s(s) of "
					  "%.64s[%d] before the broker pruned them; lower the lag limit or "
					  "use a real Kafka cluster", s->sp->name, s->sp->name, " output",
					  lag.lost_group, (long long)lag.lost, unit(s), s->sp->lag_topic,
					  (int)lag.lost_partition);
		update_limit(s, &lag);
		if (s->lag_limit <= 0 || lag.max_lag <= s->lag_limit || *s->sp->stop)
			break;
		if (!start)
			start = s->lag_checked; /* the open batch waits: cutting it would only
						   add output for the lagging reader */
		if (s->lag_checked - logged >= 5000) {
			BW_INFO("%s: paused: consumer group %s lags %lld message(s) on %s[%d]",
				s->sp->name, lag.group, (long long)lag.max_lag, s->sp->lag_topic,
				(int)lag.partition);
			logged = s->lag_checked;
		}
		rd_kafka_poll(s->prod, LAG_CHECK_MS);
		commit_delivered(s, false);
		/* paused, the consumer is not polled: a dropped member cannot rejoin */
		if (s->err || rejoin_overdue(s, bw_time_mono_ms()))
			break;
	}
	if (start) {
		s->st.paused_ms += (uint64_t)(bw_time_mono_ms() - start);
		bw_counter_add(s->m.paused, s->label, (uint64_t)(bw_time_mono_ms() - start));
	}
	return s->err;
}

/* ---- clients and setup -------------------------------------------------------------- */

/* True when a kafka.* setting names `key` (or `alt`). */
static bool user_sets(const struct bw_config *c, const char *key, const char *alt)
{
	for (size_t i = 0; i < c->n_kafka; i++)
		if (strcmp(c->kafka_keys[i], key) == 0 || (alt && strcmp(c->kafka_keys[i], alt) == 0))
			return true;
	return false;
}

static rd_kafka_t *make_client(struct stage *s, rd_kafka_type_t type, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->sp->cfg;
	rd_kafka_conf_t *conf =
		(type == RD_KAFKA_CONSUMER ? bw_kafka_consumer_conf_new : bw_kafka_conf_new)(
			c->kafka_bootstrap, c->n_kafka, c->kafka_keys, c->kafka_values, errstr, errlen);
	int rc = 0;

	if (!conf)
		return NULL;
	if (type == RD_KAFKA_PRODUCER && s->sp->lz4 &&
	    !user_sets(c, "compression.type", "compression.codec"))
		rc = bw_kafka_conf_set(conf, "compression.type", "lz4", errstr, errlen);
	if (!rc && type == RD_KAFKA_PRODUCER && s->txn)
		rc = bw_kafka_conf_set(conf, "transactional.id", s->txn_id, errstr, errlen);
	if (!rc && type == RD_KAFKA_CONSUMER && !user_sets(c, "partition.assignment.strategy", NULL))
		rc = bw_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky",
				       errstr, errlen);
	if (rc) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return bw_kafka_client_new(type, conf, s->sp->group, rebalance_cb, dr_cb, s, errstr, errlen);
}

static void register_metrics(struct stage *s)
{
	s->label[0] = s->sp->name;
	s->m.consumed = bw_counter("botwatch_stage_consumed_total", "Messages a stage consumed.",
				   "stage");
	s->m.produced = bw_counter("botwatch_stage_produced_total", "Messages a stage produced.",
				   "stage");
	s->m.failed = bw_counter("botwatch_stage_delivery_failures_total",
				 "Produced messages whose delivery failed (each stops the stage).",
				 "stage");
	s->m.batches = bw_counter("botwatch_stage_batches_total", "Batches a stage cut.", "stage");
	s->m.commits = bw_counter("botwatch_stage_commits_total", "Offset commits of a stage.",
				  "stage");
	s->m.inflight = bw_gauge("botwatch_stage_inflight_batches",
				 "Cut batches whose output is still in delivery.", "stage");
	s->m.paused = bw_counter("botwatch_stage_paused_ms_total",
				 "Milliseconds a stage paused on downstream consumer lag.", "stage");
}

/* A client's millisecond setting `name` (librdkafka's default when unset), 0 if unknown. */
static int64_t conf_ms(rd_kafka_t *rk, const char *name)
{
	char buf[32], *end;
	size_t n = sizeof(buf);

	if (rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &n) != RD_KAFKA_CONF_OK)
		return 0;
	long long v = strtoll(buf, &end, 10);
	return end != buf && !*end && v > 0 ? (int64_t)v : 0;
}

static int setup(struct stage *s, char *errstr, size_t errlen)
{
	const struct stage_spec *sp = s->sp;
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t e;
	char why[256];
	int rc;

	if (!sp->cfg->kafka_bootstrap[0])
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "kafka.bootstrap.servers is empty: start `botwatch broker` (or point at a "
				 "cluster) and pass its address with --brokers");
	register_metrics(s);
	if (sp->instance && sp->instance[0] && sp->assign_partitions <= 0) {
		s->txn = true;
		snprintf(s->txn_id, sizeof(s->txn_id), "%s.%s", sp->group, sp->instance);
	}
	if (!(s->next = rd_kafka_topic_partition_list_new(8)))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (!(s->prod = make_client(s, RD_KAFKA_PRODUCER, errstr, errlen)) ||
	    !(s->rk = make_client(s, RD_KAFKA_CONSUMER, errstr, errlen)))
		return BW_EKAFKA;
	if (s->txn) {
		rd_kafka_error_t *te = rd_kafka_init_transactions(s->prod, STAGE_DELIVERY_MS);
		if (te) {
			bw_seterr(errstr, errlen, BW_EKAFKA, "%s: transactions (transactional.id %s): %s",
				  sp->name, s->txn_id, rd_kafka_error_string(te));
			rd_kafka_error_destroy(te);
			return BW_EKAFKA;
		}
		if (txn_begin(s))
			return bw_seterr(errstr, errlen, BW_EKAFKA, "%s", s->errbuf);
		BW_INFO("%s: output and offsets committed in transactions (transactional.id %s)",
			sp->name, s->txn_id);
	}
	if (sp->assign_partitions <= 0)
		s->rejoin_ms = conf_ms(s->rk, "max.poll.interval.ms");
	if (sp->ops->start && (rc = sp->ops->start(sp->ctx, s)))
		return bw_seterr(errstr, errlen, rc, "%s", s->err ? s->errbuf : bw_strerror(rc));
	/* learn the outputs' leaders now, not at the first message (bw_kafka_topic_warm) */
	for (int i = 0; i < 2; i++)
		if (sp->outputs[i] &&
		    !(s->out[i] = bw_kafka_topic_warm(s->prod, sp->outputs[i], STAGE_WARM_MS, why,
						      sizeof(why))))
			BW_WARN("%s: %s (the first delivery may wait for a metadata refresh)", sp->name,
				why);
	if (sp->lag_groups && sp->lag_groups[0] &&
	    !(s->lag = bw_kafka_lagwatch_new(sp->cfg->kafka_bootstrap, sp->cfg->n_kafka,
					     sp->cfg->kafka_keys, sp->cfg->kafka_values,
					     sp->lag_topic, sp->lag_groups, errstr, errlen)))
		return BW_EKAFKA;
	rd_kafka_poll_set_consumer(s->rk);
	if (sp->assign_partitions > 0 &&
	    !(s->in = bw_kafka_topic_warm(s->rk, sp->input, STAGE_WARM_MS, why, sizeof(why))))
		BW_WARN("%s: %s (the first fetch may wait for a metadata refresh)", sp->name, why);
	sub = bw_kafka_input_list(sp->input, sp->assign_partitions);
	e = sp->assign_partitions > 0 ? take_partitions(s, sub, false, true)
				      : rd_kafka_subscribe(s->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (e)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "%s %s: %s",
				 sp->assign_partitions > 0 ? "assign" : "subscribe to", sp->input,
				 s->err ? s->errbuf : rd_kafka_err2str(e));
	return 0;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* Take one consumed message. */
static void consume(struct stage *s, rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
		return;
	if (m->err) {
		BW_WARN("%s: consumer: %s", s->sp->name, rd_kafka_message_errstr(m));
		return;
	}
	s->st.messages++;
	bw_counter_add(s->m.consumed, s->label, 1);
	bw_kafka_note_offset(s->next, m);
	s->dirty = true;
	cb_fail(s, s->sp->ops->message(s->sp->ctx, s, m), "processing a message");
}

static bool busy(struct stage *s)
{
	return s->sp->ops->busy && s->sp->ops->busy(s->sp->ctx);
}

static void loop(struct stage *s)
{
	const struct stage_spec *sp = s->sp;
	const struct stage_ops *o = sp->ops;

	s->last_msg = bw_time_mono_ms();
	while (!*sp->stop && !s->err) {
		if (backpressure(s))
			break;
		/* short waits while output is in delivery or work is held, so reports,
		 * commits and cuts are not held up by an idle consumer */
		rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, s->n_fl || busy(s) ? 5 : 50);
		int64_t now = bw_time_mono_ms();

		s->input_idle = !m;
		if (m) {
			s->last_msg = now;
			consume(s, m);
			rd_kafka_message_destroy(m); /* before any exit: a held message blocks destroy */
			if (sp->crash_after && s->st.messages >= sp->crash_after) {
				stage_fail(s, BW_ESTOP, "simulated crash (--crash-after)");
				break;
			}
		}
		rd_kafka_poll(s->prod, 0); /* delivery reports */
		commit_delivered(s, false);
		if (o->tick && cb_fail(s, o->tick(sp->ctx, s, now), "housekeeping"))
			break;
		if (o->due && o->due(sp->ctx, s, now))
			cut(s, false);
		else if (s->dirty && !m && !s->n_fl && !busy(s))
			cut(s, false); /* consumed input with nothing held still moves the group */
		if (sp->max_messages && s->st.messages >= sp->max_messages)
			break;
		if (sp->idle_exit_ms && s->assigned && !busy(s) && !s->n_fl &&
		    now - s->last_msg >= sp->idle_exit_ms)
			break;
		if (rejoin_overdue(s, now))
			break;
	}
}

static void teardown(struct stage *s)
{
	if (s->rk) {
		if (!s->err)
			settle(s);
		rd_kafka_consumer_close(s->rk); /* revokes a subscription: settles once more */
		if (s->cq)
			rd_kafka_queue_destroy(s->cq);
		if (s->in)
			rd_kafka_topic_destroy(s->in);
		rd_kafka_destroy(s->rk);
	}
	if (s->prod) {
		rd_kafka_error_t *e;
		if (s->txn_open && (e = rd_kafka_abort_transaction(s->prod, STAGE_DELIVERY_MS)))
			rd_kafka_error_destroy(e); /* the empty one begun after the last commit */
		rd_kafka_flush(s->prod, STAGE_DELIVERY_MS);
		if (rd_kafka_outq_len(s->prod) > 0)
			stage_fail(s, BW_EKAFKA, "%s: output still queued after %d s", s->sp->name,
				   STAGE_DELIVERY_MS / 1000);
		for (int i = 0; i < 2; i++)
			if (s->out[i])
				rd_kafka_topic_destroy(s->out[i]);
		rd_kafka_destroy(s->prod);
	}
	for (size_t i = 0; i <= s->n_fl; i++)
		if (s->fl[i].offs)
			rd_kafka_topic_partition_list_destroy(s->fl[i].offs);
	if (s->ready)
		rd_kafka_topic_partition_list_destroy(s->ready);
	if (s->point)
		rd_kafka_topic_partition_list_destroy(s->point);
	if (s->next)
		rd_kafka_topic_partition_list_destroy(s->next);
	bw_kafka_lagwatch_free(s->lag);
	free(s->owned);
}

int stage_run(const struct stage_spec *spec, struct stage_stats *stats, char *errstr,
	      size_t errlen)
{
	struct stage *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	s->sp = spec;
	rc = setup(s, errstr, errlen);
	if (rc == 0)
		loop(s);
	teardown(s);
	BW_INFO("%s: runtime: %llu consumed, %llu produced (%llu delivered, %llu failed), %llu "
		"batches, %llu commits, %llu ms paused on downstream lag", spec->name,
		(unsigned long long)s->st.messages, (unsigned long long)s->st.produced,
		(unsigned long long)s->st.delivered, (unsigned long long)s->st.failed,
		(unsigned long long)s->st.batches, (unsigned long long)s->st.commits,
		(unsigned long long)s->st.paused_ms);
	if (rc == 0 && s->err)
		rc = bw_seterr(errstr, errlen, s->err, "%s", s->errbuf);
	if (stats)
		*stats = s->st;
	free(s);
	return rc;
}
