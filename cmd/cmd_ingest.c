/*
 * cmd_ingest.c — `botwatch ingest`: read a live stream, a file or stdin,
 * decode every unit and produce normalised posts to Kafka (`posts`), bad
 * input to the dead-letter topic (`posts.dlq`) with its reason.
 *
 * A live HTTP stream never ends by itself: a clean close is a drop to
 * reconnect from (stream.h's ladder). Files and stdin end at EOF.
 * SIGINT/SIGTERM stop reading; then the producer is flushed and the exit
 * status is 0 only if every message was delivered.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bsky_enrich.h"
#include "bw_err.h"
#include "bw_log.h"
#include "bw_redact.h"
#include "bw_time.h"
#include "cfg.h"
#include "commands.h"
#include "decode.h"
#include "ingest_metrics.h"
#include "ingest_job.h"
#include "kafka_sink.h"
#include "stream.h"

#define FLUSH_TIMEOUT_MS 30000
#define JS_PROFILE_EVERY_MS 30000 /* how often the Bluesky profile file is rewritten */

/* Set by the signal handler, read by the stage: a lock-free C11 atomic is both
   async-signal-safe and race-free across threads. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free");
static atomic_int ingest_stop;

static void on_signal(int sig)
{
	(void)sig;
	ingest_stop = 1;
}

/* Everything one ingest run shares between its callbacks. */
struct ingest_ctx {
	const struct bw_config *cfg; /* borrowed */
	atomic_int *stop; /* borrowed stop flag */
	struct ingest_sink *sink;    /* producer */
	struct bw_decoder *dec;      /* decoder */
	struct ingest_enrich *enrich;/* Bluesky AppView enricher, or NULL */
	const char *source;          /* label for DLQ records and logs (URL with its
				      * credentials redacted, path or "-") */
	char source_buf[8192];       /* storage for the redacted source */
	uint64_t unit_no;            /* units seen on the stream */
	bool js;                     /* a Jetstream source: track the cursor */
	int64_t js_seen_us;          /* time_us of the latest event read (-1 = none yet) */
	int64_t js_saved_us;         /* the value last written to the cursor file */
	int64_t js_next_save_ms;     /* when the cursor file is next rewritten (monotonic) */
	int64_t js_next_prof_ms;     /* when the profile file may next be rewritten */
	char js_prof_path[4096];     /* <cursor file>.profiles: the decoder's Bluesky profiles */
	int fatal;                   /* first fatal error (sink), 0 if none */
	char err[512];               /* its message */
};

static int on_post(const struct bw_post *post, void *opaque)
{
	struct ingest_ctx *c = opaque;
	int rc;

	if (*c->stop)
		return BW_ESTOP;
	rc = ingest_sink_post(c->sink, post, c->err, sizeof(c->err));
	if (rc) {
		c->fatal = rc;
		return rc;
	}
	if (c->enrich && post->platform && strcmp(post->platform, "bluesky") == 0 &&
	    post->kind != BW_POST_DELETE)
		ingest_enrich_want(c->enrich, post->author.id);
	ingest_metrics_post();
	if (ingest_sink_stats(c->sink)->produced % 4096 == 0)
		ingest_metrics_sink(ingest_sink_stats(c->sink));
	return 0;
}

static void on_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	struct ingest_ctx *c = opaque;
	json_t *j = bw_dlq_to_json(rec);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	ingest_metrics_dlq(bw_dlq_reason_name(rec->reason));
	if (!text) {
		c->fatal = BW_ENOMEM;
		snprintf(c->err, sizeof(c->err), "out of memory building a DLQ record");
		return;
	}
	rc = ingest_sink_dlq(c->sink, rec->source, text, strlen(text), c->err, sizeof(c->err));
	free(text);
	if (rc && !c->fatal)
		c->fatal = rc;
}

