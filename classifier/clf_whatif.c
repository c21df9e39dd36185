/*
 * clf_whatif.c — sensitivity of one account's overall score (clf.h,
 * "what-if", docs/AUDIT.md): the nearest flips (the smallest single-feature
 * changes that move the decision across a threshold) and the rule-style
 * reason (a few conditions on named features that, held together, keep the
 * decision where it is).
 *
 * Both start from the model's own numbers: a feature's log-odds per scaled
 * unit is the stack weight times its linear SVM weight (the coefficient
 * clf_explain() multiplies the scaled value by), and the scaler's mean and
 * standard deviation turn scaled values back into raw ones. Every candidate
 * is then checked by scoring the changed vector with clf_score(), so RBF
 * groups, the activity soft cap and clipping are honoured: a reported flip
 * flips, a reported rule holds (or says it does not).
 *
 * A searched value keeps the sign of the current one (a masked value counts
 * as non-negative): most features are counts, lengths, rates or shares.
 *
 * Training-population shares are estimated from the scaler alone (the model
 * carries no per-feature distribution): the signed-log value is taken as
 * normal with the scaler's mean and standard deviation. The answers say so.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf_int.h"

#define BISECT_STEPS 20   /* refinement of a flipping value (scaled units, 1e-6 of the span) */
#define VERIFY_FACTOR 8   /* candidates checked per flip wanted */

/* A feature's place in the english stack for one availability. */
struct col {
	size_t feature;   /* registry index */
	double coef;      /* log-odds per scaled unit (linear groups, summed) */
	double mean, sd;  /* scaler of the first group using it */
	bool linear;      /* some linear group uses it */
};

static double slog_inv(double y)
{
	return y >= 0 ? expm1(y) : -expm1(-y);
}

static double english(const struct clf_model *mdl, const double *x, uint32_t avail,
		      double cap_prior)
{
	struct clf_score sc;

	clf_score(mdl, x, avail, cap_prior, &sc);
	return sc.english;
}

/* The columns the english stack reads for `avail`, one per feature; NULL
 * (with *n 0) when nothing is computable or out of memory (*nomem). */
static struct col *stack_cols(const struct clf_model *mdl, uint32_t avail, size_t *n, bool *nomem)
{
	const struct clf_mstack *st;
	const struct clf_mentry *e;
	struct col *c;
	long *at;

	*n = 0;
	*nomem = false;
	if (mdl->st_english < 0)
		return NULL;
	st = &mdl->stacks[mdl->st_english];
	if (!(e = clf_stack_entry(st, avail & CLF_AVAIL_ALL)))
		return NULL;
	c = calloc(mdl->n_features ? mdl->n_features : 1, sizeof(*c));
	at = malloc((mdl->n_features ? mdl->n_features : 1) * sizeof(*at));
	if (!c || !at) {
		free(c);
		free(at);
		*nomem = true;
		return NULL;
	}
	for (size_t f = 0; f < mdl->n_features; f++)
		at[f] = -1;
	for (size_t u = 0; u < e->nuse; u++) {
		const struct clf_mgroup *g = mdl->heads[st->head].grp[e->use[u]];
		for (size_t k = 0; g && k < g->ncol; k++) {
			size_t f = g->cols[k];
			if (at[f] < 0) {
				at[f] = (long)(*n)++;
				c[at[f]] = (struct col){ .feature = f, .mean = g->mean[k], .sd = g->sd[k] };
			}
			if (g->fw) {
				c[at[f]].coef += e->w[u] * g->fw[k] * g->sd[k];
				c[at[f]].linear = true;
			}
		}
	}
	free(at);
	return c;
}

/* Does score p fall on the other side of threshold t than the decision `bot`? */
static bool flipped(double p, double t, bool bot)
{
	return isfinite(p) && (bot ? p < t : p >= t);
}

/* Smallest flipping scaled value between z0 (not flipping) and z1 (flipping). */
static double bisect(const struct clf_model *mdl, double *x, const struct col *c, uint32_t avail,
		     double cap_prior, double t, bool bot, double z0, double z1)
{
	for (int i = 0; i < BISECT_STEPS; i++) {
		double zm = (z0 + z1) / 2;
		x[c->feature] = slog_inv(c->mean + zm * c->sd);
		if (flipped(english(mdl, x, avail, cap_prior), t, bot))
			z1 = zm;
		else
			z0 = zm;
	}
	return z1;
}

struct cand {
	size_t i;    /* index into the columns */
	double dz;   /* linear estimate of the change needed */
};

static int by_dz(const void *a, const void *b)
{
	double u = fabs(((const struct cand *)a)->dz), v = fabs(((const struct cand *)b)->dz);

	return u < v ? -1 : u > v;
}

