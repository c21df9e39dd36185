/*
 * feat_replay.c — the replay driver (see feat_replay.h): decoder → per-account
 * states in an open-addressing hash map → one vector per account.
 */
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "feat_int.h"
#include "feat_replay.h"

#include <xxhash.h>

struct feat_replay {
	struct feat_replay_opts opts;    /* as given */
	struct bw_decoder *dec;          /* the decoder */
	struct feat_account **slots;     /* hash table of states (NULL = empty) */
	size_t cap;                      /* slots (power of two) */
	struct feat_account **order;     /* states in first-seen order */
	size_t n;                        /* states */
	size_t order_cap;                /* allocated entries of order */
	struct feat_replay_stats stats;  /* counters */
	struct feat_pop *pop;            /* bio keys of the authors (population features) */
	int err;                         /* first routing error (stops decoding) */
};

static size_t slot_of(const struct feat_replay *r, const char *id)
{
	size_t i = (size_t)XXH3_64bits(id, strlen(id)) & (r->cap - 1);

	while (r->slots[i] && strcmp(feat_account_id(r->slots[i]), id) != 0)
		i = (i + 1) & (r->cap - 1);
	return i;
}

static int grow(struct feat_replay *r)
{
	size_t old = r->cap, cap = old ? old * 2 : 1024;
	struct feat_account **s = calloc(cap, sizeof(*s)), **prev = r->slots;

	if (!s)
		return BW_ENOMEM;
	r->slots = s;
	r->cap = cap;
	for (size_t i = 0; i < old; i++)
		if (prev[i])
			r->slots[slot_of(r, feat_account_id(prev[i]))] = prev[i];
	free(prev);
	return 0;
}

static struct feat_account *get_or_add(struct feat_replay *r, const char *id)
{
	struct feat_account *a;
	size_t i;

	if ((r->n + 1) * 2 > r->cap && grow(r))
		return NULL;
	i = slot_of(r, id);
	if (r->slots[i])
		return r->slots[i];
	if (r->n == r->order_cap) {
		size_t cap = r->order_cap ? r->order_cap * 2 : 1024;
		struct feat_account **o = realloc(r->order, cap * sizeof(*o));
		if (!o)
			return NULL;
		r->order = o;
		r->order_cap = cap;
	}
	if (!(a = feat_account_new(id)))
		return NULL;
	r->slots[i] = a;
	r->order[r->n++] = a;
	r->stats.accounts++;
	return a;
}

/* Fold a post into one state, keeping the population table (its keys while
 * authored) and the late counter up to date. `own` is the profile the post
 * carries for this account (its author's) or NULL: when it leaves the keys'
 * strings as they are, as every post of one timeline does, the keys are not
 * recomputed. */
static int fold(struct feat_replay *r, struct feat_account *a, const struct bw_post *p,
		const struct bw_profile *own)
{
	uint64_t late = feat_account_late(a);

	/* Another account's post is an observation of this one: it updates the
	 * friend roles and never the profile, so the keys cannot move. */
	if (!own && strcmp(p->author.id, feat_account_id(a)) != 0) {
		int rc = feat_account_update(a, p);
		if (!rc)
			r->stats.late += feat_account_late(a) - late;
		return rc;
	}
	bool authored = feat_account_authored(a);
	bool same = authored && own && feat_pop_same_profile(a, own);
	struct feat_pop_keys before = { 0 }, after;
	if (authored && !same)
		feat_account_pop_keys(a, &before);
	int rc = feat_account_update(a, p);

	if (!rc && same && !feat_pop_same_profile(a, own)) {
		/* another snapshot in the post moved them: they were own's */
		feat_pop_text_keys(own->description, own->name, own->screen_name, &before);
		same = false;
	}
	if (!rc && !same && feat_account_authored(a)) {
		feat_account_pop_keys(a, &after);
		rc = feat_pop_move(r->pop, &before, &after);
	}
	if (!rc)
		r->stats.late += feat_account_late(a) - late;
	return rc;
}

