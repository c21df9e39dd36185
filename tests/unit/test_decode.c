/*
 * test_decode.c — the post decoder on real payloads (../shared/data, or
 * $BOTWATCH_DATA) and on hand-written bad input: exact field values, counts,
 * DLQ reasons at exact line numbers, probe-time rules, the SSE assembler.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bw_err.h"
#include "bw_time.h"
#include "decode.h"

/* Everything the callbacks saw, as JSON (which also exercises bw_post_to_json). */
struct coll {
	json_t *posts; /* array of post objects */
	json_t *dlq;   /* array of DLQ objects */
};

static int coll_post(const struct bw_post *p, void *opaque)
{
	struct coll *c = opaque;
	json_t *j = bw_post_to_json(p);
	assert_non_null(j);
	assert_non_null(p->author.id);
	json_array_append_new(c->posts, j);
	return 0;
}

static void coll_dlq(const struct bw_dlq_rec *r, void *opaque)
{
	struct coll *c = opaque;
	json_array_append_new(c->dlq, bw_dlq_to_json(r));
}

static struct bw_decoder *new_dec_fmt(struct coll *c, size_t max_unit, int max_depth,
				      int64_t probe, enum ingest_format format)
{
	char err[256];
	struct bw_decode_opts o = { .max_unit_bytes = max_unit, .max_depth = max_depth,
				    .probe_time_ms = probe, .on_post = coll_post,
				    .on_dlq = coll_dlq, .opaque = c, .format = format };
	struct bw_decoder *d;

	c->posts = json_array();
	c->dlq = json_array();
	d = ingest_decoder_new(&o, err, sizeof(err));
	assert_non_null(d);
	return d;
}

static struct bw_decoder *new_dec(struct coll *c, size_t max_unit, int max_depth, int64_t probe)
{
	return new_dec_fmt(c, max_unit, max_depth, probe, INGEST_FORMAT_AUTO);
}

static void coll_free(struct coll *c)
{
	json_decref(c->posts);
	json_decref(c->dlq);
}

static const char *data_path(const char *rel, char *buf, size_t n)
{
	const char *root = getenv("BOTWATCH_DATA");
	snprintf(buf, n, "%s/%s", root && *root ? root : "../shared/data", rel);
	return buf;
}

/* Decode one data file in `format` with default caps into c; returns the
 * decoder (caller frees). */
static struct bw_decoder *decode_data_fmt(struct coll *c, const char *rel, int64_t probe,
					  enum ingest_format format)
{
	char path[512], err[256];
	struct bw_decoder *d = new_dec_fmt(c, 0, 0, probe, format);
	int rc = ingest_decode_file(d, data_path(rel, path, sizeof(path)), err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s: %s\n", path, err);
	assert_int_equal(rc, 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	return d;
}

/* Decode one data file with default caps into c; returns the decoder (caller frees). */
static struct bw_decoder *decode_data(struct coll *c, const char *rel, int64_t probe)
{
	return decode_data_fmt(c, rel, probe, INGEST_FORMAT_AUTO);
}

static json_t *find_post(json_t *posts, const char *id, bool embedded)
{
	size_t i;
	json_t *p;

	json_array_foreach(posts, i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));
		bool emb = json_array_size(json_object_get(p, "flags")) &&
			   strcmp(json_string_value(json_array_get(json_object_get(p, "flags"), 0)),
				  "embedded") == 0;
		if (pid && strcmp(pid, id) == 0 && emb == embedded)
			return p;
	}
	fail_msg("post %s (embedded=%d) not found", id, embedded);
	return NULL;
}

static const char *jstr(json_t *o, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');
	if (dot) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		return jstr(json_object_get(o, key), dot + 1);
	}
	return json_string_value(json_object_get(o, path));
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* ---------------------------------------------------------------------------- */

static void test_extended_tweet_full_text(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "fixtures/twitter_v1_stream/python-twitter_streaming_extended_tweet.json", BW_TIME_NONE);
	json_t *p = find_post(c.posts, "971726741583605760", false);

	/* the full text, not the truncated "text"; &amp; decoded */
	assert_string_equal(jstr(p, "text"),
			    "HIV_AIDS_BiojQuery Mobile Web Development Essentials, Second Edition: "
			    "https://t.co/r78h6xfAby Quantum AI Big/Small/0 Data Cloud/Fog Computing "
			    "OutLook from ClouData & Multiverse -  https://t.co/cnCBNJvu6T");
	assert_int_equal(json_array_size(json_object_get(p, "flags")), 0); /* not truncated */
	assert_string_equal(jstr(p, "author.id"), "2319610428");
	assert_string_equal(jstr(p, "author.screen_name"), "ClouDatAI");
	assert_string_equal(jstr(p, "source"), "Doesnothaveanameyet");
	assert_int_equal(jint(p, "created_at_ms"), 1520512683660LL); /* timestamp_ms */
	assert_int_equal(jint(p, "n_urls"), 2);
	assert_int_equal(ingest_decoder_stats(d)->posts, 1);
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_retweet_refs_and_embedded(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "fixtures/twitter_v1_stream/tweet_parser_public_api_sample.ndjson", BW_TIME_NONE);
	json_t *rt = find_post(c.posts, "867478524235366400", false);
	json_t *orig = find_post(c.posts, "861651727614746624", true);

	assert_string_equal(jstr(rt, "kind"), "retweet");
	assert_string_equal(jstr(rt, "author.id"), "815279070241955840");
	assert_string_equal(jstr(rt, "ref_post_id"), "861651727614746624");
	assert_string_equal(jstr(rt, "ref_author.id"), "2382763597");
	assert_string_equal(jstr(rt, "ref_author.screen_name"), "notFromShrek");
	/* the retweeted status is an observation of its author too */
	assert_string_equal(jstr(orig, "author.id"), "2382763597");
	assert_string_equal(jstr(orig, "author.screen_name"), "notFromShrek");
	assert_int_equal(ingest_decoder_stats(d)->units, 20);
	assert_int_equal(ingest_decoder_stats(d)->posts, 31);
	assert_int_equal(ingest_decoder_stats(d)->embedded, 11);
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_v2_author_join_and_twarc_page(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "fixtures/twitter_v2/twarc-csv_search_recent_brexit_page.jsonl", BW_TIME_NONE);
	json_t *p = find_post(c.posts, "1440716895355764743", false), *rt, *x;
	size_t i, n_data = 0;

	assert_string_equal(jstr(p, "author.id"), "4203239195");
	assert_string_equal(jstr(p, "author.screen_name"), "WarmongerHodges");
	assert_int_equal(jint(json_object_get(p, "author"), "followers_count"), 34920);
	assert_int_equal(jint(json_object_get(p, "author"), "friends_count"), 3552);
	assert_int_equal(jint(json_object_get(p, "author"), "created_at_ms"), 1447693421000LL);
	assert_int_equal(jint(p, "n_hashtags"), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "hashtags"), 0)), "PeoplesVote");
	/* a retweet: kind and ref ids from referenced_tweets, ref author via includes.tweets */
	rt = find_post(c.posts, "1440716856763977732", false);
	assert_string_equal(jstr(rt, "kind"), "retweet");
	assert_string_equal(jstr(rt, "ref_post_id"), "1440713161355583489");
	assert_string_equal(jstr(rt, "ref_author.id"), "711945679");
	/* the page has 100 tweets in data (+59 referenced ones in includes.tweets) */
	json_array_foreach(c.posts, i, x)
		if (json_array_size(json_object_get(x, "flags")) == 0)
			n_data++;
	assert_int_equal(n_data, 100);
	assert_int_equal(ingest_decoder_stats(d)->posts, 159);
	assert_int_equal(ingest_decoder_stats(d)->units, 1);
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_mastodon_account_and_sse(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "fixtures/mastodon/mastodonpy_status_get.json", BW_TIME_NONE);
	json_t *p = find_post(c.posts, "117020583223442465", false);
	const struct bw_decode_stats *s;

	assert_string_equal(jstr(p, "platform"), "mastodon");
	assert_string_equal(jstr(p, "author.id"), "117020565966271181");
	assert_string_equal(jstr(p, "author.screen_name"), "mastodonpy_test");
	assert_true(json_is_false(json_object_get(json_object_get(p, "author"), "bot")));
	assert_string_equal(jstr(p, "author.description"), "I walk funny"); /* note, HTML stripped */
	assert_string_equal(jstr(p, "text"), "Toot!");
	ingest_decoder_free(d);
	coll_free(&c);

	/* an SSE body: 2 update + 1 status.update, 2 notifications, 1 delete, 2 comments */
	d = decode_data(&c, "fixtures/mastodon/mastodonpy_sse_streaming_user_update_notification_delete_status-update.txt", BW_TIME_NONE);
	s = ingest_decoder_stats(d);
	assert_int_equal(s->posts, 3);
	assert_int_equal(s->control[BW_CTRL_DELETE], 1);
	assert_int_equal(s->control[BW_CTRL_NOTIFICATION], 2); /* their own kind, not `other` */
	assert_int_equal(s->control[BW_CTRL_OTHER], 0);
	assert_int_equal(s->control[BW_CTRL_KEEPALIVE], 2);
	assert_int_equal(json_array_size(c.dlq), 0);
	p = find_post(c.posts, "117024236559579118", false);
	assert_string_equal(jstr(p, "author.screen_name"), "mastodonpy_test");
	/* status.update: the edited status is a post again, under the same id */
	assert_string_equal(jstr(json_array_get(c.posts, 0), "id"), "117024236332527350");
	assert_string_equal(jstr(json_array_get(c.posts, 2), "id"), "117024236332527350");
	ingest_decoder_free(d);
	coll_free(&c);

	/* `conversation` events stay `other` */
	d = decode_data(&c, "fixtures/mastodon/mastodonpy_sse_streaming_direct_conversation.txt", BW_TIME_NONE);
	s = ingest_decoder_stats(d);
	assert_int_equal(s->control[BW_CTRL_OTHER], 2);
	assert_int_equal(s->control[BW_CTRL_NOTIFICATION], 0);
	assert_int_equal(json_array_size(c.dlq), 0);
	ingest_decoder_free(d);
	coll_free(&c);
	assert_string_equal(bw_ctrl_type_name(BW_CTRL_NOTIFICATION), "notification");
}

