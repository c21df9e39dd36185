/*
 * cmd_eval.c — `botwatch eval`: score labelled archives with a model and
 * print one JSON object of figures (overall, per bot class, per dataset,
 * per status, coverage); optionally retrain leaving each dataset or each
 * bot class out, and write an HTML/SVG report.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "clf_report.h"
#include "commands.h"
#include "feat.h"

#define MAX_FILES 256

static void eval_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch eval [--model M] --posts FILE... --labels CSV... [--report DIR]\n"
		"                     [--leave-dataset-out] [--leave-class-out] [--probe-time T]\n"
		"                     [--threshold P] [--kernel linear|rbf|mixed] [--folds K]\n"
		"                     [--folds-by class|stratified] [--seed S]\n\n"
		"  --model M            model file (default: config score.model)\n"
		"  --report DIR         also write roc.svg, pr.svg, calibration.svg, index.html\n"
		"  --leave-dataset-out  retrain without each dataset and test on it\n"
		"  --leave-class-out    retrain without each bot class; test it against a\n"
		"                       held-out fifth of the humans\n"
		"  --threshold P        score threshold for precision/recall/F1 (default 0.5)\n"
		"  --kernel, --folds, --folds-by, --seed  training options for the leave-out runs\n"
		"                       (see botwatch train --help)\n");
}

/* Parsed command line. */
struct eval_args {
	char *posts[MAX_FILES];  /* archives */
	size_t nposts;
	char *labels[MAX_FILES]; /* labels files */
	size_t nlabels;
	const char *model;       /* model path */
	const char *report;      /* report directory or NULL */
	bool lodo, loco;         /* leave-dataset-out, leave-class-out */
	double threshold;        /* decision threshold */
	int64_t probe_ms;        /* --probe-time */
	struct clf_train_opts o; /* leave-out training options */
};

static int eval_parse(int argc, char **argv, struct eval_args *a)
{
	for (int i = 1; i < argc;) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *e;
		int rc;
		if (strcmp(opt, "--posts") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->posts, &a->nposts, MAX_FILES);
			continue;
		}
		if (strcmp(opt, "--labels") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->labels, &a->nlabels, MAX_FILES);
			continue;
		}
		if (strcmp(opt, "--leave-dataset-out") == 0 || strcmp(opt, "--leave-class-out") == 0) {
			opt[8] == 'd' ? (a->lodo = true) : (a->loco = true);
			i++;
			continue;
		}
		i += 2;
		if (!v) {
			fprintf(stderr, "botwatch eval: %s needs a value\n", opt);
			return 2;
		}
		errno = 0;
		if (strcmp(opt, "--model") == 0) {
			a->model = v;
		} else if (strcmp(opt, "--report") == 0) {
			a->report = v;
		} else if (strcmp(opt, "--threshold") == 0) {
			a->threshold = strtod(v, &e);
			if (*e || errno || !(a->threshold >= 0 && a->threshold <= 1)) {
				fprintf(stderr, "botwatch eval: --threshold must be in [0, 1]\n");
				return 2;
			}
		} else if ((rc = clf_cmd_train_opt("eval", opt, v, &a->o)) <= 0) {
			if (rc < 0)
				return 2;
		} else if (strcmp(opt, "--probe-time") == 0) {
			if (clf_cmd_parse_time(v, &a->probe_ms)) {
				fprintf(stderr, "botwatch eval: --probe-time: '%s' is not a time\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "botwatch eval: unknown option '%s'\n", opt);
			return 2;
		}
	}
	if (!a->nposts || !a->nlabels) {
		fprintf(stderr, "botwatch eval: --posts and --labels are required\n");
		return 2;
	}
	return 0;
}

/* Rows of m for which keep(m, r, arg) holds, as a new matrix. */
static struct clf_matrix *subset(const struct clf_matrix *m,
				 bool (*keep)(const struct clf_matrix *, size_t, const void *),
				 const void *arg)
{
	struct clf_matrix *s = clf_matrix_new(m->n_cols, (const char *const *)m->col_names,
					      m->col_class, m->col_universal);
	for (size_t r = 0; s && r < m->n_rows; r++) {
		if (!keep(m, r, arg))
			continue;
		if (clf_matrix_add(s, m->row_id[r], m->x + r * m->n_cols, m->label[r],
				   m->row_class[r], m->row_dataset[r], m->avail[r], NULL, 0)) {
			clf_matrix_free(s);
			return NULL;
		}
	}
	return s;
}

/* Score every row with mdl: english probabilities (NaN when not computable). */
static void score_rows(const struct clf_model *mdl, const struct clf_matrix *m, double prior,
		       double *p, int *status)
{
	for (size_t r = 0; r < m->n_rows; r++) {
		struct clf_score sc;
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], prior, &sc);
		p[r] = sc.english;
		if (status)
			status[r] = (int)sc.status;
	}
}

