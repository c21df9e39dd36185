/*
 * decode_twitter.c — Twitter shapes: v1.1 statuses (stream, REST, Gnip,
 * cresci-style archives) and control messages, profile-only records, X API
 * v2 stream lines and pages (incl. twarc2 raw pages) and twarc2-flattened
 * tweets. See docs/POST.md for the field mapping.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <string.h>

#include "bw_time.h"

#define MAX_NEST 2 /* retweeted_status → quoted_status: deeper statuses are not emitted */

static void v1_fill(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest);

/* --- v1.1 entities and text ------------------------------------------------ */

static const char **str_list(struct bw_decoder *d, jd_val arr, const char *k1, const char *k2,
			     uint32_t *n)
{
	size_t cap = jd_arr_len(arr), i = 0;
	const char **out;
	jd_iter it;
	jd_val e;

	*n = 0;
	if (!cap || !(out = dx_alloc(d, cap * sizeof(*out))))
		return NULL;
	jd_arr_begin(arr, &it);
	while (jd_arr_next(&it, &e) && i < cap) {
		const char *s = dx_str(d, e, k1);
		if (!s && k2)
			s = dx_str(d, e, k2);
		if (s)
			out[i++] = s;
	}
	*n = (uint32_t)i;
	return out;
}

static struct bw_mention *mention_list(struct bw_decoder *d, jd_val arr, const char *idkey,
				       const char *idnum, const char *namekey, uint32_t *n)
{
	size_t cap = jd_arr_len(arr), i = 0;
	struct bw_mention *out;
	jd_iter it;
	jd_val e;

	*n = 0;
	if (!cap || !(out = dx_alloc(d, cap * sizeof(*out))))
		return NULL;
	jd_arr_begin(arr, &it);
	while (jd_arr_next(&it, &e) && i < cap) {
		out[i].id = dx_id(d, e, idkey, idnum);
		out[i].screen_name = dx_str(d, e, namekey);
		if (out[i].id || out[i].screen_name)
			i++;
	}
	*n = (uint32_t)i;
	return out;
}

/* Top-level keys of a v1.1 status, read in one pass (jd_pick). */
enum {
	S_ID_STR, S_ID, S_CREATED_AT, S_TIMESTAMP_MS, S_EXTENDED_TWEET, S_FULL_TEXT, S_TEXT,
	S_TRUNCATED, S_ENTITIES, S_EXTENDED_ENTITIES, S_NUM_HASHTAGS, S_NUM_URLS, S_NUM_MENTIONS,
	S_SOURCE, S_LANG, S_USER, S_REPLY_ID_STR, S_REPLY_ID, S_REPLY_USER_STR, S_REPLY_USER,
	S_REPLY_SCREEN_NAME, S_RETWEETED_STATUS, S_QUOTED_STATUS, S_QUOTED_ID_STR, S_QUOTED_ID,
	S_RT_ID_STR, S_RT_ID, S_RETWEET_COUNT, S_FAVORITE_COUNT, S_REPLY_COUNT, S_QUOTE_COUNT,
	S__N
};

static const struct jd_key status_keys[S__N] = {
	JD_KEY("id_str"), JD_KEY("id"), JD_KEY("created_at"), JD_KEY("timestamp_ms"),
	JD_KEY("extended_tweet"), JD_KEY("full_text"), JD_KEY("text"), JD_KEY("truncated"),
	JD_KEY("entities"), JD_KEY("extended_entities"), JD_KEY("num_hashtags"),
	JD_KEY("num_urls"), JD_KEY("num_mentions"), JD_KEY("source"), JD_KEY("lang"),
	JD_KEY("user"), JD_KEY("in_reply_to_status_id_str"), JD_KEY("in_reply_to_status_id"),
	JD_KEY("in_reply_to_user_id_str"), JD_KEY("in_reply_to_user_id"),
	JD_KEY("in_reply_to_screen_name"), JD_KEY("retweeted_status"), JD_KEY("quoted_status"),
	JD_KEY("quoted_status_id_str"), JD_KEY("quoted_status_id"),
	JD_KEY("retweeted_status_id_str"), JD_KEY("retweeted_status_id"),
	JD_KEY("retweet_count"), JD_KEY("favorite_count"), JD_KEY("reply_count"),
	JD_KEY("quote_count"),
};

