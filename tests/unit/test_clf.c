/*
 * test_clf.c — classifier maths and models on synthetic matrices: AUC/PR-AUC/
 * Brier on hand-checked cases, stratified folds, Platt monotonicity, fast
 * predict equal to libsvm's svm_predict_values, deterministic training,
 * schema-mismatch refusal, and the score record.
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
#include <unistd.h>

#include <libsvm/svm.h>

#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"
#include "clf_cmd.h"
#include "clf_int.h"
#include "feat.h"

static void test_auc_hand_checked(void **state)
{
	(void)state;
	/* pairs (pos, neg): (0.35,0.1) win, (0.35,0.4) lose, (0.8, both) win: 3/4 */
	const double s1[] = { 0.1, 0.4, 0.35, 0.8 };
	const int y1[] = { 0, 0, 1, 1 };
	assert_true(fabs(clf_auc(s1, y1, 4) - 0.75) < 1e-12);
	/* a tie counts half */
	const double s2[] = { 0.5, 0.5 };
	const int y2[] = { 0, 1 };
	assert_true(fabs(clf_auc(s2, y2, 2) - 0.5) < 1e-12);
	/* one class only: undefined */
	assert_true(isnan(clf_auc(s2, y1 + 2, 2)));
	/* AP: positives at ranks 1 and 3 -> (1/2)(1/1) + (1/2)(2/3) = 5/6 */
	const double s3[] = { 0.9, 0.8, 0.7, 0.6 };
	const int y3[] = { 1, 0, 1, 0 };
	assert_true(fabs(clf_pr_auc(s3, y3, 4) - 5.0 / 6.0) < 1e-12);
	/* Brier: ((0.9-1)^2 + (0.8-0)^2 + (0.7-1)^2 + (0.6-0)^2) / 4 = 1.1/4 */
	assert_true(fabs(clf_brier(s3, y3, 4) - 0.275) < 1e-12);
	struct clf_confusion cf;
	clf_confusion_at(s3, y3, 4, 0.65, &cf); /* predicted: 1,1,1,0 */
	assert_int_equal(cf.tp, 2);
	assert_int_equal(cf.fp, 1);
	assert_int_equal(cf.tn, 1);
	assert_int_equal(cf.fn, 0);
	assert_true(fabs(cf.precision - 2.0 / 3) < 1e-12);
	assert_true(fabs(cf.recall - 1.0) < 1e-12);
	assert_true(fabs(cf.f1 - 0.8) < 1e-12);
}

static void test_folds_stratified_deterministic(void **state)
{
	(void)state;
	int y[103], f1[103], f2[103], per[5][2] = { { 0 } };
	for (int i = 0; i < 103; i++)
		y[i] = i % 4 == 0; /* 26 positives, 77 negatives */
	assert_int_equal(clf_stratified_folds(y, 103, 5, 42, f1), 0);
	assert_int_equal(clf_stratified_folds(y, 103, 5, 42, f2), 0);
	assert_memory_equal(f1, f2, sizeof(f1));
	for (int i = 0; i < 103; i++) {
		assert_true(f1[i] >= 0 && f1[i] < 5);
		per[f1[i]][y[i]]++;
	}
	for (int k = 0; k < 5; k++) { /* each fold within one of the even share */
		assert_true(per[k][1] == 5 || per[k][1] == 6);
		assert_true(per[k][0] == 15 || per[k][0] == 16);
	}
	assert_int_equal(clf_stratified_folds(y, 103, 1, 42, f1), BW_EINVAL);
}

static void test_platt_monotone(void **state)
{
	(void)state;
	double dec[200];
	int y[200];
	uint64_t st = 7;
	for (int i = 0; i < 200; i++) {
		y[i] = i % 2;
		dec[i] = (y[i] ? 1.0 : -1.0) + ((double)(clf_rand_next(&st) % 2000) / 1000.0 - 1.0) * 1.5;
	}
	double A, B;
	clf_platt_fit(dec, y, 200, &A, &B);
	assert_true(A < 0); /* larger decision -> larger probability */
	double prev = -1;
	for (double d = -5; d <= 5; d += 0.05) {
		double p = clf_platt_apply(A, B, d);
		assert_true(p >= prev && p >= 0 && p <= 1);
		prev = p;
	}
	assert_true(clf_platt_apply(A, B, 3) > 0.9);
	assert_true(clf_platt_apply(A, B, -3) < 0.1);
}

/* A fixed offset per row: refitting on the optimum's own log-odds as the
 * offset leaves nothing to fit (no ridge), and an offset of +c is absorbed
 * by the bias alone (b moves by -c, w stays). */
static void test_logreg_offset(void **state)
{
	(void)state;
	enum { N = 300 };
	double z[N * 2], off[N], w[2], b, w2[2], b2;
	int y[N];
	uint64_t st = 11;
	for (int i = 0; i < N; i++) {
		y[i] = i % 3 == 0;
		for (int k = 0; k < 2; k++)
			z[i * 2 + k] = (y[i] ? 0.8 : -0.4) * (k + 1) +
				       ((double)(clf_rand_next(&st) % 2000) / 1000.0 - 1.0) * 2;
	}
	assert_int_equal(clf_logreg_fit(z, y, NULL, N, 2, 1e-12, w, &b), 0);
	assert_true(w[0] > 0 && w[1] > 0);
	for (int i = 0; i < N; i++)
		off[i] = b + w[0] * z[i * 2] + w[1] * z[i * 2 + 1];
	assert_int_equal(clf_logreg_fit(z, y, off, N, 2, 1e-12, w2, &b2), 0);
	assert_true(fabs(w2[0]) < 1e-6 && fabs(w2[1]) < 1e-6 && fabs(b2) < 1e-6);
	for (int i = 0; i < N; i++)
		off[i] = 1.5;
	assert_int_equal(clf_logreg_fit(z, y, off, N, 2, 1e-12, w2, &b2), 0);
	assert_true(fabs(w2[0] - w[0]) < 1e-6 && fabs(w2[1] - w[1]) < 1e-6);
	assert_true(fabs(b2 - (b - 1.5)) < 1e-6);
}

