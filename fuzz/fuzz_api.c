/*
 * fuzz_api.c — fuzz the API router and request bodies without sockets.
 *
 * Input: line 1 is the method, line 2 the path with an optional ?query
 * (split on '&' and '='), line 3 an Authorization header value (may be
 * empty), the rest the body. The router runs against a small store and a
 * small model trained from simulated accounts on first use (both removed at
 * exit), so Botometer bodies reach the decoder and the scorer and explain
 * runs; streamed responses are read to the end.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "clf_sim.h"
#include "feat.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct bw_store *store;
static struct api_server *server;

static const char *const files[] = { "data.mdb", "lock.mdb", "sim.jsonl.gz", "sim.csv", "m.model" };

static void cleanup(void)
{
	char path[128];

	api_server_free(server);
	store_close(store);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Train a small model into <dir>/m.model; 0 or -1. */
static int train(char *model, size_t len)
{
	char sim[96], labels[96], err[256], *doc = NULL;
	struct clf_sim_opts so;
	struct clf_sim_stats ss;
	struct clf_labels lb;
	struct clf_train_opts o;
	struct clf_corpus *c = NULL;
	struct clf_matrix *m = NULL;
	struct bw_config *cfg = cfg_new();
	size_t n = 0, missing;
	int rc = -1;

	snprintf(sim, sizeof(sim), "%s/sim.jsonl.gz", dir);
	snprintf(labels, sizeof(labels), "%s/sim.csv", dir);
	snprintf(model, len, "%s/m.model", dir);
	clf_sim_opts_init(&so);
	so.accounts = 60;
	so.max_posts = 12;
	clf_labels_init(&lb);
	char *in[] = { sim };
	if (cfg && !clf_sim_run(&so, sim, labels, &ss, err, sizeof(err)) &&
	    !clf_labels_load(&lb, labels, err, sizeof(err)) &&
	    (c = clf_corpus_build(cfg, in, 1, &(struct clf_corpus_opts){ .probe_ms = BW_TIME_NONE }, err, sizeof(err))) &&
	    (m = clf_cmd_matrix_new()) && !clf_cmd_fill(m, c, &lb, &missing, err, sizeof(err))) {
		clf_train_opts_init(&o);
		o.folds = 2;
		o.schema_hash = feat_schema_hash();
		o.schema_version = FEAT_SCHEMA_VERSION;
		FILE *f;
		if (!clf_train(m, &o, &doc, &n, err, sizeof(err)) && (f = fopen(model, "wb"))) {
			rc = fwrite(doc, 1, n, f) == n ? 0 : -1;
			fclose(f);
		}
	}
	free(doc);
	clf_matrix_free(m);
	clf_corpus_free(c);
	clf_labels_free(&lb);
	cfg_free(cfg);
	return rc;
}

static int init(void)
{
	struct api_opts o = { .listen = "127.0.0.1:0", .token = "tok", .threads = 1,
			      .max_body = 1 << 20, .conn_limit = 8, .timeout_s = 5,
			      .max_batch = 100, .cap_prior = 0.15 };
	char err[256], id[16], name[16], rec[320], model[128];
	struct bw_store_txn *t;
	double *x;

	bw_log_set_level(BW_LOG_OFF);
	snprintf(dir, sizeof(dir), "/tmp/bw_fuzz_api_XXXXXX");
	if (!mkdtemp(dir) || train(model, sizeof(model)) ||
	    !(store = store_open(dir, true, 16, err, sizeof(err))) ||
	    !(t = store_txn_begin(store, err, sizeof(err))) ||
	    !(x = calloc(feat_count(), sizeof(double))))
		return -1;
	struct clf_model *mdl = clf_model_load(model, feat_schema_hash(), feat_count(), err, sizeof(err));
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "%d", 100 + i);
		snprintf(name, sizeof(name), "n%d", i);
		int n = snprintf(rec, sizeof(rec),
				 "{\"user_id\":\"%s\",\"screen_name\":\"%s\",\"status\":\"%s\","
				 "\"score\":%s,\"cap\":{\"english\":0.5},\"categories\":{\"user\":0.1},"
				 "\"evidence\":[\"profile_text\",\"posts\"]}",
				 id, name, i % 3 ? "ok" : "profile_only", i % 4 ? "0.5" : "null");
		for (size_t k = 0; k < feat_count(); k++)
			x[k] = (double)((k * 7 + (size_t)i) % 13);
		store_txn_put(t, id, name, rec, (size_t)n, i % 2 ? x : NULL, feat_count(), err,
			      sizeof(err));
		if (i % 2 && mdl) { /* a decision in the audit trail (history, audit routes) */
			struct clf_score sc;
			struct clf_record_info info = { .user_id = id, .scored_at_ms = BW_TIME_NONE };
			clf_score(mdl, x, CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY, 0.15, &sc);
			audit_decision_put(t, mdl, x, feat_count(), sc.avail, 0.15, &sc, &info, NULL, rec,
					   err, sizeof(err));
		}
	}
	free(x);
	o.model_path = model;
	if (store_txn_commit(t, err, sizeof(err)) ||
	    (mdl && audit_model_register(store, mdl, model, err, sizeof(err))) ||
	    !(server = api_server_new(store, &o, err, sizeof(err)))) {
		clf_model_free(mdl);
		return -1;
	}
	clf_model_free(mdl);
	atexit(cleanup);
	return 0;
}

/* Next line of the input as a NUL-terminated copy (caller frees). */
static char *take_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *stop = nl ? nl : end;
	char *s = strndup((const char *)*p, (size_t)(stop - *p));
	*p = nl ? nl + 1 : end;
	return s;
}

static void split_query(char *path, struct api_request *req)
{
	char *q = strchr(path, '?');

	if (!q)
		return;
	*q++ = '\0';
	while (q && *q) {
		char *amp = strchr(q, '&'), *eq;
		if (amp)
			*amp = '\0';
		if (req->n_args == API_MAX_ARGS) {
			req->too_many_args = true;
			break;
		}
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		req->arg_keys[req->n_args] = q;
		req->arg_values[req->n_args++] = eq ? eq + 1 : "";
		q = amp ? amp + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -2;
	const uint8_t *p = data, *end = data + size;
	struct api_request req = { 0 };
	struct api_response resp;
	char buf[4096];

	if (ready == -2 && (ready = init())) {
		/* a harness that cannot set up must not pass for a clean run */
		fprintf(stderr, "fuzz_api: setting up the store and model failed\n");
		abort();
	}
	char *method = take_line(&p, end), *path = take_line(&p, end), *auth = take_line(&p, end);
	if (!method || !path || !auth)
		goto out_free;
	split_query(path, &req);
	req.method = method;
	req.path = path;
	req.authorization = auth[0] ? auth : NULL;
	req.body = (const char *)p;
	req.body_len = (size_t)(end - p);
	api_handle(server, &req, &resp);
	if (resp.stream)
		while (api_stream_read(resp.stream, buf, sizeof(buf)) > 0)
			;
	api_response_release(&resp);
out_free:
	free(method);
	free(path);
	free(auth);
	return 0;
}
