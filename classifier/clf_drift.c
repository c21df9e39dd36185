/*
 * clf_drift.c — the model's training baselines and the drift monitor
 * (clf.h, "drift"; docs/DRIFT.md).
 *
 * Baselines: `botwatch train` scores its own training rows with the model it
 * has just fitted and stores, per feature in registry order, the share of
 * rows on which the feature is computable and non-zero (its presence), the
 * deciles of its computable values (ties merged, so a binary feature has one
 * edge) with the share of values in each bin, and the english score's
 * histogram (all rows, bots, humans) and bot rate at the threshold. Numbers
 * are rounded to 6 significant digits so the section stays small; the model
 * bytes stay reproducible (qsort of doubles and %.6g are deterministic).
 *
 * A feature is *computable* for an account when the account has the evidence
 * its class reads: a profile (CLF_AVAIL_TEXT or CLF_AVAIL_COUNTS) for the
 * user class, a timeline (CLF_AVAIL_ACTIVITY) for the others; and, in
 * training, when the row's source has the field (not masked, NaN).
 *
 * Monitor: each score decision is one observation, filed under the tumbling
 * event-time window of its event time (drift.window_ms). A window is
 * evaluated when it closes — once the watermark is a whole window past its
 * end, or at the end of a replay — against the bounds: per-feature and
 * per-class PSI (population stability index over the baseline bins),
 * presence-rate shifts (the share of non-zero values among the decisions on
 * which the feature is computable, against the baseline's present /
 * computable), the score's PSI and the bot rate. The monitor never
 * logs: it returns each closed window as JSON and the caller logs and
 * publishes it (stage/stage_drift.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "clf_int.h"
#include "feat.h"

#define DR_EDGES 9              /* decile edges at most (bins = edges + 1) */
#define DR_BINS (DR_EDGES + 1)
#define DR_SBINS 20             /* score histogram bins on [0, 1] */
#define DR_EPS 1e-4             /* share floor inside the PSI's logarithm */
#define DR_MAX_WINDOWS 64       /* open windows at most; past it the oldest closes */
#define DR_TOP 10               /* features listed per closed window */
#define DR_MIN_FEATURE_N 30     /* computable values a feature needs in a window for its PSI */

/* One feature's baseline. */
struct dr_fbase {
	uint32_t nedge;         /* decile edges (0..DR_EDGES), ascending, distinct */
	double edge[DR_EDGES];  /* bin k holds v <= edge[k] (and > edge[k-1]); the last v > edge[nedge-1] */
	double p[DR_BINS];      /* share of computable training values per bin (nedge + 1) */
	double present;         /* share of rows on which it is computable and non-zero */
	double computable;      /* share of rows on which it is computable */
};

struct clf_baselines {
	uint64_t rows;                 /* training rows */
	size_t nf;                     /* features (the model's n_features) */
	struct dr_fbase *f;            /* nf baselines */
	double score[3][DR_SBINS];     /* english score histogram shares: all, bots, humans */
	double bot_rate;               /* share of scored rows with english >= threshold */
	double threshold;              /* that threshold */
};

/* ---- shared helpers ----------------------------------------------------------------- */