static void test_deletion_and_control_counts(void **state)
{
	(void)state;
	static const char *const files[] = {
		"hbc_control-message.json", "hbc_direct-message-delete.json", "hbc_disconnect-message.json",
		"hbc_friends-list.json", "hbc_limit.json", "hbc_scrub-geo.json", "hbc_status-deletion.json",
		"twitter4j_stallwarning.json", "twitter4s_disconnect_messages.json",
		"twitter4s_limit_notices.json", "twitter4s_location_deletion_notices.json",
		"twitter4s_status_deletion_notices.json", "twitter4s_status_withheld_notices.json",
		"twitter4s_user_withheld_notices.json", "twitter4s_warning_messages.json",
	};
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);
	char rel[256], path[512], err[256];
	const struct bw_decode_stats *s = ingest_decoder_stats(d);
	json_t *del;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "fixtures/twitter_v1_stream_control/%s", files[i]);
		assert_int_equal(ingest_decode_file(d, data_path(rel, path, sizeof(path)), err, sizeof(err)), 0);
	}
	assert_int_equal(s->control[BW_CTRL_DELETE], 4);
	assert_int_equal(s->control[BW_CTRL_LIMIT], 3);
	assert_int_equal(s->control[BW_CTRL_SCRUB_GEO], 3);
	assert_int_equal(s->control[BW_CTRL_STATUS_WITHHELD], 2);
	assert_int_equal(s->control[BW_CTRL_USER_WITHHELD], 2);
	assert_int_equal(s->control[BW_CTRL_WARNING], 2);
	assert_int_equal(s->control[BW_CTRL_DISCONNECT], 3);
	assert_int_equal(s->control[BW_CTRL_OTHER], 2);
	assert_int_equal(json_array_size(c.dlq), 0);
	/* status deletions are records too (the direct-message one is not) */
	assert_int_equal(s->posts, 3);
	del = find_post(c.posts, "1234", false);
	assert_string_equal(jstr(del, "kind"), "delete");
	assert_string_equal(jstr(del, "author.id"), "3");
	del = find_post(c.posts, "303747490128207874", false);
	assert_string_equal(jstr(del, "author.id"), "74558990");
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_cresci_archive_counts_without_names(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "dev/tweets_partial_4accounts.ndjson.gz", BW_TIME_NONE);
	size_t i, rts = 0, replies = 0;
	json_t *p;

	assert_int_equal(ingest_decoder_stats(d)->posts, 7115);
	json_array_foreach(c.posts, i, p) {
		rts += strcmp(jstr(p, "kind"), "retweet") == 0;
		replies += strcmp(jstr(p, "kind"), "reply") == 0;
	}
	assert_int_equal(rts, 1273);
	assert_int_equal(replies, 1179);
	/* a retweet whose retweeted_status is a stub {id, id_str}: ref author unknown */
	p = find_post(c.posts, "89005424531095553", false);
	assert_string_equal(jstr(p, "kind"), "retweet");
	assert_string_equal(jstr(p, "ref_post_id"), "89005228699041792");
	assert_null(json_object_get(p, "ref_author"));
	/* counts known from num_*, names unknown */
	assert_int_equal(jint(p, "n_mentions"), 1);
	assert_null(json_object_get(p, "mentions"));
	assert_int_equal(jint(p, "n_hashtags"), 0);
	assert_null(json_object_get(p, "hashtags"));
	assert_string_equal(jstr(p, "author.screen_name"), "davideb66");
	ingest_decoder_free(d);
	coll_free(&c);
}

/* The first n lines of a gzip file, joined with '\n' (malloc'd). */
static char *gz_lines(const char *rel, int n)
{
	char path[512], line[65536];
	gzFile gz = gzopen(data_path(rel, path, sizeof(path)), "rb");
	size_t len = 0, cap = 1 << 20;
	char *out = malloc(cap);

	assert_non_null(gz);
	out[0] = '\0';
	for (int i = 0; i < n && gzgets(gz, line, sizeof(line)); i++) {
		size_t l = strlen(line);
		assert_true(len + l + 1 < cap);
		memcpy(out + len, line, l + 1);
		len += l;
	}
	gzclose(gz);
	return out;
}

static void test_profile_probe_time_rules(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d;
	char *two = gz_lines("dev/posts.ndjson.gz", 2), *buf;
	char *tweet = gz_lines("dev/tweets_partial_4accounts.ndjson.gz", 1);
	const char *nl = strchr(two, '\n');
	size_t l1 = (size_t)(nl - two), n;
	json_t *p;

	/* 1. --probe-time wins */
	d = new_dec(&c, 0, 0, 1600000000000LL);
	assert_int_equal(ingest_decode_unit(d, two, l1, "t", 1), 0);
	assert_int_equal(json_array_size(c.posts), 1); /* emitted at once */
	p = json_array_get(c.posts, 0);
	assert_string_equal(jstr(p, "kind"), "profile");
	assert_string_equal(jstr(p, "author.id"), "678033");
	assert_string_equal(jstr(p, "author.screen_name"), "heathr");
	assert_int_equal(jint(json_object_get(p, "author"), "followers_count"), 7065);
	assert_int_equal(jint(p, "created_at_ms"), 1600000000000LL);
	assert_int_equal(json_array_size(json_object_get(p, "flags")), 0);
	ingest_decoder_free(d);
	coll_free(&c);

	/* 2. the record's own top-level created_at */
	n = l1 + 64;
	buf = malloc(n);
	snprintf(buf, n, "%.*s,\"created_at\":\"2016-05-01T00:00:00Z\"}", (int)(l1 - 1), two);
	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_unit(d, buf, strlen(buf), "t", 1), 0);
	assert_int_equal(json_array_size(c.posts), 1);
	assert_int_equal(jint(json_array_get(c.posts, 0), "created_at_ms"), 1462060800000LL);
	ingest_decoder_free(d);
	coll_free(&c);
	free(buf);

	/* 3. the latest event time seen in the input: held back until finish */
	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_unit(d, two, l1, "t", 1), 0);
	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(ingest_decode_unit(d, tweet, strlen(tweet), "t", 2), 0);
	assert_int_equal(json_array_size(c.posts), 1);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 2);
	p = json_array_get(c.posts, 1);
	assert_string_equal(jstr(p, "author.id"), "678033");
	assert_int_equal(jint(p, "created_at_ms"), 1237280230000LL); /* Tue Mar 17 08:57:10 2009 */
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "flags"), 0)), "probe_default");
	assert_int_equal(ingest_decoder_stats(d)->probe_inferred, 1);
	ingest_decoder_free(d);
	coll_free(&c);

	/* 3b. a profile's embedded latest post (v1.1 users/lookup `status`) and a
	 * v2 profile's most_recent_tweet_id (snowflake) are event times seen too;
	 * an unparseable one is ignored without faulting its record */
	{
		const char *in =
			"{\"user\":{\"id_str\":\"1\",\"screen_name\":\"a\","
			"\"created_at\":\"Mon Jan 01 00:00:00 +0000 2018\","
			"\"status\":{\"created_at\":\"Mon Jun 01 00:00:00 +0000 2020\"}}}\n"
			"{\"user\":{\"id\":\"2\",\"username\":\"b\","
			"\"created_at\":\"2019-01-01T00:00:00Z\","
			"\"most_recent_tweet_id\":\"1600000000000000000\"}}\n"
			"{\"user\":{\"id_str\":\"3\",\"screen_name\":\"c\","
			"\"status\":{\"created_at\":\"yesterday\"},"
			"\"most_recent_tweet_id\":\"12\"}}\n";
		/* 1600000000000000000 >> 22 = 381469726562 ms after the Twitter epoch */
		const int64_t want = 1288834974657LL + 381469726562LL;
		d = new_dec(&c, 0, 0, BW_TIME_NONE);
		assert_int_equal(ingest_decode_buffer(d, in, strlen(in), "t"), 0);
		assert_int_equal(ingest_decoder_finish(d), 0);
		assert_int_equal(json_array_size(c.posts), 3);
		assert_true(want > 1591000000000LL); /* after the status time: it wins */
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(jint(json_array_get(c.posts, i), "created_at_ms"), want);
		assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_BAD_FIELD], 0);
		ingest_decoder_free(d);
		coll_free(&c);
		/* the first line alone: its status time (Jun 1 2020) */
		d = new_dec(&c, 0, 0, BW_TIME_NONE);
		assert_int_equal(ingest_decode_buffer(d, in, (size_t)(strchr(in, '\n') - in + 1), "t"), 0);
		assert_int_equal(ingest_decoder_finish(d), 0);
		assert_int_equal(json_array_size(c.posts), 1);
		assert_int_equal(jint(json_array_get(c.posts, 0), "created_at_ms"), 1590969600000LL);
		ingest_decoder_free(d);
		coll_free(&c);
	}

	/* 4. no event times at all: the latest account created_at (Jan 29 2007) */
	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_buffer(d, two, strlen(two), "t"), 0);
	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(jint(json_array_get(c.posts, i), "created_at_ms"), 1170032074000LL);
	assert_int_equal(ingest_decoder_stats(d)->probe_inferred, 2);
	ingest_decoder_free(d);
	coll_free(&c);
	free(two);
	free(tweet);
}

