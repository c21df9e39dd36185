/*
 * feat_state.c — per-account state: folding posts in, event-time windows,
 * dedupe, the latest profile snapshot, and extraction.
 *
 * What a post does to the state (docs/STATE.md has the full rules):
 *   - an own post (author.id == the account) is looked up in the account's
 *     record window by (event time, id hash); seen before -> nothing changes;
 *     older than a full window's oldest record -> counted in `late`, ignored;
 *     otherwise it is inserted and folded into counters, sketches and graphs,
 *     and its embedded author profile becomes a snapshot at the post's time;
 *   - BW_POST_PROFILE updates the profile snapshot only (probe time = its time);
 *   - BW_POSTF_EMBEDDED posts count as posts of their author, with the profile
 *     they carry taken as a snapshot at the embedded post's own time;
 *   - a post by another account that retweets, quotes, replies to or mentions
 *     this account is an observation: deduped in a second window, it updates
 *     the *_by friend roles; BW_POST_DELETE changes nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat_int.h"

/* ---- record window -------------------------------------------------------------- */

static int rec_cmp(const struct feat_rec *a, int64_t t, uint32_t id)
{
	if (a->t != t)
		return a->t < t ? -1 : 1;
	return a->id < id ? -1 : a->id > id;
}

int feat_recwin_insert(struct feat_recwin *w, const struct feat_rec *r, bool *dup, bool *late,
		       struct feat_rec **slot)
{
	uint32_t lo = 0, hi = w->n;

	*dup = *late = false;
	if (slot)
		*slot = NULL;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rec_cmp(&w->r[mid], r->t, r->id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->n && rec_cmp(&w->r[lo], r->t, r->id) == 0) {
		*dup = true;
		return 0;
	}
	if (lo == 0 && w->n >= FEAT_WINDOW && w->evicted) {
		*late = true;
		return 0;
	}
	if (w->n == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 4;
		struct feat_rec *nr;
		if (cap > FEAT_WINDOW + 1)
			cap = FEAT_WINDOW + 1;
		nr = realloc(w->r, cap * sizeof(*nr));
		if (!nr)
			return BW_ENOMEM;
		w->r = nr;
		w->cap = cap;
	}
	memmove(&w->r[lo + 1], &w->r[lo], (w->n - lo) * sizeof(*w->r));
	w->r[lo] = *r;
	w->n++;
	if (w->n > FEAT_WINDOW) {
		memmove(&w->r[0], &w->r[1], (w->n - 1) * sizeof(*w->r));
		w->n--;
		w->evicted++;
		lo--; /* lo > 0 here: a record older than all others is never inserted when full */
	}
	if (slot)
		*slot = &w->r[lo];
	return 0;
}

/* ---- account lifecycle ---------------------------------------------------------- */

struct feat_account *feat_account_new(const char *user_id)
{
	struct feat_account *a;

	if (!user_id || !*user_id)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->user_id = strdup(user_id);
	if (!a->user_id) {
		free(a);
		return NULL;
	}
	a->prof.t = BW_TIME_NONE;
	a->prof.created_at_ms = BW_TIME_NONE;
	a->first_t = BW_TIME_NONE;
	return a;
}

static void prof_free_strings(struct feat_prof *p)
{
	free(p->screen_name);
	free(p->name);
	free(p->description);
	free(p->location);
	free(p->url);
	free(p->lang);
	p->screen_name = p->name = p->description = p->location = p->url = p->lang = NULL;
}

void feat_account_free(struct feat_account *a)
{
	if (!a)
		return;
	prof_free_strings(&a->prof);
	free(a->own.r);
	free(a->obs.r);
	free(a->postq);
	for (int i = 0; i < FR__N; i++)
		free(a->roles[i]);
	for (int i = 0; i < FG__N; i++)
		free(a->graphs[i]);
	free(a->user_id);
	free(a);
}

uint64_t feat_account_posts(const struct feat_account *a)
{
	return a ? a->posts : 0;
}

uint64_t feat_account_late(const struct feat_account *a)
{
	return a ? a->late : 0;
}

