/*
 * test_stream.c — stream framing (lines, v1.1 delimited=length, SSE) under
 * every split of the input, the unit cap, the reconnect ladder and OAuth 1.0a
 * signing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "cfg.h"
#include "stream.h"

#include <zstd.h>

/* What a framer produced, as one comparable string: "D:<data>|K|T:<size>|B|" */
struct sink {
	char out[8192]; /* transcript */
	size_t len;     /* bytes in out */
};

static int record(const struct ingest_unit *u, void *opaque)
{
	struct sink *s = opaque;
	int n = 0;

	switch (u->kind) {
	case INGEST_UNIT_DATA:
		n = snprintf(s->out + s->len, sizeof(s->out) - s->len, "D%s%s:%.*s|",
			     u->event ? "@" : "", u->event ? u->event : "", (int)u->len, u->data);
		break;
	case INGEST_UNIT_KEEPALIVE:
		n = snprintf(s->out + s->len, sizeof(s->out) - s->len, "K|");
		break;
	case INGEST_UNIT_TOO_LARGE:
		n = snprintf(s->out + s->len, sizeof(s->out) - s->len, "T%llu:%.*s|",
			     (unsigned long long)u->size, (int)(u->len > 4 ? 4 : u->len), u->data);
		break;
	case INGEST_UNIT_BAD_FRAME:
		n = snprintf(s->out + s->len, sizeof(s->out) - s->len, "B:%.*s|", (int)u->len,
			     u->data);
		break;
	}
	s->len += (size_t)n;
	return 0;
}

/* Feed `in` whole, then split in two at every position, then byte by byte:
 * the transcript must be `want` every time. */
static void check_framing(enum ingest_stream_framing fr, size_t cap, const char *in,
			  const char *want)
{
	size_t n = strlen(in);

	for (size_t cut = 0; cut <= n + 1; cut++) {
		struct sink s = { .len = 0 };
		struct ingest_stream_framer *f = ingest_stream_framer_new(fr, cap, record, &s);
		assert_non_null(f);
		s.out[0] = '\0';
		if (cut <= n) {
			assert_int_equal(ingest_stream_framer_feed(f, in, cut), 0);
			assert_int_equal(ingest_stream_framer_feed(f, in + cut, n - cut), 0);
		} else {
			for (size_t i = 0; i < n; i++)
				assert_int_equal(ingest_stream_framer_feed(f, in + i, 1), 0);
		}
		if (strcmp(s.out, want) != 0)
			fail_msg("cut %zu: got '%s' want '%s'", cut, s.out, want);
		ingest_stream_framer_free(f);
	}
}

static void test_lines(void **state)
{
	(void)state;
	check_framing(INGEST_FRAMING_LINES, 1024, "{\"a\":1}\r\n\r\n{\"b\":2}\n  \n{\"c\"",
		      "D:{\"a\":1}|K|D:{\"b\":2}|K|");
	/* cap 16: the long line is skipped, reported with its size, and the next survives */
	check_framing(INGEST_FRAMING_LINES, 16, "0123456789abcdefXYZ\n{\"ok\":1}\n",
		      "T19:0123|D:{\"ok\":1}|");
}

static void test_length_delimited(void **state)
{
	(void)state;
	/* Twitter counts the trailing \r\n in the length */
	check_framing(INGEST_FRAMING_LENGTH, 1024,
		      "9\r\n{\"a\":1}\r\n\r\n10\r\n{\"bb\":2}\r\n\r\n",
		      "D:{\"a\":1}|K|D:{\"bb\":2}|K|");
	/* a body may contain newlines: length framing does not split on them */
	check_framing(INGEST_FRAMING_LENGTH, 1024, "7\r\n{\n\"a\"}\n", "D:{\n\"a\"}|");
	/* over the cap: skipped by its declared length, framing kept */
	check_framing(INGEST_FRAMING_LENGTH, 8, "23\r\n{\"aaaaaaaaaaaaaaaaa\":1}9\r\n{\"a\":1}\r\n",
		      "T23:{\"aa|D:{\"a\":1}|");
	/* regression (found by fuzz_framing): a frame of cap + 2 bytes without a
	 * trailing "\r\n" holds more data than the cap and must be skipped */
	check_framing(INGEST_FRAMING_LENGTH, 4, "6\r\n{\"a\":13\r\n{}\n", "T6:{\"a\"|D:{}|");
	/* a length line that is not a number */
	check_framing(INGEST_FRAMING_LENGTH, 1024, "xyz\r\n9\r\n{\"a\":1}\r\n",
		      "B:xyz|D:{\"a\":1}|");
}

