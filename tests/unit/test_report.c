/*
 * test_report.c — the conversation report's pieces: the store's tallies
 * (add, scan ranges, prune to the most posted keys, marks), the recorder
 * (which posts and keys count, hashtag and domain folding, keywords as whole
 * words, buckets before 1970, the stage sink skipping posts below a mark) and
 * the report's figures and intervals on a hand-made store (Wilson and the
 * design-effect interval against values computed by hand), options parsing,
 * CSV.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bw_err.h"
#include "cfg.h"
#include "feat_tally.h"
#include "post.h"
#include "store.h"

struct fixture {
	char dir[64];        /* temp store directory */
	struct bw_store *st; /* writable store */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/bw_report_test_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->st = store_open(f->dir, true, 64, err, sizeof(err)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	store_close(f->st);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Collected scan rows as "kind bucket key account posts" lines. */
struct rows {
	char text[8192]; /* the lines */
	size_t n;        /* rows */
};

static int collect(char kind, int64_t bucket, const char *key, const char *account,
		   uint64_t posts, void *opaque)
{
	struct rows *r = opaque;
	size_t len = strlen(r->text);

	snprintf(r->text + len, sizeof(r->text) - len, "%c %lld %s %s %llu\n", kind,
		 (long long)bucket, key, account, (unsigned long long)posts);
	r->n++;
	return 0;
}

static void add(struct bw_store *st, char kind, int64_t bucket, const char *key,
		const char *acct, uint64_t n)
{
	char err[256];
	struct bw_store_txn *t = store_txn_begin(st, err, sizeof(err));

	assert_non_null(t);
	assert_int_equal(store_tally_add(t, kind, bucket, key, acct, n, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
}

static void test_tally_add_scan(void **state)
{
	struct fixture *f = *state;
	struct rows r = { "", 0 };

	add(f->st, 'h', 3600, "news", "2", 1);
	add(f->st, 'h', 3600, "news", "2", 2); /* adds up */
	add(f->st, 'h', 3600, "news", "10", 1);
	add(f->st, 'h', -3600, "old", "1", 1); /* before 1970 sorts first */
	add(f->st, 'h', 7200, "art", "1", 4);
	add(f->st, 'd', 3600, "example.org", "1", 1); /* another kind: not in 'h' scans */
	assert_int_equal(store_tally_scan(f->st, 'h', INT64_MIN / 2, INT64_MAX / 2, collect, &r), 0);
	assert_string_equal(r.text, "h -3600 old 1 1\n"
				    "h 3600 news 10 1\n"
				    "h 3600 news 2 3\n"
				    "h 7200 art 1 4\n");
	r = (struct rows){ "", 0 };
	assert_int_equal(store_tally_scan(f->st, 'h', 3600, 7200, collect, &r), 0);
	assert_int_equal(r.n, 2); /* [from, to) */
	r = (struct rows){ "", 0 };
	assert_int_equal(store_tally_scan(f->st, 'd', 0, 10000, collect, &r), 0);
	assert_string_equal(r.text, "d 3600 example.org 1 1\n");
	assert_int_equal(store_tally_scan(f->st, 'x', 0, 1, collect, &r), BW_EINVAL);
}

static void test_tally_bad_input(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));

	assert_int_equal(store_tally_add(t, 'q', 0, "k", "1", 1, err, sizeof(err)), BW_EINVAL);
	assert_int_equal(store_tally_add(t, 'h', 0, "", "1", 1, err, sizeof(err)), BW_EINVAL);
	assert_int_equal(store_tally_add(t, 'h', 0, "k", "", 1, err, sizeof(err)), BW_EINVAL);
	store_txn_abort(t);
}

static void test_tally_prune(void **state)
{
	struct fixture *f = *state;
	struct rows r = { "", 0 };
	char err[256], key[16], acct[16];
	struct bw_store_txn *t = store_txn_begin(f->st, err, sizeof(err));
	uint64_t dropped = 0;

	/* 7 keys: k0 has 7 posts (over two accounts) ... k6 one post */
	for (int k = 0; k < 7; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		for (int p = 0; p < 7 - k; p++) {
			snprintf(acct, sizeof(acct), "%d", 1 + p % 2);
			assert_int_equal(store_tally_add(t, 'h', 0, key, acct, 1, err, sizeof(err)), 0);
		}
	}
	assert_int_equal(store_tally_add(t, 'h', 3600, "other", "1", 1, err, sizeof(err)), 0);
	/* 7 keys <= 2 x 4: nothing dropped yet */
	assert_int_equal(store_tally_prune(t, 'h', 0, 4, &dropped, err, sizeof(err)), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_tally_prune(t, 'h', 0, 3, &dropped, err, sizeof(err)), 0);
	assert_int_equal(dropped, 4);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	assert_int_equal(store_tally_scan(f->st, 'h', 0, 3601, collect, &r), 0);
	assert_string_equal(r.text, "h 0 k0 1 4\nh 0 k0 2 3\nh 0 k1 1 3\nh 0 k1 2 3\n"
				    "h 0 k2 1 3\nh 0 k2 2 2\nh 3600 other 1 1\n");
}

static void test_tally_marks(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int64_t off = 0;
	struct bw_store_txn *t;

	assert_int_equal(store_tally_mark_get(f->st, "posts", 0, &off), BW_ENOENT);
	assert_non_null(t = store_txn_begin(f->st, err, sizeof(err)));
	assert_int_equal(store_tally_mark_put(t, "posts", 0, 42, err, sizeof(err)), 0);
	assert_int_equal(store_tally_mark_put(t, "posts", 3, 7, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
	assert_int_equal(store_tally_mark_get(f->st, "posts", 0, &off), 0);
	assert_int_equal(off, 42);
	assert_int_equal(store_tally_mark_get(f->st, "posts", 3, &off), 0);
	assert_int_equal(off, 7);
	assert_int_equal(store_tally_mark_get(f->st, "other", 0, &off), BW_ENOENT);
}

static void test_domain(void **state)
{
	char b[64];

	(void)state;
	assert_true(feat_tally_domain("https://www.Example.ORG/a?b#c", b, sizeof(b)));
	assert_string_equal(b, "example.org");
	assert_true(feat_tally_domain("http://user:pw@host.net:8080/x", b, sizeof(b)));
	assert_string_equal(b, "host.net");
	assert_true(feat_tally_domain("https://bit.ly", b, sizeof(b)));
	assert_string_equal(b, "bit.ly");
	assert_true(feat_tally_domain("https://www./x", b, sizeof(b))); /* nothing after www.: kept */
	assert_string_equal(b, "www.");
	assert_false(feat_tally_domain("not a url", b, sizeof(b)));
	assert_false(feat_tally_domain("https:///path", b, sizeof(b)));
	assert_false(feat_tally_domain(NULL, b, sizeof(b)));
}

/* A post by `author` at `ms` with hashtags, URLs and text. */
static void mkpost(struct bw_post *p, const char *author, int64_t ms, const char **tags, uint32_t nt,
		   const char **urls, uint32_t nu, const char *text)
{
	bw_post_init(p);
	p->kind = BW_POST_ORIGINAL;
	p->id = "1";
	p->author.id = author;
	p->created_at_ms = ms;
	p->hashtags = tags;
	p->n_hashtags = nt;
	p->urls = urls;
	p->n_urls = nu;
	p->text = text;
}

static void test_recorder(void **state)
{
	struct fixture *f = *state;
	struct feat_tally_opts o = { 3600, 100, " Climate Change ,bots,," };
	struct feat_tally *t;
	struct bw_post p;
	struct rows r = { "", 0 };
	const char *tags[] = { "News", "news", "NEWS", "art" };
	const char *urls[] = { "https://www.example.org/1", "http://example.org/2", "https://b.net" };
	char err[256];
	struct bw_store_txn *txn;

	assert_non_null(t = feat_tally_new(&o, err, sizeof(err)));
	mkpost(&p, "7", 7200 * 1000 + 5, tags, 4, urls, 3, "On climate  change? CLIMATE CHANGE! robots");
	assert_int_equal(feat_tally_post(t, &p), 0);
	mkpost(&p, "7", -1, tags + 3, 1, NULL, 0, "bots."); /* 1969-12-31T23:59:59.999Z */
	assert_int_equal(feat_tally_post(t, &p), 0);
	mkpost(&p, "8", 7200 * 1000, tags, 1, NULL, 0, NULL);
	p.flags = BW_POSTF_EMBEDDED; /* a retweeted status inside another: not counted */
	assert_int_equal(feat_tally_post(t, &p), 0);
	p.flags = 0;
	p.kind = BW_POST_PROFILE; /* not a post */
	assert_int_equal(feat_tally_post(t, &p), 0);
	assert_int_equal(feat_tally_pending(t), 7); /* 2 hashtags, 2 domains, 1 keyword; art and bots before 1970 */
	assert_non_null(txn = store_txn_begin(f->st, err, sizeof(err)));
	assert_int_equal(feat_tally_flush(t, txn, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(txn, err, sizeof(err)), 0);
	assert_int_equal(feat_tally_pending(t), 0);
	assert_int_equal(store_tally_scan(f->st, 'h', INT64_MIN / 2, INT64_MAX / 2, collect, &r), 0);
	assert_string_equal(r.text, "h -3600 art 7 1\nh 7200 art 7 1\nh 7200 news 7 1\n");
	r = (struct rows){ "", 0 };
	assert_int_equal(store_tally_scan(f->st, 'd', INT64_MIN / 2, INT64_MAX / 2, collect, &r), 0);
	assert_string_equal(r.text, "d 7200 b.net 7 1\nd 7200 example.org 7 1\n");
	r = (struct rows){ "", 0 };
	assert_int_equal(store_tally_scan(f->st, 'k', INT64_MIN / 2, INT64_MAX / 2, collect, &r), 0);
	/* "robots" is not the word "bots"; "bots." is */
	assert_string_equal(r.text, "k -3600 bots 7 1\nk 7200 climate change 7 1\n");
	feat_tally_free(t);
	o.bucket_s = 0;
	assert_null(feat_tally_new(&o, err, sizeof(err)));
}

static void test_sink_marks(void **state)
{
	struct fixture *f = *state;
	struct bw_config *cfg = NULL;
	struct feat_tally_sink *s;
	struct bw_post p;
	struct rows r = { "", 0 };
	const char *tags[] = { "x" };
	int32_t parts[] = { 0 };
	int64_t offs[] = { 10 };
	char err[256];

	assert_non_null(cfg = cfg_new());
	assert_int_equal(feat_tally_sink_open(cfg, f->st, "posts", &s, err, sizeof(err)), 0);
	assert_non_null(s);
	mkpost(&p, "5", 0, tags, 1, NULL, 0, NULL);
	assert_int_equal(feat_tally_sink_post(s, 0, 8, &p), 0);
	assert_int_equal(feat_tally_sink_commit(s, 1, parts, offs, err, sizeof(err)), 0);
	/* read again after a crash: offsets below the mark 10 are not counted twice */
	assert_int_equal(feat_tally_sink_post(s, 0, 8, &p), 0);
	assert_int_equal(feat_tally_sink_post(s, 0, 9, &p), 0);
	assert_int_equal(feat_tally_sink_post(s, 0, 10, &p), 0);
	assert_int_equal(feat_tally_sink_commit(s, 0, NULL, NULL, err, sizeof(err)), 0);
	feat_tally_sink_free(s);
	/* a new sink reads the mark from the store */
	assert_int_equal(feat_tally_sink_open(cfg, f->st, "posts", &s, err, sizeof(err)), 0);
	assert_int_equal(feat_tally_sink_post(s, 0, 9, &p), 0);
	assert_int_equal(feat_tally_sink_commit(s, 0, NULL, NULL, err, sizeof(err)), 0);
	feat_tally_sink_free(s);
	assert_int_equal(store_tally_scan(f->st, 'h', 0, 1, collect, &r), 0);
	assert_string_equal(r.text, "h 0 x 5 2\n");
	cfg_set(cfg, "report.max_keys", "0", "test", err, sizeof(err));
	assert_int_equal(feat_tally_sink_open(cfg, f->st, "posts", &s, err, sizeof(err)), 0);
	assert_null(s);
	cfg_free(cfg);
}

/* A score record with CAP english `cap` for `id`. */
static void put_record(struct bw_store *st, const char *id, double cap)
{
	char rec[256], err[256];
	struct bw_store_txn *t = store_txn_begin(st, err, sizeof(err));

	snprintf(rec, sizeof(rec),
		 "{\"user_id\":\"%s\",\"status\":\"ok\",\"score\":%g,\"cap\":{\"english\":%g,"
		 "\"universal\":%g}}", id, cap, cap, cap);
	assert_int_equal(store_txn_put(t, id, NULL, rec, strlen(rec), NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(store_txn_commit(t, err, sizeof(err)), 0);
}

static const char *no_args(void *ctx, const char *name)
{
	(void)ctx, (void)name;
	return NULL;
}

static void test_report_figures(void **state)
{
	struct fixture *f = *state;
	struct api_report_opts o;
	json_t *rep, *row;
	char err[256];
	char *csv;

	/* #x: account 1 (above, 6 posts), 2 (above, 1), 3 (below, 1), 4 (below, 2), 5 unscored */
	put_record(f->st, "1", 0.9);
	put_record(f->st, "2", 0.5); /* >= threshold counts as above */
	put_record(f->st, "3", 0.1);
	put_record(f->st, "4", 0.49);
	add(f->st, 'h', 0, "x", "1", 4);
	add(f->st, 'h', 3600, "x", "1", 2);
	add(f->st, 'h', 0, "x", "2", 1);
	add(f->st, 'h', 0, "x", "3", 1);
	add(f->st, 'h', 3600, "x", "4", 2);
	add(f->st, 'h', 0, "x", "5", 3);
	add(f->st, 'h', 0, "y", "3", 1);
	assert_int_equal(api_report_parse(no_args, NULL, &o, err, sizeof(err)), 0);
	o.store = f->st;
	o.window_s = 0;
	assert_int_equal(api_report_build(&o, &rep, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "rows")), 2);
	row = json_array_get(json_object_get(rep, "rows"), 0);
	assert_string_equal(json_string_value(json_object_get(row, "key")), "x");
	assert_int_equal(json_integer_value(json_object_get(row, "posts")), 13);
	assert_int_equal(json_integer_value(json_object_get(row, "accounts")), 5);
	assert_int_equal(json_integer_value(json_object_get(row, "accounts_scored")), 4);
	assert_int_equal(json_integer_value(json_object_get(row, "accounts_above")), 2);
	assert_int_equal(json_integer_value(json_object_get(row, "posts_scored")), 10);
	assert_int_equal(json_integer_value(json_object_get(row, "posts_above")), 7);
	/* Wilson 2/4: 0.150039 .. 0.849961 */
	assert_true(fabs(json_real_value(json_array_get(json_object_get(row, "share_accounts_ci"), 0)) -
			 0.150039) < 2e-6);
	assert_true(fabs(json_real_value(json_array_get(json_object_get(row, "share_accounts_ci"), 1)) -
			 0.849961) < 2e-6);
	/* posts: p = 0.7; Σ m²(z-p)² = 36·.09 + 1·.09 + 1·.49 + 4·.49 = 5.78; v = 4/3·5.78/100;
	 * n_eff = .21 / v = 2.72491; design effect 10 / n_eff = 3.66984 */
	assert_true(fabs(json_real_value(json_object_get(row, "design_effect")) - 3.6698) < 1e-4);
	{
		double n = 0.21 / (4.0 / 3.0 * 5.78 / 100), k = 0.7 * n, z = 1.959963984540054;
		double c = (0.7 + z * z / (2 * n)) / (1 + z * z / n);
		double h = z * sqrt(0.21 / n + z * z / (4 * n * n)) / (1 + z * z / n);
		(void)k;
		assert_true(fabs(json_real_value(json_array_get(json_object_get(row, "share_posts_ci"), 0)) -
				 (c - h)) < 2e-6);
		assert_true(fabs(json_real_value(json_array_get(json_object_get(row, "share_posts_ci"), 1)) -
				 (c + h)) < 2e-6);
	}
	/* #y: one account below: p = 0 uses the account count */
	row = json_array_get(json_object_get(rep, "rows"), 1);
	assert_true(json_real_value(json_object_get(row, "share_posts")) == 0);
	assert_true(fabs(json_real_value(json_object_get(row, "design_effect")) - 1) < 1e-9);
	csv = api_report_csv(rep);
	assert_non_null(csv);
	assert_non_null(strstr(csv, "by,window_start,window_end,key,posts,accounts,accounts_scored,"
				    "accounts_above,share_accounts,share_accounts_ci_low,"
				    "share_accounts_ci_high,posts_scored,"));
	assert_non_null(strstr(csv, "\nhashtag,1970-01-01T00:00:00Z,1970-01-01T01:00:00Z,x,13,5,4,2,0.5,"));
	free(csv);
	json_decref(rep);
	/* hourly windows, threshold 0.95: nothing above */
	o.window_s = 3600;
	o.threshold = 0.95;
	o.top = 1;
	assert_int_equal(api_report_build(&o, &rep, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "rows")), 2); /* one key per window */
	row = json_array_get(json_object_get(rep, "rows"), 1);
	assert_string_equal(json_string_value(json_object_get(row, "window_start")), "1970-01-01T01:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(row, "posts")), 4);
	assert_int_equal(json_integer_value(json_object_get(row, "accounts_above")), 0);
	json_decref(rep);
}

/* Query parameters from a NULL-terminated name, value list. */
static const char *pairs(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static void test_report_parse(void **state)
{
	struct api_report_opts o;
	char err[256];
	const char *good[] = { "by", "domain", "window", "1d", "threshold", "0.8", "cap", "universal",
			       "from", "2021-01-01", "top", "0", "key", "b.net", NULL };
	const char *bad[][3] = { { "by", "rule", NULL }, { "window", "59", NULL },
				 { "window", "0.5m", NULL }, { "window", "h", NULL },
				 { "threshold", "-0.1", NULL }, { "cap", "english2", NULL },
				 { "from", "yesterday", NULL }, { "top", "1e3", NULL } };

	(void)state;
	assert_int_equal(api_report_parse(pairs, (void *)good, &o, err, sizeof(err)), 0);
	assert_int_equal(o.kind, STORE_TALLY_DOMAIN);
	assert_int_equal(o.window_s, 86400);
	assert_true(o.threshold == 0.8);
	assert_string_equal(o.cap, "universal");
	assert_int_equal(o.from_s, 1609459200);
	assert_int_equal(o.top, 0);
	assert_string_equal(o.key, "b.net");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(api_report_parse(pairs, (void *)bad[i], &o, err, sizeof(err)),
				 BW_EINVAL);
	const char *all[] = { "window", "all", NULL };
	assert_int_equal(api_report_parse(pairs, (void *)all, &o, err, sizeof(err)), 0);
	assert_int_equal(o.window_s, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tally_add_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tally_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tally_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tally_marks, setup, teardown),
		cmocka_unit_test(test_domain),
		cmocka_unit_test_setup_teardown(test_recorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_figures, setup, teardown),
		cmocka_unit_test(test_report_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
