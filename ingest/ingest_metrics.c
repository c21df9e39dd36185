/*
 * ingest_metrics.c — ingest's counters in the metrics registry (see
 * ingest_metrics.h).
 */
#include "ingest_metrics.h"

#include <stddef.h>

#include "bw_metrics.h"

static struct bw_metric *m_posts, *m_bytes, *m_keepalive, *m_control, *m_reconnects, *m_backoff, *m_partial,
	*m_dlq, *m_produce_err, *m_queue_full, *m_lag_pauses, *m_queue_depth, *m_lag;

/* Sink counters already published (they are cumulative in the sink). */
static struct ingest_sink_stats published;

void ingest_metrics_register(void)
{
	m_posts = bw_counter("botwatch_ingest_posts_total", "Posts produced to Kafka.", NULL);
	m_bytes = bw_counter("botwatch_ingest_bytes_total", "Input bytes framed by ingest.", NULL);
	m_keepalive = bw_counter("botwatch_ingest_keepalives_total",
				 "Stream keep-alives and heartbeats received.", NULL);
	m_control = bw_counter("botwatch_ingest_sse_control_total",
			       "SSE events that carry no post (delete, notification, ...).", "event");
	m_reconnects = bw_counter("botwatch_ingest_reconnects_total",
				  "Stream reconnects by cause.", "cause");
	m_backoff = bw_counter("botwatch_ingest_backoff_seconds_total",
			       "Seconds spent waiting before reconnecting.", NULL);
	m_partial = bw_counter("botwatch_ingest_partial_units_total",
			       "Incomplete units discarded when a stream dropped.", NULL);
	m_dlq = bw_counter("botwatch_ingest_dlq_total", "Dead-lettered units by reason.", "reason");
	m_produce_err = bw_counter("botwatch_ingest_produce_errors_total",
				   "Produce calls or deliveries that failed.", NULL);
	m_queue_full = bw_counter("botwatch_ingest_queue_full_total",
				  "Times the producer's local queue was full (then retried).", NULL);
	m_lag_pauses = bw_counter("botwatch_ingest_lag_pauses_total",
				  "Times ingest paused because consumers lagged.", NULL);
	m_queue_depth = bw_gauge("botwatch_ingest_queue_depth",
				 "Messages waiting in the producer queue.", NULL);
	m_lag = bw_gauge("botwatch_ingest_consumer_lag",
			 "Worst consumer-group lag on the posts topic at the last check.", NULL);
}

void ingest_metrics_post(void)
{
	bw_counter_add(m_posts, NULL, 1);
}

void ingest_metrics_bytes(uint64_t n)
{
	bw_counter_add(m_bytes, NULL, n);
}

void ingest_metrics_keepalive(void)
{
	bw_counter_add(m_keepalive, NULL, 1);
}

void ingest_metrics_control(const char *event)
{
	const char *v[] = { event };
	bw_counter_add(m_control, v, 1);
}

void ingest_metrics_reconnect(const char *cause)
{
	const char *v[] = { cause };
	bw_counter_add(m_reconnects, v, 1);
}

void ingest_metrics_backoff(int64_t wait_ms)
{
	bw_counter_add(m_backoff, NULL, (uint64_t)(wait_ms / 1000));
}

void ingest_metrics_partial(void)
{
	bw_counter_add(m_partial, NULL, 1);
}

void ingest_metrics_dlq(const char *reason)
{
	const char *v[] = { reason };
	bw_counter_add(m_dlq, v, 1);
}

void ingest_metrics_sink(const struct ingest_sink_stats *st)
{
	uint64_t err = st->produce_errors + st->failed;
	uint64_t err_pub = published.produce_errors + published.failed;

	bw_counter_add(m_produce_err, NULL, err - err_pub);
	bw_counter_add(m_queue_full, NULL, st->queue_full - published.queue_full);
	bw_counter_add(m_lag_pauses, NULL, st->lag_pauses - published.lag_pauses);
	bw_gauge_set(m_queue_depth, NULL, (double)st->queue_depth);
	bw_gauge_set(m_lag, NULL, (double)st->last_lag);
	published = *st;
}
