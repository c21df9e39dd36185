/*
 * feat_evidence.c — what kinds of evidence an account's state holds (profile
 * text, profile counts, own posts), for scorers that see only the state or a
 * feature update and not the posts themselves (the Kafka scoring stage).
 *
 * The rules follow the classifier's availability bits (clf_avail_update):
 * profile text = a screen name, name or description was seen; profile counts
 * = followers, friends and statuses counts plus the creation time are known;
 * own posts = distinct authored posts that are not embedded originals. They
 * are read from the persisted state: screen names from every snapshot (the
 * remembered-name list), everything else from the latest snapshot by event
 * time (docs/PIPELINE.md, "Evidence").
 */
#include "bw_time.h"
#include "feat_int.h"

void feat_account_evidence(const struct feat_account *a, struct feat_evidence *out)
{
	const struct feat_prof *p = &a->prof;
	bool snap = a->n_snapshots > 0;

	out->profile_text = a->n_names > 0 || (snap && (p->screen_name || p->name || p->description));
	out->profile_counts = snap && p->followers >= 0 && p->friends >= 0 && p->statuses >= 0 &&
			      p->created_at_ms != BW_TIME_NONE;
	out->own_posts = a->posts >= a->n_embedded ? a->posts - a->n_embedded : 0;
}
