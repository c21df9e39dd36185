/*
 * test_replay.c — the replay driver's queue, spill store and memory budget:
 * bw_queue (FIFO order, bound, close, cancel, two threads), feat_spill (exact
 * round trips, slots rewritten in place or moved, reads from the write buffer
 * and from the file), and feat_replay with a tiny memory budget and a reader
 * thread giving the same vectors, bit for bit, as one thread with every state
 * in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_queue.h"
#include "bw_time.h"
#include "feat.h"
#include "decode.h"
#include "feat_int.h"
#include "feat_replay.h"
#include "feat_spill.h"

/* ---- bw_queue ---------------------------------------------------------------- */

static void test_queue_fifo_bounded_close(void **state)
{
	(void)state;
	int v[4] = { 1, 2, 3, 4 };
	struct bw_queue *q = bw_queue_new(3);

	assert_non_null(q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(bw_queue_push(q, &v[i]), 0);
	assert_int_equal(bw_queue_len(q), 3);
	assert_ptr_equal(bw_queue_pop(q), &v[0]);
	assert_int_equal(bw_queue_push(q, &v[3]), 0);
	bw_queue_close(q);
	assert_int_equal(bw_queue_push(q, &v[0]), BW_ESTOP); /* closed: refused */
	assert_ptr_equal(bw_queue_pop(q), &v[1]);            /* but drained in order */
	assert_ptr_equal(bw_queue_pop(q), &v[2]);
	assert_ptr_equal(bw_queue_pop(q), &v[3]);
	assert_null(bw_queue_pop(q));                        /* closed and empty */
	bw_queue_free(q);
	bw_queue_free(NULL);
	assert_null(bw_queue_new(0));
}

static void test_queue_cancel(void **state)
{
	(void)state;
	int v = 7;
	struct bw_queue *q = bw_queue_new(2);

	assert_int_equal(bw_queue_push(q, &v), 0);
	bw_queue_cancel(q);
	assert_null(bw_queue_pop(q)); /* cancelled: even a queued item is not handed out */
	assert_int_equal(bw_queue_push(q, &v), BW_ESTOP);
	bw_queue_free(q);
}

#define QN 100000

struct producer {
	struct bw_queue *q;   /* where to push */
	size_t stop_after;    /* pushes before giving up on a cancelled queue (test 2) */
	size_t pushed;        /* pushes that succeeded */
	int last_rc;          /* result of the last push */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (uintptr_t i = 1; i <= QN; i++) {
		if ((p->last_rc = bw_queue_push(p->q, (void *)i)))
			break;
		p->pushed++;
	}
	bw_queue_close(p->q);
	return NULL;
}

/* Two threads through a queue of 4: every item arrives once, in order, and
 * the queue never holds more than its bound. */
static void test_queue_threads_in_order(void **state)
{
	(void)state;
	struct producer p = { .q = bw_queue_new(4) };
	pthread_t th;
	uintptr_t want = 1;
	void *it;

	assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
	while ((it = bw_queue_pop(p.q))) {
		assert_true(bw_queue_len(p.q) <= 4);
		assert_int_equal((uintptr_t)it, want);
		want++;
	}
	pthread_join(th, NULL);
	assert_int_equal(want, QN + 1);
	assert_int_equal(p.pushed, QN);
	bw_queue_free(p.q);
}

/* A consumer that stops early unblocks a producer waiting on a full queue. */
static void test_queue_cancel_unblocks_producer(void **state)
{
	(void)state;
	struct producer p = { .q = bw_queue_new(2) };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
	for (int i = 0; i < 10; i++)
		assert_non_null(bw_queue_pop(p.q));
	bw_queue_cancel(p.q);
	pthread_join(th, NULL); /* returns: the blocked push failed */
	assert_int_equal(p.last_rc, BW_ESTOP);
	assert_true(p.pushed >= 10 && p.pushed < QN);
	bw_queue_free(p.q);
}

/* ---- a synthetic archive ------------------------------------------------------ */

/* NDJSON v1.1 statuses: `lines` posts by a pool of `accounts` accounts, each
 * mentioning another (an observation), every third a retweet of another
 * account's status (an embedded post), with long bios. Written to a fresh
 * file whose path goes into `path`. */
static void write_archive(char *path, size_t cap, int lines, int accounts)
{
	snprintf(path, cap, "/tmp/bw_test_replay_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < lines; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int a = (int)(x % (uint64_t)accounts), m = (int)((x >> 20) % (uint64_t)accounts);
		int o = (int)((x >> 40) % (uint64_t)accounts);
		char user[512], orig[1400] = "";
		snprintf(user, sizeof(user),
			 "{\"id_str\":\"%d\",\"screen_name\":\"acct%d\",\"name\":\"Account %d\","
			 "\"description\":\"words about topic %d and more words for account number %d\","
			 "\"followers_count\":%d,\"friends_count\":%d,\"statuses_count\":%d,"
			 "\"created_at\":\"Mon Jan 01 00:00:00 +0000 2015\",\"lang\":\"en\"}",
			 a + 100, a, a, a % 7, a, a * 3, a % 50, 100 + i);
		if (i % 3 == 0)
			snprintf(orig, sizeof(orig),
				 ",\"retweeted_status\":{\"created_at\":\"Sun Dec 31 %02d:%02d:00 +0000 2017\","
				 "\"id_str\":\"%d\",\"text\":\"original text %d here\",\"user\":"
				 "{\"id_str\":\"%d\",\"screen_name\":\"acct%d\",\"name\":\"Account %d\","
				 "\"description\":\"another bio\",\"followers_count\":1,"
				 "\"friends_count\":2,\"statuses_count\":3,"
				 "\"created_at\":\"Mon Jan 01 00:00:00 +0000 2016\"},"
				 "\"entities\":{\"user_mentions\":[],\"hashtags\":[],\"urls\":[]}}",
				 i % 24, i % 60, 500000 + i, i, o + 100, o, o);
		fprintf(f,
			"{\"created_at\":\"Mon Jan %02d %02d:%02d:%02d +0000 2018\",\"id_str\":\"%d\","
			"\"text\":\"%shello @acct%d the quick brown fox number %d #tag%d\","
			"\"lang\":\"en\",\"source\":\"app %d\",\"user\":%s%s,"
			"\"entities\":{\"user_mentions\":[{\"id_str\":\"%d\",\"screen_name\":\"acct%d\"}],"
			"\"hashtags\":[{\"text\":\"tag%d\"}],\"urls\":[]}}\n",
			1 + i / 86400 % 28, i / 3600 % 24, i / 60 % 60, i % 60, 1000000 + i,
			i % 3 == 0 ? "RT @someone: " : "", m, i, i % 5, a % 3, user, orig, m + 100, m,
			i % 5);
	}
	assert_int_equal(fclose(f), 0);
}

/* Every account's vector (first-seen order), concatenated. */
struct vecs {
	double *v;     /* n * feat_count() */
	size_t n;      /* accounts visited */
	size_t cap;    /* accounts allocated */
	char **ids;    /* their ids */
};

static int collect(const struct feat_account *acc, const double *vec, void *opaque)
{
	struct vecs *c = opaque;
	size_t k = feat_count();
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = realloc(c->v, c->cap * k * sizeof(double));
		c->ids = realloc(c->ids, c->cap * sizeof(char *));
		assert_non_null(c->v);
		assert_non_null(c->ids);
	}
	memcpy(c->v + c->n * k, vec, k * sizeof(double));
	c->ids[c->n++] = strdup(feat_account_id(acc));
	return 0;
}

