/*
 * bw_codec.h — the one binary codec of botwatch's encodings (the post
 * encoding, the account state, the feature update, the store's vectors):
 * LEB128 varints (uvar; svar = zig-zag), little-endian 64-bit words, and the
 * sparse double vector.
 *
 * Writers take a buffer the caller sized (BW_UVAR_MAX bytes per varint);
 * readers advance a bounded cursor and fail closed: a read past the end or
 * an overlong varint sets the cursor's `bad` and returns 0, so a caller can
 * read a whole record and check once.
 *
 * Sparse double vector (n values): uvar k, then k pairs (uvar gap, 8-byte
 * little-endian IEEE-754 double): the values whose bits are not all zero,
 * in index order; a pair's index is the previous pair's + 1 + gap (the
 * first pair's: its gap); every other value is +0.0 (-0.0 and NaN are kept
 * bit for bit).
 *
 * Leaf module: no application headers.
 */
#ifndef BW_CODEC_H
#define BW_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BW_UVAR_MAX 10 /* longest uvar of a 64-bit value */

/* A read position in a buffer of `len` bytes. */
struct bw_cursor {
	const unsigned char *p; /* buffer (borrowed) */
	size_t len, off;        /* its length, read position */
	bool bad;               /* a read failed (truncated or overlong) */
};

/* Write v at p; the number of bytes written (1..BW_UVAR_MAX). */
size_t bw_uvar_put(unsigned char *p, uint64_t v);
size_t bw_svar_put(unsigned char *p, int64_t v);
void bw_le64_put(unsigned char *p, uint64_t v);
uint64_t bw_le64_get(const unsigned char *p);

/* Read at the cursor (0 and c->bad set on failure). */
uint64_t bw_uvar_get(struct bw_cursor *c);
int64_t bw_svar_get(struct bw_cursor *c);

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 when it is not
 * one: overlong forms, surrogates and values past U+10FFFF are refused. */
size_t bw_utf8_seq(const unsigned char *s, size_t n);

/* Bytes bw_svec_put() may write for n values (an upper bound). */
size_t bw_svec_bound(size_t n);

/* Write the n values of vec sparse at p; the number of bytes written. */
size_t bw_svec_put(unsigned char *p, const double *vec, size_t n);

/*
 * Check a sparse vector of n values at the cursor, which must end exactly
 * at the end of its buffer; *k receives the pair count, *pairs where they
 * start (for bw_svec_get/value), and c->off moves to the end. False (c->bad
 * set) when malformed.
 */
bool bw_svec_check(struct bw_cursor *c, size_t n, size_t *k, const unsigned char **pairs);

/* Expand the k pairs at `pairs` (checked by bw_svec_check) into out[0..n). */
void bw_svec_get(const unsigned char *pairs, size_t k, double *out, size_t n);

/* The i-th value of the k pairs at `pairs` (O(k)). */
double bw_svec_value(const unsigned char *pairs, size_t k, size_t i);

#endif
