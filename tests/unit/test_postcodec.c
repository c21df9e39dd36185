/*
 * test_postcodec.c — the binary post encoding: lossless round trip, NULLs and
 * absent values kept distinct, untrusted values rejected cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_time.h"
#include "postcodec.h"

static void profile_absent(struct bw_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->created_at_ms = BW_TIME_NONE;
	p->followers_count = p->friends_count = p->statuses_count = -1;
	p->favourites_count = p->listed_count = -1;
	p->verified = p->protected_ = p->default_profile = BW_TRI_UNKNOWN;
	p->default_profile_image = p->profile_use_background_image = BW_TRI_UNKNOWN;
	p->geo_enabled = p->bot = BW_TRI_UNKNOWN;
}

static const char *tags[] = { "bots", "Ünïcode" };
static const char *urls[] = { "https://example.org/a" };
static struct bw_mention mentions[] = { { "12", "alice" }, { NULL, "bob" } };

/* A post with every field set to a distinctive value. */
static void full_post(struct bw_post *p, struct bw_profile *ref)
{
	memset(p, 0, sizeof(*p));
	p->kind = BW_POST_QUOTE;
	p->flags = BW_POSTF_EMBEDDED | BW_POSTF_TRUNCATED;
	p->platform = "twitter";
	p->id = "1850000000000000001";
	p->created_at_ms = 1700000000123;
	p->text = "hello \"world\"\n#bots @alice";
	p->source = "Twitter Web App";
	p->lang = "en";
	profile_absent(&p->author);
	p->author.id = "9007199254740993";
	p->author.screen_name = "botty";
	p->author.name = "";
	p->author.created_at_ms = -86400000; /* before the epoch */
	p->author.followers_count = 0;
	p->author.friends_count = INT64_MAX;
	p->author.statuses_count = 42;
	p->author.verified = BW_TRI_FALSE;
	p->author.bot = BW_TRI_TRUE;
	p->n_hashtags = 2;
	p->hashtags = tags;
	p->n_mentions = 2;
	p->mentions = mentions;
	p->n_urls = 5; /* count known, names partial: only the count matters when names NULL */
	p->urls = NULL;
	p->n_media = 3;
	p->in_reply_to_post_id = "77";
	p->in_reply_to_user_id = "78";
	p->ref_post_id = "1";
	profile_absent(ref);
	ref->id = "5";
	ref->screen_name = "orig";
	ref->lang = "de";
	p->ref_author = ref;
	p->quoted_post_id = "2";
	p->quoted_author = NULL;
	p->retweet_count = -1;
	p->favorite_count = 7;
	p->reply_count = INT64_MIN + 1;
	p->quote_count = 0;
	(void)urls;
}

static void assert_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_profile_eq(const struct bw_profile *a, const struct bw_profile *b)
{
	assert_str_eq(a->id, b->id);
	assert_str_eq(a->screen_name, b->screen_name);
	assert_str_eq(a->name, b->name);
	assert_str_eq(a->description, b->description);
	assert_str_eq(a->location, b->location);
	assert_str_eq(a->url, b->url);
	assert_str_eq(a->lang, b->lang);
	assert_true(a->created_at_ms == b->created_at_ms);
	assert_true(a->followers_count == b->followers_count);
	assert_true(a->friends_count == b->friends_count);
	assert_true(a->statuses_count == b->statuses_count);
	assert_true(a->favourites_count == b->favourites_count);
	assert_true(a->listed_count == b->listed_count);
	assert_int_equal(a->verified, b->verified);
	assert_int_equal(a->protected_, b->protected_);
	assert_int_equal(a->default_profile, b->default_profile);
	assert_int_equal(a->default_profile_image, b->default_profile_image);
	assert_int_equal(a->profile_use_background_image, b->profile_use_background_image);
	assert_int_equal(a->geo_enabled, b->geo_enabled);
	assert_int_equal(a->bot, b->bot);
}

static void assert_post_eq(const struct bw_post *a, const struct bw_post *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->flags, b->flags);
	assert_str_eq(a->platform, b->platform);
	assert_str_eq(a->id, b->id);
	assert_true(a->created_at_ms == b->created_at_ms);
	assert_str_eq(a->text, b->text);
	assert_str_eq(a->source, b->source);
	assert_str_eq(a->lang, b->lang);
	assert_profile_eq(&a->author, &b->author);
	assert_int_equal(a->n_hashtags, b->n_hashtags);
	assert_int_equal(a->hashtags == NULL, b->hashtags == NULL);
	for (uint32_t i = 0; a->hashtags && i < a->n_hashtags; i++)
		assert_str_eq(a->hashtags[i], b->hashtags[i]);
	assert_int_equal(a->n_mentions, b->n_mentions);
	assert_int_equal(a->mentions == NULL, b->mentions == NULL);
	for (uint32_t i = 0; a->mentions && i < a->n_mentions; i++) {
		assert_str_eq(a->mentions[i].id, b->mentions[i].id);
		assert_str_eq(a->mentions[i].screen_name, b->mentions[i].screen_name);
	}
	assert_int_equal(a->n_urls, b->n_urls);
	assert_int_equal(a->urls == NULL, b->urls == NULL);
	for (uint32_t i = 0; a->urls && i < a->n_urls; i++)
		assert_str_eq(a->urls[i], b->urls[i]);
	assert_int_equal(a->n_media, b->n_media);
	assert_str_eq(a->in_reply_to_post_id, b->in_reply_to_post_id);
	assert_str_eq(a->in_reply_to_user_id, b->in_reply_to_user_id);
	assert_str_eq(a->in_reply_to_screen_name, b->in_reply_to_screen_name);
	assert_str_eq(a->ref_post_id, b->ref_post_id);
	assert_int_equal(a->ref_author == NULL, b->ref_author == NULL);
	if (a->ref_author)
		assert_profile_eq(a->ref_author, b->ref_author);
	assert_str_eq(a->quoted_post_id, b->quoted_post_id);
	assert_int_equal(a->quoted_author == NULL, b->quoted_author == NULL);
	if (a->quoted_author)
		assert_profile_eq(a->quoted_author, b->quoted_author);
	assert_true(a->retweet_count == b->retweet_count);
	assert_true(a->favorite_count == b->favorite_count);
	assert_true(a->reply_count == b->reply_count);
	assert_true(a->quote_count == b->quote_count);
}

