/*
 * clf_model.c — the group table, column selection, and the model document
 * parser (bounded, strict: every field is type-checked, every index range-
 * checked; a schema mismatch is refused with BW_ESCHEMA).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>

#include "bw_err.h"
#include "bw_fs.h"
#include "clf_int.h"
#include "feat.h"

#define MODEL_MAX_BYTES (256u * 1024 * 1024)

const char *const clf_class_names[CLF_NCLASS] = { "user",     "friend",  "network",
						  "temporal", "content", "sentiment" };

const struct clf_group_def clf_groups[CLF_N_GROUPS] = {
	{ "user_text", 0, CLF_AVAIL_TEXT, 1, 0 },
	{ "user_counts", 0, CLF_AVAIL_COUNTS, 0, 0 },
	{ "friend", 1, CLF_AVAIL_ACTIVITY, 0, 0 },
	{ "network", 2, CLF_AVAIL_ACTIVITY, 0, 0 },
	{ "temporal", 3, CLF_AVAIL_ACTIVITY, 0, 0 },
	{ "content", 4, CLF_AVAIL_ACTIVITY, 0, 0 },
	{ "sentiment", 5, CLF_AVAIL_ACTIVITY, 0, 0 },
	{ "user_counts_rbf", 0, CLF_AVAIL_COUNTS, 0, 1 },
};

/* Profile columns that record how a dataset was collected rather than how an
 * account behaves (null-vs-false flags, presence of optional fields, crawl
 * era, fields API v2 does not carry) or how much of a timeline an archive
 * holds (posts seen, screen names seen, deltas between snapshots): never used.
 * account_age: crawl era (docs/MODEL.md, leave-one-group-out).
 * credits_maker: a bio crediting someone ("by @x") is bot-like only in the
 * simulation; among real labelled profiles it leans human (docs/MODEL.md).
 * description_mentions: bot-like only through one group's template (job
 * feeds' "Tweet us at @..."); human-leaning in every other (docs/MODEL.md).
 * listed: Twitter lists have no Mastodon or Bluesky counterpart, where the
 * count would read as 0 (docs/MODEL.md, "Platforms"). */
static const char *const deny_user[] = {
	"default_profile", "verified", "protected", "geo_enabled", "background", "time_zone",
	"utc_offset", "location", "translator", "banner", "image", "url", "favourites", "lang",
	"has_", "created", "contributors", "notifications", "following", "follow_request",
	"extended", "withheld", "bot_flag", "self_declared", "posts_seen", "screen_names_seen",
	"delta", "account_age", "bot_words", "credits_maker", "schedule", "description_mentions",
	"listed", NULL,
};

/* Profile columns computed from name, handle or bio text. */
static bool is_text_col(const char *name)
{
	return strstr(name, "name") || strstr(name, "description");
}

int clf_group_wants(int g, const char *name, int cls)
{
	const struct clf_group_def *d = &clf_groups[g];
	if (cls != d->cls)
		return 0;
	if (d->cls != 0)
		return 1;
	for (size_t i = 0; deny_user[i]; i++)
		if (strstr(name, deny_user[i]))
			return 0;
	return is_text_col(name) == (d->text != 0);
}

/* The declaration columns: not in any group, they form the entries'
 * separate declaration term (decl_w). */
static const char *const decl_names[] = { "user.screen_name_bot_words", "user.name_bot_words",
					  "user.description_bot_words", "user.description_schedule",
					  "user.self_declared_bot" };
#define N_DECL (sizeof(decl_names) / sizeof(decl_names[0]))
static long decl_idx[N_DECL];
static pthread_once_t decl_once = PTHREAD_ONCE_INIT;

static void decl_init(void)
{
	for (size_t i = 0; i < N_DECL; i++)
		decl_idx[i] = feat_index(decl_names[i]);
}

bool clf_declares(const double *x, size_t n, long *first)
{
	pthread_once(&decl_once, decl_init);
	for (size_t i = 0; i < N_DECL; i++) {
		if (decl_idx[i] >= 0 && (size_t)decl_idx[i] < n && x[decl_idx[i]] > 0) {
			if (first)
				*first = decl_idx[i];
			return true;
		}
	}
	if (first)
		*first = -1;
	return false;
}

