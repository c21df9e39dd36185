/*
 * bench_audit.c — what the audit trail costs the scorer and what
 * re-performance costs a reader (docs/AUDIT.md), on the accounts of a store
 * written by `botwatch replay --store` (their records and vectors).
 *
 * The accounts are scored again here (every kind of evidence taken) so each
 * record matches its decision. Write cost: every account's record and vector put into a fresh store in
 * batches of 64 per transaction with deferred sync, as the scoring stage
 * writes them — once without the audit trail (store.history_keep = -1) and
 * once with it (each decision appended, new vectors compressed and hashed);
 * then once more with the same vectors and a new prior (decisions appended,
 * vectors shared) and once with everything identical (repeats: nothing
 * appended). Medians of ROUNDS rounds, alternating, in µs of the writing
 * thread's CPU time per account (steadier than wall time on a shared machine).
 * Read cost: audit_rescore() of every account with the loaded model (what
 * GET /v1/accounts/{id}/audit does), median and 90th percentile in µs, and
 * the registry model parse a CLI `rescore` adds, median ms of CPU.
 *
 *   build/bench/bench_audit STORE MODEL [ROUNDS]   (default 5)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "bw_time.h"
#include "clf.h"
#include "feat.h"
#include "store.h"

#define BATCH 64

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Wall clock (latencies) and this thread's CPU time (write costs: steadier on a
 * shared machine, and the writer is one thread). */
static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* One account as the scorer has it. */
struct acct {
	char *id;          /* account id */
	char *rec;         /* the stored record text */
	double *x;         /* its vector */
	struct clf_score sc; /* its score */
};

struct input {
	struct acct *a;    /* accounts */
	size_t n, cap;     /* used / allocated */
	struct bw_store *st; /* the source store */
};

static int take(const char *id, const char *rec, size_t len, void *opaque)
{
	struct input *in = opaque;
	size_t n = 0;
	int err = 0;

	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 1024;
		if (!(in->a = realloc(in->a, in->cap * sizeof(*in->a))))
			return -1;
	}
	struct acct *a = &in->a[in->n];
	a->id = strdup(id);
	a->rec = strndup(rec, len);
	a->x = store_get_features(in->st, id, &n, &err);
	if (!a->id || !a->rec || !a->x || n != feat_count())
		return -1;
	in->n++;
	return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Put every account into st (with the trail when `audit`); seconds. */
static double write_all(struct bw_store *st, const struct input *in, const struct clf_model *mdl,
			bool audit, double prior)
{
	char err[256];
	double t0 = cpu();
	struct bw_store_txn *t = NULL;

	for (size_t i = 0; i < in->n; i++) {
		const struct acct *a = &in->a[i];
		struct clf_record_info info = { .user_id = a->id, .scored_at_ms = BW_TIME_NONE };
		if (!t && !(t = store_txn_begin(st, err, sizeof(err))))
			goto out_err;
		if (store_txn_put(t, a->id, NULL, a->rec, strlen(a->rec), a->x, feat_count(), err,
				  sizeof(err)))
			goto out_err;
		if (audit && audit_decision_put(t, mdl, a->x, feat_count(), a->sc.avail, prior, &a->sc,
						&info, NULL, a->rec, err, sizeof(err)))
			goto out_err;
		if ((i + 1) % BATCH == 0 || i + 1 == in->n) {
			if (store_txn_commit(t, err, sizeof(err)))
				goto out_err;
			t = NULL;
		}
	}
	if (store_sync(st, err, sizeof(err)))
		goto out_err;
	return cpu() - t0;
out_err:
	fprintf(stderr, "bench_audit: %s\n", err);
	exit(1);
}

static struct bw_store *fresh(const char *dir, int64_t keep)
{
	char err[256], cmd[256];
	struct bw_store *st;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0 || !(st = store_open(dir, true, 4096, err, sizeof(err))) ||
	    store_set_deferred_sync(st, true, err, sizeof(err))) {
		fprintf(stderr, "bench_audit: %s: cannot open\n", dir);
		exit(1);
	}
	store_set_history_keep(st, keep);
	return st;
}

