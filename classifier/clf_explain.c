/*
 * clf_explain.c — per-feature contributions to one account's score, for
 * GET /v1/accounts/{id}/explain (docs/MODEL.md, "Explanations").
 *
 * A stack's score is sigmoid(logit), logit = b + Σ_g w_g d_g over the groups
 * of the availability entry the account uses, where d_g is group g's SVM
 * decision value on the scaled columns z (z = clipped standardised signed
 * log, 0 = the training population's mean).
 *
 * Linear group: d_g = bias_g + Σ_k v_k z_k exactly, so feature k contributes
 * w_g v_k z_k log-odds and the contributions plus the explanation's `bias`
 * sum to the logit. RBF group: no additive form exists; feature k's
 * contribution is w_g (d_g(z) − d_g(z with z_k = 0)), the change when the
 * feature is moved to the population mean (occlusion). Those need not sum
 * to the logit (`exact` is false then). A column used by a linear group and
 * its RBF twin (the mixed kernel) is one entry: the sum of both parts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf_int.h"

static int stack_by_name(const struct clf_model *mdl, const char *name)
{
	if (!name)
		return mdl->st_english;
	for (size_t s = 0; s < mdl->nstack; s++)
		if (strcmp(mdl->stacks[s].name, name) == 0)
			return (int)s;
	return -1;
}

/* Scaled columns of group g for x into z[0..ncol). */
static void group_row(const struct clf_mgroup *g, const double *x, double *z)
{
	for (size_t k = 0; k < g->ncol; k++)
		z[k] = clf_scale(x[g->cols[k]], g->mean[k], g->sd[k]);
}

/* Contributions of one group's columns, weighted by the stack weight w,
 * appended at out[*n]; adds the group's unattributed part to *bias and its
 * term to *logit. Returns 0 or BW_ENOMEM. */
static int explain_group(const struct clf_mgroup *g, const char *gname, double w, const double *x,
			 struct clf_contrib *out, size_t *n, double *bias, double *logit,
			 bool *exact)
{
	double *z = malloc((g->ncol ? g->ncol : 1) * sizeof(double));
	if (!z)
		return BW_ENOMEM;
	group_row(g, x, z);
	double d = clf_svm_decision(g->svm, z), attributed = 0;
	for (size_t k = 0; k < g->ncol; k++) {
		struct clf_contrib *c = &out[(*n)++];
		c->feature = g->cols[k];
		c->group = gname;
		c->value = x[g->cols[k]];
		c->scaled = z[k];
		if (g->fw) { /* fw = sign * w_k / sd: sign * w_k * z_k = fw * sd * z */
			c->contribution = w * g->fw[k] * g->sd[k] * z[k];
		} else {
			double keep = z[k];
			z[k] = 0;
			c->contribution = w * (d - clf_svm_decision(g->svm, z));
			z[k] = keep;
		}
		attributed += c->contribution;
	}
	free(z);
	if (!g->fw)
		*exact = false;
	*bias += w * d - attributed;
	*logit += w * d;
	return 0;
}

/* Decision value of group g on raw features x into *d; BW_ENOMEM or 0. */
static int group_decision(const struct clf_mgroup *g, const double *x, double *d)
{
	double *z = malloc((g->ncol ? g->ncol : 1) * sizeof(double));
	if (!z)
		return BW_ENOMEM;
	group_row(g, x, z);
	*d = clf_svm_decision(g->svm, z);
	free(z);
	return 0;
}

/* Entries of one feature (a column in a linear group and in its RBF twin)
 * summed into the first, under the first's group name: *n shrinks. One pass,
 * with each feature's first entry looked up by registry index (features are
 * < n_features). 0 or BW_ENOMEM. */
static int merge_twins(struct clf_contrib *c, size_t *n, size_t n_features)
{
	size_t *first = malloc((n_features ? n_features : 1) * sizeof(size_t)), o = 0;
	if (!first)
		return BW_ENOMEM;
	for (size_t f = 0; f < n_features; f++)
		first[f] = SIZE_MAX;
	for (size_t i = 0; i < *n; i++) {
		size_t *j = &first[c[i].feature];
		if (*j != SIZE_MAX) {
			c[*j].contribution += c[i].contribution;
		} else {
			*j = o;
			c[o++] = c[i];
		}
	}
	*n = o;
	free(first);
	return 0;
}

static int by_magnitude(const void *a, const void *b)
{
	const struct clf_contrib *x = a, *y = b;
	double u = fabs(x->contribution), v = fabs(y->contribution);
	if (u != v)
		return u > v ? -1 : 1;
	return x->feature < y->feature ? -1 : x->feature > y->feature; /* stable for ties */
}

int clf_explain(const struct clf_model *mdl, const double *x, uint32_t avail, const char *stack,
		struct clf_explanation *out, char *errstr, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int s = stack_by_name(mdl, stack);
	if (s < 0)
		return bw_seterr(errstr, errlen, BW_ENOENT, "model has no score named '%s'",
				 stack ? stack : "english");
	const struct clf_mstack *st = &mdl->stacks[s];
	const struct clf_mentry *e = clf_stack_entry(st, avail & CLF_AVAIL_ALL);
	const struct clf_mhead *h = &mdl->heads[st->head];
	out->stack = st->name;
	out->exact = true;
	out->logit = out->bias = e ? e->b : NAN;
	if (!e)
		return 0; /* nothing computable: no contributions, logit NaN */
	size_t cap = 1; /* the declaration term */
	for (size_t k = 0; k < e->nuse; k++)
		cap += h->grp[e->use[k]] ? h->grp[e->use[k]]->ncol : 0;
	if (!(out->c = malloc(cap * sizeof(*out->c))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	/* the activity part may be clipped (act_cap): scale its contributions by
	 * the clip factor so that bias + contributions still equal the logit */
	double dv[CLF_N_GROUPS], scale = 1;
	bool act = false;
	for (size_t k = 0; k < e->nuse; k++) {
		const struct clf_mgroup *g = h->grp[e->use[k]];
		if (!g || group_decision(g, x, &dv[k])) {
			free(out->c);
			out->c = NULL;
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		}
		act = act || clf_group_is_activity(e->use[k]);
	}
	long decl_col;
	bool declared = clf_declares(x, mdl->n_features, &decl_col);
	clf_entry_logit(e, dv, declared, &scale);
	if (declared && e->decl_w > 0) { /* one term: the first declaring column */
		struct clf_contrib *c = &out->c[out->n++];
		c->feature = (size_t)decl_col;
		c->group = "declaration";
		c->value = x[decl_col];
		c->scaled = 1;
		c->contribution = e->decl_w;
		out->logit += e->decl_w;
	}
	if (act) {
		out->bias += scale * e->act_b;
		out->logit += scale * e->act_b;
	}
	for (size_t k = 0; k < e->nuse; k++) {
		const struct clf_mgroup *g = h->grp[e->use[k]];
		double w = clf_group_is_activity(e->use[k]) ? scale * e->w[k] : e->w[k];
		if (explain_group(g, clf_groups[g->def].name, w, x, out->c, &out->n,
				  &out->bias, &out->logit, &out->exact)) {
			clf_explanation_free(out);
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		}
	}
	if (merge_twins(out->c, &out->n, mdl->n_features)) {
		clf_explanation_free(out);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	qsort(out->c, out->n, sizeof(*out->c), by_magnitude);
	out->score = clf_sigmoid(out->logit);
	return 0;
}

void clf_explanation_free(struct clf_explanation *e)
{
	if (!e)
		return;
	free(e->c);
	e->c = NULL;
	e->n = 0;
}
