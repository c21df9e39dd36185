/*
 * api_explain.c — GET /v1/accounts/{id}/explain: why an account got its
 * score.
 *
 * The account's stored feature vector and evidence are explained with the
 * loaded model by clf_explain() (classifier/clf.h, docs/MODEL.md
 * "Explanations"): per-feature contributions in log-odds to one score
 * (`?score=`, default english), exact for linear groups (bias + Σ = logit),
 * occlusion for RBF groups. The response adds the class subscores, the
 * top features with their registry names and descriptions, and the full
 * vector. Record and vector are read from one store snapshot.
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

/* CLF_AVAIL_* bits from a record's "evidence" array. */
uint32_t api_evidence_mask(const json_t *rec)
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

static json_t *top_features(const struct clf_explanation *e, size_t top)
{
	json_t *a = json_array();

	for (size_t k = 0; a && k < e->n && k < top; k++) {
		const struct clf_contrib *c = &e->c[k];
		const struct feat_def *d = feat_def_get(c->feature);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name",
			d->name, "class", feat_class_name(d->cls), "group", c->group,
			"description", d->description, "value", num(c->value), "scaled",
			num(c->scaled), "contribution", num(c->contribution)));
	}
	return a;
}

static json_t *all_features(const double *x, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++)
		json_object_set_new(o, feat_def_get(i)->name, num(x[i]));
	return o;
}

static json_t *explain_json(struct api_server *srv, const json_t *rec, const double *x,
			    const struct clf_explanation *e, size_t top)
{
	const struct api_model *m = srv->model;
	struct clf_score sc;

	clf_score(m->mdl, x, api_evidence_mask(rec), srv->opts.cap_prior, &sc);
	return json_pack("{s:O?, s:O?, s:s, s:s, s:o, s:o, s:o, s:b, s:s, s:s, s:O?, s:o, s:o, s:o}",
		"user_id", json_object_get(rec, "user_id"), "screen_name",
		json_object_get(rec, "screen_name"), "status", clf_status_name(sc.status),
		"explained", e->stack, "score", num(isfinite(e->logit) ? e->score : NAN),
		"logit", num(e->logit), "bias", num(e->bias), "exact", e->exact,
		"contribution_unit", "log-odds", "model_version", clf_model_id(m->mdl),
		"record_model_version", json_object_get(rec, "model_version"),
		"categories", class_scores(&sc), "top_features", top_features(e, top),
		"features", all_features(x, m->n));
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
	static const char *const known[] = { "top", "score" };
	size_t top = parse_top(req), n = 0;
	struct clf_explanation e;
	char err[256];
	json_t *rec, *out;
	double *x;
	int rc;

	if (!api_valid_id(id))
		return api_error(resp, 400, "invalid account id '%.64s'", id);
	if (api_check_args(req, known, 2, resp))
		return 0;
	if (!top)
		return api_error(resp, 400, "top must be an integer in [1, %d]", TOP_MAX);
	if (!srv->model)
		return api_error(resp, 503, "no model loaded (score.model)");
	if (load_account(srv, id, &rec, &x, &n, resp))
		return 0;
	if (n != srv->model->n) {
		rc = api_error(resp, 409, "stored feature vector has %zu values; the loaded model expects %zu",
			       n, srv->model->n);
		goto out_free;
	}
	if ((rc = clf_explain(srv->model->mdl, x, api_evidence_mask(rec), api_arg(req, "score"), &e, err,
			      sizeof(err)))) {
		rc = api_error(resp, rc == BW_ENOENT ? 400 : 500, "%s", err);
		goto out_free;
	}
	out = explain_json(srv, rec, x, &e, top);
	if (out && (!api_arg(req, "score") || strcmp(api_arg(req, "score"), "english") == 0))
		json_object_set_new(out, "reason", api_reason_json(srv->model->mdl, x,
			api_evidence_mask(rec), srv->opts.cap_prior, API_DECISION_THRESHOLD, &e));
	clf_explanation_free(&e);
	rc = out ? api_json_response(resp, 200, out) : api_error(resp, 500, "out of memory");
out_free:
	json_decref(rec);
	free(x);
	return rc;
}