/* Round to 6 significant digits (what the model section stores). */
static double r6(double v)
{
	char b[32];
	snprintf(b, sizeof(b), "%.6g", v);
	return strtod(b, NULL);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Evidence a feature of class `cls` needs (see the file comment). */
static bool computable(int cls, uint32_t avail, double v)
{
	if (isnan(v))
		return false;
	return cls == 0 ? (avail & (CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS)) != 0
			: (avail & CLF_AVAIL_ACTIVITY) != 0;
}

static int feature_class(size_t j)
{
	const struct feat_def *d = feat_def_get(j);
	return d ? (int)d->cls : 0;
}

/* Registry name of feature j ("?" past the registry: a model of another build). */
static const char *feature_name(size_t j)
{
	const struct feat_def *d = feat_def_get(j);
	return d ? d->name : "?";
}

/* Bin of v among the edges. */
static uint32_t bin_of(const struct dr_fbase *b, double v)
{
	uint32_t k = 0;
	while (k < b->nedge && v > b->edge[k])
		k++;
	return k;
}

static int score_bin(double s)
{
	int k = (int)(s * DR_SBINS);
	return k < 0 ? 0 : k >= DR_SBINS ? DR_SBINS - 1 : k;
}

/* PSI of observed counts c[0..n) (total tot) against expected shares e. */
static double psi(const uint32_t *c, uint64_t tot, const double *e, size_t n)
{
	double s = 0;
	if (!tot)
		return NAN;
	for (size_t k = 0; k < n; k++) {
		double a = (double)c[k] / (double)tot, x = e[k];
		a = a < DR_EPS ? DR_EPS : a;
		x = x < DR_EPS ? DR_EPS : x;
		s += (a - x) * log(a / x);
	}
	return s;
}

/* ---- building the baselines (train) ------------------------------------------------ */

static json_t *jarr(const double *v, size_t n)
{
	json_t *a = json_array();
	for (size_t k = 0; a && k < n; k++)
		json_array_append_new(a, json_real(r6(v[k])));
	return a;
}

/* Baseline of column j over the rows of m; vals is scratch of n_rows. */
static json_t *feature_json(const struct clf_matrix *m, size_t j, double *vals)
{
	size_t n = 0, present = 0;
	struct dr_fbase b = { 0 };
	for (size_t r = 0; r < m->n_rows; r++) {
		double v = m->x[r * m->n_cols + j];
		if (!computable(m->col_class[j], m->avail[r], v))
			continue;
		vals[n++] = v;
		present += v != 0;
	}
	if (n) {
		qsort(vals, n, sizeof(double), cmp_dbl);
		for (int q = 1; q <= DR_EDGES; q++) {
			double e = r6(vals[(size_t)((double)q / DR_BINS * (double)(n - 1) + 0.5)]);
			if (b.nedge == 0 || e > b.edge[b.nedge - 1])
				b.edge[b.nedge++] = e;
		}
		uint32_t cnt[DR_BINS] = { 0 };
		for (size_t i = 0; i < n; i++)
			cnt[bin_of(&b, vals[i])]++;
		for (uint32_t k = 0; k <= b.nedge; k++)
			b.p[k] = (double)cnt[k] / (double)n;
	}
	double rows = m->n_rows ? (double)m->n_rows : 1;
	return json_pack("[f, f, o, o]", r6((double)present / rows), r6((double)n / rows),
			 jarr(b.edge, b.nedge), jarr(b.p, n ? b.nedge + 1 : 0));
}

int clf_baselines_json(const struct clf_matrix *m, const struct clf_model *mdl, double threshold,
		       json_t **out, char *errstr, size_t errlen)
{
	double *vals = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double));
	double hist[3][DR_SBINS] = { { 0 } }, tot[3] = { 0 }, bots = 0;
	json_t *o = json_object(), *feats = json_array(), *sc = json_object();
	int rc = 0;

	if (!vals || !o || !feats || !sc) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory building the baselines");
		goto out_free;
	}
	for (size_t j = 0; j < m->n_cols; j++) {
		json_t *f = feature_json(m, j, vals);
		if (!f || json_array_append_new(feats, f)) {
			rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory building the baselines");
			goto out_free;
		}
	}
	for (size_t r = 0; r < m->n_rows; r++) {
		struct clf_score s;
		clf_score(mdl, m->x + r * m->n_cols, m->avail[r], 0.5, &s);
		if (!isfinite(s.english))
			continue;
		int k = score_bin(s.english), c = m->label[r] ? 1 : 2;
		hist[0][k]++;
		hist[c][k]++;
		tot[0]++;
		tot[c]++;
		bots += s.english >= threshold;
	}
	static const char *const names[3] = { "all", "bot", "human" };
	for (int c = 0; c < 3; c++) {
		for (int k = 0; k < DR_SBINS; k++)
			hist[c][k] = tot[c] ? hist[c][k] / tot[c] : 0;
		json_object_set_new(sc, names[c], jarr(hist[c], DR_SBINS));
	}
	json_object_set_new(sc, "scored", json_integer((json_int_t)tot[0]));
	json_object_set_new(sc, "threshold", json_real(threshold));
	json_object_set_new(sc, "bot_rate", json_real(r6(tot[0] ? bots / tot[0] : 0)));
	json_object_set_new(o, "rows", json_integer((json_int_t)m->n_rows));
	json_object_set_new(o, "layout", json_string("features: [present, computable, [decile "
						     "edges], [share per bin]] in registry order"));
	json_object_set_new(o, "features", feats);
	json_object_set_new(o, "score", sc);
	*out = o;
	free(vals);
	return 0;
