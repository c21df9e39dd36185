/*
 * decode_record.c — botwatch's own normalised record (the NDJSON written by
 * bw_post_to_json(), docs/POST.md) read back into a struct bw_post.
 *
 * This makes the record round-trip: a Kafka consumer hands each "posts"
 * message to ingest_decode_unit() and gets the same struct the producer had,
 * and `botwatch decode` accepts its own output.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <string.h>

#include "bw_time.h"

/* Keys of a profile object as bw_post_to_json() writes them. */
enum {
	P_ID, P_SCREEN_NAME, P_NAME, P_DESCRIPTION, P_LOCATION, P_URL, P_LANG, P_CREATED_AT_MS,
	P_CREATED_AT, P_FOLLOWERS, P_FRIENDS, P_STATUSES, P_FAVOURITES, P_LISTED, P_VERIFIED,
	P_PROTECTED, P_DEFAULT_PROFILE, P_DEFAULT_IMAGE, P_USE_BACKGROUND, P_GEO_ENABLED, P_BOT,
	P__N
};

static const struct jd_key profile_keys[P__N] = {
	JD_KEY("id"), JD_KEY("screen_name"), JD_KEY("name"), JD_KEY("description"),
	JD_KEY("location"), JD_KEY("url"), JD_KEY("lang"), JD_KEY("created_at_ms"),
	JD_KEY("created_at"), JD_KEY("followers_count"), JD_KEY("friends_count"),
	JD_KEY("statuses_count"), JD_KEY("favourites_count"), JD_KEY("listed_count"),
	JD_KEY("verified"), JD_KEY("protected"), JD_KEY("default_profile"),
	JD_KEY("default_profile_image"), JD_KEY("profile_use_background_image"),
	JD_KEY("geo_enabled"), JD_KEY("bot"),
};

/* created_at_ms (integer) when present, else created_at (text). */
static int64_t rec_time(struct bw_decoder *d, jd_val ms, jd_val text)
{
	int64_t t;

	if (jd_int(ms, &t))
		return t;
	if (jd_exists(ms) && jd_type(ms) != JD_NULL)
		dec_fault(d, BW_DLQ_BAD_FIELD, "'created_at_ms' is not an integer");
	return dx_time_v(d, text, "created_at");
}

static void rec_profile(struct bw_decoder *d, jd_val o, struct bw_profile *p)
{
	jd_val f[P__N];

	jd_pick(o, profile_keys, P__N, f);
	p->id = dx_id_val(d, f[P_ID], "id");
	p->screen_name = dx_str_v(d, f[P_SCREEN_NAME], "screen_name");
	p->name = dx_str_v(d, f[P_NAME], "name");
	p->description = dx_str_v(d, f[P_DESCRIPTION], "description");
	p->location = dx_str_v(d, f[P_LOCATION], "location");
	p->url = dx_str_v(d, f[P_URL], "url");
	p->lang = dx_str_v(d, f[P_LANG], "lang");
	p->created_at_ms = rec_time(d, f[P_CREATED_AT_MS], f[P_CREATED_AT]);
	p->followers_count = dx_count_v(d, f[P_FOLLOWERS], "followers_count");
	p->friends_count = dx_count_v(d, f[P_FRIENDS], "friends_count");
	p->statuses_count = dx_count_v(d, f[P_STATUSES], "statuses_count");
	p->favourites_count = dx_count_v(d, f[P_FAVOURITES], "favourites_count");
	p->listed_count = dx_count_v(d, f[P_LISTED], "listed_count");
	p->verified = dx_tri_v(d, f[P_VERIFIED], "verified");
	p->protected_ = dx_tri_v(d, f[P_PROTECTED], "protected");
	p->default_profile = dx_tri_v(d, f[P_DEFAULT_PROFILE], "default_profile");
	p->default_profile_image = dx_tri_v(d, f[P_DEFAULT_IMAGE], "default_profile_image");
	p->profile_use_background_image =
		dx_tri_v(d, f[P_USE_BACKGROUND], "profile_use_background_image");
	p->geo_enabled = dx_tri_v(d, f[P_GEO_ENABLED], "geo_enabled");
	p->bot = dx_tri_v(d, f[P_BOT], "bot");
}

