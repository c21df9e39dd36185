/*
 * feat_fam_temporal.c — the temporal family: gaps between consecutive posts
 * (all posts and each kind), activity by UTC hour and weekday, burstiness,
 * memory and periodicity.
 *
 * Computed exactly from the account's record window: every own post while the
 * account has at most FEAT_WINDOW (10,000) posts, the newest 10,000 after
 * that (docs/STATE.md). Posts are ordered by event time (ties by id hash);
 * a gap is the difference of consecutive event times in seconds, so equal
 * times give a 0 gap. Posts without an event time are left out.
 */
#include <math.h>
#include <stdlib.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat_int.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

enum { SUB_POST, SUB_ORIGINAL, SUB_RETWEET, SUB_REPLY, SUB_QUOTE, SUB_MENTION, SUB_HASHTAG,
       SUB_URL, SUB_MEDIA, SUB__N };
static const char *const sub_names[SUB__N] = { "post",    "original", "retweet",
					       "reply",   "quote",    "mention",
					       "hashtag", "url",      "media" };
static const char *const sub_desc[SUB__N] = {
	"posts of any kind", "original posts", "retweets", "replies", "quotes",
	"posts with a mention", "posts with a hashtag", "posts with a URL", "posts with media",
};

enum { SS_BURSTINESS, SS_MEMORY, SS_REGULARITY, SS_UNDER_1S, SS_UNDER_1M, SS_PER_DAY, SS__N };

enum { T_HOUR_DIST, T_PER_DAY_DIST = T_HOUR_DIST + ST__N, T_PER_HOUR_DIST = T_PER_DAY_DIST + ST__N,
       T_HOUR_ENTROPY = T_PER_HOUR_DIST + ST__N, T_WEEKDAY_ENTROPY, T_ACTIVE_DAYS, T_ACTIVE_HOURS,
       T_SPAN_DAYS, T_POSTS_PER_DAY, T_MAX_IN_HOUR, T_MAX_IN_DAY, T_WEEKEND, T_NIGHT,
       T_MODE_HOUR_SHARE, T_DAILY_RHYTHM, T_WEEKLY_RHYTHM, T_HOURLY_RHYTHM, T_MINUTE_RHYTHM,
       T_SINCE_LAST, T_FIRST_AGE, T_HOURS, T_WEEKDAYS = T_HOURS + 24, T__N = T_WEEKDAYS + 7 };

static size_t sub_base[SUB__N]; /* gap dist (8) then SS_* scalars */
static size_t base;             /* T_* */

