/*
 * clf_svm.c — libsvm models as text and as a fast dense predictor.
 *
 * Text: the format svm_save_model() writes (svm_type, kernel_type, gamma,
 * nr_class, total_sv, rho, label, nr_sv, SV lines "coef idx:val ..."), but
 * produced in memory with %.17g so a model round-trips bit for bit, and
 * parsed by our own strict, bounded parser (libsvm's loader trusts its input).
 *
 * Fast predict: a linear model collapses to w = sum_i coef_i sv_i; an RBF
 * model keeps dense SVs with precomputed squared norms, so one kernel costs
 * one dot product. Decision values are oriented: larger means label 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsvm/svm.h>

#include "bw_err.h"
#include "clf.h"

#define SVM_TEXT_MAX_SV 1000000
#define SVM_TEXT_MAX_CELLS (64u * 1024 * 1024)

struct clf_svm {
	int kernel;     /* LINEAR or RBF (libsvm constants) */
	double gamma;   /* RBF gamma */
	size_t dim;     /* dense columns */
	double rho;     /* decision = sum - rho */
	double sign;    /* +1 when label[0] == 1, else -1 */
	double *w;      /* linear: dim weights */
	size_t l;       /* RBF: number of SVs */
	double *sv;     /* RBF: l * dim dense SVs */
	double *coef;   /* RBF: l coefficients */
	double *norm;   /* RBF: l squared norms */
};

void clf_svm_free(struct clf_svm *s)
{
	if (!s)
		return;
	free(s->w);
	free(s->sv);
	free(s->coef);
	free(s->norm);
	free(s);
}

/* Allocate the dense parts of `s` for `l` SVs. */
static int svm_alloc(struct clf_svm *s, size_t l)
{
	s->l = l;
	if (s->kernel == LINEAR)
		return (s->w = calloc(s->dim ? s->dim : 1, sizeof(double))) ? 0 : BW_ENOMEM;
	s->sv = calloc((l ? l : 1) * (s->dim ? s->dim : 1), sizeof(double));
	s->coef = calloc(l ? l : 1, sizeof(double));
	s->norm = calloc(l ? l : 1, sizeof(double));
	return s->sv && s->coef && s->norm ? 0 : BW_ENOMEM;
}

/* Add SV i (dense row `v`) with coefficient c. */
static void svm_put(struct clf_svm *s, size_t i, const double *v, double c)
{
	if (s->kernel == LINEAR) {
		for (size_t j = 0; j < s->dim; j++)
			s->w[j] += c * v[j];
		return;
	}
	double nn = 0;
	memcpy(s->sv + i * s->dim, v, s->dim * sizeof(double));
	for (size_t j = 0; j < s->dim; j++)
		nn += v[j] * v[j];
	s->coef[i] = c;
	s->norm[i] = nn;
}

struct clf_svm *clf_svm_from_libsvm(const struct svm_model *model, size_t dim, char *errstr,
				    size_t errlen)
{
	struct clf_svm *s = NULL;
	double *row = NULL;

	if (model->param.svm_type != C_SVC || model->nr_class != 2 ||
	    (model->param.kernel_type != LINEAR && model->param.kernel_type != RBF)) {
		bw_seterr(errstr, errlen, BW_ENOTSUP, "only 2-class C-SVC, linear or rbf");
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s))) || !(row = calloc(dim ? dim : 1, sizeof(double))))
		goto out_nomem;
	s->kernel = model->param.kernel_type;
	s->gamma = model->param.gamma;
	s->dim = dim;
	s->rho = model->rho[0];
	s->sign = model->label[0] == 1 ? 1.0 : -1.0;
	if (svm_alloc(s, (size_t)model->l))
		goto out_nomem;
	for (int i = 0; i < model->l; i++) {
		memset(row, 0, dim * sizeof(double));
		for (const struct svm_node *p = model->SV[i]; p->index != -1; p++)
			if (p->index >= 1 && (size_t)p->index <= dim)
				row[p->index - 1] = p->value;
		svm_put(s, (size_t)i, row, model->sv_coef[0][i]);
	}
	free(row);
	return s;
out_nomem:
	free(row);
	clf_svm_free(s);
	bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	return NULL;
}

const double *clf_svm_linear(const struct clf_svm *s, double *bias, double *sign)
{
	if (s->kernel != LINEAR)
		return NULL;
	*bias = -s->sign * s->rho;
	*sign = s->sign;
	return s->w;
}

/* Kernel terms with gamma * d^2 beyond this are skipped: exp(-40) < 5e-18,
 * so even a coefficient of 1e3 on each of 1e4 SVs moves the decision by
 * < 1e-10, far inside the 1e-6 equality with libsvm. */
