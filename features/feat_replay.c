/*
 * feat_replay.c — the replay driver (see feat_replay.h): decoder → per-account
 * states behind an open-addressing index → one vector per account.
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
 * While a batch waits for the folding thread, the reader also analyses the
 * texts of the posts it encodes (feat_text_pre), the fold's costliest step.
 *
 * With a memory budget, the states past it are spilled least recently used
 * first (rp_evict) to feat_spill.c's file and read back on the account's next
 * record (rp_load); every account keeps an rp_entry in memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_queue.h"
#include "bw_time.h"
#include "feat_int.h"
#include "feat_replay.h"
#include "feat_spill.h"
#include "postcodec.h"

#include <xxhash.h>

#define RP_BATCH_BYTES ((size_t)1 << 20) /* bytes per batch (~250-400 bench posts) */
#define RP_BATCHES 4                     /* batches in flight between the threads */

/* Posts for the folding thread, each: a 4-byte little-endian length n, the
 * post's n encoded bytes, a flag byte, and when the flag is 1 the post's
 * text analysis (struct feat_text_pre, host layout: same process). */
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
	bool analyse;                     /* analyse texts ahead for the batch being filled */
	int rc;                           /* reader's result: 0 or a BW_E* code */
	char err[512];                    /* its message */
	double cpu_s;                     /* the reader thread's cpu seconds */
};

