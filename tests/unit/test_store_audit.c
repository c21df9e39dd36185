/*
 * test_store_audit.c — the store's audit trail (store.h, "audit trail"):
 * the model registry (id checked against the bytes, never overwritten), the
 * append-only history (sequence numbers, repeats not appended, retention),
 * content-addressed vectors (one copy per content, released with the last
 * decision using them, exact doubles back) and the size statistics.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "store.h"

#define N 64 /* values per test vector */

struct fx {
	char dir[64];         /* temp directory */
	struct bw_store *st;  /* store in it */
};

static int setup(void **state)
{
	static struct fx f;
	char err[256];

	snprintf(f.dir, sizeof(f.dir), "/tmp/bw_store_audit_XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	assert_non_null(f.st = store_open(f.dir, true, 16, err, sizeof(err)));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void id_of(const void *p, size_t n, char *out)
{
	unsigned char h[32];
	unsigned int len = 0;

	assert_true(EVP_Digest(p, n, h, &len, EVP_sha256(), NULL));
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
}

static int count_models(const char *id, size_t len, int64_t at, void *opaque)
{
	(void)id;
	(void)len;
	(void)at;
	(*(int *)opaque)++;
	return 0;
}

static void test_models(void **state)
{
	struct fx *f = *state;
	const char a[] = "{\"model\": \"a\"}", b[] = "{\"model\": \"b\"}";
	char ida[80], idb[80], err[256];
	size_t len = 0;
	int64_t at = 0;
	int e = 0, n = 0;
	bool added;

	id_of(a, strlen(a), ida);
	id_of(b, strlen(b), idb);
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(store_txn_put_model(t, ida, a, strlen(a), 1000, &added, err, sizeof(err)), 0);
	assert_true(added);
	/* the same id again: left as it was (the first registration time stays) */
	assert_int_equal(store_txn_put_model(t, ida, a, strlen(a), 2000, &added, err, sizeof(err)), 0);
	assert_false(added);
	/* bytes that do not hash to the id are refused */
	assert_int_equal(store_txn_put_model(t, idb, a, strlen(a), 1000, &added, err, sizeof(err)),
			 BW_EINVAL);
	assert_non_null(strstr(err, "do not hash"));
	assert_int_equal(store_txn_put_model(t, "md5:abc", a, strlen(a), 1000, NULL, err, sizeof(err)),
			 BW_EINVAL);
	assert_int_equal(store_txn_put_model(t, idb, b, strlen(b), 3000, NULL, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);

	char *got = store_get_model(f->st, ida, &len, &at, &e);
	assert_non_null(got);
	assert_int_equal(len, strlen(a));
	assert_memory_equal(got, a, len);
	assert_int_equal(at, 1000);
	free(got);
	assert_null(store_get_model(f->st, "sha256:00", &len, NULL, &e));
	assert_int_equal(e, BW_ENOENT);
	assert_int_equal(store_scan_models(f->st, count_models, &n), 0);
	assert_int_equal(n, 2);
}

static void decision(struct store_decision *d, const char *model_id, int rec)
{
	memset(d, 0, sizeof(*d));
	d->scored_at_ms = 1700000000000 + rec;
	d->event_ms = 1600000000000;
	snprintf(d->model_id, sizeof(d->model_id), "%s", model_id);
	snprintf(d->schema, sizeof(d->schema), "0123456789abcdef");
	snprintf(d->topic, sizeof(d->topic), "features");
	snprintf(d->screen_name, sizeof(d->screen_name), "someone");
	d->partition = 3;
	d->offset = 42 + rec;
	d->schema_version = 2;
	d->avail = 7;
	d->cap_prior = 0.15;
	d->posts_seen = 9;
	d->record_hash[0] = (unsigned char)rec;
	d->english = 0.25 + rec / 1000.0;
	d->universal = 0.5;
}

struct seen {
	size_t n;                        /* decisions visited */
	struct store_decision d[16];     /* their copies */
};

static int collect(const struct store_decision *d, void *opaque)
{
	struct seen *s = opaque;

	if (s->n < 16)
		s->d[s->n] = *d;
	s->n++;
	return 0;
}

static void put(struct fx *f, const char *id, struct store_decision *d, const double *x,
		bool *appended)
{
	char err[256];
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));

	assert_non_null(t);
	assert_int_equal(store_txn_put_decision(t, id, d, x, N, appended, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
}

static void test_history(void **state)
{
	struct fx *f = *state;
	const char model[] = "{\"model\": \"h\"}";
	char mid[80];
	double x[N], y[N];
	struct store_decision d;
	struct store_audit_stats as;
	struct seen s = { 0 };
	bool app;
	int e = 0;
	size_t n = 0;

	id_of(model, strlen(model), mid);
	for (int i = 0; i < N; i++) {
		x[i] = i % 3 ? 0 : i * 1.5;
		y[i] = -x[i];
	}
	x[5] = NAN;
	x[7] = -0.0;
	decision(&d, mid, 1);
	put(f, "12", &d, x, &app);
	assert_true(app);
	assert_int_equal(d.seq, 1);
	/* the same decision again (a re-delivered update): nothing appended */
	decision(&d, mid, 1);
	d.scored_at_ms += 5000;
	put(f, "12", &d, x, &app);
	assert_false(app);
	/* a new decision with the same vector: appended, the vector kept once */
	decision(&d, mid, 2);
	put(f, "12", &d, x, &app);
	assert_true(app);
	assert_int_equal(d.seq, 2);
	/* another account with the same vector shares it; "1" is a prefix of "12" */
	decision(&d, mid, 3);
	put(f, "1", &d, x, &app);
	assert_int_equal(d.seq, 1);
	decision(&d, mid, 4);
	put(f, "12", &d, y, &app);
	assert_int_equal(d.seq, 3);
	assert_int_equal(store_audit_stats(f->st, &as), 0);
	assert_int_equal(as.decisions, 4);
	assert_int_equal(as.vectors, 2);

	assert_int_equal(store_scan_history(f->st, "12", collect, &s), 0);
	assert_int_equal(s.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s.d[i].seq, i + 1);
	assert_string_equal(s.d[0].model_id, mid);
	assert_string_equal(s.d[0].topic, "features");
	assert_string_equal(s.d[0].screen_name, "someone");
	assert_int_equal(s.d[0].partition, 3);
	assert_int_equal(s.d[0].offset, 43);
	assert_int_equal(s.d[0].event_ms, 1600000000000);
	assert_true(s.d[0].cap_prior == 0.15);
	assert_true(s.d[2].english == 0.25 + 4 / 1000.0);
	/* the vector comes back bit for bit (NaN and -0.0 included) */
	double *v = store_get_vector(f->st, s.d[0].vec_hash, &n, &e);
	assert_non_null(v);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++)
		if (i != 5)
			assert_memory_equal(&v[i], &x[i], sizeof(double));
	assert_true(isnan(v[5]));
	free(v);
	s.n = 0;
	assert_int_equal(store_scan_history(f->st, "99", collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_scan_history(f->st, "", collect, &s), BW_EINVAL);
}

static void test_retention(void **state)
{
	struct fx *f = *state;
	const char model[] = "{\"model\": \"r\"}";
	char mid[80];
	double x[N];
	struct store_decision d;
	struct store_audit_stats as;
	struct seen s = { 0 };
	int e = 0;
	size_t n;

	id_of(model, strlen(model), mid);
	store_set_history_keep(f->st, 2);
	for (int k = 0; k < 5; k++) {
		for (int i = 0; i < N; i++)
			x[i] = k * 100 + i;
		decision(&d, mid, k);
		put(f, "777", &d, x, NULL);
	}
	assert_int_equal(store_scan_history(f->st, "777", collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.d[0].seq, 4);
	assert_int_equal(s.d[1].seq, 5);
	/* the pruned decisions' vectors are gone, the kept ones readable */
	assert_int_equal(store_audit_stats(f->st, &as), 0);
	assert_int_equal(as.decisions, 2);
	assert_int_equal(as.vectors, 2);
	double *v = store_get_vector(f->st, s.d[0].vec_hash, &n, &e);
	assert_non_null(v);
	assert_true(v[0] == 300);
	free(v);
	/* -1: nothing recorded */
	store_set_history_keep(f->st, -1);
	decision(&d, mid, 9);
	bool app = true;
	put(f, "778", &d, x, &app);
	assert_false(app);
	s.n = 0;
	assert_int_equal(store_scan_history(f->st, "778", collect, &s), 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_models, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
