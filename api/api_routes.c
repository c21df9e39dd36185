/*
 * api_routes.c — the route table, api_handle() and the lookup routes:
 * one account by id or screen name, batches, /healthz and /metrics.
 *
 * Records are served as the stored JSON text (no parse on the hot path);
 * batch responses splice the stored texts into one array.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_metrics.h"
#include "ingest_expect.h"
#include "store.h"

enum route_id {
	R_HEALTHZ, R_METRICS, R_MODELS, R_DRIFT, R_EXPORT, R_LOOKUP,
	R_REPORT, R_SUMMARY, R_DASH, /* api_report.c, api_dash.c */
	R_BOM_CHECK, R_BOM_LITE, R_WHATIF, R_BY_NAME, R_EXPLAIN, R_HISTORY, R_AUDIT, R_ACCOUNT,
	R_NONE
};

struct route {
	const char *tmpl;   /* template, also the metrics label */
	const char *method; /* the one method served ("GET" also serves HEAD) */
	bool open;          /* served without the bearer token */
};

static const struct route routes[] = {
	[R_HEALTHZ] = { "/healthz", "GET", true },
	[R_METRICS] = { "/metrics", "GET", false },
	[R_MODELS] = { "/v1/models", "GET", false },
	[R_DRIFT] = { "/v1/drift", "GET", false },
	[R_EXPORT] = { "/v1/accounts", "GET", false },
	[R_LOOKUP] = { "/v1/accounts:lookup", "POST", false },
	[R_REPORT] = { "/v1/report", "GET", false },
	[R_SUMMARY] = { "/v1/summary", "GET", false },
	[R_DASH] = { "/", "GET", true }, /* the page holds no data; its requests carry the token */
	[R_BOM_CHECK] = { "/4/check_account", "POST", false },
	[R_BOM_LITE] = { "/litev1/check_accounts_in_bulk", "POST", false },
	[R_WHATIF] = { "/v1/whatif", "POST", false },
	[R_BY_NAME] = { "/v1/accounts/by-name/{screen_name}", "GET", false },
	[R_EXPLAIN] = { "/v1/accounts/{id}/explain", "GET", false },
	[R_HISTORY] = { "/v1/accounts/{id}/history", "GET", false },
	[R_AUDIT] = { "/v1/accounts/{id}/audit", "GET", false },
	[R_ACCOUNT] = { "/v1/accounts/{id}", "GET", false },
};

#define EXPLAIN_SUFFIX "/explain"
#define API_MAX_PARAM 256 /* longest path parameter kept (validation rejects long ones) */

/* Which route `path` is; its path parameter (if any) is copied to `param`
 * (API_MAX_PARAM + 1 bytes; a longer one is truncated and then fails validation). */
static enum route_id match_route(const char *path, char *param)
{
	static const char acc[] = "/v1/accounts/", by[] = "/v1/accounts/by-name/";
	const char *rest, *slash;

	param[0] = '\0';
	for (enum route_id r = R_HEALTHZ; r <= R_WHATIF; r++)
		if (strcmp(path, routes[r].tmpl) == 0)
			return r;
	if (strncmp(path, by, sizeof(by) - 1) == 0 && !strchr(path + sizeof(by) - 1, '/')) {
		snprintf(param, API_MAX_PARAM + 1, "%s", path + sizeof(by) - 1);
		return R_BY_NAME;
	}
	if (strncmp(path, acc, sizeof(acc) - 1) != 0)
		return R_NONE;
	rest = path + sizeof(acc) - 1;
	if (!(slash = strchr(rest, '/'))) {
		snprintf(param, API_MAX_PARAM + 1, "%s", rest);
		return R_ACCOUNT;
	}
	static const struct { const char *suffix; enum route_id r; } sub[] = {
		{ EXPLAIN_SUFFIX, R_EXPLAIN }, { "/history", R_HISTORY }, { "/audit", R_AUDIT },
	};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (strcmp(slash, sub[i].suffix) == 0) {
			snprintf(param, API_MAX_PARAM + 1, "%.*s", (int)(slash - rest), rest);
			return sub[i].r;
		}
	}
	return R_NONE;
}

