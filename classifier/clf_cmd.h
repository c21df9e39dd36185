/*
 * clf_cmd.h — glue shared by the classifier's commands (train, eval, the
 * scoring part of replay): labels files, decoding archives into per-account
 * feature state, and building the labelled matrix. Command-level code: it
 * uses the decoder and the feature registry; the clf_ module proper does not.
 *
 * Ownership: every object is created and freed by the functions named with
 * it; strings returned are borrowed until the object is freed.
 */
#ifndef BW_CLF_CMD_H
#define BW_CLF_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clf.h"
#include "decode.h"

struct bw_config;

/* Labelled accounts from one or more CSV files
 * (user_id,label[,class][,dataset][,evidence][,fields]). */
struct clf_labels {
	size_t n, cap;      /* entries used / allocated */
	char **id;          /* account ids */
	int *label;         /* 1 bot, 0 human */
	char **cls;         /* class (bot type; "human" for label 0 when absent) */
	char **dataset;     /* dataset (4th column, else the file's directory name) */
	uint32_t *evidence; /* CLF_AVAIL_* bits the row may use (5th column: "all" =
			     * CLF_AVAIL_ALL, default, or e.g. "posts"); ANDed with the
			     * account's evidence, so a row can be kept out of groups */
	uint32_t *fields;   /* CLF_FIELD_* bits of the profile fields the row's source
			     * really has (6th column: "all" = CLF_FIELDS_ALL, default, or
			     * e.g. "screen_name+followers_count"); profile columns that
			     * read another field are masked (NaN) in the matrix */
	size_t dup;         /* ids seen again in a later line or file (first kept) */
	size_t *slot;       /* hash slots: index + 1, 0 = empty */
	size_t nslot;       /* slot count (power of two) */
};

/* Profile fields a source may lack (the labels' fields column). A profile
 * column reading a field its source does not have is masked: NaN in the
 * matrix, which training and scoring read as the population mean (z = 0),
 * so the column tells nothing about that row (docs/MODEL.md, "Sources"). */
enum {
	CLF_FIELD_SCREEN_NAME = 1u << 0,
	CLF_FIELD_NAME = 1u << 1,
	CLF_FIELD_DESCRIPTION = 1u << 2,
	CLF_FIELD_FOLLOWERS = 1u << 3,
	CLF_FIELD_FRIENDS = 1u << 4,
	CLF_FIELD_STATUSES = 1u << 5,
	CLF_FIELD_LISTED = 1u << 6,
	CLF_FIELD_FAVOURITES = 1u << 7,
	CLF_FIELD_CREATED = 1u << 8, /* the account's creation time */
	CLF_FIELD_OTHER = 1u << 9,   /* every other v1.1 user field */
	CLF_FIELDS_ALL = (1u << 10) - 1,
};

/* Fields (CLF_FIELD_*) a registry column reads: 0 for a column of no
 * profile field (activity classes), CLF_FIELD_OTHER for a user column not
 * in the known list. */
uint32_t clf_cmd_column_fields(const char *name);

void clf_labels_init(struct clf_labels *lb);
void clf_labels_free(struct clf_labels *lb);
/* Append a file; errors read "file:line: message". */
int clf_labels_load(struct clf_labels *lb, const char *path, char *errstr, size_t errlen);
/* Index of an id, or -1. */
long clf_labels_find(const struct clf_labels *lb, const char *id);

/* Accounts decoded from archives: feature state plus evidence. */
struct clf_corpus;

struct feat_account;

/* How a corpus is built. */
struct clf_corpus_opts {
	int64_t probe_ms;         /* --probe-time, or BW_TIME_NONE (each account's latest event) */
	bool include_observed;    /* also list accounts only seen retweeted/mentioned/... */
	bw_dlq_cb on_dlq;         /* each dead-lettered unit (may be NULL: then only counted) */
	void *dlq_opaque;         /* passed to on_dlq */
	int threads;              /* >= 2: decode on a reader thread (feat_replay_files()) */
	uint64_t mem_budget;      /* bytes of feature states kept in memory (0 = all);
				   * the rest in a spill file (feat_replay_opts) */
	const char *spill_dir;    /* its directory (NULL = $TMPDIR or /tmp) */
	struct feat_tally *tally; /* borrowed: counts the posts for the report (feat_replay_opts) */
};

/*
 * Decode `files` (plain or gzip; "-" = stdin) through the features stage's
 * replay driver (feat_replay.h) into per-account state plus evidence; every
 * account is routed exactly as `botwatch replay` routes it. Accounts are
 * listed in id order (clf_id_cmp). NULL with errstr set on failure.
 */
struct clf_corpus *clf_corpus_build(const struct bw_config *cfg, char **files, size_t nfiles,
				    const struct clf_corpus_opts *opts, char *errstr,
				    size_t errlen);
void clf_corpus_free(struct clf_corpus *c);

/* Order of account ids, as the store sorts them: ids of digits only
 * numerically and first, any other id bytewise after them. */
