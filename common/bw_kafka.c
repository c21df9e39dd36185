/*
 * bw_kafka.c — librdkafka configuration, embedded broker and lag queries
 * (see bw_kafka.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bw_kafka.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_log.h"

/* librdkafka syslog levels (0 emerg .. 7 debug) into ours. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	int ours = level <= 3 ? BW_LOG_ERROR : level <= 4 ? BW_LOG_WARN : level <= 6 ? BW_LOG_INFO
										: BW_LOG_DEBUG;
	BW_LOG(ours, "librdkafka %s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

int bw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
		      size_t errlen)
{
	char kerr[512];

	if (rd_kafka_conf_set(conf, name, value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "kafka.%s: %s", name, kerr);
	return 0;
}

int bw_kafka_conf_manual_consumer(rd_kafka_conf_t *conf, const char *group, char *errstr,
				  size_t errlen)
{
	int rc;

	if ((rc = bw_kafka_conf_set(conf, "group.id", group, errstr, errlen)) ||
	    (rc = bw_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errlen)) ||
	    (rc = bw_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errlen)) ||
	    (rc = bw_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, errlen)))
		return rc;
	return 0;
}

rd_kafka_t *bw_kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *group,
				void (*rebalance)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
						  rd_kafka_topic_partition_list_t *parts,
						  void *opaque),
				void (*dr)(rd_kafka_t *rk, const rd_kafka_message_t *msg,
					   void *opaque),
				void *opaque, char *errstr, size_t errlen)
{
	rd_kafka_t *rk;

	if (type == RD_KAFKA_CONSUMER) {
		if (bw_kafka_conf_manual_consumer(conf, group, errstr, errlen)) {
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
		rd_kafka_conf_set_rebalance_cb(conf, rebalance);
	} else {
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	}
	rd_kafka_conf_set_opaque(conf, opaque);
	if (!(rk = rd_kafka_new(type, conf, errstr, errlen)))
		rd_kafka_conf_destroy(conf);
	return rk;
}

/*
 * Stage consumer defaults, set before the configured pass-through pairs so
 * that an explicit kafka.* setting always wins, whatever its value.
 *
 * fetch.wait.max.ms: the embedded broker answers a fetch that found nothing
 * only after the full fetch.wait.max.ms, even when messages arrive meanwhile,
 * so with librdkafka's 500 ms default every stage waited up to half a second
 * per round trip between the bursts of its upstream. A real broker answers as
 * soon as data arrives; there a short wait only adds idle fetch requests.
 */
static const char *const consumer_defaults[][2] = {
	{ "fetch.wait.max.ms", "10" },
};

/* A configuration with `n_def` defaults, then the n configured pairs. */
static rd_kafka_conf_t *conf_new(const char *bootstrap, const char *const (*defs)[2], size_t n_def,
				 size_t n, char *const *keys, char *const *values, char *errstr,
				 size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (!conf) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	if (bootstrap && *bootstrap &&
	    bw_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errlen))
		goto out_destroy;
	for (size_t i = 0; i < n_def; i++)
		if (bw_kafka_conf_set(conf, defs[i][0], defs[i][1], errstr, errlen))
			goto out_destroy;
	for (size_t i = 0; i < n; i++)
		if (bw_kafka_conf_set(conf, keys[i], values[i], errstr, errlen))
			goto out_destroy;
	return conf;

out_destroy:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

rd_kafka_conf_t *bw_kafka_conf_new(const char *bootstrap, size_t n, char *const *keys,
				   char *const *values, char *errstr, size_t errlen)
{
	return conf_new(bootstrap, NULL, 0, n, keys, values, errstr, errlen);
}

rd_kafka_conf_t *bw_kafka_consumer_conf_new(const char *bootstrap, size_t n, char *const *keys,
					    char *const *values, char *errstr, size_t errlen)
{
	return conf_new(bootstrap, consumer_defaults,
			sizeof(consumer_defaults) / sizeof(consumer_defaults[0]), n, keys, values,
			errstr, errlen);
}