/* Synthetic two-class data in `dim` dimensions (positives shifted). */
static void synth(int n, int dim, uint64_t seed, double *x, int *y)
{
	uint64_t st = seed;
	for (int i = 0; i < n; i++) {
		y[i] = i % 3 == 0;
		for (int j = 0; j < dim; j++) {
			double u = (double)(clf_rand_next(&st) % 100000) / 100000.0;
			x[i * dim + j] = 4 * u - 2 + (y[i] && j < 3 ? 0.9 : 0);
		}
	}
}

static void check_predict_equal(int kernel, double gamma)
{
	enum { N = 300, D = 12 };
	static double x[N * D];
	static int y[N];
	static struct svm_node nodes[N * (D + 1)];
	struct svm_node *rows[N];
	double yy[N];
	synth(N, D, 99, x, y);
	for (int i = 0; i < N; i++) {
		rows[i] = nodes + i * (D + 1);
		for (int j = 0; j < D; j++) {
			rows[i][j].index = j + 1;
			rows[i][j].value = x[i * D + j];
		}
		rows[i][D].index = -1;
		yy[i] = y[i];
	}
	struct svm_problem prob = { .l = N, .y = yy, .x = rows };
	struct svm_parameter par = { .svm_type = C_SVC, .kernel_type = kernel, .gamma = gamma,
				     .C = 1, .cache_size = 16, .eps = 1e-3, .shrinking = 1 };
	struct svm_model *md = svm_train(&prob, &par);
	assert_non_null(md);
	char err[256];
	struct clf_svm *fast = clf_svm_from_libsvm(md, D, err, sizeof(err));
	char *text = clf_svm_model_text(md);
	assert_non_null(fast);
	assert_non_null(text);
	struct clf_svm *parsed = clf_svm_parse(text, strlen(text), D, err, sizeof(err));
	assert_non_null(parsed);
	/* libsvm's own loader reads our text */
	char path[] = "/tmp/bw_clf_svm_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct svm_model *loaded = svm_load_model(path);
	unlink(path);
	assert_non_null(loaded);
	for (int i = 0; i < N; i++) {
		double ref, ref2;
		svm_predict_values(md, rows[i], &ref);
		svm_predict_values(loaded, rows[i], &ref2);
		if (md->label[0] != 1) {
			ref = -ref;
			ref2 = -ref2;
		}
		assert_true(fabs(clf_svm_decision(fast, x + i * D) - ref) < 1e-6);
		assert_true(fabs(clf_svm_decision(parsed, x + i * D) - ref) < 1e-6);
		assert_true(fabs(ref2 - ref) < 1e-6);
	}
	svm_free_and_destroy_model(&loaded);
	clf_svm_free(fast);
	clf_svm_free(parsed);
	free(text);
	svm_free_and_destroy_model(&md);
}

static void quiet(const char *s)
{
	(void)s;
}

static void test_predict_equals_libsvm(void **state)
{
	(void)state;
	svm_set_print_string_function(quiet);
	check_predict_equal(LINEAR, 0.2);
	check_predict_equal(RBF, 0.2);
	/* local kernels, like the user_counts twin's: most terms fall below the
	 * fast path's negligible bound and are skipped, still equal to 1e-6 */
	check_predict_equal(RBF, 3.0);
}

