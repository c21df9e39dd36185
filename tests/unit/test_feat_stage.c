/*
 * test_feat_stage.c — the features stage's LMDB state store (state and
 * offsets in one transaction, abort, format marker, scan) and the feature
 * update message (round trip, rejection of malformed bytes). The consumer
 * loop itself is tested end to end in tests/integration/features_stage.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat_stage.h"

static void tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/bw_feat_store_XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void rmdir_all(const char *dir)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

static struct feat_account *account(const char *id, int posts)
{
	struct feat_account *a = feat_account_new(id);
	struct bw_post p;
	char pid[16];

	for (int i = 0; i < posts; i++) {
		memset(&p, 0, sizeof(p));
		snprintf(pid, sizeof(pid), "%d", i);
		p.id = pid;
		p.created_at_ms = 1500000000000LL + i * 1000;
		p.author.id = id;
		p.author.screen_name = "someone";
		p.author.created_at_ms = BW_TIME_NONE;
		p.author.followers_count = p.author.friends_count = p.author.statuses_count = 3;
		p.author.favourites_count = p.author.listed_count = -1;
		p.retweet_count = p.favorite_count = p.reply_count = p.quote_count = -1;
		p.text = "hello world";
		assert_int_equal(feat_account_update(a, &p), 0);
	}
	return a;
}

static int count_cb(const struct feat_account *a, void *opaque)
{
	(void)a;
	(*(int *)opaque)++;
	return 0;
}

static void test_store(void **state)
{
	(void)state;
	char dir[64], err[256];
	struct feat_store *s;
	struct feat_account *a = account("42", 5), *b;
	int64_t off;
	uint64_t n;
	int seen = 0;

	tmpdir(dir, sizeof(dir));
	assert_non_null(s = feat_store_open(dir, 16, err, sizeof(err)));
	assert_int_equal(feat_store_offset_get(s, "posts", 0, &off), BW_ENOENT);
	/* an aborted transaction leaves nothing */
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_put(s, a, err, sizeof(err)), 0);
	assert_int_equal(feat_store_offset_put(s, "posts", 0, 99, err, sizeof(err)), 0);
	feat_store_abort(s);
	assert_int_equal(feat_store_count(s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(feat_store_offset_get(s, "posts", 0, &off), BW_ENOENT);
	/* state and offset commit together */
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), BW_EINVAL); /* one at a time */
	assert_int_equal(feat_store_put(s, a, err, sizeof(err)), 0);
	assert_int_equal(feat_store_offset_put(s, "posts", 3, 1234567890123LL, err, sizeof(err)), 0);
	assert_int_equal(feat_store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_offset_get(s, "posts", 3, &off), 0);
	assert_int_equal(off, 1234567890123LL);
	assert_int_equal(feat_store_offset_get(s, "posts", 2, &off), BW_ENOENT);
	feat_store_close(s);
	/* reopened: the state is there and loads identically */
	assert_non_null(s = feat_store_open(dir, 16, err, sizeof(err)));
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_get(s, "42", &b, err, sizeof(err)), 0);
	assert_non_null(b);
	assert_int_equal(feat_account_posts(b), 5);
	feat_account_free(b);
	assert_int_equal(feat_store_get(s, "43", &b, err, sizeof(err)), 0);
	assert_null(b);
	feat_store_abort(s);
	assert_int_equal(feat_store_each(s, count_cb, &seen, err, sizeof(err)), 0);
	assert_int_equal(seen, 1);
	feat_store_close(s);
	feat_account_free(a);
	feat_account_free(b);
	rmdir_all(dir);
}

static int collect_id(const void *id, size_t len, void *opaque)
{
	char *buf = opaque;
	strncat(buf, id, len);
	strcat(buf, ",");
	return 0;
}

