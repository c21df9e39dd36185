/*
 * cmd_train.c — `botwatch train`: decode labelled archives, extract feature
 * vectors, train the classifier (clf_train) and write the model file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "cmd_progress.h"
#include "commands.h"
#include "feat.h"

#define MAX_FILES 256

static void train_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch train --posts FILE... --labels CSV... --out MODEL\n"
		"                      [--kernel linear|rbf|mixed] [--folds K] [--probe-time ISO8601]\n"
		"                      [--seed S] [--max-rows N] [--folds-by class|source|stratified]\n"
		"                      [--no-type-heads] [--balance-sources on|off]\n\n"
		"  --posts FILE...    archives (NDJSON / gzip, any shape the decoder reads)\n"
		"  --labels CSV...    user_id,label[,class][,dataset][,evidence][,fields]; label\n"
		"                     1 = bot. evidence limits what a row trains: all (default)\n"
		"                     or a '+'-joined list of profile_text, profile_counts, posts.\n"
		"                     fields: the profile fields the row's source has (all, or\n"
		"                     e.g. screen_name+followers_count+friends_count); columns\n"
		"                     reading other fields are masked (docs/MODEL.md, Sources).\n"
		"                     Several files are merged; an id listed twice keeps its\n"
		"                     first label\n"
		"  --out MODEL        model file to write (docs/MODEL.md)\n"
		"  --kernel K         linear, rbf, or mixed (default): linear groups plus an\n"
		"                     RBF twin of user_counts in the overall head, fitted on\n"
		"                     what the linear groups leave (docs/MODEL.md)\n"
		"  --folds K          CV folds for grid search and calibration (default 5)\n"
		"  --folds-by B       stratified (default): random stratified folds; class: each\n"
		"                     fold holds out whole bot classes (the labels' class column)\n"
		"                     when there are >= K of them (docs/MODEL.md: measured, not better);\n"
		"                     source: each fold holds out whole sources (dataset up to '/'),\n"
		"                     so C and the calibration are fitted out of source\n"
		"  --probe-time T     event time at which profile features are computed\n"
		"  --seed S           fold/subsample seed (default 1)\n"
		"  --max-rows N       cap on rows per SVM fit, stratified subsample (default 4000)\n"
		"  --no-type-heads    train only the overall head (no per-bot-type raw scores);\n"
		"                     overall, universal and category scores are unchanged\n"
		"  --balance-sources on|off  off (default): a fit's subsample takes each source\n"
		"                     (dataset up to '/') in proportion to its size; on: an\n"
		"                     equal share of each class per source, up to its size\n");
}

/* Parsed command line. */
struct train_args {
	char *posts[MAX_FILES];   /* archive paths */
	size_t nposts;            /* count */
	char *labels[MAX_FILES];  /* labels paths */
	size_t nlabels;           /* count */
	const char *out;          /* model path */
	int64_t probe_ms;         /* --probe-time */
	struct clf_train_opts o;  /* trainer options */
};

/* Collect the values after a multi-value option; returns the next index. */
static int train_parse(int argc, char **argv, struct train_args *a)
{
	for (int i = 1; i < argc;) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t u;
		int rc;
		if (strcmp(opt, "--posts") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->posts, &a->nposts, MAX_FILES);
			continue;
		}
		if (strcmp(opt, "--labels") == 0) {
			i = clf_cmd_take_list(argc, argv, i + 1, a->labels, &a->nlabels, MAX_FILES);
			continue;
		}
		if (strcmp(opt, "--no-type-heads") == 0) {
			a->o.no_type_heads = true;
			i++;
			continue;
		}
		i += 2;
		if (strcmp(opt, "--out") == 0 && v) {
			a->out = v;
		} else if ((rc = clf_cmd_train_opt("train", opt, v, &a->o)) <= 0) {
			if (rc < 0)
				return 2;
		} else if (strcmp(opt, "--max-rows") == 0) {
			if (clf_cmd_uint_arg("train", opt, v, 0, 100000000, &u))
				return 2;
			a->o.max_rows = (size_t)u;
		} else if (strcmp(opt, "--probe-time") == 0 && v) {
			if (clf_cmd_parse_time(v, &a->probe_ms)) {
				fprintf(stderr, "botwatch train: --probe-time: '%s' is not a time\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "botwatch train: bad option '%s'%s\n", opt,
				v ? "" : " (missing value?)");
			return 2;
		}
	}
	if (!a->nposts || !a->nlabels || !a->out) {
		fprintf(stderr, "botwatch train: --posts, --labels and --out are required\n");
		return 2;
	}
	return 0;
}

