/*
 * bsky_enrich.h — Bluesky profile enrichment from an AppView, off the hot path.
 *
 * The firehose carries no follower / following / post counts and no account
 * creation time. The enricher asks an AppView for them
 * (`GET <appview>/xrpc/app.bsky.actor.getProfiles?actors=…`, at most 25
 * actors per call) on a thread of its own: the ingest loop hands it every
 * Bluesky author it sees (ingest_enrich_want(), which never blocks and drops
 * work past a bounded queue), and collects the answers when convenient
 * (ingest_enrich_take()), feeding each into the decoder
 * (ingest_decoder_bsky_profile()), which emits a profile snapshot: the
 * account is scored with what it has and rescored when the counts arrive.
 *
 * Calls are spaced to at most ingest.bluesky.enrich_rate per second; a 429
 * or 5xx answer puts the batch back and waits (Retry-After when given, else
 * 1 s doubling to 60 s). An account fetched is not asked for again within
 * ingest.bluesky.enrich_ttl_s (a direct-mapped memory of 65,536 DIDs).
 *
 * Thread-safety: want/take/stats may be called from one thread while the
 * enricher's own thread runs; create and free from that same thread.
 */
#ifndef BW_INGEST_BSKY_ENRICH_H
#define BW_INGEST_BSKY_ENRICH_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "decode.h"

struct ingest_enrich;

/* What the enricher did so far. */
struct ingest_enrich_stats {
	uint64_t calls;     /* getProfiles requests answered 200 */
	uint64_t failures;  /* requests that failed (network, HTTP error, bad JSON) */
	uint64_t profiles;  /* profiles received */
	uint64_t dropped;   /* accounts not queued because the queue was full */
	uint64_t queued;    /* accounts waiting */
};

/*
 * Start an enricher for cfg->bsky_appview (cfg borrowed for its lifetime;
 * user_agent copied); NULL with errstr set on failure. curl_global_init()
 * must have run.
 */
struct ingest_enrich *ingest_enrich_new(const struct bw_config *cfg, const char *user_agent,
					char *errstr, size_t errlen);

/* Ask for `did`'s profile unless it was fetched within the TTL (copied; never blocks long). */
void ingest_enrich_want(struct ingest_enrich *e, const char *did);

/* Call fn for every profile received since the last call (on the caller's
 * thread); stops at fn's first non-zero return, which it returns. */
int ingest_enrich_take(struct ingest_enrich *e,
		       int (*fn)(const struct ingest_bsky_profile *p, void *opaque), void *opaque);

/* Wait up to timeout_ms for the queue to drain and the answers to be taken
 * by ingest_enrich_take(); true when nothing is left. */
bool ingest_enrich_idle(struct ingest_enrich *e, int64_t timeout_ms);

void ingest_enrich_stats(struct ingest_enrich *e, struct ingest_enrich_stats *st);

/* Stop the thread and free everything. Accepts NULL. */
void ingest_enrich_free(struct ingest_enrich *e);

#endif
