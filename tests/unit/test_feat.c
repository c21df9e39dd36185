/*
 * test_feat.c — the feature registry and per-account state on synthetic
 * timelines with known answers (records built by hand, no decoder): a strictly
 * periodic poster, a constant account, a single post; order independence,
 * idempotency, finiteness, save/load round trips, bounded windows, profile
 * snapshots, observations, text analysis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat.h"

#define T0 1500000000000LL /* 2017-07-14T02:40:00Z */

static double *vec(void)
{
	double *v = calloc(feat_count(), sizeof(double));
	assert_non_null(v);
	return v;
}

static double get(const double *v, const char *name)
{
	long i = feat_index(name);
	if (i < 0)
		fail_msg("no feature %s", name);
	return v[i];
}

/* A post by `uid` with everything absent except what a test sets. */
static void post_init(struct bw_post *p, const char *uid, const char *id, int64_t t)
{
	memset(p, 0, sizeof(*p));
	p->kind = BW_POST_ORIGINAL;
	p->platform = "twitter";
	p->id = id;
	p->created_at_ms = t;
	p->author.id = uid;
	p->author.created_at_ms = BW_TIME_NONE;
	p->author.followers_count = p->author.friends_count = p->author.statuses_count = -1;
	p->author.favourites_count = p->author.listed_count = -1;
	p->author.verified = p->author.protected_ = p->author.default_profile = BW_TRI_UNKNOWN;
	p->author.default_profile_image = p->author.profile_use_background_image = BW_TRI_UNKNOWN;
	p->author.geo_enabled = p->author.bot = BW_TRI_UNKNOWN;
	p->retweet_count = p->favorite_count = p->reply_count = p->quote_count = -1;
}

static void assert_all_finite(const double *v)
{
	for (size_t i = 0; i < feat_count(); i++)
		if (!isfinite(v[i]))
			fail_msg("%s is not finite", feat_def_get(i)->name);
}

static void assert_close(double got, double want, double tol, const char *what)
{
	if (fabs(got - want) > tol * (1.0 + fabs(want)))
		fail_msg("%s: got %.12g, want %.12g", what, got, want);
}

/* ---- registry ----------------------------------------------------------------- */

static void test_registry(void **state)
{
	(void)state;
	size_t n = feat_count(), per[FEAT__NCLASS] = { 0 };
	static const char *const required[] = {
		"user.statuses_count", "user.followers_count", "user.friends_count",
		"user.favourites_count", "user.listed_count", "user.tweet_freq",
		"user.followers_growth_rate", "user.friends_growth_rate",
		"user.followers_friends_ratio", "user.screen_name_length",
		"user.num_digits_in_screen_name", "user.name_length", "user.description_length",
		"user.screen_name_likelihood", "user.account_age_days", "content.retweet_share",
		"content.reply_share", "content.hashtags_per_post.mean", "content.urls_per_post.mean",
		"temporal.post_gap_seconds.mean", "temporal.post_gap_seconds.median",
		"temporal.post_gap_seconds.std",
	};

	assert_true(n >= 1150);
	for (size_t i = 0; i < n; i++) {
		const struct feat_def *d = feat_def_get(i);
		const char *dot = strchr(d->name, '.');
		assert_non_null(dot);
		char cls[32];
		assert_true((size_t)(dot - d->name) < sizeof(cls));
		memcpy(cls, d->name, (size_t)(dot - d->name));
		cls[dot - d->name] = '\0';
		assert_int_equal(feat_class_parse(cls), (int)d->cls);
		assert_int_equal(feat_index(d->name), (long)i); /* unique */
		assert_true(strlen(d->description) > 3);
		assert_true(strlen(d->how) > 3);
		assert_true(d->universal == (d->cls != FEAT_CONTENT && d->cls != FEAT_SENTIMENT));
		per[d->cls]++;
	}
	for (int c = 0; c < FEAT__NCLASS; c++)
		assert_true(per[c] >= 40);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_true(feat_index(required[i]) >= 0);
	assert_null(feat_def_get(n));
	assert_int_equal(feat_index("user.no_such"), -1);
	assert_int_equal(strlen(feat_schema_hash()), 16);
	assert_string_equal(feat_class_name(FEAT_SENTIMENT), "sentiment");
}

static void test_list_and_markdown(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(feat_write_list(f), 0);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, feat_count());
	assert_memory_equal(buf, "0\tuser.statuses_count\tuser\t", 26);
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(feat_write_markdown(f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "`temporal.post_gap_seconds.median`"));
	assert_non_null(strstr(buf, feat_schema_hash()));
	free(buf);
}

/* ---- synthetic timelines -------------------------------------------------------- */

static struct feat_account *periodic(size_t n, int64_t gap_ms, bool twice)
{
	struct feat_account *a = feat_account_new("42");
	char id[32];
	struct bw_post p;

	for (size_t k = 0; k < (twice ? 2u : 1u); k++) {
		for (size_t i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "%zu", 1000 + i);
			post_init(&p, "42", id, T0 + (int64_t)i * gap_ms);
			p.text = "Scheduled post number one with a #tag http://x.example/y";
			p.n_hashtags = 1;
			p.n_urls = 1;
			p.author.screen_name = "clock_bot";
			p.author.statuses_count = 5000;
			p.author.followers_count = 10;
			p.author.friends_count = 0;
			p.author.created_at_ms = T0 - 10LL * 86400000;
			assert_int_equal(feat_account_update(a, &p), 0);
		}
	}
	return a;
}

