/*
 * clf_fair.c — fairness figures of `botwatch eval --report` (clf_report.h,
 * docs/MODEL.md "Fairness and stability"): each labelled row's language,
 * platform and account-age band, and per group the score distribution and
 * error rates at the threshold, with tests of whether the groups differ more
 * than chance would make them:
 *
 *   - error rates: Pearson's chi-square test of independence between group and
 *     outcome (false positive among humans, false negative among bots), on
 *     the groups with at least FAIR_MIN_ROWS rows of that label;
 *   - score distributions: the Kruskal-Wallis H test (ranks, ties averaged,
 *     tie-corrected) per label over the same groups, H compared with a
 *     chi-square of (groups - 1) degrees of freedom.
 *
 * p-values come from the regularised upper incomplete gamma function (series
 * and continued fraction, Numerical Recipes §6.2). A p-value below 0.01 is
 * reported as "differs"; with several groupings and labels tested, read it
 * as a flag for a closer look, not a proof.
 *
 * The groups need what the feature vectors do not keep, so the inputs are
 * decoded a second time (ingest_decode_file): the platform of an account's
 * records, the majority language of its posts ("und" excluded; else the
 * profile's language; else "und"), by primary subtag ("en-GB" counts as "en"). Account age comes from the
 * user.account_age_days column when the row has profile counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_map.h"
#include "cfg.h"
#include "clf_report.h"
#include "decode.h"
#include "feat.h"
#include "post.h"

#define FAIR_MIN_ROWS 10   /* rows of a label a group needs to enter a test */
#define FAIR_LANGS 8       /* distinct post languages counted per account */
#define FAIR_P 0.01        /* "differs" below this p-value */

/* What the decode pass learns of one labelled account. */
struct acct_seen {
	char platform[16];             /* first record's platform, "" = none seen */
	char lang[FAIR_LANGS][16];     /* post languages seen */
	uint32_t lang_n[FAIR_LANGS];   /* their counts */
	char profile_lang[16];         /* the profile's language, "" = none */
};

struct scan {
	struct bw_map *ids;            /* row id -> struct acct_seen (owned values) */
};

static void copy_tag(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* A language tag's primary subtag, lower case ("en-GB" and "en" are one group). */
static void copy_lang(char *dst, size_t len, const char *s)
{
	size_t n = 0;
	for (; s && s[n] && s[n] != '-' && s[n] != '_' && n + 1 < len; n++)
		dst[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] - 'A' + 'a' : s[n]);
	dst[n] = '\0';
}

static int on_post(const struct bw_post *p, void *opaque)
{
	struct scan *sc = opaque;
	struct acct_seen *a = p->author.id ? bw_map_get(sc->ids, p->author.id) : NULL;
	if (!a)
		return 0;
	if (!a->platform[0] && p->platform)
		copy_tag(a->platform, sizeof(a->platform), p->platform);
	if (p->author.lang && !a->profile_lang[0])
		copy_lang(a->profile_lang, sizeof(a->profile_lang), p->author.lang);
	char lang[16];
	copy_lang(lang, sizeof(lang), p->lang);
	if (p->kind == BW_POST_PROFILE || p->kind == BW_POST_DELETE || !lang[0] ||
	    strcmp(lang, "und") == 0 || (p->flags & BW_POSTF_EMBEDDED))
		return 0;
	for (int k = 0; k < FAIR_LANGS; k++) {
		if (!a->lang[k][0])
			copy_tag(a->lang[k], sizeof(a->lang[k]), lang);
		if (strcmp(a->lang[k], lang) == 0) {
			a->lang_n[k]++;
			break;
		}
	}
	return 0;
}

/* Majority post language (ties: the first seen), else the profile's, else "und". */
static const char *majority(const struct acct_seen *a)
{
	int best = -1;
	for (int k = 0; k < FAIR_LANGS && a->lang[k][0]; k++)
		if (best < 0 || a->lang_n[k] > a->lang_n[best])
			best = k;
	return best >= 0 ? a->lang[best] : a->profile_lang[0] ? a->profile_lang : "und";
}

static const char *age_band(double days)
{
	return days < 30 ? "<30d" : days < 365 ? "30d-1y" : days < 3 * 365.25 ? "1-3y"
	     : days < 7 * 365.25 ? "3-7y" : ">=7y";
}

