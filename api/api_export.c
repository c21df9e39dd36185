/*
 * api_export.c — GET /v1/accounts: stream every scored account as NDJSON or
 * CSV, filtered by min_score / status, paged by limit and cursor (the id of
 * the last account received; ids are in store order, see store.h).
 *
 * The stream never holds a read snapshot between reads: each refill scans a
 * bounded slice from the cursor in a fresh snapshot, so a slow client pins
 * no LMDB pages and a writer is never held back.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_log.h"
#include "clf.h"
#include "store.h"

#define REFILL_BYTES (32 * 1024) /* pause a scan once this much output is pending */
#define REFILL_VISIT 8192        /* or once this many records were visited */
#define SCAN_PAUSE 1             /* store_scan stop value: more may follow */

enum export_fmt { FMT_NDJSON, FMT_CSV };

struct api_stream {
	struct bw_store *store;          /* borrowed */
	enum export_fmt fmt;             /* output format */
	bool has_min;                    /* min_score filter given */
	double min_score;                /* keep score >= this (null scores excluded) */
	char status[40];                 /* status filter, "" = any */
	uint64_t remaining;              /* records still to emit (limit) */
	bool has_cursor;                 /* cursor holds the last id visited */
	char cursor[BW_STORE_MAX_KEY + 1]; /* resume after this id */
	bool done;                       /* the scan reached the end or the limit */
	bool failed;                     /* a store or record error ended the stream */
	size_t visited;                  /* records visited in the current refill */
	struct api_buf out;              /* pending output */
	size_t pos;                      /* bytes of `out` already read */
	json_t *types;                   /* CSV: the bot types, one raw_scores.<type> column
					    each (array of strings, owned) */
};

/* CSV columns: record fields, "a.b" for a field of an object field; then
 * in_support, one true/false column per kind of evidence, and one
 * raw_scores.<type> column per bot type (csv_header). */
static const char *const csv_columns[] = {
	"user_id", "screen_name", "status", "score", "english", "universal", "cap.english",
	"cap.universal", "categories.user", "categories.friend", "categories.network",
	"categories.temporal", "categories.content", "categories.sentiment", "model_version",
	"feature_schema", "scored_at", "posts_seen", "in_support",
};
#define N_CSV (sizeof(csv_columns) / sizeof(csv_columns[0]))

/* The record's evidence kinds (docs/SCORES.md), one evidence.<kind> column each. */
static const char *const csv_evidence[] = { "profile_text", "profile_counts", "posts" };
#define N_EVIDENCE (sizeof(csv_evidence) / sizeof(csv_evidence[0]))

/* One CSV cell: RFC 4180 quoting for text, shortest round-trip numbers. */
static void csv_cell(struct api_buf *b, const json_t *v)
{
	char num[40];
	const char *s;

	if (!v || json_is_null(v))
		return;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		api_buf_puts(b, num);
	} else if (json_is_real(v)) {
		api_fmt_double(num, sizeof(num), json_real_value(v));
		api_buf_puts(b, num);
	} else if (json_is_boolean(v)) {
		api_buf_puts(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_string(v) && !strpbrk(s = json_string_value(v), ",\"\r\n")) {
		api_buf_append(b, s, json_string_length(v));
	} else {
		char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		const char *p = text ? text : json_string_value(v);
		api_buf_puts(b, "\"");
		for (; p && *p; p++) {
			if (*p == '"')
				api_buf_puts(b, "\"\"");
			else
				api_buf_append(b, p, 1);
		}
		api_buf_puts(b, "\"");
		free(text);
	}
}

/* Whether the record's evidence array names `kind`. */
static bool has_evidence(const json_t *rec, const char *kind)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(rec, "evidence"), i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), kind) == 0)
			return true;
	return false;
}

