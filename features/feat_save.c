/*
 * feat_save.c — serialisation of an account's state for the LMDB state store.
 *
 * Format "BWFS" version 1: integers as LEB128 varints (signed ones zig-zag),
 * record times delta-encoded, hashes as 4 little-endian bytes, doubles as
 * their 8 IEEE-754 bytes in host order (little-endian on every supported
 * target). Sketches holding a single repeated value store just that value;
 * empty sketches, roles and graphs store nothing. Loading validates every
 * length against the state's bounds and fails closed on anything else, so a
 * corrupt or hostile value cannot allocate beyond the documented maximum.
 * A save/load round trip restores the state bit for bit.
 */
#include <stdlib.h>
#include <string.h>

#include "bw_codec.h"
#include "bw_err.h"
#include "bw_time.h"
#include "feat_int.h"

#define MAGIC "BWFS"
#define VERSION 1

struct wbuf {
	uint8_t *p;   /* buffer */
	size_t len;   /* used */
	size_t cap;   /* allocated */
	bool oom;     /* an allocation failed */
};

static void w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		uint8_t *np;
		while (cap < w->len + n)
			cap *= 2;
		if (!(np = realloc(w->p, cap))) {
			w->oom = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

/* Varints through the one codec (bw_codec.h). */
static void w_u(struct wbuf *w, uint64_t v)
{
	uint8_t b[BW_UVAR_MAX];

	if (!w->oom && w->cap - w->len >= sizeof(b)) {
		/* room for the longest varint: write in place (a copy through b and
		 * w_bytes cost ~4 % of the features stage's CPU time) */
		w->len += bw_uvar_put(w->p + w->len, v);
		return;
	}
	w_bytes(w, b, bw_uvar_put(b, v));
}

static void w_s(struct wbuf *w, int64_t v)
{
	w_u(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	w_bytes(w, b, 4);
}

static void w_d(struct wbuf *w, double d)
{
	w_bytes(w, &d, sizeof(d));
}

static void w_str(struct wbuf *w, const char *s)
{
	if (!s) {
		w_u(w, 0);
		return;
	}
	size_t n = strlen(s);
	w_u(w, n + 1);
	w_bytes(w, s, n);
}

static void w_topk(struct wbuf *w, const struct feat_topk *t)
{
	w_u(w, t->n);
	w_u(w, t->overflowed);
	w_u(w, t->total);
	if (t->overflowed)
		for (int i = 0; i < FEAT_LC_WORDS; i++)
			w_u32(w, t->lc[i]);
	for (size_t i = 0; i < t->n; i++) {
		w_u32(w, t->e[i].key);
		w_u(w, t->e[i].count);
	}
}

static void w_sketch(struct wbuf *w, const struct feat_sketch *s)
{
	w_u(w, s->n);
	if (!s->n)
		return;
	if (s->min == s->max && s->m2 == 0 && s->m3 == 0 && s->m4 == 0 && s->mean == s->min) {
		w_u(w, 1);
		w_d(w, s->min);
		return;
	}
	w_u(w, 2);
	w_d(w, s->min), w_d(w, s->max), w_d(w, s->mean);
	w_d(w, s->m2), w_d(w, s->m3), w_d(w, s->m4);
	for (int b = 0; b < FEAT_NBINS; b++)
		w_u(w, s->hist[b]);
}

static void w_win(struct wbuf *w, const struct feat_recwin *win, bool full)
{
	int64_t prev = 0;

	w_u(w, win->n);
	w_u(w, win->evicted);
	for (uint32_t i = 0; i < win->n; i++) {
		const struct feat_rec *r = &win->r[i];
		if (i == 0)
			w_s(w, r->t);
		else
			w_u(w, (uint64_t)r->t - (uint64_t)prev); /* sorted: the true difference */
		prev = r->t;
		w_u32(w, r->id);
		if (full) {
			w_u32(w, r->text);
			w_u32(w, r->skel);
			w_u(w, r->flags);
		}
	}
}

static void w_prof(struct wbuf *w, const struct feat_prof *p)
{
	w_s(w, p->t);
	w_s(w, p->created_at_ms);
	w_s(w, p->followers), w_s(w, p->friends), w_s(w, p->statuses);
	w_s(w, p->favourites), w_s(w, p->listed);
	w_s(w, p->verified), w_s(w, p->protected_), w_s(w, p->default_profile);
	w_s(w, p->default_profile_image), w_s(w, p->use_bg), w_s(w, p->geo_enabled), w_s(w, p->bot);
	w_str(w, p->screen_name), w_str(w, p->name), w_str(w, p->description);
	w_str(w, p->location), w_str(w, p->url), w_str(w, p->lang);
}

/* The account's counters, in one fixed order shared by save and load. */
#define COUNTERS(a)                                                                            \
	&(a)->posts, &(a)->late, &(a)->kind[0], &(a)->kind[1], &(a)->kind[2], &(a)->kind[3],   \
		&(a)->n_embedded, &(a)->n_truncated, &(a)->with_hashtag, &(a)->with_mention,   \
		&(a)->with_url, &(a)->with_media, &(a)->sum_hashtags, &(a)->sum_mentions,      \
		&(a)->sum_urls, &(a)->sum_media, &(a)->lang_known, &(a)->lang_match,           \
		&(a)->pos_posts, &(a)->neg_posts, &(a)->emoji_posts, &(a)->emoticon_posts,     \
		&(a)->observed

int feat_account_save(const struct feat_account *a, void **buf, size_t *len)
{
	struct wbuf w = { 0 };
	const uint64_t *ctr[] = { COUNTERS(a) };
	unsigned roles = 0, graphs = 0;

	if (!a || !buf || !len || a->broken)
		return BW_EINVAL; /* a state a failed update left half folded is never written */
	w_bytes(&w, MAGIC, 4);
	w_u(&w, VERSION);
	w_str(&w, a->user_id);
	w_u(&w, a->authored);
	w_prof(&w, &a->prof);
	w_s(&w, a->first_t), w_s(&w, a->first_followers), w_s(&w, a->first_friends);
	w_s(&w, a->first_statuses);
	w_u(&w, a->n_snapshots);
	w_u(&w, a->n_names);
	for (int i = 0; i < a->n_names; i++)
		w_u32(&w, a->names[i]);
	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++)
		w_u(&w, *ctr[i]);
	w_win(&w, &a->own, true);
	w_win(&w, &a->obs, false);
	w_topk(&w, &a->sources), w_topk(&w, &a->langs), w_topk(&w, &a->emoji_classes);
	w_u(&w, a->postq != NULL);
	for (int q = 0; a->postq && q < Q__N; q++)
		w_sketch(&w, &a->postq[q]);
	for (int r = 0; r < FR__N; r++)
		roles |= a->roles[r] ? 1u << r : 0;
	w_u(&w, roles);
	for (int r = 0; r < FR__N; r++) {
		const struct feat_role *ro = a->roles[r];
		if (!ro)
			continue;
		w_u(&w, ro->interactions), w_u(&w, ro->n_profiles), w_u(&w, ro->n_default);
		w_u(&w, ro->n_default_img), w_u(&w, ro->n_verified), w_u(&w, ro->n_same_lang);
		w_topk(&w, &ro->accounts), w_topk(&w, &ro->langs);
		for (int p = 0; p < FP__N; p++)
			w_sketch(&w, &ro->props[p]);
	}
	for (int g = 0; g < FG__N; g++)
		graphs |= a->graphs[g] ? 1u << g : 0;
	w_u(&w, graphs);
	for (int g = 0; g < FG__N; g++) {
		const struct feat_graph *gr = a->graphs[g];
		if (!gr)
			continue;
		w_u(&w, gr->posts);
		w_topk(&w, &gr->nodes), w_topk(&w, &gr->edges), w_topk(&w, &gr->degree);
	}
	if (w.oom) {
		free(w.p);
		return BW_ENOMEM;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

/* ---- loading ------------------------------------------------------------------- */

struct rbuf {
	const uint8_t *p;  /* input */
	size_t len;        /* its length */
	size_t off;        /* read position */
	bool bad;          /* ran past the end or saw an invalid value */
};

static uint64_t r_u(struct rbuf *r)
{
	struct bw_cursor c = { r->p, r->len, r->off, false };
	uint64_t v = bw_uvar_get(&c);

	r->off = c.off;
	r->bad |= c.bad;
	return c.bad ? 0 : v;
}

static uint64_t r_max(struct rbuf *r, uint64_t max)
{
	uint64_t v = r_u(r);
	if (v > max)
		r->bad = true;
	return v > max ? 0 : v;
}

static int64_t r_s(struct rbuf *r)
{
	uint64_t v = r_u(r);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool r_bytes(struct rbuf *r, void *dst, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return false;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return true;
}

static uint32_t r_u32(struct rbuf *r)
{
	uint8_t b[4] = { 0 };
	r_bytes(r, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static double r_d(struct rbuf *r)
{
	double d = 0;
	r_bytes(r, &d, sizeof(d));
	return feat_finite(d);
}

static char *r_str(struct rbuf *r)
{
	uint64_t n = r_max(r, FEAT_MAX_STR + 1);
	char *s;

	if (n == 0 || r->bad)
		return NULL;
	if (!(s = malloc(n))) {
		r->bad = true;
		return NULL;
	}
	if (!r_bytes(r, s, n - 1) || memchr(s, '\0', n - 1)) {
		free(s);
		r->bad = true;
		return NULL;
	}
	s[n - 1] = '\0';
	return s;
}

static void r_topk(struct rbuf *r, struct feat_topk *t)
{
	t->n = (uint16_t)r_max(r, FEAT_TOPK);
	t->overflowed = (uint8_t)r_max(r, 1);
	t->total = r_u(r);
	if (t->overflowed)
		for (int i = 0; i < FEAT_LC_WORDS; i++)
			t->lc[i] = r_u32(r);
	for (size_t i = 0; i < t->n; i++) {
		t->e[i].key = r_u32(r);
		t->e[i].count = (uint32_t)r_max(r, UINT32_MAX);
		if (!t->overflowed)
			t->lc[(t->e[i].key >> 5) % FEAT_LC_WORDS] |= 1u << (t->e[i].key & 31);
	}
}

static void r_sketch(struct rbuf *r, struct feat_sketch *s, enum feat_scale sc)
{
	uint64_t tag;

	s->n = (uint32_t)r_max(r, UINT32_MAX);
	if (!s->n)
		return;
	tag = r_u(r);
	if (tag == 1) {
		s->min = s->max = s->mean = r_d(r);
		s->hist[feat_bin(sc, s->min)] = s->n;
		return;
	}
	if (tag != 2) {
		r->bad = true;
		return;
	}
	s->min = r_d(r), s->max = r_d(r), s->mean = r_d(r);
	s->m2 = r_d(r), s->m3 = r_d(r), s->m4 = r_d(r);
	for (int b = 0; b < FEAT_NBINS; b++)
		s->hist[b] = (uint32_t)r_max(r, UINT32_MAX);
}

static void r_win(struct rbuf *r, struct feat_recwin *win, bool full)
{
	uint32_t n = (uint32_t)r_max(r, FEAT_WINDOW);
	int64_t t = 0;

	win->evicted = r_u(r);
	if (r->bad || n == 0)
		return;
	if (!(win->r = calloc(n, sizeof(*win->r)))) {
		r->bad = true;
		return;
	}
	win->cap = n;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct feat_rec *x = &win->r[i];
		int64_t prev = t;
		t = i == 0 ? r_s(r) : (int64_t)((uint64_t)t + r_u(r));
		if (i && t < prev)
			r->bad = true; /* records must stay sorted */
		x->t = t;
		x->id = r_u32(r);
		if (full) {
			x->text = r_u32(r);
			x->skel = r_u32(r);
			x->flags = (uint16_t)r_max(r, 0xFFFF);
		}
		win->n = i + 1;
	}
}

static void r_prof(struct rbuf *r, struct feat_prof *p)
{
	p->t = r_s(r);
	p->created_at_ms = r_s(r);
	p->followers = r_s(r), p->friends = r_s(r), p->statuses = r_s(r);
	p->favourites = r_s(r), p->listed = r_s(r);
	p->verified = (int8_t)r_s(r), p->protected_ = (int8_t)r_s(r);
	p->default_profile = (int8_t)r_s(r), p->default_profile_image = (int8_t)r_s(r);
	p->use_bg = (int8_t)r_s(r), p->geo_enabled = (int8_t)r_s(r), p->bot = (int8_t)r_s(r);
	p->screen_name = r_str(r), p->name = r_str(r), p->description = r_str(r);
	p->location = r_str(r), p->url = r_str(r), p->lang = r_str(r);
}

static void r_parts(struct rbuf *r, struct feat_account *a)
{
	unsigned mask;

	if (r_u(r)) {
		if (!(a->postq = calloc(Q__N, sizeof(*a->postq)))) {
			r->bad = true;
			return;
		}
		for (int q = 0; q < Q__N; q++)
			r_sketch(r, &a->postq[q], feat_postq_defs[q].scale);
	}
	mask = (unsigned)r_max(r, (1u << FR__N) - 1);
	for (int i = 0; i < FR__N && !r->bad; i++) {
		struct feat_role *ro;
		if (!(mask & (1u << i)))
			continue;
		if (!(ro = a->roles[i] = calloc(1, sizeof(*ro)))) {
			r->bad = true;
			return;
		}
		ro->interactions = r_u(r), ro->n_profiles = r_u(r), ro->n_default = r_u(r);
		ro->n_default_img = r_u(r), ro->n_verified = r_u(r), ro->n_same_lang = r_u(r);
		r_topk(r, &ro->accounts), r_topk(r, &ro->langs);
		for (int p = 0; p < FP__N; p++)
			r_sketch(r, &ro->props[p], p == FP_SN_LEN ? SC_COUNT : SC_LOG4);
	}
	mask = (unsigned)r_max(r, (1u << FG__N) - 1);
	for (int g = 0; g < FG__N && !r->bad; g++) {
		struct feat_graph *gr;
		if (!(mask & (1u << g)))
			continue;
		if (!(gr = a->graphs[g] = calloc(1, sizeof(*gr)))) {
			r->bad = true;
			return;
		}
		gr->posts = r_u(r);
		r_topk(r, &gr->nodes), r_topk(r, &gr->edges), r_topk(r, &gr->degree);
	}
}

struct feat_account *feat_account_load(const void *buf, size_t len, char *errstr, size_t errlen)
{
	struct rbuf r = { .p = buf, .len = len };
	struct feat_account *a = NULL;
	char magic[4], *id;

	if (!buf || !r_bytes(&r, magic, 4) || memcmp(magic, MAGIC, 4) != 0) {
		bw_seterr(errstr, errlen, BW_EPARSE, "feature state: bad magic");
		return NULL;
	}
	if (r_u(&r) != VERSION) {
		bw_seterr(errstr, errlen, BW_ESCHEMA, "feature state: unsupported version");
		return NULL;
	}
	id = r_str(&r);
	if (!id || !(a = feat_account_new(id))) {
		free(id);
		bw_seterr(errstr, errlen, r.bad ? BW_EPARSE : BW_ENOMEM, "feature state: bad account id");
		return NULL;
	}
	free(id);
	a->authored = r_max(&r, 1);
	r_prof(&r, &a->prof);
	a->first_t = r_s(&r), a->first_followers = r_s(&r), a->first_friends = r_s(&r);
	a->first_statuses = r_s(&r);
	a->n_snapshots = (uint32_t)r_max(&r, UINT32_MAX);
	a->n_names = (uint8_t)r_max(&r, FEAT_MAX_NAMES);
	for (int i = 0; i < a->n_names; i++)
		a->names[i] = r_u32(&r);
	uint64_t *ctr[] = { COUNTERS(a) };
	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++)
		*ctr[i] = r_u(&r);
	r_win(&r, &a->own, true);
	r_win(&r, &a->obs, false);
	r_topk(&r, &a->sources), r_topk(&r, &a->langs), r_topk(&r, &a->emoji_classes);
	if (!r.bad)
		r_parts(&r, a);
	if (r.bad || r.off != r.len) {
		bw_seterr(errstr, errlen, BW_EPARSE, "feature state: corrupt at byte %zu of %zu",
			  r.off, r.len);
		feat_account_free(a);
		return NULL;
	}
	return a;
}
