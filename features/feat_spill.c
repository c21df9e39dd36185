/*
 * feat_spill.c — the replay's on-disk store of idle account states (see
 * feat_spill.h): an unlinked temporary file, slots reused in place when the
 * state still fits, appends gathered in a write buffer.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bw_err.h"
#include "feat_spill.h"

#define SPILL_WBUF ((size_t)1 << 20) /* appends gathered before one write */
#define SPILL_MAX_STATE UINT32_MAX / 2 /* a slot's size must fit its uint32_t */

struct feat_spill {
	int fd;                        /* the unlinked file */
	uint64_t flushed;              /* bytes of the file written to it */
	unsigned char *wbuf;           /* appends not yet written: file bytes [flushed, flushed + wlen) */
	size_t wlen;                   /* bytes in wbuf */
	unsigned char *rbuf;           /* read buffer (grown as needed) */
	size_t rcap;                   /* its size */
	struct feat_spill_stats st;    /* counters */
};

struct feat_spill *feat_spill_new(const char *dir, char *errstr, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	struct feat_spill *s = calloc(1, sizeof(*s));
	char path[4096];

	if (!dir || !*dir)
		dir = tmp && *tmp ? tmp : "/tmp";
	if (!s || !(s->wbuf = malloc(SPILL_WBUF))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	if (snprintf(path, sizeof(path), "%s/botwatch-spill.XXXXXX", dir) >= (int)sizeof(path)) {
		bw_seterr(errstr, errlen, BW_EINVAL, "spill directory name too long");
		goto out_free;
	}
	if ((s->fd = mkstemp(path)) < 0) {
		bw_seterr(errstr, errlen, BW_EIO, "%s: cannot create the spill file: %s", dir,
			  strerror(errno));
		goto out_free;
	}
	unlink(path);
	return s;
out_free:
	if (s)
		free(s->wbuf);
	free(s);
	return NULL;
}

void feat_spill_free(struct feat_spill *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s->wbuf);
	free(s->rbuf);
	free(s);
}

static int write_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return BW_EIO;
		p += w, n -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

static int flush(struct feat_spill *s)
{
	int rc = write_all(s->fd, s->wbuf, s->wlen, s->flushed);
	if (!rc) {
		s->flushed += s->wlen;
		s->wlen = 0;
	}
	return rc;
}

/* Write bytes at file offset off, which is inside the file or its buffer. */
static int write_at(struct feat_spill *s, const void *p, size_t n, uint64_t off)
{
	if (off >= s->flushed) { /* (n fits: it is the slot's length or less) */
		memcpy(s->wbuf + (off - s->flushed), p, n);
		return 0;
	}
	return write_all(s->fd, p, n, off);
}

/* Append a slot of cap bytes holding p[0..n); its offset into *off. */
static int append(struct feat_spill *s, const void *p, size_t n, size_t cap, uint64_t *off)
{
	int rc;

	if (s->wlen + cap > SPILL_WBUF && s->wlen && (rc = flush(s)))
		return rc;
	*off = s->flushed + s->wlen;
	if (cap > SPILL_WBUF) { /* larger than the buffer: straight to the file */
		if ((rc = write_all(s->fd, p, n, *off)))
			return rc;
		s->flushed += cap; /* the slot's tail is a hole */
		return 0;
	}
	memcpy(s->wbuf + s->wlen, p, n);
	s->wlen += cap;
	return 0;
}

int feat_spill_put(struct feat_spill *s, const struct feat_account *a, struct feat_spill_loc *loc)
{
	void *buf = NULL;
	size_t n;
	int rc = feat_account_save(a, &buf, &n);

	if (rc)
		return rc;
	if (n > SPILL_MAX_STATE) {
		rc = BW_ETOOLARGE;
	} else if (loc->cap && n <= loc->cap) {
		rc = write_at(s, buf, n, loc->off);
		s->st.reused += !rc;
	} else {
		size_t cap = n + n / 4 + 16; /* room to grow before the next move */
		uint64_t off;
		if (!(rc = append(s, buf, n, cap, &off))) {
			loc->off = off;
			loc->cap = (uint32_t)cap;
			s->st.file_bytes = s->flushed + s->wlen;
		}
	}
	if (!rc) {
		loc->len = (uint32_t)n;
		s->st.puts++;
		s->st.bytes_put += n;
	}
	free(buf);
	return rc;
}

struct feat_account *feat_spill_get(struct feat_spill *s, const struct feat_spill_loc *loc,
				    char *errstr, size_t errlen)
{
	const unsigned char *p;

	if (!loc->cap) {
		bw_seterr(errstr, errlen, BW_ENOENT, "spill: no state at this location");
		return NULL;
	}
	if (loc->off >= s->flushed) {
		p = s->wbuf + (loc->off - s->flushed);
	} else {
		if (loc->len > s->rcap) {
			unsigned char *nb = realloc(s->rbuf, loc->len);
			if (!nb) {
				bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
				return NULL;
			}
			s->rbuf = nb;
			s->rcap = loc->len;
		}
		size_t got = 0;
		while (got < loc->len) {
			ssize_t r = pread(s->fd, s->rbuf + got, loc->len - got, (off_t)(loc->off + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				bw_seterr(errstr, errlen, BW_EIO, "spill file: read failed: %s",
					  r < 0 ? strerror(errno) : "short read");
				return NULL;
			}
			got += (size_t)r;
		}
		p = s->rbuf;
	}
	s->st.gets++;
	return feat_account_load(p, loc->len, errstr, errlen);
}

const struct feat_spill_stats *feat_spill_stats(const struct feat_spill *s)
{
	return &s->st;
}
