/*
 * test_allocfail.c — allocation-failure injection (curl's torture tests,
 * SQLite's OOM tests) in the post decoder, the post codec and the feature
 * state: for N = 1, 2, ... the Nth allocation of an operation fails, until the
 * operation makes fewer than N allocations and so runs clean. Every failed run
 * must
 *   - end in a clean error or absorb the failure (no crash),
 *   - leave nothing allocated (the live-block count below returns to where it
 *     was; under `make SANITIZE=address unit` ASan's leak check too),
 *   - leave no half result: what it delivered before the failure is a prefix of
 *     a clean run's output (a run that reports success delivered all of it, so
 *     no post is silently lost or dead-lettered for a failed allocation), and a
 *     feature state whose update failed, updated again, equals a clean one.
 *
 * The hook costs nothing elsewhere: only this binary is linked with
 * -Wl,--wrap=malloc,... (the Makefile's rule for it), so the allocations of
 * libbotwatch.a's code resolve to the __wrap_* functions here, and jansson's
 * are routed to them with json_set_alloc_funcs(). Allocations inside other
 * shared libraries (simdjson, libc) are not counted. Injection is armed only
 * around the operation under test, never inside cmocka. AF_BT=N prints the
 * stack of the Nth allocation of each run (addr2line -e resolves it).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <execinfo.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_arena.h"
#include "bw_err.h"
#include "bw_time.h"
#include "decode.h"
#include "feat.h"
#include "post.h"
#include "postcodec.h"

/* ---- the injectable allocator --------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);
void *__real__ZnwmRKSt9nothrow_t(size_t n, const void *nt);
void *__real__ZnamRKSt9nothrow_t(size_t n, const void *nt);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);
void *__wrap__ZnwmRKSt9nothrow_t(size_t n, const void *nt);
void *__wrap__ZnamRKSt9nothrow_t(size_t n, const void *nt);

static struct {
	bool armed;     /* count (and fail) allocations */
	long fail_at;   /* the allocation number that fails (0: none) */
	long count;     /* allocations since arming */
	bool failed;    /* fail_at was reached */
	long live;      /* malloc-family blocks allocated and not yet freed */
} af;

/* True when this allocation must fail. */
static bool af_fail(void)
{
	if (!af.armed)
		return false;
	if (++af.count == af.fail_at) {
		af.failed = true;
		if (getenv("AF_BT") && atol(getenv("AF_BT")) == af.fail_at) { /* where it fails */
			void *bt[16];
			backtrace_symbols_fd(bt, backtrace(bt, 16), 2);
		}
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	void *p = af_fail() ? NULL : __real_malloc(n);
	af.live += p != NULL;
	return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
	void *p = af_fail() ? NULL : __real_calloc(k, n);
	af.live += p != NULL;
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (old && n == 0) { /* glibc frees */
		af.live--;
		return __real_realloc(old, 0);
	}
	p = af_fail() ? NULL : __real_realloc(old, n);
	af.live += !old && p;
	return p;
}

char *__wrap_strdup(const char *s)
{
	char *p = af_fail() ? NULL : __real_strdup(s);
	af.live += p != NULL;
	return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
	char *p = af_fail() ? NULL : __real_strndup(s, n);
	af.live += p != NULL;
	return p;
}

void __wrap_free(void *p)
{
	af.live -= p != NULL;
	__real_free(p);
}

/* operator new(size_t, std::nothrow_t const &) and new[]: NULL on failure, as
 * the nothrow form promises (json_dom.cpp checks it); freed by operator
 * delete, which is not counted here */
void *__wrap__ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
	return af_fail() ? NULL : __real__ZnwmRKSt9nothrow_t(n, nt);
}

void *__wrap__ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	return af_fail() ? NULL : __real__ZnamRKSt9nothrow_t(n, nt);
}

static void af_arm(long fail_at)
{
	af.fail_at = fail_at;
	af.count = 0;
	af.failed = false;
	af.armed = true;
}

static void af_disarm(void)
{
	af.armed = false;
}