/* Past max_held_bytes, held profile records are released before the next
 * unit with what is known then; later ones still wait for the end. */
static void test_profile_hold_cap(void **state)
{
	(void)state;
	char *prof = gz_lines("dev/posts.ndjson.gz", 1);
	char *tweet = gz_lines("dev/tweets_partial_4accounts.ndjson.gz", 1);
	struct bw_decode_opts o = { .max_held_bytes = 1, .probe_time_ms = BW_TIME_NONE,
				    .on_post = coll_post, .on_dlq = coll_dlq };
	struct coll c = { json_array(), json_array() };
	char err[256];
	struct bw_decoder *d;

	o.opaque = &c;
	d = ingest_decoder_new(&o, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(ingest_decode_unit(d, prof, strlen(prof), "t", 1), 0);
	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(ingest_decode_unit(d, tweet, strlen(tweet), "t", 2), 0);
	/* released first, before the tweet: no event time yet, so the latest account
	 * creation time seen (heathr's own, Mon Jan 22 01:57:38 2007) */
	assert_int_equal(json_array_size(c.posts), 2);
	assert_string_equal(jstr(json_array_get(c.posts, 0), "kind"), "profile");
	assert_int_equal(jint(json_array_get(c.posts, 0), "created_at_ms"), 1169431058000LL);
	assert_string_equal(jstr(json_array_get(c.posts, 1), "kind"), "original");
	assert_int_equal(ingest_decode_unit(d, prof, strlen(prof), "t", 3), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 3);
	assert_int_equal(jint(json_array_get(c.posts, 2), "created_at_ms"), 1237280230000LL);
	assert_int_equal(ingest_decoder_stats(d)->probe_inferred, 2);
	ingest_decoder_free(d);
	coll_free(&c);
	free(prof);
	free(tweet);
}

/* A file mixing good lines and every kind of bad line. */
static char *mixed_input(size_t *len)
{
	static const char good[] = "{\"id_str\":\"%d\",\"text\":\"ok\",\"created_at\":\"Mon Jan 22 01:57:38 +0000 2007\",\"user\":{\"id_str\":\"42\"}}\n";
	char *b = malloc(16384);
	size_t o = 0;

	o += (size_t)snprintf(b + o, 16384 - o, good, 1);                           /* 1 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id\": 1,\n");                    /* 2 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id_str\":\"5\",\"text\":\"no user\"}\n"); /* 3 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"text\":\"");                     /* 4: 5000 bytes */
	memset(b + o, 'x', 5000), o += 5000;
	o += (size_t)snprintf(b + o, 16384 - o, "\"}\n");
	for (int i = 0; i < 100; i++)                                                 /* 5 */
		b[o++] = '[';
	for (int i = 0; i < 100; i++)
		b[o++] = ']';
	b[o++] = '\n';
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id_str\":\"6\",\"text\":\"\xff\xfe\",\"user\":{\"id_str\":\"1\"}}\n"); /* 6 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id\":123456789012345678901234567890,\"text\":\"x\",\"user\":{\"id\":1}}\n"); /* 7 */
	o += (size_t)snprintf(b + o, 16384 - o, good, 8);                           /* 8 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id_str\":\"9\",\"text\":\"x\",\"user\":{\"id_str\":\"1\",\"followers_count\":\"many\"}}\n"); /* 9 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"foo\":1}\n");                    /* 10 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"errors\":[{\"title\":\"operational-disconnect\"}]}\n"); /* 11 */
	o += (size_t)snprintf(b + o, 16384 - o, "\n");                               /* 12 */
	o += (size_t)snprintf(b + o, 16384 - o, "{\"id_str\":\"13\",\"text\":\"x\",\"user\":{\"id_str\":\"1\",\"friends_count\":-3}}\n"); /* 13 */
	*len = o;
	return b;
}

static void check_mixed(struct coll *c, struct bw_decoder *d, uint64_t line_offset)
{
	static const struct { uint64_t line; const char *reason; } want[] = {
		{ 2, "invalid_json" }, { 3, "no_account_id" }, { 4, "too_large" },  { 5, "too_deep" },
		{ 6, "invalid_utf8" }, { 7, "number_range" },  { 9, "bad_field" },  { 10, "unknown_shape" },
		{ 11, "stream_error" }, { 13, "number_range" },
	};
	const struct bw_decode_stats *s = ingest_decoder_stats(d);
	size_t skip = line_offset; /* a leading bad line adds one DLQ record first */

	if (skip) {
		assert_string_equal(jstr(json_array_get(c->dlq, 0), "reason"), "invalid_json");
		assert_int_equal(jint(json_array_get(c->dlq, 0), "line"), 1);
	}
	assert_int_equal(json_array_size(c->dlq), skip + sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *r = json_array_get(c->dlq, i + skip);
		assert_string_equal(jstr(r, "reason"), want[i].reason);
		assert_int_equal(jint(r, "line"), (json_int_t)(want[i].line + line_offset));
		assert_string_equal(jstr(r, "source"), "mixed");
		assert_non_null(jstr(r, "excerpt"));
		assert_true(strlen(jstr(r, "detail")) > 0);
	}
	/* the excerpt of the bad UTF-8 line has the bytes replaced, not dropped */
	assert_non_null(strstr(jstr(json_array_get(c->dlq, 4 + skip), "excerpt"), "\xEF\xBF\xBD"));
	assert_int_equal(json_array_size(c->posts), 2);
	assert_string_equal(jstr(json_array_get(c->posts, 0), "id"), "1");
	assert_string_equal(jstr(json_array_get(c->posts, 1), "id"), "8");
	assert_int_equal(s->dlq[BW_DLQ_NUMBER_RANGE], 2);
	assert_int_equal(s->control[BW_CTRL_KEEPALIVE], 1);
	assert_int_equal(s->units, 13 + line_offset);
}

static void test_dlq_line_by_line(void **state)
{
	(void)state;
	struct coll c;
	size_t len;
	char *in = mixed_input(&len), *in2;
	struct bw_decoder *d = new_dec(&c, 4096, 64, BW_TIME_NONE);

	assert_int_equal(ingest_decode_buffer(d, in, len, "mixed"), 0);
	check_mixed(&c, d, 0);
	ingest_decoder_free(d);
	coll_free(&c);

	/* the same input after an invalid first line: not one document, so the
	 * lines are decoded as NDJSON and keep their numbers */
	in2 = malloc(len + 16);
	memcpy(in2, "{\"id\": 1,\n", 10);
	memcpy(in2 + 10, in, len);
	d = new_dec(&c, 4096, 64, BW_TIME_NONE);
	assert_int_equal(ingest_decode_buffer(d, in2, len + 10, "mixed"), 0);
	check_mixed(&c, d, 1);
	ingest_decoder_free(d);
	coll_free(&c);
	free(in2);
	free(in);
}

/*
 * Regression (issue 20): author ids such as "abc", "../../etc/passwd", a
 * 10,000-digit number or one holding a newline became accounts the API cannot
 * look up; now they are dead-lettered as bad_account_id. DIDs and Mastodon's
 * decimal ids pass.
 */
static void test_bad_account_ids(void **state)
{
	(void)state;
	static const char *const bad[] = { "abc", "../../etc/passwd", "12\\n34", "0123",
					   "18446744073709551616", "did:", "did:plc", "did::x",
					   "did:PLC:x", "12\\u000034",
					   "did:web:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
					   "" /* the long one */ };
	const size_t n_bad = sizeof(bad) / sizeof(bad[0]);
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 1 << 16, 64, BW_TIME_NONE);
	char line[12000];

	for (size_t i = 0; i < n_bad; i++) {
		int o = snprintf(line, sizeof(line), "{\"id_str\":\"%zu\",\"text\":\"x\",\"user\":{\"id_str\":\"",
				 i + 1);
		if (!*bad[i]) {
			memset(line + o, '7', 10000);
			o += 10000;
		} else {
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s", bad[i]);
		}
		o += snprintf(line + o, sizeof(line) - (size_t)o, "\"}}");
		assert_int_equal(ingest_decode_unit(d, line, (size_t)o, "ids", i + 1), 0);
	}
	static const char *const good[] = {
		"{\"id_str\":\"100\",\"text\":\"x\",\"user\":{\"id_str\":\"18446744073709551615\"}}",
		"{\"id\":\"101\",\"content\":\"<p>x</p>\",\"created_at\":\"2024-01-01T00:00:00Z\","
		"\"account\":{\"id\":\"109302\",\"acct\":\"a@b.c\"}}",
		"{\"did\":\"did:plc:abc234xyz\",\"time_us\":1700000000000000,\"kind\":\"commit\","
		"\"commit\":{\"operation\":\"create\",\"collection\":\"app.bsky.feed.post\","
		"\"rkey\":\"3k\",\"record\":{\"text\":\"hi\",\"createdAt\":\"2024-01-01T00:00:00Z\"}}}",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(ingest_decode_unit(d, good[i], strlen(good[i]), "ids", 100 + i), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.dlq), n_bad);
	for (size_t i = 0; i < n_bad; i++) {
		json_t *r = json_array_get(c.dlq, i);
		assert_string_equal(jstr(r, "reason"), "bad_account_id");
		assert_int_equal(jint(r, "line"), (json_int_t)(i + 1));
		assert_true(strlen(jstr(r, "detail")) < 200); /* the 10,000 digits are cut */
	}
	assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_BAD_ACCOUNT_ID], n_bad);
	assert_int_equal(json_array_size(c.posts), 3);
	assert_string_equal(jstr(json_array_get(c.posts, 0), "author.id"), "18446744073709551615");
	assert_string_equal(jstr(json_array_get(c.posts, 1), "author.id"), "109302");
	assert_string_equal(jstr(json_array_get(c.posts, 2), "author.id"), "did:plc:abc234xyz");
	ingest_decoder_free(d);
	coll_free(&c);
}

