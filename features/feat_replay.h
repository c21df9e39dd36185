/*
 * feat_replay.h — the replay driver: decode archive files, route every post to
 * per-account feature states held in memory, then visit each account with its
 * feature vector.
 *
 * A separate header from feat.h because it depends on the decoder (decode.h);
 * same module and prefix. `botwatch replay` is built on it, and so can be any
 * later stage that wants "files in, one vector per account out" (scoring,
 * storing): feed files with feat_replay_file() (or decoded posts with
 * feat_replay_post()), call feat_replay_finish(), then feat_replay_each().
 *
 * Routing: a post updates its author's state; a post that retweets, quotes,
 * replies to or mentions (by id) another account also updates that account's
 * state as an observation (friend.*_by features). Accounts only ever observed
 * have a state but are not visited unless `include_observed` is set.
 *
 * Memory: with opts.mem_budget set, the states held in memory are bounded
 * by it: past it, the least recently used ones are serialised
 * (feat_account_save()) to an unlinked spill file (feat_spill.h) and read
 * back on their account's next record. The round trip is exact, so the
 * vectors are the same bits as without a budget. What stays in memory per
 * account is its index entry (~60 bytes and its id) and its population keys.
 *
 * Ownership: the driver owns every state; states and vectors passed to the
 * callback are borrowed for the duration of the call. Not thread-safe
 * (feat_replay_files() runs its own reader thread internally).
 */
#ifndef BW_FEAT_REPLAY_H
#define BW_FEAT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "feat.h"
#include "feat_tally.h"

/* Called after a record is folded into its author's state (observations of
 * other accounts do not call it); both arguments borrowed for the call. */
typedef void (*feat_replay_author_cb)(const struct feat_account *acc, const struct bw_post *post,
				      void *opaque);

struct feat_replay_opts {
	int64_t probe_time_ms;   /* probe time for every account; BW_TIME_NONE = each account's latest event */
	size_t max_unit_bytes;   /* decoder cap on one line/document (0 = decoder default) */
	int max_depth;           /* decoder cap on nesting (0 = decoder default) */
	int format;              /* enum ingest_format accepted (0 = auto: any shape) */
	bool include_observed;   /* also visit accounts that never authored a record */
	bw_dlq_cb on_dlq;        /* bad input (may be NULL: then only counted) */
	void *dlq_opaque;        /* passed to on_dlq */
	feat_replay_author_cb on_author; /* per authored record (may be NULL) */
	void *author_opaque;     /* passed to on_author */
	int threads;             /* feat_replay_files(): >= 2 decodes on a reader thread
				  * while the calling thread folds (0, 1: one thread) */
	uint64_t mem_budget;     /* bytes of account states kept in memory; past it the
				  * least recently used go to a spill file (0 = keep all) */
	const char *spill_dir;   /* directory of the spill file (NULL = $TMPDIR or /tmp) */
	struct feat_tally *tally; /* borrowed: each authored post is counted in it for the
				   * conversation report (feat_tally.h); NULL = not counted */
};

/* Memory of the driver (feat_replay_mem()). */
struct feat_replay_mem {
	uint64_t resident_bytes;      /* heap held by resident states now */
	uint64_t resident_peak;       /* the most it held */
	uint64_t index_bytes;         /* per-account index: entries, hash slots, ids */
	uint64_t spills;              /* states written to the spill file */
	uint64_t loads;               /* states read back from it */
	uint64_t spill_file_bytes;    /* size of the spill file */
	uint64_t spill_bytes_written; /* serialised bytes written to it */
};

struct feat_replay_stats {
	uint64_t accounts;       /* states held (authors and observed accounts) */
	uint64_t authored;       /* of them with an own post or profile record */
	uint64_t posts;          /* decoded records routed */
	uint64_t late;           /* posts/observations ignored as older than a full window */
	double read_wall_s;      /* feat_replay_files(): wall seconds decoding and folding */
	double reader_cpu_s;     /* of it, cpu seconds of the reader thread (0: none) */
	double fold_cpu_s;       /* cpu seconds of the calling thread (decoding too without a reader) */
};

struct feat_replay;

/* New driver; NULL with errstr set on failure. Free with feat_replay_free(). */
struct feat_replay *feat_replay_new(const struct feat_replay_opts *opts, char *errstr,
				    size_t errlen);
void feat_replay_free(struct feat_replay *r);

/* Decode one file ("-" = stdin, plain or gzip) into the states. 0 or a BW_E* code. */
int feat_replay_file(struct feat_replay *r, const char *path, char *errstr, size_t errlen);

/*
 * Decode the files in order (as feat_replay_file() each), then release the
 * held profile records (feat_replay_finish()). With opts.threads >= 2 the
 * decoding runs on a reader thread and the calling thread folds, in the
 * same order and with the same result. Callbacks: on_dlq runs on the reader
 * thread, on_author on the calling thread. 0 or a BW_E* code with errstr set.
 */
int feat_replay_files(struct feat_replay *r, char *const *files, size_t n_files, char *errstr,
		      size_t errlen);

/* Route one already-decoded post (borrowed). 0 or a BW_E* code. */
int feat_replay_post(struct feat_replay *r, const struct bw_post *post);

/* Release held profile records (decoder) after the last file. */
int feat_replay_finish(struct feat_replay *r, char *errstr, size_t errlen);

/* Visit accounts in first-seen order with their vector (feat_count() doubles).
 * A non-zero callback return stops the walk and is returned. */
typedef int (*feat_replay_cb)(const struct feat_account *acc, const double *vec, void *opaque);
int feat_replay_each(struct feat_replay *r, feat_replay_cb cb, void *opaque);

/* The vector of one of the driver's states (feat_count() doubles): its
 * features at the driver's probe time, population features over the
 * authors read so far. 0 or a BW_E* code. */
int feat_replay_extract(const struct feat_replay *r, const struct feat_account *acc,
			double *out);

/* States held (authors and observed accounts). */
size_t feat_replay_count(const struct feat_replay *r);
/* The i-th account in first-seen order (i < feat_replay_count()): its id
 * (borrowed for the driver's life), whether it authored a record, and its
 * state. With a memory budget the state may have to be read back from the
 * spill file, and it is then borrowed only until the next call of
 * feat_replay_account() (or the next post); NULL on a spill-file error.
 * Without one (mem_budget 0) every state is borrowed for the driver's life. */
const char *feat_replay_id(const struct feat_replay *r, size_t i);
bool feat_replay_authored(const struct feat_replay *r, size_t i);
const struct feat_account *feat_replay_account(struct feat_replay *r, size_t i);
/* The i-th state without bringing it back into memory: the resident state,
 * or a private copy read from the spill file into *copy (the caller frees
 * it with feat_account_free(); NULL when resident). Changes nothing (not
 * even the recency order), so threads may call it concurrently while
 * nothing else uses the driver. NULL with errstr set on a read error. */
const struct feat_account *feat_replay_peek(const struct feat_replay *r, size_t i,
					    struct feat_account **copy, char *errstr, size_t errlen);
/* Index of account `id` in first-seen order, or -1. */
long feat_replay_find(const struct feat_replay *r, const char *id);

/* Memory figures (updated by the call; borrowed for the driver's life). */
const struct feat_replay_mem *feat_replay_mem(struct feat_replay *r);

const struct feat_replay_stats *feat_replay_stats(const struct feat_replay *r);
const struct bw_decode_stats *feat_replay_decode_stats(const struct feat_replay *r);

#endif
