/*
 * post.h — the normalised post record every stage sees.
 *
 * One struct bw_post per observed post (or profile snapshot, or deletion),
 * whatever the platform or archive shape it came from. Strings are UTF-8,
 * NUL-terminated, and NULL when the source did not carry the field; counts
 * are -1 when absent; tri-state flags are BW_TRI_UNKNOWN when absent. Only
 * author.id is mandatory.
 *
 * Ownership: a decoded record and everything it points to is borrowed from
 * the decoder's arena and valid only until the decoder's next call (see
 * decode.h). Copy what you keep.
 *
 * Time: created_at_ms is the post's own event time (ms since the epoch, UTC),
 * never the wall clock. A profile-only record carries its probe time there.
 */
#ifndef BW_POST_H
#define BW_POST_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define BW_POST_SCHEMA_VERSION 1

enum bw_post_kind {
	BW_POST_ORIGINAL = 0, /* a plain post */
	BW_POST_RETWEET = 1,  /* repost / boost of ref_post_id */
	BW_POST_REPLY = 2,    /* in_reply_to_post_id is set (and not a retweet) */
	BW_POST_QUOTE = 3,    /* quotes ref_post_id (and is not a reply) */
	BW_POST_PROFILE = 4,  /* profile snapshot only, no post */
	BW_POST_DELETE = 5,   /* deletion notice of post `id` by author.id */
};

/* Flags on bw_post.flags */
#define BW_POSTF_EMBEDDED 0x1u      /* decoded from inside another post (retweeted/quoted status) */
#define BW_POSTF_TRUNCATED 0x2u     /* text is truncated (no full text was in the input) */
#define BW_POSTF_PROBE_DEFAULT 0x4u /* profile record whose probe time was inferred, not given */

/* Tri-state booleans for profile flags. */
enum { BW_TRI_UNKNOWN = -1, BW_TRI_FALSE = 0, BW_TRI_TRUE = 1 };

/* An account's profile as observed at one event time. */
struct bw_profile {
	const char *id;          /* account id as a string (never NULL in author) */
	const char *screen_name; /* handle without '@' (Mastodon: acct) */
	const char *name;        /* display name */
	const char *description; /* bio */
	const char *location;
	const char *url;
	const char *lang;
	int64_t created_at_ms;   /* account creation; BW_TIME_NONE if absent */
	int64_t followers_count; /* -1 if absent, likewise below */
	int64_t friends_count;
	int64_t statuses_count;
	int64_t favourites_count;
	int64_t listed_count;
	int8_t verified;         /* BW_TRI_* */
	int8_t protected_;
	int8_t default_profile;
	int8_t default_profile_image;
	int8_t profile_use_background_image;
	int8_t geo_enabled;
	int8_t bot;              /* platform's self-declared bot flag (Mastodon) */
};

/* A mentioned account: id and/or handle (either may be NULL, not both). */
struct bw_mention {
	const char *id;
	const char *screen_name;
};

struct bw_post {
	enum bw_post_kind kind;
	uint32_t flags;           /* BW_POSTF_* */
	const char *platform;     /* "twitter", "mastodon", "bluesky" */
	const char *id;           /* post id; NULL for BW_POST_PROFILE */
	int64_t created_at_ms;    /* event time; BW_TIME_NONE only if the source had none */
	const char *text;         /* full text (extended_tweet.full_text when present) */
	const char *source;       /* source app name, HTML stripped */
	const char *lang;

	struct bw_profile author;

	/* Entities. Counts are authoritative; the name arrays may be NULL when an
	 * archive carried only counts (e.g. num_hashtags), else hold n entries. */
	uint32_t n_hashtags;
	const char **hashtags;     /* without '#', original case */
	uint32_t n_mentions;
	struct bw_mention *mentions;
	uint32_t n_urls;
	const char **urls;         /* expanded URL when known, else the short one */
	uint32_t n_media;

	/* Replies */
	const char *in_reply_to_post_id;
	const char *in_reply_to_user_id;
	const char *in_reply_to_screen_name;

	/* Retweet or quote: the referenced post and its author (author may be
	 * NULL when the input held only a stub {id, id_str}). */
	const char *ref_post_id;
	const struct bw_profile *ref_author;
	/* A retweet of a quote, or a reply that quotes: the quoted post. */
	const char *quoted_post_id;
	const struct bw_profile *quoted_author;

	/* Engagement counts as seen at decode time; -1 if absent. */
	int64_t retweet_count;
	int64_t favorite_count;
	int64_t reply_count;
	int64_t quote_count;
};

/* Name of a kind: "original", "retweet", "reply", "quote", "profile", "delete". */
const char *bw_post_kind_name(enum bw_post_kind kind);

/* Parse a kind name; -1 when unknown. */
int bw_post_kind_parse(const char *name);

/* Longest account id (a DID; decimal ids are <= 20 digits): what the feature
 * update and the scoring stage's account table hold. */
#define BW_ACCOUNT_ID_MAX 63

/*
 * True when `id` is an account id botwatch keys accounts on (and the API can
 * look up): 1..20 decimal digits without a leading zero (Twitter's id_str,
 * Mastodon's account id, a 64-bit snowflake), or a DID — "did:", a method of
 * lower-case letters and digits, ':', then [A-Za-z0-9._:%-] — of at most
 * BW_ACCOUNT_ID_MAX bytes (Bluesky). Anything else ("abc", "../x", a 10,000-digit
 * number, one holding a newline) is not.
 */
bool bw_account_id_valid(const char *id);

/*
 * The record as a JSON object in the documented NDJSON shape (docs/POST.md).
 * Returns a new reference (caller json_decref()s) or NULL on allocation failure.
 */
json_t *bw_post_to_json(const struct bw_post *post);

/*
 * Append the record as one NDJSON line — exactly the bytes of
 * json_dumps(bw_post_to_json(post), JSON_COMPACT) followed by '\n' — to
 * (*buf)[*len..], growing *buf with realloc (capacity *cap; *buf may start
 * NULL with *len = *cap = 0). The caller frees *buf. Several times faster than
 * going through jansson: meant for hot paths (Kafka produce, `botwatch
 * decode`). Returns 0, or BW_ENOMEM (then *buf still holds what it held).
 */
int bw_post_append_json(const struct bw_post *post, char **buf, size_t *len, size_t *cap);

/* Initialise a record to "everything absent". */
void bw_post_init(struct bw_post *post);
void bw_profile_init(struct bw_profile *profile);

#endif
