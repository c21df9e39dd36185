/*
 * api_report.c — the conversation report (docs/REPORT.md): for each tracked
 * hashtag, URL domain or keyword and event-time window, the posts and
 * accounts seen and the shares of them above a CAP threshold, with 95 %
 * confidence intervals. Built from the store's tallies (store.h,
 * "Conversation tallies") against each account's current score record.
 * Served as GET /v1/report and printed by `botwatch report`.
 *
 * Intervals:
 *   accounts  Wilson score interval on accounts_above / accounts_scored.
 *   posts     the ratio posts_above / posts_scored clusters by account (one
 *             account's posts are all above or all below), so its variance is
 *             the cluster-robust (linearised) variance of a ratio estimator,
 *             v = n/(n-1) Σ m_i² (z_i - p)² / M² over the n scored accounts
 *             with m_i posts (M in all) and z_i = 1 above the threshold; the
 *             interval is Wilson's with the effective sample size
 *             p(1-p)/v = M / design effect (Korn & Graubard 1998). With p = 0
 *             or 1 the effective size is n, the number of accounts.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "bw_err.h"
#include "bw_map.h"
#include "bw_time.h"
#include "store.h"

#define Z95 1.959963984540054 /* two-sided 95 % normal quantile */
#define REPORT_MAX_ROWS 2000000 /* rows collected from the tallies at most (memory bound) */

/* One tally row, interned. */
struct row {
	int64_t window; /* window start (seconds) */
	uint32_t key;   /* index into keys */
	uint32_t acct;  /* index into accts */
	uint64_t posts; /* posts */
};

/* An interned string. */
struct istr {
	uint32_t idx;   /* its index */
	char s[];       /* the string */
};

/* Everything one report build holds. */
struct build {
	const struct api_report_opts *o; /* options (borrowed) */
	struct row *rows;                /* collected rows */
	size_t n, cap;                   /* used, allocated */
	struct bw_map *key_map, *acct_map; /* string → struct istr */
	struct istr **keys, **accts;     /* by index */
	size_t n_keys, n_accts, cap_keys, cap_accts; /* used, allocated */
	double *cap_of;                  /* per account: CAP, NAN = unscored, -1 = not looked up */
	bool truncated;                  /* REPORT_MAX_ROWS was reached */
	int64_t first, last;             /* earliest and latest bucket start seen */
	int err;                         /* BW_ENOMEM during the scan */
};

static int intern(struct bw_map *m, struct istr ***v, size_t *n, size_t *cap, const char *s,
		  uint32_t *idx)
{
	struct istr *e = bw_map_get(m, s), **nv;
	size_t len = strlen(s);

	if (e) {
		*idx = e->idx;
		return 0;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		if (!(nv = realloc(*v, *cap * sizeof(**v))))
			return BW_ENOMEM;
		*v = nv;
	}
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return BW_ENOMEM;
	e->idx = (uint32_t)*n;
	memcpy(e->s, s, len + 1);
	if (bw_map_put(m, e->s, e)) {
		free(e);
		return BW_ENOMEM;
	}
	(*v)[(*n)++] = e;
	*idx = e->idx;
	return 0;
}

static int64_t window_of(const struct api_report_opts *o, int64_t bucket)
{
	if (o->window_s <= 0)
		return 0;
	return bucket - (((bucket % o->window_s) + o->window_s) % o->window_s);
}

static int on_tally(char kind, int64_t bucket, const char *key, const char *account,
		    uint64_t posts, void *opaque)
{
	struct build *b = opaque;
	struct row *r;

	(void)kind;
	if (b->o->key && strcmp(b->o->key, key) != 0)
		return 0;
	if (b->n == REPORT_MAX_ROWS) {
		b->truncated = true;
		return 1;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		if (!(r = realloc(b->rows, cap * sizeof(*r))))
			return b->err = BW_ENOMEM;
		b->rows = r;
		b->cap = cap;
	}
	if (!b->n || bucket < b->first)
		b->first = bucket;
	if (!b->n || bucket > b->last)
		b->last = bucket;
	r = &b->rows[b->n];
	r->window = window_of(b->o, bucket);
	r->posts = posts;
	if (intern(b->key_map, &b->keys, &b->n_keys, &b->cap_keys, key, &r->key) ||
	    intern(b->acct_map, &b->accts, &b->n_accts, &b->cap_accts, account, &r->acct))
		return b->err = BW_ENOMEM;
	b->n++;
	return 0;
}

