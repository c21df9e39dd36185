/*
 * fuzz_api.c — fuzz the API router and request bodies without sockets.
 *
 * Input: line 1 is the method, line 2 the path with an optional ?query
 * (split on '&' and '='), line 3 an Authorization header value (may be
 * empty), the rest the body. The router runs against a small store written
 * on first use (removed at exit); streamed responses are read to the end.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bw_log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct bw_store *store;
static struct api_server *server;

static void cleanup(void)
{
	char path[128];

	api_server_free(server);
	store_close(store);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

static int init(void)
{
	struct api_opts o = { .listen = "127.0.0.1:0", .token = "tok", .threads = 1,
			      .max_body = 1 << 20, .conn_limit = 8, .timeout_s = 5,
			      .max_batch = 100 };
	char err[256], id[16], name[16], rec[256];
	struct bw_store_txn *t;

	bw_log_set_level(BW_LOG_OFF);
	snprintf(dir, sizeof(dir), "/tmp/bw_fuzz_api_XXXXXX");
	if (!mkdtemp(dir) || !(store = store_open(dir, true, 16, err, sizeof(err))) ||
	    !(t = store_txn_begin(store, err, sizeof(err))))
		return -1;
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "%d", 100 + i);
		snprintf(name, sizeof(name), "n%d", i);
		int n = snprintf(rec, sizeof(rec),
				 "{\"user_id\":\"%s\",\"screen_name\":\"%s\",\"status\":\"%s\","
				 "\"score\":%s,\"cap\":{\"english\":0.5},\"categories\":{\"user\":0.1}}",
				 id, name, i % 3 ? "ok" : "profile_only", i % 4 ? "0.5" : "null");
		store_txn_put(t, id, name, rec, (size_t)n, NULL, 0, err, sizeof(err));
	}
	if (store_txn_commit(t, err, sizeof(err)) || !(server = api_server_new(store, &o, err, sizeof(err))))
		return -1;
	atexit(cleanup);
	return 0;
}

/* Next line of the input as a NUL-terminated copy (caller frees). */
static char *take_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *stop = nl ? nl : end;
	char *s = strndup((const char *)*p, (size_t)(stop - *p));
	*p = nl ? nl + 1 : end;
	return s;
}

static void split_query(char *path, struct api_request *req)
{
	char *q = strchr(path, '?');

	if (!q)
		return;
	*q++ = '\0';
	while (q && *q) {
		char *amp = strchr(q, '&'), *eq;
		if (amp)
			*amp = '\0';
		if (req->n_args == API_MAX_ARGS) {
			req->too_many_args = true;
			break;
		}
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		req->arg_keys[req->n_args] = q;
		req->arg_values[req->n_args++] = eq ? eq + 1 : "";
		q = amp ? amp + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -2;
	const uint8_t *p = data, *end = data + size;
	struct api_request req = { 0 };
	struct api_response resp;
	char buf[4096];

	if (ready == -2)
		ready = init();
	if (ready)
		return 0;
	char *method = take_line(&p, end), *path = take_line(&p, end), *auth = take_line(&p, end);
	if (!method || !path || !auth)
		goto out_free;
	split_query(path, &req);
	req.method = method;
	req.path = path;
	req.authorization = auth[0] ? auth : NULL;
	req.body = (const char *)p;
	req.body_len = (size_t)(end - p);
	api_handle(server, &req, &resp);
	if (resp.stream)
		while (api_stream_read(resp.stream, buf, sizeof(buf)) > 0)
			;
	api_response_release(&resp);
out_free:
	free(method);
	free(path);
	free(auth);
	return 0;
}
