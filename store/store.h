/*
 * store.h — the LMDB store of score records served by the API.
 *
 * Keys: account id → score record (JSON text, docs/SCORES.md); lower-cased
 * latest screen name → account id; account id → feature vector (doubles in
 * registry order) for explanations. One writer (the scoring stage or
 * replay), any number of readers; readers never block the writer.
 *
 * Ownership: values returned by getters are copied into caller buffers or
 * malloc'd (documented per function), except the read-snapshot getters,
 * which borrow LMDB's pages until store_read_end(). Thread-safe for readers
 * (the environment is opened MDB_NOTLS, so a snapshot may move between
 * threads but must not be used by two at once); one writer.
 *
 * Ordering: account ids that are all digits sort numerically and before any
 * other id (e.g. a DID), which sort bytewise; export cursors rely on this.
 * Ids are 1..BW_STORE_MAX_KEY bytes. Screen names are indexed by their first
 * BW_STORE_MAX_KEY bytes (cut at a UTF-8 character boundary), ASCII
 * case-folded; the record keeps the whole name.
 */
#ifndef BW_STORE_H
#define BW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BW_STORE_MAX_KEY 255 /* longest account id or screen name, bytes */

struct bw_store;
struct bw_store_txn;
struct bw_store_read;

/* Open (creating when `writable`) the store in directory `path`. */
struct bw_store *store_open(const char *path, bool writable, size_t map_size_mb, char *errstr,
			    size_t errlen);
void store_close(struct bw_store *st);

/* Write transaction (one at a time per store). Batch many puts per commit. */
struct bw_store_txn *store_txn_begin(struct bw_store *st, char *errstr, size_t errlen);
int store_txn_commit(struct bw_store_txn *txn, char *errstr, size_t errlen); /* frees txn */

/*
 * Group commit for a writer that knows when durability matters (the scoring
 * stage: before it commits the Kafka offsets a batch depends on). With
 * `deferred`, committed transactions are not flushed to disk until
 * store_sync(): a process crash loses nothing (the pages are the kernel's),
 * a system crash may undo the transactions since the last sync. 0 or
 * BW_ESTORE with errstr set.
 */
int store_set_deferred_sync(struct bw_store *st, bool deferred, char *errstr, size_t errlen);
int store_sync(struct bw_store *st, char *errstr, size_t errlen);
void store_txn_abort(struct bw_store_txn *txn);                             /* frees txn; NULL ok */

/*
 * Put one account's score record (JSON text, `len` bytes) and, when
 * `features` is not NULL, its feature vector of `n_features` doubles.
 * `screen_name` (may be NULL) updates the by-name index, replacing the
 * account's previous name. Returns 0 or BW_ESTORE with errstr set.
 */
int store_txn_put(struct bw_store_txn *txn, const char *user_id, const char *screen_name,
		  const char *record_json, size_t len, const double *features, size_t n_features,
		  char *errstr, size_t errlen);

/* Record of an account: malloc'd NUL-terminated JSON (caller frees) or NULL
 * when absent (then *err is BW_ENOENT) or on error. */
char *store_get(struct bw_store *st, const char *user_id, size_t *len, int *err);

/* Same, looked up by screen name, case-insensitively. */
char *store_get_by_name(struct bw_store *st, const char *screen_name, size_t *len, int *err);

/* Feature vector of an account: malloc'd array (caller frees) of *n doubles. */
double *store_get_features(struct bw_store *st, const char *user_id, size_t *n, int *err);

/*
 * Visit records in account-id order starting after `after_id` (NULL = from
 * the start); the callback returns non-zero to stop (that value is returned).
 * Strings are borrowed for the duration of the callback.
 */
typedef int (*store_scan_cb)(const char *user_id, const char *record_json, size_t len,
			     void *opaque);
int store_scan(struct bw_store *st, const char *after_id, store_scan_cb cb, void *opaque);

/* Number of account records. */
int store_count(struct bw_store *st, uint64_t *n);

/*
 * A read snapshot for many lookups at the cost of one: NULL with *err set on
 * failure. End it with store_read_end() (accepts NULL). Snapshots are pooled
 * and reused; an open one never blocks the writer, but keep it short-lived
 * (it pins the pages it sees).
 */
struct bw_store_read *store_read_begin(struct bw_store *st, int *err);
void store_read_end(struct bw_store_read *rd);

/* Record by id / by screen name (case-insensitive) in the snapshot:
 * NUL-terminated JSON borrowed until store_read_end(), or NULL with *err
 * BW_ENOENT when absent (BW_ESTORE on error, BW_EINVAL for a bad key). */
const char *store_read_get(struct bw_store_read *rd, const char *user_id, size_t *len,
			   int *err);