/* Metrics over rows where sel(r) holds and the score is numeric. */
static json_t *metrics_where(const struct clf_matrix *m, const double *p, double thr,
			     bool (*sel)(const struct clf_matrix *, size_t, const void *),
			     const void *arg)
{
	double *pp = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double));
	int *yy = malloc((m->n_rows ? m->n_rows : 1) * sizeof(int));
	size_t n = 0, unscored = 0;
	json_t *o = NULL;
	if (pp && yy) {
		for (size_t r = 0; r < m->n_rows; r++) {
			if (sel && !sel(m, r, arg))
				continue;
			if (!isfinite(p[r])) {
				unscored++;
				continue;
			}
			pp[n] = p[r];
			yy[n++] = m->label[r];
		}
		o = clf_report_metrics(pp, yy, n, thr);
		json_object_set_new(o, "unscored", json_integer((json_int_t)unscored));
	}
	free(pp);
	free(yy);
	return o;
}

static bool sel_class(const struct clf_matrix *m, size_t r, const void *arg)
{
	return m->label[r] == 0 || strcmp(m->row_class[r], arg) == 0;
}

static bool sel_dataset(const struct clf_matrix *m, size_t r, const void *arg)
{
	return strcmp(m->row_dataset[r], arg) == 0;
}

static bool not_dataset(const struct clf_matrix *m, size_t r, const void *arg)
{
	return !sel_dataset(m, r, arg);
}

/* Distinct values of a per-row string column (bots only when bots_only). */
static size_t distinct(const struct clf_matrix *m, char **col, bool bots_only, const char **out,
		       size_t cap)
{
	size_t n = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (bots_only && !m->label[r])
			continue;
		bool have = false;
		for (size_t k = 0; k < n && !have; k++)
			have = strcmp(out[k], col[r]) == 0;
		if (!have && n < cap)
			out[n++] = col[r];
	}
	return n;
}

/* Train on `train`, score `test`; returns metrics or NULL with err set. */
static json_t *train_and_test(const struct clf_matrix *train, const struct clf_matrix *test,
			      const struct clf_train_opts *o, double thr, char *err, size_t errlen)
{
	char *doc = NULL;
	size_t len = 0;
	json_t *res = NULL;
	if (clf_train(train, o, &doc, &len, err, errlen))
		return NULL;
	struct clf_model *mdl = clf_model_parse(doc, len, NULL, 0, err, errlen);
	double *p = malloc((test->n_rows ? test->n_rows : 1) * sizeof(double));
	if (mdl && p) {
		score_rows(mdl, test, 0.15, p, NULL);
		res = metrics_where(test, p, thr, NULL, NULL);
		json_object_set_new(res, "train_rows", json_integer((json_int_t)train->n_rows));
	}
	free(p);
	clf_model_free(mdl);
	free(doc);
	return res;
}

/* A fifth of the humans, chosen by id hash, is held out in leave-class-out. */
static bool held_human(const struct clf_matrix *m, size_t r)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = m->row_id[r]; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return m->label[r] == 0 && h % 5 == 0;
}

static bool loco_train(const struct clf_matrix *m, size_t r, const void *arg)
{
	return m->label[r] ? strcmp(m->row_class[r], arg) != 0 : !held_human(m, r);
}

static bool loco_test(const struct clf_matrix *m, size_t r, const void *arg)
{
	return m->label[r] ? strcmp(m->row_class[r], arg) == 0 : held_human(m, r);
}

static json_t *leave_out(const struct clf_matrix *m, const struct eval_args *a, bool by_class)
{
	const char *vals[256];
	size_t nv = distinct(m, by_class ? m->row_class : m->row_dataset, by_class, vals, 256);
	json_t *o = json_object();
	char err[512];
	for (size_t k = 0; k < nv; k++) {
		struct clf_matrix *tr = subset(m, by_class ? loco_train : not_dataset, vals[k]);
		struct clf_matrix *te = subset(m, by_class ? loco_test : sel_dataset, vals[k]);
		json_t *res = tr && te ? train_and_test(tr, te, &a->o, a->threshold, err, sizeof(err))
				       : NULL;
		if (!res)
			res = json_pack("{s:s}", "error", tr && te ? err : "out of memory");
		fprintf(stderr, "botwatch eval: left out %s %s\n", by_class ? "class" : "dataset",
			vals[k]);
		json_object_set_new(o, vals[k], res);
		clf_matrix_free(tr);
		clf_matrix_free(te);
	}
	return o;
}

