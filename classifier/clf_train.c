/*
 * clf_train.c — training: per-group SVMs with grid search by stratified CV
 * on AUC, out-of-fold decision values, logistic stacks per availability
 * pattern, CAP tables, and the model document (docs/MODEL.md).
 *
 * Deterministic: folds and subsamples come from the seeded generator in
 * clf_metrics.c, libsvm is used without its probability option (the only
 * place it calls rand()), and the document is printed with fixed key order.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsvm/svm.h>

#include "bw_err.h"
#include "clf_int.h"
#include "feat.h"

static void quiet(const char *s)
{
	(void)s;
}

void clf_train_opts_init(struct clf_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kernel = CLF_KERNEL_LINEAR;
	o->profile_rbf = true; /* "mixed" */
	o->folds = 5;
	o->seed = 1;
	o->max_rows = 4000;
	o->min_class_rows = 10;
	o->schema_version = 1;
	o->group_folds = false;
}

int clf_kernel_parse(const char *name, struct clf_train_opts *o)
{
	if (!name)
		return -1;
	bool lin = strcmp(name, "linear") == 0, rbf = strcmp(name, "rbf") == 0;
	bool mixed = strcmp(name, "mixed") == 0;
	if (!lin && !rbf && !mixed)
		return -1;
	o->kernel = rbf ? CLF_KERNEL_RBF : CLF_KERNEL_LINEAR;
	o->profile_rbf = mixed;
	return 0;
}

/* Result of training one group for one head. */
struct tgroup {
	bool trained;        /* false: too few rows of a class */
	size_t ncol;         /* columns */
	size_t *cols;        /* column indices */
	double *mean, *sd;   /* scaler */
	double C, gamma;     /* chosen parameters */
	double cv_auc;       /* out-of-fold AUC at the chosen parameters */
	size_t n_pos, n_neg; /* training population */
	char *svm_text;      /* libsvm model text */
	double *dec;         /* n_rows decision values; NaN outside the population */
	json_t *fit_rows;    /* rows the SVM was fitted on per dataset ("bots", "humans") */
	double support;      /* overall head's linear profile groups: 99th percentile of
			      * the population's RMS scaled value (0 = not computed) */
};

/* Training context shared by the steps. */
struct tctx {
	const struct clf_matrix *m;      /* data */
	const struct clf_train_opts *o;  /* options */
	char *errstr;                    /* caller's error buffer */
	size_t errlen;
	double best_C[CLF_N_GROUPS];     /* overall head's choices, reused by type heads */
	double best_gamma[CLF_N_GROUPS];
	bool *declared;                  /* per row: clf_declares() */
};

static void tgroup_clear(struct tgroup *t)
{
	free(t->cols);
	free(t->mean);
	free(t->sd);
	free(t->svm_text);
	free(t->dec);
	json_decref(t->fit_rows);
	memset(t, 0, sizeof(*t));
}

/* Row r belongs to head `type` (NULL = overall: everyone). */
static bool in_head(const struct clf_matrix *m, size_t r, const char *type)
{
	return !type || m->label[r] == 0 || strcmp(m->row_class[r], type) == 0;
}

/* Select columns and fit the scaler on the population rows. */
static int fit_scaler(const struct clf_matrix *m, int g, const size_t *pop, size_t np,
		      struct tgroup *t)
{
	t->cols = malloc((m->n_cols ? m->n_cols : 1) * sizeof(size_t));
	if (!t->cols)
		return BW_ENOMEM;
	for (size_t j = 0; j < m->n_cols; j++)
		if (clf_group_wants(g, m->col_names[j], m->col_class[j]))
			t->cols[t->ncol++] = j;
	t->mean = calloc(t->ncol ? t->ncol : 1, sizeof(double));
	t->sd = calloc(t->ncol ? t->ncol : 1, sizeof(double));
	if (!t->mean || !t->sd)
		return BW_ENOMEM;
	for (size_t k = 0; k < t->ncol; k++) { /* over the rows not masked (NaN) */
		double s = 0, ss = 0;
		size_t nv = 0;
		for (size_t i = 0; i < np; i++) {
			double v = m->x[pop[i] * m->n_cols + t->cols[k]];
			if (!isnan(v)) {
				s += clf_slog(v);
				nv++;
			}
		}
		double mu = nv ? s / (double)nv : 0;
		for (size_t i = 0; i < np; i++) {
			double v = m->x[pop[i] * m->n_cols + t->cols[k]];
			if (!isnan(v))
				ss += (clf_slog(v) - mu) * (clf_slog(v) - mu);
		}
		double sd = nv ? sqrt(ss / (double)nv) : 0;
		t->mean[k] = mu;
		t->sd[k] = sd > 1e-9 ? sd : 1.0;
	}
	return 0;
}

/* Length of the source part of a dataset name (up to its first '/'). */
static size_t source_len(const char *ds)
{
	return strcspn(ds, "/");
}

/* A row's rank among the rows of its source and class before it in pop,
 * and its position: the sort key of balance_sources(). */
