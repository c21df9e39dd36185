/*
 * bw_fs.c — filesystem helpers (see bw_fs.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bw_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bw_err.h"

/* mkdir that accepts an existing directory. */
static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

int bw_mkdir_p(const char *path, mode_t mode, char *errstr, size_t errlen)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s: bad directory path length", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_one(buf, mode))
			return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir_one(buf, mode))
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

/* Directory of the running executable into dir[cap]; false when unknown. */
static bool exe_dir(char *dir, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= cap - 1)
		return false;
	dir[n] = '\0';
	if (!(slash = strrchr(dir, '/')))
		return false;
	*slash = '\0';
	return true;
}

/* Copy `p` (canonical when `resolve`) into out; BW_ETOOLARGE when it does not fit. */
static int put_path(const char *p, bool resolve, char *out, size_t outlen, char *errstr,
		    size_t errlen)
{
	char *canon = resolve ? realpath(p, NULL) : NULL;
	const char *use = canon ? canon : p;
	int rc = 0;

	if ((size_t)snprintf(out, outlen, "%s", use) >= outlen)
		rc = bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s: path too long", use);
	free(canon);
	return rc;
}

int bw_fs_find_data(const char *what, const char *path, char *out, size_t outlen, char *errstr,
		    size_t errlen)
{
	static const char *const under[] = { "..", "../share/botwatch" };
	char dir[PATH_MAX], cwd[PATH_MAX], cand[2][PATH_MAX + 64];
	bool have_dir;

	if (!path[0])
		return bw_seterr(errstr, errlen, BW_ENOENT, "%s is empty", what);
	if (path[0] == '/' || access(path, F_OK) == 0) {
		if (path[0] == '/' && access(path, F_OK) != 0)
			return bw_seterr(errstr, errlen, BW_ENOENT, "%s %s: %s", what, path,
					 strerror(errno));
		return put_path(path, false, out, outlen, errstr, errlen);
	}
	have_dir = exe_dir(dir, sizeof(dir));
	for (size_t i = 0; have_dir && i < 2; i++) {
		snprintf(cand[i], sizeof(cand[i]), "%s/%s/%s", dir, under[i], path);
		if (access(cand[i], F_OK) == 0)
			return put_path(cand[i], true, out, outlen, errstr, errlen);
	}
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "the working directory");
	if (!have_dir)
		return bw_seterr(errstr, errlen, BW_ENOENT,
				 "%s %s not found; looked in: %s/%s (the location of the "
				 "executable is unknown)", what, path, cwd, path);
	return bw_seterr(errstr, errlen, BW_ENOENT,
			 "%s %s not found; looked in: %s/%s (working directory), %s (beside the "
			 "executable's build tree), %s (its install prefix)",
			 what, path, cwd, path, cand[0], cand[1]);
}

int64_t bw_fs_bytes_written(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "write_bytes: ", 13) == 0) {
			char *end;
			v = strtoll(line + 13, &end, 10);
			break;
		}
	fclose(f);
	return v;
}

char *bw_fs_read_all(const char *path, size_t max, size_t *len, int *err, char *errstr,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (!f) {
		*err = errno == ENOENT ? BW_ENOENT : BW_EIO;
		bw_seterr(errstr, errlen, *err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* read to the end (a pipe or /proc file has no size to trust) */
	for (;;) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 1 << 16;
			char *nb;
			if (cap > max) {
				*err = bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s: larger than %zu bytes",
						 path, max);
				goto out_free;
			}
			if (!(nb = realloc(buf, nc + 1))) {
				*err = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
				goto out_free;
			}
			buf = nb;
			cap = nc;
		}
		if ((k = fread(buf + n, 1, cap - n, f)) == 0)
			break;
		n += k;
	}
	if (ferror(f)) {
		*err = bw_seterr(errstr, errlen, BW_EIO, "%s: read failed", path);
		goto out_free;
	}
	if (n > max) {
		*err = bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s: larger than %zu bytes", path, max);
		goto out_free;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	*err = 0;
	return buf;
out_free:
	free(buf);
	fclose(f);
	return NULL;
}