int clf_id_cmp(const char *a, const char *b);

/* Accounts listed, in id order. */
size_t clf_corpus_count(const struct clf_corpus *c);
/* Account i: id, screen name (may be NULL), posts, latest event, availability. */
const char *clf_corpus_id(const struct clf_corpus *c, size_t i);
/* Feature state of account i: borrowed until clf_corpus_free() without a
 * memory budget; with one, until the next call for another account (it may
 * be read back from the spill file). NULL on a spill-file error. */
const struct feat_account *clf_corpus_account(const struct clf_corpus *c, size_t i);
const char *clf_corpus_screen_name(const struct clf_corpus *c, size_t i);
uint64_t clf_corpus_posts(const struct clf_corpus *c, size_t i);
int64_t clf_corpus_last_event(const struct clf_corpus *c, size_t i);
uint32_t clf_corpus_avail(const struct clf_corpus *c, size_t i);
/* Index of an account id, or -1. */
long clf_corpus_find(const struct clf_corpus *c, const char *id);
/* Feature vector of account i at the probe time into out[feat_count()]. */
int clf_corpus_extract(const struct clf_corpus *c, size_t i, double *out);
/* Account i's state without bringing it back into memory (feat_replay_peek():
 * the resident state, or a private copy from the spill file in *copy for the
 * caller to free with feat_account_free()), its vector at the probe time
 * (the same as clf_corpus_extract()), and the time its record is scored at
 * (as clf_corpus_last_event()). Read-only: threads may use them for
 * different accounts concurrently while no other corpus function runs. */
const struct feat_account *clf_corpus_peek(const struct clf_corpus *c, size_t i,
					   struct feat_account **copy, char *errstr, size_t errlen);
int clf_corpus_extract_from(const struct clf_corpus *c, const struct feat_account *a, double *out);
int64_t clf_corpus_scored_at(const struct clf_corpus *c, const struct feat_account *a);
/* Latest event time over every account (the training "date"), or BW_TIME_NONE. */
int64_t clf_corpus_latest(const struct clf_corpus *c);
/* The replay driver's memory figures and counters (feat_replay.h). */
struct feat_replay_mem;
struct feat_replay_stats;
const struct feat_replay_mem *clf_corpus_mem(const struct clf_corpus *c);
const struct feat_replay_stats *clf_corpus_replay_stats(const struct clf_corpus *c);
/* One-line summary: units, posts, DLQ counts, accounts. Writes into buf. */
void clf_corpus_summary(const struct clf_corpus *c, char *buf, size_t len);

/* An empty matrix with the registry's columns; NULL on allocation failure. */
struct clf_matrix *clf_cmd_matrix_new(void);

/*
 * Rows for every labelled account found in the corpus, in labels order.
 * *missing counts labelled accounts with no record in the input.
 */
int clf_cmd_fill(struct clf_matrix *m, const struct clf_corpus *c, const struct clf_labels *lb,
		 size_t *missing, char *errstr, size_t errlen);

/*
 * What train and eval share: load every labels file into `lb` (initialised
 * by the caller), decode the archives into *corpus and fill *m with a row
 * per labelled account found (*missing counts those not in the input). On
 * failure the outputs built so far are still set, for the caller's usual
 * cleanup (clf_corpus_free, clf_matrix_free, clf_labels_free). 0 or a BW_E*
 * code with errstr set.
 */
int clf_cmd_load_labelled(const struct bw_config *cfg, char *const *posts, size_t nposts,
			  char *const *labels, size_t nlabels, int64_t probe_ms,
			  struct clf_labels *lb, struct clf_corpus **corpus, struct clf_matrix **m,
			  size_t *missing, char *errstr, size_t errlen);

/* sha256 of a file as "sha256:<hex>" into out (>= 72 bytes). */
int clf_cmd_file_sha256(const char *path, char *out, size_t outlen);

/* Parse --probe-time; exits nothing, returns 0 or BW_EPARSE. */
int clf_cmd_parse_time(const char *s, int64_t *ms);

/* The arguments from argv[i] up to the next "--" option appended to
 * list[*n] (at most `max` in all); returns the index after them. */
int clf_cmd_take_list(int argc, char **argv, int i, char **list, size_t *n, size_t max);

/* A decimal integer in [lo, hi] into *out; else -1 with "botwatch <cmd>:
 * <opt> needs an integer in [lo, hi]" on stderr (v NULL: missing value). */
int clf_cmd_uint_arg(const char *cmd, const char *opt, const char *v, uint64_t lo, uint64_t hi,
		     uint64_t *out);

/* The training options train and eval (for its leave-out runs) share:
 * --kernel linear|rbf|mixed, --folds K (2..20), --folds-by class|source|stratified,
 * --seed S, --balance-sources on|off. Returns 1 when `opt` is none of them, 0 when parsed into o, -1
 * (message naming `cmd` on stderr) when its value is missing or bad. */
int clf_cmd_train_opt(const char *cmd, const char *opt, const char *v, struct clf_train_opts *o);

#endif
