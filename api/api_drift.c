/*
 * api_drift.c — GET /v1/drift (docs/API.md, docs/DRIFT.md): the drift
 * monitor's published document (stage/stage_drift.h) — the last judged
 * event-time windows against the model's training baselines, the open
 * windows and the bounds — with the data expectations at ingest and their
 * violation counts (ingest/ingest_expect.h).
 */
#include "api_int.h"
#include "bw_err.h"
#include "stage_drift.h"

int api_route_drift(struct api_server *srv, struct api_response *resp)
{
	json_t *doc = stage_drift_document();

	(void)srv;
	if (!doc)
		return api_error(resp, 500, "out of memory");
	return api_json_response(resp, 200, doc);
}