static void vecs_free(struct vecs *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->ids[i]);
	free(c->ids);
	free(c->v);
}

/* Replay `path` with the options, collect every vector, report the memory figures. */
static void replay(const char *path, int threads, uint64_t budget, struct vecs *out,
		   struct feat_replay_mem *mem)
{
	struct feat_replay_opts o = { .probe_time_ms = BW_TIME_NONE, .include_observed = true,
				      .threads = threads, .mem_budget = budget };
	char err[256], *files[1] = { (char *)path };
	struct feat_replay *r = feat_replay_new(&o, err, sizeof(err));

	assert_non_null(r);
	if (feat_replay_files(r, files, 1, err, sizeof(err)))
		fail_msg("replay: %s", err);
	assert_int_equal(feat_replay_each(r, collect, out), 0);
	*mem = *feat_replay_mem(r);
	feat_replay_free(r);
}

/* ---- feat_spill ---------------------------------------------------------------- */

static void assert_same_state(const struct feat_account *a, const struct feat_account *b)
{
	void *x, *y;
	size_t nx, ny;
	assert_int_equal(feat_account_save(a, &x, &nx), 0);
	assert_int_equal(feat_account_save(b, &y, &ny), 0);
	assert_int_equal(nx, ny);
	assert_memory_equal(x, y, nx);
	free(x);
	free(y);
}

