/*
 * test_feat_data.c — feature extraction over real data through the decoder
 * and the replay driver.
 *
 * The expected values of the required features for the 4-account cresci-2017
 * sample (../shared/data/dev/tweets_partial_4accounts.ndjson.gz) were computed
 * independently by tools/feat_expected_4accounts.py (plain Python json/gzip,
 * no botwatch code; its docstring states each definition) and pasted below.
 * The data is read in place: BOTWATCH_DATA overrides the default
 * "<repo root>/../shared/data"; the tests skip when it is absent.
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
#include <unistd.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat.h"
#include "feat_replay.h"

struct expect {
	const char *uid, *screen_name;
	uint64_t posts;
	struct {
		const char *name;
		double value;
	} v[22];
};

/* Output of tools/feat_expected_4accounts.py (see the header comment). */
static const struct expect sample[] = {
	{ "24858289", "davideb66", 2518, {
		{ "user.statuses_count", 1299 },
		{ "user.followers_count", 22 },
		{ "user.friends_count", 40 },
		{ "user.favourites_count", 1 },
		{ "user.listed_count", 0 },
		{ "user.tweet_freq", 0.62860676979542052 },
		{ "user.followers_growth_rate", 0.010646150065819286 },
		{ "user.friends_growth_rate", 0.01935663648330779 },
		{ "user.followers_friends_ratio", 0.55000000000000004 },
		{ "user.screen_name_length", 9 },
		{ "user.num_digits_in_screen_name", 2 },
		{ "user.name_length", 14 },
		{ "user.description_length", 0 },
		{ "user.screen_name_likelihood", 0.00040164626302727278 },
		{ "user.account_age_days", 2066.4747222222222 },
		{ "content.retweet_share", 0.0019857029388403494 },
		{ "content.reply_share", 0.0055599682287529786 },
		{ "content.hashtags_per_post.mean", 0.023431294678316124 },
		{ "content.urls_per_post.mean", 0.80937251787132647 },
		{ "temporal.post_gap_seconds.mean", 70934.866110448944 },
		{ "temporal.post_gap_seconds.median", 6769 },
		{ "temporal.post_gap_seconds.std", 1168254.729156693 },
	} },
	{ "33212890", "ElisaDospina", 1248, {
		{ "user.statuses_count", 18665 },
		{ "user.followers_count", 12561 },
		{ "user.friends_count", 3442 },
		{ "user.favourites_count", 16358 },
		{ "user.listed_count", 110 },
		{ "user.tweet_freq", 9.1799014568440587 },
		{ "user.followers_growth_rate", 6.17780563618635 },
		{ "user.friends_growth_rate", 1.6928594060786097 },
		{ "user.followers_friends_ratio", 3.6493317838466006 },
		{ "user.screen_name_length", 12 },
		{ "user.num_digits_in_screen_name", 0 },
		{ "user.name_length", 14 },
		{ "user.description_length", 134 },
		{ "user.screen_name_likelihood", 0.0050567349346527157 },
		{ "user.account_age_days", 2033.2462268518518 },
		{ "content.retweet_share", 0.27163461538461536 },
		{ "content.reply_share", 0.11939102564102565 },
		{ "content.hashtags_per_post.mean", 1.0697115384615385 },
		{ "content.urls_per_post.mean", 0.32612179487179488 },
		{ "temporal.post_gap_seconds.mean", 11608.563753007218 },
		{ "temporal.post_gap_seconds.median", 5094 },
		{ "temporal.post_gap_seconds.std", 15501.43091035113 },
	} },
	{ "678033", "heathr", 3195, {
		{ "user.statuses_count", 45825 },
		{ "user.followers_count", 7065 },
		{ "user.friends_count", 1822 },
		{ "user.favourites_count", 3804 },
		{ "user.listed_count", 596 },
		{ "user.tweet_freq", 15.169165051460235 },
		{ "user.followers_growth_rate", 2.3386830570336401 },
		{ "user.friends_growth_rate", 0.60312534039848442 },
		{ "user.followers_friends_ratio", 3.8776070252469812 },
		{ "user.screen_name_length", 6 },
		{ "user.num_digits_in_screen_name", 0 },
		{ "user.name_length", 12 },
		{ "user.description_length", 134 },
		{ "user.screen_name_likelihood", 0.0044301367571775094 },
		{ "user.account_age_days", 3020.9309374999998 },
		{ "content.retweet_share", 0.28513302034428795 },
		{ "content.reply_share", 0.30359937402190923 },
		{ "content.hashtags_per_post.mean", 0.36838810641627545 },
		{ "content.urls_per_post.mean", 0.29765258215962442 },
		{ "temporal.post_gap_seconds.mean", 4709.2814652473389 },
		{ "temporal.post_gap_seconds.median", 311.5 },
		{ "temporal.post_gap_seconds.std", 11431.309983051133 },
	} },
	{ "722623", "BuzzJackson", 154, {
		{ "user.statuses_count", 11770 },
		{ "user.followers_count", 1577 },
		{ "user.friends_count", 678 },
		{ "user.favourites_count", 634 },
		{ "user.listed_count", 47 },
		{ "user.tweet_freq", 3.9052071456234039 },
		{ "user.followers_growth_rate", 0.52323803471946539 },
		{ "user.friends_growth_rate", 0.22495585766632692 },
		{ "user.followers_friends_ratio", 2.3259587020648969 },
		{ "user.screen_name_length", 11 },
		{ "user.num_digits_in_screen_name", 0 },
		{ "user.name_length", 12 },
		{ "user.description_length", 105 },
		{ "user.screen_name_likelihood", 0.00081602351854922128 },
		{ "user.account_age_days", 3013.9246296296296 },
		{ "content.retweet_share", 0.11688311688311688 },
		{ "content.reply_share", 0.29870129870129869 },
		{ "content.hashtags_per_post.mean", 0.40909090909090912 },
		{ "content.urls_per_post.mean", 0.24025974025974026 },
		{ "temporal.post_gap_seconds.mean", 18501.83660130719 },
		{ "temporal.post_gap_seconds.median", 5017 },
		{ "temporal.post_gap_seconds.std", 26101.792344352139 },
	} },
};