out_free:
	json_decref(o);
	json_decref(feats);
	json_decref(sc);
	free(vals);
	return rc;
}

int clf_baselines_attach(json_t *doc, const struct clf_matrix *m, char *errstr, size_t errlen)
{
	char *txt = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
	struct clf_model *mdl = txt ? clf_model_parse(txt, strlen(txt), NULL, 0, errstr, errlen) : NULL;
	json_t *bl = NULL;
	int rc;

	free(txt);
	if (!mdl)
		return txt ? BW_EPARSE : bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if ((rc = clf_baselines_json(m, mdl, 0.5, &bl, errstr, errlen)) == 0)
		json_object_set_new(doc, "baselines", bl);
	clf_model_free(mdl);
	return rc;
}

/* ---- parsing (clf_model.c) --------------------------------------------------------- */

void clf_baselines_free(struct clf_baselines *b)
{
	if (!b)
		return;
	free(b->f);
	free(b);
}

/* Read up to max finite numbers of array a into v; -1 when malformed. */
static int read_nums(const json_t *a, double *v, size_t max, size_t *n)
{
	if (!json_is_array(a) || json_array_size(a) > max)
		return -1;
	*n = json_array_size(a);
	for (size_t k = 0; k < *n; k++) {
		const json_t *x = json_array_get(a, k);
		if (!json_is_number(x) || !isfinite(v[k] = json_number_value(x)))
			return -1;
	}
	return 0;
}

static int parse_feature(const json_t *f, struct dr_fbase *b)
{
	size_t ne = 0, np = 0;
	const json_t *pr = json_array_get(f, 0), *cp = json_array_get(f, 1);
	if (!json_is_array(f) || json_array_size(f) != 4 || !json_is_number(pr) ||
	    !json_is_number(cp) || read_nums(json_array_get(f, 2), b->edge, DR_EDGES, &ne) ||
	    read_nums(json_array_get(f, 3), b->p, DR_BINS, &np) || (np && np != ne + 1))
		return -1;
	for (size_t k = 1; k < ne; k++)
		if (!(b->edge[k] > b->edge[k - 1]))
			return -1;
	b->nedge = (uint32_t)ne;
	b->present = json_number_value(pr);
	b->computable = json_number_value(cp);
	if (!(b->present >= 0 && b->present <= b->computable && b->computable <= 1))
		return -1;
	return 0;
}

