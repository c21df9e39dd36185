/*
 * cmd_report.c — `botwatch report`: the conversation report over a store
 * (docs/REPORT.md): per hashtag, URL domain or keyword and event-time window,
 * posts and accounts seen and the shares above a CAP threshold with 95 %
 * confidence intervals, as CSV or JSON on stdout. The same report as
 * GET /v1/report (api/api_report.c builds both).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "bw_err.h"
#include "cfg.h"
#include "clf_cmd.h"
#include "commands.h"
#include "store.h"

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch report [--store DIR] [--by hashtag|domain|keyword] [--window 1h]\n"
		"                       [--threshold 0.5] [--cap english|universal] [--from TIME]\n"
		"                       [--to TIME] [--top N] [--key KEY] [--format csv|json]\n\n"
		"The conversation report (docs/REPORT.md): for each hashtag, URL domain or keyword\n"
		"(report.keywords) and event-time window, the posts and accounts seen and the share\n"
		"of each above the CAP threshold, with 95%% confidence intervals (accounts: Wilson;\n"
		"posts: Wilson at the design-effect-corrected sample size, clustered by account).\n"
		"The counts are recorded by `replay --store` and by the pipeline's features stage.\n\n"
		"  --store DIR        the store (store.path)\n"
		"  --by KIND          hashtag (default), domain or keyword\n"
		"  --window W         window width: 90, 15m, 1h (default), 1d, 1w, or all\n"
		"  --threshold T      an account is above when its CAP >= T (default 0.5)\n"
		"  --cap HEAD         english (default) or universal CAP\n"
		"  --from, --to TIME  only buckets starting in [from, to) (ISO 8601)\n"
		"  --top N            keys per window, the most posted (default 20; 0 = all)\n"
		"  --key KEY          only this key (lower case; a domain without www.)\n"
		"  --format F         csv (default) or json\n"
		"  --labels CSV       ground truth instead of scores: accounts labelled 1 count as\n"
		"                     above, 0 as below, unlisted ones as unscored (user_id,label)\n");
}

/* The report's options as name/value pairs, read like query parameters. */
struct report_args {
	const char *names[9];  /* option names without "--" */
	const char *values[9]; /* their values */
	size_t n;              /* pairs given */
};

static const char *arg_get(void *ctx, const char *name)
{
	struct report_args *a = ctx;

	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			return a->values[i];
	return NULL;
}

/* 0, or 2 on a usage error. */
static int report_args(int argc, char **argv, struct bw_config *cfg, struct report_args *a,
		       struct clf_labels *labels)
{
	static const char *const known[] = { "by", "window", "threshold", "cap", "from",
					     "to", "top", "key", "format" };
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		size_t k;
		if (strcmp(o, "--labels") == 0 && i + 1 < argc) {
			if (clf_labels_load(labels, argv[++i], err, sizeof(err))) {
				fprintf(stderr, "botwatch report: %s\n", err);
				return 2;
			}
			continue;
		}
		if (strcmp(o, "--store") == 0 && i + 1 < argc) {
			if (cfg_set(cfg, "store.path", argv[++i], "--store", err, sizeof(err))) {
				fprintf(stderr, "botwatch report: %s\n", err);
				return 2;
			}
			continue;
		}
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strncmp(o, "--", 2) == 0 && strcmp(o + 2, known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0]) || i + 1 >= argc) {
			fprintf(stderr, "botwatch report: %s option '%s'\n",
				k == sizeof(known) / sizeof(known[0]) ? "unknown" : "missing value for",
				o);
			return 2;
		}
		if (arg_get(a, known[k])) {
			fprintf(stderr, "botwatch report: %s given twice\n", o);
			return 2;
		}
		a->names[a->n] = known[k];
		a->values[a->n++] = argv[++i];
	}
	return 0;
}

/* --labels: 1 for a bot, 0 for a human, NAN when unlabelled. */
static double label_value(void *ctx, const char *account)
{
	const struct clf_labels *lb = ctx;
	long i = clf_labels_find(lb, account);

	return i < 0 ? NAN : lb->label[i];
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = { 0 };
	struct clf_labels lb;
	struct api_report_opts o;
	struct bw_config *cfg;
	struct bw_store *st = NULL;
	const char *fmt;
	json_t *rep = NULL;
	char err[512];
	int rc = 1;

	int begun = cfg_cli_begin("report", report_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	clf_labels_init(&lb);
	if (report_args(argc, argv, cfg, &a, &lb)) {
		report_usage(stderr);
		clf_labels_free(&lb);
		cfg_free(cfg);
		return 2;
	}
	fmt = arg_get(&a, "format");
	if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
		fprintf(stderr, "botwatch report: --format: '%s' is not csv or json\n", fmt);
		clf_labels_free(&lb);
		cfg_free(cfg);
		return 2;
	}
	if (api_report_parse(arg_get, &a, &o, err, sizeof(err))) {
		fprintf(stderr, "botwatch report: --%s\n", err);
		clf_labels_free(&lb);
		cfg_free(cfg);
		return 2;
	}
	if (!(st = store_open(cfg->store_path, false, (size_t)cfg->store_map_size_mb, err,
			      sizeof(err)))) {
		fprintf(stderr, "botwatch report: %s\n", err);
		goto out;
	}
	o.store = st;
	if (lb.n) {
		o.value_of = label_value;
		o.value_ctx = &lb;
	}
	if (api_report_build(&o, &rep, err, sizeof(err))) {
		fprintf(stderr, "botwatch report: %s\n", err);
		goto out;
	}
	if (fmt && strcmp(fmt, "json") == 0) {
		rc = json_dumpf(rep, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) ? 1 : 0;
		putchar('\n');
	} else {
		char *csv = api_report_csv(rep);
		rc = !csv || fputs(csv, stdout) < 0;
		free(csv);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "botwatch report: write failed\n");
		rc = 1;
	}
	if (!rc && json_is_true(json_object_get(rep, "truncated")))
		fprintf(stderr, "botwatch report: only the first rows were read (narrow --from/--to "
				"or --key)\n");
out:
	json_decref(rep);
	store_close(st);
	clf_labels_free(&lb);
	cfg_free(cfg);
	return rc;
}