void clf_groups_free(struct clf_groups *g)
{
	if (!g)
		return;
	for (size_t r = 0; r < g->n; r++) {
		free(g->lang ? g->lang[r] : NULL);
		free(g->platform ? g->platform[r] : NULL);
	}
	free(g->lang);
	free(g->platform);
	free(g->age);
	memset(g, 0, sizeof(*g));
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

int clf_groups_build(const struct bw_config *cfg, char *const *files, size_t nfiles,
		     const struct clf_matrix *m, struct clf_groups *g, char *errstr, size_t errlen)
{
	struct scan sc = { .ids = bw_map_new() };
	struct acct_seen *seen = calloc(m->n_rows ? m->n_rows : 1, sizeof(*seen));
	long age_col = feat_index("user.account_age_days");
	struct bw_decode_opts o = { .max_unit_bytes = (size_t)cfg->ingest_max_line_bytes,
				    .max_depth = (int)cfg->ingest_max_depth,
				    .probe_time_ms = INT64_MIN,
				    .on_post = on_post,
				    .opaque = &sc };
	struct bw_decoder *dec = NULL;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->n = m->n_rows;
	g->lang = calloc(g->n ? g->n : 1, sizeof(char *));
	g->platform = calloc(g->n ? g->n : 1, sizeof(char *));
	g->age = calloc(g->n ? g->n : 1, sizeof(char *));
	if (!sc.ids || !seen || !g->lang || !g->platform || !g->age) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t r = 0; r < m->n_rows; r++)
		if (!bw_map_get(sc.ids, m->row_id[r]) && bw_map_put(sc.ids, m->row_id[r], &seen[r])) {
			rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
			goto out_free;
		}
	if (!(dec = ingest_decoder_new(&o, errstr, errlen))) {
		rc = BW_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < nfiles && !rc; i++)
		rc = ingest_decode_file(dec, files[i], errstr, errlen);
	if (!rc)
		ingest_decoder_finish(dec);
	for (size_t r = 0; r < m->n_rows && !rc; r++) {
		const struct acct_seen *a = bw_map_get(sc.ids, m->row_id[r]);
		double age = age_col >= 0 && (size_t)age_col < m->n_cols ? m->x[r * m->n_cols + age_col] : NAN;
		g->lang[r] = dup_str(majority(a));
		g->platform[r] = dup_str(a->platform[0] ? a->platform : "unknown");
		g->age[r] = (m->avail[r] & CLF_AVAIL_COUNTS) && isfinite(age) ? age_band(age) : "unknown";
		if (!g->lang[r] || !g->platform[r])
			rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
out_free:
	ingest_decoder_free(dec);
	bw_map_free(sc.ids);
	free(seen);
	if (rc)
		clf_groups_free(g);
	return rc;
}

/* ---- statistics ------------------------------------------------------------------------ */

/* Regularised upper incomplete gamma Q(a, x). */
static double gamma_q(double a, double x)
{
	if (!(x > 0) || !(a > 0))
		return 1.0;
	double lg = lgamma(a);
	if (x < a + 1) { /* series for P, Q = 1 - P */
		double ap = a, sum = 1.0 / a, del = sum;
		for (int n = 0; n < 1000 && fabs(del) > fabs(sum) * 1e-15; n++) {
			ap += 1;
			del *= x / ap;
			sum += del;
		}
		return 1.0 - sum * exp(-x + a * log(x) - lg);
	}
	double b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d; /* Lentz continued fraction */
	for (int i = 1; i < 1000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		d = fabs(d) < 1e-300 ? 1e-300 : d;
		c = b + an / c;
		c = fabs(c) < 1e-300 ? 1e-300 : c;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return exp(-x + a * log(x) - lg) * h;
}

/* P(chi-square with df degrees of freedom >= x). */
static double chi2_sf(double x, double df)
{
	return df > 0 ? gamma_q(df / 2, x / 2) : NAN;
}

/* Groups of a grouping, in order of first appearance. */
#define FAIR_MAX_GROUPS 64

struct grp {
	const char *name;   /* borrowed from the input */
	size_t n[2];        /* rows by label (0 human, 1 bot) */
	size_t err[2];      /* false positives among humans, false negatives among bots */
	double sum[2];      /* score sums by label */
	double rank[2];     /* rank sums by label (Kruskal-Wallis) */
};

struct rk {
	double p;   /* score */
	int g;      /* group index */
};

static int rk_cmp(const void *a, const void *b)
{
	const struct rk *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p ? 1 : (x->g > y->g) - (x->g < y->g);
}

/* Kruskal-Wallis over the label-`lab` rows of the tested groups: H, df, p. */
static json_t *kruskal(const struct clf_report_input *in, const char *const *grp, struct grp *gs,
		       size_t ng, int lab)
{
	struct rk *v = malloc((in->n ? in->n : 1) * sizeof(*v));
	size_t n = 0, k = 0;
	double ties = 0;
	if (!v)
		return json_null();
	for (size_t i = 0; i < in->n; i++) {
		if ((in->y[i] != 0) != lab)
			continue;
		for (size_t j = 0; j < ng; j++)
			if (gs[j].n[lab] >= FAIR_MIN_ROWS && strcmp(gs[j].name, grp[i]) == 0) {
				v[n].p = in->p[i];
				v[n++].g = (int)j;
				break;
			}
	}
	for (size_t j = 0; j < ng; j++) {
		gs[j].rank[lab] = 0;
		k += gs[j].n[lab] >= FAIR_MIN_ROWS;
	}
	qsort(v, n, sizeof(*v), rk_cmp);
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e + 1 < n && v[e + 1].p == v[i].p)
			e++;
		double r = (double)(i + e) / 2 + 1, t = (double)(e - i + 1);
		ties += t * t * t - t;
		for (size_t q = i; q <= e; q++)
			gs[v[q].g].rank[lab] += r;
		i = e + 1;
	}
	free(v);
	if (k < 2 || n < 2)
		return json_pack("{s:s}", "note", "fewer than two groups with enough rows");
	double h = 0, N = (double)n;
	for (size_t j = 0; j < ng; j++)
		if (gs[j].n[lab] >= FAIR_MIN_ROWS)
			h += gs[j].rank[lab] * gs[j].rank[lab] / (double)gs[j].n[lab];
	h = 12.0 / (N * (N + 1)) * h - 3 * (N + 1);
	double corr = 1 - ties / (N * N * N - N);
	h = corr > 0 ? h / corr : 0;
	double p = chi2_sf(h, (double)(k - 1));
	return json_pack("{s:s, s:f, s:I, s:f, s:b}", "test", "kruskal-wallis", "h", h, "df",
			 (json_int_t)(k - 1), "p", p, "differs", p < FAIR_P);
}

