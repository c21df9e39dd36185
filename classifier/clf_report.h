/*
 * clf_report.h — evaluation figures (JSON) and the eval report (SVG + HTML).
 * Part of the classifier's command layer; writes files only where told.
 */
#ifndef BW_CLF_REPORT_H
#define BW_CLF_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "clf.h"

/* {n, positives, auc, pr_auc, f1, precision, recall, false_positive_rate,
 * brier} at `threshold`; undefined figures are null. New reference. */
json_t *clf_report_metrics(const double *p, const int *y, size_t n, double threshold);

/* roc.svg, pr.svg, calibration.svg and index.html (showing `summary`) in dir. */
int clf_report_write(const char *dir, const double *p, const int *y, size_t n,
		     const json_t *summary, char *errstr, size_t errlen);

#endif
