/*
 * feat_store.c — the LMDB store of per-account feature state (feat_stage.h).
 *
 * Databases in the environment directory:
 *   "acct"    account id -> feat_account_save() bytes
 *   "offsets" "<topic>\0<partition as 4 bytes LE>" -> next offset, 8 bytes LE
 *   "pop"     population key (8 bytes LE, feat_account_pop_keys) -> account ids, one
 *             duplicate value per account (the population table, feat.h)
 *   "meta"    "format" -> "BWFS2 v<FEAT_SCHEMA_VERSION>" (checked on open)
 *   "unsent"  account id -> empty: accounts changed before the last checkpoint whose
 *             feature update was not produced yet (sent again after a restart)
 * State, population and offsets are written in one transaction, so a crash
 * loses none of them and counts nothing twice. One write transaction at a time (LMDB's rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "bw_err.h"
#include "bw_fs.h"
#include "feat_int.h"
#include "feat_stage.h"

struct feat_store {
	MDB_env *env;     /* the environment */
	MDB_dbi acct;     /* account states */
	MDB_dbi offsets;  /* consumer offsets */
	MDB_dbi meta;     /* format marker */
	MDB_dbi pop;      /* bio key -> account ids (dupsort) */
	MDB_dbi unsent;   /* account ids whose update is still to be produced */
	MDB_txn *txn;     /* the open write transaction, or NULL */
	bool env_open;    /* mdb_env_open succeeded (the path is known) */
};

/* The error of LMDB call `what`, naming the state directory once the
 * environment is open (a full map or disk must say which store). */
static int lmdb_err(const struct feat_store *s, char *errstr, size_t errlen, const char *what,
		    int rc)
{
	const char *path = NULL;

	if (s && s->env && s->env_open)
		mdb_env_get_path(s->env, &path);
	return bw_seterr(errstr, errlen, BW_ESTORE, "feature state store%s%s: %s: %s%s",
			 path ? " " : "", path ? path : "", what, mdb_strerror(rc),
			 rc == MDB_MAP_FULL ? " (raise features.map_size_mb)" : "");
}

/* Create the databases and check (or write) the format marker. */
static int open_dbs(struct feat_store *s, char *errstr, size_t errlen)
{
	char want[32];
	MDB_txn *txn;
	MDB_val k = { 6, "format" }, v;
	int rc;

	snprintf(want, sizeof(want), "BWFS2 v%d", FEAT_SCHEMA_VERSION);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		return lmdb_err(s, errstr, errlen, "begin", rc);
	if ((rc = mdb_dbi_open(txn, "acct", MDB_CREATE, &s->acct)) ||
	    (rc = mdb_dbi_open(txn, "offsets", MDB_CREATE, &s->offsets)) ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) ||
	    (rc = mdb_dbi_open(txn, "pop", MDB_CREATE | MDB_DUPSORT, &s->pop)) ||
	    (rc = mdb_dbi_open(txn, "unsent", MDB_CREATE, &s->unsent))) {
		mdb_txn_abort(txn);
		return lmdb_err(s, errstr, errlen, "open databases", rc);
	}
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0 && (v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size) != 0)) {
		mdb_txn_abort(txn);
		return bw_seterr(errstr, errlen, BW_ESCHEMA,
				 "feature state store: written in another state format (%.*s, this "
				 "build uses %s): move the directory away and replay",
				 (int)(v.mv_size < 40 ? v.mv_size : 40), (const char *)v.mv_data, want);
	}
	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(want);
		v.mv_data = want;
		rc = mdb_put(txn, s->meta, &k, &v, 0);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(s, errstr, errlen, "format marker", rc);
	}
	if ((rc = mdb_txn_commit(txn)))
		return lmdb_err(s, errstr, errlen, "commit", rc);
	return 0;
}

struct feat_store *feat_store_open(const char *dir, size_t map_mb, char *errstr, size_t errlen)
{
	struct feat_store *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	if (bw_mkdir_p(dir, 0755, errstr, errlen))
		goto out_free;
	if ((rc = mdb_env_create(&s->env))) {
		lmdb_err(s, errstr, errlen, "create", rc);
		goto out_free;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, 6)) ||
	    (rc = mdb_env_set_mapsize(s->env, map_mb * 1024 * 1024)) ||
	    (rc = mdb_env_open(s->env, dir, 0, 0644))) {
		lmdb_err(s, errstr, errlen, dir, rc);
		goto out_close;
	}
	s->env_open = true;
	if (open_dbs(s, errstr, errlen))
		goto out_close;
	return s;
out_close:
	mdb_env_close(s->env);
out_free:
	free(s);
	return NULL;
}

void feat_store_close(struct feat_store *s)
{
	if (!s)
		return;
	feat_store_abort(s);
	mdb_env_close(s->env);
	free(s);
}

bool feat_store_in_txn(const struct feat_store *s)
{
	return s->txn != NULL;
}

int feat_store_begin(struct feat_store *s, char *errstr, size_t errlen)
{
	int rc;

	if (s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: transaction open");
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->txn))) {
		s->txn = NULL;
		return lmdb_err(s, errstr, errlen, "begin", rc);
	}
	return 0;
}

