/*
 * post.c — the normalised post record: names, initialisation and the NDJSON
 * shape documented in docs/POST.md (see post.h).
 */
#include "post.h"

#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"

static const char *const kind_names[] = { "original", "retweet", "reply",
					  "quote",    "profile", "delete" };

bool bw_account_id_valid(const char *id)
{
	size_t n = id ? strnlen(id, BW_ACCOUNT_ID_MAX + 1) : 0;
	const char *p;

	if (n == 0 || n > BW_ACCOUNT_ID_MAX)
		return false;
	if (strncmp(id, "did:", 4) == 0) {
		for (p = id + 4; (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'); p++)
			;
		if (p == id + 4 || *p++ != ':' || !*p)
			return false;
		for (; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == ':' ||
			      *p == '%' || *p == '-'))
				return false;
		return true;
	}
	if (n > 20 || (id[0] == '0' && n > 1))
		return false;
	for (p = id; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return n < 20 || strcmp(id, "18446744073709551615") <= 0; /* fits 64 bits */
}

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

/* --- direct NDJSON writer (same bytes as jansson's compact dump) ------------- */

/* A growable output buffer; `failed` latches the first allocation failure. */
struct out {
	char **buf;  /* caller's buffer */
	size_t *len; /* bytes used */
	size_t *cap; /* bytes allocated */
	bool failed; /* realloc failed: stop writing */
};

static bool out_reserve(struct out *o, size_t n)
{
	size_t need = *o->len + n;

	if (o->failed)
		return false;
	if (need > *o->cap) {
		size_t cap = *o->cap ? *o->cap : 1024;
		while (cap < need)
			cap *= 2;
		char *nb = realloc(*o->buf, cap);
		if (!nb)
			return o->failed = true, false;
		*o->buf = nb;
		*o->cap = cap;
	}
	return true;
}

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (out_reserve(o, n)) {
		memcpy(*o->buf + *o->len, s, n);
		*o->len += n;
	}
}

static void out_lit(struct out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
					       : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
		uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
		if (n == 9)
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		s += n + 1;
	}
	return true;
}

/* Bytes that a JSON string cannot carry as they are, or that need a UTF-8
 * check: controls, '"', '\\', and everything from 0x80. */
static bool special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/* A JSON string as jansson writes it; invalid UTF-8 gets set_str()'s '?'s. */
static void out_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;
	int clean = -1; /* UTF-8 validity, checked on the first byte >= 0x80 */

	out_raw(o, "\"", 1);
	for (;; s++) {
		unsigned char c;
		char esc[7], short_esc;
		size_t n = 0;

		while (*s && !special((unsigned char)*s)) /* the common case */
			s++;
		if (!*s)
			break;
		c = (unsigned char)*s;
		if (c >= 0x80) {
			if (clean < 0) /* everything before s is ASCII */
				clean = utf8_valid((const unsigned char *)s);
			if (clean)
				continue;
			esc[0] = '?', n = 1;
		} else {
			short_esc = c == '"' ? '"' : c == '\\' ? '\\' : c == '\b' ? 'b' : c == '\f' ? 'f'
				  : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
			if (short_esc)
				esc[0] = '\\', esc[1] = short_esc, n = 2;
			else
				memcpy(esc, "\\u00", 4), esc[4] = hex[c >> 4], esc[5] = hex[c & 15], n = 6;
		}
		out_raw(o, run, (size_t)(s - run));
		out_raw(o, esc, n);
		run = s + 1;
	}
	out_raw(o, run, (size_t)(s - run));
	out_raw(o, "\"", 1);
}

/* ,"key": (the first member of an object omits the comma); keys are plain ASCII */
static void out_key(struct out *o, bool *first, const char *key)
{
	size_t n = strlen(key);

	if (!out_reserve(o, n + 4))
		return;
	char *w = *o->buf + *o->len;
	if (!*first)
		*w++ = ',';
	*first = false;
	*w++ = '"';
	memcpy(w, key, n);
	w += n;
	*w++ = '"';
	*w++ = ':';
	*o->len = (size_t)(w - *o->buf);
}

static void out_int(struct out *o, int64_t v)
{
	char b[24], *e = b + sizeof(b), *w = e;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do
		*--w = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--w = '-';
	out_raw(o, w, (size_t)(e - w));
}

static void kv_str(struct out *o, bool *first, const char *key, const char *v)
{
	if (v) {
		out_key(o, first, key);
		out_str(o, v);
	}
}

static void kv_count(struct out *o, bool *first, const char *key, int64_t v)
{
	if (v >= 0) {
		out_key(o, first, key);
		out_int(o, v);
	}
}

static void kv_tri(struct out *o, bool *first, const char *key, int8_t v)
{
	if (v != BW_TRI_UNKNOWN) {
		out_key(o, first, key);
		out_lit(o, v == BW_TRI_TRUE ? "true" : "false");
	}
}

static void kv_time(struct out *o, bool *first, const char *key, const char *key_ms, int64_t ms)
{
	char b[40];
	if (ms == BW_TIME_NONE)
		return;
	kv_str(o, first, key, bw_time_format(ms, b, sizeof(b)));
	out_key(o, first, key_ms);
	out_int(o, ms);
}