static void test_sse(void **state)
{
	(void)state;
	check_framing(INGEST_FRAMING_SSE, 1024,
		      ":thump\n\nevent: update\ndata: {\"id\":\"1\"}\n\n"
		      "event: delete\r\ndata: 123\r\n\r\ndata: a\ndata: b\nid: 7\n\nevent: x\n\n",
		      "K|D@update:{\"id\":\"1\"}|D@delete:123|D@message:a\nb|");
	/* an event over the cap is skipped to its blank line (size = bytes skipped) */
	check_framing(INGEST_FRAMING_SSE, 8,
		      "event: update\ndata: 0123456789\ndata: more\n\ndata: ok\n\n",
		      "T21:0123|D@message:ok|");
}

static void test_reset_discards_partial(void **state)
{
	(void)state;
	struct sink s = { .len = 0 };
	struct ingest_stream_framer *f =
		ingest_stream_framer_new(INGEST_FRAMING_LINES, 64, record, &s);
	s.out[0] = '\0';
	assert_int_equal(ingest_stream_framer_feed(f, "{\"a\":1}\n{\"half", 14), 0);
	assert_int_equal(ingest_stream_framer_pending(f), 6);
	assert_int_equal(ingest_stream_framer_reset(f), 6);
	assert_int_equal(ingest_stream_framer_feed(f, "{\"b\":2}\n", 8), 0);
	assert_string_equal(s.out, "D:{\"a\":1}|D:{\"b\":2}|");
	assert_int_equal(ingest_stream_framing_parse("sse"), INGEST_FRAMING_SSE);
	assert_int_equal(ingest_stream_framing_parse("nope"), -1);
	ingest_stream_framer_free(f);
}

static void test_backoff_ladder(void **state)
{
	(void)state;
	struct ingest_stream_backoff b;

	ingest_stream_backoff_init(&b, 250, 16000, 5000, 320000, 60000, 960000);
	/* network errors: +250 ms linear to 16 s */
	for (int i = 1; i <= 64; i++)
		assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_TCP, -1), 250 * i);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_TCP, -1), 16000);
	/* an established stream that drops: at once, and the ladder starts over */
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_DROP, -1), 0);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_TCP, -1), 250);
	/* HTTP errors: 5 s doubling to 320 s */
	int64_t want[] = { 5000, 10000, 20000, 40000, 80000, 160000, 320000, 320000 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_HTTP, -1), want[i]);
	/* 420/429: 60 s doubling; a later reset header wins */
	ingest_stream_backoff_established(&b);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, -1), 60000);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, 300000), 300000);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, 1000), 240000);
	for (int i = 0; i < 10; i++)
		ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, -1);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, -1), 960000);
	/* regression (issue 20): a server's wait is honoured up to ratelimit_max_ms
	 * (86400000 s asked for a 1,000-day wait) */
	ingest_stream_backoff_established(&b);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_RATE, INGEST_HINT_MAX_MS),
			 960000);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_HTTP, 700000), 700000);
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_HTTP, INT64_MAX), 960000);
	/* never retried */
	assert_int_equal(ingest_stream_backoff_next(&b, INGEST_RETRY_FATAL, -1), -1);
	assert_int_equal(ingest_stream_cause_for_status(406), INGEST_RETRY_FATAL);
	assert_int_equal(ingest_stream_cause_for_status(413), INGEST_RETRY_FATAL);
	assert_int_equal(ingest_stream_cause_for_status(420), INGEST_RETRY_RATE);
	assert_int_equal(ingest_stream_cause_for_status(429), INGEST_RETRY_RATE);
	assert_int_equal(ingest_stream_cause_for_status(503), INGEST_RETRY_HTTP);
	assert_int_equal(ingest_stream_cause_for_status(401), INGEST_RETRY_HTTP);
	assert_string_equal(ingest_stream_cause_name(INGEST_RETRY_RATE), "rate_limit");
}

