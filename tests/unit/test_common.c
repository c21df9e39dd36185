/*
 * test_common.c — leaf modules: time parsing/formatting, arena, log macro,
 * error strings, stage consumer configuration, embedded broker retention.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_fs.h"
#include "bw_kafka.h"
#include "bw_log.h"
#include "bw_map.h"
#include "bw_codec.h"
#include "bw_redact.h"
#include "bw_time.h"

static int64_t parse_tw(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(bw_time_parse_twitter(s, strlen(s), &ms), 0);
	return ms;
}

static int64_t parse_iso(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(bw_time_parse_iso(s, strlen(s), &ms), 0);
	return ms;
}

static void test_time_twitter(void **state)
{
	(void)state;
	/* date -u -d '2007-01-22 01:57:38' +%s = 1169431058 */
	assert_int_equal(parse_tw("Mon Jan 22 01:57:38 +0000 2007"), 1169431058000LL);
	/* offsets are applied: 02:57:38 +0100 is the same instant */
	assert_int_equal(parse_tw("Mon Jan 22 02:57:38 +0100 2007"), 1169431058000LL);
	assert_int_equal(parse_tw("Thu Jan 01 00:00:00 +0000 1970"), 0);
	/* leap day */
	assert_int_equal(parse_tw("Mon Feb 29 12:00:00 +0000 2016"), 1456747200000LL);

	int64_t ms;
	const char *bad[] = { "Mon Jan 22 01:57:38 +0000 07", "Mon Foo 22 01:57:38 +0000 2007",
			      "Mon Jan 32 01:57:38 +0000 2007", "Mon Jan 22 25:57:38 +0000 2007",
			      "Mon Jan 22 01:57:38 0000 2007", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bw_time_parse_twitter(bad[i], strlen(bad[i]), &ms), BW_EPARSE);
}

static void test_time_iso(void **state)
{
	(void)state;
	assert_int_equal(parse_iso("2007-01-22T01:57:38Z"), 1169431058000LL);
	assert_int_equal(parse_iso("2007-01-22T01:57:38.250Z"), 1169431058250LL);
	assert_int_equal(parse_iso("2007-01-22T03:57:38+02:00"), 1169431058000LL);
	assert_int_equal(parse_iso("2007-01-21T23:57:38-02:00"), 1169431058000LL);
	assert_int_equal(parse_iso("2021-04-01"), 1617235200000LL);
	/* microsecond fraction (Bluesky) is truncated to ms */
	assert_int_equal(parse_iso("2021-04-01T00:00:00.123456Z"), 1617235200123LL);
	int64_t ms;
	const char *bad[] = { "2021-13-01", "2021-04-01T00:00", "2021-04-01T00:00:00+0200",
			      "2021-04-01T00:00:00Zjunk", "20210401", "2021-04-01T00:00:00." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bw_time_parse_iso(bad[i], strlen(bad[i]), &ms), BW_EPARSE);
	assert_int_equal(bw_time_parse_any("Mon Jan 22 01:57:38 +0000 2007", 30, &ms), 0);
	assert_int_equal(ms, 1169431058000LL);
}

