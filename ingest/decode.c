/*
 * decode.c — the decoder: lifecycle, shape detection per unit, the DLQ,
 * emission and the hold-back of profile records (see decode.h, docs/POST.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "ingest_expect.h"

#define DEFAULT_MAX_UNIT ((size_t)1 << 20)
#define DEFAULT_MAX_DEPTH 64

static const char *const dlq_names[BW_DLQ__COUNT] = {
	"invalid_json", "no_account_id", "too_large",   "too_deep",     "invalid_utf8",
	"number_range", "bad_field",     "unknown_shape", "stream_error", "wrong_format",
	"bad_account_id", "future_time",
};

static const char *const ctrl_names[BW_CTRL__COUNT] = {
	"delete",  "limit",      "scrub_geo", "status_withheld", "user_withheld",
	"warning", "disconnect", "other",     "keepalive",       "notification",
};

static const char *const format_names[] = { "auto", "v1.1", "v2", "twarc2", "sse", "ndjson" };
#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

int ingest_format_parse(const char *name)
{
	for (size_t i = 0; i < N_FORMATS; i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *ingest_format_name(enum ingest_format f)
{
	return (unsigned)f < N_FORMATS ? format_names[f] : "?";
}

const char *bw_dlq_reason_name(enum bw_dlq_reason r)
{
	return (unsigned)r < BW_DLQ__COUNT ? dlq_names[r] : "?";
}

const char *bw_ctrl_type_name(enum bw_ctrl_type t)
{
	return (unsigned)t < BW_CTRL__COUNT ? ctrl_names[t] : "?";
}

struct bw_decoder *ingest_decoder_new(const struct bw_decode_opts *opts, char *errstr,
				      size_t errlen)
{
	struct bw_decoder *d;

	if (!opts || !opts->on_post) {
		bw_seterr(errstr, errlen, BW_EINVAL, "decoder: a post callback is required");
		return NULL;
	}
	if ((unsigned)opts->format >= N_FORMATS) {
		bw_seterr(errstr, errlen, BW_EINVAL, "decoder: unknown format %d", (int)opts->format);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out_nomem;
	d->opts = *opts;
	if (!d->opts.max_unit_bytes)
		d->opts.max_unit_bytes = DEFAULT_MAX_UNIT;
	if (d->opts.max_depth <= 0)
		d->opts.max_depth = DEFAULT_MAX_DEPTH;
	if (!d->opts.max_held_bytes)
		d->opts.max_held_bytes = DEC_HOLD_MAX_BYTES;
	d->max_event_ms = BW_TIME_NONE;
	d->max_account_ms = BW_TIME_NONE;
	d->fault = -1;
	d->jp = jd_parser_new(d->opts.max_unit_bytes, d->opts.max_depth);
	/* a unit's strings are mostly borrowed from the parser; the arena holds
	 * records, converted ids and stripped HTML: a few times the unit at most */
	d->arena = bw_arena_new(4 * d->opts.max_unit_bytes + ((size_t)1 << 20));
	if (!d->jp || !d->arena)
		goto out_free;
	return d;

out_free:
	ingest_decoder_free(d);
out_nomem:
	bw_seterr(errstr, errlen, BW_ENOMEM, "decoder: out of memory");
	return NULL;
}

void ingest_decoder_free(struct bw_decoder *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_held; i++) {
		free(d->held[i].buf);
		free(d->held[i].source);
	}
	free(d->held);
	dec_bsky_free(d);
	jd_parser_free(d->jp);
	bw_arena_free(d->arena);
	free(d);
}

const struct bw_decode_stats *ingest_decoder_stats(const struct bw_decoder *d)
{
	return &d->stats;
}


void dec_dlq(struct bw_decoder *d, enum bw_dlq_reason r, const char *fmt, ...)
{
	char detail[512], excerpt[DEC_EXCERPT_BYTES * 3 + 8];
	va_list ap;
	struct bw_dlq_rec rec;

	if (d->releasing)
		return; /* reported when the unit was first decoded */
	d->stats.dlq[r]++;
	if (!d->opts.on_dlq)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	dec_utf8_excerpt(excerpt, sizeof(excerpt), d->unit ? d->unit : "",
			 d->unit_len < DEC_EXCERPT_BYTES ? d->unit_len : DEC_EXCERPT_BYTES);
	rec.reason = r;
	rec.detail = detail;
	rec.source = d->src ? d->src : "-";
	rec.line = d->line;
	rec.excerpt = excerpt;
	d->opts.on_dlq(&rec, d->opts.opaque);
}

