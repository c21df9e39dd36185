/*
 * decode.h — one decoder for every stream and archive shape.
 *
 * Input units are lines (NDJSON, stream frames) or whole documents (a REST
 * timeline array, a search response, a v2 page, one pretty-printed object).
 * The shape is detected per unit: v1.1 status, v1.1 control message, v2
 * stream line / page, twarc2 page or flattened tweet, Mastodon status or SSE
 * event, Bluesky Jetstream event, profile-only record {"user": {...}}.
 *
 * Each decoded post is handed to the post callback; bad input is handed to
 * the DLQ callback with a reason and counted; control messages are counted
 * (deletes are also posts of kind BW_POST_DELETE). Nothing is dropped silently.
 *
 * Ownership: records passed to callbacks are borrowed and valid only during
 * the callback. A decoder is not thread-safe; use one per thread.
 */
#ifndef BW_DECODE_H
#define BW_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "post.h"

/*
 * What the input is (ingest.format). AUTO detects the shape of every unit
 * (and a file's framing); any other value accepts only its own shapes and
 * dead-letters the rest as BW_DLQ_WRONG_FORMAT, naming the format expected.
 * For live streams it also chooses the request and framing (stream.h).
 */
enum ingest_format {
	INGEST_FORMAT_AUTO = 0, /* any shape; detect from URL, Content-Type and content */
	INGEST_FORMAT_V11,      /* Twitter v1.1: statuses, control messages, timelines,
				 * search responses, profile-only records; length lines */
	INGEST_FORMAT_V2,       /* X API v2 stream lines, pages, single tweets */
	INGEST_FORMAT_TWARC2,   /* twarc2 raw pages and flattened tweets (v2 shapes) */
	INGEST_FORMAT_SSE,      /* a Mastodon SSE body whose events carry statuses */
	INGEST_FORMAT_NDJSON,   /* one JSON value of any shape per line; no documents */
};

/* Parse "auto", "v1.1", "v2", "twarc2", "sse", "ndjson"; -1 when unknown. */
int ingest_format_parse(const char *name);
/* The name of a format, as ingest.format spells it; "?" when out of range. */
const char *ingest_format_name(enum ingest_format f);

/* Why a unit went to the dead-letter queue. */
enum bw_dlq_reason {
	BW_DLQ_INVALID_JSON = 0, /* not parseable JSON */
	BW_DLQ_NO_ACCOUNT_ID,    /* a post/profile without an author id */
	BW_DLQ_TOO_LARGE,        /* unit longer than ingest.max_line_bytes */
	BW_DLQ_TOO_DEEP,         /* nesting deeper than ingest.max_depth */
	BW_DLQ_INVALID_UTF8,     /* bytes that are not UTF-8 */
	BW_DLQ_NUMBER_RANGE,     /* a number out of range (ids, counts) */
	BW_DLQ_BAD_FIELD,        /* a field of the wrong type or unparseable value */
	BW_DLQ_UNKNOWN_SHAPE,    /* valid JSON of no shape botwatch knows */
	BW_DLQ_STREAM_ERROR,     /* an in-stream error object (v2 "errors") */
	BW_DLQ_WRONG_FORMAT,     /* a unit of another shape than ingest.format names */
	BW_DLQ_BAD_ACCOUNT_ID,   /* an author id that is not one (bw_account_id_valid()) */
	BW_DLQ_FUTURE_TIME,      /* a post dated more than BW_DEC_MAX_FUTURE_MS ahead */
	BW_DLQ__COUNT
};

/* Stream control messages, counted by type. */
enum bw_ctrl_type {
	BW_CTRL_DELETE = 0,
	BW_CTRL_LIMIT,
	BW_CTRL_SCRUB_GEO,
	BW_CTRL_STATUS_WITHHELD,
	BW_CTRL_USER_WITHHELD,
	BW_CTRL_WARNING,
	BW_CTRL_DISCONNECT,
	BW_CTRL_OTHER,           /* friends lists, site-stream control, events, ... */
	BW_CTRL_KEEPALIVE,       /* blank lines, SSE comments/heartbeats */
	BW_CTRL_NOTIFICATION,    /* Mastodon streaming `notification` events */
	BW_CTRL__COUNT
};

/* A dead-letter record. Strings are borrowed for the duration of the callback. */
struct bw_dlq_rec {
	enum bw_dlq_reason reason;
	const char *detail;  /* human detail, e.g. "line 1 column 17: ..." */
	const char *source;  /* file name, URL or "-" */
	uint64_t line;       /* 1-based line (or unit) number in source; 0 if unknown */
	const char *excerpt; /* first bytes of the unit, valid UTF-8 (bad bytes replaced) */
};

