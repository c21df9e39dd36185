/*
 * fuzz_gzip.c — fuzz file input (ingest_decode_file, ingest/decode_file.c)
 * with gzip streams: the input is gzip-compressed as it is (a valid member) and
 * also written raw behind the gzip magic (a damaged, truncated or concatenated
 * stream), each as a file decoded like `botwatch ingest --source FILE`. A
 * damaged stream must end in an error or a clean stop, never a crash or a read
 * past the buffers.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bw_log.h"
#include "bw_time.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_post(const struct bw_post *p, void *opaque)
{
	(void)opaque;
	if (!p->author.id)
		abort();
	return 0;
}

static void on_dlq(const struct bw_dlq_rec *r, void *opaque)
{
	(void)r;
	(void)opaque;
}

static void decode_file(const char *path, const void *buf, size_t len)
{
	char err[256];
	struct bw_decode_opts o = { .max_unit_bytes = 65536, .max_depth = 32,
				    .probe_time_ms = BW_TIME_NONE, .on_post = on_post,
				    .on_dlq = on_dlq };
	struct bw_decoder *d;
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	if (len && fwrite(buf, 1, len, f) != len)
		abort();
	fclose(f);
	if (!(d = ingest_decoder_new(&o, err, sizeof(err))))
		return;
	ingest_decode_file(d, path, err, sizeof(err));
	ingest_decoder_finish(d);
	ingest_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	unsigned char *raw;
	z_stream z;

	bw_log_set_level(BW_LOG_OFF);
	if (size > 262144)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/bw_fuzz_gzip_%ld.gz", (long)getpid());
	/* 1. raw bytes behind the gzip magic: a damaged stream */
	if (!(raw = malloc(size + 2)))
		return 0;
	raw[0] = 0x1f;
	raw[1] = 0x8b;
	memcpy(raw + 2, data, size);
	decode_file(path, raw, size + 2);
	free(raw);
	/* 2. the input compressed: a valid member around fuzzed content, cut at a
	 *    point chosen by the first byte (a truncated file) when it is odd */
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	uLong cap = deflateBound(&z, size) + 32;
	unsigned char *gz = malloc(cap);
	if (gz) {
		z.next_in = (unsigned char *)data;
		z.avail_in = (uInt)size;
		z.next_out = gz;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
			size_t n = z.total_out;
			if (size && (data[0] & 1))
				n = n * data[0] / 256;
			decode_file(path, gz, n);
		}
		free(gz);
	}
	deflateEnd(&z);
	unlink(path);
	return 0;
}
