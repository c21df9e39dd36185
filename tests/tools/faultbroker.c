/*
 * faultbroker.c — an embedded broker that fails requests on command, for the
 * torture run's outage probe.
 *
 *   build/tests/faultbroker [--partitions N] < commands
 *
 * Starts librdkafka's mock cluster (one broker) with the pipeline's default
 * topics (posts, posts.dlq, features, scores), prints its bootstrap address as
 * the first line on stdout, as `botwatch broker` does, then reads commands
 * from stdin, one per line:
 *
 *   fail-produce N   the next N produce requests fail with
 *                    TOPIC_AUTHORIZATION_FAILED (not retriable: the messages'
 *                    delivery fails; bw_kafka_mock_fail_produce)
 *
 * Each command is acknowledged on stdout ("ok fail-produce N"). It stops at
 * end of input or on SIGINT/SIGTERM. Exit 0, or 1 when the cluster did not
 * start, 2 on a usage error or an unknown command.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_kafka.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The count after `word ` in `line`, or -1 when it is not a number in 1..1000. */
static long arg_count(const char *line, const char *word)
{
	size_t wl = strlen(word);
	char *end;

	if (strncmp(line, word, wl) != 0 || line[wl] != ' ')
		return -1;
	errno = 0;
	long n = strtol(line + wl + 1, &end, 10);
	if (errno || end == line + wl + 1 || (*end && *end != '\n') || n < 1 || n > 1000)
		return -1;
	return n;
}

int main(int argc, char **argv)
{
	const char *topics[] = { "posts", "posts.dlq", "features", "scores" };
	long partitions = 4;
	char err[512], line[256];

	if (argc == 3 && strcmp(argv[1], "--partitions") == 0) {
		partitions = strtol(argv[2], NULL, 10);
		if (partitions < 1 || partitions > 64) {
			fprintf(stderr, "faultbroker: --partitions 1..64\n");
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: faultbroker [--partitions N] < commands\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct bw_kafka_mock *m = bw_kafka_mock_new(1, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "faultbroker: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		if (bw_kafka_mock_topic_create(m, topics[i], (int)partitions, err, sizeof(err))) {
			fprintf(stderr, "faultbroker: %s\n", err);
			bw_kafka_mock_free(m);
			return 1;
		}
	}
	printf("%s\n", bw_kafka_mock_bootstraps(m));
	fflush(stdout);
	int rc = 0;
	while (!stop && fgets(line, sizeof(line), stdin)) {
		long n = arg_count(line, "fail-produce");
		if (n < 0) {
			fprintf(stderr, "faultbroker: unknown command: %s", line);
			rc = 2;
			break;
		}
		bw_kafka_mock_fail_produce(m, (size_t)n, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
		printf("ok fail-produce %ld\n", n);
		fflush(stdout);
	}
	bw_kafka_mock_free(m);
	return rc;
}