static void test_periodic_poster(void **state)
{
	(void)state;
	struct feat_account *a = periodic(100, 3600000, false);
	double *v = vec();

	assert_int_equal(feat_account_posts(a), 100);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_all_finite(v);
	assert_close(get(v, "temporal.post_gap_seconds.mean"), 3600, 1e-12, "mean");
	assert_close(get(v, "temporal.post_gap_seconds.median"), 3600, 1e-12, "median");
	assert_true(get(v, "temporal.post_gap_seconds.std") == 0);
	assert_true(get(v, "temporal.post_gap_seconds.skew") == 0);
	assert_true(get(v, "temporal.post_gap_seconds.entropy") == 0);
	assert_close(get(v, "temporal.post_burstiness"), -1, 1e-12, "burstiness");
	assert_close(get(v, "temporal.post_regularity"), 1, 1e-12, "regularity");
	assert_close(get(v, "temporal.hourly_rhythm"), 1, 1e-9, "hourly rhythm");
	assert_close(get(v, "temporal.active_hours"), 100, 0, "active hours");
	/* 99 gaps of one hour: span 99 h; probe = last post */
	assert_close(get(v, "temporal.span_days"), 99.0 / 24, 1e-12, "span");
	assert_close(get(v, "user.account_age_days"), 10 + 99.0 / 24, 1e-12, "age");
	assert_close(get(v, "user.tweet_freq"), 5000 / (10 + 99.0 / 24), 1e-12, "tweet_freq");
	assert_close(get(v, "user.followers_friends_ratio"), 10, 0, "ff ratio"); /* / max(0,1) */
	assert_close(get(v, "content.hashtags_per_post.mean"), 1, 0, "hashtags");
	assert_close(get(v, "content.urls_per_post.mean"), 1, 0, "urls");
	assert_close(get(v, "content.original_share"), 1, 0, "originals");
	assert_close(get(v, "content.duplicate_text_share"), 0.99, 1e-12, "dup share");
	feat_account_free(a);
	free(v);
}

static void test_constant_and_single(void **state)
{
	(void)state;
	struct feat_account *a = feat_account_new("7");
	double *v = vec();
	struct bw_post p;

	/* single post: no gaps; every gap statistic is 0 */
	post_init(&p, "7", "1", T0);
	p.text = "hello";
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_all_finite(v);
	assert_true(get(v, "temporal.post_gap_seconds.mean") == 0);
	assert_true(get(v, "temporal.post_gap_seconds.median") == 0);
	assert_true(get(v, "temporal.post_gap_seconds.std") == 0);
	assert_close(get(v, "content.text_chars.mean"), 5, 0, "chars");
	assert_close(get(v, "content.words.max"), 1, 0, "words");
	/* absent profile fields are neutral: 0, never a distinct "missing" value */
	assert_true(get(v, "user.followers_count") == 0);
	assert_true(get(v, "user.default_profile") == 0);
	assert_true(get(v, "user.account_age_days") == 0);
	/* constant: ten posts at the same instant with distinct ids */
	for (int i = 2; i <= 10; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%d", i);
		post_init(&p, "7", id, T0);
		p.text = "hello";
		assert_int_equal(feat_account_update(a, &p), 0);
	}
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_all_finite(v);
	assert_true(get(v, "temporal.post_gap_seconds.max") == 0);
	assert_close(get(v, "temporal.post_gap_under_1s_share"), 1, 0, "under 1s");
	assert_true(get(v, "content.text_chars.std") == 0);
	assert_true(get(v, "content.text_chars.kurtosis") == 0);
	assert_close(get(v, "content.duplicate_text_share"), 0.9, 1e-12, "dup");
	assert_close(get(v, "temporal.max_posts_in_hour"), 10, 0, "max in hour");
	feat_account_free(a);
	free(v);
}

/* A varied timeline: kinds, entities, texts, profiles, engagement. */
static void varied_post(struct bw_post *p, size_t i, char *id, size_t idlen,
			struct bw_mention *m, const char **tags, struct bw_profile *ref)
{
	static const char *const texts[] = {
		"I love this beautiful day :) #sun",
		"RT @bob: The worst news ever, so sad :( http://t.co/x",
		"@carol thanks!!! see you tomorrow \xF0\x9F\x98\x80\xF0\x9F\x87\xAE\xF0\x9F\x87\xB9",
		"Quickly running to the station, 3 trains late again",
		"Ciao a tutti, che bella giornata \xE2\x9D\xA4",
	};
	snprintf(id, idlen, "%zu", 5000 + i * 7);
	post_init(p, "99", id, T0 + (int64_t)(i * i % 97) * 61000 + (int64_t)i * 3000);
	p->text = texts[i % 5];
	p->source = i % 3 ? "Twitter Web Client" : "Buffer";
	p->lang = i % 5 == 4 ? "it" : "en";
	p->author.screen_name = "ann_2017";
	p->author.name = "Ann";
	p->author.lang = "en";
	p->author.statuses_count = 1000 + (int64_t)i; /* latest snapshot wins */
	p->author.followers_count = 50;
	p->author.friends_count = 60;
	p->author.created_at_ms = T0 - 400LL * 86400000;
	p->retweet_count = (int64_t)(i % 4);
	p->favorite_count = (int64_t)(i % 6);
	switch (i % 4) {
	case 1:
		p->kind = BW_POST_RETWEET;
		p->ref_post_id = "777";
		memset(ref, 0, sizeof(*ref));
		ref->id = "1234";
		ref->screen_name = "bob";
		ref->followers_count = 1000;
		ref->friends_count = 10;
		ref->statuses_count = 5;
		ref->favourites_count = ref->listed_count = -1;
		ref->created_at_ms = T0 - 30LL * 86400000;
		ref->lang = "en";
		ref->default_profile = BW_TRI_TRUE;
		p->ref_author = ref;
		m[0].id = "1234", m[0].screen_name = "bob";
		p->mentions = m, p->n_mentions = 1;
		p->n_urls = 1;
		break;
	case 2:
		p->kind = BW_POST_REPLY;
		p->in_reply_to_post_id = "555";
		p->in_reply_to_user_id = "888";
		m[0].id = "888", m[0].screen_name = "carol";
		m[1].id = NULL, m[1].screen_name = "dave";
		p->mentions = m, p->n_mentions = 2;
		break;
	default:
		tags[0] = "sun", tags[1] = "Day";
		p->hashtags = tags, p->n_hashtags = i % 8 == 0 ? 2 : 1;
		break;
	}
}

