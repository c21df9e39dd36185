/*
 * decode_fedi.c — Mastodon statuses (REST entity or streaming `update`
 * events), the SSE line assembler and event decoder, and Bluesky Jetstream
 * events. See docs/POST.md for the field mapping.
 *
 * Jetstream posts carry only their author's DID: the decoder remembers, per
 * DID, the latest profile record (`app.bsky.actor.profile`: display name,
 * description, avatar and banner presence, the `bot` self-label) and handle
 * (identity events) it saw, and fills every later record's author from it,
 * as a Twitter status carries its user. The memory is a direct-mapped cache
 * of DEC_BSKY_SLOTS entries (a collision evicts), so it is bounded.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_time.h"

/* --- Mastodon ------------------------------------------------------------------ */

static void masto_fill(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest);

static struct bw_post *masto_nested(struct bw_decoder *d, jd_val st, int nest, const char *what)
{
	int outer_fault = d->fault;
	char outer_detail[sizeof(d->fault_detail)];
	struct bw_post *e;

	if (jd_type(st) != JD_OBJECT || nest >= 2)
		return NULL;
	memcpy(outer_detail, d->fault_detail, sizeof(outer_detail));
	d->fault = -1;
	if ((e = dx_post_new(d))) {
		masto_fill(d, st, e, nest + 1);
		e->flags |= BW_POSTF_EMBEDDED;
	}
	if (d->fault >= 0 || !e || !e->author.id) {
		if (d->fault >= 0)
			dec_dlq(d, (enum bw_dlq_reason)d->fault, "%s: %s", what, d->fault_detail);
		else if (e)
			dec_dlq(d, BW_DLQ_NO_ACCOUNT_ID, "%s has no account id", what);
		e = NULL;
	} else if (d->n_embedded < DEC_MAX_EMBEDDED) {
		d->embedded[d->n_embedded++] = e;
	}
	d->fault = outer_fault;
	memcpy(d->fault_detail, outer_detail, sizeof(outer_detail));
	return e;
}

static void masto_refs(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest)
{
	jd_val reblog = jd_get(st, "reblog"), quote = jd_get(st, "quote"), qs;
	struct bw_post *e;

	p->in_reply_to_post_id = dx_id(d, st, "in_reply_to_id", NULL);
	p->in_reply_to_user_id = dx_id(d, st, "in_reply_to_account_id", NULL);
	/* Mastodon 4.4+: "quote": {"state": ..., "quoted_status": {...} | null} */
	qs = jd_get(quote, "quoted_status");
	if (jd_type(qs) == JD_OBJECT) {
		p->quoted_post_id = dx_id(d, qs, "id", NULL);
		if ((e = masto_nested(d, qs, nest, "quote")))
			p->quoted_author = &e->author;
	} else if (jd_type(quote) == JD_OBJECT) {
		p->quoted_post_id = dx_id(d, quote, "quoted_status_id", NULL);
	}
	if (jd_type(reblog) == JD_OBJECT) {
		p->kind = BW_POST_RETWEET;
		p->ref_post_id = dx_id(d, reblog, "id", NULL);
		if ((e = masto_nested(d, reblog, nest, "reblog")))
			p->ref_author = &e->author;
	} else {
		dx_kind_reply_or_quote(p);
	}
}

