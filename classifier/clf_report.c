/*
 * clf_report.c — evaluation figures as JSON and the HTML/SVG report
 * (ROC, precision-recall, calibration) written by `botwatch eval --report`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf_report.h"

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *clf_report_metrics(const double *p, const int *y, size_t n, double threshold)
{
	json_t *o = json_object();
	struct clf_confusion cf;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++)
		pos += (size_t)(y[i] != 0);
	clf_confusion_at(p, y, n, threshold, &cf);
	json_object_set_new(o, "n", json_integer((json_int_t)n));
	json_object_set_new(o, "positives", json_integer((json_int_t)pos));
	json_object_set_new(o, "auc", jnum(clf_auc(p, y, n)));
	json_object_set_new(o, "pr_auc", jnum(clf_pr_auc(p, y, n)));
	json_object_set_new(o, "f1", jnum(cf.f1));
	json_object_set_new(o, "precision", jnum(cf.precision));
	json_object_set_new(o, "recall", jnum(cf.recall));
	json_object_set_new(o, "false_positive_rate",
			    jnum(cf.fp + cf.tn ? (double)cf.fp / (double)(cf.fp + cf.tn) : NAN));
	json_object_set_new(o, "brier", jnum(clf_brier(p, y, n)));
	return o;
}

/* Sorted copy (descending by score) for curve drawing. */
struct pt {
	double s; /* score */
	int y;    /* label */
};

static int pt_desc(const void *a, const void *b)
{
	const struct pt *p = a, *q = b;
	return p->s < q->s ? 1 : p->s > q->s ? -1 : 0;
}

static void svg_open(FILE *f, const char *title, const char *xl, const char *yl)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"380\" "
		   "font-family=\"sans-serif\" font-size=\"12\">\n"
		   "<text x=\"180\" y=\"16\" text-anchor=\"middle\">%s</text>\n"
		   "<rect x=\"40\" y=\"30\" width=\"300\" height=\"300\" fill=\"none\" stroke=\"#333\"/>\n"
		   "<text x=\"190\" y=\"360\" text-anchor=\"middle\">%s</text>\n"
		   "<text x=\"12\" y=\"180\" transform=\"rotate(-90 12 180)\" text-anchor=\"middle\">%s</text>\n"
		   "<text x=\"40\" y=\"345\">0</text><text x=\"332\" y=\"345\">1</text>"
		   "<text x=\"28\" y=\"334\">0</text><text x=\"28\" y=\"38\">1</text>\n",
		title, xl, yl);
}

/* Map unit coordinates to the plot box. */
#define PX(v) (40.0 + 300.0 * (v))
#define PY(v) (330.0 - 300.0 * (v))

static int write_curve(const char *path, const char *title, const char *xl, const char *yl,
		       const struct pt *v, size_t n, size_t pos, bool roc)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return BW_EIO;
	svg_open(f, title, xl, yl);
	if (roc)
		fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#bbb\" "
			   "stroke-dasharray=\"4\"/>\n", PX(0), PY(0), PX(1), PY(1));
	fprintf(f, "<polyline fill=\"none\" stroke=\"#c03\" stroke-width=\"2\" points=\"%g,%g",
		PX(0), PY(roc ? 0 : 1));
	double tp = 0, fp = 0, neg = (double)(n - pos);
	size_t step = n / 2000 + 1;
	for (size_t i = 0; i < n; i++) {
		v[i].y ? tp++ : fp++;
		bool last = i + 1 == n || v[i + 1].s != v[i].s;
		if (!last || (i % step && i + 1 != n))
			continue;
		double x = roc ? (neg ? fp / neg : 0) : (pos ? tp / (double)pos : 0);
		double yv = roc ? (pos ? tp / (double)pos : 0) : tp / (tp + fp);
		fprintf(f, " %.2f,%.2f", PX(x), PY(yv));
	}
	fprintf(f, "\"/>\n</svg>\n");
	return fclose(f) ? BW_EIO : 0;
}

static int write_calibration(const char *path, const double *p, const int *y, size_t n)
{
	double sum_p[10] = { 0 }, sum_y[10] = { 0 }, cnt[10] = { 0 };
	FILE *f = fopen(path, "w");
	if (!f)
		return BW_EIO;
	for (size_t i = 0; i < n; i++) {
		int b = (int)(p[i] * 10);
		b = b < 0 ? 0 : b > 9 ? 9 : b;
		sum_p[b] += p[i];
		sum_y[b] += y[i] != 0;
		cnt[b]++;
	}
	svg_open(f, "Calibration (10 bins)", "mean predicted score", "share of bots");
	fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#bbb\" "
		   "stroke-dasharray=\"4\"/>\n<polyline fill=\"none\" stroke=\"#03c\" "
		   "stroke-width=\"2\" points=\"", PX(0), PY(0), PX(1), PY(1));
	for (int b = 0; b < 10; b++)
		if (cnt[b] > 0)
			fprintf(f, " %.2f,%.2f", PX(sum_p[b] / cnt[b]), PY(sum_y[b] / cnt[b]));
	fprintf(f, "\"/>\n");
	for (int b = 0; b < 10; b++)
		if (cnt[b] > 0)
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"#03c\"/>\n",
				PX(sum_p[b] / cnt[b]), PY(sum_y[b] / cnt[b]),
				2 + 4 * sqrt(cnt[b] / (double)n));
	fprintf(f, "</svg>\n");
	return fclose(f) ? BW_EIO : 0;
}

int clf_report_write(const char *dir, const double *p, const int *y, size_t n,
		     const json_t *summary, char *errstr, size_t errlen)
{
	char path[4096];
	struct pt *v = malloc((n ? n : 1) * sizeof(*v));
	size_t pos = 0;
	int rc = 0;
	if (!v)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i].s = p[i];
		v[i].y = y[i] != 0;
		pos += (size_t)v[i].y;
	}
	qsort(v, n, sizeof(*v), pt_desc);
	snprintf(path, sizeof(path), "%s/roc.svg", dir);
	rc = write_curve(path, "ROC", "false positive rate", "true positive rate", v, n, pos, true);
	snprintf(path, sizeof(path), "%s/pr.svg", dir);
	rc = rc ? rc : write_curve(path, "Precision-recall", "recall", "precision", v, n, pos, false);
	snprintf(path, sizeof(path), "%s/calibration.svg", dir);
	rc = rc ? rc : write_calibration(path, p, y, n);
	free(v);
	if (rc)
		return bw_seterr(errstr, errlen, rc, "cannot write the report into %s", dir);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	FILE *f = fopen(path, "w");
	char *js = json_dumps(summary, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	if (!f || !js) {
		if (f)
			fclose(f);
		free(js);
		return bw_seterr(errstr, errlen, BW_EIO, "cannot write %s", path);
	}
	fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>botwatch eval</title>"
		   "</head><body>\n<h1>botwatch evaluation</h1>\n"
		   "<p><img src=\"roc.svg\"> <img src=\"pr.svg\"> <img src=\"calibration.svg\"></p>\n"
		   "<pre>");
	for (const char *c = js; *c; c++) /* escape for HTML */
		*c == '<' ? fputs("&lt;", f) : *c == '&' ? fputs("&amp;", f) : fputc(*c, f);
	fprintf(f, "</pre>\n</body></html>\n");
	free(js);
	return fclose(f) ? bw_seterr(errstr, errlen, BW_EIO, "cannot write %s", path) : 0;
}
