/*
 * api_whatif.c — POST /v1/whatif (and `botwatch whatif`, through
 * api_whatif()): an account's score with some of its inputs changed, how
 * each feature's contribution moved, the nearest flips, and the rule-style
 * reason `explain` also gives (docs/API.md, docs/AUDIT.md).
 *
 * The account is a stored one ({"user_id"}: its stored vector and evidence)
 * or one given inline ({"user", "timeline"}: decoded and folded as
 * POST /4/check_account does). "overrides" maps registry feature names
 * (user.followers_count) to new values, set in the vector, and — for an
 * inline account — profile field names (followers_count) to new values, set
 * in the user object and every timeline post's embedded user before the
 * features are extracted again, so derived features (growth rates, ratios)
 * follow. A stored account keeps no profile, only its vector: profile fields
 * are refused there with a pointer to the feature names.
 *
 * Contributions come from clf_explain() and flips and reasons from
 * clf_nearest_flips() / clf_reason(): nothing here computes a score itself.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"
#include "feat.h"
#include "store.h"

#define WHATIF_TOP 20     /* contribution moves listed by default */
#define WHATIF_FLIPS 5    /* nearest flips listed */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static const char *feat_name(size_t i)
{
	return i < feat_count() ? feat_def_get(i)->name : "?";
}

json_t *api_reason_json(const struct clf_model *mdl, const double *x, uint32_t avail,
			double cap_prior, double threshold, const struct clf_explanation *e)
{
	struct clf_reason r;
	char err[128], text[1024];
	size_t off = 0;
	json_t *conds;

	if (clf_reason(mdl, x, avail, cap_prior, threshold, e, &r, err, sizeof(err)) ||
	    !(conds = json_array()))
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < r.n; i++) {
		const struct clf_condition *c = &r.c[i];
		json_array_append_new(conds, json_pack("{s:s, s:s, s:o, s:o}", "feature",
			feat_name(c->feature), "op", c->at_least ? ">=" : "<=", "value", num(c->bound),
			"training_share", num(c->share)));
		if (off < sizeof(text))
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"%s%s %s %.6g (~%.0f%% of training accounts)",
						i ? " AND " : "", feat_name(c->feature),
						c->at_least ? ">=" : "<=", c->bound, 100 * c->share);
	}
	if (off < sizeof(text) && r.n)
		snprintf(text + off, sizeof(text) - off, " => %s%s", r.bot ? "bot" : "human",
			 r.holds ? "" : " (not sufficient alone)");
	return json_pack("{s:s, s:s, s:f, s:o, s:b, s:o, s:o, s:s}", "text", text, "decision",
			 r.bot ? "bot" : "human", "threshold", threshold, "conditions", conds,
			 "holds", r.holds, "score_with_only_these", num(r.score_alone),
			 "training_share_all", num(r.share_all), "basis",
			 "shares estimated from the model's scaler (signed-log values taken as normal "
			 "with the training mean and sd); 'holds' checked by scoring with every other "
			 "feature at the training mean");
}

/* ---- the request ------------------------------------------------------------------ */

/* One what-if: inputs and the two vectors. */
struct whatif {
	const json_t *body;     /* the request (borrowed) */
	const char *user_id;    /* the account */
	char idbuf[32];         /* its id when given as a number */
	double *x0, *x1;        /* before / after the overrides (feat_count() each, owned) */
	uint32_t a0, a1;        /* their evidence masks */
	double threshold;       /* decision threshold */
	size_t top;             /* contribution moves listed */
};

