/*
 * test_stage.c — the stage runtime (stage/stage.h) through the features
 * stage on an embedded broker (librdkafka's mock cluster, in process).
 *
 * Regression: the features stage used to commit its input offsets after a
 * failed delivery (its delivery callback only logged and rd_kafka_flush
 * reports no failed message), which lost the posts whose updates were never
 * delivered. Now a failed delivery stops the stage before anything after it
 * is committed, and the next run folds those posts again (from the group's
 * committed offset, below the state's checkpoint) and delivers their updates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bw_err.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "stage_features.h"
#include "post.h"
#include "postcodec.h"

#define N_POSTS 60
#define N_ACCOUNTS 6
#define GROUP "stage-test"

static void rmdir_all(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Produce N_POSTS posts of N_ACCOUNTS accounts to posts[0]. */
static void produce_posts(const char *bootstrap)
{
	char err[256], id[32], pid[32], name[32];
	rd_kafka_conf_t *conf = bw_kafka_conf_new(bootstrap, 0, NULL, NULL, err, sizeof(err));
	rd_kafka_t *p;

	assert_non_null(conf);
	assert_non_null(p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)));
	for (int i = 0; i < N_POSTS; i++) {
		struct bw_post post;
		unsigned char *buf;
		size_t len;

		bw_post_init(&post);
		snprintf(id, sizeof(id), "%d", 1000 + i % N_ACCOUNTS);
		snprintf(pid, sizeof(pid), "%d", 5000 + i);
		snprintf(name, sizeof(name), "acct%d", i % N_ACCOUNTS);
		post.kind = BW_POST_ORIGINAL;
		post.id = pid;
		post.text = "a post with some words in it";
		post.created_at_ms = 1700000000000 + (int64_t)i * 60000;
		post.author.id = id;
		post.author.screen_name = name;
		post.author.followers_count = 10 + i;
		post.author.friends_count = 20;
		post.author.statuses_count = 100 + i;
		post.author.created_at_ms = 1600000000000;
		assert_int_equal(ingest_post_encode_alloc(&post, &buf, &len), 0);
		assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("posts"), RD_KAFKA_V_PARTITION(0),
						   RD_KAFKA_V_KEY(id, strlen(id)),
						   RD_KAFKA_V_VALUE(buf, len),
						   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
				 0);
		free(buf);
	}
	assert_int_equal(rd_kafka_flush(p, 10000), 0);
	rd_kafka_destroy(p);
}

/* The group's committed offset of posts[0] (RD_KAFKA_OFFSET_INVALID when none). */
static int64_t committed(const char *bootstrap)
{
	char err[256];
	rd_kafka_conf_t *conf = bw_kafka_consumer_conf_new(bootstrap, 0, NULL, NULL, err, sizeof(err));
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_t *c;
	int64_t off;

	assert_non_null(conf);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", GROUP, err, sizeof(err)), 0);
	assert_non_null(c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)));
	rd_kafka_topic_partition_list_add(l, "posts", 0);
	assert_int_equal(rd_kafka_committed(c, l, 10000), 0);
	off = l->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	return off;
}

/* Distinct keys among the messages of features[0]. */
static int distinct_update_keys(const char *bootstrap)
{
	char err[256], seen[N_ACCOUNTS][32] = { { 0 } };
	rd_kafka_conf_t *conf = bw_kafka_consumer_conf_new(bootstrap, 0, NULL, NULL, err, sizeof(err));
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_t *c;
	int n = 0;

	assert_non_null(conf);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", "stage-test-reader", err, sizeof(err)), 0);
	assert_non_null(c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err)));
	rd_kafka_topic_partition_list_add(l, "features", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(c, l), 0);
	for (int idle = 0; idle < 10;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
		if (!m) {
			idle++;
			continue;
		}
		if (!m->err && m->key_len < 32) {
			char k[32];
			int j;
			memcpy(k, m->key, m->key_len);
			k[m->key_len] = 0;
			for (j = 0; j < n && strcmp(seen[j], k) != 0; j++)
				;
			if (j == n && n < N_ACCOUNTS)
				snprintf(seen[n++], sizeof(seen[0]), "%s", k);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	return n;
}

static void test_failed_delivery_commits_nothing_after_it(void **state)
{
	char err[512], dir[] = "/tmp/bw_test_stage.XXXXXX";
	atomic_int stop = 0;
	struct feat_stage_opts opts = { .idle_exit_ms = 1500, .assign_partitions = 1 };
	struct feat_stage_stats st;
	struct bw_kafka_mock *m;
	struct bw_config *cfg;
	const char *b;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(m = bw_kafka_mock_new(1, err, sizeof(err)));
	assert_int_equal(bw_kafka_mock_topic_create(m, "posts", 1, err, sizeof(err)), 0);
	assert_int_equal(bw_kafka_mock_topic_create(m, "features", 1, err, sizeof(err)), 0);
	b = bw_kafka_mock_bootstraps(m);
	produce_posts(b);

	assert_non_null(cfg = cfg_new());
	assert_int_equal(cfg_set(cfg, "kafka.bootstrap.servers", b, "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "features.state_dir", dir, "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "features.group_id", GROUP, "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "features.lag_groups", "", "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "features.batch_ms", "20", "test", err, sizeof(err)), 0);
	/* the retries of librdkafka's idempotent producer must not outlast the test */
	assert_int_equal(cfg_set(cfg, "kafka.message.timeout.ms", "3000", "test", err, sizeof(err)),
			 0);

	/* the first produce request fails for good: its updates are not delivered */
	bw_kafka_mock_fail_produce(m, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	rc = feat_stage_run(cfg, &opts, &stop, &st, err, sizeof(err));
	assert_int_equal(rc, BW_EKAFKA);
	assert_non_null(strstr(err, "delivery"));
	assert_true(st.delivery_failed > 0);
	assert_int_equal(st.posts, N_POSTS);
	/* nothing at or after the failed batch was committed */
	assert_true(committed(b) <= 0);

	/* the fault is used up: the next run folds the posts again (a no-op on
	 * the state, which its checkpoint already holds) and delivers the updates
	 * of every account */
	rc = feat_stage_run(cfg, &opts, &stop, &st, err, sizeof(err));
	if (rc)
		fprintf(stderr, "second run: %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(st.delivery_failed, 0);
	assert_int_equal(st.messages, N_POSTS);
	assert_int_equal(committed(b), N_POSTS);
	assert_int_equal(distinct_update_keys(b), N_ACCOUNTS);

	cfg_free(cfg);
	bw_kafka_mock_free(m);
	rmdir_all(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_delivery_commits_nothing_after_it),
	};

	bw_log_set_level(BW_LOG_WARN);
	return cmocka_run_group_tests_name("stage", tests, NULL, NULL);
}