static int by_window_key_acct(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->window != b->window)
		return a->window < b->window ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->acct < b->acct ? -1 : a->acct > b->acct;
}

/* The CAP (`o->cap` head) of an account's record, NAN when unscored. */
static double record_cap(struct bw_store_read *rd, const char *id, const char *head)
{
	int err = 0;
	const char *rec = store_read_get(rd, id, NULL, &err);
	json_t *j, *cap;
	double v = NAN;

	if (!rec || !(j = json_loads(rec, 0, NULL)))
		return NAN;
	cap = json_object_get(json_object_get(j, "cap"), head);
	if (json_is_number(cap))
		v = json_number_value(cap);
	json_decref(j);
	return v;
}

/* Wilson score interval for k successes in n (n may be fractional). */
static void wilson(double k, double n, double *lo, double *hi)
{
	double p, z2 = Z95 * Z95, c, h, d;

	if (n <= 0) {
		*lo = 0, *hi = 1;
		return;
	}
	p = k / n;
	d = 1 + z2 / n;
	c = (p + z2 / (2 * n)) / d;
	h = Z95 * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / d;
	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

/* Figures of one (window, key). */
struct group {
	int64_t window;       /* window start */
	uint32_t key;         /* key index */
	const char *ks;       /* the key (borrowed from the build) */
	uint64_t posts;       /* posts seen */
	uint64_t accounts;    /* accounts seen */
	uint64_t acc_scored;  /* accounts with a score */
	uint64_t acc_above;   /* of them with CAP >= threshold */
	uint64_t posts_scored;/* posts of scored accounts */
	uint64_t posts_above; /* posts of accounts above */
	double ss;            /* Σ m_i² (z_i - p)² over scored accounts (filled in second pass) */
};

/* Accumulate rows [i, j) (one window and key, accounts ascending). */
static void group_fill(struct build *b, struct bw_store_read *rd, size_t i, size_t j,
		       struct group *g)
{
	double p;

	*g = (struct group){ .window = b->rows[i].window, .key = b->rows[i].key,
			     .ks = b->keys[b->rows[i].key]->s };
	for (size_t k = i; k < j;) {
		uint32_t a = b->rows[k].acct;
		uint64_t m = 0;
		for (; k < j && b->rows[k].acct == a; k++)
			m += b->rows[k].posts;
		if (b->cap_of[a] == -1)
			b->cap_of[a] = b->o->value_of ? b->o->value_of(b->o->value_ctx, b->accts[a]->s)
						      : record_cap(rd, b->accts[a]->s, b->o->cap);
		g->posts += m;
		g->accounts++;
		if (isnan(b->cap_of[a]))
			continue;
		g->acc_scored++;
		g->posts_scored += m;
		if (b->cap_of[a] >= b->o->threshold) {
			g->acc_above++;
			g->posts_above += m;
		}
	}
	p = g->posts_scored ? (double)g->posts_above / (double)g->posts_scored : 0;
	for (size_t k = i; k < j;) {
		uint32_t a = b->rows[k].acct;
		double m = 0, z;
		for (; k < j && b->rows[k].acct == a; k++)
			m += (double)b->rows[k].posts;
		if (isnan(b->cap_of[a]))
			continue;
		z = b->cap_of[a] >= b->o->threshold ? 1 : 0;
		g->ss += m * m * (z - p) * (z - p);
	}
}

static json_t *ci_json(double lo, double hi)
{
	return json_pack("[f,f]", round(lo * 1e6) / 1e6, round(hi * 1e6) / 1e6);
}

static json_t *time_json(int64_t s)
{
	char buf[40];

	return json_string(bw_time_format(s * 1000, buf, sizeof(buf)));
}

/* One output row. */
static json_t *group_json(const struct build *b, const struct group *g)
{
	double n = (double)g->acc_scored, m = (double)g->posts_scored, lo, hi, p, v, neff, deff;
	json_t *j;

	if (!(j = json_object()))
		return NULL;
	if (b->o->window_s > 0) {
		json_object_set_new(j, "window_start", time_json(g->window));
		json_object_set_new(j, "window_end", time_json(g->window + b->o->window_s));
	} else {
		/* all time: from the first bucket's start to the last one's */
		json_object_set_new(j, "window_start", time_json(b->first));
		json_object_set_new(j, "window_end", time_json(b->last));
	}
	json_object_set_new(j, "key", json_string(b->keys[g->key]->s));
	json_object_set_new(j, "posts", json_integer((json_int_t)g->posts));
	json_object_set_new(j, "accounts", json_integer((json_int_t)g->accounts));
	json_object_set_new(j, "accounts_scored", json_integer((json_int_t)g->acc_scored));
	json_object_set_new(j, "accounts_above", json_integer((json_int_t)g->acc_above));
	wilson((double)g->acc_above, n, &lo, &hi);
	json_object_set_new(j, "share_accounts",
			    n ? json_real(round((double)g->acc_above / n * 1e6) / 1e6) : json_null());
	json_object_set_new(j, "share_accounts_ci", n ? ci_json(lo, hi) : json_null());
	json_object_set_new(j, "posts_scored", json_integer((json_int_t)g->posts_scored));
	json_object_set_new(j, "posts_above", json_integer((json_int_t)g->posts_above));
	p = m ? (double)g->posts_above / m : 0;
	v = n > 1 ? n / (n - 1) * g->ss / (m * m) : 0;
	if (p > 0 && p < 1 && v > 0) {
		neff = p * (1 - p) / v;
		if (neff > m)
			neff = m;
	} else {
		neff = n;
	}
	deff = neff > 0 ? m / neff : 1;
	wilson(p * neff, neff, &lo, &hi);
	json_object_set_new(j, "share_posts", m ? json_real(round(p * 1e6) / 1e6) : json_null());
	json_object_set_new(j, "share_posts_ci", m ? ci_json(lo, hi) : json_null());
	json_object_set_new(j, "design_effect", m ? json_real(round(deff * 1e4) / 1e4) : json_null());
	return j;
}

static int by_posts_then_key(const void *x, const void *y)
{
	const struct group *a = x, *b = y;

	if (a->posts != b->posts)
		return a->posts > b->posts ? -1 : 1;
	return strcmp(a->ks, b->ks);
}

/* Emit the groups of one window (sorted by posts, cut to o->top). */
static int emit_window(struct build *b, struct group *g, size_t n, json_t *rows)
{
	size_t top = b->o->top && b->o->top < n ? b->o->top : n;

	qsort(g, n, sizeof(*g), by_posts_then_key);
	for (size_t i = 0; i < top; i++) {
		json_t *j = group_json(b, &g[i]);
		if (!j || json_array_append_new(rows, j))
			return BW_ENOMEM;
	}
	return 0;
}

static const char *kind_name(char kind)
{
	return kind == STORE_TALLY_HASHTAG ? "hashtag" : kind == STORE_TALLY_DOMAIN ? "domain"
										    : "keyword";
}

static json_t *header_json(const struct api_report_opts *o)
{
	return json_pack(
		"{s:s, s:I, s:f, s:s, s:f, s:{s:s, s:s}}", "by", kind_name(o->kind), "window_s",
		(json_int_t)o->window_s, "threshold", o->threshold, "cap", o->cap, "confidence",
		0.95, "method", "share_accounts_ci", "Wilson score interval over scored accounts",
		"share_posts_ci",
		"Wilson interval at the effective sample size posts_scored / design_effect, the "
		"design effect from the cluster-robust (by account) linearised variance of the "
		"ratio posts_above / posts_scored");
}

/* Walk the sorted rows window by window, group by key, emit. */
static int build_rows(struct build *b, json_t *rows)
{
	struct group *g = NULL, *ng;
	size_t ng_cap = 0, n_g = 0;
	struct bw_store_read *rd;
	int err = 0;

	if (!(rd = store_read_begin(b->o->store, &err)))
		return err;
	for (size_t i = 0; i < b->n && !err;) {
		int64_t w = b->rows[i].window;
		n_g = 0;
		while (i < b->n && b->rows[i].window == w) {
			size_t j = i;
			while (j < b->n && b->rows[j].window == w && b->rows[j].key == b->rows[i].key)
				j++;
			if (n_g == ng_cap) {
				ng_cap = ng_cap ? 2 * ng_cap : 64;
				if (!(ng = realloc(g, ng_cap * sizeof(*g)))) {
					err = BW_ENOMEM;
					break;
				}
				g = ng;
			}
			group_fill(b, rd, i, j, &g[n_g++]);
			i = j;
		}
		if (!err)
			err = emit_window(b, g, n_g, rows);
	}
	store_read_end(rd);
	free(g);
	return err;
}

/* Bucket range scanned: [from, to). */
static void scan_range(const struct api_report_opts *o, int64_t *from, int64_t *to)
{
	*from = o->from_s ? o->from_s : INT64_MIN / 2;
	*to = o->to_s ? o->to_s : INT64_MAX / 2;
}

static void build_free(struct build *b)
{
	for (size_t i = 0; i < b->n_keys; i++)
		free(b->keys[i]);
	for (size_t i = 0; i < b->n_accts; i++)
		free(b->accts[i]);
	free(b->keys);
	free(b->accts);
	bw_map_free(b->key_map);
	bw_map_free(b->acct_map);
	free(b->rows);
	free(b->cap_of);
}

int api_report_build(const struct api_report_opts *o, json_t **out, char *errstr, size_t errlen)
{
	struct build b = { .o = o };
	int64_t from, to;
	json_t *rep = NULL, *rows = NULL;
	int rc;

	*out = NULL;
	if (!(b.key_map = bw_map_new()) || !(b.acct_map = bw_map_new())) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	scan_range(o, &from, &to);
	rc = store_tally_scan(o->store, o->kind, from, to, on_tally, &b);
	if (b.err || (rc && rc != 1)) {
		rc = bw_seterr(errstr, errlen, b.err ? b.err : rc, "reading the tallies: %s",
			       bw_strerror(b.err ? b.err : rc));
		goto out_free;
	}
	if (b.n)
		qsort(b.rows, b.n, sizeof(*b.rows), by_window_key_acct);
	if (!(b.cap_of = malloc((b.n_accts ? b.n_accts : 1) * sizeof(*b.cap_of)))) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < b.n_accts; i++)
		b.cap_of[i] = -1;
	if (!(rep = header_json(o)) || !(rows = json_array())) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = build_rows(&b, rows))) {
		bw_seterr(errstr, errlen, rc, "building the report: %s", bw_strerror(rc));
		goto out_free;
	}
	if (o->value_of)
		json_object_set_new(rep, "cap", json_string("values given by the caller (labels)"));
	json_object_set_new(rep, "truncated", json_boolean(b.truncated));
	json_object_set_new(rep, "rows", rows);
	rows = NULL;
	*out = rep;
	rep = NULL;