static void test_spill_round_trips(void **state)
{
	(void)state;
	char path[64], err[256], *files[1] = { path };
	struct feat_replay_opts o = { .probe_time_ms = BW_TIME_NONE, .include_observed = true };
	struct feat_replay *r;

	write_archive(path, sizeof(path), 3000, 600);
	assert_non_null(r = feat_replay_new(&o, err, sizeof(err)));
	assert_int_equal(feat_replay_files(r, files, 1, err, sizeof(err)), 0);
	size_t n = feat_replay_count(r);
	assert_true(n > 500);

	struct feat_spill *s = feat_spill_new(NULL, err, sizeof(err));
	struct feat_spill_loc *loc = calloc(n, sizeof(*loc));
	assert_non_null(s);
	assert_non_null(loc);
	/* every state twice (the second time in place), then read each back */
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < n; i++)
			assert_int_equal(feat_spill_put(s, feat_replay_account(r, i), &loc[i]), 0);
	const struct feat_spill_stats *st = feat_spill_stats(s);
	assert_int_equal(st->puts, 2 * n);
	assert_int_equal(st->reused, n);
	assert_true(st->file_bytes >= st->bytes_put / 2); /* the file holds the live slots */
	for (size_t i = 0; i < n; i++) {
		struct feat_account *b = feat_spill_get(s, &loc[i], err, sizeof(err));
		if (!b)
			fail_msg("get %zu: %s", i, err);
		assert_same_state(feat_replay_account(r, i), b);
		feat_account_free(b);
	}
	/* a larger state at a small state's location moves; both read back */
	size_t small = 0, large = 0;
	for (size_t i = 0; i < n; i++) {
		if (loc[i].len < loc[small].len)
			small = i;
		if (loc[i].len > loc[large].len)
			large = i;
	}
	assert_true(loc[large].len > loc[small].cap);
	struct feat_spill_loc moved = loc[small];
	assert_int_equal(feat_spill_put(s, feat_replay_account(r, large), &moved), 0);
	assert_true(moved.off != loc[small].off);
	struct feat_account *b = feat_spill_get(s, &moved, err, sizeof(err));
	assert_non_null(b);
	assert_same_state(feat_replay_account(r, large), b);
	feat_account_free(b);
	struct feat_spill_loc none = { 0 };
	assert_null(feat_spill_get(s, &none, err, sizeof(err)));

	free(loc);
	feat_spill_free(s);
	feat_spill_free(NULL);
	feat_replay_free(r);
	unlink(path);
	assert_null(feat_spill_new("/nonexistent/botwatch/dir", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create the spill file"));
}

/* ---- feat_replay: budget and threads --------------------------------------------- */

static void test_replay_budget_and_threads_same_vectors(void **state)
{
	(void)state;
	char path[64];
	struct vecs ref = { 0 };
	struct feat_replay_mem mem;
	const uint64_t budget = 256 << 10; /* far below what 600 accounts hold */

	write_archive(path, sizeof(path), 6000, 600);
	replay(path, 1, 0, &ref, &mem);
	assert_true(ref.n > 500);
	assert_int_equal(mem.spills, 0);
	assert_true(mem.resident_peak > 4 * budget);
	const struct { int threads; uint64_t budget; } runs[] = { { 2, 0 }, { 1, budget }, { 2, budget } };
	for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		struct vecs got = { 0 };
		replay(path, runs[k].threads, runs[k].budget, &got, &mem);
		assert_int_equal(got.n, ref.n);
		for (size_t i = 0; i < ref.n; i++)
			assert_string_equal(got.ids[i], ref.ids[i]);
		assert_memory_equal(got.v, ref.v, ref.n * feat_count() * sizeof(double));
		if (runs[k].budget) {
			assert_true(mem.spills > ref.n);  /* states went out ... */
			assert_true(mem.loads > 100);     /* ... and came back on later posts */
			assert_true(mem.resident_peak <= runs[k].budget + (64 << 10)); /* bounded */
			assert_true(mem.spill_file_bytes > 0);
		}
		vecs_free(&got);
	}
	vecs_free(&ref);
	unlink(path);
}

