/*
 * bench_api.c — cost of the lookup routes without HTTP: api_handle() on
 * random ids of a store made by bw_mkstore (ids 10000000 + i).
 *
 *   build/bench/bench_api STORE_DIR N_ACCOUNTS [SECONDS]
 *
 * Prints single lookups/s and 100-id batches/s on one thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "store.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Run `fn` repeatedly for `secs`; returns calls per second. */
static double run(struct api_server *srv, unsigned long n, double secs, int batch)
{
	char path[64], body[100 * 16 + 32];
	struct api_request req = { .method = batch ? "POST" : "GET" };
	struct api_response resp;
	unsigned long calls = 0, ok = 0;
	double t0 = now(), t;

	do {
		for (int k = 0; k < 256; k++, calls++) {
			if (batch) {
				size_t p = (size_t)snprintf(body, sizeof(body), "{\"ids\":[");
				for (int i = 0; i < batch; i++)
					p += (size_t)snprintf(body + p, sizeof(body) - p, "%s\"%lu\"",
							      i ? "," : "", 10000000 + next() % n);
				p += (size_t)snprintf(body + p, sizeof(body) - p, "]}");
				req.path = "/v1/accounts:lookup";
				req.body = body;
				req.body_len = p;
			} else {
				snprintf(path, sizeof(path), "/v1/accounts/%lu", 10000000 + next() % n);
				req.path = path;
			}
			api_handle(srv, &req, &resp);
			ok += resp.status == 200;
			api_response_release(&resp);
		}
	} while ((t = now()) - t0 < secs);
	if (ok != calls)
		fprintf(stderr, "bench_api: %lu of %lu calls were not 200\n", calls - ok, calls);
	return (double)calls / (t - t0);
}

int main(int argc, char **argv)
{
	char err[256], *end;
	struct api_opts o = { .listen = "127.0.0.1:0", .threads = 1, .max_body = 1 << 20,
			      .conn_limit = 8, .timeout_s = 5, .max_batch = 1000 };
	unsigned long n;
	double secs = 3;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_api STORE_DIR N_ACCOUNTS [SECONDS]\n");
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno || *end || n == 0) {
		fprintf(stderr, "bench_api: bad N_ACCOUNTS '%s'\n", argv[2]);
		return 2;
	}
	if (argc > 3 && (!(secs = strtod(argv[3], &end)) || *end || secs <= 0)) {
		fprintf(stderr, "bench_api: bad SECONDS '%s'\n", argv[3]);
		return 2;
	}
	struct bw_store *st = store_open(argv[1], false, 8192, err, sizeof(err));
	struct api_server *srv = st ? api_server_new(st, &o, err, sizeof(err)) : NULL;
	if (!srv) {
		fprintf(stderr, "bench_api: %s\n", err);
		store_close(st);
		return 1;
	}
	printf("api_handle single lookup: %.0f /s (one thread, no HTTP)\n", run(srv, n, secs, 0));
	double b = run(srv, n, secs, 100);
	printf("api_handle 100-id batch:  %.0f /s = %.0f ids/s (one thread, no HTTP)\n", b, b * 100);
	api_server_free(srv);
	store_close(st);
	return 0;
}
