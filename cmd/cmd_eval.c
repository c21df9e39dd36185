/*
 * cmd_eval.c — `botwatch eval`: score labelled archives with a model and
 * print one JSON object of figures (overall, per bot class, per dataset,
 * per status, coverage); optionally retrain leaving each dataset, each bot
 * class or each source out, and write an HTML/SVG report.
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
#include "cmd_progress.h"
#include "clf_report.h"
#include "commands.h"
#include "feat.h"

#define MAX_FILES 256
#define MAX_SOURCES 64

static void eval_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch eval [--model M] --posts FILE... --labels CSV... [--report DIR]\n"
		"                     [--leave-dataset-out] [--leave-class-out] [--probe-time T]\n"
		"                     [--leave-source-out [--train-only SOURCE...]\n"
		"                      [--hold-out SOURCE...]]\n"
		"                     [--threshold P] [--kernel linear|rbf|mixed] [--folds K]\n"
		"                     [--folds-by class|source|stratified] [--seed S] [--no-type-heads]\n"
		"                     [--balance-sources on|off]\n\n"
		"  --model M            model file (default: config score.model)\n"
		"  --report DIR         also write the report: score_hist.svg, roc.svg, pr.svg,\n"
		"                       roc_by_class.svg, pr_by_class.svg, calibration.svg,\n"
		"                       confusion.svg and index.html (metrics and fairness tables);\n"
		"                       the JSON gains \"fairness\" (by language, platform, age)\n"
		"  --leave-dataset-out  retrain without each dataset and test on it\n"
		"  --leave-class-out    retrain without each bot class; test it against a\n"
		"                       held-out fifth of the humans\n"
		"  --leave-source-out   retrain without each source (dataset up to its first\n"
		"                       '/') and test on it; a one-sided source is paired with\n"
		"                       the other class drawn from the remaining sources,\n"
		"                       masked to the held-out source's fields and evidence;\n"
		"                       a table (AUC, balanced accuracy, ECE) goes to stderr\n"
		"  --train-only SOURCE  never held out nor paired (e.g. simulated)\n"
		"  --hold-out SOURCE    hold out only these sources (default: every one)\n"
		"  --no-type-heads      leave-out runs train the overall head only\n"
		"  --threshold P        score threshold for precision/recall/F1 (default 0.5)\n"
		"  --kernel, --folds, --folds-by, --seed, --balance-sources  training options for\n"
		"                       the leave-out runs\n"
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
	bool lodo, loco, loso;   /* leave-dataset-, class-, source-out */
	char *train_only[MAX_SOURCES]; /* sources never held out nor paired */
	size_t ntrain_only;
	char *hold_out[MAX_SOURCES]; /* sources held out (none listed = every one) */
	size_t nhold_out;
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
		if (strcmp(opt, "--train-only") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->train_only, &a->ntrain_only,
					      MAX_SOURCES);
			continue;
		}
		if (strcmp(opt, "--hold-out") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->hold_out, &a->nhold_out,
					      MAX_SOURCES);
			continue;
		}
		if (strcmp(opt, "--leave-dataset-out") == 0 || strcmp(opt, "--leave-class-out") == 0 ||
		    strcmp(opt, "--leave-source-out") == 0) {
			opt[8] == 'd' ? (a->lodo = true) : opt[8] == 'c' ? (a->loco = true)
									 : (a->loso = true);
			i++;
			continue;
		}
		if (strcmp(opt, "--no-type-heads") == 0) {
			a->o.no_type_heads = true;
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

/* Score every row with mdl: english probabilities (NaN when not computable),
 * statuses and in_support (-1, 0, 1) when asked for. */
static void score_rows_support(const struct clf_model *mdl, const struct clf_matrix *m,
			       double prior, double *p, int *status, int *support)
{
	for (size_t r = 0; r < m->n_rows; r++) {
		struct clf_score sc;
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], prior, &sc);
		p[r] = sc.english;
		if (status)
			status[r] = (int)sc.status;
		if (support)
			support[r] = sc.in_support;
	}
}

