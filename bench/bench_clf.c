/*
 * bench_clf.c — accounts scored per second on one core.
 *
 *   bench_clf [MODEL]   with a model file: score random vectors of its width
 *                       under mixed evidence (every pattern); without: train
 *                       a linear model on a synthetic 1,200-column matrix
 *                       shaped like the feature registry, then score.
 * Prints one line: accounts/s, model, width.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clf.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Synthetic model: 1,200 columns over the six classes, 3 bot types. */
static struct clf_model *synthetic(size_t *width)
{
	enum { COLS = 1200, ROWS = 1600 };
	static const char *cls_name[6] = { "user", "friend", "network", "temporal", "content", "sentiment" };
	char **names = malloc(COLS * sizeof(char *));
	int cls[COLS];
	bool uni[COLS];
	for (int j = 0; j < COLS; j++) {
		names[j] = malloc(48);
		cls[j] = j < 40 ? 0 : 1 + (j - 40) % 5;
		uni[j] = cls[j] < 4;
		snprintf(names[j], 48, "%s.%s%d", cls_name[cls[j]], j % 2 ? "screen_name_x" : "q", j);
	}
	struct clf_matrix *m = clf_matrix_new(COLS, (const char *const *)names, cls, uni);
	uint64_t st = 3;
	double *x = malloc(COLS * sizeof(double));
	char err[256];
	static const char *types[3] = { "a", "b", "c" };
	for (int i = 0; i < ROWS; i++) {
		int y = i % 2;
		for (int j = 0; j < COLS; j++)
			x[j] = (double)(clf_rand_next(&st) % 1000) / 10.0 + (y && j % 7 == 0 ? 15 : 0);
		clf_matrix_add(m, "x", x, y, y ? types[i % 3] : "human", "", i % 4 ? CLF_AVAIL_ALL : 3,
			       err, sizeof(err));
	}
	struct clf_train_opts o;
	clf_train_opts_init(&o);
	o.schema_hash = "bench";
	o.max_rows = 800;
	o.folds = 2;
	char *doc;
	size_t len;
	struct clf_model *mdl = NULL;
	if (clf_train(m, &o, &doc, &len, err, sizeof(err)) == 0) {
		mdl = clf_model_parse(doc, len, NULL, 0, err, sizeof(err));
		free(doc);
	}
	for (int j = 0; j < COLS; j++)
		free(names[j]);
	free(names);
	free(x);
	clf_matrix_free(m);
	*width = COLS;
	return mdl;
}

int main(int argc, char **argv)
{
	char err[512];
	size_t width = 0;
	struct clf_model *mdl;
	if (argc > 1) {
		mdl = clf_model_load(argv[1], NULL, 0, err, sizeof(err));
		if (mdl)
			width = clf_model_n_features(mdl);
	} else {
		mdl = synthetic(&width);
	}
	if (!mdl) {
		fprintf(stderr, "bench_clf: %s\n", err);
		return 1;
	}
	enum { NVEC = 512 };
	double *x = malloc(NVEC * width * sizeof(double));
	uint64_t st = 9;
	for (size_t i = 0; i < NVEC * width; i++)
		x[i] = (double)(clf_rand_next(&st) % 10000) / 100.0;
	const uint32_t pats[4] = { CLF_AVAIL_ALL, CLF_AVAIL_TEXT | CLF_AVAIL_COUNTS, CLF_AVAIL_TEXT,
				   CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY };
	struct clf_score sc;
	double sink = 0, t0 = now_s(), t1;
	size_t n = 0;
	do {
		for (int k = 0; k < 2000; k++, n++) {
			clf_score(mdl, x + (n % NVEC) * width, pats[n % 4], 0.15, &sc);
			sink += sc.english;
		}
		t1 = now_s();
	} while (t1 - t0 < 2.0);
	printf("classifier: %.0f accounts scored/s on one core (%s model, %zu features, %zu bot "
	       "types, mixed evidence; checksum %.3f)\n",
	       (double)n / (t1 - t0), argc > 1 ? argv[1] : "synthetic linear", width,
	       clf_model_n_types(mdl), sink / (double)n);
	free(x);
	clf_model_free(mdl);
	return 0;
}
