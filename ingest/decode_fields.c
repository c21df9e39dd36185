/*
 * decode_fields.c — typed field readers shared by every shape: ids, counts,
 * flags, times, profiles of each platform, HTML stripping and UTF-8 repair.
 *
 * Readers return "absent" (NULL, -1, BW_TRI_UNKNOWN, BW_TIME_NONE) for a
 * missing or null field and record a fault (reason + detail) when a field is
 * present with the wrong type or an unusable value; the post is then
 * dead-lettered by dec_emit() instead of emitted.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_codec.h"
#include "bw_time.h"

void dec_fault(struct bw_decoder *d, enum bw_dlq_reason r, const char *fmt, ...)
{
	va_list ap;

	if (d->fault >= 0)
		return; /* the first fault is the one reported */
	d->fault = (int)r;
	va_start(ap, fmt);
	vsnprintf(d->fault_detail, sizeof(d->fault_detail), fmt, ap);
	va_end(ap);
}

void *dx_alloc(struct bw_decoder *d, size_t n)
{
	void *p = bw_arena_alloc(d->arena, n ? n : 1);
	if (p)
		return p;
	if (bw_arena_oom(d->arena))
		d->oom = true; /* not the input's fault: no DLQ record */
	else
		dec_fault(d, BW_DLQ_TOO_LARGE, "decoded record exceeds the decoder's memory cap");
	return NULL;
}

struct bw_post *dx_post_new(struct bw_decoder *d)
{
	struct bw_post *p = dx_alloc(d, sizeof(*p));
	if (p)
		bw_post_init(p);
	return p;
}

struct bw_profile *dx_profile_new(struct bw_decoder *d)
{
	struct bw_profile *p = dx_alloc(d, sizeof(*p));
	if (p)
		bw_profile_init(p);
	return p;
}

const char *dx_str(struct bw_decoder *d, jd_val obj, const char *key)
{
	return dx_str_v(d, jd_get(obj, key), key);
}

/*
 * A JSON string that held \u0000 as a C string: each NUL becomes U+FFFD (the
 * replacement character) so the text after it is kept — as a C string it would
 * silently end there. NULL (with a fault) when the arena is full.
 */
static const char *nul_replaced(struct bw_decoder *d, const char *s, size_t len)
{
	static const char rep[] = "\xEF\xBF\xBD";
	size_t nuls = 0, o = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	if (!(out = dx_alloc(d, len + 2 * nuls + 1)))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i]) {
			out[o++] = s[i];
		} else {
			memcpy(out + o, rep, 3);
			o += 3;
		}
	}
	out[o] = '\0';
	return out;
}

const char *dx_str_v(struct bw_decoder *d, jd_val v, const char *key)
{
	const char *s;
	size_t len;

	switch (jd_type(v)) {
	case JD_NONE:
	case JD_NULL:
		return NULL;
	case JD_STRING:
		jd_str(v, &s, &len);
		return memchr(s, '\0', len) ? nul_replaced(d, s, len) : s;
	default:
		dec_fault(d, BW_DLQ_BAD_FIELD, "field '%s' is not a string", key);
		return NULL;
	}
}

const char *dx_id_val(struct bw_decoder *d, jd_val v, const char *what)
{
	const char *s;
	size_t len;
	uint64_t u;
	char buf[24];

	switch (jd_type(v)) {
	case JD_NONE:
	case JD_NULL:
		return NULL;
	case JD_STRING:
		jd_str(v, &s, &len);
		if (len && memchr(s, '\0', len))
			return nul_replaced(d, s, len); /* then not a valid id: dead-lettered */
		return len ? s : NULL;
	case JD_INT:
	case JD_UINT:
		if (!jd_uint(v, &u)) {
			dec_fault(d, BW_DLQ_NUMBER_RANGE, "'%s' is a negative id", what);
			return NULL;
		}
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
		return bw_arena_strndup(d->arena, buf, strlen(buf));
	case JD_DOUBLE:
		dec_fault(d, BW_DLQ_NUMBER_RANGE, "'%s' is not an integer id (beyond 64 bits?)", what);
		return NULL;
	default:
		dec_fault(d, BW_DLQ_BAD_FIELD, "'%s' is not an id", what);
		return NULL;
	}
}

