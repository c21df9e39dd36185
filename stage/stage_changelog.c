/*
 * stage_changelog.c — a compacted changelog topic behind a stage's local
 * state (stage_changelog.h, docs/STATE.md "State handover").
 *
 * Creation goes through the admin API (CreateTopics with
 * cleanup.policy=compact, the input's partition count, the cluster's default
 * replication); an existing topic is checked with DescribeConfigs and the
 * metadata. Reading back uses a consumer of its own without a group: it
 * assigns one partition from the beginning, reads up to the high watermark
 * taken before the read, under a group id it never joins or commits in
 * (isolation.level=read_committed: a transactional
 * writer's aborted records are skipped), and unassigns.
 *
 * Logs through bw_log: this is application code, above the libraries.
 */
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "stage_changelog.h"

#define CL_ADMIN_MS 10000   /* one admin request */
#define CL_READ_MS 120000   /* longest restore of one partition */
#define CL_POLL_MS 100      /* one consumer poll while restoring */

struct stage_changelog {
	char topic[256];    /* the changelog topic */
	rd_kafka_t *rk;     /* reader: a consumer without a group (owned) */
};

const char *stage_changelog_topic(const struct stage_changelog *cl)
{
	return cl->topic;
}

/* Wait for the one result event of an admin request on q. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, char *errstr, size_t errlen)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, CL_ADMIN_MS + 1000);

	if (!ev) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "no answer to an admin request in %d s",
			  CL_ADMIN_MS / 1000);
		return NULL;
	}
	if (rd_kafka_event_error(ev)) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "%s", rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

/* Create `topic` compacted with `parts` partitions (an existing one is fine). */
static int create_topic(rd_kafka_t *admin, const char *topic, int parts, char *errstr,
			size_t errlen)
{
	char why[256];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, parts, -1, why, sizeof(why));
	rd_kafka_queue_t *q = rd_kafka_queue_new(admin);
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_result_t **r;
	size_t n = 0;
	int rc = BW_EKAFKA;

	if (!nt || !q) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "%s", nt ? "out of memory" : why);
		goto out_free;
	}
	rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
	rd_kafka_CreateTopics(admin, &nt, 1, NULL, q);
	if (!(ev = admin_result(q, errstr, errlen)))
		goto out_free;
	r = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	if (n == 1 && rd_kafka_topic_result_error(r[0]) &&
	    rd_kafka_topic_result_error(r[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "cannot create %s: %s", topic,
			  rd_kafka_err2str(rd_kafka_topic_result_error(r[0])));
		goto out_free;
	}
	rc = 0;
	if (n == 1 && !rd_kafka_topic_result_error(r[0]))
		BW_INFO("created %s (%d partitions, cleanup.policy=compact)", topic, parts);
out_free:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

/* The cleanup.policy the cluster holds for `topic` into out. */
static int cleanup_policy(rd_kafka_t *admin, const char *topic, char *out, size_t outlen,
			  char *errstr, size_t errlen)
{
	rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(admin);
	rd_kafka_event_t *ev;
	int rc = BW_EKAFKA;

	out[0] = 0;
	rd_kafka_DescribeConfigs(admin, &cr, 1, NULL, q);
	if ((ev = admin_result(q, errstr, errlen))) {
		size_t nres = 0, nent = 0;
		const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
			rd_kafka_event_DescribeConfigs_result(ev), &nres);
		const rd_kafka_ConfigEntry_t **ents =
			nres == 1 ? rd_kafka_ConfigResource_configs(rs[0], &nent) : NULL;
		for (size_t i = 0; i < nent; i++)
			if (strcmp(rd_kafka_ConfigEntry_name(ents[i]), "cleanup.policy") == 0 &&
			    rd_kafka_ConfigEntry_value(ents[i]))
				snprintf(out, outlen, "%s", rd_kafka_ConfigEntry_value(ents[i]));
		rc = out[0] ? 0 : bw_seterr(errstr, errlen, BW_EKAFKA, "%s: no cleanup.policy", topic);
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(cr);
	return rc;
}

/* The changelog exists, compacted, co-partitioned with `input`. */
static int ensure_topic(rd_kafka_t *admin, const char *topic, const char *input, char *errstr,
			size_t errlen)
{
	int in = bw_kafka_partitions_of(admin, input, CL_ADMIN_MS), have;
	char policy[64];

	if (in <= 0)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "partitions of %s unknown", input);
	if ((have = bw_kafka_partitions_of(admin, topic, CL_ADMIN_MS)) < 0)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "metadata of %s unknown", topic);
	if (have == 0) /* created as asked (or by a worker racing us, the same way) */
		return create_topic(admin, topic, in, errstr, errlen);
	if (have != in)
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "%s has %d partitions, %s %d: a changelog must be co-partitioned "
				 "with its input", topic, have, input, in);
	if (cleanup_policy(admin, topic, policy, sizeof(policy), errstr, errlen))
		return BW_EKAFKA;
	if (!strstr(policy, "compact"))
		return bw_seterr(errstr, errlen, BW_EKAFKA, "%s has cleanup.policy=%s, not compact",
				 topic, policy);
	return 0;
}