struct bw_decode_stats {
	uint64_t units;                    /* lines / documents read */
	uint64_t bytes;                    /* input bytes read */
	uint64_t posts;                    /* records passed to the post callback */
	uint64_t control[BW_CTRL__COUNT];  /* control messages by type */
	uint64_t dlq[BW_DLQ__COUNT];       /* dead-lettered units by reason */
	uint64_t probe_inferred;           /* profile records with an inferred probe time */
	uint64_t api_errors;               /* v2 "errors" entries beside data (partial responses) */
	uint64_t embedded;                 /* of posts: embedded (retweeted/quoted) records */
	uint64_t length_lines;             /* v1.1 delimited=length length lines read as
					    * framing in files (not counted in units) */
};

/* Return non-zero to stop decoding (the value is returned by the decode call). */
typedef int (*bw_post_cb)(const struct bw_post *post, void *opaque);
typedef void (*bw_dlq_cb)(const struct bw_dlq_rec *rec, void *opaque);

/* How far past the decoder's wall clock a post's time may be (clock skew) before
 * the post is dead-lettered as future_time, so it cannot drag the stream's
 * event-time watermark (one post dated 9999 would hold every account's
 * debounce open until then). */
#define BW_DEC_MAX_FUTURE_MS (24LL * 3600 * 1000)

struct bw_decode_opts {
	size_t max_unit_bytes;   /* cap on one line/document (default 1 MiB) */
	int max_depth;           /* cap on JSON nesting (default 64) */
	int64_t probe_time_ms;   /* --probe-time, or BW_TIME_NONE */
	bw_post_cb on_post;      /* required */
	bw_dlq_cb on_dlq;        /* may be NULL: then only counted */
	void *opaque;            /* passed to both callbacks */
	size_t max_held_bytes;   /* profile records held for a probe time, at most
				  * (0 = 256 MiB; past it they are released early) */
	enum ingest_format format; /* shapes accepted (0 = INGEST_FORMAT_AUTO: any) */
};

struct bw_decoder;

/* New decoder; NULL with errstr set on failure. Caller frees with ingest_decoder_free(). */
struct bw_decoder *ingest_decoder_new(const struct bw_decode_opts *opts, char *errstr,
				      size_t errlen);
void ingest_decoder_free(struct bw_decoder *dec);

/*
 * Decode one unit: buf[0..len) holds one line (no trailing newline needed) or
 * one whole JSON document. `source`/`line` label DLQ records. Returns 0, the
 * callback's non-zero stop value, or BW_ENOMEM when an allocation failed (the
 * unit is then neither emitted nor dead-lettered). Bad input is never an error
 * here: it goes to the DLQ callback and the stats.
 */
int ingest_decode_unit(struct bw_decoder *dec, const char *buf, size_t len, const char *source,
		       uint64_t line);

/*
 * Decode a whole file ("-" = stdin), plain or gzip (detected by magic), as
 * NDJSON or — when the file is one JSON document spanning lines — as one
 * document. Returns 0, a callback's stop value, or a negative BW_E* code
 * with errstr set when the file cannot be read.
 */
int ingest_decode_file(struct bw_decoder *dec, const char *path, char *errstr, size_t errlen);

/*
 * Profile-only records without their own probe time are held back until the
 * input ends, because their probe time is the latest event time seen (see
 * docs/POST.md). Call this after the last unit to release them.
 */
int ingest_decoder_finish(struct bw_decoder *dec);

/*
 * Decode a memory buffer exactly as ingest_decode_file() decodes a file's
 * (decompressed) contents: NDJSON, one JSON document, or an SSE body.
 * `source` labels DLQ records. buf and source are borrowed for the call.
 * Returns 0, a callback's stop value or BW_ENOMEM.
 */
int ingest_decode_buffer(struct bw_decoder *dec, const char *buf, size_t len, const char *source);

const struct bw_decode_stats *ingest_decoder_stats(const struct bw_decoder *dec);

/*
 * The Bluesky profiles the decoder remembers (per DID: handle, display name,
 * description, avatar/banner presence, bot self-label; they fill the author
 * of later Jetstream posts, which carry only a DID) saved to / loaded from
 * `path` as NDJSON, so a restarted live ingest keeps them. Save replaces the
 * file atomically and does nothing when nothing changed since the last save
 * (*written false). Load of a missing file is 0. 0 or BW_EIO / BW_ENOMEM /
 * BW_EPARSE with errstr set.
 */