static void masto_fill(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest)
{
	p->platform = "mastodon";
	p->id = dx_id(d, st, "id", NULL);
	p->created_at_ms = dx_time(d, st, "created_at");
	p->text = dx_strip_html(d, dx_str(d, st, "content"));
	p->lang = dx_str(d, st, "language");
	p->source = dx_str(d, jd_get(st, "application"), "name");
	dx_profile_mastodon(d, jd_get(st, "account"), &p->author);
	p->hashtags = NULL;
	{
		size_t cap = jd_arr_len(jd_get(st, "tags")), i = 0;
		jd_iter it;
		jd_val t;
		if (cap && (p->hashtags = dx_alloc(d, cap * sizeof(*p->hashtags)))) {
			jd_arr_begin(jd_get(st, "tags"), &it);
			while (jd_arr_next(&it, &t) && i < cap)
				if ((p->hashtags[i] = dx_str(d, t, "name")))
					i++;
		}
		p->n_hashtags = (uint32_t)i;
	}
	{
		size_t cap = jd_arr_len(jd_get(st, "mentions")), i = 0;
		jd_iter it;
		jd_val m;
		if (cap && (p->mentions = dx_alloc(d, cap * sizeof(*p->mentions)))) {
			jd_arr_begin(jd_get(st, "mentions"), &it);
			while (jd_arr_next(&it, &m) && i < cap) {
				p->mentions[i].id = dx_id(d, m, "id", NULL);
				p->mentions[i].screen_name = dx_str(d, m, "acct");
				if (p->mentions[i].id || p->mentions[i].screen_name)
					i++;
			}
		}
		p->n_mentions = (uint32_t)i;
	}
	p->n_media = (uint32_t)jd_arr_len(jd_get(st, "media_attachments"));
	masto_refs(d, st, p, nest);
	p->retweet_count = dx_count(d, st, "reblogs_count");
	p->favorite_count = dx_count(d, st, "favourites_count");
	p->reply_count = dx_count(d, st, "replies_count");
	p->quote_count = dx_count(d, st, "quotes_count");
}

int dec_mastodon_status(struct bw_decoder *d, jd_val st)
{
	return dec_emit_status(d, st, masto_fill);
}

/* --- SSE ------------------------------------------------------------------------- */

struct ingest_sse {
	size_t max;         /* cap on one event's data */
	char *data;         /* joined data lines (NUL-terminated) */
	size_t len, cap;    /* bytes used / allocated in data */
	char event[64];     /* event name of the pending event ("" = none) */
	bool pending;       /* a field line was seen since the last dispatch */
	bool has_data;      /* at least one data line */
	bool skipping;      /* data passed the cap: skip to the end of the event */
	bool reset_next;    /* the last call dispatched: clear before the next line */
	uint64_t first_line;/* line of the pending event's first field */
};

struct ingest_sse *ingest_sse_new(size_t max_bytes)
{
	struct ingest_sse *s = calloc(1, sizeof(*s));
	if (s)
		s->max = max_bytes ? max_bytes : ((size_t)1 << 20);
	return s;
}

void ingest_sse_free(struct ingest_sse *s)
{
	if (!s)
		return;
	free(s->data);
	free(s);
}

static void sse_reset(struct ingest_sse *s)
{
	s->len = 0;
	s->event[0] = '\0';
	s->pending = s->has_data = s->skipping = s->reset_next = false;
}

static int sse_dispatch(struct ingest_sse *s, struct ingest_sse_event *ev)
{
	bool skipped = s->skipping;

	if (!s->pending || skipped) {
		sse_reset(s);
		return INGEST_SSE_MORE;
	}
	if (!s->data && !(s->data = calloc(1, 1)))
		return BW_ENOMEM;
	s->data[s->len] = '\0';
	ev->event = s->event[0] ? s->event : "message";
	ev->data = s->data;
	ev->data_len = s->len;
	ev->line = s->first_line;
	s->reset_next = true;
	return INGEST_SSE_EVENT;
}

/* Append one data line (joined with '\n'); BW_ETOOLARGE past the cap. */
static int sse_append(struct ingest_sse *s, const char *v, size_t n)
{
	size_t need = s->len + (s->has_data ? 1 : 0) + n + 1;

	if (need - 1 > s->max)
		return BW_ETOOLARGE;
	if (need > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < need)
			cap *= 2;
		char *nd = realloc(s->data, cap);
		if (!nd)
			return BW_ENOMEM;
		s->data = nd;
		s->cap = cap;
	}
	if (s->has_data)
		s->data[s->len++] = '\n';
	memcpy(s->data + s->len, v, n);
	s->len += n;
	s->has_data = true;
	return 0;
}

