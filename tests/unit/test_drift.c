/*
 * test_drift.c — the model's training baselines (written by clf_train, read
 * back, optional for older models), the drift monitor's windows and verdicts
 * on an unshifted and on shifted populations, the fairness tests of the eval
 * report (chi-square and Kruskal-Wallis on planted differences), and the data
 * expectations at ingest (docs/DRIFT.md, docs/EXPECTATIONS.md, docs/MODEL.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"
#include "clf_report.h"
#include "feat.h"
#include "ingest_expect.h"
#include "post.h"

#define NCOL 6

/* Row i of a population: profile columns (class user); `inflate` multiplies
 * column 2 (a count), `drop` zeroes column 3 (a field gone upstream). */
static void synth_row(uint64_t *st, int y, double inflate, bool drop, double *x)
{
	double u[NCOL];
	for (int j = 0; j < NCOL; j++)
		u[j] = (double)(clf_rand_next(st) % 10000) / 10000.0;
	x[0] = 8 + 6 * u[0] + (y ? 3 : 0);
	x[1] = 10 + 8 * u[1] - (y ? 3 : 0);
	x[2] = inflate * (y ? 20 : 300) * (0.2 + u[2]);
	x[3] = drop ? 0 : (y ? 2000 : 300) * (0.2 + u[3]);
	x[4] = (y ? 600 : 3000) * (0.2 + u[4]);
	x[5] = 1 + u[5];
}

static struct clf_matrix *synth_matrix(void)
{
	static const char *names[NCOL] = { "user.screen_name_length", "user.name_length",
					   "user.followers_count", "user.friends_count",
					   "user.statuses_count", "user.listed_count" };
	const int cls[NCOL] = { 0 };
	const bool uni[NCOL] = { true, true, true, true, true, true };
	struct clf_matrix *m = clf_matrix_new(NCOL, names, cls, uni);
	uint64_t st = 7;
	char err[256], id[32];
	assert_non_null(m);
	for (int i = 0; i < 800; i++) {
		double x[NCOL];
		int y = i % 3 == 0;
		synth_row(&st, y, 1, false, x);
		snprintf(id, sizeof(id), "%d", 1000 + i);
		assert_int_equal(clf_matrix_add(m, id, x, y, y ? "spammer" : "human", "synthetic",
						CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, err, sizeof(err)), 0);
	}
	return m;
}

/* A model trained on synth_matrix(), with or without its baselines section. */
static struct clf_model *synth_model(bool keep_baselines)
{
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.no_type_heads = true;
	o.schema_hash = "drift-test";
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	clf_matrix_free(m);
	assert_non_null(strstr(doc, "\"baselines\""));
	if (!keep_baselines) {
		json_t *j = json_loadb(doc, len, 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_object_del(j, "baselines"), 0);
		free(doc);
		doc = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
		len = strlen(doc);
		json_decref(j);
	}
	struct clf_model *mdl = clf_model_parse(doc, len, "drift-test", NCOL, err, sizeof(err));
	assert_non_null(mdl);
	free(doc);
	return mdl;
}

static void bounds(struct clf_drift_bounds *b)
{
	clf_drift_bounds_init(b);
	b->window_ms = 1000;
	b->min_scores = 300;
	b->bot_rate_max = 0.9;
}

/* Observe `n` rows of a population in event-time window [t0, t0 + 1000) and
 * close everything: the one report. */
