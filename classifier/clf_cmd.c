/*
 * clf_cmd.c — labels files, archive decoding into per-account feature state,
 * and the labelled matrix for train/eval/replay (see clf_cmd.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf_cmd.h"
#include "decode.h"
#include "feat.h"
#include "feat_replay.h"

#define LABEL_LINE_MAX 4096
#define LABEL_FIELDS 6 /* user_id,label,class,dataset,evidence,fields */

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Open-addressing index over string keys: slots hold entry index + 1. */
static int index_grow(size_t **slot, size_t *nslot, size_t n, char *const *keys)
{
	size_t ns = *nslot ? *nslot * 2 : 1024;
	size_t *s = calloc(ns, sizeof(size_t));
	if (!s)
		return BW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)hash_str(keys[i]) & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = i + 1;
	}
	free(*slot);
	*slot = s;
	*nslot = ns;
	return 0;
}

/* A fresh index over keys[0..n) (replacing *slot). */
static int index_build(size_t **slot, size_t *nslot, size_t n, char *const *keys)
{
	size_t ns = 1024;
	while (ns < 2 * n + 2)
		ns *= 2;
	free(*slot);
	*slot = NULL;
	*nslot = ns / 2; /* index_grow doubles it */
	if (index_grow(slot, nslot, n, keys)) {
		*nslot = 0; /* empty: index_find finds nothing */
		return BW_ENOMEM;
	}
	return 0;
}

static long index_find(const size_t *slot, size_t nslot, char *const *keys, const char *id)
{
	if (!nslot)
		return -1;
	for (size_t h = (size_t)hash_str(id) & (nslot - 1); slot[h]; h = (h + 1) & (nslot - 1))
		if (strcmp(keys[slot[h] - 1], id) == 0)
			return (long)(slot[h] - 1);
	return -1;
}

static void index_put(size_t *slot, size_t nslot, const char *id, size_t idx)
{
	size_t h = (size_t)hash_str(id) & (nslot - 1);
	while (slot[h])
		h = (h + 1) & (nslot - 1);
	slot[h] = idx + 1;
}

/* ---- labels ----------------------------------------------------------------- */

void clf_labels_init(struct clf_labels *lb)
{
	memset(lb, 0, sizeof(*lb));
}

void clf_labels_free(struct clf_labels *lb)
{
	for (size_t i = 0; i < lb->n; i++) {
		free(lb->id[i]);
		free(lb->cls[i]);
		free(lb->dataset[i]);
	}
	free(lb->id);
	free(lb->label);
	free(lb->cls);
	free(lb->dataset);
	free(lb->evidence);
	free(lb->fields);
	free(lb->slot);
	memset(lb, 0, sizeof(*lb));
}

long clf_labels_find(const struct clf_labels *lb, const char *id)
{
	return index_find(lb->slot, lb->nslot, lb->id, id);
}

static int labels_add(struct clf_labels *lb, const char *id, int label, const char *cls,
		      const char *ds, uint32_t evidence, uint32_t fields)
{
	if (clf_labels_find(lb, id) >= 0) {
		lb->dup++;
		return 0;
	}
	if (lb->n == lb->cap) {
		size_t nc = lb->cap ? lb->cap * 2 : 1024;
		char **a = realloc(lb->id, nc * sizeof(char *)), **b, **c;
		if (a)
			lb->id = a;
		b = realloc(lb->cls, nc * sizeof(char *));
		if (b)
			lb->cls = b;
		c = realloc(lb->dataset, nc * sizeof(char *));
		if (c)
			lb->dataset = c;
		int *l = realloc(lb->label, nc * sizeof(int));
		if (l)
			lb->label = l;
		uint32_t *ev = realloc(lb->evidence, nc * sizeof(uint32_t));
		if (ev)
			lb->evidence = ev;
		uint32_t *fl = realloc(lb->fields, nc * sizeof(uint32_t));
		if (fl)
			lb->fields = fl;
		if (!a || !b || !c || !l || !ev || !fl)
			return BW_ENOMEM;
		lb->cap = nc;
	}
	if ((lb->n + 1) * 2 > lb->nslot && index_grow(&lb->slot, &lb->nslot, lb->n, lb->id))
		return BW_ENOMEM;
	size_t i = lb->n;
	lb->id[i] = xstrdup(id);
	lb->cls[i] = xstrdup(cls && *cls ? cls : label ? "bot" : "human");
	lb->dataset[i] = xstrdup(ds);
	lb->label[i] = label;
	lb->evidence[i] = evidence;
	lb->fields[i] = fields;
	if (!lb->id[i] || !lb->cls[i] || !lb->dataset[i]) {
		free(lb->id[i]);
		free(lb->cls[i]);
		free(lb->dataset[i]);
		return BW_ENOMEM;
	}
	index_put(lb->slot, lb->nslot, id, i);
	lb->n++;
	return 0;
}