struct rank_key {
	size_t rank, pos, row;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct rank_key *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Reorder pop[0..np) so that, within each class, the sources take turns:
 * the first row of every source, then the second of every source, ...
 * (shuffled order within a source kept). Taking the first k rows of a class
 * then gives every source an equal share, up to its size. 0 or BW_ENOMEM. */
static int balance_sources(const struct clf_matrix *m, size_t *pop, size_t np)
{
	struct rank_key *k = malloc((np ? np : 1) * sizeof(*k));
	const char **src = malloc((np ? np : 1) * sizeof(char *)); /* per (source, class) */
	int *lab = malloc((np ? np : 1) * sizeof(int));
	size_t *cnt = malloc((np ? np : 1) * sizeof(size_t)), ns = 0;
	int rc = BW_ENOMEM;
	if (!k || !src || !lab || !cnt)
		goto out_free;
	for (size_t i = 0; i < np; i++) {
		const char *ds = m->row_dataset[pop[i]];
		size_t len = source_len(ds), s = 0;
		while (s < ns && !(lab[s] == m->label[pop[i]] && source_len(src[s]) == len &&
				   strncmp(src[s], ds, len) == 0))
			s++;
		if (s == ns) {
			src[ns] = ds;
			lab[ns] = m->label[pop[i]];
			cnt[ns++] = 0;
		}
		k[i].rank = cnt[s]++;
		k[i].pos = i;
		k[i].row = pop[i];
	}
	qsort(k, np, sizeof(*k), cmp_rank);
	for (size_t i = 0; i < np; i++)
		pop[i] = k[i].row;
	rc = 0;
out_free:
	free(k);
	free(src);
	free(lab);
	free(cnt);
	return rc;
}

/* Stratified deterministic subsample of at most `cap` rows (all when 0);
 * with `balanced`, every source has an equal share of each class's rows
 * (up to its size) instead of a share proportional to its size. */
static size_t subsample(const struct clf_matrix *m, size_t *pop, size_t np, size_t cap,
			uint64_t seed, bool balanced)
{
	uint64_t st = seed;
	for (size_t i = np; i > 1; i--) {
		size_t j = (size_t)(clf_rand_next(&st) % i), t = pop[i - 1];
		pop[i - 1] = pop[j];
		pop[j] = t;
	}
	if (cap == 0 || np <= cap)
		return np;
	if (balanced && balance_sources(m, pop, np))
		return 0;
	size_t npos = 0;
	for (size_t i = 0; i < np; i++)
		npos += m->label[pop[i]] == 1;
	size_t kpos = (size_t)((double)cap * (double)npos / (double)np + 0.5), kneg = cap - kpos;
	size_t w = 0, gp = 0, gn = 0;
	for (size_t i = 0; i < np; i++) { /* keep the first kpos positives and kneg negatives */
		bool pos = m->label[pop[i]] == 1;
		if ((pos && gp < kpos) || (!pos && gn < kneg)) {
			pos ? gp++ : gn++;
			size_t t = pop[w];
			pop[w++] = pop[i];
			pop[i] = t;
		}
	}
	return w;
}

/* libsvm problem over rows sub[0..ns) of group t (scaled, zeros omitted). */
struct prob {
	struct svm_problem p;  /* libsvm view */
	struct svm_node *pool; /* node storage */
};

static int build_prob(const struct clf_matrix *m, const struct tgroup *t, const size_t *rows,
		      size_t n, struct prob *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->pool = malloc((n * (t->ncol + 1) + 1) * sizeof(struct svm_node));
	pr->p.y = malloc((n ? n : 1) * sizeof(double));
	pr->p.x = malloc((n ? n : 1) * sizeof(struct svm_node *));
	if (!pr->pool || !pr->p.y || !pr->p.x)
		return BW_ENOMEM;
	struct svm_node *q = pr->pool;
	for (size_t i = 0; i < n; i++) {
		const double *x = m->x + rows[i] * m->n_cols;
		pr->p.x[i] = q;
		pr->p.y[i] = m->label[rows[i]];
		for (size_t k = 0; k < t->ncol; k++) {
			double v = clf_scale(x[t->cols[k]], t->mean[k], t->sd[k]);
			if (v != 0) {
				q->index = (int)k + 1;
				q->value = v;
				q++;
			}
		}
		q->index = -1;
		q++;
	}
	pr->p.l = (int)n;
	return 0;
}

static void free_prob(struct prob *pr)
{
	free(pr->pool);
	free(pr->p.y);
	free(pr->p.x);
}

/* libsvm parameters: RBF kernel when gamma > 0, else linear. */
static void set_param(struct svm_parameter *par, double C, double gamma, double *wl, int *lab,
		      const struct svm_problem *p)
{
	double npos = 0;
	for (int i = 0; i < p->l; i++)
		npos += p->y[i] > 0.5;
	memset(par, 0, sizeof(*par));
	par->svm_type = C_SVC;
	par->kernel_type = gamma > 0 ? RBF : LINEAR;
	par->gamma = gamma;
	par->C = C;
	par->cache_size = 64;
	par->eps = 1e-3;
	par->shrinking = 1;
	par->nr_weight = 2;
	lab[0] = 0;
	lab[1] = 1;
	wl[0] = p->l / (2.0 * ((double)p->l - npos)); /* balanced class weights */
	wl[1] = p->l / (2.0 * npos);
	par->weight_label = lab;
	par->weight = wl;
}

/* Oriented decision value of a libsvm model on node row x. */
static double model_dec(const struct svm_model *md, const struct svm_node *x)
{
	double d;
	svm_predict_values(md, x, &d);
	return md->label[0] == 1 ? d : -d;
}

/* K-fold CV on the problem: out-of-fold decision values into oof[]. */
static int cv_oof(const struct svm_problem *p, const struct svm_parameter *par, const int *fold,
		  int k, double *oof)
{
	struct svm_problem sub;
	sub.x = malloc((size_t)(p->l ? p->l : 1) * sizeof(*sub.x));
	sub.y = malloc((size_t)(p->l ? p->l : 1) * sizeof(double));
	if (!sub.x || !sub.y) {
		free(sub.x);
		free(sub.y);
		return BW_ENOMEM;
	}
	for (int f = 0; f < k; f++) {
		sub.l = 0;
		for (int i = 0; i < p->l; i++) {
			if (fold[i] != f) {
				sub.x[sub.l] = p->x[i];
				sub.y[sub.l++] = p->y[i];
			}
		}
		struct svm_model *md = svm_train(&sub, par);
		if (!md)
			continue;
		for (int i = 0; i < p->l; i++)
			if (fold[i] == f)
				oof[i] = model_dec(md, p->x[i]);
		svm_free_and_destroy_model(&md);
	}
	free(sub.x);
	free(sub.y);
	return 0;
}

/* libsvm text of a trained model; a linear model is collapsed to one SV
 * holding w = sum_i coef_i sv_i (coefficient 1), an equivalent libsvm model. */
static char *model_text(struct svm_model *md, size_t ncol)
{
	if (md->param.kernel_type != LINEAR)
		return clf_svm_model_text(md);
	double *w = calloc(ncol ? ncol : 1, sizeof(double));
	struct svm_node *node = malloc((ncol + 1) * sizeof(*node));
	char *text = NULL;
	if (!w || !node)
		goto out_free;
	for (int i = 0; i < md->l; i++)
		for (const struct svm_node *p = md->SV[i]; p->index != -1; p++)
			w[p->index - 1] += md->sv_coef[0][i] * p->value;
	size_t k = 0;
	for (size_t j = 0; j < ncol; j++) {
		if (w[j] != 0) {
			node[k].index = (int)j + 1;
			node[k++].value = w[j];
		}
	}
	node[k].index = -1;
	struct svm_node *sv[1] = { node };
	double coef1 = 1.0, *coef[1] = { &coef1 };
	int nsv[2] = { 1, 0 };
	struct svm_model one = *md;
	one.l = 1;
	one.SV = sv;
	one.sv_coef = coef;
	one.nSV = nsv;
	text = clf_svm_model_text(&one);
out_free:
	free(w);
	free(node);
	return text;
}

/* Evaluate one (C, gamma): out-of-fold decisions into oof, AUC returned. */
static double try_params(struct tctx *c, const struct svm_problem *p, const int *fold,
			 double C, double gamma, double *oof)
{
	struct svm_parameter par;
	double wl[2];
	int lab[2];
	set_param(&par, C, gamma, wl, lab, p);
	int *y = malloc((size_t)p->l * sizeof(int));
	if (!y)
		return NAN;
	for (int i = 0; i < p->l; i++)
		y[i] = p->y[i] > 0.5;
	for (int i = 0; i < p->l; i++)
		oof[i] = 0;
	double auc = cv_oof(p, &par, fold, c->o->folds, oof) ? NAN : clf_auc(oof, y, (size_t)p->l);
	free(y);
	return auc;
}

/* Folds that hold out whole bot classes: each class (m->row_class of the
 * bot rows) goes to the fold with the fewest bots so far, largest class
 * first (ties by name); humans are dealt round-robin in pop's order, which
 * subsample() has shuffled with the seed.
 * Returns false (fold untouched) when there are fewer than k bot classes. */
static bool class_folds(const struct clf_matrix *m, const size_t *pop, size_t n, int k,
			int *fold)
{
	enum { MAXC = 64 };
	const char *name[MAXC];
	size_t count[MAXC], nc = 0, load[16] = { 0 };
	if (k > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!m->label[pop[i]])
			continue;
		size_t c = 0;
		while (c < nc && strcmp(name[c], m->row_class[pop[i]]) != 0)
			c++;
		if (c == nc) {
			if (nc == MAXC)
				return false;
			name[nc] = m->row_class[pop[i]];
			count[nc++] = 0;
		}
		count[c]++;
	}
	if (nc < (size_t)k)
		return false;
	int cfold[MAXC];
	bool done[MAXC] = { false };
	for (size_t step = 0; step < nc; step++) {
		size_t best = nc;
		for (size_t c = 0; c < nc; c++)
			if (!done[c] && (best == nc || count[c] > count[best] ||
					 (count[c] == count[best] && strcmp(name[c], name[best]) < 0)))
				best = c;
		int f = 0;
		for (int j = 1; j < k; j++)
			if (load[j] < load[f])
				f = j;
		cfold[best] = f;
		load[f] += count[best];
		done[best] = true;
	}
	size_t h = 0;
	for (size_t i = 0; i < n; i++) {
		if (m->label[pop[i]]) {
			size_t c = 0;
			while (strcmp(name[c], m->row_class[pop[i]]) != 0)
				c++;
			fold[i] = cfold[c];
		} else {
			fold[i] = (int)(h++ % (size_t)k);
		}
	}
	return true;
}