/* Try column c: a verified flip into *out (true) or false. x is restored. */
static bool try_flip(const struct clf_model *mdl, double *x, const struct col *c, uint32_t avail,
		     double cap_prior, double t, bool bot, double dz, struct clf_flip *out)
{
	double keep = x[c->feature], z0 = clf_scale(keep, c->mean, c->sd);
	double z1 = z0 + dz, p, lo = -CLF_CLIP, hi = CLF_CLIP, zero = clf_scale(0, c->mean, c->sd);
	bool ok;

	/* a value keeps its sign: counts, lengths and rates never go negative */
	if (!(keep < 0) && zero > lo)
		lo = zero;
	if (keep < 0 && zero < hi)
		hi = zero;
	if ((dz > 0 && z0 >= hi) || (dz < 0 && z0 <= lo))
		return false;
	if (z1 > hi)
		z1 = hi;
	if (z1 < lo)
		z1 = lo;
	x[c->feature] = slog_inv(c->mean + z1 * c->sd);
	ok = flipped(english(mdl, x, avail, cap_prior), t, bot);
	if (!ok) { /* not linear enough: the far end of that direction */
		z1 = dz > 0 ? hi : lo;
		x[c->feature] = slog_inv(c->mean + z1 * c->sd);
		ok = flipped(english(mdl, x, avail, cap_prior), t, bot);
	}
	if (ok) {
		z1 = bisect(mdl, x, c, avail, cap_prior, t, bot, z0, z1);
		x[c->feature] = slog_inv(c->mean + z1 * c->sd);
		p = english(mdl, x, avail, cap_prior);
		*out = (struct clf_flip){ .feature = c->feature, .from = keep, .to = x[c->feature],
					  .dz = z1 - z0, .score = p };
		ok = flipped(p, t, bot);
	}
	x[c->feature] = keep;
	return ok;
}

int clf_nearest_flips(const struct clf_model *mdl, const double *x, uint32_t avail,
		      double cap_prior, double threshold, struct clf_flip *out, size_t max,
		      size_t *n, char *errstr, size_t errlen)
{
	size_t nc = 0, nk = 0;
	bool nomem;
	struct col *c = stack_cols(mdl, avail, &nc, &nomem);
	struct cand *k = NULL;
	double *w = NULL, p = english(mdl, x, avail, cap_prior);
	bool bot = p >= threshold;
	int rc = 0;

	*n = 0;
	if (nomem)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (!c || !isfinite(p) || threshold <= 0 || threshold >= 1)
		goto out_free; /* nothing computable: nothing flips */
	k = malloc((nc ? nc : 1) * sizeof(*k));
	w = malloc(mdl->n_features * sizeof(*w));
	if (!k || !w) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	memcpy(w, x, mdl->n_features * sizeof(*w));
	/* the logit change needed, a hair past the threshold */
	double need = log(threshold / (1 - threshold)) - log(p / (1 - p));
	need += bot ? -1e-9 : 1e-9;
	for (size_t i = 0; i < nc; i++)
		if (c[i].linear && c[i].coef != 0)
			k[nk++] = (struct cand){ i, need / c[i].coef };
	qsort(k, nk, sizeof(*k), by_dz);
	for (size_t i = 0; i < nk && i < max * VERIFY_FACTOR && *n < max; i++)
		if (try_flip(mdl, w, &c[k[i].i], avail, cap_prior, threshold, bot, k[i].dz, &out[*n]))
			(*n)++;
	/* verified changes, smallest first (bisection may reorder the estimates) */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && fabs(out[j].dz) < fabs(out[j - 1].dz); j--) {
			struct clf_flip tmp = out[j];
			out[j] = out[j - 1];
			out[j - 1] = tmp;
		}
out_free:
	free(w);
	free(k);
	free(c);
	return rc;
}

/* Share of a normal(mean, sd) population at or beyond z on its side. */
static double tail(double z, bool at_least)
{
	double q = 0.5 * erfc(z / sqrt(2.0));
	return at_least ? q : 1 - q;
}

int clf_reason(const struct clf_model *mdl, const double *x, uint32_t avail, double cap_prior,
	       double threshold, const struct clf_explanation *e, struct clf_reason *out,
	       char *errstr, size_t errlen)
{
	size_t nc = 0;
	bool nomem;
	struct col *c = stack_cols(mdl, avail, &nc, &nomem);
	double *w = NULL, p = english(mdl, x, avail, cap_prior);
	long *at = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->score_alone = NAN;
	out->share_all = NAN;
	if (nomem)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (!c || !isfinite(p))
		goto out_free;
	out->bot = p >= threshold;
	w = malloc(mdl->n_features * sizeof(*w));
	at = malloc(mdl->n_features * sizeof(*at));
	if (!w || !at) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t f = 0; f < mdl->n_features; f++) {
		w[f] = NAN; /* every other feature at the population's mean (scaled 0) */
		at[f] = -1;
	}
	for (size_t i = 0; i < nc; i++)
		at[c[i].feature] = (long)i;
	out->share_all = 1;
	for (size_t k = 0; k < e->n && out->n < CLF_REASON_MAX && !out->holds; k++) {
		const struct clf_contrib *ct = &e->c[k];
		if ((out->bot ? ct->contribution <= 0 : ct->contribution >= 0) ||
		    ct->feature >= mdl->n_features || at[ct->feature] < 0 || isnan(ct->value))
			continue; /* keeps nothing where it is, or no scaler to read it by */
		const struct col *cl = &c[at[ct->feature]];
		double z = clf_scale(ct->value, cl->mean, cl->sd);
		struct clf_condition *cd = &out->c[out->n++];
		cd->feature = ct->feature;
		cd->at_least = z >= 0;
		cd->bound = ct->value;
		cd->share = tail((clf_slog(ct->value) - cl->mean) / cl->sd, cd->at_least);
		out->share_all *= cd->share;
		w[ct->feature] = ct->value;
		out->score_alone = english(mdl, w, avail, cap_prior);
		out->holds = isfinite(out->score_alone) && !flipped(out->score_alone, threshold, out->bot);
	}
	if (!out->n)
		out->share_all = NAN;
out_free:
	free(at);
	free(w);
	free(c);
	return rc;
}
