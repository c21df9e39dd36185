/*
 * stream_frame.c — bounded framing parsers for stream bodies: NDJSON lines,
 * Twitter v1.1 delimited=length and Server-Sent Events (see stream.h).
 *
 * Each parser works byte-range by byte-range on whatever the network
 * delivered, so a unit split across reads (or a length prefix split in the
 * middle) is reassembled. Memory is bounded by the unit cap.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "bw_err.h"

/* A byte buffer that never grows past `cap`. */
struct bbuf {
	char *data;  /* bytes (NUL-terminated past len) */
	size_t len;  /* bytes held */
	size_t size; /* allocated */
	size_t cap;  /* hard cap on len */
};

enum frame_state {
	ST_LINE = 0,    /* accumulating a line (LINES, SSE, LENGTH's length line) */
	ST_SKIP_LINE,   /* discarding the rest of an over-long line */
	ST_BODY,        /* LENGTH: reading `want` body bytes */
	ST_SKIP_BODY,   /* LENGTH: discarding `want` body bytes of an over-long frame */
	ST_SKIP_EVENT,  /* SSE: discarding the rest of an over-long event */
};

struct ingest_stream_framer {
	enum ingest_stream_framing framing; /* which parser */
	enum frame_state st;                /* parser state */
	size_t max_unit;                    /* unit cap */
	ingest_unit_cb cb;                  /* unit consumer */
	void *opaque;                       /* its argument */
	struct bbuf line;                   /* current line, or LENGTH body */
	struct bbuf data;                   /* SSE: data lines of the current event */
	char event[64];                     /* SSE: current event name ("" = message) */
	uint64_t want;                      /* LENGTH: body bytes still expected */
	uint64_t skipped;                   /* bytes of the unit being skipped so far */
	uint64_t skip_line;                 /* SSE skip: bytes of the current line so far */
	char skip_first;                    /* SSE skip: first byte of the current line */
	char excerpt[INGEST_EXCERPT_BYTES]; /* first bytes of the unit being skipped */
	size_t excerpt_len;                 /* bytes in excerpt */
};