/* Regression (issue 20): \u0000 silently cut the post text short; the text
 * after it is now kept, each NUL replaced by U+FFFD. */
static void test_nul_in_text_kept(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 1 << 16, 64, BW_TIME_NONE);
	static const char in[] =
		"{\"id_str\":\"1\",\"text\":\"before\\u0000after \\u0000\",\"user\":{\"id_str\":\"5\","
		"\"screen_name\":\"a\\u0000b\",\"followers_count\":\"12\\u0000\"}}";

	assert_int_equal(ingest_decode_unit(d, in, sizeof(in) - 1, "nul", 1), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	/* a count with a NUL is not a number: the post is dead-lettered */
	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(json_array_size(c.dlq), 1);
	assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"), "bad_field");
	ingest_decoder_free(d);
	coll_free(&c);

	static const char in2[] =
		"{\"id_str\":\"1\",\"text\":\"before\\u0000after \\u0000\",\"user\":{\"id_str\":\"5\","
		"\"screen_name\":\"a\\u0000b\"}}";
	d = new_dec(&c, 1 << 16, 64, BW_TIME_NONE);
	assert_int_equal(ingest_decode_unit(d, in2, sizeof(in2) - 1, "nul", 1), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 1);
	assert_string_equal(jstr(json_array_get(c.posts, 0), "text"),
			    "before\xEF\xBF\xBD" "after \xEF\xBF\xBD");
	assert_string_equal(jstr(json_array_get(c.posts, 0), "author.screen_name"),
			    "a\xEF\xBF\xBD" "b");
	ingest_decoder_free(d);
	coll_free(&c);
}

/* Regression (issue 20): a post dated in the year 9999 dragged the event-time
 * watermark; posts more than a day past the clock are dead-lettered. */
static void test_future_post_dead_lettered(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 1 << 16, 64, BW_TIME_NONE);
	static const char *const in[] = {
		"{\"id_str\":\"1\",\"text\":\"x\",\"created_at\":\"Fri Dec 31 23:59:59 +0000 9999\","
		"\"user\":{\"id_str\":\"5\"}}",
		"{\"id_str\":\"2\",\"text\":\"x\",\"created_at\":\"Wed Oct 10 20:19:24 +0000 2018\","
		"\"user\":{\"id_str\":\"5\"}}",
	};
	char line[256];
	/* an hour ahead of the clock is skew, not a fault */
	char when[40];
	bw_time_format(bw_time_now_ms() + 3600 * 1000, when, sizeof(when));
	int n = snprintf(line, sizeof(line),
			 "{\"id\":\"3\",\"content\":\"x\",\"created_at\":\"%s\",\"account\":{\"id\":\"7\"}}",
			 when);

	for (size_t i = 0; i < 2; i++)
		assert_int_equal(ingest_decode_unit(d, in[i], strlen(in[i]), "future", i + 1), 0);
	assert_int_equal(ingest_decode_unit(d, line, (size_t)n, "future", 3), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.dlq), 1);
	assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"), "future_time");
	assert_non_null(strstr(jstr(json_array_get(c.dlq, 0), "detail"), "9999-12-31"));
	assert_int_equal(json_array_size(c.posts), 2);
	assert_string_equal(jstr(json_array_get(c.posts, 0), "id"), "2");
	assert_string_equal(jstr(json_array_get(c.posts, 1), "id"), "3");
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_depth_cap_boundary(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 0, 4, BW_TIME_NONE);
	const char *ok = "{\"id_str\":\"1\",\"text\":\"t\",\"user\":{\"id_str\":\"2\",\"x\":[[1]]}}";
	const char *deep = "{\"id_str\":\"1\",\"text\":\"t\",\"user\":{\"id_str\":\"2\",\"x\":[[[1]]]}}";

	assert_int_equal(ingest_decode_unit(d, ok, strlen(ok), "t", 1), 0);   /* 4 levels */
	assert_int_equal(ingest_decode_unit(d, deep, strlen(deep), "t", 2), 0); /* 5 levels */
	assert_int_equal(ingest_decoder_stats(d)->posts, 1);
	assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_TOO_DEEP], 1);
	ingest_decoder_free(d);
	coll_free(&c);
}

static void test_sse_assembler(void **state)
{
	(void)state;
	struct ingest_sse *s = ingest_sse_new(32);
	struct ingest_sse_event ev;
	const char *lines[] = { ":)", "event: update", "data: {\"a\":", "data: 1}\r", "", "id: 7",
				"data: x", "", "event: big", "data: 0123456789012345678901234567890123",
				"data: more", "", ":thump", "event: delete", "data: 99" };
	int rc[15];

	for (int i = 0; i < 15; i++) {
		rc[i] = ingest_sse_feed_line(s, lines[i], strlen(lines[i]), (uint64_t)i + 1, &ev);
		if (i == 4) {
			assert_int_equal(rc[i], INGEST_SSE_EVENT);
			assert_string_equal(ev.event, "update");
			assert_string_equal(ev.data, "{\"a\":\n1}");
			assert_int_equal(ev.line, 2);
		}
		if (i == 7) {
			assert_int_equal(rc[i], INGEST_SSE_EVENT);
			assert_string_equal(ev.event, "message");
			assert_string_equal(ev.data, "x");
		}
	}
	assert_int_equal(rc[0], INGEST_SSE_COMMENT);
	assert_int_equal(rc[9], BW_ETOOLARGE);
	assert_int_equal(rc[10], INGEST_SSE_MORE);
	assert_int_equal(rc[11], INGEST_SSE_MORE); /* the oversized event is not dispatched */
	assert_int_equal(rc[12], INGEST_SSE_COMMENT);
	assert_int_equal(ingest_sse_flush(s, &ev), INGEST_SSE_EVENT); /* no final blank line */
	assert_string_equal(ev.event, "delete");
	assert_string_equal(ev.data, "99");
	assert_int_equal(ingest_sse_flush(s, &ev), INGEST_SSE_MORE);
	ingest_sse_free(s);
}

static void test_jetstream(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data(&c, "fixtures/bluesky_jetstream/jetstream_v1_golden_10_events.jsonl", BW_TIME_NONE);
	json_t *p = find_post(c.posts, "at://did:plc:q235v55g5unth4zjjdpacfdr/app.bsky.feed.post/3mmoojp4cd223", false);

	assert_string_equal(jstr(p, "platform"), "bluesky");
	assert_string_equal(jstr(p, "kind"), "reply");
	assert_string_equal(jstr(p, "author.id"), "did:plc:q235v55g5unth4zjjdpacfdr");
	assert_string_equal(jstr(p, "text"), "Try RSV for a good time !!");
	assert_string_equal(jstr(p, "lang"), "en");
	assert_string_equal(jstr(p, "in_reply_to_user_id"), "did:plc:j76trmiofvaxxpvx2vnb2vwf");
	assert_int_equal(jint(p, "created_at_ms"), 1779719008757LL);
	/* a repost is a retweet of its subject */
	p = find_post(c.posts, "at://did:plc:eizxoqcsvvvarxeb3pjkblrp/app.bsky.feed.repost/3mmoojpbade2i", false);
	assert_string_equal(jstr(p, "kind"), "retweet");
	assert_non_null(jstr(p, "ref_post_id"));
	assert_int_equal(strncmp(jstr(p, "ref_post_id"), "at://did:plc:", 13), 0);
	/* a profile record is a profile snapshot at its event time */
	size_t i, profiles = 0;
	json_t *r;
	json_array_foreach(c.posts, i, r) {
		if (strcmp(jstr(r, "kind"), "profile") != 0)
			continue;
		profiles++;
		assert_string_equal(jstr(r, "author.id"), "did:plc:o6t5vwyr7ae73foww7bgye4r");
		assert_non_null(strstr(jstr(r, "author.description"), "Loki"));
		assert_true(json_is_false(json_object_get(json_object_get(r, "author"), "bot")));
		assert_true(json_is_false(json_object_get(json_object_get(r, "author"), "default_profile_image")));
	}
	assert_int_equal(profiles, 1);
	/* likes, follows and the like stay control messages */
	assert_int_equal(ingest_decoder_stats(d)->control[BW_CTRL_OTHER], 7);
	ingest_decoder_free(d);
	coll_free(&c);
}