/* Regression (issue 20): Retry-After / x-rate-limit-reset were trusted without
 * bound; 9223372036854775 overflowed a signed multiplication downstream. */
static void test_reset_hint_headers(void **state)
{
	(void)state;
	const int64_t now = INT64_C(1700000000000);
#define HINT(s) ingest_stream_hint_ms(s, sizeof(s) - 1, now)
	assert_int_equal(HINT("Retry-After: 30\r\n"), 30000);
	assert_int_equal(HINT("retry-after:0"), 0);
	assert_int_equal(HINT("Retry-After: 86400000\r\n"), INGEST_HINT_MAX_MS);
	assert_int_equal(HINT("Retry-After: 9223372036854775\r\n"), INGEST_HINT_MAX_MS);
	assert_int_equal(HINT("Retry-After: 99999999999999999999999999999999999999\r\n"),
			 INGEST_HINT_MAX_MS);
	assert_int_equal(HINT("x-rate-limit-reset: 1700000060\r\n"), 60000);
	assert_int_equal(HINT("x-rate-limit-reset: 1600000000\r\n"), 0); /* in the past */
	assert_int_equal(HINT("x-rate-limit-reset: 9223372036854775807\r\n"), INGEST_HINT_MAX_MS);
	assert_int_equal(HINT("Retry-After: -5\r\n"), -1);
	assert_int_equal(HINT("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"), -1);
	assert_int_equal(HINT("Retry-After: 12abc\r\n"), -1);
	assert_int_equal(HINT("Retry-After:\r\n"), -1);
	assert_int_equal(HINT("Content-Type: text/plain\r\n"), -1);
#undef HINT
}

/*
 * Twitter's "Creating a signature" worked example. The expected value
 * hCtSmYh+iHYCEqBWrE7C7hYmtUk= is the one that document publishes; it was
 * also recomputed independently with Python's hmac/hashlib/urllib.parse.
 */