static int bbuf_append(struct bbuf *b, const char *p, size_t n)
{
	if (n > b->cap - b->len)
		return BW_ETOOLARGE;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size ? b->size : 4096;
		char *d;
		while (size < b->len + n + 1)
			size *= 2;
		if (size > b->cap + 1)
			size = b->cap + 1;
		if (!(d = realloc(b->data, size)))
			return BW_ENOMEM;
		b->data = d;
		b->size = size;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

struct ingest_stream_framer *ingest_stream_framer_new(enum ingest_stream_framing framing,
						      size_t max_unit, ingest_unit_cb cb,
						      void *opaque)
{
	struct ingest_stream_framer *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->framing = framing;
	f->max_unit = max_unit;
	f->cb = cb;
	f->opaque = opaque;
	/* a line may carry a trailing "\r" (SSE: a field name) on top of the unit */
	f->line.cap = max_unit + (framing == INGEST_FRAMING_SSE ? 64 : 2);
	f->data.cap = max_unit;
	return f;
}

void ingest_stream_framer_free(struct ingest_stream_framer *f)
{
	if (!f)
		return;
	free(f->line.data);
	free(f->data.data);
	free(f);
}

size_t ingest_stream_framer_pending(const struct ingest_stream_framer *f)
{
	return f->line.len + f->data.len + (size_t)f->skipped;
}

size_t ingest_stream_framer_reset(struct ingest_stream_framer *f)
{
	size_t n = ingest_stream_framer_pending(f);

	f->line.len = f->data.len = 0;
	f->st = ST_LINE;
	f->want = f->skipped = f->skip_line = 0;
	f->event[0] = '\0';
	f->excerpt_len = 0;
	return n;
}

int ingest_stream_framing_parse(const char *name)
{
	if (strcmp(name, "lines") == 0)
		return INGEST_FRAMING_LINES;
	if (strcmp(name, "length") == 0)
		return INGEST_FRAMING_LENGTH;
	if (strcmp(name, "sse") == 0)
		return INGEST_FRAMING_SSE;
	return -1;
}

static int emit(struct ingest_stream_framer *f, enum ingest_unit_kind kind, const char *data,
		size_t len, uint64_t size, const char *event, const char *detail)
{
	struct ingest_unit u = { kind, data, len, size, event, detail };
	return f->cb(&u, f->opaque);
}

/* Start skipping an over-long unit whose first bytes are a[0..an) then b[0..bn). */
static void start_skip(struct ingest_stream_framer *f, enum frame_state st, const char *a,
		       size_t an, const char *b, size_t bn, uint64_t already)
{
	size_t k;

	f->st = st;
	f->excerpt_len = an < sizeof(f->excerpt) ? an : sizeof(f->excerpt);
	if (f->excerpt_len)
		memcpy(f->excerpt, a, f->excerpt_len);
	k = sizeof(f->excerpt) - f->excerpt_len;
	k = bn < k ? bn : k;
	if (k)
		memcpy(f->excerpt + f->excerpt_len, b, k);
	f->excerpt_len += k;
	f->skipped = already;
}

static int emit_too_large(struct ingest_stream_framer *f, uint64_t size)
{
	int rc = emit(f, INGEST_UNIT_TOO_LARGE, f->excerpt, f->excerpt_len, size, NULL,
		      "unit longer than ingest.max_line_bytes");
	f->skipped = 0;
	f->excerpt_len = 0;
	f->st = ST_LINE;
	return rc;
}

static bool all_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* LINES: one complete line (without '\n'). */
static int line_lines(struct ingest_stream_framer *f, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (all_blank(p, n))
		return emit(f, INGEST_UNIT_KEEPALIVE, p, 0, 0, NULL, NULL);
	if (n > f->max_unit) {
		start_skip(f, ST_LINE, p, n, NULL, 0, 0);
		return emit_too_large(f, n);
	}
	return emit(f, INGEST_UNIT_DATA, p, n, n, NULL, NULL);
}

/* LENGTH: a complete length line; sets up the body read. */
static int line_length(struct ingest_stream_framer *f, const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0, digits = 0;

	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n)
		return emit(f, INGEST_UNIT_KEEPALIVE, p, 0, 0, NULL, NULL);
	for (; i < n && p[i] >= '0' && p[i] <= '9' && digits < 12; i++, digits++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (i != n || v == 0)
		return emit(f, INGEST_UNIT_BAD_FRAME, p, n < INGEST_EXCERPT_BYTES ? n : INGEST_EXCERPT_BYTES,
			    n, NULL, "expected a decimal length line (delimited=length)");
	f->want = v;
	if (v > f->max_unit + 2) {
		f->st = ST_SKIP_BODY;
		f->skipped = 0;
		f->excerpt_len = 0;
	} else {
		f->st = ST_BODY;
	}
	return 0;
}

/* SSE: one complete line (without '\n'). */
static int line_sse(struct ingest_stream_framer *f, const char *p, size_t n)
{
	const char *colon;
	size_t name_len, vlen;
	const char *v;
	int rc = 0;

	if (n && p[n - 1] == '\r')
		n--;
	if (n == 0) { /* dispatch */
		if (f->data.len) {
			size_t dl = f->data.len;
			if (f->data.data[dl - 1] == '\n')
				f->data.data[--dl] = '\0'; /* the last newline is not data */
			rc = emit(f, INGEST_UNIT_DATA, f->data.data, dl, dl,
				  f->event[0] ? f->event : "message", NULL);
		}
		f->data.len = 0;
		f->event[0] = '\0';
		return rc;
	}
	if (p[0] == ':')
		return emit(f, INGEST_UNIT_KEEPALIVE, p, 0, 0, NULL, NULL);
	colon = memchr(p, ':', n);
	name_len = colon ? (size_t)(colon - p) : n;
	v = colon ? colon + 1 : p + n;
	vlen = colon ? n - name_len - 1 : 0;
	if (vlen && *v == ' ')
		v++, vlen--;
	if (name_len == 5 && memcmp(p, "event", 5) == 0) {
		size_t k = vlen < sizeof(f->event) - 1 ? vlen : sizeof(f->event) - 1;
		memcpy(f->event, v, k);
		f->event[k] = '\0';
	} else if (name_len == 4 && memcmp(p, "data", 4) == 0) {
		if (bbuf_append(&f->data, v, vlen) || bbuf_append(&f->data, "\n", 1)) {
			uint64_t had = f->data.len;
			start_skip(f, ST_SKIP_EVENT, f->data.data, f->data.len, v, vlen, had + vlen);
			f->data.len = 0;
		}
	}
	/* "id", "retry" and unknown fields are ignored, as the SSE spec says */
	return rc;
}

static int complete_line(struct ingest_stream_framer *f, const char *p, size_t n)
{
	switch (f->framing) {
	case INGEST_FRAMING_LINES:
		return line_lines(f, p, n);
	case INGEST_FRAMING_LENGTH:
		return line_length(f, p, n);
	case INGEST_FRAMING_SSE:
		return line_sse(f, p, n);
	}
	return 0;
}

/* ST_LINE: consume bytes up to and including the next '\n'. */
static int feed_line(struct ingest_stream_framer *f, const char **pp, const char *end)
{
	const char *p = *pp;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);
	int rc = 0;

	*pp = nl ? nl + 1 : end;
	if (nl && f->line.len == 0 && n <= f->line.cap)
		return complete_line(f, p, n); /* whole line in this read: no copy */
	if (bbuf_append(&f->line, p, n)) {
		start_skip(f, ST_SKIP_LINE, f->line.data, f->line.len, p, n, f->line.len + n);
		f->line.len = 0;
		if (nl)
			return emit_too_large(f, f->skipped);
		return 0;
	}
	if (nl) {
		rc = complete_line(f, f->line.data, f->line.len);
		f->line.len = 0;
	}
	return rc;
}

