/*
 * bw_metrics.c — the process-wide metrics registry (see bw_metrics.h).
 *
 * Layout: a fixed table of metrics, appended to under `reg_lock` and never
 * shrunk (except by bw_metrics_reset()). Each metric holds up to
 * BW_METRICS_MAX_SERIES series plus one overflow series whose label values are
 * all "_other". Series are published with a release store of `n_series`, so
 * updates find an existing series without taking a lock; only the first use of
 * a new label combination takes the metric's lock. Values are C11 atomics:
 * counters and histogram buckets are uint64, gauges and histogram sums are
 * doubles stored as their bit patterns and updated by compare-and-swap.
 *
 * Rendering follows the Prometheus text exposition format 0.0.4: HELP text
 * escapes '\' and newline, label values escape '\', '"' and newline.
 */
#define _POSIX_C_SOURCE 200809L
#include "bw_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 256   /* distinct metric names in one process */
#define MAX_LABELS 8      /* label names per metric */
#define MAX_BOUNDS 64     /* histogram buckets (without +Inf) */
#define MAX_NAME 128      /* bytes of a metric or label name */

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

/* One label-value combination of a metric. */
struct series {
	uint64_t hash;                 /* hash of the label values (lookup filter) */
	char **values;                 /* n_labels copies of the label values */
	_Atomic uint64_t value;        /* counter count, or gauge double bits */
	_Atomic uint64_t *buckets;     /* histogram: n_bounds + 1 non-cumulative counts */
	_Atomic uint64_t sum_bits;     /* histogram: sum of observations (double bits) */
	_Atomic uint64_t count;        /* histogram: number of observations */
};

struct bw_metric {
	enum metric_type type;         /* counter, gauge or histogram */
	char *name;                    /* metric name */
	char *help;                    /* HELP text (unescaped) */
	size_t n_labels;               /* number of label names */
	char *label_names[MAX_LABELS]; /* label names, in update order */
	double *bounds;                /* histogram upper bounds, ascending */
	size_t n_bounds;               /* number of bounds (+Inf implied) */
	pthread_mutex_t lock;          /* serialises series creation */
	_Atomic size_t n_series;       /* published series in `series` */
	struct series *series[BW_METRICS_MAX_SERIES]; /* label combinations */
	struct series *_Atomic overflow; /* "_other" series once the table is full */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the table */
static struct bw_metric *metrics[MAX_METRICS];                /* registration order */
static size_t n_metrics;                                      /* used entries */

static uint64_t dbl_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bits_dbl(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static bool valid_name(const char *s, bool allow_colon)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++, n++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
		if (!ok || n >= MAX_NAME)
			return false;
	}
	return true;
}

static void series_free(struct series *s, size_t n_labels)
{
	if (!s)
		return;
	if (s->values)
		for (size_t i = 0; i < n_labels; i++)
			free(s->values[i]);
	free(s->values);
	free(s->buckets);
	free(s);
}

static void metric_free(struct bw_metric *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < atomic_load(&m->n_series); i++)
		series_free(m->series[i], m->n_labels);
	series_free(atomic_load(&m->overflow), m->n_labels);
	for (size_t i = 0; i < m->n_labels; i++)
		free(m->label_names[i]);
	pthread_mutex_destroy(&m->lock);
	free(m->bounds);
	free(m->help);
	free(m->name);
	free(m);
}

/* Split "a,b" into m->label_names; false on a bad or duplicate name. */
static bool parse_labels(struct bw_metric *m, const char *labels)
{
	const char *p = labels;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (m->n_labels == MAX_LABELS || len == 0 || len >= MAX_NAME)
			return false;
		char *name = strndup(p, len);
		if (!name)
			return false;
		m->label_names[m->n_labels++] = name;
		if (!valid_name(name, false) || strcmp(name, "le") == 0)
			return false;
		for (size_t i = 0; i + 1 < m->n_labels; i++)
			if (strcmp(m->label_names[i], name) == 0)
				return false;
		p = comma ? comma + 1 : NULL;
	}
	return true;
}

static uint64_t hash_values(const struct bw_metric *m, const char *const *values)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < m->n_labels; i++) {
		const char *v = values && values[i] ? values[i] : "";
		for (; *v; v++)
			h = (h ^ (unsigned char)*v) * 1099511628211ULL;
		h = (h ^ 0xffu) * 1099511628211ULL; /* separator */
	}
	return h;
}

static bool same_values(const struct bw_metric *m, const struct series *s,
			const char *const *values)
{
	for (size_t i = 0; i < m->n_labels; i++) {
		const char *v = values && values[i] ? values[i] : "";
		if (strcmp(s->values[i], v) != 0)
			return false;
	}
	return true;
}

