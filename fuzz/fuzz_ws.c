/*
 * fuzz_ws.c — fuzz the WebSocket frame parser of the Jetstream client
 * (ingest_ws_parse(): frame headers, 16/64-bit lengths, masks, fragments,
 * control frames, the message cap, zstd decompression). The first byte picks
 * the chunk size the bytes arrive in (1..64) and whether binary messages are
 * zstd; the rest are server frames. Invariants are checked with abort(): a
 * data unit never exceeds the cap, a too-large unit reports a size over it,
 * and the bytes accounted equal the bytes fed when nothing stopped the parse.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096

static int on_unit(const struct ingest_unit *u, void *opaque)
{
	(void)opaque;
	if (u->kind == INGEST_UNIT_DATA && u->len > CAP)
		abort();
	if (u->kind == INGEST_UNIT_TOO_LARGE && (u->size <= CAP || u->len > INGEST_EXCERPT_BYTES))
		abort();
	if (u->len && !u->data)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_stream_result res;
	struct ingest_ws_opts o = { .max_unit = CAP, .on_unit = on_unit };

	if (size < 1)
		return 0;
	o.zstd = data[0] & 0x80;
	if (ingest_ws_parse(&o, data + 1, size - 1, 1 + (data[0] & 0x3f), &res) == 0 &&
	    res.bytes > size - 1)
		abort();
	return 0;
}