static struct feat_account *varied(const size_t *order, size_t n, size_t repeat)
{
	struct feat_account *a = feat_account_new("99");
	struct bw_post p;
	struct bw_mention m[2];
	const char *tags[2];
	struct bw_profile ref;
	char id[32];

	for (size_t r = 0; r < repeat; r++) {
		for (size_t k = 0; k < n; k++) {
			varied_post(&p, order[k], id, sizeof(id), m, tags, &ref);
			assert_int_equal(feat_account_update(a, &p), 0);
		}
	}
	return a;
}

static void assert_vec_close(const double *x, const double *y, double tol)
{
	for (size_t i = 0; i < feat_count(); i++)
		if (fabs(x[i] - y[i]) > tol * (1 + fabs(x[i])))
			fail_msg("%s differs: %.17g vs %.17g", feat_def_get(i)->name, x[i], y[i]);
}

static void test_order_and_duplicates(void **state)
{
	(void)state;
	enum { N = 60 };
	size_t order[N], rev[N];
	double *v1 = vec(), *v2 = vec(), *v3 = vec();
	struct feat_account *a, *b, *c;

	for (size_t i = 0; i < N; i++)
		order[i] = i, rev[i] = (i * 37) % N; /* a permutation: 37 is prime to 60 */
	a = varied(order, N, 1);
	b = varied(rev, N, 1);
	c = varied(order, N, 3); /* every post three times */
	assert_int_equal(feat_account_posts(a), N);
	assert_int_equal(feat_account_posts(c), N);
	assert_int_equal(feat_account_extract(a, T0 + 86400000LL * 3, v1), 0);
	assert_int_equal(feat_account_extract(b, T0 + 86400000LL * 3, v2), 0);
	assert_int_equal(feat_account_extract(c, T0 + 86400000LL * 3, v3), 0);
	assert_all_finite(v1);
	/* duplicates change nothing, bit for bit */
	assert_memory_equal(v1, v3, feat_count() * sizeof(double));
	/* order: exact where exact, moment sketches equal to rounding */
	assert_vec_close(v1, v2, 1e-9);
	assert_close(get(v1, "content.retweet_share"), 15.0 / N, 1e-15, "rt share");
	assert_close(get(v1, "content.reply_share"), 15.0 / N, 1e-15, "reply share");
	size_t latest = 0; /* the post with the latest event time carries the snapshot */
	for (size_t i = 0; i < N; i++)
		if ((i * i % 97) * 61 + i * 3 > (latest * latest % 97) * 61 + latest * 3)
			latest = i;
	assert_close(get(v1, "user.statuses_count"), 1000.0 + (double)latest, 0, "latest snapshot");
	assert_close(get(v1, "friend.retweeted.interactions"), 15, 0, "retweeted");
	assert_close(get(v1, "friend.retweeted.followers_count.mean"), 1000, 0, "rt followers");
	assert_close(get(v1, "friend.retweeted.age_days.min"), 30, 1e-3, "rt age");
	assert_close(get(v1, "friend.retweeted.default_profile_share"), 1, 0, "rt default");
	assert_close(get(v1, "friend.mentioned.distinct_accounts"), 3, 0, "mentioned");
	assert_close(get(v1, "network.mention.nodes"), 3, 0, "mention nodes");
	assert_close(get(v1, "network.mention.edges"), 1, 0, "mention edges");
	assert_close(get(v1, "network.hashtag.nodes"), 2, 0, "hashtag nodes");
	assert_close(get(v1, "content.sources"), 2, 0, "sources");
	assert_true(get(v1, "sentiment.emoji_flag.max") == 1);
	assert_true(get(v1, "sentiment.emoji_heart.max") == 1);
	assert_true(get(v1, "sentiment.emoticon_happy.max") == 1);
	assert_true(get(v1, "sentiment.polarity.min") < 0 && get(v1, "sentiment.polarity.max") > 0);
	assert_true(get(v1, "content.pos_adverb_share.max") > 0);
	/* random shuffles, with every post repeated at a random later point */
	uint64_t seed = 0x243F6A8885A308D3ull;
	for (int round = 0; round < 5; round++) {
		size_t shuf[2 * N];
		for (size_t i = 0; i < 2 * N; i++)
			shuf[i] = i % N;
		for (size_t i = 2 * N - 1; i > 0; i--) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			size_t j = (size_t)(seed >> 33) % (i + 1), t = shuf[i];
			shuf[i] = shuf[j], shuf[j] = t;
		}
		struct feat_account *d = varied(shuf, 2 * N, 1);
		assert_int_equal(feat_account_posts(d), N);
		assert_int_equal(feat_account_extract(d, T0 + 86400000LL * 3, v2), 0);
		assert_vec_close(v1, v2, 1e-9);
		feat_account_free(d);
	}
	feat_account_free(a);
	feat_account_free(b);
	feat_account_free(c);
	free(v1), free(v2), free(v3);
}