/* Jetstream: a profile record (with the `bot` self-label) and an identity
 * event fill the author of the account's later posts and reposts. */
static void test_jetstream_profile_cache(void **state)
{
	(void)state;
	static const char *const units[] = {
		"{\"did\":\"did:plc:abc\",\"time_us\":1779719000000000,\"kind\":\"identity\","
		"\"identity\":{\"did\":\"did:plc:abc\",\"handle\":\"bot.example.org\",\"seq\":1}}",
		"{\"did\":\"did:plc:abc\",\"time_us\":1779719001000000,\"kind\":\"commit\",\"commit\":"
		"{\"operation\":\"create\",\"collection\":\"app.bsky.actor.profile\",\"rkey\":\"self\","
		"\"record\":{\"displayName\":\"Auto\",\"description\":\"I post the weather\","
		"\"banner\":{\"size\":1},\"labels\":{\"values\":[{\"val\":\"bot\"}]}}}}",
		"{\"did\":\"did:plc:abc\",\"time_us\":1779719002000000,\"kind\":\"commit\",\"commit\":"
		"{\"operation\":\"create\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"p1\","
		"\"record\":{\"text\":\"sunny\",\"createdAt\":\"2026-05-25T14:23:22.000Z\"}}}",
		"{\"did\":\"did:plc:abc\",\"time_us\":1779719003000000,\"kind\":\"commit\",\"commit\":"
		"{\"operation\":\"create\",\"collection\":\"app.bsky.feed.repost\",\"rkey\":\"r1\","
		"\"record\":{\"subject\":{\"uri\":\"at://did:plc:xyz/app.bsky.feed.post/q\"}}}}",
		"{\"did\":\"did:plc:abc\",\"time_us\":1779719004000000,\"kind\":\"commit\",\"commit\":"
		"{\"operation\":\"create\",\"collection\":\"app.bsky.actor.profile\",\"rkey\":\"self\"}}",
	};
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);
	json_t *p, *a;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		assert_int_equal(ingest_decode_unit(d, units[i], strlen(units[i]), "t", i + 1), 0);
	assert_int_equal(json_array_size(c.posts), 4); /* 2 profile snapshots, a post, a repost */
	assert_string_equal(jstr(json_array_get(c.posts, 0), "kind"), "profile");
	assert_string_equal(jstr(json_array_get(c.posts, 0), "author.screen_name"), "bot.example.org");
	p = find_post(c.posts, "at://did:plc:abc/app.bsky.feed.post/p1", false);
	a = json_object_get(p, "author");
	assert_string_equal(jstr(a, "screen_name"), "bot.example.org");
	assert_string_equal(jstr(a, "name"), "Auto");
	assert_string_equal(jstr(a, "description"), "I post the weather");
	assert_true(json_is_true(json_object_get(a, "bot")));
	assert_true(json_is_true(json_object_get(a, "default_profile_image")));
	assert_true(json_is_true(json_object_get(a, "profile_use_background_image")));
	p = find_post(c.posts, "at://did:plc:abc/app.bsky.feed.repost/r1", false);
	assert_string_equal(jstr(p, "kind"), "retweet");
	assert_string_equal(jstr(p, "ref_post_id"), "at://did:plc:xyz/app.bsky.feed.post/q");
	assert_string_equal(jstr(p, "author.name"), "Auto");
	/* a profile commit without its record is dead-lettered with the reason */
	assert_int_equal(json_array_size(c.dlq), 1);
	assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"), "bad_field");
	ingest_decoder_free(d);
	coll_free(&c);
}

/* Shapes without a recorded fixture, on small hand-written payloads. */
static void test_synthetic_shapes(void **state)
{
	(void)state;
	static const char flat[] = "{\"id\":\"1\",\"author_id\":\"2\",\"text\":\"flat\",\"author\":"
		"{\"id\":\"2\",\"username\":\"f\",\"public_metrics\":{\"followers_count\":5}},"
		"\"referenced_tweets\":[{\"type\":\"quoted\",\"id\":\"3\",\"tweet\":{\"id\":\"3\",\"author_id\":\"4\"}}],"
		"\"created_at\":\"2021-04-01T15:52:31.000Z\",\"__twarc\":{\"version\":\"2.5.0\"}}";
	static const char reblog[] = "{\"id\":\"100\",\"created_at\":\"2026-08-01T13:53:15.378Z\",\"content\":\"\","
		"\"account\":{\"id\":\"5\",\"acct\":\"u@host\",\"bot\":true,\"note\":\"<p>a &amp; b</p>\"},"
		"\"reblog\":{\"id\":\"99\",\"content\":\"<p>orig<br>inal</p>\",\"account\":{\"id\":\"7\",\"acct\":\"w\"}}}";
	static const char search[] = "{\"statuses\":[{\"id_str\":\"8\",\"full_text\":\"ext mode\",\"user\":{\"id_str\":\"9\"}}],"
		"\"search_metadata\":{}}";
	static const char pretty[] = "{\n  \"id_str\": \"11\",\n  \"text\": \"t\",\n  \"user\": {\"id_str\": \"12\"}\n}\n";
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);
	json_t *p;

	assert_int_equal(ingest_decode_unit(d, flat, strlen(flat), "t", 1), 0);
	p = find_post(c.posts, "1", false);
	assert_string_equal(jstr(p, "kind"), "quote");
	assert_string_equal(jstr(p, "author.screen_name"), "f");
	assert_int_equal(jint(json_object_get(p, "author"), "followers_count"), 5);
	assert_string_equal(jstr(p, "ref_post_id"), "3");
	assert_string_equal(jstr(p, "ref_author.id"), "4");

	assert_int_equal(ingest_decode_unit(d, reblog, strlen(reblog), "t", 2), 0);
	p = find_post(c.posts, "100", false);
	assert_string_equal(jstr(p, "kind"), "retweet");
	assert_string_equal(jstr(p, "ref_post_id"), "99");
	assert_string_equal(jstr(p, "ref_author.screen_name"), "w");
	assert_true(json_is_true(json_object_get(json_object_get(p, "author"), "bot")));
	assert_string_equal(jstr(p, "author.description"), "a & b");
	p = find_post(c.posts, "99", true);
	assert_string_equal(jstr(p, "text"), "orig\ninal");

	assert_int_equal(ingest_decode_unit(d, search, strlen(search), "t", 3), 0);
	assert_string_equal(jstr(find_post(c.posts, "8", false), "text"), "ext mode");
	/* one pretty-printed object over several lines is one document */
	assert_int_equal(ingest_decode_buffer(d, pretty, strlen(pretty), "pretty"), 0);
	assert_string_equal(jstr(find_post(c.posts, "11", false), "author.id"), "12");
	assert_int_equal(json_array_size(c.dlq), 0);
	assert_int_equal(ingest_decoder_stats(d)->posts, 5);
	ingest_decoder_free(d);
	coll_free(&c);
}

