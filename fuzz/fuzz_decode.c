/*
 * fuzz_decode.c — fuzz the post decoder: the input as one unit, then as a
 * whole file-like buffer (NDJSON, one document, an SSE body or a
 * delimited=length capture), then the profile hold-back release; then the
 * buffer again under each forced ingest.format. Every emitted record and DLQ record is rendered
 * to JSON so the fuzzer also walks every pointer the decoder hands out, and
 * the direct writer (bw_post_append_json) must match jansson byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_log.h"
#include "bw_time.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_post(const struct bw_post *p, void *opaque)
{
	json_t *j = bw_post_to_json(p);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL, *buf = NULL;
	size_t len = 0, cap = 0;

	(void)opaque;
	if (!p->author.id) /* the decoder promises a non-NULL author id */
		abort();
	if (s && bw_post_append_json(p, &buf, &len, &cap) == 0 &&
	    (len != strlen(s) + 1 || memcmp(buf, s, len - 1) != 0))
		abort(); /* the two renderings must be the same bytes */
	free(buf);
	free(s);
	json_decref(j);
	return 0;
}

static void on_dlq(const struct bw_dlq_rec *r, void *opaque)
{
	json_t *j = bw_dlq_to_json(r);

	(void)opaque;
	if (!j) /* detail, source and excerpt must be valid UTF-8 */
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct bw_decode_opts o = { .max_unit_bytes = 65536, .max_depth = 32,
				    .probe_time_ms = BW_TIME_NONE, .on_post = on_post,
				    .on_dlq = on_dlq };
	struct bw_decoder *d;

	bw_log_set_level(BW_LOG_OFF);
	if (!(d = ingest_decoder_new(&o, err, sizeof(err))))
		return 0;
	ingest_decode_unit(d, (const char *)data, size, "fuzz", 1);
	ingest_decode_buffer(d, (const char *)data, size, "fuzz");
	ingest_decoder_finish(d);
	ingest_decoder_free(d);
	/* the same buffer under every forced ingest.format */
	for (o.format = INGEST_FORMAT_V11; o.format <= INGEST_FORMAT_NDJSON; o.format++) {
		if (!(d = ingest_decoder_new(&o, err, sizeof(err))))
			return 0;
		ingest_decode_buffer(d, (const char *)data, size, "fuzz");
		ingest_decoder_finish(d);
		ingest_decoder_free(d);
	}
	return 0;
}
