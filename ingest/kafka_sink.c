/*
 * kafka_sink.c — idempotent producer of posts and DLQ records with
 * queue-full retry and consumer-lag backpressure (see kafka_sink.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "kafka_sink.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_time.h"
#include "postcodec.h"

#define LAG_CHECK_MSGS 1000     /* query lag at least every this many posts ... */
#define LAG_CHECK_MS 50         /* ... or this often */
#define LAG_QUERY_TIMEOUT_MS 5000
#define LAG_WAIT_MS 20          /* poll interval while paused */
#define LAG_LOG_EVERY_MS 5000   /* how often a long pause is logged */

struct ingest_sink {
	const struct bw_config *cfg;     /* borrowed */
	atomic_int *stop;     /* borrowed stop flag, may be NULL */
	struct bw_kafka_mock *mock;      /* in-process embedded broker, or NULL */
	char *bootstrap;                 /* servers in use */
	rd_kafka_t *rk;                  /* the producer */
	rd_kafka_topic_t *posts;         /* posts topic handle */
	rd_kafka_topic_t *dlq;           /* DLQ topic handle */
	struct bw_kafka_lagwatch *lag;   /* lag watch, NULL when backpressure is off */
	int64_t lag_limit;               /* configured ingest.max_consumer_lag */
	bool embedded_limits;            /* the broker is a mock: cap lag by its retention */
	uint64_t since_check;            /* posts since the last lag query */
	int64_t last_check_ms;           /* monotonic time of the last lag query */
	int64_t query_warned_ms;         /* when a failed lag query was last logged */
	uint64_t run_id;                 /* this sink's run, in the sequence header */
	uint64_t seq;                    /* sequence number of the next post */
	struct ingest_sink_stats st;     /* counters */
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ingest_sink *s = opaque;
	(void)rk;

	if (m->err) {
		s->st.failed++;
		BW_WARN("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
			rd_kafka_err2str(m->err));
	} else {
		s->st.delivered++;
	}
}

/* Start the in-process broker and create the pipeline's topics on it. */
static int start_embedded(struct ingest_sink *s, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->cfg;
	const char *topics[] = { c->ingest_topic, c->ingest_dlq_topic, c->features_topic,
				 c->score_topic };
	int rc;

	s->mock = bw_kafka_mock_new((int)c->broker_count, errstr, errlen);
	if (!s->mock)
		return BW_EKAFKA;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if ((rc = bw_kafka_mock_topic_create(s->mock, topics[i], (int)c->broker_partitions,
						     errstr, errlen)))
			return rc;
	BW_WARN("no kafka.bootstrap.servers configured: started an in-process embedded broker at "
		"%s; what it holds ends with this process (run `botwatch broker` to share one)",
		bw_kafka_mock_bootstraps(s->mock));
	return 0;
}

static rd_kafka_conf_t *producer_conf(struct ingest_sink *s, char *errstr, size_t errlen)
{
	const struct bw_config *c = s->cfg;
	rd_kafka_conf_t *conf;

	/* our defaults first, so kafka.* settings from the config override them */
	conf = bw_kafka_conf_new(s->bootstrap, 0, NULL, NULL, errstr, errlen);
	if (!conf)
		return NULL;
	if (bw_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "compression.codec", "lz4", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "linger.ms", "5", errstr, errlen) ||
	    bw_kafka_conf_set(conf, "client.id", "botwatch-ingest", errstr, errlen))
		goto out_destroy;
	for (size_t i = 0; i < c->n_kafka; i++)
		if (bw_kafka_conf_set(conf, c->kafka_keys[i], c->kafka_values[i], errstr, errlen))
			goto out_destroy;
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, s);
	return conf;

out_destroy:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int open_producer(struct ingest_sink *s, char *errstr, size_t errlen)
{
	char kerr[512];
	rd_kafka_conf_t *conf = producer_conf(s, errstr, errlen);

	if (!conf)
		return BW_EKAFKA;
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
	if (!s->rk) {
		rd_kafka_conf_destroy(conf);
		return bw_seterr(errstr, errlen, BW_EKAFKA, "producer: %s", kerr);
	}
	s->posts = rd_kafka_topic_new(s->rk, s->cfg->ingest_topic, NULL);
	s->dlq = rd_kafka_topic_new(s->rk, s->cfg->ingest_dlq_topic, NULL);
	if (!s->posts || !s->dlq)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "cannot open topics %s / %s",
				 s->cfg->ingest_topic, s->cfg->ingest_dlq_topic);
	return 0;
}

/* An id for this sink's sequence numbers: distinct across processes and runs. */
static uint64_t run_id(void)
{
	static atomic_uint n;
	uint64_t x = (uint64_t)bw_time_now_ms() ^ ((uint64_t)getpid() << 40) ^
		     ((uint64_t)atomic_fetch_add(&n, 1) << 56);

	/* splitmix64 finaliser: spread the bits */
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return (x ^ (x >> 31)) | 1; /* never 0: 0 means "no run" to readers */
}