static void test_save_load_round_trip(void **state)
{
	(void)state;
	size_t order[40];
	double *v1 = vec(), *v2 = vec();
	void *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	char err[128];
	struct feat_account *a, *b;

	for (size_t i = 0; i < 40; i++)
		order[i] = i;
	a = varied(order, 40, 1);
	assert_int_equal(feat_account_save(a, &buf, &len), 0);
	b = feat_account_load(buf, len, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v1), 0);
	assert_int_equal(feat_account_extract(b, BW_TIME_NONE, v2), 0);
	assert_memory_equal(v1, v2, feat_count() * sizeof(double));
	assert_int_equal(feat_account_save(b, &buf2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	assert_string_equal(feat_account_screen_name(b), "ann_2017");
	/* continuing after a reload gives what continuing without it gives */
	struct bw_post p;
	post_init(&p, "99", "123456", T0 + 86400000LL * 2);
	p.text = "later";
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_update(b, &p), 0);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v1), 0);
	assert_int_equal(feat_account_extract(b, BW_TIME_NONE, v2), 0);
	assert_memory_equal(v1, v2, feat_count() * sizeof(double));
	/* every truncation fails cleanly */
	for (size_t cut = 0; cut < len; cut++) {
		struct feat_account *c = feat_account_load(buf, cut, err, sizeof(err));
		if (c)
			fail_msg("truncated state of %zu/%zu bytes loaded", cut, len);
	}
	assert_null(feat_account_load("BWFS\x09", 5, err, sizeof(err)));
	feat_account_free(a);
	feat_account_free(b);
	free(buf), free(buf2), free(v1), free(v2);
}

static void test_window_bound_and_late(void **state)
{
	(void)state;
	struct feat_account *a = periodic(10050, 60000, false);
	double *v = vec();
	void *buf;
	size_t len;
	struct bw_post p;

	assert_int_equal(feat_account_posts(a), 10050);
	/* older than the newest 10,000: counted as late, ignored */
	post_init(&p, "42", "1", T0 - 1000);
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_late(a), 1);
	assert_int_equal(feat_account_posts(a), 10050);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_close(get(v, "temporal.post_gap_seconds.mean"), 60, 1e-12, "gap");
	assert_close(get(v, "user.posts_seen"), 10050, 0, "posts");
	assert_int_equal(feat_account_save(a, &buf, &len), 0);
	assert_true(len < 10000 * 20 + 4096); /* bounded */
	free(buf);
	feat_account_free(a);
	free(v);
}

static void test_profiles_and_observations(void **state)
{
	(void)state;
	struct feat_account *a = feat_account_new("1");
	double *v = vec();
	struct bw_post p;
	struct bw_profile ref;

	/* profile-only records: the latest by event time wins whatever the order */
	post_init(&p, "1", NULL, T0 + 1000);
	p.kind = BW_POST_PROFILE;
	p.author.screen_name = "new_name";
	p.author.followers_count = 200;
	p.author.created_at_ms = T0 - 2LL * 86400000;
	assert_int_equal(feat_account_update(a, &p), 0);
	p.created_at_ms = T0;
	p.author.screen_name = "old_name1";
	p.author.followers_count = 100;
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_string_equal(feat_account_screen_name(a), "new_name");
	assert_int_equal(feat_account_posts(a), 0);
	assert_true(feat_account_authored(a));
	/* another account retweets this one (twice the same post: counted once) */
	for (int k = 0; k < 2; k++) {
		post_init(&p, "2", "900", T0 + 5000);
		p.kind = BW_POST_RETWEET;
		memset(&ref, 0, sizeof(ref));
		ref.id = "1";
		p.ref_author = &ref;
		p.author.followers_count = 7;
		p.author.friends_count = -1;
		assert_int_equal(feat_account_update(a, &p), 0);
	}
	/* a post naming someone else is not an observation of this account */
	post_init(&p, "3", "901", T0 + 6000);
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_close(get(v, "user.followers_count"), 200, 0, "latest");
	assert_close(get(v, "user.followers_delta_per_day"), 100, 1e-9, "delta"); /* over 1 s -> /1 day */
	assert_close(get(v, "user.screen_names_seen"), 2, 0, "names");
	assert_close(get(v, "user.num_digits_in_screen_name"), 0, 0, "digits");
	/* probe = the latest own record (the profile at T0 + 1 s), not the observation */
	assert_close(get(v, "user.account_age_days"), 2 + 1.0 / 86400, 1e-12, "age at last event");
	assert_close(get(v, "friend.retweeted_by.interactions"), 1, 0, "rt by");
	assert_close(get(v, "friend.retweeted_by.followers_count.mean"), 7, 0, "rt by followers");
	assert_true(get(v, "friend.retweeted_by.friends_count.max") == 0); /* absent: skipped */
	assert_int_equal(feat_account_update(a, NULL), BW_EINVAL);
	feat_account_free(a);
	free(v);
}

