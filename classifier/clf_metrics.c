/*
 * clf_metrics.c — evaluation maths (AUC, PR-AUC, Brier, confusion), seeded
 * stratified folds, Platt scaling and a small logistic regression used by
 * the stacking combiners. Pure functions; deterministic; no I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf.h"
#include "clf_int.h"

uint64_t clf_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* (score, label) pair sorted by score descending, ties by label ascending so
 * that the PR curve is pessimistic within ties. */
struct pair {
	double s; /* score */
	int y;    /* label */
};

static int pair_desc(const void *a, const void *b)
{
	const struct pair *p = a, *q = b;
	if (p->s > q->s)
		return -1;
	if (p->s < q->s)
		return 1;
	return p->y - q->y;
}

static struct pair *sorted_pairs(const double *score, const int *label, size_t n)
{
	struct pair *p = malloc((n ? n : 1) * sizeof(*p));
	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		p[i].s = score[i];
		p[i].y = label[i] ? 1 : 0;
	}
	qsort(p, n, sizeof(*p), pair_desc);
	return p;
}

double clf_auc(const double *score, const int *label, size_t n)
{
	struct pair *p = sorted_pairs(score, label, n);
	double pos = 0, neg = 0, sum = 0;

	if (!p)
		return NAN;
	/* walk tie groups from the highest score: each negative in a group beats
	 * none of the positives above it, ties count half. */
	double pos_above = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double gp = 0, gn = 0;
		while (j < n && p[j].s == p[i].s) {
			if (p[j].y)
				gp++;
			else
				gn++;
			j++;
		}
		sum += gn * (pos_above + 0.5 * gp);
		pos_above += gp;
		pos += gp;
		neg += gn;
		i = j;
	}
	free(p);
	if (pos == 0 || neg == 0)
		return NAN;
	return sum / (pos * neg);
}

double clf_pr_auc(const double *score, const int *label, size_t n)
{
	struct pair *p = sorted_pairs(score, label, n);
	double pos = 0, tp = 0, fp = 0, ap = 0;

	if (!p)
		return NAN;
	for (size_t i = 0; i < n; i++)
		pos += p[i].y;
	if (pos == 0) {
		free(p);
		return NAN;
	}
	/* average precision over tie groups: recall step times precision at the
	 * end of the group */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double gp = 0;
		while (j < n && p[j].s == p[i].s) {
			gp += p[j].y;
			fp += !p[j].y;
			j++;
		}
		tp += gp;
		if (gp > 0)
			ap += (gp / pos) * (tp / (tp + fp));
		i = j;
	}
	free(p);
	return ap;
}

double clf_brier(const double *prob, const int *label, size_t n)
{
	double s = 0;
	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		double d = prob[i] - (label[i] ? 1.0 : 0.0);
		s += d * d;
	}
	return s / (double)n;
}

void clf_confusion_at(const double *score, const int *label, size_t n, double t,
		      struct clf_confusion *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		bool p = score[i] >= t;
		if (label[i])
			p ? out->tp++ : out->fn++;
		else
			p ? out->fp++ : out->tn++;
	}
	if (out->tp + out->fp)
		out->precision = (double)out->tp / (double)(out->tp + out->fp);
	if (out->tp + out->fn)
		out->recall = (double)out->tp / (double)(out->tp + out->fn);
	if (out->precision + out->recall > 0)
		out->f1 = 2 * out->precision * out->recall / (out->precision + out->recall);
}

int clf_stratified_folds(const int *label, size_t n, int k, uint64_t seed, int *fold)
{
	size_t *idx;
	uint64_t st = seed;

	if (k < 2)
		return BW_EINVAL;
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return BW_ENOMEM;
	for (int cls = 0; cls <= 1; cls++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if ((label[i] ? 1 : 0) == cls)
				idx[m++] = i;
		for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
			size_t j = (size_t)(clf_rand_next(&st) % i);
			size_t t = idx[i - 1];
			idx[i - 1] = idx[j];
			idx[j] = t;
		}
		for (size_t i = 0; i < m; i++)
			fold[idx[i]] = (int)(i % (size_t)k);
	}
	free(idx);
	return 0;
}

double clf_platt_apply(double A, double B, double dec)
{
	return clf_sigmoid(-(A * dec + B));
}

/* Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for
 * support vector machines", Algorithm 1 (as in libsvm's sigmoid_train). */
