/*
 * api_explain.c — GET /v1/accounts/{id}/explain: why an account got its
 * score.
 *
 * The classifier exposes scoring only, so contributions are measured on the
 * loaded model by occlusion: a feature's contribution is the account's
 * overall (english) score minus the score recomputed with that one feature
 * set to its centre — the value the model's scaler maps to 0, i.e. the
 * typical training account (see api_model.c). Positive means the feature's
 * value pushed the score up. Features are ranked by the same difference in
 * log-odds (`contribution_logit`), which stays informative where the score
 * saturates near 0 or 1. Features no computable group uses contribute
 * exactly 0 and are not ranked. Cost: one clf_score() per used feature.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_err.h"
#include "clf.h"
#include "feat.h"
#include "store.h"

#define TOP_DEFAULT 10
#define TOP_MAX 100

/* One ranked feature. */
struct contrib {
	size_t index; /* registry index */
	double delta; /* score minus score at the centre */
	double logit; /* the same difference in log-odds (the ranking key) */
};

static double logit(double p)
{
	const double eps = 1e-12;
	p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
	return log(p / (1 - p));
}

static int by_magnitude(const void *a, const void *b)
{
	double x = fabs(((const struct contrib *)a)->logit);
	double y = fabs(((const struct contrib *)b)->logit);
	if (x != y)
		return x < y ? 1 : -1;
	return ((const struct contrib *)a)->index < ((const struct contrib *)b)->index ? -1 : 1;
}

/* CLF_AVAIL_* bits from a record's "evidence" array. */
static uint32_t evidence_mask(const json_t *rec)
{
	static const struct { const char *name; uint32_t bit; } map[] = {
		{ "profile_text", CLF_AVAIL_TEXT },
		{ "profile_counts", CLF_AVAIL_COUNTS },
		{ "posts", CLF_AVAIL_ACTIVITY },
	};
	const json_t *v;
	uint32_t mask = 0;
	size_t i;

	json_array_foreach(json_object_get(rec, "evidence"), i, v)
		for (size_t k = 0; k < 3; k++)
			if (json_is_string(v) && strcmp(json_string_value(v), map[k].name) == 0)
				mask |= map[k].bit;
	return mask;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *class_scores(const struct clf_score *sc)
{
	json_t *o = json_object();
	for (int c = 0; c < CLF_NCLASS; c++)
		json_object_set_new(o, feat_class_name((enum feat_class)c), num(sc->categories[c]));
	return o;
}

/* Rank every used feature by |contribution|; returns the number ranked. */
static size_t rank(const struct api_model *m, double *x, uint32_t avail, double prior,
		   double base, struct contrib *out)
{
	struct clf_score sc;
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (!isfinite(m->centre[i]))
			continue;
		double keep = x[i];
		x[i] = m->centre[i];
		clf_score(m->mdl, x, avail, prior, &sc);
		x[i] = keep;
		if (isfinite(sc.english) && sc.english != base)
			out[n++] = (struct contrib){ i, base - sc.english,
						     logit(base) - logit(sc.english) };
	}
	qsort(out, n, sizeof(*out), by_magnitude);
	return n;
}

