/*
 * cmd_replay.c — `botwatch replay`: score-free replay of archive files
 * through the decoder and the feature states, without a broker.
 *
 *   botwatch replay --features-out FILE [--probe-time ISO8601] FILE...
 *
 * writes one NDJSON line per account after the whole input:
 *   {"user_id": "...", "screen_name": "...", "posts_seen": N,
 *    "features": {"name": value, ...}}   (registry order, every value finite)
 *
 * Options are parsed into struct replay_args by parse_args(); a stage that
 * extends replay (scoring, storing) adds its fields there, one `else if` per
 * option, and its own per-account sink next to write_features().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "commands.h"
#include "feat.h"
#include "feat_replay.h"

struct replay_args {
	const char *features_out;  /* --features-out FILE ("-" = stdout) */
	int64_t probe_ms;          /* --probe-time, or BW_TIME_NONE */
	bool include_observed;     /* --include-observed */
	char **files;              /* input files (array owned, strings borrowed from argv) */
	int n_files;               /* their number */
};

static void replay_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch replay [--config FILE] [--set key=value]... --features-out FILE\n"
		"                       [--probe-time ISO8601] [--include-observed] FILE...\n\n"
		"Decode the archive FILEs (NDJSON or one JSON document, plain or gzip, `-` = stdin),\n"
		"fold every post into per-account feature state, and after the whole input write\n"
		"one NDJSON line per account.\n\n"
		"  --features-out FILE  write {user_id, screen_name, posts_seen, features} lines (`-` = stdout)\n"
		"  --probe-time T       compute account age and rates at T (RFC 3339); default: each\n"
		"                       account's latest event time\n"
		"  --include-observed   also write accounts only seen retweeted/quoted/replied to/mentioned\n");
}

/* 0, or 2 with a message printed (usage error). */
static int parse_args(int argc, char **argv, struct replay_args *a)
{
	a->probe_ms = BW_TIME_NONE;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--features-out") == 0 && val) {
			a->features_out = val, i++;
		} else if (strcmp(arg, "--probe-time") == 0 && val) {
			if (bw_time_parse_any(val, strlen(val), &a->probe_ms)) {
				fprintf(stderr, "botwatch replay: --probe-time: '%s' is not an RFC 3339 time\n", val);
				return 2;
			}
			i++;
		} else if (strcmp(arg, "--include-observed") == 0) {
			a->include_observed = true;
		} else if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				a->files[a->n_files++] = argv[i];
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "botwatch replay: unknown option or missing value: '%s'\n", arg);
			replay_usage(stderr);
			return 2;
		} else {
			a->files[a->n_files++] = argv[i];
		}
	}
	if (!a->features_out) {
		fprintf(stderr, "botwatch replay: nothing to write: give --features-out FILE\n");
		replay_usage(stderr);
		return 2;
	}
	if (a->n_files == 0) {
		fprintf(stderr, "botwatch replay: no input files\n");
		return 2;
	}
	return 0;
}

static int write_features(const struct feat_account *acc, const double *v, void *opaque)
{
	return feat_write_ndjson(opaque, acc, v);
}

static void print_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "botwatch replay: %s:%llu: %s: %s\n", rec->source,
		(unsigned long long)rec->line, bw_dlq_reason_name(rec->reason), rec->detail);
}

static int run(const struct replay_args *args, const struct bw_config *cfg)
{
	struct feat_replay_opts o = { .probe_time_ms = args->probe_ms,
				      .max_unit_bytes = (size_t)cfg->ingest_max_line_bytes,
				      .max_depth = (int)cfg->ingest_max_depth,
				      .include_observed = args->include_observed,
				      .on_dlq = print_dlq };
	char err[512];
	struct feat_replay *r = feat_replay_new(&o, err, sizeof(err));
	FILE *out = NULL;
	int rc = 1;

	if (!r) {
		fprintf(stderr, "botwatch replay: %s\n", err);
		return 1;
	}
	for (int i = 0; i < args->n_files; i++) {
		if (feat_replay_file(r, args->files[i], err, sizeof(err))) {
			fprintf(stderr, "botwatch replay: %s\n", err);
			goto out_free_replay;
		}
	}
	if (feat_replay_finish(r, err, sizeof(err))) {
		fprintf(stderr, "botwatch replay: %s\n", err);
		goto out_free_replay;
	}
	out = strcmp(args->features_out, "-") == 0 ? stdout : fopen(args->features_out, "w");
	if (!out) {
		fprintf(stderr, "botwatch replay: %s: %s\n", args->features_out, strerror(errno));
		goto out_free_replay;
	}
	if (feat_replay_each(r, write_features, out) || fflush(out)) {
		fprintf(stderr, "botwatch replay: %s: write failed\n", args->features_out);
		goto out_close;
	}
	const struct feat_replay_stats *st = feat_replay_stats(r);
	const struct bw_decode_stats *ds = feat_replay_decode_stats(r);
	uint64_t dlq = 0;
	for (int i = 0; i < BW_DLQ__COUNT; i++)
		dlq += ds->dlq[i];
	fprintf(stderr, "botwatch replay: %llu units, %llu records, %llu dead-lettered, %llu accounts "
			"written (%llu observed only), %llu late posts ignored\n",
		(unsigned long long)ds->units, (unsigned long long)st->posts,
		(unsigned long long)dlq, (unsigned long long)st->authored,
		(unsigned long long)(st->accounts - st->authored), (unsigned long long)st->late);
	rc = 0;
out_close:
	if (out != stdout && fclose(out) && rc == 0) {
		fprintf(stderr, "botwatch replay: %s: %s\n", args->features_out, strerror(errno));
		rc = 1;
	}
out_free_replay:
	feat_replay_free(r);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_args args = { 0 };
	struct bw_config *cfg;
	char err[512];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			replay_usage(stdout);
			return 0;
		}
	}
	if (cfg_from_cli(&cfg, &argc, argv, err, sizeof(err))) {
		fprintf(stderr, "botwatch replay: %s\n", err);
		return 2;
	}
	if (!(args.files = calloc((size_t)argc, sizeof(*args.files)))) {
		fprintf(stderr, "botwatch replay: out of memory\n");
		cfg_free(cfg);
		return 1;
	}
	if ((rc = parse_args(argc, argv, &args)) == 0)
		rc = run(&args, cfg);
	free(args.files);
	cfg_free(cfg);
	return rc;
}