/* Source of row r: its dataset up to the first '/' ("-" when empty), into
 * buf (len bytes). */
static const char *row_source(const struct clf_matrix *m, size_t r, char *buf, size_t len)
{
	const char *ds = m->row_dataset[r][0] ? m->row_dataset[r] : "-";
	size_t n = strcspn(ds, "/");
	snprintf(buf, len, "%.*s", (int)(n < len - 1 ? n : len - 1), ds);
	return buf;
}

#define MAX_FOLD_SOURCES 64

/* Sources of the subsample pop[0..n) and their folds: each source goes to
 * the fold with the fewest rows so far, largest source first (ties by
 * name), so a fold's models never saw its sources. The names into
 * name[MAX_FOLD_SOURCES][64], their folds into sfold; returns the count of
 * sources, 0 (nothing set) when there are fewer than k or too many. */
static size_t source_assign(const struct clf_matrix *m, const size_t *pop, size_t n, int k,
			    char (*name)[64], int *sfold)
{
	size_t count[MAX_FOLD_SOURCES], ns = 0, load[20] = { 0 };
	char b[64];
	if (k > 20)
		return 0;
	for (size_t i = 0; i < n; i++) {
		row_source(m, pop[i], b, sizeof(b));
		size_t s = 0;
		while (s < ns && strcmp(name[s], b) != 0)
			s++;
		if (s == ns) {
			if (ns == MAX_FOLD_SOURCES)
				return 0;
			snprintf(name[ns], 64, "%s", b);
			count[ns++] = 0;
		}
		count[s]++;
	}
	if (ns < (size_t)k)
		return 0;
	bool done[MAX_FOLD_SOURCES] = { false };
	for (size_t step = 0; step < ns; step++) {
		size_t best = ns;
		for (size_t s = 0; s < ns; s++)
			if (!done[s] && (best == ns || count[s] > count[best] ||
					 (count[s] == count[best] && strcmp(name[s], name[best]) < 0)))
				best = s;
		int f = 0;
		for (int j = 1; j < k; j++)
			if (load[j] < load[f])
				f = j;
		sfold[best] = f;
		load[f] += count[best];
		done[best] = true;
	}
	return ns;
}

/* Fold of row r under a source assignment; -1 when its source has none. */
static int source_fold_of(const struct clf_matrix *m, size_t r, char (*name)[64],
			  const int *sfold, size_t ns)
{
	char b[64];
	row_source(m, r, b, sizeof(b));
	for (size_t s = 0; s < ns; s++)
		if (strcmp(name[s], b) == 0)
			return sfold[s];
	return -1;
}

/* Folds that hold out whole sources (--folds-by source); false (fold
 * untouched) when the subsample has fewer than k sources or a fold's
 * complement lacks a class (one-sided sources all in one fold). */
static bool source_folds(const struct clf_matrix *m, const size_t *pop, size_t n, int k, int *fold)
{
	char name[MAX_FOLD_SOURCES][64];
	int sfold[MAX_FOLD_SOURCES];
	size_t ns = source_assign(m, pop, n, k, name, sfold), cnt[20][2] = { { 0 } }, tot[2] = { 0 };
	if (!ns)
		return false;
	for (size_t i = 0; i < n; i++) {
		fold[i] = source_fold_of(m, pop[i], name, sfold, ns);
		cnt[fold[i]][m->label[pop[i]] != 0]++;
		tot[m->label[pop[i]] != 0]++;
	}
	for (int f = 0; f < k; f++)
		if (cnt[f][0] == tot[0] || cnt[f][1] == tot[1])
			return false;
	return true;
}

/* Grid search (or the given parameters) on problem p; leaves the chosen
 * parameters in t and their out-of-fold decisions in oof. */
static int search(struct tctx *c, int g, bool grid, const struct svm_problem *p,
		  const size_t *pop, struct tgroup *t, double *oof)
{
	static const double Cs_lin[] = { 0.01, 0.1, 1.0 }, Cs_rbf[] = { 0.3, 3.0, 30.0 };
	/* gamma x column count: an RBF-only model needs smooth kernels; a twin,
	 * beside its linear group, is best local (leave-one-group-out, docs/MODEL.md) */
	static const double gmul_rbf[] = { 0.3, 3.0 }, gmul_twin[] = { 3.0, 10.0 };
	const double *gmul = clf_groups[g].rbf ? gmul_twin : gmul_rbf;
	bool rbf = c->o->kernel == CLF_KERNEL_RBF || clf_groups[g].rbf;
	const double *Cs = rbf ? Cs_rbf : Cs_lin;
	double *tmp = malloc((size_t)p->l * sizeof(double));
	int *fold = malloc((size_t)p->l * sizeof(int)), *y = malloc((size_t)p->l * sizeof(int));
	int rc = BW_ENOMEM;
	if (!tmp || !fold || !y)
		goto out_free;
	for (int i = 0; i < p->l; i++)
		y[i] = p->y[i] > 0.5;
	bool folded = c->o->source_folds ? source_folds(c->m, pop, (size_t)p->l, c->o->folds, fold)
		    : c->o->group_folds && class_folds(c->m, pop, (size_t)p->l, c->o->folds, fold);
	if (!folded)
		clf_stratified_folds(y, (size_t)p->l, c->o->folds, c->o->seed + (uint64_t)g, fold);
	if (!grid && c->best_C[g] > 0) {
		t->C = c->best_C[g];
		t->gamma = c->best_gamma[g];
		t->cv_auc = try_params(c, p, fold, t->C, t->gamma, oof);
		rc = 0;
		goto out_free;
	}
	t->cv_auc = -1;
	for (int a = 0; a < 3; a++) {
		for (int b = 0; b < (rbf ? 2 : 1); b++) {
			double gamma = rbf ? gmul[b] / (double)(t->ncol ? t->ncol : 1) : 0;
			double auc = try_params(c, p, fold, Cs[a], gamma, tmp);
			if (isfinite(auc) && auc > t->cv_auc + 1e-6) {
				t->cv_auc = auc;
				t->C = Cs[a];
				t->gamma = gamma;
				memcpy(oof, tmp, (size_t)p->l * sizeof(double));
			}
		}
	}
	if (t->cv_auc < 0) { /* degenerate: fall back to the middle C */
		t->C = Cs[1];
		t->gamma = rbf ? gmul[0] / (double)(t->ncol ? t->ncol : 1) : 0;
		t->cv_auc = try_params(c, p, fold, t->C, t->gamma, oof);
	}
	c->best_C[g] = t->C;
	c->best_gamma[g] = t->gamma;
	rc = 0;
out_free:
	free(tmp);
	free(fold);
	free(y);
	return rc;
}