static void test_svm_parse_rejects_garbage(void **state)
{
	(void)state;
	char err[256];
	const char *bad[] = {
		"",
		"svm_type nu_svc\n",
		"svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 1\nrho 0\nlabel 1 0\nnr_sv 1 0\nSV\n1 3:0.5\n",
		"svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 2\nrho 0\nlabel 1 0\nnr_sv 1 1\nSV\n1 1:0.5\n",
		"svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 1\nrho nan\nlabel 1 0\nnr_sv 1 0\nSV\n1 1:0.5\n",
		"svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 1\nrho 0\nlabel 1 0\nnr_sv 1 0\nSV\n1 2:1 1:0.5\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(clf_svm_parse(bad[i], strlen(bad[i]), 2, err, sizeof(err)));
	const char *ok = "svm_type c_svc\nkernel_type linear\nnr_class 2\ntotal_sv 1\nrho 0.25\n"
			 "label 1 0\nnr_sv 1 0\nSV\n1 1:0.5 2:-2\n";
	struct clf_svm *s = clf_svm_parse(ok, strlen(ok), 2, err, sizeof(err));
	assert_non_null(s);
	const double x[2] = { 2, 1 }; /* 0.5*2 - 2*1 - 0.25 */
	assert_true(fabs(clf_svm_decision(s, x) - (-1.25)) < 1e-12);
	clf_svm_free(s);
}

/* A synthetic population: text, counts and activity columns, two bot types,
 * three availability patterns. */
static struct clf_matrix *synth_matrix(void)
{
	static const char *names[] = { "user.screen_name_length", "user.name_length",
				       "user.followers_count", "user.friends_count",
				       "user.default_profile", "temporal.post_gap_seconds.mean",
				       "content.urls_per_post.mean" };
	const int cls[] = { 0, 0, 0, 0, 0, 3, 4 };
	const bool uni[] = { true, true, true, true, true, true, false };
	struct clf_matrix *m = clf_matrix_new(7, names, cls, uni);
	uint64_t st = 5;
	char err[256], id[32];
	assert_non_null(m);
	for (int i = 0; i < 600; i++) {
		int y = i % 3 != 0, type = i % 2;
		double u[7];
		for (int j = 0; j < 7; j++)
			u[j] = (double)(clf_rand_next(&st) % 10000) / 10000.0;
		double x[7] = {
			8 + 6 * u[0] + (y ? 3 : 0),
			10 + 8 * u[1] - (y ? 3 : 0),
			(y ? 20 : 300) * (0.2 + u[2]),
			(y && type ? 2000 : 300) * (0.2 + u[3]),
			y, /* a collection artefact that must be ignored */
			(y ? 600 : 3000) * (0.2 + u[5]),
			(y && !type ? 1.2 : 0.2) * u[6],
		};
		uint32_t avail = i % 5 == 0 ? (CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY)
			       : i % 5 < 3 ? (CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS)
					   : CLF_AVAIL_ALL;
		snprintf(id, sizeof(id), "%d", 1000 + i);
		assert_int_equal(clf_matrix_add(m, id, x, y, y ? (type ? "follower" : "spammer") : "human",
						"synthetic", avail, err, sizeof(err)), 0);
	}
	return m;
}

static void test_train_deterministic_and_schema(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *a = NULL, *b = NULL, err[512];
	size_t alen = 0, blen = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.schema_hash = "abc123";
	assert_int_equal(clf_train(m, &o, &a, &alen, err, sizeof(err)), 0);
	assert_int_equal(clf_train(m, &o, &b, &blen, err, sizeof(err)), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen); /* same inputs, same bytes */
	assert_null(strstr(a, "user.default_profile")); /* artefact column not used */

	struct clf_model *mdl = clf_model_parse(a, alen, "other", 7, err, sizeof(err));
	assert_null(mdl);
	assert_non_null(strstr(err, "feature schema abc123"));
	assert_non_null(strstr(err, "this build has other"));
	mdl = clf_model_parse(a, alen, "abc123", 7, err, sizeof(err));
	assert_non_null(mdl);
	assert_int_equal(strncmp(clf_model_id(mdl), "sha256:", 7), 0);
	assert_int_equal(strlen(clf_model_id(mdl)), 7 + 64);
	assert_int_equal(clf_model_n_types(mdl), 2);
	assert_string_equal(clf_model_type_name(mdl, 0), "follower");

	/* AUC of the english score over the training rows, each with its own evidence */
	double *p = malloc(m->n_rows * sizeof(double));
	struct clf_score sc;
	for (size_t r = 0; r < m->n_rows; r++) {
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], 0.15, &sc);
		assert_true(isfinite(sc.english) && sc.english >= 0 && sc.english <= 1);
		assert_true(isfinite(sc.cap_english));
		p[r] = sc.english;
	}
	assert_true(clf_auc(p, m->label, m->n_rows) > 0.9);
	free(p);

	/* profile-only evidence: a numeric score, status profile_only, no temporal */
	clf_score(mdl, m->x, CLF_AVAIL_TEXT, 0.15, &sc);
	assert_int_equal(sc.status, CLF_STATUS_PROFILE_ONLY);
	assert_true(isfinite(sc.english));
	assert_true(isfinite(sc.categories[0]));
	assert_true(isnan(sc.categories[3]));
	clf_score(mdl, m->x, 0, 0.15, &sc);
	assert_int_equal(sc.status, CLF_STATUS_INSUFFICIENT);
	assert_true(isnan(sc.english));
	clf_model_free(mdl);
	free(a);
	free(b);
	clf_matrix_free(m);
}

/* Each group records the rows it was fitted on per dataset source, and
 * --no-type-heads leaves the overall head (and so the overall score) as is. */
static void test_fit_rows_and_no_type_heads(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *a = NULL, *b = NULL, err[512];
	size_t alen = 0, blen = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	assert_int_equal(clf_train(m, &o, &a, &alen, err, sizeof(err)), 0);
	o.no_type_heads = true;
	assert_int_equal(clf_train(m, &o, &b, &blen, err, sizeof(err)), 0);
	json_t *da = json_loadb(a, alen, 0, NULL), *db = json_loadb(b, blen, 0, NULL);
	assert_non_null(da);
	assert_non_null(db);
	json_t *ha = json_array_get(json_object_get(da, "heads"), 0);
	json_t *hb = json_array_get(json_object_get(db, "heads"), 0);
	assert_true(json_equal(ha, hb));
	assert_int_equal(json_array_size(json_object_get(db, "heads")), 1);
	assert_int_equal(json_array_size(json_object_get(db, "types")), 0);
	assert_true(json_is_false(json_object_get(json_object_get(db, "params"), "type_heads")));
	assert_null(json_object_get(json_object_get(da, "params"), "type_heads"));
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(ha, "groups"), i, g) {
		json_t *fr = json_object_get(g, "fit_rows"), *syn = json_object_get(fr, "synthetic");
		assert_int_equal(json_object_size(fr), 1);
		assert_non_null(syn);
		/* fewer rows than max_rows: every row of the population was fitted */
		assert_int_equal(json_integer_value(json_object_get(syn, "bots")),
				 json_integer_value(json_object_get(g, "n_pos")));
		assert_int_equal(json_integer_value(json_object_get(syn, "humans")),
				 json_integer_value(json_object_get(g, "n_neg")));
	}
	/* the english stack of both models scores every row the same */
	struct clf_model *ma = clf_model_parse(a, alen, NULL, 0, err, sizeof(err));
	struct clf_model *mb = clf_model_parse(b, blen, NULL, 0, err, sizeof(err));
	assert_non_null(ma);
	assert_non_null(mb);
	assert_int_equal(clf_model_n_types(mb), 0);
	for (size_t r = 0; r < m->n_rows; r++) {
		struct clf_score sa, sb;
		clf_score(ma, m->x + r * m->n_cols, m->avail[r], 0.15, &sa);
		clf_score(mb, m->x + r * m->n_cols, m->avail[r], 0.15, &sb);
		assert_true(sa.english == sb.english);
	}
	clf_model_free(ma);
	clf_model_free(mb);
	json_decref(da);
	json_decref(db);
	free(a);
	free(b);
	clf_matrix_free(m);
}