static void test_post_targets(void **state)
{
	(void)state;
	struct bw_post p;
	struct bw_profile ref;
	struct bw_mention m[4] = { { "20", "b" }, { NULL, "c" }, { "1", "self" }, { "20", "b" } };
	const char *t[8];

	post_init(&p, "1", "9", T0);
	memset(&ref, 0, sizeof(ref));
	ref.id = "20";
	p.kind = BW_POST_RETWEET;
	p.ref_author = &ref;
	p.in_reply_to_user_id = "30";
	p.mentions = m;
	p.n_mentions = 4;
	/* each other account once, in order; the author and id-less mentions left out */
	assert_int_equal(feat_post_targets(&p, t, 8), 2);
	assert_string_equal(t[0], "20");
	assert_string_equal(t[1], "30");
	assert_int_equal(feat_post_targets(&p, t, 1), 1);
	/* regression (issue 20): ids the decoder's rule refuses were tracked as
	 * observed accounts (`../../etc/passwd`, a newline, 26 digits) */
	struct bw_mention bad[3] = { { "a\nb", "x" }, { "99999999999999999999999999", "y" },
				     { "did:plc:abc", "z" } };
	p.in_reply_to_user_id = "../../etc/passwd";
	p.mentions = bad;
	p.n_mentions = 3;
	assert_int_equal(feat_post_targets(&p, t, 8), 2);
	assert_string_equal(t[0], "20");
	assert_string_equal(t[1], "did:plc:abc");
	/* regression (issue 20, fuzz_kafka): a count of mentions without names,
	 * as a Kafka value may carry, was walked to the count (2^32 - 1: seconds) */
	p.mentions = NULL;
	p.n_mentions = UINT32_MAX;
	assert_int_equal(feat_post_targets(&p, t, 8), 1);
	p.kind = BW_POST_PROFILE;
	assert_int_equal(feat_post_targets(&p, t, 8), 0);
	/* a mention by handle only is matched against the account's latest screen name */
	struct feat_account *a = feat_account_new("40");
	double *v = vec();
	post_init(&p, "40", NULL, T0);
	p.kind = BW_POST_PROFILE;
	p.author.screen_name = "Carol";
	assert_int_equal(feat_account_update(a, &p), 0);
	post_init(&p, "1", "10", T0 + 1);
	m[1].screen_name = "carol";
	p.mentions = &m[1];
	p.n_mentions = 1;
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_close(get(v, "friend.mentioned_by.interactions"), 1, 0, "mentioned by handle");
	feat_account_free(a);
	free(v);
}

/* Regression (issue 19): botometer-python's default user object {id_str,
 * screen_name} (a stub: no counts, no creation date), folded as a profile
 * record at the newest event time, became the latest snapshot and made the
 * account look brand new and empty (a human scored 0.34 instead of 0.0003).
 * A stub never replaces a fuller snapshot, whatever its time, nor the
 * earliest counts; a fuller one always replaces a stub. */
static void test_stub_profile_never_overrides(void **state)
{
	(void)state;
	struct feat_account *a = feat_account_new("50");
	double *v = vec(), *full = vec();
	struct bw_post p;

	/* a full snapshot at T0 */
	post_init(&p, "50", "1", T0);
	p.author.screen_name = "dewitt";
	p.author.followers_count = 5000;
	p.author.statuses_count = 20000;
	p.author.created_at_ms = T0 - 86400000LL * 3000;
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, full), 0);
	/* a later stub: nothing it could change moves */
	post_init(&p, "50", NULL, T0 + 3600000);
	p.kind = BW_POST_PROFILE;
	p.author.screen_name = "dewitt";
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, T0, v), 0);
	assert_close(get(v, "user.followers_count"), 5000, 0, "stub kept the followers");
	assert_close(get(v, "user.statuses_count"), 20000, 0, "stub kept the statuses");
	assert_close(get(v, "user.followers_count"), get(full, "user.followers_count"), 0, "same");
	feat_account_free(a);

	/* the other order: a stub first (older or newer), then the full profile */
	a = feat_account_new("50");
	post_init(&p, "50", NULL, T0 + 7200000);
	p.kind = BW_POST_PROFILE;
	p.author.screen_name = "dewitt";
	assert_int_equal(feat_account_update(a, &p), 0);
	post_init(&p, "50", "1", T0);
	p.author.screen_name = "dewitt";
	p.author.followers_count = 5000;
	p.author.statuses_count = 20000;
	p.author.created_at_ms = T0 - 86400000LL * 3000;
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_extract(a, T0, v), 0);
	assert_close(get(v, "user.followers_count"), 5000, 0, "full replaced the stub");
	assert_close(get(v, "user.statuses_count"), 20000, 0, "full replaced the stub");
	feat_account_free(a);
	free(v);
	free(full);
}

static void test_screen_name_likelihood(void **state)
{
	(void)state;
	double word = feat_screen_name_likelihood("sunshine");
	double noise = feat_screen_name_likelihood("xq7z9k2j");

	assert_true(word > 0 && noise > 0);
	assert_true(word > 20 * noise);
	assert_true(feat_screen_name_likelihood("a") == 0);
	assert_true(feat_screen_name_likelihood(NULL) == 0);
	assert_true(feat_screen_name_likelihood("SunShine") == word); /* case-folded */
}

/* The profile's automation words: handle words split at '_', digits and
 * case changes, names ending in "bot"/"gpt", surnames that only end in "bot". */