/* --folds-by source: the population rows outside the subsample pop[ns..np)
 * get the decision of the fold model (trained on the subsample without
 * their source's fold) instead of the final model's, so every decision the
 * stacks are fitted on comes from a model that never saw the row's source.
 * Rows of a source absent from the subsample keep the final model's. */
static int rest_out_of_source(struct tctx *c, const struct tgroup *t, const struct prob *pr,
			      const struct svm_parameter *par, const size_t *pop, size_t np, size_t ns)
{
	const struct clf_matrix *m = c->m;
	char name[MAX_FOLD_SOURCES][64];
	int sfold[MAX_FOLD_SOURCES], rc = 0;
	size_t nsrc = source_assign(m, pop, ns, c->o->folds, name, sfold);
	if (!nsrc || np == ns)
		return 0;
	int *fold = malloc((ns ? ns : 1) * sizeof(int));
	bool usable = fold && source_folds(m, pop, ns, c->o->folds, fold); /* as search() */
	free(fold);
	if (!usable)
		return 0;
	int *rfold = malloc((np - ns) * sizeof(int));
	struct svm_problem sub;
	sub.x = malloc((ns ? ns : 1) * sizeof(*sub.x));
	sub.y = malloc((ns ? ns : 1) * sizeof(double));
	struct svm_node *node = malloc((t->ncol + 1) * sizeof(*node));
	if (!rfold || !sub.x || !sub.y || !node) {
		rc = bw_seterr(c->errstr, c->errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = ns; i < np; i++)
		rfold[i - ns] = source_fold_of(m, pop[i], name, sfold, nsrc);
	for (int f = 0; f < c->o->folds; f++) {
		sub.l = 0;
		for (size_t i = 0; i < ns; i++) {
			if (source_fold_of(m, pop[i], name, sfold, nsrc) != f) {
				sub.x[sub.l] = pr->p.x[i];
				sub.y[sub.l++] = pr->p.y[i];
			}
		}
		struct svm_model *md = svm_train(&sub, par);
		if (!md)
			continue;
		for (size_t i = ns; i < np; i++) {
			if (rfold[i - ns] != f)
				continue;
			const double *x = m->x + pop[i] * m->n_cols;
			size_t k = 0;
			for (; k < t->ncol; k++) {
				node[k].index = (int)k + 1;
				node[k].value = clf_scale(x[t->cols[k]], t->mean[k], t->sd[k]);
			}
			node[k].index = -1;
			t->dec[pop[i]] = model_dec(md, node);
		}
		svm_free_and_destroy_model(&md);
	}
out_free:
	free(rfold);
	free(sub.x);
	free(sub.y);
	free(node);
	return rc;
}

/* Final fit on the subsample, text, and decision values for the population:
 * out-of-fold for subsample rows, the final model's for the rest. */
static int finish_group(struct tctx *c, struct tgroup *t, const struct prob *pr,
			const size_t *pop, size_t np, size_t ns, const double *oof)
{
	const struct clf_matrix *m = c->m;
	struct svm_parameter par;
	double wl[2];
	int lab[2];
	set_param(&par, t->C, t->gamma, wl, lab, &pr->p);
	struct svm_model *md = svm_train(&pr->p, &par);
	if (!md)
		return bw_seterr(c->errstr, c->errlen, BW_ENOMEM, "libsvm training failed");
	t->svm_text = model_text(md, t->ncol);
	struct clf_svm *fast = t->svm_text ? clf_svm_parse(t->svm_text, strlen(t->svm_text),
							    t->ncol, NULL, 0) : NULL;
	double *row = malloc((t->ncol ? t->ncol : 1) * sizeof(double));
	int rc = 0;
	if (!fast || !row) {
		rc = bw_seterr(c->errstr, c->errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < ns; i++)
		t->dec[pop[i]] = oof[i];
	for (size_t i = ns; i < np; i++) {
		const double *x = m->x + pop[i] * m->n_cols;
		for (size_t k = 0; k < t->ncol; k++)
			row[k] = clf_scale(x[t->cols[k]], t->mean[k], t->sd[k]);
		t->dec[pop[i]] = clf_svm_decision(fast, row);
	}
	if (c->o->source_folds)
		rc = rest_out_of_source(c, t, pr, &par, pop, np, ns);
out_free:
	free(row);
	clf_svm_free(fast);
	svm_free_and_destroy_model(&md);
	return rc;
}

/* Rows sub[0..n) counted per dataset: {"<dataset>": {"bots": b, "humans": h}},
 * a dataset named "<source>/<part>" (e.g. "tweepfake/dril") counted under
 * <source>, so the model records what each group learnt from (docs/MODEL.md).
 * NULL on allocation failure. */
static json_t *rows_by_dataset(const struct clf_matrix *m, const size_t *sub, size_t n)
{
	json_t *o = json_object();
	char key[128];
	for (size_t i = 0; o && i < n; i++) {
		const char *ds = m->row_dataset[sub[i]][0] ? m->row_dataset[sub[i]] : "-";
		size_t len = strcspn(ds, "/");
		snprintf(key, sizeof(key), "%.*s", (int)(len < 127 ? len : 127), ds);
		json_t *e = json_object_get(o, key);
		if (!e) {
			e = json_pack("{s:i, s:i}", "bots", 0, "humans", 0);
			if (!e || json_object_set_new(o, key, e)) {
				json_decref(o);
				return NULL;
			}
		}
		const char *f = m->label[sub[i]] ? "bots" : "humans";
		json_object_set_new(e, f, json_integer(json_integer_value(json_object_get(e, f)) + 1));
	}
	return o;
}

/* Does row r have a masked (NaN) column of group g? */
static bool row_masked(const struct clf_matrix *m, size_t r, int g)
{
	for (size_t j = 0; j < m->n_cols; j++)
		if (isnan(m->x[r * m->n_cols + j]) &&
		    clf_group_wants(g, m->col_names[j], m->col_class[j]))
			return true;
	return false;
}

/* RMS of a row's scaled values in group t: its distance from the
 * population mean in standard deviations per column (masked = 0). */
static double rms_z(const struct clf_matrix *m, const struct tgroup *t, size_t r)
{
	double ss = 0;
	for (size_t k = 0; k < t->ncol; k++) {
		double z = clf_scale(m->x[r * m->n_cols + t->cols[k]], t->mean[k], t->sd[k]);
		ss += z * z;
	}
	return t->ncol ? sqrt(ss / (double)t->ncol) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The support of a linear profile group: the 99th percentile of rms_z over
 * its population; a scored account beyond it lies outside the profiles the
 * model was trained on (docs/SCORES.md, in_support). 0 or BW_ENOMEM. */
static int fit_support(const struct clf_matrix *m, struct tgroup *t, const size_t *pop, size_t np)
{
	double *d = malloc((np ? np : 1) * sizeof(double));
	if (!d)
		return BW_ENOMEM;
	for (size_t i = 0; i < np; i++)
		d[i] = rms_z(m, t, pop[i]);
	qsort(d, np, sizeof(double), cmp_double);
	t->support = np ? d[(size_t)(0.99 * (double)(np - 1))] : 0;
	free(d);
	return 0;
}

/* Train group g for the head of bot type `type` (NULL = overall). */
static int train_group(struct tctx *c, int g, const char *type, struct tgroup *t)
{
	const struct clf_matrix *m = c->m;
	size_t *pop = malloc((m->n_rows ? m->n_rows : 1) * sizeof(size_t)), np = 0;
	double *oof = NULL;
	struct prob pr = { 0 };
	int rc = BW_ENOMEM;

	memset(t, 0, sizeof(*t));
	if (!pop || !(t->dec = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double))))
		goto out_free;
	/* an RBF fit takes no row with a masked column (a field its source
	 * lacks): z = 0 is neutral for a linear weight, not for a kernel, which
	 * would learn "the population mean" as a place; such rows are listed
	 * last, out of the subsample, and get the final model's decisions */
	bool rbf = c->o->kernel == CLF_KERNEL_RBF || clf_groups[g].rbf;
	size_t nfit;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t r = 0; r < m->n_rows; r++) {
			if (!in_head(m, r, type) ||
			    (m->avail[r] & clf_groups[g].req) != clf_groups[g].req ||
			    (rbf && row_masked(m, r, g)) != (pass == 1))
				continue;
			pop[np++] = r;
			m->label[r] ? t->n_pos++ : t->n_neg++;
		}
		if (pass == 0)
			nfit = np;
		if (!rbf)
			break;
	}
	for (size_t r = 0; r < m->n_rows; r++)
		t->dec[r] = NAN;
	if (t->n_pos < (size_t)c->o->min_class_rows || t->n_neg < (size_t)c->o->min_class_rows) {
		rc = 0; /* not enough evidence: the group stays untrained */
		goto out_free;
	}
	if ((rc = fit_scaler(m, g, pop, np, t)))
		goto out_free;
	if (t->ncol == 0)
		goto out_free;
	if (!type && !rbf && !clf_group_is_activity(g) && (rc = fit_support(m, t, pop, np)))
		goto out_free;
	size_t ns = subsample(m, pop, nfit, c->o->max_rows, c->o->seed * 1000003u + (uint64_t)g,
			      c->o->balance_sources);
	if (!ns && nfit) {
		rc = BW_ENOMEM;
		goto out_free;
	}
	if (!(t->fit_rows = rows_by_dataset(m, pop, ns)) || (rc = build_prob(m, t, pop, ns, &pr)) ||
	    !(oof = malloc(ns * sizeof(double)))) {
		rc = BW_ENOMEM;
		goto out_free;
	}
	if ((rc = search(c, g, type == NULL, &pr.p, pop, t, oof)))
		goto out_free;
	if ((rc = finish_group(c, t, &pr, pop, np, ns, oof)))
		goto out_free;
	t->trained = true;