static void csv_row(struct api_buf *b, const json_t *rec, const json_t *types)
{
	const json_t *raw = json_object_get(rec, "raw_scores"), *t;
	bool ev = json_is_array(json_object_get(rec, "evidence"));
	char outer[32];
	size_t k;

	for (size_t i = 0; i < N_CSV; i++) {
		const char *col = csv_columns[i], *dot = strchr(col, '.');
		if (i)
			api_buf_puts(b, ",");
		if (dot) {
			snprintf(outer, sizeof(outer), "%.*s", (int)(dot - col), col);
			csv_cell(b, json_object_get(json_object_get(rec, outer), dot + 1));
		} else {
			csv_cell(b, json_object_get(rec, col));
		}
	}
	for (k = 0; k < N_EVIDENCE; k++)
		api_buf_puts(b, !ev ? "," : has_evidence(rec, csv_evidence[k]) ? ",true" : ",false");
	json_array_foreach(types, k, t) {
		api_buf_puts(b, ",");
		csv_cell(b, json_object_get(raw, json_string_value(t)));
	}
	api_buf_puts(b, "\n");
}

/* store_scan callback: the raw_scores keys of the first record into *opaque. */
static int first_types(const char *user_id, const char *record, size_t len, void *opaque)
{
	json_t *rec = json_loadb(record, len, 0, NULL), *types = opaque;
	const char *key;
	json_t *v;

	(void)user_id;
	json_object_foreach(json_object_get(rec, "raw_scores"), key, v)
		json_array_append_new(types, json_string(key));
	json_decref(rec);
	return SCAN_PAUSE;
}

/* The CSV's bot types: the loaded model's (the records it scores), else those
 * of the store's first record; NULL when out of memory. */
static json_t *csv_types(const struct api_server *srv)
{
	json_t *types = json_array();

	if (!types)
		return NULL;
	if (srv->model) {
		for (size_t t = 0; t < clf_model_n_types(srv->model->mdl); t++)
			json_array_append_new(types, json_string(clf_model_type_name(srv->model->mdl, t)));
	} else if (store_scan(srv->store, NULL, first_types, types) < 0) {
		json_array_clear(types);
	}
	return types;
}

/* The header row. */
static void csv_header(struct api_buf *b, const json_t *types)
{
	const json_t *t;
	size_t i;

	for (i = 0; i < N_CSV; i++) {
		if (i)
			api_buf_puts(b, ",");
		api_buf_puts(b, csv_columns[i]);
	}
	for (i = 0; i < N_EVIDENCE; i++) {
		api_buf_puts(b, ",evidence.");
		api_buf_puts(b, csv_evidence[i]);
	}
	json_array_foreach(types, i, t) {
		api_buf_puts(b, ",raw_scores.");
		csv_cell(b, t);
	}
	api_buf_puts(b, "\n");
}

static bool keep(const struct api_stream *s, const json_t *rec)
{
	const json_t *score = json_object_get(rec, "score");

	const char *status = json_string_value(json_object_get(rec, "status"));

	if (s->status[0] && (!status || strcmp(status, s->status) != 0))
		return false;
	if (s->has_min && (!json_is_number(score) || json_number_value(score) < s->min_score))
		return false;
	return true;
}

static int export_cb(const char *user_id, const char *record, size_t len, void *opaque)
{
	struct api_stream *s = opaque;
	json_t *rec = NULL;
	json_error_t jerr;

	if (s->remaining == 0)
		return SCAN_PAUSE; /* `done` is set by the caller */
	snprintf(s->cursor, sizeof(s->cursor), "%s", user_id);
	s->has_cursor = true;
	if (s->fmt == FMT_CSV || s->has_min || s->status[0]) {
		if (!(rec = json_loadb(record, len, 0, &jerr))) {
			BW_WARN("export: stored record of %s is not JSON: %s", user_id, jerr.text);
			return BW_EPARSE;
		}
		if (!keep(s, rec))
			goto out_next;
	}
	if (s->fmt == FMT_CSV)
		csv_row(&s->out, rec, s->types);
	else if (api_buf_append(&s->out, record, len))
		api_buf_puts(&s->out, "\n");
	s->remaining--;
out_next:
	json_decref(rec);
	if (s->out.failed)
		return BW_ENOMEM;
	return (++s->visited >= REFILL_VISIT || s->out.len >= REFILL_BYTES) ? SCAN_PAUSE : 0;
}

