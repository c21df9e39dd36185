/*
 * fuzz_kafka.c — fuzz a Kafka message of the posts topic as the features
 * stage reads it, key, headers and value together (the values alone are also
 * fuzz_postcodec's and fuzz_update's): the input is split by its first three
 * bytes into a key, up to 8 headers (name/value pairs of the rest, split at
 * NUL bytes, added to an rd_kafka_headers_t exactly as a consumed message
 * carries them) and a value. Then:
 *   - feat_stage_observation() on those headers must agree with a direct
 *     search for "bw-observe";
 *   - feat_stage_observed_id() on the key must give a valid id of the key's
 *     exact bytes, or refuse it;
 *   - the value goes to the post decoder (and what decodes to
 *     feat_post_targets(), which must name valid ids only) and to the feature
 *     update decoder.
 * Invariants are checked with abort().
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_arena.h"
#include "feat.h"
#include "feat_stage.h"
#include "post.h"
#include "postcodec.h"
#include "stage_features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const uint8_t *v, size_t n)
{
	struct bw_arena *arena = bw_arena_new(1 << 20);
	struct bw_post p;
	struct feat_update u;
	const char *t[64];
	char err[256];

	if (arena && ingest_post_decode(v, n, &p, arena, err, sizeof(err)) == 0) {
		size_t k = feat_post_targets(&p, t, 64);
		for (size_t i = 0; i < k; i++)
			if (!bw_account_id_valid(t[i]))
				abort();
	}
	bw_arena_free(arena);
	if (feat_update_decode(v, n, &u) == 0 && (u.nnz > u.n || u.n > FEAT_UPDATE_MAX_N))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t key_len, hdr_len, pos = 3, end;
	rd_kafka_headers_t *h;
	bool observe = false;
	char id[256];

	if (size < 3)
		return 0;
	key_len = data[0] % 80;
	hdr_len = (size_t)data[1] * 4;
	if (key_len > size - pos)
		key_len = size - pos;
	const uint8_t *key = data + pos;
	pos += key_len;
	if (hdr_len > size - pos)
		hdr_len = size - pos;
	end = pos + hdr_len;

	/* headers: name\0value\0 pairs (a value may be empty; data[2] & 1: NULL) */
	h = rd_kafka_headers_new(8);
	for (int i = 0; i < 8 && pos < end; i++) {
		const uint8_t *name = data + pos, *nz = memchr(name, 0, end - pos);
		size_t name_len = nz ? (size_t)(nz - name) : end - pos;
		pos += name_len + (nz != NULL);
		const uint8_t *val = data + pos, *vz = pos < end ? memchr(val, 0, end - pos) : NULL;
		size_t val_len = pos < end ? (vz ? (size_t)(vz - val) : end - pos) : 0;
		pos += val_len + (vz != NULL);
		char nbuf[128];
		if (name_len >= sizeof(nbuf))
			continue;
		memcpy(nbuf, name, name_len);
		nbuf[name_len] = '\0';
		rd_kafka_header_add(h, nbuf, (ssize_t)name_len, (data[2] & 1) ? NULL : val,
				    (ssize_t)val_len);
		observe |= strcmp(nbuf, "bw-observe") == 0;
	}
	if (feat_stage_observation(h) != observe)
		abort();
	rd_kafka_headers_destroy(h);
	if (feat_stage_observation(NULL))
		abort();

	/* the key, empty or not, with or without bytes */
	if (feat_stage_observed_id(key_len ? key : NULL, key_len, id, sizeof(id))) {
		if (strlen(id) != key_len || memcmp(id, key, key_len) || !bw_account_id_valid(id))
			abort();
	}
	check_value(data + end, size - end);
	return 0;
}