static json_t *explain_json(struct api_server *srv, const json_t *rec, double *x, size_t top)
{
	const struct api_model *m = srv->model;
	uint32_t avail = evidence_mask(rec);
	struct clf_score sc;
	struct contrib *c = malloc(m->n * sizeof(*c));
	json_t *tops = json_array(), *all = json_object();

	if (!c || !tops || !all)
		goto out_fail;
	clf_score(m->mdl, x, avail, srv->opts.cap_prior, &sc);
	size_t n = rank(m, x, avail, srv->opts.cap_prior, sc.english, c);
	for (size_t k = 0; k < n && k < top; k++) {
		const struct feat_def *d = feat_def_get(c[k].index);
		json_array_append_new(tops, json_pack("{s:s, s:s, s:s, s:o, s:o, s:f, s:f}", "name",
			d->name, "class", feat_class_name(d->cls), "description", d->description,
			"value", num(x[c[k].index]), "centre", num(m->centre[c[k].index]),
			"contribution", c[k].delta, "contribution_logit", c[k].logit));
	}
	for (size_t i = 0; i < m->n; i++)
		json_object_set_new(all, feat_def_get(i)->name, num(x[i]));
	free(c);
	return json_pack("{s:O?, s:O?, s:s, s:o, s:o, s:O?, s:s, s:s, s:o, s:o, s:o}",
		"user_id", json_object_get(rec, "user_id"), "screen_name", json_object_get(rec, "screen_name"),
		"status", clf_status_name(sc.status), "score", num(sc.english), "universal", num(sc.universal),
		"record_model_version", json_object_get(rec, "model_version"),
		"model_version", clf_model_id(m->mdl),
		"method", "occlusion: score minus the score with the feature at the model's training centre",
		"categories", class_scores(&sc), "top_features", tops, "features", all);

out_fail:
	free(c);
	json_decref(tops);
	json_decref(all);
	return NULL;
}

/* ?top=N (1..TOP_MAX); 0 on a bad value. */
static size_t parse_top(const struct api_request *req)
{
	const char *v = api_arg(req, "top");
	char *end;

	if (!v)
		return TOP_DEFAULT;
	errno = 0;
	long t = strtol(v, &end, 10);
	return (errno || end == v || *end || t < 1 || t > TOP_MAX) ? 0 : (size_t)t;
}

/* The record (parsed) and feature vector of `id`, read from one snapshot so
 * they belong to the same write. 0, or an error written to resp (returns 1). */
static int load_account(struct api_server *srv, const char *id, json_t **rec, double **x,
			size_t *n, struct api_response *resp)
{
	int err = 0;
	size_t len = 0;
	struct bw_store_read *rd = store_read_begin(srv->store, &err);
	const char *text;

	*rec = NULL;
	*x = NULL;
	if (!rd)
		return api_error(resp, 500, "store: %s", bw_strerror(err)), 1;
	if (!(text = store_read_get(rd, id, &len, &err))) {
		store_read_end(rd);
		if (err == BW_ENOENT)
			return api_json_response(resp, 404, json_pack("{s:s, s:s}", "id", id, "status",
								      "not_found")), 1;
		return api_error(resp, 500, "store: %s", bw_strerror(err)), 1;
	}
	*rec = json_loadb(text, len, 0, NULL);
	*x = store_read_get_features(rd, id, n, &err);
	store_read_end(rd);
	if (!*x) {
		json_decref(*rec);
		*rec = NULL;
		return api_error(resp, err == BW_ENOENT ? 404 : 500, "no feature vector stored for %s",
				 id), 1;
	}
	return 0;
}

int api_route_explain(struct api_server *srv, const char *id, const struct api_request *req,
		      struct api_response *resp)
{
	static const char *const known[] = { "top" };
	size_t top = parse_top(req), n = 0;
	json_t *rec;
	double *x;

	if (!api_valid_id(id))
		return api_error(resp, 400, "invalid account id '%.64s'", id);
	if (api_check_args(req, known, 1, resp))
		return 0;
	if (!top)
		return api_error(resp, 400, "top must be an integer in [1, %d]", TOP_MAX);
	if (!srv->model)
		return api_error(resp, 503, "no model loaded (score.model)");
	if (load_account(srv, id, &rec, &x, &n, resp))
		return 0;
	if (n != srv->model->n) {
		json_decref(rec);
		free(x);
		return api_error(resp, 409, "stored feature vector has %zu values; the loaded model expects %zu", n, srv->model->n);
	}
	json_t *out = explain_json(srv, rec, x, top);
	json_decref(rec);
	free(x);
	return out ? api_json_response(resp, 200, out) : api_error(resp, 500, "out of memory");
}
