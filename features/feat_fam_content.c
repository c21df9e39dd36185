/*
 * feat_fam_content.c — the content and sentiment families.
 *
 * Per-post quantities (FEAT_POSTQ in feat_int.h, computed by feat_text.c) are
 * summarised as distributions over all of the account's posts with bounded
 * moment sketches (exact n, min, max, mean, std, skew, kurtosis; median and
 * entropy from a 16-bin histogram). The means of hashtags, mentions, URLs and
 * media per post are exact totals / posts. Shares are over all own posts.
 * Duplicate shares use the record window (exact up to 10,000 posts). Content
 * and sentiment features depend on language and are not universal.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bw_err.h"
#include "feat_int.h"

enum { C_ORIGINAL, C_RETWEET, C_REPLY, C_QUOTE, C_EMBEDDED, C_TRUNCATED, C_HASHTAG_POSTS,
       C_MENTION_POSTS, C_URL_POSTS, C_MEDIA_POSTS, C_DUPLICATE, C_NEAR_DUPLICATE, C_SOURCES,
       C_SOURCE_ENTROPY, C_SOURCE_TOP, C_LANGS, C_LANG_ENTROPY, C_LANG_TOP, C_LANG_MATCH, C__N };
enum { S_POSITIVE, S_NEGATIVE, S_NEUTRAL, S_EMOJI_POSTS, S_EMOTICON_POSTS, S_EMOJI_CLASSES,
       S_EMOJI_CLASS_ENTROPY, S__N };

static const struct {
	const char *name, *desc, *how;
} cdefs[C__N] = {
	{ "original_share", "share of original posts", "originals / posts" },
	{ "retweet_share", "share of retweets", "retweets / posts" },
	{ "reply_share", "share of replies", "posts with in_reply_to_status_id set (not retweets) / posts" },
	{ "quote_share", "share of quotes", "quotes / posts" },
	{ "embedded_share", "share of posts seen only embedded in others' posts", "embedded / posts" },
	{ "truncated_share", "share of posts whose full text was not in the input", "truncated / posts" },
	{ "hashtag_post_share", "share of posts with a hashtag", "posts with >= 1 hashtag / posts" },
	{ "mention_post_share", "share of posts with a mention", "posts with >= 1 mention / posts" },
	{ "url_post_share", "share of posts with a URL", "posts with >= 1 URL / posts" },
	{ "media_post_share", "share of posts with media", "posts with >= 1 media item / posts" },
	{ "duplicate_text_share", "share of posts repeating an earlier text exactly", "(texts - distinct texts) / texts, by 32-bit hash, over the record window" },
	{ "near_duplicate_share", "share of posts repeating an earlier text's skeleton", "as duplicate_text_share over the lower-cased letters of the words (URLs, mentions, hashtags, digits and punctuation removed)" },
	{ "sources", "distinct source apps", "exact up to 32, then linear counting" },
	{ "source_entropy", "entropy of the source apps", "Shannon entropy (bits) of the top-32 source counts" },
	{ "source_top_share", "share of the most used source app", "top count / posts with a source" },
	{ "languages", "distinct post languages", "exact up to 32, then linear counting" },
	{ "language_entropy", "entropy of the post languages", "Shannon entropy (bits)" },
	{ "language_top_share", "share of the most used post language", "top count / posts with a language" },
	{ "language_profile_match_share", "share of posts in the profile's language", "lang equal to the author's profile lang / posts with a language" },
}, sdefs[S__N] = {
	{ "positive_post_share", "share of posts with positive polarity", "polarity > 0 / posts" },
	{ "negative_post_share", "share of posts with negative polarity", "polarity < 0 / posts" },
	{ "neutral_post_share", "share of posts with zero polarity", "1 - positive - negative" },
	{ "emoji_post_share", "share of posts with an emoji", "posts with >= 1 emoji / posts" },
	{ "emoticon_post_share", "share of posts with an emoticon", "posts with >= 1 emoticon / posts" },
	{ "emoji_classes", "emoji classes used", "distinct classes of 10" },
	{ "emoji_class_entropy", "entropy of emoji classes", "Shannon entropy (bits) of emoji counts per class" },
};

static size_t q_base[Q__N]; /* first index of each per-post distribution */
static size_t c_base, s_base;

static size_t register_q(int q)
{
	char how[300];

	snprintf(how, sizeof(how),
		 "one value per own post, in a moment sketch (n, min, max, mean, std, skew and "
		 "kurtosis exact; median and entropy from its %s)%s",
		 feat_scale_doc(feat_postq_defs[q].scale),
		 q >= Q_HASHTAGS && q <= Q_MEDIA ? "; the mean is exact total / posts" : "");
	return feat_reg_dist(feat_postq_defs[q].cls, false, feat_postq_defs[q].name,
			     feat_postq_defs[q].desc, how);
}

