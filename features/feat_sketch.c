/*
 * feat_sketch.c — bounded summaries behind every distribution feature.
 *
 * The 8 statistics (min max median mean std skew kurtosis entropy) are defined
 * once here, for exact arrays and for streaming sketches alike:
 *   std       population standard deviation sqrt(M2/n)
 *   skew      sqrt(n) M3 / M2^1.5 (0 when the values are constant or n < 2)
 *   kurtosis  n M4 / M2^2 - 3, excess kurtosis (0 when constant or n < 2)
 *   entropy   Shannon entropy in bits of the values' 16-bin histogram on the
 *             quantity's scale (see enum feat_scale)
 *   median    exact for arrays (mean of the middle two when n is even); for
 *             sketches the histogram median, linearly interpolated inside its
 *             bin and clamped to [min, max] (integer bins give the integer)
 * Every statistic of an empty distribution is 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "feat_int.h"

const char *const feat_stat_names[ST__N] = { "min",  "max",  "median",   "mean",
					      "std",  "skew", "kurtosis", "entropy" };

/* Lower bound of bin b on scale sc (upper bound = lower bound of b + 1). */
static double bin_lo(enum feat_scale sc, int b)
{
	switch (sc) {
	case SC_COUNT: return b;
	case SC_LOG4: return b == 0 ? 0.0 : ldexp(1.0, 2 * (b - 1));
	case SC_UNIT: return b / 16.0;
	case SC_SIGNED: return -1.0 + b / 8.0;
	case SC_LIKERT: return 1.0 + b * 0.5;
	case SC_HOUR: return b * 1.5;
	}
	return 0;
}

const char *feat_scale_doc(enum feat_scale sc)
{
	switch (sc) {
	case SC_COUNT: return "histogram bins 0, 1, ..., 14 and 15+";
	case SC_LOG4: return "histogram bins [0,1), [1,4), [4,16), ... by powers of 4, last 4^14+";
	case SC_UNIT: return "histogram of 16 equal bins over [0, 1]";
	case SC_SIGNED: return "histogram of 16 equal bins over [-1, 1]";
	case SC_LIKERT: return "histogram of 16 equal bins over [1, 9]";
	case SC_HOUR: return "histogram of 16 bins of 1.5 h";
	}
	return "";
}

int feat_bin(enum feat_scale sc, double v)
{
	int b;

	switch (sc) {
	case SC_COUNT:
		b = v < 0 ? 0 : v >= 15 ? 15 : (int)v;
		return b;
	case SC_LOG4:
		if (v < 1.0)
			return 0;
		b = 1 + (int)(log2(v) / 2.0);
		return b > 15 ? 15 : b;
	case SC_UNIT: b = (int)(v * 16.0); break;
	case SC_SIGNED: b = (int)((v + 1.0) * 8.0); break;
	case SC_LIKERT: b = (int)((v - 1.0) * 2.0); break;
	case SC_HOUR: b = (int)(v / 1.5); break;
	default: b = 0;
	}
	return b < 0 ? 0 : b > 15 ? 15 : b;
}

static double hist_entropy(const uint32_t *h, double n)
{
	double e = 0;

	if (n <= 0)
		return 0;
	for (int b = 0; b < FEAT_NBINS; b++) {
		if (h[b]) {
			double p = h[b] / n;
			e -= p * log2(p);
		}
	}
	return e > 0 ? e : 0.0;
}

void feat_sketch_add(struct feat_sketch *s, enum feat_scale sc, double v)
{
	double n1, n, delta, dn, dn2, t1;

	v = feat_finite(v);
	if (s->n == 0) {
		s->min = s->max = v;
	} else {
		if (v < s->min)
			s->min = v;
		if (v > s->max)
			s->max = v;
	}
	n1 = s->n;
	s->n++;
	n = s->n;
	delta = v - s->mean;
	dn = delta / n;
	dn2 = dn * dn;
	t1 = delta * dn * n1;
	s->mean += dn;
	s->m4 += t1 * dn2 * (n * n - 3 * n + 3) + 6 * dn2 * s->m2 - 4 * dn * s->m3;
	s->m3 += t1 * dn * (n - 2) - 3 * dn * s->m2;
	s->m2 += t1;
	s->hist[feat_bin(sc, v)]++;
}

/* std, skew, kurtosis from central moment sums; constant/degenerate -> 0. */
static void shape_stats(double n, double mean, double m2, double m3, double m4, double *out)
{
	double scale = fabs(mean) + 1.0;

	out[ST_STD] = out[ST_SKEW] = out[ST_KURT] = 0;
	if (n < 2 || m2 <= 1e-24 * scale * scale * n)
		return;
	out[ST_STD] = sqrt(m2 / n);
	out[ST_SKEW] = feat_finite(sqrt(n) * m3 / pow(m2, 1.5));
	out[ST_KURT] = feat_finite(n * m4 / (m2 * m2) - 3.0);
}

