/*
 * store_int.h — what the store module's files share beyond store.h: the
 * LMDB handles behind the opaque types (store.c owns them), for
 * store_tally.c. Not for use outside store/.
 */
#ifndef BW_STORE_INT_H
#define BW_STORE_INT_H

#include <lmdb.h>
#include <stdbool.h>

#include "store.h"

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
