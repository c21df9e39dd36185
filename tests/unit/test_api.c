/*
 * test_api.c — the lookup API over loopback with libcurl: every route, every
 * error status, keep-alive, the token, the body cap, the connection limit and
 * the idle timeout. The store is written here with records in the score
 * record shape (docs/SCORES.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bw_err.h"
#include "store.h"

#define N_ACCOUNTS 50

struct world {
	char dir[64];             /* temp store directory */
	struct bw_store *st;      /* the store (writable) */
	struct api_server *open;  /* server without a token */
	struct api_server *auth;  /* server requiring "s3cret" */
	CURL *curl;               /* one handle: connections are reused */
};

static struct world W;

/* The record of account i: ids 1000+i, names Name<i>, score i/N. */
static char *record(int i, const char *name)
{
	json_t *o = json_pack(
		"{s:s+, s:s, s:s, s:f, s:f, s:f, s:{s:f, s:f}, s:{s:f, s:f, s:f, s:f, s:n, s:n},"
		" s:{s:f}, s:s, s:s, s:s, s:i}",
		"user_id", "", "", "screen_name", name, "status", i % 5 == 4 ? "profile_only" : "ok",
		"score", (double)i / N_ACCOUNTS, "english", (double)i / N_ACCOUNTS, "universal", 0.5,
		"cap", "english", 0.25, "universal", 0.5, "categories", "user", 0.1, "friend", 0.2,
		"network", 0.3, "temporal", 0.4, "content", "sentiment", "raw_scores", "spammer", 0.6,
		"model_version", "sha256:ab", "feature_schema", "f1", "scored_at",
		"2026-01-01T00:00:00Z", "posts_seen", i);
	char id[16];
	snprintf(id, sizeof(id), "%d", 1000 + i);
	json_object_set_new(o, "user_id", json_string(id));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void fill_store(void)
{
	char err[256], id[16], name[32];
	struct bw_store_txn *t = store_txn_begin(W.st, err, sizeof(err));

	for (int i = 0; i < N_ACCOUNTS; i++) {
		snprintf(id, sizeof(id), "%d", 1000 + i);
		snprintf(name, sizeof(name), "Name%d", i);
		char *r = record(i, name);
		assert_int_equal(store_txn_put(t, id, name, r, strlen(r), NULL, 0, err, sizeof(err)), 0);
		free(r);
	}
	/* account 1001 was renamed: the latest name wins */
	char *r = record(1, "Renamed_One");
	assert_int_equal(store_txn_put(t, "1001", "Renamed_One", r, strlen(r), NULL, 0, err,
				       sizeof(err)), 0);
	free(r);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	struct api_opts o = { .listen = "127.0.0.1:0", .threads = 2, .max_body = 4096,
			      .conn_limit = 8, .timeout_s = 1, .request_timeout_s = 2,
			      .max_batch = 5 };

	snprintf(W.dir, sizeof(W.dir), "/tmp/bw_api_test_XXXXXX");
	assert_non_null(mkdtemp(W.dir));
	assert_non_null(W.st = store_open(W.dir, true, 64, err, sizeof(err)));
	fill_store();
	assert_non_null(W.open = api_server_new(W.st, &o, err, sizeof(err)));
	assert_int_equal(api_server_start(W.open, err, sizeof(err)), 0);
	o.token = "s3cret";
	o.conn_limit = 2;
	o.threads = 1; /* libmicrohttpd splits the limit between pool workers */
	assert_non_null(W.auth = api_server_new(W.st, &o, err, sizeof(err)));
	assert_int_equal(api_server_start(W.auth, err, sizeof(err)), 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	W.curl = curl_easy_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[128];
	curl_easy_cleanup(W.curl);
	curl_global_cleanup();
	api_server_free(W.open);
	api_server_free(W.auth);
	store_close(W.st);
	snprintf(path, sizeof(path), "%s/data.mdb", W.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", W.dir);
	unlink(path);
	rmdir(W.dir);
	return 0;
}

/* One response as seen by the client. */
struct reply {
	long status;         /* HTTP status */
	char *body;          /* malloc'd, NUL-terminated */
	size_t len;          /* body length */
	char ctype[128];     /* Content-Type */
	char allow[64];      /* Allow header */
	char www_auth[64];   /* WWW-Authenticate header */
	long connects;       /* CURLINFO_NUM_CONNECTS */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	char *b = realloc(r->body, r->len + sz * n + 1);
	assert_non_null(b);
	memcpy(b + r->len, p, sz * n);
	r->body = b;
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);
	if (n > k && strncasecmp(line, name, k) == 0) {
		const char *v = line + k;
		size_t m = n - k;
		while (m && (v[m - 1] == '\r' || v[m - 1] == '\n'))
			m--;
		snprintf(out, outlen, "%.*s", (int)m, v);
	}
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	header_value(p, sz * n, "Allow: ", r->allow, sizeof(r->allow));
	header_value(p, sz * n, "WWW-Authenticate: ", r->www_auth, sizeof(r->www_auth));
	return sz * n;
}

/* Perform a request on the shared handle; `hdr` is one extra header or NULL. */
static struct reply http(struct api_server *srv, const char *method, const char *path,
			 const char *body, const char *hdr)
{
	struct reply r = { 0 };
	char url[512];
	struct curl_slist *h = NULL;
	char *ct = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", api_server_port(srv), path);
	curl_easy_reset(W.curl);
	curl_easy_setopt(W.curl, CURLOPT_URL, url);
	curl_easy_setopt(W.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(W.curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(W.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(W.curl, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(W.curl, CURLOPT_TIMEOUT, 10L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(W.curl, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(W.curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(W.curl, CURLOPT_POSTFIELDS, body);
		if (!hdr || strncasecmp(hdr, "Content-Type:", 13) != 0)
			h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (hdr)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(W.curl, CURLOPT_HTTPHEADER, h);
	assert_int_equal(curl_easy_perform(W.curl), CURLE_OK);
	curl_easy_getinfo(W.curl, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(W.curl, CURLINFO_NUM_CONNECTS, &r.connects);
	curl_easy_getinfo(W.curl, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r.ctype, sizeof(r.ctype), "%s", ct ? ct : "");
	curl_slist_free_all(h);
	if (!r.body)
		r.body = calloc(1, 1);
	return r;
}

static json_t *parse(const struct reply *r)
{
	json_error_t e;
	json_t *j = json_loads(r->body, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, r->body);
	return j;
}

/* Assert a JSON error reply {"status":"error","error":"...<needle>..."}. */
static void assert_error(struct reply r, long status, const char *needle)
{
	assert_int_equal(r.status, status);
	assert_string_equal(r.ctype, "application/json");
	json_t *j = parse(&r);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
	const char *msg = json_string_value(json_object_get(j, "error"));
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("error '%s' lacks '%s'", msg, needle);
	json_decref(j);
	free(r.body);
}

static void test_account_by_id(void **state)
{
	(void)state;
	struct reply r = http(W.open, "GET", "/v1/accounts/1007", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	char *want = record(7, "Name7");
	assert_string_equal(r.body, want); /* the stored record, byte for byte */
	free(want);
	free(r.body);

	r = http(W.open, "GET", "/v1/accounts/999999", NULL, NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"id\":\"999999\",\"status\":\"not_found\"}");
	free(r.body);

	assert_error(http(W.open, "GET", "/v1/accounts/12ab", NULL, NULL), 400, "invalid account id");
	assert_error(http(W.open, "GET", "/v1/accounts/0012", NULL, NULL), 400, "invalid account id");
	assert_error(http(W.open, "GET", "/v1/accounts/123456789012345678901", NULL, NULL), 400,
		     "invalid account id");
	assert_error(http(W.open, "GET", "/v1/accounts/1/2/3", NULL, NULL), 404, "no such route");
	assert_error(http(W.open, "GET", "/nope", NULL, NULL), 404, "no such route");
}

static void test_account_by_name(void **state)
{
	(void)state;
	struct reply r = http(W.open, "GET", "/v1/accounts/by-name/nAmE3", NULL, NULL);
	assert_int_equal(r.status, 200);
	json_t *j = parse(&r);
	assert_string_equal(json_string_value(json_object_get(j, "user_id")), "1003");
	json_decref(j);
	free(r.body);

	r = http(W.open, "GET", "/v1/accounts/by-name/@renamed_one", NULL, NULL);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	assert_string_equal(json_string_value(json_object_get(j, "user_id")), "1001");
	json_decref(j);
	free(r.body);

	/* the name before the rename no longer resolves */
	r = http(W.open, "GET", "/v1/accounts/by-name/Name1", NULL, NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"screen_name\":\"Name1\",\"status\":\"not_found\"}");
	free(r.body);
	assert_error(http(W.open, "GET", "/v1/accounts/by-name/bad%20name", NULL, NULL), 400,
		     "invalid screen name");
}

static void test_batch_lookup(void **state)
{
	(void)state;
	struct reply r = http(W.open, "POST", "/v1/accounts:lookup",
			      "{\"ids\":[\"1002\", 1003, \"77\", \"x1\"],\"screen_names\":[\"NAME4\"]}",
			      NULL);
	assert_int_equal(r.status, 200);
	json_t *j = parse(&r), *res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "user_id")), "1002");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "user_id")), "1003");
	json_t *nf = json_array_get(res, 2);
	assert_string_equal(json_string_value(json_object_get(nf, "id")), "77");
	assert_string_equal(json_string_value(json_object_get(nf, "status")), "not_found");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 3), "status")),
			    "invalid_id");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 4), "user_id")), "1004");
	json_decref(j);
	free(r.body);

	/* a long junk input is echoed cut (at a character boundary), not whole */
	char *body = malloc(4200), *p = body;
	p += sprintf(p, "{\"ids\":[\"");
	for (int i = 0; i < 1300; i++)
		p += sprintf(p, "\xc3\xa9"); /* é: two bytes each */
	sprintf(p, "\"]}");
	r = http(W.open, "POST", "/v1/accounts:lookup", body, NULL);
	free(body);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	const char *echo = json_string_value(
		json_object_get(json_array_get(json_object_get(j, "results"), 0), "id"));
	assert_non_null(echo);
	assert_int_equal(strlen(echo), 64 + 3); /* 32 é, then … */
	assert_string_equal(echo + 64, "\xe2\x80\xa6");
	json_decref(j);
	free(r.body);

	assert_error(http(W.open, "POST", "/v1/accounts:lookup", "{\"ids\":[1,2,3,4,5,6]}", NULL),
		     400, "exceed api.max_batch (5)");
	assert_error(http(W.open, "POST", "/v1/accounts:lookup", "{\"ids\":[1,", NULL), 400,
		     "invalid JSON");
	assert_error(http(W.open, "POST", "/v1/accounts:lookup", "{\"idz\":[1]}", NULL), 400,
		     "expected {\"ids\"");
	assert_error(http(W.open, "POST", "/v1/accounts:lookup", "{\"ids\":[1],\"x\":1}", NULL), 400,
		     "unknown field 'x'");
	assert_error(http(W.open, "POST", "/v1/accounts:lookup", "", NULL), 400, "empty body");
	assert_error(http(W.open, "GET", "/v1/accounts:lookup", NULL, NULL), 405, "not allowed");
}