static void test_self_declaration_words(void **state)
{
	(void)state;
	static const struct {
		const char *screen, *name, *desc; /* profile */
		double sn, nm, de, credits, sched; /* expected features */
	} cases[] = {
		{ "MagicRealismBot", "Magic Realism Bot", "A bot by @chrisrodley. Tweets every 4 hours.", 1, 1, 1, 1, 1 },
		{ "dril_gpt2", "wint but AI", "", 1, 0, 0, 0, 0 },
		{ "AIBot", "GPT2Wint", "auto-generated posts (GPT-2 and Markov chains)", 1, 1, 3, 0, 0 },
		{ "tinycarebot", "", "Automated self-care reminders", 1, 0, 1, 0, 0 },
		{ "talbot_anna", "Anna Talbot", "robotics student, photo by @friend", 0, 0, 0, 1, 0 },
		{ "botanist_jo", "Jo", "I love plants. bots are not people", 0, 0, 1, 0, 0 },
		{ "Kevin", "Kevin Hooke", "standby", 0, 0, 0, 0, 0 },
		{ "tidemaps", "Tide maps", "A new tide map every half hour", 0, 0, 0, 0, 1 },
		{ "quakes", "Quakes", "Posted HOURLY. Every 30min a summary", 0, 0, 0, 0, 1 },
		{ "em", "Em", "every 2h", 0, 0, 0, 0, 1 },
		{ "runner", "Runner", "Every day I run. Hours of fun, every weekend", 0, 0, 0, 0, 0 },
		{ "choir", "Choir", "every one of us sings for hours", 0, 0, 0, 0, 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct feat_account *a = feat_account_new("5");
		struct bw_post p;
		double *v = vec();
		post_init(&p, "5", "1", T0);
		p.author.screen_name = cases[k].screen;
		p.author.name = cases[k].name;
		p.author.description = cases[k].desc;
		assert_int_equal(feat_account_update(a, &p), 0);
		assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
		assert_close(get(v, "user.screen_name_bot_words"), cases[k].sn, 0, cases[k].screen);
		assert_close(get(v, "user.name_bot_words"), cases[k].nm, 0, cases[k].name);
		assert_close(get(v, "user.description_bot_words"), cases[k].de, 0, cases[k].desc);
		assert_close(get(v, "user.description_credits_maker"), cases[k].credits, 0, cases[k].desc);
		assert_close(get(v, "user.description_schedule"), cases[k].sched, 0, cases[k].desc);
		feat_account_free(a);
		free(v);
	}
}

/* The screen_name columns read the handle's local part on every platform:
 * a Mastodon acct user@server and a Bluesky handle alice.bsky.social give
 * the features of the bare name, as a Twitter screen name does. */
static void test_handle_local_part(void **state)
{
	(void)state;
	static const char *const cols[] = { "user.screen_name_length", "user.num_digits_in_screen_name",
					     "user.screen_name_uppercase", "user.screen_name_entropy",
					     "user.screen_name_likelihood", "user.screen_name_bot_words",
					     "user.name_screen_name_similarity" };
	static const struct {
		const char *handle, *bare;
	} cases[] = {
		{ "tide_Bot2@botsin.space", "tide_Bot2" },
		{ "@tide_Bot2@botsin.space", "tide_Bot2" },
		{ "tide_Bot2.bsky.social", "tide_Bot2" },
		{ "tide_Bot2", "tide_Bot2" },
		{ ".odd", ".odd" }, /* nothing before the cut: the handle as it is */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		double *v[2] = { vec(), vec() };
		for (int j = 0; j < 2; j++) {
			struct feat_account *a = feat_account_new("6");
			struct bw_post p;
			post_init(&p, "6", "1", T0);
			p.author.screen_name = j ? cases[k].bare : cases[k].handle;
			p.author.name = "Tide Bot";
			assert_int_equal(feat_account_update(a, &p), 0);
			assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v[j]), 0);
			feat_account_free(a);
		}
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			assert_close(get(v[0], cols[c]), get(v[1], cols[c]), 0, cases[k].handle);
		free(v[0]);
		free(v[1]);
	}
}