static void test_round_trip_full(void **state)
{
	(void)state;
	struct bw_post in, out;
	struct bw_profile ref;
	struct bw_arena *arena = bw_arena_new(1 << 20);
	unsigned char *buf;
	size_t len;
	char err[256];

	full_post(&in, &ref);
	assert_int_equal(ingest_post_encode_alloc(&in, &buf, &len), 0);
	assert_int_equal(len, ingest_post_encoded_size(&in));
	assert_int_equal(buf[0], INGEST_POSTCODEC_MAGIC);
	assert_int_equal(buf[1], INGEST_POSTCODEC_VERSION);
	assert_int_equal(ingest_post_decode(buf, len, &out, arena, err, sizeof(err)), 0);
	assert_post_eq(&in, &out);

	/* the second variant: urls named, mentions absent, quoted author present */
	in.urls = urls;
	in.n_urls = 1;
	in.mentions = NULL;
	in.n_mentions = 4;
	in.quoted_author = &ref;
	in.ref_author = NULL;
	free(buf);
	bw_arena_reset(arena);
	assert_int_equal(ingest_post_encode_alloc(&in, &buf, &len), 0);
	assert_int_equal(ingest_post_decode(buf, len, &out, arena, err, sizeof(err)), 0);
	assert_post_eq(&in, &out);
	free(buf);
	bw_arena_free(arena);
}

static void test_minimal_is_small(void **state)
{
	(void)state;
	struct bw_post in, out;
	struct bw_arena *arena = bw_arena_new(1 << 16);
	unsigned char buf[256];
	size_t len;
	char err[256];

	memset(&in, 0, sizeof(in));
	profile_absent(&in.author);
	in.kind = BW_POST_PROFILE;
	in.created_at_ms = BW_TIME_NONE;
	in.author.id = "1";
	in.retweet_count = in.favorite_count = in.reply_count = in.quote_count = -1;
	assert_int_equal(ingest_post_encode(&in, buf, sizeof(buf), &len), 0);
	assert_true(len < 100);
	assert_int_equal(ingest_post_encode(&in, buf, len - 1, &len), BW_ETOOLARGE);
	assert_int_equal(ingest_post_encode(&in, buf, sizeof(buf), &len), 0);
	assert_int_equal(ingest_post_decode(buf, len, &out, arena, err, sizeof(err)), 0);
	assert_post_eq(&in, &out);
	assert_null(out.id);
	assert_null(out.text);
	bw_arena_free(arena);
}

static void test_rejects_bad_values(void **state)
{
	(void)state;
	struct bw_post in, out;
	struct bw_profile ref;
	struct bw_arena *arena = bw_arena_new(1 << 20);
	unsigned char *buf;
	size_t len;
	char err[256];

	full_post(&in, &ref);
	assert_int_equal(ingest_post_encode_alloc(&in, &buf, &len), 0);

	/* every truncation fails cleanly */
	for (size_t n = 0; n < len; n++) {
		bw_arena_reset(arena);
		int rc = ingest_post_decode(buf, n, &out, arena, err, sizeof(err));
		assert_true(rc == BW_EPARSE || rc == BW_ESCHEMA);
		assert_true(err[0] != '\0');
	}
	/* trailing garbage */
	unsigned char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	assert_int_equal(ingest_post_decode(longer, len + 1, &out, arena, err, sizeof(err)),
			 BW_EPARSE);
	assert_non_null(strstr(err, "trailing"));
	free(longer);

	/* unknown version and foreign values */
	buf[1] = 2;
	assert_int_equal(ingest_post_decode(buf, len, &out, arena, err, sizeof(err)), BW_ESCHEMA);
	assert_non_null(strstr(err, "version 2"));
	assert_int_equal(ingest_post_decode("{\"id\":1}", 8, &out, arena, err, sizeof(err)),
			 BW_ESCHEMA);

	/* a huge list count cannot make the reader allocate without bound */
	static const unsigned char hostile[] = { 0xB7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, '1',
						 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						 0xff, 0xff, 0xff, 0xff, 0x0f, 1 };
	assert_int_equal(ingest_post_decode(hostile, sizeof(hostile), &out, arena, err,
					    sizeof(err)), BW_EPARSE);

	/* arena cap reached */
	struct bw_arena *tiny = bw_arena_new(64);
	buf[1] = 1;
	assert_int_equal(ingest_post_decode(buf, len, &out, tiny, err, sizeof(err)), BW_ENOMEM);
	bw_arena_free(tiny);
	free(buf);
	bw_arena_free(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_minimal_is_small),
		cmocka_unit_test(test_rejects_bad_values),
	};
	return cmocka_run_group_tests_name("postcodec", tests, NULL, NULL);
}