#define RBF_NEGLIGIBLE 40.0

/* Dot product with four independent sums (instruction-level parallelism; a
 * different summation order than one running sum, equal to rounding). */
static double dot(const double *a, const double *b, size_t n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t j = 0;
	for (; j + 4 <= n; j += 4) {
		s0 += a[j] * b[j];
		s1 += a[j + 1] * b[j + 1];
		s2 += a[j + 2] * b[j + 2];
		s3 += a[j + 3] * b[j + 3];
	}
	for (; j < n; j++)
		s0 += a[j] * b[j];
	return (s0 + s1) + (s2 + s3);
}

double clf_svm_decision(const struct clf_svm *s, const double *x)
{
	double sum = 0;
	if (s->kernel == LINEAR) {
		for (size_t j = 0; j < s->dim; j++)
			sum += s->w[j] * x[j];
	} else {
		double xx = dot(x, x, s->dim);
		for (size_t i = 0; i < s->l; i++) {
			double d2 = xx + s->norm[i] - 2 * dot(s->sv + i * s->dim, x, s->dim);
			double t = s->gamma * (d2 > 0 ? d2 : 0);
			if (t < RBF_NEGLIGIBLE)
				sum += s->coef[i] * exp(-t);
		}
	}
	return s->sign * (sum - s->rho);
}

/* ---- text ------------------------------------------------------------------ */

