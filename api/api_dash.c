/*
 * api_dash.c — the dashboard: GET / serves one self-contained page (HTML, CSS
 * and JavaScript with no external asset; its source is api/dashboard.html,
 * turned into the C string api_dash_page at build time by the Makefile), and
 * GET /v1/summary gives it the score histogram by status and the
 * highest-scored accounts.
 *
 * /v1/summary scans every record (O(accounts): the fields are found in the
 * record text, whose key order is fixed by clf_score_to_json(), without a
 * JSON parse); only the top accounts are parsed. A scan is reused for
 * SUMMARY_TTL_MS, so a dashboard left open by many researchers (or a flood
 * of requests) costs one scan of a large store per interval, not one each.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "api_int.h"
#include "bw_time.h"
#include "bw_err.h"
#include "store.h"

extern const char api_dash_page[]; /* generated from api/dashboard.html */

#define BINS 20     /* histogram bins over [0, 1] */
#define TOP_MAX 100 /* most accounts in "top" */
#define SUMMARY_TTL_MS 2000 /* how long one scan answers for */

static const char *const statuses[] = { "ok", "profile_only", "posts_only",
					"insufficient_data" };
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))

/* An account among the highest scored. */
struct top {
	double score;                        /* its score */
	char id[BW_STORE_MAX_KEY + 1];       /* its id */
};

struct summary {
	uint64_t total;                      /* records */
	uint64_t by_status[N_STATUS + 1];    /* per status (last: any other) */
	uint64_t hist[N_STATUS][BINS];       /* score histogram per status */
	struct top top[TOP_MAX];             /* highest scores, descending */
	size_t n_top, want_top;              /* held, wanted */
};

/* The number after `"name":` in rec, or NAN (absent or null). */
static double num_field(const char *rec, const char *name)
{
	const char *p = strstr(rec, name);
	char *end;
	double v;

	if (!p)
		return NAN;
	p += strlen(name);
	errno = 0;
	v = strtod(p, &end);
	return end == p || errno ? NAN : v;
}

static size_t status_of(const char *rec)
{
	const char *p = strstr(rec, "\"status\":\"");

	if (p) {
		p += 10;
		for (size_t i = 0; i < N_STATUS; i++) {
			size_t n = strlen(statuses[i]);
			if (strncmp(p, statuses[i], n) == 0 && p[n] == '"')
				return i;
		}
	}
	return N_STATUS;
}

static void top_insert(struct summary *s, const char *id, double score)
{
	size_t k;

	if (s->n_top == s->want_top && (!s->n_top || score <= s->top[s->n_top - 1].score))
		return;
	k = s->n_top < s->want_top ? s->n_top++ : s->n_top - 1;
	while (k > 0 && s->top[k - 1].score < score) {
		s->top[k] = s->top[k - 1];
		k--;
	}
	s->top[k].score = score;
	snprintf(s->top[k].id, sizeof(s->top[k].id), "%s", id);
}

static int on_record(const char *id, const char *rec, size_t len, void *opaque)
{
	struct summary *s = opaque;
	size_t st = status_of(rec);
	double score = num_field(rec, "\"score\":");
	int bin;

	(void)len;
	s->total++;
	s->by_status[st]++;
	if (isnan(score) || st == N_STATUS)
		return 0;
	bin = (int)(score * BINS);
	bin = bin < 0 ? 0 : bin >= BINS ? BINS - 1 : bin;
	s->hist[st][bin]++;
	if (s->want_top)
		top_insert(s, id, score);
	return 0;
}