static int data_path(char *buf, size_t len, const char *rel)
{
	const char *root = getenv("BOTWATCH_DATA");
	if (root && *root)
		snprintf(buf, len, "%s/%s", root, rel);
	else
		snprintf(buf, len, "../shared/data/%s", rel);
	return access(buf, R_OK);
}

struct collected {
	size_t accounts;      /* visited */
	size_t matched;       /* of the expected accounts */
	uint64_t posts;       /* posts_seen summed */
	double *first;        /* copy of the first account's vector (for re-run checks) */
};

static int check_sample(const struct feat_account *a, const double *v, void *opaque)
{
	struct collected *c = opaque;

	for (size_t i = 0; i < feat_count(); i++)
		if (!isfinite(v[i]))
			fail_msg("%s: %s not finite", feat_account_id(a), feat_def_get(i)->name);
	c->accounts++;
	c->posts += feat_account_posts(a);
	for (size_t k = 0; k < sizeof(sample) / sizeof(sample[0]); k++) {
		const struct expect *e = &sample[k];
		if (strcmp(e->uid, feat_account_id(a)) != 0)
			continue;
		c->matched++;
		assert_string_equal(feat_account_screen_name(a), e->screen_name);
		assert_int_equal(feat_account_posts(a), e->posts);
		for (size_t j = 0; j < 22; j++) {
			double got = v[feat_index(e->v[j].name)], want = e->v[j].value;
			if (fabs(got - want) > 1e-6 * (fabs(want) > 1 ? fabs(want) : 1))
				fail_msg("%s %s: got %.17g, want %.17g", e->screen_name, e->v[j].name,
					 got, want);
		}
	}
	return 0;
}

static void test_four_accounts(void **state)
{
	(void)state;
	char path[4096], err[256];
	struct feat_replay_opts o = { .probe_time_ms = BW_TIME_NONE };
	struct collected c = { 0 };
	struct feat_replay *r;

	if (data_path(path, sizeof(path), "dev/tweets_partial_4accounts.ndjson.gz")) {
		skip();
		return;
	}
	/* twice the same file: the duplicates change nothing */
	assert_non_null(r = feat_replay_new(&o, err, sizeof(err)));
	assert_int_equal(feat_replay_file(r, path, err, sizeof(err)), 0);
	assert_int_equal(feat_replay_file(r, path, err, sizeof(err)), 0);
	assert_int_equal(feat_replay_finish(r, err, sizeof(err)), 0);
	assert_int_equal(feat_replay_each(r, check_sample, &c), 0);
	assert_int_equal(c.accounts, 4);
	assert_int_equal(c.matched, 4);
	assert_int_equal(c.posts, 7115);
	assert_int_equal(feat_replay_stats(r)->late, 0);
	feat_replay_free(r);
}

static int check_finite(const struct feat_account *a, const double *v, void *opaque)
{
	struct collected *c = opaque;
	void *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < feat_count(); i++)
		if (!isfinite(v[i]))
			fail_msg("%s: %s not finite", feat_account_id(a), feat_def_get(i)->name);
	assert_int_equal(feat_account_posts(a), 0);
	assert_non_null(feat_account_screen_name(a));
	assert_int_equal(feat_account_save(a, &buf, &len), 0);
	c->posts += len; /* bytes of state, summed */
	free(buf);
	c->accounts++;
	return 0;
}

static void test_profile_only_dump(void **state)
{
	(void)state;
	char path[4096], err[256];
	struct feat_replay_opts o = { .probe_time_ms = BW_TIME_NONE };
	struct collected c = { 0 };
	struct feat_replay *r;

	if (data_path(path, sizeof(path), "dev/posts.ndjson.gz")) {
		skip();
		return;
	}
	assert_int_equal(bw_time_parse_iso("2017-01-01T00:00:00Z", 20, &o.probe_time_ms), 0);
	assert_non_null(r = feat_replay_new(&o, err, sizeof(err)));
	assert_int_equal(feat_replay_file(r, path, err, sizeof(err)), 0);
	assert_int_equal(feat_replay_finish(r, err, sizeof(err)), 0);
	assert_int_equal(feat_replay_each(r, check_finite, &c), 0);
	assert_int_equal(c.accounts, 14368);
	assert_true(c.posts / c.accounts < 2048); /* profile-only state stays small */
	feat_replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_accounts),
		cmocka_unit_test(test_profile_only_dump),
	};
	return cmocka_run_group_tests_name("feat_data", tests, NULL, NULL);
}