/* The group of the overall head named `name` in a model document. */
static json_t *overall_group(json_t *doc, const char *name)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(json_array_get(json_object_get(doc, "heads"), 0),
					   "groups"), i, g)
		if (strcmp(json_string_value(json_object_get(g, "group")), name) == 0)
			return g;
	return NULL;
}

static json_int_t fit_count(json_t *g, const char *src, const char *cls)
{
	return json_integer_value(json_object_get(json_object_get(json_object_get(g, "fit_rows"),
								   src), cls));
}

/* Sources in training (docs/MODEL.md, "Sources"): a masked value (NaN, a
 * field its source lacks) scores as the population mean; RBF fits skip rows
 * with a masked column while linear fits keep them; --balance-sources gives
 * each source an equal share of each class in a capped subsample. */
static void test_masked_and_balanced_sources(void **state)
{
	(void)state;
	struct clf_matrix *m0 = synth_matrix(), *m;
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	double x[7];
	/* every fifth row (both classes, profile counts) from a small source
	 * lacking the name and friends fields */
	m = clf_matrix_new(m0->n_cols, (const char *const *)m0->col_names, m0->col_class,
			   m0->col_universal);
	assert_non_null(m);
	for (size_t r = 0; r < m0->n_rows; r++) {
		bool small = r % 5 == 1;
		memcpy(x, m0->x + r * m0->n_cols, sizeof(x));
		if (small)
			x[1] = x[3] = NAN; /* user.name_length, user.friends_count */
		assert_int_equal(clf_matrix_add(m, m0->row_id[r], x, m0->label[r], m0->row_class[r],
						small ? "small/part" : "big", m0->avail[r], err,
						sizeof(err)), 0);
	}
	clf_train_opts_init(&o); /* mixed: the user_counts RBF twin */
	o.folds = 3;
	o.no_type_heads = true;
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	json_t *d = json_loadb(doc, len, 0, NULL);
	assert_non_null(d);
	json_t *lin = overall_group(d, "user_counts"), *twin = overall_group(d, "user_counts_rbf");
	assert_non_null(lin);
	assert_non_null(twin);
	assert_true(fit_count(lin, "small", "bots") > 0);
	assert_int_equal(fit_count(twin, "small", "bots") + fit_count(twin, "small", "humans"), 0);
	assert_true(fit_count(twin, "big", "bots") > 0);
	/* a masked value scores as its group's mean: name_length (user_text) */
	json_t *ut = overall_group(d, "user_text");
	size_t k, kn = 99;
	json_t *c;
	json_array_foreach(json_object_get(ut, "columns"), k, c)
		if (strcmp(json_string_value(c), "user.name_length") == 0)
			kn = k;
	assert_true(kn < 99);
	double mean = json_number_value(json_array_get(json_object_get(ut, "mean"), kn));
	struct clf_model *mdl = clf_model_parse(doc, len, NULL, 0, err, sizeof(err));
	assert_non_null(mdl);
	struct clf_score sa, sb;
	memcpy(x, m0->x, sizeof(x));
	x[1] = NAN;
	clf_score(mdl, x, CLF_AVAIL_TEXT, 0.15, &sa);
	x[1] = expm1(mean); /* slog1p(x) = mean: z = 0 */
	clf_score(mdl, x, CLF_AVAIL_TEXT, 0.15, &sb);
	assert_true(isfinite(sa.english));
	assert_true(fabs(sa.english - sb.english) < 1e-9);
	x[1] = 0; /* and not as a zero */
	clf_score(mdl, x, CLF_AVAIL_TEXT, 0.15, &sb);
	assert_true(fabs(sa.english - sb.english) > 1e-6);
	clf_model_free(mdl);
	json_decref(d);
	free(doc);

	/* balanced subsample: 120 rows, 80 bots and 40 humans; the small source
	 * has 80 bots and 40 humans of 600 rows, so a proportional subsample
	 * takes about a fifth of each class from it, a balanced one half */
	o.max_rows = 120;
	o.kernel = CLF_KERNEL_LINEAR;
	o.profile_rbf = false;
	for (int bal = 0; bal < 2; bal++) {
		o.balance_sources = bal;
		assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
		d = json_loadb(doc, len, 0, NULL);
		ut = overall_group(d, "user_text");
		json_int_t sb_ = fit_count(ut, "small", "bots"), bb = fit_count(ut, "big", "bots");
		json_int_t sh = fit_count(ut, "small", "humans"), bh = fit_count(ut, "big", "humans");
		assert_int_equal(sb_ + bb + sh + bh, 120);
		if (bal) {
			assert_int_equal(sb_, bb);
			assert_int_equal(sh, bh);
			assert_true(json_is_true(json_object_get(json_object_get(d, "params"),
								 "balance_sources")));
		} else {
			assert_true(sb_ < bb / 2 && sh < bh / 2);
			assert_null(json_object_get(json_object_get(d, "params"), "balance_sources"));
		}
		json_decref(d);
		free(doc);
	}
	clf_matrix_free(m);
	clf_matrix_free(m0);
}