bool feat_account_authored(const struct feat_account *a)
{
	return a && a->authored;
}

const char *feat_account_id(const struct feat_account *a)
{
	return a ? a->user_id : NULL;
}

int64_t feat_account_last_event(const struct feat_account *a)
{
	int64_t t = BW_TIME_NONE;

	if (!a)
		return t;
	if (a->own.n && a->own.r[a->own.n - 1].t > t)
		t = a->own.r[a->own.n - 1].t;
	if (a->n_snapshots && a->prof.t > t)
		t = a->prof.t;
	return t;
}

const char *feat_account_screen_name(const struct feat_account *a)
{
	return a ? a->prof.screen_name : NULL;
}

/* ---- profile snapshots ---------------------------------------------------------- */

static char *dup_bounded(const char *s)
{
	return s ? strndup(s, FEAT_MAX_STR) : NULL;
}

/* Deterministic order of two snapshots with the same event time. */
static bool snap_wins_tie(const struct feat_prof *cur, const struct bw_profile *p)
{
	if (p->statuses_count != cur->statuses)
		return p->statuses_count > cur->statuses;
	if (p->followers_count != cur->followers)
		return p->followers_count > cur->followers;
	return strcmp(p->screen_name ? p->screen_name : "",
		      cur->screen_name ? cur->screen_name : "") > 0;
}

static int prof_take(struct feat_account *a, const struct bw_profile *p, int64_t t)
{
	struct feat_prof n = { 0 };

	n.t = t;
	n.created_at_ms = p->created_at_ms;
	n.followers = p->followers_count;
	n.friends = p->friends_count;
	n.statuses = p->statuses_count;
	n.favourites = p->favourites_count;
	n.listed = p->listed_count;
	n.verified = p->verified;
	n.protected_ = p->protected_;
	n.default_profile = p->default_profile;
	n.default_profile_image = p->default_profile_image;
	n.use_bg = p->profile_use_background_image;
	n.geo_enabled = p->geo_enabled;
	n.bot = p->bot;
	n.screen_name = dup_bounded(p->screen_name);
	n.name = dup_bounded(p->name);
	n.description = dup_bounded(p->description);
	n.location = dup_bounded(p->location);
	n.url = dup_bounded(p->url);
	n.lang = dup_bounded(p->lang);
	if ((p->screen_name && !n.screen_name) || (p->name && !n.name) ||
	    (p->description && !n.description) || (p->location && !n.location) ||
	    (p->url && !n.url) || (p->lang && !n.lang)) {
		prof_free_strings(&n);
		return BW_ENOMEM;
	}
	prof_free_strings(&a->prof);
	a->prof = n;
	return 0;
}

/* A profile with neither a creation date nor any count: an id and a handle
 * only (botometer-python's default user object, an X API v2 author without
 * user.fields, a Jetstream author). */
static bool stub_profile(const struct bw_profile *p)
{
	return p->created_at_ms == BW_TIME_NONE && p->followers_count < 0 &&
	       p->friends_count < 0 && p->statuses_count < 0 && p->favourites_count < 0 &&
	       p->listed_count < 0;
}

static bool stub_prof(const struct feat_prof *p)
{
	return p->created_at_ms == BW_TIME_NONE && p->followers < 0 && p->friends < 0 &&
	       p->statuses < 0 && p->favourites < 0 && p->listed < 0;
}

/* Take profile p seen at time t. The latest snapshot wins, except that a stub
 * never replaces a snapshot that has counts or a creation date (whatever its
 * time: a stub at the newest time would make the account look brand new and
 * empty), and a fuller snapshot always replaces a stub. Likewise for the
 * earliest counts. A stub still adds its screen name. */
