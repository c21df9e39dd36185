/*
 * store_audit.c — the audit trail in the store (store.h, "audit trail";
 * docs/AUDIT.md): the model registry and the append-only decision history.
 *
 * Four more named databases in the store's environment:
 *   models   model id ("sha256:<hex>") → registered-at ms (8 bytes LE) + bytes
 *   history  account id, NUL, sequence (8 bytes big-endian) → one decision
 *   vectors  sha256 of an encoded vector (uvar n, bw_svec) → a byte 0 and the
 *            encoding, or a byte 1 and its zstd frame (when smaller)
 *   vref     the same hash → how many kept decisions use it (8 bytes LE)
 *
 * The history key sorts an account's decisions together, oldest first; the
 * NUL ends the id, so one id is never a prefix of another's keys. Decisions
 * are appended in the caller's write transaction (the scorer's batch), so a
 * score record and its decision commit together or not at all.
 *
 * A decision's value (version 1): a version byte, then svar scored_at,
 * svar event time, the model's 32 sha256 bytes, the schema hash (uvar
 * length + bytes), uvar schema version, uvar evidence mask, 8-byte prior,
 * uvar posts seen, screen name / last post id / topic (uvar length +
 * bytes), svar partition, svar offset, the vector's 32 hash bytes, the
 * record's 32 hash bytes, uvar status, 8-byte english and universal scores.
 */
#define _POSIX_C_SOURCE 200809L
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "store_int.h"

#define DECISION_VERSION 1
#define MAX_VECTOR 1000000 /* most values a stored vector may claim */
#define VEC_RAW 0           /* vector value: the encoding follows */
#define VEC_ZSTD 1          /* vector value: its zstd frame follows */
#define VEC_ZSTD_LEVEL 1    /* compression level of stored vectors */
#define VEC_MAX_BYTES (64u << 20) /* largest decompressed vector accepted */
#define DECISION_MAX (256 + STORE_MAX_TOPIC + STORE_MAX_HANDLE + STORE_MAX_POST_ID + 3 * 32)

int store_audit_open(struct bw_store *st, MDB_txn *txn)
{
	unsigned flags = st->writable ? MDB_CREATE : 0;
	int rc;

	if ((rc = mdb_dbi_open(txn, "models", flags, &st->models)) ||
	    (rc = mdb_dbi_open(txn, "history", flags, &st->history)) ||
	    (rc = mdb_dbi_open(txn, "vectors", flags, &st->vectors)) ||
	    (rc = mdb_dbi_open(txn, "vref", flags, &st->vref)))
		return rc == MDB_NOTFOUND ? 0 : rc; /* an older store read-only: no trail */
	st->has_audit = true;
	return 0;
}

void store_audit_close(struct bw_store *st)
{
	ZSTD_freeCCtx(st->zc);
	st->zc = NULL;
}

void store_set_history_keep(struct bw_store *st, int64_t keep)
{
	st->history_keep = keep;
}

