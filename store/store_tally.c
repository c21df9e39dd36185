/*
 * store_tally.c — conversation tallies in the store (store.h, "Conversation
 * tallies"; docs/REPORT.md).
 *
 * One named database "tally", compared bytewise, three kinds of entries:
 *
 *   'A' kind bucket key 0x00 account  →  uvar posts   (one account's posts)
 *   'T' kind bucket key               →  uvar posts   (the key's total, for pruning)
 *   'W' topic 0x00 partition          →  8-byte offset (the next input offset to count)
 *
 * `bucket` is 8 bytes big-endian of the start (seconds) with its sign bit
 * flipped, so buckets sort in time order; `partition` 4 bytes big-endian.
 * Keys and accounts hold no NUL (C strings), so the 0x00 ends the key.
 */
#include <stdlib.h>
#include <string.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "store.h"
#include "store_int.h"

/* Longest entry key: tag, kind, bucket, key, NUL, account. */
#define TKEY_MAX (2 + 8 + STORE_TALLY_KEY_MAX + 1 + BW_STORE_MAX_KEY)

/* An encoded entry key. */
struct tkey {
	unsigned char b[TKEY_MAX]; /* bytes */
	size_t n;                  /* used */
};

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Length of `s` cut to STORE_TALLY_KEY_MAX bytes at a UTF-8 boundary. */
static size_t key_len(const char *s)
{
	size_t n = strnlen(s, STORE_TALLY_KEY_MAX + 1);

	if (n > STORE_TALLY_KEY_MAX) {
		n = STORE_TALLY_KEY_MAX;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return n;
}

static bool kind_ok(char kind)
{
	return kind == STORE_TALLY_HASHTAG || kind == STORE_TALLY_DOMAIN ||
	       kind == STORE_TALLY_KEYWORD;
}

/* tag kind bucket [key [NUL account]]: key and account may be NULL. */
static void tkey_make(struct tkey *k, char tag, char kind, int64_t bucket, const char *key,
		      const char *account)
{
	k->b[0] = (unsigned char)tag;
	k->b[1] = (unsigned char)kind;
	put_be(k->b + 2, (uint64_t)bucket ^ (UINT64_C(1) << 63), 8);
	k->n = 10;
	if (key) {
		size_t n = key_len(key);
		memcpy(k->b + k->n, key, n);
		k->n += n;
	}
	if (account) {
		size_t n = strnlen(account, BW_STORE_MAX_KEY);
		k->b[k->n++] = 0;
		memcpy(k->b + k->n, account, n);
		k->n += n;
	}
}

static int64_t tkey_bucket(const unsigned char *p)
{
	return (int64_t)(get_be(p + 2, 8) ^ (UINT64_C(1) << 63));
}

/* Add `add` to the uvar count under `k`. */
static int add_count(MDB_txn *txn, MDB_dbi dbi, struct tkey *k, uint64_t add)
{
	MDB_val kv = { k->n, k->b }, v;
	unsigned char buf[BW_UVAR_MAX];
	uint64_t have = 0;
	int rc = mdb_get(txn, dbi, &kv, &v);

	if (rc == 0) {
		struct bw_cursor c = { v.mv_data, v.mv_size, 0, false };
		have = bw_uvar_get(&c);
		if (c.bad)
			have = 0; /* a damaged count restarts rather than failing every add */
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	v = (MDB_val){ bw_uvar_put(buf, have + add), buf };
	return mdb_put(txn, dbi, &kv, &v, 0);
}

static int tally_err(char *errstr, size_t errlen, int rc, const char *what)
{
	return bw_seterr(errstr, errlen, BW_ESTORE, "tally %s: %s%s", what, mdb_strerror(rc),
			 rc == MDB_MAP_FULL ? " (raise store.map_size_mb)" : "");
}

int store_tally_add(struct bw_store_txn *txn, char kind, int64_t bucket, const char *key,
		    const char *account, uint64_t posts, char *errstr, size_t errlen)
{
	MDB_txn *t = store_int_txn(txn);
	struct tkey k;
	MDB_dbi dbi;
	int rc;

	if (!kind_ok(kind) || !key || !*key || !account || !*account ||
	    strnlen(account, BW_STORE_MAX_KEY + 1) > BW_STORE_MAX_KEY)
		return bw_seterr(errstr, errlen, BW_EINVAL, "tally: bad kind, key or account");
	if (!store_int_tally_dbi(store_int_txn_store(txn), &dbi))
		return bw_seterr(errstr, errlen, BW_ESTORE, "tally: store opened read-only");
	tkey_make(&k, 'A', kind, bucket, key, account);
	if ((rc = add_count(t, dbi, &k, posts)))
		return tally_err(errstr, errlen, rc, "put");
	tkey_make(&k, 'T', kind, bucket, key, NULL);
	if ((rc = add_count(t, dbi, &k, posts)))
		return tally_err(errstr, errlen, rc, "put");
	return 0;
}

/* A key of a bucket with its total, while pruning. */
struct kept {
	uint64_t posts;                      /* total posts */
	size_t n;                            /* key bytes */
	unsigned char key[STORE_TALLY_KEY_MAX]; /* key bytes (no NUL) */
};

static int by_posts_desc(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c;

	if (x->posts != y->posts)
		return x->posts > y->posts ? -1 : 1;
	if ((c = memcmp(x->key, y->key, n)))
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static bool has_prefix(const MDB_val *v, const unsigned char *p, size_t n)
{
	return v->mv_size >= n && memcmp(v->mv_data, p, n) == 0;
}

/* Delete the total and every account row of one key. */
static int drop_key(MDB_txn *txn, MDB_dbi dbi, char kind, int64_t bucket, const struct kept *e)
{
	struct tkey k;
	MDB_cursor *cur;
	MDB_val kv, v;
	int rc;

	tkey_make(&k, 'T', kind, bucket, NULL, NULL);
	memcpy(k.b + k.n, e->key, e->n);
	k.n += e->n;
	kv = (MDB_val){ k.n, k.b };
	if ((rc = mdb_del(txn, dbi, &kv, NULL)))
		return rc;
	k.b[0] = 'A';
	k.b[k.n++] = 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)))
		return rc;
	/* seek again after each delete: the cursor's position past a deleted
	 * last entry is not one to step from */
	for (;;) {
		kv = (MDB_val){ k.n, k.b };
		if ((rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE)))
			break;
		if (!has_prefix(&kv, k.b, k.n)) {
			rc = MDB_NOTFOUND;
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_tally_prune(struct bw_store_txn *txn, char kind, int64_t bucket, size_t max_keys,
		      uint64_t *dropped, char *errstr, size_t errlen)
{
	MDB_txn *t = store_int_txn(txn);
	struct kept *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct tkey pre;
	MDB_cursor *cur;
	MDB_val kv, val;
	MDB_dbi dbi;
	int rc;

	if (dropped)
		*dropped = 0;
	if (!store_int_tally_dbi(store_int_txn_store(txn), &dbi))
		return 0;
	tkey_make(&pre, 'T', kind, bucket, NULL, NULL);
	if ((rc = mdb_cursor_open(t, dbi, &cur)))
		return tally_err(errstr, errlen, rc, "prune");
	kv = (MDB_val){ pre.n, pre.b };
	for (rc = mdb_cursor_get(cur, &kv, &val, MDB_SET_RANGE);
	     rc == 0 && has_prefix(&kv, pre.b, pre.n); rc = mdb_cursor_get(cur, &kv, &val, MDB_NEXT)) {
		struct bw_cursor c = { val.mv_data, val.mv_size, 0, false };
		size_t kn = kv.mv_size - pre.n;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				mdb_cursor_close(cur);
				free(v);
				return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[n].posts = bw_uvar_get(&c);
		v[n].n = kn < STORE_TALLY_KEY_MAX ? kn : STORE_TALLY_KEY_MAX;
		memcpy(v[n].key, (const unsigned char *)kv.mv_data + pre.n, v[n].n);
		n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND) {
		free(v);
		return tally_err(errstr, errlen, rc, "prune");
	}
	rc = 0;
	if (n > 2 * max_keys) {
		qsort(v, n, sizeof(*v), by_posts_desc);
		for (size_t i = max_keys; i < n && !rc; i++)
			rc = drop_key(t, dbi, kind, bucket, &v[i]);
		if (!rc && dropped)
			*dropped = n - max_keys;
	}
	free(v);
	return rc ? tally_err(errstr, errlen, rc, "prune") : 0;
}

/* 'W' topic NUL partition. */
static size_t mark_key(unsigned char *b, const char *topic, int32_t partition)
{
	size_t n = strnlen(topic, 249); /* Kafka's longest topic name */

	b[0] = 'W';
	memcpy(b + 1, topic, n);
	b[1 + n] = 0;
	put_be(b + 2 + n, (uint32_t)partition, 4);
	return n + 6;
}

int store_tally_mark_get(struct bw_store *st, const char *topic, int32_t partition,
			 int64_t *offset)
{
	unsigned char b[256];
	MDB_val kv = { mark_key(b, topic, partition), b }, v;
	struct bw_store_read *rd;
	MDB_dbi dbi;
	int err = 0, rc;

	if (!store_int_tally_dbi(st, &dbi))
		return BW_ENOENT;
	if (!(rd = store_read_begin(st, &err)))
		return err;
	rc = mdb_get(store_int_read_txn(rd), dbi, &kv, &v);
	if (rc == 0 && v.mv_size == 8)
		*offset = (int64_t)get_be(v.mv_data, 8);
	err = rc == MDB_NOTFOUND ? BW_ENOENT : (rc || v.mv_size != 8) ? BW_ESTORE : 0;
	store_read_end(rd);
	return err;
}

int store_tally_mark_put(struct bw_store_txn *txn, const char *topic, int32_t partition,
			 int64_t offset, char *errstr, size_t errlen)
{
	unsigned char b[256], o[8];
	MDB_val kv = { mark_key(b, topic, partition), b }, v = { 8, o };
	MDB_dbi dbi;
	int rc;

	if (!store_int_tally_dbi(store_int_txn_store(txn), &dbi))
		return bw_seterr(errstr, errlen, BW_ESTORE, "tally: store opened read-only");
	put_be(o, (uint64_t)offset, 8);
	if ((rc = mdb_put(store_int_txn(txn), dbi, &kv, &v, 0)))
		return tally_err(errstr, errlen, rc, "mark");
	return 0;
}

/* Call cb for one 'A' row; BW_ESTORE when it is malformed. */
static int visit_row(const MDB_val *kv, const MDB_val *val, store_tally_cb cb, void *opaque)
{
	const unsigned char *p = kv->mv_data, *nul;
	char key[STORE_TALLY_KEY_MAX + 1], acct[BW_STORE_MAX_KEY + 1];
	struct bw_cursor c = { val->mv_data, val->mv_size, 0, false };
	size_t kn, an;
	uint64_t posts;

	if (kv->mv_size < 12 || !(nul = memchr(p + 10, 0, kv->mv_size - 10)))
		return BW_ESTORE;
	kn = (size_t)(nul - (p + 10));
	an = kv->mv_size - 10 - kn - 1;
	if (!kn || kn > STORE_TALLY_KEY_MAX || !an || an > BW_STORE_MAX_KEY)
		return BW_ESTORE;
	posts = bw_uvar_get(&c);
	if (c.bad)
		return BW_ESTORE;
	memcpy(key, p + 10, kn);
	key[kn] = '\0';
	memcpy(acct, nul + 1, an);
	acct[an] = '\0';
	return cb((char)p[1], tkey_bucket(p), key, acct, posts, opaque);
}

int store_tally_scan(struct bw_store *st, char kind, int64_t from, int64_t to, store_tally_cb cb,
		     void *opaque)
{
	struct bw_store_read *rd;
	struct tkey lo, hi;
	MDB_cursor *cur;
	MDB_val kv, val;
	MDB_dbi dbi;
	int err = 0, rc;

	if (!kind_ok(kind))
		return BW_EINVAL;
	if (!store_int_tally_dbi(st, &dbi) || from >= to)
		return 0;
	if (!(rd = store_read_begin(st, &err)))
		return err;
	if (mdb_cursor_open(store_int_read_txn(rd), dbi, &cur)) {
		store_read_end(rd);
		return BW_ESTORE;
	}
	tkey_make(&lo, 'A', kind, from, NULL, NULL);
	tkey_make(&hi, 'A', kind, to, NULL, NULL);
	kv = (MDB_val){ lo.n, lo.b };
	for (rc = mdb_cursor_get(cur, &kv, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &kv, &val, MDB_NEXT)) {
		size_t n = kv.mv_size < hi.n ? kv.mv_size : hi.n;
		int c = memcmp(kv.mv_data, hi.b, n);
		if (c > 0 || (c == 0 && kv.mv_size >= hi.n))
			break; /* at or past bucket `to` (or another kind / tag) */
		if ((err = visit_row(&kv, &val, cb, opaque)))
			break;
	}
	if (!err && rc && rc != MDB_NOTFOUND)
		err = BW_ESTORE;
	mdb_cursor_close(cur);
	store_read_end(rd);
	return err;
}