struct ingest_sink *ingest_sink_new(const struct bw_config *cfg, atomic_int *stop,
				    char *errstr, size_t errlen)
{
	struct ingest_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->stop = stop;
	s->lag_limit = cfg->ingest_max_lag;
	s->run_id = run_id();
	if (!cfg->kafka_bootstrap[0]) {
		if (start_embedded(s, errstr, errlen))
			goto out_free;
		s->embedded_limits = true;
	}
	s->bootstrap = strdup(s->mock ? bw_kafka_mock_bootstraps(s->mock) : cfg->kafka_bootstrap);
	if (!s->bootstrap) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	if (cfg->ingest_lag_retention_cap)
		s->embedded_limits = true;
	if (open_producer(s, errstr, errlen))
		goto out_free;
	if (cfg->ingest_lag_groups[0]) { /* watched even with no limit: pruning is detected */
		s->lag = bw_kafka_lagwatch_new(s->bootstrap, cfg->n_kafka, cfg->kafka_keys,
					       cfg->kafka_values, cfg->ingest_topic,
					       cfg->ingest_lag_groups, errstr, errlen);
		if (!s->lag)
			goto out_free;
	}
	return s;

out_free:
	ingest_sink_free(s);
	return NULL;
}

const char *ingest_sink_bootstrap(const struct ingest_sink *s)
{
	return s->bootstrap;
}

/* Effective lag limit: the configured one, capped on the embedded broker so
 * that a partition's backlog stays under 80% of its 5 MiB / 100k retention. */
static int64_t lag_limit(const struct ingest_sink *s)
{
	int64_t lim = s->lag_limit;

	if (s->embedded_limits) {
		int64_t avg = s->st.produced ? (int64_t)(s->st.post_bytes / s->st.produced) : 1024;
		int64_t by_bytes = (int64_t)BW_KAFKA_MOCK_MAX_BYTES * 8 / 10 / (avg + 64);
		int64_t by_count = (int64_t)BW_KAFKA_MOCK_MAX_MSGS * 8 / 10;
		if (by_bytes < lim)
			lim = by_bytes;
		if (by_count < lim)
			lim = by_count;
	}
	return lim > 0 ? lim : 1;
}

/* Current worst lag including this producer's undelivered share. */
static int check_lag(struct ingest_sink *s, struct bw_kafka_lag *lag, char *errstr, size_t errlen)
{
	char qerr[512];
	int rc = bw_kafka_lag_query(s->lag, LAG_QUERY_TIMEOUT_MS, lag, qerr, sizeof(qerr));

	s->since_check = 0;
	s->last_check_ms = bw_time_mono_ms();
	if (rc) {
		/* not fatal (e.g. the topic is auto-created by the first produce, or a
		 * broker is briefly away): keep the last estimate and say so */
		if (s->last_check_ms - s->query_warned_ms >= LAG_LOG_EVERY_MS) {
			BW_WARN("cannot check consumer lag (will retry): %s", qerr);
			s->query_warned_ms = s->last_check_ms;
		}
		return 0;
	}
	if (lag->lost > 0)
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "posts lost: consumer group %s had not read %lld message(s) of "
				 "%s[%d] before the broker pruned them (retention exceeded); lower "
				 "ingest.max_consumer_lag or use a real Kafka cluster",
				 lag->lost_group, (long long)lag->lost, s->cfg->ingest_topic,
				 lag->lost_partition);
	s->st.queue_depth = rd_kafka_outq_len(s->rk);
	/* messages still in the producer queue will add to some partition's lag:
	 * count them all (conservative when keys spread over many partitions) */
	s->st.last_lag = lag->max_lag + s->st.queue_depth;
	BW_DEBUG("lag check: group %s lag %lld, queue %lld, estimate %lld", lag->group,
		 (long long)lag->max_lag, (long long)s->st.queue_depth, (long long)s->st.last_lag);
	return 0;
}

/* Wait while the worst lag is over the limit; resumes below half of it. */
static int lag_backpressure(struct ingest_sink *s, char *errstr, size_t errlen)
{
	struct bw_kafka_lag lag;
	int64_t lim = lag_limit(s), logged = 0;
	int rc;

	if (!s->lag)
		return 0;
	/* check often enough that the limit is overshot by at most a quarter */
	uint64_t every = s->lag_limit > 0 && lim / 4 < LAG_CHECK_MSGS ? (uint64_t)(lim / 4 + 1)
								      : LAG_CHECK_MSGS;
	if (s->since_check < every && bw_time_mono_ms() - s->last_check_ms < LAG_CHECK_MS)
		return 0;
	if ((rc = check_lag(s, &lag, errstr, errlen)))
		return rc;
	if (s->lag_limit <= 0 || s->st.last_lag <= lim)
		return 0;
	s->st.lag_pauses++;
	while (s->st.last_lag > lim / 2) {
		int64_t now = bw_time_mono_ms();
		if (s->stop && *s->stop)
			return BW_ESTOP;
		if (now - logged >= LAG_LOG_EVERY_MS) {
			BW_INFO("paused: consumer group %s lags %lld message(s) on %s[%d] (limit %lld)",
				lag.group, (long long)lag.max_lag, s->cfg->ingest_topic,
				lag.partition, (long long)lim);
			logged = now;
		}
		rd_kafka_poll(s->rk, LAG_WAIT_MS);
		if ((rc = check_lag(s, &lag, errstr, errlen)))
			return rc;
	}
	return 0;
}