int feat_snapshot(struct feat_account *a, const struct bw_profile *p, int64_t t)
{
	bool stub = stub_profile(p), cur_stub = a->n_snapshots && stub_prof(&a->prof);
	bool first_stub = a->n_snapshots && a->first_followers < 0 && a->first_friends < 0 &&
			  a->first_statuses < 0;
	int rc = 0;

	if (!a->n_snapshots || (cur_stub && !stub) ||
	    ((stub == cur_stub) &&
	     (t > a->prof.t || (t == a->prof.t && snap_wins_tie(&a->prof, p)))))
		rc = prof_take(a, p, t);
	if (rc)
		return rc;
	if (!a->n_snapshots || (first_stub && !stub) ||
	    (!stub && (t < a->first_t ||
		       (t == a->first_t && p->statuses_count < a->first_statuses)))) {
		a->first_t = t;
		a->first_followers = p->followers_count;
		a->first_friends = p->friends_count;
		a->first_statuses = p->statuses_count;
	}
	a->n_snapshots++;
	if (p->screen_name) {
		uint32_t h = feat_hash_lower(p->screen_name);
		bool seen = false;
		for (int i = 0; i < a->n_names; i++)
			seen |= a->names[i] == h;
		if (!seen && a->n_names < FEAT_MAX_NAMES)
			a->names[a->n_names++] = h;
	}
	a->authored = true;
	return 0;
}

/* ---- friend roles and graphs ---------------------------------------------------- */

static struct feat_role *role_get(struct feat_account *a, enum feat_role_id r)
{
	if (!a->roles[r])
		a->roles[r] = calloc(1, sizeof(struct feat_role));
	return a->roles[r];
}

static struct feat_graph *graph_get(struct feat_account *a, enum feat_graph_id g)
{
	if (!a->graphs[g])
		a->graphs[g] = calloc(1, sizeof(struct feat_graph));
	return a->graphs[g];
}

static const enum feat_scale fprop_scale[FP__N] = {
	SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_LOG4, SC_COUNT, SC_LOG4
};

/* One interaction with another account (`p` may be NULL: id only). */
static int role_add(struct feat_account *a, enum feat_role_id r, uint32_t key,
		    const struct bw_profile *p, int64_t t)
{
	struct feat_role *ro = role_get(a, r);
	double pv[FP__N];
	bool have[FP__N] = { false };

	if (!ro)
		return BW_ENOMEM;
	ro->interactions++;
	if (key)
		feat_topk_add(&ro->accounts, key, 1);
	if (!p || r >= FR_PROFILED_N)
		return 0;
	ro->n_profiles++;
	ro->n_default += p->default_profile == BW_TRI_TRUE;
	ro->n_default_img += p->default_profile_image == BW_TRI_TRUE;
	ro->n_verified += p->verified == BW_TRI_TRUE;
	if (p->lang) {
		feat_topk_add(&ro->langs, feat_hash_lower(p->lang), 1);
		ro->n_same_lang += a->prof.lang && strcasecmp(a->prof.lang, p->lang) == 0;
	}
	if (p->created_at_ms != BW_TIME_NONE && t != BW_TIME_NONE && t >= p->created_at_ms)
		pv[FP_AGE_DAYS] = feat_ms_diff(t, p->created_at_ms) / 86400000.0, have[FP_AGE_DAYS] = true;
	pv[FP_FOLLOWERS] = (double)p->followers_count, have[FP_FOLLOWERS] = p->followers_count >= 0;
	pv[FP_FRIENDS] = (double)p->friends_count, have[FP_FRIENDS] = p->friends_count >= 0;
	pv[FP_STATUSES] = (double)p->statuses_count, have[FP_STATUSES] = p->statuses_count >= 0;
	pv[FP_FAVOURITES] = (double)p->favourites_count, have[FP_FAVOURITES] = p->favourites_count >= 0;
	pv[FP_LISTED] = (double)p->listed_count, have[FP_LISTED] = p->listed_count >= 0;
	if (p->followers_count >= 0 && p->friends_count >= 0)
		pv[FP_FF_RATIO] = (double)p->followers_count /
				  (double)(p->friends_count > 1 ? p->friends_count : 1),
		have[FP_FF_RATIO] = true;
	if (p->screen_name)
		pv[FP_SN_LEN] = (double)strlen(p->screen_name), have[FP_SN_LEN] = true;
	if (p->description)
		pv[FP_DESC_LEN] = (double)strlen(p->description), have[FP_DESC_LEN] = true;
	for (int i = 0; i < FP__N; i++)
		if (have[i])
			feat_sketch_add(&ro->props[i], fprop_scale[i], pv[i]);
	return 0;
}

