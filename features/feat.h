/*
 * feat.h — per-account behavioural state and the feature registry.
 *
 * The registry declares every feature once (name, class, description, whether
 * it is language-independent); it fixes the column order of the vector that
 * feat_extract() fills, which is the order the classifier's models use.
 * Names follow <class>.<quantity>[.<stat>].
 *
 * Per-account state (struct feat_account) is updated post by post in event
 * time and is bounded in size; it serialises to bytes for the LMDB state
 * store. Updates are idempotent: the same post twice changes nothing.
 *
 * This module never logs or exits: it returns BW_E* codes (bw_err.h).
 * Thread-safety: the registry is immutable and shared; an account's state
 * must not be used by two threads at once.
 */
#ifndef BW_FEAT_H
#define BW_FEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "post.h"

enum feat_class {
	FEAT_USER = 0,
	FEAT_FRIEND,
	FEAT_NETWORK,
	FEAT_TEMPORAL,
	FEAT_CONTENT,
	FEAT_SENTIMENT,
	FEAT__NCLASS
};

struct feat_def {
	const char *name;        /* "temporal.post_gap_seconds.mean" */
	enum feat_class cls;     /* its class */
	bool universal;          /* language-independent (kept by the universal score) */
	const char *description; /* one line, for --list, docs and explanations */
	const char *how;         /* how it is computed (docs/FEATURES.md) */
};

/* Number of features; the length of every feature vector. */
size_t feat_count(void);

/* The i-th feature (i < feat_count()); static, never freed. */
const struct feat_def *feat_def_get(size_t i);

/* Index of a feature by exact name, or -1. */
long feat_index(const char *name);

/* "user", "friend", ...; and the reverse (-1 if unknown). */
const char *feat_class_name(enum feat_class cls);
int feat_class_parse(const char *name);

/* Hex digest identifying the registry (names, classes, order) — the feature
 * schema a model was trained on. Static string. */
const char *feat_schema_hash(void);

/* Write the registry as TSV lines index<TAB>name<TAB>class<TAB>description
 * (`botwatch features --list`). Returns 0 or BW_EIO. */
int feat_write_list(FILE *out);

/* Write the generated reference docs/FEATURES.md. Returns 0 or BW_EIO. */
int feat_write_markdown(FILE *out);

/* Write one account's vector (feat_count() doubles, borrowed) as the NDJSON
 * line of `botwatch replay --features-out`. Returns 0 or BW_EIO. */
struct feat_account;
int feat_write_ndjson(FILE *out, const struct feat_account *acc, const double *vec);

/* Version of the feature definitions; bump when a computation changes. */
#define FEAT_SCHEMA_VERSION 2

struct feat_account;

/* New empty state for one account; caller frees with feat_account_free(). */
struct feat_account *feat_account_new(const char *user_id);
void feat_account_free(struct feat_account *acc);

/*
 * Fold one post (authored by this account, or observing it) into the state.
 * Idempotent for a post id already seen. Returns 0 or a BW_E* code. After
 * an error other than BW_EINVAL for its arguments (out of memory part-way) the
 * state is refused by every later update, extract and save (BW_EINVAL): drop
 * it and reload the saved copy, which never holds a half-folded post.
 */
int feat_account_update(struct feat_account *acc, const struct bw_post *post);

/*
 * The other accounts a post names by id, each once, author excluded: the
 * retweeted/quoted author, the replied-to user, mentioned ids. Their states
 * take the post as an observation (friend.*_by). Fills out[0..max) with
 * pointers borrowed from `post`; returns the count.
 */
size_t feat_post_targets(const struct bw_post *post, const char **out, size_t max);

/* Posts folded in (distinct ids), profile snapshots excluded. */
uint64_t feat_account_posts(const struct feat_account *acc);

/* Latest event time of the account's own posts and profile snapshots (ms),
 * or BW_TIME_NONE; the default probe time. */
int64_t feat_account_last_event(const struct feat_account *acc);

/* Own posts and observations ignored because they were older than a full
 * record window (docs/STATE.md); counted, never silently dropped. */
uint64_t feat_account_late(const struct feat_account *acc);

/* True once the account authored a post or a profile record (accounts only
 * ever observed as retweeted/mentioned/... are false). */
bool feat_account_authored(const struct feat_account *acc);

