/*
 * feat_replay.c — the replay driver (see feat_replay.h): decoder → per-account
 * states in an open-addressing hash map → one vector per account.
 *
 * With `threads` >= 2, feat_replay_files() runs the decoder (decompression,
 * JSON, normalisation) on a reader thread. It encodes each decoded post with
 * the binary post codec (ingest/postcodec.h, the `posts` topic's encoding,
 * lossless for everything the states read) into a batch; full batches go
 * through a bounded queue to the calling thread, which decodes them into its
 * own arena and folds them in the order read, exactly as the one-thread path
 * does. A second queue returns emptied batches, so the reader holds at most
 * RP_BATCHES batches of about RP_BATCH_BYTES: the two threads share nothing
 * else (the decoder and its stats belong to the reader until it is joined;
 * the states, the population table and the callbacks to the folding thread).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_queue.h"
#include "bw_time.h"
#include "feat_int.h"
#include "feat_replay.h"
#include "postcodec.h"

#include <xxhash.h>

#define RP_BATCH_BYTES ((size_t)1 << 20) /* encoded posts per batch (~250 bench posts) */
#define RP_BATCHES 4                     /* batches in flight between the threads */

/* Encoded posts, each a 4-byte little-endian length then its bytes. */
struct rp_batch {
	unsigned char *buf;  /* encoded posts (owned) */
	size_t len;          /* bytes used */
	size_t cap;          /* bytes allocated */
};

/* The reader thread's side of a threaded replay. */
struct rp_reader {
	struct feat_replay *r;            /* the driver (its decoder only) */
	char *const *files;               /* input files (borrowed) */
	size_t n_files;                   /* their number */
	struct bw_queue *full;            /* batches read, to the folding thread */
	struct bw_queue *empty;           /* batches folded, back to the reader */
	struct rp_batch batches[RP_BATCHES]; /* all batches (owned here) */
	struct rp_batch *cur;             /* batch being filled, or NULL */
	int rc;                           /* reader's result: 0 or a BW_E* code */
	char err[512];                    /* its message */
};
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
	struct rp_reader *reader;        /* set while a reader thread decodes */
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

/* Reader thread: append post p to the batch being filled, handing full
 * batches over. 0, or non-zero to stop decoding (the folding side stopped,
 * or out of memory: then rd->rc says so). */
static int reader_put(struct rp_reader *rd, const struct bw_post *p)
{
	size_t n;

	for (int tries = 0;; tries++) {
		if (!rd->cur) {
			if (!(rd->cur = bw_queue_pop(rd->empty)))
				return 1;
			rd->cur->len = 0;
		}
		struct rp_batch *b = rd->cur;
		if (b->cap - b->len > 4 &&
		    ingest_post_encode(p, b->buf + b->len + 4, b->cap - b->len - 4, &n) == 0) {
			for (int i = 0; i < 4; i++)
				b->buf[b->len + (size_t)i] = (unsigned char)(n >> (8 * i));
			b->len += 4 + n;
			return 0;
		}
		if (b->len) { /* full: hand it over, retry in the next one */
			rd->cur = NULL;
			if (bw_queue_push(rd->full, b))
				return 1;
			continue;
		}
		/* one post larger than an empty batch: grow the batch to fit it */
		size_t need = ingest_post_encoded_size(p) + 4;
		unsigned char *nb = tries < 2 ? realloc(b->buf, need) : NULL;
		if (!nb) {
			rd->rc = bw_seterr(rd->err, sizeof(rd->err), BW_ENOMEM, "out of memory");
			return 1;
		}
		b->buf = nb;
		b->cap = need;
	}
}