int ingest_sse_feed_line(struct ingest_sse *s, const char *line, size_t len, uint64_t line_no,
			 struct ingest_sse_event *ev)
{
	const char *colon, *v;
	size_t flen, vlen;

	if (s->reset_next)
		sse_reset(s);
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return sse_dispatch(s, ev);
	if (line[0] == ':')
		return INGEST_SSE_COMMENT;
	colon = memchr(line, ':', len);
	flen = colon ? (size_t)(colon - line) : len;
	v = colon ? colon + 1 : line + len;
	vlen = (size_t)(line + len - v);
	if (vlen && *v == ' ')
		v++, vlen--;
	if (!s->pending)
		s->first_line = line_no;
	s->pending = true;
	if (flen == 5 && memcmp(line, "event", 5) == 0) {
		size_t n = vlen < sizeof(s->event) - 1 ? vlen : sizeof(s->event) - 1;
		memcpy(s->event, v, n);
		s->event[n] = '\0';
	} else if (flen == 4 && memcmp(line, "data", 4) == 0 && !s->skipping) {
		int rc = sse_append(s, v, vlen);
		if (rc == BW_ETOOLARGE)
			s->skipping = true;
		if (rc)
			return rc;
	}
	return INGEST_SSE_MORE; /* id:, retry: and unknown fields are ignored */
}

void ingest_sse_skip_event(struct ingest_sse *s)
{
	if (s->reset_next)
		sse_reset(s);
	s->pending = true;
	s->skipping = true;
}

int ingest_sse_flush(struct ingest_sse *s, struct ingest_sse_event *ev)
{
	if (s->reset_next)
		sse_reset(s);
	return sse_dispatch(s, ev);
}

int dec_sse_event(struct bw_decoder *d, const struct ingest_sse_event *ev, const char *source)
{
	const char *name = ev->event;

	if (strcmp(name, "update") == 0 || strcmp(name, "status.update") == 0 ||
	    strcmp(name, "message") == 0)
		return dec_unit(d, ev->data, ev->data_len, source, ev->line);
	d->src = source;
	d->line = ev->line;
	d->unit = ev->data;
	d->unit_len = ev->data_len;
	if (strcmp(name, "delete") == 0)
		dec_ctrl(d, BW_CTRL_DELETE); /* a bare status id: no author to emit a record for */
	else if (strcmp(name, "notification") == 0)
		dec_ctrl(d, BW_CTRL_NOTIFICATION); /* mentions, follows, favourites of the user */
	else
		dec_ctrl(d, BW_CTRL_OTHER); /* conversation, filters_changed, announcement, ... */
	return 0;
}

int ingest_decode_sse_event(struct bw_decoder *d, const struct ingest_sse_event *ev,
			    const char *source)
{
	d->stats.units++;
	d->stats.bytes += ev->data_len;
	return dec_sse_event(d, ev, source);
}

/* --- Bluesky Jetstream ----------------------------------------------------------- */

static void bsky_author(struct bw_decoder *d, const char *did, struct bw_profile *a);

/* "at://did:plc:x/coll/rkey" → "did:plc:x" in the arena; NULL if not an at:// URI. */
static const char *did_of_uri(struct bw_decoder *d, const char *uri)
{
	const char *s, *slash;

	if (!uri || strncmp(uri, "at://", 5) != 0)
		return NULL;
	s = uri + 5;
	slash = strchr(s, '/');
	return bw_arena_strndup(d->arena, s, slash ? (size_t)(slash - s) : strlen(s));
}

static const struct bw_profile *did_profile(struct bw_decoder *d, const char *did)
{
	struct bw_profile *p;
	if (!did || !(p = dx_profile_new(d)))
		return NULL;
	p->id = did;
	return p;
}

