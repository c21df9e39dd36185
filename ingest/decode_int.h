/*
 * decode_int.h — internals shared by the decoder's translation units.
 *
 *   decode.c         decoder lifecycle, unit dispatch (shape detection), DLQ,
 *                    emission, profile hold-back and ingest_decoder_finish()
 *   decode_fields.c  typed field readers, profiles, HTML stripping, UTF-8
 *   decode_twitter.c v1.1 statuses and control messages, v2 / twarc2
 *   decode_fedi.c    Mastodon statuses, SSE assembler, Bluesky Jetstream
 *   decode_file.c    files and buffers: gzip, NDJSON vs one document, SSE
 *   decode_record.c  botwatch's own normalised record, read back
 *
 * Not a public header: other modules use decode.h.
 *
 * Ownership, for the whole file: strings, records and profiles returned by
 * dx_* are borrowed from the parsed document (json_dom.h) or the decoder's
 * arena, both valid until the next unit; nothing here is freed by callers.
 */
#ifndef BW_DECODE_INT_H
#define BW_DECODE_INT_H

#include <stdarg.h>
#include <stdbool.h>

#include "bw_arena.h"
#include "decode.h"
#include "json_dom.h"

#define DEC_MAX_EMBEDDED 8    /* nested statuses emitted per unit, at most */
#define DEC_EXCERPT_BYTES 200 /* bytes of a unit quoted in a DLQ record */
#define DEC_HOLD_MAX_BYTES ((size_t)256 << 20) /* profile units held back, at most */

/* A profile-only unit waiting for its probe time (see ingest_decoder_finish()). */
struct dec_held {
	char *buf;        /* copy of the unit's text (malloc'd), re-decoded at finish */
	size_t len;       /* its length */
	char *source;     /* copy of the source label (malloc'd) */
	uint64_t line;    /* its line number */
};

struct bw_decoder {
	struct bw_decode_opts opts;   /* callbacks and caps, copied at creation */
	struct jd_parser *jp;         /* simdjson parser; owns the current document */
	struct bw_arena *arena;       /* strings and records of the current unit */
	struct bw_decode_stats stats; /* counters returned by ingest_decoder_stats() */

	int64_t max_event_ms;         /* latest post event time seen (BW_TIME_NONE if none) */
	int64_t max_account_ms;       /* latest account created_at seen (BW_TIME_NONE if none) */

	struct dec_held *held;        /* profile units held back until finish */
	size_t n_held, cap_held;      /* used / allocated entries of held[] */
	size_t held_bytes;            /* bytes of unit text in held[] */
	int64_t release_probe_ms;     /* probe time applied while releasing held units */
	bool releasing;               /* true while re-decoding held units */
	bool unit_held;               /* the current unit is already in held[] */
	bool release_due;             /* held[] passed its cap: release before the next unit */

	/* the unit being decoded */
	const char *src;              /* source label */
	uint64_t line;                /* line number */
	const char *unit;             /* its bytes (for DLQ excerpts) */
	size_t unit_len;              /* its length */

	/* first problem met while reading the fields of one post */
	int fault;                    /* -1 none, else enum bw_dlq_reason */
	char fault_detail[160];       /* what and where */
	bool oom;                     /* an allocation of this unit failed (out of memory,
				       * not the arena's cap): the unit ends in BW_ENOMEM,
				       * never in the DLQ or half-filled to the callback */

	/* Bluesky profiles and handles seen in the stream, by DID (decode_fedi.c) */
	struct dec_bsky_prof *bsky;   /* DEC_BSKY_SLOTS entries, allocated on first use */
	bool bsky_dirty;              /* changed since the last ingest_decoder_profiles_save() */

	/* embedded (retweeted / quoted) statuses of the current unit, emitted after it */
	struct bw_post *embedded[DEC_MAX_EMBEDDED]; /* arena records */
	size_t n_embedded;            /* entries used */
};

/* --- decode_fedi.c (Bluesky) ------------------------------------------------ */

/* Free the Bluesky profile cache (accepts a decoder without one). */
void dec_bsky_free(struct bw_decoder *d);

/* --- decode.c ------------------------------------------------------------ */