out_free:
	if (rc == BW_ENOMEM)
		bw_seterr(c->errstr, c->errlen, rc, "out of memory training %s", clf_groups[g].name);
	free_prob(&pr);
	free(oof);
	free(pop);
	return rc;
}

/* Stack membership: bit g set = group g takes part. */
#define ST_ALL 0xFFu       /* every group */
#define ST_UNIVERSAL 0x9Fu /* no content (bit 5), no sentiment (bit 6) */
#define ST_USER 0x83u      /* user_text, user_counts and its RBF twin */

static int popcount(uint32_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* Probability of stack entry e for row r from the groups' decision values. */
static double entry_prob(const struct tctx *c, const struct clf_mentry *e, struct tgroup *tg,
			 size_t r)
{
	double dv[CLF_N_GROUPS];
	for (size_t k = 0; k < e->nuse; k++)
		dv[k] = tg[e->use[k]].dec[r];
	double f = clf_entry_logit(e, dv, c->declared[r], NULL);
	return clf_sigmoid(f);
}

/* Log-odds bound of the activity part of a stack entry when no real
 * labelled timeline is in training: simulated timelines may change the odds
 * by at most a Bayes factor of 10 ("strong" on the Jeffreys / Kass & Raftery
 * 1995 scale); docs/MODEL.md. */
#define CLF_ACT_CAP 2.302585092994046

/* The labels' dataset of simulated rows: they do not earn activity weight. */
#define CLF_SIM_SOURCE "simulated"

/* Candidate caps for the earned bound, as Bayes factors (log taken). */
static const double act_cap_bf[] = { 2, 5, 10, 30, 100, 300, 1000 };
#define N_ACT_CAPS (sizeof(act_cap_bf) / sizeof(act_cap_bf[0]))

/* Is row r of a real (not simulated) source? */
static bool row_real(const struct clf_matrix *m, size_t r)
{
	const char *ds = m->row_dataset[r];
	size_t n = strlen(CLF_SIM_SOURCE);
	return !(strncmp(ds, CLF_SIM_SOURCE, n) == 0 && (ds[n] == 0 || ds[n] == '/'));
}

/* The cap the activity part earns on real labelled timelines: over the head's
 * real rows having `amask`, the candidate L maximising the log-likelihood of
 * their labels under logit = (their prior log-odds) + L tanh(a / L), a the
 * activity part (act_b + sum w d; its decisions are out-of-fold). With fewer
 * than min_class_rows real rows of a class: CLF_ACT_CAP (docs/MODEL.md,
 * "Activity evidence that counts"). */
static double earned_cap(const struct tctx *c, struct tgroup *tg, const char *type, uint32_t amask,
			 const int *au, const double *aw, size_t na, double act_b)
{
	const struct clf_matrix *m = c->m;
	double ll[N_ACT_CAPS] = { 0 }, nb = 0, nh = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!in_head(m, r, type) || (m->avail[r] & amask) != amask || !row_real(m, r))
			continue;
		m->label[r] ? nb++ : nh++;
	}
	if (nb < c->o->min_class_rows || nh < c->o->min_class_rows)
		return CLF_ACT_CAP;
	double prior = log(nb / nh);
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!in_head(m, r, type) || (m->avail[r] & amask) != amask || !row_real(m, r))
			continue;
		double a = act_b;
		for (size_t k = 0; k < na; k++)
			a += aw[k] * tg[au[k]].dec[r];
		for (size_t i = 0; i < N_ACT_CAPS; i++) {
			double L = log(act_cap_bf[i]), f = prior + L * tanh(a / L);
			/* log sigmoid(+-f), stable for large |f| */
			double s = m->label[r] ? f : -f;
			ll[i] += s >= 0 ? -log1p(exp(-s)) : s - log1p(exp(s));
		}
	}
	size_t best = 0;
	for (size_t i = 1; i < N_ACT_CAPS; i++)
		if (ll[i] > ll[best])
			best = i;
	return log(act_cap_bf[best]);
}

