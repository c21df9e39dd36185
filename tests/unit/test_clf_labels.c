/*
 * test_clf_labels.c — the labels loader (classifier/clf_cmd.c): the optional
 * dataset and evidence columns, their errors, and that clf_cmd_fill limits a
 * row's availability to the evidence its label allows (the TweepFake chunks
 * are labelled "posts" so they never train the profile groups; docs/MODEL.md,
 * "Real labelled timelines"), and the fields column: a profile column reading
 * a field the row's source lacks is masked (NaN) in the matrix
 * (docs/MODEL.md, "Sources").
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "feat.h"

/* Write text to a new temporary file; its path into path (>= 64 bytes). */
static void write_tmp(char *path, const char *suffix, const char *text)
{
	snprintf(path, 64, "/tmp/bw_test_labels_XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_columns(void **state)
{
	(void)state;
	char path[64], err[256];
	struct clf_labels lb;
	write_tmp(path, ".csv",
		  "user_id,label,class,dataset,evidence\n"
		  "11,1,text_generator,tweepfake/dril,posts\n"
		  "12,0,human,tweepfake/dril,all\n"
		  "13,0,human,x,profile_text+posts\n"
		  "14,1,spammer,y,\n"
		  "15,1\n"
		  "16,0,human,,profile_counts\n");
	clf_labels_init(&lb);
	assert_int_equal(clf_labels_load(&lb, path, err, sizeof(err)), 0);
	assert_int_equal(lb.n, 6);
	assert_int_equal(lb.evidence[0], CLF_AVAIL_ACTIVITY);
	assert_string_equal(lb.dataset[0], "tweepfake/dril");
	assert_string_equal(lb.cls[0], "text_generator");
	assert_int_equal(lb.evidence[1], CLF_AVAIL_ALL);
	assert_int_equal(lb.evidence[2], CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY);
	assert_int_equal(lb.evidence[3], CLF_AVAIL_ALL); /* empty = all */
	assert_int_equal(lb.evidence[4], CLF_AVAIL_ALL); /* absent = all */
	assert_string_equal(lb.cls[4], "bot");
	assert_string_equal(lb.dataset[4], "tmp"); /* the file's directory */
	assert_int_equal(lb.evidence[5], CLF_AVAIL_COUNTS);
	assert_string_equal(lb.dataset[5], "tmp");
	clf_labels_free(&lb);
	unlink(path);
}

static void test_bad_evidence(void **state)
{
	(void)state;
	static const char *bad[] = { "postz", "posts+", "+posts", "posts++profile_text", "ALL" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[64], err[256], text[128];
		struct clf_labels lb;
		snprintf(text, sizeof(text), "user_id,label,class,dataset,evidence\n1,0,human,d,%s\n",
			 bad[i]);
		write_tmp(path, ".csv", text);
		clf_labels_init(&lb);
		assert_int_equal(clf_labels_load(&lb, path, err, sizeof(err)), BW_EPARSE);
		assert_non_null(strstr(err, ":2: evidence"));
		assert_non_null(strstr(err, bad[i]));
		clf_labels_free(&lb);
		unlink(path);
	}
}

/* A timeline labelled "posts" gets only the activity bit in the matrix,
 * the same timeline labelled "all" keeps its screen name's text evidence. */
static void test_fill_masks(void **state)
{
	(void)state;
	char posts[64], labels[64], err[256], text[2048] = "";
	for (int i = 0; i < 5; i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 "{\"text\":\"post %d of a\",\"user\":{\"id\":21,\"id_str\":\"21\",\"screen_name\":\"a\"}}\n"
			 "{\"text\":\"post %d of b\",\"user\":{\"id\":22,\"id_str\":\"22\",\"screen_name\":\"b\"}}\n",
			 i, i);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	write_tmp(posts, ".ndjson", text);
	write_tmp(labels, ".csv", "user_id,label,class,dataset,evidence\n21,1,g,d,posts\n22,0,human,d,all\n");
	struct bw_config *cfg = cfg_new();
	assert_non_null(cfg);
	struct clf_labels lb;
	struct clf_corpus *c = NULL;
	struct clf_matrix *m = NULL;
	char *pf[1] = { posts }, *lf[1] = { labels };
	size_t missing = 1;
	clf_labels_init(&lb);
	int rc = clf_cmd_load_labelled(cfg, pf, 1, lf, 1, BW_TIME_NONE, &lb, &c, &m, &missing, err,
				       sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(missing, 0);
	assert_int_equal(m->n_rows, 2);
	assert_string_equal(m->row_id[0], "21");
	assert_int_equal(m->avail[0], CLF_AVAIL_ACTIVITY);
	assert_int_equal(clf_corpus_avail(c, (size_t)clf_corpus_find(c, "21")),
			 CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY); /* the corpus itself is unchanged */
	assert_int_equal(m->avail[1], CLF_AVAIL_TEXT | CLF_AVAIL_ACTIVITY);
	clf_matrix_free(m);
	clf_corpus_free(c);
	clf_labels_free(&lb);
	cfg_free(cfg);
	unlink(posts);
	unlink(labels);
}

static void test_fields_column(void **state)
{
	(void)state;
	char path[64], err[256];
	struct clf_labels lb;
	write_tmp(path, ".csv",
		  "user_id,label,class,dataset,evidence,fields\n"
		  "31,1,pronbot,p,all,screen_name+followers_count+friends_count\n"
		  "32,0,human,v,all,all\n"
		  "33,0,human,v,all,\n"
		  "34,0,human,v\n");
	clf_labels_init(&lb);
	assert_int_equal(clf_labels_load(&lb, path, err, sizeof(err)), 0);
	assert_int_equal(lb.fields[0],
			 CLF_FIELD_SCREEN_NAME | CLF_FIELD_FOLLOWERS | CLF_FIELD_FRIENDS);
	assert_int_equal(lb.fields[1], CLF_FIELDS_ALL);
	assert_int_equal(lb.fields[2], CLF_FIELDS_ALL); /* empty = all */
	assert_int_equal(lb.fields[3], CLF_FIELDS_ALL); /* absent = all */
	clf_labels_free(&lb);
	unlink(path);
	static const char *bad[] = { "screen_nam", "name+", "+name", "followers", "ALL" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "user_id,label,class,dataset,evidence,fields\n1,0,h,d,all,%s\n",
			 bad[i]);
		write_tmp(path, ".csv", text);
		clf_labels_init(&lb);
		assert_int_equal(clf_labels_load(&lb, path, err, sizeof(err)), BW_EPARSE);
		assert_non_null(strstr(err, ":2: fields"));
		clf_labels_free(&lb);
		unlink(path);
	}
}

/* Which fields the profile columns read. */
static void test_column_fields(void **state)
{
	(void)state;
	assert_int_equal(clf_cmd_column_fields("user.screen_name_length"), CLF_FIELD_SCREEN_NAME);
	assert_int_equal(clf_cmd_column_fields("user.num_digits_in_screen_name"),
			 CLF_FIELD_SCREEN_NAME);
	assert_int_equal(clf_cmd_column_fields("user.name_length"), CLF_FIELD_NAME);
	assert_int_equal(clf_cmd_column_fields("user.name_screen_name_similarity"),
			 CLF_FIELD_NAME | CLF_FIELD_SCREEN_NAME);
	assert_int_equal(clf_cmd_column_fields("user.description_shared"), CLF_FIELD_DESCRIPTION);
	assert_int_equal(clf_cmd_column_fields("user.followers_growth_rate"),
			 CLF_FIELD_FOLLOWERS | CLF_FIELD_CREATED);
	assert_int_equal(clf_cmd_column_fields("user.followers_friends_ratio"),
			 CLF_FIELD_FOLLOWERS | CLF_FIELD_FRIENDS);
	assert_int_equal(clf_cmd_column_fields("user.verified"), CLF_FIELD_OTHER);
	assert_int_equal(clf_cmd_column_fields("user.default_profile"), CLF_FIELD_OTHER);
	assert_int_equal(clf_cmd_column_fields("user.posts_seen"), 0);
	assert_int_equal(clf_cmd_column_fields("content.words"), 0);
	/* every registry column of the user class is either mapped or OTHER */
	for (size_t j = 0; j < feat_count(); j++) {
		const struct feat_def *d = feat_def_get(j);
		uint32_t f = clf_cmd_column_fields(d->name);
		assert_true((f & ~(uint32_t)CLF_FIELDS_ALL) == 0);
		if (strncmp(d->name, "user.", 5) != 0)
			assert_int_equal(f, 0);
	}
}

/* A profile-only record with every field, labelled once with all fields
 * and once (as another account) with the four a minimal dump has: the
 * second row's name, bio and count-with-age columns are NaN, its screen
 * name and follower/friend ratio columns are not. */
static void test_fill_fields(void **state)
{
	(void)state;
	char posts[64], labels[64], err[256];
	const char *user = "\"name\":\"Ann Lee\",\"description\":\"Writer and reader\","
			   "\"followers_count\":120,\"friends_count\":80,\"statuses_count\":900,"
			   "\"listed_count\":3,\"favourites_count\":10,"
			   "\"created_at\":\"Mon Jan 05 10:00:00 +0000 2015\"";
	char text[2048];
	snprintf(text, sizeof(text),
		 "{\"created_at\":\"2019-06-01T00:00:00Z\",\"user\":{\"id\":41,\"id_str\":\"41\","
		 "\"screen_name\":\"ann_lee\",%s},\"_profile_only\":true}\n"
		 "{\"created_at\":\"2019-06-01T00:00:00Z\",\"user\":{\"id\":42,\"id_str\":\"42\","
		 "\"screen_name\":\"ann_lee2\",%s},\"_profile_only\":true}\n",
		 user, user);
	write_tmp(posts, ".ndjson", text);
	write_tmp(labels, ".csv",
		  "user_id,label,class,dataset,evidence,fields\n41,0,human,v,all,all\n"
		  "42,1,pronbot,p,all,screen_name+followers_count+friends_count\n");
	struct bw_config *cfg = cfg_new();
	assert_non_null(cfg);
	struct clf_labels lb;
	struct clf_corpus *c = NULL;
	struct clf_matrix *m = NULL;
	char *pf[1] = { posts }, *lf[1] = { labels };
	size_t missing = 1;
	clf_labels_init(&lb);
	int rc = clf_cmd_load_labelled(cfg, pf, 1, lf, 1, BW_TIME_NONE, &lb, &c, &m, &missing, err,
				       sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(m->n_rows, 2);
	static const char *masked[] = { "user.name_length", "user.description_length",
					"user.statuses_count", "user.followers_growth_rate",
					"user.listed_count", "user.name_screen_name_similarity" };
	static const char *kept[] = { "user.screen_name_length", "user.followers_count",
				      "user.friends_count", "user.followers_friends_ratio" };
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		long j = feat_index(masked[i]);
		assert_true(j >= 0);
		assert_false(isnan(m->x[(size_t)j]));
		assert_true(isnan(m->x[m->n_cols + (size_t)j]));
	}
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		long j = feat_index(kept[i]);
		assert_true(j >= 0);
		assert_false(isnan(m->x[m->n_cols + (size_t)j]));
	}
	clf_matrix_free(m);
	clf_corpus_free(c);
	clf_labels_free(&lb);
	cfg_free(cfg);
	unlink(posts);
	unlink(labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_bad_evidence),
		cmocka_unit_test(test_fill_masks),
		cmocka_unit_test(test_fields_column),
		cmocka_unit_test(test_column_fields),
		cmocka_unit_test(test_fill_fields),
	};
	return cmocka_run_group_tests_name("clf_labels", tests, NULL, NULL);
}