/* A profile object, or NULL when absent. */
static const struct bw_profile *rec_profile_opt(struct bw_decoder *d, jd_val o)
{
	struct bw_profile *p;

	if (jd_type(o) != JD_OBJECT)
		return NULL;
	if ((p = dx_profile_new(d)))
		rec_profile(d, o, p);
	return p;
}

/* Keys of a post object. */
enum {
	R_V, R_PLATFORM, R_KIND, R_ID, R_CREATED_AT_MS, R_CREATED_AT, R_FLAGS, R_TEXT, R_SOURCE,
	R_LANG, R_AUTHOR, R_N_HASHTAGS, R_HASHTAGS, R_N_MENTIONS, R_MENTIONS, R_N_URLS, R_URLS,
	R_N_MEDIA, R_REPLY_POST, R_REPLY_USER, R_REPLY_NAME, R_REF_POST, R_REF_AUTHOR,
	R_QUOTED_POST, R_QUOTED_AUTHOR, R_RETWEETS, R_FAVORITES, R_REPLIES, R_QUOTES, R__N
};

static const struct jd_key record_keys[R__N] = {
	JD_KEY("v"), JD_KEY("platform"), JD_KEY("kind"), JD_KEY("id"), JD_KEY("created_at_ms"),
	JD_KEY("created_at"), JD_KEY("flags"), JD_KEY("text"), JD_KEY("source"), JD_KEY("lang"),
	JD_KEY("author"), JD_KEY("n_hashtags"), JD_KEY("hashtags"), JD_KEY("n_mentions"),
	JD_KEY("mentions"), JD_KEY("n_urls"), JD_KEY("urls"), JD_KEY("n_media"),
	JD_KEY("in_reply_to_post_id"), JD_KEY("in_reply_to_user_id"),
	JD_KEY("in_reply_to_screen_name"), JD_KEY("ref_post_id"), JD_KEY("ref_author"),
	JD_KEY("quoted_post_id"), JD_KEY("quoted_author"), JD_KEY("retweet_count"),
	JD_KEY("favorite_count"), JD_KEY("reply_count"), JD_KEY("quote_count"),
};

static uint32_t rec_n(struct bw_decoder *d, jd_val v, const char *key)
{
	int64_t n = dx_count_v(d, v, key);
	return n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* A list of strings; NULL when absent (names unknown). */
static const char **rec_strings(struct bw_decoder *d, jd_val arr, uint32_t n, const char *key)
{
	size_t len = jd_arr_len(arr), i = 0;
	const char **out;
	jd_iter it;
	jd_val e;

	if (jd_type(arr) != JD_ARRAY)
		return NULL;
	if (len != n) {
		dec_fault(d, BW_DLQ_BAD_FIELD, "'%s' has %zu entries, its count says %u", key, len, n);
		return NULL;
	}
	if (!(out = dx_alloc(d, (len ? len : 1) * sizeof(*out))))
		return NULL;
	jd_arr_begin(arr, &it);
	while (jd_arr_next(&it, &e) && i < len)
		if (!(out[i++] = dx_str_v(d, e, key)))
			dec_fault(d, BW_DLQ_BAD_FIELD, "'%s' holds a non-string", key);
	return out;
}

static struct bw_mention *rec_mentions(struct bw_decoder *d, jd_val arr, uint32_t n)
{
	size_t len = jd_arr_len(arr), i = 0;
	struct bw_mention *out;
	jd_iter it;
	jd_val e;

	if (jd_type(arr) != JD_ARRAY)
		return NULL;
	if (len != n) {
		dec_fault(d, BW_DLQ_BAD_FIELD, "'mentions' has %zu entries, its count says %u", len, n);
		return NULL;
	}
	if (!(out = dx_alloc(d, (len ? len : 1) * sizeof(*out))))
		return NULL;
	jd_arr_begin(arr, &it);
	while (jd_arr_next(&it, &e) && i < len) {
		out[i].id = dx_id(d, e, "id", NULL);
		out[i++].screen_name = dx_str(d, e, "screen_name");
	}
	return out;
}

static uint32_t rec_flags(struct bw_decoder *d, jd_val arr)
{
	static const struct { const char *name; uint32_t bit; } names[] = {
		{ "embedded", BW_POSTF_EMBEDDED },
		{ "truncated", BW_POSTF_TRUNCATED },
		{ "probe_default", BW_POSTF_PROBE_DEFAULT },
	};
	uint32_t flags = 0;
	jd_iter it;
	jd_val e;

	jd_arr_begin(arr, &it);
	while (jd_arr_next(&it, &e)) {
		const char *s = dx_str_v(d, e, "flags");
		for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(s, names[i].name) == 0)
				flags |= names[i].bit;
	}
	return flags;
}