/* Dataset default: the name of the directory holding the labels file. */
static void dataset_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, len, "default");
		return;
	}
	const char *start = slash;
	while (start > path && start[-1] != '/')
		start--;
	snprintf(out, len, "%.*s", (int)(slash - start), start);
	if (!out[0])
		snprintf(out, len, "default");
}

/* Split line in place on commas into at most LABEL_FIELDS fields; returns the count. */
static int split_csv(char *line, char **f)
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < LABEL_FIELDS; p++) {
		if (*p == ',') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	for (int i = 0; i < n; i++) { /* trim */
		while (*f[i] == ' ')
			f[i]++;
		char *e = f[i] + strlen(f[i]);
		while (e > f[i] && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\n'))
			*--e = '\0';
	}
	return n;
}

/* The evidence column: "all" (or empty) or '+'-joined evidence names
 * (profile_text, profile_counts, posts). Returns 0 with *mask set, or -1. */
static int parse_evidence(const char *s, uint32_t *mask)
{
	static const struct { const char *name; uint32_t bit; } ev[] = {
		{ "profile_text", CLF_AVAIL_TEXT },
		{ "profile_counts", CLF_AVAIL_COUNTS },
		{ "posts", CLF_AVAIL_ACTIVITY },
	};
	*mask = 0;
	if (!*s || strcmp(s, "all") == 0) {
		*mask = CLF_AVAIL_ALL;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, "+"), k;
		for (k = 0; k < sizeof(ev) / sizeof(ev[0]); k++)
			if (strlen(ev[k].name) == n && strncmp(s, ev[k].name, n) == 0)
				break;
		if (k == sizeof(ev) / sizeof(ev[0]))
			return -1;
		*mask |= ev[k].bit;
		s += n;
		if (*s == '+' && !*++s)
			return -1;
	}
	return 0;
}

/* Profile fields and the registry columns that read them. A column is
 * matched by its name: the first entry whose name is a prefix of it (longer
 * names first where one is a prefix of another). */
static const struct {
	const char *name; /* field name in the labels' fields column */
	uint32_t bit;     /* CLF_FIELD_* */
} field_names[] = {
	{ "screen_name", CLF_FIELD_SCREEN_NAME },
	{ "name", CLF_FIELD_NAME },
	{ "description", CLF_FIELD_DESCRIPTION },
	{ "followers_count", CLF_FIELD_FOLLOWERS },
	{ "friends_count", CLF_FIELD_FRIENDS },
	{ "statuses_count", CLF_FIELD_STATUSES },
	{ "listed_count", CLF_FIELD_LISTED },
	{ "favourites_count", CLF_FIELD_FAVOURITES },
	{ "created_at", CLF_FIELD_CREATED },
	{ "other", CLF_FIELD_OTHER },
};