int bw_kafka_partitions_of(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	int n = -1;

	if (rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		n = 0;
		for (int i = 0; i < md->topic_cnt; i++)
			if (strcmp(md->topics[i].topic, topic) == 0)
				n = md->topics[i].err ? -1 : md->topics[i].partition_cnt;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	return n;
}

rd_kafka_topic_t *bw_kafka_topic_warm(rd_kafka_t *rk, const char *topic, int timeout_ms,
				      char *errstr, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;

	if (!rkt) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "topic %s: %s", topic,
			  rd_kafka_err2str(rd_kafka_last_error()));
		return NULL;
	}
	err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (err) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "metadata of %s: %s", topic, rd_kafka_err2str(err));
		rd_kafka_topic_destroy(rkt);
		return NULL;
	}
	rd_kafka_metadata_destroy(md);
	return rkt;
}

rd_kafka_topic_partition_list_t *bw_kafka_input_list(const char *topic, int32_t partitions)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions > 0 ? partitions : 1);

	if (partitions <= 0) {
		rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
		return l;
	}
	for (int32_t p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(l, topic, p)->offset = 0;
	return l;
}

void bw_kafka_note_offset(rd_kafka_topic_partition_list_t *offs, const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(offs, topic, m->partition);

	if (!p)
		p = rd_kafka_topic_partition_list_add(offs, topic, m->partition);
	p->offset = m->offset + 1;
}

/* ---- embedded broker ------------------------------------------------------ */

struct bw_kafka_mock {
	rd_kafka_t *rk;                 /* producer handle that owns the cluster */
	rd_kafka_mock_cluster_t *mcluster; /* the cluster (owned by rk) */
	struct sockaddr_in first;       /* the first broker's listener */
};

/*
 * librdkafka 2.0.2's mock cluster thread takes its control operations (topic
 * creation) from a queue whose wake-up is sometimes lost; the operation then
 * waits for the thread's next 1 s poll timeout (measured: 1-2 s for the four
 * topics at start in most runs). Any socket event wakes that thread too, so
 * while an operation is pending a helper thread connects to the first
 * broker's listener every few milliseconds.
 */
struct waker {
	const struct bw_kafka_mock *m; /* the cluster */
	pthread_t th;                  /* the helper thread */
	bool started;                  /* th is valid */
	atomic_int done;               /* set when the operation returned */
};

#define WAKE_EVERY_NS 2000000L /* gap between two wake-up connections */

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	struct timespec gap = { 0, WAKE_EVERY_NS };

	while (!atomic_load(&w->done)) {
		nanosleep(&gap, NULL);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			continue;
		(void)connect(fd, (const struct sockaddr *)&w->m->first, sizeof(w->m->first));
		close(fd);
	}
	return NULL;
}

static void waker_start(struct waker *w, const struct bw_kafka_mock *m)
{
	w->m = m;
	atomic_store(&w->done, 0);
	w->started = m->first.sin_port != 0 && pthread_create(&w->th, NULL, waker_main, w) == 0;
}

static void waker_stop(struct waker *w)
{
	atomic_store(&w->done, 1);
	if (w->started)
		pthread_join(w->th, NULL);
	w->started = false;
}

