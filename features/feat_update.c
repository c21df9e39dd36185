/*
 * feat_update.c — the feature update message on the `features` topic
 * (key = account id). Layout, version 3 (written):
 *   0xB8 0x03, str schema_hash, str user_id, str screen_name (len 0 = NULL),
 *   uvar posts_seen, svar last_event_ms, uvar evidence bits (1 = profile
 *   text, 2 = profile counts), uvar own posts (embedded originals excluded),
 *   uvar n, uvar k, then k pairs (uvar gap, 8-byte little-endian IEEE-754
 *   double): the values of the vector whose bits are not all zero, in index
 *   order; a pair's index is the previous pair's index + 1 + gap (the first
 *   pair's is its gap); every other value is +0.0.
 * Version 2 (read) has, after n, the n doubles in full; version 1 (read)
 * also lacks the two evidence fields (has_evidence false).
 * str = uvar length + bytes; uvar = LEB128; svar = zig-zag LEB128.
 *
 * Sparse since version 3: about 17 % of the 1,453 values are non-zero in
 * updates of the bench dump (4 % in the demo sample), so an update is ~2.3 KB
 * instead of 11.7 KB before compression — less to copy, compress, send,
 * keep under the embedded broker's 5 MiB retention, and read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat_int.h"
#include "feat_stage.h"
#include "post.h"

_Static_assert(FEAT_MAX_STR <= FEAT_UPDATE_MAX_NAME, "a kept screen name fits an update");
_Static_assert(BW_ACCOUNT_ID_MAX <= FEAT_UPDATE_MAX_ID, "any account id fits an update");

#define UPDATE_MAGIC 0xB8
#define UPDATE_VERSION 3      /* written */
#define UPDATE_DENSE_VERSION 2 /* the last version with the full vector */

static size_t put_u(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n] = (unsigned char)(v & 0x7F);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* Little-endian 64-bit store and load, byte by byte so that any host reads
 * the same bytes; compilers turn both into one move on little-endian hosts
 * (store merging / load combining), which made encoding and decoding the
 * 1,453-value vectors ~8% of the streaming path's CPU time as a loop. */
static void put_le64(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
	p[4] = (unsigned char)(v >> 32);
	p[5] = (unsigned char)(v >> 40);
	p[6] = (unsigned char)(v >> 48);
	p[7] = (unsigned char)(v >> 56);
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static size_t put_str(unsigned char *p, const char *s)
{
	size_t len = s ? strlen(s) : 0, n = put_u(p, len);
	memcpy(p + n, s ? s : "", len);
	return n + len;
}

int feat_update_encode(const struct feat_account *acc, const double *vec, unsigned char **out,
		       size_t *len)
{
	const char *id = feat_account_id(acc), *sn = feat_account_screen_name(acc);
	int64_t last = feat_account_last_event(acc);
	struct feat_evidence ev;
	size_t n = feat_count(), k = 0, prev = 0, o = 0;
	size_t cap = 2 + 3 * 10 + 17 + strlen(id) + (sn ? strlen(sn) : 0) + 40 + n * 18;
	unsigned char *p = malloc(cap);

	if (!p)
		return BW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &vec[i], 8);
		k += bits != 0;
	}
	feat_account_evidence(acc, &ev);
	p[o++] = UPDATE_MAGIC;
	p[o++] = UPDATE_VERSION;
	o += put_str(p + o, feat_schema_hash());
	o += put_str(p + o, id);
	o += put_str(p + o, sn);
	o += put_u(p + o, feat_account_posts(acc));
	o += put_u(p + o, ((uint64_t)last << 1) ^ (uint64_t)(last >> 63));
	o += put_u(p + o, (ev.profile_text ? FEAT_EVID_TEXT : 0u) |
				  (ev.profile_counts ? FEAT_EVID_COUNTS : 0u));
	o += put_u(p + o, ev.own_posts);
	o += put_u(p + o, n);
	o += put_u(p + o, k);
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &vec[i], 8);
		if (!bits)
			continue;
		o += put_u(p + o, i - prev);
		put_le64(p + o, bits);
		o += 8;
		prev = i + 1;
	}
	*out = p;
	*len = o;
	return 0;
}

struct cursor {
	const unsigned char *p; /* message */
	size_t len, off;        /* its length, read position */
	bool bad;               /* malformed */
};

