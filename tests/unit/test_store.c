/*
 * test_store.c — the LMDB score store: records, the by-name index (renames,
 * reuse of a name), feature vectors, numeric id order and scan cursors,
 * snapshots that do not block the writer, read-only opening, bad keys,
 * deletion (tombstones) and named values.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "store.h"

struct fixture {
	char dir[64];          /* temp store directory */
	struct bw_store *st;   /* writable store */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/bw_store_test_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->st = store_open(f->dir, true, 64, err, sizeof(err));
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	store_close(f->st);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Put one record {"user_id":id,"screen_name":name,"score":score}. */
static void put(struct bw_store *st, const char *id, const char *name, double score)
{
	char rec[256], err[256];
	int n = snprintf(rec, sizeof(rec), "{\"user_id\":\"%s\",\"screen_name\":\"%s\",\"score\":%g}",
			 id, name ? name : "", score);
	struct bw_store_txn *t = store_txn_begin(st, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(store_txn_put(t, id, name, rec, (size_t)n, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
}

static void test_put_get_and_names(void **state)
{
	struct fixture *f = *state;
	size_t len;
	int err;

	put(f->st, "12", "Alice_Bot", 0.9);
	char *r = store_get(f->st, "12", &len, &err);
	assert_non_null(r);
	assert_string_equal(r, "{\"user_id\":\"12\",\"screen_name\":\"Alice_Bot\",\"score\":0.9}");
	assert_int_equal(len, strlen(r));
	free(r);
	r = store_get_by_name(f->st, "aLiCe_bOt", &len, &err);
	assert_non_null(r);
	assert_non_null(strstr(r, "\"user_id\":\"12\""));
	free(r);

	assert_null(store_get(f->st, "13", &len, &err));
	assert_int_equal(err, BW_ENOENT);
	assert_null(store_get_by_name(f->st, "nobody", &len, &err));
	assert_int_equal(err, BW_ENOENT);

	/* rename: the old name no longer resolves, the new one does */
	put(f->st, "12", "alice_v2", 0.8);
	assert_null(store_get_by_name(f->st, "alice_bot", &len, &err));
	assert_int_equal(err, BW_ENOENT);
	r = store_get_by_name(f->st, "ALICE_V2", &len, &err);
	assert_non_null(r);
	assert_non_null(strstr(r, "0.8"));
	free(r);

	/* another account takes the name; renaming the first keeps the second's */
	put(f->st, "99", "alice_v2", 0.1);
	put(f->st, "12", "alice_v3", 0.7);
	r = store_get_by_name(f->st, "alice_v2", &len, &err);
	assert_non_null(r);
	assert_non_null(strstr(r, "\"user_id\":\"99\""));
	free(r);
	uint64_t n = 0;
	assert_int_equal(store_count(f->st, &n), 0);
	assert_int_equal(n, 2);
}

static void test_features_roundtrip(void **state)
{
	struct fixture *f = *state;
	char err[256];
	double v[5] = { 1.5, -2, 0, 1e300, 42 };
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	size_t n = 0;
	int e;

	assert_int_equal(store_txn_put(t, "7", NULL, "{}", 2, v, 5, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	double *got = store_get_features(f->st, "7", &n, &e);
	assert_non_null(got);
	assert_int_equal(n, 5);
	assert_memory_equal(got, v, sizeof(v));
	free(got);
	assert_null(store_get_features(f->st, "8", &n, &e));
	assert_int_equal(e, BW_ENOENT);
}

struct collect {
	char ids[16][32]; /* ids seen, in order */
	int n;            /* count */
	int stop_at;      /* stop after this many (0 = never) */
};

static int collect_cb(const char *id, const char *rec, size_t len, void *opaque)
{
	struct collect *c = opaque;
	assert_int_equal(strlen(rec), len); /* NUL-terminated */
	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", id);
	return c->stop_at && c->n == c->stop_at ? 77 : 0;
}

static void test_scan_numeric_order_and_cursor(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = { "100", "9", "did:plc:abc", "25", "1000000000000000000", "3" };
	struct collect c = { 0 };

	for (size_t i = 0; i < 6; i++)
		put(f->st, ids[i], NULL, 0.5);
	assert_int_equal(store_scan(f->st, NULL, collect_cb, &c), 0);
	assert_int_equal(c.n, 6);
	const char *want[] = { "3", "9", "25", "100", "1000000000000000000", "did:plc:abc" };
	for (int i = 0; i < 6; i++)
		assert_string_equal(c.ids[i], want[i]);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_scan(f->st, "25", collect_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.ids[0], "100");

	/* a cursor that is not itself a key starts at the next one */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_scan(f->st, "50", collect_cb, &c), 0);
	assert_string_equal(c.ids[0], "100");

	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(store_scan(f->st, NULL, collect_cb, &c), 77);
	assert_int_equal(c.n, 2);
}

static void test_snapshot_isolated_from_writer(void **state)
{
	struct fixture *f = *state;
	int err;
	size_t len;

	put(f->st, "1", "one", 0.1);
	struct bw_store_read *rd = store_read_begin(f->st, &err);
	assert_non_null(rd);
	/* the writer commits while the snapshot is open, without blocking */
	put(f->st, "2", "two", 0.2);
	assert_null(store_read_get(rd, "2", &len, &err));
	assert_int_equal(err, BW_ENOENT);
	const char *one = store_read_get_by_name(rd, "ONE", &len, &err);
	assert_non_null(one);
	assert_int_equal(strlen(one), len);
	store_read_end(rd);
	/* a new (pooled, renewed) snapshot sees the commit */
	rd = store_read_begin(f->st, &err);
	assert_non_null(store_read_get(rd, "2", &len, &err));
	store_read_end(rd);
	store_read_end(NULL);
}

/*
 * Regression (issue 20): a screen name of 256..1,024 bytes made store_txn_put()
 * fail, so `replay --store` exited 1 with nothing stored while the streaming
 * path dropped the account. The name is now indexed by its first 255 bytes,
 * cut at a UTF-8 boundary, for writer and reader alike.
 */
static void test_long_screen_name(void **state)
{
	struct fixture *f = *state;
	char name[1025], err[256], rec[] = "{\"user_id\":\"77\"}";
	size_t len;
	int e;

	/* 'a' then two-byte 'é's: byte 255 falls inside a character */
	name[0] = 'a';
	for (size_t i = 1; i + 1 < sizeof(name); i += 2)
		name[i] = (char)0xC3, name[i + 1] = (char)0xA9;
	name[sizeof(name) - 1] = '\0';
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	assert_int_equal(store_txn_put(t, "77", name, rec, strlen(rec), NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(store_txn_put(t, "78", "b", rec, strlen(rec), NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	char *r = store_get_by_name(f->st, name, &len, &e);
	assert_non_null(r);
	assert_string_equal(r, rec);
	free(r);
	/* the key is the whole characters of the first 255 bytes: 'a' + 127 'é' */
	name[255] = '\0';
	assert_non_null(r = store_get_by_name(f->st, name, &len, &e));
	free(r);
	name[254] = '\0'; /* one character fewer is another name */
	assert_null(store_get_by_name(f->st, name, &len, &e));
	assert_int_equal(e, BW_ENOENT);
}

static void test_readonly_and_errors(void **state)
{
	struct fixture *f = *state;
	char err[256], longkey[300];
	size_t len;
	int e;

	put(f->st, "5", "five", 0.5);
	struct bw_store *ro = store_open(f->dir, false, 64, err, sizeof(err));
	assert_non_null(ro);
	char *r = store_get(ro, "5", &len, &e);
	assert_non_null(r);
	free(r);
	assert_null(store_txn_begin(ro, err, sizeof(err)));
	assert_string_equal(err, "store opened read-only");
	store_close(ro);

	assert_null(store_open("/nonexistent/bw/store", false, 64, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/bw/store: no such store directory"));

	memset(longkey, '1', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_null(store_get(f->st, longkey, &len, &e));
	assert_int_equal(e, BW_EINVAL);
	assert_null(store_get(f->st, "", &len, &e));
	assert_int_equal(e, BW_EINVAL);
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	assert_int_equal(store_txn_put(t, longkey, NULL, "{}", 2, NULL, 0, err, sizeof(err)),
			 BW_EINVAL);
	assert_int_equal(store_txn_put(t, "6", NULL, "", 0, NULL, 0, err, sizeof(err)), BW_EINVAL);
	assert_int_equal(store_txn_put(t, "6", "", "{}", 2, NULL, 0, err, sizeof(err)), BW_EINVAL);
	store_txn_abort(t);
	store_txn_abort(NULL);
	store_close(NULL);
}

/* Regression (torture run, full/store-map): a full map says which store and
 * what to raise; it was "put name: MDB_MAP_FULL: ..." with no path. The
 * failed transaction leaves the committed records readable. */
static void test_map_full_names_the_path(void **state)
{
	struct fixture *f = *state;
	char err[512], rec[2048], id[32];
	int rc = 0;

	store_close(f->st);
	assert_non_null(f->st = store_open(f->dir, true, 1, err, sizeof(err)));
	put(f->st, "1", "first", 0.5);
	memset(rec, ' ', sizeof(rec));
	rec[0] = '{';
	rec[sizeof(rec) - 1] = '}';
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	assert_non_null(t);
	for (int i = 2; i < 5000 && !rc; i++) {
		snprintf(id, sizeof(id), "%d", i);
		rc = store_txn_put(t, id, NULL, rec, sizeof(rec), NULL, 0, err, sizeof(err));
	}
	if (rc) {
		store_txn_abort(t);
	} else {
		rc = store_txn_commit(t, err, sizeof(err));
	}
	assert_int_equal(rc, BW_ESTORE);
	assert_non_null(strstr(err, f->dir));
	assert_non_null(strstr(err, "MDB_MAP_FULL"));
	assert_non_null(strstr(err, "store.map_size_mb"));
	size_t len;
	int e;
	char *r = store_get(f->st, "1", &len, &e);
	assert_non_null(r);
	free(r);
}

/* A tombstone removes the record, its vector and its name (unless another
 * account took the name since); named values commit with the transaction. */
static void test_delete_and_meta(void **state)
{
	struct fixture *f = *state;
	char err[256];
	double v[3] = { 1, 0, 2 };
	size_t len = 0, n = 0;
	int e = 0;

	put(f->st, "7", "seven", 0.5);
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(store_txn_put(t, "8", "eight", "{\"user_id\":\"8\"}", 15, v, 3, err,
				       sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);

	/* a value never put, then one put in an aborted transaction: absent */
	assert_null(store_meta_get(f->st, "follow/scores/0", &len, &e));
	assert_int_equal(e, BW_ENOENT);
	t = store_txn_begin(f->st, err, sizeof(err));
	assert_int_equal(store_txn_meta_put(t, "follow/scores/0", "abc", 3, err, sizeof(err)), 0);
	store_txn_abort(t);
	assert_null(store_meta_get(f->st, "follow/scores/0", &len, &e));
	assert_int_equal(e, BW_ENOENT);

	t = store_txn_begin(f->st, err, sizeof(err));
	assert_int_equal(store_txn_del(t, "8", err, sizeof(err)), 0);
	assert_int_equal(store_txn_del(t, "404", err, sizeof(err)), 0); /* absent: fine */
	assert_int_equal(store_txn_del(t, "", err, sizeof(err)), BW_EINVAL);
	assert_int_equal(store_txn_meta_put(t, "follow/scores/0", "abcd", 4, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);

	char *m = store_meta_get(f->st, "follow/scores/0", &len, &e);
	assert_non_null(m);
	assert_int_equal(len, 4);
	assert_memory_equal(m, "abcd", 4);
	free(m);
	assert_null(store_get(f->st, "8", &len, &e));
	assert_int_equal(e, BW_ENOENT);
	assert_null(store_get_by_name(f->st, "eight", &len, &e));
	assert_int_equal(e, BW_ENOENT);
	assert_null(store_get_features(f->st, "8", &n, &e));
	assert_int_equal(e, BW_ENOENT);
	uint64_t count = 0;
	assert_int_equal(store_count(f->st, &count), 0);
	assert_int_equal(count, 1);

	/* the name moved to another account before the deletion: it stays theirs */
	put(f->st, "9", "seven", 0.1);
	t = store_txn_begin(f->st, err, sizeof(err));
	assert_int_equal(store_txn_del(t, "7", err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	char *r = store_get_by_name(f->st, "seven", &len, &e);
	assert_non_null(r);
	assert_non_null(strstr(r, "\"user_id\":\"9\""));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_numeric_order_and_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_isolated_from_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_screen_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full_names_the_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_meta, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