static void bsky_facets(struct bw_decoder *d, jd_val rec, struct bw_post *p)
{
	jd_iter fi, gi;
	jd_val f, g;
	size_t cap = 0, nh = 0, nm = 0, nu = 0;

	jd_arr_begin(jd_get(rec, "facets"), &fi);
	while (jd_arr_next(&fi, &f))
		cap += jd_arr_len(jd_get(f, "features"));
	if (!cap || !(p->hashtags = dx_alloc(d, cap * sizeof(*p->hashtags))) ||
	    !(p->urls = dx_alloc(d, cap * sizeof(*p->urls))) ||
	    !(p->mentions = dx_alloc(d, cap * sizeof(*p->mentions))))
		return;
	jd_arr_begin(jd_get(rec, "facets"), &fi);
	while (jd_arr_next(&fi, &f)) {
		jd_arr_begin(jd_get(f, "features"), &gi);
		while (jd_arr_next(&gi, &g)) {
			const char *t = jd_get_cstr(g, "$type"), *v;
			if (!t)
				continue;
			if (strstr(t, "#tag") && (v = dx_str(d, g, "tag")) && nh < cap)
				p->hashtags[nh++] = v;
			else if (strstr(t, "#link") && (v = dx_str(d, g, "uri")) && nu < cap)
				p->urls[nu++] = v;
			else if (strstr(t, "#mention") && (v = dx_str(d, g, "did")) && nm < cap)
				p->mentions[nm].id = v, p->mentions[nm++].screen_name = NULL;
		}
	}
	p->n_hashtags = (uint32_t)nh;
	p->n_urls = (uint32_t)nu;
	p->n_mentions = (uint32_t)nm;
}

/* Quote and media from the record's embed. */
static void bsky_embed(struct bw_decoder *d, jd_val rec, struct bw_post *p)
{
	jd_val emb = jd_get(rec, "embed"), inner;
	const char *t = jd_get_cstr(emb, "$type");

	if (!t)
		return;
	if (strcmp(t, "app.bsky.embed.record") == 0) {
		p->quoted_post_id = dx_str(d, jd_get(emb, "record"), "uri");
	} else if (strcmp(t, "app.bsky.embed.recordWithMedia") == 0) {
		p->quoted_post_id = dx_str(d, jd_get(jd_get(emb, "record"), "record"), "uri");
		inner = jd_get(emb, "media");
		p->n_media = (uint32_t)jd_arr_len(jd_get(inner, "images"));
		if (!p->n_media && jd_exists(jd_get(inner, "video")))
			p->n_media = 1;
	} else if (strcmp(t, "app.bsky.embed.images") == 0) {
		p->n_media = (uint32_t)jd_arr_len(jd_get(emb, "images"));
	} else if (strcmp(t, "app.bsky.embed.video") == 0) {
		p->n_media = 1;
	}
	if (p->quoted_post_id)
		p->quoted_author = did_profile(d, did_of_uri(d, p->quoted_post_id));
}

static const char *bsky_post_uri(struct bw_decoder *d, const char *did, jd_val commit)
{
	const char *rkey = dx_str(d, commit, "rkey");
	size_t n;
	char *s;

	if (!did || !rkey)
		return NULL;
	n = strlen(did) + strlen(rkey) + 32;
	if ((s = dx_alloc(d, n)))
		snprintf(s, n, "at://%s/app.bsky.feed.post/%s", did, rkey);
	return s;
}

