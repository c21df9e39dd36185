/*
 * postcodec.h — the Kafka value encoding of a normalised post (docs/KAFKA.md).
 *
 * `ingest` produces every struct bw_post to the `posts` topic in this compact,
 * versioned binary form; the features stage decodes it back. Encoding is
 * lossless for every field of struct bw_post (strings, NULLs, -1 counts,
 * tri-states, entity lists, referenced authors), so decode(encode(p)) == p.
 *
 * Layout (version 1): the two bytes 0xB7 0x01, then every field in the order
 * of struct bw_post as unsigned LEB128 varints (signed values zig-zag
 * encoded) and strings as varint(len + 1) followed by the bytes (0 = NULL).
 * A reader rejects any other first byte or version with BW_ESCHEMA, and a
 * truncated or trailing-garbage value with BW_EPARSE: values are untrusted.
 *
 * Thread-safety: functions are reentrant; an arena must not be shared.
 */
#ifndef BW_INGEST_POSTCODEC_H
#define BW_INGEST_POSTCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "bw_arena.h"
#include "post.h"

#define INGEST_POSTCODEC_MAGIC 0xB7
#define INGEST_POSTCODEC_VERSION 1

/*
 * Exact number of bytes ingest_post_encode() writes for `post`.
 */
size_t ingest_post_encoded_size(const struct bw_post *post);

/*
 * Encode `post` (borrowed) into buf[0..cap). Sets *len to the bytes written.
 * Returns 0, or BW_ETOOLARGE when cap < ingest_post_encoded_size(post).
 */
int ingest_post_encode(const struct bw_post *post, unsigned char *buf, size_t cap, size_t *len);

/*
 * Encode into a new malloc'd buffer; the caller frees it with free() (the
 * producer hands it to librdkafka with RD_KAFKA_MSG_F_FREE). Returns 0 or
 * BW_ENOMEM.
 */
int ingest_post_encode_alloc(const struct bw_post *post, unsigned char **out, size_t *len);

/*
 * Decode buf[0..len) into *post. Every string, list and referenced profile
 * is allocated from `arena` (caller-owned; the record is valid until the
 * arena is reset or freed). Returns 0, BW_ESCHEMA (not this encoding or an
 * unknown version), BW_EPARSE (truncated, malformed, trailing bytes) or
 * BW_ENOMEM (arena cap reached), with detail in errstr.
 */
int ingest_post_decode(const void *buf, size_t len, struct bw_post *post, struct bw_arena *arena,
		       char *errstr, size_t errlen);

#endif
