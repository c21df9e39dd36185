/*
 * test_audit.c — the audit trail above the store (audit/audit.h), the
 * what-if machinery (clf_nearest_flips, clf_reason, api_whatif) and their
 * routes, on models/default.model and a small simulated population scored
 * into a store the way `botwatch replay --store` does it.
 *
 * Re-performance: every stored decision rescored identically; a decision
 * whose record does not match, and a rescore with another model, report
 * "different" (the latter feature by feature). What-if: the answer's score
 * is clf_score() of the changed vector; every nearest flip, applied, crosses
 * the threshold; a reason that "holds" holds when scored.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "clf_sim.h"
#include "feat.h"
#include "store.h"

#define PRIOR 0.15
#define MODEL "models/default.model"

static struct {
	char dir[64];              /* temp directory */
	struct clf_model *mdl;     /* the default model */
	struct clf_corpus *corpus; /* simulated accounts */
	struct bw_store *st;       /* their records and decisions */
	size_t n;                  /* accounts stored */
} W;

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", W.dir, name);
}

/* Score every corpus account into the store with its decision (replay's path). */
static void fill_store(void)
{
	char err[256];
	double *x = malloc(feat_count() * sizeof(double));
	struct bw_store_txn *t = store_txn_begin(W.st, err, sizeof(err));

	assert_non_null(t);
	W.n = clf_corpus_count(W.corpus);
	for (size_t i = 0; i < W.n; i++) {
		struct clf_score sc;
		struct clf_record_info info = { clf_corpus_id(W.corpus, i),
						clf_corpus_screen_name(W.corpus, i),
						clf_corpus_last_event(W.corpus, i),
						clf_corpus_posts(W.corpus, i) };
		assert_int_equal(clf_corpus_extract(W.corpus, i, x), 0);
		clf_score(W.mdl, x, clf_corpus_avail(W.corpus, i), PRIOR, &sc);
		char *rec = clf_score_record(W.mdl, &sc, &info);
		assert_int_equal(store_txn_put(t, info.user_id, info.screen_name, rec, strlen(rec), x,
					       feat_count(), err, sizeof(err)), 0);
		assert_int_equal(audit_decision_put(t, W.mdl, x, feat_count(), sc.avail, PRIOR, &sc,
						    &info, NULL, rec, err, sizeof(err)), 0);
		free(rec);
	}
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	free(x);
}

static int setup(void **state)
{
	(void)state;
	char sim[128], labels[128], store[128], err[512];
	struct clf_sim_opts so;
	struct clf_sim_stats ss;
	struct bw_config *cfg = cfg_new();

	bw_log_set_level(BW_LOG_ERROR);
	snprintf(W.dir, sizeof(W.dir), "/tmp/bw_audit_XXXXXX");
	assert_non_null(mkdtemp(W.dir));
	path_in(sim, sizeof(sim), "sim.jsonl.gz");
	path_in(labels, sizeof(labels), "sim.csv");
	clf_sim_opts_init(&so);
	so.accounts = 16;
	so.max_posts = 30;
	so.seed = 5;
	assert_int_equal(clf_sim_run(&so, sim, labels, &ss, err, sizeof(err)), 0);
	char *files[] = { sim };
	W.corpus = clf_corpus_build(cfg, files, 1, &(struct clf_corpus_opts){ .probe_ms = BW_TIME_NONE },
				    err, sizeof(err));
	assert_non_null(W.corpus);
	cfg_free(cfg);
	assert_non_null(W.mdl = clf_model_load(MODEL, feat_schema_hash(), feat_count(), err, sizeof(err)));
	path_in(store, sizeof(store), "store");
	assert_non_null(W.st = store_open(store, true, 256, err, sizeof(err)));
	assert_int_equal(audit_model_register(W.st, W.mdl, MODEL, err, sizeof(err)), 0);
	fill_store();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];

	store_close(W.st);
	clf_model_free(W.mdl);
	clf_corpus_free(W.corpus);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", W.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- registry and re-performance ------------------------------------------------ */

static void test_registry(void **state)
{
	(void)state;
	json_t *m = NULL;
	char err[256];
	int e = 0;

	assert_int_equal(audit_models_json(W.st, &m), 0);
	assert_int_equal(json_array_size(m), 1);
	assert_string_equal(str(json_array_get(m, 0), "id"), clf_model_id(W.mdl));
	json_decref(m);
	/* registering again changes nothing; a parsed registry copy has the same id */
	assert_int_equal(audit_model_register(W.st, W.mdl, MODEL, err, sizeof(err)), 0);
	struct clf_model *back = audit_model_load(W.st, clf_model_id(W.mdl), &e, err, sizeof(err));
	assert_non_null(back);
	assert_string_equal(clf_model_id(back), clf_model_id(W.mdl));
	clf_model_free(back);
	assert_null(audit_model_load(W.st, "sha256:0000", &e, err, sizeof(err)));
	assert_int_equal(e, BW_ENOENT);
}