/* Keep a profile record until its probe time is known (see ingest_decoder_finish()). */
static int hold_profile(struct bw_decoder *d);

/* `s` for a DLQ detail: at most n - 4 bytes, non-printable ASCII and
 * non-ASCII bytes as '?', "..." when cut. */
static void printable(const char *s, char *out, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

void dec_note_event(struct bw_decoder *d, int64_t ms)
{
	if (ms != BW_TIME_NONE && (d->max_event_ms == BW_TIME_NONE || ms > d->max_event_ms))
		d->max_event_ms = ms;
}

int dec_emit(struct bw_decoder *d, struct bw_post *p)
{
	int rc;

	if (d->oom)
		return BW_ENOMEM;
	if (d->fault >= 0) {
		dec_dlq(d, (enum bw_dlq_reason)d->fault, "%s%s%s", d->fault_detail,
			p->id ? " in post " : "", p->id ? p->id : "");
		d->fault = -1;
		return 0;
	}
	if (!p->author.id || !*p->author.id) {
		dec_dlq(d, BW_DLQ_NO_ACCOUNT_ID, "%s%s%s has no author id", bw_post_kind_name(p->kind),
			p->id ? " " : "", p->id ? p->id : "");
		return 0;
	}
	if (!bw_account_id_valid(p->author.id)) {
		char shown[48];
		printable(p->author.id, shown, sizeof(shown));
		dec_dlq(d, BW_DLQ_BAD_ACCOUNT_ID,
			"author id '%s' (%zu bytes) is neither 1-20 decimal digits nor a DID", shown,
			strlen(p->author.id));
		return 0;
	}
	if (p->kind != BW_POST_PROFILE && p->created_at_ms != BW_TIME_NONE &&
	    p->created_at_ms > bw_time_now_ms() + BW_DEC_MAX_FUTURE_MS) {
		char when[40];
		bw_time_format(p->created_at_ms, when, sizeof(when));
		dec_dlq(d, BW_DLQ_FUTURE_TIME, "%s%s%s is dated %s, more than a day after the clock",
			bw_post_kind_name(p->kind), p->id ? " " : "", p->id ? p->id : "", when);
		return 0;
	}
	if (d->releasing && !(p->kind == BW_POST_PROFILE && p->created_at_ms == BW_TIME_NONE))
		return 0; /* emitted when the unit was first decoded */
	if (!d->releasing && p->author.created_at_ms != BW_TIME_NONE &&
	    (d->max_account_ms == BW_TIME_NONE || p->author.created_at_ms > d->max_account_ms))
		d->max_account_ms = p->author.created_at_ms;
	if (p->kind == BW_POST_PROFILE && p->created_at_ms == BW_TIME_NONE) {
		if (!d->releasing)
			return d->unit_held ? 0 : hold_profile(d);
		p->created_at_ms = d->release_probe_ms;
		p->flags |= BW_POSTF_PROBE_DEFAULT;
		d->stats.probe_inferred++;
	}
	if (p->kind != BW_POST_PROFILE)
		dec_note_event(d, p->created_at_ms);
	d->stats.posts++;
	ingest_expect_check(p);
	if (p->flags & BW_POSTF_EMBEDDED)
		d->stats.embedded++;
	rc = d->opts.on_post(p, d->opts.opaque);
	return rc;
}

int dec_emit_embedded(struct bw_decoder *d)
{
	int rc = 0;

	for (size_t i = 0; i < d->n_embedded && !rc; i++)
		rc = dec_emit(d, d->embedded[i]);
	d->n_embedded = 0;
	return rc;
}

int dec_emit_status(struct bw_decoder *d, jd_val st, dec_fill_fn fill)
{
	struct bw_post *p = dx_post_new(d);
	int rc;

	if (!p)
		return dec_emit(d, &(struct bw_post){ .kind = BW_POST_ORIGINAL });
	fill(d, st, p, 0);
	rc = dec_emit(d, p);
	if (!rc)
		rc = dec_emit_embedded(d);
	d->n_embedded = 0;
	return rc;
}

/* Copy of the current unit's text for later re-decoding. Past the cap the
 * held units are released before the next unit (not now: the current unit's
 * document and arena are still in use). */
static int hold_profile(struct bw_decoder *d)
{
	struct dec_held *h;

	if (d->n_held == d->cap_held) {
		size_t cap = d->cap_held ? d->cap_held * 2 : 256;
		struct dec_held *n = realloc(d->held, cap * sizeof(*n));
		if (!n)
			goto out_nomem;
		d->held = n;
		d->cap_held = cap;
	}
	h = &d->held[d->n_held];
	h->buf = malloc(d->unit_len ? d->unit_len : 1);
	h->source = strdup(d->src ? d->src : "-");
	if (!h->buf || !h->source) {
		free(h->buf);
		free(h->source);
		goto out_nomem;
	}
	memcpy(h->buf, d->unit, d->unit_len);
	h->len = d->unit_len;
	h->line = d->line;
	d->n_held++;
	d->held_bytes += d->unit_len;
	d->unit_held = true;
	if (d->held_bytes > d->opts.max_held_bytes && !d->release_due) {
		BW_WARN("decoder: more than %zu bytes of profile records wait for a probe time; "
			"releasing them with the latest event time seen so far",
			d->opts.max_held_bytes);
		d->release_due = true;
	}
	return 0;

out_nomem:
	BW_ERROR("decoder: out of memory holding a profile record (%s:%llu)", d->src ? d->src : "-",
		 (unsigned long long)d->line);
	return BW_ENOMEM;
}

/* Top-level keys that decide a unit's shape, read in one pass (jd_pick). */
enum {
	K_DATA, K_ERRORS, K_ID, K_ID_STR, K_DID, K_KIND, K_ACCOUNT, K_CONTENT, K_URI, K_TEXT,
	K_FULL_TEXT, K_EXTENDED_TWEET, K_AUTHOR_ID, K_AUTHOR, K_USER, K_STATUSES, K_V,
	K_CONTROL, /* v1.1 control messages from here on, in this order */
	K_CTRL_LAST = K_CONTROL + 13,
	K__N
};

static const struct jd_key shape_keys[K__N] = {
	JD_KEY("data"), JD_KEY("errors"), JD_KEY("id"), JD_KEY("id_str"), JD_KEY("did"),
	JD_KEY("kind"), JD_KEY("account"), JD_KEY("content"), JD_KEY("uri"), JD_KEY("text"),
	JD_KEY("full_text"), JD_KEY("extended_tweet"), JD_KEY("author_id"), JD_KEY("author"),
	JD_KEY("user"), JD_KEY("statuses"), JD_KEY("v"),
	JD_KEY("delete"), JD_KEY("limit"), JD_KEY("scrub_geo"), JD_KEY("status_withheld"),
	JD_KEY("user_withheld"), JD_KEY("warning"), JD_KEY("disconnect"), JD_KEY("friends"),
	JD_KEY("friends_str"), JD_KEY("control"), JD_KEY("event"), JD_KEY("for_user"),
	JD_KEY("direct_message"), JD_KEY("status_withheld_in_countries"),
};

/* Present and not null. */
static bool has(jd_val v)
{
	enum jd_type t = jd_type(v);
	return t != JD_NONE && t != JD_NULL;
}

/* The shapes a JSON object can have (docs/POST.md), in detection order. */
enum shape {
	SH_RECORD, SH_V2_ENVELOPE, SH_JETSTREAM, SH_MASTODON, SH_V2_FLAT, SH_V1_STATUS,
	SH_PROFILE, SH_V1_CONTROL, SH_SEARCH, SH_UNKNOWN,
};

static const char *const shape_names[] = {
	"a botwatch record", "a v2 stream line or page", "a Bluesky Jetstream event",
	"a Mastodon status", "a single v2 tweet", "a v1.1 status", "a profile-only record",
	"a v1.1 control message", "a v1.1 search response", "an object of no known shape",
};

#define SH(s) (1u << (s))

/* Per ingest.format: the shapes it accepts and how the DLQ describes them. */
static const struct {
	unsigned shapes;      /* SH() mask */
	const char *expected; /* for wrong_format details */
} formats[] = {
	[INGEST_FORMAT_AUTO] = { ~0u, "any shape" },
	[INGEST_FORMAT_V11] = { SH(SH_V1_STATUS) | SH(SH_PROFILE) | SH(SH_V1_CONTROL) | SH(SH_SEARCH),
				"a v1.1 status, control message, timeline, search response or "
				"profile-only record" },
	[INGEST_FORMAT_V2] = { SH(SH_V2_ENVELOPE) | SH(SH_V2_FLAT), "a v2 stream line, page or tweet" },
	[INGEST_FORMAT_TWARC2] = { SH(SH_V2_ENVELOPE) | SH(SH_V2_FLAT),
				   "a twarc2 page or flattened tweet" },
	[INGEST_FORMAT_SSE] = { SH(SH_MASTODON), "a Mastodon status in an SSE event" },
	[INGEST_FORMAT_NDJSON] = { ~0u, "any shape" },
};

void dec_wrong_format(struct bw_decoder *d, const char *what)
{
	dec_dlq(d, BW_DLQ_WRONG_FORMAT, "ingest.format is %s: expected %s, got %s",
		ingest_format_name(d->opts.format), formats[d->opts.format].expected, what);
}

static enum shape shape_of(const jd_val *k)
{
	enum jd_type data = jd_type(k[K_DATA]);

	if (jd_type(k[K_V]) == JD_INT && jd_type(k[K_KIND]) == JD_STRING &&
	    jd_type(k[K_AUTHOR]) == JD_OBJECT)
		return SH_RECORD; /* our own output, read back */
	if (data == JD_ARRAY || data == JD_OBJECT ||
	    (jd_type(k[K_ERRORS]) == JD_ARRAY && !has(k[K_ID])))
		return SH_V2_ENVELOPE;
	if (has(k[K_DID]) && has(k[K_KIND]))
		return SH_JETSTREAM;
	if (jd_type(k[K_ACCOUNT]) == JD_OBJECT && (has(k[K_CONTENT]) || has(k[K_URI])))
		return SH_MASTODON;
	if (has(k[K_TEXT]) || has(k[K_FULL_TEXT]) || has(k[K_EXTENDED_TWEET]))
		return has(k[K_AUTHOR_ID]) || jd_type(k[K_AUTHOR]) == JD_OBJECT ? SH_V2_FLAT
										 : SH_V1_STATUS;
	if (jd_type(k[K_USER]) == JD_OBJECT)
		return has(k[K_ID]) || has(k[K_ID_STR]) ? SH_V1_STATUS : SH_PROFILE;
	for (int i = K_CONTROL; i <= K_CTRL_LAST; i++)
		if (jd_exists(k[i]))
			return SH_V1_CONTROL;
	if (jd_type(k[K_STATUSES]) == JD_ARRAY)
		return SH_SEARCH;
	return SH_UNKNOWN;
}

/* Decide the shape of one JSON object and decode it. */
static int dec_object(struct bw_decoder *d, jd_val o)
{
	jd_val k[K__N], e;
	jd_iter it;
	enum shape sh;
	int rc = 0;

	jd_pick(o, shape_keys, K__N, k);
	sh = shape_of(k);
	if (sh != SH_UNKNOWN && !(formats[d->opts.format].shapes & SH(sh))) {
		dec_wrong_format(d, shape_names[sh]);
		return 0;
	}
	switch (sh) {
	case SH_RECORD:
		return dec_record(d, o);
	case SH_V2_ENVELOPE:
		return dec_v2_envelope(d, o);
	case SH_JETSTREAM:
		return dec_jetstream(d, o);
	case SH_MASTODON:
		return dec_mastodon_status(d, o);
	case SH_V2_FLAT:
		return dec_v2_flat(d, o);
	case SH_V1_STATUS:
		return dec_v1_status(d, o);
	case SH_PROFILE:
		return dec_profile_only(d, o);
	case SH_V1_CONTROL:
		for (int i = K_CONTROL; i <= K_CTRL_LAST; i++)
			if (jd_exists(k[i]))
				return dec_v1_control(d, o, shape_keys[i].name);
		break;
	case SH_SEARCH:
		jd_arr_begin(k[K_STATUSES], &it);
		while (!rc && jd_arr_next(&it, &e))
			rc = dec_value(d, e);
		return rc;
	case SH_UNKNOWN:
		break;
	}
	dec_dlq(d, BW_DLQ_UNKNOWN_SHAPE, "a JSON object of no known shape");
	return 0;
}

int dec_value(struct bw_decoder *d, jd_val root)
{
	jd_iter it;
	jd_val e;
	int rc = 0;

	d->fault = -1;
	d->n_embedded = 0;
	switch (jd_type(root)) {
	case JD_OBJECT:
		return dec_object(d, root);
	case JD_ARRAY:
		/* a REST timeline (or an array of control messages): one unit each */
		jd_arr_begin(root, &it);
		while (!rc && jd_arr_next(&it, &e)) {
			d->fault = -1;
			d->n_embedded = 0;
			if (jd_type(e) == JD_OBJECT)
				rc = dec_object(d, e);
			else
				dec_dlq(d, BW_DLQ_UNKNOWN_SHAPE, "array element is not an object");
		}
		return rc;
	default:
		dec_dlq(d, BW_DLQ_UNKNOWN_SHAPE, "a JSON scalar, not an object or array");
		return 0;
	}
}

static bool all_space(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n')
			return false;
	return true;
}


int dec_unit(struct bw_decoder *d, const char *buf, size_t len, const char *source, uint64_t line)
{
	char detail[160];
	jd_val root;
	enum jd_err e;

	if (d->release_due && !d->releasing) {
		int rc = ingest_decoder_finish(d);
		if (rc)
			return rc;
	}
	bw_arena_reset(d->arena);
	d->oom = false;
	d->unit_held = false;
	d->src = source;
	d->line = line;
	d->unit = buf;
	d->unit_len = len;
	if (all_space(buf, len)) {
		dec_ctrl(d, BW_CTRL_KEEPALIVE);
		return 0;
	}
	if (len > d->opts.max_unit_bytes) {
		dec_dlq(d, BW_DLQ_TOO_LARGE, "unit of %zu bytes exceeds the %zu-byte cap", len,
			d->opts.max_unit_bytes);
		return 0;
	}
	e = jd_parse(d->jp, buf, len, &root, detail, sizeof(detail));
	switch (e) {
	case JD_OK: {
		int rc = dec_value(d, root);
		if (!rc && d->oom)
			rc = BW_ENOMEM; /* a record was dropped for it, never dead-lettered */
		if (rc == BW_ENOMEM)
			BW_ERROR("decoder: out of memory decoding %s:%llu", source ? source : "-",
				 (unsigned long long)line);
		return rc;
	}
	case JD_E_DEPTH:
		dec_dlq(d, BW_DLQ_TOO_DEEP, "nesting deeper than %d levels", d->opts.max_depth);
		return 0;
	case JD_E_UTF8:
		dec_dlq(d, BW_DLQ_INVALID_UTF8, "%s", detail);
		return 0;
	case JD_E_NUMBER:
		dec_dlq(d, BW_DLQ_NUMBER_RANGE, "%s (integers must fit 64 bits, numbers a double)",
			detail);
		return 0;
	case JD_E_CAPACITY:
		dec_dlq(d, BW_DLQ_TOO_LARGE, "unit of %zu bytes exceeds the %zu-byte cap", len,
			d->opts.max_unit_bytes);
		return 0;
	case JD_E_NOMEM:
		BW_ERROR("decoder: out of memory parsing %s:%llu", source ? source : "-",
			 (unsigned long long)line);
		return BW_ENOMEM;
	case JD_E_SYNTAX:
	default:
		dec_dlq(d, BW_DLQ_INVALID_JSON, "%s", detail);
		return 0;
	}
}

int ingest_decode_unit(struct bw_decoder *d, const char *buf, size_t len, const char *source,
		       uint64_t line)
{
	d->stats.units++;
	d->stats.bytes += len;
	return dec_unit(d, buf, len, source, line);
}

int ingest_decoder_finish(struct bw_decoder *d)
{
	struct dec_held *held = d->held;
	size_t n = d->n_held;
	int rc = 0;

	d->release_due = false;
	if (!n)
		return 0;
	if (d->max_event_ms != BW_TIME_NONE)
		d->release_probe_ms = d->max_event_ms;
	else {
		char when[40] = "none";
		d->release_probe_ms = d->max_account_ms;
		if (d->max_account_ms != BW_TIME_NONE)
			bw_time_format(d->max_account_ms, when, sizeof(when));
		BW_WARN("decoder: the input holds no event times; %zu profile records take the latest "
			"account creation time (%s) as their probe time; pass --probe-time to set it",
			n, when);
	}
	/* detach the list first: re-decoding must not hold again */
	d->held = NULL;
	d->n_held = d->cap_held = 0;
	d->held_bytes = 0;
	d->releasing = true;
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = dec_unit(d, held[i].buf, held[i].len, held[i].source, held[i].line);
		free(held[i].buf);
		free(held[i].source);
	}
	free(held);
	d->releasing = false;
	return rc;
}

json_t *bw_dlq_to_json(const struct bw_dlq_rec *rec)
{
	char buf[1024];
	json_t *o = json_object();
	const char *detail = rec->detail ? rec->detail : "";
	const char *source = rec->source ? rec->source : "-";

	if (!o)
		return NULL;
	json_object_set_new(o, "reason", json_string(bw_dlq_reason_name(rec->reason)));
	dec_utf8_excerpt(buf, sizeof(buf), detail, strnlen(detail, 300));
	json_object_set_new(o, "detail", json_string(buf));
	dec_utf8_excerpt(buf, sizeof(buf), source, strnlen(source, 300));
	json_object_set_new(o, "source", json_string(buf));
	json_object_set_new(o, "line", json_integer((json_int_t)rec->line));
	json_object_set_new(o, "excerpt", json_string(rec->excerpt ? rec->excerpt : ""));
	return o;
}