static const struct {
	const char *prefix; /* registry column name prefix */
	uint32_t fields;    /* CLF_FIELD_* it reads */
} column_fields[] = {
	{ "user.statuses_count", CLF_FIELD_STATUSES },
	{ "user.followers_count", CLF_FIELD_FOLLOWERS },
	{ "user.friends_count", CLF_FIELD_FRIENDS },
	{ "user.favourites_count", CLF_FIELD_FAVOURITES },
	{ "user.listed_count", CLF_FIELD_LISTED },
	{ "user.account_age_days", CLF_FIELD_CREATED },
	{ "user.tweet_freq", CLF_FIELD_STATUSES | CLF_FIELD_CREATED },
	{ "user.followers_growth_rate", CLF_FIELD_FOLLOWERS | CLF_FIELD_CREATED },
	{ "user.friends_growth_rate", CLF_FIELD_FRIENDS | CLF_FIELD_CREATED },
	{ "user.favourites_growth_rate", CLF_FIELD_FAVOURITES | CLF_FIELD_CREATED },
	{ "user.listed_growth_rate", CLF_FIELD_LISTED | CLF_FIELD_CREATED },
	{ "user.followers_friends_ratio", CLF_FIELD_FOLLOWERS | CLF_FIELD_FRIENDS },
	{ "user.friends_followers_ratio", CLF_FIELD_FOLLOWERS | CLF_FIELD_FRIENDS },
	{ "user.listed_per_follower", CLF_FIELD_LISTED | CLF_FIELD_FOLLOWERS },
	{ "user.favourites_per_status", CLF_FIELD_FAVOURITES | CLF_FIELD_STATUSES },
	{ "user.screen_name_", CLF_FIELD_SCREEN_NAME },
	{ "user.num_digits_in_screen_name", CLF_FIELD_SCREEN_NAME },
	{ "user.name_screen_name_similarity", CLF_FIELD_NAME | CLF_FIELD_SCREEN_NAME },
	{ "user.name_", CLF_FIELD_NAME },
	{ "user.num_digits_in_name", CLF_FIELD_NAME },
	{ "user.description_", CLF_FIELD_DESCRIPTION },
	/* measured from the archive's posts, not read from a profile field */
	{ "user.posts_seen", 0 },
	{ "user.screen_names_seen", 0 },
};

uint32_t clf_cmd_column_fields(const char *name)
{
	if (strncmp(name, "user.", 5) != 0)
		return 0;
	for (size_t k = 0; k < sizeof(column_fields) / sizeof(column_fields[0]); k++)
		if (strncmp(name, column_fields[k].prefix, strlen(column_fields[k].prefix)) == 0)
			return column_fields[k].fields;
	return CLF_FIELD_OTHER;
}

/* The fields column: "all" (or empty) or '+'-joined field names (see
 * field_names). Returns 0 with *mask set, or -1. */
static int parse_fields(const char *s, uint32_t *mask)
{
	*mask = 0;
	if (!*s || strcmp(s, "all") == 0) {
		*mask = CLF_FIELDS_ALL;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, "+"), k;
		for (k = 0; k < sizeof(field_names) / sizeof(field_names[0]); k++)
			if (strlen(field_names[k].name) == n && strncmp(s, field_names[k].name, n) == 0)
				break;
		if (k == sizeof(field_names) / sizeof(field_names[0]))
			return -1;
		*mask |= field_names[k].bit;
		s += n;
		if (*s == '+' && !*++s)
			return -1;
	}
	return 0;
}

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (*s == ',' || *s == '"' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

int clf_labels_load(struct clf_labels *lb, const char *path, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[LABEL_LINE_MAX + 2], ds_default[128];
	unsigned long ln = 0;
	int rc = 0;
	if (!f)
		return bw_seterr(errstr, errlen, BW_ENOENT, "%s: %s", path, strerror(errno));
	dataset_of(path, ds_default, sizeof(ds_default));
	while (fgets(line, sizeof(line), f)) {
		char *fld[LABEL_FIELDS];
		uint32_t evidence = CLF_AVAIL_ALL, fields = CLF_FIELDS_ALL;
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s:%lu: line longer than %d bytes",
				       path, ln, LABEL_LINE_MAX);
			break;
		}
		int n = split_csv(line, fld);
		if (n == 1 && !fld[0][0])
			continue; /* blank line */
		if (ln == 1 && strcmp(fld[0], "user_id") == 0)
			continue; /* header */
		if (n < 2 || !valid_id(fld[0]) || (strcmp(fld[1], "0") && strcmp(fld[1], "1"))) {
			rc = bw_seterr(errstr, errlen, BW_EPARSE,
				       "%s:%lu: expected user_id,label[,class][,dataset][,evidence][,fields] "
				       "with label 0 or 1",
				       path, ln);
			break;
		}
		if (n > 4 && parse_evidence(fld[4], &evidence)) {
			rc = bw_seterr(errstr, errlen, BW_EPARSE,
				       "%s:%lu: evidence '%s' is not 'all' or a '+'-joined list of "
				       "profile_text, profile_counts, posts", path, ln, fld[4]);
			break;
		}
		if (n > 5 && parse_fields(fld[5], &fields)) {
			rc = bw_seterr(errstr, errlen, BW_EPARSE,
				       "%s:%lu: fields '%s' is not 'all' or a '+'-joined list of "
				       "screen_name, name, description, followers_count, friends_count, "
				       "statuses_count, listed_count, favourites_count, created_at, other",
				       path, ln, fld[5]);
			break;
		}
		if ((rc = labels_add(lb, fld[0], fld[1][0] == '1', n > 2 ? fld[2] : NULL,
				     n > 3 && fld[3][0] ? fld[3] : ds_default, evidence, fields))) {
			bw_seterr(errstr, errlen, rc, "out of memory");
			break;
		}
	}
	if (!rc && ferror(f))
		rc = bw_seterr(errstr, errlen, BW_EIO, "%s: read error", path);
	fclose(f);
	return rc;
}

