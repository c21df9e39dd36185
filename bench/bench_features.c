/*
 * bench_features.c — throughput of feature extraction and size of the state.
 *
 * A synthetic, deterministic population: ACCOUNTS accounts whose post counts
 * follow a heavy tail (P(n >= k) = k^-1.1, capped at 5,000 — most accounts
 * post once or twice, a few thousand times, as in a filtered stream), with
 * retweets carrying the original author's profile, replies, mentions,
 * hashtags, URLs and texts from templates with emoji and emoticons. Posts are
 * folded in global event-time order (accounts interleaved, as a stream), then
 * every account's vector is extracted once and its state serialised.
 *
 * Prints, as the median of 3 runs: posts/s for update + extract, update-only
 * posts/s, extracted accounts/s, average and maximum serialised state bytes.
 *
 *   build/bench/bench_features [ACCOUNTS]   (default 20000)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_time.h"
#include "feat.h"

struct spost {
	int64_t t;        /* event time */
	uint32_t acct;    /* author index */
	uint32_t seq;     /* post number within the account */
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static double unif(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_post(const void *a, const void *b)
{
	const struct spost *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Text templates: prefix, word, middle, word, suffix. */
static const char *const templates[][3] = {
	{ "I love this beautiful day in ", " :) #", "" },
	{ "RT @", ": Breaking news about ", ", the worst crisis ever http://t.co/abc" },
	{ "@", " thanks so much!!! see you in ", " \xF0\x9F\x98\x80" },
	{ "Check out our new ", " deals at ", " http://bit.ly/x #sale #deal" },
	{ "Why is ", " always late? So tired of ", " :(" },
	{ "Good morning ", ", have a great ", " \xE2\x9D\xA4\xEF\xB8\x8F" },
};
static const char *const words[] = { "Rome", "London", "coffee", "trains", "music",
				     "elections", "football", "weekend", "Monday", "pizza" };

static void make_post(const struct spost *sp, struct bw_post *p, char *id, char *uid,
		      char *ref_uid, char *text, struct bw_profile *ref, struct bw_mention *m,
		      const char **tags)
{
	uint64_t h = (uint64_t)sp->acct * 2654435761u ^ sp->seq * 40503u;
	int k = (int)(h % 6);

	memset(p, 0, sizeof(*p));
	snprintf(id, 32, "%u_%u", sp->acct, sp->seq);
	snprintf(uid, 24, "%u", sp->acct);
	p->id = id;
	p->kind = BW_POST_ORIGINAL;
	p->created_at_ms = sp->t;
	p->platform = "twitter";
	p->author.id = uid;
	p->author.created_at_ms = 1200000000000LL + (int64_t)(sp->acct % 3000) * 86400000LL;
	p->author.screen_name = uid;
	p->author.name = "Bench Account";
	p->author.description = "A synthetic account for the benchmark";
	p->author.lang = "en";
	p->author.followers_count = (int64_t)(h % 5000);
	p->author.friends_count = (int64_t)(h % 700);
	p->author.statuses_count = 100 + sp->seq;
	p->author.favourites_count = p->author.listed_count = -1;
	p->author.default_profile = (int8_t)(h & 1);
	p->lang = "en";
	p->source = k % 2 ? "Twitter Web Client" : "Buffer";
	p->retweet_count = p->favorite_count = (int64_t)(h % 7);
	p->reply_count = p->quote_count = -1;
	snprintf(text, 280, "%s%s%s%s%s", templates[k][0], words[h % 10], templates[k][1],
		 words[(h >> 8) % 10], templates[k][2]);
	p->text = text;
	if (k == 1) {
		memset(ref, 0, sizeof(*ref));
		snprintf(ref_uid, 24, "%u", (unsigned)(h >> 16) % 500);
		ref->id = ref_uid;
		ref->screen_name = ref_uid;
		ref->followers_count = 100000;
		ref->friends_count = 50;
		ref->statuses_count = ref->favourites_count = ref->listed_count = -1;
		ref->created_at_ms = 1300000000000LL;
		ref->lang = "en";
		p->kind = BW_POST_RETWEET;
		p->ref_author = ref;
		p->ref_post_id = "1";
		m[0].id = ref_uid, m[0].screen_name = ref_uid;
		p->mentions = m, p->n_mentions = 1;
		p->n_urls = 1;
	} else if (k == 2) {
		p->kind = BW_POST_REPLY;
		p->in_reply_to_post_id = "2";
		p->in_reply_to_user_id = "7";
		m[0].id = "7", m[0].screen_name = "seven";
		p->mentions = m, p->n_mentions = 1;
	} else if (k == 0 || k == 3) {
		tags[0] = words[h % 10], tags[1] = "sale";
		p->hashtags = tags, p->n_hashtags = k == 3 ? 2 : 1;
		p->n_urls = k == 3;
	}
}

struct result {
	double total_pps, update_pps, extract_aps, avg_bytes;
	size_t max_bytes;
};

static int run_once(const struct spost *posts, size_t n_posts, size_t n_acc, struct result *res)
{
	struct feat_account **acc = calloc(n_acc, sizeof(*acc));
	double *v = malloc(feat_count() * sizeof(*v)), t0, t1, t2;
	char id[32], uid[24], ref_uid[24], text[300];
	struct bw_profile ref;
	struct bw_mention m[2];
	const char *tags[2];
	struct bw_post p;
	size_t bytes = 0, max = 0;

	if (!acc || !v)
		return -1;
	for (size_t i = 0; i < n_acc; i++) {
		snprintf(uid, sizeof(uid), "%zu", i);
		if (!(acc[i] = feat_account_new(uid)))
			return -1;
	}
	t0 = now_s();
	for (size_t i = 0; i < n_posts; i++) {
		make_post(&posts[i], &p, id, uid, ref_uid, text, &ref, m, tags);
		if (feat_account_update(acc[posts[i].acct], &p))
			return -1;
	}
	t1 = now_s();
	for (size_t i = 0; i < n_acc; i++)
		if (feat_account_extract(acc[i], BW_TIME_NONE, v))
			return -1;
	t2 = now_s();
	for (size_t i = 0; i < n_acc; i++) {
		void *buf;
		size_t len;
		if (feat_account_save(acc[i], &buf, &len))
			return -1;
		bytes += len;
		max = len > max ? len : max;
		free(buf);
		feat_account_free(acc[i]);
	}
	res->total_pps = (double)n_posts / (t2 - t0);
	res->update_pps = (double)n_posts / (t1 - t0);
	res->extract_aps = (double)n_acc / (t2 - t1);
	res->avg_bytes = (double)bytes / (double)n_acc;
	res->max_bytes = max;
	free(acc);
	free(v);
	return 0;
}

static int cmp_res(const void *a, const void *b)
{
	double x = ((const struct result *)a)->total_pps, y = ((const struct result *)b)->total_pps;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t n_acc = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000, n_posts = 0, k = 0;
	uint32_t *count;
	struct spost *posts;
	struct result r[3];

	if (n_acc == 0 || n_acc > 10000000) {
		fprintf(stderr, "usage: bench_features [ACCOUNTS 1..10000000]\n");
		return 2;
	}
	count = malloc(n_acc * sizeof(*count));
	if (!count)
		return 1;
	for (size_t i = 0; i < n_acc; i++) {
		double u = unif();
		double c = u > 0 ? 1.0 / pow(u, 1.0 / 1.1) : 5000;
		count[i] = c > 5000 ? 5000 : (uint32_t)c;
		n_posts += count[i];
	}
	posts = malloc(n_posts * sizeof(*posts));
	if (!posts)
		return 1;
	for (size_t i = 0; i < n_acc; i++) {
		int64_t t = 1500000000000LL + (int64_t)(unif() * 86400000.0 * 30);
		for (uint32_t s = 0; s < count[i]; s++) {
			t += 1000 + (int64_t)(unif() * unif() * 7200000.0);
			posts[k++] = (struct spost){ t, (uint32_t)i, s };
		}
	}
	qsort(posts, n_posts, sizeof(*posts), cmp_post);
	for (int i = 0; i < 3; i++) {
		if (run_once(posts, n_posts, n_acc, &r[i])) {
			fprintf(stderr, "bench_features: run failed\n");
			return 1;
		}
	}
	qsort(r, 3, sizeof(r[0]), cmp_res);
	printf("features: %zu accounts, %zu posts, %zu features (median of 3 runs)\n", n_acc, n_posts,
	       feat_count());
	printf("  update+extract: %.0f posts/s (update only %.0f posts/s, extract %.0f accounts/s)\n",
	       r[1].total_pps, r[1].update_pps, r[1].extract_aps);
	printf("  state: %.0f bytes/account on average (serialised), largest %zu bytes\n",
	       r[1].avg_bytes, r[1].max_bytes);
	free(posts);
	free(count);
	return 0;
}