static bool sha256(const void *p, size_t n, unsigned char out[STORE_HASH_LEN])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) && len == STORE_HASH_LEN;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 32 bytes of a "sha256:<64 lower-case hex>" model id; false when it is not one. */
static bool model_hash(const char *id, unsigned char out[STORE_HASH_LEN])
{
	if (strncmp(id, "sha256:", 7) != 0 || strlen(id) != STORE_MODEL_ID_LEN)
		return false;
	for (size_t i = 0; i < STORE_HASH_LEN; i++) {
		int hi = hexval(id[7 + 2 * i]), lo = hexval(id[8 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static void model_id_of(const unsigned char h[STORE_HASH_LEN], char *out)
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < STORE_HASH_LEN; i++) {
		out[7 + 2 * i] = hex[h[i] >> 4];
		out[8 + 2 * i] = hex[h[i] & 15];
	}
	out[STORE_MODEL_ID_LEN] = '\0';
}

static int no_trail(char *errstr, size_t errlen)
{
	return bw_seterr(errstr, errlen, BW_ESTORE, "store has no audit trail (written by an older "
				  "botwatch and opened read-only)");
}

/* ---- models ----------------------------------------------------------------------- */

int store_txn_put_model(struct bw_store_txn *txn, const char *model_id, const void *bytes,
			size_t len, int64_t now_ms, bool *added, char *errstr, size_t errlen)
{
	struct bw_store *st = txn->st;
	unsigned char want[STORE_HASH_LEN], got[STORE_HASH_LEN];
	MDB_val k, v;
	int rc;

	if (added)
		*added = false;
	if (!st->has_audit)
		return no_trail(errstr, errlen);
	if (!model_id || !model_hash(model_id, want))
		return bw_seterr(errstr, errlen, BW_EINVAL, "model id '%.80s' is not sha256:<hex>",
				 model_id ? model_id : "");
	if (!sha256(bytes, len, got) || memcmp(want, got, sizeof(want)) != 0)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "model bytes do not hash to %s (the file changed since it was loaded?)",
				 model_id);
	k = (MDB_val){ STORE_MODEL_ID_LEN, (void *)model_id };
	v = (MDB_val){ 8 + len, NULL };
	rc = mdb_put(txn->txn, st->models, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST)
		return 0; /* never overwritten: the same id is the same bytes */
	if (rc)
		return store_lmdb_err(st, errstr, errlen, rc, "put model");
	bw_le64_put(v.mv_data, (uint64_t)now_ms);
	memcpy((unsigned char *)v.mv_data + 8, bytes, len);
	if (added)
		*added = true;
	return 0;
}

void *store_get_model(struct bw_store *st, const char *model_id, size_t *len,
		      int64_t *registered_ms, int *err)
{
	struct bw_store_read *rd;
	MDB_val k, v;
	void *out = NULL;
	int rc;

	if (!st->has_audit) {
		*err = BW_ENOENT;
		return NULL;
	}
	if (!model_id || strnlen(model_id, STORE_MODEL_ID_LEN + 1) != STORE_MODEL_ID_LEN) {
		*err = BW_ENOENT;
		return NULL;
	}
	if (!(rd = store_read_begin(st, err)))
		return NULL;
	k = (MDB_val){ STORE_MODEL_ID_LEN, (void *)model_id };
	if ((rc = mdb_get(rd->txn, st->models, &k, &v)) || v.mv_size < 8) {
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
	} else if (!(out = malloc(v.mv_size - 8 + 1))) {
		*err = BW_ENOMEM;
	} else {
		memcpy(out, (unsigned char *)v.mv_data + 8, v.mv_size - 8);
		((char *)out)[v.mv_size - 8] = '\0';
		*len = v.mv_size - 8;
		if (registered_ms)
			*registered_ms = (int64_t)bw_le64_get(v.mv_data);
		*err = 0;
	}
	store_read_end(rd);
	return out;
}

int store_scan_models(struct bw_store *st, store_model_cb cb, void *opaque)
{
	char id[STORE_MODEL_ID_LEN + 1];
	struct bw_store_read *rd;
	MDB_cursor *cur;
	MDB_val k, v;
	int err = 0, rc;

	if (!st->has_audit)
		return 0;
	if (!(rd = store_read_begin(st, &err)))
		return err;
	if (mdb_cursor_open(rd->txn, st->models, &cur)) {
		store_read_end(rd);
		return BW_ESTORE;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != STORE_MODEL_ID_LEN || v.mv_size < 8)
			continue;
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		err = cb(id, v.mv_size - 8, (int64_t)bw_le64_get(v.mv_data), opaque);
	}
	if (!err && rc != MDB_NOTFOUND)
		err = BW_ESTORE;
	mdb_cursor_close(cur);
	store_read_end(rd);
	return err;
}

/* ---- decision encoding --------------------------------------------------------------- */

static size_t put_str(unsigned char *p, const char *s, size_t max)
{
	size_t n = strnlen(s, max), o = bw_uvar_put(p, n);

	memcpy(p + o, s, n);
	return o + n;
}

static size_t put_dbl(unsigned char *p, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	bw_le64_put(p, u);
	return 8;
}

/* The value of decision d into p (DECISION_MAX bytes); its length, 0 on a bad model id. */
static size_t decision_encode(const struct store_decision *d, unsigned char *p)
{
	size_t o = 0;

	p[o++] = DECISION_VERSION;
	o += bw_svar_put(p + o, d->scored_at_ms);
	o += bw_svar_put(p + o, d->event_ms);
	if (!model_hash(d->model_id, p + o))
		return 0;
	o += STORE_HASH_LEN;
	o += put_str(p + o, d->schema, sizeof(d->schema) - 1);
	o += bw_uvar_put(p + o, d->schema_version);
	o += bw_uvar_put(p + o, d->avail);
	o += put_dbl(p + o, d->cap_prior);
	o += bw_uvar_put(p + o, d->posts_seen);
	o += put_str(p + o, d->screen_name, STORE_MAX_HANDLE);
	o += put_str(p + o, d->last_post_id, STORE_MAX_POST_ID);
	o += put_str(p + o, d->topic, STORE_MAX_TOPIC);
	o += bw_svar_put(p + o, d->partition);
	o += bw_svar_put(p + o, d->offset);
	memcpy(p + o, d->vec_hash, STORE_HASH_LEN);
	o += STORE_HASH_LEN;
	memcpy(p + o, d->record_hash, STORE_HASH_LEN);
	o += STORE_HASH_LEN;
	o += bw_uvar_put(p + o, d->status);
	o += put_dbl(p + o, d->english);
	o += put_dbl(p + o, d->universal);
	return o;
}