/* ---- text analysis done ahead (the reader thread's share) ---------------------- */

struct two_states {
	struct feat_account *plain;  /* folded with feat_account_update() */
	struct feat_account *ahead;  /* folded with the analysis passed in */
	size_t own;                  /* own posts given an analysis */
};

static int fold_both(const struct bw_post *p, void *opaque)
{
	struct two_states *t = opaque;
	struct feat_text_pre pre;
	bool own = p->kind != BW_POST_PROFILE && p->kind != BW_POST_DELETE;

	/* every post: the account's own ones and observations of it (others
	 * leave it as it is) */
	if (own)
		feat_text_analyse(p->text, pre.v, &pre.skel);
	t->own += own && strcmp(p->author.id, feat_account_id(t->plain)) == 0;
	assert_int_equal(feat_account_update(t->plain, p), 0);
	assert_int_equal(feat_account_update_pre(t->ahead, p, own ? &pre : NULL), 0);
	return 0;
}

/* feat_account_update_pre() with the analysis done ahead leaves the state
 * feat_account_update() leaves, byte for byte, whatever thread did it. */
static void test_update_with_text_analysis_ahead(void **state)
{
	(void)state;
	char path[64], err[256];
	struct two_states t = { feat_account_new("105"), feat_account_new("105"), 0 };
	struct bw_decode_opts o = { .probe_time_ms = BW_TIME_NONE, .on_post = fold_both,
				    .opaque = &t };
	struct bw_decoder *d;

	write_archive(path, sizeof(path), 4000, 50);
	assert_non_null(d = ingest_decoder_new(&o, err, sizeof(err)));
	assert_true(ingest_decode_file(d, path, err, sizeof(err)) >= 0);
	assert_true(t.own > 20);
	assert_same_state(t.plain, t.ahead);
	double *x = malloc(feat_count() * sizeof(double)), *y = malloc(feat_count() * sizeof(double));
	assert_int_equal(feat_account_extract(t.plain, BW_TIME_NONE, x), 0);
	assert_int_equal(feat_account_extract(t.ahead, BW_TIME_NONE, y), 0);
	assert_memory_equal(x, y, feat_count() * sizeof(double));
	free(x);
	free(y);
	ingest_decoder_free(d);
	feat_account_free(t.plain);
	feat_account_free(t.ahead);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_fifo_bounded_close),
		cmocka_unit_test(test_queue_cancel),
		cmocka_unit_test(test_queue_threads_in_order),
		cmocka_unit_test(test_queue_cancel_unblocks_producer),
		cmocka_unit_test(test_spill_round_trips),
		cmocka_unit_test(test_replay_budget_and_threads_same_vectors),
		cmocka_unit_test(test_update_with_text_analysis_ahead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