/* Replace bytes that are not printable ASCII so an excerpt is valid UTF-8. */
static void ascii_excerpt(const char *p, size_t n, char *out, size_t cap)
{
	size_t k = n < cap - 1 ? n : cap - 1;

	for (size_t i = 0; i < k; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	out[k] = '\0';
}

/* A framing-level problem (over-long unit, broken length line) goes to the DLQ. */
static void frame_dlq(struct ingest_ctx *c, const struct ingest_unit *u, enum bw_dlq_reason reason)
{
	char excerpt[INGEST_EXCERPT_BYTES + 1], detail[256];
	struct bw_dlq_rec rec = { reason, detail, c->source, c->unit_no, excerpt };

	ascii_excerpt(u->data, u->len, excerpt, sizeof(excerpt));
	snprintf(detail, sizeof(detail), "%s (%llu bytes)", u->detail ? u->detail : "bad frame",
		 (unsigned long long)u->size);
	on_dlq(&rec, c);
}

/* SSE events whose data is a Mastodon status. */
static bool sse_is_status(const char *event)
{
	return strcmp(event, "update") == 0 || strcmp(event, "status.update") == 0 ||
	       strcmp(event, "message") == 0;
}

/*
 * Rewrite the Jetstream cursor file (when one is configured) with the latest
 * event read, once every ingest.jetstream.cursor_every_ms or when `force`d:
 * only after a flush of the producer left nothing undelivered, so a restart
 * never resumes past a post Kafka has not acknowledged.
 */
static void js_cursor_tick(struct ingest_ctx *c, bool force)
{
	const struct bw_config *cfg = c->cfg;
	uint64_t undelivered = 0;
	char err[512];
	int64_t now = bw_time_mono_ms();

	if (!cfg->js_cursor_file[0] || c->js_seen_us < 0 || (!force && now < c->js_next_save_ms))
		return;
	c->js_next_save_ms = now + cfg->js_cursor_every_ms;
	if (!force && c->js_seen_us == c->js_saved_us)
		return;
	if (ingest_sink_flush(c->sink, force ? FLUSH_TIMEOUT_MS : 5000, &undelivered, err,
			      sizeof(err)) || undelivered) {
		BW_WARN("Jetstream cursor not saved: %llu message(s) undelivered",
			(unsigned long long)undelivered);
		return;
	}
	if (force || now >= c->js_next_prof_ms) { /* the profiles: at most every 30 s */
		bool written;
		c->js_next_prof_ms = now + JS_PROFILE_EVERY_MS;
		if (ingest_decoder_profiles_save(c->dec, c->js_prof_path, &written, err, sizeof(err)))
			BW_WARN("Bluesky profiles not saved: %s", err);
	}
	if (c->js_seen_us == c->js_saved_us)
		return;
	if (ingest_js_cursor_save(cfg->js_cursor_file, c->js_seen_us, err, sizeof(err))) {
		BW_WARN("Jetstream cursor not saved: %s", err);
		return;
	}
	c->js_saved_us = c->js_seen_us;
}

static int enrich_one(const struct ingest_bsky_profile *p, void *opaque)
{
	struct ingest_ctx *c = opaque;
	int rc = ingest_decoder_bsky_profile(c->dec, p);

	return c->fatal ? c->fatal : rc;
}

/* Feed the AppView profiles received so far into the decoder (which emits
 * a profile snapshot for each). */
static int enrich_apply(struct ingest_ctx *c)
{
	return c->enrich ? ingest_enrich_take(c->enrich, enrich_one, c) : 0;
}

/* At the end of the input: wait (up to 60 s, or a stop) for the enricher's
 * queue to drain, feeding its answers in; then log what it did. */
static void enrich_finish(struct ingest_ctx *c)
{
	struct ingest_enrich_stats st;
	int64_t until = bw_time_mono_ms() + 60000;

	if (!c->enrich)
		return;
	while (!*c->stop && !c->fatal && bw_time_mono_ms() < until &&
	       !ingest_enrich_idle(c->enrich, 50))
		enrich_apply(c);
	enrich_apply(c);
	ingest_enrich_stats(c->enrich, &st);
	BW_INFO("AppView enrichment: %llu call(s), %llu profile(s), %llu failure(s), %llu "
		"account(s) skipped (queue full), %llu still queued",
		(unsigned long long)st.calls, (unsigned long long)st.profiles,
		(unsigned long long)st.failures, (unsigned long long)st.dropped,
		(unsigned long long)st.queued);
}

static int on_unit(const struct ingest_unit *u, void *opaque)
{
	struct ingest_ctx *c = opaque;
	int rc = 0;

	if (u->kind != INGEST_UNIT_KEEPALIVE)
		c->unit_no++;
	ingest_metrics_bytes(u->kind == INGEST_UNIT_TOO_LARGE ? u->size : u->len + 1);
	switch (u->kind) {
	case INGEST_UNIT_KEEPALIVE:
		ingest_metrics_keepalive();
		if ((rc = ingest_sink_tick(c->sink, c->err, sizeof(c->err))))
			c->fatal = rc;
		ingest_metrics_sink(ingest_sink_stats(c->sink));
		break;
	case INGEST_UNIT_TOO_LARGE:
		frame_dlq(c, u, BW_DLQ_TOO_LARGE);
		break;
	case INGEST_UNIT_BAD_FRAME:
		frame_dlq(c, u, BW_DLQ_INVALID_JSON);
		break;
	case INGEST_UNIT_DATA:
		if (u->event) {
			/* Mastodon `delete` carries only a status id (no author to key
			 * it on); other events are notifications, filters, ...: the
			 * decoder counts them as control messages */
			struct ingest_sse_event ev = { u->event, u->data, u->len, c->unit_no };
			if (!sse_is_status(u->event))
				ingest_metrics_control(u->event);
			rc = ingest_decode_sse_event(c->dec, &ev, c->source);
			break;
		}
		rc = ingest_decode_unit(c->dec, u->data, u->len, c->source, c->unit_no);
		if (c->js) {
			int64_t t = ingest_js_time_us(u->data, u->len);
			if (t > c->js_seen_us)
				c->js_seen_us = t;
		}
		break;
	}
	if (c->fatal)
		return c->fatal;
	if (!rc && c->enrich)
		rc = enrich_apply(c);
	if (!rc && c->js)
		js_cursor_tick(c, false);
	return rc;
}

/* Sleep ms in short slices; false when a stop was requested meanwhile. */
static bool wait_ms(struct ingest_ctx *c, int64_t ms)
{
	int64_t until;

	/* the ladder's waits are bounded by config; this keeps the sum below
	 * from overflowing whatever reaches it */
	if (ms > INGEST_HINT_MAX_MS)
		ms = INGEST_HINT_MAX_MS;
	until = bw_time_mono_ms() + ms;

	while (!*c->stop) {
		int64_t left = until - bw_time_mono_ms();
		if (left <= 0)
			return true;
		struct timespec ts = { 0, (left > 50 ? 50 : left) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Log and count how one connection ended; returns the ladder's cause. */
static enum ingest_retry_cause account_attempt(const struct ingest_stream_result *r)
{
	enum ingest_retry_cause cause = r->cause;
	const char *label = r->stalled && r->established ? "stall" : ingest_stream_cause_name(cause);

	if (r->partial_bytes) {
		BW_WARN("stream dropped inside a unit: %zu byte(s) of an incomplete post discarded "
			"(it was never completed by the server)",
			r->partial_bytes);
		ingest_metrics_partial();
	}
	if (r->status >= 300)
		BW_WARN("stream answered HTTP %ld: %s", r->status, r->error);
	else
		BW_WARN("stream ended (%s) after %llu byte(s)%s%s", label,
			(unsigned long long)r->bytes, r->error[0] ? ": " : "", r->error);
	ingest_metrics_reconnect(label);
	return cause;
}

static int run_stream(struct ingest_ctx *c, const struct ingest_stream_req *req)
{
	char auth[4096], ua[64], shown[sizeof(req->url)];
	const char *headers[2] = { NULL, NULL };
	struct ingest_stream_backoff b;
	struct ingest_stream_result res;
	struct ingest_stream_conn_opts o = {
		.url = req->url, .post_body = req->body[0] ? req->body : NULL, .headers = headers,
		.user_agent = ua, .idle_ms = req->idle_ms,
		.connect_timeout_ms = c->cfg->ingest_connect_timeout_ms, .framing = req->framing,
		.sniff_sse = req->sniff_sse, .max_unit = (size_t)c->cfg->ingest_max_line_bytes,
		.on_unit = on_unit, .opaque = c, .stop = c->stop,
	};
	const struct bw_config *cfg = c->cfg;

	snprintf(ua, sizeof(ua), "botwatch/%s", BW_VERSION);
	bw_redact_url(req->url, shown, sizeof(shown)); /* never log credentials */
	ingest_stream_backoff_init(&b, cfg->backoff_tcp_step_ms, cfg->backoff_tcp_max_ms,
				   cfg->backoff_http_initial_ms, cfg->backoff_http_max_ms,
				   cfg->backoff_rate_initial_ms, cfg->backoff_rate_max_ms);
	while (!*c->stop) {
		int rc = ingest_stream_req_auth(cfg, req, auth, sizeof(auth), c->err, sizeof(c->err));
		if (rc)
			return rc;
		headers[0] = auth[0] ? auth : NULL;
		BW_INFO("connecting to %s", shown);
		if ((rc = ingest_stream_connect(&o, &res)))
			return bw_seterr(c->err, sizeof(c->err), rc, "cannot set up the request");
		if (res.established)
			ingest_stream_backoff_established(&b);
		if (c->fatal || res.stopped || *c->stop)
			break;
		int64_t wait = ingest_stream_backoff_next(&b, account_attempt(&res), res.reset_hint_ms);
		if (wait < 0)
			return bw_seterr(c->err, sizeof(c->err), BW_EHTTP,
					 "HTTP %ld from %s is not retried (fix the request)", res.status,
					 shown);
		BW_INFO("reconnecting in %lld ms", (long long)wait);
		ingest_metrics_backoff(wait);
		if (!wait_ms(c, wait))
			break;
	}
	return c->fatal;
}

/* Jetstream's zstd dictionary when compression is asked for; 0 or an error. */
static int js_dict(struct ingest_ctx *c, void **dict, size_t *len)
{
	const struct bw_config *cfg = c->cfg;

	*dict = NULL;
	*len = 0;
	if (!cfg->js_compress)
		return 0;
	if (!cfg->js_zstd_dict[0])
		return bw_seterr(c->err, sizeof(c->err), BW_EUSAGE,
				 "ingest.jetstream.compress needs ingest.jetstream.zstd_dictionary "
				 "(the dictionary file Jetstream publishes)");
	return ingest_js_read_file(cfg->js_zstd_dict, (size_t)64 << 20, dict, len, c->err,
				   sizeof(c->err));
}

/*
 * A Jetstream source (ws:// or wss://): connect, reconnect by the same ladder
 * as HTTP streams, and resume every (re)connection from the cursor less
 * ingest.jetstream.cursor_overlap_ms — the cursor file's value at start, the
 * latest event read afterwards.
 */
static int run_ws(struct ingest_ctx *c)
{
	const struct bw_config *cfg = c->cfg;
	const size_t ucap = 16384;
	char ua[64], *url = malloc(ucap), *shown = malloc(ucap);
	struct ingest_stream_backoff b;
	struct ingest_stream_result res;
	void *dict = NULL;
	size_t dict_len = 0;
	struct ingest_ws_opts o = {
		.user_agent = ua, .idle_ms = cfg->ingest_idle_ws_ms,
		.connect_timeout_ms = cfg->ingest_connect_timeout_ms,
		.max_unit = (size_t)cfg->ingest_max_line_bytes, .zstd = cfg->js_compress,
		.on_unit = on_unit, .opaque = c, .stop = c->stop,
	};
	int rc = 0;

	c->js = true;
	c->js_seen_us = c->js_saved_us = -1;
	snprintf(c->js_prof_path, sizeof(c->js_prof_path), "%s.profiles", cfg->js_cursor_file);
	snprintf(ua, sizeof(ua), "botwatch/%s", BW_VERSION);
	if (!url || !shown) {
		rc = bw_seterr(c->err, sizeof(c->err), BW_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = js_dict(c, &dict, &dict_len)))
		goto out_free;
	o.zstd_dict = dict, o.zstd_dict_len = dict_len;
	if (cfg->js_cursor_file[0] &&
	    ((rc = ingest_js_cursor_load(cfg->js_cursor_file, &c->js_seen_us, c->err, sizeof(c->err))) ||
	     (rc = ingest_decoder_profiles_load(c->dec, c->js_prof_path, c->err, sizeof(c->err)))))
		goto out_free;
	c->js_saved_us = c->js_seen_us;
	if (c->js_seen_us >= 0)
		BW_INFO("resuming Jetstream from cursor %lld (%s)", (long long)c->js_seen_us,
			cfg->js_cursor_file);
	ingest_stream_backoff_init(&b, cfg->backoff_tcp_step_ms, cfg->backoff_tcp_max_ms,
				   cfg->backoff_http_initial_ms, cfg->backoff_http_max_ms,
				   cfg->backoff_rate_initial_ms, cfg->backoff_rate_max_ms);
	while (!*c->stop) {
		int64_t cur = c->js_seen_us < 0 ? -1 : c->js_seen_us - cfg->js_overlap_ms * 1000;
		if ((rc = ingest_js_url(cfg, cfg->ingest_source, cur < 0 && c->js_seen_us >= 0 ? 0 : cur,
					url, ucap, c->err, sizeof(c->err))))
			break;
		o.url = url;
		BW_INFO("connecting to %s", bw_redact_url(url, shown, ucap));
		if ((rc = ingest_ws_connect(&o, &res))) {
			bw_seterr(c->err, sizeof(c->err), rc, "%s", res.error);
			break;
		}
		if (res.established)
			ingest_stream_backoff_established(&b);
		js_cursor_tick(c, false);
		if (c->fatal || res.stopped || *c->stop || res.cb_rc)
			break;
		int64_t wait = ingest_stream_backoff_next(&b, account_attempt(&res), res.reset_hint_ms);
		if (wait < 0) {
			rc = bw_seterr(c->err, sizeof(c->err), BW_EHTTP,
				       "HTTP %ld from %s is not retried (fix the request)", res.status,
				       shown);
			break;
		}
		BW_INFO("reconnecting in %lld ms", (long long)wait);
		ingest_metrics_backoff(wait);
		if (!wait_ms(c, wait))
			break;
	}
	if (!c->fatal)
		js_cursor_tick(c, true);
out_free:
	free(dict);
	free(url);
	free(shown);
	return c->fatal ? c->fatal : rc;
}

static int run_file(struct ingest_ctx *c, const char *path)
{
	int rc = ingest_decode_file(c->dec, path, c->err, sizeof(c->err));

	if (rc == 0)
		rc = ingest_decoder_finish(c->dec);
	if (c->fatal)
		return c->fatal;
	if (rc == BW_ESTOP)
		return 0;
	return rc < 0 ? rc : 0;
}

static void ingest_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch ingest --source SRC [--format auto|v1.1|v2|twarc2|sse|ndjson]\n"
		"                       [--brokers LIST] [--topic posts] [--config FILE] [--set key=value]...\n\n"
		"Reads SRC — an http(s):// stream URL, a ws(s):// Bluesky Jetstream URL, a file\n"
		"(plain or gzip) or `-` for stdin (read as data arrives) —\n"
		"and produces every decoded post to Kafka (key = account id, value = the post\n"
		"encoding of docs/KAFKA.md); bad input goes to ingest.dlq_topic with its reason.\n"
		"Live streams reconnect by Twitter's ladder and never end by themselves; files\n"
		"and stdin end at EOF. SIGINT/SIGTERM stop reading and flush; the exit status is\n"
		"0 only when every message was delivered. Credentials (ingest.bearer_token,\n"
		"ingest.oauth.*) are optional and never logged. With no brokers configured an\n"
		"in-process embedded broker is started.\n\n"
		"  --source SRC     input (ingest.source)\n"
		"  --format F       source shape (ingest.format)\n"
		"  --brokers LIST   Kafka bootstrap servers (kafka.bootstrap.servers)\n"
		"  --topic T        posts topic (ingest.topic)\n");
}

/* Map ingest's own flags onto config keys; 0, or 2 on a usage error. */
static int ingest_args(struct bw_config *cfg, int argc, char **argv)
{
	static const struct cfg_flag flags[] = {
		{ "--source", "ingest.source" }, { "--format", "ingest.format" },
		{ "--brokers", "kafka.bootstrap.servers" }, { "--topic", "ingest.topic" },
	};
	char err[512];

	for (int i = 1; i < argc; i++) {
		int rc = cfg_flag_apply(cfg, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, &i,
					err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch ingest: %s\n", err);
			return 2;
		}
		if (rc == 0) {
			fprintf(stderr, "botwatch ingest: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!cfg->ingest_source[0]) {
		fprintf(stderr, "botwatch ingest: --source is required\n");
		return 2;
	}
	return 0;
}

/* Log the run's totals; returns 0 when everything was delivered. */
static int finish(struct ingest_ctx *c)
{
	uint64_t undelivered = 0;
	char err[512];
	int rc = ingest_sink_flush(c->sink, FLUSH_TIMEOUT_MS, &undelivered, err, sizeof(err));
	const struct ingest_sink_stats *st = ingest_sink_stats(c->sink);
	const struct bw_decode_stats *ds = ingest_decoder_stats(c->dec);
	uint64_t dlq = 0;

	for (int i = 0; i < BW_DLQ__COUNT; i++)
		dlq += ds->dlq[i];
	ingest_metrics_sink(st);
	BW_INFO("ingest finished: %llu unit(s), %llu post(s) produced, %llu dead-lettered, %llu "
		"delivered, %llu undelivered, %llu lag pause(s)",
		(unsigned long long)ds->units, (unsigned long long)st->produced,
		(unsigned long long)st->dlq_produced, (unsigned long long)st->delivered,
		(unsigned long long)undelivered, (unsigned long long)st->lag_pauses);
	BW_INFO("botwatch ingest: %llu post(s), %llu dead-lettered (%llu by the decoder), "
			"%llu undelivered",
		(unsigned long long)st->produced, (unsigned long long)st->dlq_produced,
		(unsigned long long)dlq, (unsigned long long)undelivered);
	if (rc)
		BW_ERROR("botwatch ingest: %s", err);
	return rc;
}

static int ingest_run(struct ingest_ctx *c)
{
	const struct bw_config *cfg = c->cfg;
	int fmt = ingest_format_parse(cfg->ingest_format);
	struct ingest_stream_req *req;
	int rc;

	if (strncmp(cfg->ingest_source, "ws://", 5) == 0 ||
	    strncmp(cfg->ingest_source, "wss://", 6) == 0)
		return run_ws(c);
	if (strncmp(cfg->ingest_source, "http://", 7) && strncmp(cfg->ingest_source, "https://", 8))
		return run_file(c, cfg->ingest_source);
	if (!(req = malloc(sizeof(*req))))
		return bw_seterr(c->err, sizeof(c->err), BW_ENOMEM, "out of memory");
	rc = ingest_stream_req_build(cfg, cfg->ingest_source, (enum ingest_format)fmt, req,
				     c->err, sizeof(c->err));
	if (!rc)
		rc = run_stream(c, req);
	free(req);
	return rc;
}

int ingest_job_run(const struct bw_config *cfg, atomic_int *stop)
{
	struct ingest_ctx c = { .cfg = cfg, .stop = stop, .source = cfg->ingest_source };
	c.source = bw_redact_url(cfg->ingest_source, c.source_buf, sizeof(c.source_buf));
	struct bw_decode_opts dopts = { .max_unit_bytes = (size_t)cfg->ingest_max_line_bytes,
					.max_depth = (int)cfg->ingest_max_depth,
					.probe_time_ms = BW_TIME_NONE, .on_post = on_post,
					.on_dlq = on_dlq, .opaque = &c,
					.format = (enum ingest_format)ingest_format_parse(cfg->ingest_format) };
	char err[512];
	int rc, status = 1;

	ingest_metrics_register();
	if (!(c.sink = ingest_sink_new(cfg, stop, err, sizeof(err))) ||
	    !(c.dec = ingest_decoder_new(&dopts, err, sizeof(err)))) {
		BW_ERROR("botwatch ingest: %s", err);
		goto out_free;
	}
	if (cfg->bsky_appview[0]) {
		char ua[64];
		snprintf(ua, sizeof(ua), "botwatch/%s", BW_VERSION);
		if (!(c.enrich = ingest_enrich_new(cfg, ua, err, sizeof(err)))) {
			BW_ERROR("botwatch ingest: %s", err);
			goto out_free;
		}
	}
	rc = ingest_run(&c);
	if (!rc || rc == BW_ESTOP)
		enrich_finish(&c);
	if (rc && rc != BW_ESTOP)
		BW_ERROR("botwatch ingest: %s", c.err[0] ? c.err : bw_strerror(rc));
	if (*stop)
		BW_INFO("stopping on signal: flushing");
	status = finish(&c) == 0 && (rc == 0 || rc == BW_ESTOP) ? 0 : 1;
out_free:
	ingest_enrich_free(c.enrich);
	ingest_decoder_free(c.dec);
	ingest_sink_free(c.sink);
	return status;
}

int cmd_ingest(int argc, char **argv)
{
	struct bw_config *cfg;
	struct sigaction sa = { .sa_handler = on_signal };
	int status;

	int begun = cfg_cli_begin("ingest", ingest_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	if ((status = ingest_args(cfg, argc, argv)))
		goto out_cfg;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	status = ingest_job_run(cfg, &ingest_stop);
	curl_global_cleanup();
out_cfg:
	cfg_free(cfg);
	return status;
}