/* in_support: the training rows lie inside the support (all but about 1 %
 * per group), a profile far from them does not, and an account without
 * profile evidence is unknown (-1); the score is given in every case. */
static void test_in_support(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0, inside = 0, n = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.no_type_heads = true;
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	assert_non_null(strstr(doc, "\"support_d99\""));
	struct clf_model *mdl = clf_model_parse(doc, len, NULL, 0, err, sizeof(err));
	assert_non_null(mdl);
	struct clf_score sc;
	for (size_t r = 0; r < m->n_rows; r++) {
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], 0.15, &sc);
		assert_true(sc.in_support == 0 || sc.in_support == 1);
		inside += sc.in_support == 1;
		n++;
	}
	assert_true(inside >= n * 95 / 100 && inside < n);
	double x[7];
	memcpy(x, m->x, sizeof(x));
	x[0] = x[1] = 1e6; /* a handle and a name of a million characters */
	x[2] = x[3] = 1e12;
	clf_score(mdl, x, CLF_AVAIL_ALL, 0.15, &sc);
	assert_int_equal(sc.in_support, 0);
	assert_true(isfinite(sc.english)); /* still scored */
	clf_score(mdl, m->x, CLF_AVAIL_ACTIVITY, 0.15, &sc);
	assert_int_equal(sc.in_support, -1);
	assert_true(isfinite(sc.english));
	clf_model_free(mdl);
	free(doc);
	clf_matrix_free(m);
}

static void test_scores_monotone_in_evidence(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.schema_hash = "h";
	/* linear: the score is then monotone in each column (an RBF twin need not be) */
	assert_int_equal(clf_kernel_parse("linear", &o), 0);
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	struct clf_model *mdl = clf_model_parse(doc, len, "h", 7, err, sizeof(err));
	assert_non_null(mdl);
	/* fewer followers is more bot-like in the data: the calibrated user score
	 * and the CAP must not decrease as followers fall */
	double x[7] = { 10, 12, 300, 300, 0, 2000, 0.1 }, prev = -1, prev_cap = -1;
	for (double f = 1000; f >= 1; f /= 1.5) {
		struct clf_score sc;
		x[2] = f;
		clf_score(mdl, x, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, 0.15, &sc);
		assert_true(sc.english >= prev - 1e-12);
		assert_true(sc.cap_english >= prev_cap - 0.05); /* CAP table is empirical */
		prev = sc.english;
		prev_cap = sc.cap_english;
	}
	assert_true(prev > 0.5);
	struct clf_score sc;
	clf_score(mdl, x, CLF_AVAIL_ALL, 0.15, &sc);
	struct clf_record_info info = { "42", "someone", 1617278400000LL, 17 };
	json_t *rec = clf_score_to_json(mdl, &sc, &info);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(rec, "scored_at")),
			    "2021-04-01T12:00:00Z");
	assert_true(json_is_real(json_object_get(rec, "score")));
	assert_true(json_is_real(json_object_get(json_object_get(rec, "raw_scores"), "spammer")));
	assert_true(json_is_null(json_object_get(json_object_get(rec, "categories"), "network")));
	assert_string_equal(json_string_value(json_object_get(rec, "model_version")),
			    clf_model_id(mdl));
	json_decref(rec);
	clf_model_free(mdl);
	free(doc);
	clf_matrix_free(m);
}

static void test_model_parse_rejects_truncation(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	clf_train_opts_init(&o);
	o.folds = 2;
	o.schema_hash = "h";
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	for (size_t cut = 0; cut < len; cut += len / 37 + 1)
		assert_null(clf_model_parse(doc, cut, NULL, 0, err, sizeof(err)));
	/* a column index beyond the schema's feature count is refused */
	const char *p = strstr(doc, "\"n_features\": 7");
	assert_non_null(p);
	memcpy((char *)p + 14, "3", 1);
	assert_null(clf_model_parse(doc, len, NULL, 0, err, sizeof(err)));
	free(doc);
	clf_matrix_free(m);
}

/* Explanations: exact additive decomposition for linear groups, the same
 * score as clf_score, sorted by magnitude; occlusion for RBF. */
static void check_explanation(const struct clf_model *mdl, const double *x, bool linear)
{
	struct clf_explanation e;
	struct clf_score sc;
	char err[256];
	assert_int_equal(clf_explain(mdl, x, CLF_AVAIL_ALL, NULL, &e, err, sizeof(err)), 0);
	clf_score(mdl, x, CLF_AVAIL_ALL, 0.15, &sc);
	assert_string_equal(e.stack, "english");
	assert_true(fabs(e.score - sc.english) < 1e-9);
	assert_int_equal(e.exact, linear);
	assert_true(e.n >= 4); /* text, counts, temporal and content columns */
	double sum = e.bias;
	for (size_t k = 0; k < e.n; k++) {
		assert_true(isfinite(e.c[k].contribution) && isfinite(e.c[k].scaled));
		assert_true(fabs(e.c[k].scaled) <= 5.0);
		assert_true(e.c[k].feature != 4); /* the artefact column is in no group */
		if (k)
			assert_true(fabs(e.c[k - 1].contribution) >= fabs(e.c[k].contribution));
		sum += e.c[k].contribution;
	}
	assert_true(fabs(sum - e.logit) < 1e-9); /* bias is defined as the remainder */
	for (size_t k = 0; k < e.n; k++) /* one entry per feature, twins merged */
		for (size_t j = 0; j < k; j++)
			assert_true(e.c[j].feature != e.c[k].feature);
	if (linear) { /* each contribution is weight x scaled value: zero at the mean */
		for (size_t k = 0; k < e.n; k++)
			if (e.c[k].scaled == 0)
				assert_true(e.c[k].contribution == 0);
	}
	clf_explanation_free(&e);
	clf_explanation_free(&e); /* idempotent */
	clf_explanation_free(NULL);
	assert_int_equal(clf_explain(mdl, x, CLF_AVAIL_ALL, "no-such-score", &e, err, sizeof(err)),
			 BW_ENOENT);
	assert_int_equal(clf_explain(mdl, x, 0, "universal", &e, err, sizeof(err)), 0);
	assert_int_equal(e.n, 0);
	assert_true(isnan(e.logit));
	clf_explanation_free(&e);
}