/* Bearer token (or a Botometer client's X-RapidAPI-Key), compared in constant time. */
static bool authorized(const struct api_server *srv, const struct api_request *req)
{
	const char *tok = NULL;
	unsigned char h[SHA256_DIGEST_LENGTH];

	if (!srv->has_token)
		return true;
	/* RFC 7235: the scheme is case-insensitive, then one or more spaces */
	if (req->authorization && strncasecmp(req->authorization, "Bearer ", 7) == 0)
		tok = req->authorization + 7 + strspn(req->authorization + 7, " ");
	else if (req->api_key)
		tok = req->api_key;
	if (!tok)
		return false;
	SHA256((const unsigned char *)tok, strlen(tok), h);
	return CRYPTO_memcmp(h, srv->token_hash, sizeof(h)) == 0;
}

static int route_healthz(struct api_server *srv, struct api_response *resp)
{
	uint64_t n = 0;

	if (store_count(srv->store, &n))
		return api_error(resp, 503, "store unreadable");
	return api_json_response(resp, 200, json_pack("{s:s, s:I}", "status", "ok", "accounts",
						      (json_int_t)n));
}

static int route_metrics(struct api_server *srv, struct api_response *resp)
{
	uint64_t n = 0;
	size_t len = 0;

	if (store_count(srv->store, &n) == 0)
		bw_gauge_set(srv->m_accounts, NULL, (double)n);
	ingest_expect_publish();
	if (!(resp->body = bw_metrics_render(&len))) {
		resp->status = 500;
		return BW_ENOMEM;
	}
	resp->len = len;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

/*
 * A 400 in resp (returns true) when the path or a query parameter holds "%00"
 * (a NUL byte, kept escaped by the server's unescaper) or is not UTF-8: such a
 * value would be cut short or could not even be echoed in a JSON error.
 */
static bool bad_request_text(const struct api_request *req, struct api_response *resp)
{
	const char *what = NULL;

	if (strstr(req->path, "%00"))
		what = "a NUL byte (%00) in the path";
	else if (!api_utf8_valid(req->path, strlen(req->path)))
		what = "a path that is not UTF-8";
	for (size_t i = 0; !what && i < req->n_args; i++) {
		const char *k = req->arg_keys[i], *v = req->arg_values[i] ? req->arg_values[i] : "";
		if (strstr(k, "%00") || strstr(v, "%00"))
			what = "a NUL byte (%00) in a query parameter";
		else if (!api_utf8_valid(k, strlen(k)) || !api_utf8_valid(v, strlen(v)))
			what = "a query parameter that is not UTF-8";
	}
	if (!what)
		return false;
	api_error(resp, 400, "bad request: %s", what);
	return true;
}

/* No Content-Type (taken as JSON) or application/json, with parameters or not. */
static bool json_content_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (!ct)
		return true;
	ct += strspn(ct, " \t");
	return strncasecmp(ct, json, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

int api_handle(struct api_server *srv, const struct api_request *req, struct api_response *resp)
{
	char param[API_MAX_PARAM + 1];
	enum route_id r = match_route(req->path, param);
	const struct route *rt;
	bool head;

	*resp = (struct api_response){ .status = 500, .route = "unmatched" };
	if (bad_request_text(req, resp))
		return resp->status == 400 ? 0 : BW_ENOMEM;
	if (r == R_NONE)
		return api_error(resp, 404, "no such route: %.200s", req->path);
	rt = &routes[r];
	resp->route = rt->tmpl;
	if (!rt->open && !authorized(srv, req))
		return api_error(resp, 401, "missing or wrong bearer token");
	head = strcmp(req->method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0;
	if (strcmp(req->method, rt->method) != 0 && !head) {
		resp->allow = strcmp(rt->method, "GET") == 0 ? "GET, HEAD" : rt->method;
		return api_error(resp, 405, "method %.16s not allowed on %s (allowed: %s)",
				 req->method, rt->tmpl, resp->allow);
	}
	if (req->body_len && strcmp(rt->method, "POST") == 0 && !json_content_type(req->content_type))
		return api_error(resp, 415, "Content-Type '%.64s' not supported: send application/json",
				 req->content_type);
	if (req->body_too_large)
		return api_error(resp, 413, "request body over api.max_body_bytes (%zu bytes)",
				 srv->opts.max_body);
	if (req->too_many_args)
		return api_error(resp, 400, "more than %d query parameters", API_MAX_ARGS);
	switch (r) {
	case R_HEALTHZ: return route_healthz(srv, resp);
	case R_METRICS: return route_metrics(srv, resp);
	case R_MODELS: return api_route_models(srv, resp);
	case R_DRIFT: return api_route_drift(srv, resp);
	case R_BOM_CHECK: return api_route_bom_check(srv, req, resp);
	case R_BOM_LITE: return api_route_bom_lite(srv, req, resp);
	case R_EXPLAIN: return api_route_explain(srv, param, req, resp);
	case R_HISTORY: return api_route_history(srv, param, req, resp);
	case R_AUDIT: return api_route_audit(srv, param, req, resp);
	case R_WHATIF: return api_route_whatif(srv, req, resp);
	case R_EXPORT: return api_route_export(srv, req, resp);
	case R_LOOKUP: return api_route_lookup(srv, req, resp);
	case R_REPORT: return api_route_report(srv, req, resp);
	case R_SUMMARY: return api_route_summary(srv, req, resp);
	case R_DASH: return api_route_dash(srv, req, resp);
	case R_BY_NAME: return api_route_by_name(srv, param, resp);
	case R_ACCOUNT: return api_route_account(srv, param, resp);
	case R_NONE: break;
	}
	return api_error(resp, 404, "no such route");
}

/* --- single lookups ------------------------------------------------------ */

/* 200 with the record, 404 not_found, or 500, counted in m_lookups.
 * `key`/`value` name the input. */
static int record_response(struct api_server *srv, const char *key, const char *value,
			   bool by_name, struct api_response *resp)
{
	int err = 0;
	size_t len = 0;
	struct bw_store_read *rd = store_read_begin(srv->store, &err);
	const char *rec;

	if (!rd)
		return api_error(resp, 500, "store: %s", bw_strerror(err));
	rec = by_name ? store_read_get_by_name(rd, value, &len, &err)
		      : store_read_get(rd, value, &len, &err);
	if (rec && (resp->body = malloc(len + 1))) {
		memcpy(resp->body, rec, len + 1);
		resp->len = len;
		resp->status = 200;
		resp->content_type = "application/json";
	} else if (rec) {
		err = BW_ENOMEM;
	}
	store_read_end(rd);
	bw_counter_add(srv->m_lookups, (const char *[]){ resp->body ? "found"
							 : err == BW_ENOENT ? "not_found" : "error" },
		       1);
	if (rec)
		return resp->body ? 0 : api_error(resp, 500, "out of memory");
	if (err == BW_ENOENT)
		return api_json_response(resp, 404, json_pack("{s:s, s:s}", key, value, "status",
							      "not_found"));
	return api_error(resp, 500, "store: %s", bw_strerror(err));
}

int api_route_account(struct api_server *srv, const char *id, struct api_response *resp)
{
	if (!api_valid_id(id)) {
		bw_counter_add(srv->m_lookups, (const char *[]){ "invalid" }, 1);
		return api_error(resp, 400,
				 "invalid account id '%.64s': expected decimal digits or a DID", id);
	}
	return record_response(srv, "id", id, false, resp);
}

int api_route_by_name(struct api_server *srv, const char *name, struct api_response *resp)
{
	if (name[0] == '@')
		name++;
	if (!api_valid_name(name)) {
		bw_counter_add(srv->m_lookups, (const char *[]){ "invalid" }, 1);
		return api_error(resp, 400, "invalid screen name '%.64s'", name);
	}
	return record_response(srv, "screen_name", name, true, resp);
}

/* --- batch lookup -------------------------------------------------------- */

/* Counts of one batch's outcomes, added to the metrics once. */
struct batch_tally {
	uint64_t found, not_found, invalid; /* entries by outcome */
};

/* Append {"<key>": input, "status": status} to the results array. */
static void append_status(struct api_buf *b, const char *key, json_t *input, const char *status)
{
	json_t *o = json_pack("{s:O, s:s}", key, input, "status", status);

	if (!o) {
		b->failed = true;
		return;
	}
	api_buf_json(b, o);
	json_decref(o);
}

#define API_ECHO_MAX 256 /* longest invalid input echoed whole in a batch answer */
#define API_ECHO_CUT 64  /* what is echoed of a longer one, in bytes */

/* A new reference to what a batch answer echoes of an invalid string input
 * longer than API_ECHO_MAX bytes: its first API_ECHO_CUT bytes (cut at a
 * character boundary) and "…", so a 3 MB junk id does not come back whole;
 * NULL to echo the input as it is. */
static json_t *echo_of(const json_t *in)
{
	const char *v = json_string_value(in);
	size_t k = API_ECHO_CUT;
	char buf[API_ECHO_CUT + 4];

	if (!v || json_string_length(in) <= API_ECHO_MAX)
		return NULL;
	while (k > 0 && ((unsigned char)v[k] & 0xC0) == 0x80)
		k--; /* v is valid UTF-8 (it came from JSON): back to a character's start */
	memcpy(buf, v, k);
	memcpy(buf + k, "\xe2\x80\xa6", 3);
	return json_stringn(buf, k + 3);
}

/* One input of the batch: appends its record or a status entry. */
static void lookup_one(struct bw_store_read *rd, json_t *in, bool by_name, struct api_buf *b,
		       struct batch_tally *t)
{
	const char *key = by_name ? "screen_name" : "id";
	char idbuf[32];
	const char *v = NULL, *rec;
	size_t len;
	int err = 0;

	if (json_is_string(in)) {
		v = json_string_value(in);
		if (strlen(v) != json_string_length(in))
			v = NULL; /* embedded NUL */
	} else if (!by_name && json_is_integer(in) && json_integer_value(in) >= 0) {
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(in));
		v = idbuf;
	}
	if (v && by_name && v[0] == '@')
		v++;
	if (!v || !(by_name ? api_valid_name(v) : api_valid_id(v))) {
		json_t *echo = echo_of(in);
		t->invalid++;
		append_status(b, key, echo ? echo : in, by_name ? "invalid_screen_name" : "invalid_id");
		json_decref(echo);
		return;
	}
	rec = by_name ? store_read_get_by_name(rd, v, &len, &err) : store_read_get(rd, v, &len, &err);
	if (rec) {
		t->found++;
		api_buf_append(b, rec, len);
		return;
	}
	t->not_found += err == BW_ENOENT;
	t->invalid += err != BW_ENOENT;
	append_status(b, key, in, err == BW_ENOENT ? "not_found" : "error");
}

/* Validate the body: an object with optional "ids" / "screen_names" arrays. */
static int parse_lookup_body(struct api_server *srv, const struct api_request *req,
			     json_t **out, struct api_response *resp)
{
	json_error_t jerr;
	json_t *doc, *ids, *names;
	const char *k;
	json_t *v;

	*out = NULL;
	if (!req->body || req->body_len == 0)
		return api_error(resp, 400, "empty body: expected {\"ids\": [...], \"screen_names\": [...]}");
	if (!(doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)))
		return api_error(resp, 400, "invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	ids = json_object_get(doc, "ids");
	names = json_object_get(doc, "screen_names");
	if (!json_is_object(doc) || (ids && !json_is_array(ids)) || (names && !json_is_array(names)) ||
	    (!ids && !names)) {
		json_decref(doc);
		return api_error(resp, 400, "expected {\"ids\": [...], \"screen_names\": [...]}");
	}
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "ids") != 0 && strcmp(k, "screen_names") != 0) {
			int rc = api_error(resp, 400, "unknown field '%.64s'", k);
			json_decref(doc);
			return rc;
		}
	}
	size_t n = json_array_size(ids) + json_array_size(names);
	if (n > srv->opts.max_batch) {
		json_decref(doc);
		return api_error(resp, 400, "%zu inputs exceed api.max_batch (%zu)", n,
				 srv->opts.max_batch);
	}
	*out = doc;
	return 0;
}

