/*
 * clf_score.c — scoring one account with a loaded model, and the score
 * record (docs/SCORES.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bw_time.h"
#include "clf_int.h"
#include "post.h"

const char *clf_status_name(enum clf_status st)
{
	switch (st) {
	case CLF_STATUS_OK: return "ok";
	case CLF_STATUS_PROFILE_ONLY: return "profile_only";
	case CLF_STATUS_POSTS_ONLY: return "posts_only";
	case CLF_STATUS_INSUFFICIENT: return "insufficient_data";
	}
	return "?";
}

/* Decision value of group g of a head on raw features x (NaN when the group
 * is absent or not computable). lx caches clf_slog(x[j]) (NaN = not yet),
 * shared by every head, since the log dominates the cost of scoring. */
static double group_dec(const struct clf_mgroup *g, const double *x, double *lx, uint32_t avail)
{
	enum { CHUNK = 256 };
	double buf[CHUNK], *row = buf;
	buf[0] = 0;
	if (!g || (g->req & ~avail))
		return NAN;
	if (g->fw) { /* linear: scaler folded into the weights */
		double f = g->fb;
		for (size_t k = 0; k < g->ncol; k++) {
			double v = lx[g->cols[k]];
			if (isnan(v))
				v = lx[g->cols[k]] = clf_slog(x[g->cols[k]]);
			if (isnan(v)) /* masked: the population mean, z = 0 */
				v = g->mean[k];
			v = v < g->lo[k] ? g->lo[k] : v > g->hi[k] ? g->hi[k] : v;
			f += g->fw[k] * v;
		}
		return f;
	}
	if (g->ncol > CHUNK) {
		row = malloc(g->ncol * sizeof(double));
		if (!row)
			return NAN;
	}
	for (size_t k = 0; k < g->ncol; k++) {
		double v = lx[g->cols[k]];
		if (isnan(v))
			v = lx[g->cols[k]] = clf_slog(x[g->cols[k]]);
		double z = isnan(v) ? 0 : (v - g->mean[k]) / g->sd[k]; /* NaN: masked */
		row[k] = z > CLF_CLIP ? CLF_CLIP : z < -CLF_CLIP ? -CLF_CLIP : z;
	}
	double d = clf_svm_decision(g->svm, row);
	if (row != buf)
		free(row);
	return d;
}

/* Lazily computed per-account values shared by the stacks. */
struct lazy {
	double dec[CLF_MAX_TYPES + 1][CLF_N_GROUPS]; /* group decisions; INFINITY = not yet */
	double *lx;                                  /* slog cache over the features */
	bool declared;                               /* clf_declares() of the account */
};

/* Probability of a stack, computing group decisions lazily. */
static double stack_prob(const struct clf_model *mdl, int s, const double *x, uint32_t avail,
			 struct lazy *lz)
{
	if (s < 0)
		return NAN;
	const struct clf_mstack *st = &mdl->stacks[s];
	const struct clf_mentry *e = clf_stack_entry(st, avail);
	if (!e)
		return NAN;
	double dv[CLF_N_GROUPS];
	for (size_t k = 0; k < e->nuse; k++) {
		double *d = &lz->dec[st->head][e->use[k]];
		if (isinf(*d))
			*d = group_dec(mdl->heads[st->head].grp[e->use[k]], x, lz->lx, avail);
		dv[k] = *d;
	}
	double f = clf_entry_logit(e, dv, lz->declared, NULL);
	if (!isfinite(f))
		return NAN;
	return clf_sigmoid(f);
}

/* Whether the account's profile lies within the english stack's head's training
 * support: for each of its profile groups with a stored support, the RMS of
 * the scaled values (masked = 0) at most the training 99th percentile.
 * 1, 0, or -1 when no group could be checked. lx is the slog cache. */