static int bsky_post(struct bw_decoder *d, jd_val ev, jd_val commit, const char *did, int64_t t)
{
	jd_val rec = jd_get(commit, "record"), langs = jd_get(rec, "langs"), l;
	struct bw_post *p = dx_post_new(d);
	jd_iter it;

	(void)ev;
	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_ORIGINAL });
	p->platform = "bluesky";
	bsky_author(d, did, &p->author);
	p->id = bsky_post_uri(d, did, commit);
	p->created_at_ms = dx_time(d, rec, "createdAt");
	if (p->created_at_ms == BW_TIME_NONE)
		p->created_at_ms = t;
	p->text = dx_str(d, rec, "text");
	if (jd_arr_begin(langs, &it) && jd_arr_next(&it, &l) && jd_type(l) == JD_STRING)
		jd_str(l, &p->lang, NULL);
	p->in_reply_to_post_id = dx_str(d, jd_get(jd_get(rec, "reply"), "parent"), "uri");
	p->in_reply_to_user_id = did_of_uri(d, p->in_reply_to_post_id);
	bsky_facets(d, rec, p);
	bsky_embed(d, rec, p);
	dx_kind_reply_or_quote(p);
	return dec_emit(d, p);
}

/* ---- the per-DID profile cache ---------------------------------------------------- */

#define DEC_BSKY_SLOTS 65536
#define DEC_BSKY_STR 4096 /* longest string kept per field */

struct dec_bsky_prof {
	char *did;         /* the account (NULL = empty slot) */
	char *handle;      /* from identity events, or NULL */
	char *name;        /* profile displayName, or NULL */
	char *description; /* profile description, or NULL */
	bool has_profile;  /* a profile record was seen */
	bool avatar;       /* it has an avatar */
	bool banner;       /* it has a banner */
	bool bot;          /* it carries the `bot` self-label */
	bool has_counts;   /* counts below came from an AppView */
	int64_t followers; /* followersCount (-1 absent) */
	int64_t follows;   /* followsCount */
	int64_t posts;     /* postsCount */
	int64_t created_ms;/* account creation (BW_TIME_NONE absent) */
};

static void bsky_slot_clear(struct dec_bsky_prof *e)
{
	free(e->did);
	free(e->handle);
	free(e->name);
	free(e->description);
	memset(e, 0, sizeof(*e));
}

void dec_bsky_free(struct bw_decoder *d)
{
	if (!d->bsky)
		return;
	for (size_t i = 0; i < DEC_BSKY_SLOTS; i++)
		bsky_slot_clear(&d->bsky[i]);
	free(d->bsky);
	d->bsky = NULL;
}

/* The slot of `did`: its entry, or (create) a fresh one evicting another; NULL
 * when absent and not created, or on allocation failure. */
static struct dec_bsky_prof *bsky_slot(struct bw_decoder *d, const char *did, bool create)
{
	uint32_t h = 2166136261u;
	struct dec_bsky_prof *e;

	if (!did)
		return NULL;
	if (!d->bsky && (!create || !(d->bsky = calloc(DEC_BSKY_SLOTS, sizeof(*d->bsky)))))
		return NULL;
	for (const char *p = did; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	e = &d->bsky[h % DEC_BSKY_SLOTS];
	if (e->did && strcmp(e->did, did) == 0)
		return e;
	if (!create)
		return NULL;
	bsky_slot_clear(e);
	if (!(e->did = strdup(did)))
		return NULL;
	return e;
}

/* Replace *dst with a bounded copy of src (NULL clears). 0, or BW_ENOMEM
 * (then *dst is cleared: a failed copy must not pass for an absent value). */
static int bsky_set(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strndup(src, DEC_BSKY_STR) : NULL;
	return src && !*dst ? BW_ENOMEM : 0;
}

/* Fill a record's author from what the cache knows of `did` (strings borrowed
 * from the cache until the decoder's next call). */
static void bsky_author(struct bw_decoder *d, const char *did, struct bw_profile *a)
{
	const struct dec_bsky_prof *e = bsky_slot(d, did, false);

	a->id = did;
	if (!e)
		return;
	a->screen_name = e->handle;
	if (e->has_counts) {
		a->followers_count = e->followers;
		a->friends_count = e->follows;
		a->statuses_count = e->posts;
		a->created_at_ms = e->created_ms;
	}
	if (!e->has_profile)
		return;
	a->name = e->name;
	a->description = e->description;
	a->default_profile_image = e->avatar ? BW_TRI_FALSE : BW_TRI_TRUE;
	a->profile_use_background_image = e->banner ? BW_TRI_TRUE : BW_TRI_FALSE;
	a->bot = e->bot ? BW_TRI_TRUE : BW_TRI_FALSE;
}

/* Whether a profile record's self-labels include `bot`. */
static bool bsky_self_bot(jd_val rec)
{
	jd_iter it;
	jd_val v;
	const char *s;

	jd_arr_begin(jd_get(jd_get(rec, "labels"), "values"), &it);
	while (jd_arr_next(&it, &v))
		if ((s = jd_get_cstr(v, "val")) && strcmp(s, "bot") == 0)
			return true;
	return false;
}

/* Emit the account's profile snapshot as the cache now knows it. */
static int bsky_emit_profile(struct bw_decoder *d, const char *did, int64_t t)
{
	struct bw_post *p = dx_post_new(d);

	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_PROFILE });
	p->kind = BW_POST_PROFILE;
	p->platform = "bluesky";
	p->created_at_ms = t;
	bsky_author(d, did, &p->author);
	return dec_emit(d, p);
}

