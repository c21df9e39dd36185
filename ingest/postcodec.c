/*
 * postcodec.c — binary Kafka value encoding of struct bw_post (see postcodec.h
 * and docs/KAFKA.md for the layout).
 *
 * One writer serves both sizing and encoding: with buf == NULL it only counts.
 */
#include "postcodec.h"

#include <stdlib.h>
#include <string.h>

#include "bw_codec.h"
#include "bw_err.h"

/* Output cursor; buf NULL means "count only". */
struct wr {
	unsigned char *buf; /* destination, or NULL when sizing */
	size_t cap;         /* bytes available in buf */
	size_t pos;         /* bytes written (or counted) so far */
	int overflow;       /* set when a write would pass cap */
};

static void put_byte(struct wr *w, unsigned char b)
{
	if (w->buf) {
		if (w->pos >= w->cap) {
			w->overflow = 1;
			return;
		}
		w->buf[w->pos] = b;
	}
	w->pos++;
}

/* Varints through the one codec (bw_codec.h), byte by byte into the cursor. */
static void put_uvar(struct wr *w, uint64_t v)
{
	unsigned char b[BW_UVAR_MAX];
	size_t n = bw_uvar_put(b, v);

	for (size_t i = 0; i < n; i++)
		put_byte(w, b[i]);
}

static void put_svar(struct wr *w, int64_t v)
{
	unsigned char b[BW_UVAR_MAX];
	size_t n = bw_svar_put(b, v);

	for (size_t i = 0; i < n; i++)
		put_byte(w, b[i]);
}

static void put_str(struct wr *w, const char *s)
{
	size_t n;

	if (!s) {
		put_uvar(w, 0);
		return;
	}
	n = strlen(s);
	put_uvar(w, (uint64_t)n + 1);
	if (w->buf) {
		if (w->pos + n > w->cap) {
			w->overflow = 1;
			w->pos += n;
			return;
		}
		memcpy(w->buf + w->pos, s, n);
	}
	w->pos += n;
}

/* Tri-states -1/0/1 stored as 0/1/2 */
static void put_tri(struct wr *w, int8_t t)
{
	put_byte(w, (unsigned char)(t < 0 ? 0 : t > 0 ? 2 : 1));
}

static void put_profile(struct wr *w, const struct bw_profile *p)
{
	put_str(w, p->id);
	put_str(w, p->screen_name);
	put_str(w, p->name);
	put_str(w, p->description);
	put_str(w, p->location);
	put_str(w, p->url);
	put_str(w, p->lang);
	put_svar(w, p->created_at_ms);
	put_svar(w, p->followers_count);
	put_svar(w, p->friends_count);
	put_svar(w, p->statuses_count);
	put_svar(w, p->favourites_count);
	put_svar(w, p->listed_count);
	put_tri(w, p->verified);
	put_tri(w, p->protected_);
	put_tri(w, p->default_profile);
	put_tri(w, p->default_profile_image);
	put_tri(w, p->profile_use_background_image);
	put_tri(w, p->geo_enabled);
	put_tri(w, p->bot);
}

/* A list of strings: count, then a presence byte (names may be NULL), then names. */
static void put_strlist(struct wr *w, uint32_t n, const char **names)
{
	put_uvar(w, n);
	put_byte(w, names ? 1 : 0);
	if (names)
		for (uint32_t i = 0; i < n; i++)
			put_str(w, names[i]);
}

static void put_optprofile(struct wr *w, const struct bw_profile *p)
{
	put_byte(w, p ? 1 : 0);
	if (p)
		put_profile(w, p);
}

static void put_post(struct wr *w, const struct bw_post *p)
{
	put_byte(w, INGEST_POSTCODEC_MAGIC);
	put_byte(w, INGEST_POSTCODEC_VERSION);
	put_uvar(w, (uint64_t)p->kind);
	put_uvar(w, p->flags);
	put_str(w, p->platform);
	put_str(w, p->id);
	put_svar(w, p->created_at_ms);
	put_str(w, p->text);
	put_str(w, p->source);
	put_str(w, p->lang);
	put_profile(w, &p->author);
	put_strlist(w, p->n_hashtags, p->hashtags);
	put_uvar(w, p->n_mentions);
	put_byte(w, p->mentions ? 1 : 0);
	if (p->mentions) {
		for (uint32_t i = 0; i < p->n_mentions; i++) {
			put_str(w, p->mentions[i].id);
			put_str(w, p->mentions[i].screen_name);
		}
	}
	put_strlist(w, p->n_urls, p->urls);
	put_uvar(w, p->n_media);
	put_str(w, p->in_reply_to_post_id);
	put_str(w, p->in_reply_to_user_id);
	put_str(w, p->in_reply_to_screen_name);
	put_str(w, p->ref_post_id);
	put_optprofile(w, p->ref_author);
	put_str(w, p->quoted_post_id);
	put_optprofile(w, p->quoted_author);
	put_svar(w, p->retweet_count);
	put_svar(w, p->favorite_count);
	put_svar(w, p->reply_count);
	put_svar(w, p->quote_count);
}