out_free:
	json_decref(rows);
	json_decref(rep);
	build_free(&b);
	return rc;
}

/* --- options ------------------------------------------------------------ */

/* "90", "90s", "15m", "1h", "2d", "1w" or "all" (0) into seconds. */
static int parse_window(const char *v, int64_t *out)
{
	char *end;
	double d;

	if (strcmp(v, "all") == 0) {
		*out = 0;
		return 0;
	}
	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno || !(d > 0))
		return BW_EINVAL;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': d *= 60; break;
	case 'h': d *= 3600; break;
	case 'd': d *= 86400; break;
	case 'w': d *= 7 * 86400; break;
	default: return BW_EINVAL;
	}
	if (*end && end[1])
		return BW_EINVAL;
	if (d < 60 || d > 366.0 * 86400 || d != floor(d))
		return BW_EINVAL;
	*out = (int64_t)d;
	return 0;
}

static int parse_time(const char *v, int64_t *out)
{
	int64_t ms;

	if (bw_time_parse_any(v, strlen(v), &ms))
		return BW_EINVAL;
	*out = ms / 1000;
	return 0;
}

int api_report_parse(const char *(*get)(void *ctx, const char *name), void *ctx,
		     struct api_report_opts *o, char *errstr, size_t errlen)
{
	const char *by = get(ctx, "by"), *w = get(ctx, "window"), *t = get(ctx, "threshold");
	const char *cap = get(ctx, "cap"), *from = get(ctx, "from"), *to = get(ctx, "to");
	const char *top = get(ctx, "top"), *key = get(ctx, "key");
	char *end;