/* An id from the string field, else the numeric one. */
static const char *id2(struct bw_decoder *d, const jd_val *f, int s, int n)
{
	const char *id = dx_id_val(d, f[s], status_keys[s].name);
	return id ? id : dx_id_val(d, f[n], status_keys[n].name);
}

static uint32_t count_or_zero(struct bw_decoder *d, jd_val v, const char *key)
{
	int64_t c = dx_count_v(d, v, key);
	return c < 0 ? 0 : c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

static void v1_entities(struct bw_decoder *d, const jd_val *f, jd_val ent, jd_val extent,
			struct bw_post *p)
{
	if (jd_type(ent) != JD_OBJECT) {
		/* cresci-style archives: counts only, names unknown (NULL arrays) */
		p->n_hashtags = count_or_zero(d, f[S_NUM_HASHTAGS], "num_hashtags");
		p->n_urls = count_or_zero(d, f[S_NUM_URLS], "num_urls");
		p->n_mentions = count_or_zero(d, f[S_NUM_MENTIONS], "num_mentions");
		return;
	}
	p->hashtags = str_list(d, jd_get(ent, "hashtags"), "text", "tag", &p->n_hashtags);
	p->mentions = mention_list(d, jd_get(ent, "user_mentions"), "id_str", "id", "screen_name",
				   &p->n_mentions);
	p->urls = str_list(d, jd_get(ent, "urls"), "expanded_url", "url", &p->n_urls);
	p->n_media = (uint32_t)jd_arr_len(jd_get(jd_type(extent) == JD_OBJECT ? extent : ent, "media"));
}

static void v1_text(struct bw_decoder *d, const jd_val *f, struct bw_post *p)
{
	jd_val ext = f[S_EXTENDED_TWEET];

	if (jd_type(ext) == JD_OBJECT && (p->text = dx_str(d, ext, "full_text"))) {
		p->text = dx_unescape_twitter(d, p->text);
		v1_entities(d, f, jd_get(ext, "entities"), jd_get(ext, "extended_entities"), p);
		return;
	}
	p->text = dx_str_v(d, f[S_FULL_TEXT], "full_text");
	if (!p->text) {
		p->text = dx_str_v(d, f[S_TEXT], "text");
		if (dx_tri_v(d, f[S_TRUNCATED], "truncated") == BW_TRI_TRUE)
			p->flags |= BW_POSTF_TRUNCATED;
	}
	p->text = dx_unescape_twitter(d, p->text);
	v1_entities(d, f, f[S_ENTITIES], f[S_EXTENDED_ENTITIES], p);
}

/* --- v1.1 nested statuses ------------------------------------------------------ */

/* Decode a nested status as an embedded record; NULL when it has no author
 * object (a stub) or could not be decoded (then dead-lettered). */
static struct bw_post *v1_nested(struct bw_decoder *d, jd_val st, int nest, const char *what)
{
	int outer_fault = d->fault;
	char outer_detail[sizeof(d->fault_detail)];
	struct bw_post *e = NULL;

	if (jd_type(jd_get(st, "user")) != JD_OBJECT || nest >= MAX_NEST)
		return NULL;
	memcpy(outer_detail, d->fault_detail, sizeof(outer_detail));
	d->fault = -1;
	e = dx_post_new(d);
	if (e) {
		v1_fill(d, st, e, nest + 1);
		e->flags |= BW_POSTF_EMBEDDED;
	}
	if (d->fault >= 0 || !e || !e->author.id) {
		if (d->fault >= 0)
			dec_dlq(d, (enum bw_dlq_reason)d->fault, "%s: %s", what, d->fault_detail);
		else if (e)
			dec_dlq(d, BW_DLQ_NO_ACCOUNT_ID, "%s has no author id", what);
		e = NULL;
	} else {
		bool dup = false;
		for (size_t i = 0; i < d->n_embedded; i++)
			if (d->embedded[i]->id && e->id && strcmp(d->embedded[i]->id, e->id) == 0)
				dup = true;
		if (!dup && d->n_embedded < DEC_MAX_EMBEDDED)
			d->embedded[d->n_embedded++] = e;
	}
	d->fault = outer_fault;
	memcpy(d->fault_detail, outer_detail, sizeof(outer_detail));
	return e;
}

/* Retweet, quote and reply references, and the kind they imply. */
static void v1_refs(struct bw_decoder *d, const jd_val *f, struct bw_post *p, int nest)
{
	jd_val rs = f[S_RETWEETED_STATUS], qs = f[S_QUOTED_STATUS];
	struct bw_post *e;

	p->in_reply_to_post_id = id2(d, f, S_REPLY_ID_STR, S_REPLY_ID);
	p->in_reply_to_user_id = id2(d, f, S_REPLY_USER_STR, S_REPLY_USER);
	p->in_reply_to_screen_name = dx_str_v(d, f[S_REPLY_SCREEN_NAME], "in_reply_to_screen_name");

	if (jd_type(qs) == JD_OBJECT) {
		p->quoted_post_id = dx_id(d, qs, "id_str", "id");
		if ((e = v1_nested(d, qs, nest, "quoted_status")))
			p->quoted_author = &e->author;
	}
	if (!p->quoted_post_id)
		p->quoted_post_id = id2(d, f, S_QUOTED_ID_STR, S_QUOTED_ID);

	if (jd_type(rs) == JD_OBJECT) {
		p->kind = BW_POST_RETWEET;
		p->ref_post_id = dx_id(d, rs, "id_str", "id");
		if ((e = v1_nested(d, rs, nest, "retweeted_status")))
			p->ref_author = &e->author;
	} else if ((p->ref_post_id = id2(d, f, S_RT_ID_STR, S_RT_ID))) {
		p->kind = BW_POST_RETWEET; /* cresci-style archives */
	} else {
		dx_kind_reply_or_quote(p);
	}
}

static void v1_fill(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest)
{
	jd_val f[S__N];
	int64_t ts;

	jd_pick(st, status_keys, S__N, f);
	p->platform = "twitter";
	p->id = id2(d, f, S_ID_STR, S_ID);
	p->created_at_ms = dx_time_v(d, f[S_CREATED_AT], "created_at");
	ts = dx_epoch_ms_v(d, f[S_TIMESTAMP_MS], "timestamp_ms");
	if (ts != BW_TIME_NONE)
		p->created_at_ms = ts; /* same instant, millisecond precision */
	v1_text(d, f, p);
	p->source = dx_strip_html(d, dx_str_v(d, f[S_SOURCE], "source"));
	p->lang = dx_str_v(d, f[S_LANG], "lang");
	if (jd_type(f[S_USER]) == JD_OBJECT)
		dx_profile_v1(d, f[S_USER], &p->author);
	v1_refs(d, f, p, nest);
	p->retweet_count = dx_count_v(d, f[S_RETWEET_COUNT], "retweet_count");
	p->favorite_count = dx_count_v(d, f[S_FAVORITE_COUNT], "favorite_count");
	p->reply_count = dx_count_v(d, f[S_REPLY_COUNT], "reply_count");
	p->quote_count = dx_count_v(d, f[S_QUOTE_COUNT], "quote_count");
}

int dec_v1_status(struct bw_decoder *d, jd_val st)
{
	return dec_emit_status(d, st, v1_fill);
}

/* --- control messages and profile-only records ------------------------------- */

int dec_v1_control(struct bw_decoder *d, jd_val root, const char *key)
{
	static const struct { const char *key; enum bw_ctrl_type t; } map[] = {
		{ "limit", BW_CTRL_LIMIT },
		{ "scrub_geo", BW_CTRL_SCRUB_GEO },
		{ "status_withheld", BW_CTRL_STATUS_WITHHELD },
		{ "user_withheld", BW_CTRL_USER_WITHHELD },
		{ "warning", BW_CTRL_WARNING },
		{ "disconnect", BW_CTRL_DISCONNECT },
	};
	jd_val del, st;
	struct bw_post *p;

	if (strcmp(key, "delete") == 0) {
		dec_ctrl(d, BW_CTRL_DELETE);
		del = jd_get(root, "delete");
		st = jd_get(del, "status");
		if (jd_type(st) != JD_OBJECT)
			return 0; /* a direct-message deletion: counted, no post to delete */
		if (!(p = dx_post_new(d)))
			return dec_emit(d, &(struct bw_post){ .kind = BW_POST_DELETE });
		p->kind = BW_POST_DELETE;
		p->platform = "twitter";
		p->id = dx_id(d, st, "id_str", "id");
		p->author.id = dx_id(d, st, "user_id_str", "user_id");
		p->created_at_ms = dx_epoch_ms(d, del, "timestamp_ms");
		return dec_emit(d, p);
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(key, map[i].key) == 0) {
			dec_ctrl(d, map[i].t);
			return 0;
		}
	}
	dec_ctrl(d, BW_CTRL_OTHER); /* friends lists, site-stream envelopes, events */
	return 0;
}