static int check_body(struct whatif *w, char *errstr, size_t errlen)
{
	static const char *const known[] = { "user_id", "user", "timeline", "overrides", "threshold",
					     "top" };
	const json_t *b = w->body, *v;
	const char *k;

	if (!json_is_object(b))
		return bw_seterr(errstr, errlen, BW_EINVAL, "expected a JSON object");
	json_object_foreach((json_t *)b, k, v) {
		size_t i = 0;
		while (i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]) != 0)
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return bw_seterr(errstr, errlen, BW_EINVAL, "unknown field '%.64s'", k);
	}
	if (!json_object_get(b, "user_id") == !json_object_get(b, "user"))
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "give either \"user_id\" (a stored account) or \"user\" (with "
				 "\"timeline\")");
	if ((v = json_object_get(b, "overrides")) && !json_is_object(v))
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"overrides\" must be an object");
	if ((v = json_object_get(b, "timeline")) && !json_is_array(v))
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"timeline\" must be an array");
	if ((v = json_object_get(b, "user")) && !json_is_object(v))
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"user\" must be an object");
	w->threshold = 0.5;
	if ((v = json_object_get(b, "threshold")) &&
	    (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1)))
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"threshold\" must be a number in (0, 1)");
	if (v)
		w->threshold = json_number_value(v);
	w->top = WHATIF_TOP;
	if ((v = json_object_get(b, "top")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 2000))
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"top\" must be an integer in [1, 2000]");
	if (v)
		w->top = (size_t)json_integer_value(v);
	return 0;
}

/* The stored account's vector and evidence into x0 / a0. */
static int load_stored(struct whatif *w, struct bw_store *st, const struct clf_model *mdl,
		       char *errstr, size_t errlen)
{
	const json_t *id = json_object_get(w->body, "user_id");
	struct bw_store_read *rd;
	const char *text;
	size_t len = 0, n = 0;
	int err = 0;

	if (json_is_integer(id) && json_integer_value(id) >= 0) {
		snprintf(w->idbuf, sizeof(w->idbuf), "%lld", (long long)json_integer_value(id));
		w->user_id = w->idbuf;
	} else if (json_is_string(id) && api_valid_id(json_string_value(id))) {
		w->user_id = json_string_value(id);
	} else {
		return bw_seterr(errstr, errlen, BW_EINVAL, "\"user_id\" is not an account id");
	}
	if (!st)
		return bw_seterr(errstr, errlen, BW_EINVAL, "no store to read account %s from",
				 w->user_id);
	if (!(rd = store_read_begin(st, &err)))
		return bw_seterr(errstr, errlen, BW_ESTORE, "store: %s", bw_strerror(err));
	if (!(text = store_read_get(rd, w->user_id, &len, &err))) {
		store_read_end(rd);
		return bw_seterr(errstr, errlen, err == BW_ENOENT ? BW_ENOENT : BW_ESTORE,
				 "account %s: %s", w->user_id, bw_strerror(err));
	}
	json_t *rec = json_loadb(text, len, 0, NULL);
	w->a0 = api_evidence_mask(rec);
	json_decref(rec);
	w->x0 = store_read_get_features(rd, w->user_id, &n, &err);
	store_read_end(rd);
	if (!w->x0)
		return bw_seterr(errstr, errlen, err == BW_ENOENT ? BW_ENOENT : BW_ESTORE,
				 "no feature vector stored for %s", w->user_id);
	if (n != clf_model_n_features(mdl))
		return bw_seterr(errstr, errlen, BW_ESCHEMA,
				 "stored feature vector has %zu values; the model expects %zu", n,
				 clf_model_n_features(mdl));
	return 0;
}

/* Copy of `user` / `timeline` with the profile-field overrides set. */
static void apply_profile(const json_t *ov, json_t *user, json_t *timeline)
{
	const char *k;
	json_t *v, *p;
	size_t i;

	json_object_foreach((json_t *)ov, k, v) {
		if (feat_index(k) >= 0)
			continue;
		json_object_set(user, k, v);
		json_array_foreach(timeline, i, p) {
			json_t *u = json_object_get(p, "user");
			if (json_is_object(u))
				json_object_set(u, k, v);
		}
	}
}