/* ---- corpus ----------------------------------------------------------------- */

/* Built on the features stage's replay driver, so train, eval and replay
 * compute every feature the same way (observations of other accounts
 * included); the corpus adds the evidence (CLF_AVAIL_*) per author and an
 * id-ordered listing. */
struct clf_corpus {
	struct feat_replay *r;          /* decoder + feature states (owned) */
	int64_t probe_ms;               /* --probe-time or BW_TIME_NONE */
	bool include_observed;          /* list accounts that never authored a record */
	size_t n_av;                    /* evidence entries (index = the driver's account index) */
	struct clf_avail_state *av;     /* evidence per account (zero: never authored) */
	size_t n;                       /* listed accounts */
	size_t *idx;                    /* the driver's index of each, sorted by id */
	const char **id;                /* their ids (borrowed from the driver) */
	uint32_t *mask;                 /* their CLF_AVAIL_* masks */
	size_t *slot;                   /* id index over id */
	size_t nslot;                   /* its slots */
	int err;                        /* sticky allocation failure in the hook */
};

void clf_corpus_free(struct clf_corpus *c)
{
	if (!c)
		return;
	feat_replay_free(c->r);
	free(c->av);
	free(c->idx);
	free(c->id);
	free(c->mask);
	free(c->slot);
	free(c);
}

/* Evidence entry of an author (by the driver's account index, grown on first
 * use); NULL on allocation failure. */
static struct clf_avail_state *corpus_av(struct clf_corpus *c, const char *id)
{
	long i = feat_replay_find(c->r, id);
	if (i < 0)
		return NULL;
	if ((size_t)i >= c->n_av) {
		size_t nc = c->n_av ? c->n_av : 1024;
		while (nc <= (size_t)i)
			nc *= 2;
		struct clf_avail_state *v = realloc(c->av, nc * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + c->n_av, 0, (nc - c->n_av) * sizeof(*v));
		c->av = v;
		c->n_av = nc;
	}
	return &c->av[i];
}