static int support_of(const struct clf_model *mdl, const double *x, double *lx, uint32_t avail)
{
	int checked = -1;
	if (mdl->st_english < 0)
		return -1;
	const struct clf_mhead *h = &mdl->heads[mdl->stacks[mdl->st_english].head];
	for (int gi = 0; gi < CLF_N_GROUPS; gi++) {
		const struct clf_mgroup *g = h->grp[gi];
		if (!g || !(g->support > 0) || (g->req & ~avail) || clf_group_is_activity(gi))
			continue;
		double ss = 0;
		for (size_t k = 0; k < g->ncol; k++) {
			double v = lx[g->cols[k]];
			if (isnan(v))
				v = lx[g->cols[k]] = clf_slog(x[g->cols[k]]);
			double z = isnan(v) ? 0 : (v - g->mean[k]) / g->sd[k];
			z = z > CLF_CLIP ? CLF_CLIP : z < -CLF_CLIP ? -CLF_CLIP : z;
			ss += z * z;
		}
		if (sqrt(ss / (double)(g->ncol ? g->ncol : 1)) > g->support)
			return 0;
		checked = 1;
	}
	return checked;
}

/* CAP = P(bot | p >= s) = prior B(s) / (prior B(s) + (1 - prior) H(s)). */
static double cap_of(const struct clf_model *mdl, int v, double p, double prior)
{
	if (!isfinite(p))
		return NAN;
	int k = (int)floor(p * (CLF_CAP_GRID - 1) + 1e-9);
	k = k < 0 ? 0 : k >= CLF_CAP_GRID ? CLF_CAP_GRID - 1 : k;
	for (; k >= 0; k--) { /* above the highest training score: the last defined value */
		double b = prior * mdl->cap_bot[v][k], h = (1 - prior) * mdl->cap_human[v][k];
		if (b + h > 0)
			return b / (b + h);
	}
	return prior;
}