int api_route_lookup(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp)
{
	struct api_buf b = { 0 };
	struct batch_tally t = { 0 };
	struct bw_store_read *rd;
	json_t *doc, *v;
	size_t i;
	int err = 0, rc = parse_lookup_body(srv, req, &doc, resp);

	if (!doc)
		return rc;
	if (!(rd = store_read_begin(srv->store, &err))) {
		json_decref(doc);
		return api_error(resp, 500, "store: %s", bw_strerror(err));
	}
	api_buf_puts(&b, "{\"results\":[");
	json_array_foreach(json_object_get(doc, "ids"), i, v) {
		if (b.len > 12)
			api_buf_puts(&b, ",");
		lookup_one(rd, v, false, &b, &t);
	}
	json_array_foreach(json_object_get(doc, "screen_names"), i, v) {
		if (b.len > 12)
			api_buf_puts(&b, ",");
		lookup_one(rd, v, true, &b, &t);
	}
	store_read_end(rd);
	json_decref(doc);
	api_buf_puts(&b, "]}");
	bw_counter_add(srv->m_lookups, (const char *[]){ "found" }, t.found);
	bw_counter_add(srv->m_lookups, (const char *[]){ "not_found" }, t.not_found);
	bw_counter_add(srv->m_lookups, (const char *[]){ "invalid" }, t.invalid);
	return api_buf_response(resp, 200, &b);
}
