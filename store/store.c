/*
 * store.c — the score-record store on LMDB (see store.h).
 *
 * Four named databases in one environment:
 *   records   id → score record JSON plus a trailing NUL (so borrowed reads
 *             are C strings); ids compare numerically when all digits
 *   features  id → feature vector, native-endian doubles
 *   names     lower-cased screen name → id
 *   id2name   id → lower-cased screen name (to retire a renamed account's old
 *             name from `names`)
 *
 * Readers use read-only transactions on an MDB_NOTLS environment. Ended
 * snapshots are reset and kept in a small pool, so a lookup renews a reader
 * slot it already owns instead of taking LMDB's reader-table lock.
 *
 * When another process (the writer, restarted with a larger store.map_size_mb)
 * grows the map, a new read transaction fails with MDB_MAP_RESIZED until this
 * process adopts the new size with mdb_env_set_mapsize(env, 0), which LMDB
 * allows only while no transaction of the process is active. Snapshots
 * therefore hold `resize` shared; adopting the new size takes it exclusively.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "bw_fs.h"

#define STORE_MAX_FEATURES 1000000 /* most values a stored vector may claim */
#define READ_POOL 64 /* reset read transactions kept for reuse */

struct bw_store {
	MDB_env *env;                 /* the LMDB environment */
	MDB_dbi records;              /* id → record JSON + NUL */
	MDB_dbi features;             /* id → doubles (dense; written before the sparse vectors) */
	MDB_dbi fvec;                 /* id → uvar n + sparse vector (bw_codec.h) */
	bool has_fvec;                /* fvec exists (a read-only older store may lack it) */
	MDB_dbi meta;                 /* name → small value (store_txn_meta_put) */
	bool has_meta;                /* meta exists (older stores lack it until written) */
	MDB_dbi names;                /* lower(screen name) → id */
	MDB_dbi id2name;              /* id → lower(screen name) */
	bool writable;                /* opened for writing */
	bool env_open;                /* mdb_env_open succeeded (the path is known) */
	pthread_rwlock_t resize;      /* shared by open snapshots, exclusive to adopt a grown map */
	pthread_mutex_t pool_lock;    /* guards pool / n_pool */
	MDB_txn *pool[READ_POOL];     /* reset read txns ready for mdb_txn_renew */
	size_t n_pool;                /* used entries of pool */
};

struct bw_store_txn {
	struct bw_store *st; /* owning store */
	MDB_txn *txn;        /* the LMDB write transaction */
};

struct bw_store_read {
	struct bw_store *st; /* owning store */
	MDB_txn *txn;        /* read-only LMDB transaction */
};