/* Vectors of an inline account: x0 as given, x1 with the profile overrides. */
static int load_inline(struct whatif *w, size_t max_unit, char *errstr, size_t errlen)
{
	const json_t *user = json_object_get(w->body, "user"), *tl = json_object_get(w->body, "timeline");
	const json_t *ov = json_object_get(w->body, "overrides"), *v;
	int64_t now = bw_time_now_ms(); /* one probe time for both: only the overrides differ */
	const char *k;
	bool profile = false;
	int rc;

	json_object_foreach((json_t *)ov, k, v)
		profile = profile || feat_index(k) < 0;
	if ((rc = api_account_features(max_unit, user, tl, now, w->x0, &w->a0, errstr, errlen)))
		return rc;
	if (!profile) {
		memcpy(w->x1, w->x0, feat_count() * sizeof(double));
		w->a1 = w->a0;
		return 0;
	}
	json_t *u2 = json_deep_copy(user), *t2 = tl ? json_deep_copy(tl) : json_array();
	if (!u2 || !t2) {
		json_decref(u2);
		json_decref(t2);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	apply_profile(ov, u2, t2);
	rc = api_account_features(max_unit, u2, t2, now, w->x1, &w->a1, errstr, errlen);
	json_decref(u2);
	json_decref(t2);
	return rc;
}

/* The feature-name overrides into x1; profile names refused for a stored account. */
static int apply_features(struct whatif *w, bool stored, char *errstr, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(w->body, "overrides"), k, v) {
		long f = feat_index(k);
		if (f < 0 && stored)
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "'%.64s' is not a feature name; a stored account keeps only its "
					 "feature vector, so override registry features (e.g. "
					 "user.followers_count) or send {\"user\", \"timeline\"}", k);
		if (f < 0)
			continue;
		if (!json_is_number(v) && !json_is_null(v) && !json_is_boolean(v))
			return bw_seterr(errstr, errlen, BW_EINVAL, "override of %.64s must be a number",
					 k);
		w->x1[f] = json_is_null(v) ? NAN : json_is_boolean(v) ? (json_is_true(v) ? 1 : 0)
									: json_number_value(v);
	}
	return 0;
}

/* ---- the answer ------------------------------------------------------------------- */

static json_t *side(const struct clf_score *sc, double t)
{
	return json_pack("{s:o, s:s, s:s}", "score", num(sc->english), "decision",
			 !isfinite(sc->english) ? "none" : sc->english >= t ? "bot" : "human",
			 "status", clf_status_name(sc->status));
}

struct move {
	size_t f;       /* feature */
	double a, b;    /* contribution before / after */
};

static int by_move(const void *x, const void *y)
{
	const struct move *p = x, *q = y;
	double u = fabs(p->b - p->a), v = fabs(q->b - q->a);

	if (u != v)
		return u > v ? -1 : 1;
	return p->f < q->f ? -1 : p->f > q->f;
}

static bool same_value(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0 || (isnan(a) && isnan(b));
}

/* "changed_features" and "contributions" (the largest moves). */
static void moves_json(const struct whatif *w, const struct clf_explanation *e0,
		       const struct clf_explanation *e1, size_t n, json_t *out)
{
	struct move *m = calloc(n ? n : 1, sizeof(*m));
	json_t *chg = json_array(), *mv = json_array();

	for (size_t i = 0; m && i < n; i++)
		m[i].f = i;
	for (size_t k = 0; m && k < e0->n; k++)
		m[e0->c[k].feature].a += e0->c[k].contribution;
	for (size_t k = 0; m && k < e1->n; k++)
		m[e1->c[k].feature].b += e1->c[k].contribution;
	for (size_t i = 0; i < n; i++)
		if (!same_value(w->x0[i], w->x1[i]))
			json_array_append_new(chg, json_pack("{s:s, s:o, s:o}", "name", feat_name(i),
							     "before", num(w->x0[i]), "after",
							     num(w->x1[i])));
	if (m) {
		qsort(m, n, sizeof(*m), by_move);
		for (size_t i = 0; i < n && i < w->top && m[i].a != m[i].b; i++)
			json_array_append_new(mv, json_pack("{s:s, s:f, s:f, s:f, s:b}", "name",
				feat_name(m[i].f), "before", m[i].a, "after", m[i].b, "change",
				m[i].b - m[i].a, "changed_feature", !same_value(w->x0[m[i].f], w->x1[m[i].f])));
	}
	free(m);
	json_object_set_new(out, "changed_features", chg);
	json_object_set_new(out, "contributions", mv);
}

static json_t *flips_json(const struct clf_model *mdl, const struct whatif *w, double cap_prior)
{
	struct clf_flip f[WHATIF_FLIPS];
	char err[128];
	size_t n = 0;
	json_t *a = json_array();

	if (clf_nearest_flips(mdl, w->x1, w->a1, cap_prior, w->threshold, f, WHATIF_FLIPS, &n, err,
			      sizeof(err))) {
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:f, s:o}", "name",
			feat_name(f[i].feature), "from", num(f[i].from), "to", num(f[i].to),
			"change_scaled", f[i].dz, "score", num(f[i].score)));
	return a;
}