const struct clf_mentry *clf_stack_entry(const struct clf_mstack *st, uint32_t avail)
{
	const struct clf_mentry *best = NULL;
	int bestn = -1;
	for (size_t k = 0; k < st->nent; k++) {
		const struct clf_mentry *e = &st->ent[k];
		if ((e->mask & ~avail) != 0)
			continue;
		int n = (int)e->nuse;
		if (n > bestn) { /* more evidence wins; ties keep the earlier (more specific) */
			best = e;
			bestn = n;
		}
	}
	return best;
}

static void mgroup_free(struct clf_mgroup *g)
{
	if (!g)
		return;
	free(g->cols);
	free(g->mean);
	free(g->sd);
	free(g->fw);
	free(g->lo);
	free(g->hi);
	clf_svm_free(g->svm);
	free(g);
}

void clf_model_free(struct clf_model *mdl)
{
	if (!mdl)
		return;
	for (size_t h = 0; mdl->heads && h < mdl->nhead; h++) {
		for (int g = 0; g < CLF_N_GROUPS; g++)
			mgroup_free(mdl->heads[h].grp[g]);
		free(mdl->heads[h].name);
	}
	for (size_t s = 0; mdl->stacks && s < mdl->nstack; s++)
		free(mdl->stacks[s].name);
	free(mdl->heads);
	free(mdl->stacks);
	free(mdl->id);
	free(mdl->schema_hash);
	json_decref(mdl->training);
	clf_baselines_free(mdl->base);
	free(mdl);
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int group_index(const char *name)
{
	for (int g = 0; g < CLF_N_GROUPS; g++)
		if (strcmp(clf_groups[g].name, name) == 0)
			return g;
	return -1;
}

/* Read a numeric array of exactly n finite values. */
static int num_array(json_t *a, size_t n, double *out)
{
	if (!json_is_array(a) || json_array_size(a) != n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_number(v))
			return -1;
		out[i] = json_number_value(v);
		if (!isfinite(out[i]))
			return -1;
	}
	return 0;
}

/* Fold the scaler into a linear model: sum_k w_k clip((v_k - m_k)/s_k)
 * = sum_k (w_k/s_k) clamp(v_k, m_k - 5 s_k, m_k + 5 s_k) - sum_k w_k m_k/s_k. */
static int fold_linear(struct clf_mgroup *g)
{
	double bias, sign;
	const double *w = clf_svm_linear(g->svm, &bias, &sign);
	if (!w)
		return 0;
	g->fw = malloc((g->ncol ? g->ncol : 1) * sizeof(double));
	g->lo = malloc((g->ncol ? g->ncol : 1) * sizeof(double));
	g->hi = malloc((g->ncol ? g->ncol : 1) * sizeof(double));
	if (!g->fw || !g->lo || !g->hi)
		return BW_ENOMEM;
	g->fb = bias;
	for (size_t k = 0; k < g->ncol; k++) {
		g->fw[k] = sign * w[k] / g->sd[k];
		g->lo[k] = g->mean[k] - CLF_CLIP * g->sd[k];
		g->hi[k] = g->mean[k] + CLF_CLIP * g->sd[k];
		g->fb -= g->fw[k] * g->mean[k];
	}
	return 0;
}

/* Parse one group object of a head. */
static int parse_group(json_t *jg, size_t n_features, struct clf_mgroup **out, char *errstr,
		       size_t errlen)
{
	json_t *idx = json_object_get(jg, "index"), *svm = json_object_get(jg, "svm");
	json_t *gname = json_object_get(jg, "group");
	int def = json_is_string(gname) ? group_index(json_string_value(gname)) : -1;
	if (def < 0 || !json_is_array(idx) || !json_is_string(svm))
		return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed group");
	struct clf_mgroup *g = calloc(1, sizeof(*g));
	if (!g)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	g->def = def;
	g->req = clf_groups[def].req;
	g->ncol = json_array_size(idx);
	g->cols = calloc(g->ncol ? g->ncol : 1, sizeof(size_t));
	g->mean = calloc(g->ncol ? g->ncol : 1, sizeof(double));
	g->sd = calloc(g->ncol ? g->ncol : 1, sizeof(double));
	if (!g->cols || !g->mean || !g->sd) {
		mgroup_free(g);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < g->ncol; k++) {
		json_t *v = json_array_get(idx, k);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (size_t)json_integer_value(v) >= n_features)
			goto out_bad;
		g->cols[k] = (size_t)json_integer_value(v);
	}
	if (num_array(json_object_get(jg, "mean"), g->ncol, g->mean) ||
	    num_array(json_object_get(jg, "sd"), g->ncol, g->sd))
		goto out_bad;
	for (size_t k = 0; k < g->ncol; k++)
		if (!(g->sd[k] > 0))
			goto out_bad;
	json_t *sup = json_object_get(jg, "support_d99"); /* optional */
	if (sup && (!json_is_number(sup) || !isfinite(g->support = json_number_value(sup)) ||
		    g->support < 0))
		goto out_bad;
	g->svm = clf_svm_parse(json_string_value(svm), json_string_length(svm), g->ncol, errstr,
			       errlen);
	if (!g->svm) {
		mgroup_free(g);
		return BW_EPARSE;
	}
	if (fold_linear(g)) {
		mgroup_free(g);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	*out = g;
	return 0;
out_bad:
	mgroup_free(g);
	return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed group %s",
			 clf_groups[def].name);
}