/* New series with copies of `values` (all "_other" when values == NULL and overflow). */
static struct series *series_new(const struct bw_metric *m, const char *const *values,
				 bool overflow, uint64_t hash)
{
	struct series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->hash = hash;
	if (m->n_labels && !(s->values = calloc(m->n_labels, sizeof(char *))))
		goto out_free;
	for (size_t i = 0; i < m->n_labels; i++) {
		const char *v = overflow ? "_other" : (values && values[i] ? values[i] : "");
		if (!(s->values[i] = strdup(v)))
			goto out_free;
	}
	if (m->type == MT_HISTOGRAM &&
	    !(s->buckets = calloc(m->n_bounds + 1, sizeof(*s->buckets))))
		goto out_free;
	return s;

out_free:
	series_free(s, m->n_labels);
	return NULL;
}

static struct series *find_published(struct bw_metric *m, const char *const *values,
				     uint64_t h, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct series *s = m->series[i];
		if (s->hash == h && same_values(m, s, values))
			return s;
	}
	return NULL;
}

/* The overflow series, created on first need; NULL only on allocation failure. */
static struct series *overflow_series(struct bw_metric *m)
{
	struct series *s = atomic_load_explicit(&m->overflow, memory_order_acquire);

	if (s)
		return s;
	pthread_mutex_lock(&m->lock);
	s = atomic_load_explicit(&m->overflow, memory_order_relaxed);
	if (!s && (s = series_new(m, NULL, true, 0)))
		atomic_store_explicit(&m->overflow, s, memory_order_release);
	pthread_mutex_unlock(&m->lock);
	return s;
}

/* Find or create the series for `values`; lock-free when it exists. */
static struct series *series_get(struct bw_metric *m, const char *const *values)
{
	uint64_t h = hash_values(m, values);
	size_t n = atomic_load_explicit(&m->n_series, memory_order_acquire);
	struct series *s = find_published(m, values, h, 0, n);

	if (s)
		return s;
	pthread_mutex_lock(&m->lock);
	size_t n2 = atomic_load_explicit(&m->n_series, memory_order_relaxed);
	s = find_published(m, values, h, n, n2);
	if (!s && n2 < BW_METRICS_MAX_SERIES && (s = series_new(m, values, false, h))) {
		m->series[n2] = s;
		atomic_store_explicit(&m->n_series, n2 + 1, memory_order_release);
	}
	pthread_mutex_unlock(&m->lock);
	return s ? s : overflow_series(m);
}

/* Build a metric; NULL on a bad name, bad labels or allocation failure. */
static struct bw_metric *metric_new(enum metric_type type, const char *name, const char *help,
				    const char *labels, const double *bounds, size_t n_bounds)
{
	struct bw_metric *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->type = type;
	if (!(m->name = strdup(name)) || !(m->help = strdup(help ? help : "")) ||
	    !parse_labels(m, labels))
		goto out_free;
	if (type == MT_HISTOGRAM) {
		if (n_bounds == 0 || n_bounds > MAX_BOUNDS || !bounds)
			goto out_free;
		for (size_t i = 0; i < n_bounds; i++)
			if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
				goto out_free;
		if (!(m->bounds = malloc(n_bounds * sizeof(double))))
			goto out_free;
		memcpy(m->bounds, bounds, n_bounds * sizeof(double));
		m->n_bounds = n_bounds;
	}
	if (m->n_labels == 0) { /* the single series exists from the start */
		if (!(m->series[0] = series_new(m, NULL, false, hash_values(m, NULL))))
			goto out_free;
		atomic_store(&m->n_series, 1);
	}
	return m;

out_free:
	metric_free(m);
	return NULL;
}

static bool same_labels(const struct bw_metric *m, const char *labels)
{
	char joined[MAX_LABELS * (MAX_NAME + 1) + 1];
	size_t p = 0;

	joined[0] = '\0';
	for (size_t i = 0; i < m->n_labels; i++)
		p += (size_t)snprintf(joined + p, sizeof(joined) - p, "%s%s", i ? "," : "",
				      m->label_names[i]);
	return strcmp(joined, labels ? labels : "") == 0;
}

static struct bw_metric *do_register(enum metric_type type, const char *name, const char *help,
				     const char *labels, const double *bounds, size_t n_bounds)
{
	struct bw_metric *m = NULL;

	if (!valid_name(name, true))
		return NULL;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_metrics; i++) {
		if (strcmp(metrics[i]->name, name) == 0) {
			/* the same name must mean the same metric */
			if (metrics[i]->type == type && same_labels(metrics[i], labels))
				m = metrics[i];
			goto out_unlock;
		}
	}
	if (n_metrics < MAX_METRICS &&
	    (m = metric_new(type, name, help, labels, bounds, n_bounds)))
		metrics[n_metrics++] = m;
out_unlock:
	pthread_mutex_unlock(&reg_lock);
	return m;
}

struct bw_metric *bw_counter(const char *name, const char *help, const char *labels)
{
	return do_register(MT_COUNTER, name, help, labels, NULL, 0);
}

struct bw_metric *bw_gauge(const char *name, const char *help, const char *labels)
{
	return do_register(MT_GAUGE, name, help, labels, NULL, 0);
}

