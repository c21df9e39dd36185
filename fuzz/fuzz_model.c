/*
 * fuzz_model.c — fuzz the model-file parser (JSON document, embedded libsvm
 * text) and, when a document parses, score with it under every
 * availability pattern and feed the scores to a drift monitor over the
 * model's baselines (when it has them); also feed the input to the
 * libsvm-text parser alone.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "clf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct clf_svm *s = clf_svm_parse((const char *)data, size, 8, err, sizeof(err));
	if (s) {
		const double x[8] = { 1, -1, 0.5, 2, 0, 3, -2, 0.25 };
		(void)clf_svm_decision(s, x);
		clf_svm_free(s);
	}
	struct clf_model *mdl = clf_model_parse((const char *)data, size, NULL, 0, err, sizeof(err));
	if (!mdl)
		return 0;
	/* every column index was checked against n_features by the parser */
	double *x = calloc(clf_model_n_features(mdl) + 1, sizeof(double));
	struct clf_drift_bounds b;
	clf_drift_bounds_init(&b);
	b.min_scores = 1;
	struct clf_drift *d = clf_drift_new(mdl, &b);
	json_t *closed = json_array();
	if (x && d && closed) {
		for (uint32_t avail = 0; avail < CLF_N_PATTERNS; avail++) {
			struct clf_score sc;
			struct clf_record_info info = { "1", "x", 0, 0 };
			for (size_t j = 0; j < clf_model_n_features(mdl); j++)
				x[j] = (double)(avail * 7 + j % 5) - 3; /* some in each bin */
			clf_score(mdl, x, avail, 0.15, &sc);
			json_t *j = clf_score_to_json(mdl, &sc, &info);
			json_decref(j);
			clf_drift_observe(d, x, clf_model_n_features(mdl), avail, &sc,
					  (int64_t)avail * 1800000, closed);
		}
		clf_drift_advance(d, 0, true, closed);
	}
	json_decref(closed);
	clf_drift_free(d);
	free(x);
	clf_model_free(mdl);
	return 0;
}