int feat_store_commit(struct feat_store *s, char *errstr, size_t errlen)
{
	int rc;

	if (!s->txn)
		return 0;
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	return rc ? lmdb_err(s, errstr, errlen, "commit", rc) : 0;
}

void feat_store_abort(struct feat_store *s)
{
	if (s && s->txn) {
		mdb_txn_abort(s->txn);
		s->txn = NULL;
	}
}

int feat_store_get(struct feat_store *s, const char *user_id, struct feat_account **out,
		   char *errstr, size_t errlen)
{
	MDB_val k = { strlen(user_id), (void *)user_id }, v;
	int rc;

	*out = NULL;
	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	rc = mdb_get(s->txn, s->acct, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_err(s, errstr, errlen, "get", rc);
	*out = feat_account_load(v.mv_data, v.mv_size, errstr, errlen);
	return *out ? 0 : BW_EPARSE;
}

int feat_store_put(struct feat_store *s, const struct feat_account *acc, char *errstr,
		   size_t errlen)
{
	const char *id = feat_account_id(acc);
	MDB_val k = { strlen(id), (void *)id }, v;
	void *buf;
	size_t len;
	int rc;

	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	if ((rc = feat_account_save(acc, &buf, &len)))
		return bw_seterr(errstr, errlen, rc, "feature state: %s", bw_strerror(rc));
	v.mv_size = len;
	v.mv_data = buf;
	rc = mdb_put(s->txn, s->acct, &k, &v, 0);
	free(buf);
	return rc ? lmdb_err(s, errstr, errlen, "put", rc) : 0;
}

/* "<topic>\0" + partition (4 bytes LE) into buf; returns the key length or 0. */
static size_t offset_key(char *buf, size_t cap, const char *topic, int32_t partition)
{
	size_t n = strlen(topic);
	uint32_t p = (uint32_t)partition;

	if (n + 5 > cap)
		return 0;
	memcpy(buf, topic, n + 1);
	for (int i = 0; i < 4; i++)
		buf[n + 1 + (size_t)i] = (char)((p >> (8 * i)) & 0xFF);
	return n + 5;
}

int feat_store_offset_get(struct feat_store *s, const char *topic, int32_t partition,
			  int64_t *offset)
{
	char key[300];
	MDB_val k, v;
	MDB_txn *txn = s->txn;
	uint64_t o = 0;
	int rc;

	if (!(k.mv_size = offset_key(key, sizeof(key), topic, partition)))
		return BW_EINVAL;
	k.mv_data = key;
	if (!txn && mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return BW_ESTORE;
	rc = mdb_get(txn, s->offsets, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		for (int i = 7; i >= 0; i--)
			o = (o << 8) | ((const unsigned char *)v.mv_data)[i];
	if (txn != s->txn)
		mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return BW_ENOENT;
	if (rc || v.mv_size != 8)
		return BW_ESTORE;
	*offset = (int64_t)o;
	return 0;
}

int feat_store_offset_put(struct feat_store *s, const char *topic, int32_t partition,
			  int64_t offset, char *errstr, size_t errlen)
{
	char key[300];
	unsigned char val[8];
	MDB_val k, v = { 8, val };
	int rc;

	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	if (!(k.mv_size = offset_key(key, sizeof(key), topic, partition)))
		return bw_seterr(errstr, errlen, BW_EINVAL, "topic name too long");
	k.mv_data = key;
	for (int i = 0; i < 8; i++)
		val[i] = (unsigned char)(((uint64_t)offset >> (8 * i)) & 0xFF);
	rc = mdb_put(s->txn, s->offsets, &k, &v, 0);
	return rc ? lmdb_err(s, errstr, errlen, "put offset", rc) : 0;
}

int feat_store_count(struct feat_store *s, uint64_t *n)
{
	MDB_txn *txn = s->txn;
	MDB_stat st;
	int rc;

	if (!txn && mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return BW_ESTORE;
	rc = mdb_stat(txn, s->acct, &st);
	if (txn != s->txn)
		mdb_txn_abort(txn);
	if (rc)
		return BW_ESTORE;
	*n = st.ms_entries;
	return 0;
}

/* A cursor on `dbi` in a read transaction of its own; the caller closes the
 * cursor and aborts the transaction. 0 or BW_ESTORE. */
static int read_cursor(struct feat_store *s, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **cur,
		       char *errstr, size_t errlen)
{
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn)))
		return lmdb_err(s, errstr, errlen, "begin", rc);
	if ((rc = mdb_cursor_open(*txn, dbi, cur))) {
		mdb_txn_abort(*txn);
		return lmdb_err(s, errstr, errlen, "cursor", rc);
	}
	return 0;
}

int feat_store_each(struct feat_store *s, feat_store_cb cb, void *opaque, char *errstr,
		    size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, cbrc = 0;

	if (read_cursor(s, s->acct, &txn, &cur, errstr, errlen))
		return BW_ESTORE;
	while (!cbrc && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		struct feat_account *a = feat_account_load(v.mv_data, v.mv_size, errstr, errlen);
		if (!a) {
			cbrc = BW_EPARSE;
			break;
		}
		cbrc = cb(a, opaque);
		feat_account_free(a);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (cbrc)
		return cbrc;
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(s, errstr, errlen, "scan", rc);
}

/* ---- population table ---------------------------------------------------------- */

static void pop_key(unsigned char buf[8], uint64_t key)
{
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((key >> (8 * i)) & 0xFF);
}

int feat_store_pop_move(struct feat_store *s, const char *user_id, uint64_t from, uint64_t to,
			char *errstr, size_t errlen)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v = { strlen(user_id), (void *)user_id };
	int rc;

	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	if (from == to)
		return 0;
	if (from) {
		pop_key(kb, from);
		rc = mdb_del(s->txn, s->pop, &k, &v);
		if (rc && rc != MDB_NOTFOUND)
			return lmdb_err(s, errstr, errlen, "population delete", rc);
	}
	if (to) {
		pop_key(kb, to);
		v.mv_size = strlen(user_id);
		v.mv_data = (void *)user_id;
		rc = mdb_put(s->txn, s->pop, &k, &v, MDB_NODUPDATA);
		if (rc && rc != MDB_KEYEXIST)
			return lmdb_err(s, errstr, errlen, "population put", rc);
	}
	return 0;
}

int feat_store_pop_members(struct feat_store *s, uint64_t key, size_t max, feat_store_id_cb cb,
			   void *opaque, uint32_t *count, char *errstr, size_t errlen)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *cur;
	size_t n = 0;
	int rc, cbrc = 0;

	*count = 0;
	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	if (!key)
		return 0;
	pop_key(kb, key);
	if ((rc = mdb_cursor_open(s->txn, s->pop, &cur)))
		return lmdb_err(s, errstr, errlen, "population cursor", rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	if (rc == 0 && (rc = mdb_cursor_count(cur, &n)) == 0) {
		*count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		for (size_t i = 0; i < max && rc == 0 && !cbrc; i++) {
			cbrc = cb(v.mv_data, v.mv_size, opaque);
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
		}
	}
	mdb_cursor_close(cur);
	if (cbrc)
		return cbrc;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(s, errstr, errlen, "population scan", rc);
}

int feat_store_pop_most(struct feat_store *s, const uint64_t *keys, size_t n, uint32_t *most,
			char *errstr, size_t errlen)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *cur;
	int rc = 0;

	*most = 0;
	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_EINVAL, "feature state store: no transaction");
	if (n == 0)
		return 0;
	if ((rc = mdb_cursor_open(s->txn, s->pop, &cur)))
		return lmdb_err(s, errstr, errlen, "population cursor", rc);
	for (size_t i = 0; i < n && (rc == 0 || rc == MDB_NOTFOUND); i++) {
		size_t c = 0;
		pop_key(kb, keys[i]);
		k.mv_size = 8;
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
		if (rc == 0 && (rc = mdb_cursor_count(cur, &c)) == 0 && c > *most)
			*most = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(s, errstr, errlen, "population count", rc);
}