void clf_score(const struct clf_model *mdl, const double *x, uint32_t avail, double cap_prior,
	       struct clf_score *out)
{
	enum { STACK_FEATURES = 2048 };
	double lx_buf[STACK_FEATURES];
	struct lazy lz;
	memset(out, 0, sizeof(*out));
	lz.lx = mdl->n_features <= STACK_FEATURES ? lx_buf : malloc(mdl->n_features * sizeof(double));
	out->avail = avail & CLF_AVAIL_ALL;
	out->n_types = mdl->ntypes;
	out->in_support = -1;
	if (!lz.lx) { /* out of memory: nothing computable */
		out->english = out->universal = out->cap_english = out->cap_universal = NAN;
		for (int c = 0; c < CLF_NCLASS; c++)
			out->categories[c] = NAN;
		for (size_t t = 0; t < mdl->ntypes; t++)
			out->raw[t] = NAN;
		out->status = CLF_STATUS_INSUFFICIENT;
		return;
	}
	for (size_t j = 0; j < mdl->n_features; j++)
		lz.lx[j] = NAN;
	lz.declared = clf_declares(x, mdl->n_features, NULL);
	for (size_t h = 0; h < mdl->nhead; h++)
		for (int g = 0; g < CLF_N_GROUPS; g++)
			lz.dec[h][g] = INFINITY;
	out->english = stack_prob(mdl, mdl->st_english, x, out->avail, &lz);
	out->universal = stack_prob(mdl, mdl->st_universal, x, out->avail, &lz);
	out->cap_english = cap_of(mdl, 0, out->english, cap_prior);
	out->cap_universal = cap_of(mdl, 1, out->universal, cap_prior);
	for (int c = 0; c < CLF_NCLASS; c++)
		out->categories[c] = stack_prob(mdl, mdl->st_class[c], x, out->avail, &lz);
	for (size_t t = 0; t < mdl->ntypes; t++)
		out->raw[t] = stack_prob(mdl, mdl->st_type[t], x, out->avail, &lz);
	out->in_support = support_of(mdl, x, lz.lx, out->avail);
	if (lz.lx != lx_buf)
		free(lz.lx);
	bool act = out->avail & CLF_AVAIL_ACTIVITY;
	bool prof = out->avail & (CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS);
	if (!isfinite(out->english))
		out->status = CLF_STATUS_INSUFFICIENT;
	else if (act && prof)
		out->status = CLF_STATUS_OK;
	else
		out->status = act ? CLF_STATUS_POSTS_ONLY : CLF_STATUS_PROFILE_ONLY;
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *clf_score_to_json(const struct clf_model *mdl, const struct clf_score *sc,
			  const struct clf_record_info *info)
{
	json_t *o = json_object(), *cats = json_object(), *raw = json_object();
	char ts[40];
	if (!o || !cats || !raw) {
		json_decref(o);
		json_decref(cats);
		json_decref(raw);
		return NULL;
	}
	json_object_set_new(o, "user_id", json_string(info->user_id));
	json_object_set_new(o, "screen_name",
			    info->screen_name ? json_string(info->screen_name) : json_null());
	json_object_set_new(o, "status", json_string(clf_status_name(sc->status)));
	json_object_set_new(o, "score", jnum(sc->english));
	json_object_set_new(o, "english", jnum(sc->english));
	json_object_set_new(o, "universal", jnum(sc->universal));
	json_t *cap = json_object();
	json_object_set_new(cap, "english", jnum(sc->cap_english));
	json_object_set_new(cap, "universal", jnum(sc->cap_universal));
	json_object_set_new(o, "cap", cap);
	for (int c = 0; c < CLF_NCLASS; c++)
		json_object_set_new(cats, clf_class_names[c], jnum(sc->categories[c]));
	json_object_set_new(o, "categories", cats);
	for (size_t t = 0; t < sc->n_types && t < mdl->ntypes; t++)
		json_object_set_new(raw, clf_model_type_name(mdl, t), jnum(sc->raw[t]));
	json_object_set_new(o, "raw_scores", raw);
	json_t *ev = json_array();
	static const char *const bits[3] = { "profile_text", "profile_counts", "posts" };
	for (int b = 0; b < 3; b++)
		if (sc->avail & (1u << b))
			json_array_append_new(ev, json_string(bits[b]));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "model_version", json_string(clf_model_id(mdl)));
	json_object_set_new(o, "feature_schema", json_string(clf_model_schema(mdl)));
	json_object_set_new(o, "scored_at", info->scored_at_ms == BW_TIME_NONE
						    ? json_null()
						    : json_string(bw_time_format(info->scored_at_ms, ts,
										 sizeof(ts))));
	json_object_set_new(o, "posts_seen", json_integer((json_int_t)info->posts_seen));
	json_object_set_new(o, "in_support", sc->in_support < 0 ? json_null()
							       : json_boolean(sc->in_support));
	return o;
}

void clf_avail_update(struct clf_avail_state *st, const struct bw_post *p)
{
	const struct bw_profile *a = &p->author;
	if (p->kind == BW_POST_DELETE)
		return;
	if (a->screen_name || a->name || a->description)
		st->seen |= CLF_AVAIL_TEXT;
	if (a->followers_count >= 0 && a->friends_count >= 0 && a->statuses_count >= 0 &&
	    a->created_at_ms != BW_TIME_NONE)
		st->seen |= CLF_AVAIL_COUNTS;
	if (p->kind != BW_POST_PROFILE && !(p->flags & BW_POSTF_EMBEDDED))
		st->posts++;
}

uint32_t clf_avail_mask(const struct clf_avail_state *st)
{
	return (st->seen & (CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS)) |
	       (st->posts >= CLF_MIN_POSTS ? CLF_AVAIL_ACTIVITY : 0);
}

char *clf_score_record(const struct clf_model *mdl, const struct clf_score *sc,
		       const struct clf_record_info *info)
{
	json_t *rec = clf_score_to_json(mdl, sc, info);
	char *txt = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

	json_decref(rec);
	return txt;
}