/* Every fixture decodes without crashing, with these exact counts. */
static void test_every_fixture(void **state)
{
	(void)state;
	static const struct { const char *file; unsigned posts, dlq; } want[] = {
		{ "bluesky_jetstream/jetstream_capture_manifest.json", 0, 1 }, /* metadata, not events */
		{ "bluesky_jetstream/jetstream_v1_golden_10_events.jsonl", 3, 0 },
		{ "bluesky_jetstream/jetstream_v1_production_window_152_events.jsonl", 33, 0 },
		{ "mastodon/mastodonpy_sse_streaming_direct_conversation.txt", 0, 0 },
		{ "mastodon/mastodonpy_sse_streaming_user_local_update.txt", 1, 0 },
		{ "mastodon/mastodonpy_sse_streaming_user_update_notification_delete_status-update.txt", 3, 0 },
		{ "mastodon/mastodonpy_status_get.json", 1, 0 },
		{ "mastodon/mastodonpy_streaming_health.txt", 0, 1 }, /* body "OK" */
		{ "twitter_v1_rest/python-twitter_extended_tweet_in_compat_mode.json", 1, 0 },
		{ "twitter_v1_rest/python-twitter_extended_tweet_in_extended_mode.json", 1, 0 },
		{ "twitter_v1_rest/python-twitter_get_user_timeline.json", 21, 0 },
		{ "twitter_v1_rest/python-twitter_status_quoted_tweet.json", 2, 0 },
		{ "twitter_v1_rest/tweepy_home_timeline.json", 22, 0 },
		{ "twitter_v1_rest/tweepy_search_tweets_q_tweepy.json", 21, 0 },
		{ "twitter_v1_rest/tweepy_user_timeline_authenticated_user.json", 4, 0 },
		{ "twitter_v1_rest/tweepy_user_timeline_screen_name_Twitter.json", 20, 0 },
		{ "twitter_v1_stream/python-twitter_streaming_extended_tweet.json", 1, 0 },
		{ "twitter_v1_stream/python-twitter_streaming_lines.ndjson", 80, 0 },
		{ "twitter_v1_stream/tweet_parser_original_format_examples.ndjson", 36, 0 },
		{ "twitter_v1_stream/tweet_parser_public_api_sample.ndjson", 31, 0 },
		{ "twitter_v1_stream/twitter4j_sitestream-testcase.json", 0, 0 },
		{ "twitter_v1_stream/twitter4j_streamingapi-event-testcase.ndjson", 0, 0 },
		{ "twitter_v1_stream/twitter4j_streamingapi-testcase.ndjson", 4, 0 },
		{ "twitter_v2/twarc-csv_filtered_stream_with_truncated_last_line.jsonl", 11, 1 },
		{ "twitter_v2/twarc-csv_search_all_two_tweets.jsonl", 2, 0 },
		{ "twitter_v2/twarc-csv_search_recent_brexit_page.jsonl", 159, 0 },
		{ "twitter_v2/twarc-csv_tweets_lookup_edited.jsonl", 3, 0 },
		{ "twitter_v2/twarc-csv_tweets_lookup_quoted_edit.jsonl", 4, 0 },
		{ "twitter_v2/twarc-csv_tweets_lookup_withheld_and_errors.jsonl", 285, 0 },
		/* default fields only: no author_id, so every tweet is dead-lettered */
		{ "twitter_v2/tweepy_reverse_chronological_home_timeline.json", 0, 98 },
		{ "twitter_v2/tweepy_search_recent_query_Tweepy.json", 0, 10 },
		{ "twitter_v2/tweepy_tweets_lookup_two_ids.json", 0, 2 },
		{ "twitter_v2/tweepy_users_tweets_783214.json", 0, 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char rel[256];
		struct coll c;
		struct bw_decoder *d;
		snprintf(rel, sizeof(rel), "fixtures/%s", want[i].file);
		d = decode_data(&c, rel, BW_TIME_NONE);
		if (json_array_size(c.posts) != want[i].posts || json_array_size(c.dlq) != want[i].dlq)
			fail_msg("%s: %zu posts, %zu dlq; want %u, %u", rel, json_array_size(c.posts),
				 json_array_size(c.dlq), want[i].posts, want[i].dlq);
		ingest_decoder_free(d);
		coll_free(&c);
	}
}

/* The normalised record reads back into the same record: decode, render,
 * decode the rendering, render again — byte-identical. */
static void test_record_round_trip(void **state)
{
	(void)state;
	static const char *const files[] = {
		"fixtures/twitter_v1_stream/tweet_parser_original_format_examples.ndjson",
		"fixtures/twitter_v1_rest/tweepy_search_tweets_q_tweepy.json",
		"fixtures/twitter_v2/twarc-csv_search_recent_brexit_page.jsonl",
		"fixtures/mastodon/mastodonpy_status_get.json",
		"fixtures/bluesky_jetstream/jetstream_v1_production_window_152_events.jsonl",
		"fixtures/twitter_v1_stream_control/twitter4s_status_deletion_notices.json",
		"dev/tweets_partial_4accounts.ndjson.gz",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct coll a, b;
		struct bw_decoder *da = decode_data(&a, files[i], BW_TIME_NONE);
		struct bw_decoder *db = new_dec(&b, 0, 0, BW_TIME_NONE);
		size_t k;
		json_t *p;

		json_array_foreach(a.posts, k, p) {
			char *line = json_dumps(p, JSON_COMPACT);
			assert_int_equal(ingest_decode_unit(db, line, strlen(line), "rt", k + 1), 0);
			free(line);
		}
		assert_int_equal(json_array_size(b.dlq), 0);
		assert_int_equal(json_array_size(b.posts), json_array_size(a.posts));
		json_array_foreach(a.posts, k, p) {
			char *x = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
			char *y = json_dumps(json_array_get(b.posts, k), JSON_COMPACT | JSON_SORT_KEYS);
			if (strcmp(x, y) != 0)
				fail_msg("%s post %zu differs:\n%s\n%s", files[i], k, x, y);
			free(x);
			free(y);
		}
		assert_int_equal(ingest_decoder_stats(db)->embedded, ingest_decoder_stats(da)->embedded);
		ingest_decoder_free(da);
		ingest_decoder_free(db);
		coll_free(&a);
		coll_free(&b);
	}
}

/* Collects each post rendered both ways. */
struct twice {
	size_t n;       /* posts compared */
	char *buf;      /* bw_post_append_json() output, reused */
	size_t len;     /* bytes in buf */
	size_t cap;     /* allocation of buf */
};

static int compare_post(const struct bw_post *p, void *opaque)
{
	struct twice *t = opaque;
	json_t *j = bw_post_to_json(p);
	char *want = json_dumps(j, JSON_COMPACT);

	t->len = 0;
	assert_int_equal(bw_post_append_json(p, &t->buf, &t->len, &t->cap), 0);
	assert_true(t->len > 0 && t->buf[t->len - 1] == '\n');
	if (strlen(want) != t->len - 1 || memcmp(want, t->buf, t->len - 1) != 0)
		fail_msg("writer differs from jansson:\n%s\n%.*s", want, (int)t->len, t->buf);
	free(want);
	json_decref(j);
	t->n++;
	return 0;
}

/* The direct writer produces exactly jansson's compact bytes. */
static void test_append_json_matches_jansson(void **state)
{
	(void)state;
	static const char *const files[] = {
		"fixtures/twitter_v1_stream/python-twitter_streaming_lines.ndjson",
		"fixtures/twitter_v1_stream/tweet_parser_original_format_examples.ndjson",
		"fixtures/twitter_v2/twarc-csv_tweets_lookup_withheld_and_errors.jsonl",
		"fixtures/mastodon/mastodonpy_sse_streaming_user_update_notification_delete_status-update.txt",
		"fixtures/bluesky_jetstream/jetstream_v1_production_window_152_events.jsonl",
		"dev/tweets_partial_4accounts.ndjson.gz",
	};
	struct twice t = { 0 };
	struct bw_decode_opts o = { .probe_time_ms = BW_TIME_NONE, .on_post = compare_post, .opaque = &t };
	char err[256], path[512];
	struct bw_decoder *d = ingest_decoder_new(&o, err, sizeof(err));
	struct bw_post p;
	struct bw_mention m[2] = { { "1", "a\"b" }, { NULL, "c" } };
	const char *tags[] = { "x\x01\x1f\x7f/", NULL };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_int_equal(ingest_decode_file(d, data_path(files[i], path, sizeof(path)), err, sizeof(err)), 0);
	assert_true(t.n > 7000);
	/* every escape, invalid UTF-8, a profile record with a negative time */
	bw_post_init(&p);
	p.platform = "twitter";
	p.text = "q\"b\\s\bf\fn\nr\rt\tu\x01\x1f\x7f/é😀";
	p.source = "bad \xff\xfe utf8 é";
	p.author.id = "7";
	p.author.created_at_ms = -1234567;
	p.author.bot = BW_TRI_TRUE;
	p.n_hashtags = 2;
	p.hashtags = tags;
	p.n_mentions = 2;
	p.mentions = m;
	p.n_urls = 1;
	p.urls = (const char *[]){ "\xc3" };
	p.flags = BW_POSTF_EMBEDDED | BW_POSTF_PROBE_DEFAULT;
	assert_int_equal(compare_post(&p, &t), 0);
	p.kind = BW_POST_PROFILE;
	p.created_at_ms = 1500000000123LL;
	assert_int_equal(compare_post(&p, &t), 0);
	ingest_decoder_free(d);
	free(t.buf);
}

/* Regression (issue 20): a .gz cut before its trailer replayed with exit 0 and
 * no report. Now ingest_decode_file() fails with BW_EIO naming the cut, after
 * decoding everything before it. */
static void test_truncated_gzip(void **state)
{
	(void)state;
	char path[] = "/tmp/bw_decode_gz_XXXXXX", err[256];
	int fd = mkstemp(path);
	gzFile gz;
	struct coll c;
	struct bw_decoder *d;
	long size;

	assert_true(fd >= 0);
	assert_non_null(gz = gzdopen(dup(fd), "wb"));
	for (int i = 1; i <= 500; i++)
		gzprintf(gz, "{\"id_str\":\"%d\",\"text\":\"x\",\"user\":{\"id_str\":\"%d\"}}\n", i,
			 1000 + i);
	assert_int_equal(gzclose(gz), Z_OK);
	/* whole: decodes cleanly */
	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_file(d, path, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(c.posts), 500);
	ingest_decoder_free(d);
	coll_free(&c);
	/* the 8-byte trailer (CRC-32, length) cut by 4 bytes */
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(ftruncate(fd, size - 4), 0);
	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_file(d, path, err, sizeof(err)), BW_EIO);
	assert_non_null(strstr(err, "truncated gzip input"));
	assert_non_null(strstr(err, path));
	assert_int_equal(json_array_size(c.posts), 500); /* nothing before the cut is lost */
	ingest_decoder_free(d);
	coll_free(&c);
	close(fd);
	unlink(path);
}

/* Lines longer than a read chunk are assembled, capped and dead-lettered;
 * a tiny cap still quotes a full excerpt without reading past the buffer. */