/* Twitter ids since November 2010 are snowflakes: milliseconds since the
 * Twitter epoch in the bits above 22. BW_TIME_NONE for older sequential
 * ids, non-digits or times outside 2010..2100. */
#define SNOWFLAKE_EPOCH_MS 1288834974657LL
static int64_t snowflake_ms(const char *id)
{
	uint64_t v = 0;

	if (!id || !*id || strlen(id) > 19)
		return BW_TIME_NONE;
	for (const char *c = id; *c; c++) {
		if (*c < '0' || *c > '9')
			return BW_TIME_NONE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	int64_t off = (int64_t)(v >> 22);
	if (off < 86400000LL || off > 4102444800000LL - SNOWFLAKE_EPOCH_MS)
		return BW_TIME_NONE;
	return SNOWFLAKE_EPOCH_MS + off;
}

/* A lower bound on when a profile was read: the time of the latest post the
 * profile object embeds — v1.1 `status.created_at` (users/lookup), else the
 * v2 `most_recent_tweet_id` snowflake. Informs the inferred probe time
 * (docs/POST.md, rule 3) only; an unreadable value never faults the record. */
static int64_t profile_seen_ms(jd_val u)
{
	const char *s = jd_get_cstr(jd_get(u, "status"), "created_at");
	int64_t ms;

	if (s && *s && bw_time_parse_any(s, strlen(s), &ms) == 0)
		return ms;
	return snowflake_ms(jd_get_cstr(u, "most_recent_tweet_id"));
}

int dec_profile_only(struct bw_decoder *d, jd_val root)
{
	jd_val u = jd_get(root, "user");
	struct bw_post *p = dx_post_new(d);

	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_PROFILE });
	p->kind = BW_POST_PROFILE;
	if (jd_exists(jd_get(u, "acct"))) {
		p->platform = "mastodon";
		dx_profile_mastodon(d, u, &p->author);
	} else if (jd_exists(jd_get(u, "username")) && !jd_exists(jd_get(u, "screen_name"))) {
		p->platform = "twitter";
		dx_profile_v2(d, u, &p->author);
	} else {
		p->platform = "twitter";
		dx_profile_v1(d, u, &p->author);
	}
	/* probe time: --probe-time, else the record's own created_at, else held
	 * back until ingest_decoder_finish() (see dec_emit) */
	if (d->opts.probe_time_ms != BW_TIME_NONE)
		p->created_at_ms = d->opts.probe_time_ms;
	else
		p->created_at_ms = dx_time(d, root, "created_at");
	if (p->created_at_ms == BW_TIME_NONE && !d->releasing)
		dec_note_event(d, profile_seen_ms(u));
	return dec_emit(d, p);
}