/* Logistic fit of z[n][d] (columns: the decisions of groups use[0..d)).
 * With RBF twins beside linear groups, in two stages: the linear groups
 * first, as if the twins were absent, then the twins on what that fit leaves
 * (its log-odds as a fixed offset). The linear weights are then those of the
 * linear-only model, so far from the twins' support vectors, where a twin's
 * decision is its constant bias, the score extrapolates as the linear model
 * does; near them the twins correct it (docs/MODEL.md, "mixed kernel"). */
static int fit_logit(const double *z, const int *y, size_t n, size_t d, const int *use,
		     double *w, double *b)
{
	size_t lin[CLF_N_GROUPS], tw[CLF_N_GROUPS], nl = 0, nt = 0;
	for (size_t k = 0; k < d; k++) {
		if (clf_groups[use[k]].rbf)
			tw[nt++] = k;
		else
			lin[nl++] = k;
	}
	if (!nt || !nl)
		return clf_logreg_fit(z, y, NULL, n, d, 1.0, w, b);
	double *zl = calloc(n * nl, sizeof(double)), *zt = calloc(n * nt, sizeof(double));
	double *off = malloc(n * sizeof(double)), wl[CLF_N_GROUPS], wt[CLF_N_GROUPS], bl, bt;
	int rc = BW_ENOMEM;
	if (!zl || !zt || !off)
		goto out_free;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nl; k++)
			zl[i * nl + k] = z[i * d + lin[k]];
		for (size_t k = 0; k < nt; k++)
			zt[i * nt + k] = z[i * d + tw[k]];
	}
	if ((rc = clf_logreg_fit(zl, y, NULL, n, nl, 1.0, wl, &bl)))
		goto out_free;
	for (size_t i = 0; i < n; i++) {
		off[i] = bl;
		for (size_t k = 0; k < nl; k++)
			off[i] += wl[k] * zl[i * nl + k];
	}
	if ((rc = clf_logreg_fit(zt, y, off, n, nt, 1.0, wt, &bt)))
		goto out_free;
	for (size_t k = 0; k < nl; k++)
		w[lin[k]] = wl[k];
	for (size_t k = 0; k < nt; k++)
		w[tw[k]] = wt[k];
	*b = bl + bt;
out_free:
	free(zl);
	free(zt);
	free(off);
	return rc;
}

/* Logistic fit of groups use[0..d) on rows of the head having `mask`; the
 * count of rows and positives into *n, *npos. Returns 0, 1 (a class has too
 * few rows: skipped) or a negative BW_E* code. */
static int fit_part(struct tctx *c, struct tgroup *tg, const char *type, uint32_t mask,
		    const int *use, size_t d, double *w, double *b, size_t *n_out, size_t *npos_out)
{
	const struct clf_matrix *m = c->m;
	size_t n = 0, npos = 0;
	double *z = malloc((m->n_rows ? m->n_rows : 1) * (d ? d : 1) * sizeof(double));
	int *y = malloc((m->n_rows ? m->n_rows : 1) * sizeof(int));
	int rc = BW_ENOMEM;
	if (!z || !y)
		goto out_free;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!in_head(m, r, type) || (m->avail[r] & mask) != mask)
			continue;
		for (size_t k = 0; k < d; k++)
			z[n * d + k] = tg[use[k]].dec[r];
		y[n] = m->label[r];
		npos += (size_t)y[n++];
	}
	*n_out = n;
	*npos_out = npos;
	rc = 1; /* "skip" unless both classes are represented */
	if (npos < (size_t)c->o->min_class_rows || n - npos < (size_t)c->o->min_class_rows)
		goto out_free;
	rc = d ? fit_logit(z, y, n, d, use, w, b) : 0;
	if (!d) /* no groups: the prior log-odds of these rows */
		*b = log((double)npos / (double)(n - npos));
out_free:
	free(z);
	free(y);
	return rc;
}

/* Log-likelihood ratio of declaring automation, bots against humans, over
 * the head's rows having `mask` (add-half smoothing), floored at 0: an
 * account that says it is automated is never made more human by saying so. */
static double decl_weight(const struct tctx *c, const char *type, uint32_t mask)
{
	const struct clf_matrix *m = c->m;
	double nb = 0, nh = 0, db = 0, dh = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!in_head(m, r, type) || (m->avail[r] & mask) != mask)
			continue;
		if (m->label[r])
			nb++, db += c->declared[r];
		else
			nh++, dh += c->declared[r];
	}
	double lr = log((db + 0.5) / (nb + 1)) - log((dh + 0.5) / (nh + 1));
	return lr > 0 ? lr : 0;
}

/* Fit one entry of a stack: groups `use` on rows of the head covering `mask`.
 * Profile groups are fitted on every account having their evidence (real
 * and simulated); activity groups separately, on the accounts with posts,
 * as a log-likelihood ratio (their fit minus its training prior log-odds)
 * whose magnitude is capped at CLF_ACT_CAP (docs/MODEL.md). */
static int fit_entry(struct tctx *c, struct tgroup *tg, const char *type, struct clf_mentry *e,
		     json_t *jent)
{
	int pu[CLF_N_GROUPS], au[CLF_N_GROUPS];
	double pw[CLF_N_GROUPS], aw[CLF_N_GROUPS], pb = 0, ab = 0;
	size_t np = 0, na = 0, n = 0, npos = 0;
	uint32_t pmask = 0, amask = 0;
	for (size_t k = 0; k < e->nuse; k++) {
		int g = e->use[k];
		if (clf_group_is_activity(g)) {
			au[na++] = g;
			amask |= clf_groups[g].req;
		} else {
			pu[np++] = g;
			pmask |= clf_groups[g].req;
		}
	}
	int rc = fit_part(c, tg, type, pmask, pu, np, pw, &pb, &n, &npos);
	if (rc)
		return rc;
	e->b = pb;
	/* the declaration is profile text: its likelihood ratio is measured on
	 * the rows having the entry's profile evidence (real profiles), not only
	 * on those that also have posts (which may all be simulated) */
	e->decl_w = e->mask & CLF_AVAIL_TEXT ? decl_weight(c, type, pmask) : 0;
	e->act_b = 0;
	e->act_cap = INFINITY;
	if (na) {
		if ((rc = fit_part(c, tg, type, amask, au, na, aw, &ab, &n, &npos)) != 0)
			return rc;
		e->act_b = ab - log((double)npos / (double)(n - npos));
		e->act_cap = earned_cap(c, tg, type, amask, au, aw, na, e->act_b);
	}
	/* the entry's groups in e->use order */
	size_t ip = 0, ia = 0;
	for (size_t k = 0; k < e->nuse; k++)
		e->w[k] = clf_group_is_activity(e->use[k]) ? aw[ia++] : pw[ip++];
	/* in-sample AUC of the combined entry over the rows having its evidence */
	const struct clf_matrix *m = c->m;
	double *p = malloc((m->n_rows ? m->n_rows : 1) * sizeof(double));
	int *y = malloc((m->n_rows ? m->n_rows : 1) * sizeof(int));
	if (!p || !y) {
		free(p);
		free(y);
		return BW_ENOMEM;
	}
	n = npos = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!in_head(m, r, type) || (m->avail[r] & e->mask) != e->mask)
			continue;
		p[n] = entry_prob(c, e, tg, r);
		y[n] = m->label[r];
		npos += (size_t)y[n++];
	}
	json_object_set_new(jent, "n", json_integer((json_int_t)n));
	json_object_set_new(jent, "positives", json_integer((json_int_t)npos));
	json_object_set_new(jent, "oof_auc", json_real(clf_auc(p, y, n)));
	free(p);
	free(y);
	return 0;
}