/* The figures for the loaded model over matrix m. */
static json_t *eval_model(const struct clf_model *mdl, const struct clf_matrix *m,
			  const struct eval_args *a, double prior, size_t labelled, double *p)
{
	int *status = malloc((m->n_rows ? m->n_rows : 1) * sizeof(int));
	const char *vals[256];
	json_t *o, *by = json_object(), *bd = json_object(), *bs = json_object();
	size_t scored = 0, st_count[4] = { 0 };
	if (!status)
		return NULL;
	score_rows(mdl, m, prior, p, status);
	o = metrics_where(m, p, a->threshold, NULL, NULL);
	for (size_t r = 0; r < m->n_rows; r++) {
		scored += isfinite(p[r]) != 0;
		st_count[status[r]]++;
	}
	size_t nv = distinct(m, m->row_class, true, vals, 256);
	for (size_t k = 0; k < nv; k++)
		json_object_set_new(by, vals[k], metrics_where(m, p, a->threshold, sel_class, vals[k]));
	nv = distinct(m, m->row_dataset, false, vals, 256);
	for (size_t k = 0; k < nv; k++)
		json_object_set_new(bd, vals[k], metrics_where(m, p, a->threshold, sel_dataset, vals[k]));
	for (int s = 0; s < 4; s++)
		if (st_count[s])
			json_object_set_new(bs, clf_status_name((enum clf_status)s),
					    json_integer((json_int_t)st_count[s]));
	json_object_set_new(o, "model_version", json_string(clf_model_id(mdl)));
	json_object_set_new(o, "threshold", json_real(a->threshold));
	json_object_set_new(o, "coverage", json_pack("{s:I, s:I, s:f}", "labelled",
						     (json_int_t)labelled, "scored", (json_int_t)scored,
						     "share", labelled ? (double)scored / (double)labelled : 0.0));
	json_object_set_new(o, "by_class", by);
	json_object_set_new(o, "by_dataset", bd);
	json_object_set_new(o, "by_status", bs);
	free(status);
	return o;
}

int cmd_eval(int argc, char **argv)
{
	struct bw_config *cfg = NULL;
	struct eval_args a = { .threshold = 0.5, .probe_ms = BW_TIME_NONE };
	struct clf_labels lb;
	struct clf_corpus *corpus = NULL;
	struct clf_matrix *m = NULL;
	struct clf_model *mdl = NULL;
	double *p = NULL;
	char err[1024], summary[512];
	size_t missing = 0;
	int ret = 1;

	int begun = cfg_cli_begin("eval", eval_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	clf_labels_init(&lb);
	clf_train_opts_init(&a.o);
	if (eval_parse(argc, argv, &a)) {
		eval_usage(stderr);
		ret = 2;
		goto out_free;
	}
	if (cfg_resolve_model(cfg, a.model, err, sizeof(err)) ||
	    !(mdl = clf_model_load(cfg->score_model, feat_schema_hash(), feat_count(), err,
				   sizeof(err)))) {
		fprintf(stderr, "botwatch eval: %s\n", err);
		goto out_free;
	}
	if (clf_cmd_load_labelled(cfg, a.posts, a.nposts, a.labels, a.nlabels, a.probe_ms, &lb,
				  &corpus, &m, &missing, err, sizeof(err))) {
		fprintf(stderr, "botwatch eval: %s\n", err);
		goto out_free;
	}
	if (!(p = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double)))) {
		fprintf(stderr, "botwatch eval: out of memory\n");
		goto out_free;
	}
	clf_corpus_summary(corpus, summary, sizeof(summary));
	fprintf(stderr, "botwatch eval: %s; %zu labelled accounts not in the input\n", summary, missing);
	json_t *o = eval_model(mdl, m, &a, cfg->score_cap_prior, lb.n, p);
	if (a.lodo)
		json_object_set_new(o, "leave_dataset_out", leave_out(m, &a, false));
	if (a.loco)
		json_object_set_new(o, "leave_class_out", leave_out(m, &a, true));
	if (a.report) {
		int *y = malloc((m->n_rows ? m->n_rows : 1) * sizeof(int));
		double *pp = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double));
		size_t n = 0;
		for (size_t r = 0; y && pp && r < m->n_rows; r++)
			if (isfinite(p[r])) {
				pp[n] = p[r];
				y[n++] = m->label[r];
			}
		mkdir(a.report, 0755);
		int rc = y && pp ? clf_report_write(a.report, pp, y, n, o, err, sizeof(err)) : BW_ENOMEM;
		free(y);
		free(pp);
		if (rc) {
			fprintf(stderr, "botwatch eval: %s\n", err);
			json_decref(o);
			goto out_free;
		}
	}
	char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (line)
		printf("%s\n", line);
	free(line);
	ret = line ? 0 : 1;
out_free:
	free(p);
	clf_model_free(mdl);
	clf_matrix_free(m);
	clf_corpus_free(corpus);
	clf_labels_free(&lb);
	cfg_free(cfg);
	return ret;
}