struct stage_changelog *stage_changelog_open(const struct bw_config *cfg, rd_kafka_t *admin,
					     const char *topic, const char *input,
					     char *errstr, size_t errlen)
{
	struct stage_changelog *cl;
	rd_kafka_conf_t *conf;
	char group[300];

	if (ensure_topic(admin, topic, input, errstr, errlen))
		return NULL;
	if (!(cl = calloc(1, sizeof(*cl)))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(cl->topic, sizeof(cl->topic), "%s", topic);
	conf = bw_kafka_consumer_conf_new(cfg->kafka_bootstrap, cfg->n_kafka, cfg->kafka_keys,
					  cfg->kafka_values, errstr, errlen);
	snprintf(group, sizeof(group), "%s.reader", topic);
	/* a group id only because librdkafka assigns through one; it never
	 * joins (assign, not subscribe) and never commits */
	if (!conf || bw_kafka_conf_set(conf, "group.id", group, errstr, errlen) ||
	    bw_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "isolation.level", "read_committed", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, errlen)) {
		if (conf)
			rd_kafka_conf_destroy(conf);
		free(cl);
		return NULL;
	}
	if (!(cl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen))) {
		rd_kafka_conf_destroy(conf);
		free(cl);
		return NULL;
	}
	return cl;
}

void stage_changelog_close(struct stage_changelog *cl)
{
	if (!cl)
		return;
	rd_kafka_destroy(cl->rk);
	free(cl);
}

int stage_changelog_read(struct stage_changelog *cl, int32_t partition, stage_changelog_cb cb,
			 void *opaque, uint64_t *n, char *errstr, size_t errlen)
{
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	int64_t lo = 0, hi = 0, end = bw_time_mono_ms() + CL_READ_MS;
	rd_kafka_resp_err_t e;
	int rc = 0;

	*n = 0;
	if (!tp)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if ((e = rd_kafka_query_watermark_offsets(cl->rk, cl->topic, partition, &lo, &hi,
						  CL_ADMIN_MS))) {
		rc = bw_seterr(errstr, errlen, BW_EKAFKA, "watermarks of %s[%d]: %s", cl->topic,
			       (int)partition, rd_kafka_err2str(e));
		goto out_free;
	}
	if (hi <= lo)
		goto out_free; /* empty */
	rd_kafka_topic_partition_list_add(tp, cl->topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
	if ((e = rd_kafka_assign(cl->rk, tp))) {
		rc = bw_seterr(errstr, errlen, BW_EKAFKA, "assign %s[%d]: %s", cl->topic,
			       (int)partition, rd_kafka_err2str(e));
		goto out_free;
	}
	for (int64_t next = lo; next < hi && !rc;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(cl->rk, CL_POLL_MS);
		if (!m) {
			if (bw_time_mono_ms() > end)
				rc = bw_seterr(errstr, errlen, BW_EKAFKA,
					       "%s[%d] not read to offset %lld within %d s", cl->topic,
					       (int)partition, (long long)hi, CL_READ_MS / 1000);
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			next = hi; /* the end (a transaction's markers may sit below hi) */
		} else if (m->err) {
			BW_WARN("restoring from %s[%d]: %s", cl->topic, (int)partition,
				rd_kafka_message_errstr(m));
		} else {
			next = m->offset + 1;
			(*n)++;
			if (m->key)
				rc = cb(m->key, m->key_len, m->payload, m->len, opaque);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(cl->rk, NULL);
out_free:
	rd_kafka_topic_partition_list_destroy(tp);
	return rc;
}

int stage_changelog_follow(struct stage_changelog *cl, int32_t n,
			   const rd_kafka_topic_partition_list_t *from, char *errstr,
			   size_t errlen)
{
	rd_kafka_topic_partition_list_t *tp = bw_kafka_input_list(cl->topic, n);
	rd_kafka_resp_err_t e;

	if (!tp)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	for (int i = 0; i < tp->cnt; i++) {
		const rd_kafka_topic_partition_t *f =
			from ? rd_kafka_topic_partition_list_find(from, cl->topic,
								  tp->elems[i].partition)
			     : NULL;
		tp->elems[i].offset = f && f->offset >= 0 ? f->offset : RD_KAFKA_OFFSET_BEGINNING;
	}
	e = rd_kafka_assign(cl->rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (e)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "assign %s: %s", cl->topic,
				 rd_kafka_err2str(e));
	return 0;
}

int stage_changelog_poll(struct stage_changelog *cl, size_t max, stage_changelog_cb cb,
			 void *opaque, rd_kafka_topic_partition_list_t *pos, size_t *n)
{
	rd_kafka_message_t *m;
	int rc = 0;

	*n = 0;
	while (!rc && *n < max && (m = rd_kafka_consumer_poll(cl->rk, 0))) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* nothing more for now */
		} else if (m->err) {
			BW_WARN("reading %s: %s", cl->topic, rd_kafka_message_errstr(m));
		} else {
			(*n)++;
			bw_kafka_note_offset(pos, m);
			if (m->key)
				rc = cb(m->key, m->key_len, m->payload, m->len, opaque);
		}
		rd_kafka_message_destroy(m);
	}
	return rc;
}