/* ST_SKIP_LINE / ST_SKIP_EVENT: discard to the end of the line / event. */
static int feed_skip_line(struct ingest_stream_framer *f, const char **pp, const char *end)
{
	const char *p = *pp;
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	uint64_t n = (uint64_t)((nl ? nl : end) - p);

	if (f->skip_line == 0 && n)
		f->skip_first = p[0];
	if (f->excerpt_len < sizeof(f->excerpt)) { /* the excerpt never depends on read sizes */
		size_t k = sizeof(f->excerpt) - f->excerpt_len;
		k = k < n ? k : (size_t)n;
		memcpy(f->excerpt + f->excerpt_len, p, k);
		f->excerpt_len += k;
	}
	f->skipped += n;
	f->skip_line += n;
	*pp = nl ? nl + 1 : end;
	if (!nl)
		return 0;
	/* a line of only "\r" is blank too; skip_line counts it */
	if (f->st == ST_SKIP_EVENT && !(f->skip_line == 0 || (f->skip_line == 1 && f->skip_first == '\r'))) {
		f->skipped++;
		f->skip_line = 0;
		return 0; /* not the blank line that ends the event */
	}
	f->skip_line = 0;
	if (f->st == ST_SKIP_EVENT)
		f->event[0] = '\0';
	return emit_too_large(f, f->skipped);
}

/* ST_BODY / ST_SKIP_BODY of LENGTH framing. */
static int feed_body(struct ingest_stream_framer *f, const char **pp, const char *end)
{
	size_t avail = (size_t)(end - *pp);
	size_t take = avail < f->want ? avail : (size_t)f->want;
	int rc = 0;

	if (f->st == ST_SKIP_BODY) {
		if (f->excerpt_len < sizeof(f->excerpt)) {
			size_t k = sizeof(f->excerpt) - f->excerpt_len;
			k = k < take ? k : take;
			memcpy(f->excerpt + f->excerpt_len, *pp, k);
			f->excerpt_len += k;
		}
		f->skipped += take;
	} else if (bbuf_append(&f->line, *pp, take)) {
		return BW_ENOMEM; /* cannot happen: want <= cap was checked */
	}
	*pp += take;
	f->want -= take;
	if (f->want)
		return 0;
	if (f->st == ST_SKIP_BODY)
		return emit_too_large(f, f->skipped);
	f->st = ST_LINE;
	size_t n = f->line.len;
	while (n && (f->line.data[n - 1] == '\n' || f->line.data[n - 1] == '\r'))
		n--;
	if (all_blank(f->line.data, n)) {
		rc = emit(f, INGEST_UNIT_KEEPALIVE, f->line.data, 0, 0, NULL, NULL);
	} else if (n > f->max_unit) { /* the frame had room for "\r\n" but not this much data */
		start_skip(f, ST_LINE, f->line.data, n, NULL, 0, n);
		rc = emit_too_large(f, n);
	} else {
		rc = emit(f, INGEST_UNIT_DATA, f->line.data, n, n, NULL, NULL);
	}
	f->line.len = 0;
	return rc;
}

int ingest_stream_framer_feed(struct ingest_stream_framer *f, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int rc = 0;

	while (p < end && !rc) {
		switch (f->st) {
		case ST_LINE:
			rc = feed_line(f, &p, end);
			break;
		case ST_SKIP_LINE:
		case ST_SKIP_EVENT:
			rc = feed_skip_line(f, &p, end);
			break;
		case ST_BODY:
		case ST_SKIP_BODY:
			rc = feed_body(f, &p, end);
			break;
		}
	}
	return rc;
}