const char *store_read_get_by_name(struct bw_store_read *rd, const char *screen_name,
				   size_t *len, int *err);

/* Feature vector of an account in the snapshot: malloc'd copy (caller frees)
 * of *n doubles, or NULL with *err (BW_ENOENT when none was stored). */
double *store_read_get_features(struct bw_store_read *rd, const char *user_id, size_t *n,
				int *err);

/* ---- deletion and small named values (a follower of the scores topic) ---- */

/* Remove an account: its record, vector and by-name entry (a tombstone in the
 * scores topic). 0 when removed or absent, BW_EINVAL / BW_ESTORE with errstr. */
int store_txn_del(struct bw_store_txn *txn, const char *user_id, char *errstr, size_t errlen);

/* Put a small named value (e.g. a topic position) in the write transaction,
 * so it commits with the records it describes. 0 or BW_ESTORE with errstr. */
int store_txn_meta_put(struct bw_store_txn *txn, const char *key, const void *val, size_t len,
		       char *errstr, size_t errlen);

/* The named value: malloc'd copy of *len bytes (caller frees), or NULL with
 * *err (BW_ENOENT when never put). */
void *store_meta_get(struct bw_store *st, const char *key, size_t *len, int *err);

/* ---- audit trail (store_audit.c): model registry and decision history ------
 *
 * Models: every model that scored into the store, kept by its id
 * ("sha256:<hex>" of its bytes, checked on registration), never overwritten.
 * History: every score decision, appended per account with a sequence number
 * (1, 2, ...), never rewritten; store_set_history_keep() bounds how many are
 * kept per account (the oldest go first). A decision names its model and
 * feature vector; vectors are stored once per content (sha256 of their
 * encoding) and dropped with the last decision that uses them. A store
 * written before the audit trail existed opens read-only without it (the
 * getters then answer BW_ENOENT).
 */

#define STORE_HASH_LEN 32     /* bytes of a sha256 */
#define STORE_MODEL_ID_LEN 71 /* "sha256:" + 64 hex digits */
#define STORE_MAX_TOPIC 249   /* longest Kafka topic name */
#define STORE_MAX_POST_ID 64  /* longest post id kept in a watermark */
#define STORE_MAX_HANDLE 1024 /* longest screen name kept in a decision */

/* One score decision. Strings are NUL-terminated in place. */
struct store_decision {
	uint64_t seq;                                /* 1, 2, ... per account (set by the store) */
	int64_t scored_at_ms;                        /* wall clock when it was made */
	int64_t event_ms;                            /* watermark: latest input event time, or INT64_MIN */
	char last_post_id[STORE_MAX_POST_ID + 1];    /* watermark: last post id ("" unknown) */
	char topic[STORE_MAX_TOPIC + 1];             /* watermark: Kafka topic of the input ("" none) */
	int32_t partition;                           /* its partition (-1 none) */
	int64_t offset;                              /* its offset (-1 none) */
	char model_id[STORE_MODEL_ID_LEN + 1];       /* the model that decided */
	char schema[17];                             /* feature schema hash of the vector */
	uint32_t schema_version;                     /* feature schema version */
	uint32_t avail;                              /* evidence mask the score used (CLF_AVAIL_*) */
	double cap_prior;                            /* score.cap_prior in force */
	uint64_t posts_seen;                         /* authored posts folded in (record field) */
	char screen_name[STORE_MAX_HANDLE + 1];      /* handle in the record ("" none) */
	unsigned char vec_hash[STORE_HASH_LEN];      /* sha256 of the stored vector (set by the store) */
	unsigned char record_hash[STORE_HASH_LEN];   /* sha256 of the exact score record text */
	uint32_t status;                             /* enum clf_status of the score */
	double english, universal;                   /* the scores at full precision */
};

/* Keep the newest `keep` decisions per account (0 = all, -1 = record none). */
void store_set_history_keep(struct bw_store *st, int64_t keep);

/*
 * Register a model's bytes under `model_id`, which must be their sha256
 * ("sha256:<hex>"), else BW_EINVAL. An id already present is left untouched
 * (*added false; may be NULL). 0, BW_EINVAL or BW_ESTORE with errstr set.
 */
int store_txn_put_model(struct bw_store_txn *txn, const char *model_id, const void *bytes,
			size_t len, int64_t now_ms, bool *added, char *errstr, size_t errlen);

/* A registered model's bytes: malloc'd (caller frees), *len bytes, registered
 * at *registered_ms (may be NULL); NULL with *err BW_ENOENT when absent. */
void *store_get_model(struct bw_store *st, const char *model_id, size_t *len,
		      int64_t *registered_ms, int *err);

/* Visit the registered models in id order; the callback returns non-zero to
 * stop (returned). */