/* app.bsky.actor.profile create/update: remember it, emit a snapshot. */
static int bsky_profile(struct bw_decoder *d, jd_val commit, const char *did, int64_t t)
{
	jd_val rec = jd_get(commit, "record");
	struct dec_bsky_prof *e;

	if (jd_type(rec) != JD_OBJECT) {
		dec_dlq(d, BW_DLQ_BAD_FIELD, "profile commit without a record");
		return 0;
	}
	if (!(e = bsky_slot(d, did, true)))
		return did ? BW_ENOMEM : dec_emit(d, &(struct bw_post){ .kind = BW_POST_PROFILE });
	d->bsky_dirty = true;
	if (bsky_set(&e->name, jd_get_cstr(rec, "displayName")) ||
	    bsky_set(&e->description, jd_get_cstr(rec, "description")))
		return BW_ENOMEM;
	e->avatar = jd_exists(jd_get(rec, "avatar"));
	e->banner = jd_exists(jd_get(rec, "banner"));
	e->bot = bsky_self_bot(rec);
	e->has_profile = true;
	return bsky_emit_profile(d, did, t);
}

/* An identity event: the account's handle (changed). */
static int bsky_identity(struct bw_decoder *d, jd_val ev, const char *did, int64_t t)
{
	const char *handle = jd_get_cstr(jd_get(ev, "identity"), "handle");
	struct dec_bsky_prof *e;

	if (!handle) {
		dec_ctrl(d, BW_CTRL_OTHER);
		return 0;
	}
	if (!(e = bsky_slot(d, did, true)))
		return did ? BW_ENOMEM : dec_emit(d, &(struct bw_post){ .kind = BW_POST_PROFILE });
	if (e->handle && strcmp(e->handle, handle) == 0) {
		dec_ctrl(d, BW_CTRL_OTHER); /* nothing new */
		return 0;
	}
	d->bsky_dirty = true;
	if (bsky_set(&e->handle, handle))
		return BW_ENOMEM;
	return bsky_emit_profile(d, did, t);
}

/* "at://<did>/<collection>/<rkey>" of this commit. */
static const char *bsky_rec_uri(struct bw_decoder *d, const char *did, jd_val commit,
				const char *coll)
{
	const char *rkey = dx_str(d, commit, "rkey");
	size_t n;
	char *s;

	if (!did || !rkey)
		return NULL;
	n = strlen(did) + strlen(coll) + strlen(rkey) + 16;
	if ((s = dx_alloc(d, n)))
		snprintf(s, n, "at://%s/%s/%s", did, coll, rkey);
	return s;
}

