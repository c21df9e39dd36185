/*
 * clf_report.c — evaluation figures as JSON and the report `botwatch eval
 * --report DIR` writes (clf_report.h): SVG plots drawn here (no plotting
 * program needed, and the same inputs give the same bytes) and an HTML page
 * with a readable metrics table, the per-class and fairness tables and the
 * eval JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf_report.h"

#define MAX_CLASSES 16 /* bot classes drawn as their own curves */

static const char *const palette[] = { "#c03", "#03c", "#090", "#c60", "#909", "#088", "#660",
				       "#555", "#e6a", "#6ae", "#a6e", "#ea6", "#6e6", "#999",
				       "#c99", "#99c" };

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

/* Descending by score, ties by row index (pt.y holds the row while sorting). */
static int pt_desc_row(const void *a, const void *b)
{
	const struct pt *p = a, *q = b;
	int c = pt_desc(a, b);
	return c ? c : (p->y > q->y) - (p->y < q->y);
}

/* Map unit coordinates to the plot box. */
#define PX(v) (60.0 + 300.0 * (v))
#define PY(v) (330.0 - 300.0 * (v))

/* A plot: title, axis labels, the box and ticks at 0, 0.25, ... 1 (y up to ymax). */
static void svg_open(FILE *f, const char *title, const char *xl, const char *yl, double ymax)
{
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"660\" height=\"390\" "
		   "font-family=\"sans-serif\" font-size=\"12\">\n"
		   "<rect width=\"660\" height=\"390\" fill=\"#fff\"/>\n"
		   "<text x=\"210\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n"
		   "<rect x=\"60\" y=\"30\" width=\"300\" height=\"300\" fill=\"none\" stroke=\"#333\"/>\n"
		   "<text x=\"210\" y=\"375\" text-anchor=\"middle\">%s</text>\n"
		   "<text x=\"12\" y=\"180\" transform=\"rotate(-90 12 180)\" text-anchor=\"middle\">%s</text>\n",
		title, xl, yl);
	for (int k = 0; k <= 4; k++) {
		double t = k / 4.0;
		fprintf(f, "<line x1=\"%.1f\" y1=\"330\" x2=\"%.1f\" y2=\"335\" stroke=\"#333\"/>"
			   "<text x=\"%.1f\" y=\"348\" text-anchor=\"middle\">%.2g</text>\n"
			   "<line x1=\"55\" y1=\"%.1f\" x2=\"60\" y2=\"%.1f\" stroke=\"#333\"/>"
			   "<text x=\"52\" y=\"%.1f\" text-anchor=\"end\">%.2g</text>\n",
			PX(t), PX(t), PX(t), t, PY(t), PY(t), PY(t) + 4, t * ymax);
	}
}

static void svg_diag(FILE *f)
{
	fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#bbb\" "
		   "stroke-dasharray=\"4\"/>\n", PX(0), PY(0), PX(1), PY(1));
}

/* A legend entry, line k, right of the box. */
static void svg_legend(FILE *f, int k, const char *color, const char *text)
{
	fprintf(f, "<rect x=\"372\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
		   "<text x=\"392\" y=\"%d\">%s</text>\n", 40 + 18 * k, color, 46 + 18 * k, text);
}

/* A marked point with its label. */
static void svg_mark(FILE *f, double x, double y, const char *text)
{
	fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"none\" stroke=\"#000\" "
		   "stroke-width=\"2\"/><text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">%s</text>\n",
		PX(x), PY(y), x > 0.6 ? PX(x) - 8 : PX(x) + 8, PY(y) + 18, x > 0.6 ? "end" : "start",
		text);
}

static int svg_close(FILE *f)
{
	fprintf(f, "</svg>\n");
	return fclose(f) ? BW_EIO : 0;
}

/* The curve (ROC or PR) of the sorted rows v (positives pos) as a polyline;
 * rows with keep[i] false are skipped (NULL keeps all). */
