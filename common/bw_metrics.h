/*
 * bw_metrics.h — a small process-wide metrics registry (counters, gauges,
 * histograms), rendered in the Prometheus text exposition format 0.0.4 by
 * the API's /metrics.
 *
 * Metrics are registered once (name, help, optional fixed label set) and
 * updated lock-free with atomics from any thread. A labelled metric is one
 * series per label value combination, created on first use (bounded by
 * BW_METRICS_MAX_SERIES; past it updates go to an overflow series labelled
 * "_other" rather than growing without bound).
 *
 * Ownership: metric handles are owned by the registry and live until
 * bw_metrics_reset() (tests only). Leaf module.
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BW_METRICS_MAX_SERIES 256

struct bw_metric;

/* Register (or find, when already registered with the same name) a metric.
 * `labels` is a comma-separated list of label names ("route,status") or NULL. */
struct bw_metric *bw_counter(const char *name, const char *help, const char *labels);
struct bw_metric *bw_gauge(const char *name, const char *help, const char *labels);
/* `bounds` are the histogram's upper bucket bounds, ascending (+Inf implied). */
struct bw_metric *bw_histogram(const char *name, const char *help, const char *labels,
			       const double *bounds, size_t n_bounds);

/* Update. `values` holds one string per label name, in order (NULL when unlabelled). */
void bw_counter_add(struct bw_metric *m, const char *const *values, uint64_t n);
void bw_gauge_set(struct bw_metric *m, const char *const *values, double v);
void bw_histogram_observe(struct bw_metric *m, const char *const *values, double v);

/* Current value of a counter/gauge series (tests, summaries); 0 if absent. */
double bw_metric_value(struct bw_metric *m, const char *const *values);

/* Render every metric in Prometheus text format 0.0.4 into a malloc'd
 * string (caller frees); NULL on allocation failure. */
char *bw_metrics_render(size_t *len);

/* Drop every metric (tests only; not thread-safe against updates). */
void bw_metrics_reset(void);

#endif
