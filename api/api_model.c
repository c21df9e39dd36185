/*
 * api_model.c — the model `serve` loads (score.model) for explanations and
 * the Botometer routes, and its identity for /v1/models.
 *
 * The model file is read once; clf_model_parse() builds the scorer from the
 * bytes and the same bytes are parsed as JSON for the document's
 * feature_schema and params, which /v1/models reports.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_fs.h"
#include "clf.h"
#include "feat.h"

#define MAX_MODEL_BYTES (256u << 20) /* clf_model_parse refuses larger */

/* The /v1/models entry. */
static json_t *model_info(const struct api_model *m, const json_t *doc)
{
	json_t *types = json_array();

	for (size_t t = 0; t < clf_model_n_types(m->mdl); t++)
		json_array_append_new(types, json_string(clf_model_type_name(m->mdl, t)));
	return json_pack("{s:s, s:s, s:O?, s:O?, s:o, s:O?}", "id", clf_model_id(m->mdl),
			 "path", m->path, "feature_schema", json_object_get(doc, "feature_schema"),
			 "params", json_object_get(doc, "params"), "bot_types", types,
			 "training", clf_model_training(m->mdl));
}

struct api_model *api_model_load(const char *path, char *errstr, size_t errlen)
{
	struct api_model *m = calloc(1, sizeof(*m));
	json_error_t jerr;
	json_t *doc = NULL;
	size_t len = 0;
	int rc;
	char *buf;

	if (!m) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(buf = bw_fs_read_all(path, MAX_MODEL_BYTES, &len, &rc, errstr, errlen)))
		goto out_free;
	m->n = feat_count();
	if (!(m->mdl = clf_model_parse(buf, len, feat_schema_hash(), m->n, errstr, errlen)))
		goto out_free;
	if (!(doc = json_loadb(buf, len, 0, &jerr))) {
		bw_seterr(errstr, errlen, BW_EPARSE, "%s: %s", path, jerr.text);
		goto out_free;
	}
	if (!(m->path = strdup(path)) || !(m->info = model_info(m, doc))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	json_decref(doc);
	free(buf);
	return m;

out_free:
	json_decref(doc);
	free(buf);
	api_model_free(m);
	return NULL;
}

void api_model_free(struct api_model *m)
{
	if (!m)
		return;
	clf_model_free(m->mdl);
	json_decref(m->info);
	free(m->path);
	free(m);
}
