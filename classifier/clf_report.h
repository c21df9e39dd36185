/*
 * clf_report.h — evaluation figures (JSON), the fairness figures and the eval
 * report (SVG plots + an HTML page) of `botwatch eval --report`. Part of the
 * classifier's command layer; writes files only where told.
 */
#ifndef BW_CLF_REPORT_H
#define BW_CLF_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "clf.h"

struct bw_config;

/* {n, positives, auc, pr_auc, f1, precision, recall, false_positive_rate,
 * brier} at `threshold`; undefined figures are null. New reference. */
json_t *clf_report_metrics(const double *p, const int *y, size_t n, double threshold);

/* The scored rows a report is drawn from (all arrays borrowed, n entries). */
struct clf_report_input {
	size_t n;                    /* rows (each with a numeric score) */
	const double *p;             /* english scores */
	const int *y;                /* labels: 1 bot, 0 human */
	const char *const *cls;      /* bot class per row ("human" for humans), or NULL */
	const char *const *lang;     /* majority language per row, or NULL */
	const char *const *platform; /* platform per row, or NULL */
	const char *const *age;      /* account-age band per row, or NULL */
	double threshold;            /* the decision threshold */
};

/*
 * Into dir: score_hist.svg (score histograms by label), roc.svg and pr.svg
 * (AUC, average precision, the prevalence baseline, the threshold's point),
 * roc_by_class.svg and pr_by_class.svg (one curve per bot class against all
 * humans), calibration.svg, confusion.svg (at the threshold), and index.html
 * with the metrics table, the fairness tables and `summary` (the eval JSON).
 * 0, or BW_EIO / BW_ENOMEM with errstr set.
 */
int clf_report_write(const char *dir, const struct clf_report_input *in, const json_t *summary,
		     char *errstr, size_t errlen);

/* Each labelled row's groups for the fairness figures (clf_fair.c). */
struct clf_groups {
	size_t n;           /* rows (the matrix's) */
	char **lang;        /* majority post language ("und" excluded), else the profile's, else "und" */
	char **platform;    /* platform of the account's records, "unknown" when none */
	const char **age;   /* account-age band ("<30d", "30d-1y", "1-3y", "3-7y", ">=7y", "unknown") */
};

/* Decode `files` once more to learn the groups of m's rows. Caller frees
 * with clf_groups_free() (accepts an emptied struct). 0 or a BW_E* code. */
int clf_groups_build(const struct bw_config *cfg, char *const *files, size_t nfiles,
		     const struct clf_matrix *m, struct clf_groups *g, char *errstr, size_t errlen);
void clf_groups_free(struct clf_groups *g);

/*
 * Score distributions and error rates at the threshold by language,
 * platform and account-age band, with per grouping a chi-square test of the
 * false positive and false negative rates and a Kruskal-Wallis test of the
 * human and the bot scores across groups (docs/MODEL.md, "Fairness").
 * New reference; NULL on allocation failure.
 */
json_t *clf_report_fairness(const struct clf_report_input *in);

#endif