static void test_time_format_roundtrip(void **state)
{
	(void)state;
	char buf[40];
	assert_string_equal(bw_time_format(1169431058000LL, buf, sizeof(buf)), "2007-01-22T01:57:38Z");
	assert_string_equal(bw_time_format(1169431058250LL, buf, sizeof(buf)),
			    "2007-01-22T01:57:38.250Z");
	assert_string_equal(bw_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(bw_time_format(-1000, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	/* every day across four centuries round-trips */
	for (int64_t d = -200000; d < 200000; d += 37) {
		int64_t ms = d * 86400000LL + 3723004, back;
		bw_time_format(ms, buf, sizeof(buf));
		assert_int_equal(bw_time_parse_iso(buf, strlen(buf), &back), 0);
		assert_int_equal(back, ms);
	}
}

static void test_arena_cap_and_reset(void **state)
{
	(void)state;
	struct bw_arena *a = bw_arena_new(200000);
	assert_non_null(a);
	char *s = bw_arena_strndup(a, "hello world", 5);
	assert_string_equal(s, "hello");
	assert_true(((uintptr_t)bw_arena_alloc(a, 3) & 15) == 0);
	/* a single allocation past the cap fails instead of growing */
	assert_null(bw_arena_alloc(a, 300000));
	/* many small allocations up to the cap, then failure */
	size_t got = 0;
	while (bw_arena_alloc(a, 1000))
		got += 1000;
	assert_true(got > 100000 && got <= 200000);
	bw_arena_reset(a);
	assert_int_equal(bw_arena_used(a), 0);
	assert_non_null(bw_arena_alloc(a, 1000));
	bw_arena_free(a);
	bw_arena_free(NULL);
}

static int evaluated;
static const char *side_effect(void)
{
	evaluated++;
	return "x";
}

static void test_log_level_skips_arguments(void **state)
{
	(void)state;
	int old = bw_log_threshold;
	bw_log_set_level(BW_LOG_ERROR);
	evaluated = 0;
	BW_DEBUG("never %s", side_effect());
	BW_INFO("never %s", side_effect());
	assert_int_equal(evaluated, 0);
	bw_log_set_level(BW_LOG_OFF);
	BW_ERROR("off %s", side_effect());
	assert_int_equal(evaluated, 0);
	assert_int_equal(bw_log_level_parse("warn"), BW_LOG_WARN);
	assert_int_equal(bw_log_level_parse("loud"), -1);
	bw_log_set_level(old);
}

static void test_err_strings(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(bw_strerror(BW_EINVAL), "invalid argument");
	assert_string_equal(bw_strerror(12345), "unknown error");
	assert_int_equal(bw_seterr(buf, sizeof(buf), BW_ERANGE, "v=%d", 7), BW_ERANGE);
	assert_string_equal(buf, "v=7");
	assert_int_equal(bw_seterr(NULL, 0, BW_EIO, "ignored"), BW_EIO);
}

/* Regression: `botwatch run` on defaults failed with "var/state: No such file
 * or directory" because the state directory's parent did not exist. */
static void test_mkdir_p_creates_parents(void **state)
{
	(void)state;
	char base[] = "/tmp/bw_mkdir_XXXXXX", path[256], err[256];
	struct stat st;

	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/var/state/deeper", base);
	assert_int_equal(bw_mkdir_p(path, 0755, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(bw_mkdir_p(path, 0755, err, sizeof(err)), 0); /* exists: fine */
	/* a file in the way is an error naming it */
	snprintf(path, sizeof(path), "%s/file", base);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/file/sub", base);
	assert_int_equal(bw_mkdir_p(path, 0755, err, sizeof(err)), BW_EIO);
	assert_non_null(strstr(err, "/file: "));
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

/* The consumer's fetch.wait.max.ms after the stage configuration with the
 * configured pairs keys[i] = values[i]. */
static void consumer_fetch_wait(size_t n, char *const *keys, char *const *values, char *out,
				size_t cap)
{
	char err[256];
	rd_kafka_conf_t *conf = bw_kafka_consumer_conf_new("127.0.0.1:9", n, keys, values, err,
							   sizeof(err));

	assert_non_null(conf);
	assert_int_equal(bw_kafka_conf_manual_consumer(conf, "g", err, sizeof(err)), 0);
	assert_int_equal(rd_kafka_conf_get(conf, "fetch.wait.max.ms", out, &cap), RD_KAFKA_CONF_OK);
	rd_kafka_conf_destroy(conf);
}

/* Regression: kafka.fetch.wait.max.ms=500 (librdkafka's default value) was
 * replaced by the stage's 10 ms because only the value was compared. */
static void test_kafka_fetch_wait_explicit_setting_wins(void **state)
{
	(void)state;
	char *keys[] = { "fetch.wait.max.ms" }, *v500[] = { "500" }, *v250[] = { "250" };
	char *other[] = { "client.id" }, *ov[] = { "x" }, got[32];

	consumer_fetch_wait(0, NULL, NULL, got, sizeof(got));
	assert_string_equal(got, "10"); /* the stage default */
	consumer_fetch_wait(1, other, ov, got, sizeof(got));
	assert_string_equal(got, "10"); /* other settings leave it */
	consumer_fetch_wait(1, keys, v500, got, sizeof(got));
	assert_string_equal(got, "500"); /* explicit, equal to librdkafka's default */
	consumer_fetch_wait(1, keys, v250, got, sizeof(got));
	assert_string_equal(got, "250");
}

/* Produce n distinct, incompressible 64 KiB values to `topic`. */
static void produce_values(const char *bootstrap, const char *topic, int n)
{
	static unsigned char v[65536];
	uint64_t x = 88172645463325252ull;
	char err[256];
	rd_kafka_conf_t *conf = bw_kafka_conf_new(bootstrap, 0, NULL, NULL, err, sizeof(err));
	rd_kafka_t *p;

	assert_non_null(conf);
	assert_non_null(p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)));
	for (int i = 0; i < n; i++) {
		for (size_t j = 0; j < sizeof(v); j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v[j] = (unsigned char)x;
		}
		rd_kafka_resp_err_t e;
		while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(v, sizeof(v)),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(p, 10);
		assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
	}
	assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(p);
}

/* The lag query measures the embedded broker's retention in messages once it
 * pruned a partition (the features stage caps its lag limit with it), and a
 * group that had not read the pruned messages has lost them. */
static void test_kafka_lag_measures_retention(void **state)
{
	(void)state;
	char err[256];
	struct bw_kafka_mock *m = bw_kafka_mock_new(1, err, sizeof(err));
	struct bw_kafka_lagwatch *w, *w2;
	struct bw_kafka_lag lag;
	const int n = 120; /* 7.5 MiB: more than the 5 MiB one partition keeps */

	assert_non_null(m);
	assert_int_equal(bw_kafka_mock_topic_create(m, "big", 1, err, sizeof(err)), 0);
	assert_int_equal(bw_kafka_mock_topic_create(m, "small", 2, err, sizeof(err)), 0);
	produce_values(bw_kafka_mock_bootstraps(m), "big", n);
	produce_values(bw_kafka_mock_bootstraps(m), "small", 3);
	w = bw_kafka_lagwatch_new(bw_kafka_mock_bootstraps(m), 0, NULL, NULL, "big", "never-read",
				  err, sizeof(err));
	w2 = bw_kafka_lagwatch_new(bw_kafka_mock_bootstraps(m), 0, NULL, NULL, "small",
				   "never-read", err, sizeof(err));
	assert_non_null(w);
	assert_non_null(w2);

	assert_int_equal(bw_kafka_lag_query(w, 5000, &lag, err, sizeof(err)), 0);
	assert_int_equal(lag.partitions, 1);
	assert_true(lag.retained_min > 0);
	assert_true(lag.retained_min * 65536 <= BW_KAFKA_MOCK_MAX_BYTES);
	assert_int_equal(lag.lost + lag.retained_min, n); /* pruned + kept = produced */
	assert_string_equal(lag.lost_group, "never-read");
	assert_int_equal(lag.max_lag, lag.retained_min);

	assert_int_equal(bw_kafka_lag_query(w2, 5000, &lag, err, sizeof(err)), 0);
	assert_int_equal(lag.partitions, 2);
	assert_int_equal(lag.retained_min, -1); /* nothing pruned: retention unknown */
	assert_int_equal(lag.lost, 0);

	bw_kafka_lagwatch_free(w);
	bw_kafka_lagwatch_free(w2);
	bw_kafka_mock_free(m);
}

/* Data files are found from the working directory, then beside the
 * executable's build tree (<exe dir>/..), then under its install prefix. */
static void test_find_data_places(void **state)
{
	(void)state;
	char exe[4096], rel[128], probe[4400], out[4096], err[2048], cwd[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0'; /* build/tests */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* as given: absolute, or existing from the working directory */
	assert_int_equal(bw_fs_find_data("x", "/proc/self/exe", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/proc/self/exe");
	assert_int_equal(bw_fs_find_data("x", "/nonexistent/m.model", out, sizeof(out), err,
					 sizeof(err)), BW_ENOENT);
	assert_string_equal(err, "x /nonexistent/m.model: No such file or directory");
	assert_int_equal(bw_fs_find_data("x", "", out, sizeof(out), err, sizeof(err)), BW_ENOENT);
	/* beside the build tree: <exe dir>/../<rel> */
	snprintf(rel, sizeof(rel), "bw_find_probe_%ld.model", (long)getpid());
	snprintf(probe, sizeof(probe), "%s/../%s", exe, rel);
	assert_non_null(f = fopen(probe, "w"));
	fclose(f);
	assert_int_equal(bw_fs_find_data("score.model", rel, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, rel));
	assert_null(strstr(out, "/../")); /* canonical */
	assert_int_equal(access(out, F_OK), 0);
	/* too small an output buffer is an error, not a truncated path */
	assert_int_equal(bw_fs_find_data("score.model", rel, out, 8, err, sizeof(err)), BW_ETOOLARGE);
	unlink(probe);
	/* nowhere: every place is named */
	assert_int_equal(bw_fs_find_data("score.model", rel, out, sizeof(out), err, sizeof(err)),
			 BW_ENOENT);
	snprintf(probe, sizeof(probe), "%s/%s (working directory)", cwd, rel);
	assert_non_null(strstr(err, probe));
	snprintf(probe, sizeof(probe), "%s/../%s (beside the executable's build tree)", exe, rel);
	assert_non_null(strstr(err, probe));
	snprintf(probe, sizeof(probe), "%s/../share/botwatch/%s (its install prefix)", exe, rel);
	assert_non_null(strstr(err, probe));
}

/* Regression (issue 20): credentials in a source URL were logged and written
 * into dead-letter records. */
static void test_redact_url(void **state)
{
	(void)state;
	static const struct { const char *in, *want; } cases[] = {
		{ "https://user:pa55@stream.example/1.1/statuses/sample.json",
		  "https://***@stream.example/1.1/statuses/sample.json" },
		{ "http://tok@h:8080", "http://***@h:8080" },
		{ "https://u:p@ss@h/x?y=1", "https://***@h/x?y=1" },
		{ "https://h/api/v1/streaming/public?access_token=abc123&type=public",
		  "https://h/api/v1/streaming/public?access_token=***&type=public" },
		{ "https://h/s?track=cats&API_KEY=k;oauth_signature=s%3D&Sig=1#t",
		  "https://h/s?track=cats&API_KEY=***;oauth_signature=***&Sig=***#t" },
		{ "https://h/s?a=1#access_token=zzz", "https://h/s?a=1#access_token=***" },
		{ "https://h/s?key=v&keyword=cats&password", "https://h/s?key=***&keyword=cats&password" },
		{ "https://h/path@x?q=1", "https://h/path@x?q=1" },
		{ "data/posts.ndjson.gz", "data/posts.ndjson.gz" },
		{ "-", "-" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(bw_redact_url(cases[i].in, out, sizeof(out)), cases[i].want);
	/* a small buffer is cut after the replacement: no secret tail */
	assert_string_equal(bw_redact_url("https://u:secretsecret@h/", out, 12), "https://***");
	assert_true(bw_redact_is_secret_name("sasl.password", 13));
	assert_true(bw_redact_is_secret_name("ssl.key.password", 16));
	assert_true(bw_redact_is_secret_name("sasl.oauthbearer.client.secret", 30));
	assert_true(bw_redact_is_secret_name("ingest.bearer_token", 19));
	assert_false(bw_redact_is_secret_name("bootstrap.servers", 17));
	assert_false(bw_redact_is_secret_name("ssl.key.location", 16));
	assert_true(bw_redact_is_secret_name("ssl.key.pem", 11));
	assert_false(bw_redact_is_secret_name("ssl.ca.pem", 10));
	assert_false(bw_redact_is_secret_name("session.timeout.ms", 18));
}

/* The one map: inserts past several resizes, replacement, deletions by
 * backward shift that keep every other key reachable, iteration. */
static void test_map(void **state)
{
	enum { N = 5000 };
	static char keys[N][16];
	struct bw_map *m = bw_map_new();
	size_t pos = 0, seen = 0;
	const char *k;
	void *v;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%d", i * 7919);
		assert_int_equal(bw_map_put(m, keys[i], &keys[i]), 0);
	}
	assert_int_equal(bw_map_count(m), N);
	assert_int_equal(bw_map_put(m, keys[3], &keys[4]), 0); /* replace */
	assert_ptr_equal(bw_map_get(m, keys[3]), &keys[4]);
	assert_int_equal(bw_map_count(m), N);
	for (int i = 0; i < N; i += 3)
		assert_non_null(bw_map_del(m, keys[i]));
	assert_null(bw_map_del(m, keys[0]));
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			assert_null(bw_map_get(m, keys[i]));
		else if (i != 3)
			assert_ptr_equal(bw_map_get(m, keys[i]), &keys[i]);
	}
	assert_null(bw_map_get(m, "absent"));
	while ((v = bw_map_next(m, &pos, &k))) {
		assert_ptr_equal(bw_map_get(m, k), v);
		seen++;
	}
	assert_int_equal(seen, bw_map_count(m));
	assert_int_equal(seen, N - (N + 2) / 3);
	bw_map_clear(m);
	assert_int_equal(bw_map_count(m), 0);
	assert_null(bw_map_get(m, keys[1]));
	bw_map_free(m);
	bw_map_free(NULL);
}

/* The one binary codec: varint edges, overlong and truncated input, the
 * sparse vector bit for bit (-0.0 and NaN kept). */
static void test_codec(void **state)
{
	unsigned char b[64];
	const uint64_t u[] = { 0, 1, 127, 128, 16383, 16384, UINT64_MAX };
	double v[6] = { 0.0, -0.0, 1.5, 0.0, __builtin_nan(""), 0.0 }, w[6];
	const unsigned char *pairs;
	size_t k, n;

	(void)state;
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		struct bw_cursor c = { b, bw_uvar_put(b, u[i]), 0, false };
		assert_true(bw_uvar_get(&c) == u[i]);
		assert_false(c.bad);
		assert_int_equal(c.off, c.len);
	}
	struct bw_cursor s = { b, bw_svar_put(b, INT64_MIN), 0, false };
	assert_true(bw_svar_get(&s) == INT64_MIN);
	memset(b, 0xFF, 11);
	struct bw_cursor over = { b, 11, 0, false };
	bw_uvar_get(&over);
	assert_true(over.bad);
	struct bw_cursor cut = { b, 3, 0, false };
	bw_uvar_get(&cut);
	assert_true(cut.bad);
	n = bw_svec_put(b, v, 6);
	assert_true(n <= bw_svec_bound(6));
	struct bw_cursor c = { b, n, 0, false };
	assert_true(bw_svec_check(&c, 6, &k, &pairs));
	assert_int_equal(k, 3);
	bw_svec_get(pairs, k, w, 6);
	assert_memory_equal(v, w, sizeof(v));
	assert_true(bw_svec_value(pairs, k, 2) == 1.5);
	struct bw_cursor shortv = { b, n, 0, false };
	assert_false(bw_svec_check(&shortv, 2, &k, &pairs)); /* an index past n */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_twitter),
		cmocka_unit_test(test_time_iso),
		cmocka_unit_test(test_time_format_roundtrip),
		cmocka_unit_test(test_arena_cap_and_reset),
		cmocka_unit_test(test_log_level_skips_arguments),
		cmocka_unit_test(test_err_strings),
		cmocka_unit_test(test_mkdir_p_creates_parents),
		cmocka_unit_test(test_kafka_fetch_wait_explicit_setting_wins),
		cmocka_unit_test(test_kafka_lag_measures_retention),
		cmocka_unit_test(test_find_data_places),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_codec),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