static int setup(void **state)
{
	(void)state;
	json_set_alloc_funcs(__wrap_malloc, __wrap_free);
	return 0;
}

/* The allocation-failure loop: op(ctx) under "fail the Nth" for N = 1.. until
 * a run that does not reach N; check(ctx, rc, failed) after each run (with
 * injection disarmed). Returns the runs made. */
typedef int (*af_op)(void *ctx);
typedef void (*af_check)(void *ctx, int rc, bool failed, long n);

static long af_loop(af_op op, af_check check, void *ctx)
{
	long n;

	for (n = 1;; n++) {
		long live0 = af.live;
		int rc;
		bool failed;

		af_arm(n);
		rc = op(ctx);
		af_disarm();
		failed = af.failed;
		check(ctx, rc, failed, n);
		if (af.live != live0)
			fail_msg("allocation %ld failed: %ld block(s) leaked", n, af.live - live0);
		if (!failed)
			return n;
		assert_true(n < 1000000);
	}
}

/* ---- inputs --------------------------------------------------------------------------- */

static char *read_fixture(const char *rel, size_t *len)
{
	const char *root = getenv("BOTWATCH_DATA");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/fixtures/%s", root && *root ? root : "../shared/data", rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = __real_malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A few units of every shape the decoder knows, plus bad ones (DLQ). */
static const char inline_units[] =
	"{\"id_str\":\"11\",\"text\":\"hello @bob #tag https://t.co/x\",\"created_at\":\"Mon Jan 22 01:57:38 +0000 2007\","
	"\"user\":{\"id_str\":\"42\",\"screen_name\":\"alice\",\"followers_count\":3},"
	"\"entities\":{\"hashtags\":[{\"text\":\"tag\"}],\"user_mentions\":[{\"id_str\":\"7\",\"screen_name\":\"bob\"}],"
	"\"urls\":[{\"expanded_url\":\"https://example.org\"}]},"
	"\"retweeted_status\":{\"id_str\":\"10\",\"text\":\"orig\",\"user\":{\"id_str\":\"7\",\"screen_name\":\"bob\"}}}\n"
	"{\"data\":{\"id\":\"20\",\"text\":\"v2 post\",\"author_id\":\"43\",\"created_at\":\"2023-01-01T00:00:00.000Z\"},"
	"\"includes\":{\"users\":[{\"id\":\"43\",\"username\":\"carol\",\"public_metrics\":{\"followers_count\":5}}]}}\n"
	"{\"id\":\"30\",\"created_at\":\"2023-02-01T00:00:00.000Z\",\"content\":\"<p>toot</p>\",\"account\":{\"id\":\"44\",\"acct\":\"dave\"}}\n"
	"{\"id\": 12, \"text\": \n"
	"{\"delete\":{\"status\":{\"id_str\":\"5\",\"user_id_str\":\"6\"}}}\n"
	"{\"id_str\":\"../etc\",\"text\":\"x\",\"user\":{\"id_str\":\"../etc\"}}\n"
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n";

/* ---- decoder --------------------------------------------------------------------------- */

struct dec_ctx {
	const char *in;   /* the input */
	size_t len;
	char *out;        /* posts and DLQ records delivered, one line each */
	size_t out_len, out_cap;
	char *clean;      /* a clean run's out */
	size_t clean_len;
	long runs_failed_clean; /* failed-allocation runs that still reported success */
};

static void out_add(struct dec_ctx *c, const char *s, size_t n)
{
	if (c->out_len + n + 1 > c->out_cap) {
		c->out_cap = (c->out_len + n + 1) * 2;
		c->out = __real_realloc(c->out, c->out_cap);
		assert_non_null(c->out);
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	c->out[c->out_len++] = '\n';
}

static int on_post(const struct bw_post *p, void *opaque)
{
	struct dec_ctx *c = opaque;
	bool was = af.armed;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	af.armed = false; /* the test's own recording is not under test */
	assert_int_equal(bw_post_append_json(p, &buf, &len, &cap), 0);
	out_add(c, buf, len);
	free(buf);
	af.armed = was;
	return 0;
}

static void on_dlq(const struct bw_dlq_rec *r, void *opaque)
{
	struct dec_ctx *c = opaque;
	char line[64];

	int n = snprintf(line, sizeof(line), "dlq %s line %llu", bw_dlq_reason_name(r->reason),
			 (unsigned long long)r->line);
	out_add(c, line, (size_t)n);
}

static int dec_op(void *ctx)
{
	struct dec_ctx *c = ctx;
	struct bw_decode_opts o = { .probe_time_ms = BW_TIME_NONE, .on_post = on_post,
				    .on_dlq = on_dlq, .opaque = c };
	char err[256];
	struct bw_decoder *d;
	int rc;

	c->out_len = 0;
	d = ingest_decoder_new(&o, err, sizeof(err));
	if (!d)
		return BW_ENOMEM;
	rc = ingest_decode_buffer(d, c->in, c->len, "allocfail");
	if (!rc)
		rc = ingest_decoder_finish(d);
	ingest_decoder_free(d);
	return rc;
}

static void dec_check(void *ctx, int rc, bool failed, long n)
{
	struct dec_ctx *c = ctx;

	if (!failed) {
		assert_int_equal(rc, 0);
		assert_int_equal(c->out_len, c->clean_len);
		assert_memory_equal(c->out, c->clean, c->clean_len);
		return;
	}
	if (rc == 0 && (c->out_len != c->clean_len || memcmp(c->out, c->clean, c->out_len)))
		fail_msg("allocation %ld failed: the decode reported success with different output:\n"
			 "%.*s\n--- clean:\n%.*s", n, (int)c->out_len, c->out, (int)c->clean_len, c->clean);
	if (rc != 0 && rc != BW_ENOMEM)
		fail_msg("allocation %ld failed: rc %d (%s), not BW_ENOMEM", n, rc, bw_strerror(rc));
	/* what was delivered before the failure is what a clean run delivers first */
	if (c->out_len > c->clean_len || (c->out_len && memcmp(c->out, c->clean, c->out_len)))
		fail_msg("allocation %ld failed: output is not a prefix of the clean run's:\n%.*s", n,
			 (int)c->out_len, c->out);
	c->runs_failed_clean += rc == 0;
}

static void dec_one(const char *in, size_t len, const char *what)
{
	struct dec_ctx c = { .in = in, .len = len };
	long runs;

	assert_int_equal(dec_op(&c), 0);
	c.clean = c.out;
	c.clean_len = c.out_len;
	c.out = NULL;
	c.out_len = c.out_cap = 0;
	assert_true(c.clean_len > 0);
	runs = af_loop(dec_op, dec_check, &c);
	print_message("decoder, %s: %ld allocations, each failed once: clean errors (%ld absorbed)\n",
		      what, runs - 1, c.runs_failed_clean);
	__real_free(c.out);
	__real_free(c.clean);
}

static void test_decoder(void **state)
{
	static const char *const fixtures[] = {
		"twitter_v1_stream/python-twitter_streaming_extended_tweet.json",
		"twitter_v2/twarc-csv_search_all_two_tweets.jsonl",
		"bluesky_jetstream/jetstream_v1_golden_10_events.jsonl",
		"mastodon/mastodonpy_sse_streaming_user_update_notification_delete_status-update.txt",
	};

	(void)state;
	dec_one(inline_units, sizeof(inline_units) - 1, "inline units");
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		size_t len;
		char *in = read_fixture(fixtures[i], &len);
		if (!in) {
			print_message("decoder: %s not found (BOTWATCH_DATA): skipped\n", fixtures[i]);
			continue;
		}
		dec_one(in, len, strrchr(fixtures[i], '/') + 1);
		__real_free(in);
	}
}

/* ---- post codec ------------------------------------------------------------------------ */

struct codec_ctx {
	const struct bw_post *post;  /* the post to encode */
	unsigned char *clean;        /* its clean encoding */
	size_t clean_len;
	bool differs;                /* this run decoded something else */
};

static int codec_op(void *ctx)
{
	struct codec_ctx *c = ctx;
	unsigned char *buf = NULL;
	size_t len;
	struct bw_post back;
	struct bw_arena *a;
	char err[128];
	int rc;

	c->differs = false;
	if ((rc = ingest_post_encode_alloc(c->post, &buf, &len)))
		return rc;
	if (!(a = bw_arena_new(1 << 20))) {
		free(buf);
		return BW_ENOMEM;
	}
	rc = ingest_post_decode(buf, len, &back, a, err, sizeof(err));
	if (!rc) { /* what decoded re-encodes to the same bytes */
		bool was = af.armed;
		unsigned char *got;
		size_t got_len;

		af.armed = false;
		assert_int_equal(ingest_post_encode_alloc(&back, &got, &got_len), 0);
		c->differs = got_len != c->clean_len || memcmp(got, c->clean, got_len);
		free(got);
		af.armed = was;
	}
	bw_arena_free(a);
	free(buf);
	return rc;
}

static void codec_check(void *ctx, int rc, bool failed, long n)
{
	struct codec_ctx *c = ctx;

	if (rc) {
		if (!failed || rc != BW_ENOMEM)
			fail_msg("allocation %ld: rc %d (%s)", n, rc, bw_strerror(rc));
		return;
	}
	if (c->differs)
		fail_msg("allocation %ld failed: the decode succeeded with another post", n);
}

/* Posts of the inline units, decoded once (clean), for the codec and the state. */
struct posts {
	struct bw_arena *arena;       /* owns the copies */
	struct bw_post p[16];
	unsigned char *enc[16];       /* their encodings (owned) */
	size_t n;
};

static int keep_post(const struct bw_post *p, void *opaque)
{
	struct posts *ps = opaque;
	size_t len;

	assert_true(ps->n < 16);
	assert_int_equal(ingest_post_encode_alloc(p, &ps->enc[ps->n], &len), 0);
	char err[128];
	assert_int_equal(ingest_post_decode(ps->enc[ps->n], len, &ps->p[ps->n], ps->arena, err,
					    sizeof(err)), 0);
	ps->n++;
	return 0;
}

static void posts_load(struct posts *ps)
{
	struct bw_decode_opts o = { .probe_time_ms = BW_TIME_NONE, .on_post = keep_post, .opaque = ps };
	char err[256];
	struct bw_decoder *d;

	memset(ps, 0, sizeof(*ps));
	ps->arena = bw_arena_new(1 << 20);
	assert_non_null(ps->arena);
	d = ingest_decoder_new(&o, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(ingest_decode_buffer(d, inline_units, sizeof(inline_units) - 1, "t"), 0);
	assert_int_equal(ingest_decoder_finish(d), 0);
	ingest_decoder_free(d);
	assert_true(ps->n >= 3);
}

static void posts_free(struct posts *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->enc[i]);
	bw_arena_free(ps->arena);
}

static void test_postcodec(void **state)
{
	struct posts ps;
	long runs = 0;

	(void)state;
	posts_load(&ps);
	for (size_t i = 0; i < ps.n; i++) {
		struct codec_ctx c = { .post = &ps.p[i] };
		assert_int_equal(ingest_post_encode_alloc(c.post, &c.clean, &c.clean_len), 0);
		runs += af_loop(codec_op, codec_check, &c) - 1;
		free(c.clean);
	}
	print_message("post codec: %zu posts, %ld allocations failed one at a time: clean errors\n",
		      ps.n, runs);
	posts_free(&ps);
}

/* ---- feature state --------------------------------------------------------------------- */

struct feat_ctx {
	struct posts *ps;          /* the posts, folded in order into one account */
	void *clean;               /* a clean run's saved state */
	size_t clean_len;
};

/* new, every update, a save after each, extract, load: the whole life of one
 * state, under injection. A failed update must leave the state refused (never
 * saved or extracted half folded); the run then does what a caller does (the
 * features stage restarts from its store): reloads the last saved copy, folds
 * the post again and goes on, so the final state must equal the clean run's. */
static void feat_refused(struct feat_account *acc, const struct bw_post *p)
{
	void *buf = NULL;
	size_t len;
	double v[1];

	assert_int_equal(feat_account_save(acc, &buf, &len), BW_EINVAL);
	assert_null(buf);
	assert_int_equal(feat_account_extract(acc, BW_TIME_NONE, v), BW_EINVAL);
	assert_int_equal(feat_account_update(acc, p), BW_EINVAL);
}

static int feat_op(void *ctx)
{
	struct feat_ctx *c = ctx;
	struct feat_account *acc, *back = NULL;
	double *vec = NULL;
	void *last = NULL, *buf = NULL;
	size_t last_len = 0, len = 0;
	char err[128];
	int rc = 0;
	bool was;

	if (!(acc = feat_account_new(c->ps->p[0].author.id)))
		return BW_ENOMEM;
	for (size_t i = 0; i < c->ps->n; i++) {
		const struct bw_post *p = &c->ps->p[i];
		if (feat_account_update(acc, p)) {
			was = af.armed;
			af.armed = false;
			feat_refused(acc, p);
			feat_account_free(acc);
			acc = last ? feat_account_load(last, last_len, err, sizeof(err))
				   : feat_account_new(c->ps->p[0].author.id);
			assert_non_null(acc);
			assert_int_equal(feat_account_update(acc, p), 0);
			af.armed = was;
			rc = BW_ENOMEM;
		}
		free(last);
		last = NULL;
		if (feat_account_save(acc, &last, &last_len)) { /* a failed save changes nothing */
			assert_null(last);
			rc = BW_ENOMEM;
		}
	}
	if (!(vec = malloc(feat_count() * sizeof(*vec)))) {
		rc = BW_ENOMEM;
	} else if (feat_account_extract(acc, BW_TIME_NONE, vec) == 0) {
		for (size_t i = 0; i < feat_count(); i++)
			if (isinf(vec[i]))
				fail_msg("feature %zu is %f", i, vec[i]);
	} else {
		rc = BW_ENOMEM;
	}
	if (last && !(back = feat_account_load(last, last_len, err, sizeof(err))))
		rc = BW_ENOMEM;
	was = af.armed;
	af.armed = false;
	assert_int_equal(feat_account_save(acc, &buf, &len), 0);
	if (len != c->clean_len || memcmp(buf, c->clean, len))
		fail_msg("allocation %ld failed: the final state differs from the clean run's", af.fail_at);
	af.armed = was;
	feat_account_free(back);
	free(buf);
	free(last);
	free(vec);
	feat_account_free(acc);
	return rc;
}

static void feat_check(void *ctx, int rc, bool failed, long n)
{
	struct feat_ctx *c = ctx;

	if (rc && !failed)
		fail_msg("allocation %ld: rc %d without a failed allocation", n, rc);
	(void)c;
	(void)failed;
}

static void test_feature_state(void **state)
{
	struct posts ps;
	struct feat_ctx c = { .ps = &ps };
	struct feat_account *acc;
	long runs;

	(void)state;
	posts_load(&ps);
	acc = feat_account_new(ps.p[0].author.id);
	assert_non_null(acc);
	for (size_t i = 0; i < ps.n; i++)
		assert_int_equal(feat_account_update(acc, &ps.p[i]), 0);
	assert_int_equal(feat_account_save(acc, &c.clean, &c.clean_len), 0);
	feat_account_free(acc);
	runs = af_loop(feat_op, feat_check, &c);
	print_message("feature state: %zu posts, %ld allocations failed one at a time: clean errors, "
		      "a failed update refused, reloaded, folded again: the final state equal to the clean one\n", ps.n, runs - 1);
	free(c.clean);
	posts_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoder),
		cmocka_unit_test(test_postcodec),
		cmocka_unit_test(test_feature_state),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
