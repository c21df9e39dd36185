/*
 * cmd_decode.c — `botwatch decode`: decode files into normalised posts.
 *
 * Posts go to stdout as NDJSON (docs/POST.md), dead-lettered input to
 * --dlq FILE as NDJSON {reason, detail, source, line, excerpt}, and a summary
 * (posts, control messages by type, DLQ by reason) to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ingest_expect.h"
#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "commands.h"
#include "decode.h"

struct decode_out {
	FILE *posts;     /* stdout */
	FILE *dlq;       /* --dlq file or NULL */
	int write_error; /* errno of the first failed write, 0 if none */
	char *buf;       /* one rendered post (reused) */
	size_t len, cap; /* bytes used / allocated in buf */
};

static void decode_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch decode [--config FILE] [--set key=value]... [--dlq FILE]\n"
		"                       [--format F] [--probe-time ISO8601] FILE...\n"
		"       botwatch decode --expectations-markdown\n\n"
		"Decode posts from files (plain or gzip; '-' = stdin) of any supported shape\n"
		"(docs/POST.md) and write normalised posts to stdout as NDJSON.\n\n"
		"  --dlq FILE             write dead-lettered input as NDJSON to FILE\n"
		"  --format F             auto|v1.1|v2|twarc2|sse|ndjson (ingest.format): accept\n"
		"                         only that format; other lines go to the DLQ as\n"
		"                         wrong_format (default auto: detect each line's shape)\n"
		"  --probe-time ISO8601   probe time for profile-only records\n"
		"                         (default: the record's created_at, else the latest\n"
		"                         event time in the input)\n"
		"  --expectations-markdown  print the data expectations checked at ingest\n"
		"                         (docs/EXPECTATIONS.md) and exit\n\n"
		"Caps: ingest.max_line_bytes, ingest.max_depth. Exit 0 when every file was\n"
		"read (even if some lines were dead-lettered), 1 when a file could not be\n"
		"read, 2 on usage errors.\n");
}

static int write_json_line(FILE *f, json_t *j)
{
	int rc = j ? json_dumpf(j, f, JSON_COMPACT) : -1;
	json_decref(j);
	if (rc == 0 && fputc('\n', f) == EOF)
		rc = -1;
	return rc;
}

static int on_post(const struct bw_post *post, void *opaque)
{
	struct decode_out *o = opaque;

	o->len = 0;
	if (bw_post_append_json(post, &o->buf, &o->len, &o->cap)) {
		o->write_error = ENOMEM;
		return 1;
	}
	if (fwrite(o->buf, 1, o->len, o->posts) != o->len) {
		o->write_error = errno ? errno : EIO;
		return 1; /* stop: stdout is gone (e.g. a closed pipe) */
	}
	return 0;
}

static void on_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	struct decode_out *o = opaque;

	if (o->dlq && write_json_line(o->dlq, bw_dlq_to_json(rec)) && !o->write_error)
		o->write_error = errno ? errno : EIO;
}

static void summary(const struct bw_decode_stats *s, int files_failed)
{
	fprintf(stderr, "decode: %llu units, %llu bytes, %llu posts (%llu embedded, %llu with inferred probe time)\n",
		(unsigned long long)s->units, (unsigned long long)s->bytes,
		(unsigned long long)s->posts, (unsigned long long)s->embedded,
		(unsigned long long)s->probe_inferred);
	fprintf(stderr, "decode: control:");
	for (int t = 0; t < BW_CTRL__COUNT; t++)
		fprintf(stderr, " %s=%llu", bw_ctrl_type_name(t), (unsigned long long)s->control[t]);
	fprintf(stderr, "\ndecode: dlq:");
	for (int r = 0; r < BW_DLQ__COUNT; r++)
		fprintf(stderr, " %s=%llu", bw_dlq_reason_name(r), (unsigned long long)s->dlq[r]);
	fprintf(stderr, "\ndecode: v2 api errors beside data: %llu; length lines (delimited=length): "
			"%llu; files unreadable: %d\n",
		(unsigned long long)s->api_errors, (unsigned long long)s->length_lines, files_failed);
}