static bool all_digits(const MDB_val *v)
{
	const unsigned char *p = v->mv_data;

	if (v->mv_size == 0)
		return false;
	for (size_t i = 0; i < v->mv_size; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Numeric order for decimal ids (shorter is smaller), before other ids (bytewise). */
static int id_cmp(const MDB_val *a, const MDB_val *b)
{
	bool da = all_digits(a), db = all_digits(b);
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int c;

	if (da != db)
		return da ? -1 : 1;
	if (da && a->mv_size != b->mv_size)
		return a->mv_size < b->mv_size ? -1 : 1;
	c = memcmp(a->mv_data, b->mv_data, n);
	if (c)
		return c;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* The error of LMDB call `what` on the store `st` (NULL before it is open),
 * naming its directory (a full map or disk must say which store). */
static int lmdb_err(const struct bw_store *st, char *errstr, size_t errlen, int rc,
		    const char *what)
{
	const char *path = NULL;

	if (st && st->env_open)
		mdb_env_get_path(st->env, &path);
	return bw_seterr(errstr, errlen, BW_ESTORE, "%s%s%s: %s%s", path ? path : "",
			 path ? ": " : "", what, mdb_strerror(rc),
			 rc == MDB_MAP_FULL ? " (raise store.map_size_mb)" : "");
}

static bool valid_key(const char *s, size_t *len)
{
	if (!s)
		return false;
	*len = strnlen(s, BW_STORE_MAX_KEY + 1);
	return *len > 0 && *len <= BW_STORE_MAX_KEY;
}

/*
 * ASCII lower-case copy of a screen name into buf (BW_STORE_MAX_KEY + 1 bytes).
 * A name longer than BW_STORE_MAX_KEY bytes is cut there, back to the start of
 * the UTF-8 character the cut falls in: the same key for writer and reader, so
 * an over-long name (decoders keep far longer ones) is indexed rather than
 * failing the whole transaction. False for NULL or "".
 */
static bool name_key(const char *name, char *buf, size_t *len)
{
	if (!name || !(*len = strnlen(name, BW_STORE_MAX_KEY + 1)))
		return false;
	if (*len > BW_STORE_MAX_KEY) {
		*len = BW_STORE_MAX_KEY;
		while (*len && ((unsigned char)name[*len] & 0xC0) == 0x80)
			(*len)--;
		if (!*len)
			return false;
	}
	for (size_t i = 0; i < *len; i++) {
		char c = name[i];
		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	buf[*len] = '\0';
	return true;
}

/* Open the databases in one transaction; creates them when writable. */
static int open_dbis(struct bw_store *st, char *errstr, size_t errlen)
{
	unsigned flags = st->writable ? MDB_CREATE : 0;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, st->writable ? 0 : MDB_RDONLY, &txn);

	if (rc)
		return lmdb_err(st, errstr, errlen, rc, "begin");
	if ((rc = mdb_dbi_open(txn, "records", flags, &st->records)) ||
	    (rc = mdb_dbi_open(txn, "features", flags, &st->features)) ||
	    (rc = mdb_dbi_open(txn, "names", flags, &st->names)) ||
	    (rc = mdb_dbi_open(txn, "id2name", flags, &st->id2name))) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			return bw_seterr(errstr, errlen, BW_ESTORE,
					 "not a botwatch store (no score records written yet)");
		return lmdb_err(st, errstr, errlen, rc, "open databases");
	}
	rc = mdb_dbi_open(txn, "fvec", flags, &st->fvec);
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_err(st, errstr, errlen, rc, "open databases");
	}
	st->has_fvec = rc == 0;
	if (st->has_fvec)
		mdb_set_compare(txn, st->fvec, id_cmp);
	rc = mdb_dbi_open(txn, "meta", flags, &st->meta);
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_err(st, errstr, errlen, rc, "open databases");
	}
	st->has_meta = rc == 0;
	mdb_set_compare(txn, st->records, id_cmp);
	mdb_set_compare(txn, st->features, id_cmp);
	mdb_set_compare(txn, st->id2name, id_cmp);
	if ((rc = mdb_txn_commit(txn)))
		return lmdb_err(st, errstr, errlen, rc, "commit");
	return 0;
}

struct bw_store *store_open(const char *path, bool writable, size_t map_size_mb, char *errstr,
			    size_t errlen)
{
	struct bw_store *st = calloc(1, sizeof(*st));
	unsigned flags = MDB_NOTLS | (writable ? 0 : MDB_RDONLY);
	int rc;

	if (!st) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	st->writable = writable;
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_rwlock_init(&st->resize, NULL);
	if (writable && bw_mkdir_p(path, 0775, errstr, errlen))
		goto out_free;
	if ((rc = mdb_env_create(&st->env))) {
		lmdb_err(st, errstr, errlen, rc, path);
		goto out_free;
	}
	if ((rc = mdb_env_set_maxdbs(st->env, 8)) ||
	    (rc = mdb_env_set_maxreaders(st->env, 512)) ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)map_size_mb << 20)) ||
	    (rc = mdb_env_open(st->env, path, flags, 0664))) {
		bw_seterr(errstr, errlen, BW_ESTORE, "%s: %s", path,
			  rc == ENOENT ? "no such store directory" : mdb_strerror(rc));
		goto out_close_env;
	}
	st->env_open = true;
	if (open_dbis(st, errstr, errlen))
		goto out_close_env;
	return st;

out_close_env:
	mdb_env_close(st->env);
out_free:
	pthread_rwlock_destroy(&st->resize);
	pthread_mutex_destroy(&st->pool_lock);
	free(st);
	return NULL;
}

void store_close(struct bw_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_pool; i++)
		mdb_txn_abort(st->pool[i]);
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	pthread_mutex_destroy(&st->pool_lock);
	free(st);
}

/* --- writing ------------------------------------------------------------- */

struct bw_store_txn *store_txn_begin(struct bw_store *st, char *errstr, size_t errlen)
{
	struct bw_store_txn *t;
	int rc;

	if (!st->writable) {
		bw_seterr(errstr, errlen, BW_ESTORE, "store opened read-only");
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	t->st = st;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &t->txn))) {
		lmdb_err(st, errstr, errlen, rc, "begin write");
		free(t);
		return NULL;
	}
	return t;
}