static uint64_t get_u(struct cursor *c)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64 && c->off < c->len; shift += 7) {
		unsigned char b = c->p[c->off++];
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static void get_str(struct cursor *c, char *dst, size_t cap)
{
	uint64_t n = get_u(c);
	if (c->bad || n >= cap || n > c->len - c->off || memchr(c->p + c->off, '\0', n)) {
		c->bad = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, c->p + c->off, n);
	dst[n] = '\0';
	c->off += n;
}

/* Check the k (gap, value) pairs at c's position: indices below n, exactly
 * to the end of the message. */
static void check_pairs(struct cursor *c, size_t n, size_t k)
{
	uint64_t next = 0;

	for (size_t j = 0; j < k && !c->bad; j++) {
		uint64_t gap = get_u(c);
		if (c->bad || gap >= n - next || c->len - c->off < 8) {
			c->bad = true;
			return;
		}
		next += gap + 1;
		c->off += 8;
	}
	if (c->off != c->len)
		c->bad = true;
}

int feat_update_decode(const void *buf, size_t len, struct feat_update *u)
{
	struct cursor c = { buf, len, 2, false };
	uint64_t z;

	memset(u, 0, sizeof(*u));
	if (len < 2 || c.p[0] != UPDATE_MAGIC || c.p[1] < 1 || c.p[1] > UPDATE_VERSION)
		return BW_ESCHEMA;
	u->version = c.p[1];
	get_str(&c, u->schema_hash, sizeof(u->schema_hash));
	get_str(&c, u->user_id, sizeof(u->user_id));
	get_str(&c, u->screen_name, sizeof(u->screen_name));
	u->posts_seen = get_u(&c);
	z = get_u(&c);
	u->last_event_ms = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	if (c.p[1] >= 2) {
		uint64_t bits = get_u(&c);
		u->has_evidence = true;
		u->evidence = (uint32_t)(bits & (FEAT_EVID_TEXT | FEAT_EVID_COUNTS));
		u->own_posts = get_u(&c);
		if (bits & ~(uint64_t)(FEAT_EVID_TEXT | FEAT_EVID_COUNTS))
			c.bad = true;
	}
	u->n = (size_t)get_u(&c);
	if (u->version > UPDATE_DENSE_VERSION) {
		uint64_t k = get_u(&c);
		if (c.bad || u->n > FEAT_UPDATE_MAX_N || k > u->n)
			return BW_EPARSE;
		u->nnz = (size_t)k;
		u->vec = c.p + c.off;
		check_pairs(&c, u->n, u->nnz);
		return c.bad ? BW_EPARSE : 0;
	}
	if (c.bad || u->n > (len - c.off) / 8 || c.off + u->n * 8 != len)
		return BW_EPARSE;
	u->nnz = u->n;
	u->vec = c.p + c.off;
	return 0;
}

double feat_update_value(const struct feat_update *u, size_t i)
{
	uint64_t bits = 0;
	double d;

	if (u->version <= UPDATE_DENSE_VERSION) {
		bits = get_le64(u->vec + i * 8);
	} else {
		struct cursor c = { u->vec, SIZE_MAX, 0, false };
		size_t at = 0;
		for (size_t j = 0; j < u->nnz; j++) {
			at += (size_t)get_u(&c);
			if (at == i) {
				bits = get_le64(c.p + c.off);
				break;
			}
			if (at > i)
				break;
			c.off += 8;
			at++;
		}
	}
	memcpy(&d, &bits, 8);
	return d;
}

void feat_update_values(const struct feat_update *u, double *out)
{
	if (u->version <= UPDATE_DENSE_VERSION) {
		for (size_t i = 0; i < u->n; i++) {
			uint64_t bits = get_le64(u->vec + i * 8);
			memcpy(&out[i], &bits, 8);
		}
		return;
	}
	struct cursor c = { u->vec, SIZE_MAX, 0, false };
	size_t at = 0;
	memset(out, 0, u->n * sizeof(*out)); /* all-zero bits: +0.0 */
	for (size_t j = 0; j < u->nnz; j++) {
		at += (size_t)get_u(&c);
		uint64_t bits = get_le64(c.p + c.off);
		memcpy(&out[at++], &bits, 8);
		c.off += 8;
	}
}