/* Fold one post's bag of items into a graph: node weights and pair edges. */
static int graph_add(struct feat_account *a, enum feat_graph_id g, const uint32_t *in, size_t n_in)
{
	struct feat_graph *gr;
	uint32_t items[FEAT_MAX_PAIRS * 4 + 2];
	size_t n = 0;

	for (size_t i = 0; i < n_in && n < sizeof(items) / sizeof(items[0]); i++) {
		bool seen = false; /* an item named twice by one post counts once */
		for (size_t j = 0; j < n && !seen; j++)
			seen = items[j] == in[i];
		if (!seen)
			items[n++] = in[i];
	}
	if (n == 0)
		return 0;
	if (!(gr = graph_get(a, g)))
		return BW_ENOMEM;
	gr->posts++;
	for (size_t i = 0; i < n; i++)
		feat_topk_add(&gr->nodes, items[i], 1);
	if (n > FEAT_MAX_PAIRS)
		n = FEAT_MAX_PAIRS;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			uint32_t x = items[i], y = items[j], k[2];
			if (x == y)
				continue;
			uint32_t ek;
			k[0] = x < y ? x : y;
			k[1] = x < y ? y : x;
			ek = feat_hash32(k, sizeof(k));
			if (feat_topk_find(&gr->edges, ek) < 0) { /* a new edge (or an evicted one) */
				feat_topk_add(&gr->degree, x, 1);
				feat_topk_add(&gr->degree, y, 1);
			}
			feat_topk_add(&gr->edges, ek, 1);
		}
	}
	return 0;
}

static uint32_t mention_key(const struct bw_mention *m)
{
	return m->id ? feat_hash_str(m->id) : feat_hash_lower(m->screen_name);
}

int feat_fold_social(struct feat_account *a, const struct bw_post *p)
{
	uint32_t ment[FEAT_MAX_PAIRS * 4], bag[FEAT_MAX_PAIRS * 4 + 2];
	size_t nm = 0, nb;
	const struct bw_profile *target = NULL;
	uint32_t tkey = 0;
	enum feat_graph_id g = FG_MENTION;
	int rc = 0;

	for (uint32_t i = 0; p->mentions && i < p->n_mentions && nm < FEAT_MAX_PAIRS * 4; i++) {
		uint32_t k = mention_key(&p->mentions[i]);
		if (!k)
			continue;
		ment[nm++] = k;
		rc = rc ? rc : role_add(a, FR_MENTIONED, k, NULL, p->created_at_ms);
	}
	rc = rc ? rc : graph_add(a, FG_MENTION, ment, nm);
	if (p->kind == BW_POST_RETWEET) {
		target = p->ref_author, g = FG_RETWEET;
		rc = rc ? rc : role_add(a, FR_RETWEETED, target ? feat_hash_str(target->id) : 0,
					 target, p->created_at_ms);
	} else if (p->kind == BW_POST_QUOTE || p->quoted_author) {
		target = p->kind == BW_POST_QUOTE && p->ref_author ? p->ref_author : p->quoted_author;
		g = FG_QUOTE;
		rc = rc ? rc : role_add(a, FR_QUOTED, target ? feat_hash_str(target->id) : 0,
					 target, p->created_at_ms);
	}
	if (p->kind == BW_POST_REPLY || p->in_reply_to_user_id) {
		uint32_t k = feat_hash_str(p->in_reply_to_user_id);
		rc = rc ? rc : role_add(a, FR_REPLIED_TO, k, NULL, p->created_at_ms);
		if (p->kind == BW_POST_REPLY) {
			g = FG_REPLY;
			tkey = k;
		}
	}
	if (target && target->id)
		tkey = feat_hash_str(target->id);
	if (g != FG_MENTION) {
		nb = 0;
		if (tkey)
			bag[nb++] = tkey;
		memcpy(bag + nb, ment, nm * sizeof(*ment));
		rc = rc ? rc : graph_add(a, g, bag, nb + nm);
	}
	/* interaction graph: every account the post names */
	nb = 0;
	if (tkey)
		bag[nb++] = tkey;
	if (p->quoted_author && p->quoted_author->id && p->kind != BW_POST_QUOTE)
		bag[nb++] = feat_hash_str(p->quoted_author->id);
	memcpy(bag + nb, ment, nm * sizeof(*ment));
	rc = rc ? rc : graph_add(a, FG_INTERACT, bag, nb + nm);
	return rc;
}

