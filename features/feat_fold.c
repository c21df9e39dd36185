/*
 * feat_fold.c — folding one new own post into an account's state (after the
 * record window accepted it as new): counters, profile snapshot, text
 * quantities, source/language top-K, friend roles and graphs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bw_err.h"
#include "feat_int.h"

#define FEAT_Q_DEF(id, name, sc, cls, desc) { name, sc, cls, desc },
const struct feat_postq_def feat_postq_defs[Q__N] = { FEAT_POSTQ(FEAT_Q_DEF) };
#undef FEAT_Q_DEF

static void fold_counters(struct feat_account *a, const struct bw_post *p, const struct feat_rec *r)
{
	a->posts++;
	a->kind[r->flags & RF_KIND_MASK]++;
	a->n_embedded += (p->flags & BW_POSTF_EMBEDDED) != 0;
	a->n_truncated += (p->flags & BW_POSTF_TRUNCATED) != 0;
	a->with_hashtag += p->n_hashtags > 0;
	a->with_mention += p->n_mentions > 0;
	a->with_url += p->n_urls > 0;
	a->with_media += p->n_media > 0;
	a->sum_hashtags += p->n_hashtags;
	a->sum_mentions += p->n_mentions;
	a->sum_urls += p->n_urls;
	a->sum_media += p->n_media;
	if (p->lang && *p->lang) {
		a->lang_known++;
		feat_topk_add(&a->langs, feat_hash_lower(p->lang), 1);
		a->lang_match += p->author.lang && strcasecmp(p->author.lang, p->lang) == 0;
	}
	if (p->source && *p->source)
		feat_topk_add(&a->sources, feat_hash_str(p->source), 1);
}

static int fold_text(struct feat_account *a, const struct bw_post *p, struct feat_rec *slot,
		     const struct feat_text_pre *pre)
{
	double v[Q__N];
	uint32_t skel;
	const int64_t eng[4] = { p->retweet_count, p->favorite_count, p->reply_count,
				 p->quote_count };
	bool emoticon = false;

	if (pre) {
		memcpy(v, pre->v, sizeof(v));
		skel = pre->skel;
	} else if (feat_text_analyse(p->text, v, &skel)) {
		return BW_ENOMEM; /* never fold an empty text's values as the post's */
	}
	slot->skel = skel;
	v[Q_HASHTAGS] = p->n_hashtags;
	v[Q_MENTIONS] = p->n_mentions;
	v[Q_URLS] = p->n_urls;
	v[Q_MEDIA] = p->n_media;
	for (int q = 0; q < Q__N; q++) {
		if (q >= Q_RT_COUNT && q <= Q_QUOTE_COUNT) {
			if (eng[q - Q_RT_COUNT] < 0)
				continue; /* absent: not a value */
			v[q] = (double)eng[q - Q_RT_COUNT];
		}
		feat_sketch_add(&a->postq[q], feat_postq_defs[q].scale, v[q]);
	}
	a->pos_posts += v[Q_POLARITY] > 0;
	a->neg_posts += v[Q_POLARITY] < 0;
	a->emoji_posts += v[Q_EMOJI] > 0;
	for (int q = Q_EMO_HAPPY; q <= Q_EMO_HEART; q++)
		emoticon |= v[q] > 0;
	a->emoticon_posts += emoticon;
	for (int q = Q_EJ_FACE_POS; q <= Q_EJ_FLAG; q++)
		if (v[q] > 0)
			feat_topk_add(&a->emoji_classes, (uint32_t)(q - Q_EJ_FACE_POS + 1),
				      (uint32_t)v[q]);
	return 0;
}

int feat_fold_own(struct feat_account *a, const struct bw_post *p, struct feat_rec *slot,
		  const struct feat_text_pre *pre)
{
	int rc;

	if (!a->postq && !(a->postq = calloc(Q__N, sizeof(*a->postq))))
		return BW_ENOMEM;
	fold_counters(a, p, slot);
	if ((rc = feat_snapshot(a, &p->author, p->created_at_ms)))
		return rc;
	if ((rc = fold_text(a, p, slot, pre)))
		return rc;
	if ((rc = feat_fold_social(a, p)))
		return rc;
	return feat_fold_hashtags(a, p);
}