void clf_platt_fit(const double *dec, const int *label, size_t n, double *A, double *B)
{
	double prior1 = 0, prior0 = 0;
	for (size_t i = 0; i < n; i++)
		label[i] ? prior1++ : prior0++;
	const double hi = (prior1 + 1.0) / (prior1 + 2.0), lo = 1.0 / (prior0 + 2.0);
	const double min_step = 1e-10, sigma = 1e-12, eps = 1e-5;
	double a = 0.0, b = log((prior0 + 1.0) / (prior1 + 1.0)), fval = 0.0;

	for (size_t i = 0; i < n; i++) {
		double t = label[i] ? hi : lo, f = dec[i] * a + b;
		fval += f >= 0 ? t * f + log1p(exp(-f)) : (t - 1) * f + log1p(exp(f));
	}
	for (int it = 0; it < 100; it++) {
		double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
		for (size_t i = 0; i < n; i++) {
			double f = dec[i] * a + b, p = clf_sigmoid(-f), q = clf_sigmoid(f);
			double d2 = p * q, t = label[i] ? hi : lo, d1 = t - p;
			h11 += dec[i] * dec[i] * d2;
			h22 += d2;
			h21 += dec[i] * d2;
			g1 += dec[i] * d1;
			g2 += d1;
		}
		if (fabs(g1) < eps && fabs(g2) < eps)
			break;
		double det = h11 * h22 - h21 * h21;
		double da = -(h22 * g1 - h21 * g2) / det, db = -(-h21 * g1 + h11 * g2) / det;
		double gd = g1 * da + g2 * db, step = 1;
		while (step >= min_step) {
			double na = a + step * da, nb = b + step * db, nf = 0;
			for (size_t i = 0; i < n; i++) {
				double t = label[i] ? hi : lo, f = dec[i] * na + nb;
				nf += f >= 0 ? t * f + log1p(exp(-f)) : (t - 1) * f + log1p(exp(f));
			}
			if (nf < fval + 0.0001 * step * gd) {
				a = na;
				b = nb;
				fval = nf;
				break;
			}
			step /= 2.0;
		}
		if (step < min_step)
			break;
	}
	*A = a;
	*B = b;
}

/* Solve the (d+1)x(d+1) system H s = g in place by Gaussian elimination with
 * partial pivoting; returns -1 when singular. */
static int solve(double *H, double *g, size_t m)
{
	for (size_t c = 0; c < m; c++) {
		size_t piv = c;
		for (size_t r = c + 1; r < m; r++)
			if (fabs(H[r * m + c]) > fabs(H[piv * m + c]))
				piv = r;
		if (fabs(H[piv * m + c]) < 1e-300)
			return -1;
		if (piv != c) {
			for (size_t k = 0; k < m; k++) {
				double t = H[c * m + k];
				H[c * m + k] = H[piv * m + k];
				H[piv * m + k] = t;
			}
			double t = g[c];
			g[c] = g[piv];
			g[piv] = t;
		}
		for (size_t r = c + 1; r < m; r++) {
			double f = H[r * m + c] / H[c * m + c];
			for (size_t k = c; k < m; k++)
				H[r * m + k] -= f * H[c * m + k];
			g[r] -= f * g[c];
		}
	}
	for (size_t c = m; c-- > 0;) {
		for (size_t k = c + 1; k < m; k++)
			g[c] -= H[c * m + k] * g[k];
		g[c] /= H[c * m + c];
	}
	return 0;
}

int clf_logreg_fit(const double *z, const int *label, const double *off, size_t n, size_t d,
		   double lambda, double *w, double *b)
{
	enum { MAXD = 16 };
	double beta[MAXD + 1] = { 0 };
	const size_t m = d + 1;

	if (d == 0 || d > MAXD || n == 0)
		return BW_EINVAL;
	for (int it = 0; it < 50; it++) {
		double H[(MAXD + 1) * (MAXD + 1)] = { 0 }, g[MAXD + 1] = { 0 };
		for (size_t i = 0; i < n; i++) {
			const double *zi = z + i * d;
			double f = beta[d] + (off ? off[i] : 0);
			for (size_t k = 0; k < d; k++)
				f += beta[k] * zi[k];
			double p = clf_sigmoid(f);
			double r = (label[i] ? 1.0 : 0.0) - p, v = p * (1 - p) + 1e-12;
			for (size_t a = 0; a < m; a++) {
				double za = a < d ? zi[a] : 1.0;
				g[a] += r * za;
				for (size_t c = 0; c < m; c++)
					H[a * m + c] += v * za * (c < d ? zi[c] : 1.0);
			}
		}
		for (size_t k = 0; k < d; k++) {
			g[k] -= lambda * beta[k];
			H[k * m + k] += lambda;
		}
		H[d * m + d] += 1e-9;
		double gn = 0;
		for (size_t k = 0; k < m; k++)
			gn += g[k] * g[k];
		if (solve(H, g, m))
			return BW_EINVAL;
		for (size_t k = 0; k < m; k++)
			beta[k] += g[k];
		if (gn < 1e-18)
			break;
	}
	for (size_t k = 0; k < d; k++)
		w[k] = beta[k];
	*b = beta[d];
	return 0;
}