/* --- X API v2 --------------------------------------------------------------------- */

/* What a v2 unit offers for joins: includes.users and includes.tweets. */
struct v2_ctx {
	jd_val users;  /* includes.users array (or none) */
	jd_val tweets; /* includes.tweets array (or none) */
};

/* Element of arr whose "id" equals id; JD_NONE when not found. */
static jd_val find_by_id(jd_val arr, const char *id)
{
	jd_iter it;
	jd_val e, none = { { 0, 0 } };

	if (!id || !jd_arr_begin(arr, &it))
		return none;
	while (jd_arr_next(&it, &e)) {
		const char *eid = jd_get_cstr(e, "id");
		if (eid && strcmp(eid, id) == 0)
			return e;
	}
	return none;
}

/* The profile of author `id`: from includes.users, an inline object, or the id alone. */
static struct bw_profile *v2_profile(struct bw_decoder *d, const struct v2_ctx *c, const char *id,
				     jd_val inline_user)
{
	struct bw_profile *p;
	jd_val u = find_by_id(c->users, id);

	if (!jd_exists(u) && jd_type(inline_user) == JD_OBJECT)
		u = inline_user;
	if (!id && !jd_exists(u))
		return NULL;
	if (!(p = dx_profile_new(d)))
		return NULL;
	if (jd_exists(u))
		dx_profile_v2(d, u, p);
	if (!p->id)
		p->id = id;
	return p;
}

