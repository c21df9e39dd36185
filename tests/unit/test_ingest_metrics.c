/*
 * test_ingest_metrics.c — ingest's counters reach the metrics registry that
 * the API's /metrics renders, with their labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bw_metrics.h"
#include "ingest_metrics.h"

static void test_counters_render(void **state)
{
	(void)state;
	struct ingest_sink_stats st = { 0 };
	size_t len;
	char *text;

	bw_metrics_reset();
	ingest_metrics_register();
	ingest_metrics_post();
	ingest_metrics_post();
	ingest_metrics_bytes(1234);
	ingest_metrics_reconnect("stall");
	ingest_metrics_reconnect("rate_limit");
	ingest_metrics_reconnect("stall");
	ingest_metrics_dlq("invalid_json");
	ingest_metrics_control("delete");
	st.queue_full = 3;
	st.failed = 1;
	st.produce_errors = 1;
	st.queue_depth = 17;
	st.last_lag = 900;
	ingest_metrics_sink(&st);
	st.queue_full = 5; /* cumulative in the sink: only the difference is added */
	ingest_metrics_sink(&st);

	text = bw_metrics_render(&len);
	assert_non_null(text);
	assert_non_null(strstr(text, "botwatch_ingest_posts_total 2"));
	assert_non_null(strstr(text, "botwatch_ingest_bytes_total 1234"));
	assert_non_null(strstr(text, "botwatch_ingest_reconnects_total{cause=\"stall\"} 2"));
	assert_non_null(strstr(text, "botwatch_ingest_reconnects_total{cause=\"rate_limit\"} 1"));
	assert_non_null(strstr(text, "botwatch_ingest_dlq_total{reason=\"invalid_json\"} 1"));
	assert_non_null(strstr(text, "botwatch_ingest_sse_control_total{event=\"delete\"} 1"));
	assert_non_null(strstr(text, "botwatch_ingest_queue_full_total 5"));
	assert_non_null(strstr(text, "botwatch_ingest_produce_errors_total 2"));
	assert_non_null(strstr(text, "botwatch_ingest_queue_depth 17"));
	assert_non_null(strstr(text, "botwatch_ingest_consumer_lag 900"));
	free(text);
	bw_metrics_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_render),
	};
	return cmocka_run_group_tests_name("ingest_metrics", tests, NULL, NULL);
}
