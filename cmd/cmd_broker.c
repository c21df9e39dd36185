/*
 * cmd_broker.c — `botwatch broker`: run the embedded Kafka broker (librdkafka's
 * mock cluster) standalone so several botwatch processes and kcat can share it.
 *
 * The first stdout line is the bootstrap address and nothing else, flushed at
 * once; the broker then stays up until SIGINT/SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "cfg.h"
#include "commands.h"

static volatile sig_atomic_t broker_stop;

static void on_signal(int sig)
{
	(void)sig;
	broker_stop = 1;
}

static void broker_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch broker [--partitions N] [--brokers N] [--config FILE] [--set key=value]...\n\n"
		"Runs the embedded Kafka broker until SIGINT/SIGTERM. Prints its bootstrap\n"
		"address (host:port[,host:port]) as the first line on stdout. Creates the\n"
		"topics ingest.topic, ingest.dlq_topic, features.topic and score.topic.\n"
		"It keeps at most 100,000 messages / 5 MiB per partition: producers apply\n"
		"backpressure on consumer lag (ingest.max_consumer_lag).\n\n"
		"  --partitions N   partitions per topic (broker.partitions)\n"
		"  --brokers N      brokers in the cluster (broker.count)\n");
}

/* Apply --partitions/--brokers as config keys; 0, or 2 on a usage error. */
static int broker_args(struct bw_config *cfg, int argc, char **argv)
{
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *key = NULL;
		if (strcmp(argv[i], "--partitions") == 0)
			key = "broker.partitions";
		else if (strcmp(argv[i], "--brokers") == 0)
			key = "broker.count";
		if (!key || i + 1 >= argc) {
			fprintf(stderr, "botwatch broker: %s '%s'\n",
				key ? "missing value for" : "unknown option", argv[i]);
			broker_usage(stderr);
			return 2;
		}
		const char *flag = argv[i++];
		if (cfg_set(cfg, key, argv[i], flag, err, sizeof(err))) {
			fprintf(stderr, "botwatch broker: %s\n", err);
			return 2;
		}
	}
	return 0;
}

int cmd_broker(int argc, char **argv)
{
	struct bw_config *cfg;
	struct bw_kafka_mock *m;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int rc;

	int begun = cfg_cli_begin("broker", broker_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	if ((rc = broker_args(cfg, argc, argv)))
		goto out_cfg;
	m = bw_kafka_mock_new((int)cfg->broker_count, err, sizeof(err));
	if (!m) {
		BW_ERROR("botwatch broker: %s", err);
		rc = 1;
		goto out_cfg;
	}
	const char *topics[] = { cfg->ingest_topic, cfg->ingest_dlq_topic, cfg->features_topic,
				 cfg->score_topic };
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		if (bw_kafka_mock_topic_create(m, topics[i], (int)cfg->broker_partitions, err,
					       sizeof(err))) {
			BW_ERROR("botwatch broker: %s", err);
			rc = 1;
			goto out_mock;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("%s\n", bw_kafka_mock_bootstraps(m));
	fflush(stdout);
	BW_INFO("embedded broker up at %s: %lld broker(s), %lld partition(s) per topic",
		bw_kafka_mock_bootstraps(m), (long long)cfg->broker_count,
		(long long)cfg->broker_partitions);
	while (!broker_stop) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	BW_INFO("embedded broker stopping");
	rc = 0;
out_mock:
	bw_kafka_mock_free(m);
out_cfg:
	cfg_free(cfg);
	return rc;
}
