/*
 * ingest_metrics.h — ingest's counters in the process-wide metrics registry
 * (bw_metrics.h), exposed by the API's /metrics:
 *
 *   botwatch_ingest_posts_total                  posts produced
 *   botwatch_ingest_bytes_total                  stream / input bytes framed
 *   botwatch_ingest_keepalives_total             keep-alives and heartbeats
 *   botwatch_ingest_sse_control_total{event}     SSE events without a post (delete, ...)
 *   botwatch_ingest_reconnects_total{cause}      drop, stall, tcp, http, rate_limit, fatal
 *   botwatch_ingest_backoff_seconds_total        time spent waiting to reconnect
 *   botwatch_ingest_partial_units_total          incomplete units lost to a drop
 *   botwatch_ingest_dlq_total{reason}            dead-lettered units by reason
 *   botwatch_ingest_produce_errors_total         produce calls / deliveries that failed
 *   botwatch_ingest_queue_full_total             local producer queue full (retried)
 *   botwatch_ingest_lag_pauses_total             pauses on consumer lag
 *   botwatch_ingest_queue_depth                  messages queued in the producer
 *   botwatch_ingest_consumer_lag                 worst consumer lag at the last check
 *
 * Call ingest_metrics_register() once before the others. Thread-safe (the
 * registry is atomic).
 */
#ifndef BW_INGEST_METRICS_H
#define BW_INGEST_METRICS_H

#include <stdint.h>

#include "kafka_sink.h"

void ingest_metrics_register(void);
void ingest_metrics_post(void);
void ingest_metrics_bytes(uint64_t n);
void ingest_metrics_keepalive(void);
void ingest_metrics_control(const char *event);
void ingest_metrics_reconnect(const char *cause);
void ingest_metrics_backoff(int64_t wait_ms);
void ingest_metrics_partial(void);
void ingest_metrics_dlq(const char *reason);
/* Publish the sink's counters (call periodically and at the end). */
void ingest_metrics_sink(const struct ingest_sink_stats *st);

#endif