static const char *const weekdays[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

void feat_fam_temporal_register(void)
{
	static const struct {
		const char *name, *desc, *how;
	} ss[SS__N] = {
		{ "burstiness", "burstiness of the gaps", "(std - mean) / (std + mean) of the gaps; -1 periodic, 1 bursty; 0 with < 2 gaps" },
		{ "gap_memory", "memory of the gaps", "Pearson correlation of consecutive gaps; 0 with < 3 gaps or constant gaps" },
		{ "regularity", "periodicity of the gaps", "share of gaps within 10% (or 1 s) of the median gap" },
		{ "gap_under_1s_share", "share of gaps under a second", "gaps < 1 s / gaps" },
		{ "gap_under_1min_share", "share of gaps under a minute", "gaps < 60 s / gaps" },
		{ "per_day", "posts per day of the observed span", "posts / max(span days, 1)" },
	};
	char name[96], desc[160], how[200];

	for (int s = 0; s < SUB__N; s++) {
		snprintf(name, sizeof(name), "%s_gap_seconds", sub_names[s]);
		snprintf(desc, sizeof(desc), "seconds between consecutive %s", sub_desc[s]);
		snprintf(how, sizeof(how), "consecutive event-time differences of the %s, in s (exact; "
			 "entropy over %s)", sub_desc[s], feat_scale_doc(SC_LOG4));
		sub_base[s] = feat_reg_dist(FEAT_TEMPORAL, true, name, desc, how);
		for (int k = 0; k < SS__N; k++) {
			snprintf(name, sizeof(name), "%s_%s", sub_names[s], ss[k].name);
			snprintf(desc, sizeof(desc), "%s: %s", sub_desc[s], ss[k].desc);
			feat_reg_scalar(FEAT_TEMPORAL, true, name, desc, ss[k].how);
		}
	}
	base = feat_reg_dist(FEAT_TEMPORAL, true, "hour_of_day", "UTC hour of day of the posts",
			     "hour 0-23 of each post's event time");
	feat_reg_dist(FEAT_TEMPORAL, true, "posts_per_active_day", "posts per active UTC day",
		      "one value per day with at least one post");
	feat_reg_dist(FEAT_TEMPORAL, true, "posts_per_active_hour", "posts per active clock hour",
		      "one value per clock hour with at least one post");
	feat_reg_scalar(FEAT_TEMPORAL, true, "hour_entropy", "spread over the 24 UTC hours", "Shannon entropy (bits) of posts per hour of day");
	feat_reg_scalar(FEAT_TEMPORAL, true, "weekday_entropy", "spread over the 7 weekdays", "Shannon entropy (bits) of posts per weekday");
	feat_reg_scalar(FEAT_TEMPORAL, true, "active_days", "distinct UTC days with a post", "count");
	feat_reg_scalar(FEAT_TEMPORAL, true, "active_hours", "distinct clock hours with a post", "count");
	feat_reg_scalar(FEAT_TEMPORAL, true, "span_days", "days from first to last post", "(last - first event time) / 86400000");
	feat_reg_scalar(FEAT_TEMPORAL, true, "posts_per_day", "posts per day of the observed span", "posts / max(span_days, 1)");
	feat_reg_scalar(FEAT_TEMPORAL, true, "max_posts_in_hour", "most posts in one clock hour", "max over clock hours");
	feat_reg_scalar(FEAT_TEMPORAL, true, "max_posts_in_day", "most posts in one UTC day", "max over days");
	feat_reg_scalar(FEAT_TEMPORAL, true, "weekend_share", "share of posts on Saturday or Sunday (UTC)", "count / posts");
	feat_reg_scalar(FEAT_TEMPORAL, true, "night_share", "share of posts between 00:00 and 05:59 UTC", "count / posts");
	feat_reg_scalar(FEAT_TEMPORAL, true, "mode_hour_share", "share of posts in the busiest hour of day", "max hour count / posts");
	feat_reg_scalar(FEAT_TEMPORAL, true, "daily_rhythm", "concentration of post times within the day", "mean resultant length of the phases t mod 24 h (1 = always the same time)");
	feat_reg_scalar(FEAT_TEMPORAL, true, "weekly_rhythm", "concentration of post times within the week", "mean resultant length of the phases t mod 7 days");
	feat_reg_scalar(FEAT_TEMPORAL, true, "hourly_rhythm", "concentration of post times within the hour", "mean resultant length of the phases t mod 1 h (scheduled posting)");
	feat_reg_scalar(FEAT_TEMPORAL, true, "minute_rhythm", "concentration of post times within the minute", "mean resultant length of the phases t mod 60 s");
	feat_reg_scalar(FEAT_TEMPORAL, true, "days_since_last_post", "days from the last post to the probe time", "max(probe - last, 0) / 86400000");
	feat_reg_scalar(FEAT_TEMPORAL, true, "days_since_first_post", "days from the first post to the probe time", "max(probe - first, 0) / 86400000");
	for (int h = 0; h < 24; h++) {
		char n2[32], d2[64];
		snprintf(n2, sizeof(n2), "hour_%02d_share", h);
		snprintf(d2, sizeof(d2), "share of posts in UTC hour %02d", h);
		feat_reg_scalar(FEAT_TEMPORAL, true, n2, d2, "count / posts");
	}
	for (int d = 0; d < 7; d++) {
		char n2[32], d2[64];
		snprintf(n2, sizeof(n2), "weekday_%s_share", weekdays[d]);
		snprintf(d2, sizeof(d2), "share of posts on %s (UTC)", weekdays[d]);
		feat_reg_scalar(FEAT_TEMPORAL, true, n2, d2, "count / posts");
	}
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool in_subset(uint16_t f, int s)
{
	switch (s) {
	case SUB_POST: return true;
	case SUB_ORIGINAL: return (f & RF_KIND_MASK) == 0;
	case SUB_RETWEET: return (f & RF_KIND_MASK) == 1;
	case SUB_REPLY: return (f & RF_KIND_MASK) == 2;
	case SUB_QUOTE: return (f & RF_KIND_MASK) == 3;
	case SUB_MENTION: return f & RF_MENTION;
	case SUB_HASHTAG: return f & RF_HASHTAG;
	case SUB_URL: return f & RF_URL;
	case SUB_MEDIA: return f & RF_MEDIA;
	}
	return false;
}

/* Gaps of one subset: stats and scalars. `gaps` is scratch of >= n doubles. */
static void subset_features(const struct feat_rec *r, size_t n, int s, double *gaps, double *tmp,
			    double *out)
{
	int64_t prev = 0, first = 0;
	size_t k = 0, cnt = 0, reg = 0, u1 = 0, u60 = 0;
	double st[ST__N], *o = out + sub_base[s] + ST__N, med, span;

	for (size_t i = 0; i < n; i++) {
		if (!in_subset(r[i].flags, s))
			continue;
		if (cnt++)
			gaps[k++] = feat_ms_diff(r[i].t, prev) / 1000.0;
		else
			first = r[i].t;
		prev = r[i].t;
	}
	for (size_t i = 0; i < k; i++)
		tmp[i] = gaps[i];
	feat_array_stats(tmp, k, SC_LOG4, st); /* sorts tmp; gaps keep event order */
	for (int i = 0; i < ST__N; i++)
		out[sub_base[s] + (size_t)i] = st[i];
	span = cnt ? feat_ms_diff(prev, first) / (double)DAY_MS : 0;
	o[SS_PER_DAY] = (double)cnt / (span > 1 ? span : 1);
	if (k == 0)
		return;
	med = st[ST_MEDIAN];
	for (size_t i = 0; i < k; i++) {
		double tol = med * 0.1 > 1.0 ? med * 0.1 : 1.0;
		reg += fabs(gaps[i] - med) <= tol;
		u1 += gaps[i] < 1.0;
		u60 += gaps[i] < 60.0;
	}
	o[SS_REGULARITY] = (double)reg / (double)k;
	o[SS_UNDER_1S] = (double)u1 / (double)k;
	o[SS_UNDER_1M] = (double)u60 / (double)k;
	if (k >= 2 && st[ST_STD] + st[ST_MEAN] > 0)
		o[SS_BURSTINESS] = (st[ST_STD] - st[ST_MEAN]) / (st[ST_STD] + st[ST_MEAN]);
	if (k >= 3) {
		double m1 = 0, m2 = 0, s1 = 0, s2 = 0, c = 0;
		for (size_t i = 0; i + 1 < k; i++)
			m1 += gaps[i], m2 += gaps[i + 1];
		m1 /= (double)(k - 1), m2 /= (double)(k - 1);
		for (size_t i = 0; i + 1 < k; i++) {
			c += (gaps[i] - m1) * (gaps[i + 1] - m2);
			s1 += (gaps[i] - m1) * (gaps[i] - m1);
			s2 += (gaps[i + 1] - m2) * (gaps[i + 1] - m2);
		}
		if (s1 > 0 && s2 > 0)
			o[SS_MEMORY] = c / sqrt(s1 * s2);
	}
}

static double rhythm(const struct feat_rec *r, size_t n, int64_t period)
{
	double c = 0, s = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double ph = 2 * M_PI * (double)feat_ms_mod(r[i].t, period) / (double)period;
		c += cos(ph);
		s += sin(ph);
	}
	return sqrt(c * c + s * s) / (double)n;
}

static double entropy_of(const double *c, int k, double n)
{
	double e = 0;
	for (int i = 0; i < k; i++)
		if (c[i] > 0)
			e -= (c[i] / n) * log2(c[i] / n);
	return n > 0 && e > 0 ? e : 0.0;
}

/* Per-day and per-hour run lengths (records are time-sorted). */
static void runs(const struct feat_rec *r, size_t n, int64_t unit, double *counts, size_t *nruns,
		 double *max)
{
	int64_t cur = 0;

	*nruns = 0;
	*max = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t u = floor_div(r[i].t, unit);
		if (*nruns == 0 || u != cur) {
			counts[(*nruns)++] = 0;
			cur = u;
		}
		counts[*nruns - 1]++;
		if (counts[*nruns - 1] > *max)
			*max = counts[*nruns - 1];
	}
}

