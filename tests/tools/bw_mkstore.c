/*
 * bw_mkstore.c — write a synthetic score store for API tests and benchmarks.
 *
 *   build/tests/bw_mkstore DIR N [FIRST_ID] [N_FEATURES] [MAP_MB]
 *
 * Accounts FIRST_ID .. FIRST_ID+N-1 (default 10000000) named "user<i>", with
 * score records in the documented shape (docs/SCORES.md) and, when
 * N_FEATURES > 0, a feature vector each. Values come from a fixed-seed
 * generator, so the same arguments give the same store. Every 10th account
 * is insufficient_data (null scores), every 7th other one profile_only.
 * These are synthetic load-test records, not model output.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define BATCH 20000 /* records per commit */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double next_unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* One record into buf; returns its length. */
static int make_record(char *buf, size_t len, uint64_t id, uint64_t i)
{
	const char *status = i % 10 == 9 ? "insufficient_data" : i % 7 == 3 ? "profile_only" : "ok";
	double s[16];

	for (int k = 0; k < 16; k++)
		s[k] = next_unit();
	if (i % 10 == 9)
		return snprintf(buf, len,
			"{\"user_id\":\"%llu\",\"screen_name\":\"user%llu\",\"status\":\"%s\","
			"\"score\":null,\"english\":null,\"universal\":null,"
			"\"cap\":{\"english\":null,\"universal\":null},"
			"\"categories\":{\"user\":null,\"friend\":null,\"network\":null,\"temporal\":null,"
			"\"content\":null,\"sentiment\":null},\"raw_scores\":{},\"evidence\":[],"
			"\"model_version\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
			"\"feature_schema\":\"synthetic\",\"scored_at\":\"2026-01-01T00:00:00Z\",\"posts_seen\":0}",
			(unsigned long long)id, (unsigned long long)i, status);
	return snprintf(buf, len,
		"{\"user_id\":\"%llu\",\"screen_name\":\"user%llu\",\"status\":\"%s\","
		"\"score\":%.4f,\"english\":%.4f,\"universal\":%.4f,"
		"\"cap\":{\"english\":%.4f,\"universal\":%.4f},"
		"\"categories\":{\"user\":%.4f,\"friend\":%.4f,\"network\":%.4f,\"temporal\":%.4f,"
		"\"content\":%.4f,\"sentiment\":%.4f},"
		"\"raw_scores\":{\"astroturf\":%.4f,\"fake_follower\":%.4f,\"financial\":%.4f,"
		"\"other\":%.4f,\"self_declared\":%.4f,\"spammer\":%.4f},\"evidence\":%s,"
		"\"model_version\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
		"\"feature_schema\":\"synthetic\",\"scored_at\":\"2026-01-01T00:00:00Z\",\"posts_seen\":%llu}",
		(unsigned long long)id, (unsigned long long)i, status, s[0], s[0], s[1], s[2], s[3],
		s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15],
		i % 7 == 3 ? "[\"profile_text\",\"profile_counts\"]"
			   : "[\"profile_text\",\"profile_counts\",\"posts\"]",
		(unsigned long long)(i % 500));
}

int main(int argc, char **argv)
{
	uint64_t n, first = 10000000, nfeat = 0, map_mb = 8192;
	char err[512], rec[2048], id[32], name[40];
	struct bw_store *st;
	struct bw_store_txn *t = NULL;
	double *feat;

	if (argc < 3 || parse_u64(argv[2], &n) || (argc > 3 && parse_u64(argv[3], &first)) ||
	    (argc > 4 && (parse_u64(argv[4], &nfeat) || nfeat > 100000)) ||
	    (argc > 5 && (parse_u64(argv[5], &map_mb) || map_mb == 0 || map_mb > 1048576))) {
		fprintf(stderr, "usage: bw_mkstore DIR N [FIRST_ID] [N_FEATURES] [MAP_MB]\n");
		return 2;
	}
	if (!(st = store_open(argv[1], true, (size_t)map_mb, err, sizeof(err)))) {
		fprintf(stderr, "bw_mkstore: %s\n", err);
		return 1;
	}
	feat = calloc(nfeat ? nfeat : 1, sizeof(double));
	for (uint64_t i = 0; i < n; i++) {
		if (!t && !(t = store_txn_begin(st, err, sizeof(err))))
			goto out_fail;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)(first + i));
		snprintf(name, sizeof(name), "user%llu", (unsigned long long)i);
		for (uint64_t k = 0; k < nfeat; k++)
			feat[k] = (double)(k + 1) * next_unit();
		int len = make_record(rec, sizeof(rec), first + i, i);
		if (store_txn_put(t, id, name, rec, (size_t)len, nfeat ? feat : NULL, nfeat, err,
				  sizeof(err)))
			goto out_fail;
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (store_txn_commit(t, err, sizeof(err))) {
				t = NULL;
				goto out_fail;
			}
			t = NULL;
		}
	}
	free(feat);
	store_close(st);
	return 0;

out_fail:
	fprintf(stderr, "bw_mkstore: %s\n", err);
	store_txn_abort(t);
	free(feat);
	store_close(st);
	return 1;
}