int feat_fold_hashtags(struct feat_account *a, const struct bw_post *p)
{
	uint32_t tags[FEAT_MAX_PAIRS * 4];
	size_t n = 0;

	for (uint32_t i = 0; p->hashtags && i < p->n_hashtags && n < FEAT_MAX_PAIRS * 4; i++)
		if (p->hashtags[i])
			tags[n++] = feat_hash_lower(p->hashtags[i]);
	return graph_add(a, FG_HASHTAG, tags, n);
}

/* ---- routing --------------------------------------------------------------------- */

static bool listed(const char *id, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(id, ids[i]) == 0)
			return true;
	return false;
}

size_t feat_post_targets(const struct bw_post *p, const char **out, size_t max)
{
	const char *cand[3];
	size_t n = 0;

	if (!p->author.id || p->kind == BW_POST_PROFILE || p->kind == BW_POST_DELETE)
		return 0;
	cand[0] = p->ref_author ? p->ref_author->id : NULL;
	cand[1] = p->quoted_author ? p->quoted_author->id : NULL;
	cand[2] = p->in_reply_to_user_id;
	/* a count of mentions without their names (n_mentions up to 2^32 - 1 from a
	 * Kafka value) names nobody: never walk it (it spun for seconds per post) */
	size_t total = 3 + (p->mentions ? (size_t)p->n_mentions : 0);
	for (size_t i = 0; i < total && n < max; i++) {
		const char *id = i < 3 ? cand[i] : p->mentions[i - 3].id;
		/* an id the decoder's rule refuses (`../x`, a newline, 26 digits) is
		 * named in the post only: it never becomes a tracked account */
		if (id && bw_account_id_valid(id) && strcmp(id, p->author.id) != 0 &&
		    !listed(id, out, n))
			out[n++] = id;
	}
	return n;
}

/* ---- update --------------------------------------------------------------------- */

static bool names_me(const struct feat_account *a, const struct bw_profile *p)
{
	return p && p->id && strcmp(p->id, a->user_id) == 0;
}

/* Another account's post that retweets/quotes/replies to/mentions this one. */
static int observe(struct feat_account *a, const struct bw_post *p)
{
	bool rt = p->kind == BW_POST_RETWEET && names_me(a, p->ref_author);
	bool qt = (p->kind == BW_POST_QUOTE && names_me(a, p->ref_author)) ||
		  names_me(a, p->quoted_author);
	bool rp = p->in_reply_to_user_id && strcmp(p->in_reply_to_user_id, a->user_id) == 0;
	bool mn = false;
	struct feat_rec r = { 0 };
	bool dup, late;
	uint32_t key = feat_hash_str(p->author.id);
	int rc;

	for (uint32_t i = 0; p->mentions && i < p->n_mentions && !mn; i++) {
		const struct bw_mention *m = &p->mentions[i];
		mn = m->id ? strcmp(m->id, a->user_id) == 0
			   : (m->screen_name && a->prof.screen_name &&
			      strcasecmp(m->screen_name, a->prof.screen_name) == 0);
	}
	if (!(rt || qt || rp || mn) || !p->id)
		return 0;
	r.t = p->created_at_ms;
	r.id = feat_hash_str(p->id);
	rc = feat_recwin_insert(&a->obs, &r, &dup, &late, NULL);
	if (late)
		a->late++;
	if (rc || dup || late)
		return rc;
	a->observed++;
	if (rt && (rc = role_add(a, FR_RETWEETED_BY, key, &p->author, p->created_at_ms)))
		return rc;
	if (qt && (rc = role_add(a, FR_QUOTED_BY, key, &p->author, p->created_at_ms)))
		return rc;
	if (rp && (rc = role_add(a, FR_REPLIED_BY, key, &p->author, p->created_at_ms)))
		return rc;
	if (mn && (rc = role_add(a, FR_MENTIONED_BY, key, &p->author, p->created_at_ms)))
		return rc;
	return 0;
}