static void test_long_lines_in_files(void **state)
{
	(void)state;
	static const char good[] = "{\"id_str\":\"1\",\"text\":\"a\",\"user\":{\"id_str\":\"2\"}}\n";
	char path[] = "/tmp/bw_decode_long_XXXXXX", err[256];
	size_t big = 600000;
	char *line = malloc(big + 1);
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct coll c;
	struct bw_decoder *d;

	assert_non_null(f);
	memset(line, 'x', big);
	line[0] = '"';
	line[big - 1] = '"';
	line[big] = '\n';
	fputs(good, f);
	fwrite(line, 1, big + 1, f);
	fputs(good, f);
	fclose(f);
	for (size_t cap = 100; cap <= 1048576; cap = cap == 100 ? 1048576 : cap * 2) {
		d = new_dec(&c, cap, 0, BW_TIME_NONE);
		assert_int_equal(ingest_decode_file(d, path, err, sizeof(err)), 0);
		assert_int_equal(json_array_size(c.posts), 2); /* the good lines around it */
		assert_int_equal(ingest_decoder_stats(d)->units, 3);
		assert_int_equal(ingest_decoder_stats(d)->bytes, 2 * strlen(good) + big + 1);
		assert_int_equal(json_array_size(c.dlq), 1);
		/* under 1 MiB the line is a JSON string: unknown_shape; under 100 bytes too_large */
		assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"),
				    cap < 1000 ? "too_large" : "unknown_shape");
		assert_int_equal(jint(json_array_get(c.dlq, 0), "line"), 2);
		assert_int_equal(strlen(jstr(json_array_get(c.dlq, 0), "excerpt")), 200);
		ingest_decoder_free(d);
		coll_free(&c);
	}
	unlink(path);
	free(line);
}

/* Regression (ASan): a line longer than the cap and than a read chunk keeps
 * only its first bytes; the SSE assembler and the length-line check read
 * past them. Both now see only the bytes kept. */
static void test_long_lines_sse_and_length(void **state)
{
	(void)state;
	static const char good[] = "event: update\ndata: {\"id\":\"1\",\"content\":\"c\",\"account\":{\"id\":\"2\"}}\n\n";
	char path[] = "/tmp/bw_decode_long_sse_XXXXXX", err[256];
	size_t big = 600000;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct coll c;
	struct bw_decoder *d;

	assert_non_null(f);
	fputs("event: update\ndata: ", f);
	for (size_t i = 0; i < big; i++)
		fputc('1', f); /* all digits: also a candidate length line */
	fputs("\n\n", f);
	fputs(good, f);
	fclose(f);
	for (size_t cap = 100; cap <= 1048576; cap = cap == 100 ? 1048576 : cap * 2) {
		d = new_dec(&c, cap, 0, BW_TIME_NONE);
		assert_int_equal(ingest_decode_file(d, path, err, sizeof(err)), 0);
		assert_int_equal(json_array_size(c.posts), 1);
		assert_int_equal(json_array_size(c.dlq), 1);
		assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"),
				    cap < big ? "too_large" : "number_range"); /* 600,000 digits */
		ingest_decoder_free(d);
		coll_free(&c);
	}
	/* the same digits as a bare NDJSON line: never taken for a length line */
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < big; i++)
		fputc('7', f);
	fputs("\n{\"id_str\":\"1\",\"text\":\"a\",\"user\":{\"id_str\":\"2\"}}\n", f);
	fclose(f);
	d = new_dec(&c, 100, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_file(d, path, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(c.posts), 1);
	assert_int_equal(json_array_size(c.dlq), 1);
	assert_string_equal(jstr(json_array_get(c.dlq, 0), "reason"), "too_large");
	assert_int_equal(ingest_decoder_stats(d)->length_lines, 0);
	ingest_decoder_free(d);
	coll_free(&c);
	unlink(path);
}

static void test_unreadable_file(void **state)
{
	(void)state;
	struct coll c;
	char err[256];
	struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);

	assert_int_equal(ingest_decode_file(d, "/nonexistent/x.ndjson", err, sizeof(err)), BW_EIO);
	assert_string_equal(err, "/nonexistent/x.ndjson: No such file or directory");
	ingest_decoder_free(d);
	coll_free(&c);
}


/* --- v1.1 delimited=length captures ------------------------------------------ */

/* The v1.1 stream fixture written as a delimited=length capture: each line
 * preceded by its length. `count` is what the length counts beyond the JSON
 * (2: Twitter's "\r\n", 1: a "\n", 0: nothing); `crlf` writes "\r\n" endings. */
static char *length_capture(size_t extra, bool crlf, size_t *out_len)
{
	char path[512], *line = NULL, *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *in = fopen(data_path("fixtures/twitter_v1_stream/python-twitter_streaming_lines.ndjson", path, sizeof(path)), "r");
	FILE *out = open_memstream(&buf, &len);
	ssize_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		fprintf(out, "%zu%s%s%s", (size_t)n + extra, crlf ? "\r\n" : "\n", line, crlf ? "\r\n" : "\n");
		if (crlf)
			fputs("\r\n", out); /* a keep-alive between statuses */
	}
	free(line);
	fclose(in);
	fclose(out);
	*out_len = len;
	return buf;
}

/* Regression: a saved delimited=length stream sent its length lines to the DLQ. */
static void test_length_lines_are_framing(void **state)
{
	(void)state;
	static const struct { size_t extra; bool crlf; } variants[] = {
		{ 2, true }, { 2, false }, { 1, false }, { 0, true }, { 0, false },
	};
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		size_t len;
		char *buf = length_capture(variants[v].extra, variants[v].crlf, &len);
		struct coll c;
		struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);
		const struct bw_decode_stats *s = ingest_decoder_stats(d);

		assert_int_equal(ingest_decode_buffer(d, buf, len, "capture"), 0);
		/* exactly the plain file's 72 statuses (+8 embedded), nothing dead-lettered */
		assert_int_equal(json_array_size(c.posts), 80);
		assert_int_equal(json_array_size(c.dlq), 0);
		assert_int_equal(s->length_lines, 72);
		assert_int_equal(s->units, 72 + (variants[v].crlf ? 72 : 0)); /* + keep-alives */
		ingest_decoder_free(d);
		coll_free(&c);
		/* forced v1.1 reads them too; forced ndjson or v2 does not */
		d = new_dec_fmt(&c, 0, 0, BW_TIME_NONE, INGEST_FORMAT_V11);
		assert_int_equal(ingest_decode_buffer(d, buf, len, "capture"), 0);
		assert_int_equal(ingest_decoder_stats(d)->length_lines, 72);
		assert_int_equal(json_array_size(c.dlq), 0);
		ingest_decoder_free(d);
		coll_free(&c);
		d = new_dec_fmt(&c, 0, 0, BW_TIME_NONE, INGEST_FORMAT_NDJSON);
		assert_int_equal(ingest_decode_buffer(d, buf, len, "capture"), 0);
		assert_int_equal(ingest_decoder_stats(d)->length_lines, 0);
		assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_UNKNOWN_SHAPE], 72);
		ingest_decoder_free(d);
		coll_free(&c);
		free(buf);
	}
}

/* Only a length that matches the next line is framing; any other digits
 * line is dead-lettered as before, at its own line number. */
static void test_length_lines_must_match(void **state)
{
	(void)state;
	static const char st[] = "{\"id_str\":\"1\",\"text\":\"a\",\"user\":{\"id_str\":\"2\"}}";
	static const struct { json_int_t line; const char *reason; } want[] = {
		{ 1, "unknown_shape" }, { 3, "unknown_shape" }, { 6, "unknown_shape" },
		{ 7, "invalid_json" }, { 10, "unknown_shape" },
	};
	size_t L = strlen(st);
	char buf[1024];
	struct coll c;
	struct bw_decoder *d = new_dec(&c, 0, 0, BW_TIME_NONE);

	snprintf(buf, sizeof(buf),
		 "%zu\n%s\n"       /* 1-2: one short of the status: DLQ, the status decoded */
		 "%zu\n%zu\n%s\n"  /* 3-5: followed by a digits line: DLQ; then framing */
		 "8\nnot json\n"   /* 6-7: 8 bytes, but not a JSON object: both DLQ */
		 "%zu\n%s\n"       /* 8-9: framing */
		 "%zu\n",          /* 10: a length line at the very end: DLQ */
		 L - 1, st, L + 3, L + 2, st, L, st, L);
	assert_int_equal(ingest_decode_buffer(d, buf, strlen(buf), "cap"), 0);
	assert_int_equal(json_array_size(c.posts), 3);
	assert_int_equal(ingest_decoder_stats(d)->length_lines, 2);
	assert_int_equal(json_array_size(c.dlq), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(jint(json_array_get(c.dlq, i), "line"), want[i].line);
		assert_string_equal(jstr(json_array_get(c.dlq, i), "reason"), want[i].reason);
	}
	ingest_decoder_free(d);
	coll_free(&c);
}

/* --- ingest.format ---------------------------------------------------------- */

/* Posts and DLQ records of one fixture decoded in one format. */
struct fmt_case {
	const char *rel;          /* fixture under ../shared/data */
	enum ingest_format fmt;   /* forced format */
	size_t posts;             /* posts expected */
	size_t wrong;             /* wrong_format DLQ records expected */
	const char *detail;       /* substring of the first wrong_format detail, or NULL */
};

static void check_fmt_case(const struct fmt_case *fc)
{
	struct coll c;
	struct bw_decoder *d = decode_data_fmt(&c, fc->rel, BW_TIME_NONE, fc->fmt);
	size_t i, wrong = 0;
	json_t *r;
	const char *first = NULL;

	json_array_foreach(c.dlq, i, r) {
		if (strcmp(jstr(r, "reason"), "wrong_format") != 0)
			continue;
		if (!wrong++)
			first = jstr(r, "detail");
	}
	if (json_array_size(c.posts) != fc->posts || wrong != fc->wrong)
		fail_msg("%s as %s: %zu posts, %zu wrong_format (want %zu, %zu)", fc->rel,
			 ingest_format_name(fc->fmt), json_array_size(c.posts), wrong, fc->posts,
			 fc->wrong);
	if (fc->detail && (!first || !strstr(first, fc->detail)))
		fail_msg("%s as %s: detail '%s' lacks '%s'", fc->rel, ingest_format_name(fc->fmt),
			 first ? first : "(none)", fc->detail);
	assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_WRONG_FORMAT], wrong);
	ingest_decoder_free(d);
	coll_free(&c);
}