const char *dx_id(struct bw_decoder *d, jd_val obj, const char *skey, const char *nkey)
{
	const char *id = skey ? dx_id_val(d, jd_get(obj, skey), skey) : NULL;
	if (!id && nkey)
		id = dx_id_val(d, jd_get(obj, nkey), nkey);
	return id;
}

int64_t dx_count(struct bw_decoder *d, jd_val obj, const char *key)
{
	return dx_count_v(d, jd_get(obj, key), key);
}

int64_t dx_count_v(struct bw_decoder *d, jd_val v, const char *key)
{
	int64_t x;
	double f;
	const char *s;
	char *end;
	size_t slen;
	long long ll;

	switch (jd_type(v)) {
	case JD_NONE:
	case JD_NULL:
		return -1;
	case JD_INT:
		jd_int(v, &x);
		if (x < 0)
			break;
		return x;
	case JD_DOUBLE:
		jd_double(v, &f);
		if (f >= 0 && f < 9.2e18 && f == (double)(int64_t)f)
			return (int64_t)f;
		break;
	case JD_STRING: /* some archives quote counts */
		jd_str(v, &s, &slen);
		errno = 0;
		ll = strtoll(s, &end, 10);
		if (end == s || end != s + slen) { /* trailing text or a \u0000 */
			dec_fault(d, BW_DLQ_BAD_FIELD, "count '%s' is not a number", key);
			return -1;
		}
		if (errno || ll < 0)
			break;
		return ll;
	default:
		dec_fault(d, BW_DLQ_BAD_FIELD, "count '%s' is not a number", key);
		return -1;
	}
	dec_fault(d, BW_DLQ_NUMBER_RANGE, "count '%s' out of range", key);
	return -1;
}

int8_t dx_tri(struct bw_decoder *d, jd_val obj, const char *key)
{
	return dx_tri_v(d, jd_get(obj, key), key);
}

int8_t dx_tri_v(struct bw_decoder *d, jd_val v, const char *key)
{
	bool b;

	switch (jd_type(v)) {
	case JD_NONE:
	case JD_NULL:
		return BW_TRI_UNKNOWN;
	case JD_BOOL:
		jd_bool(v, &b);
		return b ? BW_TRI_TRUE : BW_TRI_FALSE;
	default:
		dec_fault(d, BW_DLQ_BAD_FIELD, "flag '%s' is not a boolean", key);
		return BW_TRI_UNKNOWN;
	}
}

int64_t dx_time(struct bw_decoder *d, jd_val obj, const char *key)
{
	return dx_time_v(d, jd_get(obj, key), key);
}

int64_t dx_time_v(struct bw_decoder *d, jd_val v, const char *key)
{
	const char *s = dx_str_v(d, v, key);
	int64_t ms;

	if (!s || !*s)
		return BW_TIME_NONE;
	if (bw_time_parse_any(s, strlen(s), &ms)) {
		dec_fault(d, BW_DLQ_BAD_FIELD, "time '%s' unparseable", key);
		return BW_TIME_NONE;
	}
	return ms;
}

int64_t dx_epoch_ms(struct bw_decoder *d, jd_val obj, const char *key)
{
	return dx_epoch_ms_v(d, jd_get(obj, key), key);
}

int64_t dx_epoch_ms_v(struct bw_decoder *d, jd_val v, const char *key)
{
	const char *s;
	char *end;
	size_t slen;
	long long ll;
	int64_t x;

	switch (jd_type(v)) {
	case JD_INT:
		jd_int(v, &x);
		return x;
	case JD_STRING:
		jd_str(v, &s, &slen);
		errno = 0;
		ll = strtoll(s, &end, 10);
		if (end != s && end == s + slen && !errno)
			return ll;
		dec_fault(d, BW_DLQ_BAD_FIELD, "'%s' is not epoch milliseconds", key);
		return BW_TIME_NONE;
	case JD_NONE:
	case JD_NULL:
		return BW_TIME_NONE;
	default:
		dec_fault(d, BW_DLQ_BAD_FIELD, "'%s' is not epoch milliseconds", key);
		return BW_TIME_NONE;
	}
}

/* --- UTF-8 ------------------------------------------------------------------ */