size_t ingest_post_encoded_size(const struct bw_post *post)
{
	struct wr w = { 0 };
	put_post(&w, post);
	return w.pos;
}

int ingest_post_encode(const struct bw_post *post, unsigned char *buf, size_t cap, size_t *len)
{
	struct wr w = { .buf = buf, .cap = cap };

	put_post(&w, post);
	if (w.overflow)
		return BW_ETOOLARGE;
	*len = w.pos;
	return 0;
}

int ingest_post_encode_alloc(const struct bw_post *post, unsigned char **out, size_t *len)
{
	size_t n = ingest_post_encoded_size(post);
	unsigned char *buf = malloc(n ? n : 1);
	int rc;

	if (!buf)
		return BW_ENOMEM;
	rc = ingest_post_encode(post, buf, n, len);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

/* Input cursor over an untrusted value. */
struct rd {
	const unsigned char *p;   /* next byte */
	const unsigned char *end; /* one past the last byte */
	struct bw_arena *arena;   /* where strings and lists go */
	int err;                  /* first error (BW_EPARSE / BW_ENOMEM), sticky */
	const char *what;         /* what failed, for the message */
};

static void fail(struct rd *r, int err, const char *what)
{
	if (!r->err) {
		r->err = err;
		r->what = what;
	}
}

static unsigned char get_byte(struct rd *r)
{
	if (r->err || r->p >= r->end) {
		fail(r, BW_EPARSE, "truncated value");
		return 0;
	}
	return *r->p++;
}

/* Varints through the one codec (bw_codec.h). */
static uint64_t get_uvar(struct rd *r)
{
	struct bw_cursor c = { r->p, (size_t)(r->end - r->p), 0, false };
	uint64_t v;

	if (r->err)
		return 0;
	v = bw_uvar_get(&c);
	if (c.bad) {
		fail(r, BW_EPARSE, c.off >= c.len ? "truncated value" : "varint overflow");
		return 0;
	}
	r->p += c.off;
	return v;
}

static int64_t get_svar(struct rd *r)
{
	uint64_t u = get_uvar(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static const char *get_str(struct rd *r)
{
	uint64_t n = get_uvar(r);
	char *s;

	if (r->err || n == 0)
		return NULL;
	n--;
	if (n > (uint64_t)(r->end - r->p)) {
		fail(r, BW_EPARSE, "string runs past the end");
		return NULL;
	}
	if (memchr(r->p, '\0', (size_t)n)) {
		fail(r, BW_EPARSE, "NUL byte inside a string");
		return NULL;
	}
	s = bw_arena_strndup(r->arena, (const char *)r->p, (size_t)n);
	if (!s) {
		fail(r, BW_ENOMEM, "arena full");
		return NULL;
	}
	r->p += n;
	return s;
}

static int8_t get_tri(struct rd *r)
{
	unsigned char b = get_byte(r);
	if (b > 2)
		fail(r, BW_EPARSE, "bad tri-state");
	return (int8_t)((int)b - 1);
}

/* A count that must be plausible for the bytes left (each entry is >= 1 byte). */
static uint32_t get_count(struct rd *r)
{
	uint64_t n = get_uvar(r);
	if (n > UINT32_MAX) {
		fail(r, BW_EPARSE, "count out of range");
		return 0;
	}
	return (uint32_t)n;
}

static void *get_array(struct rd *r, uint32_t n, size_t elem)
{
	void *a;

	if (n > (size_t)(r->end - r->p)) {
		fail(r, BW_EPARSE, "list longer than the value");
		return NULL;
	}
	a = bw_arena_alloc(r->arena, (size_t)n * elem + 1);
	if (!a)
		fail(r, BW_ENOMEM, "arena full");
	return a;
}

static void get_profile(struct rd *r, struct bw_profile *p)
{
	p->id = get_str(r);
	p->screen_name = get_str(r);
	p->name = get_str(r);
	p->description = get_str(r);
	p->location = get_str(r);
	p->url = get_str(r);
	p->lang = get_str(r);
	p->created_at_ms = get_svar(r);
	p->followers_count = get_svar(r);
	p->friends_count = get_svar(r);
	p->statuses_count = get_svar(r);
	p->favourites_count = get_svar(r);
	p->listed_count = get_svar(r);
	p->verified = get_tri(r);
	p->protected_ = get_tri(r);
	p->default_profile = get_tri(r);
	p->default_profile_image = get_tri(r);
	p->profile_use_background_image = get_tri(r);
	p->geo_enabled = get_tri(r);
	p->bot = get_tri(r);
}

static const char **get_strlist(struct rd *r, uint32_t *n)
{
	const char **names;
	unsigned char present;

	*n = get_count(r);
	present = get_byte(r);
	if (r->err || !present)
		return NULL;
	if (present != 1) {
		fail(r, BW_EPARSE, "bad list presence byte");
		return NULL;
	}
	names = get_array(r, *n, sizeof(*names));
	for (uint32_t i = 0; names && i < *n && !r->err; i++)
		names[i] = get_str(r);
	return names;
}

static const struct bw_profile *get_optprofile(struct rd *r)
{
	struct bw_profile *p;
	unsigned char present = get_byte(r);

	if (r->err || !present)
		return NULL;
	if (present != 1) {
		fail(r, BW_EPARSE, "bad profile presence byte");
		return NULL;
	}
	p = bw_arena_alloc(r->arena, sizeof(*p));
	if (!p) {
		fail(r, BW_ENOMEM, "arena full");
		return NULL;
	}
	get_profile(r, p);
	return p;
}

static void get_mentions(struct rd *r, struct bw_post *p)
{
	unsigned char present;

	p->n_mentions = get_count(r);
	present = get_byte(r);
	p->mentions = NULL;
	if (r->err || !present)
		return;
	if (present != 1) {
		fail(r, BW_EPARSE, "bad list presence byte");
		return;
	}
	p->mentions = get_array(r, p->n_mentions, sizeof(*p->mentions));
	for (uint32_t i = 0; p->mentions && i < p->n_mentions && !r->err; i++) {
		p->mentions[i].id = get_str(r);
		p->mentions[i].screen_name = get_str(r);
	}
}

static void get_post(struct rd *r, struct bw_post *p)
{
	uint64_t kind = get_uvar(r);

	if (kind > BW_POST_DELETE)
		fail(r, BW_EPARSE, "unknown post kind");
	p->kind = (enum bw_post_kind)kind;
	p->flags = (uint32_t)get_uvar(r);
	p->platform = get_str(r);
	p->id = get_str(r);
	p->created_at_ms = get_svar(r);
	p->text = get_str(r);
	p->source = get_str(r);
	p->lang = get_str(r);
	get_profile(r, &p->author);
	p->hashtags = get_strlist(r, &p->n_hashtags);
	get_mentions(r, p);
	p->urls = get_strlist(r, &p->n_urls);
	p->n_media = get_count(r);
	p->in_reply_to_post_id = get_str(r);
	p->in_reply_to_user_id = get_str(r);
	p->in_reply_to_screen_name = get_str(r);
	p->ref_post_id = get_str(r);
	p->ref_author = get_optprofile(r);
	p->quoted_post_id = get_str(r);
	p->quoted_author = get_optprofile(r);
	p->retweet_count = get_svar(r);
	p->favorite_count = get_svar(r);
	p->reply_count = get_svar(r);
	p->quote_count = get_svar(r);
}

int ingest_post_decode(const void *buf, size_t len, struct bw_post *post, struct bw_arena *arena,
		       char *errstr, size_t errlen)
{
	struct rd r = { .p = buf, .end = (const unsigned char *)buf + len, .arena = arena };

	memset(post, 0, sizeof(*post));
	if (len < 2 || r.p[0] != INGEST_POSTCODEC_MAGIC)
		return bw_seterr(errstr, errlen, BW_ESCHEMA, "not a botwatch post value");
	if (r.p[1] != INGEST_POSTCODEC_VERSION)
		return bw_seterr(errstr, errlen, BW_ESCHEMA,
				 "post encoding version %u is not supported (this reader knows %u)",
				 r.p[1], INGEST_POSTCODEC_VERSION);
	r.p += 2;
	get_post(&r, post);
	if (!r.err && r.p != r.end)
		fail(&r, BW_EPARSE, "trailing bytes");
	if (r.err)
		return bw_seterr(errstr, errlen, r.err, "post value at byte %zu: %s",
				 (size_t)(r.p - (const unsigned char *)buf), r.what);
	if (!post->author.id)
		return bw_seterr(errstr, errlen, BW_EPARSE, "post value without an author id");
	return 0;
}