/* Scan the next slice into s->out. */
static void refill(struct api_stream *s)
{
	int rc;

	s->out.len = 0;
	s->pos = 0;
	s->visited = 0;
	rc = store_scan(s->store, s->has_cursor ? s->cursor : NULL, export_cb, s);
	if (rc < 0) {
		s->failed = true;
		BW_WARN("export stopped after id %s: %s", s->has_cursor ? s->cursor : "(start)",
			bw_strerror(rc));
	} else if (rc == 0 || s->remaining == 0) {
		s->done = true;
	}
}

ssize_t api_stream_read(struct api_stream *s, char *buf, size_t max)
{
	while (s->pos >= s->out.len) {
		if (s->failed)
			return -1;
		if (s->done)
			return 0;
		refill(s);
	}
	size_t n = s->out.len - s->pos < max ? s->out.len - s->pos : max;
	memcpy(buf, s->out.data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

void api_stream_free(struct api_stream *s)
{
	if (!s)
		return;
	free(s->out.data);
	json_decref(s->types);
	free(s);
}

/* Parse the query into `s`; 0 or an error already written to resp (returns 1). */
static int parse_params(const struct api_request *req, struct api_stream *s,
			struct api_response *resp)
{
	static const char *const known[] = { "min_score", "status", "format", "limit", "cursor" };
	const char *v;
	char *end;

	if (api_check_args(req, known, sizeof(known) / sizeof(known[0]), resp))
		return 1;
	if ((v = api_arg(req, "format")) && strcmp(v, "ndjson") != 0) {
		if (strcmp(v, "csv") != 0)
			return api_error(resp, 400, "format must be ndjson or csv"), 1;
		s->fmt = FMT_CSV;
	}
	if ((v = api_arg(req, "min_score"))) {
		errno = 0;
		s->min_score = strtod(v, &end);
		if (errno || end == v || *end || !(s->min_score >= 0 && s->min_score <= 1))
			return api_error(resp, 400, "min_score must be a number in [0, 1]"), 1;
		s->has_min = true;
	}
	if ((v = api_arg(req, "status"))) {
		size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz_");
		if (n == 0 || v[n] || n >= sizeof(s->status))
			return api_error(resp, 400, "status must be a status name such as ok"), 1;
		memcpy(s->status, v, n + 1);
	}
	s->remaining = UINT64_MAX;
	if ((v = api_arg(req, "limit"))) {
		errno = 0;
		long long l = strtoll(v, &end, 10);
		if (errno || end == v || *end || l < 1 || l > 1000000000000LL)
			return api_error(resp, 400, "limit must be an integer in [1, 10^12]"), 1;
		s->remaining = (uint64_t)l;
	}
	if ((v = api_arg(req, "cursor"))) {
		if (!api_valid_id(v))
			return api_error(resp, 400, "cursor must be an account id"), 1;
		snprintf(s->cursor, sizeof(s->cursor), "%s", v);
		s->has_cursor = true;
	}
	return 0;
}

int api_route_export(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp)
{
	struct api_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return api_error(resp, 500, "out of memory");
	s->store = srv->store;
	if (parse_params(req, s, resp)) {
		api_stream_free(s);
		return 0;
	}
	if (s->fmt == FMT_CSV) {
		if ((s->types = csv_types(srv)))
			csv_header(&s->out, s->types);
		if (!s->types || s->out.failed) {
			api_stream_free(s);
			return api_error(resp, 500, "out of memory");
		}
	}
	resp->status = 200;
	resp->content_type = s->fmt == FMT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson";
	resp->stream = s;
	return 0;
}
