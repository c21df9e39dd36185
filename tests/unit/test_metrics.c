/*
 * test_metrics.c — the metrics registry: registration, updates from many
 * threads, the series bound, and the exact Prometheus 0.0.4 text rendering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_metrics.h"

static int reset(void **state)
{
	(void)state;
	bw_metrics_reset();
	return 0;
}

static void test_render_counter_gauge_exact(void **state)
{
	(void)state;
	struct bw_metric *c = bw_counter("bw_things_total", "Things seen.", NULL);
	struct bw_metric *g = bw_gauge("bw_temp", "Line one\nback\\slash", "room");
	const char *kitchen[] = { "kitchen" };
	const char *weird[] = { "a\"b\\c\nd" };
	size_t len;

	assert_non_null(c);
	assert_non_null(g);
	bw_counter_add(c, NULL, 2);
	bw_counter_add(c, NULL, 3);
	bw_gauge_set(g, kitchen, 21.5);
	bw_gauge_set(g, weird, -1);
	char *text = bw_metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_string_equal(text,
			    "# HELP bw_things_total Things seen.\n"
			    "# TYPE bw_things_total counter\n"
			    "bw_things_total 5\n"
			    "# HELP bw_temp Line one\\nback\\\\slash\n"
			    "# TYPE bw_temp gauge\n"
			    "bw_temp{room=\"kitchen\"} 21.5\n"
			    "bw_temp{room=\"a\\\"b\\\\c\\nd\"} -1\n");
	free(text);
	assert_true(bw_metric_value(c, NULL) == 5.0);
	assert_true(bw_metric_value(g, kitchen) == 21.5);
	const char *absent[] = { "attic" };
	assert_true(bw_metric_value(g, absent) == 0.0);
}

static void test_render_histogram_exact(void **state)
{
	(void)state;
	const double bounds[] = { 0.001, 0.01, 0.1 };
	struct bw_metric *h = bw_histogram("bw_latency_seconds", "Latency.", "route,status",
					   bounds, 3);
	const char *v[] = { "/v1/x", "200" };

	assert_non_null(h);
	bw_histogram_observe(h, v, 0.0005);
	bw_histogram_observe(h, v, 0.001); /* upper bound is inclusive */
	bw_histogram_observe(h, v, 0.05);
	bw_histogram_observe(h, v, 2.0);
	char *text = bw_metrics_render(NULL);
	assert_non_null(text);
	assert_string_equal(text,
			    "# HELP bw_latency_seconds Latency.\n"
			    "# TYPE bw_latency_seconds histogram\n"
			    "bw_latency_seconds_bucket{route=\"/v1/x\",status=\"200\",le=\"0.001\"} 2\n"
			    "bw_latency_seconds_bucket{route=\"/v1/x\",status=\"200\",le=\"0.01\"} 2\n"
			    "bw_latency_seconds_bucket{route=\"/v1/x\",status=\"200\",le=\"0.1\"} 3\n"
			    "bw_latency_seconds_bucket{route=\"/v1/x\",status=\"200\",le=\"+Inf\"} 4\n"
			    "bw_latency_seconds_sum{route=\"/v1/x\",status=\"200\"} 2.0515\n"
			    "bw_latency_seconds_count{route=\"/v1/x\",status=\"200\"} 4\n");
	free(text);
	assert_true(bw_metric_value(h, v) == 4.0);
}

static void test_register_same_name_and_rejects(void **state)
{
	(void)state;
	struct bw_metric *a = bw_counter("bw_dup_total", "x", "kind");
	assert_non_null(a);
	assert_ptr_equal(bw_counter("bw_dup_total", "other help", "kind"), a);
	/* the same name with another type or other labels is refused */
	assert_null(bw_gauge("bw_dup_total", "x", "kind"));
	assert_null(bw_counter("bw_dup_total", "x", "other"));
	/* invalid names and labels */
	assert_null(bw_counter("9starts_with_digit", "x", NULL));
	assert_null(bw_counter("has space", "x", NULL));
	assert_null(bw_counter("bw_ok", "x", "bad-label"));
	assert_null(bw_counter("bw_ok2", "x", "a,a"));
	assert_null(bw_histogram("bw_h", "x", "le", (const double[]){ 1 }, 1));
	assert_null(bw_histogram("bw_h2", "x", NULL, (const double[]){ 2, 1 }, 2));
	/* updates through NULL or the wrong kind are ignored, not crashes */
	bw_counter_add(NULL, NULL, 1);
	bw_gauge_set(a, NULL, 1.0);
	const char *k[] = { "k" };
	assert_true(bw_metric_value(a, k) == 0.0);
}