int store_txn_commit(struct bw_store_txn *txn, char *errstr, size_t errlen)
{
	int rc = mdb_txn_commit(txn->txn);
	const struct bw_store *st = txn->st;

	free(txn);
	return rc ? lmdb_err(st, errstr, errlen, rc, "commit") : 0;
}

void store_txn_abort(struct bw_store_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn->txn);
	free(txn);
}

/* Point the by-name index at `id` for `name`, retiring the id's previous name. */
static int put_name(struct bw_store_txn *t, MDB_val *id, const char *name, char *errstr,
		    size_t errlen)
{
	char lower[BW_STORE_MAX_KEY + 1];
	size_t len;
	MDB_val nk, old, owner;
	int rc;

	if (!name_key(name, lower, &len))
		return bw_seterr(errstr, errlen, BW_EINVAL, "empty screen name");
	nk = (MDB_val){ len, lower };
	rc = mdb_get(t->txn, t->st->id2name, id, &old);
	if (rc == 0 && old.mv_size == len && memcmp(old.mv_data, lower, len) == 0 &&
	    mdb_get(t->txn, t->st->names, &nk, &owner) == 0 && id_cmp(&owner, id) == 0)
		return 0; /* the same name, still this account's: no page to rewrite */
	if (rc == 0 && !(old.mv_size == len && memcmp(old.mv_data, lower, len) == 0)) {
		/* renamed: drop the old name unless another account took it since */
		MDB_val ok = old;
		if (mdb_get(t->txn, t->st->names, &ok, &owner) == 0 && id_cmp(&owner, id) == 0 &&
		    (rc = mdb_del(t->txn, t->st->names, &ok, NULL)))
			return lmdb_err(t->st, errstr, errlen, rc, "delete old name");
	} else if (rc && rc != MDB_NOTFOUND) {
		return lmdb_err(t->st, errstr, errlen, rc, "read name");
	}
	if ((rc = mdb_put(t->txn, t->st->names, &nk, id, 0)) ||
	    (rc = mdb_put(t->txn, t->st->id2name, id, &nk, 0)))
		return lmdb_err(t->st, errstr, errlen, rc, "put name");
	return 0;
}

int store_txn_put(struct bw_store_txn *txn, const char *user_id, const char *screen_name,
		  const char *record_json, size_t len, const double *features, size_t n_features,
		  char *errstr, size_t errlen)
{
	size_t idlen;
	MDB_val k, v;
	int rc;

	if (!valid_key(user_id, &idlen))
		return bw_seterr(errstr, errlen, BW_EINVAL, "account id must be 1..%d bytes",
				 BW_STORE_MAX_KEY);
	if (!record_json || len == 0)
		return bw_seterr(errstr, errlen, BW_EINVAL, "empty score record for %s", user_id);
	k = (MDB_val){ idlen, (void *)user_id };
	/* reserve len + 1 and copy, so the stored value ends in NUL */
	v = (MDB_val){ len + 1, NULL };
	if ((rc = mdb_put(txn->txn, txn->st->records, &k, &v, MDB_RESERVE)))
		return lmdb_err(txn->st, errstr, errlen, rc, "put record");
	memcpy(v.mv_data, record_json, len);
	((char *)v.mv_data)[len] = '\0';
	if (features) {
		/* sparse: about a fifth of the values are not zero */
		unsigned char *p = malloc(BW_UVAR_MAX + bw_svec_bound(n_features));
		MDB_val fv = { 0, p };
		if (!p)
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		fv.mv_size = bw_uvar_put(p, n_features);
		fv.mv_size += bw_svec_put(p + fv.mv_size, features, n_features);
		rc = mdb_put(txn->txn, txn->st->fvec, &k, &fv, 0);
		free(p);
		if (rc)
			return lmdb_err(txn->st, errstr, errlen, rc, "put features");
	}
	if (screen_name)
		return put_name(txn, &k, screen_name, errstr, errlen);
	return 0;
}

int store_set_deferred_sync(struct bw_store *st, bool deferred, char *errstr, size_t errlen)
{
	int rc = mdb_env_set_flags(st->env, MDB_NOSYNC, deferred ? 1 : 0);

	return rc ? lmdb_err(st, errstr, errlen, rc, "set flags") : 0;
}