size_t dec_utf8_excerpt(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t n = bw_utf8_seq(u + i, len - i);
		if (n == 0) {
			if (o + 4 > cap)
				break;
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		if (u[i] == 0) { /* NUL would cut the C string */
			if (o + 2 > cap)
				break;
			out[o++] = ' ';
			i++;
			continue;
		}
		if (o + n + 1 > cap)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return o;
}

char *dx_utf8_clean(struct bw_arena *a, const char *s, size_t len)
{
	size_t cap = len * 3 + 1;
	char *out = bw_arena_alloc(a, cap);
	if (out)
		dec_utf8_excerpt(out, cap, s, len);
	return out;
}

/* --- HTML ----------------------------------------------------------------------- */

/* Append code point cp as UTF-8 (U+FFFD when invalid). */
static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode the entity at s (s[0] == '&'); returns bytes consumed (0 = not an entity). */
static size_t html_entity(const char *s, char *o, size_t *olen)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' }, { "nbsp;", ' ' },
	};
	if (s[1] == '#') {
		int hex = s[2] == 'x' || s[2] == 'X';
		const char *p = s + 2 + hex;
		char *end;
		unsigned long cp;
		errno = 0;
		cp = strtoul(p, &end, hex ? 16 : 10);
		if (end == p || *end != ';' || errno || end - p > 8)
			return 0;
		*olen = put_utf8(o, cp > 0x10FFFF ? 0xFFFD : (uint32_t)cp);
		return (size_t)(end + 1 - s);
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].name);
		if (strncmp(s + 1, named[i].name, n) == 0) {
			o[0] = named[i].c;
			*olen = 1;
			return n + 1;
		}
	}
	return 0;
}

/* Does the tag at s (after '<') start with name (case-insensitive) as a whole word? */
static bool tag_is(const char *s, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < n; i++)
		if ((s[i] | 0x20) != name[i])
			return false;
	return s[n] == '>' || s[n] == ' ' || s[n] == '/' || s[n] == '\t' || s[n] == '\n';
}

