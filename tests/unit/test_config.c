/*
 * test_config.c — the configuration table, file parser, env and CLI precedence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "cfg.h"

/* Write `text` to a fresh temp file; returns its path (static buffer per call site). */
static void write_tmp(char *path, size_t len, const char *text)
{
	snprintf(path, len, "/tmp/bw_cfg_test_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Write n bytes (NULs included) to a fresh temp file named into path. */
static void write_tmp_n(char *path, size_t len, const char *bytes, size_t n)
{
	snprintf(path, len, "/tmp/bw_cfg_test_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	close(fd);
}

static void test_defaults(void **state)
{
	(void)state;
	struct bw_config *cfg = cfg_new();
	assert_non_null(cfg);
	assert_string_equal(cfg->ingest_topic, "posts");
	assert_int_equal(cfg->ingest_max_line_bytes, 1048576);
	assert_string_equal(cfg->api_listen, "127.0.0.1:8080");
	assert_true(cfg->score_cap_prior > 0.149 && cfg->score_cap_prior < 0.151);
	assert_string_equal(cfg->kafka_bootstrap, "");
	cfg_free(cfg);
}

static void test_file_ok_and_errors_name_line(void **state)
{
	(void)state;
	char path[64], err[512];
	struct bw_config *cfg = cfg_new();

	write_tmp(path, sizeof(path), "# comment\napi.listen = 0.0.0.0:9000\n\nscore.cap_prior = 0.2\n"
				      "kafka.linger.ms = 5\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg->api_listen, "0.0.0.0:9000");
	assert_true(cfg->score_cap_prior > 0.19 && cfg->score_cap_prior < 0.21);
	assert_int_equal(cfg->n_kafka, 1);
	assert_string_equal(cfg->kafka_keys[0], "linger.ms");
	unlink(path);

	/* unknown key on line 3 */
	write_tmp(path, sizeof(path), "api.listen = x:1\n# c\nno.such.key = 1\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: unknown key 'no.such.key'", path);
	assert_string_equal(err, want);
	unlink(path);

	/* out of range on line 2 */
	write_tmp(path, sizeof(path), "\ningest.max_line_bytes = 12\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EINVAL);
	snprintf(want, sizeof(want), "%s:2: ingest.max_line_bytes: 12 is out of range", path);
	assert_memory_equal(err, want, strlen(want));
	unlink(path);

	/* librdkafka rejects a pass-through property and its text is shown */
	write_tmp(path, sizeof(path), "kafka.no.such.property = 1\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EKAFKA);
	snprintf(want, sizeof(want), "%s:1: kafka.no.such.property: ", path);
	assert_memory_equal(err, want, strlen(want));
	assert_non_null(strstr(err, "No such configuration property"));
	unlink(path);

	/* a line with no '=' */
	write_tmp(path, sizeof(path), "api.listen = a:1\njust words\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EPARSE);
	snprintf(want, sizeof(want), "%s:2: expected `key = value`", path);
	assert_string_equal(err, want);
	unlink(path);

	/* bad enum */
	write_tmp(path, sizeof(path), "log.level = loud\n");
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EINVAL);
	assert_non_null(strstr(err, ":1: log.level: 'loud' is not one of debug|info|warn|error|off"));
	unlink(path);
	cfg_free(cfg);
}

/* Regressions (issue 20): a directory as --config loaded as an empty file; a
 * NUL byte cut a value short; a line longer than the parser's buffer was split
 * and every later error named the wrong line; unknown BOTWATCH_* variables were
 * ignored while unknown --set keys are errors. */
static void test_hostile_config_input(void **state)
{
	(void)state;
	char path[64], err[512], want[256], big[600];
	struct bw_config *cfg = cfg_new();

	assert_int_equal(cfg_load_file(cfg, "/tmp", err, sizeof(err)), BW_EIO);
	assert_string_equal(err, "/tmp: is a directory, not a config file");

	static const char nul[] = "api.threads = 3\napi.listen = 127.0.0.1:80\0junk\n";
	write_tmp_n(path, sizeof(path), nul, sizeof(nul) - 1);
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EPARSE);
	snprintf(want, sizeof(want), "%s:2: a NUL byte in the line", path);
	assert_string_equal(err, want);
	assert_string_equal(cfg->api_listen, "127.0.0.1:8080"); /* not the cut value */
	unlink(path);

	/* a 500-byte comment on line 2, then an unknown key on line 3 */
	int n = snprintf(big, sizeof(big), "api.threads = 3\n# ");
	memset(big + n, 'x', 500);
	snprintf(big + n + 500, sizeof(big) - (size_t)n - 500, "\nno.such = 1\n");
	write_tmp(path, sizeof(path), big);
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EPARSE);
	snprintf(want, sizeof(want), "%s:2: line of 502 bytes; at most ", path);
	assert_memory_equal(err, want, strlen(want));
	unlink(path);
	/* lines up to the limit still load, and errors after them name their line */
	n = snprintf(big, sizeof(big), "# ");
	memset(big + n, 'y', 190);
	snprintf(big + n + 190, sizeof(big) - (size_t)n - 190, "\n\nno.such = 1\n");
	write_tmp(path, sizeof(path), big);
	assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), BW_EINVAL);
	snprintf(want, sizeof(want), "%s:3: unknown key 'no.such'", path);
	assert_string_equal(err, want);
	unlink(path);

	setenv("BOTWATCH_API_THRADS", "4", 1);
	assert_int_equal(cfg_load_env(cfg, err, sizeof(err)), BW_EINVAL);
	assert_non_null(strstr(err, "environment BOTWATCH_API_THRADS: unknown variable"));
	unsetenv("BOTWATCH_API_THRADS");
	setenv("BOTWATCH_KAFKA_SASL_PASSWORD", "x", 1); /* pass-through keys have no variable */
	assert_int_equal(cfg_load_env(cfg, err, sizeof(err)), BW_EINVAL);
	assert_non_null(strstr(err, "BOTWATCH_KAFKA_SASL_PASSWORD: unknown variable"));
	unsetenv("BOTWATCH_KAFKA_SASL_PASSWORD");
	setenv("BOTWATCH_DATA", "/tmp", 1); /* the scripts' own variables are fine */
	setenv("BOTWATCH_API_THREADS", "5", 1);
	assert_int_equal(cfg_load_env(cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->api_threads, 5);
	unsetenv("BOTWATCH_API_THREADS");
	unsetenv("BOTWATCH_DATA");
	cfg_free(cfg);
}

static void test_precedence_flag_env_file_default(void **state)
{
	(void)state;
	char path[64], err[512];
	struct bw_config *cfg;

	write_tmp(path, sizeof(path), "api.listen = file:1\napi.threads = 3\nscore.batch = 7\n");
	setenv("BOTWATCH_API_LISTEN", "env:2", 1);
	setenv("BOTWATCH_SCORE_BATCH", "9", 1);
	char *argv[] = { "x", "--config", path, "--set", "api.listen=flag:3", "rest", NULL };
	int argc = 6;
	assert_int_equal(cfg_from_cli(&cfg, &argc, argv, err, sizeof(err)), 0);
	assert_string_equal(cfg->api_listen, "flag:3"); /* flag > env > file */
	assert_int_equal(cfg->score_batch, 9);          /* env > file */
	assert_int_equal(cfg->api_threads, 3);          /* file > default */
	assert_int_equal(cfg->api_timeout_s, 30);       /* default */
	assert_int_equal(argc, 2);                      /* consumed flags */
	assert_string_equal(argv[1], "rest");
	cfg_free(cfg);
	unsetenv("BOTWATCH_API_LISTEN");
	unsetenv("BOTWATCH_SCORE_BATCH");

	setenv("BOTWATCH_API_THREADS", "zero", 1);
	char *argv2[] = { "x", NULL };
	argc = 1;
	assert_int_equal(cfg_from_cli(&cfg, &argc, argv2, err, sizeof(err)), BW_EINVAL);
	assert_string_equal(err, "environment BOTWATCH_API_THREADS: api.threads: 'zero' is not an integer");
	unsetenv("BOTWATCH_API_THREADS");
	unlink(path);
}

static void test_dump_masks_secrets(void **state)
{
	(void)state;
	char err[256], *buf = NULL;
	size_t len = 0;
	struct bw_config *cfg = cfg_new();
	assert_int_equal(cfg_set(cfg, "api.token", "hunter2", "test", err, sizeof(err)), 0);
	/* regression (issue 20): pass-through kafka.* secrets and URL credentials
	 * were printed in clear */
	assert_int_equal(cfg_set(cfg, "kafka.sasl.password", "hunter3", "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "kafka.ssl.key.password", "hunter4", "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "kafka.sasl.username", "bob", "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "kafka.session.timeout.ms", "6000", "test", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "ingest.source", "https://u:hunter5@h/s?access_token=hunter6&a=1",
				 "test", err, sizeof(err)), 0);
	FILE *f = open_memstream(&buf, &len);
	cfg_dump(cfg, f);
	fclose(f);
	assert_null(strstr(buf, "hunter"));
	assert_non_null(strstr(buf, "api.token = ********\n"));
	assert_non_null(strstr(buf, "kafka.sasl.password = ********\n"));
	assert_non_null(strstr(buf, "kafka.ssl.key.password = ********\n"));
	assert_non_null(strstr(buf, "kafka.sasl.username = bob\n"));
	assert_non_null(strstr(buf, "kafka.session.timeout.ms = 6000\n")); /* no secret */
	assert_non_null(strstr(buf, "ingest.source = https://***@h/s?access_token=***&a=1\n"));
	assert_non_null(strstr(buf, "ingest.bearer_token = \n")); /* unset stays visibly empty */
	assert_non_null(strstr(buf, "ingest.topic = posts\n"));
	free(buf);
	cfg_free(cfg);
}

static void test_every_default_valid(void **state)
{
	(void)state;
	size_t n;
	const struct cfg_entry *t = cfg_table(&n);
	char err[256];
	struct bw_config *cfg = cfg_new();
	assert_true(n > 40);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].doc);
		assert_true(strlen(t[i].doc) > 5);
		assert_int_equal(cfg_set(cfg, t[i].name, t[i].def, "default", err, sizeof(err)), 0);
	}
	cfg_free(cfg);
}