static void v2_refs(struct bw_decoder *d, const struct v2_ctx *c, jd_val tw, struct bw_post *p)
{
	jd_iter it;
	jd_val r;
	const char *rt = NULL, *quoted = NULL;
	const struct bw_profile *rt_author = NULL, *q_author = NULL;

	jd_arr_begin(jd_get(tw, "referenced_tweets"), &it);
	while (jd_arr_next(&it, &r)) {
		const char *type = dx_str(d, r, "type"), *id = dx_id(d, r, "id", NULL);
		jd_val ref = find_by_id(c->tweets, id), inl = jd_get(r, "tweet");
		const struct bw_profile *a = NULL;
		if (!type || !id)
			continue;
		if (!jd_exists(ref) && jd_type(inl) == JD_OBJECT)
			ref = inl; /* twarc2 flatten inlines referenced tweets */
		if (jd_exists(ref))
			a = v2_profile(d, c, dx_id(d, ref, "author_id", NULL), jd_get(ref, "author"));
		if (strcmp(type, "retweeted") == 0)
			rt = id, rt_author = a;
		else if (strcmp(type, "quoted") == 0)
			quoted = id, q_author = a;
		else if (strcmp(type, "replied_to") == 0)
			p->in_reply_to_post_id = id;
	}
	p->in_reply_to_user_id = dx_id(d, tw, "in_reply_to_user_id", NULL);
	p->quoted_post_id = quoted;
	p->quoted_author = q_author;
	if (rt) {
		p->kind = BW_POST_RETWEET;
		p->ref_post_id = rt;
		p->ref_author = rt_author;
	} else {
		dx_kind_reply_or_quote(p);
	}
}