int clf_baselines_parse(const json_t *o, size_t n_features, struct clf_baselines **out,
			char *errstr, size_t errlen)
{
	const json_t *feats = json_object_get(o, "features"), *sc = json_object_get(o, "score");
	const json_t *rows = json_object_get(o, "rows");
	struct clf_baselines *b = calloc(1, sizeof(*b));
	static const char *const names[3] = { "all", "bot", "human" };

	*out = NULL;
	if (!b)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (!json_is_integer(rows) || json_integer_value(rows) < 0 || !json_is_array(feats) ||
	    json_array_size(feats) != n_features || !json_is_object(sc))
		goto out_bad;
	b->rows = (uint64_t)json_integer_value(rows);
	b->nf = n_features;
	if (!(b->f = calloc(n_features ? n_features : 1, sizeof(*b->f)))) {
		clf_baselines_free(b);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	for (size_t j = 0; j < n_features; j++)
		if (parse_feature(json_array_get(feats, j), &b->f[j]))
			goto out_bad;
	for (int c = 0; c < 3; c++) {
		size_t n = 0;
		if (read_nums(json_object_get(sc, names[c]), b->score[c], DR_SBINS, &n) || n != DR_SBINS)
			goto out_bad;
	}
	const json_t *br = json_object_get(sc, "bot_rate"), *th = json_object_get(sc, "threshold");
	if (!json_is_number(br) || !json_is_number(th))
		goto out_bad;
	b->bot_rate = json_number_value(br);
	b->threshold = json_number_value(th);
	*out = b;
	return 0;
out_bad:
	clf_baselines_free(b);
	return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed baselines");
}

bool clf_model_has_baselines(const struct clf_model *mdl)
{
	return mdl->base != NULL;
}

/* ---- the monitor --------------------------------------------------------------------- */

/* One open event-time window. */
struct dr_window {
	int64_t start;          /* window start (event ms) */
	uint64_t n;             /* observations */
	uint64_t scored;        /* observations with a numeric english score */
	uint64_t bots;          /* of them at or above the threshold */
	uint32_t shist[DR_SBINS]; /* english score histogram */
	uint32_t *comp;         /* nf: computable observations per feature */
	uint32_t *pres;         /* nf: computable and non-zero */
	uint32_t *bins;         /* nf * DR_BINS: computable values per baseline bin */
};

struct clf_drift {
	const struct clf_model *mdl;       /* borrowed */
	const struct clf_baselines *base;  /* the model's (borrowed), NULL = none */
	struct clf_drift_bounds b;         /* copied bounds */
	struct dr_window *w[DR_MAX_WINDOWS]; /* open windows, unordered; NULL = free */
	int *cls;                          /* nf feature classes */
	uint64_t late;                     /* observations for windows already closed */
	uint64_t undated;                  /* observations without an event time */
	int64_t closed_until;              /* windows starting before this are closed */
};

void clf_drift_bounds_init(struct clf_drift_bounds *b)
{
	*b = (struct clf_drift_bounds){ .window_ms = 3600000,
					.min_scores = 500,
					.feature_psi = 0.25,
					.features_over = 0,
					.class_psi = 0.1,
					.presence_shift = 0.2,
					.score_psi = 0.25,
					.bot_rate_min = 0,
					.bot_rate_max = 0.6,
					.threshold = 0.5 };
}

struct clf_drift *clf_drift_new(const struct clf_model *mdl, const struct clf_drift_bounds *b)
{
	struct clf_drift *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->mdl = mdl;
	d->base = mdl->base;
	d->b = *b;
	if (d->b.window_ms <= 0)
		d->b.window_ms = 3600000;
	d->closed_until = BW_TIME_NONE;
	if (d->base && !(d->cls = malloc((d->base->nf ? d->base->nf : 1) * sizeof(int)))) {
		free(d);
		return NULL;
	}
	for (size_t j = 0; d->base && j < d->base->nf; j++)
		d->cls[j] = feature_class(j);
	return d;
}

static void window_free(struct dr_window *w)
{
	if (!w)
		return;
	free(w->comp);
	free(w->pres);
	free(w->bins);
	free(w);
}

void clf_drift_free(struct clf_drift *d)
{
	if (!d)
		return;
	for (int k = 0; k < DR_MAX_WINDOWS; k++)
		window_free(d->w[k]);
	free(d->cls);
	free(d);
}

bool clf_drift_active(const struct clf_drift *d)
{
	return d->base != NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The evaluation of window w as JSON (new reference). */
static json_t *evaluate(const struct clf_drift *d, const struct dr_window *w);

/* Close and evaluate window slot k, appending its report to `closed`. */
static void close_slot(struct clf_drift *d, int k, json_t *closed)
{
	struct dr_window *w = d->w[k];
	json_t *rep = evaluate(d, w);
	if (rep)
		json_array_append_new(closed, rep);
	int64_t end = w->start + d->b.window_ms;
	if (d->closed_until == BW_TIME_NONE || end > d->closed_until)
		d->closed_until = end;
	window_free(w);
	d->w[k] = NULL;
}

/* The slot of the window starting at `start`, opened when missing (closing
 * the oldest when every slot is taken); -1 on allocation failure. */
static int window_slot(struct clf_drift *d, int64_t start, json_t *closed)
{
	int free_k = -1, oldest = -1;
	for (int k = 0; k < DR_MAX_WINDOWS; k++) {
		if (!d->w[k]) {
			free_k = free_k < 0 ? k : free_k;
			continue;
		}
		if (d->w[k]->start == start)
			return k;
		if (oldest < 0 || d->w[k]->start < d->w[oldest]->start)
			oldest = k;
	}
	if (free_k < 0) {
		close_slot(d, oldest, closed);
		free_k = oldest;
	}
	size_t nf = d->base->nf ? d->base->nf : 1;
	struct dr_window *w = calloc(1, sizeof(*w));
	if (!w || !(w->comp = calloc(nf, sizeof(uint32_t))) ||
	    !(w->pres = calloc(nf, sizeof(uint32_t))) ||
	    !(w->bins = calloc(nf * DR_BINS, sizeof(uint32_t)))) {
		window_free(w);
		return -1;
	}
	w->start = start;
	d->w[free_k] = w;
	return free_k;
}

int clf_drift_observe(struct clf_drift *d, const double *x, size_t n, uint32_t avail,
		      const struct clf_score *sc, int64_t event_ms, json_t *closed)
{
	if (!d->base)
		return 0;
	if (event_ms == BW_TIME_NONE) {
		d->undated++;
		return 0;
	}
	int64_t start = floor_div(event_ms, d->b.window_ms) * d->b.window_ms;
	if (d->closed_until != BW_TIME_NONE && start < d->closed_until) {
		d->late++;
		return 0;
	}
	int k = window_slot(d, start, closed);
	if (k < 0)
		return BW_ENOMEM;
	struct dr_window *w = d->w[k];
	size_t nf = n < d->base->nf ? n : d->base->nf;
	w->n++;
	if (isfinite(sc->english)) {
		w->scored++;
		w->bots += sc->english >= d->b.threshold;
		w->shist[score_bin(sc->english)]++;
	}
	for (size_t j = 0; j < nf; j++) {
		if (!computable(d->cls[j], avail, x[j]))
			continue;
		w->comp[j]++;
		w->pres[j] += x[j] != 0;
		w->bins[j * DR_BINS + bin_of(&d->base->f[j], x[j])]++;
	}
	return 0;
}

void clf_drift_advance(struct clf_drift *d, int64_t watermark_ms, bool all, json_t *closed)
{
	for (int k = 0; k < DR_MAX_WINDOWS; k++) {
		if (!d->w[k])
			continue;
		if (all || (watermark_ms != BW_TIME_NONE &&
			    d->w[k]->start + 2 * d->b.window_ms <= watermark_ms))
			close_slot(d, k, closed);
	}
	/* several closed at once: report them oldest first */
	size_t n = json_array_size(closed);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			const char *a = json_string_value(json_object_get(json_array_get(closed, j - 1), "start"));
			const char *b = json_string_value(json_object_get(json_array_get(closed, j), "start"));
			if (!a || !b || strcmp(a, b) <= 0)
				break;
			json_t *t = json_incref(json_array_get(closed, j - 1));
			json_array_set(closed, j - 1, json_array_get(closed, j));
			json_array_set_new(closed, j, t);
		}
}

json_t *clf_drift_open_json(const struct clf_drift *d)
{
	json_t *a = json_array();
	char t0[40], t1[40];
	for (int k = 0; a && k < DR_MAX_WINDOWS; k++) {
		const struct dr_window *w = d->w[k];
		if (!w)
			continue;
		bw_time_format(w->start, t0, sizeof(t0));
		bw_time_format(w->start + d->b.window_ms, t1, sizeof(t1));
		json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "start", t0, "end", t1, "scores",
						   (json_int_t)w->n));
	}
	return a;
}