static json_t *judge(const struct clf_model *mdl, uint64_t seed, int n, double inflate, bool drop,
		     double bot_share)
{
	struct clf_drift_bounds b;
	bounds(&b);
	struct clf_drift *d = clf_drift_new(mdl, &b);
	json_t *closed = json_array();
	uint64_t st = seed;
	assert_non_null(d);
	assert_true(clf_drift_active(d));
	for (int i = 0; i < n; i++) {
		double x[NCOL];
		struct clf_score sc;
		int y = (double)(clf_rand_next(&st) % 1000) / 1000.0 < bot_share;
		synth_row(&st, y, inflate, drop, x);
		clf_score(mdl, x, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, 0.15, &sc);
		assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, &sc,
						   5000 + i % 1000, closed), 0);
	}
	assert_int_equal(json_array_size(closed), 0);
	clf_drift_advance(d, BW_TIME_NONE, true, closed);
	assert_int_equal(json_array_size(closed), 1);
	json_t *w = json_incref(json_array_get(closed, 0));
	json_decref(closed);
	clf_drift_free(d);
	return w;
}

static bool has_reason(const json_t *w, const char *part)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(w, "reasons"), i, r)
		if (strstr(json_string_value(r), part))
			return true;
	return false;
}

static void test_unshifted_no_alarm_shifted_alarms(void **state)
{
	(void)state;
	struct clf_model *mdl = synth_model(true);
	assert_true(clf_model_has_baselines(mdl));

	json_t *w = judge(mdl, 99, 600, 1, false, 1.0 / 3);
	assert_true(json_is_true(json_object_get(w, "evaluated")));
	assert_false(json_is_true(json_object_get(w, "alarm")));
	assert_int_equal(json_array_size(json_object_get(w, "reasons")), 0);
	assert_true(json_number_value(json_object_get(w, "score_psi")) < 0.1);
	assert_string_equal(json_string_value(json_object_get(w, "start")), "1970-01-01T00:00:05Z");
	json_decref(w);

	w = judge(mdl, 99, 600, 10, false, 1.0 / 3); /* a count inflated tenfold */
	assert_true(json_is_true(json_object_get(w, "alarm")));
	assert_true(has_reason(w, "feature(s) with PSI"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(w, "top_psi"), 0), "feature")),
			    feat_def_get(2)->name); /* reports name registry columns */
	json_decref(w);

	w = judge(mdl, 99, 600, 1, true, 1.0 / 3); /* a field gone: zeros */
	assert_true(json_is_true(json_object_get(w, "alarm")));
	assert_true(has_reason(w, "presence moved"));
	json_decref(w);

	w = judge(mdl, 99, 600, 1, false, 0.95); /* a bot wave */
	assert_true(json_is_true(json_object_get(w, "alarm")));
	assert_true(has_reason(w, "bot rate"));
	/* the scores are the training ones at another mix of bots and humans */
	assert_true(json_number_value(json_object_get(w, "mixture_bot_share")) > 0.8);
	assert_true(json_number_value(json_object_get(w, "mixture_psi")) <
		    json_number_value(json_object_get(w, "score_psi")) / 2);
	json_decref(w);

	w = judge(mdl, 99, 100, 1, false, 1.0 / 3); /* too few to judge */
	assert_false(json_is_true(json_object_get(w, "evaluated")));
	assert_false(json_is_true(json_object_get(w, "alarm")));
	json_decref(w);
	clf_model_free(mdl);
}

static void test_windows_close_by_watermark(void **state)
{
	(void)state;
	struct clf_model *mdl = synth_model(true);
	struct clf_drift_bounds b;
	bounds(&b);
	struct clf_drift *d = clf_drift_new(mdl, &b);
	json_t *closed = json_array(), *open;
	double x[NCOL] = { 10, 12, 100, 300, 900, 1.5 };
	struct clf_score sc;
	clf_score(mdl, x, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, 0.15, &sc);
	assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT, &sc, 100, closed), 0);
	assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT, &sc, 1500, closed), 0);
	assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT, &sc, BW_TIME_NONE, closed), 0);
	open = clf_drift_open_json(d);
	assert_int_equal(json_array_size(open), 2);
	json_decref(open);
	clf_drift_advance(d, 1999, false, closed); /* window [0,1000) needs the watermark at 2000 */
	assert_int_equal(json_array_size(closed), 0);
	clf_drift_advance(d, 2000, false, closed);
	assert_int_equal(json_array_size(closed), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(closed, 0), "start")),
			    "1970-01-01T00:00:00Z");
	/* a decision for the closed window is late, not observed */
	assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT, &sc, 999, closed), 0);
	json_t *bj = clf_drift_bounds_json(d);
	assert_int_equal(json_integer_value(json_object_get(bj, "late")), 1);
	assert_int_equal(json_integer_value(json_object_get(bj, "undated")), 1);
	json_decref(bj);
	clf_drift_advance(d, BW_TIME_NONE, true, closed);
	assert_int_equal(json_array_size(closed), 2);
	json_decref(closed);
	clf_drift_free(d);
	clf_model_free(mdl);
}