static bool get_bytes(struct bw_cursor *c, void *out, size_t n)
{
	if (c->bad || c->len - c->off < n)
		return !(c->bad = true);
	memcpy(out, c->p + c->off, n);
	c->off += n;
	return true;
}

static bool get_str(struct bw_cursor *c, char *out, size_t max)
{
	uint64_t n = bw_uvar_get(c);

	if (c->bad || n > max)
		return !(c->bad = true);
	if (!get_bytes(c, out, (size_t)n))
		return false;
	out[n] = '\0';
	return true;
}

static double get_dbl(struct bw_cursor *c)
{
	unsigned char b[8];
	uint64_t u;
	double v = 0;

	if (get_bytes(c, b, 8)) {
		u = bw_le64_get(b);
		memcpy(&v, &u, sizeof(v));
	}
	return v;
}

/* Decode a stored decision (bounded: a damaged value fails closed). */
static bool decision_decode(const MDB_val *v, struct store_decision *d)
{
	struct bw_cursor c = { v->mv_data, v->mv_size, 0, false };
	unsigned char ver = 0, mh[STORE_HASH_LEN];

	memset(d, 0, sizeof(*d));
	if (!get_bytes(&c, &ver, 1) || ver != DECISION_VERSION)
		return false;
	d->scored_at_ms = bw_svar_get(&c);
	d->event_ms = bw_svar_get(&c);
	if (!get_bytes(&c, mh, sizeof(mh)))
		return false;
	model_id_of(mh, d->model_id);
	get_str(&c, d->schema, sizeof(d->schema) - 1);
	d->schema_version = (uint32_t)bw_uvar_get(&c);
	d->avail = (uint32_t)bw_uvar_get(&c);
	d->cap_prior = get_dbl(&c);
	d->posts_seen = bw_uvar_get(&c);
	get_str(&c, d->screen_name, STORE_MAX_HANDLE);
	get_str(&c, d->last_post_id, STORE_MAX_POST_ID);
	get_str(&c, d->topic, STORE_MAX_TOPIC);
	d->partition = (int32_t)bw_svar_get(&c);
	d->offset = bw_svar_get(&c);
	get_bytes(&c, d->vec_hash, STORE_HASH_LEN);
	get_bytes(&c, d->record_hash, STORE_HASH_LEN);
	d->status = (uint32_t)bw_uvar_get(&c);
	d->english = get_dbl(&c);
	d->universal = get_dbl(&c);
	return !c.bad && c.off == c.len;
}

/* ---- history ------------------------------------------------------------------------ */

/* History key of (id, seq) into k (BW_STORE_MAX_KEY + 9 bytes); its length. */
static size_t hist_key(const char *id, size_t idlen, uint64_t seq, unsigned char *k)
{
	memcpy(k, id, idlen);
	k[idlen] = '\0';
	for (int i = 0; i < 8; i++)
		k[idlen + 1 + i] = (unsigned char)(seq >> (56 - 8 * i));
	return idlen + 9;
}

static uint64_t key_seq(const MDB_val *k)
{
	const unsigned char *p = (const unsigned char *)k->mv_data + k->mv_size - 8;
	uint64_t s = 0;

	for (int i = 0; i < 8; i++)
		s = s << 8 | p[i];
	return s;
}

/* Does k belong to the account whose key prefix (id NUL) is pre[0..n)? */
static bool same_account(const MDB_val *k, const unsigned char *pre, size_t n)
{
	return k->mv_size == n + 8 && memcmp(k->mv_data, pre, n) == 0;
}