static void out_profile(struct out *o, const struct bw_profile *p)
{
	bool f = true;

	out_raw(o, "{", 1);
	kv_str(o, &f, "id", p->id);
	kv_str(o, &f, "screen_name", p->screen_name);
	kv_str(o, &f, "name", p->name);
	kv_str(o, &f, "description", p->description);
	kv_str(o, &f, "location", p->location);
	kv_str(o, &f, "url", p->url);
	kv_str(o, &f, "lang", p->lang);
	kv_time(o, &f, "created_at", "created_at_ms", p->created_at_ms);
	kv_count(o, &f, "followers_count", p->followers_count);
	kv_count(o, &f, "friends_count", p->friends_count);
	kv_count(o, &f, "statuses_count", p->statuses_count);
	kv_count(o, &f, "favourites_count", p->favourites_count);
	kv_count(o, &f, "listed_count", p->listed_count);
	kv_tri(o, &f, "verified", p->verified);
	kv_tri(o, &f, "protected", p->protected_);
	kv_tri(o, &f, "default_profile", p->default_profile);
	kv_tri(o, &f, "default_profile_image", p->default_profile_image);
	kv_tri(o, &f, "profile_use_background_image", p->profile_use_background_image);
	kv_tri(o, &f, "geo_enabled", p->geo_enabled);
	kv_tri(o, &f, "bot", p->bot);
	out_raw(o, "}", 1);
}

static void out_str_array(struct out *o, bool *first, const char *key, const char **a, uint32_t n)
{
	out_key(o, first, key);
	out_raw(o, "[", 1);
	for (uint32_t i = 0; i < n; i++) {
		const char *s = a[i] ? a[i] : "";
		if (i)
			out_raw(o, ",", 1);
		out_str(o, utf8_valid((const unsigned char *)s) ? s : "?"); /* as str_array() */
	}
	out_raw(o, "]", 1);
}

static void out_entities(struct out *o, bool *f, const struct bw_post *p)
{
	out_key(o, f, "n_hashtags");
	out_int(o, p->n_hashtags);
	if (p->hashtags)
		out_str_array(o, f, "hashtags", p->hashtags, p->n_hashtags);
	out_key(o, f, "n_mentions");
	out_int(o, p->n_mentions);
	if (p->mentions) {
		out_key(o, f, "mentions");
		out_raw(o, "[", 1);
		for (uint32_t i = 0; i < p->n_mentions; i++) {
			bool mf = true;
			out_raw(o, i ? ",{" : "{", i ? 2 : 1);
			kv_str(o, &mf, "id", p->mentions[i].id);
			kv_str(o, &mf, "screen_name", p->mentions[i].screen_name);
			out_raw(o, "}", 1);
		}
		out_raw(o, "]", 1);
	}
	out_key(o, f, "n_urls");
	out_int(o, p->n_urls);
	if (p->urls)
		out_str_array(o, f, "urls", p->urls, p->n_urls);
	out_key(o, f, "n_media");
	out_int(o, p->n_media);
}

int bw_post_append_json(const struct bw_post *p, char **buf, size_t *len, size_t *cap)
{
	struct out o = { buf, len, cap, false };
	size_t start = *len;
	bool f = true, ff = true;

	out_raw(&o, "{", 1);
	out_key(&o, &f, "v");
	out_int(&o, BW_POST_SCHEMA_VERSION);
	kv_str(&o, &f, "platform", p->platform);
	kv_str(&o, &f, "kind", bw_post_kind_name(p->kind));
	kv_str(&o, &f, "id", p->id);
	kv_time(&o, &f, "created_at", "created_at_ms", p->created_at_ms);
	out_key(&o, &f, "flags");
	out_raw(&o, "[", 1);
	if (p->flags & BW_POSTF_EMBEDDED)
		out_lit(&o, ff ? (ff = false, "\"embedded\"") : ",\"embedded\"");
	if (p->flags & BW_POSTF_TRUNCATED)
		out_lit(&o, ff ? (ff = false, "\"truncated\"") : ",\"truncated\"");
	if (p->flags & BW_POSTF_PROBE_DEFAULT)
		out_lit(&o, ff ? (ff = false, "\"probe_default\"") : ",\"probe_default\"");
	out_raw(&o, "]", 1);
	kv_str(&o, &f, "text", p->text);
	kv_str(&o, &f, "source", p->source);
	kv_str(&o, &f, "lang", p->lang);
	out_key(&o, &f, "author");
	out_profile(&o, &p->author);
	if (p->kind != BW_POST_PROFILE && p->kind != BW_POST_DELETE)
		out_entities(&o, &f, p);
	kv_str(&o, &f, "in_reply_to_post_id", p->in_reply_to_post_id);
	kv_str(&o, &f, "in_reply_to_user_id", p->in_reply_to_user_id);
	kv_str(&o, &f, "in_reply_to_screen_name", p->in_reply_to_screen_name);
	kv_str(&o, &f, "ref_post_id", p->ref_post_id);
	if (p->ref_author) {
		out_key(&o, &f, "ref_author");
		out_profile(&o, p->ref_author);
	}
	kv_str(&o, &f, "quoted_post_id", p->quoted_post_id);
	if (p->quoted_author) {
		out_key(&o, &f, "quoted_author");
		out_profile(&o, p->quoted_author);
	}
	kv_count(&o, &f, "retweet_count", p->retweet_count);
	kv_count(&o, &f, "favorite_count", p->favorite_count);
	kv_count(&o, &f, "reply_count", p->reply_count);
	kv_count(&o, &f, "quote_count", p->quote_count);
	out_raw(&o, "}\n", 2);
	if (o.failed) {
		*len = start;
		return BW_ENOMEM;
	}
	return 0;
}
