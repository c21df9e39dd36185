/*
 * post.c — the normalised post record: names, initialisation and the NDJSON
 * shape documented in docs/POST.md (see post.h).
 */
#include "post.h"

#include <stdlib.h>
#include <string.h>

#include "bw_time.h"

static const char *const kind_names[] = { "original", "retweet", "reply",
					  "quote",    "profile", "delete" };

const char *bw_post_kind_name(enum bw_post_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

int bw_post_kind_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(name, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

void bw_profile_init(struct bw_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->created_at_ms = BW_TIME_NONE;
	p->followers_count = p->friends_count = p->statuses_count = -1;
	p->favourites_count = p->listed_count = -1;
	p->verified = p->protected_ = p->default_profile = BW_TRI_UNKNOWN;
	p->default_profile_image = p->profile_use_background_image = BW_TRI_UNKNOWN;
	p->geo_enabled = p->bot = BW_TRI_UNKNOWN;
}

void bw_post_init(struct bw_post *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = BW_POST_ORIGINAL;
	p->created_at_ms = BW_TIME_NONE;
	bw_profile_init(&p->author);
	p->retweet_count = p->favorite_count = p->reply_count = p->quote_count = -1;
}

/* Set o[key] = s unless s is NULL; invalid UTF-8 (not expected: inputs are
 * validated) is replaced byte by byte with '?'. */
static void set_str(json_t *o, const char *key, const char *s)
{
	json_t *v;

	if (!s)
		return;
	v = json_string(s);
	if (!v) {
		size_t n = strlen(s);
		char *c = malloc(n + 1);
		if (!c)
			return;
		for (size_t i = 0; i <= n; i++)
			c[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
		v = json_string(c);
		free(c);
	}
	if (v)
		json_object_set_new(o, key, v);
}

static void set_count(json_t *o, const char *key, int64_t v)
{
	if (v >= 0)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_tri(json_t *o, const char *key, int8_t v)
{
	if (v != BW_TRI_UNKNOWN)
		json_object_set_new(o, key, json_boolean(v == BW_TRI_TRUE));
}

static void set_time(json_t *o, const char *key, const char *key_ms, int64_t ms)
{
	char buf[40];

	if (ms == BW_TIME_NONE)
		return;
	set_str(o, key, bw_time_format(ms, buf, sizeof(buf)));
	json_object_set_new(o, key_ms, json_integer((json_int_t)ms));
}

static json_t *profile_json(const struct bw_profile *p)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set_str(o, "id", p->id);
	set_str(o, "screen_name", p->screen_name);
	set_str(o, "name", p->name);
	set_str(o, "description", p->description);
	set_str(o, "location", p->location);
	set_str(o, "url", p->url);
	set_str(o, "lang", p->lang);
	set_time(o, "created_at", "created_at_ms", p->created_at_ms);
	set_count(o, "followers_count", p->followers_count);
	set_count(o, "friends_count", p->friends_count);
	set_count(o, "statuses_count", p->statuses_count);
	set_count(o, "favourites_count", p->favourites_count);
	set_count(o, "listed_count", p->listed_count);
	set_tri(o, "verified", p->verified);
	set_tri(o, "protected", p->protected_);
	set_tri(o, "default_profile", p->default_profile);
	set_tri(o, "default_profile_image", p->default_profile_image);
	set_tri(o, "profile_use_background_image", p->profile_use_background_image);
	set_tri(o, "geo_enabled", p->geo_enabled);
	set_tri(o, "bot", p->bot);
	return o;
}

static json_t *str_array(const char **a, uint32_t n)
{
	json_t *arr = json_array();
	for (uint32_t i = 0; arr && i < n; i++) {
		json_t *v = json_string(a[i] ? a[i] : "");
		json_array_append_new(arr, v ? v : json_string("?"));
	}
	return arr;
}

/* Entities: "n_*" always, the name arrays only when the names are known. */
static void entities_json(json_t *o, const struct bw_post *p)
{
	json_object_set_new(o, "n_hashtags", json_integer(p->n_hashtags));
	if (p->hashtags)
		json_object_set_new(o, "hashtags", str_array(p->hashtags, p->n_hashtags));
	json_object_set_new(o, "n_mentions", json_integer(p->n_mentions));
	if (p->mentions) {
		json_t *arr = json_array();
		for (uint32_t i = 0; arr && i < p->n_mentions; i++) {
			json_t *m = json_object();
			set_str(m, "id", p->mentions[i].id);
			set_str(m, "screen_name", p->mentions[i].screen_name);
			json_array_append_new(arr, m);
		}
		json_object_set_new(o, "mentions", arr);
	}
	json_object_set_new(o, "n_urls", json_integer(p->n_urls));
	if (p->urls)
		json_object_set_new(o, "urls", str_array(p->urls, p->n_urls));
	json_object_set_new(o, "n_media", json_integer(p->n_media));
}

static void flags_json(json_t *o, uint32_t flags)
{
	json_t *arr = json_array();

	if (flags & BW_POSTF_EMBEDDED)
		json_array_append_new(arr, json_string("embedded"));
	if (flags & BW_POSTF_TRUNCATED)
		json_array_append_new(arr, json_string("truncated"));
	if (flags & BW_POSTF_PROBE_DEFAULT)
		json_array_append_new(arr, json_string("probe_default"));
	json_object_set_new(o, "flags", arr);
}

json_t *bw_post_to_json(const struct bw_post *p)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "v", json_integer(BW_POST_SCHEMA_VERSION));
	set_str(o, "platform", p->platform);
	set_str(o, "kind", bw_post_kind_name(p->kind));
	set_str(o, "id", p->id);
	set_time(o, "created_at", "created_at_ms", p->created_at_ms);
	flags_json(o, p->flags);
	set_str(o, "text", p->text);
	set_str(o, "source", p->source);
	set_str(o, "lang", p->lang);
	json_object_set_new(o, "author", profile_json(&p->author));
	if (p->kind != BW_POST_PROFILE && p->kind != BW_POST_DELETE)
		entities_json(o, p);
	set_str(o, "in_reply_to_post_id", p->in_reply_to_post_id);
	set_str(o, "in_reply_to_user_id", p->in_reply_to_user_id);
	set_str(o, "in_reply_to_screen_name", p->in_reply_to_screen_name);
	set_str(o, "ref_post_id", p->ref_post_id);
	if (p->ref_author)
		json_object_set_new(o, "ref_author", profile_json(p->ref_author));
	set_str(o, "quoted_post_id", p->quoted_post_id);
	if (p->quoted_author)
		json_object_set_new(o, "quoted_author", profile_json(p->quoted_author));
	set_count(o, "retweet_count", p->retweet_count);
	set_count(o, "favorite_count", p->favorite_count);
	set_count(o, "reply_count", p->reply_count);
	set_count(o, "quote_count", p->quote_count);
	return o;
}