/* Parse our own flags; files are left in argv[1..*nfiles]. 0 or 2 (usage). */
static int parse_args(int argc, char **argv, const char **dlq_path, int64_t *probe,
		      struct bw_config *cfg, int *nfiles)
{
	static const struct cfg_flag flags[] = { { "--format", "ingest.format" } };
	char err[512];
	int w = 1, rc;

	for (int i = 1; i < argc; i++) {
		if ((rc = cfg_flag_apply(cfg, flags, 1, argc, argv, &i, err, sizeof(err))) < 0) {
			fprintf(stderr, "botwatch decode: %s\n", err);
			return 2;
		}
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--dlq") == 0 && i + 1 < argc) {
			*dlq_path = argv[++i];
		} else if (strcmp(argv[i], "--probe-time") == 0 && i + 1 < argc) {
			const char *t = argv[++i];
			if (bw_time_parse_any(t, strlen(t), probe)) {
				fprintf(stderr, "botwatch decode: --probe-time '%s' is not an ISO 8601 time\n", t);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "botwatch decode: unknown or incomplete option '%s'\n", argv[i]);
			decode_usage(stderr);
			return 2;
		} else {
			argv[w++] = argv[i];
		}
	}
	*nfiles = w - 1;
	if (!*nfiles) {
		fprintf(stderr, "botwatch decode: no input files (use '-' for stdin)\n");
		decode_usage(stderr);
		return 2;
	}
	return 0;
}

int cmd_decode(int argc, char **argv)
{
	struct decode_out out = { .posts = stdout };
	struct bw_decode_opts opts = { .on_post = on_post, .on_dlq = on_dlq, .opaque = &out };
	struct bw_config *cfg;
	struct bw_decoder *dec;
	const char *dlq_path = NULL;
	char err[512];
	int nfiles, failed = 0, rc;

	if (argc == 2 && strcmp(argv[1], "--expectations-markdown") == 0)
		return ingest_expect_write_markdown(stdout) || fflush(stdout) ? 1 : 0;
	int begun = cfg_cli_begin("decode", decode_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	opts.max_unit_bytes = (size_t)cfg->ingest_max_line_bytes;
	opts.max_depth = (int)cfg->ingest_max_depth;
	opts.probe_time_ms = BW_TIME_NONE;
	if (bw_log_level_parse(cfg->log_level) >= 0)
		bw_log_set_level(bw_log_level_parse(cfg->log_level));
	rc = parse_args(argc, argv, &dlq_path, &opts.probe_time_ms, cfg, &nfiles);
	opts.format = (enum ingest_format)ingest_format_parse(cfg->ingest_format);
	cfg_free(cfg);
	if (rc)
		return rc;
	if (dlq_path && !(out.dlq = fopen(dlq_path, "w"))) {
		fprintf(stderr, "botwatch decode: --dlq %s: %s\n", dlq_path, strerror(errno));
		return 1;
	}
	if (!(dec = ingest_decoder_new(&opts, err, sizeof(err)))) {
		fprintf(stderr, "botwatch decode: %s\n", err);
		if (out.dlq)
			fclose(out.dlq);
		return 1;
	}
	for (int i = 1; i <= nfiles && !out.write_error; i++) {
		rc = ingest_decode_file(dec, argv[i], err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch decode: %s\n", err);
			failed++;
		}
	}
	if (!out.write_error)
		ingest_decoder_finish(dec);
	summary(ingest_decoder_stats(dec), failed);
	ingest_decoder_free(dec);
	free(out.buf);
	if (fflush(stdout) && !out.write_error)
		out.write_error = errno ? errno : EIO;
	if (out.dlq && fclose(out.dlq) && !out.write_error)
		out.write_error = errno ? errno : EIO;
	if (out.write_error) {
		fprintf(stderr, "botwatch decode: write failed: %s\n", strerror(out.write_error));
		return 1;
	}
	return failed ? 1 : 0;
}