static void test_series_bound_overflow(void **state)
{
	(void)state;
	struct bw_metric *c = bw_counter("bw_many_total", "Bounded.", "id");
	char id[32];
	const char *v[] = { id };

	for (int i = 0; i < BW_METRICS_MAX_SERIES + 50; i++) {
		snprintf(id, sizeof(id), "%d", i);
		bw_counter_add(c, v, 1);
	}
	char *text = bw_metrics_render(NULL);
	assert_non_null(text);
	size_t lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	/* HELP + TYPE + MAX series + one overflow series */
	assert_int_equal(lines, 2 + BW_METRICS_MAX_SERIES + 1);
	assert_non_null(strstr(text, "bw_many_total{id=\"_other\"} 50\n"));
	assert_non_null(strstr(text, "bw_many_total{id=\"0\"} 1\n"));
	assert_null(strstr(text, "{id=\"300\"}"));
	free(text);
}

struct worker_arg {
	struct bw_metric *c; /* counter to bump */
	struct bw_metric *h; /* histogram to observe */
	int id;              /* thread number */
};

static void *worker(void *p)
{
	struct worker_arg *w = p;
	const char *labels[] = { (w->id & 1) ? "odd" : "even" };

	for (int i = 0; i < 20000; i++) {
		bw_counter_add(w->c, labels, 1);
		bw_histogram_observe(w->h, NULL, 1.0);
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	(void)state;
	const double b[] = { 0.5, 2 };
	struct worker_arg args[4];
	pthread_t th[4];
	struct bw_metric *c = bw_counter("bw_conc_total", "c", "parity");
	struct bw_metric *h = bw_histogram("bw_conc_h", "h", NULL, b, 2);

	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ c, h, i };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	const char *even[] = { "even" }, *odd[] = { "odd" };
	assert_true(bw_metric_value(c, even) == 40000.0);
	assert_true(bw_metric_value(c, odd) == 40000.0);
	assert_true(bw_metric_value(h, NULL) == 80000.0);
	char *text = bw_metrics_render(NULL);
	assert_non_null(strstr(text, "bw_conc_h_sum 80000\n"));
	assert_non_null(strstr(text, "bw_conc_h_bucket{le=\"2\"} 80000\n"));
	assert_non_null(strstr(text, "bw_conc_h_bucket{le=\"0.5\"} 0\n"));
	free(text);
}

static void test_special_values(void **state)
{
	(void)state;
	struct bw_metric *g = bw_gauge("bw_special", "s", "k");
	const char *a[] = { "inf" }, *b[] = { "ninf" }, *c[] = { "nan" };
	bw_gauge_set(g, a, 1.0 / 0.0);
	bw_gauge_set(g, b, -1.0 / 0.0);
	bw_gauge_set(g, c, 0.0 / 0.0);
	char *text = bw_metrics_render(NULL);
	assert_non_null(strstr(text, "bw_special{k=\"inf\"} +Inf\n"));
	assert_non_null(strstr(text, "bw_special{k=\"ninf\"} -Inf\n"));
	assert_non_null(strstr(text, "bw_special{k=\"nan\"} NaN\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_render_counter_gauge_exact, reset),
		cmocka_unit_test_setup(test_render_histogram_exact, reset),
		cmocka_unit_test_setup(test_register_same_name_and_rejects, reset),
		cmocka_unit_test_setup(test_series_bound_overflow, reset),
		cmocka_unit_test_setup(test_concurrent_updates, reset),
		cmocka_unit_test_setup(test_special_values, reset),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, reset);
}