const char *dx_strip_html(struct bw_decoder *d, const char *html)
{
	size_t len, o = 0;
	char *out;

	if (!html)
		return NULL;
	if (!strpbrk(html, "<&"))
		return html;
	len = strlen(html);
	out = dx_alloc(d, len + 4);
	if (!out)
		return NULL;
	for (const char *s = html; *s;) {
		if (*s == '<') {
			const char *gt = strchr(s, '>');
			if (!gt)
				break; /* an unclosed tag: drop the rest */
			if ((tag_is(s + 1, "br") || tag_is(s + 1, "/p")) && o > 0 && gt[1])
				out[o++] = '\n';
			s = gt + 1;
		} else if (*s == '&') {
			size_t n, olen = 0;
			if ((n = html_entity(s, out + o, &olen))) {
				o += olen;
				s += n;
			} else {
				out[o++] = *s++;
			}
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
	return out;
}

const char *dx_unescape_twitter(struct bw_decoder *d, const char *s)
{
	static const struct { const char *ent; size_t n; char c; } ents[] = {
		{ "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
	};
	size_t o = 0;
	char *out;

	if (!s || !strchr(s, '&'))
		return s;
	if (!(out = dx_alloc(d, strlen(s) + 1)))
		return NULL;
	while (*s) {
		size_t i;
		for (i = 0; i < 3; i++)
			if (strncmp(s, ents[i].ent, ents[i].n) == 0)
				break;
		if (i < 3) {
			out[o++] = ents[i].c;
			s += ents[i].n;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
	return out;
}

/* --- profiles ------------------------------------------------------------------ */

/* Keys of a v1.1 user object, read in one pass (jd_pick). */
enum {
	U_ID_STR, U_ID, U_SCREEN_NAME, U_NAME, U_DESCRIPTION, U_LOCATION, U_URL, U_LANG,
	U_CREATED_AT, U_FOLLOWERS, U_FRIENDS, U_STATUSES, U_FAVOURITES, U_LISTED, U_VERIFIED,
	U_PROTECTED, U_DEFAULT_PROFILE, U_DEFAULT_IMAGE, U_USE_BACKGROUND, U_GEO_ENABLED, U__N
};

static const struct jd_key user_keys[U__N] = {
	JD_KEY("id_str"), JD_KEY("id"), JD_KEY("screen_name"), JD_KEY("name"),
	JD_KEY("description"), JD_KEY("location"), JD_KEY("url"), JD_KEY("lang"),
	JD_KEY("created_at"), JD_KEY("followers_count"), JD_KEY("friends_count"),
	JD_KEY("statuses_count"), JD_KEY("favourites_count"), JD_KEY("listed_count"),
	JD_KEY("verified"), JD_KEY("protected"), JD_KEY("default_profile"),
	JD_KEY("default_profile_image"), JD_KEY("profile_use_background_image"),
	JD_KEY("geo_enabled"),
};

void dx_profile_v1(struct bw_decoder *d, jd_val u, struct bw_profile *p)
{
	jd_val f[U__N];

	jd_pick(u, user_keys, U__N, f);
	p->id = dx_id_val(d, f[U_ID_STR], "id_str");
	if (!p->id)
		p->id = dx_id_val(d, f[U_ID], "id");
	p->screen_name = dx_str_v(d, f[U_SCREEN_NAME], "screen_name");
	p->name = dx_str_v(d, f[U_NAME], "name");
	p->description = dx_str_v(d, f[U_DESCRIPTION], "description");
	p->location = dx_str_v(d, f[U_LOCATION], "location");
	p->url = dx_str_v(d, f[U_URL], "url");
	p->lang = dx_str_v(d, f[U_LANG], "lang");
	p->created_at_ms = dx_time_v(d, f[U_CREATED_AT], "created_at");
	p->followers_count = dx_count_v(d, f[U_FOLLOWERS], "followers_count");
	p->friends_count = dx_count_v(d, f[U_FRIENDS], "friends_count");
	p->statuses_count = dx_count_v(d, f[U_STATUSES], "statuses_count");
	p->favourites_count = dx_count_v(d, f[U_FAVOURITES], "favourites_count");
	p->listed_count = dx_count_v(d, f[U_LISTED], "listed_count");
	p->verified = dx_tri_v(d, f[U_VERIFIED], "verified");
	p->protected_ = dx_tri_v(d, f[U_PROTECTED], "protected");
	p->default_profile = dx_tri_v(d, f[U_DEFAULT_PROFILE], "default_profile");
	p->default_profile_image = dx_tri_v(d, f[U_DEFAULT_IMAGE], "default_profile_image");
	p->profile_use_background_image =
		dx_tri_v(d, f[U_USE_BACKGROUND], "profile_use_background_image");
	p->geo_enabled = dx_tri_v(d, f[U_GEO_ENABLED], "geo_enabled");
}

void dx_profile_v2(struct bw_decoder *d, jd_val u, struct bw_profile *p)
{
	jd_val pm = jd_get(u, "public_metrics");

	p->id = dx_id(d, u, "id", NULL);
	p->screen_name = dx_str(d, u, "username");
	p->name = dx_str(d, u, "name");
	p->description = dx_str(d, u, "description");
	if (jd_type(jd_get(u, "location")) == JD_STRING)
		p->location = dx_str(d, u, "location");
	p->url = dx_str(d, u, "url");
	p->created_at_ms = dx_time(d, u, "created_at");
	if (jd_type(pm) == JD_OBJECT) {
		p->followers_count = dx_count(d, pm, "followers_count");
		p->friends_count = dx_count(d, pm, "following_count");
		p->statuses_count = dx_count(d, pm, "tweet_count");
		p->listed_count = dx_count(d, pm, "listed_count");
		p->favourites_count = dx_count(d, pm, "like_count");
	}
	p->verified = dx_tri(d, u, "verified");
	p->protected_ = dx_tri(d, u, "protected");
}

void dx_profile_mastodon(struct bw_decoder *d, jd_val a, struct bw_profile *p)
{
	p->id = dx_id(d, a, "id", NULL);
	p->screen_name = dx_str(d, a, "acct");
	p->name = dx_str(d, a, "display_name");
	p->description = dx_strip_html(d, dx_str(d, a, "note"));
	p->url = dx_str(d, a, "url");
	p->created_at_ms = dx_time(d, a, "created_at");
	p->followers_count = dx_count(d, a, "followers_count");
	p->friends_count = dx_count(d, a, "following_count");
	p->statuses_count = dx_count(d, a, "statuses_count");
	p->protected_ = dx_tri(d, a, "locked");
	p->bot = dx_tri(d, a, "bot");
}

void dx_kind_reply_or_quote(struct bw_post *p)
{
	if (p->in_reply_to_post_id) {
		p->kind = BW_POST_REPLY;
	} else if (p->quoted_post_id) {
		p->kind = BW_POST_QUOTE;
		p->ref_post_id = p->quoted_post_id;
		p->ref_author = p->quoted_author;
	}
}