static void v2_fill(struct bw_decoder *d, const struct v2_ctx *c, jd_val tw, struct bw_post *p)
{
	jd_val ent = jd_get(tw, "entities"), pm = jd_get(tw, "public_metrics");
	jd_val note = jd_get(tw, "note_tweet");
	const struct bw_profile *a;

	p->platform = "twitter";
	p->id = dx_id(d, tw, "id", NULL);
	p->created_at_ms = dx_time(d, tw, "created_at");
	p->text = jd_type(note) == JD_OBJECT ? dx_str(d, note, "text") : NULL;
	if (!p->text)
		p->text = dx_str(d, tw, "text");
	p->text = dx_unescape_twitter(d, p->text);
	p->source = dx_strip_html(d, dx_str(d, tw, "source"));
	p->lang = dx_str(d, tw, "lang");
	a = v2_profile(d, c, dx_id(d, tw, "author_id", NULL), jd_get(tw, "author"));
	if (a)
		p->author = *a;
	if (jd_type(ent) == JD_OBJECT) {
		p->hashtags = str_list(d, jd_get(ent, "hashtags"), "tag", "text", &p->n_hashtags);
		p->mentions = mention_list(d, jd_get(ent, "mentions"), "id", NULL, "username",
					   &p->n_mentions);
		p->urls = str_list(d, jd_get(ent, "urls"), "expanded_url", "url", &p->n_urls);
	}
	p->n_media = (uint32_t)jd_arr_len(jd_get(jd_get(tw, "attachments"), "media_keys"));
	v2_refs(d, c, tw, p);
	if (jd_type(pm) == JD_OBJECT) {
		p->retweet_count = dx_count(d, pm, "retweet_count");
		p->favorite_count = dx_count(d, pm, "like_count");
		p->reply_count = dx_count(d, pm, "reply_count");
		p->quote_count = dx_count(d, pm, "quote_count");
	}
}

static int v2_one(struct bw_decoder *d, const struct v2_ctx *c, jd_val tw, uint32_t flags)
{
	struct bw_post *p = dx_post_new(d);

	d->fault = -1;
	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_ORIGINAL });
	if (jd_type(tw) != JD_OBJECT) {
		dec_dlq(d, BW_DLQ_BAD_FIELD, "a v2 tweet that is not an object");
		return 0;
	}
	v2_fill(d, c, tw, p);
	p->flags |= flags;
	return dec_emit(d, p);
}

/* Emit an in-stream / partial-response error as a DLQ record or a counter. */
static void v2_errors(struct bw_decoder *d, jd_val errs, bool with_data)
{
	jd_val e;
	jd_iter it;
	const char *title, *detail;

	if (with_data) {
		if (!d->releasing)
			d->stats.api_errors += jd_arr_len(errs);
		return;
	}
	jd_arr_begin(errs, &it);
	if (!jd_arr_next(&it, &e))
		e = errs;
	title = jd_get_cstr(e, "title");
	detail = jd_get_cstr(e, "detail");
	dec_dlq(d, BW_DLQ_STREAM_ERROR, "%s%s%s (%zu error%s)", title ? title : "error",
		detail ? ": " : "", detail ? detail : "", jd_arr_len(errs),
		jd_arr_len(errs) == 1 ? "" : "s");
}

int dec_v2_envelope(struct bw_decoder *d, jd_val root)
{
	jd_val data = jd_get(root, "data"), inc = jd_get(root, "includes"), errs, tw;
	struct v2_ctx c = { jd_get(inc, "users"), jd_get(inc, "tweets") };
	jd_iter it;
	int rc = 0;

	errs = jd_get(root, "errors");
	if (jd_type(errs) == JD_ARRAY)
		v2_errors(d, errs, jd_exists(data) && jd_type(data) != JD_NULL);
	if (jd_type(data) == JD_OBJECT) {
		rc = v2_one(d, &c, data, 0);
	} else if (jd_arr_begin(data, &it)) {
		while (!rc && jd_arr_next(&it, &tw))
			rc = v2_one(d, &c, tw, 0);
	}
	/* referenced tweets are observations of their authors too */
	if (jd_arr_begin(c.tweets, &it)) {
		while (!rc && jd_arr_next(&it, &tw))
			rc = v2_one(d, &c, tw, BW_POSTF_EMBEDDED);
	}
	return rc;
}

int dec_v2_flat(struct bw_decoder *d, jd_val tw)
{
	struct v2_ctx c = { { { 0, 0 } }, { { 0, 0 } } };
	return v2_one(d, &c, tw, 0);
}