/* Count lines of an NDJSON body and collect ids into `ids` (may be NULL). */
static int ndjson_ids(const char *body, char ids[][16])
{
	int n = 0;
	for (const char *p = body; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		assert_non_null(j);
		if (ids)
			snprintf(ids[n], 16, "%s", json_string_value(json_object_get(j, "user_id")));
		json_decref(j);
		n++;
		p = nl + 1;
	}
	return n;
}

static void test_export(void **state)
{
	(void)state;
	char ids[N_ACCOUNTS][16], path[128], cursor[16] = "";
	struct reply r = http(W.open, "GET", "/v1/accounts", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/x-ndjson");
	assert_int_equal(ndjson_ids(r.body, ids), N_ACCOUNTS);
	assert_string_equal(ids[0], "1000");
	assert_string_equal(ids[N_ACCOUNTS - 1], "1049");
	free(r.body);

	/* pages of 7 via the cursor visit every account exactly once, in order */
	int seen = 0, pages = 0;
	for (;;) {
		snprintf(path, sizeof(path), "/v1/accounts?limit=7%s%s", cursor[0] ? "&cursor=" : "",
			 cursor);
		r = http(W.open, "GET", path, NULL, NULL);
		assert_int_equal(r.status, 200);
		char page[7][16];
		int n = ndjson_ids(r.body, page);
		free(r.body);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++)
			assert_string_equal(page[i], ids[seen + i]);
		seen += n;
		pages++;
		snprintf(cursor, sizeof(cursor), "%s", page[n - 1]);
	}
	assert_int_equal(seen, N_ACCOUNTS);
	assert_int_equal(pages, 8);

	/* filters: score >= 0.9 is i >= 45; profile_only is i % 5 == 4 */
	r = http(W.open, "GET", "/v1/accounts?min_score=0.9", NULL, NULL);
	assert_int_equal(ndjson_ids(r.body, NULL), 5);
	free(r.body);
	r = http(W.open, "GET", "/v1/accounts?status=profile_only&min_score=0.5", NULL, NULL);
	assert_int_equal(ndjson_ids(r.body, ids), 5);
	assert_string_equal(ids[0], "1029");
	free(r.body);

	r = http(W.open, "GET", "/v1/accounts?format=csv&limit=2&cursor=1009", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/csv; charset=utf-8");
	assert_string_equal(r.body,
		"user_id,screen_name,status,score,english,universal,cap.english,cap.universal,"
		"categories.user,categories.friend,categories.network,categories.temporal,"
		"categories.content,categories.sentiment,model_version,feature_schema,scored_at,posts_seen,"
		"in_support,evidence.profile_text,evidence.profile_counts,evidence.posts,"
		"raw_scores.spammer\n" /* no model loaded: the first record's bot types */
		"1010,Name10,ok,0.2,0.2,0.5,0.25,0.5,0.1,0.2,0.3,0.4,,,sha256:ab,f1,2026-01-01T00:00:00Z,10,"
		",,,,0.6\n" /* no in_support, no evidence array: empty cells */
		"1011,Name11,ok,0.22,0.22,0.5,0.25,0.5,0.1,0.2,0.3,0.4,,,sha256:ab,f1,2026-01-01T00:00:00Z,11,"
		",,,,0.6\n");
	free(r.body);

	assert_error(http(W.open, "GET", "/v1/accounts?min_score=2", NULL, NULL), 400, "min_score");
	assert_error(http(W.open, "GET", "/v1/accounts?min_score=abc", NULL, NULL), 400, "min_score");
	assert_error(http(W.open, "GET", "/v1/accounts?format=xml", NULL, NULL), 400, "format");
	assert_error(http(W.open, "GET", "/v1/accounts?limit=0", NULL, NULL), 400, "limit");
	assert_error(http(W.open, "GET", "/v1/accounts?cursor=x", NULL, NULL), 400, "cursor");
	assert_error(http(W.open, "GET", "/v1/accounts?status=OK!", NULL, NULL), 400, "status");
	assert_error(http(W.open, "GET", "/v1/accounts?minscore=1", NULL, NULL), 400,
		     "unknown parameter 'minscore'");
}

static void test_methods_and_head(void **state)
{
	(void)state;
	struct reply r = http(W.open, "DELETE", "/v1/accounts/1000", NULL, NULL);
	assert_string_equal(r.allow, "GET, HEAD");
	assert_error(r, 405, "method DELETE not allowed");
	r = http(W.open, "PUT", "/v1/accounts:lookup", "{}", NULL);
	assert_string_equal(r.allow, "POST");
	assert_error(r, 405, "not allowed");
	r = http(W.open, "HEAD", "/v1/accounts/1000", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	free(r.body);
}

static void test_body_cap(void **state)
{
	(void)state;
	size_t n = 10000;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"ids\":[1]}", 11);
	big[n] = '\0';
	assert_error(http(W.open, "POST", "/v1/accounts:lookup", big, NULL), 413,
		     "api.max_body_bytes");
	free(big);
}

static void test_token(void **state)
{
	(void)state;
	struct reply r = http(W.auth, "GET", "/v1/accounts/1000", NULL, NULL);
	assert_string_equal(r.www_auth, "Bearer realm=\"botwatch\"");
	assert_error(r, 401, "bearer token");
	assert_error(http(W.auth, "GET", "/v1/accounts/1000", NULL, "Authorization: Bearer s3cre"),
		     401, "bearer token");
	assert_error(http(W.auth, "GET", "/metrics", NULL, "Authorization: Basic czNjcmV0"), 401,
		     "bearer token");
	r = http(W.auth, "GET", "/v1/accounts/1000", NULL, "Authorization: Bearer s3cret");
	assert_int_equal(r.status, 200);
	free(r.body);
	r = http(W.auth, "GET", "/v1/accounts/1000", NULL, "X-RapidAPI-Key: s3cret");
	assert_int_equal(r.status, 200);
	free(r.body);
	/* the scheme is case-insensitive, one or more spaces follow it (issue 20) */
	r = http(W.auth, "GET", "/v1/accounts/1000", NULL, "Authorization: bearer s3cret");
	assert_int_equal(r.status, 200);
	free(r.body);
	r = http(W.auth, "GET", "/v1/accounts/1000", NULL, "Authorization: BEARER   s3cret");
	assert_int_equal(r.status, 200);
	free(r.body);
	assert_error(http(W.auth, "GET", "/v1/accounts/1000", NULL, "Authorization: Bearers3cret"),
		     401, "bearer token");
	r = http(W.auth, "GET", "/healthz", NULL, NULL); /* open for load balancers */
	assert_int_equal(r.status, 200);
	free(r.body);
}

static void test_keep_alive(void **state)
{
	(void)state;
	struct reply a = http(W.open, "GET", "/v1/accounts/1000", NULL, NULL);
	struct reply b = http(W.open, "GET", "/v1/accounts/1001", NULL, NULL);
	struct reply c = http(W.open, "POST", "/v1/accounts:lookup", "{\"ids\":[\"1\"]}", NULL);
	struct reply d = http(W.open, "GET", "/v1/accounts/999", NULL, NULL); /* 404 keeps it too */
	struct reply e = http(W.open, "GET", "/v1/accounts/1002", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_int_equal(b.connects, 0);
	assert_int_equal(c.connects, 0);
	assert_int_equal(d.status, 404);
	assert_int_equal(e.connects, 0);
	free(a.body), free(b.body), free(c.body), free(d.body), free(e.body);
}

static void test_healthz_and_metrics(void **state)
{
	(void)state;
	struct reply r = http(W.open, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\",\"accounts\":50}");
	free(r.body);
	r = http(W.open, "GET", "/v1/accounts/1000", NULL, NULL);
	free(r.body);
	r = http(W.open, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "# TYPE botwatch_api_request_duration_seconds histogram\n"));
	assert_non_null(strstr(r.body, "botwatch_api_requests_total{route=\"/v1/accounts/{id}\",status=\"200\"} "));
	assert_non_null(strstr(r.body, "botwatch_api_request_duration_seconds_bucket{route=\"/v1/accounts/{id}\",status=\"404\",le=\"+Inf\"} "));
	assert_non_null(strstr(r.body, "botwatch_store_accounts 50\n"));
	assert_non_null(strstr(r.body, "botwatch_api_lookups_total{result=\"found\"} "));
	free(r.body);
}

static void test_sees_new_commits(void **state)
{
	(void)state;
	char err[256];
	struct reply r = http(W.open, "GET", "/v1/accounts/1999", NULL, NULL);
	assert_int_equal(r.status, 404);
	free(r.body);
	/* the writer commits while the server runs; the next request sees it */
	struct bw_store_txn *t = store_txn_begin(W.st, err, sizeof(err));
	char *rec = record(999, "Late");
	assert_int_equal(store_txn_put(t, "1999", "Late", rec, strlen(rec), NULL, 0, err,
				       sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	r = http(W.open, "GET", "/v1/accounts/by-name/late", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, rec);
	free(r.body);
	free(rec);
}

static int raw_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* True when the server closes `fd` within `ms`. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, 0) <= 0;
}

/* Regression (issue 20): idle clients holding api.connection_limit kept a
 * health check waiting for a whole idle timeout; now the newcomer evicts the
 * connection that has waited longest for a request and is answered at once. */
static void test_slow_clients_bounded(void **state)
{
	(void)state;
	uint16_t port = api_server_port(W.auth); /* connection_limit 2, timeout 1 s */
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	char buf[64] = "";

	/* drop the client's cached connections so only ours count */
	curl_easy_cleanup(W.curl);
	W.curl = curl_easy_init();
	usleep(200000);
	int a = raw_connect(port);
	usleep(50000);
	int b = raw_connect(port);
	usleep(100000);
	/* a third client is served while two idle ones hold the limit ... */
	int c = raw_connect(port);
	assert_int_equal(send(c, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
	struct pollfd p = { .fd = c, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 400), 1);
	assert_true(recv(c, buf, sizeof(buf) - 1, 0) > 12);
	assert_memory_equal(buf, "HTTP/1.1 200", 12);
	/* ... by evicting the oldest idle one, well before the idle timeout */
	assert_true(closed_within(a, 200));
	close(a), close(b), close(c);
}

/* Seconds until the server closes a connection that sends `head` at once (may
 * be "") and then `trickle` one byte every 300 ms. */
static double trickle_until_closed(uint16_t port, const char *head, const char *trickle)
{
	struct timespec t0, t1;
	int fd, closed = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = raw_connect(port);
	if (*head)
		assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	for (size_t i = 0; trickle[i] && !closed; i++) {
		if (send(fd, trickle + i, 1, MSG_NOSIGNAL) != 1)
			break;
		closed = closed_within(fd, 300);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	assert_true(closed);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Regression (issue 20): a client trickling header (or body) bytes faster than
 * the idle timeout (1 s) is still closed at the whole-request deadline (2 s). */
static void test_request_deadline(void **state)
{
	(void)state;
	uint16_t port = api_server_port(W.auth);
	static const char slow[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaa";
	static const char post[] = "POST /v1/accounts:lookup HTTP/1.1\r\nHost: t\r\n"
				   "Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n"
				   "Content-Length: 100\r\n\r\n";
	double secs;

	usleep(1200000); /* earlier tests' connections have timed out */
	secs = trickle_until_closed(port, "", slow);
	if (secs < 1.8 || secs > 3.5)
		fail_msg("slow headers closed after %.2f s, expected the 2 s request deadline", secs);
	secs = trickle_until_closed(port, post, "{\"ids\":[\"1000\"]}                       ");
	if (secs < 1.8 || secs > 3.5)
		fail_msg("slow body closed after %.2f s, expected the 2 s request deadline", secs);
}

/* Regression (issue 20): %00 cut the id short (200 for account 1000), a
 * non-UTF-8 byte gave 500 "out of memory". Both are 400 JSON errors now. */
static void test_hostile_paths(void **state)
{
	(void)state;
	char path[256];

	assert_error(http(W.open, "GET", "/v1/accounts/1000%00junk", NULL, NULL), 400, "NUL byte");
	assert_error(http(W.open, "GET", "/v1/accounts/by-name/Name1%00", NULL, NULL), 400,
		     "NUL byte");
	assert_error(http(W.open, "GET", "/v1/accounts?format=csv%00x", NULL, NULL), 400,
		     "NUL byte");
	assert_error(http(W.open, "GET", "/v1/accounts/%ff", NULL, NULL), 400, "not UTF-8");
	assert_error(http(W.open, "GET", "/nope/%c3%28", NULL, NULL), 400, "not UTF-8");
	assert_error(http(W.open, "GET", "/v1/accounts?format=%ed%a0%80", NULL, NULL), 400,
		     "not UTF-8");
	/* valid UTF-8 echoed in an error and cut mid-character at 64 bytes */
	int n = snprintf(path, sizeof(path), "/v1/accounts/x");
	for (int i = 0; i < 40; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%%c3%%a9");
	assert_error(http(W.open, "GET", path, NULL, NULL), 400, "invalid account id");
	/* an escaped character other than NUL still decodes */
	struct reply r = http(W.open, "GET", "/v1/accounts/%31%30%30%30", NULL, NULL);
	assert_int_equal(r.status, 200);
	free(r.body);
}

/* Regression (issue 20): Content-Type was never checked on request bodies. */
static void test_content_type(void **state)
{
	(void)state;
	const char *body = "{\"ids\":[\"1000\"]}";

	assert_error(http(W.open, "POST", "/v1/accounts:lookup", body, "Content-Type: text/plain"),
		     415, "application/json");
	assert_error(http(W.open, "POST", "/4/check_account", body,
			  "Content-Type: application/x-www-form-urlencoded"),
		     415, "Content-Type");
	struct reply r = http(W.open, "POST", "/v1/accounts:lookup", body,
			      "Content-Type: Application/JSON; charset=utf-8");
	assert_int_equal(r.status, 200);
	free(r.body);
	r = http(W.open, "POST", "/v1/accounts:lookup", body, "Content-Type:");
	assert_int_equal(r.status, 200); /* curl then sends none: taken as JSON */
	free(r.body);
}

/* Regression (issue 20): --listen 127.0.0.1:99999 listened on a random port
 * (getaddrinfo keeps the low 16 bits). */
static void test_listen_port_range(void **state)
{
	(void)state;
	static const char *const bad[] = { "127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:-1",
					   "127.0.0.1:80x", "127.0.0.1:0000080" };
	struct api_opts o = { .threads = 1, .max_body = 4096, .conn_limit = 4, .timeout_s = 1,
			      .max_batch = 5 };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.listen = bad[i];
		struct api_server *srv = api_server_new(W.st, &o, err, sizeof(err));
		assert_non_null(srv);
		assert_int_equal(api_server_start(srv, err, sizeof(err)), BW_EINVAL);
		assert_non_null(strstr(err, "is not a number from 0 to 65535"));
		api_server_free(srv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_by_id),
		cmocka_unit_test(test_account_by_name),
		cmocka_unit_test(test_batch_lookup),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_methods_and_head),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_healthz_and_metrics),
		cmocka_unit_test(test_sees_new_commits),
		cmocka_unit_test(test_slow_clients_bounded),
		cmocka_unit_test(test_request_deadline),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_listen_port_range),
	};
	return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