/* The first broker's loopback listener from "127.0.0.1:port[,...]" (port 0 when unknown). */
static void first_listener(struct bw_kafka_mock *m)
{
	const char *b = rd_kafka_mock_cluster_bootstraps(m->mcluster);
	char *end;
	long port;

	memset(&m->first, 0, sizeof(m->first));
	if (!b || strncmp(b, "127.0.0.1:", 10) != 0)
		return;
	port = strtol(b + 10, &end, 10);
	if (end == b + 10 || port <= 0 || port > 65535 || (*end && *end != ','))
		return;
	m->first.sin_family = AF_INET;
	m->first.sin_port = htons((uint16_t)port);
	m->first.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/*
 * The cluster is created by its owning handle (test.mock.num.brokers) rather
 * than with rd_kafka_mock_cluster_new(): then rd_kafka_destroy() takes it down
 * in a few milliseconds, where rd_kafka_mock_cluster_destroy() waited a full
 * second for the mock thread in nine runs out of ten.
 */
struct bw_kafka_mock *bw_kafka_mock_new(int brokers, char *errstr, size_t errlen)
{
	struct bw_kafka_mock *m = calloc(1, sizeof(*m));
	rd_kafka_conf_t *conf;
	char kerr[512], n[16];

	if (!m) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	conf = bw_kafka_conf_new(NULL, 0, NULL, NULL, errstr, errlen);
	if (!conf)
		goto out_free;
	snprintf(n, sizeof(n), "%d", brokers);
	if (bw_kafka_conf_set(conf, "test.mock.num.brokers", n, errstr, errlen)) {
		rd_kafka_conf_destroy(conf);
		goto out_free;
	}
	rd_kafka_conf_set(conf, "client.id", "botwatch-embedded-broker", NULL, 0);
	rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
	if (!m->rk) {
		rd_kafka_conf_destroy(conf);
		bw_seterr(errstr, errlen, BW_EKAFKA, "embedded broker: %s", kerr);
		goto out_free;
	}
	m->mcluster = rd_kafka_handle_mock_cluster(m->rk);
	if (!m->mcluster) {
		bw_seterr(errstr, errlen, BW_EKAFKA, "embedded broker: cannot start %d broker(s)",
			  brokers);
		goto out_destroy_rk;
	}
	first_listener(m);
	return m;

out_destroy_rk:
	rd_kafka_destroy(m->rk);
out_free:
	free(m);
	return NULL;
}

int bw_kafka_mock_topic_create(struct bw_kafka_mock *m, const char *topic, int partitions,
			       char *errstr, size_t errlen)
{
	struct waker w;
	rd_kafka_resp_err_t err;

	waker_start(&w, m);
	err = rd_kafka_mock_topic_create(m->mcluster, topic, partitions, 1);
	waker_stop(&w);
	if (err)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "embedded broker: topic %s: %s", topic,
				 rd_kafka_err2str(err));
	return 0;
}

#define KAFKA_API_PRODUCE 0 /* the Produce request's API key */

void bw_kafka_mock_fail_produce(struct bw_kafka_mock *m, size_t n, rd_kafka_resp_err_t err)
{
	rd_kafka_resp_err_t *errs = malloc(n * sizeof(*errs));

	if (!errs)
		return;
	for (size_t i = 0; i < n; i++)
		errs[i] = err;
	rd_kafka_mock_push_request_errors_array(m->mcluster, KAFKA_API_PRODUCE, n, errs);
	free(errs);
}

const char *bw_kafka_mock_bootstraps(const struct bw_kafka_mock *m)
{
	return rd_kafka_mock_cluster_bootstraps(m->mcluster);
}

void bw_kafka_mock_free(struct bw_kafka_mock *m)
{
	if (!m)
		return;
	rd_kafka_destroy(m->rk); /* takes its mock cluster down */
	free(m);
}

/* ---- lag ------------------------------------------------------------------- */

struct bw_kafka_lagwatch {
	char *topic;        /* watched topic */
	size_t n_groups;    /* number of groups */
	char **groups;      /* group names */
	rd_kafka_t **rk;    /* one idle consumer handle per group (group.id set) */
	int32_t partitions; /* partition count, learnt on the first query (0 = unknown) */
};

void bw_kafka_lagwatch_free(struct bw_kafka_lagwatch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_groups; i++) {
		if (w->rk && w->rk[i])
			rd_kafka_destroy(w->rk[i]);
		free(w->groups[i]);
	}
	free(w->rk);
	free(w->groups);
	free(w->topic);
	free(w);
}

/* Split "a, b,c" into w->groups (trimmed, empty items skipped). */
static int split_groups(struct bw_kafka_lagwatch *w, const char *groups)
{
	const char *p = groups;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			char **g = realloc(w->groups, (w->n_groups + 1) * sizeof(*g));
			if (!g)
				return BW_ENOMEM;
			w->groups = g;
			if (!(g[w->n_groups] = strndup(p, len)))
				return BW_ENOMEM;
			w->n_groups++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

struct bw_kafka_lagwatch *bw_kafka_lagwatch_new(const char *bootstrap, size_t n,
						char *const *keys, char *const *values,
						const char *topic, const char *groups,
						char *errstr, size_t errlen)
{
	struct bw_kafka_lagwatch *w = calloc(1, sizeof(*w));
	char kerr[512];

	if (!w || !(w->topic = strdup(topic)) || split_groups(w, groups) ||
	    !(w->rk = calloc(w->n_groups ? w->n_groups : 1, sizeof(*w->rk)))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < w->n_groups; i++) {
		rd_kafka_conf_t *conf = bw_kafka_conf_new(bootstrap, n, keys, values, errstr, errlen);
		if (!conf)
			goto out_free;
		if (bw_kafka_conf_set(conf, "group.id", w->groups[i], errstr, errlen) ||
		    bw_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errlen) ||
		    bw_kafka_conf_set(conf, "client.id", "botwatch-lagwatch", errstr, errlen)) {
			rd_kafka_conf_destroy(conf);
			goto out_free;
		}
		w->rk[i] = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
		if (!w->rk[i]) {
			rd_kafka_conf_destroy(conf);
			bw_seterr(errstr, errlen, BW_EKAFKA, "lag watch for group %s: %s",
				  w->groups[i], kerr);
			goto out_free;
		}
	}
	return w;

out_free:
	bw_kafka_lagwatch_free(w);
	return NULL;
}

