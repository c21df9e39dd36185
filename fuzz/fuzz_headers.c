/*
 * fuzz_headers.c — fuzz the small parsers of untrusted text added for issue
 * 20: a stream response's header lines (Retry-After / x-rate-limit-reset, via
 * ingest_stream_hint_ms()), URL credential redaction (bw_redact_url()) and the
 * account-id rule (bw_account_id_valid()). The input is split at newlines;
 * each piece goes to all three. Invariants are checked with abort(): a hint is
 * -1 or within [0, INGEST_HINT_MAX_MS]; redaction is idempotent and bounded;
 * a valid id is at most BW_ACCOUNT_ID_MAX bytes of the allowed characters.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_redact.h"
#include "post.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *s, size_t n)
{
	char z[4096], a[512], b[512];
	int64_t h = ingest_stream_hint_ms(s, n, INT64_C(1700000000000));

	if (h < -1 || h > INGEST_HINT_MAX_MS)
		abort();
	if (n >= sizeof(z))
		return;
	memcpy(z, s, n);
	z[n] = '\0';
	bw_redact_url(z, a, sizeof(a));
	if (strlen(a) >= sizeof(a))
		abort();
	/* redacting what is already redacted changes nothing (unless cut) */
	if (strlen(a) < sizeof(a) - 8 && strcmp(bw_redact_url(a, b, sizeof(b)), a) != 0)
		abort();
	if (bw_account_id_valid(z)) {
		size_t len = strlen(z);
		if (len == 0 || len > BW_ACCOUNT_ID_MAX ||
		    strspn(z, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._:%-") != len)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		one(p, n);
		p += n + 1;
	}
	return 0;
}
