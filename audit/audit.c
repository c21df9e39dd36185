/*
 * audit.c — the audit trail's glue between the classifier and the store
 * (audit.h, docs/AUDIT.md).
 *
 * A decision keeps what re-performing it needs and nothing that can be
 * recomputed: the model (by id, its bytes in the registry), the vector (by
 * content hash), the evidence mask and prior the score used, the record's
 * identity fields (handle, posts seen, event time) and the sha256 of the
 * record text. Re-performance rebuilds the record through the one record
 * serialiser (clf_score_record) and compares hashes, so "identical" means
 * the same bytes a client was served, not merely a close score.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bw_err.h"
#include "bw_fs.h"
#include "bw_time.h"
#include "clf.h"
#include "feat.h"
#include "store.h"

#define MAX_MODEL_FILE (256u << 20) /* clf_model_parse refuses larger */
#define TOP_DIFF_DEFAULT 20

static bool sha256(const void *p, size_t n, unsigned char out[STORE_HASH_LEN])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) && len == STORE_HASH_LEN;
}

static void hex(const unsigned char *h, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[h[i] >> 4];
		out[2 * i + 1] = d[h[i] & 15];
	}
	out[2 * n] = '\0';
}

int audit_model_register(struct bw_store *st, const struct clf_model *mdl, const char *path,
			 char *errstr, size_t errlen)
{
	size_t len = 0;
	int rc;
	char *buf = bw_fs_read_all(path, MAX_MODEL_FILE, &len, &rc, errstr, errlen);
	struct bw_store_txn *txn;

	if (!buf)
		return rc;
	if (!(txn = store_txn_begin(st, errstr, errlen))) {
		free(buf);
		return BW_ESTORE;
	}
	rc = store_txn_put_model(txn, clf_model_id(mdl), buf, len, bw_time_now_ms(), NULL, errstr,
				 errlen);
	free(buf);
	if (rc) {
		store_txn_abort(txn);
		return rc;
	}
	return store_txn_commit(txn, errstr, errlen);
}

int audit_decision_put(struct bw_store_txn *txn, const struct clf_model *mdl, const double *x,
		       size_t n, uint32_t avail, double cap_prior, const struct clf_score *sc,
		       const struct clf_record_info *info, const struct audit_watermark *wm,
		       const char *record, char *errstr, size_t errlen)
{
	struct store_decision *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	d->scored_at_ms = bw_time_now_ms();
	d->event_ms = info->scored_at_ms;
	d->partition = -1;
	d->offset = -1;
	if (wm) {
		snprintf(d->last_post_id, sizeof(d->last_post_id), "%s",
			 wm->last_post_id ? wm->last_post_id : "");
		snprintf(d->topic, sizeof(d->topic), "%s", wm->topic ? wm->topic : "");
		d->partition = wm->partition;
		d->offset = wm->offset;
	}
	snprintf(d->model_id, sizeof(d->model_id), "%s", clf_model_id(mdl));
	snprintf(d->schema, sizeof(d->schema), "%s", clf_model_schema(mdl));
	d->schema_version = FEAT_SCHEMA_VERSION;
	d->avail = avail;
	d->cap_prior = cap_prior;
	d->posts_seen = info->posts_seen;
	snprintf(d->screen_name, sizeof(d->screen_name), "%s",
		 info->screen_name ? info->screen_name : "");
	d->status = (uint32_t)sc->status;
	d->english = sc->english;
	d->universal = sc->universal;
	if (!sha256(record, strlen(record), d->record_hash))
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "sha256 failed");
	else
		rc = store_txn_put_decision(txn, info->user_id, d, x, n, NULL, errstr, errlen);
	free(d);
	return rc;
}

/* ---- reading the trail -------------------------------------------------------------- */