static void curve(FILE *f, const struct pt *v, const bool *keep, size_t n, size_t pos, size_t neg,
		  bool roc, const char *color)
{
	double tp = 0, fp = 0;
	size_t step = n / 2000 + 1, k = 0;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%.2f,%.2f", color,
		PX(0), PY(roc ? 0 : 1));
	for (size_t i = 0; i < n; i++) {
		if (keep && !keep[i])
			continue;
		v[i].y ? tp++ : fp++;
		size_t nx = i + 1;
		while (keep && nx < n && !keep[nx])
			nx++;
		bool last = nx >= n || v[nx].s != v[i].s;
		if (!last || (k++ % step && nx < n))
			continue;
		double x = roc ? (neg ? fp / (double)neg : 0) : (pos ? tp / (double)pos : 0);
		double yv = roc ? (pos ? tp / (double)pos : 0) : tp / (tp + fp);
		fprintf(f, " %.2f,%.2f", PX(x), PY(yv));
	}
	fprintf(f, "\"/>\n");
}

/* Everything the plots share, computed once. */
struct rep {
	const struct clf_report_input *in;
	struct pt *v;              /* rows sorted by descending score */
	size_t pos, neg;           /* bots / humans */
	struct clf_confusion cf;   /* at the threshold */
	double auc, ap, ece;       /* figures */
	size_t ncls;               /* bot classes (at most MAX_CLASSES) */
	const char *cls[MAX_CLASSES]; /* their names */
	size_t cls_n[MAX_CLASSES]; /* their rows */
	double cls_auc[MAX_CLASSES], cls_ap[MAX_CLASSES], cls_recall[MAX_CLASSES];
	const char **vcls;         /* class of each sorted row */
};

static int write_roc_pr(const char *path, const struct rep *r, bool roc)
{
	FILE *f = fopen(path, "w");
	char title[128], t[96];
	if (!f)
		return BW_EIO;
	snprintf(title, sizeof(title), roc ? "ROC (AUC %.3f)" : "Precision-recall (AP %.3f)",
		 roc ? r->auc : r->ap);
	svg_open(f, title, roc ? "false positive rate" : "recall",
		 roc ? "true positive rate" : "precision", 1);
	double prev = r->in->n ? (double)r->pos / (double)r->in->n : 0;
	if (roc) {
		svg_diag(f);
	} else {
		fprintf(f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#888\" "
			   "stroke-dasharray=\"4\"/>\n", PX(0), PY(prev), PX(1), PY(prev));
	}
	curve(f, r->v, NULL, r->in->n, r->pos, r->neg, roc, palette[0]);
	const struct clf_confusion *c = &r->cf;
	double fpr = r->neg ? (double)c->fp / (double)r->neg : 0;
	snprintf(t, sizeof(t), "threshold %.2f", r->in->threshold);
	svg_mark(f, roc ? fpr : c->recall, roc ? c->recall : c->precision, t);
	svg_legend(f, 0, palette[0], "model");
	snprintf(t, sizeof(t), roc ? "chance" : "prevalence %.3f", prev);
	svg_legend(f, 1, "#888", t);
	return svg_close(f);
}

static int write_by_class(const char *path, const struct rep *r, bool roc)
{
	FILE *f = fopen(path, "w");
	bool *keep = malloc((r->in->n ? r->in->n : 1) * sizeof(bool));
	char t[160];
	if (!f || !keep) {
		if (f)
			fclose(f);
		free(keep);
		return BW_EIO;
	}
	svg_open(f, roc ? "ROC by bot class (vs all humans)" : "Precision-recall by bot class",
		 roc ? "false positive rate" : "recall", roc ? "true positive rate" : "precision", 1);
	if (roc)
		svg_diag(f);
	for (size_t k = 0; k < r->ncls; k++) {
		for (size_t i = 0; i < r->in->n; i++)
			keep[i] = !r->v[i].y || (r->vcls[i] && strcmp(r->vcls[i], r->cls[k]) == 0);
		curve(f, r->v, keep, r->in->n, r->cls_n[k], r->neg, roc, palette[k % 16]);
		snprintf(t, sizeof(t), "%.40s (n %zu, %s %.3f)", r->cls[k], r->cls_n[k],
			 roc ? "AUC" : "AP", roc ? r->cls_auc[k] : r->cls_ap[k]);
		svg_legend(f, (int)k, palette[k % 16], t);
	}
	free(keep);
	return svg_close(f);
}