void feat_fam_content_register(void)
{
	for (int q = 0; q < Q__N; q++)
		if (feat_postq_defs[q].cls == FEAT_CONTENT)
			q_base[q] = register_q(q);
	c_base = feat_reg_scalar(FEAT_CONTENT, false, cdefs[0].name, cdefs[0].desc, cdefs[0].how);
	for (int i = 1; i < C__N; i++)
		feat_reg_scalar(FEAT_CONTENT, false, cdefs[i].name, cdefs[i].desc, cdefs[i].how);
	for (int q = 0; q < Q__N; q++)
		if (feat_postq_defs[q].cls == FEAT_SENTIMENT)
			q_base[q] = register_q(q);
	s_base = feat_reg_scalar(FEAT_SENTIMENT, false, sdefs[0].name, sdefs[0].desc, sdefs[0].how);
	for (int i = 1; i < S__N; i++)
		feat_reg_scalar(FEAT_SENTIMENT, false, sdefs[i].name, sdefs[i].desc, sdefs[i].how);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* (values - distinct values) / values over the non-zero hashes of the window. */
static double dup_share(const struct feat_recwin *w, bool skel, uint32_t *scratch)
{
	size_t n = 0, distinct = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		uint32_t h = skel ? w->r[i].skel : w->r[i].text;
		if (h)
			scratch[n++] = h;
	}
	if (n == 0)
		return 0;
	qsort(scratch, n, sizeof(*scratch), cmp_u32);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || scratch[i] != scratch[i - 1];
	return (double)(n - distinct) / (double)n;
}

static double share(uint64_t x, uint64_t n)
{
	return n ? (double)x / (double)n : 0.0;
}

static double top_share(const struct feat_topk *t)
{
	double c[FEAT_TOPK];
	size_t n = feat_topk_counts(t, c);
	return n && t->total ? c[0] / (double)t->total : 0.0;
}

int feat_fam_content_extract(const struct feat_account *a, int64_t probe_ms, double *out)
{
	double *c = out + c_base, *s = out + s_base;
	const uint64_t sums[4] = { a->sum_hashtags, a->sum_mentions, a->sum_urls, a->sum_media };
	uint32_t *scratch;

	(void)probe_ms;
	if (!a->postq || a->posts == 0)
		return 0;
	for (int q = 0; q < Q__N; q++)
		feat_sketch_stats(&a->postq[q], feat_postq_defs[q].scale, out + q_base[q]);
	for (int i = 0; i < 4; i++) /* exact means of the entity counts */
		out[q_base[Q_HASHTAGS + i] + ST_MEAN] = (double)sums[i] / (double)a->posts;
	c[C_ORIGINAL] = share(a->kind[0], a->posts);
	c[C_RETWEET] = share(a->kind[1], a->posts);
	c[C_REPLY] = share(a->kind[2], a->posts);
	c[C_QUOTE] = share(a->kind[3], a->posts);
	c[C_EMBEDDED] = share(a->n_embedded, a->posts);
	c[C_TRUNCATED] = share(a->n_truncated, a->posts);
	c[C_HASHTAG_POSTS] = share(a->with_hashtag, a->posts);
	c[C_MENTION_POSTS] = share(a->with_mention, a->posts);
	c[C_URL_POSTS] = share(a->with_url, a->posts);
	c[C_MEDIA_POSTS] = share(a->with_media, a->posts);
	if (!(scratch = malloc((a->own.n + 1) * sizeof(*scratch))))
		return BW_ENOMEM;
	c[C_DUPLICATE] = dup_share(&a->own, false, scratch);
	c[C_NEAR_DUPLICATE] = dup_share(&a->own, true, scratch);
	free(scratch);
	c[C_SOURCES] = feat_topk_distinct(&a->sources);
	c[C_SOURCE_ENTROPY] = feat_topk_entropy(&a->sources);
	c[C_SOURCE_TOP] = top_share(&a->sources);
	c[C_LANGS] = feat_topk_distinct(&a->langs);
	c[C_LANG_ENTROPY] = feat_topk_entropy(&a->langs);
	c[C_LANG_TOP] = top_share(&a->langs);
	c[C_LANG_MATCH] = share(a->lang_match, a->lang_known);
	s[S_POSITIVE] = share(a->pos_posts, a->posts);
	s[S_NEGATIVE] = share(a->neg_posts, a->posts);
	s[S_NEUTRAL] = 1.0 - s[S_POSITIVE] - s[S_NEGATIVE];
	s[S_EMOJI_POSTS] = share(a->emoji_posts, a->posts);
	s[S_EMOTICON_POSTS] = share(a->emoticon_posts, a->posts);
	s[S_EMOJI_CLASSES] = a->emoji_classes.n;
	s[S_EMOJI_CLASS_ENTROPY] = feat_topk_entropy(&a->emoji_classes);
	return 0;
}
