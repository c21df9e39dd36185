/*
 * stream.h — the live stream consumer: framing parsers, the reconnect
 * ladder, OAuth 1.0a signing and the libcurl connection loop.
 *
 * Framing (ingest_stream_framer_*): bytes from the network are cut into
 * units — NDJSON lines (X API v2, plain NDJSON), Twitter v1.1
 * `delimited=length` frames, or Server-Sent Events (Mastodon). Every unit is
 * bounded by a cap; an over-long unit is skipped and reported as
 * INGEST_UNIT_TOO_LARGE with an excerpt, never buffered without bound.
 *
 * Reconnect ladder (ingest_stream_backoff_*): Twitter's documented
 * discipline — reconnect at once after an established stream drops; TCP/IP
 * errors back off linearly (+step to a cap); HTTP errors exponentially from
 * an initial wait; 420/429 exponentially from a longer initial wait, never
 * shorter than a rate-limit reset the server announced; 406/413 never retry.
 *
 * Ownership: a framer owns its buffers; units passed to the callback are
 * borrowed until it returns. Nothing here is thread-safe; use one object
 * per connection loop.
 */
#ifndef BW_INGEST_STREAM_H
#define BW_INGEST_STREAM_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- framing --------------------------------------------------------------- */

enum ingest_stream_framing {
	INGEST_FRAMING_LINES = 0,  /* one unit per '\n'-terminated line ('\r' stripped) */
	INGEST_FRAMING_LENGTH = 1, /* v1.1 delimited=length: "<n>\r\n" then n bytes */
	INGEST_FRAMING_SSE = 2,    /* text/event-stream: events dispatched at blank lines */
};

enum ingest_unit_kind {
	INGEST_UNIT_DATA = 0,      /* a complete unit: data[0..len) */
	INGEST_UNIT_KEEPALIVE = 1, /* blank line, SSE comment (":thump") or empty event */
	INGEST_UNIT_TOO_LARGE = 2, /* a unit over the cap was skipped; data = excerpt */
	INGEST_UNIT_BAD_FRAME = 3, /* framing violated (e.g. a length line that is not a number) */
};

struct ingest_unit {
	enum ingest_unit_kind kind; /* what this is */
	const char *data;           /* DATA: the unit (SSE: NUL-terminated); else an excerpt */
	size_t len;                 /* bytes at data */
	uint64_t size;              /* TOO_LARGE: the unit's full (or declared) size in bytes */
	const char *event;          /* SSE: event name ("message" when none); else NULL */
	const char *detail;         /* BAD_FRAME / TOO_LARGE: human detail; else NULL */
};

/* Return non-zero to stop; ingest_stream_framer_feed() returns that value. */
typedef int (*ingest_unit_cb)(const struct ingest_unit *u, void *opaque);

struct ingest_stream_framer;

/* Excerpt length kept for skipped units. */
#define INGEST_EXCERPT_BYTES 256

/* New framer; `max_unit` caps one unit. NULL on allocation failure. */
struct ingest_stream_framer *ingest_stream_framer_new(enum ingest_stream_framing framing,
						      size_t max_unit, ingest_unit_cb cb,
						      void *opaque);

/* Feed bytes; calls cb for every unit completed. 0 or the callback's stop value. */
int ingest_stream_framer_feed(struct ingest_stream_framer *f, const char *buf, size_t len);

/* Bytes of an incomplete unit currently held (lost if the connection drops now). */
size_t ingest_stream_framer_pending(const struct ingest_stream_framer *f);

/* Forget any partial unit (call on reconnect); returns the bytes discarded. */
size_t ingest_stream_framer_reset(struct ingest_stream_framer *f);

/* Accepts NULL. */
void ingest_stream_framer_free(struct ingest_stream_framer *f);

/* Parse "lines", "length", "sse"; -1 when unknown. */
int ingest_stream_framing_parse(const char *name);

/* ---- reconnect ladder ------------------------------------------------------ */