static int parse_heads(struct clf_model *mdl, json_t *jheads, char *errstr, size_t errlen)
{
	if (!json_is_array(jheads) || json_array_size(jheads) == 0 ||
	    json_array_size(jheads) > CLF_MAX_TYPES + 1)
		return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed heads");
	mdl->nhead = json_array_size(jheads);
	if (!(mdl->heads = calloc(mdl->nhead, sizeof(*mdl->heads))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	for (size_t h = 0; h < mdl->nhead; h++) {
		json_t *jh = json_array_get(jheads, h), *name = json_object_get(jh, "name");
		json_t *groups = json_object_get(jh, "groups");
		if (!json_is_string(name) || !json_is_array(groups) ||
		    !(mdl->heads[h].name = xstrdup(json_string_value(name))))
			return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed head");
		for (size_t k = 0; k < json_array_size(groups); k++) {
			struct clf_mgroup *g = NULL;
			int rc = parse_group(json_array_get(groups, k), mdl->n_features, &g, errstr,
					     errlen);
			if (rc)
				return rc;
			if (mdl->heads[h].grp[g->def]) {
				mgroup_free(g);
				return bw_seterr(errstr, errlen, BW_EPARSE, "model: duplicate group");
			}
			mdl->heads[h].grp[g->def] = g;
		}
	}
	return 0;
}

/* Parse one stack entry; its groups must exist in the stack's head. */
static int parse_entry(const struct clf_mhead *head, json_t *je, struct clf_mentry *e)
{
	json_t *use = json_object_get(je, "use"), *w = json_object_get(je, "w");
	json_t *b = json_object_get(je, "b"), *mask = json_object_get(je, "mask");
	if (!json_is_array(use) || json_array_size(use) == 0 ||
	    json_array_size(use) > CLF_N_GROUPS || !json_is_number(b) || !json_is_integer(mask))
		return -1;
	e->nuse = json_array_size(use);
	e->b = json_number_value(b);
	e->mask = (uint32_t)json_integer_value(mask) & CLF_AVAIL_ALL;
	if (num_array(w, e->nuse, e->w) || !isfinite(e->b))
		return -1;
	/* optional (absent in older models): the declaration term */
	json_t *dw = json_object_get(je, "decl_w");
	e->decl_w = 0;
	if (dw && (!json_is_number(dw) || !isfinite(e->decl_w = json_number_value(dw)) ||
		   e->decl_w < 0))
		return -1;
	/* optional (absent in older models): the bounded activity part */
	json_t *ab = json_object_get(je, "act_b"), *ac = json_object_get(je, "act_cap");
	e->act_b = 0;
	e->act_cap = INFINITY;
	if (ab || ac) {
		if (!json_is_number(ab) || !json_is_number(ac))
			return -1;
		e->act_b = json_number_value(ab);
		e->act_cap = json_number_value(ac);
		if (!isfinite(e->act_b) || !isfinite(e->act_cap) || e->act_cap < 0)
			return -1;
	}
	uint32_t need = 0;
	for (size_t k = 0; k < e->nuse; k++) {
		json_t *u = json_array_get(use, k);
		int g = json_is_string(u) ? group_index(json_string_value(u)) : -1;
		if (g < 0 || !head->grp[g])
			return -1;
		e->use[k] = g;
		need |= clf_groups[g].req;
	}
	return need == e->mask ? 0 : -1;
}

/* Register stack s under its role (english, universal, class, type). */
static int stack_role(struct clf_model *mdl, size_t s, const char *kind)
{
	const char *name = mdl->stacks[s].name;
	if (strcmp(kind, "overall") == 0) {
		if (strcmp(name, "english") == 0)
			mdl->st_english = (int)s;
		else if (strcmp(name, "universal") == 0)
			mdl->st_universal = (int)s;
		else
			return -1;
		return 0;
	}
	if (strcmp(kind, "category") == 0) {
		for (int c = 0; c < CLF_NCLASS; c++)
			if (strcmp(name, clf_class_names[c]) == 0) {
				mdl->st_class[c] = (int)s;
				return 0;
			}
		return -1;
	}
	if (strcmp(kind, "type") == 0 && mdl->ntypes < CLF_MAX_TYPES) {
		mdl->st_type[mdl->ntypes++] = (int)s;
		return 0;
	}
	return -1;
}

static int parse_stacks(struct clf_model *mdl, json_t *js, char *errstr, size_t errlen)
{
	if (!json_is_array(js) || json_array_size(js) > 8 + CLF_MAX_TYPES)
		return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed stacks");
	mdl->nstack = json_array_size(js);
	if (!(mdl->stacks = calloc(mdl->nstack ? mdl->nstack : 1, sizeof(*mdl->stacks))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	for (size_t s = 0; s < mdl->nstack; s++) {
		struct clf_mstack *st = &mdl->stacks[s];
		json_t *o = json_array_get(js, s), *name = json_object_get(o, "name");
		json_t *kind = json_object_get(o, "kind"), *head = json_object_get(o, "head");
		json_t *ents = json_object_get(o, "entries");
		if (!json_is_string(name) || !json_is_string(kind) || !json_is_integer(head) ||
		    json_integer_value(head) < 0 || (size_t)json_integer_value(head) >= mdl->nhead ||
		    !json_is_array(ents) || json_array_size(ents) > CLF_N_PATTERNS ||
		    !(st->name = xstrdup(json_string_value(name))))
			return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed stack %zu", s);
		st->head = (int)json_integer_value(head);
		for (size_t k = 0; k < json_array_size(ents); k++)
			if (parse_entry(&mdl->heads[st->head], json_array_get(ents, k),
					&st->ent[st->nent++]))
				return bw_seterr(errstr, errlen, BW_EPARSE,
						 "model: malformed entry %zu of stack %s", k, st->name);
		if (stack_role(mdl, s, json_string_value(kind)))
			return bw_seterr(errstr, errlen, BW_EPARSE, "model: stack %s has an unknown role",
					 st->name);
	}
	if (mdl->st_english < 0 || mdl->st_universal < 0)
		return bw_seterr(errstr, errlen, BW_EPARSE, "model: no english/universal stack");
	return 0;
}

static int parse_cap(struct clf_model *mdl, json_t *cap, char *errstr, size_t errlen)
{
	static const char *const names[2] = { "english", "universal" };
	for (int v = 0; v < 2; v++) {
		json_t *o = json_object_get(cap, names[v]);
		if (num_array(json_object_get(o, "bot_survival"), CLF_CAP_GRID, mdl->cap_bot[v]) ||
		    num_array(json_object_get(o, "human_survival"), CLF_CAP_GRID, mdl->cap_human[v]))
			return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed cap.%s", names[v]);
	}
	return 0;
}

static char *sha256_id(const char *buf, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *id = malloc(8 + 64 + 1);
	if (!id || !EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		free(id);
		return NULL;
	}
	memcpy(id, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(id + 7 + 2 * i, 3, "%02x", md[i]);
	return id;
}

/* Header checks: format, version, schema. */
static int check_header(struct clf_model *mdl, json_t *doc, const char *schema_hash,
			size_t n_features, char *errstr, size_t errlen)
{
	json_t *fmt = json_object_get(doc, "format"), *ver = json_object_get(doc, "format_version");
	json_t *fs = json_object_get(doc, "feature_schema");
	json_t *h = json_object_get(fs, "hash"), *n = json_object_get(fs, "n_features");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "botwatch-model") != 0)
		return bw_seterr(errstr, errlen, BW_EPARSE, "not a botwatch model file");
	if (!json_is_integer(ver) || json_integer_value(ver) != CLF_FORMAT_VERSION)
		return bw_seterr(errstr, errlen, BW_ESCHEMA,
				 "model format version %lld is not supported (this build reads %d)",
				 json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
				 CLF_FORMAT_VERSION);
	if (!json_is_string(h) || !json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_integer_value(n) > 1000000)
		return bw_seterr(errstr, errlen, BW_EPARSE, "model: malformed feature_schema");
	mdl->n_features = (size_t)json_integer_value(n);
	if (!(mdl->schema_hash = xstrdup(json_string_value(h))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (schema_hash && (strcmp(schema_hash, mdl->schema_hash) != 0 ||
			    n_features != mdl->n_features))
		return bw_seterr(errstr, errlen, BW_ESCHEMA,
				 "model was trained on feature schema %s (%zu features) but this "
				 "build has %s (%zu features); retrain it with `botwatch train`",
				 mdl->schema_hash, mdl->n_features, schema_hash, n_features);
	return 0;
}

struct clf_model *clf_model_parse(const char *buf, size_t len, const char *schema_hash,
				  size_t n_features, char *errstr, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = NULL;
	struct clf_model *mdl = calloc(1, sizeof(*mdl));
	int rc;

	if (!mdl) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	mdl->st_english = mdl->st_universal = -1;
	for (int c = 0; c < CLF_NCLASS; c++)
		mdl->st_class[c] = -1;
	if (len > MODEL_MAX_BYTES) {
		bw_seterr(errstr, errlen, BW_ETOOLARGE, "model file larger than %u bytes",
			  MODEL_MAX_BYTES);
		goto out_free;
	}
	if (!(doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr))) {
		bw_seterr(errstr, errlen, BW_EPARSE, "model: line %d column %d: %s", jerr.line,
			  jerr.column, jerr.text);
		goto out_free;
	}
	if (!json_is_object(doc)) {
		bw_seterr(errstr, errlen, BW_EPARSE, "not a botwatch model file");
		goto out_free;
	}
	if ((rc = check_header(mdl, doc, schema_hash, n_features, errstr, errlen)) ||
	    (rc = parse_heads(mdl, json_object_get(doc, "heads"), errstr, errlen)) ||
	    (rc = parse_stacks(mdl, json_object_get(doc, "stacks"), errstr, errlen)) ||
	    (rc = parse_cap(mdl, json_object_get(doc, "cap"), errstr, errlen)))
		goto out_free;
	json_t *bl = json_object_get(doc, "baselines"); /* optional: older models have none */
	if (bl && clf_baselines_parse(bl, mdl->n_features, &mdl->base, errstr, errlen))
		goto out_free;
	json_t *tr = json_object_get(doc, "training");
	mdl->training = json_is_object(tr) ? json_incref(tr) : json_object();
	if (!(mdl->id = sha256_id(buf, len))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "sha256 failed");
		goto out_free;
	}
	json_decref(doc);
	return mdl;
out_free:
	json_decref(doc);
	clf_model_free(mdl);
	return NULL;
}

struct clf_model *clf_model_load(const char *path, const char *schema_hash,
				 size_t n_features, char *errstr, size_t errlen)
{
	size_t len = 0;
	int err;
	char *buf = bw_fs_read_all(path, MODEL_MAX_BYTES, &len, &err, errstr, errlen);
	struct clf_model *mdl;

	if (!buf) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s", errstr);
		bw_seterr(errstr, errlen, err, "cannot read model %s", tmp);
		return NULL;
	}
	mdl = clf_model_parse(buf, len, schema_hash, n_features, errstr, errlen);
	if (!mdl) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s", errstr);
		bw_seterr(errstr, errlen, BW_EPARSE, "%s: %s", path, tmp);
	}
	free(buf);
	return mdl;
}

const char *clf_model_id(const struct clf_model *mdl)
{
	return mdl->id;
}

size_t clf_model_n_features(const struct clf_model *mdl)
{
	return mdl->n_features;
}

const char *clf_model_schema(const struct clf_model *mdl)
{
	return mdl->schema_hash;
}

size_t clf_model_n_types(const struct clf_model *mdl)
{
	return mdl->ntypes;
}

const char *clf_model_type_name(const struct clf_model *mdl, size_t i)
{
	return i < mdl->ntypes ? mdl->stacks[mdl->st_type[i]].name : NULL;
}

const json_t *clf_model_training(const struct clf_model *mdl)
{
	return mdl->training;
}