/* Chi-square test of group x (error, correct) for label `lab`. */
static json_t *chi2_errors(const struct grp *gs, size_t ng, int lab)
{
	size_t k = 0, tot = 0, errs = 0;
	for (size_t j = 0; j < ng; j++)
		if (gs[j].n[lab] >= FAIR_MIN_ROWS) {
			k++;
			tot += gs[j].n[lab];
			errs += gs[j].err[lab];
		}
	if (k < 2 || errs == 0 || errs == tot)
		return json_pack("{s:s}", "note", k < 2 ? "fewer than two groups with enough rows"
						       : "no variation in errors");
	double x2 = 0, rate = (double)errs / (double)tot;
	for (size_t j = 0; j < ng; j++) {
		if (gs[j].n[lab] < FAIR_MIN_ROWS)
			continue;
		double n = (double)gs[j].n[lab], e1 = n * rate, e0 = n - e1;
		double o1 = (double)gs[j].err[lab], o0 = n - o1;
		x2 += (o1 - e1) * (o1 - e1) / e1 + (o0 - e0) * (o0 - e0) / e0;
	}
	double p = chi2_sf(x2, (double)(k - 1));
	return json_pack("{s:s, s:f, s:I, s:f, s:b}", "test", "chi-square", "chi2", x2, "df",
			 (json_int_t)(k - 1), "p", p, "differs", p < FAIR_P);
}

static json_t *rate(size_t a, size_t b)
{
	return b ? json_real((double)a / (double)b) : json_null();
}

/* One grouping's table and tests. */
static json_t *grouping(const struct clf_report_input *in, const char *const *grp)
{
	struct grp gs[FAIR_MAX_GROUPS];
	size_t ng = 0, other = FAIR_MAX_GROUPS;
	memset(gs, 0, sizeof(gs));
	for (size_t i = 0; i < in->n; i++) {
		size_t j = 0;
		while (j < ng && strcmp(gs[j].name, grp[i]) != 0)
			j++;
		if (j == ng) {
			if (ng == FAIR_MAX_GROUPS - 1) { /* past the cap: one "other" group */
				if (other == FAIR_MAX_GROUPS) {
					other = ng++;
					gs[other].name = "other";
				}
				j = other;
			} else {
				gs[ng++].name = grp[i];
			}
		}
		int lab = in->y[i] != 0;
		bool flagged = in->p[i] >= in->threshold;
		gs[j].n[lab]++;
		gs[j].sum[lab] += in->p[i];
		gs[j].err[lab] += lab ? !flagged : flagged;
	}
	json_t *o = json_object(), *tab = json_object();
	for (size_t j = 0; j < ng; j++)
		json_object_set_new(
			tab, gs[j].name,
			json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "humans", (json_int_t)gs[j].n[0], "bots",
				  (json_int_t)gs[j].n[1], "mean_score_humans",
				  gs[j].n[0] ? json_real(gs[j].sum[0] / (double)gs[j].n[0]) : json_null(),
				  "mean_score_bots",
				  gs[j].n[1] ? json_real(gs[j].sum[1] / (double)gs[j].n[1]) : json_null(),
				  "false_positive_rate", rate(gs[j].err[0], gs[j].n[0]),
				  "false_negative_rate", rate(gs[j].err[1], gs[j].n[1])));
	json_object_set_new(o, "groups", tab);
	json_object_set_new(o, "false_positive_rate_test", chi2_errors(gs, ng, 0));
	json_object_set_new(o, "false_negative_rate_test", chi2_errors(gs, ng, 1));
	json_object_set_new(o, "human_scores_test", kruskal(in, grp, gs, ng, 0));
	json_object_set_new(o, "bot_scores_test", kruskal(in, grp, gs, ng, 1));
	return o;
}

json_t *clf_report_fairness(const struct clf_report_input *in)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "threshold", json_real(in->threshold));
	json_object_set_new(o, "min_rows_per_group_in_tests", json_integer(FAIR_MIN_ROWS));
	json_object_set_new(o, "differs_below_p", json_real(FAIR_P));
	if (in->lang)
		json_object_set_new(o, "language", grouping(in, in->lang));
	if (in->platform)
		json_object_set_new(o, "platform", grouping(in, in->platform));
	if (in->age)
		json_object_set_new(o, "account_age", grouping(in, in->age));
	return o;
}