static void test_model_without_baselines(void **state)
{
	(void)state;
	struct clf_model *mdl = synth_model(false);
	struct clf_drift_bounds b;
	assert_false(clf_model_has_baselines(mdl));
	bounds(&b);
	struct clf_drift *d = clf_drift_new(mdl, &b);
	json_t *closed = json_array();
	double x[NCOL] = { 0 };
	struct clf_score sc;
	clf_score(mdl, x, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, 0.15, &sc);
	assert_non_null(d);
	assert_false(clf_drift_active(d));
	assert_int_equal(clf_drift_observe(d, x, NCOL, CLF_AVAIL_TEXT, &sc, 5, closed), 0);
	clf_drift_advance(d, BW_TIME_NONE, true, closed);
	assert_int_equal(json_array_size(closed), 0);
	json_decref(closed);
	clf_drift_free(d);
	clf_model_free(mdl);
}

/* The baselines section is checked strictly: a malformed one refuses the model. */
static void test_malformed_baselines_refused(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.no_type_heads = true;
	o.schema_hash = "drift-test";
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	clf_matrix_free(m);
	json_t *j = json_loadb(doc, len, 0, NULL);
	json_t *f0 = json_array_get(json_object_get(json_object_get(j, "baselines"), "features"), 0);
	json_array_set_new(f0, 2, json_pack("[f, f]", 5.0, 1.0)); /* edges not ascending */
	char *bad = json_dumps(j, JSON_COMPACT);
	assert_null(clf_model_parse(bad, strlen(bad), "drift-test", NCOL, err, sizeof(err)));
	assert_non_null(strstr(err, "baselines"));
	free(bad);
	json_decref(j);
	free(doc);
}

static void test_fairness_tests(void **state)
{
	(void)state;
	enum { N = 800 };
	double p[N];
	int y[N];
	const char *grp[N], *same[N];
	uint64_t st = 3;
	/* groups a and b: humans of b are flagged far more often (30 % vs 5 %) */
	for (int i = 0; i < N; i++) {
		double u = (double)(clf_rand_next(&st) % 10000) / 10000.0;
		bool b = i % 2;
		y[i] = i % 4 < 2 ? 0 : 1;
		grp[i] = b ? "b" : "a";
		same[i] = i % 8 < 4 ? "x" : "y";
		p[i] = y[i] ? 0.3 + 0.7 * u : (u < (b ? 0.3 : 0.05) ? 0.6 + 0.4 * u : 0.4 * u);
	}
	struct clf_report_input in = { .n = N, .p = p, .y = y, .lang = grp, .platform = same,
				       .threshold = 0.5 };
	json_t *f = clf_report_fairness(&in);
	json_t *lang = json_object_get(f, "language"), *plat = json_object_get(f, "platform");
	json_t *t = json_object_get(lang, "false_positive_rate_test");
	assert_string_equal(json_string_value(json_object_get(t, "test")), "chi-square");
	assert_true(json_is_true(json_object_get(t, "differs")));
	assert_true(json_number_value(json_object_get(t, "p")) < 1e-6);
	t = json_object_get(lang, "human_scores_test");
	assert_string_equal(json_string_value(json_object_get(t, "test")), "kruskal-wallis");
	assert_true(json_is_true(json_object_get(t, "differs")));
	/* bots are drawn alike in both groups */
	t = json_object_get(lang, "bot_scores_test");
	assert_true(json_number_value(json_object_get(t, "p")) > 0.01);
	/* a grouping unrelated to the scores differs no more than chance */
	t = json_object_get(plat, "false_positive_rate_test");
	assert_false(json_is_true(json_object_get(t, "differs")));
	assert_true(json_number_value(json_object_get(t, "p")) > 0.01);
	json_t *ga = json_object_get(json_object_get(lang, "groups"), "a");
	assert_int_equal(json_integer_value(json_object_get(ga, "humans")), 200);
	assert_int_equal(json_integer_value(json_object_get(ga, "bots")), 200);
	json_decref(f);
}

