/*
 * feat_tally.h — the conversation-report recorder: count each post under its
 * hashtags, URL domains and configured keywords, per event-time bucket and
 * author, and write the counts to the store's tallies (store.h,
 * "Conversation tallies"; docs/REPORT.md).
 *
 * A separate header from feat.h because it depends on the store; same module
 * and prefix. `botwatch replay --store` and the features stage feed it the
 * posts they fold and flush it inside a store write transaction.
 *
 * Ownership: the recorder copies what it keeps; posts are borrowed for the
 * call. Not thread-safe.
 */
#ifndef BW_FEAT_TALLY_H
#define BW_FEAT_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "post.h"

struct bw_config;
struct bw_store;
struct bw_store_txn;
struct feat_tally;

struct feat_tally_opts {
	int64_t bucket_s;     /* event-time bucket width, seconds (report.bucket_s) */
	size_t max_keys;      /* keys kept per kind and bucket (report.max_keys); 0: count nothing */
	const char *keywords; /* comma-separated keywords (report.keywords), or NULL; copied */
};

/* New recorder; NULL with errstr set (BW_ENOMEM, or a bad option). Free with
 * feat_tally_free() (accepts NULL). */
struct feat_tally *feat_tally_new(const struct feat_tally_opts *o, char *errstr, size_t errlen);
void feat_tally_free(struct feat_tally *t);

/*
 * Count `post` (an original, retweet, reply or quote that the input carried
 * itself: embedded statuses, profiles and deletions are not counted) under
 * each distinct hashtag, URL domain and keyword it has, in the bucket of its
 * event time. 0 or BW_ENOMEM.
 */
int feat_tally_post(struct feat_tally *t, const struct bw_post *post);

/* A recorder from report.* of `cfg` into *out, or *out = NULL when
 * report.max_keys is 0 (nothing to count). 0, or BW_ENOMEM / BW_EINVAL with
 * errstr set. */
int feat_tally_new_cfg(const struct bw_config *cfg, struct feat_tally **out, char *errstr,
		       size_t errlen);

/* Distinct (kind, bucket, key, account) counts waiting for a flush. */
size_t feat_tally_pending(const struct feat_tally *t);

/* Add the waiting counts to the store in `txn` (borrowed), prune the touched
 * buckets to the most posted keys, and forget them. 0, or the store's error
 * with errstr set (the counts are kept then). */
int feat_tally_flush(struct feat_tally *t, struct bw_store_txn *txn, char *errstr, size_t errlen);

/*
 * The recorder of a Kafka stage that folds posts from input partitions
 * (the features stage): a recorder plus the store it writes (borrowed, or
 * opened from store.path) and the per-partition marks (store.h), so a post
 * is counted once even when a restart reads it again: posts below their
 * partition's mark were counted before. feat_tally_sink_open() sets *out to
 * NULL when report.max_keys is 0. 0, or BW_ESTORE / BW_ENOMEM / BW_EINVAL
 * with errstr set.
 */
struct feat_tally_sink;
int feat_tally_sink_open(const struct bw_config *cfg, struct bw_store *store, const char *topic,
			 struct feat_tally_sink **out, char *errstr, size_t errlen);
void feat_tally_sink_free(struct feat_tally_sink *s);

/* A new embedded broker starts `topic` at offset 0 again: set the marks of
 * its partitions 0..n-1 that exist in `st` to 0 (as `run` does with the
 * feature state's offsets), so this run's posts are counted. 0 or BW_ESTORE. */
int feat_tally_marks_reset(struct bw_store *st, const char *topic, int32_t n, char *errstr,
			   size_t errlen);

/* Count the post read at (`partition`, `offset`) unless it is below the
 * partition's mark. 0, or BW_ENOMEM / BW_ESTORE (a mark unreadable). */
int feat_tally_sink_post(struct feat_tally_sink *s, int32_t partition, int64_t offset,
			 const struct bw_post *post);

/* Write the counts and, as the new marks, the next offset to fold of each of
 * the `n` partitions (what the stage's checkpoint stores), in one store
 * transaction. 0, or BW_ESTORE with errstr set. */
int feat_tally_sink_commit(struct feat_tally_sink *s, size_t n, const int32_t *partitions,
			   const int64_t *offsets, char *errstr, size_t errlen);

/* The URL's host as the tally keys it (lower case, without "www." and port),
 * into buf (size n); false when the URL has none. */
bool feat_tally_domain(const char *url, char *buf, size_t n);

#endif
