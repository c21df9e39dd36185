/*
 * feat_spill.h — an on-disk store for idle account states during a replay:
 * one unlinked temporary file holding feat_account_save() bytes, addressed
 * by a location the caller keeps per account (16 bytes).
 *
 * A state written again reuses its location when it fits there (each slot is
 * written with room for growth); otherwise it is appended and the old slot is
 * dead space. The file is mapped in segments: a state is written with a copy
 * into the mapping and read back from it, without a system call. The file is
 * unlinked as soon as it is created: it disappears with the process however
 * it ends. Its pages are file-backed (the kernel's page cache, written back
 * and reclaimable), not the process's heap.
 *
 * Same module and prefix as feat.h; a separate header because only the
 * replay driver (and its tests) use it. Not thread-safe.
 */
#ifndef BW_FEAT_SPILL_H
#define BW_FEAT_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "feat.h"

/* Where one account's state lies in the file (cap 0 = never written). */
struct feat_spill_loc {
	uint64_t off;  /* byte offset of its slot */
	uint32_t len;  /* bytes of the state written last */
	uint32_t cap;  /* bytes of the slot */
};

struct feat_spill_stats {
	uint64_t puts;          /* states written */
	uint64_t gets;          /* states read back */
	uint64_t bytes_put;     /* serialised bytes written */
	uint64_t file_bytes;    /* size of the file (segments: live slots, dead space, room) */
	uint64_t reused;        /* puts that rewrote their slot in place */
};

struct feat_spill;

/* A new store in a fresh unlinked file under `dir` (NULL or "" = $TMPDIR,
 * else /tmp). NULL with errstr set. Free with feat_spill_free(). */
struct feat_spill *feat_spill_new(const char *dir, char *errstr, size_t errlen);
void feat_spill_free(struct feat_spill *s);

/* Write account `a` (borrowed; not freed) at *loc, updating *loc (zeroed for
 * an account never written). 0 or BW_ENOMEM / BW_EIO / BW_ETOOLARGE. */
int feat_spill_put(struct feat_spill *s, const struct feat_account *a, struct feat_spill_loc *loc);

/* Read the state at *loc back (the caller frees it with feat_account_free());
 * NULL with errstr set on a read or format error. */
struct feat_account *feat_spill_get(struct feat_spill *s, const struct feat_spill_loc *loc,
				    char *errstr, size_t errlen);

/* The same without counting it: changes nothing, so threads may read
 * concurrently while nothing is written. */
struct feat_account *feat_spill_read(const struct feat_spill *s, const struct feat_spill_loc *loc,
				     char *errstr, size_t errlen);

const struct feat_spill_stats *feat_spill_stats(const struct feat_spill *s);

#endif