static void test_explain(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	static const char *const kernels[] = { "linear", "rbf", "mixed" };
	for (int kernel = 0; kernel < 3; kernel++) {
		struct clf_train_opts o;
		char *doc = NULL, err[512];
		size_t len = 0;
		clf_train_opts_init(&o);
		o.folds = 3;
		o.schema_hash = "h";
		assert_int_equal(clf_kernel_parse(kernels[kernel], &o), 0);
		o.max_rows = 300;
		assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
		/* only the mixed kernel adds the RBF twin of user_counts */
		assert_int_equal(strstr(doc, "\"user_counts_rbf\"") != NULL, kernel == 2);
		struct clf_model *mdl = clf_model_parse(doc, len, "h", 7, err, sizeof(err));
		assert_non_null(mdl);
		for (size_t r = 0; r < 3; r++)
			check_explanation(mdl, m->x + r * m->n_cols, kernel == 0);
		/* few followers push a linear model's score up: positive contribution */
		if (kernel == 0) {
			double x[7] = { 10, 12, 2, 300, 0, 2000, 0.1 };
			struct clf_explanation e;
			assert_int_equal(clf_explain(mdl, x, CLF_AVAIL_ALL, "user", &e, err, sizeof(err)), 0);
			bool found = false;
			for (size_t k = 0; k < e.n; k++)
				if (e.c[k].feature == 2) {
					found = true;
					assert_string_equal(e.c[k].group, "user_counts");
					assert_true(e.c[k].scaled < 0 && e.c[k].contribution > 0);
				}
			assert_true(found);
			clf_explanation_free(&e);
		}
		clf_model_free(mdl);
		free(doc);
	}
	clf_matrix_free(m);
}

/* The mixed kernel keeps the linear model's stack weights for the linear
 * groups (the twin is fitted on what they leave), in every entry of every
 * overall stack the twin takes part in. */
static void test_mixed_keeps_linear_weights(void **state)
{
	(void)state;
	struct clf_matrix *m = synth_matrix();
	struct clf_train_opts o;
	char *doc[2] = { NULL, NULL }, err[512];
	size_t len[2] = { 0, 0 };
	json_t *j[2];
	for (int k = 0; k < 2; k++) {
		clf_train_opts_init(&o);
		o.folds = 3;
		o.max_rows = 300;
		o.no_type_heads = true;
		assert_int_equal(clf_kernel_parse(k ? "mixed" : "linear", &o), 0);
		assert_int_equal(clf_train(m, &o, &doc[k], &len[k], err, sizeof(err)), 0);
		assert_non_null(j[k] = json_loadb(doc[k], len[k], 0, NULL));
	}
	size_t si, checked = 0;
	json_t *sm;
	json_array_foreach(json_object_get(j[1], "stacks"), si, sm) {
		json_t *sl = json_array_get(json_object_get(j[0], "stacks"), si), *em;
		assert_string_equal(json_string_value(json_object_get(sm, "name")),
				    json_string_value(json_object_get(sl, "name")));
		size_t ei;
		json_array_foreach(json_object_get(sm, "entries"), ei, em) {
			json_t *el = NULL, *e;
			size_t k;
			json_array_foreach(json_object_get(sl, "entries"), k, e)
				if (json_integer_value(json_object_get(e, "mask")) ==
				    json_integer_value(json_object_get(em, "mask")))
					el = e;
			assert_non_null(el);
			json_t *um = json_object_get(em, "use"), *ul = json_object_get(el, "use");
			size_t a, bb;
			json_t *u;
			json_array_foreach(um, a, u) {
				const char *g = json_string_value(u);
				if (strstr(g, "_rbf")) {
					checked++;
					continue;
				}
				for (bb = 0; bb < json_array_size(ul); bb++)
					if (strcmp(json_string_value(json_array_get(ul, bb)), g) == 0)
						break;
				assert_true(bb < json_array_size(ul));
				double wm = json_number_value(json_array_get(json_object_get(em, "w"), a));
				double wl = json_number_value(json_array_get(json_object_get(el, "w"), bb));
				assert_true(fabs(wm - wl) < 1e-12);
			}
		}
	}
	assert_true(checked >= 3); /* english, universal and user entries with counts */
	for (int k = 0; k < 2; k++) {
		json_decref(j[k]);
		free(doc[k]);
	}
	clf_matrix_free(m);
}

/* Replay output order equals the store's: digit ids numerically, first. */
static void test_id_order(void **state)
{
	(void)state;
	assert_true(clf_id_cmp("9", "10") < 0);
	assert_true(clf_id_cmp("10", "9") > 0);
	assert_true(clf_id_cmp("0042", "42") == 0);
	assert_true(clf_id_cmp("123", "124") < 0);
	assert_true(clf_id_cmp("99999999999999999999", "did:plc:abc") < 0);
	assert_true(clf_id_cmp("did:plc:b", "did:plc:a") > 0);
	assert_true(clf_id_cmp("7", "7") == 0);
}