static json_t *time_json(int64_t ms)
{
	char buf[40];

	return ms == BW_TIME_NONE ? json_null() : json_string(bw_time_format(ms, buf, sizeof(buf)));
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* One decision as JSON (new reference; NULL on allocation failure). */
static json_t *decision_json(const struct store_decision *d)
{
	char vh[2 * STORE_HASH_LEN + 8], rh[2 * STORE_HASH_LEN + 8];
	json_t *wm;

	memcpy(vh, "sha256:", 7);
	hex(d->vec_hash, STORE_HASH_LEN, vh + 7);
	memcpy(rh, "sha256:", 7);
	hex(d->record_hash, STORE_HASH_LEN, rh + 7);
	wm = json_pack("{s:o, s:o}", "event_time", time_json(d->event_ms), "last_post_id",
		       d->last_post_id[0] ? json_string(d->last_post_id) : json_null());
	if (wm && d->topic[0])
		json_object_set_new(wm, "kafka", json_pack("{s:s, s:i, s:I}", "topic", d->topic,
							   "partition", (int)d->partition, "offset",
							   (json_int_t)d->offset));
	return json_pack("{s:I, s:o, s:s, s:s, s:i, s:s, s:o, s:s, s:o, s:o, s:f, s:I, s:o, s:o}",
			 "seq", (json_int_t)d->seq, "scored_at", time_json(d->scored_at_ms),
			 "model_id", d->model_id, "feature_schema", d->schema,
			 "feature_schema_version", (int)d->schema_version, "vector", vh,
			 "watermark", wm, "record_sha256", rh + 7, "status",
			 json_string(clf_status_name((enum clf_status)(d->status < 4 ? d->status : 3))),
			 "score", num(d->english), "cap_prior", d->cap_prior, "posts_seen",
			 (json_int_t)d->posts_seen, "universal", num(d->universal), "evidence_mask",
			 json_integer(d->avail));
}

static int history_cb(const struct store_decision *d, void *opaque)
{
	json_t *o = decision_json(d);

	return o && json_array_append_new(opaque, o) == 0 ? 0 : BW_ENOMEM;
}

int audit_history_json(struct bw_store *st, const char *user_id, json_t **out)
{
	json_t *a = json_array();
	int rc;

	*out = NULL;
	if (!a)
		return BW_ENOMEM;
	if ((rc = store_scan_history(st, user_id, history_cb, a))) {
		json_decref(a);
		return rc;
	}
	*out = json_pack("{s:s, s:I, s:o}", "user_id", user_id, "count",
			 (json_int_t)json_array_size(a), "decisions", a);
	return *out ? 0 : BW_ENOMEM;
}

struct models_ctx {
	struct bw_store *st; /* the store */
	json_t *list;        /* the array being filled */
};

/*
 * What a model's listing shows of its file (schema, parameters, training),
 * parsed once per process: a registered model never changes (its id is the
 * hash of its bytes), and parsing a 2 MB model takes 20-30 ms, which GET
 * /v1/models would otherwise spend per model per request. A small table
 * under a mutex (the API's threads share it); past its size the summary is
 * parsed and not kept.
 */
#define SUMMARY_CACHE 32

static struct summary {
	char *id;     /* model id (owned) */
	json_t *doc;  /* {feature_schema, params, training} (owned) */
} summaries[SUMMARY_CACHE];
static size_t n_summaries;
static pthread_mutex_t summaries_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new reference to the summary of model `id`, or NULL. */
static json_t *model_summary(struct bw_store *st, const char *id)
{
	json_t *doc = NULL, *sum;
	size_t n = 0;
	int err = 0;
	char *bytes;

	pthread_mutex_lock(&summaries_lock);
	for (size_t i = 0; i < n_summaries; i++)
		if (strcmp(summaries[i].id, id) == 0) {
			sum = json_incref(summaries[i].doc);
			pthread_mutex_unlock(&summaries_lock);
			return sum;
		}
	pthread_mutex_unlock(&summaries_lock);
	if ((bytes = store_get_model(st, id, &n, NULL, &err)))
		doc = json_loadb(bytes, n, 0, NULL);
	free(bytes);
	sum = json_pack("{s:O?, s:O?, s:O?}", "feature_schema", json_object_get(doc, "feature_schema"),
			"params", json_object_get(doc, "params"), "training",
			json_object_get(doc, "training"));
	json_decref(doc);
	if (!sum || !bytes)
		return sum; /* not read (kept out of the table: the next request tries again) */
	pthread_mutex_lock(&summaries_lock);
	if (n_summaries < SUMMARY_CACHE) {
		char *copy = strdup(id);
		if (copy) {
			summaries[n_summaries].id = copy;
			summaries[n_summaries++].doc = json_incref(sum);
		}
	}
	pthread_mutex_unlock(&summaries_lock);
	return sum;
}

static int model_cb(const char *id, size_t len, int64_t registered_ms, void *opaque)
{
	struct models_ctx *m = opaque;
	json_t *sum = model_summary(m->st, id), *o;

	o = json_pack("{s:s, s:I, s:o, s:O?, s:O?, s:O?}", "id", id, "bytes", (json_int_t)len,
		      "registered_at", time_json(registered_ms), "feature_schema",
		      json_object_get(sum, "feature_schema"), "params", json_object_get(sum, "params"),
		      "training", json_object_get(sum, "training"));
	json_decref(sum);
	return o && json_array_append_new(m->list, o) == 0 ? 0 : BW_ENOMEM;
}

int audit_models_json(struct bw_store *st, json_t **out)
{
	struct models_ctx m = { st, json_array() };
	int rc;

	*out = NULL;
	if (!m.list)
		return BW_ENOMEM;
	if ((rc = store_scan_models(st, model_cb, &m))) {
		json_decref(m.list);
		return rc;
	}
	*out = m.list;
	return 0;
}

struct clf_model *audit_model_load(struct bw_store *st, const char *model_id, int *err,
				   char *errstr, size_t errlen)
{
	size_t len = 0;
	char *bytes = store_get_model(st, model_id, &len, NULL, err);
	struct clf_model *mdl;

	if (!bytes) {
		bw_seterr(errstr, errlen, *err, "model %.80s is not in the store's registry: %s",
			  model_id, bw_strerror(*err));
		return NULL;
	}
	/* no schema check here: an archived model reads the vectors of its own schema */
	mdl = clf_model_parse(bytes, len, NULL, 0, errstr, errlen);
	free(bytes);
	if (!mdl)
		*err = BW_ESCHEMA;
	return mdl;
}

/* ---- re-performance ------------------------------------------------------------------ */

/* Picks the decision in force at `at` (or the latest). */
struct pick {
	int64_t at;                 /* INT64_MIN = latest */
	bool found;                 /* d holds one */
	struct store_decision d;    /* the pick */
};

static int pick_cb(const struct store_decision *d, void *opaque)
{
	struct pick *p = opaque;

	if (p->at != INT64_MIN && d->scored_at_ms > p->at)
		return 1; /* oldest first: nothing later is in force at `at` */
	p->d = *d;
	p->found = true;
	return 0;
}

/* Per-feature contributions of two models side by side, largest change first. */
struct diff {
	size_t feature;   /* registry index */
	double a, b;      /* contribution under the archived / the other model */
};

static int by_change(const void *x, const void *y)
{
	const struct diff *p = x, *q = y;
	double u = fabs(p->b - p->a), v = fabs(q->b - q->a);

	if (u != v)
		return u > v ? -1 : 1;
	return p->feature < q->feature ? -1 : p->feature > q->feature;
}

/* "differences": the features whose contribution to the english score moved. */
static json_t *differences(const struct clf_model *ma, const struct clf_model *mb,
			   const double *x, size_t n, uint32_t avail, size_t top)
{
	struct clf_explanation ea, eb;
	struct diff *d = calloc(n ? n : 1, sizeof(*d));
	json_t *arr = json_array();
	char err[128];

	if (!d || !arr || clf_explain(ma, x, avail, NULL, &ea, err, sizeof(err))) {
		free(d);
		json_decref(arr);
		return NULL;
	}
	if (clf_explain(mb, x, avail, NULL, &eb, err, sizeof(err))) {
		clf_explanation_free(&ea);
		free(d);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i].feature = i;
	for (size_t k = 0; k < ea.n; k++)
		if (ea.c[k].feature < n)
			d[ea.c[k].feature].a += ea.c[k].contribution;
	for (size_t k = 0; k < eb.n; k++)
		if (eb.c[k].feature < n)
			d[eb.c[k].feature].b += eb.c[k].contribution;
	qsort(d, n, sizeof(*d), by_change);
	for (size_t i = 0; i < n && i < top && d[i].a != d[i].b; i++) {
		const struct feat_def *f = d[i].feature < feat_count() ? feat_def_get(d[i].feature) : NULL;
		json_array_append_new(arr, json_pack("{s:s, s:o, s:f, s:f, s:f}", "name",
			f ? f->name : "?", "value", num(x[d[i].feature]), "archived", d[i].a,
			"rescored", d[i].b, "change", d[i].b - d[i].a));
	}
	json_t *o = json_pack("{s:o, s:o, s:o}", "logit_archived", num(ea.logit), "logit_rescored",
			      num(eb.logit), "features", arr);
	clf_explanation_free(&ea);
	clf_explanation_free(&eb);
	free(d);
	return o;
}

/* Score, rebuild and compare the decision p->d under `mdl`; the answer into *out. */
static int reperform(const struct pick *p, const char *user_id, const struct clf_model *mdl,
		     const struct clf_model *archived, const double *x, size_t n, size_t top,
		     json_t **out)
{
	const struct store_decision *d = &p->d;
	struct clf_record_info info = { .user_id = user_id,
					.screen_name = d->screen_name[0] ? d->screen_name : NULL,
					.scored_at_ms = d->event_ms, .posts_seen = d->posts_seen };
	unsigned char h[STORE_HASH_LEN];
	char hx[2 * STORE_HASH_LEN + 1];
	struct clf_score sc;
	char *rec;

	clf_score(mdl, x, d->avail, d->cap_prior, &sc);
	if (!(rec = clf_score_record(mdl, &sc, &info)) || !sha256(rec, strlen(rec), h)) {
		free(rec);
		return BW_ENOMEM;
	}
	hex(h, STORE_HASH_LEN, hx);
	bool same_record = memcmp(h, d->record_hash, STORE_HASH_LEN) == 0;
	bool same_bits = memcmp(&sc.english, &d->english, sizeof(double)) == 0 &&
			 memcmp(&sc.universal, &d->universal, sizeof(double)) == 0;
	json_t *rs = json_pack("{s:s, s:o, s:o, s:s, s:s, s:b, s:b, s:o}", "model_id",
			       clf_model_id(mdl), "score", num(sc.english), "universal",
			       num(sc.universal), "status", clf_status_name(sc.status),
			       "record_sha256", hx, "record_identical", same_record,
			       "scores_bit_identical", same_bits, "record", json_loads(rec, 0, NULL));
	free(rec);
	*out = json_pack("{s:s, s:s, s:o, s:o}", "result",
			 same_record && same_bits ? "identical" : "different", "user_id", user_id,
			 "decision", decision_json(d), "rescored", rs);
	if (*out && mdl != archived && archived) {
		json_t *df = differences(archived, mdl, x, n, d->avail, top);
		if (df)
			json_object_set_new(*out, "differences", df);
	}
	return *out ? 0 : BW_ENOMEM;
}

/* The model `id`: opts->loaded when it is that one, else parsed from the registry into *own. */
static const struct clf_model *model_for(struct bw_store *st, const char *id,
					 const struct audit_rescore_opts *o, struct clf_model **own,
					 int *err, char *errstr, size_t errlen)
{
	if (o->loaded && strcmp(clf_model_id(o->loaded), id) == 0)
		return o->loaded;
	return *own = audit_model_load(st, id, err, errstr, errlen);
}

int audit_rescore(struct bw_store *st, const char *user_id, const struct audit_rescore_opts *opts,
		  json_t **out, char *errstr, size_t errlen)
{
	struct pick *p = calloc(1, sizeof(*p));
	struct clf_model *own_a = NULL, *own_b = NULL;
	const struct clf_model *ma, *mb;
	double *x = NULL;
	size_t n = 0;
	int rc, err = 0;

	*out = NULL;
	if (!p)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	p->at = opts->at_ms;
	rc = store_scan_history(st, user_id, pick_cb, p);
	if (rc < 0) {
		rc = bw_seterr(errstr, errlen, rc, "history of %s: %s", user_id, bw_strerror(rc));
		goto out_free;
	}
	if (!p->found) {
		rc = bw_seterr(errstr, errlen, BW_ENOENT, "no decision of account %s%s", user_id,
			       opts->at_ms != INT64_MIN ? " at or before that time" : "");
		goto out_free;
	}
	if (!(x = store_get_vector(st, p->d.vec_hash, &n, &err))) {
		rc = bw_seterr(errstr, errlen, BW_ESTORE, "vector of decision %llu of %s: %s",
			       (unsigned long long)p->d.seq, user_id, bw_strerror(err));
		goto out_free;
	}
	if (!(ma = model_for(st, p->d.model_id, opts, &own_a, &err, errstr, errlen))) {
		rc = err ? err : BW_ENOENT;
		goto out_free;
	}
	mb = ma;
	if (opts->model_id && strcmp(opts->model_id, p->d.model_id) != 0 &&
	    !(mb = model_for(st, opts->model_id, opts, &own_b, &err, errstr, errlen))) {
		rc = err ? err : BW_ENOENT;
		goto out_free;
	}
	if (clf_model_n_features(ma) != n || clf_model_n_features(mb) != n) {
		rc = bw_seterr(errstr, errlen, BW_ESCHEMA,
			       "the stored vector has %zu values; the model reads %zu", n,
			       clf_model_n_features(mb));
		goto out_free;
	}
	if ((rc = reperform(p, user_id, mb, ma, x, n, opts->top ? opts->top : TOP_DIFF_DEFAULT, out)))
		bw_seterr(errstr, errlen, rc, "out of memory");
out_free:
	clf_model_free(own_a);
	clf_model_free(own_b);
	free(x);
	free(p);
	return rc;
}

/* ---- re-performing everything ----------------------------------------------------------- */

struct idlist {
	char **id;         /* account ids (owned) */
	size_t n, cap;     /* used / allocated */
};

static int collect_id(const char *user_id, const char *rec, size_t len, void *opaque)
{
	struct idlist *l = opaque;

	(void)rec;
	(void)len;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **p = realloc(l->id, cap * sizeof(*p));
		if (!p)
			return BW_ENOMEM;
		l->id = p;
		l->cap = cap;
	}
	return (l->id[l->n] = strdup(user_id)) ? (l->n++, 0) : BW_ENOMEM;
}