static void clock_features(const struct feat_rec *r, size_t n, int64_t probe, double *scratch,
			   double *out)
{
	double hours[24] = { 0 }, wd[7] = { 0 }, *o = out + base, mx, nd = (double)n, span;
	size_t nr;

	for (size_t i = 0; i < n; i++) {
		int64_t day = floor_div(r[i].t, DAY_MS);
		int h = (int)(feat_ms_mod(r[i].t, DAY_MS) / HOUR_MS);
		hours[h]++;
		wd[(day + 3) % 7 < 0 ? (day + 3) % 7 + 7 : (day + 3) % 7]++;
		scratch[i] = h;
	}
	feat_array_stats(scratch, n, SC_HOUR, o + T_HOUR_DIST);
	runs(r, n, DAY_MS, scratch, &nr, &mx);
	o[T_ACTIVE_DAYS] = (double)nr;
	o[T_MAX_IN_DAY] = mx;
	feat_array_stats(scratch, nr, SC_LOG4, o + T_PER_DAY_DIST);
	runs(r, n, HOUR_MS, scratch, &nr, &mx);
	o[T_ACTIVE_HOURS] = (double)nr;
	o[T_MAX_IN_HOUR] = mx;
	feat_array_stats(scratch, nr, SC_LOG4, o + T_PER_HOUR_DIST);
	o[T_HOUR_ENTROPY] = entropy_of(hours, 24, nd);
	o[T_WEEKDAY_ENTROPY] = entropy_of(wd, 7, nd);
	span = n ? feat_ms_diff(r[n - 1].t, r[0].t) / (double)DAY_MS : 0;
	o[T_SPAN_DAYS] = span;
	o[T_POSTS_PER_DAY] = nd / (span > 1 ? span : 1);
	mx = 0;
	for (int h = 0; h < 24; h++) {
		o[T_HOURS + h] = n ? hours[h] / nd : 0;
		mx = hours[h] > mx ? hours[h] : mx;
		o[T_NIGHT] += h < 6 ? o[T_HOURS + h] : 0;
	}
	for (int d = 0; d < 7; d++)
		o[T_WEEKDAYS + d] = n ? wd[d] / nd : 0;
	o[T_WEEKEND] = o[T_WEEKDAYS + 5] + o[T_WEEKDAYS + 6];
	o[T_MODE_HOUR_SHARE] = n ? mx / nd : 0;
	o[T_DAILY_RHYTHM] = rhythm(r, n, DAY_MS);
	o[T_WEEKLY_RHYTHM] = rhythm(r, n, 7 * DAY_MS);
	o[T_HOURLY_RHYTHM] = rhythm(r, n, HOUR_MS);
	o[T_MINUTE_RHYTHM] = rhythm(r, n, 60000);
	if (n && probe != BW_TIME_NONE) {
		o[T_SINCE_LAST] = probe > r[n - 1].t ? feat_ms_diff(probe, r[n - 1].t) / (double)DAY_MS : 0;
		o[T_FIRST_AGE] = probe > r[0].t ? feat_ms_diff(probe, r[0].t) / (double)DAY_MS : 0;
	}
}

int feat_fam_temporal_extract(const struct feat_account *a, int64_t probe_ms, double *out)
{
	const struct feat_rec *r = a->own.r;
	size_t n = a->own.n;
	double *gaps, *tmp;

	while (n && r->t == BW_TIME_NONE) /* timeless posts sort first; leave them out */
		r++, n--;
	if (n == 0)
		return 0;
	gaps = malloc(2 * n * sizeof(*gaps));
	if (!gaps)
		return BW_ENOMEM;
	tmp = gaps + n;
	for (int s = 0; s < SUB__N; s++)
		subset_features(r, n, s, gaps, tmp, out);
	clock_features(r, n, probe_ms, gaps, out);
	free(gaps);
	return 0;
}
