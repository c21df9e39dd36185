/*
 * cfg.c — the configuration table and everything it drives (see cfg.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bw_err.h"
#include "bw_redact.h"
#include "bw_fs.h"

#define OFF(f) offsetof(struct bw_config, f)
#define I64MAX 9.2e18

/* The single source of every setting. Keep sorted by section. */
static const struct cfg_entry table[] = {
	{ "log.level", CFG_ENUM, OFF(log_level), 0, 0, "info", "debug|info|warn|error|off", 0,
	  "Lowest level written to the JSON log on stderr." },

	{ "ingest.source", CFG_STR, OFF(ingest_source), 0, 0, "", NULL, 0,
	  "Default input for `botwatch ingest`/`run`: an http(s):// URL, a file path or `-`." },
	{ "ingest.format", CFG_ENUM, OFF(ingest_format), 0, 0, "auto", "auto|v1.1|v2|twarc2|sse|ndjson", 0,
	  "What the source holds. `auto` detects a stream's request and framing from the URL and "
	  "Content-Type, and each unit's shape from its content. Any other value also makes the "
	  "decoder (`ingest`, `run`, `decode`, `replay`, `train`, `eval`) accept only that format, dead-lettering other units "
	  "as `wrong_format` with the format expected: `v1.1` statuses, control messages, "
	  "timelines, search responses, profile-only records and length lines; `v2` and `twarc2` "
	  "v2 stream lines, pages and single (flattened) tweets; `sse` a Mastodon SSE body whose "
	  "events carry statuses; `ndjson` one JSON value of any shape per line (no multi-line "
	  "documents, no SSE)." },
	{ "ingest.topic", CFG_STR, OFF(ingest_topic), 0, 0, "posts", NULL, 0,
	  "Kafka topic normalised posts are produced to (key = account id)." },
	{ "ingest.dlq_topic", CFG_STR, OFF(ingest_dlq_topic), 0, 0, "posts.dlq", NULL, 0,
	  "Kafka topic dead-lettered input goes to, with its reason." },
	{ "ingest.max_line_bytes", CFG_INT, OFF(ingest_max_line_bytes), 1024, 1073741824, "1048576", NULL, 0,
	  "Cap on one input line or document; longer units go to the DLQ as `too_large`." },
	{ "ingest.max_depth", CFG_INT, OFF(ingest_max_depth), 4, 1024, "64", NULL, 0,
	  "Cap on JSON nesting depth; deeper units go to the DLQ as `too_deep`." },
	{ "ingest.bearer_token", CFG_STR, OFF(ingest_bearer_token), 0, 0, "", NULL, CFG_SECRET,
	  "Bearer token for X API v2 and Mastodon streams; empty = no Authorization header." },
	{ "ingest.oauth.consumer_key", CFG_STR, OFF(ingest_oauth_consumer_key), 0, 0, "", NULL, CFG_SECRET,
	  "OAuth 1.0a consumer key for Twitter v1.1 streams." },
	{ "ingest.oauth.consumer_secret", CFG_STR, OFF(ingest_oauth_consumer_secret), 0, 0, "", NULL, CFG_SECRET,
	  "OAuth 1.0a consumer secret." },
	{ "ingest.oauth.token", CFG_STR, OFF(ingest_oauth_token), 0, 0, "", NULL, CFG_SECRET,
	  "OAuth 1.0a access token." },
	{ "ingest.oauth.token_secret", CFG_STR, OFF(ingest_oauth_token_secret), 0, 0, "", NULL, CFG_SECRET,
	  "OAuth 1.0a access token secret." },
	{ "ingest.track", CFG_STR, OFF(ingest_track), 0, 0, "", NULL, 0,
	  "v1.1 statuses/filter `track` keywords (comma-separated)." },
	{ "ingest.follow", CFG_STR, OFF(ingest_follow), 0, 0, "", NULL, 0,
	  "v1.1 statuses/filter `follow` account ids (comma-separated)." },
	{ "ingest.locations", CFG_STR, OFF(ingest_locations), 0, 0, "", NULL, 0,
	  "v1.1 statuses/filter `locations` bounding boxes." },
	{ "ingest.idle_timeout_v1_ms", CFG_INT, OFF(ingest_idle_v1_ms), 10, 86400000, "90000", NULL, 0,
	  "Stall rule for v1.1 streams: reconnect when no byte arrived for this long." },
	{ "ingest.idle_timeout_v2_ms", CFG_INT, OFF(ingest_idle_v2_ms), 10, 86400000, "20000", NULL, 0,
	  "Stall rule for v2 streams (heartbeat every 20 s)." },
	{ "ingest.idle_timeout_sse_ms", CFG_INT, OFF(ingest_idle_sse_ms), 10, 86400000, "60000", NULL, 0,
	  "Stall rule for SSE and plain NDJSON streams." },
	{ "ingest.connect_timeout_ms", CFG_INT, OFF(ingest_connect_timeout_ms), 10, 600000, "10000", NULL, 0,
	  "TCP/TLS connect timeout for stream connections." },
	{ "ingest.idle_timeout_ws_ms", CFG_INT, OFF(ingest_idle_ws_ms), 10, 86400000, "60000", NULL, 0,
	  "Stall rule for WebSocket (Bluesky Jetstream) streams: no message, ping or pong for this long "
	  "is a drop to reconnect from." },
	{ "ingest.jetstream.wanted_collections", CFG_STR, OFF(js_collections), 0, 0,
	  "app.bsky.feed.post,app.bsky.feed.repost,app.bsky.actor.profile", NULL, 0,
	  "Comma-separated NSIDs sent as `wantedCollections` to a `ws://`/`wss://` Jetstream source "
	  "(unless its URL already has them); empty = every collection. Identity and account "
	  "events always arrive." },
	{ "ingest.jetstream.wanted_dids", CFG_STR, OFF(js_dids), 0, 0, "", NULL, 0,
	  "Comma-separated DIDs sent as `wantedDids` (Jetstream); empty = every account." },
	{ "ingest.jetstream.cursor_file", CFG_STR, OFF(js_cursor_file), 0, 0, "", NULL, 0,
	  "File holding the Jetstream cursor (`time_us` of the last event whose posts Kafka "
	  "acknowledged), rewritten atomically; a restart resumes from it. Empty = start at the "
	  "live tip on every start (reconnects within one run still resume)." },
	{ "ingest.jetstream.cursor_overlap_ms", CFG_INT, OFF(js_overlap_ms), 0, 3600000, "2000", NULL, 0,
	  "A (re)connection asks for events from this long before the cursor: Jetstream is "
	  "at-least-once and the features stage drops posts it already folded." },
	{ "ingest.jetstream.cursor_every_ms", CFG_INT, OFF(js_cursor_every_ms), 10, 3600000, "1000", NULL, 0,
	  "How often the cursor file is rewritten (after a flush of the producer)." },
	{ "ingest.jetstream.compress", CFG_BOOL, OFF(js_compress), 0, 0, "false", NULL, 0,
	  "Ask Jetstream for zstd-compressed messages (`compress=true`); binary messages are "
	  "decompressed with ingest.jetstream.zstd_dictionary." },
	{ "ingest.jetstream.zstd_dictionary", CFG_STR, OFF(js_zstd_dict), 0, 0, "", NULL, 0,
	  "The zstd dictionary Jetstream publishes (`zstd_dictionary` in its repository); required "
	  "when ingest.jetstream.compress is true." },
	{ "ingest.bluesky.appview", CFG_STR, OFF(bsky_appview), 0, 0, "", NULL, 0,
	  "AppView base URL (e.g. `https://public.api.bsky.app`) asked for the follower, following "
	  "and post counts and creation time of every Bluesky author seen "
	  "(`app.bsky.actor.getProfiles`, 25 per call, on a thread of its own); each answer becomes "
	  "a profile snapshot and the account is rescored. Empty = no enrichment." },
	{ "ingest.bluesky.enrich_rate", CFG_INT, OFF(bsky_enrich_rate), 1, 1000, "5", NULL, 0,
	  "At most this many getProfiles calls per second." },
	{ "ingest.bluesky.enrich_ttl_s", CFG_INT, OFF(bsky_enrich_ttl_s), 1, 31536000, "86400", NULL, 0,
	  "An account enriched is not asked for again for this long." },
	{ "ingest.bluesky.enrich_queue", CFG_INT, OFF(bsky_enrich_queue), 1, 10000000, "100000", NULL, 0,
	  "Accounts waiting for enrichment at most; more are skipped (counted) until the queue drains." },
	{ "ingest.backoff.tcp_step_ms", CFG_INT, OFF(backoff_tcp_step_ms), 1, 3600000, "250", NULL, 0,
	  "Network errors: wait grows linearly by this step ..." },
	{ "ingest.backoff.tcp_max_ms", CFG_INT, OFF(backoff_tcp_max_ms), 1, 3600000, "16000", NULL, 0,
	  "... up to this cap." },
	{ "ingest.backoff.http_initial_ms", CFG_INT, OFF(backoff_http_initial_ms), 1, 3600000, "5000", NULL, 0,
	  "HTTP errors: first wait, doubling ..." },
	{ "ingest.backoff.http_max_ms", CFG_INT, OFF(backoff_http_max_ms), 1, 86400000, "320000", NULL, 0,
	  "... up to this cap." },
	{ "ingest.backoff.ratelimit_initial_ms", CFG_INT, OFF(backoff_rate_initial_ms), 1, 86400000, "60000", NULL, 0,
	  "HTTP 420/429: first wait, doubling (a rate-limit reset header wins when later)." },
	{ "ingest.backoff.ratelimit_max_ms", CFG_INT, OFF(backoff_rate_max_ms), 1, 86400000, "960000", NULL, 0,
	  "Cap on the rate-limit wait." },
	{ "ingest.max_consumer_lag", CFG_INT, OFF(ingest_max_lag), 0, I64MAX, "50000", NULL, 0,
	  "Backpressure: pause producing while the slowest consumer group lags more than this many "
	  "messages per partition (0 = no pausing; loss to pruning is still detected). Keeps the "
	  "embedded broker below its 100,000-message retention." },
	{ "ingest.lag_groups", CFG_STR, OFF(ingest_lag_groups), 0, 0, "botwatch-features", NULL, 0,
	  "Consumer groups (comma-separated) whose lag on the posts topic throttles ingest; a group "
	  "with no committed offset counts as lagging from the oldest retained message. Messages pruned "
	  "before a watched group read them stop ingest with an error. Empty = off." },
	{ "ingest.lag_retention_cap", CFG_BOOL, OFF(ingest_lag_retention_cap), 0, 0, "true", NULL, 0,
	  "Also cap the lag below the embedded broker's per-partition retention (5 MiB / 100,000 "
	  "messages) measured in encoded posts; set false for a real cluster with ample retention." },
	{ "ingest.rules_url", CFG_STR, OFF(ingest_rules_url), 0, 0,
	  "https://api.twitter.com/2/tweets/search/stream/rules", NULL, 0,
	  "X API v2 filtered-stream rules endpoint used by `botwatch rules`." },

	{ "kafka.bootstrap.servers", CFG_STR, OFF(kafka_bootstrap), 0, 0, "", NULL, 0,
	  "Kafka brokers `host:port,...`; empty starts the embedded broker in-process." },
	{ "broker.partitions", CFG_INT, OFF(broker_partitions), 1, 1024, "16", NULL, 0,
	  "Partitions per topic on the embedded broker. It keeps at most 5 MiB (or 100,000 "
	  "messages) per partition, so the partition count sets how much a stage may have in "
	  "flight before it pauses on its reader's lag (and how much memory the broker may hold: "
	  "up to 5 MiB x partitions per topic)." },
	{ "broker.count", CFG_INT, OFF(broker_count), 1, 16, "1", NULL, 0,
	  "Number of brokers in the embedded cluster." },

	{ "features.group_id", CFG_STR, OFF(features_group), 0, 0, "botwatch-features", NULL, 0,
	  "Consumer group of the features stage." },
	{ "features.instance_id", CFG_STR, OFF(features_instance), 0, 0, "", NULL, 0,
	  "This features worker's name within features.group_id: when set (on a real cluster, "
	  "joined to the group), its output and offsets are committed in Kafka transactions with "
	  "transactional.id <group>.<instance>, so another process started with the same name "
	  "fences this one. Empty: no transactions (at-least-once outputs, idempotent state)." },
	{ "features.state_dir", CFG_STR, OFF(features_state), 0, 0, "var/state", NULL, 0,
	  "LMDB directory holding per-account feature state and consumer offsets." },
	{ "features.topic", CFG_STR, OFF(features_topic), 0, 0, "features", NULL, 0,
	  "Kafka topic carrying feature updates to the scoring stage." },
	{ "features.lateness_ms", CFG_INT, OFF(features_lateness_ms), 0, I64MAX, "86400000", NULL, 0,
	  "Reserved; the feature state does not use it: a post is accepted in any order unless it "
	  "is older than the newest 10,000 posts of its account (then it is counted as late and "
	  "ignored; docs/STATE.md)." },
	{ "features.batch", CFG_INT, OFF(features_batch), 1, 10000000, "1000000", NULL, 0,
	  "Features stage: most messages folded before the batch is cut (its feature updates "
	  "produced). Behind a backlog, cuts otherwise come every features.catchup_ms; a small "
	  "value sends a busy account's update once per this many messages." },
	{ "features.batch_ms", CFG_INT, OFF(features_batch_ms), 1, 3600000, "500", NULL, 0,
	  "Features stage: longest a batch stays open: every account changed in it gets one "
	  "feature update at the cut. Keep it well below score.max_staleness_ms." },
	{ "features.catchup_ms", CFG_INT, OFF(features_catchup_ms), 1, 3600000, "5000", NULL, 0,
	  "Features stage: while input keeps arriving without a pause (a backlog: replay, restart, "
	  "burst), a batch stays open up to this long instead of features.batch_ms, so that a busy "
	  "account is extracted and scored once per catch-up interval rather than every batch." },
	{ "features.commit_ms", CFG_INT, OFF(features_commit_ms), 1, 3600000, "2000", NULL, 0,
	  "Features stage: time between two checkpoints (group commits): every account state "
	  "changed since the last one and the next offsets written in one LMDB transaction, one "
	  "fsync. Also taken when the input goes quiet, at revocation and at shutdown. A crash "
	  "folds again (idempotently) what came after the last checkpoint." },
	{ "features.cache_accounts", CFG_INT, OFF(features_cache_accounts), 16, 100000000, "20000",
	  NULL, 0,
	  "Features stage: most account states kept in memory between batches (least recently used "
	  "ones are evicted at a checkpoint and read back from features.state_dir on their next "
	  "post). A checkpoint is taken early when this many states changed, and a cut when this "
	  "many accounts await their update (behind a backlog, a larger cache sends busy accounts "
	  "fewer times)." },
	{ "features.lag_groups", CFG_STR, OFF(features_lag_groups), 0, 0, "botwatch-score", NULL, 0,
	  "Consumer groups (comma-separated) whose lag on features.topic throttles the features "
	  "stage: it stops folding posts while one lags more than features.max_update_lag updates "
	  "per partition, and stops with an error when updates were pruned before a group read "
	  "them. A group with no committed offset counts as lagging. Empty = off (e.g. no scoring "
	  "stage runs)." },
	{ "features.max_update_lag", CFG_INT, OFF(features_max_update_lag), 0, I64MAX, "1000", NULL, 0,
	  "Backpressure limit for features.lag_groups, in feature updates per partition (0 = no "
	  "pausing; loss is still detected). The embedded broker keeps 1,500-3,500 lz4-compressed "
	  "updates per partition (5 MiB); once a partition was pruned the limit is also capped at "
	  "half of what it keeps, in `botwatch run` and `replay --via-kafka` at 40 % of 5 MiB "
	  "over the updates' size from the first batch on, and a batch is cut early when its "
	  "updates could overrun the limit (limit x partitions / 2 changed accounts). Raise it "
	  "on a real cluster." },
	{ "features.map_size_mb", CFG_INT, OFF(features_map_size_mb), 1, 1048576, "4096", NULL, 0,
	  "LMDB map size (the state store's maximum size) of features.state_dir, in MiB." },

	{ "score.model", CFG_STR, OFF(score_model), 0, 0, "models/default.model", NULL, 0,
	  "Model file used by `score`, `replay`, `eval`, `run` and `serve`. A relative path that "
	  "does not exist from the working directory is looked up beside the executable's build "
	  "tree (`<dir of botwatch>/../`) and then under its install prefix "
	  "(`<dir of botwatch>/../share/botwatch/`), so the default model is found wherever "
	  "botwatch runs from; when none exists the error names every place looked in." },
	{ "score.topic", CFG_STR, OFF(score_topic), 0, 0, "scores", NULL, 0,
	  "Compacted Kafka topic of score records (key = account id)." },
	{ "score.debounce_ms", CFG_INT, OFF(score_debounce_ms), 0, I64MAX, "60000", NULL, 0,
	  "Scoring stage: an account is rescored sooner than score.max_staleness_ms / 2 of wall "
	  "clock only once this much event time has passed since its last score (its feature "
	  "updates in between are held back, the latest replacing earlier ones)." },
	{ "score.max_staleness_ms", CFG_INT, OFF(score_max_staleness_ms), 100, 86400000, "2000",
	  NULL, 0,
	  "Scoring stage: freshness bound in wall-clock time. A pending update waits at most half "
	  "of it, whatever score.debounce_ms says, so that under steady load an account's stored "
	  "score lags its latest post by less than this (features.batch_ms, delivery and "
	  "score.batch_ms use the rest)." },
	{ "score.coalesce_ms", CFG_INT, OFF(score_coalesce_ms), 0, 86400000, "250", NULL, 0,
	  "Scoring stage: wall-clock time an account's pending update waits for a newer one "
	  "once score.debounce_ms of event time has passed since its last score (an account "
	  "never scored by the process is scored at once)." },
	{ "score.batch", CFG_INT, OFF(score_batch), 1, 1000000, "256", NULL, 0,
	  "Scoring stage: most accounts scored per batch (one store transaction, one offset commit)." },
	{ "score.group_id", CFG_STR, OFF(score_group), 0, 0, "botwatch-score", NULL, 0,
	  "Consumer group of the scoring stage on features.topic." },
	{ "score.instance_id", CFG_STR, OFF(score_instance), 0, 0, "", NULL, 0,
	  "This scoring worker's name within score.group_id: when set (joined to the group), "
	  "records and offsets are committed in Kafka transactions with transactional.id "
	  "<group>.<instance> (see features.instance_id). Empty: no transactions." },
	{ "score.batch_ms", CFG_INT, OFF(score_batch_ms), 1, 3600000, "200", NULL, 0,
	  "Scoring stage: longest a due account waits for its batch to fill before the batch is "
	  "scored, stored and committed (a batch is scored at once when no update is waiting)." },
	{ "score.idle_flush_ms", CFG_INT, OFF(score_idle_flush_ms), 0, 86400000, "1000", NULL, 0,
	  "Scoring stage: once no feature update arrived for this long (wall clock), every account "
	  "still held back by the debounce is scored; 0 = only event time and shutdown release them." },
	{ "score.max_pending", CFG_INT, OFF(score_max_pending), 1, 100000000, "100000", NULL, 0,
	  "Scoring stage: most accounts held back by the debounce; past it all of them are scored." },
	{ "score.max_holdback", CFG_INT, OFF(score_max_holdback), 0, I64MAX, "200", NULL, 0,
	  "Scoring stage: an update held back by the debounce is scored anyway once this many newer "
	  "updates of its partition were consumed (offsets are committed only up to the oldest "
	  "held-back update, so this bounds the group's lag; keep it below features.max_update_lag)." },
	{ "score.create_topic", CFG_BOOL, OFF(score_create_topic), 0, 0, "true", NULL, 0,
	  "Scoring stage: create score.topic with cleanup.policy=compact through the admin API when "
	  "it does not exist (the embedded broker has no admin API and no compaction)." },
	{ "score.cap_prior", CFG_DBL, OFF(score_cap_prior), 1e-6, 0.999999, "0.15", NULL, 0,
	  "Prior share of bots used for CAP = P(bot | score >= s)." },

	{ "store.path", CFG_STR, OFF(store_path), 0, 0, "var/store", NULL, 0,
	  "LMDB directory of score records served by the API." },
	{ "store.map_size_mb", CFG_INT, OFF(store_map_size_mb), 1, 1048576, "8192", NULL, 0,
	  "LMDB map size (the store's maximum size) in MiB." },
	{ "api.listen", CFG_STR, OFF(api_listen), 0, 0, "127.0.0.1:8080", NULL, 0,
	  "HOST:PORT the lookup API listens on." },
	{ "api.token", CFG_STR, OFF(api_token), 0, 0, "", NULL, CFG_SECRET,
	  "Bearer token required by the API; empty = open." },
	{ "api.threads", CFG_INT, OFF(api_threads), 1, 256, "2", NULL, 0,
	  "API worker threads." },
	{ "api.max_body_bytes", CFG_INT, OFF(api_max_body_bytes), 256, 1073741824, "4194304", NULL, 0,
	  "Largest request body; larger gets 413. A Botometer check_account request (200 "
	  "timeline tweets + 100 mentions) is about 1.1 MB." },
	{ "api.connection_limit", CFG_INT, OFF(api_conn_limit), 1, 1000000, "1024", NULL, 0,
	  "Concurrent connections accepted." },
	{ "api.timeout_s", CFG_INT, OFF(api_timeout_s), 1, 3600, "30", NULL, 0,
	  "Idle timeout: a connection with no traffic for this long is closed." },
	{ "api.request_timeout_s", CFG_INT, OFF(api_request_timeout_s), 1, 3600, "10", NULL, 0,
	  "Whole-request deadline: a connection that has not delivered a complete request "
	  "(headers and body) this long after it opened, or after its previous response, is "
	  "closed however steadily it sends (slowloris)." },
	{ "api.max_batch", CFG_INT, OFF(api_max_batch), 1, 100000, "1000", NULL, 0,
	  "Most ids in one POST /v1/accounts:lookup." },
	{ "serve.follow", CFG_BOOL, OFF(serve_follow), 0, 0, "false", NULL, 0,
	  "`botwatch serve` keeps its store from the compacted score.topic on "
	  "kafka.bootstrap.servers (an API replica; creates store.path; no feature vectors, so "
	  "explanations answer from a scoring worker's store)." },
	{ "serve.follow_group", CFG_STR, OFF(serve_follow_group), 0, 0, "botwatch-serve", NULL, 0,
	  "Group a following serve commits its positions under, only to show its lag (it resumes "
	  "from the positions kept in its store)." },
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

const struct cfg_entry *cfg_table(size_t *n)
{
	*n = TABLE_LEN;
	return table;
}

static const struct cfg_entry *find_entry(const char *key)
{
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (strcmp(table[i].name, key) == 0)
			return &table[i];
	return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0)
			return *out = true, true;
		if (strcmp(v, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static bool enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/* Store text `v` into the field of `e`; validates type and bounds. */
static int set_entry(struct bw_config *cfg, const struct cfg_entry *e, const char *v,
		     const char *origin, char *errstr, size_t errlen)
{
	char *field = (char *)cfg + e->offset;
	char *end;

	switch (e->type) {
	case CFG_ENUM:
		if (!enum_has(e->choices, v))
			return bw_seterr(errstr, errlen, BW_EINVAL, "%s: %s: '%s' is not one of %s",
					 origin, e->name, v, e->choices);
		/* fall through */
	case CFG_STR: {
		char *dup = strdup(v);
		if (!dup)
			return bw_seterr(errstr, errlen, BW_ENOMEM, "%s: out of memory", origin);
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	case CFG_INT: {
		long long x;
		errno = 0;
		x = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			return bw_seterr(errstr, errlen, BW_EINVAL, "%s: %s: '%s' is not an integer",
					 origin, e->name, v);
		if ((double)x < e->min || (double)x > e->max)
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "%s: %s: %lld is out of range [%.0f, %.0f]", origin, e->name,
					 x, e->min, e->max);
		*(int64_t *)field = x;
		return 0;
	}
	case CFG_DBL: {
		double x;
		errno = 0;
		x = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(x))
			return bw_seterr(errstr, errlen, BW_EINVAL, "%s: %s: '%s' is not a number",
					 origin, e->name, v);
		if (x < e->min || x > e->max)
			return bw_seterr(errstr, errlen, BW_EINVAL, "%s: %s: %g is out of range [%g, %g]",
					 origin, e->name, x, e->min, e->max);
		*(double *)field = x;
		return 0;
	}
	case CFG_BOOL: {
		bool b;
		if (!parse_bool(v, &b))
			return bw_seterr(errstr, errlen, BW_EINVAL, "%s: %s: '%s' is not a boolean",
					 origin, e->name, v);
		*(bool *)field = b;
		return 0;
	}
	}
	return BW_EINVAL;
}

/* Record a librdkafka pass-through pair after librdkafka accepted it. */
static int set_kafka(struct bw_config *cfg, const char *prop, const char *v, const char *origin,
		     char *errstr, size_t errlen)
{
	char kerr[512];
	rd_kafka_conf_t *probe = rd_kafka_conf_new();
	rd_kafka_conf_res_t res = rd_kafka_conf_set(probe, prop, v, kerr, sizeof(kerr));

	rd_kafka_conf_destroy(probe);
	if (res != RD_KAFKA_CONF_OK)
		return bw_seterr(errstr, errlen, BW_EKAFKA, "%s: kafka.%s: %s", origin, prop, kerr);

	for (size_t i = 0; i < cfg->n_kafka; i++) {
		if (strcmp(cfg->kafka_keys[i], prop) == 0) {
			char *dup = strdup(v);
			if (!dup)
				return BW_ENOMEM;
			free(cfg->kafka_values[i]);
			cfg->kafka_values[i] = dup;
			return 0;
		}
	}
	char **k = realloc(cfg->kafka_keys, (cfg->n_kafka + 1) * sizeof(*k));
	if (!k)
		return BW_ENOMEM;
	cfg->kafka_keys = k;
	char **vv = realloc(cfg->kafka_values, (cfg->n_kafka + 1) * sizeof(*vv));
	if (!vv)
		return BW_ENOMEM;
	cfg->kafka_values = vv;
	k[cfg->n_kafka] = strdup(prop);
	vv[cfg->n_kafka] = strdup(v);
	if (!k[cfg->n_kafka] || !vv[cfg->n_kafka]) {
		free(k[cfg->n_kafka]);
		free(vv[cfg->n_kafka]);
		return BW_ENOMEM;
	}
	cfg->n_kafka++;
	return 0;
}

int cfg_set(struct bw_config *cfg, const char *key, const char *value, const char *origin,
	    char *errstr, size_t errlen)
{
	const struct cfg_entry *e = find_entry(key);

	if (e)
		return set_entry(cfg, e, value, origin, errstr, errlen);
	if (strncmp(key, "kafka.", 6) == 0 && key[6])
		return set_kafka(cfg, key + 6, value, origin, errstr, errlen);
	return bw_seterr(errstr, errlen, BW_EINVAL, "%s: unknown key '%s'", origin, key);
}

struct bw_config *cfg_new(void)
{
	struct bw_config *cfg = calloc(1, sizeof(*cfg));
	char err[256];

	if (!cfg)
		return NULL;
	for (size_t i = 0; i < TABLE_LEN; i++) {
		if (set_entry(cfg, &table[i], table[i].def, "default", err, sizeof(err))) {
			cfg_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

void cfg_free(struct bw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (table[i].type == CFG_STR || table[i].type == CFG_ENUM)
			free(*(char **)((char *)cfg + table[i].offset));
	for (size_t i = 0; i < cfg->n_kafka; i++) {
		free(cfg->kafka_keys[i]);
		free(cfg->kafka_values[i]);
	}
	free(cfg->kafka_keys);
	free(cfg->kafka_values);
	free(cfg);
}

/* inih callback state: the first error wins; inih returns its line number. */
struct load_ctx {
	struct bw_config *cfg;
	const char *path;
	int rc;          /* first error code */
	char msg[512];   /* first error message (without file:line) */
};

/* The line reader behind inih: one call per line of the file, so inih's line
 * numbers stay right (with fgets a line longer than inih's buffer was split and
 * counted twice), and a line inih cannot hold whole or one holding a NUL byte
 * (which would silently end the value) stops the parse with its line named. */
struct line_reader {
	FILE *f;         /* the file (borrowed) */
	char *buf;       /* getline's buffer (owned) */
	size_t cap;      /* its size */
	int line;        /* lines read so far */
	int rc;          /* 0, or why reading stopped early */
	char msg[160];   /* then the message (without file:line) */
};

static char *read_line(char *str, int num, void *stream)
{
	struct line_reader *r = stream;
	ssize_t n;

	if (r->rc)
		return NULL;
	errno = 0;
	if ((n = getline(&r->buf, &r->cap, r->f)) < 0) {
		if (ferror(r->f)) {
			r->rc = BW_EIO;
			r->line++;
			snprintf(r->msg, sizeof(r->msg), ": cannot read: %s",
				 strerror(errno ? errno : EIO));
		}
		return NULL;
	}
	r->line++;
	while (n && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r'))
		n--;
	if (memchr(r->buf, '\0', (size_t)n)) {
		r->rc = BW_EPARSE;
		snprintf(r->msg, sizeof(r->msg), ": a NUL byte in the line");
	} else if (n >= num) {
		r->rc = BW_EPARSE;
		snprintf(r->msg, sizeof(r->msg), ": line of %zd bytes; at most %d are read", n,
			 num - 1);
	}
	if (r->rc)
		return NULL;
	memcpy(str, r->buf, (size_t)n);
	str[n] = '\0';
	return str;
}

static int cfg_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	char key[256];
	int rc;

	if (section && *section)
		snprintf(key, sizeof(key), "%s.%s", section, name);
	else
		snprintf(key, sizeof(key), "%s", name);
	rc = cfg_set(ctx->cfg, key, value, "", ctx->msg[0] ? NULL : ctx->msg,
		     ctx->msg[0] ? 0 : sizeof(ctx->msg));
	if (rc && !ctx->rc)
		ctx->rc = rc;
	return rc == 0;
}

int cfg_load_stream(struct bw_config *cfg, FILE *f, const char *name, char *errstr,
		    size_t errlen)
{
	struct load_ctx ctx = { .cfg = cfg, .path = name };
	struct line_reader r = { .f = f };
	int line = ini_parse_stream(read_line, &r, cfg_ini_line, &ctx);

	free(r.buf);
	if (r.rc && (line == 0 || line >= r.line)) /* the reader stopped first */
		return bw_seterr(errstr, errlen, r.rc, "%s:%d%s", name, r.line, r.msg);
	if (line == 0)
		return 0;
	if (line < 0)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: cannot read", name);
	/* ctx.msg starts with ": " because the origin passed to cfg_set was empty */
	if (ctx.msg[0])
		return bw_seterr(errstr, errlen, ctx.rc ? ctx.rc : BW_EPARSE, "%s:%d%s", name, line,
				 ctx.msg);
	return bw_seterr(errstr, errlen, BW_EPARSE, "%s:%d: expected `key = value`", name, line);
}

int cfg_load_file(struct bw_config *cfg, const char *path, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	int rc;

	if (!f)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	/* a directory opens for reading on Linux and then reads as empty */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: is a directory, not a config file",
				 path);
	}
	rc = cfg_load_stream(cfg, f, path, errstr, errlen);
	fclose(f);
	return rc;
}

/* BOTWATCH_API_LISTEN for api.listen */
static void env_name(const char *key, char *buf, size_t len)
{
	size_t p = (size_t)snprintf(buf, len, "BOTWATCH_");
	for (; *key && p + 1 < len; key++)
		buf[p++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
	buf[p] = '\0';
}

/* BOTWATCH_* variables that are not settings but are read by botwatch or its
 * scripts (the config file; the data directory and demo output of tools/ and
 * tests/). */
static const char *const env_not_settings[] = { "BOTWATCH_CONFIG", "BOTWATCH_DATA",
						"BOTWATCH_DEMO_OUT" };

/* An error naming the first BOTWATCH_* variable that is no setting (a typo
 * must not silently leave the default in force, as with --set). */
static int check_env_names(char *errstr, size_t errlen)
{
	extern char **environ;
	char name[128];

	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
		bool known = false;
		if (strncmp(*e, "BOTWATCH_", 9) != 0)
			continue;
		for (size_t i = 0; !known && i < sizeof(env_not_settings) / sizeof(*env_not_settings); i++)
			known = strlen(env_not_settings[i]) == n && !strncmp(*e, env_not_settings[i], n);
		for (size_t i = 0; !known && i < TABLE_LEN; i++) {
			env_name(table[i].name, name, sizeof(name));
			known = strlen(name) == n && !strncmp(*e, name, n);
		}
		if (!known)
			return bw_seterr(errstr, errlen, BW_EINVAL,
					 "environment %.*s: unknown variable (no setting is named so; "
					 "see docs/CONFIG.md; kafka.* pass-through keys are set in the "
					 "file or with --set)",
					 (int)(n > 100 ? 100 : n), *e);
	}
	return 0;
}

int cfg_load_env(struct bw_config *cfg, char *errstr, size_t errlen)
{
	char name[128], origin[160];
	int rc0;

	if ((rc0 = check_env_names(errstr, errlen)))
		return rc0;

	for (size_t i = 0; i < TABLE_LEN; i++) {
		const char *v;
		int rc;
		env_name(table[i].name, name, sizeof(name));
		v = getenv(name);
		if (!v)
			continue;
		snprintf(origin, sizeof(origin), "environment %s", name);
		rc = set_entry(cfg, &table[i], v, origin, errstr, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int cfg_from_cli(struct bw_config **out, int *argc, char **argv, char *errstr, size_t errlen)
{
	const char *path = getenv("BOTWATCH_CONFIG");
	struct bw_config *cfg = cfg_new();
	int rc, w = 1;

	*out = NULL;
	if (!cfg)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	/* pass 1: find the config file */
	for (int i = 1; i < *argc; i++) {
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < *argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	if (path && *path && (rc = cfg_load_file(cfg, path, errstr, errlen)))
		goto out_free;
	if ((rc = cfg_load_env(cfg, errstr, errlen)))
		goto out_free;
	/* pass 2: apply --set in order and compact argv */
	for (int i = 1; i < *argc; i++) {
		const char *kv = NULL;
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < *argc) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--config=", 9) == 0)
			continue;
		if (strcmp(argv[i], "--set") == 0) {
			if (i + 1 >= *argc) {
				rc = bw_seterr(errstr, errlen, BW_EUSAGE, "--set needs key=value");
				goto out_free;
			}
			kv = argv[++i];
		} else if (strncmp(argv[i], "--set=", 6) == 0) {
			kv = argv[i] + 6;
		}
		if (!kv) {
			argv[w++] = argv[i];
			continue;
		}
		const char *eq = strchr(kv, '=');
		char key[256];
		if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
			rc = bw_seterr(errstr, errlen, BW_EUSAGE, "--set %s: expected key=value", kv);
			goto out_free;
		}
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		if ((rc = cfg_set(cfg, key, eq + 1, "--set", errstr, errlen)))
			goto out_free;
	}
	*argc = w;
	argv[w] = NULL;
	*out = cfg;
	return 0;

out_free:
	cfg_free(cfg);
	return rc;
}

int cfg_cli_begin(const char *name, void (*usage)(FILE *out), int *argc, char **argv,
		  struct bw_config **cfg)
{
	char err[1024];

	*cfg = NULL;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	}
	if (cfg_from_cli(cfg, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "botwatch %s: %s\n", name, err);
		return 2;
	}
	return -1;
}

int cfg_flag_apply(struct bw_config *cfg, const struct cfg_flag *flags, size_t n, int argc,
		   char **argv, int *i, char *errstr, size_t errlen)
{
	const char *arg = argv[*i];
	int rc;

	for (size_t k = 0; k < n; k++) {
		if (strcmp(arg, flags[k].flag) != 0)
			continue;
		if (*i + 1 >= argc)
			return bw_seterr(errstr, errlen, BW_EUSAGE, "%s needs a value", arg);
		if ((rc = cfg_set(cfg, flags[k].key, argv[*i + 1], arg, errstr, errlen)))
			return rc;
		*i += 1;
		return 1;
	}
	return 0;
}

int cfg_resolve_model(struct bw_config *cfg, const char *model, char *errstr, size_t errlen)
{
	char found[4096];
	int rc;

	if (model && (rc = cfg_set(cfg, "score.model", model, "--model", errstr, errlen)))
		return rc;
	if (!cfg->score_model[0])
		return 0; /* no model: serve runs without one, the loaders say so */
	rc = bw_fs_find_data("score.model", cfg->score_model, found, sizeof(found), errstr, errlen);
	if (rc || strcmp(found, cfg->score_model) == 0)
		return rc;
	return cfg_set(cfg, "score.model", found, "score.model", errstr, errlen);
}

int cfg_get_text(const struct bw_config *cfg, const char *key, char *buf, size_t len)
{
	const struct cfg_entry *e = find_entry(key);
	const char *field;

	if (!e)
		return BW_ENOENT;
	field = (const char *)cfg + e->offset;
	switch (e->type) {
	case CFG_STR:
	case CFG_ENUM:
		snprintf(buf, len, "%s", *(char *const *)field);
		break;
	case CFG_INT:
		snprintf(buf, len, "%lld", (long long)*(const int64_t *)field);
		break;
	case CFG_DBL:
		snprintf(buf, len, "%.17g", *(const double *)field);
		break;
	case CFG_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
		break;
	}
	return 0;
}

/* The value to show for `name` in a dump: secret settings (flagged, or named
 * like one: *password*, *secret*, *token*, ...) as "********", URLs with their
 * credentials redacted (bw_redact.h). */
static void dump_line(FILE *out, const char *prefix, const char *name, const char *v,
		      bool secret)
{
	char shown[8192];

	if ((secret || bw_redact_is_secret_name(name, strlen(name))) && v[0])
		fprintf(out, "%s%s = ********\n", prefix, name);
	else
		fprintf(out, "%s%s = %s\n", prefix, name, bw_redact_url(v, shown, sizeof(shown)));
}

void cfg_dump(const struct bw_config *cfg, FILE *out)
{
	char v[4096];

	for (size_t i = 0; i < TABLE_LEN; i++) {
		cfg_get_text(cfg, table[i].name, v, sizeof(v));
		dump_line(out, "", table[i].name, v, table[i].flags & CFG_SECRET);
	}
	for (size_t i = 0; i < cfg->n_kafka; i++)
		dump_line(out, "kafka.", cfg->kafka_keys[i], cfg->kafka_values[i], false);
}

static const char *type_name(const struct cfg_entry *e)
{
	switch (e->type) {
	case CFG_STR: return "string";
	case CFG_INT: return "integer";
	case CFG_DBL: return "number";
	case CFG_BOOL: return "boolean";
	case CFG_ENUM: return "enum";
	}
	return "?";
}

/* "a|b" as "`a`, `b`" (a bare '|' would split a Markdown table cell). */
static void md_choices(const char *choices, char *buf, size_t len)
{
	size_t p = 0;

	buf[0] = '\0';
	for (const char *c = choices; *c && p + 8 < len; c++) {
		if (c == choices || c[-1] == '|')
			buf[p++] = '`';
		if (*c == '|') {
			buf[p++] = '`';
			buf[p++] = ',';
			buf[p++] = ' ';
			continue;
		}
		buf[p++] = *c;
	}
	buf[p++] = '`';
	buf[p] = '\0';
}

void cfg_write_markdown(FILE *out)
{
	char env[128];

	fprintf(out, "# Configuration reference\n\n"
		     "Generated by `botwatch config --markdown` from the table in `config/cfg.c`; "
		     "do not edit by hand (`make docs` regenerates it, and a test fails when it is stale).\n\n"
		     "Settings come from, in rising precedence: the defaults below, the file named by "
		     "`--config FILE` (or `$BOTWATCH_CONFIG`), environment variables, then "
		     "`--set key=value` and command-specific flags. The file holds `key = value` lines; "
		     "`#` and `;` start comments; a line holds at most 199 bytes — a longer one, or one "
		     "holding a NUL byte, is an error naming its line, as is a directory given as the "
		     "file. Errors name the file and line. Every `BOTWATCH_*` environment variable "
		     "must name a setting (the column below; `BOTWATCH_CONFIG` names the file, and "
		     "the scripts' `BOTWATCH_DATA` and `BOTWATCH_DEMO_OUT` are allowed): an unknown "
		     "one is an error, as an unknown `--set` key is. "
		     "Any other `kafka.*` key passes straight to librdkafka (e.g. `kafka.security.protocol`), "
		     "validated by librdkafka when the file is loaded. Secrets are masked in "
		     "`botwatch config --dump`: the settings marked (secret) below, any setting "
		     "(`kafka.*` ones included) whose name holds a secret word — `password`, `passwd`, "
		     "`secret`, `token`, `credential`, `signature`, `apikey`, `private`, `key.pem`, "
		     "`auth` (so `kafka.sasl.password`, `kafka.ssl.key.password`, `kafka.ssl.key.pem`, "
		     "`kafka.sasl.oauthbearer.client.secret`) — and the credentials inside URL "
		     "values (`user:pass@`, `access_token=`, see docs/INGEST.md).\n\n"
		     "| key | type | default | range / choices | environment | description |\n"
		     "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct cfg_entry *e = &table[i];
		char range[128] = "";
		env_name(e->name, env, sizeof(env));
		if (e->type == CFG_INT)
			snprintf(range, sizeof(range), "%.0f – %.0f", e->min, e->max);
		else if (e->type == CFG_DBL)
			snprintf(range, sizeof(range), "%g – %g", e->min, e->max);
		else if (e->type == CFG_ENUM)
			md_choices(e->choices, range, sizeof(range));
		fprintf(out, "| `%s` | %s%s | `%s` | %s | `%s` | %s |\n", e->name, type_name(e),
			(e->flags & CFG_SECRET) ? " (secret)" : "", e->def, range, env, e->doc);
	}
}

/* Write `text` as "# "-comment lines of at most ~78 columns (the file parser
 * reads lines of at most 199 bytes). */
static void comment_wrapped(FILE *out, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strlen(p), cut = n;
		if (n > 76) {
			cut = 76;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = 76;
		}
		fprintf(out, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

void cfg_write_template(FILE *out)
{
	const char *section = "";

	fprintf(out, "# botwatch configuration: every setting with its default, commented out.\n"
		     "# Generated by `botwatch config --template` from the table in config/cfg.c;\n"
		     "# docs/CONFIG.md explains each. Uncomment and edit what you need, then run\n"
		     "# botwatch with --config FILE (or BOTWATCH_CONFIG=FILE). Any other kafka.*\n"
		     "# key passes to librdkafka.\n");
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct cfg_entry *e = &table[i];
		size_t dot = strcspn(e->name, ".");
		if (strncmp(section, e->name, dot) != 0 || section[dot] != '.') {
			fprintf(out, "\n# --- %.*s\n", (int)dot, e->name);
			section = e->name;
		}
		fputc('\n', out);
		comment_wrapped(out, e->doc);
		fprintf(out, "# %s = %s\n", e->name, e->def);
	}
}