static void test_rescore_all_identical(void **state)
{
	(void)state;
	struct audit_rescore_opts o = { .at_ms = INT64_MIN };
	uint64_t same = 0, diff = 0;
	char err[256];

	assert_true(W.n >= 10);
	assert_int_equal(audit_rescore_all(W.st, &o, &same, &diff, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(same, W.n);
	assert_int_equal(diff, 0);
	/* one account through the single route, with the loaded model reused */
	json_t *out = NULL;
	o.loaded = W.mdl;
	assert_int_equal(audit_rescore(W.st, clf_corpus_id(W.corpus, 0), &o, &out, err, sizeof(err)), 0);
	assert_string_equal(str(out, "result"), "identical");
	assert_true(json_is_true(json_object_get(json_object_get(out, "rescored"), "record_identical")));
	json_decref(out);
	/* a time before any decision: none in force */
	o.at_ms = 0;
	assert_int_equal(audit_rescore(W.st, clf_corpus_id(W.corpus, 0), &o, &out, err, sizeof(err)),
			 BW_ENOENT);
	o.at_ms = INT64_MIN;
	assert_int_equal(audit_rescore(W.st, "999999999", &o, &out, err, sizeof(err)), BW_ENOENT);
}

/* A decision whose stored record is not what the model gives: "different". */
static void test_rescore_detects_tampering(void **state)
{
	(void)state;
	struct audit_rescore_opts o = { .at_ms = INT64_MIN };
	const char *id = clf_corpus_id(W.corpus, 1);
	double *x = malloc(feat_count() * sizeof(double));
	struct clf_record_info info = { id, NULL, BW_TIME_NONE, 1 };
	struct clf_score sc;
	char err[256];
	json_t *out = NULL;

	assert_int_equal(clf_corpus_extract(W.corpus, 1, x), 0);
	clf_score(W.mdl, x, clf_corpus_avail(W.corpus, 1), PRIOR, &sc);
	struct bw_store_txn *t = store_txn_begin(W.st, err, sizeof(err));
	/* the record a client was served said something else */
	assert_int_equal(audit_decision_put(t, W.mdl, x, feat_count(), sc.avail, PRIOR, &sc, &info,
					    NULL, "{\"score\":0.99}", err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	assert_int_equal(audit_rescore(W.st, id, &o, &out, err, sizeof(err)), 0);
	assert_string_equal(str(out, "result"), "different");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "decision"), "seq")), 2);
	json_decref(out);
	free(x);
}