enum ingest_retry_cause {
	INGEST_RETRY_DROP = 0,  /* an established stream dropped (clean close, reset, stall) */
	INGEST_RETRY_TCP = 1,   /* connect/DNS/TLS/network error before a response */
	INGEST_RETRY_HTTP = 2,  /* an HTTP error status (5xx, 4xx other than below) */
	INGEST_RETRY_RATE = 3,  /* 420 or 429 */
	INGEST_RETRY_FATAL = 4, /* 406, 413: never retried */
	INGEST_RETRY__COUNT
};

struct ingest_stream_backoff {
	int64_t tcp_step_ms;     /* linear step for network errors */
	int64_t tcp_max_ms;      /* cap for network errors */
	int64_t http_initial_ms; /* first wait after an HTTP error */
	int64_t http_max_ms;     /* cap for HTTP errors */
	int64_t rate_initial_ms; /* first wait after 420/429 */
	int64_t rate_max_ms;     /* cap for 420/429 (a later reset header still wins) */
	int64_t tcp_wait_ms;     /* state: last network-error wait (0 = none yet) */
	int64_t http_wait_ms;    /* state: last HTTP-error wait */
	int64_t rate_wait_ms;    /* state: last rate-limit wait */
};

/* Set the ladder's constants and clear its state. */
void ingest_stream_backoff_init(struct ingest_stream_backoff *b, int64_t tcp_step_ms,
				int64_t tcp_max_ms, int64_t http_initial_ms, int64_t http_max_ms,
				int64_t rate_initial_ms, int64_t rate_max_ms);

/*
 * The wait before the next attempt after a failure of `cause`, in ms; -1 =
 * never retry. `reset_hint_ms` is the wait a rate-limit header asked for (or
 * -1): the wait is never shorter than it, up to rate_max_ms (a server asking
 * for longer is waited on for rate_max_ms, then asked again). A DROP returns 0 and clears the
 * ladder (the stream had been established).
 */
int64_t ingest_stream_backoff_next(struct ingest_stream_backoff *b, enum ingest_retry_cause cause,
				   int64_t reset_hint_ms);

/* A stream was established (2xx response): clear the ladder. */
void ingest_stream_backoff_established(struct ingest_stream_backoff *b);

/* Longest wait a server's header can ask for (a day; the ladder then caps it at
 * ingest.backoff.ratelimit_max_ms). */
#define INGEST_HINT_MAX_MS INT64_C(86400000)

/*
 * The wait in ms asked for by one response header line (`line`, `n` bytes, no
 * CRLF needed): `Retry-After: <seconds>` or `x-rate-limit-reset: <epoch
 * seconds>` (less `now_ms`, wall clock). Huge values saturate instead of
 * overflowing; the result is within [0, INGEST_HINT_MAX_MS]. -1 when the line
 * is another header or its value is not decimal seconds (an HTTP-date
 * Retry-After is not honoured: the ladder's own wait applies).
 */
int64_t ingest_stream_hint_ms(const char *line, size_t n, int64_t now_ms);

/* Cause for an HTTP status (>= 300). */
enum ingest_retry_cause ingest_stream_cause_for_status(long status);

/* "drop", "tcp", "http", "rate_limit", "fatal". */
const char *ingest_stream_cause_name(enum ingest_retry_cause c);

/* ---- OAuth 1.0a --------------------------------------------------------------- */

/* A request parameter (query or form body), unencoded. */
struct ingest_stream_param {
	const char *key;   /* name, unencoded */
	const char *value; /* value, unencoded */
};

/* OAuth 1.0a credentials; all borrowed. */
struct ingest_stream_oauth {
	const char *consumer_key;
	const char *consumer_secret;
	const char *token;
	const char *token_secret;
};

/* RFC 3986 percent-encoding of s into out (NUL-terminated); BW_ETOOLARGE if it does not fit. */
int ingest_stream_pct_encode(const char *s, char *out, size_t cap);

/*
 * HMAC-SHA1 signature (base64) of a request: `method` and `url` (without
 * query), the request's params (query + form body) and the oauth_* params
 * built from `cred`, `nonce` and `timestamp`. Written to sig (>= 29 bytes).
 */