struct bw_metric *bw_histogram(const char *name, const char *help, const char *labels,
			       const double *bounds, size_t n_bounds)
{
	return do_register(MT_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

void bw_counter_add(struct bw_metric *m, const char *const *values, uint64_t n)
{
	struct series *s;

	if (!m || m->type != MT_COUNTER || !(s = series_get(m, values)))
		return;
	atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void bw_gauge_set(struct bw_metric *m, const char *const *values, double v)
{
	struct series *s;

	if (!m || m->type != MT_GAUGE || !(s = series_get(m, values)))
		return;
	atomic_store_explicit(&s->value, dbl_bits(v), memory_order_relaxed);
}

static void atomic_add_double(_Atomic uint64_t *bits, double v)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(bits, &old, dbl_bits(bits_dbl(old) + v),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

void bw_histogram_observe(struct bw_metric *m, const char *const *values, double v)
{
	struct series *s;
	size_t b = 0;

	if (!m || m->type != MT_HISTOGRAM || isnan(v) || !(s = series_get(m, values)))
		return;
	while (b < m->n_bounds && v > m->bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_add_double(&s->sum_bits, v);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double bw_metric_value(struct bw_metric *m, const char *const *values)
{
	size_t n;
	struct series *s;

	if (!m)
		return 0;
	n = atomic_load_explicit(&m->n_series, memory_order_acquire);
	s = find_published(m, values, hash_values(m, values), 0, n);
	if (!s)
		return 0;
	switch (m->type) {
	case MT_COUNTER:
		return (double)atomic_load(&s->value);
	case MT_GAUGE:
		return bits_dbl(atomic_load(&s->value));
	case MT_HISTOGRAM:
		return (double)atomic_load(&s->count);
	}
	return 0;
}

/* --- rendering ----------------------------------------------------------- */

/* Write `s` escaping '\' and newline, plus '"' when `quote`. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* Shortest of %.15g/%.17g that reads back as the same double. */
static void fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

static void put_double(FILE *f, double v)
{
	char buf[64];

	fmt_double(buf, sizeof(buf), v);
	fputs(buf, f);
}

/* `{a="x",b="y"` plus `,le="..."` when le != NULL, then `}`; nothing when empty. */
static void put_labels(FILE *f, const struct bw_metric *m, const struct series *s,
		       const char *le)
{
	if (m->n_labels == 0 && !le)
		return;
	fputc('{', f);
	for (size_t i = 0; i < m->n_labels; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", m->label_names[i]);
		put_escaped(f, s->values[i], true);
		fputc('"', f);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", m->n_labels ? "," : "", le);
	fputc('}', f);
}

static void render_histogram(FILE *f, const struct bw_metric *m, const struct series *s)
{
	uint64_t cum = 0;
	char le[64];

	for (size_t b = 0; b <= m->n_bounds; b++) {
		cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
		fmt_double(le, sizeof(le), b < m->n_bounds ? m->bounds[b] : INFINITY);
		fprintf(f, "%s_bucket", m->name);
		put_labels(f, m, s, le);
		fprintf(f, " %llu\n", (unsigned long long)cum);
	}
	fprintf(f, "%s_sum", m->name);
	put_labels(f, m, s, NULL);
	fputc(' ', f);
	put_double(f, bits_dbl(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
	fprintf(f, "\n%s_count", m->name);
	put_labels(f, m, s, NULL);
	/* +Inf bucket and count may differ by in-flight updates; report the bucket total */
	fprintf(f, " %llu\n", (unsigned long long)cum);
}

static void render_series(FILE *f, const struct bw_metric *m, const struct series *s)
{
	if (m->type == MT_HISTOGRAM) {
		render_histogram(f, m, s);
		return;
	}
	fputs(m->name, f);
	put_labels(f, m, s, NULL);
	fputc(' ', f);
	if (m->type == MT_COUNTER)
		fprintf(f, "%llu\n", (unsigned long long)atomic_load(&s->value));
	else {
		put_double(f, bits_dbl(atomic_load(&s->value)));
		fputc('\n', f);
	}
}

static void render_metric(FILE *f, struct bw_metric *m)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	size_t n = atomic_load_explicit(&m->n_series, memory_order_acquire);
	struct series *over = atomic_load_explicit(&m->overflow, memory_order_acquire);

	fprintf(f, "# HELP %s ", m->name);
	put_escaped(f, m->help, false);
	fprintf(f, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
	for (size_t i = 0; i < n; i++)
		render_series(f, m, m->series[i]);
	if (over)
		render_series(f, m, over);
}

char *bw_metrics_render(size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_metrics; i++)
		render_metric(f, metrics[i]);
	pthread_mutex_unlock(&reg_lock);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = size;
	return buf;
}

void bw_metrics_reset(void)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_metrics; i++) {
		metric_free(metrics[i]);
		metrics[i] = NULL;
	}
	n_metrics = 0;
	pthread_mutex_unlock(&reg_lock);
}