int ingest_decoder_profiles_save(struct bw_decoder *dec, const char *path, bool *written,
				 char *errstr, size_t errlen);
int ingest_decoder_profiles_load(struct bw_decoder *dec, const char *path, char *errstr,
				 size_t errlen);

/* A Bluesky profile as an AppView returns it (app.bsky.actor.getProfiles); strings
 * borrowed for the call. */
struct ingest_bsky_profile {
	const char *did;         /* the account */
	const char *handle;      /* or NULL */
	const char *name;        /* displayName, or NULL */
	const char *description; /* or NULL */
	bool avatar;             /* has an avatar */
	bool banner;             /* has a banner */
	bool bot;                /* self-labelled `bot` */
	int64_t followers;       /* followersCount, -1 if absent */
	int64_t follows;         /* followsCount, -1 if absent */
	int64_t posts;           /* postsCount, -1 if absent */
	int64_t created_at_ms;   /* createdAt, BW_TIME_NONE if absent */
};

/*
 * Merge an AppView profile into the decoder's Bluesky memory (later posts of
 * the account carry its counts and creation time) and emit a profile
 * snapshot through on_post, dated at the latest event time decoded (the wall
 * clock before any). Returns on_post's value, or BW_ENOMEM.
 */
int ingest_decoder_bsky_profile(struct bw_decoder *dec, const struct ingest_bsky_profile *p);

/*
 * Server-sent events (text/event-stream), as Mastodon streams them.
 *
 * The assembler turns lines into events: `event:` sets the name, `data:`
 * lines are joined with '\n', a blank line dispatches, lines starting with
 * ':' are comments (heartbeats), `id:` and `retry:` are ignored. A stream
 * consumer feeds it lines and passes each event to ingest_decode_sse_event().
 * Not thread-safe; one per stream.
 */
struct ingest_sse;

struct ingest_sse_event {
	const char *event;  /* event name; "message" when the event had none */
	const char *data;   /* data lines joined by '\n', NUL-terminated */
	size_t data_len;    /* bytes in data */
	uint64_t line;      /* line number of the event's first field line */
};

enum {
	INGEST_SSE_MORE = 0,    /* line consumed; no event complete yet */
	INGEST_SSE_EVENT = 1,   /* *ev holds an event (borrowed until the next call) */
	INGEST_SSE_COMMENT = 2, /* a comment / heartbeat line */
};

/* New assembler holding at most max_bytes of data per event; NULL on ENOMEM.
 * Caller frees with ingest_sse_free() (accepts NULL). */
struct ingest_sse *ingest_sse_new(size_t max_bytes);
void ingest_sse_free(struct ingest_sse *sse);

/*
 * Feed one line (without its "\n"; a trailing "\r" is ignored), numbered
 * `line`. Returns INGEST_SSE_MORE, INGEST_SSE_EVENT, INGEST_SSE_COMMENT, or
 * BW_ETOOLARGE when this event's data passed max_bytes (the rest of the event
 * is then skipped; the event is reported once, on this call).
 */
int ingest_sse_feed_line(struct ingest_sse *sse, const char *line, size_t len, uint64_t line_no,
			 struct ingest_sse_event *ev);

/* Drop the event being assembled (a field line of it was over the cap and
 * was not fed): nothing is dispatched until the next blank line. */
void ingest_sse_skip_event(struct ingest_sse *sse);

/* End of input: dispatch a pending event without a final blank line. Returns
 * INGEST_SSE_EVENT with *ev set, or INGEST_SSE_MORE when nothing is pending. */
int ingest_sse_flush(struct ingest_sse *sse, struct ingest_sse_event *ev);

/*
 * Decode one SSE event: `update` / `status.update` (a Mastodon status),
 * `delete` (counted as a delete control message; Mastodon gives no author,
 * so no record is emitted), `notification` (counted as its own control
 * type), other events (conversation, filters_changed, announcement, ...)
 * counted as control `other`.
 * Returns 0 or a callback's stop value.
 */
int ingest_decode_sse_event(struct bw_decoder *dec, const struct ingest_sse_event *ev,
			    const char *source);

const char *bw_dlq_reason_name(enum bw_dlq_reason r);
const char *bw_ctrl_type_name(enum bw_ctrl_type t);

/* DLQ record as the JSON object {reason, detail, source, line, excerpt}; new reference. */
json_t *bw_dlq_to_json(const struct bw_dlq_rec *rec);

#endif
