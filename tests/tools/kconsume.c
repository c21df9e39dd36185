/*
 * kconsume.c — read a topic back for ingest tests and benchmarks.
 *
 *   kconsume -b BOOTSTRAP -t TOPIC [-g GROUP] [-n EXPECT] [--idle-ms MS]
 *            [--timeout-ms MS] [--list | --raw | --keyed] [--count-file F]
 *
 * Consumes TOPIC from the beginning as consumer group GROUP (default: a
 * fresh one), storing offsets after processing and committing every 100 ms
 * so producers can see its lag. Values are decoded with the post codec
 * (ingest/postcodec.h): --list prints "<post id> <author id> <kind>" per
 * message; --raw prints values as they are (for the DLQ's JSON); --keyed prints
 * "<key>\t<value>" (to check a DLQ record's key too). Stops when
 * EXPECT messages were read, when nothing arrived for --idle-ms after the
 * first message, or at --timeout-ms. Prints "count=N bad=M" on stderr and
 * exits 0 when EXPECT (if given) was reached and every value decoded.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_arena.h"
#include "bw_time.h"
#include "postcodec.h"

struct opts {
	const char *brokers;    /* bootstrap */
	const char *topic;      /* topic */
	char group[128];        /* consumer group */
	long long expect;       /* stop after this many (0 = no target) */
	long long idle_ms;      /* stop after this long without messages */
	long long timeout_ms;   /* overall limit */
	int mode;               /* 0 count, 1 list, 2 raw, 3 key and raw value */
	const char *count_file; /* where to write the running count */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long num(const char *v)
{
	char *end;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || x < 0) {
		fprintf(stderr, "kconsume: bad number '%s'\n", v);
		exit(2);
	}
	return x;
}

static void parse(int argc, char **argv, struct opts *o)
{
	snprintf(o->group, sizeof(o->group), "kconsume-%d", (int)getpid());
	o->idle_ms = 5000;
	o->timeout_ms = 120000;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--list")) { o->mode = 1; continue; }
		if (!strcmp(k, "--raw")) { o->mode = 2; continue; }
		if (!strcmp(k, "--keyed")) { o->mode = 3; continue; }
		if (!v) {
			fprintf(stderr, "kconsume: missing value for %s\n", k);
			exit(2);
		}
		i++;
		if (!strcmp(k, "-b")) o->brokers = v;
		else if (!strcmp(k, "-t")) o->topic = v;
		else if (!strcmp(k, "-g")) snprintf(o->group, sizeof(o->group), "%s", v);
		else if (!strcmp(k, "-n")) o->expect = num(v);
		else if (!strcmp(k, "--idle-ms")) o->idle_ms = num(v);
		else if (!strcmp(k, "--timeout-ms")) o->timeout_ms = num(v);
		else if (!strcmp(k, "--count-file")) o->count_file = v;
		else {
			fprintf(stderr, "kconsume: unknown option %s\n", k);
			exit(2);
		}
	}
	if (!o->brokers || !o->topic) {
		fprintf(stderr, "usage: kconsume -b BOOTSTRAP -t TOPIC [-g GROUP] [-n N] [--list|--raw]\n");
		exit(2);
	}
}

static rd_kafka_t *open_consumer(const struct opts *o)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = {
		{ "bootstrap.servers", o->brokers }, { "group.id", o->group },
		{ "auto.offset.reset", "earliest" }, { "enable.auto.offset.store", "false" },
		{ "auto.commit.interval.ms", "100" }, { "enable.partition.eof", "false" },
	};
	rd_kafka_t *rk;

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof(err))) {
			fprintf(stderr, "kconsume: %s\n", err);
			exit(2);
		}
	}
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)))) {
		fprintf(stderr, "kconsume: %s\n", err);
		exit(1);
	}
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, o->topic, RD_KAFKA_PARTITION_UA);
	if (rd_kafka_subscribe(rk, l)) {
		fprintf(stderr, "kconsume: cannot subscribe to %s\n", o->topic);
		exit(1);
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rk;
}

static const char *kind_name(enum bw_post_kind k)
{
	static const char *const names[] = { "original", "retweet", "reply",
					     "quote", "profile", "delete" };
	return (unsigned)k < 6 ? names[k] : "?";
}

/* Handle one message; returns false when its value did not decode. */
static bool handle(const struct opts *o, const rd_kafka_message_t *m, struct bw_arena *arena)
{
	struct bw_post post;
	char err[256];

	if (o->mode == 3) {
		printf("%.*s\t%.*s\n", (int)m->key_len, m->key ? (const char *)m->key : "",
		       (int)m->len, (const char *)m->payload);
		return true;
	}
	if (o->mode == 2) {
		printf("%.*s\n", (int)m->len, (const char *)m->payload);
		return true;
	}
	bw_arena_reset(arena);
	if (ingest_post_decode(m->payload, m->len, &post, arena, err, sizeof(err))) {
		fprintf(stderr, "kconsume: %s[%d]@%lld: %s\n", o->topic, (int)m->partition,
			(long long)m->offset, err);
		return false;
	}
	if (m->key_len != strlen(post.author.id) || memcmp(m->key, post.author.id, m->key_len)) {
		fprintf(stderr, "kconsume: key is not the author id at offset %lld\n",
			(long long)m->offset);
		return false;
	}
	if (o->mode == 1)
		printf("%s %s %s\n", post.id ? post.id : "-", post.author.id,
		       kind_name(post.kind));
	return true;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct bw_arena *arena = bw_arena_new(16 << 20);
	long long count = 0, bad = 0;
	int64_t start = bw_time_mono_ms(), last = 0;

	parse(argc, argv, &o);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	rd_kafka_t *rk = open_consumer(&o);
	while (!stop && (!o.expect || count < o.expect)) {
		int64_t now = bw_time_mono_ms();
		if (now - start > o.timeout_ms || (last && now - last > o.idle_ms))
			break;
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!m)
			continue;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "kconsume: %s\n", rd_kafka_message_errstr(m));
		} else {
			if (!handle(&o, m, arena))
				bad++;
			count++;
			last = bw_time_mono_ms();
			rd_kafka_offset_store(m->rkt, m->partition, m->offset); /* stores offset + 1 */
			if (o.count_file && count % 10000 == 0) {
				FILE *f = fopen(o.count_file, "w");
				if (f) {
					fprintf(f, "%lld\n", count);
					fclose(f);
				}
			}
		}
		rd_kafka_message_destroy(m);
	}
	fflush(stdout);
	rd_kafka_commit(rk, NULL, 0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	bw_arena_free(arena);
	fprintf(stderr, "count=%lld bad=%lld\n", count, bad);
	if (o.count_file) {
		FILE *f = fopen(o.count_file, "w");
		if (f) {
			fprintf(f, "%lld\n", count);
			fclose(f);
		}
	}
	return (bad || (o.expect && count < o.expect)) ? 1 : 0;
}