int feat_account_update(struct feat_account *a, const struct bw_post *p)
{
	return feat_account_update_pre(a, p, NULL);
}

/* Fold one post; any error after the checks may leave the state half folded. */
static int update(struct feat_account *a, const struct bw_post *p, const struct feat_text_pre *pre)
{
	struct feat_rec r = { 0 }, *slot;
	bool dup, late;
	int rc;

	if (strcmp(p->author.id, a->user_id) != 0)
		return observe(a, p);
	if (p->kind == BW_POST_DELETE)
		return 0;
	if (p->kind == BW_POST_PROFILE)
		return feat_snapshot(a, &p->author, p->created_at_ms);
	r.t = p->created_at_ms;
	/* Posts without an id (text-only archives) are keyed by their text and
	 * time; with neither id nor time they cannot be deduplicated: each counts. */
	if (p->id) {
		r.id = feat_hash_str(p->id);
	} else if (p->created_at_ms != BW_TIME_NONE) {
		r.id = feat_hash_str(p->text ? p->text : "");
	} else {
		uint64_t key[2] = { a->posts + a->late, feat_hash_str(p->text) };
		r.id = feat_hash32(key, sizeof(key));
	}
	r.flags = (uint16_t)(p->kind == BW_POST_RETWEET ? 1 : p->kind == BW_POST_REPLY ? 2
							  : p->kind == BW_POST_QUOTE ? 3 : 0);
	r.flags |= (uint16_t)((p->n_mentions ? RF_MENTION : 0) | (p->n_hashtags ? RF_HASHTAG : 0) |
			      (p->n_urls ? RF_URL : 0) | (p->n_media ? RF_MEDIA : 0) |
			      ((p->flags & BW_POSTF_EMBEDDED) ? RF_EMBEDDED : 0));
	if (p->in_reply_to_post_id && p->kind != BW_POST_RETWEET)
		r.flags = (uint16_t)((r.flags & ~RF_KIND_MASK) | 2u);
	r.text = p->text ? feat_hash_str(p->text) : 0;
	rc = feat_recwin_insert(&a->own, &r, &dup, &late, &slot);
	if (rc || dup)
		return rc;
	if (late) {
		a->late++;
		return 0;
	}
	return feat_fold_own(a, p, slot, pre);
}

int feat_account_update_pre(struct feat_account *a, const struct bw_post *p,
			    const struct feat_text_pre *pre)
{
	int rc;

	if (!a || !p || !p->author.id || a->broken)
		return BW_EINVAL;
	if ((rc = update(a, p, pre)))
		a->broken = true; /* never saved or extracted half folded */
	return rc;
}

int feat_account_extract(const struct feat_account *a, int64_t probe_ms, double *out)
{
	size_t n = feat_count();
	int rc;

	if (!a || !out || a->broken)
		return BW_EINVAL;
	memset(out, 0, n * sizeof(*out));
	if (probe_ms == BW_TIME_NONE)
		probe_ms = feat_account_last_event(a);
	feat_fam_user_extract(a, probe_ms, out);
	feat_fam_social_extract(a, probe_ms, out);
	rc = feat_fam_temporal_extract(a, probe_ms, out);
	if (!rc)
		rc = feat_fam_content_extract(a, probe_ms, out);
	for (size_t i = 0; i < n; i++)
		out[i] = feat_finite(out[i]);
	return rc;
}