/* The shipped template, every setting uncommented, loads and equals the defaults. */
static void test_template_uncommented_loads(void **state)
{
	(void)state;
	char *buf = NULL, *out = NULL, err[512], a[4096], b[4096];
	size_t len = 0, olen = 0, n;
	FILE *f = open_memstream(&buf, &len), *g;
	cfg_write_template(f);
	fclose(f);
	g = open_memstream(&out, &olen);
	/* uncomment "# key = value" lines; keep prose comments */
	for (char *p = buf, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', l);
		bool setting = l > 4 && p[0] == '#' && p[1] == ' ' && eq && eq > p + 3 && eq[-1] == ' ';
		for (const char *k = p + 2; setting && k < eq - 1; k++)
			setting = (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '.' || *k == '_';
		fprintf(g, "%.*s\n", (int)(setting ? l - 2 : l), setting ? p + 2 : p);
	}
	fclose(g);
	struct bw_config *cfg = cfg_new(), *def = cfg_new();
	FILE *in = fmemopen(out, olen, "r");
	int lrc = cfg_load_stream(cfg, in, "template", err, sizeof(err));
	if (lrc)
		print_error("%s\n", err);
	assert_int_equal(lrc, 0);
	fclose(in);
	const struct cfg_entry *t = cfg_table(&n);
	for (size_t i = 0; i < n; i++) {
		cfg_get_text(cfg, t[i].name, a, sizeof(a));
		cfg_get_text(def, t[i].name, b, sizeof(b));
		assert_string_equal(a, b);
	}
	cfg_free(cfg);
	cfg_free(def);
	free(buf);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_ok_and_errors_name_line),
		cmocka_unit_test(test_hostile_config_input),
		cmocka_unit_test(test_precedence_flag_env_file_default),
		cmocka_unit_test(test_dump_masks_secrets),
		cmocka_unit_test(test_every_default_valid),
		cmocka_unit_test(test_template_uncommented_loads),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