static int learn_partitions(struct bw_kafka_lagwatch *w, int timeout_ms, char *errstr,
			    size_t errlen)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(w->rk[0], w->topic, NULL);
	rd_kafka_resp_err_t err;

	if (!rkt)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "topic %s: cannot open", w->topic);
	err = rd_kafka_metadata(w->rk[0], 0, rkt, &md, timeout_ms);
	rd_kafka_topic_destroy(rkt);
	if (err)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "metadata of %s: %s", w->topic,
				 rd_kafka_err2str(err));
	if (md->topic_cnt == 1 && !md->topics[0].err)
		w->partitions = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	if (w->partitions <= 0)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "topic %s has no partitions", w->topic);
	return 0;
}

/* Account one group's partition: committed offset vs watermarks. */
static void account(struct bw_kafka_lag *out, const char *group, int32_t p, int64_t committed,
		    int64_t lo, int64_t hi)
{
	int64_t from = committed >= 0 ? committed : 0;
	int64_t lag = hi - (committed >= 0 ? committed : lo);

	if (lag > out->max_lag) {
		out->max_lag = lag;
		snprintf(out->group, sizeof(out->group), "%s", group);
		out->partition = p;
	}
	if (lo > 0 && (out->retained_min < 0 || hi - lo < out->retained_min))
		out->retained_min = hi - lo;
	if (lo > from) {
		out->lost += lo - from;
		snprintf(out->lost_group, sizeof(out->lost_group), "%s", group);
		out->lost_partition = p;
	}
}

int bw_kafka_lag_query(struct bw_kafka_lagwatch *w, int timeout_ms, struct bw_kafka_lag *out,
		       char *errstr, size_t errlen)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->partition = out->lost_partition = -1;
	out->retained_min = -1;
	if (!w->n_groups)
		return 0;
	if (!w->partitions && (rc = learn_partitions(w, timeout_ms, errstr, errlen)))
		return rc;
	out->partitions = w->partitions;
	for (size_t g = 0; g < w->n_groups && !rc; g++) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(w->partitions);
		rd_kafka_resp_err_t err;
		for (int32_t p = 0; p < w->partitions; p++)
			rd_kafka_topic_partition_list_add(l, w->topic, p);
		err = rd_kafka_committed(w->rk[g], l, timeout_ms);
		if (err)
			rc = bw_seterr(errstr, errlen, BW_EKAFKA, "committed offsets of group %s: %s",
				       w->groups[g], rd_kafka_err2str(err));
		for (int i = 0; !rc && i < l->cnt; i++) {
			int64_t lo, hi;
			err = rd_kafka_query_watermark_offsets(w->rk[g], w->topic,
							       l->elems[i].partition, &lo, &hi,
							       timeout_ms);
			if (err) {
				rc = bw_seterr(errstr, errlen, BW_EKAFKA, "watermarks of %s[%d]: %s",
					       w->topic, l->elems[i].partition,
					       rd_kafka_err2str(err));
				break;
			}
			account(out, w->groups[g], l->elems[i].partition, l->elems[i].offset, lo, hi);
		}
		rd_kafka_topic_partition_list_destroy(l);
	}
	return rc;
}

bool bw_kafka_is_embedded(rd_kafka_t *rk)
{
	char *id = rd_kafka_clusterid(rk, 5000);
	bool mock = id && strncmp(id, "mockCluster", 11) == 0;

	if (id)
		rd_kafka_mem_free(rk, id);
	return mock;
}