typedef int (*store_model_cb)(const char *model_id, size_t len, int64_t registered_ms,
			      void *opaque);
int store_scan_models(struct bw_store *st, store_model_cb cb, void *opaque);

/*
 * Append decision `d` of `user_id` with its feature vector x[0..n): the
 * vector is stored once per content; d->seq and d->vec_hash are filled in.
 * A decision equal to the account's latest (same model, vector, evidence,
 * prior and record) is not appended again (*appended false; may be NULL):
 * a re-delivered update costs nothing. Then the oldest decisions past the
 * retention are deleted. 0, BW_EINVAL or BW_ESTORE with errstr set.
 */
int store_txn_put_decision(struct bw_store_txn *txn, const char *user_id,
			   struct store_decision *d, const double *x, size_t n, bool *appended,
			   char *errstr, size_t errlen);

/* Visit an account's decisions oldest first (the decision is borrowed for
 * the callback). 0 (also when there are none), the callback's non-zero
 * value, or BW_ESTORE / BW_EINVAL. */
typedef int (*store_decision_cb)(const struct store_decision *d, void *opaque);
int store_scan_history(struct bw_store *st, const char *user_id, store_decision_cb cb,
		       void *opaque);

/* A stored vector by content hash: malloc'd (caller frees) *n doubles, or
 * NULL with *err (BW_ENOENT when absent). */
double *store_get_vector(struct bw_store *st, const unsigned char hash[STORE_HASH_LEN],
			 size_t *n, int *err);

/* Sizes of the audit trail (entries and LMDB pages of each database). */
struct store_audit_stats {
	uint64_t models, decisions, vectors;        /* entries */
	uint64_t history_bytes, vector_bytes;       /* pages used × page size (with vref) */
	uint64_t model_bytes;                       /* pages of the model registry */
};
int store_audit_stats(struct bw_store *st, struct store_audit_stats *out);

/* ---- Conversation tallies (store_tally.c; docs/REPORT.md) --------------------
 *
 * What `botwatch report` and GET /v1/report count: per tally kind (hashtag,
 * URL domain, keyword), event-time bucket (start, seconds since the epoch) and
 * key, each account's number of posts. Shares above a threshold are formed at
 * report time against the accounts' current score records. Writers add deltas
 * inside their write transaction; store_tally_prune() bounds the keys kept per
 * (kind, bucket) to the most posted ones. A per-partition mark records up to
 * which input offset the tallies are counted, so a stage that re-reads
 * messages after a crash counts none twice.
 */

#define STORE_TALLY_HASHTAG 'h' /* lower-cased hashtag without '#' */
#define STORE_TALLY_DOMAIN 'd'  /* URL host, lower-cased, without "www." */
#define STORE_TALLY_KEYWORD 'k' /* a configured keyword (report.keywords) found in the text */
#define STORE_TALLY_KEY_MAX 128 /* longest key kept, bytes (longer ones are cut at a
				   UTF-8 character boundary) */

/* Add `posts` to the count of (`kind`, `bucket`, `key`, `account`). 0, or
 * BW_EINVAL (bad kind, empty key or account) / BW_ESTORE with errstr set. */
int store_tally_add(struct bw_store_txn *txn, char kind, int64_t bucket, const char *key,
		    const char *account, uint64_t posts, char *errstr, size_t errlen);

/* When more than 2 × `max_keys` keys of (`kind`, `bucket`) are kept, drop all
 * but the `max_keys` with the most posts (ties: the smaller key stays).
 * *dropped (may be NULL) receives the number of keys dropped. 0 or BW_ESTORE. */
int store_tally_prune(struct bw_store_txn *txn, char kind, int64_t bucket, size_t max_keys,
		      uint64_t *dropped, char *errstr, size_t errlen);

/* The mark of (`topic`, `partition`): the next input offset to count. 0, or
 * BW_ENOENT when none was written. */
int store_tally_mark_get(struct bw_store *st, const char *topic, int32_t partition,
			 int64_t *offset);
int store_tally_mark_put(struct bw_store_txn *txn, const char *topic, int32_t partition,
			 int64_t offset, char *errstr, size_t errlen);

/* One tally row: key and account borrowed for the duration of the callback,
 * which returns non-zero to stop the scan (that value is returned). */
typedef int (*store_tally_cb)(char kind, int64_t bucket, const char *key, const char *account,
			      uint64_t posts, void *opaque);

/* Visit the rows of `kind` with from <= bucket < to, ordered by bucket, key,
 * account (bytewise). 0 (also when the store has no tallies), the callback's
 * value, or BW_ESTORE for a damaged row. */
int store_tally_scan(struct bw_store *st, char kind, int64_t from, int64_t to, store_tally_cb cb,
		     void *opaque);

#endif