static void test_store_population(void **state)
{
	(void)state;
	char dir[64], err[256], ids[256];
	struct feat_store *s;
	uint32_t n;

	tmpdir(dir, sizeof(dir));
	assert_non_null(s = feat_store_open(dir, 16, err, sizeof(err)));
	assert_int_equal(feat_store_pop_move(s, "1", 0, 77, err, sizeof(err)), BW_EINVAL);
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_pop_move(s, "1", 0, 77, err, sizeof(err)), 0);
	assert_int_equal(feat_store_pop_move(s, "2", 0, 77, err, sizeof(err)), 0);
	assert_int_equal(feat_store_pop_move(s, "2", 0, 77, err, sizeof(err)), 0); /* once */
	assert_int_equal(feat_store_pop_move(s, "3", 0, 78, err, sizeof(err)), 0);
	assert_int_equal(feat_store_commit(s, err, sizeof(err)), 0);
	feat_store_close(s);
	/* reopened: the table is there; move one account to the other key */
	assert_non_null(s = feat_store_open(dir, 16, err, sizeof(err)));
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	ids[0] = 0;
	assert_int_equal(feat_store_pop_members(s, 77, 10, collect_id, ids, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids, "1,2,");
	assert_int_equal(feat_store_pop_move(s, "2", 77, 78, err, sizeof(err)), 0);
	ids[0] = 0;
	assert_int_equal(feat_store_pop_members(s, 78, 1, collect_id, ids, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids, "2,"); /* at most `max` ids, the count of all */
	assert_int_equal(feat_store_pop_members(s, 77, 0, NULL, NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(feat_store_pop_move(s, "1", 77, 0, err, sizeof(err)), 0);
	assert_int_equal(feat_store_pop_members(s, 77, 0, NULL, NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(feat_store_pop_members(s, 0, 0, NULL, NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* the most shared of several keys: 78 holds 2, 77 none now, 79 never existed */
	const uint64_t keys[] = { 77, 78, 79 };
	assert_int_equal(feat_store_pop_most(s, keys, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(feat_store_pop_most(s, keys, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(feat_store_pop_most(s, keys + 2, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(feat_store_pop_most(s, keys, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* aborted: nothing of it stays */
	feat_store_abort(s);
	assert_int_equal(feat_store_begin(s, err, sizeof(err)), 0);
	assert_int_equal(feat_store_pop_members(s, 77, 0, NULL, NULL, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	feat_store_abort(s);
	assert_int_equal(feat_store_pop_most(s, keys, 3, &n, err, sizeof(err)), BW_EINVAL);
	/* the whole table into an in-memory one (the export's counts) */
	struct feat_pop *pop = feat_pop_new();
	assert_non_null(pop);
	assert_int_equal(feat_store_pop_counts(s, pop, err, sizeof(err)), 0);
	assert_int_equal(feat_pop_count(pop, 77), 2);
	assert_int_equal(feat_pop_count(pop, 78), 1);
	assert_int_equal(feat_pop_count(pop, 79), 0);
	feat_pop_free(pop);
	feat_store_close(s);
	rmdir_all(dir);
}

static void test_store_format_marker(void **state)
{
	(void)state;
	char dir[64], err[256];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 6, "format" }, v = { 8, "BWFS0 v0" };

	tmpdir(dir, sizeof(dir));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_null(feat_store_open(dir, 16, err, sizeof(err)));
	assert_non_null(strstr(err, "another state format"));
	rmdir_all(dir);
}

static void test_update_message(void **state)
{
	(void)state;
	struct feat_account *a = account("1234567", 3);
	size_t n = feat_count(), len;
	double *v = malloc(n * sizeof(*v));
	unsigned char *buf;
	struct feat_update u;

	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_int_equal(feat_update_encode(a, v, &buf, &len), 0);
	assert_int_equal(feat_update_decode(buf, len, &u), 0);
	assert_string_equal(u.schema_hash, feat_schema_hash());
	assert_string_equal(u.user_id, "1234567");
	assert_string_equal(u.screen_name, "someone");
	assert_int_equal(u.posts_seen, 3);
	assert_int_equal(u.last_event_ms, 1500000002000LL);
	/* a screen name but no creation time: text evidence only */
	assert_true(u.has_evidence);
	assert_int_equal(u.evidence, FEAT_EVID_TEXT);
	assert_int_equal(u.own_posts, 3);
	assert_int_equal(u.n, n);
	for (size_t i = 0; i < n; i++)
		assert_true(feat_update_value(&u, i) == v[i]);
	double *all = calloc(n, sizeof(*all));
	assert_non_null(all);
	feat_update_values(&u, all);
	assert_memory_equal(all, v, n * sizeof(*all));
	free(all);
	{ /* values are little-endian on every host: the last non-zero one's bytes end it */
		size_t last = n;
		uint64_t bits = 0;
		while (last > 0 && !bits)
			memcpy(&bits, &v[--last], 8);
		for (int b = 0; b < 8; b++)
			assert_int_equal(buf[len - 8 + (size_t)b], (unsigned char)(bits >> (8 * b)));
	}
	assert_true(u.version == 3 && u.nnz < n && len < 2 + 100 + u.nnz * 11); /* sparse */
	for (size_t cut = 0; cut < len; cut++) /* every truncation is rejected */
		assert_int_not_equal(feat_update_decode(buf, cut, &u), 0);
	buf[0] = 0xB7; /* a post, not an update */
	assert_int_equal(feat_update_decode(buf, len, &u), BW_ESCHEMA);
	free(buf);
	free(v);
	feat_account_free(a);
}

/* Append LEB128 `v` at b[*o]. */
static void put_uvar(unsigned char *b, size_t *o, uint64_t v)
{
	do {
		b[(*o)++] = (unsigned char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_text(unsigned char *b, size_t *o, const char *t)
{
	put_uvar(b, o, strlen(t));
	memcpy(b + *o, t, strlen(t));
	*o += strlen(t);
}

/* Sparse updates keep every value's bits (-0.0, NaN) and the zeros come back;
 * version 2 (dense) updates still decode; malformed pairs are rejected. */
static void test_update_sparse_and_dense(void **state)
{
	(void)state;
	struct feat_account *a = account("42", 1);
	size_t n = feat_count(), len, o = 0;
	double *v = calloc(n, sizeof(*v)), *back = malloc(n * sizeof(*back));
	unsigned char *buf, *d = malloc(200 + n * 8);
	struct feat_update u;

	v[0] = -0.0;
	v[7] = 1.5;
	v[n - 1] = nan("");
	assert_int_equal(feat_update_encode(a, v, &buf, &len), 0);
	assert_int_equal(feat_update_decode(buf, len, &u), 0);
	assert_int_equal(u.version, 3);
	assert_int_equal(u.nnz, 3);
	feat_update_values(&u, back);
	assert_memory_equal(back, v, n * sizeof(*v)); /* bit for bit */
	assert_true(feat_update_value(&u, 7) == 1.5 && feat_update_value(&u, 8) == 0.0);
	assert_true(signbit(feat_update_value(&u, 0)));
	buf[len - 9] = 0x7F; /* the last gap now points past the vector */
	assert_int_equal(feat_update_decode(buf, len, &u), BW_EPARSE);
	free(buf);
	assert_int_equal(feat_update_encode(a, v, &buf, &len), 0);
	buf = realloc(buf, len + 1);
	buf[len] = 0; /* trailing byte */
	assert_int_equal(feat_update_decode(buf, len + 1, &u), BW_EPARSE);
	free(buf);

	/* a version 2 update: the full vector */
	d[o++] = 0xB8;
	d[o++] = 0x02;
	put_text(d, &o, feat_schema_hash());
	put_text(d, &o, "42");
	put_text(d, &o, "");
	put_uvar(d, &o, 1);
	put_uvar(d, &o, 2); /* zig-zag 1 */
	put_uvar(d, &o, FEAT_EVID_COUNTS);
	put_uvar(d, &o, 1);
	put_uvar(d, &o, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i], 8);
		for (int b = 0; b < 8; b++)
			d[o++] = (unsigned char)(bits >> (8 * b));
	}
	assert_int_equal(feat_update_decode(d, o, &u), 0);
	assert_int_equal(u.version, 2);
	assert_int_equal(u.last_event_ms, 1);
	assert_int_equal(u.evidence, FEAT_EVID_COUNTS);
	feat_update_values(&u, back);
	assert_memory_equal(back, v, n * sizeof(*v));
	assert_true(feat_update_value(&u, 7) == 1.5);
	assert_int_equal(feat_update_decode(d, o - 1, &u), BW_EPARSE);
	free(d);
	free(back);
	free(v);
	feat_account_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_store_population),
		cmocka_unit_test(test_store_format_marker),
		cmocka_unit_test(test_update_message),
		cmocka_unit_test(test_update_sparse_and_dense),
	};
	return cmocka_run_group_tests_name("feat_stage", tests, NULL, NULL);
}