/* Add `delta` to the use count of vector h, deleting the vector at zero. */
static int vref_add(struct bw_store_txn *t, const unsigned char *h, int delta, char *errstr,
		    size_t errlen)
{
	struct bw_store *st = t->st;
	MDB_val k = { STORE_HASH_LEN, (void *)h }, v;
	unsigned char b[8];
	uint64_t n = 0;
	int rc = mdb_get(t->txn, st->vref, &k, &v);

	if (rc && rc != MDB_NOTFOUND)
		return store_lmdb_err(st, errstr, errlen, rc, "read vector count");
	if (rc == 0 && v.mv_size == 8)
		n = bw_le64_get(v.mv_data);
	n = delta > 0 ? n + 1 : n ? n - 1 : 0;
	if (n == 0) {
		if ((rc = mdb_del(t->txn, st->vref, &k, NULL)) && rc != MDB_NOTFOUND)
			return store_lmdb_err(st, errstr, errlen, rc, "delete vector count");
		if ((rc = mdb_del(t->txn, st->vectors, &k, NULL)) && rc != MDB_NOTFOUND)
			return store_lmdb_err(st, errstr, errlen, rc, "delete vector");
		return 0;
	}
	bw_le64_put(b, n);
	v = (MDB_val){ 8, b };
	if ((rc = mdb_put(t->txn, st->vref, &k, &v, 0)))
		return store_lmdb_err(st, errstr, errlen, rc, "put vector count");
	return 0;
}

/* Store the encoded vector enc[0..len) once under its hash h (zstd-compressed
 * when that is smaller) and count one more use. */
static int put_vector(struct bw_store_txn *t, const unsigned char *enc, size_t len,
		      const unsigned char *h, char *errstr, size_t errlen)
{
	MDB_val k = { STORE_HASH_LEN, (void *)h }, v;
	size_t bound = ZSTD_compressBound(len), z;
	unsigned char *buf;
	int rc = mdb_get(t->txn, t->st->vectors, &k, &v);

	if (rc == 0) /* stored already: an unchanged vector costs one count */
		return vref_add(t, h, 1, errstr, errlen);
	if (rc != MDB_NOTFOUND)
		return store_lmdb_err(t->st, errstr, errlen, rc, "read vector");
	/* one context for the store's one writer: a new one per call costs more than the work */
	if ((!t->st->zc && !(t->st->zc = ZSTD_createCCtx())) ||
	    !(buf = malloc(1 + (bound > len ? bound : len))))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	z = ZSTD_compressCCtx(t->st->zc, buf + 1, bound, enc, len, VEC_ZSTD_LEVEL);
	if (!ZSTD_isError(z) && z < len) {
		buf[0] = VEC_ZSTD;
		v = (MDB_val){ 1 + z, buf };
	} else {
		buf[0] = VEC_RAW;
		memcpy(buf + 1, enc, len);
		v = (MDB_val){ 1 + len, buf };
	}
	rc = mdb_put(t->txn, t->st->vectors, &k, &v, 0);
	free(buf);
	if (rc)
		return store_lmdb_err(t->st, errstr, errlen, rc, "put vector");
	return vref_add(t, h, 1, errstr, errlen);
}

/* The account's latest decision (its key into *last) via cursor cur; MDB_NOTFOUND when none. */
static int latest(MDB_cursor *cur, const unsigned char *pre, size_t n, MDB_val *last,
		  MDB_val *val)
{
	unsigned char k[BW_STORE_MAX_KEY + 9];
	MDB_val want = { n + 8, k };
	int rc;

	memcpy(k, pre, n);
	memset(k + n, 0xff, 8);
	*last = want;
	rc = mdb_cursor_get(cur, last, val, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, last, val, MDB_PREV)
	   : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, last, val, MDB_LAST) : rc;
	if (rc == 0 && !same_account(last, pre, n))
		return MDB_NOTFOUND;
	return rc;
}

/* Same decision as the stored `prev` apart from when it was made? */
static bool repeats(const MDB_val *prev, const struct store_decision *d)
{
	struct store_decision p;

	return decision_decode(prev, &p) && strcmp(p.model_id, d->model_id) == 0 &&
	       memcmp(p.vec_hash, d->vec_hash, STORE_HASH_LEN) == 0 &&
	       memcmp(p.record_hash, d->record_hash, STORE_HASH_LEN) == 0 && p.avail == d->avail &&
	       memcmp(&p.cap_prior, &d->cap_prior, sizeof(double)) == 0;
}