int ingest_stream_oauth_sign(const struct ingest_stream_oauth *cred, const char *method,
			     const char *url, const struct ingest_stream_param *params, size_t n,
			     const char *nonce, const char *timestamp, char *sig, size_t siglen,
			     char *errstr, size_t errlen);

/*
 * The full "Authorization: OAuth ..." header line for a request (nonce and
 * timestamp generated when NULL). Returns 0 or an error with errstr set.
 */
int ingest_stream_oauth_header(const struct ingest_stream_oauth *cred, const char *method,
			       const char *url, const struct ingest_stream_param *params, size_t n,
			       const char *nonce, const char *timestamp, char *out, size_t cap,
			       char *errstr, size_t errlen);

/* ---- one HTTP streaming connection (libcurl) ---------------------------------- */

/* How one connection attempt is made. Everything is borrowed for the call. */
struct ingest_stream_conn_opts {
	const char *url;                 /* full URL with query */
	const char *post_body;           /* form body (POST), or NULL for GET */
	const char *const *headers;      /* extra header lines, NULL-terminated (may hold secrets) */
	const char *user_agent;          /* "botwatch/<version>" */
	int64_t idle_ms;                 /* stall rule: abort when no byte for this long */
	int64_t connect_timeout_ms;      /* TCP/TLS connect timeout */
	enum ingest_stream_framing framing; /* body framing */
	bool sniff_sse;                  /* switch to SSE framing on Content-Type text/event-stream */
	size_t max_unit;                 /* unit cap (ingest.max_line_bytes) */
	ingest_unit_cb on_unit;          /* gets every unit of the body */
	void *opaque;                    /* its argument */
	atomic_int *stop;     /* abort when set (may be NULL) */
};

/* How a connection attempt ended. */
struct ingest_stream_result {
	bool established;        /* a 2xx response arrived */
	bool stalled;            /* the idle timer fired */
	bool stopped;            /* the stop flag ended it */
	long status;             /* HTTP status (0 = no response) */
	enum ingest_retry_cause cause; /* what the ladder should do (unless stopped / cb_rc) */
	int64_t reset_hint_ms;   /* wait asked for by Retry-After / x-rate-limit-reset, or -1 */
	uint64_t bytes;          /* body bytes received */
	size_t partial_bytes;    /* bytes of an incomplete unit discarded at the end */
	int cb_rc;               /* non-zero stop value returned by on_unit */
	bool sse;                /* the body was framed as SSE */
	char error[256];         /* transport error or HTTP error body excerpt */
};

/*
 * Make one streaming request and feed the body to on_unit until the stream
 * ends, stalls, fails, is stopped or on_unit returns non-zero. Fills *res.
 * Returns 0 (see res for how it ended) or BW_ENOMEM / BW_EHTTP when the
 * request could not even be set up. curl_global_init() must have run.
 */
int ingest_stream_connect(const struct ingest_stream_conn_opts *o, struct ingest_stream_result *res);

/* ---- building the request for a stream source ------------------------------------- */

#include "cfg.h"
#include "decode.h" /* enum ingest_format (ingest.format) */

/* A prepared streaming request. */
struct ingest_stream_req {
	enum ingest_format format;          /* resolved (never AUTO) */
	char url[8192];                     /* full URL with the query botwatch adds */
	char body[8192];                    /* form body for POST; "" = GET */
	enum ingest_stream_framing framing; /* body framing */
	bool sniff_sse;                     /* switch to SSE on Content-Type text/event-stream */
	int64_t idle_ms;                    /* stall rule for this format */
};

/*
 * Prepare the request for http(s) source `src` in `format` (AUTO detects):
 * v1.1 gets delimited=length and stall_warnings=true (statuses/filter is a
 * POST of track/follow/locations from the config); v2 gets
 * expansions=author_id and the user/tweet fields the features need. Returns
 * 0 or BW_EUSAGE / BW_ETOOLARGE with errstr set.
 */