/* Fit every availability-pattern entry of a stack over groups `members`. */
static int fit_stack(struct tctx *c, struct tgroup *tg, const char *type, uint32_t members,
		     struct clf_mstack *st, json_t *jentries)
{
	uint32_t seen[CLF_N_PATTERNS];
	size_t nseen = 0;
	st->nent = 0;
	for (int pc = 3; pc >= 1; pc--) { /* most specific patterns first */
		for (uint32_t mask = CLF_AVAIL_ALL; mask >= 1; mask--) {
			if (popcount(mask) != pc)
				continue;
			struct clf_mentry e = { 0 };
			for (int g = 0; g < CLF_N_GROUPS; g++) {
				if ((members >> g & 1) && tg[g].trained &&
				    (clf_groups[g].req & ~mask) == 0) {
					e.use[e.nuse++] = g;
					e.mask |= clf_groups[g].req;
				}
			}
			bool dup = e.nuse == 0;
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = seen[k] == e.mask;
			if (dup)
				continue;
			seen[nseen++] = e.mask;
			json_t *jent = json_object();
			int rc = fit_entry(c, tg, type, &e, jent);
			if (rc < 0) {
				json_decref(jent);
				return rc;
			}
			if (rc > 0) {
				json_decref(jent);
				continue;
			}
			json_t *ju = json_array(), *jw = json_array();
			for (size_t k = 0; k < e.nuse; k++) {
				json_array_append_new(ju, json_string(clf_groups[e.use[k]].name));
				json_array_append_new(jw, json_real(e.w[k]));
			}
			json_object_set_new(jent, "mask", json_integer(e.mask));
			json_object_set_new(jent, "use", ju);
			json_object_set_new(jent, "w", jw);
			json_object_set_new(jent, "b", json_real(e.b));
			if (e.mask & CLF_AVAIL_TEXT)
				json_object_set_new(jent, "decl_w", json_real(e.decl_w));
			if (isfinite(e.act_cap)) {
				json_object_set_new(jent, "act_b", json_real(e.act_b));
				json_object_set_new(jent, "act_cap", json_real(e.act_cap));
			}
			json_array_append_new(jentries, jent);
			st->ent[st->nent++] = e;
		}
	}
	return 0;
}

/* CAP tables: survival of the stack's probability among bots and humans. */
static json_t *cap_table(struct tctx *c, struct tgroup *tg, const struct clf_mstack *st)
{
	const struct clf_matrix *m = c->m;
	double nb = 0, nh = 0, cb[CLF_CAP_GRID] = { 0 }, ch[CLF_CAP_GRID] = { 0 };
	for (size_t r = 0; r < m->n_rows; r++) {
		const struct clf_mentry *e = clf_stack_entry(st, m->avail[r]);
		if (!e)
			continue;
		double p = entry_prob(c, e, tg, r);
		int k = (int)floor(p * (CLF_CAP_GRID - 1) + 1e-9);
		k = k < 0 ? 0 : k >= CLF_CAP_GRID ? CLF_CAP_GRID - 1 : k;
		m->label[r] ? (cb[k]++, nb++) : (ch[k]++, nh++);
	}
	json_t *jb = json_array(), *jh = json_array(), *o = json_object();
	double sb = 0, sh = 0, vb[CLF_CAP_GRID], vh[CLF_CAP_GRID];
	for (int k = CLF_CAP_GRID - 1; k >= 0; k--) { /* survival P(p >= k/100) */
		sb += cb[k];
		sh += ch[k];
		vb[k] = nb ? sb / nb : 0;
		vh[k] = nh ? sh / nh : 0;
	}
	for (int k = 0; k < CLF_CAP_GRID; k++) {
		json_array_append_new(jb, json_real(vb[k]));
		json_array_append_new(jh, json_real(vh[k]));
	}
	json_object_set_new(o, "bot_survival", jb);
	json_object_set_new(o, "human_survival", jh);
	return o;
}