/* app.bsky.feed.repost create: a retweet of the subject post. */
static int bsky_repost(struct bw_decoder *d, jd_val commit, const char *did, int64_t t)
{
	jd_val rec = jd_get(commit, "record");
	struct bw_post *p = dx_post_new(d);

	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_RETWEET });
	p->kind = BW_POST_RETWEET;
	p->platform = "bluesky";
	bsky_author(d, did, &p->author);
	p->id = bsky_rec_uri(d, did, commit, "app.bsky.feed.repost");
	p->created_at_ms = dx_time(d, rec, "createdAt");
	if (p->created_at_ms == BW_TIME_NONE)
		p->created_at_ms = t;
	p->ref_post_id = dx_str(d, jd_get(rec, "subject"), "uri");
	p->ref_author = did_profile(d, did_of_uri(d, p->ref_post_id));
	return dec_emit(d, p);
}

/* A post or repost deleted: a deletion notice for its record. */
static int bsky_delete(struct bw_decoder *d, jd_val commit, const char *did, const char *coll,
		       int64_t t)
{
	struct bw_post *p;

	dec_ctrl(d, BW_CTRL_DELETE);
	if (!(p = dx_post_new(d)))
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_DELETE });
	p->kind = BW_POST_DELETE;
	p->platform = "bluesky";
	p->author.id = did;
	p->id = bsky_rec_uri(d, did, commit, coll);
	p->created_at_ms = t;
	return dec_emit(d, p);
}

int dec_jetstream(struct bw_decoder *d, jd_val ev)
{
	const char *kind = dx_str(d, ev, "kind"), *did = dx_str(d, ev, "did"), *op, *coll;
	jd_val commit = jd_get(ev, "commit");
	int64_t us, t = BW_TIME_NONE;

	if (jd_int(jd_get(ev, "time_us"), &us))
		t = us / 1000;
	if (kind && strcmp(kind, "identity") == 0)
		return bsky_identity(d, ev, did, t);
	if (!kind || strcmp(kind, "commit") != 0 || jd_type(commit) != JD_OBJECT) {
		dec_ctrl(d, BW_CTRL_OTHER); /* account (activation) events */
		return 0;
	}
	op = jd_get_cstr(commit, "operation");
	coll = jd_get_cstr(commit, "collection");
	if (!op || !coll) {
		dec_dlq(d, BW_DLQ_BAD_FIELD, "commit without operation or collection");
		return 0;
	}
	bool create = strcmp(op, "create") == 0, del = strcmp(op, "delete") == 0;
	if (strcmp(coll, "app.bsky.feed.post") == 0) {
		if (create)
			return bsky_post(d, ev, commit, did, t);
		if (del)
			return bsky_delete(d, commit, did, coll, t);
	} else if (strcmp(coll, "app.bsky.feed.repost") == 0) {
		if (create)
			return bsky_repost(d, commit, did, t);
		if (del)
			return bsky_delete(d, commit, did, coll, t);
	} else if (strcmp(coll, "app.bsky.actor.profile") == 0 && (create || strcmp(op, "update") == 0)) {
		return bsky_profile(d, commit, did, t);
	}
	dec_ctrl(d, BW_CTRL_OTHER); /* post edits, likes, follows, blocks, lists, ... */
	return 0;
}

/* ---- saving and loading the cache ------------------------------------------------------ */

/* One entry as a JSON line into f; false on a write error. */
static bool bsky_write_entry(FILE *f, const struct dec_bsky_prof *e)
{
	json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:b}", "did", e->did, "handle",
			      e->handle, "name", e->name, "description", e->description, "profile",
			      e->has_profile, "avatar", e->avatar, "banner", e->banner, "bot", e->bot);

	if (j && e->has_counts &&
	    (json_object_set_new(j, "followers", json_integer(e->followers)) ||
	     json_object_set_new(j, "follows", json_integer(e->follows)) ||
	     json_object_set_new(j, "posts", json_integer(e->posts)) ||
	     json_object_set_new(j, "created_ms", json_integer(e->created_ms)))) {
		json_decref(j);
		return false;
	}
	int rc = j ? json_dumpf(j, f, JSON_COMPACT) : -1;

	json_decref(j);
	return rc == 0 && fputc('\n', f) != EOF;
}