json_t *clf_drift_bounds_json(const struct clf_drift *d)
{
	const struct clf_drift_bounds *b = &d->b;
	return json_pack("{s:I, s:I, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I}", "window_ms",
			 (json_int_t)b->window_ms, "min_scores", (json_int_t)b->min_scores,
			 "feature_psi", b->feature_psi, "features_over", (json_int_t)b->features_over,
			 "class_psi", b->class_psi, "presence_shift", b->presence_shift, "score_psi",
			 b->score_psi, "bot_rate_min", b->bot_rate_min, "bot_rate_max", b->bot_rate_max,
			 "threshold", b->threshold, "late", (json_int_t)d->late, "undated",
			 (json_int_t)d->undated);
}

/* ---- evaluation ---------------------------------------------------------------------- */

/* One feature's figures in a window. */
struct dr_feat {
	size_t j;        /* registry index */
	double psi;      /* NaN: too few computable values */
	double shift;    /* window presence minus baseline presence */
};

static int by_psi(const void *a, const void *b)
{
	const struct dr_feat *x = a, *y = b;
	double p = isnan(x->psi) ? -1 : x->psi, q = isnan(y->psi) ? -1 : y->psi;
	return p < q ? 1 : p > q ? -1 : (x->j > y->j) - (x->j < y->j);
}

