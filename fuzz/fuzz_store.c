/*
 * fuzz_store.c — fuzz the score store's readers with stored values as a
 * damaged or foreign store may hold them: the first input byte picks the
 * table (records: the JSON record; fvec: the sparse feature vector; features:
 * the dense one), the rest is written raw (plain LMDB) as account "1"'s value;
 * the store is then opened read-only and read back as the API does (lookup,
 * vector, scan). Whatever reads must fail cleanly or stay within the value.
 */
#define _POSIX_C_SOURCE 200809L
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64]; /* the scratch store, made once */

static void make_store(void)
{
	char err[256];
	struct bw_store *st;
	struct bw_store_txn *t;
	const double vec[3] = { 1.0, 0.0, 2.5 };

	snprintf(dir, sizeof(dir), "/tmp/bw_fuzz_store_XXXXXX");
	if (!mkdtemp(dir) || !(st = store_open(dir, true, 16, err, sizeof(err))) ||
	    !(t = store_txn_begin(st, err, sizeof(err))) ||
	    store_txn_put(t, "1", "one", "{\"user_id\":\"1\"}", 15, vec, 3, err, sizeof(err)) ||
	    store_txn_commit(t, err, sizeof(err)))
		abort();
	store_close(st);
}

/* Write `v` as account "1"'s value in table `name` with plain LMDB. */
static void put_raw(const char *name, const uint8_t *v, size_t n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 1, (void *)"1" }, val = { n, (void *)v };

	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
	    mdb_env_set_mapsize(env, 16u << 20) || mdb_env_open(env, dir, 0, 0664))
		abort();
	if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, name, MDB_CREATE, &dbi) ||
	    mdb_put(txn, dbi, &k, &val, 0) || mdb_txn_commit(txn))
		abort();
	mdb_env_close(env);
}

static int on_record(const char *user_id, const char *record_json, size_t len, void *opaque)
{
	size_t *total = opaque;

	if (len > 65536 || record_json[len] != '\0') /* a record is its bytes plus a NUL */
		abort();
	*total += strlen(user_id) + len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tables[] = { "records", "fvec", "features" };
	char err[256];
	struct bw_store *st;
	size_t len = 0, n = 0, total = 0;
	int e = 0;

	if (!dir[0])
		make_store();
	if (size < 1 || size > 65536)
		return 0;
	put_raw(tables[data[0] % 3], data + 1, size - 1);
	if (!(st = store_open(dir, false, 16, err, sizeof(err))))
		abort();
	char *rec = store_get(st, "1", &len, &e);
	if (rec && (len > 65536 || rec[len] != '\0' || strlen(rec) > len))
		abort();
	free(rec);
	double *v = store_get_features(st, "1", &n, &e);
	for (size_t i = 0; v && i < n; i++)
		total += v[i] != 0.0;
	free(v);
	store_scan(st, NULL, on_record, &total);
	store_close(st);
	return 0;
}
