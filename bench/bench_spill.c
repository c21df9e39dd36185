/*
 * bench_spill.c — the two candidate stores for replay's idle account states,
 * measured on the same states: the spill file (features/feat_spill.c: an
 * unlinked file mapped in segments, slots by location) and the features
 * stage's LMDB store (features/feat_store.c: keyed by account id, one
 * transaction per 10,000 operations, LMDB's default durability).
 *
 * The states come from replaying FILE (every account, observed ones too).
 * Each store first takes every state once, then ROUNDS times every state is
 * read back and written again in a scattered order, as accounts come back on
 * a later post and are spilled again. Prints operations per second.
 *
 *   build/bench/bench_spill FILE [ROUNDS]   (default 3)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bw_time.h"
#include "feat.h"
#include "feat_replay.h"
#include "feat_spill.h"
#include "feat_stage.h"

#define TXN_OPS 10000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A scattered order of 0..n-1: i * stride mod n with stride prime to n. */
static size_t scatter(size_t i, size_t n)
{
	size_t stride = 7919;
	while (n % stride == 0)
		stride += 2;
	return (i * stride) % n;
}

static int bench_spill(const struct feat_account *const *st, size_t n, long rounds)
{
	char err[256];
	struct feat_spill *s = feat_spill_new(NULL, err, sizeof(err));
	struct feat_spill_loc *loc = calloc(n, sizeof(*loc));
	double t0 = now();

	if (!s || !loc) {
		fprintf(stderr, "bench_spill: %s\n", s ? "out of memory" : err);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (feat_spill_put(s, st[i], &loc[i]))
			return 1;
	double t1 = now();
	for (long r = 0; r < rounds; r++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = scatter(k, n);
			struct feat_account *a = feat_spill_get(s, &loc[i], err, sizeof(err));
			if (!a || feat_spill_put(s, a, &loc[i])) {
				fprintf(stderr, "bench_spill: spill: %s\n", err);
				return 1;
			}
			feat_account_free(a);
		}
	}
	double t2 = now();
	printf("spill file  first puts %9.0f/s   get+put %9.0f/s   file %.1f MB\n", n / (t1 - t0),
	       (double)n * rounds / (t2 - t1), feat_spill_stats(s)->file_bytes / 1e6);
	feat_spill_free(s);
	free(loc);
	return 0;
}

static int bench_lmdb(const struct feat_account *const *st, size_t n, long rounds)
{
	char err[256], dir[] = "/tmp/bw_bench_spill_XXXXXX", path[64];
	struct feat_store *s;
	size_t ops = 0;

	if (!mkdtemp(dir) || !(s = feat_store_open(dir, 16384, err, sizeof(err)))) {
		fprintf(stderr, "bench_spill: lmdb: cannot open a store in %s\n", dir);
		return 1;
	}
	double t0 = now();
	int rc = feat_store_begin(s, err, sizeof(err));
	for (size_t i = 0; i < n && !rc; i++) {
		rc = feat_store_put(s, st[i], err, sizeof(err));
		if (!rc && ++ops % TXN_OPS == 0 && !(rc = feat_store_commit(s, err, sizeof(err))))
			rc = feat_store_begin(s, err, sizeof(err));
	}
	if (!rc)
		rc = feat_store_commit(s, err, sizeof(err));
	double t1 = now();
	if (!rc)
		rc = feat_store_begin(s, err, sizeof(err));
	for (long r = 0; r < rounds && !rc; r++) {
		for (size_t k = 0; k < n && !rc; k++) {
			struct feat_account *a = NULL;
			rc = feat_store_get(s, feat_account_id(st[scatter(k, n)]), &a, err, sizeof(err));
			if (!rc && a)
				rc = feat_store_put(s, a, err, sizeof(err));
			feat_account_free(a);
			if (!rc && ++ops % TXN_OPS == 0 && !(rc = feat_store_commit(s, err, sizeof(err))))
				rc = feat_store_begin(s, err, sizeof(err));
		}
	}
	if (!rc)
		rc = feat_store_commit(s, err, sizeof(err));
	double t2 = now();
	if (rc) {
		fprintf(stderr, "bench_spill: lmdb: %s\n", err);
	} else {
		FILE *f;
		long sz = 0;
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if ((f = fopen(path, "rb"))) {
			fseek(f, 0, SEEK_END);
			sz = ftell(f);
			fclose(f);
		}
		printf("LMDB store  first puts %9.0f/s   get+put %9.0f/s   file %.1f MB\n",
		       n / (t1 - t0), (double)n * rounds / (t2 - t1), sz / 1e6);
	}
	feat_store_close(s);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct feat_replay_opts o = { .probe_time_ms = BW_TIME_NONE, .include_observed = true };
	char err[256];
	char *end = NULL;
	long rounds = argc > 2 ? strtol(argv[2], &end, 10) : 3;
	struct feat_replay *r;

	if (argc < 2 || (end && *end) || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: bench_spill FILE [ROUNDS]\n");
		return 2;
	}
	if (!(r = feat_replay_new(&o, err, sizeof(err))) ||
	    feat_replay_files(r, argv + 1, 1, err, sizeof(err))) {
		fprintf(stderr, "bench_spill: %s\n", err);
		return 1;
	}
	size_t n = feat_replay_count(r), bytes = 0;
	const struct feat_account **st = malloc((n ? n : 1) * sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		void *b;
		size_t len;
		st[i] = feat_replay_account(r, i);
		if (!feat_account_save(st[i], &b, &len)) {
			bytes += len;
			free(b);
		}
	}
	printf("%zu states, %.0f bytes serialised on average, %ld rounds of get+put\n", n,
	       n ? (double)bytes / (double)n : 0.0, rounds);
	int rc = bench_spill(st, n, rounds) || bench_lmdb(st, n, rounds);
	free(st);
	feat_replay_free(r);
	return rc;
}