static int by_shift(const void *a, const void *b)
{
	const struct dr_feat *x = a, *y = b;
	double p = fabs(x->shift), q = fabs(y->shift);
	return p < q ? 1 : p > q ? -1 : (x->j > y->j) - (x->j < y->j);
}

static json_t *feat_entry(const struct clf_drift *d, const struct dr_window *w,
			  const struct dr_feat *f)
{
	const struct dr_fbase *b = &d->base->f[f->j];
	return json_pack("{s:s, s:o, s:f, s:f, s:I}", "feature", feature_name(f->j), "psi",
			 isnan(f->psi) ? json_null() : json_real(r6(f->psi)), "presence",
			 w->comp[f->j] ? r6((double)w->pres[f->j] / (double)w->comp[f->j]) : 0.0,
			 "baseline_presence", b->computable > 0 ? r6(b->present / b->computable) : 0.0,
			 "computable", (json_int_t)w->comp[f->j]);
}

/* Add `msg` to the window's reasons and mark it alarmed. */
static void reason(json_t *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(json_t *rep, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(rep, "reasons"), json_string(b));
	json_object_set_new(rep, "alarm", json_true());
}

/* Per-feature PSI and presence shift, and the per-class means. */
static void feature_figures(const struct clf_drift *d, const struct dr_window *w,
			    struct dr_feat *f, double *cls_sum, size_t *cls_n)
{
	for (size_t j = 0; j < d->base->nf; j++) {
		const struct dr_fbase *b = &d->base->f[j];
		f[j].j = j;
		f[j].psi = NAN;
		f[j].shift = 0;
		if (w->comp[j] >= DR_MIN_FEATURE_N && b->computable > 0) {
			f[j].shift = (double)w->pres[j] / (double)w->comp[j] - b->present / b->computable;
			f[j].psi = psi(w->bins + j * DR_BINS, w->comp[j], b->p, b->nedge + 1);
			cls_sum[d->cls[j]] += f[j].psi;
			cls_n[d->cls[j]]++;
		}
	}
}

/* The share of bots π for which π·(training bot scores) + (1-π)·(training
 * human scores) is closest (PSI) to the window's score histogram, and that
 * PSI: a window whose bot share moved is matched again at another π; a
 * residual PSI well above zero means the scores changed shape, not only
 * their mix. Grid search in steps of 0.001. */
static void mixture(const struct clf_baselines *b, const struct dr_window *w, double *share,
		    double *resid)
{
	double best = INFINITY, mix[DR_SBINS];
	*share = NAN;
	for (int k = 0; k <= 1000; k++) {
		double pi = k / 1000.0;
		for (int i = 0; i < DR_SBINS; i++)
			mix[i] = pi * b->score[1][i] + (1 - pi) * b->score[2][i];
		double v = psi(w->shist, w->scored, mix, DR_SBINS);
		if (v < best) {
			best = v;
			*share = pi;
		}
	}
	*resid = best;
}

