/*
 * decode_file.c — files and buffers: plain or gzip (zlib detects the magic),
 * stdin, and the choice between NDJSON, one JSON document spanning lines,
 * and an SSE body, made once from the start of the input.
 *
 * Pipes, stdin and other non-regular files are read with read(2) as data
 * arrives (a plain line is decoded as soon as its '\n' is in; gzip on a pipe
 * is inflated incrementally): `tail -f archive.ndjson | botwatch ingest
 * --source -` sees each post at once. gzread() would instead block until its
 * 256 KB buffer fills.
 *
 * Lines are capped at opts.max_unit_bytes: a longer line is consumed (never
 * buffered past the cap) and dead-lettered as too_large.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bw_err.h"

#define READ_CHUNK ((size_t)256 << 10)

/* A line reader over a gzFile, a file descriptor or a memory buffer. */
struct rd {
	gzFile gz;         /* gzip regular file, or NULL */
	int fd;            /* plain regular file, pipe or stdin read directly, or -1 */
	bool pipe;         /* fd is not a regular file: sniff gzip on the first read */
	bool sniffed;      /* the first bytes of the pipe were looked at */
	z_stream *zs;      /* gzip arriving on a pipe: incremental inflate, or NULL */
	unsigned char *zin;/* its input buffer (READ_CHUNK bytes) */
	bool zend;         /* the last inflate ended a gzip member (clean end) */
	char *buf;         /* read buffer (file) or the caller's bytes (memory) */
	size_t pos, len;   /* consumed / valid bytes in buf */
	bool eof;          /* no more input after buf */
	int err;           /* BW_EIO after a read error */
	char *lb;          /* assembly buffer for lines crossing reads */
	size_t lb_cap;     /* its allocation */
	size_t max;        /* line cap */
	uint64_t line_no;  /* lines returned so far */
	uint64_t bytes;    /* bytes consumed */
	char errmsg[160];  /* read error detail */
};

/* read(2) what is there (at least one byte, or 0 at end); -1 with errmsg. */
static ssize_t rd_read(struct rd *r, void *buf, size_t cap)
{
	ssize_t got;

	do
		got = read(r->fd, buf, cap);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", strerror(errno));
		r->err = BW_EIO;
		r->eof = true;
	}
	return got;
}

/* Start inflating a gzip pipe whose first `have` bytes are in r->buf. */
static int rd_zstart(struct rd *r, size_t have)
{
	if (!(r->zs = calloc(1, sizeof(*r->zs))) || !(r->zin = malloc(READ_CHUNK)))
		return BW_ENOMEM;
	if (inflateInit2(r->zs, 15 + 16) != Z_OK)
		return BW_ENOMEM;
	memcpy(r->zin, r->buf, have);
	r->zs->next_in = r->zin;
	r->zs->avail_in = (uInt)have;
	return 0;
}

/* Inflate what the pipe delivered into r->buf: bytes produced, 0 at a clean
 * end, -1 on error (errmsg set). Returns as soon as any output exists. */
static ssize_t rd_zfill(struct rd *r)
{
	z_stream *zs = r->zs;

	for (;;) {
		if (zs->avail_in == 0) {
			ssize_t got = rd_read(r, r->zin, READ_CHUNK);
			if (got < 0)
				return -1;
			if (got == 0) {
				if (r->zend)
					return 0;
				snprintf(r->errmsg, sizeof(r->errmsg),
					 "truncated gzip input: unexpected end of file (the data "
					 "before the cut was decoded)");
				r->err = BW_EIO;
				return -1;
			}
			zs->next_in = r->zin;
			zs->avail_in = (uInt)got;
		}
		if (r->zend) { /* another member follows (concatenated gzip) */
			inflateReset(zs);
			r->zend = false;
		}
		zs->next_out = (Bytef *)r->buf;
		zs->avail_out = (uInt)READ_CHUNK;
		int zrc = inflate(zs, Z_NO_FLUSH);
		if (zrc == Z_STREAM_END)
			r->zend = true;
		else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			snprintf(r->errmsg, sizeof(r->errmsg), "gzip: %s",
				 zs->msg ? zs->msg : "corrupt data");
			r->err = BW_EIO;
			return -1;
		}
		size_t out = READ_CHUNK - zs->avail_out;
		if (out)
			return (ssize_t)out;
	}
}