int ingest_decoder_profiles_save(struct bw_decoder *d, const char *path, bool *written,
				 char *errstr, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	bool ok = true;

	*written = false;
	if (!d->bsky_dirty || !d->bsky)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "profile file path too long");
	if (!(f = fopen(tmp, "w")))
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", tmp, strerror(errno));
	for (size_t i = 0; i < DEC_BSKY_SLOTS && ok; i++)
		if (d->bsky[i].did)
			ok = bsky_write_entry(f, &d->bsky[i]);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(e));
	}
	d->bsky_dirty = false;
	*written = true;
	return 0;
}

/* One saved line into the cache. */
static int bsky_read_entry(struct bw_decoder *d, json_t *j)
{
	const char *did = json_string_value(json_object_get(j, "did"));
	struct dec_bsky_prof *e;

	if (!did)
		return BW_EPARSE;
	if (!(e = bsky_slot(d, did, true)))
		return BW_ENOMEM;
	if (bsky_set(&e->handle, json_string_value(json_object_get(j, "handle"))) ||
	    bsky_set(&e->name, json_string_value(json_object_get(j, "name"))) ||
	    bsky_set(&e->description, json_string_value(json_object_get(j, "description"))))
		return BW_ENOMEM;
	e->has_profile = json_is_true(json_object_get(j, "profile"));
	e->avatar = json_is_true(json_object_get(j, "avatar"));
	e->banner = json_is_true(json_object_get(j, "banner"));
	e->bot = json_is_true(json_object_get(j, "bot"));
	if ((e->has_counts = json_is_integer(json_object_get(j, "followers")))) {
		e->followers = json_integer_value(json_object_get(j, "followers"));
		e->follows = json_integer_value(json_object_get(j, "follows"));
		e->posts = json_integer_value(json_object_get(j, "posts"));
		e->created_ms = json_integer_value(json_object_get(j, "created_ms"));
	}
	return 0;
}

int ingest_decoder_profiles_load(struct bw_decoder *d, const char *path, char *errstr,
				 size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	uint64_t no = 0;
	int rc = 0;

	if (!f)
		return errno == ENOENT ? 0 : bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path,
						       strerror(errno));
	while (!rc && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		no++;
		rc = j ? bsky_read_entry(d, j) : BW_EPARSE;
		json_decref(j);
	}
	free(line);
	fclose(f);
	if (rc)
		return bw_seterr(errstr, errlen, rc, "%s:%llu: %s", path, (unsigned long long)no,
				 rc == BW_ENOMEM ? "out of memory" : "not a saved profile");
	d->bsky_dirty = false;
	return 0;
}

/* ---- AppView profiles --------------------------------------------------------------- */

int ingest_decoder_bsky_profile(struct bw_decoder *d, const struct ingest_bsky_profile *p)
{
	struct dec_bsky_prof *e = bsky_slot(d, p->did, true);
	int64_t t = d->max_event_ms != BW_TIME_NONE ? d->max_event_ms : bw_time_now_ms();

	if (!e)
		return BW_ENOMEM;
	if ((p->handle && bsky_set(&e->handle, p->handle)) || bsky_set(&e->name, p->name) ||
	    bsky_set(&e->description, p->description))
		return BW_ENOMEM;
	e->avatar = p->avatar;
	e->banner = p->banner;
	e->bot = p->bot;
	e->has_profile = true;
	e->has_counts = true;
	e->followers = p->followers;
	e->follows = p->follows;
	e->posts = p->posts;
	e->created_ms = p->created_at_ms;
	d->bsky_dirty = true;
	d->src = "appview";
	d->line = 0;
	d->unit = p->did;
	d->unit_len = strlen(p->did);
	d->fault = -1;
	return bsky_emit_profile(d, p->did, t);
}
