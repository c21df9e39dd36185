/*
 * kadmin.c — read a topic's settings back through the Kafka admin API, for
 * the real-cluster tests (tests/kafka/).
 *
 *   kadmin -b BOOTSTRAP config TOPIC [KEY...]   "KEY=VALUE" per line
 *                                               (every entry without KEYs)
 *   kadmin -b BOOTSTRAP partitions TOPIC        the partition count
 *   kadmin -b BOOTSTRAP create TOPIC PARTITIONS [KEY=VALUE...]
 *                                               create a topic (replication:
 *                                               the cluster's default)
 *
 * `config` asks the cluster with rd_kafka_DescribeConfigs (a TOPIC resource),
 * so what it prints is what the brokers hold, not what a client asked for.
 * Exit status 0 when the answer came and every KEY named was found, 1 on an
 * error (printed on stderr), 2 on a usage error.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_MS 10000

static int usage(void)
{
	fprintf(stderr, "usage: kadmin -b BOOTSTRAP config TOPIC [KEY...] | partitions TOPIC | "
			"create TOPIC PARTITIONS [KEY=VALUE...]\n");
	return 2;
}

/* Print the entries of the one described resource of `ev` (those named in
 * keys[0..nkeys), or all). 0 when every named key was found. */
static int print_configs(rd_kafka_event_t *ev, char **keys, int nkeys)
{
	const rd_kafka_DescribeConfigs_result_t *res = rd_kafka_event_DescribeConfigs_result(ev);
	size_t nres = 0, nent = 0;
	const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(res, &nres);
	const rd_kafka_ConfigEntry_t **ents;
	int found = 0;

	if (nres != 1 || rd_kafka_ConfigResource_error(rs[0])) {
		fprintf(stderr, "kadmin: %s\n",
			nres ? rd_kafka_ConfigResource_error_string(rs[0]) : "no resource in the answer");
		return 1;
	}
	ents = rd_kafka_ConfigResource_configs(rs[0], &nent);
	for (int k = 0; k < (nkeys ? nkeys : 1); k++)
		for (size_t i = 0; i < nent; i++) {
			const char *name = rd_kafka_ConfigEntry_name(ents[i]);
			const char *val = rd_kafka_ConfigEntry_value(ents[i]);
			if (nkeys && strcmp(name, keys[k]) != 0)
				continue;
			printf("%s=%s\n", name, val ? val : "");
			found++;
		}
	if (nkeys && found < nkeys) {
		fprintf(stderr, "kadmin: %d of %d keys found\n", found, nkeys);
		return 1;
	}
	return 0;
}

static int describe(rd_kafka_t *rk, const char *topic, char **keys, int nkeys)
{
	rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_event_t *ev;
	int rc = 1;

	rd_kafka_DescribeConfigs(rk, &cr, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, ADMIN_MS + 1000);
	if (!ev)
		fprintf(stderr, "kadmin: no answer within %d ms\n", ADMIN_MS);
	else if (rd_kafka_event_error(ev))
		fprintf(stderr, "kadmin: %s\n", rd_kafka_event_error_string(ev));
	else
		rc = print_configs(ev, keys, nkeys);
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_ConfigResource_destroy(cr);
	return rc;
}

static int partitions(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int rc = 1;

	if (!t)
		return 1;
	e = rd_kafka_metadata(rk, 0, t, &md, ADMIN_MS);
	if (e)
		fprintf(stderr, "kadmin: %s\n", rd_kafka_err2str(e));
	else if (md->topic_cnt != 1 || md->topics[0].err)
		fprintf(stderr, "kadmin: %s: %s\n", topic,
			md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not in the metadata");
	else {
		printf("%d\n", md->topics[0].partition_cnt);
		rc = 0;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return rc;
}

static int create(rd_kafka_t *rk, const char *topic, const char *parts, char **kv, int nkv)
{
	char err[256], key[256];
	char *end;
	long n = strtol(parts, &end, 10);
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	int rc = 1;

	if (*end || n < 1 || n > 1024)
		return usage();
	if (!(nt = rd_kafka_NewTopic_new(topic, (int)n, -1, err, sizeof(err)))) {
		fprintf(stderr, "kadmin: %s\n", err);
		return 1;
	}
	for (int i = 0; i < nkv; i++) {
		const char *eq = strchr(kv[i], '=');
		if (!eq || (size_t)(eq - kv[i]) >= sizeof(key)) {
			rd_kafka_NewTopic_destroy(nt);
			return usage();
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
		rd_kafka_NewTopic_set_config(nt, key, eq + 1);
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, ADMIN_MS + 1000);
	if (!ev) {
		fprintf(stderr, "kadmin: no answer within %d ms\n", ADMIN_MS);
	} else if (rd_kafka_event_error(ev)) {
		fprintf(stderr, "kadmin: %s\n", rd_kafka_event_error_string(ev));
	} else {
		size_t nr = 0;
		const rd_kafka_topic_result_t **r =
			rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nr);
		rd_kafka_resp_err_t e = nr ? rd_kafka_topic_result_error(r[0]) : RD_KAFKA_RESP_ERR__FAIL;
		if (e)
			fprintf(stderr, "kadmin: create %s: %s\n", topic, rd_kafka_err2str(e));
		rc = e ? 1 : 0;
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

int main(int argc, char **argv)
{
	char err[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	int rc;

	if (argc < 5 || strcmp(argv[1], "-b") != 0)
		return usage();
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[2], err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof(err))) {
		fprintf(stderr, "kadmin: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		fprintf(stderr, "kadmin: %s\n", err);
		return 1;
	}
	if (strcmp(argv[3], "config") == 0)
		rc = describe(rk, argv[4], argv + 5, argc - 5);
	else if (strcmp(argv[3], "partitions") == 0 && argc == 5)
		rc = partitions(rk, argv[4]);
	else if (strcmp(argv[3], "create") == 0 && argc >= 6)
		rc = create(rk, argv[4], argv[5], argv + 6, argc - 6);
	else
		rc = usage();
	rd_kafka_destroy(rk);
	return rc;
}