static json_t *evaluate(const struct clf_drift *d, const struct dr_window *w)
{
	const struct clf_drift_bounds *bd = &d->b;
	char t0[40], t1[40];
	size_t nf = d->base->nf, over = 0, shifted = 0, cls_n[CLF_NCLASS] = { 0 };
	double cls_sum[CLF_NCLASS] = { 0 };
	struct dr_feat *f = malloc((nf ? nf : 1) * sizeof(*f));
	bw_time_format(w->start, t0, sizeof(t0));
	bw_time_format(w->start + bd->window_ms, t1, sizeof(t1));
	json_t *rep = json_pack("{s:s, s:s, s:I, s:I, s:b, s:[]}", "start", t0, "end", t1, "scores",
				(json_int_t)w->n, "scored", (json_int_t)w->scored, "alarm", 0, "reasons");
	if (!rep || !f) {
		free(f);
		json_decref(rep);
		return NULL;
	}
	if (w->n < bd->min_scores) {
		json_object_set_new(rep, "evaluated", json_false());
		json_object_set_new(rep, "note", json_string("fewer scores than drift.min_scores"));
		free(f);
		return rep;
	}
	json_object_set_new(rep, "evaluated", json_true());
	feature_figures(d, w, f, cls_sum, cls_n);
	json_t *cls = json_object();
	for (int c = 0; c < CLF_NCLASS; c++) {
		double m = cls_n[c] ? cls_sum[c] / (double)cls_n[c] : NAN;
		json_object_set_new(cls, clf_class_names[c],
				    json_pack("{s:o, s:I}", "psi_mean", isnan(m) ? json_null() : json_real(r6(m)),
					      "features", (json_int_t)cls_n[c]));
		if (!isnan(m) && m > bd->class_psi)
			reason(rep, "class %s: mean PSI %.3f > %.3f", clf_class_names[c], m, bd->class_psi);
	}
	json_object_set_new(rep, "classes", cls);
	for (size_t j = 0; j < nf; j++) {
		over += !isnan(f[j].psi) && f[j].psi > bd->feature_psi;
		shifted += fabs(f[j].shift) > bd->presence_shift;
	}
	json_t *top = json_array(), *pres = json_array();
	qsort(f, nf, sizeof(*f), by_psi);
	for (size_t i = 0; i < nf && i < DR_TOP && !isnan(f[i].psi); i++)
		json_array_append_new(top, feat_entry(d, w, &f[i]));
	if (over > bd->features_over)
		reason(rep, "%zu feature(s) with PSI > %.3f (most: %s %.3f)", over, bd->feature_psi,
		       feature_name(f[0].j), f[0].psi);
	qsort(f, nf, sizeof(*f), by_shift);
	for (size_t i = 0; i < nf && i < DR_TOP && fabs(f[i].shift) > 0; i++)
		json_array_append_new(pres, feat_entry(d, w, &f[i]));
	if (shifted)
		reason(rep, "%zu feature(s) whose presence moved by more than %.3f (most: %s %+.3f)",
		       shifted, bd->presence_shift, feature_name(f[0].j), f[0].shift);
	json_object_set_new(rep, "features_over_psi", json_integer((json_int_t)over));
	json_object_set_new(rep, "presence_shifted", json_integer((json_int_t)shifted));
	json_object_set_new(rep, "top_psi", top);
	json_object_set_new(rep, "top_presence_shift", pres);
	if (w->scored) {
		double sp = psi(w->shist, w->scored, d->base->score[0], DR_SBINS);
		double br = (double)w->bots / (double)w->scored;
		json_object_set_new(rep, "score_psi", json_real(r6(sp)));
		json_object_set_new(rep, "bot_rate", json_real(r6(br)));
		json_object_set_new(rep, "baseline_bot_rate", json_real(d->base->bot_rate));
		double share, resid;
		mixture(d->base, w, &share, &resid);
		json_object_set_new(rep, "mixture_bot_share", json_real(share));
		json_object_set_new(rep, "mixture_psi", json_real(r6(resid)));
		if (sp > bd->score_psi)
			reason(rep, "score distribution: PSI %.3f > %.3f", sp, bd->score_psi);
		if (br < bd->bot_rate_min || br > bd->bot_rate_max)
			reason(rep, "bot rate %.3f outside [%.3f, %.3f]", br, bd->bot_rate_min,
			       bd->bot_rate_max);
	}
	free(f);
	return rep;
}
