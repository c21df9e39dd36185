/*
 * test_pipeline_evidence.c — the evidence a feature update carries
 * (feat_account_evidence(), mapped onto CLF_AVAIL_* the way the scoring stage
 * maps it) gives the same availability mask the plain replay forms from every
 * record (clf_corpus_avail): the condition for `replay --via-kafka` and
 * `botwatch run` to write the replay's records. Checked on every account of
 * the bundled demo sample and, when present, of the 4-account timeline sample
 * in ../shared/data (or $BOTWATCH_DATA); plus hand-built cases where the two
 * rules meet (text without counts, embedded originals not counted as posts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "feat.h"
#include "feat_stage.h"

/* The scoring stage's mapping (stage/stage_score.c, update_avail). */
static uint32_t mask_of(const struct feat_account *a)
{
	struct feat_evidence ev;
	feat_account_evidence(a, &ev);
	return (ev.profile_text ? CLF_AVAIL_TEXT : 0u) | (ev.profile_counts ? CLF_AVAIL_COUNTS : 0u) |
	       (ev.own_posts >= CLF_MIN_POSTS ? CLF_AVAIL_ACTIVITY : 0u);
}

/* Every account of `path`: evidence mask == replay's mask; returns the count. */
static size_t check_file(const char *path)
{
	struct bw_config *cfg = cfg_new();
	struct clf_corpus_opts o = { .probe_ms = BW_TIME_NONE };
	char *files[1] = { (char *)path }, err[512];
	struct clf_corpus *c;
	size_t n, with_posts = 0;

	assert_non_null(cfg);
	c = clf_corpus_build(cfg, files, 1, &o, err, sizeof(err));
	if (!c)
		fail_msg("%s: %s", path, err);
	n = clf_corpus_count(c);
	for (size_t i = 0; i < n; i++) {
		uint32_t want = clf_corpus_avail(c, i), got = mask_of(clf_corpus_account(c, i));
		if (got != want)
			fail_msg("%s: account %s: evidence mask %u, replay's %u", path,
				 clf_corpus_id(c, i), got, want);
		with_posts += (want & CLF_AVAIL_ACTIVITY) != 0;
	}
	assert_true(n > 0);
	assert_true(with_posts > 0); /* the samples hold timelines, not only profiles */
	clf_corpus_free(c);
	cfg_free(cfg);
	return n;
}

static void test_demo_sample(void **state)
{
	(void)state;
	assert_int_equal(check_file("data/demo/posts.ndjson.gz"), 108);
}

static void test_timeline_sample(void **state)
{
	(void)state;
	const char *data = getenv("BOTWATCH_DATA");
	char path[1024];

	snprintf(path, sizeof(path), "%s/dev/tweets_partial_4accounts.ndjson.gz",
		 data && *data ? data : "../shared/data");
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(check_file(path), 4);
}

static void post_init(struct bw_post *p, const char *id, int64_t t)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->created_at_ms = t;
	p->author.id = "42";
	p->author.created_at_ms = BW_TIME_NONE;
	p->author.followers_count = p->author.friends_count = p->author.statuses_count = -1;
	p->author.favourites_count = p->author.listed_count = -1;
	p->retweet_count = p->favorite_count = p->reply_count = p->quote_count = -1;
	p->text = "hello there";
}

static void test_hand_built(void **state)
{
	(void)state;
	struct feat_account *a = feat_account_new("42");
	struct bw_post p;
	char id[16];

	assert_non_null(a);
	assert_int_equal(mask_of(a), 0); /* nothing seen */
	/* two own posts and an embedded original: no activity yet, no profile */
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "%d", i);
		post_init(&p, id, 1600000000000LL + i * 1000);
		if (i == 2)
			p.flags |= BW_POSTF_EMBEDDED;
		assert_int_equal(feat_account_update(a, &p), 0);
	}
	assert_int_equal(mask_of(a), 0);
	/* a third own post with a screen name: activity and text, still no counts */
	post_init(&p, "3", 1600000010000LL);
	p.author.screen_name = "someone";
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(mask_of(a), CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY);
	/* counts and a creation time in the latest snapshot */
	post_init(&p, "4", 1600000020000LL);
	p.author.followers_count = 10;
	p.author.friends_count = 20;
	p.author.statuses_count = 30;
	p.author.created_at_ms = 1500000000000LL;
	assert_int_equal(feat_account_update(a, &p), 0);
	assert_int_equal(mask_of(a), CLF_AVAIL_ALL);
	feat_account_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_sample),
		cmocka_unit_test(test_timeline_sample),
		cmocka_unit_test(test_hand_built),
	};
	return cmocka_run_group_tests_name("pipeline_evidence", tests, NULL, NULL);
}