	o->kind = STORE_TALLY_HASHTAG;
	o->window_s = 3600;
	o->threshold = 0.5;
	o->cap = "english";
	o->from_s = o->to_s = 0;
	o->top = 20;
	o->key = key && *key ? key : NULL;
	o->value_of = NULL;
	o->value_ctx = NULL;
	if (by && strcmp(by, "hashtag") == 0)
		o->kind = STORE_TALLY_HASHTAG;
	else if (by && strcmp(by, "domain") == 0)
		o->kind = STORE_TALLY_DOMAIN;
	else if (by && strcmp(by, "keyword") == 0)
		o->kind = STORE_TALLY_KEYWORD;
	else if (by && strcmp(by, "rule") == 0)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "by=rule: stream rules are not kept with the posts; track their "
				 "terms as report.keywords and use by=keyword");
	else if (by)
		return bw_seterr(errstr, errlen, BW_EINVAL, "by: '%.40s' is not hashtag, domain or "
				 "keyword", by);
	if (w && parse_window(w, &o->window_s))
		return bw_seterr(errstr, errlen, BW_EINVAL, "window: '%.40s' is not 'all' or a "
				 "whole number of seconds from 60 s to 366 d (e.g. 90, 15m, 1h, 1d)", w);
	if (t) {
		errno = 0;
		o->threshold = strtod(t, &end);
		if (end == t || *end || errno || !(o->threshold >= 0 && o->threshold <= 1))
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "threshold: '%.40s' is not a number in [0, 1]", t);
	}
	if (cap && strcmp(cap, "english") != 0 && strcmp(cap, "universal") != 0)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "cap: '%.40s' is not english or universal", cap);
	if (cap)
		o->cap = strcmp(cap, "english") == 0 ? "english" : "universal";
	if (from && parse_time(from, &o->from_s))
		return bw_seterr(errstr, errlen, BW_EINVAL, "from: '%.40s' is not a time", from);
	if (to && parse_time(to, &o->to_s))
		return bw_seterr(errstr, errlen, BW_EINVAL, "to: '%.40s' is not a time", to);
	if (top) {
		errno = 0;
		long long n = strtoll(top, &end, 10);
		if (end == top || *end || errno || n < 0 || n > 100000)
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "top: '%.40s' is not a number of keys in [0, 100000]", top);
		o->top = (size_t)n;
	}
	if (o->key && strlen(o->key) > STORE_TALLY_KEY_MAX)
		return bw_seterr(errstr, errlen, BW_EINVAL, "key: longer than %d bytes",
				 STORE_TALLY_KEY_MAX);
	return 0;
}