static void on_author(const struct feat_account *acc, const struct bw_post *p, void *opaque)
{
	struct clf_corpus *c = opaque;
	struct clf_avail_state *st = c->err ? NULL : corpus_av(c, feat_account_id(acc));
	if (!st) {
		c->err = BW_ENOMEM;
		return;
	}
	clf_avail_update(st, p);
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The store's order: all-digit ids numerically and first, then bytewise. */
int clf_id_cmp(const char *a, const char *b)
{
	bool da = all_digits(a), db = all_digits(b);
	if (da != db)
		return da ? -1 : 1;
	if (da) {
		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		size_t la = strlen(a), lb = strlen(b);
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return strcmp(a, b);
}

/* An account to list: its id (borrowed from the driver) and index there. */
struct listed {
	const char *id;
	size_t idx;
};

static int cmp_listed(const void *x, const void *y)
{
	const struct listed *a = x, *b = y;
	return clf_id_cmp(a->id, b->id);
}

/* After decoding: list the accounts in id order with their masks. Reads only
 * the driver's index, never a state (they may be in its spill file). */
static int corpus_list(struct clf_corpus *c)
{
	size_t total = feat_replay_count(c->r), n = 0;
	struct listed *l = malloc((total ? total : 1) * sizeof(*l));
	if (!l)
		return BW_ENOMEM;
	for (size_t i = 0; i < total; i++)
		if (c->include_observed || feat_replay_authored(c->r, i))
			l[n++] = (struct listed){ feat_replay_id(c->r, i), i };
	qsort(l, n, sizeof(*l), cmp_listed);
	c->idx = malloc((n ? n : 1) * sizeof(*c->idx));
	c->id = malloc((n ? n : 1) * sizeof(*c->id));
	c->mask = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!c->idx || !c->id || !c->mask) {
		free(l);
		return BW_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		c->idx[i] = l[i].idx;
		c->id[i] = l[i].id;
		c->mask[i] = c->idx[i] < c->n_av ? clf_avail_mask(&c->av[c->idx[i]]) : 0;
	}
	free(l);
	c->n = n;
	return index_build(&c->slot, &c->nslot, n, (char *const *)c->id);
}

struct clf_corpus *clf_corpus_build(const struct bw_config *cfg, char **files, size_t nfiles,
				    const struct clf_corpus_opts *opts, char *errstr,
				    size_t errlen)
{
	struct clf_corpus *c = calloc(1, sizeof(*c));
	if (!c) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	c->probe_ms = opts->probe_ms;
	c->include_observed = opts->include_observed;
	int fmt = ingest_format_parse(cfg->ingest_format);
	struct feat_replay_opts o = {
		.probe_time_ms = opts->probe_ms,
		.max_unit_bytes = (size_t)cfg->ingest_max_line_bytes,
		.max_depth = (int)cfg->ingest_max_depth,
		.format = fmt > 0 ? fmt : 0, /* the config table admits only known names */
		.include_observed = opts->include_observed,
		.on_dlq = opts->on_dlq,
		.dlq_opaque = opts->dlq_opaque,
		.on_author = on_author,
		.author_opaque = c,
		.threads = opts->threads,
		.mem_budget = opts->mem_budget,
		.spill_dir = opts->spill_dir,
		.tally = opts->tally,
	};
	if (!(c->r = feat_replay_new(&o, errstr, errlen)))
		goto out_free;
	if (feat_replay_files(c->r, files, nfiles, errstr, errlen) || c->err)
		goto out_failed;
	if (corpus_list(c)) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory listing accounts");
		goto out_free;
	}
	return c;
out_failed:
	if (c->err)
		bw_seterr(errstr, errlen, c->err, "out of memory tracking evidence");
out_free:
	clf_corpus_free(c);
	return NULL;
}

size_t clf_corpus_count(const struct clf_corpus *c)
{
	return c->n;
}

const char *clf_corpus_id(const struct clf_corpus *c, size_t i)
{
	return c->id[i];
}

const struct feat_account *clf_corpus_account(const struct clf_corpus *c, size_t i)
{
	return feat_replay_account(c->r, c->idx[i]);
}

const char *clf_corpus_screen_name(const struct clf_corpus *c, size_t i)
{
	const struct feat_account *a = clf_corpus_account(c, i);
	return a ? feat_account_screen_name(a) : NULL;
}

uint64_t clf_corpus_posts(const struct clf_corpus *c, size_t i)
{
	const struct feat_account *a = clf_corpus_account(c, i);
	return a ? feat_account_posts(a) : 0;
}

int64_t clf_corpus_last_event(const struct clf_corpus *c, size_t i)
{
	const struct feat_account *a;
	if (c->probe_ms != BW_TIME_NONE)
		return c->probe_ms;
	a = clf_corpus_account(c, i);
	return a ? feat_account_last_event(a) : BW_TIME_NONE;
}

uint32_t clf_corpus_avail(const struct clf_corpus *c, size_t i)
{
	return c->mask[i];
}

long clf_corpus_find(const struct clf_corpus *c, const char *id)
{
	return index_find(c->slot, c->nslot, (char *const *)c->id, id);
}

int clf_corpus_extract(const struct clf_corpus *c, size_t i, double *out)
{
	const struct feat_account *a = clf_corpus_account(c, i);
	return a ? feat_replay_extract(c->r, a, out) : BW_EIO;
}

const struct feat_account *clf_corpus_peek(const struct clf_corpus *c, size_t i,
					   struct feat_account **copy, char *errstr, size_t errlen)
{
	return feat_replay_peek(c->r, c->idx[i], copy, errstr, errlen);
}

int clf_corpus_extract_from(const struct clf_corpus *c, const struct feat_account *a, double *out)
{
	return feat_replay_extract(c->r, a, out);
}

int64_t clf_corpus_scored_at(const struct clf_corpus *c, const struct feat_account *a)
{
	return c->probe_ms != BW_TIME_NONE ? c->probe_ms : feat_account_last_event(a);
}