int ingest_stream_req_build(const struct bw_config *cfg, const char *src,
			    enum ingest_format format, struct ingest_stream_req *r,
			    char *errstr, size_t errlen);

/*
 * The Authorization header line for one attempt ("" when no credentials are
 * configured): OAuth 1.0a (freshly signed) for v1.1 when all four OAuth keys
 * are set, else Bearer when ingest.bearer_token is set. The text holds a
 * secret: never log it.
 */
int ingest_stream_req_auth(const struct bw_config *cfg, const struct ingest_stream_req *r,
			   char *out, size_t cap, char *errstr, size_t errlen);

/* ---- one WebSocket connection (libwebsockets): Bluesky Jetstream ------------- */

/* How one WebSocket attempt is made. Everything is borrowed for the call. */
struct ingest_ws_opts {
	const char *url;                 /* ws:// or wss:// URL with its query */
	const char *user_agent;          /* "botwatch/<version>" */
	int64_t idle_ms;                 /* stall rule: no message, ping or pong for this long */
	int64_t connect_timeout_ms;      /* until the 101 response */
	size_t max_unit;                 /* message cap (ingest.max_line_bytes), after decompression */
	bool zstd;                       /* binary messages are zstd frames */
	const void *zstd_dict;           /* their dictionary (may be NULL) */
	size_t zstd_dict_len;            /* its bytes */
	ingest_unit_cb on_unit;          /* gets every message (text, or decompressed) */
	void *opaque;                    /* its argument */
	atomic_int *stop;                /* abort when set (may be NULL) */
};

/*
 * Open one WebSocket connection and feed every message to on_unit until it
 * closes, stalls, fails, is stopped or on_unit returns non-zero. Fills *res
 * as ingest_stream_connect() does (status 101 once established; an HTTP
 * status on a refused upgrade). Returns 0, or BW_ENOMEM / BW_EUSAGE (not a
 * ws:// or wss:// URL) with res->error set.
 */
int ingest_ws_connect(const struct ingest_ws_opts *o, struct ingest_stream_result *res);

/*
 * Parse `len` bytes of server frames as if they had arrived after the
 * upgrade, `chunk` bytes at a time (for tests and fuzzing: o->url, idle and
 * stop are unused). No socket: a ping, whose pong cannot be sent, or a close
 * frame ends the parse, as do a protocol error and on_unit's stop (res->error
 * says which). Returns 0 or BW_ENOMEM.
 */
int ingest_ws_parse(const struct ingest_ws_opts *o, const void *buf, size_t len, size_t chunk,
		    struct ingest_stream_result *res);

/* ---- Jetstream requests and the cursor --------------------------------------- */

/*
 * The Jetstream URL for one attempt: `src` plus wantedCollections /
 * wantedDids from the config (one parameter per comma-separated entry,
 * unless src already names them), compress=true when asked, and
 * cursor=<cursor_us> when cursor_us >= 0. 0 or BW_ETOOLARGE.
 */
int ingest_js_url(const struct bw_config *cfg, const char *src, int64_t cursor_us, char *out,
		  size_t cap, char *errstr, size_t errlen);

/* An event's top-level "time_us" (unix µs), or -1 when it has none. */
int64_t ingest_js_time_us(const char *data, size_t len);

/* Read the cursor file: 0 with *cursor_us (-1 when the file does not exist),
 * or BW_EIO / BW_EPARSE with errstr set. */
int ingest_js_cursor_load(const char *path, int64_t *cursor_us, char *errstr, size_t errlen);

/* Replace the cursor file atomically (write, fsync, rename). 0 or BW_EIO. */
int ingest_js_cursor_save(const char *path, int64_t cursor_us, char *errstr, size_t errlen);

/* Read a whole (dictionary) file into *buf (caller frees). 0 or BW_EIO / BW_ENOMEM. */
int ingest_js_read_file(const char *path, size_t max, void **buf, size_t *len, char *errstr,
			size_t errlen);

#endif