static void score_rows(const struct clf_model *mdl, const struct clf_matrix *m, double prior,
		       double *p, int *status)
{
	score_rows_support(mdl, m, prior, p, status, NULL);
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

/* A fifth of the accounts, chosen by id hash. */
static bool id_fifth(const struct clf_matrix *m, size_t r)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = m->row_id[r]; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h % 5 == 0;
}

/* That fifth of the humans is held out in leave-class-out. */
static bool held_human(const struct clf_matrix *m, size_t r)
{
	return m->label[r] == 0 && id_fifth(m, r);
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

/* ---- leave one source out ---------------------------------------------------- */

/* Source of row r: its dataset up to the first '/' ("tweepfake/dril" is
 * tweepfake), into buf. */
static const char *row_source(const struct clf_matrix *m, size_t r, char *buf, size_t len)
{
	const char *ds = m->row_dataset[r];
	size_t n = strcspn(ds, "/");
	snprintf(buf, len, "%.*s", (int)(n < len - 1 ? n : len - 1), ds);
	return buf;
}

static bool is_train_only(const struct eval_args *a, const char *src)
{
	for (size_t k = 0; k < a->ntrain_only; k++)
		if (strcmp(a->train_only[k], src) == 0)
			return true;
	return false;
}

/* Is src to be held out (--hold-out, default every source)? */
static bool is_held_out(const struct eval_args *a, const char *src)
{
	for (size_t k = 0; k < a->nhold_out; k++)
		if (strcmp(a->hold_out[k], src) == 0)
			return true;
	return a->nhold_out == 0;
}

/* Paired rows of the other class: per remaining source, the rows whose id
 * hash is 0 mod 5 (as leave-class-out's held-out humans), at most this many
 * per source, so that no one source's kind dominates the pairing. */
#define PAIR_PER_SOURCE 500

/* Role of a row when one source is held out. */
enum loso_role { LOSO_TRAIN = 0, LOSO_TEST, LOSO_PAIRED };

/* Roles for holding out `src`; returns whether the source was paired (it
 * lacks a class). *evid is the union of the source's evidence; masked[j]
 * whether column j is masked (NaN) in every row of the source. */
static bool loso_roles(const struct clf_matrix *m, const struct eval_args *a, const char *src,
		       unsigned char *role, uint32_t *evid, bool *masked)
{
	char b[128], seen[MAX_SOURCES][128];
	size_t cls[2] = { 0 }, taken[MAX_SOURCES] = { 0 }, ns = 0;
	*evid = 0;
	for (size_t j = 0; j < m->n_cols; j++)
		masked[j] = true;
	for (size_t r = 0; r < m->n_rows; r++) {
		role[r] = LOSO_TRAIN;
		if (strcmp(row_source(m, r, b, sizeof(b)), src) != 0)
			continue;
		role[r] = LOSO_TEST;
		cls[m->label[r]]++;
		*evid |= m->avail[r];
		for (size_t j = 0; j < m->n_cols; j++)
			masked[j] = masked[j] && isnan(m->x[r * m->n_cols + j]);
	}
	if (cls[0] >= 10 && cls[1] >= 10) /* two-sided: tested alone */
		return false;
	int want = cls[1] ? 0 : 1; /* the class the source lacks */
	for (size_t r = 0; r < m->n_rows; r++) {
		row_source(m, r, b, sizeof(b));
		if (role[r] != LOSO_TRAIN || m->label[r] != want || is_train_only(a, b) ||
		    !id_fifth(m, r) || !(m->avail[r] & *evid))
			continue;
		size_t k = 0;
		while (k < ns && strcmp(seen[k], b) != 0)
			k++;
		if (k == ns) {
			if (ns == MAX_SOURCES)
				continue;
			snprintf(seen[ns++], sizeof(seen[0]), "%s", b);
		}
		if (taken[k] < PAIR_PER_SOURCE) {
			taken[k]++;
			role[r] = LOSO_PAIRED;
		}
	}
	return true;
}

/* The training rows and the test rows (paired rows masked to the held-out
 * source's evidence and columns) of one held-out source. */
static int loso_split(const struct clf_matrix *m, const unsigned char *role, uint32_t evid,
		      const bool *masked, struct clf_matrix **tr, struct clf_matrix **te)
{
	double *x = malloc((m->n_cols ? m->n_cols : 1) * sizeof(double));
	*tr = clf_matrix_new(m->n_cols, (const char *const *)m->col_names, m->col_class,
			     m->col_universal);
	*te = clf_matrix_new(m->n_cols, (const char *const *)m->col_names, m->col_class,
			     m->col_universal);
	if (!x || !*tr || !*te) {
		free(x);
		return BW_ENOMEM;
	}
	int rc = 0;
	for (size_t r = 0; r < m->n_rows && !rc; r++) {
		const double *row = m->x + r * m->n_cols;
		uint32_t av = m->avail[r];
		if (role[r] == LOSO_PAIRED) {
			for (size_t j = 0; j < m->n_cols; j++)
				x[j] = masked[j] ? NAN : row[j];
			row = x;
			av &= evid;
		}
		rc = clf_matrix_add(role[r] == LOSO_TRAIN ? *tr : *te, m->row_id[r], row, m->label[r],
				    m->row_class[r], m->row_dataset[r], av, NULL, 0);
	}
	free(x);
	return rc;
}

/* Expected calibration error over 10 equal-width bins of p. */
static double ece10(const double *p, const int *y, size_t n)
{
	double cnt[10] = { 0 }, sp[10] = { 0 }, sy[10] = { 0 }, e = 0;
	for (size_t i = 0; i < n; i++) {
		int k = (int)(p[i] * 10);
		k = k < 0 ? 0 : k > 9 ? 9 : k;
		cnt[k]++;
		sp[k] += p[i];
		sy[k] += y[i];
	}
	for (int k = 0; k < 10; k++)
		if (cnt[k])
			e += fabs(sp[k] - sy[k]) / (double)n;
	return n ? e : NAN;
}

/* AUC, balanced accuracy at thr and ECE of p over the test rows with a
 * numeric score, into o under the keys prefix + "auc", ... */
static void loso_metrics(const struct clf_matrix *te, const double *p, double thr,
			 const char *prefix, json_t *o, double *auc_out)
{
	double *pp = malloc((te->n_rows ? te->n_rows : 1) * sizeof(double));
	int *yy = malloc((te->n_rows ? te->n_rows : 1) * sizeof(int));
	size_t n = 0, tp = 0, tn = 0, np = 0;
	char key[64];
	*auc_out = NAN;
	if (!pp || !yy)
		goto out_free;
	for (size_t r = 0; r < te->n_rows; r++) {
		if (!isfinite(p[r]))
			continue;
		pp[n] = p[r];
		yy[n] = te->label[r];
		np += (size_t)yy[n];
		tp += yy[n] && pp[n] >= thr;
		tn += !yy[n] && pp[n] < thr;
		n++;
	}
	*auc_out = np && np < n ? clf_auc(pp, yy, n) : NAN;
	double bacc = np && np < n ? 0.5 * ((double)tp / (double)np + (double)tn / (double)(n - np))
				   : NAN;
	snprintf(key, sizeof(key), "%sauc", prefix);
	json_object_set_new(o, key, isfinite(*auc_out) ? json_real(*auc_out) : json_null());
	snprintf(key, sizeof(key), "%sbalanced_accuracy", prefix);
	json_object_set_new(o, key, isfinite(bacc) ? json_real(bacc) : json_null());
	snprintf(key, sizeof(key), "%sece", prefix);
	json_object_set_new(o, key, n ? json_real(ece10(pp, yy, n)) : json_null());
	snprintf(key, sizeof(key), "%sscored", prefix);
	json_object_set_new(o, key, json_integer((json_int_t)n));
out_free:
	free(pp);
	free(yy);
}

/* Hold out one source: train on the rest, score its test rows with the new
 * model and with the loaded one (`base`). NULL with err set on failure. */
static json_t *loso_one(const struct clf_model *base, const struct clf_matrix *m,
			const struct eval_args *a, const char *src, unsigned char *role,
			bool *masked, double *auc, char *err, size_t errlen)
{
	struct clf_matrix *tr = NULL, *te = NULL;
	struct clf_model *mdl = NULL;
	char *doc = NULL;
	size_t len = 0, n_src = 0, n_pair = 0;
	uint32_t evid;
	json_t *res = NULL;
	double *p = NULL, base_auc;
	int *sup = NULL;
	char b[128];
	bool paired = loso_roles(m, a, src, role, &evid, masked);
	if (loso_split(m, role, evid, masked, &tr, &te)) {
		bw_seterr(err, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t r = 0; r < m->n_rows; r++) {
		n_src += role[r] == LOSO_TEST;
		n_pair += role[r] == LOSO_PAIRED;
	}
	if (clf_train(tr, &a->o, &doc, &len, err, errlen) ||
	    !(mdl = clf_model_parse(doc, len, NULL, 0, err, errlen)))
		goto out_free;
	p = malloc((te->n_rows ? te->n_rows : 1) * sizeof(double));
	sup = malloc((te->n_rows ? te->n_rows : 1) * sizeof(int));
	if (!p || !sup) {
		bw_seterr(err, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	res = json_object();
	json_object_set_new(res, "n", json_integer((json_int_t)n_src));
	json_object_set_new(res, "paired", json_integer((json_int_t)n_pair));
	json_object_set_new(res, "one_sided", json_boolean(paired));
	json_object_set_new(res, "train_rows", json_integer((json_int_t)tr->n_rows));
	score_rows_support(mdl, te, 0.15, p, NULL, sup);
	loso_metrics(te, p, a->threshold, "", res, auc);
	/* share of the held-out source's rows the new model flags as inside its
	 * training support, among those it can tell (profile evidence) */
	size_t nin = 0, nsrc = 0;
	for (size_t r = 0; r < te->n_rows; r++) {
		bool own = strcmp(row_source(te, r, b, sizeof(b)), src) == 0;
		nsrc += own && sup[r] >= 0;
		nin += own && sup[r] == 1;
	}
	json_object_set_new(res, "in_support_share",
			    nsrc ? json_real((double)nin / (double)nsrc) : json_null());
	score_rows(base, te, 0.15, p, NULL);
	loso_metrics(te, p, a->threshold, "loaded_model_", res, &base_auc);
out_free:
	free(p);
	free(sup);
	free(doc);
	clf_model_free(mdl);
	clf_matrix_free(tr);
	clf_matrix_free(te);
	return res;
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp(x, y);
}

static double jnum_or_nan(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Every source but the --train-only ones held out in turn (sorted by name):
 * per source figures, their mean and worst AUC, and a table on stderr. */
static json_t *leave_sources_out(const struct clf_model *base, const struct clf_matrix *m,
				 const struct eval_args *a)
{
	char b[128], err[512], names[MAX_SOURCES][128];
	size_t ns = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		row_source(m, r, b, sizeof(b));
		size_t k = 0;
		while (k < ns && strcmp(names[k], b) != 0)
			k++;
		if (k == ns && ns < MAX_SOURCES && !is_train_only(a, b) && is_held_out(a, b))
			snprintf(names[ns++], sizeof(names[0]), "%s", b);
	}
	qsort(names, ns, sizeof(names[0]), cmp_name);
	unsigned char *role = malloc(m->n_rows ? m->n_rows : 1);
	bool *masked = malloc((m->n_cols ? m->n_cols : 1) * sizeof(bool));
	json_t *o = json_object(), *per = json_object();
	double sum = 0, worst = INFINITY, bsum = 0, bworst = INFINITY;
	size_t nauc = 0, nb = 0;
	json_object_set_new(o, "sources", per);
	if (!role || !masked)
		goto out_free;
	fprintf(stderr, "| held-out source | n | paired | AUC | balanced acc. | ECE | in support |"
			" loaded model AUC |\n|---|---|---|---|---|---|---|---|\n");
	for (size_t k = 0; k < ns; k++) {
		double auc = NAN;
		json_t *res = loso_one(base, m, a, names[k], role, masked, &auc, err, sizeof(err));
		if (!res) {
			json_object_set_new(per, names[k], json_pack("{s:s}", "error", err));
			fprintf(stderr, "| %s | error: %s |\n", names[k], err);
			continue;
		}
		double bauc = jnum_or_nan(res, "loaded_model_auc");
		if (isfinite(auc)) {
			sum += auc;
			worst = auc < worst ? auc : worst;
			nauc++;
		}
		if (isfinite(bauc)) {
			bsum += bauc;
			bworst = bauc < bworst ? bauc : bworst;
			nb++;
		}
		fprintf(stderr, "| %s | %lld | %lld | %.3f | %.3f | %.3f | %.2f | %.3f |\n", names[k],
			(long long)json_integer_value(json_object_get(res, "n")),
			(long long)json_integer_value(json_object_get(res, "paired")), auc,
			jnum_or_nan(res, "balanced_accuracy"), jnum_or_nan(res, "ece"),
			jnum_or_nan(res, "in_support_share"), bauc);
		json_object_set_new(per, names[k], res);
	}
	if (nauc) {
		json_object_set_new(o, "mean_auc", json_real(sum / (double)nauc));
		json_object_set_new(o, "worst_auc", json_real(worst));
		fprintf(stderr, "| **mean / worst** | | | %.3f / %.3f | | | | %.3f / %.3f |\n",
			sum / (double)nauc, worst, nb ? bsum / (double)nb : NAN, nb ? bworst : NAN);
	}
	if (nb) {
		json_object_set_new(o, "loaded_model_mean_auc", json_real(bsum / (double)nb));
		json_object_set_new(o, "loaded_model_worst_auc", json_real(bworst));
	}
out_free:
	free(role);
	free(masked);
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

/* --report: the fairness figures (added to `o`) and the plots and page in
 * a.report, over the rows with a numeric score. */
static int write_report(const struct bw_config *cfg, const struct eval_args *a,
			const struct clf_matrix *m, const double *p, json_t *o, char *err,
			size_t errlen)
{
	size_t rows = m->n_rows ? m->n_rows : 1, n = 0;
	int *y = malloc(rows * sizeof(int));
	double *pp = malloc(rows * sizeof(double));
	const char **cls = malloc(rows * sizeof(char *)), **lang = malloc(rows * sizeof(char *));
	const char **plat = malloc(rows * sizeof(char *)), **age = malloc(rows * sizeof(char *));
	struct clf_groups g = { 0 };
	int rc = BW_ENOMEM;

	if (!y || !pp || !cls || !lang || !plat || !age) {
		bw_seterr(err, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = clf_groups_build(cfg, (char *const *)a->posts, a->nposts, m, &g, err, errlen)))
		goto out_free;
	for (size_t r = 0; r < m->n_rows; r++)
		if (isfinite(p[r])) {
			pp[n] = p[r];
			y[n] = m->label[r];
			cls[n] = m->label[r] ? m->row_class[r] : "human";
			lang[n] = g.lang[r];
			plat[n] = g.platform[r];
			age[n++] = g.age[r];
		}
	struct clf_report_input in = { .n = n, .p = pp, .y = y, .cls = cls, .lang = lang,
				       .platform = plat, .age = age, .threshold = a->threshold };
	json_object_set_new(o, "fairness", clf_report_fairness(&in));
	mkdir(a->report, 0755);
	rc = clf_report_write(a->report, &in, o, err, errlen);
out_free:
	clf_groups_free(&g);
	free(y);
	free(pp);
	free(cls);
	free(lang);
	free(plat);
	free(age);
	return rc;
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
	struct cmd_progress *pg = cmd_progress_start("eval", a.posts, a.nposts);
	int lrc = clf_cmd_load_labelled(cfg, a.posts, a.nposts, a.labels, a.nlabels, a.probe_ms,
					&lb, &corpus, &m, &missing, err, sizeof(err));
	cmd_progress_stop(pg);
	if (lrc) {
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
	if (a.loso)
		json_object_set_new(o, "leave_source_out", leave_sources_out(mdl, m, &a));
	if (a.report && write_report(cfg, &a, m, p, o, err, sizeof(err))) {
		fprintf(stderr, "botwatch eval: %s\n", err);
		json_decref(o);
		goto out_free;
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
