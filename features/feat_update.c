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

#include "bw_codec.h"
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

static size_t put_str(unsigned char *p, const char *s)
{
	size_t len = s ? strlen(s) : 0, n = bw_uvar_put(p, len);
	memcpy(p + n, s ? s : "", len);
	return n + len;
}

int feat_update_encode(const struct feat_account *acc, const double *vec, unsigned char **out,
		       size_t *len)
{
	const char *id = feat_account_id(acc), *sn = feat_account_screen_name(acc);
	int64_t last = feat_account_last_event(acc);
	struct feat_evidence ev;
	size_t n = feat_count(), o = 0;
	size_t cap = 2 + 3 * BW_UVAR_MAX + 17 + strlen(id) + (sn ? strlen(sn) : 0) +
		     4 * BW_UVAR_MAX + bw_svec_bound(n);
	unsigned char *p = malloc(cap);

	if (!p)
		return BW_ENOMEM;
	feat_account_evidence(acc, &ev);
	p[o++] = UPDATE_MAGIC;
	p[o++] = UPDATE_VERSION;
	o += put_str(p + o, feat_schema_hash());
	o += put_str(p + o, id);
	o += put_str(p + o, sn);
	o += bw_uvar_put(p + o, feat_account_posts(acc));
	o += bw_svar_put(p + o, last);
	o += bw_uvar_put(p + o, (ev.profile_text ? FEAT_EVID_TEXT : 0u) |
				  (ev.profile_counts ? FEAT_EVID_COUNTS : 0u));
	o += bw_uvar_put(p + o, ev.own_posts);
	o += bw_uvar_put(p + o, n);
	o += bw_svec_put(p + o, vec, n);
	*out = p;
	*len = o;
	return 0;
}

static void get_str(struct bw_cursor *c, char *dst, size_t cap)
{
	uint64_t n = bw_uvar_get(c);
	if (c->bad || n >= cap || n > c->len - c->off || memchr(c->p + c->off, '\0', n)) {
		c->bad = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, c->p + c->off, n);
	dst[n] = '\0';
	c->off += n;
}

int feat_update_decode(const void *buf, size_t len, struct feat_update *u)
{
	struct bw_cursor c = { buf, len, 2, false };

	memset(u, 0, sizeof(*u));
	if (len < 2 || c.p[0] != UPDATE_MAGIC || c.p[1] < 1 || c.p[1] > UPDATE_VERSION)
		return BW_ESCHEMA;
	u->version = c.p[1];
	get_str(&c, u->schema_hash, sizeof(u->schema_hash));
	get_str(&c, u->user_id, sizeof(u->user_id));
	get_str(&c, u->screen_name, sizeof(u->screen_name));
	u->posts_seen = bw_uvar_get(&c);
	u->last_event_ms = bw_svar_get(&c);
	if (c.p[1] >= 2) {
		uint64_t bits = bw_uvar_get(&c);
		u->has_evidence = true;
		u->evidence = (uint32_t)(bits & (FEAT_EVID_TEXT | FEAT_EVID_COUNTS));
		u->own_posts = bw_uvar_get(&c);
		if (bits & ~(uint64_t)(FEAT_EVID_TEXT | FEAT_EVID_COUNTS))
			c.bad = true;
	}
	u->n = (size_t)bw_uvar_get(&c);
	if (u->version > UPDATE_DENSE_VERSION) {
		if (c.bad || u->n > FEAT_UPDATE_MAX_N)
			return BW_EPARSE;
		return bw_svec_check(&c, u->n, &u->nnz, &u->vec) ? 0 : BW_EPARSE;
	}
	if (c.bad || u->n > (len - c.off) / 8 || c.off + u->n * 8 != len)
		return BW_EPARSE;
	u->nnz = u->n;
	u->vec = c.p + c.off;
	return 0;
}

double feat_update_value(const struct feat_update *u, size_t i)
{
	uint64_t bits;
	double d;

	if (u->version > UPDATE_DENSE_VERSION)
		return bw_svec_value(u->vec, u->nnz, i);
	bits = bw_le64_get(u->vec + i * 8);
	memcpy(&d, &bits, 8);
	return d;
}

void feat_update_values(const struct feat_update *u, double *out)
{
	if (u->version > UPDATE_DENSE_VERSION) {
		bw_svec_get(u->vec, u->nnz, out, u->n);
		return;
	}
	for (size_t i = 0; i < u->n; i++) {
		uint64_t bits = bw_le64_get(u->vec + i * 8);
		memcpy(&out[i], &bits, 8);
	}
}