/* The account id; borrowed for the state's lifetime. */
const char *feat_account_id(const struct feat_account *acc);

/* user.screen_name_likelihood of a screen name (exposed for tests and tools). */
double feat_screen_name_likelihood(const char *screen_name);

/* Kinds of evidence an account's state holds (feat_account_evidence()). */
struct feat_evidence {
	bool profile_text;    /* a screen name, name or description was seen */
	bool profile_counts;  /* followers, friends, statuses counts and creation time known */
	uint64_t own_posts;   /* distinct authored posts, embedded originals excluded */
};

/* Fill *out from the state (borrowed). Thread-safety as the state. */
void feat_account_evidence(const struct feat_account *acc, struct feat_evidence *out);

/* Latest screen name seen, or NULL; borrowed until the next update. */
const char *feat_account_screen_name(const struct feat_account *acc);

/*
 * Fill out[0..feat_count()) at probe time `probe_ms` (BW_TIME_NONE = the
 * account's latest event time). Every value is finite.
 */
int feat_account_extract(const struct feat_account *acc, int64_t probe_ms, double *out);

/*
 * Population features (feat_pop.c, docs/FEATURES.md "Population features"):
 * columns that count other accounts of the input, such as
 * user.description_shared (the most accounts sharing a five-word run of this
 * bio, name words as a placeholder). feat_account_extract() fills them as if
 * the account were alone (0); feat_pop_fill() sets them from a table of the
 * accounts seen. Each account is entered under its keys and moved when its
 * profile changes: keys = feat_account_pop_keys() before and after an
 * update, then feat_pop_move(pop, &before, &after). Not thread-safe.
 */
struct feat_pop;
/* An account's population keys, sorted and distinct (n = 0: none, e.g. no
 * bio long enough to compare), and the print of the strings they came from
 * (feat_account_pop_print()). */
#define FEAT_POP_KEYS 32
struct feat_pop_keys {
	size_t n;
	uint64_t print;
	uint64_t k[FEAT_POP_KEYS];
};
struct feat_pop *feat_pop_new(void);
void feat_pop_free(struct feat_pop *pop);
void feat_account_pop_keys(const struct feat_account *acc, struct feat_pop_keys *keys);
/* A hash (never 0) of the strings the keys come from (bio, display and
 * screen name): an equal print means equal keys, at a fraction of the cost. */
uint64_t feat_account_pop_print(const struct feat_account *acc);
/* One account leaves the keys of `from` and joins those of `to`. 0 or BW_ENOMEM. */
int feat_pop_move(struct feat_pop *pop, const struct feat_pop_keys *from,
		  const struct feat_pop_keys *to);
/* Walk what a move changes: cb(key, false) for each key only in `from`,
 * cb(key, true) for each only in `to`, in key order; a non-zero return
 * stops the walk and is returned. */
typedef int (*feat_pop_diff_cb)(uint64_t key, bool join, void *opaque);
int feat_pop_keys_diff(const struct feat_pop_keys *from, const struct feat_pop_keys *to,
		       feat_pop_diff_cb cb, void *opaque);
/* Sort k[0..n) ascending and drop repeats; returns how many remain. */
size_t feat_pop_keys_unique(uint64_t *k, size_t n);
/* Accounts under a key (0 for key 0); under the most shared of `keys`. */
uint32_t feat_pop_count(const struct feat_pop *pop, uint64_t key);
uint32_t feat_pop_most(const struct feat_pop *pop, const struct feat_pop_keys *keys);
/* Overwrite the population columns of vec (from feat_account_extract) for
 * `acc` from `pop` (NULL: as if alone). */
void feat_pop_fill(const struct feat_pop *pop, const struct feat_account *acc, double *vec);
/* The same from a count kept elsewhere: `accounts` under the account's most
 * shared key, itself included (0 or 1: alone). */
void feat_pop_set(double *vec, uint32_t accounts);
/* user.description_shared stops at this many other accounts, so a stream
 * re-emits an account for a change of a key's count only up to here. */
#define FEAT_POP_CAP 64

/* Serialise to a malloc'd buffer (caller frees); restore from bytes. */
int feat_account_save(const struct feat_account *acc, void **buf, size_t *len);
struct feat_account *feat_account_load(const void *buf, size_t len, char *errstr, size_t errlen);

#endif