/* --- CSV ------------------------------------------------------------------ */

static const char *const csv_cols[] = {
	"window_start", "window_end", "key", "posts", "accounts", "accounts_scored",
	"accounts_above", "share_accounts", "share_accounts_ci", "posts_scored", "posts_above",
	"share_posts", "share_posts_ci", "design_effect",
};

/* Append one CSV cell (RFC 4180 quoting; a CI pair becomes two cells). */
static void csv_put(struct api_buf *b, const json_t *v, bool pair)
{
	char num[40];

	if (pair) {
		csv_put(b, json_array_get(v, 0), false);
		api_buf_puts(b, ",");
		csv_put(b, json_array_get(v, 1), false);
		return;
	}
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		api_buf_puts(b, num);
	} else if (json_is_real(v)) {
		api_fmt_double(num, sizeof(num), json_real_value(v));
		api_buf_puts(b, num);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		bool q = strpbrk(s, ",\"\r\n") != NULL;
		if (q)
			api_buf_puts(b, "\"");
		for (; *s; s++)
			api_buf_append(b, s, 1), (*s == '"' ? api_buf_puts(b, "\"") : 0);
		if (q)
			api_buf_puts(b, "\"");
	}
}

char *api_report_csv(const struct json_t *report)
{
	struct api_buf b = { 0 };
	const json_t *rows = json_object_get(report, "rows"), *r;
	const char *by = json_string_value(json_object_get(report, "by"));
	size_t i;

	api_buf_puts(&b, "by");
	for (size_t c = 0; c < sizeof(csv_cols) / sizeof(csv_cols[0]); c++) {
		bool pair = strstr(csv_cols[c], "_ci") != NULL;
		api_buf_puts(&b, ",");
		api_buf_puts(&b, csv_cols[c]);
		if (pair) {
			api_buf_puts(&b, "_low,");
			api_buf_puts(&b, csv_cols[c]);
			api_buf_puts(&b, "_high");
		}
	}
	api_buf_puts(&b, "\n");
	json_array_foreach(rows, i, r) {
		api_buf_puts(&b, by ? by : "");
		for (size_t c = 0; c < sizeof(csv_cols) / sizeof(csv_cols[0]); c++) {
			bool pair = strstr(csv_cols[c], "_ci") != NULL;
			const json_t *v = json_object_get(r, csv_cols[c]);
			api_buf_puts(&b, ",");
			if (pair && !json_is_array(v))
				api_buf_puts(&b, ",");
			else
				csv_put(&b, v, pair);
		}
		api_buf_puts(&b, "\n");
	}
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	return b.data ? b.data : strdup("");
}