static void rec_fill(struct bw_decoder *d, const jd_val *f, struct bw_post *p)
{
	const char *kind = dx_str_v(d, f[R_KIND], "kind");
	const struct bw_profile *a;
	int k = kind ? bw_post_kind_parse(kind) : -1;

	if (k < 0)
		dec_fault(d, BW_DLQ_BAD_FIELD, "'kind' is missing or unknown");
	else
		p->kind = (enum bw_post_kind)k;
	p->platform = dx_str_v(d, f[R_PLATFORM], "platform");
	p->id = dx_id_val(d, f[R_ID], "id");
	p->created_at_ms = rec_time(d, f[R_CREATED_AT_MS], f[R_CREATED_AT]);
	p->flags = rec_flags(d, f[R_FLAGS]);
	p->text = dx_str_v(d, f[R_TEXT], "text");
	p->source = dx_str_v(d, f[R_SOURCE], "source");
	p->lang = dx_str_v(d, f[R_LANG], "lang");
	if ((a = rec_profile_opt(d, f[R_AUTHOR])))
		p->author = *a;
	p->n_hashtags = rec_n(d, f[R_N_HASHTAGS], "n_hashtags");
	p->hashtags = rec_strings(d, f[R_HASHTAGS], p->n_hashtags, "hashtags");
	p->n_mentions = rec_n(d, f[R_N_MENTIONS], "n_mentions");
	p->mentions = rec_mentions(d, f[R_MENTIONS], p->n_mentions);
	p->n_urls = rec_n(d, f[R_N_URLS], "n_urls");
	p->urls = rec_strings(d, f[R_URLS], p->n_urls, "urls");
	p->n_media = rec_n(d, f[R_N_MEDIA], "n_media");
	p->in_reply_to_post_id = dx_id_val(d, f[R_REPLY_POST], "in_reply_to_post_id");
	p->in_reply_to_user_id = dx_id_val(d, f[R_REPLY_USER], "in_reply_to_user_id");
	p->in_reply_to_screen_name = dx_str_v(d, f[R_REPLY_NAME], "in_reply_to_screen_name");
	p->ref_post_id = dx_id_val(d, f[R_REF_POST], "ref_post_id");
	p->ref_author = rec_profile_opt(d, f[R_REF_AUTHOR]);
	p->quoted_post_id = dx_id_val(d, f[R_QUOTED_POST], "quoted_post_id");
	p->quoted_author = rec_profile_opt(d, f[R_QUOTED_AUTHOR]);
	p->retweet_count = dx_count_v(d, f[R_RETWEETS], "retweet_count");
	p->favorite_count = dx_count_v(d, f[R_FAVORITES], "favorite_count");
	p->reply_count = dx_count_v(d, f[R_REPLIES], "reply_count");
	p->quote_count = dx_count_v(d, f[R_QUOTES], "quote_count");
}

int dec_record(struct bw_decoder *d, jd_val o)
{
	jd_val f[R__N];
	int64_t v = 0;
	struct bw_post *p = dx_post_new(d);

	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_ORIGINAL });
	jd_pick(o, record_keys, R__N, f);
	jd_int(f[R_V], &v);
	if (v != BW_POST_SCHEMA_VERSION) {
		dec_dlq(d, BW_DLQ_BAD_FIELD, "normalised record of schema version %lld (this is %d)",
			(long long)v, BW_POST_SCHEMA_VERSION);
		return 0;
	}
	rec_fill(d, f, p);
	/* a profile record without created_at follows the probe-time rules like
	 * any profile-only record (dec_emit() holds it back) */
	return dec_emit(d, p);
}