void feat_sketch_stats(const struct feat_sketch *s, enum feat_scale sc, double *out)
{
	double half, cum = 0;

	memset(out, 0, ST__N * sizeof(*out));
	if (!s || s->n == 0)
		return;
	out[ST_MIN] = s->min;
	out[ST_MAX] = s->max;
	out[ST_MEAN] = s->mean;
	shape_stats(s->n, s->mean, s->m2, s->m3, s->m4, out);
	out[ST_ENTROPY] = hist_entropy(s->hist, s->n);
	out[ST_MEDIAN] = s->min;
	half = s->n / 2.0;
	for (int b = 0; b < FEAT_NBINS; b++) {
		if (cum + s->hist[b] >= half && s->hist[b]) {
			double lo = bin_lo(sc, b), hi = b < 15 ? bin_lo(sc, b + 1) : s->max, m;
			if (sc == SC_COUNT && b < 15)
				m = lo;
			else
				m = lo + (hi - lo) * ((half - cum) / s->hist[b]);
			if (m < s->min)
				m = s->min;
			if (m > s->max)
				m = s->max;
			out[ST_MEDIAN] = m;
			break;
		}
		cum += s->hist[b];
	}
	for (int i = 0; i < ST__N; i++)
		out[i] = feat_finite(out[i]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void feat_array_stats(double *v, size_t n, enum feat_scale sc, double *out)
{
	uint32_t h[FEAT_NBINS] = { 0 };
	double sum = 0, mean, m2 = 0, m3 = 0, m4 = 0;

	memset(out, 0, ST__N * sizeof(*out));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
		h[feat_bin(sc, v[i])]++;
	}
	mean = sum / (double)n;
	for (size_t i = 0; i < n; i++) {
		double d = v[i] - mean, d2 = d * d;
		m2 += d2;
		m3 += d2 * d;
		m4 += d2 * d2;
	}
	out[ST_MIN] = v[0];
	out[ST_MAX] = v[n - 1];
	out[ST_MEDIAN] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	out[ST_MEAN] = mean;
	shape_stats((double)n, mean, m2, m3, m4, out);
	out[ST_ENTROPY] = hist_entropy(h, (double)n);
	for (int i = 0; i < ST__N; i++)
		out[i] = feat_finite(out[i]);
}

/* ---- Space-Saving top-K -------------------------------------------------------- */

void feat_topk_add(struct feat_topk *t, uint32_t key, uint32_t w)
{
	size_t min_i = 0;

	t->lc[(key >> 5) % FEAT_LC_WORDS] |= 1u << (key & 31);
	t->total += w;
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].key == key) {
			t->e[i].count += w;
			return;
		}
		if (t->e[i].count < t->e[min_i].count)
			min_i = i;
	}
	if (t->n < FEAT_TOPK) {
		t->e[t->n].key = key;
		t->e[t->n].count = w;
		t->n++;
		return;
	}
	/* Space-Saving: the new key inherits the smallest count (an upper bound). */
	t->overflowed = 1;
	t->e[min_i].key = key;
	t->e[min_i].count += w;
}

long feat_topk_find(const struct feat_topk *t, uint32_t key)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].key == key)
			return t->e[i].count;
	return -1;
}

double feat_topk_distinct(const struct feat_topk *t)
{
	const double m = FEAT_LC_WORDS * 32.0;
	unsigned zero = 0;

	if (!t->overflowed)
		return t->n;
	for (int i = 0; i < FEAT_LC_WORDS; i++)
		zero += 32u - (unsigned)__builtin_popcount(t->lc[i]);
	if (zero == 0)
		zero = 1; /* saturated bitmap: the estimate's ceiling (about 3,200) */
	double est = -m * log(zero / m);
	return est < FEAT_TOPK ? FEAT_TOPK : est;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x > y ? -1 : x < y;
}

size_t feat_topk_counts(const struct feat_topk *t, double *out)
{
	for (size_t i = 0; i < t->n; i++)
		out[i] = t->e[i].count;
	qsort(out, t->n, sizeof(*out), cmp_desc);
	return t->n;
}

double feat_topk_entropy(const struct feat_topk *t)
{
	double sum = 0, e = 0;

	for (size_t i = 0; i < t->n; i++)
		sum += t->e[i].count;
	if (sum <= 0)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		double p = t->e[i].count / sum;
		if (p > 0)
			e -= p * log2(p);
	}
	return e > 0 ? e : 0.0;
}

/* ---- hashing ------------------------------------------------------------------- */

uint32_t feat_hash32(const void *p, size_t len)
{
	uint32_t h = (uint32_t)XXH3_64bits(p, len);
	return h ? h : 1u;
}

uint32_t feat_hash_str(const char *s)
{
	return s ? feat_hash32(s, strlen(s)) : 0;
}

uint32_t feat_hash_lower(const char *s)
{
	char buf[256];
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n] && n < sizeof(buf); n++)
		buf[n] = (s[n] >= 'A' && s[n] <= 'Z') ? (char)(s[n] + 32) : s[n];
	return feat_hash32(buf, n);
}
