/*
 * stream_backoff.c — the reconnect ladder for streaming APIs (see stream.h).
 *
 * Follows Twitter's documented discipline: reconnect at once after an
 * established connection drops; back off linearly on network errors,
 * exponentially on HTTP errors, and exponentially from a longer start on
 * 420/429 (honouring the server's reset time); never retry 406/413.
 */
#include "stream.h"

void ingest_stream_backoff_init(struct ingest_stream_backoff *b, int64_t tcp_step_ms,
				int64_t tcp_max_ms, int64_t http_initial_ms, int64_t http_max_ms,
				int64_t rate_initial_ms, int64_t rate_max_ms)
{
	b->tcp_step_ms = tcp_step_ms;
	b->tcp_max_ms = tcp_max_ms;
	b->http_initial_ms = http_initial_ms;
	b->http_max_ms = http_max_ms;
	b->rate_initial_ms = rate_initial_ms;
	b->rate_max_ms = rate_max_ms;
	ingest_stream_backoff_established(b);
}

void ingest_stream_backoff_established(struct ingest_stream_backoff *b)
{
	b->tcp_wait_ms = b->http_wait_ms = b->rate_wait_ms = 0;
}

/* Double `cur` (or start at `initial`), capped at `max`. */
static int64_t doubling(int64_t cur, int64_t initial, int64_t max)
{
	int64_t next = cur ? (cur > max / 2 ? max : cur * 2) : initial;
	return next > max ? max : next;
}

int64_t ingest_stream_backoff_next(struct ingest_stream_backoff *b, enum ingest_retry_cause cause,
				   int64_t reset_hint_ms)
{
	int64_t wait = 0;

	switch (cause) {
	case INGEST_RETRY_DROP:
		ingest_stream_backoff_established(b);
		return 0;
	case INGEST_RETRY_TCP:
		b->tcp_wait_ms += b->tcp_step_ms;
		if (b->tcp_wait_ms > b->tcp_max_ms)
			b->tcp_wait_ms = b->tcp_max_ms;
		wait = b->tcp_wait_ms;
		break;
	case INGEST_RETRY_HTTP:
		wait = b->http_wait_ms = doubling(b->http_wait_ms, b->http_initial_ms, b->http_max_ms);
		break;
	case INGEST_RETRY_RATE:
		wait = b->rate_wait_ms = doubling(b->rate_wait_ms, b->rate_initial_ms, b->rate_max_ms);
		break;
	case INGEST_RETRY_FATAL:
	case INGEST_RETRY__COUNT:
		return -1;
	}
	if (reset_hint_ms > b->rate_max_ms)
		reset_hint_ms = b->rate_max_ms; /* bounded: a hostile header cannot park us */
	if (reset_hint_ms > wait)
		wait = reset_hint_ms;
	return wait;
}

enum ingest_retry_cause ingest_stream_cause_for_status(long status)
{
	if (status == 420 || status == 429)
		return INGEST_RETRY_RATE;
	if (status == 406 || status == 413)
		return INGEST_RETRY_FATAL;
	return INGEST_RETRY_HTTP;
}

const char *ingest_stream_cause_name(enum ingest_retry_cause c)
{
	static const char *const names[] = { "drop", "tcp", "http", "rate_limit", "fatal" };
	return (unsigned)c < INGEST_RETRY__COUNT ? names[c] : "?";
}