/* --- GET /v1/report --------------------------------------------------------- */

static const char *req_get(void *ctx, const char *name)
{
	return api_arg(ctx, name);
}

int api_route_report(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp)
{
	static const char *const known[] = { "by", "window", "threshold", "cap", "from",
					     "to", "top", "key", "format" };
	struct api_report_opts o;
	const char *fmt = api_arg(req, "format");
	char err[256];
	json_t *rep;
	int rc;

	if (api_check_args(req, known, sizeof(known) / sizeof(known[0]), resp))
		return 0;
	if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)
		return api_error(resp, 400, "format: '%.40s' is not json or csv", fmt);
	if (api_report_parse(req_get, (void *)req, &o, err, sizeof(err)))
		return api_error(resp, 400, "%s", err);
	o.store = srv->store;
	if ((rc = api_report_build(&o, &rep, err, sizeof(err))))
		return api_error(resp, rc == BW_ENOMEM ? 503 : 500, "%s", err);
	if (fmt && strcmp(fmt, "csv") == 0) {
		resp->body = api_report_csv(rep);
		json_decref(rep);
		if (!resp->body)
			return api_error(resp, 503, "out of memory");
		resp->len = strlen(resp->body);
		resp->status = 200;
		resp->content_type = "text/csv; charset=utf-8";
		return 0;
	}
	return api_json_response(resp, 200, rep);
}