static int answer(const struct whatif *w, const struct clf_model *mdl, double cap_prior,
		  json_t **out, char *errstr, size_t errlen)
{
	size_t n = clf_model_n_features(mdl);
	struct clf_explanation e0, e1;
	struct clf_score s0, s1;
	int rc;

	clf_score(mdl, w->x0, w->a0, cap_prior, &s0);
	clf_score(mdl, w->x1, w->a1, cap_prior, &s1);
	if ((rc = clf_explain(mdl, w->x0, w->a0, NULL, &e0, errstr, errlen)))
		return rc;
	if ((rc = clf_explain(mdl, w->x1, w->a1, NULL, &e1, errstr, errlen))) {
		clf_explanation_free(&e0);
		return rc;
	}
	*out = json_pack("{s:s, s:s, s:f, s:o, s:o, s:s, s:s, s:o}", "user_id", w->user_id,
			 "model_version", clf_model_id(mdl), "threshold", w->threshold, "before",
			 side(&s0, w->threshold), "score", num(s1.english), "decision",
			 !isfinite(s1.english) ? "none" : s1.english >= w->threshold ? "bot" : "human",
			 "status", clf_status_name(s1.status), "score_change",
			 num(s1.english - s0.english));
	if (*out) {
		moves_json(w, &e0, &e1, n, *out);
		json_object_set_new(*out, "nearest_flips", flips_json(mdl, w, cap_prior));
		json_object_set_new(*out, "reason", api_reason_json(mdl, w->x1, w->a1, cap_prior,
								    w->threshold, &e1));
	}
	clf_explanation_free(&e0);
	clf_explanation_free(&e1);
	return *out ? 0 : bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
}

int api_whatif(struct bw_store *st, const struct clf_model *mdl, double cap_prior,
	       size_t max_unit, const json_t *body, json_t **out, char *errstr, size_t errlen)
{
	struct whatif w = { .body = body };
	size_t n = feat_count();
	bool stored;
	int rc;

	*out = NULL;
	if ((rc = check_body(&w, errstr, errlen)))
		return rc;
	if (clf_model_n_features(mdl) != n)
		return bw_seterr(errstr, errlen, BW_ESCHEMA, "the model reads %zu features; this build "
				 "has %zu", clf_model_n_features(mdl), n);
	stored = json_object_get(body, "user_id") != NULL;
	if (!stored) {
		w.user_id = json_string_value(json_object_get(json_object_get(body, "user"), "id_str"));
		if (!(w.x0 = malloc(n * sizeof(double))))
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	if (!(w.x1 = malloc(n * sizeof(double)))) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	rc = stored ? load_stored(&w, st, mdl, errstr, errlen) : load_inline(&w, max_unit, errstr, errlen);
	if (rc)
		goto out_free;
	if (stored) {
		memcpy(w.x1, w.x0, n * sizeof(double));
		w.a1 = w.a0;
	}
	if (!w.user_id)
		w.user_id = "";
	if (!(rc = apply_features(&w, stored, errstr, errlen)))
		rc = answer(&w, mdl, cap_prior, out, errstr, errlen);
out_free:
	free(w.x0);
	free(w.x1);
	return rc;
}

int api_route_whatif(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp)
{
	json_error_t jerr;
	json_t *body, *out = NULL;
	char err[512];
	int rc;

	if (!srv->model)
		return api_error(resp, 503, "no model loaded (score.model)");
	if (!req->body || !req->body_len)
		return api_error(resp, 400, "empty body: expected {\"user_id\": ID, \"overrides\": {...}}");
	if (!(body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)))
		return api_error(resp, 400, "invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	rc = api_whatif(srv->store, srv->model->mdl, srv->opts.cap_prior, srv->opts.max_body, body,
			&out, err, sizeof(err));
	json_decref(body);
	if (rc == 0)
		return api_json_response(resp, 200, out);
	return api_error(resp, rc == BW_EINVAL ? 400 : rc == BW_ENOENT ? 404 : rc == BW_ESCHEMA ? 409 : 500,
			 "%s", err);
}
