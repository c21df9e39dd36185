/*
 * ingest_expect.h — data expectations at ingest (docs/EXPECTATIONS.md,
 * generated from the one table in ingest_expect.c).
 *
 * Every normalised record the decoder emits (decode.c, dec_emit) is checked
 * against per-field expectations: the field's presence where its platform
 * carries it, its range (counts, times, lengths) and its format (language
 * tags, handles). A record is never rejected for a violation (the decoder's
 * own checks dead-letter what cannot be used); violations are counted per
 * field and kind, exported as
 *
 *   botwatch_ingest_expectation_checks_total{field}
 *   botwatch_ingest_expectation_violations_total{field,kind}   kind: absent, range, format
 *
 * and listed in GET /v1/drift. Counters are process-wide atomics: any thread
 * may check, publish or read.
 */
#ifndef BW_INGEST_EXPECT_H
#define BW_INGEST_EXPECT_H

#include <stdio.h>

#include <jansson.h>

struct bw_post;

/* Check one record against the table and count its violations. */
void ingest_expect_check(const struct bw_post *p);

/* Add the counts since the last call to the metrics registry (the API's
 * /metrics calls it before rendering). */
void ingest_expect_publish(void);

/* The table with its counts: [{field, type, presence, platforms, min, max,
 * checked, absent, range, format}] (new reference; NULL on allocation failure). */
json_t *ingest_expect_json(void);

/* The table as the Markdown document docs/EXPECTATIONS.md. 0 or BW_EIO. */
int ingest_expect_write_markdown(FILE *out);

/* Zero the counts (tests only). */
void ingest_expect_reset(void);

#endif