/* Dead-letter the current unit with a reason and printf-style detail. */
void dec_dlq(struct bw_decoder *d, enum bw_dlq_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Hand a finished record to the post callback (after a fault check). Returns
 * the callback's value. Records with d->fault set go to the DLQ instead. */
int dec_emit(struct bw_decoder *d, struct bw_post *p);
/* Record ms (BW_TIME_NONE: ignored) as an event time seen in the input, for
 * the inferred probe time of profile records (docs/POST.md, rule 3). */
void dec_note_event(struct bw_decoder *d, int64_t ms);

/* Emit and clear the embedded records collected for the current unit. */
int dec_emit_embedded(struct bw_decoder *d);

/* Fills a fresh record from a status object; `nest` is the embedding depth. */
typedef void (*dec_fill_fn)(struct bw_decoder *d, jd_val st, struct bw_post *p, int nest);

/* Allocate a record, fill it from `st` with `fill`, emit it and then the
 * statuses it embeds. When the arena is exhausted an empty record still goes
 * through dec_emit(), so the fault the allocation recorded reaches the DLQ.
 * Returns dec_emit()'s result. */
int dec_emit_status(struct bw_decoder *d, jd_val st, dec_fill_fn fill);

/* Dead-letter the current unit as wrong_format: opts.format names another
 * format; `what` says what the unit is ("a v1.1 status"). */
void dec_wrong_format(struct bw_decoder *d, const char *what);

/* Decode one parsed JSON value as a unit (shape detection and dispatch). */
int dec_value(struct bw_decoder *d, jd_val root);

/* Count a control message. */
static inline void dec_ctrl(struct bw_decoder *d, enum bw_ctrl_type t)
{
	if (!d->releasing) /* counted when the unit was first decoded */
		d->stats.control[t]++;
}

/* Decode one unit without counting it in stats.units/bytes. */
int dec_unit(struct bw_decoder *d, const char *buf, size_t len, const char *source, uint64_t line);

/* Valid-UTF-8 copy of s[0..len) into out[cap] (bad bytes become U+FFFD,
 * cut at a character boundary); returns the length written. */
size_t dec_utf8_excerpt(char *out, size_t cap, const char *s, size_t len);

/* --- decode_fields.c ------------------------------------------------------- */

/* Record the first fault of the post being decoded. */
void dec_fault(struct bw_decoder *d, enum bw_dlq_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* String field: NULL when absent or null; a fault when of another type. */
const char *dx_str(struct bw_decoder *d, jd_val obj, const char *key);
/* Identifier: `skey` as string (or number), else `nkey` as a number, as a
 * decimal string; NULL when absent. Negative/fractional/huge numbers fault. */
const char *dx_id(struct bw_decoder *d, jd_val obj, const char *skey, const char *nkey);
/* A value (string or non-negative integer) as an id string; NULL otherwise. */
const char *dx_id_val(struct bw_decoder *d, jd_val v, const char *what);
/* Count: -1 when absent or null; integers (or digit strings) >= 0. */
int64_t dx_count(struct bw_decoder *d, jd_val obj, const char *key);
/* Boolean: BW_TRI_UNKNOWN when absent or null. */
int8_t dx_tri(struct bw_decoder *d, jd_val obj, const char *key);
/* Time string (ISO 8601 or Twitter form): BW_TIME_NONE when absent. */
int64_t dx_time(struct bw_decoder *d, jd_val obj, const char *key);
/* Milliseconds given as a decimal string or integer (timestamp_ms). */
int64_t dx_epoch_ms(struct bw_decoder *d, jd_val obj, const char *key);

/* The same readers on a value already looked up (e.g. by jd_pick());
 * `key` names the field in fault messages. */
const char *dx_str_v(struct bw_decoder *d, jd_val v, const char *key);
int64_t dx_count_v(struct bw_decoder *d, jd_val v, const char *key);
int8_t dx_tri_v(struct bw_decoder *d, jd_val v, const char *key);
int64_t dx_time_v(struct bw_decoder *d, jd_val v, const char *key);
int64_t dx_epoch_ms_v(struct bw_decoder *d, jd_val v, const char *key);

/* HTML to text in the arena: tags removed (<br> and </p> become newlines),
 * entities decoded. NULL in, NULL out. */
const char *dx_strip_html(struct bw_decoder *d, const char *html);

/* Twitter text with the three entities Twitter escapes (&amp; &lt; &gt;)
 * decoded; s itself when it has none. */
const char *dx_unescape_twitter(struct bw_decoder *d, const char *s);

/* Copy of s[0..len) in the arena with invalid UTF-8 replaced by U+FFFD. */
char *dx_utf8_clean(struct bw_arena *a, const char *s, size_t len);

/* Profiles, one reader per platform shape; `user` must be an object. */
/* The kind of a post that is not a repost, the same on every platform: a
 * reply when in_reply_to_post_id is set, else a quote when quoted_post_id is
 * set (the quoted post becomes ref_post_id/ref_author), else unchanged. */
void dx_kind_reply_or_quote(struct bw_post *p);

void dx_profile_v1(struct bw_decoder *d, jd_val user, struct bw_profile *p);
void dx_profile_v2(struct bw_decoder *d, jd_val user, struct bw_profile *p);
void dx_profile_mastodon(struct bw_decoder *d, jd_val acct, struct bw_profile *p);

/* New record in the arena, initialised; NULL (with a fault) when the arena is full. */
struct bw_post *dx_post_new(struct bw_decoder *d);
struct bw_profile *dx_profile_new(struct bw_decoder *d);

/* Arena array of n pointers/structs; NULL with a fault when the arena is full. */
void *dx_alloc(struct bw_decoder *d, size_t n);

/* --- decode_twitter.c ------------------------------------------------------- */

/* v1.1 status object (top level of the unit or an element of a timeline). */
int dec_v1_status(struct bw_decoder *d, jd_val st);
/* v1.1 control message; `key` is the recognised top-level key. */
int dec_v1_control(struct bw_decoder *d, jd_val root, const char *key);
/* Profile-only record {"user": {...}}. */
int dec_profile_only(struct bw_decoder *d, jd_val root);
/* v2 stream line or page {data, includes, ...}, and errors-only lines. */
int dec_v2_envelope(struct bw_decoder *d, jd_val root);
/* A single v2 tweet (twarc2 flatten: author inlined). */
int dec_v2_flat(struct bw_decoder *d, jd_val tw);

/* --- decode_record.c -------------------------------------------------------- */

/* botwatch's own normalised record ({"v": 1, "kind", "author", ...}). */
int dec_record(struct bw_decoder *d, jd_val o);

/* --- decode_fedi.c ---------------------------------------------------------- */

/* Mastodon status entity. */
int dec_mastodon_status(struct bw_decoder *d, jd_val st);
/* Bluesky Jetstream event. */
int dec_jetstream(struct bw_decoder *d, jd_val ev);
/* One SSE event; the caller counts units and bytes. */
int dec_sse_event(struct bw_decoder *d, const struct ingest_sse_event *ev, const char *source);

#endif
