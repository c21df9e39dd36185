/*
 * api_audit.c — the audit trail over HTTP (audit/audit.h, docs/API.md,
 * docs/AUDIT.md):
 *
 *   GET /v1/models                     the store's model registry (and the loaded model)
 *   GET /v1/accounts/{id}/history      every decision kept for an account
 *   GET /v1/accounts/{id}/audit[?at=]  a stored decision re-performed with its archived
 *                                      model and vector: {"result": "identical"|"different"}
 *                                      (?model=ID: with another registered model)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "audit.h"
#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"

int api_route_models(struct api_server *srv, struct api_response *resp)
{
	json_t *models = NULL;
	int rc = audit_models_json(srv->store, &models);

	if (rc)
		return api_error(resp, 500, "store: %s", bw_strerror(rc));
	if (srv->model) { /* the loaded model, marked, and listed even when nothing scored with it */
		json_t *v;
		size_t i;
		bool found = false;
		json_array_foreach(models, i, v) {
			if (strcmp(json_string_value(json_object_get(v, "id")),
				   clf_model_id(srv->model->mdl)) == 0) {
				json_object_set_new(v, "loaded", json_true());
				json_object_set(v, "path", json_object_get(srv->model->info, "path"));
				found = true;
			}
		}
		if (!found) {
			json_t *m = json_deep_copy(srv->model->info);
			json_object_set_new(m, "loaded", json_true());
			json_object_set_new(m, "registered", json_false());
			json_array_append_new(models, m);
		}
	}
	return api_json_response(resp, 200, json_pack("{s:o}", "models", models));
}

int api_route_history(struct api_server *srv, const char *id, const struct api_request *req,
		      struct api_response *resp)
{
	json_t *out = NULL;
	int rc;

	if (!api_valid_id(id))
		return api_error(resp, 400, "invalid account id '%.64s'", id);
	if (api_check_args(req, NULL, 0, resp))
		return 0;
	if ((rc = audit_history_json(srv->store, id, &out)))
		return api_error(resp, 500, "store: %s", bw_strerror(rc));
	if (json_array_size(json_object_get(out, "decisions")) == 0) {
		json_decref(out);
		return api_json_response(resp, 404, json_pack("{s:s, s:s}", "id", id, "status",
							      "not_found"));
	}
	return api_json_response(resp, 200, out);
}

int api_route_audit(struct api_server *srv, const char *id, const struct api_request *req,
		    struct api_response *resp)
{
	static const char *const known[] = { "at", "model", "top" };
	struct audit_rescore_opts o = { .at_ms = INT64_MIN,
					.loaded = srv->model ? srv->model->mdl : NULL };
	const char *at = api_arg(req, "at");
	json_t *out = NULL;
	char err[512];
	int rc;

	if (!api_valid_id(id))
		return api_error(resp, 400, "invalid account id '%.64s'", id);
	if (api_check_args(req, known, 3, resp))
		return 0;
	if (at && bw_time_parse_any(at, strlen(at), &o.at_ms))
		return api_error(resp, 400, "at: '%.64s' is not a time (ISO 8601)", at);
	o.model_id = api_arg(req, "model");
	if (api_arg(req, "top")) {
		char *end;
		long t = strtol(api_arg(req, "top"), &end, 10);
		if (*end || t < 1 || t > 2000)
			return api_error(resp, 400, "top must be an integer in [1, 2000]");
		o.top = (size_t)t;
	}
	if ((rc = audit_rescore(srv->store, id, &o, &out, err, sizeof(err))))
		return api_error(resp, rc == BW_ENOENT ? 404 : rc == BW_ESCHEMA ? 409 : 500, "%s", err);
	return api_json_response(resp, 200, out);
}
