/*
 * store_int.h — private to store/: the store's state, shared by store.c (score
 * records), store_audit.c (model registry and decision history) and
 * store_tally.c (conversation tallies).
 */
#ifndef BW_STORE_INT_H
#define BW_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>

#include "store.h"

#define READ_POOL 64 /* reset read transactions kept for reuse */

struct bw_store {
	MDB_env *env;                 /* the LMDB environment */
	MDB_dbi records;              /* id → record JSON + NUL */
	MDB_dbi features;             /* id → doubles (dense; written before the sparse vectors) */
	MDB_dbi fvec;                 /* id → uvar n + sparse vector (bw_codec.h) */
	bool has_fvec;                /* fvec exists (a read-only older store may lack it) */
	MDB_dbi meta;                 /* name → small value (store_txn_meta_put) */
	bool has_meta;                /* meta exists (older stores lack it until written) */
	MDB_dbi tally;                /* conversation tallies (store_tally.c) */
	bool has_tally;               /* tally exists (a read-only older store may lack it) */
	MDB_dbi names;                /* lower(screen name) → id */
	MDB_dbi id2name;              /* id → lower(screen name) */
	bool writable;                /* opened for writing */
	bool env_open;                /* mdb_env_open succeeded (the path is known) */
	pthread_rwlock_t resize;      /* shared by open snapshots, exclusive to adopt a grown map */
	pthread_mutex_t pool_lock;    /* guards pool / n_pool */
	MDB_txn *pool[READ_POOL];     /* reset read txns ready for mdb_txn_renew */
	size_t n_pool;                /* used entries of pool */
	MDB_dbi models;               /* model id → registered-at ms (8 bytes LE) + model bytes */
	MDB_dbi history;              /* id NUL seq (8 bytes BE) → one decision (store_audit.c) */
	MDB_dbi vectors;              /* sha256 of an encoded vector → the encoding */
	MDB_dbi vref;                 /* sha256 of an encoded vector → decisions using it (8 bytes LE) */
	bool has_audit;               /* the four audit databases exist (an older store may lack them) */
	int64_t history_keep;         /* newest decisions kept per account; 0 = all, -1 = none */
	void *zc;                     /* the writer's zstd compression context (ZSTD_CCtx), lazily */
};

struct bw_store_txn {
	struct bw_store *st; /* owning store */
	MDB_txn *txn;        /* the LMDB write transaction */
};

struct bw_store_read {
	struct bw_store *st; /* owning store */
	MDB_txn *txn;        /* read-only LMDB transaction */
};

/* Account-id order (store.h, "Ordering"). */
int store_id_cmp(const MDB_val *a, const MDB_val *b);
/* The BW_ESTORE error of LMDB call `what` (rc) on `st`, naming its directory. */
int store_lmdb_err(const struct bw_store *st, char *errstr, size_t errlen, int rc,
		   const char *what);
/* An account id of 1..BW_STORE_MAX_KEY bytes (its length into *len). */
bool store_valid_key(const char *s, size_t *len);
/* Open (creating when writable) the audit databases in txn; 0 or an LMDB code. */
int store_audit_open(struct bw_store *st, MDB_txn *txn);
/* Free what the audit trail holds (store_close). */
void store_audit_close(struct bw_store *st);

/* The LMDB write transaction of `txn` (borrowed for its life). */
MDB_txn *store_int_txn(struct bw_store_txn *txn);

/* The store a write transaction belongs to. */
struct bw_store *store_int_txn_store(struct bw_store_txn *txn);

/* The LMDB read transaction of a snapshot (borrowed until store_read_end()). */
MDB_txn *store_int_read_txn(struct bw_store_read *rd);

/* The tally database; false when the store has none (an older store opened
 * read-only: no tallies were recorded). */
bool store_int_tally_dbi(const struct bw_store *st, MDB_dbi *dbi);

#endif