int64_t clf_corpus_latest(const struct clf_corpus *c)
{
	int64_t t = BW_TIME_NONE;
	for (size_t i = 0; i < c->n; i++) {
		const struct feat_account *a = clf_corpus_account(c, i);
		int64_t e = a ? feat_account_last_event(a) : BW_TIME_NONE;
		if (e != BW_TIME_NONE && (t == BW_TIME_NONE || e > t))
			t = e;
	}
	return c->probe_ms != BW_TIME_NONE ? c->probe_ms : t;
}

const struct feat_replay_mem *clf_corpus_mem(const struct clf_corpus *c)
{
	return feat_replay_mem(c->r);
}

const struct feat_replay_stats *clf_corpus_replay_stats(const struct clf_corpus *c)
{
	return feat_replay_stats(c->r);
}

void clf_corpus_summary(const struct clf_corpus *c, char *buf, size_t len)
{
	const struct bw_decode_stats *ds = feat_replay_decode_stats(c->r);
	const struct feat_replay_stats *st = feat_replay_stats(c->r);
	uint64_t dlq = 0;
	for (int k = 0; k < BW_DLQ__COUNT; k++)
		dlq += ds->dlq[k];
	snprintf(buf, len,
		 "%llu units, %llu records, %llu dead-lettered, %llu late posts ignored, "
		 "%llu accounts authored records, %llu only observed, %zu listed",
		 (unsigned long long)ds->units, (unsigned long long)st->posts,
		 (unsigned long long)dlq, (unsigned long long)st->late,
		 (unsigned long long)st->authored, (unsigned long long)(st->accounts - st->authored),
		 c->n);
}

/* ---- matrix ----------------------------------------------------------------- */

struct clf_matrix *clf_cmd_matrix_new(void)
{
	size_t n = feat_count();
	const char **names = malloc((n ? n : 1) * sizeof(char *));
	int *cls = malloc((n ? n : 1) * sizeof(int));
	bool *uni = malloc((n ? n : 1) * sizeof(bool));
	struct clf_matrix *m = NULL;
	if (names && cls && uni) {
		for (size_t i = 0; i < n; i++) {
			const struct feat_def *d = feat_def_get(i);
			names[i] = d->name;
			cls[i] = (int)d->cls;
			uni[i] = d->universal;
		}
		m = clf_matrix_new(n, names, cls, uni);
	}
	free(names);
	free(cls);
	free(uni);
	return m;
}

/* A row's evidence: the account's, plus the profile counts when its
 * source declares follower and friend counts but lacks the other count
 * fields or the creation time (a four-field dump): the counts group then
 * learns from the two it has, the others masked (docs/MODEL.md, "Sources"). */
static uint32_t row_avail(uint32_t avail, uint32_t fields)
{
	const uint32_t ff = CLF_FIELD_FOLLOWERS | CLF_FIELD_FRIENDS;
	if (fields != CLF_FIELDS_ALL && (fields & ff) == ff)
		avail |= CLF_AVAIL_COUNTS;
	return avail;
}

