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

#endif