static int write_hist(const char *path, const struct rep *r)
{
	enum { NB = 20 };
	double h[2][NB] = { { 0 } }, top = 0;
	FILE *f = fopen(path, "w");
	char t[64];
	if (!f)
		return BW_EIO;
	for (size_t i = 0; i < r->in->n; i++) {
		int b = (int)(r->in->p[i] * NB);
		h[r->in->y[i] != 0][b < 0 ? 0 : b >= NB ? NB - 1 : b]++;
	}
	for (int l = 0; l < 2; l++)
		for (int b = 0; b < NB; b++) {
			size_t tot = l ? r->pos : r->neg;
			h[l][b] = tot ? h[l][b] / (double)tot : 0;
			top = h[l][b] > top ? h[l][b] : top;
		}
	top = top > 0 ? top : 1;
	svg_open(f, "Score histogram by label", "english score", "share of the label's accounts", top);
	static const char *const col[2] = { "#03c", "#c03" };
	for (int l = 0; l < 2; l++)
		for (int b = 0; b < NB; b++)
			fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
				   "fill-opacity=\"0.45\" stroke=\"%s\"/>\n",
				PX((double)b / NB), PY(h[l][b] / top), 300.0 / NB, 300.0 * h[l][b] / top,
				col[l], col[l]);
	fprintf(f, "<line x1=\"%.2f\" y1=\"30\" x2=\"%.2f\" y2=\"330\" stroke=\"#000\" "
		   "stroke-dasharray=\"6 3\" stroke-width=\"2\"/>\n",
		PX(r->in->threshold), PX(r->in->threshold));
	snprintf(t, sizeof(t), "humans (n %zu)", r->neg);
	svg_legend(f, 0, col[0], t);
	snprintf(t, sizeof(t), "bots (n %zu)", r->pos);
	svg_legend(f, 1, col[1], t);
	snprintf(t, sizeof(t), "threshold %.2f", r->in->threshold);
	svg_legend(f, 2, "#000", t);
	return svg_close(f);
}

/* Calibration bins and the expected calibration error (10 equal-width bins). */
static double calib(const double *p, const int *y, size_t n, double *sp, double *sy, double *cnt)
{
	double ece = 0;
	for (int b = 0; b < 10; b++)
		sp[b] = sy[b] = cnt[b] = 0;
	for (size_t i = 0; i < n; i++) {
		int b = (int)(p[i] * 10);
		b = b < 0 ? 0 : b > 9 ? 9 : b;
		sp[b] += p[i];
		sy[b] += y[i] != 0;
		cnt[b]++;
	}
	for (int b = 0; b < 10; b++)
		if (cnt[b] > 0)
			ece += fabs(sp[b] - sy[b]) / (double)(n ? n : 1);
	return ece;
}

static int write_calibration(const char *path, const struct rep *r)
{
	double sp[10], sy[10], cnt[10];
	FILE *f = fopen(path, "w");
	char title[96];
	if (!f)
		return BW_EIO;
	calib(r->in->p, r->in->y, r->in->n, sp, sy, cnt);
	snprintf(title, sizeof(title), "Calibration (10 bins, ECE %.3f)", r->ece);
	svg_open(f, title, "mean predicted score", "share of bots", 1);
	svg_diag(f);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#03c\" stroke-width=\"2\" points=\"");
	for (int b = 0; b < 10; b++)
		if (cnt[b] > 0)
			fprintf(f, " %.2f,%.2f", PX(sp[b] / cnt[b]), PY(sy[b] / cnt[b]));
	fprintf(f, "\"/>\n");
	for (int b = 0; b < 10; b++)
		if (cnt[b] > 0)
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"#03c\"/>\n",
				PX(sp[b] / cnt[b]), PY(sy[b] / cnt[b]),
				2 + 4 * sqrt(cnt[b] / (double)r->in->n));
	svg_legend(f, 0, "#03c", "model (dot area: accounts)");
	svg_legend(f, 1, "#bbb", "perfect calibration");
	return svg_close(f);
}

