/*
 * bench_decode.c — decoder throughput on a file, and the same file through
 * jansson for comparison.
 *
 *   build/bench/bench_decode [--mode decode|json|ndjson|parse|jansson] [--limit N] FILE
 *
 *   decode   ingest_decode_file(): parse + normalise (the hot path)
 *   json     the same plus bw_post_to_json() + json_dumps() per post
 *   ndjson   the same plus bw_post_append_json() per post (the same bytes
 *            without jansson: what `botwatch decode` does for its output)
 *   parse    simdjson DOM parse per line only (ingest/json_dom.h), no
 *            normalisation: the parser's share of `decode`
 *   jansson  json_loadb() per line only (no normalisation), for comparison;
 *            --limit N stops after N lines (jansson is slow), or after N
 *            posts in the decoder modes
 *
 * Prints one line: mode, posts, input MB, wall and CPU seconds, rates per
 * wall second and per CPU second (the per-core figure on a shared machine).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bw_time.h"
#include "decode.h"
#include "json_dom.h"

struct sink {
	unsigned long long text_bytes; /* keeps the work observable */
	int to_json;                   /* 1: render with jansson; 2: bw_post_append_json() */
	char *buf;                     /* mode 2 output buffer */
	size_t len, cap;               /* its use and size */
	unsigned long long posts;      /* posts seen */
	unsigned long long limit;      /* stop after this many posts (0 = all) */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of this process: the per-core figure on a shared machine. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_post(const struct bw_post *p, void *opaque)
{
	struct sink *s = opaque;

	if (p->text)
		s->text_bytes += strlen(p->text);
	s->text_bytes += p->author.followers_count > 0;
	if (s->to_json == 2) {
		s->len = 0;
		if (bw_post_append_json(p, &s->buf, &s->len, &s->cap))
			return 1;
		s->text_bytes += s->len;
	} else if (s->to_json) {
		json_t *j = bw_post_to_json(p);
		char *out = json_dumps(j, JSON_COMPACT);
		s->text_bytes += out ? strlen(out) : 0;
		free(out);
		json_decref(j);
	}
	return ++s->posts == s->limit; /* non-zero stops the decoder */
}

static int run_decoder(const char *path, int to_json, unsigned long long limit)
{
	struct sink s = { .to_json = to_json, .limit = limit };
	struct bw_decode_opts o = { .probe_time_ms = BW_TIME_NONE, .on_post = on_post, .opaque = &s };
	char err[256];
	struct bw_decoder *d = ingest_decoder_new(&o, err, sizeof(err));
	double t0, t, c0, c;
	int rc;

	if (!d) {
		fprintf(stderr, "bench_decode: %s\n", err);
		return 1;
	}
	t0 = now_s();
	c0 = cpu_s();
	rc = ingest_decode_file(d, path, err, sizeof(err));
	ingest_decoder_finish(d);
	t = now_s() - t0;
	c = cpu_s() - c0;
	if (rc < 0) {
		fprintf(stderr, "bench_decode: %s\n", err);
		ingest_decoder_free(d);
		return 1;
	}
	const struct bw_decode_stats *st = ingest_decoder_stats(d);
	unsigned long long dlq = 0;
	for (int i = 0; i < BW_DLQ__COUNT; i++)
		dlq += st->dlq[i];
	printf("%-8s posts=%llu lines=%llu dlq=%llu MB=%.1f s=%.3f cpu_s=%.3f posts/s=%.0f "
	       "lines/s=%.0f MB/s=%.1f cpu_posts/s=%.0f cpu_MB/s=%.1f\n",
	       to_json == 2 ? "ndjson" : to_json ? "json" : "decode", (unsigned long long)st->posts,
	       (unsigned long long)st->units, dlq, st->bytes / 1e6, t, c, st->posts / t, st->units / t,
	       st->bytes / 1e6 / t, st->posts / c, st->bytes / 1e6 / c);
	ingest_decoder_free(d);
	free(s.buf);
	return 0;
}

/* Parse each line with jansson (use_simdjson = 0) or simdjson's DOM (1). */
static int run_parse_only(const char *path, unsigned long long limit, int use_simdjson)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = (size_t)4 << 20;
	char *line = malloc(cap);
	unsigned long long n = 0, bytes = 0, bad = 0;
	double t0, t, c0, c;

	if (!gz || !line) {
		fprintf(stderr, "bench_decode: %s: cannot open\n", path);
		free(line);
		return 1;
	}
	struct jd_parser *jp = jd_parser_new((size_t)1 << 20, 64);
	if (!jp) {
		gzclose(gz);
		free(line);
		return 1;
	}
	t0 = now_s();
	c0 = cpu_s();
	while ((!limit || n < limit) && gzgets(gz, line, (int)cap)) {
		size_t len = strlen(line);
		if (use_simdjson) {
			jd_val root;
			bad += jd_parse(jp, line, len, &root, NULL, 0) != JD_OK;
		} else {
			json_error_t e;
			json_t *j = json_loadb(line, len, 0, &e);
			bad += j == NULL;
			json_decref(j);
		}
		bytes += len;
		n++;
	}
	t = now_s() - t0;
	c = cpu_s() - c0;
	jd_parser_free(jp);
	gzclose(gz);
	free(line);
	printf("%-8s lines=%llu invalid=%llu MB=%.1f s=%.3f cpu_s=%.3f lines/s=%.0f MB/s=%.1f "
	       "cpu_lines/s=%.0f cpu_MB/s=%.1f\n", use_simdjson ? "parse" : "jansson", n, bad,
	       bytes / 1e6, t, c, n / t, bytes / 1e6 / t, n / c, bytes / 1e6 / c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "decode", *path = NULL;
	unsigned long long limit = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			mode = argv[++i];
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			limit = strtoull(argv[++i], &end, 10);
			if (errno || *end) {
				fprintf(stderr, "bench_decode: --limit needs a number\n");
				return 2;
			}
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		fprintf(stderr, "usage: bench_decode [--mode decode|json|ndjson|parse|jansson] [--limit N] FILE\n");
		return 2;
	}
	if (strcmp(mode, "decode") == 0)
		return run_decoder(path, 0, limit);
	if (strcmp(mode, "json") == 0)
		return run_decoder(path, 1, limit);
	if (strcmp(mode, "ndjson") == 0)
		return run_decoder(path, 2, limit);
	if (strcmp(mode, "jansson") == 0)
		return run_parse_only(path, limit, 0);
	if (strcmp(mode, "parse") == 0)
		return run_parse_only(path, limit, 1);
	fprintf(stderr, "bench_decode: unknown mode '%s'\n", mode);
	return 2;
}