int main(int argc, char **argv)
{
	struct input in = { 0 };
	char err[512], dir[] = "/tmp/bw_bench_audit_XXXXXX";
	int rounds = argc > 3 ? atoi(argv[3]) : 5;

	if (argc < 3 || rounds < 1) {
		fprintf(stderr, "usage: bench_audit STORE MODEL [ROUNDS]\n");
		return 2;
	}
	struct clf_model *mdl = clf_model_load(argv[2], feat_schema_hash(), feat_count(), err, sizeof(err));
	if (!mdl || !(in.st = store_open(argv[1], false, 4096, err, sizeof(err))) ||
	    store_scan(in.st, NULL, take, &in) || !mkdtemp(dir)) {
		fprintf(stderr, "bench_audit: %s\n", mdl ? "cannot read the store" : err);
		return 1;
	}
	double s0 = cpu();
	for (size_t i = 0; i < in.n; i++) { /* scored again here, every kind of evidence taken */
		struct clf_record_info info = { .user_id = in.a[i].id, .scored_at_ms = BW_TIME_NONE };
		clf_score(mdl, in.a[i].x, CLF_AVAIL_ALL, 0.15, &in.a[i].sc);
		free(in.a[i].rec);
		if (!(in.a[i].rec = clf_score_record(mdl, &in.a[i].sc, &info)))
			return 1;
	}
	double score_us = (cpu() - s0) / (double)in.n * 1e6;
	double *off = calloc((size_t)rounds, sizeof(double)), *on = calloc((size_t)rounds, sizeof(double));
	double *shared = calloc((size_t)rounds, sizeof(double)), *rep = calloc((size_t)rounds, sizeof(double));
	uint64_t b0 = 0, b1 = 0;
	for (int r = 0; r < rounds; r++) {
		struct bw_store *st = fresh(dir, -1);
		off[r] = write_all(st, &in, mdl, false, 0.15) / (double)in.n * 1e6;
		store_close(st);
		st = fresh(dir, 0);
		if (audit_model_register(st, mdl, argv[2], err, sizeof(err))) {
			fprintf(stderr, "bench_audit: %s\n", err);
			return 1;
		}
		on[r] = write_all(st, &in, mdl, true, 0.15) / (double)in.n * 1e6;
		struct store_audit_stats a;
		store_audit_stats(st, &a);
		b0 = a.history_bytes + a.vector_bytes;
		shared[r] = write_all(st, &in, mdl, true, 0.2) / (double)in.n * 1e6;
		store_audit_stats(st, &a);
		b1 = a.history_bytes + a.vector_bytes;
		rep[r] = write_all(st, &in, mdl, true, 0.2) / (double)in.n * 1e6;
		store_close(st);
	}
	printf("accounts %zu (%zu features), batches of %d, deferred sync, medians of %d rounds\n",
	       in.n, feat_count(), BATCH, rounds);
	printf("score + record text (clf_score, clf_score_record): %.1f us cpu/account (one pass)\n", score_us);
	printf("write, record + vector only (no trail):          %8.1f us cpu/account\n", median(off, (size_t)rounds));
	printf("write, + decision with a new vector:             %8.1f us cpu/account\n", median(on, (size_t)rounds));
	printf("write, + decision with an unchanged vector:      %8.1f us cpu/account\n", median(shared, (size_t)rounds));
	printf("write, + identical decision (repeat, not kept):  %8.1f us cpu/account\n", median(rep, (size_t)rounds));
	printf("trail bytes: %.1f per decision with a new vector, %.1f per decision with an unchanged one\n",
	       (double)b0 / (double)in.n, (double)(b1 - b0) / (double)in.n);

	/* re-performance, as the API route does it (model loaded) */
	struct bw_store *st = fresh(dir, 0);
	audit_model_register(st, mdl, argv[2], err, sizeof(err));
	write_all(st, &in, mdl, true, 0.15);
	double *lat = malloc(in.n * sizeof(double));
	size_t same = 0;
	struct audit_rescore_opts o = { .at_ms = INT64_MIN, .loaded = mdl };
	for (size_t i = 0; i < in.n; i++) {
		json_t *out = NULL;
		double t0 = now();
		if (audit_rescore(st, in.a[i].id, &o, &out, err, sizeof(err))) {
			fprintf(stderr, "bench_audit: %s\n", err);
			return 1;
		}
		lat[i] = (now() - t0) * 1e6;
		same += strcmp(json_string_value(json_object_get(out, "result")), "identical") == 0;
		json_decref(out);
	}
	qsort(lat, in.n, sizeof(*lat), cmp_dbl);
	printf("rescore (model loaded): median %.0f us, p90 %.0f us; %zu of %zu identical\n",
	       lat[in.n / 2], lat[in.n * 9 / 10], same, in.n);
	double parse[9];
	for (int k = 0; k < 9; k++) {
		int e = 0;
		double t0 = cpu();
		struct clf_model *m = audit_model_load(st, clf_model_id(mdl), &e, err, sizeof(err));
		parse[k] = (cpu() - t0) * 1e3;
		clf_model_free(m);
	}
	printf("registry model parse (what a CLI rescore adds): median %.1f ms cpu\n", median(parse, 9));
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	for (size_t i = 0; i < in.n; i++) {
		free(in.a[i].id);
		free(in.a[i].rec);
		free(in.a[i].x);
	}
	free(in.a);
	free(lat);
	free(off);
	free(on);
	free(shared);
	free(rep);
	store_close(in.st);
	clf_model_free(mdl);
	return 0;
}