static int write_confusion(const char *path, const struct rep *r)
{
	const struct clf_confusion *c = &r->cf;
	size_t cell[2][2] = { { c->tn, c->fp }, { c->fn, c->tp } }; /* [actual][predicted] */
	static const char *const name[2] = { "human", "bot" };
	FILE *f = fopen(path, "w");
	char title[96];
	if (!f)
		return BW_EIO;
	snprintf(title, sizeof(title), "Confusion matrix at threshold %.2f", r->in->threshold);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"330\" "
		   "font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"420\" height=\"330\" "
		   "fill=\"#fff\"/>\n<text x=\"230\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">%s"
		   "</text>\n<text x=\"230\" y=\"318\" text-anchor=\"middle\">predicted</text>\n"
		   "<text x=\"16\" y=\"170\" transform=\"rotate(-90 16 170)\" text-anchor=\"middle\">"
		   "actual</text>\n", title);
	for (int a = 0; a < 2; a++) {
		size_t row = cell[a][0] + cell[a][1];
		fprintf(f, "<text x=\"70\" y=\"%d\" text-anchor=\"end\">%s</text>\n", 110 + 120 * a, name[a]);
		for (int pr = 0; pr < 2; pr++) {
			double share = row ? (double)cell[a][pr] / (double)row : 0;
			int shade = 255 - (int)(share * 180);
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"160\" height=\"120\" fill=\"rgb(%d,%d,255)\" "
				   "stroke=\"#333\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
				   "font-size=\"18\">%zu</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
				   "%.1f %% of %ss</text>\n",
				80 + 160 * pr, 50 + 120 * a, shade, shade, 160 + 160 * pr, 105 + 120 * a,
				cell[a][pr], 160 + 160 * pr, 128 + 120 * a, 100 * share, name[a]);
		}
	}
	for (int pr = 0; pr < 2; pr++)
		fprintf(f, "<text x=\"%d\" y=\"296\" text-anchor=\"middle\">%s</text>\n", 160 + 160 * pr,
			name[pr]);
	return svg_close(f);
}

/* ---- the HTML page ----------------------------------------------------------------------- */

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++)
		*s == '<' ? fputs("&lt;", f) : *s == '>' ? fputs("&gt;", f)
		: *s == '&' ? fputs("&amp;", f) : fputc(*s, f);
}

static void html_num(FILE *f, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "<td>%lld</td>", (long long)json_integer_value(v));
	else if (json_is_number(v))
		fprintf(f, "<td>%.4g</td>", json_number_value(v));
	else
		fprintf(f, "<td>-</td>");
}

static void metrics_table(FILE *f, const struct rep *r)
{
	const struct clf_confusion *c = &r->cf;
	double n = (double)r->in->n;
	double fpr = r->neg ? (double)c->fp / (double)r->neg : NAN;
	double fnr = r->pos ? (double)c->fn / (double)r->pos : NAN;
	struct { const char *name; double v; const char *what; } rows[] = {
		{ "accounts scored", n, "labelled accounts with a numeric score" },
		{ "bots", (double)r->pos, "" },
		{ "prevalence", n ? (double)r->pos / n : NAN, "share of bots: the PR curve's baseline" },
		{ "ROC AUC", r->auc, "P(a random bot scores above a random human)" },
		{ "average precision", r->ap, "area under the PR curve" },
		{ "threshold", r->in->threshold, "score at or above which an account is called a bot" },
		{ "precision", c->precision, "share of flagged accounts that are bots" },
		{ "recall", c->recall, "share of bots flagged" },
		{ "F1", c->f1, "" },
		{ "false positive rate", fpr, "share of humans flagged" },
		{ "false negative rate", fnr, "share of bots missed" },
		{ "accuracy", n ? (double)(c->tp + c->tn) / n : NAN, "" },
		{ "Brier score", clf_brier(r->in->p, r->in->y, r->in->n), "mean squared error of the score" },
		{ "ECE", r->ece, "expected calibration error, 10 bins" },
	};
	fprintf(f, "<h2>Metrics</h2>\n<table class=\"m\">\n<tr><th>figure</th><th>value</th><th>meaning</th></tr>\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "<tr><td>%s</td><td>%.4g</td><td>%s</td></tr>\n", rows[i].name, rows[i].v,
			rows[i].what);
	fprintf(f, "</table>\n");
	if (!r->ncls)
		return;
	fprintf(f, "<h2>By bot class (each against all humans)</h2>\n<table>\n<tr><th>class</th>"
		   "<th>bots</th><th>ROC AUC</th><th>average precision</th><th>recall at threshold</th></tr>\n");
	for (size_t k = 0; k < r->ncls; k++) {
		fprintf(f, "<tr><td>");
		html_text(f, r->cls[k]);
		fprintf(f, "</td><td>%zu</td><td>%.4g</td><td>%.4g</td><td>%.4g</td></tr>\n", r->cls_n[k],
			r->cls_auc[k], r->cls_ap[k], r->cls_recall[k]);
	}
	fprintf(f, "</table>\n");
}