int store_sync(struct bw_store *st, char *errstr, size_t errlen)
{
	int rc = mdb_env_sync(st->env, 1);

	return rc ? lmdb_err(st, errstr, errlen, rc, "sync") : 0;
}

/* --- reading ------------------------------------------------------------- */

/* A read transaction from the pool or new; call with `resize` held shared. */
static int read_txn(struct bw_store *st, MDB_txn **out)
{
	MDB_txn *txn = NULL;
	int rc;

	pthread_mutex_lock(&st->pool_lock);
	if (st->n_pool)
		txn = st->pool[--st->n_pool];
	pthread_mutex_unlock(&st->pool_lock);
	if (txn && (rc = mdb_txn_renew(txn)) == 0) {
		*out = txn;
		return 0;
	}
	if (txn)
		mdb_txn_abort(txn);
	return mdb_txn_begin(st->env, NULL, MDB_RDONLY, out);
}

struct bw_store_read *store_read_begin(struct bw_store *st, int *err)
{
	struct bw_store_read *rd = malloc(sizeof(*rd));
	int rc;

	if (!rd) {
		*err = BW_ENOMEM;
		return NULL;
	}
	rd->st = st;
	pthread_rwlock_rdlock(&st->resize);
	rc = read_txn(st, &rd->txn);
	if (rc == MDB_MAP_RESIZED) {
		/* another process grew the map: adopt its size, then retry once */
		pthread_rwlock_unlock(&st->resize);
		pthread_rwlock_wrlock(&st->resize);
		rc = mdb_env_set_mapsize(st->env, 0);
		pthread_rwlock_unlock(&st->resize);
		pthread_rwlock_rdlock(&st->resize);
		if (rc == 0)
			rc = read_txn(st, &rd->txn);
	}
	if (rc) {
		pthread_rwlock_unlock(&st->resize);
		free(rd);
		*err = BW_ESTORE;
		return NULL;
	}
	return rd;
}