/* Delete the account's oldest decisions past the retention. */
static int prune(struct bw_store_txn *t, MDB_cursor *cur, const unsigned char *pre, size_t n,
		 uint64_t newest, char *errstr, size_t errlen)
{
	int64_t keep = t->st->history_keep;
	struct store_decision d;
	MDB_val k = { n, (void *)pre }, v;
	int rc;

	if (keep <= 0)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && same_account(&k, pre, n);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
		if (newest - key_seq(&k) < (uint64_t)keep)
			return 0;
		if (!decision_decode(&v, &d))
			return bw_seterr(errstr, errlen, BW_ESTORE, "damaged decision in history");
		if ((rc = mdb_cursor_del(cur, 0)))
			return store_lmdb_err(t->st, errstr, errlen, rc, "delete decision");
		if ((rc = vref_add(t, d.vec_hash, -1, errstr, errlen)))
			return rc;
		k = (MDB_val){ n, (void *)pre };
	}
	return rc && rc != MDB_NOTFOUND ? store_lmdb_err(t->st, errstr, errlen, rc, "prune") : 0;
}

int store_txn_put_decision(struct bw_store_txn *txn, const char *user_id,
			   struct store_decision *d, const double *x, size_t n, bool *appended,
			   char *errstr, size_t errlen)
{
	struct bw_store *st = txn->st;
	unsigned char pre[BW_STORE_MAX_KEY + 1], key[BW_STORE_MAX_KEY + 9], val[DECISION_MAX];
	size_t idlen;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (appended)
		*appended = false;
	if (!st->has_audit)
		return no_trail(errstr, errlen);
	if (st->history_keep < 0)
		return 0;
	if (!store_valid_key(user_id, &idlen))
		return bw_seterr(errstr, errlen, BW_EINVAL, "account id must be 1..%d bytes",
				 BW_STORE_MAX_KEY);
	unsigned char *enc = NULL;
	if ((rc = mdb_cursor_open(txn->txn, st->history, &cur)))
		return store_lmdb_err(st, errstr, errlen, rc, "history cursor");
	memcpy(pre, user_id, idlen);
	pre[idlen] = '\0';
	d->seq = 1;
	/* the vector's hash first (a repeat needs it); its use is counted only when appended */
	size_t elen = 0;
	if (!(enc = malloc(BW_UVAR_MAX + bw_svec_bound(n)))) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_close;
	}
	elen = bw_uvar_put(enc, n);
	elen += bw_svec_put(enc + elen, x, n);
	if (!sha256(enc, elen, d->vec_hash)) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "sha256 failed");
		goto out_close;
	}
	rc = latest(cur, pre, idlen + 1, &k, &v);
	if (rc == 0) {
		if (repeats(&v, d)) {
			d->seq = key_seq(&k);
			goto out_close; /* rc 0: nothing new */
		}
		d->seq = key_seq(&k) + 1;
	} else if (rc != MDB_NOTFOUND) {
		rc = store_lmdb_err(st, errstr, errlen, rc, "read history");
		goto out_close;
	}
	if ((rc = put_vector(txn, enc, elen, d->vec_hash, errstr, errlen)))
		goto out_close;
	size_t vlen = decision_encode(d, val);
	if (!vlen) {
		rc = bw_seterr(errstr, errlen, BW_EINVAL, "model id '%.80s' is not sha256:<hex>",
			       d->model_id);
		goto out_close;
	}
	k = (MDB_val){ hist_key(user_id, idlen, d->seq, key), key };
	v = (MDB_val){ vlen, val };
	if ((rc = mdb_put(txn->txn, st->history, &k, &v, 0))) {
		rc = store_lmdb_err(st, errstr, errlen, rc, "put decision");
		goto out_close;
	}
	if (appended)
		*appended = true;
	rc = prune(txn, cur, pre, idlen + 1, d->seq, errstr, errlen);
out_close:
	free(enc);
	mdb_cursor_close(cur);
	return rc;
}

int store_scan_history(struct bw_store *st, const char *user_id, store_decision_cb cb,
		       void *opaque)
{
	unsigned char pre[BW_STORE_MAX_KEY + 1];
	struct store_decision d;
	struct bw_store_read *rd;
	size_t idlen;
	MDB_cursor *cur;
	MDB_val k, v;
	int err = 0, rc;

	if (!store_valid_key(user_id, &idlen))
		return BW_EINVAL;
	if (!st->has_audit)
		return 0;
	if (!(rd = store_read_begin(st, &err)))
		return err;
	if (mdb_cursor_open(rd->txn, st->history, &cur)) {
		store_read_end(rd);
		return BW_ESTORE;
	}
	memcpy(pre, user_id, idlen);
	pre[idlen] = '\0';
	k = (MDB_val){ idlen + 1, pre };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && !err && same_account(&k, pre, idlen + 1);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!decision_decode(&v, &d)) {
			err = BW_ESTORE; /* damaged: fail closed */
			break;
		}
		d.seq = key_seq(&k);
		err = cb(&d, opaque);
	}
	if (!err && rc && rc != MDB_NOTFOUND)
		err = BW_ESTORE;
	mdb_cursor_close(cur);
	store_read_end(rd);
	return err;
}

