/*
 * feat_stage.h — what the Kafka features stage (stage/stage_features.c) keeps
 * and sends, as library code: per-account feature state in LMDB with the
 * consumed offsets committed in the same transaction, and the feature update
 * message it emits per changed account for scoring.
 *
 * Two parts, one prefix:
 *   feat_store_*   the LMDB state store (feat_store.c; no logs)
 *   feat_update_*  the binary encoding of a feature update message
 * docs/STATE.md ("The Kafka stage") describes the protocol.
 *
 * Ownership is stated per function. A store is used by one thread.
 */
#ifndef BW_FEAT_STAGE_H
#define BW_FEAT_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feat.h"

/* ---- LMDB state store ---------------------------------------------------------- */

struct feat_store;

/*
 * Open (creating) the store in directory `dir` with a map of `map_mb` MiB.
 * Fails with BW_ESCHEMA when the directory holds state of another format.
 * NULL with errstr set on failure; close with feat_store_close().
 */
struct feat_store *feat_store_open(const char *dir, size_t map_mb, char *errstr, size_t errlen);
void feat_store_close(struct feat_store *s); /* aborts an open transaction; NULL ok */

/* Begin the (single) write transaction; 0 or BW_ESTORE. */
int feat_store_begin(struct feat_store *s, char *errstr, size_t errlen);

/* True while the write transaction is open. */
bool feat_store_in_txn(const struct feat_store *s);

/* Commit / abort it. Commit returns 0 or BW_ESTORE (then the transaction is gone). */
int feat_store_commit(struct feat_store *s, char *errstr, size_t errlen);
void feat_store_abort(struct feat_store *s);

/*
 * Load an account's state inside the open transaction: *out is a new state
 * (caller frees with feat_account_free()) or NULL when the account has none.
 * 0, BW_ESTORE or BW_EPARSE (corrupt value) with errstr set.
 */
int feat_store_get(struct feat_store *s, const char *user_id, struct feat_account **out,
		   char *errstr, size_t errlen);

/* Save an account's state (borrowed) in the open transaction. 0 or BW_ESTORE/BW_ENOMEM. */
int feat_store_put(struct feat_store *s, const struct feat_account *acc, char *errstr,
		   size_t errlen);

/* The next offset to consume of topic/partition: 0 and *offset, or BW_ENOENT.
 * Uses the open transaction when there is one, else a read transaction. */
int feat_store_offset_get(struct feat_store *s, const char *topic, int32_t partition,
			  int64_t *offset);

/* Record the next offset to consume, in the open transaction. 0 or BW_ESTORE. */
int feat_store_offset_put(struct feat_store *s, const char *topic, int32_t partition,
			  int64_t offset, char *errstr, size_t errlen);

/*
 * Visit every stored account (read transaction; states borrowed for the
 * call) in account-id byte order. A non-zero callback return stops the walk
 * and is returned; BW_ESTORE/BW_EPARSE with errstr set on store errors.
 */
/*
 * The population table (feat.h, "Population features"): the ids of the
 * accounts under each bio key, in the open transaction. pop_move takes one
 * account from key `from` to key `to` (0 = none). pop_members sets *count to
 * the accounts under `key` (before the first callback, so cb may read it
 * through its opaque) and calls cb with the first `max` ids (bytes, not
 * NUL-terminated; borrowed for the call); a non-zero cb return stops the
 * walk and is returned. pop_counts adds every key's count to `pop` (a read
 * transaction of its own; not inside feat_store_each). 0 or a BW_E* code.
 */
typedef int (*feat_store_id_cb)(const void *id, size_t len, void *opaque);
int feat_store_pop_move(struct feat_store *s, const char *user_id, uint64_t from, uint64_t to,
			char *errstr, size_t errlen);
int feat_store_pop_members(struct feat_store *s, uint64_t key, size_t max, feat_store_id_cb cb,
			   void *opaque, uint32_t *count, char *errstr, size_t errlen);
/* Accounts under the most shared of keys[0..n) (0 when none), in the open
 * transaction. */