/* Growable string for the writer. */
struct sbuf {
	char *p;    /* text */
	size_t n;   /* used */
	size_t cap; /* allocated */
	int err;    /* sticky allocation failure */
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->err = 1;
			return;
		}
		if (b->p && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 4096;
		while (nc < b->n + (size_t)k + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

char *clf_svm_model_text(const struct svm_model *m)
{
	struct sbuf b = { 0 };
	sb_printf(&b, "svm_type c_svc\nkernel_type %s\n",
		  m->param.kernel_type == RBF ? "rbf" : "linear");
	if (m->param.kernel_type == RBF)
		sb_printf(&b, "gamma %.17g\n", m->param.gamma);
	sb_printf(&b, "nr_class %d\ntotal_sv %d\nrho %.17g\nlabel %d %d\nnr_sv %d %d\nSV\n",
		  m->nr_class, m->l, m->rho[0], m->label[0], m->label[1], m->nSV[0], m->nSV[1]);
	for (int i = 0; i < m->l; i++) {
		sb_printf(&b, "%.17g ", m->sv_coef[0][i]);
		for (const struct svm_node *p = m->SV[i]; p->index != -1; p++)
			sb_printf(&b, "%d:%.17g ", p->index, p->value);
		sb_printf(&b, "\n");
	}
	if (b.err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Cursor over the text being parsed. */
struct cur {
	const char *p;   /* next byte */
	const char *end; /* one past the last byte */
	int line;        /* 1-based line for messages */
};

/* Next whitespace-free token on the current line into tok (bounded). */
static int next_tok(struct cur *c, char *tok, size_t cap)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	size_t n = 0;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\n') {
		if (n + 1 >= cap)
			return -1;
		tok[n++] = *c->p++;
	}
	tok[n] = '\0';
	return n ? 0 : -1;
}

static bool at_eol(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
	return c->p >= c->end || *c->p == '\n';
}

static void skip_eol(struct cur *c)
{
	if (c->p < c->end && *c->p == '\n') {
		c->p++;
		c->line++;
	}
}

static int tok_double(const char *t, double *v)
{
	char *e;
	errno = 0;
	*v = strtod(t, &e);
	return (*t && *e == '\0' && errno == 0 && isfinite(*v)) ? 0 : -1;
}

static int tok_long(const char *t, long lo, long hi, long *v)
{
	char *e;
	errno = 0;
	long long x = strtoll(t, &e, 10);
	if (!*t || *e || errno || x < lo || x > hi)
		return -1;
	*v = (long)x;
	return 0;
}

/* Header fields of a libsvm text model. */
struct svm_hdr {
	int kernel;         /* LINEAR / RBF */
	double gamma;       /* RBF gamma */
	long total_sv;      /* SV count */
	double rho;         /* bias */
	long label[2];      /* class labels */
	bool have[6];       /* kernel, rho, label, total_sv, nr_class, nr_sv seen */
};

static int parse_header_line(struct cur *c, const char *key, struct svm_hdr *h)
{
	char t[64];
	long v;
	if (strcmp(key, "svm_type") == 0)
		return next_tok(c, t, sizeof(t)) || strcmp(t, "c_svc") ? -1 : 0;
	if (strcmp(key, "kernel_type") == 0) {
		if (next_tok(c, t, sizeof(t)))
			return -1;
		h->kernel = strcmp(t, "linear") == 0 ? LINEAR : strcmp(t, "rbf") == 0 ? RBF : -1;
		h->have[0] = true;
		return h->kernel < 0 ? -1 : 0;
	}
	if (strcmp(key, "gamma") == 0)
		return next_tok(c, t, sizeof(t)) || tok_double(t, &h->gamma) ? -1 : 0;
	if (strcmp(key, "nr_class") == 0) {
		h->have[4] = true;
		return next_tok(c, t, sizeof(t)) || tok_long(t, 2, 2, &v) ? -1 : 0;
	}
	if (strcmp(key, "total_sv") == 0) {
		h->have[3] = true;
		return next_tok(c, t, sizeof(t)) || tok_long(t, 0, SVM_TEXT_MAX_SV, &h->total_sv);
	}
	if (strcmp(key, "rho") == 0) {
		h->have[1] = true;
		return next_tok(c, t, sizeof(t)) || tok_double(t, &h->rho) ? -1 : 0;
	}
	if (strcmp(key, "label") == 0 || strcmp(key, "nr_sv") == 0) {
		long a[2];
		for (int i = 0; i < 2; i++)
			if (next_tok(c, t, sizeof(t)) || tok_long(t, -1000000, 1000000, &a[i]))
				return -1;
		if (key[0] == 'l') {
			h->label[0] = a[0];
			h->label[1] = a[1];
			h->have[2] = true;
		} else {
			h->have[5] = true;
		}
		return 0;
	}
	return -1;
}

/* Parse one "coef idx:val ..." line into dense row[0..dim). */
static int parse_sv_line(struct cur *c, size_t dim, double *row, double *coef)
{
	char t[96];
	long prev = 0;
	memset(row, 0, dim * sizeof(double));
	if (next_tok(c, t, sizeof(t)) || tok_double(t, coef))
		return -1;
	while (!at_eol(c)) {
		char *colon;
		long idx;
		double v;
		if (next_tok(c, t, sizeof(t)) || !(colon = strchr(t, ':')))
			return -1;
		*colon = '\0';
		if (tok_long(t, 1, (long)dim, &idx) || idx <= prev || tok_double(colon + 1, &v))
			return -1;
		row[idx - 1] = v;
		prev = idx;
	}
	return 0;
}

struct clf_svm *clf_svm_parse(const char *text, size_t len, size_t dim, char *errstr,
			      size_t errlen)
{
	struct cur c = { text, text + len, 1 };
	struct svm_hdr h = { .kernel = -1 };
	struct clf_svm *s = NULL;
	double *row = NULL;
	char key[32];

	for (;;) {
		if (c.p >= c.end || next_tok(&c, key, sizeof(key)))
			goto out_bad;
		if (strcmp(key, "SV") == 0)
			break;
		if (parse_header_line(&c, key, &h) || !at_eol(&c))
			goto out_bad;
		skip_eol(&c);
	}
	if (!at_eol(&c))
		goto out_bad;
	skip_eol(&c);
	for (int i = 0; i < 6; i++)
		if (!h.have[i])
			goto out_bad;
	if ((h.kernel == RBF && !(h.gamma > 0)) ||
	    (h.kernel == RBF && (uint64_t)h.total_sv * (dim ? dim : 1) > SVM_TEXT_MAX_CELLS))
		goto out_bad;
	if (!(s = calloc(1, sizeof(*s))) || !(row = calloc(dim ? dim : 1, sizeof(double))))
		goto out_nomem;
	s->kernel = h.kernel;
	s->gamma = h.gamma;
	s->dim = dim;
	s->rho = h.rho;
	s->sign = h.label[0] == 1 ? 1.0 : -1.0;
	if (svm_alloc(s, (size_t)h.total_sv))
		goto out_nomem;
	for (long i = 0; i < h.total_sv; i++) {
		double coef;
		if (c.p >= c.end || parse_sv_line(&c, dim, row, &coef))
			goto out_bad;
		svm_put(s, (size_t)i, row, coef);
		skip_eol(&c);
	}
	if (!at_eol(&c) || c.p < c.end)
		goto out_bad;
	free(row);
	return s;
out_nomem:
	free(row);
	clf_svm_free(s);
	bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	return NULL;
out_bad:
	free(row);
	clf_svm_free(s);
	bw_seterr(errstr, errlen, BW_EPARSE, "libsvm model text line %d: malformed", c.line);
	return NULL;
}