static void test_expectations(void **state)
{
	(void)state;
	struct bw_post p;
	ingest_expect_reset();
	bw_post_init(&p);
	p.kind = BW_POST_ORIGINAL;
	p.platform = "twitter";
	p.id = "123";
	p.created_at_ms = 1600000000000;
	p.text = "hello";
	p.lang = "en";
	p.author.id = "42";
	p.author.screen_name = "has space"; /* format */
	p.author.name = "Name";
	p.author.created_at_ms = 1700000000000; /* after the post: range */
	p.author.followers_count = -1;          /* absent on twitter */
	p.author.friends_count = 20000000;      /* above 1e7: range */
	p.author.statuses_count = 10;
	p.author.favourites_count = 1;
	p.author.listed_count = 0;
	ingest_expect_check(&p);
	p.platform = "bluesky"; /* Jetstream: no counts, not expected there */
	p.author.screen_name = "alice.bsky.social";
	p.author.created_at_ms = BW_TIME_NONE;
	p.author.friends_count = -1;
	p.lang = "pt-BR";
	ingest_expect_check(&p);
	p.kind = BW_POST_DELETE; /* deletions carry nothing to check */
	ingest_expect_check(&p);

	json_t *a = ingest_expect_json();
	size_t i;
	json_t *e;
	int seen = 0;
	json_array_foreach(a, i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		json_int_t checked = json_integer_value(json_object_get(e, "checked"));
		json_int_t absent = json_integer_value(json_object_get(e, "absent"));
		json_int_t range = json_integer_value(json_object_get(e, "out_of_range"));
		json_int_t fmt = json_integer_value(json_object_get(e, "bad_format"));
		assert_int_equal(checked, 2);
		if (strcmp(f, "author.screen_name") == 0)
			seen++, assert_true(fmt == 1 && absent == 0 && range == 0);
		else if (strcmp(f, "author.followers_count") == 0)
			seen++, assert_true(absent == 1 && range == 0);
		else if (strcmp(f, "author.friends_count") == 0)
			seen++, assert_true(absent == 0 && range == 1);
		else if (strcmp(f, "author.created_at") == 0)
			seen++, assert_true(absent == 0 && range == 1);
		else if (strcmp(f, "lang") == 0)
			seen++, assert_true(absent == 0 && range == 0 && fmt == 0);
		else
			assert_true(absent + range + fmt == 0);
	}
	assert_int_equal(seen, 5);
	json_decref(a);
	char *md = NULL;
	size_t mdlen = 0;
	FILE *f = open_memstream(&md, &mdlen);
	assert_int_equal(ingest_expect_write_markdown(f), 0);
	fclose(f);
	assert_non_null(strstr(md, "| `author.followers_count` | count |"));
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unshifted_no_alarm_shifted_alarms),
		cmocka_unit_test(test_windows_close_by_watermark),
		cmocka_unit_test(test_model_without_baselines),
		cmocka_unit_test(test_malformed_baselines_refused),
		cmocka_unit_test(test_fairness_tests),
		cmocka_unit_test(test_expectations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