static json_t *jreal(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *group_json(const struct clf_matrix *m, int g, const struct tgroup *t)
{
	json_t *o = json_object(), *names = json_array(), *idx = json_array();
	json_t *mu = json_array(), *sd = json_array();
	for (size_t k = 0; k < t->ncol; k++) {
		json_array_append_new(names, json_string(m->col_names[t->cols[k]]));
		json_array_append_new(idx, json_integer((json_int_t)t->cols[k]));
		json_array_append_new(mu, json_real(t->mean[k]));
		json_array_append_new(sd, json_real(t->sd[k]));
	}
	json_object_set_new(o, "group", json_string(clf_groups[g].name));
	json_object_set_new(o, "requires", json_integer(clf_groups[g].req));
	json_object_set_new(o, "C", json_real(t->C));
	json_object_set_new(o, "gamma", json_real(t->gamma));
	json_object_set_new(o, "n_pos", json_integer((json_int_t)t->n_pos));
	json_object_set_new(o, "n_neg", json_integer((json_int_t)t->n_neg));
	json_object_set_new(o, "oof_auc", jreal(t->cv_auc));
	json_object_set_new(o, "fit_rows", json_incref(t->fit_rows));
	if (t->support > 0)
		json_object_set_new(o, "support_d99", json_real(t->support));
	json_object_set_new(o, "columns", names);
	json_object_set_new(o, "index", idx);
	json_object_set_new(o, "mean", mu);
	json_object_set_new(o, "sd", sd);
	json_object_set_new(o, "svm", json_string(t->svm_text));
	return o;
}

static void progress(struct tctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct tctx *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	if (!c->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->o->progress(buf, c->o->progress_opaque);
}

/* Train one head (all groups) and its stacks; appends to jheads/jstacks. */
static int train_head(struct tctx *c, const char *type, size_t head_idx, json_t *jheads,
		      json_t *jstacks, json_t *jcap)
{
	struct tgroup tg[CLF_N_GROUPS];
	json_t *jh = json_object(), *jg = json_array();
	int rc = 0;
	memset(tg, 0, sizeof(tg));
	json_object_set_new(jh, "name", json_string(type ? type : "overall"));
	json_object_set_new(jh, "groups", jg);
	json_array_append_new(jheads, jh);
	for (int g = 0; g < CLF_N_GROUPS; g++) {
		/* RBF twins: only asked for, only beside linear groups, overall head only */
		if (clf_groups[g].rbf && (!c->o->profile_rbf || c->o->kernel == CLF_KERNEL_RBF || type))
			continue;
		if ((rc = train_group(c, g, type, &tg[g])))
			goto out_free;
		progress(c, "head %s group %s: %s (C=%g, oof auc %.4f, %zu+%zu rows)",
			 type ? type : "overall", clf_groups[g].name,
			 tg[g].trained ? "trained" : "skipped", tg[g].C, tg[g].cv_auc,
			 tg[g].n_pos, tg[g].n_neg);
		if (tg[g].trained)
			json_array_append_new(jg, group_json(c->m, g, &tg[g]));
	}
	/* stacks: (name, kind, members) */
	struct { const char *name, *kind; uint32_t members; } defs[8] = {
		{ "english", "overall", ST_ALL }, { "universal", "overall", ST_UNIVERSAL },
		{ "user", "category", ST_USER },  { "friend", "category", 0x4 },
		{ "network", "category", 0x8 },   { "temporal", "category", 0x10 },
		{ "content", "category", 0x20 },  { "sentiment", "category", 0x40 },
	};
	size_t ndefs = type ? 1 : 8;
	if (type) {
		defs[0].name = type;
		defs[0].kind = "type";
	}
	for (size_t s = 0; s < ndefs; s++) {
		struct clf_mstack st = { 0 };
		json_t *js = json_object(), *je = json_array();
		json_object_set_new(js, "name", json_string(defs[s].name));
		json_object_set_new(js, "kind", json_string(defs[s].kind));
		json_object_set_new(js, "head", json_integer((json_int_t)head_idx));
		json_object_set_new(js, "entries", je);
		json_array_append_new(jstacks, js);
		if ((rc = fit_stack(c, tg, type, defs[s].members, &st, je)))
			goto out_free;
		if (!type && s < 2)
			json_object_set_new(jcap, defs[s].name, cap_table(c, tg, &st));
	}
out_free:
	for (int g = 0; g < CLF_N_GROUPS; g++)
		tgroup_clear(&tg[g]);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Bot types with enough rows, sorted; returns the count. */
static size_t list_types(const struct clf_matrix *m, int min_rows, const char **types)
{
	size_t nt = 0;
	for (size_t r = 0; r < m->n_rows; r++) {
		if (!m->label[r])
			continue;
		bool have = false;
		for (size_t k = 0; k < nt && !have; k++)
			have = strcmp(types[k], m->row_class[r]) == 0;
		if (have || nt == CLF_MAX_TYPES)
			continue;
		size_t cnt = 0;
		for (size_t q = 0; q < m->n_rows; q++)
			cnt += m->label[q] && strcmp(m->row_class[q], m->row_class[r]) == 0;
		if (cnt >= (size_t)min_rows)
			types[nt++] = m->row_class[r];
	}
	qsort(types, nt, sizeof(*types), cmp_str);
	return nt;
}

static json_t *params_json(const struct clf_train_opts *o)
{
	json_t *p = json_object();
	json_object_set_new(p, "kernel", json_string(o->kernel == CLF_KERNEL_RBF ? "rbf"
						     : o->profile_rbf		? "mixed"
										: "linear"));
	json_object_set_new(p, "folds", json_integer(o->folds));
	json_object_set_new(p, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(p, "max_rows", json_integer((json_int_t)o->max_rows));
	json_object_set_new(p, "min_class_rows", json_integer(o->min_class_rows));
	json_object_set_new(p, "transform", json_string("z = clip((slog1p(x) - mean) / sd, -5, 5)"));
	json_object_set_new(p, "class_weights", json_string("balanced"));
	json_object_set_new(p, "stack_ridge", json_real(1.0));
	const char *folds_by = o->source_folds ? "source" : o->group_folds ? "bot_class" : "stratified";
	json_object_set_new(p, "folds_by", json_string(folds_by));
	if (o->no_type_heads)
		json_object_set_new(p, "type_heads", json_false());
	if (o->balance_sources)
		json_object_set_new(p, "balance_sources", json_true());
	return p;
}

int clf_train(const struct clf_matrix *m, const struct clf_train_opts *o, char **out,
	      size_t *out_len, char *errstr, size_t errlen)
{
	struct tctx c = { .m = m, .o = o, .errstr = errstr, .errlen = errlen };
	const char *types[CLF_MAX_TYPES];
	size_t npos = 0;
	int rc = 0;

	svm_set_print_string_function(quiet);
	for (size_t r = 0; r < m->n_rows; r++)
		npos += (size_t)m->label[r];
	if (o->folds < 2 || o->folds > 20)
		return bw_seterr(errstr, errlen, BW_EINVAL, "folds must be 2..20");
	if (npos < (size_t)o->min_class_rows || m->n_rows - npos < (size_t)o->min_class_rows)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "need at least %d bots and %d humans (have %zu and %zu)",
				 o->min_class_rows, o->min_class_rows, npos, m->n_rows - npos);
	/* the declaration term reads registry columns (absent past n_cols) */
	if (!(c.declared = calloc(m->n_rows ? m->n_rows : 1, sizeof(bool))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	for (size_t r = 0; r < m->n_rows; r++)
		c.declared[r] = clf_declares(m->x + r * m->n_cols, m->n_cols, NULL);
	size_t nt = o->no_type_heads ? 0 : list_types(m, o->min_class_rows, types);
	json_t *doc = json_object(), *fs = json_object(), *jheads = json_array();
	json_t *jstacks = json_array(), *jcap = json_object(), *jtypes = json_array();
	json_object_set_new(doc, "format", json_string("botwatch-model"));
	json_object_set_new(doc, "format_version", json_integer(CLF_FORMAT_VERSION));
	json_object_set_new(fs, "version", json_integer(o->schema_version));
	json_object_set_new(fs, "hash", json_string(o->schema_hash ? o->schema_hash : ""));
	json_object_set_new(fs, "n_features", json_integer((json_int_t)m->n_cols));
	json_object_set_new(doc, "feature_schema", fs);
	json_object_set_new(doc, "params", params_json(o));
	for (size_t k = 0; k < nt; k++)
		json_array_append_new(jtypes, json_string(types[k]));
	json_object_set_new(doc, "types", jtypes);
	json_object_set_new(doc, "heads", jheads);
	json_object_set_new(doc, "stacks", jstacks);
	json_object_set_new(doc, "cap", jcap);
	for (size_t h = 0; h <= nt && rc == 0; h++)
		rc = train_head(&c, h ? types[h - 1] : NULL, h, jheads, jstacks, jcap);
	if (rc)
		goto out_free;
	json_t *tr = o->meta ? json_deep_copy(o->meta) : json_object();
	json_object_set_new(tr, "rows", json_integer((json_int_t)m->n_rows));
	json_object_set_new(tr, "positives", json_integer((json_int_t)npos));
	json_object_set_new(doc, "training", tr);
	if ((rc = clf_baselines_attach(doc, m, errstr, errlen)))
		goto out_free;
	*out = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
	if (!*out) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory writing the model");
		goto out_free;
	}
	*out_len = strlen(*out);
out_free:
	json_decref(doc);
	free(c.declared);
	return rc;
}