static void test_cell(FILE *f, const json_t *t)
{
	const json_t *p = json_object_get(t, "p");
	if (!json_is_number(p)) {
		fprintf(f, "<td>-</td>");
		return;
	}
	fprintf(f, "<td>%s p = %.3g%s</td>", json_string_value(json_object_get(t, "test")),
		json_number_value(p), json_is_true(json_object_get(t, "differs")) ? " <b>differs</b>" : "");
}

static void fairness_tables(FILE *f, const json_t *fair)
{
	static const char *const by[] = { "language", "platform", "account_age" };
	if (!fair)
		return;
	fprintf(f, "<h2>Fairness: by language, platform and account age</h2>\n<p>Error rates at the "
		   "threshold and mean scores per group. Tests over the groups with at least %lld "
		   "accounts of the label: chi-square for error rates, Kruskal-Wallis for score "
		   "distributions; <b>differs</b> below p = %.2g.</p>\n",
		(long long)json_integer_value(json_object_get(fair, "min_rows_per_group_in_tests")),
		json_number_value(json_object_get(fair, "differs_below_p")));
	for (size_t b = 0; b < 3; b++) {
		const json_t *g = json_object_get(fair, by[b]), *v;
		const char *name;
		if (!g)
			continue;
		fprintf(f, "<h3>%s</h3>\n<table>\n<tr><th>group</th><th>humans</th><th>bots</th>"
			   "<th>mean score, humans</th><th>mean score, bots</th><th>false positive rate"
			   "</th><th>false negative rate</th></tr>\n", by[b]);
		json_object_foreach((json_t *)json_object_get(g, "groups"), name, v) {
			fprintf(f, "<tr><td>");
			html_text(f, name);
			fprintf(f, "</td>");
			html_num(f, json_object_get(v, "humans"));
			html_num(f, json_object_get(v, "bots"));
			html_num(f, json_object_get(v, "mean_score_humans"));
			html_num(f, json_object_get(v, "mean_score_bots"));
			html_num(f, json_object_get(v, "false_positive_rate"));
			html_num(f, json_object_get(v, "false_negative_rate"));
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "<tr><td>test</td><td></td><td></td>");
		test_cell(f, json_object_get(g, "human_scores_test"));
		test_cell(f, json_object_get(g, "bot_scores_test"));
		test_cell(f, json_object_get(g, "false_positive_rate_test"));
		test_cell(f, json_object_get(g, "false_negative_rate_test"));
		fprintf(f, "</tr>\n</table>\n");
	}
}

static int write_html(const char *path, const struct rep *r, const json_t *summary)
{
	FILE *f = fopen(path, "w");
	char *js = json_dumps(summary, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	if (!f || !js) {
		if (f)
			fclose(f);
		free(js);
		return BW_EIO;
	}
	fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>botwatch eval</title>\n"
		   "<style>body{font-family:sans-serif;max-width:72em;margin:1em auto}table{border-collapse:"
		   "collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,"
		   "th:first-child,.m td:last-child{text-align:left}</style></head><body>\n<h1>botwatch evaluation</h1>\n");
	metrics_table(f, r);
	fprintf(f, "<h2>Plots</h2>\n<p><img src=\"score_hist.svg\" alt=\"score histogram\"> "
		   "<img src=\"confusion.svg\" alt=\"confusion matrix\"></p>\n<p><img src=\"roc.svg\" "
		   "alt=\"ROC\"> <img src=\"pr.svg\" alt=\"precision-recall\"></p>\n<p><img "
		   "src=\"roc_by_class.svg\" alt=\"ROC by class\"> <img src=\"pr_by_class.svg\" "
		   "alt=\"PR by class\"></p>\n<p><img src=\"calibration.svg\" alt=\"calibration\"></p>\n");
	fairness_tables(f, json_object_get(summary, "fairness"));
	fprintf(f, "<h2>All figures (JSON)</h2>\n<pre>");
	html_text(f, js);
	fprintf(f, "</pre>\n</body></html>\n");
	free(js);
	return fclose(f) ? BW_EIO : 0;
}