/* Training metadata: inputs with hashes, counts, event-time date, commit. */
static json_t *train_meta(const struct train_args *a, const struct clf_corpus *c,
			  const struct clf_labels *lb, size_t missing)
{
	json_t *meta = json_object(), *in = json_array(), *labs = json_array();
	char h[80], ts[40];
	for (size_t k = 0; k < a->nposts; k++) {
		json_t *f = json_object();
		json_object_set_new(f, "path", json_string(a->posts[k]));
		json_object_set_new(f, "sha256", clf_cmd_file_sha256(a->posts[k], h, sizeof(h))
							 ? json_null() : json_string(h));
		json_array_append_new(in, f);
	}
	for (size_t k = 0; k < a->nlabels; k++) {
		json_t *f = json_object();
		json_object_set_new(f, "path", json_string(a->labels[k]));
		json_object_set_new(f, "sha256", clf_cmd_file_sha256(a->labels[k], h, sizeof(h))
							 ? json_null() : json_string(h));
		json_array_append_new(labs, f);
	}
	int64_t date = clf_corpus_latest(c);
	json_object_set_new(meta, "inputs", in);
	json_object_set_new(meta, "labels", labs);
	json_object_set_new(meta, "labelled_accounts", json_integer((json_int_t)lb->n));
	json_object_set_new(meta, "duplicate_labels", json_integer((json_int_t)lb->dup));
	json_object_set_new(meta, "labelled_missing_from_input", json_integer((json_int_t)missing));
	json_object_set_new(meta, "date", date == BW_TIME_NONE ? json_null()
						: json_string(bw_time_format(date, ts, sizeof(ts))));
	json_object_set_new(meta, "date_is", json_string("latest input event time"));
	json_object_set_new(meta, "source_commit", json_string(BW_GIT_COMMIT));
	json_object_set_new(meta, "botwatch_version", json_string(BW_VERSION));
	return meta;
}

/* The trainer's phases: a log line, and the terminal's progress line when
 * there is one (opaque: struct cmd_progress or NULL). */
static void on_progress(const char *msg, void *opaque)
{
	cmd_progress_phase(opaque, msg);
	BW_INFO("%s", msg);
}

static int write_atomic(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return bw_seterr(err, errlen, BW_EIO, "cannot write %s: %s", tmp, strerror(errno));
	bool ok = fwrite(buf, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path)) {
		remove(tmp);
		return bw_seterr(err, errlen, BW_EIO, "cannot write %s", path);
	}
	return 0;
}

/* Print the summary line: model id and CV figures of every overall entry. */
static void print_summary(const char *path, const char *doc, size_t len, size_t rows,
			  size_t missing)
{
	char err[256];
	json_t *d = json_loadb(doc, len, 0, NULL), *o = json_object(), *cv = json_object();
	struct clf_model *mdl = clf_model_parse(doc, len, NULL, 0, err, sizeof(err));
	json_t *stacks = json_object_get(d, "stacks");
	for (size_t s = 0; s < json_array_size(stacks); s++) {
		json_t *st = json_array_get(stacks, s), *ents = json_object_get(st, "entries");
		json_t *arr = json_array();
		for (size_t k = 0; k < json_array_size(ents); k++) {
			json_t *e = json_array_get(ents, k);
			json_array_append_new(arr, json_pack("{s:O, s:O, s:O}", "use",
							     json_object_get(e, "use"), "n",
							     json_object_get(e, "n"), "oof_auc",
							     json_object_get(e, "oof_auc")));
		}
		json_object_set_new(cv, json_string_value(json_object_get(st, "name")), arr);
	}
	json_object_set_new(o, "model", json_string(path));
	json_object_set_new(o, "model_version", mdl ? json_string(clf_model_id(mdl)) : json_null());
	json_object_set_new(o, "rows", json_integer((json_int_t)rows));
	json_object_set_new(o, "labelled_missing_from_input", json_integer((json_int_t)missing));
	json_object_set_new(o, "cv", cv);
	char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	if (line)
		printf("%s\n", line);
	free(line);
	json_decref(o);
	json_decref(d);
	clf_model_free(mdl);
}

int cmd_train(int argc, char **argv)
{
	struct bw_config *cfg = NULL;
	struct train_args a = { .probe_ms = BW_TIME_NONE };
	struct clf_labels lb;
	struct clf_corpus *corpus = NULL;
	struct clf_matrix *m = NULL;
	char err[1024], summary[512], *doc = NULL;
	size_t len = 0, missing = 0;
	int ret = 1;
	struct cmd_progress *pg = NULL;

	int begun = cfg_cli_begin("train", train_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	clf_labels_init(&lb);
	clf_train_opts_init(&a.o);
	if (train_parse(argc, argv, &a)) {
		train_usage(stderr);
		ret = 2;
		goto out_free;
	}
	if (bw_log_level_parse(cfg->log_level) >= 0)
		bw_log_set_level(bw_log_level_parse(cfg->log_level));
	pg = cmd_progress_start("train", a.posts, a.nposts);
	if (clf_cmd_load_labelled(cfg, a.posts, a.nposts, a.labels, a.nlabels, a.probe_ms, &lb,
				  &corpus, &m, &missing, err, sizeof(err))) {
		BW_ERROR("%s", err);
		goto out_free;
	}
	cmd_progress_phase(pg, "input read");
	clf_corpus_summary(corpus, summary, sizeof(summary));
	BW_INFO("%s; %zu labelled rows, %zu labelled accounts not in the input", summary,
		m->n_rows, missing);
	a.o.schema_hash = feat_schema_hash();
	a.o.schema_version = FEAT_SCHEMA_VERSION;
	a.o.meta = train_meta(&a, corpus, &lb, missing);
	a.o.progress = on_progress;
	a.o.progress_opaque = pg;
	int rc = clf_train(m, &a.o, &doc, &len, err, sizeof(err));
	json_decref(a.o.meta);
	cmd_progress_stop(pg);
	pg = NULL;
	if (rc || write_atomic(a.out, doc, len, err, sizeof(err))) {
		BW_ERROR("%s", err);
		goto out_free;
	}
	print_summary(a.out, doc, len, m->n_rows, missing);
	ret = 0;
out_free:
	cmd_progress_stop(pg);
	free(doc);
	clf_matrix_free(m);
	clf_corpus_free(corpus);
	clf_labels_free(&lb);
	cfg_free(cfg);
	return ret;
}