struct declist {
	struct store_decision *d; /* decisions (owned) */
	size_t n, cap;            /* used / allocated */
};

static int collect_decision(const struct store_decision *d, void *opaque)
{
	struct declist *l = opaque;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct store_decision *p = realloc(l->d, cap * sizeof(*p));
		if (!p)
			return BW_ENOMEM;
		l->d = p;
		l->cap = cap;
	}
	l->d[l->n++] = *d;
	return 0;
}

/* Re-perform every decision of one account; 0, the callback's value or a BW_E* code. */
static int rescore_account(struct bw_store *st, const char *id, const struct audit_rescore_opts *o,
			   struct clf_model **cache, uint64_t *same, uint64_t *different,
			   audit_each_cb cb, void *opaque, char *errstr, size_t errlen)
{
	struct declist l = { 0 };
	struct pick p = { .at = INT64_MIN, .found = true };
	int rc = store_scan_history(st, id, collect_decision, &l), err = 0;

	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const struct clf_model *m = NULL;
		size_t n = 0;
		double *x = store_get_vector(st, l.d[i].vec_hash, &n, &err);
		json_t *out = NULL;
		if (!x) {
			rc = bw_seterr(errstr, errlen, BW_ESTORE, "vector of %s decision %llu: %s", id,
				       (unsigned long long)l.d[i].seq, bw_strerror(err));
			break;
		}
		if (o->loaded && strcmp(clf_model_id(o->loaded), l.d[i].model_id) == 0) {
			m = o->loaded;
		} else if (*cache && strcmp(clf_model_id(*cache), l.d[i].model_id) == 0) {
			m = *cache;
		} else {
			clf_model_free(*cache);
			m = *cache = audit_model_load(st, l.d[i].model_id, &err, errstr, errlen);
		}
		p.d = l.d[i];
		if (!m)
			rc = err ? err : BW_ENOENT;
		else if (clf_model_n_features(m) != n)
			rc = bw_seterr(errstr, errlen, BW_ESCHEMA, "vector of %s has %zu values; the "
				       "model reads %zu", id, n, clf_model_n_features(m));
		else if ((rc = reperform(&p, id, m, m, x, n, 0, &out)))
			bw_seterr(errstr, errlen, rc, "out of memory");
		if (rc == 0) {
			const char *r = json_string_value(json_object_get(out, "result"));
			if (r && strcmp(r, "identical") == 0)
				(*same)++;
			else
				(*different)++;
			rc = cb ? cb(id, out, opaque) : 0;
		}
		json_decref(out);
		free(x);
	}
	free(l.d);
	return rc;
}

int audit_rescore_all(struct bw_store *st, const struct audit_rescore_opts *opts,
		      uint64_t *same, uint64_t *different, audit_each_cb cb, void *opaque,
		      char *errstr, size_t errlen)
{
	struct idlist ids = { 0 };
	struct clf_model *cache = NULL;
	int rc = store_scan(st, NULL, collect_id, &ids);

	*same = *different = 0;
	if (rc)
		bw_seterr(errstr, errlen, rc, "store: %s", bw_strerror(rc));
	for (size_t i = 0; rc == 0 && i < ids.n; i++)
		rc = rescore_account(st, ids.id[i], opts, &cache, same, different, cb, opaque, errstr,
				     errlen);
	for (size_t i = 0; i < ids.n; i++)
		free(ids.id[i]);
	free(ids.id);
	clf_model_free(cache);
	return rc;
}
