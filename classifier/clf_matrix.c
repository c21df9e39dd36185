/*
 * clf_matrix.c — the generic labelled matrix the trainer works on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "clf.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s ? s : "");
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s ? s : "", n + 1);
	return d;
}

struct clf_matrix *clf_matrix_new(size_t n_cols, const char *const *names, const int *classes,
				  const bool *universal)
{
	struct clf_matrix *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->n_cols = n_cols;
	m->col_names = calloc(n_cols ? n_cols : 1, sizeof(char *));
	m->col_class = calloc(n_cols ? n_cols : 1, sizeof(int));
	m->col_universal = calloc(n_cols ? n_cols : 1, sizeof(bool));
	if (!m->col_names || !m->col_class || !m->col_universal)
		goto out_free;
	for (size_t j = 0; j < n_cols; j++) {
		if (!(m->col_names[j] = dup_str(names[j])))
			goto out_free;
		m->col_class[j] = classes[j];
		m->col_universal[j] = universal[j];
	}
	return m;
out_free:
	clf_matrix_free(m);
	return NULL;
}

void clf_matrix_free(struct clf_matrix *m)
{
	if (!m)
		return;
	for (size_t j = 0; m->col_names && j < m->n_cols; j++)
		free(m->col_names[j]);
	for (size_t i = 0; i < m->n_rows; i++) {
		free(m->row_id[i]);
		free(m->row_class[i]);
		free(m->row_dataset[i]);
	}
	free(m->col_names);
	free(m->col_class);
	free(m->col_universal);
	free(m->x);
	free(m->label);
	free(m->avail);
	free(m->row_id);
	free(m->row_class);
	free(m->row_dataset);
	free(m);
}

/* Grow every per-row array to hold `cap` rows. */
static int grow(struct clf_matrix *m, size_t cap)
{
	double *x = realloc(m->x, cap * (m->n_cols ? m->n_cols : 1) * sizeof(double));
	if (!x)
		return BW_ENOMEM;
	m->x = x;
#define GROW(field)                                                          \
	do {                                                                 \
		void *p = realloc(m->field, cap * sizeof(*m->field));        \
		if (!p)                                                      \
			return BW_ENOMEM;                                    \
		m->field = p;                                                \
	} while (0)
	GROW(label);
	GROW(avail);
	GROW(row_id);
	GROW(row_class);
	GROW(row_dataset);
#undef GROW
	m->cap_rows = cap;
	return 0;
}

int clf_matrix_add(struct clf_matrix *m, const char *id, const double *x, int label,
		   const char *cls, const char *dataset, uint32_t avail, char *errstr,
		   size_t errlen)
{
	if (label != 0 && label != 1)
		return bw_seterr(errstr, errlen, BW_EINVAL, "account %s: label %d is not 0 or 1",
				 id, label);
	for (size_t j = 0; j < m->n_cols; j++) /* NaN = masked (a field the source lacks) */
		if (isinf(x[j]))
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "account %s: feature %s is not finite", id,
					 m->col_names[j]);
	if (m->n_rows == m->cap_rows && grow(m, m->cap_rows ? m->cap_rows * 2 : 256))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	size_t i = m->n_rows;
	char *sid = dup_str(id);
	char *scl = dup_str(cls && *cls ? cls : (label ? "bot" : "human"));
	char *sds = dup_str(dataset);
	if (!sid || !scl || !sds) {
		free(sid);
		free(scl);
		free(sds);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	memcpy(m->x + i * m->n_cols, x, m->n_cols * sizeof(double));
	m->label[i] = label;
	m->avail[i] = avail;
	m->row_id[i] = sid;
	m->row_class[i] = scl;
	m->row_dataset[i] = sds;
	m->n_rows++;
	return 0;
}