/* Another model: "different", with per-feature contributions that move. */
static void test_rescore_other_model(void **state)
{
	(void)state;
	char path[128], err[512];
	json_error_t je;
	json_t *doc = json_load_file(MODEL, 0, &je), *e;
	size_t i;

	assert_non_null(doc);
	json_array_foreach(json_object_get(json_array_get(json_object_get(doc, "stacks"), 0), "entries"), i, e)
		json_object_set_new(e, "b", json_real(json_number_value(json_object_get(e, "b")) + 1.0));
	path_in(path, sizeof(path), "other.model");
	assert_int_equal(json_dump_file(doc, path, JSON_COMPACT), 0);
	json_decref(doc);
	struct clf_model *other = clf_model_load(path, feat_schema_hash(), feat_count(), err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(audit_model_register(W.st, other, path, err, sizeof(err)), 0);
	struct audit_rescore_opts o = { .at_ms = INT64_MIN, .model_id = clf_model_id(other), .top = 5 };
	json_t *out = NULL;
	const char *id = clf_corpus_id(W.corpus, 2);
	assert_int_equal(audit_rescore(W.st, id, &o, &out, err, sizeof(err)), 0);
	assert_string_equal(str(out, "result"), "different");
	json_t *d = json_object_get(out, "differences");
	assert_non_null(d);
	/* only the bias moved: logits differ by exactly 1 on a computable english score */
	double la = json_number_value(json_object_get(d, "logit_archived"));
	double lb = json_number_value(json_object_get(d, "logit_rescored"));
	if (json_is_real(json_object_get(d, "logit_archived")))
		assert_true(fabs(lb - la - 1.0) < 1e-9);
	json_array_foreach(json_object_get(d, "features"), i, e)
		assert_true(fabs(json_number_value(json_object_get(e, "change")) -
				 (json_number_value(json_object_get(e, "rescored")) -
				  json_number_value(json_object_get(e, "archived")))) < 1e-12);
	json_decref(out);
	clf_model_free(other);
}

/* ---- what-if ------------------------------------------------------------------- */

static double english(const double *x, uint32_t avail)
{
	struct clf_score sc;

	clf_score(W.mdl, x, avail, PRIOR, &sc);
	return sc.english;
}

static void test_nearest_flips(void **state)
{
	(void)state;
	double *x = malloc(feat_count() * sizeof(double));
	char err[128];
	size_t checked = 0;

	for (size_t i = 0; i < W.n && i < 8; i++) {
		struct clf_flip f[5];
		size_t n = 0;
		uint32_t av = clf_corpus_avail(W.corpus, i);
		assert_int_equal(clf_corpus_extract(W.corpus, i, x), 0);
		double p = english(x, av);
		if (!isfinite(p))
			continue;
		assert_int_equal(clf_nearest_flips(W.mdl, x, av, PRIOR, 0.5, f, 5, &n, err, sizeof(err)), 0);
		for (size_t k = 0; k < n; k++) {
			double keep = x[f[k].feature];
			assert_memory_equal(&f[k].from, &keep, sizeof(double));
			x[f[k].feature] = f[k].to;
			double q = english(x, av);
			x[f[k].feature] = keep;
			assert_true((p >= 0.5) != (q >= 0.5)); /* applied, it flips */
			assert_true(q == f[k].score);
			if (k)
				assert_true(fabs(f[k].dz) >= fabs(f[k - 1].dz));
			checked++;
		}
	}
	assert_true(checked > 0);
	free(x);
}

static void test_reason(void **state)
{
	(void)state;
	double *x = malloc(feat_count() * sizeof(double));
	char err[128];
	size_t held = 0;

	for (size_t i = 0; i < W.n; i++) {
		struct clf_explanation e;
		struct clf_reason r;
		uint32_t av = clf_corpus_avail(W.corpus, i);
		assert_int_equal(clf_corpus_extract(W.corpus, i, x), 0);
		assert_int_equal(clf_explain(W.mdl, x, av, NULL, &e, err, sizeof(err)), 0);
		assert_int_equal(clf_reason(W.mdl, x, av, PRIOR, 0.5, &e, &r, err, sizeof(err)), 0);
		clf_explanation_free(&e);
		if (!isfinite(english(x, av)))
			continue;
		assert_true(r.bot == (english(x, av) >= 0.5));
		assert_true(r.n >= 1 && r.n <= CLF_REASON_MAX);
		for (size_t k = 0; k < r.n; k++) {
			assert_true(r.c[k].share >= 0 && r.c[k].share <= 1);
			assert_memory_equal(&r.c[k].bound, &x[r.c[k].feature], sizeof(double));
		}
		if (r.holds) {
			assert_true(r.bot == (r.score_alone >= 0.5));
			held++;
		}
	}
	assert_true(held > 0);
	free(x);
}

static json_t *whatif(const char *body, int *rc)
{
	char err[512];
	json_t *req = json_loads(body, 0, NULL), *out = NULL;

	assert_non_null(req);
	*rc = api_whatif(W.st, W.mdl, PRIOR, 1 << 20, req, &out, err, sizeof(err));
	json_decref(req);
	return out;
}

static void test_whatif_stored(void **state)
{
	(void)state;
	const char *id = clf_corpus_id(W.corpus, 3);
	double *x = malloc(feat_count() * sizeof(double));
	char body[256];
	int rc;

	assert_int_equal(clf_corpus_extract(W.corpus, 3, x), 0);
	snprintf(body, sizeof(body), "{\"user_id\": \"%s\", \"overrides\": "
		 "{\"user.followers_count\": 123456, \"user.verified\": true}}", id);
	json_t *out = whatif(body, &rc);
	assert_int_equal(rc, 0);
	json_t *chg = json_object_get(out, "changed_features");
	assert_int_equal(json_array_size(chg), 2);
	x[feat_index("user.followers_count")] = 123456;
	x[feat_index("user.verified")] = 1;
	double p = english(x, clf_corpus_avail(W.corpus, 3));
	assert_true(json_number_value(json_object_get(out, "score")) == p);
	assert_non_null(json_object_get(out, "nearest_flips"));
	assert_non_null(json_object_get(json_object_get(out, "reason"), "text"));
	json_decref(out);
	/* errors: a profile field on a stored account, unknown fields, no account */
	snprintf(body, sizeof(body), "{\"user_id\": \"%s\", \"overrides\": {\"followers_count\": 1}}", id);
	assert_null(whatif(body, &rc));
	assert_int_equal(rc, BW_EINVAL);
	assert_null(whatif("{\"user_id\": \"1\", \"bogus\": 1}", &rc));
	assert_int_equal(rc, BW_EINVAL);
	assert_null(whatif("{\"overrides\": {}}", &rc));
	assert_int_equal(rc, BW_EINVAL);
	assert_null(whatif("{\"user_id\": \"424242424242\"}", &rc));
	assert_int_equal(rc, BW_ENOENT);
	assert_null(whatif("{\"user_id\": \"1\", \"threshold\": 2}", &rc));
	assert_int_equal(rc, BW_EINVAL);
	free(x);
}

static void test_whatif_inline(void **state)
{
	(void)state;
	int rc;
	json_t *out = whatif("{\"user\": {\"id_str\": \"77\", \"screen_name\": \"abc\", "
			     "\"followers_count\": 10, \"friends_count\": 500, \"statuses_count\": 900, "
			     "\"created_at\": \"Mon Dec 21 16:00:00 +0000 2020\"}, "
			     "\"overrides\": {\"followers_count\": 100000}}", &rc);
	bool count = false, derived = false;
	json_t *c;
	size_t i;

	assert_int_equal(rc, 0);
	assert_string_equal(str(out, "user_id"), "77");
	json_array_foreach(json_object_get(out, "changed_features"), i, c) {
		if (strcmp(str(c, "name"), "user.followers_count") == 0) {
			count = true;
			assert_true(json_number_value(json_object_get(c, "before")) == 10);
			assert_true(json_number_value(json_object_get(c, "after")) == 100000);
		}
		derived = derived || strcmp(str(c, "name"), "user.followers_friends_ratio") == 0;
	}
	assert_true(count);
	assert_true(derived); /* the profile was re-extracted: derived features follow */
	json_decref(out);
}

/* ---- routes --------------------------------------------------------------------- */

static json_t *route(struct api_server *srv, const char *method, const char *path,
		     const char *body, unsigned *status)
{
	char p[256], *q;
	struct api_request req = { .method = method, .path = p, .body = body,
				   .body_len = body ? strlen(body) : 0 };
	struct api_response resp;

	snprintf(p, sizeof(p), "%s", path);
	if ((q = strchr(p, '?'))) {
		*q++ = '\0';
		char *eq = strchr(q, '=');
		*eq = '\0';
		req.arg_keys[0] = q;
		req.arg_values[0] = eq + 1;
		req.n_args = 1;
	}
	api_handle(srv, &req, &resp);
	*status = resp.status;
	json_t *j = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
	api_response_release(&resp);
	return j;
}

static void test_routes(void **state)
{
	(void)state;
	struct api_opts o = { .listen = "127.0.0.1:0", .threads = 1, .max_body = 1 << 20,
			      .conn_limit = 4, .timeout_s = 5, .max_batch = 10,
			      .model_path = MODEL, .cap_prior = PRIOR };
	char err[256], path[128];
	const char *id = clf_corpus_id(W.corpus, 4);
	unsigned st;
	struct api_server *srv = api_server_new(W.st, &o, err, sizeof(err));
	json_t *j;

	assert_non_null(srv);
	j = route(srv, "GET", "/v1/models", NULL, &st);
	assert_int_equal(st, 200);
	assert_true(json_array_size(json_object_get(j, "models")) >= 1);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/accounts/%s/history", id);
	j = route(srv, "GET", path, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
	j = route(srv, "GET", "/v1/accounts/123456789/history", NULL, &st);
	assert_int_equal(st, 404);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/accounts/%s/audit", id);
	j = route(srv, "GET", path, NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(str(j, "result"), "identical");
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/accounts/%s/audit?at=yesterday", id);
	j = route(srv, "GET", path, NULL, &st);
	assert_int_equal(st, 400);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/accounts/%s/audit?at=2001-01-01T00:00:00Z", id);
	j = route(srv, "GET", path, NULL, &st);
	assert_int_equal(st, 404);
	json_decref(j);
	j = route(srv, "POST", "/v1/whatif", "{not json", &st);
	assert_int_equal(st, 400);
	json_decref(j);
	j = route(srv, "GET", "/v1/whatif", NULL, &st);
	assert_int_equal(st, 405);
	json_decref(j);
	snprintf(path, sizeof(path), "{\"user_id\": \"%s\"}", id);
	j = route(srv, "POST", "/v1/whatif", path, &st);
	assert_int_equal(st, 200);
	assert_non_null(json_object_get(j, "nearest_flips"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/accounts/%s/explain", id);
	j = route(srv, "GET", path, NULL, &st);
	assert_int_equal(st, 200);
	assert_non_null(str(json_object_get(j, "reason"), "text"));
	json_decref(j);
	api_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_rescore_all_identical),
		cmocka_unit_test(test_rescore_detects_tampering),
		cmocka_unit_test(test_rescore_other_model),
		cmocka_unit_test(test_nearest_flips),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_whatif_stored),
		cmocka_unit_test(test_whatif_inline),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