/* The top accounts as [{user_id, screen_name, status, score, cap}]. */
static json_t *top_json(struct api_server *srv, const struct summary *s)
{
	json_t *arr = json_array();
	int err = 0;
	struct bw_store_read *rd = store_read_begin(srv->store, &err);

	for (size_t i = 0; rd && arr && i < s->n_top; i++) {
		const char *rec = store_read_get(rd, s->top[i].id, NULL, &err);
		json_t *j = rec ? json_loads(rec, 0, NULL) : NULL;
		if (!j)
			continue;
		json_array_append_new(arr, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "user_id",
						     json_object_get(j, "user_id"), "screen_name",
						     json_object_get(j, "screen_name"), "status",
						     json_object_get(j, "status"), "score",
						     json_object_get(j, "score"), "cap",
						     json_object_get(j, "cap")));
		json_decref(j);
	}
	store_read_end(rd);
	return arr;
}

/* The last scan, by store (one per process in practice; a store that is not
 * the cached one is scanned and replaces it). */
static struct {
	pthread_mutex_t lock;
	const struct bw_store *store; /* whose scan `s` is, or NULL */
	int64_t at;                   /* monotonic ms of the scan */
	struct summary s;             /* with the TOP_MAX highest */
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* s->want_top is kept; the rest comes from a scan at most SUMMARY_TTL_MS old. */
static int summary_scan(struct bw_store *store, struct summary *s)
{
	size_t want = s->want_top;
	int rc = 0;

	pthread_mutex_lock(&cache.lock);
	if (cache.store != store || bw_time_mono_ms() - cache.at >= SUMMARY_TTL_MS) {
		memset(&cache.s, 0, sizeof(cache.s));
		cache.s.want_top = TOP_MAX;
		cache.store = NULL;
		if ((rc = store_scan(store, NULL, on_record, &cache.s)) == 0) {
			cache.store = store;
			cache.at = bw_time_mono_ms();
		}
	}
	if (rc == 0) {
		*s = cache.s;
		s->want_top = want;
		if (s->n_top > want)
			s->n_top = want;
	}
	pthread_mutex_unlock(&cache.lock);
	return rc;
}

int api_route_summary(struct api_server *srv, const struct api_request *req,
		      struct api_response *resp)
{
	static const char *const known[] = { "top" };
	const char *top = api_arg(req, "top");
	struct summary *s;
	json_t *out, *by, *hist;
	char *end;
	int rc;

	if (api_check_args(req, known, 1, resp))
		return 0;
	if (!(s = calloc(1, sizeof(*s))))
		return api_error(resp, 503, "out of memory");
	s->want_top = 10;
	if (top) {
		errno = 0;
		long n = strtol(top, &end, 10);
		if (end == top || *end || errno || n < 0 || n > TOP_MAX) {
			free(s);
			return api_error(resp, 400, "top: '%.40s' is not a number in [0, %d]", top,
					 TOP_MAX);
		}
		s->want_top = (size_t)n;
	}
	if ((rc = summary_scan(srv->store, s))) {
		free(s);
		return api_error(resp, 500, "store scan failed: %s", bw_strerror(rc));
	}
	by = json_object();
	hist = json_object();
	for (size_t i = 0; i < N_STATUS; i++) {
		json_t *h = json_array();
		json_object_set_new(by, statuses[i], json_integer((json_int_t)s->by_status[i]));
		for (int b = 0; b < BINS; b++)
			json_array_append_new(h, json_integer((json_int_t)s->hist[i][b]));
		json_object_set_new(hist, statuses[i], h);
	}
	out = json_pack("{s:I, s:o, s:{s:i, s:o}, s:o}", "accounts", (json_int_t)s->total,
			"by_status", by, "histogram", "bins", BINS, "counts", hist, "top",
			top_json(srv, s));
	free(s);
	if (!out)
		return api_error(resp, 503, "out of memory");
	return api_json_response(resp, 200, out);
}

int api_route_dash(struct api_server *srv, const struct api_request *req,
		   struct api_response *resp)
{
	(void)srv;
	(void)req; /* ?q=ID is read by the page itself */
	if (!(resp->body = strdup(api_dash_page)))
		return api_error(resp, 503, "out of memory");
	resp->len = strlen(resp->body);
	resp->status = 200;
	resp->content_type = "text/html; charset=utf-8";
	return 0;
}