/* A pipe: plain bytes as they arrive, or gzip inflated as it arrives. */
static ssize_t rd_pipe_fill(struct rd *r)
{
	ssize_t got;

	if (r->zs)
		return rd_zfill(r);
	if ((got = rd_read(r, r->buf, READ_CHUNK)) <= 0 || r->sniffed)
		return got;
	r->sniffed = true;
	if ((unsigned char)r->buf[0] == 0x1f && got == 1) { /* wait for the second byte */
		ssize_t more = rd_read(r, r->buf + 1, READ_CHUNK - 1);
		if (more < 0)
			return -1;
		got += more;
	}
	if (got >= 2 && (unsigned char)r->buf[0] == 0x1f && (unsigned char)r->buf[1] == 0x8b) {
		if (rd_zstart(r, (size_t)got)) {
			snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
			r->err = BW_ENOMEM;
			return -1;
		}
		return rd_zfill(r);
	}
	return got;
}

static bool rd_fill(struct rd *r)
{
	int n;

	if (r->eof || (!r->gz && r->fd < 0))
		return r->eof = true, false;
	if (r->pipe) {
		ssize_t got = rd_pipe_fill(r);
		if (got < 0) {
			r->eof = true;
			return false;
		}
		n = (int)got;
	} else if (r->fd >= 0) {
		ssize_t got;
		do
			got = read(r->fd, r->buf, READ_CHUNK);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			snprintf(r->errmsg, sizeof(r->errmsg), "%s", strerror(errno));
			r->err = BW_EIO;
			r->eof = true;
			return false;
		}
		n = (int)got;
	} else if ((n = gzread(r->gz, r->buf, (unsigned)READ_CHUNK)) < 0) {
		int zerr;
		const char *m = gzerror(r->gz, &zerr);
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", zerr == Z_ERRNO ? strerror(errno) : m);
		r->err = BW_EIO;
		r->eof = true;
		return false;
	}
	if (n == 0 && r->gz) {
		/* zlib reports a gzip stream cut before its trailer (or inside a
		 * member) only here, as Z_BUF_ERROR at end of input: without this
		 * check a truncated .gz would replay "successfully" */
		int zerr;
		gzerror(r->gz, &zerr);
		if (zerr == Z_BUF_ERROR) {
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "truncated gzip input: unexpected end of file (the data before "
				 "the cut was decoded)");
			r->err = BW_EIO;
			r->eof = true;
			return false;
		}
	}
	r->pos = 0;
	r->len = (size_t)n;
	if (n == 0)
		r->eof = true;
	return n > 0;
}

/* Append to the assembly buffer, keeping at most max + 1 bytes (and at
 * least the bytes a DLQ excerpt quotes, even under a tiny cap). */
static int lb_add(struct rd *r, size_t *have, const char *s, size_t n)
{
	size_t keep = r->max + 1 > DEC_EXCERPT_BYTES ? r->max + 1 : DEC_EXCERPT_BYTES;
	size_t room = keep > *have ? keep - *have : 0;
	if (n > room)
		n = room;
	if (*have + n > r->lb_cap) {
		size_t cap = r->lb_cap ? r->lb_cap : 65536;
		while (cap < *have + n)
			cap *= 2;
		char *nb = realloc(r->lb, cap);
		if (!nb)
			return BW_ENOMEM;
		r->lb = nb;
		r->lb_cap = cap;
	}
	memcpy(r->lb + *have, s, n);
	*have += n;
	return 0;
}

/* Next line: 1 with *line,*len (borrowed until the next call; *len is the
 * full length even when only max + 1 bytes were kept), 0 at end, or < 0. */
static int rd_line(struct rd *r, const char **line, size_t *len)
{
	size_t have = 0, total = 0;
	bool any = false;

	for (;;) {
		if (r->pos == r->len && !rd_fill(r)) {
			if (r->err)
				return r->err;
			if (!any)
				return 0;
			break;
		}
		char *start = r->buf + r->pos;
		char *nl = memchr(start, '\n', r->len - r->pos);
		size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
		any = true;
		r->pos += n + (nl ? 1 : 0);
		r->bytes += n + (nl ? 1 : 0);
		if (nl && total == 0) { /* the common case: no copy */
			*line = start;
			*len = n;
			r->line_no++;
			return 1;
		}
		if (lb_add(r, &have, start, n))
			return BW_ENOMEM;
		total += n;
		if (nl)
			break;
	}
	*line = r->lb ? r->lb : "";
	*len = total;
	r->line_no++;
	return 1;
}