/* Seconds of a clock (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID). */
static double clock_s(clockid_t id)
{
	struct timespec t;
	return clock_gettime(id, &t) ? 0.0 : (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One tracked account: its id, and its state in memory or in the spill file. */
struct rp_entry {
	struct feat_account *a;      /* the state while resident, else NULL */
	const char *id;              /* account id (in the driver's id chunks) */
	struct feat_spill_loc loc;   /* where it was spilled last (cap 0 = never) */
	uint32_t hash;               /* hash of id (lookups compare it first) */
	uint32_t mem;                /* heap bytes of the resident state (rp_mem) */
	uint32_t prev, next;         /* LRU list of resident states: entry index + 1, 0 = end */
	uint32_t snaps;              /* the state's n_snapshots when str_bytes was measured */
	uint16_t str_bytes;          /* heap bytes of its strings then (at most 7 x ~1 KB) */
	bool str_known;              /* str_bytes is valid for this resident state */
	bool authored;               /* feat_account_authored() of the state */
};

/* A chunk of account ids (they live as long as the driver). */
struct rp_chunk {
	struct rp_chunk *next;       /* older chunk */
	size_t used;                 /* bytes of text used */
	char text[];                 /* RP_CHUNK bytes */
};
#define RP_CHUNK ((size_t)64 << 10)

struct feat_replay {
	struct feat_replay_opts opts;    /* as given */
	struct bw_decoder *dec;          /* the decoder */
	uint32_t *slots;                 /* hash table: entry index + 1, 0 = empty */
	size_t cap;                      /* slots (power of two) */
	struct rp_entry *ent;            /* accounts in first-seen order */
	size_t n;                        /* accounts */
	size_t ent_cap;                  /* allocated entries */
	struct rp_chunk *ids;            /* id text, newest chunk first */
	uint32_t lru_head, lru_tail;     /* resident states, most recently used first (index + 1) */
	uint64_t resident_bytes;         /* sum of mem over resident states */
	struct feat_spill *spill;        /* spill file (created on first spill), or NULL */
	struct feat_replay_mem mem;      /* memory figures (feat_replay_mem()) */
	struct feat_replay_stats stats;  /* counters */
	struct feat_pop *pop;            /* bio keys of the authors (population features) */
	int err;                         /* first routing error (stops decoding) */
	char errmsg[256];                /* its detail when it came from the spill file */
	struct rp_reader *reader;        /* set while a reader thread decodes */
};

static uint32_t id_hash(const char *id, size_t len)
{
	uint64_t h = XXH3_64bits(id, len);
	return (uint32_t)(h ^ (h >> 32));
}

static size_t slot_of(const struct feat_replay *r, const char *id, uint32_t h)
{
	size_t i = h & (r->cap - 1);

	while (r->slots[i]) {
		const struct rp_entry *e = &r->ent[r->slots[i] - 1];
		if (e->hash == h && strcmp(e->id, id) == 0)
			break;
		i = (i + 1) & (r->cap - 1);
	}
	return i;
}

static int grow(struct feat_replay *r)
{
	size_t old = r->cap, cap = old ? old * 2 : 1024;
	uint32_t *s = calloc(cap, sizeof(*s));

	if (!s)
		return BW_ENOMEM;
	free(r->slots);
	r->slots = s;
	r->cap = cap;
	for (size_t k = 0; k < r->n; k++) {
		size_t i = r->ent[k].hash & (cap - 1);
		while (s[i])
			i = (i + 1) & (cap - 1);
		s[i] = (uint32_t)(k + 1);
	}
	return 0;
}

/* A copy of id[0..len] that lives as long as the driver; NULL when out of memory. */
static const char *id_store(struct feat_replay *r, const char *id, size_t len)
{
	struct rp_chunk *c = r->ids;

	if (!c || RP_CHUNK - c->used < len + 1) {
		size_t size = len + 1 > RP_CHUNK ? len + 1 : RP_CHUNK;
		if (!(c = malloc(sizeof(*c) + size)))
			return NULL;
		c->next = r->ids;
		c->used = 0;
		r->ids = c;
	}
	char *d = c->text + c->used;
	memcpy(d, id, len + 1);
	c->used += len + 1;
	return d;
}

/* Heap bytes of a state's strings (id and profile), each with an allocator
 * header (16 bytes). */
static size_t rp_str_bytes(const struct feat_account *a)
{
	const char *s[] = { a->user_id, a->prof.screen_name, a->prof.name, a->prof.description,
			    a->prof.location, a->prof.url, a->prof.lang };
	size_t m = 0;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		m += s[i] ? strlen(s[i]) + 1 + 16 : 0;
	return m;
}

/* Heap bytes state e holds: the structure, its strings and the arrays it
 * allocated. The strings change only with a profile snapshot, so their size
 * is measured again only when the snapshot count moved. */
static uint32_t rp_mem(struct rp_entry *e)
{
	const struct feat_account *a = e->a;
	size_t m = sizeof(*a) + 16;

	if (!e->str_known || e->snaps != a->n_snapshots) {
		size_t sb = rp_str_bytes(a);
		e->str_bytes = (uint16_t)(sb > UINT16_MAX ? UINT16_MAX : sb);
		e->snaps = a->n_snapshots;
		e->str_known = true;
	}
	m += e->str_bytes;
	m += a->own.cap ? a->own.cap * sizeof(*a->own.r) + 16 : 0;
	m += a->obs.cap ? a->obs.cap * sizeof(*a->obs.r) + 16 : 0;
	m += a->postq ? Q__N * sizeof(*a->postq) + 16 : 0;
	for (int i = 0; i < FR__N; i++)
		m += a->roles[i] ? sizeof(*a->roles[i]) + 16 : 0;
	for (int i = 0; i < FG__N; i++)
		m += a->graphs[i] ? sizeof(*a->graphs[i]) + 16 : 0;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static void lru_unlink(struct feat_replay *r, uint32_t k)
{
	struct rp_entry *e = &r->ent[k - 1];

	if (e->prev)
		r->ent[e->prev - 1].next = e->next;
	else
		r->lru_head = e->next;
	if (e->next)
		r->ent[e->next - 1].prev = e->prev;
	else
		r->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push_front(struct feat_replay *r, uint32_t k)
{
	struct rp_entry *e = &r->ent[k - 1];

	e->prev = 0;
	e->next = r->lru_head;
	if (r->lru_head)
		r->ent[r->lru_head - 1].prev = k;
	r->lru_head = k;
	if (!r->lru_tail)
		r->lru_tail = k;
}

/* Record a spill-file failure as the driver's error. */
static int spill_error(struct feat_replay *r, int rc, const char *what)
{
	if (!r->err) {
		r->err = rc;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", what);
	}
	return rc;
}

/* Write the least recently used states to the spill file and free them until
 * the resident ones fit the budget; entry `keep` (index + 1) stays. */
static int rp_evict(struct feat_replay *r, uint32_t keep)
{
	char err[256];
	int rc;

	while (r->resident_bytes > r->opts.mem_budget && r->lru_tail && r->lru_tail != keep) {
		uint32_t k = r->lru_tail;
		struct rp_entry *e = &r->ent[k - 1];
		if (!r->spill && !(r->spill = feat_spill_new(r->opts.spill_dir, err, sizeof(err))))
			return spill_error(r, BW_EIO, err);
		if ((rc = feat_spill_put(r->spill, e->a, &e->loc)))
			return spill_error(r, rc, "writing a state to the spill file failed");
		lru_unlink(r, k);
		r->resident_bytes -= e->mem;
		feat_account_free(e->a);
		e->a = NULL;
		e->mem = 0;
		r->mem.spills++;
	}
	return 0;
}

/* Make entry k (index + 1) resident and most recently used: 0 or a BW_E* code. */
static int rp_load(struct feat_replay *r, uint32_t k)
{
	struct rp_entry *e = &r->ent[k - 1];
	char err[256];

	if (e->a) {
		if (r->opts.mem_budget && r->lru_head != k) {
			lru_unlink(r, k);
			lru_push_front(r, k);
		}
		return 0;
	}
	if (!(e->a = feat_spill_get(r->spill, &e->loc, err, sizeof(err))))
		return spill_error(r, BW_EIO, err);
	e->str_known = false;
	e->mem = rp_mem(e);
	r->resident_bytes += e->mem;
	r->mem.loads++;
	lru_push_front(r, k);
	return 0;
}

/* After state k changed: account its memory again (and its authored flag). */
static void rp_touched(struct feat_replay *r, uint32_t k)
{
	struct rp_entry *e = &r->ent[k - 1];

	e->authored = e->a->authored;
	if (!r->opts.mem_budget)
		return; /* nothing to bound: feat_replay_mem() sums the states when asked */
	uint32_t m = rp_mem(e);

	r->resident_bytes += (uint64_t)m - e->mem;
	e->mem = m;
	if (r->resident_bytes > r->mem.resident_peak)
		r->mem.resident_peak = r->resident_bytes;
}

/* The entry of account `id` (index + 1 into *k), created when new; its state
 * resident. 0 or a BW_E* code. */
static int get_or_add(struct feat_replay *r, const char *id, uint32_t *k)
{
	size_t len = strlen(id), i;
	uint32_t h = id_hash(id, len);
	struct rp_entry *e;

	if ((r->n + 1) * 2 > r->cap && grow(r))
		return BW_ENOMEM;
	i = slot_of(r, id, h);
	if (r->slots[i]) {
		*k = r->slots[i];
		return rp_load(r, *k);
	}
	if (r->n >= UINT32_MAX - 1)
		return BW_ETOOLARGE;
	if (r->n == r->ent_cap) {
		size_t cap = r->ent_cap ? r->ent_cap * 2 : 1024;
		struct rp_entry *ne = realloc(r->ent, cap * sizeof(*ne));
		if (!ne)
			return BW_ENOMEM;
		r->ent = ne;
		r->ent_cap = cap;
	}
	e = &r->ent[r->n];
	memset(e, 0, sizeof(*e));
	if (!(e->id = id_store(r, id, len)) || !(e->a = feat_account_new(id)))
		return BW_ENOMEM;
	e->hash = h;
	r->slots[i] = (uint32_t)(r->n + 1);
	*k = (uint32_t)++r->n;
	lru_push_front(r, *k);
	rp_touched(r, *k);
	r->stats.accounts++;
	return 0;
}

/* Fold a post into one state, keeping the population table (its keys while
 * authored) and the late counter up to date. `own` is the profile the post
 * carries for this account (its author's) or NULL: when it leaves the keys'
 * strings as they are, as every post of one timeline does, the keys are not
 * recomputed. */
static int fold(struct feat_replay *r, struct feat_account *a, const struct bw_post *p,
		const struct bw_profile *own, const struct feat_text_pre *pre)
{
	uint64_t late = a->late;

	/* Another account's post is an observation of this one (own is NULL
	 * only for feat_post_targets(), which never names the author): it
	 * updates the friend roles and never the profile, so the keys cannot
	 * move. */
	if (!own) {
		int rc = feat_account_update(a, p);
		if (!rc)
			r->stats.late += a->late - late;
		return rc;
	}
	bool authored = a->authored;
	bool same = authored && own && feat_pop_same_profile(a, own);
	struct feat_pop_keys before = { 0 }, after;
	if (authored && !same)
		feat_account_pop_keys(a, &before);
	int rc = feat_account_update_pre(a, p, pre);

	if (!rc && same && !feat_pop_same_profile(a, own)) {
		/* another snapshot in the post moved them: they were own's */
		feat_pop_text_keys(own->description, own->name, own->screen_name, &before);
		same = false;
	}
	if (!rc && !same && a->authored) {
		feat_account_pop_keys(a, &after);
		rc = feat_pop_move(r->pop, &before, &after);
	}
	if (!rc)
		r->stats.late += a->late - late;
	return rc;
}

/* Route post p (with its text analysis done ahead, or NULL) to its author and
 * the accounts it names. */
static int replay_post(struct feat_replay *r, const struct bw_post *p,
		       const struct feat_text_pre *pre)
{
	const char *t[64];
	size_t nt;
	struct feat_account *a;
	uint32_t k;
	int rc;

	if (!p->author.id || !*p->author.id)
		return BW_EINVAL;
	if ((rc = get_or_add(r, p->author.id, &k)))
		return rc;
	a = r->ent[k - 1].a;
	bool was = a->authored;
	uint64_t seen = feat_account_posts(a); /* the report counts new posts only */
	rc = fold(r, a, p, &p->author, pre);
	rp_touched(r, k);
	if (rc)
		return rc;
	r->stats.posts++;
	r->stats.authored += !was && a->authored;
	if (r->opts.on_author)
		r->opts.on_author(a, p, r->opts.author_opaque);
	if (r->opts.tally && feat_account_posts(a) > seen && (rc = feat_tally_post(r->opts.tally, p)))
		return rc;
	nt = feat_post_targets(p, t, sizeof(t) / sizeof(t[0]));
	for (size_t i = 0; i < nt; i++) {
		if ((rc = get_or_add(r, t[i], &k)))
			return rc;
		rc = fold(r, r->ent[k - 1].a, p, NULL, NULL);
		rp_touched(r, k);
		if (rc)
			return rc;
	}
	return r->opts.mem_budget ? rp_evict(r, 0) : 0;
}

int feat_replay_post(struct feat_replay *r, const struct bw_post *p)
{
	return replay_post(r, p, NULL);
}

/* Reader thread: append post p to the batch being filled, handing full
 * batches over. 0, or non-zero to stop decoding (the folding side stopped,
 * or out of memory: then rd->rc says so). */
static int reader_put(struct rp_reader *rd, const struct bw_post *p)
{
	const size_t tail = 1 + sizeof(struct feat_text_pre); /* flag, analysis */
	struct feat_text_pre pre;
	bool own = p->kind != BW_POST_PROFILE && p->kind != BW_POST_DELETE, done = false;
	size_t n;

	for (int tries = 0;; tries++) {
		if (!rd->cur) {
			/* Balance the threads: while the folding thread is behind (a
			 * batch waits for it) the reader also does the texts' analysis,
			 * the folding thread's costliest step; otherwise the folding
			 * thread does it. The result is the same either way. (Waiting
			 * for 2 of the 4 batches left the folder the slower: 1.6 vs
			 * 1.3 s cpu on the bench dump; with 1, 1.3 vs 1.45.) */
			rd->analyse = bw_queue_len(rd->full) >= 1;
			if (!(rd->cur = bw_queue_pop(rd->empty)))
				return 1;
			rd->cur->len = 0;
		}
		own = own && (rd->analyse || done);
		if (own && !done) {
			/* out of memory: the folding thread analyses it (and fails cleanly) */
			if (feat_text_analyse(p->text, pre.v, &pre.skel))
				own = false;
			else
				done = true;
		}
		struct rp_batch *b = rd->cur;
		if (b->cap - b->len > 4 + tail &&
		    ingest_post_encode(p, b->buf + b->len + 4, b->cap - b->len - 4 - tail, &n) == 0) {
			unsigned char *w = b->buf + b->len;
			for (int i = 0; i < 4; i++)
				w[i] = (unsigned char)(n >> (8 * i));
			w[4 + n] = own;
			if (own)
				memcpy(w + 5 + n, &pre, sizeof(pre));
			b->len += 5 + n + (own ? sizeof(pre) : 0);
			return 0;
		}
		if (b->len) { /* full: hand it over, retry in the next one */
			rd->cur = NULL;
			if (bw_queue_push(rd->full, b))
				return 1;
			continue;
		}
		/* one post larger than an empty batch: grow the batch to fit it */
		size_t need = ingest_post_encoded_size(p) + 4 + tail + 1;
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
		feat_account_free(r->ent[i].a);
	free(r->ent);
	free(r->slots);
	while (r->ids) {
		struct rp_chunk *c = r->ids;
		r->ids = c->next;
		free(c);
	}
	feat_spill_free(r->spill);
	free(r);
}

static int routing_error(struct feat_replay *r, char *errstr, size_t errlen)
{
	if (r->errmsg[0])
		return bw_seterr(errstr, errlen, r->err, "%s", r->errmsg);
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
	rd->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID);
	bw_queue_close(rd->full);
	return NULL;
}

static int routing_error(struct feat_replay *r, char *errstr, size_t errlen);

/* Folding thread: fold every post of batch b. 0 or a BW_E* code. */
static int fold_batch(struct feat_replay *r, const struct rp_batch *b, struct bw_arena *arena,
		      char *errstr, size_t errlen)
{
	struct feat_text_pre pre;
	struct bw_post p;
	int rc = 0;

	for (size_t o = 0; o + 4 <= b->len && !rc; ) {
		size_t n = (size_t)b->buf[o] | (size_t)b->buf[o + 1] << 8 |
			   (size_t)b->buf[o + 2] << 16 | (size_t)b->buf[o + 3] << 24;
		bool has_pre = b->buf[o + 4 + n] != 0;
		if (has_pre)
			memcpy(&pre, b->buf + o + 5 + n, sizeof(pre));
		bw_arena_reset(arena);
		rc = ingest_post_decode(b->buf + o + 4, n, &p, arena, errstr, errlen);
		if (!rc && (rc = replay_post(r, &p, has_pre ? &pre : NULL))) {
			if (!r->err)
				r->err = rc;
			routing_error(r, errstr, errlen);
		}
		o += 5 + n + (has_pre ? sizeof(pre) : 0);
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
	r->stats.reader_cpu_s += rd.cpu_s;
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
	double wall = clock_s(CLOCK_MONOTONIC), cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
	int rc = 0;

	if (r->opts.threads >= 2) {
		rc = replay_threaded(r, files, n_files, errstr, errlen);
	} else {
		for (size_t k = 0; k < n_files && !rc; k++)
			rc = feat_replay_file(r, files[k], errstr, errlen);
		if (!rc)
			rc = feat_replay_finish(r, errstr, errlen);
	}
	r->stats.read_wall_s += clock_s(CLOCK_MONOTONIC) - wall;
	r->stats.fold_cpu_s += clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu;
	return rc;
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
		if (!r->opts.include_observed && !r->ent[i].authored)
			continue;
		const struct feat_account *a = feat_replay_account(r, i);
		rc = a ? feat_replay_extract(r, a, v) : r->err;
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

const char *feat_replay_id(const struct feat_replay *r, size_t i)
{
	return i < r->n ? r->ent[i].id : NULL;
}

bool feat_replay_authored(const struct feat_replay *r, size_t i)
{
	return i < r->n && r->ent[i].authored;
}

long feat_replay_find(const struct feat_replay *r, const char *id)
{
	size_t i = slot_of(r, id, id_hash(id, strlen(id)));
	return r->slots[i] ? (long)r->slots[i] - 1 : -1;
}

const struct feat_account *feat_replay_account(struct feat_replay *r, size_t i)
{
	if (i >= r->n)
		return NULL;
	uint32_t k = (uint32_t)(i + 1);
	if (rp_load(r, k) || (r->opts.mem_budget && rp_evict(r, k)))
		return NULL;
	return r->ent[i].a;
}

const struct feat_account *feat_replay_peek(const struct feat_replay *r, size_t i,
					    struct feat_account **copy, char *errstr, size_t errlen)
{
	*copy = NULL;
	if (i >= r->n) {
		bw_seterr(errstr, errlen, BW_EINVAL, "no account %zu", i);
		return NULL;
	}
	if (r->ent[i].a)
		return r->ent[i].a;
	return *copy = feat_spill_read(r->spill, &r->ent[i].loc, errstr, errlen);
}

const struct feat_replay_stats *feat_replay_stats(const struct feat_replay *r)
{
	return &r->stats;
}

const struct feat_replay_mem *feat_replay_mem(struct feat_replay *r)
{
	const struct feat_spill_stats *ss = r->spill ? feat_spill_stats(r->spill) : NULL;
	size_t ids = 0;

	for (const struct rp_chunk *c = r->ids; c; c = c->next)
		ids += sizeof(*c) + (c->used > RP_CHUNK ? c->used : RP_CHUNK);
	if (!r->opts.mem_budget) { /* every state is resident: its size is the peak */
		r->resident_bytes = 0;
		for (size_t i = 0; i < r->n; i++)
			r->resident_bytes += rp_mem(&r->ent[i]);
		r->mem.resident_peak = r->resident_bytes;
	}
	r->mem.resident_bytes = r->resident_bytes;
	r->mem.index_bytes = r->ent_cap * sizeof(*r->ent) + r->cap * sizeof(*r->slots) + ids;
	r->mem.spill_file_bytes = ss ? ss->file_bytes : 0;
	r->mem.spill_bytes_written = ss ? ss->bytes_put : 0;
	return &r->mem;
}

const struct bw_decode_stats *feat_replay_decode_stats(const struct feat_replay *r)
{
	return ingest_decoder_stats(r->dec);
}