static int on_post(const struct bw_post *p, void *opaque)
{
	struct feat_replay *r = opaque;

	if (r->reader)
		return reader_put(r->reader, p);
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
	r->opts.max_unit_bytes = d.max_unit_bytes;
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

/* The reader thread: decode every file, release the held profile records,
 * hand the last batch over and close the queue. */
static void *reader_main(void *arg)
{
	struct rp_reader *rd = arg;
	int rc = 0;

	for (size_t k = 0; k < rd->n_files && !rc && !rd->rc; k++)
		rc = ingest_decode_file(rd->r->dec, rd->files[k], rd->err, sizeof(rd->err));
	if (!rc && !rd->rc && (rc = ingest_decoder_finish(rd->r->dec)) < 0)
		bw_seterr(rd->err, sizeof(rd->err), rc, "decoder: %s", bw_strerror(rc));
	if (rc < 0 && !rd->rc)
		rd->rc = rc;
	if (!rc && !rd->rc && rd->cur && rd->cur->len)
		bw_queue_push(rd->full, rd->cur);
	rd->cur = NULL;
	bw_queue_close(rd->full);
	return NULL;
}

/* Folding thread: fold every post of batch b. 0 or a BW_E* code. */
static int fold_batch(struct feat_replay *r, const struct rp_batch *b, struct bw_arena *arena,
		      char *errstr, size_t errlen)
{
	struct bw_post p;
	int rc = 0;

	for (size_t o = 0; o + 4 <= b->len && !rc; ) {
		size_t n = (size_t)b->buf[o] | (size_t)b->buf[o + 1] << 8 |
			   (size_t)b->buf[o + 2] << 16 | (size_t)b->buf[o + 3] << 24;
		bw_arena_reset(arena);
		rc = ingest_post_decode(b->buf + o + 4, n, &p, arena, errstr, errlen);
		if (!rc && (rc = feat_replay_post(r, &p)))
			bw_seterr(errstr, errlen, rc, "feature state update failed: %s",
				  bw_strerror(rc));
		o += 4 + n;
	}
	return rc;
}

/* Set up the reader's queues and batches; 0 or BW_ENOMEM. */
static int reader_init(struct rp_reader *rd)
{
	if (!(rd->full = bw_queue_new(RP_BATCHES)) || !(rd->empty = bw_queue_new(RP_BATCHES)))
		return BW_ENOMEM;
	for (int i = 0; i < RP_BATCHES; i++) {
		struct rp_batch *b = &rd->batches[i];
		if (!(b->buf = malloc(RP_BATCH_BYTES)))
			return BW_ENOMEM;
		b->cap = RP_BATCH_BYTES;
		bw_queue_push(rd->empty, b);
	}
	return 0;
}

static void reader_free(struct rp_reader *rd)
{
	for (int i = 0; i < RP_BATCHES; i++)
		free(rd->batches[i].buf);
	bw_queue_free(rd->full);
	bw_queue_free(rd->empty);
}

/* feat_replay_files() with a reader thread. */
static int replay_threaded(struct feat_replay *r, char *const *files, size_t n_files,
			   char *errstr, size_t errlen)
{
	struct rp_reader rd = { .r = r, .files = files, .n_files = n_files };
	struct bw_arena *arena = bw_arena_new(4 * r->opts.max_unit_bytes + ((size_t)1 << 20));
	struct rp_batch *b;
	pthread_t th;
	int rc = 0;

	if (!arena || reader_init(&rd)) {
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	r->reader = &rd;
	if (pthread_create(&th, NULL, reader_main, &rd)) {
		r->reader = NULL;
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "cannot start the reader thread");
		goto out_free;
	}
	while ((b = bw_queue_pop(rd.full))) {
		rc = fold_batch(r, b, arena, errstr, errlen);
		if (rc) { /* stop the reader: it fails its next push or pop */
			bw_queue_cancel(rd.full);
			bw_queue_cancel(rd.empty);
			break;
		}
		bw_queue_push(rd.empty, b);
	}
	pthread_join(th, NULL);
	r->reader = NULL;
	if (!rc && rd.rc)
		rc = bw_seterr(errstr, errlen, rd.rc, "%s", rd.err);
out_free:
	reader_free(&rd);
	bw_arena_free(arena);
	return rc;
}

int feat_replay_files(struct feat_replay *r, char *const *files, size_t n_files, char *errstr,
		      size_t errlen)
{
	if (r->opts.threads >= 2)
		return replay_threaded(r, files, n_files, errstr, errlen);
	for (size_t k = 0; k < n_files; k++) {
		int rc = feat_replay_file(r, files[k], errstr, errlen);
		if (rc)
			return rc;
	}
	return feat_replay_finish(r, errstr, errlen);
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