static bool is_sse_start(const char *l, size_t n)
{
	static const char *const fields[] = { "event:", "data:", "id:", "retry:" };
	if (n && l[0] == ':')
		return true;
	for (size_t i = 0; i < 4; i++) {
		size_t k = strlen(fields[i]);
		if (n >= k && memcmp(l, fields[i], k) == 0)
			return true;
	}
	return false;
}

/* Dead-letter one line that does not belong to the input's format. */
static void line_wrong_format(struct bw_decoder *d, const char *line, size_t len, uint64_t no,
			      const char *src, const char *what)
{
	d->src = src, d->line = no, d->unit = line, d->unit_len = len;
	d->stats.units++;
	dec_wrong_format(d, what);
}

/* One NDJSON line (a unit); too-long lines are dead-lettered here, and under
 * a forced JSON format (ingest.format) so are SSE lines. */
static int nd_line(struct bw_decoder *d, const char *line, size_t len, uint64_t no,
		   const char *src)
{
	if (d->opts.format != INGEST_FORMAT_AUTO && is_sse_start(line, len)) {
		line_wrong_format(d, line, len, no, src, "an SSE line");
		return 0;
	}
	/* a line over the cap holds only its first max + 1 bytes but reports its
	 * full length: dec_unit() dead-letters it as too_large from the excerpt */
	d->stats.units++;
	return dec_unit(d, line, len, src, no);
}

static int sse_line(struct bw_decoder *d, struct ingest_sse *sse, const char *line, size_t len,
		    uint64_t no, const char *src)
{
	struct ingest_sse_event ev;
	int rc;

	/* a line over the cap holds only its first max + 1 bytes (rd_line()):
	 * not fed; its event is dropped and dead-lettered here */
	if (len > d->opts.max_unit_bytes) {
		ingest_sse_skip_event(sse);
		d->src = src, d->line = no, d->unit = line, d->unit_len = len;
		d->stats.units++;
		dec_dlq(d, BW_DLQ_TOO_LARGE, "SSE line of %zu bytes exceeds the %zu-byte cap", len,
			d->opts.max_unit_bytes);
		return 0;
	}
	/* auto ignores unknown field lines, as SSE does; a forced sse body has none */
	if (d->opts.format == INGEST_FORMAT_SSE && len && !(len == 1 && line[0] == '\r') &&
	    !is_sse_start(line, len)) {
		line_wrong_format(d, line, len, no, src,
				  "a line that is not an SSE field (event:, data:, id:, retry:, "
				  "a ':' comment or a blank line)");
		return 0;
	}
	rc = ingest_sse_feed_line(sse, line, len, no, &ev);
	if (rc == INGEST_SSE_EVENT) {
		d->stats.units++;
		return dec_sse_event(d, &ev, src);
	}
	if (rc == INGEST_SSE_COMMENT) {
		dec_ctrl(d, BW_CTRL_KEEPALIVE);
	} else if (rc == BW_ETOOLARGE) {
		d->src = src, d->line = no, d->unit = line, d->unit_len = len;
		d->stats.units++;
		dec_dlq(d, BW_DLQ_TOO_LARGE, "SSE event data exceeds the %zu-byte cap",
			d->opts.max_unit_bytes);
	} else if (rc < 0) {
		return rc;
	}
	return 0;
}

/*
 * A saved v1.1 `delimited=length` capture: every status is preceded by a line
 * holding only its length in decimal. Such a line is framing when the next
 * line starts a JSON object of that many bytes (with or without its "\n" or
 * "\r\n": Twitter counts the "\r\n", a file may have lost the "\r");
 * otherwise it is decoded as a unit of its own (and dead-lettered).
 */
struct len_hold {
	char text[24];   /* the length line (digits, maybe a trailing '\r') */
	size_t n;        /* its bytes; 0 = no length line waiting */
	uint64_t line;   /* its line number */
	uint64_t value;  /* the byte count it announces */
};

/* Whether this input reads length lines as framing. */
static bool len_framing(const struct bw_decoder *d)
{
	return d->opts.format == INGEST_FORMAT_AUTO || d->opts.format == INGEST_FORMAT_V11;
}