void store_read_end(struct bw_store_read *rd)
{
	struct bw_store *st;

	if (!rd)
		return;
	st = rd->st;
	mdb_txn_reset(rd->txn);
	pthread_mutex_lock(&st->pool_lock);
	if (st->n_pool < READ_POOL) {
		st->pool[st->n_pool++] = rd->txn;
		rd->txn = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	if (rd->txn)
		mdb_txn_abort(rd->txn);
	pthread_rwlock_unlock(&st->resize);
	free(rd);
}

/* Borrowed record for key k, or NULL with *err. */
/* A stored record is its JSON bytes and a NUL (store_txn_put); anything else
 * (an empty or unterminated value of a damaged store) is refused. */
static bool record_ok(const MDB_val *v)
{
	return v->mv_size > 0 && ((const char *)v->mv_data)[v->mv_size - 1] == '\0';
}

static const char *read_record(struct bw_store_read *rd, MDB_val *k, size_t *len, int *err)
{
	MDB_val v;
	int rc = mdb_get(rd->txn, rd->st->records, k, &v);

	if (rc || !record_ok(&v)) {
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
		return NULL;
	}
	if (len)
		*len = v.mv_size - 1;
	return v.mv_data;
}

const char *store_read_get(struct bw_store_read *rd, const char *user_id, size_t *len,
			   int *err)
{
	size_t idlen;
	MDB_val k;

	if (!valid_key(user_id, &idlen)) {
		*err = BW_EINVAL;
		return NULL;
	}
	k = (MDB_val){ idlen, (void *)user_id };
	return read_record(rd, &k, len, err);
}

const char *store_read_get_by_name(struct bw_store_read *rd, const char *screen_name,
				   size_t *len, int *err)
{
	char lower[BW_STORE_MAX_KEY + 1];
	size_t n;
	MDB_val k, id;
	int rc;

	if (!name_key(screen_name, lower, &n)) {
		*err = BW_EINVAL;
		return NULL;
	}
	k = (MDB_val){ n, lower };
	if ((rc = mdb_get(rd->txn, rd->st->names, &k, &id))) {
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
		return NULL;
	}
	return read_record(rd, &id, len, err);
}

/* malloc'd copy of a borrowed record; NULL with *err. */
static char *dup_record(const char *rec, size_t n, size_t *len, int *err)
{
	char *out;

	if (!rec)
		return NULL;
	if (!(out = malloc(n + 1))) {
		*err = BW_ENOMEM;
		return NULL;
	}
	memcpy(out, rec, n + 1);
	if (len)
		*len = n;
	*err = 0;
	return out;
}

/* malloc'd copy of the record for an id or a screen name. */
static char *get_copy(struct bw_store *st, const char *key, bool by_name, size_t *len, int *err)
{
	struct bw_store_read *rd = store_read_begin(st, err);
	const char *rec;
	size_t n = 0;
	char *out;

	if (!rd)
		return NULL;
	rec = by_name ? store_read_get_by_name(rd, key, &n, err) : store_read_get(rd, key, &n, err);
	out = dup_record(rec, n, len, err);
	store_read_end(rd);
	return out;
}

char *store_get(struct bw_store *st, const char *user_id, size_t *len, int *err)
{
	return get_copy(st, user_id, false, len, err);
}

char *store_get_by_name(struct bw_store *st, const char *screen_name, size_t *len, int *err)
{
	return get_copy(st, screen_name, true, len, err);
}

/* Expand a stored sparse vector (uvar n, then bw_svec); NULL with *err on a
 * malformed value. Caller frees. */
static double *sparse_vector(const MDB_val *v, size_t *n, int *err)
{
	struct bw_cursor c = { v->mv_data, v->mv_size, 0, false };
	const unsigned char *pairs;
	uint64_t m = bw_uvar_get(&c);
	size_t k;
	double *out;

	if (c.bad || m > STORE_MAX_FEATURES || !bw_svec_check(&c, (size_t)m, &k, &pairs)) {
		*err = BW_ESTORE;
		return NULL;
	}
	if (!(out = malloc(m ? m * sizeof(*out) : 1))) {
		*err = BW_ENOMEM;
		return NULL;
	}
	bw_svec_get(pairs, k, out, (size_t)m);
	*n = (size_t)m;
	*err = 0;
	return out;
}

double *store_read_get_features(struct bw_store_read *rd, const char *user_id, size_t *n,
				int *err)
{
	size_t idlen;
	MDB_val k, v;
	double *out;
	int rc;

	if (!valid_key(user_id, &idlen)) {
		*err = BW_EINVAL;
		return NULL;
	}
	k = (MDB_val){ idlen, (void *)user_id };
	if (rd->st->has_fvec && (rc = mdb_get(rd->txn, rd->st->fvec, &k, &v)) != MDB_NOTFOUND)
		return rc ? (*err = BW_ESTORE, NULL) : sparse_vector(&v, n, err);
	if ((rc = mdb_get(rd->txn, rd->st->features, &k, &v))) {
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
		return NULL;
	}
	/* copied: LMDB values are not aligned for doubles */
	if (!(out = malloc(v.mv_size ? v.mv_size : 1))) {
		*err = BW_ENOMEM;
		return NULL;
	}
	memcpy(out, v.mv_data, v.mv_size);
	*n = v.mv_size / sizeof(double);
	*err = 0;
	return out;
}

double *store_get_features(struct bw_store *st, const char *user_id, size_t *n, int *err)
{
	struct bw_store_read *rd = store_read_begin(st, err);
	double *out;

	if (!rd)
		return NULL;
	out = store_read_get_features(rd, user_id, n, err);
	store_read_end(rd);
	return out;
}

/* Position `cur` on the first record after `after_id` (or the first one). */
static int scan_start(MDB_cursor *cur, const char *after_id, MDB_val *k, MDB_val *v)
{
	size_t n;
	int rc;

	if (!after_id)
		return mdb_cursor_get(cur, k, v, MDB_FIRST);
	if (!valid_key(after_id, &n))
		return EINVAL;
	MDB_val want = { n, (void *)after_id };
	*k = want;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == 0 && id_cmp(k, &want) == 0)
		rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	return rc;
}

int store_scan(struct bw_store *st, const char *after_id, store_scan_cb cb, void *opaque)
{
	char id[BW_STORE_MAX_KEY + 1];
	struct bw_store_read *rd;
	MDB_cursor *cur;
	MDB_val k, v;
	int err = 0, rc;

	if (!(rd = store_read_begin(st, &err)))
		return err;
	if ((rc = mdb_cursor_open(rd->txn, st->records, &cur))) {
		err = BW_ESTORE;
		goto out_end;
	}
	for (rc = scan_start(cur, after_id, &k, &v); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size > BW_STORE_MAX_KEY)
			continue; /* never written by store_txn_put */
		if (!record_ok(&v)) {
			err = BW_ESTORE; /* damaged: fail closed */
			break;
		}
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		if ((err = cb(id, v.mv_data, v.mv_size - 1, opaque)))
			break;
	}
	if (!err && rc == EINVAL)
		err = BW_EINVAL;
	else if (!err && rc != MDB_NOTFOUND)
		err = BW_ESTORE;
	mdb_cursor_close(cur);