/* The activity part of a stack entry is a log-likelihood ratio softly capped
 * to +-act_cap (act_cap * tanh(a / act_cap)); the profile part is not capped
 * (hand-checked values). */
static void test_activity_cap(void **state)
{
	(void)state;
	int ga = -1, gp = -1;
	for (int g = 0; g < CLF_N_GROUPS; g++) {
		if (clf_group_is_activity(g) && ga < 0)
			ga = g;
		if (!clf_group_is_activity(g) && gp < 0)
			gp = g;
	}
	assert_true(ga >= 0 && gp >= 0);
	struct clf_mentry e = { .nuse = 2, .use = { gp, ga }, .w = { 2.0, 3.0 }, .b = -1.0,
				.act_b = 0.5, .act_cap = 2.0 };
	double dec[2] = { 1.0, 0.1 }, scale;
	/* profile -1 + 2 = 1; activity 0.5 + 0.3 = 0.8: 2 tanh(0.4) = 0.7599 */
	assert_true(fabs(clf_entry_logit(&e, dec, false, &scale) - (1 + 2 * tanh(0.4))) < 1e-12);
	assert_true(fabs(scale - 2 * tanh(0.4) / 0.8) < 1e-12);
	assert_true(scale < 1 && scale > 0.94);
	dec[1] = 10; /* activity 30.5: capped to 2 (to 1e-12) */
	assert_true(fabs(clf_entry_logit(&e, dec, false, &scale) - 3.0) < 1e-12);
	assert_true(fabs(scale - 2.0 / 30.5) < 1e-12);
	/* near the cap the order is kept: 6.5 scores below 30.5 */
	dec[1] = 2; /* activity 6.5: 2 tanh(3.25) = 1.9970 */
	double f65 = clf_entry_logit(&e, dec, false, NULL);
	assert_true(fabs(f65 - (1 + 2 * tanh(3.25))) < 1e-12);
	assert_true(f65 < 3.0 && f65 > 2.99);
	dec[1] = -10; /* -29.5: capped to -2 */
	assert_true(fabs(clf_entry_logit(&e, dec, false, NULL) - (-1.0)) < 1e-12);
	dec[0] = 100; /* the profile part is never capped */
	assert_true(fabs(clf_entry_logit(&e, dec, false, NULL) - 197.0) < 1e-12);
	e.act_cap = INFINITY; /* older models: no cap, no offset */
	e.act_b = 0;
	assert_true(fabs(clf_entry_logit(&e, dec, false, NULL) - 169.0) < 1e-12);
	e.decl_w = 1.5; /* a declaring account: + decl_w, outside the cap */
	assert_true(fabs(clf_entry_logit(&e, dec, true, NULL) - 170.5) < 1e-12);
	assert_true(fabs(clf_entry_logit(&e, dec, false, NULL) - 169.0) < 1e-12);
}

/* synth_matrix() with row r's dataset name(r). */
static struct clf_matrix *synth_with_sources(const char *(*name)(size_t r))
{
	struct clf_matrix *m0 = synth_matrix(), *m;
	char err[256];
	m = clf_matrix_new(m0->n_cols, (const char *const *)m0->col_names, m0->col_class,
			   m0->col_universal);
	assert_non_null(m);
	for (size_t r = 0; r < m0->n_rows; r++)
		assert_int_equal(clf_matrix_add(m, m0->row_id[r], m0->x + r * m0->n_cols, m0->label[r],
						m0->row_class[r], name(r), m0->avail[r], err,
						sizeof(err)), 0);
	clf_matrix_free(m0);
	return m;
}

static const char *all_simulated(size_t r)
{
	(void)r;
	return "simulated";
}

static const char *half_real(size_t r)
{
	return r % 2 ? "simulated" : "real/part";
}

static const char *six_sources(size_t r)
{
	static const char *const s[] = { "a", "b/x", "c", "d", "e", "f/y" };
	return s[(r / 7) % 6]; /* both classes in each */
}

static const char *one_sided(size_t r)
{
	static const char *const s[] = { "h1", "b1", "b2", "h2", "b3", "b4" };
	return s[r % 6];
}

/* The act_cap of every stack entry with activity groups, in [lo, hi]. */
static void assert_act_caps(const char *doc, size_t len, double lo, double hi)
{
	json_t *d = json_loadb(doc, len, 0, NULL), *st, *e;
	size_t i, j, n = 0;
	assert_non_null(d);
	json_array_foreach(json_object_get(d, "stacks"), i, st) {
		json_array_foreach(json_object_get(st, "entries"), j, e) {
			json_t *cap = json_object_get(e, "act_cap");
			if (!cap)
				continue;
			double v = json_number_value(cap);
			if (v < lo - 1e-12 || v > hi + 1e-12)
				fail_msg("act_cap %g outside [%g, %g]", v, lo, hi);
			n++;
		}
	}
	assert_true(n > 0);
	json_decref(d);
}

/* The activity cap is earned on real labelled timelines: with only
 * simulated rows having posts it stays ln 10; with real ones it is the
 * candidate Bayes factor their labels support, here (activity that
 * separates the synthetic classes well) more than 10 (docs/MODEL.md,
 * "Activity evidence that counts"). */
