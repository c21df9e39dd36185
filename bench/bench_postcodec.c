/*
 * bench_postcodec.c — the Kafka value encoding, measured: the binary post
 * codec (ingest/postcodec.h) against the same records as compact JSON
 * (bw_post_to_json + json_dumps, read back with json_loadb).
 *
 *   bench_postcodec FILE     (any input the decoder reads, e.g. an NDJSON dump)
 *
 * Prints one line per encoding: bytes/post, encode and decode ns/post.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_arena.h"
#include "bw_time.h"
#include "decode.h"
#include "postcodec.h"

/* Every post of the input, in both encodings. */
struct corpus {
	unsigned char **bin; /* binary values */
	size_t *bin_len;     /* their lengths */
	char **json;         /* JSON values */
	size_t n, cap;       /* posts held / allocated */
	double enc_bin_ns;   /* total binary encode time */
	double enc_json_ns;  /* total JSON encode time */
};

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int keep(const struct bw_post *post, void *opaque)
{
	struct corpus *c = opaque;
	double t0, t1, t2;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4096;
		c->bin = realloc(c->bin, c->cap * sizeof(*c->bin));
		c->bin_len = realloc(c->bin_len, c->cap * sizeof(*c->bin_len));
		c->json = realloc(c->json, c->cap * sizeof(*c->json));
		if (!c->bin || !c->bin_len || !c->json)
			return 1;
	}
	t0 = now_ns();
	if (ingest_post_encode_alloc(post, &c->bin[c->n], &c->bin_len[c->n]))
		return 1;
	t1 = now_ns();
	json_t *j = bw_post_to_json(post);
	c->json[c->n] = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	t2 = now_ns();
	c->enc_bin_ns += t1 - t0;
	c->enc_json_ns += t2 - t1;
	c->n++;
	return 0;
}

int main(int argc, char **argv)
{
	struct corpus c = { 0 };
	char err[512];
	struct bw_decode_opts o = { .max_unit_bytes = 1 << 20, .max_depth = 64,
				    .probe_time_ms = BW_TIME_NONE, .on_post = keep, .opaque = &c };
	struct bw_decoder *dec;
	struct bw_arena *arena = bw_arena_new(1 << 20);
	size_t bin_bytes = 0, json_bytes = 0;
	double t0, dec_bin, dec_json;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_postcodec FILE\n");
		return 2;
	}
	if (!(dec = ingest_decoder_new(&o, err, sizeof(err))) ||
	    ingest_decode_file(dec, argv[1], err, sizeof(err)) || !c.n) {
		fprintf(stderr, "bench_postcodec: %s\n", c.n ? err : "no posts");
		return 1;
	}
	t0 = now_ns();
	for (size_t i = 0; i < c.n; i++) {
		struct bw_post p;
		bw_arena_reset(arena);
		if (ingest_post_decode(c.bin[i], c.bin_len[i], &p, arena, err, sizeof(err))) {
			fprintf(stderr, "bench_postcodec: %s\n", err);
			return 1;
		}
		bin_bytes += c.bin_len[i];
	}
	dec_bin = now_ns() - t0;
	t0 = now_ns();
	for (size_t i = 0; i < c.n; i++) {
		json_error_t je;
		size_t len = strlen(c.json[i]);
		json_t *j = json_loadb(c.json[i], len, 0, &je);
		json_decref(j);
		json_bytes += len;
	}
	dec_json = now_ns() - t0;
	printf("posts=%zu\n", c.n);
	printf("binary bytes/post=%.0f encode_ns=%.0f decode_ns=%.0f\n", (double)bin_bytes / c.n,
	       c.enc_bin_ns / c.n, dec_bin / c.n);
	printf("json bytes/post=%.0f encode_ns=%.0f decode_ns=%.0f\n", (double)json_bytes / c.n,
	       c.enc_json_ns / c.n, dec_json / c.n);
	for (size_t i = 0; i < c.n; i++) {
		free(c.bin[i]);
		free(c.json[i]);
	}
	free(c.bin);
	free(c.bin_len);
	free(c.json);
	bw_arena_free(arena);
	ingest_decoder_free(dec);
	return 0;
}
