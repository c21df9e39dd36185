/*
 * stream_jetstream.c — what is particular to Bluesky's Jetstream beyond the
 * WebSocket transport (stream_ws.c): the subscribe URL with the wanted
 * collections and accounts, the cursor (an event's `time_us`) and its file,
 * and reading the zstd dictionary.
 *
 * The cursor file holds one line, "cursor <unix µs>\n", replaced atomically
 * (temporary file, fsync, rename) so a crash leaves the old or the new one.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bw_err.h"
#include "stream.h"

/* Append a then b at *n in out (cap bytes); BW_ETOOLARGE when they do not fit. */
static int url_add(char *out, size_t cap, size_t *n, const char *a, const char *b)
{
	int k = snprintf(out + *n, cap - *n, "%s%s", a, b);

	if (k < 0 || (size_t)k >= cap - *n)
		return BW_ETOOLARGE;
	*n += (size_t)k;
	return 0;
}

/* One `name=value` per comma-separated entry of `list` (values percent-encoded). */
static int url_list(char *out, size_t cap, size_t *n, char *sep, const char *name,
		    const char *list)
{
	char item[1024], enc[3072];
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item))
			return BW_ETOOLARGE;
		memcpy(item, p, len);
		item[len] = '\0';
		if (len) {
			if (ingest_stream_pct_encode(item, enc, sizeof(enc)) ||
			    url_add(out, cap, n, sep, name) || url_add(out, cap, n, "=", enc))
				return BW_ETOOLARGE;
			sep[0] = '&';
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

int ingest_js_url(const struct bw_config *cfg, const char *src, int64_t cursor_us, char *out,
		  size_t cap, char *errstr, size_t errlen)
{
	char sep[2] = { strchr(src, '?') ? '&' : '?', '\0' }, num[32];
	size_t n = 0;
	int rc = url_add(out, cap, &n, src, "");

	if (!rc && !strstr(src, "wantedCollections="))
		rc = url_list(out, cap, &n, sep, "wantedCollections", cfg->js_collections);
	if (!rc && !strstr(src, "wantedDids="))
		rc = url_list(out, cap, &n, sep, "wantedDids", cfg->js_dids);
	if (!rc && cfg->js_compress && !strstr(src, "compress=")) {
		rc = url_add(out, cap, &n, sep, "compress=true");
		sep[0] = '&';
	}
	if (!rc && cursor_us >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)cursor_us);
		if (!(rc = url_add(out, cap, &n, sep, "cursor=")))
			rc = url_add(out, cap, &n, num, "");
	}
	if (rc)
		return bw_seterr(errstr, errlen, rc, "Jetstream URL longer than %zu bytes", cap - 1);
	return 0;
}

int64_t ingest_js_time_us(const char *data, size_t len)
{
	static const char key[] = "\"time_us\"";
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *k = memchr(p, '"', (size_t)(end - p));
		if (!k || (size_t)(end - k) < sizeof(key) - 1)
			return -1;
		if (memcmp(k, key, sizeof(key) - 1) == 0) {
			const char *v = k + sizeof(key) - 1;
			int64_t x = 0;
			bool any = false;
			while (v < end && (*v == ' ' || *v == ':'))
				v++;
			while (v < end && *v >= '0' && *v <= '9' && x < INT64_MAX / 10 - 9) {
				x = x * 10 + (*v++ - '0');
				any = true;
			}
			return any ? x : -1;
		}
		p = k + 1;
	}
	return -1;
}

int ingest_js_cursor_load(const char *path, int64_t *cursor_us, char *errstr, size_t errlen)
{
	char buf[64], *endp;
	FILE *f = fopen(path, "r");
	long long v;

	*cursor_us = -1;
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	}
	if (!fgets(buf, sizeof(buf), f) || strncmp(buf, "cursor ", 7) != 0) {
		fclose(f);
		return bw_seterr(errstr, errlen, BW_EPARSE, "%s: not a cursor file", path);
	}
	fclose(f);
	errno = 0;
	v = strtoll(buf + 7, &endp, 10);
	if (errno || endp == buf + 7 || (*endp != '\n' && *endp) || v < 0)
		return bw_seterr(errstr, errlen, BW_EPARSE, "%s: bad cursor value", path);
	*cursor_us = v;
	return 0;
}

int ingest_js_cursor_save(const char *path, int64_t cursor_us, char *errstr, size_t errlen)
{
	char tmp[4096], line[48];
	int fd, n = snprintf(line, sizeof(line), "cursor %lld\n", (long long)cursor_us);

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "cursor file path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", tmp, strerror(errno));
	if (write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(e));
	}
	return 0;
}

int ingest_js_read_file(const char *path, size_t max, void **buf, size_t *len, char *errstr,
			size_t errlen)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	char *b;

	*buf = NULL;
	*len = 0;
	if (!f)
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		fclose(f);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: not a regular file of at most %zu bytes",
				 path, max);
	}
	if (!(b = malloc((size_t)st.st_size + 1))) {
		fclose(f);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "%s: out of memory", path);
	}
	if (fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		free(b);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: read error", path);
	}
	fclose(f);
	*buf = b;
	*len = (size_t)st.st_size;
	return 0;
}
