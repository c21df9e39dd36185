/*
 * feat_spill.c — the replay's on-disk store of idle account states (see
 * feat_spill.h): an unlinked temporary file mapped in segments of
 * SPILL_SEGMENT bytes. A state is written with a memcpy into the mapping and
 * read back straight from it (feat_account_load() parses the mapped bytes),
 * so spilling costs no system call besides growing the file by a segment;
 * the kernel writes the dirty pages back in the background and may drop
 * them under memory pressure. Slots never cross a segment boundary (a slot
 * that does not fit in what is left of a segment starts the next one).
 *
 * Measured before this layout: one pwrite per state rewritten in place made
 * the kernel's write path ~12 % of a replay of 400,000 accounts.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bw_err.h"
#include "feat_spill.h"

#define SPILL_SEGMENT ((uint64_t)64 << 20) /* bytes mapped at a time; a state is far smaller */

struct feat_spill {
	int fd;                        /* the unlinked file */
	unsigned char **seg;           /* mapped segments: file bytes [i * SEGMENT, (i + 1) * SEGMENT) */
	size_t n_seg;                  /* segments mapped (the file's size / SEGMENT) */
	size_t seg_cap;                /* entries allocated in seg */
	uint64_t end;                  /* where the next slot goes */
	struct feat_spill_stats st;    /* counters */
};

struct feat_spill *feat_spill_new(const char *dir, char *errstr, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	struct feat_spill *s = calloc(1, sizeof(*s));
	char path[4096];

	if (!dir || !*dir)
		dir = tmp && *tmp ? tmp : "/tmp";
	if (!s) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
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
	free(s);
	return NULL;
}

void feat_spill_free(struct feat_spill *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_seg; i++)
		munmap(s->seg[i], SPILL_SEGMENT);
	free(s->seg);
	close(s->fd);
	free(s);
}

/* Grow the file by one segment (its blocks reserved, so that a full disk is
 * an error here rather than a fault when the mapping is written) and map it. */
static int add_segment(struct feat_spill *s)
{
	off_t at = (off_t)(s->n_seg * SPILL_SEGMENT);
	void *m;

	if (s->n_seg == s->seg_cap) {
		size_t cap = s->seg_cap ? s->seg_cap * 2 : 16;
		unsigned char **ns = realloc(s->seg, cap * sizeof(*ns));
		if (!ns)
			return BW_ENOMEM;
		s->seg = ns;
		s->seg_cap = cap;
	}
	if (posix_fallocate(s->fd, at, (off_t)SPILL_SEGMENT))
		return BW_EIO;
	m = mmap(NULL, SPILL_SEGMENT, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, at);
	if (m == MAP_FAILED)
		return BW_EIO;
	s->seg[s->n_seg++] = m;
	s->st.file_bytes = s->n_seg * SPILL_SEGMENT;
	return 0;
}

static unsigned char *at(const struct feat_spill *s, uint64_t off)
{
	return s->seg[off / SPILL_SEGMENT] + off % SPILL_SEGMENT;
}

int feat_spill_put(struct feat_spill *s, const struct feat_account *a, struct feat_spill_loc *loc)
{
	void *buf = NULL;
	size_t n;
	int rc = feat_account_save(a, &buf, &n);

	if (rc)
		return rc;
	if (loc->cap && n <= loc->cap) {
		memcpy(at(s, loc->off), buf, n);
		s->st.reused++;
	} else {
		uint64_t cap = n + n / 4 + 16; /* room to grow before the next move */
		uint64_t room = SPILL_SEGMENT - s->end % SPILL_SEGMENT;
		if (cap > SPILL_SEGMENT) {
			rc = BW_ETOOLARGE;
			goto out_free;
		}
		if (cap > room)
			s->end += room; /* the segment's tail stays unused */
		while (!rc && s->end + cap > s->n_seg * SPILL_SEGMENT)
			rc = add_segment(s);
		if (rc)
			goto out_free;
		memcpy(at(s, s->end), buf, n);
		loc->off = s->end;
		loc->cap = (uint32_t)cap;
		s->end += cap;
	}
	loc->len = (uint32_t)n;
	s->st.puts++;
	s->st.bytes_put += n;
out_free:
	free(buf);
	return rc;
}

struct feat_account *feat_spill_read(const struct feat_spill *s, const struct feat_spill_loc *loc,
				     char *errstr, size_t errlen)
{
	if (!s || !loc->cap || loc->off + loc->len > s->end) {
		bw_seterr(errstr, errlen, BW_ENOENT, "spill: no state at this location");
		return NULL;
	}
	return feat_account_load(at(s, loc->off), loc->len, errstr, errlen);
}

struct feat_account *feat_spill_get(struct feat_spill *s, const struct feat_spill_loc *loc,
				    char *errstr, size_t errlen)
{
	struct feat_account *a = feat_spill_read(s, loc, errstr, errlen);
	s->st.gets += a != NULL;
	return a;
}

const struct feat_spill_stats *feat_spill_stats(const struct feat_spill *s)
{
	return &s->st;
}