int clf_cmd_fill(struct clf_matrix *m, const struct clf_corpus *c, const struct clf_labels *lb,
		 size_t *missing, char *errstr, size_t errlen)
{
	double *x = malloc((m->n_cols ? m->n_cols : 1) * sizeof(double));
	uint32_t *colf = malloc((m->n_cols ? m->n_cols : 1) * sizeof(uint32_t));
	int rc = 0;
	if (!x || !colf) {
		free(x);
		free(colf);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	for (size_t j = 0; j < m->n_cols; j++)
		colf[j] = clf_cmd_column_fields(m->col_names[j]);
	*missing = 0;
	for (size_t k = 0; k < lb->n && !rc; k++) {
		long i = clf_corpus_find(c, lb->id[k]);
		if (i < 0) {
			(*missing)++;
			continue;
		}
		if ((rc = clf_corpus_extract(c, (size_t)i, x))) {
			bw_seterr(errstr, errlen, rc, "account %s: feature extraction failed: %s",
				  lb->id[k], bw_strerror(rc));
			break;
		}
		/* the labels' fields column masks the profile columns reading a
		 * field the row's source does not have (docs/MODEL.md, "Sources") */
		if (lb->fields[k] != CLF_FIELDS_ALL)
			for (size_t j = 0; j < m->n_cols; j++)
				if (colf[j] & ~lb->fields[k])
					x[j] = NAN;
		/* the labels' evidence column limits what the row may be trained
		 * and scored on (docs/MODEL.md, "Real labelled timelines") */
		rc = clf_matrix_add(m, lb->id[k], x, lb->label[k], lb->cls[k], lb->dataset[k],
				    row_avail(clf_corpus_avail(c, (size_t)i), lb->fields[k]) &
					    lb->evidence[k],
				    errstr, errlen);
	}
	free(x);
	free(colf);
	return rc;
}

int clf_cmd_file_sha256(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char buf[65536], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = BW_EIO;
	if (!f || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out_free;
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, k);
	if (ferror(f) || !EVP_DigestFinal_ex(ctx, md, &mdlen) || outlen < 72)
		goto out_free;
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out_free:
	EVP_MD_CTX_free(ctx);
	if (f)
		fclose(f);
	return rc;
}

int clf_cmd_parse_time(const char *s, int64_t *ms)
{
	return bw_time_parse_any(s, strlen(s), ms) ? BW_EPARSE : 0;
}

int clf_cmd_take_list(int argc, char **argv, int i, char **list, size_t *n, size_t max)
{
	while (i < argc && strncmp(argv[i], "--", 2) != 0 && *n < max)
		list[(*n)++] = argv[i++];
	return i;
}

int clf_cmd_uint_arg(const char *cmd, const char *opt, const char *v, uint64_t lo, uint64_t hi,
		     uint64_t *out)
{
	char *e = NULL;
	errno = 0;
	unsigned long long u = v && *v >= '0' && *v <= '9' ? strtoull(v, &e, 10) : 0;
	if (!e || *e || errno || u < lo || u > hi) {
		fprintf(stderr, "botwatch %s: %s needs an integer in [%llu, %llu]\n", cmd, opt,
			(unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	*out = u;
	return 0;
}

int clf_cmd_train_opt(const char *cmd, const char *opt, const char *v, struct clf_train_opts *o)
{
	uint64_t u;
	if (strcmp(opt, "--kernel") == 0) {
		if (clf_kernel_parse(v, o) == 0)
			return 0;
		fprintf(stderr, "botwatch %s: --kernel must be linear, rbf or mixed\n", cmd);
		return -1;
	}
	if (strcmp(opt, "--folds-by") == 0) {
		if (v && (strcmp(v, "class") == 0 || strcmp(v, "stratified") == 0 ||
			  strcmp(v, "source") == 0)) {
			o->group_folds = v[0] == 'c';
			o->source_folds = v[1] == 'o';
			return 0;
		}
		fprintf(stderr, "botwatch %s: --folds-by must be class, source or stratified\n", cmd);
		return -1;
	}
	if (strcmp(opt, "--folds") == 0) {
		if (clf_cmd_uint_arg(cmd, opt, v, 2, 20, &u))
			return -1;
		o->folds = (int)u;
		return 0;
	}
	if (strcmp(opt, "--balance-sources") == 0) {
		if (v && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)) {
			o->balance_sources = v[1] == 'n';
			return 0;
		}
		fprintf(stderr, "botwatch %s: --balance-sources must be on or off\n", cmd);
		return -1;
	}
	if (strcmp(opt, "--seed") == 0) {
		if (clf_cmd_uint_arg(cmd, opt, v, 0, UINT64_MAX, &u))
			return -1;
		o->seed = u;
		return 0;
	}
	return 1;
}

int clf_cmd_load_labelled(const struct bw_config *cfg, char *const *posts, size_t nposts,
			  char *const *labels, size_t nlabels, int64_t probe_ms,
			  struct clf_labels *lb, struct clf_corpus **corpus, struct clf_matrix **m,
			  size_t *missing, char *errstr, size_t errlen)
{
	struct clf_corpus_opts copts = { .probe_ms = probe_ms };
	int rc;

	*corpus = NULL;
	*m = NULL;
	for (size_t k = 0; k < nlabels; k++)
		if ((rc = clf_labels_load(lb, labels[k], errstr, errlen)))
			return rc;
	if (!(*corpus = clf_corpus_build(cfg, (char **)posts, nposts, &copts, errstr, errlen)))
		return BW_EINVAL;
	if (!(*m = clf_cmd_matrix_new()))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	return clf_cmd_fill(*m, *corpus, lb, missing, errstr, errlen);
}