out_end:
	store_read_end(rd);
	return err;
}

int store_count(struct bw_store *st, uint64_t *n)
{
	struct bw_store_read *rd;
	MDB_stat s;
	int err = 0;

	if (!(rd = store_read_begin(st, &err)))
		return err;
	if (mdb_stat(rd->txn, st->records, &s))
		err = BW_ESTORE;
	else
		*n = s.ms_entries;
	store_read_end(rd);
	return err;
}

/* --- deletion and named values ------------------------------------------- */

int store_txn_del(struct bw_store_txn *txn, const char *user_id, char *errstr, size_t errlen)
{
	struct bw_store *st = txn->st;
	size_t idlen;
	MDB_val k, name, owner;
	int rc;

	if (!valid_key(user_id, &idlen))
		return bw_seterr(errstr, errlen, BW_EINVAL, "account id must be 1..%d bytes",
				 BW_STORE_MAX_KEY);
	k = (MDB_val){ idlen, (void *)user_id };
	rc = mdb_get(txn->txn, st->id2name, &k, &name);
	if (rc == 0) {
		/* copy: the page goes away with the deletion below */
		char lower[BW_STORE_MAX_KEY + 1];
		size_t n = name.mv_size < sizeof(lower) ? name.mv_size : sizeof(lower) - 1;
		memcpy(lower, name.mv_data, n);
		name = (MDB_val){ n, lower };
		if (mdb_get(txn->txn, st->names, &name, &owner) == 0 && id_cmp(&owner, &k) == 0 &&
		    (rc = mdb_del(txn->txn, st->names, &name, NULL)))
			return lmdb_err(st, errstr, errlen, rc, "delete name");
		if ((rc = mdb_del(txn->txn, st->id2name, &k, NULL)))
			return lmdb_err(st, errstr, errlen, rc, "delete name");
	} else if (rc != MDB_NOTFOUND) {
		return lmdb_err(st, errstr, errlen, rc, "read name");
	}
	if ((rc = mdb_del(txn->txn, st->records, &k, NULL)) && rc != MDB_NOTFOUND)
		return lmdb_err(st, errstr, errlen, rc, "delete record");
	if ((rc = mdb_del(txn->txn, st->features, &k, NULL)) && rc != MDB_NOTFOUND)
		return lmdb_err(st, errstr, errlen, rc, "delete features");
	if (st->has_fvec && (rc = mdb_del(txn->txn, st->fvec, &k, NULL)) && rc != MDB_NOTFOUND)
		return lmdb_err(st, errstr, errlen, rc, "delete features");
	return 0;
}

int store_txn_meta_put(struct bw_store_txn *txn, const char *key, const void *val, size_t len,
		       char *errstr, size_t errlen)
{
	struct bw_store *st = txn->st;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	int rc;

	if (k.mv_size == 0 || k.mv_size > BW_STORE_MAX_KEY)
		return bw_seterr(errstr, errlen, BW_EINVAL, "meta key must be 1..%d bytes",
				 BW_STORE_MAX_KEY);
	if ((rc = mdb_put(txn->txn, st->meta, &k, &v, 0)))
		return lmdb_err(st, errstr, errlen, rc, "put meta");
	return 0;
}

void *store_meta_get(struct bw_store *st, const char *key, size_t *len, int *err)
{
	struct bw_store_read *rd;
	MDB_val k = { strlen(key), (void *)key }, v;
	void *out = NULL;
	int rc;

	if (!st->has_meta) {
		*err = BW_ENOENT;
		return NULL;
	}
	if (!(rd = store_read_begin(st, err)))
		return NULL;
	rc = mdb_get(rd->txn, st->meta, &k, &v);
	if (rc) {
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
	} else if (!(out = malloc(v.mv_size ? v.mv_size : 1))) {
		*err = BW_ENOMEM;
	} else {
		memcpy(out, v.mv_data, v.mv_size);
		*len = v.mv_size;
		*err = 0;
	}
	store_read_end(rd);
	return out;
}