/* The doubles of a stored vector value (checked against its hash h): malloc'd,
 * or NULL with *err. */
static double *vector_decode(const MDB_val *v, const unsigned char *h, size_t *n, int *err)
{
	const unsigned char *p = v->mv_data, *enc = p + 1;
	unsigned char *dec = NULL, got[STORE_HASH_LEN];
	size_t len = v->mv_size ? v->mv_size - 1 : 0, nnz;
	const unsigned char *pairs;
	double *out = NULL;

	*err = BW_ESTORE;
	if (!v->mv_size || (p[0] != VEC_RAW && p[0] != VEC_ZSTD))
		return NULL;
	if (p[0] == VEC_ZSTD) {
		unsigned long long m = ZSTD_getFrameContentSize(enc, len);
		if (m == ZSTD_CONTENTSIZE_ERROR || m == ZSTD_CONTENTSIZE_UNKNOWN || m > VEC_MAX_BYTES)
			return NULL;
		if (!(dec = malloc(m ? (size_t)m : 1))) {
			*err = BW_ENOMEM;
			return NULL;
		}
		size_t z = ZSTD_decompress(dec, (size_t)m, enc, len);
		if (ZSTD_isError(z) || z != m)
			goto out_free;
		enc = dec;
		len = (size_t)m;
	}
	/* the content address is checked: a damaged vector fails closed */
	if (!sha256(enc, len, got) || memcmp(got, h, STORE_HASH_LEN) != 0)
		goto out_free;
	struct bw_cursor c = { enc, len, 0, false };
	uint64_t m = bw_uvar_get(&c);
	if (c.bad || m > MAX_VECTOR || !bw_svec_check(&c, (size_t)m, &nnz, &pairs))
		goto out_free;
	if (!(out = malloc(m ? m * sizeof(*out) : 1))) {
		*err = BW_ENOMEM;
		goto out_free;
	}
	bw_svec_get(pairs, nnz, out, (size_t)m);
	*n = (size_t)m;
	*err = 0;
out_free:
	free(dec);
	return out;
}

double *store_get_vector(struct bw_store *st, const unsigned char hash[STORE_HASH_LEN],
			 size_t *n, int *err)
{
	struct bw_store_read *rd;
	MDB_val k = { STORE_HASH_LEN, (void *)hash }, v;
	double *out = NULL;
	int rc;

	if (!st->has_audit) {
		*err = BW_ENOENT;
		return NULL;
	}
	if (!(rd = store_read_begin(st, err)))
		return NULL;
	if ((rc = mdb_get(rd->txn, st->vectors, &k, &v)))
		*err = rc == MDB_NOTFOUND ? BW_ENOENT : BW_ESTORE;
	else
		out = vector_decode(&v, hash, n, err);
	store_read_end(rd);
	return out;
}

static uint64_t pages(const MDB_stat *s)
{
	return (uint64_t)(s->ms_branch_pages + s->ms_leaf_pages + s->ms_overflow_pages) * s->ms_psize;
}

int store_audit_stats(struct bw_store *st, struct store_audit_stats *out)
{
	struct bw_store_read *rd;
	MDB_stat m, h, v, r;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!st->has_audit)
		return 0;
	if (!(rd = store_read_begin(st, &err)))
		return err;
	if (mdb_stat(rd->txn, st->models, &m) || mdb_stat(rd->txn, st->history, &h) ||
	    mdb_stat(rd->txn, st->vectors, &v) || mdb_stat(rd->txn, st->vref, &r)) {
		err = BW_ESTORE;
	} else {
		out->models = m.ms_entries;
		out->decisions = h.ms_entries;
		out->vectors = v.ms_entries;
		out->model_bytes = pages(&m);
		out->history_bytes = pages(&h);
		out->vector_bytes = pages(&v) + pages(&r);
	}
	store_read_end(rd);
	return err;
}