/* A line of 1 to 10 decimal digits (and an optional '\r'): hold it, true. */
static bool len_take(struct len_hold *h, const char *l, size_t n, uint64_t no)
{
	size_t digits;
	uint64_t v = 0;

	if (n == 0 || n > 11)
		return false;
	digits = l[n - 1] == '\r' ? n - 1 : n;
	if (digits == 0)
		return false;
	for (size_t i = 0; i < digits; i++) {
		if (l[i] < '0' || l[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(l[i] - '0');
	}
	memcpy(h->text, l, n);
	h->n = n;
	h->line = no;
	h->value = v;
	return true;
}

/* Whether line l[0..n) is the status the held length line announces. */
static bool len_matches(const struct len_hold *h, const char *l, size_t n)
{
	size_t json = n && l[n - 1] == '\r' ? n - 1 : n;

	return n && l[0] == '{' && h->value >= json && h->value <= json + 2;
}

/* One NDJSON line, with the length lines of a delimited=length capture
 * recognised as framing (struct len_hold). A line over the cap holds only
 * its first max + 1 bytes (rd_line()): it is never framing, nor matched. */
static int nd_framed(struct bw_decoder *d, struct len_hold *h, const char *l, size_t n,
		     uint64_t no, const char *src)
{
	int rc = 0;

	if (h->n) {
		if (n <= d->opts.max_unit_bytes && len_matches(h, l, n))
			d->stats.length_lines++;
		else
			rc = nd_line(d, h->text, h->n, h->line, src);
		h->n = 0;
		if (rc)
			return rc;
	}
	if (len_framing(d) && len_take(h, l, n, no))
		return 0;
	return nd_line(d, l, n, no, src);
}

/* Replay buffered lines (joined by '\n', first numbered `first`) as NDJSON. */
static int replay_lines(struct bw_decoder *d, struct len_hold *h, const char *doc, size_t len,
			uint64_t first, const char *src)
{
	size_t p = 0;
	int rc = 0;

	for (uint64_t no = first; p <= len && !rc; no++) {
		const char *nl = memchr(doc + p, '\n', len - p);
		size_t n = nl ? (size_t)(nl - (doc + p)) : len - p;
		rc = nd_framed(d, h, doc + p, n, no, src);
		if (!nl)
			break;
		p += n + 1;
	}
	return rc;
}

/* Bytes of a multi-line document gathered from the first line on. */
struct docbuf {
	char *b;      /* joined lines */
	size_t len;   /* bytes used */
	size_t cap;   /* allocated */
};

static int doc_add(struct docbuf *db, const char *s, size_t n, bool sep)
{
	size_t need = db->len + n + 2;
	if (need > db->cap) {
		size_t cap = db->cap ? db->cap : 65536;
		while (cap < need)
			cap *= 2;
		char *nb = realloc(db->b, cap);
		if (!nb)
			return BW_ENOMEM;
		db->b = nb;
		db->cap = cap;
	}
	if (sep)
		db->b[db->len++] = '\n';
	memcpy(db->b + db->len, s, n);
	db->len += n;
	return 0;
}

/*
 * The first line is not valid JSON on its own: gather lines while they fit
 * the cap. A complete valid document is decoded as one unit; otherwise the
 * gathered lines are decoded as NDJSON (and reading continues as NDJSON).
 * *done is set when the input ended inside the gathered part.
 */
static int try_document(struct bw_decoder *d, struct rd *r, struct len_hold *h, const char *l1,
			size_t n1, const char *src, bool *done)
{
	struct docbuf db = { 0 };
	uint64_t first = r->line_no;
	const char *l;
	size_t n;
	jd_val root;
	int rc = doc_add(&db, l1, n1, false), more = 1;

	*done = false;
	while (!rc && (more = rd_line(r, &l, &n)) == 1) {
		if (db.len + 1 + n > d->opts.max_unit_bytes)
			break;
		rc = doc_add(&db, l, n, true);
	}
	if (rc || more < 0) {
		free(db.b);
		return rc ? rc : more;
	}
	if (more == 0 && jd_parse(d->jp, db.b, db.len, &root, NULL, 0) == JD_OK) {
		*done = true;
		d->stats.units++;
		rc = dec_unit(d, db.b, db.len, src, first);
		free(db.b);
		return rc;
	}
	rc = replay_lines(d, h, db.b, db.len, first, src);
	free(db.b);
	if (!rc && more == 1) /* the line that did not fit */
		rc = nd_framed(d, h, l, n, r->line_no, src);
	*done = more == 0;
	return rc;
}

/* Open the SSE assembler for a file that is an SSE body. */
static int sse_open(struct bw_decoder *d, struct ingest_sse **sse)
{
	return (*sse = ingest_sse_new(d->opts.max_unit_bytes)) ? 0 : BW_ENOMEM;
}

/*
 * The first non-blank line decides how the rest is read (docs/POST.md);
 * opts.format narrows it: sse reads an SSE body whatever the first line,
 * the JSON formats never switch to SSE, and ndjson never gathers a document.
 * Returns 0 or an error; *doc_done when the whole input was one document.
 */
static int first_line(struct bw_decoder *d, struct rd *r, struct len_hold *h, const char *l,
		      size_t n, const char *src, struct ingest_sse **sse, bool *doc, bool *doc_done)
{
	enum ingest_format f = d->opts.format;
	jd_val root;

	*doc = *doc_done = false;
	if (f == INGEST_FORMAT_SSE || (f == INGEST_FORMAT_AUTO && is_sse_start(l, n)))
		return sse_open(d, sse);
	if (f != INGEST_FORMAT_NDJSON && n <= d->opts.max_unit_bytes &&
	    jd_parse(d->jp, l, n, &root, NULL, 0) == JD_E_SYNTAX) {
		*doc = true;
		return try_document(d, r, h, l, n, src, doc_done);
	}
	return 0;
}

/* Decode everything r yields. */
static int decode_stream(struct bw_decoder *d, struct rd *r, const char *src)
{
	struct ingest_sse *sse = NULL;
	struct len_hold hold = { .n = 0 };
	const char *l;
	size_t n;
	int rc = 0, got;
	bool started = false, done = false;

	while (!rc && (got = rd_line(r, &l, &n)) == 1) {
		if (!started) {
			bool doc;
			size_t i = 0;
			while (i < n && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
				i++;
			if (i == n) { /* leading blank line */
				rc = nd_line(d, l, n, r->line_no, src);
				continue;
			}
			started = true;
			rc = first_line(d, r, &hold, l, n, src, &sse, &doc, &done);
			if (rc || done)
				break;
			if (doc)
				continue;
		}
		rc = sse ? sse_line(d, sse, l, n, r->line_no, src)
			 : nd_framed(d, &hold, l, n, r->line_no, src);
	}
	if (!rc && got < 0 && !done)
		rc = got;
	if (!rc && hold.n) /* a length line at the very end */
		rc = nd_line(d, hold.text, hold.n, hold.line, src);
	if (!rc && sse) {
		struct ingest_sse_event ev;
		if (ingest_sse_flush(sse, &ev) == INGEST_SSE_EVENT) {
			d->stats.units++;
			rc = dec_sse_event(d, &ev, src);
		}
	}
	ingest_sse_free(sse);
	free(r->lb);
	r->lb = NULL;
	d->stats.bytes += r->bytes;
	return rc;
}

int ingest_decode_buffer(struct bw_decoder *d, const char *buf, size_t len, const char *source)
{
	struct rd r = { 0 };

	r.fd = -1;
	r.buf = (char *)buf;
	r.len = len;
	r.eof = true;
	r.max = d->opts.max_unit_bytes;
	return decode_stream(d, &r, source ? source : "-");
}

/* A regular file without the gzip magic is read with read(2) directly, a
 * gzip file through zlib; stdin, pipes and other non-regular files with
 * read(2) as data arrives (gzip detected from the first bytes, rd_pipe_fill). */
static int open_source(struct rd *r, int fd, const char *path, char *errstr, size_t errlen)
{
	unsigned char magic[2];
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    !(pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
		r->fd = fd;
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r->fd = fd;
		r->pipe = true;
		return 0;
	}
	r->gz = gzdopen(fd, "rb");
	if (!r->gz) {
		close(fd);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "%s: cannot open (out of memory)", path);
	}
	gzbuffer(r->gz, (unsigned)READ_CHUNK);
	return 0;
}

int ingest_decode_file(struct bw_decoder *d, const char *path, char *errstr, size_t errlen)
{
	struct rd r = { 0 };
	bool is_stdin = strcmp(path, "-") == 0;
	int fd, rc;

	r.fd = -1;
	fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	if ((rc = open_source(&r, fd, path, errstr, errlen)))
		return rc;
	r.buf = malloc(READ_CHUNK);
	r.max = d->opts.max_unit_bytes;
	if (!r.buf)
		rc = bw_seterr(errstr, errlen, BW_ENOMEM, "%s: out of memory", path);
	else
		rc = decode_stream(d, &r, is_stdin ? "-" : path);
	free(r.buf);
	if (r.zs) {
		inflateEnd(r.zs);
		free(r.zs);
	}
	free(r.zin);
	if (r.gz)
		gzclose(r.gz);
	else
		close(r.fd);
	if (rc == BW_EIO)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: read error: %s", path, r.errmsg);
	if (rc == BW_ENOMEM)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "%s: out of memory", path);
	return rc;
}
