/*
 * fuzz_framing.c — fuzz the stream framers: NDJSON lines, Twitter v1.1
 * delimited=length and Server-Sent Events (Mastodon streaming).
 * Byte 0 picks the framing (% 3: lines, length, SSE), byte 1 the unit cap, byte 2
 * the read size; the rest is the stream, fed in reads of that size. Every
 * unit must respect the cap, and feeding it whole must give the same units.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A running hash of the units seen, to compare two feeds. */
struct seen {
	size_t cap;     /* unit cap */
	uint64_t hash;  /* FNV-1a over kinds and bytes */
	uint64_t units; /* units seen */
};

static int on_unit(const struct ingest_unit *u, void *opaque)
{
	struct seen *s = opaque;

	if (u->kind == INGEST_UNIT_DATA && u->len > s->cap)
		abort();
	if (u->len > s->cap + INGEST_EXCERPT_BYTES + 64)
		abort();
	s->hash = (s->hash ^ (uint64_t)u->kind) * 1099511628211ULL;
	for (size_t i = 0; i < u->len; i++)
		s->hash = (s->hash ^ (uint8_t)u->data[i]) * 1099511628211ULL;
	s->units++;
	return 0;
}

static void run(enum ingest_stream_framing fr, size_t cap, const uint8_t *p, size_t n, size_t step,
		struct seen *s)
{
	struct ingest_stream_framer *f = ingest_stream_framer_new(fr, cap, on_unit, s);

	if (!f)
		return;
	for (size_t off = 0; off < n; off += step)
		ingest_stream_framer_feed(f, (const char *)p + off, n - off < step ? n - off : step);
	ingest_stream_framer_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static const enum ingest_stream_framing framings[] = { INGEST_FRAMING_LINES,
							       INGEST_FRAMING_LENGTH,
							       INGEST_FRAMING_SSE };
	enum ingest_stream_framing fr = framings[data[0] % 3];
	size_t cap = 1 + data[1];
	size_t step = 1 + data[2] % 64;
	struct seen a = { cap, 14695981039346656037ULL, 0 }, b = a;

	run(fr, cap, data + 3, size - 3, step, &a);
	run(fr, cap, data + 3, size - 3, size, &b);
	if (a.hash != b.hash || a.units != b.units)
		abort(); /* framing must not depend on how reads are split */
	return 0;
}