static void test_oauth_signature_published_example(void **state)
{
	(void)state;
	const struct ingest_stream_oauth cred = {
		"xvz1evFS4wEEPTGEFPHBog", "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		"LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
	};
	const struct ingest_stream_param params[] = {
		{ "status", "Hello Ladies + Gentlemen, a signed OAuth request!" },
		{ "include_entities", "true" },
	};
	char sig[64], hdr[2048], err[256];

	assert_int_equal(ingest_stream_oauth_sign(&cred, "POST",
						  "https://api.twitter.com/1.1/statuses/update.json",
						  params, 2, "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
						  "1318622958", sig, sizeof(sig), err, sizeof(err)),
			 0);
	assert_string_equal(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
	assert_int_equal(ingest_stream_oauth_header(&cred, "POST",
						    "https://api.twitter.com/1.1/statuses/update.json",
						    params, 2, "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
						    "1318622958", hdr, sizeof(hdr), err, sizeof(err)),
			 0);
	assert_non_null(strstr(hdr, "oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""));
	assert_true(strncmp(hdr, "Authorization: OAuth ", 21) == 0);
	/* generated nonce/timestamp still produce a header */
	assert_int_equal(ingest_stream_oauth_header(&cred, "GET", "https://x.invalid/s", NULL, 0,
						    NULL, NULL, hdr, sizeof(hdr), err, sizeof(err)),
			 0);
	char enc[32];
	assert_int_equal(ingest_stream_pct_encode("a b+~*", enc, sizeof(enc)), 0);
	assert_string_equal(enc, "a%20b%2B~%2A");
	assert_int_equal(ingest_stream_pct_encode("abcdef", enc, 4), BW_ETOOLARGE);
}

static void test_request_building(void **state)
{
	(void)state;
	struct bw_config *cfg = cfg_new();
	struct ingest_stream_req r;
	char err[256], auth[2048];

	/* v1.1 sample: GET with delimited=length and stall_warnings, no credentials */
	assert_int_equal(ingest_stream_req_build(cfg, "https://h/1.1/statuses/sample.json",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), 0);
	assert_int_equal(r.format, INGEST_FORMAT_V11);
	assert_int_equal(r.framing, INGEST_FRAMING_LENGTH);
	assert_string_equal(r.url, "https://h/1.1/statuses/sample.json?delimited=length&stall_warnings=true");
	assert_string_equal(r.body, "");
	assert_int_equal(r.idle_ms, 90000);
	assert_int_equal(ingest_stream_req_auth(cfg, &r, auth, sizeof(auth), err, sizeof(err)), 0);
	assert_string_equal(auth, "");

	/* v1.1 filter: a POST form; without track/follow/locations a usage error */
	assert_int_equal(ingest_stream_req_build(cfg, "https://h/1.1/statuses/filter.json",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), BW_EUSAGE);
	assert_int_equal(cfg_set(cfg, "ingest.track", "a b,#c", "t", err, sizeof(err)), 0);
	assert_int_equal(ingest_stream_req_build(cfg, "https://h/1.1/statuses/filter.json",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), 0);
	assert_string_equal(r.body, "track=a%20b%2C%23c&delimited=length&stall_warnings=true");
	/* OAuth for v1.1 once all four keys are set */
	cfg_set(cfg, "ingest.oauth.consumer_key", "ck", "t", err, sizeof(err));
	cfg_set(cfg, "ingest.oauth.consumer_secret", "cs", "t", err, sizeof(err));
	cfg_set(cfg, "ingest.oauth.token", "tk", "t", err, sizeof(err));
	cfg_set(cfg, "ingest.oauth.token_secret", "ts", "t", err, sizeof(err));
	assert_int_equal(ingest_stream_req_auth(cfg, &r, auth, sizeof(auth), err, sizeof(err)), 0);
	assert_true(strncmp(auth, "Authorization: OAuth oauth_consumer_key=\"ck\"", 43) == 0);

	/* v2: fields requested unless the URL already asks; Bearer */
	cfg_set(cfg, "ingest.bearer_token", "B", "t", err, sizeof(err));
	assert_int_equal(ingest_stream_req_build(cfg, "https://h/2/tweets/search/stream",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), 0);
	assert_int_equal(r.format, INGEST_FORMAT_V2);
	assert_non_null(strstr(r.url, "?expansions=author_id"));
	assert_non_null(strstr(r.url, "&user.fields=created_at,"));
	assert_non_null(strstr(r.url, "&tweet.fields=author_id,"));
	assert_int_equal(r.idle_ms, 20000);
	assert_int_equal(ingest_stream_req_auth(cfg, &r, auth, sizeof(auth), err, sizeof(err)), 0);
	assert_string_equal(auth, "Authorization: Bearer B");
	assert_int_equal(ingest_stream_req_build(cfg, "https://h/2/tweets/sample/stream?expansions=x",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), 0);
	assert_null(strstr(r.url, "expansions=author_id"));

	/* Mastodon streaming is SSE; anything else NDJSON that may turn out to be SSE */
	assert_int_equal(ingest_stream_req_build(cfg, "https://m/api/v1/streaming/public",
						 INGEST_FORMAT_AUTO, &r, err, sizeof(err)), 0);
	assert_int_equal(r.framing, INGEST_FRAMING_SSE);
	assert_int_equal(ingest_stream_req_build(cfg, "http://x/feed", INGEST_FORMAT_AUTO, &r, err,
						 sizeof(err)), 0);
	assert_int_equal(r.framing, INGEST_FRAMING_LINES);
	assert_true(r.sniff_sse);
	assert_int_equal(ingest_stream_req_build(cfg, "/tmp/file", INGEST_FORMAT_AUTO, &r, err,
						 sizeof(err)), BW_EUSAGE);
	assert_int_equal(ingest_format_parse("twarc2"), INGEST_FORMAT_TWARC2);
	assert_int_equal(ingest_format_parse("v3"), -1);
	cfg_free(cfg);
}

/* Jetstream: the subscribe URL from the config, the cursor in an event, the cursor file. */
static void test_jetstream_url_and_cursor(void **state)
{
	(void)state;
	struct bw_config *cfg = cfg_new();
	char url[1024], err[256], path[] = "/tmp/bw-js-cursor.XXXXXX";
	int64_t cur;
	int fd;

	assert_int_equal(ingest_js_url(cfg, "wss://j/subscribe", -1, url, sizeof(url), err, sizeof(err)), 0);
	assert_string_equal(url, "wss://j/subscribe?wantedCollections=app.bsky.feed.post&wantedCollections="
				 "app.bsky.feed.repost&wantedCollections=app.bsky.actor.profile");
	assert_int_equal(cfg_set(cfg, "ingest.jetstream.wanted_dids", " did:plc:a , did:web:b.c ", "t", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(cfg, "ingest.jetstream.compress", "true", "t", err, sizeof(err)), 0);
	/* collections named in the URL win; DIDs trimmed and encoded; the cursor last */
	assert_int_equal(ingest_js_url(cfg, "ws://j/subscribe?wantedCollections=app.bsky.graph.*", 1779719000000000,
				       url, sizeof(url), err, sizeof(err)), 0);
	assert_string_equal(url, "ws://j/subscribe?wantedCollections=app.bsky.graph.*&wantedDids=did%3Aplc%3Aa"
				 "&wantedDids=did%3Aweb%3Ab.c&compress=true&cursor=1779719000000000");
	assert_int_equal(ingest_js_url(cfg, "ws://j/subscribe", 0, url, 40, err, sizeof(err)), BW_ETOOLARGE);

	static const char ev[] = "{\"did\":\"did:plc:x\",\"time_us\": 1779719009132431,\"kind\":\"commit\"}";
	static const char quoted[] = "{\"text\":\"a \\\"time_us\\\":5\",\"time_us\":7}";
	assert_int_equal(ingest_js_time_us(ev, strlen(ev)), 1779719009132431LL);
	assert_int_equal(ingest_js_time_us(quoted, strlen(quoted)), 7);
	assert_int_equal(ingest_js_time_us("{\"did\":1}", 9), -1);
	assert_int_equal(ingest_js_time_us("{\"time_us\":", 11), -1);

	/* the cursor file: absent is -1, round trip, garbage is a parse error */
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(ingest_js_cursor_load(path, &cur, err, sizeof(err)), 0);
	assert_int_equal(cur, -1);
	assert_int_equal(ingest_js_cursor_save(path, 1779719009132431LL, err, sizeof(err)), 0);
	assert_int_equal(ingest_js_cursor_load(path, &cur, err, sizeof(err)), 0);
	assert_int_equal(cur, 1779719009132431LL);
	FILE *f = fopen(path, "w");
	fputs("cursor 12x\n", f);
	fclose(f);
	assert_int_equal(ingest_js_cursor_load(path, &cur, err, sizeof(err)), BW_EPARSE);
	unlink(path);
	cfg_free(cfg);
}

/* Units collected from ingest_ws_parse(). */
struct ws_got {
	int n_data, n_large, n_bad, n_keep; /* units by kind */
	char last[256];                     /* the last data unit (cut to fit) */
	uint64_t large_size;                /* size of the last too-large unit */
};

static int ws_collect(const struct ingest_unit *u, void *opaque)
{
	struct ws_got *g = opaque;

	switch (u->kind) {
	case INGEST_UNIT_DATA:
		g->n_data++;
		snprintf(g->last, sizeof(g->last), "%.*s", (int)u->len, u->data);
		break;
	case INGEST_UNIT_TOO_LARGE:
		g->n_large++;
		g->large_size = u->size;
		break;
	case INGEST_UNIT_BAD_FRAME:
		g->n_bad++;
		break;
	case INGEST_UNIT_KEEPALIVE:
		g->n_keep++;
		break;
	}
	return 0;
}

/* A server frame (unmasked unless mask is given) appended at buf + *n. */
static void ws_frame(unsigned char *buf, size_t *n, int op, bool fin, const void *p, size_t len,
		     const unsigned char *mask)
{
	unsigned char *f = buf + *n;
	size_t h = 2;

	f[0] = (unsigned char)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		f[1] = (unsigned char)len;
	} else {
		f[1] = 126, f[2] = (unsigned char)(len >> 8), f[3] = (unsigned char)len;
		h = 4;
	}
	if (mask) {
		f[1] |= 0x80;
		memcpy(f + h, mask, 4);
		h += 4;
	}
	for (size_t i = 0; i < len; i++)
		f[h + i] = ((const unsigned char *)p)[i] ^ (mask ? mask[i & 3] : 0);
	*n += h + len;
}

/* WebSocket frames: whole, fragmented, masked, byte by byte, over the cap,
 * binary without zstd, zstd, and a close frame. */
static void test_ws_frames(void **state)
{
	(void)state;
	static unsigned char buf[16384];
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	static char big[5000];
	struct ws_got g = { 0 };
	struct ingest_ws_opts o = { .max_unit = 4096, .on_unit = ws_collect, .opaque = &g };
	struct ingest_stream_result res;
	size_t n = 0;

	ws_frame(buf, &n, 1, true, "{\"a\":1}", 7, NULL);
	ws_frame(buf, &n, 1, false, "{\"b\"", 4, NULL);
	ws_frame(buf, &n, 10, true, "", 0, NULL); /* a pong between fragments */
	ws_frame(buf, &n, 0, true, ":2}", 3, mask);
	memset(big, 'x', sizeof(big));
	ws_frame(buf, &n, 1, true, big, sizeof(big), NULL);
	ws_frame(buf, &n, 2, true, "\x28\xb5", 2, NULL);
	ws_frame(buf, &n, 1, true, "{\"c\":3}", 7, NULL);
	ws_frame(buf, &n, 8, true, "\x03\xe8", 2, NULL);
	ws_frame(buf, &n, 1, true, "{\"after\":1}", 11, NULL);
	for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(ingest_ws_parse(&o, buf, n, chunk, &res), 0);
		assert_int_equal(g.n_data, 3); /* {"a":1}, {"b":2}, {"c":3}; nothing after the close */
		assert_string_equal(g.last, "{\"c\":3}");
		assert_int_equal(g.n_keep, 1);
		assert_int_equal(g.n_large, 1);
		assert_int_equal(g.large_size, sizeof(big));
		assert_int_equal(g.n_bad, 1); /* binary without ingest.jetstream.compress */
		assert_string_equal(res.error, "closed by the server (code 1000)");
	}

	/* zstd: a frame decompresses to the event; garbage is a bad frame */
	static const char ev[] = "{\"did\":\"did:plc:x\",\"time_us\":1}";
	char z[256];
	size_t zn = ZSTD_compress(z, sizeof(z), ev, strlen(ev), 3);
	assert_false(ZSTD_isError(zn));
	n = 0;
	ws_frame(buf, &n, 2, true, z, zn, NULL);
	ws_frame(buf, &n, 2, true, "nope", 4, NULL);
	memset(&g, 0, sizeof(g));
	o.zstd = true;
	assert_int_equal(ingest_ws_parse(&o, buf, n, 3, &res), 0);
	assert_int_equal(g.n_data, 1);
	assert_string_equal(g.last, ev);
	assert_int_equal(g.n_bad, 1);

	/* a continuation without a message, or a fragmented control frame, ends the stream */
	n = 0;
	ws_frame(buf, &n, 0, true, "x", 1, NULL);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ingest_ws_parse(&o, buf, n, 1, &res), 0);
	assert_int_equal(g.n_data, 0);
	assert_non_null(strstr(res.error, "unexpected frame opcode 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jetstream_url_and_cursor),
		cmocka_unit_test(test_ws_frames),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_length_delimited),
		cmocka_unit_test(test_sse),
		cmocka_unit_test(test_reset_discards_partial),
		cmocka_unit_test(test_backoff_ladder),
		cmocka_unit_test(test_reset_hint_headers),
		cmocka_unit_test(test_oauth_signature_published_example),
		cmocka_unit_test(test_request_building),
	};
	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