/* A forced format decodes its own fixtures exactly as auto does and
 * dead-letters every other shape, naming the format it expected. */
static void test_format_forced_on_fixtures(void **state)
{
	(void)state;
	static const char v1[] = "fixtures/twitter_v1_stream/python-twitter_streaming_lines.ndjson";
	static const char v2[] = "fixtures/twitter_v2/twarc-csv_search_recent_brexit_page.jsonl";
	static const char sse[] = "fixtures/mastodon/mastodonpy_sse_streaming_user_update_notification_delete_status-update.txt";
	static const char js[] = "fixtures/bluesky_jetstream/jetstream_v1_golden_10_events.jsonl";
	static const char pretty[] = "fixtures/twitter_v1_stream_control/hbc_status-deletion.json";
	static const char timeline[] = "fixtures/twitter_v1_rest/tweepy_home_timeline.json";
	static const char masto[] = "fixtures/mastodon/mastodonpy_status_get.json";
	static const struct fmt_case cases[] = {
		{ v1, INGEST_FORMAT_AUTO, 80, 0, NULL },
		{ v1, INGEST_FORMAT_V11, 80, 0, NULL },
		{ v1, INGEST_FORMAT_NDJSON, 80, 0, NULL },
		{ v1, INGEST_FORMAT_V2, 0, 72,
		  "ingest.format is v2: expected a v2 stream line, page or tweet, got a v1.1 status" },
		{ v1, INGEST_FORMAT_SSE, 0, 72, "ingest.format is sse: expected a Mastodon status in "
		  "an SSE event, got a line that is not an SSE field" },
		{ v2, INGEST_FORMAT_V2, 159, 0, NULL },
		{ v2, INGEST_FORMAT_TWARC2, 159, 0, NULL },
		{ v2, INGEST_FORMAT_V11, 0, 1, "ingest.format is v1.1: expected a v1.1 status, control "
		  "message, timeline, search response or profile-only record, got a v2 stream line or page" },
		{ sse, INGEST_FORMAT_SSE, 3, 0, NULL },
		/* every line of the SSE body is named, blank and comment lines aside */
		{ sse, INGEST_FORMAT_V11, 0, 14, "ingest.format is v1.1: expected a v1.1 status, "
		  "control message, timeline, search response or profile-only record, got an SSE line" },
		{ sse, INGEST_FORMAT_NDJSON, 0, 14, "got an SSE line" },
		{ js, INGEST_FORMAT_NDJSON, 3, 0, NULL },
		{ js, INGEST_FORMAT_TWARC2, 0, 10, "expected a twarc2 page or flattened tweet, got a "
		  "Bluesky Jetstream event" },
		{ timeline, INGEST_FORMAT_V11, 22, 0, NULL }, /* one document: 19 statuses + 3 embedded */
		{ timeline, INGEST_FORMAT_V2, 0, 19, "got a v1.1 status" },
		{ masto, INGEST_FORMAT_NDJSON, 1, 0, NULL },
		{ masto, INGEST_FORMAT_SSE, 0, 1, "got a line that is not an SSE field" }, /* unframed */
		{ masto, INGEST_FORMAT_V11, 0, 1, "got a Mastodon status" },
		{ pretty, INGEST_FORMAT_V11, 1, 0, NULL },   /* pretty-printed control: a document */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_fmt_case(&cases[i]);
}

/* ndjson reads one JSON value per line: a pretty-printed document is not
 * gathered, each of its lines is dead-lettered where it stands. */
static void test_format_ndjson_no_documents(void **state)
{
	(void)state;
	struct coll c;
	struct bw_decoder *d = decode_data_fmt(&c, "fixtures/twitter_v1_stream_control/hbc_status-deletion.json",
					       BW_TIME_NONE, INGEST_FORMAT_NDJSON);

	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(ingest_decoder_stats(d)->units, 10);
	assert_int_equal(ingest_decoder_stats(d)->dlq[BW_DLQ_INVALID_JSON], 10); /* "{" ... "}" */
	assert_int_equal(jint(json_array_get(c.dlq, 0), "line"), 1);
	ingest_decoder_free(d);
	coll_free(&c);
}

/* A mixed file under v1.1: the v1.1 lines decode, the others are dead-lettered
 * at their own line numbers; auto decodes them all. */
static void test_format_mixed_lines(void **state)
{
	(void)state;
	static const char mixed[] =
		"{\"id_str\":\"1\",\"text\":\"a\",\"user\":{\"id_str\":\"2\"}}\n"
		"{\"data\":{\"id\":\"3\",\"text\":\"b\",\"author_id\":\"4\"}}\n"
		"{\"id\":\"5\",\"content\":\"<p>c</p>\",\"account\":{\"id\":\"6\",\"acct\":\"m\"}}\n"
		"{\"limit\":{\"track\":7}}\n"
		"{\"user\":{\"id_str\":\"8\",\"created_at\":\"Mon Jan 01 00:00:00 +0000 2018\"},\"created_at\":\"2019-01-01T00:00:00Z\"}\n"
		"{\"v\":1,\"kind\":\"original\",\"author\":{\"id\":\"9\"},\"id\":\"10\",\"platform\":\"twitter\"}\n";
	struct coll c;
	struct bw_decoder *d = new_dec_fmt(&c, 0, 0, BW_TIME_NONE, INGEST_FORMAT_V11);

	assert_int_equal(ingest_decode_buffer(d, mixed, strlen(mixed), "mixed"), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 2); /* the status and the profile */
	assert_int_equal(ingest_decoder_stats(d)->control[BW_CTRL_LIMIT], 1);
	assert_int_equal(json_array_size(c.dlq), 3);
	assert_int_equal(jint(json_array_get(c.dlq, 0), "line"), 2);
	assert_int_equal(jint(json_array_get(c.dlq, 1), "line"), 3);
	assert_int_equal(jint(json_array_get(c.dlq, 2), "line"), 6);
	assert_non_null(strstr(jstr(json_array_get(c.dlq, 2), "detail"), "got a botwatch record"));
	ingest_decoder_free(d);
	coll_free(&c);

	d = new_dec(&c, 0, 0, BW_TIME_NONE);
	assert_int_equal(ingest_decode_buffer(d, mixed, strlen(mixed), "mixed"), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	assert_int_equal(json_array_size(c.posts), 5);
	assert_int_equal(json_array_size(c.dlq), 0);
	ingest_decoder_free(d);
	coll_free(&c);
	/* under sse an event's data must be a Mastodon status */
	static const char sse_v1[] = "event: update\ndata: {\"id_str\":\"1\",\"text\":\"a\",\"user\":{\"id_str\":\"2\"}}\n\n";
	d = new_dec_fmt(&c, 0, 0, BW_TIME_NONE, INGEST_FORMAT_SSE);
	assert_int_equal(ingest_decode_buffer(d, sse_v1, strlen(sse_v1), "sse"), 0);
	assert_int_equal(json_array_size(c.posts), 0);
	assert_int_equal(json_array_size(c.dlq), 1);
	assert_string_equal(jstr(json_array_get(c.dlq, 0), "detail"),
			    "ingest.format is sse: expected a Mastodon status in an SSE event, got a v1.1 status");
	ingest_decoder_free(d);
	coll_free(&c);
	assert_int_equal(ingest_format_parse("twarc2"), INGEST_FORMAT_TWARC2);
	assert_string_equal(ingest_format_name(INGEST_FORMAT_V11), "v1.1");
	assert_string_equal(bw_dlq_reason_name(BW_DLQ_WRONG_FORMAT), "wrong_format");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extended_tweet_full_text),
		cmocka_unit_test(test_retweet_refs_and_embedded),
		cmocka_unit_test(test_v2_author_join_and_twarc_page),
		cmocka_unit_test(test_mastodon_account_and_sse),
		cmocka_unit_test(test_deletion_and_control_counts),
		cmocka_unit_test(test_cresci_archive_counts_without_names),
		cmocka_unit_test(test_profile_probe_time_rules),
		cmocka_unit_test(test_profile_hold_cap),
		cmocka_unit_test(test_dlq_line_by_line),
		cmocka_unit_test(test_truncated_gzip),
		cmocka_unit_test(test_bad_account_ids),
		cmocka_unit_test(test_nul_in_text_kept),
		cmocka_unit_test(test_future_post_dead_lettered),
		cmocka_unit_test(test_depth_cap_boundary),
		cmocka_unit_test(test_sse_assembler),
		cmocka_unit_test(test_jetstream),
		cmocka_unit_test(test_jetstream_profile_cache),
		cmocka_unit_test(test_synthetic_shapes),
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_append_json_matches_jansson),
		cmocka_unit_test(test_long_lines_in_files),
		cmocka_unit_test(test_long_lines_sse_and_length),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_format_forced_on_fixtures),
		cmocka_unit_test(test_format_ndjson_no_documents),
		cmocka_unit_test(test_format_mixed_lines),
		cmocka_unit_test(test_length_lines_are_framing),
		cmocka_unit_test(test_length_lines_must_match),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