int feat_store_pop_counts(struct feat_store *s, struct feat_pop *pop, char *errstr, size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	if (read_cursor(s, s->pop, &txn, &cur, errstr, errlen))
		return BW_ESTORE;
	while (!err && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) == 0) {
		const unsigned char *b = k.mv_data;
		uint64_t key = 0;
		size_t n = 0;
		if (k.mv_size != 8 || (rc = mdb_cursor_count(cur, &n)))
			break;
		for (int i = 0; i < 8; i++)
			key |= (uint64_t)b[i] << (8 * i);
		err = feat_pop_add(pop, key, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (err)
		return bw_seterr(errstr, errlen, err, "out of memory");
	if (rc == 0)
		return bw_seterr(errstr, errlen, BW_ESTORE, "feature state store: bad population key");
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(s, errstr, errlen, "population scan", rc);
}

int feat_store_unsent_set(struct feat_store *s, const char *const *ids, size_t n, char *errstr,
			  size_t errlen)
{
	MDB_val k, v = { 0, "" };
	int rc;

	if (!s->txn)
		return bw_seterr(errstr, errlen, BW_ESTORE, "no open transaction");
	if ((rc = mdb_drop(s->txn, s->unsent, 0)))
		return lmdb_err(s, errstr, errlen, "clear unsent", rc);
	for (size_t i = 0; i < n; i++) {
		k = (MDB_val){ strlen(ids[i]), (void *)ids[i] };
		if ((rc = mdb_put(s->txn, s->unsent, &k, &v, 0)))
			return lmdb_err(s, errstr, errlen, "put unsent", rc);
	}
	return 0;
}

int feat_store_unsent_each(struct feat_store *s, feat_store_id_cb cb, void *opaque, char *errstr,
			   size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = read_cursor(s, s->unsent, &txn, &cur, errstr, errlen), mrc;

	if (rc)
		return rc;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !rc;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		rc = cb(k.mv_data, k.mv_size, opaque);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (!rc && mrc != MDB_NOTFOUND)
		return lmdb_err(s, errstr, errlen, "read unsent", mrc);
	return rc;
}