int feat_store_pop_most(struct feat_store *s, const uint64_t *keys, size_t n, uint32_t *most,
			char *errstr, size_t errlen);
int feat_store_pop_counts(struct feat_store *s, struct feat_pop *pop, char *errstr, size_t errlen);

/* The accounts changed before a checkpoint whose update was not produced yet:
 * unsent_set replaces the set in the open transaction; unsent_each visits it
 * (a read transaction of its own; ids as bytes, borrowed for the call). 0 or
 * a BW_E* code with errstr set. */
int feat_store_unsent_set(struct feat_store *s, const char *const *ids, size_t n, char *errstr,
			  size_t errlen);
int feat_store_unsent_each(struct feat_store *s, feat_store_id_cb cb, void *opaque, char *errstr,
			   size_t errlen);

typedef int (*feat_store_cb)(const struct feat_account *acc, void *opaque);
int feat_store_each(struct feat_store *s, feat_store_cb cb, void *opaque, char *errstr,
		    size_t errlen);

/* Number of account states stored. */
int feat_store_count(struct feat_store *s, uint64_t *n);

/* ---- feature update messages ----------------------------------------------------- */

/*
 * Encode one account's vector (feat_count() doubles, borrowed) as a feature
 * update: bytes 0xB8 0x03, the schema hash, user id, screen name, posts seen,
 * latest event time, the evidence (feat_account_evidence()) and the vector's
 * values that are not +0.0 with their indices (docs/STATE.md). *out is malloc'd (caller
 * frees). 0 or BW_ENOMEM.
 */
int feat_update_encode(const struct feat_account *acc, const double *vec, unsigned char **out,
		       size_t *len);

/* Evidence bits of a feature update. */
#define FEAT_EVID_TEXT 0x1u   /* profile text seen */
#define FEAT_EVID_COUNTS 0x2u /* profile counts and creation time known */

/* Longest user id and screen name a feature update carries, in bytes: any
 * account id (BW_ACCOUNT_ID_MAX) and as long a name as the state keeps
 * (FEAT_MAX_STR), so the streaming path never drops an account replay keeps
 * (a name over 63 bytes made the update "malformed"). */
#define FEAT_UPDATE_MAX_ID 63
#define FEAT_UPDATE_MAX_NAME 1024

/* A decoded feature update; the vector points into the message. */
struct feat_update {
	char schema_hash[17];     /* feature schema of the vector */
	char user_id[FEAT_UPDATE_MAX_ID + 1];       /* account id */
	char screen_name[FEAT_UPDATE_MAX_NAME + 1]; /* latest screen name ("" when unknown) */
	uint64_t posts_seen;      /* distinct own posts */
	int64_t last_event_ms;    /* latest own event time, BW_TIME_NONE */
	bool has_evidence;        /* version >= 2: evidence and own_posts are set */
	uint32_t evidence;        /* FEAT_EVID_* bits */
	uint64_t own_posts;       /* distinct authored posts, embedded originals excluded */
	unsigned version;         /* message version (1, 2: dense; 3: sparse) */
	size_t n;                 /* values in the vector */
	size_t nnz;               /* values stored: n (dense), else those not +0.0 */
	const unsigned char *vec; /* dense: n little-endian IEEE-754 doubles (unaligned);
				     sparse: nnz (uvar gap, 8-byte double) pairs, checked
				     by feat_update_decode() */
};

/* Most values a feature update may carry (a bound for decoding untrusted input). */
#define FEAT_UPDATE_MAX_N 1000000

/* Decode (buf borrowed for the lifetime of *u). 0, BW_ESCHEMA or BW_EPARSE. */
int feat_update_decode(const void *buf, size_t len, struct feat_update *u);

/* The i-th value of a decoded vector (i < u->n); O(nnz) for a sparse update. */
double feat_update_value(const struct feat_update *u, size_t i);

/* All u->n values into out[0..u->n-1] (caller's array). */
void feat_update_values(const struct feat_update *u, double *out);

#endif