static void test_activity_cap_earned(void **state)
{
	(void)state;
	struct clf_train_opts o;
	char *doc = NULL, err[512];
	size_t len = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.no_type_heads = true;
	struct clf_matrix *m = synth_with_sources(all_simulated);
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	assert_act_caps(doc, len, log(10), log(10));
	free(doc);
	clf_matrix_free(m);
	m = synth_with_sources(half_real);
	assert_int_equal(clf_train(m, &o, &doc, &len, err, sizeof(err)), 0);
	assert_act_caps(doc, len, log(30), log(1000));
	free(doc);
	clf_matrix_free(m);
}

/* --folds-by source: folds hold out whole sources; the choice is recorded,
 * the bytes are reproducible and the model still ranks its training rows. */
static void test_source_folds(void **state)
{
	(void)state;
	struct clf_train_opts o;
	char *a = NULL, *b = NULL, err[512];
	size_t alen = 0, blen = 0;
	clf_train_opts_init(&o);
	o.folds = 3;
	o.no_type_heads = true;
	o.source_folds = true;
	struct clf_matrix *m = synth_with_sources(six_sources);
	assert_int_equal(clf_train(m, &o, &a, &alen, err, sizeof(err)), 0);
	assert_int_equal(clf_train(m, &o, &b, &blen, err, sizeof(err)), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	json_t *d = json_loadb(a, alen, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "params"),
								"folds_by")), "source");
	json_decref(d);
	struct clf_model *mdl = clf_model_parse(a, alen, NULL, 0, err, sizeof(err));
	assert_non_null(mdl);
	double *p = malloc(m->n_rows * sizeof(double));
	struct clf_score sc;
	for (size_t r = 0; r < m->n_rows; r++) {
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], 0.15, &sc);
		p[r] = sc.english;
	}
	assert_true(clf_auc(p, m->label, m->n_rows) > 0.9);
	clf_model_free(mdl);
	/* one-sided sources (two of humans, four of bots): trains and loads */
	struct clf_matrix *sided = synth_with_sources(one_sided);
	char *e = NULL;
	size_t elen = 0;
	assert_int_equal(clf_train(sided, &o, &e, &elen, err, sizeof(err)), 0);
	mdl = clf_model_parse(e, elen, NULL, 0, err, sizeof(err));
	assert_non_null(mdl);
	free(e);
	clf_matrix_free(sided);
	/* fewer sources than folds: stratified folds, as without the option */
	char *c = NULL, *s = NULL;
	size_t clen = 0, slen = 0;
	struct clf_matrix *one = synth_with_sources(all_simulated);
	assert_int_equal(clf_train(one, &o, &c, &clen, err, sizeof(err)), 0);
	o.source_folds = false;
	assert_int_equal(clf_train(one, &o, &s, &slen, err, sizeof(err)), 0);
	json_t *dc = json_loadb(c, clen, 0, NULL), *ds = json_loadb(s, slen, 0, NULL);
	assert_true(json_equal(json_object_get(dc, "stacks"), json_object_get(ds, "stacks")));
	json_decref(dc);
	json_decref(ds);
	free(c);
	free(s);
	clf_matrix_free(one);
	free(p);
	clf_model_free(mdl);
	free(a);
	free(b);
	clf_matrix_free(m);
}

/* Declaring automation reads the handle, name and bio word counts and the
 * platform bot flag; nothing else. */
static void test_declares(void **state)
{
	(void)state;
	double *x = calloc(feat_count(), sizeof(double));
	long first = 0;
	assert_non_null(x);
	assert_false(clf_declares(x, feat_count(), &first));
	assert_int_equal(first, -1);
	x[feat_index("user.description_credits_maker")] = 1;
	assert_false(clf_declares(x, feat_count(), NULL));
	x[feat_index("user.description_schedule")] = 1; /* "a new map every 3 hours" */
	assert_true(clf_declares(x, feat_count(), &first));
	assert_int_equal(first, feat_index("user.description_schedule"));
	x[feat_index("user.description_schedule")] = 0;
	x[feat_index("user.description_bot_words")] = 2;
	assert_true(clf_declares(x, feat_count(), &first));
	assert_int_equal(first, feat_index("user.description_bot_words"));
	x[feat_index("user.screen_name_bot_words")] = 1;
	assert_true(clf_declares(x, feat_count(), &first));
	assert_int_equal(first, feat_index("user.screen_name_bot_words"));
	memset(x, 0, feat_count() * sizeof(double));
	x[feat_index("user.self_declared_bot")] = 1;
	assert_true(clf_declares(x, feat_count(), NULL));
	assert_false(clf_declares(x, (size_t)feat_index("user.self_declared_bot"), NULL)); /* narrower row */
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auc_hand_checked),
		cmocka_unit_test(test_declares),
		cmocka_unit_test(test_folds_stratified_deterministic),
		cmocka_unit_test(test_platt_monotone),
		cmocka_unit_test(test_logreg_offset),
		cmocka_unit_test(test_mixed_keeps_linear_weights),
		cmocka_unit_test(test_predict_equals_libsvm),
		cmocka_unit_test(test_svm_parse_rejects_garbage),
		cmocka_unit_test(test_train_deterministic_and_schema),
		cmocka_unit_test(test_fit_rows_and_no_type_heads),
		cmocka_unit_test(test_masked_and_balanced_sources),
		cmocka_unit_test(test_in_support),
		cmocka_unit_test(test_scores_monotone_in_evidence),
		cmocka_unit_test(test_model_parse_rejects_truncation),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_activity_cap),
		cmocka_unit_test(test_activity_cap_earned),
		cmocka_unit_test(test_source_folds),
		cmocka_unit_test(test_id_order),
	};
	return cmocka_run_group_tests_name("clf", tests, NULL, NULL);
}