/* Produce with retry on a full local queue; takes ownership of buf when F_FREE. */
static int produce(struct ingest_sink *s, rd_kafka_topic_t *rkt, void *buf, size_t len,
		   const char *key, int flags, char *errstr, size_t errlen)
{
	size_t klen = key ? strlen(key) : 0;

	for (;;) {
		if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, flags, buf, len, key, klen, NULL) == 0)
			break;
		rd_kafka_resp_err_t err = rd_kafka_last_error();
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			s->st.produce_errors++;
			if (flags & RD_KAFKA_MSG_F_FREE)
				free(buf);
			return bw_seterr(errstr, errlen, BW_EKAFKA, "produce to %s: %s",
					 rd_kafka_topic_name(rkt), rd_kafka_err2str(err));
		}
		s->st.queue_full++;
		rd_kafka_poll(s->rk, 10);
	}
	rd_kafka_poll(s->rk, 0);
	return 0;
}

/* Produce one encoded post (buf taken) with its sequence header
 * (BW_KAFKA_SEQ_HEADER), retrying while the local queue is full. */
static int produce_post(struct ingest_sink *s, unsigned char *buf, size_t len, const char *key,
			char *errstr, size_t errlen)
{
	unsigned char seq[BW_KAFKA_SEQ_LEN];
	rd_kafka_resp_err_t err;

	bw_le64_put(seq, s->run_id);
	bw_le64_put(seq + 8, s->seq);
	for (;;) {
		err = rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->posts),
					RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(buf, len),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
					RD_KAFKA_V_HEADER(BW_KAFKA_SEQ_HEADER, seq, sizeof(seq)),
					RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		s->st.queue_full++;
		rd_kafka_poll(s->rk, 10);
	}
	if (err) {
		s->st.produce_errors++;
		free(buf);
		return bw_seterr(errstr, errlen, BW_EKAFKA, "produce to %s: %s",
				 rd_kafka_topic_name(s->posts), rd_kafka_err2str(err));
	}
	s->seq++;
	rd_kafka_poll(s->rk, 0);
	return 0;
}

int ingest_sink_post(struct ingest_sink *s, const struct bw_post *post, char *errstr,
		     size_t errlen)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if ((rc = lag_backpressure(s, errstr, errlen)))
		return rc;
	if (ingest_post_encode_alloc(post, &buf, &len))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	rc = produce_post(s, buf, len, post->author.id, errstr, errlen);
	if (rc)
		return rc;
	s->st.produced++;
	s->st.post_bytes += len;
	s->since_check++;
	return 0;
}

int ingest_sink_dlq(struct ingest_sink *s, const char *key, const char *json, size_t len,
		    char *errstr, size_t errlen)
{
	int rc = produce(s, s->dlq, (void *)json, len, key, RD_KAFKA_MSG_F_COPY, errstr, errlen);

	if (!rc)
		s->st.dlq_produced++;
	return rc;
}

void ingest_sink_poll(struct ingest_sink *s, int timeout_ms)
{
	rd_kafka_poll(s->rk, timeout_ms);
	s->st.queue_depth = rd_kafka_outq_len(s->rk);
}

int ingest_sink_tick(struct ingest_sink *s, char *errstr, size_t errlen)
{
	struct bw_kafka_lag lag;

	ingest_sink_poll(s, 0);
	if (!s->lag || bw_time_mono_ms() - s->last_check_ms < LAG_CHECK_MS)
		return 0;
	return check_lag(s, &lag, errstr, errlen);
}

int ingest_sink_flush(struct ingest_sink *s, int timeout_ms, uint64_t *undelivered,
		      char *errstr, size_t errlen)
{
	struct bw_kafka_lag lag;
	int rc;

	rd_kafka_flush(s->rk, timeout_ms);
	/* a last look: were any of our messages pruned before being read? */
	if (s->lag && (rc = check_lag(s, &lag, errstr, errlen)))
		return rc;
	s->st.queue_depth = rd_kafka_outq_len(s->rk);
	*undelivered = (uint64_t)s->st.queue_depth + s->st.failed;
	if (*undelivered)
		return bw_seterr(errstr, errlen, BW_EKAFKA,
				 "%llu message(s) undelivered (%lld still queued, %llu failed)",
				 (unsigned long long)*undelivered, (long long)s->st.queue_depth,
				 (unsigned long long)s->st.failed);
	return 0;
}

const struct ingest_sink_stats *ingest_sink_stats(const struct ingest_sink *s)
{
	return &s->st;
}

void ingest_sink_free(struct ingest_sink *s)
{
	if (!s)
		return;
	bw_kafka_lagwatch_free(s->lag);
	if (s->posts)
		rd_kafka_topic_destroy(s->posts);
	if (s->dlq)
		rd_kafka_topic_destroy(s->dlq);
	if (s->rk)
		rd_kafka_destroy(s->rk);
	bw_kafka_mock_free(s->mock);
	free(s->bootstrap);
	free(s);
}