/* Per bot class: rows, AUC and AP against all humans, recall at the threshold. */
static int class_figures(struct rep *r)
{
	const struct clf_report_input *in = r->in;
	double *p = malloc((in->n ? in->n : 1) * sizeof(double));
	int *y = malloc((in->n ? in->n : 1) * sizeof(int));
	if (!p || !y) {
		free(p);
		free(y);
		return BW_ENOMEM;
	}
	for (size_t i = 0; in->cls && i < in->n; i++) {
		size_t k = 0;
		if (!in->y[i] || !in->cls[i])
			continue;
		while (k < r->ncls && strcmp(r->cls[k], in->cls[i]) != 0)
			k++;
		if (k == r->ncls && r->ncls < MAX_CLASSES)
			r->cls[r->ncls++] = in->cls[i];
	}
	for (size_t k = 0; k < r->ncls; k++) {
		size_t n = 0, hit = 0;
		for (size_t i = 0; i < in->n; i++) {
			bool mine = in->y[i] && strcmp(in->cls[i], r->cls[k]) == 0;
			if (in->y[i] && !mine)
				continue;
			p[n] = in->p[i];
			y[n++] = mine;
			hit += mine && in->p[i] >= in->threshold;
		}
		r->cls_n[k] = n - r->neg;
		r->cls_auc[k] = clf_auc(p, y, n);
		r->cls_ap[k] = clf_pr_auc(p, y, n);
		r->cls_recall[k] = r->cls_n[k] ? (double)hit / (double)r->cls_n[k] : NAN;
	}
	free(p);
	free(y);
	return 0;
}

/* Sort rows by descending score, their classes alongside. */
static int sort_rows(struct rep *r)
{
	const struct clf_report_input *in = r->in;
	size_t *idx = malloc((in->n ? in->n : 1) * sizeof(size_t));
	r->v = malloc((in->n ? in->n : 1) * sizeof(*r->v));
	r->vcls = calloc(in->n ? in->n : 1, sizeof(*r->vcls));
	if (!idx || !r->v || !r->vcls) {
		free(idx);
		return BW_ENOMEM;
	}
	/* sort (score, row) pairs by an index sort to carry the classes */
	for (size_t i = 0; i < in->n; i++) {
		r->v[i].s = in->p[i];
		r->v[i].y = (int)i; /* row index for now */
	}
	qsort(r->v, in->n, sizeof(*r->v), pt_desc_row);
	for (size_t i = 0; i < in->n; i++)
		idx[i] = (size_t)r->v[i].y;
	for (size_t i = 0; i < in->n; i++) {
		r->v[i].y = in->y[idx[i]] != 0;
		r->vcls[i] = in->cls ? in->cls[idx[i]] : NULL;
		r->pos += (size_t)r->v[i].y;
	}
	r->neg = in->n - r->pos;
	free(idx);
	return 0;
}

int clf_report_write(const char *dir, const struct clf_report_input *in, const json_t *summary,
		     char *errstr, size_t errlen)
{
	static const char *const files[] = { "score_hist.svg", "roc.svg", "pr.svg",
					     "roc_by_class.svg", "pr_by_class.svg", "calibration.svg",
					     "confusion.svg", "index.html" };
	struct rep r = { .in = in };
	double sp[10], sy[10], cnt[10];
	char path[4096];
	int rc = sort_rows(&r);

	if (!rc) {
		clf_confusion_at(in->p, in->y, in->n, in->threshold, &r.cf);
		r.auc = clf_auc(in->p, in->y, in->n);
		r.ap = clf_pr_auc(in->p, in->y, in->n);
		r.ece = calib(in->p, in->y, in->n, sp, sy, cnt);
		rc = class_figures(&r);
	}
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]) && !rc; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
		switch (k) {
		case 0: rc = write_hist(path, &r); break;
		case 1: rc = write_roc_pr(path, &r, true); break;
		case 2: rc = write_roc_pr(path, &r, false); break;
		case 3: rc = write_by_class(path, &r, true); break;
		case 4: rc = write_by_class(path, &r, false); break;
		case 5: rc = write_calibration(path, &r); break;
		case 6: rc = write_confusion(path, &r); break;
		default: rc = write_html(path, &r, summary); break;
		}
	}
	free(r.v);
	free(r.vcls);
	if (rc)
		return bw_seterr(errstr, errlen, rc, rc == BW_ENOMEM ? "out of memory writing the report"
								       : "cannot write %s", path);
	return 0;
}