int feat_replay_post(struct feat_replay *r, const struct bw_post *p)
{
	const char *t[64];
	size_t nt;
	struct feat_account *a;
	int rc;

	if (!p->author.id || !*p->author.id)
		return BW_EINVAL;
	if (!(a = get_or_add(r, p->author.id)))
		return BW_ENOMEM;
	bool was = feat_account_authored(a);
	if ((rc = fold(r, a, p, &p->author)))
		return rc;
	r->stats.posts++;
	r->stats.authored += !was && feat_account_authored(a);
	if (r->opts.on_author)
		r->opts.on_author(a, p, r->opts.author_opaque);
	nt = feat_post_targets(p, t, sizeof(t) / sizeof(t[0]));
	for (size_t i = 0; i < nt; i++) {
		if (!(a = get_or_add(r, t[i])))
			return BW_ENOMEM;
		if ((rc = fold(r, a, p, NULL)))
			return rc;
	}
	return 0;
}

static int on_post(const struct bw_post *p, void *opaque)
{
	struct feat_replay *r = opaque;
	int rc = feat_replay_post(r, p);

	if (rc && !r->err)
		r->err = rc;
	return rc ? 1 : 0;
}

static void on_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	struct feat_replay *r = opaque;

	if (r->opts.on_dlq)
		r->opts.on_dlq(rec, r->opts.dlq_opaque);
}

struct feat_replay *feat_replay_new(const struct feat_replay_opts *opts, char *errstr,
				    size_t errlen)
{
	struct feat_replay *r = calloc(1, sizeof(*r));
	struct bw_decode_opts d = { 0 };

	if (!r) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	r->opts = *opts;
	d.max_unit_bytes = opts->max_unit_bytes ? opts->max_unit_bytes : 1u << 20;
	d.max_depth = opts->max_depth ? opts->max_depth : 64;
	d.probe_time_ms = opts->probe_time_ms;
	d.format = (enum ingest_format)opts->format;
	d.on_post = on_post;
	d.on_dlq = on_dlq; /* the decoder has one opaque for both callbacks: trampoline */
	d.opaque = r;
	if (!(r->dec = ingest_decoder_new(&d, errstr, errlen)) || grow(r) ||
	    !(r->pop = feat_pop_new())) {
		if (r->dec)
			bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		feat_replay_free(r);
		return NULL;
	}
	return r;
}

void feat_replay_free(struct feat_replay *r)
{
	if (!r)
		return;
	ingest_decoder_free(r->dec);
	feat_pop_free(r->pop);
	for (size_t i = 0; i < r->n; i++)
		feat_account_free(r->order[i]);
	free(r->order);
	free(r->slots);
	free(r);
}

static int routing_error(struct feat_replay *r, char *errstr, size_t errlen)
{
	return bw_seterr(errstr, errlen, r->err, "feature state update failed: %s",
			 bw_strerror(r->err));
}

int feat_replay_file(struct feat_replay *r, const char *path, char *errstr, size_t errlen)
{
	int rc = ingest_decode_file(r->dec, path, errstr, errlen);

	if (r->err)
		return routing_error(r, errstr, errlen);
	return rc < 0 ? rc : 0;
}

int feat_replay_finish(struct feat_replay *r, char *errstr, size_t errlen)
{
	int rc = ingest_decoder_finish(r->dec);

	if (r->err)
		return routing_error(r, errstr, errlen);
	if (rc < 0)
		return bw_seterr(errstr, errlen, rc, "decoder: %s", bw_strerror(rc));
	return 0;
}

int feat_replay_each(struct feat_replay *r, feat_replay_cb cb, void *opaque)
{
	double *v = malloc(feat_count() * sizeof(*v));
	int rc = 0;

	if (!v)
		return BW_ENOMEM;
	for (size_t i = 0; i < r->n && !rc; i++) {
		const struct feat_account *a = r->order[i];
		if (!r->opts.include_observed && !feat_account_authored(a))
			continue;
		rc = feat_replay_extract(r, a, v);
		if (!rc)
			rc = cb(a, v, opaque);
	}
	free(v);
	return rc;
}

int feat_replay_extract(const struct feat_replay *r, const struct feat_account *a, double *out)
{
	int rc = feat_account_extract(a, r->opts.probe_time_ms, out);
	if (!rc)
		feat_pop_fill(r->pop, a, out);
	return rc;
}

size_t feat_replay_count(const struct feat_replay *r)
{
	return r->n;
}

const struct feat_account *feat_replay_account(const struct feat_replay *r, size_t i)
{
	return i < r->n ? r->order[i] : NULL;
}

const struct feat_replay_stats *feat_replay_stats(const struct feat_replay *r)
{
	return &r->stats;
}

const struct bw_decode_stats *feat_replay_decode_stats(const struct feat_replay *r)
{
	return ingest_decoder_stats(r->dec);
}