/* content.unbalanced_pairs: one post each, the per-post count as its max. */
static void test_unbalanced_pairs(void **state)
{
	(void)state;
	static const struct {
		const char *text; /* post text */
		double want;      /* unmatched brackets and quotes */
	} cases[] = {
		{ "a (balanced) [pair] {set} and \"quote\"", 0 },
		{ "smile :) wink ;) sad :( nose :-) equal =)", 0 },
		{ "\"The we configuration with web development of the", 1 },
		{ "closing only) and (open ( twice", 3 },
		{ "\u201cleft curly only and [ ] fine", 1 },
		{ "\u201cboth\u201d curly and ] stray", 1 },
		{ "", 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct feat_account *a = feat_account_new("6");
		struct bw_post p;
		double *v = vec();
		post_init(&p, "6", "1", T0);
		p.text = cases[k].text;
		assert_int_equal(feat_account_update(a, &p), 0);
		assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
		assert_close(get(v, "content.unbalanced_pairs.max"), cases[k].want, 0, cases[k].text);
		feat_account_free(a);
		free(v);
	}
}

/* An account whose latest profile has this bio (and names, when given). */
static struct feat_account *with_profile(const char *id, const char *bio, const char *name,
					 const char *handle, int64_t t)
{
	struct feat_account *a = feat_account_new(id);
	struct bw_post p;

	post_init(&p, id, NULL, t);
	p.kind = BW_POST_PROFILE;
	p.author.description = bio;
	p.author.name = name;
	p.author.screen_name = handle;
	assert_int_equal(feat_account_update(a, &p), 0);
	return a;
}

static struct feat_account *with_bio(const char *id, const char *bio, int64_t t)
{
	return with_profile(id, bio, NULL, NULL, t);
}

static struct feat_pop_keys keys_of(const struct feat_account *a)
{
	struct feat_pop_keys k;
	feat_account_pop_keys(a, &k);
	return k;
}

static bool same_keys(const struct feat_account *a, const struct feat_account *b)
{
	struct feat_pop_keys x = keys_of(a), y = keys_of(b);
	return x.n > 0 && x.n == y.n && memcmp(x.k, y.k, x.n * sizeof(x.k[0])) == 0;
}

/* Keys: what normalising keeps and drops, name words as a placeholder, runs. */
static void test_population_keys(void **state)
{
	(void)state;
	struct {
		const char *bio[2], *name[2], *handle[2];
		bool same;      /* equal key sets */
		size_t n;       /* keys of the first (SIZE_MAX: not checked) */
	} cases[] = {
		/* links, mentions, hashtags, case and punctuation do not matter */
		{ { "Love to travel, connect with new friends! http://a.co/1 #deal",
		    "love to TRAVEL -- connect with new friends @shop http://b.co/2" },
		  { NULL, NULL }, { NULL, NULL }, true, 3 },
		/* a digit run reads as one digit: numbered copies match */
		{ { "Job 12 of 300 posted today in Springfield", "Job 7 of 41 posted today in Springfield" },
		  { NULL, NULL }, { NULL, NULL }, true, SIZE_MAX },
		/* a template filled with the account's own display or screen name */
		{ { "Blogs, articles and more - all on Morris Albert!", "Blogs, articles and more - all on Pets!" },
		  { "Morris Albert", "Pets iGuide" }, { "ilovemorrisalbe", "petsiguide" }, true, SIZE_MAX },
		/* ... but not with another word in its place */
		{ { "Blogs, articles and more - all on Morris Albert!", "Blogs, articles and more - all on Pets!" },
		  { "Morris Albert", "Pet Guide" }, { "ilovemorrisalbe", "guide" }, false, SIZE_MAX },
		/* short bios, and runs with fewer than three lettered words, have no key */
		{ { "student!", "love music" }, { NULL, NULL }, { NULL, NULL }, false, 0 },
		{ { "1 2 3 - 4 5 6 - 7 8", "at 1 2 3 4 5" }, { NULL, NULL }, { NULL, NULL }, false, 0 },
		/* a short bio whose words are all name words: nothing left to compare */
		{ { "Morris Albert official", "x" }, { "Morris Albert", NULL }, { "official", NULL }, false, 0 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct feat_account *a = with_profile("1", cases[c].bio[0], cases[c].name[0],
						      cases[c].handle[0], T0);
		struct feat_account *b = with_profile("2", cases[c].bio[1], cases[c].name[1],
						      cases[c].handle[1], T0);
		if (same_keys(a, b) != cases[c].same)
			fail_msg("case %zu: key sets %s", c, cases[c].same ? "differ" : "equal");
		if (cases[c].n != SIZE_MAX && keys_of(a).n != cases[c].n)
			fail_msg("case %zu: %zu keys, want %zu", c, keys_of(a).n, cases[c].n);
		feat_account_free(a);
		feat_account_free(b);
	}
	/* keys are sorted and distinct, at most FEAT_POP_KEYS of a long bio */
	char bio[1024] = "";
	for (int i = 0; i < 60; i++)
		snprintf(bio + strlen(bio), sizeof(bio) - strlen(bio), "w%c%c ", 'a' + i % 26,
			 'a' + i / 26);
	strcat(bio, "same old tune same old tune same old tune");
	struct feat_account *a = with_bio("3", bio, T0);
	struct feat_pop_keys k = keys_of(a);
	assert_int_equal(k.n, FEAT_POP_KEYS);
	for (size_t i = 1; i < k.n; i++)
		assert_true(k.k[i - 1] < k.k[i]);
	feat_account_free(a);
}

static int note_diff(uint64_t key, bool join, void *opaque)
{
	uint64_t *n = opaque; /* unsigned: the sums wrap, as defined */
	n[join] += key;
	return 0;
}

static void test_population_shared_bio(void **state)
{
	(void)state;
	const char *tmpl[] = { "Love to travel, connect with new friends! http://a.co/1 #deal",
			       "love to TRAVEL -- connect with new friends @shop http://b.co/2",
			       "Love to travel; connect with new friends!!" };
	struct feat_account *a[3], *solo = with_bio("9", "Reporter at the city desk since 2009", T0),
				   *shorty = with_bio("10", "student!", T0),
				   /* shares the run "connect with new friends every" with none,
				    * but "to travel connect with new" with the template */
				   *part = with_bio("11", "I love to travel, connect with new people", T0);
	struct feat_pop_keys none = { 0 }, k;
	struct feat_pop *pop = feat_pop_new();
	double *v = vec();

	assert_non_null(pop);
	for (int i = 0; i < 3; i++) {
		a[i] = with_bio(i == 0 ? "1" : i == 1 ? "2" : "3", tmpl[i], T0);
		k = keys_of(a[i]);
		assert_int_equal(feat_pop_move(pop, &none, &k), 0);
	}
	k = keys_of(solo);
	assert_int_equal(feat_pop_move(pop, &none, &k), 0);
	k = keys_of(part);
	assert_int_equal(feat_pop_move(pop, &none, &k), 0);
	k = keys_of(a[0]);
	assert_int_equal(feat_pop_most(pop, &k), 4); /* the three and part */
	/* alone (extract), then from the table */
	assert_int_equal(feat_account_extract(a[0], BW_TIME_NONE, v), 0);
	assert_close(get(v, "user.description_shared"), 0, 0, "alone before the table");
	feat_pop_fill(pop, a[0], v);
	assert_close(get(v, "user.description_shared"), 3, 0, "two copies and one sharing a run");
	feat_pop_fill(pop, part, v);
	assert_close(get(v, "user.description_shared"), 3, 0, "its run is in all three");
	feat_pop_fill(pop, solo, v);
	assert_close(get(v, "user.description_shared"), 0, 0, "unique bio");
	feat_pop_fill(pop, shorty, v);
	assert_close(get(v, "user.description_shared"), 0, 0, "short bio");
	feat_pop_fill(NULL, a[0], v);
	assert_close(get(v, "user.description_shared"), 0, 0, "no population");
	/* one account changes its bio: moved, the others count one fewer */
	struct feat_pop_keys k0 = keys_of(a[2]);
	struct bw_post p;
	post_init(&p, "3", NULL, T0 + 1000);
	p.kind = BW_POST_PROFILE;
	p.author.description = "Now writing about birds and nothing else";
	assert_int_equal(feat_account_update(a[2], &p), 0);
	k = keys_of(a[2]);
	assert_int_equal(feat_pop_move(pop, &k0, &k), 0);
	feat_pop_fill(pop, a[0], v);
	assert_close(get(v, "user.description_shared"), 2, 0, "after one left");
	feat_pop_fill(pop, a[2], v);
	assert_close(get(v, "user.description_shared"), 0, 0, "the one who left");
	/* the diff walk: every key of the old set left, every key of the new joined */
	uint64_t sum[2] = { 0 }, want[2] = { 0 };
	assert_int_equal(feat_pop_keys_diff(&k0, &k, note_diff, sum), 0);
	for (size_t i = 0; i < k0.n; i++)
		want[0] += k0.k[i];
	for (size_t i = 0; i < k.n; i++)
		want[1] += k.k[i];
	assert_true(sum[0] == want[0] && sum[1] == want[1]);
	sum[0] = sum[1] = 0;
	assert_int_equal(feat_pop_keys_diff(&k, &k, note_diff, sum), 0);
	assert_true(sum[0] == 0 && sum[1] == 0);
	/* the value stops at FEAT_POP_CAP others; the table grows past its first size */
	for (uint64_t i = 1; i <= 5000; i++) {
		struct feat_pop_keys one = { .n = 1, .k = { k0.k[0] + i } };
		assert_int_equal(feat_pop_move(pop, &none, &one), 0);
	}
	k = keys_of(solo);
	for (int i = 0; i < FEAT_POP_CAP + 10; i++)
		assert_int_equal(feat_pop_move(pop, &none, &k), 0);
	feat_pop_fill(pop, solo, v);
	assert_close(get(v, "user.description_shared"), FEAT_POP_CAP, 0, "capped");
	assert_int_equal(feat_pop_count(pop, k0.k[0] + 4999), 1);
	assert_int_equal(feat_pop_count(pop, 0), 0);
	for (int i = 0; i < 3; i++)
		feat_account_free(a[i]);
	feat_account_free(solo);
	feat_account_free(shorty);
	feat_account_free(part);
	feat_pop_free(pop);
	feat_pop_free(NULL);
	free(v);
}

static void test_hostile_values_stay_finite(void **state)
{
	(void)state;
	struct feat_account *a = feat_account_new("5");
	double *v = vec();
	struct bw_post p;
	char text[6000];

	memset(text, 0xFF, sizeof(text) - 1); /* invalid UTF-8 */
	text[sizeof(text) - 1] = '\0';
	post_init(&p, "5", "1", INT64_MIN + 1);
	p.text = text;
	p.author.statuses_count = INT64_MAX;
	p.author.followers_count = INT64_MAX;
	p.author.created_at_ms = INT64_MAX;
	p.retweet_count = INT64_MAX;
	assert_int_equal(feat_account_update(a, &p), 0);
	post_init(&p, "5", "2", INT64_MAX);
	p.text = "";
	assert_int_equal(feat_account_update(a, &p), 0);
	post_init(&p, "5", NULL, T0); /* no id: keyed by text and time */
	p.text = "text only";
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_update(a, &p), 0); /* same text, same time: a duplicate */
	assert_int_equal(feat_account_posts(a), 3);
	p.created_at_ms = BW_TIME_NONE; /* neither id nor time: cannot be deduplicated */
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(feat_account_posts(a), 5);
	assert_int_equal(feat_account_extract(a, BW_TIME_NONE, v), 0);
	assert_all_finite(v);
	assert_int_equal(feat_account_extract(a, INT64_MIN + 5, v), 0);
	assert_all_finite(v);
	assert_null(feat_account_new(""));
	assert_null(feat_account_new(NULL));
	feat_account_free(NULL);
	feat_account_free(a);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_stub_profile_never_overrides),
		cmocka_unit_test(test_list_and_markdown),
		cmocka_unit_test(test_periodic_poster),
		cmocka_unit_test(test_constant_and_single),
		cmocka_unit_test(test_order_and_duplicates),
		cmocka_unit_test(test_save_load_round_trip),
		cmocka_unit_test(test_window_bound_and_late),
		cmocka_unit_test(test_profiles_and_observations),
		cmocka_unit_test(test_post_targets),
		cmocka_unit_test(test_screen_name_likelihood),
		cmocka_unit_test(test_self_declaration_words),
		cmocka_unit_test(test_unbalanced_pairs),
		cmocka_unit_test(test_handle_local_part),
		cmocka_unit_test(test_population_keys),
		cmocka_unit_test(test_population_shared_bio),
		cmocka_unit_test(test_hostile_values_stay_finite),
	};
	return cmocka_run_group_tests_name("feat", tests, NULL, NULL);
}
